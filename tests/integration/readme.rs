//! The examples of README.md and of every docs/*.md file are tests: every ```console block
//! is run in a fresh directory. Files added to docs/ are picked up when the test runs.
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

/// README.md, then every `*.md` file in docs/, as (name for messages, path).
fn documents() -> Vec<(String, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut documents = vec![("README.md".to_owned(), root.join("README.md"))];
    let mut pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
                .collect()
        })
        .unwrap_or_default();
    pages.sort();
    for page in pages {
        let name = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        documents.push((name, page));
    }
    documents
}

/// Runs every console block of one document; one failure message per failing block.
fn run_document(name: &str, text: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for steps in &blocks(text) {
        let work = workdir();
        for step in steps {
            if let Err(error) = run_step(work.path(), step) {
                failures.push(format!(
                    "{name}:{}: `{}`: {error}",
                    step.line_number, step.command
                ));
                break;
            }
        }
    }
    failures
}

#[test]
fn readme_examples_are_true() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        blocks(&readme).len() >= 2,
        "README.md should have console examples"
    );
    let failures = run_document("README.md", &readme);
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn docs_examples_are_true() {
    let documents = documents();
    assert!(
        documents.len() >= 6,
        "docs/ should hold the pages README.md links: {documents:?}"
    );
    let mut failures = Vec::new();
    let mut examples = 0;
    for (name, path) in documents.iter().skip(1) {
        let text = std::fs::read_to_string(path).unwrap();
        examples += blocks(&text).len();
        failures.extend(run_document(name, &text));
    }
    assert!(examples >= 10, "docs/ should have console examples");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn readme_links_to_docs_that_exist_or_are_known() {
    // Every docs/ page is reachable from the front page.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (name, _) in documents().iter().skip(1) {
        assert!(
            readme.contains(&format!("]({name}")),
            "README.md does not link {name}"
        );
    }
    assert!(
        readme.lines().count() <= 400,
        "README.md is a front page: details belong in docs/"
    );
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
