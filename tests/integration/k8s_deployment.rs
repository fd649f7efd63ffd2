//! `otel-pki k8s deployment`: a Collector Deployment (or the Operator's
//! `OpenTelemetryCollector`) that mounts the Secrets and reads a configuration rendered for
//! the mount. Every manifest is parsed and checked by [`check_workload`]: the rules of
//! `k8s::check_rules` (no subPath, defaultMode 0440, fsGroup 10001, read-only mounts), and
//! that every file the configuration names is a file of the projected volume and the
//! volume holds nothing else (no key of another role). The configuration is the one
//! `otel-pki config collector|gateway` prints for the same options, and lints clean.
//! Built-in kinds are validated with `kubernetes-validate`; the Operator's resource has no
//! schema there and is checked here against the reference (section 4.3). Golden files:
//! tests/golden/k8s/deployment-*.yaml and operator-*.yaml, made without a set so that
//! they depend on the flags only.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use otel_pki::cmd::k8s::ManifestReport;
use otel_pki::config::lint::{self, FileChecks, LintOptions, Mount};
use otel_pki::config::{CollectorVersion, Severity};
use otel_pki::pki::Lifetime;
use serde_json::Value;

use crate::k8s::{Pem, check_rules, documents, failure, golden, kubernetes_validate, stdout, text};
use crate::support::*;

/// What a checked manifest holds.
struct Workload {
    docs: Vec<Value>,
    /// The Deployment, or the `OpenTelemetryCollector`.
    workload: Value,
    /// The configuration as text (the ConfigMap's value); `None` for the Operator, whose
    /// `spec.config` is an object.
    config_text: Option<String>,
    /// The configuration, parsed.
    config: Value,
    /// Where the certificate volume is mounted.
    mount_path: String,
    /// The projected sources.
    sources: Vec<Source>,
    /// Container paths of the projected files.
    files: BTreeSet<String>,
}

/// One source of the projected volume.
#[derive(Debug, PartialEq)]
struct Source {
    /// `secret` or `configMap`.
    kind: String,
    name: String,
    /// (key, path).
    items: Vec<(String, String)>,
}

impl Source {
    fn new(kind: &str, name: &str, items: &[(&str, &str)]) -> Self {
        Source {
            kind: kind.to_owned(),
            name: name.to_owned(),
            items: items
                .iter()
                .map(|(key, path)| ((*key).to_owned(), (*path).to_owned()))
                .collect(),
        }
    }
}

impl Workload {
    fn service(&self) -> Option<&Value> {
        self.docs.iter().find(|doc| doc["kind"] == "Service")
    }

    /// The container path and the TLS key of every `*_file` in the configuration.
    fn referenced_files(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        collect_files(&self.config, &mut found);
        found
    }
}

fn collect_files(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if key.ends_with("_file") {
                    found.insert(value.as_str().expect("a path").to_owned());
                } else {
                    collect_files(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_files(item, found)),
        _ => {}
    }
}

/// Parses a `k8s deployment` manifest and asserts its rules (see the module comment).
fn check_workload(yaml: &str) -> Workload {
    let docs = check_rules(yaml, Pem::Placeholder);
    assert!(
        !yaml.contains("PRIVATE KEY"),
        "key material in the manifest"
    );
    let workload = docs
        .iter()
        .find(|doc| doc["kind"] == "Deployment" || doc["kind"] == "OpenTelemetryCollector")
        .expect("a Deployment or an OpenTelemetryCollector")
        .clone();
    let operator = workload["kind"] == "OpenTelemetryCollector";
    let (pod_security, volumes, mounts) = if operator {
        // statefulset only with a target allocator (the Operator's webhook requires it).
        let mode = if workload["spec"].get("targetAllocator").is_some() {
            "statefulset"
        } else {
            "deployment"
        };
        assert_eq!(text(&workload, "/spec/mode"), mode);
        let spec = &workload["spec"];
        (
            spec["podSecurityContext"].clone(),
            spec["volumes"].clone(),
            spec["volumeMounts"].clone(),
        )
    } else {
        let pod = &workload["spec"]["template"]["spec"];
        let containers = pod["containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 1);
        // The Deployment selects its own pods.
        for (key, value) in workload["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("matchLabels")
        {
            assert_eq!(
                &workload["spec"]["template"]["metadata"]["labels"][key],
                value
            );
        }
        (
            pod["securityContext"].clone(),
            pod["volumes"].clone(),
            containers[0]["volumeMounts"].clone(),
        )
    };
    // The Collector image's user: UID and GID 10001, and the group owns the files.
    for field in ["runAsUser", "runAsGroup", "fsGroup"] {
        assert_eq!(pod_security[field], 10001, "{field}");
    }
    assert_eq!(pod_security["runAsNonRoot"], true);
    let volumes = volumes.as_array().expect("volumes").clone();
    let mounts = mounts.as_array().expect("volumeMounts").clone();
    for mount in &mounts {
        assert_eq!(mount["readOnly"], true, "{mount}");
        assert!(mount.get("subPath").is_none() && mount.get("subPathExpr").is_none());
        assert!(
            volumes.iter().any(|volume| volume["name"] == mount["name"]),
            "{mount} mounts no volume"
        );
    }
    // One projected volume of the certificates, mounted whole.
    let projected: Vec<&Value> = volumes
        .iter()
        .filter(|volume| volume.get("projected").is_some())
        .collect();
    assert_eq!(projected.len(), 1, "one certificate volume");
    let certs = projected[0];
    assert_eq!(certs["projected"]["defaultMode"], 0o440);
    let mount_path = mounts
        .iter()
        .find(|mount| mount["name"] == certs["name"])
        .map(|mount| text(mount, "/mountPath").to_owned())
        .expect("the certificate volume is mounted");
    let mut sources = Vec::new();
    let mut files = BTreeSet::new();
    for source in certs["projected"]["sources"].as_array().expect("sources") {
        let (kind, body) = source
            .as_object()
            .and_then(|object| object.iter().next())
            .expect("a source");
        assert!(["secret", "configMap"].contains(&kind.as_str()), "{kind}");
        let items: Vec<(String, String)> = body["items"]
            .as_array()
            .expect("items: files renamed to the set's names")
            .iter()
            .map(|item| {
                (
                    text(item, "/key").to_owned(),
                    text(item, "/path").to_owned(),
                )
            })
            .collect();
        for (key, path) in &items {
            assert!(!path.contains('/') && !path.starts_with('.'), "{path}");
            if kind == "configMap" {
                assert_eq!((key.as_str(), path.as_str()), ("ca.crt", "ca.crt"));
            }
            assert!(
                files.insert(format!("{mount_path}/{path}")),
                "{path} is projected twice"
            );
        }
        sources.push(Source {
            kind: kind.clone(),
            name: text(body, "/name").to_owned(),
            items,
        });
    }

    // The configuration: a ConfigMap mounted whole at the directory of --config, or the
    // Operator's spec.config object.
    let (config_text, config) = if operator {
        let config = workload["spec"]["config"].clone();
        assert!(config.is_object(), "spec.config is an object in v1beta1");
        (None, config)
    } else {
        let container = &workload["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        let config_file = args
            .iter()
            .find_map(|arg| arg.strip_prefix("--config="))
            .expect("--config=FILE");
        let (directory, key) = config_file.rsplit_once('/').unwrap();
        let mount = mounts
            .iter()
            .find(|mount| mount["mountPath"] == directory)
            .expect("the configuration's directory is mounted");
        let volume = volumes
            .iter()
            .find(|volume| volume["name"] == mount["name"])
            .unwrap();
        assert!(
            volume["configMap"].get("items").is_none(),
            "the ConfigMap is mounted whole"
        );
        let config_map_name = text(volume, "/configMap/name");
        let config_map = docs
            .iter()
            .find(|doc| doc["kind"] == "ConfigMap" && doc["metadata"]["name"] == config_map_name)
            .expect("the ConfigMap is in the manifest");
        assert_eq!(
            config_map["metadata"]["namespace"],
            workload["metadata"]["namespace"]
        );
        let config_text = text(config_map, &format!("/data/{key}")).to_owned();
        // The pod restarts when the configuration changes.
        let checksum = text(
            &workload,
            "/spec/template/metadata/annotations/checksum~1config",
        );
        assert_eq!(checksum.len(), 64);
        let config = documents(&config_text).remove(0);
        (Some(config_text), config)
    };
    // Exactly the files the configuration reads are mounted: nothing missing, and no key
    // of another role.
    let workload_view = Workload {
        docs: docs.clone(),
        workload,
        config_text,
        config,
        mount_path,
        sources,
        files,
    };
    assert_eq!(
        workload_view.referenced_files(),
        workload_view.files,
        "the configuration's files and the projected files differ"
    );
    // Services select the pods of their own namespace, with the OTLP ports.
    if let Some(service) = workload_view.service() {
        assert_eq!(
            service["metadata"]["namespace"],
            workload_view.workload["metadata"]["namespace"]
        );
        let ports: Vec<i64> = service["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|port| port["port"].as_i64().unwrap())
            .collect();
        assert_eq!(ports, [4317, 4318]);
        assert!(
            service["spec"]["selector"]
                .as_object()
                .is_some_and(|s| !s.is_empty())
        );
        if !operator {
            for (key, value) in service["spec"]["selector"].as_object().unwrap() {
                assert_eq!(
                    &workload_view.workload["spec"]["template"]["metadata"]["labels"][key],
                    value
                );
            }
        }
    }
    workload_view
}

/// The lint-config findings (errors and warnings) of a configuration for the Collector
/// version in its header; with `mount`, the files are checked where the container would
/// find them.
fn lint_findings(config: &str, mount: Option<(&str, &Path)>) -> Vec<String> {
    let version: CollectorVersion = config
        .split("for Collector v")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|version| version.trim_end_matches('.').parse().expect("a version"))
        .expect("the header names the Collector version");
    let files = mount.map(|(from, to)| FileChecks {
        mounts: vec![Mount {
            from: PathBuf::from(from),
            to: to.to_owned(),
        }],
        within: Lifetime::days(30),
        now: time::OffsetDateTime::now_utc(),
    });
    let lint = lint::lint(
        config,
        &LintOptions {
            kind: None,
            collector_version: version,
            files,
        },
    )
    .expect("YAML");
    lint.findings
        .iter()
        .filter(|finding| finding.severity != Severity::Info)
        .map(|finding| format!("{}: {} [{}]", finding.path, finding.message, finding.rule))
        .collect()
}

/// The checks every manifest gets: the workload rules, the schema validator (built-in
/// kinds), and a lint-clean configuration identical to `otel-pki config TARGET ARGS`.
fn check_all(work: &Path, yaml: &str, config_args: &[&str]) -> Workload {
    let workload = check_workload(yaml);
    kubernetes_validate(yaml);
    let expected = stdout(work, config_args);
    match &workload.config_text {
        Some(config_text) => assert_eq!(config_text, &expected, "{config_args:?}"),
        None => assert_eq!(workload.config, documents(&expected)[0], "{config_args:?}"),
    }
    let findings = lint_findings(&expected, None);
    assert!(findings.is_empty(), "{findings:#?}");
    workload
}

// --- golden files: the flags alone decide the output (no set in the directory) ---

#[test]
fn golden_gateway_deployment_with_an_upstream() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "gateway",
            "--k8s-service",
            "otel-gateway.observability",
            "--upstream",
            "tempo-distributor.tracing.svc:4317",
            "-q",
        ],
    );
    golden("deployment-gateway.yaml", &yaml);
    let workload = check_all(
        work.path(),
        &yaml,
        &[
            "config",
            "gateway",
            "--endpoint",
            "otel-gateway.observability.svc.cluster.local",
            "--upstream",
            "tempo-distributor.tracing.svc:4317",
            "-q",
        ],
    );
    let kinds: Vec<&str> = workload.docs.iter().map(|doc| text(doc, "/kind")).collect();
    assert_eq!(kinds, ["ConfigMap", "Deployment", "Service"]);
    assert_eq!(workload.mount_path, "/etc/otel/certs");
    // Server certificate with the CA that verifies clients, and the client certificate of
    // the upstream exporter, from the Secrets `k8s secret` makes.
    assert_eq!(
        workload.sources,
        [
            Source::new(
                "secret",
                "otel-server-tls",
                &[
                    ("tls.crt", "server.crt"),
                    ("tls.key", "server.key"),
                    ("ca.crt", "ca.crt"),
                ]
            ),
            Source::new(
                "secret",
                "otel-client-tls",
                &[("tls.crt", "client.crt"), ("tls.key", "client.key")]
            ),
        ]
    );
    let receiver = &workload.config["receivers"]["otlp"]["protocols"]["grpc"]["tls"];
    assert_eq!(receiver["client_ca_file"], "/etc/otel/certs/ca.crt");
    assert_eq!(receiver["cert_file"], "/etc/otel/certs/server.crt");
    // The Service has the name in the server certificate, and the pods' ports.
    let service = workload.service().unwrap();
    assert_eq!(text(service, "/metadata/name"), "otel-gateway");
    let container = &workload.workload["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        text(container, "/image"),
        "otel/opentelemetry-collector-contrib:0.159.0"
    );
    assert_eq!(
        container["args"],
        serde_json::json!(["--config=/conf/collector.yaml"])
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    // No probes: the configuration has no health_check extension to point them at.
    assert!(container.get("livenessProbe").is_none() && container.get("readinessProbe").is_none());
}

#[test]
fn golden_agent_deployment_in_another_namespace() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--k8s-service",
            "otel-gateway.observability",
            "-n",
            "apps",
            "--protocol",
            "http",
            "-q",
        ],
    );
    golden("deployment-agent.yaml", &yaml);
    let workload = check_all(
        work.path(),
        &yaml,
        &[
            "config",
            "collector",
            "--endpoint",
            "otel-gateway.observability.svc.cluster.local",
            "--protocol",
            "http",
            "-q",
        ],
    );
    assert_eq!(text(&workload.workload, "/metadata/namespace"), "apps");
    assert_eq!(text(&workload.workload, "/metadata/name"), "otel-collector");
    // The client Secret only: an agent never sees a server key.
    assert_eq!(
        workload.files,
        ["ca.crt", "client.crt", "client.key"]
            .map(|file| format!("/etc/otel/certs/{file}"))
            .into()
    );
    assert_eq!(
        workload.config["exporters"]["otlp_http/gateway"]["endpoint"],
        "https://otel-gateway.observability.svc.cluster.local:4318"
    );
    // Applications reach it by a Service in its namespace.
    assert_eq!(
        text(workload.service().unwrap(), "/metadata/name"),
        "otel-collector"
    );
}

#[test]
fn golden_operator_gateway_from_cert_manager() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "gateway",
            "--operator",
            "--cert-manager",
            "--k8s-service",
            "otel-gateway.observability",
            "--upstream",
            "tempo-distributor.tracing.svc:4317",
            "--replicas",
            "2",
            "-q",
        ],
    );
    golden("operator-gateway.yaml", &yaml);
    let workload = check_all(
        work.path(),
        &yaml,
        &[
            "config",
            "gateway",
            "--endpoint",
            "otel-gateway.observability.svc.cluster.local",
            "--upstream",
            "tempo-distributor.tracing.svc:4317",
            "-q",
        ],
    );
    check_operator_resource(&workload.workload);
    assert_eq!(workload.workload["spec"]["replicas"], 2);
    // cert-manager's Secrets (named as `k8s cert-manager` names them) and trust-manager's
    // CA bundle.
    let names: Vec<(&str, &str)> = workload
        .sources
        .iter()
        .map(|source| (source.kind.as_str(), source.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("secret", "otel-gateway-server-tls"),
            ("secret", "otel-gateway-client-tls"),
            ("configMap", "otel-ca-bundle"),
        ]
    );
    // The Operator's Service is otel-gateway-collector, a name the certificate does not
    // have: a Service with the certificate's name selects the Operator's pods.
    let service = workload
        .service()
        .expect("a Service named as in the certificate");
    assert_eq!(text(service, "/metadata/name"), "otel-gateway");
    assert_eq!(
        service["spec"]["selector"],
        serde_json::json!({
            "app.kubernetes.io/component": "opentelemetry-collector",
            "app.kubernetes.io/instance": "observability.otel-gateway",
            "app.kubernetes.io/managed-by": "opentelemetry-operator",
            "app.kubernetes.io/part-of": "opentelemetry",
        })
    );
}

#[test]
fn golden_operator_agent() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--operator",
            "--endpoint",
            "gateway.example.com:443",
            "--client-secret",
            "edge-tls",
            "--ca-configmap",
            "corp-ca",
            "--collector-version",
            "0.143.0",
            "-q",
        ],
    );
    golden("operator-agent.yaml", &yaml);
    let workload = check_all(
        work.path(),
        &yaml,
        &[
            "config",
            "collector",
            "--endpoint",
            "gateway.example.com:443",
            "--collector-version",
            "0.143.0",
            "-q",
        ],
    );
    check_operator_resource(&workload.workload);
    // The Operator makes the agent's Service; none of ours.
    assert!(workload.service().is_none());
    assert_eq!(
        text(&workload.workload, "/spec/image"),
        "otel/opentelemetry-collector-contrib:0.143.0"
    );
    assert!(workload.config["exporters"]["otlp/gateway"].is_object());
    assert_eq!(workload.sources[0].name, "edge-tls");
    assert_eq!(workload.sources[1].name, "corp-ca");
}

/// The `OpenTelemetryCollector` as the reference (otel-config.md 4.3) and the Operator's
/// v1beta1 API have it: the pod fields at spec level, `spec.config` an object with every
/// component a mapping (`batch: {}`, never `batch:`), the pipelines naming declared
/// components.
fn check_operator_resource(collector: &Value) {
    assert_eq!(text(collector, "/apiVersion"), "opentelemetry.io/v1beta1");
    let spec = collector["spec"].as_object().unwrap();
    let known = [
        "mode",
        "replicas",
        "image",
        "resources",
        "podSecurityContext",
        "securityContext",
        "volumes",
        "volumeMounts",
        "config",
        "targetAllocator",
    ];
    for key in spec.keys() {
        assert!(known.contains(&key.as_str()), "unexpected spec.{key}");
    }
    assert!(collector["metadata"]["namespace"].is_string());
    let config = &collector["spec"]["config"];
    for section in ["receivers", "processors", "exporters"] {
        for (name, component) in config[section].as_object().expect(section) {
            assert!(component.is_object(), "{section}.{name} must be a mapping");
        }
    }
    for (signal, pipeline) in config["service"]["pipelines"].as_object().unwrap() {
        for (field, section) in [
            ("receivers", "receivers"),
            ("processors", "processors"),
            ("exporters", "exporters"),
        ] {
            for name in pipeline[field].as_array().unwrap() {
                assert!(
                    config[section].get(name.as_str().unwrap()).is_some(),
                    "{signal}: {name} is not declared"
                );
            }
        }
    }
    assert_eq!(
        collector["spec"]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
}

// --- with a real set: from Secrets to a handshake through the mounted paths ---

/// Writes the files a pod would see in the projected volume: each item of each source,
/// decoded from the Secret (or ConfigMap) in `objects`.
fn project(workload: &Workload, objects: &[Value], into: &Path) {
    fs::create_dir_all(into).unwrap();
    for source in &workload.sources {
        let kind = if source.kind == "secret" {
            "Secret"
        } else {
            "ConfigMap"
        };
        let object = objects
            .iter()
            .find(|doc| doc["metadata"]["name"] == source.name.as_str() && doc["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} {}", source.name));
        for (key, path) in &source.items {
            let target = into.join(path);
            fs::write(&target, crate::k8s::data(object, key)).unwrap();
            // In the pod: 0440 and group 10001. Here: the owner only, as lint-config wants
            // keys on a host.
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// The container path `path` as a file in `mounted` (the local copy of `mount_path`).
fn local(mounted: &Path, mount_path: &str, path: &Value) -> PathBuf {
    let path = path.as_str().expect("a path");
    mounted.join(
        path.strip_prefix(&format!("{mount_path}/"))
            .expect("under the mount"),
    )
}

#[test]
fn secrets_mounted_as_the_deployments_say_give_a_working_mtls_pair() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    // The defaults come from the set: the Service in server.crt names the gateway, its
    // namespace, and where the agent exports.
    let gateway = check_workload(&stdout(
        work.path(),
        &["k8s", "deployment", "--role", "gateway", "-q"],
    ));
    assert_eq!(text(&gateway.workload, "/metadata/name"), "otel-gateway");
    assert_eq!(
        text(&gateway.workload, "/metadata/namespace"),
        "observability"
    );
    // Without --upstream the gateway has no client certificate to mount.
    assert!(!gateway.files.iter().any(|file| file.contains("client")));
    let agent = check_workload(&stdout(
        work.path(),
        &["k8s", "deployment", "--role", "agent", "-q"],
    ));
    assert!(!agent.files.iter().any(|file| file.contains("server")));
    let endpoint = text(&agent.config, "/exporters/otlp_grpc~1gateway/endpoint");
    assert_eq!(
        endpoint,
        "otel-gateway.observability.svc.cluster.local:4317"
    );

    // The Secrets `k8s secret` makes, projected as the Deployments say.
    let mut objects = documents(&stdout(
        work.path(),
        &["k8s", "secret", "--role", "server", "-q"],
    ));
    objects.extend(documents(&stdout(
        work.path(),
        &["k8s", "secret", "--role", "client", "-q"],
    )));
    let gateway_pod = work.path().join("gateway-pod");
    let agent_pod = work.path().join("agent-pod");
    project(&gateway, &objects, &gateway_pod);
    project(&agent, &objects, &agent_pod);
    for (workload, pod) in [(&gateway, &gateway_pod), (&agent, &agent_pod)] {
        let findings = lint_findings(
            workload.config_text.as_deref().unwrap(),
            Some((&workload.mount_path, pod)),
        );
        assert!(findings.is_empty(), "{findings:#?}");
    }

    // The agent's exporter and the gateway's receiver, with exactly the files their
    // configurations name, agree: a real mTLS exchange to the name the agent dials.
    let receiver = &gateway.config["receivers"]["otlp"]["protocols"]["grpc"]["tls"];
    let exporter = &agent.config["exporters"]["otlp_grpc/gateway"]["tls"];
    let at_gateway = |field: &str| local(&gateway_pod, &gateway.mount_path, &receiver[field]);
    let at_agent = |field: &str| local(&agent_pod, &agent.mount_path, &exporter[field]);
    let handshake = mtls_handshake(
        &ServerSide {
            cert: &at_gateway("cert_file"),
            key: &at_gateway("key_file"),
            client_ca: &at_gateway("client_ca_file"),
        },
        &ClientSide {
            ca: &at_agent("ca_file"),
            identity: Some((&at_agent("cert_file"), &at_agent("key_file"))),
            server_name: endpoint.split(':').next().unwrap(),
        },
    );
    assert!(handshake.is_ok(), "{handshake:?}");
}

#[test]
fn a_gateway_in_a_namespace_its_certificate_does_not_name_is_warned_about() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let output = otel_pki(work.path())
        .args(["k8s", "deployment", "--role", "gateway", "-n", "telemetry"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: `otel-gateway.telemetry.svc.cluster.local` is not a name in the server certificate"
        ),
        "{stderr}"
    );
    let workload = check_workload(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(
        text(workload.service().unwrap(), "/metadata/namespace"),
        "telemetry"
    );
    // The status lines say what goes where.
    assert!(
        stderr.contains("Deployment telemetry/otel-gateway\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "mounts Secret otel-server-tls (server.crt, server.key, ca.crt) read-only at /etc/otel/certs"
        ),
        "{stderr}"
    );
}

#[test]
fn a_new_configuration_changes_the_pod_annotation_and_nothing_else_does() {
    let work = workdir();
    let args = [
        "k8s",
        "deployment",
        "--role",
        "agent",
        "--endpoint",
        "gw.example.com:4317",
        "-q",
    ];
    let checksum = |extra: &[&str]| {
        let yaml = stdout(work.path(), &[&args[..], extra].concat());
        let docs = documents(&yaml);
        text(
            &docs[1],
            "/spec/template/metadata/annotations/checksum~1config",
        )
        .to_owned()
    };
    let first = checksum(&[]);
    assert_eq!(first, checksum(&["--replicas", "3"]));
    assert_ne!(first, checksum(&["--reload-interval", "30m"]));
}

#[test]
fn out_writes_the_manifest_and_json_lists_the_objects() {
    let work = workdir();
    let args = [
        "k8s",
        "deployment",
        "--role",
        "gateway",
        "--cert-path",
        "/var/run/otel/tls",
        "--out",
        "gateway.yaml",
    ];
    otel_pki(work.path()).args(args).assert().success();
    let path = work.path().join("gateway.yaml");
    assert_eq!(mode(&path), 0o644);
    let workload = check_workload(&fs::read_to_string(&path).unwrap());
    assert_eq!(workload.mount_path, "/var/run/otel/tls");
    let error = failure(work.path(), &args);
    assert!(error.contains("already exists"), "{error}");
    let output = otel_pki(work.path())
        .args(args)
        .args(["--force", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: ManifestReport = serde_json::from_slice(&output.stdout).unwrap();
    let objects: Vec<(&str, &str)> = report
        .objects
        .iter()
        .map(|object| (object.kind.as_str(), object.api_version.as_str()))
        .collect();
    assert_eq!(
        objects,
        [
            ("ConfigMap", "v1"),
            ("Deployment", "apps/v1"),
            ("Service", "v1")
        ]
    );
    assert_eq!(report.objects[0].keys, ["collector.yaml"]);
    assert!(report.manifest.is_none() && !report.contains_ca_key);
    assert!(report.backup_dir.is_some());
}

#[test]
fn deployment_mistakes_name_the_flag() {
    let work = workdir();
    let deployment = |args: &[&str]| failure(work.path(), &[&["k8s", "deployment"], args].concat());
    // No set and no gateway named: where would the agent send?
    let error = deployment(&["--role", "agent"]);
    assert!(
        error.contains("an agent needs --endpoint HOST:PORT or --k8s-service NAME.NAMESPACE"),
        "{error}"
    );
    let error = deployment(&[
        "--role",
        "agent",
        "--endpoint",
        "gw",
        "--upstream",
        "t:4317",
    ]);
    assert!(
        error.contains("--upstream is for --role gateway"),
        "{error}"
    );
    let error = deployment(&[
        "--role",
        "agent",
        "--endpoint",
        "gw",
        "--server-secret",
        "s",
    ]);
    assert!(
        error.contains("--server-secret is for --role gateway"),
        "{error}"
    );
    let error = deployment(&["--role", "gateway", "--client-secret", "c"]);
    assert!(error.contains("give --upstream HOST:PORT too"), "{error}");
    let error = deployment(&[
        "--role",
        "gateway",
        "--k8s-service",
        "gw.obs",
        "-n",
        "other",
    ]);
    assert!(
        error.contains("the Service gw.obs must be in the gateway's namespace"),
        "{error}"
    );
    let error = deployment(&["--role", "gateway", "--name", "Gateway"]);
    assert!(error.contains("invalid --name `Gateway`"), "{error}");
    let error = deployment(&["--role", "gateway", "--memory-limit", "lots"]);
    assert!(error.contains("invalid --memory-limit `lots`"), "{error}");
    let error = deployment(&["--role", "gateway", "--server-secret", "Bad_Name"]);
    assert!(
        error.contains("invalid --server-secret `Bad_Name`"),
        "{error}"
    );
    let error = deployment(&["--role", "agent", "--endpoint", "http://gw:4318"]);
    assert!(error.contains("invalid --endpoint"), "{error}");
    let error = deployment(&["--role", "gateway", "--cert-path", "/etc/my certs"]);
    assert!(error.contains("invalid --cert-path"), "{error}");
    assert!(listing(work.path()).is_empty());
}

#[test]
fn a_template_override_that_breaks_mutual_tls_is_warned_about() {
    let work = workdir();
    let templates = work.path().join("templates");
    fs::create_dir(&templates).unwrap();
    // The classic mistake: ca_file on a receiver, which verifies no client.
    let gateway = otel_pki::render::EMBEDDED
        .iter()
        .find(|(name, _)| *name == "gateway.yaml.j2")
        .unwrap()
        .1
        .replace("client_ca_file: {{ files.ca }}", "ca_file: {{ files.ca }}");
    fs::write(templates.join("gateway.yaml.j2"), gateway).unwrap();
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "deployment",
            "--role",
            "gateway",
            "--templates",
            "templates",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: the configuration, line 16: receivers.otlp.protocols.grpc.tls.ca_file: "
        ) && stderr.contains("[receiver-ca-file-not-mtls]"),
        "{stderr}"
    );
    let yaml = String::from_utf8(output.stdout).unwrap();
    assert!(yaml.contains("              ca_file: /etc/otel/certs/ca.crt"));
}

#[test]
fn opaque_secrets_are_mounted_with_their_own_keys() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let objects: Vec<Value> = ["server", "client"]
        .iter()
        .flat_map(|role| {
            documents(&stdout(
                work.path(),
                &["k8s", "secret", "--role", role, "--opaque", "-q"],
            ))
        })
        .collect();
    let has_key = |name: &str, key: &str| {
        objects
            .iter()
            .find(|doc| doc["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no Secret {name}"))["data"]
            .get(key)
            .is_some()
    };
    // The default mount (kubernetes.io/tls keys) names keys an Opaque Secret does not have:
    // that pod would never start.
    let tls_agent = check_workload(&stdout(
        work.path(),
        &["k8s", "deployment", "--role", "agent", "-q"],
    ));
    assert!(
        tls_agent.sources[0]
            .items
            .iter()
            .any(|(key, _)| !has_key(&tls_agent.sources[0].name, key))
    );

    let deployment = |role: &str| {
        let yaml = stdout(
            work.path(),
            &[
                "k8s",
                "deployment",
                "--role",
                role,
                "--secret-keys",
                "opaque",
                "-q",
            ],
        );
        kubernetes_validate(&yaml);
        // The comment says how to make the Secrets it mounts.
        assert!(
            yaml.contains(&format!(
                "#   otel-pki k8s secret --role {} --opaque --name otel-{}-tls -n observability",
                if role == "agent" { "client" } else { "server" },
                if role == "agent" { "client" } else { "server" },
            )),
            "{yaml}"
        );
        check_workload(&yaml)
    };
    let gateway = deployment("gateway");
    let agent = deployment("agent");
    assert_eq!(
        agent.sources,
        [Source::new(
            "secret",
            "otel-client-tls",
            &[
                ("client.crt", "client.crt"),
                ("client.key", "client.key"),
                ("ca.crt", "ca.crt")
            ]
        )]
    );
    assert_eq!(
        gateway.sources,
        [Source::new(
            "secret",
            "otel-server-tls",
            &[
                ("server.crt", "server.crt"),
                ("server.key", "server.key"),
                ("ca.crt", "ca.crt")
            ]
        )]
    );
    // Every key each mount names is in the Secret `k8s secret --opaque` wrote, and (checked
    // by check_workload) the configuration reads exactly the projected files.
    for workload in [&gateway, &agent] {
        for source in &workload.sources {
            for (key, _) in &source.items {
                assert!(has_key(&source.name, key), "{} has no {key}", source.name);
            }
        }
    }
    let gateway_pod = work.path().join("gateway-pod");
    let agent_pod = work.path().join("agent-pod");
    project(&gateway, &objects, &gateway_pod);
    project(&agent, &objects, &agent_pod);
    for (workload, pod) in [(&gateway, &gateway_pod), (&agent, &agent_pod)] {
        let findings = lint_findings(
            workload.config_text.as_deref().unwrap(),
            Some((&workload.mount_path, pod)),
        );
        assert!(findings.is_empty(), "{findings:#?}");
    }
    // The files at the configurations' paths make a working mutual-TLS pair.
    let receiver = &gateway.config["receivers"]["otlp"]["protocols"]["grpc"]["tls"];
    let exporter = &agent.config["exporters"]["otlp_grpc/gateway"]["tls"];
    let at_gateway = |field: &str| local(&gateway_pod, &gateway.mount_path, &receiver[field]);
    let at_agent = |field: &str| local(&agent_pod, &agent.mount_path, &exporter[field]);
    let handshake = mtls_handshake(
        &ServerSide {
            cert: &at_gateway("cert_file"),
            key: &at_gateway("key_file"),
            client_ca: &at_gateway("client_ca_file"),
        },
        &ClientSide {
            ca: &at_agent("ca_file"),
            identity: Some((&at_agent("cert_file"), &at_agent("key_file"))),
            server_name: "otel-gateway.observability.svc.cluster.local",
        },
    );
    assert!(handshake.is_ok(), "{handshake:?}");

    // cert-manager writes kubernetes.io/tls only: refused in one line.
    let error = failure(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--cert-manager",
            "--secret-keys",
            "opaque",
        ],
    );
    assert!(
        error.contains("--secret-keys opaque cannot be used with --cert-manager")
            && error.trim().lines().count() == 1,
        "{error}"
    );

    // An Opaque Secret keyed by another file name no mount asks for: said when it is made.
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw.example.com",
            "-q",
        ])
        .assert()
        .success();
    let output = otel_pki(work.path())
        .args(["k8s", "secret", "--cert", "gateway", "--opaque"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: the Secret's keys are gateway.crt and gateway.key, but `k8s deployment --secret-keys opaque`"),
        "{stderr}"
    );
    let output = otel_pki(work.path())
        .args(["k8s", "secret", "--role", "client", "--opaque"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8(output.stderr)
            .unwrap()
            .contains("warning")
    );
}

// --- Operator Instrumentation: auto-instrumented SDKs with the client certificate ---

/// Environment variables by name.
type Env = std::collections::BTreeMap<String, String>;
/// A volume the Operator mounts: (kind, name, mount path).
type OperatorMount = (String, String, String);

/// What the Operator does to an instrumented container (operator v0.158.0
/// `internal/instrumentation/exporter.go` `configureExporter`), written here from that
/// source rather than from otel-pki's code: the environment it sets and the volumes it
/// mounts, `(kind, name, mount path)`.
fn operator_injection(instrumentation: &Value) -> (Env, Vec<OperatorMount>) {
    let exporter = &instrumentation["spec"]["exporter"];
    let tls = &exporter["tls"];
    let secret = text(tls, "/secretName");
    let secret_dir = format!("/otel-auto-instrumentation-secret-{secret}");
    let mut mounts = vec![("Secret".to_owned(), secret.to_owned(), secret_dir.clone())];
    let ca_dir = match tls["configMapName"].as_str() {
        Some(config_map) => {
            let dir = format!("/otel-auto-instrumentation-configmap-{config_map}");
            mounts.push(("ConfigMap".to_owned(), config_map.to_owned(), dir.clone()));
            dir
        }
        None => secret_dir.clone(),
    };
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            text(exporter, "/endpoint").to_owned(),
        ),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            format!("{ca_dir}/{}", text(tls, "/ca_file")),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            format!("{secret_dir}/{}", text(tls, "/cert_file")),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            format!("{secret_dir}/{}", text(tls, "/key_file")),
        ),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .into();
    (env, mounts)
}

/// The three files an instrumented SDK reads, written under `into` from the objects the
/// Operator mounts (each must be in `objects`, in the Instrumentation's namespace, with
/// the key the path names): (CA, client certificate, client key).
fn sdk_files(instrumentation: &Value, objects: &[Value], into: &Path) -> [PathBuf; 3] {
    let (env, mounts) = operator_injection(instrumentation);
    let namespace = text(instrumentation, "/metadata/namespace");
    fs::create_dir_all(into).unwrap();
    [
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    ]
    .map(|variable| {
        let path = &env[variable];
        let (kind, name, key) = mounts
            .iter()
            .find_map(|(kind, name, dir)| {
                path.strip_prefix(&format!("{dir}/"))
                    .map(|key| (kind, name, key))
            })
            .unwrap_or_else(|| panic!("{variable}={path} is in no mounted volume"));
        let object = objects
            .iter()
            .find(|doc| doc["kind"] == kind.as_str() && doc["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no {kind} {name} for {variable}"));
        assert_eq!(
            text(object, "/metadata/namespace"),
            namespace,
            "the {kind} must be in the pods' namespace"
        );
        let file = into.join(variable);
        fs::write(&file, crate::k8s::data(object, key)).unwrap();
        file
    })
}

#[test]
fn golden_instrumentation_for_the_gateway() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "instrumentation",
            "-n",
            "apps",
            "--k8s-service",
            "otel-gateway.observability",
            "-q",
        ],
    );
    golden("instrumentation.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    assert_eq!(docs.len(), 1);
    let instrumentation = &docs[0];
    assert_eq!(
        text(instrumentation, "/apiVersion"),
        "opentelemetry.io/v1alpha1"
    );
    // The gateway's Service name and its OTLP/HTTP port, the protocol every
    // auto-instrumentation supports.
    let (env, mounts) = operator_injection(instrumentation);
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "https://otel-gateway.observability.svc.cluster.local:4318"
    );
    assert_eq!(text(instrumentation, "/spec/env/0/value"), "http/protobuf");
    // The Secret `k8s secret --role client -n apps` makes, and its three keys.
    assert_eq!(
        mounts,
        [(
            "Secret".to_owned(),
            "otel-client-tls".to_owned(),
            "/otel-auto-instrumentation-secret-otel-client-tls".to_owned()
        )]
    );
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"],
        "/otel-auto-instrumentation-secret-otel-client-tls/tls.key"
    );
    // The comment lists what the Operator sets, as the Operator's code does.
    for (name, value) in &env {
        assert!(yaml.contains(&format!("#   {name}={value}\n")), "{name}");
    }
    assert!(yaml.contains(
        "#   otel-pki k8s secret --role client --name otel-client-tls -n apps | kubectl apply -f -"
    ));
}

#[test]
fn instrumented_sdks_get_a_working_client_certificate_from_either_secret_shape() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let dir = work.path().join("otel-certs");
    for (shape, secret_flags) in [("tls", &[][..]), ("opaque", &["--opaque"][..])] {
        let objects = documents(&stdout(
            work.path(),
            &[
                &["k8s", "secret", "--role", "client", "-n", "apps", "-q"],
                secret_flags,
            ]
            .concat(),
        ));
        let output = otel_pki(work.path())
            .args([
                "k8s",
                "instrumentation",
                "-n",
                "apps",
                "--secret-keys",
                shape,
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        // The endpoint defaults to the Service in server.crt: no name warning.
        assert!(!stderr.contains("warning"), "{stderr}");
        assert!(
            stderr.contains(
                "the Operator mounts Secret otel-client-tls at /otel-auto-instrumentation-secret-otel-client-tls in each instrumented container"
            ),
            "{stderr}"
        );
        let docs = check_rules(&String::from_utf8(output.stdout).unwrap(), Pem::Real);
        let instrumentation = &docs[0];
        let [ca, cert, key] = sdk_files(instrumentation, &objects, &work.path().join(shape));
        // The SDK's files, at the paths the Operator gives it, against the gateway's
        // server certificate, at the name the endpoint dials.
        let (env, _) = operator_injection(instrumentation);
        let host = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
            .trim_start_matches("https://")
            .rsplit_once(':')
            .unwrap()
            .0
            .to_owned();
        let handshake = mtls_handshake(
            &ServerSide {
                cert: &dir.join("server.crt"),
                key: &dir.join("server.key"),
                client_ca: &dir.join("ca.crt"),
            },
            &ClientSide {
                ca: &ca,
                identity: Some((&cert, &key)),
                server_name: &host,
            },
        );
        assert!(handshake.is_ok(), "{shape}: {handshake:?}");
    }
}

#[test]
fn instrumentation_with_cert_manager_names_what_cert_manager_and_trust_manager_make() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "instrumentation",
            "-n",
            "apps",
            "--name",
            "java-apps",
            "--cert-manager",
            "--endpoint",
            "https://otel-gateway.observability.svc:4318",
            "-q",
        ],
    );
    golden("instrumentation-cert-manager.yaml", &yaml);
    let instrumentation = check_rules(&yaml, Pem::Placeholder).remove(0);
    for bundle_kind in ["bundle", "cluster-bundle"] {
        let manifest = documents(&stdout(
            work.path(),
            &[
                "k8s",
                "cert-manager",
                "--client",
                "java-apps.apps",
                "--bundle-kind",
                bundle_kind,
                "-q",
            ],
        ));
        // cert-manager writes the Secret the Instrumentation names, in its namespace, for
        // client auth.
        let certificate = manifest
            .iter()
            .find(|doc| doc["kind"] == "Certificate" && doc["spec"]["commonName"] == "java-apps")
            .expect("the client Certificate");
        assert_eq!(
            text(certificate, "/spec/secretName"),
            text(&instrumentation, "/spec/exporter/tls/secretName")
        );
        assert_eq!(text(certificate, "/metadata/namespace"), "apps");
        assert!(
            certificate["spec"]["usages"]
                .as_array()
                .unwrap()
                .contains(&"client auth".into())
        );
        // cert-manager's Secret is kubernetes.io/tls: tls.crt and tls.key.
        assert_eq!(
            text(&instrumentation, "/spec/exporter/tls/cert_file"),
            "tls.crt"
        );
        assert_eq!(
            text(&instrumentation, "/spec/exporter/tls/key_file"),
            "tls.key"
        );
        // trust-manager writes the CA ConfigMap (the bundle's name, key ca.crt) in apps.
        let bundle = manifest
            .iter()
            .find(|doc| doc["kind"] == "Bundle" || doc["kind"] == "ClusterBundle")
            .unwrap();
        assert_eq!(
            text(bundle, "/metadata/name"),
            text(&instrumentation, "/spec/exporter/tls/configMapName")
        );
        let target_key = bundle["spec"]["target"]["configMap"]
            .get("key")
            .or_else(|| bundle.pointer("/spec/target/configMap/data/0/key"))
            .and_then(Value::as_str)
            .unwrap();
        assert_eq!(
            target_key,
            text(&instrumentation, "/spec/exporter/tls/ca_file")
        );
        assert!(
            bundle["spec"]["target"]["namespaceSelector"]["matchExpressions"][0]["values"]
                .as_array()
                .unwrap()
                .contains(&"apps".into())
        );
    }
}

#[test]
fn instrumentation_warns_about_ed25519_and_names_the_flag_on_mistakes() {
    let work = workdir();
    let instrumentation =
        |args: &[&str]| failure(work.path(), &[&["k8s", "instrumentation"], args].concat());
    let error = instrumentation(&[]);
    assert!(
        error.contains("the SDKs need --endpoint HOST:PORT or --k8s-service NAME.NAMESPACE"),
        "{error}"
    );
    let error = instrumentation(&["--endpoint", "http://gw:4318"]);
    assert!(error.contains("invalid --endpoint"), "{error}");
    let error = instrumentation(&[
        "--endpoint",
        "gw",
        "--cert-manager",
        "--secret-keys",
        "opaque",
    ]);
    assert!(
        error.contains("--secret-keys opaque cannot be used with --cert-manager"),
        "{error}"
    );
    let error = instrumentation(&["--endpoint", "gw", "--name", "Java"]);
    assert!(error.contains("invalid --name `Java`"), "{error}");

    init(
        work.path(),
        &[
            "--k8s-service",
            "otel-gateway.observability",
            "--key-type",
            "ed25519",
            "-q",
        ],
    );
    for protocol in ["http", "grpc"] {
        let output = otel_pki(work.path())
            .args([
                "k8s",
                "instrumentation",
                "-n",
                "apps",
                "--protocol",
                protocol,
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("has an Ed25519 key: the OpenTelemetry Java agent cannot load it")
                && stderr.contains("gRPC's C core"),
            "{stderr}"
        );
        let yaml = String::from_utf8(output.stdout).unwrap();
        let port = if protocol == "grpc" { 4317 } else { 4318 };
        assert!(
            yaml.contains(&format!(
                "endpoint: \"https://otel-gateway.observability.svc.cluster.local:{port}\""
            )),
            "{yaml}"
        );
        assert_eq!(
            stderr.contains("Python auto-instrumentation supports http/protobuf only"),
            protocol == "grpc"
        );
    }
}

// --- the Operator's target allocator with mutual TLS ---

/// The configuration without what `--target-allocator-mtls` adds (the prometheus receiver
/// and its place in the metrics pipeline), which must then be `otel-pki config`'s.
fn without_prometheus(config: &Value) -> Value {
    let mut config = config.clone();
    let receiver = config["receivers"]
        .as_object_mut()
        .unwrap()
        .remove("prometheus")
        .expect("a prometheus receiver");
    // Its targets come from the target allocator: no scrape configuration of its own.
    assert_eq!(
        receiver,
        serde_json::json!({"config": {"scrape_configs": []}})
    );
    let receivers = config["service"]["pipelines"]["metrics"]["receivers"]
        .as_array_mut()
        .unwrap();
    let before = receivers.len();
    receivers.retain(|name| name != "prometheus");
    assert_eq!(
        receivers.len(),
        before - 1,
        "prometheus in the metrics pipeline"
    );
    for (signal, pipeline) in config["service"]["pipelines"].as_object().unwrap() {
        assert!(
            !pipeline["receivers"]
                .as_array()
                .unwrap()
                .contains(&"prometheus".into()),
            "{signal}"
        );
    }
    config
}

/// `spec.targetAllocator` as the Operator v0.158.0 validates it
/// (`internal/manifests/manifestutils/mtls.go` `ValidateTAMTLS`, `collector_webhook.go`):
/// mode statefulset, mtls enabled, and without cert-manager a CA from exactly one of a
/// Secret or a ConfigMap plus server and client certificates. Returns every
/// (kind, name, key) it references.
fn check_target_allocator(collector: &Value) -> Vec<(String, String, String)> {
    assert_eq!(text(collector, "/spec/mode"), "statefulset");
    let ta = &collector["spec"]["targetAllocator"];
    assert_eq!(ta["enabled"], true);
    assert_eq!(ta["prometheusCR"]["enabled"], true);
    let mtls = &ta["mtls"];
    assert_eq!(mtls["enabled"], true);
    let fields: Vec<&String> = mtls.as_object().unwrap().keys().collect();
    if mtls["useCertManager"] == true {
        assert_eq!(fields, ["enabled", "useCertManager"]);
        return Vec::new();
    }
    assert_eq!(mtls["useCertManager"], false);
    assert_eq!(fields, ["enabled", "tls", "useCertManager"]);
    let tls = &mtls["tls"];
    let ca = tls["certificateAuthorityCertificate"].as_object().unwrap();
    assert_eq!(ca.len(), 1, "exactly one of secret or configMap");
    let (kind, reference) = ca.iter().next().unwrap();
    let mut references = vec![(
        if kind == "secret" {
            "Secret"
        } else {
            "ConfigMap"
        }
        .to_owned(),
        text(reference, "/name").to_owned(),
        text(reference, "/key").to_owned(),
    )];
    for field in ["serverCertificate", "clientCertificate"] {
        for part in ["certificateSecret", "keySecret"] {
            let selector = &tls[field][part];
            references.push((
                "Secret".to_owned(),
                text(selector, "/name").to_owned(),
                text(selector, "/key").to_owned(),
            ));
        }
    }
    references
}

#[test]
fn golden_operator_agent_with_target_allocator_mtls() {
    let work = workdir();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--operator",
            "--target-allocator-mtls",
            "-n",
            "apps",
            "--k8s-service",
            "otel-gateway.observability",
            "-q",
        ],
    );
    golden("operator-target-allocator.yaml", &yaml);
    let workload = check_workload(&yaml);
    check_operator_resource(&workload.workload);
    let expected = stdout(
        work.path(),
        &[
            "config",
            "collector",
            "--endpoint",
            "otel-gateway.observability.svc.cluster.local",
            "-q",
        ],
    );
    assert_eq!(
        without_prometheus(&workload.config),
        documents(&expected)[0]
    );
    assert_eq!(
        check_target_allocator(&workload.workload),
        [
            ("Secret", "otel-client-tls", "ca.crt"),
            ("Secret", "otel-targetallocator-tls", "tls.crt"),
            ("Secret", "otel-targetallocator-tls", "tls.key"),
            ("Secret", "otel-client-tls", "tls.crt"),
            ("Secret", "otel-client-tls", "tls.key"),
        ]
        .map(|(kind, name, key)| (kind.to_owned(), name.to_owned(), key.to_owned()))
    );
    // The comments say how to make the target allocator's certificate, with the name the
    // Collector dials.
    assert!(yaml.contains(
        "#   otel-pki issue server --name targetallocator --k8s-service otel-collector-targetallocator.apps\n"
    ));
    assert!(yaml.contains(
        "#   otel-pki k8s secret --cert targetallocator --name otel-targetallocator-tls -n apps | kubectl apply -f -\n"
    ));

    // With --cert-manager the Operator's own cert-manager certificates.
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "gateway",
            "--operator",
            "--cert-manager",
            "--target-allocator-mtls",
            "--k8s-service",
            "otel-gateway.observability",
            "-q",
        ],
    );
    let workload = check_workload(&yaml);
    check_operator_resource(&workload.workload);
    assert!(check_target_allocator(&workload.workload).is_empty());
    // A gateway without --upstream mounts no client Secret, but its target allocator
    // client certificate may come from --client-secret.
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "deployment",
            "--role",
            "gateway",
            "--operator",
            "--target-allocator-mtls",
            "--client-secret",
            "ta-client",
            "--k8s-service",
            "otel-gateway.observability",
            "-q",
        ],
    );
    let workload = check_workload(&yaml);
    let references = check_target_allocator(&workload.workload);
    assert_eq!(references[0].1, "ta-client");
    assert_eq!(references[4].1, "ta-client");
    assert!(!workload.files.iter().any(|file| file.contains("client")));
    assert!(
        yaml.contains("#   otel-pki k8s secret --role client --name ta-client -n observability")
    );
    // Only with --operator.
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--target-allocator-mtls",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--operator"));
}

#[test]
fn target_allocator_and_collector_certificates_from_the_secrets_make_a_working_mtls_pair() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "targetallocator",
            "--k8s-service",
            "otel-collector-targetallocator.apps",
            "-q",
        ])
        .assert()
        .success();
    for (shape, opaque) in [("tls", &[][..]), ("opaque", &["--opaque"][..])] {
        let mut objects = documents(&stdout(
            work.path(),
            &[
                &[
                    "k8s",
                    "secret",
                    "--cert",
                    "targetallocator",
                    "-n",
                    "apps",
                    "-q",
                ],
                opaque,
            ]
            .concat(),
        ));
        objects.extend(documents(&stdout(
            work.path(),
            &[
                &["k8s", "secret", "--role", "client", "-n", "apps", "-q"],
                opaque,
            ]
            .concat(),
        )));
        let output = otel_pki(work.path())
            .args([
                "k8s",
                "deployment",
                "--role",
                "agent",
                "--operator",
                "--target-allocator-mtls",
                "-n",
                "apps",
                "--secret-keys",
                shape,
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.contains("warning"), "{stderr}");
        let workload = check_workload(&String::from_utf8(output.stdout).unwrap());
        // Every Secret key it references is in a Secret `k8s secret` made, in its namespace.
        let pod = work.path().join(format!("ta-{shape}"));
        fs::create_dir_all(&pod).unwrap();
        let mut files = Vec::new();
        for (index, (kind, name, key)) in check_target_allocator(&workload.workload)
            .iter()
            .enumerate()
        {
            let object = objects
                .iter()
                .find(|doc| {
                    doc["kind"] == kind.as_str() && doc["metadata"]["name"] == name.as_str()
                })
                .unwrap_or_else(|| panic!("{shape}: no {kind} {name}"));
            assert_eq!(text(object, "/metadata/namespace"), "apps");
            let file = pod.join(format!("{index}-{key}"));
            fs::write(&file, crate::k8s::data(object, key)).unwrap();
            files.push(file);
        }
        // The target allocator serves with its certificate and verifies the Collector's
        // client certificate with the CA; the Collector dials the short Service name.
        let handshake = mtls_handshake(
            &ServerSide {
                cert: &files[1],
                key: &files[2],
                client_ca: &files[0],
            },
            &ClientSide {
                ca: &files[0],
                identity: Some((&files[3], &files[4])),
                server_name: "otel-collector-targetallocator",
            },
        );
        assert!(handshake.is_ok(), "{shape}: {handshake:?}");
    }

    // A target allocator certificate without that name is warned about.
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "targetallocator",
            "--san",
            "ta.example.com",
            "--force",
            "-q",
        ])
        .assert()
        .success();
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "deployment",
            "--role",
            "agent",
            "--operator",
            "--target-allocator-mtls",
            "-n",
            "apps",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: `otel-collector-targetallocator` is not a name in the target allocator's certificate `./otel-certs/targetallocator.crt`, and the Collector dials https://otel-collector-targetallocator:443; issue it with `otel-pki issue server --name targetallocator --k8s-service otel-collector-targetallocator.apps --force`"),
        "{stderr}"
    );
}
