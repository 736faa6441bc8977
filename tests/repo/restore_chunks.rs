//! Restore in chunks (R7, R12, R13): each chunk is its own short transaction that also
//! counts what it restored in the restore's audit event, so a restore that stops midway
//! leaves an audit trail of exactly what came back; a large restore runs as a background
//! job with its own cursor; two restores of one batch at once restore each contact once.

use crate::support::{refuse_restoring, Fixture, Raw};
use crate::{args, audit, both_backends, delete_ids};
use chrono::Duration;
use contacts_admin::domain::{Actor, BatchId, ContactId};
use contacts_admin::config::BulkSettings;
use contacts_admin::jobs::bulk::run_queued;
use contacts_admin::repo::{AuditAction, Backend, JobId, QueuedRestore, RestoreConflict};

/// `n` contacts with their own emails, oldest first.
async fn contacts(f: &Fixture, n: usize) -> Vec<ContactId> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(f.contact(&format!("Chunk{i}"), Some(&format!("chunk{i}@example.test")), &[]).await);
    }
    ids
}

/// Live contacts among `ids`, counted in the database.
async fn live_among(raw: &Raw, ids: &[ContactId]) -> i64 {
    let list = ids.iter().map(|c| c.0.to_string()).collect::<Vec<_>>().join(", ");
    raw.count("contacts", &format!("deleted_at is null and id in ({list})"), &[]).await
}

/// What the audit log says was restored, summed over its restore events.
async fn audited_restores(f: &Fixture) -> i64 {
    audit(&f.repo, f.acc.id, AuditAction::Restore).await.iter().map(|e| e.contact_count).sum()
}

async fn allow_restoring(raw: &Raw, backend: Backend) {
    match backend {
        Backend::Sqlite => raw.exec("drop trigger refuse_restore", &[]).await,
        Backend::Postgres => raw.exec("drop trigger refuse_restore on contacts", &[]).await,
    };
}

/// (state, done, restored, conflict_count, audit_event_id) of a job.
async fn job_row(raw: &Raw, job: JobId) -> (String, i64, i64, i64, Option<i64>) {
    raw.one("select state, done, restored, conflict_count, audit_event_id from bulk_jobs where id = $1", args![job.0]).await
}

fn settings(chunk: i64) -> BulkSettings {
    BulkSettings { threshold: 1, chunk: Some(chunk) }
}

async fn queue(f: &Fixture, batch: BatchId, total: i64) -> JobId {
    match f.repo.queue_restore_job(f.acc.id, batch, f.acc.admin, total).await.unwrap() {
        QueuedRestore::Queued(job) => job,
        other => panic!("expected a new job, got {other:?}"),
    }
}

both_backends!(async fn r12_a_batch_larger_than_a_chunk_comes_back_whole_and_one_audit_event_counts_it(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 23).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));

    let report = f.repo.restore_batch_in_chunks(f.acc.id, Actor::ui(f.acc.admin), deletion.batch, 5).await.unwrap();

    assert_eq!(report.restored, 23);
    assert!(report.conflicts.is_empty() && report.expired.is_empty());
    assert_eq!(live_among(&f.raw, &ids).await, 23);
    let events = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(events.len(), 1, "five chunks add to one event");
    assert_eq!((events[0].contact_count, events[0].batch_id), (23, Some(deletion.batch.0)));
    assert_eq!(events[0].actor_user_id, Some(f.acc.admin.0));

    // by ids, in chunks too
    let again = delete_ids(&f, &ids[..12]).await;
    assert_eq!(again.deleted, 12);
    let report = f.repo.restore_contacts_in_chunks(f.acc.id, Actor::ui(f.acc.admin), &ids[..12], 5).await.unwrap();
    assert_eq!(report.restored, 12);
    assert!(report.not_found.is_empty(), "{:?}", report.not_found);
    assert_eq!(live_among(&f.raw, &ids).await, 23);
    let events = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(events.iter().map(|e| e.contact_count).collect::<Vec<_>>(), vec![12, 23]);
});

both_backends!(async fn a_restore_that_fails_midway_leaves_an_audit_event_counting_exactly_what_came_back(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 23).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    // the 13th contact is in the third chunk of five: two chunks commit first
    refuse_restoring(&f.raw, f.db.backend, ids[12]).await;

    let failed = f.repo.restore_batch_in_chunks(f.acc.id, Actor::ui(f.acc.admin), deletion.batch, 5).await;

    let err = failed.expect_err("the database refused a contact");
    assert!(err.to_string().contains("may not come back"), "{err}");
    assert_eq!(live_among(&f.raw, &ids).await, 10, "the two chunks before the failure stay restored");
    assert_eq!(live_among(&f.raw, &ids[..10]).await, 10);
    assert_eq!(audited_restores(&f).await, 10, "the audit log says what came back");
    let events = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!((events.len(), events[0].batch_id), (1, Some(deletion.batch.0)));

    // once the cause is gone, restoring again brings back the rest, audited on its own
    allow_restoring(&f.raw, f.db.backend).await;
    let rest = f.repo.restore_batch_in_chunks(f.acc.id, Actor::ui(f.acc.admin), deletion.batch, 5).await.unwrap();
    assert_eq!(rest.restored, 13);
    assert_eq!(live_among(&f.raw, &ids).await, 23);
    assert_eq!(audited_restores(&f).await, 23);
});

both_backends!(async fn a_restore_job_moves_its_cursor_counts_and_audit_event_with_each_chunk(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 23).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    let job = queue(&f, deletion.batch, 23).await;
    assert_eq!(job_row(&f.raw, job).await.0, "queued");

    assert_eq!(run_queued(&f.repo, settings(4)).await.unwrap(), 1);

    assert_eq!(live_among(&f.raw, &ids).await, 23);
    let (state, done, restored, conflicts, audit_event) = job_row(&f.raw, job).await;
    assert_eq!((state.as_str(), done, restored, conflicts), ("done", 23, 23, 0));
    let events = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(events.len(), 1);
    assert_eq!((Some(events[0].id), events[0].contact_count, events[0].batch_id), (audit_event, 23, Some(deletion.batch.0)));
    let view = f.repo.bulk_job(f.acc.id, job).await.unwrap().unwrap();
    assert!(view.is_restore() && !view.is_active());
    assert_eq!((view.total, view.done, view.restored, view.restorable), (23, 23, 23, 0));
    // the deletion's own job list entry is untouched by the restore's figures
    assert_eq!(f.repo.batch_info(f.acc.id, deletion.batch).await.unwrap().unwrap().deleted, 23);
});

both_backends!(async fn a_restore_job_that_fails_midway_keeps_its_audit_exact_and_resumes_where_it_stopped(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 23).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    refuse_restoring(&f.raw, f.db.backend, ids[9]).await;
    let job = queue(&f, deletion.batch, 23).await;

    assert!(run_queued(&f.repo, settings(4)).await.is_err(), "the third chunk fails");

    let (state, done, restored, _, audit_event) = job_row(&f.raw, job).await;
    assert_eq!((state.as_str(), done, restored), ("running", 8, 8));
    assert_eq!(live_among(&f.raw, &ids).await, 8);
    assert_eq!(audited_restores(&f).await, 8);
    assert!(audit_event.is_some());

    // the cause removed and the lease run out, the job resumes after its cursor and adds
    // to the same audit event
    allow_restoring(&f.raw, f.db.backend).await;
    f.advance(Duration::seconds(11));
    assert_eq!(run_queued(&f.repo, settings(4)).await.unwrap(), 1);
    let (state, done, restored, _, resumed_event) = job_row(&f.raw, job).await;
    assert_eq!((state.as_str(), done, restored), ("done", 23, 23));
    assert_eq!(resumed_event, audit_event);
    assert_eq!(live_among(&f.raw, &ids).await, 23);
    let events = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(events.iter().map(|e| e.contact_count).collect::<Vec<_>>(), vec![23]);
});

both_backends!(async fn r13_an_email_taken_between_two_chunks_of_a_job_is_reported_per_contact(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 23).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    let job = queue(&f, deletion.batch, 23).await;
    let claimed = f.repo.claim_bulk_job("worker-1", 10_000).await.unwrap().expect("the queued job");
    assert_eq!((claimed.id, claimed.kind.as_str()), (job.0, "restore"));

    let first = f.repo.restore_job_chunk(job, "worker-1", 10_000, 5).await.unwrap().expect("a chunk");
    assert_eq!((first.restored, first.done), (5, false));
    // another worker's call does nothing
    assert!(f.repo.restore_job_chunk(job, "worker-2", 10_000, 5).await.unwrap().is_none());
    // between two chunks, someone creates a live contact with a later contact's email
    let taker = f.contact("Taker", Some("chunk12@example.test"), &[]).await;
    let mut conflicts = Vec::new();
    loop {
        let step = f.repo.restore_job_chunk(job, "worker-1", 10_000, 5).await.unwrap().expect("a chunk");
        conflicts.extend(step.conflicts);
        if step.done {
            break;
        }
    }

    assert_eq!(conflicts, vec![RestoreConflict {
            contact_id: ids[12].0,
            name: "Chunk12 Tester".into(),
            email: "chunk12@example.test".into(),
            live_contact_id: taker.0,
            live_name: "Taker Tester".into()
        }]);
    assert_eq!(live_among(&f.raw, &ids).await, 22);
    assert_eq!(f.raw.count("contacts", "deleted_at is not null and id = $1", args![ids[12]]).await, 1);
    assert_eq!(audited_restores(&f).await, 22);
    let (_, done, restored, conflict_count, _) = job_row(&f.raw, job).await;
    assert_eq!((done, restored, conflict_count), (23, 22, 1));
    let view = f.repo.bulk_job(f.acc.id, job).await.unwrap().unwrap();
    assert_eq!(view.conflicts, vec![(ids[12].0, taker.0)]);
});

both_backends!(async fn two_restores_of_one_batch_at_once_restore_each_contact_once(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 40).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    let other = f.another_repo().await;
    let actor = Actor::ui(f.acc.admin);

    let (a, b) = tokio::join!(
        f.repo.restore_batch_in_chunks(f.acc.id, actor, deletion.batch, 3),
        other.restore_batch_in_chunks(f.acc.id, actor, deletion.batch, 3),
    );

    let (a, b) = (a.expect("first restore"), b.expect("second restore"));
    assert_eq!(a.restored + b.restored, 40, "{} + {}", a.restored, b.restored);
    assert!(a.conflicts.is_empty() && b.conflicts.is_empty());
    assert_eq!(live_among(&f.raw, &ids).await, 40);
    assert_eq!(audited_restores(&f).await, 40, "the audit log counts each contact once");
    assert_eq!(f.raw.count("contacts", "deletion_batch_id = $1", args![deletion.batch.0]).await, 0);

    // two requests for a background restore of one deletion at once: one job
    let again = delete_ids(&f, &ids).await;
    let (x, y) = tokio::join!(
        f.repo.queue_restore_job(f.acc.id, again.batch, f.acc.admin, 40),
        other.queue_restore_job(f.acc.id, again.batch, f.acc.admin, 40),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    let ids_of = |q: QueuedRestore| match q {
        QueuedRestore::Queued(j) => (j, true),
        QueuedRestore::AlreadyRunning(j) => (j, false),
    };
    let ((jx, new_x), (jy, new_y)) = (ids_of(x), ids_of(y));
    assert_eq!(jx, jy, "the same job");
    assert!(new_x ^ new_y, "exactly one of them queued it");
    assert_eq!(f.raw.count("bulk_jobs", "kind = 'restore' and batch_id = $1", args![again.batch.0]).await, 1);
    assert_eq!(run_queued(&f.repo, settings(7)).await.unwrap(), 1);
    assert_eq!(live_among(&f.raw, &ids).await, 40);
    assert_eq!(audited_restores(&f).await, 80);
});

both_backends!(async fn a_cancelled_restore_job_stops_after_its_chunk_and_its_audit_counts_what_came_back(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = contacts(&f, 12).await;
    let deletion = delete_ids(&f, &ids).await;
    f.advance(Duration::hours(1));
    let job = queue(&f, deletion.batch, 12).await;
    f.repo.claim_bulk_job("worker-1", 10_000).await.unwrap().expect("the queued job");
    let first = f.repo.restore_job_chunk(job, "worker-1", 10_000, 5).await.unwrap().expect("a chunk");
    assert_eq!(first.restored, 5);

    assert!(f.repo.cancel_bulk_job(f.acc.id, job).await.unwrap());

    assert!(f.repo.restore_job_chunk(job, "worker-1", 10_000, 5).await.unwrap().is_none(), "a cancelled job restores no more");
    assert_eq!(job_row(&f.raw, job).await.0, "cancelled");
    assert_eq!(live_among(&f.raw, &ids).await, 5);
    assert_eq!(audited_restores(&f).await, 5);
    // the deletion it was restoring is left as it was, and the rest can still be restored
    let batch = f.repo.batch_info(f.acc.id, deletion.batch).await.unwrap().unwrap();
    assert_eq!((batch.state.as_str(), batch.restorable), ("done", 7));
    let rest = f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), deletion.batch).await.unwrap();
    assert_eq!(rest.restored, 7);
    assert_eq!(audited_restores(&f).await, 12);
});
