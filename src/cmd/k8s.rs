//! `otel-pki k8s secret|cert-manager|deployment|instrumentation`: Kubernetes manifests from a set's real
//! files. The files are read and checked here (roles, key match, chain, no stray private
//! key), turned into the contexts of [`crate::k8s`], rendered, and printed or written with
//! `--out`. `k8s deployment` renders its Collector configuration with [`crate::config`],
//! the code of `otel-pki config`, for the paths of the volume it mounts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cli::{
    BundleKindArg, DeploymentRole, K8sCertManagerArgs, K8sCommand, K8sDeploymentArgs,
    K8sInstrumentationArgs, K8sSecretArgs, ManifestOutputArgs, SecretKeysArg, SecretRole,
};
use crate::config::context::go_duration;
use crate::config::{
    self, ConfigContext, ConfigOptions, Endpoint, FileNames, Protocol, Severity, Target,
};
use crate::k8s::{
    self, Bundle, BundleKind, CertManagerManifest, Certificate, CertificateRef, ClusterIssuer,
    CollectorWorkload, Instrumentation, IssuerRef, KeyRef, NamedPort, ObjectSummary, PemEntry,
    PemObject, PrivateKeySpec, Purpose, SecretShape, Service, TargetAllocatorMtls, TlsVolume,
    WorkloadRole,
};
use crate::output::Output;
use crate::pki::certificate::{self, Role};
use crate::pki::key::{self as pki_key, KeyFile};
use crate::pki::{self, Ca, CaRequest, KeyType, Lifetime, PrivateKey, San, Validity, san};
use crate::render::Templates;
use crate::support;
use crate::write::{self, PlannedFile};

/// File stem of the intermediate CA that `k8s cert-manager --intermediate` keeps in the set.
pub const INTERMEDIATE_STEM: &str = "intermediate-ca";
/// File stem of the target allocator's server certificate (`issue server --name
/// targetallocator`), and so of its Secret `otel-targetallocator-tls` (`k8s secret --cert
/// targetallocator`).
pub const TA_STEM: &str = "targetallocator";

/// Result of `k8s secret` and `k8s cert-manager`. Field names are the JSON contract.
#[derive(Debug, Deserialize, Serialize)]
pub struct ManifestReport {
    /// The Kubernetes objects in the manifest, in order.
    pub objects: Vec<ObjectSummary>,
    /// The manifest (YAML); null when it was written to `--out`.
    pub manifest: Option<String>,
    /// Files written: the `--out` file, and a new intermediate CA in the set.
    pub files: Vec<write::WrittenFile>,
    /// Where a replaced `--out` file went (`--force`).
    pub backup_dir: Option<PathBuf>,
    /// True when the manifest holds a CA's private key.
    pub contains_ca_key: bool,
    /// Warnings (also printed on stderr).
    pub warnings: Vec<String>,
}

/// Runs `k8s secret` or `k8s cert-manager`.
pub fn run(command: &K8sCommand, output: &Output) -> Result<ExitCode> {
    match command {
        K8sCommand::Secret(args) => secret(args, output),
        K8sCommand::CertManager(args) => cert_manager(args, output),
        K8sCommand::Deployment(args) => deployment(args, output),
        K8sCommand::Instrumentation(args) => instrumentation(args, output),
    }
}

/// What a manifest is made of, before it is printed or written.
struct Manifest {
    yaml: String,
    objects: Vec<ObjectSummary>,
    contains_ca_key: bool,
    set_files: Vec<write::WrittenFile>,
    warnings: Vec<String>,
    /// Status lines after the object lines.
    notes: Vec<String>,
}

fn secret(args: &K8sSecretArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    let now = OffsetDateTime::now_utc();
    let ca_cert_path = args
        .ca_cert
        .clone()
        .unwrap_or_else(|| dir.join(crate::set::names::CA_CERT));
    let templates = Templates::new(args.output.templates.as_deref())?;
    let mut warnings = Vec::new();
    let ca_role = matches!(args.role, Some(SecretRole::Ca | SecretRole::CaIssuer));
    if ca_role && args.cert.is_some() {
        bail!(
            "--cert NAME is for server and client certificates; --role ca and ca-issuer use --ca-cert (and --ca-key)"
        );
    }
    if args.ca_key.is_some() && args.role != Some(SecretRole::CaIssuer) {
        bail!("--ca-key is only read with --role ca-issuer; no other Secret holds the CA key");
    }
    let (object, contains_ca_key) = match (args.role, &args.cert) {
        (Some(SecretRole::Ca), None) => {
            let name = object_name("--name", args.name.as_deref(), "otel-ca")?;
            let namespace = namespace("--namespace", args.namespace.as_deref(), "observability")?;
            let roots = read_ca_certificates(&ca_cert_path)?;
            let object = if args.configmap {
                PemObject::config_map(&name, &namespace, vec![roots.canonical_entry("ca.crt")])
            } else {
                PemObject::secret(
                    &name,
                    &namespace,
                    k8s::OPAQUE_SECRET_TYPE,
                    vec![roots.verbatim_entry("ca.crt")],
                )
            };
            (object, false)
        }
        (Some(SecretRole::CaIssuer), None) => {
            if args.opaque {
                bail!(
                    "--opaque cannot be used with --role ca-issuer: cert-manager reads the CA from the keys tls.crt and tls.key"
                );
            }
            let name = object_name("--name", args.name.as_deref(), "otel-pki-ca")?;
            let namespace = namespace("--namespace", args.namespace.as_deref(), "cert-manager")?;
            let ca_key_path = args
                .ca_key
                .clone()
                .unwrap_or_else(|| dir.join(crate::set::names::CA_KEY));
            let passphrase = support::passphrase(&args.passphrase)?;
            let ca = support::load_ca(&ca_cert_path, &ca_key_path, passphrase.as_ref())?;
            let object = ca_issuer_secret(
                &name,
                &namespace,
                &ca,
                &ca_cert_path,
                &ca_key_path,
                None,
                now,
                &mut warnings,
            )?;
            (object, true)
        }
        (role, cert) => {
            if args.configmap {
                bail!(
                    "--configmap is only for --role ca: a certificate's private key belongs in a Secret"
                );
            }
            let stem = match (role, cert) {
                (_, Some(cert)) => support::file_stem(cert, "--cert")?,
                (Some(SecretRole::Client), None) => "client".to_owned(),
                _ => "server".to_owned(),
            };
            if stem == "ca" {
                bail!(
                    "invalid --cert `ca`: for the CA use --role ca (certificate only) or --role ca-issuer (with its key)"
                );
            }
            let name = object_name("--name", args.name.as_deref(), &format!("otel-{stem}-tls"))?;
            let namespace = namespace("--namespace", args.namespace.as_deref(), "observability")?;
            let leaf = read_leaf(dir, &stem, role, now, &mut warnings)?;
            let roots = read_ca_certificates(&ca_cert_path)?;
            check_chain(&leaf, &roots)?;
            // The same keys `k8s deployment --secret-keys` and `k8s instrumentation` mount.
            let shape = if args.opaque {
                SecretShape::Opaque
            } else {
                SecretShape::Tls
            };
            let (cert_key, key_key) = shape.keys(&stem);
            for key in [&cert_key, &key_key] {
                data_key(key)?;
            }
            if shape == SecretShape::Opaque
                && !["server", "client", TA_STEM].contains(&stem.as_str())
            {
                warnings.push(format!(
                    "the Secret's keys are {cert_key} and {key_key}, but `k8s deployment --secret-keys opaque` and `k8s instrumentation --secret-keys opaque` mount server.crt/server.key or client.crt/client.key; drop --opaque to mount this one as kubernetes.io/tls"
                ));
            }
            let secret_type = shape.secret_type();
            let entries = vec![
                PemEntry {
                    key: cert_key,
                    content: leaf.cert_text.clone(),
                    description: leaf.description.clone(),
                    private_key: false,
                },
                PemEntry {
                    key: key_key,
                    content: leaf.key_text.clone(),
                    description: leaf.key_description.clone(),
                    private_key: true,
                },
                roots.verbatim_entry("ca.crt"),
            ];
            (
                PemObject::secret(&name, &namespace, secret_type, entries),
                false,
            )
        }
    };
    let manifest = Manifest {
        yaml: object.render(&templates)?,
        objects: vec![object.summary()],
        contains_ca_key,
        set_files: Vec::new(),
        warnings,
        notes: Vec::new(),
    };
    emit(manifest, &args.output, output)
}

fn cert_manager(args: &K8sCertManagerArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    let now = OffsetDateTime::now_utc();
    let templates = Templates::new(args.output.templates.as_deref())?;
    let mut warnings = Vec::new();
    let issuer_name = object_name("--issuer-name", Some(&args.issuer_name), "")?;
    let cert_manager_namespace = namespace(
        "--cert-manager-namespace",
        Some(&args.cert_manager_namespace),
        "",
    )?;
    let trust_namespace = namespace("--trust-namespace", Some(&args.trust_namespace), "")?;
    let bundle_name = object_name("--bundle-name", Some(&args.bundle_name), "")?;
    let (duration, renew_before) = renewal(args.duration, args.renew_before)?;
    let key_type = KeyType::from(args.key_type);
    warnings.extend(key_type.warning().map(str::to_owned));
    let issuer = IssuerRef {
        name: issuer_name.clone(),
        kind: "ClusterIssuer".into(),
        group: "cert-manager.io".into(),
    };
    let certificate = |name: String, namespace: String, purpose: Purpose| Certificate {
        secret_name: format!("{name}-tls"),
        name,
        namespace,
        labels: k8s::labels(),
        duration: k8s::go_duration(duration),
        renew_before: k8s::go_duration(renew_before),
        duration_text: duration.to_string(),
        renew_before_text: renew_before.to_string(),
        common_name: None,
        dns_names: Vec::new(),
        usages: k8s::usages(purpose, key_type),
        private_key: PrivateKeySpec::for_key_type(key_type),
        issuer: issuer.clone(),
    };

    let (services, cluster_domain, headless) = server_services(args, dir, output)?;
    let mut certificates = Vec::new();
    for service in &services {
        let (name, namespace) = san::kubernetes_service("--k8s-service", service)?;
        let mut server = certificate(format!("{name}-server"), namespace, Purpose::Server);
        server.dns_names = san::kubernetes_service_names(service, &cluster_domain, headless)?
            .iter()
            .map(San::value)
            .collect();
        certificates.push(server);
    }
    for client in &args.clients {
        let (name, namespace) = san::kubernetes_service("--client", client)?;
        let mut certificate = certificate(format!("{name}-client"), namespace, Purpose::Client);
        certificate.common_name = Some(pki::issue::common_name("--client", &name)?);
        certificates.push(certificate);
    }
    if args.clients.is_empty() && !certificates.is_empty() {
        warnings.push(no_client_warning(dir, now));
    }
    if certificates.is_empty() {
        bail!(
            "nothing to issue: give --k8s-service NAME.NAMESPACE for gateways and backends and --client NAME.NAMESPACE for collectors (`{}` has no Kubernetes Service names to reuse)",
            dir.join(crate::set::names::SERVER_CERT).display()
        );
    }
    for (index, certificate) in certificates.iter().enumerate() {
        if certificates[..index]
            .iter()
            .any(|other| other.name == certificate.name && other.namespace == certificate.namespace)
        {
            bail!(
                "Certificate `{}/{}` is asked for twice; give each --k8s-service and --client once",
                certificate.namespace,
                certificate.name
            );
        }
    }

    // The CA cert-manager signs with: an intermediate (root key stays home) or the root.
    let (root_cert_path, root_key_path) =
        support::ca_paths(dir, args.ca_cert.as_ref(), args.ca_key.as_ref());
    let roots = read_ca_certificates(&root_cert_path)?;
    let passphrase = support::passphrase(&args.passphrase)?;
    let mut set_files = Vec::new();
    let (signer, signer_key_path, chain) = if args.intermediate {
        let (intermediate, written) = intermediate_ca(
            dir,
            &root_cert_path,
            &root_key_path,
            &roots,
            args.intermediate_validity,
            passphrase.as_ref(),
            now,
            output,
        )?;
        set_files = written;
        let root_der = roots.ders[0].clone();
        (
            intermediate,
            dir.join(format!("{INTERMEDIATE_STEM}.key")),
            Some(root_der),
        )
    } else {
        let ca = support::load_ca(&root_cert_path, &root_key_path, passphrase.as_ref())?;
        (ca, root_key_path.clone(), None)
    };
    let signer_path = PathBuf::from(signer.certificate_path());
    let ca_secret = ca_issuer_secret(
        &issuer_name,
        &cert_manager_namespace,
        &signer,
        &signer_path,
        &signer_key_path,
        chain.as_deref(),
        now,
        &mut warnings,
    )?;
    if now + duration.duration() > signer.not_after() {
        let message = format!(
            "--duration {duration} reaches past the end of CA `{}` ({}); cert-manager's CA issuer does not check, so renewals near the end would issue certificates that outlive it: rotate the CA first",
            signer.certificate_path(),
            signer.not_after().date()
        );
        warnings.push(message);
    }

    let mut namespaces: Vec<String> = certificates
        .iter()
        .map(|certificate| certificate.namespace.clone())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let ca_certificates_name = format!("{issuer_name}-certs");
    let mut ca_certificates = PemObject::config_map(
        &ca_certificates_name,
        &trust_namespace,
        vec![roots.canonical_entry("ca.crt")],
    );
    ca_certificates.comments = k8s::ca_certificates_comments(&bundle_name);
    let bundle_kind = match args.bundle_kind {
        BundleKindArg::Bundle => BundleKind::Bundle,
        BundleKindArg::ClusterBundle => BundleKind::ClusterBundle,
    };
    if bundle_kind == BundleKind::ClusterBundle {
        warnings.push(
            "--bundle-kind cluster-bundle: trust-manager releases up to v0.24.0 do not install the ClusterBundle CRD (trust-manager.io/v1alpha2) nor reconcile it, and `kubectl apply` fails with \"no matches for kind ClusterBundle\" there; use --bundle-kind bundle for them".to_owned(),
        );
    }
    let manifest = CertManagerManifest {
        comments: k8s::cert_manager_comments(bundle_kind),
        ca_secret,
        cluster_issuer: ClusterIssuer {
            name: issuer_name.clone(),
            secret_name: issuer_name.clone(),
            labels: k8s::labels(),
        },
        ca_certificates,
        bundle: Bundle {
            kind: bundle_kind,
            name: bundle_name,
            labels: k8s::labels(),
            source_config_map: ca_certificates_name,
            source_key: "ca.crt".into(),
            target_key: "ca.crt".into(),
            namespaces,
        },
        certificates,
    };
    let yaml = manifest.render(&templates)?;
    emit(
        Manifest {
            yaml,
            objects: manifest.objects(),
            contains_ca_key: true,
            set_files,
            warnings,
            notes: Vec::new(),
        },
        &args.output,
        output,
    )
}

/// Without --client, cert-manager rotates the servers only; the collectors' client
/// certificates (the set's, from `k8s secret --role client`) still expire on their date.
fn no_client_warning(dir: &Path, now: OffsetDateTime) -> String {
    let client = dir.join(crate::set::names::CLIENT_CERT);
    let expiry = crate::set::read_certificates(&client)
        .ok()
        .and_then(|ders| ders.into_iter().next())
        .and_then(|der| {
            certificate::CertSummary::new(&der, &support::display(&client), 0, now).ok()
        })
        .map(|summary| {
            format!(
                " (`{}` expires {})",
                client.display(),
                summary.not_after.date()
            )
        })
        .unwrap_or_default();
    format!(
        "no --client: the manifest has no client Certificate, so cert-manager neither issues nor rotates any collector's client certificate; the ones collectors have now{expiry} are never renewed, and gateways reject them once they expire. Add --client NAME.NAMESPACE for each collector (and for a gateway that exports over mutual TLS); `k8s deployment --cert-manager` mounts the Secret NAME-client-tls it creates"
    )
}

fn deployment(args: &K8sDeploymentArgs, output: &Output) -> Result<ExitCode> {
    let role = match args.role {
        DeploymentRole::Agent => WorkloadRole::Agent,
        DeploymentRole::Gateway => WorkloadRole::Gateway,
    };
    let gateway = role == WorkloadRole::Gateway;
    if !gateway && args.upstream.is_some() {
        bail!("--upstream is for --role gateway; an agent exports to --endpoint");
    }
    if !gateway && args.server_secret.is_some() {
        bail!("--server-secret is for --role gateway; an agent has no server certificate");
    }
    if gateway
        && args.upstream.is_none()
        && args.client_secret.is_some()
        && !args.target_allocator_mtls
    {
        bail!(
            "--client-secret is for a gateway's --upstream exporter (or --target-allocator-mtls); give --upstream HOST:PORT too"
        );
    }
    if !k8s::is_quantity(&args.memory_limit) {
        bail!(
            "invalid --memory-limit `{}`: expected a Kubernetes quantity such as `512Mi` or `1Gi`",
            args.memory_limit
        );
    }
    let image = match &args.image {
        Some(image)
            if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            bail!(
                "invalid --image `{image}`: expected an image reference such as `otel/opentelemetry-collector-contrib:0.159.0`"
            )
        }
        Some(image) => image.clone(),
        None => format!("{}:{}", k8s::COLLECTOR_IMAGE, args.collector_version),
    };
    let templates = Templates::new(args.output.templates.as_deref())?;
    let mut warnings = Vec::new();

    // The set is read for names only: the gateway Service in DIR/server.crt. With
    // cert-manager there may be no set here at all.
    let server =
        config::read_server_certificate(&args.dir.dir.join(crate::set::names::SERVER_CERT)).ok();
    let placement = Placement::new(args, role, server.as_ref())?;
    let (context, config_text) = collector_config(
        args,
        role,
        &placement,
        server.as_ref(),
        &templates,
        &mut warnings,
    )?;
    let volume = certificate_volume(args, role, &placement, &context)?;
    let shape = secret_shape(args.secret_keys, args.cert_manager)?;
    let target_allocator = target_allocator(args, &placement, &volume, shape, &mut warnings)?;
    let config_text = match target_allocator {
        Some(_) => with_prometheus_receiver(&config_text)?,
        None => config_text,
    };

    let name = &placement.name;
    let namespace = &placement.namespace;
    let mut labels = k8s::labels();
    labels.insert("app.kubernetes.io/name".into(), name.clone());
    labels.insert("app.kubernetes.io/component".into(), role.name().into());
    let selector = BTreeMap::from([("app.kubernetes.io/name".to_owned(), name.clone())]);
    let service = workload_service(args, role, &placement, &labels, &selector)?;
    let sources = describe_sources(&volume);
    let workload = CollectorWorkload {
        role,
        operator: args.operator,
        name: name.clone(),
        namespace: namespace.clone(),
        comments: workload_comments(
            role,
            name,
            namespace,
            &volume,
            args.cert_manager,
            target_allocator.as_ref(),
        ),
        mode: if target_allocator.is_some() {
            "statefulset"
        } else {
            "deployment"
        }
        .to_owned(),
        target_allocator,
        labels,
        selector,
        image,
        replicas: args.replicas,
        memory_limit: args.memory_limit.clone(),
        config_sha256: sha256_hex(config_text.as_bytes()),
        config: config_text,
        config_map_name: format!("{name}-config"),
        config_key: k8s::CONFIG_KEY.to_owned(),
        config_mount_path: k8s::CONFIG_MOUNT_PATH.to_owned(),
        config_file: format!("{}/{}", k8s::CONFIG_MOUNT_PATH, k8s::CONFIG_KEY),
        volume,
        ports: NamedPort::otlp(),
        service,
    };
    let manifest = Manifest {
        yaml: workload.render(&templates)?,
        objects: workload.objects(),
        contains_ca_key: false,
        set_files: Vec::new(),
        warnings,
        notes: {
            let mut notes = vec![format!(
                "mounts {sources} read-only at {}",
                workload.volume.mount_path
            )];
            notes.extend(
                workload
                    .target_allocator
                    .as_ref()
                    .map(describe_target_allocator),
            );
            notes
        },
    };
    emit(manifest, &args.output, output)
}

fn instrumentation(args: &K8sInstrumentationArgs, output: &Output) -> Result<ExitCode> {
    let dir = &args.dir.dir;
    let templates = Templates::new(args.output.templates.as_deref())?;
    let mut warnings = Vec::new();
    let name = object_name("--name", Some(&args.name), "")?;
    let namespace = namespace("--namespace", Some(&args.namespace), "")?;
    let shape = secret_shape(args.secret_keys, args.cert_manager)?;
    let protocol = Protocol::from(args.protocol);
    let port = protocol.default_port();

    // The Collector the SDKs send to: --endpoint, --k8s-service, or the Service in
    // DIR/server.crt; checked against the server certificate when there is one.
    let server = config::read_server_certificate(&dir.join(crate::set::names::SERVER_CERT)).ok();
    let endpoint = match (&args.endpoint, &args.service) {
        (Some(text), _) => Endpoint::parse(text, port).context("invalid --endpoint")?,
        (None, Some(text)) => {
            let (service, service_namespace) = san::kubernetes_service("--k8s-service", text)?;
            Endpoint::new(
                &format!("{service}.{service_namespace}.svc.cluster.local"),
                port,
            )?
        }
        (None, None) => {
            let (services, domain, _) = server
                .as_ref()
                .map(|server| services_in(&server.sans.dns))
                .unwrap_or_default();
            let Some(service) = services.first() else {
                bail!(
                    "the SDKs need --endpoint HOST:PORT or --k8s-service NAME.NAMESPACE (the Collector they export to); `{}` names no Service to default to",
                    dir.join(crate::set::names::SERVER_CERT).display()
                );
            };
            Endpoint::new(
                &format!(
                    "{service}.svc.{}",
                    domain.unwrap_or_else(|| "cluster.local".to_owned())
                ),
                port,
            )?
        }
    };
    if let Some(server) = &server {
        warnings.extend(config::endpoint_warning(&endpoint, server));
    }
    if protocol == Protocol::Grpc {
        warnings.push(
            "--protocol grpc: the Operator's Python auto-instrumentation supports http/protobuf only (operator v0.158.0 internal/instrumentation/python.go); pods annotated inject-python will not export".to_owned(),
        );
    }

    // The Secret and where ca.crt comes from.
    let secret_name = match (&args.client_secret, args.cert_manager) {
        (Some(given), _) => object_name("--client-secret", Some(given), "")?,
        (None, true) => object_name("--name", Some(&format!("{name}-client-tls")), "")?,
        (None, false) => "otel-client-tls".to_owned(),
    };
    let config_map_name = match (&args.ca_configmap, args.cert_manager) {
        (Some(given), _) => Some(object_name("--ca-configmap", Some(given), "")?),
        (None, true) => Some(k8s::DEFAULT_BUNDLE_NAME.to_owned()),
        (None, false) => None,
    };
    let (cert_key, key_key) = shape.keys("client");

    // Ed25519: the Java agent cannot load it, gRPC's C core cannot use it.
    if !args.cert_manager {
        let client = dir.join(crate::set::names::CLIENT_CERT);
        if let Ok(certificate) = config::read_server_certificate(&client)
            && certificate.public_key.algorithm == "ed25519"
        {
            warnings.push(format!(
                "`{}` has an Ed25519 key: the OpenTelemetry Java agent cannot load it (RSA and EC PKCS#8 keys only) and SDKs exporting over gRPC's C core (Python, C++ in the Apache HTTPD and Nginx auto-instrumentation, Ruby, PHP) fail the handshake; issue the client certificate with --key-type ecdsa-p256 for them",
                client.display()
            ));
        }
    }

    let make_secret = if args.cert_manager {
        format!(
            "  otel-pki k8s cert-manager --client {name}.{namespace} (cert-manager writes {secret_name})"
        )
    } else {
        let opaque = if shape == SecretShape::Opaque {
            " --opaque"
        } else {
            ""
        };
        format!(
            "  otel-pki k8s secret --role client{opaque} --name {secret_name} -n {namespace} | kubectl apply -f -"
        )
    };
    let mut instrumentation = Instrumentation {
        comments: vec![
            format!("Auto-instrumented SDKs in namespace {namespace} export over mutual TLS to"),
            format!("{}, presenting the client certificate", endpoint.url),
            format!(
                "of the Secret {secret_name} (in {namespace} too). Pods opt in with the annotation"
            ),
            format!(
                "instrumentation.opentelemetry.io/inject-java: \"{name}\" (or inject-python, inject-nodejs,"
            ),
            "inject-dotnet, ...). Made by otel-pki k8s instrumentation.".to_owned(),
            if args.cert_manager {
                "The Secret comes from cert-manager:".to_owned()
            } else {
                "Create the Secret first:".to_owned()
            },
            make_secret,
            "SDKs read the files once: restart the applications after the certificate is renewed."
                .to_owned(),
            String::new(),
        ],
        name,
        namespace,
        labels: k8s::labels(),
        endpoint: endpoint.url.clone(),
        protocol: match protocol {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http/protobuf",
        }
        .to_owned(),
        secret_name,
        config_map_name,
        ca_file: k8s::CA_KEY.to_owned(),
        cert_file: cert_key,
        key_file: key_key,
        injected_env: Vec::new(),
    };
    instrumentation.injected_env = instrumentation.operator_env();
    let mut notes = vec![format!(
        "the Operator mounts Secret {} at {} in each instrumented container",
        instrumentation.secret_name,
        k8s::operator_secret_mount_path(&instrumentation.secret_name)
    )];
    notes.extend(instrumentation.config_map_name.iter().map(|config_map| {
        format!(
            "and ConfigMap {config_map} at {}",
            k8s::operator_config_map_mount_path(config_map)
        )
    }));
    let manifest = Manifest {
        yaml: instrumentation.render(&templates)?,
        objects: vec![instrumentation.summary()],
        contains_ca_key: false,
        set_files: Vec::new(),
        warnings,
        notes,
    };
    emit(manifest, &args.output, output)
}

/// Where a `k8s deployment` Collector runs and what it is called.
struct Placement {
    /// The Deployment's (or OpenTelemetryCollector's) name.
    name: String,
    namespace: String,
    /// The gateway's Service, NAME and NAMESPACE: from --k8s-service or DIR/server.crt.
    gateway_service: Option<(String, String)>,
    /// The Service a gateway gets: the certificate's name, else the Deployment's.
    service_name: String,
    /// The cluster domain of the certificate's Service names (`cluster.local`).
    domain: String,
}

impl Placement {
    fn new(
        args: &K8sDeploymentArgs,
        role: WorkloadRole,
        server: Option<&config::ServerCertificate>,
    ) -> Result<Self> {
        let gateway = role == WorkloadRole::Gateway;
        let (services, domain, _) = server
            .map(|server| services_in(&server.sans.dns))
            .unwrap_or_default();
        let gateway_service = match &args.service {
            Some(text) => Some(san::kubernetes_service("--k8s-service", text)?),
            None => {
                let named = services
                    .iter()
                    .filter_map(|service| san::kubernetes_service("--k8s-service", service).ok());
                // A gateway in --namespace: the Service the certificate names there.
                match (gateway, &args.namespace) {
                    (true, Some(wanted)) => {
                        named.into_iter().find(|(_, namespace)| namespace == wanted)
                    }
                    _ => named.into_iter().next(),
                }
            }
        };
        let own_service = gateway_service.as_ref().filter(|_| gateway);
        let namespace = namespace(
            "--namespace",
            args.namespace
                .as_deref()
                .or(own_service.map(|(_, namespace)| namespace.as_str())),
            "observability",
        )?;
        if let Some((service, service_namespace)) = own_service
            && *service_namespace != namespace
        {
            bail!(
                "the Service {service}.{service_namespace} must be in the gateway's namespace (a Service selects pods of its own namespace only); drop --namespace or give --k8s-service {service}.{namespace}"
            );
        }
        let default_name = match (role, own_service) {
            (WorkloadRole::Agent, _) => "otel-collector",
            (WorkloadRole::Gateway, Some((service, _))) => service.as_str(),
            (WorkloadRole::Gateway, None) => "otel-gateway",
        };
        let name = workload_name("--name", args.name.as_deref().unwrap_or(default_name))?;
        Ok(Placement {
            service_name: own_service.map_or_else(|| name.clone(), |(service, _)| service.clone()),
            name,
            namespace,
            domain: domain.unwrap_or_else(|| "cluster.local".to_owned()),
            gateway_service,
        })
    }
}

/// The Collector configuration: the same options and the same code as `otel-pki config
/// collector|gateway`, linted with the `lint-config` rules (findings become warnings).
fn collector_config(
    args: &K8sDeploymentArgs,
    role: WorkloadRole,
    placement: &Placement,
    server: Option<&config::ServerCertificate>,
    templates: &Templates,
    warnings: &mut Vec<String>,
) -> Result<(ConfigContext, String)> {
    let protocol = Protocol::from(args.protocol);
    let grpc = Protocol::Grpc.default_port();
    let endpoint = match (&args.endpoint, role) {
        (Some(text), WorkloadRole::Agent) => {
            Endpoint::parse(text, protocol.default_port()).context("invalid --endpoint")?
        }
        (Some(text), WorkloadRole::Gateway) => {
            Endpoint::parse(text, grpc).context("invalid --endpoint")?
        }
        (None, WorkloadRole::Gateway) => Endpoint::new(
            &format!(
                "{}.{}.svc.{}",
                placement.service_name, placement.namespace, placement.domain
            ),
            grpc,
        )?,
        (None, WorkloadRole::Agent) => {
            // Only a Service name: the first name of a set made for a laptop is localhost.
            let Some((service, namespace)) = &placement.gateway_service else {
                bail!(
                    "an agent needs --endpoint HOST:PORT or --k8s-service NAME.NAMESPACE (the gateway it exports to); `{}` names no Service to default to",
                    args.dir.dir.join(crate::set::names::SERVER_CERT).display()
                );
            };
            Endpoint::new(
                &format!("{service}.{namespace}.svc.{}", placement.domain),
                protocol.default_port(),
            )?
        }
    };
    if let Some(server) = server {
        warnings.extend(config::endpoint_warning(&endpoint, server));
    }
    let target = match role {
        WorkloadRole::Agent => Target::Collector,
        WorkloadRole::Gateway => Target::Gateway,
    };
    let mut options = ConfigOptions::new(target);
    options.cert_path = args.cert_path.clone();
    options.file_names = FileNames::from_stems("server", "client");
    options.endpoint = Some(endpoint);
    options.upstream = args
        .upstream
        .as_deref()
        .map(|text| Endpoint::parse(text, protocol.default_port()))
        .transpose()
        .context("invalid --upstream")?;
    options.protocol = protocol;
    options.collector_version = args.collector_version;
    options.reload_interval = go_duration(args.reload_interval.duration());
    let context = ConfigContext::new(&options)?;
    let text = config::render(templates, &context)?;
    let lint = config::lint_rendered(&text, &context).with_context(|| {
        format!(
            "the `{}` template did not produce valid YAML",
            target.template()
        )
    })?;
    for finding in lint
        .findings
        .iter()
        .filter(|finding| finding.severity != Severity::Info)
    {
        warnings.push(format!(
            "the configuration, line {}: {}: {} [{}]",
            finding.line, finding.path, finding.message, finding.rule
        ));
    }
    Ok((context, text))
}

/// The certificates: one projected volume at the configuration's cert path whose file
/// names are the configuration's. A gateway: the server Secret (and the client Secret for
/// --upstream); an agent: the client Secret. `ca.crt` from the first Secret, or from
/// --ca-configmap.
fn certificate_volume(
    args: &K8sDeploymentArgs,
    role: WorkloadRole,
    placement: &Placement,
    context: &ConfigContext,
) -> Result<TlsVolume> {
    let gateway = role == WorkloadRole::Gateway;
    let shape = secret_shape(args.secret_keys, args.cert_manager)?;
    let ca_config_map = match (&args.ca_configmap, args.cert_manager) {
        (Some(given), _) => Some(object_name("--ca-configmap", Some(given), "")?),
        (None, true) => Some(k8s::DEFAULT_BUNDLE_NAME.to_owned()),
        (None, false) => None,
    };
    // The names `k8s secret` gives, or those of `k8s cert-manager`'s Certificates.
    let secret = |flag: &'static str, given: Option<&str>, stem: &str, owner: &str| {
        let default = if args.cert_manager {
            format!("{owner}-{stem}-tls")
        } else {
            format!("otel-{stem}-tls")
        };
        object_name(flag, given, &default)
    };
    let server_secret = gateway
        .then(|| {
            secret(
                "--server-secret",
                args.server_secret.as_deref(),
                "server",
                &placement.service_name,
            )
        })
        .transpose()?;
    let client_secret = (!gateway || context.upstream.is_some())
        .then(|| {
            secret(
                "--client-secret",
                args.client_secret.as_deref(),
                "client",
                &placement.name,
            )
        })
        .transpose()?;
    let mut volume = TlsVolume::new(&context.cert_path);
    let mut ca_from_secret = ca_config_map.is_none();
    let mut wanted = vec![context.files.ca.clone()];
    for (secret, stem) in [(&server_secret, "server"), (&client_secret, "client")] {
        if let Some(secret) = secret {
            let files = volume.add_secret(secret, stem, shape, ca_from_secret);
            ca_from_secret = false;
            wanted.extend([files.cert_file, files.key_file]);
        }
    }
    if let Some(config_map) = &ca_config_map {
        volume.add_ca_config_map(config_map);
    }
    check_mount(&volume, context, &wanted)?;
    Ok(volume)
}

/// The target allocator with mutual TLS, for `--target-allocator-mtls`: with
/// `--cert-manager` the Operator's own cert-manager certificates, otherwise the server
/// certificate of `--ta-server-secret` and the client Secret, verified by the CA of the
/// client Secret (or `--ca-configmap`).
fn target_allocator(
    args: &K8sDeploymentArgs,
    placement: &Placement,
    volume: &TlsVolume,
    shape: SecretShape,
    warnings: &mut Vec<String>,
) -> Result<Option<TargetAllocatorMtls>> {
    if !args.target_allocator_mtls {
        return Ok(None);
    }
    let service_name = k8s::target_allocator_service_name(&placement.name);
    if args.cert_manager {
        return Ok(Some(TargetAllocatorMtls {
            use_cert_manager: true,
            ca: None,
            server: None,
            client: None,
            service_name,
        }));
    }
    let server_secret = object_name(
        "--ta-server-secret",
        args.ta_server_secret.as_deref(),
        &format!("otel-{TA_STEM}-tls"),
    )?;
    let client_secret = object_name(
        "--client-secret",
        args.client_secret.as_deref(),
        "otel-client-tls",
    )?;
    let ca = match volume
        .sources
        .iter()
        .find(|source| source.kind == "configMap")
    {
        Some(config_map) => KeyRef {
            kind: "configMap".into(),
            name: config_map.name.clone(),
            key: k8s::CA_KEY.into(),
        },
        None => KeyRef {
            kind: "secret".into(),
            name: client_secret.clone(),
            key: k8s::CA_KEY.into(),
        },
    };
    let reference = |secret: String, stem: &str| {
        let (cert_key, key_key) = shape.keys(stem);
        CertificateRef {
            secret,
            cert_key,
            key_key,
        }
    };
    // The name the Collector dials must be in the target allocator's certificate.
    let certificate_path = args.dir.dir.join(format!("{TA_STEM}.crt"));
    if let Ok(certificate) = config::read_server_certificate(&certificate_path)
        && !config::covers(&certificate.sans, &service_name)
    {
        warnings.push(format!(
            "`{service_name}` is not a name in the target allocator's certificate `{}`, and the Collector dials https://{service_name}:443; issue it with `otel-pki issue server --name {TA_STEM} --k8s-service {service_name}.{} --force`",
            certificate.path, placement.namespace
        ));
    }
    Ok(Some(TargetAllocatorMtls {
        use_cert_manager: false,
        ca: Some(ca),
        server: Some(reference(server_secret, TA_STEM)),
        client: Some(reference(client_secret, "client")),
        service_name,
    }))
}

/// Adds a `prometheus` receiver whose targets come from the target allocator (the Operator
/// fills in its `target_allocator` section) to the configuration and to its metrics
/// pipeline: two insertions at the places the parsed configuration gives, checked by
/// parsing the result.
fn with_prometheus_receiver(text: &str) -> Result<String> {
    let refuse = |reason: &str| {
        anyhow::anyhow!(
            "--target-allocator-mtls needs a metrics pipeline to add a prometheus receiver to, but {reason} (a --templates override?)"
        )
    };
    let document = config::yaml::parse(text).map_err(|error| refuse(&error.to_string()))?;
    let root = &document.root;
    let receivers = root
        .entry("receivers")
        .filter(|entry| entry.value.is_mapping() && !entry.value.entries().is_empty())
        .ok_or_else(|| refuse("the configuration has no receivers"))?;
    if receivers.value.get("prometheus").is_some() {
        return Err(refuse("it has a prometheus receiver already"));
    }
    let indent = receivers.value.entries()[0].column - 1;
    let pipeline = root
        .get("service")
        .and_then(|service| service.get("pipelines"))
        .and_then(|pipelines| pipelines.get("metrics"))
        .and_then(|metrics| metrics.get("receivers"))
        .filter(|list| matches!(list.value, config::yaml::Value::Sequence(_)))
        .ok_or_else(|| refuse("service.pipelines.metrics.receivers is not a list"))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let list_line = &mut lines[pipeline.line - 1];
    let close = list_line
        .rfind(']')
        .filter(|_| list_line.trim_start().starts_with("receivers: ["))
        .ok_or_else(|| refuse("service.pipelines.metrics.receivers is not a [flow] list"))?;
    list_line.insert_str(close, ", prometheus");
    let pad = " ".repeat(indent);
    lines.splice(
        receivers.line..receivers.line,
        [
            format!("{pad}# Scrape targets from the target allocator, over mutual TLS."),
            format!("{pad}prometheus:"),
            format!("{pad}  config:"),
            format!("{pad}    scrape_configs: []"),
        ],
    );
    let mut result = lines.join("\n");
    result.push('\n');
    // The insertions are where they were meant to be.
    let check = config::yaml::parse(&result).map_err(|error| refuse(&error.to_string()))?;
    let added = check
        .root
        .get("receivers")
        .and_then(|receivers| receivers.get("prometheus"))
        .is_some();
    let listed = check
        .root
        .get("service")
        .and_then(|service| service.get("pipelines"))
        .and_then(|pipelines| pipelines.get("metrics"))
        .and_then(|metrics| metrics.get("receivers"))
        .is_some_and(|list| match &list.value {
            config::yaml::Value::Sequence(items) => items
                .iter()
                .any(|item| item.scalar().is_some_and(|name| name.text == "prometheus")),
            _ => false,
        });
    if !added || !listed {
        return Err(refuse("the receivers could not be edited"));
    }
    Ok(result)
}

/// The shape of the Secrets a pod mounts. cert-manager writes `kubernetes.io/tls` only.
fn secret_shape(arg: SecretKeysArg, cert_manager: bool) -> Result<SecretShape> {
    match (arg, cert_manager) {
        (SecretKeysArg::Opaque, true) => bail!(
            "--secret-keys opaque cannot be used with --cert-manager: cert-manager writes kubernetes.io/tls Secrets (tls.crt, tls.key, ca.crt)"
        ),
        (SecretKeysArg::Opaque, false) => Ok(SecretShape::Opaque),
        (SecretKeysArg::Tls, _) => Ok(SecretShape::Tls),
    }
}

/// The Service: a gateway's has the name its server certificate has; an agent's is where
/// applications send. With the Operator, which makes `NAME-collector` itself, only a
/// gateway whose certificate names another Service gets one, selecting the Operator's pods.
fn workload_service(
    args: &K8sDeploymentArgs,
    role: WorkloadRole,
    placement: &Placement,
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
) -> Result<Option<Service>> {
    let Placement {
        name,
        namespace,
        service_name,
        domain,
        ..
    } = placement;
    let mut comments = Vec::new();
    match role {
        WorkloadRole::Gateway => {
            comments.push(format!(
                "Agents dial {service_name}.{namespace}.svc.{domain}, ports 4317 (OTLP/gRPC) and 4318"
            ));
            comments.push("(OTLP/HTTP): a name the gateway's server certificate must have.".into());
            if args.operator {
                comments.push(format!(
                    "The Operator's own Service is {}; this one selects the same pods.",
                    k8s::operator_service_name(name)
                ));
            }
        }
        WorkloadRole::Agent => comments.push(format!(
            "Applications in the cluster send OTLP to {service_name}.{namespace}.svc, ports 4317 (gRPC) and 4318 (HTTP)."
        )),
    }
    let selector = match (args.operator, role) {
        (false, _) => selector.clone(),
        (true, WorkloadRole::Agent) => return Ok(None),
        (true, WorkloadRole::Gateway) if *service_name == k8s::operator_service_name(name) => {
            return Ok(None);
        }
        (true, WorkloadRole::Gateway) => k8s::operator_selector(name, namespace).with_context(|| {
            format!(
                "`{namespace}.{name}` is longer than 63 characters, and the Operator shortens its pod labels; choose a shorter --name"
            )
        })?,
    };
    Ok(Some(Service {
        name: service_name.clone(),
        namespace: namespace.clone(),
        labels: labels.clone(),
        comments,
        selector,
        ports: NamedPort::otlp(),
    }))
}

/// Refuses a volume whose files are not exactly the ones the configuration reads: each file
/// it names is mounted, and nothing else (no key of another role).
fn check_mount(volume: &TlsVolume, context: &ConfigContext, wanted: &[String]) -> Result<()> {
    let mut mounted: Vec<String> = volume
        .sources
        .iter()
        .flat_map(|source| source.items.iter().map(|item| volume.path(&item.path)))
        .collect();
    let mut wanted = wanted.to_vec();
    mounted.sort();
    wanted.sort();
    let read = [
        &context.files.ca,
        &context.files.server_cert,
        &context.files.server_key,
        &context.files.client_cert,
        &context.files.client_key,
    ];
    if mounted != wanted || wanted.iter().any(|file| !read.contains(&file)) {
        bail!(
            "the volume would mount {} but the configuration reads {}; this is a bug in otel-pki",
            mounted.join(", "),
            wanted.join(", ")
        );
    }
    Ok(())
}

/// `Secret otel-server-tls (server.crt, server.key, ca.crt), ConfigMap otel-ca-bundle (ca.crt)`.
fn describe_sources(volume: &TlsVolume) -> String {
    volume
        .sources
        .iter()
        .map(|source| {
            let items: Vec<&str> = source.items.iter().map(|item| item.path.as_str()).collect();
            format!(
                "{} {} ({})",
                source_kind(&source.kind),
                source.name,
                items.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `target allocator mTLS: server Secret otel-targetallocator-tls (tls.crt, tls.key), …`.
fn describe_target_allocator(ta: &TargetAllocatorMtls) -> String {
    match (&ta.ca, &ta.server, &ta.client) {
        (Some(ca), Some(server), Some(client)) => format!(
            "target allocator mTLS: server Secret {} ({}, {}), client Secret {} ({}, {}), CA from {} {} ({})",
            server.secret,
            server.cert_key,
            server.key_key,
            client.secret,
            client.cert_key,
            client.key_key,
            source_kind(&ca.kind),
            ca.name,
            ca.key
        ),
        _ => {
            "target allocator mTLS: certificates from the Operator's cert-manager issuer".to_owned()
        }
    }
}

/// The comment lines at the top of a `k8s deployment` manifest.
fn workload_comments(
    role: WorkloadRole,
    name: &str,
    namespace: &str,
    volume: &TlsVolume,
    cert_manager: bool,
    target_allocator: Option<&TargetAllocatorMtls>,
) -> Vec<String> {
    let mut comments = vec![
        format!(
            "OpenTelemetry Collector {} \"{name}\" (namespace {namespace}), by otel-pki k8s deployment.",
            role.name()
        ),
        format!(
            "Certificates, mounted at {} as one projected volume, whole and read-only (no",
            volume.mount_path
        ),
        "subPath: renewed Secrets replace the files in place, and reload_interval picks them up),"
            .to_owned(),
        format!(
            "mode {} with fsGroup {}, the Collector image's user:",
            volume.default_mode_octal, volume.fs_group
        ),
    ];
    for source in &volume.sources {
        let items: Vec<&str> = source.items.iter().map(|item| item.path.as_str()).collect();
        comments.push(format!(
            "  {} {}: {}",
            source_kind(&source.kind),
            source.name,
            items.join(", ")
        ));
    }
    if cert_manager {
        comments.push(
            "cert-manager writes the Secrets and trust-manager the ConfigMap (otel-pki k8s cert-manager).".to_owned(),
        );
    } else {
        comments.push("Create them first:".to_owned());
        for source in &volume.sources {
            let command = match (source.kind.as_str(), source.items[0].path.as_str()) {
                ("configMap", _) => "--role ca --configmap",
                (_, "server.crt") => "--role server",
                _ => "--role client",
            };
            let opaque = if source.items[0].key == "tls.crt" || source.kind == "configMap" {
                ""
            } else {
                " --opaque"
            };
            comments.push(format!(
                "  otel-pki k8s secret {command}{opaque} --name {} -n {namespace} | kubectl apply -f -",
                source.name
            ));
        }
    }
    match target_allocator {
        None => {}
        Some(ta) if ta.use_cert_manager => comments.push(
            "Target allocator mTLS: the Operator has cert-manager issue its CA and certificates."
                .to_owned(),
        ),
        Some(ta) => {
            let service = &ta.service_name;
            comments.push(format!(
                "Target allocator mTLS: the Collector dials https://{service}:443,"
            ));
            comments.push("a name the target allocator's server certificate must have:".to_owned());
            comments.push(format!(
                "  otel-pki issue server --name {TA_STEM} --k8s-service {service}.{namespace}"
            ));
            let mut secrets = vec![(ta.server.as_ref(), format!("--cert {TA_STEM}"))];
            let client = ta.client.as_ref();
            if !volume
                .sources
                .iter()
                .any(|source| client.is_some_and(|client| client.secret == source.name))
            {
                secrets.push((client, "--role client".to_owned()));
            }
            for (certificate, command) in secrets {
                if let Some(certificate) = certificate {
                    let opaque = if certificate.cert_key == "tls.crt" {
                        ""
                    } else {
                        " --opaque"
                    };
                    comments.push(format!(
                        "  otel-pki k8s secret {command}{opaque} --name {} -n {namespace} | kubectl apply -f -",
                        certificate.secret
                    ));
                }
            }
        }
    }
    comments
}

/// `Secret` or `ConfigMap`, for a projected source's kind.
fn source_kind(kind: &str) -> &'static str {
    if kind == "secret" {
        "Secret"
    } else {
        "ConfigMap"
    }
}

/// Lower-case hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A workload name: an RFC 1035 label, because it also names the Service and is a label
/// value.
fn workload_name(flag: &'static str, input: &str) -> Result<String> {
    san::kubernetes_label(input, true).map_err(|reason| {
        pki::PkiError::InvalidKubernetesName {
            flag,
            input: input.to_owned(),
            reason,
        }
        .into()
    })
}

/// Prints the manifest (or writes `--out`) and reports.
fn emit(manifest: Manifest, out: &ManifestOutputArgs, output: &Output) -> Result<ExitCode> {
    let mut files = manifest.set_files;
    let mut backup_dir = None;
    let private =
        manifest.contains_ca_key || manifest.objects.iter().any(|object| object.private_key);
    if let Some(path) = &out.out {
        let mode = if private {
            write::KEY_MODE
        } else {
            write::PUBLIC_MODE
        };
        let outcome = write::write_file(
            path,
            manifest.yaml.as_bytes(),
            mode,
            write::Overwrite::from_force(out.force),
        )?;
        backup_dir = outcome.backup_dir;
        files.extend(outcome.files);
    }
    for warning in &manifest.warnings {
        output.warn(warning);
    }
    let report = ManifestReport {
        objects: manifest.objects,
        manifest: out.out.is_none().then(|| manifest.yaml.clone()),
        files,
        backup_dir,
        contains_ca_key: manifest.contains_ca_key,
        warnings: manifest.warnings,
    };
    let product = out.out.is_none().then_some(manifest.yaml.as_str());
    Ok(output.deliver(&report, product, || {
        print_status(&report, &manifest.notes, out, private, output);
    })?)
}

/// The objects of a manifest, its notes and where it was written, on stderr.
fn print_status(
    report: &ManifestReport,
    notes: &[String],
    out: &ManifestOutputArgs,
    private: bool,
    output: &Output,
) {
    for object in &report.objects {
        output.status(&object.describe());
    }
    for note in notes {
        output.status(note);
    }
    if let Some(path) = &out.out {
        output.status(&format!(
            "wrote {} ({}); apply it with `kubectl apply -f {}`",
            path.display(),
            if private {
                "0600: it holds a private key"
            } else {
                "0644"
            },
            path.display()
        ));
        if let Some(backup_dir) = &report.backup_dir {
            output.status(&format!(
                "kept the previous file in {}",
                backup_dir.display()
            ));
        }
    }
}

/// A checked leaf certificate and key, ready for a Secret.
struct Leaf {
    cert_path: PathBuf,
    cert_text: String,
    ders: Vec<Vec<u8>>,
    key_text: String,
    description: String,
    key_description: String,
}

/// Reads DIR/STEM.crt and DIR/STEM.key and checks them: PEM text, a leaf of the expected
/// role, not expired, no private key in the certificate file, an unencrypted key that
/// matches.
fn read_leaf(
    dir: &Path,
    stem: &str,
    role: Option<SecretRole>,
    now: OffsetDateTime,
    warnings: &mut Vec<String>,
) -> Result<Leaf> {
    let cert_path = dir.join(format!("{stem}.crt"));
    let key_path = dir.join(format!("{stem}.key"));
    let cert_name = support::display(&cert_path);
    let key_name = support::display(&key_path);
    let cert_text = read_pem_text(&cert_path, "certificate")?;
    if cert_text.contains("PRIVATE KEY-----") {
        bail!(
            "`{cert_name}` contains a private key; a certificate file must hold certificates only (the key goes in `{key_name}`)"
        );
    }
    let ders = certificate::decode_certificates(cert_text.as_bytes(), &cert_name)?;
    let summary = certificate::CertSummary::new(&ders[0], &cert_name, 0, now)?;
    let wanted = match role {
        Some(SecretRole::Server) => Some(Role::Server),
        Some(SecretRole::Client) => Some(Role::Client),
        _ => None,
    };
    match (summary.role, wanted) {
        (Role::Ca, _) => bail!(
            "`{cert_name}` is a CA certificate; use --role ca (certificate only) or --role ca-issuer (with its key)"
        ),
        (Role::Other, _) => bail!(
            "`{cert_name}` has neither serverAuth nor clientAuth in its extended key usage; issue it with `otel-pki issue server` or `issue client`"
        ),
        (Role::ServerClient, _) | (_, None) => {}
        (found, Some(wanted)) if found != wanted => bail!(
            "`{cert_name}` is a {} certificate, not a {} certificate; use --role {} or another --cert",
            found.name(),
            wanted.name(),
            found.name()
        ),
        _ => {}
    }
    if summary.expired {
        bail!(
            "`{cert_name}` expired on {}; issue a new one before putting it in a Secret",
            summary.not_after.date()
        );
    }
    if summary.not_yet_valid {
        warnings.push(format!(
            "`{cert_name}` is not valid before {}",
            pki::issue::rfc3339(summary.not_before)
        ));
    }
    let key_text = read_pem_text(&key_path, "private key")?;
    match pki_key::classify_key_file(key_text.as_bytes()) {
        KeyFile::Encrypted(_) => return Err(pki::PkiError::KeyEncrypted { path: key_name }.into()),
        KeyFile::LegacyEncrypted => {
            return Err(pki::PkiError::KeyLegacyEncrypted { path: key_name }.into());
        }
        _ => {}
    }
    let key = PrivateKey::from_pem_or_der(key_text.as_bytes(), &key_name)?;
    if !key.matches_certificate(&ders[0]) {
        return Err(pki::PkiError::KeyMismatch {
            key_path: key_name,
            cert_path: cert_name,
        }
        .into());
    }
    Ok(Leaf {
        description: describe_leaf(&summary, ders.len(), stem),
        key_description: format!(
            "private key of {stem}.crt ({})",
            key.key_type().map_or("unknown type", KeyType::description)
        ),
        cert_path,
        cert_text,
        ders,
        key_text,
    })
}

/// CA certificates for `ca.crt`: the file's text and each certificate, all of them CAs.
struct CaCertificates {
    text: String,
    ders: Vec<Vec<u8>>,
    description: String,
}

impl CaCertificates {
    /// The file as it is (Secrets: the data decodes to the real file).
    fn verbatim_entry(&self, key: &str) -> PemEntry {
        PemEntry {
            key: key.to_owned(),
            content: self.text.clone(),
            description: self.description.clone(),
            private_key: false,
        }
    }

    /// The certificates re-encoded as plain PEM with LF line ends (ConfigMaps: literal
    /// blocks, and nothing but certificates).
    fn canonical_entry(&self, key: &str) -> PemEntry {
        PemEntry {
            key: key.to_owned(),
            content: self
                .ders
                .iter()
                .map(|der| certificate::to_pem("CERTIFICATE", der))
                .collect(),
            description: self.description.clone(),
            private_key: false,
        }
    }
}

fn read_ca_certificates(path: &Path) -> Result<CaCertificates> {
    let name = support::display(path);
    let text = read_pem_text(path, "CA certificate").map_err(|error| {
        if !path.exists() {
            error.context(format!(
                "no CA certificate at `{name}`; create a set with `otel-pki init` or pass --ca-cert FILE"
            ))
        } else {
            error
        }
    })?;
    if text.contains("PRIVATE KEY-----") {
        bail!(
            "`{name}` contains a private key; ca.crt must hold CA certificates only, it is given to every client"
        );
    }
    let ders = certificate::decode_certificates(text.as_bytes(), &name)?;
    let now = OffsetDateTime::now_utc();
    let mut subjects = Vec::new();
    for (index, der) in ders.iter().enumerate() {
        let summary = certificate::CertSummary::new(der, &name, index, now)?;
        if summary.role != Role::Ca {
            bail!(
                "`{name}` holds a certificate that is not a CA ({}, certificate #{}); ca.crt must hold CA certificates only",
                summary.subject,
                index + 1
            );
        }
        subjects.push(format!(
            "{} (expires {})",
            k8s::comment_text(&summary.subject),
            summary.not_after.date()
        ));
    }
    let description = if subjects.len() == 1 {
        format!("CA certificate {}", subjects[0])
    } else {
        format!(
            "{} CA certificates: {}",
            subjects.len(),
            subjects.join("; ")
        )
    };
    Ok(CaCertificates {
        text,
        ders,
        description,
    })
}

/// Checks that the leaf (through the intermediates in its file) was signed by a CA in
/// `roots`: issuer bytes and signature at each step.
fn check_chain(leaf: &Leaf, roots: &CaCertificates) -> Result<()> {
    let parsed_roots: Vec<_> = roots
        .ders
        .iter()
        .filter_map(|der| certificate::parse(der).ok())
        .collect();
    let intermediates: Vec<_> = leaf.ders[1..]
        .iter()
        .filter_map(|der| certificate::parse(der).ok())
        .collect();
    let mut current = certificate::parse(&leaf.ders[0]).map_err(anyhow::Error::msg)?;
    for _ in 0..=intermediates.len() {
        let signed_by = |candidate: &x509_parser::certificate::X509Certificate<'_>| {
            candidate.subject().as_raw() == current.issuer().as_raw()
                && current
                    .verify_signature(Some(candidate.public_key()))
                    .is_ok()
        };
        if parsed_roots.iter().any(signed_by) {
            return Ok(());
        }
        match intermediates.iter().find(|candidate| signed_by(candidate)) {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    bail!(
        "`{}` was not issued by a CA in ca.crt (its issuer is `{}`); pass the CA that signed it with --ca-cert FILE",
        leaf.cert_path.display(),
        certificate::parse(&leaf.ders[0])
            .map(|parsed| parsed.issuer().to_string())
            .unwrap_or_default()
    )
}

/// The Secret a cert-manager CA issuer reads: `tls.crt` (the CA, or the intermediate then
/// the root) and `tls.key`, with a loud comment and warning.
#[allow(clippy::too_many_arguments)]
fn ca_issuer_secret(
    name: &str,
    namespace: &str,
    ca: &Ca,
    cert_path: &Path,
    key_path: &Path,
    root_der: Option<&[u8]>,
    now: OffsetDateTime,
    warnings: &mut Vec<String>,
) -> Result<PemObject> {
    let summary =
        certificate::CertSummary::new(ca.certificate_der(), &support::display(cert_path), 0, now)?;
    let ca_name = k8s::comment_text(summary.common_name.as_deref().unwrap_or(&summary.subject));
    // Verbatim files where they are what cert-manager needs, so the data decodes to them.
    let cert_text = match root_der {
        Some(root) => format!(
            "{}{}",
            certificate::to_pem("CERTIFICATE", ca.certificate_der()),
            certificate::to_pem("CERTIFICATE", root)
        ),
        None => {
            let text = read_pem_text(cert_path, "CA certificate")?;
            if certificate::decode_certificates(text.as_bytes(), &support::display(cert_path))?
                .len()
                == 1
            {
                text
            } else {
                certificate::to_pem("CERTIFICATE", ca.certificate_der())
            }
        }
    };
    let key_bytes = support::read(key_path, "CA key")?;
    let key_text = match (
        pki_key::classify_key_file(&key_bytes),
        String::from_utf8(key_bytes),
    ) {
        (KeyFile::Plain(_), Ok(text)) => text,
        _ => {
            warnings.push(format!(
                "`{}` is encrypted; the Secret holds it decrypted, because cert-manager cannot read encrypted keys",
                key_path.display()
            ));
            ca.key().to_pkcs8_pem()
        }
    };
    let what = match root_der {
        Some(_) => format!("the intermediate CA \"{ca_name}\" ({})", key_path.display()),
        None => format!("the CA \"{ca_name}\" ({})", key_path.display()),
    };
    let warning = format!(
        "the manifest holds the private key of {what}: anyone who can read that Secret can issue certificates every collector and gateway trusts; keep it to the {namespace} namespace and never commit it unencrypted"
    );
    warnings.insert(0, warning);
    let comments = k8s::ca_key_comments(&what, namespace, root_der.is_some());
    let mut secret = PemObject::secret(
        name,
        namespace,
        k8s::TLS_SECRET_TYPE,
        vec![
            PemEntry {
                key: "tls.crt".into(),
                content: cert_text,
                description: match root_der {
                    Some(_) => format!(
                        "intermediate CA certificate {} then the root CA certificate",
                        k8s::comment_text(&summary.subject)
                    ),
                    None => format!(
                        "CA certificate {} (expires {})",
                        k8s::comment_text(&summary.subject),
                        summary.not_after.date()
                    ),
                },
                private_key: false,
            },
            PemEntry {
                key: "tls.key".into(),
                content: key_text,
                description: format!("PRIVATE KEY of {what}"),
                private_key: true,
            },
        ],
    );
    secret.comments = comments;
    Ok(secret)
}

/// The intermediate CA for cert-manager: DIR/intermediate-ca.{crt,key} when they exist
/// (checked to chain to the root), otherwise a new one signed with the root key and written
/// into the set (its key encrypted like the root's).
#[allow(clippy::too_many_arguments)]
fn intermediate_ca(
    dir: &Path,
    root_cert_path: &Path,
    root_key_path: &Path,
    roots: &CaCertificates,
    validity: Lifetime,
    passphrase: Option<&pki::Passphrase>,
    now: OffsetDateTime,
    output: &Output,
) -> Result<(Ca, Vec<write::WrittenFile>)> {
    // One writer at a time: decide whether to make the intermediate CA under the set's lock.
    let _lock = crate::set::Lock::acquire(dir)?;
    let cert_path = dir.join(format!("{INTERMEDIATE_STEM}.crt"));
    let key_path = dir.join(format!("{INTERMEDIATE_STEM}.key"));
    let root_der = &roots.ders[0];
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let intermediate = support::load_ca(&cert_path, &key_path, passphrase)?;
            intermediate.check_chain(root_der).with_context(|| {
                format!(
                    "cannot use the intermediate CA `{}`; to make a new one, move `{}` and `{}` away",
                    cert_path.display(),
                    cert_path.display(),
                    key_path.display()
                )
            })?;
            output.status(&format!(
                "using the intermediate CA {} (valid until {})",
                cert_path.display(),
                intermediate.not_after().date()
            ));
            return Ok((intermediate, Vec::new()));
        }
        (false, false) => {}
        _ => bail!(
            "`{}` and `{}` must both exist or both be absent; move the one that is left away to make a new intermediate CA",
            cert_path.display(),
            key_path.display()
        ),
    }
    let root = support::load_ca(root_cert_path, root_key_path, passphrase)?;
    if root.certificate_der() != root_der.as_slice() {
        bail!(
            "the CA key `{}` belongs to a certificate that is not the first one in `{}`",
            root_key_path.display(),
            root_cert_path.display()
        );
    }
    let root_summary = certificate::CertSummary::new(root_der, "", 0, now)?;
    let root_cn = root_summary
        .common_name
        .unwrap_or_else(|| "otel-pki".into());
    let common_name = Some(format!("{root_cn} Intermediate"))
        .filter(|name| name.chars().count() <= 64)
        .unwrap_or_else(|| "otel-pki Intermediate CA".into());
    let key_type = root.key().key_type().unwrap_or(KeyType::EcdsaP256);
    let key = PrivateKey::generate(key_type)?;
    let intermediate = root.issue_intermediate(
        &CaRequest {
            common_name,
            validity: Validity::starting_now(now, validity),
        },
        key,
        &support::display(&cert_path),
    )?;
    let root_key_encrypted = matches!(
        pki_key::classify_key_file(&support::read(root_key_path, "CA key")?),
        KeyFile::Encrypted(_)
    );
    let key_pem = match (root_key_encrypted, passphrase) {
        (true, Some(passphrase)) => intermediate.key().to_encrypted_pkcs8_pem(passphrase)?,
        _ => intermediate.key().to_pkcs8_pem(),
    };
    let outcome = crate::set::write(
        dir,
        &[
            PlannedFile::key(format!("{INTERMEDIATE_STEM}.key"), key_pem),
            PlannedFile::public(
                format!("{INTERMEDIATE_STEM}.crt"),
                certificate::to_pem("CERTIFICATE", intermediate.certificate_der()),
            ),
        ],
        write::Overwrite::Refuse,
    )?;
    output.status(&format!(
        "created the intermediate CA {} signed by {} (valid until {}); the root key {} can now stay offline",
        cert_path.display(),
        root_cert_path.display(),
        intermediate.not_after().date(),
        root_key_path.display()
    ));
    Ok((intermediate, outcome.files))
}

/// The Services to issue server Certificates for: --k8s-service, or the ones whose names
/// are in DIR/server.crt (as `init --k8s-service` put them there).
fn server_services(
    args: &K8sCertManagerArgs,
    dir: &Path,
    output: &Output,
) -> Result<(Vec<String>, String, bool)> {
    let flags = &args.kubernetes;
    if !flags.services.is_empty() {
        return Ok((
            flags.services.clone(),
            flags.cluster_domain.clone(),
            flags.headless,
        ));
    }
    let path = dir.join(crate::set::names::SERVER_CERT);
    let Ok(ders) = crate::set::read_certificates(&path) else {
        return Ok((Vec::new(), flags.cluster_domain.clone(), false));
    };
    let summary = certificate::CertSummary::new(
        &ders[0],
        &support::display(&path),
        0,
        OffsetDateTime::now_utc(),
    )?;
    let (services, domain, headless) = services_in(&summary.sans.dns);
    if !services.is_empty() {
        output.status(&format!(
            "server Certificates for the Services named in {}: {}",
            path.display(),
            services.join(", ")
        ));
    }
    Ok((
        services,
        domain.unwrap_or_else(|| flags.cluster_domain.clone()),
        headless,
    ))
}

/// Finds `NAME.NAMESPACE.svc.DOMAIN` names (one cluster domain) among DNS SANs; headless
/// when a `*.NAME.NAMESPACE.svc.DOMAIN` is there too.
fn services_in(dns_names: &[String]) -> (Vec<String>, Option<String>, bool) {
    let mut services = Vec::new();
    let mut domain: Option<String> = None;
    let mut headless = false;
    for name in dns_names {
        let Some((name_namespace, rest)) = name.split_once(".svc.") else {
            continue;
        };
        let wildcard = name_namespace.starts_with("*.");
        let service = name_namespace.trim_start_matches("*.");
        if san::kubernetes_service("--k8s-service", service).is_err() {
            continue;
        }
        if domain.as_deref().is_some_and(|domain| domain != rest) {
            continue;
        }
        domain = Some(rest.to_owned());
        if wildcard {
            headless = true;
        }
        if !services.iter().any(|known| known == service) {
            services.push(service.to_owned());
        }
    }
    (services, domain, headless)
}

/// `--duration` and `--renew-before` (default a third), as cert-manager accepts them.
fn renewal(duration: Lifetime, renew_before: Option<Lifetime>) -> Result<(Lifetime, Lifetime)> {
    if duration.duration() < time::Duration::HOUR {
        bail!("--duration {duration} is too short: cert-manager's minimum is 1h");
    }
    let renew_before = match renew_before {
        Some(renew_before) => renew_before,
        None => Lifetime::from_duration(time::Duration::minutes(
            duration.duration().whole_minutes() / 3,
        ))
        .context("--duration is too short")?,
    };
    if renew_before.duration() < time::Duration::minutes(5) {
        bail!("--renew-before {renew_before} is too short: cert-manager's minimum is 5m");
    }
    if renew_before >= duration {
        bail!(
            "--renew-before {renew_before} must be shorter than --duration {duration}, or cert-manager renews without end"
        );
    }
    Ok((duration, renew_before))
}

/// A Kubernetes object name from a flag, or `default`.
fn object_name(flag: &'static str, value: Option<&str>, default: &str) -> Result<String> {
    Ok(san::kubernetes_object_name(flag, value.unwrap_or(default))?)
}

/// A namespace from a flag, or `default`.
fn namespace(flag: &'static str, value: Option<&str>, default: &str) -> Result<String> {
    let input = value.unwrap_or(default);
    san::kubernetes_label(input, false).map_err(|reason| {
        pki::PkiError::InvalidKubernetesName {
            flag,
            input: input.to_owned(),
            reason,
        }
        .into()
    })
}

/// Refuses a Secret data key Kubernetes would reject (alphanumerics, `-`, `_`, `.`).
fn data_key(key: &str) -> Result<()> {
    if key.is_empty()
        || key.len() > 253
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(
            "`{key}` cannot be a Secret key (letters, digits, `-`, `_` and `.` only); rename the files or drop --opaque"
        );
    }
    Ok(())
}

/// Reads a PEM file as text, naming the file in every error.
fn read_pem_text(path: &Path, what: &str) -> Result<String> {
    let bytes = support::read(path, what)?;
    String::from_utf8(bytes)
        .ok()
        .filter(|text| text.contains("-----BEGIN "))
        .with_context(|| {
            format!(
                "`{}` is not a PEM file; the Collector reads PEM {what}s, convert it with `openssl x509 -inform der` (or `openssl pkey` for keys)",
                path.display()
            )
        })
}

/// `server certificate CN=otel-gateway (serverAuth), expires 2027-11-28`.
fn describe_leaf(summary: &certificate::CertSummary, count: usize, stem: &str) -> String {
    let chain = match count {
        1 => String::new(),
        2 => " with 1 intermediate CA".to_owned(),
        n => format!(" with {} intermediate CAs", n - 1),
    };
    k8s::comment_text(&format!(
        "{stem}.crt: {} certificate {} ({}){chain}, expires {}",
        summary.role.name(),
        summary.subject,
        summary.extended_key_usage.join(", "),
        summary.not_after.date()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_found_in_server_names() {
        let names: Vec<String> = [
            "otel-gateway",
            "otel-gateway.observability.svc",
            "otel-gateway.observability.svc.cluster.local",
            "*.otel-gateway.observability.svc.cluster.local",
            "tempo.tracing.svc.cluster.local",
            "localhost",
            "x.y.svc.other.domain",
        ]
        .map(str::to_owned)
        .to_vec();
        let (services, domain, headless) = services_in(&names);
        assert_eq!(services, ["otel-gateway.observability", "tempo.tracing"]);
        assert_eq!(domain.as_deref(), Some("cluster.local"));
        assert!(headless);
        assert_eq!(services_in(&["localhost".to_owned()]).0.len(), 0);
    }

    #[test]
    fn the_prometheus_receiver_goes_into_the_metrics_pipeline_or_is_refused() {
        let config = "# header\nreceivers:\n  otlp:\n    protocols: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n    metrics:\n      receivers: [otlp]\n      exporters: [debug]\n";
        let edited = with_prometheus_receiver(config).unwrap();
        assert!(
            edited.contains("\n  prometheus:\n    config:\n      scrape_configs: []\n  otlp:\n")
        );
        assert!(edited.contains("    metrics:\n      receivers: [otlp, prometheus]\n"));
        assert!(edited.contains("    traces:\n      receivers: [otlp]\n"));
        // No metrics pipeline (a template override), or one already there: refused.
        let no_metrics = config.replace("    metrics:", "    logs:");
        let error = with_prometheus_receiver(&no_metrics)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("service.pipelines.metrics.receivers is not a list"),
            "{error}"
        );
        assert!(with_prometheus_receiver(&edited).is_err());
        let block_list = config.replace(
            "    metrics:\n      receivers: [otlp]",
            "    metrics:\n      receivers:\n        - otlp",
        );
        assert!(with_prometheus_receiver(&block_list).is_err());
    }

    #[test]
    fn renew_before_defaults_to_a_third_and_is_checked() {
        let (_, renew_before) = renewal(Lifetime::days(90), None).unwrap();
        assert_eq!(renew_before, Lifetime::days(30));
        assert!(renewal("30m".parse().unwrap(), None).is_err());
        assert!(renewal(Lifetime::days(1), Some(Lifetime::days(1))).is_err());
        assert!(renewal(Lifetime::days(1), Some("1m".parse().unwrap())).is_err());
    }
}
