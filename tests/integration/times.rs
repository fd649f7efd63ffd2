use crate::support::*;

/// Runs `otel-pki ARGS` in `dir`; returns stdout and stderr together.
fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let output = otel_pki(dir).args(args).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn init_inspect_check_and_verify_agree_on_the_days() {
    let work = workdir();
    let created = run(work.path(), &["init", "--validity", "20d"]);
    assert!(created.contains("valid 20 days until"), "{created}");
    let inspect = run(work.path(), &["inspect", "otel-certs/server.crt"]);
    assert!(inspect.contains("(20 days left)"), "{inspect}");
    let check = run(work.path(), &["check"]);
    assert!(check.contains("server.crt  expires in 20 days"), "{check}");
    let verify = run(
        work.path(),
        &[
            "verify",
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
        ],
    );
    assert!(verify.contains("(20 days left)"), "{verify}");
    let json = otel_pki(work.path())
        .args(["inspect", "otel-certs/ca.crt", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["certificates"][0]["days_remaining"], 3650);
}

#[test]
fn json_times_are_whole_seconds() {
    let work = workdir();
    init(work.path(), &["-q"]);
    let whole = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").unwrap();
    let inspect = otel_pki(work.path())
        .args([
            "inspect",
            "otel-certs",
            "--expiring-within",
            "30d",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let deadline = report["expiring"]["deadline"].as_str().unwrap();
    assert!(whole.is_match(deadline), "{deadline}");
    let verify = otel_pki(work.path())
        .args([
            "verify",
            "otel-certs/server.crt",
            "--ca",
            "otel-certs/ca.crt",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    let at = report["at"].as_str().unwrap();
    assert!(whole.is_match(at), "{at}");
    let not_after = report["certificate"]["not_after"].as_str().unwrap();
    assert!(whole.is_match(not_after), "{not_after}");
}
