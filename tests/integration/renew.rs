use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otel_pki::cmd::renew::RenewReport;
use otel_pki::pki::renewal::{LeafTemplate, RequestedLifetimes};
use otel_pki::pki::{Ca, KeyType, LeafRequest, Lifetime, PrivateKey, Validity};
use otel_pki::set::write as write_set;
use otel_pki::write::{Overwrite, PlannedFile};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use crate::support::*;

fn renew(work: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    otel_pki(work).arg("renew").args(args).assert()
}

fn renew_json(work: &Path, args: &[&str]) -> RenewReport {
    let output = otel_pki(work)
        .args(["renew", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn template(path: &Path) -> LeafTemplate {
    LeafTemplate::of(&certificates(path)[0], &path.display().to_string()).unwrap()
}

/// Re-signs `NAME.crt` of the set in `dir` with the set's CA as if it had been issued
/// `age_days` ago with a lifetime of `lifetime_days`, keeping its names and purpose.
fn backdate(dir: &Path, name: &str, age_days: i64, lifetime_days: i64) {
    let ca_der = certificates(&dir.join("ca.crt"))[0].to_vec();
    let ca_key = PrivateKey::from_pem_or_der(&read(&dir.join("ca.key")), "ca.key").unwrap();
    let ca = Ca::new(ca_der, "ca.crt", ca_key).unwrap();
    let old = template(&dir.join(format!("{name}.crt")));
    let issued = OffsetDateTime::now_utc() - time::Duration::days(age_days);
    let request = LeafRequest {
        profile: old.profile,
        common_name: old.common_name,
        sans: old.sans,
        validity: Validity::between(
            issued - otel_pki::pki::lifetime::BACKDATE,
            issued + time::Duration::days(lifetime_days),
        ),
    };
    let leaf = ca
        .issue(&request, PrivateKey::generate(KeyType::EcdsaP256).unwrap())
        .unwrap();
    write_set(
        dir,
        &[
            PlannedFile::key(format!("{name}.key"), leaf.key.to_pkcs8_pem()),
            PlannedFile::public(format!("{name}.crt"), leaf.certificate_pem()),
        ],
        Overwrite::Replace,
    )
    .unwrap();
}

#[test]
fn nothing_due_changes_nothing() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let before = listing(&dir);
    let contents = read(&dir.join("server.crt"));
    renew(work.path(), &["--exit-code"])
        .success()
        .stderr(predicates::str::contains(
            "nothing to renew in ./otel-certs; next due: ",
        ));
    // Not even the layout changes: the files are still the plain files init wrote.
    assert_eq!(listing(&dir), before);
    assert!(!dir.join("server.crt").is_symlink());
    assert_eq!(read(&dir.join("server.crt")), contents);
    let report = renew_json(work.path(), &[]);
    assert!(report.renewed.is_empty() && report.generation.is_none());
    assert_eq!(report.unchanged.len(), 2);
}

#[test]
fn renew_all_keeps_subject_names_purpose_key_type_and_lifetime() {
    let work = workdir();
    init(
        work.path(),
        &[
            "--san",
            "10.0.0.5,gw.example.com",
            "--client-cn",
            "agent-7",
            "--client-san",
            "spiffe://cluster.local/ns/obs/sa/agent",
            "--key-type",
            "ecdsa-p384",
            "--validity",
            "90d",
            "-q",
        ],
    );
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--name",
            "gateway",
            "--san",
            "gw.internal",
            "--client-auth",
            "--key-type",
            "rsa-2048",
            "--validity",
            "30d",
            "-q",
        ])
        .assert()
        .success();
    let dir = set_file(work.path(), "");
    let names = ["server", "client", "gateway"];
    let before: Vec<LeafTemplate> = names
        .iter()
        .map(|name| template(&dir.join(format!("{name}.crt"))))
        .collect();
    let old_keys: Vec<Vec<u8>> = names
        .iter()
        .map(|name| read(&dir.join(format!("{name}.key"))))
        .collect();

    let report = renew_json(work.path(), &["--all"]);
    assert_eq!(report.renewed.len(), 3);
    for ((name, old), old_key) in names.iter().zip(&before).zip(&old_keys) {
        let new = template(&dir.join(format!("{name}.crt")));
        assert_eq!(new.profile, old.profile, "{name}");
        assert_eq!(new.common_name, old.common_name, "{name}");
        assert_eq!(new.sans, old.sans, "{name}: names and their order");
        assert_eq!(new.key_type, old.key_type, "{name}");
        assert_eq!(new.lifetime, old.lifetime, "{name}");
        assert_eq!(new.issuer, old.issuer, "{name}");
        assert_ne!(new.serial, old.serial, "{name}");
        assert_ne!(&read(&dir.join(format!("{name}.key"))), old_key, "{name}");
        let entry = report.renewed.iter().find(|r| r.name == *name).unwrap();
        assert_eq!(entry.old_serial, old.serial);
        assert_eq!(entry.new_serial.as_deref(), Some(new.serial.as_str()));
        assert_eq!(entry.old_not_after, old.not_after);
        assert_eq!(entry.new_not_after, new.not_after);
        assert!(entry.new_key && !entry.clamped);
    }
    assert_eq!(report.renewed[2].role, "server+client");
    assert_eq!(report.renewed[2].key_type, "RSA 2048");
    // The renewed set works, through the same paths.
    set_handshake(&dir, "gw.example.com").unwrap();
    set_handshake(&dir, "10.0.0.5").unwrap();
    let (ok, text) = openssl(
        &dir,
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            "ca.crt",
            "gateway.crt",
        ],
    );
    assert!(ok, "{text}");
}

#[test]
fn the_default_renews_what_has_a_third_of_its_lifetime_left_and_is_idempotent() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    // 300 days into 365: 65 days left, less than a third (121.7 days).
    backdate(&dir, "server", 300, 365);
    // 200 days into 365: 165 days left.
    backdate(&dir, "client", 200, 365);
    let client_before = read(&dir.join("client.crt"));

    renew(work.path(), &["--exit-code"])
        .code(1)
        .stderr(predicates::str::contains(
            "renewed server (server, ECDSA P-256, new key): valid 365 days until",
        ))
        .stderr(predicates::str::contains("not due: client"));
    assert_eq!(read(&dir.join("client.crt")), client_before);
    assert_eq!(
        template(&dir.join("server.crt")).not_after.date(),
        (OffsetDateTime::now_utc() + time::Duration::days(365)).date()
    );
    // Again: nothing is due any more.
    renew(work.path(), &["--exit-code"])
        .success()
        .stderr(predicates::str::contains("nothing to renew"));

    // --within moves the threshold: the client has 165 days left.
    let dry = renew_json(work.path(), &["--within", "180d", "--dry-run"]);
    assert!(dry.dry_run);
    assert_eq!(dry.renewed.len(), 1);
    assert_eq!(dry.renewed[0].name, "client");
    assert_eq!(dry.renewed[0].new_serial, None);
    assert_eq!(read(&dir.join("client.crt")), client_before);
    // A dry run is a question: its answer is on stdout, even with -q.
    renew(
        work.path(),
        &["--within", "180d", "--dry-run", "--exit-code", "-q"],
    )
    .code(1)
    .stdout(predicates::str::starts_with(
        "would renew client (client, ECDSA P-256, new key): valid 365 days until",
    ))
    .stderr("");
    renew(
        work.path(),
        &["--within", "150d", "--dry-run", "--exit-code", "-q"],
    )
    .success()
    .stdout(predicates::str::starts_with(
        "nothing to renew in ./otel-certs; next due: client on ",
    ))
    .stderr("");
    // A run that could change something reports on stderr, so -q silences it.
    renew(work.path(), &["--within", "150d", "-q"])
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn named_certificates_are_renewed_now_unless_within_says_otherwise() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let server_before = read(&dir.join("server.crt"));
    let client_before = read(&dir.join("client.crt"));
    renew(
        work.path(),
        &["--name", "client", "--within", "30d", "--exit-code"],
    )
    .success();
    assert_eq!(read(&dir.join("client.crt")), client_before);
    renew(work.path(), &["--name", "client", "--exit-code", "-q"]).code(1);
    assert_ne!(read(&dir.join("client.crt")), client_before);
    assert_eq!(read(&dir.join("server.crt")), server_before);

    renew(work.path(), &["--name", "nope"])
        .code(2)
        .stderr("error: invalid --name `nope`: there is no `./otel-certs/nope.crt`\n");
    renew(work.path(), &["--name", "ca"])
        .code(2)
        .stderr(predicates::str::contains(
            "is a CA certificate; rotate a CA with `otel-pki ca rotate",
        ));
    renew(work.path(), &["--name", "../x"])
        .code(2)
        .stderr(predicates::str::contains("invalid --name `../x`"));
    renew(work.path(), &["--all", "--name", "server"]).code(2);
}

#[test]
fn reuse_key_changes_only_the_certificate() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let key = read(&dir.join("server.key"));
    let certificate = read(&dir.join("server.crt"));
    let report = renew_json(work.path(), &["--name", "server", "--reuse-key"]);
    assert!(!report.renewed[0].new_key);
    assert_eq!(read(&dir.join("server.key")), key);
    assert_ne!(read(&dir.join("server.crt")), certificate);
    let backup = work.path().join(report.backup_dir.unwrap());
    assert_eq!(listing(&backup), [".otel-pki-backup.json", "server.crt"]);
    set_handshake(&dir, "localhost").unwrap();
}

#[test]
fn a_renewal_never_outlives_the_ca() {
    let work = workdir();
    init(
        work.path(),
        &["--ca-validity", "100d", "--validity", "90d", "-q"],
    );
    let dir = set_file(work.path(), "");
    let ca_not_after = template_ca_not_after(&dir);
    let report = renew_json(work.path(), &["--name", "server", "--validity", "200d"]);
    assert!(report.renewed[0].clamped);
    assert_eq!(report.renewed[0].new_not_after, ca_not_after);
    // The warning quotes the lifetime asked for, not the one the certificate had.
    assert!(
        report.warnings[0].contains("now expires with its CA")
            && report.warnings[0].contains("instead of after 200 days"),
        "{report:?}"
    );
    // It cannot be extended any further: a due certificate that cannot be renewed is an
    // error, so a cron job notices before the CA expires.
    renew(work.path(), &["--name", "server", "--validity", "200d"])
        .code(2)
        .stderr(predicates::str::contains(
            "error: cannot renew `server`: it cannot be extended: its CA `./otel-certs/ca.crt` expires on",
        ))
        .stderr(predicates::str::contains("otel-pki ca rotate --stage"));
    // The 200 days asked for are recorded with the set, under the new serial number…
    let recorded = RequestedLifetimes::from_json(&read(
        &dir.join(otel_pki::generation::DATA)
            .join(otel_pki::generation::META),
    ))
    .unwrap();
    let serial = report.renewed[0].new_serial.clone().unwrap();
    assert_eq!(recorded.get(&serial), Some(Lifetime::days(200)));
    // …so the re-issue from the next CA (100 days as well) asks for them again.
    for step in ["--stage", "--promote"] {
        let output = otel_pki(work.path())
            .args(["ca", "rotate", step])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if step == "--promote" {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("warning: `server` now expires with its CA on")
                    && stderr.contains("instead of after 200 days"),
                "{stderr}"
            );
        }
    }
}

fn template_ca_not_after(dir: &Path) -> OffsetDateTime {
    let der = &certificates(&dir.join("ca.crt"))[0];
    let (_, parsed) = x509_parser::parse_x509_certificate(der).unwrap();
    parsed.validity().not_after.to_datetime()
}

#[test]
fn the_first_renewal_moves_the_set_to_generations_and_paths_keep_working() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    // An operator gave the Collector's group read access to its key.
    fs::set_permissions(
        dir.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    renew(work.path(), &["--all", "-q"]).success();
    let data = fs::read_link(dir.join("..data")).unwrap();
    assert!(data.to_string_lossy().starts_with("..g2-"), "{data:?}");
    for name in [
        "ca.crt",
        "ca.key",
        "server.crt",
        "server.key",
        "client.crt",
        "client.key",
    ] {
        assert_eq!(
            fs::read_link(dir.join(name)).unwrap(),
            Path::new("..data").join(name)
        );
    }
    assert_eq!(mode(&dir.join("server.key")), 0o640);
    assert_eq!(mode(&dir.join("client.key")), 0o600);
    assert_eq!(mode(&dir.join("server.crt")), 0o644);
    assert_eq!(mode(&dir.join(&data)), 0o700);
    // inspect sees the same six files, not the generation directories.
    let output = otel_pki(work.path())
        .args(["inspect", "otel-certs", "--format", "json"])
        .output()
        .unwrap();
    let report: otel_pki::cmd::inspect::InspectReport =
        serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.certificates.len(), 3);
    assert!(
        report
            .certificates
            .iter()
            .all(|c| c.key_file.as_ref().is_none_or(|k| k.matches == Some(true)))
    );
    set_handshake(&dir, "localhost").unwrap();
}

#[test]
fn init_force_and_issue_force_on_a_renewed_set_switch_generations_too() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    renew(work.path(), &["--all", "-q"]).success();
    let generation = fs::read_link(dir.join("..data")).unwrap();
    let old_server = read(&dir.join("server.crt"));
    otel_pki(work.path())
        .args([
            "issue",
            "server",
            "--san",
            "gw.example.com",
            "--force",
            "-q",
        ])
        .assert()
        .success();
    let after_issue = fs::read_link(dir.join("..data")).unwrap();
    assert_ne!(after_issue, generation);
    // The links were not replaced by plain files, and the old generation was not
    // written through.
    assert!(dir.join("server.crt").is_symlink());
    assert_eq!(read(&dir.join(&generation).join("server.crt")), old_server);
    set_handshake(&dir, "gw.example.com").unwrap();

    otel_pki(work.path())
        .args(["init", "--force", "-q"])
        .assert()
        .success();
    assert_ne!(fs::read_link(dir.join("..data")).unwrap(), after_issue);
    assert!(dir.join("ca.key").is_symlink());
    set_handshake(&dir, "localhost").unwrap();
    // Every replaced file is in a backup.
    let backups = listing(&dir.join("backup"));
    assert_eq!(backups.len(), 3, "{backups:?}");
    // New names in a renewed set are links into the generation as well.
    otel_pki(work.path())
        .args(["issue", "client", "--name", "agent", "-q"])
        .assert()
        .success();
    assert!(dir.join("agent.crt").is_symlink());
}

#[test]
fn rollback_restores_the_newest_backup_and_keeps_what_it_replaces() {
    let work = workdir();
    renew(work.path(), &["--rollback"])
        .code(2)
        .stderr(predicates::str::contains(
            "no certificate set in `./otel-certs`",
        ));
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    renew(work.path(), &["--rollback"])
        .code(2)
        .stderr(predicates::str::contains("nothing to roll back"));
    let original = (read(&dir.join("server.crt")), read(&dir.join("server.key")));
    renew(work.path(), &["--all", "-q"]).success();
    let renewed = (read(&dir.join("server.crt")), read(&dir.join("server.key")));
    assert_ne!(renewed, original);

    let report = renew_json(work.path(), &["--rollback"]);
    let rollback = report.rollback.unwrap();
    assert_eq!(rollback.undid.as_deref(), Some("renew"));
    assert_eq!(rollback.restored.len(), 4);
    assert_eq!(
        (read(&dir.join("server.crt")), read(&dir.join("server.key"))),
        original
    );
    assert_eq!(mode(&dir.join("server.key")), 0o600);
    // What the rollback replaced is kept too: running it again undoes the rollback.
    let kept = work.path().join(report.backup_dir.unwrap());
    assert_eq!(read(&kept.join("server.crt")), renewed.0);
    assert_eq!(mode(&kept.join("server.key")), 0o600);
    renew(work.path(), &["--rollback"])
        .success()
        .stderr(predicates::str::contains("(undoing `renew --rollback "));
    assert_eq!(
        (read(&dir.join("server.crt")), read(&dir.join("server.key"))),
        renewed
    );
    set_handshake(&dir, "localhost").unwrap();
}

#[test]
fn an_encrypted_ca_key_needs_its_passphrase_only_to_sign() {
    let work = workdir();
    fs::write(work.path().join("pass"), "s3cret passphrase\n").unwrap();
    init(
        work.path(),
        &["--encrypt-ca-key", "--passphrase-file", "pass", "-q"],
    );
    renew(
        work.path(),
        &["--within", "400d", "--dry-run", "--exit-code"],
    )
    .code(1);
    renew(work.path(), &["--all"])
        .code(2)
        .stderr(predicates::str::contains(
            "is encrypted; give its passphrase with `--passphrase-file FILE`",
        ));
    assert!(!set_file(work.path(), "..data").exists());
    otel_pki(work.path())
        .args(["renew", "--all", "-q"])
        .env("OTEL_PKI_CA_PASSPHRASE", "s3cret passphrase")
        .assert()
        .success();
    set_handshake(&set_file(work.path(), ""), "localhost").unwrap();
}

/// Counts for one certificate reader.
#[derive(Debug, Default)]
struct ReadStats {
    reads: AtomicUsize,
    mismatched: AtomicUsize,
    unreadable: AtomicUsize,
}

/// Loads `NAME.crt`/`NAME.key` on every handshake, like a Collector whose `reload_interval`
/// has elapsed — but resolving `..data` once, so that both files come from one
/// generation: the reader the layout promises a matching pair.
#[derive(Debug)]
struct Reloading {
    dir: PathBuf,
    name: &'static str,
    provider: Arc<rustls::crypto::CryptoProvider>,
    stats: Arc<ReadStats>,
}

impl Reloading {
    fn load(&self) -> Option<Arc<CertifiedKey>> {
        self.stats.reads.fetch_add(1, Ordering::Relaxed);
        let base = match fs::read_link(self.dir.join("..data")) {
            Ok(generation) => self.dir.join(generation),
            Err(_) => self.dir.clone(),
        };
        let Some((chain, key)) = read_pair(&base, self.name) else {
            self.stats.unreadable.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match CertifiedKey::from_der(chain, key, &self.provider) {
            Ok(certified) => Some(Arc::new(certified)),
            Err(_) => {
                self.stats.mismatched.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl rustls::server::ResolvesServerCert for Reloading {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.load()
    }
}

impl rustls::client::ResolvesClientCert for Reloading {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.load()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Reads `NAME.crt` and then `NAME.key` from `dir` (two opens), parsing both; `None` when
/// either is missing or not a complete PEM file.
fn read_pair(
    dir: &Path,
    name: &str,
) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certificate = fs::read(dir.join(format!("{name}.crt"))).ok()?;
    let key = fs::read(dir.join(format!("{name}.key"))).ok()?;
    parse_pair(&certificate, &key)
}

fn parse_pair(
    certificate: &[u8],
    key: &[u8],
) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain: Vec<CertificateDer<'static>> = pem::parse_many(certificate)
        .ok()?
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect();
    let key = pem::parse(key).ok()?;
    let key = PrivateKeyDer::try_from(key.into_contents()).ok()?;
    (!chain.is_empty()).then_some((chain, key))
}

/// Counts for the Collector-style reader.
#[derive(Debug, Default)]
struct ExchangeStats {
    /// Exchanges: one load, plus one retry when the load fails.
    exchanges: AtomicUsize,
    /// First loads that got a certificate and a key that do not match: the two opens
    /// straddled a switch (what a naive reader without retry would have failed on).
    straddled: AtomicUsize,
    /// Exchanges whose retry failed too.
    failed: AtomicUsize,
    /// Loads that found a file missing or not a complete PEM file.
    unreadable: AtomicUsize,
}

/// One load as Go's `tls.LoadX509KeyPair` does it: open `NAME.crt`, then `NAME.key`,
/// through the paths a configuration names (each open resolves `..data` again). `Err`
/// says whether the pair was unreadable (`false`) or mismatched (`true`); the duration is
/// the window between the two opens (from the first open to the end of the second read).
fn collector_load(
    dir: &Path,
    name: &str,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> (Result<(), bool>, Duration) {
    let started = Instant::now();
    let certificate = fs::read(dir.join(format!("{name}.crt")));
    let key = fs::read(dir.join(format!("{name}.key")));
    let window = started.elapsed();
    let pair = match (certificate, key) {
        (Ok(certificate), Ok(key)) => parse_pair(&certificate, &key),
        _ => None,
    };
    let result = match pair {
        None => Err(false),
        Some((chain, key)) => CertifiedKey::from_der(chain, key, provider)
            .map(drop)
            .map_err(|_| true),
    };
    (result, window)
}

/// The Done-means test of issue #4: a rustls server that reloads its certificate on every
/// handshake serves a client that reloads its own and handshakes continuously, while
/// `renew --all` runs 50 times. Zero failed handshakes, every pair matched. A
/// Collector-style reader runs alongside in a tight loop: it opens NAME.crt, then
/// NAME.key, as Go's tls.LoadX509KeyPair does, and when the pair does not match — its two
/// opens straddled a switch — it loads again, as the Collector does at its next handshake
/// (it advances its reload time only after a successful load). No exchange may fail; how
/// often the first load straddles a switch (what a naive reader without the retry would
/// have failed on) is measured and printed, not hidden.
#[test]
fn fifty_renewals_under_continuous_mtls_traffic_never_fail_a_handshake() {
    const RENEWALS: usize = 50;
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let stop = Arc::new(AtomicBool::new(false));
    let server_stats = Arc::new(ReadStats::default());
    let client_stats = Arc::new(ReadStats::default());

    let mut client_roots = rustls::RootCertStore::empty();
    for certificate in certificates(&dir.join("ca.crt")) {
        client_roots.add(certificate).unwrap();
    }
    let client_roots = Arc::new(client_roots);
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        client_roots.clone(),
        provider.clone(),
    )
    .build()
    .unwrap();
    let server_config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(Reloading {
                dir: dir.clone(),
                name: "server",
                provider: provider.clone(),
                stats: server_stats.clone(),
            })),
    );
    // Every handshake a full one, as with Go's default (no client session cache): a resumed
    // session would skip loading the certificates.
    let mut server_config = server_config;
    let config = Arc::get_mut(&mut server_config).unwrap();
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    let client_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(client_roots)
            .with_client_cert_resolver(Arc::new(Reloading {
                dir: dir.clone(),
                name: "client",
                provider: provider.clone(),
                stats: client_stats.clone(),
            })),
    );
    let mut client_config = client_config;
    Arc::get_mut(&mut client_config).unwrap().resumption = rustls::client::Resumption::disabled();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop_server = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop_server.clone();
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    Err(error) => panic!("accept: {error}"),
                };
                let result = (|| -> Result<(), String> {
                    let mut stream = stream;
                    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .map_err(|e| e.to_string())?;
                    let mut connection = rustls::ServerConnection::new(server_config.clone())
                        .map_err(|e| e.to_string())?;
                    let mut tls = rustls::Stream::new(&mut connection, &mut stream);
                    let mut buffer = [0u8; 5];
                    tls.read_exact(&mut buffer).map_err(|e| e.to_string())?;
                    tls.write_all(b"pong!").map_err(|e| e.to_string())?;
                    tls.flush().map_err(|e| e.to_string())?;
                    connection.send_close_notify();
                    let _ = connection.complete_io(&mut stream);
                    Ok(())
                })();
                if let Err(error) = result {
                    failures.push(error);
                }
            }
            failures
        })
    };

    let handshakes = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let client = {
        let (stop, handshakes, served) = (stop.clone(), handshakes.clone(), served.clone());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let result = (|| -> Result<Vec<u8>, String> {
                    let name = ServerName::try_from("localhost").unwrap();
                    let mut connection = rustls::ClientConnection::new(client_config.clone(), name)
                        .map_err(|e| e.to_string())?;
                    let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .map_err(|e| e.to_string())?;
                    let mut tls = rustls::Stream::new(&mut connection, &mut stream);
                    tls.write_all(b"ping?").map_err(|e| e.to_string())?;
                    let mut buffer = [0u8; 5];
                    tls.read_exact(&mut buffer).map_err(|e| e.to_string())?;
                    Ok(connection
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| leaf.to_vec())
                        .unwrap_or_default())
                })();
                match result {
                    Ok(leaf) => {
                        served.lock().unwrap().insert(leaf);
                        handshakes.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => failures.push(error),
                }
            }
            failures
        })
    };

    // The Collector-style reader: two opens of the two user-visible paths, no generation
    // resolved, and one retry.
    let collector_stats = Arc::new(ExchangeStats::default());
    let collector_gap = Arc::new(Mutex::new(Duration::ZERO));
    let collector = {
        let (stop, stats, gap, dir, provider) = (
            stop.clone(),
            collector_stats.clone(),
            collector_gap.clone(),
            dir.clone(),
            provider.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                stats.exchanges.fetch_add(1, Ordering::Relaxed);
                let (first, window) = collector_load(&dir, "server", &provider);
                *gap.lock().unwrap() += window;
                let Err(mismatched) = first else {
                    continue;
                };
                if mismatched {
                    stats.straddled.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                }
                if let (Err(mismatched), _) = collector_load(&dir, "server", &provider) {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    if !mismatched {
                        stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };

    let started = Instant::now();
    let wait_for_handshakes = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while handshakes.load(Ordering::SeqCst) < count {
            assert!(Instant::now() < deadline, "no handshakes are completing");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for_handshakes(2);
    for _ in 0..RENEWALS {
        renew(work.path(), &["--all", "-q"]).success();
        // Two more handshakes: the second began after the switch, so every generation is
        // served at least once.
        wait_for_handshakes(handshakes.load(Ordering::SeqCst) + 2);
    }
    let elapsed = started.elapsed();
    // The client stops first, so the server never goes away in the middle of a handshake.
    stop.store(true, Ordering::Relaxed);
    let client_failures = client.join().unwrap();
    stop_server.store(true, Ordering::Relaxed);
    let server_failures = server.join().unwrap();
    collector.join().unwrap();

    let exchanges = collector_stats.exchanges.load(Ordering::Relaxed);
    let straddled = collector_stats.straddled.load(Ordering::Relaxed);
    let gap = *collector_gap.lock().unwrap() / u32::try_from(exchanges.max(1)).unwrap();
    eprintln!(
        "{RENEWALS} renewals in {elapsed:.1?}: {} handshakes ({} server and {} client reloads), \
         {} distinct server certificates served; Collector-style two-open reader: \
         {exchanges} exchanges, {straddled} first loads straddled a switch (mismatched pair: \
         a naive reader's failures), {} failed after the retry, {} unreadable loads, \
         {gap:.1?} on average from the first open to the end of the second read",
        handshakes.load(Ordering::SeqCst),
        server_stats.reads.load(Ordering::Relaxed),
        client_stats.reads.load(Ordering::Relaxed),
        served.lock().unwrap().len(),
        collector_stats.failed.load(Ordering::Relaxed),
        collector_stats.unreadable.load(Ordering::Relaxed),
    );
    assert!(client_failures.is_empty(), "{client_failures:?}");
    assert!(server_failures.is_empty(), "{server_failures:?}");
    for stats in [&server_stats, &client_stats] {
        assert_eq!(stats.mismatched.load(Ordering::Relaxed), 0, "{stats:?}");
        assert_eq!(stats.unreadable.load(Ordering::Relaxed), 0, "{stats:?}");
    }
    // Whatever the Collector-style reader's timing, it never saw a missing or half-written
    // file, and a straddle cost it one load, never an exchange.
    assert_eq!(collector_stats.unreadable.load(Ordering::Relaxed), 0);
    assert_eq!(collector_stats.failed.load(Ordering::Relaxed), 0);
    assert!(exchanges > RENEWALS, "the reader kept reading: {exchanges}");
    assert!(
        served.lock().unwrap().len() > RENEWALS,
        "every generation was served"
    );
    // 50 replaced generations are all within the grace period; nothing else accumulated.
    let hidden: Vec<String> = listing(&dir)
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(
        hidden
            .iter()
            .all(|name| name == "..data" || name.starts_with("..g")),
        "{hidden:?}"
    );
}

#[test]
fn every_unreadable_leaf_is_an_error_and_no_set_is_exit_2() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = set_file(work.path(), "");
    let server = fs::read(dir.join("server.crt")).unwrap();
    // No PEM block at all, and a PEM block whose DER is broken: the same error, exit 2,
    // naming the file, and nothing renewed.
    for contents in [
        "not a certificate\n".to_owned(),
        "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n-----END CERTIFICATE-----\n".to_owned(),
    ] {
        fs::write(dir.join("broken.crt"), contents).unwrap();
        renew(work.path(), &["--all"])
            .code(2)
            .stderr(predicates::str::contains("./otel-certs/broken.crt"));
        assert_eq!(fs::read(dir.join("server.crt")).unwrap(), server);
    }
    fs::remove_file(dir.join("broken.crt")).unwrap();
    fs::create_dir(work.path().join("empty")).unwrap();
    renew(work.path(), &["--dir", "empty"])
        .code(2)
        .stderr(predicates::str::contains("no certificate set in `empty`"));
    renew(work.path(), &["--all", "-q"]).success();
}
