//! Delete-all through the product's own job path (`POST /contacts/delete
//! select_all=true`): with readers on the list for its first part, and alone.

use crate::config::Config;
use crate::http::Http;
use crate::measure::{hwm_kb, load};
use crate::pages::page_targets;
use crate::report::{mib, rate, Report};
use crate::store::{account_ids, live_contacts, DbRef, Store};
use crate::support::child::ChildServer;
use crate::support::Raw;
use crate::{args, start_server};
use contacts_admin::web::page::thousands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct JobOutcome {
    pub state: String,
    pub deleted: i64,
    pub secs: f64,
    pub timed_out: bool,
}

impl JobOutcome {
    /// ", STOPPED after N min: partial" when the job ran out of time.
    fn stopped(&self, cfg: &Config) -> String {
        if self.timed_out {
            format!(", {}", cfg.stopped())
        } else {
            String::new()
        }
    }
}

/// Queues the delete-all of the account's live contacts through the page's own form
/// (`POST /contacts/delete select_all=true`) and checks it became a background job.
/// Returns the job's id, when the POST was sent and how long its answer took.
async fn queue_delete_all(http: &mut Http, pool: &Raw, acc: i64) -> (i64, Instant, f64) {
    // deleting every contact asks for the count shown as well as DELETE
    let (as_of, total) = http.c.list_meta().await;
    let prev_job = pool.opt_i64("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let t0 = Instant::now();
    let form = [("select_all", "true"), ("as_of", as_of.as_str()), ("confirm", "DELETE"), ("confirm_count", total.as_str()), ("reason", "scale benchmark")];
    let (status, location, body) = http.post("/contacts/delete", &form).await;
    let post_secs = t0.elapsed().as_secs_f64();
    assert!(status == 303 && location == "/bulk-actions", "delete-all was not queued as a job: {status} {location}\n{}", &body[..body.len().min(2000)]);
    let job = pool.i64("select max(id) from bulk_jobs where account_id = $1", args![acc]).await;
    assert!(job > prev_job, "no new bulk job");
    (job, t0, post_secs)
}

/// Cancels a job that ran past the phase's time limit (what is done stays done).
async fn cancel_if_timed_out(http: &mut Http, job: i64, outcome: &JobOutcome) {
    if outcome.timed_out {
        log!("  delete-all timed out after {:.0}s: cancelling job #{job}", outcome.secs);
        let _ = http.post(&format!("/bulk-actions/{job}/cancel"), &[]).await;
    }
}

/// Polls a bulk job in the database until it leaves queued/running, or the timeout.
/// `on_tick` sees (elapsed seconds, contacts deleted so far) every poll.
pub async fn wait_job(pool: &Raw, job: i64, t0: Instant, timeout: Duration, mut on_tick: impl FnMut(f64, i64)) -> JobOutcome {
    let mut last_log = Instant::now();
    loop {
        let (state, done): (String, i64) = pool
            .one(
                "select j.state, coalesce(case when j.kind = 'delete' then b.deleted_count end, j.done) from bulk_jobs j left join deletion_batches b on b.id = j.batch_id where j.id = $1",
                args![job],
            )
            .await;
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

/// Delete-all on `server` while `cfg.clients` readers load the list for the first
/// `cfg.load_secs`. Returns the job's outcome and its rate once the readers stopped.
pub async fn delete_all_with_readers(
    cfg: &Config,
    server: &ChildServer,
    http: &mut Http,
    pool: &Raw,
    acc: i64,
    rep: &mut Report,
    mem: &mut Vec<(String, u64)>,
) -> (JobOutcome, Option<f64>) {
    rep.line("");
    let live_before = live_contacts(pool, acc).await;
    log!("delete-all of {} contacts through POST /contacts/delete select_all=true …", thousands(live_before));
    let (job, t0, post_secs) = queue_delete_all(http, pool, acc).await;

    let stop = Arc::new(AtomicBool::new(false));
    let readers = {
        let (http, stop) = (http.clone(), stop.clone());
        let (clients, secs, targets) = (cfg.clients, cfg.load_secs, page_targets(cfg.contacts));
        tokio::spawn(async move { load(&http, &targets, clients, usize::MAX, secs, Some(stop)).await })
    };
    let mut load_end = None::<(f64, i64)>;
    let outcome = wait_job(pool, job, t0, cfg.phase_timeout, |secs, done| {
        if secs >= cfg.load_secs && load_end.is_none() {
            load_end = Some((secs, done));
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let reader_stats = readers.await.expect("readers");
    cancel_if_timed_out(http, job, &outcome).await;
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
            outcome.stopped(cfg),
            post_secs,
            std::env::var("BULK_CHUNK").unwrap_or_else(|_| "adaptive, ~1 s per transaction (default)".into()),
        ),
    );
    // the worker's own account of the job: how many transactions it took
    let log_text = server.log();
    if let Some(line) = log_text.lines().rev().find(|l| l.contains("bulk job done")) {
        let field = |k: &str| line.split(&format!("{k}=")).nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string);
        if let (Some(chunks), Some(last)) = (field("chunks"), field("last_chunk")) {
            rep.row("  transactions (chunks)", format!("{chunks}, the last sized for {last} contacts"));
        }
    }
    let mut unloaded_rate = None;
    match load_end {
        Some((ls, ld)) if outcome.secs - ls >= 1.0 => {
            unloaded_rate = Some((deleted - ld) as f64 / (outcome.secs - ls));
            rep.row(format!("  while {} readers ran (first {:.0}s)", cfg.clients, ls).as_str(), format!("{} contacts/s", rate(ld, ls)));
            rep.row("  after the readers stopped", format!("{} contacts/s over {:.1}s", rate(deleted - ld, outcome.secs - ls), outcome.secs - ls));
        }
        _ => rep.row(format!("  (readers ran through the whole job, {} clients)", cfg.clients).as_str(), ""),
    }
    let left = live_contacts(pool, acc).await;
    let msgs = pool.i64("select count(*) from messages where account_id = $1", args![acc]).await;
    rep.row("  check afterwards", format!("{} live contacts, {} messages left", thousands(left), thousands(msgs)));
    rep.stats_header(&format!("contacts page while the job runs ({} clients, mixed)", cfg.clients));
    for ((label, _), s) in page_targets(cfg.contacts).iter().zip(&reader_stats) {
        rep.stats_row(label, s);
    }
    mem.push(("after delete-all".into(), hwm_kb(server.pid).unwrap_or(0)));
    (outcome, unloaded_rate)
}

/// The same delete-all through the product's job on copy D, with nobody reading the
/// list: the product's own rate, to compare with the set-based SQL, which also runs
/// alone. Returns the job's seconds and contacts deleted.
pub async fn job_alone_phase(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) -> Option<(f64, i64)> {
    let db = store.copy("d").await;
    let server = start_server(cfg, store, &db, "d");
    let mut http = Http::login(&server.base, cfg).await;
    let pool = db.open(2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    log!("delete-all through the job again, no readers …");
    let (job, t0, _) = queue_delete_all(&mut http, &pool, acc).await;
    let outcome = wait_job(&pool, job, t0, cfg.phase_timeout, |_, _| {}).await;
    cancel_if_timed_out(&mut http, job, &outcome).await;
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
            outcome.stopped(cfg),
            thousands(left),
        ),
    );
    mem.push(("job-alone server, after delete-all".into(), hwm_kb(server.pid).unwrap_or(0)));
    if let DbRef::Sqlite(path) = &db {
        // the file keeps the longest the log has been since the copy, which starts without one
        let log = std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0);
        rep.row("  write-ahead log file after the job", mib(log / 1024));
    }
    pool.close().await;
    server.stop();
    store.drop_copy(&db).await;
    (!outcome.timed_out && outcome.deleted > 0).then_some((outcome.secs, outcome.deleted))
}
