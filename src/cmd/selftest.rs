//! `otel-pki selftest`: proves a set works with real mutual-TLS exchanges over 127.0.0.1 —
//! the server and client of the set (TLS 1.3 and 1.2), and the negative halves (no client
//! certificate, the server certificate used as a client certificate).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::SelftestArgs;
use crate::output::{Output, Style};
use crate::pki::verify::TrustedCa;
use crate::pki::{CertSummary, PrivateKey, Role};
use crate::set;
use crate::support;
use crate::tls::{self, Exchange, ExchangeOutcome, Identity, Negotiated, Version};

/// Result of `selftest`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct SelftestReport {
    /// The set directory.
    pub dir: PathBuf,
    /// The name the client dialed and verified.
    pub host: String,
    /// The server certificate file.
    pub server: String,
    /// The client certificate file.
    pub client: String,
    /// Each exchange, positive cases first.
    pub cases: Vec<Case>,
    /// True when every case went as it must (exit status 0).
    pub ok: bool,
}

/// One exchange and whether it went as it must.
#[derive(Debug, Deserialize, Serialize)]
pub struct Case {
    /// What was tried, e.g. `mutual TLS 1.3`, `no client certificate`.
    pub name: String,
    /// `accept` (the handshake and data must go through) or `reject` (the server must
    /// refuse).
    pub expect: Expect,
    /// `pass`, `fail`, or `skip` (not applicable to this set).
    pub status: CaseStatus,
    /// What happened, as a sentence.
    pub detail: String,
    /// Protocol version, cipher suite and ALPN, when the client finished a handshake.
    pub negotiated: Option<Negotiated>,
    /// The raw outcome: errors on each side, data both ways.
    pub outcome: Option<ExchangeOutcome>,
}

/// What a case must do.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Go through.
    Accept,
    /// Be refused by the server.
    Reject,
}

/// How a case went.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// As it must.
    Pass,
    /// Not as it must.
    Fail,
    /// Not applicable.
    Skip,
}

struct Side {
    file: String,
    identity: Identity,
    summary: CertSummary,
}

/// Runs `selftest`.
pub fn run(args: &SelftestArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    let server_name = support::file_stem(&args.server, "--server")?;
    let client_name = support::file_stem(&args.client, "--client")?;
    let ca_path = dir.join(crate::set::names::CA_CERT);
    let ca_name = support::display(&ca_path);
    let (trusted, _) = TrustedCa::from_file(set::read_certificates(&ca_path)?, &ca_name)?;
    if trusted.is_empty() {
        anyhow::bail!("`{ca_name}` holds no CA certificate");
    }
    let server = side(dir, &server_name)?;
    let client = side(dir, &client_name)?;
    let host = match &args.host {
        Some(host) => host.clone(),
        None => server
            .summary
            .sans
            .dns
            .first()
            .or_else(|| server.summary.sans.ip.first())
            .map(|host| host.replace("*.", "selftest."))
            .with_context(|| {
                format!(
                    "`{}` has no DNS or IP name to dial; give --host",
                    server.file
                )
            })?,
    };
    let timeout = std::time::Duration::try_from(args.timeout.duration()).unwrap_or_default();
    let base = Exchange {
        server: &server.identity,
        client_cas: &trusted,
        client: Some(&client.identity),
        server_cas: &trusted,
        server_name: &host,
        version: None,
        timeout,
    };
    let mut cases = Vec::new();
    for version in [Version::Tls13, Version::Tls12] {
        let outcome = tls::exchange(&Exchange {
            version: Some(version),
            ..base
        })?;
        cases.push(judge(
            format!("mutual {version}"),
            Expect::Accept,
            file_name(&client.file),
            outcome,
        ));
    }
    let outcome = tls::exchange(&Exchange {
        client: None,
        ..base
    })?;
    cases.push(judge(
        "no client certificate".into(),
        Expect::Reject,
        "",
        outcome,
    ));
    let as_client = format!("{} as client certificate", file_name(&server.file));
    if server.summary.role == Role::ServerClient {
        cases.push(Case {
            name: as_client,
            expect: Expect::Reject,
            status: CaseStatus::Skip,
            detail: format!(
                "{} has clientAuth too (issued with --client-auth), so it may act as a client",
                file_name(&server.file)
            ),
            negotiated: None,
            outcome: None,
        });
    } else {
        let outcome = tls::exchange(&Exchange {
            client: Some(&server.identity),
            ..base
        })?;
        let server_file = file_name(&server.file).to_owned();
        cases.push(judge(as_client, Expect::Reject, &server_file, outcome));
    }

    let report = SelftestReport {
        dir: dir.clone(),
        host,
        server: server.file,
        client: client.file,
        ok: cases.iter().all(|case| case.status != CaseStatus::Fail),
        cases,
    };
    Ok(output.answer(&report, report.ok, || render(&report, output))?)
}

fn side(dir: &Path, name: &str) -> Result<Side> {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    let file = support::display(&cert_path);
    let chain = set::read_certificates(&cert_path)?;
    let key_name = support::display(&key_path);
    let key = PrivateKey::from_pem_or_der(&support::read(&key_path, "key")?, &key_name)?;
    let summary = CertSummary::new(&chain[0], &file, 0, OffsetDateTime::now_utc())?;
    Ok(Side {
        file,
        identity: Identity::new(chain, &key),
        summary,
    })
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn judge(name: String, expect: Expect, client_file: &str, outcome: ExchangeOutcome) -> Case {
    let alert = outcome
        .alert
        .as_ref()
        .map(|alert| format!(" (alert {alert})"))
        .unwrap_or_default();
    let other = || {
        outcome
            .client_error
            .iter()
            .map(|error| format!("client: {error}"))
            .chain(
                outcome
                    .server_error
                    .iter()
                    .map(|error| format!("server: {error}")),
            )
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (status, detail) = match expect {
        Expect::Accept if outcome.data_both_ways => (
            CaseStatus::Pass,
            format!(
                "{}: a line of application data each way",
                outcome
                    .negotiated
                    .as_ref()
                    .map_or("", |negotiated| negotiated.cipher_suite.as_str())
            ),
        ),
        Expect::Reject if outcome.data_both_ways => (
            CaseStatus::Fail,
            "ACCEPTED: the server took the connection although it must refuse it".to_owned(),
        ),
        _ if outcome.client_refused_server.is_some() => (
            CaseStatus::Fail,
            format!(
                "the client refused the server certificate: {}",
                outcome.client_refused_server.as_deref().unwrap_or_default()
            ),
        ),
        Expect::Accept => match &outcome.server_refused_client {
            Some(reason) => (
                CaseStatus::Fail,
                format!("the server refused {client_file}: {reason}{alert}"),
            ),
            None => (CaseStatus::Fail, format!("failed: {}", other())),
        },
        Expect::Reject => match &outcome.server_refused_client {
            Some(reason) => (CaseStatus::Pass, format!("refused: {reason}{alert}")),
            None => (
                CaseStatus::Fail,
                format!("not refused by the server: {}", other()),
            ),
        },
    };
    Case {
        name,
        expect,
        status,
        detail,
        negotiated: outcome.negotiated.clone(),
        outcome: Some(outcome),
    }
}

fn render(report: &SelftestReport, output: &Output) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "selftest {}: {} and {} over 127.0.0.1, dialing `{}`",
        report.dir.display(),
        file_name(&report.server),
        file_name(&report.client),
        report.host
    );
    let width = report
        .cases
        .iter()
        .map(|case| case.name.chars().count())
        .max()
        .unwrap_or(0);
    for case in &report.cases {
        let label = match case.status {
            CaseStatus::Pass => output.paint(Style::Good, "PASS"),
            CaseStatus::Fail => output.paint(Style::Bad, "FAIL"),
            CaseStatus::Skip => output.paint(Style::Dim, "SKIP"),
        };
        let _ = writeln!(text, "{label}  {:<width$}  {}", case.name, case.detail);
    }
    let passed = report
        .cases
        .iter()
        .filter(|case| case.status == CaseStatus::Pass)
        .count();
    let verdict = if report.ok {
        output.paint(Style::Good, "the set works")
    } else {
        output.paint(Style::Bad, "the set does NOT work")
    };
    let _ = writeln!(
        text,
        "{}: {verdict} ({passed} of {} cases as they must be)",
        report.dir.display(),
        report.cases.len()
    );
    text
}
