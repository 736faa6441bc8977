//! The real `contacts-admin` binary as a child process with tiny chunks, clients signed
//! in on it, and the database-side checks of R2 and L2.

pub use crate::support::app::{attr_after, Client};
pub use crate::support::child::{ChildServer, Serve};
use crate::support::child::cli;
use crate::support::{Raw, TestDb, REMOVED_WITH_CONTACT, TEST_PASSWORD};
use contacts_admin::repo::Backend;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

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

/// A fresh database with account Acme (an admin, a regular user and [`CONTACTS`]
/// seeded contacts) and account Bravo (an admin), all made by the binary's CLI.
pub struct Crm {
    pub db: TestDb,
    pub raw: Raw,
    /// The servers' logs.
    pub logs: tempfile::TempDir,
}

pub async fn setup(db: TestDb) -> Crm {
    for (account, email, role) in [(ACCOUNT, ADMIN, "admin"), (ACCOUNT, USER, "user"), ("Bravo", OTHER_ADMIN, "admin")] {
        cli(&db.url, &["create-user", "--account", account, "--email", email, "--password", TEST_PASSWORD, "--role", role]);
    }
    let out = cli(&db.url, &["seed", "--account", ACCOUNT, "--contacts", &CONTACTS.to_string()]);
    assert!(out.contains(&format!("Seeded {CONTACTS} contacts")), "seed said: {out}");
    let raw = db.raw().await;
    let logs = tempfile::Builder::new().prefix("contacts-admin-crash-").tempdir().expect("temporary folder");
    Crm { db, raw, logs }
}

/// `contacts-admin serve` on `crm`'s database with tiny chunks, its log in `crm.logs`.
pub fn server(crm: &Crm, name: &str) -> ChildServer {
    Serve::new(&crm.db.url)
        .env("BULK_CHUNK", chunk(crm.db.backend).to_string())
        .env("BULK_THRESHOLD", THRESHOLD.to_string())
        .env("RUST_LOG", "info,sqlx=warn")
        // webhook tests' receivers listen on 127.0.0.1; retries come quickly
        .env("WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        .env("WEBHOOK_RETRY_MS", "200")
        .env("WEBHOOK_TIMEOUT_SECS", "2")
        .name(name)
        .log(crm.logs.path().join(format!("{name}.stderr")))
        .start()
}

/// A client signed in on `server` as `email`.
pub async fn login(server: &ChildServer, email: &str) -> Client {
    Client::signed_in(&server.base, email, TEST_PASSWORD).await
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
    for table in REMOVED_WITH_CONTACT {
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
    for table in REMOVED_WITH_CONTACT {
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
    for table in REMOVED_WITH_CONTACT {
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
