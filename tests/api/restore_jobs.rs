//! Restore by batch through HTTP (R7, R12, R13): above the bulk threshold a background
//! job with its progress and outcome on the Bulk actions page; a restore that stops
//! midway says what came back and the audit log counts it; a busy database is never a 500.

use crate::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::{refuse_restoring, Fixture, Raw};
use crate::{args, audit_rows, both_backends, is_deleted, sqlite_only};
use chrono::Duration;
use contacts_admin::domain::{Actor, BatchId, ContactId, DeleteConfirmation, Selection};
use contacts_admin::config::BulkSettings;

/// `n` contacts with their own emails, deleted in one batch an hour ago.
async fn deleted_batch(f: &Fixture, n: usize) -> (Vec<ContactId>, BatchId) {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(f.contact(&format!("Batch{i}"), Some(&format!("batch{i}@example.test")), &[]).await);
    }
    let sel = Selection::ids(ids.clone()).expect("a selection");
    let confirm = DeleteConfirmation::parse("DELETE").expect("DELETE confirms");
    let report = f.repo.delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel, None, confirm).await.expect("delete");
    assert_eq!(report.deleted, n as u64);
    f.advance(Duration::hours(1));
    (ids, report.batch)
}

async fn live_among(raw: &Raw, ids: &[ContactId]) -> i64 {
    let list = ids.iter().map(|c| c.0.to_string()).collect::<Vec<_>>().join(", ");
    raw.count("contacts", &format!("deleted_at is null and id in ({list})"), &[]).await
}

async fn audited_restores(app: &TestApp) -> i64 {
    audit_rows(&app.f.raw, app.f.acc.id, "restore").await.iter().map(|e| e.2).sum()
}

/// Waits until no restore job is queued or running (the server's worker runs them).
async fn restore_jobs_settled(raw: &Raw) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while raw.count("bulk_jobs", "kind = 'restore' and state in ('queued', 'running')", &[]).await > 0 {
        assert!(std::time::Instant::now() < deadline, "restore jobs still running after two minutes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

both_backends!(async fn a_restore_above_the_threshold_runs_as_one_job_even_when_asked_twice_at_once(db: TestDb) {
    let app = spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 5, chunk: Some(3) }).await;
    let f = &app.f;
    let (ids, batch) = deleted_batch(f, 14).await;
    // since the deletion, a live contact took the email of one of them (R13)
    let taker = f.contact("Taker", Some("batch6@example.test"), &[]).await;
    let (mut one, mut two) = (app.admin().await, app.admin().await);
    let path = format!("/batches/{batch}/restore");

    let (a, b) = tokio::join!(one.post(&path, &[]), two.post(&path, &[]));

    a.assert_see_other("/bulk-actions");
    b.assert_see_other("/bulk-actions");
    restore_jobs_settled(&f.raw).await;
    assert_eq!(live_among(&f.raw, &ids).await, 13, "every contact but the conflicting one is back");
    assert!(is_deleted(&f.raw, ids[6]).await);
    assert_eq!(audited_restores(&app).await, 13, "the audit log counts each restored contact once");
    let jobs: Vec<(i64, String, i64, i64)> = f
        .raw
        .all("select id, state, restored, conflict_count from bulk_jobs where kind = 'restore' and batch_id = $1 order by id", args![batch.0])
        .await;
    assert!(jobs.iter().all(|j| j.1 == "done"), "{jobs:?}");
    assert_eq!(jobs.iter().map(|j| j.2).sum::<i64>(), 13, "{jobs:?}");
    let job = jobs[0].0;

    let page = one.get("/bulk-actions").await;
    // the flash of the request that queued it, or found it queued
    let text = page.text();
    assert!(text.contains("of the deletion of 14 contacts on") && (text.contains("in the background") || text.contains("is already being restored")), "{text}");
    assert!(!text.contains("job #") && !text.contains(&format!("#{batch}")), "jobs and deletions go by their names: {text}");
    page.assert_status(200)
        .assert_contains("Restore of the deletion of 14 contacts on")
        .assert_contains("Batch6 Tester was not restored:")
        .assert_contains("a live contact now uses the same email");
    assert!(page.body.contains(&format!("/contacts/{taker}")), "the conflict links the live contact");
    assert!(page.text().contains("13 contacts restored.") || jobs.len() == 2, "{}", page.text());
    one.get(&format!("/bulk-actions/{job}/progress")).await.assert_status(200).assert_contains("done");
});

both_backends!(async fn a_restore_that_stops_midway_says_what_came_back_and_the_audit_log_counts_it(db: TestDb) {
    let app = spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 100, chunk: Some(3) }).await;
    let f = &app.f;
    let (ids, batch) = deleted_batch(f, 10).await;
    // the third chunk holds the eighth contact
    refuse_restoring(&f.raw, f.db.backend, ids[7]).await;
    let mut c = app.admin().await;

    let r = c.post(&format!("/batches/{batch}/restore"), &[]).await;

    r.assert_status(500);
    assert_eq!(live_among(&f.raw, &ids).await, 6, "the two chunks before the failure stay restored");
    assert_eq!(audited_restores(&app).await, 6, "and the audit log says so");
    c.get("/contacts/restore").await.assert_contains("6 contacts were restored before the restore stopped");
});

sqlite_only!(async fn a_restore_while_another_writer_holds_the_lock_is_done_or_503_never_500(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let (ids, batch) = deleted_batch(f, 20).await;
    let mut c = app.admin().await;
    c.token().await;
    let crate::support::Raw::Sqlite(pool) = &f.raw else { unreachable!("a SQLite test") };
    let mut writer = pool.acquire().await.expect("a connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await.expect("the write lock");
    sqlx::query("update accounts set name = name where id = $1").bind(f.acc.id.0).execute(&mut *writer).await.expect("a write");

    let path = format!("/batches/{batch}/restore");
    // the request waits on the lock while the other writer finishes its work
    let other_writer = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        sqlx::query("COMMIT").execute(&mut *writer).await.expect("commit");
    };
    let (r, ()) = tokio::join!(c.post(&path, &[]), other_writer);

    assert!(r.status == 303 || r.status == 503, "status {}: {}", r.status, r.body);
    if r.status == 503 {
        assert!(r.header("retry-after").is_some(), "a 503 says when to try again");
    }
    let back = live_among(&f.raw, &ids).await;
    assert_eq!(audited_restores(&app).await, back, "the audit log counts what came back");
    if r.status == 303 {
        assert_eq!(back, 20);
    }
});
