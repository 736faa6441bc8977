//! R9: purge contacts past their 60-day window on an interval, inside the server. Safe
//! beside other servers and the `purge` command: the repository claims rows in chunks.

use crate::repo::Repo;
use std::time::Duration;

/// Enough steps to remove a million deleted contacts' search entries, or to merge a
/// million contacts' index in 500-page steps, in one go.
const MAX_TIDY_STEPS: u32 = 1_000;
/// Segments of the search index beyond which it is merged (SQLite).
const FRAGMENTED: i64 = 8;

pub async fn run_periodically(repo: Repo, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match repo.purge_expired().await {
            Ok(r) if r.purged > 0 => tracing::info!(purged = r.purged, "purged contacts past their restore window"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "purge failed; retrying at the next interval"),
        }
        tidy(&repo).await;
    }
}

/// Removes deleted contacts' masked entries from the search index and merges it once
/// writes have left it fragmented (SQLite), in short steps that let other writers in
/// between; empties its pending lists (PostgreSQL).
pub(super) async fn tidy(repo: &Repo) {
    let started = std::time::Instant::now();
    match repo.tidy_search_index(FRAGMENTED, MAX_TIDY_STEPS).await {
        Ok(steps) if steps > 0 => tracing::info!(steps, secs = started.elapsed().as_secs_f64(), "search index tidied"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "tidying the search index failed; retrying later"),
    }
}
