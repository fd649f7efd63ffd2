//! Command-line entry point; everything else lives in the library.

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match otel_pki::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    match otel_pki::run(cli) {
        Ok(code) => code,
        Err(error) if otel_pki::output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "error: {}",
                otel_pki::terminal::escape_lines(&one_line(&error))
            );
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, joined by `: ` like anyhow's `{:#}`, but without a
/// cause whose text the line already holds (a typed error often names its cause itself).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Prints a clap error. A bad value gets exactly one line (clap's own line names the flag
/// and our parser's reason); other usage errors keep clap's usage block. Exit status 2,
/// except for --help and --version.
fn usage_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            eprintln!("{first}");
            ExitCode::from(2)
        }
        _ => {
            let _ = error.print();
            ExitCode::from(2)
        }
    }
}
