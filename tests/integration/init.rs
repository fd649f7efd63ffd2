use std::fs;

use otel_pki::cmd::init::InitReport;
use otel_pki::pki::Role;

use crate::support::*;

#[test]
fn init_writes_the_six_files_with_safe_modes() {
    let work = workdir();
    init(work.path(), &[]);
    let dir = work.path().join("otel-certs");
    assert_eq!(
        listing(&dir),
        [
            "ca.crt",
            "ca.key",
            "client.crt",
            "client.key",
            "server.crt",
            "server.key"
        ]
    );
    assert_eq!(mode(&dir), 0o700);
    for name in ["ca.key", "server.key", "client.key"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        let text = fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{name}: unencrypted PKCS#8"
        );
    }
    for name in ["ca.crt", "server.crt", "client.crt"] {
        assert_eq!(mode(&dir.join(name)), 0o644, "{name}");
    }
    for name in listing(&dir) {
        let text = fs::read_to_string(dir.join(&name)).unwrap();
        assert!(!text.contains('\r'), "{name} has CRLF line ends");
        assert!(
            text.ends_with("-----\n"),
            "{name} must end with one newline"
        );
    }
}

#[test]
fn init_modes_do_not_depend_on_the_umask() {
    let work = workdir();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000 && exec '{}' init -q",
            env!("CARGO_BIN_EXE_otel-pki")
        ))
        .current_dir(work.path())
        .status()
        .unwrap();
    assert!(status.success());
    let dir = work.path().join("otel-certs");
    assert_eq!(mode(&dir.join("server.key")), 0o600);
    assert_eq!(mode(&dir.join("server.crt")), 0o644);
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn every_key_type_gives_a_set_that_completes_an_mtls_handshake() {
    for key_type in KEY_TYPES {
        let work = workdir();
        init(work.path(), &["--key-type", key_type, "-q"]);
        let dir = work.path().join("otel-certs");
        for host in ["localhost", "127.0.0.1", "::1"] {
            let handshake = set_handshake(&dir, host)
                .unwrap_or_else(|error| panic!("{key_type} via {host}: {error}"));
            assert!(handshake.protocol.contains("TLSv1_3"), "{handshake:?}");
        }
        // OpenSSL agrees, for the right purpose only, strict mode included.
        for (purpose, file, expected) in [
            ("sslserver", "server.crt", true),
            ("sslclient", "client.crt", true),
            ("sslclient", "server.crt", false),
            ("sslserver", "client.crt", false),
        ] {
            for strict in [false, true] {
                let mut args = vec!["verify", "-CAfile", "ca.crt", "-purpose", purpose];
                if strict {
                    args.push("-x509_strict");
                }
                args.push(file);
                let (ok, text) = openssl(&dir, &args);
                assert_eq!(ok, expected, "{key_type}: openssl {args:?}: {text}");
            }
        }
        // OpenSSL can read every key (PKCS#8 v1, also for Ed25519).
        for key in ["ca.key", "server.key", "client.key"] {
            let (ok, text) = openssl(&dir, &["pkey", "-in", key, "-noout"]);
            assert!(ok, "{key_type} {key}: {text}");
        }
    }
}

#[test]
fn a_client_without_a_certificate_or_from_another_ca_is_rejected() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    let dir = work.path().join("otel-certs");
    let other = work.path().join("other");
    let server = ServerSide {
        cert: &dir.join("server.crt"),
        key: &dir.join("server.key"),
        client_ca: &dir.join("ca.crt"),
    };
    let no_certificate = mtls_handshake(
        &server,
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: None,
            server_name: "localhost",
        },
    );
    assert!(
        no_certificate.is_err(),
        "a client without a certificate must be rejected"
    );
    let other_ca = mtls_handshake(
        &server,
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: Some((&other.join("client.crt"), &other.join("client.key"))),
            server_name: "localhost",
        },
    );
    let error = other_ca.expect_err("a client from another CA must be rejected");
    // Each CA subject is unique (a random serialNumber attribute), so the verifier does
    // not even find a candidate issuer: "unknown issuer", not a signature failure.
    assert!(error.contains("UnknownIssuer"), "{error}");
    // A server certificate cannot log in as a client: it lacks clientAuth.
    let server_as_client = mtls_handshake(
        &server,
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: Some((&dir.join("server.crt"), &dir.join("server.key"))),
            server_name: "localhost",
        },
    );
    assert!(
        server_as_client.is_err(),
        "server.crt must not authenticate as a client"
    );
    // The client does not accept a name the server certificate does not carry.
    assert!(set_handshake(&dir, "jaeger-backend").is_err());
}

#[test]
fn init_reproduces_the_guides_setup_with_one_command() {
    let work = workdir();
    init(
        work.path(),
        &[
            "-q",
            "--san",
            "jaeger-backend.monitoring.svc.cluster.local,localhost",
            "--client-cn",
            "otel-collector.monitoring.svc.cluster.local",
        ],
    );
    let dir = work.path().join("otel-certs");
    set_handshake(&dir, "jaeger-backend.monitoring.svc.cluster.local").unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "server.crt",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
        ],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("CN = jaeger-backend.monitoring.svc.cluster.local"),
        "{text}"
    );
    assert!(
        text.contains("DNS:jaeger-backend.monitoring.svc.cluster.local, DNS:localhost"),
        "{text}"
    );
}

#[test]
fn init_json_report_describes_what_was_written() {
    let work = workdir();
    let output = otel_pki(work.path())
        .args([
            "init",
            "--format",
            "json",
            "--k8s-service",
            "otel-gateway.observability",
            "--validity",
            "90d",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: InitReport = serde_json::from_slice(&output.stdout).unwrap();
    let roles: Vec<Role> = report.certificates.iter().map(|c| c.role).collect();
    assert_eq!(roles, [Role::Ca, Role::Server, Role::Client]);
    assert_eq!(report.files.len(), 6);
    assert_eq!(report.files[0].mode, "0600");
    assert_eq!(report.files[1].mode, "0644");
    let server = &report.certificates[1];
    assert_eq!(
        server.sans.dns,
        [
            "otel-gateway",
            "otel-gateway.observability",
            "otel-gateway.observability.svc",
            "otel-gateway.observability.svc.cluster.local"
        ]
    );
    assert!(
        (89..=90).contains(&server.days_remaining),
        "{}",
        server.days_remaining
    );
    assert_eq!(server.extended_key_usage, ["serverAuth"]);
    assert_eq!(report.certificates[2].extended_key_usage, ["clientAuth"]);
    assert!(report.certificates[0].extended_key_usage.is_empty());
    // Status lines go to stderr, JSON alone to stdout.
    assert!(String::from_utf8_lossy(&output.stderr).is_empty());
}

#[test]
fn init_refuses_to_overwrite_and_force_keeps_a_backup() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let before: Vec<Vec<u8>> = ["ca.key", "server.crt"]
        .iter()
        .map(|n| fs::read(dir.join(n)).unwrap())
        .collect();

    let assert = otel_pki(work.path()).arg("init").assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("already exist") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        fs::read(dir.join("ca.key")).unwrap(),
        before[0],
        "nothing may change without --force"
    );

    otel_pki(work.path())
        .args(["init", "--force", "-q"])
        .assert()
        .success();
    assert_ne!(fs::read(dir.join("ca.key")).unwrap(), before[0]);
    let backups = listing(&dir.join("backup"));
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = dir.join("backup").join(&backups[0]);
    assert_eq!(fs::read(backup.join("ca.key")).unwrap(), before[0]);
    assert_eq!(fs::read(backup.join("server.crt")).unwrap(), before[1]);
    assert_eq!(mode(&backup.join("ca.key")), 0o600);
    assert_eq!(mode(&backup), 0o700);
    // The six files, and the manifest of the generation switch that replaced them
    // (`--force` replaces a whole set in one switch, so a crash never mixes two CAs).
    let kept: Vec<String> = listing(&backup)
        .into_iter()
        .filter(|name| !name.starts_with('.'))
        .collect();
    assert_eq!(kept.len(), 6, "{kept:?}");
}

/// The `inspect`-style summary of the first certificate in `path`.
fn summary(path: &std::path::Path) -> otel_pki::pki::CertSummary {
    let der = certificates(path)[0].to_vec();
    otel_pki::pki::CertSummary::new(&der, "", 0, time::OffsetDateTime::now_utc()).unwrap()
}

#[test]
fn init_force_reissues_the_sets_other_leaves_under_the_new_ca() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    for args in [
        &[
            "issue",
            "server",
            "--name",
            "gw",
            "--san",
            "gw.example.com,10.0.0.5",
            "--client-auth",
            "--validity",
            "30d",
            "-q",
        ][..],
        &[
            "issue",
            "client",
            "--name",
            "agent",
            "--cn",
            "Agent A",
            "--san",
            "spiffe://cluster.local/ns/obs/sa/agent",
            "--key-type",
            "rsa-2048",
            "--validity",
            "40d",
            "-q",
        ],
        // A leaf another CA signed, kept in the same directory: not this set's.
        &["init", "--dir", "other", "-q"],
        &[
            "issue",
            "client",
            "--name",
            "foreign",
            "--ca-cert",
            "other/ca.crt",
            "--ca-key",
            "other/ca.key",
            "-q",
        ],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    let before = |name: &str| summary(&dir.join(format!("{name}.crt")));
    let (gw, agent) = (before("gw"), before("agent"));
    let foreign = fs::read(dir.join("foreign.crt")).unwrap();

    let output = otel_pki(work.path())
        .args(["init", "--force", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let report: InitReport = serde_json::from_slice(&output.stdout).unwrap();
    let reissued: Vec<&str> = report
        .reissued
        .iter()
        .map(|summary| summary.path.as_str())
        .collect();
    assert_eq!(
        reissued,
        ["./otel-certs/agent.crt", "./otel-certs/gw.crt"],
        "the other CA's leaf is not re-issued"
    );
    let new_ca = summary(&dir.join("ca.crt")).subject;
    assert_ne!(new_ca, gw.issuer, "a new CA");
    for (name, old) in [("gw", &gw), ("agent", &agent)] {
        let new = before(name);
        assert_eq!(new.issuer, new_ca, "{name}");
        assert_eq!(new.subject, old.subject, "{name}");
        assert_eq!(new.sans, old.sans, "{name}");
        assert_eq!(new.role, old.role, "{name}");
        assert_eq!(new.extended_key_usage, old.extended_key_usage, "{name}");
        assert_eq!(
            new.public_key.description, old.public_key.description,
            "{name}"
        );
        assert_eq!(
            (new.not_after - new.not_before).whole_days(),
            (old.not_after - old.not_before).whole_days(),
            "{name}"
        );
        assert_ne!(new.serial, old.serial, "{name}");
        assert_eq!(mode(&dir.join(format!("{name}.key"))), 0o600);
    }
    assert_eq!(before("agent").public_key.description, "RSA 2048");
    assert_eq!(fs::read(dir.join("foreign.crt")).unwrap(), foreign);
    // Keys match their certificates, and everything chains to the new CA.
    pair_handshake(&dir, "gw", "agent", "gw.example.com").unwrap();
    set_handshake(&dir, "localhost").unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "ca.crt",
            "gw.crt",
            "agent.crt",
        ],
    );
    assert!(ok, "{text}");
    // The replaced leaves are in the backup with the rest of the set.
    let backup = dir.join("backup").join(&listing(&dir.join("backup"))[0]);
    // (besides the backup's manifest, `.otel-pki-backup.json`)
    let backed_up: Vec<String> = listing(&backup)
        .into_iter()
        .filter(|name| !name.starts_with('.'))
        .collect();
    assert_eq!(backed_up.len(), 6 + 4, "{backed_up:?}");

    // In text, the status says what was re-issued and why.
    let assert = otel_pki(work.path())
        .args(["init", "--force"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("re-issued 2 other certificates under the new CA")
            && stderr.contains("none is left signed by the replaced CA: agent.crt gw.crt"),
        "{stderr}"
    );
}

#[test]
fn init_force_reissues_other_leaves_in_a_renewed_set_as_one_generation() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    otel_pki(work.path())
        .args(["renew", "--all", "-q"])
        .assert()
        .success();
    otel_pki(work.path())
        .args(["issue", "client", "--name", "agent", "-q"])
        .assert()
        .success();
    let generation = fs::read_link(dir.join("..data")).unwrap();
    otel_pki(work.path())
        .args(["init", "--force", "-q"])
        .assert()
        .success();
    assert_ne!(fs::read_link(dir.join("..data")).unwrap(), generation);
    assert!(dir.join("agent.crt").is_symlink() && dir.join("agent.key").is_symlink());
    let ca = summary(&dir.join("ca.crt")).subject;
    assert_eq!(summary(&dir.join("agent.crt")).issuer, ca);
    pair_handshake(&dir, "server", "agent", "localhost").unwrap();
}

#[test]
fn init_force_refuses_when_a_leaf_of_the_old_ca_cannot_be_reissued() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    // Signed by the set's CA by hand, without extendedKeyUsage: its purpose is unknown.
    for args in [
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "otel-certs/odd.key",
            "-subj",
            "/CN=odd",
            "-out",
            "odd.csr",
        ][..],
        &[
            "x509",
            "-req",
            "-in",
            "odd.csr",
            "-CA",
            "otel-certs/ca.crt",
            "-CAkey",
            "otel-certs/ca.key",
            "-days",
            "10",
            "-out",
            "otel-certs/odd.crt",
        ],
    ] {
        let (ok, text) = openssl(work.path(), args);
        assert!(ok, "{text}");
    }
    let ca_key = fs::read(dir.join("ca.key")).unwrap();
    let before = listing(&dir);
    let assert = otel_pki(work.path())
        .args(["init", "--force"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`./otel-certs/odd.crt` is signed by the CA that init --force replaces")
            && stderr.contains("move it out of `./otel-certs`"),
        "{stderr}"
    );
    assert_eq!(fs::read(dir.join("ca.key")).unwrap(), ca_key);
    assert_eq!(listing(&dir), before, "nothing written");
}

#[test]
fn init_is_all_or_nothing_when_one_target_exists() {
    let work = workdir();
    let dir = work.path().join("otel-certs");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("client.key"), "mine").unwrap();
    otel_pki(work.path()).arg("init").assert().code(2);
    assert_eq!(listing(&dir), ["client.key"]);
    assert_eq!(fs::read_to_string(dir.join("client.key")).unwrap(), "mine");
}

#[test]
fn init_into_an_unwritable_directory_fails_cleanly() {
    if unsafe_is_root() {
        // root ignores directory permissions; the read-only case cannot be simulated.
        let work = workdir();
        let file = work.path().join("not-a-dir");
        fs::write(&file, "x").unwrap();
        let assert = otel_pki(work.path())
            .args(["init", "--dir", "not-a-dir/set"])
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains("not-a-dir"), "{stderr}");
        return;
    }
    let work = workdir();
    let dir = work.path().join("ro");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o500)).unwrap();
    let assert = otel_pki(work.path())
        .args(["init", "--dir", "ro"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("ro") && stderr.contains("ermission"),
        "{stderr}"
    );
    assert!(listing(&dir).is_empty());
}

fn unsafe_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn ed25519_warns_about_grpc() {
    let work = workdir();
    let assert = otel_pki(work.path())
        .args(["init", "--key-type", "ed25519"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning:")
            && stderr.contains("gRPC's C core")
            && stderr.contains("OpenTelemetry Java SDK"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning:").count(), 1, "once: {stderr}");
    let quiet = otel_pki(work.path())
        .args(["init", "--key-type", "ecdsa-p256", "--dir", "p256"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&quiet.get_output().stderr).contains("warning:"));
}

#[test]
fn an_encrypted_ca_key_needs_its_passphrase_for_every_signature() {
    let work = workdir();
    fs::write(work.path().join("pw.txt"), "s3cret passphrase\n").unwrap();
    fs::write(work.path().join("wrong.txt"), "nope\n").unwrap();
    init(
        work.path(),
        &["-q", "--encrypt-ca-key", "--passphrase-file", "pw.txt"],
    );
    let dir = work.path().join("otel-certs");
    let ca_key = fs::read_to_string(dir.join("ca.key")).unwrap();
    assert!(ca_key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(!ca_key.contains('\r'));
    assert!(
        fs::read_to_string(dir.join("server.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // OpenSSL decrypts it with the same passphrase.
    let (ok, text) = openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "ca.key",
            "-passin",
            "file:../pw.txt",
            "-noout",
        ],
    );
    assert!(ok, "{text}");

    let missing = otel_pki(work.path())
        .args(["issue", "client", "--name", "c1"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(
        stderr.contains("encrypted") && stderr.contains("OTEL_PKI_CA_PASSPHRASE"),
        "{stderr}"
    );

    let wrong = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--name",
            "c1",
            "--passphrase-file",
            "wrong.txt",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&wrong.get_output().stderr).into_owned();
    assert!(
        stderr.contains("wrong passphrase") && stderr.contains("wrong.txt"),
        "{stderr}"
    );
    assert!(!dir.join("c1.crt").exists());

    otel_pki(work.path())
        .args(["issue", "client", "--name", "c1", "-q"])
        .env("OTEL_PKI_CA_PASSPHRASE", "s3cret passphrase")
        .assert()
        .success();
    assert!(dir.join("c1.crt").exists());

    let no_passphrase = otel_pki(work.path())
        .args(["init", "--dir", "x", "--encrypt-ca-key"])
        .assert()
        .code(2);
    assert!(
        String::from_utf8_lossy(&no_passphrase.get_output().stderr).contains("--passphrase-file")
    );
}

#[test]
fn otel_pki_dir_selects_the_set() {
    let work = workdir();
    otel_pki(work.path())
        .env("OTEL_PKI_DIR", "from-env")
        .args(["init", "-q"])
        .assert()
        .success();
    assert_eq!(listing(&work.path().join("from-env")).len(), 6);
    assert!(!work.path().join("otel-certs").exists());
}

#[test]
fn a_passphrase_without_encrypt_ca_key_is_not_silently_ignored() {
    let work = workdir();
    let assert = otel_pki(work.path())
        .env("OTEL_PKI_CA_PASSPHRASE", "secret")
        .arg("init")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning: OTEL_PKI_CA_PASSPHRASE is set but ca.key is written unencrypted"),
        "{stderr}"
    );
    let ca_key = fs::read_to_string(work.path().join("otel-certs/ca.key")).unwrap();
    assert!(ca_key.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn directories_for_keys_are_private_and_others_are_not() {
    let work = workdir();
    init(work.path(), &["-q", "--dir", "deep/set"]);
    assert_eq!(mode(&work.path().join("deep")), 0o700);
    otel_pki(work.path())
        .args(["man", "--out-dir", "share/man1", "-q"])
        .assert()
        .success();
    assert_eq!(mode(&work.path().join("share")), 0o755);
    assert_eq!(mode(&work.path().join("share/man1")), 0o755);
}

#[test]
fn force_does_not_strand_a_ca_rollover() {
    let work = workdir();
    init(work.path(), &["-q"]);
    otel_pki(work.path())
        .args(["ca", "rotate", "--stage", "-q"])
        .assert()
        .success();
    let assert = otel_pki(work.path())
        .args(["init", "--force"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("a CA rollover is under way") && stderr.contains("ca-next.crt"),
        "{stderr}"
    );
}
