//! Kubernetes manifests: the objects otel-pki writes (Secrets and ConfigMaps holding a
//! set's PEM files, cert-manager's `ClusterIssuer` and `Certificate`s, trust-manager's
//! `Bundle` or `ClusterBundle`, the OpenTelemetry Operator's `OpenTelemetryCollector` and
//! `Instrumentation`) as documented, serializable contexts for the templates in
//! `templates/k8s-*.yaml`, and the pod-side layout that mounts them ([`SecretShape`] says
//! which keys a Secret has, so every mount names keys that exist). Upstream versions read:
//! docs/operator.md. No file system here: `cmd::k8s` reads the set
//! and writes the result; templates can be overridden with `--templates DIR`.
//!
//! The field names of these structs are the template author's API: a template sees them
//! under the variable named in each template's header comment.
//!
//! Facts these follow (see `shared/reference/otel-config.md`, sections 4 and 5): Secret
//! `data` is base64; `kubernetes.io/tls` needs `tls.crt` and `tls.key`, and `ca.crt` is the
//! convention cert-manager also follows; `subPath` mounts never see rotated files;
//! cert-manager's `usages` default has no extended key usage at all; trust-manager reads its
//! sources only from the trust namespace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pki::{KeyType, Lifetime};
use crate::render::{RenderError, Templates};

/// The template of one Secret; variable `secret` ([`PemObject`]).
pub const SECRET_TEMPLATE: &str = "k8s-secret.yaml";
/// The template of one ConfigMap; variable `config_map` ([`PemObject`]).
pub const CONFIG_MAP_TEMPLATE: &str = "k8s-configmap.yaml";
/// The template of one cert-manager `Certificate`; variable `certificate` ([`Certificate`]).
pub const CERTIFICATE_TEMPLATE: &str = "k8s-certificate.yaml";
/// The template of the `ClusterIssuer`; variable `cluster_issuer` ([`ClusterIssuer`]).
pub const CLUSTER_ISSUER_TEMPLATE: &str = "k8s-cluster-issuer.yaml";
/// The template of the trust-manager `Bundle`; variable `bundle` ([`Bundle`]).
pub const BUNDLE_TEMPLATE: &str = "k8s-bundle.yaml";
/// The template of the trust-manager `ClusterBundle`; variable `bundle` ([`Bundle`]).
pub const CLUSTER_BUNDLE_TEMPLATE: &str = "k8s-cluster-bundle.yaml";
/// The whole cert-manager bootstrap; its variables are the fields of [`CertManagerManifest`].
pub const CERT_MANAGER_TEMPLATE: &str = "k8s-cert-manager.yaml";
/// Macros for a pod spec that mounts certificates ([`TlsVolume`]): `volume`,
/// `volume_mount`, `pod_security_context`. For Deployments and `OpenTelemetryCollector`s.
pub const TLS_VOLUME_TEMPLATE: &str = "k8s-tls-volume.yaml";
/// A Collector as a `Deployment`, with its configuration `ConfigMap` and its `Service`;
/// variable `workload` ([`CollectorWorkload`]).
pub const DEPLOYMENT_TEMPLATE: &str = "k8s-deployment.yaml";
/// A Collector as an OpenTelemetry Operator `OpenTelemetryCollector` (`v1beta1`), and the
/// Service its server certificate names; variable `workload` ([`CollectorWorkload`]).
pub const OPERATOR_TEMPLATE: &str = "k8s-opentelemetrycollector.yaml";
/// An Operator `Instrumentation`; variable `instrumentation` ([`Instrumentation`]).
pub const INSTRUMENTATION_TEMPLATE: &str = "k8s-instrumentation.yaml";
/// One `Service`; variable `service` ([`Service`]).
pub const SERVICE_TEMPLATE: &str = "k8s-service.yaml";

/// Secret type with `tls.crt` and `tls.key` (the API server requires both).
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";
/// Secret type with any keys.
pub const OPAQUE_SECRET_TYPE: &str = "Opaque";

/// UID and GID of the official OpenTelemetry Collector images
/// (opentelemetry-collector-releases `distributions/*/Dockerfile`).
pub const COLLECTOR_UID: u32 = 10001;
/// File mode of mounted certificates and keys: owner and group read. With
/// `fsGroup: 10001` the Collector (UID 10001) can read its key; with 0400 and no fsGroup
/// root owns the files and the Collector gets `permission denied`.
pub const MOUNT_MODE: u32 = 0o440;
/// Where [`TlsVolume`] mounts the files by default: the directory `config` templates use
/// for `--cert-path`, so a rendered Collector config needs no change in a pod.
pub const DEFAULT_MOUNT_PATH: &str = "/etc/otel/certs";
/// Where a Deployment mounts its configuration ConfigMap, whole: the directory the
/// Operator uses for its own (`--config=/conf/collector.yaml`).
pub const CONFIG_MOUNT_PATH: &str = "/conf";
/// The ConfigMap key of the Collector configuration (the Operator's file name too).
pub const CONFIG_KEY: &str = "collector.yaml";
/// The trust-manager Bundle (and the ConfigMap it writes in each namespace) of
/// `k8s cert-manager`.
pub const DEFAULT_BUNDLE_NAME: &str = "otel-ca-bundle";
/// The official Collector image with every component the configurations use; the tag is
/// the Collector version without `v` (e.g. `0.159.0`). Its entrypoint is the Collector,
/// so `args` replace only the image's default `--config`.
pub const COLLECTOR_IMAGE: &str = "otel/opentelemetry-collector-contrib";

/// The label every object otel-pki writes carries.
pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_owned(),
        "otel-pki".to_owned(),
    )])
}

/// Kind of a [`PemObject`].
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum ObjectKind {
    /// A ConfigMap: for CA certificates, which are public (trust-manager reads them).
    ConfigMap,
    /// A Secret: for anything with a private key.
    Secret,
}

/// A Secret or ConfigMap holding PEM files. Secrets carry them base64-encoded in `data`
/// (the form the API server stores and `kubectl get -o yaml` shows, so a diff against the
/// live object is clean, and no PEM line depends on YAML indentation); ConfigMaps carry
/// them as literal blocks.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct PemObject {
    /// `Secret` or `ConfigMap`.
    pub kind: ObjectKind,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// The Secret `type` (`kubernetes.io/tls` or `Opaque`); null for a ConfigMap.
    pub secret_type: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Comment lines written above the object, without `# ` (e.g. the warning that it
    /// holds a CA key).
    pub comments: Vec<String>,
    /// The files, in order.
    pub entries: Vec<PemEntry>,
}

/// One file in a [`PemObject`].
#[derive(Clone, Deserialize, Eq, PartialEq, Serialize)]
pub struct PemEntry {
    /// The data key, e.g. `tls.crt`.
    pub key: String,
    /// The file's contents, exactly (PEM text).
    pub content: String,
    /// One line saying what it is, written as a comment above the key.
    pub description: String,
    /// True for a private key.
    pub private_key: bool,
}

impl std::fmt::Debug for PemEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The content may be a private key: never print it.
        f.debug_struct("PemEntry")
            .field("key", &self.key)
            .field("description", &self.description)
            .field("private_key", &self.private_key)
            .finish_non_exhaustive()
    }
}

impl PemObject {
    /// A Secret.
    pub fn secret(name: &str, namespace: &str, secret_type: &str, entries: Vec<PemEntry>) -> Self {
        PemObject {
            kind: ObjectKind::Secret,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            secret_type: Some(secret_type.to_owned()),
            labels: labels(),
            comments: Vec::new(),
            entries,
        }
    }

    /// A ConfigMap.
    pub fn config_map(name: &str, namespace: &str, entries: Vec<PemEntry>) -> Self {
        PemObject {
            kind: ObjectKind::ConfigMap,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            secret_type: None,
            labels: labels(),
            comments: Vec::new(),
            entries,
        }
    }

    /// True when any entry is a private key.
    pub fn has_private_key(&self) -> bool {
        self.entries.iter().any(|entry| entry.private_key)
    }

    /// What `--format json` and the status lines say about it.
    pub fn summary(&self) -> ObjectSummary {
        ObjectSummary {
            api_version: "v1".into(),
            kind: match self.kind {
                ObjectKind::ConfigMap => "ConfigMap".into(),
                ObjectKind::Secret => "Secret".into(),
            },
            name: self.name.clone(),
            namespace: Some(self.namespace.clone()),
            secret_type: self.secret_type.clone(),
            keys: self.entries.iter().map(|entry| entry.key.clone()).collect(),
            private_key: self.has_private_key(),
        }
    }

    /// Renders it with [`SECRET_TEMPLATE`] or [`CONFIG_MAP_TEMPLATE`].
    pub fn render(&self, templates: &Templates) -> Result<String, RenderError> {
        #[derive(Serialize)]
        struct SecretContext<'a> {
            secret: &'a PemObject,
        }
        #[derive(Serialize)]
        struct ConfigMapContext<'a> {
            config_map: &'a PemObject,
        }
        match self.kind {
            ObjectKind::Secret => {
                templates.render(SECRET_TEMPLATE, &SecretContext { secret: self })
            }
            ObjectKind::ConfigMap => {
                templates.render(CONFIG_MAP_TEMPLATE, &ConfigMapContext { config_map: self })
            }
        }
    }
}

/// One object of a manifest, as reports describe it. Field names are the JSON contract.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ObjectSummary {
    /// `apiVersion`, e.g. `v1` or `cert-manager.io/v1`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; null for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The Secret type, for Secrets.
    pub secret_type: Option<String>,
    /// The data keys of a Secret or ConfigMap.
    pub keys: Vec<String>,
    /// True when the object holds a private key.
    pub private_key: bool,
}

impl ObjectSummary {
    /// `Secret cert-manager/otel-pki-ca (kubernetes.io/tls: tls.crt, tls.key)`.
    pub fn describe(&self) -> String {
        let mut text = match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        };
        match (&self.secret_type, self.keys.is_empty()) {
            (Some(secret_type), _) => {
                text.push_str(&format!(" ({secret_type}: {})", self.keys.join(", ")));
            }
            (None, false) => text.push_str(&format!(" ({})", self.keys.join(", "))),
            (None, true) => {}
        }
        text
    }

    /// An object without data keys (a Deployment, a Service, a custom resource).
    pub fn without_data(
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        api_version: &str,
    ) -> Self {
        ObjectSummary {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            secret_type: None,
            keys: Vec::new(),
            private_key: false,
        }
    }
}

/// A cert-manager `ClusterIssuer` of kind CA (`cert-manager.io/v1`), signing with the CA
/// key pair in a Secret of the cluster resource namespace (where cert-manager runs).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ClusterIssuer {
    /// `metadata.name`.
    pub name: String,
    /// `spec.ca.secretName`: the CA Secret.
    pub secret_name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
}

/// `spec.issuerRef` of a Certificate.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct IssuerRef {
    /// The issuer's name.
    pub name: String,
    /// `ClusterIssuer`.
    pub kind: String,
    /// `cert-manager.io`.
    pub group: String,
}

/// `spec.privateKey` of a Certificate.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct PrivateKeySpec {
    /// `RSA`, `ECDSA` or `Ed25519`.
    pub algorithm: String,
    /// Bits (RSA) or curve size (ECDSA); null for Ed25519, which has no size.
    pub size: Option<u32>,
    /// `PKCS8`: the Collector reads any, PKCS#8 is what every other tool reads too.
    pub encoding: String,
    /// `Always`: a new key at every renewal (cert-manager's default since v1.18, written
    /// out so older releases do the same).
    pub rotation_policy: String,
}

impl PrivateKeySpec {
    /// The spec for an otel-pki key type.
    pub fn for_key_type(key_type: KeyType) -> Self {
        let (algorithm, size) = match key_type {
            KeyType::EcdsaP256 => ("ECDSA", Some(256)),
            KeyType::EcdsaP384 => ("ECDSA", Some(384)),
            KeyType::Ed25519 => ("Ed25519", None),
            KeyType::Rsa2048 => ("RSA", Some(2048)),
            KeyType::Rsa3072 => ("RSA", Some(3072)),
            KeyType::Rsa4096 => ("RSA", Some(4096)),
        };
        PrivateKeySpec {
            algorithm: algorithm.to_owned(),
            size,
            encoding: "PKCS8".to_owned(),
            rotation_policy: "Always".to_owned(),
        }
    }
}

/// What a Certificate is for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Purpose {
    /// A Collector or SDK exporting with a client certificate.
    Client,
    /// A gateway or backend receiving with a server certificate.
    Server,
}

/// The `usages` of a Certificate, always explicit: left out, cert-manager issues
/// `digital signature, key encipherment` and no extended key usage at all. Key
/// encipherment only for RSA (RFC 5480 defines no key transport with EC keys).
pub fn usages(purpose: Purpose, key_type: KeyType) -> Vec<String> {
    let mut usages = vec!["digital signature".to_owned()];
    if key_type.is_rsa() {
        usages.push("key encipherment".to_owned());
    }
    usages.push(
        match purpose {
            Purpose::Client => "client auth",
            Purpose::Server => "server auth",
        }
        .to_owned(),
    );
    usages
}

/// A Go duration (what cert-manager parses): `2160h`, `1h30m`, `45m`. Seconds are dropped:
/// cert-manager's minimum is minutes.
pub fn go_duration(lifetime: Lifetime) -> String {
    let minutes = lifetime.duration().whole_minutes();
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes}m"),
        (hours, 0) => format!("{hours}h"),
        (hours, minutes) => format!("{hours}h{minutes}m"),
    }
}

/// A cert-manager `Certificate` (`cert-manager.io/v1`).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Certificate {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`: where the Secret appears (the pod's namespace).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.secretName`: the `kubernetes.io/tls` Secret cert-manager writes (`tls.crt`,
    /// `tls.key`, `ca.crt`).
    pub secret_name: String,
    /// `spec.duration`, a Go duration such as `2160h`.
    pub duration: String,
    /// `spec.renewBefore`, a Go duration.
    pub renew_before: String,
    /// The same two as the operator typed them (`90d`), for comments.
    pub duration_text: String,
    /// See `duration_text`.
    pub renew_before_text: String,
    /// `spec.commonName` (cosmetic for Go, which matches SANs only).
    pub common_name: Option<String>,
    /// `spec.dnsNames`.
    pub dns_names: Vec<String>,
    /// `spec.usages`, see [`usages`].
    pub usages: Vec<String>,
    /// `spec.privateKey`.
    pub private_key: PrivateKeySpec,
    /// `spec.issuerRef`.
    pub issuer: IssuerRef,
}

/// Which trust-manager API a [`Bundle`] is written in.
///
/// Read at trust-manager v0.24.0 (75590d07c8b5, 2026-06-27): the released controller
/// registers and reconciles only `Bundle` (`cmd/trust-manager/app/app.go` adds
/// `trust.cert-manager.io/v1alpha1` to its scheme), and its Helm chart installs only the
/// `Bundle` CRD. `ClusterBundle` (`trust-manager.io/v1alpha2`, types since v0.20.0) has a CRD
/// under `deploy/crds/` marked "for reference, development and testing purposes only", and
/// the Bundle→ClusterBundle migration controller (which sets the `Deprecated` condition)
/// is wired up only in the integration tests. So `Bundle` is the default.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub enum BundleKind {
    /// `trust.cert-manager.io/v1alpha1` `Bundle`: what released trust-manager serves.
    #[default]
    Bundle,
    /// `trust-manager.io/v1alpha2` `ClusterBundle`: its successor, for a trust-manager that
    /// has its CRD installed and reconciles it.
    ClusterBundle,
}

impl BundleKind {
    /// `Bundle` or `ClusterBundle`.
    pub fn kind(self) -> &'static str {
        match self {
            BundleKind::Bundle => "Bundle",
            BundleKind::ClusterBundle => "ClusterBundle",
        }
    }

    /// Its `apiVersion`.
    pub fn api_version(self) -> &'static str {
        match self {
            BundleKind::Bundle => "trust.cert-manager.io/v1alpha1",
            BundleKind::ClusterBundle => "trust-manager.io/v1alpha2",
        }
    }
}

/// A trust-manager `Bundle` (`trust.cert-manager.io/v1alpha1`) or `ClusterBundle`
/// (`trust-manager.io/v1alpha2`), both cluster-scoped, that copies the CA certificates into
/// a ConfigMap in each namespace that needs them. Rendered by [`BUNDLE_TEMPLATE`] or
/// [`CLUSTER_BUNDLE_TEMPLATE`].
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Bundle {
    /// Which API: `Bundle` or `ClusterBundle`.
    pub kind: BundleKind,
    /// `metadata.name`, also the name of the target ConfigMaps.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The source ConfigMap in the trust namespace (CA certificates only, never the issuing
    /// CA's Secret).
    pub source_config_map: String,
    /// Its key, `ca.crt`.
    pub source_key: String,
    /// The key in each target ConfigMap, `ca.crt`.
    pub target_key: String,
    /// Namespaces that get the ConfigMap, selected by their immutable
    /// `kubernetes.io/metadata.name` label (no labelling needed).
    pub namespaces: Vec<String>,
}

/// Everything cert-manager and trust-manager need to take over: context of
/// [`CERT_MANAGER_TEMPLATE`], one multi-document YAML stream in this order.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct CertManagerManifest {
    /// Comment lines at the top (prerequisites), without `# `.
    pub comments: Vec<String>,
    /// The CA Secret (`tls.crt`, `tls.key`) in the cert-manager namespace.
    pub ca_secret: PemObject,
    /// The `ClusterIssuer` that signs with it.
    pub cluster_issuer: ClusterIssuer,
    /// ConfigMap in the trust namespace with the CA certificates only (the Bundle's source).
    pub ca_certificates: PemObject,
    /// The trust-manager Bundle.
    pub bundle: Bundle,
    /// Certificates: servers first, then clients.
    pub certificates: Vec<Certificate>,
}

impl CertManagerManifest {
    /// The objects, in the order they are rendered.
    pub fn objects(&self) -> Vec<ObjectSummary> {
        let mut objects = vec![
            self.ca_secret.summary(),
            ObjectSummary::without_data(
                "ClusterIssuer",
                &self.cluster_issuer.name,
                None,
                "cert-manager.io/v1",
            ),
            self.ca_certificates.summary(),
            ObjectSummary::without_data(
                self.bundle.kind.kind(),
                &self.bundle.name,
                None,
                self.bundle.kind.api_version(),
            ),
        ];
        objects.extend(self.certificates.iter().map(|certificate| {
            ObjectSummary::without_data(
                "Certificate",
                &certificate.name,
                Some(&certificate.namespace),
                "cert-manager.io/v1",
            )
        }));
        objects
    }

    /// Renders it with [`CERT_MANAGER_TEMPLATE`].
    pub fn render(&self, templates: &Templates) -> Result<String, RenderError> {
        templates.render(CERT_MANAGER_TEMPLATE, self)
    }
}

/// How a pod reads its certificates: one projected volume of Secrets (and the CA bundle
/// ConfigMap), mounted read-only as a whole directory — never with `subPath`, whose mounts
/// do not receive rotated files — with mode 0440 and `fsGroup: 10001` so the Collector's
/// user can read its key. Items are renamed to the set's file names (`tls.crt` of the
/// server Secret becomes `server.crt`), so the directory looks like the set directory and a
/// config rendered for it works unchanged. Context of the macros in
/// [`TLS_VOLUME_TEMPLATE`].
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TlsVolume {
    /// Volume name.
    pub name: String,
    /// Where it is mounted in the container.
    pub mount_path: String,
    /// `defaultMode` of the projected files ([`MOUNT_MODE`]), as a number.
    pub default_mode: u32,
    /// `defaultMode` in octal, for the comment beside it.
    pub default_mode_octal: String,
    /// `securityContext.fsGroup` (and `runAsUser`/`runAsGroup`) of the pod.
    pub fs_group: u32,
    /// The projected sources, in order.
    pub sources: Vec<ProjectedSource>,
}

/// One source of a projected volume.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ProjectedSource {
    /// `secret` or `configMap`.
    pub kind: String,
    /// The Secret's or ConfigMap's name.
    pub name: String,
    /// `items`: key → path in the volume.
    pub items: Vec<KeyToPath>,
}

/// One item of a projected source.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct KeyToPath {
    /// The data key, e.g. `tls.crt`.
    pub key: String,
    /// The file name in the volume, e.g. `server.crt`.
    pub path: String,
}

/// The data keys of a Secret that holds a certificate, its key and `ca.crt`: what
/// `k8s secret` writes, and so what a pod that mounts it must ask for. A mount that names a
/// key the Secret lacks keeps the pod in `ContainerCreating`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretShape {
    /// `kubernetes.io/tls`: `tls.crt`, `tls.key`, `ca.crt` (`k8s secret`, cert-manager).
    #[default]
    Tls,
    /// Opaque, keyed by the set's file names: `STEM.crt`, `STEM.key`, `ca.crt`
    /// (`k8s secret --opaque`; STEM is the role, `server` or `client`, or `--cert NAME`).
    Opaque,
}

impl SecretShape {
    /// The keys of the certificate and of its private key, for the files `STEM.crt` and
    /// `STEM.key` of a set.
    pub fn keys(self, stem: &str) -> (String, String) {
        match self {
            SecretShape::Tls => ("tls.crt".to_owned(), "tls.key".to_owned()),
            SecretShape::Opaque => (format!("{stem}.crt"), format!("{stem}.key")),
        }
    }

    /// The Secret `type` `k8s secret` gives this shape.
    pub fn secret_type(self) -> &'static str {
        match self {
            SecretShape::Tls => TLS_SECRET_TYPE,
            SecretShape::Opaque => OPAQUE_SECRET_TYPE,
        }
    }

    /// `tls` or `opaque`.
    pub fn name(self) -> &'static str {
        match self {
            SecretShape::Tls => "tls",
            SecretShape::Opaque => "opaque",
        }
    }
}

/// The key of the CA certificates in every Secret and ConfigMap otel-pki writes (and in
/// cert-manager's Secrets and trust-manager's targets).
pub const CA_KEY: &str = "ca.crt";

/// Container paths of one certificate, its key and the CA file, as a config refers to them.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct MountedFiles {
    /// e.g. `/etc/otel/certs/server.crt`.
    pub cert_file: String,
    /// e.g. `/etc/otel/certs/server.key`.
    pub key_file: String,
    /// e.g. `/etc/otel/certs/ca.crt`.
    pub ca_file: String,
}

impl TlsVolume {
    /// An empty volume `otel-certs` mounted at `mount_path`.
    pub fn new(mount_path: &str) -> Self {
        TlsVolume {
            name: "otel-certs".to_owned(),
            mount_path: mount_path.trim_end_matches('/').to_owned(),
            default_mode: MOUNT_MODE,
            default_mode_octal: format!("{MOUNT_MODE:04o}"),
            fs_group: COLLECTOR_UID,
            sources: Vec::new(),
        }
    }

    /// Adds a `kubernetes.io/tls` Secret (from `k8s secret` or cert-manager) as
    /// `FILE_STEM.crt` and `FILE_STEM.key`; with `with_ca`, its `ca.crt` too. Only one
    /// source may provide `ca.crt`.
    pub fn add_tls_secret(
        &mut self,
        secret_name: &str,
        file_stem: &str,
        with_ca: bool,
    ) -> MountedFiles {
        self.add_secret(secret_name, file_stem, SecretShape::Tls, with_ca)
    }

    /// Adds a Secret of the given shape as `FILE_STEM.crt` and `FILE_STEM.key` (its keys
    /// are [`SecretShape::keys`] of `FILE_STEM`); with `with_ca`, its `ca.crt` too. Only
    /// one source may provide `ca.crt`.
    pub fn add_secret(
        &mut self,
        secret_name: &str,
        file_stem: &str,
        shape: SecretShape,
        with_ca: bool,
    ) -> MountedFiles {
        let (cert_key, key_key) = shape.keys(file_stem);
        let mut items = vec![
            KeyToPath {
                key: cert_key,
                path: format!("{file_stem}.crt"),
            },
            KeyToPath {
                key: key_key,
                path: format!("{file_stem}.key"),
            },
        ];
        if with_ca {
            items.push(KeyToPath {
                key: "ca.crt".into(),
                path: "ca.crt".into(),
            });
        }
        self.sources.push(ProjectedSource {
            kind: "secret".into(),
            name: secret_name.to_owned(),
            items,
        });
        MountedFiles {
            cert_file: self.path(&format!("{file_stem}.crt")),
            key_file: self.path(&format!("{file_stem}.key")),
            ca_file: self.path("ca.crt"),
        }
    }

    /// Adds the CA bundle ConfigMap (trust-manager's target, or `k8s secret --role ca
    /// --configmap`) as `ca.crt`; returns its container path.
    pub fn add_ca_config_map(&mut self, name: &str) -> String {
        self.sources.push(ProjectedSource {
            kind: "configMap".into(),
            name: name.to_owned(),
            items: vec![KeyToPath {
                key: "ca.crt".into(),
                path: "ca.crt".into(),
            }],
        });
        self.path("ca.crt")
    }

    /// The container path of `file` in this volume.
    pub fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.mount_path)
    }
}

/// What a Collector workload does.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadRole {
    /// Receives OTLP from applications and exports it with a client certificate
    /// (`otel-pki config collector`).
    Agent,
    /// Receives OTLP only from clients with a certificate, with its server certificate
    /// (`otel-pki config gateway`); forwards with a client certificate when it has an
    /// upstream.
    Gateway,
}

impl WorkloadRole {
    /// `agent` or `gateway`.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadRole::Agent => "agent",
            WorkloadRole::Gateway => "gateway",
        }
    }
}

/// A named TCP port of a container or Service.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct NamedPort {
    /// e.g. `otlp-grpc`.
    pub name: String,
    /// e.g. 4317.
    pub port: u16,
}

impl NamedPort {
    /// The two OTLP ports every Collector configuration of otel-pki listens on.
    pub fn otlp() -> Vec<NamedPort> {
        vec![
            NamedPort {
                name: "otlp-grpc".into(),
                port: 4317,
            },
            NamedPort {
                name: "otlp-http".into(),
                port: 4318,
            },
        ]
    }
}

/// `apiVersion` of the Operator's `Instrumentation`: at operator v0.158.0 (7fb513848c6d) the
/// CRD `opentelemetry.io_instrumentations.yaml` serves and stores `v1alpha1` only
/// (`apis/v1beta1/instrumentation_types.go` exists but is marked `+kubebuilder:skipversion`).
pub const INSTRUMENTATION_API_VERSION: &str = "opentelemetry.io/v1alpha1";

/// Where the Operator mounts `spec.exporter.tls.secretName` in an instrumented container
/// (operator v0.158.0 `internal/instrumentation/exporter.go`: a plain Secret volume, all
/// keys, default mode 0644, read-only).
pub fn operator_secret_mount_path(secret: &str) -> String {
    format!("/otel-auto-instrumentation-secret-{secret}")
}

/// Where the Operator mounts `spec.exporter.tls.configMapName` (same source).
pub fn operator_config_map_mount_path(config_map: &str) -> String {
    format!("/otel-auto-instrumentation-configmap-{config_map}")
}

/// One environment variable.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct EnvVar {
    /// e.g. `OTEL_EXPORTER_OTLP_CLIENT_KEY`.
    pub name: String,
    /// e.g. `/otel-auto-instrumentation-secret-otel-client-tls/tls.key`.
    pub value: String,
}

/// An OpenTelemetry Operator `Instrumentation` ([`INSTRUMENTATION_API_VERSION`]) whose
/// `spec.exporter.tls` makes auto-instrumented SDKs present a client certificate to the
/// Collector. Context of [`INSTRUMENTATION_TEMPLATE`], as the variable `instrumentation`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Instrumentation {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`: the applications' namespace, where the Secret must be too.
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Comment lines above it, without `# `.
    pub comments: Vec<String>,
    /// `spec.exporter.endpoint`: `https://HOST:PORT` (the Operator warns about TLS without
    /// `https://`).
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` in `spec.env`: `grpc` or `http/protobuf`.
    pub protocol: String,
    /// `spec.exporter.tls.secretName`: the client certificate's Secret.
    pub secret_name: String,
    /// `spec.exporter.tls.configMapName`: the CA bundle ConfigMap, if `ca.crt` is not taken
    /// from the Secret.
    pub config_map_name: Option<String>,
    /// `spec.exporter.tls.ca_file`: the key of the CA certificates in the ConfigMap, or else
    /// in the Secret.
    pub ca_file: String,
    /// `spec.exporter.tls.cert_file`: the key of the client certificate in the Secret.
    pub cert_file: String,
    /// `spec.exporter.tls.key_file`: the key of the private key in the Secret.
    pub key_file: String,
    /// What the Operator sets in each instrumented container ([`Self::operator_env`]).
    pub injected_env: Vec<EnvVar>,
}

impl Instrumentation {
    /// The variables the Operator derives from `spec.exporter` (operator v0.158.0
    /// `internal/instrumentation/exporter.go` `configureExporter`): the endpoint, and the
    /// container paths of the CA, the client certificate and its key.
    pub fn operator_env(&self) -> Vec<EnvVar> {
        let secret_dir = operator_secret_mount_path(&self.secret_name);
        let ca_dir = self
            .config_map_name
            .as_deref()
            .map_or_else(|| secret_dir.clone(), operator_config_map_mount_path);
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.clone()),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                format!("{ca_dir}/{}", self.ca_file),
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                format!("{secret_dir}/{}", self.cert_file),
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                format!("{secret_dir}/{}", self.key_file),
            ),
        ]
        .map(|(name, value)| EnvVar {
            name: name.to_owned(),
            value,
        })
        .to_vec()
    }

    /// What reports say about it.
    pub fn summary(&self) -> ObjectSummary {
        ObjectSummary::without_data(
            "Instrumentation",
            &self.name,
            Some(&self.namespace),
            INSTRUMENTATION_API_VERSION,
        )
    }

    /// Renders it with [`INSTRUMENTATION_TEMPLATE`].
    pub fn render(&self, templates: &Templates) -> Result<String, RenderError> {
        #[derive(Serialize)]
        struct InstrumentationContext<'a> {
            instrumentation: &'a Instrumentation,
        }
        templates.render(
            INSTRUMENTATION_TEMPLATE,
            &InstrumentationContext {
                instrumentation: self,
            },
        )
    }
}

/// A `Service` (`v1`, ClusterIP). Context of [`SERVICE_TEMPLATE`].
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Service {
    /// `metadata.name`: for a gateway, the name in its server certificate.
    pub name: String,
    /// `metadata.namespace`: the pods' namespace (a Service selects only there).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// Comment lines above it, without `# `.
    pub comments: Vec<String>,
    /// `spec.selector`: the pod labels.
    pub selector: BTreeMap<String, String>,
    /// `spec.ports`, each to the same container port.
    pub ports: Vec<NamedPort>,
}

impl Service {
    /// What reports say about it.
    pub fn summary(&self) -> ObjectSummary {
        ObjectSummary::without_data("Service", &self.name, Some(&self.namespace), "v1")
    }

    /// Renders it with [`SERVICE_TEMPLATE`].
    pub fn render(&self, templates: &Templates) -> Result<String, RenderError> {
        #[derive(Serialize)]
        struct ServiceContext<'a> {
            service: &'a Service,
        }
        templates.render(SERVICE_TEMPLATE, &ServiceContext { service: self })
    }
}

/// A Collector that runs in a cluster with the certificates of a [`TlsVolume`] and a
/// configuration rendered by `otel-pki config` for that volume's paths. Rendered as a
/// `ConfigMap` + `Deployment` (+ `Service`) by [`DEPLOYMENT_TEMPLATE`], or, with
/// `operator`, as an `OpenTelemetryCollector` (+ `Service`) by [`OPERATOR_TEMPLATE`].
/// Context of both, as the variable `workload`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct CollectorWorkload {
    /// `agent` or `gateway`.
    pub role: WorkloadRole,
    /// True: an `OpenTelemetryCollector` for the Operator instead of a Deployment.
    pub operator: bool,
    /// The Operator's `spec.mode`: `deployment`, or `statefulset` with a target allocator
    /// (the Operator's webhook allows one only with `statefulset` or `daemonset`).
    pub mode: String,
    /// The Operator's target allocator with mutual TLS (`spec.targetAllocator`), if any.
    pub target_allocator: Option<TargetAllocatorMtls>,
    /// `metadata.name` of the Deployment (or the `OpenTelemetryCollector`).
    pub name: String,
    /// `metadata.namespace` of every object.
    pub namespace: String,
    /// `metadata.labels` of every object.
    pub labels: BTreeMap<String, String>,
    /// The Deployment's `spec.selector.matchLabels`, also on its pods.
    pub selector: BTreeMap<String, String>,
    /// Comment lines at the top of the manifest, without `# `.
    pub comments: Vec<String>,
    /// Container image.
    pub image: String,
    /// `spec.replicas`.
    pub replicas: u32,
    /// The container's memory limit (a Kubernetes quantity such as `512Mi`): the
    /// configurations' `memory_limiter` sets its limit as a percentage of it.
    pub memory_limit: String,
    /// The Collector configuration, exactly as `otel-pki config collector|gateway` prints
    /// it for the same options (its paths are the volume's).
    pub config: String,
    /// SHA-256 of `config` (hex), a pod annotation: a changed configuration rolls the pods,
    /// because the Collector does not re-read its configuration file.
    pub config_sha256: String,
    /// Name of the ConfigMap holding `config` (Deployment only).
    pub config_map_name: String,
    /// Its key, [`CONFIG_KEY`].
    pub config_key: String,
    /// Where the ConfigMap is mounted, whole and read-only, [`CONFIG_MOUNT_PATH`].
    pub config_mount_path: String,
    /// `config_mount_path/config_key`: the container's `--config`.
    pub config_file: String,
    /// The certificates: one projected volume, mounted at the configuration's cert path.
    pub volume: TlsVolume,
    /// Container ports.
    pub ports: Vec<NamedPort>,
    /// The Service clients dial, if one is written.
    pub service: Option<Service>,
}

impl CollectorWorkload {
    /// The objects, in the order they are rendered.
    pub fn objects(&self) -> Vec<ObjectSummary> {
        let mut objects = if self.operator {
            vec![ObjectSummary::without_data(
                "OpenTelemetryCollector",
                &self.name,
                Some(&self.namespace),
                "opentelemetry.io/v1beta1",
            )]
        } else {
            vec![
                ObjectSummary {
                    keys: vec![self.config_key.clone()],
                    ..ObjectSummary::without_data(
                        "ConfigMap",
                        &self.config_map_name,
                        Some(&self.namespace),
                        "v1",
                    )
                },
                ObjectSummary::without_data(
                    "Deployment",
                    &self.name,
                    Some(&self.namespace),
                    "apps/v1",
                ),
            ]
        };
        objects.extend(self.service.iter().map(Service::summary));
        objects
    }

    /// Renders it with [`DEPLOYMENT_TEMPLATE`] or, with `operator`, [`OPERATOR_TEMPLATE`].
    pub fn render(&self, templates: &Templates) -> Result<String, RenderError> {
        #[derive(Serialize)]
        struct WorkloadContext<'a> {
            workload: &'a CollectorWorkload,
        }
        let template = if self.operator {
            OPERATOR_TEMPLATE
        } else {
            DEPLOYMENT_TEMPLATE
        };
        templates.render(template, &WorkloadContext { workload: self })
    }
}

/// A data key of a Secret or ConfigMap, as the Operator's `SecretKeySelector` and
/// `ConfigMapKeySelector` name it.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct KeyRef {
    /// `secret` or `configMap`.
    pub kind: String,
    /// The object's name, in the Collector's namespace.
    pub name: String,
    /// The data key.
    pub key: String,
}

/// A certificate and its key in one Secret (the Operator's `CertificateReference`, whose
/// `certificateSecret` and `keySecret` may name different Secrets; otel-pki's hold both).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct CertificateRef {
    /// The Secret.
    pub secret: String,
    /// The key of the certificate, e.g. `tls.crt`.
    pub cert_key: String,
    /// The key of the private key, e.g. `tls.key`.
    pub key_key: String,
}

/// `spec.targetAllocator` of an `OpenTelemetryCollector` (`opentelemetry.io/v1beta1`) with
/// mutual TLS between the target allocator and the Collector's prometheus receiver:
/// `spec.targetAllocator.mtls.enabled` (operator PR #5136, v0.154.0, which removed the
/// `operator.targetallocator.mtls` feature gate; the standalone `TargetAllocator` CRD has it
/// as `spec.mtls`), and certificates from Secrets with `useCertManager: false` and `tls`
/// (operator PR #5356, v0.157.0). Read at operator v0.158.0
/// `apis/v1beta1/opentelemetrycollector_types.go` and
/// `internal/manifests/manifestutils/mtls.go`: the Operator mounts each referenced key with
/// `subPath` under `/tls` (so renewed Secrets reach the pods only when they restart), and
/// the Collector dials `https://NAME-targetallocator:443`.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TargetAllocatorMtls {
    /// `mtls.useCertManager`: true lets the Operator have cert-manager issue its own CA
    /// and both certificates; then `ca`, `server` and `client` are null.
    pub use_cert_manager: bool,
    /// `tls.certificateAuthorityCertificate`: verifies both sides.
    pub ca: Option<KeyRef>,
    /// `tls.serverCertificate`: the target allocator's, for [`Self::service_name`].
    pub server: Option<CertificateRef>,
    /// `tls.clientCertificate`: the Collector's, with clientAuth.
    pub client: Option<CertificateRef>,
    /// The target allocator's Service (`NAME-targetallocator`), the name the Collector
    /// dials and so a DNS name its server certificate must have.
    pub service_name: String,
}

/// The Service of the target allocator of an `OpenTelemetryCollector` NAME (operator
/// `internal/naming` `TAService`).
pub fn target_allocator_service_name(name: &str) -> String {
    format!("{name}-targetallocator")
}

/// The labels the OpenTelemetry Operator puts on the pods of an `OpenTelemetryCollector`
/// and selects them by (its `manifestutils.SelectorLabels`): a Service of our own can
/// select them with these. `None` when `NAMESPACE.NAME` is longer than a label value may
/// be (63), where the Operator truncates it.
pub fn operator_selector(name: &str, namespace: &str) -> Option<BTreeMap<String, String>> {
    let instance = format!("{namespace}.{name}");
    (instance.len() <= 63).then(|| {
        BTreeMap::from(
            [
                ("app.kubernetes.io/component", "opentelemetry-collector"),
                ("app.kubernetes.io/instance", instance.as_str()),
                ("app.kubernetes.io/managed-by", "opentelemetry-operator"),
                ("app.kubernetes.io/part-of", "opentelemetry"),
            ]
            .map(|(key, value)| (key.to_owned(), value.to_owned())),
        )
    })
}

/// The name of the Service the Operator makes for an `OpenTelemetryCollector` NAME.
pub fn operator_service_name(name: &str) -> String {
    format!("{name}-collector")
}

/// Checks a Kubernetes resource quantity such as `512Mi`, `1Gi` or `1.5G`.
pub fn is_quantity(input: &str) -> bool {
    let number_end = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, suffix) = input.split_at(number_end);
    let mut parts = number.split('.');
    let digits = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    let whole = digits(parts.next());
    let fraction = match parts.next() {
        None => true,
        part => digits(part),
    };
    whole
        && fraction
        && parts.next().is_none()
        && [
            "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
        ]
        .contains(&suffix)
}

/// The comment lines above a Secret that holds the private key of `what` (e.g. `the CA
/// "OTel Telemetry CA" (otel-certs/ca.key)`).
pub fn ca_key_comments(what: &str, namespace: &str, intermediate: bool) -> Vec<String> {
    let mut comments = vec![
        format!("WARNING: this Secret holds the PRIVATE KEY of {what}."),
        "Anyone who can read it can issue certificates that every collector and gateway".into(),
        format!(
            "trusts. Keep it in the {namespace} namespace only, restrict who may read Secrets there,"
        ),
        "and never commit this file unencrypted.".into(),
    ];
    if !intermediate {
        comments.push(
            "To keep the root key out of the cluster, use `otel-pki k8s cert-manager --intermediate`."
                .into(),
        );
    }
    comments
}

/// The comment lines at the top of the cert-manager manifest.
pub fn cert_manager_comments(bundle: BundleKind) -> Vec<String> {
    let mut comments = vec![
        "Hands certificate issuing and rotation to cert-manager (cert-manager.io/v1) and CA".into(),
        format!(
            "distribution to trust-manager ({}): install both first,",
            bundle.api_version()
        ),
        "then `kubectl apply -f` this file. Made by otel-pki k8s cert-manager.".into(),
    ];
    if bundle == BundleKind::ClusterBundle {
        comments.extend([
            "trust-manager releases up to v0.24.0 neither install nor reconcile ClusterBundle;"
                .into(),
            "for them, use `--bundle-kind bundle`.".into(),
        ]);
    }
    comments.push(String::new());
    comments
}

/// The comment above the ConfigMap that is the Bundle's source.
pub fn ca_certificates_comments(bundle_name: &str) -> Vec<String> {
    vec![
        format!("CA certificates only: the source trust-manager copies into `{bundle_name}`."),
        "Never the issuing CA's Secret; during a CA rotation, old and new CA both.".into(),
    ]
}

/// Makes text safe for a one-line YAML comment.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_the_way_go_parses_them() {
        assert_eq!(go_duration(Lifetime::days(90)), "2160h");
        assert_eq!(go_duration("30d".parse().unwrap()), "720h");
        assert_eq!(go_duration("90m".parse().unwrap()), "1h30m");
        assert_eq!(go_duration("45m".parse().unwrap()), "45m");
    }

    #[test]
    fn usages_are_explicit_and_key_encipherment_is_for_rsa_only() {
        assert_eq!(
            usages(Purpose::Server, KeyType::EcdsaP256),
            ["digital signature", "server auth"]
        );
        assert_eq!(
            usages(Purpose::Client, KeyType::Rsa2048),
            ["digital signature", "key encipherment", "client auth"]
        );
        let ed25519 = PrivateKeySpec::for_key_type(KeyType::Ed25519);
        assert_eq!(
            (ed25519.algorithm.as_str(), ed25519.size),
            ("Ed25519", None)
        );
        assert_eq!(
            PrivateKeySpec::for_key_type(KeyType::Rsa3072).size,
            Some(3072)
        );
    }

    #[test]
    fn quantities_are_checked_the_way_kubernetes_writes_them() {
        for good in ["512Mi", "1Gi", "1.5G", "1000", "250k"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "Mi", "512MB", "1..5Gi", "-1Gi", "1 Gi", ".5Gi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn the_operators_pods_are_selected_by_its_labels() {
        let selector = operator_selector("otel-gateway", "observability").unwrap();
        assert_eq!(
            selector["app.kubernetes.io/instance"],
            "observability.otel-gateway"
        );
        assert_eq!(selector.len(), 4);
        assert!(operator_selector(&"a".repeat(40), &"b".repeat(30)).is_none());
        assert_eq!(
            operator_service_name("otel-gateway"),
            "otel-gateway-collector"
        );
    }

    #[test]
    fn secret_shapes_name_the_keys_k8s_secret_writes() {
        assert_eq!(
            SecretShape::Tls.keys("client"),
            ("tls.crt".to_owned(), "tls.key".to_owned())
        );
        assert_eq!(
            SecretShape::Opaque.keys("targetallocator"),
            (
                "targetallocator.crt".to_owned(),
                "targetallocator.key".to_owned()
            )
        );
        let mut volume = TlsVolume::new("/etc/otel/certs");
        let files = volume.add_secret("edge", "client", SecretShape::Opaque, true);
        assert_eq!(files.key_file, "/etc/otel/certs/client.key");
        let keys: Vec<&str> = volume.sources[0]
            .items
            .iter()
            .map(|item| item.key.as_str())
            .collect();
        assert_eq!(keys, ["client.crt", "client.key", "ca.crt"]);
        assert_eq!(
            (
                BundleKind::default().kind(),
                BundleKind::ClusterBundle.api_version()
            ),
            ("Bundle", "trust-manager.io/v1alpha2")
        );
    }

    #[test]
    fn the_operator_points_the_sdk_at_the_mounted_keys() {
        let instrumentation = Instrumentation {
            name: "i".into(),
            namespace: "apps".into(),
            labels: labels(),
            comments: Vec::new(),
            endpoint: "https://gw:4318".into(),
            protocol: "http/protobuf".into(),
            secret_name: "otel-client-tls".into(),
            config_map_name: Some("otel-ca-bundle".into()),
            ca_file: "ca.crt".into(),
            cert_file: "tls.crt".into(),
            key_file: "tls.key".into(),
            injected_env: Vec::new(),
        };
        let env = instrumentation.operator_env();
        assert_eq!(
            env[1].value,
            "/otel-auto-instrumentation-configmap-otel-ca-bundle/ca.crt"
        );
        assert_eq!(
            env[3].value,
            "/otel-auto-instrumentation-secret-otel-client-tls/tls.key"
        );
    }

    #[test]
    fn the_volume_looks_like_the_set_directory() {
        let mut volume = TlsVolume::new("/etc/otel/certs/");
        let files = volume.add_tls_secret("otel-server-tls", "server", true);
        assert_eq!(files.cert_file, "/etc/otel/certs/server.crt");
        assert_eq!(files.key_file, "/etc/otel/certs/server.key");
        assert_eq!(files.ca_file, "/etc/otel/certs/ca.crt");
        assert_eq!(volume.default_mode_octal, "0440");
        assert_eq!(
            volume.add_ca_config_map("otel-ca-bundle"),
            "/etc/otel/certs/ca.crt"
        );
    }
}
