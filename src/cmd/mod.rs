//! One module per verb: each turns its arguments into a request, calls the library, builds
//! one report and hands it to the output.

pub mod completions;
pub mod init;
pub mod inspect;
pub mod issue;
pub mod k8s;
pub mod man;
pub mod support;

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
        // --- rotation: renew, ca ---
        // --- configuration: config, lint-config ---
        // --- kubernetes: k8s ---
        Command::K8s(args) => k8s::run(&args, output),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, output),
    }
}
