//! Real TLS connections with rustls: the in-process mutual-TLS exchange of `selftest` and the
//! connections `probe` makes to a live endpoint. Every socket operation has a timeout, and
//! certificate problems are explained with [`crate::pki::verify`]'s sentences. Nothing here
//! prints.
//!
//! Under TLS 1.3 a client finishes its handshake before the server has looked at the client
//! certificate, so a rejected certificate only shows on the first read. Both uses therefore
//! exchange application data: `selftest` a line each way, `probe` just enough HTTP to make
//! the server answer (see [`attempt`]).

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs as _};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName,
    ServerConfig, SignatureScheme,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer as _;

use crate::pki::PrivateKey;
use crate::pki::verify::{self, Problem, Purpose, TrustedCa, Verification};

/// A certificate chain (leaf first) and its private key, as one side presents them.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// The chain (DER, leaf first) with its key.
    pub fn new(chain: Vec<Vec<u8>>, key: &PrivateKey) -> Self {
        Identity {
            chain: chain.into_iter().map(CertificateDer::from).collect(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pair().serialize_der())),
        }
    }
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum Version {
    /// TLS 1.2: a rejected client certificate fails the handshake itself.
    #[serde(rename = "TLS 1.2")]
    Tls12,
    /// TLS 1.3: a rejected client certificate shows on the first read.
    #[serde(rename = "TLS 1.3")]
    Tls13,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Tls12 => "TLS 1.2",
            Version::Tls13 => "TLS 1.3",
        })
    }
}

/// What a handshake agreed on.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Negotiated {
    /// `TLS 1.2` or `TLS 1.3`.
    pub version: String,
    /// IANA name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The application protocol the server chose (ALPN), e.g. `h2`.
    pub alpn: Option<String>,
}

/// Errors that stop a TLS operation before any answer: bad configuration, name
/// resolution, connecting. Each message names the address and says what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificates or key cannot be used by rustls.
    #[error("cannot use {what}: {reason}")]
    Config {
        /// Which certificate or key.
        what: String,
        /// rustls's reason.
        reason: String,
    },

    /// `HOST:PORT` was not understood.
    #[error("invalid endpoint `{input}`: {reason}")]
    Endpoint {
        /// What was given.
        input: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// The name does not resolve.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },

    /// Nothing listens on the port.
    #[error(
        "connection refused by {address}: nothing is listening there; is the server running and the port right?"
    )]
    Refused {
        /// The address tried.
        address: SocketAddr,
    },

    /// No answer at all.
    #[error(
        "no answer from {address} within {seconds}s: a firewall is dropping the packets, or the address is wrong"
    )]
    Timeout {
        /// The address tried.
        address: SocketAddr,
        /// The timeout.
        seconds: u64,
    },

    /// Any other socket error.
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// The address tried.
        address: SocketAddr,
        /// The operating system's reason.
        reason: String,
    },

    /// The local test server could not be started.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(String),
}

// ---------------------------------------------------------------------------------------
// selftest: both sides in this process

/// An in-process mutual-TLS exchange over 127.0.0.1.
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// What the server presents.
    pub server: &'a Identity,
    /// The CAs the server accepts client certificates from (the Collector's
    /// `client_ca_file`). Client certificates are required.
    pub client_cas: &'a [TrustedCa],
    /// What the client presents, if anything.
    pub client: Option<&'a Identity>,
    /// The CAs the client trusts for the server (the exporter's `ca_file`).
    pub server_cas: &'a [TrustedCa],
    /// The name the client dials and verifies.
    pub server_name: &'a str,
    /// Restrict both sides to one version.
    pub version: Option<Version>,
    /// Bound for every socket operation.
    pub timeout: Duration,
}

/// How an exchange went.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ExchangeOutcome {
    /// What the handshake agreed on, when the client completed it.
    pub negotiated: Option<Negotiated>,
    /// A line went from the client to the server and one came back.
    pub data_both_ways: bool,
    /// Why the server refused the client (no certificate, or its certificate), if it did.
    pub server_refused_client: Option<String>,
    /// Why the client refused the server's certificate, if it did.
    pub client_refused_server: Option<String>,
    /// The TLS alert the client received, by its RFC name (`certificate_required`…).
    pub alert: Option<String>,
    /// Any other failure on the client side.
    pub client_error: Option<String>,
    /// Any other failure on the server side.
    pub server_error: Option<String>,
}

const PING: &[u8] = b"otel-pki selftest ping\n";
const PONG: &[u8] = b"otel-pki selftest pong\n";

/// Runs one exchange: the server requires a client certificate, the client sends a line
/// and reads the answer (which is where a TLS 1.3 rejection shows).
pub fn exchange(setup: &Exchange<'_>) -> Result<ExchangeOutcome, TlsError> {
    let provider = provider();
    let versions = versions(setup.version);
    let client_verifier = Arc::new(RecordingClientVerifier::new(
        setup.client_cas,
        provider.clone(),
    )?);
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|error| config_error("the TLS versions", &error))?
        .with_client_cert_verifier(client_verifier.clone())
        .with_single_cert(setup.server.chain.clone(), setup.server.key.clone_key())
        .map_err(|error| config_error("the server certificate and key", &error))?;
    let server_verifier = Arc::new(RecordingServerVerifier::new(
        setup.server_cas,
        &provider,
        VerifierMode::Enforce,
    ));
    let client_config = client_config(
        &provider,
        &versions,
        server_verifier.clone(),
        Arc::new(RecordingResolver::new(setup.client, &provider)?),
        Vec::new(),
    )?;
    let server_name = server_name(setup.server_name)?;

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| TlsError::Listen(e.to_string()))?;
    let address = listener
        .local_addr()
        .map_err(|e| TlsError::Listen(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| TlsError::Listen(e.to_string()))?;
    let timeout = setup.timeout;
    let server_config = Arc::new(server_config);
    let server = std::thread::spawn(move || serve_once(&listener, server_config, timeout));

    let mut alert = None;
    let client_result = (|| -> Result<(Negotiated, bool), String> {
        let mut stream =
            TcpStream::connect_timeout(&address, timeout).map_err(|e| e.to_string())?;
        set_timeouts(&stream, timeout);
        let mut connection = rustls::ClientConnection::new(Arc::new(client_config), server_name)
            .map_err(|e| describe_tls_error(&e, Peer::Server))?;
        let mut tls = rustls::Stream::new(&mut connection, &mut stream);
        let mut io_error = |error: io::Error| {
            if let Some(rustls::Error::AlertReceived(received)) = rustls_error(&error) {
                alert = Some(alert_name(*received));
            }
            describe_io_error(&error, Peer::Server, timeout)
        };
        tls.write_all(PING).map_err(&mut io_error)?;
        let negotiated = negotiated_client(tls.conn);
        let mut reply = Vec::new();
        read_line(&mut tls, &mut reply).map_err(&mut io_error)?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Ok((negotiated, reply == PONG))
    })();
    let server_result = server.join().unwrap_or_else(|_| {
        Err(ServerFailure {
            reason: "the test server panicked".into(),
            refused: false,
        })
    });

    let mut outcome = ExchangeOutcome {
        negotiated: None,
        data_both_ways: false,
        server_refused_client: None,
        client_refused_server: server_verifier.failure(),
        alert,
        client_error: None,
        server_error: None,
    };
    match server_result {
        Err(failure) if failure.refused => {
            // The recorded sentence says more than rustls's error name.
            outcome.server_refused_client =
                Some(client_verifier.failure().unwrap_or(failure.reason));
        }
        Err(failure) => outcome.server_error = Some(failure.reason),
        Ok(()) => {}
    }
    match client_result {
        Ok((negotiated, pong)) => {
            outcome.negotiated = Some(negotiated);
            outcome.data_both_ways = pong && outcome.server_error.is_none();
        }
        Err(error) if outcome.client_refused_server.is_none() => {
            outcome.client_error = Some(error);
        }
        Err(_) => {}
    }
    Ok(outcome)
}

/// Why the test server stopped; `refused` when it refused the client's certificate (or its
/// lack of one).
struct ServerFailure {
    reason: String,
    refused: bool,
}

fn serve_once(
    listener: &TcpListener,
    config: Arc<ServerConfig>,
    timeout: Duration,
) -> Result<(), ServerFailure> {
    let failed = |reason: String| ServerFailure {
        reason,
        refused: false,
    };
    let deadline = Instant::now() + timeout;
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(failed("no client connected".into()));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(error) => return Err(failed(error.to_string())),
        }
    };
    let _ = stream.set_nonblocking(false);
    set_timeouts(&stream, timeout);
    let mut connection = rustls::ServerConnection::new(config)
        .map_err(|e| failed(describe_tls_error(&e, Peer::Client)))?;
    let mut tls = rustls::Stream::new(&mut connection, &mut stream);
    let io_error = |error: io::Error| ServerFailure {
        refused: matches!(
            rustls_error(&error),
            Some(rustls::Error::NoCertificatesPresented | rustls::Error::InvalidCertificate(_))
        ),
        reason: describe_io_error(&error, Peer::Client, timeout),
    };
    let mut request = Vec::new();
    read_line(&mut tls, &mut request).map_err(io_error)?;
    if request != PING {
        return Err(failed("the client sent something unexpected".into()));
    }
    tls.write_all(PONG).map_err(io_error)?;
    tls.conn.send_close_notify();
    tls.flush().map_err(io_error)?;
    Ok(())
}

fn read_line(tls: &mut impl io::Read, buffer: &mut Vec<u8>) -> io::Result<()> {
    let mut byte = [0u8; 1];
    while buffer.len() < 256 {
        if tls.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buffer.push(byte[0]);
        if byte[0] == b'\n' {
            break;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// probe: one side, a live server

/// `HOST:PORT` of a live endpoint.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Endpoint {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl FromStr for Endpoint {
    type Err = TlsError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| TlsError::Endpoint {
            input: input.to_owned(),
            reason,
        };
        let input = input.trim();
        let input = input
            .strip_prefix("https://")
            .or_else(|| input.strip_prefix("http://"))
            .unwrap_or(input)
            .trim_end_matches('/');
        let (host, port) = if let Some(rest) = input.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| invalid("write an IPv6 address as [ADDRESS]:PORT"))?;
            (host, port)
        } else {
            input
                .rsplit_once(':')
                .ok_or_else(|| invalid("give a port, e.g. `otel-gateway:4317`"))?
        };
        if host.is_empty() || host.contains(':') && !input.starts_with('[') {
            return Err(invalid("write HOST:PORT, with IPv6 addresses in brackets"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?;
        Ok(Endpoint {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Resolves the endpoint's host, bounded by `timeout` (the system resolver has no timeout
/// of its own).
pub fn resolve(endpoint: &Endpoint, timeout: Duration) -> Result<Vec<SocketAddr>, TlsError> {
    if let Ok(ip) = endpoint.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, endpoint.port)]);
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    let target = (endpoint.host.clone(), endpoint.port);
    std::thread::spawn(move || {
        let _ = sender.send(target.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    let failed = |reason: String| TlsError::Resolve {
        host: endpoint.host.clone(),
        reason,
    };
    match receiver.recv_timeout(timeout) {
        Ok(Ok(addresses)) if !addresses.is_empty() => Ok(addresses),
        Ok(Ok(_)) => Err(failed("the name has no addresses".into())),
        Ok(Err(error)) => Err(failed(resolver_reason(&error))),
        Err(_) => Err(failed(format!(
            "no answer from the resolver within {}s",
            timeout.as_secs()
        ))),
    }
}

fn resolver_reason(error: &io::Error) -> String {
    let text = error.to_string();
    if text.contains("not known") || text.contains("No address") || text.contains("not found") {
        "no such host (check the name, and the DNS search domain outside Kubernetes)".into()
    } else if text.contains("Temporary failure") {
        "the DNS server did not answer (temporary failure in name resolution)".into()
    } else {
        text
    }
}

/// Connects to the first address that answers.
pub fn connect(addresses: &[SocketAddr], timeout: Duration) -> Result<TcpStream, TlsError> {
    let mut last = None;
    for address in addresses {
        if timeout.is_zero() {
            return Err(TlsError::Timeout {
                address: *address,
                seconds: 0,
            });
        }
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => {
                set_timeouts(&stream, timeout);
                return Ok(stream);
            }
            Err(error) => {
                last = Some(match error.kind() {
                    io::ErrorKind::ConnectionRefused => TlsError::Refused { address: *address },
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TlsError::Timeout {
                        address: *address,
                        seconds: timeout.as_secs().max(1),
                    },
                    _ => TlsError::Connect {
                        address: *address,
                        reason: error.to_string(),
                    },
                });
            }
        }
    }
    Err(last.unwrap_or(TlsError::Resolve {
        host: String::new(),
        reason: "no addresses".into(),
    }))
}

/// What one connection to a live server showed.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Attempt {
    /// A client certificate was configured for this connection.
    pub offered_certificate: bool,
    /// The server asked for a client certificate (a TLS CertificateRequest), with the CA
    /// names it listed as acceptable (empty: any). `None`: it did not ask.
    pub certificate_request: Option<Vec<String>>,
    /// What the handshake agreed on, when it completed.
    pub negotiated: Option<Negotiated>,
    /// How it ended.
    pub outcome: Outcome,
    /// rustls refused a handshake message over 64 KiB and the chain is not read yet
    /// (`probe` then reads it over TLS 1.2).
    #[serde(skip)]
    pub oversized: bool,
}

/// How a connection ended.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The server took the connection: it answered with application data (or, under TLS
    /// 1.2, finished a handshake in which it checks client certificates first).
    Accepted {
        /// What proves it, e.g. "read the server's HTTP/2 SETTINGS frame".
        evidence: String,
    },
    /// The server refused the connection.
    Rejected {
        /// The TLS alert it sent, by its RFC name (`certificate_required`, `unknown_ca`,
        /// `bad_certificate`…), if it sent one.
        alert: Option<String>,
        /// What that means.
        reason: String,
    },
    /// The handshake completed but the server sent nothing before the timeout.
    NoAnswer {
        /// Details.
        reason: String,
    },
    /// The server does not speak TLS on this port.
    NotTls {
        /// Details.
        reason: String,
    },
    /// Any other failure (no common TLS version, a broken server…).
    Failed {
        /// Details.
        reason: String,
    },
}

/// Connects once over `stream`: offers ALPN `h2` and `http/1.1`, records the chain the
/// server presents (without judging it: [`verify::verify`] does that afterwards, so the
/// question "does it enforce mTLS" is answered even when the chain is wrong), presents
/// `identity` if the server asks, and then makes the server speak:
///
/// - ALPN `h2` (gRPC, e.g. the Collector's 4317): the HTTP/2 client preface and an empty
///   SETTINGS frame; the server's first frame (its SETTINGS) is the answer.
/// - otherwise (OTLP/HTTP on 4318, `openssl s_server -www`): `GET / HTTP/1.1`; any response
///   line is the answer, a 404 included.
///
/// Every read and write waits only until `limit`'s deadline (shared by the whole probe). A
/// handshake message rustls refuses as too large (over 64 KiB) is read from the plaintext
/// records when TLS 1.2 was negotiated; otherwise the attempt is marked `oversized`.
///
/// Returns the attempt and the chain the server presented (DER, leaf first).
pub fn attempt(
    mut stream: TcpStream,
    server_name: &str,
    identity: Option<&Identity>,
    limit: Limit,
) -> Result<(Attempt, Vec<Vec<u8>>), TlsError> {
    let provider = provider();
    let versions = versions(None);
    let recorder = Arc::new(RecordingServerVerifier::new(
        &[],
        &provider,
        VerifierMode::Record,
    ));
    let resolver = Arc::new(RecordingResolver::new(identity, &provider)?);
    let config = client_config(
        &provider,
        &versions,
        recorder.clone(),
        resolver.clone(),
        vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    )?;
    let name = self::server_name(server_name)?;
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|error| config_error("the client configuration", &error))?;

    let mut metered = Metered::new(&mut stream, limit);
    let mut outcome = converse(&mut connection, &mut metered, server_name, &resolver);
    let mut chain = recorder.chain();
    let mut oversized = false;
    if let Outcome::Failed { reason } = &mut outcome
        && reason == OVERSIZED
    {
        oversized = true;
        *reason = if connection.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2) {
            // The handshake is plaintext under TLS 1.2: read the chain without rustls.
            match read_plaintext_chain(&mut metered) {
                Ok((size, certificates)) => {
                    chain = certificates;
                    oversized_sentence(Some(size))
                }
                Err(why) => format!("{}; {why}", oversized_sentence(None)),
            }
        } else {
            oversized_sentence(None)
        };
    }
    let negotiated = (!connection.is_handshaking()).then(|| negotiated_client(&connection));
    let attempt = Attempt {
        offered_certificate: identity.is_some(),
        certificate_request: resolver.request(),
        negotiated,
        outcome,
        oversized: oversized && chain.is_empty(),
    };
    Ok((attempt, chain))
}

/// The time a probe may take: one deadline for every connection, read and write, set from
/// `--timeout` when the probe starts.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// When everything must be over.
    pub deadline: Instant,
    /// `--timeout`, for messages.
    pub timeout: Duration,
}

impl Limit {
    /// A limit of `timeout` from now.
    pub fn starting_now(timeout: Duration) -> Self {
        Limit {
            deadline: Instant::now() + timeout,
            timeout,
        }
    }

    /// The time left (zero once over).
    pub fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// `3s`, `1.5s`: the timeout as given.
    pub fn text(&self) -> String {
        let millis = self.timeout.as_millis();
        if millis.is_multiple_of(1000) {
            format!("{}s", millis / 1000)
        } else {
            format!("{}s", self.timeout.as_secs_f64())
        }
    }
}

/// The rustls message for a handshake message over 64 KiB, rewritten by [`attempt`].
const OVERSIZED: &str = "oversized handshake message";

/// The largest handshake message rustls accepts (`MAX_HANDSHAKE_SIZE`).
pub const RUSTLS_HANDSHAKE_LIMIT: usize = 0xffff;

/// The most otel-pki reads of a certificate chain sent in plaintext (TLS 1.2).
pub const CHAIN_LIMIT: usize = 16 * 1024 * 1024;

fn oversized_sentence(size: Option<usize>) -> String {
    match size {
        Some(size) => format!(
            "the server's certificate chain is one TLS handshake message of {size} bytes, more than the {RUSTLS_HANDSHAKE_LIMIT} bytes rustls accepts, so rustls-based clients cannot connect; otel-pki read the chain without rustls (TLS 1.2 sends it in plaintext)"
        ),
        None => format!(
            "the server sent a TLS handshake message larger than the {RUSTLS_HANDSHAKE_LIMIT} bytes rustls accepts (a very large certificate chain or certificate), so rustls-based clients cannot connect"
        ),
    }
}

/// A connection's socket bounded by the probe's deadline: every read and write gets the time
/// left, so a server that drips one byte at a time cannot stretch the probe. Counts what the
/// server sent and keeps the first [`CHAIN_LIMIT`] bytes of it (the plaintext handshake of a
/// TLS 1.2 server whose chain rustls refuses is read from them).
struct Metered<'a> {
    stream: &'a mut TcpStream,
    limit: Limit,
    received: Vec<u8>,
    total: usize,
}

impl<'a> Metered<'a> {
    fn new(stream: &'a mut TcpStream, limit: Limit) -> Self {
        Metered {
            stream,
            limit,
            received: Vec::new(),
            total: 0,
        }
    }

    fn time_left(&self) -> io::Result<Duration> {
        let left = self.limit.left();
        if left.is_zero() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the probe's time limit passed",
            ))
        } else {
            Ok(left)
        }
    }
}

impl io::Read for Metered<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.time_left()?;
        self.stream.set_read_timeout(Some(left))?;
        let read = self.stream.read(buffer)?;
        self.total += read;
        let keep = read.min(CHAIN_LIMIT.saturating_sub(self.received.len()));
        self.received.extend_from_slice(&buffer[..keep]);
        Ok(read)
    }
}

impl io::Write for Metered<'_> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let left = self.time_left()?;
        self.stream.set_write_timeout(Some(left))?;
        self.stream.write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Reads the Certificate message of a TLS 1.2 handshake from the plaintext records the
/// server sent (continuing to read, within the deadline, until it is complete). Returns
/// its size and the certificates (DER, leaf first).
fn read_plaintext_chain(metered: &mut Metered<'_>) -> Result<(usize, Vec<Vec<u8>>), String> {
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match parse_plaintext_certificate(&metered.received) {
            Plaintext::Found(size, chain) => return Ok((size, chain)),
            Plaintext::Broken(why) => return Err(why),
            Plaintext::Incomplete if metered.received.len() >= CHAIN_LIMIT => {
                return Err(format!(
                    "the chain is larger than {} MiB, more than otel-pki reads",
                    CHAIN_LIMIT >> 20
                ));
            }
            Plaintext::Incomplete => {}
        }
        match io::Read::read(metered, &mut chunk) {
            Ok(0) => {
                return Err(
                    "the server closed the connection before its chain was complete".into(),
                );
            }
            Ok(_) => {}
            Err(error) if is_timeout(&error) => {
                return Err(format!(
                    "the chain was not complete within the probe's time limit (--timeout {})",
                    metered.limit.text()
                ));
            }
            Err(error) => return Err(format!("reading the chain failed: {error}")),
        }
    }
}

enum Plaintext {
    Found(usize, Vec<Vec<u8>>),
    Incomplete,
    Broken(String),
}

/// Finds the Certificate handshake message (type 11) in plaintext TLS records.
fn parse_plaintext_certificate(records: &[u8]) -> Plaintext {
    let mut handshake = Vec::new();
    let mut rest = records;
    while rest.len() >= 5 {
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + length {
            break;
        }
        let (kind, body) = (rest[0], &rest[5..5 + length]);
        match kind {
            22 => handshake.extend_from_slice(body),
            21 => return Plaintext::Broken("the server sent a TLS alert before its chain".into()),
            _ => return Plaintext::Broken("the chain was not sent in plaintext".into()),
        }
        rest = &rest[5 + length..];
    }
    let mut messages = handshake.as_slice();
    while messages.len() >= 4 {
        let kind = messages[0];
        let length = u24(&messages[1..4]);
        if kind == 11 {
            if length > CHAIN_LIMIT {
                return Plaintext::Broken(format!(
                    "its certificate chain is {length} bytes, more than the {} MiB otel-pki reads",
                    CHAIN_LIMIT >> 20
                ));
            }
            if messages.len() < 4 + length {
                return Plaintext::Incomplete;
            }
            return match certificate_list(&messages[4..4 + length]) {
                Some(chain) if !chain.is_empty() => Plaintext::Found(length, chain),
                _ => Plaintext::Broken("its Certificate message is malformed".into()),
            };
        }
        if messages.len() < 4 + length {
            return Plaintext::Incomplete;
        }
        messages = &messages[4 + length..];
    }
    Plaintext::Incomplete
}

fn u24(bytes: &[u8]) -> usize {
    (usize::from(bytes[0]) << 16) | (usize::from(bytes[1]) << 8) | usize::from(bytes[2])
}

/// The certificates of a TLS 1.2 Certificate message body.
fn certificate_list(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let total = u24(body.get(..3)?);
    let mut list = body.get(3..3 + total)?;
    let mut chain = Vec::new();
    while !list.is_empty() {
        let length = u24(list.get(..3)?);
        chain.push(list.get(3..3 + length)?.to_vec());
        list = &list[3 + length..];
    }
    Some(chain)
}

/// Reads the chain of a server whose handshake rustls refused as too large, over a new
/// connection restricted to TLS 1.2 (whose handshake is plaintext). Returns the chain and
/// a sentence, or why it could not be read.
pub fn read_oversized_chain(
    mut stream: TcpStream,
    server_name: &str,
    limit: Limit,
) -> Result<(Vec<Vec<u8>>, String), String> {
    let provider = provider();
    let versions = versions(Some(Version::Tls12));
    let recorder = Arc::new(RecordingServerVerifier::new(
        &[],
        &provider,
        VerifierMode::Record,
    ));
    let resolver = Arc::new(RecordingResolver::new(None, &provider).map_err(|e| e.to_string())?);
    let config = client_config(&provider, &versions, recorder, resolver, Vec::new())
        .map_err(|error| error.to_string())?;
    let name = self::server_name(server_name).map_err(|error| error.to_string())?;
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|error| error.to_string())?;
    let mut metered = Metered::new(&mut stream, limit);
    while connection.wants_write() {
        connection
            .write_tls(&mut metered)
            .map_err(|error| format!("sending the TLS 1.2 ClientHello failed: {error}"))?;
    }
    read_plaintext_chain(&mut metered)
        .map(|(size, chain)| (chain, oversized_sentence(Some(size))))
        .map_err(|why| {
            format!(
                "{}; its chain could not be read over TLS 1.2 either ({why})",
                oversized_sentence(None)
            )
        })
}

fn converse(
    connection: &mut rustls::ClientConnection,
    stream: &mut Metered<'_>,
    host: &str,
    resolver: &RecordingResolver,
) -> Outcome {
    let classify =
        |error: io::Error, connection: &rustls::ClientConnection, stream: &Metered<'_>| {
            classify_failure(&error, connection, resolver.request().is_some(), stream)
        };
    while connection.is_handshaking() {
        if let Err(error) = connection.complete_io(stream) {
            return classify(error, connection, stream);
        }
    }
    let tls12 = connection.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2);
    let http2 = connection.alpn_protocol() == Some(b"h2");
    let request: Vec<u8> = if http2 {
        // Client connection preface (RFC 9113 section 3.4), then an empty SETTINGS frame:
        // length 0, type 0x4, flags 0, stream 0.
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        bytes
    } else {
        format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: otel-pki-probe\r\nConnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    let mut tls = rustls::Stream::new(connection, stream);
    if let Err(error) = tls.write_all(&request).and_then(|()| tls.flush()) {
        return classify(error, tls.conn, tls.sock);
    }
    let mut answer = [0u8; 512];
    let result = tls.read(&mut answer);
    let outcome = match result {
        Ok(0) => Outcome::Accepted {
            evidence: "the server closed the connection cleanly (close_notify) after the handshake"
                .into(),
        },
        Ok(read) => Outcome::Accepted {
            evidence: evidence(&answer[..read], http2),
        },
        Err(error) if is_timeout(&error) && tls12 => Outcome::Accepted {
            evidence: "the TLS 1.2 handshake completed (the server checks a client certificate before it finishes); it sent no data"
                .into(),
        },
        Err(error) => classify(error, tls.conn, tls.sock),
    };
    if matches!(outcome, Outcome::Accepted { .. }) {
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
    outcome
}

fn evidence(answer: &[u8], http2: bool) -> String {
    if http2 {
        return match answer.get(3) {
            Some(4) if answer.len() >= 9 => "read the server's HTTP/2 SETTINGS frame".into(),
            Some(7) if answer.len() >= 9 => "read an HTTP/2 GOAWAY frame from the server".into(),
            _ => format!("read {} bytes of HTTP/2 from the server", answer.len()),
        };
    }
    let text = String::from_utf8_lossy(answer);
    match text.lines().next().filter(|line| line.starts_with("HTTP/")) {
        Some(status) => format!("read an HTTP response (`{}`)", status.trim()),
        None => format!("read {} bytes of application data", answer.len()),
    }
}

fn classify_failure(
    error: &io::Error,
    connection: &rustls::ClientConnection,
    asked_for_certificate: bool,
    stream: &Metered<'_>,
) -> Outcome {
    let handshaking = connection.is_handshaking();
    let limit = stream.limit.text();
    if let Some(tls_error) = rustls_error(error) {
        return match tls_error {
            rustls::Error::AlertReceived(alert) => {
                let reason = describe_alert(*alert, Peer::Server);
                let certificate_alert = matches!(
                    alert,
                    AlertDescription::CertificateRequired
                        | AlertDescription::UnknownCA
                        | AlertDescription::BadCertificate
                        | AlertDescription::UnsupportedCertificate
                        | AlertDescription::CertificateExpired
                        | AlertDescription::CertificateRevoked
                        | AlertDescription::CertificateUnknown
                        | AlertDescription::AccessDenied
                );
                // A handshake_failure after a CertificateRequest is how TLS 1.2 servers
                // (OpenSSL, Go 1.26) refuse a missing certificate.
                if certificate_alert
                    || (asked_for_certificate && *alert == AlertDescription::HandshakeFailure)
                    || !handshaking
                {
                    Outcome::Rejected {
                        alert: Some(alert_name(*alert)),
                        reason,
                    }
                } else {
                    Outcome::Failed { reason }
                }
            }
            rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge) => {
                Outcome::Failed {
                    reason: OVERSIZED.into(),
                }
            }
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }
                if handshaking && connection.protocol_version().is_none() =>
            {
                if looks_like_tls(&stream.received) {
                    Outcome::Failed {
                        reason: format!(
                            "the server answered with malformed TLS ({} bytes): {}",
                            stream.total,
                            describe_tls_error(tls_error, Peer::Server)
                        ),
                    }
                } else {
                    Outcome::NotTls {
                        reason: "the server's answer is not TLS: the port serves plaintext (or another protocol)"
                            .into(),
                    }
                }
            }
            other => Outcome::Failed {
                reason: describe_tls_error(other, Peer::Server),
            },
        };
    }
    if is_timeout(error) {
        return if handshaking && stream.total == 0 {
            Outcome::Failed {
                reason: format!(
                    "the server accepted the connection but sent nothing within the probe's time limit (--timeout {limit}): it did not answer the TLS ClientHello"
                ),
            }
        } else if handshaking {
            Outcome::Failed {
                reason: format!(
                    "the server did not finish the TLS handshake within the probe's time limit (--timeout {limit}): it had sent only {} bytes",
                    stream.total
                ),
            }
        } else {
            Outcome::NoAnswer {
                reason: format!(
                    "the handshake completed but the server sent nothing within the probe's time limit (--timeout {limit}), so whether it accepted the connection is unknown"
                ),
            }
        };
    }
    let reason = describe_io_error(error, Peer::Server, stream.limit.timeout);
    if handshaking && stream.total == 0 {
        // Closed before any answer: not a TLS server, or one that refuses us outright.
        return Outcome::NotTls {
            reason: format!("{reason} before answering the TLS ClientHello: is this a TLS port?"),
        };
    }
    if handshaking && !asked_for_certificate {
        // Cut in the middle of the server's own flight: nothing about certificates was
        // decided yet.
        return Outcome::Failed {
            reason: format!(
                "{reason} in the middle of the TLS handshake, after {} bytes of its answer",
                stream.total
            ),
        };
    }
    Outcome::Rejected {
        alert: None,
        reason,
    }
}

/// True when `bytes` start like a TLS record (handshake or alert, version 3.x).
fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [21 | 22, 3, ..])
}

// ---------------------------------------------------------------------------------------
// The mTLS verdict

/// Does the endpoint enforce mutual TLS? Decided from the connection without a client
/// certificate and the one with ours.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MtlsVerdict {
    /// Refuses connections without a client certificate and accepts ours: healthy.
    RequiresAndAccepts,
    /// Accepts connections without a client certificate.
    NotRequired,
    /// Refuses connections without a client certificate, and refuses ours too.
    RejectsOurCertificate,
    /// Refuses connections without a client certificate; ours was not tried (none given).
    RequiresUntested,
    /// The server does not speak TLS.
    NotTls,
    /// Neither answer is clear (no data, other failures).
    Inconclusive,
}

impl MtlsVerdict {
    /// Decides from the two attempts.
    pub fn decide(without: &Attempt, with: Option<&Attempt>) -> Self {
        match (&without.outcome, with.map(|attempt| &attempt.outcome)) {
            (Outcome::NotTls { .. }, _) => MtlsVerdict::NotTls,
            (Outcome::Accepted { .. }, _) => MtlsVerdict::NotRequired,
            (Outcome::Rejected { .. }, None) => MtlsVerdict::RequiresUntested,
            (Outcome::Rejected { .. }, Some(Outcome::Accepted { .. })) => {
                MtlsVerdict::RequiresAndAccepts
            }
            (Outcome::Rejected { .. }, Some(Outcome::Rejected { .. })) => {
                MtlsVerdict::RejectsOurCertificate
            }
            _ => MtlsVerdict::Inconclusive,
        }
    }

    /// The answer as a sentence about the server.
    pub fn sentence(self) -> &'static str {
        match self {
            MtlsVerdict::RequiresAndAccepts => "requires and accepts our client certificate",
            MtlsVerdict::NotRequired => "does not require client certificates",
            MtlsVerdict::RejectsOurCertificate => "rejected our client certificate",
            MtlsVerdict::RequiresUntested => {
                "requires a client certificate (ours was not tried: give --cert and --key)"
            }
            MtlsVerdict::NotTls => "does not speak TLS on this port",
            MtlsVerdict::Inconclusive => "gave no clear answer",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Verifiers and the client certificate resolver

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum VerifierMode {
    /// Refuse a server chain that does not verify (selftest: the real client behaviour).
    Enforce,
    /// Record the chain and go on (probe: judged afterwards).
    Record,
}

/// Verifies (or only records) the server's chain with [`verify::verify`], so a failure has
/// a sentence; the handshake signatures are checked by rustls as usual.
#[derive(Debug)]
struct RecordingServerVerifier {
    trusted: Vec<TrustedCa>,
    algorithms: WebPkiSupportedAlgorithms,
    mode: VerifierMode,
    chain: Mutex<Vec<Vec<u8>>>,
    failure: Mutex<Option<String>>,
}

impl RecordingServerVerifier {
    fn new(trusted: &[TrustedCa], provider: &CryptoProvider, mode: VerifierMode) -> Self {
        RecordingServerVerifier {
            trusted: trusted.to_vec(),
            algorithms: provider.signature_verification_algorithms,
            mode,
            chain: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
        }
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        self.chain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ServerCertVerifier for RecordingServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<Vec<u8>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|der| der.as_ref().to_vec())
            .collect();
        *self.chain.lock().unwrap_or_else(PoisonError::into_inner) = chain.clone();
        if self.mode == VerifierMode::Record {
            return Ok(ServerCertVerified::assertion());
        }
        let host = server_name.to_str().into_owned();
        let verification = verify_chain(
            &chain,
            "the server certificate",
            &self.trusted,
            Purpose::Server,
            &[host],
        );
        match verification {
            Ok(verification) if verification.is_valid() => Ok(ServerCertVerified::assertion()),
            Ok(verification) => {
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(sentences(&verification));
                Err(rustls::Error::InvalidCertificate(certificate_error(
                    &verification,
                )))
            }
            Err(reason) => {
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::BadEncoding,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// rustls's own client-certificate verifier (what a rustls server really does), with the
/// reason for a rejection recorded as a sentence.
#[derive(Debug)]
struct RecordingClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    trusted: Vec<TrustedCa>,
    failure: Mutex<Option<String>>,
}

impl RecordingClientVerifier {
    fn new(trusted: &[TrustedCa], provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in trusted {
            roots
                .add(CertificateDer::from(ca.der().to_vec()))
                .map_err(|error| config_error(ca.source(), &error))?;
        }
        let inner =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::Config {
                    what: "the client CA file".into(),
                    reason: error.to_string(),
                })?;
        Ok(RecordingClientVerifier {
            inner,
            trusted: trusted.to_vec(),
            failure: Mutex::new(None),
        })
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ClientCertVerifier for RecordingClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let result = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(error) = &result {
            let chain: Vec<Vec<u8>> = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|der| der.as_ref().to_vec())
                .collect();
            let reason = match verify_chain(
                &chain,
                "the client certificate",
                &self.trusted,
                Purpose::Client,
                &[],
            ) {
                Ok(verification) if !verification.is_valid() => sentences(&verification),
                Ok(_) => describe_tls_error(error, Peer::Client),
                Err(reason) => reason,
            };
            *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Presents the identity (if any) and records whether the server asked for one.
#[derive(Debug)]
struct RecordingResolver {
    certified: Option<Arc<CertifiedKey>>,
    request: Mutex<Option<Vec<String>>>,
}

impl RecordingResolver {
    fn new(identity: Option<&Identity>, provider: &CryptoProvider) -> Result<Self, TlsError> {
        let certified = identity
            .map(|identity| {
                CertifiedKey::from_der(identity.chain.clone(), identity.key.clone_key(), provider)
                    .map(Arc::new)
                    .map_err(|error| config_error("the client certificate and key", &error))
            })
            .transpose()?;
        Ok(RecordingResolver {
            certified,
            request: Mutex::new(None),
        })
    }

    fn request(&self) -> Option<Vec<String>> {
        self.request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl rustls::client::ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let names = root_hint_subjects
            .iter()
            .map(|der| match x509_parser::x509::X509Name::from_der(der) {
                Ok((_, name)) => name.to_string(),
                Err(_) => "(unparsable name)".to_owned(),
            })
            .collect();
        *self.request.lock().unwrap_or_else(PoisonError::into_inner) = Some(names);
        self.certified.clone()
    }

    fn has_certs(&self) -> bool {
        self.certified.is_some()
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn versions(version: Option<Version>) -> Vec<&'static rustls::SupportedProtocolVersion> {
    match version {
        Some(Version::Tls12) => vec![&rustls::version::TLS12],
        Some(Version::Tls13) => vec![&rustls::version::TLS13],
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
    }
}

fn client_config(
    provider: &Arc<CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    verifier: Arc<dyn ServerCertVerifier>,
    resolver: Arc<RecordingResolver>,
    alpn: Vec<Vec<u8>>,
) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|error| config_error("the TLS versions", &error))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(resolver);
    config.alpn_protocols = alpn;
    Ok(config)
}

fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_owned()).map_err(|_| TlsError::Config {
        what: format!("the server name `{name}`"),
        reason: "not a DNS name or an IP address".into(),
    })
}

fn config_error(what: &str, error: &impl fmt::Display) -> TlsError {
    TlsError::Config {
        what: what.to_owned(),
        reason: error.to_string(),
    }
}

fn set_timeouts(stream: &TcpStream, timeout: Duration) {
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_nodelay(true);
}

fn negotiated_client(connection: &rustls::ClientConnection) -> Negotiated {
    Negotiated {
        version: match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => Version::Tls12.to_string(),
            Some(rustls::ProtocolVersion::TLSv1_3) => Version::Tls13.to_string(),
            Some(other) => format!("TLS version 0x{:04x}", u16::from(other)),
            None => "unknown".into(),
        },
        cipher_suite: connection
            .negotiated_cipher_suite()
            .and_then(|suite| suite.suite().as_str())
            .unwrap_or("unknown")
            .to_owned(),
        alpn: connection
            .alpn_protocol()
            .map(|alpn| String::from_utf8_lossy(alpn).into_owned()),
    }
}

fn verify_chain(
    chain: &[Vec<u8>],
    source: &str,
    trusted: &[TrustedCa],
    purpose: Purpose,
    hosts: &[String],
) -> Result<Verification, String> {
    verify::verify(&verify::Request {
        chain,
        source,
        trusted,
        purposes: &[purpose],
        hosts,
        at: OffsetDateTime::now_utc(),
        at_is_now: true,
    })
    .map_err(|error| error.to_string())
}

/// All findings of a verification as one sentence.
fn sentences(verification: &Verification) -> String {
    verification
        .findings
        .iter()
        .map(|finding| finding.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rustls error (and so the TLS alert) that matches the first finding.
fn certificate_error(verification: &Verification) -> CertificateError {
    match verification.findings.first().map(|finding| finding.problem) {
        Some(Problem::UnknownIssuer) => CertificateError::UnknownIssuer,
        Some(Problem::Expired | Problem::CaExpired) => CertificateError::Expired,
        Some(Problem::NotYetValid | Problem::CaNotYetValid) => CertificateError::NotValidYet,
        Some(Problem::NameMismatch) => CertificateError::NotValidForName,
        Some(Problem::WrongPurpose) => CertificateError::InvalidPurpose,
        Some(Problem::BadSignature) => CertificateError::BadSignature,
        _ => CertificateError::ApplicationVerificationFailure,
    }
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Peer {
    Client,
    Server,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Client => "the client",
            Peer::Server => "the server",
        }
    }
}

fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An I/O error from a TLS stream, as a sentence about `peer`.
fn describe_io_error(error: &io::Error, peer: Peer, timeout: Duration) -> String {
    if let Some(tls) = rustls_error(error) {
        return describe_tls_error(tls, peer);
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => {
            format!("{} closed the connection without a TLS alert", peer.name())
        }
        io::ErrorKind::ConnectionReset => format!("{} reset the connection", peer.name()),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
            format!("{} closed the connection", peer.name())
        }
        _ if is_timeout(error) => format!(
            "{} sent nothing within {}s",
            peer.name(),
            timeout.as_secs().max(1)
        ),
        _ => error.to_string(),
    }
}

/// A rustls error as a sentence; `peer` is the other side.
fn describe_tls_error(error: &rustls::Error, peer: Peer) -> String {
    match error {
        rustls::Error::AlertReceived(alert) => describe_alert(*alert, peer),
        rustls::Error::NoCertificatesPresented => "the client sent no certificate".into(),
        rustls::Error::InvalidCertificate(certificate) => format!(
            "the certificate of {} was rejected: {}",
            peer.name(),
            describe_certificate_error(certificate)
        ),
        rustls::Error::PeerIncompatible(_) => format!(
            "{} and otel-pki have no TLS version, cipher suite or signature scheme in common",
            peer.name()
        ),
        rustls::Error::NoApplicationProtocol => format!(
            "{} supports none of the application protocols offered (ALPN h2, http/1.1)",
            peer.name()
        ),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => {
            format!("{} sent something that is not valid TLS", peer.name())
        }
        rustls::Error::PeerMisbehaved(_) => format!(
            "{} broke the TLS protocol (a message out of order or with values it must not send)",
            peer.name()
        ),
        rustls::Error::DecryptError => "a record could not be decrypted".into(),
        other => format!("TLS error: {other}"),
    }
}

fn describe_certificate_error(error: &CertificateError) -> &'static str {
    match error {
        CertificateError::UnknownIssuer => "signed by an unknown authority",
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired",
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not valid yet"
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "not valid for the name dialed"
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "its extendedKeyUsage does not allow this purpose"
        }
        CertificateError::BadSignature => "its signature does not verify",
        CertificateError::BadEncoding => "it cannot be parsed",
        _ => "it did not verify",
    }
}

/// The RFC 8446 name of an alert, e.g. `certificate_required`.
pub fn alert_name(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::HandshakeFailure => "handshake_failure".into(),
        AlertDescription::BadCertificate => "bad_certificate".into(),
        AlertDescription::UnsupportedCertificate => "unsupported_certificate".into(),
        AlertDescription::CertificateRevoked => "certificate_revoked".into(),
        AlertDescription::CertificateExpired => "certificate_expired".into(),
        AlertDescription::CertificateUnknown => "certificate_unknown".into(),
        AlertDescription::UnknownCA => "unknown_ca".into(),
        AlertDescription::AccessDenied => "access_denied".into(),
        AlertDescription::DecryptError => "decrypt_error".into(),
        AlertDescription::ProtocolVersion => "protocol_version".into(),
        AlertDescription::InternalError => "internal_error".into(),
        AlertDescription::CertificateRequired => "certificate_required".into(),
        AlertDescription::NoApplicationProtocol => "no_application_protocol".into(),
        AlertDescription::UnrecognisedName => "unrecognized_name".into(),
        AlertDescription::DecodeError => "decode_error".into(),
        AlertDescription::IllegalParameter => "illegal_parameter".into(),
        AlertDescription::UnexpectedMessage => "unexpected_message".into(),
        other => u8::from(other).to_string(),
    }
}

fn describe_alert(alert: AlertDescription, peer: Peer) -> String {
    let name = alert_name(alert);
    let meaning = match alert {
        AlertDescription::CertificateRequired => {
            "it requires a client certificate and none was sent"
        }
        AlertDescription::UnknownCA => {
            "it does not trust the CA that signed the certificate it was sent"
        }
        AlertDescription::BadCertificate => {
            "it refused the certificate it was sent (for example: no extendedKeyUsage clientAuth, or, from older servers, no certificate at all)"
        }
        AlertDescription::CertificateExpired => {
            "the certificate it was sent has expired (or is not valid yet)"
        }
        AlertDescription::UnsupportedCertificate => {
            "it cannot use the kind of certificate it was sent"
        }
        AlertDescription::CertificateUnknown => "it refused the certificate it was sent",
        AlertDescription::AccessDenied => "it refuses this client",
        AlertDescription::HandshakeFailure => {
            "no common parameters, or (TLS 1.2) a required client certificate is missing"
        }
        AlertDescription::ProtocolVersion => "no common TLS version",
        AlertDescription::DecryptError => {
            "a signature or key did not verify (a certificate and key that do not belong together?)"
        }
        AlertDescription::NoApplicationProtocol => "no common application protocol (ALPN)",
        _ => "the connection failed",
    };
    format!("{} sent the alert `{name}`: {meaning}", peer.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_clear_errors() {
        let endpoint: Endpoint = "otel-gateway:4317".parse().unwrap();
        assert_eq!(endpoint.host, "otel-gateway");
        assert_eq!(endpoint.port, 4317);
        let endpoint: Endpoint = "[::1]:4318".parse().unwrap();
        assert_eq!(endpoint.host, "::1");
        assert_eq!(endpoint.to_string(), "[::1]:4318");
        let endpoint: Endpoint = "https://gw.example.com:4318/".parse().unwrap();
        assert_eq!(endpoint.host, "gw.example.com");
        for bad in ["otel-gateway", "::1:4317", "host:0", "host:http", ":4317"] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn alerts_have_their_rfc_names() {
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert!(
            describe_alert(AlertDescription::UnknownCA, Peer::Server)
                .starts_with("the server sent the alert `unknown_ca`: it does not trust")
        );
    }

    #[test]
    fn the_verdict_needs_both_answers() {
        let attempt = |outcome| Attempt {
            offered_certificate: false,
            certificate_request: None,
            negotiated: None,
            outcome,
            oversized: false,
        };
        let accepted = attempt(Outcome::Accepted {
            evidence: String::new(),
        });
        let rejected = attempt(Outcome::Rejected {
            alert: None,
            reason: String::new(),
        });
        let silent = attempt(Outcome::NoAnswer {
            reason: String::new(),
        });
        use MtlsVerdict as V;
        assert_eq!(V::decide(&rejected, Some(&accepted)), V::RequiresAndAccepts);
        assert_eq!(V::decide(&accepted, Some(&accepted)), V::NotRequired);
        assert_eq!(
            V::decide(&rejected, Some(&rejected)),
            V::RejectsOurCertificate
        );
        assert_eq!(V::decide(&rejected, None), V::RequiresUntested);
        assert_eq!(V::decide(&silent, Some(&accepted)), V::Inconclusive);
        assert_eq!(V::decide(&rejected, Some(&silent)), V::Inconclusive);
    }

    #[test]
    fn a_plaintext_certificate_message_is_found_across_records() {
        // ServerHello (type 2, 1 byte body), then Certificate (type 11) with two
        // certificates of 2 and 1 bytes, split over two handshake records.
        let handshake = [
            2, 0, 0, 1, 0xaa, 11, 0, 0, 12, 0, 0, 9, 0, 0, 2, 0x30, 0x00, 0, 0, 1, 0x05,
        ];
        let mut records = Vec::new();
        for part in [&handshake[..8], &handshake[8..]] {
            records.extend_from_slice(&[22, 3, 3, 0, part.len() as u8]);
            records.extend_from_slice(part);
        }
        match parse_plaintext_certificate(&records) {
            Plaintext::Found(size, chain) => {
                assert_eq!(size, 12);
                assert_eq!(chain, vec![vec![0x30, 0x00], vec![0x05]]);
            }
            _ => panic!("not found"),
        }
        assert!(matches!(
            parse_plaintext_certificate(&records[..records.len() - 1]),
            Plaintext::Incomplete
        ));
        assert!(matches!(
            parse_plaintext_certificate(&[21, 3, 3, 0, 2, 2, 40]),
            Plaintext::Broken(_)
        ));
        // The largest length a message can claim (16 MiB - 1) waits for more bytes; the
        // reader stops at CHAIN_LIMIT bytes received.
        assert!(matches!(
            parse_plaintext_certificate(&[22, 3, 3, 0, 4, 11, 0xff, 0xff, 0xff]),
            Plaintext::Incomplete
        ));
        let mut bad = records.clone();
        bad[21] = 0xff; // the list length now exceeds the message
        assert!(matches!(
            parse_plaintext_certificate(&bad),
            Plaintext::Broken(_)
        ));
    }

    #[test]
    fn evidence_reads_http() {
        assert_eq!(
            evidence(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3], true),
            "read the server's HTTP/2 SETTINGS frame"
        );
        assert_eq!(
            evidence(b"HTTP/1.1 404 Not Found\r\n\r\n", false),
            "read an HTTP response (`HTTP/1.1 404 Not Found`)"
        );
    }
}
