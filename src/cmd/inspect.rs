//! `otel-pki inspect`: what is in these files — role, names, usages, expiry, fingerprints,
//! and whether each `NAME.key` belongs to its `NAME.crt`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

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
///
/// The report is printed as it is made: a large file is read a part at a time, and each
/// stretch of its certificates is summarized and rendered (in parallel), printed and
/// dropped, so memory stays flat however many certificates a bundle holds. Only what the
/// end of the report needs is kept: the errors and, with `--expiring-within`, the names of
/// the certificates that expire within it.
pub fn run(args: &InspectArgs, output: &Output) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let deadline = args.expiring_within.map(|within| now + within.duration());
    let mut found = Found::new(output, deadline);
    for path in &args.paths {
        let listed = path.is_dir();
        for file in expand(path, &mut found) {
            inspect_file(&file, listed, now, output, &mut found)?;
        }
    }
    let Found {
        mut stream,
        printed,
        errors,
        expiring,
        ..
    } = found;
    let report = InspectReport {
        certificates: Vec::new(),
        errors,
        expiring: args.expiring_within.map(|within| ExpiringSummary {
            within: within.to_string(),
            deadline: now + within.duration(),
            certificates: expiring,
        }),
    };

    if output.is_json() {
        stream.write(&json_tail(&report, printed == 0)?)?;
    } else if let Some(expiring) = &report.expiring {
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
        stream.write(&line)?;
    }
    stream.finish()?;

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
fn expand(path: &Path, found: &mut Found<'_>) -> Vec<PathBuf> {
    let output = found.output;
    if path == Path::new("-") {
        return vec![path.to_owned()];
    }
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            found.error(
                support::display(path),
                match error.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".into(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".into(),
                    _ => format!("cannot read: {error}"),
                },
            );
            return Vec::new();
        }
    };
    if !metadata.is_dir() {
        return vec![path.to_owned()];
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => {
            found.error(
                support::display(path),
                format!("cannot list directory: {error}"),
            );
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
        found.error(
            support::display(path),
            "no certificate files (*.crt, *.pem, *.cer, *.der) in this directory".into(),
        );
    }
    files
}

/// What `inspect` keeps while it prints: stdout, how many certificates were printed (JSON
/// needs `,` between them and `[]` when there are none), the errors (printed at once as
/// text, at the end in JSON) and, with `--expiring-within`, the certificates that expire
/// before its deadline. Nothing is kept per certificate otherwise.
struct Found<'a> {
    output: &'a Output,
    stream: crate::output::Stream<'a>,
    printed: usize,
    errors: Vec<FileError>,
    /// `--expiring-within`'s instant: now + the threshold.
    deadline: Option<OffsetDateTime>,
    /// The path (or `path#index`) of each certificate whose notAfter is before `deadline`.
    expiring: Vec<String>,
}

impl<'a> Found<'a> {
    fn new(output: &'a Output, deadline: Option<OffsetDateTime>) -> Self {
        Found {
            output,
            stream: output.stream(),
            printed: 0,
            errors: Vec::new(),
            deadline,
            expiring: Vec::new(),
        }
    }

    /// Records an error; as text it is printed now, on stderr.
    fn error(&mut self, path: String, message: String) {
        if !self.output.is_json() {
            self.output.error(&format!("`{path}`: {message}"));
        }
        self.errors.push(FileError { path, message });
    }

    /// Prints a stretch of rendered certificates: JSON fragments are joined by `,\n` and
    /// the first is preceded by the head of the document.
    fn print(&mut self, rendered: &str, count: usize) -> std::io::Result<()> {
        if count == 0 {
            return Ok(());
        }
        if self.output.is_json() {
            self.stream
                .write(if self.printed == 0 { JSON_HEAD } else { ",\n" })?;
        }
        self.printed += count;
        self.stream.write(rendered)
    }
}

/// Bytes of a large PEM bundle read at a time: the bundle is inspected a part at a time,
/// so memory does not grow with its size.
const WINDOW: usize = 1 << 20;

/// Inspects one file; `listed` when it was found in a directory rather than named (then a
/// file holding only a key, such as cfssl's `server-key.pem`, is skipped, not an error).
/// A PEM file larger than [`WINDOW`] is read and inspected a part at a time, each part
/// ending with a whole certificate block. Fails only when stdout does.
fn inspect_file(
    path: &Path,
    listed: bool,
    now: OffsetDateTime,
    output: &Output,
    found: &mut Found<'_>,
) -> std::io::Result<()> {
    const WHAT: &str = "certificate bundle";
    if path == Path::new("-") {
        let name = "<stdin>".to_owned();
        return match input::read_stdin(input::CERTIFICATE_LIMIT, WHAT) {
            Ok(bytes) => inspect_part(&bytes, path, &name, listed, now, output, found),
            Err(error) => {
                found.error(name, error.reason());
                Ok(())
            }
        };
    }
    let name = support::display(path);
    let source = (path, input::CERTIFICATE_LIMIT, WHAT);
    let opened = input::open(path, input::CERTIFICATE_LIMIT, WHAT).and_then(|(mut file, size)| {
        let mut buffer = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(WINDOW) + 1);
        let read = input::read_more(&mut file, &mut buffer, WINDOW, 0, source)?;
        Ok((file, size, buffer, read))
    });
    let (mut file, size, mut buffer, mut read) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            found.error(name, error.reason());
            return Ok(());
        }
    };
    if size <= WINDOW as u64 || !certificate::has_pem_begin(&buffer) {
        // Small, DER, or not PEM at the start: read whole, as before.
        let rest = input::CERTIFICATE_LIMIT + 1 - read as u64;
        let rest = usize::try_from(rest).unwrap_or(usize::MAX);
        if let Err(error) = input::read_more(&mut file, &mut buffer, rest, read as u64, source) {
            found.error(name, error.reason());
            return Ok(());
        }
        return inspect_part(&buffer, path, &name, listed, now, output, found);
    }
    let mut total = read as u64;
    let mut next = 0;
    // How much of `buffer` is known to hold no END line.
    let mut searched = 0;
    loop {
        let at_end = read < WINDOW;
        // The whole blocks read so far; at the end, also what follows the last one (a
        // block cut off there is an error after the others are printed).
        let cut = certificate::pem_cut(&buffer, searched);
        for part in [&buffer[..cut], if at_end { &buffer[cut..] } else { &[] }] {
            if part.is_empty() {
                continue;
            }
            match certificate::pem_blocks(part, &name) {
                Ok(blocks) => {
                    print_blocks(&blocks, next, path, &name, now, output, found)?;
                    next += blocks.len();
                }
                // Text between blocks or after the last one: nothing to report.
                Err(crate::pki::PkiError::InvalidCertificate { reason, .. })
                    if reason == certificate::NO_BLOCK || reason == certificate::HOLDS_A_KEY => {}
                Err(error) => found.error(name.clone(), error_reason(&error)),
            }
        }
        if at_end {
            return Ok(());
        }
        buffer.drain(..cut);
        searched = buffer.len();
        read = match input::read_more(&mut file, &mut buffer, WINDOW, total, source) {
            Ok(read) => read,
            Err(error) => {
                found.error(name, error.reason());
                return Ok(());
            }
        };
        total += read as u64;
    }
}

/// Inspects the certificates of a whole file (`bytes`).
fn inspect_part(
    bytes: &[u8],
    path: &Path,
    name: &str,
    listed: bool,
    now: OffsetDateTime,
    output: &Output,
    found: &mut Found<'_>,
) -> std::io::Result<()> {
    let blocks = match certificate::certificate_blocks(bytes, name) {
        Ok(blocks) => blocks,
        Err(crate::pki::PkiError::InvalidCertificate { reason, .. })
            if listed && reason == certificate::HOLDS_A_KEY =>
        {
            return Ok(());
        }
        Err(error) => {
            found.error(name.to_owned(), error_reason(&error));
            return Ok(());
        }
    };
    print_blocks(&blocks, 0, path, name, now, output, found)
}

/// Summarizes, renders and prints `blocks`, the first being certificate number `first` of
/// the file; records errors and what `--expiring-within` needs.
fn print_blocks(
    blocks: &[certificate::Block<'_>],
    first: usize,
    path: &Path,
    name: &str,
    now: OffsetDateTime,
    output: &Output,
    found: &mut Found<'_>,
) -> std::io::Result<()> {
    // NAME.key beside NAME.crt belongs to the first certificate.
    let key_file = (first == 0)
        .then(|| blocks.first())
        .flatten()
        .and_then(|block| block.decode().ok())
        .and_then(|der| key_beside(path, &der));
    summarize(blocks, first, name, now, key_file, output, |chunk| {
        let mut count = 0;
        for result in &chunk.results {
            match result {
                Ok((index, not_after)) => {
                    if found.deadline.is_some_and(|deadline| *not_after < deadline) {
                        found.expiring.push(match index {
                            0 => name.to_owned(),
                            index => format!("{name}#{index}"),
                        });
                    }
                    count += 1;
                }
                Err(message) => found.error(name.to_owned(), message.clone()),
            }
        }
        found.print(&chunk.rendered, count)
    })
}

/// The certificates of one stretch of a file: index and notAfter of each (or why it failed),
/// and their text or JSON rendered into one buffer (JSON fragments joined by `,\n`). The
/// summaries themselves are dropped on the thread that made them.
#[derive(Default)]
struct Chunk {
    results: Vec<Result<(usize, OffsetDateTime), String>>,
    rendered: String,
}

/// Certificates rendered into one buffer before it is printed: enough to make a thread's
/// work worth handing over, few enough that a buffer stays small (about 0.4 MB of JSON).
const STRETCH: usize = 256;

/// Buffers per thread: one being filled, one waiting to be printed. They are all the
/// memory a bundle's output takes, however large the bundle.
const BUFFERS_PER_THREAD: usize = 2;

/// Decodes, summarizes and renders every certificate of one file and hands each stretch of
/// them to `print`, in order. Large bundles use every core, which for 10,000 certificates
/// is most of `inspect`'s time: worker threads take the next stretch as soon as they have a
/// free buffer, while this thread prints finished stretches in order and returns their
/// buffers, so rendering and printing overlap. Buffers are reused (a string per
/// certificate made glibc grow the threads' heaps in thousands of small steps).
fn summarize(
    blocks: &[certificate::Block<'_>],
    first_index: usize,
    name: &str,
    now: OffsetDateTime,
    key_file: Option<KeyFileStatus>,
    output: &Output,
    mut print: impl FnMut(&Chunk) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let fill = |chunk: &mut Chunk, first: usize, part: &[certificate::Block<'_>]| {
        chunk.results.clear();
        chunk.rendered.clear();
        for (offset, block) in part.iter().enumerate() {
            let index = first_index + first + offset;
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
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let per_certificate = if output.is_json() { 1_500 } else { 500 };
    let new_chunk = || Chunk {
        results: Vec::with_capacity(STRETCH.min(blocks.len())),
        rendered: String::with_capacity(STRETCH.min(blocks.len()) * per_certificate),
    };
    let stretches: Vec<&[certificate::Block<'_>]> = blocks.chunks(STRETCH).collect();
    if stretches.len() < 2 || threads == 1 {
        let mut chunk = new_chunk();
        for (number, stretch) in stretches.iter().enumerate() {
            fill(&mut chunk, number * STRETCH, stretch);
            print(&chunk)?;
        }
        return Ok(());
    }

    // Free buffers go to the workers through `free`; finished stretches come back through
    // `done`. A worker claims the next stretch (in order) only once it holds a buffer, so
    // the stretch to print next is always claimed before any later one and never waits for
    // a buffer that a later stretch holds.
    let (free_sender, free) = mpsc::channel::<Chunk>();
    for _ in 0..threads * BUFFERS_PER_THREAD {
        let _ = free_sender.send(new_chunk());
    }
    let free = Mutex::new(free);
    let next = AtomicUsize::new(0);
    let (done_sender, done) = mpsc::channel::<(usize, Chunk)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (fill, free, next, stretches, done_sender) =
                (&fill, &free, &next, &stretches, done_sender.clone());
            scope.spawn(move || {
                loop {
                    // The printer drops its sender when it stops early: then this ends.
                    let Ok(mut chunk) = free
                        .lock()
                        .map_err(drop)
                        .and_then(|free| free.recv().map_err(drop))
                    else {
                        return;
                    };
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    let Some(stretch) = stretches.get(number) else {
                        return;
                    };
                    let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        fill(&mut chunk, number * STRETCH, stretch);
                    }));
                    if filled.is_err() {
                        // A bug in a summary: the stretch is reported, never printed in part.
                        chunk.rendered.clear();
                        chunk.results = vec![Err("internal error while reading the file".into())];
                    }
                    if done_sender.send((number, chunk)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_sender);
        // Owned here so that an early return (stdout closed) drops it before the scope
        // waits for the workers: their next wait for a buffer then ends.
        let (free_sender, done) = (free_sender, done);
        // Print in order; a stretch that finishes early waits in `waiting`.
        let mut waiting = std::collections::BTreeMap::new();
        let mut expected = 0;
        for (number, chunk) in &done {
            waiting.insert(number, chunk);
            while let Some(chunk) = waiting.remove(&expected) {
                print(&chunk)?;
                expected += 1;
                let _ = free_sender.send(chunk);
            }
        }
        Ok(())
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

/// The start of the JSON document, up to the first certificate.
const JSON_HEAD: &str = "{\n  \"certificates\": [\n";

/// The end of the JSON document after the certificates, which were printed as they were
/// rendered (in parallel: serializing a 10,000-certificate report on one thread was a
/// quarter of `inspect`'s time). [`JSON_HEAD`], the fragments joined by `,\n` and this tail
/// are exactly what serde_json's pretty printer writes for the whole report (tested).
fn json_tail(report: &InspectReport, no_certificates: bool) -> serde_json::Result<String> {
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
        format!("{{\n  \"certificates\": [],\n{rest}\n")
    } else {
        format!("\n  ],\n{rest}\n")
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
            let tail = json_tail(&report, fragments.is_empty()).unwrap();
            let head = if fragments.is_empty() { "" } else { JSON_HEAD };
            assert_eq!(format!("{head}{}{tail}", fragments.join(",\n")), expected);
        }
    }
}
