//! Every writing command killed with SIGKILL at random instants: afterwards every name in
//! the set resolves to a complete file (no dangling link, no partial file), every key
//! matches its certificate, every leaf chains to `ca.crt`, and the same command run again
//! completes or says it already did (exit 0).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otel_pki::pki::PrivateKey;

use crate::support::*;

/// Kills per command.
const KILLS: usize = 40;
/// The least number of kills that must land before and after the command's change.
const MIN_HITS: usize = 3;
/// Extra kills, at most, to reach [`MIN_HITS`] on a machine whose timing kept the first
/// [`KILLS`] away from one phase.
const EXTRA_KILLS: usize = 60;

/// A small xorshift generator; the seed is printed so a failure can be replayed.
pub struct Random(pub u64);

impl Random {
    pub fn seeded() -> Self {
        Random(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1,
        )
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// `otel-pki ARGS --dir DIR -q`, output discarded, environment scrubbed.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otel-pki"));
    command.current_dir(dir.parent().unwrap());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_PKI_") {
            command.env_remove(&name);
        }
    }
    command
        .args(args)
        .arg("--dir")
        .arg(dir)
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs a command to its end; panics with its stderr when it fails.
pub fn run(dir: &Path, args: &[&str]) {
    let output = command(dir, args).stderr(Stdio::piped()).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The invariant of a set at rest: every name resolves to a complete file, every key
/// matches its certificate, every leaf is signed by a CA in `ca.crt`. Returns a
/// fingerprint of the set (`ca.crt` and every leaf certificate) to tell states apart.
pub fn check_set(dir: &Path) -> Vec<u8> {
    let subjects: Vec<Vec<u8>> = certificates(&dir.join("ca.crt"))
        .iter()
        .map(|der| {
            let (_, parsed) = x509_parser::parse_x509_certificate(der).unwrap();
            parsed.subject().as_raw().to_vec()
        })
        .collect();
    let mut fingerprint = fs::read(dir.join("ca.crt")).unwrap();
    for name in listing(dir) {
        let path = dir.join(&name);
        if name.starts_with('.') || name == "backup" {
            continue;
        }
        assert!(
            fs::metadata(&path).is_ok(),
            "`{name}` does not resolve to a file: {:?}",
            listing(dir)
        );
        let Some(stem) = name.strip_suffix(".crt") else {
            continue;
        };
        if stem == "ca-bundle" {
            continue;
        }
        let der = otel_pki::pki::certificate::decode_certificates(&fs::read(&path).unwrap(), &name)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let key_path = dir.join(format!("{stem}.key"));
        let key = PrivateKey::from_pem_or_der(&fs::read(&key_path).unwrap(), stem)
            .unwrap_or_else(|error| panic!("{stem}.key: {error}"));
        assert!(
            key.matches_certificate(&der[0]),
            "{stem}.key does not match {name}"
        );
        let (_, parsed) = x509_parser::parse_x509_certificate(&der[0]).unwrap();
        if !stem.starts_with("ca") {
            assert!(
                subjects.contains(&parsed.issuer().as_raw().to_vec()),
                "{name} is not signed by a CA in ca.crt"
            );
            fingerprint.extend_from_slice(&der[0]);
        }
    }
    fingerprint
}

/// The stage `ca rotate` sees, from the files.
fn stage(dir: &Path) -> &'static str {
    match (
        dir.join("ca-next.crt").exists(),
        dir.join("ca-previous.crt").exists(),
    ) {
        (false, false) => "idle",
        (true, false) => "staged",
        (false, true) => "promoted",
        (true, true) => panic!("both ca-next and ca-previous"),
    }
}

/// Kills `args` at random instants around its change, [`KILLS`] times at least, and
/// checks after each kill; `reset` brings the set back to where the command starts (after
/// a rerun that completes it). The phases asserted: killed before the change (the set is
/// as it was), killed after it (the set is the new one).
fn kill_repeatedly(dir: &Path, args: &[&str], reset: &dyn Fn(&Path)) {
    let started = Instant::now();
    let mut random = Random::seeded();
    let seed = random.0;
    let span = (0..3)
        .map(|_| {
            let timer = Instant::now();
            run(dir, args);
            let elapsed = timer.elapsed();
            reset(dir);
            elapsed
        })
        .min()
        .unwrap();
    let mut switch = span.as_micros() as u64 * 9 / 10;
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    let mut kills = 0;
    loop {
        let hits = |outcomes: &std::collections::BTreeMap<&str, usize>, phase| {
            outcomes.get(phase).copied().unwrap_or(0)
        };
        let done = hits(&outcomes, "killed before the change") >= MIN_HITS
            && hits(&outcomes, "killed after the change") >= MIN_HITS;
        if kills >= KILLS && (done || kills >= KILLS + EXTRA_KILLS) {
            break;
        }
        kills += 1;
        let before = check_set(dir);
        let before_stage = stage(dir);
        let mut child = command(dir, args).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(
            switch / 2 + random.below(switch * 4 / 5),
        ));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let status = child.wait().unwrap();
        let after = check_set(dir);
        let changed = after != before || stage(dir) != before_stage;
        let outcome = match (finished, changed) {
            (true, _) => {
                assert!(status.success(), "seed {seed}: {args:?} failed");
                "finished"
            }
            (false, false) => "killed before the change",
            (false, true) => "killed after the change",
        };
        *outcomes.entry(outcome).or_default() += 1;
        switch = if changed {
            switch * 49 / 50
        } else {
            switch * 51 / 50
        };
        // A kill before the change leaves the set where the next kill starts (its run is
        // the rerun); otherwise, and every fourth time anyway, the same command again
        // completes or says it already did.
        if !changed && !finished && kills % 4 != 0 {
            continue;
        }
        let output = command(dir, args).stderr(Stdio::piped()).output().unwrap();
        assert!(
            output.status.success(),
            "seed {seed}: rerun of {args:?} after a kill: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        check_set(dir);
        assert!(
            otel_pki::set::leftovers(dir).is_empty(),
            "seed {seed}: {:?}",
            otel_pki::set::leftovers(dir)
        );
        reset(dir);
    }
    eprintln!(
        "{args:?}: seed {seed}, {kills} kills, a run taking {span:.1?}, in {:.1?}: {outcomes:?}",
        started.elapsed()
    );
    for phase in ["killed before the change", "killed after the change"] {
        let hits = outcomes.get(phase).copied().unwrap_or(0);
        assert!(
            hits >= MIN_HITS,
            "seed {seed}: {args:?}: only {hits} kills in `{phase}` of {kills}: {outcomes:?}"
        );
    }
}

fn fresh_set() -> (tempfile::TempDir, std::path::PathBuf) {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    (work, dir)
}

#[test]
fn init_force_killed_anywhere() {
    let (_work, dir) = fresh_set();
    kill_repeatedly(&dir, &["init", "--force"], &|_| {});
}

#[test]
fn issue_count_killed_anywhere() {
    let (_work, dir) = fresh_set();
    kill_repeatedly(
        &dir,
        &[
            "issue",
            "client",
            "--count",
            "5",
            "--name-prefix",
            "agent-",
            "--force",
        ],
        &|_| {},
    );
}

#[test]
fn renew_killed_anywhere() {
    let (_work, dir) = fresh_set();
    kill_repeatedly(&dir, &["renew", "--all"], &|_| {});
}

#[test]
fn renew_rollback_killed_anywhere() {
    let (_work, dir) = fresh_set();
    run(&dir, &["renew", "--all"]);
    kill_repeatedly(&dir, &["renew", "--rollback"], &|_| {});
}

/// Each stage is undone by `renew --rollback` after its rerun.
fn undo(dir: &Path) {
    run(dir, &["renew", "--rollback"]);
}

#[test]
fn ca_rotate_stage_killed_anywhere() {
    let (_work, dir) = fresh_set();
    kill_repeatedly(&dir, &["ca", "rotate", "--stage"], &undo);
}

#[test]
fn ca_rotate_promote_killed_anywhere() {
    let (_work, dir) = fresh_set();
    run(&dir, &["ca", "rotate", "--stage"]);
    kill_repeatedly(&dir, &["ca", "rotate", "--promote"], &undo);
}

#[test]
fn ca_rotate_finish_killed_anywhere() {
    let (_work, dir) = fresh_set();
    run(&dir, &["ca", "rotate", "--stage"]);
    run(&dir, &["ca", "rotate", "--promote"]);
    kill_repeatedly(&dir, &["ca", "rotate", "--finish"], &undo);
}
