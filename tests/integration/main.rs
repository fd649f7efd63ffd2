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
/// --help, completions, man pages.
mod help;
/// `init`: files, modes, profiles, handshakes, --force backups, all-or-nothing.
mod init;
/// `inspect`: text and JSON, bundles, DER, bad files, --expiring-within.
mod inspect;
/// Go crypto/tls, gRPC core, OpenSSL and pkilint against the generated certificates.
mod interop;
/// `issue server|client`: signing with an existing CA, refusals.
mod issue;
/// `k8s secret` and `k8s cert-manager` (manifests parsed, checked, schema-validated,
/// golden files), and the Kubernetes Service names of `init` and `issue server`.
mod k8s;
/// `k8s deployment`: Deployments and OpenTelemetryCollectors whose mounts, configuration
/// and Services agree (parsed, checked, schema-validated, linted, golden files), and a
/// handshake through the mounted paths.
mod k8s_deployment;
/// `lint-config`: one broken file per rule, exit codes, stdin, JSON.
mod lint_config;
/// `probe`: rustls and `openssl s_server` endpoints, refused connections, DNS failures.
mod probe;
/// README.md's console examples, run as written.
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
/// `verify`: every verdict with certificates made for it (also the fixture helpers).
mod verify;
