//! `otel-pki renew`: re-issue the leaves that are due, all in one generation switch, keeping
//! what they replace; `--rollback` restores the newest backup the same way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::RenewArgs;
use crate::generation::{self, Change, Lock};
use crate::output::Output;
use crate::pki::{PrivateKey, certificate};
use crate::set::names::{CA_CERT, CA_KEY};
pub use crate::set::renewal::{Failure, Renewal, Unchanged};
use crate::set::renewal::{Plan, ReissueOptions, Request, Snapshot, reissue, renewal_entry};
use crate::support;
use crate::write::PlannedFile;

/// Result of `renew`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct RenewReport {
    /// The set directory.
    pub dir: PathBuf,
    /// True with `--dry-run`: `renewed` lists what would be renewed, nothing changed.
    pub dry_run: bool,
    /// The certificates renewed (or, with `--dry-run`, due).
    pub renewed: Vec<Renewal>,
    /// The leaf certificates left as they are, and why.
    pub unchanged: Vec<Unchanged>,
    /// Due certificates that could not be renewed (exit status 2).
    pub failed: Vec<Failure>,
    /// With `--rollback`: what was restored.
    pub rollback: Option<Rollback>,
    /// The generation directory the set now uses, when something changed.
    pub generation: Option<String>,
    /// Where the replaced files were kept, when something changed.
    pub backup_dir: Option<PathBuf>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// What `--rollback` restored.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Rollback {
    /// The backup restored.
    pub from: PathBuf,
    /// The command whose change was undone, when the backup records it.
    pub undid: Option<String>,
    /// Files restored from the backup.
    pub restored: Vec<PathBuf>,
    /// Files removed because the undone change had created them.
    pub removed: Vec<PathBuf>,
}

/// Runs `renew`.
pub fn run(args: &RenewArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    if !dir.join(crate::set::names::CA_CERT).exists() {
        bail!(
            "no certificate set in `{}`; create one with `otel-pki init --dir {}`",
            dir.display(),
            dir.display()
        );
    }
    if args.rollback {
        return rollback(dir, output);
    }
    let names = args
        .names
        .iter()
        .map(|name| support::file_stem(name, "--name"))
        .collect::<Result<Vec<_>>>()?;
    let now = OffsetDateTime::now_utc();
    let request = Request {
        names,
        all: args.all,
        within: args.within,
    };
    let plan = plan(dir, &request, now)?;
    if plan.due.is_empty() || args.dry_run {
        let report = RenewReport {
            dir: dir.clone(),
            dry_run: args.dry_run,
            renewed: plan
                .due
                .iter()
                .map(|due| {
                    let successor = due
                        .template
                        .successor(now, args.validity, plan.ca_not_after);
                    renewal_entry(
                        due,
                        None,
                        !args.reuse_key,
                        successor.request.validity.not_after,
                        successor.clamped,
                    )
                })
                .collect(),
            unchanged: plan.unchanged,
            failed: plan.failed,
            rollback: None,
            generation: None,
            backup_dir: None,
            warnings: plan.warnings,
        };
        return finish(&report, args.exit_code, output);
    }

    // Something is due: take the lock (which also completes a killed run) and decide again,
    // so two concurrent runs never renew the same certificate twice.
    let lock = Lock::acquire(dir)?;
    let mut plan = self::plan(dir, &request, now)?;
    let mut report = RenewReport {
        dir: dir.clone(),
        dry_run: false,
        renewed: Vec::new(),
        unchanged: std::mem::take(&mut plan.unchanged),
        failed: std::mem::take(&mut plan.failed),
        rollback: None,
        generation: None,
        backup_dir: None,
        warnings: std::mem::take(&mut plan.warnings),
    };
    if !plan.due.is_empty() {
        let passphrase = support::passphrase(&args.passphrase)?;
        report
            .warnings
            .extend(support::passphrase_file_warning(&args.passphrase));
        let ca = support::load_ca(&dir.join(CA_CERT), &dir.join(CA_KEY), passphrase.as_ref())
            .context("cannot renew: the set's CA is needed to sign")?;
        let options = ReissueOptions {
            validity: args.validity,
            reuse_key: args.reuse_key,
            must_extend: true,
        };
        let reissued = reissue(&plan.due, &ca, options, now, &mut |types| {
            support::generate_keys(types, output)
        })?;
        report.failed.extend(reissued.failed);
        report.warnings.extend(reissued.warnings);
        if !reissued.files.is_empty() {
            let meta =
                crate::set::renewal::lifetimes_after(dir, &plan.recorded, &reissued.cut_short)?;
            let committed = generation::commit(
                &lock,
                &Change {
                    writes: &reissued.files,
                    removals: &[],
                    keep_modes: true,
                    command: "renew",
                    meta: meta.as_deref(),
                },
            )?;
            report.generation = Some(committed.generation);
            report.backup_dir = committed.backup_dir;
            report.renewed = reissued.renewals;
            sync_keystores(dir, &mut report.warnings, output)?;
        }
    }
    finish(&report, args.exit_code, output)
}

/// Rebuilds the set's PKCS#12 keystores from the renewed files (still under the lock), or
/// warns that they are stale (see [`crate::keystore::sync_after_change`]).
fn sync_keystores(dir: &Path, warnings: &mut Vec<String>, output: &Output) -> Result<()> {
    match crate::keystore::sync_after_change(dir)? {
        crate::keystore::Sync::None => {}
        crate::keystore::Sync::Refreshed(outcome) => {
            let names: Vec<String> = outcome
                .files
                .iter()
                .map(|file| file.path.display().to_string())
                .collect();
            output.status(&format!("rebuilt keystores {}", names.join(", ")));
        }
        crate::keystore::Sync::Stale(warning) => warnings.push(warning),
    }
    Ok(())
}

/// Reads the set and plans (see [`crate::set::renewal::plan`]).
fn plan(dir: &Path, request: &Request, now: OffsetDateTime) -> Result<Plan> {
    crate::set::renewal::plan(Snapshot::read(dir)?, request, now)
}

/// Restores the newest backup as one new generation; the files it replaces are kept.
fn rollback(dir: &Path, output: &Output) -> Result<ExitCode> {
    let lock = Lock::acquire(dir)?;
    let Some(backup) = generation::newest_backup(dir)? else {
        bail!(
            "nothing to roll back: `{}` has no backups",
            dir.join(crate::write::BACKUP_DIR).display()
        );
    };
    let mut warnings = Vec::new();
    let mut writes = Vec::new();
    for name in &backup.files {
        if !generation::is_managed_name(name) {
            warnings.push(format!(
                "`{}` is not a certificate or key and was not restored",
                backup.dir.join(name).display()
            ));
            continue;
        }
        let path = backup.dir.join(name);
        let contents = support::read(&path, "backup file")?;
        let mode = std::fs::metadata(&path)
            .map(|metadata| std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()))
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        writes.push(PlannedFile {
            name: name.clone(),
            contents,
            mode: mode & 0o7777,
        });
    }
    let mut removals: Vec<String> = backup
        .manifest
        .as_ref()
        .map(|manifest| manifest.created.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|name| dir.join(name).symlink_metadata().is_ok())
        .collect();
    removals.sort();
    if writes.is_empty() && removals.is_empty() {
        bail!(
            "nothing to roll back: `{}` holds no certificates or keys",
            backup.dir.display()
        );
    }
    check_restored_pairs(dir, &writes, &removals)?;
    let undid = backup
        .manifest
        .as_ref()
        .map(|manifest| manifest.command.clone());
    let command = format!(
        "renew --rollback {}",
        backup
            .dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let committed = generation::commit(
        &lock,
        &Change {
            writes: &writes,
            removals: &removals,
            keep_modes: false,
            command: &command,
            meta: None,
        },
    )?;
    sync_keystores(dir, &mut warnings, output)?;
    let report = RenewReport {
        dir: dir.to_owned(),
        dry_run: false,
        renewed: Vec::new(),
        unchanged: Vec::new(),
        failed: Vec::new(),
        rollback: Some(Rollback {
            from: backup.dir.clone(),
            undid,
            restored: committed
                .files
                .iter()
                .map(|file| file.path.clone())
                .collect(),
            removed: committed.removed.clone(),
        }),
        generation: Some(committed.generation),
        backup_dir: committed.backup_dir,
        warnings,
    };
    finish(&report, false, output)
}

/// Refuses a rollback that would leave a certificate with a key that does not match it.
fn check_restored_pairs(dir: &Path, writes: &[PlannedFile], removals: &[String]) -> Result<()> {
    let content = |name: &str| -> Option<Vec<u8>> {
        if removals.iter().any(|removed| removed == name) {
            return None;
        }
        writes
            .iter()
            .find(|file| file.name == name)
            .map(|file| file.contents.clone())
            .or_else(|| std::fs::read(dir.join(name)).ok())
    };
    for file in writes {
        let Some(stem) = file
            .name
            .strip_suffix(".crt")
            .or_else(|| file.name.strip_suffix(".key"))
        else {
            continue;
        };
        let (Some(certificate), Some(key)) = (
            content(&format!("{stem}.crt")),
            content(&format!("{stem}.key")),
        ) else {
            continue;
        };
        let Ok(certificates) = certificate::decode_certificates(&certificate, stem) else {
            continue;
        };
        // Encrypted (CA) keys cannot be compared without the passphrase.
        let Ok(key) = PrivateKey::from_pem_or_der(&key, stem) else {
            continue;
        };
        if certificates
            .first()
            .is_some_and(|der| !key.matches_certificate(der))
        {
            bail!(
                "cannot roll back: `{stem}.crt` and `{stem}.key` would not match afterwards; nothing was changed"
            );
        }
    }
    Ok(())
}

fn finish(report: &RenewReport, exit_code: bool, output: &Output) -> Result<ExitCode> {
    for warning in &report.warnings {
        output.warn(warning);
    }
    if report.dry_run {
        // A question (what is due): the answer goes to stdout.
        output.report(report, || dry_run_text(report))?;
    } else {
        output.outcome(report, || print_status(report, output))?;
    }
    for failure in &report.failed {
        output.error(&format!(
            "cannot renew `{}`: {}",
            failure.name, failure.reason
        ));
    }
    Ok(if !report.failed.is_empty() {
        ExitCode::from(2)
    } else if exit_code && !report.renewed.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--dry-run` is a question: its answer goes to stdout.
fn dry_run_text(report: &RenewReport) -> String {
    let mut text = String::new();
    for renewal in &report.renewed {
        text.push_str(&renewal_line("would renew", renewal));
        text.push('\n');
    }
    if report.renewed.is_empty() && report.failed.is_empty() {
        text.push_str(&nothing_line(report));
        text.push('\n');
    }
    text
}

/// `renewed server (server, ECDSA P-256, new key): valid 365 days until …, was until …`.
fn renewal_line(verb: &str, renewal: &Renewal) -> String {
    let key = if renewal.new_key {
        "new key"
    } else {
        "same key"
    };
    let lifetime = renewal.new_not_after - OffsetDateTime::now_utc();
    format!(
        "{verb} {} ({}, {}, {key}): valid {} until {}, was until {}",
        renewal.name,
        renewal.role,
        renewal.key_type,
        crate::pki::lifetime::span_text(lifetime),
        renewal.new_not_after.date(),
        renewal.old_not_after.date()
    )
}

/// `nothing to renew in DIR; next due: NAME on DATE`.
fn nothing_line(report: &RenewReport) -> String {
    let dir = report.dir.display();
    match report.unchanged.iter().min_by_key(|item| item.due_from) {
        Some(next) => format!(
            "nothing to renew in {dir}; next due: {} on {}",
            next.name,
            next.due_from.date()
        ),
        None => format!("nothing to renew in {dir}: no leaf certificates"),
    }
}

fn print_status(report: &RenewReport, output: &Output) {
    let dir = report.dir.display();
    if let Some(rollback) = &report.rollback {
        let names = |paths: &[PathBuf]| {
            paths
                .iter()
                .filter_map(|path| path.file_name())
                .map(|name| name.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let undid = rollback
            .undid
            .as_ref()
            .map(|command| format!(" (undoing `{command}`)"))
            .unwrap_or_default();
        output.status(&format!(
            "restored {}{undid}: {}",
            rollback.from.display(),
            names(&rollback.restored)
        ));
        if !rollback.removed.is_empty() {
            output.status(&format!("removed {}", names(&rollback.removed)));
        }
    }
    for renewal in &report.renewed {
        output.status(&renewal_line("renewed", renewal));
    }
    if report.renewed.is_empty() && report.rollback.is_none() && report.failed.is_empty() {
        output.status(&nothing_line(report));
    } else if !report.renewed.is_empty() && !report.unchanged.is_empty() {
        let names: Vec<&str> = report
            .unchanged
            .iter()
            .map(|item| item.name.as_str())
            .collect();
        output.status(&format!("not due: {}", names.join(", ")));
    }
    if let Some(generation) = &report.generation {
        output.status(&format!(
            "switched {dir}/{} to {generation}",
            generation::DATA
        ));
    }
    if let Some(backup_dir) = &report.backup_dir {
        output.status(&format!(
            "kept the previous files in {}",
            backup_dir.display()
        ));
    }
}
