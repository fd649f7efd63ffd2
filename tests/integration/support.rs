//! Shared helpers: the real binary in a scrubbed environment and a temporary directory,
//! PEM loading, and a real mutual-TLS handshake over 127.0.0.1 with rustls.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Every `--key-type`.
pub const KEY_TYPES: [&str; 6] = [
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
];

/// `otel-pki` with a scrubbed environment (no `OTEL_PKI_*`, no colour) running in `dir`.
pub fn otel_pki(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otel-pki"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_PKI_") {
            command.env_remove(&name);
        }
    }
    command.env_remove("NO_COLOR").env("TERM", "dumb");
    command
}

/// A fresh temporary working directory.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create temp dir")
}

/// Runs `otel-pki init ARGS` in `dir` and asserts success.
pub fn init(dir: &Path, args: &[&str]) {
    otel_pki(dir).arg("init").args(args).assert().success();
}

/// Unix mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// All certificates of a PEM file, DER.
pub fn certificates(path: &Path) -> Vec<CertificateDer<'static>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    pem::parse_many(text)
        .expect("PEM")
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect()
}

/// The first private key of a PEM file.
pub fn private_key(path: &Path) -> PrivateKeyDer<'static> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let block = pem::parse_many(text)
        .expect("PEM")
        .into_iter()
        .find(|block| block.tag().ends_with("PRIVATE KEY"))
        .expect("a PRIVATE KEY block");
    PrivateKeyDer::try_from(block.into_contents()).expect("key DER")
}

/// What a client presents in a handshake.
pub struct ClientSide<'a> {
    /// Trusted roots for the server certificate.
    pub ca: &'a Path,
    /// Client certificate and key, or none.
    pub identity: Option<(&'a Path, &'a Path)>,
    /// The name the client dials.
    pub server_name: &'a str,
}

/// What a server presents.
pub struct ServerSide<'a> {
    /// Server certificate chain and key.
    pub cert: &'a Path,
    pub key: &'a Path,
    /// CA file that client certificates must chain to (the Collector's client_ca_file).
    pub client_ca: &'a Path,
}

/// Result of a handshake: negotiated protocol and cipher suite, or the first error on
/// either side.
#[derive(Debug)]
pub struct Handshake {
    pub protocol: String,
    pub cipher_suite: String,
}

/// A real mTLS exchange over 127.0.0.1: a rustls server that requires a client
/// certificate signed by `client_ca`, a rustls client; application data both ways (a
/// rejected client certificate shows only on the first read under TLS 1.3).
pub fn mtls_handshake(
    server: &ServerSide<'_>,
    client: &ClientSide<'_>,
) -> Result<Handshake, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut client_roots = rustls::RootCertStore::empty();
    for certificate in certificates(server.client_ca) {
        client_roots
            .add(certificate)
            .map_err(|e| format!("client CA: {e}"))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(client_roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("verifier: {e}"))?;
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates(server.cert), private_key(server.key))
        .map_err(|e| format!("server config: {e}"))?;

    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(client.ca) {
        roots
            .add(certificate)
            .map_err(|e| format!("client roots: {e}"))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let client_config = match client.identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(certificates(cert), private_key(key))
            .map_err(|e| format!("client config: {e}"))?,
        None => builder.with_no_client_auth(),
    };

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let server_thread = std::thread::spawn(move || -> Result<(), String> {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut connection =
            rustls::ServerConnection::new(Arc::new(server_config)).map_err(|e| e.to_string())?;
        let mut stream = stream;
        let mut tls = rustls::Stream::new(&mut connection, &mut stream);
        let mut buffer = [0u8; 5];
        tls.read_exact(&mut buffer)
            .map_err(|e| format!("server: {e}"))?;
        if &buffer != b"ping?" {
            return Err("server: wrong request".into());
        }
        tls.write_all(b"pong!")
            .map_err(|e| format!("server: {e}"))?;
        tls.flush().map_err(|e| format!("server: {e}"))?;
        connection.send_close_notify();
        let _ = connection.complete_io(&mut stream);
        Ok(())
    });

    let name = ServerName::try_from(client.server_name.to_owned()).map_err(|e| e.to_string())?;
    let mut connection =
        rustls::ClientConnection::new(Arc::new(client_config), name).map_err(|e| e.to_string())?;
    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let client_result = (|| -> Result<Handshake, String> {
        let mut tls = rustls::Stream::new(&mut connection, &mut stream);
        tls.write_all(b"ping?")
            .map_err(|e| format!("client: {e}"))?;
        let mut buffer = [0u8; 5];
        tls.read_exact(&mut buffer)
            .map_err(|e| format!("client: {e}"))?;
        if &buffer != b"pong!" {
            return Err("client: wrong reply".into());
        }
        Ok(Handshake {
            protocol: format!("{:?}", connection.protocol_version()),
            cipher_suite: format!(
                "{:?}",
                connection
                    .negotiated_cipher_suite()
                    .map(|suite| suite.suite())
            ),
        })
    })();
    drop(stream);
    let server_result = server_thread
        .join()
        .map_err(|_| "server thread panicked".to_owned())?;
    match (client_result, server_result) {
        (Ok(handshake), Ok(())) => Ok(handshake),
        (Err(client), Err(server)) => Err(format!("{client}; {server}")),
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

/// Server and client of the set in `dir`, mutual TLS dialing `host`.
pub fn set_handshake(dir: &Path, host: &str) -> Result<Handshake, String> {
    pair_handshake(dir, "server", "client", host)
}

/// `SERVER.crt`/`.key` serving and `CLIENT.crt`/`.key` connecting, both trusting
/// `dir/ca.crt`, mutual TLS dialing `host`.
pub fn pair_handshake(
    dir: &Path,
    server: &str,
    client: &str,
    host: &str,
) -> Result<Handshake, String> {
    mtls_handshake(
        &ServerSide {
            cert: &dir.join(format!("{server}.crt")),
            key: &dir.join(format!("{server}.key")),
            client_ca: &dir.join("ca.crt"),
        },
        &ClientSide {
            ca: &dir.join("ca.crt"),
            identity: Some((
                &dir.join(format!("{client}.crt")),
                &dir.join(format!("{client}.key")),
            )),
            server_name: host,
        },
    )
}

/// Runs `openssl ARGS`, returning (success, combined output).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (the CI script installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Every file name in a directory, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Path of a file of the default set directory inside `work`.
pub fn set_file(work: &Path, name: &str) -> PathBuf {
    work.join("otel-certs").join(name)
}

/// Compares `actual` with tests/golden/NAME, or writes it when OTEL_PKI_UPDATE_GOLDEN is set.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("OTEL_PKI_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}; create it with OTEL_PKI_UPDATE_GOLDEN=1 cargo test --test integration",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{} differs (after review: OTEL_PKI_UPDATE_GOLDEN=1 cargo test --test integration)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}
