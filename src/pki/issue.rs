//! Issuing: the certificate profiles (every bit written down once, with the reason), creating
//! a CA, loading an existing CA safely, and signing leaves that are checked before anyone
//! writes them.

use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;

use super::certificate::{self, hex};
use super::lifetime::{BACKDATE, Validity, humanize};
use super::{PkiError, PrivateKey, San};

/// What a leaf certificate is for. Each gets exactly the extended key usage it needs, so a
/// server certificate can never log in as a collector.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum LeafProfile {
    /// TLS client (a Collector exporter, an SDK): EKU clientAuth.
    Client,
    /// TLS server (a gateway or backend receiver): EKU serverAuth.
    Server,
    /// Both, issued on purpose for a gateway that uses one certificate for its receiver and
    /// its exporter: EKU serverAuth + clientAuth.
    ServerAndClient,
}

impl LeafProfile {
    /// `server`, `client` or `server+client`.
    pub fn name(self) -> &'static str {
        match self {
            LeafProfile::Client => "client",
            LeafProfile::Server => "server",
            LeafProfile::ServerAndClient => "server+client",
        }
    }

    fn extended_key_usages(self) -> Vec<ExtendedKeyUsagePurpose> {
        match self {
            LeafProfile::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            LeafProfile::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            LeafProfile::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        }
    }
}

/// What a new CA should look like.
#[derive(Clone, Debug)]
pub struct CaRequest {
    /// Subject common name, e.g. `OTel Telemetry CA`.
    pub common_name: String,
    /// Validity window.
    pub validity: Validity,
}

/// What a new leaf should look like.
#[derive(Clone, Debug)]
pub struct LeafRequest {
    /// Server, client or both.
    pub profile: LeafProfile,
    /// Subject common name (cosmetic for TLS: Go never matches it).
    pub common_name: String,
    /// Subject alternative names; required for servers.
    pub sans: Vec<San>,
    /// Validity window.
    pub validity: Validity,
}

/// A certificate and its key, fresh from signing.
#[derive(Debug)]
pub struct Issued {
    /// The new private key.
    pub key: PrivateKey,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
}

impl Issued {
    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        certificate::to_pem("CERTIFICATE", &self.certificate_der)
    }
}

/// A CA that can sign: its certificate and key, checked to belong together and to be a CA.
///
/// What signing and the self-check need from the CA certificate is read from it once, when
/// the CA is made, not for every leaf (a fleet signs a thousand): rcgen's issuer (subject,
/// key identifier, key usages, with the key), the subject's bytes, the subject key
/// identifier and, on first use, the certificate as rustls-webpki's trust anchor.
#[derive(Debug)]
pub struct Ca {
    certificate_der: Vec<u8>,
    certificate_path: String,
    issuer: Issuer<'static, CaKey>,
    subject_der: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
    anchor: OnceLock<Result<TrustAnchor<'static>, String>>,
    not_after: OffsetDateTime,
    not_before: OffsetDateTime,
}

/// The CA's key as rcgen's signing key, owned by the CA's [`Issuer`].
struct CaKey(PrivateKey);

impl rcgen::PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        self.0.pair().der_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        rcgen::PublicKeyData::algorithm(self.0.pair())
    }
}

impl rcgen::SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.pair().sign(msg)
    }
}

/// Validates a common name: 1 to 64 characters (RFC 5280 ub-common-name), no control
/// characters.
pub fn common_name(flag: &'static str, input: &str) -> Result<String, PkiError> {
    let invalid = |reason| PkiError::InvalidCommonName {
        flag,
        input: input.to_owned(),
        reason,
    };
    let name = input.trim();
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.chars().count() > 64 {
        return Err(invalid("it is longer than 64 characters (RFC 5280 limit)"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    Ok(name.to_owned())
}

/// Creates a self-signed root CA: v3, basicConstraints CA:TRUE pathlen 0 (critical), keyUsage
/// keyCertSign + cRLSign (critical), subject key identifier, and no extended key usage (Go
/// enforces EKUs down the chain, so an EKU on the CA would restrict every leaf).
pub fn create_ca(request: &CaRequest, key: PrivateKey) -> Result<Ca, PkiError> {
    // pathlen 0: this CA signs leaves only; an intermediate would need a new CA anyway.
    create_ca_with_path_len(request, key, 0)
}

/// Creates a self-signed root CA like [`create_ca`] whose basicConstraints pathlen is
/// `path_len`: 0 signs leaves only; 1 may also sign one level of intermediate CAs, such as
/// the one `k8s cert-manager --intermediate` hands to cert-manager so that the root key can
/// stay offline.
pub fn create_ca_with_path_len(
    request: &CaRequest,
    key: PrivateKey,
    path_len: u8,
) -> Result<Ca, PkiError> {
    let params = ca_params(request, path_len)?;
    let certificate = params
        .self_signed(key.pair())
        .map_err(|error| PkiError::Generate {
            what: "CA certificate",
            reason: error.to_string(),
        })?;
    Ca::new(certificate.der().to_vec(), "ca.crt", key)
}

/// The CA profile, shared by roots and intermediates: a unique subject, CA:TRUE with
/// `path_len`, keyUsage keyCertSign + cRLSign, key identifiers, no EKU.
fn ca_params(request: &CaRequest, path_len: u8) -> Result<CertificateParams, PkiError> {
    let mut params = base_params(&request.common_name, request.validity)?;
    // A random serialNumber attribute (X.520's disambiguator) makes every CA's subject
    // unique. Verifiers look issuers up by subject: with two CAs named "OTel Telemetry CA"
    // (a regenerated set, or old and new CA during a rollover) a wrong CA shows up as a
    // confusing signature failure; with distinct subjects it is a plain "unknown
    // authority" and `verify` can name the CA that signed it.
    params.distinguished_name.push(
        DnType::CustomDnType(vec![2, 5, 4, 5]),
        rcgen::DnValue::PrintableString(
            rcgen::string::PrintableString::try_from(random_hex(4)?).map_err(|error| {
                PkiError::Generate {
                    what: "CA subject",
                    reason: error.to_string(),
                }
            })?,
        ),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

impl Ca {
    /// Pairs a CA certificate with its key, refusing certificates that are not CAs
    /// (basicConstraints CA:TRUE and keyUsage keyCertSign) and keys that do not match.
    pub fn new(
        certificate_der: Vec<u8>,
        certificate_path: &str,
        key: PrivateKey,
    ) -> Result<Self, PkiError> {
        let not_a_ca = |reason: &str| PkiError::NotACa {
            path: certificate_path.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = certificate::parse(&certificate_der).map_err(|reason| {
            PkiError::InvalidCertificate {
                path: certificate_path.to_owned(),
                reason,
            }
        })?;
        match parsed.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {}
            Ok(_) => {
                return Err(not_a_ca(
                    "basicConstraints CA:TRUE is missing (it is a leaf certificate); pass the CA certificate, usually `ca.crt`",
                ));
            }
            Err(_) => return Err(not_a_ca("its basicConstraints extension is malformed")),
        }
        match parsed.key_usage() {
            Ok(Some(usage)) if usage.value.key_cert_sign() => {}
            Ok(Some(_)) => return Err(not_a_ca("its keyUsage does not include keyCertSign")),
            Ok(None) => {
                return Err(not_a_ca(
                    "it has no keyUsage extension (RFC 5280 requires keyCertSign on a CA)",
                ));
            }
            Err(_) => return Err(not_a_ca("its keyUsage extension is malformed")),
        }
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::KeyMismatch {
                key_path: certificate_path.replace(".crt", ".key"),
                cert_path: certificate_path.to_owned(),
            });
        }
        check_issuer_name_is_reproducible(&parsed, certificate_path)?;
        check_critical_extensions_are_known(&parsed, certificate_path)?;
        let not_before = parsed.validity().not_before.to_datetime();
        let not_after = parsed.validity().not_after.to_datetime();
        let subject_der = parsed.subject().as_raw().to_vec();
        let subject_key_id =
            parsed
                .extensions()
                .iter()
                .find_map(|extension| match extension.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                    _ => None,
                });
        drop(parsed);
        // rcgen reads the issuer name, key identifier and key usages from the certificate;
        // the subject was checked above to be one it reproduces byte for byte.
        let issuer = Issuer::from_ca_cert_der(
            &CertificateDer::from(certificate_der.as_slice()),
            CaKey(key),
        )
        .map_err(|error| PkiError::IssuerName {
            path: certificate_path.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Ca {
            certificate_der,
            certificate_path: certificate_path.to_owned(),
            issuer,
            subject_der,
            subject_key_id,
            anchor: OnceLock::new(),
            not_after,
            not_before,
        })
    }

    /// This CA as rustls-webpki's trust anchor, made on first use.
    fn anchor(&self) -> Result<&TrustAnchor<'static>, PkiError> {
        self.anchor
            .get_or_init(|| {
                webpki::anchor_from_trusted_cert(&CertificateDer::from(
                    self.certificate_der.as_slice(),
                ))
                .map(|anchor| anchor.to_owned())
                .map_err(|error| format!("CA not usable as trust anchor: {error:?}"))
            })
            .as_ref()
            .map_err(|reason| PkiError::SelfCheck {
                reason: reason.clone(),
            })
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        certificate::to_pem("CERTIFICATE", &self.certificate_der)
    }

    /// The CA's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.issuer.key().0
    }

    /// End of the CA's validity: no leaf may outlive it.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Start of the CA's validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The window a leaf asked for with `validity` (as [`Validity::starting_now`] makes
    /// it) gets from this CA, which must be valid for all of it, as strict verifiers
    /// require: a CA whose notBefore is after the moment of issue (`validity.not_before` +
    /// [`BACKDATE`]) is refused, a leaf's back-dated notBefore is moved up to the CA's when
    /// the CA started less than [`BACKDATE`] ago, and a leaf may not outlive the CA (see
    /// [`Ca::issue`]). For `issue`, which signs now; [`Ca::issue`] itself also signs
    /// windows in the past (tests of expired certificates).
    pub fn window_for(&self, validity: Validity) -> Result<Validity, PkiError> {
        let issued_at = validity.not_before + BACKDATE;
        if self.not_before > issued_at {
            let wait = self.not_before - issued_at;
            return Err(PkiError::InvalidCertificate {
                path: self.certificate_path.clone(),
                reason: format!(
                    "as a CA it is not valid until {} (notBefore, {} from now), so a certificate it signed now would be valid before its CA and strict verifiers would reject it; sign with a CA that is valid now",
                    rfc3339(self.not_before),
                    humanize_at_least_a_day(wait)
                ),
            });
        }
        let window = Validity {
            not_before: validity.not_before.max(self.not_before),
            not_after: validity.not_after,
        };
        self.check_window(window)?;
        Ok(window)
    }

    /// The CA key's type, when otel-pki can generate it.
    pub fn key_type(&self) -> Option<super::KeyType> {
        self.key().key_type()
    }

    /// The path the CA was loaded from (for messages).
    pub fn certificate_path(&self) -> &str {
        &self.certificate_path
    }

    /// Signs a leaf for `key`. Leaf profile: v3, basicConstraints CA:FALSE, keyUsage
    /// digitalSignature (+ keyEncipherment for RSA keys only, RFC 5480 has no key transport
    /// with EC keys), the profile's single-purpose EKU, SANs, subject and authority key
    /// identifiers, a random positive 128-bit serial. The result is verified (issuer bytes,
    /// signature, and a rustls-webpki path check for its purpose and names) before it is
    /// returned, so a bad certificate is never written.
    pub fn issue(&self, request: &LeafRequest, key: PrivateKey) -> Result<Issued, PkiError> {
        self.check_window(request.validity)?;
        if request.profile != LeafProfile::Client && !request.sans.iter().any(San::is_host) {
            return Err(PkiError::InvalidSan {
                input: String::new(),
                reason: "a server certificate needs at least one DNS name or IP address; Go ignores the common name".into(),
            });
        }
        let params = leaf_params(request, key.key_type().is_some_and(super::KeyType::is_rsa))?;
        let certificate_der = self.sign(&params, key.pair(), "certificate")?;
        self.self_check(&certificate_der, request)?;
        Ok(Issued {
            key,
            certificate_der,
        })
    }

    /// Signs a leaf for a public key whose private key stays elsewhere (a CSR's
    /// SubjectPublicKeyInfo, DER), with the same profile and checks as [`Ca::issue`].
    pub fn issue_for_public_key(
        &self,
        request: &LeafRequest,
        subject_public_key_info: &[u8],
    ) -> Result<Vec<u8>, PkiError> {
        self.check_window(request.validity)?;
        if request.profile != LeafProfile::Client && !request.sans.iter().any(San::is_host) {
            return Err(PkiError::InvalidSan {
                input: String::new(),
                reason: "a server certificate needs at least one DNS name or IP address; Go ignores the common name".into(),
            });
        }
        let public_key =
            rcgen::SubjectPublicKeyInfo::from_der(subject_public_key_info).map_err(|error| {
                PkiError::Generate {
                    what: "certificate",
                    reason: format!("unsupported public key: {error}"),
                }
            })?;
        let is_rsa = rcgen::PublicKeyData::algorithm(&public_key) == &rcgen::PKCS_RSA_SHA256;
        let params = leaf_params(request, is_rsa)?;
        let certificate_der = self.sign(&params, &public_key, "certificate")?;
        self.self_check(&certificate_der, request)?;
        Ok(certificate_der)
    }

    /// Refuses a validity window that starts after this CA expired or ends after it.
    fn check_window(&self, validity: Validity) -> Result<(), PkiError> {
        let issued_at = validity.not_before + BACKDATE;
        if self.not_after <= issued_at {
            return Err(PkiError::CaExpired {
                path: self.certificate_path.clone(),
                not_after: rfc3339(self.not_after),
            });
        }
        if validity.not_after > self.not_after {
            let excess = validity.not_after - self.not_after;
            return Err(PkiError::OutlivesCa {
                ca_path: self.certificate_path.clone(),
                ca_not_after: rfc3339(self.not_after),
                excess: humanize_at_least_a_day(excess),
                max_days: (self.not_after - issued_at).whole_days(),
                not_after: rfc3339(validity.not_after),
            });
        }
        Ok(())
    }

    /// The basicConstraints pathlen of this CA: `Some(0)` signs leaves only, `None` is
    /// unlimited.
    pub fn path_len(&self) -> Option<u32> {
        certificate::parse(&self.certificate_der)
            .ok()
            .and_then(|parsed| {
                parsed
                    .basic_constraints()
                    .ok()
                    .flatten()
                    .map(|bc| bc.value.path_len_constraint)
            })
            .flatten()
    }

    /// Signs an intermediate CA for `key` (the CA profile with pathlen 0: it signs leaves
    /// only), to be stored as `certificate_path`. This CA's pathlen must allow it (otel-pki
    /// roots have pathlen 0 unless made with `init --ca-path-len 1`). The result is checked
    /// like a leaf (exact issuer bytes, signature) and then as a chain: a probe leaf signed
    /// by the intermediate must validate up to this CA with rustls-webpki.
    pub fn issue_intermediate(
        &self,
        request: &CaRequest,
        key: PrivateKey,
        certificate_path: &str,
    ) -> Result<Ca, PkiError> {
        if self.path_len() == Some(0) {
            return Err(PkiError::PathLenZero {
                path: self.certificate_path.clone(),
            });
        }
        self.check_window(request.validity)?;
        let params = ca_params(request, 0)?;
        let certificate_der = self.sign(&params, key.pair(), "intermediate CA certificate")?;
        let intermediate = Ca::new(certificate_der, certificate_path, key)?;
        intermediate.check_chain(&self.certificate_der)?;
        Ok(intermediate)
    }

    /// Checks that this (intermediate) CA chains to `root_der`: its issuer is the root's
    /// subject byte for byte, its signature verifies with the root's key, and a probe leaf
    /// it signs validates up to the root with rustls-webpki (which enforces the root's
    /// pathlen and both validity windows).
    pub fn check_chain(&self, root_der: &[u8]) -> Result<(), PkiError> {
        let failed = |reason: String| PkiError::SelfCheck { reason };
        let root = certificate::parse(root_der).map_err(failed)?;
        let this = certificate::parse(&self.certificate_der).map_err(failed)?;
        if this.issuer().as_raw() != root.subject().as_raw() {
            return Err(failed(format!(
                "`{}` was not issued by the root CA (issuer `{}`, root `{}`)",
                self.certificate_path,
                this.issuer(),
                root.subject()
            )));
        }
        this.verify_signature(Some(root.public_key()))
            .map_err(|error| {
                failed(format!(
                    "`{}` does not verify with the root CA's key: {error}",
                    self.certificate_path
                ))
            })?;
        let start = self
            .not_before
            .max(root.validity().not_before.to_datetime())
            .max(OffsetDateTime::now_utc() - BACKDATE);
        let end = self.not_after.min(root.validity().not_after.to_datetime());
        if start + Duration::minutes(1) >= end {
            return Err(PkiError::CaExpired {
                path: self.certificate_path.clone(),
                not_after: rfc3339(end),
            });
        }
        let window = Validity::between(start, start + Duration::minutes(1));
        let probe = self.issue(
            &LeafRequest {
                profile: LeafProfile::Client,
                common_name: "otel-pki chain probe".into(),
                sans: Vec::new(),
                validity: window,
            },
            PrivateKey::generate(super::KeyType::EcdsaP256)?,
        )?;
        let at = window.not_before + Duration::seconds(1);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(at.unix_timestamp()).unwrap_or_default(),
        ));
        let anchor_der = CertificateDer::from(root_der);
        let anchor = webpki::anchor_from_trusted_cert(&anchor_der)
            .map_err(|error| failed(format!("root CA not usable as trust anchor: {error:?}")))?;
        let intermediate = CertificateDer::from(self.certificate_der.as_slice());
        let leaf_der = CertificateDer::from(probe.certificate_der.as_slice());
        webpki::EndEntityCert::try_from(&leaf_der)
            .map_err(|error| failed(format!("probe leaf not parsable: {error:?}")))?
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                std::slice::from_ref(&anchor),
                std::slice::from_ref(&intermediate),
                time,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .map_err(|error| {
                failed(format!(
                    "a leaf signed by `{}` does not validate up to the root CA: {error:?}",
                    self.certificate_path
                ))
            })?;
        Ok(())
    }

    /// Signs `params` for `key` with this CA; the issuer name and authority key identifier
    /// come from the CA certificate itself.
    fn sign(
        &self,
        params: &CertificateParams,
        public_key: &impl rcgen::PublicKeyData,
        what: &'static str,
    ) -> Result<Vec<u8>, PkiError> {
        let certificate = params
            .signed_by(public_key, &self.issuer)
            .map_err(|error| PkiError::Generate {
                what,
                reason: error.to_string(),
            })?;
        Ok(certificate.der().to_vec())
    }

    /// Checks a freshly signed leaf the way its peers will: exact issuer bytes (Go looks
    /// parents up by them), AKI = CA SKI, and the signature. When the leaf and the CA are
    /// valid at a common instant, a rustls-webpki path validation for its purpose and every
    /// host name checks the signature (as part of the path, once per purpose); otherwise
    /// (a leaf deliberately outside the CA's window) x509-parser checks it alone. Each
    /// signature is verified once: an ECDSA verification costs more than signing.
    fn self_check(&self, certificate_der: &[u8], request: &LeafRequest) -> Result<(), PkiError> {
        let failed = |reason: String| PkiError::SelfCheck { reason };
        let leaf = certificate::parse(certificate_der).map_err(failed)?;
        if leaf.issuer().as_raw() != self.subject_der.as_slice() {
            return Err(PkiError::IssuerName {
                path: self.certificate_path.clone(),
                reason: "its subject could not be copied byte for byte into the leaf's issuer"
                    .into(),
            });
        }
        let authority_key_id =
            leaf.extensions()
                .iter()
                .find_map(|extension| match extension.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref(),
                    _ => None,
                });
        if let (Some(ski), Some(aki)) = (&self.subject_key_id, authority_key_id)
            && ski.as_slice() != aki.0
        {
            return Err(failed(format!(
                "authority key id {} is not the CA's key id {}",
                hex(aki.0, ":"),
                hex(ski, ":")
            )));
        }
        let start = request.validity.not_before.max(self.not_before);
        let end = request.validity.not_after.min(self.not_after);
        if start >= end {
            // Deliberately outside the CA's window (tests of expired leaves): no instant at
            // which a path validates, so the signature is checked on its own.
            let ca = certificate::parse(&self.certificate_der).map_err(failed)?;
            return leaf
                .verify_signature(Some(ca.public_key()))
                .map_err(|error| {
                    failed(format!(
                        "signature does not verify with the CA key: {error}"
                    ))
                });
        }
        let at = start + Duration::seconds(1);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(at.unix_timestamp()).unwrap_or_default(),
        ));
        let anchor = self.anchor()?;
        let leaf_der = CertificateDer::from(certificate_der);
        let end_entity = webpki::EndEntityCert::try_from(&leaf_der)
            .map_err(|error| failed(format!("leaf not parsable by webpki: {error:?}")))?;
        let usages: &[webpki::KeyUsage] = match request.profile {
            LeafProfile::Server => &[webpki::KeyUsage::server_auth()],
            LeafProfile::Client => &[webpki::KeyUsage::client_auth()],
            LeafProfile::ServerAndClient => &[
                webpki::KeyUsage::server_auth(),
                webpki::KeyUsage::client_auth(),
            ],
        };
        for usage in usages {
            end_entity
                .verify_for_usage(
                    webpki::ALL_VERIFICATION_ALGS,
                    std::slice::from_ref(anchor),
                    &[],
                    time,
                    usage,
                    None,
                    None,
                )
                .map_err(|error| {
                    failed(match error {
                        webpki::Error::InvalidSignatureForPublicKey => format!(
                            "signature does not verify with the CA key (rustls-webpki: {error:?})"
                        ),
                        _ => format!("rustls-webpki rejected it: {error:?}"),
                    })
                })?;
        }
        for san in &request.sans {
            let host = match san {
                San::Dns(name) => name.replace('*', "wildcard-probe"),
                San::Ip(ip) => ip.to_string(),
                _ => continue,
            };
            let server_name = ServerName::try_from(host.as_str())
                .map_err(|_| failed(format!("`{host}` is not a name rustls accepts")))?;
            end_entity
                .verify_is_valid_for_subject_name(&server_name)
                .map_err(|error| failed(format!("not valid for `{host}`: {error:?}")))?;
        }
        Ok(())
    }
}

/// The leaf profile: not a CA, keyUsage digitalSignature (+ keyEncipherment for RSA keys
/// only, RFC 5480 has no key transport with EC keys), the profile's EKU, SANs, AKI.
fn leaf_params(request: &LeafRequest, is_rsa: bool) -> Result<CertificateParams, PkiError> {
    let mut params = base_params(&request.common_name, request.validity)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if is_rsa {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    params.extended_key_usages = request.profile.extended_key_usages();
    params.subject_alt_names = request
        .sans
        .iter()
        .map(San::to_rcgen)
        .collect::<Result<_, _>>()?;
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Parameters shared by every certificate: explicit validity (rcgen's default runs to
/// 4096), a CN-only subject, a random serial.
fn base_params(common_name: &str, validity: Validity) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// 16 random bytes with the top bit cleared: positive (Go rejects negative serials since
/// 1.23), well under RFC 5280's 20 octets, and unique without a database. rcgen's fallback
/// hashes the public key, which repeats when a key is reused.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Generate {
        what: "serial number",
        reason: "the system random source failed".into(),
    })?;
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        // A leading zero byte would be dropped by DER; keep the serial 16 bytes long.
        bytes[0] = 0x01;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

/// `bytes` random bytes as lower-case hex.
fn random_hex(bytes: usize) -> Result<String, PkiError> {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).map_err(|_| PkiError::Generate {
        what: "random identifier",
        reason: "the system random source failed".into(),
    })?;
    Ok(hex(&buffer, ""))
}

/// rcgen rebuilds the issuer name from the parsed CA subject. That is exact for CN-only
/// subjects (ours) and other single-valued RDNs with distinct attribute types; refuse the
/// rest up front (rcgen would fail or panic) with a message that says why.
fn check_issuer_name_is_reproducible(
    certificate: &x509_parser::certificate::X509Certificate<'_>,
    path: &str,
) -> Result<(), PkiError> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let refuse = |reason: &str| PkiError::IssuerName {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut seen = Vec::new();
    for rdn in certificate.subject().iter() {
        let mut attributes = rdn.iter();
        let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
            return Err(refuse("its subject has an empty or multi-valued RDN"));
        };
        let oid = attribute.attr_type().to_id_string();
        if seen.contains(&oid) {
            return Err(refuse(&format!("its subject repeats the attribute {oid}")));
        }
        seen.push(oid);
        if !matches!(
            attribute.attr_value().header.tag(),
            Tag::PrintableString
                | Tag::Utf8String
                | Tag::Ia5String
                | Tag::BmpString
                | Tag::T61String
                | Tag::UniversalString
        ) {
            return Err(refuse(
                "its subject uses a string type rcgen cannot reproduce",
            ));
        }
    }
    Ok(())
}

/// Extensions OpenSSL and Go both process when a certificate marks them critical: keyUsage,
/// subjectAltName, basicConstraints, nameConstraints, certificatePolicies, policyMappings,
/// policyConstraints, extKeyUsage, inhibitAnyPolicy. OpenSSL rejects any other critical
/// extension ("unhandled critical extension", X509_supported_extension) and so does Go
/// (`x509: unhandled critical extension`), for the certificate and for every one it signs.
const KNOWN_CRITICAL_EXTENSIONS: [&str; 9] = [
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.36",
    "2.5.29.37",
    "2.5.29.54",
];

/// Refuses a CA with a critical extension the strict verifiers do not know: every leaf it
/// signs would fail there.
fn check_critical_extensions_are_known(
    certificate: &x509_parser::certificate::X509Certificate<'_>,
    path: &str,
) -> Result<(), PkiError> {
    let unknown: Vec<String> = certificate
        .extensions()
        .iter()
        .filter(|extension| extension.critical)
        .map(|extension| extension.oid.to_id_string())
        .filter(|oid| !KNOWN_CRITICAL_EXTENSIONS.contains(&oid.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(PkiError::InvalidCertificate {
        path: path.to_owned(),
        reason: format!(
            "as a CA it marks extension {} critical, which OpenSSL (\"unhandled critical extension\") and Go do not know, so they would reject every certificate it signs; sign with a CA without it",
            unknown.join(", ")
        ),
    })
}

fn humanize_at_least_a_day(duration: Duration) -> String {
    if duration < Duration::days(1) {
        humanize(duration)
    } else {
        // Nearest whole day: the seconds between reading the clock twice do not count.
        humanize(Duration::days(
            (duration + Duration::hours(12)).whole_days(),
        ))
    }
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// True when the certificate `der` was signed by the CA certificate `ca_der`: its issuer is
/// the CA's subject byte for byte and its signature verifies with the CA's key.
pub fn signed_by(der: &[u8], ca_der: &[u8]) -> bool {
    let (Ok(certificate), Ok(ca)) = (certificate::parse(der), certificate::parse(ca_der)) else {
        return false;
    };
    certificate.issuer().as_raw() == ca.subject().as_raw()
        && certificate.verify_signature(Some(ca.public_key())).is_ok()
}

/// The serial number of a DER certificate as colon hex (for messages and reports).
pub fn serial_of(certificate_der: &[u8]) -> Option<String> {
    certificate::parse(certificate_der)
        .ok()
        .map(|certificate| hex(certificate.raw_serial(), ":"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{KeyType, Lifetime};

    /// One instant for the whole test binary, so that day arithmetic is exact.
    fn now() -> OffsetDateTime {
        static NOW: std::sync::LazyLock<OffsetDateTime> =
            std::sync::LazyLock::new(OffsetDateTime::now_utc);
        *NOW
    }

    fn ca() -> Ca {
        let request = CaRequest {
            common_name: "Test CA".into(),
            validity: Validity::starting_now(now(), Lifetime::days(30)),
        };
        create_ca(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap()).unwrap()
    }

    fn server_request(days: i64) -> LeafRequest {
        LeafRequest {
            profile: LeafProfile::Server,
            common_name: "localhost".into(),
            sans: San::parse_list("localhost,127.0.0.1,::1,*.svc.example").unwrap(),
            validity: Validity::starting_now(now(), Lifetime::days(days)),
        }
    }

    #[test]
    fn ca_profile_is_exact() {
        let ca = ca();
        let summary =
            certificate::CertSummary::new(ca.certificate_der(), "ca.crt", 0, now()).unwrap();
        assert_eq!(summary.role, certificate::Role::Ca);
        assert_eq!(summary.key_usage, ["keyCertSign", "cRLSign"]);
        assert!(summary.extended_key_usage.is_empty());
        let bc = summary.basic_constraints.unwrap();
        assert!(bc.ca && bc.critical);
        assert_eq!(bc.path_len, Some(0));
        assert!(summary.subject_key_id.is_some());
        assert!(summary.self_signed);
        assert_eq!(summary.version, 3);
    }

    #[test]
    fn leaf_profiles_have_one_purpose_each() {
        let ca = ca();
        let server = ca
            .issue(
                &server_request(7),
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        let summary =
            certificate::CertSummary::new(&server.certificate_der, "s.crt", 0, now()).unwrap();
        assert_eq!(summary.role, certificate::Role::Server);
        assert_eq!(summary.extended_key_usage, ["serverAuth"]);
        assert_eq!(summary.key_usage, ["digitalSignature"]);
        assert_eq!(summary.sans.ip, ["127.0.0.1", "::1"]);
        let bc = summary.basic_constraints.unwrap();
        assert!(!bc.ca);
        let ca_summary = certificate::CertSummary::new(ca.certificate_der(), "", 0, now()).unwrap();
        assert_eq!(summary.authority_key_id, ca_summary.subject_key_id);
        assert_eq!(summary.serial.len(), 16 * 3 - 1);
        assert!(u8::from_str_radix(&summary.serial[..2], 16).unwrap() < 0x80);

        let mut request = server_request(7);
        request.profile = LeafProfile::Client;
        request.sans.clear();
        let client = ca
            .issue(&request, PrivateKey::generate(KeyType::Rsa2048).unwrap())
            .unwrap();
        let summary =
            certificate::CertSummary::new(&client.certificate_der, "c.crt", 0, now()).unwrap();
        assert_eq!(summary.role, certificate::Role::Client);
        assert_eq!(summary.key_usage, ["digitalSignature", "keyEncipherment"]);
    }

    #[test]
    fn a_leaf_may_not_outlive_its_ca() {
        let error = ca()
            .issue(
                &server_request(45),
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("15 days after its CA"), "{message}");
        assert!(message.contains("--validity 30d"), "{message}");
    }

    #[test]
    fn servers_need_a_host_name() {
        let mut request = server_request(1);
        request.sans = San::parse_list("URI:spiffe://x/y").unwrap();
        assert!(
            ca().issue(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap())
                .is_err()
        );
    }

    #[test]
    fn a_leaf_is_not_a_ca_and_a_wrong_key_is_refused() {
        let ca = ca();
        let leaf = ca
            .issue(
                &server_request(1),
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        let error = Ca::new(leaf.certificate_der.clone(), "server.crt", leaf.key).unwrap_err();
        assert!(
            error.to_string().contains("not a CA certificate"),
            "{error}"
        );
        let error = Ca::new(
            ca.certificate_der().to_vec(),
            "ca.crt",
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap_err();
        assert!(matches!(error, PkiError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn an_intermediate_needs_a_root_that_allows_one() {
        let request = CaRequest {
            common_name: "Cluster CA".into(),
            validity: Validity::starting_now(now(), Lifetime::days(10)),
        };
        let error = ca()
            .issue_intermediate(
                &request,
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
                "intermediate-ca.crt",
            )
            .unwrap_err();
        assert!(matches!(error, PkiError::PathLenZero { .. }), "{error}");
        assert!(error.to_string().contains("--ca-path-len 1"), "{error}");

        let root = create_ca_with_path_len(
            &CaRequest {
                common_name: "Root".into(),
                validity: Validity::starting_now(now(), Lifetime::days(30)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            1,
        )
        .unwrap();
        assert_eq!(root.path_len(), Some(1));
        let intermediate = root
            .issue_intermediate(
                &request,
                PrivateKey::generate(KeyType::EcdsaP384).unwrap(),
                "intermediate-ca.crt",
            )
            .unwrap();
        let summary =
            certificate::CertSummary::new(intermediate.certificate_der(), "", 0, now()).unwrap();
        let root_summary =
            certificate::CertSummary::new(root.certificate_der(), "", 0, now()).unwrap();
        assert_eq!(summary.role, certificate::Role::Ca);
        assert!(!summary.self_signed);
        assert_eq!(summary.basic_constraints.unwrap().path_len, Some(0));
        assert_eq!(summary.key_usage, ["keyCertSign", "cRLSign"]);
        assert!(summary.extended_key_usage.is_empty());
        assert_eq!(summary.authority_key_id, root_summary.subject_key_id);
        assert_eq!(summary.issuer, root_summary.subject);
        intermediate.check_chain(root.certificate_der()).unwrap();
        // Leaves signed by the intermediate validate up to the root; another root refuses.
        let error = intermediate
            .check_chain(ca().certificate_der())
            .unwrap_err();
        assert!(
            error.to_string().contains("not issued by the root"),
            "{error}"
        );
        // And the intermediate itself may not outlive the root.
        let error = root
            .issue_intermediate(
                &CaRequest {
                    common_name: "Too long".into(),
                    validity: Validity::starting_now(now(), Lifetime::days(31)),
                },
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
                "intermediate-ca.crt",
            )
            .unwrap_err();
        assert!(matches!(error, PkiError::OutlivesCa { .. }), "{error}");
    }

    #[test]
    fn a_ca_must_be_valid_for_the_whole_window_of_the_leaf() {
        let future = create_ca(
            &CaRequest {
                common_name: "Future CA".into(),
                validity: Validity::between(now() + Duration::days(30), now() + Duration::days(90)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
        let error = future
            .window_for(Validity::starting_now(now(), Lifetime::days(7)))
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("not valid until"), "{message}");
        assert!(message.contains("30 days from now"), "{message}");

        // A CA that started a minute ago: the leaf's back-dated notBefore moves up to it.
        let fresh = create_ca(
            &CaRequest {
                common_name: "Fresh CA".into(),
                validity: Validity::between(
                    now() - Duration::minutes(1),
                    now() + Duration::days(9),
                ),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
        let asked = Validity::starting_now(now(), Lifetime::days(7));
        let window = fresh.window_for(asked).unwrap();
        assert_eq!(window.not_before, fresh.not_before());
        assert_eq!(window.not_after, asked.not_after);
        assert!(matches!(
            fresh.window_for(Validity::starting_now(now(), Lifetime::days(10))),
            Err(PkiError::OutlivesCa { .. })
        ));
        // The usual case is unchanged.
        assert_eq!(ca().window_for(asked).unwrap(), asked);
    }

    #[test]
    fn a_ca_with_an_unknown_critical_extension_is_refused() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let mut params = ca_params(
            &CaRequest {
                common_name: "Odd CA".into(),
                validity: Validity::starting_now(now(), Lifetime::days(30)),
            },
            0,
        )
        .unwrap();
        let mut extension = rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 55555, 1],
            vec![0x05, 0x00],
        );
        extension.set_criticality(true);
        params.custom_extensions = vec![extension];
        let der = params.self_signed(key.pair()).unwrap().der().to_vec();
        let error = Ca::new(der, "odd.crt", key).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("1.3.6.1.4.1.55555.1")
                && message.contains("unhandled critical extension"),
            "{message}"
        );
    }

    #[test]
    fn the_self_check_rejects_a_bad_signature_issuer_usage_or_name() {
        let ca = ca();
        let request = server_request(7);
        let leaf = ca
            .issue(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap())
            .unwrap();
        ca.self_check(&leaf.certificate_der, &request).unwrap();

        // A signature that does not verify: the last byte is the end of the signature.
        let mut tampered = leaf.certificate_der.clone();
        *tampered.last_mut().unwrap() ^= 0x01;
        let error = ca.self_check(&tampered, &request).unwrap_err();
        assert!(
            error.to_string().contains("signature does not verify"),
            "{error}"
        );

        // Another CA's leaf: its issuer is not this CA's subject.
        let other = ca_issued(&request);
        let error = ca.self_check(&other, &request).unwrap_err();
        assert!(matches!(error, PkiError::IssuerName { .. }), "{error}");

        // A client certificate is no server certificate.
        let mut client_request = server_request(7);
        client_request.profile = LeafProfile::Client;
        let client = ca
            .issue(
                &client_request,
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        let error = ca
            .self_check(&client.certificate_der, &request)
            .unwrap_err();
        assert!(
            error.to_string().contains("rustls-webpki rejected it"),
            "{error}"
        );

        // A name the certificate does not hold.
        let mut other_name = server_request(7);
        other_name.sans.push(San::Dns("other.example".into()));
        let error = ca
            .self_check(&leaf.certificate_der, &other_name)
            .unwrap_err();
        assert!(
            error.to_string().contains("not valid for `other.example`"),
            "{error}"
        );
    }

    /// A leaf for `request` from a new CA.
    fn ca_issued(request: &LeafRequest) -> Vec<u8> {
        ca().issue(request, PrivateKey::generate(KeyType::EcdsaP256).unwrap())
            .unwrap()
            .certificate_der
    }

    #[test]
    fn the_self_check_rejects_a_wrong_authority_key_id() {
        let params = ca_params(
            &CaRequest {
                common_name: "Test CA".into(),
                validity: Validity::starting_now(now(), Lifetime::days(30)),
            },
            0,
        )
        .unwrap();
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let der = params.self_signed(key.pair()).unwrap().der().to_vec();
        let ca = Ca::new(der, "ca.crt", key).unwrap();
        // The same subject and key, another key identifier: issuer bytes and signature
        // are right, the authority key identifier is not.
        let mut other = params.clone();
        other.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![0xab; 20]);
        let issuer = Issuer::new(other, ca.key().pair());
        let request = server_request(7);
        let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let leaf = leaf_params(&request, false)
            .unwrap()
            .signed_by(leaf_key.pair(), &issuer)
            .unwrap()
            .der()
            .to_vec();
        let error = ca.self_check(&leaf, &request).unwrap_err();
        assert!(
            error.to_string().contains("authority key id ab:ab"),
            "{error}"
        );
        // Signed with the CA's own issuer, the same leaf passes.
        let leaf = ca
            .sign(
                &leaf_params(&request, false).unwrap(),
                leaf_key.pair(),
                "certificate",
            )
            .unwrap();
        ca.self_check(&leaf, &request).unwrap();
    }

    #[test]
    fn outside_the_ca_window_the_signature_is_still_checked() {
        let ca = ca();
        // Valid only before the CA was: no instant for a path validation.
        let request = LeafRequest {
            profile: LeafProfile::Client,
            common_name: "expired".into(),
            sans: Vec::new(),
            validity: Validity::between(now() - Duration::days(20), now() - Duration::days(10)),
        };
        let leaf = ca
            .issue(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap())
            .unwrap();
        let mut tampered = leaf.certificate_der.clone();
        *tampered.last_mut().unwrap() ^= 0x01;
        let error = ca.self_check(&tampered, &request).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("signature does not verify with the CA key"),
            "{error}"
        );
    }

    #[test]
    fn common_names_are_checked() {
        assert!(common_name("--client-cn", "").is_err());
        assert!(common_name("--client-cn", &"x".repeat(65)).is_err());
        assert!(common_name("--client-cn", "a\nb").is_err());
        assert_eq!(common_name("--client-cn", " otel ").unwrap(), "otel");
    }
}
