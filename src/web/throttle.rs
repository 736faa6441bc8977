//! Throttling of failed sign-ins, per email and client address: after a few failures
//! the pair must wait before trying again.
//!
//! The count lives in this server process's memory. Each server of a cluster throttles
//! on its own (with N servers a pair gets up to N × [`MAX_FAILURES`] tries per window)
//! and a restart forgets it; that still bounds guessing to a few tries a minute.
//!
//! Checking the count and counting the attempt are one step under one lock
//! ([`LoginThrottle::begin`]): an attempt takes a slot before its password is checked,
//! and a pair never has more than [`MAX_FAILURES`] failures and checks in flight
//! together. Without that, a burst of simultaneous sign-ins would all pass the check
//! before the first failure was counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// What to tell a client whose remaining tries are all being checked right now.
pub const IN_FLIGHT_RETRY: Duration = Duration::from_secs(5);
/// Beyond this many pairs, pairs whose window has closed are forgotten.
const MAX_PAIRS: usize = 100_000;
/// The longest email kept in a key: an address is at most 254 characters, and a longer
/// one must not make the table grow by megabytes.
const MAX_KEY_EMAIL: usize = 254;

#[derive(Debug)]
struct Pair {
    failures: u32,
    /// Attempts that took a slot and whose password check has not finished.
    in_flight: u32,
    /// Start of the current window.
    since: Instant,
}

#[derive(Default)]
pub struct LoginThrottle {
    pairs: Mutex<HashMap<(String, String), Pair>>,
}

/// Why an attempt may not check a password now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [`MAX_FAILURES`] failures in the window: wait this long.
    LockedOut(Duration),
    /// The remaining tries of the window are all being checked at this moment.
    InFlight,
}

impl Refusal {
    pub fn retry_after(self) -> Duration {
        match self {
            Refusal::LockedOut(d) => d,
            Refusal::InFlight => IN_FLIGHT_RETRY,
        }
    }
}

/// A slot taken by one sign-in attempt. Settle it with [`Attempt::succeeded`],
/// [`Attempt::failed`] or [`Attempt::not_checked`]; dropped unsettled (the client went
/// away, an error), it counts as a failure, so aborting requests cannot buy tries.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    key: (String, String),
    settled: bool,
}

impl LoginThrottle {
    fn key(email: &str, addr: &str) -> (String, String) {
        let email: String = email.trim().chars().take(MAX_KEY_EMAIL).collect();
        (email.to_lowercase(), addr.to_string())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Pair>> {
        self.pairs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot for one password check of `email` from `addr`, or says why not.
    pub fn begin(&self, email: &str, addr: &str) -> Result<Attempt<'_>, Refusal> {
        let key = Self::key(email, addr);
        let mut map = self.lock();
        if map.len() > MAX_PAIRS {
            map.retain(|_, p| p.in_flight > 0 || p.since.elapsed() < WINDOW);
        }
        let pair = map.entry(key.clone()).or_insert_with(|| Pair { failures: 0, in_flight: 0, since: Instant::now() });
        let elapsed = pair.since.elapsed();
        if elapsed >= WINDOW {
            pair.failures = 0;
            pair.since = Instant::now();
        } else if pair.failures >= MAX_FAILURES {
            return Err(Refusal::LockedOut(WINDOW - elapsed));
        }
        if pair.failures + pair.in_flight >= MAX_FAILURES {
            return Err(Refusal::InFlight);
        }
        pair.in_flight += 1;
        Ok(Attempt { throttle: self, key, settled: false })
    }

    /// How long the pair must still wait, if it is locked out.
    pub fn blocked_for(&self, email: &str, addr: &str) -> Option<Duration> {
        let map = self.lock();
        let pair = map.get(&Self::key(email, addr))?;
        let elapsed = pair.since.elapsed();
        (pair.failures >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    fn settle(&self, key: &(String, String), outcome: Outcome) {
        let mut map = self.lock();
        let Some(pair) = map.get_mut(key) else { return };
        pair.in_flight = pair.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Failed => pair.failures += 1,
            // The right password clears the failures; checks still in flight for the
            // pair keep their slots and are counted when they end.
            Outcome::Succeeded => pair.failures = 0,
            Outcome::NotChecked => {}
        }
        if pair.failures == 0 && pair.in_flight == 0 {
            map.remove(key);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Succeeded,
    Failed,
    NotChecked,
}

impl Attempt<'_> {
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::Succeeded);
    }

    pub fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::Failed);
    }

    /// No password was checked (the server was too busy): the slot is given back.
    pub fn not_checked(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::NotChecked);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.key, Outcome::Failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(t: &LoginThrottle, email: &str, addr: &str) {
        t.begin(email, addr).expect("a slot").failed();
    }

    #[test]
    fn locks_out_after_the_limit_per_email_and_address() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            fail(&t, "a@x.io", "1.1.1.1");
        }
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_none());
        fail(&t, "A@x.io", "1.1.1.1");
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_some());
        assert!(matches!(t.begin("a@x.io", "1.1.1.1").err(), Some(Refusal::LockedOut(_))));
        assert!(t.blocked_for("a@x.io", "2.2.2.2").is_none(), "another address is not locked");
        assert!(t.blocked_for("b@x.io", "1.1.1.1").is_none(), "another email is not locked");
    }

    #[test]
    fn success_clears_the_failures() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            fail(&t, "a@x.io", "1.1.1.1");
        }
        t.begin("a@x.io", "1.1.1.1").expect("a slot").succeeded();
        assert!(t.lock().is_empty(), "nothing kept for a pair that signed in");
        for _ in 0..MAX_FAILURES - 1 {
            fail(&t, "a@x.io", "1.1.1.1");
        }
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_none());
    }

    #[test]
    fn simultaneous_attempts_get_no_more_slots_than_tries_left() {
        let t = LoginThrottle::default();
        fail(&t, "a@x.io", "1.1.1.1");
        // all taken before any finishes, as a burst of simultaneous requests does
        let held: Vec<_> = (0..100).filter_map(|_| t.begin("a@x.io", "1.1.1.1").ok()).collect();
        assert_eq!(held.len() as u32, MAX_FAILURES - 1);
        assert_eq!(t.begin("a@x.io", "1.1.1.1").err(), Some(Refusal::InFlight));
        for a in held {
            a.failed();
        }
        assert!(matches!(t.begin("a@x.io", "1.1.1.1").err(), Some(Refusal::LockedOut(_))));
    }

    #[test]
    fn unchecked_attempts_give_their_slot_back_and_abandoned_ones_count() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            t.begin("a@x.io", "1.1.1.1").expect("a slot").not_checked();
        }
        assert!(t.lock().is_empty());
        for _ in 0..MAX_FAILURES {
            let attempt = t.begin("a@x.io", "1.1.1.1").expect("a slot");
            drop(attempt);
        }
        assert!(t.blocked_for("a@x.io", "1.1.1.1").is_some(), "dropped attempts count as failures");
    }

    #[test]
    fn threads_racing_for_one_pair_check_at_most_the_limit() {
        let t = std::sync::Arc::new(LoginThrottle::default());
        let checks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(32));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (t, checks, barrier) = (t.clone(), checks.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..10 {
                        if let Ok(a) = t.begin("a@x.io", "1.1.1.1") {
                            checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            a.failed();
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().expect("a racing thread");
        }
        assert_eq!(checks.load(std::sync::atomic::Ordering::SeqCst), MAX_FAILURES);
    }

    #[test]
    fn keys_are_bounded() {
        let t = LoginThrottle::default();
        fail(&t, &"a".repeat(1_000_000), "1.1.1.1");
        assert!(t.lock().keys().all(|(e, _)| e.len() <= MAX_KEY_EMAIL));
    }
}
