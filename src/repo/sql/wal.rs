//! Copying a deletion's write-ahead log back into the database file beside its next
//! chunk (SQLite).
//!
//! A commit that leaves more than `wal_autocheckpoint` pages in the log copies them
//! back into the database file before it returns. For a deletion chunk that is about a
//! tenth of a second, during which nothing else of the deletion runs. So a chunk's
//! connection turns the automatic checkpoint off, and after its commit one passive
//! checkpoint runs on another connection, beside the next chunk (one at a time).
//!
//! SQLite starts the log again from its beginning only when a write begins with every
//! frame copied back, which never happens while the copy overlaps the next chunk: the
//! log would grow by a chunk each time, up to the size of the whole deletion. Once the
//! last copy saw more than the bound, the next chunk first waits for the copy in hand,
//! then copies what is left and restarts the log (`RESTART`, which waits up to a second
//! for readers of the old log to finish), and only then begins.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How long the log may grow behind a deletion before its next chunk waits for it:
/// 64 MiB of 4 KiB pages, a few chunks' worth.
const LOG_BOUND_FRAMES: i64 = 16_384;
/// How long a restart waits for the readers of the old log, in milliseconds. A reader
/// that outlasts it (a long export) only keeps the log from restarting this once; the
/// deletion goes on rather than wait out the usual busy timeout.
const RESTART_WAIT_MS: i64 = 1_000;

pub(crate) struct LogUpkeep {
    /// Held by the checkpoint that is running, if any.
    copying: Arc<Mutex<()>>,
    /// A chunk committed while a copy was running, so what it wrote waits for the
    /// next copy.
    pending: AtomicBool,
    /// Frames in the log when the last checkpoint ran (0 once it was restarted).
    frames: Arc<AtomicI64>,
    bound: AtomicI64,
}

impl Default for LogUpkeep {
    fn default() -> Self {
        LogUpkeep {
            copying: Arc::default(),
            pending: AtomicBool::new(false),
            frames: Arc::default(),
            bound: AtomicI64::new(LOG_BOUND_FRAMES),
        }
    }
}

impl LogUpkeep {
    pub(crate) fn set_bound(&self, frames: i64) {
        self.bound.store(frames.max(0), Ordering::Relaxed);
    }

    /// Before a chunk begins. When the log is past the bound: waits for the copy in
    /// hand, copies the rest back and restarts the log. Otherwise, when the last chunk
    /// committed while a copy was running: waits for that copy and starts one for the
    /// last chunk beside this one. Each chunk so begins with everything before it
    /// copied back or being copied, and the log the last copy saw is never more than
    /// one chunk behind.
    pub(crate) async fn before_chunk(&self, pool: &SqlitePool) -> Result<(), sqlx::Error> {
        if self.frames.load(Ordering::Relaxed) > self.bound.load(Ordering::Relaxed) {
            let _copying = self.copying.lock().await;
            self.pending.store(false, Ordering::Relaxed);
            let (busy, log) = restart(pool).await?;
            // busy: a reader or a writer outlasted the wait, and the log goes on from
            // where it is; the next chunk tries again
            self.frames.store(if busy == 0 { 0 } else { log }, Ordering::Relaxed);
        } else if self.pending.swap(false, Ordering::Relaxed) {
            let copying = self.copying.clone().lock_owned().await;
            self.copy_beside(pool, copying);
        }
        Ok(())
    }

    /// After a chunk committed: copies the log back beside whatever runs next, or, if
    /// a copy is running already, leaves it to the next chunk to start one.
    pub(crate) fn after_chunk(&self, pool: &SqlitePool) {
        match self.copying.clone().try_lock_owned() {
            Ok(copying) => self.copy_beside(pool, copying),
            Err(_) => self.pending.store(true, Ordering::Relaxed),
        }
    }

    fn copy_beside(&self, pool: &SqlitePool, copying: OwnedMutexGuard<()>) {
        let (pool, frames) = (pool.clone(), self.frames.clone());
        tokio::spawn(async move {
            let _copying = copying;
            match sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(passive)").fetch_one(&pool).await {
                Ok((_, log, _)) => frames.store(log, Ordering::Relaxed),
                // whatever is not copied now, the next checkpoint copies
                Err(e) => tracing::warn!(error = %e, "copying the write-ahead log into the database failed"),
            }
        });
    }
}

/// Copies the whole log back and has the next write start it again from its
/// beginning, waiting at most [`RESTART_WAIT_MS`] for readers of the old log. Returns
/// whether it gave up waiting, and the frames in the log.
async fn restart(pool: &SqlitePool) -> Result<(i64, i64), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let usual: i64 = sqlx::query_scalar("pragma busy_timeout").fetch_one(&mut *conn).await?;
    sqlx::query(&format!("pragma busy_timeout = {RESTART_WAIT_MS}")).execute(&mut *conn).await?;
    let restarted = sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(restart)").fetch_one(&mut *conn).await;
    if sqlx::query(&format!("pragma busy_timeout = {usual}")).execute(&mut *conn).await.is_err() {
        // never back in the pool with the short wait
        conn.close_on_drop();
    }
    let (busy, log, _copied) = restarted?;
    Ok((busy, log))
}
