//! `otel-pki inspect`: what is in these files — role, names, usages, expiry, fingerprints,
//! and whether each `NAME.key` belongs to its `NAME.crt`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::InspectArgs;
use crate::input;
use crate::output::{Output, Style};
use crate::pki::CertSummary;
use crate::pki::certificate::{self, KeyFileStatus};
use crate::set;
use crate::support;
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
    #[serde(with = "crate::pki::lifetime::rfc3339")]
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
    // The report's `certificates` are rendered (text or JSON) right after they are
    // summarized, on the worker thread that summarized them, into one buffer per stretch of a
    // file: `found.fragments`, in order. Only what `--expiring-within` needs is kept.
    let mut errors = Vec::new();
    let mut found = Found::default();
    for path in &args.paths {
        let listed = path.is_dir();
        for file in expand(path, &mut errors, output) {
            inspect_file(&file, listed, now, output, &mut found, &mut errors);
        }
    }
    let fragments = found.fragments;
    let report = InspectReport {
        certificates: Vec::new(),
        errors,
        expiring: args.expiring_within.map(|within| {
            let deadline = now + within.duration();
            ExpiringSummary {
                within: within.to_string(),
                deadline,
                certificates: found
                    .expiries
                    .into_iter()
                    .filter(|(_, not_after)| *not_after < deadline)
                    .map(|(label, _)| label)
                    .collect(),
            }
        }),
    };

    if output.is_json() {
        let (head, tail) = json_frame(&report, fragments.is_empty())?;
        let separators = std::iter::once("").chain(std::iter::repeat(",\n"));
        output.print_all(
            std::iter::once(head.as_str())
                .chain(
                    separators
                        .zip(&fragments)
                        .flat_map(|(separator, fragment)| [separator, fragment.as_str()]),
                )
                .chain(std::iter::once(tail.as_str())),
        )?;
    } else {
        for error in &report.errors {
            output.error(&format!("`{}`: {}", error.path, error.message));
        }
        let mut text = String::new();
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
        output.print_all(
            fragments
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(text.as_str())),
        )?;
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
fn expand(path: &Path, errors: &mut Vec<FileError>, output: &Output) -> Vec<PathBuf> {
    if path == Path::new("-") {
        return vec![path.to_owned()];
    }
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            errors.push(FileError {
                path: support::display(path),
                message: match error.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".into(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".into(),
                    _ => format!("cannot read: {error}"),
                },
            });
            return Vec::new();
        }
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
            let wanted = !name.starts_with('.')
                && name != BACKUP_DIR
                && file.extension().is_some_and(|extension| {
                    CERTIFICATE_EXTENSIONS.contains(&extension.to_string_lossy().as_ref())
                });
            if !wanted {
                return false;
            }
            // A FIFO, device or socket named like a certificate is never opened: reading a
            // FIFO blocks and a device never ends.
            match input::special_kind(file) {
                None => file.is_file(),
                Some("a directory") => false,
                Some(kind) => {
                    output.warn(&format!(
                        "skipped `{}`: it is {kind}, not a regular file",
                        support::display(file)
                    ));
                    false
                }
            }
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

/// What `inspect` keeps of the certificates it has read and rendered.
#[derive(Default)]
struct Found {
    /// Rendered certificates, in order (see [`summarize`]).
    fragments: Vec<String>,
    /// `path` (or `path#index`) and notAfter of every certificate.
    expiries: Vec<(String, OffsetDateTime)>,
}

/// Inspects one file; `listed` when it was found in a directory rather than named (then a
/// file holding only a key, such as cfssl's `server-key.pem`, is skipped, not an error).
fn inspect_file(
    path: &Path,
    listed: bool,
    now: OffsetDateTime,
    output: &Output,
    found: &mut Found,
    errors: &mut Vec<FileError>,
) {
    let name = if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        support::display(path)
    };
    let bytes = if path == Path::new("-") {
        input::read_stdin(input::CERTIFICATE_LIMIT, "certificate bundle")
    } else {
        input::read(path, input::CERTIFICATE_LIMIT, "certificate bundle")
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            errors.push(FileError {
                path: name,
                message: error.reason(),
            });
            return;
        }
    };
    let blocks = match certificate::certificate_blocks(&bytes, &name) {
        Ok(blocks) => blocks,
        Err(crate::pki::PkiError::InvalidCertificate { reason, .. })
            if listed && reason == certificate::HOLDS_A_KEY =>
        {
            return;
        }
        Err(error) => {
            errors.push(FileError {
                path: name,
                message: error_reason(&error),
            });
            return;
        }
    };
    // NAME.key beside NAME.crt belongs to the first certificate.
    let key_file = blocks
        .first()
        .and_then(|block| block.decode().ok())
        .and_then(|der| key_beside(path, &der));
    for chunk in summarize(&blocks, &name, now, key_file, output) {
        for result in chunk.results {
            match result {
                Ok((index, not_after)) => {
                    let label = match index {
                        0 => name.clone(),
                        index => format!("{name}#{index}"),
                    };
                    found.expiries.push((label, not_after));
                }
                Err(message) => errors.push(FileError {
                    path: name.clone(),
                    message,
                }),
            }
        }
        if !chunk.rendered.is_empty() {
            found.fragments.push(chunk.rendered);
        }
    }
}

/// The certificates of one stretch of a file: index and notAfter of each (or why it failed),
/// and their text or JSON rendered into one buffer (JSON fragments joined by `,\n`). The
/// summaries themselves are dropped on the thread that made them, so its heap is reused
/// instead of growing by the size of the whole report.
struct Chunk {
    results: Vec<Result<(usize, OffsetDateTime), String>>,
    rendered: String,
}

/// Decodes, summarizes and renders every certificate of one file, on all cores for large
/// bundles: for 10,000 certificates this is most of `inspect`'s time (BENCHMARKS.md). Each
/// thread renders into one pre-sized buffer: a string per certificate made glibc grow the
/// threads' heaps in thousands of small steps.
fn summarize(
    blocks: &[certificate::Block<'_>],
    name: &str,
    now: OffsetDateTime,
    key_file: Option<KeyFileStatus>,
    output: &Output,
) -> Vec<Chunk> {
    let chunk_of = |first: usize, part: &[certificate::Block<'_>]| {
        let per_certificate = if output.is_json() { 1_500 } else { 500 };
        let mut chunk = Chunk {
            results: Vec::with_capacity(part.len()),
            rendered: String::with_capacity(part.len() * per_certificate),
        };
        for (offset, block) in part.iter().enumerate() {
            let index = first + offset;
            let summary = block
                .decode()
                .map_err(|reason| numbered(index, reason))
                .and_then(|der| {
                    CertSummary::new(&der, name, index, now).map_err(|error| error_reason(&error))
                });
            let summary = summary.map(|mut summary| {
                if index == 0 {
                    summary.key_file.clone_from(&key_file);
                }
                if output.is_json() {
                    if !chunk.rendered.is_empty() {
                        chunk.rendered.push_str(",\n");
                    }
                    push_json_fragment(&mut chunk.rendered, &summary);
                } else {
                    support::render_certificate(&mut chunk.rendered, &summary, output);
                }
                (index, summary.not_after)
            });
            chunk.results.push(summary);
        }
        chunk
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if blocks.len() < 256 || threads == 1 {
        return vec![chunk_of(0, blocks)];
    }
    let size = blocks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = blocks
            .chunks(size)
            .enumerate()
            .map(|(number, part)| {
                let chunk_of = &chunk_of;
                scope.spawn(move || chunk_of(number * size, part))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| Chunk {
                    results: vec![Err("internal error while reading the file".into())],
                    rendered: String::new(),
                })
            })
            .collect()
    })
}

fn numbered(index: usize, reason: &str) -> String {
    if index > 0 {
        format!("certificate #{}: {reason}", index + 1)
    } else {
        reason.to_owned()
    }
}

/// Appends one certificate as it appears inside the report's `certificates` array:
/// serde_json's pretty form, indented by the two levels of the enclosing document.
fn push_json_fragment(out: &mut String, summary: &CertSummary) {
    // Serializing a plain struct of strings, numbers and vectors cannot fail.
    let pretty = serde_json::to_string_pretty(summary).unwrap_or_default();
    for (number, line) in pretty.lines().enumerate() {
        if number > 0 {
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(line);
    }
}

/// The JSON document around the certificates, which are rendered in parallel (serializing a
/// 10,000-certificate report on one thread was a quarter of `inspect`'s time): the head up to
/// the first certificate and the tail after the last. Head, fragments joined by `,\n`, and
/// tail are exactly what serde_json's pretty printer writes for the report (tested).
fn json_frame(
    report: &InspectReport,
    no_certificates: bool,
) -> serde_json::Result<(String, String)> {
    #[derive(Serialize)]
    struct Rest<'a> {
        errors: &'a [FileError],
        expiring: &'a Option<ExpiringSummary>,
    }
    let rest = serde_json::to_string_pretty(&Rest {
        errors: &report.errors,
        expiring: &report.expiring,
    })?;
    // `rest` is `{\n  "errors": …\n}`: keep everything after its opening brace line.
    let rest = rest.strip_prefix("{\n").unwrap_or(&rest);
    Ok(if no_certificates {
        (
            "{\n  \"certificates\": [],\n".to_owned(),
            format!("{rest}\n"),
        )
    } else {
        (
            "{\n  \"certificates\": [\n".to_owned(),
            format!("\n  ],\n{rest}\n"),
        )
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
    // Never read a key beside the certificate that is over the key limit.
    if key_path
        .metadata()
        .is_ok_and(|metadata| metadata.len() > input::KEY_LIMIT)
    {
        return Some(KeyFileStatus {
            path: support::display(&key_path),
            matches: None,
            encrypted: false,
            error: Some(format!(
                "it is larger than {} MiB, far more than any real private key",
                input::KEY_LIMIT >> 20
            )),
        });
    }
    let facts = set::examine_key(&key_path, Some(certificate_der));
    Some(KeyFileStatus {
        path: support::display(&key_path),
        matches: facts.matches,
        encrypted: facts.encrypted,
        error: facts.error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::issue::{CaRequest, create_ca};
    use crate::pki::{KeyType, Lifetime, PrivateKey, Validity};

    #[test]
    fn the_assembled_json_is_what_serde_writes() {
        let now = OffsetDateTime::now_utc();
        let ca = create_ca(
            &CaRequest {
                common_name: "T \"quoted\" CA".into(),
                validity: Validity::starting_now(now, Lifetime::days(2)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
        let summary = CertSummary::new(ca.certificate_der(), "a/ca.crt", 0, now).unwrap();
        let mut second = summary.clone();
        second.index = 1;
        let reports = [
            InspectReport {
                certificates: vec![summary, second],
                errors: vec![FileError {
                    path: "x".into(),
                    message: "bad\nline".into(),
                }],
                expiring: Some(ExpiringSummary {
                    within: "30d".into(),
                    deadline: now,
                    certificates: vec!["a/ca.crt".into()],
                }),
            },
            InspectReport {
                certificates: Vec::new(),
                errors: Vec::new(),
                expiring: None,
            },
        ];
        for report in reports {
            let fragments: Vec<String> = report
                .certificates
                .iter()
                .map(|summary| {
                    let mut fragment = String::new();
                    push_json_fragment(&mut fragment, summary);
                    fragment
                })
                .collect();
            let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
            let (head, tail) = json_frame(&report, fragments.is_empty()).unwrap();
            assert_eq!(format!("{head}{}{tail}", fragments.join(",\n")), expected);
        }
    }
}
