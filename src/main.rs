//! Command-line entry point; everything else lives in the library.

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;
use otel_pki::output::{self, ErrorCode, ErrorReport, Format};

fn main() -> ExitCode {
    let cli = match otel_pki::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error, output::json_requested(std::env::args_os())),
    };
    let json = cli.format == Format::Json;
    match otel_pki::run(cli) {
        Ok(code) => code,
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let message = one_line(&error);
            eprintln!("error: {}", otel_pki::terminal::escape_lines(&message));
            if json {
                output::print_error_json(&ErrorReport::from_error(&error, &message));
            }
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
/// except for --help and --version. With `json`, an error also prints its JSON object.
fn usage_error(error: &clap::Error, json: bool) -> ExitCode {
    let code = match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            eprintln!("{first}");
            ErrorCode::BadInput
        }
        _ => {
            let _ = error.print();
            ErrorCode::Usage
        }
    };
    if json {
        let rendered = error.render().to_string();
        let first = rendered.lines().find(|line| !line.trim().is_empty());
        let message = first.unwrap_or_default().trim_start_matches("error: ");
        output::print_error_json(&ErrorReport::usage(code, message));
    }
    ExitCode::from(2)
}
