//! A deterministic mutation ("fuzz-style") test: seeded mutations of PEM and DER
//! certificates, Collector YAML and TLS server flights, fed to the parsers behind `inspect`,
//! `verify`, `lint-config` and `probe`. Asserted: no panic, no hang (a deadline per case), and
//! bounded memory (a sample of cases runs the real binary under `ulimit -v`).
//!
//! The seed is fixed (`OTEL_PKI_MUTATION_SEED` replays another run), so a failure names the
//! case that reproduces it. `OTEL_PKI_MUTATION_SCALE` multiplies the case counts (CI may run
//! more; the default is bounded to well under a minute on two shared cores).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use otel_pki::config::lint::{LintOptions, lint};
use otel_pki::pki::CertSummary;
use otel_pki::pki::certificate::decode_certificates;
use otel_pki::pki::verify::{self, TrustedCa};
use otel_pki::tls;

use crate::hostile::Server;
use crate::support::*;

/// Memory a single run of the binary may reserve (address space, `ulimit -v`).
const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;
/// The longest any one in-process case may take before it counts as a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// A small deterministic generator and the mutations

struct Rng(u64);

impl Rng {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

/// 1 to 4 mutations of `input`: bit flips, interesting bytes, deletions, insertions, a
/// duplicated chunk, truncation, tokens of the format spliced in, DER length tweaks. Never
/// amplifying: the result is at most a few KiB longer than the input.
fn mutate(input: &[u8], tokens: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] = [0x00, 0xff, 0x7f, 0x80, 0x30, 0x31, 0x82, 0x84, b'\n'][rng.below(9)];
            }
            2 => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 => {
                let bytes: Vec<u8> = (0..1 + rng.below(32)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            4 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(256)).min(data.len());
                let chunk = data[start..end].to_vec();
                data.splice(at..at, chunk);
            }
            5 => data.truncate(at),
            6 => {
                let token = tokens[rng.below(tokens.len())];
                data.splice(at..at, token.iter().copied());
            }
            _ => {
                // A DER length after a SEQUENCE or OCTET/BIT STRING tag.
                let tags: Vec<usize> = data
                    .iter()
                    .enumerate()
                    .filter(|(index, byte)| {
                        matches!(byte, 0x30 | 0x04 | 0x03) && index + 1 < data.len()
                    })
                    .map(|(index, _)| index + 1)
                    .collect();
                if !tags.is_empty() {
                    let index = tags[rng.below(tags.len())];
                    data[index] = [0x80, 0x81, 0x82, 0x83, 0x84, 0x00, 0x7f, 0xff][rng.below(8)];
                }
            }
        }
    }
    data
}

const PEM_TOKENS: &[&[u8]] = &[
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----END CERTIFICATE-----\n",
    b"-----BEGIN PRIVATE KEY-----\n",
    b"\n",
    b"\r\n",
    b"=",
    b"0 - generated bundle\n",
    b"\0",
    b"\x1b[2J",
];
const DER_TOKENS: &[&[u8]] = &[
    &[0x30, 0x80],
    &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    &[0x02, 0x01, 0x00],
    &[0x06, 0x03, 0x55, 0x1d, 0x11],
    &[0x17, 0x0d],
    &[0x18, 0x0f],
    &[0x05, 0x00],
];
const YAML_TOKENS: &[&[u8]] = &[
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"- ",
    b"? ",
    b"{",
    b"}",
    b"[",
    b"]",
    b": ",
    b"\t",
    b"'",
    b"\"",
    b"\0",
    b"#",
    b"\n  ",
    b"!!binary ",
    b"%YAML 1.2\n---\n",
    b"\xff\xfe",
];
const TLS_TOKENS: &[&[u8]] = &[
    &[22, 3, 3, 0xff, 0xff],
    &[21, 3, 3, 0, 2, 2, 40],
    &[11, 0xff, 0xff, 0xff],
    &[0, 0, 0],
    &[20, 3, 3, 0, 1, 1],
    &[23, 3, 3, 0x40, 0x00],
];

fn scale() -> usize {
    std::env::var("OTEL_PKI_MUTATION_SCALE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1)
}

fn seed() -> u64 {
    std::env::var("OTEL_PKI_MUTATION_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x07e1_0010)
}

/// Runs `cases` on a worker thread, each under `catch_unwind`; the test fails on a panic
/// (naming the case) or when a case takes longer than [`CASE_DEADLINE`] (a hang).
fn run_cases<F>(name: &'static str, count: usize, case: F) -> Duration
where
    F: Fn(usize) + Send + Sync + 'static,
{
    let (progress, done) = mpsc::channel::<Result<usize, String>>();
    let started = Instant::now();
    let worker = std::thread::spawn(move || {
        for index in 0..count {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(index)));
            let message = match outcome {
                Ok(()) => Ok(index),
                Err(panic) => Err(format!(
                    "{name} case {index} (seed {}) panicked: {}",
                    seed(),
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default()
                )),
            };
            if progress.send(message).is_err() {
                return;
            }
        }
    });
    for index in 0..count {
        match done.recv_timeout(CASE_DEADLINE) {
            Ok(Ok(_)) => {}
            Ok(Err(message)) => panic!("{message}"),
            Err(_) => panic!(
                "{name} case {index} (seed {}) did not finish within {CASE_DEADLINE:?}: a hang",
                seed()
            ),
        }
    }
    worker.join().unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "mutation: {count} {name} cases in {:.2}s",
        elapsed.as_secs_f64()
    );
    elapsed
}

// ---------------------------------------------------------------------------------------
// The corpus

struct Corpus {
    work: tempfile::TempDir,
    pem: Vec<Vec<u8>>,
    der: Vec<Vec<u8>>,
    yaml: Vec<Vec<u8>>,
    trusted: Vec<TrustedCa>,
}

fn corpus() -> Corpus {
    let work = workdir();
    init(work.path(), &["-q", "--san", "otel-gateway"]);
    let dir = work.path().join("otel-certs");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let mut pem = vec![read("ca.crt"), read("server.crt"), read("client.crt")];
    pem.push([read("server.crt"), read("ca.crt")].concat());
    pem.push([read("server.key"), read("server.crt")].concat());
    let der: Vec<Vec<u8>> = ["ca.crt", "server.crt"]
        .iter()
        .map(|name| certificates(&dir.join(name))[0].to_vec())
        .collect();
    let mut yaml = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for folder in ["golden/config", "corpus/lint"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for file in files {
            if file
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
            {
                yaml.push(std::fs::read(&file).unwrap());
            }
        }
    }
    assert!(yaml.len() >= 5, "the YAML corpus is missing");
    let (trusted, _) = TrustedCa::from_file(vec![der[0].clone()], "ca.crt").unwrap();
    Corpus {
        work,
        pem,
        der,
        yaml,
        trusted,
    }
}

/// A message for the user holds no parser Debug output (`Der(UnexpectedTag { … })`).
fn assert_words(message: &str) {
    for marker in [
        "Tag(",
        "Some(",
        "{ ",
        "Der(",
        "NomError",
        "InvalidMessage",
        "PeerMisbehaved",
        "Parsing Error",
    ] {
        assert!(
            !message.contains(marker),
            "debug output in a message: {message}"
        );
    }
}

/// What `inspect` and `verify` do with a file's bytes, in process.
fn certificate_case(bytes: &[u8], trusted: &[TrustedCa]) {
    let chain = match decode_certificates(bytes, "fuzz.crt") {
        Ok(chain) => chain,
        Err(error) => return assert_words(&error.to_string()),
    };
    let now = time::OffsetDateTime::now_utc();
    for (index, der) in chain.iter().enumerate() {
        if let Err(error) = CertSummary::new(der, "fuzz.crt", index, now) {
            assert_words(&error.to_string());
        }
    }
    if let Err(error) = TrustedCa::from_file(chain.clone(), "fuzz-ca.crt") {
        assert_words(&error.to_string());
    }
    let _ = verify::verify(&verify::Request {
        chain: &chain,
        source: "fuzz.crt",
        trusted,
        purposes: &[],
        hosts: &["otel-gateway".to_owned()],
        at: now,
        at_is_now: true,
    });
}

// ---------------------------------------------------------------------------------------
// TLS flights

/// What a real rustls server sends in answer to a ClientHello (TLS 1.3 or 1.2 only).
fn server_flight(dir: &Path, tls12: bool) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(&dir.join("ca.crt")) {
        roots.add(certificate).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                certificates(&dir.join("server.crt")),
                private_key(&dir.join("server.key")),
            )
            .unwrap(),
    );
    let client_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    );
    let mut client = rustls::ClientConnection::new(
        client_config,
        rustls::pki_types::ServerName::try_from("otel-gateway").unwrap(),
    )
    .unwrap();
    let mut hello = Vec::new();
    client.write_tls(&mut hello).unwrap();
    let mut server = rustls::ServerConnection::new(config).unwrap();
    server.read_tls(&mut hello.as_slice()).unwrap();
    server.process_new_packets().unwrap();
    let mut flight = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut flight).unwrap();
    }
    flight
}

/// A server answering every connection with the next mutated flight (then closing, or in
/// one case of eight holding the connection until the client leaves).
fn mutating_server(flights: Vec<Vec<u8>>, seed: u64) -> Server {
    let counter = Arc::new(AtomicU64::new(0));
    Server::start(move |mut stream, stop: &AtomicBool| {
        let number = counter.fetch_add(1, Ordering::SeqCst);
        let mut rng = Rng(seed ^ number.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let base = &flights[rng.below(flights.len())];
        let flight = mutate(base, TLS_TOKENS, &mut rng);
        let hold = rng.below(8) == 0;
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut hello = [0u8; 4096];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(&flight);
        if hold {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                match stream.read(&mut hello) {
                    Ok(0) => break,
                    Err(error)
                        if !matches!(
                            error.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    _ => {}
                }
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// The binary under a memory limit

/// Runs the binary with `args` under `ulimit -v` and a wall-clock bound; asserts it ended
/// by itself with 0, 1 or 2 and no panic.
fn bounded_run(work: &Path, args: &[&str], label: &str) {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_otel-pki"))
        .args(args)
        .current_dir(work)
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{label}: `otel-pki {}` did not end within 30s",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(
        matches!(status.code(), Some(0..=2)) && !stderr.contains("panicked"),
        "{label}: `otel-pki {}` ended with {status} under a {MEMORY_LIMIT_KIB} KiB limit: {stderr}",
        args.join(" ")
    );
}

// ---------------------------------------------------------------------------------------

#[test]
fn mutated_inputs_never_panic_hang_or_exhaust_memory() {
    let started = Instant::now();
    let corpus = corpus();
    let scale = scale();
    let seed = seed();
    let mut total = 0;

    // PEM and DER: what inspect and verify parse.
    for (name, bases, tokens, count) in [
        ("PEM", corpus.pem.clone(), PEM_TOKENS, 6000 * scale),
        ("DER", corpus.der.clone(), DER_TOKENS, 5000 * scale),
    ] {
        let trusted = corpus.trusted.clone();
        run_cases(name, count, move |index| {
            let mut rng = Rng(seed ^ (index as u64) << 8 ^ name.len() as u64);
            let base = &bases[rng.below(bases.len())];
            certificate_case(&mutate(base, tokens, &mut rng), &trusted);
        });
        total += count;
    }

    // YAML: lint-config's library entry point.
    let yaml = corpus.yaml.clone();
    let count = 5000 * scale;
    run_cases("YAML", count, move |index| {
        let mut rng = Rng(seed ^ (index as u64) << 16);
        let base = &yaml[rng.below(yaml.len())];
        let text = String::from_utf8_lossy(&mutate(base, YAML_TOKENS, &mut rng)).into_owned();
        let _ = lint(&text, &LintOptions::default());
    });
    total += count;

    // TLS: probe's connection code against a server sending mutated flights.
    let dir = corpus.work.path().join("otel-certs");
    let flights = vec![server_flight(&dir, false), server_flight(&dir, true)];
    let server = mutating_server(flights, seed);
    let port = server.port;
    let count = 400 * scale;
    run_cases("TLS", count, move |_| {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let limit = tls::Limit::starting_now(Duration::from_millis(400));
        if let Ok((attempt, chain)) = tls::attempt(stream, "otel-gateway", None, limit) {
            assert_words(&serde_json::to_string(&attempt.outcome).unwrap());
            let now = time::OffsetDateTime::now_utc();
            for (index, der) in chain.iter().enumerate() {
                let _ = CertSummary::new(der, "127.0.0.1", index, now);
            }
        }
    });
    total += count;

    // The real binary under a memory limit, on a sample of each kind.
    let work = corpus.work.path();
    let samples = 16 * scale;
    let binary_started = Instant::now();
    let mut rng = Rng(seed);
    for index in 0..samples {
        let pem = mutate(&corpus.pem[index % corpus.pem.len()], PEM_TOKENS, &mut rng);
        std::fs::write(work.join("m.pem"), &pem).unwrap();
        let der = mutate(&corpus.der[index % corpus.der.len()], DER_TOKENS, &mut rng);
        std::fs::write(work.join("m.der"), &der).unwrap();
        let yaml = mutate(
            &corpus.yaml[index % corpus.yaml.len()],
            YAML_TOKENS,
            &mut rng,
        );
        std::fs::write(work.join("m.yaml"), &yaml).unwrap();
        let label = format!("binary case {index} (seed {seed})");
        bounded_run(work, &["inspect", "m.pem", "m.der"], &label);
        bounded_run(
            work,
            &["verify", "m.pem", "--ca", "otel-certs/ca.crt"],
            &label,
        );
        bounded_run(
            work,
            &["verify", "otel-certs/server.crt", "--ca", "m.der"],
            &label,
        );
        bounded_run(work, &["lint-config", "m.yaml"], &label);
        bounded_run(
            work,
            &[
                "probe",
                &format!("127.0.0.1:{port}"),
                "--server-name",
                "otel-gateway",
                "--timeout",
                "1s",
            ],
            &label,
        );
    }
    eprintln!(
        "mutation: {} runs of the binary under ulimit -v {MEMORY_LIMIT_KIB} KiB in {:.2}s",
        samples * 5,
        binary_started.elapsed().as_secs_f64()
    );
    total += samples * 5;
    drop(server);
    eprintln!(
        "mutation: {total} cases in all, {:.2}s",
        started.elapsed().as_secs_f64()
    );
}
