//! L1 over HTTP: the progress of a job is visible and grows, the Bulk actions page lists
//! it with its state, and only the account's admins see or touch it (R1, tenant isolation).

use crate::harness::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The state of job `job` in the Bulk actions page, if it is listed.
fn listed_state(page: &str, job: i64) -> Option<String> {
    page.contains(&format!(r#"id="job-{job}""#)).then(|| parse_progress(page, job).2)
}

/// Requests of a regular user and of another account's admin, made while the job runs:
/// refused, and harmless.
async fn outsiders_are_refused(user: &mut Client, other: &mut Client, job: i64) {
    let progress = format!("/bulk-actions/{job}/progress");
    let cancel = format!("/bulk-actions/{job}/cancel");
    assert_eq!(user.get("/bulk-actions").await.status, 403, "a regular user on /bulk-actions");
    assert_eq!(user.get(&progress).await.status, 403, "a regular user on the progress");
    let r = user.post(&cancel, &[]).await;
    assert_eq!(r.status, 403, "a regular user cancelling: {}", r.body);

    assert_eq!(other.get(&progress).await.status, 404, "another account's admin on the progress");
    let r = other.post(&cancel, &[]).await;
    assert_eq!(r.status, 404, "another account's admin cancelling: {}", r.body);
    let page = other.get("/bulk-actions").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_state(&page.body, job), None, "another account's Bulk actions page does not list the job");
}

crate::both_backends!(
    async fn progress_grows_over_http_and_only_the_accounts_admins_see_or_cancel_the_job(db: TestDb) {
        let crm = setup(db).await;
        let server = server(&crm, "server");
        let mut admin = login(&server, ADMIN).await;
        let mut user = login(&server, USER).await;
        let mut other = login(&server, OTHER_ADMIN).await;

        // From the list page, htmx gets 202 and the progress bar, which polls itself.
        let r = admin.delete_all(true).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let (job, batch_id) = latest_job(&crm.raw).await;
        assert!(r.body.contains(&format!(r#"hx-get="/bulk-actions/{job}/progress?in=alert""#)), "a polling progress bar:\n{}", r.body);
        let (done, total, state) = parse_progress(&r.body, job);
        assert_eq!(total, CONTACTS);
        assert!(done < CONTACTS && (state == "queued" || state == "running"), "a new job: {done} {state}");

        let mut samples: Vec<(i64, String)> = vec![(done, state)];
        let mut outsiders_checked = false;
        let start = Instant::now();
        loop {
            let r = admin.get(&format!("/bulk-actions/{job}/progress")).await;
            assert_eq!(r.status, 200);
            let (done, total, state) = parse_progress(&r.body, job);
            assert_eq!(total, CONTACTS);
            let running = state == "queued" || state == "running";
            samples.push((done, state.clone()));
            if running && done > 0 && !outsiders_checked {
                outsiders_checked = true;
                outsiders_are_refused(&mut user, &mut other, job).await;
                let page = admin.get("/bulk-actions").await;
                assert_eq!(page.status, 200);
                let listed = listed_state(&page.body, job).expect("the admin's Bulk actions page lists the job");
                assert!(listed == "running" || listed == "done", "listed as {listed}");
                // the job goes by its deletion's name, not a number
                assert!(page.body.contains("Deletion of 3,000 contacts on"), "the deletion's name on Bulk actions");
                assert!(!page.body.contains(&format!("#{job}<")), "no job number");
            }
            if !running {
                break;
            }
            assert!(start.elapsed() < WAIT, "the job did not end; progress so far: {samples:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        assert!(outsiders_checked, "the progress was never seen part-way through: {samples:?}");
        assert_eq!(samples.last(), Some(&(CONTACTS, "done".to_string())), "the job ends done with every contact");
        for w in samples.windows(2) {
            assert!(w[0].0 <= w[1].0, "progress went backwards: {samples:?}");
        }
        let middle: HashSet<i64> = samples.iter().filter(|(d, _)| *d > 0 && *d < CONTACTS).map(|(d, _)| *d).collect();
        assert!(!middle.is_empty(), "progress seen between 0 and {CONTACTS}: {samples:?}");

        // What the outsiders tried changed nothing.
        assert_eq!(batch(&crm.raw, batch_id).await, BatchRow { state: "done".into(), total: CONTACTS, deleted_count: CONTACTS });
        assert_eq!(job_state(&crm.raw, job).await, "done");

        let page = admin.get("/bulk-actions").await;
        assert_eq!(listed_state(&page.body, job).as_deref(), Some("done"));
        assert!(page.body.contains(&format!("Restore this deletion ({})", "3,000")), "a finished job offers its restore");
        assert!(!page.body.contains(&format!(r#"action="/bulk-actions/{job}/cancel""#)), "no Cancel on a finished job");
        outsiders_are_refused(&mut user, &mut other, job).await;
        server.assert_no_errors();
    }
);
