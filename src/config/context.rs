//! What a configuration template sees: [`ConfigContext`], built from [`ConfigOptions`].
//!
//! The context is the template author's API: every field is documented here, rendered as
//! JSON by `otel-pki config … --format json`, and available in `--templates DIR` overrides
//! under the same names (`{{ files.ca }}`, `{{ endpoint.address }}`, …).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::pki::San;

/// What to render.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// An agent Collector exporting over mutual TLS (a client certificate).
    Collector,
    /// A gateway Collector whose receivers require client certificates.
    Gateway,
    /// Jaeger v2 (a Collector distribution) receiving OTLP over mutual TLS.
    Jaeger,
    /// Jaeger v1 `jaeger-collector` command-line flags (end of life).
    JaegerV1,
    /// Grafana Tempo distributor receivers (and optionally Tempo's own servers).
    Tempo,
    /// `OTEL_EXPORTER_OTLP_*` variables for applications exporting with an SDK.
    SdkEnv,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 6] = [
        Target::Collector,
        Target::Gateway,
        Target::Jaeger,
        Target::JaegerV1,
        Target::Tempo,
        Target::SdkEnv,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Target::Collector => "collector",
            Target::Gateway => "gateway",
            Target::Jaeger => "jaeger",
            Target::JaegerV1 => "jaeger-v1",
            Target::Tempo => "tempo",
            Target::SdkEnv => "sdk-env",
        }
    }

    /// The template file (embedded, or overridden by the same name in `--templates DIR`).
    pub fn template(self) -> &'static str {
        match self {
            Target::Collector => "collector.yaml.j2",
            Target::Gateway => "gateway.yaml.j2",
            Target::Jaeger => "jaeger.yaml.j2",
            Target::JaegerV1 => "jaeger-v1.sh.j2",
            Target::Tempo => "tempo.yaml.j2",
            Target::SdkEnv => "sdk-env.j2",
        }
    }

    /// True when the output is YAML (and so is checked by the `lint-config` rules).
    pub fn is_yaml(self) -> bool {
        !matches!(self, Target::JaegerV1 | Target::SdkEnv)
    }

    /// True when the target is a client of `endpoint` (which is then required); the others
    /// are servers, for which `endpoint` is only the name clients dial.
    pub fn is_client(self) -> bool {
        matches!(self, Target::Collector | Target::SdkEnv)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// OTLP transport.
#[derive(Clone, Copy, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OTLP/gRPC, port 4317.
    #[default]
    Grpc,
    /// OTLP/HTTP (protobuf), port 4318.
    Http,
}

impl Protocol {
    /// The standard port.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Grpc => 4317,
            Protocol::Http => 4318,
        }
    }
}

/// A Collector version, which decides component names (`otlp_grpc` since v0.144.0).
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub struct CollectorVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl CollectorVersion {
    /// The newest release these templates were checked against (v0.159.0, August 2026).
    pub const LATEST: CollectorVersion = CollectorVersion::new(0, 159, 0);
    /// Exporters are `otlp_grpc`/`otlp_http` from here on; `otlp`/`otlphttp` are deprecated
    /// aliases (collector #14403, #14396).
    pub const NEW_EXPORTER_NAMES: CollectorVersion = CollectorVersion::new(0, 144, 0);
    /// A receiver `tls:` block must have a certificate and key from here on (#13130).
    pub const SERVER_CERT_REQUIRED: CollectorVersion = CollectorVersion::new(0, 136, 0);
    /// The oldest version rendered: `client_ca_file_reload` works with Kubernetes Secret
    /// updates from v0.86.0 (#8438), which also brought the `debug` exporter.
    pub const OLDEST: CollectorVersion = CollectorVersion::new(0, 86, 0);
    /// The configtls Grafana Tempo v3.0.3 vendors: Collector v0.153 (configtls v1.59.0 in
    /// grafana/tempo's go.mod, read at 005325e425d4): no `include_insecure_cipher_suites`
    /// (v0.154.0, #13829), the fsnotify CA reloader (replaced in v0.158.0, #15678).
    pub const TEMPO: CollectorVersion = CollectorVersion::new(0, 153, 0);
    /// The Collector Jaeger v2.20.0 is built on (configtls v1.61.0).
    pub const JAEGER: CollectorVersion = CollectorVersion::new(0, 155, 0);
    /// `curve_preferences` accepts `X25519MLKEM768` (non-FIPS builds) from here on
    /// (`config/configtls/curves_nofips.go`).
    pub const MLKEM_CURVE: CollectorVersion = CollectorVersion::new(0, 133, 0);

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        CollectorVersion {
            major,
            minor,
            patch,
        }
    }

    /// The gRPC exporter's component type.
    pub fn otlp_grpc(self) -> &'static str {
        if self >= Self::NEW_EXPORTER_NAMES {
            "otlp_grpc"
        } else {
            "otlp"
        }
    }

    /// The HTTP exporter's component type.
    pub fn otlp_http(self) -> &'static str {
        if self >= Self::NEW_EXPORTER_NAMES {
            "otlp_http"
        } else {
            "otlphttp"
        }
    }
}

impl fmt::Display for CollectorVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for CollectorVersion {
    type Err = ConfigError;

    /// `0.144.0`, `v0.144.0` or `0.144`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || ConfigError::InvalidVersion {
            input: input.to_owned(),
        };
        let text = input.trim().trim_start_matches('v');
        let mut parts = text.split('.').map(str::parse::<u32>);
        let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let patch = match parts.next() {
            None => 0,
            Some(Ok(patch)) => patch,
            Some(Err(_)) => return Err(invalid()),
        };
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(CollectorVersion::new(major, minor, patch))
    }
}

impl Serialize for CollectorVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CollectorVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A network endpoint: host and port, in the forms each file needs.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Endpoint {
    /// DNS name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `host:port` (`[v6]:port`), for gRPC `endpoint:` values.
    pub address: String,
    /// `https://host:port`, for OTLP/HTTP exporters and SDK variables.
    pub url: String,
}

impl Endpoint {
    /// Builds an endpoint from a host (DNS name or IP address) and port.
    pub fn new(host: &str, port: u16) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidEndpoint {
            input: host.to_owned(),
            reason: reason.to_owned(),
        };
        let san = San::parse(host).map_err(|error| invalid(&error.to_string()))?;
        if !san.is_host() {
            return Err(invalid("expected a DNS name or an IP address"));
        }
        let host = san.value();
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Endpoint {
            url: format!("https://{address}"),
            host,
            port,
            address,
        })
    }

    /// Parses `host`, `host:port`, `[v6]:port`, a bare IPv6 address, or `https://host[:port]`;
    /// a missing port is `default_port`. `http://` is refused: it turns TLS off.
    pub fn parse(input: &str, default_port: u16) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidEndpoint {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let text = input.trim();
        if text.to_ascii_lowercase().starts_with("http://") {
            return Err(invalid(
                "`http://` sends telemetry in plain text and makes the Collector ignore its `tls:` settings; use `https://` or HOST:PORT",
            ));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("HTTPS://"))
            .unwrap_or(text);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(invalid(
                "expected HOST:PORT without a path (SDKs and exporters add `/v1/traces` themselves)",
            ));
        }
        if rest.parse::<IpAddr>().is_ok() {
            return Endpoint::new(rest, default_port);
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("unclosed `[` around an IPv6 address"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(invalid("expected `]:PORT` after an IPv6 address")),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            None => default_port,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?,
        };
        if host.is_empty() {
            return Err(invalid("the host is empty"));
        }
        Endpoint::new(host, port).map_err(|_| {
            invalid("the host must be a DNS name or an IP address, e.g. `otel-gateway.observability.svc:4317`")
        })
    }
}

/// File names inside the mount directory (`--cert-path`). Library callers may use
/// sub-directories (`server/tls.crt`) to match a Kubernetes Secret layout.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct FileNames {
    /// The CA certificate(s) that verify the other side: `ca.crt`.
    pub ca: String,
    /// The server certificate: `server.crt`.
    pub server_cert: String,
    /// The server key: `server.key`.
    pub server_key: String,
    /// The client certificate: `client.crt`.
    pub client_cert: String,
    /// The client key: `client.key`.
    pub client_key: String,
}

impl Default for FileNames {
    fn default() -> Self {
        FileNames::from_stems("server", "client")
    }
}

impl FileNames {
    /// `ca.crt`, `SERVER.crt`, `SERVER.key`, `CLIENT.crt`, `CLIENT.key`.
    pub fn from_stems(server: &str, client: &str) -> Self {
        FileNames {
            ca: "ca.crt".into(),
            server_cert: format!("{server}.crt"),
            server_key: format!("{server}.key"),
            client_cert: format!("{client}.crt"),
            client_key: format!("{client}.key"),
        }
    }

    fn all(&self) -> [&str; 5] {
        [
            &self.ca,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
        ]
    }
}

/// Full paths of the files where the configured program will read them.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Files {
    /// `CERT_PATH/ca.crt`.
    pub ca: String,
    /// `CERT_PATH/server.crt`.
    pub server_cert: String,
    /// `CERT_PATH/server.key`.
    pub server_key: String,
    /// `CERT_PATH/client.crt`.
    pub client_cert: String,
    /// `CERT_PATH/client.key`.
    pub client_key: String,
}

/// What to render, as a library caller (or the CLI) asks for it.
#[derive(Clone, Debug)]
pub struct ConfigOptions {
    /// The target.
    pub target: Target,
    /// Directory where the files are mounted for the configured program.
    pub cert_path: String,
    /// File names inside `cert_path`.
    pub file_names: FileNames,
    /// Client targets: where to send (required). Server targets: the name clients dial
    /// (optional, for the header comment).
    pub endpoint: Option<Endpoint>,
    /// Gateway: where it forwards to over mutual TLS; `None` renders a `debug` exporter.
    pub upstream: Option<Endpoint>,
    /// OTLP transport of the exporter (collector, gateway upstream, SDK).
    pub protocol: Protocol,
    /// Collector version (exporter names).
    pub collector_version: CollectorVersion,
    /// How often certificates are re-read, as a Go duration (`1h`).
    pub reload_interval: String,
    /// Host receivers listen on (`0.0.0.0`, `::`, `${env:MY_POD_IP}`).
    pub listen_host: String,
    /// Tempo: also render `server.grpc_tls_config` and `server.http_tls_config`.
    pub tempo_server_tls: bool,
    /// SDK variables as `export` lines instead of a dotenv file.
    pub shell: bool,
}

impl ConfigOptions {
    /// The defaults for `target`: files in `/etc/otel/certs`, gRPC, the newest Collector,
    /// reload every hour, listen on `0.0.0.0`.
    pub fn new(target: Target) -> Self {
        ConfigOptions {
            target,
            cert_path: DEFAULT_CERT_PATH.into(),
            file_names: FileNames::default(),
            endpoint: None,
            upstream: None,
            protocol: Protocol::Grpc,
            collector_version: CollectorVersion::LATEST,
            reload_interval: "1h".into(),
            listen_host: "0.0.0.0".into(),
            tempo_server_tls: false,
            shell: false,
        }
    }
}

/// Where certificates are mounted unless `--cert-path` says otherwise.
pub const DEFAULT_CERT_PATH: &str = "/etc/otel/certs";

/// Everything a template sees. The field names are the template API and the JSON contract
/// of `otel-pki config --format json` (`context`).
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ConfigContext {
    /// `collector`, `gateway`, `jaeger`, `jaeger-v1`, `tempo` or `sdk-env`.
    pub target: Target,
    /// `grpc` or `http`: the exporter's transport.
    pub protocol: Protocol,
    /// The Collector version rendered for, e.g. `0.159.0`.
    pub collector_version: CollectorVersion,
    /// The exporter component type for `protocol` and `collector_version`: `otlp_grpc`,
    /// `otlp_http`, or before v0.144.0 `otlp`, `otlphttp`.
    pub exporter_type: String,
    /// The exporter's `endpoint:` value: `address` for gRPC, `url` for HTTP (empty when
    /// there is no endpoint).
    pub exporter_endpoint: String,
    /// Client targets: the destination. Server targets: the name clients dial, if given.
    pub endpoint: Option<Endpoint>,
    /// Gateway: the upstream it forwards to, if any.
    pub upstream: Option<Endpoint>,
    /// The upstream's `endpoint:` value (`address` or `url` by `protocol`; empty if none).
    pub upstream_endpoint: String,
    /// Receiver listen addresses.
    pub listen: Listen,
    /// Directory where the files are mounted, e.g. `/etc/otel/certs`.
    pub cert_path: String,
    /// File names relative to `cert_path`.
    pub file_names: FileNames,
    /// Full paths (`cert_path` + file name).
    pub files: Files,
    /// TLS settings.
    pub tls: TlsSettings,
    /// gRPC keepalive of server receivers.
    pub keepalive: Keepalive,
    /// Tempo: render the server-level TLS blocks too.
    pub tempo_server_tls: bool,
    /// SDK variables: `export` lines (true) or a dotenv file.
    pub shell: bool,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
    pub sdk_protocol: String,
}

/// Receiver listen addresses.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Listen {
    /// The host, e.g. `0.0.0.0`.
    pub host: String,
    /// OTLP/gRPC: `HOST:4317`.
    pub grpc: String,
    /// OTLP/HTTP: `HOST:4318`.
    pub http: String,
}

/// TLS settings shared by every block.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct TlsSettings {
    /// `1.2`: write it quoted (`min_version: "1.2"`), the Collector wants a string.
    pub min_version: String,
    /// Go duration, e.g. `1h`: how often the Collector re-reads its certificate and key
    /// (opt-in: never without it).
    pub reload_interval: String,
}

/// gRPC server keepalive: long-lived connections would keep using a rotated certificate.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Keepalive {
    /// Close connections after this long so clients reconnect (equal to the reload
    /// interval).
    pub max_connection_age: String,
    /// Time given to in-flight requests after that.
    pub max_connection_age_grace: String,
}

/// Errors in what was asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A client target without a destination.
    #[error(
        "`config {target}` needs --endpoint HOST:PORT (where to send); it defaults to the first name in the server certificate, which could not be read"
    )]
    MissingEndpoint {
        /// The target.
        target: Target,
    },
    /// `config collector` without --endpoint, on a set whose server certificate's first name
    /// is a loopback one: the default would be the Collector's own receiver.
    #[error(
        "`config collector` needs --endpoint HOST:PORT here: its default, the first name of `{certificate}`, is `{host}`, and `{address}` is this Collector's own OTLP receiver (listening on {listen}): it would export to itself, and its TLS handshake with that plain-text receiver could never succeed. Give the gateway's or backend's name, e.g. --endpoint otel-gateway.observability.svc:{port}"
    )]
    LoopbackEndpoint {
        /// The server certificate the default came from.
        certificate: String,
        /// Its first name, e.g. `localhost`.
        host: String,
        /// The default endpoint, `localhost:4317`.
        address: String,
        /// The receiver's address, `0.0.0.0:4317`.
        listen: String,
        /// The port.
        port: u16,
    },
    /// A bad `--endpoint`/`--upstream`.
    #[error("invalid endpoint `{input}`: {reason}")]
    InvalidEndpoint {
        /// What was given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A bad `--collector-version`.
    #[error("invalid --collector-version `{input}`: expected a version such as `0.144.0`")]
    InvalidVersion {
        /// What was given.
        input: String,
    },
    /// A Collector older than the templates support.
    #[error(
        "--collector-version {version} is older than v{}, the oldest these templates support (`client_ca_file_reload` and Kubernetes Secret updates); upgrade the Collector",
        CollectorVersion::OLDEST
    )]
    TooOld {
        /// What was given.
        version: CollectorVersion,
    },
    /// A path or host with characters that would need quoting in YAML or a shell.
    #[error(
        "invalid {what} `{input}`: use letters, digits and `/ . _ - + @ = ,` only (the value goes unquoted into YAML and shell files)"
    )]
    UnsafeValue {
        /// Which value, e.g. `--cert-path`.
        what: &'static str,
        /// The value.
        input: String,
    },
}

/// True for characters that are safe unquoted in YAML plain scalars, dotenv files and POSIX
/// shell words (after the first character, which must not be `-`).
fn is_safe(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('-')
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@' | '=' | ',')
        })
}

/// `${env:NAME}`: the Collector expands it; fine unquoted in YAML.
fn is_env_reference(value: &str) -> bool {
    value
        .strip_prefix("${env:")
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

impl ConfigContext {
    /// Checks the options and builds the context.
    pub fn new(options: &ConfigOptions) -> Result<Self, ConfigError> {
        let target = options.target;
        if target.is_client() && options.endpoint.is_none() {
            return Err(ConfigError::MissingEndpoint { target });
        }
        if options.collector_version < CollectorVersion::OLDEST {
            return Err(ConfigError::TooOld {
                version: options.collector_version,
            });
        }
        let cert_path = options.cert_path.trim_end_matches('/');
        let cert_path = if cert_path.is_empty() { "/" } else { cert_path };
        if !is_safe(cert_path) {
            return Err(ConfigError::UnsafeValue {
                what: "--cert-path",
                input: options.cert_path.clone(),
            });
        }
        for name in options.file_names.all() {
            if !is_safe(name) || name.starts_with('/') || name.split('/').any(|part| part == "..") {
                return Err(ConfigError::UnsafeValue {
                    what: "file name",
                    input: name.to_owned(),
                });
            }
        }
        let listen_host = options.listen_host.trim();
        let listen_host = if is_env_reference(listen_host) {
            listen_host.to_owned()
        } else {
            let host = Endpoint::new(listen_host, 1)
                .map_err(|_| ConfigError::UnsafeValue {
                    what: "--listen",
                    input: options.listen_host.clone(),
                })?
                .host;
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            }
        };
        let reload_interval = options.reload_interval.clone();
        if !is_safe(&reload_interval) {
            return Err(ConfigError::UnsafeValue {
                what: "--reload-interval",
                input: reload_interval,
            });
        }
        let path = |name: &str| {
            if cert_path == "/" {
                format!("/{name}")
            } else {
                format!("{cert_path}/{name}")
            }
        };
        let names = &options.file_names;
        let endpoint_value = |endpoint: &Option<Endpoint>| {
            endpoint
                .as_ref()
                .map_or_else(String::new, |endpoint| match options.protocol {
                    Protocol::Grpc => endpoint.address.clone(),
                    Protocol::Http => endpoint.url.clone(),
                })
        };
        Ok(ConfigContext {
            target,
            protocol: options.protocol,
            collector_version: options.collector_version,
            exporter_type: match options.protocol {
                Protocol::Grpc => options.collector_version.otlp_grpc(),
                Protocol::Http => options.collector_version.otlp_http(),
            }
            .to_owned(),
            exporter_endpoint: endpoint_value(&options.endpoint),
            endpoint: options.endpoint.clone(),
            upstream_endpoint: endpoint_value(&options.upstream),
            upstream: options.upstream.clone(),
            listen: Listen {
                grpc: format!("{listen_host}:{}", Protocol::Grpc.default_port()),
                http: format!("{listen_host}:{}", Protocol::Http.default_port()),
                host: listen_host,
            },
            cert_path: cert_path.to_owned(),
            file_names: names.clone(),
            files: Files {
                ca: path(&names.ca),
                server_cert: path(&names.server_cert),
                server_key: path(&names.server_key),
                client_cert: path(&names.client_cert),
                client_key: path(&names.client_key),
            },
            tls: TlsSettings {
                min_version: "1.2".into(),
                reload_interval: reload_interval.clone(),
            },
            keepalive: Keepalive {
                max_connection_age: reload_interval,
                max_connection_age_grace: "30s".into(),
            },
            tempo_server_tls: options.tempo_server_tls,
            shell: options.shell,
            sdk_protocol: match options.protocol {
                Protocol::Grpc => "grpc",
                Protocol::Http => "http/protobuf",
            }
            .into(),
        })
    }
}

/// A duration as Go's `time.ParseDuration` reads it, compactly: `1h`, `1h30m`, `24h`,
/// `90s` → `1m30s`. Sub-second parts are dropped.
pub fn go_duration(duration: time::Duration) -> String {
    let total = duration.whole_seconds().max(1);
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        out.push_str(&format!("{seconds}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_in_every_form() {
        let e = Endpoint::parse("otel-gateway.observability.svc", 4317).unwrap();
        assert_eq!(e.address, "otel-gateway.observability.svc:4317");
        assert_eq!(e.url, "https://otel-gateway.observability.svc:4317");
        let e = Endpoint::parse("https://gw.example.com:443/", 4318).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("gw.example.com", 443));
        let e = Endpoint::parse("[::1]:4318", 4317).unwrap();
        assert_eq!(e.address, "[::1]:4318");
        let e = Endpoint::parse("::1", 4317).unwrap();
        assert_eq!(e.address, "[::1]:4317");
        let e = Endpoint::parse("10.0.0.5:14317", 4317).unwrap();
        assert_eq!(e.address, "10.0.0.5:14317");
        for bad in [
            "http://gw:4318",
            "gw:0",
            "gw:99999",
            "gw:4318/v1/traces",
            ":4317",
            "a b:4317",
            "[::1",
        ] {
            assert!(Endpoint::parse(bad, 4317).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_choose_exporter_names() {
        let old: CollectorVersion = "v0.143.0".parse().unwrap();
        assert_eq!((old.otlp_grpc(), old.otlp_http()), ("otlp", "otlphttp"));
        let new: CollectorVersion = "0.144".parse().unwrap();
        assert_eq!(
            (new.otlp_grpc(), new.otlp_http()),
            ("otlp_grpc", "otlp_http")
        );
        assert!("0.x".parse::<CollectorVersion>().is_err());
        assert!("1.2.3.4".parse::<CollectorVersion>().is_err());
        let mut options = ConfigOptions::new(Target::Gateway);
        options.collector_version = "0.85.0".parse().unwrap();
        assert!(matches!(
            ConfigContext::new(&options),
            Err(ConfigError::TooOld { .. })
        ));
    }

    #[test]
    fn context_paths_and_checks() {
        let mut options = ConfigOptions::new(Target::Collector);
        assert!(matches!(
            ConfigContext::new(&options),
            Err(ConfigError::MissingEndpoint { .. })
        ));
        options.endpoint = Some(Endpoint::parse("gw", 4318).unwrap());
        options.protocol = Protocol::Http;
        options.cert_path = "/etc/otel/tls/".into();
        options.listen_host = "::".into();
        let context = ConfigContext::new(&options).unwrap();
        assert_eq!(context.files.ca, "/etc/otel/tls/ca.crt");
        assert_eq!(context.exporter_type, "otlp_http");
        assert_eq!(context.exporter_endpoint, "https://gw:4318");
        assert_eq!(context.listen.grpc, "[::]:4317");
        assert_eq!(context.sdk_protocol, "http/protobuf");
        options.listen_host = "${env:MY_POD_IP}".into();
        assert_eq!(
            ConfigContext::new(&options).unwrap().listen.http,
            "${env:MY_POD_IP}:4318"
        );
        options.cert_path = "/etc/my certs".into();
        assert!(matches!(
            ConfigContext::new(&options),
            Err(ConfigError::UnsafeValue { .. })
        ));
    }

    #[test]
    fn file_names_may_follow_a_kubernetes_secret_layout() {
        let mut options = ConfigOptions::new(Target::Gateway);
        options.cert_path = "/etc/otel/tls".into();
        options.file_names = FileNames {
            ca: "ca/ca.crt".into(),
            server_cert: "server/tls.crt".into(),
            server_key: "server/tls.key".into(),
            client_cert: "client/tls.crt".into(),
            client_key: "client/tls.key".into(),
        };
        let context = ConfigContext::new(&options).unwrap();
        assert_eq!(context.files.server_key, "/etc/otel/tls/server/tls.key");
        let templates = crate::render::Templates::new(None).unwrap();
        let text = crate::config::render(&templates, &context).unwrap();
        assert!(text.contains("client_ca_file: /etc/otel/tls/ca/ca.crt"));
        assert!(
            crate::config::lint_rendered(&text, &context)
                .unwrap()
                .findings
                .is_empty()
        );
        options.file_names.ca = "../ca.crt".into();
        assert!(ConfigContext::new(&options).is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(time::Duration::hours(1)), "1h");
        assert_eq!(go_duration(time::Duration::days(1)), "24h");
        assert_eq!(go_duration(time::Duration::seconds(90)), "1m30s");
        assert_eq!(go_duration(time::Duration::minutes(150)), "2h30m");
    }
}
