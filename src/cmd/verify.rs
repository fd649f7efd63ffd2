//! `otel-pki verify CERT --ca FILE`: does this certificate chain to the CA, fit its purpose
//! and the host names, and is it valid at the time — each problem as a sentence.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::VerifyArgs;
use crate::input;
use crate::output::{Output, Style};
use crate::pki::verify::{self, ChainLink, Finding, Problem, Purpose};
use crate::pki::{CertSummary, issue};
use crate::set;
use crate::support;

/// Result of `verify`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct VerifyReport {
    /// The leaf certificate, as `inspect` describes it.
    pub certificate: CertSummary,
    /// True when there are no findings (exit status 0).
    pub valid: bool,
    /// The purposes checked (`server`, `client`).
    pub purposes: Vec<Purpose>,
    /// The host names checked (`--host`).
    pub hosts: Vec<String>,
    /// The instant verified at (now, or `--at`).
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub at: OffsetDateTime,
    /// Every problem, the deciding one first; each has a `problem` code and a `message`.
    pub findings: Vec<Finding>,
    /// The path to the trusted CA: the leaf, intermediates, the CA with the file it came
    /// from. Empty when no trusted CA signed the chain.
    pub chain: Vec<ChainLink>,
    /// With `--key`: the key file and whether it matches (null when it is encrypted).
    pub key: Option<KeyMatch>,
    /// Certificates in the CA files that are not CAs and so were not trusted.
    pub warnings: Vec<String>,
}

/// The `--key` comparison.
#[derive(Debug, Deserialize, Serialize)]
pub struct KeyMatch {
    /// The key file.
    pub path: String,
    /// It belongs to the certificate; null when it is encrypted and was not compared.
    pub matches: Option<bool>,
}

/// Runs `verify`.
pub fn run(args: &VerifyArgs, output: &Output) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let at = args.at.unwrap_or(now);
    let cert_name = support::display(&args.cert);
    let chain = input::read_certificates(&args.cert)?;
    let (trusted, warnings) = support::trusted_cas(&args.ca)?;
    let purposes: Vec<Purpose> = args.purpose.map(Purpose::from).into_iter().collect();
    let mut verification = verify::verify(&verify::Request {
        chain: &chain,
        source: &cert_name,
        trusted: &trusted,
        purposes: &purposes,
        hosts: &args.hosts,
        at,
        at_is_now: args.at.is_none(),
    })?;
    let key = match &args.key {
        Some(path) => {
            let (key, finding) = compare_key(path, &chain[0])?;
            verification.findings.extend(finding);
            Some(key)
        }
        None => None,
    };
    let report = VerifyReport {
        certificate: CertSummary::new(&chain[0], &cert_name, 0, now)?,
        valid: verification.is_valid(),
        purposes: verification.purposes,
        hosts: args.hosts.clone(),
        at,
        findings: verification.findings,
        chain: verification.chain,
        key,
        warnings,
    };

    Ok(output.answer(&report, report.valid, || {
        for warning in &report.warnings {
            output.warn(warning);
        }
        render(&report, args.at.is_some(), output)
    })?)
}

/// Compares `--key` with the leaf. A key that cannot be read is an error (exit 2); an
/// encrypted or mismatched one is a finding.
fn compare_key(path: &Path, leaf: &[u8]) -> Result<(KeyMatch, Option<Finding>)> {
    let name = support::display(path);
    // Refuse a FIFO, a device or an oversized file before `examine_key` opens it.
    input::read(path, input::KEY_LIMIT, "private key")
        .map_err(|error| anyhow::anyhow!("cannot use key `{name}`: {}", error.reason()))?;
    let facts = set::examine_key(path, Some(leaf));
    if !facts.encrypted
        && let Some(error) = &facts.error
    {
        return Err(anyhow::anyhow!("{error}")).with_context(|| format!("cannot use key `{name}`"));
    }
    let finding = if facts.encrypted {
        Some(Finding {
            problem: Problem::KeyEncrypted,
            message: format!(
                "key `{name}` is encrypted, so it was not compared; the Collector cannot read encrypted keys"
            ),
        })
    } else if facts.matches == Some(false) {
        Some(verify::key_mismatch(&name))
    } else {
        None
    };
    Ok((
        KeyMatch {
            path: name,
            matches: facts.matches,
        },
        finding,
    ))
}

/// `server`, `client` or `server+client`.
pub fn purposes_name(purposes: &[Purpose]) -> String {
    purposes
        .iter()
        .map(|purpose| purpose.name())
        .collect::<Vec<_>>()
        .join("+")
}

fn render(report: &VerifyReport, explicit_time: bool, output: &Output) -> String {
    let mut text = String::new();
    let what = format!("{} certificate", purposes_name(&report.purposes));
    let when = if explicit_time {
        format!(" at {}", issue::rfc3339(report.at))
    } else {
        String::new()
    };
    let verdict = if report.valid {
        output.paint(Style::Good, &format!("valid {what}{when}"))
    } else {
        output.paint(Style::Bad, &format!("NOT a valid {what}{when}"))
    };
    let _ = writeln!(text, "{}: {verdict}", report.certificate.path);
    for finding in &report.findings {
        let _ = writeln!(text, "  - {}", finding.message);
    }
    let field = |text: &mut String, label: &str, value: &str| {
        let _ = writeln!(text, "  {label:<8} {value}");
    };
    if report.chain.len() > 1 {
        let links: Vec<String> = report.chain[1..]
            .iter()
            .map(|link| format!("{} ({})", link.subject, link.source))
            .collect();
        field(&mut text, "chain", &links.join(" → "));
    }
    let valid_for: Vec<&str> = report.certificate.sans.hosts().collect();
    if report.hosts.is_empty() {
        if report.purposes.contains(&Purpose::Server) {
            field(
                &mut text,
                "hosts",
                &format!(
                    "not checked (give --host); valid for: {}",
                    if valid_for.is_empty() {
                        "none".to_owned()
                    } else {
                        valid_for.join(", ")
                    }
                ),
            );
        }
    } else if !report
        .findings
        .iter()
        .any(|finding| matches!(finding.problem, Problem::NameMismatch | Problem::Malformed))
    {
        field(
            &mut text,
            "hosts",
            &format!("{}: ok", report.hosts.join(", ")),
        );
    }
    let days = crate::pki::lifetime::round_days(report.certificate.not_after - report.at);
    if report.certificate.not_after >= report.at {
        field(
            &mut text,
            "expires",
            &format!(
                "{} ({days} days {})",
                report.certificate.not_after.date(),
                if explicit_time { "after that" } else { "left" }
            ),
        );
    }
    if let Some(key) = &report.key {
        let verdict = match key.matches {
            Some(true) => "matches",
            Some(false) => "DOES NOT MATCH",
            None => "encrypted (not compared)",
        };
        field(&mut text, "key", &format!("{} {verdict}", key.path));
    }
    text
}
