//! Work done outside requests: workflow runs (W3), background deletions and restores
//! (L1), the periodic purge (R9), the webhook sender, and the search index's upkeep after them.

pub mod bulk;
pub mod purge;
pub mod webhooks;
pub mod workflow_runner;

use crate::config::Settings;
use crate::repo::Repo;

/// Starts the server's background tasks.
pub fn spawn_background(repo: Repo, settings: &Settings) {
    tokio::spawn(workflow_runner::run_forever(repo.clone()));
    tokio::spawn(bulk::run_forever(repo.clone(), settings.bulk));
    tokio::spawn(webhooks::run_forever(repo.clone(), settings.webhooks.clone()));
    if settings.purge_interval_secs > 0 {
        tokio::spawn(purge::run_periodically(repo, std::time::Duration::from_secs(settings.purge_interval_secs)));
    }
}

/// Enough steps to remove a million deleted contacts' search entries, or to merge a
/// million contacts' index in 500-page steps, in one go.
const MAX_TIDY_STEPS: u32 = 1_000;
/// Segments of the search index beyond which it is merged (SQLite).
const FRAGMENTED: i64 = 8;

/// Removes deleted contacts' masked entries from the search index and merges it once
/// writes have left it fragmented (SQLite), in short steps that let other writers in
/// between; empties its pending lists (PostgreSQL).
async fn tidy_search_index(repo: &Repo) {
    let started = std::time::Instant::now();
    match repo.tidy_search_index(FRAGMENTED, MAX_TIDY_STEPS).await {
        Ok(steps) if steps > 0 => tracing::info!(steps, secs = started.elapsed().as_secs_f64(), "search index tidied"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "tidying the search index failed; retrying later"),
    }
}
