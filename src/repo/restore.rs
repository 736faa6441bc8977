//! After deletion: the Restore page's list (U6), restore by ids or by batch within the
//! 60-day window (R8, R12) with email conflicts reported per contact (R13), erase now
//! (R14) and purge (R9, R10).

use super::sql::{
    from_millis, millis, on_db, push_deleted_filter, push_deleted_filter_walk, push_id_list, push_ints, retry_if, tx::is_transient, Binds,
    Dialect, Event, DEFAULT_CHUNK,
};
use super::{Repo, RepoError, RepoResult};
use crate::domain::restore_window::cutoff as restore_cutoff;
use crate::domain::{display_name, AccountId, Actor, BatchId, Channel, ContactId, DeleteConfirmation, DeletedFilter, JobId, RestoreSelection, UserId, WebhookEvent};
use sqlx::QueryBuilder;
use std::collections::BTreeMap;

/// Contacts erased or purged per transaction.
const CHUNK: i64 = 1000;

/// The most contacts one restore transaction takes, whatever size is asked: the chunk's
/// ids and emails are bound one by one, and both backends cap a statement's parameters
/// (SQLite at 32,766).
const MAX_CHUNK: i64 = 10_000;

/// Conflicts a restore job keeps by id for the Bulk actions page (R13); it counts the
/// rest.
const JOB_CONFLICTS_KEPT: usize = 100;

/// A deleted contact that cannot come back because a live contact has its email (R13),
/// both named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreConflict {
    pub contact_id: i64,
    pub name: String,
    pub email: String,
    pub live_contact_id: i64,
    pub live_name: String,
}

/// Names of restored contacts a report keeps for its message ("Ana Li and 41 others").
const NAMES_KEPT: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub restored: u64,
    /// The first few restored contacts' names.
    pub names: Vec<String>,
    pub conflicts: Vec<RestoreConflict>,
    /// Deleted contacts whose 60 days are over (R8).
    pub expired: Vec<ContactId>,
    /// Ids that are not deleted contacts of this account (live, unknown, another
    /// account's, or already purged).
    pub not_found: Vec<ContactId>,
}

impl RestoreReport {
    fn add(&mut self, step: RestoreStep) {
        self.restored += step.restored;
        let room = NAMES_KEPT.saturating_sub(self.names.len());
        self.names.extend(step.names.into_iter().take(room));
        self.conflicts.extend(step.conflicts);
        self.expired.extend(step.expired);
    }
}

/// What one chunk of a restore did, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreStep {
    /// Deleted contacts of the restore the chunk went through: restored, refused for
    /// their email (R13) or past the window (R8).
    pub scanned: u64,
    pub restored: u64,
    /// The first few restored contacts' names.
    pub names: Vec<String>,
    pub conflicts: Vec<RestoreConflict>,
    pub expired: Vec<ContactId>,
    /// The highest contact id the chunk went through; the next chunk starts after it.
    pub cursor: i64,
    /// The restore's audit event, once a chunk has restored anything.
    pub audit_event: Option<i64>,
    /// Nothing of the restore is left after `cursor`.
    pub done: bool,
}

/// What a restore job's chunk reads of its job row: cursor, audit event, state, lease
/// owner, conflicts kept so far, and whether its creator is still an admin.
type JobChunkRow = (i64, Option<i64>, String, Option<String>, Option<String>, i64);

/// Who a restore's audit event names and what it says (R7).
struct RestoreAudit<'a> {
    actor: Actor,
    description: &'a str,
    batch: Option<BatchId>,
}

/// Where a chunk takes up the restore: from the caller (a restore inside a request), or
/// from the row of a background job, which the chunk moves on in its own transaction.
enum ChunkFrom<'a> {
    Inline { cursor: i64, audit_event: Option<i64> },
    Job { job: JobId, worker: &'a str, lease_ms: i64 },
}

/// The audit description of a restore of one deletion: its id, no names (R10); the
/// audit page shows the deletion's name beside it.
fn batch_description(batch: BatchId) -> String {
    format!("everything deletion #{batch} removed")
}

/// PostgreSQL refused a restored contact's email because a transaction that committed
/// meanwhile gave it to a live contact (`contacts_live_email`).
fn is_live_email_race(e: &RepoError) -> bool {
    matches!(e, RepoError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EraseReport {
    pub erased: u64,
    pub not_found: Vec<ContactId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub purged: u64,
    pub per_account: BTreeMap<i64, u64>,
}

/// What a restore applies to: listed contacts, what one deletion removed, or the deleted
/// contacts a filter kept at `as_of` (in the window then, deleted by then) but `exclude`.
enum RestoreTarget<'a> {
    Ids(&'a [ContactId]),
    Batch(BatchId),
    Matching { filter: &'a DeletedFilter, as_of: i64, exclude: &'a [ContactId], walk: bool },
}

impl<'a> RestoreTarget<'a> {
    /// Appends ` and <alias>.… ` restricting to the target's contacts.
    fn push<DB: Dialect>(&self, qb: &mut QueryBuilder<'_, DB>, alias: &str) {
        match self {
            RestoreTarget::Ids(ids) => {
                qb.push(format!(" and {alias}.id in ("));
                push_id_list(qb, ids);
                qb.push(")");
            }
            RestoreTarget::Batch(b) => {
                qb.push(format!(" and {alias}.deletion_batch_id = ")).bind_int(b.0);
            }
            RestoreTarget::Matching { filter, as_of, exclude, walk } => {
                debug_assert_eq!(alias, "c");
                let plus = if *walk { "+" } else { "" };
                if *walk {
                    push_deleted_filter_walk(qb, filter, *as_of);
                } else {
                    push_deleted_filter(qb, filter, *as_of);
                }
                // what the admin saw: deleted by then, and still inside the window then
                let window = crate::domain::restore_window::cutoff(from_millis(*as_of));
                qb.push(format!(" and {plus}c.deleted_at <= "))
                    .bind_int(*as_of)
                    .push(format!(" and {plus}c.deleted_at > "))
                    .bind_int(millis(window));
                if !exclude.is_empty() {
                    qb.push(" and c.id not in (");
                    push_id_list(qb, exclude);
                    qb.push(")");
                }
            }
        }
    }
}

/// One chunk of a restore: the target's next `limit` deleted contacts, taken up `from`
/// the caller or a job, restored under `audit`.
struct RestoreChunk<'a> {
    account: AccountId,
    target: &'a RestoreTarget<'a>,
    audit: &'a RestoreAudit<'a>,
    from: &'a ChunkFrom<'a>,
    limit: i64,
}

/// A deleted contact of a restore's chunk: id, email, deleted at, first and last name.
type ChunkRow = (i64, Option<String>, i64, String, String);

/// The chunk: the target's next deleted contacts after the cursor, in id order. On
/// PostgreSQL they are locked in that order, so two restores of the same batch queue on
/// the same first row instead of deadlocking; the second then finds the rows the first
/// restored no longer deleted and skips them.
fn chunk_query<DB: Dialect>(account: AccountId, target: &RestoreTarget<'_>, cursor: i64, limit: i64) -> QueryBuilder<'static, DB> {
    let mut qb = QueryBuilder::new("select c.id, c.email, c.deleted_at, c.first_name, c.last_name from contacts c where c.account_id = ");
    qb.bind_int(account.0).push(" and c.deleted_at is not null");
    target.push(&mut qb, "c");
    qb.push(" and c.id > ").bind_int(cursor).push(" order by c.id limit ").bind_int(limit).push(DB::FOR_UPDATE);
    qb
}

/// The live contacts of the account that hold an email of the chunk's contacts: email,
/// id, first and last name. `None` when no contact of the chunk has an email.
fn email_holders_query<DB: Dialect>(account: AccountId, open: &[ChunkRow]) -> Option<QueryBuilder<'static, DB>> {
    let emails: std::collections::BTreeSet<&str> = open.iter().filter_map(|r| r.1.as_deref()).collect();
    if emails.is_empty() {
        return None;
    }
    let mut qb = QueryBuilder::new("select email, id, first_name, last_name from contacts where account_id = ");
    qb.bind_int(account.0).push(" and deleted_at is null and email in (");
    for (i, e) in emails.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.bind_text(*e);
    }
    qb.push(")");
    Some(qb)
}

/// Decides which of the chunk's contacts inside the window come back (R13): one whose
/// email a live contact holds stays deleted and is reported against it; of deleted twins
/// sharing an email the most recently deleted comes back and the others are reported
/// against it. Returns the ids to restore, and notes the conflicts and the first names
/// in `step`.
fn sort_out(mut open: Vec<ChunkRow>, live: Vec<(String, i64, String, String)>, step: &mut RestoreStep) -> Vec<i64> {
    let mut holders: std::collections::HashMap<String, (i64, String)> = live
        .into_iter()
        .map(|(e, id, f, l)| {
            let name = display_name(&f, &l, Some(&e));
            (e, (id, name))
        })
        .collect();
    open.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut back = Vec::with_capacity(open.len());
    let mut names = Vec::new();
    for (id, email, _, first, last) in open {
        let name = display_name(&first, &last, email.as_deref());
        if let Some(email) = email {
            if let Some((holder, holder_name)) = holders.get(&email) {
                step.conflicts.push(RestoreConflict { contact_id: id, name, email, live_contact_id: *holder, live_name: holder_name.clone() });
                continue;
            }
            holders.insert(email, (id, name.clone()));
        }
        back.push(id);
        names.push((id, name));
    }
    // in id order, as the restore walks them
    names.sort_by_key(|n| n.0);
    step.names = names.into_iter().take(NAMES_KEPT).map(|n| n.1).collect();
    back
}

/// Brings `ids` back and returns those it did. `deleted_at > cutoff` on the updated row itself: PostgreSQL
/// re-checks only these conditions should a purge have reached the row first.
fn undelete_query<DB: Dialect>(ids: &[i64], now: i64, cutoff: i64) -> QueryBuilder<'static, DB> {
    let mut qb = QueryBuilder::new(
        "update contacts set deleted_at = null, deleted_by_user_id = null, deleted_by_workflow_id = null,
         deletion_batch_id = null, updated_at = ",
    );
    qb.bind_int(now).push(" where deleted_at is not null and deleted_at > ").bind_int(cutoff).push(" and id in (");
    push_ints(&mut qb, ids.iter().copied());
    qb.push(") returning id");
    qb
}

/// The row of a restore job that a chunk takes up: cursor, audit event, state, lease
/// owner, conflicts kept, and whether its creator is still an admin of the account.
const JOB_FOR_CHUNK: &str = "select j.cursor_id, j.audit_event_id, j.state, j.lease_owner, j.conflicts,
        (select count(*) from users u where u.id = j.created_by_user_id and u.account_id = j.account_id and u.role = 'admin')
     from bulk_jobs j where j.id = $1";

/// Where a job's next chunk starts (cursor, audit event, conflicts kept so far), or
/// `None` when the job is no longer `worker`'s to run. R11 holds for the whole job: an
/// admin who lost the role restores no more.
fn job_takes_up(row: Option<JobChunkRow>, worker: &str) -> RepoResult<Option<(i64, Option<i64>, Vec<(i64, i64)>)>> {
    let Some((cursor, audit_event, state, owner, conflicts, admins)) = row else { return Ok(None) };
    if state != "running" || owner.as_deref() != Some(worker) {
        return Ok(None);
    }
    if admins == 0 {
        return Err(require_admin_msg());
    }
    let conflicts = conflicts.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    Ok(Some((cursor, audit_event, conflicts)))
}

/// Adds a chunk's restored contacts to the restore's audit event: `(count, event)`.
const AUDIT_ADD: &str = "update audit_events set contact_count = contact_count + $1 where id = $2";

impl RestoreAudit<'_> {
    /// The restore's audit event, written by its first chunk that restores anything.
    fn insert_query<DB: Dialect>(&self, account: AccountId, now: i64, restored: u64) -> QueryBuilder<'static, DB> {
        let mut qb = QueryBuilder::new(
            "insert into audit_events (account_id, at, actor_user_id, workflow_id, channel, action, contact_count, description, reason, batch_id) values (",
        );
        qb.bind_int(account.0)
            .push(", ")
            .bind_int(now)
            .push(", ")
            .bind_opt_int(self.actor.user.map(|u| u.0))
            .push(", ")
            .bind_opt_int(self.actor.channel.workflow_id().map(|w| w.0))
            .push(", ")
            .bind_text(self.actor.channel.as_str())
            .push(", 'restore', ")
            .bind_int(restored as i64)
            .push(", ")
            .bind_text(self.description)
            .push(", null, ")
            .bind_opt_int(self.batch.map(|b| b.0))
            .push(") returning id");
        qb
    }
}

/// Moves a restore job past a chunk: its cursor, audit event, counts, conflicts kept,
/// and the lease.
fn job_advance_query<DB: Dialect>(job: JobId, step: &RestoreStep, conflicts: String, lease_until: i64, now: i64) -> QueryBuilder<'static, DB> {
    let mut qb = QueryBuilder::new("update bulk_jobs set cursor_id = ");
    qb.bind_int(step.cursor)
        .push(", audit_event_id = ")
        .bind_opt_int(step.audit_event)
        .push(", done = done + ")
        .bind_int(step.scanned as i64)
        .push(", restored = restored + ")
        .bind_int(step.restored as i64)
        .push(", conflict_count = conflict_count + ")
        .bind_int(step.conflicts.len() as i64)
        .push(", expired_count = expired_count + ")
        .bind_int(step.expired.len() as i64)
        .push(", conflicts = ")
        .bind_text(conflicts)
        .push(", lease_until = ")
        .bind_int(lease_until)
        .push(", updated_at = ")
        .bind_int(now)
        .push(" where id = ")
        .bind_int(job.0);
    qb
}

fn require_admin_msg() -> RepoError {
    RepoError::Forbidden("Only an admin of this account may restore or erase contacts.".into())
}

impl Repo {
    /// How many deleted contacts are inside the window.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_deleted(&self, account: AccountId) -> RepoResult<i64> {
        let cutoff = millis(restore_cutoff(self.now()));
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from contacts where account_id = $1 and deleted_at is not null and deleted_at > $2")
                .bind(account.0)
                .bind(cutoff)
                .fetch_one(pool)
                .await?
        }))
    }

    async fn is_admin(&self, account: AccountId, user: Option<UserId>) -> RepoResult<bool> {
        let Some(user) = user else { return Ok(false) };
        let n: i64 = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from users where id = $1 and account_id = $2 and role = 'admin'")
                .bind(user.0)
                .bind(account.0)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Restores the listed deleted contacts (R8, R13), in chunks of `DEFAULT_CHUNK`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_contacts(&self, account: AccountId, actor: Actor, ids: &[ContactId]) -> RepoResult<RestoreReport> {
        self.restore_contacts_in_chunks(account, actor, ids, DEFAULT_CHUNK).await
    }

    /// Restores the listed deleted contacts, `chunk` per transaction. The audit event is
    /// written by the first chunk that restores anything, in that chunk's transaction,
    /// and every later chunk adds its count to it in its own: whenever a chunk fails,
    /// the audit log holds exactly what the chunks before it put back (R7).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_contacts_in_chunks(
        &self,
        account: AccountId,
        actor: Actor,
        ids: &[ContactId],
        chunk: i64,
    ) -> RepoResult<RestoreReport> {
        if ids.is_empty() {
            return Err(RepoError::Invalid(crate::domain::InvalidInput::new("Select at least one contact to restore.")));
        }
        if !self.is_admin(account, actor.user).await? {
            return Err(require_admin_msg());
        }
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let description = format!("{} selected contacts", ids.len());
        let audit = RestoreAudit { actor, description: &description, batch: None };
        let mut report = RestoreReport::default();
        let mut audit_event = None;
        for part in sorted.chunks(chunk.clamp(1, MAX_CHUNK) as usize) {
            let target = RestoreTarget::Ids(part);
            let from = ChunkFrom::Inline { cursor: 0, audit_event };
            let step = self.restore_chunk(account, &target, &audit, &from, part.len() as i64).await?.unwrap_or_default();
            audit_event = step.audit_event.or(audit_event);
            report.add(step);
        }
        let seen: std::collections::HashSet<i64> =
            report.conflicts.iter().map(|c| c.contact_id).chain(report.expired.iter().map(|c| c.0)).collect();
        let mut live_now = std::collections::HashSet::new();
        for part in sorted.chunks(MAX_CHUNK as usize) {
            live_now.extend(self.live_among(account, part).await?);
        }
        report.not_found = ids.iter().filter(|id| !seen.contains(&id.0) && !live_now.contains(&id.0)).copied().collect();
        Ok(report)
    }

    /// Restores everything one deletion removed that is still inside the window (R12),
    /// in chunks of `DEFAULT_CHUNK` inside the caller's request.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_batch(&self, account: AccountId, actor: Actor, batch: BatchId) -> RepoResult<RestoreReport> {
        self.restore_batch_in_chunks(account, actor, batch, DEFAULT_CHUNK).await
    }

    /// [`Repo::restore_batch`], `chunk` contacts per transaction, audited as
    /// [`Repo::restore_contacts_in_chunks`] is. Two restores of the same batch at once
    /// each put back what the other has not: a contact is restored once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_batch_in_chunks(&self, account: AccountId, actor: Actor, batch: BatchId, chunk: i64) -> RepoResult<RestoreReport> {
        if self.batch_info(account, batch).await?.is_none() {
            return Err(RepoError::NotFound(format!("There is no deletion {batch} in this account.")));
        }
        if !self.is_admin(account, actor.user).await? {
            return Err(require_admin_msg());
        }
        let description = batch_description(batch);
        let audit = RestoreAudit { actor, description: &description, batch: Some(batch) };
        self.restore_target_in_chunks(account, &RestoreTarget::Batch(batch), &audit, chunk).await
    }

    /// Restores what `sel` selects, `chunk` contacts per transaction, audited as
    /// [`Repo::restore_contacts_in_chunks`] is: ticked ids, or every deleted contact a
    /// filter kept when the admin looked (`as_of`) except the unticked ones; a contact
    /// deleted after `as_of` stays deleted (R6's rule, on the Restore page).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_selection_in_chunks(&self, account: AccountId, actor: Actor, sel: &RestoreSelection, chunk: i64) -> RepoResult<RestoreReport> {
        match sel {
            RestoreSelection::Ids { ids } => self.restore_contacts_in_chunks(account, actor, ids, chunk).await,
            RestoreSelection::AllMatching { filter, as_of, exclude } => {
                if !self.is_admin(account, actor.user).await? {
                    return Err(require_admin_msg());
                }
                let description = sel.describe();
                let audit = RestoreAudit { actor, description: &description, batch: filter.batch };
                let target = RestoreTarget::Matching { filter, as_of: millis(*as_of), exclude, walk: true };
                self.restore_target_in_chunks(account, &target, &audit, chunk).await
            }
        }
    }

    /// How many deleted contacts `sel` would restore or erase (those past the window
    /// at `as_of` left out).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_restore_selection(&self, account: AccountId, sel: &RestoreSelection) -> RepoResult<i64> {
        match sel {
            RestoreSelection::Ids { ids } => {
                let mut n = 0i64;
                for part in ids.chunks(MAX_CHUNK as usize) {
                    n += on_db!(self, |pool, DB| {
                        let mut qb = QueryBuilder::<DB>::new("select count(*) from contacts c where c.account_id = ");
                        qb.push_bind(account.0).push(" and c.deleted_at is not null");
                        RestoreTarget::Ids(part).push(&mut qb, "c");
                        qb.build_query_scalar::<i64>().fetch_one(pool).await?
                    });
                }
                Ok(n)
            }
            RestoreSelection::AllMatching { filter, as_of, exclude } => Ok(on_db!(self, |pool, DB| {
                let mut qb = QueryBuilder::<DB>::new("select count(*) from contacts c where c.account_id = ");
                qb.push_bind(account.0);
                RestoreTarget::Matching { filter, as_of: millis(*as_of), exclude, walk: false }.push(&mut qb, "c");
                qb.build_query_scalar().fetch_one(pool).await?
            })),
        }
    }

    /// The ids `sel` selects among the account's deleted contacts, in id order, after
    /// `after`, `limit` at most (an erase walks a filter selection with it).
    async fn restore_selection_ids(&self, account: AccountId, sel: &RestoreSelection, after: i64, limit: i64) -> RepoResult<Vec<ContactId>> {
        let target = match sel {
            RestoreSelection::Ids { ids } => RestoreTarget::Ids(ids),
            RestoreSelection::AllMatching { filter, as_of, exclude } => RestoreTarget::Matching { filter, as_of: millis(*as_of), exclude, walk: true },
        };
        let ids: Vec<i64> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where c.account_id = ");
            qb.push_bind(account.0).push(" and c.deleted_at is not null");
            target.push(&mut qb, "c");
            qb.push(" and c.id > ").push_bind(after).push(" order by c.id limit ").push_bind(limit);
            qb.build_query_scalar().fetch_all(pool).await?
        });
        Ok(ids.into_iter().map(ContactId).collect())
    }

    /// Runs a restore of `target` to its end inside the caller's request, a chunk per
    /// transaction in id order.
    async fn restore_target_in_chunks(&self, account: AccountId, target: &RestoreTarget<'_>, audit: &RestoreAudit<'_>, chunk: i64) -> RepoResult<RestoreReport> {
        let mut report = RestoreReport::default();
        let (mut cursor, mut audit_event) = (0i64, None);
        loop {
            let from = ChunkFrom::Inline { cursor, audit_event };
            let step = self.restore_chunk(account, target, audit, &from, chunk.clamp(1, MAX_CHUNK)).await?.unwrap_or_default();
            cursor = step.cursor;
            audit_event = step.audit_event.or(audit_event);
            let done = step.done;
            report.add(step);
            if done {
                return Ok(report);
            }
            tokio::task::yield_now().await;
        }
    }

    /// The next chunk of a claimed restore job, `limit` contacts at most, in one
    /// transaction that also moves the job's cursor, adds to its counts and its audit
    /// event, and extends `worker`'s lease by `lease_ms`. `None` when the job is no longer
    /// this worker's to run (cancelled, finished, or taken over after a stall).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_job_chunk(&self, job: JobId, worker: &str, lease_ms: i64, limit: i64) -> RepoResult<Option<RestoreStep>> {
        // a job queued with an API key is audited as coming through the API
        let row: Option<(i64, Option<i64>, Option<i64>, Option<String>, bool)> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select j.account_id, j.batch_id, j.created_by_user_id, j.selection,
                        exists (select 1 from api_keys k where k.user_id = j.created_by_user_id) as by_key
                 from bulk_jobs j where j.id = $1 and j.kind = 'restore'",
            )
            .bind(job.0)
            .fetch_optional(pool)
            .await?
        });
        let Some((account, batch, user, selection, by_key)) = row else {
            return Err(RepoError::NotFound(format!("There is no restore job {job}.")));
        };
        let channel = if by_key { Channel::Api } else { Channel::Ui };
        let actor = Actor { user: user.map(UserId), channel, triggered_by: None };
        let from = ChunkFrom::Job { job, worker, lease_ms };
        let limit = limit.clamp(1, MAX_CHUNK);
        match (batch, selection.as_deref().map(serde_json::from_str::<RestoreSelection>)) {
            (Some(batch), _) => {
                let batch = BatchId(batch);
                let description = batch_description(batch);
                let audit = RestoreAudit { actor, description: &description, batch: Some(batch) };
                self.restore_chunk(AccountId(account), &RestoreTarget::Batch(batch), &audit, &from, limit).await
            }
            (None, Some(Ok(sel @ RestoreSelection::AllMatching { .. }))) => {
                let RestoreSelection::AllMatching { filter, as_of, exclude } = &sel else { unreachable!() };
                let description = sel.describe();
                let audit = RestoreAudit { actor, description: &description, batch: filter.batch };
                let target = RestoreTarget::Matching { filter, as_of: millis(*as_of), exclude, walk: true };
                self.restore_chunk(AccountId(account), &target, &audit, &from, limit).await
            }
            _ => Err(RepoError::Internal(format!("restore job {job} has neither a deletion nor a selection"))),
        }
    }

    /// One chunk, run again when PostgreSQL aborted it as a deadlock victim or when a
    /// contact it restored took an email that a concurrent transaction had just given to
    /// a live contact (the unique index refuses it at commit time of the other): the
    /// next attempt sees that contact and reports the conflict (R13).
    async fn restore_chunk(
        &self,
        account: AccountId,
        target: &RestoreTarget<'_>,
        audit: &RestoreAudit<'_>,
        from: &ChunkFrom<'_>,
        limit: i64,
    ) -> RepoResult<Option<RestoreStep>> {
        let chunk = RestoreChunk { account, target, audit, from, limit };
        retry_if(|e| is_transient(e) || is_live_email_race(e), || self.restore_chunk_once(&chunk)).await
    }

    async fn restore_chunk_once(&self, chunk: &RestoreChunk<'_>) -> RepoResult<Option<RestoreStep>> {
        let RestoreChunk { account, target, audit, from, limit } = *chunk;
        let now = self.now();
        let cutoff = millis(restore_cutoff(now));
        let now = millis(now);
        on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let (cursor, mut audit_event, mut job_conflicts) = match from {
                ChunkFrom::Inline { cursor, audit_event } => (*cursor, *audit_event, Vec::new()),
                ChunkFrom::Job { job, worker, .. } => {
                    // The job row, locked: a second worker that took over waits here, then
                    // starts from the cursor this chunk leaves.
                    let row: Option<JobChunkRow> =
                        sqlx::query_as(&format!("{JOB_FOR_CHUNK}{}", DB::FOR_UPDATE)).bind(job.0).fetch_optional(&mut *tx).await?;
                    match job_takes_up(row, worker)? {
                        Some(start) => start,
                        None => return Ok(None),
                    }
                }
            };

            let rows: Vec<ChunkRow> = chunk_query::<DB>(account, target, cursor, limit).build_query_as().fetch_all(&mut *tx).await?;
            let mut step = RestoreStep {
                scanned: rows.len() as u64,
                cursor: rows.last().map_or(cursor, |r| r.0),
                done: (rows.len() as i64) < limit,
                ..RestoreStep::default()
            };
            // Past the window: refused even if purge has not run yet (R8).
            let (expired, open): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.2 <= cutoff);
            step.expired = expired.into_iter().map(|r| ContactId(r.0)).collect();
            // Who holds each email now (R13): the live contacts of the account.
            let holders: Vec<(String, i64, String, String)> = match email_holders_query::<DB>(account, &open) {
                Some(mut qb) => qb.build_query_as().fetch_all(&mut *tx).await?,
                None => Vec::new(),
            };
            let back = sort_out(open, holders, &mut step);
            if !back.is_empty() {
                let mut restored: Vec<i64> = undelete_query::<DB>(&back, now, cutoff).build_query_scalar().fetch_all(&mut *tx).await?;
                step.restored = restored.len() as u64;
                restored.sort_unstable();
                if !restored.is_empty() {
                    for mut statement in Event::contacts(WebhookEvent::ContactRestored, account, audit.batch, &restored).statements::<DB>(now) {
                        statement.build().execute(&mut *tx).await?;
                    }
                }
            }

            // The audit event, in the same transaction as the contacts it counts (R7).
            if step.restored > 0 {
                audit_event = Some(match audit_event {
                    Some(id) => {
                        sqlx::query(AUDIT_ADD).bind(step.restored as i64).bind(id).execute(&mut *tx).await?;
                        id
                    }
                    None => audit.insert_query::<DB>(account, now, step.restored).build_query_scalar().fetch_one(&mut *tx).await?,
                });
            }
            step.audit_event = audit_event;
            if let ChunkFrom::Job { job, lease_ms, .. } = from {
                let room = JOB_CONFLICTS_KEPT.saturating_sub(job_conflicts.len());
                job_conflicts.extend(step.conflicts.iter().take(room).map(|c| (c.contact_id, c.live_contact_id)));
                let conflicts = serde_json::to_string(&job_conflicts).map_err(|e| RepoError::Internal(format!("conflicts: {e}")))?;
                job_advance_query::<DB>(*job, &step, conflicts, now + lease_ms, now).build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Some(step))
        })
    }

    /// Which of `ids` are live contacts of the account.
    async fn live_among(&self, account: AccountId, ids: &[ContactId]) -> RepoResult<std::collections::HashSet<i64>> {
        Ok(self.live_contact_ids(account, ids).await?.into_iter().map(|c| c.0).collect())
    }

    /// Permanently erases deleted contacts before their window ends (R14).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn erase_contacts(
        &self,
        account: AccountId,
        actor: Actor,
        ids: &[ContactId],
        _confirmed: DeleteConfirmation,
    ) -> RepoResult<EraseReport> {
        if !self.is_admin(account, actor.user).await? {
            return Err(require_admin_msg());
        }
        if ids.is_empty() {
            return Err(RepoError::Invalid(crate::domain::InvalidInput::new("Select at least one contact to erase.")));
        }
        let mut erased_ids: Vec<i64> = Vec::new();
        for chunk in ids.chunks(CHUNK as usize) {
            erased_ids.extend(self.erase_chunk(account, chunk).await?);
        }
        let erased = erased_ids.len() as u64;
        if erased > 0 {
            let desc = format!("{erased} deleted contacts erased before their window ended");
            self.record_audit(account, actor, super::AuditAction::Erase, erased as i64, &desc, None, None).await?;
            self.scrub_deleted_data().await?;
        }
        let erased_set: std::collections::HashSet<i64> = erased_ids.into_iter().collect();
        let not_found = ids.iter().filter(|id| !erased_set.contains(&id.0)).copied().collect();
        Ok(EraseReport { erased, not_found })
    }

    /// Erases those of `ids` that are deleted contacts of the account, in one
    /// transaction with their `contact.purged` events; returns the ids it erased.
    async fn erase_chunk(&self, account: AccountId, ids: &[ContactId]) -> RepoResult<Vec<i64>> {
        let now = millis(self.now());
        Ok(on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let mut qb = QueryBuilder::<DB>::new("delete from contacts where account_id = ");
            qb.push_bind(account.0).push(" and deleted_at is not null and id in (");
            push_id_list(&mut qb, ids);
            qb.push(") returning id, deletion_batch_id");
            let rows: Vec<(i64, Option<i64>)> = qb.build_query_as().fetch_all(&mut *tx).await?;
            for event in super::sql::events::purged(rows.iter().map(|&(id, batch)| (account.0, batch, id))) {
                for mut statement in event.statements::<DB>(now) {
                    statement.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            rows.into_iter().map(|r| r.0).collect()
        }))
    }

    /// Permanently erases what `sel` selects (R14): ticked ids, or every deleted contact
    /// a filter kept at `as_of` except the unticked ones, a chunk per transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn erase_selection(
        &self,
        account: AccountId,
        actor: Actor,
        sel: &RestoreSelection,
        confirmed: DeleteConfirmation,
    ) -> RepoResult<EraseReport> {
        let RestoreSelection::AllMatching { .. } = sel else {
            let RestoreSelection::Ids { ids } = sel else { unreachable!() };
            return self.erase_contacts(account, actor, ids, confirmed).await;
        };
        if !self.is_admin(account, actor.user).await? {
            return Err(require_admin_msg());
        }
        let mut erased = 0u64;
        let mut after = 0i64;
        loop {
            let ids = self.restore_selection_ids(account, sel, after, CHUNK).await?;
            let Some(last) = ids.last() else { break };
            after = last.0;
            erased += self.erase_chunk(account, &ids).await?.len() as u64;
            if (ids.len() as i64) < CHUNK {
                break;
            }
        }
        if erased > 0 {
            let desc = format!("{}, erased before their window ended", sel.describe());
            self.record_audit(account, actor, super::AuditAction::Erase, erased as i64, &desc, None, None).await?;
            self.scrub_deleted_data().await?;
        }
        Ok(EraseReport { erased, not_found: Vec::new() })
    }

    /// Permanently removes every contact whose restore window has closed, with all
    /// that is still attached to it (R9). Claims rows in chunks: on PostgreSQL with
    /// `skip locked`, so several processes purging at once share the work; on SQLite
    /// each chunk holds the single writer lock. Audited per account.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_expired(&self) -> RepoResult<PurgeReport> {
        let now = self.now();
        let cutoff = millis(restore_cutoff(now));
        let now = millis(now);
        let mut report = PurgeReport::default();
        // where the previous chunk stopped, in (deleted_at, id) order
        let mut after = (i64::MIN, 0i64);
        loop {
            let rows: Vec<(i64, i64, i64, Option<i64>)> = on_db!(self, |pool, DB| {
                let mut tx = DB::begin_write(pool).await?;
                let rows = sqlx::query_as(&format!(
                    "delete from contacts where id in (
                       select id from contacts where deleted_at is not null and deleted_at <= $1
                         and (deleted_at > $3 or (deleted_at = $3 and id > $4))
                       order by deleted_at, id limit $2{}
                     ) returning account_id, deleted_at, id, deletion_batch_id",
                    DB::SKIP_LOCKED
                ))
                .bind(cutoff)
                .bind(CHUNK)
                .bind(after.0)
                .bind(after.1)
                .fetch_all(&mut *tx)
                .await?;
                for event in super::sql::events::purged(rows.iter().map(|&(account, _, id, batch)| (account, batch, id))) {
                    for mut statement in event.statements::<DB>(now) {
                        statement.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                rows
            });
            let Some(last) = rows.iter().map(|&(_, at, id, _)| (at, id)).max() else {
                break;
            };
            after = last;
            for (a, _, _, _) in rows {
                *report.per_account.entry(a).or_default() += 1;
                report.purged += 1;
            }
        }
        for (account, n) in &report.per_account {
            let desc = format!("{n} contacts past the 60-day window purged");
            self.record_audit(AccountId(*account), Actor::system(), super::AuditAction::Purge, *n as i64, &desc, None, None)
                .await?;
        }
        if report.purged > 0 {
            self.scrub_deleted_data().await?;
        }
        Ok(report)
    }
}
