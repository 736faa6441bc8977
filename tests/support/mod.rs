//! Shared test support: a fresh database per test on SQLite and on PostgreSQL, a
//! repository on a clock the test moves, an account with an admin and a regular user,
//! and contacts with one row of every associated kind.
//!
//! A test binary or benchmark includes it at its crate root, named `support` (the
//! macros refer to `crate::support`): `#[path = "../support/mod.rs"] mod support;` from
//! `tests/<name>/main.rs`, and writes one test for both backends with
//! `crate::both_backends!`. [`app`] starts the server in-process and signs in over
//! HTTP; [`child`] runs the binary itself.

#![allow(dead_code)]

pub mod app;
pub mod child;
pub mod hooks;

use chrono::{DateTime, Duration, TimeZone, Utc};
use contacts_admin::clock::ManualClock;
use contacts_admin::domain::{AccountId, Actor, ContactId, DeleteConfirmation, Email, NewContact, Role, Selection, TagAuthority, TagName, UserId};
use contacts_admin::repo::{Backend, DeletionReport, Repo};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqlitePoolOptions, SqliteRow};
use sqlx::{ConnectOptions, Connection, PgPool, SqlitePool};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// The PostgreSQL server the tests create their databases on (any database of it is
/// fine: it is only used to create and drop the test databases).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `CONTACTS_ADMIN_REQUIRE_POSTGRES=1` turns an unreachable PostgreSQL into a failure.
pub const REQUIRE_POSTGRES_ENV: &str = "CONTACTS_ADMIN_REQUIRE_POSTGRES";

/// Runs one async test body on both backends:
///
/// ```ignore
/// both_backends!(async fn r4_deleting_twice_is_a_noop(db: TestDb) { ... });
/// ```
///
/// expands to `mod r4_deleting_twice_is_a_noop { #[tokio::test] async fn sqlite() … async fn postgres() … }`.
/// On PostgreSQL the test is skipped loudly (or fails, see [`REQUIRE_POSTGRES_ENV`])
/// when the server cannot be reached.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($db:ident : TestDb) $body:block) => {
        $crate::backend_tests!($(#[$meta])* $name($db) $body, sqlite postgres);
    };
}

/// Like [`both_backends!`], for a test that only makes sense on SQLite.
#[macro_export]
macro_rules! sqlite_only {
    ($(#[$meta:meta])* async fn $name:ident($db:ident : TestDb) $body:block) => {
        $crate::backend_tests!($(#[$meta])* $name($db) $body, sqlite);
    };
}

/// The module of [`both_backends!`] and [`sqlite_only!`]: the body once, and one test
/// per backend named.
#[macro_export]
macro_rules! backend_tests {
    ($(#[$meta:meta])* $name:ident($db:ident) $body:block, $($backend:ident)+) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: $crate::support::TestDb) $body

            $($crate::backend_test!($backend);)+
        }
    };
}

/// One test of [`backend_tests!`]: `body` on a fresh database of the backend.
#[macro_export]
macro_rules! backend_test {
    (sqlite) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            body($crate::support::TestDb::sqlite().await).await;
        }
    };
    (postgres) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let Some(db) = $crate::support::TestDb::postgres(concat!(module_path!(), "::postgres")).await else {
                return;
            };
            body(db).await;
        }
    };
}

/// A fresh, empty database, removed when dropped.
pub struct TestDb {
    pub backend: Backend,
    /// The `DATABASE_URL` of this database.
    pub url: String,
    /// SQLite: the folder holding `test.db` (and its `-wal`/`-shm` files).
    dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the server URL used to create and drop `name`.
    admin_url: Option<String>,
    name: Option<String>,
}

impl TestDb {
    /// A SQLite file in a fresh temporary folder.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::Builder::new().prefix("contacts-admin-test-").tempdir().expect("create a temporary folder");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        TestDb { backend: Backend::Sqlite, url, dir: Some(dir), admin_url: None, name: None }
    }

    /// A new database `ca_test_<uuid>` on the PostgreSQL server of `TEST_POSTGRES_URL`.
    /// `None` when the server is unreachable and PostgreSQL is not required (the test
    /// then reports itself skipped on stderr).
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let mut admin = match connect_admin(&admin_url).await {
            Ok(c) => c,
            Err(e) => {
                let required = std::env::var(REQUIRE_POSTGRES_ENV).map(|v| v == "1").unwrap_or(false);
                if required {
                    panic!(
                        "{test}: PostgreSQL is required ({REQUIRE_POSTGRES_ENV}=1) but unreachable at {}: {e}",
                        redact(&admin_url)
                    );
                }
                // Written to the process's stderr, not through eprintln!, which the
                // test harness captures and hides for a test that returns normally.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIPPED {test} on PostgreSQL: server unreachable at {} ({e}); set {REQUIRE_POSTGRES_ENV}=1 to make this a failure",
                    redact(&admin_url)
                );
                return None;
            }
        };
        let name = format!("ca_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let _ = admin.close().await;
        let url = database_url(&admin_url, &name);
        Some(TestDb { backend: Backend::Postgres, url, dir: None, admin_url: Some(admin_url), name: Some(name) })
    }

    /// SQLite: the database file.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("test.db"))
    }

    /// A repository on this database (migrated) reading the time from `clock`.
    pub async fn repo(&self, clock: &ManualClock) -> Repo {
        Repo::connect(&self.url, Arc::new(clock.clone())).await.expect("connect the repository")
    }

    /// A second, independent connection pool on the same database, for tests to arrange
    /// rows the repository has no API for and to check what it left behind. Open it
    /// after [`TestDb::repo`] (which creates the schema).
    pub async fn raw(&self) -> Raw {
        Raw::open(&self.url, 2).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(admin_url), Some(name)) = (self.admin_url.take(), self.name.take()) else {
            return; // SQLite: the TempDir removes itself
        };
        // Drop runs inside #[tokio::test]'s runtime, which cannot be blocked on: drop
        // the database from a thread with a runtime of its own.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                match connect_admin(&admin_url).await {
                    Ok(mut admin) => {
                        if let Err(e) = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut admin).await {
                            eprintln!("could not drop the test database {name}: {e}");
                        }
                        let _ = admin.close().await;
                    }
                    Err(e) => eprintln!("could not drop the test database {name}: {e}"),
                }
            });
        });
        let _ = handle.join();
    }
}

async fn connect_admin(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?;
    tokio::time::timeout(std::time::Duration::from_secs(10), sqlx::PgConnection::connect_with(&opts))
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
}

/// `url` with its database name replaced by `name`.
pub fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn redact(url: &str) -> String {
    contacts_admin::config::redact_url(url)
}

/// A value bound to a raw query.
#[derive(Debug, Clone)]
pub enum V {
    I(i64),
    /// A nullable integer.
    N(Option<i64>),
    S(String),
    B(Vec<u8>),
}

impl From<i64> for V {
    fn from(v: i64) -> Self {
        V::I(v)
    }
}
impl From<Option<i64>> for V {
    fn from(v: Option<i64>) -> Self {
        V::N(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> Self {
        V::S(v.to_string())
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V::S(v)
    }
}
impl From<ContactId> for V {
    fn from(v: ContactId) -> Self {
        V::I(v.0)
    }
}
impl From<AccountId> for V {
    fn from(v: AccountId) -> Self {
        V::I(v.0)
    }
}
impl From<UserId> for V {
    fn from(v: UserId) -> Self {
        V::I(v.0)
    }
}

/// Binds `$1, $2, …` of a raw query: `args![a, b]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::support::V::from($v)),*][..] };
}

/// A plain connection pool on a database (SQL shared by both backends, `$n`
/// placeholders, times in epoch milliseconds).
#[derive(Clone)]
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the pool of a [`Raw`], whichever its backend: the
/// body is compiled once per driver from one source.
#[macro_export]
macro_rules! on_raw {
    ($raw:expr, |$p:ident| $body:expr) => {
        match $raw {
            $crate::support::Raw::Sqlite($p) => $body,
            $crate::support::Raw::Postgres($p) => $body,
        }
    };
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                V::I(v) => q.bind(*v),
                V::N(v) => q.bind(*v),
                V::S(v) => q.bind(v.clone()),
                V::B(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

impl Raw {
    /// A pool of at most `max` connections on `url`, with the server's own SQLite
    /// settings (WAL, foreign keys, `secure_delete`, the same cache), so that SQL run
    /// here pays what the application pays.
    pub async fn open(url: &str, max: u32) -> Raw {
        let raw = match Backend::of_url(url) {
            Backend::Sqlite => {
                let opts = contacts_admin::repo::sqlite_options(url).expect("a SQLite url").disable_statement_logging();
                SqlitePoolOptions::new().max_connections(max).connect_with(opts).await.map(Raw::Sqlite)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url).expect("a PostgreSQL url").disable_statement_logging();
                PgPoolOptions::new().max_connections(max).connect_with(opts).await.map(Raw::Postgres)
            }
        };
        raw.unwrap_or_else(|e| panic!("connect to {}: {e}", redact(url)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Raw::Sqlite(_) => Backend::Sqlite,
            Raw::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement; returns the rows it affected.
    pub async fn exec(&self, sql: &str, args: &[V]) -> u64 {
        on_raw!(self, |p| bind_all!(sqlx::query(sql), args).execute(p).await.map(|r| r.rows_affected()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// An `insert … returning id`.
    pub async fn insert(&self, sql: &str, args: &[V]) -> i64 {
        self.one::<(i64,)>(sql, args).await.0
    }

    /// A single integer (a count, an id).
    pub async fn i64(&self, sql: &str, args: &[V]) -> i64 {
        self.one::<(i64,)>(sql, args).await.0
    }

    /// A single integer that may be null (a `max`), or no row at all.
    pub async fn opt_i64(&self, sql: &str, args: &[V]) -> Option<i64> {
        self.optional::<(Option<i64>,)>(sql, args).await.and_then(|r| r.0)
    }

    /// `select count(*) from {table} where {cond}`.
    pub async fn count(&self, table: &str, cond: &str, args: &[V]) -> i64 {
        self.i64(&format!("select count(*) from {table} where {cond}"), args).await
    }

    /// The first column of every row, as integers.
    pub async fn ids(&self, sql: &str, args: &[V]) -> Vec<i64> {
        self.all::<(i64,)>(sql, args).await.into_iter().map(|r| r.0).collect()
    }

    pub async fn one<T>(&self, sql: &str, args: &[V]) -> T
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        self.optional(sql, args).await.unwrap_or_else(|| panic!("{sql}: no row"))
    }

    pub async fn optional<T>(&self, sql: &str, args: &[V]) -> Option<T>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        self.try_optional(sql, args).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// [`Raw::optional`], with the database's error instead of a panic.
    pub async fn try_optional<T>(&self, sql: &str, args: &[V]) -> Result<Option<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        on_raw!(self, |p| bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(p).await)
    }

    pub async fn all<T>(&self, sql: &str, args: &[V]) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        on_raw!(self, |p| bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(p).await).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn close(&self) {
        on_raw!(self, |p| p.close().await)
    }
}

/// "sqlite" or "postgres", for what a test or benchmark prints.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The moment every test starts at.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
}

pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// One argon2 hash for every test user: hashing is deliberately slow.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| contacts_admin::password::hash(TEST_PASSWORD).expect("hash the test password"))
}

pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// An account with an admin and a regular user.
#[derive(Debug, Clone)]
pub struct TestAccount {
    pub id: AccountId,
    pub name: String,
    pub admin: UserId,
    pub admin_email: String,
    pub user: UserId,
    pub user_email: String,
}

impl TestAccount {
    /// The account's admin tagging with the typed DELETE given: tags may start
    /// workflows that delete.
    pub fn admin_confirmed(&self) -> TagAuthority {
        TagAuthority::person(self.admin, Role::Admin, DeleteConfirmation::parse("DELETE").ok())
    }

    /// The account's regular user tagging.
    pub fn user_tagging(&self) -> TagAuthority {
        TagAuthority::person(self.user, Role::User, None)
    }
}

/// Everything one test needs: the database, a repository on a manual clock, a raw pool
/// and an account.
pub struct Fixture {
    pub db: TestDb,
    pub clock: ManualClock,
    pub repo: Repo,
    pub raw: Raw,
    pub acc: TestAccount,
}

impl Fixture {
    /// A repository at [`t0`] with account "Acme" (admin + user).
    pub async fn new(db: TestDb) -> Fixture {
        let clock = ManualClock::new(t0());
        let repo = db.repo(&clock).await;
        let raw = db.raw().await;
        let acc = create_account(&repo, "Acme").await;
        Fixture { db, clock, repo, raw, acc }
    }

    /// Another handle on the same database with its own pool (another process, or the
    /// same server after a restart), reading the same clock.
    pub async fn another_repo(&self) -> Repo {
        self.db.repo(&self.clock).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        use contacts_admin::clock::Clock;
        self.clock.now()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d)
    }

    /// A contact of the fixture's account with no associated rows.
    pub async fn contact(&self, first: &str, email: Option<&str>, tags: &[&str]) -> ContactId {
        create_contact(&self.repo, self.acc.id, first, email, tags).await
    }

    /// A contact with one row of every associated kind (see [`Associated`]).
    pub async fn full_contact(&self, first: &str, email: Option<&str>, tags: &[&str]) -> Associated {
        let id = self.contact(first, email, tags).await;
        add_associated(&self.raw, &self.acc, id, self.now()).await
    }
}

/// Deletes `ids` as the fixture's admin through the UI channel.
pub async fn delete_ids(f: &Fixture, ids: &[ContactId]) -> DeletionReport {
    let sel = Selection::ids(ids.to_vec()).expect("a valid selection");
    let confirm = DeleteConfirmation::parse("DELETE").expect("DELETE confirms");
    f.repo.delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel, None, confirm).await.expect("delete contacts")
}

/// Whether the contact row exists at all (deleted or not).
pub async fn exists(raw: &Raw, id: ContactId) -> bool {
    raw.count("contacts", "id = $1", args![id]).await == 1
}

/// `deleted_at` of the contact row, `None` when live. Panics when the row is gone.
pub async fn deleted_at(raw: &Raw, id: ContactId) -> Option<i64> {
    let row: Option<(Option<i64>,)> = raw.optional("select deleted_at from contacts where id = $1", args![id]).await;
    row.unwrap_or_else(|| panic!("contact {id} has no row")).0
}

/// Whether the contact exists and is soft-deleted.
pub async fn is_deleted(raw: &Raw, id: ContactId) -> bool {
    deleted_at(raw, id).await.is_some()
}

/// Whether the contact exists and is live.
pub async fn is_live(raw: &Raw, id: ContactId) -> bool {
    let row: Option<(Option<i64>,)> = raw.optional("select deleted_at from contacts where id = $1", args![id]).await;
    matches!(row, Some((None,)))
}

/// `deletion_batch_id` of the contact row.
pub async fn batch_of(raw: &Raw, id: ContactId) -> Option<i64> {
    let row: (Option<i64>,) = raw.one("select deletion_batch_id from contacts where id = $1", args![id]).await;
    row.0
}

/// Live contacts of the account, counted in the database.
pub async fn live_count(raw: &Raw, account: AccountId) -> i64 {
    raw.count("contacts", "account_id = $1 and deleted_at is null", args![account]).await
}

/// Creates account `name` with `admin@<name>.test` (admin) and `user@<name>.test` (user).
pub async fn create_account(repo: &Repo, name: &str) -> TestAccount {
    let id = repo.ensure_account(name).await.expect("create the account");
    let slug = name.to_lowercase().replace(' ', "-");
    let admin_email = format!("admin@{slug}.test");
    let user_email = format!("user@{slug}.test");
    let admin = repo
        .upsert_user(id, &Email::parse(&admin_email).unwrap(), &format!("{name} Admin"), Role::Admin, password_hash())
        .await
        .expect("create the admin");
    let user = repo
        .upsert_user(id, &Email::parse(&user_email).unwrap(), &format!("{name} User"), Role::User, password_hash())
        .await
        .expect("create the user");
    TestAccount { id, name: name.to_string(), admin, admin_email, user, user_email }
}

pub async fn create_contact(repo: &Repo, account: AccountId, first: &str, email: Option<&str>, tags: &[&str]) -> ContactId {
    let mut c = NewContact::parse(first, "Tester", email.unwrap_or(""), "+1 555 0100", "Testing Ltd").expect("valid contact");
    c.tags = tags.iter().map(|t| TagName::parse(t).unwrap()).collect();
    // test set-up: tags may start any workflow, as if an admin confirmed
    repo.create_contact(account, &c, TagAuthority::chained(None, true)).await.expect("create the contact")
}

/// The ids of the associated rows [`add_associated`] created for one contact.
#[derive(Debug, Clone, Copy)]
pub struct Associated {
    pub contact: ContactId,
    pub conversation: i64,
    pub message: i64,
    pub note: i64,
    pub task: i64,
    /// Scheduled three days after the clock's time (an upcoming appointment).
    pub appointment: i64,
    /// Status `open`.
    pub opportunity: i64,
    pub manual_action: i64,
    /// Logged by the account's regular user a day before the clock's time.
    pub activity: i64,
    pub file: i64,
    pub group: i64,
    pub campaign: i64,
    pub active_enrollment: i64,
    pub finished_enrollment: i64,
    pub list: i64,
}

/// The tables R2 empties of a deleted contact's rows, each with a `contact_id` column.
pub use contacts_admin::repo::deletion::REMOVED_WITH_CONTACT;

/// Inserts one row of every associated kind for `contact`: a conversation with a
/// message, a note, a task, an upcoming appointment, an open opportunity, a manual
/// action, an activity by the regular user, a file, an owned community group, an active
/// and a finished campaign enrollment, and a list membership.
pub async fn add_associated(raw: &Raw, acc: &TestAccount, contact: ContactId, now: DateTime<Utc>) -> Associated {
    let (a, c, n) = (acc.id.0, contact.0, ms(now));
    let day = 86_400_000i64;
    let conversation = raw
        .insert(
            "insert into conversations (account_id, contact_id, channel, subject, created_at) values ($1, $2, 'email', 'Viewing request', $3) returning id",
            args![a, c, n],
        )
        .await;
    let message = raw
        .insert(
            "insert into messages (account_id, conversation_id, contact_id, direction, body, created_at)
             values ($1, $2, $3, 'inbound', 'Is the offer still available?', $4) returning id",
            args![a, conversation, c, n],
        )
        .await;
    let note = raw
        .insert(
            "insert into notes (account_id, contact_id, user_id, body, created_at) values ($1, $2, $3, 'Prefers email', $4) returning id",
            args![a, c, acc.admin, n],
        )
        .await;
    let task = raw
        .insert(
            "insert into tasks (account_id, contact_id, user_id, title, due_at, status, created_at)
             values ($1, $2, $3, 'Call back', $4, 'open', $5) returning id",
            args![a, c, acc.admin, n + 2 * day, n],
        )
        .await;
    let appointment = raw
        .insert(
            "insert into appointments (account_id, contact_id, user_id, title, starts_at, status, created_at)
             values ($1, $2, $3, 'Property viewing', $4, 'scheduled', $5) returning id",
            args![a, c, acc.admin, n + 3 * day, n],
        )
        .await;
    let opportunity = raw
        .insert(
            "insert into opportunities (account_id, contact_id, name, value_cents, status, created_at)
             values ($1, $2, 'Deal', 150000, 'open', $3) returning id",
            args![a, c, n],
        )
        .await;
    let manual_action = raw
        .insert(
            "insert into manual_actions (account_id, contact_id, user_id, kind, description, status, created_at)
             values ($1, $2, $3, 'call', 'Reach out', 'pending', $4) returning id",
            args![a, c, acc.admin, n],
        )
        .await;
    let activity = raw
        .insert(
            "insert into activities (account_id, contact_id, user_id, kind, summary, created_at)
             values ($1, $2, $3, 'call_logged', 'Logged a call', $4) returning id",
            args![a, c, acc.user, n - day],
        )
        .await;
    let file = raw
        .insert(
            "insert into files (account_id, contact_id, user_id, name, content_type, size_bytes, content, created_at)
             values ($1, $2, $3, 'agreement.txt', 'text/plain', 6, $4, $5) returning id",
            &[V::I(a), V::I(c), V::I(acc.admin.0), V::B(b"signed".to_vec()), V::I(n)],
        )
        .await;
    let group = raw
        .insert(
            "insert into community_groups (account_id, name, owner_contact_id, created_at) values ($1, $2, $3, $4) returning id",
            args![a, format!("Group of {c}"), c, n],
        )
        .await;
    let campaign = raw
        .insert(
            "insert into campaigns (account_id, name, created_at) values ($1, $2, $3) returning id",
            args![a, format!("Campaign for {c}"), n],
        )
        .await;
    let active_enrollment = raw
        .insert(
            "insert into enrollments (account_id, contact_id, campaign_id, status, created_at) values ($1, $2, $3, 'active', $4) returning id",
            args![a, c, campaign, n],
        )
        .await;
    let finished_enrollment = raw
        .insert(
            "insert into enrollments (account_id, contact_id, campaign_id, status, created_at) values ($1, $2, $3, 'finished', $4) returning id",
            args![a, c, campaign, n - day],
        )
        .await;
    let list = raw
        .insert(
            "insert into lists (account_id, name, created_at) values ($1, $2, $3) returning id",
            args![a, format!("List for {c}"), n],
        )
        .await;
    raw.exec(
        "insert into list_members (list_id, contact_id, account_id, added_at) values ($1, $2, $3, $4)",
        args![list, c, a, n],
    )
    .await;
    Associated {
        contact,
        conversation,
        message,
        note,
        task,
        appointment,
        opportunity,
        manual_action,
        activity,
        file,
        group,
        campaign,
        active_enrollment,
        finished_enrollment,
        list,
    }
}

/// How many rows of each kind in [`REMOVED_WITH_CONTACT`] belong to `contact`.
pub async fn associated_counts(raw: &Raw, contact: ContactId) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in REMOVED_WITH_CONTACT {
        out.push((table, raw.count(table, "contact_id = $1", args![contact]).await));
    }
    out
}

/// Asserts that `contact` has exactly `expected` rows of every kind R2 removes.
pub async fn assert_associated(raw: &Raw, contact: ContactId, expected: i64) {
    for (table, n) in associated_counts(raw, contact).await {
        assert_eq!(n, expected, "rows of {table} for contact {contact}");
    }
}

/// A trigger that makes the database refuse to restore `contact`: a real failure in the
/// middle of a restore, raised by the database inside the chunk's transaction.
pub async fn refuse_restoring(raw: &Raw, backend: Backend, contact: ContactId) {
    match backend {
        Backend::Sqlite => {
            raw.exec(
                &format!(
                    "create trigger refuse_restore before update of deleted_at on contacts
                     when old.id = {contact} and new.deleted_at is null
                     begin select raise(abort, 'this contact may not come back'); end"
                ),
                &[],
            )
            .await;
        }
        Backend::Postgres => {
            raw.exec(
                "create function refuse_restore() returns trigger language plpgsql as
                 $$ begin raise exception 'this contact may not come back'; end $$",
                &[],
            )
            .await;
            raw.exec(
                &format!(
                    "create trigger refuse_restore before update on contacts for each row
                     when (old.id = {contact} and new.deleted_at is null) execute function refuse_restore()"
                ),
                &[],
            )
            .await;
        }
    }
}

/// HTML character references (named `&amp;`-style ones and numeric `&#38;`/`&#x26;`)
/// back to text.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let decoded = tail.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &tail[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
