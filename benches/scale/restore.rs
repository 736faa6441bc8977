//! Deleting contacts by id through the form, then restoring them by batch.

use crate::config::Config;
use crate::http::Http;
use crate::job::wait_job;
use crate::measure::hwm_kb;
use crate::report::{rate, Report};
use crate::store::{account_ids, Store};
use crate::{args, start_server};
use contacts_admin::web::page::thousands;
use std::time::Instant;

/// Copy C: delete `n` contacts by id through the form, then restore them by batch.
pub async fn restore_phase(cfg: &Config, store: &Store, rep: &mut Report, mem: &mut Vec<(String, u64)>) {
    let db = store.copy("c").await;
    let mut server = start_server(cfg, store, &db, "c");
    let pid = server.pid;
    let mut http = Http::login(&server.base, cfg).await;
    let pool = db.open(2).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account");
    let ids = pool.ids("select id from contacts where account_id = $1 and deleted_at is null order by id limit $2", args![acc, cfg.restore]).await;
    let (lo, hi) = (ids[0], *ids.last().unwrap());
    let id_strings: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut pairs: Vec<(&str, &str)> = id_strings.iter().map(|s| ("ids", s.as_str())).collect();
    pairs.push(("confirm", "DELETE"));
    pairs.push(("reason", "scale benchmark"));
    let prev_job = pool.opt_i64("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let prev_batch = pool.opt_i64("select max(id) from deletion_batches", &[]).await.unwrap_or(0);
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
    let job = pool.opt_i64("select max(id) from bulk_jobs where account_id = $1", args![acc]).await.unwrap_or(0);
    let (del_secs, how) = if job > prev_job {
        let o = wait_job(&pool, job, t0, cfg.phase_timeout, |_, _| {}).await;
        (o.secs, format!("background job, {}", o.state))
    } else {
        (t0.elapsed().as_secs_f64(), "inside the request".to_string())
    };
    let batch = pool.i64("select max(id) from deletion_batches where account_id = $1", args![acc]).await;
    assert!(batch > prev_batch, "no deletion batch");
    let deleted = pool.i64("select count(*) from contacts where deletion_batch_id = $1 and deleted_at is not null", args![batch]).await;
    log!("  deleted {} in {:.1}s ({how}); restoring batch {batch} …", thousands(deleted), del_secs);
    let prev_job = pool.opt_i64("select max(id) from bulk_jobs", &[]).await.unwrap_or(0);
    let t = Instant::now();
    let (status, location, body) = http.post(&format!("/batches/{batch}/restore"), &[]).await;
    // above the server's bulk threshold the restore is a background job: wait for it
    let restore_job = pool.opt_i64("select max(id) from bulk_jobs where account_id = $1 and kind = 'restore'", args![acc]).await.unwrap_or(0);
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
        server.kill();
    }
    let live = pool.i64("select count(*) from contacts where account_id = $1 and id between $2 and $3 and deleted_at is null", args![acc, lo, hi]).await;
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

