//! `otel-pki sign CSR --role server|client`: a leaf for a key that never leaves its device
//! (a TPM, an HSM, an edge box), signed with the set's CA and the set's profile.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{SignArgs, SignRoleArg};
use crate::input;
use crate::output::Output;
use crate::pki::{self, CertSummary, KeyType, LeafProfile, LeafRequest, San, Validity, csr, issue};
use crate::support;
use crate::write::{self, PlannedFile, WrittenFile};

/// Result of `sign`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct SignReport {
    /// The new certificate, as `inspect` describes it.
    pub certificate: CertSummary,
    /// NAME.crt with its mode.
    pub file: WrittenFile,
    /// Where a replaced NAME.crt went (`--force`).
    pub backup_dir: Option<PathBuf>,
    /// What the CSR asked for that the certificate does not carry.
    pub not_copied: Vec<String>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// Runs `sign`.
pub fn run(args: &SignArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    // One writer at a time, and the files read are those of one moment of the set (a
    // `renew` beside it would otherwise switch a key and its certificate in between).
    let _lock = if dir.is_dir() {
        Some(crate::set::Lock::acquire(dir)?)
    } else {
        None
    };
    let (bytes, shown) = if args.csr == Path::new("-") {
        (
            input::read_stdin(input::KEY_LIMIT, "certificate signing request")?,
            "-".to_owned(),
        )
    } else {
        (
            input::read(&args.csr, input::KEY_LIMIT, "certificate signing request")?,
            args.csr.display().to_string(),
        )
    };
    let request = csr::parse(&bytes, &shown)?;
    let profile = match args.role {
        SignRoleArg::Server => LeafProfile::Server,
        SignRoleArg::Client => LeafProfile::Client,
    };
    let name = match (&args.name, &request.common_name) {
        (Some(name), _) => support::file_stem(name, "--name")?,
        (None, Some(cn)) => support::file_stem(cn, "--name").map_err(|_| {
            anyhow::anyhow!(
                "the CSR's common name `{cn}` is not a file name; pass --name NAME for NAME.crt"
            )
        })?,
        (None, None) => bail!("the CSR has no common name; pass --name NAME for NAME.crt"),
    };
    if name == "ca" {
        bail!("invalid --name `ca`: ca.crt is the CA's certificate; choose another name");
    }
    let cert_name = format!("{name}.crt");
    let key_name = format!("{name}.key");
    if dir.join(&key_name).symlink_metadata().is_ok() {
        bail!(
            "`{}` exists: a certificate for the CSR's key would not match it; choose another --name (the CSR's key stays on its device, so `{cert_name}` comes without a key)",
            dir.join(&key_name).display()
        );
    }
    let overwrite = write::Overwrite::from_force(args.force);
    if overwrite == write::Overwrite::Refuse {
        let existing = write::existing(dir, &[&cert_name]);
        if !existing.is_empty() {
            return Err(write::WriteError::Exists {
                dir: dir.clone(),
                paths: existing,
            }
            .into());
        }
    }

    let mut notes = Vec::new();
    let sans = if args.sans.is_empty() {
        request.sans.clone()
    } else {
        if !request.sans.is_empty() && request.sans != pki::san::dedup(args.sans.clone()) {
            notes.push(format!(
                "the CSR's names ({}) are replaced by --san",
                names(&request.sans)
            ));
        }
        pki::san::dedup(args.sans.clone())
    };
    if profile == LeafProfile::Server && !sans.iter().any(San::is_host) {
        bail!(
            "a server certificate needs a DNS name or IP address and the CSR asks for none; pass --san, e.g. `--san otel-gateway.observability.svc`"
        );
    }
    let common_name = match (&args.cn, &request.common_name, sans.first()) {
        (Some(cn), _, _) => issue::common_name("--cn", cn)?,
        (None, Some(cn), _) => issue::common_name("the CSR's common name", cn)?,
        (None, None, Some(san)) => issue::common_name("--san", &san.value())?,
        (None, None, None) => issue::common_name("--name", &name)?,
    };

    let (ca_cert, ca_key) = support::ca_paths(dir, args.ca_cert.as_ref(), args.ca_key.as_ref());
    let passphrase = support::passphrase(&args.passphrase)?;
    let ca = support::load_ca(&ca_cert, &ca_key, passphrase.as_ref())?;
    let now = OffsetDateTime::now_utc();
    let leaf = LeafRequest {
        profile,
        common_name,
        sans,
        validity: Validity::starting_now(now, args.validity),
    };
    let certificate_der = ca.issue_for_public_key(&leaf, &request.subject_public_key_info)?;
    let cert_path = support::display(&dir.join(&cert_name));
    let certificate = CertSummary::new(&certificate_der, &cert_path, 0, now)?;
    let mut warnings: Vec<String> = support::passphrase_file_warning(&args.passphrase)
        .into_iter()
        .collect();
    if KeyType::of_public_key(&certificate.public_key) == Some(KeyType::Ed25519) {
        warnings.extend(KeyType::Ed25519.warning().map(str::to_owned));
    }
    let outcome = crate::set::write(
        dir,
        &[PlannedFile::public(
            cert_name.clone(),
            pki::certificate::to_pem("CERTIFICATE", &certificate_der),
        )],
        overwrite,
    )?;
    let file = outcome
        .files
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no file was written"))?;
    for warning in &warnings {
        output.warn(warning);
    }
    let report = SignReport {
        certificate,
        file,
        backup_dir: outcome.backup_dir,
        not_copied: request.not_copied,
        warnings,
    };
    Ok(output.outcome(&report, || {
        print_status(&report, &notes, &leaf, profile, &ca, output);
    })?)
}

/// What `sign` did, on stderr.
fn print_status(
    report: &SignReport,
    notes: &[String],
    leaf: &LeafRequest,
    profile: LeafProfile,
    ca: &pki::Ca,
    output: &Output,
) {
    if !report.not_copied.is_empty() {
        output.status(&format!(
            "not copied from the CSR: {} (the {} profile decides usages and a leaf is never a CA)",
            report.not_copied.join("; "),
            profile.name()
        ));
    }
    for note in notes {
        output.status(note);
    }
    let names_text = if leaf.sans.is_empty() {
        String::new()
    } else {
        format!(", names {}", names(&leaf.sans))
    };
    output.status(&format!(
        "signed a {} certificate for `{}` ({}{names_text}), valid until {}, with CA {}",
        profile.name(),
        leaf.common_name,
        report.certificate.public_key.description,
        leaf.validity.not_after.date(),
        ca.certificate_path()
    ));
    output.status(&format!(
        "wrote {} ({}); no key: it stays where the CSR was made",
        report.file.path.display(),
        report.file.mode
    ));
    if let Some(backup) = &report.backup_dir {
        output.status(&format!("kept the previous file in {}", backup.display()));
    }
}

fn names(sans: &[San]) -> String {
    sans.iter().map(San::value).collect::<Vec<_>>().join(", ")
}
