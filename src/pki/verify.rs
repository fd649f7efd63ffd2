//! Path validation with rustls-webpki, and the translation of its verdicts into sentences a
//! person understands ("expired 3 days ago (2026-11-24)", "not valid for `jaeger-backend`;
//! valid for: localhost, 127.0.0.1"). No I/O: callers read the files and print the result.
//!
//! webpki stops at the first problem it meets, in a fixed order (validity, basic
//! constraints, extended key usage, then the issuer). To report every problem at once,
//! [`verify`] runs it up to three times: at the requested instant for the requested purpose
//! (the verdict), then at an instant inside every validity window of the chain for the same
//! purpose, then for any purpose. The later runs happen only when the first failed, and
//! each can only uncover problems an earlier one hid. Host names and the trust anchor's own
//! dates (which webpki does not check, and Go and OpenSSL do) are checked separately.

use std::fmt::Write as _;

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::certificate::{self, CertSummary, Role};
use super::lifetime::humanize;
use super::{PkiError, PrivateKey};

/// What a leaf certificate is checked for.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A TLS client (a Collector exporter): extendedKeyUsage clientAuth.
    Client,
    /// A TLS server (a receiver): extendedKeyUsage serverAuth.
    Server,
}

impl Purpose {
    /// `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Client => "client",
            Purpose::Server => "server",
        }
    }

    /// The extendedKeyUsage this purpose needs: `serverAuth` or `clientAuth`.
    pub fn extended_key_usage(self) -> &'static str {
        match self {
            Purpose::Client => "clientAuth",
            Purpose::Server => "serverAuth",
        }
    }

    /// The purposes to check a certificate for when none was asked for: what its
    /// extendedKeyUsage says (both for a server+client certificate). Without a usable EKU
    /// (a CA, no EKU, other purposes), server when it names a host, else client.
    pub fn defaults_for(summary: &CertSummary) -> Vec<Purpose> {
        match summary.role {
            Role::Server => vec![Purpose::Server],
            Role::Client => vec![Purpose::Client],
            Role::ServerClient => vec![Purpose::Server, Purpose::Client],
            Role::Ca | Role::Other => {
                if summary.sans.hosts().next().is_some() {
                    vec![Purpose::Server]
                } else {
                    vec![Purpose::Client]
                }
            }
        }
    }

    fn usage(self) -> webpki::KeyUsage {
        match self {
            Purpose::Client => webpki::KeyUsage::client_auth(),
            Purpose::Server => webpki::KeyUsage::server_auth(),
        }
    }
}

/// A certificate trusted as a root ("trust anchor"), and where it came from.
#[derive(Clone, Debug)]
pub struct TrustedCa {
    der: Vec<u8>,
    source: String,
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl TrustedCa {
    /// The certificates of one CA file: every CA certificate in it is trusted (a rotation
    /// bundle holds the current and the next CA). Certificates that are not CAs are not
    /// trusted; each gets a sentence in the second list. `path` labels the sources:
    /// `ca.crt`, then `ca.crt#1`, `ca.crt#2` for the certificates after the first (as
    /// `inspect` numbers them).
    pub fn from_file(ders: Vec<Vec<u8>>, path: &str) -> Result<(Vec<Self>, Vec<String>), PkiError> {
        let mut trusted = Vec::new();
        let mut ignored = Vec::new();
        for (index, der) in ders.into_iter().enumerate() {
            let source = label(path, index);
            let parsed =
                certificate::parse(&der).map_err(|reason| PkiError::InvalidCertificate {
                    path: source.clone(),
                    reason,
                })?;
            let subject = parsed.subject().to_string();
            if Role::of(&parsed) != Role::Ca {
                ignored.push(format!(
                    "{source} (`{subject}`) is not a CA certificate (no basicConstraints CA:TRUE); it is not trusted"
                ));
                continue;
            }
            let not_before = parsed.validity().not_before.to_datetime();
            let not_after = parsed.validity().not_after.to_datetime();
            drop(parsed);
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice())).map_err(
                |_| PkiError::InvalidCertificate {
                    path: source.clone(),
                    reason: if der.len() > WEBPKI_CERTIFICATE_LIMIT {
                        format!(
                            "it is {} bytes, more than the 64 KiB rustls-webpki accepts, so rustls cannot trust it; use a smaller CA certificate",
                            der.len()
                        )
                    } else {
                        "rustls-webpki cannot use it as a trust anchor (check it with `openssl x509 -noout -text -in FILE`)".into()
                    },
                },
            )?;
            trusted.push(TrustedCa {
                der,
                source,
                subject,
                not_before,
                not_after,
            });
        }
        Ok((trusted, ignored))
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Where it came from, e.g. `otel-certs/ca.crt` or `ca-bundle.crt#1`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Its subject, RFC 4514 style.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    fn anchor(&self) -> TrustAnchor<'static> {
        // Checked in `from_file`.
        webpki::anchor_from_trusted_cert(&CertificateDer::from(self.der.as_slice()))
            .map(|anchor| anchor.to_owned())
            .unwrap_or_else(|_| TrustAnchor {
                subject: Vec::new().into(),
                subject_public_key_info: Vec::new().into(),
                name_constraints: None,
            })
    }
}

/// What to verify.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The leaf certificate, then any intermediates (as a server sends them), DER.
    pub chain: &'a [Vec<u8>],
    /// Where the chain came from (for messages): a file, or `HOST:PORT`.
    pub source: &'a str,
    /// The CAs to trust.
    pub trusted: &'a [TrustedCa],
    /// Purposes to check; empty means [`Purpose::defaults_for`] the leaf.
    pub purposes: &'a [Purpose],
    /// Host names or IP addresses the leaf must be valid for (see [`parse_host`]).
    pub hosts: &'a [String],
    /// The instant to verify at.
    pub at: OffsetDateTime,
    /// True when `at` is the present: times read "3 days ago" rather than "3 days before
    /// 2027-01-01".
    pub at_is_now: bool,
}

/// The result: valid when there are no findings.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Verification {
    /// The purposes checked.
    pub purposes: Vec<Purpose>,
    /// Every problem found, the one that decided the verdict first. Empty when valid.
    pub findings: Vec<Finding>,
    /// The path from the leaf to a trusted CA, when one exists (possibly only ignoring
    /// validity dates or purposes, see the findings). Empty when none does.
    pub chain: Vec<ChainLink>,
}

impl Verification {
    /// True when nothing is wrong.
    pub fn is_valid(&self) -> bool {
        self.findings.is_empty()
    }

    /// The trusted CA the chain ends at, if any.
    pub fn trusted_ca(&self) -> Option<&ChainLink> {
        self.chain.last().filter(|_| self.chain.len() > 1)
    }
}

/// One certificate of a verified path.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ChainLink {
    /// Its subject.
    pub subject: String,
    /// Where it came from: the certificate file (with `#N` for later certificates) or the CA
    /// file.
    pub source: String,
}

/// One problem, as a sentence and as a stable code for scripts.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub problem: Problem,
    /// The sentence, e.g. "expired 3 days ago (2026-11-24)".
    pub message: String,
}

/// Kinds of problems (the JSON `problem` field).
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The issuer named in the certificate is a trusted CA, but its key did not sign it.
    BadSignature,
    /// A CA certificate was given where a leaf belongs.
    CaAsLeaf,
    /// The trusted CA itself has expired.
    CaExpired,
    /// The trusted CA is not valid yet.
    CaNotYetValid,
    /// The leaf or an intermediate has expired.
    Expired,
    /// A certificate after the leaf is not a CA.
    IntermediateNotCa,
    /// The key is encrypted: the Collector cannot read it (and it was not compared).
    KeyEncrypted,
    /// The key does not belong to the certificate.
    KeyMismatch,
    /// The certificate is malformed.
    Malformed,
    /// The leaf is not valid for a requested host.
    NameMismatch,
    /// A name in the leaf is outside its CA's name constraints.
    NameNotPermitted,
    /// The leaf or an intermediate is not valid yet.
    NotYetValid,
    /// The chain is longer than a CA allows (pathLenConstraint).
    PathTooLong,
    /// No trusted CA signed the chain.
    UnknownIssuer,
    /// Something rustls-webpki does not support (X.509 v1, an unknown critical extension,
    /// a signature algorithm).
    Unsupported,
    /// The extendedKeyUsage does not allow the purpose.
    WrongPurpose,
}

/// Checks that `input` is something a TLS client can dial and match: a DNS name or an IP
/// address. Returns it trimmed, without a trailing dot.
pub fn parse_host(input: &str) -> Result<String, String> {
    let host = input.trim().trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host)
        .map(|_| host.to_owned())
        .map_err(|_| format!("`{input}` is not a DNS name or an IP address"))
}

/// Verifies a chain. Errors only when the leaf cannot be parsed at all.
pub fn verify(request: &Request<'_>) -> Result<Verification, PkiError> {
    let Some(leaf_der) = request.chain.first() else {
        return Err(PkiError::InvalidCertificate {
            path: request.source.to_owned(),
            reason: "no certificate".into(),
        });
    };
    let mut links = Vec::with_capacity(request.chain.len());
    for (index, der) in request.chain.iter().enumerate() {
        let source = label(request.source, index);
        let summary = CertSummary::new(der, &source, index, request.at)?;
        let parsed = certificate::parse(der).map_err(|reason| PkiError::InvalidCertificate {
            path: source.clone(),
            reason,
        })?;
        links.push(Link {
            der_len: der.len(),
            issuer_raw: parsed.issuer().as_raw().to_vec(),
            subject_raw: parsed.subject().as_raw().to_vec(),
            self_signed: summary.self_signed,
            summary,
            source,
        });
    }
    let purposes = if request.purposes.is_empty() {
        Purpose::defaults_for(&links[0].summary)
    } else {
        request.purposes.to_vec()
    };
    let context = Context {
        request,
        links: &links,
    };

    let anchors: Vec<TrustAnchor<'static>> =
        request.trusted.iter().map(TrustedCa::anchor).collect();
    let leaf = CertificateDer::from(leaf_der.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = request.chain[1..]
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    let push = |finding: Finding, findings: &mut Vec<Finding>| {
        if !findings.contains(&finding) {
            findings.push(finding);
        }
    };
    let mut path: Option<(usize, Vec<Vec<u8>>)> = None;

    match webpki::EndEntityCert::try_from(&leaf) {
        Err(error) => push(context.describe(&error, None), &mut findings),
        Ok(end_entity) => {
            let run = |time: UnixTime, usage: Usage| {
                let result = match usage {
                    Usage::Purpose(purpose) => end_entity.verify_for_usage(
                        webpki::ALL_VERIFICATION_ALGS,
                        &anchors,
                        &intermediates,
                        time,
                        purpose.usage(),
                        None,
                        None,
                    ),
                    Usage::Any => end_entity.verify_for_usage(
                        webpki::ALL_VERIFICATION_ALGS,
                        &anchors,
                        &intermediates,
                        time,
                        AnyPurpose,
                        None,
                        None,
                    ),
                };
                result.map(|verified| {
                    let anchor = verified.anchor();
                    let index = anchors
                        .iter()
                        .position(|candidate| {
                            candidate.subject == anchor.subject
                                && candidate.subject_public_key_info
                                    == anchor.subject_public_key_info
                        })
                        .unwrap_or_default();
                    let intermediates: Vec<Vec<u8>> = verified
                        .intermediate_certificates()
                        .map(|cert| cert.der().as_ref().to_vec())
                        .collect();
                    (index, intermediates)
                })
            };
            let at = unix_time(request.at);
            // 1. The verdict: the requested instant, each purpose.
            for purpose in &purposes {
                match run(at, Usage::Purpose(*purpose)) {
                    Ok(found) => path = path.or(Some(found)),
                    Err(error) => push(context.describe(&error, Some(*purpose)), &mut findings),
                }
            }
            if !findings.is_empty() {
                // 2. and 3. What the first problem hid: other purposes' and the issuer's
                // problems, at an instant every certificate of the chain is valid.
                let calm = context.calm_time().map_or(at, unix_time);
                for purpose in &purposes {
                    if let Err(error) = run(calm, Usage::Purpose(*purpose)) {
                        push(context.describe(&error, Some(*purpose)), &mut findings);
                    }
                }
                match run(calm, Usage::Any) {
                    Ok(found) => path = path.or(Some(found)),
                    Err(error) => push(context.describe(&error, None), &mut findings),
                }
            }
            // Names are independent of the path.
            let mismatched: Vec<&String> = request
                .hosts
                .iter()
                .filter(|host| {
                    ServerName::try_from(host.as_str()).map_or(true, |name| {
                        end_entity.verify_is_valid_for_subject_name(&name).is_err()
                    })
                })
                .collect();
            if !mismatched.is_empty() {
                push(context.name_mismatch(&mismatched), &mut findings);
            }
        }
    }

    let mut chain = Vec::new();
    if let Some((anchor_index, used)) = path {
        chain.push(ChainLink {
            subject: links[0].summary.subject.clone(),
            source: links[0].source.clone(),
        });
        for der in &used {
            if let Some(link) = request
                .chain
                .iter()
                .position(|candidate| candidate == der)
                .map(|index| &links[index])
            {
                chain.push(ChainLink {
                    subject: link.summary.subject.clone(),
                    source: link.source.clone(),
                });
            }
        }
        if let Some(ca) = request.trusted.get(anchor_index) {
            chain.push(ChainLink {
                subject: ca.subject.clone(),
                source: ca.source.clone(),
            });
            // webpki does not check a trust anchor's dates or extensions; Go and OpenSSL do.
            if let Some(finding) = context.anchor_validity(ca) {
                findings.push(finding);
            }
            if let Some(finding) = context.anchor_critical_extension(ca) {
                findings.push(finding);
            }
        }
    }
    Ok(Verification {
        purposes,
        findings,
        chain,
    })
}

/// A finding when `key` does not belong to the leaf `certificate_der`; `key_source` names
/// the key file.
pub fn key_finding(key: &PrivateKey, certificate_der: &[u8], key_source: &str) -> Option<Finding> {
    (!key.matches_certificate(certificate_der)).then(|| key_mismatch(key_source))
}

/// The finding for a key file (`key_source`) that does not belong to the certificate.
pub fn key_mismatch(key_source: &str) -> Finding {
    Finding {
        problem: Problem::KeyMismatch,
        message: format!(
            "key `{key_source}` does not belong to this certificate (a different public key)"
        ),
    }
}

/// The largest certificate rustls-webpki parses: its signed data is read with a two-byte
/// DER length (a few bytes of header on top are allowed for).
const WEBPKI_CERTIFICATE_LIMIT: usize = 0xffff + 16;

/// Extensions OpenSSL and Go process when critical; any other critical extension makes
/// them refuse the certificate ("unhandled critical extension").
const KNOWN_EXTENSIONS: [&str; 12] = [
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.18", // issuerAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.30", // nameConstraints
    "2.5.29.32", // certificatePolicies
    "2.5.29.33", // policyMappings
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.36", // policyConstraints
    "2.5.29.37", // extendedKeyUsage
    "2.5.29.54", // inhibitAnyPolicy
];

/// The OID of the first critical extension of `der` that strict TLS stacks do not
/// process, if any (also for `issue --ca-cert`).
pub fn unknown_critical_extension(der: &[u8]) -> Option<String> {
    let parsed = certificate::parse(der).ok()?;
    parsed
        .extensions()
        .iter()
        .filter(|extension| extension.critical)
        .map(|extension| extension.oid.to_id_string())
        .find(|oid| !KNOWN_EXTENSIONS.contains(&oid.as_str()))
}

/// `path` for the first certificate of a file, `path#N` for the later ones.
pub fn label(path: &str, index: usize) -> String {
    if index == 0 {
        path.to_owned()
    } else {
        format!("{path}#{index}")
    }
}

#[derive(Clone, Copy)]
enum Usage {
    Any,
    Purpose(Purpose),
}

/// Accepts any extendedKeyUsage: used to look past a purpose problem for issuer problems.
struct AnyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

struct Link {
    summary: CertSummary,
    der_len: usize,
    source: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    self_signed: bool,
}

struct Context<'a> {
    request: &'a Request<'a>,
    links: &'a [Link],
}

impl Context<'_> {
    fn leaf(&self) -> &Link {
        &self.links[0]
    }

    /// An instant at which every certificate of the chain is valid, if there is one.
    fn calm_time(&self) -> Option<OffsetDateTime> {
        let start = self
            .links
            .iter()
            .map(|link| link.summary.not_before)
            .max()?;
        let end = self.links.iter().map(|link| link.summary.not_after).min()?;
        let at = start + time::Duration::seconds(1);
        (at < end).then_some(at)
    }

    fn describe(&self, error: &webpki::Error, purpose: Option<Purpose>) -> Finding {
        use webpki::Error as E;
        let finding = |problem, message: String| Finding { problem, message };
        match error {
            E::CertExpired { not_after, .. } => {
                let (prefix, link) = self.which(|link| unix_time(link.summary.not_after) == *not_after);
                let when = link.summary.not_after;
                finding(Problem::Expired, format!("{prefix}{}", self.expired(when)))
            }
            E::CertNotValidYet { not_before, .. } => {
                let (prefix, link) =
                    self.which(|link| unix_time(link.summary.not_before) == *not_before);
                let when = link.summary.not_before;
                finding(Problem::NotYetValid, format!("{prefix}{}", self.not_yet_valid(when)))
            }
            E::CaUsedAsEndEntity => finding(
                Problem::CaAsLeaf,
                "is a CA certificate, not a leaf".to_owned(),
            ),
            E::EndEntityUsedAsCa => {
                let culprit = self.links[1..]
                    .iter()
                    .find(|link| !link.summary.basic_constraints.is_some_and(|bc| bc.ca))
                    .map_or_else(
                        || "a certificate after the leaf".to_owned(),
                        |link| format!("`{}` ({})", link.summary.subject, link.source),
                    );
                finding(
                    Problem::IntermediateNotCa,
                    format!(
                        "{culprit} follows the leaf as an intermediate CA but is not a CA certificate; put only the leaf and its intermediate CAs in the file"
                    ),
                )
            }
            E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
                finding(Problem::WrongPurpose, self.wrong_purpose(purpose.unwrap_or(Purpose::Server)))
            }
            E::UnknownIssuer => finding(Problem::UnknownIssuer, self.unknown_issuer()),
            E::InvalidSignatureForPublicKey => finding(Problem::BadSignature, self.bad_signature()),
            E::CertNotValidForName(_) => self.name_mismatch(&self.request.hosts.iter().collect::<Vec<_>>()),
            E::PathLenConstraintViolated | E::MaximumPathDepthExceeded => finding(
                Problem::PathTooLong,
                "the chain has more intermediate CAs than a CA above them allows (pathLenConstraint)".to_owned(),
            ),
            E::UnsupportedCertVersion => finding(
                Problem::Unsupported,
                "is not an X.509 v3 certificate (an old `openssl x509 -req` without extensions makes v1): rustls rejects it, and Go accepts it for any purpose; issue a v3 certificate with otel-pki".to_owned(),
            ),
            E::UnsupportedCriticalExtension => finding(
                Problem::Unsupported,
                "has a critical extension that rustls-webpki does not understand, so TLS stacks reject it (Go: `x509: unhandled critical extension`)".to_owned(),
            ),
            E::SignatureAlgorithmMismatch
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => finding(
                Problem::Unsupported,
                format!(
                    "is signed with an algorithm TLS stacks do not accept ({}); use SHA-256 or better with ECDSA, RSA or Ed25519",
                    self.leaf().summary.signature_algorithm
                ),
            ),
            E::InvalidSerialNumber => finding(
                Problem::Malformed,
                "has a negative or over-long serial number: Go rejects such certificates since 1.23".to_owned(),
            ),
            E::InvalidCertValidity => finding(
                Problem::Malformed,
                "has a validity period that ends before it starts".to_owned(),
            ),
            E::MalformedDnsIdentifier | E::MalformedNameConstraint => finding(
                Problem::Malformed,
                "has a malformed DNS name in its subjectAltName or name constraints".to_owned(),
            ),
            E::NameConstraintViolation => finding(
                Problem::NameNotPermitted,
                "has a name its CA's name constraints do not permit".to_owned(),
            ),
            E::BadDer | E::BadDerTime | E::MalformedExtensions | E::TrailingData(_)
            | E::ExtensionValueInvalid => finding(Problem::Malformed, self.unparsable()),
            _ => finding(
                Problem::Unsupported,
                "is rejected by rustls-webpki for a reason otel-pki does not know how to explain; check it with `openssl verify -x509_strict -CAfile CA FILE`".to_owned(),
            ),
        }
    }

    /// Why rustls-webpki could not parse the chain, as precisely as otel-pki can tell: the
    /// two limits it has that OpenSSL and Go do not (64 KiB per certificate, no dates before
    /// 1970), or a general sentence.
    fn unparsable(&self) -> String {
        for (index, link) in self.links.iter().enumerate() {
            let who = if index == 0 {
                String::new()
            } else {
                format!(
                    "its certificate `{}` ({}) ",
                    link.summary.subject, link.source
                )
            };
            if link.der_len > WEBPKI_CERTIFICATE_LIMIT {
                let names = link.summary.sans.dns.len()
                    + link.summary.sans.ip.len()
                    + link.summary.sans.uri.len()
                    + link.summary.sans.email.len()
                    + link.summary.sans.other.len();
                return format!(
                    "{who}is {} bytes ({names} subjectAltNames), more than the 64 KiB rustls-webpki accepts, so rustls-based clients and servers refuse it (OpenSSL and Go accept it); split the names over several certificates",
                    link.der_len
                );
            }
            let epoch = time::macros::datetime!(1970-01-01 0:00 UTC);
            for (field, at) in [
                ("notBefore", link.summary.not_before),
                ("notAfter", link.summary.not_after),
            ] {
                if at < epoch {
                    return format!(
                        "{who}has {field} {} (before 1970), which rustls-webpki cannot represent, so rustls-based clients and servers refuse it; issue it with dates after 1970",
                        at.date()
                    );
                }
            }
        }
        "is malformed: rustls-webpki cannot parse it (check it with `openssl x509 -text -noout -in FILE`)".to_owned()
    }

    /// A trusted CA with a critical extension otel-pki (like OpenSSL and Go) does not know:
    /// rustls-webpki ignores a trust anchor's extensions, strict stacks refuse the chain.
    fn anchor_critical_extension(&self, ca: &TrustedCa) -> Option<Finding> {
        let oid = unknown_critical_extension(&ca.der)?;
        Some(Finding {
            problem: Problem::Unsupported,
            message: format!(
                "its CA `{}` ({}) has the critical extension {oid}, which TLS stacks do not understand, so OpenSSL (`unhandled critical extension`) and Go reject every certificate under it; use a CA without it",
                ca.subject, ca.source
            ),
        })
    }

    /// The certificate a problem is about: "" for the leaf, "intermediate CA `…` (x#1) " for
    /// a later one.
    fn which(&self, predicate: impl Fn(&Link) -> bool) -> (String, &Link) {
        match self.links.iter().position(&predicate) {
            Some(0) | None => (String::new(), self.leaf()),
            Some(index) => {
                let link = &self.links[index];
                (
                    format!(
                        "its intermediate CA `{}` ({}) ",
                        link.summary.subject, link.source
                    ),
                    link,
                )
            }
        }
    }

    fn expired(&self, not_after: OffsetDateTime) -> String {
        let span = humanize(self.request.at - not_after);
        if self.request.at_is_now {
            format!("expired {span} ago ({})", not_after.date())
        } else {
            format!(
                "expired {span} before {} ({})",
                self.request.at.date(),
                not_after.date()
            )
        }
    }

    fn not_yet_valid(&self, not_before: OffsetDateTime) -> String {
        let span = humanize(not_before - self.request.at);
        if self.request.at_is_now {
            format!("is not valid until {} (in {span})", not_before.date())
        } else {
            format!(
                "is not valid until {} ({span} after {})",
                not_before.date(),
                self.request.at.date()
            )
        }
    }

    fn anchor_validity(&self, ca: &TrustedCa) -> Option<Finding> {
        let at = self.request.at;
        let who = format!("its CA `{}` ({}) ", ca.subject, ca.source);
        if at > ca.not_after {
            Some(Finding {
                problem: Problem::CaExpired,
                message: format!(
                    "{who}{}: Go and OpenSSL reject every certificate under it",
                    self.expired(ca.not_after)
                ),
            })
        } else if at < ca.not_before {
            Some(Finding {
                problem: Problem::CaNotYetValid,
                message: format!("{who}{}", self.not_yet_valid(ca.not_before)),
            })
        } else {
            None
        }
    }

    fn wrong_purpose(&self, purpose: Purpose) -> String {
        let needed = purpose.extended_key_usage();
        let lacks = |link: &Link| {
            let ekus = &link.summary.extended_key_usage;
            !ekus.is_empty() && !ekus.iter().any(|eku| eku == needed)
        };
        let leaf = self.leaf();
        let needs = format!("a {} certificate needs {needed}", purpose.name());
        if lacks(leaf) || self.links.iter().all(|link| !lacks(link)) {
            let ekus = &leaf.summary.extended_key_usage;
            return match ekus.len() {
                0 => format!("has an empty extendedKeyUsage extension; {needs}"),
                1 => format!("has extendedKeyUsage {} only; {needs}", ekus[0]),
                _ => format!("has extendedKeyUsage {}; {needs}", ekus.join(", ")),
            };
        }
        let (prefix, link) = self.which(lacks);
        format!(
            "{prefix}allows only extendedKeyUsage {}; {needs} in every CA above it (Go enforces EKUs down the chain)",
            link.summary.extended_key_usage.join(", ")
        )
    }

    /// Which CA would have been needed: the issuer of the last certificate the given chain
    /// reaches (leaf, then intermediates whose subjects match), compared with the trusted
    /// CAs.
    fn unknown_issuer(&self) -> String {
        let mut top = 0;
        let mut used = vec![0];
        while let Some(next) = self.links.iter().enumerate().position(|(index, link)| {
            !used.contains(&index) && link.subject_raw == self.links[top].issuer_raw
        }) {
            used.push(next);
            top = next;
        }
        let link = &self.links[top];
        let mut message = String::new();
        if top > 0 {
            let _ = write!(
                message,
                "its intermediate CA `{}` ({}) is ",
                link.summary.subject, link.source
            );
        }
        if link.self_signed {
            let _ = write!(message, "self-signed (`{}`)", link.summary.subject);
        } else {
            let _ = write!(message, "signed by `{}`", link.summary.issuer);
        }
        let not_by = if link.self_signed {
            "not signed by"
        } else {
            "not by"
        };
        let trusted = self.request.trusted;
        match trusted {
            [] => message.push_str(", and no CA is trusted (the CA file holds no CA certificate)"),
            [ca] => {
                let _ = write!(message, ", {not_by} `{}` ({})", ca.subject, ca.source);
            }
            several => {
                let _ = write!(
                    message,
                    ", {not_by} any of the {} CAs in {}: {}",
                    several.len(),
                    sources(several),
                    several
                        .iter()
                        .map(|ca| format!("`{}`", ca.subject))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        message
    }

    fn bad_signature(&self) -> String {
        let leaf = self.leaf();
        let twin = self
            .request
            .trusted
            .iter()
            .find(|ca| ca.subject == leaf.summary.issuer)
            .map(|ca| format!(" ({})", ca.source))
            .unwrap_or_default();
        format!(
            "names `{}`{twin} as its issuer, but that CA's key did not sign it: it comes from another CA with the same name (a regenerated CA?)",
            leaf.summary.issuer
        )
    }

    fn name_mismatch(&self, hosts: &[&String]) -> Finding {
        let wanted = hosts
            .iter()
            .map(|host| format!("`{host}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let valid: Vec<&str> = self.leaf().summary.sans.hosts().collect();
        let message = if valid.is_empty() {
            format!(
                "not valid for {wanted}: it has no DNS or IP subject alternative names, and TLS clients ignore the common name"
            )
        } else {
            format!("not valid for {wanted}; valid for: {}", valid.join(", "))
        };
        Finding {
            problem: Problem::NameMismatch,
            message,
        }
    }
}

/// `a.crt`, or `a.crt and b.crt`: the distinct files the CAs came from.
fn sources(trusted: &[TrustedCa]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for ca in trusted {
        let file = ca
            .source
            .rsplit_once('#')
            .map_or(ca.source.as_str(), |(file, _)| file);
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files.join(" and ")
}

fn unix_time(at: OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(at.unix_timestamp()).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};
    use time::Duration;

    use super::*;
    use crate::pki::issue::{CaRequest, LeafProfile, LeafRequest, create_ca};
    use crate::pki::{Ca, KeyType, Lifetime, San, Validity};

    fn now() -> OffsetDateTime {
        static NOW: std::sync::LazyLock<OffsetDateTime> =
            std::sync::LazyLock::new(|| OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());
        *NOW
    }

    fn key() -> PrivateKey {
        PrivateKey::generate(KeyType::EcdsaP256).unwrap()
    }

    fn ca(name: &str) -> Ca {
        let request = CaRequest {
            common_name: name.into(),
            validity: Validity::starting_now(now() - Duration::days(30), Lifetime::days(400)),
        };
        create_ca(&request, key()).unwrap()
    }

    fn leaf(ca: &Ca, profile: LeafProfile, validity: Validity) -> Vec<u8> {
        let request = LeafRequest {
            profile,
            common_name: "leaf".into(),
            sans: San::parse_list("localhost,127.0.0.1").unwrap(),
            validity,
        };
        ca.issue(&request, key()).unwrap().certificate_der
    }

    fn current() -> Validity {
        Validity::starting_now(now(), Lifetime::days(30))
    }

    fn trusted(cas: &[&Ca]) -> Vec<TrustedCa> {
        cas.iter()
            .enumerate()
            .flat_map(|(index, ca)| {
                TrustedCa::from_file(
                    vec![ca.certificate_der().to_vec()],
                    &format!("ca{index}.crt"),
                )
                .unwrap()
                .0
            })
            .collect()
    }

    fn check(
        chain: &[Vec<u8>],
        trusted: &[TrustedCa],
        purposes: &[Purpose],
        hosts: &[&str],
    ) -> Verification {
        let hosts: Vec<String> = hosts.iter().map(|host| (*host).to_owned()).collect();
        verify(&Request {
            chain,
            source: "leaf.crt",
            trusted,
            purposes,
            hosts: &hosts,
            at: now(),
            at_is_now: true,
        })
        .unwrap()
    }

    fn problems(verification: &Verification) -> Vec<Problem> {
        verification.findings.iter().map(|f| f.problem).collect()
    }

    #[test]
    fn a_good_server_certificate_is_valid_with_its_chain() {
        let ca = ca("OTel Telemetry CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        let result = check(
            &[server],
            &trusted(&[&ca]),
            &[],
            &["localhost", "127.0.0.1"],
        );
        assert!(result.is_valid(), "{:?}", result.findings);
        assert_eq!(result.purposes, [Purpose::Server]);
        assert_eq!(result.chain.len(), 2);
        assert_eq!(result.chain[1].source, "ca0.crt");
        assert!(
            result.chain[1]
                .subject
                .starts_with("CN=OTel Telemetry CA, serialNumber=")
        );
    }

    #[test]
    fn the_wrong_ca_names_both_cas() {
        let right = ca("OTel Telemetry CA");
        let other = ca("Other CA");
        let server = leaf(&other, LeafProfile::Server, current());
        let result = check(&[server], &trusted(&[&right]), &[], &[]);
        assert_eq!(problems(&result), [Problem::UnknownIssuer]);
        let message = &result.findings[0].message;
        assert!(
            message.starts_with("signed by `CN=Other CA, serialNumber="),
            "{message}"
        );
        assert!(
            message.contains(", not by `CN=OTel Telemetry CA, serialNumber="),
            "{message}"
        );
        assert!(message.ends_with("` (ca0.crt)"), "{message}");
        assert!(result.chain.is_empty());
    }

    #[test]
    fn several_trusted_cas_are_all_anchors() {
        let old = ca("Old CA");
        let new = ca("New CA");
        let third = ca("Third CA");
        let server = leaf(&new, LeafProfile::Server, current());
        let result = check(
            std::slice::from_ref(&server),
            &trusted(&[&old, &new]),
            &[],
            &[],
        );
        assert!(result.is_valid(), "{:?}", result.findings);
        assert_eq!(result.chain[1].source, "ca1.crt");
        let result = check(
            &[leaf(&third, LeafProfile::Server, current())],
            &trusted(&[&old, &new]),
            &[],
            &[],
        );
        let message = &result.findings[0].message;
        assert!(
            message.contains("not by any of the 2 CAs in ca0.crt and ca1.crt: `CN=Old CA"),
            "{message}"
        );
    }

    #[test]
    fn expiry_is_a_date_and_a_distance() {
        let ca = ca("CA");
        let expired = leaf(
            &ca,
            LeafProfile::Server,
            Validity::between(now() - Duration::days(20), now() - Duration::days(3)),
        );
        let result = check(std::slice::from_ref(&expired), &trusted(&[&ca]), &[], &[]);
        assert_eq!(problems(&result), [Problem::Expired]);
        let date = (now() - Duration::days(3)).date();
        assert_eq!(
            result.findings[0].message,
            format!("expired 3 days ago ({date})")
        );
        // An expired chain still shows the path it would take.
        assert_eq!(result.chain.len(), 2);

        let future = leaf(
            &ca,
            LeafProfile::Server,
            Validity::between(now() + Duration::days(4), now() + Duration::days(40)),
        );
        let result = check(&[future], &trusted(&[&ca]), &[], &[]);
        assert_eq!(problems(&result), [Problem::NotYetValid]);
        let date = (now() + Duration::days(4)).date();
        assert_eq!(
            result.findings[0].message,
            format!("is not valid until {date} (in 4 days)")
        );
    }

    #[test]
    fn checking_at_another_time_says_so() {
        let ca = ca("CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        let at = now() + Duration::days(33);
        let result = verify(&Request {
            chain: &[server],
            source: "s.crt",
            trusted: &trusted(&[&ca]),
            purposes: &[],
            hosts: &[],
            at,
            at_is_now: false,
        })
        .unwrap();
        let expected = format!(
            "expired 3 days before {} ({})",
            at.date(),
            (now() + Duration::days(30)).date()
        );
        assert_eq!(result.findings[0].message, expected);
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let right = ca("Right CA");
        let other = ca("Other CA");
        let expired_client = leaf(
            &other,
            LeafProfile::Client,
            Validity::between(now() - Duration::days(20), now() - Duration::days(1)),
        );
        let result = check(
            &[expired_client],
            &trusted(&[&right]),
            &[Purpose::Server],
            &["localhost"],
        );
        assert_eq!(
            problems(&result),
            [
                Problem::Expired,
                Problem::WrongPurpose,
                Problem::UnknownIssuer
            ]
        );
        assert_eq!(
            result.findings[1].message,
            "has extendedKeyUsage clientAuth only; a server certificate needs serverAuth"
        );
    }

    #[test]
    fn purpose_names_and_ca_as_leaf() {
        let ca = ca("CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        let result = check(
            std::slice::from_ref(&server),
            &trusted(&[&ca]),
            &[Purpose::Client],
            &[],
        );
        assert_eq!(
            result.findings[0].message,
            "has extendedKeyUsage serverAuth only; a client certificate needs clientAuth"
        );
        let both = leaf(&ca, LeafProfile::ServerAndClient, current());
        let result = check(&[both], &trusted(&[&ca]), &[], &[]);
        assert!(result.is_valid());
        assert_eq!(result.purposes, [Purpose::Server, Purpose::Client]);

        let result = check(&[ca.certificate_der().to_vec()], &trusted(&[&ca]), &[], &[]);
        assert_eq!(problems(&result)[0], Problem::CaAsLeaf);
        assert_eq!(
            result.findings[0].message,
            "is a CA certificate, not a leaf"
        );
    }

    #[test]
    fn names_are_listed() {
        let ca = ca("CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        let result = check(
            &[server],
            &trusted(&[&ca]),
            &[],
            &["jaeger-backend", "localhost"],
        );
        assert_eq!(
            result.findings[0].message,
            "not valid for `jaeger-backend`; valid for: localhost, 127.0.0.1"
        );
    }

    #[test]
    fn an_expired_ca_is_reported_although_webpki_ignores_anchor_dates() {
        let request = CaRequest {
            common_name: "Short CA".into(),
            validity: Validity::between(now() - Duration::days(30), now() - Duration::days(2)),
        };
        let ca = create_ca(&request, key()).unwrap();
        let server = leaf(
            &ca,
            LeafProfile::Server,
            Validity::between(now() - Duration::days(20), now() - Duration::days(2)),
        );
        let result = check(&[server], &trusted(&[&ca]), &[], &[]);
        assert_eq!(problems(&result), [Problem::Expired, Problem::CaExpired]);
        assert!(
            result.findings[1]
                .message
                .starts_with("its CA `CN=Short CA")
        );
    }

    /// A CA made with rcgen directly: CN only (no serialNumber), any path length.
    fn plain_ca(name: &str, path_len: u8, signer: Option<&Ca>) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now() - Duration::days(10);
        params.not_after = now() + Duration::days(300);
        let key = key();
        let der = match signer {
            None => params.self_signed(key.pair()).unwrap().der().to_vec(),
            Some(signer) => {
                let issuer = rcgen::Issuer::from_ca_cert_der(
                    &CertificateDer::from(signer.certificate_der()),
                    signer.key().pair(),
                )
                .unwrap();
                params
                    .signed_by(key.pair(), &issuer)
                    .unwrap()
                    .der()
                    .to_vec()
            }
        };
        Ca::new(der, &format!("{name}.crt"), key).unwrap()
    }

    #[test]
    fn a_regenerated_ca_with_the_same_name_is_a_signature_problem() {
        let first = plain_ca("Same CA", 0, None);
        let second = plain_ca("Same CA", 0, None);
        let server = leaf(&first, LeafProfile::Server, current());
        let result = check(&[server], &trusted(&[&second]), &[], &[]);
        assert_eq!(problems(&result), [Problem::BadSignature]);
        assert_eq!(
            result.findings[0].message,
            "names `CN=Same CA` (ca0.crt) as its issuer, but that CA's key did not sign it: it comes from another CA with the same name (a regenerated CA?)"
        );
    }

    #[test]
    fn intermediates_after_the_leaf_are_used() {
        let root = plain_ca("Root", 1, None);
        let intermediate = plain_ca("Intermediate", 0, Some(&root));
        let server = leaf(&intermediate, LeafProfile::Server, current());
        let chain = [server.clone(), intermediate.certificate_der().to_vec()];
        let result = check(&chain, &trusted(&[&root]), &[], &[]);
        assert!(result.is_valid(), "{:?}", result.findings);
        let sources: Vec<&str> = result
            .chain
            .iter()
            .map(|link| link.source.as_str())
            .collect();
        assert_eq!(sources, ["leaf.crt", "leaf.crt#1", "ca0.crt"]);

        let result = check(&[server], &trusted(&[&root]), &[], &[]);
        assert_eq!(
            result.findings[0].message,
            "signed by `CN=Intermediate`, not by `CN=Root` (ca0.crt)"
        );
        let other = ca("Other");
        let result = check(&chain, &trusted(&[&other]), &[], &[]);
        assert!(
            result.findings[0]
                .message
                .starts_with("its intermediate CA `CN=Intermediate` (leaf.crt#1) is signed by `CN=Root`, not by `CN=Other"),
            "{}",
            result.findings[0].message
        );
    }

    #[test]
    fn a_leaf_in_a_ca_file_is_not_trusted() {
        let ca = ca("CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        let (trusted, ignored) =
            TrustedCa::from_file(vec![ca.certificate_der().to_vec(), server], "bundle.crt")
                .unwrap();
        assert_eq!(trusted.len(), 1);
        assert!(ignored[0].starts_with("bundle.crt#1 (`CN=leaf`) is not a CA certificate"));
    }

    #[test]
    fn a_mismatched_key_is_a_finding() {
        let ca = ca("CA");
        let server = leaf(&ca, LeafProfile::Server, current());
        assert!(key_finding(&key(), &server, "server.key").is_some());
    }

    #[test]
    fn hosts_are_dns_names_or_ip_addresses() {
        assert_eq!(parse_host("localhost.").unwrap(), "localhost");
        assert_eq!(parse_host("[::1]").unwrap(), "::1");
        assert!(parse_host("not a host").is_err());
    }
}
