//! Subject alternative names: parsing what operators type into typed, validated names.
//!
//! Go's crypto/x509 (the Collector), rustls and OpenSSL match host names only against SANs,
//! never the common name, so every name a client dials must be here. Parsing is strict: a
//! name that a TLS stack would refuse to match is refused now, with the reason, rather than
//! written into a certificate that fails in production.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

use super::PkiError;

/// One subject alternative name.
#[derive(Clone, Debug, Eq, Hash, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum San {
    /// A DNS name in A-label (ASCII) form, lower case, possibly `*.` + name.
    Dns(String),
    /// An rfc822Name (e-mail address), domain part in A-label form.
    Email(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A URI, e.g. a SPIFFE ID `spiffe://cluster.local/ns/observability/sa/otel-agent`.
    Uri(String),
}

impl San {
    /// Parses one name. Bare values are typed automatically (IP address, URI with `://`,
    /// e-mail with `@`, otherwise DNS); the prefixes `DNS:`, `IP:`, `URI:` and `email:`
    /// (any case) force a type.
    pub fn parse(input: &str) -> Result<Self, PkiError> {
        let invalid = |reason: String| PkiError::InvalidSan {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the name is empty".into()));
        }
        let (prefix, value) = match trimmed.split_once(':') {
            Some((prefix, value))
                if ["dns", "ip", "uri", "email"]
                    .contains(&prefix.to_ascii_lowercase().as_str()) =>
            {
                (Some(prefix.to_ascii_lowercase()), value.trim())
            }
            _ => (None, trimmed),
        };
        match prefix.as_deref() {
            Some("dns") => dns_name(value).map(San::Dns).map_err(invalid),
            Some("ip") => ip_address(value)
                .map(San::Ip)
                .ok_or_else(|| invalid("not an IPv4 or IPv6 address".into())),
            Some("uri") => uri(value).map(San::Uri).map_err(invalid),
            Some("email") => email(value).map(San::Email).map_err(invalid),
            _ => {
                if let Some(ip) = ip_address(value) {
                    Ok(San::Ip(ip))
                } else if value.contains("://") {
                    uri(value).map(San::Uri).map_err(invalid)
                } else if value.contains('@') {
                    email(value).map(San::Email).map_err(invalid)
                } else {
                    dns_name(value).map(San::Dns).map_err(invalid)
                }
            }
        }
    }

    /// Parses a comma-separated list, e.g. `localhost,127.0.0.1,::1`.
    pub fn parse_list(input: &str) -> Result<Vec<Self>, PkiError> {
        input
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    /// The value without its type, as a TLS client would dial it (`::1`, not `[::1]`).
    pub fn value(&self) -> String {
        match self {
            San::Dns(name) | San::Email(name) | San::Uri(name) => name.clone(),
            San::Ip(ip) => ip.to_string(),
        }
    }

    /// True for names a client can dial: DNS names and IP addresses.
    pub fn is_host(&self) -> bool {
        matches!(self, San::Dns(_) | San::Ip(_))
    }

    /// Does this name cover the host `host` (a DNS name or an IP address) the way Go and
    /// rustls match names: IPs only against IP SANs; a wildcard covers exactly one
    /// left-most label.
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim().trim_end_matches('.');
        match (self, ip_address(host)) {
            (San::Ip(ip), Some(wanted)) => *ip == wanted,
            (San::Dns(name), None) => {
                let host = host.to_ascii_lowercase();
                match name.strip_prefix("*.") {
                    Some(base) => host
                        .split_once('.')
                        .is_some_and(|(first, rest)| !first.is_empty() && rest == base),
                    None => *name == host,
                }
            }
            _ => false,
        }
    }

    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType, PkiError> {
        let ia5 = |value: &str| {
            rcgen::string::Ia5String::try_from(value).map_err(|_| PkiError::InvalidSan {
                input: value.to_owned(),
                reason: "contains characters that are not IA5 (ASCII)".into(),
            })
        };
        Ok(match self {
            San::Dns(name) => rcgen::SanType::DnsName(ia5(name)?),
            San::Email(address) => rcgen::SanType::Rfc822Name(ia5(address)?),
            San::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            San::Uri(uri) => rcgen::SanType::URI(ia5(uri)?),
        })
    }
}

impl fmt::Display for San {
    /// `DNS:localhost`, `IP:127.0.0.1`, `URI:spiffe://…`, `email:a@b` — the syntax `parse`
    /// accepts and OpenSSL prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Email(address) => write!(f, "email:{address}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
            San::Uri(uri) => write!(f, "URI:{uri}"),
        }
    }
}

impl FromStr for San {
    type Err = PkiError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// The longest file name stem [`file_stem_from`] derives.
pub const DERIVED_STEM_MAX: usize = 64;

/// A file name stem derived from a host name, IP address or common name, for a certificate
/// issued without `--name`: lower case; a leading `*.` becomes `wildcard.`; every run of
/// characters other than ASCII letters, digits, `-`, `_` and `.` becomes one `-` (so
/// `10.0.0.5` stays `10.0.0.5`, `::1` is `1`, `2001:db8::1` is `2001-db8-1`, `Agent 7` is
/// `agent-7`); leading and trailing `-` and `.` are dropped; at most
/// [`DERIVED_STEM_MAX`] characters. `None` when nothing is left.
pub fn file_stem_from(text: &str) -> Option<String> {
    let text = text.trim().to_ascii_lowercase();
    let text = match text.strip_prefix("*.") {
        Some(rest) => format!("wildcard.{rest}"),
        None => text,
    };
    let mut stem = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            stem.push(c);
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let trim = |stem: &str| stem.trim_matches(|c| c == '-' || c == '.').to_owned();
    let mut stem = trim(&stem);
    if stem.len() > DERIVED_STEM_MAX {
        stem.truncate(DERIVED_STEM_MAX); // ASCII only: any index is a character boundary
        stem = trim(&stem);
    }
    (!stem.is_empty()).then_some(stem)
}

/// Removes duplicates, keeping the first occurrence (so the first name stays first: it is
/// the default common name and the default host for `selftest`).
pub fn dedup(sans: Vec<San>) -> Vec<San> {
    let mut seen = std::collections::HashSet::new();
    sans.into_iter()
        .filter(|san| seen.insert(san.clone()))
        .collect()
}

/// Expands `NAME.NAMESPACE` into the names Kubernetes resolves for a Service: `NAME`,
/// `NAME.NAMESPACE`, `NAME.NAMESPACE.svc` and `NAME.NAMESPACE.svc.CLUSTER_DOMAIN`; with
/// `headless`, also `*.NAME.NAMESPACE.svc.CLUSTER_DOMAIN` for per-pod names (a StatefulSet's
/// `POD.NAME.NAMESPACE.svc…` and CoreDNS's `A-B-C-D.NAME.NAMESPACE.svc…`).
pub fn kubernetes_service_names(
    service: &str,
    cluster_domain: &str,
    headless: bool,
) -> Result<Vec<San>, PkiError> {
    let (name, namespace) = kubernetes_service("--k8s-service", service)?;
    let domain = match dns_name(cluster_domain) {
        Ok(domain) if !domain.starts_with("*.") => domain,
        Ok(_) => {
            return Err(invalid_k8s(
                "--cluster-domain",
                cluster_domain,
                "may not be a wildcard".into(),
            ));
        }
        Err(reason) => return Err(invalid_k8s("--cluster-domain", cluster_domain, reason)),
    };
    let mut names = vec![
        San::Dns(name.clone()),
        San::Dns(format!("{name}.{namespace}")),
        San::Dns(format!("{name}.{namespace}.svc")),
        San::Dns(format!("{name}.{namespace}.svc.{domain}")),
    ];
    if headless {
        names.push(San::Dns(format!("*.{name}.{namespace}.svc.{domain}")));
    }
    Ok(names)
}

/// Parses `NAME.NAMESPACE` (given with `flag`) into a Service name (an RFC 1035 label, as
/// Kubernetes requires for Services) and a namespace (an RFC 1123 label).
pub fn kubernetes_service(flag: &'static str, input: &str) -> Result<(String, String), PkiError> {
    let (name, namespace) = input
        .trim()
        .split_once('.')
        .filter(|(_, namespace)| !namespace.contains('.'))
        .ok_or_else(|| {
            invalid_k8s(
                flag,
                input,
                "expected NAME.NAMESPACE, e.g. `otel-gateway.observability`".into(),
            )
        })?;
    let name = kubernetes_label(name, true)
        .map_err(|reason| invalid_k8s(flag, input, format!("Service name {reason}")))?;
    let namespace = kubernetes_label(namespace, false)
        .map_err(|reason| invalid_k8s(flag, input, format!("namespace {reason}")))?;
    Ok((name, namespace))
}

/// Validates a Kubernetes object name that must be an RFC 1123 label (namespaces) or,
/// with `starts_with_letter`, an RFC 1035 label (Services): 1 to 63 lower-case letters,
/// digits and `-`, starting and ending with a letter or digit.
pub fn kubernetes_label(input: &str, starts_with_letter: bool) -> Result<String, String> {
    if input.is_empty() || input.len() > 63 {
        return Err(format!("`{input}` must be 1 to 63 characters"));
    }
    if let Some(bad) = input
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{input}` contains `{bad}`; use lower-case letters, digits and `-`"
        ));
    }
    if input.starts_with('-') || input.ends_with('-') {
        return Err(format!(
            "`{input}` must start and end with a letter or digit"
        ));
    }
    if starts_with_letter && !input.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("`{input}` must start with a letter"));
    }
    Ok(input.to_owned())
}

/// Validates a Kubernetes object name that is an RFC 1123 subdomain (Secrets, ConfigMaps,
/// Certificates, issuers): at most 253 characters, dot-separated RFC 1123 labels.
pub fn kubernetes_object_name(flag: &'static str, input: &str) -> Result<String, PkiError> {
    if input.len() > 253 {
        return Err(invalid_k8s(
            flag,
            input,
            "is longer than 253 characters".into(),
        ));
    }
    for label in input.split('.') {
        kubernetes_label(label, false).map_err(|reason| invalid_k8s(flag, input, reason))?;
    }
    Ok(input.to_owned())
}

fn invalid_k8s(flag: &'static str, input: &str, reason: String) -> PkiError {
    PkiError::InvalidKubernetesName {
        flag,
        input: input.to_owned(),
        reason,
    }
}

/// Parses an IP address, accepting the bracketed IPv6 form `[::1]`.
fn ip_address(value: &str) -> Option<IpAddr> {
    let unbracketed = value
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(value);
    unbracketed.parse().ok()
}

/// Validates a DNS name (RFC 1035 preferred syntax as RFC 5280 requires, IDNA 2008 via UTS
/// 46 for non-ASCII input) and returns its canonical A-label form.
fn dns_name(value: &str) -> Result<String, String> {
    let value = value.strip_suffix('.').unwrap_or(value);
    if value.is_empty() {
        return Err("the name is empty".into());
    }
    if value.contains(char::is_whitespace) {
        return Err("contains whitespace".into());
    }
    if value.contains('/') || value.contains(':') {
        return Err("contains `/` or `:`; give a host name, not a URL or host:port".into());
    }
    let (wildcard, rest) = match value.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if rest.contains('*') {
        return Err(
            "a wildcard is only allowed as the whole left-most label, e.g. `*.example.com`".into(),
        );
    }
    let ascii = if rest.is_ascii() {
        rest.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii_strict(rest)
            .map_err(|_| "is not a valid internationalized domain name (IDNA)".to_owned())?
    };
    let labels: Vec<&str> = ascii.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with a hyphen"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "label `{label}` contains `{bad}`; DNS names may use only letters, digits and hyphens"
            ));
        }
        if label.starts_with("xn--") && idna::domain_to_unicode(label).1.is_err() {
            return Err(format!("label `{label}` is not a valid IDNA A-label"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("looks like an IP address but is not a valid one".into());
    }
    if wildcard && labels.len() < 2 {
        return Err(
            "a wildcard must be followed by at least two labels, e.g. `*.example.com`".into(),
        );
    }
    let name = if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    };
    if name.len() > 253 {
        return Err("is longer than 253 characters".into());
    }
    Ok(name)
}

/// Validates an absolute URI with an authority (RFC 5280 4.2.1.6 requires a host for URI
/// SANs, except SPIFFE IDs which always have a trust domain).
fn uri(value: &str) -> Result<String, String> {
    let (scheme, rest) = value.split_once("://").ok_or_else(|| {
        "a URI needs a scheme and an authority, e.g. `spiffe://domain/path`".to_owned()
    })?;
    let mut scheme_chars = scheme.chars();
    if !scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !scheme_chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!("`{scheme}` is not a valid URI scheme"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("the URI has no host (authority) part".into());
    }
    if let Some(bad) = value.chars().find(|c| {
        !c.is_ascii_graphic() || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
    }) {
        return Err(format!(
            "contains `{}`, which a URI may not contain unescaped",
            bad.escape_default()
        ));
    }
    if scheme.eq_ignore_ascii_case("spiffe") {
        let trust_domain = authority;
        if trust_domain
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c)))
        {
            return Err(
                "a SPIFFE trust domain may contain only lower-case letters, digits, `-`, `.` and `_`"
                    .into(),
            );
        }
        if value.contains(['?', '#']) {
            return Err("a SPIFFE ID may not contain a query or fragment".into());
        }
    }
    Ok(value.to_owned())
}

/// Validates an e-mail address: a printable ASCII local part and a DNS domain.
fn email(value: &str) -> Result<String, String> {
    let (local, domain) = value
        .rsplit_once('@')
        .ok_or_else(|| "an e-mail address needs `@`".to_owned())?;
    if local.is_empty() || local.len() > 64 {
        return Err("the part before `@` must be 1 to 64 characters".into());
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_graphic() && !"@()<>[]:;\\,\"".contains(c))
    {
        return Err("the part before `@` contains characters an address may not contain".into());
    }
    if domain.starts_with("*.") {
        return Err("the domain of an e-mail address may not be a wildcard".into());
    }
    let domain = dns_name(domain).map_err(|reason| format!("domain `{domain}` {reason}"))?;
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_derived_from_names_are_plain_and_deterministic() {
        let stem = |text: &str| file_stem_from(text);
        assert_eq!(stem("gw.example.com").as_deref(), Some("gw.example.com"));
        assert_eq!(stem("GW.Example.COM").as_deref(), Some("gw.example.com"));
        assert_eq!(stem("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(stem("::1").as_deref(), Some("1"));
        assert_eq!(stem("2001:db8::1").as_deref(), Some("2001-db8-1"));
        assert_eq!(
            stem("*.tempo.tracing.svc").as_deref(),
            Some("wildcard.tempo.tracing.svc")
        );
        assert_eq!(stem("Agent 7 (eu)").as_deref(), Some("agent-7-eu"));
        assert_eq!(stem("../../etc/passwd").as_deref(), Some("etc-passwd"));
        assert_eq!(stem("Grüße").as_deref(), Some("gr-e"));
        assert_eq!(stem(":::"), None);
        assert_eq!(stem(""), None);
        let long = stem(&format!("{}.example", "a".repeat(70))).unwrap();
        assert_eq!(long, "a".repeat(64));
        assert_eq!(
            stem(&format!("{}-.x", "b".repeat(63))).unwrap(),
            "b".repeat(63)
        );
    }

    fn ok(input: &str) -> San {
        San::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn reason(input: &str) -> String {
        match San::parse(input) {
            Err(PkiError::InvalidSan { reason, .. }) => reason,
            other => panic!("{input}: expected an invalid SAN, got {other:?}"),
        }
    }

    #[test]
    fn bare_values_are_typed_automatically() {
        assert_eq!(ok("localhost"), San::Dns("localhost".into()));
        assert_eq!(ok("127.0.0.1"), San::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(ok("::1"), San::Ip("::1".parse().unwrap()));
        assert_eq!(ok("[::1]"), San::Ip("::1".parse().unwrap()));
        assert_eq!(
            ok("spiffe://cluster.local/ns/obs/sa/agent"),
            San::Uri("spiffe://cluster.local/ns/obs/sa/agent".into())
        );
        assert_eq!(ok("ops@Example.COM"), San::Email("ops@example.com".into()));
    }

    #[test]
    fn prefixes_force_a_type_in_any_case() {
        assert_eq!(ok("DNS:Jaeger-Backend."), San::Dns("jaeger-backend".into()));
        assert_eq!(ok("ip:10.0.0.5"), San::Ip("10.0.0.5".parse().unwrap()));
        assert_eq!(
            ok("URI:https://a.example/x"),
            San::Uri("https://a.example/x".into())
        );
        assert_eq!(ok("email:a@b.example"), San::Email("a@b.example".into()));
    }

    #[test]
    fn unicode_names_become_a_labels() {
        assert_eq!(
            ok("bücher.example"),
            San::Dns("xn--bcher-kva.example".into())
        );
        assert_eq!(
            ok("*.bücher.example"),
            San::Dns("*.xn--bcher-kva.example".into())
        );
    }

    #[test]
    fn bad_names_say_why() {
        assert!(reason("").contains("empty"));
        assert!(reason("a..b").contains("empty label"));
        assert!(reason("-a.example").contains("hyphen"));
        assert!(reason("a_b.example").contains("`_`"));
        assert!(reason(&format!("{}.example", "a".repeat(64))).contains("63"));
        assert!(reason("foo.*.example").contains("left-most"));
        assert!(reason("*foo.example").contains("left-most"));
        assert!(reason("*.com").contains("two labels"));
        assert!(reason("999.1.1.1").contains("IP address"));
        assert!(reason("IP:300.1.1.1").contains("IPv4"));
        assert!(reason("gateway:4317").contains("host:port"));
        assert!(reason("URI:nohost").contains("scheme"));
        assert!(reason("spiffe://Upper/x").contains("trust domain"));
        assert!(reason("email:@x.example").contains("before `@`"));
        assert!(reason("has space").contains("whitespace"));
        let long = format!("{}.example", vec!["a".repeat(60); 5].join("."));
        assert!(reason(&long).contains("253"));
    }

    #[test]
    fn display_roundtrips_through_parse() {
        for input in [
            "DNS:*.a.example",
            "IP:::1",
            "IP:10.1.2.3",
            "URI:spiffe://x/y",
            "email:a@b.c",
        ] {
            let san = ok(input);
            assert_eq!(ok(&san.to_string()), san);
        }
    }

    #[test]
    fn lists_split_on_commas_and_dedup_keeps_order() {
        let sans = dedup(San::parse_list("localhost, 127.0.0.1,,localhost,::1").unwrap());
        let shown: Vec<String> = sans.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]);
    }

    #[test]
    fn coverage_matches_go_rules() {
        assert!(ok("*.svc.example").covers("gw.svc.example"));
        assert!(!ok("*.svc.example").covers("a.gw.svc.example"));
        assert!(!ok("*.svc.example").covers("svc.example"));
        assert!(ok("Gateway").covers("GATEWAY."));
        assert!(ok("127.0.0.1").covers("127.0.0.1"));
        assert!(!ok("DNS:localhost").covers("127.0.0.1"));
        assert!(ok("::1").covers("[::1]"));
    }

    #[test]
    fn kubernetes_service_expands_to_four_names() {
        let names: Vec<String> =
            kubernetes_service_names("otel-gateway.observability", "cluster.local", true)
                .unwrap()
                .iter()
                .map(San::value)
                .collect();
        assert_eq!(
            names,
            [
                "otel-gateway",
                "otel-gateway.observability",
                "otel-gateway.observability.svc",
                "otel-gateway.observability.svc.cluster.local",
                "*.otel-gateway.observability.svc.cluster.local"
            ]
        );
        assert!(kubernetes_service_names("nonamespace", "cluster.local", false).is_err());
    }

    #[test]
    fn kubernetes_names_are_checked_with_the_flag_in_the_message() {
        let message = |service: &str, domain: &str| {
            kubernetes_service_names(service, domain, false)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message("otel_gw.obs", "cluster.local"),
            "invalid --k8s-service `otel_gw.obs`: Service name `otel_gw` contains `_`; use lower-case letters, digits and `-`"
        );
        assert!(message("Gateway.obs", "cluster.local").contains("contains `G`"));
        assert!(message("1gw.obs", "cluster.local").contains("must start with a letter"));
        assert!(message("gw.a.b", "cluster.local").contains("expected NAME.NAMESPACE"));
        assert!(message("gw.-ns", "cluster.local").contains("namespace `-ns`"));
        assert!(
            message("gw.ns", "bad_domain").starts_with("invalid --cluster-domain `bad_domain`")
        );
        let names = kubernetes_service_names("gw.ns", "corp.example.", false).unwrap();
        assert_eq!(names[3], San::Dns("gw.ns.svc.corp.example".into()));
        assert!(kubernetes_object_name("--name", "otel-gateway.tls").is_ok());
        assert!(kubernetes_object_name("--name", "Otel").is_err());
        assert!(kubernetes_object_name("--name", "a..b").is_err());
        assert!(kubernetes_object_name("--name", &"a".repeat(254)).is_err());
    }
}
