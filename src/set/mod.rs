//! A certificate set on disk: which `NAME.crt`/`NAME.key` pairs a directory holds, and the
//! facts about each file that `check`, `lint-config`, `renew` and `k8s` judge (readable,
//! parsed, permissions, encrypted, key matches). Facts, plus the one judgement both
//! `check` and `lint-config` make the same way: who may read a private key
//! ([`judge_key_mode`]). The other verdicts belong to the commands.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pki::certificate;
use crate::pki::key::{self, KeyFile};
use crate::pki::{PkiError, PrivateKey};
use crate::write::{BACKUP_DIR, WriteError, io_error};

pub mod generation;
pub mod lock;
pub mod names;
pub mod renewal;
pub mod rollover;

pub use crate::terminal::shell_word;
pub use lock::Lock;

/// Writes certificates, keys and other files into the set directory `dir`, all or nothing:
/// the one way every command writes into a set.
///
/// Under the set's lock (a no-op when the command already holds it, which also clears what
/// interrupted runs left) whenever certificates or keys are written; as one new generation
/// when the set uses the generation layout, or when `--force` replaces certificates or keys
/// of a plain set (so a crash never leaves a new key beside an old certificate); otherwise
/// through [`crate::write::write_set`]. Keys are never written into a directory its group or
/// others can write.
pub fn write(
    dir: &Path,
    files: &[crate::write::PlannedFile],
    overwrite: crate::write::Overwrite,
) -> Result<crate::write::WriteOutcome, WriteError> {
    let names = || files.iter().map(|file| file.name.as_str());
    let _lock = lock_for(dir, names())?;
    if takes_generation_route(dir, names, overwrite) {
        return generation::write_set(dir, files, overwrite);
    }
    refuse_shared_dir(dir, files.iter().map(|file| file.mode))?;
    crate::write::write_set_journaled(dir, files, overwrite)
}

/// Writes files into the set directory `dir` exactly as [`write`] does, while their
/// contents are still being made: each `(index into files, contents)` sent on `contents`.
/// Where [`write`] would write through [`crate::write::write_set`], the files are staged as
/// they arrive ([`crate::write::write_set_streamed`]), so a fleet's files become durable
/// while later certificates are still being signed; where it would make a new generation,
/// every file is received first and handed to [`write`]. Either way nothing is renamed into
/// place before every file has arrived, and a file that never arrives fails the whole write.
/// The caller must hold no sender while this runs.
pub fn write_streamed(
    dir: &Path,
    files: &[crate::write::FileSlot],
    overwrite: crate::write::Overwrite,
    contents: std::sync::mpsc::Receiver<(usize, Vec<u8>)>,
) -> Result<crate::write::WriteOutcome, WriteError> {
    let names = || files.iter().map(|file| file.name.as_str());
    let _lock = lock_for(dir, names())?;
    if takes_generation_route(dir, names, overwrite) {
        let mut planned: Vec<Option<crate::write::PlannedFile>> = vec![None; files.len()];
        for (index, bytes) in contents {
            if let (Some(slot), Some(file)) = (planned.get_mut(index), files.get(index)) {
                *slot = Some(crate::write::PlannedFile {
                    name: file.name.clone(),
                    contents: bytes,
                    mode: file.mode,
                });
            }
        }
        let planned = planned
            .into_iter()
            .zip(files)
            .map(|(file, slot)| {
                file.ok_or_else(|| WriteError::Io {
                    action: "write",
                    path: dir.join(&slot.name),
                    source: io::Error::other("its contents were never made"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        return write(dir, &planned, overwrite);
    }
    refuse_shared_dir(dir, files.iter().map(|file| file.mode))?;
    crate::write::write_set_streamed(dir, files, overwrite, contents)
}

/// The set's lock, whenever certificates or keys are among the files named.
fn lock_for<'a>(
    dir: &Path,
    mut names: impl Iterator<Item = &'a str>,
) -> Result<Option<Lock>, WriteError> {
    Ok(if names.any(generation::is_managed_name) {
        Some(Lock::acquire_creating(dir)?)
    } else {
        None
    })
}

/// True when [`write`] makes the files one new generation: the set uses the generation
/// layout and every file is a certificate or key, or `--force` replaces certificates or
/// keys of a plain set (so a crash never leaves a new key beside an old certificate).
fn takes_generation_route<'a, I: Iterator<Item = &'a str>>(
    dir: &Path,
    names: impl Fn() -> I,
    overwrite: crate::write::Overwrite,
) -> bool {
    let all_managed = names().next().is_some() && names().all(generation::is_managed_name);
    all_managed
        && (generation::is_generation_layout(dir)
            || (overwrite == crate::write::Overwrite::Replace
                && names().any(|name| dir.join(name).symlink_metadata().is_ok())))
}

/// Keys are never written into a directory its group or others can write.
fn refuse_shared_dir(dir: &Path, mut modes: impl Iterator<Item = u32>) -> Result<(), WriteError> {
    let holds_keys = modes.any(|mode| mode & 0o077 == 0);
    if holds_keys
        && let Ok(metadata) = fs::metadata(dir)
        && let Some(problem) = lock::shared_dir_problem(&metadata)
    {
        return Err(WriteError::SharedDirectory {
            dir: dir.to_owned(),
            problem,
        });
    }
    Ok(())
}

/// Prefix of the temporary files `write` stages (`.otel-pki-XXXXXX.tmp`).
const STAGING_PREFIX: &str = ".otel-pki-";
/// Suffix of the temporary files `write` stages.
const STAGING_SUFFIX: &str = ".tmp";
/// Recovery files of versions before 0.1 (`.otel-pki-restore-NAME`): removed too.
const OLD_RESTORE_PREFIX: &str = ".otel-pki-restore-";

/// What interrupted runs left in `dir`: staged files never renamed into place, temporary
/// links, half-built generations and pending backups. The next writing command removes
/// (or, for a pending backup, completes) them; `check` reports them.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let top = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    let pending = fs::read_dir(dir.join(BACKUP_DIR))
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    for entry in top {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_staging_leftover(&name)
            || generation::is_leftover(&name)
            || crate::write::is_commit_journal(&name)
        {
            found.push(entry.path());
        }
    }
    for entry in pending {
        if generation::is_pending_backup(&entry.file_name().to_string_lossy()) {
            found.push(entry.path());
        }
    }
    found.sort();
    found
}

fn is_staging_leftover(name: &str) -> bool {
    (name.starts_with(STAGING_PREFIX) && name.ends_with(STAGING_SUFFIX))
        || name.starts_with(OLD_RESTORE_PREFIX)
}

/// Completes or undoes what interrupted runs left in `dir` (called with the lock held, so
/// no other writer is at work): the generation layout's repair, then commits of new files
/// cut short are undone, then staged files that were never renamed into place are removed (a killed `issue --count 1000` leaves
/// hundreds, many of them private keys).
pub(crate) fn repair(dir: &Path) -> Result<(), WriteError> {
    generation::repair(dir)?;
    // A commit of new files cut short between two renames: the files it already renamed
    // into place are removed, so the set is as it was before that command and its rerun
    // completes.
    for entry in fs::read_dir(dir)
        .map_err(io_error("list", dir))?
        .filter_map(Result::ok)
    {
        if crate::write::is_commit_journal(&entry.file_name().to_string_lossy()) {
            crate::write::undo_interrupted_commit(dir, &entry.path())?;
        }
    }
    let mut removed = false;
    for entry in fs::read_dir(dir)
        .map_err(io_error("list", dir))?
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry
            .file_type()
            .is_ok_and(|kind| kind.is_file() || kind.is_symlink());
        if is_file && is_staging_leftover(&name) {
            // unlink(2) never follows a link.
            let path = entry.path();
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
            removed = true;
        }
    }
    if removed {
        crate::write::sync_dir(dir)?;
    }
    Ok(())
}

/// One `NAME.crt` in a set directory and the `NAME.key` that should go with it.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Pair {
    /// `NAME`: `ca`, `server`, `client`, or any other issued name.
    pub name: String,
    /// `DIR/NAME.crt`.
    pub certificate: PathBuf,
    /// `DIR/NAME.key` (it may not exist).
    pub key: PathBuf,
}

/// The pairs of a set directory: every `NAME.crt` (hidden files and `backup/` skipped),
/// ordered `ca`, `server`, `client`, then the others by name.
pub fn pairs(dir: &Path) -> io::Result<Vec<Pair>> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".crt")?;
            (!stem.is_empty() && !name.starts_with('.') && name != BACKUP_DIR)
                .then(|| stem.to_owned())
        })
        .collect();
    let rank = |name: &str| match name {
        "ca" => 0,
        "server" => 1,
        "client" => 2,
        _ => 3,
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    Ok(names
        .into_iter()
        .map(|name| Pair {
            certificate: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
            name,
        })
        .collect())
}

/// Reads and decodes every certificate in a file (DER bytes each).
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, PkiError> {
    let display = path.display().to_string();
    let bytes = crate::input::read(path, crate::input::CERTIFICATE_LIMIT, "certificate file")
        .map_err(|error| PkiError::InvalidCertificate {
            path: display.clone(),
            reason: error.reason(),
        })?;
    certificate::decode_certificates(&bytes, &display)
}

/// Facts about a key file.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct KeyFacts {
    /// The file.
    pub path: PathBuf,
    /// It exists.
    pub exists: bool,
    /// Its permission bits (`0o600`), when it exists.
    pub mode: Option<u32>,
    /// The current user could read it.
    pub readable: bool,
    /// Group or others may read it (mode & 0o044).
    pub group_or_other_readable: bool,
    /// PKCS#8 `ENCRYPTED PRIVATE KEY` or legacy encrypted PEM: the Collector cannot read it.
    pub encrypted: bool,
    /// The key matches the certificate it was compared with; `None` when not compared.
    pub matches: Option<bool>,
    /// Why the key could not be read or parsed, if so.
    pub error: Option<String>,
}

/// Examines a key file and, when `certificate_der` is given, whether it matches.
pub fn examine_key(path: &Path, certificate_der: Option<&[u8]>) -> KeyFacts {
    let mut facts = KeyFacts {
        path: path.to_owned(),
        exists: false,
        mode: None,
        readable: false,
        group_or_other_readable: false,
        encrypted: false,
        matches: None,
        error: None,
    };
    let Ok(metadata) = fs::metadata(path) else {
        facts.error = Some("the file does not exist".into());
        return facts;
    };
    facts.exists = true;
    if metadata.is_file() {
        let mode = mode_bits(&metadata);
        facts.mode = Some(mode);
        facts.group_or_other_readable = mode & 0o044 != 0;
    }
    // Bounded, and never a blocking read of a FIFO or device (`check`, `lint-config`).
    let bytes = match crate::input::read(path, crate::input::KEY_LIMIT, "private key") {
        Ok(bytes) => bytes,
        Err(error) => {
            facts.error = Some(error.reason());
            return facts;
        }
    };
    facts.readable = true;
    match key::classify_key_file(&bytes) {
        KeyFile::Encrypted(_) | KeyFile::LegacyEncrypted => facts.encrypted = true,
        _ => match PrivateKey::from_pem_or_der(&bytes, &path.display().to_string()) {
            Ok(key) => facts.matches = certificate_der.map(|der| key.matches_certificate(der)),
            Err(error) => facts.error = Some(error.to_string()),
        },
    }
    facts
}

/// Who may read a private key besides its owner.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyReaders {
    /// Its owner only (no read bit for group or others).
    Owner,
    /// Its owner and its group (`0640`, `0440`).
    Group,
    /// Every user (a read bit for others).
    Everyone,
}

impl KeyReaders {
    /// From permission bits.
    pub fn of(mode: u32) -> Self {
        if mode & 0o004 != 0 {
            KeyReaders::Everyone
        } else if mode & 0o040 != 0 {
            KeyReaders::Group
        } else {
            KeyReaders::Owner
        }
    }
}

/// How bad a key's permissions are: `check` prints PASS, WARN or FAIL from it; `lint-config`
/// reports anything but [`Verdict::Ok`] under its `key-permissions` rule.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Right in one deployment, wrong elsewhere: say so.
    Warn,
    /// Insecure.
    Fail,
}

/// The judgement on a private key's permission bits.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct KeyModeJudgement {
    /// Who may read it.
    pub readers: KeyReaders,
    /// How bad that is.
    pub verdict: Verdict,
    /// What was found, starting with the mode: `mode 0644: every user can read the private
    /// key`.
    pub message: String,
    /// The command that keeps the key to its owner, when the verdict is not `Ok`.
    pub command: Option<String>,
    /// When the command applies (a group-readable leaf key is right when the group is the
    /// Collector's).
    pub condition: Option<&'static str>,
}

impl KeyModeJudgement {
    /// The fix as one line; `quote` puts the command in backticks (lint-config's style).
    pub fn fix(&self, quote: bool) -> Option<String> {
        let command = self.command.as_deref()?;
        let command = if quote {
            format!("`{command}`")
        } else {
            command.to_owned()
        };
        Some(match self.condition {
            Some(condition) => format!("{command} {condition}"),
            None => command,
        })
    }
}

/// Judges a private key's mode — the one rule `check` and `lint-config` share:
///
/// - readable by others: `Fail`, every user on the machine can read it;
/// - readable by its group only: `Warn` for a leaf key — that is how a Collector reads its
///   key in a Kubernetes pod (`defaultMode: 0440` with `fsGroup`, as `k8s deployment`
///   mounts it) or under a service group (`chmod 640`, kept across renewals), and wrong
///   anywhere else; `Fail` for a CA key (`is_ca`), which no Collector reads;
/// - owner only: `Ok`.
pub fn judge_key_mode(mode: u32, path: &Path, is_ca: bool) -> KeyModeJudgement {
    let readers = KeyReaders::of(mode);
    let command = Some(format!(
        "chmod 600 {}",
        shell_word(&path.display().to_string())
    ));
    match readers {
        KeyReaders::Owner => KeyModeJudgement {
            readers,
            verdict: Verdict::Ok,
            message: format!("mode {mode:04o}"),
            command: None,
            condition: None,
        },
        KeyReaders::Everyone => KeyModeJudgement {
            readers,
            verdict: Verdict::Fail,
            message: format!("mode {mode:04o}: every user can read the private key"),
            command,
            condition: None,
        },
        KeyReaders::Group if is_ca => KeyModeJudgement {
            readers,
            verdict: Verdict::Fail,
            message: format!(
                "mode {mode:04o}: members of its group can read the CA key, which no Collector needs, and sign certificates every peer trusts"
            ),
            command,
            condition: None,
        },
        KeyReaders::Group => KeyModeJudgement {
            readers,
            verdict: Verdict::Warn,
            message: format!(
                "mode {mode:04o}: members of its group can read the private key; right when that group is the Collector's (a Kubernetes pod's fsGroup with defaultMode 0440, or a `chmod 640` for the Collector's service group), wrong anywhere else"
            ),
            command,
            condition: Some("unless its group is the Collector's"),
        },
    }
}

/// The command that decrypts a key in place for the Collector (it has no passphrase
/// option): the plaintext file is created under `umask 077`, so it is 0600 from the start,
/// and replaces the encrypted one. `openssl` asks for the passphrase.
pub fn decrypt_key_command(path: &Path) -> String {
    let key = shell_word(&path.display().to_string());
    let plain = shell_word(&format!("{}.plain", path.display()));
    format!("(umask 077 && openssl pkey -in {key} -out {plain} && mv {plain} {key})")
}

/// The permission bits of a file (symbolic links followed), if it exists.
pub fn mode(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().map(|metadata| mode_bits(&metadata))
}

fn mode_bits(metadata: &fs::Metadata) -> u32 {
    metadata.permissions().mode() & 0o7777
}

/// True when others may write to `dir` (anyone could swap the files).
pub fn world_writable(dir: &Path) -> bool {
    mode(dir).is_some_and(|mode| mode & 0o002 != 0)
}

/// ` --dir DIR` for a suggested command, unless DIR is the default `./otel-certs`.
pub fn dir_flag(dir: &Path) -> String {
    if dir == Path::new("./otel-certs") || dir == Path::new("otel-certs") {
        String::new()
    } else {
        format!(" --dir {}", shell_word(&dir.display().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::KeyType;

    #[test]
    fn pairs_are_ordered_and_skip_backups_and_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "zeta.crt",
            "client.crt",
            "ca.crt",
            "server.crt",
            "alpha.crt",
            ".tmp.crt",
            "x.key",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        fs::create_dir(dir.path().join(BACKUP_DIR)).unwrap();
        let names: Vec<String> = pairs(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["ca", "server", "client", "alpha", "zeta"]);
    }

    #[test]
    fn key_facts_cover_mode_encryption_and_match() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let path = dir.path().join("a.key");
        fs::write(&path, key.to_pkcs8_pem()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let facts = examine_key(&path, None);
        assert!(facts.exists && facts.readable && facts.group_or_other_readable);
        assert_eq!(facts.mode, Some(0o644));
        assert_eq!(facts.matches, None);
        assert!(!facts.encrypted);
        let missing = examine_key(&dir.path().join("none.key"), None);
        assert!(!missing.exists && missing.error.is_some());
    }

    #[test]
    fn key_modes_others_fail_group_warns_for_leaves_only() {
        let path = Path::new("./otel-certs/client.key");
        let judge = |mode, is_ca| judge_key_mode(mode, path, is_ca);
        assert_eq!(judge(0o600, false).verdict, Verdict::Ok);
        assert_eq!(judge(0o400, true).fix(false), None);
        let everyone = judge(0o644, false);
        assert_eq!(everyone.verdict, Verdict::Fail);
        assert_eq!(
            everyone.message,
            "mode 0644: every user can read the private key"
        );
        assert_eq!(
            everyone.fix(false).as_deref(),
            Some("chmod 600 ./otel-certs/client.key")
        );
        assert_eq!(judge(0o604, false).readers, KeyReaders::Everyone);
        let pod = judge(0o440, false);
        assert_eq!(
            (pod.readers, pod.verdict),
            (KeyReaders::Group, Verdict::Warn)
        );
        assert!(pod.message.contains("fsGroup"), "{}", pod.message);
        assert_eq!(
            pod.fix(true).as_deref(),
            Some("`chmod 600 ./otel-certs/client.key` unless its group is the Collector's")
        );
        assert_eq!(judge(0o640, true).verdict, Verdict::Fail);
    }

    #[test]
    fn suggested_commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_word("otel-collector"), "otel-collector");
        assert_eq!(shell_word("OTel Telemetry CA"), "'OTel Telemetry CA'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(dir_flag(Path::new("./otel-certs")), "");
        assert_eq!(
            dir_flag(Path::new("/etc/otel tls")),
            " --dir '/etc/otel tls'"
        );
        assert_eq!(
            decrypt_key_command(Path::new("certs/a.key")),
            "(umask 077 && openssl pkey -in certs/a.key -out certs/a.key.plain && mv certs/a.key.plain certs/a.key)"
        );
    }
}
