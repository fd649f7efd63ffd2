use otel_pki::output::{ErrorCode, ErrorReport};

use crate::support::*;

/// Runs `otel-pki ARGS` in `dir`; asserts exit 2, the stderr line, and one JSON error
/// object on stdout whose message is that line. Returns the object.
fn json_error(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> ErrorReport {
    let output = otel_pki(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: ErrorReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON error ({e}): {output:?}"));
    assert!(!report.error.message.is_empty());
    assert!(
        stderr.contains(&report.error.message),
        "{args:?}: the JSON message is not the stderr line:\n{stderr}\n{report:?}"
    );
    report
}

#[test]
fn failures_print_a_json_error_object_with_a_stable_code() {
    let work = workdir();
    let dir = work.path();
    let report = json_error(dir, &["init", "--format", "json", "--san", "foo.*.x"], &[]);
    assert_eq!(report.error.code, ErrorCode::BadInput);

    init(dir, &["-q"]);
    let report = json_error(dir, &["init", "--format=json"], &[]);
    assert_eq!(report.error.code, ErrorCode::Exists);
    assert_eq!(report.error.path.as_deref(), Some("./otel-certs/ca.key"));

    std::fs::write(dir.join("garbage.crt"), "garbage\n").unwrap();
    let report = json_error(
        dir,
        &["issue", "client", "--ca-cert", "garbage.crt", "--name", "x"],
        &[("OTEL_PKI_FORMAT", "json")],
    );
    assert_eq!(report.error.code, ErrorCode::BadCertificate, "{report:?}");
    assert_eq!(report.error.path.as_deref(), Some("garbage.crt"));

    let report = json_error(dir, &["probe", "localhost:1", "--format", "json"], &[]);
    assert_eq!(report.error.code, ErrorCode::Network);
}

#[test]
fn usage_errors_print_a_json_error_object_too() {
    let work = workdir();
    let report = json_error(work.path(), &["--format", "json", "bogus"], &[]);
    assert_eq!(report.error.code, ErrorCode::Usage);
    assert!(report.error.message.contains("bogus"), "{report:?}");
    let report = json_error(
        work.path(),
        &["init", "--validity", "90x", "--format", "json"],
        &[],
    );
    assert_eq!(report.error.code, ErrorCode::BadInput);
    assert!(report.error.message.contains("--validity"), "{report:?}");
}

#[test]
fn text_mode_failures_leave_stdout_empty() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let output = otel_pki(work.path()).arg("init").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "{output:?}");
    // --format text after --format json wins, as clap reads it.
    let output = otel_pki(work.path())
        .args(["--format", "json", "bogus", "--format", "text"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "{output:?}");
}
