//! Where a set is in a CA rollover (`ca rotate`): the stage lives in the set itself —
//! `ca-next.crt`/`.key` exist after `--stage`, `ca-previous.crt`/`.key` after `--promote` —
//! so it travels with the files and cannot disagree with them.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::names::{NEXT_CERT, NEXT_KEY, PREVIOUS_CERT, PREVIOUS_KEY, ROLLOVER_FILES};

/// Where a set is in a CA rollover.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No rollover in progress: one CA.
    Idle,
    /// `--stage` ran: the next CA exists and is trusted, the old one still signs.
    Staged,
    /// `--promote` ran: the new CA signs, the old one is still trusted.
    Promoted,
}

impl Stage {
    /// `idle`, `staged` or `promoted`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Idle => "idle",
            Stage::Staged => "staged",
            Stage::Promoted => "promoted",
        }
    }
}

/// The stage of the rollover, from the files present in `dir`.
pub fn stage_of(dir: &Path) -> Result<Stage> {
    stage_from(|name| dir.join(name).is_file()).ok_or_else(|| {
        anyhow::anyhow!(
            "`{}` is in no consistent rollover stage ({NEXT_CERT}/{NEXT_KEY} and {PREVIOUS_CERT}/{PREVIOUS_KEY} must exist in pairs, and not both); restore it with `otel-pki renew --rollback --dir {}`",
            dir.display(),
            dir.display()
        )
    })
}

/// The stage from which of the rollover's files are `present` (no I/O); `None` when they
/// are in no consistent stage.
pub fn stage_from(present: impl Fn(&str) -> bool) -> Option<Stage> {
    let next = (present(NEXT_CERT), present(NEXT_KEY));
    let previous = (present(PREVIOUS_CERT), present(PREVIOUS_KEY));
    match (next, previous) {
        ((false, false), (false, false)) => Some(Stage::Idle),
        ((true, true), (false, false)) => Some(Stage::Staged),
        ((false, false), (true, true)) => Some(Stage::Promoted),
        _ => None,
    }
}

/// The files of a CA rollover in a set directory.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Rollover {
    /// The stage the files say the set is in; `None` when they are in no consistent stage
    /// (e.g. `ca-next.crt` without `ca-next.key`).
    pub stage: Option<Stage>,
    /// The names of the files `ca rotate` made that exist in the set: `ca-next.crt` and
    /// `.key` (staged), `ca-previous.crt` and `.key` (promoted), and `ca-bundle.crt`, which
    /// holds what `ca.crt` holds from `--stage` on, and still after `--finish`.
    pub files: Vec<String>,
}

impl Rollover {
    /// True while a rollover is under way (staged, promoted, or inconsistent): the files
    /// belong to the current CA, and replacing `ca.crt` or `ca.key` leaves them behind.
    pub fn in_progress(&self) -> bool {
        self.stage != Some(Stage::Idle)
    }
}

/// What `ca rotate` left in `dir`, for commands that replace the CA (`init --force`): a
/// rollover they leave behind would continue with files from a CA that is gone.
pub fn rollover(dir: &Path) -> Rollover {
    Rollover {
        stage: stage_of(dir).ok(),
        files: ROLLOVER_FILES
            .into_iter()
            .filter(|name| dir.join(name).symlink_metadata().is_ok())
            .map(str::to_owned)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_follows_the_files_and_half_pairs_are_no_stage() {
        let of = |names: &[&str]| stage_from(|name| names.contains(&name));
        assert_eq!(of(&[]), Some(Stage::Idle));
        assert_eq!(of(&["ca-bundle.crt"]), Some(Stage::Idle));
        assert_eq!(of(&[NEXT_CERT, NEXT_KEY]), Some(Stage::Staged));
        assert_eq!(of(&[PREVIOUS_CERT, PREVIOUS_KEY]), Some(Stage::Promoted));
        assert_eq!(of(&[NEXT_CERT]), None);
        assert_eq!(
            of(&[NEXT_CERT, NEXT_KEY, PREVIOUS_CERT, PREVIOUS_KEY]),
            None
        );
        let in_progress = |stage| {
            Rollover {
                stage,
                files: vec![],
            }
            .in_progress()
        };
        assert!(!in_progress(Some(Stage::Idle)));
        assert!(in_progress(Some(Stage::Staged)));
        assert!(in_progress(None));
    }
}
