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

/// Warns about key types with known interoperability problems.
pub fn warn_key_types(key_types: &[KeyType], output: &Output) {
    let mut warned = Vec::new();
    for key_type in key_types {
        if let Some(warning) = key_type.warning().filter(|_| !warned.contains(key_type)) {
            output.warn(warning);
            warned.push(*key_type);
        }
    }
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
