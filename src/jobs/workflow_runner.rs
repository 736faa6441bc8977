//! W3: runs queued workflows inside the server. Runs are claimed from the database in
//! bursts (one deletion batch per workflow per burst), so a restart or a crash loses
//! nothing, and with several servers on one PostgreSQL each run goes to one of them.
//! Every action is idempotent — tagging, untagging and deleting (R4) — so a run
//! retried after a crash has its effect exactly once.

use crate::automation::execute;
use crate::domain::{AccountId, Actor, ContactId, TagAuthority, UserId, WorkflowId};
use crate::repo::{ClaimedRun, Repo, RepoError, RepoResult};
use std::collections::BTreeMap;
use std::time::Duration;

/// Runs claimed per burst.
const BURST: i64 = 500;
/// How long a claim holds before another worker may take the runs over.
const LEASE_MS: i64 = 120_000;
/// How often an idle worker looks for runs queued by other processes.
const POLL: Duration = Duration::from_secs(2);

/// Claims and runs one burst of queued runs; returns how many runs it handled.
pub async fn run_burst(repo: &Repo, worker: &str) -> RepoResult<usize> {
    let runs = repo.claim_runs(worker, BURST, LEASE_MS).await?;
    let n = runs.len();
    // one execution per workflow and per person whose tag queued the runs: each
    // deletion names who triggered it, and runs only on what they agreed to
    let mut groups: BTreeMap<(i64, i64, Option<i64>, bool), Vec<ClaimedRun>> = BTreeMap::new();
    for r in runs {
        groups.entry((r.account_id, r.workflow_id, r.triggered_by_user_id, r.delete_confirmed == 1)).or_default().push(r);
    }
    for ((account, workflow, triggered_by, confirmed), runs) in groups {
        let account = AccountId(account);
        let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
        let wf = repo.get_workflow(account, WorkflowId(workflow)).await?;
        let Some(wf) = wf.filter(|w| w.status == crate::domain::WorkflowStatus::Active) else {
            repo.finish_runs(&ids, "skipped", "The workflow was paused or removed before it ran.", None, None).await?;
            continue;
        };
        let Some(admin) = wf.activated_by else {
            repo.finish_runs(&ids, "failed", "Not run.", Some("The workflow has no activating user."), None).await?;
            continue;
        };
        let tagger = TagAuthority::chained(triggered_by.map(UserId), confirmed);
        if wf.deletes() && !tagger.may_start_deletions() {
            // the workflow was changed to delete after the tag was added: the person
            // who added it never agreed to a deletion
            repo.finish_runs(
                &ids,
                "failed",
                "Not run.",
                Some("This workflow deletes contacts, and the tag was added without an admin's DELETE confirmation (the workflow changed after the tag was added)."),
                None,
            )
            .await?;
            continue;
        }
        let mut contacts: Vec<ContactId> = runs.iter().map(|r| ContactId(r.contact_id)).collect();
        contacts.sort_unstable();
        contacts.dedup();
        let actor = Actor::workflow(wf.id, admin, tagger.user);
        match execute(repo, account, &wf, &contacts, actor, tagger).await {
            Ok(done) => {
                let (applied, skipped): (Vec<&ClaimedRun>, Vec<&ClaimedRun>) =
                    runs.iter().partition(|r| done.applied.contains(&ContactId(r.contact_id)));
                let applied: Vec<i64> = applied.iter().map(|r| r.id).collect();
                let skipped: Vec<i64> = skipped.iter().map(|r| r.id).collect();
                repo.finish_runs(&applied, "done", &capitalize(&done.summary), None, done.batch).await?;
                repo.finish_runs(&skipped, "skipped", "The contact was no longer live; nothing done.", None, None).await?;
            }
            Err(RepoError::Forbidden(msg)) if wf.deletes() => {
                repo.finish_runs(&ids, "failed", "Not run.", Some(&format!("{msg} (the user who activated this workflow)")), None).await?;
            }
            // a tag this workflow adds would start deletions the person who started
            // it did not confirm
            Err(e @ (RepoError::Forbidden(_) | RepoError::ConfirmationRequired(_))) => {
                repo.finish_runs(&ids, "failed", "Not run.", Some(&e.to_string()), None).await?;
            }
            Err(e @ RepoError::Invalid(_)) => {
                repo.finish_runs(&ids, "failed", "Not run.", Some(&e.to_string()), None).await?;
            }
            // database trouble: leave the runs claimed; the lease expires and they
            // are retried
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The worker loop: runs bursts while there is work, then waits for a signal from
/// this process or the next poll.
pub async fn run_forever(repo: Repo) {
    let worker = crate::token::worker_id();
    loop {
        match run_burst(&repo, &worker).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {
                tokio::select! {
                    _ = repo.work_queued() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "workflow runs failed; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
