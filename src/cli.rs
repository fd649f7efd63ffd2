//! The command line: clap definitions only. Doc comments are the help text; each verb's
//! examples and the exit codes are in its `after_long_help`. Values are parsed into domain
//! types here (`San`, `Lifetime`, `KeyType`), so commands never see raw strings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::{ColorChoice, Format};
use crate::pki::{self, Lifetime, San};

/// The exit-status table appended to every command's `--help`.
macro_rules! exit_codes {
    () => {
        "\nExit status:\n  0  success (for checks: the answer is yes)\n  1  a check answered no (expiring, invalid, not matching)\n  2  error or bad usage (a message names the file or flag)\n"
    };
}

/// Private CA and mutual-TLS certificates for OpenTelemetry Collectors and their backends.
///
/// Creates a CA plus server and client certificates with the right SANs and key usages,
/// issues more, and inspects what you have. Every file is written atomically, keys with mode
/// 0600, and nothing is ever overwritten without --force.
#[derive(Debug, Parser)]
#[command(
    name = "otel-pki",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
#[command(after_long_help = concat!(
    "Examples:\n",
    "  otel-pki init                                  # ./otel-certs: CA, server (localhost), client\n",
    "  otel-pki init --san jaeger-backend.monitoring.svc.cluster.local --dir certs\n",
    "  otel-pki issue client --cn collector-eu-1 --name collector-eu-1\n",
    "  otel-pki inspect otel-certs --format json\n",
    "  otel-pki inspect otel-certs --expiring-within 30d   # exit 1 if anything expires soon\n",
    exit_codes!()
))]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,

    /// Output format: text for people, json (on stdout) for scripts.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "OTEL_PKI_FORMAT"
    )]
    pub format: Format,

    /// When to colour text output.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print no status lines on stderr (warnings and errors still print).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a CA, a server certificate and a client certificate (six PEM files).
    Init(InitArgs),
    /// Sign another server or client certificate with the CA of a set.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Show certificates: role, names, usages, expiry, fingerprints, key match.
    Inspect(InspectArgs),
    // --- "will this handshake work?": verify, check, selftest, probe ---
    // --- rotation: renew, ca ---
    // --- configuration: config, lint-config ---
    // --- kubernetes: k8s ---
    /// Kubernetes manifests from a set: Secrets, and a cert-manager + trust-manager bootstrap.
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command.
    Man(ManArgs),
}

/// The directory of a certificate set.
#[derive(Args, Clone, Debug)]
pub struct DirArgs {
    /// Directory of the certificate set.
    #[arg(
        long,
        value_name = "DIR",
        env = "OTEL_PKI_DIR",
        default_value = "./otel-certs"
    )]
    pub dir: PathBuf,
}

/// Where the passphrase of an encrypted CA key comes from.
#[derive(Args, Clone, Debug)]
pub struct PassphraseArgs {
    /// Read the CA key passphrase from FILE (first line). Otherwise the environment variable
    /// OTEL_PKI_CA_PASSPHRASE is used. There is no prompt and no flag taking the passphrase
    /// itself, so it never appears in shell history or `ps`.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// Key algorithm (the command-line face of [`pki::KeyType`]).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA P-256 / SHA-256: works with every TLS stack (default).
    #[default]
    EcdsaP256,
    /// ECDSA P-384 / SHA-384.
    EcdsaP384,
    /// Ed25519: fails with gRPC's C core (Python, C++, Ruby, PHP OTLP/gRPC exporters).
    Ed25519,
    /// RSA 2048.
    #[value(name = "rsa-2048")]
    Rsa2048,
    /// RSA 3072.
    #[value(name = "rsa-3072")]
    Rsa3072,
    /// RSA 4096 (slow to generate: seconds).
    #[value(name = "rsa-4096")]
    Rsa4096,
}

impl From<KeyTypeArg> for pki::KeyType {
    fn from(arg: KeyTypeArg) -> Self {
        match arg {
            KeyTypeArg::EcdsaP256 => pki::KeyType::EcdsaP256,
            KeyTypeArg::EcdsaP384 => pki::KeyType::EcdsaP384,
            KeyTypeArg::Ed25519 => pki::KeyType::Ed25519,
            KeyTypeArg::Rsa2048 => pki::KeyType::Rsa2048,
            KeyTypeArg::Rsa3072 => pki::KeyType::Rsa3072,
            KeyTypeArg::Rsa4096 => pki::KeyType::Rsa4096,
        }
    }
}

/// Kubernetes Service names for a server certificate.
#[derive(Args, Clone, Debug)]
pub struct KubernetesSanArgs {
    /// Add the DNS names of a Kubernetes Service NAME.NAMESPACE: NAME, NAME.NAMESPACE,
    /// NAME.NAMESPACE.svc and NAME.NAMESPACE.svc.CLUSTER_DOMAIN. Repeatable.
    #[arg(long = "k8s-service", value_name = "NAME.NAMESPACE")]
    pub services: Vec<String>,

    /// Cluster domain used by --k8s-service.
    #[arg(
        long,
        value_name = "DOMAIN",
        default_value = "cluster.local",
        requires = "services"
    )]
    pub cluster_domain: String,

    /// With --k8s-service: also add *.NAME.NAMESPACE.svc.CLUSTER_DOMAIN for the per-pod
    /// names of a headless Service.
    #[arg(long, requires = "services")]
    pub headless: bool,
}

/// `otel-pki init`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Writes DIR/ca.key ca.crt server.key server.crt client.key client.crt.\n",
    "Keys are unencrypted PKCS#8 with mode 0600 (the Collector cannot read encrypted keys);\n",
    "certificates are PEM with mode 0644. The server certificate has extendedKeyUsage\n",
    "serverAuth only, the client certificate clientAuth only.\n\n",
    "Examples:\n",
    "  otel-pki init\n",
    "  otel-pki init --dir certs \\\n",
    "      --san jaeger-backend.monitoring.svc.cluster.local --san localhost \\\n",
    "      --client-cn otel-collector.monitoring.svc.cluster.local\n",
    "  otel-pki init --k8s-service otel-gateway.observability --validity 90d\n",
    "  otel-pki init --key-type rsa-4096 --force          # old files go to DIR/backup/<time>/\n",
    "  OTEL_PKI_CA_PASSPHRASE=… otel-pki init --encrypt-ca-key\n",
    exit_codes!()
))]
pub struct InitArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Server name: DNS name, IPv4/IPv6 address, URI:… (e.g. a SPIFFE ID) or email:…;
    /// bare values are typed automatically, DNS:/IP: prefixes are accepted. Repeatable and
    /// comma-separated. [default: localhost,127.0.0.1,::1]
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    #[command(flatten)]
    pub kubernetes: KubernetesSanArgs,

    /// Common name of the server certificate [default: the first server SAN].
    #[arg(long, value_name = "CN")]
    pub server_cn: Option<String>,

    /// Common name of the client certificate.
    #[arg(long, value_name = "CN", default_value = "otel-collector")]
    pub client_cn: String,

    /// Name for the client certificate (same syntax as --san); optional.
    #[arg(long = "client-san", value_name = "NAME", value_delimiter = ',')]
    pub client_sans: Vec<San>,

    /// Common name of the CA.
    #[arg(long, value_name = "CN", default_value = "OTel Telemetry CA")]
    pub ca_cn: String,

    /// Key algorithm for all three keys.
    #[arg(long, value_enum, default_value_t, value_name = "TYPE")]
    pub key_type: KeyTypeArg,

    /// Key algorithm for the CA only [default: --key-type].
    #[arg(long, value_enum, value_name = "TYPE")]
    pub ca_key_type: Option<KeyTypeArg>,

    /// Lifetime of the CA, e.g. 3650d, 10y.
    #[arg(long, value_name = "DURATION", default_value = "3650d")]
    pub ca_validity: Lifetime,

    /// Lifetime of the server and client certificates, e.g. 365d, 720h, 12w, 1y.
    #[arg(long, value_name = "DURATION", default_value = "365d")]
    pub validity: Lifetime,

    /// Replace an existing set; the previous files are moved to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,

    /// Store ca.key encrypted (PKCS#8, PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC); the
    /// passphrase comes from --passphrase-file or OTEL_PKI_CA_PASSPHRASE.
    #[arg(long)]
    pub encrypt_ca_key: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    /// basicConstraints pathlen of the CA: 0 signs leaf certificates only; 1 also lets it
    /// sign one intermediate CA, as `k8s cert-manager --intermediate` does so that the root
    /// key stays offline.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub ca_path_len: u8,
}

/// `otel-pki issue`.
#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Sign a server certificate (extendedKeyUsage serverAuth): NAME.crt and NAME.key.
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki issue server --san otel-gateway.observability.svc.cluster.local\n",
        "  otel-pki issue server --name tempo --k8s-service tempo-distributor.tracing\n",
        "  otel-pki issue server --name gateway --san gw.example.com --client-auth\n",
        "  otel-pki issue server --ca-cert pki/ca.crt --ca-key pki/ca.key --dir out --san 10.0.0.5\n",
        exit_codes!()
    ))]
    Server(IssueServerArgs),
    /// Sign a client certificate (extendedKeyUsage clientAuth): NAME.crt and NAME.key.
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki issue client --cn collector-eu-1 --name collector-eu-1\n",
        "  otel-pki issue client --cn agent --san spiffe://cluster.local/ns/obs/sa/agent\n",
        "  otel-pki issue client --count 1000 --name-prefix collector-   # collector-1 … collector-1000\n",
        "  otel-pki issue client --names-from hosts.txt --dir fleet --ca-cert otel-certs/ca.crt --ca-key otel-certs/ca.key\n",
        exit_codes!()
    ))]
    Client(IssueClientArgs),
}

/// Options shared by `issue server` and `issue client`.
#[derive(Args, Debug)]
pub struct IssueCommonArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// CA certificate to sign with [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// CA private key [default: DIR/ca.key].
    #[arg(long, value_name = "FILE")]
    pub ca_key: Option<PathBuf>,

    /// Key algorithm of the new key.
    #[arg(long, value_enum, default_value_t, value_name = "TYPE")]
    pub key_type: KeyTypeArg,

    /// Lifetime, e.g. 365d, 720h, 12w, 1y. May not exceed the CA's remaining lifetime.
    #[arg(long, value_name = "DURATION", default_value = "365d")]
    pub validity: Lifetime,

    /// Replace existing NAME.crt/NAME.key; the previous files go to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `otel-pki issue server`.
#[derive(Args, Debug)]
pub struct IssueServerArgs {
    #[command(flatten)]
    pub common: IssueCommonArgs,

    /// Base name of the files: NAME.crt and NAME.key.
    #[arg(long, value_name = "NAME", default_value = "server")]
    pub name: String,

    /// Server name (DNS name, IP address, URI:…, email:…); repeatable and comma-separated.
    /// At least one DNS name or IP address (or --k8s-service) is required.
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    #[command(flatten)]
    pub kubernetes: KubernetesSanArgs,

    /// Common name [default: the first SAN].
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,

    /// Also add extendedKeyUsage clientAuth, for a gateway that presents one certificate
    /// both as a server (receiver) and as a client (exporter).
    #[arg(long)]
    pub client_auth: bool,
}

/// `otel-pki issue client`.
#[derive(Args, Debug)]
pub struct IssueClientArgs {
    #[command(flatten)]
    pub common: IssueCommonArgs,

    /// Base name of the files: NAME.crt and NAME.key.
    #[arg(long, value_name = "NAME", default_value = "client")]
    pub name: String,

    /// Common name of the client.
    #[arg(long, value_name = "CN", default_value = "otel-collector")]
    pub cn: String,

    /// Optional name (DNS name, IP, URI:… such as a SPIFFE ID, email:…); repeatable.
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    /// Issue N client certificates at once (a fleet without cert-manager), named with
    /// --name-prefix and 1 to N (collector-1 … collector-N); each gets its own key, and its
    /// name as common name. All files are written or none.
    #[arg(
        long,
        value_name = "N",
        requires = "name_prefix",
        conflicts_with_all = ["name", "cn", "names_from"],
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub count: Option<u32>,

    /// Prefix of the names made by --count, e.g. `collector-`.
    #[arg(long, value_name = "PREFIX", requires = "count")]
    pub name_prefix: Option<String>,

    /// Issue one client certificate per name in FILE (one per line; blank lines and lines
    /// starting with # are skipped): NAME.crt and NAME.key with common name NAME.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "cn"])]
    pub names_from: Option<PathBuf>,
}

/// `otel-pki inspect`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Reads PEM files (one or many certificates), DER files and directories (every *.crt,\n",
    "*.pem, *.cer and *.der in them). For NAME.crt with a NAME.key beside it, reports whether\n",
    "the key matches. A bad file is reported and skipped; the exit status is then 2.\n\n",
    "Examples:\n",
    "  otel-pki inspect otel-certs\n",
    "  otel-pki inspect server.crt --format json | jq '.certificates[0].sans.dns'\n",
    "  otel-pki inspect otel-certs --expiring-within 30d || echo 'renew soon'\n",
    "  cat bundle.pem | otel-pki inspect -\n",
    exit_codes!()
))]
pub struct InspectArgs {
    /// Files or directories to inspect; `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Exit 1 if any certificate expires within DURATION (e.g. 30d) or has expired.
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<Lifetime>,
}

/// `otel-pki completions`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Examples:\n",
    "  otel-pki completions bash > /etc/bash_completion.d/otel-pki\n",
    "  otel-pki completions zsh > \"${fpath[1]}/_otel-pki\"\n",
    "  otel-pki completions fish > ~/.config/fish/completions/otel-pki.fish\n",
    exit_codes!()
))]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `otel-pki man`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Examples:\n",
    "  otel-pki man | man -l -\n",
    "  otel-pki man --out-dir /usr/local/share/man/man1\n",
    exit_codes!()
))]
pub struct ManArgs {
    /// Write otel-pki.1 and one page per subcommand (otel-pki-init.1, …) into DIR instead
    /// of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Replace existing pages in --out-dir.
    #[arg(long, requires = "out_dir")]
    pub force: bool,
}

/// `otel-pki k8s`.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// A Secret with a set's real files: kubernetes.io/tls with tls.crt, tls.key and ca.crt.
    ///
    /// The data decodes to the files byte for byte. The CA key is never included, except
    /// with --role ca-issuer, which says so loudly.
    #[command(after_long_help = concat!(
        "Roles:\n",
        "  server, client  NAME.crt/NAME.key of the set (NAME = the role, or --cert NAME) and ca.crt;\n",
        "                  kubernetes.io/tls with tls.crt, tls.key, ca.crt, or with --opaque an\n",
        "                  Opaque Secret keyed by file name (ca.crt, client.crt, client.key)\n",
        "  ca              ca.crt only (Opaque Secret, or --configmap: CA certificates are public)\n",
        "  ca-issuer       the CA certificate AND ITS PRIVATE KEY as tls.crt/tls.key, for a\n",
        "                  cert-manager CA issuer (see `otel-pki k8s cert-manager`)\n\n",
        "Examples:\n",
        "  otel-pki k8s secret --role server --namespace observability | kubectl apply -f -\n",
        "  otel-pki k8s secret --role client --opaque --name otel-mtls-certs --namespace monitoring\n",
        "  otel-pki k8s secret --cert gateway --out gateway-secret.yaml\n",
        "  otel-pki k8s secret --role ca --configmap --name otel-ca-bundle\n",
        exit_codes!()
    ))]
    Secret(K8sSecretArgs),
    /// Everything cert-manager and trust-manager need to take over issuing and rotation.
    ///
    /// One manifest: the CA Secret in the cert-manager namespace, a ClusterIssuer of kind CA,
    /// a ConfigMap with the CA certificates and a trust-manager Bundle that copies them into
    /// every namespace that needs them, and Certificates for the servers (--k8s-service) and
    /// clients (--client) with explicit usages, duration, renewBefore and privateKey.
    #[command(after_long_help = concat!(
        "Without --k8s-service, the server Certificates are for the Services whose names are in\n",
        "DIR/server.crt (from `init --k8s-service`).\n\n",
        "With --intermediate, cert-manager gets an intermediate CA (DIR/intermediate-ca.crt and\n",
        ".key, made on first use and reused after), never the root key: the root must allow it\n",
        "(`otel-pki init --ca-path-len 1`), and ca.key can then be kept offline.\n\n",
        "Examples:\n",
        "  otel-pki k8s cert-manager --client otel-collector.observability | kubectl apply -f -\n",
        "  otel-pki k8s cert-manager --k8s-service otel-gateway.observability \\\n",
        "      --client otel-agent.apps --duration 30d --out cert-manager.yaml\n",
        "  otel-pki k8s cert-manager --intermediate --client otel-collector.observability\n",
        exit_codes!()
    ))]
    CertManager(K8sCertManagerArgs),
}

/// Where a manifest goes.
#[derive(Args, Debug)]
pub struct ManifestOutputArgs {
    /// Write the manifest to FILE instead of stdout (atomically; mode 0600 when it holds a
    /// private key, 0644 otherwise).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace an existing --out FILE; the previous one is kept in backup/<UTC time>/ beside it.
    #[arg(long, requires = "out")]
    pub force: bool,

    /// Directory of templates that override the built-in ones by file name
    /// (k8s-secret.yaml, k8s-configmap.yaml, k8s-certificate.yaml, …).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

/// What `k8s secret` puts in the Secret.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum SecretRole {
    /// ca.crt only.
    Ca,
    /// The CA certificate and its private key, for a cert-manager CA issuer.
    CaIssuer,
    /// client.crt, client.key and ca.crt.
    Client,
    /// server.crt, server.key and ca.crt.
    Server,
}

/// `otel-pki k8s secret`.
#[derive(Args, Debug)]
pub struct K8sSecretArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// What goes in the Secret.
    #[arg(long, value_enum, required_unless_present = "cert")]
    pub role: Option<SecretRole>,

    /// Use DIR/NAME.crt and DIR/NAME.key (e.g. a certificate from `issue server --name
    /// gateway`); the role is read from the certificate unless --role says it.
    #[arg(long, value_name = "NAME")]
    pub cert: Option<String>,

    /// CA certificates for ca.crt [default: DIR/ca.crt]; during a CA rotation, the bundle
    /// of old and new CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// CA key for --role ca-issuer [default: DIR/ca.key].
    #[arg(long, value_name = "FILE")]
    pub ca_key: Option<PathBuf>,

    /// An Opaque Secret keyed by the set's file names (ca.crt, client.crt, client.key), as
    /// the common guide's Secret is, instead of kubernetes.io/tls.
    #[arg(long)]
    pub opaque: bool,

    /// With --role ca: a ConfigMap instead of a Secret (CA certificates are public).
    #[arg(long)]
    pub configmap: bool,

    /// Name of the Secret [default: otel-NAME-tls; otel-ca for ca; otel-pki-ca for
    /// ca-issuer].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Namespace of the Secret [default: observability; cert-manager for ca-issuer].
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    #[command(flatten)]
    pub output: ManifestOutputArgs,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `otel-pki k8s cert-manager`.
#[derive(Args, Debug)]
pub struct K8sCertManagerArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    #[command(flatten)]
    pub kubernetes: KubernetesSanArgs,

    /// A client Certificate (common name NAME, clientAuth) for collectors in NAMESPACE;
    /// repeatable.
    #[arg(long = "client", value_name = "NAME.NAMESPACE")]
    pub clients: Vec<String>,

    /// Lifetime of the certificates cert-manager issues (at least 1h).
    #[arg(long, value_name = "DURATION", default_value = "90d")]
    pub duration: Lifetime,

    /// Renew this long before expiry [default: a third of --duration].
    #[arg(long, value_name = "DURATION")]
    pub renew_before: Option<Lifetime>,

    /// Key algorithm of the keys cert-manager generates (a new one at every renewal).
    #[arg(long, value_enum, default_value_t, value_name = "TYPE")]
    pub key_type: KeyTypeArg,

    /// Name of the ClusterIssuer and of its CA Secret.
    #[arg(long, value_name = "NAME", default_value = "otel-pki-ca")]
    pub issuer_name: String,

    /// Namespace cert-manager runs in: a ClusterIssuer reads its Secret from there.
    #[arg(long, value_name = "NAMESPACE", default_value = "cert-manager")]
    pub cert_manager_namespace: String,

    /// trust-manager's trust namespace (its --trust-namespace), where the Bundle's source
    /// ConfigMap must be.
    #[arg(long, value_name = "NAMESPACE", default_value = "cert-manager")]
    pub trust_namespace: String,

    /// Name of the trust-manager Bundle, and of the ConfigMap (key ca.crt) it writes into
    /// each namespace of the Certificates.
    #[arg(long, value_name = "NAME", default_value = "otel-ca-bundle")]
    pub bundle_name: String,

    /// Hand cert-manager an intermediate CA signed by the root instead of the root key.
    #[arg(long)]
    pub intermediate: bool,

    /// Lifetime of a new intermediate CA.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1825d",
        requires = "intermediate"
    )]
    pub intermediate_validity: Lifetime,

    /// Root CA certificate [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Root CA key [default: DIR/ca.key].
    #[arg(long, value_name = "FILE")]
    pub ca_key: Option<PathBuf>,

    #[command(flatten)]
    pub output: ManifestOutputArgs,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn key_type_names_match_the_library() {
        for arg in KeyTypeArg::value_variants() {
            let name = arg.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(pki::KeyType::from(*arg).name(), name);
        }
    }
}
