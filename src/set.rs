//! A certificate set on disk: which `NAME.crt`/`NAME.key` pairs a directory holds, and the
//! facts about each file that `check`, `lint-config`, `renew` and `k8s` judge (readable,
//! parsed, permissions, encrypted, key matches). Facts only: the verdicts belong to the
//! commands.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pki::certificate;
use crate::pki::key::{self, KeyFile};
use crate::pki::{PkiError, PrivateKey};
use crate::write::BACKUP_DIR;

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
    let bytes = fs::read(path).map_err(|error| PkiError::InvalidCertificate {
        path: display.clone(),
        reason: read_reason(&error),
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
    let mode = metadata.permissions().mode() & 0o7777;
    facts.mode = Some(mode);
    facts.group_or_other_readable = mode & 0o044 != 0;
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            facts.error = Some(read_reason(&error));
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

/// True when others may write to `dir` (anyone could swap the files).
pub fn world_writable(dir: &Path) -> bool {
    fs::metadata(dir).is_ok_and(|metadata| metadata.permissions().mode() & 0o002 != 0)
}

fn read_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "the file does not exist".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("cannot read: {error}"),
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
}
