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
    let assert = otel_pki(work.path())
        .args(["issue", "server", "--san", "localhost"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("--force"));
    assert_eq!(fs::read(dir.join("server.key")).unwrap(), before);
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
