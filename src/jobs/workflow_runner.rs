//! W3: runs queued workflows inside the server. Runs are claimed from the database in
//! bursts (one deletion batch per workflow per burst), so a restart or a crash loses
//! nothing, and with several servers on one PostgreSQL each run goes to one of them.
//! Every action is idempotent — tagging, untagging and deleting (R4) — so a run
//! retried after a crash has its effect exactly once.

use crate::domain::{AccountId, Actor, BatchId, ContactId, DeleteConfirmation, Selection, TagAuthority, UserId, WorkflowAction, WorkflowId};
use crate::repo::{ClaimedRun, Repo, RepoError, RepoResult, Workflow};
use std::collections::BTreeMap;
use std::time::Duration;

/// Runs claimed per burst.
const BURST: i64 = 500;
/// How long a claim holds before another worker may take the runs over.
const LEASE_MS: i64 = 120_000;
/// How often an idle worker looks for runs queued by other processes.
const POLL: Duration = Duration::from_secs(2);

/// What running a workflow's actions did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Execution {
    /// Contacts the actions applied to (live when the run started).
    pub applied: Vec<ContactId>,
    /// Contacts that were no longer live: nothing was done to them.
    pub skipped: Vec<ContactId>,
    /// The deletion batch, when an action deleted contacts.
    pub batch: Option<BatchId>,
    pub deleted: u64,
    /// One line per action, for the run history.
    pub summary: String,
}

/// Applies `wf`'s actions, in order, to the live contacts among `contacts`, as `actor`.
/// Deletion goes through the same repository path as the UI (R2–R7). Tags it adds
/// start other workflows with the authority of `tagger`, the person whose action
/// started this one: never more than they agreed to.
pub async fn execute(
    repo: &Repo,
    account: AccountId,
    wf: &Workflow,
    contacts: &[ContactId],
    actor: Actor,
    tagger: TagAuthority,
) -> RepoResult<Execution> {
    let live = repo.live_contact_ids(account, contacts).await?;
    let skipped = contacts.iter().filter(|c| !live.contains(c)).copied().collect();
    let mut out = Execution { applied: live.clone(), skipped, ..Default::default() };
    let mut remaining = live;
    let mut lines = Vec::new();
    for action in &wf.actions {
        if remaining.is_empty() {
            break;
        }
        match action {
            WorkflowAction::AddTag { tag } => {
                let n = repo.add_tag(account, &Selection::ids(remaining.clone())?, tag, tagger).await?.len();
                lines.push(format!("tag “{}” added to {n}", tag.as_str()));
            }
            WorkflowAction::RemoveTag { tag } => {
                let n = repo.remove_tag_from(account, &remaining, tag).await?;
                lines.push(format!("tag “{}” removed from {n}", tag.as_str()));
            }
            WorkflowAction::DeleteContact => {
                // The admin confirmed deletion when activating the workflow (or, for a
                // test run, typed DELETE); each run stands on that confirmation.
                let confirmed = DeleteConfirmation::parse(DeleteConfirmation::TEXT)?;
                let reason = format!("Workflow “{}”", wf.name);
                let report = repo.delete_contacts(account, actor, &Selection::ids(remaining.clone())?, Some(&reason), confirmed).await?;
                out.batch = Some(report.batch);
                out.deleted = report.deleted;
                lines.push(format!("deleted {}", crate::domain::plural(report.deleted as i64, "contact", "contacts")));
                remaining.clear();
            }
        }
    }
    out.summary = if lines.is_empty() { "nothing to do".into() } else { lines.join("; ") };
    Ok(out)
}

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
    let worker = format!("{}-{}", std::process::id(), crate::web::session::random_token().get(..8).unwrap_or("w"));
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
