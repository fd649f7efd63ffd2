//! PKCS#12 keystores and truststores for JVM and .NET programs, built with the
//! `p12-keystore` crate (pure Rust, maintained, and the one that writes both the modern suite
//! and the Java trusted-certificate bag attribute).
//!
//! - [`Protection::Modern`] is what OpenSSL 3 (`openssl pkcs12 -export`) and JDK 17+
//!   `keytool` write: key and certificates encrypted with PBES2 (PBKDF2-HMAC-SHA256,
//!   AES-256-CBC), integrity by an HMAC-SHA256 MAC. JDK 8u301+, 11.0.12+ and 17 read it.
//! - [`Protection::Legacy`] is what `openssl pkcs12 -export -legacy` offers old readers
//!   (JDK 8 before u301, Windows Server 2016, macOS Keychain): pbeWithSHAAnd3-KeyTripleDES-CBC
//!   for key and certificates and an HMAC-SHA1 MAC.
//!
//! A keystore holds one private key entry whose alias (friendlyName) is the leaf's name, with
//! the chain leaf then issuing CA. A truststore holds the CA certificates only, each bag
//! carrying Oracle's trusted-key-usage attribute (2.16.840.1.113894.746875.1.1 =
//! anyExtendedKeyUsage) so `keytool -list` shows a `trustedCertEntry` and JSSE trusts it.
//! Nothing here touches the disk.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12ImportPolicy,
    PrivateKey as P12Key, PrivateKeyChain,
};

use super::PrivateKey;

/// Errors from building or opening a PKCS#12 file; each says which and why.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Pkcs12Error {
    reason: String,
}

/// Key derivation iterations for the encryption and the MAC (JDK's default; OpenSSL 3 uses
/// 2048). A Collector never reads these files, so the cost is paid once per JVM start.
const ITERATIONS: u32 = 10_000;

/// Encoded OID 1.2.840.113549.1.12.1.3 (pbeWithSHAAnd3-KeyTripleDES-CBC), to tell a legacy
/// file from a modern one.
const LEGACY_OID_DER: &[u8] = &[
    0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03,
];

/// How a PKCS#12 file is protected.
#[derive(Clone, Copy, Debug, Eq, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 MAC.
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC (`openssl pkcs12 -legacy`).
    Legacy,
}

impl Protection {
    /// A short description for status lines and reports.
    pub fn description(self) -> &'static str {
        match self {
            Protection::Modern => "PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC",
            Protection::Legacy => "3DES (pbeWithSHAAnd3-KeyTripleDES-CBC), HMAC-SHA1 MAC",
        }
    }

    fn algorithms(self) -> (EncryptionAlgorithm, MacAlgorithm) {
        match self {
            Protection::Modern => (
                EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
                MacAlgorithm::HmacSha256,
            ),
            Protection::Legacy => (
                EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                MacAlgorithm::HmacSha1,
            ),
        }
    }

    /// The protection of an existing file (legacy when any part uses 3DES).
    pub fn of(pkcs12: &[u8]) -> Protection {
        if pkcs12
            .windows(LEGACY_OID_DER.len())
            .any(|window| window == LEGACY_OID_DER)
        {
            Protection::Legacy
        } else {
            Protection::Modern
        }
    }
}

/// A keystore password: UTF-8 (PKCS#12 encodes it as BMPString), not empty.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([elided])")
    }
}

impl Password {
    /// Checks a password read from `source` (named in errors).
    pub fn new(secret: Vec<u8>, source: &str) -> Result<Self, Pkcs12Error> {
        let invalid = |reason: &str| Pkcs12Error {
            reason: format!("the keystore password from {source} {reason}"),
        };
        let text = String::from_utf8(secret).map_err(|_| invalid("is not UTF-8"))?;
        if text.is_empty() {
            return Err(invalid("is empty; keytool and JSSE need a password"));
        }
        if text.chars().any(|c| u32::from(c) > 0xffff || c == '\0') {
            return Err(invalid(
                "has a character PKCS#12 cannot encode (NUL or outside the BMP)",
            ));
        }
        Ok(Password(text))
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> Pkcs12Error {
    Pkcs12Error {
        reason: format!("cannot build the {what}: {error}"),
    }
}

/// A keystore with one private-key entry `alias`: `key` and `chain` (leaf first, then its
/// CA). The key must belong to the leaf.
pub fn keystore(
    alias: &str,
    key: &PrivateKey,
    chain: &[Vec<u8>],
    password: &Password,
    protection: Protection,
) -> Result<Vec<u8>, Pkcs12Error> {
    let leaf = chain
        .first()
        .ok_or_else(|| failed("keystore", "no certificate"))?;
    if !key.matches_certificate(leaf) {
        return Err(failed(
            "keystore",
            format!("the key of `{alias}` does not match its certificate"),
        ));
    }
    let certificates = chain
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|error| failed("keystore", error)))
        .collect::<Result<Vec<_>, _>>()?;
    let p12_key =
        P12Key::from_der(key.pair().serialized_der()).map_err(|error| failed("keystore", error))?;
    // localKeyId ties the key bag to the leaf's bag: the leaf's SHA-256 fingerprint prefix,
    // stable across runs for the same certificate.
    let local_key_id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf);
    let chain = PrivateKeyChain::new(local_key_id.as_ref()[..20].to_vec(), p12_key, certificates);
    let mut store = KeyStore::new();
    store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    write(&store, password, protection, "keystore")
}

/// A truststore with one trusted certificate entry per `(alias, DER)`.
pub fn truststore(
    certificates: &[(String, Vec<u8>)],
    password: &Password,
    protection: Protection,
) -> Result<Vec<u8>, Pkcs12Error> {
    let mut store = KeyStore::new();
    for (alias, der) in certificates {
        let certificate =
            Certificate::from_der(der).map_err(|error| failed("truststore", error))?;
        store.add_entry(alias, KeyStoreEntry::Certificate(certificate));
    }
    write(&store, password, protection, "truststore")
}

fn write(
    store: &KeyStore,
    password: &Password,
    protection: Protection,
    what: &str,
) -> Result<Vec<u8>, Pkcs12Error> {
    let (encryption, mac) = protection.algorithms();
    store
        .writer(password.as_str())
        .encryption_algorithm(encryption)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(mac)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(|error| failed(what, error))
}

/// What a PKCS#12 file holds, read back with its password (MAC checked).
#[derive(Debug, Default)]
pub struct Contents {
    /// Private key entries: alias and the DER of each certificate of the chain.
    pub keys: Vec<(String, Vec<Vec<u8>>)>,
    /// Trusted certificate entries: alias and DER.
    pub trusted: Vec<(String, Vec<u8>)>,
}

/// Opens a PKCS#12 file; a wrong password or a damaged file is an error.
pub fn open(pkcs12: &[u8], password: &Password, path: &str) -> Result<Contents, Pkcs12Error> {
    let store = KeyStore::from_pkcs12(pkcs12, password.as_str(), Pkcs12ImportPolicy::Strict)
        .map_err(|error| Pkcs12Error {
            reason: format!(
                "cannot open `{path}` with the keystore password (wrong password or not a PKCS#12 file): {error}"
            ),
        })?;
    let mut contents = Contents::default();
    for (alias, entry) in store.entries() {
        match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => contents.keys.push((
                alias.clone(),
                chain.certs().iter().map(|c| c.as_der().to_vec()).collect(),
            )),
            KeyStoreEntry::Certificate(certificate) => contents
                .trusted
                .push((alias.clone(), certificate.as_der().to_vec())),
            KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CaRequest, KeyType, LeafProfile, LeafRequest, San, Validity, issue};

    fn password() -> Password {
        Password::new(b"changeit".to_vec(), "test").unwrap()
    }

    #[test]
    fn keystore_and_truststore_round_trip_in_both_protections() {
        let now = time::OffsetDateTime::now_utc();
        let ca = issue::create_ca(
            &CaRequest {
                common_name: "Test CA".into(),
                validity: Validity::starting_now(now, crate::pki::Lifetime::days(30)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
        let leaf = ca
            .issue(
                &LeafRequest {
                    profile: LeafProfile::Server,
                    common_name: "server".into(),
                    sans: vec![San::Dns("localhost".into())],
                    validity: Validity::starting_now(now, crate::pki::Lifetime::days(10)),
                },
                PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
            )
            .unwrap();
        for protection in [Protection::Modern, Protection::Legacy] {
            let chain = vec![leaf.certificate_der.clone(), ca.certificate_der().to_vec()];
            let bytes = keystore("server", &leaf.key, &chain, &password(), protection).unwrap();
            assert_eq!(Protection::of(&bytes), protection);
            let contents = open(&bytes, &password(), "server.p12").unwrap();
            assert_eq!(contents.keys.len(), 1);
            assert_eq!(contents.keys[0].0, "server");
            assert_eq!(contents.keys[0].1, chain);
            let trust = truststore(
                &[("ca".into(), ca.certificate_der().to_vec())],
                &password(),
                protection,
            )
            .unwrap();
            // The bag attributes JSSE and keytool look at: the Java trusted-key-usage
            // attribute on the CA bag, the leaf name as the key's friendlyName.
            let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&trust, "changeit").unwrap();
            assert!(
                archive.certs.iter().all(|bag| bag.trusted),
                "{protection:?}"
            );
            assert_eq!(archive.certs[0].friendly_name.as_deref(), Some("ca"));
            let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&bytes, "changeit").unwrap();
            assert_eq!(archive.keys[0].friendly_name.as_deref(), Some("server"));
            assert!(archive.certs.iter().all(|bag| !bag.trusted));
            let contents = open(&trust, &password(), "truststore.p12").unwrap();
            assert!(contents.keys.is_empty());
            assert_eq!(contents.trusted.len(), 1);
            assert_eq!(contents.trusted[0].0, "ca");
            let wrong = Password::new(b"wrong".to_vec(), "test").unwrap();
            assert!(open(&trust, &wrong, "truststore.p12").is_err());
        }
        let other = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let error = keystore(
            "server",
            &other,
            std::slice::from_ref(&leaf.certificate_der),
            &password(),
            Protection::Modern,
        )
        .unwrap_err();
        assert!(error.to_string().contains("does not match"), "{error}");
    }

    #[test]
    fn passwords_must_be_usable() {
        assert!(Password::new(Vec::new(), "$X").is_err());
        assert!(Password::new(vec![0xff], "$X").is_err());
        assert!(Password::new("a\u{1F600}".as_bytes().to_vec(), "$X").is_err());
        assert!(Password::new("pässwort".as_bytes().to_vec(), "$X").is_ok());
    }
}
