//! `selftest`: real mutual-TLS exchanges in the binary, checked against the test suite's own
//! handshake helper, and the ways a set fails them.

use std::fs;
use std::path::Path;

use otel_pki::cmd::selftest::{CaseStatus, SelftestReport};
use otel_pki::pki::KeyType;
use otel_pki::pki::issue::LeafProfile;
use time::Duration;

use crate::support::*;
use crate::verify::{make_leaf, write_pair};

fn selftest(work: &Path, args: &[&str]) -> (i32, SelftestReport, String) {
    let json = otel_pki(work)
        .arg("selftest")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: SelftestReport = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&json.stdout),
            String::from_utf8_lossy(&json.stderr)
        )
    });
    let text = otel_pki(work).arg("selftest").args(args).output().unwrap();
    assert_eq!(text.status.code(), json.status.code());
    (
        json.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

fn statuses(report: &SelftestReport) -> Vec<CaseStatus> {
    report.cases.iter().map(|case| case.status).collect()
}

#[test]
fn a_fresh_set_works_both_ways_and_refuses_what_it_must() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, report, text) = selftest(work.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report.host, "localhost");
    assert_eq!(statuses(&report), [CaseStatus::Pass; 4], "{text}");
    let versions: Vec<&str> = report.cases[..2]
        .iter()
        .map(|case| case.negotiated.as_ref().unwrap().version.as_str())
        .collect();
    assert_eq!(versions, ["TLS 1.3", "TLS 1.2"]);
    assert!(text.contains("PASS  no client certificate             refused: the client sent no certificate (alert certificate_required)"), "{text}");
    assert!(text.contains("PASS  server.crt as client certificate  refused: has extendedKeyUsage serverAuth only; a client certificate needs clientAuth"), "{text}");
    assert!(
        text.ends_with("./otel-certs: the set works (4 of 4 cases as they must be)\n"),
        "{text}"
    );
    // The test suite's independent handshake agrees on the cipher suite.
    let independent = set_handshake(&work.path().join("otel-certs"), "localhost").unwrap();
    let suite = &report.cases[0].negotiated.as_ref().unwrap().cipher_suite;
    assert!(
        independent.cipher_suite.contains(suite.as_str()),
        "{} vs {suite}",
        independent.cipher_suite
    );
}

#[test]
fn a_host_outside_the_sans_fails_on_the_client_side() {
    let work = workdir();
    init(
        work.path(),
        &["-q", "--san", "jaeger-backend.monitoring.svc.cluster.local"],
    );
    let (code, report, _) = selftest(work.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report.host, "jaeger-backend.monitoring.svc.cluster.local");
    let (code, report, text) = selftest(work.path(), &["--host", "jaeger-backend"]);
    assert_eq!(code, 1);
    assert_eq!(report.cases[0].status, CaseStatus::Fail);
    assert_eq!(
        report.cases[0].detail,
        "the client refused the server certificate: not valid for `jaeger-backend`; valid for: jaeger-backend.monitoring.svc.cluster.local"
    );
    assert!(
        text.contains("the set does NOT work (0 of 4 cases as they must be)"),
        "{text}"
    );
}

#[test]
fn a_client_from_another_ca_is_refused_by_the_server_with_the_reason() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    for file in ["client.crt", "client.key"] {
        fs::copy(
            work.path().join("other").join(file),
            work.path().join("otel-certs").join(file),
        )
        .unwrap();
    }
    let (code, report, text) = selftest(work.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&report),
        [
            CaseStatus::Fail,
            CaseStatus::Fail,
            CaseStatus::Pass,
            CaseStatus::Pass
        ],
        "{text}"
    );
    let detail = &report.cases[0].detail;
    assert!(
        detail.starts_with(
            "the server refused client.crt: signed by `CN=OTel Telemetry CA, serialNumber="
        ),
        "{detail}"
    );
    assert!(
        detail.ends_with("(./otel-certs/ca.crt) (alert unknown_ca)"),
        "{detail}"
    );
}

#[test]
fn an_expired_client_certificate_is_refused_with_its_date() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let ca = otel_pki::support::load_ca(&dir.join("ca.crt"), &dir.join("ca.key"), None).unwrap();
    let expired = make_leaf(
        &ca,
        LeafProfile::Client,
        "",
        -Duration::days(10),
        -Duration::days(2),
        KeyType::EcdsaP256,
    );
    write_pair(&dir, "client", &expired);
    let (code, report, _) = selftest(work.path(), &[]);
    assert_eq!(code, 1);
    let detail = &report.cases[0].detail;
    assert!(
        detail.starts_with("the server refused client.crt: expired 2 days ago ("),
        "{detail}"
    );
    assert!(detail.ends_with("(alert certificate_expired)"), "{detail}");
}

#[test]
fn other_pairs_and_a_gateway_certificate_with_both_usages() {
    let work = workdir();
    init(work.path(), &["-q"]);
    for args in [
        &[
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "otel-gateway",
            "--client-auth",
            "-q",
        ][..],
        &["issue", "client", "--name", "agent", "--cn", "agent", "-q"],
    ] {
        otel_pki(work.path()).args(args).assert().success();
    }
    let (code, report, text) = selftest(work.path(), &["--server", "gateway", "--client", "agent"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report.host, "otel-gateway");
    assert_eq!(report.cases[3].status, CaseStatus::Skip, "{text}");
    assert!(
        text.contains("SKIP  gateway.crt as client certificate  gateway.crt has clientAuth too"),
        "{text}"
    );
}

#[test]
fn every_key_type_works() {
    for key_type in ["ecdsa-p384", "ed25519", "rsa-2048"] {
        let work = workdir();
        init(work.path(), &["-q", "--key-type", key_type]);
        let (code, report, text) = selftest(work.path(), &[]);
        assert_eq!(code, 0, "{key_type}: {text}");
        assert!(report.ok);
    }
}

#[test]
fn missing_files_are_errors() {
    let work = workdir();
    let output = otel_pki(work.path()).arg("selftest").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("./otel-certs/ca.crt"), "{stderr}");
    init(work.path(), &["-q"]);
    let output = otel_pki(work.path())
        .args(["selftest", "--client", "nobody"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody.crt"));
}
