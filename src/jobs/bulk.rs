//! L1, L2: the worker that runs large deletions in the background, chunk by chunk.
//! Each chunk is one transaction applying all of R2 to its contacts (in the
//! repository); the job's lease is renewed after every chunk, so a killed server's job
//! is picked up again once its lease runs out, and resumes at the batch's cursor.

use crate::domain::{AccountId, BatchId};
use crate::repo::{JobId, Repo, RepoResult};
use std::time::Duration;

/// How long a claim on a job lasts without renewal.
pub const LEASE_MS: i64 = 10_000;
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSettings {
    /// Deletions of more contacts than this run as background jobs.
    pub threshold: i64,
    /// Contacts per chunk (one transaction each).
    pub chunk: i64,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings { threshold: 2_000, chunk: 500 }
    }
}

/// Runs one claimed job until it is done, cancelled or taken over.
async fn drive(repo: &Repo, worker: &str, job: JobId, account: AccountId, batch: BatchId, chunk: i64) -> RepoResult<()> {
    loop {
        let step = repo.delete_next_chunk(account, batch, chunk).await?;
        if step.done {
            repo.finish_bulk_job(job, "done", None).await?;
            return Ok(());
        }
        if !repo.renew_bulk_job(job, worker, LEASE_MS).await? {
            // cancelled, or another worker took over after a stall: stop here
            return Ok(());
        }
        // let requests and other writers in between chunks
        tokio::task::yield_now().await;
    }
}

pub async fn run_forever(repo: Repo, settings: BulkSettings) {
    let worker = format!("{}-{}", std::process::id(), crate::web::session::random_token().get(..8).unwrap_or("w"));
    match repo.adopt_orphan_deletions().await {
        Ok(n) if n > 0 => tracing::info!(deletions = n, "resuming deletions left running"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "could not look for interrupted deletions"),
    }
    loop {
        match repo.claim_bulk_job(&worker, LEASE_MS).await {
            Ok(Some(job)) => {
                let (id, account, batch) = (JobId(job.id), AccountId(job.account_id), BatchId(job.batch_id));
                tracing::info!(job = id.0, batch = batch.0, "bulk job started");
                if let Err(e) = drive(&repo, &worker, id, account, batch, settings.chunk.max(1)).await {
                    // the lease runs out and the job is retried from its cursor
                    tracing::error!(job = id.0, error = %e, "bulk job interrupted; it will resume");
                    tokio::time::sleep(POLL).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = repo.work_queued() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "claiming bulk jobs failed; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
