//! `renew --all` killed with SIGKILL at random instants, over and over: afterwards every pair
//! parses and matches, and the whole set is either the old generation or the new one —
//! never the new server certificate with the old client one, never a truncated file — and
//! the next run completes what was left.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otel_pki::pki::PrivateKey;

use crate::support::*;

/// Iterations on one set that has already been renewed once.
const KILLS: usize = 150;
/// Iterations on fresh sets, killing the first renewal (which also moves the set from
/// plain files into the generation layout).
const FIRST_RENEWAL_KILLS: usize = 20;
/// The phases a kill must have landed in, each at least [`MIN_HITS`] times: while a
/// generation is being built, after it is built but before the switch, with a pending
/// backup (before or just after the switch), before the switch and after it.
const PHASES: [&str; 5] = [
    "a half-built generation",
    "a complete generation never switched to",
    "a pending backup",
    "killed before the switch: old set",
    "killed after the switch: new set",
];
/// The least number of kills in each of [`PHASES`].
const MIN_HITS: usize = 5;
/// Extra kills, at most, to reach [`MIN_HITS`] in every phase on a machine whose timing
/// kept the first [`KILLS`] away from one.
const EXTRA_KILLS: usize = 300;

/// A small xorshift generator; the seed is printed so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

fn renew_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otel-pki"));
    command
        .args(["renew", "--all", "-q", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_PKI_") {
            command.env_remove(&name);
        }
    }
    command
}

/// The bytes of each leaf's certificate and key, read through the paths a Collector uses.
fn snapshot(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    ["ca", "server", "client"]
        .iter()
        .map(|name| {
            let read = |extension: &str| {
                let path = dir.join(format!("{name}.{extension}"));
                fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            };
            (read("crt"), read("key"))
        })
        .collect()
}

/// Checks the invariant and says whether the set is the old one (false) or a new one.
fn check(dir: &Path, before: &[(Vec<u8>, Vec<u8>)]) -> bool {
    let now = snapshot(dir);
    assert_eq!(now[0], before[0], "the CA never changes");
    let ca = certificates(&dir.join("ca.crt"));
    let (_, ca) = x509_parser::parse_x509_certificate(&ca[0]).unwrap();
    let mut changed = Vec::new();
    for (index, name) in ["server", "client"].iter().enumerate() {
        let (certificate, key) = &now[index + 1];
        let der = otel_pki::pki::certificate::decode_certificates(certificate, name)
            .unwrap_or_else(|error| panic!("{name}.crt: {error}"));
        let key = PrivateKey::from_pem_or_der(key, name)
            .unwrap_or_else(|error| panic!("{name}.key: {error}"));
        assert!(
            key.matches_certificate(&der[0]),
            "{name}: key and certificate differ"
        );
        let (_, parsed) = x509_parser::parse_x509_certificate(&der[0]).unwrap();
        assert_eq!(parsed.issuer().as_raw(), ca.subject().as_raw(), "{name}");
        let certificate_changed = certificate != &before[index + 1].0;
        let key_changed = now[index + 1].1 != before[index + 1].1;
        assert_eq!(certificate_changed, key_changed, "{name}");
        changed.push(certificate_changed);
    }
    assert_eq!(
        changed[0], changed[1],
        "server and client must change in the same generation"
    );
    changed[0]
}

/// What a killed run left behind, by kind (before the next run cleans it up).
fn leftovers(dir: &Path) -> Vec<&'static str> {
    let mut found = Vec::new();
    for name in listing(dir) {
        if name.starts_with("..tmp-") {
            found.push("a half-built generation");
        } else if name.starts_with(".otel-pki-link-") {
            found.push("a temporary link");
        } else if !name.starts_with('.') && !dir.join(&name).exists() {
            found.push("a link to a file not in the current generation");
        }
    }
    let current: u64 = fs::read_link(dir.join("..data"))
        .ok()
        .and_then(|target| {
            target
                .to_string_lossy()
                .strip_prefix("..g")?
                .split('-')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    for name in listing(dir) {
        let number: Option<u64> = name
            .strip_prefix("..g")
            .and_then(|rest| rest.split('-').next()?.parse().ok());
        if number.is_some_and(|number| number > current) {
            found.push("a complete generation never switched to");
        }
    }
    if listing(&dir.join("backup"))
        .iter()
        .any(|name| name.starts_with(".pending-"))
    {
        found.push("a pending backup");
    }
    found
}

/// Spawns `renew`, kills it after `delay`; true when it finished before the kill.
fn kill_after(dir: &Path, delay: Duration) -> bool {
    let mut child = renew_command(dir).spawn().unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    finished && status.success()
}

#[test]
fn renew_killed_at_random_points_leaves_the_old_or_the_new_set() {
    let started = Instant::now();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut random = Random(seed);
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir: PathBuf = work.path().join("otel-certs");

    // How long a run takes here (the fastest of five, as other tests share the machine).
    let span = (0..5)
        .map(|_| {
            let timer = Instant::now();
            assert!(renew_command(&dir).status().unwrap().success());
            timer.elapsed()
        })
        .min()
        .unwrap();
    // Kills are spread from half to 1.3 times `switch`, an estimate of when the switch
    // happens that follows the outcomes (later after an old set, earlier after a new one),
    // so they keep landing around the writes even when the machine's speed changes.
    let mut switch = span.as_micros() as u64 * 4 / 5;
    let delay = |random: &mut Random, switch: u64| {
        Duration::from_micros(switch / 2 + random.below(switch * 4 / 5))
    };
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();

    for round in 0..FIRST_RENEWAL_KILLS {
        let fresh = work.path().join(format!("fresh-{round}"));
        init(work.path(), &["--dir", fresh.to_str().unwrap(), "-q"]);
        let before = snapshot(&fresh);
        kill_after(&fresh, delay(&mut random, switch));
        *outcomes.entry("first renewal: killed").or_default() += 1;
        for kind in leftovers(&fresh) {
            *outcomes.entry(kind).or_default() += 1;
        }
        check(&fresh, &before);
        assert!(
            renew_command(&fresh).status().unwrap().success(),
            "seed {seed}"
        );
        assert!(check(&fresh, &before), "a rerun renews");
        assert!(leftovers(&fresh).is_empty(), "seed {seed}");
    }

    let mut kills = 0;
    loop {
        let missing: Vec<&str> = PHASES
            .into_iter()
            .filter(|phase| outcomes.get(phase).copied().unwrap_or(0) < MIN_HITS)
            .collect();
        if kills >= KILLS && (missing.is_empty() || kills >= KILLS + EXTRA_KILLS) {
            break;
        }
        kills += 1;
        // Extra kills aim at what is missing: before the switch (the generation being
        // built or built), or after it.
        let aim = if kills <= KILLS {
            switch
        } else if missing
            .iter()
            .all(|phase| *phase == "killed after the switch: new set")
        {
            switch * 5 / 4
        } else if missing.iter().any(|phase| phase.contains("half-built")) {
            switch * 3 / 4
        } else {
            switch
        };
        let before = snapshot(&dir);
        let finished = kill_after(&dir, delay(&mut random, aim));
        for kind in leftovers(&dir) {
            *outcomes.entry(kind).or_default() += 1;
        }
        let new = check(&dir, &before);
        switch = if new {
            switch * 49 / 50
        } else {
            switch * 51 / 50
        };
        let outcome = match (finished, new) {
            (true, _) => "finished before the kill",
            (false, true) => "killed after the switch: new set",
            (false, false) => "killed before the switch: old set",
        };
        *outcomes.entry(outcome).or_default() += 1;
        if finished {
            assert!(new, "a finished run renewed");
        }
    }

    // A rerun completes whatever was left, and leaves nothing behind.
    let before = snapshot(&dir);
    assert!(renew_command(&dir).status().unwrap().success());
    assert!(check(&dir, &before));
    assert!(leftovers(&dir).is_empty(), "{:?}", listing(&dir));
    set_handshake(&dir, "localhost").unwrap();
    let backups = listing(&dir.join("backup"));
    assert!(
        backups.iter().all(|name| !name.starts_with('.')),
        "{backups:?}"
    );
    otel_pki(work.path())
        .args(["renew", "--rollback", "-q"])
        .assert()
        .success();
    assert_eq!(
        snapshot(&dir),
        before,
        "the newest backup is the last run's"
    );
    eprintln!(
        "seed {seed}: {} kills, a run taking {span:.1?} (switch after about {switch} µs at the end), in {:.1?}: {outcomes:?}",
        kills + FIRST_RENEWAL_KILLS,
        started.elapsed()
    );
    for phase in PHASES {
        let hits = outcomes.get(phase).copied().unwrap_or(0);
        assert!(
            hits >= MIN_HITS,
            "seed {seed}: only {hits} kills landed in the phase `{phase}` in {kills} kills: {outcomes:?}"
        );
    }
}
