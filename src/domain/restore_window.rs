//! R8: a deleted contact can be restored while `now < deleted_at + 60 days`.

use chrono::{DateTime, Duration, Utc};

pub const RESTORE_WINDOW_DAYS: i64 = 60;

pub fn window() -> Duration {
    Duration::days(RESTORE_WINDOW_DAYS)
}

/// The first moment at which the contact can no longer be restored.
pub fn closes_at(deleted_at: DateTime<Utc>) -> DateTime<Utc> {
    deleted_at + window()
}

pub fn is_restorable(deleted_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < closes_at(deleted_at)
}

/// The restore cut-off at `now`: a contact deleted strictly after this moment can still
/// be restored; one deleted at or before it is past its window (and purgeable).
pub fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - window()
}

/// What the Restore page shows: "12 days left", "less than a day left".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaysLeft {
    Days(i64),
    LessThanADay,
    Expired,
}

impl DaysLeft {
    pub fn at(deleted_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let left = closes_at(deleted_at) - now;
        if left <= Duration::zero() {
            DaysLeft::Expired
        } else if left < Duration::days(1) {
            DaysLeft::LessThanADay
        } else {
            // whole days, rounded up: just deleted reads "60 days left"
            let whole = left.num_days();
            DaysLeft::Days(if left > Duration::days(whole) { whole + 1 } else { whole })
        }
    }
}

impl std::fmt::Display for DaysLeft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaysLeft::Days(1) => f.write_str("1 day left"),
            DaysLeft::Days(n) => write!(f, "{n} days left"),
            DaysLeft::LessThanADay => f.write_str("less than a day left"),
            DaysLeft::Expired => f.write_str("expired"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn restorable_until_the_last_instant_before_sixty_days() {
        let deleted = t0();
        assert!(is_restorable(deleted, deleted));
        assert!(is_restorable(deleted, deleted + Duration::days(60) - Duration::minutes(1)));
        assert!(is_restorable(deleted, deleted + Duration::days(60) - Duration::milliseconds(1)));
        assert!(!is_restorable(deleted, deleted + Duration::days(60)));
        assert!(!is_restorable(deleted, deleted + Duration::days(61)));
    }

    #[test]
    fn cutoff_matches_the_window() {
        let now = t0() + Duration::days(60);
        assert_eq!(cutoff(now), t0());
        // deleted exactly at the cut-off: no longer restorable; a millisecond later: still is
        assert!(!is_restorable(cutoff(now), now));
        assert!(is_restorable(cutoff(now) + Duration::milliseconds(1), now));
    }

    #[test]
    fn days_left_reads_naturally() {
        let d = t0();
        assert_eq!(DaysLeft::at(d, d).to_string(), "60 days left");
        assert_eq!(DaysLeft::at(d, d + Duration::seconds(5)).to_string(), "60 days left");
        assert_eq!(DaysLeft::at(d, d + Duration::days(58) + Duration::hours(1)).to_string(), "2 days left");
        assert_eq!(DaysLeft::at(d, d + Duration::days(59)).to_string(), "1 day left");
        assert_eq!(DaysLeft::at(d, d + Duration::days(59) + Duration::hours(1)).to_string(), "less than a day left");
        assert_eq!(DaysLeft::at(d, d + Duration::days(60)), DaysLeft::Expired);
    }
}
