//! `otel-pki inspect`: what is in these files — role, names, usages, expiry, fingerprints,
//! and whether each `NAME.key` belongs to its `NAME.crt`.

use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::support;
use crate::cli::InspectArgs;
use crate::output::{Output, Style};
use crate::pki::certificate::{self, KeyFileStatus};
use crate::pki::{CertSummary, Role};
use crate::set;
use crate::write::BACKUP_DIR;

/// Result of `inspect`: one document for all inputs. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct InspectReport {
    /// Every certificate found, in input order.
    pub certificates: Vec<CertSummary>,
    /// Files that could not be read or parsed (the exit status is then 2).
    pub errors: Vec<FileError>,
    /// With `--expiring-within`: the threshold and which certificates fall within it.
    pub expiring: Option<ExpiringSummary>,
}

/// A file that could not be inspected.
#[derive(Debug, Deserialize, Serialize)]
pub struct FileError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// The `--expiring-within` verdict.
#[derive(Debug, Deserialize, Serialize)]
pub struct ExpiringSummary {
    /// The threshold as given, e.g. `30d`.
    pub within: String,
    /// The instant compared against (now + threshold).
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// Each certificate whose notAfter is before the deadline: its path, with `#INDEX`
    /// appended for certificates after the first in a file.
    pub certificates: Vec<String>,
}

/// File name extensions read from directories.
const CERTIFICATE_EXTENSIONS: [&str; 4] = ["crt", "pem", "cer", "der"];

/// Runs `inspect`.
pub fn run(args: &InspectArgs, output: &Output) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let mut report = InspectReport {
        certificates: Vec::new(),
        errors: Vec::new(),
        expiring: None,
    };
    for path in &args.paths {
        for file in expand(path, &mut report.errors) {
            inspect_file(&file, now, &mut report);
        }
    }
    if let Some(within) = args.expiring_within {
        let deadline = now + within.duration();
        report.expiring = Some(ExpiringSummary {
            within: within.to_string(),
            deadline,
            certificates: report
                .certificates
                .iter()
                .filter(|summary| summary.not_after < deadline)
                .map(|summary| match summary.index {
                    0 => summary.path.clone(),
                    index => format!("{}#{index}", summary.path),
                })
                .collect(),
        });
    }

    if output.is_json() {
        output.print_json(&report)?;
    } else {
        for error in &report.errors {
            output.error(&format!("{}: {}", error.path, error.message));
        }
        let mut text = String::new();
        for summary in &report.certificates {
            render_certificate(&mut text, summary, output);
        }
        if let Some(expiring) = &report.expiring {
            let count = expiring.certificates.len();
            let line = if count == 0 {
                format!("no certificate expires within {}\n", expiring.within)
            } else {
                output.paint(
                    Style::Warn,
                    &format!(
                        "{count} certificate{} expire{} within {}: {}\n",
                        if count == 1 { "" } else { "s" },
                        if count == 1 { "s" } else { "" },
                        expiring.within,
                        expiring.certificates.join(", ")
                    ),
                )
            };
            text.push_str(&line);
        }
        output.print(&text)?;
    }

    Ok(if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if report
        .expiring
        .as_ref()
        .is_some_and(|expiring| !expiring.certificates.is_empty())
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Files to read for one argument: the file itself, `-` for stdin, or the certificate
/// files of a directory (sorted, not recursive; hidden files and `backup/` skipped).
fn expand(path: &Path, errors: &mut Vec<FileError>) -> Vec<PathBuf> {
    if path == Path::new("-") {
        return vec![path.to_owned()];
    }
    let Ok(metadata) = fs::metadata(path) else {
        errors.push(FileError {
            path: support::display(path),
            message: "no such file or directory".into(),
        });
        return Vec::new();
    };
    if !metadata.is_dir() {
        return vec![path.to_owned()];
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(FileError {
                path: support::display(path),
                message: format!("cannot list directory: {error}"),
            });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            let name = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            !name.starts_with('.')
                && name != BACKUP_DIR
                && file.is_file()
                && file.extension().is_some_and(|extension| {
                    CERTIFICATE_EXTENSIONS.contains(&extension.to_string_lossy().as_ref())
                })
        })
        .collect();
    files.sort();
    if files.is_empty() {
        errors.push(FileError {
            path: support::display(path),
            message: "no certificate files (*.crt, *.pem, *.cer, *.der) in this directory".into(),
        });
    }
    files
}

fn inspect_file(path: &Path, now: OffsetDateTime, report: &mut InspectReport) {
    let name = if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        support::display(path)
    };
    let bytes = if path == Path::new("-") {
        let mut buffer = Vec::new();
        std::io::stdin().read_to_end(&mut buffer).map(|_| buffer)
    } else {
        fs::read(path)
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            report.errors.push(FileError {
                path: name,
                message: format!("cannot read: {error}"),
            });
            return;
        }
    };
    // A .pem/.key file that holds only a key is skipped when it came from a directory
    // listing, but reported when named explicitly.
    let certificates = match certificate::decode_certificates(&bytes, &name) {
        Ok(certificates) => certificates,
        Err(error) => {
            report.errors.push(FileError {
                path: name,
                message: error_reason(&error),
            });
            return;
        }
    };
    for (index, summary) in summarize(&certificates, &name, now).into_iter().enumerate() {
        match summary {
            Ok(mut summary) => {
                if index == 0 {
                    summary.key_file = key_beside(path, &certificates[0]);
                }
                report.certificates.push(summary);
            }
            Err(error) => report.errors.push(FileError {
                path: name.clone(),
                message: error_reason(&error),
            }),
        }
    }
}

/// Summaries of every certificate of one file, computed on all cores for large bundles
/// (parsing and hashing 10,000 certificates is most of `inspect`'s time).
fn summarize(
    certificates: &[Vec<u8>],
    name: &str,
    now: OffsetDateTime,
) -> Vec<Result<CertSummary, crate::pki::PkiError>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if certificates.len() < 256 || threads == 1 {
        return certificates
            .iter()
            .enumerate()
            .map(|(index, der)| CertSummary::new(der, name, index, now))
            .collect();
    }
    let chunk = certificates.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = certificates
            .chunks(chunk)
            .enumerate()
            .map(|(number, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(offset, der)| {
                            CertSummary::new(der, name, number * chunk + offset, now)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    vec![Err(crate::pki::PkiError::InvalidCertificate {
                        path: name.to_owned(),
                        reason: "internal error while summarizing".into(),
                    })]
                })
            })
            .collect()
    })
}

fn error_reason(error: &crate::pki::PkiError) -> String {
    match error {
        crate::pki::PkiError::InvalidCertificate { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// For `NAME.crt` (or `.pem`, `.cer`, `.der`), the status of `NAME.key` if it exists.
fn key_beside(cert_path: &Path, certificate_der: &[u8]) -> Option<KeyFileStatus> {
    let key_path = cert_path.with_extension("key");
    if key_path == cert_path || !key_path.is_file() {
        return None;
    }
    let facts = set::examine_key(&key_path, Some(certificate_der));
    Some(KeyFileStatus {
        path: support::display(&key_path),
        matches: facts.matches,
        encrypted: facts.encrypted,
        error: facts.error,
    })
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
        usage.push_str("; ");
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
