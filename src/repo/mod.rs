//! The repository: the only home of SQL. Every call takes the [`AccountId`] it works in
//! and returns domain types; transactions begin and end here.
//!
//! One API over two backends, SQLite (embedded default) and PostgreSQL. The rooms:
//!
//! - [`sql`]: what every statement is built from: the `Dialect` of each backend (the
//!   one place they differ), `on_db!` (a body compiled once per backend), the filters
//!   that pick contacts, what a new tag starts, retried transactions;
//! - [`search`]: the two search engines, one file per backend;
//! - the entity modules, one per concern (`contacts`, `deletion`, `deleted`, `restore`,
//!   `bulk`, `workflows`, `webhooks`, `audit`, `accounts`, …), each an `impl Repo` block that
//!   imports from `sql` and `search` and never from another entity module.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod contacts;
pub mod deleted;
pub mod deletion;
pub mod export;
pub mod handover;
pub mod restore;
pub(crate) mod search;
pub mod seed;
pub(crate) mod sql;
pub mod webhooks;
pub mod workflows;

use crate::clock::Clock;
use crate::domain::{AccountId, InvalidInput};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::domain::{Cursor, JobId, PageRequest};
pub use accounts::{ApiCaller, ApiKey, LoginUser, UserInfo};
pub use audit::{AuditAction, AuditEvent, AuditFilter};
pub use bulk::{BulkJob, ClaimedJob, QueuedRestore};
pub use contacts::{ContactDetail, ContactPage, ContactRow, DeletedSummary};
pub use deleted::{DeletedContact, DeletedContactDetail, DeletedCursor, DeletedPage, DeletionSummary};
pub use deletion::{BatchInfo, ChunkOutcome, DeletionImpact, DeletionOutcome, DeletionReport};
pub use restore::{EraseReport, PurgeReport, RestoreConflict, RestoreReport, RestoreStep};
pub use sql::from_millis;
pub use webhooks::{ClaimedDelivery, DeliveryOutcome, WebhookCleanup, WebhookDelivery, WebhookEndpoint};
pub use workflows::{ClaimedRun, Workflow, WorkflowRun};

use sql::{on_db, Db, Dialect};

/// Errors of the repository. `Invalid` and `NotFound` carry messages fit for a user;
/// `Database` is logged and shown as a plain server error.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The actor may not do this (R1, R11): not an admin of the account.
    #[error("{0}")]
    Forbidden(String),
    /// An admin may do this only with the typed DELETE (R5), which was not given: the
    /// message says what it would delete.
    #[error("{0}")]
    ConfirmationRequired(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type RepoResult<T> = Result<T, RepoError>;

impl RepoError {
    /// The database could not take this work now, though nothing is wrong with it:
    /// SQLite's write lock stayed held by another writer past the busy timeout, no pooled
    /// connection came free in time, PostgreSQL gave up waiting for a lock, or kept
    /// aborting the transaction as a deadlock victim. Worth trying again shortly; the
    /// web layer answers 503 with `Retry-After`, never 500.
    pub fn is_busy(&self) -> bool {
        let RepoError::Database(e) = self else { return false };
        match e {
            sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => {
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_BUSY (5) or SQLITE_LOCKED (6), in any of their extended forms
                    db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
                } else {
                    // lock_not_available, too_many_connections, query_canceled (a
                    // statement or lock timeout), and the transient aborts of `is_transient`
                    matches!(db.code().as_deref(), Some("55P03" | "53300" | "57014" | "40P01" | "40001"))
                }
            }
            _ => false,
        }
    }
}

/// The schema of each backend. A migration that has been applied anywhere is never
/// edited (sqlx refuses to start on a database that applied other text): the
/// repository tests pin every migration's checksum.
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which backend a `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// A PostgreSQL connection idle in the pool for longer than this is checked before use.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(5);

/// The repository handle: cheap to clone, shared by handlers, jobs and the CLI.
#[derive(Clone)]
pub struct Repo {
    pub(crate) db: Db,
    clock: Arc<dyn Clock>,
    /// Woken when this process queues background work (workflow runs), so the worker
    /// starts at once instead of at its next poll.
    work_queued: Arc<tokio::sync::Notify>,
}

/// The settings of every SQLite connection the server opens (also what the scale
/// benchmark's hand-written SQL runs with, so that both pay the same).
pub fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        // R10: deleted content is overwritten, not left in free pages
        .pragma("secure_delete", "ON")
        // 8 MiB of page cache per connection, temporary b-trees on disk: the server
        // stays small with a million contacts (8 connections)
        .pragma("cache_size", "-8192")
        .pragma("temp_store", "file"))
}

impl Repo {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file if
    /// missing, and applies the migrations of that backend.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> RepoResult<Repo> {
        let db = match Backend::of_url(url) {
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    // sqlx checks a connection with a round trip when it comes back to
                    // the pool; a second one when it leaves (the default) would add a
                    // round trip to each statement. Only a connection that sat idle,
                    // long enough for the server to have gone away, is checked again.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > IDLE_CHECK_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(opts)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Db::Postgres(pool)
            }
            Backend::Sqlite => {
                let opts = sqlite_options(url)?.create_if_missing(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    // the connection is checked when it comes back to the pool; a file
                    // does not go away while it is idle
                    .test_before_acquire(false)
                    // A COMMIT that fails with an I/O error (a full disk, a read-only file)
                    // is rolled back by SQLite itself, and sqlx then still counts the
                    // connection inside a transaction: every later `BEGIN IMMEDIATE` on it
                    // would fail. Such a connection is closed instead of reused.
                    .before_acquire(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
                    .connect_with(opts)
                    .await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Db::Sqlite(pool)
            }
        };
        Ok(Repo { db, clock, work_queued: Arc::new(tokio::sync::Notify::new()) })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The same database read through another clock: the demo seed deletes with the
    /// clock set a few days back, so its deletions are as old as the story it tells.
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Repo {
        Repo { db: self.db.clone(), clock, work_queued: self.work_queued.clone() }
    }

    /// Resolves when this process has queued background work since the last call.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn work_queued(&self) {
        self.work_queued.notified().await
    }

    pub(crate) fn signal_work(&self) {
        self.work_queued.notify_one();
    }

    /// `GET /healthz`: does the database answer?
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> RepoResult<()> {
        on_db!(self, |pool, DB| {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        on_db!(self, |pool, DB| pool.close().await)
    }

    /// After personal data is erased (R10): removes what the search index and the
    /// write-ahead log still hold of it (see the dialect's `scrub_deleted_data`).
    pub(crate) async fn scrub_deleted_data(&self) -> RepoResult<()> {
        on_db!(self, |pool, DB| DB::scrub_deleted_data(pool).await?);
        Ok(())
    }

    /// Keeps the search index quick after many writes: on SQLite, merges the index's
    /// segments when there are more than `over_segments`, at most `max_steps` short write
    /// transactions; on PostgreSQL, moves the indexes' pending entries into their trees
    /// (one step, whatever the arguments). Returns the steps taken.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tidy_search_index(&self, over_segments: i64, max_steps: u32) -> RepoResult<u32> {
        Ok(on_db!(self, |pool, DB| DB::tidy_search_index(pool, over_segments, max_steps).await?))
    }

    /// After a large deletion, refreshes the planner's statistics of `contacts` where
    /// plans depend on them (PostgreSQL); the list's own query names its index so as not
    /// to depend on them, other reads of `contacts` do.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refresh_contact_statistics(&self) -> RepoResult<()> {
        on_db!(self, |pool, DB| {
            if let Some(sql) = DB::REFRESH_CONTACT_STATISTICS {
                sqlx::query(sql).execute(pool).await?;
            }
        });
        Ok(())
    }

    /// Lets other writers in between two chunks of a long job. SQLite has one writer at a
    /// time: a request that found the lock taken retries when its busy handler wakes it,
    /// again at most 100 ms later, and a job that took the lock again at once after each
    /// commit would keep it from them until their busy timeout ran out ("database is
    /// locked"). PostgreSQL locks rows, not the database: nobody waits on the job.
    pub async fn pause_between_chunks(&self) {
        const ONE_WRITER_GAP: Duration = Duration::from_millis(110);
        if on_db!(self, |_pool, DB| DB::ONE_WRITER) {
            tokio::time::sleep(ONE_WRITER_GAP).await
        } else {
            tokio::task::yield_now().await
        }
    }

    /// Checks that `account` exists, for entry points that take an account from outside.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_exists(&self, account: AccountId) -> RepoResult<bool> {
        let n: i64 = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from accounts where id = $1")
                .bind(account.0)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use search::{postgres::SEARCH_BUCKET_BITS, sqlite::SEARCH_KEY_SPAN};

    /// The numbers the SQL writes as literals are the ones the Rust code computes with.
    #[test]
    fn the_literals_in_the_migrations_are_the_rust_constants() {
        let sql = |m: &sqlx::migrate::Migrator| m.iter().map(|x| x.sql.to_string()).collect::<Vec<_>>().join("\n");
        let (sqlite, postgres) = (sql(&SQLITE_MIGRATIONS), sql(&POSTGRES_MIGRATIONS));
        // the search index's rowid span
        assert!(sqlite.contains(&format!("account_id * {SEARCH_KEY_SPAN} + ")), "SQLite keys its search rowids by SEARCH_KEY_SPAN");
        assert_eq!(sqlite.matches("1099511627776").count(), sqlite.matches(&SEARCH_KEY_SPAN.to_string()).count());
        // every shift in PostgreSQL's search SQL is the bucket width
        let shifts: Vec<&str> = postgres.split(">> ").skip(1).chain(postgres.split("<< ").skip(1)).map(|s| s.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("")).collect();
        assert!(shifts.len() >= 6, "the bucket shifts are found: {shifts:?}");
        for n in shifts {
            assert_eq!(n, SEARCH_BUCKET_BITS.to_string(), "a shift by {n} in PostgreSQL's migrations");
        }
    }
}
