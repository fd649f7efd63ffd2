//! The PKI core: names, lifetimes, keys, certificate profiles, issuing and reading. Nothing
//! here touches the file system or prints; commands in `cmd/` do that.

pub mod certificate;
pub mod csr;
pub mod encrypted_key;
mod error;
pub mod issue;
pub mod key;
pub mod lifetime;
pub mod pkcs12;
pub mod renewal;
pub mod san;
pub mod verify;

pub use certificate::{CertSummary, Role};
pub use error::PkiError;
pub use issue::{Ca, CaRequest, Issued, LeafProfile, LeafRequest};
pub use key::{KeyType, Passphrase, PrivateKey};
pub use lifetime::{Lifetime, Validity};
pub use san::San;
