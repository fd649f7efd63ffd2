//! Writing files safely. Keys are secrets: every file is created under a temporary name in
//! the target directory with mode 0600 from the first byte, written, given its final mode,
//! fsynced, and renamed into place; a set of files is committed all-or-nothing; an existing
//! file is never replaced without `--force`, and then its previous version is kept under
//! `DIR/backup/<UTC timestamp>/` first.

use std::fs::{self, File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tempfile::TempPath;
use time::OffsetDateTime;

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate and configuration files.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of directories otel-pki creates for keys (others get 0755).
pub const DIR_MODE: u32 = 0o700;
/// Name of the directory, inside a set, that keeps replaced files.
pub const BACKUP_DIR: &str = "backup";

/// What to do when a target file already exists.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Overwrite {
    /// Refuse: the existing file is an error and nothing is written (the default).
    Refuse,
    /// Replace (`--force`): move the old file to the backup directory first.
    Replace,
}

impl Overwrite {
    /// `Replace` when `force` is set.
    pub fn from_force(force: bool) -> Self {
        if force {
            Overwrite::Replace
        } else {
            Overwrite::Refuse
        }
    }
}

/// One file to write.
#[derive(Clone)]
pub struct PlannedFile {
    /// File name inside the target directory, e.g. `server.key`.
    pub name: String,
    /// Contents.
    pub contents: Vec<u8>,
    /// Final mode, e.g. [`KEY_MODE`].
    pub mode: u32,
}

impl std::fmt::Debug for PlannedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Contents may be a private key: never print them.
        f.debug_struct("PlannedFile")
            .field("name", &self.name)
            .field("mode", &format_args!("{:o}", self.mode))
            .finish_non_exhaustive()
    }
}

impl PlannedFile {
    /// A private key file (mode 0600).
    pub fn key(name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        PlannedFile {
            name: name.into(),
            contents: contents.into(),
            mode: KEY_MODE,
        }
    }

    /// A certificate or other public file (mode 0644).
    pub fn public(name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        PlannedFile {
            name: name.into(),
            contents: contents.into(),
            mode: PUBLIC_MODE,
        }
    }
}

/// A file of a set whose contents are still being made when the write starts (see
/// [`write_set_streamed`]): its name and final mode.
#[derive(Clone, Debug)]
pub struct FileSlot {
    /// File name inside the target directory, e.g. `agent-001.key`.
    pub name: String,
    /// Final mode, e.g. [`KEY_MODE`].
    pub mode: u32,
}

/// A file that was written.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct WrittenFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its mode, as an octal string such as `"0600"`.
    pub mode: String,
    /// True when it replaced an existing file (whose previous version is in the backup).
    pub replaced: bool,
}

/// The result of writing a set of files.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct WriteOutcome {
    /// The files, in the order given.
    pub files: Vec<WrittenFile>,
    /// Where replaced files went, when any were replaced.
    pub backup_dir: Option<PathBuf>,
}

/// Errors from writing. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Targets exist and `--force` was not given.
    #[error("{} already exist{}; nothing was written: use --force to replace {} (the old version is kept in `{}/{BACKUP_DIR}/`)", list(.paths), if .paths.len() == 1 { "s" } else { "" }, if .paths.len() == 1 { "it" } else { "them" }, .dir.display())]
    Exists {
        /// The directory.
        dir: PathBuf,
        /// The existing files.
        paths: Vec<PathBuf>,
    },

    /// An I/O operation failed.
    #[error("could not {action} `{}`: {source}{}", .path.display(), hint(.source))]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// The target directory path is a file.
    #[error("`{}` exists and is not a directory; choose another directory", .0.display())]
    NotADirectory(PathBuf),

    /// Another writer holds the set's lock and did not finish in time.
    #[error("`{}` is locked by another otel-pki command writing to it: {holder}; gave up after waiting {}s: run this again when it has finished, or wait longer with --lock-timeout", .dir.display(), .waited.as_secs())]
    Locked {
        /// The set directory.
        dir: PathBuf,
        /// Who holds the lock, as it recorded itself.
        holder: String,
        /// How long this command waited.
        waited: std::time::Duration,
    },

    /// Keys would be written into a directory others may write to.
    #[error("refusing to write keys into `{}` ({problem}): anyone who can write there can replace certificates or plant links beside the keys; run `chmod go-w {}` (or choose another directory)", .dir.display(), crate::terminal::shell_word(&.dir.display().to_string()))]
    SharedDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its mode and who may write to it.
        problem: String,
    },
}

/// The paths in backticks; a long list (a fleet of certificates) is cut after a few.
fn list(paths: &[PathBuf]) -> String {
    const SHOWN: usize = 6;
    let mut shown: Vec<String> = paths
        .iter()
        .take(if paths.len() > SHOWN {
            SHOWN - 1
        } else {
            SHOWN
        })
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if paths.len() > SHOWN {
        shown.push(format!("and {} more files", paths.len() - (SHOWN - 1)));
    }
    shown.join(", ")
}

fn hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::PermissionDenied => " (check its permissions, or choose another directory)",
        io::ErrorKind::ReadOnlyFilesystem => {
            " (the file system is read-only: choose another directory)"
        }
        io::ErrorKind::StorageFull => " (the disk is full)",
        _ => "",
    }
}

/// Wraps an I/O error with what was being done to which file.
pub(crate) fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// Returns the files among `names` that already exist in `dir` (a cheap early check so a
/// command can refuse before doing expensive work; [`write_set`] checks again atomically).
pub fn existing(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.symlink_metadata().is_ok())
        .collect()
}

/// Writes one file atomically (see [`write_set`]).
pub fn write_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    overwrite: Overwrite,
) -> Result<WriteOutcome, WriteError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| WriteError::NotADirectory(path.to_owned()))?;
    write_set(
        dir,
        &[PlannedFile {
            name,
            contents: contents.to_vec(),
            mode,
        }],
        overwrite,
    )
}

/// Writes `files` into `dir` all-or-nothing.
///
/// 1. `dir` is created (mode 0700) if missing.
/// 2. With [`Overwrite::Refuse`], any existing target is an error before anything is
///    written.
/// 3. Each file is staged as a temporary file in `dir` (so the final rename is atomic),
///    created 0600, written, set to its final mode and fsynced — by several threads for
///    large sets, since concurrent fsyncs share the file system's journal commits. Nothing
///    is renamed into place before every file is durable.
/// 4. With [`Overwrite::Replace`], existing targets are first linked (or copied, keeping
///    their mode) into `dir/backup/<UTC timestamp>/`; the live file is never missing.
/// 5. Every staged file is renamed into place (no-clobber with `Refuse`), then `dir` is
///    fsynced. If any step fails, files already renamed are rolled back and created
///    directories removed, so the directory is as it was.
///
/// This knows nothing of sets: files of a certificate set are written through
/// [`crate::set::write`], which takes the set's lock and chooses the layout.
pub fn write_set(
    dir: &Path,
    files: &[PlannedFile],
    overwrite: Overwrite,
) -> Result<WriteOutcome, WriteError> {
    write_set_with(dir, files, overwrite, Journal::None)
}

/// [`write_set`] for a certificate set, whose writers hold its lock: several new files
/// are renamed into place under a commit journal ([`Journal`]), so that a kill between two
/// renames is undone by the next writer ([`undo_interrupted_commit`]) instead of leaving
/// part of the files.
pub(crate) fn write_set_journaled(
    dir: &Path,
    files: &[PlannedFile],
    overwrite: Overwrite,
) -> Result<WriteOutcome, WriteError> {
    write_set_with(dir, files, overwrite, Journal::Write)
}

fn write_set_with(
    dir: &Path,
    files: &[PlannedFile],
    overwrite: Overwrite,
    journal: Journal,
) -> Result<WriteOutcome, WriteError> {
    in_dir(dir, files.iter().map(|file| file.mode), || {
        write_set_in(dir, files, overwrite, journal)
    })
}

/// Runs `write` in `dir`, creating `dir` and its missing parents first and removing the
/// ones it created when `write` fails. A directory created for keys (a mode in `modes`
/// with no group or other bits) is private; one for configuration or manual pages is not (a
/// Collector's service account must read its configuration).
fn in_dir<T>(
    dir: &Path,
    mut modes: impl Iterator<Item = u32>,
    write: impl FnOnce() -> Result<T, WriteError>,
) -> Result<T, WriteError> {
    let holds_keys = modes.any(|mode| mode & 0o077 == 0);
    let created_dirs = ensure_dir(dir, if holds_keys { DIR_MODE } else { 0o755 })?;
    let result = write();
    if result.is_err() {
        for created in created_dirs.iter().rev() {
            let _ = fs::remove_dir(created);
        }
    }
    result
}

fn write_set_in(
    dir: &Path,
    files: &[PlannedFile],
    overwrite: Overwrite,
    journal: Journal,
) -> Result<WriteOutcome, WriteError> {
    let targets: Vec<PathBuf> = files.iter().map(|file| dir.join(&file.name)).collect();
    let existing = existing_targets(dir, &targets, overwrite)?;
    let staged = stage_all(dir, files, &targets)?;
    let modes: Vec<u32> = files.iter().map(|file| file.mode).collect();
    commit(dir, staged, &targets, &modes, &existing, journal)
}

/// Writes files into `dir` all-or-nothing, like [`write_set`], while their contents are
/// still being made (a fleet's keys and certificates, signed on every core): `files` names
/// them and their modes up front, so `dir` is created and existing targets are refused
/// before anything is staged; each `(index into files, contents)` received from `contents`
/// is staged at once, as [`write_set`] stages (created 0600, written, given its mode,
/// fsynced, closed), by [`STAGING_THREADS`] threads. When every sender is dropped and every
/// file arrived exactly once, the backups, renames and directory fsync follow exactly as in
/// [`write_set`]; otherwise, or when staging fails, the staged files are removed and nothing
/// is renamed. Senders see the receiver gone (and should stop) when the write failed early.
///
/// The new files are renamed into place under a commit journal, as
/// [`write_set_journaled`] does: this is for a set, whose writers hold its lock.
///
/// The caller must not hold a sender itself while this runs: the end of the contents is the
/// channel closing.
pub fn write_set_streamed(
    dir: &Path,
    files: &[FileSlot],
    overwrite: Overwrite,
    contents: std::sync::mpsc::Receiver<(usize, Vec<u8>)>,
) -> Result<WriteOutcome, WriteError> {
    in_dir(dir, files.iter().map(|file| file.mode), || {
        let targets: Vec<PathBuf> = files.iter().map(|file| dir.join(&file.name)).collect();
        let existing = existing_targets(dir, &targets, overwrite)?;
        let staged = stage_streamed(dir, files, &targets, contents)?;
        let modes: Vec<u32> = files.iter().map(|file| file.mode).collect();
        commit(dir, staged, &targets, &modes, &existing, Journal::Write)
    })
}

/// The targets that exist already; with [`Overwrite::Refuse`], any is an error.
fn existing_targets(
    dir: &Path,
    targets: &[PathBuf],
    overwrite: Overwrite,
) -> Result<Vec<PathBuf>, WriteError> {
    let existing: Vec<PathBuf> = targets
        .iter()
        .filter(|path| path.symlink_metadata().is_ok())
        .cloned()
        .collect();
    if overwrite == Overwrite::Refuse && !existing.is_empty() {
        return Err(WriteError::Exists {
            dir: dir.to_owned(),
            paths: existing,
        });
    }
    Ok(existing)
}

/// Whether a commit of several new files keeps a journal (see [`write_set_journaled`]).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Journal {
    None,
    Write,
}

/// Journals of commits: `.otel-pki-commit-XXXXXX.journal`, one line `INODE NAME` per new
/// file, written and made durable before the first rename and removed (durably) after the
/// last one. A journal that is still there names the files of a commit that was cut short.
const JOURNAL_PREFIX: &str = ".otel-pki-commit-";
const JOURNAL_SUFFIX: &str = ".journal";

/// True for the name of a commit journal.
pub(crate) fn is_commit_journal(name: &str) -> bool {
    name.starts_with(JOURNAL_PREFIX) && name.ends_with(JOURNAL_SUFFIX)
}

/// Writes the journal of a commit of `new` (staged file, target) pairs; `None` when there
/// are fewer than two (one rename is atomic by itself).
fn begin_journal(
    dir: &Path,
    new: &[(&TempPath, &PathBuf)],
) -> Result<Option<TempPath>, WriteError> {
    use std::os::unix::fs::MetadataExt as _;
    if new.len() < 2 {
        return Ok(None);
    }
    let mut text = String::new();
    for (temp, target) in new {
        let inode = fs::symlink_metadata(temp)
            .map_err(io_error("read", target))?
            .ino();
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        text.push_str(&format!("{inode} {name}\n"));
    }
    let mut journal = tempfile::Builder::new()
        .prefix(JOURNAL_PREFIX)
        .suffix(JOURNAL_SUFFIX)
        .permissions(Permissions::from_mode(KEY_MODE))
        .tempfile_in(dir)
        .map_err(io_error("create a file in", dir))?;
    journal
        .write_all(text.as_bytes())
        .map_err(io_error("write", journal.path()))?;
    journal
        .as_file()
        .sync_all()
        .map_err(io_error("sync", journal.path()))?;
    let journal = journal.into_temp_path();
    sync_dir(dir)?;
    Ok(Some(journal))
}

/// Undoes the commit whose journal is `journal` (under the set's lock, before anything else
/// is written): removes each file it names that is still the very file the commit renamed
/// there (same inode; anything else is left alone), then the journal. A journal that is not
/// a regular file owned by this user is removed and nothing else.
pub(crate) fn undo_interrupted_commit(dir: &Path, journal: &Path) -> Result<(), WriteError> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = journal
        .symlink_metadata()
        .map_err(io_error("read", journal))?;
    let ours = metadata.is_file() && metadata.uid() == rustix::process::geteuid().as_raw();
    if ours {
        let text = crate::input::read_to_string(journal, crate::input::KEY_LIMIT, "commit journal")
            .unwrap_or_default();
        for line in text.lines() {
            let Some((inode, name)) = line.split_once(' ') else {
                continue;
            };
            let plain = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
            let Ok(inode) = inode.parse::<u64>() else {
                continue;
            };
            let path = dir.join(name);
            if plain
                && path
                    .symlink_metadata()
                    .is_ok_and(|found| found.is_file() && found.ino() == inode)
            {
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
            }
        }
    }
    fs::remove_file(journal).map_err(io_error("remove", journal))?;
    sync_dir(dir)
}

/// Steps 4 and 5 of [`write_set`] once every file is staged: backups of `existing`, the
/// renames (rolled back on failure), the directory fsync; with [`Journal::Write`], the
/// renames of new files are journaled.
fn commit(
    dir: &Path,
    staged: Vec<TempPath>,
    targets: &[PathBuf],
    modes: &[u32],
    existing: &[PathBuf],
    journal: Journal,
) -> Result<WriteOutcome, WriteError> {
    let backup_dir = if existing.is_empty() {
        None
    } else {
        Some(backup(dir, existing)?)
    };
    let journal = match journal {
        Journal::None => None,
        Journal::Write => {
            let new: Vec<(&TempPath, &PathBuf)> = staged
                .iter()
                .zip(targets)
                .filter(|(_, target)| !existing.contains(target))
                .collect();
            begin_journal(dir, &new)?
        }
    };

    let mut committed: Vec<(PathBuf, bool)> = Vec::with_capacity(targets.len());
    for (temp, target) in staged.into_iter().zip(targets) {
        let replaced = existing.contains(target);
        let result = if replaced {
            temp.persist(target)
        } else {
            temp.persist_noclobber(target)
        };
        if let Err(error) = result {
            rollback(&committed, backup_dir.as_deref());
            // The journal (a TempPath) removes itself when dropped.
            return Err(WriteError::Io {
                action: "write",
                path: target.clone(),
                source: error.error,
            });
        }
        committed.push((target.clone(), replaced));
    }
    sync_dir(dir)?;
    if let Some(journal) = journal {
        // Every file is in place and durable: the journal goes, durably, before success
        // is reported (a journal that outlived a finished commit would undo it).
        let path = journal.to_path_buf();
        journal.close().map_err(io_error("remove", &path))?;
        sync_dir(dir)?;
    }

    Ok(WriteOutcome {
        files: committed
            .into_iter()
            .zip(modes)
            .map(|((path, replaced), mode)| WrittenFile {
                path,
                mode: format!("{mode:04o}"),
                replaced,
            })
            .collect(),
        backup_dir,
    })
}

/// Creates `dir` and missing parents with `mode`; returns the directories it created (a
/// name that exists, even as a dangling link, is never created over).
pub(crate) fn ensure_dir(dir: &Path, mode: u32) -> Result<Vec<PathBuf>, WriteError> {
    match dir.metadata() {
        Ok(metadata) if metadata.is_dir() => return Ok(Vec::new()),
        Ok(_) => return Err(WriteError::NotADirectory(dir.to_owned())),
        Err(_) => {}
    }
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        if path.as_os_str().is_empty() || path.symlink_metadata().is_ok() {
            break;
        }
        missing.push(path.to_owned());
        current = path.parent();
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(io_error("create directory", dir))?;
    missing.reverse();
    Ok(missing)
}

/// Sets of at least this many files are staged by several threads (one per file up to
/// [`STAGING_THREADS`]): even `init`'s six files become durable about twice as fast when
/// their fsyncs overlap (6.2 ms -> 3.8 ms for the whole command, see BENCHMARKS.md).
const PARALLEL_STAGING_MIN_FILES: usize = 2;
/// Threads staging a large set. Staging is dominated by fsync, which waits for the disk,
/// not the CPU: concurrent fsyncs on one file system share journal commits, so many more
/// threads than cores help (1,000 certificates and keys: see BENCHMARKS.md).
const STAGING_THREADS: usize = 32;

/// Stages every file (see [`stage`]); a large set (a fleet of client certificates) is
/// staged by [`STAGING_THREADS`] threads. On error, the temporary files already staged are
/// removed when dropped.
fn stage_all(
    dir: &Path,
    files: &[PlannedFile],
    targets: &[PathBuf],
) -> Result<Vec<TempPath>, WriteError> {
    if files.len() < PARALLEL_STAGING_MIN_FILES {
        return files
            .iter()
            .zip(targets)
            .map(|(file, target)| stage(dir, &file.contents, file.mode, target))
            .collect();
    }
    let chunk = files.len().div_ceil(STAGING_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .zip(targets.chunks(chunk))
            .map(|(files, targets)| {
                scope.spawn(move || {
                    files
                        .iter()
                        .zip(targets)
                        .map(|(file, target)| stage(dir, &file.contents, file.mode, target))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut staged = Vec::with_capacity(files.len());
        let mut first_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(paths)) => staged.extend(paths),
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(_) => {
                    first_error.get_or_insert(WriteError::Io {
                        action: "write a file in",
                        path: dir.to_owned(),
                        source: io::Error::other("a staging thread panicked"),
                    });
                }
            }
        }
        match first_error {
            None => Ok(staged),
            Some(error) => Err(error),
        }
    })
}

/// Stages files as their contents arrive (see [`write_set_streamed`]): [`STAGING_THREADS`]
/// threads take `(index, contents)` from the channel in turn until it closes or one of them
/// fails. Returns the staged files in the order of `files`, or an error (the files already
/// staged are removed when dropped) when staging failed or a file did not arrive exactly
/// once.
fn stage_streamed(
    dir: &Path,
    files: &[FileSlot],
    targets: &[PathBuf],
    contents: std::sync::mpsc::Receiver<(usize, Vec<u8>)>,
) -> Result<Vec<TempPath>, WriteError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let contents = std::sync::Mutex::new(contents);
    let failed = AtomicBool::new(false);
    let misfiled = |index: usize, problem: &str| WriteError::Io {
        action: "write a file in",
        path: dir.to_owned(),
        source: io::Error::other(format!("file #{index} of the set {problem}")),
    };
    let threads = STAGING_THREADS.clamp(1, files.len().max(1));
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (contents, failed) = (&contents, &failed);
                scope.spawn(move || {
                    let mut staged = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        // The lock is held only while waiting for the next file.
                        let next = contents
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok((index, bytes)) = next else {
                            break; // every sender is gone: the contents are complete
                        };
                        let result = match (files.get(index), targets.get(index)) {
                            (Some(file), Some(target)) => {
                                stage(dir, &bytes, file.mode, target).map(|temp| (index, temp))
                            }
                            _ => Err(misfiled(index, "does not exist")),
                        };
                        match result {
                            Ok(temp) => staged.push(temp),
                            Err(error) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(error);
                            }
                        }
                    }
                    Ok(staged)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(WriteError::Io {
                        action: "write a file in",
                        path: dir.to_owned(),
                        source: io::Error::other("a staging thread panicked"),
                    })
                })
            })
            .collect::<Vec<_>>()
    });
    let mut slots: Vec<Option<TempPath>> =
        std::iter::repeat_with(|| None).take(files.len()).collect();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(staged) => {
                for (index, temp) in staged {
                    if slots[index].replace(temp).is_some() {
                        first_error.get_or_insert(misfiled(index, "arrived twice"));
                    }
                }
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    slots
        .into_iter()
        .zip(targets)
        .map(|(slot, target)| {
            slot.ok_or_else(|| WriteError::Io {
                action: "write",
                path: target.clone(),
                source: io::Error::other("its contents were never made"),
            })
        })
        .collect()
}

/// Writes one file under a temporary name in `dir`: created 0600, written, given its final
/// mode, fsynced and closed (a large set must not hold a descriptor per file).
fn stage(dir: &Path, contents: &[u8], mode: u32, target: &Path) -> Result<TempPath, WriteError> {
    let mut temp = tempfile::Builder::new()
        .prefix(".otel-pki-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(KEY_MODE))
        .tempfile_in(dir)
        .map_err(io_error("create a file in", dir))?;
    temp.write_all(contents)
        .map_err(io_error("write", target))?;
    // fchmod on the open handle is not subject to the umask, so certificates get exactly
    // 0644 and keys stay 0600.
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(io_error("set permissions on", target))?;
    temp.as_file()
        .sync_all()
        .map_err(io_error("sync", target))?;
    Ok(temp.into_temp_path())
}

/// Keeps the current version of `existing` in a new `dir/backup/<timestamp>/`.
fn backup(dir: &Path, existing: &[PathBuf]) -> Result<PathBuf, WriteError> {
    let root = backup_root(dir)?;
    let stamp = backup_stamp(OffsetDateTime::now_utc());
    let mut backup_dir = root.join(&stamp);
    let mut attempt = 1;
    loop {
        match fs::DirBuilder::new().mode(DIR_MODE).create(&backup_dir) {
            Ok(()) => break,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
                backup_dir = root.join(format!("{stamp}-{attempt}"));
            }
            Err(error) => return Err(io_error("create directory", &backup_dir)(error)),
        }
    }
    for path in existing {
        let Some(name) = path.file_name() else {
            continue;
        };
        let kept = backup_dir.join(name);
        // A hard link keeps the old bytes and mode without a moment where the live file is
        // missing; copy when links are not possible (symlinks, some file systems).
        let linked = !path.is_symlink() && fs::hard_link(path, &kept).is_ok();
        if !linked {
            copy_new(path, &kept)?;
        }
        if let Ok(file) = open_nofollow(&kept) {
            let _ = file.sync_all();
        }
    }
    sync_dir(&backup_dir)?;
    Ok(backup_dir)
}

/// `20261127T234512Z`: sorts by time, no characters a shell or Windows dislikes.
pub fn backup_stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Undoes committed renames: new files are removed, replaced ones restored from the backup
/// through a new temporary file (exclusive, unpredictable name, in the same directory).
fn rollback(committed: &[(PathBuf, bool)], backup_dir: Option<&Path>) {
    for (path, replaced) in committed.iter().rev() {
        if *replaced {
            if let (Some(backup_dir), Some(name), Some(dir)) =
                (backup_dir, path.file_name(), path.parent())
            {
                let kept = backup_dir.join(name);
                let restored = (|| -> Result<(), WriteError> {
                    let mut source = open_nofollow(&kept).map_err(io_error("read", &kept))?;
                    let mode = source
                        .metadata()
                        .map_err(io_error("read", &kept))?
                        .permissions()
                        .mode();
                    let mut temp = tempfile::Builder::new()
                        .prefix(".otel-pki-")
                        .suffix(".tmp")
                        .permissions(Permissions::from_mode(KEY_MODE))
                        .tempfile_in(dir)
                        .map_err(io_error("create a file in", dir))?;
                    io::copy(&mut source, temp.as_file_mut()).map_err(io_error("write", path))?;
                    temp.as_file()
                        .set_permissions(Permissions::from_mode(mode & 0o7777))
                        .map_err(io_error("set permissions on", path))?;
                    temp.as_file().sync_all().map_err(io_error("sync", path))?;
                    temp.persist(path)
                        .map_err(|error| io_error("write", path)(error.error))?;
                    Ok(())
                })();
                let _ = restored;
            }
        } else {
            let _ = fs::remove_file(path);
        }
    }
}

/// `DIR/backup`, created (mode 0700) when missing; refused when it is not a directory of
/// its own (a planted symbolic link would send the backups elsewhere).
pub(crate) fn backup_root(dir: &Path) -> Result<PathBuf, WriteError> {
    let root = dir.join(BACKUP_DIR);
    match fs::DirBuilder::new().mode(DIR_MODE).create(&root) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error("create directory", &root)(error)),
    }
    let metadata = root
        .symlink_metadata()
        .map_err(io_error("create directory", &root))?;
    if !metadata.is_dir() {
        return Err(WriteError::Io {
            action: "use",
            path: root,
            source: io::Error::other(
                "it is not a directory (a symbolic link?); otel-pki keeps backups only in a directory of the set: move it away",
            ),
        });
    }
    Ok(root)
}

/// Creates `path` exclusively (never through an existing name or link) with `mode`.
pub(crate) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .mode(mode)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// Opens `path` for reading without following a final symbolic link and without blocking
/// on a FIFO.
pub(crate) fn open_nofollow(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    options.open(path)
}

/// Copies the regular file `source` (its final link followed, bounded) to a new `target`
/// with its mode.
fn copy_new(source: &Path, target: &Path) -> Result<(), WriteError> {
    let bytes =
        crate::input::read(source, crate::input::CERTIFICATE_LIMIT, "file").map_err(|error| {
            WriteError::Io {
                action: "back up",
                path: source.to_owned(),
                source: io::Error::other(error.reason()),
            }
        })?;
    let mode = fs::metadata(source)
        .map(|metadata| metadata.permissions().mode() & 0o7777)
        .unwrap_or(KEY_MODE);
    let mut file = create_new(target, KEY_MODE).map_err(io_error("create", target))?;
    file.write_all(&bytes).map_err(io_error("write", target))?;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(io_error("set permissions on", target))?;
    file.sync_all().map_err(io_error("sync", target))
}

/// fsyncs a directory, so that renames in it are durable. A file system that cannot sync
/// directories (EINVAL, ENOTSUP: some network and FUSE file systems) gets a warning, once:
/// the files are written, only their durability across a power failure is not assured.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    let result = File::open(dir).and_then(|handle| handle.sync_all());
    match result {
        Ok(()) => Ok(()),
        Err(error) if sync_unsupported(&error) => {
            static WARNED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                eprintln!(
                    "warning: the file system of `{}` cannot sync directories ({error}); the files are written, but a power failure right now could lose the last change",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(error) => Err(io_error("sync directory", dir)(error)),
    }
}

fn sync_unsupported(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
    ) || matches!(
        error.raw_os_error(),
        Some(code) if code == rustix::io::Errno::INVAL.raw_os_error()
            || code == rustix::io::Errno::NOTSUP.raw_os_error()
            || code == rustix::io::Errno::OPNOTSUPP.raw_os_error()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn writes_modes_and_refuses_to_clobber() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("new/set");
        let files = [
            PlannedFile::key("a.key", "secret"),
            PlannedFile::public("a.crt", "cert"),
        ];
        let outcome = write_set(&dir, &files, Overwrite::Refuse).unwrap();
        assert_eq!(outcome.files.len(), 2);
        assert_eq!(mode(&dir.join("a.key")), 0o600);
        assert_eq!(mode(&dir.join("a.crt")), 0o644);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&temp.path().join("new")), 0o700);

        let error = write_set(&dir, &files, Overwrite::Refuse).unwrap_err();
        assert!(matches!(error, WriteError::Exists { ref paths, .. } if paths.len() == 2));
        assert!(error.to_string().contains("--force"));
        assert_eq!(fs::read_to_string(dir.join("a.key")).unwrap(), "secret");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn replace_keeps_the_previous_version() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        write_set(dir, &[PlannedFile::key("a.key", "old")], Overwrite::Refuse).unwrap();
        let outcome =
            write_set(dir, &[PlannedFile::key("a.key", "new")], Overwrite::Replace).unwrap();
        let backup_dir = outcome.backup_dir.unwrap();
        assert!(backup_dir.starts_with(dir.join(BACKUP_DIR)));
        assert_eq!(fs::read_to_string(dir.join("a.key")).unwrap(), "new");
        assert_eq!(fs::read_to_string(backup_dir.join("a.key")).unwrap(), "old");
        assert_eq!(mode(&backup_dir.join("a.key")), 0o600);
        assert!(outcome.files[0].replaced);
        // A second replacement within the same second gets its own backup directory.
        let again = write_set(
            dir,
            &[PlannedFile::key("a.key", "newer")],
            Overwrite::Replace,
        )
        .unwrap();
        assert_ne!(again.backup_dir.unwrap(), backup_dir);
    }

    #[test]
    fn a_failure_leaves_no_new_directory() {
        let temp = tempfile::tempdir().unwrap();
        let blocker = temp.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let error = write_set(
            &blocker,
            &[PlannedFile::key("a.key", "s")],
            Overwrite::Refuse,
        )
        .unwrap_err();
        assert!(matches!(error, WriteError::NotADirectory(_)));
        let nested = blocker.join("sub");
        assert!(
            write_set(
                &nested,
                &[PlannedFile::key("a.key", "s")],
                Overwrite::Refuse
            )
            .is_err()
        );
    }

    #[test]
    fn a_large_set_is_staged_in_parallel_and_committed_whole() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("fleet");
        let files: Vec<PlannedFile> = (0..100)
            .flat_map(|i| {
                [
                    PlannedFile::key(format!("c-{i}.key"), format!("key {i}")),
                    PlannedFile::public(format!("c-{i}.crt"), format!("cert {i}")),
                ]
            })
            .collect();
        let outcome = write_set(&dir, &files, Overwrite::Refuse).unwrap();
        assert_eq!(outcome.files.len(), 200);
        assert_eq!(outcome.files[7].path, dir.join("c-3.crt"));
        assert_eq!(fs::read_to_string(dir.join("c-42.key")).unwrap(), "key 42");
        assert_eq!(mode(&dir.join("c-42.key")), 0o600);
        assert_eq!(mode(&dir.join("c-99.crt")), 0o644);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 200);
        // One existing file refuses the whole set and leaves no temporary file.
        fs::remove_file(dir.join("c-0.key")).unwrap();
        let error = write_set(&dir, &files, Overwrite::Refuse).unwrap_err();
        assert!(matches!(error, WriteError::Exists { ref paths, .. } if paths.len() == 199));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 199);
    }

    fn slots(count: usize) -> Vec<FileSlot> {
        (0..count)
            .flat_map(|i| {
                [
                    FileSlot {
                        name: format!("c-{i}.key"),
                        mode: KEY_MODE,
                    },
                    FileSlot {
                        name: format!("c-{i}.crt"),
                        mode: PUBLIC_MODE,
                    },
                ]
            })
            .collect()
    }

    /// Sends the contents of `indexes` from another thread, while the write runs.
    fn stream(
        dir: &Path,
        slots: &[FileSlot],
        overwrite: Overwrite,
        indexes: Vec<usize>,
    ) -> Result<WriteOutcome, WriteError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for index in indexes {
                    if sender
                        .send((index, format!("file {index}").into_bytes()))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            write_set_streamed(dir, slots, overwrite, receiver)
        })
    }

    #[test]
    fn a_streamed_set_is_staged_as_it_arrives_and_committed_whole() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("fleet");
        let slots = slots(60);
        // Out of order, as signing threads send them.
        let outcome = stream(&dir, &slots, Overwrite::Refuse, (0..120).rev().collect()).unwrap();
        assert_eq!(outcome.files.len(), 120);
        assert_eq!(outcome.files[7].path, dir.join("c-3.crt"));
        assert_eq!(outcome.files[6].mode, "0600");
        assert_eq!(fs::read_to_string(dir.join("c-3.crt")).unwrap(), "file 7");
        assert_eq!(mode(&dir.join("c-42.key")), 0o600);
        assert_eq!(mode(&dir.join("c-42.crt")), 0o644);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 120);

        // An existing file refuses the whole set before anything is staged.
        let error = stream(&dir, &slots, Overwrite::Refuse, (0..120).collect()).unwrap_err();
        assert!(matches!(error, WriteError::Exists { ref paths, .. } if paths.len() == 120));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 120);
    }

    #[test]
    fn a_streamed_set_missing_a_file_or_with_one_twice_writes_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("fleet");
        let slots = slots(20);
        let missing: Vec<usize> = (0..40).filter(|&index| index != 17).collect();
        let error = stream(&dir, &slots, Overwrite::Refuse, missing).unwrap_err();
        assert!(
            error.to_string().contains("c-8.crt") && error.to_string().contains("never made"),
            "{error}"
        );
        // The directory it created is gone again, and with it every staged file.
        assert!(!dir.exists());

        fs::create_dir(&dir).unwrap();
        let mut twice: Vec<usize> = (0..40).collect();
        twice.push(3);
        let error = stream(&dir, &slots, Overwrite::Refuse, twice).unwrap_err();
        assert!(error.to_string().contains("arrived twice"), "{error}");
        let error = stream(&dir, &slots, Overwrite::Refuse, vec![0, 40]).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    /// A commit cut short between two renames: its journal names the new files by inode.
    /// Undoing it removes exactly those (a file of that name that is another inode is not
    /// the commit's and stays), and a journal that is a link is removed without being read.
    #[test]
    fn an_interrupted_commit_is_undone_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let staged: Vec<TempPath> = ["a.key", "a.crt", "b.key"]
            .iter()
            .map(|name| stage(path, b"x", KEY_MODE, &path.join(name)).unwrap())
            .collect();
        let targets: Vec<PathBuf> = ["a.key", "a.crt", "b.key"]
            .iter()
            .map(|name| path.join(name))
            .collect();
        let new: Vec<(&TempPath, &PathBuf)> = staged.iter().zip(&targets).collect();
        let journal = begin_journal(path, &new).unwrap().unwrap().keep().unwrap();
        // Killed after two renames; b.key never arrived, and someone else made c.crt.
        let mut staged = staged.into_iter();
        staged
            .next()
            .unwrap()
            .persist_noclobber(&targets[0])
            .unwrap();
        staged
            .next()
            .unwrap()
            .persist_noclobber(&targets[1])
            .unwrap();
        drop(staged);
        fs::write(path.join("c.crt"), "not the commit's").unwrap();
        let mut text = fs::read_to_string(&journal).unwrap();
        text.push_str("1 c.crt\n9 ../outside\n");
        fs::write(&journal, text).unwrap();
        assert!(is_commit_journal(
            &journal.file_name().unwrap().to_string_lossy()
        ));

        undo_interrupted_commit(path, &journal).unwrap();
        let mut left: Vec<String> = fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["c.crt"]);

        // A planted link in the journal's place is removed, and what it names is kept.
        fs::write(path.join("kept.key"), "x").unwrap();
        let planted = path.join(".otel-pki-commit-planted.journal");
        std::os::unix::fs::symlink(path.join("kept.key"), &planted).unwrap();
        undo_interrupted_commit(path, &planted).unwrap();
        assert!(!planted.exists() && path.join("kept.key").exists());
    }

    #[test]
    fn backup_stamp_is_sortable_utc() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_830_312).unwrap();
        assert_eq!(backup_stamp(at), "20261128T014512Z");
    }
}
