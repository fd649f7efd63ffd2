//! Private keys: the algorithms otel-pki generates, PEM encoding and decoding, and matching a
//! key against a certificate.

use std::fmt;

use aws_lc_rs::signature::Ed25519KeyPair;
use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use serde::Serialize;

use super::certificate::PublicKeyInfo;
use super::{PkiError, encrypted_key};

/// Key algorithms this build can generate (aws-lc-rs can generate all of them, RSA
/// included).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256: accepted by every TLS stack, the default.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519. Not supported by gRPC's C core (grpc/grpc#24252).
    Ed25519,
    /// RSA 2048-bit, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
    /// RSA 3072-bit.
    Rsa3072,
    /// RSA 4096-bit.
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order `--help` lists them.
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The command-line name, e.g. `ecdsa-p256`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    /// Parses the command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|key_type| key_type.name() == name)
    }

    /// True for RSA keys (the only ones whose leaves also get keyEncipherment).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// True when generating this key takes long enough to show progress.
    pub fn is_slow(self) -> bool {
        self.is_rsa()
    }

    /// Human description, e.g. `ECDSA P-256`, `RSA 4096`.
    pub fn description(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Rsa2048 => "RSA 2048",
            KeyType::Rsa3072 => "RSA 3072",
            KeyType::Rsa4096 => "RSA 4096",
        }
    }

    /// A warning to show when this key type is chosen, if it has a known interoperability
    /// problem.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            KeyType::Ed25519 => Some(
                "Ed25519 certificates fail the TLS handshake in gRPC's C core, which the \
                 Python, C++, Ruby and PHP OTLP/gRPC exporters use (grpc/grpc#24252), and the \
                 OpenTelemetry Java SDK cannot load an Ed25519 key (it reads RSA and EC PKCS#8 \
                 keys only: \"Unable to generate key from supported algorithms: [RSA, EC]\"); \
                 choose ecdsa-p256 unless every peer is Go (the Collector), rustls or Node",
            ),
            _ => None,
        }
    }

    /// The key type of a public key found in a certificate, when otel-pki generates that
    /// type (not for e.g. P-521 or RSA 1024): algorithm, curve and RSA modulus size, as
    /// [`PublicKeyInfo::description`] and [`KeyType::description`] both spell them.
    pub fn of_public_key(public_key: &PublicKeyInfo) -> Option<KeyType> {
        Self::ALL
            .into_iter()
            .find(|key_type| key_type.description() == public_key.description)
    }

    /// The key type of a loaded key pair: the same algorithm and, for RSA, modulus size.
    fn of_key_pair(pair: &KeyPair) -> Option<KeyType> {
        let rsa_bits = (pair.algorithm() == &rcgen::PKCS_RSA_SHA256)
            .then(|| rsa_modulus_bits(pair.public_key_raw()))
            .flatten();
        Self::ALL.into_iter().find(|key_type| {
            key_type.signature_algorithm() == pair.algorithm() && key_type.rsa_bits() == rsa_bits
        })
    }

    /// The modulus size of an RSA key type.
    fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::Ed25519 => None,
        }
    }

    fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A private key with its algorithm. `Debug` never shows the secret.
pub struct PrivateKey {
    pair: KeyPair,
    key_type: Option<KeyType>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type)
            .field("secret", &"[secret key elided]")
            .finish()
    }
}

impl PrivateKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate(key_type: KeyType) -> Result<Self, PkiError> {
        let algorithm = key_type.signature_algorithm();
        let rsa = |size| KeyPair::generate_rsa_for(algorithm, size);
        let pair = match key_type {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => KeyPair::generate_for(algorithm),
            // PKCS#8 v1, as OpenSSL writes it; aws-lc-rs's default for Ed25519 is v2.
            KeyType::Ed25519 => {
                Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new())
                    .map_err(|_| rcgen::Error::RingUnspecified)
                    .and_then(|document| {
                        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(document.as_ref());
                        KeyPair::from_pkcs8_der_and_sign_algo(&der, algorithm)
                    })
            }
            KeyType::Rsa2048 => rsa(RsaKeySize::_2048),
            KeyType::Rsa3072 => rsa(RsaKeySize::_3072),
            KeyType::Rsa4096 => rsa(RsaKeySize::_4096),
        }
        .map_err(|source| PkiError::Generate {
            what: "key",
            reason: source.to_string(),
        })?;
        Ok(PrivateKey {
            pair,
            key_type: Some(key_type),
        })
    }

    /// Parses an unencrypted key from PEM (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE
    /// KEY`) or DER. `path` is only used in error messages.
    pub fn from_pem_or_der(bytes: &[u8], path: &str) -> Result<Self, PkiError> {
        let der = match classify_key_file(bytes) {
            KeyFile::Plain(der) => der,
            KeyFile::Encrypted(_) => {
                return Err(PkiError::KeyEncrypted {
                    path: path.to_owned(),
                });
            }
            KeyFile::LegacyEncrypted => {
                return Err(PkiError::KeyLegacyEncrypted {
                    path: path.to_owned(),
                });
            }
            KeyFile::Invalid(reason) => {
                return Err(PkiError::InvalidKey {
                    path: path.to_owned(),
                    reason,
                });
            }
        };
        Self::from_der(&der, path)
    }

    /// Parses a key that may be encrypted (`ENCRYPTED PRIVATE KEY`, PBES2) with the given
    /// passphrase; `passphrase` is only needed (and only used) when the key is encrypted.
    pub fn from_pem_with_passphrase(
        bytes: &[u8],
        path: &str,
        passphrase: Option<&Passphrase>,
    ) -> Result<Self, PkiError> {
        match classify_key_file(bytes) {
            KeyFile::Encrypted(der) => {
                let passphrase = passphrase.ok_or_else(|| PkiError::PassphraseMissing {
                    path: path.to_owned(),
                })?;
                let plain =
                    encrypted_key::decrypt_pkcs8(&der, passphrase.secret()).map_err(|error| {
                        match error {
                            encrypted_key::EncryptedKeyError::WrongPassphrase => {
                                PkiError::PassphraseWrong {
                                    path: path.to_owned(),
                                    origin: passphrase.source.clone(),
                                }
                            }
                            other => PkiError::InvalidKey {
                                path: path.to_owned(),
                                reason: other.to_string(),
                            },
                        }
                    })?;
                Self::from_der(&plain, path)
            }
            _ => Self::from_pem_or_der(bytes, path),
        }
    }

    fn from_der(der: &[u8], path: &str) -> Result<Self, PkiError> {
        let pair = KeyPair::try_from(der).map_err(|_| PkiError::InvalidKey {
            path: path.to_owned(),
            reason: match rsa_private_key_bits(der) {
                Some(bits) if !(RSA_BITS_MIN..=RSA_BITS_MAX).contains(&bits) => format!(
                    "RSA-{bits} keys are not supported: otel-pki signs with RSA keys of {RSA_BITS_MIN} to {RSA_BITS_MAX} bits (TLS stacks refuse RSA keys shorter than 2048 bits); use RSA 2048, 3072 or 4096, or ECDSA P-256"
                ),
                _ => "not a supported private key (ECDSA P-256/P-384/P-521, Ed25519 or RSA 2048 to 8192 bits)".into(),
            },
        })?;
        let key_type = KeyType::of_key_pair(&pair);
        Ok(PrivateKey { pair, key_type })
    }

    /// The key type, when it is one otel-pki can generate (a loaded P-521 key has none).
    pub fn key_type(&self) -> Option<KeyType> {
        self.key_type
    }

    /// The raw public key, as it appears in a certificate's subjectPublicKey BIT STRING.
    pub fn public_key_raw(&self) -> &[u8] {
        self.pair.public_key_raw()
    }

    /// DER SubjectPublicKeyInfo.
    pub fn public_key_info(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// True when `certificate` (DER) carries this key's public key.
    pub fn matches_certificate(&self, certificate_der: &[u8]) -> bool {
        x509_parser::parse_x509_certificate(certificate_der).is_ok_and(|(_, cert)| {
            cert.public_key().subject_public_key.data.as_ref() == self.public_key_raw()
        })
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), what the Collector reads.
    pub fn to_pkcs8_pem(&self) -> String {
        self.pair.serialize_pem()
    }

    /// PKCS#8 encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) as PEM (`-----BEGIN
    /// ENCRYPTED PRIVATE KEY-----`).
    pub fn to_encrypted_pkcs8_pem(&self, passphrase: &Passphrase) -> Result<String, PkiError> {
        let encrypted = encrypted_key::encrypt_pkcs8(
            self.pair.serialized_der(),
            passphrase.secret(),
            &encrypted_key::EncryptOptions::default(),
        )
        .map_err(|error| PkiError::Generate {
            what: "encrypted key",
            reason: error.to_string(),
        })?;
        Ok(super::certificate::to_pem(
            "ENCRYPTED PRIVATE KEY",
            &encrypted,
        ))
    }

    pub(crate) fn pair(&self) -> &KeyPair {
        &self.pair
    }
}

/// What a key file holds, decided from its PEM label (or DER structure).
#[derive(Debug)]
pub enum KeyFile {
    /// An unencrypted key (PKCS#8, SEC1 or PKCS#1 DER).
    Plain(Vec<u8>),
    /// A PKCS#8 `ENCRYPTED PRIVATE KEY` (DER).
    Encrypted(Vec<u8>),
    /// An OpenSSL "traditional" encrypted PEM (`Proc-Type: 4,ENCRYPTED`), which neither Go
    /// nor otel-pki reads.
    LegacyEncrypted,
    /// Not a key; the reason says what was found.
    Invalid(String),
}

/// Classifies the bytes of a key file without decrypting anything.
pub fn classify_key_file(bytes: &[u8]) -> KeyFile {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // DER: a SEQUENCE. Whether it is a key is decided by the parser.
        return if bytes.first() == Some(&0x30) {
            KeyFile::Plain(bytes.to_vec())
        } else {
            KeyFile::Invalid("neither PEM nor DER".into())
        };
    };
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return KeyFile::LegacyEncrypted;
    }
    let blocks = match pem::parse_many(text) {
        Ok(blocks) => blocks,
        Err(error) => return KeyFile::Invalid(format!("malformed PEM ({error})")),
    };
    if let Some(block) = blocks
        .iter()
        .find(|block| block.tag() == "ENCRYPTED PRIVATE KEY")
    {
        return KeyFile::Encrypted(block.contents().to_vec());
    }
    match blocks
        .iter()
        .find(|block| block.tag() == "PRIVATE KEY" || block.tag().ends_with(" PRIVATE KEY"))
    {
        Some(block) => KeyFile::Plain(block.contents().to_vec()),
        None if blocks.is_empty() => KeyFile::Invalid(if text.contains("-----BEGIN") {
            "truncated or malformed PEM".into()
        } else {
            "no PEM block found".into()
        }),
        None => KeyFile::Invalid(format!(
            "no PRIVATE KEY block (found {})",
            blocks
                .iter()
                .map(|b| b.tag().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The smallest RSA modulus otel-pki loads (aws-lc-rs's limit; TLS stacks refuse less).
const RSA_BITS_MIN: usize = 2048;
/// The largest RSA modulus otel-pki loads (aws-lc-rs's limit).
const RSA_BITS_MAX: usize = 8192;

/// The modulus size of an RSA private key in PKCS#8 (`PRIVATE KEY` with rsaEncryption) or
/// PKCS#1 (`RSA PRIVATE KEY`) DER, read without loading it, to name a size that cannot be
/// loaded; `None` when it is not an RSA key.
fn rsa_private_key_bits(der: &[u8]) -> Option<usize> {
    use x509_parser::der_parser::{self, der::Tag};
    let (_, outer) = der_parser::parse_der(der).ok()?;
    let items = outer.as_sequence().ok()?;
    let algorithm = items.get(1)?;
    if algorithm.header.tag() == Tag::Sequence {
        // PKCS#8: version, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING.
        let oid = algorithm.as_sequence().ok()?.first()?.as_oid().ok()?;
        if oid.to_id_string() != "1.2.840.113549.1.1.1" {
            return None;
        }
        return rsa_private_key_bits(items.get(2)?.as_slice().ok()?);
    }
    // PKCS#1: version, modulus, publicExponent, privateExponent, primes, exponents, coefficient.
    if items.len() < 9 || algorithm.header.tag() != Tag::Integer {
        return None;
    }
    Some(rsa_modulus_bits_from_modulus(algorithm.as_slice().ok()?))
}

/// Modulus size in bits of a DER RSAPublicKey.
pub(crate) fn rsa_modulus_bits(rsa_public_key_der: &[u8]) -> Option<usize> {
    let (_, sequence) = x509_parser::der_parser::parse_der(rsa_public_key_der).ok()?;
    let modulus = sequence.as_sequence().ok()?.first()?.as_slice().ok()?;
    Some(rsa_modulus_bits_from_modulus(modulus))
}

/// Size in bits of an RSA modulus given as big-endian bytes (leading zeros ignored).
pub(crate) fn rsa_modulus_bits_from_modulus(modulus: &[u8]) -> usize {
    match modulus.iter().position(|byte| *byte != 0) {
        Some(start) => (modulus.len() - start) * 8 - modulus[start].leading_zeros() as usize,
        None => 0,
    }
}

/// A passphrase for an encrypted CA key, with where it came from (for error messages).
/// Neither `Debug` nor `Display` shows the secret.
#[derive(Clone)]
pub struct Passphrase {
    secret: Vec<u8>,
    /// Where the passphrase came from, e.g. "--passphrase-file `pw.txt`".
    pub source: String,
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passphrase")
            .field("source", &self.source)
            .field("secret", &"[elided]")
            .finish()
    }
}

impl Passphrase {
    /// Wraps a passphrase; an empty one is refused.
    pub fn new(secret: Vec<u8>, source: String) -> Result<Self, PkiError> {
        if secret.is_empty() {
            return Err(PkiError::PassphraseEmpty { origin: source });
        }
        Ok(Passphrase { secret, source })
    }

    fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl Drop for Passphrase {
    fn drop(&mut self) {
        // Best effort: overwrite the secret before the memory is freed.
        self.secret.iter_mut().for_each(|byte| *byte = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_type_generates_and_roundtrips_through_pem() {
        for key_type in KeyType::ALL {
            if key_type == KeyType::Rsa4096 || key_type == KeyType::Rsa3072 {
                continue; // slow in debug builds; covered by the integration tests
            }
            let key = PrivateKey::generate(key_type).unwrap();
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{key_type}");
            let loaded = PrivateKey::from_pem_or_der(pem.as_bytes(), "k.pem").unwrap();
            assert_eq!(loaded.key_type(), Some(key_type));
            assert_eq!(loaded.public_key_raw(), key.public_key_raw());
        }
    }

    #[test]
    fn public_keys_map_to_the_types_otel_pki_generates() {
        let info = |description: &str| PublicKeyInfo {
            algorithm: String::new(),
            bits: 0,
            curve: None,
            description: description.to_owned(),
        };
        for key_type in KeyType::ALL {
            assert_eq!(
                KeyType::of_public_key(&info(key_type.description())),
                Some(key_type)
            );
        }
        for other in ["ECDSA P-521", "RSA 1024", "unknown (1.2.3)"] {
            assert_eq!(KeyType::of_public_key(&info(other)), None, "{other}");
        }
    }

    #[test]
    fn encrypted_keys_need_the_right_passphrase() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let passphrase = Passphrase::new(b"correct horse".to_vec(), "test".into()).unwrap();
        let pem = key.to_encrypted_pkcs8_pem(&passphrase).unwrap();
        assert!(matches!(
            PrivateKey::from_pem_or_der(pem.as_bytes(), "ca.key"),
            Err(PkiError::KeyEncrypted { .. })
        ));
        assert!(matches!(
            PrivateKey::from_pem_with_passphrase(pem.as_bytes(), "ca.key", None),
            Err(PkiError::PassphraseMissing { .. })
        ));
        let wrong = Passphrase::new(b"wrong".to_vec(), "test".into()).unwrap();
        assert!(matches!(
            PrivateKey::from_pem_with_passphrase(pem.as_bytes(), "ca.key", Some(&wrong)),
            Err(PkiError::PassphraseWrong { .. })
        ));
        let loaded =
            PrivateKey::from_pem_with_passphrase(pem.as_bytes(), "ca.key", Some(&passphrase))
                .unwrap();
        assert_eq!(loaded.public_key_raw(), key.public_key_raw());
    }

    #[test]
    fn garbage_is_an_invalid_key_not_a_panic() {
        for input in [
            &b""[..],
            b"hello",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &[0x30, 0x03, 0x02, 0x01, 0x00],
            &[0xff, 0xfe],
        ] {
            assert!(
                matches!(
                    PrivateKey::from_pem_or_der(input, "k"),
                    Err(PkiError::InvalidKey { .. })
                ),
                "{input:?}"
            );
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        assert!(format!("{key:?}").contains("elided"));
        let passphrase = Passphrase::new(b"hunter2".to_vec(), "env".into()).unwrap();
        assert!(!format!("{passphrase:?}").contains("hunter2"));
    }
}
