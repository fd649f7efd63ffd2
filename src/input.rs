//! Reading what other people made, safely: every input is read with a size cap, and only
//! regular files are read at all. A FIFO, a device (`/dev/zero`) or a socket is refused before
//! any blocking read, so no input can hang otel-pki or exhaust its memory.
//!
//! Every command that reads a certificate, key, configuration or CA file goes through
//! [`read`] (or [`read_stdin`] for `-`), with one of the limits below.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

/// The largest certificate file or bundle read (a bundle of 10,000 certificates is ~15 MB).
pub const CERTIFICATE_LIMIT: u64 = 64 * 1024 * 1024;
/// The largest private-key or passphrase file read (an RSA-16384 key is ~13 KB).
pub const KEY_LIMIT: u64 = 1024 * 1024;
/// The largest configuration file read (a 100,000-line Collector configuration is ~2 MB).
pub const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;

/// Why an input could not be read. Each variant names the file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The path exists but is not a regular file.
    #[error("`{}` is {kind}, not a regular file: give the path of a file", .path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a directory", "a FIFO", "a character device", ...).
        kind: &'static str,
    },

    /// The input is larger than the limit.
    #[error("`{}` is larger than {} MiB, far more than any real {what}: give the right file", .path.display(), .limit / (1024 * 1024))]
    TooLarge {
        /// The path (`-` for standard input).
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
        /// What such an input holds ("certificate bundle", "private key", ...).
        what: &'static str,
    },

    /// Opening or reading failed.
    #[error("cannot read `{}`: {}", .path.display(), reason(.source))]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl InputError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::NotRegular { path, .. }
            | InputError::TooLarge { path, .. }
            | InputError::Io { path, .. } => path,
        }
    }

    /// The reason without the path, for messages that name the file themselves.
    pub fn reason(&self) -> String {
        match self {
            InputError::NotRegular { kind, .. } => format!("it is {kind}, not a regular file"),
            InputError::TooLarge { limit, what, .. } => format!(
                "it is larger than {} MiB, far more than any real {what}",
                limit / (1024 * 1024)
            ),
            InputError::Io { source, .. } => reason(source),
        }
    }

    /// True when the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

fn reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "the file does not exist".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            // The OS text without Rust's " (os error N)" suffix.
            let text = error.to_string();
            match text.rfind(" (os error") {
                Some(end) => text[..end].to_owned(),
                None => text,
            }
        }
    }
}

/// Reads the whole regular file at `path` (symbolic links followed), at most `limit` bytes;
/// `what` names the kind of input in the size error ("certificate bundle").
///
/// The file is opened without blocking (a FIFO with no writer would otherwise block `open`)
/// and checked to be a regular file on the open handle, so it cannot be swapped between the
/// check and the read.
pub fn read(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let (file, size) = open(path, limit, what)?;
    // The size is known: one allocation of the right size instead of doubling (a 7 MB
    // bundle would otherwise peak at both its 4 MiB and 8 MiB buffers).
    read_capped(file, path, limit, what, usize::try_from(size).unwrap_or(0))
}

/// Opens the regular file at `path` for reading in parts, as [`read`] opens it, and
/// returns it with its size (at most `limit` bytes when opened; [`read_more`] keeps to the
/// limit if it grows).
pub fn open(path: &Path, limit: u64, what: &'static str) -> Result<(File, u64), InputError> {
    let io = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    let file = open_nonblocking(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_owned(),
            kind: kind_of(&metadata),
        });
    }
    if metadata.len() > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            limit,
            what,
        });
    }
    Ok((file, metadata.len()))
}

/// Appends up to `count` more bytes of `file` (opened by [`open`]) to `buffer`, never
/// beyond `limit` bytes read in all (`read_so_far` before this call); returns how many.
/// Fewer than `count` means the end of the file.
pub fn read_more(
    file: &mut File,
    buffer: &mut Vec<u8>,
    count: usize,
    read_so_far: u64,
    (path, limit, what): (&Path, u64, &'static str),
) -> Result<usize, InputError> {
    let before = buffer.len();
    io::Read::take(&mut *file, count as u64)
        .read_to_end(buffer)
        .map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
    let added = buffer.len() - before;
    if read_so_far + added as u64 > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            limit,
            what,
        });
    }
    Ok(added)
}

/// Like [`read`], for text: invalid UTF-8 is an error naming the file.
pub fn read_to_string(path: &Path, limit: u64, what: &'static str) -> Result<String, InputError> {
    let bytes = read(path, limit, what)?;
    String::from_utf8(bytes).map_err(|_| InputError::Io {
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })
}

/// Reads standard input, at most `limit` bytes (named `-` in errors).
pub fn read_stdin(limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    read_capped(io::stdin().lock(), Path::new("-"), limit, what, 0)
}

/// Reads and decodes every certificate of a file (DER bytes each), bounded by
/// [`CERTIFICATE_LIMIT`]; every error names the file and says what is wrong.
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, crate::pki::PkiError> {
    let name = path.display().to_string();
    let bytes = read(path, CERTIFICATE_LIMIT, "certificate bundle").map_err(|error| {
        crate::pki::PkiError::InvalidCertificate {
            path: name.clone(),
            reason: error.reason(),
        }
    })?;
    crate::pki::certificate::decode_certificates(&bytes, &name)
}

/// What a non-regular file is, for messages and for skipping it in a directory walk.
/// `None` for a regular file (or one that does not exist).
pub fn special_kind(path: &Path) -> Option<&'static str> {
    let metadata = std::fs::metadata(path).ok()?;
    (!metadata.is_file()).then(|| kind_of(&metadata))
}

fn read_capped(
    reader: impl io::Read,
    path: &Path,
    limit: u64,
    what: &'static str,
    expected: usize,
) -> Result<Vec<u8>, InputError> {
    // One byte more than expected, so reaching the end needs no second allocation.
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            limit,
            what,
        });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    // Reads of a regular file never block; clear the flag anyway so nothing else is surprised.
    let _ = rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty());
    Ok(file)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_and_refuses_one_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.crt");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read(&path, 5, "certificate").unwrap(), b"12345");
        let error = read(&path, 4, "certificate").unwrap_err();
        assert!(
            matches!(error, InputError::TooLarge { limit: 4, .. }),
            "{error}"
        );
    }

    #[test]
    fn devices_and_directories_are_refused_without_reading() {
        let error = read(Path::new("/dev/zero"), 1024, "certificate").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is a character device, not a regular file"),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let error = read(dir.path(), 1024, "certificate").unwrap_err();
        assert!(matches!(
            error,
            InputError::NotRegular {
                kind: "a directory",
                ..
            }
        ));
    }

    // rustix has no mknodat on macOS.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.crt");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let error = read(&path, 1024, "certificate").unwrap_err();
        assert!(matches!(error, InputError::NotRegular { .. }), "{error}");
        assert_eq!(special_kind(&path), Some("a FIFO (named pipe)"));
    }

    #[test]
    fn a_missing_file_says_so() {
        let error = read(Path::new("/nonexistent/a.crt"), 1024, "certificate").unwrap_err();
        assert!(error.is_not_found());
        assert_eq!(
            error.to_string(),
            "cannot read `/nonexistent/a.crt`: the file does not exist"
        );
    }
}
