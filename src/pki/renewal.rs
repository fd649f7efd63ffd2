//! Renewal: what a renewed certificate keeps from the one it replaces (subject, names in
//! their order, purpose, key type, lifetime as issued), when a certificate is due, and the
//! request for its successor — never beyond the CA's notAfter.
//!
//! A successor cut short to end with its CA carries a shorter lifetime than the one it was
//! asked for. That lifetime is recorded under its serial number ([`RequestedLifetimes`],
//! kept with the set's files), so that its own successor — from a new CA after `ca rotate`
//! — is asked for it again instead of inheriting the shortened one.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;

use super::certificate::{self, PublicKeyInfo, Role, hex};
use super::issue::rfc3339;
use super::lifetime::{Lifetime, Validity, humanize};
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
    /// The lifetime its successor is asked for: the one recorded for it when it was cut
    /// short to end with its CA (see [`LeafTemplate::remember`]), otherwise the one it was
    /// issued with (notAfter − notBefore − the 5-minute back-date).
    pub lifetime: Lifetime,
    /// True when `lifetime` is a recorded one.
    pub lifetime_recorded: bool,
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
    /// The lifetime asked for (`request`'s, unless cut short).
    pub requested: Lifetime,
    /// True when the lifetime was cut short to end with the CA.
    pub clamped: bool,
}

impl Successor {
    /// The warning for a successor cut short by its CA, quoting the lifetime asked for.
    pub fn clamp_warning(&self, name: &str) -> String {
        format!(
            "`{name}` now expires with its CA on {} instead of after {}; rotate the CA with `otel-pki ca rotate --stage`",
            rfc3339(self.request.validity.not_after),
            humanize(self.requested.duration())
        )
    }
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
                    GeneralName::IPAddress(bytes) => match certificate::ip_address(bytes) {
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
        let lifetime = Validity::between(not_before, not_after)
            .issued_lifetime()
            .ok_or_else(|| refuse("its notAfter is not after its notBefore".into()))?;
        Ok(LeafTemplate {
            profile,
            common_name,
            dropped_subject,
            sans,
            key_type: KeyType::of_public_key(&public_key),
            key_description: public_key.description,
            lifetime,
            lifetime_recorded: false,
            not_before,
            not_after,
            serial: hex(parsed.raw_serial(), ":"),
            issuer: parsed.issuer().as_raw().to_vec(),
            issuer_text: parsed.issuer().to_string(),
        })
    }

    /// Takes the lifetime recorded for this certificate, if it was cut short to end with
    /// its CA: its successor is asked for that one again.
    pub fn remember(&mut self, recorded: &RequestedLifetimes) {
        if let Some(lifetime) = recorded.get(&self.serial) {
            self.lifetime = lifetime;
            self.lifetime_recorded = true;
        }
    }

    /// True when the certificate ends exactly with its issuer (`issuer_not_after`) and no
    /// lifetime is recorded for it: it was most likely cut short, and the lifetime it was
    /// asked for is unknown (`lifetime` is the shortened one).
    pub fn cut_short_unrecorded(&self, issuer_not_after: OffsetDateTime) -> bool {
        !self.lifetime_recorded && self.not_after == issuer_not_after
    }

    /// From when the certificate is due: `within` before notAfter, or by default when less
    /// than a third of its lifetime is left (the point cert-manager renews at, 2/3 through).
    pub fn due_from(&self, within: Option<Lifetime>) -> OffsetDateTime {
        let before = within.map_or(self.lifetime.duration() / 3, Lifetime::duration);
        self.not_after - before
    }

    /// The request for the successor, issued `now` with `lifetime` (default: `self.lifetime`),
    /// ending no later than `ca_not_after`.
    pub fn successor(
        &self,
        now: OffsetDateTime,
        lifetime: Option<Lifetime>,
        ca_not_after: OffsetDateTime,
    ) -> Successor {
        let requested = lifetime.unwrap_or(self.lifetime);
        let mut validity = Validity::starting_now(now, requested);
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
            requested,
            clamped,
        }
    }
}

/// The lifetimes certificates were asked for when they were cut short to end with their
/// CA, by serial number. The document kept with a set's files (`generation::META`).
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct RequestedLifetimes {
    /// One entry per certificate cut short.
    #[serde(default)]
    pub requested_lifetimes: Vec<RequestedLifetime>,
}

/// The lifetime one certificate was asked for.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct RequestedLifetime {
    /// Its serial number, colon hex.
    pub serial: String,
    /// `NAME` of `NAME.crt` when it was issued (for people reading the file).
    pub name: String,
    /// The lifetime asked for, e.g. `1y`.
    pub lifetime: Lifetime,
}

impl RequestedLifetimes {
    /// Reads the document; `Err` says why it is not one.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|error| error.to_string())
    }

    /// The document, pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// The lifetime recorded for the certificate with this serial number.
    pub fn get(&self, serial: &str) -> Option<Lifetime> {
        self.requested_lifetimes
            .iter()
            .find(|entry| entry.serial == serial)
            .map(|entry| entry.lifetime)
    }

    /// Records (or replaces) the lifetime asked for a certificate.
    pub fn insert(&mut self, serial: &str, name: &str, lifetime: Lifetime) {
        self.requested_lifetimes
            .retain(|entry| entry.serial != serial);
        self.requested_lifetimes.push(RequestedLifetime {
            serial: serial.to_owned(),
            name: name.to_owned(),
            lifetime,
        });
    }

    /// Keeps only the entries whose serial number `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.requested_lifetimes.retain(|entry| keep(&entry.serial));
    }
}

/// Whole days, rounded to the nearest day, for "expires in N days" lines.
pub fn days(duration: Duration) -> i64 {
    (duration + Duration::hours(12)).whole_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::issue::{CaRequest, create_ca};
    use crate::pki::lifetime::BACKDATE;
    use crate::pki::{Ca, PrivateKey};

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn ca(days: i64) -> Ca {
        ca_at(now(), days)
    }

    fn ca_at(at: OffsetDateTime, days: i64) -> Ca {
        create_ca(
            &CaRequest {
                common_name: "Test CA".into(),
                validity: Validity::starting_now(at, Lifetime::days(days)),
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
    fn a_cut_short_successor_remembers_the_lifetime_asked_for() {
        let ca = ca(100);
        let der = leaf(&ca, LeafProfile::Server, "gw.example", KeyType::EcdsaP256);
        let template = LeafTemplate::of(&der, "gw.crt").unwrap();
        let later = now() + Duration::days(80);
        let successor = template.successor(later, Some(Lifetime::days(200)), ca.not_after());
        assert!(successor.clamped);
        assert_eq!(successor.requested, Lifetime::days(200));
        // The warning quotes what was asked for, not the old certificate's lifetime.
        let warning = successor.clamp_warning("gw");
        assert!(warning.contains("instead of after 200 days"), "{warning}");

        // The cut-short certificate's own lifetime is 20 days; with the record, its
        // successor is asked for 200 days again.
        let short = ca
            .issue(
                &successor.request,
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        let mut cut = LeafTemplate::of(&short.certificate_der, "gw.crt").unwrap();
        assert_eq!(cut.lifetime.whole_days(), 20);
        assert!(cut.cut_short_unrecorded(ca.not_after()));
        let mut records = RequestedLifetimes::default();
        records.insert(&cut.serial, "gw", successor.requested);
        let records = RequestedLifetimes::from_json(&records.to_json()).unwrap();
        cut.remember(&records);
        assert_eq!(cut.lifetime, Lifetime::days(200));
        assert!(!cut.cut_short_unrecorded(ca.not_after()));
        let next_ca = ca_at(later, 400);
        let next = cut.successor(later, None, next_ca.not_after());
        assert!(!next.clamped);
        assert_eq!(
            next.request.validity.issued_lifetime(),
            Some(Lifetime::days(200))
        );
        // Another certificate's record does not apply.
        let mut other = template.clone();
        other.remember(&records);
        assert!(!other.lifetime_recorded);
        let mut pruned = records.clone();
        pruned.retain(|serial| serial != cut.serial);
        assert_eq!(pruned, RequestedLifetimes::default());
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
