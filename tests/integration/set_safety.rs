//! One writer at a time, and nothing leaves the set: pairs of writers racing on one set,
//! the lock's bounded wait, and planted links and shared directories.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Stdio;

use crate::set_crash::{check_set, command, run};
use crate::support::*;

/// Rounds per pair of writers.
const ROUNDS: usize = 30;

/// Runs `first` and `second` at the same time on `dir`, `ROUNDS` times; each must succeed
/// (or, when `refusals` says so, refuse cleanly with exit 2 and one of those messages),
/// and the set must be whole afterwards. Returns how many runs refused.
fn race(
    dir: &Path,
    first: &[&str],
    second: &[&str],
    refusals: &[&str],
    reset: &dyn Fn(&Path),
) -> usize {
    let mut refused = 0;
    for round in 0..ROUNDS {
        let children: Vec<_> = [first, second]
            .iter()
            .map(|args| command(dir, args).stderr(Stdio::piped()).spawn().unwrap())
            .collect();
        for (child, args) in children.into_iter().zip([first, second]) {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if output.status.success() {
                continue;
            }
            assert!(
                output.status.code() == Some(2)
                    && refusals.iter().any(|refusal| stderr.contains(refusal)),
                "round {round}: {args:?} failed: {stderr}"
            );
            refused += 1;
        }
        check_set(dir);
        reset(dir);
    }
    refused
}

fn fresh_set() -> (tempfile::TempDir, std::path::PathBuf) {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    (work, dir)
}

#[test]
fn two_init_force_never_mix_two_cas() {
    let (_work, dir) = fresh_set();
    race(
        &dir,
        &["init", "--force"],
        &["init", "--force"],
        &[],
        &|_| {},
    );
}

#[test]
fn two_issue_force_of_one_name_never_mix_keys() {
    let (_work, dir) = fresh_set();
    let issue = ["issue", "client", "--name", "x", "--cn", "x", "--force"];
    race(&dir, &issue, &issue, &[], &|_| {});
}

#[test]
fn init_force_beside_ca_rotate_stage() {
    let (_work, dir) = fresh_set();
    // Whichever runs second sees the other's result under the lock: init --force refuses
    // to strand a staged rollover; the set is back to idle for the next round.
    let refused = race(
        &dir,
        &["init", "--force"],
        &["ca", "rotate", "--stage"],
        &["a CA rollover is under way"],
        &|dir| {
            for name in ["ca-next.crt", "ca-next.key", "ca-bundle.crt"] {
                let _ = fs::remove_file(dir.join(name));
            }
        },
    );
    eprintln!("init --force beside ca rotate --stage: {refused} refusals in {ROUNDS} rounds");
}

#[test]
fn init_force_beside_renew_and_issue_beside_renew() {
    let (_work, dir) = fresh_set();
    race(
        &dir,
        &["init", "--force"],
        &["renew", "--all"],
        &[],
        &|_| {},
    );
    let issue = ["issue", "client", "--name", "x", "--cn", "x", "--force"];
    race(&dir, &issue, &["renew", "--all"], &[], &|_| {});
}

#[test]
fn a_second_writer_waits_a_bounded_time_and_names_the_holder() {
    let (work, dir) = fresh_set();
    let lock = otel_pki::set::Lock::acquire(&dir).unwrap();
    let output = otel_pki(work.path())
        .args(["issue", "client", "--name", "late", "--lock-timeout", "1s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`./otel-certs` is locked by another otel-pki command")
            && stderr.contains(&format!("pid {}", std::process::id()))
            && stderr.contains("--lock-timeout"),
        "{stderr}"
    );
    assert!(!dir.join("late.crt").exists());
    // The environment variable works too, and the lock is free again once dropped.
    let output = otel_pki(work.path())
        .args(["renew", "--all"])
        .env("OTEL_PKI_LOCK_TIMEOUT", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    drop(lock);
    assert!(!dir.join(".otel-pki.lock").exists());
    otel_pki(work.path())
        .args(["issue", "client", "--name", "late", "-q"])
        .assert()
        .success();
}

/// A directory outside the set that an attacker controls.
fn loot(work: &Path) -> std::path::PathBuf {
    let loot = work.join("loot");
    fs::create_dir(&loot).unwrap();
    loot
}

fn nothing_secret_in(loot: &Path) {
    for name in listing(loot) {
        let contents = fs::read(loot.join(&name)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&contents).contains("PRIVATE KEY"),
            "a key reached {name}"
        );
    }
}

#[test]
fn planted_links_get_nothing() {
    let (work, dir) = fresh_set();
    let loot = loot(work.path());
    // Every name an older version used predictably, and the lock's holder file.
    let planted = [
        ".otel-pki-restore-ca.key",
        ".otel-pki-restore-server.key",
        ".otel-pki.lock",
        ".otel-pki-link-1-0",
    ];
    for (index, name) in planted.iter().enumerate() {
        let target = loot.join(format!("target-{index}"));
        fs::write(&target, "attacker's file").unwrap();
        std::os::unix::fs::symlink(&target, dir.join(name)).unwrap();
    }
    for _ in 0..6 {
        run(&dir, &["init", "--force"]);
        nothing_secret_in(&loot);
        check_set(&dir);
    }
    for index in 0..planted.len() {
        assert_eq!(
            fs::read_to_string(loot.join(format!("target-{index}"))).unwrap(),
            "attacker's file"
        );
    }
    // A `backup` that is a link out of the set is refused, not followed.
    let backup = dir.join("backup");
    fs::rename(&backup, work.path().join("old-backup")).unwrap();
    std::os::unix::fs::symlink(&loot, &backup).unwrap();
    let output = command(&dir, &["init", "--force"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("backup"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    nothing_secret_in(&loot);
    check_set(&dir);
}

#[test]
fn keys_are_not_written_into_a_directory_others_can_write() {
    let (work, dir) = fresh_set();
    for (mode, says) in [
        (0o770, "members of its group can write to it"),
        (0o777, "every user can write to it"),
        (0o1777, "sticky"),
    ] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        let output = otel_pki(work.path())
            .args(["issue", "client", "--name", "x"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("chmod go-w ./otel-certs"),
            "{stderr}"
        );
        assert!(!dir.join("x.key").exists());
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
}
