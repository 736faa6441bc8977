//! The purge of every deleted contact by `contacts-admin purge`, with the clock 61 days
//! ahead and the server stopped.

use crate::config::Config;
use crate::report::{mib, rate, Report};
use crate::store::DbRef;
use crate::support::child::command;
use crate::support::Raw;
use crate::{args, DAY_SECS};
use crate::measure::hwm_kb;
use contacts_admin::web::page::thousands;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub async fn purge_phase(cfg: &Config, db: &DbRef, acc: i64, rep: &mut Report) {
    let pool = db.open(1).await;
    if let Raw::Postgres(p) = &pool {
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
    let of_account = "select count(*) from contacts where account_id = $1";
    let before_purge = pool.i64(of_account, args![acc]).await;
    pool.close().await;
    let offset = cfg.dir.join("clock-offset-61-days");
    std::fs::write(&offset, (61 * DAY_SECS).to_string()).expect("clock offset file");
    let t = Instant::now();
    let mut child = command(&db.url(), &["purge"])
        .env("CONTACTS_ADMIN_CLOCK_OFFSET_FILE", &offset)
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
    let pool = db.open(1).await;
    let remaining = pool.i64(of_account, args![acc]).await;
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
                format!(" — {}", cfg.stopped())
            } else if status.is_some_and(|s| !s.success()) {
                format!(" — FAILED: {}", out.trim())
            } else {
                String::new()
            }
        ),
    );
    rep.row("  check afterwards", format!("{} contacts of the account left (live ones included)", thousands(remaining)));
}
