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
    let mut out = Vec::new();
    walk(
        &<otel_pki::cli::Cli as clap::CommandFactory>::command(),
        &mut Vec::new(),
        &mut out,
    );
    out
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
