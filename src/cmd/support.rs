//! Helpers shared by several commands: reading files with the path in every error, the CA
//! passphrase, loading a CA, and generating keys (in parallel, with a spinner on a
//! terminal).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::cli::PassphraseArgs;
use crate::output::Output;
use crate::pki::{self, Ca, KeyType, Passphrase, PrivateKey};

/// Environment variable holding the CA key passphrase.
pub const PASSPHRASE_ENV: &str = "OTEL_PKI_CA_PASSPHRASE";

/// Reads a file, naming it in the error: only a regular file (a FIFO or device is refused
/// without blocking), at most [`crate::input::KEY_LIMIT`] for keys and passphrases and
/// [`crate::input::CERTIFICATE_LIMIT`] for anything else (see docs/limits.md).
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    let (limit, kind) = if what.contains("key") || what.contains("passphrase") {
        (crate::input::KEY_LIMIT, "private key or passphrase file")
    } else {
        (crate::input::CERTIFICATE_LIMIT, "certificate or list file")
    };
    crate::input::read(path, limit, kind).map_err(|error| {
        anyhow::anyhow!(
            "cannot read {what} `{}`: {}",
            path.display(),
            error.reason()
        )
    })
}

/// The path as shown in messages and reports.
pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The passphrase from `--passphrase-file` or `OTEL_PKI_CA_PASSPHRASE`, if either is given.
pub fn passphrase(args: &PassphraseArgs) -> Result<Option<Passphrase>> {
    if let Some(path) = &args.passphrase_file {
        let bytes = read(path, "passphrase file")?;
        let first_line = bytes
            .split(|byte| *byte == b'\n')
            .next()
            .unwrap_or_default();
        let secret = first_line
            .strip_suffix(b"\r")
            .unwrap_or(first_line)
            .to_vec();
        let source = format!("--passphrase-file `{}`", path.display());
        return Ok(Some(Passphrase::new(secret, source)?));
    }
    match std::env::var_os(PASSPHRASE_ENV) {
        Some(value) => {
            let source = format!("${PASSPHRASE_ENV}");
            Ok(Some(Passphrase::new(value.into_encoded_bytes(), source)?))
        }
        None => Ok(None),
    }
}

/// The warning for a `--passphrase-file` every user may read (as ssh judges key files,
/// but a warning, not a refusal: the passphrase is already exposed, and files made under
/// the usual 022 umask keep working). Given once the command succeeded, so that a refusal
/// stays one line.
pub fn passphrase_file_warning(args: &PassphraseArgs) -> Option<String> {
    let path = args.passphrase_file.as_ref()?;
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).ok()?.permissions());
    (mode & 0o004 != 0).then(|| {
        format!(
            "--passphrase-file `{}` is readable by every user (mode {:04o}): anyone on this machine can read the CA key's passphrase; run `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            crate::set::shell_word(&path.display().to_string())
        )
    })
}

/// Where a CA certificate and key are, from `--ca-cert`/`--ca-key` or the set directory.
pub fn ca_paths(
    dir: &Path,
    ca_cert: Option<&PathBuf>,
    ca_key: Option<&PathBuf>,
) -> (PathBuf, PathBuf) {
    (
        ca_cert.cloned().unwrap_or_else(|| dir.join("ca.crt")),
        ca_key.cloned().unwrap_or_else(|| dir.join("ca.key")),
    )
}

/// Loads a CA for signing: the first certificate of `cert_path` and the (possibly
/// encrypted) key at `key_path`, checked to be a CA and to belong together.
pub fn load_ca(cert_path: &Path, key_path: &Path, passphrase: Option<&Passphrase>) -> Result<Ca> {
    let cert_name = display(cert_path);
    let key_name = display(key_path);
    let cert_bytes = read(cert_path, "CA certificate").map_err(|error| {
        if cert_path.file_name().is_some_and(|name| name == "ca.crt") && !cert_path.exists() {
            error.context(format!(
                "no CA in `{}`; create one with `otel-pki init --dir {}` or pass --ca-cert and --ca-key",
                cert_path.parent().map(display).unwrap_or_default(),
                cert_path.parent().map(display).unwrap_or_default()
            ))
        } else {
            error
        }
    })?;
    let certificate = pki::certificate::decode_certificates(&cert_bytes, &cert_name)?
        .into_iter()
        .next()
        .context("no certificate")?;
    let key_bytes = read(key_path, "CA key")?;
    let key = PrivateKey::from_pem_with_passphrase(&key_bytes, &key_name, passphrase)?;
    let ca = Ca::new(certificate, &cert_name, key).map_err(|error| match error {
        pki::PkiError::KeyMismatch { .. } => pki::PkiError::KeyMismatch {
            key_path: key_name.clone(),
            cert_path: cert_name.clone(),
        },
        other => other,
    })?;
    Ok(ca)
}

/// Generates one key per entry, in parallel when any is slow (RSA), showing a spinner on
/// stderr when it is a terminal.
pub fn generate_keys(key_types: &[KeyType], output: &Output) -> Result<Vec<PrivateKey>> {
    if !key_types.iter().any(|key_type| key_type.is_slow()) {
        return key_types
            .iter()
            .map(|key_type| PrivateKey::generate(*key_type).map_err(Into::into))
            .collect();
    }
    let spinner = (!output.quiet && std::io::stderr().is_terminal()).then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        let names: Vec<&str> = key_types
            .iter()
            .map(|key_type| key_type.description())
            .collect();
        spinner.set_message(format!(
            "generating {} keys ({})",
            key_types.len(),
            names.join(", ")
        ));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let keys = std::thread::scope(|scope| {
        let handles: Vec<_> = key_types
            .iter()
            .map(|key_type| scope.spawn(move || PrivateKey::generate(*key_type)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(result) => result.map_err(anyhow::Error::from),
                Err(_) => Err(anyhow::anyhow!("key generation thread panicked")),
            })
            .collect::<Result<Vec<_>>>()
    });
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    keys
}

/// The warning for a key type with known interoperability problems ([`KeyType::warning`]).
pub fn key_type_warning(key_type: KeyType) -> Option<String> {
    key_type.warning().map(str::to_owned)
}

/// The warnings of [`key_type_warning`] for `key_types`, each once.
pub fn key_type_warnings(key_types: &[KeyType]) -> Vec<String> {
    let mut warnings: Vec<String> = Vec::new();
    for key_type in key_types {
        if let Some(warning) = key_type_warning(*key_type)
            && !warnings.contains(&warning)
        {
            warnings.push(warning);
        }
    }
    warnings
}

/// Warns about key types with known interoperability problems.
pub fn warn_key_types(key_types: &[KeyType], output: &Output) {
    for warning in key_type_warnings(key_types) {
        output.warn(&warning);
    }
}

/// The names a set uses for its own files, which no leaf certificate may take, with the
/// reason: the CA (`ca`), a rollover's next and previous CA and trust bundle (`ca-next`,
/// `ca-previous`, `ca-bundle`), the intermediate CA of `k8s cert-manager --intermediate`,
/// the backups (`backup/`) and every hidden name (`..data`, generation directories,
/// temporary and recovery files all start with `.`). Compared without case, so a name
/// cannot collide on a case-insensitive file system either. The one list of them.
pub fn reserved_name(name: &str) -> Option<&'static str> {
    if name.starts_with('.') {
        return Some(
            "names starting with `.` are the set's own hidden files (`..data`, generations, temporary files)",
        );
    }
    match name.to_ascii_lowercase().as_str() {
        "ca" => Some("ca.crt and ca.key are the CA's files"),
        "ca-next" => Some(
            "ca-next.crt and ca-next.key are the next CA of a rollover (`otel-pki ca rotate --stage`)",
        ),
        "ca-previous" => Some(
            "ca-previous.crt and ca-previous.key are the previous CA of a rollover (`otel-pki ca rotate --promote`)",
        ),
        "ca-bundle" => Some("ca-bundle.crt is the trust bundle of a CA rollover"),
        "intermediate-ca" => Some(
            "intermediate-ca.crt and intermediate-ca.key are the intermediate CA of `otel-pki k8s cert-manager --intermediate`",
        ),
        "backup" => Some("backup/ holds the set's backups"),
        _ => None,
    }
}

/// A leaf's file name stem from `--name` (or another `flag`): a plain file name
/// ([`file_stem`]) that is not one of the set's own names ([`reserved_name`]).
pub fn leaf_stem(name: &str, flag: &str) -> Result<String> {
    let stem = file_stem(name, flag)?;
    if let Some(reason) = reserved_name(&stem) {
        bail!("invalid {flag} `{name}`: {reason}; choose another name");
    }
    Ok(stem)
}

/// Refuses a file name that would escape the directory or is not a plain name.
pub fn file_stem(name: &str, flag: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'));
    if !valid {
        bail!(
            "invalid {flag} `{name}`: use letters, digits, `-`, `_` and `.` only (it becomes `{name}.crt` and `{name}.key`)"
        );
    }
    Ok(name.strip_suffix(".crt").unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sets_own_names_are_reserved_without_case() {
        for name in [
            "ca",
            "CA",
            "ca-next",
            "ca-previous",
            "Ca-Bundle",
            "intermediate-ca",
            "backup",
            "..data",
            ".x",
        ] {
            assert!(reserved_name(name).is_some(), "{name}");
        }
        for name in ["server", "client", "cax", "ca-1", "backups", "agent.ca"] {
            assert_eq!(reserved_name(name), None, "{name}");
        }
        assert_eq!(leaf_stem("agent.crt", "--name").unwrap(), "agent");
        let error = leaf_stem("ca.crt", "--name").unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid --name `ca.crt`: ca.crt and ca.key are the CA's files; choose another name"
        );
        assert!(leaf_stem("../x", "--name").is_err());
    }

    #[test]
    fn the_ed25519_warning_names_grpc_core_and_the_java_sdk() {
        let warnings = key_type_warnings(&[KeyType::Ed25519, KeyType::EcdsaP256, KeyType::Ed25519]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("gRPC's C core"), "{}", warnings[0]);
        assert!(
            warnings[0].contains("OpenTelemetry Java SDK"),
            "{}",
            warnings[0]
        );
        assert!(key_type_warnings(&[KeyType::Rsa2048, KeyType::EcdsaP384]).is_empty());
    }
}
