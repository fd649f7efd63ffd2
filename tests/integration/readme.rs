//! README.md's examples are tests: every ```console block is run in a fresh directory.
//!
//! - A line starting with `$ ` is a command, run with `sh -c` and `otel-pki` first on PATH.
//!   It must exit 0, or the code given by a trailing `# exit N` comment.
//! - The lines after a command are expected output (stdout and stderr together). They must
//!   appear in that order, each matching a whole output line, where `…` matches anything;
//!   output lines not shown in the README may come in between.

use std::path::Path;

use crate::support::*;

struct Step {
    command: String,
    expected_code: i32,
    expected_lines: Vec<String>,
    line_number: usize,
}

fn blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for (index, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```console") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap_or_default()),
            (Some(steps), line) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    let (command, expected_code) = match command.rsplit_once("# exit ") {
                        Some((command, code)) => (command.trim_end(), code.trim().parse().unwrap()),
                        None => (command, 0),
                    };
                    steps.push(Step {
                        command: command.to_owned(),
                        expected_code,
                        expected_lines: Vec::new(),
                        line_number: index + 1,
                    });
                } else if let Some(step) = steps.last_mut().filter(|_| !line.is_empty()) {
                    step.expected_lines.push(line.to_owned());
                }
            }
            _ => {}
        }
    }
    blocks
}

fn matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            match rest.strip_prefix(part) {
                Some(after) => rest = after,
                None => return false,
            }
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(position) => rest = &rest[position + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn run_step(dir: &Path, step: &Step) -> Result<(), String> {
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_otel-pki")).parent().unwrap();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{} 2>&1", step.command))
        .current_dir(dir)
        .env("PATH", path);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_PKI_") {
            command.env_remove(&name);
        }
    }
    command.env_remove("NO_COLOR").env("TERM", "dumb");
    let output = command.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let code = output.status.code().unwrap_or(-1);
    if code != step.expected_code {
        return Err(format!(
            "exit {code}, expected {}\n{text}",
            step.expected_code
        ));
    }
    let mut lines = text.lines();
    for expected in &step.expected_lines {
        if !lines.any(|line| matches(expected, line.trim_end())) {
            return Err(format!(
                "no line matching `{expected}` (in order) in:\n{text}"
            ));
        }
    }
    Ok(())
}

#[test]
fn readme_examples_are_true() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 3, "README.md should have console examples");
    let mut failures = Vec::new();
    for steps in &blocks {
        let work = workdir();
        for step in steps {
            if let Err(error) = run_step(work.path(), step) {
                failures.push(format!(
                    "README.md:{}: `{}`: {error}",
                    step.line_number, step.command
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let first_block: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default()
        .lines()
        .collect();
    assert!(
        first_block[0].starts_with("cargo run --release -- init"),
        "{first_block:?}"
    );
    assert!(first_block[1].starts_with("cargo test"), "{first_block:?}");
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        ci.contains("\ncargo test"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn the_wildcard_matcher_works() {
    assert!(matches("a…c", "abbbc"));
    assert!(matches("…c", "abc"));
    assert!(matches("a…", "abc"));
    assert!(!matches("a…c", "abd"));
    assert!(matches("x…y…z", "x1y2z"));
    assert!(!matches("abc", "abcd"));
}
