//! Checks of the files a configuration references: they exist, parse, belong together, are
//! not readable by others, are meant for this side of the connection, and are valid for a
//! while yet. Uses the set facts of [`crate::set`].

use std::path::{Path, PathBuf};

use super::lint::{At, Checker, FileChecks, Rule};
use super::yaml::{Entry, join};
use crate::input;
use crate::pki::{CertSummary, certificate as pem, lifetime};
use crate::set::{self, Verdict};

/// What a certificate file is for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Expect {
    /// A receiver's certificate: needs serverAuth.
    ServerCert,
    /// An exporter's certificate: needs clientAuth.
    ClientCert,
    /// `ca_file`/`client_ca_file`: CA certificates.
    Ca,
}

/// The local path of a path in the configuration, after `--mount` rewrites.
fn local(checks: &FileChecks, configured: &str) -> PathBuf {
    let configured = Path::new(configured);
    checks
        .mounts
        .iter()
        .filter_map(|mount| {
            configured
                .strip_prefix(&mount.from)
                .ok()
                .map(|rest| (mount.from.components().count(), mount.to.join(rest)))
        })
        .max_by_key(|(depth, _)| *depth)
        .map_or_else(|| configured.to_owned(), |(_, path)| path)
}

/// `` `/etc/otel/certs/ca.crt` `` or `` `/etc/otel/certs/ca.crt` (here `otel-certs/ca.crt`) ``.
fn shown(configured: &str, local: &Path) -> String {
    if Path::new(configured) == local {
        format!("`{configured}`")
    } else {
        format!("`{configured}` (here `{}`)", local.display())
    }
}

/// The configured path of an entry, unless it is empty or an environment reference.
fn configured(entry: &Entry) -> Option<&str> {
    entry.value.text().filter(|text| !text.contains("${"))
}

/// Checks a certificate file; returns the DER of its first certificate.
pub(super) fn certificate(
    checker: &mut Checker<'_>,
    checks: &FileChecks,
    parent: &str,
    entry: &Entry,
    expect: Expect,
) -> Option<Vec<u8>> {
    let configured = configured(entry)?;
    let path = join(parent, &entry.key);
    let at: At = (entry.line, entry.column);
    let file = local(checks, configured);
    let name = shown(configured, &file);
    // Bounded, and never a blocking read: a FIFO or `/dev/zero` named in a configuration
    // is refused, not read.
    let read = input::read(&file, input::CERTIFICATE_LIMIT, "certificate bundle")
        .map_err(|error| (error.is_not_found(), error.reason()))
        .and_then(|bytes| {
            pem::decode_certificates(&bytes, &file.display().to_string()).map_err(|error| {
                let reason = match error {
                    crate::pki::PkiError::InvalidCertificate { reason, .. } => reason,
                    other => other.to_string(),
                };
                (false, reason)
            })
        });
    let certificates = match read {
        Ok(certificates) => certificates,
        Err((missing, reason)) => {
            checker.add(
                if missing { Rule::FileMissing } else { Rule::FileInvalid },
                path,
                at,
                format!("{name}: {reason}"),
                if missing {
                    "fix the path, or mount the files there (a missing file shows only at start-up: `otelcol validate` does not open it); map it to a local directory with --mount CONFIG_DIR=LOCAL_DIR".into()
                } else {
                    "write a PEM certificate there (leaf first, then intermediates)".into()
                },
            );
            return None;
        }
    };
    let display = file.display().to_string();
    let now = checks.now;
    for (index, der) in certificates.iter().enumerate() {
        let Ok(summary) = CertSummary::new(der, &display, index, now) else {
            checker.add(
                Rule::FileInvalid,
                path.clone(),
                at,
                format!("{name}: certificate #{} does not parse", index + 1),
                "replace the file with valid PEM certificates".into(),
            );
            continue;
        };
        let which = if certificates.len() > 1 {
            format!("{name} (certificate #{}, {})", index + 1, summary.subject)
        } else {
            name.clone()
        };
        // Certificates after the first are the CAs of the chain.
        let renewal = renewal(&file, if index == 0 { expect } else { Expect::Ca });
        validity(checker, checks, &path, at, &which, &summary, &renewal);
        if index == 0 {
            purpose(checker, &path, at, &which, &summary, expect);
        }
    }
    certificates.into_iter().next()
}

/// How to replace a certificate file that expires: `otel-pki renew` for a leaf of an
/// otel-pki set (it keeps names, purpose, key type and lifetime), a CA rotation for a CA.
fn renewal(file: &Path, expect: Expect) -> String {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let stem = file
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(".crt"));
    let in_set = dir.join(crate::set::names::CA_CERT).is_file();
    let dir_flag = set::dir_flag(dir);
    match (expect, stem) {
        (Expect::Ca, _) if in_set => format!(
            "rotate the CA: `otel-pki ca rotate --stage{dir_flag}`, or start over with `otel-pki init{dir_flag} --force` (re-issues everything)"
        ),
        (Expect::Ca, _) => "replace it with the current CA certificate".into(),
        (_, Some(stem)) if in_set && stem != "ca" => format!(
            "renew it: `otel-pki renew --name {}{dir_flag}`",
            set::shell_word(stem)
        ),
        _ => "replace it with a new certificate from the same CA".into(),
    }
}

fn validity(
    checker: &mut Checker<'_>,
    checks: &FileChecks,
    path: &str,
    at: At,
    which: &str,
    summary: &CertSummary,
    renewal: &str,
) {
    let date = |time: time::OffsetDateTime| crate::pki::issue::rfc3339(time);
    if summary.expired {
        checker.add(
            Rule::CertificateNotValid,
            path.to_owned(),
            at,
            format!(
                "{which} expired on {} ({} ago): handshakes fail with `certificate has expired or is not yet valid`",
                date(summary.not_after),
                lifetime::humanize(checks.now - summary.not_after)
            ),
            renewal.to_owned(),
        );
    } else if summary.not_yet_valid {
        checker.add(
            Rule::CertificateNotValid,
            path.to_owned(),
            at,
            format!(
                "{which} is not valid until {}: handshakes fail until then",
                date(summary.not_before)
            ),
            "check the clock of the machine that issued it".into(),
        );
    } else if summary.not_after - checks.now <= checks.within.duration() {
        checker.add(
            Rule::CertificateExpiring,
            path.to_owned(),
            at,
            format!(
                "{which} expires on {} (in {})",
                date(summary.not_after),
                lifetime::humanize(summary.not_after - checks.now)
            ),
            format!("{renewal}; with `reload_interval` set the Collector picks the new file up"),
        );
    }
}

fn purpose(
    checker: &mut Checker<'_>,
    path: &str,
    at: At,
    which: &str,
    summary: &CertSummary,
    expect: Expect,
) {
    let is_ca = summary.basic_constraints.is_some_and(|bc| bc.ca);
    let has = |usage: &str| {
        summary.extended_key_usage.is_empty()
            || summary.extended_key_usage.iter().any(|eku| eku == usage)
    };
    let problem = match expect {
        Expect::Ca if !is_ca => Some((
            format!(
                "{which} is not a CA certificate (basicConstraints CA:FALSE or absent): peers' certificates will not chain to it"
            ),
            "point it at the CA certificate (`ca.crt`)".to_owned(),
        )),
        Expect::ServerCert if is_ca => Some((
            format!("{which} is a CA certificate, not a server certificate"),
            "use the server certificate (`server.crt`)".to_owned(),
        )),
        Expect::ClientCert if is_ca => Some((
            format!("{which} is a CA certificate, not a client certificate"),
            "use the client certificate (`client.crt`)".to_owned(),
        )),
        Expect::ServerCert if !has("serverAuth") => Some((
            format!(
                "{which} is not for servers (extendedKeyUsage {}): clients fail with `certificate specifies an incompatible key usage`",
                summary.extended_key_usage.join(", ")
            ),
            "use a server certificate (`otel-pki issue server`)".to_owned(),
        )),
        Expect::ClientCert if !has("clientAuth") => Some((
            format!(
                "{which} is not for clients (extendedKeyUsage {}): servers answer `bad certificate`",
                summary.extended_key_usage.join(", ")
            ),
            "use a client certificate (`otel-pki issue client`)".to_owned(),
        )),
        _ => None,
    };
    if let Some((message, fix)) = problem {
        checker.add(Rule::CertificatePurpose, path.to_owned(), at, message, fix);
    }
}

/// Checks a key file against the certificate next to it.
pub(super) fn key(
    checker: &mut Checker<'_>,
    checks: &FileChecks,
    parent: &str,
    entry: &Entry,
    certificate_der: Option<&[u8]>,
) {
    let Some(configured) = configured(entry) else {
        return;
    };
    let path = join(parent, &entry.key);
    let at: At = (entry.line, entry.column);
    let file = local(checks, configured);
    let name = shown(configured, &file);
    let facts = set::examine_key(&file, certificate_der);
    if !facts.exists || !facts.readable {
        checker.add(
            Rule::FileMissing,
            path,
            at,
            format!(
                "{name}: {}",
                facts.error.as_deref().unwrap_or("cannot be read")
            ),
            "fix the path, or mount the key there; map it to a local directory with --mount CONFIG_DIR=LOCAL_DIR".into(),
        );
        return;
    }
    // The rule `check` applies too; here both cases are warnings (the Collector starts).
    let judgement = facts
        .mode
        .map(|mode| set::judge_key_mode(mode, &file, false))
        .filter(|judgement| judgement.verdict != Verdict::Ok);
    if let Some(judgement) = judgement {
        checker.add(
            Rule::KeyPermissions,
            path.clone(),
            at,
            format!("{name} has {}", judgement.message),
            judgement.fix(true).unwrap_or_default(),
        );
    }
    if facts.encrypted {
        checker.add(
            Rule::KeyEncrypted,
            path,
            at,
            format!(
                "{name} is encrypted: the Collector has no passphrase option and fails to start"
            ),
            format!("decrypt it: `{}`", set::decrypt_key_command(&file)),
        );
    } else if let Some(error) = facts.error {
        checker.add(
            Rule::FileInvalid,
            path,
            at,
            format!("{name}: {error}"),
            "write the PEM private key there (PKCS#8, PKCS#1 or SEC1)".into(),
        );
    } else if facts.matches == Some(false) {
        checker.add(
            Rule::KeyMismatch,
            path,
            at,
            format!(
                "{name} does not belong to the certificate next to it (`tls: private key does not match public key`)"
            ),
            "give the key the certificate was issued for, or issue a new pair".into(),
        );
    }
}
