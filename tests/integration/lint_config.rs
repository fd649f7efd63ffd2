//! `lint-config`: one broken configuration per rule in tests/corpus/lint/ (the guide's own
//! gateway and Jaeger files among them), each must be found with its path and line; the
//! text output is compared with tests/golden/config/lint/ (times redacted). Exit codes,
//! standard input, JSON, unreadable and unparsable files.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use otel_pki::cmd::lint_config::LintConfigReport;
use otel_pki::config::{Rule, Severity};
use otel_pki::pki::{LeafProfile, LeafRequest, Passphrase, PrivateKey, Validity};
use time::{Duration, OffsetDateTime};

use crate::config::GATEWAY;
use crate::support::*;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/lint");

/// A set naming [`GATEWAY`] plus the broken files the corpus refers to: garbage.crt,
/// loose.crt/.key (mode 0644), encrypted.key, expired.crt/.key, expiring.crt/.key (10 days).
fn prepared_set() -> tempfile::TempDir {
    let work = workdir();
    init(work.path(), &["--san", GATEWAY, "-q"]);
    let dir = work.path().join("otel-certs");
    std::fs::write(dir.join("garbage.crt"), "not a certificate\n").unwrap();
    std::fs::copy(dir.join("client.crt"), dir.join("loose.crt")).unwrap();
    std::fs::copy(dir.join("client.key"), dir.join("loose.key")).unwrap();
    std::fs::set_permissions(
        dir.join("loose.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let key_pem = std::fs::read(dir.join("client.key")).unwrap();
    let key = PrivateKey::from_pem_or_der(&key_pem, "client.key").unwrap();
    let passphrase = Passphrase::new(b"secret".to_vec(), "test".into()).unwrap();
    write_key(
        &dir.join("encrypted.key"),
        &key.to_encrypted_pkcs8_pem(&passphrase).unwrap(),
    );
    let ca = otel_pki::support::load_ca(&dir.join("ca.crt"), &dir.join("ca.key"), None).unwrap();
    let now = OffsetDateTime::now_utc();
    for (name, validity) in [
        (
            "expired",
            Validity::between(now - Duration::days(30), now - Duration::days(1)),
        ),
        (
            "expiring",
            Validity::between(now - Duration::days(1), now + Duration::days(10)),
        ),
    ] {
        let key = PrivateKey::generate(otel_pki::pki::KeyType::EcdsaP256).unwrap();
        let issued = ca
            .issue(
                &LeafRequest {
                    profile: LeafProfile::Client,
                    common_name: name.into(),
                    sans: Vec::new(),
                    validity,
                },
                key,
            )
            .unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), issued.certificate_pem()).unwrap();
        write_key(&dir.join(format!("{name}.key")), &issued.key.to_pkcs8_pem());
    }
    work
}

fn write_key(path: &Path, pem: &str) {
    std::fs::write(path, pem).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Times change from run to run; the golden files show `[TIME]`.
fn redact(text: &str) -> String {
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z").unwrap();
    time.replace_all(text, "[TIME]").into_owned()
}

/// The `# rule:` and `# args:` header lines of a corpus file.
fn header(text: &str) -> (Rule, Vec<String>) {
    let mut rule = None;
    let mut args = Vec::new();
    for line in text.lines().take_while(|line| line.starts_with('#')) {
        if let Some(id) = line.strip_prefix("# rule: ") {
            rule = Rule::ALL.iter().copied().find(|rule| rule.id() == id);
            assert!(rule.is_some(), "unknown rule `{id}`");
        } else if let Some(extra) = line.strip_prefix("# args: ") {
            args = extra.split(' ').map(str::to_owned).collect();
        }
    }
    (rule.expect("a `# rule:` line"), args)
}

#[test]
fn every_rule_has_a_corpus_file_and_every_corpus_file_its_finding() {
    let work = prepared_set();
    let mut names: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    for rule in Rule::ALL {
        assert!(
            names.contains(&format!("{}.yaml", rule.id())),
            "no tests/corpus/lint/{}.yaml",
            rule.id()
        );
    }
    for name in &names {
        let text = std::fs::read_to_string(Path::new(CORPUS).join(name)).unwrap();
        let (rule, extra) = header(&text);
        std::fs::write(work.path().join(name), &text).unwrap();
        let run = |format: &str| {
            otel_pki(work.path())
                .args(["lint-config", name, "--mount", "/etc/otel/certs=otel-certs"])
                .args(&extra)
                .args(["--format", format])
                .output()
                .unwrap()
        };
        let output = run("json");
        let report: LintConfigReport = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        // A file of several documents or Kubernetes objects has one report for each.
        let findings: Vec<_> = report
            .files
            .iter()
            .flat_map(|file| &file.findings)
            .collect();
        let found = findings.iter().find(|finding| finding.rule == rule);
        let finding = found.unwrap_or_else(|| panic!("{name}: no {rule} in {findings:#?}"));
        assert!(finding.line > 1 && !finding.path.is_empty() && !finding.fix.is_empty());
        let expected_code = if rule.severity() == Severity::Info {
            0
        } else {
            1
        };
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "{name}: {findings:#?}"
        );
        assert_eq!(report.clean, expected_code == 0);
        let text_output = run("text");
        assert_eq!(text_output.status.code(), Some(expected_code));
        let stdout = String::from_utf8(text_output.stdout).unwrap();
        assert_golden(
            &format!("config/lint/{}", name.replace(".yaml", ".txt")),
            &redact(&stdout),
        );
    }
}

#[test]
fn key_permissions_follow_checks_rule_word_for_word() {
    // A key for the Collector's group (a pod's defaultMode 0440 with fsGroup): `check`
    // warns, and `lint-config` says the same sentence under `key-permissions`.
    let work = crate::config::set_with_gateway_name();
    otel_pki(work.path())
        .args(["config", "gateway", "--out", "gateway.yaml", "-q"])
        .assert()
        .success();
    let key = work.path().join("otel-certs/server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o440)).unwrap();
    let output = otel_pki(work.path())
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "a warning, not a failure");
    let check: otel_pki::cmd::check::CheckReport = serde_json::from_slice(&output.stdout).unwrap();
    let line = check
        .results
        .iter()
        .find(|result| result.check == "key_mode")
        .unwrap();
    assert_eq!(line.status, otel_pki::cmd::check::Status::Warn);
    let output = otel_pki(work.path())
        .args([
            "lint-config",
            "gateway.yaml",
            "--mount",
            "/etc/otel/certs=otel-certs",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lint: LintConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    let finding = lint.files[0]
        .findings
        .iter()
        .find(|finding| finding.rule == Rule::KeyPermissions)
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!(
        finding.message,
        format!(
            "`/etc/otel/certs/server.key` (here `otel-certs/server.key`) has {}",
            line.message
        )
    );
    assert!(line.message.starts_with("mode 0440: members of its group can read the private key; right when that group is the Collector's (a Kubernetes pod's fsGroup"));
    assert_eq!(
        finding.fix,
        "`chmod 600 otel-certs/server.key` unless its group is the Collector's"
    );
}

#[test]
fn the_guides_gateway_is_refused_for_its_undeclared_batch() {
    let work = workdir();
    std::fs::copy(
        Path::new(CORPUS).join("undeclared-component.yaml"),
        work.path().join("gateway.yaml"),
    )
    .unwrap();
    otel_pki(work.path())
        .args(["lint-config", "gateway.yaml", "--no-file-checks"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "gateway.yaml:21:20: error: service.pipelines.traces.processors[0]: processor `batch` is not declared under `processors:`; the Collector refuses to start (`service::pipelines::traces: references processor \"batch\" which is not configured`) [undeclared-component]\n  fix: declare it (`processors: {batch: {}}`) or remove it from the list\n",
        ))
        .stdout(predicates::str::ends_with(
            "gateway.yaml: OpenTelemetry Collector configuration: 1 error, 1 warning, 3 info\n",
        ));
}

#[test]
fn a_rendered_configuration_with_its_set_is_clean() {
    let work = crate::config::set_with_gateway_name();
    otel_pki(work.path())
        .args(["config", "gateway", "--out", "gateway.yaml", "-q"])
        .assert()
        .success();
    otel_pki(work.path())
        .args([
            "lint-config",
            "gateway.yaml",
            "--mount",
            "/etc/otel/certs=otel-certs",
        ])
        .assert()
        .success()
        .stdout("gateway.yaml: OpenTelemetry Collector configuration: no findings\n");
    // Without the mount the container paths do not exist here: errors, exit 1.
    otel_pki(work.path())
        .args(["lint-config", "gateway.yaml"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "error: receivers.otlp.protocols.grpc.tls.cert_file: `/etc/otel/certs/server.crt`: the file does not exist [file-missing]",
        ));
}

#[test]
fn standard_input_kind_and_collector_version() {
    let work = workdir();
    let tempo = "server:\n  http_tls_config:\n    cert_file: a.crt\n    key_file: a.key\n    client_auth_type: RequireAndVerifyClientCert\n    client_ca_file: ca.crt\n    min_version: \"1.2\"\n";
    otel_pki(work.path())
        .args(["lint-config", "-", "--no-file-checks"])
        .write_stdin(tempo)
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "-:7:5: error: server.http_tls_config.min_version: `min_version` is not a Tempo server TLS setting; Tempo refuses the file [unknown-tls-key]\n  fix: Tempo sets the version for all its servers: `server.tls_min_version: VersionTLS12`",
        ))
        .stdout(predicates::str::contains("-: Tempo configuration: 1 error"));
    // The same keys read as a Collector file are all wrong.
    otel_pki(work.path())
        .args([
            "lint-config",
            "-",
            "--no-file-checks",
            "--kind",
            "collector",
        ])
        .write_stdin(tempo)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("[unknown-top-level-key]"));
    let old = "exporters:\n  otlp/a:\n    endpoint: a:4317\n";
    otel_pki(work.path())
        .args(["lint-config", "-", "--collector-version", "0.143.0"])
        .write_stdin(old)
        .assert()
        .success()
        .stdout("-: OpenTelemetry Collector configuration: no findings\n");
    otel_pki(work.path())
        .args(["lint-config", "-"])
        .write_stdin(old)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("[deprecated-exporter-name]"));
}

#[test]
fn unreadable_and_unparsable_files_exit_2_and_the_others_are_still_linted() {
    let work = workdir();
    std::fs::write(work.path().join("broken.yaml"), "receivers:\n  otlp: [a\n").unwrap();
    std::fs::write(work.path().join("empty.yaml"), "# nothing\n").unwrap();
    std::fs::write(work.path().join("ok.yaml"), "exporters:\n  debug: {}\n").unwrap();
    let output = otel_pki(work.path())
        .args([
            "lint-config",
            "broken.yaml",
            "missing.yaml",
            "empty.yaml",
            "ok.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for message in [
        "error: cannot parse `broken.yaml` as YAML: line 3 column 1:",
        "error: cannot read `missing.yaml`: the file does not exist",
        "error: cannot parse `empty.yaml` as YAML: it is empty (no YAML document)",
    ] {
        assert!(stderr.contains(message), "{message}\n{stderr}");
    }
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok.yaml: OpenTelemetry Collector configuration: no findings\n"
    );
    let output = otel_pki(work.path())
        .args(["lint-config", "missing.yaml", "ok.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report: LintConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.files.len(), 1);
    assert!(!report.clean);
}

#[test]
fn the_docs_list_every_rule_with_its_severity() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lint-config.md"))
        .unwrap();
    for rule in Rule::ALL {
        let row = docs
            .lines()
            .find(|line| line.starts_with('|') && line.contains(&format!("`{}`", rule.id())))
            .unwrap_or_else(|| panic!("docs/lint-config.md has no row for `{}`", rule.id()));
        assert!(
            row.contains(&format!("| {} |", rule.severity().name())),
            "{row}"
        );
    }
}

/// The most memory `lint-config` may use on hostile input: an address-space cap, so an
/// allocation beyond it fails and the test fails (the alias bombs below used to take 4.7 to
/// 7.1 GB).
const MEMORY_CAP: &str = "--as=536870912";

/// Runs `otel-pki ARGS` in `dir` under `prlimit --as=512MiB` when prlimit exists.
fn run_capped(dir: &Path, args: &[&str]) -> std::process::Output {
    let binary = env!("CARGO_BIN_EXE_otel-pki");
    let has_prlimit = std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    let mut command = if has_prlimit {
        let mut command = std::process::Command::new("prlimit");
        command.args([MEMORY_CAP, binary]);
        command
    } else {
        assert!(
            std::env::var_os("OTEL_PKI_INTEROP_REQUIRED").is_none(),
            "prlimit is required in CI"
        );
        eprintln!("skipped: the 512 MiB memory cap (no prlimit here); results are still checked");
        std::process::Command::new(binary)
    };
    command
        .current_dir(dir)
        .args(args)
        .env("TERM", "dumb")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// 11 levels of 9 aliases each (447-byte class of "billion laughs"), optionally indented under
/// a section.
fn alias_bomb(section: Option<&str>) -> String {
    let indent = if section.is_some() { "  " } else { "" };
    let mut text = section.map(|name| format!("{name}:\n")).unwrap_or_default();
    text.push_str(&format!(
        "{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    ));
    for level in 1..=10 {
        let previous = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("{indent}a{level}: &a{level} [{previous}]\n"));
    }
    text
}

/// The same with `<<:` merge keys: each level merges the previous one nine times.
fn merge_bomb() -> String {
    let mut text =
        "m0: &m0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v, k8: v}\n".to_owned();
    for level in 1..=10 {
        let merges: Vec<String> = (0..9)
            .map(|index| format!("n{index}: {{<<: *m{}}}", level - 1))
            .collect();
        text.push_str(&format!("m{level}: &m{level} {{{}}}\n", merges.join(", ")));
    }
    text
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused_in_bounded_memory() {
    let work = workdir();
    let cases = [
        (
            "bomb.yaml",
            alias_bomb(None),
            6,
            "its aliases expand to more than 100000 nodes",
        ),
        (
            "bomb-receivers.yaml",
            alias_bomb(Some("receivers")),
            7,
            "its aliases expand to more than 100000 nodes",
        ),
        (
            "bomb-merge.yaml",
            merge_bomb(),
            5,
            "its aliases expand to more than 100000 nodes",
        ),
        (
            "deep-sequence.yaml",
            format!("{}x\n", "- ".repeat(20_000)),
            1,
            "nested more than 200 levels deep",
        ),
        (
            "deep-keys.yaml",
            format!("{}x\n", "? ".repeat(8_000)),
            1,
            "nested more than 200 levels deep",
        ),
        (
            "deep-flow.yaml",
            format!("a: {}{}\n", "[".repeat(250), "]".repeat(250)),
            1,
            "nested more than 200 levels deep",
        ),
    ];
    for (name, text, line, message) in cases {
        std::fs::write(work.path().join(name), &text).unwrap();
        let output = run_capped(work.path(), &["lint-config", name, "--no-file-checks"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        let prefix = format!("error: cannot parse `{name}` as YAML: line {line} column ");
        assert!(
            stderr.starts_with(&prefix) && stderr.contains(message),
            "{name}: {stderr}"
        );
    }
    // The real alias bomb is under 600 bytes.
    assert!(alias_bomb(None).len() < 600);
}

#[test]
fn a_100k_key_file_is_linted_whole_in_bounded_memory() {
    // 100,000 receivers (1.7 MB) and one key given twice at the end: the duplicate is still
    // found (by hash: the linear search it replaces made this quadratic), nothing else is.
    let work = workdir();
    let mut text = String::from("receivers:\n");
    for index in 0..100_000 {
        text.push_str(&format!("  otlp/r{index}: {{}}\n"));
    }
    text.push_str("  otlp/r5: {}\n");
    std::fs::write(work.path().join("wide.yaml"), &text).unwrap();
    let output = run_capped(
        work.path(),
        &[
            "lint-config",
            "wide.yaml",
            "--no-file-checks",
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: LintConfigReport = serde_json::from_slice(&output.stdout).unwrap();
    let findings = &report.files[0].findings;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].rule, Rule::DuplicateKey);
    assert_eq!(findings[0].line, 100_002);
    assert!(findings[0].message.contains("(first on line 7)"));
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let work = prepared_set();
    let fifo = work.path().join("otel-certs/fifo.crt");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::fs::write(
        work.path().join("hostile.yaml"),
        "exporters:\n  otlp_grpc/a:\n    endpoint: backend:4317\n    tls:\n      ca_file: /dev/zero\n      cert_file: /etc/otel/certs/fifo.crt\n      key_file: /dev/zero\n      reload_interval: 1h\n",
    )
    .unwrap();
    let output = otel_pki(work.path())
        .args([
            "lint-config",
            "hostile.yaml",
            "--mount",
            "/etc/otel/certs=otel-certs",
        ])
        // A guard against the hang this test is about, not a timing assertion.
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for expected in [
        "hostile.yaml:5:7: error: exporters.otlp_grpc/a.tls.ca_file: `/dev/zero`: it is a character device, not a regular file [file-invalid]",
        "hostile.yaml:6:7: error: exporters.otlp_grpc/a.tls.cert_file: `/etc/otel/certs/fifo.crt` (here `otel-certs/fifo.crt`): it is a FIFO (named pipe), not a regular file [file-invalid]",
        "hostile.yaml:7:7: error: exporters.otlp_grpc/a.tls.key_file: `/dev/zero`: it is a character device, not a regular file [file-missing]",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    // The configuration itself: a FIFO, a device, and standard input beyond the cap.
    std::fs::rename(&fifo, work.path().join("fifo.yaml")).unwrap();
    let output = otel_pki(work.path())
        .args(["lint-config", "fifo.yaml", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "error: cannot read `fifo.yaml`: it is a FIFO (named pipe), not a regular file\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "error: cannot read `/dev/zero`: it is a character device, not a regular file\n"
        ),
        "{stderr}"
    );
    let huge = vec![b'#'; otel_pki::input::CONFIG_LIMIT as usize + 1];
    otel_pki(work.path())
        .args(["lint-config", "-"])
        .write_stdin(huge)
        .assert()
        .code(2)
        .stderr("error: cannot read standard input: it is larger than 16 MiB, far more than any real configuration\n");
}

#[test]
fn several_documents_are_linted_each() {
    let work = workdir();
    std::fs::write(
        work.path().join("two.yaml"),
        "exporters:\n  debug: {}\n---\n# only a comment\n---\nexporters:\n  otlp/a:\n    endpoint: a:4317\n",
    )
    .unwrap();
    otel_pki(work.path())
        .args(["lint-config", "two.yaml"])
        .assert()
        .code(1)
        .stdout(
            "two.yaml (document 1): OpenTelemetry Collector configuration: no findings\n\
two.yaml:7:3: warning: exporters.otlp/a: the `otlp` exporter is a deprecated alias since Collector v0.144.0 (a warning at every start) [deprecated-exporter-name]\n  \
fix: rename it `otlp_grpc/a` here and in `service.pipelines` (for a Collector older than v0.144.0, pass --collector-version)\n\
two.yaml (document 2): OpenTelemetry Collector configuration: 0 errors, 1 warning, 0 info\n",
        );
}
