use crate::support::*;

/// Every command and subcommand, from the clap definitions (so a new command cannot be forgotten).
fn all_commands() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let subcommands: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|sub| sub.get_name() != "help")
            .collect();
        if !path.is_empty() {
            out.push(path.clone());
        }
        for sub in subcommands {
            path.push(sub.get_name().to_owned());
            walk(sub, path, out);
            path.pop();
        }
    }
    // Subcommands' arguments and children are built only when one runs (`defer`): build the
    // whole tree to see all of it.
    let mut command = <otel_pki::cli::Cli as clap::CommandFactory>::command();
    command.build();
    let mut out = Vec::new();
    walk(&command, &mut Vec::new(), &mut out);
    out
}

/// Each command's arguments are built only when it runs, so a doc comment on an argument
/// struct would silently replace the command's own one-line description: the line a parent
/// lists for each subcommand must be the first line of that subcommand's `-h`.
#[test]
fn each_command_describes_itself_as_its_parent_lists_it() {
    let work = workdir();
    let commands = all_commands();
    assert!(commands.len() >= 28, "{commands:?}");
    for path in &commands {
        let (parent, name) = path.split_at(path.len() - 1);
        let listing = help_at_80(work.path(), parent, "-h");
        let listed = listing
            .lines()
            .skip_while(|line| !line.starts_with("Commands:"))
            .find_map(|line| line.trim_start().strip_prefix(&format!("{} ", name[0])))
            .unwrap_or_else(|| panic!("{parent:?} -h does not list {name:?}:\n{listing}"))
            .trim();
        let own = help_at_80(work.path(), path, "-h");
        let first = own.lines().next().unwrap_or_default();
        assert!(
            !listed.is_empty() && first.starts_with(listed.trim_end_matches('…')),
            "{path:?}: listed as {listed:?}, but its -h starts with {first:?}"
        );
    }
}

#[test]
fn every_command_help_ends_with_examples_and_exit_codes() {
    let work = workdir();
    let commands = all_commands();
    assert!(commands.len() >= 25, "{commands:?}");
    for command in commands {
        let output = otel_pki(work.path())
            .args(&command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Examples:"), "{command:?} has no examples");
        assert!(
            help.contains("Exit status:") && help.contains("2  error or bad usage"),
            "{command:?}"
        );
    }
}

#[test]
fn completions_are_generated_for_every_shell() {
    let work = workdir();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = otel_pki(work.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("key-type"), "{shell}");
        if shell != "powershell" {
            assert!(script.contains("ecdsa-p256"), "{shell}");
        }
    }
}

#[test]
fn man_pages_are_generated_from_the_cli() {
    let work = workdir();
    let output = otel_pki(work.path()).arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(
        page.contains(".TH otel-pki 1") && page.contains("init"),
        "{page}"
    );
    otel_pki(work.path())
        .args(["man", "--out-dir", "man1", "-q"])
        .assert()
        .success();
    let pages = listing(&work.path().join("man1"));
    for page in [
        "otel-pki.1",
        "otel-pki-init.1",
        "otel-pki-issue-server.1",
        "otel-pki-inspect.1",
    ] {
        assert!(
            pages.contains(&page.to_owned()),
            "{page} missing from {pages:?}"
        );
    }
}

#[test]
fn no_arguments_prints_help_and_exits_2() {
    let work = workdir();
    let output = otel_pki(work.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}

/// The clap definition of `path` (e.g. `["issue", "server"]`).
fn definition(path: &[String]) -> clap::Command {
    let mut command = <otel_pki::cli::Cli as clap::CommandFactory>::command();
    command.build();
    for name in path {
        command = command
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"))
            .clone();
    }
    command
}

/// `otel-pki PATH FLAG` rendered at 80 columns (clap reads COLUMNS).
fn help_at_80(work: &std::path::Path, path: &[String], flag: &str) -> String {
    let output = otel_pki(work)
        .args(path)
        .arg(flag)
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert!(output.status.success(), "{path:?} {flag}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_fits_80_columns_and_short_help_fits_a_screen() {
    let work = workdir();
    let mut failures = Vec::new();
    for path in std::iter::once(Vec::new()).chain(all_commands()) {
        let short = help_at_80(work.path(), &path, "-h");
        let long = help_at_80(work.path(), &path, "--help");
        for (flag, text) in [("-h", &short), ("--help", &long)] {
            for line in text.lines() {
                if line.chars().count() > 80 {
                    failures.push(format!("{path:?} {flag}: longer than 80 columns: {line}"));
                }
            }
        }
        let lines = short.lines().count();
        if lines > 50 {
            failures.push(format!(
                "{path:?} -h: {lines} lines, more than a screen (50)"
            ));
        }
        if short.contains("Examples:") {
            failures.push(format!("{path:?} -h: examples belong in --help"));
        }
        // Every example line reaches the reader whole, as written: clap must not re-wrap it.
        let after = definition(&path)
            .get_after_long_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        let examples = after
            .split("Examples:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or_default();
        assert!(!examples.is_empty(), "{path:?} has no examples");
        for example in examples.lines() {
            if !long
                .lines()
                .any(|line| line.trim_end() == example.trim_end())
            {
                failures.push(format!("{path:?} --help: example broken: {example}"));
            }
        }
        // Prose is one line per paragraph in the source, wrapped by clap alone: a prose line
        // (not indented, not a heading) is followed by a blank line or an indented one.
        let prose: Vec<&str> = after.split("Examples:\n").next().unwrap().lines().collect();
        for pair in prose.windows(2) {
            let (line, next) = (pair[0], pair[1]);
            let wrapped_by_hand = !line.is_empty()
                && !line.starts_with(' ')
                && !line.ends_with(':')
                && !next.is_empty()
                && !next.starts_with(' ');
            if wrapped_by_hand {
                failures.push(format!("{path:?}: prose wrapped by hand: {line}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
