//! Where output goes: reports to stdout (text for people, JSON for scripts), status lines and
//! warnings to stderr, colour only on terminals. Nothing else in the crate prints.

use std::io::{self, IsTerminal as _, Write as _};

use serde::Serialize;

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
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
    }

    /// Writes `warning: …` to stderr, even with `--quiet`.
    pub fn warn(&self, message: &str) {
        let label = paint(self.stderr_color, Style::Warn, "warning:");
        let _ = writeln!(io::stderr().lock(), "{label} {message}");
    }

    /// Writes `error: …` for a non-fatal per-item error to stderr.
    pub fn error(&self, message: &str) {
        let label = paint(self.stderr_color, Style::Bad, "error:");
        let _ = writeln!(io::stderr().lock(), "{label} {message}");
    }

    /// Writes text to stdout as one buffered write. A closed pipe is an error the caller
    /// propagates (`main` treats it as success).
    pub fn print(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// Writes several pieces of text to stdout through one buffer, without joining them
    /// first (a 10,000-certificate report is megabytes).
    pub fn print_all<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        let mut stdout = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        for part in parts {
            stdout.write_all(part.as_bytes())?;
        }
        stdout.flush()
    }

    /// Writes `value` as pretty JSON plus a newline to stdout.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let mut stdout = io::BufWriter::new(io::stdout().lock());
        serde_json::to_writer_pretty(&mut stdout, value)?;
        stdout.write_all(b"\n")?;
        stdout.flush()
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
