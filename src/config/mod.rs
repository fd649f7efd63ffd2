//! Configuration files for the programs on either side of a mutual-TLS connection, and the
//! linter that checks them.
//!
//! - [`context`]: what a template sees ([`ConfigContext`]) and the options it is built from.
//! - [`render`]: renders a target to a `String` (used by `otel-pki config` and by anything
//!   that embeds the text elsewhere, such as a Kubernetes ConfigMap).
//! - [`lint`]: the rules of `otel-pki lint-config`, applied to rendered files too.
//! - [`yaml`]: a YAML tree with positions and scalar styles (bounded: depth, aliases).
//! - `kubernetes`: the configuration inside a ConfigMap or an `OpenTelemetryCollector`.
//!
//! Reading the certificate set (for default endpoints and warnings) happens here too, which
//! is why this is not under `pki/`.

pub mod context;
mod files;
mod kubernetes;
pub mod lint;
pub mod yaml;

use std::path::Path;

pub use context::{
    CollectorVersion, ConfigContext, ConfigError, ConfigOptions, Endpoint, FileNames, Protocol,
    Target,
};
pub use lint::{Finding, Kind, Lint, LintOptions, Rule, Severity};

use crate::pki::certificate::{PublicKeyInfo, SanList, parse};
use crate::pki::{San, issue::rfc3339};
use crate::render::{RenderError, Templates};
use crate::set;

/// Renders `context.target` with its template (built in, or from `--templates DIR`).
pub fn render(templates: &Templates, context: &ConfigContext) -> Result<String, RenderError> {
    templates.render(context.target.template(), context)
}

/// What the certificate set says about a server certificate.
#[derive(Clone, Debug)]
pub struct ServerCertificate {
    /// The file, as shown in messages.
    pub path: String,
    /// Its names.
    pub sans: SanList,
    /// Its key.
    pub public_key: PublicKeyInfo,
    /// Its notAfter, RFC 3339.
    pub not_after: String,
}

/// Reads the first certificate of `path` for its names and key type.
pub fn read_server_certificate(path: &Path) -> Result<ServerCertificate, crate::pki::PkiError> {
    let display = path.display().to_string();
    let certificates = set::read_certificates(path)?;
    let der = certificates
        .first()
        .ok_or_else(|| crate::pki::PkiError::InvalidCertificate {
            path: display.clone(),
            reason: "no certificate".into(),
        })?;
    let certificate = parse(der).map_err(|reason| crate::pki::PkiError::InvalidCertificate {
        path: display.clone(),
        reason,
    })?;
    Ok(ServerCertificate {
        path: display,
        sans: SanList::of(&certificate),
        public_key: PublicKeyInfo::of(&certificate),
        not_after: rfc3339(certificate.validity().not_after.to_datetime()),
    })
}

/// True when `host` is one of the certificate's DNS or IP names (wildcards as Go matches
/// them).
pub fn covers(sans: &SanList, host: &str) -> bool {
    sans.dns
        .iter()
        .map(|name| San::Dns(name.to_ascii_lowercase()))
        .chain(sans.ip.iter().filter_map(|ip| ip.parse().ok().map(San::Ip)))
        .any(|san| san.covers(host))
}

/// The warning when clients dialing `endpoint` would not accept the server certificate.
pub fn endpoint_warning(endpoint: &Endpoint, certificate: &ServerCertificate) -> Option<String> {
    if covers(&certificate.sans, &endpoint.host) {
        return None;
    }
    let mut names: Vec<&str> = certificate.sans.hosts().collect();
    let listed = if names.is_empty() {
        "no DNS name or IP address".to_owned()
    } else {
        names.join(", ")
    };
    names.push(&endpoint.host);
    Some(format!(
        "`{}` is not a name in the server certificate `{}` ({listed}): clients will fail with `x509: certificate is valid for …, not {}`; dial a name it has, or issue one that names it too (`otel-pki issue server --san {} --force`)",
        endpoint.host,
        certificate.path,
        endpoint.host,
        names.join(",")
    ))
}

/// Lints a rendered YAML file with the `lint-config` rules (no file checks).
pub fn lint_rendered(text: &str, context: &ConfigContext) -> Result<Lint, yaml::YamlError> {
    lint::lint(
        text,
        &LintOptions {
            kind: None,
            collector_version: context.collector_version,
            files: None,
        },
    )
}
