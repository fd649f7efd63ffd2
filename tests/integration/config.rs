//! `config TARGET`: golden files for every target, every rendered YAML checked by the
//! `lint-config` rules (in every variant), the files a configuration names doing a real
//! mutual-TLS handshake, and the warnings (names, missing set, Ed25519, end of life).
//!
//! Golden files are in tests/golden/config/. After reviewing a change in the output, update
//! them with `OTEL_PKI_UPDATE_GOLDEN=1 cargo test --test integration config::`.

use std::path::{Path, PathBuf};

use otel_pki::cmd::config::ConfigReport;
use otel_pki::config::lint::{FileChecks, Mount};
use otel_pki::config::{
    self, CollectorVersion, ConfigContext, ConfigOptions, Endpoint, LintOptions, Protocol, Target,
};
use otel_pki::pki::Lifetime;
use otel_pki::render::Templates;

use crate::support::*;

/// The server name every fixed input uses.
pub const GATEWAY: &str = "otel-gateway.observability.svc.cluster.local";

/// A work directory with a set whose server certificate names [`GATEWAY`].
pub fn set_with_gateway_name() -> tempfile::TempDir {
    let work = workdir();
    init(work.path(), &["--san", GATEWAY, "-q"]);
    work
}

/// Lint options that check the set's files where the configuration names them.
fn lint_with_files(dir: &Path, cert_path: &str, version: CollectorVersion) -> LintOptions {
    LintOptions {
        kind: None,
        collector_version: version,
        files: Some(FileChecks {
            mounts: vec![Mount {
                from: PathBuf::from(cert_path),
                to: dir.to_owned(),
            }],
            within: Lifetime::days(30),
            now: time::OffsetDateTime::now_utc(),
        }),
    }
}

const GOLDEN: &[(&str, &str)] = &[
    ("collector-grpc.yaml", "collector"),
    ("collector-http.yaml", "collector --protocol http"),
    (
        "collector-grpc-v0.143.yaml",
        "collector --collector-version 0.143.0",
    ),
    (
        "collector-http-v0.143.yaml",
        "collector --protocol http --collector-version v0.143.0",
    ),
    (
        "collector-custom.yaml",
        "collector --endpoint https://otel-gateway.observability.svc.cluster.local:14317 --cert-path /etc/otel/tls --reload-interval 1d --listen ${env:MY_POD_IP}",
    ),
    (
        "gateway.yaml",
        "gateway --endpoint otel-gateway.observability.svc.cluster.local",
    ),
    (
        "gateway-upstream.yaml",
        "gateway --upstream tempo-distributor.tracing.svc.cluster.local --reload-interval 30m",
    ),
    (
        "gateway-upstream-http-v0.143.yaml",
        "gateway --upstream tempo-distributor.tracing.svc.cluster.local --protocol http --collector-version 0.143.0",
    ),
    ("jaeger.yaml", "jaeger"),
    ("jaeger-v1.sh", "jaeger --jaeger-v1"),
    ("tempo.yaml", "tempo"),
    ("tempo-server-tls.yaml", "tempo --server-tls"),
    ("sdk-env.env", "sdk-env"),
    ("sdk-env-http.sh", "sdk-env --shell --protocol http"),
    ("sdk-env-java.env", "sdk-env --language java"),
    ("sdk-env-python.env", "sdk-env --language python"),
    ("sdk-env-go.env", "sdk-env --language go"),
    ("sdk-env-node.env", "sdk-env --language node"),
    (
        "sdk-env-node-http.env",
        "sdk-env --language node --protocol http",
    ),
    (
        "sdk-env-dotnet.env",
        "sdk-env --language dotnet --protocol http",
    ),
    ("sdk-env-rust.env", "sdk-env --language rust"),
    (
        "sdk-env-rust-http.sh",
        "sdk-env --language rust --protocol http --shell",
    ),
    ("sdk-env-cpp.env", "sdk-env --language cpp"),
];

#[test]
fn every_target_matches_its_golden_file_and_lints_clean() {
    let work = set_with_gateway_name();
    let dir = work.path().join("otel-certs");
    for (name, args) in GOLDEN {
        let output = otel_pki(work.path())
            .arg("config")
            .args(args.split(' '))
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args}: {stderr}");
        assert_golden(&format!("config/{name}"), &stdout);
        if !name.ends_with(".yaml") {
            continue;
        }
        // The same code as `lint-config`, with the set's files where the file names them.
        let cert_path = if args.contains("/etc/otel/tls") {
            "/etc/otel/tls"
        } else {
            "/etc/otel/certs"
        };
        let version = if args.contains("0.143") {
            "0.143.0".parse().unwrap()
        } else {
            CollectorVersion::LATEST
        };
        let lint = config::lint::lint(&stdout, &lint_with_files(&dir, cert_path, version))
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let unexpected: Vec<_> = lint
            .findings
            .iter()
            .filter(|finding| {
                !args.contains("${env:") || finding.rule != config::Rule::UnresolvedEnv
            })
            .collect();
        assert!(unexpected.is_empty(), "{name}: {unexpected:#?}");
        // A rendered file of the set has nothing to warn about.
        assert!(
            !stderr.contains("warning:") || name.starts_with("jaeger-v1"),
            "{args}: {stderr}"
        );
    }
}

#[test]
fn every_variant_of_every_yaml_target_lints_clean() {
    let templates = Templates::new(None).unwrap();
    let versions: [CollectorVersion; 4] = [
        CollectorVersion::OLDEST,
        "0.143.0".parse().unwrap(),
        CollectorVersion::NEW_EXPORTER_NAMES,
        CollectorVersion::LATEST,
    ];
    let mut rendered = 0;
    for target in Target::ALL.into_iter().filter(|target| target.is_yaml()) {
        for protocol in [Protocol::Grpc, Protocol::Http] {
            for version in versions {
                for flag in [false, true] {
                    let mut options = ConfigOptions::new(target);
                    options.protocol = protocol;
                    options.collector_version = version;
                    options.endpoint =
                        Some(Endpoint::parse(GATEWAY, protocol.default_port()).unwrap());
                    options.upstream =
                        flag.then(|| Endpoint::new("backend.example.com", 4317).unwrap());
                    options.tempo_server_tls = flag;
                    options.listen_host = if flag { "::".into() } else { "0.0.0.0".into() };
                    let context = ConfigContext::new(&options).unwrap();
                    let text = config::render(&templates, &context).unwrap();
                    let lint = config::lint_rendered(&text, &context).unwrap_or_else(|error| {
                        panic!("{target} {protocol:?} {version}: {error}\n{text}")
                    });
                    assert!(
                        lint.findings.is_empty(),
                        "{target} {protocol:?} {version} {flag}: {:#?}\n{text}",
                        lint.findings
                    );
                    rendered += 1;
                }
            }
        }
    }
    assert_eq!(rendered, 4 * 2 * 4 * 2);
}

/// The value of `key:` on the first line that has it, after `after`.
fn yaml_value<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in\n{text}"));
    text[start..]
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}` after `{after}`"))
}

#[test]
fn the_collector_and_gateway_files_do_a_real_mutual_tls_handshake() {
    let work = set_with_gateway_name();
    let dir = work.path().join("otel-certs");
    let run = |target: &str| {
        let output = otel_pki(work.path())
            .args(["config", target])
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let collector = run("collector");
    let gateway = run("gateway");
    let local = |configured: &str| dir.join(configured.strip_prefix("/etc/otel/certs/").unwrap());
    let exporter = "otlp_grpc/gateway:";
    let endpoint = yaml_value(&collector, exporter, "endpoint");
    let host = endpoint.rsplit_once(':').unwrap().0;
    assert_eq!(host, GATEWAY);
    let receiver = "grpc:";
    let handshake = mtls_handshake(
        &ServerSide {
            cert: &local(yaml_value(&gateway, receiver, "cert_file")),
            key: &local(yaml_value(&gateway, receiver, "key_file")),
            client_ca: &local(yaml_value(&gateway, receiver, "client_ca_file")),
        },
        &ClientSide {
            ca: &local(yaml_value(&collector, exporter, "ca_file")),
            identity: Some((
                &local(yaml_value(&collector, exporter, "cert_file")),
                &local(yaml_value(&collector, exporter, "key_file")),
            )),
            server_name: host,
        },
    );
    assert!(handshake.is_ok(), "{handshake:?}");
}

#[test]
fn an_endpoint_missing_from_the_server_certificate_is_a_warning() {
    let work = set_with_gateway_name();
    otel_pki(work.path())
        .args(["config", "collector", "--endpoint", "gateway.example.com:4317"])
        .assert()
        .success()
        .stdout(predicates::str::contains("endpoint: gateway.example.com:4317"))
        .stderr(predicates::str::contains(
            "warning: `gateway.example.com` is not a name in the server certificate `./otel-certs/server.crt` (otel-gateway.observability.svc.cluster.local)",
        ))
        .stderr(predicates::str::contains(format!(
            "`otel-pki issue server --san {GATEWAY},gateway.example.com --force`"
        )));
    // Names the certificate has, wildcards as Go matches them: no warning.
    let work = workdir();
    init(
        work.path(),
        &["--san", "*.observability.svc,10.0.0.5", "-q"],
    );
    for endpoint in ["otel-gateway.observability.svc", "10.0.0.5:4317"] {
        otel_pki(work.path())
            .args(["config", "gateway", "--endpoint", endpoint])
            .assert()
            .success()
            .stderr("");
    }
    otel_pki(work.path())
        .args(["config", "gateway", "--endpoint", "a.b.observability.svc"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "is not a name in the server certificate",
        ));
}

#[test]
fn without_a_set_servers_render_with_a_warning_and_clients_need_an_endpoint() {
    let work = workdir();
    otel_pki(work.path())
        .args(["config", "gateway"])
        .assert()
        .success()
        .stdout(predicates::str::contains("client_ca_file: /etc/otel/certs/ca.crt"))
        .stderr(predicates::str::contains(
            "warning: no certificate set in `./otel-certs`: the files this configuration names do not exist yet; create them with `otel-pki init --dir ./otel-certs`",
        ));
    otel_pki(work.path())
        .args(["config", "collector"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "error: `config collector` needs --endpoint HOST:PORT",
        ));
    otel_pki(work.path())
        .args(["config", "sdk-env", "--endpoint", "gw:4317"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "OTEL_EXPORTER_OTLP_ENDPOINT=https://gw:4317\n",
        ));
}

#[test]
fn an_agent_never_defaults_to_its_own_receiver() {
    // `init` without --san names localhost: the default endpoint would be the agent's own
    // plain-text receiver on 0.0.0.0:4317, a TLS handshake that can never succeed.
    let work = workdir();
    init(work.path(), &["-q"]);
    for (protocol, address, listen) in [
        ("grpc", "localhost:4317", "0.0.0.0:4317"),
        ("http", "localhost:4318", "0.0.0.0:4318"),
    ] {
        otel_pki(work.path())
            .args(["config", "collector", "--protocol", protocol])
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!(
                "error: `config collector` needs --endpoint HOST:PORT here: its default, the first name of `./otel-certs/server.crt`, is `localhost`, and `{address}` is this Collector's own OTLP receiver (listening on {listen}): it would export to itself, and its TLS handshake with that plain-text receiver could never succeed. Give the gateway's or backend's name, e.g. --endpoint otel-gateway.observability.svc:{}\n",
                &address[10..]
            ));
    }
    // Receivers on another address: localhost is somebody else (a gateway on the host).
    otel_pki(work.path())
        .args(["config", "collector", "--listen", "10.0.0.5"])
        .assert()
        .success()
        .stdout(predicates::str::contains("endpoint: localhost:4317\n"))
        .stderr("");
    // Asked for explicitly, it renders, and the lint-config rule says what is wrong.
    let output = otel_pki(work.path())
        .args([
            "config",
            "collector",
            "--endpoint",
            "127.0.0.1:4317",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: ConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    let loops: Vec<_> = report
        .findings
        .iter()
        .filter(|finding| finding.rule == config::Rule::ExporterLoop)
        .collect();
    assert_eq!(loops.len(), 1, "{:#?}", report.findings);
    assert_eq!(loops[0].path, "exporters.otlp_grpc/gateway.endpoint");
    assert!(
        report.warnings.iter().any(|warning| warning.contains(
            "`127.0.0.1:4317` is this Collector's own receiver `receivers.otlp.protocols.grpc` (listening on `0.0.0.0:4317`): the exporter speaks TLS to a plain-text receiver"
        )),
        "{:#?}",
        report.warnings
    );
    // A gateway forwarding to its own receiver: TLS both ways, so a loop.
    let output = otel_pki(work.path())
        .args([
            "config",
            "gateway",
            "--upstream",
            "localhost:4317",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: ConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|finding| finding.rule == config::Rule::ExporterLoop
                && finding
                    .message
                    .contains("a loop that never reaches a backend")),
        "{:#?}",
        report.findings
    );
    // sdk-env is for an application: a Collector on its own host is a normal destination.
    otel_pki(work.path())
        .args(["config", "sdk-env"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:4317\n",
        ));
}

#[test]
fn out_writes_atomically_and_refuses_to_replace_without_force() {
    let work = set_with_gateway_name();
    otel_pki(work.path())
        .args(["config", "gateway", "--out", "gateway.yaml"])
        .assert()
        .success()
        .stdout("")
        .stderr("wrote gateway.yaml (0644): gateway configuration\n");
    let path = work.path().join("gateway.yaml");
    assert_eq!(mode(&path), 0o644);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("client_ca_file_reload: true")
    );
    otel_pki(work.path())
        .args(["config", "collector", "--out", "gateway.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "error: `gateway.yaml` already exists; nothing was written. Use --force",
        ));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("client_ca_file_reload")
    );
    otel_pki(work.path())
        .args([
            "config",
            "collector",
            "--out",
            "gateway.yaml",
            "--force",
            "-q",
        ])
        .assert()
        .success()
        .stderr("");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("otlp_grpc/gateway")
    );
    let backups = listing(&work.path().join("backup"));
    assert_eq!(backups.len(), 1, "{backups:?}");
}

#[test]
fn json_report_carries_the_text_and_the_context() {
    let work = set_with_gateway_name();
    let output = otel_pki(work.path())
        .args([
            "config",
            "collector",
            "--protocol",
            "http",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: ConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.target, Target::Collector);
    assert!(report.content.contains("otlp_http/gateway:"));
    assert_eq!(report.context.exporter_type, "otlp_http");
    assert_eq!(
        report.context.exporter_endpoint,
        format!("https://{GATEWAY}:4318")
    );
    assert_eq!(
        report.context.files.client_key,
        "/etc/otel/certs/client.key"
    );
    assert!(report.warnings.is_empty() && report.findings.is_empty());
    assert!(report.file.is_none());
}

#[test]
fn templates_can_be_overridden_and_are_still_checked() {
    let work = set_with_gateway_name();
    let templates = work.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    // An override with a mistake: the linter flags it as a warning.
    std::fs::write(
        templates.join("collector.yaml.j2"),
        "exporters:\n  {{ exporter_type }}/x:\n    endpoint: {{ exporter_endpoint }}\n    tls:\n      ca_file: {{ files.ca }}\n      insecure_skip_verify: true\nreceivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: {{ listen.grpc }}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [{{ exporter_type }}/x]\n",
    )
    .unwrap();
    otel_pki(work.path())
        .args(["config", "collector", "--templates", "templates"])
        .assert()
        .success()
        .stdout(predicates::str::contains("insecure_skip_verify: true"))
        .stderr(predicates::str::contains(
            "warning: the rendered file, line 6: exporters.otlp_grpc/x.tls.insecure_skip_verify: `insecure_skip_verify: true` accepts any server certificate",
        ));
    // Targets without an override still use the built-in template.
    otel_pki(work.path())
        .args(["config", "gateway", "--templates", "templates"])
        .assert()
        .success()
        .stdout(predicates::str::contains("client_ca_file_reload: true"));
    // A template that does not make YAML is an error, not a broken file.
    std::fs::write(templates.join("tempo.yaml.j2"), "a: [b\n").unwrap();
    otel_pki(work.path())
        .args(["config", "tempo", "--templates", "templates"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "error: the `tempo.yaml.j2` template did not produce valid YAML: line 2",
        ));
    // A variable the context does not have is an error naming the template.
    std::fs::write(templates.join("jaeger.yaml.j2"), "a: {{ nope }}\n").unwrap();
    otel_pki(work.path())
        .args(["config", "jaeger", "--templates", "templates"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("jaeger.yaml.j2"));
}

#[test]
fn jaeger_v1_flags_are_marked_end_of_life_and_name_the_sets_files() {
    let work = set_with_gateway_name();
    let output = otel_pki(work.path())
        .args([
            "config",
            "jaeger",
            "--jaeger-v1",
            "--cert-path",
            "/etc/jaeger/certs",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: Jaeger v1 is end of life (last release v1.76.0"),
        "{stderr}"
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.lines().next().unwrap().contains("end of life"));
    // Not YAML: a shell command whose every continuation line is one v1 flag.
    let command: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
    assert_eq!(command[0], "jaeger-collector \\");
    let known = [
        "enabled",
        "host-port",
        "tls.enabled",
        "tls.cert",
        "tls.key",
        "tls.client-ca",
        "tls.min-version",
        "tls.reload-interval",
    ];
    for (index, line) in command[1..].iter().enumerate() {
        let last = index == command.len() - 2;
        assert_eq!(line.ends_with(" \\"), !last, "{line}");
        let flag = line.trim().trim_end_matches(" \\");
        let (name, value) = flag.split_once('=').unwrap();
        let name = name
            .strip_prefix("--collector.otlp.")
            .unwrap_or_else(|| panic!("{flag}"));
        let name = name
            .strip_prefix("grpc.")
            .or_else(|| name.strip_prefix("http."))
            .unwrap_or(name);
        assert!(known.contains(&name), "{flag}");
        if let Some(file) = value.strip_prefix("/etc/jaeger/certs/") {
            assert!(
                work.path().join("otel-certs").join(file).is_file(),
                "{flag}"
            );
        }
    }
    assert!(text.contains("--collector.otlp.grpc.tls.client-ca=/etc/jaeger/certs/ca.crt"));
    assert!(text.contains("--collector.otlp.http.host-port=0.0.0.0:4318"));
}

#[test]
fn sdk_env_as_dotenv_and_as_shell_exports() {
    let work = set_with_gateway_name();
    let output = otel_pki(work.path())
        .args(["config", "sdk-env"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let variables: Vec<(&str, &str)> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_once('=').unwrap())
        .collect();
    assert_eq!(
        variables,
        [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("https://{GATEWAY}:4317").as_str()
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/otel/certs/ca.crt"),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                "/etc/otel/certs/client.crt"
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                "/etc/otel/certs/client.key"
            ),
        ]
    );
    // --shell output is evaluated by a real shell, with the set's real paths.
    let script = "eval \"$(otel-pki config sdk-env --shell --protocol http --cert-path \"$PWD/otel-certs\")\" && test -r \"$OTEL_EXPORTER_OTLP_CLIENT_KEY\" && echo \"$OTEL_EXPORTER_OTLP_ENDPOINT $OTEL_EXPORTER_OTLP_PROTOCOL\"";
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_otel-pki")).parent().unwrap();
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(work.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                binary_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("https://{GATEWAY}:4318 http/protobuf\n")
    );
}

#[test]
fn ed25519_keys_are_a_warning_for_grpc_sdks_only() {
    let work = workdir();
    init(
        work.path(),
        &["--key-type", "ed25519", "--san", GATEWAY, "-q"],
    );
    otel_pki(work.path())
        .args(["config", "sdk-env"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "`./otel-certs/ca.crt`, `./otel-certs/server.crt`, `./otel-certs/client.crt` have an Ed25519 key: Ed25519 certificates fail the TLS handshake in gRPC's C core",
        ));
    otel_pki(work.path())
        .args(["config", "sdk-env", "--protocol", "http"])
        .assert()
        .success()
        .stderr("");
    // The Collector is Go: Ed25519 works there.
    otel_pki(work.path())
        .args(["config", "collector"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn bad_values_are_refused_with_the_flag_named() {
    let work = set_with_gateway_name();
    for (args, message) in [
        (
            &["collector", "--endpoint", "http://gw:4318"][..],
            "error: invalid --endpoint: invalid endpoint `http://gw:4318`: `http://` sends telemetry in plain text",
        ),
        (
            &["gateway", "--upstream", "gw:99999"],
            "error: invalid --upstream: invalid endpoint `gw:99999`: the port must be a number from 1 to 65535",
        ),
        (
            &["gateway", "--cert-path", "/etc/my certs"],
            "error: invalid --cert-path `/etc/my certs`: use letters, digits",
        ),
        (
            &["gateway", "--collector-version", "0.80.0"],
            "error: --collector-version 0.80.0 is older than v0.86.0",
        ),
        (
            &["collector", "--collector-version", "latest"],
            "invalid --collector-version `latest`",
        ),
        (
            &["gateway", "--server-cert", "../x"],
            "error: invalid --server-cert `../x`",
        ),
        (
            &["tempo", "--listen", "0.0.0.0:4317"],
            "error: invalid --listen `0.0.0.0:4317`",
        ),
    ] {
        otel_pki(work.path())
            .arg("config")
            .args(args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

#[test]
fn every_config_command_help_ends_with_examples_and_exit_codes() {
    let work = workdir();
    for command in [
        &["config", "collector"][..],
        &["config", "gateway"],
        &["config", "jaeger"],
        &["config", "tempo"],
        &["config", "sdk-env"],
        &["lint-config"],
    ] {
        let output = otel_pki(work.path())
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Examples:"), "{command:?} has no examples");
        assert!(help.contains("2  error or bad usage"), "{command:?}");
    }
}

#[test]
fn sdk_env_per_language_refuses_what_the_sdk_cannot_use() {
    let work = workdir();
    init(
        work.path(),
        &["-q", "--key-type", "ed25519", "--san", "gw.example.com"],
    );
    let run = |args: &[&str]| {
        let output = otel_pki(work.path())
            .args(["config", "sdk-env"])
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // Java cannot load an Ed25519 client key; gRPC's C core cannot handshake with one.
    for (language, needle) in [
        ("java", "RSA and EC PKCS#8 keys only"),
        ("python", "gRPC's C core"),
        ("cpp", "gRPC's C core"),
    ] {
        let (code, stdout, stderr) = run(&["--language", language]);
        assert_eq!(code, Some(2), "{language}: {stderr}");
        assert!(stdout.is_empty(), "{language}");
        assert_eq!(stderr.lines().count(), 1, "{language}: {stderr}");
        assert!(stderr.contains(needle), "{language}: {stderr}");
    }
    // Over HTTP, Python is not on gRPC: fine. Go and Node take Ed25519.
    for args in [
        &["--language", "python", "--protocol", "http"][..],
        &["--language", "go"],
        &["--language", "node"],
        &["--language", "rust"],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("Ed25519"), "{args:?}: {stderr}");
        assert!(stdout.contains("restart the application"), "{args:?}");
    }
    // .NET: not verified, so a warning.
    let (code, _, stderr) = run(&["--language", "dotnet"]);
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("warning:") && stderr.contains(".NET"),
        "{stderr}"
    );
    // The Rust SDK reads no certificate variable: none is written, the code is.
    let (_, stdout, _) = run(&["--language", "rust"]);
    assert!(
        !stdout.contains("OTEL_EXPORTER_OTLP_CLIENT_KEY="),
        "{stdout}"
    );
    assert!(stdout.contains("with_tls_config"), "{stdout}");
    // JSON says which SDK.
    let output = otel_pki(work.path())
        .args(["--format", "json", "config", "sdk-env", "--language", "go"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["sdk"]["language"], "go");
    assert_eq!(report["sdk"]["reads_certificate_variables"], true);
}

#[test]
fn reloading_receivers_leave_out_what_the_reload_drops() {
    // configtls rebuilds the handshake configuration without `cipher_suites` and
    // `curve_preferences` when `client_ca_file_reload` is on: the templates that turn it on
    // never render either, and an override that adds one is warned about.
    let work = set_with_gateway_name();
    for target in ["gateway", "jaeger", "tempo"] {
        let output = otel_pki(work.path())
            .args(["config", target])
            .output()
            .unwrap();
        assert!(output.status.success(), "{target}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("client_ca_file_reload: true"), "{target}");
        assert!(
            !text.contains("cipher_suites") && !text.contains("curve_preferences"),
            "{target}: {text}"
        );
    }
    let templates = work.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/gateway.yaml.j2"
    ))
    .unwrap();
    let hardened = builtin.replace(
        "          client_ca_file_reload: true\n",
        "          client_ca_file_reload: true\n          cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
    );
    assert_ne!(hardened, builtin);
    std::fs::write(templates.join("gateway.yaml.j2"), hardened).unwrap();
    otel_pki(work.path())
        .args(["config", "gateway", "--templates", "templates"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "receivers.otlp.protocols.grpc.tls.cipher_suites: `cipher_suites` is silently dropped: with `client_ca_file_reload: true`",
        ));
}
