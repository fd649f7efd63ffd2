//! `check`: one report over a set directory. Each test breaks one thing the way it breaks
//! in practice and asserts the line (and, where it is a command, that the fix works).

use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;

use otel_pki::cmd::check::{CheckReport, CheckResult, Status};
use otel_pki::pki::KeyType;
use otel_pki::pki::issue::LeafProfile;
use time::Duration;

use crate::support::*;
use crate::verify::{make_ca, make_leaf, write_ca, write_pair};

fn check(work: &Path, args: &[&str]) -> (i32, CheckReport, String) {
    let json = otel_pki(work)
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: CheckReport = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json.stdout)));
    let text = otel_pki(work).arg("check").args(args).output().unwrap();
    assert_eq!(text.status.code(), json.status.code());
    (
        json.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

/// The lines with this status about this subject.
fn lines<'a>(report: &'a CheckReport, status: Status, subject: &str) -> Vec<&'a CheckResult> {
    report
        .results
        .iter()
        .filter(|result| result.status == status && result.subject == subject)
        .collect()
}

fn failures(report: &CheckReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|result| result.status == Status::Fail)
        .map(|result| format!("{} {}: {}", result.subject, result.check, result.message))
        .collect()
}

#[test]
fn a_fresh_set_passes_every_check() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(report.ok);
    assert_eq!(report.summary.fail + report.summary.warn, 0, "{text}");
    for check in [
        "directory",
        "present",
        "ca",
        "role",
        "names",
        "chain",
        "expiry",
        "key",
    ] {
        assert!(
            report.results.iter().any(|r| r.check == check),
            "no `{check}` line:\n{text}"
        );
    }
    assert!(
        text.contains(
            "PASS  files       ca.key, ca.crt, server.key, server.crt, client.key, client.crt"
        ),
        "{text}"
    );
    assert!(
        text.contains("PASS  server.key  matches server.crt; mode 0600; unencrypted"),
        "{text}"
    );
    assert!(
        text.ends_with("./otel-certs: ok: 0 FAIL, 0 WARN, 14 PASS\n"),
        "{text}"
    );
}

#[test]
fn a_host_the_server_does_not_cover_fails_and_the_fix_fixes_it() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, report, text) = check(work.path(), &["--host", "jaeger-backend,localhost"]);
    assert_eq!(code, 1);
    let host = lines(&report, Status::Fail, "server.crt");
    assert_eq!(host.len(), 1, "{text}");
    assert_eq!(
        host[0].message,
        "not valid for `jaeger-backend`; valid for: localhost, 127.0.0.1, ::1"
    );
    let fix = host[0].fix.clone().unwrap();
    assert_eq!(
        fix,
        "otel-pki issue server --san localhost,127.0.0.1,::1,jaeger-backend --force"
    );
    let words: Vec<&str> = fix.split(' ').skip(1).collect();
    otel_pki(work.path())
        .args(&words)
        .arg("-q")
        .assert()
        .success();
    let (code, _, text) = check(work.path(), &["--host", "jaeger-backend,localhost"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn expiry_fails_when_expired_and_warns_within_the_window() {
    let work = workdir();
    init(work.path(), &["-q", "--validity", "20d"]);
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "warnings alone pass:\n{text}");
    let warnings = lines(&report, Status::Warn, "client.crt");
    assert!(
        warnings[0].message.starts_with("expires in 20 days ("),
        "{text}"
    );
    // `renew` keeps the names, purpose, key type and lifetime; `issue --force` would not.
    assert_eq!(
        warnings[0].fix.as_deref(),
        Some("otel-pki renew --name client")
    );
    let (code, report, text) = check(work.path(), &["--strict"]);
    assert_eq!(code, 1, "--strict turns warnings into failures");
    assert_eq!(report.summary.warn, 0);
    assert!(
        text.contains("FAIL  client.crt  expires in 20 days"),
        "{text}"
    );
    let (code, _, _) = check(work.path(), &["--within", "7d", "--strict"]);
    assert_eq!(code, 0);

    let ca = make_ca("Fixture CA", 365);
    let dir = work.path().join("fixture");
    write_ca(&dir, "ca.crt", &ca);
    let server = make_leaf(
        &ca,
        LeafProfile::Server,
        "localhost",
        -Duration::days(30),
        -Duration::days(2),
        KeyType::EcdsaP256,
    );
    write_pair(&dir, "server", &server);
    let client = make_leaf(
        &ca,
        LeafProfile::Client,
        "",
        Duration::days(3),
        Duration::days(40),
        KeyType::EcdsaP256,
    );
    write_pair(&dir, "client", &client);
    let (code, report, text) = check(work.path(), &["--dir", "fixture"]);
    assert_eq!(code, 1);
    let expired = lines(&report, Status::Fail, "server.crt");
    assert!(
        expired
            .iter()
            .any(|r| r.check == "expiry" && r.message.starts_with("expired 2 days ago (")),
        "{text}"
    );
    let future = lines(&report, Status::Fail, "client.crt");
    assert!(
        future
            .iter()
            .any(|r| r.check == "expiry" && r.message.starts_with("is not valid until ")),
        "{text}"
    );
    assert!(
        expired
            .iter()
            .any(|r| r.fix.as_deref() == Some("otel-pki renew --name server --dir fixture")),
        "{text}"
    );
    // ca.key is not in the fixture: a warning, not a failure.
    let missing = lines(&report, Status::Warn, "ca.key");
    assert!(
        missing[0].message.starts_with("ca.key is not here"),
        "{text}"
    );
}

#[test]
fn the_fix_for_an_expired_leaf_renews_it_in_place() {
    let work = workdir();
    init(work.path(), &["-q", "--dir", "certs"]);
    let dir = work.path().join("certs");
    let ca = otel_pki::support::load_ca(&dir.join("ca.crt"), &dir.join("ca.key"), None).unwrap();
    let agent = make_leaf(
        &ca,
        LeafProfile::Client,
        "",
        -Duration::days(40),
        -Duration::days(1),
        KeyType::EcdsaP384,
    );
    write_pair(&dir, "agent-1", &agent);
    let (code, report, text) = check(work.path(), &["--dir", "certs"]);
    assert_eq!(code, 1);
    let expired = lines(&report, Status::Fail, "agent-1.crt");
    assert_eq!(expired.len(), 1, "{text}");
    assert_eq!(expired[0].check, "expiry");
    let fix = expired[0].fix.clone().unwrap();
    assert_eq!(fix, "otel-pki renew --name agent-1 --dir certs");
    let words: Vec<&str> = fix.split(' ').skip(1).collect();
    otel_pki(work.path())
        .args(&words)
        .arg("-q")
        .assert()
        .success();
    let (code, report, text) = check(work.path(), &["--dir", "certs"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        lines(&report, Status::Warn, "agent-1.crt").is_empty(),
        "{text}"
    );
    // The same key type and the same 39-day lifetime as before.
    let inspect = otel_pki(work.path())
        .args(["inspect", "certs/agent-1.crt"])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.contains("ECDSA P-384"), "{inspect}");
    assert!(text.contains("PASS  agent-1.crt  valid until"), "{text}");
    assert!(
        text.contains("(38 days left)") || text.contains("(39 days left)"),
        "{text}"
    );
}

#[test]
fn a_leaf_from_another_ca_fails_the_chain() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    for file in ["server.crt", "server.key"] {
        fs::copy(
            work.path().join("other").join(file),
            work.path().join("otel-certs").join(file),
        )
        .unwrap();
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let chain: Vec<_> = lines(&report, Status::Fail, "server.crt");
    assert_eq!(chain.len(), 1, "{text}");
    assert_eq!(chain[0].check, "chain");
    assert!(
        chain[0].message.starts_with(
            "does not chain to ca.crt: signed by `CN=OTel Telemetry CA, serialNumber="
        ),
        "{text}"
    );
    assert!(
        chain[0]
            .message
            .contains(", not by `CN=OTel Telemetry CA, serialNumber="),
        "{text}"
    );
}

#[test]
fn wrong_roles_fail() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    // A server certificate as client certificate, the CA as server certificate.
    fs::copy(dir.join("server.crt"), dir.join("client.crt")).unwrap();
    fs::copy(dir.join("server.key"), dir.join("client.key")).unwrap();
    fs::copy(dir.join("ca.crt"), dir.join("server.crt")).unwrap();
    fs::copy(dir.join("ca.key"), dir.join("server.key")).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let client = lines(&report, Status::Fail, "client.crt");
    assert_eq!(
        client[0].message,
        "has extendedKeyUsage serverAuth only; a client certificate needs clientAuth",
        "{text}"
    );
    let server = lines(&report, Status::Fail, "server.crt");
    assert_eq!(
        server[0].message, "is a CA certificate, not a leaf",
        "{text}"
    );
}

#[test]
fn both_usages_warn_on_server_crt_but_not_on_a_gateway_issued_so() {
    let work = workdir();
    init(work.path(), &["-q"]);
    for args in [
        &[
            "issue",
            "server",
            "--san",
            "localhost",
            "--client-auth",
            "--force",
            "-q",
        ][..],
        &[
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw",
            "--client-auth",
            "-q",
        ],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let warning = lines(&report, Status::Warn, "server.crt");
    assert!(
        warning[0]
            .message
            .starts_with("has both serverAuth and clientAuth"),
        "{text}"
    );
    assert!(
        lines(&report, Status::Warn, "gateway.crt").is_empty(),
        "{text}"
    );
    assert!(text.contains("PASS  gateway.crt  server+client certificate: CA:FALSE, extendedKeyUsage serverAuth, clientAuth (for a gateway's receiver and exporter)"), "{text}");
}

#[test]
fn key_problems_fail_mismatch_permissions_encryption() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::copy(dir.join("client.key"), dir.join("server.key")).unwrap();
    fs::set_permissions(dir.join("client.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let server_key = lines(&report, Status::Fail, "server.key");
    assert_eq!(server_key[0].check, "key_matches", "{text}");
    assert!(
        server_key[0]
            .message
            .starts_with("does not match server.crt"),
        "{text}"
    );
    let client_key = lines(&report, Status::Fail, "client.key");
    assert_eq!(
        client_key[0].message,
        "mode 0644: every user can read the private key"
    );
    let fix = client_key[0].fix.clone().unwrap();
    assert_eq!(fix, "chmod 600 ./otel-certs/client.key");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&fix)
        .current_dir(work.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (_, report, _) = check(work.path(), &[]);
    assert!(lines(&report, Status::Fail, "client.key").is_empty());

    let (ok, out) = openssl(
        &dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "client.key",
            "-out",
            "enc.key",
            "-passout",
            "pass:x",
        ],
    );
    assert!(ok, "{out}");
    fs::rename(dir.join("enc.key"), dir.join("client.key")).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let encrypted = lines(&report, Status::Fail, "client.key");
    assert_eq!(encrypted[0].check, "key_encrypted", "{text}");
    assert!(encrypted[0].message.contains("cannot read it"), "{text}");
    // The fix writes the plaintext key 0600 from the start, whatever the umask.
    let fix = encrypted[0].fix.clone().unwrap();
    assert_eq!(
        fix,
        "(umask 077 && openssl pkey -in ./otel-certs/client.key -out ./otel-certs/client.key.plain && mv ./otel-certs/client.key.plain ./otel-certs/client.key)"
    );
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022 && {}",
            fix.replace("openssl pkey", "openssl pkey -passin pass:x")
        ))
        .current_dir(work.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mode(&dir.join("client.key")), 0o600);
    let (_, report, text) = check(work.path(), &[]);
    assert!(
        lines(&report, Status::Fail, "client.key").is_empty(),
        "{text}"
    );
}

#[test]
fn an_encrypted_ca_key_is_fine() {
    let work = workdir();
    fs::write(work.path().join("pass"), "correct horse\n").unwrap();
    init(
        work.path(),
        &["-q", "--encrypt-ca-key", "--passphrase-file", "pass"],
    );
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let ca_key = lines(&report, Status::Pass, "ca.key");
    assert!(ca_key[0].message.contains("encrypted"), "{text}");
}

#[test]
fn a_world_writable_directory_and_missing_files_fail() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    fs::remove_file(dir.join("client.key")).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let directory = lines(&report, Status::Fail, "directory");
    assert!(
        directory[0]
            .message
            .contains("writable by everyone (mode 0777)"),
        "{text}"
    );
    assert_eq!(directory[0].fix.as_deref(), Some("chmod go-w ./otel-certs"));
    let missing = lines(&report, Status::Fail, "client.key");
    assert_eq!(missing[0].message, "client.key is missing", "{text}");
    let output = otel_pki(work.path())
        .args(["check", "--dir", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains(
        "set directory `nowhere` does not exist; create one with `otel-pki init --dir nowhere`"
    ));
}

#[test]
fn ed25519_keys_warn_about_grpc_c_core() {
    let work = workdir();
    init(work.path(), &["-q", "--key-type", "ed25519"]);
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let warnings: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.check == "key_type")
        .collect();
    assert_eq!(warnings.len(), 3, "{text}");
    assert!(warnings[0].message.contains("grpc/grpc#24252"));
    assert!(
        warnings[0].message.contains("OpenTelemetry Java SDK")
            && warnings[0].message.contains("[RSA,EC]"),
        "{text}"
    );
    assert_eq!(
        lines(&report, Status::Warn, "server.crt")[0].fix.as_deref(),
        Some("otel-pki issue server --san localhost,127.0.0.1,::1 --key-type ecdsa-p256 --force")
    );
}

#[test]
fn a_rotation_bundle_is_checked_and_leaves_verified_against_it() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "next"]);
    let dir = work.path().join("otel-certs");
    let current = fs::read_to_string(dir.join("ca.crt")).unwrap();
    let next = fs::read_to_string(work.path().join("next/ca.crt")).unwrap();
    fs::write(
        dir.join("ca-bundle.crt"),
        [current.clone(), next.clone()].concat(),
    )
    .unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let bundle = lines(&report, Status::Pass, "ca-bundle.crt");
    assert!(
        bundle.iter().any(|r| r.check == "bundle"
            && r.message
                .starts_with("2 CAs: `CN=OTel Telemetry CA, serialNumber=")),
        "{text}"
    );
    let server = lines(&report, Status::Pass, "server.crt");
    assert!(
        server
            .iter()
            .any(|r| r.check == "bundle" && r.message.starts_with("chains to ca-bundle.crt (`")),
        "{text}"
    );
    // ca-bundle is not mistaken for a NAME.crt pair.
    assert!(
        lines(&report, Status::Warn, "ca-bundle.key").is_empty(),
        "{text}"
    );

    // A bundle without the current CA, and with a leaf in it.
    let leaf = fs::read_to_string(dir.join("client.crt")).unwrap();
    fs::write(dir.join("ca-bundle.crt"), [next, leaf].concat()).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let bundle_fail = lines(&report, Status::Fail, "ca-bundle.crt#1");
    assert!(
        bundle_fail[0].message.contains("is not a CA certificate"),
        "{text}"
    );
    assert!(
        lines(&report, Status::Warn, "ca-bundle.crt")[0]
            .message
            .starts_with("does not contain the CA of ca.crt")
    );
    let chain = lines(&report, Status::Fail, "server.crt");
    assert_eq!(chain[0].check, "bundle", "{text}");
    assert!(
        chain[0]
            .message
            .starts_with("does not chain to ca-bundle.crt: signed by"),
        "{text}"
    );
}

#[test]
fn symlinked_files_are_followed_and_hidden_generations_skipped() {
    // The layout `renew` may use: NAME.crt -> ..data/NAME.crt, a Kubernetes-style swap.
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let data = dir.join("..2026_11_28");
    fs::create_dir(&data).unwrap();
    for name in ["server.crt", "server.key", "client.crt", "client.key"] {
        fs::rename(dir.join(name), data.join(name)).unwrap();
    }
    symlink("..2026_11_28", dir.join("..data")).unwrap();
    for name in ["server.crt", "server.key", "client.crt", "client.key"] {
        symlink(format!("..data/{name}"), dir.join(name)).unwrap();
    }
    let (code, _, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        !text.contains("..data") && !text.contains("..2026"),
        "{text}"
    );
    // The mode that counts is the target's, not the link's (links are 0777).
    fs::set_permissions(data.join("server.key"), fs::Permissions::from_mode(0o604)).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        lines(&report, Status::Fail, "server.key")[0].message,
        "mode 0604: every user can read the private key",
        "{text}"
    );
}

#[test]
fn a_key_for_the_collectors_group_warns_and_a_ca_key_for_a_group_fails() {
    // 0440 is what `k8s deployment` mounts (defaultMode 0440 with fsGroup), 0640 what a
    // `chmod` for the Collector's service group gives: right there, wrong elsewhere.
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    for (file, mode) in [("server.key", 0o440), ("client.key", 0o640)] {
        fs::set_permissions(dir.join(file), fs::Permissions::from_mode(mode)).unwrap();
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    for (file, mode) in [("server.key", "0440"), ("client.key", "0640")] {
        let warned = lines(&report, Status::Warn, file);
        assert_eq!(warned.len(), 1, "{text}");
        assert_eq!(warned[0].check, "key_mode");
        assert!(
            warned[0].message.starts_with(&format!(
                "mode {mode}: members of its group can read the private key; right when that group is the Collector's (a Kubernetes pod's fsGroup with defaultMode 0440"
            )),
            "{text}"
        );
        assert_eq!(
            warned[0].fix.as_deref(),
            Some(
                format!("chmod 600 ./otel-certs/{file} unless its group is the Collector's")
                    .as_str()
            )
        );
    }
    let (code, _, _) = check(work.path(), &["--strict"]);
    assert_eq!(code, 1);
    // No Collector reads the CA key: for a group it fails.
    fs::set_permissions(dir.join("ca.key"), fs::Permissions::from_mode(0o640)).unwrap();
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let ca_key = lines(&report, Status::Fail, "ca.key");
    assert_eq!(ca_key.len(), 1, "{text}");
    assert!(
        ca_key[0].message.contains("which no Collector needs"),
        "{text}"
    );
    assert_eq!(
        ca_key[0].fix.as_deref(),
        Some("chmod 600 ./otel-certs/ca.key")
    );
}

#[test]
fn a_leaf_that_outlives_its_ca_warns() {
    // Signed with openssl, the way guides do it, for longer than the CA lives.
    let work = workdir();
    init(
        work.path(),
        &["-q", "--ca-validity", "400d", "--validity", "30d"],
    );
    let dir = work.path().join("otel-certs");
    fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for args in [
        &[
            "req",
            "-new",
            "-key",
            "client.key",
            "-subj",
            "/CN=otel-collector",
            "-out",
            "client.csr",
        ][..],
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "500",
            "-extfile",
            "ext.cnf",
            "-out",
            "client.crt",
        ],
    ] {
        let (ok, out) = openssl(&dir, args);
        assert!(ok, "{out}");
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let warning = lines(&report, Status::Warn, "client.crt");
    assert_eq!(warning[0].check, "outlives_ca", "{text}");
    assert!(
        warning[0].message.contains("after its CA (expires "),
        "{text}"
    );
    assert!(failures(&report).is_empty());
}

#[test]
fn a_leaf_without_digital_signature_fails() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for args in [
        &[
            "req",
            "-new",
            "-key",
            "client.key",
            "-subj",
            "/CN=otel-collector",
            "-out",
            "client.csr",
        ][..],
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "client.crt",
        ],
    ] {
        let (ok, out) = openssl(&dir, args);
        assert!(ok, "{out}");
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 1);
    let failure = lines(&report, Status::Fail, "client.crt");
    assert!(
        failure[0]
            .message
            .starts_with("has keyUsage keyEncipherment without digitalSignature"),
        "{text}"
    );
    assert_eq!(
        failure[0].fix.as_deref(),
        Some("otel-pki issue client --cn otel-collector --force")
    );
}

#[test]
fn shared_directories_leftovers_and_fifos_are_reported() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    // A group-writable directory FAILs, like a world-writable one; a sticky one says so.
    for (mode, says) in [
        (0o770, "writable by its group (mode 0770)"),
        (0o1777, "sticky"),
    ] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        let (code, report, text) = check(work.path(), &[]);
        assert_eq!(code, 1, "{text}");
        let directory = lines(&report, Status::Fail, "directory");
        assert!(directory[0].message.contains(says), "{text}");
        assert_eq!(directory[0].fix.as_deref(), Some("chmod go-w ./otel-certs"));
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    // What a killed `issue --count` leaves is reported, and the next writer removes it.
    for index in 0..5 {
        fs::write(dir.join(format!(".otel-pki-{index}abcde.tmp")), "key").unwrap();
    }
    let (code, report, text) = check(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let leftovers = lines(&report, Status::Warn, "directory");
    assert!(
        leftovers[0]
            .message
            .starts_with("5 files left by an interrupted otel-pki command (.otel-pki-0abcde.tmp, .otel-pki-1abcde.tmp, .otel-pki-2abcde.tmp, and 2 more)"),
        "{text}"
    );
    otel_pki(work.path())
        .args(["issue", "client", "--name", "next", "-q"])
        .assert()
        .success();
    assert!(!listing(&dir).iter().any(|name| name.ends_with(".tmp")));
    // A FIFO named like a certificate is reported, not waited on.
    let fifo = dir.join("x.crt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (code, _, text) = check(work.path(), &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FIFO"), "{text}");
}
