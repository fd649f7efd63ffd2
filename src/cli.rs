//! The command line: clap definitions only. Doc comments are the help text; each verb's
//! examples and the exit codes are in its `after_long_help`. Values are parsed into domain
//! types here (`San`, `Lifetime`, `KeyType`), so commands never see raw strings.
//!
//! Each subcommand's arguments are built only when it runs (`#[command(defer = true)]`), so
//! start-up does not pay for the whole tree. Argument structs therefore carry `//` comments,
//! not `///`: a doc comment on one would become the description of every command that uses
//! it (tested in `tests/integration/help.rs`).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::config::lint::Mount;
use crate::config::{CollectorVersion, Kind, Protocol};
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
    "  otel-pki init                     # ./otel-certs: CA, server, client\n",
    "  otel-pki init --san jaeger-backend.monitoring.svc.cluster.local --dir certs\n",
    "  otel-pki issue client --cn collector-eu-1 --name collector-eu-1\n",
    "  otel-pki check --host jaeger-backend.monitoring.svc.cluster.local\n",
    "  otel-pki selftest                 # a real mTLS exchange with the set\n",
    "  otel-pki probe otel-gateway.observability.svc:4317\n",
    "  otel-pki config gateway --upstream tempo-distributor.tracing.svc:4317\n",
    "  otel-pki renew --exit-code        # in cron: exit 1 if something was renewed\n",
    "  otel-pki inspect otel-certs --expiring-within 30d   # exit 1: expires soon\n",
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
        env = "OTEL_PKI_FORMAT",
        help_heading = "Global options"
    )]
    pub format: Format,

    /// When to colour text output.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    pub color: ColorChoice,

    /// Print no status lines on stderr (warnings and errors still print).
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// How long a command that writes to a set waits for another one writing to it (`0`:
    /// do not wait), then exits 2 naming the holder.
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "30s",
        env = "OTEL_PKI_LOCK_TIMEOUT",
        value_parser = parse_lock_timeout,
        help_heading = "Global options",
        hide_short_help = true
    )]
    pub lock_timeout: std::time::Duration,
}

fn parse_lock_timeout(input: &str) -> Result<std::time::Duration, String> {
    if input.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let lifetime: Lifetime = input
        .parse()
        .map_err(|error: crate::pki::PkiError| error.to_string())?;
    std::time::Duration::try_from(lifetime.duration()).map_err(|error| error.to_string())
}

/// Subcommands. Each one's arguments are built only when it runs (`defer`): building all
/// of them for every start was most of the start-up time (docs/performance.md).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create a CA, a server certificate and a client certificate (six PEM files).
    Init(InitArgs),
    /// Sign another server or client certificate with the CA of a set.
    #[command(subcommand, after_long_help = concat!(
        "Examples:\n",
        "  otel-pki issue server --san otel-gateway.observability.svc.cluster.local\n",
        "  otel-pki issue client --cn collector-eu-1 --name collector-eu-1\n",
        "  otel-pki issue client --count 100 --name-prefix collector-\n",
        exit_codes!()
    ))]
    Issue(IssueCommand),
    /// Show certificates: role, names, usages, expiry, fingerprints, key match.
    Inspect(InspectArgs),
    // --- "will this handshake work?": verify, check, selftest, probe ---
    /// Verify one certificate: chain to a CA, purpose, host names, dates, key.
    Verify(VerifyArgs),
    /// Check a whole set directory: files, keys, roles, names, expiry, permissions.
    Check(CheckArgs),
    /// Prove a set works: a real mutual-TLS exchange between its server and client.
    Selftest(SelftestArgs),
    /// Check a live endpoint: the chain it presents and whether it enforces mutual TLS.
    Probe(ProbeArgs),
    // --- rotation: renew, ca ---
    /// Renew the certificates that are due, all at once, keeping the previous ones.
    Renew(RenewArgs),
    /// The CA: a staged rollover to a new CA that never breaks a running fleet.
    #[command(subcommand, after_long_help = concat!(
        "Examples:\n",
        "  otel-pki ca rotate --status\n",
        "  otel-pki ca rotate --stage      # then distribute ca.crt (now old + next CA)\n",
        "  otel-pki ca rotate --promote    # the next CA signs; every leaf is re-issued\n",
        "  otel-pki ca rotate --finish     # drop the old CA once nothing uses it\n",
        exit_codes!()
    ))]
    Ca(CaCommand),
    // --- configuration: config, lint-config ---
    /// Print a ready-to-use configuration for the set: collector, gateway, jaeger, tempo,
    /// sdk-env.
    #[command(subcommand, after_long_help = concat!(
        "Examples:\n",
        "  otel-pki config collector --endpoint otel-gateway.observability.svc:4317\n",
        "  otel-pki config gateway --upstream tempo-distributor.tracing.svc:4317 \\\n",
        "      --out gateway.yaml\n",
        "  otel-pki config sdk-env --shell\n",
        exit_codes!()
    ))]
    Config(ConfigCommand),
    /// Find mutual-TLS mistakes in a Collector, Jaeger v2 or Tempo configuration file.
    LintConfig(LintConfigArgs),
    // --- consumers: keystore, sign ---
    /// PKCS#12 keystores for JVM and .NET programs (NAME.p12, truststore.p12).
    ///
    /// NAME.p12 holds a leaf's key and chain; truststore.p12 holds the CA.
    Keystore(KeystoreArgs),
    /// Sign a certificate signing request with the set's CA (the key stays put).
    ///
    /// For a key that never leaves its device (a TPM, an HSM): writes NAME.crt, no key.
    Sign(SignArgs),
    // --- kubernetes: k8s ---
    /// Kubernetes manifests: Secrets, Deployments, Operator objects, cert-manager.
    ///
    /// Secrets, Collector Deployments, Operator Instrumentations, and a cert-manager +
    /// trust-manager bootstrap, all from a set.
    #[command(subcommand, after_long_help = concat!(
        "Examples:\n",
        "  otel-pki k8s secret --role server -n observability | kubectl apply -f -\n",
        "  otel-pki k8s deployment --role gateway -n observability --out gateway.yaml\n",
        "  otel-pki k8s cert-manager --k8s-service otel-gateway.observability \\\n",
        "      --out cert-manager.yaml\n",
        "  otel-pki k8s instrumentation -n apps \\\n",
        "      --k8s-service otel-gateway.observability\n",
        exit_codes!()
    ))]
    K8s(K8sCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command.
    Man(ManArgs),
}

// The directory of a certificate set.
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

// Where the passphrase of an encrypted CA key comes from.
#[derive(Args, Clone, Debug)]
pub struct PassphraseArgs {
    /// Read the CA key passphrase from FILE (first line). Otherwise the environment variable
    /// OTEL_PKI_CA_PASSPHRASE is used. There is no prompt and no flag taking the passphrase
    /// itself, so it never appears in shell history or `ps`.
    #[arg(long, value_name = "FILE", hide_short_help = true)]
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

// Kubernetes Service names for a server certificate.
#[derive(Args, Clone, Debug)]
pub struct KubernetesSanArgs {
    /// Add the DNS names of a Kubernetes Service; repeatable.
    ///
    /// For NAME.NAMESPACE: NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc and
    /// NAME.NAMESPACE.svc.CLUSTER_DOMAIN. Repeatable.
    #[arg(long = "k8s-service", value_name = "NAME.NAMESPACE")]
    pub services: Vec<String>,

    /// Cluster domain used by --k8s-service.
    #[arg(
        long,
        value_name = "DOMAIN",
        default_value = "cluster.local",
        requires = "services",
        hide_short_help = true
    )]
    pub cluster_domain: String,

    /// With --k8s-service: also add *.NAME.NAMESPACE.svc.CLUSTER_DOMAIN for the per-pod
    /// names of a headless Service.
    #[arg(long, requires = "services", hide_short_help = true)]
    pub headless: bool,
}

// `otel-pki init`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Writes DIR/ca.key ca.crt server.key server.crt client.key client.crt. ",
    "Keys are unencrypted PKCS#8 with mode 0600 (the Collector cannot read encrypted keys); ",
    "certificates are PEM with mode 0644. The server certificate has extendedKeyUsage ",
    "serverAuth only, the client certificate clientAuth only.\n\n",
    "Examples:\n",
    "  otel-pki init\n",
    "  otel-pki init --dir certs \\\n",
    "      --san jaeger-backend.monitoring.svc.cluster.local --san localhost \\\n",
    "      --client-cn otel-collector.monitoring.svc.cluster.local\n",
    "  otel-pki init --k8s-service otel-gateway.observability --validity 90d\n",
    "  otel-pki init --key-type rsa-4096 --force   # old files: DIR/backup/<time>/\n",
    "  OTEL_PKI_CA_PASSPHRASE=… otel-pki init --encrypt-ca-key\n",
    exit_codes!()
))]
pub struct InitArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Server name; repeatable and comma-separated [default: localhost,127.0.0.1,::1]
    ///
    /// A DNS name, IPv4/IPv6 address, URI:… (e.g. a SPIFFE ID) or email:…; bare values are
    /// typed automatically, DNS:/IP: prefixes are accepted. Repeatable and comma-separated.
    /// [default: localhost,127.0.0.1,::1]
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    #[command(flatten)]
    pub kubernetes: KubernetesSanArgs,

    /// Common name of the server certificate [default: the first server SAN].
    #[arg(long, value_name = "CN", hide_short_help = true)]
    pub server_cn: Option<String>,

    /// Common name of the client certificate.
    #[arg(long, value_name = "CN", default_value = "otel-collector")]
    pub client_cn: String,

    /// Name for the client certificate (same syntax as --san); optional.
    #[arg(
        long = "client-san",
        value_name = "NAME",
        value_delimiter = ',',
        hide_short_help = true
    )]
    pub client_sans: Vec<San>,

    /// Common name of the CA.
    #[arg(
        long,
        value_name = "CN",
        default_value = "OTel Telemetry CA",
        hide_short_help = true
    )]
    pub ca_cn: String,

    /// Key algorithm for all three keys.
    #[arg(long, value_enum, default_value_t, value_name = "TYPE")]
    pub key_type: KeyTypeArg,

    /// Key algorithm for the CA only [default: --key-type].
    #[arg(long, value_enum, value_name = "TYPE", hide_short_help = true)]
    pub ca_key_type: Option<KeyTypeArg>,

    /// Lifetime of the CA, e.g. 3650d, 10y.
    #[arg(long, value_name = "DURATION", default_value = "3650d")]
    pub ca_validity: Lifetime,

    /// Lifetime of the server and client certificates, e.g. 365d, 720h, 12w, 1y.
    #[arg(long, value_name = "DURATION", default_value = "365d")]
    pub validity: Lifetime,

    /// Replace an existing set.
    ///
    /// The previous files are moved to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,

    /// Store ca.key encrypted, with the passphrase of --passphrase-file.
    ///
    /// PKCS#8, PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC. The passphrase comes from
    /// --passphrase-file or OTEL_PKI_CA_PASSPHRASE.
    #[arg(long)]
    pub encrypt_ca_key: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    /// basicConstraints pathlen of the CA: 0 signs leaf certificates only; 1 also lets it
    /// sign one intermediate CA, as `k8s cert-manager --intermediate` does so that the root
    /// key stays offline.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1), hide_short_help = true)]
    pub ca_path_len: u8,
}

// `otel-pki issue`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum IssueCommand {
    /// Sign a server certificate (extendedKeyUsage serverAuth): NAME.crt and NAME.key.
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki issue server --san otel-gateway.observability.svc.cluster.local\n",
        "  otel-pki issue server --name tempo --k8s-service tempo-distributor.tracing\n",
        "  otel-pki issue server --name gateway --san gw.example.com --client-auth\n",
        "  otel-pki issue server --ca-cert pki/ca.crt --ca-key pki/ca.key \\\n",
        "      --dir out --san 10.0.0.5\n",
        exit_codes!()
    ))]
    Server(IssueServerArgs),
    /// Sign a client certificate (extendedKeyUsage clientAuth): NAME.crt and NAME.key.
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki issue client --cn collector-eu-1 --name collector-eu-1\n",
        "  otel-pki issue client --cn agent \\\n",
        "      --san spiffe://cluster.local/ns/obs/sa/agent\n",
        "  otel-pki issue client --count 1000 --name-prefix collector-\n",
        "  otel-pki issue client --names-from hosts.txt --dir fleet \\\n",
        "      --ca-cert otel-certs/ca.crt --ca-key otel-certs/ca.key\n",
        exit_codes!()
    ))]
    Client(IssueClientArgs),
}

// Options shared by `issue server` and `issue client`.
#[derive(Args, Debug)]
pub struct IssueCommonArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// CA certificate to sign with [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca_cert: Option<PathBuf>,

    /// CA private key [default: DIR/ca.key].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca_key: Option<PathBuf>,

    /// Key algorithm of the new key [default: the set's: that of DIR/server.crt or
    /// DIR/client.crt (the same role's first), else the CA's key type].
    #[arg(long, value_enum, value_name = "TYPE")]
    pub key_type: Option<KeyTypeArg>,

    /// Lifetime, e.g. 365d, 720h, 12w, 1y. May not exceed the CA's remaining lifetime.
    #[arg(long, value_name = "DURATION", default_value = "365d")]
    pub validity: Lifetime,

    /// Replace existing NAME.crt/NAME.key; the previous files go to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

// `otel-pki issue server`.
#[derive(Args, Debug)]
pub struct IssueServerArgs {
    #[command(flatten)]
    pub common: IssueCommonArgs,

    /// Base name of the files: NAME.crt and NAME.key [default: `server` when DIR has no
    /// server.crt or with --force, else derived from the first DNS name or IP address:
    /// gw.example.com.crt; never replaces a file without --force].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

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

/// The most certificates one `issue client --count` or `--names-from` issues.
pub const FLEET_MAX: u32 = 100_000;

// `otel-pki issue client`.
#[derive(Args, Debug)]
pub struct IssueClientArgs {
    #[command(flatten)]
    pub common: IssueCommonArgs,

    /// Base name of the files: NAME.crt and NAME.key [default: `client` when DIR has no
    /// client.crt or with --force, else derived from the common name: otel-collector.crt;
    /// never replaces a file without --force].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Common name of the client [default: --name, else otel-collector].
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,

    /// Optional name (DNS name, IP, URI:… such as a SPIFFE ID, email:…); repeatable.
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    /// Issue N client certificates at once (a fleet without cert-manager), named with
    /// --name-prefix and 1 to N zero-padded to the width of N, so that they sort
    /// (agent-001 … agent-500); each gets its own key, and its name as common name. All
    /// files are written or none.
    #[arg(
        long,
        value_name = "N",
        requires = "name_prefix",
        conflicts_with_all = ["name", "cn", "names_from"],
        value_parser = clap::value_parser!(u32).range(1..=i64::from(FLEET_MAX))
    )]
    pub count: Option<u32>,

    /// Prefix of the names made by --count, e.g. `agent` or `collector-` (a `-` is added
    /// unless it ends with `-`, `_` or `.`).
    #[arg(long, value_name = "PREFIX", requires = "count")]
    pub name_prefix: Option<String>,

    /// Issue one client certificate per name in FILE (one per line; blank lines and lines
    /// starting with # are skipped): NAME.crt and NAME.key with common name NAME. At most
    /// as many names as --count allows.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "cn"])]
    pub names_from: Option<PathBuf>,
}

// `otel-pki inspect`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Reads PEM files (one or many certificates), DER files and directories (every *.crt, ",
    "*.pem, *.cer and *.der in them). For NAME.crt with a NAME.key beside it, reports whether ",
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

// `otel-pki completions`.
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

// `otel-pki man`.
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

// `otel-pki config`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigCommand {
    /// An agent Collector: OTLP receivers, and an exporter that presents the client
    /// certificate to --endpoint.
    #[command(after_long_help = concat!(
        "--endpoint defaults to the first name of DIR/server.crt, port 4317 (4318 with ",
        "--protocol http), unless that is a loopback name the agent's own receivers listen on ",
        "(then --endpoint is required: the agent would export to itself). A warning says when ",
        "the endpoint's host is not in that certificate.\n\n",
        "Examples:\n",
        "  otel-pki config collector --endpoint otel-gateway.observability.svc \\\n",
        "      > collector.yaml\n",
        "  otel-pki config collector --endpoint otel-gateway.observability.svc:4317 \\\n",
        "      --out collector.yaml\n",
        "  otel-pki config collector --protocol http \\\n",
        "      --collector-version 0.143.0          # otlphttp exporter\n",
        "  otel-pki config collector --cert-path /etc/otel/tls --client-cert agent-1\n",
        exit_codes!()
    ))]
    Collector(ConfigCollectorArgs),
    /// A gateway Collector: receivers that require client certificates, forwarding to
    /// --upstream (or printing with the debug exporter).
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki config gateway > gateway.yaml\n",
        "  otel-pki config gateway --endpoint otel-gateway.observability.svc \\\n",
        "      --upstream tempo-distributor.tracing.svc:4317\n",
        "  otel-pki config gateway --server-cert gateway --reload-interval 30m \\\n",
        "      --out gateway.yaml\n",
        exit_codes!()
    ))]
    Gateway(ConfigGatewayArgs),
    /// Jaeger v2 YAML whose OTLP receivers require client certificates (--jaeger-v1: the
    /// end-of-life v1 flags).
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki config jaeger \\\n",
        "      --endpoint jaeger-backend.monitoring.svc.cluster.local > jaeger.yaml\n",
        "  otel-pki config jaeger --jaeger-v1    # jaeger-collector flags, end of life\n",
        exit_codes!()
    ))]
    Jaeger(ConfigJaegerArgs),
    /// Tempo distributor receivers that require client certificates (--server-tls: also
    /// Tempo's own servers).
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  otel-pki config tempo > tempo-mtls.yaml     # merge into tempo.yaml\n",
        "  otel-pki config tempo --server-tls --cert-path /etc/tempo/tls\n",
        exit_codes!()
    ))]
    Tempo(ConfigTempoArgs),
    /// OTEL_EXPORTER_OTLP_* variables for an application exporting with an OpenTelemetry
    /// SDK: a dotenv file, or `export` lines with --shell.
    #[command(after_long_help = concat!(
        "Prints OTEL_EXPORTER_OTLP_ENDPOINT (https://…), OTEL_EXPORTER_OTLP_PROTOCOL, ",
        "OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and ",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY. Warns when a certificate of the set has an Ed25519 key ",
        "and the protocol is gRPC: gRPC's C core (Python, C++, Ruby, PHP) cannot use it.\n\n",
        "Examples:\n",
        "  otel-pki config sdk-env --out app.env     # docker run --env-file app.env\n",
        "  eval \"$(otel-pki config sdk-env --shell --cert-path \"$PWD/otel-certs\")\"\n",
        "  otel-pki config sdk-env --protocol http \\\n",
        "      --endpoint otel-gateway.observability.svc\n",
        exit_codes!()
    ))]
    SdkEnv(ConfigSdkEnvArgs),
}

// Options of every `config` target.
#[derive(Args, Debug)]
pub struct ConfigCommonArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Directory where the program will find the certificate files (inside its container).
    #[arg(long, value_name = "PATH", default_value = crate::config::context::DEFAULT_CERT_PATH, hide_short_help = true)]
    pub cert_path: String,

    /// Use the templates in DIR instead of the built-in ones of the same name
    /// (collector.yaml.j2, gateway.yaml.j2, jaeger.yaml.j2, jaeger-v1.sh.j2, tempo.yaml.j2,
    /// sdk-env.j2).
    #[arg(long, value_name = "DIR", hide_short_help = true)]
    pub templates: Option<PathBuf>,

    /// Write to FILE (atomically, mode 0644) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace --out FILE if it exists (the old one goes to backup/<UTC time>/ beside it).
    #[arg(long, requires = "out")]
    pub force: bool,
}

// Options of the targets that run a Collector-style server.
#[derive(Args, Debug)]
pub struct ConfigServerArgs {
    /// How often certificates are re-read (the Collector's reload is opt-in); also the
    /// gRPC max_connection_age, so clients reconnect and use renewed certificates.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1h",
        hide_short_help = true
    )]
    pub reload_interval: Lifetime,

    /// Address the receivers listen on: 0.0.0.0 (all IPv4), :: (all), an IP, or
    /// ${env:MY_POD_IP}. The Collector's own default, localhost, is unreachable from other
    /// containers.
    #[arg(
        long,
        value_name = "HOST",
        default_value = "0.0.0.0",
        hide_short_help = true
    )]
    pub listen: String,
}

/// OTLP transport.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum ProtocolArg {
    /// OTLP/gRPC (port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf (port 4318; the endpoint becomes https://…).
    Http,
}

impl From<ProtocolArg> for Protocol {
    fn from(arg: ProtocolArg) -> Self {
        match arg {
            ProtocolArg::Grpc => Protocol::Grpc,
            ProtocolArg::Http => Protocol::Http,
        }
    }
}

// `otel-pki config collector`.
#[derive(Args, Debug)]
pub struct ConfigCollectorArgs {
    #[command(flatten)]
    pub common: ConfigCommonArgs,

    #[command(flatten)]
    pub server: ConfigServerArgs,

    /// Where to export: HOST[:PORT] or https://HOST[:PORT] [default: the first name of
    /// DIR/server.crt, unless it is a loopback name the agent itself listens on].
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// Exporter transport.
    #[arg(long, value_enum, default_value_t)]
    pub protocol: ProtocolArg,

    /// Collector version: before 0.144.0 the exporters are `otlp`/`otlphttp`, from then on
    /// `otlp_grpc`/`otlp_http`.
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "0.159.0",
        hide_short_help = true
    )]
    pub collector_version: CollectorVersion,

    /// Base name of the client certificate in DIR and --cert-path: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "client",
        hide_short_help = true
    )]
    pub client_cert: String,
}

// `otel-pki config gateway`.
#[derive(Args, Debug)]
pub struct ConfigGatewayArgs {
    #[command(flatten)]
    pub common: ConfigCommonArgs,

    #[command(flatten)]
    pub server: ConfigServerArgs,

    /// The name agents dial to reach the gateway, HOST[:PORT]; checked against the server
    /// certificate's names.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// Forward to this backend over mutual TLS, HOST[:PORT] or https://HOST[:PORT]; without
    /// it the gateway prints what it receives (debug exporter).
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: Option<String>,

    /// Transport of the --upstream exporter.
    #[arg(long, value_enum, default_value_t)]
    pub protocol: ProtocolArg,

    /// Collector version: before 0.144.0 the exporters are `otlp`/`otlphttp`.
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "0.159.0",
        hide_short_help = true
    )]
    pub collector_version: CollectorVersion,

    /// Base name of the server certificate in DIR and --cert-path: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "server",
        hide_short_help = true
    )]
    pub server_cert: String,

    /// Base name of the client certificate for --upstream: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "client",
        hide_short_help = true
    )]
    pub client_cert: String,
}

// `otel-pki config jaeger`.
#[derive(Args, Debug)]
pub struct ConfigJaegerArgs {
    #[command(flatten)]
    pub common: ConfigCommonArgs,

    #[command(flatten)]
    pub server: ConfigServerArgs,

    /// The name clients dial, HOST[:PORT]; checked against the server certificate's names.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// Print jaeger-collector v1 command-line flags instead (v1 is end of life: last
    /// release v1.76.0).
    #[arg(long)]
    pub jaeger_v1: bool,

    /// Base name of the server certificate in DIR and --cert-path: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "server",
        hide_short_help = true
    )]
    pub server_cert: String,
}

// `otel-pki config tempo`.
#[derive(Args, Debug)]
pub struct ConfigTempoArgs {
    #[command(flatten)]
    pub common: ConfigCommonArgs,

    #[command(flatten)]
    pub server: ConfigServerArgs,

    /// The name clients dial, HOST[:PORT]; checked against the server certificate's names.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// Also protect Tempo's own servers (server.grpc_tls_config, server.http_tls_config);
    /// every Tempo component then needs a client certificate.
    #[arg(long)]
    pub server_tls: bool,

    /// Base name of the server certificate in DIR and --cert-path: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "server",
        hide_short_help = true
    )]
    pub server_cert: String,
}

// `otel-pki config sdk-env`.
#[derive(Args, Debug)]
pub struct ConfigSdkEnvArgs {
    #[command(flatten)]
    pub common: ConfigCommonArgs,

    /// Where to export: HOST[:PORT] or https://HOST[:PORT] [default: the first name of
    /// DIR/server.crt].
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// OTLP transport (OTEL_EXPORTER_OTLP_PROTOCOL grpc or http/protobuf).
    #[arg(long, value_enum, default_value_t)]
    pub protocol: ProtocolArg,

    /// Print `export NAME=value` lines for a shell instead of a dotenv file.
    #[arg(long)]
    pub shell: bool,

    /// Base name of the client certificate in DIR and --cert-path: NAME.crt, NAME.key.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "client",
        hide_short_help = true
    )]
    pub client_cert: String,

    /// Write for one SDK: only the variables it reads, what it cannot use refused or
    /// warned about, and the SDK version the facts were checked against.
    #[arg(long, value_enum, value_name = "LANGUAGE")]
    pub language: Option<SdkLanguageArg>,
}

/// OpenTelemetry SDK language for `config sdk-env --language`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum SdkLanguageArg {
    /// OpenTelemetry Java SDK and Java agent (autoconfigure).
    Java,
    /// opentelemetry-python exporters.
    Python,
    /// opentelemetry-go exporters.
    Go,
    /// OpenTelemetry JS exporters for Node.js.
    Node,
    /// OpenTelemetry .NET OTLP exporter.
    Dotnet,
    /// opentelemetry-rust (opentelemetry-otlp).
    Rust,
    /// opentelemetry-cpp exporters.
    Cpp,
}

/// Kind of configuration file (the command-line face of [`Kind`]).
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum KindArg {
    /// OpenTelemetry Collector.
    Collector,
    /// Jaeger v2 (Collector rules).
    Jaeger,
    /// Jaeger v1 YAML (`collector:` keys).
    JaegerV1,
    /// Grafana Tempo.
    Tempo,
}

impl From<KindArg> for Kind {
    fn from(arg: KindArg) -> Self {
        match arg {
            KindArg::Collector => Kind::Collector,
            KindArg::Jaeger => Kind::Jaeger,
            KindArg::JaegerV1 => Kind::JaegerV1,
            KindArg::Tempo => Kind::Tempo,
        }
    }
}

// `otel-pki lint-config`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Recognizes Collector, Jaeger v2, Jaeger v1 and Tempo files (or --kind) and reports each ",
    "finding as FILE:LINE:COLUMN: SEVERITY: YAML.PATH: what is wrong [rule], then how to fix it. ",
    "A file may hold several documents; the configuration inside a ConfigMap or an ",
    "OpenTelemetryCollector is linted at the file's lines, other Kubernetes objects are named ",
    "as not linted (info). ",
    "Referenced certificate and key files are checked too (exist, parse, key matches, mode, ",
    "purpose, expiry); --mount maps the paths the program sees to local directories. ",
    "Errors and warnings make the exit status 1; info findings (values from ${env:…}, ",
    "optional reload settings) do not.\n\n",
    "Examples:\n",
    "  otel-pki lint-config collector.yaml\n",
    "  otel-pki lint-config gateway.yaml --mount /etc/otel/certs=./otel-certs \\\n",
    "      --within 14d\n",
    "  otel-pki lint-config tempo.yaml --no-file-checks --format json \\\n",
    "      | jq '.files[].findings[].rule'\n",
    "  kubectl get cm otel-config -o jsonpath='{.data.config\\.yaml}' \\\n",
    "      | otel-pki lint-config -\n",
    exit_codes!()
))]
pub struct LintConfigArgs {
    /// Configuration files; `-` reads standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Treat the files as this kind instead of recognizing it.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,

    /// The Collector version the file is for: `otlp`/`otlphttp` exporters are deprecated
    /// from 0.144.0, `otlp_grpc`/`otlp_http` unknown before; newer `tls:` keys and curve
    /// names are unknown to older versions. (Tempo and Jaeger files: their own configtls.)
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "0.159.0",
        hide_short_help = true
    )]
    pub collector_version: CollectorVersion,

    /// Look for files under CONFIG_DIR in LOCAL_DIR instead, e.g.
    /// /etc/otel/certs=./otel-certs. Repeatable.
    #[arg(long, value_name = "CONFIG_DIR=LOCAL_DIR")]
    pub mount: Vec<Mount>,

    /// Check only the YAML, not the files it references.
    #[arg(long, conflicts_with = "mount")]
    pub no_file_checks: bool,

    /// Warn about certificates that expire within DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub within: Lifetime,
}

// `otel-pki renew`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Renews the leaf certificates of a set (never the CA) that are due: by default those with ",
    "less than a third of their lifetime left. Each keeps its subject, names, purpose, key type ",
    "and lifetime, and gets a new key unless --reuse-key. Nothing due: nothing changes.\n\n",
    "All files change together. The first renewal moves the set to a layout in which ",
    "DIR/NAME.crt and DIR/NAME.key are symlinks into DIR/..data, a symlink to a complete ",
    "generation directory that is switched with one rename: the paths in your configuration ",
    "stay valid, and a reader never gets a new certificate with an old key. Replaced files ",
    "are kept in DIR/backup/<UTC time>/; --rollback restores the newest backup.\n\n",
    "Examples:\n",
    "  otel-pki renew                            # renew what is due\n",
    "  otel-pki renew -q --exit-code; [ $? = 1 ] && ./roll-out   # 1: renewed\n",
    "  otel-pki renew --within 30d --dry-run     # due within 30 days? no change\n",
    "  otel-pki renew --name server --validity 90d\n",
    "  otel-pki renew --rollback                 # undo the last renewal\n",
    "\nWith --exit-code, exit status 1 means something was renewed (with --dry-run: is due).\n",
    exit_codes!()
))]
pub struct RenewArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Renew the certificates that expire within DURATION, e.g. 30d [default: those with
    /// less than a third of their lifetime left].
    #[arg(long, value_name = "DURATION", conflicts_with = "all")]
    pub within: Option<Lifetime>,

    /// Renew NAME.crt now, due or not (with --within: only when due). Repeatable.
    #[arg(long = "name", value_name = "NAME", conflicts_with = "all")]
    pub names: Vec<String>,

    /// Renew every leaf certificate now.
    #[arg(long)]
    pub all: bool,

    /// Lifetime of the new certificates, e.g. 90d [default: the lifetime each was issued
    /// with, or asked for when it was cut short to end with its CA]. Never beyond the CA's
    /// notAfter: a longer one is cut short, with a warning.
    #[arg(long, value_name = "DURATION")]
    pub validity: Option<Lifetime>,

    /// Keep the current private keys; only the certificates change.
    #[arg(long)]
    pub reuse_key: bool,

    /// Exit 1 when something was renewed (with --dry-run: when something is due), like
    /// `git diff --exit-code`, so a pipeline rolls out only when needed.
    #[arg(long)]
    pub exit_code: bool,

    /// Say what would be renewed; change nothing (no CA key needed).
    #[arg(long)]
    pub dry_run: bool,

    /// Restore the newest backup in DIR/backup/ (undo the last renewal) as one switch; the
    /// files it replaces are kept in a new backup, so running it again undoes the rollback.
    #[arg(long, conflicts_with_all = ["within", "names", "all", "validity", "reuse_key", "dry_run", "exit_code"])]
    pub rollback: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

// `otel-pki ca`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CaCommand {
    /// Replace the CA in three stages, each safe to roll out before the next.
    Rotate(CaRotateArgs),
}

// `otel-pki ca rotate`.
#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("step")
        .required(true)
        .args(["stage", "promote", "finish", "status"])
))]
#[command(after_long_help = concat!(
    "A CA rollover in three stages. Roll each out to every Collector and backend before the ",
    "next: peers one stage apart always trust each other, peers two stages apart do not.\n\n",
    "  --stage    create the next CA (same name, new key); ca.crt and\n",
    "             ca-bundle.crt hold both CAs, so configurations pointing at\n",
    "             ca.crt need no change\n",
    "  --promote  the next CA becomes current; every leaf is re-issued from it\n",
    "  --finish   ca.crt and ca-bundle.crt hold the new CA only; the old CA key\n",
    "             is archived in DIR/backup/<UTC time>/\n\n",
    "Each stage refuses to run out of order and says what to do next. The stage is kept in ",
    "the set itself: ca-next.crt/.key exist after --stage, ca-previous.crt/.key after ",
    "--promote. Every stage is one switch of DIR/..data (see `otel-pki renew --help`).\n\n",
    "Examples:\n",
    "  otel-pki ca rotate --status\n",
    "  otel-pki ca rotate --stage --key-type ecdsa-p384\n",
    "  otel-pki ca rotate --promote\n",
    "  otel-pki ca rotate --finish --format json\n",
    exit_codes!()
))]
pub struct CaRotateArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Stage 1: create the next CA and add it to ca.crt and ca-bundle.crt.
    #[arg(long)]
    pub stage: bool,

    /// Stage 2: make the next CA current and re-issue every leaf from it.
    #[arg(long)]
    pub promote: bool,

    /// Stage 3: drop the old CA from ca.crt and ca-bundle.crt and archive its key.
    #[arg(long)]
    pub finish: bool,

    /// Show the stage of the rollover and what to do next; change nothing.
    #[arg(long)]
    pub status: bool,

    /// With --stage: key algorithm of the next CA [default: the current CA's].
    #[arg(long, value_enum, value_name = "TYPE", requires = "stage")]
    pub key_type: Option<KeyTypeArg>,

    /// With --stage: lifetime of the next CA, e.g. 10y [default: the current CA's]. With
    /// --promote: lifetime of the re-issued leaves [default: the one each was issued with,
    /// or asked for when it was cut short to end with its CA].
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["finish", "status"])]
    pub validity: Option<Lifetime>,

    /// With --promote: keep the leaves' private keys.
    #[arg(long, requires = "promote")]
    pub reuse_key: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `--purpose`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum PurposeArg {
    /// A TLS client certificate (extendedKeyUsage clientAuth).
    Client,
    /// A TLS server certificate (extendedKeyUsage serverAuth).
    Server,
}

impl From<PurposeArg> for pki::verify::Purpose {
    fn from(arg: PurposeArg) -> Self {
        match arg {
            PurposeArg::Client => pki::verify::Purpose::Client,
            PurposeArg::Server => pki::verify::Purpose::Server,
        }
    }
}

fn parse_host(input: &str) -> Result<String, String> {
    pki::verify::parse_host(input)
}

fn parse_rfc3339(input: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(input.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| "expected an RFC 3339 time such as `2027-01-31T12:00:00Z`".to_owned())
}

// `otel-pki verify`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Path validation with rustls-webpki. Certificates after the first one in CERT are used as ",
    "intermediates; every CA certificate in the --ca files is trusted (a rotation bundle may ",
    "hold several). Every problem found is listed as a sentence.\n\nExit status 0: valid; ",
    "1: invalid for the purpose, a host, the time, or the key; 2: a file cannot be read.\n\n",
    "Examples:\n",
    "  otel-pki verify otel-certs/server.crt --ca otel-certs/ca.crt \\\n",
    "      --host jaeger-backend\n",
    "  otel-pki verify otel-certs/client.crt --ca otel-certs/ca.crt \\\n",
    "      --key otel-certs/client.key\n",
    "  otel-pki verify gateway.crt --ca ca.crt --purpose client   # as a client?\n",
    "  otel-pki verify server.crt --ca ca-bundle.crt --at 2027-01-01T00:00:00Z\n",
    exit_codes!()
))]
pub struct VerifyArgs {
    /// The certificate to verify (PEM or DER): the leaf first, then any intermediates.
    #[arg(value_name = "CERT")]
    pub cert: PathBuf,

    /// CA certificate file to trust; repeatable. Every CA certificate in it is trusted.
    #[arg(long, value_name = "FILE", required = true)]
    pub ca: Vec<PathBuf>,

    /// Host name or IP address the certificate must be valid for (as a client dials it);
    /// repeatable and comma-separated.
    #[arg(long = "host", value_name = "NAME|IP", value_delimiter = ',', value_parser = parse_host)]
    pub hosts: Vec<String>,

    /// Check for this purpose [default: what the certificate's extendedKeyUsage says].
    #[arg(long, value_enum, value_name = "PURPOSE")]
    pub purpose: Option<PurposeArg>,

    /// The private key that must belong to the certificate.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Verify at this time instead of now (RFC 3339), e.g. to see what breaks next month.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<time::OffsetDateTime>,
}

// `otel-pki check`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Checks ca.crt, ca.key, server.crt, server.key, client.crt, client.key and any other ",
    "NAME.crt/NAME.key pair in DIR: files present, keys match and are unencrypted and private ",
    "(not group/other readable), chains to ca.crt (and to ca-bundle.crt when present), roles ",
    "and extended key usages, --host names covered, expiry, the CA outliving its leaves, the ",
    "directory not world-writable. Symbolic links are followed; hidden entries are skipped. ",
    "Each line is PASS, WARN or FAIL with a fix.\n\nExit status 0: nothing failed; 1: something ",
    "failed (with --strict: or warned); 2: DIR cannot be read.\n\n",
    "Examples:\n",
    "  otel-pki check\n",
    "  otel-pki check --dir /etc/otel/tls --host otel-gateway.observability.svc\n",
    "  otel-pki check --within 60d --strict          # in CI: warnings fail too\n",
    "  otel-pki check --format json | jq '.results[] | select(.status != \"pass\")'\n",
    exit_codes!()
))]
pub struct CheckArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Host name or IP address the server certificate must cover; repeatable and
    /// comma-separated.
    #[arg(long = "host", value_name = "NAME|IP", value_delimiter = ',', value_parser = parse_host)]
    pub hosts: Vec<String>,

    /// Warn about certificates that expire within DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub within: Lifetime,

    /// Count warnings as failures (for CI).
    #[arg(long)]
    pub strict: bool,
}

// `otel-pki selftest`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Runs a rustls server with DIR/server.crt and server.key on 127.0.0.1, requiring a client ",
    "certificate from DIR/ca.crt (as the Collector's client_ca_file does), and a rustls client ",
    "with ca.crt and client.crt/client.key dialing --host. A line of application data goes each ",
    "way (under TLS 1.3 a refused client certificate only shows on the first read). Then the ",
    "negative halves: without a client certificate, and with the server certificate as client ",
    "certificate, the server must refuse.\n\nExit status 0: every case went as it must; ",
    "1: a case did not; 2: a file cannot be read.\n\n",
    "Examples:\n",
    "  otel-pki selftest\n",
    "  otel-pki selftest --dir certs \\\n",
    "      --host jaeger-backend.monitoring.svc.cluster.local\n",
    "  otel-pki selftest --server gateway --client collector-eu-1\n",
    exit_codes!()
))]
pub struct SelftestArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// The name the client dials and checks [default: the server certificate's first DNS
    /// name, else its first IP address].
    #[arg(long, value_name = "NAME|IP", value_parser = parse_host)]
    pub host: Option<String>,

    /// Server pair in DIR: NAME.crt and NAME.key.
    #[arg(long, value_name = "NAME", default_value = "server")]
    pub server: String,

    /// Client pair in DIR: NAME.crt and NAME.key.
    #[arg(long, value_name = "NAME", default_value = "client")]
    pub client: String,

    /// Bound for every connect, read and write.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: Lifetime,
}

// `otel-pki probe`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Connects twice: once without a client certificate and once with --cert/--key, and says ",
    "whether the server requires and accepts our certificate, does not require one, or ",
    "rejects ours. It shows the chain the server presents and verifies it against --ca and ",
    "the name. ALPN offers h2 and http/1.1: with h2 (gRPC, port 4317) it sends the HTTP/2 ",
    "preface and reads the server's SETTINGS frame; otherwise (OTLP/HTTP, 4318) a GET / and ",
    "reads the response line. That read is what shows a TLS 1.3 rejection.",
    "\n\nExit status 0: the chain verifies and the server requires and accepts our certificate; ",
    "1: it answers but is not a healthy mTLS endpoint (chain invalid, client certificates ",
    "not required, ours rejected, not TLS, no clear answer); 2: no answer at all (DNS ",
    "failure, connection refused, timeout) or a file cannot be read.\n\n",
    "Examples:\n",
    "  otel-pki probe otel-gateway.observability.svc:4317\n",
    "  otel-pki probe 10.0.0.5:4317 --server-name otel-gateway.observability.svc\n",
    "  otel-pki probe tempo:4318 --ca ca.crt --cert client.crt --key client.key\n",
    "  otel-pki probe localhost:4317 --wait 30s        # while the Collector starts\n",
    exit_codes!()
))]
pub struct ProbeArgs {
    /// The endpoint, HOST:PORT ([IPv6]:PORT).
    #[arg(value_name = "HOST:PORT")]
    pub endpoint: crate::tls::Endpoint,

    #[command(flatten)]
    pub dir: DirArgs,

    /// CA file to verify the server with; repeatable [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,

    /// Client certificate for the second connection [default: DIR/client.crt].
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Its private key [default: DIR/client.key].
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// The name to send (SNI) and verify [default: HOST].
    #[arg(long, value_name = "NAME|IP", value_parser = parse_host)]
    pub server_name: Option<String>,

    /// One deadline for the whole probe: resolving, connecting, and every read and write of
    /// both connections (after --wait, if given). See docs/limits.md.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: Lifetime,

    /// Keep retrying while the connection is refused, for up to DURATION (a server that is
    /// still starting).
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<Lifetime>,
}

/// `otel-pki k8s`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum K8sCommand {
    /// A Secret with a set's real files: kubernetes.io/tls with tls.crt, tls.key and ca.crt.
    ///
    /// The data decodes to the files byte for byte. The CA key is never included, except
    /// with --role ca-issuer, which says so loudly.
    #[command(after_long_help = concat!(
        "Roles:\n",
        "  server, client  NAME.crt/NAME.key of the set (NAME: the role, or --cert)\n",
        "                  and ca.crt; kubernetes.io/tls with tls.crt, tls.key, ca.crt,\n",
        "                  or with --opaque an Opaque Secret keyed by file name\n",
        "  ca              ca.crt only (Opaque Secret, or --configmap: CA certificates\n",
        "                  are public)\n",
        "  ca-issuer       the CA certificate AND ITS PRIVATE KEY as tls.crt/tls.key,\n",
        "                  for a cert-manager CA issuer (`otel-pki k8s cert-manager`)\n\n",
        "Examples:\n",
        "  otel-pki k8s secret --role server -n observability | kubectl apply -f -\n",
        "  otel-pki k8s secret --role client --opaque --name otel-mtls-certs \\\n",
        "      --namespace monitoring\n",
        "  otel-pki k8s secret --cert gateway --out gateway-secret.yaml\n",
        "  otel-pki k8s secret --role ca --configmap --name otel-ca-bundle\n",
        exit_codes!()
    ))]
    Secret(K8sSecretArgs),
    /// Everything cert-manager and trust-manager need to take over issuing and rotation.
    ///
    /// One manifest: the CA Secret in the cert-manager namespace, a ClusterIssuer of kind CA,
    /// a ConfigMap with the CA certificates and a trust-manager Bundle (or, with --bundle-kind
    /// cluster-bundle, a ClusterBundle) that copies them into every namespace that needs them, and Certificates for the servers (--k8s-service) and
    /// clients (--client) with explicit usages, duration, renewBefore and privateKey.
    #[command(after_long_help = concat!(
        "Without --k8s-service, the server Certificates are for the Services whose names are in ",
        "DIR/server.crt (from `init --k8s-service`).\n\n",
        "With --intermediate, cert-manager gets an intermediate CA (DIR/intermediate-ca.crt and ",
        ".key, made on first use and reused after), never the root key: the root must allow it ",
        "(`otel-pki init --ca-path-len 1`), and ca.key can then be kept offline.\n\n",
        "Examples:\n",
        "  otel-pki k8s cert-manager --client otel-collector.observability \\\n",
        "      | kubectl apply -f -\n",
        "  otel-pki k8s cert-manager --k8s-service otel-gateway.observability \\\n",
        "      --client otel-agent.apps --duration 30d --out cert-manager.yaml\n",
        "  otel-pki k8s cert-manager --intermediate \\\n",
        "      --client otel-collector.observability\n",
        exit_codes!()
    ))]
    CertManager(K8sCertManagerArgs),
    /// A Collector Deployment (or, with --operator, an OpenTelemetryCollector) that reads its
    /// certificates from the Secrets and its configuration from a ConfigMap.
    ///
    /// The configuration is the one `otel-pki config collector|gateway` renders, checked by
    /// the lint-config rules, with the paths of the mount: one projected volume of the
    /// Secrets (renamed to server.crt, server.key, client.crt, client.key, ca.crt), mounted
    /// whole and read-only (no subPath, which never receives renewed files), mode 0440, and
    /// the pod running as the Collector image's user 10001 with fsGroup 10001.
    #[command(after_long_help = concat!(
        "Roles:\n",
        "  agent    the client Secret (client.crt, client.key, ca.crt); exports to\n",
        "           --endpoint, by default the gateway Service named in DIR/server.crt\n",
        "           (or --k8s-service)\n",
        "  gateway  the server Secret (server.crt, server.key, ca.crt) and, with\n",
        "           --upstream, the client Secret for its exporter; a Service named\n",
        "           as in its server certificate\n\n",
        "Secrets: those `otel-pki k8s secret` makes (otel-server-tls, otel-client-tls), or ",
        "with --cert-manager those `otel-pki k8s cert-manager` has cert-manager make ",
        "(NAME-server-tls, NAME-client-tls) and ca.crt from the trust-manager bundle ",
        "otel-ca-bundle. The set directory is only read for names (DIR/server.crt); it may ",
        "be absent. With --secret-keys opaque, the Secrets of `k8s secret --role server|client ",
        "--opaque` (keys server.crt, server.key or client.crt, client.key, and ca.crt).\n\n",
        "Examples:\n",
        "  otel-pki k8s deployment --role gateway \\\n",
        "      --upstream tempo-distributor.tracing.svc:4317 | kubectl apply -f -\n",
        "  otel-pki k8s deployment --role agent -n apps --out agent.yaml\n",
        "  otel-pki k8s deployment --role gateway --cert-manager --operator\n",
        "  otel-pki k8s deployment --role agent --operator \\\n",
        "      --target-allocator-mtls -n apps\n",
        "  otel-pki k8s deployment --role agent --endpoint gw.example.com:443 \\\n",
        "      --client-secret edge-tls\n",
        exit_codes!()
    ))]
    Deployment(K8sDeploymentArgs),
    /// An OpenTelemetry Operator Instrumentation whose auto-instrumented SDKs export to the
    /// Collector over mutual TLS with a client certificate Secret.
    ///
    /// The Instrumentation (opentelemetry.io/v1alpha1) sets spec.exporter.endpoint and
    /// spec.exporter.tls: the Operator mounts the Secret (and the CA ConfigMap) in every pod
    /// that opts in with an instrumentation.opentelemetry.io/inject-LANGUAGE annotation and
    /// points OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY at the
    /// files. The Secret must be in the applications' namespace.
    #[command(after_long_help = concat!(
        "Secrets: the one `otel-pki k8s secret --role client -n NAMESPACE` makes ",
        "(otel-client-tls; with --secret-keys opaque the one `k8s secret --opaque` makes), or ",
        "with --cert-manager the one `otel-pki k8s cert-manager --client NAME.NAMESPACE` has ",
        "cert-manager make (NAME-client-tls) and ca.crt from the trust-manager bundle ",
        "otel-ca-bundle.\n\n",
        "The Java agent cannot load Ed25519 keys, and SDKs that export over gRPC's C core ",
        "(Python, C++ for Apache HTTPD and Nginx, Ruby, PHP) fail the handshake with them: ",
        "otel-pki warns when DIR/client.crt has one. SDKs read the files once: restart the ",
        "applications after the certificate is renewed.\n\n",
        "Examples:\n",
        "  otel-pki k8s instrumentation -n apps \\\n",
        "      --k8s-service otel-gateway.observability | kubectl apply -f -\n",
        "  otel-pki k8s instrumentation -n apps --cert-manager \\\n",
        "      --endpoint https://otel-gateway.observability.svc:4318\n",
        exit_codes!()
    ))]
    Instrumentation(K8sInstrumentationArgs),
}

// `otel-pki k8s instrumentation`.
#[derive(Args, Debug)]
pub struct K8sInstrumentationArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Name of the Instrumentation (the value of a pod's inject-LANGUAGE annotation).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "otel-instrumentation",
        hide_short_help = true
    )]
    pub name: String,

    /// Namespace of the Instrumentation and of the applications; the client Secret must be
    /// there too.
    #[arg(
        long,
        short = 'n',
        value_name = "NAMESPACE",
        default_value = "observability"
    )]
    pub namespace: String,

    /// The Collector's Service, as its server certificate names it: SDKs export to
    /// NAME.NAMESPACE.svc.cluster.local [default: the first Service named in DIR/server.crt].
    #[arg(
        long = "k8s-service",
        value_name = "NAME.NAMESPACE",
        conflicts_with = "endpoint"
    )]
    pub service: Option<String>,

    /// Where SDKs export, HOST[:PORT] or https://HOST[:PORT] [default port: 4318 for http,
    /// 4317 for grpc].
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// OTLP transport of the SDKs (OTEL_EXPORTER_OTLP_PROTOCOL): http (http/protobuf, what
    /// every auto-instrumentation supports) or grpc.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Http, hide_short_help = true)]
    pub protocol: ProtocolArg,

    /// Secret with the client certificate [default: otel-client-tls; with --cert-manager
    /// NAME-client-tls].
    #[arg(long, value_name = "NAME")]
    pub client_secret: Option<String>,

    /// The data keys of the Secret, as `k8s secret` wrote it.
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "SHAPE",
        hide_short_help = true
    )]
    pub secret_keys: SecretKeysArg,

    /// Take ca.crt from this ConfigMap instead of the Secret [default with --cert-manager:
    /// otel-ca-bundle].
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub ca_configmap: Option<String>,

    /// Use the Secret and CA bundle of `otel-pki k8s cert-manager --client NAME.NAMESPACE`.
    #[arg(long)]
    pub cert_manager: bool,

    #[command(flatten)]
    pub output: ManifestOutputArgs,
}

// Where a manifest goes.
#[derive(Args, Debug)]
pub struct ManifestOutputArgs {
    /// Write the manifest to FILE instead of stdout.
    ///
    /// Written atomically; mode 0600 when it holds a private key, 0644 otherwise.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace an existing --out FILE.
    ///
    /// The previous one is kept in backup/<UTC time>/ beside it.
    #[arg(long, requires = "out")]
    pub force: bool,

    /// Directory of templates that override the built-in ones by file name
    /// (k8s-secret.yaml, k8s-deployment.yaml, gateway.yaml.j2, …).
    #[arg(long, value_name = "DIR", hide_short_help = true)]
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

// `otel-pki k8s secret`.
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
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca_cert: Option<PathBuf>,

    /// CA key for --role ca-issuer [default: DIR/ca.key].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
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

// `otel-pki k8s cert-manager`.
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
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub renew_before: Option<Lifetime>,

    /// Key algorithm of the keys cert-manager generates (a new one at every renewal).
    #[arg(long, value_enum, default_value_t, value_name = "TYPE")]
    pub key_type: KeyTypeArg,

    /// Name of the ClusterIssuer and of its CA Secret.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "otel-pki-ca",
        hide_short_help = true
    )]
    pub issuer_name: String,

    /// Namespace cert-manager runs in: a ClusterIssuer reads its Secret from there.
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "cert-manager",
        hide_short_help = true
    )]
    pub cert_manager_namespace: String,

    /// trust-manager's trust namespace (its --trust-namespace), where the Bundle's source
    /// ConfigMap must be.
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "cert-manager",
        hide_short_help = true
    )]
    pub trust_namespace: String,

    /// Name of the trust-manager Bundle, and of the ConfigMap (key ca.crt) it writes into
    /// each namespace of the Certificates.
    #[arg(long, value_name = "NAME", default_value = crate::k8s::DEFAULT_BUNDLE_NAME, hide_short_help = true)]
    pub bundle_name: String,

    /// The trust-manager API of the bundle: bundle (trust.cert-manager.io/v1alpha1, what
    /// trust-manager up to v0.24.0 serves) or cluster-bundle (trust-manager.io/v1alpha2, its
    /// successor, for a trust-manager that installs and reconciles it).
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "KIND",
        hide_short_help = true
    )]
    pub bundle_kind: BundleKindArg,

    /// Hand cert-manager an intermediate CA signed by the root instead of the root key.
    #[arg(long)]
    pub intermediate: bool,

    /// Lifetime of a new intermediate CA.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1825d",
        requires = "intermediate",
        hide_short_help = true
    )]
    pub intermediate_validity: Lifetime,

    /// Root CA certificate [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca_cert: Option<PathBuf>,

    /// Root CA key [default: DIR/ca.key].
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca_key: Option<PathBuf>,

    #[command(flatten)]
    pub output: ManifestOutputArgs,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// The data keys of a Secret with a certificate (`k8s deployment --secret-keys`).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum SecretKeysArg {
    /// kubernetes.io/tls: tls.crt, tls.key, ca.crt (`k8s secret`, cert-manager).
    #[default]
    Tls,
    /// Opaque, keyed by file name: server.crt, server.key or client.crt, client.key, and
    /// ca.crt (`k8s secret --opaque`).
    Opaque,
}

/// The trust-manager API of `k8s cert-manager`'s bundle.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum BundleKindArg {
    /// Bundle, trust.cert-manager.io/v1alpha1.
    #[default]
    Bundle,
    /// ClusterBundle, trust-manager.io/v1alpha2.
    ClusterBundle,
}

/// What a `k8s deployment` Collector does.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum DeploymentRole {
    /// Receives OTLP from applications; exports with the client certificate.
    Agent,
    /// Requires client certificates on its receivers (server certificate); forwards to
    /// --upstream with the client certificate.
    Gateway,
}

// `otel-pki k8s deployment`.
#[derive(Args, Debug)]
pub struct K8sDeploymentArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// What the Collector does.
    #[arg(long, value_enum)]
    pub role: DeploymentRole,

    /// Name of the Deployment (or OpenTelemetryCollector).
    ///
    /// [default: otel-collector for an agent; for a gateway the Service's name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Namespace [default: the gateway Service's, else observability].
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// The gateway's Service, as its server certificate names it.
    ///
    /// A gateway gets this Service; an agent exports to NAME.NAMESPACE.svc.cluster.local.
    /// [default: the first Service named in DIR/server.crt]
    #[arg(long = "k8s-service", value_name = "NAME.NAMESPACE")]
    pub service: Option<String>,

    /// Write an OpenTelemetryCollector for the OpenTelemetry Operator.
    ///
    /// An OpenTelemetryCollector (opentelemetry.io/v1beta1) instead of a Deployment and
    /// ConfigMap.
    #[arg(long)]
    pub operator: bool,

    /// With --operator: a target allocator that hands the Collector Prometheus scrape
    /// targets over mutual TLS (spec.targetAllocator.mtls, Operator v0.157.0 or later), a
    /// prometheus receiver in the metrics pipeline, and mode statefulset. Certificates: the
    /// client Secret and --ta-server-secret; with --cert-manager, the Operator's own.
    #[arg(long, requires = "operator", hide_short_help = true)]
    pub target_allocator_mtls: bool,

    /// With --target-allocator-mtls: the Secret with the target allocator's server
    /// certificate, whose names include NAME-targetallocator [default:
    /// otel-targetallocator-tls].
    #[arg(
        long,
        value_name = "NAME",
        requires = "target_allocator_mtls",
        hide_short_help = true
    )]
    pub ta_server_secret: Option<String>,

    /// Container image [default: otel/opentelemetry-collector-contrib:COLLECTOR_VERSION].
    #[arg(long, value_name = "IMAGE", hide_short_help = true)]
    pub image: Option<String>,

    /// Number of pods.
    #[arg(long, value_name = "N", default_value_t = 1, hide_short_help = true)]
    pub replicas: u32,

    /// The container's memory limit; memory_limiter keeps the Collector under 80% of it.
    #[arg(
        long,
        value_name = "QUANTITY",
        default_value = "512Mi",
        hide_short_help = true
    )]
    pub memory_limit: String,

    /// Use the Secrets and CA bundle of `otel-pki k8s cert-manager`.
    ///
    /// SERVICE-server-tls, NAME-client-tls and the ConfigMap otel-ca-bundle.
    #[arg(long)]
    pub cert_manager: bool,

    /// Secret with the server certificate (tls.crt, tls.key, ca.crt) [default:
    /// otel-server-tls; with --cert-manager SERVICE-server-tls].
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub server_secret: Option<String>,

    /// Secret with the client certificate [default: otel-client-tls; with --cert-manager
    /// NAME-client-tls].
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub client_secret: Option<String>,

    /// Take ca.crt from this ConfigMap (a trust-manager Bundle target, or `k8s secret --role
    /// ca --configmap`) instead of the certificate's Secret [default with --cert-manager:
    /// otel-ca-bundle].
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub ca_configmap: Option<String>,

    /// The data keys of the Secrets, as `k8s secret` wrote them.
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "SHAPE",
        hide_short_help = true
    )]
    pub secret_keys: SecretKeysArg,

    /// Agent: where to export. Gateway: the name agents dial.
    ///
    /// HOST[:PORT] or https://HOST[:PORT]; a gateway's is checked against the server
    /// certificate. [default: the Service's name]
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// Gateway: forward to this backend over mutual TLS.
    ///
    /// HOST[:PORT]; without it the gateway prints what it receives (debug exporter).
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: Option<String>,

    /// Exporter transport.
    #[arg(long, value_enum, default_value_t)]
    pub protocol: ProtocolArg,

    /// Collector version: component names, and the image tag.
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "0.159.0",
        hide_short_help = true
    )]
    pub collector_version: CollectorVersion,

    /// How often the Collector re-reads its certificates (also the gRPC max_connection_age).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1h",
        hide_short_help = true
    )]
    pub reload_interval: Lifetime,

    /// Where the certificates are mounted in the container (the configuration's paths).
    #[arg(long, value_name = "PATH", default_value = crate::config::context::DEFAULT_CERT_PATH, hide_short_help = true)]
    pub cert_path: String,

    #[command(flatten)]
    pub output: ManifestOutputArgs,
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

// `otel-pki keystore`.
#[derive(Args, Debug)]
#[command(
    group(clap::ArgGroup::new("what").required(true).multiple(true).args(["name", "truststore"])),
    after_long_help = concat!(
        "Writes DIR/NAME.p12 (mode 0600: NAME.key with NAME.crt and the CA that issued it, alias ",
        "NAME) and, with --truststore, DIR/truststore.p12 (mode 0644: every CA of ca.crt as a ",
        "trusted certificate, aliases ca, ca-2, …). Default protection is OpenSSL 3's and JDK 17's: ",
        "PBES2 AES-256-CBC with PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC; --legacy writes 3DES ",
        "with an HMAC-SHA1 MAC for JDK 8 before 8u301. JKS: keytool -importkeystore (docs/keystores.md).\n\n",
        "Examples:\n",
        "  OTEL_PKI_KEYSTORE_PASSWORD=changeit \\\n",
        "      otel-pki keystore --name server --truststore\n",
        "  otel-pki keystore --name client --password-file kafka.pass --legacy\n",
        exit_codes!()
    )
)]
pub struct KeystoreArgs {
    #[command(flatten)]
    pub dir: DirArgs,

    /// Leaf whose NAME.key and NAME.crt go into DIR/NAME.p12; repeatable.
    #[arg(long = "name", value_name = "NAME", value_delimiter = ',')]
    pub name: Vec<String>,

    /// Also write DIR/truststore.p12 with the CA certificates of DIR/ca.crt.
    #[arg(long)]
    pub truststore: bool,

    /// Protect with 3DES and an HMAC-SHA1 MAC (as `openssl pkcs12 -legacy`), for JVMs older
    /// than 8u301 and Windows Server 2016.
    #[arg(long)]
    pub legacy: bool,

    /// Read the keystore password from FILE (first line). Otherwise the environment
    /// variable OTEL_PKI_KEYSTORE_PASSWORD is used. There is no prompt and no flag taking the
    /// password itself.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Replace existing .p12 files; the previous ones go to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,
}

/// Role of a certificate signed from a CSR.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum SignRoleArg {
    /// extendedKeyUsage serverAuth; needs a DNS name or IP address.
    Server,
    /// extendedKeyUsage clientAuth.
    Client,
}

// `otel-pki sign`.
#[derive(Args, Debug)]
#[command(after_long_help = concat!(
    "Checks the CSR's signature, then issues a leaf with the set's profile for --role: the ",
    "role decides keyUsage and extendedKeyUsage; SANs are --san, or the CSR's own after the ",
    "same validation; other requested extensions (CA:TRUE, extra usages) are not copied and a ",
    "status line says so. Writes DIR/NAME.crt only: the key stays where the CSR was made.\n\n",
    "Examples:\n",
    "  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n",
    "      -keyout edge.key -subj /CN=edge-1 -out edge.csr\n",
    "  otel-pki sign edge.csr --role client --name edge-1\n",
    "  otel-pki sign gw.csr --role server --san gw.example.com\n",
    exit_codes!()
))]
pub struct SignArgs {
    /// The certificate signing request (PEM or DER; `-` for standard input).
    #[arg(value_name = "CSR")]
    pub csr: PathBuf,

    /// Server or client profile.
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: SignRoleArg,

    /// Base name of the certificate file: NAME.crt [default: the role].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Names for the certificate instead of the CSR's (DNS name, IP address, URI:…,
    /// email:…); repeatable and comma-separated.
    #[arg(long = "san", value_name = "NAME", value_delimiter = ',')]
    pub sans: Vec<San>,

    /// Common name [default: the CSR's, else the first SAN, else NAME].
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,

    #[command(flatten)]
    pub dir: DirArgs,

    /// CA certificate to sign with [default: DIR/ca.crt].
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// CA private key [default: DIR/ca.key].
    #[arg(long, value_name = "FILE")]
    pub ca_key: Option<PathBuf>,

    /// Lifetime, e.g. 365d, 720h, 12w, 1y. May not exceed the CA's remaining lifetime.
    #[arg(long, value_name = "DURATION", default_value = "365d")]
    pub validity: Lifetime,

    /// Replace an existing NAME.crt; the previous one goes to DIR/backup/<UTC time>/.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}
