//! `otel-pki config TARGET`: a configuration file for one side of the mutual-TLS
//! connection, with the set's file names, mount paths and endpoints, checked by the
//! `lint-config` rules before it is printed or written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{ConfigCommand, ConfigCommonArgs, ConfigServerArgs};
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
        },
    };
    render(&request, output)
}

fn stem(name: &str, flag: &str) -> Result<String> {
    super::support::file_stem(name, flag)
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
    if target == Target::SdkEnv && request.protocol == Protocol::Grpc {
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
    let content = config::render(&templates, &context)?;

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
    };
    if output.is_json() {
        output.print_json(&report)?;
    } else if let (Some(file), Some(path)) = (&report.file, &request.common.out) {
        output.status(&format!(
            "wrote {} ({}): {} configuration",
            path.display(),
            file.mode,
            target
        ));
    } else {
        output.print(&report.content)?;
    }
    Ok(ExitCode::SUCCESS)
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
