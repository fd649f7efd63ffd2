use std::fs;

use otel_pki::cmd::issue::IssueReport;
use otel_pki::pki::Role;

use crate::support::*;

#[test]
fn issue_server_and_client_sign_with_the_sets_ca() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw.example.com,10.0.0.5",
            "-q",
        ])
        .assert()
        .success();
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--name",
            "agent-1",
            "--cn",
            "agent-1",
            "--key-type",
            "rsa-2048",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(mode(&dir.join("gateway.key")), 0o600);
    assert_eq!(mode(&dir.join("gateway.crt")), 0o644);
    let handshake = pair_handshake(&dir, "gateway", "agent-1", "gw.example.com");
    assert!(handshake.is_ok(), "{handshake:?}");
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslclient",
            "agent-1.crt",
        ],
    );
    assert!(ok, "{text}");
}

#[test]
fn issue_json_report_and_dual_use_gateway_certificate() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let output = otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gw",
            "--san",
            "gw",
            "--client-auth",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: IssueReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.certificate.role, Role::ServerClient);
    assert_eq!(
        report.certificate.extended_key_usage,
        ["serverAuth", "clientAuth"]
    );
    assert_eq!(report.files.len(), 2);
    let dir = work.path().join("otel-certs");
    // The gateway certificate works on both sides of mTLS.
    pair_handshake(&dir, "gw", "gw", "gw").unwrap();
}

#[test]
fn issue_uses_explicit_ca_files_and_another_output_dir() {
    let work = workdir();
    init(work.path(), &["-q", "--dir", "pki"]);
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--ca-cert",
            "pki/ca.crt",
            "--ca-key",
            "pki/ca.key",
            "--dir",
            "out",
            "--san",
            "localhost",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(
        listing(&work.path().join("out")),
        ["server.crt", "server.key"]
    );
    let (ok, text) = openssl(
        work.path(),
        &["verify", "-CAfile", "pki/ca.crt", "out/server.crt"],
    );
    assert!(ok, "{text}");
}

#[test]
fn issue_refuses_to_clobber_and_force_backs_up() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let before = fs::read(dir.join("server.key")).unwrap();
    // Without --name, a new certificate gets a name of its own and replaces nothing
    // (see `without_a_name_a_leaf_is_named_after_its_certificate`). With --name, an
    // existing name is refused, and the message offers another --name before --force.
    let assert = otel_pki(work.path())
        .args(["issue", "server", "--name", "server", "--san", "localhost"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (name_at, force_at) = (
        stderr.find("--name").unwrap(),
        stderr.find("--force").unwrap(),
    );
    assert!(name_at < force_at, "{stderr}");
    assert_eq!(fs::read(dir.join("server.key")).unwrap(), before);
    // --force without --name re-issues the set's server certificate, as `check`'s fixes say.
    otel_pki(work.path())
        .args(["issue", "server", "--san", "localhost", "--force", "-q"])
        .assert()
        .success();
    let backup = dir.join("backup").join(&listing(&dir.join("backup"))[0]);
    assert_eq!(
        listing(&backup),
        [".otel-pki-backup.json", "server.crt", "server.key"]
    );
    assert_eq!(fs::read(backup.join("server.key")).unwrap(), before);
}

/// The `inspect`-style summary of the first certificate in `path`.
fn summary(path: &std::path::Path) -> otel_pki::pki::CertSummary {
    let der = certificates(path)[0].to_vec();
    otel_pki::pki::CertSummary::new(&der, "", 0, time::OffsetDateTime::now_utc()).unwrap()
}

#[test]
fn without_a_name_a_leaf_is_named_after_its_certificate() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let set_before: Vec<Vec<u8>> = ["server.crt", "server.key", "client.crt", "client.key"]
        .iter()
        .map(|name| fs::read(dir.join(name)).unwrap())
        .collect();
    // The design card's example: a new server certificate beside the set's.
    let output = otel_pki(work.path())
        .args(["issue", "server", "--san", "gw.example.com,10.0.0.5"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("wrote ./otel-certs: gw.example.com.key gw.example.com.crt"),
        "{output:?}"
    );
    assert_eq!(summary(&dir.join("gw.example.com.crt")).role, Role::Server);
    pair_handshake(&dir, "gw.example.com", "client", "gw.example.com").unwrap();
    // IPv6 and wildcards make plain names too; a client is named after its common name.
    for args in [
        &["issue", "server", "--san", "::1", "-q"][..],
        &["issue", "server", "--san", "*.Tempo.example", "-q"],
        &["issue", "client", "-q"],
        &["issue", "client", "--cn", "Agent 7", "-q"],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    for name in ["1", "wildcard.tempo.example", "otel-collector", "agent-7"] {
        assert!(dir.join(format!("{name}.crt")).exists(), "{name}");
        assert_eq!(mode(&dir.join(format!("{name}.key"))), 0o600, "{name}");
    }
    assert_eq!(
        summary(&dir.join("otel-collector.crt"))
            .common_name
            .as_deref(),
        Some("otel-collector")
    );
    // A name already taken is refused, one line, naming --name before --force; nothing
    // is replaced.
    let taken = fs::read(dir.join("gw.example.com.key")).unwrap();
    let assert = otel_pki(work.path())
        .args(["issue", "server", "--san", "gw.example.com"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("give --name NAME")
            && stderr.contains("`--name gw.example.com --force` to replace them"),
        "{stderr}"
    );
    assert_eq!(fs::read(dir.join("gw.example.com.key")).unwrap(), taken);
    // The set's own certificates were never touched.
    let set_after: Vec<Vec<u8>> = ["server.crt", "server.key", "client.crt", "client.key"]
        .iter()
        .map(|name| fs::read(dir.join(name)).unwrap())
        .collect();
    assert_eq!(set_after, set_before);
    assert!(!dir.join("backup").exists());
}

#[test]
fn a_clients_common_name_follows_its_name_unless_cn_is_given() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    for args in [
        &["issue", "client", "--name", "agent-x", "-q"][..],
        &[
            "issue", "client", "--name", "agent-y", "--cn", "Agent Y", "-q",
        ],
        &[
            "issue",
            "server",
            "--name",
            "gw",
            "--san",
            "gw.example.com",
            "-q",
        ],
        &["issue", "server", "--san", "edge.example.com", "-q"],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    let cn = |name: &str| {
        summary(&dir.join(format!("{name}.crt")))
            .common_name
            .unwrap()
    };
    assert_eq!(cn("agent-x"), "agent-x");
    assert_eq!(cn("agent-y"), "Agent Y");
    // A server's common name is a name clients dial, as `init` makes it: the first SAN.
    assert_eq!(cn("gw"), "gw.example.com");
    assert_eq!(cn("edge.example.com"), "edge.example.com");
}

#[test]
fn issued_leaves_take_the_sets_key_type_unless_key_type_says_otherwise() {
    let work = workdir();
    init(work.path(), &["-q", "--key-type", "rsa-2048"]);
    // The CA's key type differs from its leaves': the leaves' wins.
    init(
        work.path(),
        &["-q", "--dir", "mixed", "--ca-key-type", "ecdsa-p384"],
    );
    for args in [
        &["issue", "client", "--name", "rsa", "-q"][..],
        &["issue", "server", "--san", "gw.example.com", "-q"],
        &[
            "issue",
            "client",
            "--name",
            "p256",
            "--key-type",
            "ecdsa-p256",
            "-q",
        ],
        &[
            "issue",
            "client",
            "--count",
            "2",
            "--name-prefix",
            "fleet",
            "-q",
        ],
        &["issue", "client", "--dir", "mixed", "--name", "m", "-q"],
        // Another directory without leaves: the CA's key type.
        &[
            "issue",
            "client",
            "--ca-cert",
            "mixed/ca.crt",
            "--ca-key",
            "mixed/ca.key",
            "--dir",
            "out",
            "-q",
        ],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    let key_type = |path: &str| summary(&work.path().join(path)).public_key.description;
    assert_eq!(key_type("otel-certs/rsa.crt"), "RSA 2048");
    assert_eq!(key_type("otel-certs/gw.example.com.crt"), "RSA 2048");
    assert_eq!(key_type("otel-certs/fleet-1.crt"), "RSA 2048");
    assert_eq!(key_type("otel-certs/p256.crt"), "ECDSA P-256");
    assert_eq!(key_type("mixed/m.crt"), "ECDSA P-256");
    assert_eq!(key_type("out/client.crt"), "ECDSA P-384");
}

#[test]
fn the_sets_own_names_are_refused_as_leaf_names() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::write(dir.join("ca-next.crt"), "a rollover's file").unwrap();
    let before = listing(&dir);
    for name in [
        "ca",
        "ca-next",
        "ca-previous",
        "ca-bundle",
        "intermediate-ca",
        "backup",
        "CA",
        "ca.crt",
        "..data",
        ".otel-pki-restore-ca",
    ] {
        let assert = otel_pki(work.path())
            .args(["issue", "client", "--name", name, "--force"])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: invalid --name `{name}`")),
            "{name}: {stderr}"
        );
    }
    fs::write(work.path().join("names.txt"), "ok\nca-previous\n").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "names.txt", "--force"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "invalid name in --names-from `ca-previous`",
        ));
    assert_eq!(listing(&dir), before, "nothing written");
    assert_eq!(
        fs::read_to_string(dir.join("ca-next.crt")).unwrap(),
        "a rollover's file"
    );
}

/// Writes a CA made by otel-pki's library with `validity` as DIR/NAME.crt and NAME.key.
fn write_library_ca(dir: &std::path::Path, name: &str, validity: otel_pki::pki::Validity) {
    use otel_pki::pki::issue::{CaRequest, create_ca};
    let ca = create_ca(
        &CaRequest {
            common_name: name.into(),
            validity,
        },
        otel_pki::pki::PrivateKey::generate(otel_pki::pki::KeyType::EcdsaP256).unwrap(),
    )
    .unwrap();
    fs::write(dir.join(format!("{name}.crt")), ca.certificate_pem()).unwrap();
    fs::write(dir.join(format!("{name}.key")), ca.key().to_pkcs8_pem()).unwrap();
}

#[test]
fn a_ca_must_be_valid_for_the_whole_window_and_know_its_critical_extensions() {
    let work = workdir();
    let now = time::OffsetDateTime::now_utc();
    write_library_ca(
        work.path(),
        "future",
        otel_pki::pki::Validity::between(
            now + time::Duration::days(30),
            now + time::Duration::days(400),
        ),
    );
    let refused = |ca: &str, expected: &str| {
        let assert = otel_pki(work.path())
            .args([
                "issue",
                "server",
                "--ca-cert",
                &format!("{ca}.crt"),
                "--ca-key",
                &format!("{ca}.key"),
                "--dir",
                "out",
                "--san",
                "localhost",
                "--validity",
                "7d",
            ])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("`{ca}.crt`")), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!work.path().join("out").exists());
    };
    refused("future", "not valid until");

    // OpenSSL and Go refuse a CA with an unknown critical extension; so does issue.
    let (ok, text) = openssl(
        work.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "odd.key",
            "-out",
            "odd.crt",
            "-days",
            "30",
            "-subj",
            "/CN=Odd CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-addext",
            "1.3.6.1.4.1.55555.1=critical,ASN1:NULL",
        ],
    );
    assert!(ok, "{text}");
    refused("odd", "1.3.6.1.4.1.55555.1 critical");

    // A CA key of a size otel-pki cannot sign with is named as such.
    let (ok, text) = openssl(
        work.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:1024",
            "-nodes",
            "-keyout",
            "weak.key",
            "-out",
            "weak.crt",
            "-days",
            "30",
            "-subj",
            "/CN=Weak CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    assert!(ok, "{text}");
    let assert = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--ca-cert",
            "weak.crt",
            "--ca-key",
            "weak.key",
            "--dir",
            "out",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("`weak.key`") && stderr.contains("RSA-1024 keys are not supported"),
        "{stderr}"
    );
}

#[test]
fn a_world_readable_passphrase_file_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let work = workdir();
    let file = work.path().join("pw.txt");
    fs::write(&file, "s3cret passphrase\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let private = otel_pki(work.path())
        .args([
            "init",
            "--encrypt-ca-key",
            "--passphrase-file",
            "pw.txt",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(String::from_utf8_lossy(&private.get_output().stderr), "");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let open = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--name",
            "agent",
            "--passphrase-file",
            "pw.txt",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&open.get_output().stderr),
        "warning: --passphrase-file `pw.txt` is readable by every user (mode 0644): anyone on this machine can read the CA key's passphrase; run `chmod 600 pw.txt`\n"
    );
}

#[test]
fn a_leaf_may_not_outlive_its_ca_and_the_message_says_by_how_much() {
    let work = workdir();
    init(
        work.path(),
        &["-q", "--ca-validity", "30d", "--validity", "10d"],
    );
    let assert = otel_pki(work.path())
        .args(["issue", "client", "--name", "long", "--validity", "40d"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("10 days after its CA"), "{stderr}");
    assert!(
        stderr.contains("--validity 30d") || stderr.contains("--validity 29d"),
        "{stderr}"
    );
    assert!(!work.path().join("otel-certs/long.key").exists());
}

#[test]
fn issue_refuses_a_ca_that_is_not_one_or_does_not_match_its_key() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    let not_ca = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--ca-cert",
            "otel-certs/server.crt",
            "--ca-key",
            "otel-certs/server.key",
            "--dir",
            "x",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&not_ca.get_output().stderr).into_owned();
    assert!(
        stderr.contains("server.crt") && stderr.contains("not a CA"),
        "{stderr}"
    );
    let mismatch = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--ca-cert",
            "otel-certs/ca.crt",
            "--ca-key",
            "other/ca.key",
            "--dir",
            "x",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&mismatch.get_output().stderr).into_owned();
    assert!(
        stderr.contains("other/ca.key") && stderr.contains("does not match"),
        "{stderr}"
    );
    assert!(!work.path().join("x").exists());
}

#[test]
fn issue_can_sign_with_an_openssl_made_ca() {
    let work = workdir();
    let (ok, text) = openssl(
        work.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/O=Example Org/CN=Example Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    assert!(ok, "{text}");
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--dir",
            ".",
            "--san",
            "localhost",
            "--validity",
            "7d",
            "-q",
        ])
        .assert()
        .success();
    let (ok, text) = openssl(
        work.path(),
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslserver",
            "server.crt",
        ],
    );
    assert!(ok, "{text}");
}
