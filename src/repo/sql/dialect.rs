//! The one place where SQLite and PostgreSQL differ. Both schemas store times as epoch
//! milliseconds and take `$n` placeholders, so almost every statement is one string
//! shared by both; [`on_db!`] compiles a body once per backend, and whatever differs is
//! named through the [`Dialect`] that body's `DB` implements: a SQL fragment
//! (`DB::FOR_UPDATE`), how a write transaction begins (`DB::begin_write`), how a value
//! is bound in a shared builder ([`Binds`]), and which search engine answers.

use crate::domain::{AccountId, ContactFilter};
use crate::repo::search::{self, PageAsk};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgPool, Pool, Postgres, QueryBuilder, Sqlite, SqlitePool, Transaction};
use std::future::Future;

/// The pool of the backend a repository runs on.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the repository's pool and `$DB` to its
/// `sqlx::Database` type, which implements [`Dialect`]: the body is compiled once per
/// backend from one source, and names what differs as `DB::…`.
macro_rules! on_db {
    ($repo:expr, |$pool:ident, $DB:ident| $body:expr) => {
        match &$repo.db {
            $crate::repo::sql::Db::Sqlite($pool) => {
                #[allow(dead_code)]
                type $DB = sqlx::Sqlite;
                $body
            }
            $crate::repo::sql::Db::Postgres($pool) => {
                #[allow(dead_code)]
                type $DB = sqlx::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_db;

/// What differs between the two SQL dialects.
pub(crate) trait Dialect: sqlx::Database {
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
    /// Whether a statement that orders search matches and stops at a limit must be
    /// planned for its pattern each time rather than kept prepared. PostgreSQL plans a
    /// prepared statement once for any parameters after five runs, when that plan looks
    /// no dearer: for such a statement it walks the list backwards testing every row,
    /// which suits a common word and takes half a second for a rare one at a million.
    const PLAN_EACH_PATTERN: bool;
    /// Refreshes the planner's statistics of `contacts` after a large deletion, or
    /// nothing where plans do not depend on them.
    const REFRESH_CONTACT_STATISTICS: Option<&'static str>;
    /// Run once after a bulk load, so that the planner knows the new tables' sizes.
    const AFTER_BULK_LOAD: &'static str;
    /// One writer at a time for the whole database (SQLite), rather than row locks.
    const ONE_WRITER: bool;
    /// Whether a deletion chunk settles the counters of the contacts it marks and what
    /// R2 removes itself, once per kind, and flags its contacts' tags with one
    /// statement: SQLite does this work with per-row triggers, which the chunk pauses
    /// for its own statements (`count_pause`, seen by no other writer). PostgreSQL's
    /// triggers run once per statement already.
    const CHUNK_SETTLES_COUNTS: bool;

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing
    /// with "database is locked" when both try to upgrade a read lock.
    fn begin_write(pool: &Pool<Self>) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;
    /// [`Dialect::begin_write`] on a connection the caller holds.
    fn begin_write_on(conn: &mut PoolConnection<Self>) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send;
    /// The page cache a connection gets for a bulk write (a deletion chunk), as
    /// `cache_size` counts it, where the engine's cache is per connection (SQLite: 64
    /// MiB rather than its usual 8, given back when the chunk ends). Marking thousands
    /// of contacts deleted changes entries all over the indexes in name, email and
    /// search order; with the usual cache those pages are written out and read back
    /// again within one transaction.
    const BULK_CACHE: Option<i64>;

    /// Binds values in a builder shared by both backends (see [`Binds`]).
    fn bind_int(qb: &mut QueryBuilder<'_, Self>, value: i64);
    fn bind_opt_int(qb: &mut QueryBuilder<'_, Self>, value: Option<i64>);
    fn bind_text(qb: &mut QueryBuilder<'_, Self>, value: String);

    /// The search engine: appends the test that `c`'s search text contains `q`.
    fn push_contains(qb: &mut QueryBuilder<'_, Self>, account: AccountId, q: &str);
    /// Appends one page of a search read from the engine's own index in id order, when
    /// it can answer the page's filter so; false, with nothing written, when not.
    fn push_search_page(qb: &mut QueryBuilder<'_, Self>, page: &PageAsk<'_>) -> bool;
    /// Appends what follows `select count(*) from ` to count a search's matches from the
    /// engine's index alone, when it can; false, with nothing written, when not.
    fn push_search_count(qb: &mut QueryBuilder<'_, Self>, account: AccountId, filter: &ContactFilter) -> bool;
    /// Keeps the search index quick after many writes; returns the steps taken.
    fn tidy_search_index(pool: &Pool<Self>, over_segments: i64, max_steps: u32) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;
    /// After personal data is erased (R10): removes what the search index and the log
    /// still hold of it.
    fn scrub_deleted_data(pool: &Pool<Self>) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// The binds of a backend: the same source for each, compiled against its own encoders.
macro_rules! binds {
    () => {
        fn bind_int(qb: &mut QueryBuilder<'_, Self>, value: i64) {
            qb.push_bind(value);
        }
        fn bind_opt_int(qb: &mut QueryBuilder<'_, Self>, value: Option<i64>) {
            qb.push_bind(value);
        }
        fn bind_text(qb: &mut QueryBuilder<'_, Self>, value: String) {
            qb.push_bind(value);
        }
    };
}

impl Dialect for Sqlite {
    // SQLite has one writer at a time (`BEGIN IMMEDIATE`): claiming is implicit.
    const SKIP_LOCKED: &'static str = "";
    const FOR_UPDATE: &'static str = "";
    const WALK_DELETED_BY_NAME: &'static str = " indexed by contacts_deleted_name";
    const EACH_TAGGED_CONTACT: &'static str = "contact_tags t cross join contacts c";
    const PLAN_EACH_PATTERN: bool = false;
    const REFRESH_CONTACT_STATISTICS: Option<&'static str> = None;
    const AFTER_BULK_LOAD: &'static str = "pragma optimize";
    const ONE_WRITER: bool = true;
    const CHUNK_SETTLES_COUNTS: bool = true;

    const BULK_CACHE: Option<i64> = Some(-65536);

    fn begin_write(pool: &SqlitePool) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        pool.begin_with("BEGIN IMMEDIATE")
    }
    fn begin_write_on(conn: &mut PoolConnection<Sqlite>) -> impl Future<Output = Result<Transaction<'_, Sqlite>, sqlx::Error>> + Send {
        conn.begin_with("BEGIN IMMEDIATE")
    }
    binds!();
    fn push_contains(qb: &mut QueryBuilder<'_, Sqlite>, account: AccountId, q: &str) {
        search::sqlite::push_contains(qb, account, q)
    }
    fn push_search_page(qb: &mut QueryBuilder<'_, Sqlite>, page: &PageAsk<'_>) -> bool {
        search::sqlite::push_page(qb, page)
    }
    fn push_search_count(qb: &mut QueryBuilder<'_, Sqlite>, account: AccountId, filter: &ContactFilter) -> bool {
        search::sqlite::push_count(qb, account, filter)
    }
    async fn tidy_search_index(pool: &SqlitePool, over_segments: i64, max_steps: u32) -> Result<u32, sqlx::Error> {
        search::sqlite::tidy_index(pool, over_segments, max_steps).await
    }
    async fn scrub_deleted_data(pool: &SqlitePool) -> Result<(), sqlx::Error> {
        search::sqlite::scrub(pool).await
    }
}

impl Dialect for Postgres {
    const SKIP_LOCKED: &'static str = " for update skip locked";
    const FOR_UPDATE: &'static str = " for update";
    const WALK_DELETED_BY_NAME: &'static str = "";
    // `offset 0` keeps the subquery whole: a look-up by primary key per tag entry
    const EACH_TAGGED_CONTACT: &'static str =
        "contact_tags t cross join lateral (select * from contacts x where x.id = t.contact_id offset 0) c";
    const PLAN_EACH_PATTERN: bool = true;
    // A large deletion changes what fraction of contacts is live faster than autovacuum
    // re-samples it (if it runs at all), and plans made from the old figures expect
    // almost every contact to be live. Sampling takes a fraction of a second at a million.
    const REFRESH_CONTACT_STATISTICS: Option<&'static str> = Some("analyze contacts");
    const AFTER_BULK_LOAD: &'static str = "analyze";
    const ONE_WRITER: bool = false;
    const CHUNK_SETTLES_COUNTS: bool = false;

    // the server's shared buffers serve every connection
    const BULK_CACHE: Option<i64> = None;

    fn begin_write(pool: &PgPool) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        pool.begin()
    }
    fn begin_write_on(conn: &mut PoolConnection<Postgres>) -> impl Future<Output = Result<Transaction<'_, Postgres>, sqlx::Error>> + Send {
        conn.begin()
    }
    binds!();
    fn push_contains(qb: &mut QueryBuilder<'_, Postgres>, _account: AccountId, q: &str) {
        search::postgres::push_contains(qb, q)
    }
    fn push_search_page(qb: &mut QueryBuilder<'_, Postgres>, page: &PageAsk<'_>) -> bool {
        search::postgres::push_page(qb, page)
    }
    fn push_search_count(_qb: &mut QueryBuilder<'_, Postgres>, _account: AccountId, _filter: &ContactFilter) -> bool {
        // the general count, narrowed by `push_contains`, reads the same index
        false
    }
    async fn tidy_search_index(pool: &PgPool, _over_segments: i64, _max_steps: u32) -> Result<u32, sqlx::Error> {
        search::postgres::tidy_index(pool).await
    }
    async fn scrub_deleted_data(_pool: &PgPool) -> Result<(), sqlx::Error> {
        // nothing to do: no segments or log files of the search index to fold
        Ok(())
    }
}

/// Binding in a builder that is generic over the backend (`QueryBuilder<'_, DB>` with
/// `DB: Dialect`), where `push_bind` would need the value's encoding bounds spelled out
/// for every helper: `qb.push("c.id = ").bind_int(id)`.
pub(crate) trait Binds {
    fn bind_int(&mut self, value: i64) -> &mut Self;
    fn bind_opt_int(&mut self, value: Option<i64>) -> &mut Self;
    fn bind_text(&mut self, value: impl Into<String>) -> &mut Self;
}

impl<DB: Dialect> Binds for QueryBuilder<'_, DB> {
    fn bind_int(&mut self, value: i64) -> &mut Self {
        DB::bind_int(self, value);
        self
    }
    fn bind_opt_int(&mut self, value: Option<i64>) -> &mut Self {
        DB::bind_opt_int(self, value);
        self
    }
    fn bind_text(&mut self, value: impl Into<String>) -> &mut Self {
        DB::bind_text(self, value.into());
        self
    }
}
