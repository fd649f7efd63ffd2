//! `otel-pki man`: manual pages generated from the clap definitions.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

use crate::cli::{Cli, ManArgs};
use crate::output::Output;
use crate::write::{self, PlannedFile};

/// Prints the main page, or writes every page into `--out-dir`.
pub fn run(args: &ManArgs, output: &Output) -> Result<ExitCode> {
    let command = Cli::command();
    let Some(dir) = &args.out_dir else {
        let page = render(&command)?;
        output.print(&String::from_utf8_lossy(&page))?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut pages = vec![PlannedFile::public("otel-pki.1", render(&command)?)];
    collect_subcommands(&command, "otel-pki", &mut pages)?;
    let outcome = write::write_set(dir, &pages, write::Overwrite::from_force(args.force))?;
    output.status(&format!(
        "wrote {} manual pages to {}",
        outcome.files.len(),
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn collect_subcommands(
    command: &clap::Command,
    prefix: &str,
    pages: &mut Vec<PlannedFile>,
) -> Result<()> {
    for subcommand in command.get_subcommands() {
        if subcommand.get_name() == "help" {
            continue;
        }
        let name = format!("{prefix}-{}", subcommand.get_name());
        let page_command = subcommand.clone().name(name.clone());
        pages.push(PlannedFile::public(
            format!("{name}.1"),
            render(&page_command)?,
        ));
        collect_subcommands(subcommand, &name, pages)?;
    }
    Ok(())
}

fn render(command: &clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .context("could not render the manual page")?;
    Ok(page)
}
