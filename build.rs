//! Finds the interop tools of the tests at build time, so that `cargo test` can report a
//! test whose tool is missing as `ignored` (with the reason and the fix) instead of `ok`.
//!
//! `.ci/interop-setup` installs the tools under `target/interop/` and then touches this file,
//! so the next build looks again. With `OTEL_PKI_INTEROP_REQUIRED` set (CI) nothing is ever
//! ignored: a missing tool fails its test.
//!
//! Sets, for the test targets:
//! - `interop_go_missing`: no Go mTLS checker at `target/interop/mtls_check`;
//! - `interop_venv_missing`: no `target/interop/venv/bin/python` (grpcio, pkilint);
//! - `kubernetes_validate_missing`: no `target/interop/venv/bin/kubernetes-validate`;
//! - `jdk_missing`: no `javac` on PATH (the JSSE test of the keystores).

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=OTEL_PKI_INTEROP_REQUIRED");
    let required = std::env::var_os("OTEL_PKI_INTEROP_REQUIRED").is_some_and(|v| !v.is_empty());
    let root = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    let interop = Path::new(&root).join("target/interop");
    for (cfg, tool) in [
        ("interop_go_missing", "mtls_check"),
        ("interop_venv_missing", "venv/bin/python"),
        (
            "kubernetes_validate_missing",
            "venv/bin/kubernetes-validate",
        ),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let path = interop.join(tool);
        if path.exists() {
            // Rebuilt or removed tools are noticed. A missing path is not watched: Cargo
            // would rerun this script, and rebuild the crate, on every build.
            println!("cargo::rerun-if-changed={}", path.display());
        } else if !required {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rustc-check-cfg=cfg(jdk_missing)");
    let javac = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("javac").is_file()));
    if !javac && !required {
        println!("cargo::rustc-cfg=jdk_missing");
    }
}
