//! The generation layout of a set directory, which `renew` and `ca rotate` switch a set to:
//! every certificate and key is a symlink into `..data`, itself a symlink to a hidden,
//! never-modified generation directory. A change builds a complete new generation beside
//! the current one and swaps `..data` with one `rename(2)`, so at every instant all files,
//! as resolved at that instant, come from one generation: a key and its certificate always
//! match, and no reader ever sees half a file. This is how the kubelet updates mounted
//! Secrets (the Kubernetes "atomic writer").
//!
//! ```text
//! otel-certs/
//!   ..data -> ..g3-20261127T234512Z         the one switch, replaced by rename
//!   ..g3-20261127T234512Z/                  the current generation: ca.crt, server.key, …
//!   ..g2-20260801T101010Z/                  the previous one, kept for readers still in it
//!   server.crt -> ..data/server.crt         the paths configs use: unchanged forever
//!   server.key -> ..data/server.key
//!   backup/20261127T234512Z/                what generation 3 replaced, modes kept
//! ```
//!
//! Crash safety: each step leaves a state the next run recognises and completes or undoes
//! (see [`Lock::acquire`]), so a `renew` killed at any instant leaves the old or the new
//! generation, never a mixture.

use std::collections::BTreeMap;
use std::fs::{self, File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::write::{
    BACKUP_DIR, DIR_MODE, KEY_MODE, Overwrite, PlannedFile, WriteError, WriteOutcome, WrittenFile,
    backup_root, backup_stamp, io_error, sync_dir,
};

/// The symlink that names the current generation.
pub const DATA: &str = "..data";
/// The file in a backup directory that says which change made it and what it created.
pub const MANIFEST: &str = ".otel-pki-backup.json";
/// A file in each generation beside the certificates and keys, with what their contents
/// cannot say (the lifetimes certificates cut short by their CA were asked for, see
/// [`crate::pki::renewal::RequestedLifetimes`]). It has no link in the set directory and is
/// carried from generation to generation unless a change gives a new one; read it with
/// [`read_meta`].
pub const META: &str = ".otel-pki-meta.json";
/// How long a replaced generation is kept for readers that resolved `..data` just before
/// the switch (its successor's age). The previous generation is always kept.
pub const GRACE: Duration = Duration::from_secs(60);

/// Generation directories: `..g<counter>-<UTC time>`.
const GENERATION_PREFIX: &str = "..g";
/// A generation being built; leftovers of a killed run are removed.
const BUILDING_PREFIX: &str = "..tmp-";
/// Temporary symlinks, renamed over their targets.
const LINK_PREFIX: &str = ".otel-pki-link-";
/// A backup whose generation is not yet current: finished or dropped by the next run.
const PENDING_PREFIX: &str = ".pending-";

/// True for the file names a generation holds: `NAME.crt` and `NAME.key`.
pub fn is_managed_name(name: &str) -> bool {
    !name.starts_with('.')
        && !name.contains('/')
        && name.len() > 4
        && (name.ends_with(".crt") || name.ends_with(".key"))
}

/// True for the names in a set directory that only an interrupted change leaves: a
/// half-built generation or a temporary link.
pub(crate) fn is_leftover(name: &str) -> bool {
    name.starts_with(BUILDING_PREFIX) || name.starts_with(LINK_PREFIX)
}

/// True for a backup whose change has not finished (in `DIR/backup/`).
pub(crate) fn is_pending_backup(name: &str) -> bool {
    name.starts_with(PENDING_PREFIX)
}

/// True when `dir` uses the generation layout (`DIR/..data` exists).
pub fn is_generation_layout(dir: &Path) -> bool {
    dir.join(DATA).symlink_metadata().is_ok()
}

/// True when [`crate::set::write`] must hand `files` to [`write_set`]: the directory
/// uses the generation layout and every file is a certificate or key.
pub fn manages(dir: &Path, files: &[PlannedFile]) -> bool {
    !files.is_empty()
        && files.iter().all(|file| is_managed_name(&file.name))
        && is_generation_layout(dir)
}

/// The name of the current generation directory, if the set has one.
pub fn current(dir: &Path) -> Option<String> {
    let target = fs::read_link(dir.join(DATA)).ok()?;
    let name = target.to_str()?;
    (counter(name).is_some() && dir.join(name).is_dir()).then(|| name.to_owned())
}

/// The set's lock (see [`crate::set::lock`]); taking it completes or undoes whatever a
/// killed run left behind: half-built generations and temporary links are removed, a
/// generation that never became current is removed, links to files no longer in the
/// current generation are removed, and a pending backup is finished (its generation became
/// current, and the links it creates are made) or dropped (it did not: the links it removed
/// are made again).
pub use crate::set::lock::Lock;

/// One change to a set, committed as one new generation.
#[derive(Debug)]
pub struct Change<'a> {
    /// Files to write (new or replacing).
    pub writes: &'a [PlannedFile],
    /// Names to remove (kept in the backup).
    pub removals: &'a [String],
    /// Give a replaced file's successor the old file's mode (keys never readable by others)
    /// and group, so access an operator granted (e.g. `0640` for the Collector's group)
    /// survives; otherwise use each [`PlannedFile`]'s mode.
    pub keep_modes: bool,
    /// What made the change, recorded in the backup (`renew`, `ca rotate --stage`).
    pub command: &'a str,
    /// A new [`META`] document for the new generation; `None` keeps the current one.
    pub meta: Option<&'a [u8]>,
}

/// What a commit did.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The new generation directory's name.
    pub generation: String,
    /// The files written, in the order given.
    pub files: Vec<WrittenFile>,
    /// The files removed.
    pub removed: Vec<PathBuf>,
    /// Where the replaced and removed files are kept.
    pub backup_dir: Option<PathBuf>,
}

/// Recorded in each backup made by a commit.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BackupManifest {
    /// The command that made the change.
    pub command: String,
    /// The generation the change created.
    pub generation: String,
    /// Files the change replaced or removed (the ones in the backup).
    pub replaced: Vec<String>,
    /// Files the change created (a rollback removes them).
    pub created: Vec<String>,
}

/// A backup directory.
#[derive(Clone, Debug)]
pub struct Backup {
    /// `DIR/backup/<UTC time>`.
    pub dir: PathBuf,
    /// The files in it.
    pub files: Vec<String>,
    /// Its manifest, when a commit made it (`init --force` on a set of plain files does not).
    pub manifest: Option<BackupManifest>,
}

/// Commits `change` as a new generation:
///
/// 1. a set still made of plain files (as `init` writes them) is first moved into a
///    generation with the same contents: `..data` is created, then each file is replaced
///    by a symlink to the same bytes (renaming a symlink over a file is atomic);
/// 2. the new generation is built under a temporary name — unchanged files hard-linked
///    from the current one, new files created 0600, written, given their mode and fsynced —
///    and renamed to `..g<N>-<time>`;
/// 3. the files it replaces or removes are hard-linked (modes kept) into a pending backup
///    with a manifest;
/// 4. links for new names are created, then `..data` is switched with one rename;
/// 5. the replaced files' inodes get a metadata change (so file watchers that wait for one,
///    like the Collector's `client_ca_file_reload` before v0.158, reload), the backup gets
///    its final name, links of removed files are removed, and generations older than the
///    previous one whose successor is older than [`GRACE`] are deleted.
pub fn commit(lock: &Lock, change: &Change<'_>) -> Result<Committed, WriteError> {
    let dir = lock.dir();
    let scan = migrate(dir, scan(dir)?)?;
    let Some(current) = scan.current.clone() else {
        return Err(damaged(dir, "no current generation after migration"));
    };
    let current_dir = dir.join(&current);
    let next_counter = counter(&current).unwrap_or(0) + 1;
    let meta = change
        .meta
        .map(|contents| PlannedFile::public(META, contents));

    let mut sources: BTreeMap<String, Source<'_>> = scan
        .entries
        .iter()
        .filter(|(_, entry)| **entry == Entry::Linked)
        .map(|(name, _)| {
            (
                name.clone(),
                Source::Existing {
                    path: current_dir.join(name),
                    link: true,
                },
            )
        })
        .collect();
    let mut replaced = Vec::new();
    let mut removed = Vec::new();
    for name in change.removals {
        if sources.remove(name).is_some() {
            replaced.push(name.clone());
            removed.push(name.clone());
        }
    }
    let mut created = Vec::new();
    for file in change.writes {
        let existing = fs::metadata(current_dir.join(&file.name)).ok();
        let existed = sources.contains_key(&file.name);
        let (mode, group) = match (&existing, change.keep_modes && existed) {
            (Some(metadata), true) => (kept_mode(file.mode, metadata.mode()), Some(metadata.gid())),
            _ => (file.mode, None),
        };
        if existed {
            replaced.push(file.name.clone());
        } else {
            created.push(file.name.clone());
        }
        sources.insert(file.name.clone(), Source::New { file, mode, group });
    }
    match &meta {
        Some(file) => {
            sources.insert(
                META.to_owned(),
                Source::New {
                    file,
                    mode: file.mode,
                    group: None,
                },
            );
        }
        None => carry_meta(&current_dir, &mut sources),
    }

    let generation = build_generation(dir, next_counter, &sources)?;
    // The pending backup is also the journal of the links this change removes and
    // creates, so that a run killed at any instant is completed or undone by the next one.
    let pending = if replaced.is_empty() && created.is_empty() {
        None
    } else {
        Some(pending_backup(
            dir,
            &current_dir,
            &BackupManifest {
                command: change.command.to_owned(),
                generation: generation.clone(),
                replaced: replaced.clone(),
                created: created.clone(),
            },
        )?)
    };
    // No name may ever point at nothing: links of removed files go before the switch (a
    // name may be missing for a moment, never dangling), links of new files after it.
    let switched = unlink_names(dir, &removed).and_then(|()| switch(dir, &generation));
    if let Err(error) = switched {
        relink(dir, &replaced);
        return Err(error);
    }
    for name in keys_first(&created) {
        link_into_data(dir, name)?;
    }
    sync_dir(dir)?;
    for name in &replaced {
        notify_watchers(&current_dir.join(name));
    }
    let backup_dir = match pending {
        Some(pending) if !replaced.is_empty() => Some(finish_backup(dir, &pending)?),
        Some(pending) => {
            fs::remove_dir_all(&pending).map_err(io_error("remove", &pending))?;
            None
        }
        None => None,
    };
    cleanup(dir, &generation, &current);

    Ok(Committed {
        files: change
            .writes
            .iter()
            .map(|file| WrittenFile {
                path: dir.join(&file.name),
                mode: match &sources.get(&file.name) {
                    Some(Source::New { mode, .. }) => format!("{mode:04o}"),
                    _ => format!("{:04o}", file.mode),
                },
                replaced: replaced.contains(&file.name),
            })
            .collect(),
        removed: removed.iter().map(|name| dir.join(name)).collect(),
        generation,
        backup_dir,
    })
}

/// [`crate::set::write`] for a set in the generation layout: the same contract
/// (refuse existing files unless `Replace`, keep replaced files in a backup), but the files
/// change together in one new generation.
pub fn write_set(
    dir: &Path,
    files: &[PlannedFile],
    overwrite: Overwrite,
) -> Result<WriteOutcome, WriteError> {
    let lock = Lock::acquire(dir)?;
    if overwrite == Overwrite::Refuse {
        let existing = crate::write::existing(
            dir,
            &files
                .iter()
                .map(|file| file.name.as_str())
                .collect::<Vec<_>>(),
        );
        if !existing.is_empty() {
            return Err(WriteError::Exists {
                dir: dir.to_owned(),
                paths: existing,
            });
        }
    }
    let committed = commit(
        &lock,
        &Change {
            writes: files,
            removals: &[],
            keep_modes: false,
            command: "write",
            meta: None,
        },
    )?;
    Ok(WriteOutcome {
        files: committed.files,
        backup_dir: committed.backup_dir,
    })
}

/// The current generation's [`META`] document, if the set has one.
pub fn read_meta(dir: &Path) -> Option<Vec<u8>> {
    fs::read(dir.join(DATA).join(META)).ok()
}

/// The newest backup of a set: the most recent `DIR/backup/<UTC time>[-N]/`.
pub fn newest_backup(dir: &Path) -> Result<Option<Backup>, WriteError> {
    let root = dir.join(BACKUP_DIR);
    let Ok(entries) = fs::read_dir(&root) else {
        return Ok(None);
    };
    let mut candidates: Vec<((String, u32), PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let order = backup_order(&name)?;
            entry.path().is_dir().then(|| (order, entry.path()))
        })
        .collect();
    candidates.sort();
    let Some((_, path)) = candidates.pop() else {
        return Ok(None);
    };
    let mut files: Vec<String> = fs::read_dir(&path)
        .map_err(io_error("list", &path))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .filter(|name| !name.starts_with('.'))
        .collect();
    files.sort();
    let manifest = fs::read(path.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Ok(Some(Backup {
        dir: path,
        files,
        manifest,
    }))
}

/// `20261127T234512Z` or `20261127T234512Z-3` → sortable key; other names are not backups.
fn backup_order(name: &str) -> Option<(String, u32)> {
    let (stamp, suffix) = match name.split_once('-') {
        Some((stamp, suffix)) => (stamp, suffix.parse().ok()?),
        None => (name, 1),
    };
    let valid = stamp.len() == 16
        && stamp.as_bytes()[8] == b'T'
        && stamp.ends_with('Z')
        && stamp[..8].bytes().all(|byte| byte.is_ascii_digit())
        && stamp[9..15].bytes().all(|byte| byte.is_ascii_digit());
    valid.then(|| (stamp.to_owned(), suffix))
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Entry {
    /// `DIR/NAME -> ..data/NAME`, present in the current generation.
    Linked,
    /// `DIR/NAME -> ..data/NAME`, absent from the current generation.
    Dangling,
    /// A plain file (or a symlink elsewhere) not yet in a generation.
    Plain,
}

struct Scan {
    current: Option<String>,
    entries: BTreeMap<String, Entry>,
}

enum Source<'a> {
    /// An existing file: hard-linked (`link`) or copied.
    Existing { path: PathBuf, link: bool },
    /// New contents with their final mode and, when kept, group.
    New {
        file: &'a PlannedFile,
        mode: u32,
        group: Option<u32>,
    },
}

fn scan(dir: &Path) -> Result<Scan, WriteError> {
    let mut entries = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !is_managed_name(&name) {
            continue;
        }
        let path = entry.path();
        let Ok(metadata) = path.symlink_metadata() else {
            continue;
        };
        if metadata.file_type().is_symlink() {
            if is_our_link(&path, &name) {
                let kind = if path.is_file() {
                    Entry::Linked
                } else {
                    Entry::Dangling
                };
                entries.insert(name, kind);
            } else if path.is_file() {
                entries.insert(name, Entry::Plain);
            }
        } else if metadata.is_file() {
            entries.insert(name, Entry::Plain);
        }
    }
    Ok(Scan {
        current: current(dir),
        entries,
    })
}

fn is_our_link(path: &Path, name: &str) -> bool {
    fs::read_link(path).is_ok_and(|target| target == Path::new(DATA).join(name))
}

fn counter(name: &str) -> Option<u64> {
    name.strip_prefix(GENERATION_PREFIX)?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn damaged(dir: &Path, reason: &str) -> WriteError {
    let data = dir.join(DATA);
    WriteError::Io {
        action: "use",
        path: data,
        source: io::Error::other(format!(
            "{reason}; the set is damaged: restore its files from `{}/{BACKUP_DIR}/`",
            dir.display()
        )),
    }
}

/// Completes or undoes what a killed run left (see [`Lock`]).
pub(crate) fn repair(dir: &Path) -> Result<(), WriteError> {
    let has_data = is_generation_layout(dir);
    let current = current(dir);
    if has_data && current.is_none() {
        let target = fs::read_link(dir.join(DATA)).unwrap_or_default();
        if dir.join(&target).is_dir() {
            // A kubelet-managed Secret volume looks like this, with `..2026_11_27_…`.
            return Err(WriteError::Io {
                action: "use",
                path: dir.join(DATA),
                source: io::Error::other(format!(
                    "it points to `{}`, which otel-pki did not create (a mounted Kubernetes Secret?); otel-pki changes only sets it manages, choose another --dir",
                    target.display()
                )),
            });
        }
        return Err(damaged(dir, "it points to a missing generation directory"));
    }
    let current_counter = current.as_deref().and_then(counter).unwrap_or(0);
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let path = entry.path();
        if name.starts_with(BUILDING_PREFIX)
            || counter(&name).is_some_and(|number| number > current_counter)
        {
            fs::remove_dir_all(&path).map_err(io_error("remove", &path))?;
        } else if name.starts_with(LINK_PREFIX) {
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
        }
    }
    if current.is_some() {
        for (name, entry) in scan(dir)?.entries {
            if entry == Entry::Dangling {
                let path = dir.join(&name);
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
            }
        }
    }
    let root = dir.join(BACKUP_DIR);
    if let Ok(entries) = fs::read_dir(&root) {
        for entry in entries.filter_map(Result::ok) {
            let is_pending = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(PENDING_PREFIX));
            if !is_pending {
                continue;
            }
            let pending = entry.path();
            let manifest: Option<BackupManifest> = fs::read(pending.join(MANIFEST))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            match manifest {
                // Killed after the switch: make the new links, keep the backup.
                Some(manifest) if Some(&manifest.generation) == current.as_ref() => {
                    relink(dir, &manifest.created);
                    if manifest.replaced.is_empty() {
                        fs::remove_dir_all(&pending).map_err(io_error("remove", &pending))?;
                    } else {
                        finish_backup(dir, &pending)?;
                    }
                }
                // Killed before it: links removed for the switch come back.
                Some(manifest) => {
                    relink(dir, &manifest.replaced);
                    fs::remove_dir_all(&pending).map_err(io_error("remove", &pending))?;
                }
                None => fs::remove_dir_all(&pending).map_err(io_error("remove", &pending))?,
            }
        }
    }
    sync_dir(dir)
}

/// Moves plain files into a generation with the same contents (nothing changes for a
/// reader), creating `..data` if needed.
fn migrate(dir: &Path, scan: Scan) -> Result<Scan, WriteError> {
    let plain: Vec<String> = scan
        .entries
        .iter()
        .filter(|(_, entry)| **entry == Entry::Plain)
        .map(|(name, _)| name.clone())
        .collect();
    if scan.current.is_some() && plain.is_empty() {
        return Ok(scan);
    }
    let current_dir = scan.current.as_ref().map(|name| dir.join(name));
    let mut sources = BTreeMap::new();
    for (name, entry) in &scan.entries {
        let source = match (entry, &current_dir) {
            (Entry::Linked, Some(current_dir)) => Source::Existing {
                path: current_dir.join(name),
                link: true,
            },
            (Entry::Plain, _) => {
                let path = dir.join(name);
                let link = !path.is_symlink();
                Source::Existing { path, link }
            }
            _ => continue,
        };
        sources.insert(name.clone(), source);
    }
    if let Some(current_dir) = &current_dir {
        carry_meta(current_dir, &mut sources);
    }
    let next = scan.current.as_deref().and_then(counter).unwrap_or(0) + 1;
    let generation = build_generation(dir, next, &sources)?;
    switch(dir, &generation)?;
    for name in &plain {
        link_into_data(dir, name)?;
    }
    sync_dir(dir)?;
    self::scan(dir)
}

/// Hard-links the current generation's [`META`] into the next one, if there is one.
fn carry_meta(current_dir: &Path, sources: &mut BTreeMap<String, Source<'_>>) {
    let path = current_dir.join(META);
    if path.is_file() {
        sources.insert(META.to_owned(), Source::Existing { path, link: true });
    }
}

fn build_generation(
    dir: &Path,
    number: u64,
    sources: &BTreeMap<String, Source<'_>>,
) -> Result<String, WriteError> {
    let dir_metadata = fs::metadata(dir).map_err(io_error("read", dir))?;
    let building = tempfile::Builder::new()
        .prefix(BUILDING_PREFIX)
        .permissions(Permissions::from_mode(DIR_MODE))
        .tempdir_in(dir)
        .map_err(io_error("create a directory in", dir))?
        .keep();
    // Readers need the same access to the generation as to the set directory.
    fs::set_permissions(
        &building,
        Permissions::from_mode(dir_metadata.mode() & 0o7777),
    )
    .map_err(io_error("set permissions on", &building))?;
    let _ = std::os::unix::fs::chown(&building, None, Some(dir_metadata.gid()));
    let result = fill_generation(&building, sources).and_then(|()| {
        let name = format!(
            "{GENERATION_PREFIX}{number}-{}",
            backup_stamp(OffsetDateTime::now_utc())
        );
        fs::rename(&building, dir.join(&name)).map_err(io_error("rename", &building))?;
        Ok(name)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&building);
    }
    result
}

fn fill_generation(
    building: &Path,
    sources: &BTreeMap<String, Source<'_>>,
) -> Result<(), WriteError> {
    for (name, source) in sources {
        let target = building.join(name);
        match source {
            Source::Existing { path, link } => link_or_copy(path, &target, *link)?,
            Source::New { file, mode, group } => {
                let mut handle = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(KEY_MODE)
                    .open(&target)
                    .map_err(io_error("create", &target))?;
                handle
                    .write_all(&file.contents)
                    .map_err(io_error("write", &target))?;
                handle
                    .set_permissions(Permissions::from_mode(*mode))
                    .map_err(io_error("set permissions on", &target))?;
                if let Some(group) = group {
                    let _ = std::os::unix::fs::fchown(&handle, None, Some(*group));
                }
                handle.sync_all().map_err(io_error("sync", &target))?;
            }
        }
    }
    sync_dir(building)
}

fn link_or_copy(source: &Path, target: &Path, link: bool) -> Result<(), WriteError> {
    if link && fs::hard_link(source, target).is_ok() {
        return Ok(());
    }
    // fs::copy keeps the permission bits.
    fs::copy(source, target).map_err(io_error("copy", source))?;
    File::open(target)
        .and_then(|file| file.sync_all())
        .map_err(io_error("sync", target))
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// `DIR/.otel-pki-link-<pid>-<n>-<random>`: unpredictable, and created by `symlink(2)`,
/// which never follows or replaces an existing name.
fn temporary_link_name(dir: &Path) -> PathBuf {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(SEQUENCE.fetch_add(1, Ordering::Relaxed));
    dir.join(format!(
        "{LINK_PREFIX}{}-{:016x}",
        std::process::id(),
        hasher.finish()
    ))
}

/// Removes the links of `names` (only links otel-pki made: `NAME -> ..data/NAME`).
fn unlink_names(dir: &Path, names: &[String]) -> Result<(), WriteError> {
    // Certificates go first: a kill in between leaves a key without its certificate, never a
    // certificate whose key is gone.
    let mut names: Vec<&String> = keys_first(names);
    names.reverse();
    for name in names {
        let path = dir.join(name);
        if is_our_link(&path, name) {
            fs::remove_file(&path).map_err(io_error("remove", &path))?;
        }
    }
    Ok(())
}

/// `names` with the keys before everything else: new links are made in this order, so that
/// a certificate never appears without its key (a run killed in between leaves a key
/// without its certificate, which no reader pairs, and the next writer completes it).
fn keys_first(names: &[String]) -> Vec<&String> {
    let mut ordered: Vec<&String> = names.iter().collect();
    ordered.sort_by_key(|name| !name.ends_with(".key"));
    ordered
}

/// Makes the missing links of `names` that the current generation holds. Best effort: it
/// runs while completing or undoing a change.
fn relink(dir: &Path, names: &[String]) {
    for name in keys_first(names) {
        let path = dir.join(name);
        if is_managed_name(name)
            && path.symlink_metadata().is_err()
            && dir.join(DATA).join(name).is_file()
        {
            let _ = link_into_data(dir, name);
        }
    }
}

/// Replaces (or creates) `DIR/NAME` with the link `..data/NAME`, atomically.
fn link_into_data(dir: &Path, name: &str) -> Result<(), WriteError> {
    let temporary = temporary_link_name(dir);
    std::os::unix::fs::symlink(Path::new(DATA).join(name), &temporary)
        .map_err(io_error("create a link in", dir))?;
    let target = dir.join(name);
    fs::rename(&temporary, &target).map_err(io_error("replace", &target))
}

/// Points `..data` at `generation` with one rename: the switch.
fn switch(dir: &Path, generation: &str) -> Result<(), WriteError> {
    let temporary = temporary_link_name(dir);
    std::os::unix::fs::symlink(generation, &temporary)
        .map_err(io_error("create a link in", dir))?;
    let data = dir.join(DATA);
    fs::rename(&temporary, &data).map_err(io_error("replace", &data))?;
    sync_dir(dir)
}

/// A metadata change on a replaced file (chmod to its own mode) after the switch. The
/// Collector's fsnotify watcher for `client_ca_file_reload` (v0.86–v0.157) watches the file
/// a path resolves to and reloads on Chmod/Remove/Write events of that inode; the switch
/// itself does not touch it, so without this it would reload only when the old generation
/// is deleted.
fn notify_watchers(path: &Path) {
    if let Ok(metadata) = fs::metadata(path) {
        let _ = fs::set_permissions(path, Permissions::from_mode(metadata.mode() & 0o7777));
    }
}

fn pending_backup(
    dir: &Path,
    current_dir: &Path,
    manifest: &BackupManifest,
) -> Result<PathBuf, WriteError> {
    let root = backup_root(dir)?;
    let pending = root.join(format!("{PENDING_PREFIX}{}", manifest.generation));
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(&pending)
        .map_err(io_error("create directory", &pending))?;
    for name in &manifest.replaced {
        // A hard link keeps the bytes and the mode of exactly what was live.
        link_or_copy(&current_dir.join(name), &pending.join(name), true)?;
    }
    let path = pending.join(MANIFEST);
    let json = serde_json::to_vec_pretty(manifest).map_err(|error| WriteError::Io {
        action: "write",
        path: path.clone(),
        source: io::Error::other(error),
    })?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(KEY_MODE)
        .open(&path)
        .map_err(io_error("create", &path))?;
    file.write_all(&json).map_err(io_error("write", &path))?;
    file.sync_all().map_err(io_error("sync", &path))?;
    sync_dir(&pending)?;
    sync_dir(&root)?;
    Ok(pending)
}

/// Gives a pending backup its final name `DIR/backup/<UTC time>[-N]`.
fn finish_backup(dir: &Path, pending: &Path) -> Result<PathBuf, WriteError> {
    let root = dir.join(BACKUP_DIR);
    let stamp = backup_stamp(OffsetDateTime::now_utc());
    for attempt in 1..10_000 {
        let candidate = if attempt == 1 {
            root.join(&stamp)
        } else {
            root.join(format!("{stamp}-{attempt}"))
        };
        if candidate.symlink_metadata().is_ok() {
            continue;
        }
        fs::rename(pending, &candidate).map_err(io_error("rename", pending))?;
        sync_dir(&root)?;
        return Ok(candidate);
    }
    Err(WriteError::Io {
        action: "name",
        path: pending.to_owned(),
        source: io::Error::other("too many backups in one second"),
    })
}

/// Deletes generations no reader can still be in: not the new one, not the one it
/// replaced, and only when their successor became current more than [`GRACE`] ago.
/// Failures are ignored: an extra old generation is harmless.
fn cleanup(dir: &Path, generation: &str, previous: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut generations: Vec<(u64, String, Option<SystemTime>)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let number = counter(&name)?;
            let modified = entry.metadata().ok().and_then(|m| m.modified().ok());
            Some((number, name, modified))
        })
        .collect();
    generations.sort();
    let now = SystemTime::now();
    for pair in generations.windows(2) {
        let (_, name, _) = &pair[0];
        let (_, _, successor_made) = &pair[1];
        if name == generation || name == previous {
            continue;
        }
        let old_enough = successor_made
            .and_then(|made| now.duration_since(made).ok())
            .is_some_and(|age| age > GRACE);
        if old_enough {
            let _ = fs::remove_dir_all(dir.join(name));
        }
    }
}

/// A set's file mode when it replaces a file with mode `old`: the old mode, except that
/// keys are never readable by others and the owner can always read and write.
fn kept_mode(planned: u32, old: u32) -> u32 {
    if planned == KEY_MODE {
        (old & 0o640) | 0o600
    } else {
        (old & 0o644) | 0o600
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::write as write_plain;
    use crate::write::PUBLIC_MODE;

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn commit_files(dir: &Path, files: &[PlannedFile], removals: &[String]) -> Committed {
        let lock = Lock::acquire(dir).unwrap();
        commit(
            &lock,
            &Change {
                writes: files,
                removals,
                keep_modes: true,
                command: "test",
                meta: None,
            },
        )
        .unwrap()
    }

    fn plain_set(dir: &Path) {
        write_plain(
            dir,
            &[
                PlannedFile::key("a.key", "key 1"),
                PlannedFile::public("a.crt", "cert 1"),
                PlannedFile::public("b.crt", "other"),
            ],
            Overwrite::Refuse,
        )
        .unwrap();
    }

    #[test]
    fn the_first_commit_migrates_plain_files_and_switches_together() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        fs::write(dir.join("notes.txt"), "not part of the set").unwrap();
        let committed = commit_files(
            dir,
            &[
                PlannedFile::key("a.key", "key 2"),
                PlannedFile::public("a.crt", "cert 2"),
            ],
            &[],
        );
        assert_eq!(current(dir).as_deref(), Some(committed.generation.as_str()));
        assert!(committed.generation.starts_with("..g2-"), "{committed:?}");
        for name in ["a.key", "a.crt", "b.crt"] {
            assert_eq!(
                fs::read_link(dir.join(name)).unwrap(),
                Path::new(DATA).join(name)
            );
        }
        assert_eq!(read(dir, "a.crt"), "cert 2");
        assert_eq!(read(dir, "b.crt"), "other");
        assert!(!dir.join("notes.txt").is_symlink());
        assert_eq!(mode(&dir.join("a.key")), 0o600);
        assert_eq!(mode(&dir.join("a.crt")), 0o644);
        let backup = committed.backup_dir.unwrap();
        assert_eq!(read(&backup, "a.key"), "key 1");
        assert_eq!(mode(&backup.join("a.key")), 0o600);
        let newest = newest_backup(dir).unwrap().unwrap();
        assert_eq!(newest.dir, backup);
        assert_eq!(newest.files, ["a.crt", "a.key"]);
        assert_eq!(newest.manifest.unwrap().generation, committed.generation);
    }

    #[test]
    fn removals_and_creations_are_recorded_and_modes_kept() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        fs::set_permissions(dir.join("a.key"), Permissions::from_mode(0o644)).unwrap();
        let committed = commit_files(
            dir,
            &[
                PlannedFile::key("a.key", "key 2"),
                PlannedFile::public("c.crt", "new"),
            ],
            &["b.crt".to_owned()],
        );
        // A key is never left readable by others, but group access is kept.
        assert_eq!(mode(&dir.join("a.key")), 0o640);
        assert!(dir.join("b.crt").symlink_metadata().is_err());
        assert_eq!(read(dir, "c.crt"), "new");
        let backup = committed.backup_dir.unwrap();
        assert_eq!(read(&backup, "b.crt"), "other");
        let manifest: BackupManifest =
            serde_json::from_slice(&fs::read(backup.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest.created, ["c.crt"]);
        assert_eq!(manifest.replaced, ["b.crt", "a.key"]);
    }

    #[test]
    fn write_set_on_a_migrated_set_goes_through_a_generation() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        commit_files(dir, &[PlannedFile::public("b.crt", "other 2")], &[]);
        let before = current(dir).unwrap();
        let error =
            write_plain(dir, &[PlannedFile::key("a.key", "x")], Overwrite::Refuse).unwrap_err();
        assert!(matches!(error, WriteError::Exists { .. }));
        let outcome = write_plain(
            dir,
            &[
                PlannedFile::key("a.key", "key 3"),
                PlannedFile::public("a.crt", "cert 3"),
            ],
            Overwrite::Replace,
        )
        .unwrap();
        assert_ne!(current(dir).unwrap(), before);
        assert!(dir.join("a.crt").is_symlink());
        assert_eq!(read(dir, "a.crt"), "cert 3");
        assert_eq!(read(&outcome.backup_dir.unwrap(), "a.crt"), "cert 1");
        assert_eq!(outcome.files[1].mode, format!("{PUBLIC_MODE:04o}"));
        // A file that is not a certificate or key stays a plain file.
        write_plain(
            dir,
            &[PlannedFile::public("x.yaml", "y")],
            Overwrite::Refuse,
        )
        .unwrap();
        assert!(!dir.join("x.yaml").is_symlink());
    }

    #[test]
    fn repair_completes_or_undoes_a_killed_commit() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        commit_files(dir, &[PlannedFile::public("b.crt", "2")], &[]);
        let live = current(dir).unwrap();
        // Killed before the switch: a half-built generation, a complete one never made
        // current, a link to a file only that one has, and a pending backup for it.
        fs::create_dir(dir.join("..tmp-xyz")).unwrap();
        fs::create_dir(dir.join("..g9-20990101T000000Z")).unwrap();
        std::os::unix::fs::symlink("..data/new.crt", dir.join("new.crt")).unwrap();
        let pending = dir.join(BACKUP_DIR).join(".pending-..g9-20990101T000000Z");
        fs::create_dir(&pending).unwrap();
        fs::write(
            pending.join(MANIFEST),
            serde_json::to_vec(&BackupManifest {
                command: "test".into(),
                generation: "..g9-20990101T000000Z".into(),
                replaced: vec![],
                created: vec![],
            })
            .unwrap(),
        )
        .unwrap();
        // Killed after a switch: a pending backup whose generation is current.
        let finished = dir.join(BACKUP_DIR).join(format!(".pending-{live}"));
        fs::create_dir(&finished).unwrap();
        fs::write(finished.join("b.crt"), "old").unwrap();
        fs::write(
            finished.join(MANIFEST),
            serde_json::to_vec(&BackupManifest {
                command: "test".into(),
                generation: live.clone(),
                replaced: vec!["b.crt".into()],
                created: vec![],
            })
            .unwrap(),
        )
        .unwrap();
        drop(Lock::acquire(dir).unwrap());
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".."))
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}"); // ..data and two generations
        assert!(!dir.join("new.crt").is_symlink());
        let newest = newest_backup(dir).unwrap().unwrap();
        assert_eq!(newest.files, ["b.crt"]);
        assert!(fs::read_dir(dir.join(BACKUP_DIR)).unwrap().all(|entry| {
            !entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        }));
    }

    #[test]
    fn a_commit_killed_around_the_switch_never_leaves_a_dangling_name() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        let committed = commit_files(
            dir,
            &[PlannedFile::public("n.crt", "n")],
            &["b.crt".to_owned()],
        );
        // Killed after the switch, before the new link: the journal makes it.
        fs::remove_file(dir.join("n.crt")).unwrap();
        let pending = dir
            .join(BACKUP_DIR)
            .join(format!(".pending-{}", committed.generation));
        fs::create_dir(&pending).unwrap();
        let manifest = BackupManifest {
            command: "test".into(),
            generation: committed.generation.clone(),
            replaced: vec!["b.crt".into()],
            created: vec!["n.crt".into()],
        };
        fs::write(
            pending.join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        drop(Lock::acquire(dir).unwrap());
        assert_eq!(read(dir, "n.crt"), "n");
        assert!(!pending.exists());
        // Killed before the switch, after removing a link: the link comes back.
        fs::remove_file(dir.join("a.crt")).unwrap();
        let pending = dir.join(BACKUP_DIR).join(".pending-..g99-20990101T000000Z");
        fs::create_dir(&pending).unwrap();
        let manifest = BackupManifest {
            generation: "..g99-20990101T000000Z".into(),
            replaced: vec!["a.crt".into()],
            created: vec![],
            ..manifest
        };
        fs::write(
            pending.join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        drop(Lock::acquire(dir).unwrap());
        assert_eq!(read(dir, "a.crt"), "cert 1");
        assert!(!pending.exists());
        assert!(crate::set::leftovers(dir).is_empty());
    }

    #[test]
    fn the_meta_document_travels_with_the_generations() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        assert_eq!(read_meta(dir), None);
        let with_meta = |contents: &[u8]| {
            let lock = Lock::acquire(dir).unwrap();
            commit(
                &lock,
                &Change {
                    writes: &[PlannedFile::public("b.crt", contents)],
                    removals: &[],
                    keep_modes: true,
                    command: "test",
                    meta: Some(contents),
                },
            )
            .unwrap()
        };
        with_meta(b"one");
        assert_eq!(read_meta(dir).as_deref(), Some(&b"one"[..]));
        // Not a file of the set: no link, nothing for a rollback to restore or remove.
        assert!(dir.join(META).symlink_metadata().is_err());
        commit_files(dir, &[PlannedFile::public("a.crt", "cert 2")], &[]);
        assert_eq!(read_meta(dir).as_deref(), Some(&b"one"[..]));
        write_plain(dir, &[PlannedFile::public("c.crt", "c")], Overwrite::Refuse).unwrap();
        assert_eq!(read_meta(dir).as_deref(), Some(&b"one"[..]));
        let committed = with_meta(b"two");
        assert_eq!(read_meta(dir).as_deref(), Some(&b"two"[..]));
        let backup = committed.backup_dir.unwrap();
        assert_eq!(listing_of(&backup), [MANIFEST, "b.crt"]);
        // A plain file added by hand is moved into a generation that keeps the document.
        fs::write(dir.join("d.crt"), "d").unwrap();
        commit_files(dir, &[PlannedFile::public("a.crt", "cert 3")], &[]);
        assert_eq!(read_meta(dir).as_deref(), Some(&b"two"[..]));
        assert!(dir.join("d.crt").is_symlink());
    }

    fn listing_of(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    // inotify is Linux's; other systems have their own file-change APIs.
    #[cfg(target_os = "linux")]
    #[test]
    fn watchers_of_a_replaced_file_get_an_event() {
        use rustix::fs::inotify;
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("ca.crt");
        fs::write(&path, "ca").unwrap();
        let inotify = inotify::init(inotify::CreateFlags::NONBLOCK).unwrap();
        // The events the Collector's fsnotify watcher (v0.86–v0.157) reloads on.
        inotify::add_watch(
            &inotify,
            &path,
            inotify::WatchFlags::ATTRIB
                | inotify::WatchFlags::MODIFY
                | inotify::WatchFlags::DELETE_SELF,
        )
        .unwrap();
        notify_watchers(&path);
        let mut buffer = [std::mem::MaybeUninit::uninit(); 1024];
        let mut reader = inotify::Reader::new(&inotify, &mut buffer);
        let event = reader.next().expect("an event on the replaced file");
        assert!(event.events().contains(inotify::ReadFlags::ATTRIB));
        assert_eq!(fs::read_to_string(&path).unwrap(), "ca");
    }

    #[test]
    fn old_generations_go_after_the_grace_period() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        plain_set(dir);
        for round in 0..4 {
            commit_files(dir, &[PlannedFile::public("b.crt", round.to_string())], &[]);
        }
        let count = || {
            fs::read_dir(dir)
                .unwrap()
                .filter(|entry| {
                    counter(&entry.as_ref().unwrap().file_name().to_string_lossy()).is_some()
                })
                .count()
        };
        // All within the grace period: nothing deleted yet.
        assert_eq!(count(), 5);
        let old = SystemTime::now() - GRACE * 2;
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if counter(&entry.file_name().to_string_lossy()).is_some() {
                File::open(entry.path()).unwrap().set_modified(old).unwrap();
            }
        }
        commit_files(dir, &[PlannedFile::public("b.crt", "last")], &[]);
        // The new generation and the one it replaced.
        assert_eq!(count(), 2);
        assert_eq!(read(dir, "b.crt"), "last");
    }

    #[test]
    fn a_directory_managed_by_someone_else_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        fs::create_dir(dir.join("..2026_11_27_23_59_59.123456789")).unwrap();
        std::os::unix::fs::symlink("..2026_11_27_23_59_59.123456789", dir.join(DATA)).unwrap();
        let error = Lock::acquire(dir).unwrap_err().to_string();
        assert!(error.contains("which otel-pki did not create"), "{error}");
        fs::remove_dir(dir.join("..2026_11_27_23_59_59.123456789")).unwrap();
        let error = Lock::acquire(dir).unwrap_err().to_string();
        assert!(error.contains("the set is damaged"), "{error}");
    }

    #[test]
    fn backup_names_sort_by_time_then_number() {
        assert!(backup_order("20261127T234512Z") < backup_order("20261127T234512Z-2"));
        assert!(backup_order("20261127T234512Z-9") < backup_order("20261127T234512Z-10"));
        assert!(backup_order("20261127T234512Z-10") < backup_order("20261127T234513Z"));
        assert_eq!(backup_order(".pending-x"), None);
        assert_eq!(backup_order("notes"), None);
    }
}
