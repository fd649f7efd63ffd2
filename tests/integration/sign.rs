//! `sign CSR --role server|client`: CSRs made by `openssl req` for P-256, RSA and Ed25519
//! keys are signed; the certificates pass `openssl verify -purpose … -x509_strict` and a
//! real mutual-TLS handshake with the CSR's key; requested CA:TRUE and extra usages are
//! dropped; a damaged CSR is one line and exit 2.

use std::path::Path;

use crate::support::*;

/// `openssl req` for a new key of `key_type` (`ec`, `rsa`, `ed25519`): writes NAME.key and
/// NAME.csr in `dir`, with the extra `-addext` values.
fn make_csr(dir: &Path, name: &str, key_type: &str, subject: &str, addext: &[&str]) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec![
        "req", "-new", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
    ];
    match key_type {
        "ec" => args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        "rsa" => args.extend(["-newkey", "rsa:2048"]),
        other => args.extend(["-newkey", other]),
    }
    for ext in addext {
        args.extend(["-addext", ext]);
    }
    let (ok, text) = openssl(dir, &args);
    assert!(ok, "openssl req: {text}");
}

fn text_of(dir: &Path, cert: &str) -> String {
    let (ok, text) = openssl(dir, &["x509", "-in", cert, "-noout", "-text"]);
    assert!(ok, "{text}");
    text
}

#[test]
fn csrs_of_every_key_type_are_signed_and_the_certificates_work() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost"]);
    let dir = w.join("otel-certs");
    let csrs = w.join("device");
    std::fs::create_dir(&csrs).unwrap();
    for key_type in ["ec", "rsa", "ed25519"] {
        let server = format!("{key_type}-server");
        let client = format!("{key_type}-client");
        make_csr(
            &csrs,
            &server,
            key_type,
            &format!("/CN={server}"),
            &["subjectAltName=DNS:localhost,IP:127.0.0.1"],
        );
        make_csr(&csrs, &client, key_type, &format!("/CN={client}"), &[]);
        let assert = otel_pki(w)
            .arg("sign")
            .arg(csrs.join(format!("{server}.csr")))
            .args(["--role", "server"])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains("no key"), "{stderr}");
        otel_pki(w)
            .arg("sign")
            .arg(csrs.join(format!("{client}.csr")))
            .args(["--role", "client"])
            .assert()
            .success();
        assert!(dir.join(format!("{server}.crt")).exists());
        assert!(
            !dir.join(format!("{server}.key")).exists(),
            "no key is written"
        );
        assert_eq!(mode(&dir.join(format!("{server}.crt"))), 0o644);
        for (name, purpose) in [(&server, "sslserver"), (&client, "sslclient")] {
            let (ok, text) = openssl(
                &dir,
                &[
                    "verify",
                    "-CAfile",
                    "ca.crt",
                    "-purpose",
                    purpose,
                    "-x509_strict",
                    &format!("{name}.crt"),
                ],
            );
            assert!(ok, "{name}: {text}");
        }
        let (ok, text) = openssl(
            &dir,
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-purpose",
                "sslserver",
                &format!("{client}.crt"),
            ],
        );
        assert!(
            !ok,
            "a client certificate is not a server certificate: {text}"
        );
        // The device's keys join the certificates for the handshake.
        for name in [&server, &client] {
            std::fs::copy(
                csrs.join(format!("{name}.key")),
                dir.join(format!("{name}.key")),
            )
            .unwrap();
        }
        pair_handshake(&dir, &server, &client, "localhost")
            .unwrap_or_else(|error| panic!("{key_type}: {error}"));
        pair_handshake(&dir, &server, &client, "127.0.0.1")
            .unwrap_or_else(|error| panic!("{key_type}: {error}"));
    }
}

#[test]
fn requested_ca_and_extra_usages_are_not_copied() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost"]);
    let dir = w.join("otel-certs");
    make_csr(
        w,
        "greedy",
        "ec",
        "/CN=greedy",
        &[
            "basicConstraints=critical,CA:TRUE",
            "extendedKeyUsage=serverAuth,clientAuth,codeSigning",
            "keyUsage=keyCertSign,cRLSign,digitalSignature",
            "subjectAltName=DNS:greedy.example.com",
        ],
    );
    let assert = otel_pki(w)
        .args(["sign", "greedy.csr", "--role", "client"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("not copied from the CSR: basicConstraints CA:TRUE"),
        "{stderr}"
    );
    assert!(stderr.contains("codeSigning"), "{stderr}");
    let text = text_of(&dir, "greedy.crt");
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(!text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(!text.contains("TLS Web Server Authentication"), "{text}");
    assert!(!text.contains("Code Signing"), "{text}");
    assert!(!text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("DNS:greedy.example.com"), "{text}");
    // JSON: the same list.
    let output = otel_pki(w)
        .args([
            "--format",
            "json",
            "sign",
            "greedy.csr",
            "--role",
            "server",
            "--name",
            "greedy-2",
        ])
        .args(["--san", "gw.example.com"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["not_copied"][0], "basicConstraints CA:TRUE");
    let text = text_of(&dir, "greedy-2.crt");
    assert!(
        text.contains("DNS:gw.example.com"),
        "--san replaces the CSR's names: {text}"
    );
    assert!(!text.contains("greedy.example.com"), "{text}");
}

#[test]
fn bad_csrs_and_refusals_are_one_line_and_exit_2() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost"]);
    make_csr(w, "edge", "ec", "/CN=edge", &[]);
    // A flipped bit in the signature.
    let (ok, text) = openssl(
        w,
        &[
            "req", "-in", "edge.csr", "-outform", "der", "-out", "edge.der",
        ],
    );
    assert!(ok, "{text}");
    let mut der = std::fs::read(w.join("edge.der")).unwrap();
    let last = der.len() - 3;
    der[last] ^= 0x01;
    std::fs::write(w.join("bad.der"), der).unwrap();
    let one_line = |args: &[&str], needle: &str| {
        let output = otel_pki(w).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    one_line(&["sign", "bad.der", "--role", "client"], "does not verify");
    one_line(
        &["sign", "edge.key", "--role", "client"],
        "is not a certificate signing request",
    );
    one_line(&["sign", "missing.csr", "--role", "client"], "missing.csr");
    // Keys otel-pki does not issue for.
    let (ok, text) = openssl(
        w,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-nodes",
            "-keyout",
            "p521.key",
            "-subj",
            "/CN=p521",
            "-out",
            "p521.csr",
        ],
    );
    assert!(ok, "{text}");
    one_line(
        &["sign", "p521.csr", "--role", "client"],
        "does not sign for",
    );
    // A server needs a host name.
    one_line(&["sign", "edge.csr", "--role", "server"], "--san");
    // The set's own key would no longer match.
    one_line(
        &["sign", "edge.csr", "--role", "client", "--name", "client"],
        "client.key",
    );
    // An unusable requested name.
    make_csr(
        w,
        "odd",
        "ec",
        "/CN=odd",
        &["subjectAltName=DNS:bad_name!.example"],
    );
    one_line(&["sign", "odd.csr", "--role", "client"], "bad_name!");
    // No overwrite without --force.
    otel_pki(w)
        .args(["sign", "edge.csr", "--role", "client"])
        .assert()
        .success();
    one_line(&["sign", "edge.csr", "--role", "client"], "already exists");
    assert!(!w.join("otel-certs/bad.crt").exists());
}

/// A set whose server and client certificates were signed from `openssl req` CSRs (keys
/// made by OpenSSL), in the layout the interop checkers read.
fn signed_set(work: &Path, key_type: &str) -> std::path::PathBuf {
    let source = work.join(format!("{key_type}-ca"));
    let signed = work.join(format!("{key_type}-signed"));
    init(
        work,
        &[
            "-q",
            "--dir",
            &source.display().to_string(),
            "--san",
            "localhost",
        ],
    );
    std::fs::create_dir(&signed).unwrap();
    for file in ["ca.crt", "ca.key"] {
        std::fs::copy(source.join(file), signed.join(file)).unwrap();
    }
    for (name, role) in [("server", "server"), ("client", "client")] {
        make_csr(
            work,
            &format!("{key_type}-{name}"),
            key_type,
            &format!("/CN={name}"),
            &[],
        );
        let mut command = otel_pki(work);
        command
            .arg("sign")
            .arg(format!("{key_type}-{name}.csr"))
            .args(["--role", role, "--name", name, "--dir"])
            .arg(&signed)
            .arg("--ca-cert")
            .arg(source.join("ca.crt"))
            .arg("--ca-key")
            .arg(source.join("ca.key"));
        if role == "server" {
            command.args(["--san", "localhost,127.0.0.1,::1"]);
        }
        command.assert().success();
        std::fs::copy(
            work.join(format!("{key_type}-{name}.key")),
            signed.join(format!("{name}.key")),
        )
        .unwrap();
        std::fs::set_permissions(
            signed.join(format!("{name}.key")),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
    }
    signed
}

#[test]
#[cfg_attr(
    interop_go_missing,
    ignore = "needs the Go mTLS checker: run .ci/interop-setup"
)]
fn signed_certificates_pass_the_interop_checks_of_issue() {
    let Some(checker) = crate::interop::go_checker() else {
        return;
    };
    let python = crate::interop::python();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--dir", "other"]);
    for key_type in ["ec", "rsa", "ed25519"] {
        let dir = signed_set(w, key_type);
        // Go's crypto/tls (the Collector), both TLS versions, names and IP addresses.
        for host in ["localhost", "127.0.0.1", "::1"] {
            for version in ["1.2", "1.3"] {
                let (code, text) = crate::interop::run(
                    std::process::Command::new(&checker)
                        .arg("-dir")
                        .arg(&dir)
                        .args(["-host", host, "-tls", version]),
                );
                assert_eq!(code, 0, "{key_type} {host} TLS {version}: {text}");
            }
        }
        // OpenSSL: purposes, -x509_strict and an s_server/s_client exchange.
        let (code, text) = crate::interop::run(
            std::process::Command::new("bash")
                .arg(repo.join("tests/interop/openssl_checks.sh"))
                .arg(&dir)
                .arg(w.join("other")),
        );
        assert_eq!(code, 0, "{key_type}: {text}");
        let Some(python) = &python else { continue };
        // gRPC's C core: ECDSA and RSA work, Ed25519 fails as for `issue`.
        let (code, text) = crate::interop::run(
            std::process::Command::new(python)
                .arg(repo.join("tests/interop/grpc_mtls.py"))
                .arg(&dir),
        );
        assert_eq!(
            code,
            if key_type == "ed25519" { 1 } else { 0 },
            "{key_type} gRPC: {text}"
        );
        // pkilint (RFC 5280 and the CA/B profile checks the project uses).
        let (code, text) = crate::interop::run(
            std::process::Command::new(python)
                .arg(repo.join("tests/interop/pkilint_check.py"))
                .arg(&dir),
        );
        assert_eq!(code, 0, "{key_type} pkilint: {text}");
    }
}
