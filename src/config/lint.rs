//! The mTLS mistakes `lint-config` finds in Collector, Jaeger v2 and Tempo YAML — the same
//! code checks every file `otel-pki config` renders.
//!
//! Each rule is a [`Rule`] with a fixed severity. A finding names its rule, the YAML path
//! (`exporters.otlp/secure-backend.tls.insecure_skip_verify`), the line and column, what is
//! wrong and how to fix it. The facts behind the rules (field tables, version numbers, error
//! strings) are upstream's: open-telemetry/opentelemetry-collector `config/configtls`,
//! `otelcol/config.go`, jaegertracing/jaeger, grafana/tempo and grafana/dskit.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::context::CollectorVersion;
use super::files::{self, Expect};
use super::kubernetes;
use super::yaml::{self, Document, Entry, Node, YamlError, join};
use crate::pki::Lifetime;

/// How bad a finding is. Errors and warnings make `lint-config` exit 1; info does not.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The program refuses the file, or mutual TLS is silently not in force.
    Error,
    /// It works today but is fragile or soon broken (deprecated name, expiring file).
    Warning,
    /// Worth knowing; not a mistake (no reload, values resolved at start-up).
    Info,
}

impl Severity {
    /// `error`, `warning`, `info`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What kind of file it is; decides which rules apply.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An OpenTelemetry Collector configuration.
    Collector,
    /// A Jaeger v2 configuration (a Collector distribution: the same rules).
    Jaeger,
    /// A Jaeger v1 YAML (`collector:` keys) — end of life, rejected by Jaeger v2.
    JaegerV1,
    /// A Grafana Tempo configuration (`distributor.receivers`, `server.*_tls_config`).
    Tempo,
    /// A Kubernetes object that holds no configuration `lint-config` checks (a Secret, a
    /// Deployment, a cert-manager Certificate …): reported, not linted.
    Kubernetes,
}

impl Kind {
    /// `collector`, `jaeger`, `jaeger-v1`, `tempo`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Collector => "collector",
            Kind::Jaeger => "jaeger",
            Kind::JaegerV1 => "jaeger-v1",
            Kind::Tempo => "tempo",
            Kind::Kubernetes => "kubernetes",
        }
    }

    /// Human description.
    pub fn description(self) -> &'static str {
        match self {
            Kind::Collector => "OpenTelemetry Collector configuration",
            Kind::Jaeger => "Jaeger v2 configuration",
            Kind::JaegerV1 => "Jaeger v1 configuration",
            Kind::Tempo => "Tempo configuration",
            Kind::Kubernetes => "Kubernetes object (not linted)",
        }
    }

    /// Recognizes a file: Tempo has `distributor`/`server`, Jaeger v2 has `jaeger_*`
    /// extensions or the `jaeger_storage_exporter`, Jaeger v1 YAML has only `collector:`.
    pub fn detect(root: &Node) -> Kind {
        let has = |key: &str| root.entry(key).is_some();
        let section_has = |section: &str, prefix: &str| {
            root.get(section)
                .is_some_and(|node| node.entries().iter().any(|e| e.key.starts_with(prefix)))
        };
        if has("distributor") || (has("server") && !has("service")) {
            Kind::Tempo
        } else if section_has("extensions", "jaeger_") || section_has("exporters", "jaeger_") {
            Kind::Jaeger
        } else if has("collector") && !has("receivers") && !has("service") {
            Kind::JaegerV1
        } else {
            Kind::Collector
        }
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        [
            Kind::Collector,
            Kind::Jaeger,
            Kind::JaegerV1,
            Kind::Tempo,
            Kind::Kubernetes,
        ]
        .into_iter()
        .find(|kind| kind.name() == input)
        .ok_or_else(|| format!("unknown kind `{input}`"))
    }
}

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident = $id:literal, $severity:ident;)*) => {
        /// A lint rule. The id (kebab-case) is stable: scripts and `--format json` use it.
        #[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
        pub enum Rule {
            $($(#[doc = $doc])* #[serde(rename = $id)] $variant,)*
        }

        impl Rule {
            /// Every rule, in the order of the README's table.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id, e.g. `insecure-skip-verify`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// The severity of every finding of this rule.
            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One line saying what the rule finds (its doc comment).
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => concat!($($doc),*).trim_ascii(),)* }
            }
        }
    };
}

rules! {
    /// A key appears twice in one mapping (the Collector refuses the file).
    DuplicateKey = "duplicate-key", Error;
    /// A top-level key the Collector does not know (`'' has invalid keys`).
    UnknownTopLevelKey = "unknown-top-level-key", Error;
    /// Jaeger v1 `collector:` keys: end of life, and rejected by Jaeger v2.
    JaegerV1Keys = "jaeger-v1-keys", Error;
    /// A pipeline names a receiver, processor, exporter or extension that is not declared.
    UndeclaredComponent = "undeclared-component", Error;
    /// `otlp`/`otlphttp` exporters: deprecated aliases since Collector v0.144.0.
    DeprecatedExporterName = "deprecated-exporter-name", Warning;
    /// `otlp_grpc`/`otlp_http` exporters on a Collector older than v0.144.0.
    ExporterNameTooNew = "exporter-name-too-new", Error;
    /// A receiver listens on `localhost` (explicitly or by default): unreachable from other containers.
    LocalhostListener = "localhost-listener", Warning;
    /// An exporter whose endpoint is a receiver of the same file: it sends to itself, and with TLS to a plain-text receiver it never connects.
    ExporterLoop = "exporter-loop", Error;
    /// A key under `tls:` that configtls does not have (e.g. Tempo's `client_auth_type`), or not yet in the target's version (Tempo vendors configtls of Collector v0.153).
    UnknownTlsKey = "unknown-tls-key", Error;
    /// A `curve_preferences` name configtls does not know (`X25519MLKEM768` is known from Collector v0.133.0).
    UnknownCurve = "unknown-curve", Error;
    /// `include_system_ca_certs_pool: true` next to `client_ca_file`: every public CA can sign a client certificate that is accepted.
    SystemCaForClients = "system-ca-for-clients", Error;
    /// `client_ca_file_reload: true` next to `cipher_suites` or `curve_preferences`: the reloading configuration silently drops both.
    ReloadDropsTlsSettings = "reload-drops-tls-settings", Warning;
    /// `insecure_skip_verify: true`: the server certificate is not verified.
    InsecureSkipVerify = "insecure-skip-verify", Error;
    /// `insecure: true` next to certificates: no TLS, or TLS without the client certificate.
    InsecureWithCertificates = "insecure-with-certificates", Error;
    /// An `http://` endpoint with a `tls:` block: the block is ignored, traffic is plain text.
    HttpEndpointWithTls = "http-endpoint-with-tls", Error;
    /// A receiver with `ca_file` but no `client_ca_file`: looks like mTLS, accepts anyone.
    ReceiverCaFileNotMtls = "receiver-ca-file-not-mtls", Error;
    /// A certificate without its key.
    CertWithoutKey = "cert-without-key", Error;
    /// A key without its certificate.
    KeyWithoutCert = "key-without-cert", Error;
    /// A receiver `tls:` block without certificate and key (invalid since Collector v0.136.0).
    ReceiverTlsWithoutCert = "receiver-tls-without-cert", Error;
    /// An unquoted `min_version`/`max_version`: a number, but the Collector wants a string.
    UnquotedTlsVersion = "unquoted-tls-version", Error;
    /// A TLS version that does not exist, or `min_version` above `max_version`.
    InvalidTlsVersion = "invalid-tls-version", Error;
    /// Tempo `*_tls_config`: a client CA without a verifying `client_auth_type`, or the reverse.
    TempoClientAuth = "tempo-client-auth", Error;
    /// A referenced file does not exist or cannot be read.
    FileMissing = "file-missing", Error;
    /// A referenced certificate or key file does not parse.
    FileInvalid = "file-invalid", Error;
    /// An encrypted private key: the Collector has no passphrase option.
    KeyEncrypted = "key-encrypted", Error;
    /// A key that does not belong to the certificate next to it.
    KeyMismatch = "key-mismatch", Error;
    /// A private key readable by every user, or by its group (right only when that group is the Collector's).
    KeyPermissions = "key-permissions", Warning;
    /// A certificate that has expired or is not valid yet.
    CertificateNotValid = "certificate-not-valid", Error;
    /// A certificate that expires within `--within`.
    CertificateExpiring = "certificate-expiring", Warning;
    /// A certificate used for the wrong purpose (EKU), or a CA file holding a leaf.
    CertificatePurpose = "certificate-purpose", Error;
    /// A `${env:…}` value: resolved when the program starts, not checked here.
    UnresolvedEnv = "unresolved-env", Info;
    /// A certificate without `reload_interval`: renewed files are never re-read.
    NoReloadInterval = "no-reload-interval", Info;
    /// `client_ca_file` without `client_ca_file_reload: true`: a new CA needs a restart.
    NoClientCaReload = "no-client-ca-reload", Info;
    /// A gRPC mTLS receiver without `max_connection_age`: clients keep old connections.
    NoMaxConnectionAge = "no-max-connection-age", Info;
    /// TLS in one direction only: no client certificate asked for, or none presented.
    NotMutual = "not-mutual", Info;
    /// A Kubernetes object without a Collector configuration in it (Secret, Deployment, cert-manager Certificate …): not linted.
    KubernetesObject = "kubernetes-object", Info;
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem found. Field names are the JSON contract.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's id, e.g. `insecure-skip-verify`.
    pub rule: Rule,
    /// `error`, `warning` or `info`.
    pub severity: Severity,
    /// Dotted YAML path, e.g. `exporters.otlp/secure-backend.tls.insecure_skip_verify`.
    pub path: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// Maps a directory as the configured program sees it to a local one, so referenced files
/// can be checked: `/etc/otel/certs=./otel-certs`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Mount {
    /// The path in the configuration (inside the container).
    pub from: PathBuf,
    /// Where those files are here.
    pub to: PathBuf,
}

impl FromStr for Mount {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.split_once('=') {
            Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok(Mount {
                from: PathBuf::from(from),
                to: PathBuf::from(to),
            }),
            _ => Err(format!(
                "expected CONFIG_DIR=LOCAL_DIR, e.g. `/etc/otel/certs=./otel-certs`, not `{input}`"
            )),
        }
    }
}

/// Checking the files a configuration references.
#[derive(Clone, Debug)]
pub struct FileChecks {
    /// Path rewrites, longest match first.
    pub mounts: Vec<Mount>,
    /// Warn about certificates expiring within this.
    pub within: Lifetime,
    /// The time to check validity at.
    pub now: OffsetDateTime,
}

/// What to check.
#[derive(Clone, Debug)]
pub struct LintOptions {
    /// Force the kind instead of detecting it.
    pub kind: Option<Kind>,
    /// The Collector version the file is for (exporter names).
    pub collector_version: CollectorVersion,
    /// Check referenced files (`None`: only the YAML).
    pub files: Option<FileChecks>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            kind: None,
            collector_version: CollectorVersion::LATEST,
            files: None,
        }
    }
}

/// The result for one file.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Lint {
    /// What kind of file it was taken for.
    pub kind: Kind,
    /// Where in the file the linted configuration is, when it is not the whole file:
    /// `document 2`, `ConfigMap otel-collector-config, data.config.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The findings, in file order.
    pub findings: Vec<Finding>,
}

impl Lint {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }

    /// True when there is no error and no warning.
    pub fn is_clean(&self) -> bool {
        self.count(Severity::Error) == 0 && self.count(Severity::Warning) == 0
    }
}

/// Parses and lints a YAML text of one document.
pub fn lint(text: &str, options: &LintOptions) -> Result<Lint, YamlError> {
    let document = yaml::parse(text)?;
    Ok(lint_document(&document, options))
}

/// Parses and lints a file: every document of it, and the configuration inside the
/// Kubernetes objects that carry one (a ConfigMap's data, an `OpenTelemetryCollector`'s
/// `spec.config`); other Kubernetes objects are reported as not linted.
pub fn lint_file(text: &str, options: &LintOptions) -> Result<Vec<Lint>, YamlError> {
    let documents = yaml::parse_documents(text)?;
    if documents.is_empty() {
        return Err(YamlError::Empty);
    }
    let several = documents.len() > 1;
    let mut lints = Vec::new();
    for (index, document) in documents.iter().enumerate() {
        let label = several.then(|| format!("document {}", index + 1));
        match kubernetes::Object::of(&document.root) {
            Some(object) => {
                lints.extend(kubernetes::lint(text, document, &object, options, label)?)
            }
            None => {
                let mut lint = lint_document(document, options);
                lint.source = label;
                lints.push(lint);
            }
        }
    }
    Ok(lints)
}

/// Lints a parsed document.
pub fn lint_document(document: &Document, options: &LintOptions) -> Lint {
    let root = &document.root;
    let kind = options.kind.unwrap_or_else(|| Kind::detect(root));
    let mut checker = Checker {
        options,
        kind,
        version: match kind {
            Kind::Tempo => CollectorVersion::TEMPO,
            Kind::Jaeger => CollectorVersion::JAEGER,
            _ => options.collector_version,
        },
        findings: Vec::new(),
        listeners: Vec::new(),
        listener_index: None,
    };
    for duplicate in &document.duplicates {
        checker.add(
            Rule::DuplicateKey,
            join(&duplicate.parent_path, &duplicate.key),
            (duplicate.line, duplicate.column),
            format!(
                "`{}` is given twice (first on line {}); the Collector refuses the file (`mapping key \"{}\" already defined`)",
                duplicate.key, duplicate.first_line, duplicate.key
            ),
            "keep one of them".into(),
        );
    }
    if root.is_mapping() {
        match kind {
            Kind::Collector | Kind::Jaeger => checker.collector(root),
            Kind::JaegerV1 => checker.jaeger_v1(root),
            Kind::Tempo => checker.tempo(root),
            Kind::Kubernetes => {}
        }
    } else {
        checker.add(
            Rule::UnknownTopLevelKey,
            String::new(),
            (root.line, root.column),
            "the file is not a mapping of sections (`receivers:`, `exporters:`, `service:` …)"
                .into(),
            "write a configuration mapping".into(),
        );
    }
    checker.environment(root, "");
    let mut findings = checker.findings;
    findings.sort_by(|a, b| {
        (a.line, a.column, a.severity, a.rule.id()).cmp(&(
            b.line,
            b.column,
            b.severity,
            b.rule.id(),
        ))
    });
    findings.dedup();
    Lint {
        kind,
        source: None,
        findings,
    }
}

/// A (line, column) position.
pub(super) type At = (usize, usize);

/// configtls keys valid on both sides (v0.159.0 field table).
const TLS_COMMON: &[&str] = &[
    "ca_file",
    "ca_pem",
    "cert_file",
    "cert_pem",
    "key_file",
    "key_pem",
    "min_version",
    "max_version",
    "cipher_suites",
    "include_insecure_cipher_suites",
    "curve_preferences",
    "include_system_ca_certs_pool",
    "reload_interval",
    "tpm",
];
/// configtls keys added after [`CollectorVersion::OLDEST`], with the Collector version that
/// added each (configtls CHANGELOG; field table in docs/lint-config.md).
const TLS_SINCE: &[(&str, CollectorVersion)] = &[
    ("cipher_suites", CollectorVersion::new(0, 93, 0)),
    (
        "include_system_ca_certs_pool",
        CollectorVersion::new(0, 96, 0),
    ),
    ("curve_preferences", CollectorVersion::new(0, 119, 0)),
    ("tpm", CollectorVersion::new(0, 126, 0)),
    (
        "include_insecure_cipher_suites",
        CollectorVersion::new(0, 154, 0),
    ),
];
/// `curve_preferences` names of non-FIPS builds (`config/configtls/curves_nofips.go`,
/// v0.159.0); the configtls README lists only the first four.
const CURVES: &[&str] = &["X25519", "P256", "P384", "P521", "X25519MLKEM768"];
/// configtls keys of clients (exporters) only.
const TLS_CLIENT: &[&str] = &["insecure", "insecure_skip_verify", "server_name_override"];
/// configtls keys of servers (receivers) only.
const TLS_SERVER: &[&str] = &["client_ca_file", "client_ca_file_reload"];
/// dskit/exporter-toolkit keys of Tempo's `server.grpc_tls_config`/`http_tls_config`.
const DSKIT_TLS: &[&str] = &[
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "cert",
    "key",
    "client_ca",
];
const TLS_VERSIONS: &[&str] = &["1.0", "1.1", "1.2", "1.3"];
const COLLECTOR_SECTIONS: &[&str] = &[
    "receivers",
    "processors",
    "exporters",
    "extensions",
    "connectors",
    "service",
];

pub(super) struct Checker<'a> {
    pub(super) options: &'a LintOptions,
    /// The kind of file.
    kind: Kind,
    /// The Collector version whose configtls the target has (Tempo and Jaeger vendor theirs).
    version: CollectorVersion,
    findings: Vec<Finding>,
    /// The receivers' listen addresses, for [`Rule::ExporterLoop`].
    listeners: Vec<Listener>,
    /// The listeners by port, built on the first lookup (100k exporters against 100k
    /// receivers must not take 10^10 comparisons).
    listener_index: Option<ListenerIndex>,
}

/// For each port: the first listener a loopback dial reaches, and the first listener of
/// each other host.
#[derive(Default)]
struct ListenerIndex {
    local: HashMap<u16, usize>,
    by_host: HashMap<(String, u16), usize>,
}

/// Where a receiver of the file listens.
struct Listener {
    /// YAML path of the receiver (protocol).
    path: String,
    /// `0.0.0.0:4317`, or `localhost:4317 (the default)`.
    shown: String,
    /// The host as written (`0.0.0.0`, `localhost`, `${env:MY_POD_IP}`; empty: all).
    host: String,
    port: u16,
    /// It has a `tls:` block.
    tls: bool,
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn is_env(node: &Node) -> bool {
    node.text().is_some_and(|text| text.contains("${"))
}

impl Checker<'_> {
    pub(super) fn add(&mut self, rule: Rule, path: String, at: At, message: String, fix: String) {
        self.findings.push(Finding {
            rule,
            severity: rule.severity(),
            path,
            line: at.0,
            column: at.1,
            message,
            fix,
        });
    }

    fn collector(&mut self, root: &Node) {
        for entry in root.entries() {
            if entry.key == "collector" {
                self.jaeger_v1_entry(entry);
            } else if !COLLECTOR_SECTIONS.contains(&entry.key.as_str()) {
                self.add(
                    Rule::UnknownTopLevelKey,
                    entry.key.clone(),
                    (entry.line, entry.column),
                    format!(
                        "{} is not a Collector section; the Collector refuses the file (`'' has invalid keys: {}`)",
                        code(&entry.key),
                        entry.key
                    ),
                    format!("move it under one of {}", COLLECTOR_SECTIONS.join(", ")),
                );
            }
        }
        if let Some(receivers) = root.get("receivers") {
            self.receivers(receivers, "receivers");
        }
        if let Some(exporters) = root.get("exporters") {
            self.exporters(exporters);
        }
        self.pipelines(root);
    }

    fn jaeger_v1(&mut self, root: &Node) {
        for entry in root.entries() {
            if entry.key == "collector" {
                self.jaeger_v1_entry(entry);
            }
        }
    }

    fn jaeger_v1_entry(&mut self, entry: &Entry) {
        self.add(
            Rule::JaegerV1Keys,
            entry.key.clone(),
            (entry.line, entry.column),
            "`collector:` (`collector.otlp.grpc.tls.client-ca` …) is Jaeger v1 configuration: v1 reached end of life with v1.76.0 (2025-12), and Jaeger v2 refuses these keys (`'' has invalid keys: collector`)".into(),
            "write Jaeger v2 YAML: `receivers.otlp.protocols.grpc.tls` with `cert_file`, `key_file` and `client_ca_file` (`otel-pki config jaeger` renders one)".into(),
        );
    }

    fn tempo(&mut self, root: &Node) {
        if let Some(receivers) = root.get("distributor").and_then(|d| d.get("receivers")) {
            self.receivers(receivers, "distributor.receivers");
        }
        let Some(server) = root.get("server") else {
            return;
        };
        for key in ["grpc_tls_config", "http_tls_config"] {
            if let Some(entry) = server.entry(key).filter(|entry| entry.value.is_mapping()) {
                self.dskit_tls(&format!("server.{key}"), entry);
            }
        }
        if let Some(entry) = server.entry("tls_min_version") {
            let valid = [
                "VersionTLS10",
                "VersionTLS11",
                "VersionTLS12",
                "VersionTLS13",
            ];
            if entry
                .value
                .text()
                .is_some_and(|text| !valid.contains(&text))
                && !is_env(&entry.value)
            {
                self.add(
                    Rule::InvalidTlsVersion,
                    "server.tls_min_version".into(),
                    (entry.line, entry.column),
                    format!(
                        "{} is not a Tempo TLS version",
                        code(entry.value.text().unwrap_or_default())
                    ),
                    "use `VersionTLS12` or `VersionTLS13`".into(),
                );
            }
        }
    }

    fn receivers(&mut self, receivers: &Node, base: &str) {
        for receiver in receivers.entries() {
            let path = join(base, &receiver.key);
            let body = &receiver.value;
            match body.get("protocols") {
                Some(protocols) if protocols.is_mapping() => {
                    for protocol in protocols.entries() {
                        let protocol_path = join(&join(&path, "protocols"), &protocol.key);
                        self.remember_listener(&protocol_path, protocol);
                        self.listener(&protocol_path, protocol);
                    }
                }
                // A receiver that listens itself (zipkin…); a `tls:` beside `brokers:` (kafka)
                // is a client's.
                _ => {
                    self.remember_listener(&path, receiver);
                    if body.get("tls").is_some() && body.get("endpoint").is_some() {
                        self.listener(&path, receiver);
                    }
                }
            }
        }
    }

    /// Notes where a receiver (protocol) listens: its `endpoint`, or the OTLP default
    /// `localhost:4317`/`localhost:4318`.
    fn remember_listener(&mut self, path: &str, entry: &Entry) {
        let body = &entry.value;
        let default_port = match entry.key.as_str() {
            "grpc" => Some(4317),
            "http" => Some(4318),
            _ => None,
        };
        let (host, port, shown) = match body.get("endpoint").and_then(Node::text) {
            Some(text) => match address(text) {
                Some((host, Some(port))) => (host.to_owned(), port, code(text)),
                _ => return,
            },
            None => match default_port {
                Some(port) if body.get("endpoint").is_none_or(Node::is_null) => (
                    "localhost".to_owned(),
                    port,
                    format!("`localhost:{port}` (the default)"),
                ),
                _ => return,
            },
        };
        self.listeners.push(Listener {
            path: path.to_owned(),
            shown,
            host,
            port,
            tls: body.get("tls").is_some_and(Node::is_mapping),
        });
    }

    /// An exporter whose endpoint is one of the file's own receivers.
    fn exporter_loop(&mut self, exporter_path: &str, body: &Node) {
        let Some(entry) = body.entry("endpoint") else {
            return;
        };
        let Some(endpoint) = entry.value.text() else {
            return;
        };
        let Some((host, Some(port))) = address(endpoint) else {
            return;
        };
        let index = self.listener_index.get_or_insert_with(|| {
            let mut index = ListenerIndex::default();
            for (position, listener) in self.listeners.iter().enumerate() {
                if reaches(&listener.host, "localhost") {
                    index.local.entry(listener.port).or_insert(position);
                }
                index
                    .by_host
                    .entry((listener.host.to_ascii_lowercase(), listener.port))
                    .or_insert(position);
            }
            index
        });
        let found = if reaches("localhost", host) {
            index.local.get(&port)
        } else if host.is_empty() {
            None
        } else {
            index.by_host.get(&(host.to_ascii_lowercase(), port))
        };
        let Some(listener) = found.map(|position| &self.listeners[*position]) else {
            return;
        };
        let plain = endpoint.to_ascii_lowercase().starts_with("http://")
            || body
                .get("tls")
                .and_then(|tls| tls.get("insecure"))
                .is_some_and(Node::is_true);
        let consequence = match (plain, listener.tls) {
            (false, false) => {
                "the exporter speaks TLS to a plain-text receiver, so no export ever succeeds (`tls: first record does not look like a TLS handshake`)"
            }
            (true, true) => {
                "the exporter speaks plain text to a TLS receiver, so no export ever succeeds (`error reading server preface: EOF`)"
            }
            _ => "what the Collector exports comes back in: a loop that never reaches a backend",
        };
        let message = format!(
            "{} is this Collector's own receiver {} (listening on {}): {consequence}",
            code(endpoint),
            code(&listener.path),
            listener.shown
        );
        self.add(
            Rule::ExporterLoop,
            join(exporter_path, "endpoint"),
            (entry.line, entry.column),
            message,
            "point `endpoint` at the gateway or backend, e.g. `otel-gateway.observability.svc:4317` (`otel-pki config collector --endpoint HOST:PORT` renders it)".into(),
        );
    }

    /// A receiver protocol (`receivers.otlp.protocols.grpc`) or a receiver with its own
    /// endpoint and `tls:`.
    fn listener(&mut self, path: &str, entry: &Entry) {
        let body = &entry.value;
        let default_port = match entry.key.as_str() {
            "grpc" => Some(4317),
            "http" => Some(4318),
            _ => None,
        };
        match body.entry("endpoint") {
            Some(endpoint) if !endpoint.value.is_null() => {
                if let Some(text) = endpoint.value.text().filter(|_| !is_env(&endpoint.value)) {
                    let host = host_of(text);
                    if matches!(host, "localhost" | "127.0.0.1" | "::1") {
                        self.add(
                            Rule::LocalhostListener,
                            join(path, "endpoint"),
                            (endpoint.line, endpoint.column),
                            format!(
                                "listens on {}: only programs in the same container or host can connect",
                                code(text)
                            ),
                            format!(
                                "listen on all interfaces: `endpoint: 0.0.0.0:{}` (or `${{env:MY_POD_IP}}:{}`)",
                                port_of(text).unwrap_or("4317"),
                                port_of(text).unwrap_or("4317")
                            ),
                        );
                    }
                }
            }
            _ => {
                if let Some(port) = default_port {
                    self.add(
                        Rule::LocalhostListener,
                        path.to_owned(),
                        (entry.line, entry.column),
                        format!(
                            "no `endpoint:`, so it listens on `localhost:{port}` (the default since Collector v0.104.0 and Tempo 2.7): unreachable from other containers"
                        ),
                        format!("add `endpoint: 0.0.0.0:{port}`"),
                    );
                }
            }
        }
        match body.entry("tls") {
            Some(tls) if tls.value.is_mapping() => self.server_tls(path, tls, default_port == Some(4317) && body.get("keepalive").and_then(|k| k.get("server_parameters")).and_then(|s| s.get("max_connection_age")).is_none()),
            Some(tls) => self.add(
                Rule::ReceiverTlsWithoutCert,
                join(path, "tls"),
                (tls.line, tls.column),
                "an empty `tls:` block on a receiver: the Collector requires a certificate and key (`TLS configuration must include both certificate and key for server connections`, v0.136.0+)".into(),
                "give `cert_file`, `key_file` and `client_ca_file`, or remove `tls:`".into(),
            ),
            None => {}
        }
    }

    /// The program whose configtls applies, for messages: `Tempo v3.0.3 (configtls of
    /// Collector v0.153.0)`.
    fn target(&self) -> String {
        match self.kind {
            Kind::Tempo => format!("Tempo v3.0.3 (configtls of Collector v{})", self.version),
            Kind::Jaeger => format!("Jaeger v2.20.0 (configtls of Collector v{})", self.version),
            _ => format!("Collector v{}", self.version),
        }
    }

    fn unknown_keys(&mut self, path: &str, tls: &Node, allowed: &[&[&str]], side: Side) {
        for entry in tls.entries() {
            if allowed
                .iter()
                .any(|keys| keys.contains(&entry.key.as_str()))
            {
                let since = TLS_SINCE
                    .iter()
                    .find(|(key, _)| *key == entry.key)
                    .map(|(_, since)| *since);
                if let Some(since) = since.filter(|since| *since > self.version) {
                    let key = entry.key.as_str();
                    let fix = match self.kind {
                        Kind::Collector => "remove it, or upgrade the Collector (pass --collector-version when the file is for a newer one)".to_owned(),
                        _ => "remove it".to_owned(),
                    };
                    self.add(
                        Rule::UnknownTlsKey,
                        join(path, key),
                        (entry.line, entry.column),
                        format!(
                            "{} exists in configtls from Collector v{since}; {} does not have it and refuses the file (`'{path}' has invalid keys: {key}`)",
                            code(key),
                            self.target()
                        ),
                        fix,
                    );
                }
                continue;
            }
            let key = entry.key.as_str();
            let fix = match (key, side) {
                ("client_auth_type", Side::Server) => {
                    "remove it: `client_auth_type` is a Tempo/dskit key; in configtls `client_ca_file` alone requires and verifies client certificates".to_owned()
                }
                ("client_ca_file" | "client_ca_file_reload", Side::Client) => {
                    "an exporter verifies the server with `ca_file`; `client_ca_file` belongs on receivers".to_owned()
                }
                ("insecure" | "insecure_skip_verify" | "server_name_override", Side::Server) => {
                    format!("remove it: {} is an exporter (client) setting", code(key))
                }
                ("min_version" | "max_version", Side::Dskit) => {
                    "Tempo sets the version for all its servers: `server.tls_min_version: VersionTLS12`".to_owned()
                }
                ("tls_settings", _) => "rename it `tls` (renamed in v0.36.0)".to_owned(),
                _ => match side {
                    Side::Dskit => format!("valid keys: {}", DSKIT_TLS.join(", ")),
                    _ => "check the spelling against the configtls fields: ca_file, cert_file, key_file, client_ca_file, min_version, reload_interval …".to_owned(),
                },
            };
            let rejected = match side {
                Side::Dskit => "Tempo refuses the file".to_owned(),
                _ => format!("the Collector refuses the file (`'{path}' has invalid keys: {key}`)"),
            };
            self.add(
                Rule::UnknownTlsKey,
                join(path, key),
                (entry.line, entry.column),
                format!(
                    "{} is not a {} TLS setting; {rejected}",
                    code(key),
                    side.name()
                ),
                fix,
            );
        }
    }

    fn versions(&mut self, path: &str, tls: &Node) {
        let mut parsed = Vec::new();
        for key in ["min_version", "max_version"] {
            let Some(entry) = tls.entry(key) else {
                continue;
            };
            let Some(scalar) = entry.value.scalar().filter(|s| !s.is_null()) else {
                continue;
            };
            if is_env(&entry.value) {
                continue;
            }
            if scalar.is_number() {
                let quoted = if scalar.text.contains('.') {
                    scalar.text.clone()
                } else {
                    format!("{}.0", scalar.text)
                };
                self.add(
                    Rule::UnquotedTlsVersion,
                    join(path, key),
                    (entry.line, entry.column),
                    format!(
                        "`{key}: {}` is a number in YAML; the Collector wants a string and refuses the file (`'{key}' expected type 'string'`)",
                        scalar.text
                    ),
                    format!("quote it: `{key}: \"{quoted}\"`"),
                );
            } else if !TLS_VERSIONS.contains(&scalar.text.as_str()) {
                self.add(
                    Rule::InvalidTlsVersion,
                    join(path, key),
                    (entry.line, entry.column),
                    format!(
                        "{} is not a TLS version (`invalid TLS {key}: unsupported TLS version`)",
                        code(&scalar.text)
                    ),
                    format!("use `{key}: \"1.2\"` or `\"1.3\"`"),
                );
            } else {
                parsed.push((key, scalar.text.clone(), (entry.line, entry.column)));
            }
        }
        if let [(_, min, at), (_, max, _)] = parsed.as_slice()
            && min > max
        {
            self.add(
                Rule::InvalidTlsVersion,
                join(path, "min_version"),
                *at,
                format!("`min_version` {min} is above `max_version` {max}"),
                "lower `min_version` or raise `max_version`".into(),
            );
        }
    }

    /// Cert/key pairing; returns the cert and key entries.
    fn key_pair<'n>(
        &mut self,
        path: &str,
        tls: &'n Node,
        cert_keys: [&str; 2],
        key_keys: [&str; 2],
    ) -> (Option<&'n Entry>, Option<&'n Entry>) {
        let find = |keys: [&str; 2]| {
            keys.iter()
                .find_map(|key| tls.entry(key).filter(|e| !e.value.is_null()))
        };
        let cert = find(cert_keys);
        let key = find(key_keys);
        let refused = if cert_keys[1] == "cert" {
            "Tempo refuses the file"
        } else {
            "the Collector refuses the file (`TLS configuration must include both certificate and key`)"
        };
        match (cert, key) {
            (Some(cert), None) => self.add(
                Rule::CertWithoutKey,
                join(path, &cert.key),
                (cert.line, cert.column),
                format!("{} without `{}`: {refused}", code(&cert.key), key_keys[0]),
                format!("add `{}` with the certificate's private key", key_keys[0]),
            ),
            (None, Some(key)) => self.add(
                Rule::KeyWithoutCert,
                join(path, &key.key),
                (key.line, key.column),
                format!("{} without `{}`: {refused}", code(&key.key), cert_keys[0]),
                format!("add `{}` with the key's certificate", cert_keys[0]),
            ),
            _ => {}
        }
        (cert, key)
    }

    fn server_tls(&mut self, parent: &str, tls_entry: &Entry, grpc_without_max_age: bool) {
        let path = join(parent, "tls");
        let tls = &tls_entry.value;
        let at = (tls_entry.line, tls_entry.column);
        self.unknown_keys(&path, tls, &[TLS_COMMON, TLS_SERVER], Side::Server);
        self.versions(&path, tls);
        self.curves(&path, tls);
        self.silently_accepted(&path, tls);
        let (cert, key) = self.key_pair(
            &path,
            tls,
            ["cert_file", "cert_pem"],
            ["key_file", "key_pem"],
        );
        if cert.is_none() && key.is_none() && tls.get("tpm").is_none() {
            self.add(
                Rule::ReceiverTlsWithoutCert,
                path.clone(),
                at,
                "a receiver `tls:` block without `cert_file` and `key_file`: the Collector refuses it since v0.136.0 (`TLS configuration must include both certificate and key for server connections`)".into(),
                "add the server's `cert_file` and `key_file`".into(),
            );
        }
        let client_ca = tls.entry("client_ca_file").filter(|e| !e.value.is_null());
        let ca = tls.entry("ca_file").filter(|e| !e.value.is_null());
        match (client_ca, ca) {
            (None, Some(ca)) => self.add(
                Rule::ReceiverCaFileNotMtls,
                join(&path, "ca_file"),
                (ca.line, ca.column),
                "`ca_file` on a receiver does not ask for client certificates: any client can connect (only `client_ca_file` turns on RequireAndVerifyClientCert)".into(),
                "rename it `client_ca_file`".into(),
            ),
            (None, None) => self.add(
                Rule::NotMutual,
                path.clone(),
                at,
                "TLS without client certificates: the receiver accepts any client".into(),
                "add `client_ca_file` (the CA that signs client certificates) for mutual TLS".into(),
            ),
            (Some(client_ca), _) => {
                if !tls.get("client_ca_file_reload").is_some_and(Node::is_true) {
                    self.add(
                        Rule::NoClientCaReload,
                        join(&path, "client_ca_file"),
                        (client_ca.line, client_ca.column),
                        "`client_ca_file` is read once: a changed CA bundle needs a restart".into(),
                        "add `client_ca_file_reload: true`".into(),
                    );
                }
                if grpc_without_max_age {
                    self.add(
                        Rule::NoMaxConnectionAge,
                        parent.to_owned(),
                        at,
                        "gRPC clients keep their connection, and the certificates it was made with, indefinitely".into(),
                        "add `keepalive: {server_parameters: {max_connection_age: 1h, max_connection_age_grace: 30s}}` next to `tls:`".into(),
                    );
                }
            }
        }
        if let Some(cert) = cert {
            self.reload_interval(&path, tls, cert);
        }
        self.tls_files(&path, tls, Expect::ServerCert);
    }

    /// `curve_preferences` names: configtls refuses an unknown one at start-up
    /// (`invalid curve type: … Expected values are …`).
    fn curves(&mut self, path: &str, tls: &Node) {
        let Some(list) = tls.entry("curve_preferences") else {
            return;
        };
        for (index, item) in list.value.items().iter().enumerate() {
            let Some(name) = item.text().filter(|_| !is_env(item)) else {
                continue;
            };
            let at = (item.line, item.column);
            let item_path = format!("{}[{index}]", join(path, "curve_preferences"));
            if name == "X25519MLKEM768" && self.version < CollectorVersion::MLKEM_CURVE {
                self.add(
                    Rule::UnknownCurve,
                    item_path,
                    at,
                    format!(
                        "`X25519MLKEM768` is accepted from Collector v{}; {} fails to start (`invalid curve type`)",
                        CollectorVersion::MLKEM_CURVE,
                        self.target()
                    ),
                    "use `X25519`, `P256`, `P384` or `P521`, or upgrade the Collector".into(),
                );
            } else if !CURVES.contains(&name) {
                self.add(
                    Rule::UnknownCurve,
                    item_path,
                    at,
                    format!(
                        "{} is not a configtls curve: the Collector fails to start (`invalid curve type`)",
                        code(name)
                    ),
                    "use `X25519MLKEM768`, `X25519`, `P256`, `P384` or `P521` (Go's names without the dash; FIPS builds accept only `P256`, `P384`, `P521`)".into(),
                );
            }
        }
    }

    /// Server settings configtls accepts without a word but that do not do what they say
    /// (read in `config/configtls/configtls.go` and `clientcasfilereloader.go`).
    fn silently_accepted(&mut self, path: &str, tls: &Node) {
        if tls.get("client_ca_file").is_none_or(Node::is_null) {
            return;
        }
        if let Some(entry) = tls
            .entry("include_system_ca_certs_pool")
            .filter(|entry| entry.value.is_true())
        {
            self.add(
                Rule::SystemCaForClients,
                join(path, "include_system_ca_certs_pool"),
                (entry.line, entry.column),
                "`include_system_ca_certs_pool: true` adds the system's public roots to the `client_ca_file` pool too: a client certificate from any public CA is accepted".into(),
                "remove it: a receiver trusts only your CA in `client_ca_file` (the system roots are for exporters that dial public servers)".into(),
            );
        }
        if !tls.get("client_ca_file_reload").is_some_and(Node::is_true) {
            return;
        }
        for (key, default) in [
            ("cipher_suites", "Go's default cipher suites"),
            ("curve_preferences", "the default curves"),
        ] {
            let Some(entry) = tls.entry(key).filter(|entry| !entry.value.is_null()) else {
                continue;
            };
            self.add(
                Rule::ReloadDropsTlsSettings,
                join(path, key),
                (entry.line, entry.column),
                format!(
                    "{} is silently dropped: with `client_ca_file_reload: true` each handshake uses a configuration rebuilt from the CAs, certificate, versions and ALPN only, so {default} apply",
                    code(key)
                ),
                format!(
                    "choose one: remove {} (and rely on Go's defaults, which are sound), or remove `client_ca_file_reload` (a new client CA then needs a restart)",
                    code(key)
                ),
            );
        }
    }

    fn reload_interval(&mut self, path: &str, tls: &Node, cert: &Entry) {
        if tls.get("reload_interval").is_none_or(Node::is_null) {
            self.add(
                Rule::NoReloadInterval,
                join(path, &cert.key),
                (cert.line, cert.column),
                "no `reload_interval`: renewed certificate files are used only after a restart (reloading is opt-in)".into(),
                "add `reload_interval: 1h`".into(),
            );
        }
    }

    fn exporters(&mut self, exporters: &Node) {
        let version = self.options.collector_version;
        for exporter in exporters.entries() {
            let path = join("exporters", &exporter.key);
            let (kind, name) = match exporter.key.split_once('/') {
                Some((kind, name)) => (kind, Some(name)),
                None => (exporter.key.as_str(), None),
            };
            let renamed = |new: &str| match name {
                Some(name) => format!("{new}/{name}"),
                None => new.to_owned(),
            };
            let at = (exporter.line, exporter.column);
            match kind {
                "otlp" | "otlphttp" if version >= CollectorVersion::NEW_EXPORTER_NAMES => {
                    let new = renamed(if kind == "otlp" {
                        "otlp_grpc"
                    } else {
                        "otlp_http"
                    });
                    self.add(
                        Rule::DeprecatedExporterName,
                        path.clone(),
                        at,
                        format!(
                            "the {} exporter is a deprecated alias since Collector v0.144.0 (a warning at every start)",
                            code(kind)
                        ),
                        format!(
                            "rename it {} here and in `service.pipelines` (for a Collector older than v0.144.0, pass --collector-version)",
                            code(&new)
                        ),
                    );
                }
                "otlp_grpc" | "otlp_http" if version < CollectorVersion::NEW_EXPORTER_NAMES => {
                    let old = renamed(if kind == "otlp_grpc" {
                        "otlp"
                    } else {
                        "otlphttp"
                    });
                    self.add(
                        Rule::ExporterNameTooNew,
                        path.clone(),
                        at,
                        format!(
                            "the {} exporter exists from Collector v0.144.0; v{version} does not know it",
                            code(kind)
                        ),
                        format!("rename it {} here and in `service.pipelines`, or upgrade", code(&old)),
                    );
                }
                _ => {}
            }
            let body = &exporter.value;
            if kind != "prometheus" {
                self.exporter_loop(&path, body);
            }
            let endpoint = body
                .get("endpoint")
                .and_then(Node::text)
                .unwrap_or_default();
            let Some(tls_entry) = body.entry("tls").filter(|e| e.value.is_mapping()) else {
                continue;
            };
            if kind == "prometheus" {
                // The one exporter that is a server: Prometheus scrapes it.
                self.server_tls(&path, tls_entry, false);
            } else {
                self.client_tls(&path, tls_entry, endpoint);
            }
        }
    }

    fn client_tls(&mut self, parent: &str, tls_entry: &Entry, endpoint: &str) {
        let path = join(parent, "tls");
        let tls = &tls_entry.value;
        let at = (tls_entry.line, tls_entry.column);
        self.unknown_keys(&path, tls, &[TLS_COMMON, TLS_CLIENT], Side::Client);
        self.versions(&path, tls);
        self.curves(&path, tls);
        if let Some(skip) = tls
            .entry("insecure_skip_verify")
            .filter(|e| e.value.is_true())
        {
            self.add(
                Rule::InsecureSkipVerify,
                join(&path, "insecure_skip_verify"),
                (skip.line, skip.column),
                "`insecure_skip_verify: true` accepts any server certificate: anyone in the path can read and change the telemetry".into(),
                "remove it and give the server's CA in `ca_file` (use `server_name_override` if you dial a name the certificate lacks)".into(),
            );
        }
        let certificates: Vec<&Entry> = [
            "ca_file",
            "ca_pem",
            "cert_file",
            "cert_pem",
            "key_file",
            "key_pem",
        ]
        .iter()
        .filter_map(|key| tls.entry(key).filter(|e| !e.value.is_null()))
        .collect();
        let insecure = tls.entry("insecure").filter(|e| e.value.is_true());
        if let (Some(insecure), false) = (insecure, certificates.is_empty()) {
            let names: Vec<String> = certificates.iter().map(|e| code(&e.key)).collect();
            self.add(
                Rule::InsecureWithCertificates,
                join(&path, "insecure"),
                (insecure.line, insecure.column),
                format!(
                    "`insecure: true` next to {}: the connection is plain text, or (with `https://`) TLS without the client certificate — the server answers `certificate required`",
                    names.join(", ")
                ),
                "remove `insecure: true`".into(),
            );
        }
        if endpoint.to_ascii_lowercase().starts_with("http://")
            && tls.entries().iter().any(|e| e.key != "insecure")
        {
            self.add(
                Rule::HttpEndpointWithTls,
                path.clone(),
                at,
                format!(
                    "the endpoint {} is `http://`: this `tls:` block is ignored and telemetry goes in plain text",
                    code(endpoint)
                ),
                "use `https://` in `endpoint`".into(),
            );
        }
        let (cert, key) = self.key_pair(
            &path,
            tls,
            ["cert_file", "cert_pem"],
            ["key_file", "key_pem"],
        );
        match cert {
            Some(cert) => self.reload_interval(&path, tls, cert),
            None if insecure.is_none() && key.is_none() => self.add(
                Rule::NotMutual,
                path.clone(),
                at,
                "no client certificate: a server that requires mutual TLS refuses this exporter (`tls: certificate required`)".into(),
                "add `cert_file` and `key_file` with a client certificate".into(),
            ),
            None => {}
        }
        self.tls_files(&path, tls, Expect::ClientCert);
    }

    fn dskit_tls(&mut self, path: &str, tls_entry: &Entry) {
        let tls = &tls_entry.value;
        let at = (tls_entry.line, tls_entry.column);
        self.unknown_keys(path, tls, &[DSKIT_TLS], Side::Dskit);
        self.key_pair(path, tls, ["cert_file", "cert"], ["key_file", "key"]);
        let auth = tls.entry("client_auth_type");
        let auth_value = auth.and_then(|e| e.value.text()).unwrap_or("");
        let has_ca = ["client_ca_file", "client_ca"]
            .iter()
            .any(|key| tls.get(key).is_some_and(|n| !n.is_null()));
        let auth_at = auth.map_or(at, |e| (e.line, e.column));
        let auth_path = join(path, "client_auth_type");
        match auth_value {
            "" | "NoClientCert" if has_ca => self.add(
                Rule::TempoClientAuth,
                auth_path,
                auth_at,
                "`client_ca_file` without a `client_auth_type` that verifies: Tempo refuses to start (`client CA's have been configured without a Client Auth Policy`)".into(),
                "add `client_auth_type: RequireAndVerifyClientCert` (or `VerifyClientCertIfGiven` for HTTP probes)".into(),
            ),
            "" | "NoClientCert" => self.add(
                Rule::NotMutual,
                path.to_owned(),
                at,
                "TLS without client certificates".into(),
                "add `client_auth_type: RequireAndVerifyClientCert` and `client_ca_file`".into(),
            ),
            "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" if !has_ca => self.add(
                Rule::TempoClientAuth,
                auth_path,
                auth_at,
                format!("{} without `client_ca_file`: client certificates are checked against the system CAs, not yours", code(auth_value)),
                "add `client_ca_file` with the CA that signs client certificates".into(),
            ),
            "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {}
            "RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert" => self.add(
                Rule::TempoClientAuth,
                auth_path,
                auth_at,
                format!("{} accepts a client certificate without verifying it", code(auth_value)),
                "use `RequireAndVerifyClientCert`".into(),
            ),
            other => self.add(
                Rule::TempoClientAuth,
                auth_path,
                auth_at,
                format!("{} is not a client auth type (`invalid ClientAuth`)", code(other)),
                "use `RequireAndVerifyClientCert` or `VerifyClientCertIfGiven`".into(),
            ),
        }
        if tls.get("cert_file").is_some() {
            self.tls_files(path, tls, Expect::ServerCert);
        }
    }

    /// Checks the files of a TLS block, when file checks are on.
    fn tls_files(&mut self, path: &str, tls: &Node, expect: Expect) {
        let Some(checks) = self.options.files.clone() else {
            return;
        };
        let cert_der = tls
            .entry("cert_file")
            .and_then(|entry| files::certificate(self, &checks, path, entry, expect));
        if let Some(entry) = tls.entry("key_file") {
            files::key(self, &checks, path, entry, cert_der.as_deref());
        }
        for key in ["ca_file", "client_ca_file"] {
            if let Some(entry) = tls.entry(key) {
                files::certificate(self, &checks, path, entry, Expect::Ca);
            }
        }
    }

    fn pipelines(&mut self, root: &Node) {
        let declared = |section: &str| -> HashSet<&str> {
            root.get(section)
                .map(|node| node.entries().iter().map(|e| e.key.as_str()).collect())
                .unwrap_or_default()
        };
        let connectors = declared("connectors");
        let Some(service) = root.get("service") else {
            return;
        };
        if let Some(extensions) = service.entry("extensions") {
            let known = declared("extensions");
            self.references(
                "service.extensions",
                extensions,
                "extension",
                "extensions",
                &known,
                None,
            );
        }
        let Some(pipelines) = service.get("pipelines") else {
            return;
        };
        for pipeline in pipelines.entries() {
            let base = join("service.pipelines", &pipeline.key);
            for (field, section, singular) in [
                ("receivers", "receivers", "receiver"),
                ("processors", "processors", "processor"),
                ("exporters", "exporters", "exporter"),
            ] {
                let Some(list) = pipeline.value.entry(field) else {
                    continue;
                };
                let mut known = declared(section);
                if field != "processors" {
                    known.extend(connectors.iter().copied());
                }
                self.references(
                    &join(&base, field),
                    list,
                    singular,
                    section,
                    &known,
                    Some(&pipeline.key),
                );
            }
        }
    }

    fn references(
        &mut self,
        path: &str,
        list: &Entry,
        singular: &str,
        section: &str,
        known: &HashSet<&str>,
        pipeline: Option<&str>,
    ) {
        for (index, item) in list.value.items().iter().enumerate() {
            let Some(id) = item.text() else {
                continue;
            };
            if known.contains(id) {
                continue;
            }
            let collector_error = match pipeline {
                Some(pipeline) => format!(
                    "service::pipelines::{pipeline}: references {singular} \"{id}\" which is not configured"
                ),
                None => format!(
                    "service::extensions: references extension \"{id}\" which is not configured"
                ),
            };
            let fix = if section == "processors" || section == "extensions" {
                format!("declare it (`{section}: {{{id}: {{}}}}`) or remove it from the list")
            } else {
                format!(
                    "declare {} under `{section}:` or remove it from the list",
                    code(id)
                )
            };
            self.add(
                Rule::UndeclaredComponent,
                format!("{path}[{index}]"),
                (item.line, item.column),
                format!(
                    "{singular} {} is not declared under `{section}:`; the Collector refuses to start (`{collector_error}`)",
                    code(id)
                ),
                fix,
            );
        }
    }

    /// Every `${…}` value, once.
    fn environment(&mut self, node: &Node, path: &str) {
        match &node.value {
            yaml::Value::Scalar(scalar) if scalar.text.contains("${") => self.add(
                Rule::UnresolvedEnv,
                path.to_owned(),
                (node.line, node.column),
                format!(
                    "{} is resolved when the program starts; not checked here",
                    code(&scalar.text)
                ),
                "make sure the variable is set wherever the program runs".into(),
            ),
            yaml::Value::Scalar(_) => {}
            yaml::Value::Mapping(entries) => {
                for entry in entries {
                    self.environment(&entry.value, &join(path, &entry.key));
                }
            }
            yaml::Value::Sequence(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.environment(item, &format!("{path}[{index}]"));
                }
            }
        }
    }
}

/// Which side a `tls:` block is on.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Side {
    Client,
    Server,
    Dskit,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "Collector exporter (client)",
            Side::Server => "Collector receiver (server)",
            Side::Dskit => "Tempo server",
        }
    }
}

/// The host of `host:port`, `[v6]:port`, `scheme://host:port/…`.
fn host_of(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let rest = rest.split('/').next().unwrap_or(rest);
    if let Some(bracketed) = rest.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    rest.rsplit_once(':').map_or(rest, |(host, _)| host)
}

/// The host and port of an endpoint: `host:port`, `[v6]:port`, `scheme://host[:port]/…`
/// (`https` 443, `http` 80 when no port is given); `None` for a port that is not a number.
fn address(endpoint: &str) -> Option<(&str, Option<u16>)> {
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, endpoint),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            // `${env:MY_POD_IP}` has a colon inside its braces.
            Some((host, port)) if !port.contains('}') => (host, Some(port)),
            _ => (authority, None),
        },
    };
    let port = match port {
        Some(port) => Some(port.parse().ok()?),
        None => match scheme.as_deref() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        },
    };
    Some((host, port))
}

/// True when dialing host `dial` reaches a listener on host `listen` of the same machine
/// (both without brackets or port): a loopback name reaches a wildcard or loopback
/// listener, any other host only the same host as written.
pub fn reaches(listen: &str, dial: &str) -> bool {
    let loopback = |host: &str| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
    };
    let wildcard = listen.is_empty()
        || listen
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
    if loopback(dial) {
        wildcard || loopback(listen)
    } else {
        !dial.is_empty() && listen.eq_ignore_ascii_case(dial)
    }
}

fn port_of(endpoint: &str) -> Option<&str> {
    endpoint
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(Rule, String)> {
        lint(text, &LintOptions::default())
            .unwrap()
            .findings
            .into_iter()
            .map(|finding| (finding.rule, finding.path))
            .collect()
    }

    #[test]
    fn the_guide_step_2_exporter() {
        let found = rules(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 0.0.0.0:4317\nexporters:\n  otlp/secure-backend:\n    endpoint: backend:4317\n    tls:\n      ca_file: /c/ca.crt\n      cert_file: /c/client.crt\n      key_file: /c/client.key\n      insecure: false\n      insecure_skip_verify: true\n      min_version: 1.2\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [otlp/secure-backend]\n",
        );
        for expected in [
            (
                Rule::DeprecatedExporterName,
                "exporters.otlp/secure-backend",
            ),
            (
                Rule::InsecureSkipVerify,
                "exporters.otlp/secure-backend.tls.insecure_skip_verify",
            ),
            (
                Rule::UnquotedTlsVersion,
                "exporters.otlp/secure-backend.tls.min_version",
            ),
            (
                Rule::UndeclaredComponent,
                "service.pipelines.traces.processors[0]",
            ),
            (
                Rule::NoReloadInterval,
                "exporters.otlp/secure-backend.tls.cert_file",
            ),
        ] {
            assert!(
                found.contains(&(expected.0, expected.1.to_owned())),
                "{expected:?} not in {found:?}"
            );
        }
        assert!(
            !found
                .iter()
                .any(|(rule, _)| *rule == Rule::InsecureWithCertificates)
        );
    }

    #[test]
    fn client_tls_under_receivers_and_server_tls_under_exporters() {
        let found = rules(
            "receivers:\n  kafka:\n    brokers: [k:9093]\n    tls:\n      ca_file: /c/ca.crt\n      insecure_skip_verify: false\nexporters:\n  prometheus:\n    endpoint: 0.0.0.0:8889\n    tls:\n      cert_file: /c/s.crt\n      key_file: /c/s.key\n      client_ca_file: /c/ca.crt\n      client_ca_file_reload: true\n      reload_interval: 1h\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn detection() {
        let kind = |text: &str| Kind::detect(&yaml::parse(text).unwrap().root);
        assert_eq!(kind("distributor:\n  receivers: {}\n"), Kind::Tempo);
        assert_eq!(
            kind("extensions:\n  jaeger_storage: {}\nservice: {}\n"),
            Kind::Jaeger
        );
        assert_eq!(kind("collector:\n  otlp: {}\n"), Kind::JaegerV1);
        assert_eq!(kind("receivers: {}\n"), Kind::Collector);
    }

    #[test]
    fn rule_ids_are_unique_and_summaries_present() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|rule| rule.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
        assert!(Rule::ALL.iter().all(|rule| !rule.summary().is_empty()));
        assert_eq!(
            serde_json::to_string(&Rule::InsecureSkipVerify).unwrap(),
            "\"insecure-skip-verify\""
        );
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(host_of("localhost:4317"), "localhost");
        assert_eq!(host_of("[::1]:4317"), "::1");
        assert_eq!(host_of("http://127.0.0.1:4318/x"), "127.0.0.1");
        assert_eq!(port_of("localhost:4318"), Some("4318"));
        assert_eq!(address("localhost:4317"), Some(("localhost", Some(4317))));
        assert_eq!(address("https://[::1]/v1"), Some(("::1", Some(443))));
        assert_eq!(
            address("${env:MY_POD_IP}:4317"),
            Some(("${env:MY_POD_IP}", Some(4317)))
        );
        assert_eq!(
            address("${env:MY_POD_IP}"),
            Some(("${env:MY_POD_IP}", None))
        );
        assert_eq!(address("gateway"), Some(("gateway", None)));
        assert_eq!(address("gateway:x"), None);
    }

    #[test]
    fn an_exporter_to_its_own_receiver_is_a_loop() {
        let file = |listen: &str, export: &str| {
            format!(
                "receivers:\n  otlp:\n    protocols:\n      grpc:\n{listen}      http:\n        endpoint: 0.0.0.0:4318\nexporters:\n  otlp_grpc/gateway:\n    endpoint: {export}\n    tls:\n      ca_file: /c/ca.crt\n"
            )
        };
        let grpc = |endpoint: &str| format!("        endpoint: {endpoint}\n");
        let loops = |text: &str| {
            lint(text, &LintOptions::default())
                .unwrap()
                .findings
                .into_iter()
                .filter(|finding| finding.rule == Rule::ExporterLoop)
                .collect::<Vec<_>>()
        };
        let found = loops(&file(&grpc("0.0.0.0:4317"), "localhost:4317"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].path, "exporters.otlp_grpc/gateway.endpoint");
        assert!(
            found[0]
                .message
                .contains("`receivers.otlp.protocols.grpc` (listening on `0.0.0.0:4317`)"),
            "{}",
            found[0].message
        );
        assert!(
            found[0]
                .message
                .contains("first record does not look like a TLS handshake")
        );
        for (listen, export) in [
            (grpc("127.0.0.1:4317"), "127.0.0.1:4317"),
            (grpc(":4317"), "\"[::1]:4317\""),
            (String::new(), "localhost:4317"),
            (grpc("${env:MY_POD_IP}:4317"), "${env:MY_POD_IP}:4317"),
            (grpc("0.0.0.0:4317"), "https://localhost:4318"),
        ] {
            assert_eq!(loops(&file(&listen, export)).len(), 1, "{listen} {export}");
        }
        for (listen, export) in [
            (grpc("0.0.0.0:4317"), "otel-gateway:4317"),
            (grpc("0.0.0.0:4317"), "localhost:14317"),
            (grpc("${env:MY_POD_IP}:4317"), "localhost:4317"),
            (grpc("10.0.0.5:4317"), "localhost:4317"),
        ] {
            assert!(
                loops(&file(&listen, export)).is_empty(),
                "{listen} {export}"
            );
        }
    }

    #[test]
    fn kubernetes_objects_carry_configurations() {
        let options = LintOptions::default();
        // v1alpha1: `spec.config` is a string; a literal block keeps the file's lines.
        let text = "apiVersion: opentelemetry.io/v1alpha1\nkind: OpenTelemetryCollector\nmetadata:\n  name: gw\nspec:\n  config: |\n    exporters:\n      otlp/a:\n        endpoint: a:4317\n";
        let lints = lint_file(text, &options).unwrap();
        assert_eq!(lints.len(), 1);
        assert_eq!(
            lints[0].source.as_deref(),
            Some("OpenTelemetryCollector gw spec.config")
        );
        let finding = &lints[0].findings[0];
        assert_eq!(
            (finding.rule, finding.line, finding.column),
            (Rule::DeprecatedExporterName, 8, 7)
        );
        // A ConfigMap whose values are no configuration, and one with a quoted value: the
        // findings of a value that is not a literal block point at the value.
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a.txt: hello\n  c.yaml: \"exporters:\\n  otlp/a: {endpoint: 'a:4317'}\\n\"\n";
        let lints = lint_file(text, &options).unwrap();
        assert_eq!(lints.len(), 1, "{lints:#?}");
        assert_eq!(lints[0].findings[0].line, 7);
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a.txt: hello\n";
        let lints = lint_file(text, &options).unwrap();
        assert_eq!(lints[0].kind, Kind::Kubernetes);
        assert_eq!(lints[0].findings[0].rule, Rule::KubernetesObject);
        // A broken configuration inside a ConfigMap: an error at the file's line.
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  config.yaml: |\n    receivers: [a\n";
        assert!(matches!(
            lint_file(text, &options),
            Err(YamlError::Syntax { line: 6, .. })
        ));
    }

    #[test]
    fn silently_accepted_settings_and_tempo_keys() {
        let tls = "        tls:\n          cert_file: s.crt\n          key_file: s.key\n          client_ca_file: ca.crt\n          client_ca_file_reload: true\n          reload_interval: 1h\n          curve_preferences: [X25519MLKEM768]\n          include_insecure_cipher_suites: false\n";
        let collector = format!(
            "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 0.0.0.0:4318\n{tls}"
        );
        let found = rules(&collector);
        assert_eq!(
            found.iter().map(|(rule, _)| *rule).collect::<Vec<_>>(),
            [Rule::ReloadDropsTlsSettings],
            "{found:#?}"
        );
        let tempo = format!(
            "distributor:\n  receivers:\n    otlp:\n      protocols:\n        http:\n          endpoint: 0.0.0.0:4318\n{}",
            tls.lines()
                .map(|line| format!("  {line}\n"))
                .collect::<String>()
        );
        let found = rules(&tempo);
        assert!(
            found.contains(&(
                Rule::UnknownTlsKey,
                "distributor.receivers.otlp.protocols.http.tls.include_insecure_cipher_suites"
                    .into()
            )),
            "{found:#?}"
        );
        assert!(!found.iter().any(|(rule, _)| *rule == Rule::UnknownCurve));
    }
}
