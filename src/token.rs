//! Random identifiers: session ids, CSRF tokens, and the names background workers
//! claim work under.

use rand::RngCore;

/// 256 random bits as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A name for one background worker: the process and a random suffix, so that two
/// servers on one database never take each other's leases for their own.
pub fn worker_id() -> String {
    format!("{}-{}", std::process::id(), &random_token()[..8])
}
