//! The names a set uses itself, spelled once.

/// The CA certificate every peer trusts (during a rollover, a bundle: see `ca rotate`).
pub const CA_CERT: &str = "ca.crt";
/// The CA key.
pub const CA_KEY: &str = "ca.key";
/// The next CA while a rollover is staged.
pub const NEXT_CERT: &str = "ca-next.crt";
/// Its key.
pub const NEXT_KEY: &str = "ca-next.key";
/// The old CA between `ca rotate --promote` and `--finish`.
pub const PREVIOUS_CERT: &str = "ca-previous.crt";
/// Its key, archived in the backup by `--finish`.
pub const PREVIOUS_KEY: &str = "ca-previous.key";
/// Every CA a peer should trust right now.
pub const BUNDLE: &str = "ca-bundle.crt";
/// The symlink naming the current generation.
pub use super::generation::DATA;
/// The file naming the holder of the set's lock.
pub use super::lock::HOLDER_FILE;
/// Where replaced files are kept.
pub use crate::write::BACKUP_DIR;

/// The files `ca rotate` makes during a rollover.
pub const ROLLOVER_FILES: [&str; 5] = [NEXT_CERT, NEXT_KEY, PREVIOUS_CERT, PREVIOUS_KEY, BUNDLE];

/// The six files `init` writes, in the order they are written and listed.
pub const INIT_FILES: [&str; 6] = [
    CA_KEY,
    CA_CERT,
    "server.key",
    "server.crt",
    "client.key",
    "client.crt",
];
