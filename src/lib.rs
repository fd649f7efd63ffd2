//! otel-pki: a private CA and mutual-TLS certificates for OpenTelemetry Collectors and their
//! backends, written safely and checked against the TLS stacks that will use them.
//!
//! The binary is a thin layer over this library: [`cli`] defines the command line, [`cmd`]
//! has one module per verb, [`pki`] is the certificate core (no I/O, no printing),
//! [`write`] writes files atomically and [`output`] prints reports.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod input;
pub mod k8s;
pub mod keystore;
pub mod output;
pub mod pki;
pub mod render;
pub mod set;
pub mod terminal;
pub mod tls;
pub mod write;

/// The generation layout, now part of [`set`] (kept at its old path).
pub use set::generation;

use std::process::ExitCode;

/// Runs one command line; returns the exit code (0 ok, 1 a check said no) or an error
/// (exit 2, printed by `main`).
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    set::lock::set_timeout(cli.lock_timeout);
    let output = output::Output::new(cli.format, cli.color, cli.quiet);
    cmd::run(cli.command, &output)
}
