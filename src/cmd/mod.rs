//! One module per verb: each turns its arguments into a request, calls the library, builds
//! one report and hands it to the output.

pub mod ca;
pub mod check;
pub mod completions;
pub mod config;
pub mod init;
pub mod inspect;
pub mod issue;
pub mod k8s;
pub mod keystore;
pub mod lint_config;
pub mod man;
pub mod probe;
pub mod renew;
pub mod selftest;
pub mod sign;
pub mod verify;

use std::process::ExitCode;

use crate::cli::Command;
use crate::output::Output;

/// Dispatches a parsed command.
pub fn run(command: Command, output: &Output) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => init::run(&args, output),
        Command::Issue(args) => issue::run(&args, output),
        Command::Inspect(args) => inspect::run(&args, output),
        // --- "will this handshake work?": verify, check, selftest, probe ---
        Command::Verify(args) => verify::run(&args, output),
        Command::Check(args) => check::run(&args, output),
        Command::Selftest(args) => selftest::run(&args, output),
        Command::Probe(args) => probe::run(&args, output),
        // --- rotation: renew, ca ---
        Command::Renew(args) => renew::run(&args, output),
        Command::Ca(args) => ca::run(&args, output),
        // --- configuration: config, lint-config ---
        Command::Config(command) => config::run(&command, output),
        Command::LintConfig(args) => lint_config::run(&args, output),
        // --- consumers: keystore, sign ---
        Command::Keystore(args) => keystore::run(&args, output),
        Command::Sign(args) => sign::run(&args, output),
        // --- kubernetes: k8s ---
        Command::K8s(args) => k8s::run(&args, output),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, output),
    }
}
