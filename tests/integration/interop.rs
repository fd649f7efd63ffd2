//! The certificates against the TLS stacks the OpenTelemetry world runs, over real
//! handshakes on 127.0.0.1: Go's crypto/tls (the Collector), gRPC's C core with BoringSSL
//! (the Python, C++, Ruby and PHP OTLP/gRPC exporters), OpenSSL (`s_server`/`s_client`,
//! `verify -purpose`), and DigiCert pkilint for RFC 5280.
//!
//! The tools are installed by `.ci/interop-setup` (Go from Debian, grpcio and pkilint in
//! `target/interop/venv`). build.rs looks for them at build time: on a developer machine
//! without them the tests are ignored, so `cargo test` reports them as `ignored` with the
//! reason. In CI (`OTEL_PKI_INTEROP_REQUIRED=1`, set by `.ci/run`) nothing is ignored and a
//! missing tool fails the test.
//!
//! The helpers in tests/interop/ exit 0 for a completed exchange, 1 for a TLS rejection and
//! 2 for a setup problem, so a negative case asserts exactly 1.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tool at `path`, or `None` (after saying why) when interop tools are not required.
/// Normally a missing tool has already made build.rs ignore the test; this covers a tool
/// removed after the build.
fn tool(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{what} not found at {}: run .ci/interop-setup",
        path.display()
    );
    assert!(
        std::env::var_os("OTEL_PKI_INTEROP_REQUIRED").is_none(),
        "{message}"
    );
    eprintln!("interop test not run: {message}");
    None
}

/// The Go crypto/tls checker (`tests/interop/go`), built by `.ci/interop-setup`.
pub fn go_checker() -> Option<PathBuf> {
    tool(
        repo().join("target/interop/mtls_check"),
        "the Go mTLS checker",
    )
}

/// The interop virtualenv's Python (grpcio, pkilint).
pub fn python() -> Option<PathBuf> {
    tool(
        repo().join("target/interop/venv/bin/python"),
        "the interop virtualenv (grpcio, pkilint)",
    )
}

/// Runs a checker, returning its exit code and its stdout and stderr.
pub fn run(command: &mut Command) -> (i32, String) {
    let output = command.output().expect("run interop checker");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn make_set(work: &Path, dir: &str, key_type: &str) -> PathBuf {
    init(work, &["-q", "--dir", dir, "--key-type", key_type]);
    work.join(dir)
}

#[test]
#[cfg_attr(
    interop_go_missing,
    ignore = "needs the Go mTLS checker: run .ci/interop-setup"
)]
fn go_crypto_tls_accepts_every_key_type_for_its_purpose_only() {
    let Some(checker) = go_checker() else { return };
    let work = workdir();
    let other = make_set(work.path(), "other", "ecdsa-p256");
    for key_type in KEY_TYPES {
        let dir = make_set(work.path(), key_type, key_type);
        let go = |extra: &[&str]| {
            let mut command = Command::new(&checker);
            command.arg("-dir").arg(&dir).args(extra);
            run(&mut command)
        };
        for host in ["localhost", "127.0.0.1", "::1"] {
            for version in ["1.2", "1.3"] {
                let (code, text) = go(&["-host", host, "-tls", version]);
                assert_eq!(code, 0, "{key_type} host {host} TLS {version}: {text}");
            }
        }
        let client_as = |cert: &Path, key: &Path| {
            let mut command = Command::new(&checker);
            command
                .arg("-dir")
                .arg(&dir)
                .arg("-client-cert")
                .arg(cert)
                .arg("-client-key")
                .arg(key);
            run(&mut command)
        };
        let (code, text) = client_as(&dir.join("server.crt"), &dir.join("server.key"));
        assert_eq!(
            code, 1,
            "{key_type}: a server certificate must not log in as a collector: {text}"
        );
        assert!(
            text.contains("incompatible key usage") || text.contains("bad certificate"),
            "{text}"
        );
        let (code, text) = client_as(&other.join("client.crt"), &other.join("client.key"));
        assert_eq!(
            code, 1,
            "{key_type}: a client from another CA must be rejected: {text}"
        );
        let (code, text) = go(&["-no-client-cert"]);
        assert_eq!(
            code, 1,
            "{key_type}: no client certificate must be rejected: {text}"
        );
        let (code, text) = go(&["-host", "jaeger-backend"]);
        assert_eq!(
            code, 1,
            "{key_type}: a name not in the SANs must be rejected: {text}"
        );
        assert!(text.contains("jaeger-backend"), "{text}");
    }
}

#[test]
#[cfg_attr(
    interop_venv_missing,
    ignore = "needs grpcio and pkilint: run .ci/interop-setup"
)]
fn grpc_core_accepts_ecdsa_and_rsa_and_refuses_ed25519() {
    let Some(python) = python() else { return };
    let script = repo().join("tests/interop/grpc_mtls.py");
    let work = workdir();
    for key_type in KEY_TYPES {
        let dir = make_set(work.path(), key_type, key_type);
        let (code, text) = run(Command::new(&python).arg(&script).arg(&dir));
        if key_type == "ed25519" {
            // grpc/grpc#24252: BoringSSL in gRPC core offers no Ed25519 signatures. This is
            // why `init --key-type ed25519` warns.
            assert_eq!(code, 1, "ed25519 unexpectedly worked in gRPC core: {text}");
        } else {
            assert_eq!(code, 0, "{key_type} over gRPC: {text}");
            let (code, text) = run(Command::new(&python)
                .arg(&script)
                .arg(&dir)
                .arg("--no-client-cert"));
            assert_eq!(
                code, 1,
                "{key_type}: gRPC must reject a client without a certificate: {text}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    interop_go_missing,
    ignore = "needs the Go mTLS checker: run .ci/interop-setup"
)]
fn openssl_handshakes_and_purposes() {
    let Some(_) = go_checker() else { return };
    let script = repo().join("tests/interop/openssl_checks.sh");
    let work = workdir();
    let other = make_set(work.path(), "other", "ecdsa-p256");
    for key_type in KEY_TYPES {
        let dir = make_set(work.path(), key_type, key_type);
        let (code, text) = run(Command::new("bash").arg(&script).arg(&dir).arg(&other));
        assert_eq!(code, 0, "{key_type}: {text}");
        assert!(text.contains("ALL OK"), "{text}");
    }
}

#[test]
#[cfg_attr(
    interop_venv_missing,
    ignore = "needs grpcio and pkilint: run .ci/interop-setup"
)]
fn pkilint_finds_nothing_to_complain_about() {
    let Some(python) = python() else { return };
    let script = repo().join("tests/interop/pkilint_check.py");
    let work = workdir();
    for key_type in KEY_TYPES {
        let dir = make_set(work.path(), key_type, key_type);
        let (code, text) = run(Command::new(&python).arg(&script).arg(&dir));
        assert_eq!(code, 0, "{key_type}: pkilint: {text}");
    }
    // The allow-list is only for pkilint's single-label DNS name false positive: a set with
    // dotted names passes in strict mode.
    init(
        work.path(),
        &[
            "-q",
            "--dir",
            "dotted",
            "--san",
            "gateway.observability.svc,10.0.0.5",
            "--client-san",
            "agent.observability.svc",
        ],
    );
    let (code, text) = run(Command::new(&python)
        .arg(&script)
        .arg(work.path().join("dotted"))
        .arg("--strict"));
    assert_eq!(code, 0, "pkilint --strict: {text}");
}

/// The Kubernetes tests validate every manifest with kubernetes-validate when it is
/// installed (and skip only that step when it is not); this test makes its absence show in
/// the summary, and checks that it really rejects a bad manifest.
#[test]
#[cfg_attr(
    kubernetes_validate_missing,
    ignore = "needs kubernetes-validate: run .ci/interop-setup"
)]
fn kubernetes_validate_checks_manifests() {
    let program = tool(
        repo().join("target/interop/venv/bin/kubernetes-validate"),
        "kubernetes-validate",
    );
    let Some(program) = program else { return };
    let work = workdir();
    init(
        work.path(),
        &["-q", "--k8s-service", "otel-gateway.observability"],
    );
    let output = otel_pki(work.path())
        .args([
            "k8s",
            "secret",
            "--role",
            "server",
            "--out",
            "secret.yaml",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let validate = |file: &str| {
        run(Command::new(&program)
            .args(["--kubernetes-version", "1.36.0", "--strict", "--quiet"])
            .arg(work.path().join(file)))
    };
    let (code, text) = validate("secret.yaml");
    assert_eq!(code, 0, "{text}");
    std::fs::write(
        work.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ntype: Opaque\nbogus: 1\n",
    )
    .unwrap();
    let (code, text) = validate("bad.yaml");
    assert_ne!(code, 0, "an unknown field must fail --strict: {text}");
}
