use std::fs;

use otel_pki::cmd::inspect::InspectReport;
use otel_pki::pki::Role;

use crate::support::*;

fn inspect_json(work: &std::path::Path, args: &[&str]) -> (i32, InspectReport) {
    let output = otel_pki(work)
        .arg("inspect")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), report)
}

#[test]
fn inspect_a_set_directory_reports_roles_names_usages_and_key_matches() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let (code, report) = inspect_json(work.path(), &["otel-certs"]);
    assert_eq!(code, 0);
    assert!(report.errors.is_empty());
    let roles: Vec<(String, Role)> = report
        .certificates
        .iter()
        .map(|c| (c.path.rsplit('/').next().unwrap().to_owned(), c.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("ca.crt".into(), Role::Ca),
            ("client.crt".into(), Role::Client),
            ("server.crt".into(), Role::Server)
        ]
    );
    let server = &report.certificates[2];
    assert_eq!(server.sans.dns, ["localhost"]);
    assert_eq!(server.sans.ip, ["127.0.0.1", "::1"]);
    assert_eq!(server.public_key.description, "ECDSA P-256");
    assert_eq!(server.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(server.key_file.as_ref().unwrap().matches, Some(true));
    assert!(!server.expired && !server.not_yet_valid);
    // The fingerprint is OpenSSL's.
    let (_, text) = openssl(
        &work.path().join("otel-certs"),
        &[
            "x509",
            "-in",
            "server.crt",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    assert!(
        text.contains(&server.sha256_fingerprint),
        "{text} vs {}",
        server.sha256_fingerprint
    );
    // The serial is OpenSSL's.
    let (_, text) = openssl(
        &work.path().join("otel-certs"),
        &["x509", "-in", "server.crt", "-noout", "-serial"],
    );
    assert_eq!(
        text.trim().trim_start_matches("serial=").to_lowercase(),
        server.serial.replace(':', "")
    );
}

#[test]
fn inspect_shows_a_key_that_does_not_match() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    fs::copy(dir.join("client.key"), dir.join("server.key")).unwrap();
    let (code, report) = inspect_json(work.path(), &["otel-certs/server.crt"]);
    assert_eq!(code, 0);
    assert_eq!(
        report.certificates[0].key_file.as_ref().unwrap().matches,
        Some(false)
    );
    let text = otel_pki(work.path())
        .args(["inspect", "otel-certs/server.crt"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("DOES NOT MATCH"));
}

#[test]
fn inspect_reads_bundles_der_and_stdin() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let bundle = [
        fs::read_to_string(dir.join("server.crt")).unwrap(),
        fs::read_to_string(dir.join("ca.crt")).unwrap(),
    ]
    .concat();
    fs::write(work.path().join("chain.pem"), &bundle).unwrap();
    let (code, report) = inspect_json(work.path(), &["chain.pem"]);
    assert_eq!(code, 0);
    assert_eq!(report.certificates.len(), 2);
    assert_eq!(report.certificates[1].index, 1);
    assert_eq!(report.certificates[1].role, Role::Ca);

    let (ok, text) = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "client.crt",
            "-outform",
            "DER",
            "-out",
            "../client.der",
        ],
    );
    assert!(ok, "{text}");
    let (code, report) = inspect_json(work.path(), &["client.der"]);
    assert_eq!(code, 0);
    assert_eq!(report.certificates[0].role, Role::Client);

    let output = otel_pki(work.path())
        .args(["inspect", "-", "--format", "json"])
        .write_stdin(bundle)
        .output()
        .unwrap();
    let report: InspectReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.certificates.len(), 2);
    assert_eq!(report.certificates[0].path, "<stdin>");
}

#[test]
fn inspect_keeps_going_past_bad_files_and_exits_2() {
    let work = workdir();
    init(work.path(), &["-q"]);
    fs::write(work.path().join("garbage.crt"), "not a certificate").unwrap();
    fs::write(
        work.path().join("truncated.crt"),
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n",
    )
    .unwrap();
    let (code, report) = inspect_json(
        work.path(),
        &[
            "garbage.crt",
            "otel-certs/ca.crt",
            "missing.crt",
            "truncated.crt",
            "otel-certs/server.key",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(report.certificates.len(), 1);
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "garbage.crt",
            "missing.crt",
            "truncated.crt",
            "otel-certs/server.key"
        ]
    );
    assert!(
        report.errors[3].message.contains("private key"),
        "{:?}",
        report.errors[3]
    );
    let text = otel_pki(work.path())
        .args(["inspect", "garbage.crt", "otel-certs/ca.crt"])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.starts_with("error: `garbage.crt`: "), "{stderr}");
    assert!(String::from_utf8_lossy(&text.stdout).contains("otel-certs/ca.crt  ca"));
}

#[test]
fn expiring_within_gates_ci() {
    let work = workdir();
    init(work.path(), &["-q", "--validity", "20d"]);
    let (code, report) = inspect_json(work.path(), &["otel-certs", "--expiring-within", "30d"]);
    assert_eq!(code, 1);
    let expiring = report.expiring.unwrap();
    assert_eq!(
        expiring.certificates.len(),
        2,
        "server and client, not the CA"
    );
    let (code, _) = inspect_json(work.path(), &["otel-certs", "--expiring-within", "7d"]);
    assert_eq!(code, 0);
    let text = otel_pki(work.path())
        .args(["inspect", "otel-certs", "--expiring-within", "30d"])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stdout).contains("2 certificates expire within 30d"));
}

#[test]
fn inspect_marks_short_lived_certificates() {
    let work = workdir();
    init(work.path(), &["-q", "--validity", "10d"]);
    let text = otel_pki(work.path())
        .args(["inspect", "otel-certs/server.crt"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("(9 days left)") || stdout.contains("(10 days left)"),
        "{stdout}"
    );
}

#[test]
fn a_directory_listing_skips_key_only_pem_files_but_a_named_one_is_an_error() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    // cfssl names keys NAME-key.pem beside NAME.pem.
    fs::copy(dir.join("server.key"), dir.join("server-key.pem")).unwrap();
    let (code, report) = inspect_json(work.path(), &["otel-certs"]);
    assert_eq!(code, 0, "{:?}", report.errors);
    assert_eq!(report.certificates.len(), 3);
    let (code, report) = inspect_json(work.path(), &["otel-certs/server-key.pem"]);
    assert_eq!(code, 2);
    assert!(
        report.errors[0].message.contains("private key"),
        "{:?}",
        report.errors
    );
}

#[test]
fn expiry_stands_out_in_colour_on_request() {
    use otel_pki::pki::issue::{CaRequest, LeafProfile, LeafRequest, create_ca};
    use otel_pki::pki::{KeyType, Lifetime, PrivateKey, San, Validity};
    let now = time::OffsetDateTime::now_utc();
    let ca = create_ca(
        &CaRequest {
            common_name: "Colour CA".into(),
            validity: Validity::between(
                now - time::Duration::days(30),
                now + time::Duration::days(30),
            ),
        },
        PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
    )
    .unwrap();
    let expired = ca
        .issue(
            &LeafRequest {
                profile: LeafProfile::Server,
                common_name: "old".into(),
                sans: vec![San::parse("old.example").unwrap()],
                validity: Validity::between(
                    now - time::Duration::days(20),
                    now - time::Duration::days(3),
                ),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
    let soon = ca
        .issue(
            &LeafRequest {
                profile: LeafProfile::Server,
                common_name: "soon".into(),
                sans: vec![San::parse("soon.example").unwrap()],
                validity: Validity::starting_now(now, Lifetime::days(5)),
            },
            PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
        )
        .unwrap();
    let work = workdir();
    fs::write(work.path().join("old.crt"), expired.certificate_pem()).unwrap();
    fs::write(work.path().join("soon.crt"), soon.certificate_pem()).unwrap();
    let coloured = otel_pki(work.path())
        .args(["inspect", "--color", "always", "old.crt", "soon.crt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&coloured.stdout);
    assert!(
        text.contains("\u{1b}[1;31mEXPIRED 3 days ago\u{1b}[0m"),
        "{text}"
    );
    assert!(
        text.contains("\u{1b}[33m4 days left\u{1b}[0m")
            || text.contains("\u{1b}[33m5 days left\u{1b}[0m"),
        "{text}"
    );
    let plain = otel_pki(work.path())
        .args(["inspect", "old.crt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(
        text.contains("(EXPIRED 3 days ago)") && !text.contains('\u{1b}'),
        "{text}"
    );
}

/// A bundle larger than several of inspect's stretches (it prints each stretch of 256
/// certificates as soon as it is rendered) and than the part of a file it reads at a time
/// (1 MiB): every certificate appears once, in order, in text and in JSON, a broken block
/// in the middle is an error that does not stop the rest, text between blocks is skipped,
/// and a block cut off at the end is an error after the others.
#[test]
fn a_large_bundle_is_printed_whole_and_in_order() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let dir = work.path().join("otel-certs");
    let certificates = [
        fs::read_to_string(dir.join("ca.crt")).unwrap(),
        fs::read_to_string(dir.join("server.crt")).unwrap(),
        fs::read_to_string(dir.join("client.crt")).unwrap(),
    ];
    let broken = 1_700;
    let count = 2_501;
    let bundle: String = (0..count)
        .map(|index| {
            if index == broken {
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_owned()
            } else if index % 100 == 50 {
                format!("# {index}\n{}", certificates[index % 3])
            } else {
                certificates[index % 3].clone()
            }
        })
        .collect();
    assert!(bundle.len() > 1 << 20);
    fs::write(work.path().join("bundle.pem"), &bundle).unwrap();

    let (code, report) = inspect_json(work.path(), &["bundle.pem", "otel-certs/ca.crt"]);
    assert_eq!(code, 2);
    let indices: Vec<usize> = report.certificates.iter().map(|c| c.index).collect();
    let expected: Vec<usize> = (0..count)
        .filter(|index| *index != broken)
        .chain([0])
        .collect();
    assert_eq!(indices, expected);
    let roles: Vec<Role> = report.certificates.iter().map(|c| c.role).collect();
    assert_eq!(roles[..3], [Role::Ca, Role::Server, Role::Client]);
    // The last of the bundle is index 1300 (the broken block has no entry).
    assert_eq!(
        roles[count - 2],
        [Role::Ca, Role::Server, Role::Client][(count - 1) % 3]
    );
    assert_eq!(report.certificates[count - 1].path, "otel-certs/ca.crt");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].path, "bundle.pem");
    assert!(
        report.errors[0].message.starts_with("certificate #1701: "),
        "{:?}",
        report.errors[0]
    );

    let text = otel_pki(work.path())
        .args(["inspect", "bundle.pem"])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&text.stdout);
    let fingerprints = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("sha256"))
        .count();
    assert_eq!(fingerprints, count - 1);
    assert!(
        stdout.contains("bundle.pem#2500  "),
        "{}",
        &stdout[stdout.len() - 2000..]
    );

    fs::write(
        work.path().join("cut.pem"),
        bundle + "-----BEGIN CERTIFICATE-----\nMIIB\n",
    )
    .unwrap();
    let (code, report) = inspect_json(work.path(), &["cut.pem"]);
    assert_eq!(code, 2);
    assert_eq!(report.certificates.len(), count - 1);
    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages.len() == 2 && messages[1].starts_with("truncated PEM"),
        "{messages:?}"
    );
}
