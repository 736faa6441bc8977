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
//! - copy C, served: delete 10,000 contacts by id, then restore them by batch;
//! - copy F: every contact marked deleted and R2's statements, set-based in one
//!   transaction on the data without the product's triggers and extra indexes: the
//!   floor the job's time is divided by.
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
//! look after a change), `BENCH_DELETE_ONLY` (1: only copies B, D and F, the delete-all
//! figures), `BENCH_FLOOR` (0: no copy F), `BENCH_SERVER_LOG` (the servers' `RUST_LOG`,
//! e.g. `warn,contacts_admin::jobs=info,sqlx::query=debug` to log every statement with
//! its time).
//! `BULK_THRESHOLD` and `BULK_CHUNK` pass through to the server.

#[path = "../../tests/support/mod.rs"]
mod support;

/// Progress goes to stderr; the result table goes to stdout at the end.
macro_rules! log {
    ($($arg:tt)*) => {
        eprintln!("[{:>7.1}s] {}", $crate::started().elapsed().as_secs_f64(), format!($($arg)*))
    };
}

mod config;
mod export;
mod floor;
mod http;
mod job;
mod master;
mod measure;
mod pages;
mod purge;
mod report;
mod restore;
mod sql;
mod store;

use config::Config;
use contacts_admin::repo::Backend;
use contacts_admin::web::page::thousands;
use http::Http;
use report::{mib, rate, Report};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;
use store::{account_ids, DbRef, PgAdmin, Store};
use support::backend_name;
use support::child::{ChildServer, Serve};

const ACCOUNT: &str = "Scale Bench";
const ADMIN_EMAIL: &str = "scale-admin@bench.test";
const ADMIN_PASSWORD: &str = "scale-bench-admin-password";
const DAY_SECS: i64 = 86_400;

fn started() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// `contacts-admin serve` on copy `which`, its log in `target/bench/`.
fn start_server(cfg: &Config, store: &Store, db: &DbRef, which: &str) -> ChildServer {
    let log = cfg.dir.join(format!("server-{}-{which}.log", backend_name(store.backend())));
    let filter = std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn,contacts_admin::jobs=info".to_string());
    Serve::new(&db.url()).env("RUST_LOG", filter).log(log).start()
}

/// Copy A: pages, export, delete-all through the job (with readers), purge.
/// Returns the delete-all job's time in seconds and its rate once the readers stopped.
async fn product_phases(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) -> Option<(f64, Option<f64>)> {
    let db = store.copy("a").await;
    let server = start_server(cfg, store, &db, "a");
    let pid = server.pid;
    let mut http = Http::login(&server.base, cfg).await;
    let pool = db.open(2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    mem.push(("started, signed in".into(), measure::hwm_kb(pid).unwrap_or(0)));

    // 1. the list pages, one target at a time
    pages::contacts_pages(cfg, &mut http, rep).await;
    mem.push(("after the contacts pages".into(), measure::hwm_kb(pid).unwrap_or(0)));
    if cfg.pages_only {
        pool.close().await;
        server.stop();
        return None;
    }
    // 2. export every contact
    export::export_all(cfg, &http, pid, rep, mem).await;
    // 3. delete-all through the product's job, readers on the list for the first part
    let (outcome, unloaded_rate) = job::delete_all_with_readers(cfg, &server, &mut http, &pool, acc, rep, mem).await;
    pool.close().await;
    server.stop();
    // 4. purge, 61 days later, by the CLI
    purge::purge_phase(cfg, &db, acc, rep).await;
    store.drop_copy(&db).await;
    (!outcome.timed_out && outcome.deleted > 0).then_some((outcome.secs, unloaded_rate))
}

/// Runs a phase; a panic in it (a failed request, an unexpected answer) becomes its
/// message, so that the other phases and backends still run and print.
async fn guarded<T>(fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(fut).catch_unwind().await.map_err(|e| {
        e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
    })
}

/// A phase's result; `None`, with a row saying `what` failed, when it panicked.
fn or_failed<T>(rep: &mut Report, what: &str, result: Result<Option<T>, String>) -> Option<T> {
    result.unwrap_or_else(|e| {
        rep.row(what, e);
        None
    })
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
    let name = backend_name(backend);
    log!("== {name} ==");
    master::ensure_master(cfg, &store, &mut rep).await;
    let version = master::describe_master(&store, &mut rep).await;
    let mut mem = Vec::new();
    let product = if cfg.delete_only { Ok(None) } else { guarded(product_phases(cfg, &store, &mut rep, &mut mem)).await };
    if cfg.pages_only {
        store.drop_copy(&store.copy_ref("a")).await;
        return format!("== {name} ({version}), contacts pages only ==\n{}", rep.out);
    }
    let product = or_failed(&mut rep, "PRODUCT PHASES FAILED", product);
    let sql = guarded(sql::sql_phase(&store, &mut rep)).await;
    let sql = or_failed(&mut rep, "SQL PHASE FAILED", sql);
    let alone = guarded(job::job_alone_phase(cfg, &store, &mut rep, &mut mem)).await;
    let alone = or_failed(&mut rep, "JOB-ALONE PHASE FAILED", alone);
    let floor = guarded(floor::floor_phase(cfg, &store, &mut rep)).await;
    if let (Some((f, _)), Some((a, _))) = (or_failed(&mut rep, "FLOOR PHASE FAILED", floor), alone) {
        rep.row("ratio product job alone / floor (time)", format!("{:.1}× ({a:.1}s vs {f:.2}s)", a / f));
    }
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
    if !cfg.delete_only {
        if let Err(e) = guarded(restore::restore_phase(cfg, &store, &mut rep, &mut mem)).await {
            rep.row("RESTORE PHASE FAILED", e);
        }
    }
    for which in ["a", "b", "c", "d", "f"] {
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
    format!("== {name} ({version}) ==\n{}", rep.out)
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
        "BENCH_DELETE_ONLY",
        "BENCH_FLOOR",
        "BENCH_SERVER_LOG",
        "BULK_THRESHOLD",
        "BULK_CHUNK",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
    .collect();
    let _ = writeln!(head, "contacts-admin scale benchmark");
    let _ = writeln!(head, "command: {}cargo bench --bench scale", envs.iter().map(|e| format!("{e} ")).collect::<String>());
    let _ = writeln!(head, "argv: {}", std::env::args().collect::<Vec<_>>().join(" "));
    let _ = writeln!(head, "machine: {}", report::machine_info());
    let _ = writeln!(head, "commit: {}", report::commit());
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
