//! `otel-pki renew`: re-issue the leaves that are due, all in one generation switch, keeping
//! what they replace; `--rollback` restores the newest backup the same way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::support;
use crate::cli::RenewArgs;
use crate::generation::{self, Change, Lock};
use crate::output::Output;
use crate::pki::renewal::{self, LeafTemplate, RequestedLifetime, RequestedLifetimes};
use crate::pki::{Ca, Lifetime, PrivateKey, certificate, issue::rfc3339};
use crate::set::{self, Pair};
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

/// One renewed certificate.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Renewal {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// The certificate file.
    pub certificate: PathBuf,
    /// The key file.
    pub key: PathBuf,
    /// `server`, `client` or `server+client` (kept).
    pub role: String,
    /// The subject common name (kept).
    pub common_name: String,
    /// The key algorithm (kept), e.g. `ECDSA P-256`.
    pub key_type: String,
    /// False with `--reuse-key`.
    pub new_key: bool,
    /// Serial number of the replaced certificate.
    pub old_serial: String,
    /// Serial number of the new certificate (null with `--dry-run`).
    pub new_serial: Option<String>,
    /// notAfter of the replaced certificate.
    #[serde(with = "time::serde::rfc3339")]
    pub old_not_after: OffsetDateTime,
    /// notAfter of the new certificate (with `--dry-run`: what it would be).
    #[serde(with = "time::serde::rfc3339")]
    pub new_not_after: OffsetDateTime,
    /// True when the lifetime was cut short to end with the CA.
    pub clamped: bool,
}

/// A leaf left unchanged.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Unchanged {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// Its notAfter.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// When it becomes due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_from: OffsetDateTime,
}

/// A due certificate that could not be renewed.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Failure {
    /// `NAME` of `NAME.crt`.
    pub name: String,
    /// Why, and what to do.
    pub reason: String,
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

/// A due leaf: what it is and where.
#[derive(Clone, Debug)]
pub struct Due {
    /// Its files.
    pub pair: Pair,
    /// What its successor keeps.
    pub template: LeafTemplate,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// New files and report entries for re-issued leaves.
#[derive(Debug, Default)]
pub struct Reissued {
    /// `NAME.key` (unless the key is reused) and `NAME.crt` of each.
    pub files: Vec<PlannedFile>,
    /// One entry per leaf.
    pub renewals: Vec<Renewal>,
    /// Leaves that could not be re-issued.
    pub failed: Vec<Failure>,
    /// Warnings (lifetimes cut short).
    pub warnings: Vec<String>,
    /// The lifetimes asked for the successors cut short to end with the CA, to record.
    pub cut_short: Vec<RequestedLifetime>,
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
    let plan = plan(dir, args, &names, now)?;
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
    let mut plan = self::plan(dir, args, &names, now)?;
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
        let ca = support::load_ca(
            &dir.join("ca.crt"),
            &dir.join("ca.key"),
            passphrase.as_ref(),
        )
        .context("cannot renew: the set's CA is needed to sign")?;
        let options = ReissueOptions {
            validity: args.validity,
            reuse_key: args.reuse_key,
            must_extend: true,
        };
        let reissued = reissue(&plan.due, &ca, options, now, output)?;
        report.failed.extend(reissued.failed);
        report.warnings.extend(reissued.warnings);
        if !reissued.files.is_empty() {
            let meta = lifetimes_after(dir, &plan.recorded, &reissued.cut_short)?;
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
        }
    }
    finish(&report, args.exit_code, output)
}

/// How leaves are re-issued.
#[derive(Clone, Copy, Debug)]
pub struct ReissueOptions {
    /// The lifetime of the new certificates (default: the one each was issued with or
    /// asked for).
    pub validity: Option<Lifetime>,
    /// Keep the private keys.
    pub reuse_key: bool,
    /// Refuse a successor cut short by the CA that would not end later than the
    /// certificate it replaces (a renewal that extends nothing); `ca rotate --promote`
    /// re-issues from the new CA whatever the dates.
    pub must_extend: bool,
}

/// Re-issues `due` leaves from `ca`: same subject, names, purpose and key type, the
/// lifetime each was issued with or asked for (or `options.validity`), never beyond the
/// CA; new keys unless `options.reuse_key`. A leaf that cannot be re-issued is reported in
/// `failed`, the others go on.
pub fn reissue(
    due: &[Due],
    ca: &Ca,
    options: ReissueOptions,
    now: OffsetDateTime,
    output: &Output,
) -> Result<Reissued> {
    let ReissueOptions {
        validity,
        reuse_key,
        must_extend,
    } = options;
    let mut reissued = Reissued::default();
    let mut ready = Vec::new();
    for item in due {
        let successor = item.template.successor(now, validity, ca.not_after());
        if must_extend
            && successor.clamped
            && successor.request.validity.not_after <= item.template.not_after
        {
            reissued.failed.push(Failure {
                name: item.pair.name.clone(),
                reason: format!(
                    "it cannot be extended: its CA `{}` expires on {}; rotate the CA with `otel-pki ca rotate --stage`",
                    ca.certificate_path(),
                    rfc3339(ca.not_after())
                ),
            });
            continue;
        }
        if successor.clamped {
            reissued
                .warnings
                .push(successor.clamp_warning(&item.pair.name));
        }
        let key = if reuse_key {
            let bytes = support::read(&item.pair.key, "key")?;
            let key = PrivateKey::from_pem_or_der(&bytes, &support::display(&item.pair.key))?;
            if !key.matches_certificate(&item.der) {
                reissued.failed.push(Failure {
                    name: item.pair.name.clone(),
                    reason: format!(
                        "--reuse-key: `{}` does not match `{}`",
                        item.pair.key.display(),
                        item.pair.certificate.display()
                    ),
                });
                continue;
            }
            Some(key)
        } else if item.template.key_type.is_none() {
            reissued.failed.push(Failure {
                name: item.pair.name.clone(),
                reason: format!(
                    "its key is {}, which otel-pki does not generate; use --reuse-key, or issue a replacement with `otel-pki issue`",
                    item.template.key_description
                ),
            });
            continue;
        } else {
            None
        };
        ready.push((item, successor, key));
    }
    let key_types: Vec<_> = ready
        .iter()
        .filter(|(_, _, key)| key.is_none())
        .filter_map(|(item, _, _)| item.template.key_type)
        .collect();
    let mut fresh = support::generate_keys(&key_types, output)?.into_iter();
    for (item, successor, reused) in ready {
        let new_key = reused.is_none();
        let key = match reused {
            Some(key) => key,
            None => fresh
                .next()
                .context("key generation returned too few keys")?,
        };
        let issued = ca.issue(&successor.request, key)?;
        let name = &item.pair.name;
        let serial = certificate::parse(&issued.certificate_der)
            .ok()
            .map(|parsed| certificate::hex(parsed.raw_serial(), ":"));
        if let (true, Some(serial)) = (successor.clamped, &serial) {
            reissued.cut_short.push(RequestedLifetime {
                serial: serial.clone(),
                name: name.clone(),
                lifetime: successor.requested,
            });
        }
        if new_key {
            reissued.files.push(PlannedFile::key(
                format!("{name}.key"),
                issued.key.to_pkcs8_pem(),
            ));
        }
        reissued.files.push(PlannedFile::public(
            format!("{name}.crt"),
            issued.certificate_pem(),
        ));
        reissued.renewals.push(renewal_entry(
            item,
            serial,
            new_key,
            successor.request.validity.not_after,
            successor.clamped,
        ));
    }
    Ok(reissued)
}

/// The leaves of `dir` that are CA certificates are skipped; every other `NAME.crt` is
/// read as a leaf.
pub fn leaves(dir: &Path) -> Result<Vec<(Pair, Vec<u8>)>> {
    let pairs =
        set::pairs(dir).with_context(|| format!("cannot read the set `{}`", dir.display()))?;
    let mut leaves = Vec::new();
    for pair in pairs {
        // A link whose file is gone (a killed run) is not a certificate.
        if !pair.certificate.is_file() {
            continue;
        }
        let certificates = set::read_certificates(&pair.certificate)?;
        let Some(der) = certificates.into_iter().next() else {
            continue;
        };
        // Every unreadable leaf is an error naming the file, whether it holds no PEM block
        // (read_certificates above) or a block that is not a certificate.
        let is_ca = certificate::parse(&der)
            .map(|parsed| certificate::Role::of(&parsed) == certificate::Role::Ca)
            .map_err(|reason| {
                anyhow::anyhow!(
                    "`{}` is not a readable certificate: {reason}; replace it (e.g. `otel-pki issue … --force`) or move it out of `{}`",
                    pair.certificate.display(),
                    dir.display()
                )
            })?;
        if !is_ca {
            leaves.push((pair, der));
        }
    }
    Ok(leaves)
}

/// The lifetimes recorded in `dir` for certificates cut short by their CA (see
/// [`RequestedLifetimes`]). A record that cannot be read is a warning: without it, such a
/// certificate's successor gets the shortened lifetime unless `--validity` says otherwise.
pub fn recorded_lifetimes(dir: &Path, warnings: &mut Vec<String>) -> RequestedLifetimes {
    let Some(bytes) = generation::read_meta(dir) else {
        return RequestedLifetimes::default();
    };
    RequestedLifetimes::from_json(&bytes).unwrap_or_else(|error| {
        warnings.push(format!(
            "ignored `{}`: {error}; a certificate cut short to end with its CA keeps its shortened lifetime unless --validity says otherwise",
            dir.join(generation::DATA).join(generation::META).display()
        ));
        RequestedLifetimes::default()
    })
}

/// The record of requested lifetimes for the generation a change creates: `recorded`
/// without the certificates no longer in the set, plus `cut_short`. The certificates the
/// change replaces keep theirs, for the rollback that would restore them. `None` when the
/// record stays as it is.
pub fn lifetimes_after(
    dir: &Path,
    recorded: &RequestedLifetimes,
    cut_short: &[RequestedLifetime],
) -> Result<Option<Vec<u8>>> {
    if recorded.requested_lifetimes.is_empty() && cut_short.is_empty() {
        return Ok(None);
    }
    // The leaves in the set now: they stay, or go to the backup a rollback restores.
    let live: std::collections::HashSet<String> = leaves(dir)?
        .iter()
        .filter_map(|(_, der)| certificate::parse(der).ok())
        .map(|parsed| certificate::hex(parsed.raw_serial(), ":"))
        .collect();
    let mut next = recorded.clone();
    next.retain(|serial| live.contains(serial));
    for entry in cut_short {
        next.insert(&entry.serial, &entry.name, entry.lifetime);
    }
    Ok((next != *recorded).then(|| next.to_json()))
}

/// The subjects (DER) of the CA certificates in `ca_file`: leaves issued by any of them
/// belong to the set.
pub fn ca_subjects(ca_file: &Path) -> Vec<Vec<u8>> {
    set::read_certificates(ca_file)
        .unwrap_or_default()
        .iter()
        .filter_map(|der| {
            certificate::parse(der)
                .ok()
                .map(|parsed| parsed.subject().as_raw().to_vec())
        })
        .collect()
}

struct Plan {
    due: Vec<Due>,
    unchanged: Vec<Unchanged>,
    failed: Vec<Failure>,
    warnings: Vec<String>,
    ca_not_after: OffsetDateTime,
    recorded: RequestedLifetimes,
}

fn plan(dir: &Path, args: &RenewArgs, names: &[String], now: OffsetDateTime) -> Result<Plan> {
    let leaves = leaves(dir)?;
    for name in names {
        if !leaves.iter().any(|(pair, _)| &pair.name == name) {
            let path = dir.join(format!("{name}.crt"));
            if path.is_file() {
                bail!(
                    "invalid --name `{name}`: `{}` is a CA certificate; rotate a CA with `otel-pki ca rotate --stage`",
                    path.display()
                );
            }
            bail!("invalid --name `{name}`: there is no `{}`", path.display());
        }
    }
    let ca_file = dir.join("ca.crt");
    let issuers = ca_subjects(&ca_file);
    let ca_not_after = set::read_certificates(&ca_file)
        .ok()
        .and_then(|certificates| certificates.into_iter().next())
        .and_then(|der| {
            certificate::parse(&der)
                .ok()
                .map(|parsed| parsed.validity().not_after.to_datetime())
        })
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut warnings = Vec::new();
    let recorded = recorded_lifetimes(dir, &mut warnings);
    let mut plan = Plan {
        due: Vec::new(),
        unchanged: Vec::new(),
        failed: Vec::new(),
        warnings,
        ca_not_after,
        recorded,
    };
    for (pair, der) in leaves {
        let named = names.contains(&pair.name);
        if !names.is_empty() && !named {
            continue;
        }
        let path = support::display(&pair.certificate);
        let mut template = match LeafTemplate::of(&der, &path) {
            Ok(template) => template,
            Err(error) if named => return Err(error.into()),
            Err(error) => {
                plan.warnings.push(format!("skipped: {error}"));
                continue;
            }
        };
        template.remember(&plan.recorded);
        let due_from = template.due_from(args.within);
        let due = args.all || (named && args.within.is_none()) || now >= due_from;
        if !due {
            plan.unchanged.push(Unchanged {
                name: pair.name,
                not_after: template.not_after,
                due_from,
            });
            continue;
        }
        if !issuers.contains(&template.issuer) {
            plan.failed.push(Failure {
                name: pair.name.clone(),
                reason: format!(
                    "it is signed by `{}`, not by the CA in `{}`; renew it with the CA that signed it (`otel-pki issue --ca-cert … --force`)",
                    template.issuer_text,
                    ca_file.display()
                ),
            });
            continue;
        }
        if let Some(subject) = &template.dropped_subject {
            plan.warnings.push(format!(
                "`{path}` has the subject `{subject}`; its successor keeps only CN={}",
                template.common_name
            ));
        }
        plan.due.push(Due {
            pair,
            template,
            der,
        });
    }
    Ok(plan)
}

fn renewal_entry(
    due: &Due,
    new_serial: Option<String>,
    new_key: bool,
    new_not_after: OffsetDateTime,
    clamped: bool,
) -> Renewal {
    Renewal {
        name: due.pair.name.clone(),
        certificate: due.pair.certificate.clone(),
        key: due.pair.key.clone(),
        role: due.template.profile.name().to_owned(),
        common_name: due.template.common_name.clone(),
        key_type: due.template.key_description.clone(),
        new_key,
        old_serial: due.template.serial.clone(),
        new_serial,
        old_not_after: due.template.not_after,
        new_not_after,
        clamped,
    }
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
    if output.is_json() {
        output.print_json(report)?;
    } else if report.dry_run {
        output.print(&dry_run_text(report))?;
    } else {
        print_status(report, output);
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
        "{verb} {} ({}, {}, {key}): valid {} days until {}, was until {}",
        renewal.name,
        renewal.role,
        renewal.key_type,
        renewal::days(lifetime),
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
