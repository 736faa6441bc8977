//! L1, L2: the worker that runs large deletions, and restores of them (R12), in the
//! background, chunk by chunk.
//! Each chunk is one transaction applying all of R2 to its contacts (in the
//! repository); the job's lease is renewed after every chunk, so a killed server's job
//! is picked up again once its lease runs out, and resumes at the batch's cursor.
//!
//! Chunk size: each chunk holds SQLite's write lock (PostgreSQL's row locks) for its
//! whole transaction, while every chunk also pays a fixed cost (its statements, the
//! index pages it dirties and commits). Unless a fixed size is configured, the worker
//! sizes chunks to take about [`CHUNK_TARGET`] each: as large as that allows (a
//! million contacts go in about a hundred transactions), never longer.

use crate::config::BulkSettings;
use crate::domain::{AccountId, BatchId};
use crate::repo::{ClaimedJob, JobId, Repo, RepoError, RepoResult};
use std::time::Duration;

/// How long a claim on a job lasts without renewal.
pub const LEASE_MS: i64 = 10_000;
const POLL: Duration = Duration::from_secs(1);

/// How long one chunk's transaction should take when the size adapts. Each transaction
/// also pays a cost of its own (its statements, the search index's segment it writes,
/// the index pages it dirties again): at a million contacts, chunks of ~250 ms deleted at
/// 60% of the rate of one set-based transaction, chunks of ~1 s at nearly 100%. Reads
/// never wait for a chunk (WAL on SQLite, MVCC on PostgreSQL); other writes wait for the
/// chunk in progress, at most about this long.
pub const CHUNK_TARGET: Duration = Duration::from_millis(1_000);
/// Bounds of an adaptive chunk, and its first size.
const CHUNK_MIN: i64 = 100;
const CHUNK_MAX: i64 = 10_000;
const CHUNK_FIRST: i64 = 500;

/// The size of the next chunk, from how long the last one took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSizer {
    size: i64,
    fixed: bool,
}

impl ChunkSizer {
    pub fn new(fixed: Option<i64>) -> ChunkSizer {
        match fixed {
            Some(n) => ChunkSizer { size: n.max(1), fixed: true },
            None => ChunkSizer { size: CHUNK_FIRST, fixed: false },
        }
    }

    pub fn size(&self) -> i64 {
        self.size
    }

    /// Records that a chunk of `asked` contacts took `took`. A short chunk (the last
    /// one of a batch) says nothing about the rate and leaves the size alone. The size
    /// at most doubles or halves per step, so one slow commit does not swing it.
    pub fn record(&mut self, asked: i64, deleted: u64, took: Duration) {
        if self.fixed || (deleted as i64) < asked / 2 {
            return;
        }
        let secs = took.as_secs_f64().max(1e-4);
        let ideal = asked as f64 * CHUNK_TARGET.as_secs_f64() / secs;
        let next = ideal.clamp(asked as f64 / 2.0, asked as f64 * 2.0).round() as i64;
        self.size = next.clamp(CHUNK_MIN, CHUNK_MAX);
    }
}

/// Contacts deleted between two refreshes of the planner's statistics (PostgreSQL).
const STATISTICS_EVERY: u64 = 100_000;

async fn refresh_statistics(repo: &Repo, job: JobId) {
    if let Err(e) = repo.refresh_contact_statistics().await {
        tracing::warn!(job = job.0, error = %e, "could not refresh the planner's statistics");
    }
}

/// Runs one claimed job until it is done, cancelled or taken over.
async fn drive(repo: &Repo, worker: &str, job: JobId, account: AccountId, batch: BatchId, mut sizer: ChunkSizer) -> RepoResult<()> {
    let (mut chunks, mut deleted, mut since_statistics) = (0u64, 0u64, 0u64);
    let job_started = std::time::Instant::now();
    let mut in_chunks = Duration::ZERO;
    loop {
        let asked = sizer.size();
        let started = std::time::Instant::now();
        let step = repo.delete_next_chunk(account, batch, asked).await?;
        let took = started.elapsed();
        in_chunks += took;
        sizer.record(asked, step.deleted, took);
        if step.done {
            repo.finish_bulk_job(job, "done", None).await?;
            tracing::info!(
                job = job.0,
                deleted,
                chunks,
                last_chunk = asked,
                secs = job_started.elapsed().as_secs_f64(),
                in_chunks_secs = in_chunks.as_secs_f64(),
                "bulk job done"
            );
            // a large deletion leaves the planner's figures stale: refresh them now
            if since_statistics >= STATISTICS_EVERY / 10 {
                refresh_statistics(repo, job).await;
            }
            return Ok(());
        }
        chunks += 1;
        deleted += step.deleted;
        since_statistics += step.deleted;
        if since_statistics >= STATISTICS_EVERY {
            refresh_statistics(repo, job).await;
            since_statistics = 0;
        }
        if !repo.renew_bulk_job(job, worker, LEASE_MS).await? {
            // cancelled, or another worker took over after a stall: stop here
            return Ok(());
        }
        // let requests and other writers in between chunks
        tokio::task::yield_now().await;
    }
}

/// Runs one claimed restore job (R12) until it is done, cancelled or taken over: one
/// transaction per chunk, sized like a deletion's, each moving the job's cursor, counts
/// and audit event with the contacts it restores.
async fn drive_restore(repo: &Repo, worker: &str, job: JobId, mut sizer: ChunkSizer) -> RepoResult<()> {
    loop {
        let asked = sizer.size();
        let started = std::time::Instant::now();
        let step = match repo.restore_job_chunk(job, worker, LEASE_MS, asked).await {
            Ok(Some(step)) => step,
            // cancelled, or another worker took over after a stall: stop here
            Ok(None) => return Ok(()),
            Err(RepoError::Forbidden(why)) => {
                repo.finish_bulk_job(job, "failed", Some(&why)).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        sizer.record(asked, step.scanned, started.elapsed());
        if step.done {
            repo.finish_bulk_job(job, "done", None).await?;
            tracing::info!(job = job.0, "restore job done");
            return Ok(());
        }
        // other writers' turn (SQLite has one at a time)
        repo.pause_between_chunks().await;
    }
}

/// Runs a claimed job of either kind to its end.
async fn run_claimed(repo: &Repo, worker: &str, job: &ClaimedJob, settings: BulkSettings) -> RepoResult<()> {
    let (id, account, batch) = (JobId(job.id), AccountId(job.account_id), BatchId(job.batch_id));
    tracing::info!(job = id.0, batch = batch.0, kind = %job.kind, "bulk job started");
    match job.kind.as_str() {
        "restore" => drive_restore(repo, worker, id, ChunkSizer::new(settings.chunk)).await,
        _ => drive(repo, worker, id, account, batch, ChunkSizer::new(settings.chunk)).await,
    }
}

/// Runs every job that is queued (or whose lease ran out) to its end, one after the
/// other in this task, and returns how many it ran; for the command line and tests, where
/// no server's worker runs them.
pub async fn run_queued(repo: &Repo, settings: BulkSettings) -> RepoResult<u64> {
    let worker = crate::token::worker_id();
    let mut ran = 0;
    while let Some(job) = repo.claim_bulk_job(&worker, LEASE_MS).await? {
        run_claimed(repo, &worker, &job, settings).await?;
        ran += 1;
    }
    if ran > 0 {
        super::tidy_search_index(repo).await;
    }
    Ok(ran)
}

pub async fn run_forever(repo: Repo, settings: BulkSettings) {
    let worker = crate::token::worker_id();
    match repo.adopt_orphan_deletions().await {
        Ok(n) if n > 0 => tracing::info!(deletions = n, "resuming deletions left running"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "could not look for interrupted deletions"),
    }
    loop {
        match repo.claim_bulk_job(&worker, LEASE_MS).await {
            Ok(Some(job)) => match run_claimed(&repo, &worker, &job, settings).await {
                // a deletion leaves its contacts' search entries masked (SQLite): they
                // are removed beside the next job, in short steps that let other writes in
                Ok(()) => {
                    let upkeep = repo.clone();
                    tokio::spawn(async move { super::tidy_search_index(&upkeep).await });
                }
                Err(e) => {
                    // the lease runs out and the job is retried from its cursor
                    tracing::error!(job = job.id, error = %e, "bulk job interrupted; it will resume");
                    tokio::time::sleep(POLL).await;
                }
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_chunk_never_changes() {
        let mut s = ChunkSizer::new(Some(7));
        s.record(7, 7, Duration::from_secs(5));
        s.record(7, 7, Duration::from_micros(1));
        assert_eq!(s.size(), 7);
    }

    #[test]
    fn an_adaptive_chunk_moves_toward_the_target_at_most_twofold_per_step() {
        let mut s = ChunkSizer::new(None);
        assert_eq!(s.size(), CHUNK_FIRST);
        // 500 in a fifth of the target: five times too fast, so it doubles (not quintuples)
        s.record(500, 500, CHUNK_TARGET / 5);
        assert_eq!(s.size(), 1_000);
        // 1,000 in half the target: twice too fast
        s.record(1_000, 1_000, CHUNK_TARGET / 2);
        assert_eq!(s.size(), 2_000);
        // 2,000 in 1.6 targets: the target would hold 1,250
        s.record(2_000, 2_000, CHUNK_TARGET * 8 / 5);
        assert_eq!(s.size(), 1_250);
        // far too slow: halves, and never below the floor
        for _ in 0..20 {
            let n = s.size();
            s.record(n, n as u64, Duration::from_secs(10));
        }
        assert_eq!(s.size(), CHUNK_MIN);
        // far too fast: never above the ceiling
        for _ in 0..20 {
            let n = s.size();
            s.record(n, n as u64, Duration::from_micros(10));
        }
        assert_eq!(s.size(), CHUNK_MAX);
    }

    #[test]
    fn a_short_last_chunk_leaves_the_size_alone() {
        let mut s = ChunkSizer::new(None);
        s.record(500, 12, Duration::from_micros(10));
        assert_eq!(s.size(), CHUNK_FIRST);
    }
}
