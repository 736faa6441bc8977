//! L2: `kill -9` of the server in the middle of a bulk job, then a restart.

use crate::harness::*;
use std::collections::HashSet;

crate::both_backends!(
    async fn sigkill_mid_job_then_restart_completes_without_half_deleted_or_twice_deleted_contacts(db: TestDb) {
        let crm = setup(db).await;
        let before = snapshot_before(&crm.raw).await;

        let mut first = server(&crm, "first");
        let mut admin = login(&first, ADMIN).await;
        let r = admin.delete_all(false).await;
        assert_eq!(r.status, 303, "select-all delete of {CONTACTS} contacts: {}", r.body);
        assert_eq!(r.location(), Some("/bulk-actions"), "a large deletion becomes a background job");
        let (job, batch_id) = latest_job(&crm.raw).await;
        assert_eq!(batch(&crm.raw, batch_id).await.total, CONTACTS);

        let mid = wait_mid_job(&crm.raw, batch_id).await;
        first.kill();

        // Right after the crash: whatever the last transaction was doing is either all
        // there or not there at all.
        let at_crash = check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
        let b = batch(&crm.raw, batch_id).await;
        assert_eq!(b.state, "running", "the batch is unfinished after the crash");
        assert!(b.deleted_count >= mid.deleted_count && b.deleted_count < CONTACTS, "part-way after the crash: {b:?}");
        assert_eq!(at_crash.len() as i64, b.deleted_count);
        assert_eq!(job_state(&crm.raw, job).await, "running", "the job still holds the dead server's lease");
        assert_eq!(delete_audit(&crm.raw, batch_id).await, (0, 0), "no audit event before the deletion ends");

        // The restarted server takes the job over once the dead one's lease runs out.
        let second = server(&crm, "second");
        wait_job_done(&crm.raw, job).await;

        let gone = check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
        let b = batch(&crm.raw, batch_id).await;
        assert_eq!(b, BatchRow { state: "done".into(), total: CONTACTS, deleted_count: CONTACTS }, "every contact deleted exactly once");
        assert_eq!(gone.len() as i64, CONTACTS);
        for (id, at) in &at_crash {
            assert_eq!(gone.get(id), Some(at), "contact {id}, deleted before the crash, was not deleted again");
        }
        assert_eq!(delete_audit(&crm.raw, batch_id).await, (1, CONTACTS), "one delete audit event for all the contacts");
        assert_eq!(crm.raw.count("bulk_jobs", "1 = 1", &[]).await, 1, "the restart resumed the job, it did not start another");
        assert_eq!(crm.raw.count("deletion_batches", "1 = 1", &[]).await, 1);

        // The page says so too.
        let mut admin = login(&second, ADMIN).await;
        let r = admin.get(&format!("/bulk-actions/{job}/progress")).await;
        assert_eq!(r.status, 200);
        assert_eq!(parse_progress(&r.body, job), (CONTACTS, CONTACTS, "done".to_string()));
        second.assert_no_errors();
    }
);
