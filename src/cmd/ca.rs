//! `otel-pki ca rotate`: a CA rollover in three stages, each one generation switch of the
//! set. The stage lives in the set itself — `ca-next.crt`/`.key` exist after `--stage`,
//! `ca-previous.crt`/`.key` after `--promote` — so it travels with the files and cannot
//! disagree with them.
//!
//! What `ca.crt` holds, so that Collectors configured with `ca_file: ca.crt` and
//! `client_ca_file: ca.crt` keep working without a configuration change:
//!
//! | stage    | ca.crt (= ca-bundle.crt) | ca.key | leaves signed by |
//! | -------- | ------------------------ | ------ | ---------------- |
//! | idle     | old                      | old    | old              |
//! | staged   | old, next                | old    | old              |
//! | promoted | new, old                 | new    | new              |
//! | finished | new                      | new    | new              |
//!
//! The first certificate of `ca.crt` is always the one `ca.key` belongs to, so `issue` and
//! `renew` keep signing with the right CA at every stage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{CaCommand, CaRotateArgs};
use crate::generation::{self, Change, Lock};
use crate::output::Output;
use crate::pki::key::{KeyFile, classify_key_file};
use crate::pki::renewal::LeafTemplate;
use crate::pki::{self, CaRequest, CertSummary, KeyType, Lifetime, Validity, certificate};
use crate::set;
use crate::set::renewal::{self, Due, Renewal};
use crate::support;
use crate::write::{self, PlannedFile};

use crate::set::names::{
    BUNDLE, CA_CERT, CA_KEY, NEXT_CERT, NEXT_KEY, PREVIOUS_CERT, PREVIOUS_KEY,
};
pub use crate::set::rollover::{Rollover, Stage, rollover, stage_of};

/// Result of `ca rotate`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct CaRotateReport {
    /// The set directory.
    pub dir: PathBuf,
    /// `stage`, `promote`, `finish` or `status`.
    pub action: String,
    /// The stage the set is in afterwards: `idle`, `staged` or `promoted`.
    pub stage: Stage,
    /// The CA that signs (the first certificate of ca.crt).
    pub current_ca: CertSummary,
    /// The next CA (stage `staged`).
    pub next_ca: Option<CertSummary>,
    /// The old CA, still trusted (stage `promoted`).
    pub previous_ca: Option<CertSummary>,
    /// Subjects of the CAs in ca.crt (and ca-bundle.crt), in order: what peers trust.
    pub trusted: Vec<String>,
    /// Leaves re-issued from the new CA (`--promote`).
    pub reissued: Vec<Renewal>,
    /// Files written.
    pub files: Vec<write::WrittenFile>,
    /// Files removed (kept in the backup).
    pub removed: Vec<PathBuf>,
    /// Where `--finish` archived the old CA key.
    pub archived_key: Option<PathBuf>,
    /// The generation directory the set now uses, when something changed.
    pub generation: Option<String>,
    /// Where the replaced files were kept.
    pub backup_dir: Option<PathBuf>,
    /// What the operator must do next.
    pub next_steps: Vec<String>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
    /// True when the set already was where the action leads (a rerun, e.g. after the
    /// first run was interrupted after its change): nothing was changed.
    #[serde(default)]
    pub already_done: bool,
}

/// Runs `ca …`.
pub fn run(command: &CaCommand, output: &Output) -> Result<ExitCode> {
    match command {
        CaCommand::Rotate(args) => rotate(args, output),
    }
}

fn rotate(args: &CaRotateArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    if !dir.join(CA_CERT).is_file() {
        bail!(
            "no CA in `{}`; create a set with `otel-pki init --dir {}`",
            dir.display(),
            dir.display()
        );
    }
    let report = if args.status {
        status(dir)?
    } else {
        let lock = Lock::acquire(dir)?;
        let mut report = if args.stage {
            stage(dir, args, &lock, output)?
        } else if args.promote {
            promote(dir, args, &lock, output)?
        } else {
            finish(dir, &lock)?
        };
        report
            .warnings
            .extend(support::passphrase_file_warning(&args.passphrase));
        // ca.crt (the truststore) and, at --promote, every leaf (its chain) changed: the
        // set's PKCS#12 keystores follow, under the same lock.
        match crate::keystore::sync_after_change(dir)? {
            crate::keystore::Sync::None => {}
            crate::keystore::Sync::Refreshed(outcome) => output.status(&format!(
                "rebuilt keystores {}",
                outcome
                    .files
                    .iter()
                    .map(|file| file.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            crate::keystore::Sync::Stale(warning) => report.warnings.push(warning),
        }
        report
    };
    for warning in &report.warnings {
        output.warn(warning);
    }
    if args.status {
        // A question: the answer goes to stdout.
        output.report(&report, || status_text(&report))?;
        return Ok(ExitCode::SUCCESS);
    }
    Ok(output.outcome(&report, || print_status(&report, output))?)
}

fn out_of_order(dir: &Path, action: &str, stage: Stage) -> anyhow::Error {
    let next = match stage {
        Stage::Idle => "start one with `otel-pki ca rotate --stage`",
        Stage::Staged => "distribute ca.crt everywhere, then run `otel-pki ca rotate --promote`",
        Stage::Promoted => {
            "distribute the re-issued certificates, then run `otel-pki ca rotate --finish`"
        }
    };
    let state = match stage {
        Stage::Idle => "no rollover is in progress".to_owned(),
        Stage::Staged => format!("the rollover is staged ({NEXT_CERT} exists)"),
        Stage::Promoted => format!("the rollover is promoted ({PREVIOUS_CERT} exists)"),
    };
    anyhow::anyhow!("cannot {action}: {state} in `{}`; {next}", dir.display())
}

fn stage(dir: &Path, args: &CaRotateArgs, lock: &Lock, output: &Output) -> Result<CaRotateReport> {
    let current_stage = stage_of(dir)?;
    if current_stage == Stage::Staged && ca_file_problems(dir, Stage::Staged)?.ca_file.is_none() {
        return already_done(dir, "stage", Stage::Staged);
    }
    if current_stage != Stage::Idle {
        return Err(out_of_order(dir, "stage", current_stage));
    }
    let now = OffsetDateTime::now_utc();
    let ca_file = dir.join(CA_CERT);
    let key_file = dir.join(CA_KEY);
    let passphrase = support::passphrase(&args.passphrase)?;
    let current = support::load_ca(&ca_file, &key_file, passphrase.as_ref())?;
    let current_summary = summary(current.certificate_der(), &ca_file, now)?;
    let held = set::read_certificates(&ca_file)?.len();
    let encrypted = matches!(
        classify_key_file(&support::read(&key_file, "CA key")?),
        KeyFile::Encrypted(_)
    );
    let key_type = args
        .key_type
        .map(KeyType::from)
        .unwrap_or_else(|| KeyType::of_public_key(&current_summary.public_key).unwrap_or_default());
    support::warn_key_types(&[key_type], output);
    let lifetime = match args.validity {
        Some(lifetime) => lifetime,
        None => original_lifetime(&current_summary)?,
    };
    let common_name = current_summary
        .common_name
        .clone()
        .unwrap_or_else(|| "OTel Telemetry CA".to_owned());
    let key = support::generate_keys(&[key_type], output)?
        .pop()
        .context("key generation returned no key")?;
    let next = pki::issue::create_ca(
        &CaRequest {
            common_name,
            validity: Validity::starting_now(now, lifetime),
        },
        key,
    )?;
    let next_key_pem = match (&passphrase, encrypted) {
        (Some(passphrase), true) => next.key().to_encrypted_pkcs8_pem(passphrase)?,
        _ => next.key().to_pkcs8_pem(),
    };
    let bundle = format!("{}{}", current.certificate_pem(), next.certificate_pem());
    let writes = [
        PlannedFile::key(NEXT_KEY, next_key_pem),
        PlannedFile::public(NEXT_CERT, next.certificate_pem()),
        PlannedFile::public(CA_CERT, bundle.clone()),
        PlannedFile::public(BUNDLE, bundle),
    ];
    let committed = generation::commit(
        lock,
        &Change {
            writes: &writes,
            removals: &[],
            keep_modes: true,
            command: "ca rotate --stage",
            meta: None,
        },
    )?;
    let mut report = report_for(dir, "stage", Stage::Staged, now)?;
    if held > 1 {
        report.warnings.push(format!(
            "ca.crt held {held} certificates; the staged ca.crt keeps only the first (the CA that signs) and adds the next CA"
        ));
    }
    report.files = committed.files;
    report.generation = Some(committed.generation);
    report.backup_dir = committed.backup_dir;
    report.next_steps = next_steps(dir, Stage::Staged, "stage");
    Ok(report)
}

fn promote(
    dir: &Path,
    args: &CaRotateArgs,
    lock: &Lock,
    output: &Output,
) -> Result<CaRotateReport> {
    let current_stage = stage_of(dir)?;
    if current_stage == Stage::Promoted {
        return already_done(dir, "promote", Stage::Promoted);
    }
    if current_stage != Stage::Staged {
        return Err(out_of_order(dir, "promote", current_stage));
    }
    // The next CA must be what peers were given with the staged ca.crt; after e.g.
    // `init --force` ca.crt holds another CA, and certificates from ca-next would fail.
    if let Some(problem) = ca_file_problems(dir, Stage::Staged)?.ca_file {
        bail!(
            "cannot promote: {problem}; peers given this ca.crt would reject certificates from the next CA; {}",
            repair_hint(dir, Stage::Staged)
        );
    }
    let now = OffsetDateTime::now_utc();
    let ca_file = dir.join(CA_CERT);
    let old_der = first_certificate(&ca_file)?;
    let old_subject = subject_of(&old_der)?;
    let old_not_after = certificate::parse(&old_der)
        .map_err(anyhow::Error::msg)?
        .validity()
        .not_after
        .to_datetime();
    let passphrase = support::passphrase(&args.passphrase)?;
    let next = support::load_ca(
        &dir.join(NEXT_CERT),
        &dir.join(NEXT_KEY),
        passphrase.as_ref(),
    )?;
    let next_subject = subject_of(next.certificate_der())?;

    let mut warnings = Vec::new();
    let recorded = renewal::recorded_lifetimes(dir, &mut warnings);
    let mut due = Vec::new();
    for (pair, der) in renewal::leaves(dir)? {
        let path = support::display(&pair.certificate);
        let mut template = match LeafTemplate::of(&der, &path) {
            Ok(template) => template,
            Err(error) => {
                warnings.push(format!("not re-issued: {error}"));
                continue;
            }
        };
        if template.issuer == next_subject {
            continue; // already from the next CA
        }
        if template.issuer != old_subject {
            warnings.push(format!(
                "not re-issued: `{path}` is signed by `{}`, not by this set's CA",
                template.issuer_text
            ));
            continue;
        }
        template.remember(&recorded);
        if args.validity.is_none() && template.cut_short_unrecorded(old_not_after) {
            warnings.push(format!(
                "`{path}` ends with the old CA on {}: its lifetime was cut short to {} and the one it was asked for is not recorded, so its successor gets the same; give the lifetime with --validity, or renew it afterwards with `otel-pki renew --name {} --validity DURATION`",
                old_not_after.date(),
                pki::lifetime::humanize(template.lifetime.duration()),
                pair.name
            ));
        }
        due.push(Due {
            pair,
            template,
            der,
        });
    }
    let options = renewal::ReissueOptions {
        validity: args.validity,
        reuse_key: args.reuse_key,
        must_extend: false,
    };
    let reissued = renewal::reissue(&due, &next, options, now, &mut |types| {
        support::generate_keys(types, output)
    })?;
    if let Some(failure) = reissued.failed.first() {
        bail!(
            "cannot promote: `{}` cannot be re-issued: {}; nothing was changed",
            failure.name,
            failure.reason
        );
    }
    warnings.extend(reissued.warnings);

    let old_key = support::read(&dir.join(CA_KEY), "CA key")?;
    let old_key_mode = crate::set::mode(&dir.join(CA_KEY)).unwrap_or(write::KEY_MODE);
    let next_key = support::read(&dir.join(NEXT_KEY), "CA key")?;
    let old_pem = pem_of(&old_der);
    let bundle = format!("{}{old_pem}", next.certificate_pem());
    let mut writes = vec![
        PlannedFile::key(CA_KEY, next_key),
        PlannedFile::public(CA_CERT, bundle.clone()),
        PlannedFile::public(BUNDLE, bundle),
        PlannedFile::public(PREVIOUS_CERT, old_pem),
        PlannedFile {
            mode: old_key_mode,
            ..PlannedFile::key(PREVIOUS_KEY, old_key)
        },
    ];
    writes.extend(reissued.files);
    let removals = [NEXT_CERT.to_owned(), NEXT_KEY.to_owned()];
    let meta = renewal::lifetimes_after(dir, &recorded, &reissued.cut_short)?;
    let committed = generation::commit(
        lock,
        &Change {
            writes: &writes,
            removals: &removals,
            keep_modes: true,
            command: "ca rotate --promote",
            meta: meta.as_deref(),
        },
    )?;
    let mut report = report_for(dir, "promote", Stage::Promoted, now)?;
    report.reissued = reissued.renewals;
    report.files = committed.files;
    report.removed = committed.removed;
    report.generation = Some(committed.generation);
    report.backup_dir = committed.backup_dir;
    report.warnings = warnings;
    report.next_steps = next_steps(dir, Stage::Promoted, "promote");
    Ok(report)
}

fn finish(dir: &Path, lock: &Lock) -> Result<CaRotateReport> {
    let current_stage = stage_of(dir)?;
    if current_stage == Stage::Idle && last_change_was(dir, "ca rotate --finish") {
        return already_done(dir, "finish", Stage::Idle);
    }
    if current_stage != Stage::Promoted {
        return Err(out_of_order(dir, "finish", current_stage));
    }
    let now = OffsetDateTime::now_utc();
    let current_der = first_certificate(&dir.join(CA_CERT))?;
    let previous_subject = subject_of(&first_certificate(&dir.join(PREVIOUS_CERT))?)?;
    let still_old: Vec<String> = renewal::leaves(dir)?
        .into_iter()
        .filter(|(_, der)| {
            certificate::parse(der)
                .is_ok_and(|parsed| parsed.issuer().as_raw() == previous_subject.as_slice())
        })
        .map(|(pair, _)| pair.name)
        .collect();
    if !still_old.is_empty() {
        bail!(
            "cannot finish: {} still signed by the old CA, which peers would stop trusting; renew {} with `otel-pki renew {}` first",
            still_old
                .iter()
                .map(|name| format!("`{name}.crt`"))
                .collect::<Vec<_>>()
                .join(", "),
            if still_old.len() == 1 { "it" } else { "them" },
            still_old
                .iter()
                .map(|name| format!("--name {name}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let current_pem = pem_of(&current_der);
    let writes = [
        PlannedFile::public(CA_CERT, current_pem.clone()),
        PlannedFile::public(BUNDLE, current_pem),
    ];
    let removals = [PREVIOUS_CERT.to_owned(), PREVIOUS_KEY.to_owned()];
    let mut report = report_for(dir, "finish", Stage::Idle, now)?;
    // Described before the switch, while the old CA is still in the set.
    report.previous_ca = Some(summary(
        &first_certificate(&dir.join(PREVIOUS_CERT))?,
        &dir.join(PREVIOUS_CERT),
        now,
    )?);
    let committed = generation::commit(
        lock,
        &Change {
            writes: &writes,
            removals: &removals,
            keep_modes: true,
            command: "ca rotate --finish",
            meta: None,
        },
    )?;
    report.trusted = trusted(&dir.join(CA_CERT));
    report.archived_key = committed
        .backup_dir
        .as_ref()
        .map(|backup| backup.join(PREVIOUS_KEY));
    report.files = committed.files;
    report.removed = committed.removed;
    report.generation = Some(committed.generation);
    report.backup_dir = committed.backup_dir;
    report.next_steps = next_steps(dir, Stage::Idle, "finish");
    Ok(report)
}

/// The report of a rerun whose change is already in the set: nothing to do, exit 0.
fn already_done(dir: &Path, action: &str, stage: Stage) -> Result<CaRotateReport> {
    let mut report = report_for(dir, action, stage, OffsetDateTime::now_utc())?;
    report.already_done = true;
    report.next_steps = next_steps(dir, stage, action);
    Ok(report)
}

/// True when the current generation of `dir` was made by `command` (its backup says so).
fn last_change_was(dir: &Path, command: &str) -> bool {
    let Some(current) = generation::current(dir) else {
        return false;
    };
    generation::newest_backup(dir)
        .ok()
        .flatten()
        .and_then(|backup| backup.manifest)
        .is_some_and(|manifest| manifest.command == command && manifest.generation == current)
}

fn status(dir: &Path) -> Result<CaRotateReport> {
    let stage = stage_of(dir)?;
    let mut report = report_for(dir, "status", stage, OffsetDateTime::now_utc())?;
    let problems = ca_file_problems(dir, stage)?.all();
    report.next_steps = if problems.is_empty() {
        next_steps(dir, stage, "status")
    } else {
        vec![repair_hint(dir, stage)]
    };
    report.warnings = problems;
    Ok(report)
}

/// What is wrong with `ca.crt` and `ca-bundle.crt` for a stage.
#[derive(Debug, Default)]
struct FileProblems {
    /// Staged, `ca.crt` must hold the next CA; promoted, the old one.
    ca_file: Option<String>,
    /// `ca-bundle.crt` must hold what `ca.crt` holds.
    bundle: Option<String>,
}

impl FileProblems {
    fn all(self) -> Vec<String> {
        self.ca_file.into_iter().chain(self.bundle).collect()
    }
}

/// Checks `ca.crt` and `ca-bundle.crt` against `stage`.
fn ca_file_problems(dir: &Path, stage: Stage) -> Result<FileProblems> {
    let ca_file = dir.join(CA_CERT);
    let held = set::read_certificates(&ca_file)?;
    let mut problems = FileProblems::default();
    let expected = match stage {
        Stage::Idle => None,
        Stage::Staged => Some((NEXT_CERT, "the next CA")),
        Stage::Promoted => Some((PREVIOUS_CERT, "the old CA")),
    };
    if let Some((name, what)) = expected {
        let der = first_certificate(&dir.join(name))?;
        if !held.contains(&der) {
            let subject = certificate::parse(&der)
                .map(|parsed| parsed.subject().to_string())
                .unwrap_or_default();
            problems.ca_file = Some(format!(
                "ca.crt does not hold {what} `{subject}` ({name}) that `ca rotate --{}` put in it: it holds {}",
                if stage == Stage::Staged {
                    "stage"
                } else {
                    "promote"
                },
                described(&held)
            ));
        }
    }
    let bundle = dir.join(BUNDLE);
    if bundle.is_file() && set::read_certificates(&bundle).ok().as_ref() != Some(&held) {
        problems.bundle = Some(format!(
            "{BUNDLE} does not hold what ca.crt holds (it holds {}), so peers given one trust other CAs than peers given the other",
            set::read_certificates(&bundle).map_or_else(
                |_| "no readable certificate".to_owned(),
                |ders| described(&ders)
            )
        ));
    }
    Ok(problems)
}

/// How to get out of a set whose rollover files disagree with `ca.crt`.
fn repair_hint(dir: &Path, stage: Stage) -> String {
    let flag = dir_flag(dir);
    match stage {
        Stage::Staged => format!(
            "if ca.crt was replaced by mistake, `otel-pki renew --rollback{flag}` undoes the last change otel-pki made; to abandon this rollover instead, remove {NEXT_CERT}, {NEXT_KEY} and {BUNDLE} from `{}` and start again with `otel-pki ca rotate --stage{flag}`",
            dir.display()
        ),
        Stage::Promoted => format!(
            "if ca.crt was replaced by mistake, `otel-pki renew --rollback{flag}` undoes the last change otel-pki made; otherwise `otel-pki ca rotate --finish{flag}` removes the old CA's files and rewrites {BUNDLE}"
        ),
        Stage::Idle => format!(
            "remove {BUNDLE} from `{}` (the next `otel-pki ca rotate --stage{flag}` writes it again), or give peers ca.crt instead",
            dir.display()
        ),
    }
}

/// The subjects of `certificates`, `; `-separated.
fn described(certificates: &[Vec<u8>]) -> String {
    let subjects: Vec<String> = certificates
        .iter()
        .map(|der| {
            certificate::parse(der)
                .map(|parsed| format!("`{}`", parsed.subject()))
                .unwrap_or_else(|_| "an unreadable certificate".to_owned())
        })
        .collect();
    if subjects.is_empty() {
        "no certificate".to_owned()
    } else {
        subjects.join("; ")
    }
}

fn dir_flag(dir: &Path) -> String {
    if dir == Path::new("./otel-certs") {
        String::new()
    } else {
        format!(" --dir {}", dir.display())
    }
}

/// The report skeleton: the CAs of the set as they are on disk now.
fn report_for(
    dir: &Path,
    action: &str,
    stage: Stage,
    now: OffsetDateTime,
) -> Result<CaRotateReport> {
    let ca_file = dir.join(CA_CERT);
    let optional = |name: &str| -> Result<Option<CertSummary>> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        summary(&first_certificate(&path)?, &path, now).map(Some)
    };
    Ok(CaRotateReport {
        dir: dir.to_owned(),
        action: action.to_owned(),
        stage,
        current_ca: summary(&first_certificate(&ca_file)?, &ca_file, now)?,
        next_ca: optional(NEXT_CERT)?,
        previous_ca: optional(PREVIOUS_CERT)?,
        trusted: trusted(&ca_file),
        reissued: Vec::new(),
        files: Vec::new(),
        removed: Vec::new(),
        archived_key: None,
        generation: None,
        backup_dir: None,
        next_steps: Vec::new(),
        warnings: Vec::new(),
        already_done: false,
    })
}

fn next_steps(dir: &Path, stage: Stage, action: &str) -> Vec<String> {
    let flag = dir_flag(dir);
    match (stage, action) {
        (Stage::Idle, "finish") => vec![
            "distribute ca.crt (now the new CA only) to every Collector and backend: receivers with client_ca_file_reload: true stop trusting the old CA by themselves, clients at their next restart".to_owned(),
            "the old CA key is archived in the backup; delete it once you will not need to undo the rollover".to_owned(),
        ],
        (Stage::Idle, _) => vec![format!(
            "no rollover in progress; start one with `otel-pki ca rotate --stage{flag}`"
        )],
        (Stage::Staged, _) => vec![
            "distribute ca.crt (it holds the current and the next CA; ca-bundle.crt is the same) to every Collector and backend, as ca_file and client_ca_file".to_owned(),
            "receivers with client_ca_file_reload: true load it by themselves; ca_file is never reloaded, so restart every Collector whose exporters use it".to_owned(),
            format!("then run `otel-pki ca rotate --promote{flag}`"),
        ],
        (Stage::Promoted, _) => vec![
            "distribute the re-issued certificates and keys, and ca.crt, to every Collector and backend".to_owned(),
            "Collectors with reload_interval load them at the first handshake after the interval; keepalive max_connection_age makes long-lived gRPC connections handshake again".to_owned(),
            format!(
                "when no peer presents a certificate from the old CA any more, run `otel-pki ca rotate --finish{flag}`"
            ),
        ],
    }
}

/// `CN=… (ECDSA P-256), valid until 2036-01-01`.
fn ca_line(summary: &CertSummary) -> String {
    format!(
        "{} ({}), valid until {}",
        summary.subject,
        summary.public_key.description,
        summary.not_after.date()
    )
}

/// `--status`: the stage, the CAs, what ca.crt really holds, and what to do next.
fn status_text(report: &CaRotateReport) -> String {
    let mut lines = vec![
        format!(
            "{}: rollover stage {}",
            report.dir.display(),
            report.stage.name()
        ),
        format!("  signing CA   {}", ca_line(&report.current_ca)),
    ];
    if let Some(next) = &report.next_ca {
        lines.push(format!("  next CA      {}", ca_line(next)));
    }
    if let Some(previous) = &report.previous_ca {
        lines.push(format!("  previous CA  {}", ca_line(previous)));
    }
    let role = |subject: &String| {
        let is = |summary: Option<&CertSummary>| summary.is_some_and(|s| &s.subject == subject);
        if is(Some(&report.current_ca)) {
            "the signing CA"
        } else if is(report.next_ca.as_ref()) {
            "the next CA"
        } else if is(report.previous_ca.as_ref()) {
            "the previous CA"
        } else {
            "not a CA of this rollover"
        }
    };
    let held: Vec<String> = report
        .trusted
        .iter()
        .map(|subject| format!("{subject} ({})", role(subject)))
        .collect();
    lines.push(format!("  ca.crt holds {}", held.join("; ")));
    for (index, step) in report.next_steps.iter().enumerate() {
        let label = if index == 0 { "next:" } else { "     " };
        lines.push(format!("{label} {step}"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn print_status(report: &CaRotateReport, output: &Output) {
    let done = match report.action.as_str() {
        "stage" => "staged",
        "promote" => "promoted",
        _ => "finished",
    };
    match report.action.as_str() {
        _ if report.already_done => output.status(&format!(
            "the rollover is already {done} in {}: nothing to do",
            report.dir.display()
        )),
        "stage" => {
            if let Some(next) = &report.next_ca {
                let lifetime = Validity::between(next.not_before, next.not_after).issued_span();
                output.status(&format!(
                    "staged the next CA {} ({}), valid {} until {}",
                    next.subject,
                    next.public_key.description,
                    pki::lifetime::humanize(lifetime),
                    next.not_after.date()
                ));
            }
            output.status(&format!(
                "ca.crt and {BUNDLE} now hold both CAs; {} still signs",
                report.current_ca.subject
            ));
        }
        "promote" => {
            output.status(&format!(
                "promoted the next CA {}: it signs from now on",
                ca_line(&report.current_ca)
            ));
            for renewal in &report.reissued {
                output.status(&format!(
                    "re-issued {} ({}, {}, {}): valid until {}",
                    renewal.name,
                    renewal.role,
                    renewal.key_type,
                    if renewal.new_key {
                        "new key"
                    } else {
                        "same key"
                    },
                    renewal.new_not_after.date()
                ));
            }
            output.status(&format!(
                "ca.crt and {BUNDLE} hold the new and the old CA until --finish"
            ));
        }
        "finish" => {
            if let Some(previous) = &report.previous_ca {
                output.status(&format!(
                    "dropped the old CA {} from ca.crt and {BUNDLE}",
                    previous.subject
                ));
            }
            if let Some(archived) = &report.archived_key {
                output.status(&format!("archived its key in {}", archived.display()));
            }
        }
        // `--status` is answered on stdout (`status_text`).
        _ => {}
    }
    if let Some(generation) = &report.generation {
        output.status(&format!(
            "switched {}/{} to {generation}",
            report.dir.display(),
            generation::DATA
        ));
    }
    if let Some(backup_dir) = &report.backup_dir {
        output.status(&format!(
            "kept the previous files in {}",
            backup_dir.display()
        ));
    }
    for (index, step) in report.next_steps.iter().enumerate() {
        let label = if index == 0 { "next:" } else { "     " };
        output.status(&format!("{label} {step}"));
    }
}

fn summary(der: &[u8], path: &Path, now: OffsetDateTime) -> Result<CertSummary> {
    let summary = CertSummary::new(der, &support::display(path), 0, now)?;
    if summary.role != pki::Role::Ca {
        bail!("`{}` does not start with a CA certificate", path.display());
    }
    Ok(summary)
}

fn first_certificate(path: &Path) -> Result<Vec<u8>> {
    set::read_certificates(path)?
        .into_iter()
        .next()
        .with_context(|| format!("`{}` holds no certificate", path.display()))
}

fn subject_of(der: &[u8]) -> Result<Vec<u8>> {
    let parsed = certificate::parse(der).map_err(anyhow::Error::msg)?;
    Ok(parsed.subject().as_raw().to_vec())
}

fn trusted(ca_file: &Path) -> Vec<String> {
    set::read_certificates(ca_file)
        .unwrap_or_default()
        .iter()
        .filter_map(|der| {
            certificate::parse(der)
                .ok()
                .map(|parsed| parsed.subject().to_string())
        })
        .collect()
}

fn pem_of(der: &[u8]) -> String {
    crate::pki::certificate::to_pem("CERTIFICATE", der)
}

/// The lifetime a CA was created with (notAfter − notBefore − the back-date).
fn original_lifetime(summary: &CertSummary) -> Result<Lifetime> {
    Validity::between(summary.not_before, summary.not_after)
        .issued_lifetime()
        .with_context(|| {
            format!(
                "`{}` has no usable lifetime; give the next CA one with --validity",
                summary.path
            )
        })
}
