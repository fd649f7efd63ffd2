//! Certificate signing requests (PKCS#10): parsed, their self-signature checked, and what
//! they ask for sorted into what a leaf of the set may carry (the common name and the names,
//! validated like `--san`) and what is never copied (CA:TRUE, key and extended key usages,
//! any other extension). The profile — not the requester — decides a leaf's usages.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;

use super::San;

/// Errors from reading a CSR; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// Not a PKCS#10 request.
    #[error(
        "`{path}` is not a certificate signing request ({reason}); make one with `openssl req -new -key KEY -out FILE.csr`"
    )]
    Invalid {
        /// The CSR file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The signature does not verify with the request's own key.
    #[error(
        "the signature of `{path}` does not verify with the key it carries: the request was altered or damaged; make it again with the device's key"
    )]
    BadSignature {
        /// The CSR file.
        path: String,
    },
    /// The key or signature algorithm is not one otel-pki signs for.
    #[error(
        "`{path}` uses a key or signature algorithm otel-pki does not sign for (such as P-521, RSA-PSS or Ed448); make the request with an ECDSA P-256 or P-384, RSA or Ed25519 key"
    )]
    UnsupportedKey {
        /// The CSR file.
        path: String,
    },
    /// A requested name is not acceptable.
    #[error(
        "`{path}` asks for the name `{name}`, which is not usable: {reason}; pass --san to choose the names"
    )]
    BadName {
        /// The CSR file.
        path: String,
        /// The name as requested.
        name: String,
        /// Why it was refused.
        reason: String,
    },
}

/// A checked CSR.
#[derive(Clone, Debug)]
pub struct Csr {
    /// The public key, DER SubjectPublicKeyInfo.
    pub subject_public_key_info: Vec<u8>,
    /// The subject's common name, if any.
    pub common_name: Option<String>,
    /// The names requested in subjectAltName, validated like `--san`.
    pub sans: Vec<San>,
    /// What was requested and will not be copied, in words (`basicConstraints CA:TRUE`, …).
    pub not_copied: Vec<String>,
}

/// Reads a CSR from PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or DER and
/// checks its signature.
pub fn parse(bytes: &[u8], path: &str) -> Result<Csr, CsrError> {
    let invalid = |reason: String| CsrError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let block = pem::parse_many(bytes)
            .map_err(|error| invalid(format!("bad PEM: {error}")))?
            .into_iter()
            .find(|block| {
                matches!(
                    block.tag(),
                    "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST"
                )
            })
            .ok_or_else(|| invalid("no `CERTIFICATE REQUEST` PEM block".into()))?;
        block.into_contents()
    } else {
        bytes.to_vec()
    };
    let (rest, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|_| invalid("the DER structure does not parse".into()))?;
    if !rest.is_empty() {
        return Err(invalid("trailing bytes after the request".into()));
    }
    if !supported_key(&csr.certification_request_info.subject_pki) {
        return Err(CsrError::UnsupportedKey {
            path: path.to_owned(),
        });
    }
    csr.verify_signature().map_err(|error| match error {
        x509_parser::error::X509Error::SignatureUnsupportedAlgorithm => CsrError::UnsupportedKey {
            path: path.to_owned(),
        },
        _ => CsrError::BadSignature {
            path: path.to_owned(),
        },
    })?;
    let info = &csr.certification_request_info;
    let common_name = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let mut sans = Vec::new();
    let mut not_copied = Vec::new();
    let extensions =
        info.iter_attributes()
            .flat_map(|attribute| match attribute.parsed_attribute() {
                ParsedCriAttribute::ExtensionRequest(request) => {
                    request.extensions.iter().collect()
                }
                _ => Vec::new(),
            });
    for raw in extensions {
        match raw.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(names) => {
                for name in &names.general_names {
                    sans.push(requested_name(name, path)?);
                }
            }
            ParsedExtension::BasicConstraints(constraints) => {
                if constraints.ca {
                    not_copied.push("basicConstraints CA:TRUE".into());
                }
            }
            ParsedExtension::KeyUsage(_) => {
                not_copied.push("keyUsage".into());
            }
            ParsedExtension::ExtendedKeyUsage(usage) => {
                let mut names = Vec::new();
                let flags = [
                    (usage.any, "anyExtendedKeyUsage"),
                    (usage.server_auth, "serverAuth"),
                    (usage.client_auth, "clientAuth"),
                    (usage.code_signing, "codeSigning"),
                    (usage.email_protection, "emailProtection"),
                    (usage.time_stamping, "timeStamping"),
                    (usage.ocsp_signing, "OCSPSigning"),
                ];
                names.extend(
                    flags
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, n)| (*n).to_owned()),
                );
                names.extend(usage.other.iter().map(ToString::to_string));
                not_copied.push(format!("extendedKeyUsage {}", names.join(", ")));
            }
            ParsedExtension::SubjectKeyIdentifier(_) => {}
            _ => not_copied.push(format!("extension {}", raw.oid.to_id_string())),
        }
    }
    Ok(Csr {
        subject_public_key_info: info.subject_pki.raw.to_vec(),
        common_name,
        sans: super::san::dedup(sans),
        not_copied,
    })
}

fn requested_name(name: &GeneralName<'_>, path: &str) -> Result<San, CsrError> {
    let bad = |shown: String, reason: String| CsrError::BadName {
        path: path.to_owned(),
        name: shown,
        reason,
    };
    let text = match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::IPAddress(bytes) => match super::certificate::ip_address(bytes) {
            Some(ip) => format!("IP:{ip}"),
            None => return Err(bad(format!("{bytes:02x?}"), "not an IP address".into())),
        },
        GeneralName::URI(uri) => format!("URI:{uri}"),
        GeneralName::RFC822Name(email) => format!("email:{email}"),
        other => {
            return Err(bad(
                other.to_string(),
                "only DNS names, IP addresses, URIs and e-mail addresses are issued".into(),
            ));
        }
    };
    San::parse(&text).map_err(|error| bad(text.clone(), error.to_string()))
}

/// ECDSA P-256 or P-384, RSA (rsaEncryption) or Ed25519: the keys otel-pki issues for.
fn supported_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> bool {
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match algorithm.as_str() {
        "1.2.840.113549.1.1.1" | "1.3.101.112" => true,
        "1.2.840.10045.2.1" => spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|curve| curve.as_oid().ok())
            .is_some_and(|curve| {
                matches!(
                    curve.to_id_string().as_str(),
                    "1.2.840.10045.3.1.7" | "1.3.132.0.34"
                )
            }),
        _ => false,
    }
}
