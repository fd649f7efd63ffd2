//! `otel-pki lint-config FILE…`: the mutual-TLS mistakes in Collector, Jaeger and Tempo
//! configuration files, each with its YAML path, line, severity and fix.

use std::path::Path;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::LintConfigArgs;
use crate::config::lint::{FileChecks, Finding, Kind, LintOptions, Severity};
use crate::input;
use crate::output::{Output, Style};

/// Result of `lint-config`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct LintConfigReport {
    /// One entry per file that could be read and parsed.
    pub files: Vec<FileReport>,
    /// Files that could not be read or parsed, each message naming the file (exit 2).
    pub errors: Vec<String>,
    /// No errors, no warnings and no unreadable file (info findings allowed).
    pub clean: bool,
}

/// The findings of one configuration: a file, or one document or Kubernetes object of it.
#[derive(Debug, Deserialize, Serialize)]
pub struct FileReport {
    /// The file as given (`-` for standard input).
    pub path: String,
    /// Which part of the file, when it is not the whole file: `document 2`,
    /// `ConfigMap otel-collector-config data.config.yaml`. Absent for a plain file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What it was taken for: `collector`, `jaeger`, `jaeger-v1`, `tempo`, or `kubernetes`
    /// (an object that holds no configuration: not linted).
    pub kind: Kind,
    /// The findings in file order.
    pub findings: Vec<Finding>,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of info findings.
    pub infos: usize,
}

/// Runs `lint-config`.
pub fn run(args: &LintConfigArgs, output: &Output) -> anyhow::Result<ExitCode> {
    let options = LintOptions {
        kind: args.kind.map(Into::into),
        collector_version: args.collector_version,
        files: (!args.no_file_checks).then(|| FileChecks {
            mounts: args.mount.clone(),
            within: args.within,
            now: OffsetDateTime::now_utc(),
        }),
    };
    let mut report = LintConfigReport {
        files: Vec::new(),
        errors: Vec::new(),
        clean: true,
    };
    for path in &args.files {
        let shown = path.display().to_string();
        let result = read(path).and_then(|text| {
            crate::config::lint::lint_file(&text, &options)
                .map_err(|error| format!("cannot parse `{shown}` as YAML: {error}"))
        });
        match result {
            Ok(lints) => {
                for lint in lints {
                    let file = FileReport {
                        path: shown.clone(),
                        source: lint.source.clone(),
                        kind: lint.kind,
                        errors: lint.count(Severity::Error),
                        warnings: lint.count(Severity::Warning),
                        infos: lint.count(Severity::Info),
                        findings: lint.findings,
                    };
                    if !output.is_json() {
                        output.print(&text_report(&file, output))?;
                    }
                    report.files.push(file);
                }
            }
            Err(message) => {
                if !output.is_json() {
                    output.error(&message);
                }
                report.errors.push(message);
            }
        }
    }
    report.clean = report.errors.is_empty()
        && report
            .files
            .iter()
            .all(|file| file.errors == 0 && file.warnings == 0);
    if output.is_json() {
        output.print_json(&report)?;
    }
    Ok(if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if report.clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Reads a configuration (or standard input for `-`) with [`input::CONFIG_LIMIT`]: a
/// FIFO or device is refused without blocking, a larger input is an error.
fn read(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let bytes = if path == Path::new("-") {
        input::read_stdin(input::CONFIG_LIMIT, "configuration")
            .map_err(|error| format!("cannot read standard input: {}", error.reason()))?
    } else {
        input::read(path, input::CONFIG_LIMIT, "configuration")
            .map_err(|error| format!("cannot read `{shown}`: {}", error.reason()))?
    };
    String::from_utf8(bytes).map_err(|_| format!("cannot read `{shown}`: it is not UTF-8 text"))
}

/// `FILE:LINE:COLUMN: SEVERITY: PATH: message [rule]` and `  fix: …` per finding, then a
/// summary line.
fn text_report(file: &FileReport, output: &Output) -> String {
    let mut text = String::new();
    for finding in &file.findings {
        let style = match finding.severity {
            Severity::Error => Style::Bad,
            Severity::Warning => Style::Warn,
            Severity::Info => Style::Dim,
        };
        let path = if finding.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", finding.path)
        };
        text.push_str(&format!(
            "{}:{}:{}: {}: {path}{} [{}]\n  fix: {}\n",
            file.path,
            finding.line,
            finding.column,
            output.paint(style, finding.severity.name()),
            finding.message,
            finding.rule,
            finding.fix
        ));
    }
    let plural = |count: usize, word: &str| {
        if count == 1 {
            format!("1 {word}")
        } else {
            format!("{count} {word}s")
        }
    };
    let summary = if file.findings.is_empty() {
        "no findings".to_owned()
    } else {
        format!(
            "{}, {}, {} info",
            plural(file.errors, "error"),
            plural(file.warnings, "warning"),
            file.infos
        )
    };
    let source = match &file.source {
        Some(source) => format!(" ({source})"),
        None => String::new(),
    };
    text.push_str(&format!(
        "{}{source}: {}: {summary}\n",
        file.path,
        file.kind.description()
    ));
    text
}
