//! The real `contacts-admin` binary as a child process, a cookie-keeping HTTP client
//! that logs in like a browser, and the database-side checks of R2 and L2.

use crate::support::{Raw, TestDb, REMOVED_KINDS};
use contacts_admin::repo::Backend;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_contacts-admin");

/// 64 bytes or more.
pub const SESSION_KEY: &str = "crash-test-session-key-0123456789abcdef-0123456789abcdef-0123456789abcdef";
pub const PASSWORD: &str = "crash-test-password";

pub const ACCOUNT: &str = "Acme";
pub const ADMIN: &str = "admin@acme.test";
pub const USER: &str = "user@acme.test";
/// The admin of another account.
pub const OTHER_ADMIN: &str = "admin@bravo.test";

/// Contacts seeded into Acme, each with ~21 associated rows.
pub const CONTACTS: i64 = 3000;
/// Small chunks: a job is hundreds of transactions, so there is a "middle" to crash in
/// (a little larger on PostgreSQL, whose commits are slower).
pub fn chunk(backend: Backend) -> i64 {
    match backend {
        Backend::Sqlite => 5,
        Backend::Postgres => 10,
    }
}
pub const THRESHOLD: i64 = 100;

/// How long any wait may take before the test fails (a guard, far above the usual).
pub const WAIT: Duration = Duration::from_secs(120);

fn command(db: &TestDb) -> Command {
    let mut c = Command::new(BIN);
    c.env("DATABASE_URL", &db.url)
        .env_remove("CONTACTS_ADMIN_CLOCK_OFFSET_FILE")
        .env_remove("BIND")
        .env("RUST_LOG", "info,sqlx=warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// Runs a CLI command of the binary to the end; returns its stdout.
pub async fn cli(db: &TestDb, args: &[&str]) -> String {
    let mut c = command(db);
    c.args(args);
    let what = args.join(" ");
    let out = tokio::task::spawn_blocking(move || c.output()).await.expect("join").expect("run contacts-admin");
    assert!(
        out.status.success(),
        "contacts-admin {what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh database with account Acme (an admin, a regular user and [`CONTACTS`]
/// seeded contacts) and account Bravo (an admin), all made by the binary's CLI.
pub struct Crm {
    pub db: TestDb,
    pub raw: Raw,
    /// The servers' stderr files.
    pub logs: tempfile::TempDir,
}

pub async fn setup(db: TestDb) -> Crm {
    for (account, email, role) in [(ACCOUNT, ADMIN, "admin"), (ACCOUNT, USER, "user"), ("Bravo", OTHER_ADMIN, "admin")] {
        cli(&db, &["create-user", "--account", account, "--email", email, "--password", PASSWORD, "--role", role]).await;
    }
    let out = cli(&db, &["seed", "--account", ACCOUNT, "--contacts", &CONTACTS.to_string()]).await;
    assert!(out.contains(&format!("Seeded {CONTACTS} contacts")), "seed said: {out}");
    let raw = db.raw().await;
    let logs = tempfile::Builder::new().prefix("contacts-admin-crash-").tempdir().expect("temporary folder");
    Crm { db, raw, logs }
}

/// A `contacts-admin serve` child process on port 0; killed (SIGKILL) when dropped.
pub struct Server {
    pub name: String,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    child: Option<Child>,
    stderr: PathBuf,
}

impl Server {
    /// Starts the server on `crm`'s database and waits for its "listening" line.
    pub async fn start(crm: &Crm, name: &str) -> Server {
        let stderr = crm.logs.path().join(format!("{name}.stderr"));
        let err_file = std::fs::File::create(&stderr).expect("create the stderr file");
        let mut c = command(&crm.db);
        c.args(["serve", "--bind", "127.0.0.1:0"])
            .env("BULK_CHUNK", chunk(crm.db.backend).to_string())
            .env("BULK_THRESHOLD", THRESHOLD.to_string())
            .env("PURGE_INTERVAL_SECS", "0")
            .env("SESSION_KEY", SESSION_KEY)
            // webhook tests' receivers listen on 127.0.0.1; retries come quickly
            .env("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
            .env("WEBHOOK_RETRY_MS", "200")
            .env("WEBHOOK_TIMEOUT_SECS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err_file));
        let mut child = c.spawn().expect("start contacts-admin serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Reads every line until the process ends (so it never writes into a full pipe).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("contacts-admin listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut server = Server { name: name.to_string(), pid: child.id(), base: String::new(), child: Some(child), stderr };
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(WAIT)).await.expect("join");
        match addr {
            Ok(a) => {
                assert!(a.starts_with("http://127.0.0.1:"), "unexpected address {a}");
                server.base = a;
            }
            Err(_) => {
                server.kill();
                panic!("server {name} did not report its address; stderr:\n{}", server.stderr());
            }
        }
        server
    }

    /// `kill -9`, and reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Lines the server logged at ERROR level (or a panic).
    pub fn errors(&self) -> Vec<String> {
        self.stderr().lines().filter(|l| l.contains("ERROR") || l.contains("panicked")).map(str::to_string).collect()
    }

    pub fn assert_no_errors(&self) {
        let errors = self.errors();
        assert!(errors.is_empty(), "server {} logged errors:\n{}", self.name, errors.join("\n"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.stderr();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of server {}'s stderr ---", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub csrf: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

/// The `content` of `<meta name="csrf-token" …>`.
pub fn csrf_meta(html: &str) -> Option<String> {
    attr_after(html, r#"<meta name="csrf-token" content=""#)
}

/// The value of the attribute whose opening (`name="`) is `prefix`, first occurrence.
pub fn attr_after(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(crate::support::unescape(&html[start..end]))
}

impl Client {
    /// Logs in through `GET /login` and `POST /login`, then reads the CSRF token of
    /// the session from `GET /contacts`.
    pub async fn login(server: &Server, email: &str) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let mut c = Client { http, base: server.base.clone(), csrf: String::new() };
        let r = c.get("/login").await;
        assert_eq!(r.status, StatusCode::OK, "GET /login");
        c.csrf = csrf_meta(&r.body).expect("csrf meta on the login page");
        let r = c.post("/login", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "POST /login as {email}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some("/contacts"), "login redirect");
        c.contacts_page().await;
        c
    }

    /// `GET /contacts`: refreshes the CSRF token; returns the page.
    pub async fn contacts_page(&mut self) -> String {
        let r = self.get("/contacts").await;
        assert_eq!(r.status, StatusCode::OK, "GET /contacts");
        self.csrf = csrf_meta(&r.body).expect("csrf meta on the contacts page");
        r.body
    }

    pub async fn get(&self, path: &str) -> Reply {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        reply(res).await
    }

    /// A form POST with the session's `csrf_token`.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post_with(path, form, false).await
    }

    async fn post_with(&self, path: &str, form: &[(&str, &str)], htmx: bool) -> Reply {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf_token", &self.csrf));
        let mut req = self.http.post(format!("{}{path}", self.base)).form(&fields);
        if htmx {
            req = req.header("HX-Request", "true");
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        reply(res).await
    }

    /// "Select all N contacts in this account" + typed DELETE, as the list page sends it:
    /// the `as_of` is the `data-as-of` of `#list-meta`.
    pub async fn delete_all(&mut self, htmx: bool) -> Reply {
        let page = self.contacts_page().await;
        let meta = &page[page.find(r#"id="list-meta""#).expect("#list-meta on the contacts page")..];
        let as_of = attr_after(meta, r#"data-as-of=""#).expect("data-as-of on #list-meta");
        // every contact of the account: the count shown is typed as well
        let total = attr_after(meta, r#"data-total=""#).expect("data-total on #list-meta");
        let form = [("select_all", "true"), ("as_of", as_of.as_str()), ("confirm", "DELETE"), ("confirm_count", total.as_str())];
        self.post_with("/contacts/delete", &form, htmx).await
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = res.text().await.unwrap_or_default();
    Reply { status, location, body }
}

/// Polls `f` every `every` until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, every: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(every).await;
    }
}

/// The newest bulk job: (job id, batch id).
pub async fn latest_job(raw: &Raw) -> (i64, i64) {
    raw.one::<(i64, i64)>("select id, batch_id from bulk_jobs order by id desc limit 1", &[]).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRow {
    pub state: String,
    pub total: i64,
    pub deleted_count: i64,
}

pub async fn batch(raw: &Raw, id: i64) -> BatchRow {
    raw.one("select state, total, deleted_count from deletion_batches where id = $1", crate::args![id]).await
}

pub async fn job_state(raw: &Raw, id: i64) -> String {
    raw.one::<(String,)>("select state from bulk_jobs where id = $1", crate::args![id]).await.0
}

/// Waits until the batch has deleted some of its contacts but not all; fails if it
/// finished first (then there was no middle to test).
pub async fn wait_mid_job(raw: &Raw, batch_id: i64) -> BatchRow {
    eventually("the job to be part-way through", Duration::from_millis(2), || async {
        let b = batch(raw, batch_id).await;
        assert_eq!(b.state, "running", "the job finished before it could be observed part-way: {b:?}");
        (b.deleted_count > 0 && b.deleted_count < b.total).then_some(b)
    })
    .await
}

/// Waits until the job is done.
pub async fn wait_job_done(raw: &Raw, job: i64) {
    eventually("the job to be done", Duration::from_millis(100), || async {
        let s = job_state(raw, job).await;
        assert!(s == "queued" || s == "running" || s == "done", "job {job} ended as {s}");
        (s == "done").then_some(())
    })
    .await
}

/// The ids of every contact of account Acme.
pub async fn contact_ids(raw: &Raw) -> Vec<i64> {
    raw.ids("select c.id from contacts c join accounts a on a.id = c.account_id where a.name = $1 order by c.id", crate::args![ACCOUNT])
        .await
}

/// Per contact: its rows of every kind R2 removes, its active enrollments and the
/// community groups it owns.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub contacts: Vec<i64>,
    pub rows: HashMap<&'static str, HashMap<i64, i64>>,
    pub active_enrollments: HashMap<i64, i64>,
    pub owned_groups: HashMap<i64, i64>,
}

async fn per_contact(raw: &Raw, sql: &str) -> HashMap<i64, i64> {
    raw.all::<(i64, i64)>(sql, &[]).await.into_iter().collect()
}

pub async fn snapshot(raw: &Raw) -> Snapshot {
    let mut rows = HashMap::new();
    for table in REMOVED_KINDS {
        rows.insert(table, per_contact(raw, &format!("select contact_id, count(*) from {table} group by contact_id")).await);
    }
    Snapshot {
        contacts: contact_ids(raw).await,
        rows,
        active_enrollments: per_contact(raw, "select contact_id, count(*) from enrollments where status = 'active' group by contact_id").await,
        owned_groups: per_contact(
            raw,
            "select owner_contact_id, count(*) from community_groups where owner_contact_id is not null group by owner_contact_id",
        )
        .await,
    }
}

/// The snapshot before any deletion: every contact has rows of every kind, so the
/// checks below mean something.
pub async fn snapshot_before(raw: &Raw) -> Snapshot {
    let s = snapshot(raw).await;
    assert_eq!(s.contacts.len() as i64, CONTACTS, "seeded contacts");
    for table in REMOVED_KINDS {
        let with_rows = s.contacts.iter().filter(|c| s.rows[table].get(c).copied().unwrap_or(0) > 0).count();
        assert_eq!(with_rows as i64, CONTACTS, "seeded contacts with rows in {table}");
    }
    assert!(!s.active_enrollments.is_empty(), "the seed enrolls contacts in campaigns");
    assert_eq!(deleted(raw).await.len(), 0, "nothing is deleted before the test deletes");
    s
}

/// Deleted contacts of Acme: id → (deleted_at, deletion_batch_id).
pub async fn deleted(raw: &Raw) -> HashMap<i64, (i64, Option<i64>)> {
    raw.all::<(i64, i64, Option<i64>)>(
        "select c.id, c.deleted_at, c.deletion_batch_id from contacts c join accounts a on a.id = c.account_id
         where a.name = $1 and c.deleted_at is not null",
        crate::args![ACCOUNT],
    )
    .await
    .into_iter()
    .map(|(id, at, b)| (id, (at, b)))
    .collect()
}

/// R2 and R7 as seen in the database right now, against `before`:
/// - no contact half-deleted: a deleted contact has no rows of any kind R2 removes,
///   no active enrollment (those it had are stopped with reason `contact_deleted`) and
///   owns no community group;
/// - a live contact still has every row it had;
/// - every deleted contact belongs to one of `batches`, and each batch's
///   `deleted_count` is the number of contacts carrying its id;
/// - `restored` contacts (live again after a restore) have none of the removed rows.
///
/// Returns the deleted contacts.
pub async fn check_invariants(raw: &Raw, before: &Snapshot, batches: &[i64], restored: &HashSet<i64>) -> HashMap<i64, (i64, Option<i64>)> {
    let now = snapshot(raw).await;
    let gone = deleted(raw).await;
    assert_eq!(now.contacts, before.contacts, "soft deletion keeps every contact row");
    let mut problems = Vec::new();
    for (id, (_, b)) in &gone {
        match b {
            Some(b) if batches.contains(b) => {}
            other => problems.push(format!("deleted contact {id} has batch {other:?}, expected one of {batches:?}")),
        }
    }
    let mut check = |what: &str, before_map: &HashMap<i64, i64>, now_map: &HashMap<i64, i64>| {
        for c in &before.contacts {
            let (was, is) = (before_map.get(c).copied().unwrap_or(0), now_map.get(c).copied().unwrap_or(0));
            let expected = if gone.contains_key(c) || restored.contains(c) { 0 } else { was };
            if is != expected {
                let status = if gone.contains_key(c) { "deleted" } else if restored.contains(c) { "restored" } else { "live" };
                problems.push(format!("{status} contact {c}: {is} {what} (had {was}, expected {expected})"));
            }
        }
    };
    for table in REMOVED_KINDS {
        check(table, &before.rows[table], &now.rows[table]);
    }
    check("active enrollments", &before.active_enrollments, &now.active_enrollments);
    check("owned community groups", &before.owned_groups, &now.owned_groups);
    let stopped = per_contact(
        raw,
        "select contact_id, count(*) from enrollments where status = 'stopped' and stop_reason = 'contact_deleted' group by contact_id",
    )
    .await;
    for c in gone.keys().chain(restored.iter()) {
        let (was, is) = (before.active_enrollments.get(c).copied().unwrap_or(0), stopped.get(c).copied().unwrap_or(0));
        if was != is {
            problems.push(format!("contact {c}: {is} enrollments stopped for contact_deleted, had {was} active"));
        }
    }
    for b in batches {
        let row = batch(raw, *b).await;
        let carrying = gone.values().filter(|(_, cb)| *cb == Some(*b)).count() as i64;
        if row.deleted_count != carrying {
            problems.push(format!("batch {b} counts {} deleted contacts but {carrying} carry its id", row.deleted_count));
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        problems.truncate(20);
        panic!("{n} invariant violations, first ones:\n{}", problems.join("\n"));
    }
    gone
}

/// The `delete` audit events of a batch: (count of events, sum of their contact_count).
pub async fn delete_audit(raw: &Raw, batch_id: i64) -> (i64, i64) {
    raw.one::<(i64, i64)>(
        "select count(*), cast(coalesce(sum(contact_count), 0) as bigint) from audit_events where action = 'delete' and batch_id = $1",
        crate::args![batch_id],
    )
    .await
}

/// Parses the progress fragment: (done, total, state).
pub fn parse_progress(html: &str, job: i64) -> (i64, i64, String) {
    let at = html.find(&format!(r#"id="job-{job}""#)).unwrap_or_else(|| panic!("no progress of job {job} in:\n{html}"));
    let frag = &html[at..];
    let num = |s: &str| -> i64 { s.trim().replace(',', "").parse().unwrap_or_else(|e| panic!("number {s:?}: {e}")) };
    let s = frag.find("<strong>").expect("<strong>") + "<strong>".len();
    let e = frag[s..].find("</strong>").expect("</strong>") + s;
    let done = num(&frag[s..e]);
    let rest = frag[e + "</strong>".len()..].trim_start().strip_prefix("of ").expect("\"of\" after the count");
    let total = num(&rest[..rest.find(' ').expect("space after the total")]);
    let state = attr_after(frag, r#"class="badge badge-job-"#).expect("state badge");
    (done, total, state)
}
