//! What a new tag starts (W3): a tagging transaction reads the account's active
//! workflows, refuses a tag whose deletions its author may not start (R1, R5), and
//! queues a run of each workflow the tag triggers for the contacts it has just tagged,
//! in the same transaction, so no trigger is lost to a crash. Shared by every path that
//! adds a tag: a contact's creation or import, the list's Add tag, a workflow's Add tag.

use super::{push_ints, Binds, Dialect};
use crate::domain::{AccountId, ActiveWorkflow, TagAuthority, TagTriggers};
use crate::repo::{RepoError, RepoResult};
use sqlx::QueryBuilder;

/// Contacts per statement of [`enqueue_tag_triggers`].
pub(crate) const ENQUEUE_CHUNK: usize = 5_000;

/// The account's active workflows, read by a tagging transaction to learn what its tag
/// starts ([`TagTriggers`]).
pub(crate) const ACTIVE_WORKFLOWS: &str = "select id, name, trigger_tag, actions from workflows where account_id = $1 and status = 'active'";

pub(crate) fn active_workflows(rows: Vec<(i64, String, Option<String>, String)>) -> RepoResult<Vec<ActiveWorkflow>> {
    rows.into_iter()
        .map(|(id, name, trigger_tag, actions)| {
            Ok(ActiveWorkflow {
                id,
                name,
                trigger_tag: trigger_tag.unwrap_or_default(),
                actions: serde_json::from_str(&actions).map_err(|e| RepoError::Internal(format!("workflow {id}: actions: {e}")))?,
            })
        })
        .collect()
}

/// Refuses a tag on `contacts` contacts that would start deletions `by` did not agree
/// to: a regular user may not (R1), an admin must type DELETE first (R5).
pub(crate) fn check_tag_triggers(triggers: &TagTriggers, tag: &str, contacts: u64, by: TagAuthority) -> RepoResult<()> {
    if contacts == 0 || triggers.deleting.is_empty() || by.may_start_deletions() {
        return Ok(());
    }
    let what = triggers.explain(tag, contacts);
    Err(if by.is_admin {
        RepoError::ConfirmationRequired(format!("{what} Type DELETE to confirm."))
    } else {
        RepoError::Forbidden(format!("{what} Only an admin may delete contacts, so the tag was not added."))
    })
}

/// Queues, at `now`, a run of the workflows `triggers.direct` for the contacts `ids`:
/// those the caller's transaction has just given `tag`. Only those: another contact that
/// got the same tag in the same millisecond (another request, or before the workflow
/// was activated) is not theirs to queue; and only the workflows the caller checked, so
/// one activated meanwhile does not run on a check it was not part of. Each run keeps
/// who added the tag and whether they confirmed the deletions it starts.
pub(crate) fn enqueue_tag_triggers<'a, DB: Dialect>(
    account: AccountId,
    tag: &str,
    now: i64,
    ids: &[i64],
    triggers: &TagTriggers,
    by: TagAuthority,
) -> Option<QueryBuilder<'a, DB>> {
    if triggers.direct.is_empty() || ids.is_empty() {
        return None;
    }
    let mut qb = QueryBuilder::new(
        "insert into workflow_runs (account_id, workflow_id, contact_id, created_at, triggered_by_user_id, delete_confirmed) select w.account_id, w.id, t.contact_id, ",
    );
    qb.bind_int(now)
        .push(", ")
        .bind_opt_int(by.user.map(|u| u.0))
        .push(", ")
        .bind_int(i64::from(by.may_start_deletions()))
        .push(" from workflows w join contact_tags t on t.account_id = w.account_id and t.tag = w.trigger_tag where w.account_id = ")
        .bind_int(account.0)
        .push(" and w.status = 'active' and w.trigger_tag = ")
        .bind_text(tag)
        .push(" and w.id in (");
    push_ints(&mut qb, triggers.direct.iter().copied());
    qb.push(") and t.contact_id in (");
    push_ints(&mut qb, ids.iter().copied());
    qb.push(")");
    Some(qb)
}
