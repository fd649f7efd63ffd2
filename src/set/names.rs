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
/// The server certificate `init` makes.
pub const SERVER_CERT: &str = "server.crt";
/// Its key.
pub const SERVER_KEY: &str = "server.key";
/// The client certificate `init` makes.
pub const CLIENT_CERT: &str = "client.crt";
/// Its key.
pub const CLIENT_KEY: &str = "client.key";
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
    SERVER_KEY,
    SERVER_CERT,
    CLIENT_KEY,
    CLIENT_CERT,
];

/// Why `name` cannot be a leaf's file name (NAME.crt, NAME.key): the names the set uses
/// itself, compared ignoring case; `None` for a name a leaf may take.
pub fn reserved(name: &str) -> Option<&'static str> {
    if name.starts_with('.') {
        return Some(
            "names starting with `.` are the set's own hidden files (`..data`, generations, temporary files)",
        );
    }
    match name.to_ascii_lowercase().as_str() {
        "ca" => Some("ca.crt and ca.key are the CA's files"),
        "ca-next" => Some(
            "ca-next.crt and ca-next.key are the next CA of a rollover (`otel-pki ca rotate --stage`)",
        ),
        "ca-previous" => Some(
            "ca-previous.crt and ca-previous.key are the previous CA of a rollover (`otel-pki ca rotate --promote`)",
        ),
        "ca-bundle" => Some("ca-bundle.crt is the trust bundle of a CA rollover"),
        "intermediate-ca" => Some(
            "intermediate-ca.crt and intermediate-ca.key are the intermediate CA of `otel-pki k8s cert-manager --intermediate`",
        ),
        "backup" => Some("backup/ holds the set's backups"),
        _ => None,
    }
}
