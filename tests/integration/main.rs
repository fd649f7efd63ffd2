//! The integration test binary: runs the real `otel-pki` binary and checks its files with
//! independent verifiers (rustls/webpki handshakes, OpenSSL). One module per verb.

#![allow(unreachable_pub)] // helpers are `pub` for the test modules, not an API

mod support;

/// Bad input of every kind: one clear line, exit 2, nothing written.
mod bad_input;
/// `ca rotate`: the three stages, refusals, and handshakes across stages.
mod ca_rotate;
/// `check`: every PASS, WARN and FAIL line of a set report.
mod check;
/// `config TARGET`: golden files, every rendered file lint-clean, handshakes, warnings.
mod config;
/// `issue client --count N` / `--names-from FILE`: fleets of client certificates.
mod fleet;
/// A new fleet killed with SIGKILL while it is signed and staged: all or nothing.
mod fleet_crash;
/// --help, completions, man pages.
mod help;
/// Hostile input (issue 10): silent, dripping, cut-off and oversized servers, terminal
/// controls in names and answers, FIFOs and devices, critical extensions.
mod hostile;
/// `init`: files, modes, profiles, handshakes, --force backups, all-or-nothing.
mod init;
/// `inspect`: text and JSON, bundles, DER, bad files, --expiring-within.
mod inspect;
/// Go crypto/tls, gRPC core, OpenSSL and pkilint against the generated certificates.
mod interop;
/// `issue server|client`: signing with an existing CA, refusals.
mod issue;
/// `--format json` failures: one JSON error object on stdout, stable codes, exit 2.
mod json_errors;
/// `k8s secret` and `k8s cert-manager` (manifests parsed, checked, schema-validated,
/// golden files), and the Kubernetes Service names of `init` and `issue server`.
mod k8s;
/// `k8s deployment`: Deployments and OpenTelemetryCollectors whose mounts, configuration
/// and Services agree (parsed, checked, schema-validated, linted, golden files), and a
/// handshake through the mounted paths.
mod k8s_deployment;
/// `keystore`: PKCS#12 files read by OpenSSL, keytool and JSSE (mTLS with rustls).
mod keystore;
/// `lint-config`: one broken file per rule, exit codes, stdin, JSON.
mod lint_config;
/// A seeded mutation test of the parsers behind inspect, verify, lint-config and probe: no
/// panic, no hang, bounded memory.
mod mutation;
/// `probe`: rustls and `openssl s_server` endpoints, refused connections, DNS failures.
mod probe;
/// The console examples of README.md and docs/*.md, run as written.
mod readme;
/// `renew`: what is due, what is kept, the generation layout, rollback, and 50 renewals
/// under continuous mTLS traffic.
mod renew;
/// `renew` killed with SIGKILL at random points: the set is always the old or the new one.
mod renew_crash;
/// `selftest`: in-process mutual TLS, positive and negative halves.
mod selftest;
/// Every writing command killed with SIGKILL at random points: no dangling name, keys
/// match, a rerun completes.
mod set_crash;
/// Racing writers, the set's lock, planted links and shared directories.
mod set_safety;
/// `sign`: certificates for CSRs made by `openssl req`, checked like `issue`.
mod sign;
/// Lifetimes and times: the same days in every command, whole seconds in JSON.
mod times;
/// `verify`: every verdict with certificates made for it (also the fixture helpers).
mod verify;
