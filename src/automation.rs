//! Running a workflow's actions on contacts (W3): one service that the queued runs of
//! the background worker and an admin's test run on one contact both call.

use crate::domain::{AccountId, Actor, BatchId, ContactId, DeleteConfirmation, Selection, TagAuthority, WorkflowAction};
use crate::repo::{Repo, RepoResult, Workflow};

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

