//! Renewal: what a renewed certificate keeps from the one it replaces (subject, names in
//! their order, purpose, key type, lifetime as issued), when a certificate is due, and the
//! request for its successor — never beyond the CA's notAfter.

use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;

use super::certificate::{self, PublicKeyInfo, Role, hex};
use super::issue::rfc3339;
use super::lifetime::{BACKDATE, Lifetime, Validity};
use super::{KeyType, LeafProfile, LeafRequest, San};

/// A certificate otel-pki cannot renew as it is, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot renew `{path}`: {reason}")]
pub struct CannotRenew {
    /// The certificate file.
    pub path: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// What a renewed certificate keeps from the one it replaces.
#[derive(Clone, Debug)]
pub struct LeafTemplate {
    /// Server, client or both, from the extended key usage.
    pub profile: LeafProfile,
    /// The subject's common name.
    pub common_name: String,
    /// The full subject when it has more than a common name (only the CN is kept).
    pub dropped_subject: Option<String>,
    /// Subject alternative names in certificate order.
    pub sans: Vec<San>,
    /// The key type, when otel-pki can generate it (not for e.g. P-521 or RSA 1024).
    pub key_type: Option<KeyType>,
    /// The public key, described (`ECDSA P-256`).
    pub key_description: String,
    /// The lifetime it was issued with: notAfter − notBefore − the 5-minute back-date.
    pub lifetime: Lifetime,
    /// Its notBefore.
    pub not_before: OffsetDateTime,
    /// Its notAfter.
    pub not_after: OffsetDateTime,
    /// Its serial number, colon hex.
    pub serial: String,
    /// Its issuer name, DER: the CA that signed it is found by these bytes.
    pub issuer: Vec<u8>,
    /// Its issuer name as text.
    pub issuer_text: String,
}

/// The request for a successor certificate.
#[derive(Clone, Debug)]
pub struct Successor {
    /// What to sign.
    pub request: LeafRequest,
    /// True when the lifetime was cut short to end with the CA.
    pub clamped: bool,
}

impl LeafTemplate {
    /// Reads what a leaf certificate (DER) is. A CA certificate, a certificate without a
    /// TLS purpose and names otel-pki cannot reproduce are refused with the reason.
    pub fn of(der: &[u8], path: &str) -> Result<Self, CannotRenew> {
        let refuse = |reason: String| CannotRenew {
            path: path.to_owned(),
            reason,
        };
        let parsed = certificate::parse(der).map_err(refuse)?;
        let profile = match Role::of(&parsed) {
            Role::Server => LeafProfile::Server,
            Role::Client => LeafProfile::Client,
            Role::ServerClient => LeafProfile::ServerAndClient,
            Role::Ca => {
                return Err(refuse(
                    "it is a CA certificate; rotate a CA with `otel-pki ca rotate --stage`".into(),
                ));
            }
            Role::Other => {
                return Err(refuse(
                    "it has neither extendedKeyUsage serverAuth nor clientAuth, so its purpose is unknown; issue a replacement with `otel-pki issue server|client`".into(),
                ));
            }
        };
        let subject = parsed.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|attribute| attribute.as_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                refuse(
                    "its subject has no common name; issue a replacement with `otel-pki issue`"
                        .into(),
                )
            })?;
        let attributes = subject.iter_attributes().count();
        let dropped_subject = (attributes > 1).then(|| subject.to_string());
        let mut sans = Vec::new();
        if let Ok(Some(extension)) = parsed.subject_alternative_name() {
            for name in &extension.value.general_names {
                let text = match name {
                    GeneralName::DNSName(dns) => format!("DNS:{dns}"),
                    GeneralName::IPAddress(bytes) => match ip_text(bytes) {
                        Some(ip) => format!("IP:{ip}"),
                        None => return Err(refuse("it has a malformed IP address name".into())),
                    },
                    GeneralName::URI(uri) => format!("URI:{uri}"),
                    GeneralName::RFC822Name(email) => format!("email:{email}"),
                    other => {
                        return Err(refuse(format!(
                            "it has a subject alternative name otel-pki cannot reproduce ({other:?}); issue a replacement with `otel-pki issue`"
                        )));
                    }
                };
                sans.push(San::parse(&text).map_err(|error| refuse(error.to_string()))?);
            }
        }
        let public_key = PublicKeyInfo::of(&parsed);
        let not_before = parsed.validity().not_before.to_datetime();
        let not_after = parsed.validity().not_after.to_datetime();
        let span = not_after - not_before;
        let issued = if span > BACKDATE * 2 {
            span - BACKDATE
        } else {
            span
        };
        let lifetime = Lifetime::from_duration(issued.min(Lifetime::MAX.duration()))
            .ok_or_else(|| refuse("its notAfter is not after its notBefore".into()))?;
        Ok(LeafTemplate {
            profile,
            common_name,
            dropped_subject,
            sans,
            key_type: key_type_of(&public_key),
            key_description: public_key.description,
            lifetime,
            not_before,
            not_after,
            serial: hex(parsed.raw_serial(), ":"),
            issuer: parsed.issuer().as_raw().to_vec(),
            issuer_text: parsed.issuer().to_string(),
        })
    }

    /// From when the certificate is due: `within` before notAfter, or by default when less
    /// than a third of its lifetime is left (the point cert-manager renews at, 2/3 through).
    pub fn due_from(&self, within: Option<Lifetime>) -> OffsetDateTime {
        let before = within.map_or(self.lifetime.duration() / 3, Lifetime::duration);
        self.not_after - before
    }

    /// The request for the successor, issued `now` with `lifetime` (default: the lifetime
    /// it was issued with), ending no later than `ca_not_after`.
    pub fn successor(
        &self,
        now: OffsetDateTime,
        lifetime: Option<Lifetime>,
        ca_not_after: OffsetDateTime,
    ) -> Successor {
        let mut validity = Validity::starting_now(now, lifetime.unwrap_or(self.lifetime));
        let clamped = validity.not_after > ca_not_after;
        if clamped {
            validity.not_after = ca_not_after;
        }
        Successor {
            request: LeafRequest {
                profile: self.profile,
                common_name: self.common_name.clone(),
                sans: self.sans.clone(),
                validity,
            },
            clamped,
        }
    }

    /// The warning for a successor cut short by its CA.
    pub fn clamp_warning(&self, name: &str, ca_not_after: OffsetDateTime) -> String {
        format!(
            "`{name}` now expires with its CA on {} instead of after {}; rotate the CA with `otel-pki ca rotate --stage`",
            rfc3339(ca_not_after),
            super::lifetime::humanize(self.lifetime.duration())
        )
    }
}

/// The key type of a public key, when otel-pki can generate that type.
pub fn key_type_of(public_key: &PublicKeyInfo) -> Option<KeyType> {
    match (public_key.algorithm.as_str(), public_key.curve.as_deref()) {
        ("ecdsa", Some("P-256")) => Some(KeyType::EcdsaP256),
        ("ecdsa", Some("P-384")) => Some(KeyType::EcdsaP384),
        ("ed25519", _) => Some(KeyType::Ed25519),
        ("rsa", _) => match public_key.bits {
            2048 => Some(KeyType::Rsa2048),
            3072 => Some(KeyType::Rsa3072),
            4096 => Some(KeyType::Rsa4096),
            _ => None,
        },
        _ => None,
    }
}

/// Whole days, rounded to the nearest day, for "expires in N days" lines.
pub fn days(duration: Duration) -> i64 {
    (duration + Duration::hours(12)).whole_days()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|v4| std::net::Ipv4Addr::from(v4).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|v6| std::net::Ipv6Addr::from(v6).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::issue::{CaRequest, create_ca};
    use crate::pki::{Ca, PrivateKey};

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn ca(days: i64) -> Ca {
        create_ca(
            &CaRequest {
                common_name: "Test CA".into(),
                validity: Validity::starting_now(now(), Lifetime::days(days)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap()
    }

    fn leaf(ca: &Ca, profile: LeafProfile, sans: &str, key_type: KeyType) -> Vec<u8> {
        ca.issue(
            &LeafRequest {
                profile,
                common_name: "gw".into(),
                sans: San::parse_list(sans).unwrap(),
                validity: Validity::starting_now(now(), Lifetime::days(90)),
            },
            PrivateKey::generate(key_type).unwrap(),
        )
        .unwrap()
        .certificate_der
    }

    #[test]
    fn a_template_keeps_names_in_order_purpose_key_type_and_lifetime() {
        let ca = ca(365);
        let der = leaf(
            &ca,
            LeafProfile::ServerAndClient,
            "10.0.0.5,gw.example,URI:spiffe://x/y,::1",
            KeyType::EcdsaP384,
        );
        let template = LeafTemplate::of(&der, "gw.crt").unwrap();
        assert_eq!(template.profile, LeafProfile::ServerAndClient);
        assert_eq!(template.common_name, "gw");
        assert!(template.dropped_subject.is_none());
        let names: Vec<String> = template.sans.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "IP:10.0.0.5",
                "DNS:gw.example",
                "URI:spiffe://x/y",
                "IP:::1"
            ]
        );
        assert_eq!(template.key_type, Some(KeyType::EcdsaP384));
        assert_eq!(template.lifetime, Lifetime::days(90));
        // Default: due when a third of the lifetime is left.
        assert_eq!(
            template.due_from(None),
            template.not_after - Duration::days(30)
        );
        assert_eq!(
            template.due_from(Some(Lifetime::days(7))),
            template.not_after - Duration::days(7)
        );
    }

    #[test]
    fn a_successor_never_outlives_its_ca() {
        let ca = ca(100);
        let der = leaf(&ca, LeafProfile::Server, "gw.example", KeyType::EcdsaP256);
        let template = LeafTemplate::of(&der, "gw.crt").unwrap();
        let later = now() + Duration::days(80);
        let successor = template.successor(later, None, ca.not_after());
        assert!(successor.clamped);
        assert_eq!(successor.request.validity.not_after, ca.not_after());
        let early = template.successor(now(), Some(Lifetime::days(30)), ca.not_after());
        assert!(!early.clamped);
        assert_eq!(
            early.request.validity.not_after - early.request.validity.not_before,
            Duration::days(30) + BACKDATE
        );
    }

    #[test]
    fn cas_and_unknown_purposes_are_refused() {
        let ca = ca(100);
        let error = LeafTemplate::of(ca.certificate_der(), "ca.crt").unwrap_err();
        assert!(error.to_string().contains("ca rotate"), "{error}");
    }

    #[test]
    fn key_types_map_back() {
        for key_type in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
            let ca = ca(100);
            let der = leaf(&ca, LeafProfile::Client, "", key_type);
            assert_eq!(
                LeafTemplate::of(&der, "c.crt").unwrap().key_type,
                Some(key_type)
            );
        }
    }
}
