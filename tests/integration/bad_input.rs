//! Every kind of bad input gets one line on stderr naming the flag or file, exit status 2,
//! no panic, and no file written or changed.

use std::fs;
use std::path::Path;

use crate::support::*;

/// (arguments, text the error line must contain)
const CASES: &[(&[&str], &str)] = &[
    (
        &["init", "--san", "a..b"],
        "invalid SAN `a..b`: has an empty label",
    ),
    (
        &["init", "--san", "*.com"],
        "wildcard must be followed by at least two labels",
    ),
    (
        &["init", "--san", "foo.*.example"],
        "only allowed as the whole left-most label",
    ),
    (&["init", "--san", "foo_bar.example"], "contains `_`"),
    (
        &["init", "--san", "IP:300.1.1.1"],
        "not an IPv4 or IPv6 address",
    ),
    (&["init", "--san", "gateway:4317"], "not a URL or host:port"),
    (&["init", "--san", "URI:no-scheme"], "needs a scheme"),
    (
        &["init", "--san", "URI:spiffe://x/y"],
        "needs at least one DNS name or IP address",
    ),
    (
        &["init", "--validity", "90"],
        "invalid duration `90`: the number has no unit",
    ),
    (&["init", "--validity", "3mo"], "unknown unit `mo`"),
    (&["init", "--validity", "0d"], "longer than zero"),
    (&["init", "--ca-validity", "abc"], "--ca-validity"),
    (
        &["init", "--validity", "20y", "--ca-validity", "10y"],
        "may not outlive its CA",
    ),
    (&["init", "--key-type", "rsa-1024"], "--key-type"),
    (
        &["init", "--client-cn", ""],
        "invalid --client-cn ``: it is empty",
    ),
    (
        &[
            "init",
            "--ca-cn",
            "0123456789012345678901234567890123456789012345678901234567890123456789",
        ],
        "longer than 64",
    ),
    (
        &["init", "--dir", "a-file"],
        "`a-file` exists and is not a directory",
    ),
    (
        &["init", "--k8s-service", "no-namespace"],
        "expected NAME.NAMESPACE",
    ),
    (&["init", "--headless"], "--k8s-service"),
    (
        &["init", "--encrypt-ca-key"],
        "--encrypt-ca-key needs a passphrase",
    ),
    (
        &["init", "--passphrase-file", "empty.txt"],
        "--passphrase-file is only used with --encrypt-ca-key",
    ),
    (
        &[
            "init",
            "--encrypt-ca-key",
            "--passphrase-file",
            "missing.txt",
        ],
        "`missing.txt`: the file does not exist",
    ),
    (
        &["init", "--encrypt-ca-key", "--passphrase-file", "empty.txt"],
        "passphrase from --passphrase-file `empty.txt` is empty",
    ),
    (
        &["issue", "server", "--dir", "set"],
        "needs at least one --san",
    ),
    (
        &["issue", "client", "--dir", "nowhere"],
        "create one with `otel-pki init --dir nowhere`",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-cert",
            "garbage.pem",
        ],
        "`garbage.pem` is not a usable certificate: no PEM CERTIFICATE block found",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-cert",
            "truncated.pem",
        ],
        "truncated",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-cert",
            "set/server.crt",
            "--ca-key",
            "set/server.key",
        ],
        "`set/server.crt` is not a CA certificate",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-key",
            "other/ca.key",
        ],
        "key `other/ca.key` does not match certificate `set/ca.crt`",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-key",
            "garbage.pem",
        ],
        "`garbage.pem` is not a usable private key",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-key",
            "legacy.key",
        ],
        "legacy OpenSSL encrypted PEM key",
    ),
    (
        &[
            "issue",
            "client",
            "--dir",
            "set",
            "--name",
            "n1",
            "--ca-key",
            "set/ca.crt",
        ],
        "no PRIVATE KEY block",
    ),
    (
        &["issue", "client", "--dir", "set", "--name", "../evil"],
        "invalid --name `../evil`",
    ),
    (
        &["issue", "client", "--dir", "set", "--name", "ca"],
        "invalid --name `ca`",
    ),
    (
        &[
            "issue",
            "server",
            "--dir",
            "set",
            "--name",
            "n2",
            "--san",
            "localhost",
            "--validity",
            "11y",
        ],
        "after its CA",
    ),
    (&["inspect"], "PATH"),
    (&["init", "--no-such-flag"], "--no-such-flag"),
];

fn setup(work: &Path) {
    init(work, &["-q", "--dir", "set"]);
    init(work, &["-q", "--dir", "other"]);
    fs::write(work.join("a-file"), "x").unwrap();
    fs::write(work.join("empty.txt"), "\n").unwrap();
    fs::write(work.join("garbage.pem"), "hello\n").unwrap();
    fs::write(
        work.join("truncated.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n",
    )
    .unwrap();
    let (ok, text) = openssl(
        work,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "plain.key",
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        work,
        &[
            "ec",
            "-in",
            "plain.key",
            "-aes256",
            "-passout",
            "pass:x",
            "-out",
            "legacy.key",
        ],
    );
    assert!(ok, "{text}");
}

fn snapshot(work: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in walk(work) {
        let bytes = fs::read(&entry).unwrap_or_default();
        files.push((
            entry.strip_prefix(work).unwrap().display().to_string(),
            bytes,
        ));
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn bad_input_gets_one_clear_line_exit_2_and_no_files() {
    assert!(CASES.len() >= 20);
    let work = workdir();
    setup(work.path());
    let before = snapshot(work.path());
    let mut failures = Vec::new();
    for (args, expected) in CASES {
        let output = otel_pki(work.path()).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        let problems = [
            (
                output.status.code() != Some(2),
                format!("exit {:?}", output.status.code()),
            ),
            (
                !stderr.contains(expected),
                format!("stderr lacks `{expected}`"),
            ),
            (
                !stderr.starts_with("error:"),
                "stderr does not start with `error:`".to_owned(),
            ),
            (stderr.contains("panicked"), "panicked".to_owned()),
            (
                lines.len() != 1
                    && !args.contains(&"--no-such-flag")
                    && !args.contains(&"--headless")
                    && args != &["inspect"],
                format!("{} lines", lines.len()),
            ),
            (snapshot(work.path()) != before, "files changed".to_owned()),
        ];
        for (failed, problem) in problems {
            if failed {
                failures.push(format!("{args:?}: {problem}\n    stderr: {stderr}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
