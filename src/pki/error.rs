//! The one error type of the PKI core. Every variant carries the input or file that was wrong
//! and its message says what to do; the CLI adds which command was running.

use thiserror::Error;

/// Errors from parsing, generating, loading and signing. Messages are lower case, name the
/// offending value or file in backticks and end with what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The CA certificate is not valid now.
    #[error(
        "CA certificate `{path}` expired on {not_after}; create a new CA with `otel-pki init --force` or `otel-pki ca rotate --stage`"
    )]
    CaExpired {
        /// The CA certificate file.
        path: String,
        /// Its notAfter, RFC 3339.
        not_after: String,
    },

    /// A certificate file could not be parsed.
    #[error("`{path}` is not a usable certificate: {reason}")]
    InvalidCertificate {
        /// The certificate file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A common name is empty, too long or has control characters.
    #[error("invalid {flag} `{input}`: {reason}")]
    InvalidCommonName {
        /// The flag that gave it, e.g. `--server-cn`.
        flag: &'static str,
        /// The value given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A Kubernetes name (Service, namespace, object, cluster domain) was refused.
    #[error("invalid {flag} `{input}`: {reason}")]
    InvalidKubernetesName {
        /// The flag that gave it, e.g. `--k8s-service`.
        flag: &'static str,
        /// The value given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A duration such as `--validity 90x` could not be parsed.
    #[error("invalid duration `{input}`: {reason}")]
    InvalidDuration {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A key file could not be parsed.
    #[error("`{path}` is not a usable private key: {reason}")]
    InvalidKey {
        /// The key file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A subject alternative name was refused.
    #[error("invalid SAN `{input}`: {reason}")]
    InvalidSan {
        /// The name as given.
        input: String,
        /// Why it was refused.
        reason: String,
    },

    /// Generating a key or certificate failed inside the crypto library.
    #[error("could not generate the {what}: {reason}")]
    Generate {
        /// What was being generated.
        what: &'static str,
        /// The library's reason.
        reason: String,
    },

    /// A signed certificate failed its own verification (a bug guard: nothing is written).
    #[error("the new certificate failed its self-check ({reason}); nothing was written")]
    SelfCheck {
        /// What failed.
        reason: String,
    },

    /// The CA's subject cannot be reproduced byte for byte as an issuer name.
    #[error(
        "cannot sign with CA `{path}`: {reason}; Go matches issuers by exact bytes, so leaves signed with it would not chain"
    )]
    IssuerName {
        /// The CA certificate file.
        path: String,
        /// Why.
        reason: String,
    },

    /// A PKCS#8 key is encrypted but this operation needs it in clear.
    #[error(
        "`{path}` is an encrypted private key; the OpenTelemetry Collector cannot read encrypted keys, so leaf keys must be unencrypted PKCS#8"
    )]
    KeyEncrypted {
        /// The key file.
        path: String,
    },

    /// An OpenSSL "traditional" encrypted PEM key.
    #[error(
        "`{path}` is a legacy OpenSSL encrypted PEM key (Proc-Type: 4,ENCRYPTED), which is not supported; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in {path} -out {path}.p8`"
    )]
    KeyLegacyEncrypted {
        /// The key file.
        path: String,
    },

    /// A key does not belong to the certificate it is paired with.
    #[error(
        "key `{key_path}` does not match certificate `{cert_path}` (different public keys); use the key that was generated with the certificate"
    )]
    KeyMismatch {
        /// The key file.
        key_path: String,
        /// The certificate file.
        cert_path: String,
    },

    /// A certificate given as CA is not one.
    #[error("`{path}` is not a CA certificate: {reason}")]
    NotACa {
        /// The certificate file.
        path: String,
        /// What is missing.
        reason: String,
    },

    /// The requested leaf would expire after its CA.
    #[error(
        "the certificate would expire on {not_after}, {excess} after its CA `{ca_path}` (expires {ca_not_after}); use at most `--validity {max_days}d`, or rotate the CA with `otel-pki ca rotate --stage`"
    )]
    OutlivesCa {
        /// The CA certificate file.
        ca_path: String,
        /// The CA's notAfter.
        ca_not_after: String,
        /// How much too long, e.g. `42 days`.
        excess: String,
        /// Longest allowed validity in whole days.
        max_days: i64,
        /// The leaf's requested notAfter.
        not_after: String,
    },

    /// The CA's pathlen forbids signing an intermediate CA.
    #[error(
        "CA `{path}` has basicConstraints pathlen 0: it may sign leaf certificates only, not an intermediate CA; create a CA that allows one with `otel-pki init --ca-path-len 1` (a new CA: every certificate must be re-issued), or hand cert-manager this CA without --intermediate"
    )]
    PathLenZero {
        /// The CA certificate file.
        path: String,
    },

    /// A passphrase was given but is empty.
    #[error("the passphrase from {origin} is empty")]
    PassphraseEmpty {
        /// Where it came from.
        origin: String,
    },

    /// The key is encrypted and no passphrase was given.
    #[error(
        "CA key `{path}` is encrypted; give its passphrase with `--passphrase-file FILE` or the environment variable OTEL_PKI_CA_PASSPHRASE"
    )]
    PassphraseMissing {
        /// The key file.
        path: String,
    },

    /// Decryption failed: the passphrase is wrong.
    #[error("wrong passphrase for CA key `{path}` (passphrase from {origin})")]
    PassphraseWrong {
        /// The key file.
        path: String,
        /// Where the passphrase came from.
        origin: String,
    },
}
