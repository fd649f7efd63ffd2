//! `otel-pki issue server|client`: sign another leaf with an existing CA.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{init, support};
use crate::cli::{IssueClientArgs, IssueCommand, IssueCommonArgs};
use crate::output::Output;
use crate::pki::{self, CertSummary, KeyType, LeafProfile, LeafRequest, San, Validity, issue};
use crate::write::{self, PlannedFile};

/// Result of `issue`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct IssueReport {
    /// The new certificate, as `inspect` describes it.
    pub certificate: CertSummary,
    /// NAME.key and NAME.crt with their modes.
    pub files: Vec<write::WrittenFile>,
    /// Where replaced files went (`--force`).
    pub backup_dir: Option<PathBuf>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// A leaf to issue, decided from the arguments.
struct Plan<'a> {
    common: &'a IssueCommonArgs,
    name: String,
    request_profile: LeafProfile,
    common_name: String,
    sans: Vec<San>,
}

/// Runs `issue server` or `issue client`.
pub fn run(command: &IssueCommand, output: &Output) -> Result<ExitCode> {
    let plan = match command {
        IssueCommand::Server(args) => {
            let mut sans = args.sans.clone();
            for service in &args.kubernetes.services {
                sans.extend(pki::san::kubernetes_service_names(
                    service,
                    &args.kubernetes.cluster_domain,
                    args.kubernetes.headless,
                )?);
            }
            let sans = pki::san::dedup(sans);
            if !sans.iter().any(San::is_host) {
                bail!(
                    "`issue server` needs at least one --san with a DNS name or IP address (or --k8s-service), e.g. `--san otel-gateway.observability.svc`"
                );
            }
            let common_name =
                issue::common_name("--cn", &args.cn.clone().unwrap_or_else(|| sans[0].value()))?;
            Plan {
                common: &args.common,
                name: support::file_stem(&args.name, "--name")?,
                request_profile: if args.client_auth {
                    LeafProfile::ServerAndClient
                } else {
                    LeafProfile::Server
                },
                common_name,
                sans,
            }
        }
        IssueCommand::Client(args) if args.count.is_some() || args.names_from.is_some() => {
            let names = fleet_names(args)?;
            return issue_fleet(
                &args.common,
                &names,
                &pki::san::dedup(args.sans.clone()),
                output,
            );
        }
        IssueCommand::Client(args) => Plan {
            common: &args.common,
            name: support::file_stem(&args.name, "--name")?,
            request_profile: LeafProfile::Client,
            common_name: issue::common_name("--cn", &args.cn)?,
            sans: pki::san::dedup(args.sans.clone()),
        },
    };
    issue_one(&plan, output)
}

fn issue_one(plan: &Plan<'_>, output: &Output) -> Result<ExitCode> {
    let common = plan.common;
    let dir = &common.dir.dir;
    // One writer at a time: the set's lock for the whole read-decide-write.
    let _lock = crate::set::Lock::acquire_creating(dir)?;
    let key_name = format!("{}.key", plan.name);
    let cert_name = format!("{}.crt", plan.name);
    if plan.name == "ca" {
        bail!("invalid --name `ca`: ca.crt and ca.key are the CA's files; choose another name");
    }
    let overwrite = write::Overwrite::from_force(common.force);
    if overwrite == write::Overwrite::Refuse {
        let existing = write::existing(dir, &[&key_name, &cert_name]);
        if !existing.is_empty() {
            return Err(write::WriteError::Exists {
                dir: dir.clone(),
                paths: existing,
            }
            .into());
        }
    }
    let (ca_cert, ca_key) = support::ca_paths(dir, common.ca_cert.as_ref(), common.ca_key.as_ref());
    let passphrase = support::passphrase(&common.passphrase)?;
    let ca = support::load_ca(&ca_cert, &ca_key, passphrase.as_ref())?;

    let key_type = KeyType::from(common.key_type);
    support::warn_key_types(&[key_type], output);
    let now = OffsetDateTime::now_utc();
    let request = LeafRequest {
        profile: plan.request_profile,
        common_name: plan.common_name.clone(),
        sans: plan.sans.clone(),
        validity: Validity::starting_now(now, common.validity),
    };
    // Fail on the CA's lifetime before spending seconds on an RSA key.
    if request.validity.not_after > ca.not_after() {
        let probe_key = pki::PrivateKey::generate(KeyType::EcdsaP256)?;
        ca.issue(&request, probe_key)?;
    }
    let key = support::generate_keys(&[key_type], output)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("key generation returned no key"))?;
    let issued = ca.issue(&request, key)?;
    let files = [
        PlannedFile::key(key_name, issued.key.to_pkcs8_pem()),
        PlannedFile::public(cert_name.clone(), issued.certificate_pem()),
    ];
    let outcome = write::write_set(dir, &files, overwrite)?;
    let certificate = CertSummary::new(
        &issued.certificate_der,
        &support::display(&dir.join(&cert_name)),
        0,
        now,
    )?;
    let report = IssueReport {
        certificate,
        files: outcome.files.clone(),
        backup_dir: outcome.backup_dir.clone(),
        warnings: key_type.warning().map(str::to_owned).into_iter().collect(),
    };
    if output.is_json() {
        output.print_json(&report)?;
    } else {
        output.status(&init::created_line(&report.certificate));
        output.status(&format!(
            "signed by CA {} (valid until {})",
            ca.certificate_path(),
            ca.not_after().date()
        ));
        output.status(&init::written_line(dir, &outcome));
        if let Some(backup_dir) = &outcome.backup_dir {
            output.status(&format!(
                "kept the previous files in {}",
                backup_dir.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Result of `issue client --count N` or `--names-from FILE`. Field names are the JSON
/// contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct FleetReport {
    /// How many client certificates were issued.
    pub count: usize,
    /// The new certificates, in name order, as `inspect` describes them.
    pub certificates: Vec<CertSummary>,
    /// NAME.key and NAME.crt of each, with their modes.
    pub files: Vec<write::WrittenFile>,
    /// Where replaced files went (`--force`).
    pub backup_dir: Option<PathBuf>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// The names of a fleet: PREFIX1 … PREFIXN, or the lines of --names-from. Each must be a
/// plain file name, unique, and not `ca`.
fn fleet_names(args: &IssueClientArgs) -> Result<Vec<String>> {
    let raw: Vec<String> = match (&args.count, &args.name_prefix, &args.names_from) {
        (Some(count), Some(prefix), _) => {
            // Check the prefix as typed, so that the message names it, not `PREFIX1`.
            support::file_stem(&format!("{prefix}1"), "--name-prefix").map_err(|_| {
                anyhow::anyhow!(
                    "invalid --name-prefix `{prefix}`: use letters, digits, `-`, `_` and `.` only (names become PREFIX1.crt, PREFIX1.key, …)"
                )
            })?;
            (1..=*count).map(|i| format!("{prefix}{i}")).collect()
        }
        (_, _, Some(path)) => {
            let bytes = support::read(path, "--names-from file")?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("--names-from `{}` is not UTF-8 text", path.display()))?;
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect()
        }
        _ => bail!("give --count N with --name-prefix PREFIX, or --names-from FILE"),
    };
    if raw.is_empty() {
        bail!("no names to issue: the --names-from file has no names (one per line)");
    }
    let flag = if args.names_from.is_some() {
        "name in --names-from"
    } else {
        "--name-prefix"
    };
    let mut seen = std::collections::HashSet::new();
    let mut names = Vec::with_capacity(raw.len());
    for name in raw {
        let name = support::file_stem(&name, flag)?;
        if name == "ca" {
            bail!("invalid {flag} `ca`: ca.crt and ca.key are the CA's files; choose another name");
        }
        issue::common_name(flag, &name)?;
        if !seen.insert(name.clone()) {
            bail!(
                "`{name}` is listed twice in --names-from; each name becomes NAME.crt and NAME.key"
            );
        }
        names.push(name);
    }
    Ok(names)
}

/// Issues one client certificate per name, in parallel on every core, then writes all of
/// them with one all-or-nothing `write_set`.
fn issue_fleet(
    common: &IssueCommonArgs,
    names: &[String],
    sans: &[San],
    output: &Output,
) -> Result<ExitCode> {
    let dir = &common.dir.dir;
    // One writer at a time: the set's lock for the whole read-decide-write.
    let _lock = crate::set::Lock::acquire_creating(dir)?;
    let overwrite = write::Overwrite::from_force(common.force);
    let file_names: Vec<(String, String)> = names
        .iter()
        .map(|name| (format!("{name}.key"), format!("{name}.crt")))
        .collect();
    if overwrite == write::Overwrite::Refuse {
        let all: Vec<&str> = file_names
            .iter()
            .flat_map(|(key, cert)| [key.as_str(), cert.as_str()])
            .collect();
        let existing = write::existing(dir, &all);
        if !existing.is_empty() {
            return Err(write::WriteError::Exists {
                dir: dir.clone(),
                paths: existing,
            }
            .into());
        }
    }
    let (ca_cert, ca_key) = support::ca_paths(dir, common.ca_cert.as_ref(), common.ca_key.as_ref());
    let passphrase = support::passphrase(&common.passphrase)?;
    let ca = support::load_ca(&ca_cert, &ca_key, passphrase.as_ref())?;
    let key_type = KeyType::from(common.key_type);
    support::warn_key_types(&[key_type], output);
    let now = OffsetDateTime::now_utc();
    let validity = Validity::starting_now(now, common.validity);
    let request = |name: &str| LeafRequest {
        profile: LeafProfile::Client,
        common_name: name.to_owned(),
        sans: sans.to_vec(),
        validity,
    };
    // Fail on the CA's lifetime before generating a thousand keys.
    ca.issue(
        &request(&names[0]),
        pki::PrivateKey::generate(KeyType::EcdsaP256)?,
    )?;

    let progress = (!output.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(names.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} issuing client certificates {pos}/{len} [{bar:30}] {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = names.len().div_ceil(threads);
    let issued: Vec<pki::Issued> = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(chunk)
            .map(|chunk| {
                let (ca, progress, request) = (&ca, &progress, &request);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|name| {
                            let key = pki::PrivateKey::generate(key_type)?;
                            let issued = ca.issue(&request(name), key)?;
                            if let Some(bar) = progress {
                                bar.inc(1);
                            }
                            Ok(issued)
                        })
                        .collect::<Result<Vec<_>, pki::PkiError>>()
                })
            })
            .collect();
        let mut issued = Vec::with_capacity(names.len());
        for worker in workers {
            match worker.join() {
                Ok(result) => issued.extend(result?),
                Err(_) => bail!("a signing thread panicked"),
            }
        }
        Ok(issued)
    })?;
    if let Some(bar) = &progress {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("writing {} files", 2 * names.len()));
    }
    let files: Vec<PlannedFile> = issued
        .iter()
        .zip(&file_names)
        .flat_map(|(issued, (key_name, cert_name))| {
            [
                PlannedFile::key(key_name.clone(), issued.key.to_pkcs8_pem()),
                PlannedFile::public(cert_name.clone(), issued.certificate_pem()),
            ]
        })
        .collect();
    let outcome = write::write_set(dir, &files, overwrite);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let outcome = outcome?;

    let summarize = |index: usize| {
        CertSummary::new(
            &issued[index].certificate_der,
            &support::display(&dir.join(&file_names[index].1)),
            0,
            now,
        )
    };
    let certificates = if output.is_json() {
        (0..issued.len())
            .map(summarize)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![summarize(0)?]
    };
    let report = FleetReport {
        count: names.len(),
        certificates,
        files: outcome.files.clone(),
        backup_dir: outcome.backup_dir.clone(),
        warnings: key_type.warning().map(str::to_owned).into_iter().collect(),
    };
    if output.is_json() {
        output.print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let first = &report.certificates[0];
    let range = match names {
        [only] => only.clone(),
        [first, second] => format!("{first}, {second}"),
        [first, .., last] => format!("{first} … {last}"),
        [] => String::new(),
    };
    let lifetime = pki::Validity::between(first.not_before, first.not_after).issued_span();
    output.status(&format!(
        "created {} client certificates {range} ({}, clientAuth); valid {} until {}",
        names.len(),
        first.public_key.description,
        pki::lifetime::humanize(lifetime),
        first.not_after.date(),
    ));
    output.status(&format!(
        "signed by CA {} (valid until {})",
        ca.certificate_path(),
        ca.not_after().date()
    ));
    let last = file_names
        .last()
        .map(|(_, cert)| cert.as_str())
        .unwrap_or_default();
    output.status(&format!(
        "wrote {}: {} files, {} {} … {last} (keys 0600, certificates 0644)",
        dir.display(),
        outcome.files.len(),
        file_names[0].0,
        file_names[0].1,
    ));
    if let Some(backup_dir) = &outcome.backup_dir {
        output.status(&format!(
            "kept the previous files in {}",
            backup_dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
