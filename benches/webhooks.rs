//! Webhook throughput: how many events per second the sender delivers, and how many
//! deleted contacts they cover, measured on the real server and a receiver of its own.
//!
//! ```sh
//! cargo bench --bench webhooks                                   # SQLite, 20,000 contacts
//! WEBHOOK_BENCH_CONTACTS=5000 cargo bench --bench webhooks       # smaller
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/hooks_bench cargo bench --bench webhooks
//! ```
//!
//! Seeds an account (`contacts-admin seed --contacts`) in a fresh SQLite file, or in the
//! (empty) database of `DATABASE_URL`, starts `contacts-admin serve` (the release build)
//! with `--webhook-allow-host 127.0.0.1` and a 200 ms first retry, and a receiver on
//! 127.0.0.1 that answers 204, keeps connections open, counts requests and checks each
//! `Webhook-Signature`. An admin registers the receiver on the Webhooks page, then:
//!
//! 1. **live**: deletes every contact through the background job (`BULK_CHUNK` contacts
//!    per chunk, one `contact.deleted` event each, then `deletion.finished`) with the
//!    receiver answering at once: from the first event written to the last delivery
//!    received, so the deletion's own pace is part of it;
//! 2. **backlog**: the contacts restored, the same deletion with the receiver holding
//!    every request until the job is done; then it answers: from that moment to the last
//!    delivery received, the sender alone draining its outbox;
//! 3. **single**: `WEBHOOK_BENCH_SINGLES` contacts deleted one request at a time (two
//!    events each): from the first event written to the last delivery received.
//!
//! Nothing is asserted but that every event arrived with a valid signature. The figures
//! are wall-clock times of whole processes on whatever machine runs them.
//!
//! Environment: `WEBHOOK_BENCH_CONTACTS` (20000), `WEBHOOK_BENCH_CHUNK` (50, the server's
//! `BULK_CHUNK`), `WEBHOOK_BENCH_SINGLES` (200), `DATABASE_URL` (a fresh SQLite file).

#[path = "../tests/support/mod.rs"]
mod support;

use chrono::Utc;
use contacts_admin::clock::SystemClock;
use contacts_admin::domain::{AccountId, Actor, BatchId, UserId};
use contacts_admin::repo::Repo;
use contacts_admin::web::page::thousands;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::app::Client;
use support::child::{cli, Serve};
use support::hooks::{listen, read_request};
use support::Raw;
use tokio::io::AsyncWriteExt;

const ACCOUNT: &str = "Webhook Bench";
const ADMIN: &str = "hooks-admin@bench.test";
const PASSWORD: &str = "webhook-bench-admin-password";
/// How long a phase may take before the bench gives up on it.
const PHASE_LIMIT: Duration = Duration::from_secs(1800);

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// One request the receiver answered.
#[derive(Debug, Clone)]
struct Received {
    /// When it was read, Unix milliseconds (the clock the server stamps events with).
    at_ms: i64,
    id: String,
    kind: String,
    contacts: usize,
    signed: bool,
}

/// A tiny HTTP/1.1 receiver: answers every request 204 on a connection it keeps open,
/// unless held, then answers once released.
#[derive(Clone)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    received: Arc<Mutex<Vec<Received>>>,
    open: tokio::sync::watch::Sender<bool>,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver { secret: Arc::default(), received: Arc::default(), open: tokio::sync::watch::channel(true).0 }
    }

    async fn start(&self) -> String {
        let me = self.clone();
        listen(move |stream| {
            let me = me.clone();
            async move { me.serve(stream).await }
        })
        .await
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        while let Some(request) = read_request(&mut stream, &mut buf).await {
            let mut open = self.open.subscribe();
            if open.wait_for(|o| *o).await.is_err() {
                return;
            }
            let secret = self.secret.lock().unwrap().clone();
            let (id, json) = (request.id(), request.json().unwrap_or_default());
            // recorded before the answer, so that a delivery the server marks delivered
            // has always been counted here
            self.received.lock().unwrap().push(Received {
                at_ms: Utc::now().timestamp_millis(),
                signed: request.signed_with(&secret) && json["id"] == id.as_str(),
                id,
                kind: json["type"].as_str().unwrap_or("").to_string(),
                contacts: json["data"]["contact_ids"].as_array().map_or(0, Vec::len),
            });
            if stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.is_err() {
                return;
            }
        }
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// Polls `f` every 20 ms until it returns `Some`.
async fn until<T, Fut: std::future::Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> Fut) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < PHASE_LIMIT, "gave up after {PHASE_LIMIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one phase came to.
struct Phase {
    name: String,
    events: usize,
    contacts: usize,
    /// From the start of the measurement to the last delivery received.
    secs: f64,
    /// From the first to the last event written.
    written_secs: f64,
    duplicates: usize,
    bad_signatures: usize,
}

/// Waits until every event after row `after` is delivered and received, then sums it up
/// from `start_ms` (or, when `None`, from the first of those events written).
async fn measure(name: &str, raw: &Raw, receiver: &Receiver, after: i64, start_ms: Option<i64>) -> Phase {
    let events: Vec<(String, i64)> = raw.all("select event_id, created_at from webhook_events where id > $1", crate::args![after]).await;
    let ids: HashSet<String> = events.iter().map(|(id, _)| id.clone()).collect();
    until("every delivery to be received", || async {
        let open = raw.count("webhook_deliveries", "state <> 'delivered' and event_id > $1", crate::args![after]).await;
        (open == 0 && receiver.count() >= ids.len()).then_some(())
    })
    .await;
    let got = receiver.take();
    let mut seen = HashSet::new();
    let mut phase = Phase {
        name: name.to_string(),
        events: 0,
        contacts: 0,
        secs: 0.0,
        written_secs: 0.0,
        duplicates: 0,
        bad_signatures: 0,
    };
    for r in &got {
        assert!(ids.contains(&r.id), "the receiver got an event {} that is not one of this phase's", r.id);
        if !r.signed {
            phase.bad_signatures += 1;
        }
        if !seen.insert(r.id.clone()) {
            phase.duplicates += 1;
            continue;
        }
        phase.events += 1;
        if r.kind == "contact.deleted" {
            phase.contacts += r.contacts;
        }
    }
    assert_eq!(seen, ids, "{name}: every event arrived");
    let first_written = events.iter().map(|e| e.1).min().expect("events");
    let last_written = events.iter().map(|e| e.1).max().expect("events");
    let last_received = got.iter().map(|r| r.at_ms).max().expect("deliveries");
    phase.secs = (last_received - start_ms.unwrap_or(first_written)) as f64 / 1000.0;
    phase.written_secs = (last_written - first_written) as f64 / 1000.0;
    phase
}

async fn last_event(raw: &Raw) -> i64 {
    raw.opt_i64("select max(id) from webhook_events", &[]).await.unwrap_or(0)
}

/// Deletes every contact through the job; returns its batch once done.
async fn delete_all(admin: &mut Client, raw: &Raw) -> BatchId {
    let r = admin.delete_all(false).await;
    assert_eq!(r.status, 303, "delete-all: {}", r.body);
    let (job, batch) = raw.one::<(i64, i64)>("select id, batch_id from bulk_jobs order by id desc limit 1", &[]).await;
    until("the deletion job to finish", || async {
        let state = raw.one::<(String,)>("select state from bulk_jobs where id = $1", crate::args![job]).await.0;
        assert!(matches!(state.as_str(), "queued" | "running" | "done"), "the job ended {state}");
        (state == "done").then_some(())
    })
    .await;
    BatchId(batch)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means another bench was asked for
    if std::env::args().skip(1).any(|a| !a.starts_with('-') && !"webhooks".contains(a.as_str())) {
        return;
    }
    let contacts = env_or("WEBHOOK_BENCH_CONTACTS", 20_000).max(100);
    let chunk = env_or("WEBHOOK_BENCH_CHUNK", 50).max(1);
    let singles = env_or("WEBHOOK_BENCH_SINGLES", 200).clamp(1, contacts);
    let dir = tempfile::Builder::new().prefix("contacts-admin-webhook-bench-").tempdir().expect("a temporary folder");
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let backend = support::backend_name(contacts_admin::repo::Backend::of_url(&url));
    eprintln!("seeding {} contacts on {backend}…", thousands(contacts));
    cli(&url, &["create-user", "--account", ACCOUNT, "--email", ADMIN, "--password", PASSWORD, "--role", "admin"]);
    cli(&url, &["seed", "--account", ACCOUNT, "--contacts", &contacts.to_string()]);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let phases = rt.block_on(async {
        let receiver = Receiver::new();
        let hook_url = receiver.start().await;
        let server = Serve::new(&url)
            .arg("--webhook-allow-host")
            .arg("127.0.0.1")
            .env("WEBHOOK_RETRY_MS", "200")
            // the backlog phase holds requests until its deletion is done
            .env("WEBHOOK_TIMEOUT_SECS", "300")
            .env("BULK_THRESHOLD", "50")
            .env("BULK_CHUNK", chunk.to_string())
            .start();
        let raw = Raw::open(&url, 2).await;
        let mut admin = Client::signed_in(&server.base, ADMIN, PASSWORD).await;
        let r = admin.post("/webhooks", &[("url", hook_url.as_str()), ("events", "contact.deleted"), ("events", "deletion.finished")]).await;
        assert_eq!(r.status, 200, "register the receiver: {}", r.body);
        let start = r.body.find("whsec_").expect("the secret on the page");
        *receiver.secret.lock().unwrap() = r.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let (account, user) = raw
            .one::<(i64, i64)>("select a.id, u.id from accounts a join users u on u.account_id = a.id where u.email = $1", crate::args![ADMIN])
            .await;
        let repo = Repo::connect(&url, Arc::new(SystemClock)).await.expect("connect");
        let restore = |batch: BatchId| {
            let repo = repo.clone();
            async move {
                let r = repo.restore_batch(AccountId(account), Actor::ui(UserId(user)), batch).await.expect("restore the batch");
                assert_eq!(r.restored, contacts as u64, "every contact back");
            }
        };
        let mut phases = Vec::new();

        eprintln!("live: deleting every contact, the receiver answering at once…");
        let after = last_event(&raw).await;
        let batch = delete_all(&mut admin, &raw).await;
        phases.push(measure("delete-all, receiver live (first event written → last received)", &raw, &receiver, after, None).await);

        eprintln!("backlog: restoring, then deleting every contact with the receiver holding requests…");
        restore(batch).await;
        let after = last_event(&raw).await;
        receiver.open.send_replace(false);
        let batch = delete_all(&mut admin, &raw).await;
        let opened = Utc::now().timestamp_millis();
        receiver.open.send_replace(true);
        phases.push(measure("backlog, sender alone (receiver opens → last received)", &raw, &receiver, after, Some(opened)).await);

        eprintln!("single: deleting {singles} contacts one request at a time…");
        restore(batch).await;
        let ids = raw.ids("select id from contacts where account_id = $1 and deleted_at is null order by id limit $2", crate::args![account, singles]).await;
        let after = last_event(&raw).await;
        for id in &ids {
            let r = admin.post("/contacts/delete", &[("ids", id.to_string().as_str()), ("confirm", "DELETE")]).await;
            assert!(r.status == 303 || r.status == 200, "delete contact {id}: {} {}", r.status, r.body.chars().take(300).collect::<String>());
        }
        phases.push(measure(&format!("{singles} single deletions, one request each (first event → last received)"), &raw, &receiver, after, None).await);
        server.assert_no_errors();
        server.stop();
        raw.close().await;
        phases
    });

    let mut out = String::new();
    let _ = writeln!(out, "webhook throughput on {backend}: {} seeded contacts, BULK_CHUNK={chunk}, one endpoint on 127.0.0.1 answering 204", thousands(contacts));
    let _ = writeln!(out, "{:<76} {:>7} {:>9} {:>8} {:>9} {:>11} {:>9}", "phase", "events", "contacts", "secs", "events/s", "contacts/s", "written");
    for p in &phases {
        let _ = writeln!(
            out,
            "{:<76} {:>7} {:>9} {:>8.2} {:>9.1} {:>11.0} {:>8.2}s",
            p.name,
            thousands(p.events as i64),
            thousands(p.contacts as i64),
            p.secs,
            p.events as f64 / p.secs.max(0.001),
            p.contacts as f64 / p.secs.max(0.001),
            p.written_secs,
        );
    }
    let bad: usize = phases.iter().map(|p| p.bad_signatures).sum();
    let dup: usize = phases.iter().map(|p| p.duplicates).sum();
    let _ = writeln!(out, "every request's Webhook-Signature checked: {bad} invalid; {dup} duplicate deliveries");
    let _ = writeln!(out, "(written: from the first to the last event written by the deletion; wall-clock times of whole processes on a machine that may be shared)");
    println!("{out}");
    assert_eq!(bad, 0, "every signature is valid");
}
