//! Uses the `otel_pki` library to make a CA and N client certificates and print them as one
//! PEM bundle on stdout — the input of the `inspect` benchmark (`bench/run.sh`), and a short
//! example of issuing certificates from Rust.
//!
//! ```sh
//! cargo run --release --example make_bundle -- 10000 > bundle.pem
//! ```

use otel_pki::pki::issue::{CaRequest, LeafProfile, LeafRequest, create_ca};
use otel_pki::pki::{KeyType, Lifetime, PrivateKey, San, Validity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).map_or(Ok(1000), |n| n.parse())?;
    let now = time::OffsetDateTime::now_utc();
    let ca = create_ca(
        &CaRequest {
            common_name: "Bundle CA".into(),
            validity: Validity::starting_now(now, Lifetime::days(3650)),
        },
        PrivateKey::generate(KeyType::EcdsaP256)?,
    )?;
    let mut out = String::with_capacity(count * 700);
    out.push_str(&ca.certificate_pem());
    for index in 1..count {
        let leaf = ca.issue(
            &LeafRequest {
                profile: LeafProfile::Client,
                common_name: format!("collector-{index:05}"),
                sans: vec![San::parse(&format!(
                    "collector-{index:05}.observability.svc"
                ))?],
                validity: Validity::starting_now(now, Lifetime::days(30 + (index % 700) as i64)),
            },
            PrivateKey::generate(KeyType::EcdsaP256)?,
        )?;
        out.push_str(&leaf.certificate_pem());
    }
    print!("{out}");
    Ok(())
}
