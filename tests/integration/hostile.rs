//! Hostile input (issue 10): servers on 127.0.0.1 that stay silent, drip their answer, cut
//! the handshake, send enormous chains or escape sequences; certificates whose names carry
//! terminal controls; FIFOs and devices; PEM with a comment line; CAs with unknown critical
//! extensions or not valid yet. Every server runs on threads of this test and is stopped
//! (flag, then join) when the test ends.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otel_pki::cmd::probe::ProbeReport;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::*;

// ---------------------------------------------------------------------------------------
// Certificates made for the occasion

/// A CA of our own (rcgen), to sign leaves with any name or extension.
pub struct TestCa {
    key: KeyPair,
    params: CertificateParams,
    /// The CA certificate, DER.
    pub der: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        Self::with(name, |_| {})
    }

    /// A CA whose parameters `adjust` changes (dates, extensions).
    pub fn with(name: &str, adjust: impl FnOnce(&mut CertificateParams)) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(365);
        adjust(&mut params);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        TestCa { key, params, der }
    }

    /// A server leaf with `common_name` and `sans`, and its key.
    pub fn leaf(&self, common_name: &str, sans: &[String]) -> (Vec<u8>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(sans.to_vec()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(30);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        (der, key)
    }
}

pub fn pem(der: &[u8]) -> String {
    otel_pki::pki::certificate::to_pem("CERTIFICATE", der)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

// ---------------------------------------------------------------------------------------
// Servers on threads of the test

/// A listener on 127.0.0.1 whose connections go to `handler` on their own threads. Dropping
/// it sets the stop flag (handlers watch it) and joins every thread.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handler = Arc::new(handler);
        let thread = std::thread::spawn(move || {
            let mut connections = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stopping.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let handler = handler.clone();
                        let stopping = stopping.clone();
                        connections.push(std::thread::spawn(move || handler(stream, &stopping)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for connection in connections {
                let _ = connection.join();
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads what the client sends (its ClientHello) for a moment.
fn read_hello(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buffer = [0u8; 4096];
    let _ = stream.read(&mut buffer);
}

/// Holds the connection without a byte until the client leaves or the test ends.
fn hold(stream: &mut TcpStream, stop: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// A rustls server presenting `chain` (leaf first) with `key`, ALPN http/1.1, no client
/// certificates; after the handshake it answers with `answer` and closes.
fn tls_server(chain: Vec<Vec<u8>>, key: &KeyPair, answer: &'static [u8]) -> Server {
    tls_server_with(
        chain,
        key,
        answer,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
}

fn tls_server_with(
    chain: Vec<Vec<u8>>,
    key: &KeyPair,
    answer: &'static [u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Server {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // A fixed resolver, not `with_single_cert`: that parses the leaf with rustls-webpki,
    // which refuses a certificate over 64 KiB (the 10k-names case).
    let signing_key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.serialize_der(),
        )))
        .unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(
        chain.into_iter().map(CertificateDer::from).collect(),
        signing_key,
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(FixedCertificate(certified)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    Server::start(move |mut stream, _| {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut connection = rustls::ServerConnection::new(config.clone()).unwrap();
        while connection.is_handshaking() {
            if connection.complete_io(&mut stream).is_err() {
                return;
            }
        }
        let mut tls = rustls::Stream::new(&mut connection, &mut stream);
        let mut buffer = [0u8; 1024];
        let _ = tls.read(&mut buffer);
        let _ = tls.write_all(answer);
        tls.conn.send_close_notify();
        let _ = tls.flush();
    })
}

#[derive(Debug)]
struct FixedCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for FixedCertificate {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

// ---------------------------------------------------------------------------------------
// Running probe

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
}

fn exec(work: &Path, args: &[&str]) -> Run {
    let started = Instant::now();
    let output = otel_pki(work)
        .args(args)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn probe_json(work: &Path, address: &str, extra: &[&str]) -> (Run, ProbeReport) {
    let mut args = vec!["probe", address, "--format", "json"];
    args.extend_from_slice(extra);
    let run = exec(work, &args);
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {} {}", run.stdout, run.stderr));
    (run, report)
}

/// A work directory with a set (CA, server and client pairs) in `otel-certs/`.
fn set() -> tempfile::TempDir {
    let work = workdir();
    init(work.path(), &["-q"]);
    work
}

/// No byte of terminal control or bidi override in text meant for a terminal.
fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || c == '\t' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw {c:?} in {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// probe against hostile servers

#[test]
fn a_silent_server_ends_within_the_timeout_and_says_it_sent_nothing() {
    let work = set();
    let server = Server::start(|mut stream, stop| hold(&mut stream, stop));
    let (run, report) = probe_json(work.path(), &server.address(), &["--timeout", "3s"]);
    eprintln!(
        "silent server: probe --timeout 3s ended after {:.2}s",
        run.seconds
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.seconds < 13.0, "{:.1}s", run.seconds);
    assert!(
        report
            .verdict
            .contains("accepted the connection but sent nothing"),
        "{}",
        report.verdict
    );
    assert!(
        report.verdict.contains("--timeout 3s"),
        "{}",
        report.verdict
    );
}

#[test]
fn a_server_dripping_its_hello_cannot_stretch_the_probe() {
    let work = set();
    // A TLS record header and the start of a ServerHello, one byte every 2 s.
    let server = Server::start(|mut stream, stop| {
        read_hello(&mut stream);
        let drip = [
            22u8, 3, 3, 0, 90, 2, 0, 0, 86, 3, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        ];
        for byte in drip.iter().cycle().take(60) {
            for _ in 0..20 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
        }
    });
    let (run, report) = probe_json(work.path(), &server.address(), &["--timeout", "3s"]);
    eprintln!(
        "slow-drip server: probe --timeout 3s ended after {:.2}s",
        run.seconds
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.seconds < 13.0, "{:.1}s", run.seconds);
    assert!(
        report
            .verdict
            .contains("did not finish the TLS handshake within the probe's time limit (--timeout 3s): it had sent only"),
        "{}",
        report.verdict
    );
}

#[test]
fn a_handshake_cut_after_the_server_hello_is_not_a_certificate_verdict() {
    let work = set();
    let dir = work.path().join("otel-certs");
    // The real server behind a proxy that forwards only its first TLS record (the
    // ServerHello) and then closes both connections.
    let chain = certificates(&dir.join("server.crt"))
        .into_iter()
        .map(|der| der.to_vec())
        .collect();
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join("server.key")).unwrap()).unwrap();
    let backend = tls_server(chain, &key, b"HTTP/1.1 200 OK\r\n\r\n");
    let backend_address = backend.address();
    let proxy = Server::start(move |mut client, _| {
        let Ok(mut upstream) = TcpStream::connect(&backend_address) else {
            return;
        };
        let mut hello = vec![0u8; 4096];
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let Ok(read) = client.read(&mut hello) else {
            return;
        };
        let _ = upstream.write_all(&hello[..read]);
        upstream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut header = [0u8; 5];
        if upstream.read_exact(&mut header).is_ok() {
            let mut record = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
            if upstream.read_exact(&mut record).is_ok() {
                let _ = client.write_all(&header);
                let _ = client.write_all(&record);
            }
        }
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
    });
    let (run, report) = probe_json(work.path(), &proxy.address(), &["--timeout", "5s"]);
    eprintln!(
        "cut-off server: probe --timeout 5s ended after {:.2}s",
        run.seconds
    );
    assert_eq!(run.code, 1);
    assert!(
        report
            .verdict
            .contains("in the middle of the TLS handshake"),
        "{}",
        report.verdict
    );
    assert!(!report.verdict.contains("rejected our client certificate"));
    let text = run_text(work.path(), &proxy.address());
    assert!(!text.contains("presented no certificate"), "{text}");
    assert!(
        text.contains("none read: the connection ended before the server's certificate"),
        "{text}"
    );
}

fn run_text(work: &Path, address: &str) -> String {
    let run = exec(work, &["probe", address, "--timeout", "5s"]);
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn a_chain_of_500_cas_is_read_and_judged_not_called_plaintext() {
    let work = set();
    let ca = TestCa::new("Hostile Root");
    let (leaf, key) = ca.leaf("big.example", &["localhost".to_owned()]);
    let mut chain = vec![leaf];
    for index in 0..500 {
        // ~670 bytes each (one long OU), as RSA CAs are: 500 of them make the issue's ~336 KB.
        let filler = TestCa::with(&format!("Filler CA {index:03}"), |params| {
            params
                .distinguished_name
                .push(DnType::OrganizationalUnitName, "x".repeat(125));
        });
        chain.push(filler.der);
    }
    // The Certificate message: a 3-byte list length, then each certificate after its own.
    let size: usize = 3 + chain.iter().map(|der| der.len() + 3).sum::<usize>();
    eprintln!("large chain: {} certificates, {size} bytes", chain.len());
    let ca_file = write(work.path(), "hostile-ca.crt", &pem(&ca.der));
    let server = tls_server(chain, &key, b"HTTP/1.1 200 OK\r\n\r\n");
    let address = format!("localhost:{}", server.port);
    let (run, report) = probe_json(
        work.path(),
        &address,
        &["--ca", &ca_file, "--timeout", "20s"],
    );
    eprintln!("large chain: probe ended after {:.2}s", run.seconds);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_ne!(report.mtls, otel_pki::tls::MtlsVerdict::NotTls);
    assert_eq!(report.chain.len(), 501);
    assert!(
        report
            .verdict
            .contains(&format!("one TLS handshake message of {size} bytes")),
        "{}",
        report.verdict
    );
    // Judged: the leaf chains to the root we trust.
    assert!(
        report.verification.as_ref().unwrap().is_valid(),
        "{:?}",
        report.verification
    );
}

#[test]
fn an_oversized_chain_from_a_tls_1_3_only_server_is_named_as_such() {
    let work = set();
    let ca = TestCa::new("Hostile Root");
    let names: Vec<String> = (0..5_000)
        .map(|index| format!("host-{index}.example.com"))
        .collect();
    let (leaf, key) = ca.leaf("many-names", &names);
    let ca_file = write(work.path(), "hostile-ca.crt", &pem(&ca.der));
    let server = tls_server_with(
        vec![leaf],
        &key,
        b"HTTP/1.1 200 OK\r\n\r\n",
        &[&rustls::version::TLS13],
    );
    let (run, report) = probe_json(
        work.path(),
        &server.address(),
        &["--ca", &ca_file, "--timeout", "20s"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_ne!(report.mtls, otel_pki::tls::MtlsVerdict::NotTls);
    assert!(
        report
            .verdict
            .contains("a TLS handshake message larger than the 65535 bytes rustls accepts"),
        "{}",
        report.verdict
    );
}

#[test]
fn a_certificate_with_10k_names_is_read_and_judged_precisely() {
    let work = set();
    let ca = TestCa::new("Hostile Root");
    let names: Vec<String> = std::iter::once("localhost".to_owned())
        .chain((0..10_000).map(|index| format!("host-{index}.example.com")))
        .collect();
    let (leaf, key) = ca.leaf("many-names", &names);
    let ca_file = write(work.path(), "hostile-ca.crt", &pem(&ca.der));
    write(work.path(), "many.crt", &pem(&leaf));
    let server = tls_server(vec![leaf], &key, b"HTTP/1.1 200 OK\r\n\r\n");
    let address = format!("localhost:{}", server.port);
    let (run, report) = probe_json(
        work.path(),
        &address,
        &["--ca", &ca_file, "--timeout", "20s"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report.chain.len(), 1);
    assert_eq!(report.chain[0].sans.dns.len(), 10_001);
    let verification = report.verification.unwrap();
    assert!(
        verification.findings[0]
            .message
            .contains("10001 subjectAltNames), more than the 64 KiB rustls-webpki accepts"),
        "{:?}",
        verification.findings
    );
    assert!(
        report
            .verdict
            .starts_with("presents a certificate chain that does NOT verify"),
        "{}",
        report.verdict
    );
    // verify says the same of the file, with no parser debug text.
    let verified = exec(
        work.path(),
        &[
            "verify",
            "many.crt",
            "--ca",
            &ca_file,
            "--host",
            "localhost",
        ],
    );
    assert_eq!(verified.code, 1);
    assert!(
        verified.stdout.contains("more than the 64 KiB"),
        "{}",
        verified.stdout
    );
    assert!(
        !verified.stdout.contains("hosts    localhost: ok"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_failing_chain_is_in_the_verdict_line_and_exit_1() {
    let work = set();
    init(work.path(), &["-q", "--dir", "other"]);
    let dir = work.path().join("otel-certs");
    let chain = certificates(&dir.join("server.crt"))
        .into_iter()
        .map(|der| der.to_vec())
        .collect();
    let key = KeyPair::from_pem(&std::fs::read_to_string(dir.join("server.key")).unwrap()).unwrap();
    let server = tls_server(chain, &key, b"HTTP/1.1 200 OK\r\n\r\n");
    let run = exec(
        work.path(),
        &[
            "probe",
            &format!("localhost:{}", server.port),
            "--ca",
            "other/ca.crt",
        ],
    );
    assert_eq!(run.code, 1);
    let verdict = run
        .stdout
        .lines()
        .find(|line| line.starts_with("verdict"))
        .unwrap();
    assert!(
        verdict.contains("presents a certificate chain that does NOT verify"),
        "{verdict}"
    );
}

const EVIL_NAME: &str = "evil\x1b[2J\u{202e}gnp.exe\0";

#[test]
fn names_and_answers_with_terminal_controls_are_shown_escaped() {
    let work = set();
    let ca = TestCa::new("Hostile Root");
    let (leaf, key) = ca.leaf(EVIL_NAME, &["localhost".to_owned()]);
    let ca_file = write(work.path(), "hostile-ca.crt", &pem(&ca.der));
    write(work.path(), "evil.crt", &pem(&leaf));

    // inspect: escaped text, exact JSON.
    let text = exec(work.path(), &["inspect", "evil.crt"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_terminal_safe(&text.stdout);
    assert!(
        text.stdout.contains(r"CN=evil\x1b[2J\u{202e}gnp.exe\x00"),
        "{}",
        text.stdout
    );
    let json = exec(work.path(), &["inspect", "evil.crt", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["certificates"][0]["common_name"], EVIL_NAME);

    // verify: the chain line names the leaf's issuer; findings name the leaf.
    let verify = exec(
        work.path(),
        &[
            "verify",
            "evil.crt",
            "--ca",
            &ca_file,
            "--host",
            "nowhere.example",
        ],
    );
    assert_eq!(verify.code, 1);
    assert_terminal_safe(&verify.stdout);
    assert_terminal_safe(&verify.stderr);

    // probe: the certificate's name and the server's HTTP status line.
    let server = tls_server(
        vec![leaf],
        &key,
        b"HTTP/1.1 200 OK\x1b]0;pwned\x07\rverdict   healthy\x1b[2K\r\n\r\n",
    );
    let address = format!("localhost:{}", server.port);
    let probe = exec(work.path(), &["probe", &address, "--ca", &ca_file]);
    assert_eq!(probe.code, 1, "{}", probe.stderr);
    assert_terminal_safe(&probe.stdout);
    assert_terminal_safe(&probe.stderr);
    assert!(
        probe.stdout.contains(r"\x1b]0;pwned\x07\x0dverdict"),
        "{}",
        probe.stdout
    );
    assert_eq!(
        probe
            .stdout
            .lines()
            .filter(|line| line.starts_with("verdict"))
            .count(),
        1,
        "{}",
        probe.stdout
    );
    let (_, report) = probe_json(work.path(), &address, &["--ca", &ca_file]);
    assert_eq!(report.chain[0].common_name.as_deref(), Some(EVIL_NAME));
}

// ---------------------------------------------------------------------------------------
// Files

#[test]
fn devices_fifos_and_stdin_are_bounded() {
    let work = set();
    let zero = exec(work.path(), &["inspect", "/dev/zero"]);
    assert_eq!(zero.code, 2);
    assert_eq!(zero.stderr.lines().count(), 1, "{}", zero.stderr);
    assert!(
        zero.stderr
            .contains("`/dev/zero`: it is a character device, not a regular file")
    );

    let dir = work.path().join("otel-certs");
    let fifo = dir.join("x.crt");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // A directory walk skips it with a warning; named, it is refused; neither blocks.
    let walk = exec(work.path(), &["inspect", "otel-certs"]);
    assert_eq!(walk.code, 0, "{}", walk.stderr);
    assert!(
        walk.stderr
            .contains("warning: skipped `otel-certs/x.crt`: it is a FIFO")
    );
    let named = exec(work.path(), &["inspect", "otel-certs/x.crt"]);
    assert_eq!(named.code, 2);
    for args in [
        &["verify", "otel-certs/x.crt", "--ca", "otel-certs/ca.crt"][..],
        &[
            "verify",
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/x.crt",
        ],
        &[
            "verify",
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--key",
            "otel-certs/x.crt",
        ],
        &["verify", "otel-certs/server.crt", "--ca", "/dev/zero"],
    ] {
        let refused = exec(work.path(), args);
        assert_eq!(refused.code, 2, "{args:?}");
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(
            refused.stderr.contains("not a regular file"),
            "{}",
            refused.stderr
        );
    }

    // Standard input is capped too.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otel-pki"))
        .args(["inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let block = vec![b'A'; 1 << 20];
        for _ in 0..80 {
            if stdin.write_all(&block).is_err() {
                break;
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("larger than 64 MiB"));
}

#[test]
fn pem_with_a_comment_line_starting_with_0_is_pem() {
    let work = set();
    let ca = std::fs::read_to_string(work.path().join("otel-certs/ca.crt")).unwrap();
    write(
        work.path(),
        "bundle.pem",
        &format!("0 - generated bundle\n{ca}"),
    );
    let run = exec(work.path(), &["inspect", "bundle.pem"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("bundle.pem  ca"), "{}", run.stdout);
    let (ok, _) = openssl(work.path(), &["x509", "-in", "bundle.pem", "-noout"]);
    assert!(ok, "OpenSSL reads it too");
}

#[test]
fn corrupt_der_is_a_sentence_not_parser_debug_output() {
    let work = set();
    // A SEQUENCE whose first element is a SET (tag 0x31, ASN.1 tag 17... and 20 for T61).
    std::fs::write(work.path().join("bad.der"), [0x30, 0x03, 0x14, 0x01, 0x00]).unwrap();
    let run = exec(work.path(), &["inspect", "bad.der"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("Tag("), "{}", run.stderr);
    assert!(!run.stderr.contains("Parsing Error"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`bad.der`: it is not a valid X.509 certificate (its DER encoding is corrupt or truncated)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_ca_with_an_unknown_critical_extension_makes_the_chain_invalid() {
    let work = set();
    let ca = TestCa::with("Critical CA", |params| {
        let mut extension =
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![5, 0]);
        extension.set_criticality(true);
        params.custom_extensions.push(extension);
    });
    let (leaf, _) = ca.leaf("leaf", &["localhost".to_owned()]);
    write(work.path(), "critical-ca.crt", &pem(&ca.der));
    write(work.path(), "leaf.crt", &pem(&leaf));
    let run = exec(
        work.path(),
        &[
            "verify",
            "leaf.crt",
            "--ca",
            "critical-ca.crt",
            "--host",
            "localhost",
        ],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("has the critical extension 1.3.6.1.4.1.99999.1"),
        "{}",
        run.stdout
    );
    // OpenSSL agrees.
    let (ok, text) = openssl(
        work.path(),
        &["verify", "-CAfile", "critical-ca.crt", "leaf.crt"],
    );
    assert!(
        !ok && text.contains("unhandled critical extension"),
        "{text}"
    );
}

#[test]
fn a_ca_not_valid_yet_is_reported_as_such() {
    let work = set();
    let ca = TestCa::with("Future CA", |params| {
        params.not_before = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    });
    let (leaf, _) = ca.leaf("leaf", &["localhost".to_owned()]);
    write(work.path(), "future-ca.crt", &pem(&ca.der));
    write(work.path(), "leaf.crt", &pem(&leaf));
    let run = exec(
        work.path(),
        &[
            "verify",
            "leaf.crt",
            "--ca",
            "future-ca.crt",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = value["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|finding| finding["problem"] == "ca_not_yet_valid"
                && finding["message"]
                    .as_str()
                    .unwrap()
                    .contains("its CA `CN=Future CA` (future-ca.crt) is not valid until")),
        "{findings:?}"
    );
}

#[test]
fn dates_before_1970_get_a_precise_message() {
    let work = set();
    let ca = TestCa::new("Old Root");
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(1950, 1, 1);
    params.not_after = rcgen::date_time_ymd(9999, 12, 31);
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let leaf = params.signed_by(&key, &issuer).unwrap().der().to_vec();
    write(work.path(), "old-ca.crt", &pem(&ca.der));
    write(work.path(), "old.crt", &pem(&leaf));
    let run = exec(
        work.path(),
        &[
            "verify",
            "old.crt",
            "--ca",
            "old-ca.crt",
            "--host",
            "localhost",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "has notBefore 1950-01-01 (before 1970), which rustls-webpki cannot represent"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("cannot parse it"), "{}", run.stdout);
}
