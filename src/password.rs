//! Password hashing with argon2id (PHC strings), for login and `create-user`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
}

/// True when `password` matches the stored hash; a malformed hash never matches.
pub fn verify(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash that no password matches, verified against when the email is unknown so
/// that a login takes as long whether or not the account exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that nobody has").unwrap_or_default())
}

/// How long a sign-in waits for a free password check before the server answers busy.
pub const CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The server is checking as many passwords as it has room for, and none came free in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The server is busy signing other people in. Try again in a moment.")]
pub struct Busy;

/// Password checks with a bounded number at once.
///
/// An argon2 check takes about 19 MiB of memory and tens of milliseconds of a core.
/// Left to the blocking thread pool (hundreds of threads), a burst of sign-ins runs
/// hundreds of them in parallel: gigabytes of memory, and none finishes sooner than if
/// they had waited their turn. So a check first takes one of a few permits (one per
/// core), waiting for one at most [`CHECK_WAIT`], and only then goes to a blocking
/// thread; memory stays at a few checks' worth whatever the number of requests.
pub struct PasswordChecks {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
}

impl PasswordChecks {
    pub fn new(at_once: usize, wait: std::time::Duration) -> Self {
        PasswordChecks { permits: std::sync::Arc::new(tokio::sync::Semaphore::new(at_once.max(1))), wait }
    }

    /// One check at a time per core the process may use.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self::new(cores, CHECK_WAIT)
    }

    /// Whether `password` matches `stored`; with no stored hash (an unknown email) it
    /// is checked against the decoy hash and never matches, taking the same time.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, Busy> {
        let permit = match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // waited too long, or the semaphore was closed (never done)
            Ok(Err(_)) | Err(_) => return Err(Busy),
        };
        let check = tokio::task::spawn_blocking(move || {
            // Held until the check ends, even if the request that asked is gone.
            let _permit = permit;
            match stored {
                Some(hash) => verify(&hash, &password),
                None => {
                    verify(decoy_hash(), &password);
                    false
                }
            }
        });
        // A check that panicked (it does not) is a failed sign-in, not a 500.
        Ok(check.await.unwrap_or(false))
    }

    #[cfg(test)]
    fn hold_all(&self) -> tokio::sync::OwnedSemaphorePermit {
        let n = u32::try_from(self.permits.available_permits()).unwrap_or(u32::MAX);
        self.permits.clone().try_acquire_many_owned(n).expect("the permits are free")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_the_right_password_only() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify(&h, "correct horse"));
        assert!(!super::verify(&h, "wrong horse"));
        assert!(!super::verify("not a hash", "correct horse"));
    }

    #[tokio::test]
    async fn checks_wait_for_a_permit_and_give_up_busy() {
        let h = super::hash("correct horse").unwrap();
        let checks = super::PasswordChecks::new(1, std::time::Duration::ZERO);
        assert_eq!(checks.verify(Some(h.clone()), "correct horse".into()).await, Ok(true));
        assert_eq!(checks.verify(Some(h.clone()), "wrong horse".into()).await, Ok(false));
        assert_eq!(checks.verify(None, "correct horse".into()).await, Ok(false), "the decoy matches nothing");
        let held = checks.hold_all();
        assert_eq!(checks.verify(Some(h.clone()), "correct horse".into()).await, Err(super::Busy));
        drop(held);
        assert_eq!(checks.verify(Some(h), "correct horse".into()).await, Ok(true));
    }
}
