//! The integration test binary: runs the real `otel-pki` binary and checks its files with
//! independent verifiers (rustls/webpki handshakes, OpenSSL). One module per verb.

#![allow(unreachable_pub)] // helpers are `pub` for the test modules, not an API

mod support;

/// Bad input of every kind: one clear line, exit 2, nothing written.
mod bad_input;
/// `issue client --count N` / `--names-from FILE`: fleets of client certificates.
mod fleet;
/// --help, completions, man pages.
mod help;
/// `init`: files, modes, profiles, handshakes, --force backups, all-or-nothing.
mod init;
/// `inspect`: text and JSON, bundles, DER, bad files, --expiring-within.
mod inspect;
/// `issue server|client`: signing with an existing CA, refusals.
mod issue;
/// `k8s secret` and `k8s cert-manager` (manifests parsed, checked, schema-validated,
/// golden files), and the Kubernetes Service names of `init` and `issue server`.
mod k8s;
/// README.md's console examples, run as written.
mod readme;
