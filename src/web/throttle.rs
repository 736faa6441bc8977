//! Throttling of failed sign-ins, per email and client address: after a few failures
//! the pair must wait before trying again. Kept in the server's memory; each server of
//! a cluster throttles on its own, which still bounds guessing to a few tries a minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<(String, String), (u32, Instant)>>,
}

impl LoginThrottle {
    fn key(email: &str, addr: &str) -> (String, String) {
        (email.trim().to_lowercase(), addr.to_string())
    }

    /// How long the pair must still wait, if it is locked out.
    pub fn blocked_for(&self, email: &str, addr: &str) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = map.get(&Self::key(email, addr))?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    pub fn record_failure(&self, email: &str, addr: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // bounded memory under a flood of distinct keys
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(Self::key(email, addr)).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, email: &str, addr: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&Self::key(email, addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_per_email_and_address() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.record_failure("a@x.io", "1.1.1.1");
        }
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_none());
        t.record_failure("A@x.io", "1.1.1.1");
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_some());
        assert!(t.blocked_for("a@x.io", "2.2.2.2").is_none(), "another address is not locked");
        assert!(t.blocked_for("b@x.io", "1.1.1.1").is_none(), "another email is not locked");
        t.record_success("a@x.io", "1.1.1.1");
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_none());
    }
}
