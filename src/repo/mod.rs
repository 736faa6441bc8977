//! The repository: the only home of SQL. Every call takes the [`AccountId`] it works in
//! and returns domain types; transactions begin and end here.
//!
//! One API over two backends, SQLite (embedded default) and PostgreSQL. Both schemas
//! store times as epoch milliseconds and use `$n` placeholders, so almost every
//! statement is one string shared by both; [`on_db!`] expands a body once per backend
//! with the matching pool type. Where the dialects differ (row locking, maintenance
//! pragmas), the difference is a small named fragment beside the statement.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod contacts;
pub mod deleted;
pub mod deletion;
pub mod export;
pub mod handover;
pub mod restore;
pub mod seed;
pub mod sessions;
pub mod workflows;

use crate::clock::Clock;
use crate::domain::{AccountId, InvalidInput};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use accounts::{LoginUser, UserInfo};
pub use bulk::{BulkJob, ClaimedJob, JobId, QueuedRestore};
pub use audit::{AuditAction, AuditEvent, AuditFilter};
pub use contacts::{ContactDetail, ContactPage, ContactRow, Cursor, DeletedSummary, PageRequest};
pub use deleted::{DeletedCursor, DeletionSummary};
pub use deletion::{BatchInfo, ChunkOutcome, DeletionImpact, DeletionOutcome, DeletionReport};
pub use workflows::{ClaimedRun, Workflow, WorkflowRun};
pub use restore::{DeletedContact, DeletedPage, EraseReport, PurgeReport, RestoreConflict, RestoreReport, RestoreStep};

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

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$DB` to its
/// `sqlx::Database` type: the body is compiled once per backend from one source.
macro_rules! on_db {
    ($repo:expr, |$pool:ident, $DB:ident| $body:expr) => {
        match &$repo.db {
            $crate::repo::Db::Sqlite($pool) => {
                #[allow(dead_code)]
                type $DB = sqlx::Sqlite;
                #[allow(unused_imports)]
                use $crate::repo::SqliteDialect as _Dialect;
                $body
            }
            $crate::repo::Db::Postgres($pool) => {
                #[allow(dead_code)]
                type $DB = sqlx::Postgres;
                #[allow(unused_imports)]
                use $crate::repo::PostgresDialect as _Dialect;
                $body
            }
        }
    };
}
pub(crate) use on_db;

/// What differs between the two SQL dialects, as constants the shared code splices in.
pub(crate) trait Dialect {
    /// Appended to a `SELECT` that claims rows another process may claim too.
    const SKIP_LOCKED: &'static str;
    /// Appended to a `SELECT` of a row this transaction will update.
    const FOR_UPDATE: &'static str;
    /// After `contacts c` in a query that must walk deleted contacts in name order
    /// (the Restore page sorted by name with a broad filter): SQLite's planner would
    /// otherwise read every deleted contact through `contacts_deleted` and sort them.
    const WALK_DELETED_BY_NAME: &'static str;
    /// `FROM` a tag's entries `t`, each joined to its contact `c` by the contact's primary
    /// key, one entry after the other: a page of a rare tag in a sorted list reads its
    /// few contacts and sorts them. SQLite joins in the written order after `cross join`;
    /// PostgreSQL may otherwise hash-join a few thousand entries against every contact.
    const EACH_TAGGED_CONTACT: &'static str;
}
pub(crate) struct SqliteDialect;
pub(crate) struct PostgresDialect;
impl Dialect for SqliteDialect {
    // SQLite has one writer at a time (`BEGIN IMMEDIATE`): claiming is implicit.
    const SKIP_LOCKED: &'static str = "";
    const FOR_UPDATE: &'static str = "";
    const WALK_DELETED_BY_NAME: &'static str = " indexed by contacts_deleted_name";
    const EACH_TAGGED_CONTACT: &'static str = "contact_tags t cross join contacts c";
}
impl Dialect for PostgresDialect {
    const SKIP_LOCKED: &'static str = " for update skip locked";
    const FOR_UPDATE: &'static str = " for update";
    const WALK_DELETED_BY_NAME: &'static str = "";
    // `offset 0` keeps the subquery whole: a look-up by primary key per tag entry
    const EACH_TAGGED_CONTACT: &'static str =
        "contact_tags t cross join lateral (select * from contacts x where x.id = t.contact_id offset 0) c";
}

/// How a backend finds contacts by a substring of their search text.
pub(crate) trait SubstringSearch {
    /// SQLite: the `contacts_search` FTS5 trigram table (migration 0003) answers
    /// queries of [`TRIGRAM`] characters or more; shorter ones scan with `like`.
    const TRIGRAM_TABLE: bool;
    /// PostgreSQL: the GIN index `contacts_search` keys each live contact by every
    /// substring of three characters of its search text (migration 0014), and a query
    /// of three characters or more is narrowed by its own substrings, then tested with
    /// `strpos`. Counts, selections and pages with a tag read it.
    const SUBSTRING_KEYS: bool;
    /// PostgreSQL: a GIN index returns its matches unordered, so a page of a common word
    /// would sort every match; `contacts_search_by_bucket` (migrations 0013, 0014) keys
    /// the substrings of each contact by its id bucket (`id >> 14`), so that a search
    /// page reads the newest buckets one at a time.
    const ID_BUCKETS: bool;
    /// Whether a statement that orders search matches and stops at a limit must be planned
    /// for its pattern each time rather than kept prepared. PostgreSQL plans a prepared
    /// statement once for any parameters after five runs, when that plan looks no dearer:
    /// for such a statement it walks the list backwards testing every row, which suits
    /// a common word and takes half a second for a rare one at a million contacts.
    const PLAN_EACH_PATTERN: bool;
}
impl SubstringSearch for sqlx::Sqlite {
    const TRIGRAM_TABLE: bool = true;
    const SUBSTRING_KEYS: bool = false;
    const ID_BUCKETS: bool = false;
    const PLAN_EACH_PATTERN: bool = false;
}
impl SubstringSearch for sqlx::Postgres {
    const TRIGRAM_TABLE: bool = false;
    const SUBSTRING_KEYS: bool = true;
    const ID_BUCKETS: bool = true;
    const PLAN_EACH_PATTERN: bool = true;
}

/// The shortest query the trigram table can answer.
pub(crate) const TRIGRAM: usize = 3;

/// How many buckets a search page reads one by one before it asks the index for the
/// remaining matches at once (a rare word has few matches, and many empty buckets), in
/// the function `search_page` (migration 0016).
///
/// A bucket holds the contacts whose ids share `id >> 14` (16,384 ids), a literal in the
/// SQL of migrations 0013, 0014 and 0016 so that it matches the index expression.
/// Buckets of 4,096 ids recheck fewer matches of a common word per bucket (0.27 ms
/// instead of 0.69 for "martinez" at a million contacts), but four of them cover only
/// 16,384 ids: where a common word's contacts were added in runs with gaps wider than
/// that, the page fell back to sorting every match (80 ms).
pub(crate) const SEARCH_BUCKETS_NEAR: i64 = 4;

/// The schema of each backend. A migration that has been applied anywhere is never
/// edited (sqlx refuses to start on a database that applied other text): the
/// repository tests pin every migration's checksum.
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A search bucket holds the ids that share `id >> SEARCH_BUCKET_BITS`, written as a
/// literal in the SQL of PostgreSQL's migrations 0013, 0014 and 0016.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const SEARCH_BUCKET_BITS: u32 = 14;

/// `contacts_search` rowids are `account_id * SEARCH_KEY_SPAN + contact id`, so a search
/// stays inside its account's rowid range (2^40 contact ids, 2^23 accounts).
pub(crate) const SEARCH_KEY_SPAN: i64 = 1 << 40;

/// The FTS5 phrase that matches `q` as a substring (trigram tokens at consecutive
/// positions), when the backend's trigram table can answer it.
pub(crate) fn trigram_phrase<DB: SubstringSearch>(q: &str) -> Option<String> {
    (DB::TRIGRAM_TABLE && q.chars().count() >= TRIGRAM).then(|| format!("\"{}\"", q.replace('"', "\"\"")))
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing
/// with "database is locked" when both try to upgrade a read lock.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}
impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}
impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

/// PostgreSQL aborts one of two transactions that wait on each other (deadlock) or that
/// cannot both commit (serialization): the aborted one is safe to run again.
pub(crate) fn is_transient(e: &RepoError) -> bool {
    match e {
        RepoError::Database(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

/// Runs a whole transaction again when the database aborted it as a deadlock victim.
pub(crate) async fn retry_transient<T, F, Fut>(attempt: F) -> RepoResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = RepoResult<T>>,
{
    retry_if(is_transient, attempt).await
}

/// Runs a whole transaction again, a few times, while it fails with an error `again`
/// says is worth another try.
pub(crate) async fn retry_if<T, F, Fut>(again: impl Fn(&RepoError) -> bool, mut attempt: F) -> RepoResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = RepoResult<T>>,
{
    let mut tries = 0u64;
    loop {
        match attempt().await {
            Err(e) if again(&e) && tries < 5 => {
                tries += 1;
                tracing::warn!(error = %e, tries, "transaction aborted by the database; running it again");
                tokio::time::sleep(Duration::from_millis(10 * tries)).await;
            }
            other => return other,
        }
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Escapes `%`, `_` and `\` so a search for "50%" finds "50%" (used with `escape '\'`).
pub(crate) fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

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

    /// After personal data is erased on SQLite (R10): the search index still holds the
    /// trigrams of deleted contacts behind its delete markers until its segments are
    /// merged, so merge them now (nothing to do when it is one segment already); then
    /// fold the write-ahead log, which keeps old page images until a
    /// checkpoint, into the file and truncate it. `secure_delete` zeroes the freed pages.
    pub(crate) async fn scrub_deleted_data(&self) -> RepoResult<()> {
        if let Db::Sqlite(pool) = &self.db {
            // merged down to one segment, the search index keeps no deleted entries; in
            // short steps, not one `optimize` that would hold the write lock for seconds
            self.tidy_search_index(1, u32::MAX).await?;
            sqlx::query("pragma wal_checkpoint(truncate)").execute(pool).await?;
        }
        Ok(())
    }

    /// SQLite: when the search index has more than `over_segments` segments, merges
    /// them a step at a time, each step its own short write transaction, until it is one
    /// segment again or `max_steps` ran. Every write to `contacts_search` adds a segment
    /// that automatic merging only partly folds back; a search reads every segment of
    /// each of its trigrams, so a fragmented index makes each search slower (about a
    /// third at a million contacts with ten segments). A full merge rewrites the whole
    /// index (seconds at a million contacts), hence the threshold. Returns the steps
    /// taken.
    ///
    /// PostgreSQL: moves the entries queued in the search indexes' pending lists (at
    /// most 64 kB each, migration 0015) into their trees, since every search reads those
    /// lists through; one step, whatever the arguments.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tidy_search_index(&self, over_segments: i64, max_steps: u32) -> RepoResult<u32> {
        let pool = match &self.db {
            Db::Sqlite(pool) => pool,
            Db::Postgres(pool) => {
                let pages: i64 = sqlx::query_scalar(
                    "select gin_clean_pending_list('contacts_search'::regclass) + gin_clean_pending_list('contacts_search_by_bucket'::regclass)",
                )
                .fetch_one(pool)
                .await?;
                return Ok(u32::from(pages > 0));
            }
        };
        let segments: i64 = sqlx::query_scalar("select count(distinct segid) from contacts_search_idx").fetch_one(pool).await?;
        if segments <= over_segments {
            return Ok(0);
        }
        let mut steps = 0;
        while steps < max_steps {
            let mut tx = pool.begin_write().await?;
            let before: i64 = sqlx::query_scalar("select total_changes()").fetch_one(&mut *tx).await?;
            // a negative budget merges segments across levels: the `optimize` of FTS5, in
            // slices of about 500 pages
            sqlx::query("insert into contacts_search (contacts_search, rank) values ('merge', -500)").execute(&mut *tx).await?;
            let after: i64 = sqlx::query_scalar("select total_changes()").fetch_one(&mut *tx).await?;
            tx.commit().await?;
            steps += 1;
            if after - before < 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(steps)
    }

    /// PostgreSQL: refreshes the planner's statistics of `contacts`. A large deletion
    /// changes what fraction of contacts is live faster than autovacuum re-samples it
    /// (if it runs at all), and plans made from the old figures expect almost every
    /// contact to be live (the list's own query names its index so as not to depend on
    /// them; other reads of `contacts` do). Sampling takes a fraction of a second at a
    /// million contacts. SQLite's plans do not depend on it: nothing to do.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refresh_contact_statistics(&self) -> RepoResult<()> {
        if let Db::Postgres(pool) = &self.db {
            sqlx::query("analyze contacts").execute(pool).await?;
        }
        Ok(())
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

    #[test]
    fn a_query_of_three_characters_or_more_is_one_quoted_phrase() {
        assert_eq!(trigram_phrase::<sqlx::Sqlite>("mar"), Some("\"mar\"".to_string()));
        assert_eq!(trigram_phrase::<sqlx::Sqlite>("o\"b AND c*"), Some("\"o\"\"b AND c*\"".to_string()));
        // characters, not bytes: "ñé" is two characters and scans with `like`
        assert_eq!(trigram_phrase::<sqlx::Sqlite>("ñé"), None);
        assert_eq!(trigram_phrase::<sqlx::Sqlite>("ab"), None);
        assert_eq!(trigram_phrase::<sqlx::Postgres>("martinez"), None);
    }

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
