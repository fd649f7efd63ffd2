//! `otel-pki probe HOST:PORT`: the chain a live endpoint presents, verified against the CA
//! and the name, and the question that matters — does it enforce mutual TLS? One connection
//! without a client certificate, one with ours.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::ProbeArgs;
use crate::input;
use crate::output::{Output, Style};
use crate::pki::verify::{Purpose, Verification};
use crate::pki::{CertSummary, PrivateKey};
use crate::support::{self, render_certificate};
use crate::tls::{self, Attempt, Identity, MtlsVerdict, Outcome, TlsError};

/// Result of `probe`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct ProbeReport {
    /// The endpoint as given, `HOST:PORT`.
    pub endpoint: String,
    /// The address connected to.
    pub address: String,
    /// The name sent (SNI) and verified.
    pub server_name: String,
    /// The chain the server presented, leaf first, as `inspect` describes it (`path` is the
    /// endpoint).
    pub chain: Vec<CertSummary>,
    /// The chain verified against the CA files and the name; null when the server
    /// presented no certificate.
    pub verification: Option<Verification>,
    /// The CA files used.
    pub ca_files: Vec<String>,
    /// The connection without a client certificate.
    pub without_certificate: Attempt,
    /// The connection with our client certificate; null when none was given.
    pub with_certificate: Option<Attempt>,
    /// The client certificate file used for the second connection.
    pub client_certificate: Option<String>,
    /// Does the server enforce mutual TLS: `requires_and_accepts`, `not_required`,
    /// `rejects_our_certificate`, `requires_untested`, `not_tls`, `inconclusive`.
    pub mtls: MtlsVerdict,
    /// The answer as a sentence.
    pub verdict: String,
    /// The chain verifies and the server requires and accepts our certificate (exit 0).
    pub healthy: bool,
}

/// Runs `probe`.
pub fn run(args: &ProbeArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    let timeout = std_duration(args.timeout.duration());
    if timeout.is_zero() {
        bail!("--timeout must be longer than 0s");
    }
    let ca_paths: Vec<PathBuf> = if args.ca.is_empty() {
        let default = dir.join(crate::set::names::CA_CERT);
        if !default.exists() {
            bail!(
                "no CA to verify the server with: pass --ca FILE, or --dir with a ca.crt (`{}` does not exist)",
                default.display()
            );
        }
        vec![default]
    } else {
        args.ca.clone()
    };
    let (trusted, warnings) = support::trusted_cas(&ca_paths)?;
    for warning in &warnings {
        output.warn(warning);
    }
    let (cert_path, key_path) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (Some(cert.clone()), Some(key.clone())),
        _ => {
            let (cert, key) = (
                dir.join(crate::set::names::CLIENT_CERT),
                dir.join(crate::set::names::CLIENT_KEY),
            );
            if cert.exists() && key.exists() {
                (Some(cert), Some(key))
            } else {
                (None, None)
            }
        }
    };
    let identity = match (&cert_path, &key_path) {
        (Some(cert), Some(key)) => {
            let chain = input::read_certificates(cert)?;
            let key_name = support::display(key);
            let private = PrivateKey::from_pem_or_der(&support::read(key, "key")?, &key_name)
                .with_context(|| format!("cannot use the client key `{key_name}`"))?;
            if !private.matches_certificate(&chain[0]) {
                bail!(
                    "key `{key_name}` does not belong to `{}`; pass the key generated with the certificate",
                    cert.display()
                );
            }
            Some(Identity::new(chain, &private))
        }
        _ => None,
    };

    let endpoint = &args.endpoint;
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| endpoint.host.clone());
    // One deadline for the whole probe (docs/limits.md): resolving, connecting and every
    // read and write of both connections share `--timeout`; `--wait` is added to it.
    let wait = args.wait.map(|wait| std_duration(wait.duration()));
    let limit = tls::Limit {
        deadline: Instant::now() + timeout + wait.unwrap_or_default(),
        timeout,
    };
    let addresses = tls::resolve(endpoint, limit.left())?;
    let stream = connect_waiting(&addresses, &limit, wait)?;
    let address = stream
        .peer_addr()
        .map_or_else(|_| endpoint.to_string(), |address| address.to_string());
    let (mut without, mut chain_der) = tls::attempt(stream, &server_name, None, limit)?;
    if without.oversized && !limit.left().is_zero() {
        // rustls refuses handshake messages over 64 KiB: read the chain over TLS 1.2.
        if let Ok(stream) = tls::connect(&addresses, limit.left()) {
            let reason = match tls::read_oversized_chain(stream, &server_name, limit) {
                Ok((chain, reason)) => {
                    chain_der = chain;
                    reason
                }
                Err(reason) => reason,
            };
            without.outcome = Outcome::Failed { reason };
        }
    }
    let with = match &identity {
        Some(_) if limit.left().is_zero() => Some(not_tried(&limit)),
        Some(identity) => Some(match tls::connect(&addresses, limit.left()) {
            Ok(stream) => tls::attempt(stream, &server_name, Some(identity), limit)?.0,
            Err(TlsError::Timeout { .. }) => not_tried(&limit),
            Err(error) => return Err(error.into()),
        }),
        None => None,
    };

    let now = OffsetDateTime::now_utc();
    let label = endpoint.to_string();
    let chain = chain_der
        .iter()
        .enumerate()
        .map(|(index, der)| CertSummary::new(der, &label, index, now))
        .collect::<Result<Vec<_>, _>>()?;
    let verification = if chain_der.is_empty() {
        None
    } else {
        Some(crate::pki::verify::verify(&crate::pki::verify::Request {
            chain: &chain_der,
            source: &label,
            trusted: &trusted,
            purposes: &[Purpose::Server],
            hosts: std::slice::from_ref(&server_name),
            at: now,
            at_is_now: true,
        })?)
    };
    let mtls = MtlsVerdict::decide(&without, with.as_ref());
    let chain_valid = verification.as_ref().is_some_and(Verification::is_valid);
    let report = ProbeReport {
        endpoint: label,
        address,
        server_name,
        verdict: match verification
            .as_ref()
            .filter(|verification| !verification.is_valid())
        {
            // The first thing the verdict says is that the chain fails: a client refuses it
            // whatever the server does about client certificates.
            Some(failed) => format!(
                "presents a certificate chain that does NOT verify ({}); it {}",
                failed
                    .findings
                    .first()
                    .map_or("see above", |finding| finding.message.as_str()),
                verdict_sentence(mtls, &without, with.as_ref())
            ),
            None => verdict_sentence(mtls, &without, with.as_ref()),
        },
        healthy: chain_valid && mtls == MtlsVerdict::RequiresAndAccepts,
        chain,
        verification,
        ca_files: ca_paths.iter().map(|path| support::display(path)).collect(),
        without_certificate: without,
        with_certificate: with,
        client_certificate: cert_path.as_deref().map(support::display),
        mtls,
    };
    Ok(output.answer(&report, report.healthy, || render(&report, output))?)
}

/// The second connection when the first used up the probe's time.
fn not_tried(limit: &tls::Limit) -> tls::Attempt {
    tls::Attempt {
        offered_certificate: true,
        certificate_request: None,
        negotiated: None,
        outcome: Outcome::Failed {
            reason: format!(
                "not tried: the first connection used up the probe's time limit (--timeout {})",
                limit.text()
            ),
        },
        oversized: false,
    }
}

/// Connects, retrying a refused connection until `wait` has passed.
fn connect_waiting(
    addresses: &[std::net::SocketAddr],
    limit: &tls::Limit,
    wait: Option<Duration>,
) -> Result<std::net::TcpStream, TlsError> {
    let deadline = wait.map(|wait| Instant::now() + wait);
    loop {
        match tls::connect(addresses, limit.left().min(limit.timeout)) {
            Err(TlsError::Refused { .. })
                if deadline.is_some_and(|deadline| Instant::now() < deadline) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

fn std_duration(duration: time::Duration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::from_secs(5))
}

fn verdict_sentence(mtls: MtlsVerdict, without: &Attempt, with: Option<&Attempt>) -> String {
    let detail = match mtls {
        MtlsVerdict::NotRequired => Some(if without.certificate_request.is_some() {
            "it asks for one but accepts connections without".to_owned()
        } else {
            "it does not even ask for one".to_owned()
        }),
        MtlsVerdict::RejectsOurCertificate => with.and_then(|attempt| match &attempt.outcome {
            Outcome::Rejected { reason, .. } => Some(reason.clone()),
            _ => None,
        }),
        MtlsVerdict::Inconclusive => {
            [Some(without), with]
                .into_iter()
                .flatten()
                .find_map(|attempt| match &attempt.outcome {
                    Outcome::Accepted { .. } | Outcome::Rejected { .. } => None,
                    Outcome::NoAnswer { reason }
                    | Outcome::NotTls { reason }
                    | Outcome::Failed { reason } => Some(reason.clone()),
                })
        }
        MtlsVerdict::RequiresAndAccepts | MtlsVerdict::RequiresUntested | MtlsVerdict::NotTls => {
            None
        }
    };
    match detail {
        Some(detail) => format!("{}: {detail}", mtls.sentence()),
        None => mtls.sentence().to_owned(),
    }
}

fn describe_attempt(attempt: &Attempt) -> String {
    let negotiated = attempt
        .negotiated
        .as_ref()
        .map(|negotiated| {
            let mut text = format!("{}, {}", negotiated.version, negotiated.cipher_suite);
            if let Some(alpn) = &negotiated.alpn {
                let _ = write!(text, ", ALPN {alpn}");
            }
            format!(" ({text})")
        })
        .unwrap_or_default();
    match &attempt.outcome {
        Outcome::Accepted { evidence } => format!("accepted: {evidence}{negotiated}"),
        Outcome::Rejected { reason, .. } => format!("refused: {reason}{negotiated}"),
        Outcome::NoAnswer { reason } => format!("no answer: {reason}{negotiated}"),
        Outcome::NotTls { reason } => reason.clone(),
        Outcome::Failed { reason } => format!("failed: {reason}{negotiated}"),
    }
}

fn render(report: &ProbeReport, output: &Output) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "probe {} ({}), server name `{}`",
        report.endpoint, report.address, report.server_name
    );
    for summary in &report.chain {
        render_certificate(&mut text, summary, output);
    }
    let field = |text: &mut String, label: &str, value: &str| {
        let _ = writeln!(text, "{label:<9} {value}");
    };
    match &report.verification {
        Some(verification) if verification.is_valid() => {
            let ca = verification
                .trusted_ca()
                .map(|link| format!(", signed by `{}` ({})", link.subject, link.source))
                .unwrap_or_default();
            field(
                &mut text,
                "chain",
                &output.paint(
                    Style::Good,
                    &format!("valid for `{}`{ca}", report.server_name),
                ),
            );
        }
        Some(verification) => {
            field(
                &mut text,
                "chain",
                &output.paint(
                    Style::Bad,
                    &format!(
                        "NOT valid for `{}` with {}:",
                        report.server_name,
                        report.ca_files.join(", ")
                    ),
                ),
            );
            for finding in &verification.findings {
                let _ = writeln!(text, "  - {}", finding.message);
            }
        }
        None if matches!(
            report.without_certificate.outcome,
            Outcome::Failed { .. } | Outcome::NotTls { .. }
        ) =>
        {
            field(
                &mut text,
                "chain",
                "none read: the connection ended before the server's certificate",
            );
        }
        None => field(&mut text, "chain", "the server presented no certificate"),
    }
    field(
        &mut text,
        "without",
        &format!(
            "a client certificate: {}",
            describe_attempt(&report.without_certificate)
        ),
    );
    if let (Some(attempt), Some(file)) = (&report.with_certificate, &report.client_certificate) {
        field(
            &mut text,
            "with",
            &format!("{file}: {}", describe_attempt(attempt)),
        );
    }
    let request = report
        .with_certificate
        .as_ref()
        .and_then(|attempt| attempt.certificate_request.as_ref())
        .or(report.without_certificate.certificate_request.as_ref());
    if let Some(names) = request {
        field(
            &mut text,
            "asks",
            &if names.is_empty() {
                "for a client certificate from any CA".to_owned()
            } else {
                format!("for a client certificate from: {}", names.join("; "))
            },
        );
    }
    let verdict = format!("{} {}", report.endpoint, report.verdict);
    let verdict = if report.healthy {
        output.paint(Style::Good, &verdict)
    } else {
        output.paint(Style::Bad, &verdict)
    };
    field(&mut text, "verdict", &verdict);
    text
}
