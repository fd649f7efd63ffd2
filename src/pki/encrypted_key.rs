//! Passphrase-protected private keys: PKCS#8 `EncryptedPrivateKeyInfo` with PBES2 (RFC 8018).
//!
//! A CA key at rest should not be readable by whoever gets a copy of the file, so keys can be
//! stored as `ENCRYPTED PRIVATE KEY` PEM, the format that OpenSSL, Go, Java and most other
//! tools read and write. This module converts between a DER `PrivateKeyInfo` (PKCS#8, as
//! rcgen and aws-lc-rs use it) and a DER `EncryptedPrivateKeyInfo`.
//!
//! What is written: PBES2 with PBKDF2-HMAC-SHA256 (explicit `prf`, 600,000 iterations by
//! default, 16-byte random salt, no `keyLength`) and AES-256-CBC with a random 16-byte IV.
//!
//! What is read: PBES2 with PBKDF2 (PRF HMAC-SHA1, the default when `prf` is absent, or
//! HMAC-SHA256/384/512) and AES-128/192/256-CBC. That covers what OpenSSL 1.1 and 3 write
//! with `openssl pkcs8 -topk8 -v2 aes-256-cbc` and `openssl genpkey -aes-256-cbc`. scrypt,
//! PBES1, PKCS#12 PBE and non-AES ciphers give [`EncryptedKeyError::Unsupported`] with the
//! OpenSSL command that re-encrypts the key in a supported form.
//!
//! The cryptography is aws-lc-rs, the project's only crypto backend; the ASN.1 structure is
//! read and written with the `der` crate. CBC with PKCS#7 padding is not authenticated, so a
//! wrong passphrase is detected by the padding check and, because that passes by chance about
//! once in 256 tries, by checking that the plaintext parses as a `PrivateKeyInfo`.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    AES_128, AES_128_KEY_LEN, AES_192, AES_192_KEY_LEN, AES_256, AES_256_KEY_LEN,
    Algorithm as CipherAlgorithm, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::{pbkdf2, rand};
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, Tagged};
use zeroize::Zeroize;

/// Iteration count written by default: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
const DEFAULT_ITERATIONS: u32 = 600_000;
/// Highest PBKDF2 iteration count accepted when encrypting or decrypting, so that a hostile
/// file cannot make a decrypt spin for hours (10,000,000 is roughly 15 times the default).
const MAX_ITERATIONS: u32 = 10_000_000;
/// Length of the random PBKDF2 salt written by [`encrypt_pkcs8`].
const SALT_LEN: usize = 16;
/// AES block size, and so the length of the CBC initialization vector.
const AES_BLOCK_LEN: usize = 16;

/// What to tell the user when a key is encrypted in a form this module does not read.
const REENCRYPT_HINT: &str = "re-encrypt the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc \
                              -v2prf hmacWithSHA256 -in OLD.pem -out NEW.pem`";
/// PBES1 with DES or RC2 needs OpenSSL 3's legacy provider to be read at all.
const REENCRYPT_HINT_LEGACY: &str = "re-encrypt the key with `openssl pkcs8 -topk8 -v2 \
                                     aes-256-cbc -v2prf hmacWithSHA256 -provider legacy \
                                     -provider default -in OLD.pem -out NEW.pem`";

const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const OID_PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");
const OID_SCRYPT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11591.4.11");
/// The PKCS#5 arc: PBES1 schemes are its children (PBES2 and PBKDF2 too, handled first).
const OID_PKCS5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5");
/// The PKCS#12 password-based encryption arc (`pbeWithSHAAnd3-KeyTripleDES-CBC` and kin).
const OID_PKCS12_PBE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1");
const OID_HMAC_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.7");
const OID_HMAC_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.8");
const OID_HMAC_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");
const OID_HMAC_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.10");
const OID_HMAC_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.11");
const OID_AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
const OID_AES192_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.22");
const OID_AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
const OID_DES_EDE3_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
const OID_DES_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.7");
const OID_RC2_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.2");

/// Parameters used when encrypting.
///
/// The key derivation is always PBKDF2-HMAC-SHA256 with a 16-byte random salt and the cipher
/// AES-256-CBC; only the cost is adjustable. [`Default`] gives 600,000 iterations (OWASP 2023).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptOptions {
    /// PBKDF2 iteration count, from 1 to 10,000,000. Each later decrypt pays the same cost.
    pub iterations: u32,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        Self {
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

/// Why a key could not be encrypted or decrypted.
///
/// No variant carries key material or the passphrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptedKeyError {
    /// The input is not the DER structure it should be (an `EncryptedPrivateKeyInfo` to
    /// decrypt, a `PrivateKeyInfo` to encrypt), or its parameters are inconsistent.
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// The key uses an algorithm or parameter this module does not read, or the requested
    /// encryption options are out of range; `what` names it and, where one exists, says how
    /// to convert the key.
    #[error("unsupported {what}")]
    Unsupported {
        /// The algorithm or parameter, with a hint on what to do about it.
        what: String,
    },
    /// Decryption failed: the passphrase is wrong, or the encrypted data is corrupted.
    #[error("wrong passphrase or corrupted key")]
    WrongPassphrase,
    /// The crypto library failed (e.g. no randomness available).
    #[error("cryptographic operation failed")]
    Crypto,
}

/// Encrypts a DER PKCS#8 `PrivateKeyInfo`; returns a DER `EncryptedPrivateKeyInfo`, whose PEM
/// label is `ENCRYPTED PRIVATE KEY`.
///
/// The passphrase is used as given (bytes, no normalization or newline stripping), which is
/// what OpenSSL does with `-passin`/`-passout` once it has read the passphrase.
///
/// # Errors
///
/// [`EncryptedKeyError::Malformed`] if the input is not a DER `PrivateKeyInfo`,
/// [`EncryptedKeyError::Unsupported`] if `options.iterations` is 0 or above 10,000,000,
/// [`EncryptedKeyError::Crypto`] if the crypto library fails.
pub fn encrypt_pkcs8(
    private_key_info_der: &[u8],
    passphrase: &[u8],
    options: &EncryptOptions,
) -> Result<Vec<u8>, EncryptedKeyError> {
    check_private_key_info(private_key_info_der).map_err(|_| {
        EncryptedKeyError::Malformed("input to encrypt is not a DER PKCS#8 PrivateKeyInfo")
    })?;
    let iterations = NonZeroU32::new(options.iterations)
        .filter(|n| n.get() <= MAX_ITERATIONS)
        .ok_or_else(|| EncryptedKeyError::Unsupported {
            what: format!(
                "iteration count {} (allowed: 1 to {MAX_ITERATIONS})",
                options.iterations
            ),
        })?;
    let mut salt = [0u8; SALT_LEN];
    let mut iv = [0u8; AES_BLOCK_LEN];
    rand::fill(&mut salt).map_err(|_| EncryptedKeyError::Crypto)?;
    rand::fill(&mut iv).map_err(|_| EncryptedKeyError::Crypto)?;
    let params = Pbes2Params {
        prf: Prf::HmacSha256,
        salt: &salt,
        iterations,
        cipher: AesCbc::Aes256,
        iv,
    };
    let ciphertext = encrypt_with(&params, private_key_info_der, passphrase)?;
    encode_encrypted_private_key_info(&params, &ciphertext)
        .map_err(|_| EncryptedKeyError::Malformed("key too large to encode"))
}

/// Decrypts a DER PKCS#8 `EncryptedPrivateKeyInfo`; returns the DER `PrivateKeyInfo`.
///
/// Reads PBES2 with PBKDF2 (HMAC-SHA1/256/384/512) and AES-128/192/256-CBC, i.e. what
/// `openssl pkcs8 -topk8 -v2 aes-256-cbc` and `openssl genpkey -aes-256-cbc` write. The
/// passphrase is used as given (bytes).
///
/// # Errors
///
/// [`EncryptedKeyError::Malformed`] if the input is not a DER `EncryptedPrivateKeyInfo`,
/// [`EncryptedKeyError::Unsupported`] for scrypt, PBES1, PKCS#12 PBE, other ciphers or PRFs,
/// or more than 10,000,000 iterations, [`EncryptedKeyError::WrongPassphrase`] if the
/// decrypted data is not a `PrivateKeyInfo`, [`EncryptedKeyError::Crypto`] if the crypto
/// library fails.
pub fn decrypt_pkcs8(
    encrypted_der: &[u8],
    passphrase: &[u8],
) -> Result<Vec<u8>, EncryptedKeyError> {
    let (algorithm, ciphertext) = parse_encrypted_private_key_info(encrypted_der)?;
    let params = Pbes2Params::from_algorithm_identifier(algorithm)?;
    if ciphertext.is_empty() || ciphertext.len() % AES_BLOCK_LEN != 0 {
        return Err(EncryptedKeyError::Malformed(
            "encrypted data is not a whole number of cipher blocks",
        ));
    }
    let decrypting_key = PaddedBlockDecryptingKey::cbc_pkcs7(params.cipher_key(passphrase)?)
        .map_err(|_| EncryptedKeyError::Crypto)?;
    let mut buffer = ciphertext.to_vec();
    let context = DecryptionContext::Iv128(FixedLength::from(params.iv));
    // A padding error is the usual sign of a wrong passphrase.
    let plaintext = decrypting_key
        .decrypt(&mut buffer, context)
        .map(|plaintext| plaintext.to_vec());
    buffer.zeroize();
    let mut plaintext = plaintext.map_err(|_| EncryptedKeyError::WrongPassphrase)?;
    // The padding check passes by chance for about one wrong passphrase in 256.
    if check_private_key_info(&plaintext).is_err() {
        plaintext.zeroize();
        return Err(EncryptedKeyError::WrongPassphrase);
    }
    Ok(plaintext)
}

/// PBKDF2 pseudo-random functions read (and, for SHA-256, written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prf {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Prf {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            OID_HMAC_SHA1 => Some(Self::HmacSha1),
            OID_HMAC_SHA256 => Some(Self::HmacSha256),
            OID_HMAC_SHA384 => Some(Self::HmacSha384),
            OID_HMAC_SHA512 => Some(Self::HmacSha512),
            _ => None,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::HmacSha1 => OID_HMAC_SHA1,
            Self::HmacSha256 => OID_HMAC_SHA256,
            Self::HmacSha384 => OID_HMAC_SHA384,
            Self::HmacSha512 => OID_HMAC_SHA512,
        }
    }

    fn pbkdf2_algorithm(self) -> pbkdf2::Algorithm {
        match self {
            Self::HmacSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Self::HmacSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::HmacSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
            Self::HmacSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
}

/// PBES2 encryption schemes read (and, for AES-256, written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AesCbc {
    Aes128,
    Aes192,
    Aes256,
}

impl AesCbc {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            OID_AES128_CBC => Some(Self::Aes128),
            OID_AES192_CBC => Some(Self::Aes192),
            OID_AES256_CBC => Some(Self::Aes256),
            _ => None,
        }
    }

    /// Reads the PBES2 `encryptionScheme`: the cipher and its IV.
    fn from_encryption_scheme(
        scheme: &AlgorithmIdentifier<'_>,
    ) -> Result<(Self, [u8; AES_BLOCK_LEN]), EncryptedKeyError> {
        let cipher = Self::from_oid(&scheme.oid).ok_or_else(|| {
            let name = match scheme.oid {
                OID_DES_EDE3_CBC => "des-ede3-cbc".to_owned(),
                OID_DES_CBC => "des-cbc".to_owned(),
                OID_RC2_CBC => "rc2-cbc".to_owned(),
                ref other => other.to_string(),
            };
            unsupported(&format!("cipher {name}"), REENCRYPT_HINT)
        })?;
        // AES-CBC parameters: the IV, an OCTET STRING of one block.
        let iv = scheme
            .parameters
            .filter(|p| p.tag() == Tag::OctetString)
            .and_then(|p| <[u8; AES_BLOCK_LEN]>::try_from(p.value()).ok())
            .ok_or(EncryptedKeyError::Malformed(
                "invalid AES-CBC initialization vector",
            ))?;
        Ok((cipher, iv))
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128 => OID_AES128_CBC,
            Self::Aes192 => OID_AES192_CBC,
            Self::Aes256 => OID_AES256_CBC,
        }
    }

    fn algorithm(self) -> &'static CipherAlgorithm {
        match self {
            Self::Aes128 => &AES_128,
            Self::Aes192 => &AES_192,
            Self::Aes256 => &AES_256,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => AES_128_KEY_LEN,
            Self::Aes192 => AES_192_KEY_LEN,
            Self::Aes256 => AES_256_KEY_LEN,
        }
    }
}

/// Everything PBES2 with PBKDF2 and AES-CBC needs besides the passphrase and the data.
#[derive(Debug)]
struct Pbes2Params<'a> {
    prf: Prf,
    salt: &'a [u8],
    iterations: NonZeroU32,
    cipher: AesCbc,
    iv: [u8; AES_BLOCK_LEN],
}

impl<'a> Pbes2Params<'a> {
    /// Reads the `encryptionAlgorithm` of an `EncryptedPrivateKeyInfo`.
    fn from_algorithm_identifier(
        algorithm: AlgorithmIdentifier<'a>,
    ) -> Result<Self, EncryptedKeyError> {
        if algorithm.oid != OID_PBES2 {
            return Err(unsupported_scheme(&algorithm.oid));
        }
        let params = algorithm
            .parameters
            .ok_or(EncryptedKeyError::Malformed("missing PBES2 parameters"))?;
        // PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier,
        //                             encryptionScheme AlgorithmIdentifier }
        let (kdf, scheme) = params
            .sequence(|reader| {
                let kdf = AlgorithmIdentifier::decode(reader)?;
                let scheme = AlgorithmIdentifier::decode(reader)?;
                Ok::<_, der::Error>((kdf, scheme))
            })
            .map_err(|_| EncryptedKeyError::Malformed("invalid PBES2 parameters"))?;

        if kdf.oid == OID_SCRYPT {
            return Err(unsupported("scrypt key derivation", REENCRYPT_HINT));
        }
        if kdf.oid != OID_PBKDF2 {
            let what = format!("key derivation function {}", kdf.oid);
            return Err(unsupported(&what, REENCRYPT_HINT));
        }

        let (cipher, iv) = AesCbc::from_encryption_scheme(&scheme)?;
        let pbkdf2 = Pbkdf2Fields::parse(
            kdf.parameters
                .ok_or(EncryptedKeyError::Malformed("missing PBKDF2 parameters"))?,
        )?;
        let salt = pbkdf2.salt()?;
        let iterations = pbkdf2.iterations()?;
        pbkdf2.check_key_length(cipher)?;
        let prf = pbkdf2.prf()?;
        Ok(Self {
            prf,
            salt,
            iterations,
            cipher,
            iv,
        })
    }

    /// Derives the cipher key from the passphrase with PBKDF2.
    fn cipher_key(&self, passphrase: &[u8]) -> Result<UnboundCipherKey, EncryptedKeyError> {
        let mut key = [0u8; AES_256_KEY_LEN];
        let key_len = self.cipher.key_len();
        // `pbkdf2::derive` panics only if the output is longer than (2^32 - 1) hash lengths;
        // AES keys are at most 32 bytes.
        pbkdf2::derive(
            self.prf.pbkdf2_algorithm(),
            self.iterations,
            self.salt,
            passphrase,
            &mut key[..key_len],
        );
        let unbound = UnboundCipherKey::new(self.cipher.algorithm(), &key[..key_len]);
        key.zeroize();
        unbound.map_err(|_| EncryptedKeyError::Crypto)
    }
}

/// An [`EncryptedKeyError::Unsupported`] naming `what`, followed by what to do about it.
fn unsupported(what: &str, hint: &str) -> EncryptedKeyError {
    EncryptedKeyError::Unsupported {
        what: format!("{what}; {hint}"),
    }
}

/// The error for an `encryptionAlgorithm` other than PBES2.
fn unsupported_scheme(oid: &ObjectIdentifier) -> EncryptedKeyError {
    let last_arc = oid.arcs().last();
    let pbes1_name = match last_arc {
        Some(1) => "pbeWithMD2AndDES-CBC",
        Some(3) => "pbeWithMD5AndDES-CBC",
        Some(4) => "pbeWithMD2AndRC2-CBC",
        Some(6) => "pbeWithMD5AndRC2-CBC",
        Some(10) => "pbeWithSHA1AndDES-CBC",
        Some(11) => "pbeWithSHA1AndRC2-CBC",
        _ => "",
    };
    let pkcs12_name = match last_arc {
        Some(1) => "pbeWithSHAAnd128BitRC4",
        Some(2) => "pbeWithSHAAnd40BitRC4",
        Some(3) => "pbeWithSHAAnd3-KeyTripleDES-CBC",
        Some(4) => "pbeWithSHAAnd2-KeyTripleDES-CBC",
        Some(5) => "pbeWithSHAAnd128BitRC2-CBC",
        Some(6) => "pbewithSHAAnd40BitRC2-CBC",
        _ => "",
    };
    let parent = oid.parent();
    if parent == Some(OID_PKCS5) && !pbes1_name.is_empty() {
        unsupported(
            &format!("PBES1 encryption ({pbes1_name})"),
            REENCRYPT_HINT_LEGACY,
        )
    } else if parent == Some(OID_PKCS12_PBE) && !pkcs12_name.is_empty() {
        let hint = if pkcs12_name.contains("RC") {
            REENCRYPT_HINT_LEGACY
        } else {
            REENCRYPT_HINT
        };
        unsupported(
            &format!("PKCS#12 password-based encryption ({pkcs12_name})"),
            hint,
        )
    } else {
        unsupported(&format!("key encryption algorithm {oid}"), REENCRYPT_HINT)
    }
}

/// Pads and encrypts `plaintext` with the key derived from `passphrase`.
fn encrypt_with(
    params: &Pbes2Params<'_>,
    plaintext: &[u8],
    passphrase: &[u8],
) -> Result<Vec<u8>, EncryptedKeyError> {
    let encrypting_key = PaddedBlockEncryptingKey::cbc_pkcs7(params.cipher_key(passphrase)?)
        .map_err(|_| EncryptedKeyError::Crypto)?;
    // Room for the padding up front, so the plaintext copy is never reallocated (and left
    // behind in freed memory) before it is encrypted in place.
    let mut buffer = Vec::with_capacity(plaintext.len() + AES_BLOCK_LEN);
    buffer.extend_from_slice(plaintext);
    let context = EncryptionContext::Iv128(FixedLength::from(params.iv));
    if encrypting_key
        .less_safe_encrypt(&mut buffer, context)
        .is_err()
    {
        buffer.zeroize();
        return Err(EncryptedKeyError::Crypto);
    }
    Ok(buffer)
}

/// An X.509 `AlgorithmIdentifier`: `SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
#[derive(Debug, Clone, Copy)]
struct AlgorithmIdentifier<'a> {
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'a>>,
}

impl<'a> AlgorithmIdentifier<'a> {
    fn decode(reader: &mut SliceReader<'a>) -> der::Result<Self> {
        Self::from_any(AnyRef::decode(reader)?)
    }

    fn from_any(any: AnyRef<'a>) -> der::Result<Self> {
        any.sequence(|reader| {
            let oid = ObjectIdentifier::decode(reader)?;
            let parameters = if reader.is_finished() {
                None
            } else {
                Some(AnyRef::decode(reader)?)
            };
            Ok(Self { oid, parameters })
        })
    }
}

/// The fields of `PBKDF2-params`, still undecoded.
struct Pbkdf2Fields<'a> {
    /// `CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier }`
    salt: AnyRef<'a>,
    /// `INTEGER (1..MAX)`
    iterations: AnyRef<'a>,
    /// `INTEGER (1..MAX) OPTIONAL`
    key_length: Option<AnyRef<'a>>,
    /// `AlgorithmIdentifier DEFAULT algid-hmacWithSHA1`
    prf: Option<AnyRef<'a>>,
}

impl<'a> Pbkdf2Fields<'a> {
    fn parse(params: AnyRef<'a>) -> Result<Self, EncryptedKeyError> {
        params
            .sequence(|reader| {
                let salt = AnyRef::decode(reader)?;
                let iterations = AnyRef::decode(reader)?;
                let mut fields = Self {
                    salt,
                    iterations,
                    key_length: None,
                    prf: None,
                };
                while !reader.is_finished() {
                    let field = AnyRef::decode(reader)?;
                    match field.tag() {
                        Tag::Integer if fields.key_length.is_none() && fields.prf.is_none() => {
                            fields.key_length = Some(field);
                        }
                        Tag::Sequence if fields.prf.is_none() => fields.prf = Some(field),
                        tag => return Err(tag.unexpected_error(None).into()),
                    }
                }
                Ok::<_, der::Error>(fields)
            })
            .map_err(|_| EncryptedKeyError::Malformed("invalid PBKDF2 parameters"))
    }

    fn salt(&self) -> Result<&'a [u8], EncryptedKeyError> {
        match self.salt.tag() {
            Tag::OctetString => Ok(self.salt.value()),
            Tag::Sequence => Err(unsupported(
                "PBKDF2 salt source (otherSource)",
                REENCRYPT_HINT,
            )),
            _ => Err(EncryptedKeyError::Malformed("invalid PBKDF2 salt")),
        }
    }

    /// The iteration count, refused above [`MAX_ITERATIONS`] before any work is done.
    fn iterations(&self) -> Result<NonZeroU32, EncryptedKeyError> {
        let iterations = self
            .iterations
            .decode_as::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(EncryptedKeyError::Malformed(
                "invalid PBKDF2 iteration count",
            ))?;
        u32::try_from(iterations)
            .ok()
            .filter(|&n| n <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                let what = format!(
                    "PBKDF2 iteration count {iterations} (at most {MAX_ITERATIONS} are \
                     accepted, so that a hostile file cannot stall the program)"
                );
                unsupported(&what, REENCRYPT_HINT)
            })
    }

    /// `keyLength` is optional; when present it must be the cipher's key length.
    fn check_key_length(&self, cipher: AesCbc) -> Result<(), EncryptedKeyError> {
        let Some(key_length) = self.key_length else {
            return Ok(());
        };
        let matches = key_length
            .decode_as::<u64>()
            .is_ok_and(|len| usize::try_from(len).is_ok_and(|len| len == cipher.key_len()));
        if matches {
            Ok(())
        } else {
            Err(EncryptedKeyError::Malformed(
                "PBKDF2 key length does not match the cipher",
            ))
        }
    }

    fn prf(&self) -> Result<Prf, EncryptedKeyError> {
        // prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1
        let Some(prf) = self.prf else {
            return Ok(Prf::HmacSha1);
        };
        let prf = AlgorithmIdentifier::from_any(prf)
            .map_err(|_| EncryptedKeyError::Malformed("invalid PBKDF2 PRF"))?;
        // RFC 8018 gives the HMAC PRFs NULL parameters; absent ones are common too.
        if prf.parameters.is_some_and(|p| !p.is_null()) {
            return Err(EncryptedKeyError::Malformed(
                "invalid PBKDF2 PRF parameters",
            ));
        }
        Prf::from_oid(&prf.oid).ok_or_else(|| {
            let name = if prf.oid == OID_HMAC_SHA224 {
                "hmacWithSHA224".to_owned()
            } else {
                prf.oid.to_string()
            };
            unsupported(&format!("PBKDF2 PRF {name}"), REENCRYPT_HINT)
        })
    }
}

/// Splits an `EncryptedPrivateKeyInfo` into its `encryptionAlgorithm` and `encryptedData`:
/// `SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }`.
fn parse_encrypted_private_key_info(
    der_bytes: &[u8],
) -> Result<(AlgorithmIdentifier<'_>, &[u8]), EncryptedKeyError> {
    let parse = || -> der::Result<_> {
        let mut reader = SliceReader::new(der_bytes)?;
        let parts = reader.sequence(|reader| {
            let algorithm = AlgorithmIdentifier::decode(reader)?;
            let data = AnyRef::decode(reader)?;
            data.tag().assert_eq(Tag::OctetString)?;
            Ok::<_, der::Error>((algorithm, data.value()))
        })?;
        reader.finish()?;
        Ok(parts)
    };
    parse().map_err(|_| EncryptedKeyError::Malformed("not a DER PKCS#8 EncryptedPrivateKeyInfo"))
}

/// Checks that `der_bytes` is exactly one DER `PrivateKeyInfo` (RFC 5208), or its v2 form
/// `OneAsymmetricKey` (RFC 5958):
/// `SEQUENCE { version INTEGER (0|1), privateKeyAlgorithm AlgorithmIdentifier,
/// privateKey OCTET STRING, attributes [0] OPTIONAL, publicKey [1] OPTIONAL }`.
fn check_private_key_info(der_bytes: &[u8]) -> der::Result<()> {
    let mut reader = SliceReader::new(der_bytes)?;
    reader.sequence(|reader| -> der::Result<()> {
        let version = u8::decode(reader)?;
        if version > 1 {
            return Err(Tag::Integer.value_error().into());
        }
        AlgorithmIdentifier::decode(reader)?;
        AnyRef::decode(reader)?.tag().assert_eq(Tag::OctetString)?;
        // Optional [0] then [1], each at most once, in that order.
        let mut next_allowed = 0;
        while !reader.is_finished() {
            let field = AnyRef::decode(reader)?;
            match field.tag() {
                Tag::ContextSpecific { number, .. }
                    if number.value() >= next_allowed && number.value() <= 1 =>
                {
                    next_allowed = number.value() + 1;
                }
                tag => return Err(tag.unexpected_error(None).into()),
            }
        }
        Ok(())
    })?;
    reader.finish()
}

/// Writes the `EncryptedPrivateKeyInfo` for PBES2 with PBKDF2 and AES-CBC. `keyLength` is
/// omitted (it is implied by the cipher) and the PRF is always written explicitly.
fn encode_encrypted_private_key_info(
    params: &Pbes2Params<'_>,
    ciphertext: &[u8],
) -> der::Result<Vec<u8>> {
    let prf = sequence(&[&params.prf.oid().to_der()?, &der::asn1::Null.to_der()?])?;
    let pbkdf2_params = sequence(&[
        &tlv(Tag::OctetString, params.salt)?,
        &params.iterations.get().to_der()?,
        &prf,
    ])?;
    let kdf = sequence(&[&OID_PBKDF2.to_der()?, &pbkdf2_params])?;
    let scheme = sequence(&[
        &params.cipher.oid().to_der()?,
        &tlv(Tag::OctetString, &params.iv)?,
    ])?;
    let pbes2_params = sequence(&[&kdf, &scheme])?;
    let algorithm = sequence(&[&OID_PBES2.to_der()?, &pbes2_params])?;
    sequence(&[&algorithm, &tlv(Tag::OctetString, ciphertext)?])
}

/// One DER TLV with the given tag and contents.
fn tlv(tag: Tag, value: &[u8]) -> der::Result<Vec<u8>> {
    Any::new(tag, value)?.to_der()
}

/// A DER `SEQUENCE` of already encoded elements.
fn sequence(elements: &[&[u8]]) -> der::Result<Vec<u8>> {
    tlv(Tag::Sequence, &elements.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const PASSPHRASE: &[u8] = b"correct horse battery staple";
    /// Low cost for tests that do not care about the iteration count.
    const FAST: EncryptOptions = EncryptOptions { iterations: 1_000 };

    /// Runs `openssl` with `args` in `dir`, panicking with its stderr if it fails.
    fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl (it must be installed for these tests)");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// A scratch directory holding the passphrase in `pw.txt` (and a copy in `pw2.txt`:
    /// OpenSSL reads `-passin` and `-passout` from one stream when the files are the same).
    fn scratch() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw.txt"), PASSPHRASE).expect("write pw.txt");
        std::fs::write(dir.path().join("pw2.txt"), PASSPHRASE).expect("write pw2.txt");
        dir
    }

    /// Generates a key with OpenSSL; returns the path of its unencrypted PEM.
    fn generate(dir: &Path, name: &str, genpkey_args: &[&str]) -> PathBuf {
        let file = format!("{name}.pem");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(genpkey_args);
        args.extend_from_slice(&["-out", &file]);
        openssl(dir, &args);
        dir.join(file)
    }

    /// The DER `PrivateKeyInfo` of a (possibly encrypted) PEM file, as OpenSSL decodes it.
    fn openssl_plain_der(dir: &Path, pem_file: &Path) -> Vec<u8> {
        let input = pem_file.to_str().expect("utf-8 path");
        openssl(
            dir,
            &[
                "pkcs8",
                "-in",
                input,
                "-passin",
                "file:pw.txt",
                "-nocrypt",
                "-topk8",
                "-outform",
                "DER",
            ],
        )
    }

    fn read_pem(path: &Path, label: &str) -> Vec<u8> {
        let text = std::fs::read(path).expect("read pem");
        let parsed = pem::parse(text).expect("parse pem");
        assert_eq!(parsed.tag(), label);
        parsed.into_contents()
    }

    fn key_types() -> [(&'static str, Vec<&'static str>); 3] {
        [
            (
                "ec",
                vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            (
                "rsa",
                vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
            ("ed25519", vec!["-algorithm", "ED25519"]),
        ]
    }

    fn ec_key_der() -> Vec<u8> {
        let dir = scratch();
        let pem = generate(dir.path(), "ec", &key_types()[0].1);
        openssl_plain_der(dir.path(), &pem)
    }

    #[test]
    fn default_options_are_owasp_2023() {
        assert_eq!(EncryptOptions::default().iterations, 600_000);
    }

    #[test]
    fn roundtrip_with_default_options() {
        let key = ec_key_der();
        let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &EncryptOptions::default()).unwrap();
        assert_ne!(encrypted, key);
        assert_eq!(decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap(), key);
    }

    #[test]
    fn roundtrip_odd_passphrases() {
        let key = ec_key_der();
        for passphrase in [&b""[..], b"x", "pässwörd ✓".as_bytes(), &[0u8, 255, 10, 13]] {
            let encrypted = encrypt_pkcs8(&key, passphrase, &FAST).unwrap();
            assert_eq!(decrypt_pkcs8(&encrypted, passphrase).unwrap(), key);
        }
    }

    #[test]
    fn output_structure_is_pbes2_pbkdf2_sha256_aes256() {
        let key = ec_key_der();
        let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &FAST).unwrap();
        let (algorithm, ciphertext) = parse_encrypted_private_key_info(&encrypted).unwrap();
        assert_eq!(algorithm.oid, OID_PBES2);
        let params = Pbes2Params::from_algorithm_identifier(algorithm).unwrap();
        assert_eq!(params.prf, Prf::HmacSha256);
        assert_eq!(params.cipher, AesCbc::Aes256);
        assert_eq!(params.salt.len(), 16);
        assert_eq!(params.iterations.get(), 1_000);
        assert_eq!(ciphertext.len() % 16, 0);
        // Fresh salt and IV every time.
        let again = encrypt_pkcs8(&key, PASSPHRASE, &FAST).unwrap();
        let (algorithm2, _) = parse_encrypted_private_key_info(&again).unwrap();
        let params2 = Pbes2Params::from_algorithm_identifier(algorithm2).unwrap();
        assert_ne!(params.salt, params2.salt);
        assert_ne!(params.iv, params2.iv);
        // keyLength absent, prf explicit with NULL parameters.
        let dir = scratch();
        std::fs::write(dir.path().join("k.der"), &encrypted).unwrap();
        let dump = openssl(dir.path(), &["asn1parse", "-inform", "DER", "-in", "k.der"]);
        let dump = String::from_utf8(dump).unwrap();
        for expected in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc", "NULL"] {
            assert!(dump.contains(expected), "{expected} missing from:\n{dump}");
        }
        assert_eq!(
            dump.matches("INTEGER").count(),
            1,
            "keyLength written:\n{dump}"
        );
    }

    #[test]
    fn wrong_passphrase() {
        let key = ec_key_der();
        let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &FAST).unwrap();
        let err = decrypt_pkcs8(&encrypted, b"Correct horse battery staple").unwrap_err();
        assert!(matches!(err, EncryptedKeyError::WrongPassphrase), "{err:?}");
        assert_eq!(err.to_string(), "wrong passphrase or corrupted key");
    }

    #[test]
    fn wrong_passphrase_never_yields_garbage() {
        // With one iteration, enough wrong passphrases to hit valid padding several times.
        let key = ec_key_der();
        let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &EncryptOptions { iterations: 1 }).unwrap();
        for i in 0..3_000u32 {
            let wrong = format!("wrong {i}");
            let result = decrypt_pkcs8(&encrypted, wrong.as_bytes());
            assert!(
                matches!(result, Err(EncryptedKeyError::WrongPassphrase)),
                "{wrong}: {result:?}"
            );
        }
    }

    #[test]
    fn valid_padding_but_not_a_key_is_wrong_passphrase() {
        let salt = [7u8; 16];
        let params = Pbes2Params {
            prf: Prf::HmacSha256,
            salt: &salt,
            iterations: NonZeroU32::new(1).unwrap(),
            cipher: AesCbc::Aes256,
            iv: [9u8; 16],
        };
        let ciphertext = encrypt_with(&params, b"not a private key", PASSPHRASE).unwrap();
        let encrypted = encode_encrypted_private_key_info(&params, &ciphertext).unwrap();
        let err = decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap_err();
        assert!(matches!(err, EncryptedKeyError::WrongPassphrase), "{err:?}");
    }

    #[test]
    fn encrypt_rejects_bad_input_and_options() {
        let key = ec_key_der();
        for bad in [&b""[..], b"\x30\x00", b"garbage", &key[..key.len() - 1]] {
            let err = encrypt_pkcs8(bad, PASSPHRASE, &FAST).unwrap_err();
            assert!(matches!(err, EncryptedKeyError::Malformed(_)), "{err:?}");
        }
        let mut trailing = key.clone();
        trailing.push(0);
        assert!(encrypt_pkcs8(&trailing, PASSPHRASE, &FAST).is_err());
        for iterations in [0, MAX_ITERATIONS + 1, u32::MAX] {
            let err = encrypt_pkcs8(&key, PASSPHRASE, &EncryptOptions { iterations }).unwrap_err();
            assert!(
                matches!(err, EncryptedKeyError::Unsupported { .. }),
                "{err:?}"
            );
        }
        // An encrypted key is not a PrivateKeyInfo: no double encryption by mistake.
        let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &FAST).unwrap();
        assert!(encrypt_pkcs8(&encrypted, PASSPHRASE, &FAST).is_err());
    }

    #[test]
    fn too_many_iterations_is_refused_without_deriving() {
        let salt = [1u8; 16];
        let params = Pbes2Params {
            prf: Prf::HmacSha256,
            salt: &salt,
            iterations: NonZeroU32::new(MAX_ITERATIONS + 1).unwrap(),
            cipher: AesCbc::Aes256,
            iv: [2u8; 16],
        };
        let encrypted = encode_encrypted_private_key_info(&params, &[0u8; 48]).unwrap();
        let started = std::time::Instant::now();
        let err = decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap_err();
        assert!(started.elapsed().as_millis() < 100);
        let EncryptedKeyError::Unsupported { what } = &err else {
            panic!("{err:?}");
        };
        assert!(what.contains("iteration count"), "{what}");
        // Exactly the maximum is accepted (the decrypt then fails on the passphrase).
        let mut params = params;
        params.iterations = NonZeroU32::new(MAX_ITERATIONS).unwrap();
        let encrypted = encode_encrypted_private_key_info(&params, &[0u8; 16]).unwrap();
        assert!(
            Pbes2Params::from_algorithm_identifier(
                parse_encrypted_private_key_info(&encrypted).unwrap().0
            )
            .is_ok()
        );
    }

    #[test]
    fn decrypts_what_openssl_writes() {
        let dir = scratch();
        let d = dir.path();
        for (name, genpkey_args) in key_types() {
            let plain_pem = generate(d, name, &genpkey_args);
            let plain_der = openssl_plain_der(d, &plain_pem);
            let plain = plain_pem.to_str().unwrap();
            let variants: [(&str, &[&str]); 6] = [
                ("aes256", &["-v2", "aes-256-cbc"]),
                (
                    "aes256-sha256",
                    &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"],
                ),
                // hmacWithSHA1 is the default PRF, so OpenSSL omits the prf field.
                (
                    "aes128-sha1",
                    &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
                ),
                (
                    "aes192-sha512",
                    &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"],
                ),
                (
                    "aes256-sha384",
                    &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA384"],
                ),
                ("aes256-iter", &["-v2", "aes-256-cbc", "-iter", "100000"]),
            ];
            for (variant, extra) in variants {
                let out = format!("{name}-{variant}.pem");
                let mut args = vec!["pkcs8", "-topk8", "-in", plain, "-passout", "file:pw.txt"];
                args.extend_from_slice(extra);
                args.extend_from_slice(&["-out", &out]);
                openssl(d, &args);
                let encrypted = read_pem(&d.join(&out), "ENCRYPTED PRIVATE KEY");
                let decrypted =
                    decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap_or_else(|e| panic!("{out}: {e}"));
                assert_eq!(decrypted, plain_der, "{out}");
                let err = decrypt_pkcs8(&encrypted, b"wrong").unwrap_err();
                assert!(
                    matches!(err, EncryptedKeyError::WrongPassphrase),
                    "{out}: {err:?}"
                );
            }

            // `openssl genpkey -aes-256-cbc` writes the key encrypted directly.
            let out = format!("{name}-genpkey.pem");
            let mut args = vec!["genpkey"];
            args.extend_from_slice(&genpkey_args);
            args.extend_from_slice(&["-aes-256-cbc", "-pass", "file:pw.txt", "-out", &out]);
            openssl(d, &args);
            let encrypted = read_pem(&d.join(&out), "ENCRYPTED PRIVATE KEY");
            let expected = openssl_plain_der(d, &d.join(&out));
            assert_eq!(
                decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap(),
                expected,
                "{out}"
            );
        }
    }

    #[test]
    fn openssl_reads_what_we_write() {
        let dir = scratch();
        let d = dir.path();
        for (name, genpkey_args) in key_types() {
            let plain_pem = generate(d, name, &genpkey_args);
            let plain_der = openssl_plain_der(d, &plain_pem);
            let encrypted = encrypt_pkcs8(&plain_der, PASSPHRASE, &FAST).unwrap();
            let out = format!("{name}-ours.pem");
            let pem_text = pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", encrypted));
            std::fs::write(d.join(&out), pem_text).unwrap();

            openssl(
                d,
                &["pkey", "-in", &out, "-passin", "file:pw.txt", "-noout"],
            );
            // `openssl pkcs8 -in` decrypts; `-topk8 -nocrypt` keeps the PKCS#8 form.
            assert_eq!(openssl_plain_der(d, &d.join(&out)), plain_der, "{out}");
            // Same key in OpenSSL's traditional form too, via plain `openssl pkcs8 -in`.
            let traditional = |file: &str, passin: &[&str]| {
                let mut args = vec!["pkcs8", "-in", file, "-outform", "DER"];
                args.extend_from_slice(passin);
                openssl(d, &args)
            };
            assert_eq!(
                traditional(&out, &["-passin", "file:pw.txt"]),
                traditional(plain_pem.to_str().unwrap(), &["-nocrypt"]),
                "{out}"
            );

            // And OpenSSL agrees that a wrong passphrase is wrong.
            std::fs::write(d.join("bad.txt"), b"not it").unwrap();
            let status = Command::new("openssl")
                .args(["pkey", "-in", &out, "-passin", "file:bad.txt", "-noout"])
                .current_dir(d)
                .output()
                .unwrap()
                .status;
            assert!(
                !status.success(),
                "{out}: openssl accepted a wrong passphrase"
            );
        }
    }

    #[test]
    fn openssl_reads_default_options() {
        let dir = scratch();
        let d = dir.path();
        let plain_der = ec_key_der();
        let encrypted = encrypt_pkcs8(&plain_der, PASSPHRASE, &EncryptOptions::default()).unwrap();
        let pem_text = pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", encrypted));
        std::fs::write(d.join("k.pem"), pem_text).unwrap();
        assert_eq!(openssl_plain_der(d, &d.join("k.pem")), plain_der);
    }

    #[test]
    fn aws_lc_rs_keys_roundtrip_and_openssl_reads_them() {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
        };
        let dir = scratch();
        let d = dir.path();
        // aws-lc-rs writes Ed25519 as a v2 OneAsymmetricKey (with the [1] public key).
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let ed25519 = Ed25519KeyPair::generate_pkcs8(&rng)
            .unwrap()
            .as_ref()
            .to_vec();
        let ecdsa = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .unwrap()
            .as_ref()
            .to_vec();
        for (name, key) in [("ed25519", ed25519), ("ecdsa", ecdsa)] {
            let encrypted = encrypt_pkcs8(&key, PASSPHRASE, &FAST).unwrap();
            let decrypted = decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap();
            assert_eq!(decrypted, key, "{name}");
            let out = format!("{name}-awslc.pem");
            let pem_text = pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", encrypted));
            std::fs::write(d.join(&out), pem_text).unwrap();
            if name == "ed25519" {
                let pair = Ed25519KeyPair::from_pkcs8(&decrypted).unwrap();
                assert!(!pair.public_key().as_ref().is_empty());
                // Not checked with OpenSSL: 3.0 cannot read v2 PKCS#8 Ed25519 keys at all,
                // encrypted or not ("No supported data to decode").
            } else {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &decrypted).unwrap();
                openssl(
                    d,
                    &["pkey", "-in", &out, "-passin", "file:pw.txt", "-noout"],
                );
            }
        }
    }

    /// Builds an `EncryptedPrivateKeyInfo` the way other tools may: with `keyLength`, and
    /// with or without the NULL PRF parameters.
    fn encode_variant(
        params: &Pbes2Params<'_>,
        ciphertext: &[u8],
        key_length: Option<u32>,
        prf_null: bool,
    ) -> Vec<u8> {
        let oid = params.prf.oid().to_der().unwrap();
        let null = der::asn1::Null.to_der().unwrap();
        let prf = if prf_null {
            sequence(&[&oid, &null]).unwrap()
        } else {
            sequence(&[&oid]).unwrap()
        };
        let salt = tlv(Tag::OctetString, params.salt).unwrap();
        let iterations = params.iterations.get().to_der().unwrap();
        let pbkdf2_params = match key_length {
            Some(len) => sequence(&[&salt, &iterations, &len.to_der().unwrap(), &prf]),
            None => sequence(&[&salt, &iterations, &prf]),
        }
        .unwrap();
        let kdf = sequence(&[&OID_PBKDF2.to_der().unwrap(), &pbkdf2_params]).unwrap();
        let iv = tlv(Tag::OctetString, &params.iv).unwrap();
        let scheme = sequence(&[&params.cipher.oid().to_der().unwrap(), &iv]).unwrap();
        let pbes2_params = sequence(&[&kdf, &scheme]).unwrap();
        let algorithm = sequence(&[&OID_PBES2.to_der().unwrap(), &pbes2_params]).unwrap();
        let data = tlv(Tag::OctetString, ciphertext).unwrap();
        sequence(&[&algorithm, &data]).unwrap()
    }

    #[test]
    fn optional_fields_other_tools_write() {
        let key = ec_key_der();
        let salt = [3u8; 8];
        let params = Pbes2Params {
            prf: Prf::HmacSha256,
            salt: &salt,
            iterations: NonZeroU32::new(2_048).unwrap(),
            cipher: AesCbc::Aes256,
            iv: [4u8; 16],
        };
        let ciphertext = encrypt_with(&params, &key, PASSPHRASE).unwrap();
        for (key_length, prf_null) in [(None, false), (Some(32), true), (Some(32), false)] {
            let encrypted = encode_variant(&params, &ciphertext, key_length, prf_null);
            assert_eq!(decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap(), key);
        }
        let encrypted = encode_variant(&params, &ciphertext, Some(16), true);
        let err = decrypt_pkcs8(&encrypted, PASSPHRASE).unwrap_err();
        assert!(matches!(err, EncryptedKeyError::Malformed(_)), "{err:?}");
        // The production encoder writes the same bytes as the variant with NULL, no keyLength.
        assert_eq!(
            encode_encrypted_private_key_info(&params, &ciphertext).unwrap(),
            encode_variant(&params, &ciphertext, None, true)
        );
    }

    /// Encrypts the test key with OpenSSL using `args` and returns the DER.
    fn openssl_encrypt(dir: &Path, args: &[&str]) -> Vec<u8> {
        let plain = generate(dir, "src", &key_types()[0].1);
        let mut all = vec!["pkcs8", "-topk8", "-in", plain.to_str().unwrap()];
        all.extend_from_slice(&["-passout", "file:pw.txt", "-outform", "DER"]);
        all.extend_from_slice(args);
        openssl(dir, &all)
    }

    fn assert_unsupported(encrypted: &[u8], needles: &[&str]) {
        let err = decrypt_pkcs8(encrypted, PASSPHRASE).unwrap_err();
        let EncryptedKeyError::Unsupported { what } = &err else {
            panic!("expected Unsupported, got {err:?}");
        };
        for needle in needles {
            assert!(what.contains(needle), "{needle:?} not in {what:?}");
        }
        let message = err.to_string();
        assert!(message.starts_with("unsupported "), "{message}");
        assert!(
            message.contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
            "{message}"
        );
        assert!(!message.ends_with('.'), "{message}");
    }

    #[test]
    fn scrypt_is_unsupported_with_hint() {
        let dir = scratch();
        let encrypted = openssl_encrypt(dir.path(), &["-scrypt"]);
        assert_unsupported(
            &encrypted,
            &["scrypt key derivation", "-v2prf hmacWithSHA256"],
        );
    }

    #[test]
    fn pkcs12_pbe_is_unsupported_with_hint() {
        let dir = scratch();
        let encrypted = openssl_encrypt(dir.path(), &["-v1", "PBE-SHA1-3DES"]);
        assert_unsupported(&encrypted, &["pbeWithSHAAnd3-KeyTripleDES-CBC"]);
    }

    #[test]
    fn pbes1_is_unsupported_with_hint() {
        let dir = scratch();
        let encrypted = openssl_encrypt(
            dir.path(),
            &[
                "-v1",
                "PBE-SHA1-DES",
                "-provider",
                "legacy",
                "-provider",
                "default",
            ],
        );
        assert_unsupported(&encrypted, &["PBES1", "pbeWithSHA1AndDES-CBC", "legacy"]);
    }

    #[test]
    fn des3_is_unsupported_with_hint() {
        let dir = scratch();
        let encrypted = openssl_encrypt(dir.path(), &["-v2", "des3"]);
        assert_unsupported(&encrypted, &["des-ede3-cbc"]);
    }

    #[test]
    fn error_messages_are_lowercase_without_period() {
        let errors = [
            EncryptedKeyError::Malformed("not a DER PKCS#8 EncryptedPrivateKeyInfo"),
            EncryptedKeyError::Unsupported {
                what: "scrypt key derivation".into(),
            },
            EncryptedKeyError::WrongPassphrase,
            EncryptedKeyError::Crypto,
        ];
        for err in errors {
            let message = err.to_string();
            assert!(
                message.starts_with(|c: char| c.is_ascii_lowercase()),
                "{message}"
            );
            assert!(!message.ends_with('.'), "{message}");
        }
    }

    /// Deterministic xorshift so fuzz failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn never_panics_on_hostile_input() {
        let key = ec_key_der();
        let valid = encrypt_pkcs8(&key, PASSPHRASE, &EncryptOptions { iterations: 1 }).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

        // Every truncation, and every truncation of the decryptor's view of a valid key.
        for len in 0..valid.len() {
            assert!(decrypt_pkcs8(&valid[..len], PASSPHRASE).is_err());
            let _ = encrypt_pkcs8(&key[..len.min(key.len())], PASSPHRASE, &FAST);
        }
        // Random bytes, with and without a SEQUENCE header in front.
        for _ in 0..2_000 {
            let len = rng.below(300);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 && bytes.len() > 2 {
                bytes[0] = 0x30;
                bytes[1] = (bytes.len() - 2).min(127) as u8;
            }
            let _ = decrypt_pkcs8(&bytes, PASSPHRASE);
            let _ = encrypt_pkcs8(&bytes, PASSPHRASE, &FAST);
        }
        // Byte mutations of a valid structure: these reach every parser branch. The
        // iteration count (one byte here) can grow to at most 255 by mutation.
        for _ in 0..5_000 {
            let mut bytes = valid.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes[at] ^= 1 << rng.below(8),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            if let Ok(plain) = decrypt_pkcs8(&bytes, PASSPHRASE) {
                // CBC is not authenticated: a flipped ciphertext bit garbles one block and
                // flips the same bit in the next, so a mutation inside the key's bytes can
                // decrypt to a different but well-formed PrivateKeyInfo. It is never junk.
                assert!(check_private_key_info(&plain).is_ok());
            }
        }
    }
}
