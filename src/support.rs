//! Helpers shared by several commands (`cmd/` files never import each other): reading files
//! with the path in every error, the CA passphrase, loading a CA and the trusted CAs of
//! `--ca`, generating keys (in parallel, with a spinner on a terminal), and the text shared by
//! several reports (a certificate as `inspect` shows it, the status lines of writers).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use std::fmt::Write as _;
use time::OffsetDateTime;

use crate::cli::PassphraseArgs;
use crate::input;
use crate::output::{Output, Style};
use crate::pki::verify::TrustedCa;
use crate::pki::{self, Ca, KeyType, Passphrase, PrivateKey};
use crate::pki::{CertSummary, Role};
use crate::write::WriteOutcome;

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
        ca_cert
            .cloned()
            .unwrap_or_else(|| dir.join(crate::set::names::CA_CERT)),
        ca_key
            .cloned()
            .unwrap_or_else(|| dir.join(crate::set::names::CA_KEY)),
    )
}

/// Loads a CA for signing: the first certificate of `cert_path` and the (possibly
/// encrypted) key at `key_path`, checked to be a CA and to belong together.
pub fn load_ca(cert_path: &Path, key_path: &Path, passphrase: Option<&Passphrase>) -> Result<Ca> {
    let cert_name = display(cert_path);
    let key_name = display(key_path);
    let cert_bytes = read(cert_path, "CA certificate").map_err(|error| {
        if cert_path.file_name().is_some_and(|name| name == crate::set::names::CA_CERT) && !cert_path.exists() {
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
    crate::set::names::reserved(name)
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

/// `created server certificate "localhost" (ECDSA P-256, serverAuth) for localhost,
/// 127.0.0.1, ::1; expires 2027-11-27 (365 days)`.
pub fn created_line(summary: &CertSummary) -> String {
    let name = summary.common_name.as_deref().unwrap_or(&summary.subject);
    let what = match summary.role {
        pki::Role::Ca => "CA".to_owned(),
        role => format!("{} certificate", role.name()),
    };
    let mut purposes = summary.extended_key_usage.join("+");
    if !purposes.is_empty() {
        purposes.insert_str(0, ", ");
    }
    let names: Vec<&str> = summary
        .sans
        .hosts()
        .chain(summary.sans.uri.iter().map(String::as_str))
        .chain(summary.sans.email.iter().map(String::as_str))
        .collect();
    let for_names = if names.is_empty() {
        String::new()
    } else {
        format!(" for {}", names.join(", "))
    };
    // The lifetime as requested: notBefore is back-dated by a few minutes.
    let lifetime = pki::Validity::between(summary.not_before, summary.not_after).issued_span();
    format!(
        "created {what} \"{name}\" ({}{purposes}){for_names}; valid {} until {}",
        summary.public_key.description,
        pki::lifetime::humanize(lifetime),
        summary.not_after.date(),
    )
}

/// `wrote otel-certs: ca.key ca.crt … (keys 0600, certificates 0644)`.
pub fn written_line(dir: &std::path::Path, outcome: &WriteOutcome) -> String {
    let names: Vec<String> = outcome
        .files
        .iter()
        .filter_map(|file| {
            file.path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .collect();
    format!(
        "wrote {}: {} (keys 0600, certificates 0644)",
        dir.display(),
        names.join(" ")
    )
}

/// Reads every `--ca` file; all CA certificates in them are trusted.
pub fn trusted_cas(paths: &[PathBuf]) -> Result<(Vec<TrustedCa>, Vec<String>)> {
    let mut trusted = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        let name = display(path);
        let (cas, ignored) = TrustedCa::from_file(input::read_certificates(path)?, &name)?;
        if cas.is_empty() {
            bail!(
                "`{name}` holds no CA certificate (basicConstraints CA:TRUE); pass the CA file, usually `ca.crt`"
            );
        }
        trusted.extend(cas);
        warnings.extend(ignored);
    }
    Ok((trusted, warnings))
}

/// Appends the text form of one certificate: a header line, then aligned fields.
///
/// ```text
/// otel-certs/server.crt  server  ECDSA P-256
///   subject  CN=localhost
///   issuer   CN=OTel Telemetry CA
///   SANs     DNS:localhost, IP:127.0.0.1, IP:::1
///   usage    digitalSignature; serverAuth
///   valid    2026-11-27 23:35 UTC → 2027-11-27 23:40 UTC (364 days left)
///   serial   3f:…
///   sha256   AB:CD:…
///   key      otel-certs/server.key matches
/// ```
pub fn render_certificate(out: &mut String, summary: &CertSummary, output: &Output) {
    let location = if summary.index > 0 {
        format!("{}#{}", summary.path, summary.index)
    } else {
        summary.path.clone()
    };
    let _ = writeln!(
        out,
        "{}  {}  {}",
        output.paint(Style::Bold, &location),
        summary.role.name(),
        summary.public_key.description
    );
    let field = |out: &mut String, label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<8} {value}");
    };
    field(out, "subject", &summary.subject);
    field(
        out,
        "issuer",
        &if summary.self_signed {
            format!("{} (self-signed)", summary.issuer)
        } else {
            summary.issuer.clone()
        },
    );
    let sans = summary
        .sans
        .dns
        .iter()
        .map(|name| format!("DNS:{name}"))
        .chain(summary.sans.ip.iter().map(|ip| format!("IP:{ip}")))
        .chain(summary.sans.uri.iter().map(|uri| format!("URI:{uri}")))
        .chain(
            summary
                .sans
                .email
                .iter()
                .map(|email| format!("email:{email}")),
        )
        .chain(summary.sans.other.iter().cloned())
        .collect::<Vec<_>>();
    if !sans.is_empty() {
        field(out, "SANs", &sans.join(", "));
    } else if matches!(summary.role, Role::Server | Role::ServerClient) {
        field(
            out,
            "SANs",
            &output.paint(
                Style::Bad,
                "none (no TLS client will accept it as a server)",
            ),
        );
    }
    let mut usage = summary.key_usage.join(", ");
    if !summary.extended_key_usage.is_empty() {
        if !usage.is_empty() {
            usage.push_str("; ");
        }
        usage.push_str(&summary.extended_key_usage.join(", "));
    }
    if let Some(bc) = summary.basic_constraints.as_ref().filter(|bc| bc.ca) {
        usage.push_str(&match bc.path_len {
            Some(len) => format!("; CA (path length {len})"),
            None => "; CA".to_owned(),
        });
    }
    field(
        out,
        "usage",
        if usage.is_empty() { "(none)" } else { &usage },
    );
    field(out, "valid", &validity_text(summary, output));
    field(out, "serial", &summary.serial);
    field(out, "sha256", &summary.sha256_fingerprint);
    if let Some(key) = &summary.key_file {
        let verdict = match (key.matches, key.encrypted, &key.error) {
            (Some(true), _, _) => output.paint(Style::Good, "matches"),
            (Some(false), _, _) => output.paint(Style::Bad, "DOES NOT MATCH"),
            (None, true, _) => "encrypted (not compared)".to_owned(),
            (None, false, Some(error)) => output.paint(Style::Bad, &format!("unreadable: {error}")),
            (None, false, None) => "not compared".to_owned(),
        };
        field(out, "key", &format!("{} {verdict}", key.path));
    }
}

fn validity_text(summary: &CertSummary, output: &Output) -> String {
    let format =
        |at: OffsetDateTime| format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute());
    let days = summary.days_remaining;
    let state = if summary.expired {
        output.paint(
            Style::Bad,
            &match -days {
                0 => "EXPIRED today".to_owned(),
                1 => "EXPIRED 1 day ago".to_owned(),
                ago => format!("EXPIRED {ago} days ago"),
            },
        )
    } else if summary.not_yet_valid {
        output.paint(Style::Warn, "NOT YET VALID")
    } else if days < 30 {
        output.paint(Style::Warn, &format!("{days} days left"))
    } else {
        format!("{days} days left")
    };
    format!(
        "{} → {} ({state})",
        format(summary.not_before),
        format(summary.not_after)
    )
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
