//! Scale benchmark (SPEC §5, L1): a 1,000,000-contact account with ~21 associated rows
//! per contact, driven through the real server over HTTP, on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo bench --bench scale
//! BENCH_CONTACTS=20000 BENCH_BACKENDS=sqlite cargo bench --bench scale   # a quick run
//! ```
//!
//! For each backend it builds a master database once (SQLite under `target/bench/`,
//! PostgreSQL database `ca_bench_master_1m`) and reuses it while it holds the right
//! number of contacts. Every phase works on a throw-away copy of the master:
//!
//! - copy A, served by `contacts-admin serve`: the contacts page under 8 concurrent
//!   clients; the CSV export of every contact; delete-all through the product's own job
//!   path (`POST /contacts/delete select_all=true`), with the page's latency while the job
//!   runs; then, with the server stopped and the clock 61 days ahead, `contacts-admin
//!   purge` of every deleted contact;
//! - copy B: the same delete-all as hand-written set-based SQL in one transaction;
//! - copy D, served: the same delete-all through the product's job with nobody reading,
//!   the rate to compare with copy B's;
//! - copy C, served: delete 10,000 contacts by id, then restore them by batch.
//!
//! Nothing here asserts a time: the bench prints a table. The numbers are wall-clock
//! times on whatever machine runs it, noise included.
//!
//! Environment: `BENCH_CONTACTS` (1000000), `BENCH_BACKENDS` (sqlite,postgres),
//! `BENCH_POSTGRES_URL` (postgres://postgres@127.0.0.1:5432/postgres, a database used to
//! create and drop the others), `BENCH_CLIENTS` (8), `BENCH_REQUESTS` (1000 per page,
//! after `BENCH_WARMUP` (200) not counted),
//! `BENCH_PAGE_SECS` (20, time cap per page), `BENCH_LOAD_SECS` (60, how long readers
//! hammer the list while the delete-all job runs), `BENCH_RESTORE` (10000),
//! `BENCH_PHASE_TIMEOUT_SECS` (1200, after which a phase is reported as partial),
//! `BENCH_REQUEST_TIMEOUT_SECS` (300, a page request that takes longer counts as an error),
//! `BENCH_PAGES_ONLY` (1: only the contacts pages, sorted ones included, for a quick
//! look after a change).
//! `BULK_THRESHOLD` and `BULK_CHUNK` pass through to the server.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::ConnectOptions;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_contacts-admin");
const ACCOUNT: &str = "Scale Bench";
const ADMIN_EMAIL: &str = "scale-admin@bench.test";
const ADMIN_PASSWORD: &str = "scale-bench-admin-password";
const SESSION_KEY: &str = "scale-bench-session-key-0123456789abcdef-0123456789abcdef-0123456789abcdef";
const DAY_SECS: i64 = 86_400;

/// The associated tables R2 removes: the product's own list.
use contacts_admin::repo::deletion::REMOVED_WITH_CONTACT;
use contacts_admin::web::page::thousands;

/// Tables that hold a contact's associated rows (what the seed writes).
const ASSOCIATED: [&str; 13] = [
    "conversations",
    "messages",
    "notes",
    "tasks",
    "appointments",
    "opportunities",
    "manual_actions",
    "activities",
    "files",
    "enrollments",
    "list_members",
    "contact_tags",
    "community_groups",
];

// ---------------------------------------------------------------------------------------
// configuration and logging

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

struct Config {
    contacts: i64,
    backends: Vec<Backend>,
    pg_admin_url: String,
    clients: usize,
    requests: usize,
    /// Requests per page sent before the measured ones, not counted.
    warmup: usize,
    page_secs: f64,
    load_secs: f64,
    restore: i64,
    phase_timeout: Duration,
    request_timeout: Duration,
    /// Only the contacts pages (a quick look after a change to the list).
    pages_only: bool,
    dir: PathBuf,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not valid")),
        _ => default,
    }
}

impl Config {
    fn from_env() -> Config {
        let contacts: i64 = env_or("BENCH_CONTACTS", 1_000_000);
        assert!(contacts >= 100, "BENCH_CONTACTS must be at least 100");
        let backends = env_or("BENCH_BACKENDS", "sqlite,postgres".to_string())
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "sqlite" => Backend::Sqlite,
                "postgres" | "postgresql" | "pg" => Backend::Postgres,
                other => panic!("unknown backend {other:?} in BENCH_BACKENDS (sqlite, postgres)"),
            })
            .collect();
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        Config {
            contacts,
            backends,
            pg_admin_url: env_or("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres".to_string()),
            clients: env_or("BENCH_CLIENTS", 8usize).max(1),
            requests: env_or("BENCH_REQUESTS", 1000usize).max(1),
            warmup: env_or("BENCH_WARMUP", 200usize),
            page_secs: env_or("BENCH_PAGE_SECS", 20.0f64),
            load_secs: env_or("BENCH_LOAD_SECS", 60.0f64),
            restore: env_or("BENCH_RESTORE", 10_000i64).min(contacts / 2).max(1),
            phase_timeout: Duration::from_secs(env_or("BENCH_PHASE_TIMEOUT_SECS", 1200u64)),
            request_timeout: Duration::from_secs(env_or("BENCH_REQUEST_TIMEOUT_SECS", 300u64)),
            pages_only: env_or("BENCH_PAGES_ONLY", 0u8) == 1,
            dir: target.join("bench"),
        }
    }

    /// `1m` for a million, else the number: names the master databases.
    fn size_tag(&self) -> String {
        if self.contacts % 1_000_000 == 0 {
            format!("{}m", self.contacts / 1_000_000)
        } else {
            self.contacts.to_string()
        }
    }
}

fn started() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Progress goes to stderr; the result table goes to stdout at the end.
macro_rules! log {
    ($($arg:tt)*) => {
        eprintln!("[{:>7.1}s] {}", started().elapsed().as_secs_f64(), format!($($arg)*))
    };
}

// ---------------------------------------------------------------------------------------
// formatting

fn rate(n: i64, secs: f64) -> String {
    if secs <= 0.0 {
        return "—".into();
    }
    thousands((n as f64 / secs).round() as i64)
}

fn mib(kb: u64) -> String {
    format!("{:.0} MiB", kb as f64 / 1024.0)
}

fn bytes_h(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

// ---------------------------------------------------------------------------------------
// /proc: memory of the processes the bench started

fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

fn hwm_kb(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:")
}

fn rss_kb(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmRSS:")
}

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs` value 5).
fn reset_hwm(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Samples a process's RSS every 50 ms until stopped; returns the largest value seen.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = 0;
            while !s.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    max = max.max(kb);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        });
        RssSampler { stop, handle }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// databases: masters, copies and a direct connection for setup and checks

#[derive(Clone)]
enum DbRef {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl DbRef {
    fn url(&self) -> String {
        match self {
            DbRef::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbRef::Postgres { admin_url, name } => pg_url_for(admin_url, name),
        }
    }

    fn label(&self) -> String {
        match self {
            DbRef::Sqlite(p) => p.display().to_string(),
            DbRef::Postgres { name, .. } => format!("database {name}"),
        }
    }
}

/// `admin_url` with its database name replaced by `name`.
fn pg_url_for(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

enum Pool {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Runs `$body` with `$p` bound to the backend's pool (compiled once per backend).
macro_rules! with_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Pg($p) => $body,
        }
    };
}

impl Pool {
    /// A connection with the server's own settings (SQLite: WAL, foreign keys,
    /// `secure_delete`, the same cache), so that SQL timed here pays what the app pays.
    async fn open(db: &DbRef, max: u32) -> Pool {
        match db {
            DbRef::Sqlite(path) => {
                let opts = contacts_admin::repo::sqlite_options(&db.url())
                    .expect("sqlite url")
                    .create_if_missing(false)
                    .disable_statement_logging();
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .connect_with(opts)
                    .await
                    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
                Pool::Sqlite(pool)
            }
            DbRef::Postgres { .. } => {
                let opts = PgConnectOptions::from_str(&db.url()).expect("postgres url").disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .connect_with(opts)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {}: {e}", db.label()));
                Pool::Pg(pool)
            }
        }
    }

    async fn scalar(&self, sql: &str, binds: &[i64]) -> i64 {
        with_pool!(self, |p| {
            let mut q = sqlx::query_scalar::<_, i64>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.fetch_one(p).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }

    async fn opt_scalar(&self, sql: &str, binds: &[i64]) -> Option<i64> {
        with_pool!(self, |p| {
            let mut q = sqlx::query_scalar::<_, Option<i64>>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.fetch_optional(p).await.unwrap_or_else(|e| panic!("{sql}: {e}")).flatten()
        })
    }

    async fn text_scalar(&self, sql: &str) -> String {
        with_pool!(self, |p| sqlx::query_scalar::<_, String>(sql).fetch_one(p).await.unwrap_or_else(|e| panic!("{sql}: {e}")))
    }

    async fn close(self) {
        with_pool!(self, |p| p.close().await)
    }
}

/// Account and admin of the bench account in a database.
async fn account_ids(pool: &Pool) -> Option<(i64, i64)> {
    let acc = with_pool!(pool, |p| sqlx::query_scalar::<_, i64>("select id from accounts where name = $1")
        .bind(ACCOUNT)
        .fetch_optional(p)
        .await
        .ok()
        .flatten())?;
    let admin = with_pool!(pool, |p| sqlx::query_scalar::<_, i64>("select id from users where email = $1")
        .bind(ADMIN_EMAIL)
        .fetch_optional(p)
        .await
        .ok()
        .flatten())?;
    Some((acc, admin))
}

/// Live contacts of the bench account.
async fn live_contacts(pool: &Pool, acc: i64) -> i64 {
    pool.scalar("select count(*) from contacts where account_id = $1 and deleted_at is null", &[acc]).await
}

/// PostgreSQL maintenance through the admin database (never the copies themselves).
struct PgAdmin {
    pool: PgPool,
    admin_url: String,
}

impl PgAdmin {
    async fn connect(url: &str) -> Result<PgAdmin, String> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?.disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| e.to_string())?;
        Ok(PgAdmin { pool, admin_url: url.to_string() })
    }

    async fn exists(&self, name: &str) -> bool {
        sqlx::query_scalar::<_, i64>("select count(*) from pg_database where datname = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .expect("pg_database")
            > 0
    }

    async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&self.pool).await.map(|_| ())
    }

    async fn drop_db(&self, name: &str) {
        self.exec(&format!("drop database if exists \"{name}\" with (force)")).await.expect("drop database");
    }

    /// `create database copy template master`: retried while the master's last
    /// connections (a closed pool, a finished process) are still going away.
    async fn copy_db(&self, master: &str, copy: &str) {
        self.drop_db(copy).await;
        let mut tries = 0;
        loop {
            match self.exec(&format!("create database \"{copy}\" template \"{master}\"")).await {
                Ok(()) => return,
                Err(e) if tries < 30 && e.to_string().contains("being accessed by other users") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => panic!("create database {copy} template {master}: {e}"),
            }
        }
    }

    fn db(&self, name: &str) -> DbRef {
        DbRef::Postgres { admin_url: self.admin_url.clone(), name: name.to_string() }
    }

    async fn size(&self, name: &str) -> u64 {
        sqlx::query_scalar::<_, i64>("select pg_database_size($1::text)")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map(|b| b as u64)
            .unwrap_or(0)
    }
}

fn sqlite_files(path: &Path) -> [PathBuf; 4] {
    let s = path.display().to_string();
    [path.to_path_buf(), PathBuf::from(format!("{s}-wal")), PathBuf::from(format!("{s}-shm")), path.with_extension("session-key")]
}

fn remove_sqlite(path: &Path) {
    for f in sqlite_files(path) {
        let _ = std::fs::remove_file(f);
    }
}

/// Where the masters and copies of one backend live, and how to copy them.
enum Store {
    Sqlite { dir: PathBuf, tag: String },
    Postgres { admin: PgAdmin, tag: String },
}

impl Store {
    fn master(&self) -> DbRef {
        match self {
            Store::Sqlite { dir, tag } => DbRef::Sqlite(dir.join(format!("sqlite-master-{tag}.db"))),
            Store::Postgres { admin, tag } => admin.db(&format!("ca_bench_master_{tag}")),
        }
    }

    fn copy_ref(&self, which: &str) -> DbRef {
        match self {
            Store::Sqlite { dir, tag } => DbRef::Sqlite(dir.join(format!("sqlite-copy-{tag}-{which}.db"))),
            Store::Postgres { admin, tag } => admin.db(&format!("ca_bench_copy_{tag}_{which}")),
        }
    }

    /// A fresh copy of the master. SQLite: the master's log is checkpointed into the
    /// file first (no other process has it open), then the file is copied.
    async fn copy(&self, which: &str) -> DbRef {
        let t = Instant::now();
        let copy = self.copy_ref(which);
        match (self, &copy) {
            (Store::Sqlite { .. }, DbRef::Sqlite(to)) => {
                let DbRef::Sqlite(from) = self.master() else { unreachable!() };
                let pool = Pool::open(&self.master(), 1).await;
                with_pool!(&pool, |p| {
                    sqlx::query("pragma wal_checkpoint(truncate)").execute(p).await.expect("checkpoint");
                });
                pool.close().await;
                remove_sqlite(to);
                std::fs::copy(&from, to).expect("copy the SQLite master");
                let wal = PathBuf::from(format!("{}-wal", from.display()));
                if std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false) {
                    std::fs::copy(&wal, format!("{}-wal", to.display())).expect("copy the SQLite master's log");
                }
            }
            (Store::Postgres { admin, tag }, DbRef::Postgres { name, .. }) => {
                admin.copy_db(&format!("ca_bench_master_{tag}"), name).await;
            }
            _ => unreachable!(),
        }
        log!("copied the master to {} in {:.1}s", copy.label(), t.elapsed().as_secs_f64());
        copy
    }

    async fn drop_copy(&self, db: &DbRef) {
        match (self, db) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => remove_sqlite(p),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.drop_db(name).await,
            _ => unreachable!(),
        }
    }

    async fn drop_master(&self) {
        let m = self.master();
        self.drop_copy(&m).await;
    }

    async fn create_empty_master(&self) {
        if let (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) = (self, &self.master()) {
            admin.exec(&format!("create database \"{name}\"")).await.expect("create the master database");
        }
    }

    async fn master_exists(&self) -> bool {
        match (self, &self.master()) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => p.exists(),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.exists(name).await,
            _ => unreachable!(),
        }
    }

    async fn size(&self, db: &DbRef) -> u64 {
        match (self, db) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => sqlite_files(p).iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum(),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.size(name).await,
            _ => unreachable!(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// the product's binary: CLI commands and the server

fn cli(db: &DbRef, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "warn")
        .env_remove("CONTACTS_ADMIN_CLOCK_OFFSET_FILE");
    c
}

fn run_cli(db: &DbRef, args: &[&str]) -> String {
    let out = cli(db, args).stdin(Stdio::null()).output().expect("run contacts-admin");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "contacts-admin {args:?} failed: {}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    stdout
}

/// `contacts-admin serve` on a free port, its stdout drained by a thread and its log in
/// `target/bench/`.
struct Server {
    child: Child,
    pid: u32,
    base: String,
}

impl Server {
    fn start(db: &DbRef, log: &Path) -> Server {
        let log_file = std::fs::File::create(log).expect("server log");
        let mut c = cli(db, &["serve"]);
        c.env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn,contacts_admin::jobs=info")
            .env("SESSION_KEY", SESSION_KEY)
            .env("PURGE_INTERVAL_SECS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let mut child = c.spawn().expect("start contacts-admin serve");
        let pid = child.id();
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start; see {}", log.display());
            }
        };
        Server { child, pid, base }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 20 s.
    fn stop(mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.stop_now();
    }

    /// SIGKILL (a server stuck in a request would wait for it on SIGTERM).
    fn stop_now(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// A signed-in admin: one cookie-keeping client shared by the concurrent requests, as
/// the tabs of one browser would share it.
struct Http {
    client: reqwest::Client,
    base: String,
    csrf: String,
    /// How long a page request may take before it counts as an error.
    page_timeout: Duration,
    /// How long a POST (a deletion, a restore) may take before the phase gives up.
    post_timeout: Duration,
}

impl Http {
    async fn login(base: &str, cfg: &Config) -> Http {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .expect("http client");
        let page = client.get(format!("{base}/login")).send().await.expect("GET /login").text().await.expect("login page");
        let csrf = attr_after(&page, "name=\"csrf-token\" content=\"").expect("csrf token on the login page");
        let body = form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("csrf_token", &csrf), ("next", "/contacts")]);
        let res = client
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST /login");
        assert_eq!(res.status().as_u16(), 303, "login refused: {}", res.text().await.unwrap_or_default());
        let mut http = Http { client, base: base.to_string(), csrf: String::new(), page_timeout: cfg.request_timeout, post_timeout: cfg.phase_timeout };
        let page = http.get_text("/contacts").await;
        http.csrf = attr_after(&page, "name=\"csrf-token\" content=\"").expect("csrf token on /contacts");
        http
    }

    async fn get_text(&self, path: &str) -> String {
        let res = self.client.get(format!("{}{path}", self.base)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, 200, "GET {path}: {status}\n{}", &text[..text.len().min(2000)]);
        text
    }

    /// Posts a form (the session's CSRF token added); returns status, Location and body,
    /// or status 0 and the error when there is no answer within `post_timeout`.
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (u16, String, String) {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("csrf_token", &self.csrf));
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .timeout(self.post_timeout)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return (0, String::new(), format!("no answer: {e}")),
        };
        let status = res.status().as_u16();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = res.text().await.unwrap_or_default();
        (status, location, text)
    }
}

#[derive(Clone, Debug, Default)]
struct Stats {
    n: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rps: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn stats(mut samples: Vec<f64>, errors: usize, secs: f64) -> Stats {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Stats {
        n: samples.len(),
        errors,
        p50_ms: percentile(&samples, 50.0),
        p99_ms: percentile(&samples, 99.0),
        max_ms: samples.last().copied().unwrap_or(f64::NAN),
        rps: if secs > 0.0 { samples.len() as f64 / secs } else { 0.0 },
    }
}

/// `clients` closed-loop clients GET the targets in turn until `max_requests` are done,
/// `max_secs` have passed or `stop` is set. Returns per-target stats (requests per
/// second over the whole run).
async fn load(http: &Http, targets: &[(String, String)], clients: usize, max_requests: usize, max_secs: f64, stop: Option<Arc<AtomicBool>>) -> Vec<Stats> {
    let timeout = http.page_timeout;
    let next = Arc::new(AtomicUsize::new(0));
    let samples: Arc<Mutex<Vec<(usize, f64, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let targets: Arc<Vec<(String, String)>> = Arc::new(targets.to_vec());
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(max_secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, samples, targets, stop) = (next.clone(), samples.clone(), targets.clone(), stop.clone());
        let client = http.client.clone();
        let base = http.base.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if Instant::now() >= deadline || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests {
                    break;
                }
                let k = i % targets.len();
                let t = Instant::now();
                let ok = match client.get(format!("{base}{}", targets[k].1)).timeout(timeout).send().await {
                    Ok(res) => {
                        let good = res.status().as_u16() == 200;
                        res.bytes().await.is_ok() && good
                    }
                    Err(_) => false,
                };
                samples.lock().unwrap().push((k, t.elapsed().as_secs_f64() * 1000.0, ok));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let all = samples.lock().unwrap().clone();
    (0..targets.len())
        .map(|k| {
            let ok: Vec<f64> = all.iter().filter(|s| s.0 == k && s.2).map(|s| s.1).collect();
            let errors = all.iter().filter(|s| s.0 == k && !s.2).count();
            stats(ok, errors, secs)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// results

#[derive(Default)]
struct Report {
    out: String,
}

impl Report {
    fn line(&mut self, s: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", s.as_ref());
    }

    fn row(&mut self, label: &str, value: impl AsRef<str>) {
        let _ = writeln!(self.out, "  {label:<54} {}", value.as_ref());
    }

    fn stats_header(&mut self, title: &str) {
        let _ = writeln!(self.out, "  {title:<54} {:>6} {:>9} {:>9} {:>9} {:>8} {:>5}", "n", "p50 ms", "p99 ms", "max ms", "req/s", "err");
    }

    fn stats_row(&mut self, label: &str, s: &Stats) {
        let _ = writeln!(
            self.out,
            "    {label:<52} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>8.1} {:>5}",
            s.n, s.p50_ms, s.p99_ms, s.max_ms, s.rps, s.errors
        );
    }
}

/// The list pages timed on their own, then mixed while the delete-all job runs. The
/// rare search (one seeded email holds `.{contacts/2}@`) runs after the common one, on
/// the same server connections.
fn page_targets(contacts: i64) -> Vec<(String, String)> {
    let rare = format!(".{}@", contacts / 2);
    vec![
        ("GET /contacts (first page + count)".into(), "/contacts".into()),
        ("GET /contacts?last=1 (last page)".into(), "/contacts?last=1".into()),
        ("GET /contacts?q=martinez (search)".into(), "/contacts?q=martinez".into()),
        (format!("GET /contacts?q={rare} (search, 1 match)"), format!("/contacts?{}", form(&[("q", &rare)]))),
        ("GET /contacts?tag=VIP (tag filter + count)".into(), "/contacts?tag=VIP".into()),
    ]
}

/// The list sorted by each column in both directions (migration 0019's indexes): its
/// first and last page, a deep page in the middle (`after` the contact at half the
/// ids, a cursor that starts the index read halfway), and a common tag sorted by name.
fn sort_targets(contacts: i64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for column in ["name", "email", "company", "created"] {
        for sort in [column.to_string(), format!("-{column}")] {
            out.push((format!("GET /contacts?sort={sort} (first page)"), format!("/contacts?sort={sort}")));
            out.push((format!("GET /contacts?sort={sort}&last=1 (last page)"), format!("/contacts?sort={sort}&last=1")));
        }
        out.push((format!("GET /contacts?sort={column}&after=mid (deep page)"), format!("/contacts?sort={column}&after={}", contacts / 2)));
    }
    out.push(("GET /contacts?tag=VIP&sort=name (tag, sorted)".into(), "/contacts?tag=VIP&sort=name".into()));
    out.push(("GET /contacts?tag=VIP&sort=-company&last=1 (tag, sorted, last)".into(), "/contacts?tag=VIP&sort=-company&last=1".into()));
    out
}

// ---------------------------------------------------------------------------------------
// phases

/// Builds the master (or reuses it if it holds exactly `contacts` live contacts).
async fn ensure_master(cfg: &Config, store: &Store, rep: &mut Report) {
    let master = store.master();
    if store.master_exists().await {
        let pool = Pool::open(&master, 1).await;
        let ok = match account_ids(&pool).await {
            Some((acc, _)) => {
                let live = live_contacts(&pool, acc).await;
                let all = pool.scalar("select count(*) from contacts", &[]).await;
                log!("master {} holds {} live contacts ({} rows in all)", master.label(), thousands(live), thousands(all));
                live == cfg.contacts && all == cfg.contacts
            }
            None => false,
        };
        pool.close().await;
        if ok {
            // a master seeded by an earlier version gets the current schema once, not
            // every copy at its server's start
            run_cli(&master, &["migrate"]);
            rep.row("master database", format!("reused {} ({})", master.label(), bytes_h(store.size(&master).await)));
            return;
        }
        log!("master {} does not hold the right data: rebuilding it", master.label());
        store.drop_master().await;
    }
    store.create_empty_master().await;
    let t = Instant::now();
    run_cli(&master, &["create-user", "--account", ACCOUNT, "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD, "--role", "admin", "--name", "Scale Admin"]);
    log!("seeding {} contacts into {} …", thousands(cfg.contacts), master.label());
    let out = run_cli(&master, &["seed", "--account", ACCOUNT, "--contacts", &cfg.contacts.to_string()]);
    let secs = t.elapsed().as_secs_f64();
    log!("{}", out.trim());
    rep.row(
        "master database",
        format!("seeded {} in {:.1}s = {} contacts/s (`contacts-admin seed`) ({})", master.label(), secs, rate(cfg.contacts, secs), bytes_h(store.size(&master).await)),
    );
}

/// Counts the seeded rows, for the header.
async fn describe_master(store: &Store, rep: &mut Report) -> (i64, i64, String) {
    let pool = Pool::open(&store.master(), 1).await;
    let (acc, admin) = account_ids(&pool).await.expect("bench account in the master");
    let contacts = live_contacts(&pool, acc).await;
    let mut rows = 0;
    let mut parts = Vec::new();
    for t in ASSOCIATED {
        let n = pool.scalar(&format!("select count(*) from {t} where account_id = $1"), &[acc]).await;
        rows += n;
        parts.push(format!("{t} {}", thousands(n)));
    }
    let version = match &pool {
        Pool::Sqlite(_) => format!("SQLite {}", pool.text_scalar("select sqlite_version()").await),
        Pool::Pg(_) => pool.text_scalar("select version()").await.split(" on ").next().unwrap_or("").to_string(),
    };
    pool.close().await;
    rep.row(
        "account",
        format!("{} contacts, {} associated rows ({:.1} per contact)", thousands(contacts), thousands(rows), rows as f64 / contacts.max(1) as f64),
    );
    rep.row("", parts.join(", "));
    (acc, admin, version)
}

struct JobOutcome {
    state: String,
    deleted: i64,
    secs: f64,
    timed_out: bool,
}

/// Queues the delete-all of the account's live contacts through the page's own form
/// (`POST /contacts/delete select_all=true`) and checks it became a background job.
/// Returns the job's id, when the POST was sent and how long its answer took.
async fn queue_delete_all(http: &Http, pool: &Pool, acc: i64) -> (i64, Instant, f64) {
    let page = http.get_text("/contacts").await;
    let as_of = attr_after(&page, "data-as-of=\"").expect("as_of");
    // deleting every contact asks for the count shown as well as DELETE
    let total = attr_after(&page, "data-total=\"").expect("the list's total");
    let prev_job = pool.opt_scalar("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let t0 = Instant::now();
    let form = [("select_all", "true"), ("as_of", as_of.as_str()), ("confirm", "DELETE"), ("confirm_count", total.as_str()), ("reason", "scale benchmark")];
    let (status, location, body) = http.post("/contacts/delete", &form).await;
    let post_secs = t0.elapsed().as_secs_f64();
    assert!(status == 303 && location == "/bulk-actions", "delete-all was not queued as a job: {status} {location}\n{}", &body[..body.len().min(2000)]);
    let job = pool.scalar("select max(id) from bulk_jobs where account_id = $1", &[acc]).await;
    assert!(job > prev_job, "no new bulk job");
    (job, t0, post_secs)
}

/// Cancels a job that ran past the phase's time limit (what is done stays done).
async fn cancel_if_timed_out(http: &Http, job: i64, outcome: &JobOutcome) {
    if outcome.timed_out {
        log!("  delete-all timed out after {:.0}s: cancelling job #{job}", outcome.secs);
        let _ = http.post(&format!("/bulk-actions/{job}/cancel"), &[]).await;
    }
}

/// Polls a bulk job in the database until it leaves queued/running, or the timeout.
/// `on_tick` sees (elapsed seconds, contacts deleted so far) every poll.
async fn wait_job(pool: &Pool, job: i64, t0: Instant, timeout: Duration, mut on_tick: impl FnMut(f64, i64)) -> JobOutcome {
    let mut last_log = Instant::now();
    loop {
        let (state, done): (String, i64) = with_pool!(pool, |p| sqlx::query_as::<_, (String, i64)>(
            "select j.state, coalesce(case when j.kind = 'delete' then b.deleted_count end, j.done) from bulk_jobs j left join deletion_batches b on b.id = j.batch_id where j.id = $1"
        )
        .bind(job)
        .fetch_one(p)
        .await
        .expect("job state"));
        let secs = t0.elapsed().as_secs_f64();
        on_tick(secs, done);
        if state != "queued" && state != "running" {
            return JobOutcome { state, deleted: done, secs, timed_out: false };
        }
        if t0.elapsed() > timeout {
            return JobOutcome { state, deleted: done, secs, timed_out: true };
        }
        if last_log.elapsed() > Duration::from_secs(30) {
            log!("  job #{job}: {} deleted after {:.0}s ({} /s)", thousands(done), secs, rate(done, secs));
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Copy A: pages, export, delete-all through the job (with readers), purge.
/// Returns the delete-all job's time in seconds and its rate once the readers stopped.
async fn product_phases(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) -> Option<(f64, Option<f64>)> {
    let db = store.copy("a").await;
    let log_path = cfg.dir.join(format!("server-{}-a.log", backend_of(store).name()));
    let server = Server::start(&db, &log_path);
    let pid = server.pid;
    let http = Http::login(&server.base, cfg).await;
    let pool = Pool::open(&db, 2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    mem.push(("started, signed in".into(), hwm_kb(pid).unwrap_or(0)));

    // 1. the list pages, one target at a time
    log!("contacts page: {} clients, up to {} requests or {}s per page after {} not counted", cfg.clients, cfg.requests, cfg.page_secs, cfg.warmup);
    rep.line("");
    rep.stats_header(&format!("contacts page, {} concurrent clients", cfg.clients));
    let page = http.get_text("/contacts").await;
    let as_of = attr_after(&page, "data-as-of=\"").expect("as_of on the list page");
    let total = attr_after(&page, "data-total=\"").unwrap_or_default();
    let mut targets: Vec<(String, String, usize, usize)> = page_targets(cfg.contacts).into_iter().map(|(l, p)| (l, p, cfg.clients, cfg.requests)).collect();
    // every sort's first, last and a deep page: fewer requests each, there are many
    targets.extend(sort_targets(cfg.contacts).into_iter().map(|(l, p)| (l, p, cfg.clients, cfg.requests.min(200))));
    // the exact count a search's page loads after its rows (the page itself does not count)
    targets.push(("GET /contacts/count?q=martinez (exact count)".into(), "/contacts/count?q=martinez".into(), cfg.clients, cfg.requests));
    // the delete dialog's counts over every contact: heavy, so one admin at a time
    targets.push((
        "GET /contacts/delete-preview select-all, 1 client".into(),
        format!("/contacts/delete-preview?{}", form(&[("select_all", "true"), ("as_of", &as_of)])),
        1,
        3,
    ));
    for (label, path, clients, requests) in &targets {
        if *clients > 1 && cfg.warmup > 0 {
            // a server in use has warm caches and connections that planned their
            // statements already: the measured requests follow a round that is not counted
            load(&http, &[(label.clone(), path.clone())], *clients, cfg.warmup, cfg.page_secs, None).await;
        }
        let s = load(&http, &[(label.clone(), path.clone())], *clients, *requests, cfg.page_secs, None).await;
        log!("  {label}: p50 {:.1} ms, p99 {:.1} ms, {:.1} req/s (n={})", s[0].p50_ms, s[0].p99_ms, s[0].rps, s[0].n);
        rep.stats_row(label, &s[0]);
    }
    rep.row("select-all count shown by the page", format!("{} contacts", thousands(total.parse().unwrap_or(0))));
    let peak_pages = hwm_kb(pid).unwrap_or(0);
    mem.push(("after the contacts pages".into(), peak_pages));
    if cfg.pages_only {
        pool.close().await;
        server.stop();
        return None;
    }

    // 2. export every contact
    rep.line("");
    log!("export CSV of all contacts …");
    let rss_before = rss_kb(pid).unwrap_or(0);
    let reset = reset_hwm(pid);
    let sampler = RssSampler::start(pid);
    let t = Instant::now();
    let mut res = http.client.get(format!("{}/contacts/export.csv?select_all=true", http.base)).send().await.expect("GET export");
    assert_eq!(res.status().as_u16(), 200, "export status");
    let first_byte = t.elapsed().as_secs_f64();
    let (mut bytes, mut lines) = (0u64, 0i64);
    let mut broken = None;
    loop {
        match res.chunk().await {
            Ok(Some(c)) => {
                bytes += c.len() as u64;
                lines += c.iter().filter(|b| **b == b'\n').count() as i64;
            }
            Ok(None) => break,
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        }
        if t.elapsed() > cfg.phase_timeout {
            broken = Some(format!("gave up after {:.0}s", t.elapsed().as_secs_f64()));
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let sampled = sampler.finish();
    let hwm = hwm_kb(pid).unwrap_or(0);
    let export_peak = if reset { hwm.max(sampled) } else { sampled };
    let rows = (lines - 1).max(0);
    log!("  {} rows, {} in {:.1}s", thousands(rows), bytes_h(bytes), secs);
    rep.row(
        "export CSV (GET /contacts/export.csv?select_all)",
        format!("{} rows, {} in {:.1}s = {} rows/s (first byte {:.2}s){}", thousands(rows), bytes_h(bytes), secs, rate(rows, secs), first_byte,
            broken.map(|b| format!(" — STREAM BROKEN: {b}")).unwrap_or_default()),
    );
    rep.row("  server memory during the export", format!("RSS {} before, peak {} ({})", mib(rss_before), mib(export_peak), if reset { "VmHWM reset before the export" } else { "sampled every 50 ms" }));
    mem.push(("after the export (HWM reset before it)".into(), hwm));

    // 3. delete-all through the product's job, readers on the list for the first part
    rep.line("");
    let live_before = live_contacts(&pool, acc).await;
    log!("delete-all of {} contacts through POST /contacts/delete select_all=true …", thousands(live_before));
    let (job, t0, post_secs) = queue_delete_all(&http, &pool, acc).await;

    let stop = Arc::new(AtomicBool::new(false));
    let readers = {
        let http2 = Http { client: http.client.clone(), base: http.base.clone(), csrf: http.csrf.clone(), page_timeout: http.page_timeout, post_timeout: http.post_timeout };
        let stop = stop.clone();
        let clients = cfg.clients;
        let secs = cfg.load_secs;
        let targets = page_targets(cfg.contacts);
        tokio::spawn(async move { load(&http2, &targets, clients, usize::MAX, secs, Some(stop)).await })
    };
    let load_end = Arc::new(Mutex::new(None::<(f64, i64)>));
    let readers_done = Arc::new(AtomicU64::new(0));
    let (le, rd) = (load_end.clone(), readers_done.clone());
    let load_secs = cfg.load_secs;
    let outcome = wait_job(&pool, job, t0, cfg.phase_timeout, |secs, done| {
        if secs >= load_secs && rd.load(Ordering::Relaxed) == 0 {
            rd.store(1, Ordering::Relaxed);
            *le.lock().unwrap() = Some((secs, done));
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let reader_stats = readers.await.expect("readers");
    cancel_if_timed_out(&http, job, &outcome).await;
    let deleted = outcome.deleted;
    log!("  job #{job} {}: {} contacts in {:.1}s", outcome.state, thousands(deleted), outcome.secs);
    rep.row(
        "delete-all, product job (HTTP select_all)",
        format!(
            "{} contacts in {:.1}s = {} contacts/s (job {}{}; POST answered in {:.2}s; chunk {})",
            thousands(deleted),
            outcome.secs,
            rate(deleted, outcome.secs),
            outcome.state,
            if outcome.timed_out { format!(", STOPPED after {:.0} min: partial", cfg.phase_timeout.as_secs_f64() / 60.0) } else { String::new() },
            post_secs,
            std::env::var("BULK_CHUNK").unwrap_or_else(|_| "adaptive, ~1 s per transaction (default)".into()),
        ),
    );
    // the worker's own account of the job: how many transactions it took
    let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if let Some(line) = log_text.lines().rev().find(|l| l.contains("bulk job done")) {
        let field = |k: &str| line.split(&format!("{k}=")).nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string);
        if let (Some(chunks), Some(last)) = (field("chunks"), field("last_chunk")) {
            rep.row("  transactions (chunks)", format!("{chunks}, the last sized for {last} contacts"));
        }
    }
    let loaded = *load_end.lock().unwrap();
    let mut unloaded_rate = None;
    match loaded {
        Some((ls, ld)) if outcome.secs - ls >= 1.0 => {
            unloaded_rate = Some((deleted - ld) as f64 / (outcome.secs - ls));
            rep.row(format!("  while {} readers ran (first {:.0}s)", cfg.clients, ls).as_str(), format!("{} contacts/s", rate(ld, ls)));
            rep.row("  after the readers stopped", format!("{} contacts/s over {:.1}s", rate(deleted - ld, outcome.secs - ls), outcome.secs - ls));
        }
        _ => rep.row(format!("  (readers ran through the whole job, {} clients)", cfg.clients).as_str(), ""),
    }
    let left = live_contacts(&pool, acc).await;
    let msgs = pool.scalar("select count(*) from messages where account_id = $1", &[acc]).await;
    rep.row("  check afterwards", format!("{} live contacts, {} messages left", thousands(left), thousands(msgs)));
    rep.stats_header(&format!("contacts page while the job runs ({} clients, mixed)", cfg.clients));
    for ((label, _), s) in page_targets(cfg.contacts).iter().zip(&reader_stats) {
        rep.stats_row(label, s);
    }
    mem.push(("after delete-all".into(), hwm_kb(pid).unwrap_or(0)));
    pool.close().await;
    server.stop();

    // 4. purge, 61 days later, by the CLI
    let pool = Pool::open(&db, 1).await;
    if let Pool::Pg(p) = &pool {
        // what autovacuum does in the 61 days (this server may run with it off): the
        // purge's foreign-key checks would otherwise step over millions of dead rows
        let autovacuum: String = sqlx::query_scalar("show autovacuum").fetch_one(p).await.unwrap_or_default();
        let t = Instant::now();
        sqlx::query("vacuum (analyze)").execute(p).await.expect("vacuum");
        let secs = t.elapsed().as_secs_f64();
        log!("  vacuum (analyze) after delete-all: {secs:.1}s (autovacuum = {autovacuum})");
        rep.row("vacuum (analyze) before the purge", format!("{secs:.1}s (autovacuum is {autovacuum} on this server)"));
    }
    log!("purge (contacts-admin purge, clock +61 days) …");
    let before_purge = pool.scalar("select count(*) from contacts where account_id = $1", &[acc]).await;
    pool.close().await;
    let offset = cfg.dir.join("clock-offset-61-days");
    std::fs::write(&offset, (61 * DAY_SECS).to_string()).expect("clock offset file");
    let t = Instant::now();
    let mut child = cli(&db, &["purge"])
        .env("CONTACTS_ADMIN_CLOCK_OFFSET_FILE", &offset)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start purge");
    let ppid = child.id();
    let mut purge_hwm = 0;
    let mut killed = false;
    let status = loop {
        if let Some(kb) = hwm_kb(ppid) {
            purge_hwm = purge_hwm.max(kb);
        }
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if t.elapsed() > cfg.phase_timeout {
            let _ = child.kill();
            let _ = child.wait();
            killed = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let secs = t.elapsed().as_secs_f64();
    let out = child.wait_with_output().map(|o| String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)).unwrap_or_default();
    let pool = Pool::open(&db, 1).await;
    let remaining = pool.scalar("select count(*) from contacts where account_id = $1", &[acc]).await;
    pool.close().await;
    let purged = before_purge - remaining;
    log!("  {} in {:.1}s; {} contacts left", out.trim(), secs, thousands(remaining));
    rep.row(
        "purge of expired contacts (`contacts-admin purge`)",
        format!(
            "{} contacts in {:.1}s = {} contacts/s (whole process; peak RSS {}){}",
            thousands(purged),
            secs,
            rate(purged, secs),
            mib(purge_hwm),
            if killed {
                format!(" — STOPPED after {:.0} min: partial", cfg.phase_timeout.as_secs_f64() / 60.0)
            } else if status.is_some_and(|s| !s.success()) {
                format!(" — FAILED: {}", out.trim())
            } else {
                String::new()
            }
        ),
    );
    rep.row("  check afterwards", format!("{} contacts of the account left (live ones included)", thousands(remaining)));
    store.drop_copy(&db).await;
    (!outcome.timed_out && deleted > 0).then_some((outcome.secs, unloaded_rate))
}

/// Runs a phase; a panic in it (a failed request, an unexpected answer) becomes its
/// message, so that the other phases and backends still run and print.
async fn guarded<T>(fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(fut).catch_unwind().await.map_err(|e| {
        e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
    })
}

fn backend_of(store: &Store) -> Backend {
    match store {
        Store::Sqlite { .. } => Backend::Sqlite,
        Store::Postgres { .. } => Backend::Postgres,
    }
}

/// Copy B: the same delete-all as set-based SQL in one transaction (R2 in full).
async fn sql_phase(store: &Store, rep: &mut Report) -> Option<(f64, i64)> {
    let db = store.copy("b").await;
    let pool = Pool::open(&db, 1).await;
    let (acc, admin) = account_ids(&pool).await.expect("bench account");
    let now = chrono::Utc::now().timestamp_millis();
    log!("delete-all by hand-written set-based SQL, one transaction …");
    let mut steps: Vec<(String, f64, u64)> = Vec::new();
    let t0 = Instant::now();
    let (deleted, _) = with_pool!(&pool, |p| {
        let mut conn = p.acquire().await.expect("connection");
        let begin = if matches!(backend_of(store), Backend::Sqlite) { "begin immediate" } else { "begin" };
        sqlx::query(begin).execute(&mut *conn).await.expect("begin");
        let batch: i64 = sqlx::query_scalar(
            "insert into deletion_batches (account_id, actor_user_id, channel, description, reason, created_at)
             values ($1, $2, 'cli', 'all contacts (set-based SQL)', 'scale benchmark', $3) returning id",
        )
        .bind(acc)
        .bind(admin)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .expect("batch");
        let t = Instant::now();
        let deleted = sqlx::query(
            "update contacts set deleted_at = $1, updated_at = $1, deleted_by_user_id = $2, deletion_batch_id = $3
             where account_id = $4 and deleted_at is null and created_at <= $1",
        )
        .bind(now)
        .bind(admin)
        .bind(batch)
        .bind(acc)
        .execute(&mut *conn)
        .await
        .expect("mark contacts deleted")
        .rows_affected();
        steps.push(("contacts".into(), t.elapsed().as_secs_f64(), deleted));
        let of_batch = "select id from contacts where deletion_batch_id = $2";
        for table in REMOVED_WITH_CONTACT {
            let t = Instant::now();
            let n = sqlx::query(&format!("delete from {table} where account_id = $1 and contact_id in ({of_batch})"))
                .bind(acc)
                .bind(batch)
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("delete {table}: {e}"))
                .rows_affected();
            steps.push((table.into(), t.elapsed().as_secs_f64(), n));
        }
        let t = Instant::now();
        let n = sqlx::query(&format!("update community_groups set owner_contact_id = null where account_id = $1 and owner_contact_id in ({of_batch})"))
            .bind(acc)
            .bind(batch)
            .execute(&mut *conn)
            .await
            .expect("group ownership")
            .rows_affected();
        steps.push(("community_groups".into(), t.elapsed().as_secs_f64(), n));
        let t = Instant::now();
        let n = sqlx::query(&format!(
            "update enrollments set status = 'stopped', stop_reason = 'contact_deleted', stopped_at = $3
             where account_id = $1 and status = 'active' and contact_id in ({of_batch})"
        ))
        .bind(acc)
        .bind(batch)
        .bind(now)
        .execute(&mut *conn)
        .await
        .expect("enrollments")
        .rows_affected();
        steps.push(("enrollments".into(), t.elapsed().as_secs_f64(), n));
        sqlx::query("update deletion_batches set state = 'done', total = $1, deleted_count = $1, finished_at = $2 where id = $3")
            .bind(deleted as i64)
            .bind(now)
            .bind(batch)
            .execute(&mut *conn)
            .await
            .expect("close batch");
        sqlx::query(
            "insert into audit_events (account_id, at, actor_user_id, channel, action, contact_count, description, reason, batch_id)
             values ($1, $2, $3, 'cli', 'delete', $4, 'all contacts (set-based SQL)', 'scale benchmark', $5)",
        )
        .bind(acc)
        .bind(now)
        .bind(admin)
        .bind(deleted as i64)
        .bind(batch)
        .execute(&mut *conn)
        .await
        .expect("audit");
        let t = Instant::now();
        sqlx::query("commit").execute(&mut *conn).await.expect("commit");
        steps.push(("commit".into(), t.elapsed().as_secs_f64(), 0));
        (deleted as i64, batch)
    });
    let secs = t0.elapsed().as_secs_f64();
    let left = live_contacts(&pool, acc).await;
    pool.close().await;
    log!("  {} contacts in {:.1}s", thousands(deleted), secs);
    rep.row("delete-all, set-based SQL (one transaction)", format!("{} contacts in {:.1}s = {} contacts/s ({} live left)", thousands(deleted), secs, rate(deleted, secs), left));
    let detail: Vec<String> = steps.iter().map(|(t, s, n)| if *n > 0 { format!("{t} {s:.1}s ({})", thousands(*n as i64)) } else { format!("{t} {s:.1}s") }).collect();
    rep.row("  statements", detail.join(", "));
    store.drop_copy(&db).await;
    Some((secs, deleted))
}

/// The same delete-all through the product's job on copy D, with nobody reading the
/// list: the product's own rate, to compare with the set-based SQL, which also runs
/// alone. Returns the job's seconds and contacts deleted.
async fn job_alone_phase(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) -> Option<(f64, i64)> {
    let db = store.copy("d").await;
    let server = Server::start(&db, &cfg.dir.join(format!("server-{}-d.log", backend_of(store).name())));
    let pid = server.pid;
    let http = Http::login(&server.base, cfg).await;
    let pool = Pool::open(&db, 2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    log!("delete-all through the job again, no readers …");
    let (job, t0, _) = queue_delete_all(&http, &pool, acc).await;
    let outcome = wait_job(&pool, job, t0, cfg.phase_timeout, |_, _| {}).await;
    cancel_if_timed_out(&http, job, &outcome).await;
    let left = live_contacts(&pool, acc).await;
    log!("  job #{job} {}: {} contacts in {:.1}s", outcome.state, thousands(outcome.deleted), outcome.secs);
    rep.row(
        "delete-all, product job alone (no readers)",
        format!(
            "{} contacts in {:.1}s = {} contacts/s (job {}{}; {} live left)",
            thousands(outcome.deleted),
            outcome.secs,
            rate(outcome.deleted, outcome.secs),
            outcome.state,
            if outcome.timed_out { format!(", STOPPED after {:.0} min: partial", cfg.phase_timeout.as_secs_f64() / 60.0) } else { String::new() },
            thousands(left),
        ),
    );
    mem.push(("job-alone server, after delete-all".into(), hwm_kb(pid).unwrap_or(0)));
    pool.close().await;
    server.stop();
    store.drop_copy(&db).await;
    (!outcome.timed_out && outcome.deleted > 0).then_some((outcome.secs, outcome.deleted))
}

/// Copy C: delete `n` contacts by id through the form, then restore them by batch.
async fn restore_phase(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) {
    let db = store.copy("c").await;
    let mut server = Server::start(&db, &cfg.dir.join(format!("server-{}-c.log", backend_of(store).name())));
    let pid = server.pid;
    let http = Http::login(&server.base, cfg).await;
    let pool = Pool::open(&db, 2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    let ids: Vec<i64> = with_pool!(&pool, |p| sqlx::query_scalar::<_, i64>(
        "select id from contacts where account_id = $1 and deleted_at is null order by id limit $2"
    )
    .bind(acc)
    .bind(cfg.restore)
    .fetch_all(p)
    .await
    .expect("ids"));
    let (lo, hi) = (ids[0], *ids.last().unwrap());
    let id_strings: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut pairs: Vec<(&str, &str)> = id_strings.iter().map(|s| ("ids", s.as_str())).collect();
    pairs.push(("confirm", "DELETE"));
    pairs.push(("reason", "scale benchmark"));
    let prev_job = pool.opt_scalar("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let prev_batch = pool.opt_scalar("select max(id) from deletion_batches", &[]).await.unwrap_or(0);
    log!("restore: deleting {} contacts by id …", thousands(ids.len() as i64));
    let t0 = Instant::now();
    let (status, location, body) = http.post("/contacts/delete", &pairs).await;
    if status != 303 {
        rep.row(&format!("delete {} by ids (POST /contacts/delete)", thousands(ids.len() as i64)), format!("FAILED after {:.1}s: {status} {location} {}", t0.elapsed().as_secs_f64(), &body[..body.len().min(300)]));
        server.stop();
        pool.close().await;
        store.drop_copy(&db).await;
        return;
    }
    let job = pool.opt_scalar("select max(id) from bulk_jobs where account_id = $1", &[acc]).await.unwrap_or(0);
    let (del_secs, how) = if job > prev_job {
        let o = wait_job(&pool, job, t0, cfg.phase_timeout, |_, _| {}).await;
        (o.secs, format!("background job, {}", o.state))
    } else {
        (t0.elapsed().as_secs_f64(), "inside the request".to_string())
    };
    let batch = pool.scalar("select max(id) from deletion_batches where account_id = $1", &[acc]).await;
    assert!(batch > prev_batch, "no deletion batch");
    let deleted = pool.scalar("select count(*) from contacts where deletion_batch_id = $1 and deleted_at is not null", &[batch]).await;
    log!("  deleted {} in {:.1}s ({how}); restoring batch {batch} …", thousands(deleted), del_secs);
    let prev_job = pool.opt_scalar("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let t = Instant::now();
    let (status, location, body) = http.post(&format!("/batches/{batch}/restore"), &[]).await;
    // above the server's bulk threshold the restore is a background job: wait for it
    let restore_job = pool.opt_scalar("select max(id) from bulk_jobs where account_id = $1 and kind = 'restore'", &[acc]).await.unwrap_or(0);
    let how = if status == 303 && restore_job > prev_job {
        let o = wait_job(&pool, restore_job, t, cfg.phase_timeout, |_, _| {}).await;
        format!(" (background job, {})", o.state)
    } else {
        " (inside the request)".to_string()
    };
    let secs = t.elapsed().as_secs_f64();
    let failure = (status != 303).then(|| {
        let body: String = body.chars().take(300).collect();
        if status == 0 {
            format!(" — NO ANSWER within {:.0} min ({body})", secs / 60.0)
        } else {
            format!(" — FAILED: {status} {location} {body}")
        }
    });
    // stop the server first: a restore still running in it would hold the copy
    let hwm = hwm_kb(pid).unwrap_or(0);
    if failure.is_some() {
        server.stop_now();
    }
    let live = pool.scalar("select count(*) from contacts where account_id = $1 and id between $2 and $3 and deleted_at is null", &[acc, lo, hi]).await;
    log!("  restored {} in {:.2}s{}", thousands(live), secs, failure.clone().unwrap_or_default());
    rep.row(
        &format!("delete {} by ids (POST /contacts/delete)", thousands(ids.len() as i64)),
        format!("{} contacts in {:.2}s = {} contacts/s ({how})", thousands(deleted), del_secs, rate(deleted, del_secs)),
    );
    rep.row(
        "restore them by batch (POST /batches/{id}/restore)",
        format!("{} contacts back in {:.2}s = {} contacts/s{how}{}", thousands(live), secs, rate(live, secs), failure.unwrap_or_default()),
    );
    mem.push(("restore server, after delete + restore".into(), hwm));
    pool.close().await;
    server.stop();
    store.drop_copy(&db).await;
}

async fn run_backend(cfg: &Config, backend: Backend) -> String {
    let mut rep = Report::default();
    let store = match backend {
        Backend::Sqlite => Store::Sqlite { dir: cfg.dir.clone(), tag: cfg.size_tag() },
        Backend::Postgres => match PgAdmin::connect(&cfg.pg_admin_url).await {
            Ok(admin) => Store::Postgres { admin, tag: cfg.size_tag() },
            Err(e) => {
                let msg = format!("== postgres: SKIPPED, cannot reach {} ({e}) ==\n", cfg.pg_admin_url);
                log!("{}", msg.trim());
                return msg;
            }
        },
    };
    log!("== {} ==", backend.name());
    ensure_master(cfg, &store, &mut rep).await;
    let (_, _, version) = describe_master(&store, &mut rep).await;
    let mut mem = Vec::new();
    let product = guarded(product_phases(cfg, &store, &mut rep, &mut mem)).await;
    if cfg.pages_only {
        store.drop_copy(&store.copy_ref("a")).await;
        return format!("== {} ({version}), contacts pages only ==\n{}", backend.name(), rep.out);
    }
    let product = match product {
        Ok(p) => p,
        Err(e) => {
            rep.row("PRODUCT PHASES FAILED", e);
            None
        }
    };
    let sql = match guarded(sql_phase(&store, &mut rep)).await {
        Ok(s) => s,
        Err(e) => {
            rep.row("SQL PHASE FAILED", e);
            None
        }
    };
    let alone = match guarded(job_alone_phase(cfg, &store, &mut rep, &mut mem)).await {
        Ok(a) => a,
        Err(e) => {
            rep.row("JOB-ALONE PHASE FAILED", e);
            None
        }
    };
    if let Some((s, n)) = sql {
        let sql_rate = n as f64 / s;
        if let Some((a, deleted)) = alone {
            let alone_rate = deleted as f64 / a;
            rep.row(
                "ratio product / SQL (time), both alone",
                format!("{:.1}× ({} vs {} contacts/s)", sql_rate / alone_rate, rate(alone_rate.round() as i64, 1.0), rate(sql_rate.round() as i64, 1.0)),
            );
        }
        if let Some((p, unloaded)) = product {
            rep.row(
                format!("  with {} readers for the job's first {:.0}s", cfg.clients, cfg.load_secs).as_str(),
                format!("{:.1}× (the job shares both cores with the readers, then runs alone)", p / s),
            );
            if let Some(r) = unloaded {
                rep.row("  that job's rate after the readers stopped", format!("{:.1}× ({} contacts/s)", sql_rate / r, rate(r.round() as i64, 1.0)));
            }
        }
    }
    rep.line("");
    if let Err(e) = guarded(restore_phase(cfg, &store, &mut rep, &mut mem)).await {
        rep.row("RESTORE PHASE FAILED", e);
    }
    for which in ["a", "b", "c", "d"] {
        store.drop_copy(&store.copy_ref(which)).await;
    }
    rep.line("");
    rep.row("server peak memory (VmHWM at the end of each phase)", "");
    let mut peak = 0;
    for (phase, kb) in &mem {
        rep.row(&format!("  {phase}"), mib(*kb));
        peak = peak.max(*kb);
    }
    rep.row("  peak over the run", mib(peak));
    format!("== {} ({version}) ==\n{}", backend.name(), rep.out)
}

fn machine_info() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).unwrap_or("?").trim().to_string();
    let logical = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    format!(
        "{cores} cores available ({logical} logical CPUs, {model}), {:.1} GiB RAM, Linux {kernel}, load average {load}",
        mem_kb as f64 / 1024.0 / 1024.0
    )
}

fn commit() -> String {
    let rev = Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    let dirty = Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    match rev {
        Ok(o) if o.status.success() => {
            let d = dirty.map(|o| !o.stdout.is_empty()).unwrap_or(false);
            format!("{}{}", String::from_utf8_lossy(&o.stdout).trim(), if d { " (with uncommitted changes)" } else { "" })
        }
        _ => "unknown".into(),
    }
}

#[tokio::main]
async fn main() {
    started();
    let cfg = Config::from_env();
    std::fs::create_dir_all(&cfg.dir).expect("target/bench");
    let mut head = String::new();
    let envs: Vec<String> = [
        "BENCH_CONTACTS",
        "BENCH_BACKENDS",
        "BENCH_POSTGRES_URL",
        "BENCH_CLIENTS",
        "BENCH_REQUESTS",
        "BENCH_WARMUP",
        "BENCH_PAGE_SECS",
        "BENCH_LOAD_SECS",
        "BENCH_RESTORE",
        "BENCH_PHASE_TIMEOUT_SECS",
        "BENCH_REQUEST_TIMEOUT_SECS",
        "BENCH_PAGES_ONLY",
        "BULK_THRESHOLD",
        "BULK_CHUNK",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
    .collect();
    let _ = writeln!(head, "contacts-admin scale benchmark");
    let _ = writeln!(head, "command: {}cargo bench --bench scale", envs.iter().map(|e| format!("{e} ")).collect::<String>());
    let _ = writeln!(head, "argv: {}", std::env::args().collect::<Vec<_>>().join(" "));
    let _ = writeln!(head, "machine: {}", machine_info());
    let _ = writeln!(head, "commit: {}", commit());
    let _ = writeln!(
        head,
        "settings: {} contacts; {} clients; up to {} requests or {}s per page after {} not counted; readers during delete-all for the first {}s; restore of {}; phases stop after {} min; server BULK_THRESHOLD={} BULK_CHUNK={}",
        thousands(cfg.contacts),
        cfg.clients,
        cfg.requests,
        cfg.page_secs,
        cfg.warmup,
        cfg.load_secs,
        thousands(cfg.restore),
        cfg.phase_timeout.as_secs() / 60,
        std::env::var("BULK_THRESHOLD").unwrap_or_else(|_| "2000 (default)".into()),
        std::env::var("BULK_CHUNK").unwrap_or_else(|_| "adaptive, ~1 s per transaction (default)".into()),
    );
    let _ = writeln!(head, "note: wall-clock times of the real server and CLI on a machine that may be shared; expect noise of tens of percent.");
    eprint!("{head}");
    let mut sections = BTreeMap::new();
    for (i, b) in cfg.backends.iter().enumerate() {
        let s = run_backend(&cfg, *b).await;
        eprintln!("\n{s}");
        sections.insert(i, s);
    }
    let report = format!("\n{head}\n{}", sections.values().cloned().collect::<Vec<_>>().join("\n"));
    println!("{report}");
    let path = cfg.dir.join("scale-report.txt");
    if std::fs::write(&path, &report).is_ok() {
        log!("report written to {}", path.display());
    }
}
