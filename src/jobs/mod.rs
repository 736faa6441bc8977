//! Work done outside requests: workflow runs (W3), background deletions and restores
//! (L1), the periodic purge (R9), and the webhook sender.

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
