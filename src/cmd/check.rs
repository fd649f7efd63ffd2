//! `otel-pki check`: one report over a set directory — files, keys, roles, names, chains,
//! expiry, permissions — each line PASS, WARN or FAIL, with a command that fixes it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::CheckArgs;
use crate::output::{Output, Style};
use crate::pki::verify::{self, Problem, Purpose, TrustedCa};
use crate::pki::{CertSummary, Role};
use crate::set::{self, Pair, Verdict, dir_flag, shell_word};

/// Result of `check`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct CheckReport {
    /// The set directory.
    pub dir: PathBuf,
    /// The `--host` names the server certificate must cover.
    pub hosts: Vec<String>,
    /// The `--within` threshold, e.g. `30d`.
    pub within: String,
    /// `--strict`: warnings count as failures (and are shown as FAIL).
    pub strict: bool,
    /// One entry per check, in the order they ran.
    pub results: Vec<CheckResult>,
    /// How many of each status.
    pub summary: Summary,
    /// True when nothing failed (exit status 0).
    pub ok: bool,
}

/// One line of the report.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct CheckResult {
    /// `pass`, `warn` or `fail`.
    pub status: Status,
    /// What was checked: a file name (`server.crt`, `ca.crt#1` for a later certificate in
    /// the file), `directory` or `files`.
    pub subject: String,
    /// A stable code for the check: `directory`, `present`, `ca`, `role`, `names`, `host`,
    /// `chain`, `bundle`, `expiry`, `outlives_ca`, `key_type`, `key`, `key_mode`,
    /// `key_readable`, `key_encrypted`, `key_matches`.
    pub check: String,
    /// What was found.
    pub message: String,
    /// A command (or action) that fixes it, for WARN and FAIL.
    pub fix: Option<String>,
}

/// A status.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works today, but look at it.
    Warn,
    /// Will fail (or is insecure).
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// Counts per status.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct Summary {
    /// PASS lines.
    pub pass: usize,
    /// WARN lines.
    pub warn: usize,
    /// FAIL lines.
    pub fail: usize,
}

/// The six files `init` writes.
const SET_FILES: [&str; 6] = crate::set::names::INIT_FILES;

/// Written by the CA-rotation feature: the current and the next CA.
const BUNDLE: &str = crate::set::names::BUNDLE;

/// Runs `check`.
pub fn run(args: &CheckArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    match fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => bail!("`{}` is not a directory", dir.display()),
        Err(_) => bail!(
            "set directory `{}` does not exist; create one with `otel-pki init{}`",
            dir.display(),
            dir_flag(dir)
        ),
    }
    let mut checker = Checker {
        dir,
        hosts: &args.hosts,
        within: args.within.duration(),
        now: OffsetDateTime::now_utc(),
        results: Vec::new(),
    };
    checker.run()?;
    let mut results = checker.results;
    if args.strict {
        for result in &mut results {
            if result.status == Status::Warn {
                result.status = Status::Fail;
            }
        }
    }
    let mut summary = Summary::default();
    for result in &results {
        match result.status {
            Status::Pass => summary.pass += 1,
            Status::Warn => summary.warn += 1,
            Status::Fail => summary.fail += 1,
        }
    }
    let report = CheckReport {
        dir: dir.clone(),
        hosts: args.hosts.clone(),
        within: args.within.to_string(),
        strict: args.strict,
        ok: summary.fail == 0,
        results,
        summary,
    };
    Ok(output.answer(&report, report.ok, || render(&report, output))?)
}

struct Checker<'a> {
    dir: &'a Path,
    hosts: &'a [String],
    within: time::Duration,
    now: OffsetDateTime,
    results: Vec<CheckResult>,
}

/// A leaf read from the set: its chain and summary.
struct Leaf {
    pair: Pair,
    chain: Vec<Vec<u8>>,
    summary: CertSummary,
}

impl Checker<'_> {
    fn push(
        &mut self,
        status: Status,
        subject: &str,
        check: &str,
        message: String,
        fix: Option<String>,
    ) {
        self.results.push(CheckResult {
            status,
            subject: subject.to_owned(),
            check: check.to_owned(),
            message,
            fix,
        });
    }

    fn run(&mut self) -> Result<()> {
        self.directory();
        self.files();
        let pairs = set::pairs(self.dir)?;
        let trusted = self.ca();
        let bundle = self.bundle(trusted.as_ref());
        for pair in pairs
            .into_iter()
            .filter(|pair| pair.name != "ca" && pair.name != "ca-bundle")
        {
            self.pair(pair, trusted.as_deref(), bundle.as_deref());
        }
        Ok(())
    }

    fn directory(&mut self) {
        let mode = set::mode(self.dir).unwrap_or_default() & 0o7777;
        let problem = std::fs::metadata(self.dir)
            .ok()
            .and_then(|metadata| set::lock::shared_dir_problem(&metadata));
        if let Some(problem) = problem {
            let who = if mode & 0o002 != 0 {
                "writable by everyone"
            } else {
                "writable by its group"
            };
            self.push(
                Status::Fail,
                "directory",
                "directory",
                format!(
                    "{} is {who} (mode {mode:04o}){}: anyone who can write there can replace the certificates and plant links beside the keys; otel-pki refuses to write keys there",
                    self.dir.display(),
                    if problem.contains("sticky") {
                        ", a sticky shared directory like /tmp"
                    } else {
                        ""
                    }
                ),
                Some(format!(
                    "chmod go-w {}",
                    shell_word(&self.dir.display().to_string())
                )),
            );
        } else {
            self.push(
                Status::Pass,
                "directory",
                "directory",
                format!(
                    "{} is not writable by others (mode {:04o})",
                    self.dir.display(),
                    mode & 0o777
                ),
                None,
            );
        }
        self.leftovers();
    }

    /// What interrupted runs left: reported, removed by the next writing command.
    fn leftovers(&mut self) {
        let leftovers = set::leftovers(self.dir);
        if leftovers.is_empty() {
            return;
        }
        if set::lock::is_held_elsewhere(self.dir) {
            self.push(
                Status::Warn,
                "directory",
                "leftovers",
                format!(
                    "another otel-pki command is writing to {} right now ({} temporary files); check again when it has finished",
                    self.dir.display(),
                    leftovers.len()
                ),
                None,
            );
            return;
        }
        const SHOWN: usize = 3;
        let mut names: Vec<String> = leftovers
            .iter()
            .take(SHOWN)
            .map(|path| {
                path.strip_prefix(self.dir)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            })
            .collect();
        if leftovers.len() > SHOWN {
            names.push(format!("and {} more", leftovers.len() - SHOWN));
        }
        self.push(
            Status::Warn,
            "directory",
            "leftovers",
            format!(
                "{} left by an interrupted otel-pki command ({}), possibly private keys; the next command that writes to the set removes them",
                if leftovers.len() == 1 {
                    "1 file".to_owned()
                } else {
                    format!("{} files", leftovers.len())
                },
                names.join(", ")
            ),
            None,
        );
    }

    fn files(&mut self) {
        let missing: Vec<&str> = SET_FILES
            .iter()
            .copied()
            .filter(|name| !self.dir.join(name).exists())
            .collect();
        if missing.is_empty() {
            self.push(Status::Pass, "files", "present", SET_FILES.join(", "), None);
            return;
        }
        if missing.len() == SET_FILES.len() {
            self.push(
                Status::Fail,
                "files",
                "present",
                "no certificate set here (none of ca.crt, server.crt, client.crt and their keys)"
                    .into(),
                Some(format!("otel-pki init{}", dir_flag(self.dir))),
            );
            return;
        }
        for name in missing {
            // Keeping the CA key away from the machines that only use the set is good
            // practice; only signing needs it.
            let (status, message) = if name == crate::set::names::CA_KEY {
                (Status::Warn, "ca.key is not here: fine when the CA key is kept elsewhere, but `issue` needs it".to_owned())
            } else {
                (Status::Fail, format!("{name} is missing"))
            };
            let fix = match name {
                crate::set::names::CA_KEY => format!(
                    "copy the CA key to {} when you need to issue certificates",
                    self.dir.join(crate::set::names::CA_KEY).display()
                ),
                crate::set::names::CA_CERT => format!(
                    "copy the CA certificate to {}, or create a new set with `otel-pki init{} --force`",
                    self.dir.join(crate::set::names::CA_CERT).display(),
                    dir_flag(self.dir)
                ),
                crate::set::names::SERVER_CERT | crate::set::names::SERVER_KEY => format!(
                    "otel-pki issue server{} --san HOST --force",
                    dir_flag(self.dir)
                ),
                _ => format!("otel-pki issue client{} --force", dir_flag(self.dir)),
            };
            self.push(status, name, "present", message, Some(fix));
        }
    }

    /// ca.crt and ca.key: every certificate in ca.crt a proper CA, valid, and the key.
    fn ca(&mut self) -> Option<Vec<TrustedCa>> {
        let path = self.dir.join(crate::set::names::CA_CERT);
        if !path.exists() {
            return None;
        }
        let ders = match set::read_certificates(&path) {
            Ok(ders) => ders,
            Err(error) => {
                self.push(Status::Fail, "ca.crt", "ca", error.to_string(), Some(format!("restore the CA certificate, or create a new set with `otel-pki init{} --force`", dir_flag(self.dir))));
                return None;
            }
        };
        let trusted = self.ca_certificates("ca.crt", &ders);
        let key = self.dir.join(crate::set::names::CA_KEY);
        if key.exists() {
            self.key(&key, "ca.key", &ders, true, None);
        }
        Some(trusted)
    }

    /// The CA certificates of one file: role, key type, expiry. Returns the trusted ones.
    fn ca_certificates(&mut self, file: &str, ders: &[Vec<u8>]) -> Vec<TrustedCa> {
        let display = self.dir.join(file).display().to_string();
        for (index, der) in ders.iter().enumerate() {
            let subject = verify::label(file, index);
            let summary = match CertSummary::new(der, &subject, index, self.now) {
                Ok(summary) => summary,
                Err(error) => {
                    self.push(Status::Fail, &subject, "ca", error.to_string(), None);
                    continue;
                }
            };
            if summary.role != Role::Ca {
                self.push(
                    Status::Fail,
                    &subject,
                    "ca",
                    format!("`{}` is not a CA certificate (no basicConstraints CA:TRUE): peers that trust {file} would trust a leaf", summary.subject),
                    Some(format!("remove it from {display}")),
                );
                continue;
            }
            let mut problems = Vec::new();
            if !summary.key_usage.iter().any(|usage| usage == "keyCertSign") {
                problems.push("keyUsage lacks keyCertSign (OpenSSL rejects the chain)".to_owned());
            }
            if summary.extended_key_usage.is_empty() {
                self.push(
                    Status::Pass,
                    &subject,
                    "ca",
                    format!(
                        "CA `{}`: CA:TRUE, keyCertSign, no extendedKeyUsage",
                        summary.subject
                    ),
                    None,
                );
            } else {
                problems.push(format!(
                    "it has extendedKeyUsage {} (Go enforces EKUs down the chain, so it limits what its leaves may do)",
                    summary.extended_key_usage.join(", ")
                ));
            }
            if !problems.is_empty() {
                let status = if summary.key_usage.iter().any(|usage| usage == "keyCertSign") {
                    Status::Warn
                } else {
                    Status::Fail
                };
                self.push(
                    status,
                    &subject,
                    "ca",
                    format!("CA `{}`: {}", summary.subject, problems.join("; ")),
                    Some(format!(
                        "create a CA with the right profile: `otel-pki init{} --force`",
                        dir_flag(self.dir)
                    )),
                );
            }
            self.key_type(&subject, &summary, None);
            self.expiry(&subject, &summary, &format!("create a new CA: `otel-pki init{} --force` (re-issues everything), or rotate it with `otel-pki ca rotate --stage`", dir_flag(self.dir)));
        }
        TrustedCa::from_file(ders.to_vec(), &display)
            .map(|(trusted, _)| trusted)
            .unwrap_or_default()
    }

    /// ca-bundle.crt (CA rotation: the current and the next CA), when present.
    fn bundle(&mut self, current: Option<&Vec<TrustedCa>>) -> Option<Vec<TrustedCa>> {
        let path = self.dir.join(BUNDLE);
        if !path.exists() {
            return None;
        }
        let ders = match set::read_certificates(&path) {
            Ok(ders) => ders,
            Err(error) => {
                self.push(Status::Fail, BUNDLE, "bundle", error.to_string(), None);
                return None;
            }
        };
        let trusted = self.ca_certificates(BUNDLE, &ders);
        if let Some(current) = current {
            for ca in current {
                if !trusted.iter().any(|candidate| candidate.der() == ca.der()) {
                    self.push(
                        Status::Warn,
                        BUNDLE,
                        "bundle",
                        format!("does not contain the CA of ca.crt (`{}`): peers that trust the bundle reject certificates from it", ca.subject()),
                        Some(format!("add it: `cat {} >> {}`", self.dir.join(crate::set::names::CA_CERT).display(), path.display())),
                    );
                }
            }
        }
        if !trusted.is_empty() {
            self.push(
                Status::Pass,
                BUNDLE,
                "bundle",
                format!(
                    "{} CA{}: {}",
                    trusted.len(),
                    if trusted.len() == 1 { "" } else { "s" },
                    trusted
                        .iter()
                        .map(|ca| format!("`{}`", ca.subject()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            );
        }
        Some(trusted)
    }

    fn pair(&mut self, pair: Pair, trusted: Option<&[TrustedCa]>, bundle: Option<&[TrustedCa]>) {
        let cert_file = format!("{}.crt", pair.name);
        let chain = match set::read_certificates(&pair.certificate) {
            Ok(chain) => chain,
            Err(error) => {
                self.push(
                    Status::Fail,
                    &cert_file,
                    "role",
                    error.to_string(),
                    Some(self.reissue_generic(&pair.name)),
                );
                return;
            }
        };
        let summary = match CertSummary::new(&chain[0], &cert_file, 0, self.now) {
            Ok(summary) => summary,
            Err(error) => {
                self.push(
                    Status::Fail,
                    &cert_file,
                    "role",
                    error.to_string(),
                    Some(self.reissue_generic(&pair.name)),
                );
                return;
            }
        };
        if summary.role == Role::Ca && matches!(pair.name.as_str(), "server" | "client") {
            self.push(
                Status::Fail,
                &cert_file,
                "role",
                "is a CA certificate, not a leaf".into(),
                Some(self.reissue_generic(&pair.name)),
            );
            return;
        }
        if summary.role == Role::Ca {
            // A CA kept as NAME.crt (e.g. a staged next CA): checked as a CA.
            let _ = self.ca_certificates(&cert_file, &chain);
            if pair.key.exists() {
                self.key(
                    &pair.key.clone(),
                    &format!("{}.key", pair.name),
                    &chain,
                    true,
                    None,
                );
            }
            return;
        }
        let leaf = Leaf {
            pair,
            chain,
            summary,
        };
        self.role(&leaf);
        self.key_usage(&leaf);
        self.names(&leaf);
        self.key_type(&cert_file, &leaf.summary, Some(&leaf));
        self.chains(&leaf, "ca.crt", trusted);
        if let Some(bundle) = bundle {
            self.chains(&leaf, BUNDLE, Some(bundle));
        }
        self.expiry(&cert_file, &leaf.summary, &self.renew(&leaf, trusted));
        self.outlives_ca(&leaf, trusted);
        let key_name = format!("{}.key", leaf.pair.name);
        if leaf.pair.key.exists() {
            let key = leaf.pair.key.clone();
            self.key(&key, &key_name, &leaf.chain[..1], false, Some(&leaf));
        } else if !SET_FILES.contains(&key_name.as_str()) {
            // The six files are reported by `files`.
            self.push(
                Status::Warn,
                &key_name,
                "present",
                format!("there is no {key_name} beside {cert_file}"),
                Some(format!(
                    "put the key generated with it at {}",
                    leaf.pair.key.display()
                )),
            );
        }
    }

    fn role(&mut self, leaf: &Leaf) {
        let file = format!("{}.crt", leaf.pair.name);
        let summary = &leaf.summary;
        let ekus = if summary.extended_key_usage.is_empty() {
            "none".to_owned()
        } else {
            summary.extended_key_usage.join(", ")
        };
        let expected = match leaf.pair.name.as_str() {
            "server" => Some(Purpose::Server),
            "client" => Some(Purpose::Client),
            _ => None,
        };
        let fix = || Some(self.reissue(leaf, &[]));
        match (expected, summary.role) {
            (_, Role::Other) if summary.extended_key_usage.is_empty() => self.push(
                Status::Warn,
                &file,
                "role",
                "has no extendedKeyUsage: Go accepts it for any purpose, so it can act as server and client (no role separation)".into(),
                fix(),
            ),
            (_, Role::Other) => self.push(
                Status::Fail,
                &file,
                "role",
                format!("has extendedKeyUsage {ekus}: neither serverAuth nor clientAuth, so no TLS peer accepts it"),
                fix(),
            ),
            (Some(Purpose::Server), Role::Client) => self.push(
                Status::Fail,
                &file,
                "role",
                "has extendedKeyUsage clientAuth only; a server certificate needs serverAuth".into(),
                fix(),
            ),
            (Some(Purpose::Client), Role::Server) => self.push(
                Status::Fail,
                &file,
                "role",
                "has extendedKeyUsage serverAuth only; a client certificate needs clientAuth".into(),
                fix(),
            ),
            (Some(purpose), Role::ServerClient) => self.push(
                Status::Warn,
                &file,
                "role",
                format!(
                    "has both serverAuth and clientAuth: as a {} certificate it can also act as a {}; fine if issued so on purpose (`issue server --client-auth`)",
                    purpose.name(),
                    if purpose == Purpose::Server { "client" } else { "server" }
                ),
                fix(),
            ),
            (_, role) => self.push(
                Status::Pass,
                &file,
                "role",
                format!(
                    "{} certificate: CA:FALSE, extendedKeyUsage {ekus}{}",
                    role.name(),
                    if role == Role::ServerClient { " (for a gateway's receiver and exporter)" } else { "" }
                ),
                None,
            ),
        }
    }

    /// A leaf's keyUsage, when present, must allow digitalSignature: TLS 1.3 signs with
    /// every key type, and OpenSSL and Java enforce the bit (Go and rustls ignore it).
    fn key_usage(&mut self, leaf: &Leaf) {
        let usage = &leaf.summary.key_usage;
        if !usage.is_empty() && !usage.iter().any(|bit| bit == "digitalSignature") {
            self.push(
                Status::Fail,
                &format!("{}.crt", leaf.pair.name),
                "role",
                format!(
                    "has keyUsage {} without digitalSignature: OpenSSL and Java peers reject it, and TLS 1.3 needs it",
                    usage.join(", ")
                ),
                Some(self.reissue(leaf, &[])),
            );
        }
    }

    fn names(&mut self, leaf: &Leaf) {
        let file = format!("{}.crt", leaf.pair.name);
        let hosts: Vec<&str> = leaf.summary.sans.hosts().collect();
        let serves = matches!(leaf.summary.role, Role::Server | Role::ServerClient);
        if serves && hosts.is_empty() {
            self.push(
                Status::Fail,
                &file,
                "names",
                "has no DNS or IP subject alternative names: every TLS client rejects it (Go ignores the common name)".into(),
                Some(self.reissue(leaf, self.hosts)),
            );
        } else if serves {
            self.push(
                Status::Pass,
                &file,
                "names",
                format!("valid for: {}", hosts.join(", ")),
                None,
            );
        }
        // --host applies to the server certificate.
        if leaf.pair.name != "server" || self.hosts.is_empty() {
            return;
        }
        let verification = verify::verify(&verify::Request {
            chain: &leaf.chain[..1],
            source: &file,
            trusted: &[],
            purposes: &[Purpose::Server],
            hosts: self.hosts,
            at: self.now,
            at_is_now: true,
        });
        let mismatch = verification.ok().and_then(|verification| {
            verification
                .findings
                .into_iter()
                .find(|finding| finding.problem == Problem::NameMismatch)
        });
        match mismatch {
            Some(finding) => {
                let missing: Vec<String> = self
                    .hosts
                    .iter()
                    .filter(|host| finding.message.contains(&format!("`{host}`")))
                    .cloned()
                    .collect();
                let fix = self.reissue(leaf, &missing);
                self.push(Status::Fail, &file, "host", finding.message, Some(fix));
            }
            None => self.push(
                Status::Pass,
                &file,
                "host",
                format!("covers {}", self.hosts.join(", ")),
                None,
            ),
        }
    }

    fn key_type(&mut self, subject: &str, summary: &CertSummary, leaf: Option<&Leaf>) {
        if summary.public_key.algorithm != "ed25519" {
            return;
        }
        let fix = match leaf {
            Some(leaf) => self
                .reissue(leaf, &[])
                .replace(" --key-type ed25519", " --key-type ecdsa-p256"),
            None => format!(
                "otel-pki init{} --key-type ecdsa-p256 --force",
                dir_flag(self.dir)
            ),
        };
        self.push(
            Status::Warn,
            subject,
            "key_type",
            "has an Ed25519 key: gRPC's C core (the Python, C++, Ruby and PHP OTLP/gRPC exporters) fails the handshake (grpc/grpc#24252), and the OpenTelemetry Java SDK cannot load it (it reads only RSA and EC PKCS#8 keys: \"Unable to generate key from supported algorithms: [RSA,EC]\")".into(),
            Some(fix),
        );
    }

    fn chains(&mut self, leaf: &Leaf, ca_file: &str, trusted: Option<&[TrustedCa]>) {
        let file = format!("{}.crt", leaf.pair.name);
        let Some(trusted) = trusted else {
            return; // no CA: reported by `files` / `ca`
        };
        let verification = match verify::verify(&verify::Request {
            chain: &leaf.chain,
            source: &file,
            trusted,
            purposes: &Purpose::defaults_for(&leaf.summary),
            hosts: &[],
            at: self.now,
            at_is_now: true,
        }) {
            Ok(verification) => verification,
            Err(error) => {
                self.push(Status::Fail, &file, "chain", error.to_string(), None);
                return;
            }
        };
        // Dates, purposes and names have their own lines.
        let problems: Vec<String> = verification
            .findings
            .iter()
            .filter(|finding| {
                !matches!(
                    finding.problem,
                    Problem::Expired
                        | Problem::NotYetValid
                        | Problem::WrongPurpose
                        | Problem::NameMismatch
                        | Problem::CaExpired
                        | Problem::CaNotYetValid
                )
            })
            .map(|finding| finding.message.clone())
            .collect();
        let check = if ca_file == BUNDLE { "bundle" } else { "chain" };
        if problems.is_empty() {
            let ca = verification
                .trusted_ca()
                .map(|link| format!(" (`{}`)", link.subject))
                .unwrap_or_default();
            self.push(
                Status::Pass,
                &file,
                check,
                format!("chains to {ca_file}{ca}"),
                None,
            );
        } else {
            let fix = if ca_file == BUNDLE {
                format!(
                    "re-issue it from a CA in the bundle: {}",
                    self.reissue(leaf, &[])
                )
            } else {
                self.reissue(leaf, &[])
            };
            self.push(
                Status::Fail,
                &file,
                check,
                format!("does not chain to {ca_file}: {}", problems.join("; ")),
                Some(fix),
            );
        }
    }

    fn expiry(&mut self, subject: &str, summary: &CertSummary, fix: &str) {
        let days = crate::pki::lifetime::round_days(summary.not_after - self.now);
        let date = summary.not_after.date();
        if summary.not_after < self.now {
            let ago = crate::pki::lifetime::humanize(self.now - summary.not_after);
            self.push(
                Status::Fail,
                subject,
                "expiry",
                format!("expired {ago} ago ({date})"),
                Some(fix.to_owned()),
            );
        } else if summary.not_before > self.now {
            let when = crate::pki::lifetime::humanize(summary.not_before - self.now);
            self.push(
                Status::Fail,
                subject,
                "expiry",
                format!(
                    "is not valid until {} (in {when}): issued with a clock in the future?",
                    summary.not_before.date()
                ),
                Some(fix.to_owned()),
            );
        } else if summary.not_after - self.now < self.within {
            self.push(
                Status::Warn,
                subject,
                "expiry",
                format!("expires in {days} days ({date})"),
                Some(fix.to_owned()),
            );
        } else {
            self.push(
                Status::Pass,
                subject,
                "expiry",
                format!("valid until {date} ({days} days left)"),
                None,
            );
        }
    }

    fn outlives_ca(&mut self, leaf: &Leaf, trusted: Option<&[TrustedCa]>) {
        let Some(ca) = trusted.and_then(|trusted| {
            trusted
                .iter()
                .find(|ca| ca.subject() == leaf.summary.issuer)
        }) else {
            return;
        };
        let Ok(ca_summary) = CertSummary::new(ca.der(), ca.source(), 0, self.now) else {
            return;
        };
        if leaf.summary.not_after > ca_summary.not_after {
            let excess =
                crate::pki::lifetime::humanize(leaf.summary.not_after - ca_summary.not_after);
            self.push(
                Status::Warn,
                &format!("{}.crt", leaf.pair.name),
                "outlives_ca",
                format!(
                    "expires {}, {excess} after its CA (expires {}): it stops working when the CA does",
                    leaf.summary.not_after.date(),
                    ca_summary.not_after.date()
                ),
                Some(format!("rotate the CA before {}: `otel-pki ca rotate --stage`", ca_summary.not_after.date())),
            );
        }
    }

    /// A key file: readable, private, unencrypted (leaves), matching.
    fn key(
        &mut self,
        path: &Path,
        name: &str,
        certificates: &[Vec<u8>],
        is_ca: bool,
        leaf: Option<&Leaf>,
    ) {
        let facts = set::examine_key(path, None);
        let display = path.display().to_string();
        let mut fine = Vec::new();
        if let Some(mode) = facts.mode {
            // The rule `lint-config` applies too.
            let judgement = set::judge_key_mode(mode, path, is_ca);
            let status = match judgement.verdict {
                Verdict::Ok => None,
                Verdict::Warn => Some(Status::Warn),
                Verdict::Fail => Some(Status::Fail),
            };
            match status {
                None => fine.push(judgement.message),
                Some(status) => {
                    let fix = judgement.fix(false);
                    self.push(status, name, "key_mode", judgement.message, fix);
                }
            }
        }
        if !facts.readable {
            self.push(
                Status::Fail,
                name,
                "key_readable",
                format!(
                    "cannot be read by this user: {}",
                    facts.error.clone().unwrap_or_default()
                ),
                Some(format!(
                    "make it readable by the user that runs the Collector: `chown USER {display}`"
                )),
            );
            return;
        }
        if facts.encrypted {
            if is_ca {
                fine.push("encrypted".into());
            } else {
                self.push(
                    Status::Fail,
                    name,
                    "key_encrypted",
                    "is encrypted: the Collector has no passphrase option and cannot read it"
                        .into(),
                    Some(set::decrypt_key_command(path)),
                );
                return;
            }
        } else if let Some(error) = &facts.error {
            self.push(
                Status::Fail,
                name,
                "key",
                error.clone(),
                leaf.map(|leaf| self.reissue(leaf, &[])),
            );
            return;
        } else {
            let matches = certificates
                .iter()
                .any(|der| set::examine_key(path, Some(der)).matches == Some(true));
            let cert_name = name.replace(".key", ".crt");
            if matches {
                fine.insert(0, format!("matches {cert_name}"));
            } else {
                self.push(
                    Status::Fail,
                    name,
                    "key_matches",
                    format!("does not match {cert_name} (a different public key): `tls: private key does not match public key`"),
                    Some(match leaf {
                        Some(leaf) => format!("use the key generated with {cert_name}, or re-issue both: {}", self.reissue(leaf, &[])),
                        None => format!("use the key generated with {cert_name}"),
                    }),
                );
            }
            if !is_ca {
                fine.push("unencrypted".into());
            }
        }
        if !fine.is_empty() {
            self.push(Status::Pass, name, "key", fine.join("; "), None);
        }
    }

    /// The command that renews this leaf: `renew` keeps its names, purpose, key type and
    /// lifetime and replaces certificate and key together; when `ca.crt` did not sign it,
    /// `renew` cannot, so the re-issue.
    fn renew(&self, leaf: &Leaf, trusted: Option<&[TrustedCa]>) -> String {
        let signed_by_ca = trusted
            .is_some_and(|trusted| trusted.iter().any(|ca| ca.subject() == leaf.summary.issuer));
        if signed_by_ca {
            format!(
                "otel-pki renew --name {}{}",
                shell_word(&leaf.pair.name),
                dir_flag(self.dir)
            )
        } else {
            self.reissue(leaf, &[])
        }
    }

    /// The command that re-issues this leaf with the same names, plus `extra_hosts`: for
    /// what `renew` would carry over unchanged (a wrong purpose, a missing name).
    fn reissue(&self, leaf: &Leaf, extra_hosts: &[String]) -> String {
        let summary = &leaf.summary;
        let mut command = String::from("otel-pki issue ");
        let server = match summary.role {
            Role::Server | Role::ServerClient => true,
            Role::Client => false,
            _ => {
                leaf.pair.name != "client"
                    && (summary.sans.hosts().next().is_some() || !extra_hosts.is_empty())
            }
        };
        command.push_str(if server { "server" } else { "client" });
        command.push_str(&dir_flag(self.dir));
        if leaf.pair.name != if server { "server" } else { "client" } {
            let _ = write!(command, " --name {}", leaf.pair.name);
        }
        let mut sans: Vec<String> = summary
            .sans
            .dns
            .iter()
            .chain(&summary.sans.ip)
            .chain(&summary.sans.uri)
            .cloned()
            .collect();
        for host in extra_hosts {
            if !sans.contains(host) {
                sans.push(host.clone());
            }
        }
        if server {
            if sans.is_empty() {
                command.push_str(" --san HOST");
            } else {
                let _ = write!(command, " --san {}", sans.join(","));
            }
            if summary.role == Role::ServerClient {
                command.push_str(" --client-auth");
            }
        } else {
            if let Some(cn) = &summary.common_name {
                let _ = write!(command, " --cn {}", shell_word(cn));
            }
            if !sans.is_empty() {
                let _ = write!(command, " --san {}", sans.join(","));
            }
        }
        let key_type = match (
            summary.public_key.algorithm.as_str(),
            summary.public_key.curve.as_deref(),
        ) {
            ("ecdsa", Some("P-384")) => Some("ecdsa-p384".to_owned()),
            ("ed25519", _) => Some("ed25519".to_owned()),
            ("rsa", _) if [2048, 3072, 4096].contains(&summary.public_key.bits) => {
                Some(format!("rsa-{}", summary.public_key.bits))
            }
            _ => None,
        };
        if let Some(key_type) = key_type {
            let _ = write!(command, " --key-type {key_type}");
        }
        command.push_str(" --force");
        command
    }

    fn reissue_generic(&self, name: &str) -> String {
        match name {
            "client" => format!("otel-pki issue client{} --force", dir_flag(self.dir)),
            "server" => format!(
                "otel-pki issue server{} --san HOST --force",
                dir_flag(self.dir)
            ),
            other => format!(
                "otel-pki issue server|client{} --name {other} --force",
                dir_flag(self.dir)
            ),
        }
    }
}

fn render(report: &CheckReport, output: &Output) -> String {
    let width = report
        .results
        .iter()
        .map(|result| result.subject.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for result in &report.results {
        let style = match result.status {
            Status::Pass => Style::Good,
            Status::Warn => Style::Warn,
            Status::Fail => Style::Bad,
        };
        let label = output.paint(style, result.status.label());
        let _ = writeln!(
            text,
            "{label}  {:<width$}  {}",
            result.subject, result.message
        );
        if let Some(fix) = &result.fix {
            let _ = writeln!(text, "      {:<width$}  fix: {fix}", "");
        }
    }
    let summary = report.summary;
    let verdict = if report.ok {
        output.paint(Style::Good, "ok")
    } else {
        output.paint(Style::Bad, "FAILED")
    };
    let _ = writeln!(
        text,
        "{}: {verdict}: {} FAIL, {} WARN, {} PASS{}",
        report.dir.display(),
        summary.fail,
        summary.warn,
        summary.pass,
        if report.strict {
            " (--strict: warnings fail)"
        } else {
            ""
        }
    );
    text
}
