//! `issue client --count N --name-prefix P` and `--names-from FILE`: many client
//! certificates, each with its own key, written all-or-nothing. (Speed is measured by
//! bench/fleet.sh, recorded in BENCHMARKS.md, not asserted here.)

use std::collections::HashSet;
use std::fs;

use otel_pki::cmd::issue::FleetReport;
use otel_pki::pki::Role;

use crate::support::*;

#[test]
fn count_issues_distinct_client_certificates_each_with_its_own_key() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let output = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "40",
            "--name-prefix",
            "collector-",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(
            "created 40 client certificates collector-01 … collector-40 (ECDSA P-256, clientAuth); valid 365 days until "
        ),
        "{stderr}"
    );
    assert_eq!(
        lines[2],
        "wrote ./otel-certs: 80 files, collector-01.key collector-01.crt … collector-40.crt (keys 0600, certificates 0644)"
    );
    let dir = work.path().join("otel-certs");
    let mut keys = HashSet::new();
    let mut serials = HashSet::new();
    for i in 1..=40 {
        // Zero-padded to the width of 40, so that they sort.
        let cert = dir.join(format!("collector-{i:02}.crt"));
        let key = dir.join(format!("collector-{i:02}.key"));
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&cert), 0o644);
        assert!(keys.insert(fs::read(&key).unwrap()), "keys are not shared");
        let der = certificates(&cert)[0].to_vec();
        let summary =
            otel_pki::pki::CertSummary::new(&der, "c", 0, time::OffsetDateTime::now_utc()).unwrap();
        assert_eq!(summary.role, Role::Client);
        assert_eq!(
            summary.common_name.as_deref(),
            Some(format!("collector-{i:02}").as_str())
        );
        assert!(serials.insert(summary.serial));
    }
    // Only the new files and the set: no temporary file left behind.
    assert_eq!(listing(&dir).len(), 6 + 80);
    // Each works in a real handshake and for OpenSSL's strict client purpose.
    let handshake = pair_handshake(&dir, "server", "collector-37", "localhost");
    assert!(handshake.is_ok(), "{handshake:?}");
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-CAfile",
            "ca.crt",
            "collector-01.crt",
            "collector-40.crt",
        ],
    );
    assert!(ok, "{text}");
}

#[test]
fn names_from_a_file_skip_comments_and_refuse_duplicates() {
    let work = workdir();
    init(work.path(), &["-q"]);
    fs::write(
        work.path().join("hosts.txt"),
        "# edge collectors\nedge-eu-1\n\n  edge-us-1  \nedge-ap-1\n",
    )
    .unwrap();
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--names-from",
            "hosts.txt",
            "--dir",
            "fleet",
            "--ca-cert",
            "otel-certs/ca.crt",
            "--ca-key",
            "otel-certs/ca.key",
            "-q",
        ])
        .assert()
        .success()
        .stderr("");
    assert_eq!(
        listing(&work.path().join("fleet")),
        [
            "edge-ap-1.crt",
            "edge-ap-1.key",
            "edge-eu-1.crt",
            "edge-eu-1.key",
            "edge-us-1.crt",
            "edge-us-1.key"
        ]
    );

    fs::write(work.path().join("dupes.txt"), "a\nb\na\n").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "dupes.txt"])
        .assert()
        .code(2)
        .stderr(
            "error: `a` is listed twice in --names-from; each name becomes NAME.crt and NAME.key\n",
        );
    fs::write(work.path().join("bad.txt"), "ok\n../escape\n").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "bad.txt"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "invalid name in --names-from `../escape`",
        ));
    fs::write(work.path().join("empty.txt"), "# nothing\n\n").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "empty.txt"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("has no names"));
    fs::write(work.path().join("ca.txt"), "ca\n").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "ca.txt"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "ca.crt and ca.key are the CA's files",
        ));
    assert_eq!(
        listing(&work.path().join("otel-certs")).len(),
        6,
        "nothing written"
    );
}

#[test]
fn a_fleet_is_all_or_nothing_and_never_clobbers() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::write(dir.join("collector-07.crt"), "mine").unwrap();
    let output = otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "20",
            "--name-prefix",
            "collector-",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: `./otel-certs/collector-07.crt` already exists; nothing was written: choose another --name-prefix to issue the fleet beside it, or add --force to replace it (the old version is kept in `./otel-certs/backup/`)\n"
    );
    assert_eq!(listing(&dir).len(), 7, "not one of the 20 was written");
    assert_eq!(
        fs::read_to_string(dir.join("collector-07.crt")).unwrap(),
        "mine"
    );

    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "20",
            "--name-prefix",
            "collector-",
            "--force",
            "-q",
        ])
        .assert()
        .success();
    // Generation directories and `..data` aside: `--force` replaces in one switch.
    assert_eq!(
        listing(&dir)
            .iter()
            .filter(|name| !name.starts_with(".."))
            .count(),
        6 + 40 + 1,
        "the set, 40 new files, backup/"
    );
    let backups = listing(&dir.join("backup"));
    assert_eq!(
        fs::read_to_string(
            dir.join("backup")
                .join(&backups[0])
                .join("collector-07.crt")
        )
        .unwrap(),
        "mine"
    );
}

#[test]
fn a_fleet_reports_every_certificate_in_json() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let output = otel_pki(work.path())
        .args([
            "--format",
            "json",
            "issue",
            "client",
            "--count",
            "3",
            "--name-prefix",
            "agent-",
            "--san",
            "spiffe://cluster.local/ns/obs/sa/agent",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: FleetReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.count, 3);
    assert_eq!(report.files.len(), 6);
    let names: Vec<&str> = report
        .certificates
        .iter()
        .map(|summary| summary.common_name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["agent-1", "agent-2", "agent-3"]);
    assert!(
        report
            .certificates
            .iter()
            .all(|c| c.sans.uri == ["spiffe://cluster.local/ns/obs/sa/agent"])
    );
}

#[test]
fn fleet_flags_go_together_and_the_ca_is_checked_first() {
    let work = workdir();
    init(
        work.path(),
        &["--ca-validity", "30d", "--validity", "7d", "-q"],
    );
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "5",
            "--name-prefix",
            "c-",
            "--cn",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "'--count <N>' cannot be used with '--cn <CN>'",
        ));
    otel_pki(work.path())
        .args(["issue", "client", "--count", "5"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--name-prefix <PREFIX>"));
    otel_pki(work.path())
        .args(["issue", "client", "--count", "0", "--name-prefix", "c-"])
        .assert()
        .code(2);
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "5",
            "--name-prefix",
            "c-",
            "--validity",
            "45d",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("15 days after its CA"));
    assert_eq!(listing(&work.path().join("otel-certs")).len(), 6);
}

#[test]
fn fleet_names_are_zero_padded_so_that_they_sort() {
    let work = workdir();
    init(work.path(), &["-q"]);
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--count",
            "12",
            "--name-prefix",
            "agent",
            "--dir",
            "fleet",
            "--ca-cert",
            "otel-certs/ca.crt",
            "--ca-key",
            "otel-certs/ca.key",
            "-q",
        ])
        .assert()
        .success();
    let certificates: Vec<String> = listing(&work.path().join("fleet"))
        .into_iter()
        .filter(|name| name.ends_with(".crt"))
        .collect();
    // Sorted by name is sorted by number: agent-01 … agent-12, a `-` after the prefix.
    let numbered: Vec<String> = (1..=12).map(|i| format!("agent-{i:02}.crt")).collect();
    assert_eq!(certificates, numbered);
    let der = certificates_of(&work.path().join("fleet/agent-07.crt"));
    assert_eq!(der.as_deref(), Some("agent-07"));
}

/// The common name of the first certificate in `path`.
fn certificates_of(path: &std::path::Path) -> Option<String> {
    let der = certificates(path)[0].to_vec();
    otel_pki::pki::CertSummary::new(&der, "", 0, time::OffsetDateTime::now_utc())
        .unwrap()
        .common_name
}

#[test]
fn names_from_has_the_cap_of_count() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let names: String = (0..=otel_pki::cli::FLEET_MAX)
        .map(|i| format!("n{i}\n"))
        .collect();
    fs::write(work.path().join("many.txt"), names).unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--names-from", "many.txt"])
        .assert()
        .code(2)
        .stderr(
            "error: --names-from `many.txt` lists 100001 names; at most 100000 are issued at once (the limit of --count): split the file\n",
        );
    otel_pki(work.path())
        .args(["issue", "client", "--count", "100001", "--name-prefix", "n"])
        .assert()
        .code(2);
    assert_eq!(listing(&work.path().join("otel-certs")).len(), 6);
}
