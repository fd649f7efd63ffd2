//! `otel-pki keystore`: PKCS#12 keystores (NAME.p12) and a truststore for JVM and .NET
//! programs, from the PEM files of a set.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cli::KeystoreArgs;
use crate::keystore::{self, Entry, Plan};
use crate::output::Output;
use crate::pki::pkcs12::Protection;
use crate::pki::{KeyType, certificate};
use crate::support;
use crate::write::{self, Overwrite, WrittenFile};

/// Result of `keystore`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct KeystoreReport {
    /// `modern` or `legacy`.
    pub protection: Protection,
    /// The algorithms, in words.
    pub algorithms: String,
    /// The files written, with their modes.
    pub files: Vec<WrittenFile>,
    /// Where replaced files went (`--force`).
    pub backup_dir: Option<PathBuf>,
    /// What each file holds.
    pub entries: Vec<Entry>,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// Runs `keystore`.
pub fn run(args: &KeystoreArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    // One writer at a time, and the files read are those of one moment of the set (a
    // `renew` beside it would otherwise switch a key and its certificate in between).
    let _lock = if dir.is_dir() {
        Some(crate::set::Lock::acquire(dir)?)
    } else {
        None
    };
    let mut names = Vec::new();
    for name in &args.name {
        let stem = support::file_stem(name, "--name")?;
        if stem == "ca" {
            anyhow::bail!(
                "invalid --name `ca`: the CA's key never goes into a keystore; use --truststore for its certificate"
            );
        }
        if stem == "truststore" {
            anyhow::bail!(
                "invalid --name `truststore`: truststore.p12 is the file of --truststore; choose another name"
            );
        }
        if !names.contains(&stem) {
            names.push(stem);
        }
    }
    let protection = if args.legacy {
        Protection::Legacy
    } else {
        Protection::Modern
    };
    let password = keystore::password(args.password_file.as_deref())?;
    let plan = Plan {
        dir,
        names,
        truststore: args.truststore,
        protection,
        overwrite: Overwrite::from_force(args.force),
    };
    if plan.overwrite == Overwrite::Refuse {
        let mut targets: Vec<String> = plan
            .names
            .iter()
            .map(|name| format!("{name}.p12"))
            .collect();
        if plan.truststore {
            targets.push(keystore::TRUSTSTORE.to_owned());
        }
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let existing = write::existing(dir, &targets);
        if !existing.is_empty() {
            return Err(write::WriteError::Exists {
                dir: dir.clone(),
                paths: existing,
            }
            .into());
        }
    }
    let warnings = key_warnings(&plan);
    let (outcome, entries) = keystore::write(&plan, &password)?;
    for warning in &warnings {
        output.warn(warning);
    }
    let report = KeystoreReport {
        protection,
        algorithms: protection.description().to_owned(),
        files: outcome.files,
        backup_dir: outcome.backup_dir,
        entries,
        warnings,
    };
    Ok(output.outcome(&report, || print_status(&report, output))?)
}

/// Which keystores were written and what each holds, on stderr.
fn print_status(report: &KeystoreReport, output: &Output) {
    for file in &report.files {
        let held: Vec<String> = report
            .entries
            .iter()
            .filter(|entry| entry.file == file.path)
            .map(|entry| match entry.kind.as_str() {
                "private_key" => format!(
                    "private key `{}` ({}, chain of {})",
                    entry.alias, entry.subject, entry.chain_length
                ),
                _ => format!("trusted certificate `{}` ({})", entry.alias, entry.subject),
            })
            .collect();
        output.status(&format!(
            "wrote {} ({}): {}",
            file.path.display(),
            file.mode,
            held.join(", ")
        ));
    }
    output.status(&format!("protection: {}", report.algorithms));
    if let Some(backup) = &report.backup_dir {
        output.status(&format!("previous files kept in {}", backup.display()));
    }
}

/// Ed25519 leaves: JSSE reads them since JDK 15, .NET not at all.
fn key_warnings(plan: &Plan<'_>) -> Vec<String> {
    plan.names
        .iter()
        .filter(|name| {
            let path = plan.dir.join(format!("{name}.crt"));
            crate::set::read_certificates(&path)
                .ok()
                .and_then(|certificates| {
                    let parsed = certificate::parse(certificates.first()?).ok()?;
                    KeyType::of_public_key(&certificate::PublicKeyInfo::of(&parsed))
                })
                == Some(KeyType::Ed25519)
        })
        .map(|name| {
            format!(
                "`{name}.p12` holds an Ed25519 key: JSSE uses it from JDK 15 on, but .NET (X509Certificate2) and older JVMs cannot; use ecdsa-p256 or RSA for JVM and .NET programs"
            )
        })
        .collect()
}
