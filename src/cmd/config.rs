//! `otel-pki config TARGET`: a configuration file for one side of the mutual-TLS
//! connection, with the set's file names, mount paths and endpoints, checked by the
//! `lint-config` rules before it is printed or written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{ConfigCommand, ConfigCommonArgs, ConfigServerArgs, SdkLanguageArg};
use crate::config::context::go_duration;
use crate::config::lint::{FileChecks, Mount};
use crate::config::{
    self, ConfigContext, ConfigOptions, Endpoint, FileNames, Finding, LintOptions, Protocol,
    Severity, Target,
};
use crate::output::Output;
use crate::pki::{KeyType, Lifetime};
use crate::render::Templates;
use crate::write::{self, WrittenFile};

/// Result of `config`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct ConfigReport {
    /// `collector`, `gateway`, `jaeger`, `jaeger-v1`, `tempo` or `sdk-env`.
    pub target: Target,
    /// The rendered file.
    pub content: String,
    /// The file written with --out, if any.
    pub file: Option<WrittenFile>,
    /// Warnings (also printed on stderr): missing set, endpoint not in the server
    /// certificate, Ed25519 with gRPC SDKs, end of life, findings below.
    pub warnings: Vec<String>,
    /// What `lint-config` says about the rendered file, with the files of --dir checked
    /// as the program would find them under --cert-path (errors and warnings only).
    pub findings: Vec<Finding>,
    /// The values the template was rendered with.
    pub context: ConfigContext,
    /// `sdk-env --language`: the SDK the file was written for and what it can use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<SdkNotes>,
}

/// What the arguments of one target say, in one shape.
struct Request<'a> {
    target: Target,
    common: &'a ConfigCommonArgs,
    server: Option<&'a ConfigServerArgs>,
    endpoint: Option<&'a str>,
    upstream: Option<&'a str>,
    protocol: Protocol,
    collector_version: Option<config::CollectorVersion>,
    server_cert: &'a str,
    client_cert: &'a str,
    tempo_server_tls: bool,
    shell: bool,
    language: Option<SdkLanguageArg>,
}

/// Runs `config TARGET`.
pub fn run(command: &ConfigCommand, output: &Output) -> Result<ExitCode> {
    let request = match command {
        ConfigCommand::Collector(args) => Request {
            target: Target::Collector,
            common: &args.common,
            server: Some(&args.server),
            endpoint: args.endpoint.as_deref(),
            upstream: None,
            protocol: args.protocol.into(),
            collector_version: Some(args.collector_version),
            server_cert: "server",
            client_cert: &args.client_cert,
            tempo_server_tls: false,
            shell: false,
            language: None,
        },
        ConfigCommand::Gateway(args) => Request {
            target: Target::Gateway,
            common: &args.common,
            server: Some(&args.server),
            endpoint: args.endpoint.as_deref(),
            upstream: args.upstream.as_deref(),
            protocol: args.protocol.into(),
            collector_version: Some(args.collector_version),
            server_cert: &args.server_cert,
            client_cert: &args.client_cert,
            tempo_server_tls: false,
            shell: false,
            language: None,
        },
        ConfigCommand::Jaeger(args) => Request {
            target: if args.jaeger_v1 {
                Target::JaegerV1
            } else {
                Target::Jaeger
            },
            common: &args.common,
            server: Some(&args.server),
            endpoint: args.endpoint.as_deref(),
            upstream: None,
            protocol: Protocol::Grpc,
            collector_version: None,
            server_cert: &args.server_cert,
            client_cert: "client",
            tempo_server_tls: false,
            shell: false,
            language: None,
        },
        ConfigCommand::Tempo(args) => Request {
            target: Target::Tempo,
            common: &args.common,
            server: Some(&args.server),
            endpoint: args.endpoint.as_deref(),
            upstream: None,
            protocol: Protocol::Grpc,
            collector_version: None,
            server_cert: &args.server_cert,
            client_cert: "client",
            tempo_server_tls: args.server_tls,
            shell: false,
            language: None,
        },
        ConfigCommand::SdkEnv(args) => Request {
            target: Target::SdkEnv,
            common: &args.common,
            server: None,
            endpoint: args.endpoint.as_deref(),
            upstream: None,
            protocol: args.protocol.into(),
            collector_version: None,
            server_cert: "server",
            client_cert: &args.client_cert,
            tempo_server_tls: false,
            shell: args.shell,
            language: args.language,
        },
    };
    render(&request, output)
}

fn stem(name: &str, flag: &str) -> Result<String> {
    crate::support::file_stem(name, flag)
}

fn render(request: &Request<'_>, output: &Output) -> Result<ExitCode> {
    let dir = &request.common.dir.dir;
    let target = request.target;
    let names = FileNames::from_stems(
        &stem(request.server_cert, "--server-cert")?,
        &stem(request.client_cert, "--client-cert")?,
    );
    let mut warnings = Vec::new();

    // The set: the server certificate gives the default endpoint and the names to check.
    let server_path = dir.join(&names.server_cert);
    let server = match config::read_server_certificate(&server_path) {
        Ok(server) => Some(server),
        Err(error) => {
            warnings.push(if dir.is_dir() {
                format!(
                    "cannot read the server certificate: {error}; the endpoint is not checked against its names"
                )
            } else {
                format!(
                    "no certificate set in `{}`: the files this configuration names do not exist yet; create them with `otel-pki init --dir {}` (or pass --dir)",
                    dir.display(),
                    dir.display()
                )
            });
            None
        }
    };
    let default_port = match target {
        Target::Collector | Target::SdkEnv | Target::Gateway => request.protocol.default_port(),
        _ => Protocol::Grpc.default_port(),
    };
    let endpoint = match request.endpoint {
        Some(text) => Some(
            Endpoint::parse(text, default_port).with_context(|| "invalid --endpoint".to_owned())?,
        ),
        None if target.is_client() => match server.as_ref().and_then(|s| s.sans.hosts().next()) {
            Some(host) => {
                let endpoint = Endpoint::new(host, default_port)?;
                if let (Target::Collector, Some(server_args), Some(server)) =
                    (target, request.server, &server)
                {
                    refuse_own_receiver(&endpoint, &server_args.listen, &server.path)?;
                }
                Some(endpoint)
            }
            None => return Err(config::ConfigError::MissingEndpoint { target }.into()),
        },
        None => None,
    };
    if let (Some(endpoint), Some(server)) = (&endpoint, &server) {
        warnings.extend(config::endpoint_warning(endpoint, server));
    }
    let upstream = request
        .upstream
        .map(|text| Endpoint::parse(text, request.protocol.default_port()))
        .transpose()
        .context("invalid --upstream")?;
    let sdk = match request.language {
        Some(language) => {
            let notes = SdkNotes::new(language, request.protocol);
            warnings.extend(notes.check_keys(dir, &names)?);
            Some(notes)
        }
        None => None,
    };
    if target == Target::SdkEnv && request.protocol == Protocol::Grpc && sdk.is_none() {
        warnings.extend(ed25519_warning(dir, &names));
    }
    if target == Target::JaegerV1 {
        warnings.push(
            "Jaeger v1 is end of life (last release v1.76.0, 2025-12-03): these flags are for a legacy jaeger-collector; Jaeger v2 refuses them. Prefer `otel-pki config jaeger`".into(),
        );
    }

    let mut options = ConfigOptions::new(target);
    options.cert_path = request.common.cert_path.clone();
    options.file_names = names;
    options.endpoint = endpoint;
    options.upstream = upstream;
    options.protocol = request.protocol;
    if let Some(version) = request.collector_version {
        options.collector_version = version;
    }
    if let Some(server_args) = request.server {
        options.reload_interval = go_duration(server_args.reload_interval.duration());
        options.listen_host = server_args.listen.clone();
    }
    options.tempo_server_tls = request.tempo_server_tls;
    options.shell = request.shell;
    let context = ConfigContext::new(&options)?;
    let templates = Templates::new(request.common.templates.as_deref())?;
    let content = match &sdk {
        Some(notes) => templates.render(
            target.template(),
            &SdkEnvContext {
                context: &context,
                sdk: notes,
            },
        )?,
        None => config::render(&templates, &context)?,
    };

    let findings = if target.is_yaml() {
        check_rendered(&content, &context, dir.is_dir().then_some(dir.as_path()))?
    } else {
        Vec::new()
    };
    for finding in &findings {
        warnings.push(format!(
            "the rendered file, line {}: {}: {} [{}]",
            finding.line, finding.path, finding.message, finding.rule
        ));
    }

    let file = match &request.common.out {
        Some(path) => Some(write_out(path, &content, request.common.force)?),
        None => None,
    };
    for warning in &warnings {
        output.warn(warning);
    }
    let report = ConfigReport {
        target,
        content,
        file,
        warnings,
        findings,
        context,
        sdk,
    };
    let written = report.file.as_ref().zip(request.common.out.as_ref());
    let product = written.is_none().then_some(report.content.as_str());
    Ok(output.deliver(&report, product, || {
        if let Some((file, path)) = written {
            output.status(&format!(
                "wrote {} ({}): {} configuration",
                path.display(),
                file.mode,
                target
            ));
        }
    })?)
}

/// An agent's default endpoint comes from the server certificate; on a set made for one
/// machine (`localhost`, `127.0.0.1`) it would be the agent's own receiver, the same port on
/// the same host. No default is better than that one: `lint-config` would call the file an
/// `exporter-loop`. An explicit --endpoint is taken as given (the rendered file's findings
/// say so).
fn refuse_own_receiver(endpoint: &Endpoint, listen: &str, certificate: &str) -> Result<()> {
    let listen = listen.trim();
    let listen_host = listen
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(listen);
    if !config::lint::reaches(listen_host, &endpoint.host) {
        return Ok(());
    }
    let listen = if listen_host.contains(':') {
        format!("[{listen_host}]:{}", endpoint.port)
    } else {
        format!("{listen_host}:{}", endpoint.port)
    };
    Err(config::ConfigError::LoopbackEndpoint {
        certificate: certificate.to_owned(),
        host: endpoint.host.clone(),
        address: endpoint.address.clone(),
        listen,
        port: endpoint.port,
    }
    .into())
}

/// Lints the rendered YAML; with the set present, its files are checked where the program
/// will find them (`--cert-path` mapped to `--dir`).
fn check_rendered(
    content: &str,
    context: &ConfigContext,
    dir: Option<&Path>,
) -> Result<Vec<Finding>> {
    let files = dir.map(|dir| FileChecks {
        mounts: vec![Mount {
            from: PathBuf::from(&context.cert_path),
            to: dir.to_owned(),
        }],
        within: Lifetime::days(30),
        now: OffsetDateTime::now_utc(),
    });
    let lint = config::lint::lint(
        content,
        &LintOptions {
            kind: None,
            collector_version: context.collector_version,
            files,
        },
    )
    .with_context(|| {
        format!(
            "the `{}` template did not produce valid YAML",
            context.target.template()
        )
    })?;
    Ok(lint
        .findings
        .into_iter()
        .filter(|finding| finding.severity != Severity::Info)
        .collect())
}

/// Which certificates of the set have Ed25519 keys, as a warning for gRPC SDKs.
fn ed25519_warning(dir: &Path, names: &FileNames) -> Option<String> {
    let files: Vec<String> = [&names.ca, &names.server_cert, &names.client_cert]
        .into_iter()
        .map(|name| dir.join(name))
        .filter(|path| {
            config::read_server_certificate(path)
                .is_ok_and(|certificate| certificate.public_key.algorithm == "ed25519")
        })
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if files.is_empty() {
        return None;
    }
    Some(format!(
        "{} {} an Ed25519 key: {}",
        files.join(", "),
        if files.len() == 1 { "has" } else { "have" },
        KeyType::Ed25519.warning().unwrap_or_default()
    ))
}

fn write_out(path: &Path, content: &str, force: bool) -> Result<WrittenFile> {
    // write_file refuses too (atomically); this says it in terms of --out.
    if !force && path.symlink_metadata().is_ok() {
        anyhow::bail!(
            "`{}` already exists; nothing was written. Use --force to replace it (the old file is kept in `backup/` beside it), or choose another --out",
            path.display()
        );
    }
    let outcome = write::write_file(
        path,
        content.as_bytes(),
        write::PUBLIC_MODE,
        write::Overwrite::from_force(force),
    )?;
    outcome
        .files
        .into_iter()
        .next()
        .context("no file was written")
}

/// The context of `sdk-env --language`: the usual one plus the SDK's notes.
#[derive(Serialize)]
struct SdkEnvContext<'a> {
    #[serde(flatten)]
    context: &'a ConfigContext,
    sdk: &'a SdkNotes,
}

/// What one OpenTelemetry SDK reads and can use, pinned to the version and source the
/// facts were checked against (the comments of the rendered file say the same).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SdkNotes {
    /// `java`, `python`, `go`, `node`, `dotnet`, `rust` or `cpp`.
    pub language: String,
    /// The SDK and the version its facts were read at.
    pub sdk: String,
    /// Where the facts come from (repository, file or pull request).
    pub source: String,
    /// True when the SDK reads OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE and
    /// _CLIENT_KEY (so the file sets them).
    pub reads_certificate_variables: bool,
    /// Comment lines: versions, signal-specific variables, key types, restarts.
    pub notes: Vec<String>,
    /// Comment lines for SDKs that need TLS set up in code.
    pub code: Vec<String>,
    /// Ed25519 keys are refused (`client` only, or `any` certificate of the chain).
    #[serde(skip)]
    ed25519: Ed25519,
}

#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
enum Ed25519 {
    /// Works.
    #[default]
    Fine,
    /// The SDK cannot load an Ed25519 client key.
    ClientKey(&'static str),
    /// The TLS stack fails any handshake with an Ed25519 certificate.
    Handshake(&'static str),
    /// Not verified by otel-pki: a warning.
    Unverified(&'static str),
}

/// No SDK reloads certificate files.
const RESTART: &str = "The SDK reads these files once, at start (no OpenTelemetry SDK reloads them: \
opentelemetry-specification#4247): restart the application after `otel-pki renew` or `ca rotate`.";

impl SdkNotes {
    fn new(language: SdkLanguageArg, protocol: Protocol) -> SdkNotes {
        let grpc = protocol == Protocol::Grpc;
        let lines = |lines: &[&str]| lines.iter().map(|line| (*line).to_owned()).collect();
        let (name, sdk, source, reads, notes, code, ed25519): (
            &str,
            &str,
            &str,
            bool,
            Vec<String>,
            Vec<String>,
            Ed25519,
        ) = match language {
            SdkLanguageArg::Java => (
                "java",
                "OpenTelemetry Java SDK 1.65.0 (autoconfigure, also the Java agent)",
                "open-telemetry/opentelemetry-java exporters/common/.../TlsUtil.java at v1.65.0; client certificate variables since opentelemetry-java#4194",
                true,
                lines(&[
                    "Also read per signal: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, ..._METRICS_..., ..._LOGS_... (they win over these).",
                    "The client key must be RSA or EC PKCS#8 (TlsUtil: \"Unable to generate key from supported algorithms: [RSA, EC]\"); Ed25519 is refused.",
                    "Restart after renewal: opentelemetry-java#4725.",
                ]),
                Vec::new(),
                Ed25519::ClientKey(
                    "the OpenTelemetry Java SDK loads RSA and EC PKCS#8 keys only (TlsUtil at v1.65.0: \"Unable to generate key from supported algorithms: [RSA, EC]\")",
                ),
            ),
            SdkLanguageArg::Python => (
                "python",
                "opentelemetry-exporter-otlp 1.27.0 or later (opentelemetry-python)",
                "opentelemetry-python CHANGELOG, Version 1.27.0/0.48b0 (2024-08-28): client key and certificate files, PR #4116",
                true,
                lines(&[
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY are read since 1.27.0 (PR #4116); older releases ignore them and connect without a client certificate.",
                    "Also read per signal: OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY and the like.",
                    if grpc {
                        "OTLP/gRPC runs on grpcio (gRPC's C core): Ed25519 certificates fail its handshake (grpc/grpc#24252)."
                    } else {
                        "OTLP/HTTP runs on requests/urllib3 (OpenSSL): every key type of otel-pki works."
                    },
                ]),
                Vec::new(),
                if grpc {
                    Ed25519::Handshake(
                        "the Python OTLP/gRPC exporter runs on gRPC's C core, whose handshake fails with Ed25519 certificates (grpc/grpc#24252); use --protocol http or an ecdsa-p256 set",
                    )
                } else {
                    Ed25519::Fine
                },
            ),
            SdkLanguageArg::Go => (
                "go",
                "opentelemetry-go 1.45.0 (otlptracegrpc, otlptracehttp and the metric and log exporters)",
                "open-telemetry/opentelemetry-go exporters/otlp/otlptrace/*/internal/otlpconfig/envconfig.go at v1.45.0",
                true,
                lines(&[
                    "Also read per signal: OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY (they win over these).",
                    "Go's crypto/tls takes every key type of otel-pki, Ed25519 included.",
                    "Restart after renewal: opentelemetry-go#4683.",
                ]),
                Vec::new(),
                Ed25519::Fine,
            ),
            SdkLanguageArg::Node => (
                "node",
                if grpc {
                    "OpenTelemetry JS OTLP/gRPC exporters (@grpc/grpc-js)"
                } else {
                    "OpenTelemetry JS OTLP/HTTP exporters 0.207.0 or later (@opentelemetry/otlp-exporter-base)"
                },
                "opentelemetry-js experimental/CHANGELOG.md: 0.207.0 (PR #6015, OTLP/HTTP reads the certificate variables); 0.54.0 (PR #4971, per-signal variables)",
                true,
                lines(&[
                    if grpc {
                        "The OTLP/gRPC exporters read these (per-signal variants fixed in 0.54.0, PR #4971)."
                    } else {
                        "The OTLP/HTTP exporters read these only since experimental 0.207.0 (October 2025, PR #6015); older ones ignore them and connect without a client certificate."
                    },
                    "Node's TLS (OpenSSL) takes every key type of otel-pki, Ed25519 included.",
                    "Restart after renewal: opentelemetry-js#5215.",
                ]),
                Vec::new(),
                Ed25519::Fine,
            ),
            SdkLanguageArg::Dotnet => (
                "dotnet",
                "OpenTelemetry.Exporter.OpenTelemetryProtocol 1.15.0 or later, on .NET 8 or later",
                "opentelemetry-dotnet src/OpenTelemetry.Exporter.OpenTelemetryProtocol CHANGELOG 1.15.0 (2026-01-21, PR #6343) and README at 1.18.0",
                true,
                lines(&[
                    "These variables are read on .NET 8+ with exporter 1.15.0+ only: .NET Framework and .NET 6/7 ignore them (no PEM client keys) and connect without a client certificate.",
                    "Per-signal certificate variables are not read; set these generic ones.",
                    "opentelemetry-dotnet#7692: 1.16.0 failed to load a CA file without a private key in it; check your version against the gateway.",
                ]),
                Vec::new(),
                Ed25519::Unverified(
                    "otel-pki has not verified Ed25519 certificates with .NET's SslStream; use an ecdsa-p256 or RSA set for .NET",
                ),
            ),
            SdkLanguageArg::Rust => (
                "rust",
                "opentelemetry-otlp 0.32.0 (opentelemetry-rust)",
                "open-telemetry/opentelemetry-rust opentelemetry-otlp/src at 0.32.0: no certificate variable is read (opentelemetry-rust#774 open)",
                false,
                lines(&[
                    "opentelemetry-otlp 0.32.0 reads none of OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY: set TLS up in code, as below.",
                ]),
                if grpc {
                    vec![
                        "OTLP/gRPC (features grpc-tonic and tls-ring or tls-aws-lc):".to_owned(),
                        "  use tonic::transport::{Certificate, ClientTlsConfig, Identity};".to_owned(),
                        "  let tls = ClientTlsConfig::new()".to_owned(),
                        "      .ca_certificate(Certificate::from_pem(std::fs::read(\"{ca}\")?))".to_owned(),
                        "      .identity(Identity::from_pem(std::fs::read(\"{cert}\")?, std::fs::read(\"{key}\")?));".to_owned(),
                        "  let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_tls_config(tls).build()?;".to_owned(),
                    ]
                } else {
                    vec![
                        "OTLP/HTTP (feature reqwest-client, or reqwest-blocking-client):".to_owned(),
                        "  let pem = [std::fs::read(\"{cert}\")?, std::fs::read(\"{key}\")?].concat();".to_owned(),
                        "  let client = reqwest::Client::builder()".to_owned(),
                        "      .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(\"{ca}\")?)?)".to_owned(),
                        "      .identity(reqwest::Identity::from_pem(&pem)?).build()?;".to_owned(),
                        "  let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_http_client(client).build()?;".to_owned(),
                    ]
                },
                Ed25519::Fine,
            ),
            SdkLanguageArg::Cpp => (
                "cpp",
                "opentelemetry-cpp 1.28.0 (OtlpGrpcExporter, OtlpHttpExporter)",
                "open-telemetry/opentelemetry-cpp exporters/otlp/src/otlp_environment.cc and CMakeLists.txt at 1.28.0",
                true,
                lines(&[
                    "Also read per signal: OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY and the like.",
                    "OTLP/gRPC client certificates need a build with OTELCPP_WITH_OTLP_GRPC_SSL_MTLS_PREVIEW (ON by default at 1.28.0; older builds: WITH_OTLP_GRPC_SSL_MTLS_PREVIEW).",
                    if grpc {
                        "OTLP/gRPC runs on gRPC's C core: Ed25519 certificates fail its handshake (grpc/grpc#24252)."
                    } else {
                        "OTLP/HTTP runs on libcurl."
                    },
                ]),
                Vec::new(),
                if grpc {
                    Ed25519::Handshake(
                        "the C++ OTLP/gRPC exporter runs on gRPC's C core, whose handshake fails with Ed25519 certificates (grpc/grpc#24252); use --protocol http or an ecdsa-p256 set",
                    )
                } else {
                    Ed25519::Unverified(
                        "otel-pki has not verified Ed25519 certificates with the C++ OTLP/HTTP exporter (libcurl); prefer an ecdsa-p256 set",
                    )
                },
            ),
        };
        let mut notes = notes;
        notes.push(RESTART.to_owned());
        SdkNotes {
            language: name.to_owned(),
            sdk: sdk.to_owned(),
            source: source.to_owned(),
            reads_certificate_variables: reads,
            notes,
            code,
            ed25519,
        }
    }

    /// Refuses (error) or warns about the set's Ed25519 certificates for this SDK.
    fn check_keys(&self, dir: &Path, names: &FileNames) -> Result<Vec<String>> {
        let is_ed25519 = |name: &str| {
            config::read_server_certificate(&dir.join(name))
                .is_ok_and(|certificate| certificate.public_key.algorithm == "ed25519")
        };
        let client = is_ed25519(&names.client_cert);
        let any = client || is_ed25519(&names.ca) || is_ed25519(&names.server_cert);
        let fix = format!(
            "issue an ECDSA client with `otel-pki issue client --key-type ecdsa-p256 --name {}-{} --dir {}` and pass --client-cert {}-{}",
            names.client_cert.trim_end_matches(".crt"),
            self.language,
            dir.display(),
            names.client_cert.trim_end_matches(".crt"),
            self.language
        );
        match self.ed25519 {
            Ed25519::ClientKey(why) if client => anyhow::bail!(
                "`{}` has an Ed25519 key and {why}; {fix}",
                dir.join(&names.client_cert).display()
            ),
            Ed25519::Handshake(why) if any => anyhow::bail!(
                "the set in `{}` has Ed25519 certificates and {why}",
                dir.display()
            ),
            Ed25519::Unverified(why) if any => Ok(vec![format!(
                "the set in `{}` has Ed25519 certificates: {why}",
                dir.display()
            )]),
            _ => Ok(Vec::new()),
        }
    }
}
