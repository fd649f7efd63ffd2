//! `probe`: against a rustls server that speaks just enough HTTP/2 (like a gRPC receiver),
//! against `openssl s_server` in its three client-certificate modes, and against endpoints
//! that are not there. Every server listens on 127.0.0.1 on a free port and is stopped by
//! its process id (s_server) or its stop flag (the in-process server); the probe waits for
//! a server to listen with `--wait`, never with a sleep.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otel_pki::cmd::probe::ProbeReport;
use otel_pki::tls::{MtlsVerdict, Outcome};

use crate::support::*;

/// A port nobody listens on (right now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn probe(work: &Path, args: &[&str]) -> (i32, Option<ProbeReport>, String) {
    let output = otel_pki(work)
        .arg("probe")
        .args(args)
        .args(["--format", "json", "--wait", "20s"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).ok();
    (
        output.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn probe_text(work: &Path, args: &[&str]) -> (i32, String) {
    let output = otel_pki(work)
        .arg("probe")
        .args(args)
        .args(["--wait", "20s"])
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

// ---------------------------------------------------------------------------------------
// An in-process rustls server

#[derive(Clone, Copy)]
enum ClientAuth {
    Required,
    Optional,
    None,
}

struct RustlsServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RustlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A rustls server with `dir`'s server pair, client certificates from `client_ca` per
/// `auth`, ALPN h2: after the handshake it sends an HTTP/2 SETTINGS frame, as a gRPC server
/// does, and drains what the client sent.
fn rustls_server(dir: &Path, client_ca: &Path, auth: ClientAuth, tls12_only: bool) -> RustlsServer {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(client_ca) {
        roots.add(certificate).unwrap();
    }
    let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap();
    let config = match auth {
        ClientAuth::Required => config.with_client_cert_verifier(builder.build().unwrap()),
        ClientAuth::Optional => {
            config.with_client_cert_verifier(builder.allow_unauthenticated().build().unwrap())
        }
        ClientAuth::None => config.with_no_client_auth(),
    };
    let mut config = config
        .with_single_cert(
            certificates(&dir.join("server.crt")),
            private_key(&dir.join("server.key")),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stopping.load(Ordering::SeqCst) && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => serve(stream, config.clone()),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    RustlsServer {
        port,
        stop,
        thread: Some(thread),
    }
}

fn serve(mut stream: TcpStream, config: Arc<rustls::ServerConfig>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut connection = rustls::ServerConnection::new(config).unwrap();
    while connection.is_handshaking() {
        if connection.complete_io(&mut stream).is_err() {
            return; // the alert has been sent
        }
    }
    let mut tls = rustls::Stream::new(&mut connection, &mut stream);
    if tls.conn.alpn_protocol() == Some(b"h2") {
        let _ = tls.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    }
    let mut buffer = [0u8; 64];
    let _ = tls.read(&mut buffer);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

// ---------------------------------------------------------------------------------------
// openssl s_server

struct OpensslServer {
    child: Child,
    port: u16,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        // Child::kill signals the process by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_server -www` (answers `GET /` with a status page) on a free port.
fn s_server(dir: &Path, args: &[&str]) -> OpensslServer {
    let port = free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args([
            "-cert",
            "server.crt",
            "-key",
            "server.key",
            "-CAfile",
            "ca.crt",
        ])
        .args(["-www", "-quiet"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl must be installed (the CI script installs it)");
    OpensslServer { child, port }
}

fn endpoint(port: u16) -> String {
    format!("localhost:{port}")
}

// ---------------------------------------------------------------------------------------

#[test]
fn a_grpc_like_rustls_server_that_requires_client_certificates_is_healthy() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let server = rustls_server(&dir, &dir.join("ca.crt"), ClientAuth::Required, false);
    let (code, report, stderr) = probe(work.path(), &[&endpoint(server.port)]);
    assert_eq!(code, 0, "{stderr}");
    let report = report.unwrap();
    assert!(report.healthy);
    assert_eq!(report.mtls, MtlsVerdict::RequiresAndAccepts);
    assert_eq!(
        report.verdict,
        "requires and accepts our client certificate"
    );
    assert!(matches!(
        &report.without_certificate.outcome,
        Outcome::Rejected { alert: Some(alert), .. } if alert == "certificate_required"
    ));
    let with = report.with_certificate.unwrap();
    assert_eq!(
        with.outcome,
        Outcome::Accepted {
            evidence: "read the server's HTTP/2 SETTINGS frame".into()
        }
    );
    let negotiated = with.negotiated.unwrap();
    assert_eq!(negotiated.version, "TLS 1.3");
    assert_eq!(negotiated.alpn.as_deref(), Some("h2"));
    // It names the CA it wants, and shows the chain it presents.
    let asked = with.certificate_request.unwrap();
    assert!(
        asked[0].starts_with("CN=OTel Telemetry CA, serialNumber="),
        "{asked:?}"
    );
    assert_eq!(report.chain.len(), 1);
    assert_eq!(report.chain[0].sans.dns, ["localhost"]);
    assert!(report.verification.unwrap().is_valid());

    let (code, text) = probe_text(work.path(), &[&endpoint(server.port)]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("localhost:{}  server  ECDSA P-256", server.port)),
        "{text}"
    );
    assert!(text.contains("without   a client certificate: refused: the server sent the alert `certificate_required`"), "{text}");
    assert!(text.contains("with      ./otel-certs/client.crt: accepted: read the server's HTTP/2 SETTINGS frame (TLS 1.3, "), "{text}");
    assert!(
        text.contains(&format!(
            "verdict   localhost:{} requires and accepts our client certificate",
            server.port
        )),
        "{text}"
    );
}

#[test]
fn a_rustls_server_with_optional_or_no_client_certificates_is_not_healthy() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    for (auth, detail) in [
        (
            ClientAuth::Optional,
            "it asks for one but accepts connections without",
        ),
        (ClientAuth::None, "it does not even ask for one"),
    ] {
        let server = rustls_server(&dir, &dir.join("ca.crt"), auth, false);
        let (code, report, stderr) = probe(work.path(), &[&endpoint(server.port)]);
        assert_eq!(code, 1, "{stderr}");
        let report = report.unwrap();
        assert_eq!(report.mtls, MtlsVerdict::NotRequired);
        assert_eq!(
            report.verdict,
            format!("does not require client certificates: {detail}")
        );
    }
}

#[test]
fn a_server_that_trusts_another_ca_rejects_our_certificate() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    let dir = work.path().join("otel-certs");
    let server = rustls_server(
        &dir,
        &work.path().join("other/ca.crt"),
        ClientAuth::Required,
        false,
    );
    let (code, report, _) = probe(work.path(), &[&endpoint(server.port)]);
    assert_eq!(code, 1);
    let report = report.unwrap();
    assert_eq!(report.mtls, MtlsVerdict::RejectsOurCertificate);
    assert!(
        report
            .verdict
            .starts_with("rejected our client certificate: the server sent the alert `unknown_ca`"),
        "{}",
        report.verdict
    );
}

#[test]
fn tls_1_2_rejections_happen_in_the_handshake_and_are_recognized() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let server = rustls_server(&dir, &dir.join("ca.crt"), ClientAuth::Required, true);
    let (code, report, stderr) = probe(work.path(), &[&endpoint(server.port)]);
    assert_eq!(code, 0, "{stderr}");
    let report = report.unwrap();
    assert!(matches!(
        report.without_certificate.outcome,
        Outcome::Rejected { .. }
    ));
    assert_eq!(
        report.with_certificate.unwrap().negotiated.unwrap().version,
        "TLS 1.2"
    );
}

#[test]
fn openssl_s_server_in_its_three_client_certificate_modes() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    for (args, code, verdict) in [
        (
            &["-Verify", "1", "-verify_return_error"][..],
            0,
            MtlsVerdict::RequiresAndAccepts,
        ),
        (
            &["-Verify", "1", "-verify_return_error", "-tls1_2"],
            0,
            MtlsVerdict::RequiresAndAccepts,
        ),
        (&["-verify", "1"], 1, MtlsVerdict::NotRequired),
        (&[], 1, MtlsVerdict::NotRequired),
    ] {
        let server = s_server(&dir, args);
        let (exit, report, stderr) = probe(work.path(), &[&endpoint(server.port)]);
        assert_eq!(exit, code, "{args:?}: {stderr}");
        let report = report.unwrap();
        assert_eq!(
            report.mtls, verdict,
            "{args:?}: {:?}",
            report.without_certificate
        );
        if verdict == MtlsVerdict::RequiresAndAccepts {
            let with = report.with_certificate.unwrap();
            assert!(
                matches!(
                    &with.outcome,
                    Outcome::Accepted { evidence } if evidence == "read an HTTP response (`HTTP/1.0 200 ok`)"
                ),
                "{:?}",
                with.outcome
            );
        }
        // -verify asks for a certificate, no option does not.
        let asked = report.without_certificate.certificate_request.is_some();
        assert_eq!(asked, !args.is_empty(), "{args:?}");
    }
}

#[test]
fn openssl_s_server_rejecting_a_certificate_from_another_ca() {
    let work = workdir();
    init(work.path(), &["-q"]);
    init(work.path(), &["-q", "--dir", "other"]);
    let dir = work.path().join("otel-certs");
    let server = s_server(&dir, &["-Verify", "1", "-verify_return_error"]);
    let (code, text) = probe_text(
        work.path(),
        &[
            &endpoint(server.port),
            "--cert",
            "other/client.crt",
            "--key",
            "other/client.key",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("with      other/client.crt: refused: the server sent the alert `unknown_ca`: it does not trust the CA that signed the certificate it was sent"), "{text}");
    assert!(text.contains("rejected our client certificate"), "{text}");
}

#[test]
fn the_chain_is_verified_against_the_ca_and_the_name() {
    let work = workdir();
    init(
        work.path(),
        &["-q", "--san", "otel-gateway.observability.svc"],
    );
    init(work.path(), &["-q", "--dir", "other"]);
    let dir = work.path().join("otel-certs");
    let server = rustls_server(&dir, &dir.join("ca.crt"), ClientAuth::Required, false);
    let address = format!("127.0.0.1:{}", server.port);
    // Dialing the IP: the certificate does not name it.
    let (code, text) = probe_text(work.path(), &[&address]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("chain     NOT valid for `127.0.0.1` with ./otel-certs/ca.crt:"),
        "{text}"
    );
    assert!(
        text.contains("  - not valid for `127.0.0.1`; valid for: otel-gateway.observability.svc"),
        "{text}"
    );
    // mTLS itself is fine, and said so.
    assert!(
        text.contains("requires and accepts our client certificate"),
        "{text}"
    );
    let (code, report, _) = probe(
        work.path(),
        &[&address, "--server-name", "otel-gateway.observability.svc"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        report.unwrap().server_name,
        "otel-gateway.observability.svc"
    );
    // Another CA: the server is not who we think.
    let (code, text) = probe_text(
        work.path(),
        &[
            &address,
            "--server-name",
            "otel-gateway.observability.svc",
            "--ca",
            "other/ca.crt",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        text.contains(", not by `CN=OTel Telemetry CA, serialNumber="),
        "{text}"
    );
}

#[test]
fn without_a_client_certificate_the_answer_is_incomplete() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let server = rustls_server(&dir, &dir.join("ca.crt"), ClientAuth::Required, false);
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, report, _) = probe(
        work.path(),
        &[
            &endpoint(server.port),
            "--dir",
            "empty",
            "--ca",
            "otel-certs/ca.crt",
        ],
    );
    assert_eq!(code, 1);
    let report = report.unwrap();
    assert_eq!(report.mtls, MtlsVerdict::RequiresUntested);
    assert!(report.with_certificate.is_none());
}

#[test]
fn a_plaintext_server_does_not_speak_tls() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buffer = [0u8; 512];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let (code, report, _) = probe(work.path(), &[&endpoint(port)]);
    thread.join().unwrap();
    assert_eq!(code, 1);
    let report = report.unwrap();
    assert_eq!(report.mtls, MtlsVerdict::NotTls);
    assert!(report.chain.is_empty());
}

#[test]
fn refused_connections_and_unknown_hosts_are_errors_with_one_line() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let port = free_port();
    let output = otel_pki(work.path())
        .args(["probe", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: connection refused by 127.0.0.1:{port}: nothing is listening there; is the server running and the port right?\n"
        )
    );
    let output = otel_pki(work.path())
        .args(["probe", "otel-gateway.invalid:4317"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot resolve `otel-gateway.invalid`: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let output = otel_pki(work.path())
        .args(["probe", "otel-gateway"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("give a port, e.g. `otel-gateway:4317`")
    );
    let output = otel_pki(work.path())
        .args(["probe", "localhost:4317", "--dir", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no CA to verify the server with"));
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_timeout() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection without a byte, until the probe gives up. The
    // probe's one deadline is used up by the first connection, so the second is not tried.
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !stopping.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        held
    });
    let (code, report, _) = probe(work.path(), &[&endpoint(port), "--timeout", "1s"]);
    stop.store(true, Ordering::SeqCst);
    drop(thread.join().unwrap());
    assert_eq!(code, 1);
    let report = report.unwrap();
    assert_eq!(report.mtls, MtlsVerdict::Inconclusive);
    assert_eq!(
        report.verdict,
        "gave no clear answer: the server accepted the connection but sent nothing within the probe's time limit (--timeout 1s): it did not answer the TLS ClientHello"
    );
    assert_eq!(
        report.with_certificate.unwrap().outcome,
        Outcome::Failed {
            reason: "not tried: the first connection used up the probe's time limit (--timeout 1s)"
                .into()
        }
    );
}
