//! R9: purge contacts past their 60-day window on an interval, inside the server. Safe
//! beside other servers and the `purge` command: the repository claims rows in chunks.

use crate::repo::Repo;
use std::time::Duration;

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
        super::tidy_search_index(&repo).await;
    }
}
