//! The set's lock: one writer at a time.
//!
//! Every command that writes to a set (init, issue, renew, `renew --rollback`, every
//! `ca rotate` stage, `k8s` writing an intermediate CA) holds an exclusive `flock(2)` on the
//! set directory itself for its whole read-decide-write. The lock is released when the
//! process ends, however it ends, so a killed writer never leaves the set locked. While it
//! is held, [`HOLDER_FILE`] in the directory says who holds it (pid, command, since when),
//! for the message of a writer that gave up waiting.
//!
//! A second writer waits at most [`timeout`] (`--lock-timeout`, `OTEL_PKI_LOCK_TIMEOUT`,
//! default [`DEFAULT_TIMEOUT`]) and then fails naming the directory and the holder.
//!
//! Taking the lock (outermost, not nested) also completes or undoes what interrupted runs
//! left behind ([`crate::set::repair`]), and refuses a directory that others may write.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::write::{DIR_MODE, WriteError, io_error};

/// The file naming the lock's holder while it is held (the lock itself is on the directory).
pub const HOLDER_FILE: &str = ".otel-pki.lock";
/// How long a writer waits for another one by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The environment variable behind `--lock-timeout`.
pub const TIMEOUT_ENV: &str = "OTEL_PKI_LOCK_TIMEOUT";

static TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets how long writers of this process wait for a set's lock (`--lock-timeout`); the
/// first call wins.
pub fn set_timeout(timeout: Duration) {
    let _ = TIMEOUT.set(timeout);
}

/// How long a writer waits for a set's lock.
pub fn timeout() -> Duration {
    *TIMEOUT.get().unwrap_or(&DEFAULT_TIMEOUT)
}

/// The directories (device, inode) this process holds the lock of: taking it again is a
/// no-op (a command that holds it calls writers that take it too).
fn held() -> &'static Mutex<HashSet<(u64, u64)>> {
    static HELD: OnceLock<Mutex<HashSet<(u64, u64)>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashSet::new()))
}

/// An exclusive lock on a set directory, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    dir: PathBuf,
    /// The open directory holding the `flock`, or `None` when this process already held it.
    handle: Option<File>,
    identity: (u64, u64),
    /// Directories created to lock them, removed again if nothing else was put in them.
    created: Vec<PathBuf>,
}

impl Lock {
    /// Takes the lock of an existing set directory (see the module documentation), then
    /// completes or undoes what interrupted runs left behind.
    pub fn acquire(dir: &Path) -> Result<Lock, WriteError> {
        Self::take(dir, Vec::new())
    }

    /// Like [`Lock::acquire`], creating `dir` (mode 0700, with missing parents) if it does
    /// not exist: for the commands that create a set. The directories it created are
    /// removed again when the lock is dropped while the set is still empty.
    pub fn acquire_creating(dir: &Path) -> Result<Lock, WriteError> {
        let created = crate::write::ensure_dir(dir, DIR_MODE)?;
        Self::take(dir, created)
    }

    fn take(dir: &Path, created: Vec<PathBuf>) -> Result<Lock, WriteError> {
        let handle = File::open(dir).map_err(io_error("open directory", dir))?;
        let metadata = handle.metadata().map_err(io_error("read", dir))?;
        if !metadata.is_dir() {
            return Err(WriteError::NotADirectory(dir.to_owned()));
        }
        let identity = identity(&metadata);
        if held()
            .lock()
            .map(|set| set.contains(&identity))
            .unwrap_or(false)
        {
            return Ok(Lock {
                dir: dir.to_owned(),
                handle: None,
                identity,
                created: Vec::new(),
            });
        }
        refuse_shared_dir(dir, &metadata)?;
        wait_for(&handle, dir)?;
        if let Ok(mut set) = held().lock() {
            set.insert(identity);
        }
        let lock = Lock {
            dir: dir.to_owned(),
            handle: Some(handle),
            identity,
            created,
        };
        write_holder(dir);
        super::repair(dir)?;
        Ok(lock)
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.handle.is_none() {
            return;
        }
        let _ = fs::remove_file(self.dir.join(HOLDER_FILE));
        if let Ok(mut set) = held().lock() {
            set.remove(&self.identity);
        }
        // A set created only to be locked (the command failed before writing) goes again.
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        // The flock goes with the handle.
    }
}

#[cfg(unix)]
fn identity(metadata: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn identity(_metadata: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Refuses a set directory that its group or others may write: anyone who can write there
/// can swap certificates or plant files beside the keys.
fn refuse_shared_dir(dir: &Path, metadata: &fs::Metadata) -> Result<(), WriteError> {
    match shared_dir_problem(metadata) {
        Some(problem) => Err(WriteError::SharedDirectory {
            dir: dir.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Why a directory with these permissions must not hold keys, if it must not: `mode 0775:
/// members of its group can write to it`.
#[cfg(unix)]
pub fn shared_dir_problem(metadata: &fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    match (mode & 0o002 != 0, mode & 0o020 != 0) {
        (true, _) if sticky => Some(format!(
            "mode {mode:04o}: every user can create files in it, a sticky shared directory like /tmp"
        )),
        (true, _) => Some(format!("mode {mode:04o}: every user can write to it")),
        (false, true) => Some(format!(
            "mode {mode:04o}: members of its group can write to it"
        )),
        (false, false) => None,
    }
}

/// Why a directory with these permissions must not hold keys (never, off unix).
#[cfg(not(unix))]
pub fn shared_dir_problem(_metadata: &fs::Metadata) -> Option<String> {
    None
}

/// Waits for the lock at most [`timeout`].
#[cfg(unix)]
fn wait_for(handle: &File, dir: &Path) -> Result<(), WriteError> {
    use rustix::fs::{FlockOperation, flock};
    let limit = timeout();
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match flock(handle, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(io_error("lock", dir)(error.into())),
        }
        let waited = started.elapsed();
        if waited >= limit {
            return Err(WriteError::Locked {
                dir: dir.to_owned(),
                holder: holder(dir),
                waited: limit,
            });
        }
        std::thread::sleep(pause.min(limit - waited));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

#[cfg(not(unix))]
fn wait_for(_handle: &File, _dir: &Path) -> Result<(), WriteError> {
    Ok(())
}

/// True when another process holds the lock of `dir` right now (for `check`: files a
/// running writer is making are not leftovers).
#[cfg(unix)]
pub fn is_held_elsewhere(dir: &Path) -> bool {
    use rustix::fs::{FlockOperation, flock};
    let Ok(handle) = File::open(dir) else {
        return false;
    };
    if let Ok(metadata) = handle.metadata()
        && held()
            .lock()
            .map(|set| set.contains(&identity(&metadata)))
            .unwrap_or(false)
    {
        return false;
    }
    match flock(&handle, FlockOperation::NonBlockingLockShared) {
        Ok(()) => false,
        Err(error) => error == rustix::io::Errno::WOULDBLOCK,
    }
}

/// True when another process holds the lock of `dir` right now (never, off unix).
#[cfg(not(unix))]
pub fn is_held_elsewhere(_dir: &Path) -> bool {
    false
}

/// Records this process as the holder. Best effort: the lock works without it.
fn write_holder(dir: &Path) {
    let path = dir.join(HOLDER_FILE);
    // Left by a killed holder: we hold the lock now, so it is stale.
    let _ = fs::remove_file(&path);
    let command: Vec<String> = std::env::args()
        .map(|argument| crate::set::shell_word(&argument))
        .collect();
    let mut command = command.join(" ");
    if command.len() > 200 {
        let mut end = 200;
        while !command.is_char_boundary(end) {
            end -= 1;
        }
        command.truncate(end);
        command.push('…');
    }
    let since = crate::write::backup_stamp(time::OffsetDateTime::now_utc());
    let text = format!("pid {} ({command}) since {since}\n", std::process::id());
    if let Ok(mut file) = crate::write::create_new(&path, crate::write::KEY_MODE) {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Who holds the lock, as [`write_holder`] recorded it (read without following links and
/// at most 1 KiB).
fn holder(dir: &Path) -> String {
    let path = dir.join(HOLDER_FILE);
    let text = crate::write::open_nofollow(&path)
        .and_then(|file| {
            let mut text = String::new();
            file.take(1024).read_to_string(&mut text)?;
            Ok(text)
        })
        .unwrap_or_default();
    let line = crate::terminal::escape(text.lines().next().unwrap_or("").trim()).into_owned();
    if line.is_empty() {
        "another otel-pki process".to_owned()
    } else {
        line
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_lock_is_reentrant_names_its_holder_and_goes_with_an_empty_new_set() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("new/set");
        let lock = Lock::acquire_creating(&dir).unwrap();
        let holder = fs::read_to_string(dir.join(HOLDER_FILE)).unwrap();
        assert!(
            holder.starts_with(&format!("pid {} (", std::process::id())),
            "{holder}"
        );
        // The same process takes it again without waiting (a command calling a writer).
        let nested = Lock::acquire(&dir).unwrap();
        assert!(!is_held_elsewhere(&dir));
        drop(nested);
        assert!(dir.join(HOLDER_FILE).exists());
        drop(lock);
        // Nothing was written: the directories made for the lock are gone again.
        assert!(!temp.path().join("new").exists());
    }

    #[test]
    fn shared_directories_are_named_as_such() {
        let temp = tempfile::tempdir().unwrap();
        let problem = |mode| {
            fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode)).unwrap();
            shared_dir_problem(&fs::metadata(temp.path()).unwrap())
        };
        assert_eq!(problem(0o700), None);
        assert_eq!(problem(0o755), None);
        assert!(problem(0o770).unwrap().contains("group"));
        assert!(problem(0o777).unwrap().contains("every user"));
        assert!(problem(0o1777).unwrap().contains("sticky"));
        let error = Lock::acquire(temp.path()).unwrap_err().to_string();
        assert!(error.contains("chmod go-w"), "{error}");
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }
}
