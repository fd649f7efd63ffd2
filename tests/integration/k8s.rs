//! `otel-pki k8s secret|cert-manager` and the Kubernetes Service names of `init` and
//! `issue server`. Every manifest is parsed (yaml-rust2, YAML 1.2) and checked against the
//! rules in [`check_rules`]; Secrets and ConfigMaps are also validated against the
//! Kubernetes OpenAPI schemas with `kubernetes-validate` (offline, installed by `.ci/run`).
//! Templates are golden-tested with fixed contexts (tests/golden/k8s/; bless changes with
//! `OTEL_PKI_UPDATE_GOLDEN=1 cargo test --test integration k8s`). `k8s deployment` is
//! tested in `k8s_deployment.rs` with these helpers.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use otel_pki::cmd::k8s::ManifestReport;
use otel_pki::k8s::{self, *};
use otel_pki::pki::certificate::{self, Role};
use otel_pki::pki::{KeyType, PrivateKey};
use otel_pki::render::Templates;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::*;

// --- helpers: parsing, rules, the validator, golden files ---

/// Every document of a YAML stream, as JSON values.
pub fn documents(yaml: &str) -> Vec<Value> {
    YamlLoader::load_from_str(yaml)
        .unwrap_or_else(|error| panic!("invalid YAML ({error}):\n{yaml}"))
        .iter()
        .map(to_json)
        .collect()
}

fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Hash(hash) => Value::Object(
            hash.iter()
                .map(|(key, value)| {
                    let key = match key {
                        Yaml::String(key) => key.clone(),
                        other => panic!("non-string YAML key {other:?}"),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Integer(number) => Value::from(*number),
        Yaml::Real(text) => Value::from(text.parse::<f64>().expect("a float")),
        Yaml::Boolean(flag) => Value::Bool(*flag),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// A string at a JSON pointer, e.g. `/metadata/name`.
pub fn text<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {doc:#}"))
}

/// The decoded value of a Secret's `data` key (base64) or a ConfigMap's `data` key.
pub fn data(doc: &Value, key: &str) -> Vec<u8> {
    let value = doc["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no data key {key} in {doc:#}"));
    if doc["kind"] == "Secret" {
        base64::engine::general_purpose::STANDARD
            .decode(value)
            .unwrap_or_else(|error| panic!("data.{key} is not base64: {error}"))
    } else {
        value.as_bytes().to_vec()
    }
}

/// The documents of one kind.
pub fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|doc| doc["kind"] == kind).collect()
}

/// apiVersion of every kind otel-pki writes (shared/reference/otel-config.md, 4 and 5).
const API_VERSIONS: &[(&str, &str)] = &[
    ("Bundle", "trust.cert-manager.io/v1alpha1"),
    ("ClusterBundle", "trust-manager.io/v1alpha2"),
    ("Instrumentation", "opentelemetry.io/v1alpha1"),
    ("Certificate", "cert-manager.io/v1"),
    ("ClusterIssuer", "cert-manager.io/v1"),
    ("ConfigMap", "v1"),
    ("Deployment", "apps/v1"),
    ("OpenTelemetryCollector", "opentelemetry.io/v1beta1"),
    ("Pod", "v1"),
    ("Secret", "v1"),
    ("Service", "v1"),
];

/// Whether the PEM in the manifests is real (checked with crypto) or golden placeholders.
#[derive(Clone, Copy, PartialEq)]
pub enum Pem {
    Real,
    Placeholder,
}

/// Parses a manifest and asserts the rules; returns its documents.
///
/// - apiVersion as in the reference for every kind; metadata.name everywhere;
/// - no `subPath` (or `subPathExpr`) key anywhere: subPath mounts never receive rotated
///   certificates;
/// - a private key only under a `*.key` data key of a Secret, never in a ConfigMap or
///   another key, and (real PEM) it matches the Secret's certificate; a Secret whose
///   certificate is a CA carries the WARNING comment;
/// - Secret data is base64; `kubernetes.io/tls` has tls.crt and tls.key;
/// - Certificates: explicit usages with digital signature and exactly one of server auth
///   / client auth, key encipherment for RSA only, privateKey algorithm/size valid,
///   PKCS8, rotationPolicy Always, Go durations with renewBefore < duration, issuerRef
///   to cert-manager.io, DNS names for servers;
/// - ClusterIssuer of kind CA pointing at a Secret; Bundle sourced from a ConfigMap (never
///   the issuing CA's Secret) into a ConfigMap target;
/// - projected volumes (pods) with defaultMode 0440 and read-only mounts.
pub fn check_rules(yaml: &str, pem: Pem) -> Vec<Value> {
    let docs = documents(yaml);
    assert!(!docs.is_empty(), "empty manifest");
    for doc in &docs {
        assert_no_sub_path(doc);
        let kind = text(doc, "/kind");
        let expected = API_VERSIONS
            .iter()
            .find(|(known, _)| *known == kind)
            .unwrap_or_else(|| panic!("unexpected kind {kind}"))
            .1;
        assert_eq!(text(doc, "/apiVersion"), expected, "{kind}");
        assert!(!text(doc, "/metadata/name").is_empty());
        match kind {
            "Secret" => check_secret(doc, yaml, pem),
            "ConfigMap" => {
                for (key, value) in doc["data"].as_object().expect("ConfigMap data") {
                    let value = value.as_str().expect("string data");
                    assert!(
                        !value.contains("PRIVATE KEY"),
                        "private key in ConfigMap key {key}"
                    );
                    // A Collector configuration (k8s deployment) holds no PEM.
                    if pem == Pem::Real && value.contains("-----BEGIN") {
                        let ders = certificate::decode_certificates(value.as_bytes(), key)
                            .expect("certificates in the ConfigMap");
                        for der in ders {
                            assert_eq!(Role::of(&certificate::parse(&der).unwrap()), Role::Ca);
                        }
                    }
                }
            }
            "Certificate" => check_certificate(doc),
            "ClusterIssuer" => {
                let secret = text(doc, "/spec/ca/secretName");
                let found = of_kind(&docs, "Secret")
                    .into_iter()
                    .any(|s| s["metadata"]["name"] == secret && s["type"] == "kubernetes.io/tls");
                assert!(
                    found,
                    "ClusterIssuer's Secret {secret} is not in the manifest"
                );
                assert!(doc["metadata"].get("namespace").is_none(), "cluster-scoped");
            }
            "Bundle" => {
                let spec = doc["spec"].as_object().expect("spec");
                assert_eq!(spec.keys().collect::<Vec<_>>(), ["sources", "target"]);
                for source in doc["spec"]["sources"].as_array().expect("sources") {
                    assert!(
                        source.get("secret").is_none(),
                        "Bundle sourced from a Secret"
                    );
                    let config_map = &source["configMap"];
                    check_bundle_source(&docs, text(config_map, "/name"), text(config_map, "/key"));
                }
                assert!(doc["spec"]["target"]["configMap"]["key"].is_string());
                assert!(doc["spec"]["target"]["namespaceSelector"].is_object());
                assert!(doc["metadata"].get("namespace").is_none(), "cluster-scoped");
            }
            // Field names of trust-manager v0.24.0 pkg/apis/trustmanager/v1alpha2
            // (types_cluster_bundle.go): sourceRefs of {kind, name, key}; target.configMap.data
            // a list of {key}; target.namespaceSelector required.
            "ClusterBundle" => {
                let spec = doc["spec"].as_object().expect("spec");
                assert_eq!(spec.keys().collect::<Vec<_>>(), ["sourceRefs", "target"]);
                for source in doc["spec"]["sourceRefs"].as_array().expect("sourceRefs") {
                    let fields: Vec<&String> = source.as_object().unwrap().keys().collect();
                    assert_eq!(fields, ["key", "kind", "name"], "{source}");
                    assert_eq!(text(source, "/kind"), "ConfigMap", "never a Secret");
                    check_bundle_source(&docs, text(source, "/name"), text(source, "/key"));
                }
                let target = &doc["spec"]["target"];
                let data = target["configMap"]["data"].as_array().expect("data");
                assert!(!data.is_empty() && data.iter().all(|item| item["key"].is_string()));
                assert!(target["configMap"].get("key").is_none(), "a v1alpha1 field");
                assert!(
                    target["namespaceSelector"].is_object(),
                    "required in v1alpha2"
                );
                assert!(doc["metadata"].get("namespace").is_none(), "cluster-scoped");
            }
            "Pod" | "Deployment" | "OpenTelemetryCollector" => check_pod_volumes(doc),
            "Instrumentation" => check_instrumentation(doc),
            _ => {}
        }
    }
    docs
}

/// An Operator `Instrumentation` as operator v0.158.0 reads it (`apis/v1alpha1`
/// `Exporter`/`TLS`, `internal/webhook/instrumentation_webhook.go` `validateExporter`): an
/// `https://` endpoint, `tls` with only the five known fields, `cert_file` and `key_file`
/// both set, every file a data key (not an absolute path), and the protocol in `spec.env`.
pub fn check_instrumentation(doc: &Value) {
    assert!(doc["metadata"]["namespace"].is_string(), "namespaced");
    let spec = doc["spec"].as_object().expect("spec");
    assert_eq!(spec.keys().collect::<Vec<_>>(), ["env", "exporter"]);
    let exporter = &doc["spec"]["exporter"];
    assert!(
        text(exporter, "/endpoint").starts_with("https://"),
        "exporter.tls without an https:// endpoint"
    );
    let tls = exporter["tls"].as_object().expect("spec.exporter.tls");
    for field in tls.keys() {
        assert!(
            [
                "secretName",
                "configMapName",
                "ca_file",
                "cert_file",
                "key_file"
            ]
            .contains(&field.as_str()),
            "unknown field tls.{field}"
        );
    }
    assert!(!text(exporter, "/tls/secretName").is_empty());
    for field in ["ca_file", "cert_file", "key_file"] {
        let key = text(exporter, &format!("/tls/{field}"));
        assert!(!key.is_empty() && !key.starts_with('/'), "{field}: {key}");
    }
    let env = doc["spec"]["env"].as_array().expect("spec.env");
    let protocol = env
        .iter()
        .find(|variable| variable["name"] == "OTEL_EXPORTER_OTLP_PROTOCOL")
        .map(|variable| text(variable, "/value"))
        .expect("OTEL_EXPORTER_OTLP_PROTOCOL");
    assert!(["grpc", "http/protobuf"].contains(&protocol), "{protocol}");
}

/// A trust-manager source: a ConfigMap of the manifest with that key, holding no key.
fn check_bundle_source(docs: &[Value], name: &str, key: &str) {
    let source = of_kind(docs, "ConfigMap")
        .into_iter()
        .find(|doc| doc["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("the bundle's source ConfigMap {name} is not in the manifest"));
    assert!(source["data"].get(key).is_some(), "{name} has no {key}");
}

/// No `subPath` or `subPathExpr` key anywhere in the object (comments and the text of a
/// configuration may say "no subPath").
fn assert_no_sub_path(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                assert!(
                    key != "subPath" && key != "subPathExpr",
                    "{key}: {value} (subPath mounts never receive rotated files)"
                );
                assert_no_sub_path(value);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_sub_path),
        _ => {}
    }
}

fn check_secret(doc: &Value, yaml: &str, pem: Pem) {
    let secret_type = text(doc, "/type");
    let entries = doc["data"].as_object().expect("Secret data");
    if secret_type == "kubernetes.io/tls" {
        assert!(entries.contains_key("tls.crt") && entries.contains_key("tls.key"));
    } else {
        assert_eq!(secret_type, "Opaque");
    }
    let mut key_entry = None;
    let mut cert_entry = None;
    for key in entries.keys() {
        let value = String::from_utf8(data(doc, key)).expect("PEM text");
        if value.contains("PRIVATE KEY") {
            assert!(key.ends_with(".key"), "private key under `{key}`");
            assert!(key_entry.is_none(), "two private keys in one Secret");
            key_entry = Some((key.clone(), value));
        } else if key != "ca.crt" {
            cert_entry = Some(value);
        }
    }
    let Some((key_name, key_pem)) = key_entry else {
        return;
    };
    let cert_pem = cert_entry.expect("a private key without its certificate");
    if pem == Pem::Placeholder {
        return;
    }
    let key = PrivateKey::from_pem_or_der(key_pem.as_bytes(), &key_name).expect("a key");
    let ders = certificate::decode_certificates(cert_pem.as_bytes(), "cert").unwrap();
    assert!(
        key.matches_certificate(&ders[0]),
        "the key is not the certificate's"
    );
    if Role::of(&certificate::parse(&ders[0]).unwrap()) == Role::Ca {
        assert!(
            yaml.contains("# WARNING: this Secret holds the PRIVATE KEY of"),
            "a CA key without the warning"
        );
    }
}

fn go_duration(text: &str) -> i64 {
    let mut total = 0;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let value: i64 = number.parse().expect("a number");
                total += value
                    * match c {
                        'h' => 3600,
                        'm' => 60,
                        _ => 1,
                    };
                number.clear();
            }
            _ => panic!("not a Go duration: {text}"),
        }
    }
    assert!(number.is_empty(), "not a Go duration: {text}");
    total
}

fn check_certificate(doc: &Value) {
    let spec = &doc["spec"];
    assert!(!text(doc, "/spec/secretName").is_empty());
    assert!(doc["metadata"]["namespace"].is_string());
    let usages: Vec<&str> = spec["usages"]
        .as_array()
        .expect("explicit usages")
        .iter()
        .map(|usage| usage.as_str().unwrap())
        .collect();
    assert!(usages.contains(&"digital signature"), "{usages:?}");
    let server = usages.contains(&"server auth");
    let client = usages.contains(&"client auth");
    assert!(server != client, "exactly one purpose: {usages:?}");
    let algorithm = text(doc, "/spec/privateKey/algorithm");
    assert_eq!(
        usages.contains(&"key encipherment"),
        algorithm == "RSA",
        "{usages:?}"
    );
    let size = spec["privateKey"]["size"].as_i64();
    match algorithm {
        "ECDSA" => assert!(matches!(size, Some(256 | 384 | 521))),
        "RSA" => assert!(size.is_some_and(|size| (2048..=8192).contains(&size))),
        "Ed25519" => assert!(size.is_none()),
        other => panic!("algorithm {other}"),
    }
    assert_eq!(text(doc, "/spec/privateKey/encoding"), "PKCS8");
    assert_eq!(text(doc, "/spec/privateKey/rotationPolicy"), "Always");
    let duration = go_duration(text(doc, "/spec/duration"));
    let renew_before = go_duration(text(doc, "/spec/renewBefore"));
    assert!(duration >= 3600 && renew_before >= 300 && renew_before < duration);
    assert_eq!(text(doc, "/spec/issuerRef/group"), "cert-manager.io");
    assert!(["ClusterIssuer", "Issuer"].contains(&text(doc, "/spec/issuerRef/kind")));
    let dns_names = spec["dnsNames"].as_array().map_or(0, Vec::len);
    assert!(dns_names > 0 || spec["commonName"].is_string());
    if server {
        assert!(dns_names > 0, "a server Certificate without dnsNames");
    }
}

/// Pods (and the Operator's `OpenTelemetryCollector`, whose spec carries the pod fields as
/// `podSecurityContext`, `volumes`, `volumeMounts`): fsGroup 10001, projected volumes with
/// defaultMode 0440, every mount read-only.
fn check_pod_volumes(doc: &Value) {
    let operator = doc["kind"] == "OpenTelemetryCollector";
    let spec = doc
        .pointer("/spec/template/spec")
        .unwrap_or_else(|| &doc["spec"]);
    let security = if operator {
        &spec["podSecurityContext"]
    } else {
        &spec["securityContext"]
    };
    assert_eq!(security["fsGroup"], 10001);
    for volume in spec["volumes"].as_array().expect("volumes") {
        if let Some(projected) = volume.get("projected") {
            assert_eq!(projected["defaultMode"], 0o440, "defaultMode 0440");
        }
    }
    let mounts: Vec<&Value> = if operator {
        spec["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    } else {
        spec["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .flat_map(|container| container["volumeMounts"].as_array().into_iter().flatten())
            .collect()
    };
    for mount in mounts {
        assert_eq!(mount["readOnly"], true);
    }
}

/// Runs `kubernetes-validate --strict` against Kubernetes 1.36 (the reference's version)
/// on `yaml`. Custom resources (cert-manager, trust-manager) have no schema there and are
/// only warned about; they are checked by [`check_rules`]. The tool must be installed:
/// `.ci/run` installs it.
pub fn kubernetes_validate(yaml: &str) {
    // .ci/interop-setup installs it in target/interop/venv; in CI (.ci/run) it is required.
    let venv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/interop/venv/bin/kubernetes-validate");
    let program = if venv.exists() {
        venv.into_os_string()
    } else {
        "kubernetes-validate".into()
    };
    let dir = workdir();
    let path = dir.path().join("manifest.yaml");
    fs::write(&path, yaml).unwrap();
    let result = match std::process::Command::new(&program)
        .args(["--kubernetes-version", "1.36.0", "--strict", "--quiet"])
        .arg(&path)
        .output()
    {
        Ok(result) => result,
        Err(error) => {
            assert!(
                std::env::var_os("OTEL_PKI_INTEROP_REQUIRED").is_none(),
                "kubernetes-validate: {error} (run .ci/interop-setup)"
            );
            eprintln!("kubernetes-validate not run: {error} (run .ci/interop-setup)");
            return;
        }
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        result.status.success(),
        "kubernetes-validate:\n{report}\n{yaml}"
    );
    assert!(!report.contains("ERROR"), "{report}");
}

/// Compares `actual` with tests/golden/k8s/NAME; `OTEL_PKI_UPDATE_GOLDEN=1` rewrites the file.
pub fn golden(name: &str, actual: &str) {
    assert_golden(&format!("k8s/{name}"), actual);
}

/// Runs `otel-pki ARGS` in `dir`, asserts success, returns stdout.
pub fn stdout(dir: &Path, args: &[&str]) -> String {
    let output = otel_pki(dir).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `otel-pki ARGS` in `dir`, asserts exit 2, returns stderr.
pub fn failure(dir: &Path, args: &[&str]) -> String {
    let output = otel_pki(dir).args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?} should fail");
    assert!(
        output.stdout.is_empty(),
        "{args:?} printed to stdout on error"
    );
    String::from_utf8(output.stderr).unwrap()
}

fn set(work: &Path) -> PathBuf {
    work.join("otel-certs")
}

// --- golden files: each template with a fixed context ---

fn placeholder(label: &str, name: &str) -> String {
    format!("-----BEGIN {label}-----\nPLACEHOLDER/{name}\n-----END {label}-----\n")
}

fn entry(key: &str, content: String, description: &str, private_key: bool) -> PemEntry {
    PemEntry {
        key: key.into(),
        content,
        description: description.into(),
        private_key,
    }
}

fn ca_entry() -> PemEntry {
    entry(
        "ca.crt",
        placeholder("CERTIFICATE", "ca.crt"),
        "CA certificate CN=OTel Telemetry CA, serialNumber=0a1b2c3d (expires 2036-11-25)",
        false,
    )
}

fn fixture_ca_secret() -> PemObject {
    let what = "the CA \"OTel Telemetry CA\" (./otel-certs/ca.key)";
    let mut secret = PemObject::secret(
        "otel-pki-ca",
        "cert-manager",
        TLS_SECRET_TYPE,
        vec![
            entry(
                "tls.crt",
                placeholder("CERTIFICATE", "ca.crt"),
                "CA certificate CN=OTel Telemetry CA, serialNumber=0a1b2c3d (expires 2036-11-25)",
                false,
            ),
            entry(
                "tls.key",
                placeholder("PRIVATE KEY", "ca.key"),
                &format!("PRIVATE KEY of {what}"),
                true,
            ),
        ],
    );
    secret.comments = k8s::ca_key_comments(what, "cert-manager", false);
    secret
}

fn fixture_certificate(name: &str, purpose: Purpose, key_type: KeyType) -> Certificate {
    Certificate {
        name: format!(
            "{name}-{}",
            if purpose == Purpose::Server {
                "server"
            } else {
                "client"
            }
        ),
        namespace: "observability".into(),
        labels: k8s::labels(),
        secret_name: format!(
            "{name}-{}-tls",
            if purpose == Purpose::Server {
                "server"
            } else {
                "client"
            }
        ),
        duration: "2160h".into(),
        renew_before: "720h".into(),
        duration_text: "90d".into(),
        renew_before_text: "30d".into(),
        common_name: (purpose == Purpose::Client).then(|| name.to_owned()),
        dns_names: if purpose == Purpose::Server {
            [
                "",
                ".observability",
                ".observability.svc",
                ".observability.svc.cluster.local",
            ]
            .map(|suffix| format!("{name}{suffix}"))
            .to_vec()
        } else {
            Vec::new()
        },
        usages: k8s::usages(purpose, key_type),
        private_key: PrivateKeySpec::for_key_type(key_type),
        issuer: IssuerRef {
            name: "otel-pki-ca".into(),
            kind: "ClusterIssuer".into(),
            group: "cert-manager.io".into(),
        },
    }
}

fn fixture_cert_manager(bundle_kind: BundleKind) -> CertManagerManifest {
    let mut ca_certificates =
        PemObject::config_map("otel-pki-ca-certs", "cert-manager", vec![ca_entry()]);
    ca_certificates.comments = k8s::ca_certificates_comments("otel-ca-bundle");
    CertManagerManifest {
        comments: k8s::cert_manager_comments(bundle_kind),
        ca_secret: fixture_ca_secret(),
        cluster_issuer: ClusterIssuer {
            name: "otel-pki-ca".into(),
            secret_name: "otel-pki-ca".into(),
            labels: k8s::labels(),
        },
        ca_certificates,
        bundle: Bundle {
            kind: bundle_kind,
            name: "otel-ca-bundle".into(),
            labels: k8s::labels(),
            source_config_map: "otel-pki-ca-certs".into(),
            source_key: "ca.crt".into(),
            target_key: "ca.crt".into(),
            namespaces: vec!["apps".into(), "observability".into()],
        },
        certificates: vec![
            fixture_certificate("otel-gateway", Purpose::Server, KeyType::EcdsaP256),
            fixture_certificate("otel-collector", Purpose::Client, KeyType::EcdsaP384),
            fixture_certificate("legacy-agent", Purpose::Client, KeyType::Rsa2048),
        ],
    }
}

#[test]
fn golden_tls_secret() {
    let secret = PemObject::secret(
        "otel-server-tls",
        "observability",
        TLS_SECRET_TYPE,
        vec![
            entry(
                "tls.crt",
                placeholder("CERTIFICATE", "server.crt"),
                "server.crt: server certificate CN=otel-gateway (serverAuth), expires 2027-11-28",
                false,
            ),
            entry(
                "tls.key",
                placeholder("PRIVATE KEY", "server.key"),
                "private key of server.crt (ECDSA P-256)",
                true,
            ),
            ca_entry(),
        ],
    );
    let yaml = secret.render(&Templates::new(None).unwrap()).unwrap();
    golden("secret-tls.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    assert_eq!(
        data(&docs[0], "tls.key"),
        placeholder("PRIVATE KEY", "server.key").as_bytes()
    );
    kubernetes_validate(&yaml);
}

#[test]
fn golden_opaque_secret_with_the_guides_key_names() {
    let secret = PemObject::secret(
        "otel-mtls-certs",
        "monitoring",
        OPAQUE_SECRET_TYPE,
        vec![
            entry(
                "client.crt",
                placeholder("CERTIFICATE", "client.crt"),
                "client.crt: client certificate CN=otel-collector (clientAuth), expires 2027-11-28",
                false,
            ),
            entry(
                "client.key",
                placeholder("PRIVATE KEY", "client.key"),
                "private key of client.crt (ECDSA P-256)",
                true,
            ),
            ca_entry(),
        ],
    );
    let yaml = secret.render(&Templates::new(None).unwrap()).unwrap();
    golden("secret-opaque.yaml", &yaml);
    check_rules(&yaml, Pem::Placeholder);
    kubernetes_validate(&yaml);
}

#[test]
fn golden_ca_issuer_secret_and_ca_config_map() {
    let templates = Templates::new(None).unwrap();
    let yaml = fixture_ca_secret().render(&templates).unwrap();
    golden("secret-ca-issuer.yaml", &yaml);
    assert!(yaml.starts_with("# WARNING: this Secret holds the PRIVATE KEY of the CA"));
    check_rules(&yaml, Pem::Placeholder);
    kubernetes_validate(&yaml);

    let config_map = PemObject::config_map("otel-ca", "observability", vec![ca_entry()]);
    let yaml = config_map.render(&templates).unwrap();
    golden("configmap-ca.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    // A literal block: the value is the PEM, newline included.
    assert_eq!(
        data(&docs[0], "ca.crt"),
        placeholder("CERTIFICATE", "ca.crt").as_bytes()
    );
    kubernetes_validate(&yaml);
}

#[test]
fn golden_cert_manager_bootstrap() {
    let manifest = fixture_cert_manager(BundleKind::Bundle);
    let yaml = manifest.render(&Templates::new(None).unwrap()).unwrap();
    golden("cert-manager.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    let kinds: Vec<&str> = docs.iter().map(|doc| text(doc, "/kind")).collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "ClusterIssuer",
            "ConfigMap",
            "Bundle",
            "Certificate",
            "Certificate",
            "Certificate"
        ]
    );
    // The objects the report lists are the ones rendered, in order.
    let reported: Vec<String> = manifest.objects().iter().map(|o| o.kind.clone()).collect();
    assert_eq!(reported, kinds);
    let rsa = &docs[6];
    assert_eq!(
        rsa["spec"]["usages"],
        serde_json::json!(["digital signature", "key encipherment", "client auth"])
    );
    assert_eq!(
        docs[3]["spec"]["target"]["namespaceSelector"]["matchExpressions"][0]["values"],
        serde_json::json!(["apps", "observability"])
    );
    kubernetes_validate(&yaml);
}

#[test]
fn golden_cert_manager_bootstrap_with_a_cluster_bundle() {
    let manifest = fixture_cert_manager(BundleKind::ClusterBundle);
    let yaml = manifest.render(&Templates::new(None).unwrap()).unwrap();
    golden("cert-manager-cluster-bundle.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    let reported: Vec<(String, String)> = manifest
        .objects()
        .iter()
        .map(|o| (o.kind.clone(), o.api_version.clone()))
        .collect();
    let rendered: Vec<(String, String)> = docs
        .iter()
        .map(|doc| {
            (
                text(doc, "/kind").to_owned(),
                text(doc, "/apiVersion").to_owned(),
            )
        })
        .collect();
    assert_eq!(reported, rendered);
    let bundle = &docs[3];
    assert_eq!(
        bundle["spec"],
        serde_json::json!({
            "sourceRefs": [{"kind": "ConfigMap", "name": "otel-pki-ca-certs", "key": "ca.crt"}],
            "target": {
                "configMap": {"data": [{"key": "ca.crt"}]},
                "namespaceSelector": {"matchExpressions": [{
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": ["apps", "observability"],
                }]},
            },
        })
    );
    // The rest is the same as with a Bundle.
    let bundle_docs = documents(
        &fixture_cert_manager(BundleKind::Bundle)
            .render(&Templates::new(None).unwrap())
            .unwrap(),
    );
    for index in [0, 1, 2, 4, 5, 6] {
        assert_eq!(docs[index], bundle_docs[index]);
    }
    assert!(yaml.contains(
        "# trust-manager releases up to v0.24.0 neither install nor reconcile ClusterBundle;"
    ));
    kubernetes_validate(&yaml);
}

/// The pod-side fragment the Deployment and OpenTelemetryCollector templates will import:
/// rendered into a Pod here, and validated against the Pod schema.
#[test]
fn golden_tls_volume_macros_in_a_pod() {
    let mut templates = Templates::new(None).unwrap();
    templates
        .add(
            "test-pod.yaml",
            concat!(
                "{% import \"k8s-tls-volume.yaml\" as tls -%}\n",
                "apiVersion: v1\n",
                "kind: Pod\n",
                "metadata:\n",
                "  name: otel-gateway\n",
                "  namespace: observability\n",
                "spec:\n",
                "  securityContext:\n",
                "    {{ tls.pod_security_context(volume) | indent(4) }}\n",
                "  containers:\n",
                "    - name: otelcol\n",
                "      image: otel/opentelemetry-collector-contrib:0.159.0\n",
                "      args: [\"--config=/etc/otel/config.yaml\"]\n",
                "      volumeMounts:\n",
                "        {{ tls.volume_mount(volume) | indent(8) }}\n",
                "  volumes:\n",
                "    {{ tls.volume(volume) | indent(4) }}\n",
            ),
        )
        .unwrap();
    let mut volume = TlsVolume::new(DEFAULT_MOUNT_PATH);
    let server = volume.add_tls_secret("otel-gateway-server-tls", "server", false);
    let client = volume.add_tls_secret("otel-gateway-client-tls", "client", false);
    let ca_file = volume.add_ca_config_map("otel-ca-bundle");
    assert_eq!(server.cert_file, "/etc/otel/certs/server.crt");
    assert_eq!(client.key_file, "/etc/otel/certs/client.key");
    assert_eq!(ca_file, "/etc/otel/certs/ca.crt");
    #[derive(serde::Serialize)]
    struct Context {
        volume: TlsVolume,
    }
    let yaml = templates
        .render("test-pod.yaml", &Context { volume })
        .unwrap();
    golden("tls-volume-pod.yaml", &yaml);
    let docs = check_rules(&yaml, Pem::Placeholder);
    let projected = &docs[0]["spec"]["volumes"][0]["projected"];
    assert_eq!(projected["sources"].as_array().unwrap().len(), 3);
    assert_eq!(
        projected["sources"][0]["secret"]["items"][1]["path"],
        "server.key"
    );
    kubernetes_validate(&yaml);
}

// --- k8s secret with real files ---

#[test]
fn server_secret_decodes_to_the_real_files_and_is_a_valid_tls_secret() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let output = otel_pki(work.path())
        .args(["k8s", "secret", "--role", "server"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let yaml = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "Secret observability/otel-server-tls (kubernetes.io/tls: tls.crt, tls.key, ca.crt)\n"
    );
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(docs.len(), 1);
    let secret = &docs[0];
    assert_eq!(text(secret, "/type"), "kubernetes.io/tls");
    assert_eq!(text(secret, "/metadata/name"), "otel-server-tls");
    assert_eq!(text(secret, "/metadata/namespace"), "observability");
    let dir = set(work.path());
    assert_eq!(
        data(secret, "tls.crt"),
        fs::read(dir.join("server.crt")).unwrap()
    );
    assert_eq!(
        data(secret, "tls.key"),
        fs::read(dir.join("server.key")).unwrap()
    );
    assert_eq!(
        data(secret, "ca.crt"),
        fs::read(dir.join("ca.crt")).unwrap()
    );
    assert!(!yaml.contains(
        &base64::engine::general_purpose::STANDARD.encode(fs::read(dir.join("ca.key")).unwrap())
    ));
    kubernetes_validate(&yaml);

    // The decoded files work: a real mTLS handshake with what a pod would mount.
    let mounted = work.path().join("mounted");
    fs::create_dir(&mounted).unwrap();
    for key in ["tls.crt", "tls.key", "ca.crt"] {
        fs::write(mounted.join(key), data(secret, key)).unwrap();
    }
    let handshake = mtls_handshake(
        &ServerSide {
            cert: &mounted.join("tls.crt"),
            key: &mounted.join("tls.key"),
            client_ca: &mounted.join("ca.crt"),
        },
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: Some((&dir.join("client.crt"), &dir.join("client.key"))),
            server_name: "otel-gateway.observability.svc",
        },
    );
    assert!(handshake.is_ok(), "{handshake:?}");
}

#[test]
fn opaque_client_secret_uses_the_guides_key_names() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "client",
            "--opaque",
            "--name",
            "otel-mtls-certs",
            "-n",
            "monitoring",
        ],
    );
    let docs = check_rules(&yaml, Pem::Real);
    let secret = &docs[0];
    assert_eq!(text(secret, "/type"), "Opaque");
    assert_eq!(text(secret, "/metadata/name"), "otel-mtls-certs");
    assert_eq!(text(secret, "/metadata/namespace"), "monitoring");
    let keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ca.crt", "client.crt", "client.key"]); // sorted by serde_json
    let dir = set(work.path());
    assert_eq!(
        data(secret, "client.key"),
        fs::read(dir.join("client.key")).unwrap()
    );
    kubernetes_validate(&yaml);
}

#[test]
fn ca_secret_and_config_map_hold_the_certificate_only() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set(work.path());
    let yaml = stdout(work.path(), &["k8s", "secret", "--role", "ca"]);
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(text(&docs[0], "/type"), "Opaque");
    assert_eq!(text(&docs[0], "/metadata/name"), "otel-ca");
    let keys: Vec<&String> = docs[0]["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ca.crt"]);
    assert_eq!(
        data(&docs[0], "ca.crt"),
        fs::read(dir.join("ca.crt")).unwrap()
    );
    kubernetes_validate(&yaml);

    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "ca",
            "--configmap",
            "--name",
            "otel-ca-bundle",
        ],
    );
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(text(&docs[0], "/kind"), "ConfigMap");
    // Re-encoded (LF line ends, certificates only), the same certificate.
    let in_map = certificate::decode_certificates(&data(&docs[0], "ca.crt"), "map").unwrap();
    assert_eq!(
        in_map,
        certificates(&dir.join("ca.crt"))
            .iter()
            .map(|c| c.to_vec())
            .collect::<Vec<_>>()
    );
    kubernetes_validate(&yaml);
}

#[test]
fn ca_issuer_secret_holds_the_ca_key_and_says_so_loudly() {
    let work = workdir();
    fs::write(work.path().join("passphrase"), "correct horse\n").unwrap();
    init(
        work.path(),
        &["--encrypt-ca-key", "--passphrase-file", "passphrase", "-q"],
    );
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "secret",
            "--role",
            "ca-issuer",
            "--passphrase-file",
            "passphrase",
            "--out",
            "issuer.yaml",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: the manifest holds the private key of the CA \"OTel Telemetry CA\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("is encrypted; the Secret holds it decrypted"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wrote issuer.yaml (0600: it holds a private key)"),
        "{stderr}"
    );
    let path = work.path().join("issuer.yaml");
    assert_eq!(mode(&path), 0o600);
    let yaml = fs::read_to_string(&path).unwrap();
    assert!(yaml.starts_with("# WARNING: this Secret holds the PRIVATE KEY of the CA"));
    let docs = check_rules(&yaml, Pem::Real);
    let secret = &docs[0];
    assert_eq!(text(secret, "/metadata/namespace"), "cert-manager");
    assert_eq!(text(secret, "/metadata/name"), "otel-pki-ca");
    let dir = set(work.path());
    assert_eq!(
        data(secret, "tls.crt"),
        fs::read(dir.join("ca.crt")).unwrap()
    );
    let key = String::from_utf8(data(secret, "tls.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----"),
        "decrypted PKCS#8"
    );
    kubernetes_validate(&yaml);

    // Without the passphrase it cannot, and says how.
    let error = failure(work.path(), &["k8s", "secret", "--role", "ca-issuer"]);
    assert!(
        error.contains("is encrypted; give its passphrase"),
        "{error}"
    );
    // --opaque would hide the keys cert-manager reads.
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "ca-issuer", "--opaque"],
    );
    assert!(
        error.contains("--opaque cannot be used with --role ca-issuer"),
        "{error}"
    );
}

#[test]
fn a_named_certificate_gets_its_role_from_the_certificate() {
    let work = workdir();
    init(work.path(), &["-q"]);
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw.example.com",
            "--client-auth",
            "-q",
        ])
        .assert()
        .success();
    let output = otel_pki(work.path())
        .args(["--format", "json", "k8s", "secret", "--cert", "gateway"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: ManifestReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.objects.len(), 1);
    assert_eq!(report.objects[0].name, "otel-gateway-tls");
    assert_eq!(report.objects[0].keys, ["tls.crt", "tls.key", "ca.crt"]);
    assert!(report.objects[0].private_key && !report.contains_ca_key);
    let yaml = report.manifest.expect("the manifest, without --out");
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(
        data(&docs[0], "tls.crt"),
        fs::read(set(work.path()).join("gateway.crt")).unwrap()
    );
    assert!(yaml.contains(
        "# gateway.crt: server+client certificate CN=gw.example.com (serverAuth, clientAuth)"
    ));
}

#[test]
fn secrets_refuse_the_wrong_files() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set(work.path());
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "server", "--cert", "client"],
    );
    assert_eq!(
        error,
        "error: `./otel-certs/client.crt` is a client certificate, not a server certificate; use --role client or another --cert\n"
    );
    let error = failure(work.path(), &["k8s", "secret", "--cert", "ca"]);
    assert!(error.contains("for the CA use --role ca"), "{error}");
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "ca", "--cert", "server"],
    );
    assert!(
        error.contains("--cert NAME is for server and client certificates"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "server",
            "--ca-key",
            "otel-certs/ca.key",
        ],
    );
    assert!(
        error.contains("--ca-key is only read with --role ca-issuer"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "server", "--configmap"],
    );
    assert!(
        error.contains("--configmap is only for --role ca"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "server", "-n", "Observability"],
    );
    assert!(
        error.contains("invalid --namespace `Observability`"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "server", "--name", "a_b"],
    );
    assert!(error.contains("invalid --name `a_b`"), "{error}");

    // A key that is not the certificate's.
    fs::copy(dir.join("client.key"), dir.join("server.key")).unwrap();
    let error = failure(work.path(), &["k8s", "secret", "--role", "server"]);
    assert!(
        error.contains("does not match certificate `./otel-certs/server.crt`"),
        "{error}"
    );

    // A certificate from another CA.
    let other = workdir();
    init(other.path(), &["-q"]);
    let error = failure(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "client",
            "--ca-cert",
            &other.path().join("otel-certs/ca.crt").display().to_string(),
        ],
    );
    assert!(
        error.contains("was not issued by a CA in ca.crt"),
        "{error}"
    );

    // A private key where only CA certificates belong.
    let mut mixed = fs::read_to_string(dir.join("ca.crt")).unwrap();
    mixed.push_str(&fs::read_to_string(dir.join("ca.key")).unwrap());
    fs::write(work.path().join("mixed.crt"), mixed).unwrap();
    let error = failure(
        work.path(),
        &["k8s", "secret", "--role", "ca", "--ca-cert", "mixed.crt"],
    );
    assert!(
        error.contains("`mixed.crt` contains a private key"),
        "{error}"
    );

    // A leaf where only CA certificates belong.
    let error = failure(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "ca",
            "--ca-cert",
            "otel-certs/client.crt",
        ],
    );
    assert!(
        error.contains("holds a certificate that is not a CA"),
        "{error}"
    );

    // An expired certificate (issued in the past, not waited for).
    let expired = expired_client(&dir);
    fs::write(dir.join("old.crt"), expired.0).unwrap();
    fs::write(dir.join("old.key"), expired.1).unwrap();
    let error = failure(work.path(), &["k8s", "secret", "--cert", "old"]);
    assert!(
        error.contains("`./otel-certs/old.crt` expired on"),
        "{error}"
    );
}

/// A client certificate of the set's CA that expired yesterday: (cert PEM, key PEM).
fn expired_client(dir: &Path) -> (String, String) {
    use otel_pki::pki::{Ca, LeafProfile, LeafRequest, Validity};
    let ca_der = certificates(&dir.join("ca.crt"))[0].to_vec();
    let ca_key =
        PrivateKey::from_pem_or_der(&fs::read(dir.join("ca.key")).unwrap(), "ca.key").unwrap();
    let ca = Ca::new(ca_der, "ca.crt", ca_key).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let issued = ca
        .issue(
            &LeafRequest {
                profile: LeafProfile::Client,
                common_name: "old".into(),
                sans: Vec::new(),
                validity: Validity::between(
                    now - time::Duration::days(10),
                    now - time::Duration::days(1),
                ),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
    (issued.certificate_pem(), issued.key.to_pkcs8_pem())
}

#[test]
fn out_file_is_atomic_never_clobbered_and_keeps_a_backup() {
    let work = workdir();
    init(work.path(), &["-q"]);
    otel_pki(work.path())
        .args([
            "k8s",
            "secret",
            "--role",
            "ca",
            "--out",
            "manifests/ca.yaml",
        ])
        .assert()
        .success()
        .stdout("");
    let path = work.path().join("manifests/ca.yaml");
    assert_eq!(mode(&path), 0o644, "no key: public mode");
    let error = failure(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "server",
            "--out",
            "manifests/ca.yaml",
        ],
    );
    assert!(
        error.contains("already exists; nothing was written"),
        "{error}"
    );
    assert!(fs::read_to_string(&path).unwrap().contains("otel-ca"));
    otel_pki(work.path())
        .args([
            "k8s",
            "secret",
            "--role",
            "server",
            "--out",
            "manifests/ca.yaml",
            "--force",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(mode(&path), 0o600, "now it holds a key");
    let backups = listing(&work.path().join("manifests/backup"));
    assert_eq!(backups.len(), 1);
    let kept = work
        .path()
        .join("manifests/backup")
        .join(&backups[0])
        .join("ca.yaml");
    assert!(
        fs::read_to_string(kept)
            .unwrap()
            .contains("name: \"otel-ca\"")
    );
    assert_eq!(
        listing(&work.path().join("manifests")),
        ["backup", "ca.yaml"]
    );
}

#[test]
fn templates_can_be_overridden_by_name() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let templates = work.path().join("templates");
    fs::create_dir(&templates).unwrap();
    fs::write(
        templates.join("k8s-secret.yaml"),
        "# custom\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ secret.name | tojson }}\n  annotations:\n    team: telemetry\ntype: {{ secret.secret_type | tojson }}\ndata:\n{%- for entry in secret.entries %}\n  {{ entry.key }}: {{ entry.content | b64encode }}\n{%- endfor %}\n",
    )
    .unwrap();
    let yaml = stdout(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "client",
            "--templates",
            "templates",
        ],
    );
    assert!(yaml.starts_with("# custom\n"));
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(text(&docs[0], "/metadata/annotations/team"), "telemetry");
    // A template with a mistake names itself.
    fs::write(templates.join("k8s-secret.yaml"), "{{ secret.nope }}\n").unwrap();
    let error = failure(
        work.path(),
        &[
            "k8s",
            "secret",
            "--role",
            "client",
            "--templates",
            "templates",
        ],
    );
    assert!(error.contains("k8s-secret.yaml"), "{error}");
}

// --- k8s cert-manager ---

#[test]
fn cert_manager_bootstrap_is_complete_and_valid() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "cert-manager",
            "--client",
            "otel-collector.observability",
            "--client",
            "app-agent.apps",
            "--duration",
            "30d",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let yaml = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("server Certificates for the Services named in ./otel-certs/server.crt: otel-gateway.observability"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: the manifest holds the private key of the CA"),
        "{stderr}"
    );
    assert!(!stderr.contains("no --client"), "{stderr}");
    let docs = check_rules(&yaml, Pem::Real);
    let kinds: Vec<&str> = docs.iter().map(|doc| text(doc, "/kind")).collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "ClusterIssuer",
            "ConfigMap",
            "Bundle",
            "Certificate",
            "Certificate",
            "Certificate"
        ]
    );
    let dir = set(work.path());
    // The CA Secret is the set's CA, in cert-manager's namespace.
    let secret = &docs[0];
    assert_eq!(text(secret, "/metadata/namespace"), "cert-manager");
    assert_eq!(
        data(secret, "tls.crt"),
        fs::read(dir.join("ca.crt")).unwrap()
    );
    assert_eq!(
        data(secret, "tls.key"),
        fs::read(dir.join("ca.key")).unwrap()
    );
    assert_eq!(text(&docs[1], "/spec/ca/secretName"), "otel-pki-ca");
    // The Bundle's source holds the CA certificate only, in the trust namespace.
    let config_map = &docs[2];
    assert_eq!(text(config_map, "/metadata/namespace"), "cert-manager");
    assert_eq!(
        text(&docs[3], "/spec/sources/0/configMap/name"),
        text(config_map, "/metadata/name")
    );
    assert_eq!(
        docs[3]["spec"]["target"]["namespaceSelector"]["matchExpressions"][0]["values"],
        serde_json::json!(["apps", "observability"])
    );
    // Certificates: the server's names from init, 30d renewed 10d before.
    let server = &docs[4];
    assert_eq!(text(server, "/metadata/name"), "otel-gateway-server");
    assert_eq!(
        server["spec"]["dnsNames"],
        serde_json::json!([
            "otel-gateway",
            "otel-gateway.observability",
            "otel-gateway.observability.svc",
            "otel-gateway.observability.svc.cluster.local"
        ])
    );
    assert_eq!(text(server, "/spec/duration"), "720h");
    assert_eq!(text(server, "/spec/renewBefore"), "240h");
    assert_eq!(text(&docs[6], "/metadata/namespace"), "apps");
    assert_eq!(text(&docs[6], "/spec/commonName"), "app-agent");
    assert_eq!(text(&docs[6], "/spec/secretName"), "app-agent-client-tls");
    kubernetes_validate(&yaml);
}

#[test]
fn cert_manager_with_an_intermediate_keeps_the_root_key_out_of_the_cluster() {
    let work = workdir();
    let dir = set(work.path());
    // A root with pathlen 0 cannot sign an intermediate: a clear refusal, nothing written.
    init(work.path(), &["-q"]);
    let error = failure(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--intermediate",
            "--client",
            "c.observability",
        ],
    );
    assert!(error.contains("has basicConstraints pathlen 0"), "{error}");
    assert!(error.contains("otel-pki init --ca-path-len 1"), "{error}");
    assert!(!dir.join("intermediate-ca.crt").exists());

    init(
        work.path(),
        &[
            "--ca-path-len",
            "1",
            "--k8s-service",
            "otel-gateway.observability",
            "--force",
            "-q",
        ],
    );
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "cert-manager",
            "--intermediate",
            "--client",
            "otel-collector.observability",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("created the intermediate CA ./otel-certs/intermediate-ca.crt"),
        "{stderr}"
    );
    assert_eq!(mode(&dir.join("intermediate-ca.key")), 0o600);
    let yaml = String::from_utf8(output.stdout).unwrap();
    let docs = check_rules(&yaml, Pem::Real);
    let secret = &docs[0];
    // tls.key is the intermediate's key, never the root's; tls.crt is intermediate + root.
    assert_eq!(
        data(secret, "tls.key"),
        fs::read(dir.join("intermediate-ca.key")).unwrap()
    );
    let root_key = fs::read(dir.join("ca.key")).unwrap();
    assert!(!yaml.contains(&base64::engine::general_purpose::STANDARD.encode(&root_key)));
    let chain = certificate::decode_certificates(&data(secret, "tls.crt"), "tls.crt").unwrap();
    assert_eq!(
        chain[0],
        certificates(&dir.join("intermediate-ca.crt"))[0].to_vec()
    );
    assert_eq!(chain[1], certificates(&dir.join("ca.crt"))[0].to_vec());
    // The trust bundle is the root only.
    let trusted = certificate::decode_certificates(&data(&docs[2], "ca.crt"), "ca.crt").unwrap();
    assert_eq!(trusted, [certificates(&dir.join("ca.crt"))[0].to_vec()]);
    assert!(yaml.contains("# WARNING: this Secret holds the PRIVATE KEY of the intermediate CA"));
    kubernetes_validate(&yaml);

    // What cert-manager will issue with it works against the root-only bundle: a server
    // certificate signed by the intermediate, presented with its chain.
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "from-cluster",
            "--k8s-service",
            "otel-gateway.observability",
            "--ca-cert",
            "otel-certs/intermediate-ca.crt",
            "--ca-key",
            "otel-certs/intermediate-ca.key",
            "-q",
        ])
        .assert()
        .success();
    let chain_file = work.path().join("chain.crt");
    fs::write(
        &chain_file,
        [
            fs::read(dir.join("from-cluster.crt")).unwrap(),
            fs::read(dir.join("intermediate-ca.crt")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let handshake = mtls_handshake(
        &ServerSide {
            cert: &chain_file,
            key: &dir.join("from-cluster.key"),
            client_ca: &dir.join("ca.crt"),
        },
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: Some((&dir.join("client.crt"), &dir.join("client.key"))),
            server_name: "otel-gateway.observability.svc.cluster.local",
        },
    );
    assert!(handshake.is_ok(), "{handshake:?}");
    let (ok, text_out) = openssl(
        &dir,
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.crt",
            "-untrusted",
            "intermediate-ca.crt",
            "from-cluster.crt",
        ],
    );
    assert!(ok, "{text_out}");

    // The next run reuses the intermediate: the same key in the Secret, no root key needed.
    fs::rename(dir.join("ca.key"), work.path().join("ca.key.offline")).unwrap();
    let again = stdout(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--intermediate",
            "--client",
            "otel-collector.observability",
        ],
    );
    let docs_again = documents(&again);
    assert_eq!(data(&docs_again[0], "tls.key"), data(secret, "tls.key"));
}

#[test]
fn cert_manager_server_names_follow_the_service_flags_or_the_server_certificate() {
    let work = workdir();
    init(
        work.path(),
        &[
            "--k8s-service",
            "tempo.tracing",
            "--cluster-domain",
            "corp.example",
            "--headless",
            "-q",
        ],
    );
    let wildcard = serde_json::json!("*.tempo.tracing.svc.corp.example");
    // Read back from server.crt: the Service, its cluster domain, headless.
    let docs = check_rules(
        &stdout(work.path(), &["k8s", "cert-manager", "-q"]),
        Pem::Real,
    );
    let servers = of_kind(&docs, "Certificate");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["spec"]["dnsNames"][4], wildcard);
    // Given on the command line, they win.
    let docs = check_rules(
        &stdout(
            work.path(),
            &[
                "k8s",
                "cert-manager",
                "--k8s-service",
                "jaeger.tracing",
                "-q",
            ],
        ),
        Pem::Real,
    );
    let servers = of_kind(&docs, "Certificate");
    assert_eq!(
        servers[0]["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "jaeger.tracing.svc.cluster.local"
    );
}

#[test]
fn cert_manager_without_clients_says_the_collectors_certificates_will_not_rotate() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let output = otel_pki(work.path())
        .args(["k8s", "cert-manager", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: ManifestReport = serde_json::from_slice(&output.stdout).unwrap();
    let warning = report
        .warnings
        .iter()
        .find(|warning| warning.starts_with("no --client:"))
        .unwrap_or_else(|| panic!("{:#?}", report.warnings));
    assert!(
        warning
            .contains("cert-manager neither issues nor rotates any collector's client certificate"),
        "{warning}"
    );
    // When the set's client certificate stops working, in its own words.
    let not_after = otel_pki::set::read_certificates(&work.path().join("otel-certs/client.crt"))
        .map(|ders| {
            otel_pki::pki::CertSummary::new(
                &ders[0],
                "client.crt",
                0,
                time::OffsetDateTime::now_utc(),
            )
            .unwrap()
            .not_after
            .date()
        })
        .unwrap();
    assert!(
        warning.contains(&format!("(`./otel-certs/client.crt` expires {not_after})")),
        "{warning}"
    );
    assert!(
        warning.contains("Add --client NAME.NAMESPACE for each collector"),
        "{warning}"
    );
    let objects: Vec<&str> = report.objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        objects
            .iter()
            .filter(|kind| **kind == "Certificate")
            .count(),
        1
    );
}

#[test]
fn cert_manager_flags_are_checked() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let error = failure(work.path(), &["k8s", "cert-manager"]);
    assert!(
        error.contains("nothing to issue: give --k8s-service NAME.NAMESPACE"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &["k8s", "cert-manager", "--client", "collector"],
    );
    assert!(
        error.contains("invalid --client `collector`: expected NAME.NAMESPACE"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--client",
            "c.obs",
            "--duration",
            "10d",
            "--renew-before",
            "10d",
        ],
    );
    assert!(
        error.contains("--renew-before 10d must be shorter than --duration 10d"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--client",
            "c.obs",
            "--duration",
            "30m",
        ],
    );
    assert!(error.contains("cert-manager's minimum is 1h"), "{error}");
    let error = failure(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--client",
            "c.obs",
            "--client",
            "c.obs",
        ],
    );
    assert!(
        error.contains("Certificate `obs/c-client` is asked for twice"),
        "{error}"
    );
    let error = failure(
        work.path(),
        &[
            "k8s",
            "cert-manager",
            "--client",
            "c.obs",
            "--issuer-name",
            "Bad",
        ],
    );
    assert!(error.contains("invalid --issuer-name `Bad`"), "{error}");
    // A CA that ends before the Certificates would: said, not silently issued past it.
    let short = workdir();
    init(
        short.path(),
        &["--ca-validity", "60d", "--validity", "30d", "-q"],
    );
    let output = otel_pki(short.path())
        .args([
            "k8s",
            "cert-manager",
            "--client",
            "c.obs",
            "--key-type",
            "rsa-3072",
            "--duration",
            "90d",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("--duration 90d reaches past the end of CA"),
        "{stderr}"
    );
    let docs = check_rules(&String::from_utf8(output.stdout).unwrap(), Pem::Real);
    assert_eq!(docs[4]["spec"]["privateKey"]["size"], 3072);
}

// --- --k8s-service on init and issue server ---

#[test]
fn k8s_service_adds_the_four_service_names_and_the_headless_wildcard() {
    let work = workdir();
    init(
        work.path(),
        &[
            "--k8s-service",
            "otel-gateway.observability",
            "--k8s-service",
            "tempo.tracing",
            "--cluster-domain",
            "corp.example",
            "--headless",
            "-q",
        ],
    );
    let dir = set(work.path());
    let der = certificates(&dir.join("server.crt"))[0].to_vec();
    let summary =
        certificate::CertSummary::new(&der, "server.crt", 0, time::OffsetDateTime::now_utc())
            .unwrap();
    assert_eq!(
        summary.sans.dns,
        [
            "otel-gateway",
            "otel-gateway.observability",
            "otel-gateway.observability.svc",
            "otel-gateway.observability.svc.corp.example",
            "*.otel-gateway.observability.svc.corp.example",
            "tempo",
            "tempo.tracing",
            "tempo.tracing.svc",
            "tempo.tracing.svc.corp.example",
            "*.tempo.tracing.svc.corp.example",
        ]
    );
    // Every form a pod may dial works, including a StatefulSet pod's own name.
    for host in [
        "otel-gateway",
        "tempo.tracing.svc",
        "otel-gateway-0.otel-gateway.observability.svc.corp.example",
    ] {
        let handshake = set_handshake(&dir, host);
        assert!(handshake.is_ok(), "{host}: {handshake:?}");
    }
    assert!(set_handshake(&dir, "otel-gateway.observability.svc.cluster.local").is_err());

    // issue server takes the same flags; --cluster-domain defaults to cluster.local.
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "jaeger",
            "--k8s-service",
            "jaeger-collector.tracing",
            "-q",
        ])
        .assert()
        .success();
    let der = certificates(&dir.join("jaeger.crt"))[0].to_vec();
    let summary =
        certificate::CertSummary::new(&der, "jaeger.crt", 0, time::OffsetDateTime::now_utc())
            .unwrap();
    assert_eq!(
        summary.sans.dns.last().unwrap(),
        "jaeger-collector.tracing.svc.cluster.local"
    );
    assert_eq!(summary.sans.dns.len(), 4);
}

#[test]
fn k8s_service_mistakes_name_the_flag() {
    let work = workdir();
    let error = failure(
        work.path(),
        &["init", "--k8s-service", "otel_gateway.observability"],
    );
    assert_eq!(
        error,
        "error: invalid --k8s-service `otel_gateway.observability`: Service name `otel_gateway` contains `_`; use lower-case letters, digits and `-`\n"
    );
    let error = failure(work.path(), &["init", "--k8s-service", "otel-gateway"]);
    assert!(error.contains("expected NAME.NAMESPACE"), "{error}");
    let error = failure(
        work.path(),
        &[
            "init",
            "--k8s-service",
            "gw.obs",
            "--cluster-domain",
            "bad_domain",
        ],
    );
    assert!(
        error.contains("invalid --cluster-domain `bad_domain`"),
        "{error}"
    );
    // --cluster-domain and --headless mean nothing without a Service: refused, not ignored.
    let error = failure(work.path(), &["init", "--cluster-domain", "corp.example"]);
    assert!(error.contains("--k8s-service <NAME.NAMESPACE>"), "{error}");
    let error = failure(work.path(), &["init", "--headless"]);
    assert!(error.contains("--k8s-service <NAME.NAMESPACE>"), "{error}");
    assert!(listing(work.path()).is_empty());
}

#[test]
fn k8s_help_has_examples_and_exit_codes() {
    let work = workdir();
    for command in [["k8s", "secret"], ["k8s", "cert-manager"]] {
        let help = stdout(work.path(), &[command[0], command[1], "--help"]);
        assert!(help.contains("Examples:\n  otel-pki k8s "), "{command:?}");
        assert!(help.contains("2  error or bad usage"), "{command:?}");
    }
    let help = stdout(work.path(), &["issue", "client", "--help"]);
    assert!(help.contains("--count 1000 --name-prefix collector-"));
}

#[test]
fn cert_manager_writes_a_cluster_bundle_when_asked_and_says_what_serves_it() {
    let work = workdir();
    init(
        work.path(),
        &["--k8s-service", "otel-gateway.observability", "-q"],
    );
    let args = [
        "k8s",
        "cert-manager",
        "--client",
        "otel-collector.observability",
    ];
    // The default is the API released trust-manager serves.
    let yaml = stdout(work.path(), &[&args[..], &["-q"]].concat());
    let docs = check_rules(&yaml, Pem::Real);
    assert_eq!(of_kind(&docs, "Bundle").len(), 1);
    assert!(of_kind(&docs, "ClusterBundle").is_empty());

    let output = otel_pki(work.path())
        .args(args)
        .args(["--bundle-kind", "cluster-bundle", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: --bundle-kind cluster-bundle: trust-manager releases up to v0.24.0 do not install the ClusterBundle CRD"),
        "{stderr}"
    );
    let report: ManifestReport = serde_json::from_slice(&output.stdout).unwrap();
    let bundle = &report.objects[3];
    assert_eq!(
        (bundle.kind.as_str(), bundle.api_version.as_str()),
        ("ClusterBundle", "trust-manager.io/v1alpha2")
    );
    let docs = check_rules(report.manifest.as_deref().unwrap(), Pem::Real);
    let cluster_bundle = of_kind(&docs, "ClusterBundle")[0];
    // Its source is the ConfigMap of CA certificates in the trust namespace.
    let source = &of_kind(&docs, "ConfigMap")[0];
    assert_eq!(text(source, "/metadata/namespace"), "cert-manager");
    assert_eq!(
        text(cluster_bundle, "/spec/sourceRefs/0/name"),
        text(source, "/metadata/name")
    );
    assert_eq!(
        cluster_bundle["spec"]["target"]["namespaceSelector"]["matchExpressions"][0]["values"],
        serde_json::json!(["observability"])
    );
}
