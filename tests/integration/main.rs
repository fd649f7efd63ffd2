//! The integration test binary: runs the real `otel-pki` binary and checks its files with
//! independent verifiers (rustls/webpki handshakes, OpenSSL). One module per verb.

#![allow(unreachable_pub)] // helpers are `pub` for the test modules, not an API

mod support;

/// Bad input of every kind: one clear line, exit 2, nothing written.
mod bad_input;
/// `check`: every PASS, WARN and FAIL line of a set report.
mod check;
/// --help, completions, man pages.
mod help;
/// `init`: files, modes, profiles, handshakes, --force backups, all-or-nothing.
mod init;
/// `inspect`: text and JSON, bundles, DER, bad files, --expiring-within.
mod inspect;
/// `issue server|client`: signing with an existing CA, refusals.
mod issue;
/// `probe`: rustls and `openssl s_server` endpoints, refused connections, DNS failures.
mod probe;
/// README.md's console examples, run as written.
mod readme;
/// `selftest`: in-process mutual TLS, positive and negative halves.
mod selftest;
/// `verify`: every verdict with certificates made for it (also the fixture helpers).
mod verify;
