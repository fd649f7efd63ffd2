//! Reading certificates: decoding PEM/DER files and summarizing each certificate the way
//! `inspect` shows it (role, names, usages, expiry, fingerprint).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use super::PkiError;

/// Decodes every certificate in a file: PEM with one or many `CERTIFICATE` blocks (other
/// blocks such as keys are skipped), or a single DER certificate.
pub fn decode_certificates(bytes: &[u8], path: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    certificate_blocks(bytes, path)?
        .iter()
        .map(|block| {
            block
                .decode()
                .map_err(|reason| PkiError::InvalidCertificate {
                    path: path.to_owned(),
                    reason: reason.to_owned(),
                })
        })
        .collect()
}

/// Why [`certificate_blocks`] refused a file that holds a private key and no certificate.
pub const HOLDS_A_KEY: &str = "it holds a private key, not a certificate";

/// One certificate of a file, not yet decoded: splitting a file is cheap, so a large bundle
/// can be decoded (and parsed) on several threads.
#[derive(Clone, Copy, Debug)]
pub enum Block<'a> {
    /// A whole DER file.
    Der(&'a [u8]),
    /// The base64 lines between a PEM `BEGIN CERTIFICATE` and `END CERTIFICATE`.
    Pem(&'a [u8]),
}

impl Block<'_> {
    /// The DER bytes.
    pub fn decode(&self) -> Result<Vec<u8>, &'static str> {
        match self {
            Block::Der(der) => Ok(der.to_vec()),
            Block::Pem(body) => {
                let mut base64_text = Vec::with_capacity(body.len());
                for line in body.split(|byte| *byte == b'\n') {
                    base64_text.extend_from_slice(line.trim_ascii());
                }
                base64::engine::general_purpose::STANDARD
                    .decode(&base64_text)
                    .map_err(|_| "malformed PEM: a CERTIFICATE block is not valid base64")
            }
        }
    }
}

/// Splits a file into its certificates: the `CERTIFICATE` blocks of a PEM file (other blocks,
/// such as a key in a combined file, are skipped) or one DER certificate.
///
/// Hand-rolled on purpose: on a 10,000-certificate bundle the `pem` crate spent 35% of
/// `inspect`'s instructions collecting characters and rustls-pki-types' base64 decoder 16%;
/// splitting on the armour lines and decoding with the `base64` crate's table decoder is
/// several times cheaper (see BENCHMARKS.md).
pub fn certificate_blocks<'a>(bytes: &'a [u8], path: &str) -> Result<Vec<Block<'a>>, PkiError> {
    let invalid = |reason: &str| PkiError::InvalidCertificate {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    // DER when the whole file is exactly one DER SEQUENCE. Anything else is read as PEM, as
    // OpenSSL reads it: armour anywhere in the file, whatever comes before it (a first line
    // such as `0 - generated bundle` starts with the byte of a DER SEQUENCE, 0x30).
    if is_one_der_sequence(bytes) || (bytes.first() == Some(&0x30) && find(bytes, BEGIN).is_none())
    {
        return Ok(vec![Block::Der(bytes)]);
    }
    pem_blocks(bytes, path)
}

/// The `CERTIFICATE` blocks of PEM text (a whole file, or a part of one that
/// [`pem_cut`] cut), with [`certificate_blocks`]' errors.
pub fn pem_blocks<'a>(bytes: &'a [u8], path: &str) -> Result<Vec<Block<'a>>, PkiError> {
    let invalid = |reason: &str| PkiError::InvalidCertificate {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut blocks = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = find(body, END)
            .ok_or_else(|| invalid("truncated PEM: a CERTIFICATE block has no END line"))?;
        blocks.push(Block::Pem(&body[..end]));
        rest = &body[end + END.len()..];
    }
    if blocks.is_empty() {
        return Err(invalid(if find(bytes, b"PRIVATE KEY-----").is_some() {
            HOLDS_A_KEY
        } else {
            NO_BLOCK
        }));
    }
    Ok(blocks)
}

/// The armour lines of a PEM certificate block.
const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// Why [`certificate_blocks`] refused text that holds no certificate block at all.
pub const NO_BLOCK: &str = "no PEM CERTIFICATE block found";

/// True when `bytes` holds the first line of a PEM certificate block: a file that starts
/// so is PEM, and can be read part by part ([`pem_cut`]).
pub fn has_pem_begin(bytes: &[u8]) -> bool {
    find(bytes, BEGIN).is_some()
}

/// The length of the longest start of `bytes` that ends with the END line of a PEM
/// certificate block (0 when there is none): a large bundle is split there and read a part
/// at a time, each part holding whole blocks only. The first `searched` bytes are known to
/// hold no END line (they were searched before), so only the rest is searched: a file that
/// never ends a block costs one pass, not one per part.
pub fn pem_cut(bytes: &[u8], searched: usize) -> usize {
    let mut from = searched.saturating_sub(END.len() - 1).min(bytes.len());
    let mut cut = 0;
    while let Some(at) = find(&bytes[from..], END) {
        cut = from + at + END.len();
        from = cut;
    }
    cut
}

/// True when `bytes` is exactly one DER SEQUENCE (tag 0x30, definite length covering the
/// rest of the file).
fn is_one_der_sequence(bytes: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = bytes else {
        return false;
    };
    let (length, header) = if *first < 0x80 {
        (usize::from(*first), 2)
    } else {
        let count = usize::from(*first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return false;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, 2 + count)
    };
    header.checked_add(length) == Some(bytes.len())
}

/// Position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut offset = 0;
    while let Some(position) = haystack[offset..].iter().position(|byte| *byte == first) {
        let start = offset + position;
        if haystack[start..].starts_with(needle) {
            return Some(start);
        }
        offset = start + 1;
    }
    None
}

/// PEM text of one DER object with LF line ends, e.g. `to_pem("CERTIFICATE", der)`. (The
/// `pem` crate's default is CRLF, which tools accept but which looks like a mangled file.)
pub fn to_pem(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Parses one DER certificate, requiring that nothing trails it.
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], certificate)) => Ok(certificate),
        Ok(_) => Err("trailing data after the certificate".into()),
        Err(error) => Err(format!(
            "it is not a valid X.509 certificate ({}); check the file with `openssl x509 -noout -text -in FILE`, or export it again",
            parse_error_sentence(&error)
        )),
    }
}

/// x509-parser's error as words: its own text is parser-internal (`Parsing Error:
/// Der(UnexpectedTag { expected: Some(Tag(16)), actual: Tag(20) })`) and never shown.
fn parse_error_sentence(
    error: &x509_parser::nom::Err<x509_parser::error::X509Error>,
) -> &'static str {
    use x509_parser::error::X509Error as E;
    match error {
        x509_parser::nom::Err::Incomplete(_) => "it is truncated",
        x509_parser::nom::Err::Error(error) | x509_parser::nom::Err::Failure(error) => {
            match error {
                E::InvalidVersion => "its version field is invalid",
                E::InvalidSerial => "its serial number is invalid",
                E::InvalidAlgorithmIdentifier => "an algorithm identifier is invalid",
                E::InvalidX509Name => "its subject or issuer name is invalid",
                E::InvalidDate => "its validity dates are invalid",
                E::InvalidSPKI => "its public key is invalid",
                E::InvalidExtensions | E::DuplicateExtensions => {
                    "its extensions are invalid or repeated"
                }
                E::InvalidSignatureValue => "its signature value is invalid",
                E::Der(_) | E::NomError(_) => "its DER encoding is corrupt or truncated",
                _ => "its structure is invalid",
            }
        }
    }
}

/// What a certificate is for, derived from basicConstraints and extendedKeyUsage.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum Role {
    /// basicConstraints CA:TRUE.
    #[serde(rename = "ca")]
    Ca,
    /// A leaf with serverAuth and not clientAuth.
    #[serde(rename = "server")]
    Server,
    /// A leaf with clientAuth and not serverAuth.
    #[serde(rename = "client")]
    Client,
    /// A leaf with both serverAuth and clientAuth.
    #[serde(rename = "server+client")]
    ServerClient,
    /// Anything else: no EKU (Go treats that as "any usage"), or other purposes.
    #[serde(rename = "other")]
    Other,
}

impl Role {
    /// The name used in text and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Server => "server",
            Role::Client => "client",
            Role::ServerClient => "server+client",
            Role::Other => "other",
        }
    }

    /// Classifies a parsed certificate.
    pub fn of(certificate: &X509Certificate<'_>) -> Role {
        if certificate
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca)
        {
            return Role::Ca;
        }
        match certificate.extended_key_usage().ok().flatten() {
            Some(eku) => match (eku.value.server_auth, eku.value.client_auth) {
                (true, true) => Role::ServerClient,
                (true, false) => Role::Server,
                (false, true) => Role::Client,
                (false, false) => Role::Other,
            },
            None => Role::Other,
        }
    }
}

/// Subject alternative names grouped by type (values as a TLS client matches them).
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct SanList {
    /// DNS names.
    pub dns: Vec<String>,
    /// IP addresses.
    pub ip: Vec<String>,
    /// URIs (e.g. SPIFFE IDs).
    pub uri: Vec<String>,
    /// E-mail addresses.
    pub email: Vec<String>,
    /// Other kinds (directory names, otherName…), as text.
    pub other: Vec<String>,
}

impl SanList {
    /// All host names (DNS then IP) in certificate order within each kind.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.dns.iter().chain(&self.ip).map(String::as_str)
    }

    /// True when there is no name at all.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty()
            && self.ip.is_empty()
            && self.uri.is_empty()
            && self.email.is_empty()
            && self.other.is_empty()
    }

    /// Reads the SAN extension of a certificate.
    pub fn of(certificate: &X509Certificate<'_>) -> SanList {
        let mut list = SanList::default();
        let Ok(Some(san)) = certificate.subject_alternative_name() else {
            return list;
        };
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => list.dns.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => list.ip.push(ip_to_string(bytes)),
                GeneralName::URI(uri) => list.uri.push((*uri).to_owned()),
                GeneralName::RFC822Name(email) => list.email.push((*email).to_owned()),
                GeneralName::DirectoryName(name) => list.other.push(format!("dirName:{name}")),
                GeneralName::OtherName(oid, _) => {
                    list.other.push(format!("otherName:{}", oid.to_id_string()));
                }
                GeneralName::RegisteredID(oid) => {
                    list.other
                        .push(format!("registeredID:{}", oid.to_id_string()));
                }
                GeneralName::X400Address(_) => list.other.push("x400Address".into()),
                GeneralName::EDIPartyName(_) => list.other.push("ediPartyName".into()),
                GeneralName::Invalid(_, bytes) => {
                    list.other.push(format!("invalid:{}", hex(bytes, "")));
                }
            }
        }
        list
    }
}

fn ip_to_string(bytes: &[u8]) -> String {
    ip_address(bytes).map_or_else(
        || format!("invalid({})", hex(bytes, "")),
        |ip| ip.to_string(),
    )
}

/// The address in an iPAddress name (4 or 16 bytes); `None` for any other length.
pub fn ip_address(bytes: &[u8]) -> Option<std::net::IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(std::net::Ipv4Addr::from(v4).into())
    } else {
        <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|v6| std::net::Ipv6Addr::from(v6).into())
    }
}

/// basicConstraints as found in the certificate.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct BasicConstraintsInfo {
    /// The cA flag.
    pub ca: bool,
    /// pathLenConstraint, if present.
    pub path_len: Option<u32>,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

/// The subject public key.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct PublicKeyInfo {
    /// `ecdsa`, `ed25519`, `rsa` or `unknown`.
    pub algorithm: String,
    /// Key size in bits (256 for P-256 and Ed25519, the modulus size for RSA).
    pub bits: usize,
    /// Named curve for ECDSA keys: `P-256`, `P-384`, `P-521`.
    pub curve: Option<String>,
    /// Human description, e.g. `ECDSA P-256`, `RSA 4096`.
    pub description: String,
}

impl PublicKeyInfo {
    /// Describes the public key of a certificate.
    pub fn of(certificate: &X509Certificate<'_>) -> PublicKeyInfo {
        let spki = certificate.public_key();
        let algorithm_oid = &spki.algorithm.algorithm;
        if *algorithm_oid == oid_registry::OID_SIG_ED25519 {
            return PublicKeyInfo {
                algorithm: "ed25519".into(),
                bits: 256,
                curve: None,
                description: "Ed25519".into(),
            };
        }
        match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let bits = super::key::rsa_modulus_bits_from_modulus(rsa.modulus);
                PublicKeyInfo {
                    algorithm: "rsa".into(),
                    bits,
                    curve: None,
                    description: format!("RSA {bits}"),
                }
            }
            Ok(PublicKey::EC(point)) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.as_oid().ok())
                    .map(|oid| {
                        if oid == oid_registry::OID_EC_P256 {
                            "P-256".to_owned()
                        } else if oid == oid_registry::OID_NIST_EC_P384 {
                            "P-384".to_owned()
                        } else if oid == oid_registry::OID_NIST_EC_P521 {
                            "P-521".to_owned()
                        } else {
                            oid.to_id_string()
                        }
                    });
                let description = format!("ECDSA {}", curve.as_deref().unwrap_or("unknown curve"));
                PublicKeyInfo {
                    algorithm: "ecdsa".into(),
                    bits: point.key_size(),
                    curve,
                    description,
                }
            }
            _ => PublicKeyInfo {
                algorithm: "unknown".into(),
                bits: 0,
                curve: None,
                description: format!("unknown ({})", algorithm_oid.to_id_string()),
            },
        }
    }
}

/// Everything `inspect` reports about one certificate. Field names are the JSON contract
/// (documented in docs/reference.md, "JSON output").
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct CertSummary {
    /// The file the certificate came from.
    pub path: String,
    /// Position of the certificate in that file, from 0.
    pub index: usize,
    /// `ca`, `server`, `client`, `server+client` or `other`.
    pub role: Role,
    /// Subject distinguished name, RFC 4514 style.
    pub subject: String,
    /// The subject's common name, when it has one.
    pub common_name: Option<String>,
    /// Issuer distinguished name.
    pub issuer: String,
    /// True when subject and issuer are the same and the certificate verifies with its
    /// own key.
    pub self_signed: bool,
    /// Serial number, lower-case hex bytes separated by colons.
    pub serial: String,
    /// Start of validity.
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "crate::pki::lifetime::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Days from now until notAfter, rounded to the nearest day (negative once expired).
    pub days_remaining: i64,
    /// notAfter is in the past.
    pub expired: bool,
    /// notBefore is in the future.
    pub not_yet_valid: bool,
    /// Subject alternative names by type.
    pub sans: SanList,
    /// keyUsage bits by RFC 5280 name (`digitalSignature`, `keyCertSign`, …); empty when the
    /// extension is absent.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage purposes (`serverAuth`, `clientAuth`, other OIDs dotted); empty when
    /// absent.
    pub extended_key_usage: Vec<String>,
    /// basicConstraints, or null when absent.
    pub basic_constraints: Option<BasicConstraintsInfo>,
    /// The subject public key.
    pub public_key: PublicKeyInfo,
    /// Signature algorithm, e.g. `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// X.509 version: 1, 2 or 3.
    pub version: u32,
    /// Subject key identifier, hex with colons, when present.
    pub subject_key_id: Option<String>,
    /// Authority key identifier (key id), hex with colons, when present.
    pub authority_key_id: Option<String>,
    /// SHA-256 of the DER certificate, upper-case hex with colons (as `openssl x509
    /// -fingerprint -sha256` prints it).
    pub sha256_fingerprint: String,
    /// For the first certificate of `NAME.crt`: the matching `NAME.key`, if there is one.
    pub key_file: Option<KeyFileStatus>,
}

/// Whether the key file beside a certificate belongs to it.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct KeyFileStatus {
    /// The key file.
    pub path: String,
    /// True or false when it could be compared; null when the key could not be read (see
    /// `error`) or is encrypted.
    pub matches: Option<bool>,
    /// The key is an encrypted PKCS#8 key.
    pub encrypted: bool,
    /// Why the key could not be compared, if so.
    pub error: Option<String>,
}

impl CertSummary {
    /// Summarizes one DER certificate found at `path` (position `index`), with expiry
    /// relative to `now`.
    pub fn new(
        der: &[u8],
        path: &str,
        index: usize,
        now: OffsetDateTime,
    ) -> Result<Self, PkiError> {
        let certificate = parse(der).map_err(|reason| PkiError::InvalidCertificate {
            path: path.to_owned(),
            reason: if index > 0 {
                format!("certificate #{}: {reason}", index + 1)
            } else {
                reason
            },
        })?;
        let not_before = certificate.validity().not_before.to_datetime();
        let not_after = certificate.validity().not_after.to_datetime();
        let mut key_usage = Vec::new();
        let mut extended_key_usage = Vec::new();
        let mut basic_constraints = None;
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        for extension in certificate.extensions() {
            match extension.parsed_extension() {
                ParsedExtension::KeyUsage(usage) => key_usage = key_usage_names(usage.flags),
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    extended_key_usage = extended_key_usage_names(eku);
                }
                ParsedExtension::BasicConstraints(bc) => {
                    basic_constraints = Some(BasicConstraintsInfo {
                        ca: bc.ca,
                        path_len: bc.path_len_constraint,
                        critical: extension.critical,
                    });
                }
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(hex(id.0, ":")),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|id| hex(id.0, ":"));
                }
                _ => {}
            }
        }
        let self_signed = certificate.subject().as_raw() == certificate.issuer().as_raw()
            && certificate.verify_signature(None).is_ok();
        Ok(CertSummary {
            path: path.to_owned(),
            index,
            role: Role::of(&certificate),
            subject: certificate.subject().to_string(),
            common_name: certificate
                .subject()
                .iter_common_name()
                .next()
                .and_then(|attribute| attribute.as_str().ok())
                .map(str::to_owned),
            issuer: certificate.issuer().to_string(),
            self_signed,
            serial: hex(certificate.raw_serial(), ":"),
            not_before,
            not_after,
            days_remaining: super::lifetime::round_days(not_after - now),
            expired: not_after < now,
            not_yet_valid: not_before > now,
            sans: SanList::of(&certificate),
            key_usage,
            extended_key_usage,
            basic_constraints,
            public_key: PublicKeyInfo::of(&certificate),
            signature_algorithm: signature_algorithm_name(&certificate),
            version: certificate.version().0 + 1,
            subject_key_id,
            authority_key_id,
            sha256_fingerprint: sha256_fingerprint(der),
            key_file: None,
        })
    }

    /// The first host name (DNS, else IP) in the SANs.
    pub fn first_host(&self) -> Option<&str> {
        self.sans.hosts().next()
    }
}

/// SHA-256 of `der` as upper-case hex with colons.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    hex_with(digest.as_ref(), ":", b"0123456789ABCDEF")
}

/// Lower-case hex of `bytes` joined with `separator`.
pub fn hex(bytes: &[u8], separator: &str) -> String {
    hex_with(bytes, separator, b"0123456789abcdef")
}

/// Table-driven hex: `write!("{:02x}")` per byte dominated `inspect` on large bundles.
fn hex_with(bytes: &[u8], separator: &str, digits: &[u8; 16]) -> String {
    let mut out = String::with_capacity(bytes.len() * (2 + separator.len()));
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push(char::from(digits[usize::from(byte >> 4)]));
        out.push(char::from(digits[usize::from(byte & 0x0f)]));
    }
    out
}

fn key_usage_names(flags: u16) -> Vec<String> {
    const NAMES: [&str; 9] = [
        "digitalSignature",
        "contentCommitment",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

fn extended_key_usage_names(eku: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut names = Vec::new();
    for (present, name) in [
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
        (eku.any, "anyExtendedKeyUsage"),
    ] {
        if present {
            names.push(name.to_owned());
        }
    }
    names.extend(
        eku.other
            .iter()
            .map(x509_parser::oid_registry::Oid::to_id_string),
    );
    names
}

fn signature_algorithm_name(certificate: &X509Certificate<'_>) -> String {
    let oid = &certificate.signature_algorithm.algorithm;
    let known = [
        (oid_registry::OID_SIG_ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (oid_registry::OID_SIG_ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
        (oid_registry::OID_SIG_ECDSA_WITH_SHA512, "ecdsa-with-SHA512"),
        (oid_registry::OID_SIG_ED25519, "Ed25519"),
        (
            oid_registry::OID_PKCS1_SHA256WITHRSA,
            "sha256WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_SHA384WITHRSA,
            "sha384WithRSAEncryption",
        ),
        (
            oid_registry::OID_PKCS1_SHA512WITHRSA,
            "sha512WithRSAEncryption",
        ),
        (oid_registry::OID_PKCS1_SHA1WITHRSA, "sha1WithRSAEncryption"),
        (oid_registry::OID_PKCS1_RSASSAPSS, "rsassaPss"),
    ];
    known
        .iter()
        .find(|(known_oid, _)| known_oid == oid)
        .map_or_else(|| oid.to_id_string(), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {

    /// A bundle is cut after its last whole block, and a search that resumes after bytes
    /// already searched finds an END line that straddles them.
    #[test]
    fn pem_cut_finds_the_last_end_line_and_resumes_where_it_stopped() {
        let block = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let text = format!("{block}{block}-----BEGIN CERTIFICATE-----\nAA");
        let two = 2 * block.len() - 1;
        assert_eq!(pem_cut(text.as_bytes(), 0), two);
        assert_eq!(pem_cut(b"no end here", 0), 0);
        // The END line of the second block starts 10 bytes before the searched mark.
        let mark = two - 10;
        assert_eq!(pem_cut(text.as_bytes(), mark), two);
        // A mark past the end is no error: nothing is left to search.
        assert_eq!(pem_cut(&text.as_bytes()[..two], two + 100), 0);
    }

    #[test]
    fn der_is_one_whole_structure_and_pem_is_armour_anywhere() {
        assert!(is_one_der_sequence(&[0x30, 0x01, 0x00]));
        assert!(is_one_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x01]));
        assert!(!is_one_der_sequence(b"0 - generated bundle\n"));
        let text =
            b"0 - generated bundle\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let blocks = certificate_blocks(text, "bundle.pem").unwrap();
        assert!(matches!(blocks[..], [Block::Pem(_)]));
        assert_eq!(blocks[0].decode().unwrap(), vec![0x30, 0x00]);
        // Without armour, a leading 0x30 is still DER (and gets DER's error).
        assert!(matches!(
            certificate_blocks(&[0x30, 0x05, 0x00], "x.der").unwrap()[..],
            [Block::Der(_)]
        ));
    }

    use super::*;

    #[test]
    fn garbage_is_reported_not_panicked() {
        for (input, expected) in [
            (&b""[..], "empty"),
            (b"hello", "no PEM CERTIFICATE"),
            (b"-----BEGIN CERTIFICATE-----\nMIIB", "truncated"),
            (
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "private key",
            ),
        ] {
            match decode_certificates(input, "x.crt") {
                Err(PkiError::InvalidCertificate { reason, .. }) => {
                    assert!(reason.contains(expected), "{reason}");
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
        assert!(parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }

    #[test]
    fn key_usage_bits_are_named_in_rfc_order() {
        // digitalSignature is bit 0 in x509-parser's flag numbering.
        assert_eq!(key_usage_names(0b1), ["digitalSignature"]);
        assert_eq!(key_usage_names(0b110_0000), ["keyCertSign", "cRLSign"]);
    }

    #[test]
    fn hex_and_fingerprint_formats() {
        assert_eq!(hex(&[0x0a, 0xff], ":"), "0a:ff");
        let fingerprint = sha256_fingerprint(b"");
        assert!(fingerprint.starts_with("E3:B0:C4:42"));
        assert_eq!(fingerprint.len(), 95);
    }
}
