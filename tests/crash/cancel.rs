//! Cancelling a bulk job part-way (L1): the batch stops, what it deleted stays deleted
//! (whole contacts only), and "Restore this batch" (R12) brings back exactly those.

use crate::harness::*;
use std::collections::HashSet;
use std::time::Duration;

crate::both_backends!(
    async fn cancel_mid_job_stops_the_batch_and_restore_brings_back_exactly_what_it_deleted(db: TestDb) {
        let crm = setup(db).await;
        let before = snapshot_before(&crm.raw).await;
        let server = server(&crm, "server");
        let mut admin = login(&server, ADMIN).await;
        let r = admin.delete_all(false).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (job, batch_id) = latest_job(&crm.raw).await;

        wait_mid_job(&crm.raw, batch_id).await;
        let r = admin.post(&format!("/bulk-actions/{job}/cancel"), &[]).await;
        assert_eq!(r.status, 303, "cancel: {}", r.body);
        assert_eq!(r.location(), Some("/bulk-actions"));
        assert_eq!(job_state(&crm.raw, job).await, "cancelled");
        let at_cancel = batch(&crm.raw, batch_id).await;
        assert_eq!(at_cancel.state, "cancelled");
        assert!(at_cancel.deleted_count > 0 && at_cancel.deleted_count < CONTACTS, "cancelled part-way: {at_cancel:?}");
        let gone = check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
        assert_eq!(gone.len() as i64, at_cancel.deleted_count);

        // The worker stops: nothing more is deleted while we watch for a while.
        for _ in 0..15 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(batch(&crm.raw, batch_id).await, at_cancel, "the batch moved after it was cancelled");
        }
        let still = check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
        assert_eq!(still, gone, "what the cancelled job deleted stays deleted, as it was");
        assert_eq!(job_state(&crm.raw, job).await, "cancelled");
        assert_eq!(
            delete_audit(&crm.raw, batch_id).await,
            (1, at_cancel.deleted_count),
            "the contacts a cancelled job deleted are in the audit log (R7)"
        );

        // The Bulk actions page shows the cancelled job and offers to restore its batch.
        let page = admin.get("/bulk-actions").await;
        assert_eq!(page.status, 200);
        assert_eq!(parse_progress(&page.body, job), (at_cancel.deleted_count, CONTACTS, "cancelled".to_string()));
        assert!(page.body.contains(&format!(r#"action="/batches/{batch_id}/restore""#)), "a Restore-this-batch form for batch {batch_id}");
        assert!(!page.body.contains(&format!(r#"action="/bulk-actions/{job}/cancel""#)), "no Cancel on a cancelled job");

        // Cancelling again is refused, and changes nothing.
        let r = admin.post(&format!("/bulk-actions/{job}/cancel"), &[]).await;
        assert_eq!(r.status, 409, "cancelling a cancelled job: {}", r.body);

        let r = admin.post(&format!("/batches/{batch_id}/restore"), &[("return_to", "/bulk-actions")]).await;
        assert_eq!(r.status, 303, "restore the batch: {}", r.body);
        // a batch above the bulk threshold is restored by a background job
        let start = std::time::Instant::now();
        while !deleted(&crm.raw).await.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "every contact of the batch is live again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let restored: HashSet<i64> = gone.keys().copied().collect();
        // (a restore clears the contacts' batch id, so no batch is checked here)
        check_invariants(&crm.raw, &before, &[], &restored).await;
        let audit: (i64, i64) = crm
            .raw
            .one(
                "select count(*), cast(coalesce(sum(contact_count), 0) as bigint) from audit_events where action = 'restore' and batch_id = $1",
                crate::args![batch_id],
            )
            .await;
        assert_eq!(audit, (1, at_cancel.deleted_count), "one restore audit event for exactly the contacts the job deleted");
        assert_eq!(batch(&crm.raw, batch_id).await, at_cancel, "restoring does not touch the batch's record");
        server.assert_no_errors();
    }
);
