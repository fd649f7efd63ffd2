//! `otel-pki issue server|client`: sign another leaf with an existing CA.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{init, support};
use crate::cli::{IssueCommand, IssueCommonArgs};
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
