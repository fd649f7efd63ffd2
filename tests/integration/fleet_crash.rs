//! `issue client --count N` into a set that has none of its names, killed with SIGKILL at
//! random instants. This path stages each key and certificate while later ones are still
//! being signed (`set::write_streamed`), then renames them into place under a commit
//! journal: after a kill the fleet is all there, or not there at all, or cut short between
//! two renames with the journal that lets the next writer undo it; every key matches its
//! certificate; and the rerun completes, removing what the kill left. (`set_crash` covers `--count --force`, which replaces files through a
//! new generation.)

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::set_crash::{Random, check_set, command, run};
use crate::support::*;

/// Kills, at least.
const KILLS: usize = 30;
/// Kills, at most, to see one land while files were being staged.
const MAX_KILLS: usize = 90;
const COUNT: usize = 200;
const ARGS: [&str; 6] = [
    "issue",
    "client",
    "--count",
    "200",
    "--name-prefix",
    "agent-",
];

fn fleet_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|name| name.starts_with("agent-"))
        .collect()
}

fn remove_fleet(dir: &Path) {
    for name in fleet_files(dir) {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
}

#[test]
fn a_new_fleet_killed_anywhere_is_all_there_or_not_at_all() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let span = (0..3)
        .map(|_| {
            let timer = Instant::now();
            run(&dir, &ARGS);
            let elapsed = timer.elapsed();
            assert_eq!(fleet_files(&dir).len(), 2 * COUNT);
            remove_fleet(&dir);
            elapsed
        })
        .min()
        .unwrap();
    let mut random = Random::seeded();
    let seed = random.0;
    let mut outcomes = BTreeMap::<&str, usize>::new();
    for kill in 1..=MAX_KILLS {
        let mut child = command(&dir, &ARGS).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(
            random.below(span.as_micros() as u64 * 13 / 10),
        ));
        let _ = child.kill();
        let status = child.wait().unwrap();
        check_set(&dir);
        let files = fleet_files(&dir).len();
        let leftovers = otel_pki::set::leftovers(&dir);
        let journaled = leftovers.iter().any(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(".otel-pki-commit-"))
        });
        assert!(
            files == 0 || files == 2 * COUNT || journaled,
            "seed {seed}: {files} of the fleet's {} files after a kill, and no commit journal: {leftovers:?}",
            2 * COUNT
        );
        let outcome = match (status.success(), files, leftovers.is_empty()) {
            (true, _, _) => "finished",
            (false, 0, false) => "killed while staging",
            (false, 0, true) => "killed before staging",
            (false, files, _) if files < 2 * COUNT => "killed between two renames",
            (false, _, _) => "killed after the fleet was written",
        };
        *outcomes.entry(outcome).or_default() += 1;
        // The same command again completes: its lock undoes a commit cut short and removes
        // what the kill staged.
        if journaled || (files == 0 && kill % 3 == 0) {
            run(&dir, &ARGS);
            assert_eq!(fleet_files(&dir).len(), 2 * COUNT, "seed {seed}");
            check_set(&dir);
            assert!(
                otel_pki::set::leftovers(&dir).is_empty(),
                "seed {seed}: {:?}",
                otel_pki::set::leftovers(&dir)
            );
        }
        remove_fleet(&dir);
        if kill >= KILLS && outcomes.contains_key("killed while staging") {
            break;
        }
    }
    eprintln!("seed {seed}, a run taking {span:.1?}: {outcomes:?}");
    assert!(
        outcomes.contains_key("killed while staging"),
        "seed {seed}: no kill landed while files were staged: {outcomes:?}"
    );
}
