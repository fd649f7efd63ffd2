//! `otel-pki issue server|client`: sign another leaf with an existing CA.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{FLEET_MAX, IssueClientArgs, IssueCommand, IssueCommonArgs};
use crate::output::Output;
use crate::pki::{self, CertSummary, KeyType, LeafProfile, LeafRequest, San, Validity, issue};
use crate::support;
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
    name: LeafName,
    request_profile: LeafProfile,
    common_name: String,
    sans: Vec<San>,
}

/// The role's own name in a set: `server` or `client`.
fn role_name(profile: LeafProfile) -> &'static str {
    match profile {
        LeafProfile::Client => "client",
        LeafProfile::Server | LeafProfile::ServerAndClient => "server",
    }
}

/// Runs `issue server` or `issue client`.
pub fn run(command: &IssueCommand, output: &Output) -> Result<ExitCode> {
    let dir = match command {
        IssueCommand::Server(args) => &args.common.dir.dir,
        IssueCommand::Client(args) => &args.common.dir.dir,
    };
    // One writer at a time: the set's lock for the whole read-decide-write, from choosing
    // the file name (which looks at the names taken) to the last file written.
    let _lock = crate::set::Lock::acquire_creating(dir)?;
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
            let Some(first_host) = sans.iter().find(|san| san.is_host()).map(San::value) else {
                bail!(
                    "`issue server` needs at least one --san with a DNS name or IP address (or --k8s-service), e.g. `--san otel-gateway.observability.svc`"
                );
            };
            // A server's common name is a name clients dial (as `init` makes it), not its
            // file name: --cn, else the first SAN.
            let common_name =
                issue::common_name("--cn", &args.cn.clone().unwrap_or_else(|| sans[0].value()))?;
            let request_profile = if args.client_auth {
                LeafProfile::ServerAndClient
            } else {
                LeafProfile::Server
            };
            Plan {
                common: &args.common,
                name: LeafName::choose(
                    &args.common.dir.dir,
                    args.name.as_deref(),
                    request_profile,
                    &first_host,
                    args.common.force,
                )?,
                request_profile,
                common_name,
                sans,
            }
        }
        IssueCommand::Client(args) if args.count.is_some() || args.names_from.is_some() => {
            let names = fleet_names(args)?;
            return issue_fleet(
                &args.common,
                &names,
                args.names_from.is_some(),
                &pki::san::dedup(args.sans.clone()),
                output,
            );
        }
        IssueCommand::Client(args) => {
            let common_name = match (&args.cn, &args.name) {
                (Some(cn), _) => issue::common_name("--cn", cn)?,
                (None, Some(name)) => issue::common_name(NAME_AS_CN, name)?,
                (None, None) => DEFAULT_CLIENT_CN.to_owned(),
            };
            Plan {
                common: &args.common,
                name: LeafName::choose(
                    &args.common.dir.dir,
                    args.name.as_deref(),
                    LeafProfile::Client,
                    &common_name,
                    args.common.force,
                )?,
                request_profile: LeafProfile::Client,
                common_name,
                sans: pki::san::dedup(args.sans.clone()),
            }
        }
    };
    issue_one(&plan, output)
}

/// The common name of a client certificate issued without --cn or --name (as `init`'s).
const DEFAULT_CLIENT_CN: &str = "otel-collector";

/// The "flag" that gave a common name taken from --name.
const NAME_AS_CN: &str = "--name (the common name without --cn; give --cn to choose another)";

/// The file name of a new leaf, NAME of NAME.crt and NAME.key (docs/issuing.md):
///
/// - `--name NAME`: NAME, unless it is one of the set's own names
///   ([`support::reserved_name`]);
/// - without it, with `--force`: the role's name, `server` or `client`, so that
///   `issue server --san … --force` re-issues the set's server certificate (as `check`'s
///   fixes and the README say);
/// - without either: the role's name when DIR has neither NAME.crt nor NAME.key (a new
///   directory's first server or client certificate); otherwise a name derived from the
///   certificate, [`pki::san::file_stem_from`] its first DNS name or IP address (server)
///   or its common name (client), prefixed `server-`/`client-` when that is one of the
///   set's own names. Such a name never replaces a file: when it is taken, nothing is
///   written and the message suggests --name.
struct LeafName {
    stem: String,
    /// The name or address the stem was derived from, when it was.
    derived_from: Option<String>,
}

impl LeafName {
    fn choose(
        dir: &Path,
        given: Option<&str>,
        profile: LeafProfile,
        derive_from: &str,
        force: bool,
    ) -> Result<Self> {
        if let Some(given) = given {
            return Ok(LeafName {
                stem: support::leaf_stem(given, "--name")?,
                derived_from: None,
            });
        }
        let role = role_name(profile);
        let role_taken =
            !write::existing(dir, &[&format!("{role}.crt"), &format!("{role}.key")]).is_empty();
        if force || !role_taken {
            return Ok(LeafName {
                stem: role.to_owned(),
                derived_from: None,
            });
        }
        let stem = pki::san::file_stem_from(derive_from)
            .map(|stem| {
                if support::reserved_name(&stem).is_some() || stem == role {
                    format!("{role}-{stem}")
                } else {
                    stem
                }
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "`{}` already holds {role}.crt, and no file name can be made from `{derive_from}`; give --name NAME for the new certificate",
                    dir.display()
                )
            })?;
        Ok(LeafName {
            stem,
            derived_from: Some(derive_from.to_owned()),
        })
    }

    /// The refusal when NAME.crt or NAME.key exist and --force was not given: it suggests
    /// another --name first, then --force.
    fn exists_error(
        &self,
        dir: &Path,
        existing: &[PathBuf],
        profile: LeafProfile,
    ) -> anyhow::Error {
        let (list, verb, it, backup) = exists_parts(dir, existing);
        match &self.derived_from {
            None => anyhow::anyhow!(
                "{list} already {verb}; nothing was written: give another --name to issue a new certificate beside {it}, or add --force to replace {it} {backup}"
            ),
            Some(from) => anyhow::anyhow!(
                "{list} already {verb} (without --name, `issue {}` names the files after `{from}`); nothing was written: give --name NAME to issue a new certificate beside {it}, or `--name {} --force` to replace {it} {backup}",
                role_name(profile),
                self.stem
            ),
        }
    }
}

/// The pieces of a "files exist" refusal: the files in backticks (a long list cut after a
/// few), `exists`/`exist`, `it`/`them`, and where --force keeps the old ones.
fn exists_parts(dir: &Path, existing: &[PathBuf]) -> (String, &'static str, &'static str, String) {
    const SHOWN: usize = 6;
    let mut list: Vec<String> = existing
        .iter()
        .take(if existing.len() > SHOWN {
            SHOWN - 1
        } else {
            SHOWN
        })
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if existing.len() > SHOWN {
        list.push(format!("and {} more files", existing.len() - (SHOWN - 1)));
    }
    let (verb, it) = if existing.len() == 1 {
        ("exists", "it")
    } else {
        ("exist", "them")
    };
    let backup = format!(
        "(the old version is kept in `{}/{}/`)",
        dir.display(),
        write::BACKUP_DIR
    );
    (list.join(", "), verb, it, backup)
}

/// The key type of new leaves: --key-type, else the set's — that of DIR's certificate of
/// the same role (server.crt or client.crt), else of the other one — else the CA's key
/// type, else ECDSA P-256. So leaves issued into an RSA-4096 set are RSA 4096.
fn leaf_key_type(common: &IssueCommonArgs, profile: LeafProfile, ca: &pki::Ca) -> KeyType {
    if let Some(key_type) = common.key_type {
        return KeyType::from(key_type);
    }
    let dir = &common.dir.dir;
    let roles = match profile {
        LeafProfile::Client => ["client", "server"],
        LeafProfile::Server | LeafProfile::ServerAndClient => ["server", "client"],
    };
    roles
        .iter()
        .find_map(|role| set_key_type(&dir.join(format!("{role}.crt"))))
        .or_else(|| ca.key_type())
        .unwrap_or(KeyType::EcdsaP256)
}

/// The key type of the first certificate in `path`, when it is one otel-pki generates.
fn set_key_type(path: &Path) -> Option<KeyType> {
    if !path.is_file() {
        return None;
    }
    let bytes = support::read(path, "certificate").ok()?;
    let der = pki::certificate::decode_certificates(&bytes, &support::display(path))
        .ok()?
        .into_iter()
        .next()?;
    let summary = CertSummary::new(&der, "", 0, OffsetDateTime::now_utc()).ok()?;
    KeyType::of_public_key(&summary.public_key)
}

fn issue_one(plan: &Plan<'_>, output: &Output) -> Result<ExitCode> {
    let common = plan.common;
    let dir = &common.dir.dir;
    let key_name = format!("{}.key", plan.name.stem);
    let cert_name = format!("{}.crt", plan.name.stem);
    let overwrite = write::Overwrite::from_force(common.force);
    if overwrite == write::Overwrite::Refuse {
        let existing = write::existing(dir, &[&key_name, &cert_name]);
        if !existing.is_empty() {
            return Err(plan.name.exists_error(dir, &existing, plan.request_profile));
        }
    }
    let (ca_cert, ca_key) = support::ca_paths(dir, common.ca_cert.as_ref(), common.ca_key.as_ref());
    let passphrase = support::passphrase(&common.passphrase)?;
    let ca = support::load_ca(&ca_cert, &ca_key, passphrase.as_ref())?;

    let key_type = leaf_key_type(common, plan.request_profile, &ca);
    support::warn_key_types(&[key_type], output);
    let now = OffsetDateTime::now_utc();
    // The CA must be valid for the whole window: fail before spending seconds on an RSA key.
    let validity = ca.window_for(Validity::starting_now(now, common.validity))?;
    let request = LeafRequest {
        profile: plan.request_profile,
        common_name: plan.common_name.clone(),
        sans: plan.sans.clone(),
        validity,
    };
    let key = support::generate_keys(&[key_type], output)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("key generation returned no key"))?;
    let issued = ca.issue(&request, key)?;
    let files = [
        PlannedFile::key(key_name, issued.key.to_pkcs8_pem()),
        PlannedFile::public(cert_name.clone(), issued.certificate_pem()),
    ];
    let outcome = crate::set::write(dir, &files, overwrite)?;
    let mut warnings = support::key_type_warnings(&[key_type]);
    if let Some(warning) = support::passphrase_file_warning(&common.passphrase) {
        output.warn(&warning);
        warnings.push(warning);
    }
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
        warnings,
    };
    Ok(output.outcome(&report, || {
        output.status(&support::created_line(&report.certificate));
        output.status(&format!(
            "signed by CA {} (valid until {})",
            ca.certificate_path(),
            ca.not_after().date()
        ));
        output.status(&support::written_line(dir, &outcome));
        if let Some(backup_dir) = &outcome.backup_dir {
            output.status(&format!(
                "kept the previous files in {}",
                backup_dir.display()
            ));
        }
    })?)
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

/// The names of a fleet: PREFIX-1 … PREFIX-N with the numbers zero-padded to the width of N
/// so that they sort (`agent-001` … `agent-500`; no `-` is added after a prefix ending in
/// `-`, `_` or `.`), or the lines of --names-from (at most [`FLEET_MAX`], like --count).
/// Each must be a plain file name, unique, and not one of the set's own names.
fn fleet_names(args: &IssueClientArgs) -> Result<Vec<String>> {
    let raw: Vec<String> = match (&args.count, &args.name_prefix, &args.names_from) {
        (Some(count), Some(prefix), _) => {
            // Check the prefix as typed, so that the message names it, not `PREFIX-1`.
            support::file_stem(&format!("{prefix}1"), "--name-prefix").map_err(|_| {
                anyhow::anyhow!(
                    "invalid --name-prefix `{prefix}`: use letters, digits, `-`, `_` and `.` only (names become PREFIX-1.crt, PREFIX-1.key, …)"
                )
            })?;
            fleet_numbered(prefix, *count)
        }
        (_, _, Some(path)) => {
            let bytes = support::read(path, "--names-from file")?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("--names-from `{}` is not UTF-8 text", path.display()))?;
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned)
                .collect();
            if names.len() > FLEET_MAX as usize {
                bail!(
                    "--names-from `{}` lists {} names; at most {FLEET_MAX} are issued at once (the limit of --count): split the file",
                    path.display(),
                    names.len()
                );
            }
            names
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
        let name = support::leaf_stem(&name, flag)?;
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

/// `PREFIX-01` … `PREFIX-N`: numbers zero-padded to the width of `count`, a `-` after the
/// prefix unless it ends with `-`, `_` or `.`.
fn fleet_numbered(prefix: &str, count: u32) -> Vec<String> {
    let separator = if prefix.ends_with(['-', '_', '.']) {
        ""
    } else {
        "-"
    };
    let width = count.to_string().len();
    (1..=count)
        .map(|i| format!("{prefix}{separator}{i:0width$}"))
        .collect()
}

/// Issues one client certificate per name, in parallel on every core, and writes all of
/// them with one all-or-nothing write that stages each file as soon as it is made.
fn issue_fleet(
    common: &IssueCommonArgs,
    names: &[String],
    names_from: bool,
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
            let (list, verb, it, backup) = exists_parts(dir, &existing);
            let other = if names_from {
                "leave such names out of --names-from"
            } else {
                "choose another --name-prefix"
            };
            bail!(
                "{list} already {verb}; nothing was written: {other} to issue the fleet beside {it}, or add --force to replace {it} {backup}"
            );
        }
    }
    let (ca_cert, ca_key) = support::ca_paths(dir, common.ca_cert.as_ref(), common.ca_key.as_ref());
    let passphrase = support::passphrase(&common.passphrase)?;
    let ca = support::load_ca(&ca_cert, &ca_key, passphrase.as_ref())?;
    let key_type = leaf_key_type(common, LeafProfile::Client, &ca);
    support::warn_key_types(&[key_type], output);
    let now = OffsetDateTime::now_utc();
    // The CA must be valid for the whole window: fail before generating a thousand keys.
    let validity = ca.window_for(Validity::starting_now(now, common.validity))?;
    let request = |name: &str| LeafRequest {
        profile: LeafProfile::Client,
        common_name: name.to_owned(),
        sans: sans.to_vec(),
        validity,
    };
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
    // Signing and writing overlap: each key and certificate is sent to the writer as soon as
    // it is made and staged (written and fsynced under a temporary name) while later ones
    // are still being signed; nothing is renamed into place before all 2N files are staged
    // (crate::set::write_streamed keeps every guarantee of crate::set::write).
    let slots: Vec<write::FileSlot> = file_names
        .iter()
        .flat_map(|(key_name, cert_name)| {
            [
                write::FileSlot {
                    name: key_name.clone(),
                    mode: write::KEY_MODE,
                },
                write::FileSlot {
                    name: cert_name.clone(),
                    mode: write::PUBLIC_MODE,
                },
            ]
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = names.len().div_ceil(threads);
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, Vec<u8>)>();
    let (outcome, certificates) = std::thread::scope(|scope| {
        let workers: Vec<_> = names
            .chunks(per_thread)
            .enumerate()
            .map(|(number, chunk)| {
                let (ca, progress, request) = (&ca, &progress, &request);
                let sender = sender.clone();
                scope.spawn(move || {
                    let mut certificates = Vec::with_capacity(chunk.len());
                    for (offset, name) in chunk.iter().enumerate() {
                        let index = number * per_thread + offset;
                        let key = pki::PrivateKey::generate(key_type)?;
                        let issued = ca.issue(&request(name), key)?;
                        let key_pem = issued.key.to_pkcs8_pem().into_bytes();
                        let cert_pem = issued.certificate_pem().into_bytes();
                        // A send fails only when the writer gave up: it reports why.
                        if sender.send((2 * index, key_pem)).is_err()
                            || sender.send((2 * index + 1, cert_pem)).is_err()
                        {
                            break;
                        }
                        if let Some(bar) = progress {
                            bar.inc(1);
                        }
                        certificates.push(issued.certificate_der);
                    }
                    Ok::<_, pki::PkiError>(certificates)
                })
            })
            .collect();
        // The writer sees the end of the files when the last worker drops its sender.
        drop(sender);
        let outcome = crate::set::write_streamed(dir, &slots, overwrite, receiver);
        let mut certificates = Vec::with_capacity(names.len());
        for worker in workers {
            match worker.join() {
                Ok(result) => certificates.extend(result?),
                Err(_) => bail!("a signing thread panicked"),
            }
        }
        Ok((outcome, certificates))
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    let mut warnings = support::key_type_warnings(&[key_type]);
    if let Some(warning) = support::passphrase_file_warning(&common.passphrase) {
        output.warn(&warning);
        warnings.push(warning);
    }

    let summarize = |index: usize| {
        CertSummary::new(
            &certificates[index],
            &support::display(&dir.join(&file_names[index].1)),
            0,
            now,
        )
    };
    let certificates = if output.is_json() {
        (0..certificates.len())
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
        warnings,
    };
    Ok(output.outcome(&report, || {
        print_fleet_status(&report, dir, names, &file_names, &ca, output);
    })?)
}

/// What a fleet issue did, on stderr: the range of names, the CA, the files.
fn print_fleet_status(
    report: &FleetReport,
    dir: &Path,
    names: &[String],
    file_names: &[(String, String)],
    ca: &pki::Ca,
    output: &Output,
) {
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
        report.files.len(),
        file_names[0].0,
        file_names[0].1,
    ));
    if let Some(backup_dir) = &report.backup_dir {
        output.status(&format!(
            "kept the previous files in {}",
            backup_dir.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_numbers_are_padded_to_the_width_of_the_count() {
        assert_eq!(
            fleet_numbered("agent", 3),
            ["agent-1", "agent-2", "agent-3"]
        );
        let names = fleet_numbered("agent", 500);
        assert_eq!(names[0], "agent-001");
        assert_eq!(names[499], "agent-500");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names, "name order is number order");
        assert_eq!(fleet_numbered("c-", 10)[0], "c-01");
        assert_eq!(fleet_numbered("c_", 1), ["c_1"]);
        assert_eq!(fleet_numbered("edge.", 2), ["edge.1", "edge.2"]);
    }
}
