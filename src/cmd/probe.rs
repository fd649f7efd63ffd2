//! placeholder
use std::process::ExitCode;
/// Runs.
pub fn run(_: &crate::cli::ProbeArgs, _: &crate::output::Output) -> anyhow::Result<ExitCode> {
    todo!()
}
