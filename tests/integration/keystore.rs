//! `keystore`: PKCS#12 files that OpenSSL (`pkcs12 -info` with the password), the JDK's
//! `keytool -list` and JSSE (a TLS 1.3 mutual-TLS exchange with a rustls peer of the same
//! set, in both directions) accept, for RSA and ECDSA leaves, modern and legacy protection;
//! modes, refusals and the password sources; `refresh_existing` after a re-issue.
//!
//! The JDK tests need `java`, `javac` and `keytool` (Debian `default-jdk-headless`, installed
//! by `.ci/interop-setup`); without them they say they are skipped, and CI
//! (`OTEL_PKI_INTEROP_REQUIRED=1`) fails.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::ServerName;

use crate::support::*;

const PASSWORD: &str = "s3cret-for-tests";

fn keystore(work: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    otel_pki(work)
        .env("OTEL_PKI_KEYSTORE_PASSWORD", PASSWORD)
        .arg("keystore")
        .args(args)
        .assert()
}

/// `java`, `javac` and `keytool`, or `None` after saying why (an error in CI).
fn jdk() -> Option<()> {
    let present = ["java", "javac", "keytool"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if present {
        return Some(());
    }
    let message = "a JDK (java, javac, keytool) was not found: install default-jdk-headless (.ci/interop-setup)";
    assert!(
        std::env::var_os("OTEL_PKI_INTEROP_REQUIRED").is_none(),
        "{message}"
    );
    eprintln!("JDK test skipped: {message}");
    None
}

/// tests/interop/java/MtlsCheck.java compiled once into target/java-interop/.
fn java_classes() -> PathBuf {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = root.join("target/java-interop");
            std::fs::create_dir_all(&out).unwrap();
            let status = Command::new("javac")
                .arg("-d")
                .arg(&out)
                .arg(root.join("tests/interop/java/MtlsCheck.java"))
                .status()
                .expect("run javac");
            assert!(status.success(), "javac failed");
            out
        })
        .clone()
}

fn java(args: &[&str]) -> Command {
    let mut command = Command::new("java");
    command
        .arg("-cp")
        .arg(java_classes())
        .arg("MtlsCheck")
        .args(args);
    command
}

fn rustls_configs(
    dir: &Path,
    name: &str,
) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(&dir.join("ca.crt")) {
        roots.add(certificate).unwrap();
    }
    let roots = Arc::new(roots);
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = certificates(&dir.join(format!("{name}.crt")));
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), private_key(&dir.join(format!("{name}.key"))))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, private_key(&dir.join(format!("{name}.key"))))
        .unwrap();
    (Arc::new(server), Arc::new(client))
}

/// A JSSE client with `client.p12`/`truststore.p12` against a rustls server with
/// `server.crt`/`server.key`; returns Java's exit code and output, and the server's result.
fn java_client_to_rustls(
    dir: &Path,
    keystore: &str,
    truststore: &Path,
) -> (i32, String, Result<(), String>) {
    let (server_config, _) = rustls_configs(dir, "server");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || -> Result<(), String> {
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let mut connection =
            rustls::ServerConnection::new(server_config).map_err(|e| e.to_string())?;
        let mut tls = rustls::Stream::new(&mut connection, &mut stream);
        let mut buffer = [0u8; 5];
        tls.read_exact(&mut buffer)
            .map_err(|e| format!("rustls server: {e}"))?;
        tls.write_all(b"pong!")
            .map_err(|e| format!("rustls server: {e}"))?;
        tls.flush().map_err(|e| format!("rustls server: {e}"))?;
        connection.send_close_notify();
        let _ = connection.complete_io(&mut stream);
        Ok(())
    });
    let output = java(&[
        "client",
        &dir.join(keystore).display().to_string(),
        &truststore.display().to_string(),
        PASSWORD,
        &port.to_string(),
        "localhost",
    ])
    .output()
    .expect("run java");
    let code = output.status.code().unwrap_or(-1);
    if code != 0 {
        // Unblock the server thread if Java never connected.
        let _ = TcpStream::connect(("127.0.0.1", port));
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let server_result = server.join().unwrap();
    (code, text, server_result)
}

/// A JSSE server with `server.p12`/`truststore.p12` (client certificate required) and a
/// rustls client with `client.crt`/`client.key`.
fn rustls_client_to_java(dir: &Path) -> (i32, String, Result<(), String>) {
    let (_, client_config) = rustls_configs(dir, "client");
    let mut child = java(&[
        "server",
        &dir.join("server.p12").display().to_string(),
        &dir.join("truststore.p12").display().to_string(),
        PASSWORD,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run java");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let client_result = match line.trim().strip_prefix("port ") {
        Some(port) => (|| -> Result<(), String> {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("bad port line {line:?}"))?;
            let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
            stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
            let name = ServerName::try_from("localhost").unwrap();
            let mut connection =
                rustls::ClientConnection::new(client_config, name).map_err(|e| e.to_string())?;
            let mut tls = rustls::Stream::new(&mut connection, &mut stream);
            tls.write_all(b"ping?")
                .map_err(|e| format!("rustls client: {e}"))?;
            let mut buffer = [0u8; 5];
            tls.read_exact(&mut buffer)
                .map_err(|e| format!("rustls client: {e}"))?;
            if &buffer != b"pong!" {
                return Err("rustls client: wrong reply".into());
            }
            Ok(())
        })(),
        None => Err(format!("java server did not start: {line:?}")),
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).ok();
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .ok();
    let status = child.wait().unwrap();
    (
        status.code().unwrap_or(-1),
        format!("{line}{rest}{errors}"),
        client_result,
    )
}

#[test]
fn keystore_and_truststore_open_with_openssl_and_keytool() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost,127.0.0.1"]);
    let dir = w.join("otel-certs");
    // No password: one line, exit 2, nothing written.
    otel_pki(w)
        .args(["keystore", "--name", "server"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("OTEL_PKI_KEYSTORE_PASSWORD"));
    assert!(!dir.join("server.p12").exists());
    keystore(w, &["--name", "server,client", "--truststore"]).success();
    assert_eq!(mode(&dir.join("server.p12")), 0o600);
    assert_eq!(mode(&dir.join("client.p12")), 0o600);
    assert_eq!(mode(&dir.join("truststore.p12")), 0o644);
    let info = |file: &str, extra: &[&str]| {
        let pass = format!("pass:{PASSWORD}");
        let mut args = vec![
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            file,
            "-passin",
            pass.as_str(),
        ];
        args.extend_from_slice(extra);
        openssl(&dir, &args)
    };
    let (ok, text) = info("server.p12", &[]);
    assert!(ok, "{text}");
    assert!(text.contains("MAC: sha256"), "{text}");
    assert!(
        text.contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"),
        "{text}"
    );
    assert!(text.contains("PRF hmacWithSHA256"), "{text}");
    let (ok, text) = info("truststore.p12", &[]);
    assert!(ok, "{text}");
    assert!(!text.contains("Keybag"), "{text}");
    // A wrong password is refused by OpenSSL (the MAC is checked).
    let (ok, _) = openssl(
        &dir,
        &[
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            "server.p12",
            "-passin",
            "pass:wrong",
        ],
    );
    assert!(!ok);
    // No overwrite without --force.
    keystore(w, &["--name", "server", "--legacy"])
        .code(2)
        .stderr(predicates::str::contains("already exists"));
    // Legacy, from a password file.
    std::fs::write(w.join("pass.txt"), format!("{PASSWORD}\n")).unwrap();
    otel_pki(w)
        .args([
            "keystore",
            "--name",
            "server",
            "--truststore",
            "--legacy",
            "--force",
        ])
        .args(["--password-file", "pass.txt"])
        .assert()
        .success();
    let (ok, text) = info("server.p12", &[]);
    assert!(ok, "{text}");
    assert!(text.contains("MAC: sha1"), "{text}");
    assert!(
        text.contains("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"),
        "{text}"
    );
    assert!(dir.join("backup").is_dir(), "the replaced files are kept");
    // The CA's key never goes into a keystore.
    keystore(w, &["--name", "ca"]).code(2);

    if jdk().is_none() {
        return;
    }
    for (file, entry) in [
        ("server.p12", "PrivateKeyEntry"),
        ("client.p12", "PrivateKeyEntry"),
        ("truststore.p12", "trustedCertEntry"),
    ] {
        let output = Command::new("keytool")
            .args(["-list", "-keystore"])
            .arg(dir.join(file))
            .args(["-storetype", "PKCS12", "-storepass", PASSWORD])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{file}: {text}");
        assert!(text.contains(entry), "{file}: {text}");
        let alias = file.strip_suffix(".p12").unwrap();
        let alias = if alias == "truststore" { "ca" } else { alias };
        assert!(
            text.contains(&format!("{alias}, ")),
            "{file}: alias {alias}: {text}"
        );
    }
}

#[test]
fn keystore_json_report_and_refusals() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost"]);
    let output = otel_pki(w)
        .env("OTEL_PKI_KEYSTORE_PASSWORD", PASSWORD)
        .args([
            "--format",
            "json",
            "keystore",
            "--name",
            "client",
            "--truststore",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["protection"], "modern");
    assert_eq!(report["entries"][0]["alias"], "client");
    assert_eq!(report["entries"][0]["kind"], "private_key");
    assert_eq!(report["entries"][0]["chain_length"], 2);
    assert_eq!(report["entries"][1]["kind"], "trusted_certificate");
    assert_eq!(report["files"][0]["mode"], "0600");
    // An empty password file and a missing leaf: one line each, exit 2.
    std::fs::write(w.join("empty"), "\n").unwrap();
    let output = otel_pki(w)
        .args(["keystore", "--name", "server", "--password-file", "empty"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is empty"), "{stderr}");
    let output = otel_pki(w)
        .env("OTEL_PKI_KEYSTORE_PASSWORD", PASSWORD)
        .args(["keystore", "--name", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nosuch.crt"));
    // Neither --name nor --truststore: usage error.
    keystore(w, &[]).code(2);
}

#[test]
fn refresh_existing_follows_a_reissued_certificate() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost"]);
    let dir = w.join("otel-certs");
    let password =
        otel_pki::pki::pkcs12::Password::new(PASSWORD.as_bytes().to_vec(), "test").unwrap();
    assert!(
        otel_pki::keystore::refresh_existing(&dir, &password)
            .unwrap()
            .is_none()
    );
    keystore(w, &["--name", "server", "--legacy"]).success();
    keystore(w, &["--truststore"]).success();
    otel_pki(w)
        .args(["issue", "server", "--san", "localhost", "--force", "-q"])
        .assert()
        .success();
    let outcome = otel_pki::keystore::refresh_existing(&dir, &password)
        .unwrap()
        .expect("two keystores refreshed");
    assert_eq!(outcome.files.len(), 2);
    let bytes = std::fs::read(dir.join("server.p12")).unwrap();
    assert_eq!(
        otel_pki::pki::pkcs12::Protection::of(&bytes),
        otel_pki::pki::pkcs12::Protection::Legacy,
        "the protection is kept"
    );
    let contents = otel_pki::pki::pkcs12::open(&bytes, &password, "server.p12").unwrap();
    let current = certificates(&dir.join("server.crt"));
    assert_eq!(
        contents.keys[0].1[0],
        current[0].as_ref(),
        "the new certificate"
    );
    // A password that does not open an existing keystore: error, nothing rewritten.
    let wrong = otel_pki::pki::pkcs12::Password::new(b"wrong".to_vec(), "test").unwrap();
    assert!(otel_pki::keystore::refresh_existing(&dir, &wrong).is_err());
}

#[test]
#[cfg_attr(
    jdk_missing,
    ignore = "needs a JDK (javac): install default-jdk-headless (.ci/interop-setup)"
)]
fn jsse_mtls_with_pkcs12_keystores_and_a_rustls_peer() {
    if jdk().is_none() {
        return;
    }
    let work = workdir();
    let w = work.path();
    for (key_type, legacy) in [
        ("ecdsa-p256", false),
        ("rsa-2048", false),
        ("ecdsa-p384", true),
    ] {
        let name = format!("{key_type}-{legacy}");
        init(
            w,
            &[
                "-q",
                "--dir",
                &name,
                "--key-type",
                key_type,
                "--san",
                "localhost,127.0.0.1",
            ],
        );
        let dir = w.join(&name);
        let mut args = vec![
            "--dir",
            name.as_str(),
            "--name",
            "server,client",
            "--truststore",
        ];
        if legacy {
            args.push("--legacy");
        }
        keystore(w, &args).success();
        let (code, text, server) =
            java_client_to_rustls(&dir, "client.p12", &dir.join("truststore.p12"));
        assert_eq!(
            code, 0,
            "{name}: JSSE client: {text}; rustls server: {server:?}"
        );
        assert!(text.contains("ok TLSv1.3"), "{name}: {text}");
        assert_eq!(server, Ok(()), "{name}");
        let (code, text, client) = rustls_client_to_java(&dir);
        assert_eq!(
            code, 0,
            "{name}: JSSE server: {text}; rustls client: {client:?}"
        );
        assert!(text.contains("ok TLSv1.3"), "{name}: {text}");
        assert_eq!(client, Ok(()), "{name}");
    }
    // A truststore of another set: JSSE refuses the server (exit 1 = TLS rejection).
    init(w, &["-q", "--dir", "other", "--san", "localhost"]);
    keystore(w, &["--dir", "other", "--truststore"]).success();
    let dir = w.join("ecdsa-p256-false");
    let (code, text, _) =
        java_client_to_rustls(&dir, "client.p12", &w.join("other/truststore.p12"));
    assert_eq!(code, 1, "{text}");
}

#[test]
fn renew_and_ca_rotate_keep_keystores_in_step() {
    let work = workdir();
    let w = work.path();
    init(w, &["-q", "--san", "localhost", "--validity", "3d"]);
    let dir = w.join("otel-certs");
    keystore(w, &["--name", "server", "--truststore"]).success();
    let password =
        otel_pki::pki::pkcs12::Password::new(PASSWORD.as_bytes().to_vec(), "test").unwrap();
    let leaf_in = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let contents = otel_pki::pki::pkcs12::open(&bytes, &password, name).unwrap();
        contents.keys[0].1[0].clone()
    };

    // Without the password, renew still renews, and warns that the keystores are stale.
    let assert = otel_pki(w)
        .env_remove("OTEL_PKI_KEYSTORE_PASSWORD")
        .args(["renew", "--all"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("server.p12, truststore.p12")
            && stderr.contains("still hold the previous certificates")
            && stderr.contains("otel-pki keystore --name server --truststore"),
        "{stderr}"
    );
    assert_ne!(
        leaf_in("server.p12"),
        certificates(&dir.join("server.crt"))[0].as_ref()
    );

    // With it, renew rebuilds them under the same lock.
    otel_pki(w)
        .env("OTEL_PKI_KEYSTORE_PASSWORD", PASSWORD)
        .args(["renew", "--all"])
        .assert()
        .success()
        .stderr(predicates::str::contains("rebuilt keystores"));
    assert_eq!(
        leaf_in("server.p12"),
        certificates(&dir.join("server.crt"))[0].as_ref()
    );

    // ca rotate --stage: the truststore now trusts both CAs, as ca.crt does.
    otel_pki(w)
        .env("OTEL_PKI_KEYSTORE_PASSWORD", PASSWORD)
        .args(["ca", "rotate", "--stage"])
        .assert()
        .success();
    let truststore = std::fs::read(dir.join("truststore.p12")).unwrap();
    let contents = otel_pki::pki::pkcs12::open(&truststore, &password, "truststore.p12").unwrap();
    assert_eq!(
        contents.trusted.len(),
        certificates(&dir.join("ca.crt")).len(),
        "one trusted entry per CA of ca.crt"
    );
    assert_eq!(contents.trusted.len(), 2);
}
