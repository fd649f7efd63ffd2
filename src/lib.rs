//! otel-pki: a private CA and mutual-TLS certificates for OpenTelemetry Collectors and their
//! backends, written safely and checked against the TLS stacks that will use them.
//!
//! The binary is a thin layer over this library: [`cli`] defines the command line, [`cmd`]
//! has one module per verb, [`pki`] is the certificate core (no I/O, no printing),
//! [`write`] writes files atomically and [`output`] prints reports.

// Unix only: file modes, flock(2), directory fsync and symlink swaps have no faithful
// equivalent elsewhere. On other systems the build stops at this one message, and nothing
// below is compiled (so no wall of errors follows it).
#[cfg(not(unix))]
compile_error!(
    "otel-pki supports Linux and macOS (Unix) only: it relies on Unix file permissions \
     (0600 keys), flock(2) and atomic renames over open files. See docs/platforms.md."
);

#[cfg(unix)]
pub mod cli;
#[cfg(unix)]
pub mod cmd;
#[cfg(unix)]
pub mod config;
#[cfg(unix)]
pub mod input;
#[cfg(unix)]
pub mod k8s;
#[cfg(unix)]
pub mod keystore;
#[cfg(unix)]
pub mod output;
#[cfg(unix)]
pub mod pki;
#[cfg(unix)]
pub mod render;
#[cfg(unix)]
pub mod set;
#[cfg(unix)]
pub mod support;
#[cfg(unix)]
pub mod terminal;
#[cfg(unix)]
pub mod tls;
#[cfg(unix)]
pub mod write;

/// The generation layout, now part of [`set`] (kept at its old path).
#[cfg(unix)]
pub use set::generation;

#[cfg(unix)]
use std::process::ExitCode;

/// Runs one command line; returns the exit code (0 ok, 1 a check said no) or an error
/// (exit 2, printed by `main`).
#[cfg(unix)]
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    set::lock::set_timeout(cli.lock_timeout);
    let output = output::Output::new(cli.format, cli.color, cli.quiet);
    cmd::run(cli.command, &output)
}
