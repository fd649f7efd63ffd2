//! Where output goes: reports to stdout (text for people, JSON for scripts), status lines and
//! warnings to stderr, colour only on terminals. Nothing else in the crate prints.

use std::borrow::Cow;
use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;

use serde::Serialize;

use crate::terminal;

/// `--format`: text for people, JSON for scripts.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout (snake_case keys, RFC 3339 times).
    Json,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
    #[default]
    Auto,
    /// Always colour text output.
    Always,
    /// Never colour.
    Never,
}

/// A text style; decoration only, the text reads the same without it.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Style {
    /// Bold.
    Bold,
    /// Dimmed.
    Dim,
    /// Green: healthy.
    Good,
    /// Red: failed or expired.
    Bad,
    /// Yellow: needs attention soon.
    Warn,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Good => "32",
            Style::Bad => "1;31",
            Style::Warn => "33",
        }
    }
}

/// The output settings of one run.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// Text or JSON.
    pub format: Format,
    /// Suppress status lines (warnings and errors still print).
    pub quiet: bool,
    stdout_color: bool,
    stderr_color: bool,
}

impl Output {
    /// Resolves colour for each stream from the choice and the environment.
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Self {
        let enabled = |is_terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && std::env::var("TERM").map_or(true, |term| term != "dumb")
            }
        };
        Output {
            format,
            quiet,
            stdout_color: format == Format::Text && enabled(io::stdout().is_terminal()),
            stderr_color: enabled(io::stderr().is_terminal()),
        }
    }

    /// Plain output for tests and library callers: text, no colour.
    pub fn plain() -> Self {
        Output {
            format: Format::Text,
            quiet: false,
            stdout_color: false,
            stderr_color: false,
        }
    }

    /// True when JSON was asked for.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Styles `text` for stdout.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.stdout_color, style, text)
    }

    /// Writes a status line to stderr (unless `--quiet`).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            let line = self.safe_stderr(line);
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
    }

    /// Writes `warning: …` to stderr, even with `--quiet`.
    pub fn warn(&self, message: &str) {
        let label = paint(self.stderr_color, Style::Warn, "warning:");
        let message = self.safe_stderr(message);
        let _ = writeln!(io::stderr().lock(), "{label} {message}");
    }

    /// Writes `error: …` for a non-fatal per-item error to stderr.
    pub fn error(&self, message: &str) {
        let label = paint(self.stderr_color, Style::Bad, "error:");
        let message = self.safe_stderr(message);
        let _ = writeln!(io::stderr().lock(), "{label} {message}");
    }

    /// Writes text to stdout as one buffered write. A closed pipe is an error the caller
    /// propagates (`main` treats it as success).
    pub fn print(&self, text: &str) -> io::Result<()> {
        let text = self.safe_stdout(text);
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// Writes several pieces of text to stdout through one buffer, without joining them
    /// first (a 10,000-certificate report is megabytes).
    pub fn print_all<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        let mut stream = self.stream();
        for part in parts {
            stream.write(part)?;
        }
        stream.finish()
    }

    /// Stdout for a report printed in parts as they are made, so a report of megabytes is
    /// never held whole (`inspect` of 10,000 certificates). Each part passes the same
    /// terminal safety as [`Output::print`].
    pub fn stream(&self) -> Stream<'_> {
        Stream {
            output: self,
            stdout: io::BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        }
    }

    /// Terminal safety, in the one place all text output passes: control and bidi
    /// characters that came from a certificate, a file or a server are made visible
    /// ([`terminal::escape_output`]); newlines, tabs and exactly the colour sequences
    /// [`paint`] emits (when colour is on for stdout) are kept. JSON is written as it is:
    /// serde_json escapes control characters, and a consumer needs the exact value.
    fn safe_stdout<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_json() {
            Cow::Borrowed(text)
        } else {
            terminal::escape_output(text, colours(self.stdout_color))
        }
    }

    /// Like `safe_stdout`, for stderr (always text).
    fn safe_stderr<'a>(&self, text: &'a str) -> Cow<'a, str> {
        terminal::escape_output(text, colours(self.stderr_color))
    }

    /// Writes `value` as pretty JSON plus a newline to stdout.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut stdout = io::BufWriter::new(io::stdout().lock());
        serde_json::to_writer_pretty(&mut stdout, value)?;
        stdout.write_all(b"\n")?;
        stdout.flush()
    }
}

/// Stdout written in parts: see [`Output::stream`].
pub struct Stream<'a> {
    output: &'a Output,
    stdout: io::BufWriter<io::StdoutLock<'static>>,
}

impl Stream<'_> {
    /// Writes one part (buffered).
    pub fn write(&mut self, text: &str) -> io::Result<()> {
        self.stdout
            .write_all(self.output.safe_stdout(text).as_bytes())
    }

    /// Writes out what is buffered. A closed pipe is an error the caller propagates.
    pub fn finish(mut self) -> io::Result<()> {
        self.stdout.flush()
    }
}

/// The exact escape sequences [`paint`] writes, when colour is on: the only ones text output
/// lets through.
const COLOUR_SEQUENCES: [&str; 6] = [
    "\x1b[0m",
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[32m",
    "\x1b[1;31m",
    "\x1b[33m",
];

fn colours(enabled: bool) -> &'static [&'static str] {
    if enabled { &COLOUR_SEQUENCES } else { &[] }
}

impl Output {
    /// Prints a command's report on stdout: as JSON with `--format json`, else the text that
    /// `text` renders (only called for text, so JSON runs do not pay for it). Every verb ends
    /// here, through [`Output::answer`] or [`Output::outcome`].
    pub fn report<T: Serialize + ?Sized>(
        &self,
        report: &T,
        text: impl FnOnce() -> String,
    ) -> io::Result<()> {
        if self.is_json() {
            self.print_json(report)
        } else {
            self.print(&text())
        }
    }

    /// The end of a verb that answers a question (`check`, `verify`, `probe`, `selftest`):
    /// the report on stdout (JSON, or the text `text` renders), then exit 0 when the answer
    /// is yes (`ok`) and 1 when it is no.
    pub fn answer<T: Serialize + ?Sized>(
        &self,
        report: &T,
        ok: bool,
        text: impl FnOnce() -> String,
    ) -> io::Result<ExitCode> {
        self.report(report, text)?;
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }

    /// The end of a verb that writes (`init`, `issue`, `renew`, `ca rotate`, `config`, ...):
    /// with `--format json` the report on stdout, else `status` prints the status lines on
    /// stderr. Exit 0: a writer that could not write returned an error instead (exit 2).
    pub fn outcome<T: Serialize + ?Sized>(
        &self,
        report: &T,
        status: impl FnOnce(),
    ) -> io::Result<ExitCode> {
        if self.is_json() {
            self.print_json(report)?;
        } else {
            status();
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The end of a verb whose product is text for stdout (`config`, `k8s` without `--out`):
    /// with `--format json` the report (which holds the product) on stdout; else `product`,
    /// when there is one, on stdout and then the status lines that `status` prints on
    /// stderr. Exit 0.
    pub fn deliver<T: Serialize + ?Sized>(
        &self,
        report: &T,
        product: Option<&str>,
        status: impl FnOnce(),
    ) -> io::Result<ExitCode> {
        if !self.is_json()
            && let Some(product) = product
        {
            self.print(product)?;
        }
        self.outcome(report, status)
    }
}

fn paint(enabled: bool, style: Style, text: &str) -> String {
    if enabled {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// True when `error` was caused by writing to a closed pipe (`otel-pki inspect … | head`),
/// which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colour_paint_writes_is_let_through() {
        for style in [
            Style::Bold,
            Style::Dim,
            Style::Good,
            Style::Bad,
            Style::Warn,
        ] {
            let painted = paint(true, style, "x");
            assert_eq!(terminal::escape_output(&painted, colours(true)), painted);
            assert_ne!(terminal::escape_output(&painted, colours(false)), painted);
        }
    }
}
/// The JSON object printed on stdout for a failure (exit 2) when `--format json` was asked
/// for: `{"error": {"code", "message", "path"}}`. `code` is one of [`ErrorCode`]'s stable
/// names; `message` is the one line printed on stderr; `path` the file it is about, or null.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ErrorReport {
    /// The error.
    pub error: ErrorDetail,
}

/// The body of [`ErrorReport`].
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    /// What kind of failure, for scripts to branch on.
    pub code: ErrorCode,
    /// The message, as on stderr (without `error: `).
    pub message: String,
    /// The file or directory the error is about, when there is one.
    pub path: Option<String>,
}

/// Stable error codes of [`ErrorReport`] (snake_case in JSON).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The command line is wrong: an unknown flag, a missing argument, a conflict.
    Usage,
    /// A value given on the command line was refused: a name, a duration, an endpoint.
    BadInput,
    /// Files to be written already exist; nothing was written (`--force` replaces them).
    Exists,
    /// A file could not be read: missing, unreadable, not a regular file, too large.
    ReadFailed,
    /// A file or directory could not be written.
    WriteFailed,
    /// A certificate could not be parsed or used.
    BadCertificate,
    /// A private key could not be parsed, or does not belong to its certificate.
    BadKey,
    /// The CA key is encrypted and its passphrase is missing, empty or wrong.
    Passphrase,
    /// The CA cannot sign this: not a CA, expired, or the certificate would outlive it.
    Ca,
    /// A network endpoint could not be reached: name resolution, refused, timeout.
    Network,
    /// Any other failure; the message says what it is.
    Error,
}

impl ErrorReport {
    /// Classifies `error` (and its causes) into a code and the path it is about.
    pub fn from_error(error: &anyhow::Error, message: &str) -> Self {
        let (code, path) = error
            .chain()
            .find_map(classify)
            .unwrap_or((ErrorCode::Error, None));
        ErrorReport {
            error: ErrorDetail {
                code,
                message: message.to_owned(),
                path,
            },
        }
    }

    /// A command-line usage error (from clap), with its first line as the message.
    pub fn usage(code: ErrorCode, message: &str) -> Self {
        ErrorReport {
            error: ErrorDetail {
                code,
                message: message.to_owned(),
                path: None,
            },
        }
    }
}

/// The code and path of one error of a cause chain, when it is a type that says.
fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<(ErrorCode, Option<String>)> {
    use crate::input::InputError;
    use crate::pki::PkiError;
    use crate::tls::TlsError;
    use crate::write::WriteError;
    let display = |path: &std::path::Path| Some(path.display().to_string());
    if let Some(error) = cause.downcast_ref::<PkiError>() {
        return Some(match error {
            PkiError::InvalidSan { .. }
            | PkiError::InvalidDuration { .. }
            | PkiError::InvalidCommonName { .. }
            | PkiError::InvalidKubernetesName { .. } => (ErrorCode::BadInput, None),
            PkiError::InvalidCertificate { path, .. } => {
                (ErrorCode::BadCertificate, Some(path.clone()))
            }
            PkiError::InvalidKey { path, .. } | PkiError::KeyLegacyEncrypted { path } => {
                (ErrorCode::BadKey, Some(path.clone()))
            }
            PkiError::KeyMismatch { key_path, .. } => (ErrorCode::BadKey, Some(key_path.clone())),
            PkiError::KeyEncrypted { path }
            | PkiError::PassphraseMissing { path }
            | PkiError::PassphraseWrong { path, .. } => (ErrorCode::Passphrase, Some(path.clone())),
            PkiError::PassphraseEmpty { .. } => (ErrorCode::Passphrase, None),
            PkiError::CaExpired { path, .. }
            | PkiError::NotACa { path, .. }
            | PkiError::PathLenZero { path }
            | PkiError::IssuerName { path, .. } => (ErrorCode::Ca, Some(path.clone())),
            PkiError::OutlivesCa { ca_path, .. } => (ErrorCode::Ca, Some(ca_path.clone())),
            #[allow(unreachable_patterns)]
            _ => (ErrorCode::Error, None),
        });
    }
    if let Some(error) = cause.downcast_ref::<InputError>() {
        return Some((ErrorCode::ReadFailed, display(error.path())));
    }
    if let Some(error) = cause.downcast_ref::<WriteError>() {
        return Some(match error {
            WriteError::Exists { paths, dir } => (
                ErrorCode::Exists,
                display(paths.first().map_or(dir.as_path(), |path| path.as_path())),
            ),
            WriteError::Io { path, .. } | WriteError::NotADirectory(path) => {
                (ErrorCode::WriteFailed, display(path))
            }
            #[allow(unreachable_patterns)]
            _ => (ErrorCode::WriteFailed, None),
        });
    }
    if let Some(error) = cause.downcast_ref::<TlsError>() {
        return Some(match error {
            TlsError::Endpoint { .. } => (ErrorCode::BadInput, None),
            TlsError::Config { .. } => (ErrorCode::Error, None),
            _ => (ErrorCode::Network, None),
        });
    }
    None
}

/// Writes `report` to stdout as pretty JSON. Errors writing it are ignored: the message is
/// on stderr already, and the exit status says the rest.
pub fn print_error_json(report: &ErrorReport) {
    let _ = Output::plain().print_json(report);
}

/// True when the command line or the environment asks for JSON (`--format json`,
/// `--format=json`, `OTEL_PKI_FORMAT=json`), for errors found before the command line
/// could be parsed.
pub fn json_requested<I, S>(args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut format = std::env::var("OTEL_PKI_FORMAT").ok();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg.as_ref().to_string_lossy();
        if arg == "--" {
            break;
        } else if arg == "--format" {
            format = args
                .next()
                .map(|value| value.as_ref().to_string_lossy().into_owned());
        } else if let Some(value) = arg.strip_prefix("--format=") {
            format = Some(value.to_owned());
        }
    }
    format.as_deref() == Some("json")
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn json_is_found_in_the_arguments_or_the_environment() {
        assert!(json_requested(["otel-pki", "init", "--format", "json"]));
        assert!(json_requested(["otel-pki", "--format=json", "init"]));
        assert!(!json_requested(["otel-pki", "init", "--format", "text"]));
        assert!(!json_requested(["otel-pki", "init", "--", "--format=json"]));
    }

    #[test]
    fn errors_are_classified_with_their_path() {
        let error = anyhow::Error::new(crate::pki::PkiError::InvalidCertificate {
            path: "a.crt".into(),
            reason: "garbage".into(),
        })
        .context("cannot issue");
        let report = ErrorReport::from_error(&error, "m");
        assert_eq!(report.error.code, ErrorCode::BadCertificate);
        assert_eq!(report.error.path.as_deref(), Some("a.crt"));
        let report = ErrorReport::from_error(&anyhow::anyhow!("something"), "something");
        assert_eq!(report.error.code, ErrorCode::Error);
        assert_eq!(report.error.path, None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "error", "message": "something", "path": null}})
        );
    }
}
