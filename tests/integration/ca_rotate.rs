use std::fs;
use std::path::{Path, PathBuf};

use otel_pki::cmd::ca::{CaRotateReport, Stage, rollover};
use otel_pki::pki::issue::create_ca;
use otel_pki::pki::renewal::LeafTemplate;
use otel_pki::pki::{
    CaRequest, KeyType, LeafProfile, LeafRequest, Lifetime, PrivateKey, San, Validity,
};
use otel_pki::set::write as write_set;
use otel_pki::write::{Overwrite, PlannedFile};
use predicates::prelude::PredicateBooleanExt as _;
use time::{Duration, OffsetDateTime};

use crate::support::*;

fn rotate(work: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    otel_pki(work).args(["ca", "rotate"]).args(args).assert()
}

fn rotate_json(work: &Path, args: &[&str]) -> CaRotateReport {
    let output = otel_pki(work)
        .args(["ca", "rotate", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The subjects (DER) of the certificates in a PEM file, in order.
fn subjects(path: &Path) -> Vec<Vec<u8>> {
    certificates(path)
        .iter()
        .map(|der| {
            let (_, parsed) = x509_parser::parse_x509_certificate(der).unwrap();
            parsed.subject().as_raw().to_vec()
        })
        .collect()
}

fn issuer(path: &Path) -> Vec<u8> {
    let der = &certificates(path)[0];
    let (_, parsed) = x509_parser::parse_x509_certificate(der).unwrap();
    parsed.issuer().as_raw().to_vec()
}

fn key_matches(key: &Path, certificate: &Path) -> bool {
    let key = PrivateKey::from_pem_or_der(&fs::read(key).unwrap(), "key").unwrap();
    key.matches_certificate(&certificates(certificate)[0])
}

#[test]
fn the_three_stages_in_order_and_what_ca_crt_holds_at_each() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw.example.com",
            "-q",
        ])
        .assert()
        .success();
    let old = subjects(&dir.join("ca.crt"));
    assert_eq!(old.len(), 1);
    let old = old[0].clone();

    rotate(work.path(), &["--promote"]).code(2).stderr(
        "error: cannot promote: no rollover is in progress in `./otel-certs`; start one with `otel-pki ca rotate --stage`\n",
    );
    rotate(work.path(), &["--finish"]).code(2);
    rotate(work.path(), &["--stage", "--promote"]).code(2);
    rotate(work.path(), &[]).code(2);

    // 1. Stage: ca.crt holds the current and the next CA; the current one still signs.
    let staged = rotate_json(work.path(), &["--stage"]);
    assert_eq!(staged.stage, Stage::Staged);
    let next_ca = staged.next_ca.unwrap();
    assert_eq!(next_ca.common_name.as_deref(), Some("OTel Telemetry CA"));
    assert_ne!(next_ca.subject, staged.current_ca.subject);
    assert_eq!(staged.trusted.len(), 2);
    assert!(
        staged
            .next_steps
            .iter()
            .any(|step| step.contains("--promote"))
    );
    let next = subjects(&dir.join("ca-next.crt"))[0].clone();
    assert_eq!(subjects(&dir.join("ca.crt")), [old.clone(), next.clone()]);
    assert_eq!(
        fs::read(dir.join("ca-bundle.crt")).unwrap(),
        fs::read(dir.join("ca.crt")).unwrap()
    );
    assert_eq!(mode(&dir.join("ca-next.key")), 0o600);
    assert!(key_matches(
        &dir.join("ca-next.key"),
        &dir.join("ca-next.crt")
    ));
    otel_pki(work.path())
        .args(["issue", "client", "--name", "late", "--cn", "late", "-q"])
        .assert()
        .success();
    assert_eq!(issuer(&dir.join("late.crt")), old);
    // A rerun (say, after the first was killed once its change was made) has nothing to do.
    rotate(work.path(), &["--stage"])
        .success()
        .stderr(predicates::str::contains(
            "the rollover is already staged in ./otel-certs: nothing to do",
        ));
    rotate(work.path(), &["--finish"]).code(2);
    let status = rotate_json(work.path(), &["--status"]);
    assert_eq!(status.stage, Stage::Staged);
    assert!(status.files.is_empty() && status.generation.is_none());

    // 2. Promote: the next CA signs, every leaf is re-issued from it, both stay trusted.
    let promoted = rotate_json(work.path(), &["--promote"]);
    assert_eq!(promoted.stage, Stage::Promoted);
    let mut reissued: Vec<&str> = promoted.reissued.iter().map(|r| r.name.as_str()).collect();
    reissued.sort_unstable();
    assert_eq!(reissued, ["client", "gateway", "late", "server"]);
    assert_eq!(subjects(&dir.join("ca.crt")), [next.clone(), old.clone()]);
    assert!(key_matches(&dir.join("ca.key"), &dir.join("ca.crt")));
    assert!(key_matches(
        &dir.join("ca-previous.key"),
        &dir.join("ca-previous.crt")
    ));
    assert!(!dir.join("ca-next.crt").exists() && !dir.join("ca-next.key").exists());
    for name in ["server", "client", "gateway", "late"] {
        assert_eq!(issuer(&dir.join(format!("{name}.crt"))), next, "{name}");
    }
    set_handshake(&dir, "localhost").unwrap();
    otel_pki(work.path())
        .args(["issue", "client", "--name", "later", "-q"])
        .assert()
        .success();
    assert_eq!(issuer(&dir.join("later.crt")), next);
    // A rerun of --promote has nothing to do; --stage is out of order.
    rotate(work.path(), &["--promote"])
        .success()
        .stderr(predicates::str::contains(
            "the rollover is already promoted in ./otel-certs: nothing to do",
        ));
    rotate(work.path(), &["--stage"]).code(2);

    // 3. Finish: only the new CA is trusted; the old key is archived, mode kept.
    let finished = rotate_json(work.path(), &["--finish"]);
    assert_eq!(finished.stage, Stage::Idle);
    assert_eq!(subjects(&dir.join("ca.crt")), vec![next.clone()]);
    assert_eq!(subjects(&dir.join("ca-bundle.crt")), vec![next.clone()]);
    assert!(!dir.join("ca-previous.key").exists());
    let archived = work.path().join(finished.archived_key.unwrap());
    assert_eq!(mode(&archived), 0o600);
    assert!(key_matches(
        &archived,
        &archived.with_file_name("ca-previous.crt")
    ));
    set_handshake(&dir, "localhost").unwrap();
    // A rerun of --finish has nothing to do.
    rotate(work.path(), &["--finish"])
        .success()
        .stderr(predicates::str::contains(
            "the rollover is already finished in ./otel-certs: nothing to do",
        ));
    // A question: the answer is on stdout, even with -q.
    rotate(work.path(), &["--status", "-q"])
        .success()
        .stdout(predicates::str::contains("rollover stage idle"))
        .stderr("");
}

#[test]
fn text_output_says_what_happened_and_what_to_do_next() {
    let work = workdir();
    init(work.path(), &["-q"]);
    rotate(work.path(), &["--stage"])
        .success()
        .stderr(predicates::str::contains(
            "staged the next CA CN=OTel Telemetry CA, serialNumber=",
        ))
        .stderr(predicates::str::contains(
            "next: distribute ca.crt (it holds the current and the next CA",
        ))
        .stderr(predicates::str::contains(
            "then run `otel-pki ca rotate --promote`",
        ));
    rotate(work.path(), &["--promote"])
        .success()
        .stderr(predicates::str::contains(
            "re-issued server (server, ECDSA P-256, new key)",
        ))
        .stderr(predicates::str::contains(
            "run `otel-pki ca rotate --finish`",
        ));
    rotate(work.path(), &["--finish"])
        .success()
        .stderr(predicates::str::contains(
            "archived its key in ./otel-certs/backup/",
        ));
}

/// Copies what a peer holds at one stage: ca.crt and the leaves, as files.
fn snapshot(dir: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for name in [
        "ca.crt",
        "server.crt",
        "server.key",
        "client.crt",
        "client.key",
    ] {
        fs::copy(dir.join(name), to.join(name)).unwrap();
    }
}

/// Peers updated stage by stage: a server holding the files of one stage and a client
/// holding those of another. They must trust each other when at most one stage apart (so
/// every stage can be rolled out gradually) and must not when two apart (the old CA is
/// gone, or the new one was never distributed) — exactly what the bundles predict.
#[test]
fn handshakes_across_stages_work_one_stage_apart_and_fail_two_apart() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let stages: Vec<PathBuf> = (0..4)
        .map(|n| work.path().join(format!("stage-{n}")))
        .collect();
    snapshot(&dir, &stages[0]);
    for (step, stage) in ["--stage", "--promote", "--finish"]
        .iter()
        .zip(&stages[1..])
    {
        rotate(work.path(), &[step, "-q"]).success();
        snapshot(&dir, stage);
    }
    let trusts =
        |stage: &Path, leaf: &Path| subjects(&stage.join("ca.crt")).contains(&issuer(leaf));

    let mut table = String::new();
    for (a, server) in stages.iter().enumerate() {
        for (b, client) in stages.iter().enumerate() {
            let expected = trusts(server, &client.join("client.crt"))
                && trusts(client, &server.join("server.crt"));
            assert_eq!(expected, a.abs_diff(b) <= 1, "server {a}, client {b}");
            let result = mtls_handshake(
                &ServerSide {
                    cert: &server.join("server.crt"),
                    key: &server.join("server.key"),
                    client_ca: &server.join("ca.crt"),
                },
                &ClientSide {
                    ca: &client.join("ca.crt"),
                    identity: Some((&client.join("client.crt"), &client.join("client.key"))),
                    server_name: "localhost",
                },
            );
            assert_eq!(
                result.is_ok(),
                expected,
                "server at stage {a}, client at stage {b}: {result:?}"
            );
            table.push(if result.is_ok() { '+' } else { '-' });
        }
        table.push('\n');
    }
    assert_eq!(table, "++--\n+++-\n-+++\n--++\n");
}

#[test]
fn finish_refuses_while_a_leaf_is_still_signed_by_the_old_ca() {
    let work = workdir();
    init(work.path(), &["-q"]);
    rotate(work.path(), &["--stage", "-q"]).success();
    rotate(work.path(), &["--promote", "-q"]).success();
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--name",
            "straggler",
            "--ca-cert",
            "otel-certs/ca-previous.crt",
            "--ca-key",
            "otel-certs/ca-previous.key",
            "-q",
        ])
        .assert()
        .success();
    rotate(work.path(), &["--finish"]).code(2).stderr(
        "error: cannot finish: `straggler.crt` still signed by the old CA, which peers would stop trusting; renew it with `otel-pki renew --name straggler` first\n",
    );
    otel_pki(work.path())
        .args(["renew", "--name", "straggler", "-q"])
        .assert()
        .success();
    rotate(work.path(), &["--finish", "-q"]).success();
}

#[test]
fn an_encrypted_ca_key_stays_encrypted_through_the_rollover() {
    let work = workdir();
    fs::write(work.path().join("pass"), "s3cret passphrase\n").unwrap();
    init(
        work.path(),
        &["--encrypt-ca-key", "--passphrase-file", "pass", "-q"],
    );
    let dir = set_file(work.path(), "");
    rotate(work.path(), &["--stage"])
        .code(2)
        .stderr(predicates::str::contains(
            "is encrypted; give its passphrase",
        ));
    rotate(work.path(), &["--stage", "--passphrase-file", "pass", "-q"]).success();
    let next_key = fs::read_to_string(dir.join("ca-next.key")).unwrap();
    assert!(next_key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    rotate(work.path(), &["--promote", "-q"]).code(2);
    rotate(
        work.path(),
        &["--promote", "--passphrase-file", "pass", "-q"],
    )
    .success();
    assert!(
        fs::read_to_string(dir.join("ca.key"))
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    // The finish needs no key at all.
    rotate(work.path(), &["--finish", "-q"]).success();
    otel_pki(work.path())
        .args([
            "issue",
            "client",
            "--name",
            "x",
            "--passphrase-file",
            "pass",
            "-q",
        ])
        .assert()
        .success();
    set_handshake(&dir, "localhost").unwrap();
}

#[test]
fn renew_rollback_undoes_a_stage_or_a_promotion() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let original = fs::read(dir.join("ca.crt")).unwrap();
    rotate(work.path(), &["--stage", "-q"]).success();
    otel_pki(work.path())
        .args(["renew", "--rollback"])
        .assert()
        .success()
        .stderr(predicates::str::contains("(undoing `ca rotate --stage`)"))
        .stderr(predicates::str::contains(
            "removed ca-bundle.crt ca-next.crt ca-next.key",
        ));
    assert_eq!(rotate_json(work.path(), &["--status"]).stage, Stage::Idle);
    assert_eq!(fs::read(dir.join("ca.crt")).unwrap(), original);

    rotate(work.path(), &["--stage", "-q"]).success();
    let staged = fs::read(dir.join("ca.crt")).unwrap();
    rotate(work.path(), &["--promote", "-q"]).success();
    otel_pki(work.path())
        .args(["renew", "--rollback"])
        .assert()
        .success()
        .stderr(predicates::str::contains("(undoing `ca rotate --promote`)"))
        .stderr(predicates::str::contains(
            "removed ca-previous.crt ca-previous.key",
        ));
    assert_eq!(rotate_json(work.path(), &["--status"]).stage, Stage::Staged);
    assert_eq!(fs::read(dir.join("ca.crt")).unwrap(), staged);
    assert_eq!(
        issuer(&dir.join("server.crt")),
        subjects(&dir.join("ca.crt"))[0]
    );
    set_handshake(&dir, "localhost").unwrap();
    rotate(work.path(), &["--promote", "-q"]).success();
    rotate(work.path(), &["--finish", "-q"]).success();
}

#[test]
fn help_has_examples_and_exit_codes() {
    let work = workdir();
    for command in [&["renew"][..], &["ca", "rotate"]] {
        let output = otel_pki(work.path())
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Examples:"), "{command:?}");
        assert!(help.contains("2  error or bad usage"), "{command:?}");
    }
}

/// A set made `age_days` ago: a CA of `ca_days` and a server and a client certificate of
/// `leaf_days`, issued at the same instant (so the leaves may have expired by now).
fn aged_set(dir: &Path, age_days: i64, ca_days: i64, leaf_days: i64) {
    let issued = OffsetDateTime::now_utc() - Duration::days(age_days);
    let ca = create_ca(
        &CaRequest {
            common_name: "OTel Telemetry CA".into(),
            validity: Validity::starting_now(issued, Lifetime::days(ca_days)),
        },
        PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
    )
    .unwrap();
    let mut files = vec![
        PlannedFile::key("ca.key", ca.key().to_pkcs8_pem()),
        PlannedFile::public("ca.crt", ca.certificate_pem()),
    ];
    for (name, profile, sans) in [
        ("server", LeafProfile::Server, "localhost"),
        ("client", LeafProfile::Client, ""),
    ] {
        let leaf = ca
            .issue(
                &LeafRequest {
                    profile,
                    common_name: name.into(),
                    sans: San::parse_list(sans).unwrap(),
                    validity: Validity::starting_now(issued, Lifetime::days(leaf_days)),
                },
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        files.push(PlannedFile::key(
            format!("{name}.key"),
            leaf.key.to_pkcs8_pem(),
        ));
        files.push(PlannedFile::public(
            format!("{name}.crt"),
            leaf.certificate_pem(),
        ));
    }
    write_set(dir, &files, Overwrite::Refuse).unwrap();
}

fn lifetime(path: &Path) -> Lifetime {
    LeafTemplate::of(&certificates(path)[0], "leaf")
        .unwrap()
        .lifetime
}

/// Review B1: a renewal cut short by an expiring CA must not shorten the certificates
/// for good. 380 days into a 400-day CA, the 365-day leaves have expired; `renew` can give
/// them only the CA's last 20 days, and says so quoting the 365 days asked for. The
/// re-issue at `--promote` asks for 365 days again, and so do later renewals.
#[test]
fn a_lifetime_cut_short_by_the_old_ca_is_restored_at_promote() {
    let work = workdir();
    let dir = work.path().join("otel-certs");
    aged_set(&dir, 380, 400, 365);
    otel_pki(work.path())
        .args(["renew", "--all"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "`server` now expires with its CA on",
        ))
        .stderr(predicates::str::contains("instead of after 365 days"));
    assert_eq!(lifetime(&dir.join("server.crt")).whole_days(), 20);

    let staged = rotate_json(work.path(), &["--stage"]);
    let next = staged.next_ca.unwrap();
    assert_eq!(
        Validity::between(next.not_before, next.not_after).issued_lifetime(),
        Some(Lifetime::days(400)),
        "the next CA gets the current one's lifetime"
    );
    let promoted = rotate_json(work.path(), &["--promote"]);
    assert!(promoted.warnings.is_empty(), "{:?}", promoted.warnings);
    for name in ["server", "client"] {
        assert_eq!(
            lifetime(&dir.join(format!("{name}.crt"))),
            Lifetime::days(365),
            "{name}"
        );
    }
    otel_pki(work.path())
        .args(["renew", "--name", "server", "-q"])
        .assert()
        .success();
    assert_eq!(lifetime(&dir.join("server.crt")), Lifetime::days(365));
    rotate(work.path(), &["--finish", "-q"]).success();
    set_handshake(&dir, "localhost").unwrap();
}

/// Without the record (a set copied file by file, say), a leaf that ends exactly with
/// the old CA is recognised as cut short: `--promote` warns and keeps its lifetime unless
/// `--validity` gives one.
#[test]
fn without_a_record_promote_warns_or_takes_validity() {
    let work = workdir();
    let dir = work.path().join("otel-certs");
    aged_set(&dir, 380, 400, 365);
    otel_pki(work.path())
        .args(["renew", "--all", "-q"])
        .assert()
        .success();
    let copy = work.path().join("copy");
    fs::create_dir(&copy).unwrap();
    for name in listing(&dir).iter().filter(|name| !name.starts_with('.')) {
        if dir.join(name).is_file() {
            fs::copy(dir.join(name), copy.join(name)).unwrap();
        }
    }
    let copy_flag = ["--dir", "copy"];
    rotate(work.path(), &["--stage", "-q", "--dir", "copy"]).success();
    let output = otel_pki(work.path())
        .args(["ca", "rotate", "--promote", "--format", "json"])
        .args(copy_flag)
        .output()
        .unwrap();
    let promoted: CaRotateReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(promoted.warnings.len(), 2, "{:?}", promoted.warnings);
    assert!(
        promoted.warnings[0].contains(
            "its lifetime was cut short to 20 days and the one it was asked for is not recorded"
        ),
        "{:?}",
        promoted.warnings
    );
    assert!(promoted.warnings[0].contains("--validity"));
    assert_eq!(lifetime(&copy.join("server.crt")).whole_days(), 20);

    // The original set, with --validity: no guess, no warning.
    rotate(work.path(), &["--stage", "-q"]).success();
    let promoted = rotate_json(work.path(), &["--promote", "--validity", "90d"]);
    assert!(promoted.warnings.is_empty(), "{:?}", promoted.warnings);
    assert_eq!(lifetime(&dir.join("server.crt")), Lifetime::days(90));
    rotate(work.path(), &["--finish", "--validity", "90d"]).code(2);
}

/// Review B4: a set whose ca.crt was replaced during a rollover (as `init --force` does)
/// keeps ca-next.*; `--status` says what ca.crt really holds and `--promote` refuses,
/// since peers given this ca.crt would reject certificates from the next CA.
#[test]
fn a_ca_replaced_during_a_rollover_is_reported_and_promote_refuses() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    assert_eq!(
        rollover(&dir),
        otel_pki::cmd::ca::Rollover {
            stage: Some(Stage::Idle),
            files: vec![],
        }
    );
    rotate(work.path(), &["--stage", "-q"]).success();
    let state = rollover(&dir);
    assert!(state.in_progress());
    assert_eq!(state.files, ["ca-next.crt", "ca-next.key", "ca-bundle.crt"]);
    let before = rotate_json(work.path(), &["--status"]);
    assert!(before.warnings.is_empty(), "{:?}", before.warnings);

    // A new CA and leaves replace the set's files, the way `init --force` writes them.
    let other = work.path().join("other");
    aged_set(&other, 0, 3650, 365);
    write_set(
        &dir,
        &[
            "ca.crt",
            "ca.key",
            "server.crt",
            "server.key",
            "client.crt",
            "client.key",
        ]
        .map(|name| {
            let contents = fs::read(other.join(name)).unwrap();
            if name.ends_with(".key") {
                PlannedFile::key(name, contents)
            } else {
                PlannedFile::public(name, contents)
            }
        }),
        Overwrite::Replace,
    )
    .unwrap();
    let status = rotate_json(work.path(), &["--status"]);
    assert_eq!(status.stage, Stage::Staged);
    assert_eq!(status.trusted.len(), 1);
    assert!(
        status.warnings[0].starts_with("ca.crt does not hold the next CA"),
        "{:?}",
        status.warnings
    );
    assert!(status.warnings[1].starts_with("ca-bundle.crt does not hold what ca.crt holds"));
    assert!(
        status.next_steps[0].contains("renew --rollback"),
        "{:?}",
        status.next_steps
    );
    rotate(work.path(), &["--status"])
        .success()
        .stdout(predicates::str::contains("(the signing CA)\n"))
        .stdout(predicates::str::contains("the next CA)").not());
    let ca_before = fs::read(dir.join("ca.crt")).unwrap();
    rotate(work.path(), &["--promote"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: cannot promote: ca.crt does not hold the next CA",
        ))
        .stderr(predicates::str::contains(
            "remove ca-next.crt, ca-next.key and ca-bundle.crt",
        ));
    assert_eq!(fs::read(dir.join("ca.crt")).unwrap(), ca_before);

    // Abandoning the rollover as the message says, then rotating the new CA, works.
    for name in state.files {
        fs::remove_file(dir.join(name)).unwrap();
    }
    rotate(work.path(), &["--stage", "-q"]).success();
    rotate(work.path(), &["--promote", "-q"]).success();
    rotate(work.path(), &["--finish", "-q"]).success();
    let finished = rollover(&dir);
    assert!(!finished.in_progress());
    assert_eq!(finished.files, ["ca-bundle.crt"]);
    set_handshake(&dir, "localhost").unwrap();
}
