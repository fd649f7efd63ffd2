//! PKCS#12 keystores beside the PEM files of a set: `DIR/NAME.p12` (the private key of
//! NAME.key with NAME.crt and its CA) and `DIR/truststore.p12` (the CA certificates of
//! ca.crt as trusted entries). Reads the set, builds with [`crate::pki::pkcs12`], writes
//! through [`crate::write`] (atomic, 0600 keystores, backups on replace).
//!
//! [`refresh_existing`] is for `renew` and `ca rotate`: it rebuilds the keystores that
//! already exist, with the protection each was written with.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::input;
use crate::pki::pkcs12::{self, Password, Protection};
use crate::pki::{PrivateKey, certificate};
use crate::write::{Overwrite, PlannedFile, WriteOutcome};

/// Environment variable holding the keystore password.
pub const PASSWORD_ENV: &str = "OTEL_PKI_KEYSTORE_PASSWORD";

/// File name of the truststore.
pub const TRUSTSTORE: &str = "truststore.p12";

/// One entry of a keystore, for reports.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Entry {
    /// The file holding it.
    pub file: PathBuf,
    /// Its alias (PKCS#12 friendlyName, keytool's alias).
    pub alias: String,
    /// `private_key` (keytool: PrivateKeyEntry) or `trusted_certificate` (trustedCertEntry).
    pub kind: String,
    /// Subject of the certificate (the leaf for a private key entry).
    pub subject: String,
    /// Number of certificates in the chain (1 for a trusted certificate).
    pub chain_length: usize,
}

/// What to build.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The set directory.
    pub dir: &'a Path,
    /// Leaf names whose NAME.p12 to write.
    pub names: Vec<String>,
    /// Also write truststore.p12.
    pub truststore: bool,
    /// Encryption and MAC.
    pub protection: Protection,
    /// Replace existing files (with backups).
    pub overwrite: Overwrite,
}

/// The password from `--password-file FILE` (first line, CR LF stripped) or
/// `$OTEL_PKI_KEYSTORE_PASSWORD`.
pub fn password(file: Option<&Path>) -> Result<Password> {
    if let Some(path) = file {
        let bytes = input::read(path, input::KEY_LIMIT, "password file")?;
        let first = bytes
            .split(|byte| *byte == b'\n')
            .next()
            .unwrap_or_default();
        let first = first.strip_suffix(b"\r").unwrap_or(first).to_vec();
        return Ok(Password::new(
            first,
            &format!("--password-file `{}`", path.display()),
        )?);
    }
    match std::env::var_os(PASSWORD_ENV) {
        Some(value) => Ok(Password::new(
            value.into_encoded_bytes(),
            &format!("${PASSWORD_ENV}"),
        )?),
        None => bail!(
            "no keystore password: pass --password-file FILE or set {PASSWORD_ENV} (there is no prompt and no password flag)"
        ),
    }
}

/// The files of `plan`, built in memory (nothing written), with their entries.
pub fn build(plan: &Plan<'_>, password: &Password) -> Result<(Vec<PlannedFile>, Vec<Entry>)> {
    let ca_path = plan.dir.join(crate::set::names::CA_CERT);
    let cas = read_certificates(&ca_path)?;
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for name in &plan.names {
        let (file, entry) = build_keystore(plan.dir, name, &cas, password, plan.protection)?;
        files.push(file);
        entries.push(entry);
    }
    if plan.truststore {
        let aliases: Vec<(String, Vec<u8>)> = cas
            .iter()
            .enumerate()
            .map(|(index, der)| {
                let alias = if index == 0 {
                    "ca".to_owned()
                } else {
                    format!("ca-{}", index + 1)
                };
                (alias, der.clone())
            })
            .collect();
        let bytes = pkcs12::truststore(&aliases, password, plan.protection)?;
        for (alias, der) in &aliases {
            entries.push(Entry {
                file: plan.dir.join(TRUSTSTORE),
                alias: alias.clone(),
                kind: "trusted_certificate".into(),
                subject: subject(der),
                chain_length: 1,
            });
        }
        // No secret inside: readable like ca.crt.
        files.push(PlannedFile::public(TRUSTSTORE, bytes));
    }
    Ok((files, entries))
}

/// Builds and writes the files of `plan`, all or none.
pub fn write(plan: &Plan<'_>, password: &Password) -> Result<(WriteOutcome, Vec<Entry>)> {
    let (files, entries) = build(plan, password)?;
    let outcome = crate::set::write(plan.dir, &files, plan.overwrite)?;
    Ok((outcome, entries))
}

/// Rebuilds the keystores of `dir` that already exist (`NAME.p12` beside `NAME.crt` and
/// `NAME.key`, and `truststore.p12`) from the current PEM files, each with the protection
/// it had; the previous files go to `DIR/backup/`. For `renew` and `ca rotate`, after the
/// PEM files changed. Returns what was written (nothing when the set has no keystore).
///
/// The password must open every existing keystore: a keystore it cannot open is an error
/// naming it and nothing is written.
pub fn refresh_existing(dir: &Path, password: &Password) -> Result<Option<WriteOutcome>> {
    let mut modern = Plan {
        dir,
        names: Vec::new(),
        truststore: false,
        protection: Protection::Modern,
        overwrite: Overwrite::Replace,
    };
    let mut legacy = Plan {
        protection: Protection::Legacy,
        names: Vec::new(),
        truststore: false,
        ..modern
    };
    let listing =
        std::fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?;
    for entry in listing.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file_name.strip_suffix(".p12") else {
            continue;
        };
        if stem.is_empty() || stem.starts_with('.') {
            continue;
        }
        let path = dir.join(&file_name);
        let bytes = input::read(&path, input::CERTIFICATE_LIMIT, "keystore")?;
        pkcs12::open(&bytes, password, &path.display().to_string())?;
        let plan = match Protection::of(&bytes) {
            Protection::Modern => &mut modern,
            Protection::Legacy => &mut legacy,
        };
        if file_name == TRUSTSTORE {
            plan.truststore = true;
        } else if dir.join(format!("{stem}.crt")).exists()
            && dir.join(format!("{stem}.key")).exists()
        {
            plan.names.push(stem.to_owned());
        }
    }
    let mut files = Vec::new();
    for plan in [&modern, &legacy] {
        if plan.truststore || !plan.names.is_empty() {
            files.extend(build(plan, password)?.0);
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::set::write(dir, &files, Overwrite::Replace)?))
}

/// What [`sync_after_change`] did to the keystores of a set.
#[derive(Debug)]
pub enum Sync {
    /// The set has no keystore.
    None,
    /// The keystores were rebuilt from the new PEM files.
    Refreshed(WriteOutcome),
    /// The keystores exist but no password was given: they still hold the previous
    /// certificates. The warning names them and the command that rebuilds them.
    Stale(String),
}

/// Keeps the keystores of `dir` in step after `renew` or `ca rotate` changed its PEM files:
/// with the password in [`PASSWORD_ENV`] they are rebuilt now, each with the protection it
/// had (see [`refresh_existing`]); without one, the caller warns (a command that renews
/// certificates never fails because of a keystore it was not asked about).
pub fn sync_after_change(dir: &Path) -> Result<Sync> {
    let names = existing_keystores(dir);
    if names.is_empty() {
        return Ok(Sync::None);
    }
    if std::env::var_os(PASSWORD_ENV).is_none_or(|value| value.is_empty()) {
        let leaves: Vec<&str> = names
            .iter()
            .filter_map(|name| name.strip_suffix(".p12"))
            .filter(|stem| format!("{stem}.p12") != TRUSTSTORE)
            .collect();
        let mut command = String::from("otel-pki keystore");
        if !leaves.is_empty() {
            command.push_str(&format!(" --name {}", leaves.join(",")));
        }
        if names.iter().any(|name| name == TRUSTSTORE) {
            command.push_str(" --truststore");
        }
        command.push_str(&crate::set::dir_flag(dir));
        command.push_str(" --force");
        return Ok(Sync::Stale(format!(
            "{} in `{}` still hold the previous certificates: set {PASSWORD_ENV} to keep keystores in step, or run `{command}` (add --legacy for a legacy keystore)",
            names.join(", "),
            dir.display()
        )));
    }
    let password = password(None)?;
    Ok(match refresh_existing(dir, &password)? {
        Some(outcome) => Sync::Refreshed(outcome),
        None => Sync::None,
    })
}

/// The `*.p12` file names in `dir`, sorted.
fn existing_keystores(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.len() > 4 && name.ends_with(".p12") && !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn build_keystore(
    dir: &Path,
    name: &str,
    cas: &[Vec<u8>],
    password: &Password,
    protection: Protection,
) -> Result<(PlannedFile, Entry)> {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    let chain = read_certificates(&cert_path)?;
    let leaf = chain[0].clone();
    let key_bytes = input::read(&key_path, input::KEY_LIMIT, "private key")?;
    let key = PrivateKey::from_pem_or_der(&key_bytes, &key_path.display().to_string())?;
    if !key.matches_certificate(&leaf) {
        bail!(
            "`{}` does not belong to `{}` (a renewal may have run meanwhile); run the command again, or check the pair with `otel-pki check --dir {}`",
            key_path.display(),
            cert_path.display(),
            dir.display()
        );
    }
    let parsed = certificate::parse(&leaf)
        .map_err(|reason| anyhow::anyhow!("`{}`: {reason}", cert_path.display()))?;
    if parsed.is_ca() {
        bail!(
            "`{}` is a CA certificate; a keystore is for a leaf (server, client, …). The CA goes into the truststore (--truststore)",
            cert_path.display()
        );
    }
    // The chain: the leaf, any intermediates in NAME.crt, then the CA of ca.crt that
    // issued the last of them.
    let mut full: Vec<Vec<u8>> = chain;
    let last = full.last().cloned().unwrap_or_default();
    let issuer = cas.iter().find(|ca| issued_by(&last, ca)).ok_or_else(|| {
        anyhow::anyhow!(
            "`{}` was not issued by a CA in `{}`; the keystore would not validate. Re-issue it with `otel-pki issue` or check the set with `otel-pki check`",
            cert_path.display(),
            dir.join(crate::set::names::CA_CERT).display()
        )
    })?;
    if !full.contains(issuer) {
        full.push(issuer.clone());
    }
    let bytes = pkcs12::keystore(name, &key, &full, password, protection)?;
    let entry = Entry {
        file: dir.join(format!("{name}.p12")),
        alias: name.to_owned(),
        kind: "private_key".into(),
        subject: subject(&leaf),
        chain_length: full.len(),
    };
    Ok((PlannedFile::key(format!("{name}.p12"), bytes), entry))
}

fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let bytes = input::read(path, input::CERTIFICATE_LIMIT, "certificate")?;
    let certificates = certificate::decode_certificates(&bytes, &path.display().to_string())?;
    if certificates.is_empty() {
        bail!("`{}` holds no certificate", path.display());
    }
    Ok(certificates)
}

/// True when `child` names `parent` as issuer and its signature verifies with its key.
fn issued_by(child: &[u8], parent: &[u8]) -> bool {
    let (Ok(child), Ok(parent)) = (certificate::parse(child), certificate::parse(parent)) else {
        return false;
    };
    child.issuer().as_raw() == parent.subject().as_raw()
        && child.verify_signature(Some(parent.public_key())).is_ok()
}

fn subject(der: &[u8]) -> String {
    certificate::parse(der)
        .map(|parsed| parsed.subject().to_string())
        .unwrap_or_default()
}
