//! `verify`: each verdict with a certificate made for it. Expired and not-yet-valid
//! certificates are issued with past or future validity through the library.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use otel_pki::cmd::verify::VerifyReport;
use otel_pki::pki::issue::{CaRequest, LeafProfile, LeafRequest, create_ca};
use otel_pki::pki::verify::Problem;
use otel_pki::pki::{Ca, Issued, KeyType, Lifetime, PrivateKey, San, Validity};
use time::{Duration, OffsetDateTime};

use crate::support::*;

/// A CA valid from 30 days ago for `days` days, named `name`.
pub fn make_ca(name: &str, days: i64) -> Ca {
    let now = OffsetDateTime::now_utc();
    let request = CaRequest {
        common_name: name.into(),
        validity: Validity::between(now - Duration::days(30), now + Duration::days(days)),
    };
    create_ca(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap()).unwrap()
}

/// A leaf valid between `from` and `until` (offsets from now).
pub fn make_leaf(
    ca: &Ca,
    profile: LeafProfile,
    sans: &str,
    from: Duration,
    until: Duration,
    key_type: KeyType,
) -> Issued {
    let now = OffsetDateTime::now_utc();
    let request = LeafRequest {
        profile,
        common_name: "fixture".into(),
        sans: San::parse_list(sans).unwrap(),
        validity: Validity::between(now + from, now + until),
    };
    ca.issue(&request, PrivateKey::generate(key_type).unwrap())
        .unwrap()
}

/// Writes NAME.crt (0644) and NAME.key (0600) into `dir`.
pub fn write_pair(dir: &Path, name: &str, issued: &Issued) {
    fs::create_dir_all(dir).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    fs::write(&cert, issued.certificate_pem()).unwrap();
    fs::write(&key, issued.key.to_pkcs8_pem()).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
}

/// Writes the CA certificate as `dir/NAME`.
pub fn write_ca(dir: &Path, name: &str, ca: &Ca) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), ca.certificate_pem()).unwrap();
}

fn verify(work: &Path, args: &[&str]) -> (i32, String) {
    let output = otel_pki(work).arg("verify").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), text)
}

fn verify_json(work: &Path, args: &[&str]) -> (i32, VerifyReport) {
    let output = otel_pki(work)
        .arg("verify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), report)
}

fn problems(report: &VerifyReport) -> Vec<Problem> {
    report.findings.iter().map(|f| f.problem).collect()
}

#[test]
fn a_fresh_set_verifies_for_its_names_and_keys() {
    let work = workdir();
    init(work.path(), &["-q", "--san", "jaeger-backend,localhost"]);
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--host",
            "jaeger-backend,localhost",
            "--key",
            "otel-certs/server.key",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with("otel-certs/server.crt: valid server certificate\n"),
        "{text}"
    );
    assert!(
        text.contains("  hosts    jaeger-backend, localhost: ok"),
        "{text}"
    );
    assert!(
        text.contains("  key      otel-certs/server.key matches"),
        "{text}"
    );
    let (code, report) = verify_json(
        work.path(),
        &["otel-certs/client.crt", "--ca", "otel-certs/ca.crt"],
    );
    assert_eq!(code, 0);
    assert!(report.valid);
    assert_eq!(report.purposes, [otel_pki::pki::verify::Purpose::Client]);
    assert_eq!(report.chain.len(), 2);
    assert_eq!(report.chain[1].source, "otel-certs/ca.crt");
}

#[test]
fn a_host_that_is_not_in_the_sans_is_named_with_the_ones_that_are() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--host",
            "jaeger-backend",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains("  - not valid for `jaeger-backend`; valid for: localhost, 127.0.0.1, ::1"),
        "{text}"
    );
}

#[test]
fn the_wrong_ca_is_named_and_so_is_the_one_that_signed_it() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    let (code, report) = verify_json(
        work.path(),
        &["otel-certs/server.crt", "--ca", "other/ca.crt"],
    );
    assert_eq!(code, 1);
    assert_eq!(problems(&report), [Problem::UnknownIssuer]);
    let ours = fs::read_to_string(work.path().join("otel-certs/ca.crt")).unwrap();
    let message = &report.findings[0].message;
    // Both CAs are "OTel Telemetry CA"; the serialNumber attribute tells them apart.
    assert!(
        message.starts_with(&format!("signed by `{}`", report.certificate.issuer)),
        "{message}"
    );
    assert!(
        message.contains(", not by `CN=OTel Telemetry CA, serialNumber="),
        "{message}"
    );
    assert!(message.ends_with("` (other/ca.crt)"), "{message}");
    assert!(!ours.is_empty());
    // A rotation bundle with both CAs trusts both.
    let bundle = [
        fs::read_to_string(work.path().join("other/ca.crt")).unwrap(),
        ours,
    ]
    .concat();
    fs::write(work.path().join("bundle.crt"), bundle).unwrap();
    let (code, report) = verify_json(
        work.path(),
        &["otel-certs/server.crt", "--ca", "bundle.crt"],
    );
    assert_eq!(code, 0, "{:?}", report.findings);
    assert_eq!(report.chain[1].source, "bundle.crt#1");
}

#[test]
fn expired_and_not_yet_valid_certificates_say_when() {
    let work = workdir();
    let ca = make_ca("OTel Telemetry CA", 365);
    let dir = work.path().join("certs");
    write_ca(&dir, "ca.crt", &ca);
    let expired = make_leaf(
        &ca,
        LeafProfile::Server,
        "localhost",
        -Duration::days(20),
        -Duration::days(3),
        KeyType::EcdsaP256,
    );
    write_pair(&dir, "expired", &expired);
    let (code, text) = verify(work.path(), &["certs/expired.crt", "--ca", "certs/ca.crt"]);
    assert_eq!(code, 1);
    let date = (OffsetDateTime::now_utc() - Duration::days(3)).date();
    assert!(
        text.contains(&format!("  - expired 3 days ago ({date})")),
        "{text}"
    );

    let future = make_leaf(
        &ca,
        LeafProfile::Client,
        "",
        Duration::days(4) + Duration::hours(1),
        Duration::days(60),
        KeyType::EcdsaP256,
    );
    write_pair(&dir, "future", &future);
    let (code, report) = verify_json(work.path(), &["certs/future.crt", "--ca", "certs/ca.crt"]);
    assert_eq!(code, 1);
    assert_eq!(problems(&report), [Problem::NotYetValid]);
    assert!(
        report.findings[0].message.ends_with("(in 4 days)"),
        "{:?}",
        report.findings
    );
}

#[test]
fn at_checks_another_time() {
    let work = workdir();
    init(work.path(), &["-q", "--validity", "30d"]);
    let args = ["otel-certs/client.crt", "--ca", "otel-certs/ca.crt"];
    let soon = (OffsetDateTime::now_utc() + Duration::days(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let later = (OffsetDateTime::now_utc() + Duration::days(45))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (code, _) = verify(work.path(), &[&args[..], &["--at", &soon]].concat());
    assert_eq!(code, 0);
    let (code, text) = verify(work.path(), &[&args[..], &["--at", &later]].concat());
    assert_eq!(code, 1);
    assert!(
        text.contains("NOT a valid client certificate at "),
        "{text}"
    );
    assert!(text.contains("  - expired 15 days before "), "{text}");
    let (code, text) = verify(work.path(), &[&args[..], &["--at", "next month"]].concat());
    assert_eq!(code, 2);
    assert!(text.contains("expected an RFC 3339 time"), "{text}");
}

#[test]
fn the_wrong_purpose_and_a_ca_as_leaf_are_explained() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--purpose",
            "client",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains(
            "  - has extendedKeyUsage serverAuth only; a client certificate needs clientAuth"
        ),
        "{text}"
    );
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/client.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--purpose",
            "server",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains(
            "has extendedKeyUsage clientAuth only; a server certificate needs serverAuth"
        ),
        "{text}"
    );
    let (code, text) = verify(
        work.path(),
        &["otel-certs/ca.crt", "--ca", "otel-certs/ca.crt"],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains("  - is a CA certificate, not a leaf"),
        "{text}"
    );
    // The variant names of rustls-webpki never reach the user.
    for name in [
        "UnknownIssuer",
        "CaUsedAsEndEntity",
        "RequiredEku",
        "CertExpired",
    ] {
        assert!(!text.contains(name), "{text}");
    }
}

#[test]
fn a_key_that_does_not_match_or_is_encrypted_is_a_finding() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let (code, report) = verify_json(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--key",
            "otel-certs/client.key",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(problems(&report), [Problem::KeyMismatch]);
    assert_eq!(report.key.unwrap().matches, Some(false));
    let (ok, text) = openssl(
        &dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "server.key",
            "-out",
            "enc.key",
            "-passout",
            "pass:secret",
        ],
    );
    assert!(ok, "{text}");
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--key",
            "otel-certs/enc.key",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains("key `otel-certs/enc.key` is encrypted"),
        "{text}"
    );
    assert!(
        text.contains("the Collector cannot read encrypted keys"),
        "{text}"
    );
}

#[test]
fn extra_certificates_after_the_leaf_and_leaves_in_the_ca_file() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    // server.crt followed by client.crt: the client certificate is no CA.
    let chain = [
        fs::read_to_string(dir.join("server.crt")).unwrap(),
        fs::read_to_string(dir.join("client.crt")).unwrap(),
    ]
    .concat();
    fs::write(work.path().join("chain.crt"), chain).unwrap();
    let (code, report) = verify_json(work.path(), &["chain.crt", "--ca", "otel-certs/ca.crt"]);
    // webpki finds the path without the stray certificate; nothing is wrong with the leaf.
    assert_eq!(code, 0, "{:?}", report.findings);
    // A CA file with a leaf in it: the leaf is not trusted, and the user is told.
    let ca_file = [
        fs::read_to_string(dir.join("ca.crt")).unwrap(),
        fs::read_to_string(dir.join("client.crt")).unwrap(),
    ]
    .concat();
    fs::write(work.path().join("mixed.crt"), ca_file).unwrap();
    let (code, text) = verify(work.path(), &["otel-certs/server.crt", "--ca", "mixed.crt"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("warning: mixed.crt#1 (`CN=otel-collector`) is not a CA certificate"),
        "{text}"
    );
    // A CA file without any CA is an error.
    let (code, text) = verify(
        work.path(),
        &["otel-certs/server.crt", "--ca", "otel-certs/client.crt"],
    );
    assert_eq!(code, 2);
    assert!(text.contains("holds no CA certificate"), "{text}");
}

#[test]
fn unreadable_input_is_an_error_not_a_verdict() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, text) = verify(work.path(), &["missing.crt", "--ca", "otel-certs/ca.crt"]);
    assert_eq!(code, 2);
    assert!(text.contains("missing.crt"), "{text}");
    let (code, text) = verify(
        work.path(),
        &[
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--host",
            "not a host",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        text.contains("is not a DNS name or an IP address"),
        "{text}"
    );
    let (code, _) = verify(work.path(), &["otel-certs/server.crt"]);
    assert_eq!(code, 2, "--ca is required");
}

#[test]
fn an_ed25519_and_an_rsa_leaf_verify_like_any_other() {
    let work = workdir();
    let ca = make_ca("CA", 365);
    let dir = work.path().join("certs");
    write_ca(&dir, "ca.crt", &ca);
    for (name, key_type) in [("ed", KeyType::Ed25519), ("rsa", KeyType::Rsa2048)] {
        let leaf = make_leaf(
            &ca,
            LeafProfile::Server,
            "localhost",
            -Duration::days(1),
            Duration::days(10),
            key_type,
        );
        write_pair(&dir, name, &leaf);
        let cert = format!("certs/{name}.crt");
        let key = format!("certs/{name}.key");
        let (code, text) = verify(
            work.path(),
            &[
                &cert,
                "--ca",
                "certs/ca.crt",
                "--host",
                "localhost",
                "--key",
                &key,
            ],
        );
        assert_eq!(code, 0, "{name}: {text}");
    }
    let _ = Lifetime::days(1);
}

#[test]
fn the_four_commands_document_examples_and_exit_codes() {
    let work = workdir();
    for (command, exit_line) in [
        ("verify", "Exit status 0: valid;"),
        ("check", "Exit status 0: nothing failed;"),
        ("selftest", "Exit status 0: every case went as it must;"),
        (
            "probe",
            "Exit status 0: the chain verifies and the server requires and accepts our certificate;",
        ),
    ] {
        let output = otel_pki(work.path())
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Examples:"), "{command}");
        assert!(help.contains(exit_line), "{command}: {help}");
        assert!(help.contains("2  error or bad usage"), "{command}");
    }
}
