//! Several app servers on one PostgreSQL database (SPEC §4), each running the bulk
//! worker: a job is worked on by one server at a time, survives the death of the server
//! that holds it, and overlapping deletions delete each contact once (R4).

use crate::harness::*;
use crate::support::TestDb;
use std::collections::HashSet;

async fn postgres(test: &str) -> Option<Crm> {
    let db = TestDb::postgres(test).await?;
    Some(setup(db).await)
}

/// The pid of the server whose worker holds the job's lease (worker ids are `<pid>-…`).
async fn lease_owner_pid(crm: &Crm, job: i64) -> Option<u32> {
    let owner: (Option<String>,) = crm.raw.one("select lease_owner from bulk_jobs where id = $1", crate::args![job]).await;
    owner.0.and_then(|o| o.split('-').next().and_then(|p| p.parse().ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_the_lease_holder_dies_and_the_other_finishes_the_job() {
    let Some(crm) = postgres(concat!(module_path!(), "::holder_dies")).await else { return };
    let before = snapshot_before(&crm.raw).await;
    let mut servers = vec![server(&crm, "a"), server(&crm, "b")];
    let mut admin = login(&servers[0], ADMIN).await;
    let r = admin.delete_all(false).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (job, batch_id) = latest_job(&crm.raw).await;

    wait_mid_job(&crm.raw, batch_id).await;
    // the lease is taken a moment after the first chunk by whichever server claims it
    let mut holder = None;
    for _ in 0..200 {
        holder = lease_owner_pid(&crm, job).await;
        if holder.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let holder = holder.expect("a running job has a lease owner");
    let idx = servers.iter().position(|s| s.pid == holder).expect("the lease owner is one of the two servers");
    servers[idx].kill();
    let survivor = &servers[1 - idx];

    check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
    wait_job_done(&crm.raw, job).await;
    assert_eq!(lease_owner_pid(&crm, job).await, None, "a finished job holds no lease");

    let gone = check_invariants(&crm.raw, &before, &[batch_id], &HashSet::new()).await;
    assert_eq!(gone.len() as i64, CONTACTS);
    assert_eq!(batch(&crm.raw, batch_id).await, BatchRow { state: "done".into(), total: CONTACTS, deleted_count: CONTACTS });
    assert_eq!(delete_audit(&crm.raw, batch_id).await, (1, CONTACTS));
    assert!(
        survivor.log().contains(&format!("job={job}")),
        "the surviving server {} ran the job; its log:\n{}",
        survivor.name,
        survivor.log()
    );
    survivor.assert_no_errors();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_overlapping_select_all_deletions_delete_each_contact_once() {
    let Some(crm) = postgres(concat!(module_path!(), "::overlapping")).await else { return };
    let before = snapshot_before(&crm.raw).await;
    let servers = [server(&crm, "a"), server(&crm, "b")];
    let mut a = login(&servers[0], ADMIN).await;
    let mut b = login(&servers[1], ADMIN).await;
    // The same select-all, sent to both servers at once.
    let (ra, rb) = tokio::join!(a.delete_all(false), b.delete_all(false));
    for r in [&ra, &rb] {
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let batches = crm.raw.ids("select id from deletion_batches order by id", &[]).await;
    assert_eq!(batches.len(), 2, "two deletions were started");
    let jobs = crm.raw.ids("select id from bulk_jobs order by id", &[]).await;
    assert!(!jobs.is_empty());

    eventually("every job to end", std::time::Duration::from_millis(100), || async {
        let open = crm.raw.count("bulk_jobs", "state <> 'done'", &[]).await;
        let running = crm.raw.count("deletion_batches", "state <> 'done'", &[]).await;
        (open == 0 && running == 0).then_some(())
    })
    .await;

    let gone = check_invariants(&crm.raw, &before, &batches, &HashSet::new()).await;
    assert_eq!(gone.len() as i64, CONTACTS, "every contact deleted");
    let mut counted = 0;
    for id in &batches {
        let row = batch(&crm.raw, *id).await;
        counted += row.deleted_count;
        let audit = delete_audit(&crm.raw, *id).await;
        let expected = if row.deleted_count > 0 { (1, row.deleted_count) } else { (0, 0) };
        assert_eq!(audit, expected, "delete audit of batch {id} ({row:?})");
    }
    assert_eq!(counted, CONTACTS, "each contact counted by exactly one deletion");
    for s in &servers {
        s.assert_no_errors();
    }
}
