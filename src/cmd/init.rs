//! `otel-pki init`: a CA, a server certificate and a client certificate, written as the six
//! files every guide and Kubernetes Secret expects, all-or-nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::InitArgs;
use crate::output::Output;
use crate::pki::{
    self, CaRequest, CertSummary, KeyType, LeafProfile, LeafRequest, San, Validity, issue,
};
use crate::support;
use crate::write::{self, PlannedFile, WriteOutcome};

/// The six files of a set, in the order they are written and listed.
pub const SET_FILES: [&str; 6] = crate::set::names::INIT_FILES;

/// Result of `init`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct InitReport {
    /// The set directory.
    pub dir: PathBuf,
    /// The CA, server and client certificates, as `inspect` describes them.
    pub certificates: Vec<CertSummary>,
    /// The six files with their modes.
    pub files: Vec<write::WrittenFile>,
    /// Where the replaced files went (`--force` on an existing set).
    pub backup_dir: Option<PathBuf>,
    /// True when ca.key is encrypted.
    pub ca_key_encrypted: bool,
    /// The set's other leaves (`--force`), re-issued under the new CA with their names,
    /// subjects, SANs, purposes, key types and lifetimes, as `inspect` describes them.
    #[serde(default)]
    pub reissued: Vec<CertSummary>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// Runs `init`.
pub fn run(args: &InitArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    // One writer at a time: the set's lock for the whole read-decide-write.
    let _lock = crate::set::Lock::acquire_creating(dir)?;
    let overwrite = write::Overwrite::from_force(args.force);
    // Refuse early, before seconds of RSA key generation; write_set checks again atomically.
    if overwrite == write::Overwrite::Refuse {
        let existing = write::existing(dir, &SET_FILES);
        if !existing.is_empty() {
            return Err(write::WriteError::Exists {
                dir: dir.clone(),
                paths: existing,
            }
            .into());
        }
    }
    // A new CA would strand a CA rollover's files (they belong to the CA being replaced).
    let rollover = crate::set::rollover::rollover(dir);
    if overwrite == write::Overwrite::Replace && rollover.in_progress() {
        bail!(
            "a CA rollover is under way in `{}` ({}); finish it (`otel-pki ca rotate --status` says how) or undo it with `otel-pki renew --rollback` before replacing the set",
            dir.display(),
            rollover.files.join(", ")
        );
    }

    let mut server_sans = if args.sans.is_empty() && args.kubernetes.services.is_empty() {
        San::parse_list("localhost,127.0.0.1,::1")?
    } else {
        args.sans.clone()
    };
    for service in &args.kubernetes.services {
        server_sans.extend(pki::san::kubernetes_service_names(
            service,
            &args.kubernetes.cluster_domain,
            args.kubernetes.headless,
        )?);
    }
    let server_sans = pki::san::dedup(server_sans);
    if !server_sans.iter().any(San::is_host) {
        bail!(
            "invalid --san: the server certificate needs at least one DNS name or IP address (Go ignores the common name)"
        );
    }
    let server_cn = issue::common_name(
        "--server-cn",
        &args
            .server_cn
            .clone()
            .unwrap_or_else(|| server_sans[0].value()),
    )?;
    let client_cn = issue::common_name("--client-cn", &args.client_cn)?;
    let ca_cn = issue::common_name("--ca-cn", &args.ca_cn)?;
    if args.validity > args.ca_validity {
        bail!(
            "--validity {} is longer than --ca-validity {}: a certificate may not outlive its CA",
            args.validity,
            args.ca_validity
        );
    }
    if !args.encrypt_ca_key && args.passphrase.passphrase_file.is_some() {
        bail!(
            "--passphrase-file is only used with --encrypt-ca-key: add --encrypt-ca-key to store ca.key encrypted"
        );
    }
    let passphrase = support::passphrase(&args.passphrase)?;
    if args.encrypt_ca_key && passphrase.is_none() {
        bail!(
            "--encrypt-ca-key needs a passphrase: give --passphrase-file FILE or set {}",
            support::PASSPHRASE_ENV
        );
    }
    if !args.encrypt_ca_key && passphrase.is_some() {
        output.warn(&format!(
            "{} is set but ca.key is written unencrypted; add --encrypt-ca-key to encrypt it",
            support::PASSPHRASE_ENV
        ));
    }

    let now = OffsetDateTime::now_utc();
    // The set's other leaves would be signed by a CA that is no longer in the set: re-issue
    // them under the new one, in the same all-or-nothing write.
    let others = if overwrite == write::Overwrite::Replace {
        other_leaves(dir, now, args.ca_validity)?
    } else {
        OtherLeaves::default()
    };

    let leaf_type = KeyType::from(args.key_type);
    let ca_type = args.ca_key_type.map_or(leaf_type, KeyType::from);
    let key_types = [ca_type, leaf_type, leaf_type];
    let all_types: Vec<KeyType> = key_types
        .iter()
        .copied()
        .chain(others.leaves.iter().map(|leaf| leaf.key_type))
        .collect();
    support::warn_key_types(&all_types, output);
    let mut warnings = support::key_type_warnings(&all_types);
    for warning in &others.warnings {
        output.warn(warning);
    }
    warnings.extend(others.warnings.iter().cloned());

    let mut keys = support::generate_keys(&key_types, output)?.into_iter();
    let (Some(ca_key), Some(server_key), Some(client_key)) =
        (keys.next(), keys.next(), keys.next())
    else {
        bail!("key generation returned too few keys");
    };
    let ca = pki::issue::create_ca_with_path_len(
        &CaRequest {
            common_name: ca_cn,
            validity: Validity::starting_now(now, args.ca_validity),
        },
        ca_key,
        args.ca_path_len,
    )?;
    let leaf_validity = Validity::starting_now(now, args.validity);
    let server = ca.issue(
        &LeafRequest {
            profile: LeafProfile::Server,
            common_name: server_cn,
            sans: server_sans,
            validity: leaf_validity,
        },
        server_key,
    )?;
    let client = ca.issue(
        &LeafRequest {
            profile: LeafProfile::Client,
            common_name: client_cn,
            sans: pki::san::dedup(args.client_sans.clone()),
            validity: leaf_validity,
        },
        client_key,
    )?;

    let reissued = reissue(&ca, &others.leaves)?;

    let ca_key_pem = match (&passphrase, args.encrypt_ca_key) {
        (Some(passphrase), true) => ca.key().to_encrypted_pkcs8_pem(passphrase)?,
        _ => ca.key().to_pkcs8_pem(),
    };
    let mut files = vec![
        PlannedFile::key(crate::set::names::CA_KEY, ca_key_pem),
        PlannedFile::public(crate::set::names::CA_CERT, ca.certificate_pem()),
        PlannedFile::key(crate::set::names::SERVER_KEY, server.key.to_pkcs8_pem()),
        PlannedFile::public(crate::set::names::SERVER_CERT, server.certificate_pem()),
        PlannedFile::key(crate::set::names::CLIENT_KEY, client.key.to_pkcs8_pem()),
        PlannedFile::public(crate::set::names::CLIENT_CERT, client.certificate_pem()),
    ];
    for (leaf, issued) in others.leaves.iter().zip(&reissued) {
        files.push(PlannedFile::key(
            format!("{}.key", leaf.name),
            issued.key.to_pkcs8_pem(),
        ));
        files.push(PlannedFile::public(
            format!("{}.crt", leaf.name),
            issued.certificate_pem(),
        ));
    }
    let outcome = crate::set::write(dir, &files, overwrite)?;
    if let Some(warning) = support::passphrase_file_warning(&args.passphrase) {
        output.warn(&warning);
        warnings.push(warning);
    }
    if rollover
        .files
        .iter()
        .any(|name| name == crate::set::names::BUNDLE)
    {
        let warning = format!(
            "`{}` still holds the CA this set had before; remove it, or it trusts a CA that is gone",
            dir.join(crate::set::names::BUNDLE).display()
        );
        output.warn(&warning);
        warnings.push(warning);
    }

    let certificates = [
        (crate::set::names::CA_CERT, ca.certificate_der()),
        (crate::set::names::SERVER_CERT, &server.certificate_der[..]),
        (crate::set::names::CLIENT_CERT, &client.certificate_der[..]),
    ]
    .into_iter()
    .map(|(name, der)| CertSummary::new(der, &support::display(&dir.join(name)), 0, now))
    .collect::<Result<Vec<_>, _>>()?;
    let reissued = others
        .leaves
        .iter()
        .zip(&reissued)
        .map(|(leaf, issued)| {
            CertSummary::new(
                &issued.certificate_der,
                &support::display(&dir.join(format!("{}.crt", leaf.name))),
                0,
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.encrypt_ca_key {
        warnings.push(format!(
            "ca.key is encrypted: `issue`, `renew` and `ca rotate` need the passphrase ({} or --passphrase-file)",
            support::PASSPHRASE_ENV
        ));
    }
    let report = InitReport {
        dir: dir.clone(),
        certificates,
        files: outcome.files.clone(),
        backup_dir: outcome.backup_dir.clone(),
        ca_key_encrypted: args.encrypt_ca_key,
        reissued,
        warnings,
    };
    Ok(output.outcome(&report, || print_status(&report, &outcome, output))?)
}

fn print_status(report: &InitReport, outcome: &WriteOutcome, output: &Output) {
    for summary in &report.certificates {
        output.status(&support::created_line(summary));
    }
    if !report.reissued.is_empty() {
        let names: Vec<&str> = report
            .reissued
            .iter()
            .map(|summary| summary.path.rsplit('/').next().unwrap_or(&summary.path))
            .collect();
        output.status(&format!(
            "re-issued {} other certificate{} under the new CA (same names, subjects, SANs, purposes, key types and lifetimes; new keys), so that none is left signed by the replaced CA: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            abridged(&names)
        ));
    }
    if outcome.files.len() > LISTED_FILES {
        let names: Vec<String> = outcome
            .files
            .iter()
            .filter_map(|file| file.path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        output.status(&format!(
            "wrote {}: {} files, {} (keys 0600, certificates 0644)",
            report.dir.display(),
            names.len(),
            abridged(&names)
        ));
    } else {
        output.status(&support::written_line(&report.dir, outcome));
    }
    if let Some(backup_dir) = &outcome.backup_dir {
        output.status(&format!(
            "kept the previous files in {}",
            backup_dir.display()
        ));
    }
}

/// More files than this are listed as the first few, `…` and the last.
const LISTED_FILES: usize = 12;

/// `a b c` for a few names, `a b c d e f … z` for many.
fn abridged(names: &[&str]) -> String {
    if names.len() <= LISTED_FILES {
        return names.join(" ");
    }
    let mut shown: Vec<&str> = names[..LISTED_FILES / 2].to_vec();
    shown.push("…");
    shown.extend(names.last());
    shown.join(" ")
}

/// A leaf of the set other than `server` and `client`, signed by the CA `init --force`
/// replaces, and what its successor keeps.
#[derive(Debug)]
struct OtherLeaf {
    /// NAME of NAME.crt.
    name: String,
    /// The successor's request (validity from now, its lifetime as issued).
    request: LeafRequest,
    /// Its key type (a new key of the same type).
    key_type: KeyType,
}

/// The set's other leaves to re-issue, and warnings about the rest.
#[derive(Debug, Default)]
struct OtherLeaves {
    leaves: Vec<OtherLeaf>,
    warnings: Vec<String>,
}

/// Finds the leaves of `dir` besides `server` and `client` that the current `ca.crt` signed
/// (the rollover's own files are not leaves, and a rollover in progress was refused
/// before), and plans their successors under a CA valid for `ca_validity` from `now`.
/// Leaves another CA signed are left alone. A leaf that cannot be re-issued as it is (no
/// TLS purpose, a key type otel-pki does not generate, a lifetime longer than the new
/// CA's) refuses the whole run: nothing may be left signed by a CA that is gone.
fn other_leaves(
    dir: &std::path::Path,
    now: OffsetDateTime,
    ca_validity: pki::Lifetime,
) -> Result<OtherLeaves> {
    let mut others = OtherLeaves::default();
    let Ok(pairs) = crate::set::pairs(dir) else {
        return Ok(others); // no directory yet
    };
    let ca_file = dir.join(crate::set::names::CA_CERT);
    let old_cas = if ca_file.is_file() {
        support::read(&ca_file, "CA certificate")
            .ok()
            .and_then(|bytes| {
                pki::certificate::decode_certificates(&bytes, &support::display(&ca_file)).ok()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let recorded = crate::generation::read_meta(dir)
        .and_then(|bytes| pki::renewal::RequestedLifetimes::from_json(&bytes).ok())
        .unwrap_or_default();
    let ca_not_after = Validity::starting_now(now, ca_validity).not_after;
    let mut unknown = Vec::new();
    for pair in pairs {
        if matches!(
            pair.name.as_str(),
            "ca" | "server" | "client" | "ca-next" | "ca-previous" | "ca-bundle"
        ) {
            continue;
        }
        let path = support::display(&pair.certificate);
        let der = Some(&pair.certificate)
            .filter(|file| file.is_file()) // never block on a FIFO named like a certificate
            .and_then(|file| support::read(file, "certificate").ok())
            .and_then(|bytes| pki::certificate::decode_certificates(&bytes, &path).ok())
            .and_then(|ders| ders.into_iter().next());
        let Some(der) = der else {
            unknown.push(path);
            continue;
        };
        if old_cas.is_empty() {
            unknown.push(path);
            continue;
        }
        if !old_cas.iter().any(|ca| issue::signed_by(&der, ca)) {
            continue; // another CA's: not this set's to re-issue
        }
        let refuse = |reason: &str| {
            anyhow::anyhow!(
                "`{path}` is signed by the CA that init --force replaces, and cannot be re-issued under the new one: {reason}; move it out of `{}` and rerun",
                dir.display()
            )
        };
        let mut template =
            pki::renewal::LeafTemplate::of(&der, &path).map_err(|error| refuse(&error.reason))?;
        template.remember(&recorded);
        let key_type = template.key_type.ok_or_else(|| {
            refuse(&format!(
                "its key type ({}) is not one otel-pki generates",
                template.key_description
            ))
        })?;
        let validity = Validity::starting_now(now, template.lifetime);
        if validity.not_after > ca_not_after {
            return Err(refuse(&format!(
                "its lifetime ({}) is longer than the new CA's; give a longer --ca-validity",
                pki::lifetime::humanize(template.lifetime.duration())
            )));
        }
        if let Some(subject) = &template.dropped_subject {
            others.warnings.push(format!(
                "`{path}` has the subject `{subject}`; its successor keeps only CN={}",
                template.common_name
            ));
        }
        others.leaves.push(OtherLeaf {
            name: pair.name,
            request: LeafRequest {
                profile: template.profile,
                common_name: template.common_name,
                sans: template.sans,
                validity,
            },
            key_type,
        });
    }
    if !unknown.is_empty() {
        others.warnings.push(format!(
            "could not tell whether {} {} signed by the replaced CA (it or `{}` cannot be read); left as {}",
            unknown.iter().map(|path| format!("`{path}`")).collect::<Vec<_>>().join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            ca_file.display(),
            if unknown.len() == 1 { "it is" } else { "they are" },
        ));
    }
    Ok(others)
}

/// Signs the successors of `leaves` with new keys, on every core.
fn reissue(ca: &pki::Ca, leaves: &[OtherLeaf]) -> Result<Vec<pki::Issued>> {
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = leaves.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = leaves
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|leaf| {
                            let key = pki::PrivateKey::generate(leaf.key_type)?;
                            ca.issue(&leaf.request, key)
                        })
                        .collect::<Result<Vec<_>, pki::PkiError>>()
                })
            })
            .collect();
        let mut issued = Vec::with_capacity(leaves.len());
        for worker in workers {
            match worker.join() {
                Ok(result) => issued.extend(result?),
                Err(_) => bail!("a signing thread panicked"),
            }
        }
        Ok(issued)
    })
}
