//! Deleting contacts (R2–R7): the pre-delete impact, and a deletion as a batch that is
//! applied chunk by chunk. Each chunk is one transaction that marks its contacts deleted
//! and applies every effect of R2 to exactly those contacts, then advances the batch's
//! cursor, so a deletion interrupted at any point resumes where it stopped (L2) and no
//! contact is ever half-deleted.

use super::sql::{from_millis, millis, on_db, push_id_list, push_live_selection, retry_transient, Binds, Dialect, Event};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{AccountId, Actor, BatchId, ContactId, DeleteConfirmation, JobId, Selection, UserId, WebhookEvent, WorkflowId};
use chrono::{DateTime, Duration, Utc};
use sqlx::QueryBuilder;

pub use super::sql::DEFAULT_CHUNK;

/// What deleting a selection would remove or change (U4's warnings), from aggregate
/// queries only.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DeletionImpact {
    pub contacts: i64,
    pub conversations: i64,
    pub messages: i64,
    pub notes: i64,
    pub tasks: i64,
    pub appointments: i64,
    pub opportunities: i64,
    pub manual_actions: i64,
    pub activities: i64,
    pub files: i64,
    pub group_ownerships: i64,
    pub list_memberships: i64,
    pub active_enrollments: i64,
    pub open_opportunities: i64,
    pub upcoming_appointments: i64,
    /// Contacts that another user worked on in the last 7 days.
    pub worked_on_by_others: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOutcome {
    pub deleted: u64,
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionReport {
    pub batch: BatchId,
    pub deleted: u64,
}

/// What [`Repo::delete_or_queue`] did.
#[derive(Debug, Clone)]
pub enum DeletionOutcome {
    Deleted(DeletionReport),
    /// A background job deletes the `count` contacts.
    Queued { job: JobId, count: i64 },
}

#[derive(Debug, Clone)]
pub struct BatchInfo {
    pub id: BatchId,
    pub account_id: AccountId,
    pub actor_user_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub workflow_id: Option<WorkflowId>,
    pub workflow_name: Option<String>,
    pub channel: String,
    pub description: String,
    pub reason: Option<String>,
    pub state: String,
    pub total: i64,
    pub deleted: i64,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Contacts of this batch that are still deleted and inside the window.
    pub restorable: i64,
}

impl BatchInfo {
    /// The deletion's one name on every page (R7, R12).
    pub fn name(&self) -> crate::domain::DeletionName {
        crate::domain::DeletionName::new(
            self.total,
            self.created_at,
            crate::domain::deleted_by_words(self.actor_name.as_deref(), self.workflow_name.as_deref()),
        )
    }
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    id: i64,
    account_id: i64,
    actor_user_id: Option<i64>,
    actor_name: Option<String>,
    workflow_id: Option<i64>,
    workflow_name: Option<String>,
    channel: String,
    description: String,
    reason: Option<String>,
    state: String,
    total: i64,
    deleted_count: i64,
    created_at: i64,
    finished_at: Option<i64>,
    restorable: i64,
}

#[derive(sqlx::FromRow)]
struct RunningBatch {
    selection: Option<String>,
    cursor_id: i64,
    state: String,
    actor_user_id: Option<i64>,
    workflow_id: Option<i64>,
    deleted_count: i64,
}

/// The columns of [`DeletionImpact`] that count rows attached to the selected contacts:
/// (column and `account_counts` kind, table, column naming the contact, condition).
const IMPACT_COUNTS: [(&str, &str, &str, &str); 13] = [
    ("conversations", "conversations", "contact_id", ""),
    ("messages", "messages", "contact_id", ""),
    ("notes", "notes", "contact_id", ""),
    ("tasks", "tasks", "contact_id", ""),
    ("appointments", "appointments", "contact_id", ""),
    ("opportunities", "opportunities", "contact_id", ""),
    ("manual_actions", "manual_actions", "contact_id", ""),
    ("activities", "activities", "contact_id", ""),
    ("files", "files", "contact_id", ""),
    ("group_ownerships", "community_groups", "owner_contact_id", ""),
    ("list_memberships", "list_members", "contact_id", ""),
    ("active_enrollments", "enrollments", "contact_id", " and x.status = 'active'"),
    ("open_opportunities", "opportunities", "contact_id", " and x.status = 'open'"),
];

/// The audit event of a finished or cancelled deletion batch (R7), written from the
/// batch's own row in the transaction that closes it; none when it deleted nothing.
const AUDIT_BATCH: &str = "insert into audit_events
       (account_id, at, actor_user_id, workflow_id, triggered_by_user_id, channel, action, contact_count, description, reason, batch_id)
     select account_id, $1, actor_user_id, workflow_id, triggered_by_user_id, channel, 'delete', deleted_count, description, reason, id
     from deletion_batches where id = $2 and deleted_count > 0";

/// The contacts an impact query counts.
enum ContactSet<'a> {
    /// The selection's live contacts.
    Selection(&'a Selection),
    /// The account's live contacts that "select all" as of `as_of` without `exclude`
    /// leaves out: created after `as_of`, or excluded.
    AllBut { as_of: i64, exclude: &'a [ContactId] },
}

impl ContactSet<'_> {
    fn push<DB: Dialect>(&self, qb: &mut QueryBuilder<'_, DB>, account: AccountId) {
        match self {
            ContactSet::Selection(sel) => push_live_selection(qb, account, sel),
            ContactSet::AllBut { as_of, exclude } => {
                qb.push("c.account_id = ").bind_int(account.0).push(" and c.deleted_at is null and (c.created_at > ").bind_int(*as_of);
                if !exclude.is_empty() {
                    qb.push(" or c.id in (");
                    push_id_list(qb, exclude);
                    qb.push(")");
                }
                qb.push(")");
            }
        }
    }
}

/// The associated rows R2 removes, children before parents (also what the scale
/// benchmark's hand-written deletion removes, so the two stay comparable).
pub const REMOVED_WITH_CONTACT: [&str; 10] = [
    "messages",
    "conversations",
    "notes",
    "tasks",
    "appointments",
    "opportunities",
    "manual_actions",
    "activities",
    "files",
    "list_members",
];

/// R2 for the community groups that the contacts of the subquery `{ids}` own, in the
/// account `$1`: they stay, without an owner (also run by the scale benchmark's
/// hand-written deletion).
pub const RELEASE_OWNED_GROUPS: &str =
    "update community_groups set owner_contact_id = null where account_id = $1 and owner_contact_id in ({ids})";

/// R2 for the active enrollments of the contacts of the subquery `{ids}`, in the account
/// `$1`: they stop at the moment `{now}`, with the reason `contact_deleted`.
pub const STOP_ACTIVE_ENROLLMENTS: &str = "update enrollments set status = 'stopped', stop_reason = 'contact_deleted', stopped_at = {now}
     where account_id = $1 and status = 'active' and contact_id in ({ids})";

/// The `account_counts` kind of a table in [`REMOVED_WITH_CONTACT`].
fn counted_as(table: &'static str) -> &'static str {
    match table {
        "list_members" => "list_memberships",
        other => other,
    }
}

/// Pauses, for the rest of the chunk's transaction, the per-row triggers that its
/// statements fire: the counters, and the tags following their contact (where the
/// chunk does that work itself, [`Dialect::CHUNK_SETTLES_COUNTS`]); [`RESUME_COUNTS`]
/// lifts the pause before commit.
const PAUSE_COUNTS: &str = "insert into count_pause (one) values (1)";
const RESUME_COUNTS: &str = "delete from count_pause";

/// A counter of the account `$2` less `$1`: `(n, account, kind)`.
const SUBTRACT_COUNT: &str = "update account_counts set n = n - $1 where account_id = $2 and kind = $3";

/// The tag counters of the account `$1` less the live tags of the chunk's contacts,
/// before [`UNFLAG_TAGS`] flags them.
const SUBTRACT_LIVE_TAGS: &str = "update account_counts set n = n - t.k
       from (select 'tag:' || tag as kind, count(*) as k from contact_tags
              where live and contact_id in ({ids}) group by tag) t
      where account_counts.account_id = $1 and account_counts.kind = t.kind";

/// The tags of the chunk's contacts, flagged as a deleted contact's (the flag the
/// trigger `contact_tags_follow_contact` sets for any other write).
const UNFLAG_TAGS: &str = "update contact_tags set live = false where live and contact_id in ({ids})";

/// The open opportunities of the chunk's contacts, which R2 removes: counted before, as
/// the removal only says how many opportunities it removed.
const OPEN_OPPORTUNITIES: &str =
    "select count(*) from opportunities where account_id = $1 and status = 'open' and contact_id in ({ids})";

/// Messages that are left in the conversations of the chunk's contacts once their own
/// messages are removed (written by another contact): removing the conversations
/// removes them too, through the foreign key, which no statement reports.
const MESSAGES_OF_REMOVED_CONVERSATIONS: &str = "select count(*) from messages where conversation_id in
       (select id from conversations where account_id = $1 and contact_id in ({ids}))";

/// The running batch a chunk continues, locked for the chunk's transaction.
const RUNNING_BATCH: &str = "select selection, cursor_id, state, actor_user_id, workflow_id, deleted_count
     from deletion_batches where id = $1 and account_id = $2";

/// Closes a batch with nothing left to delete and forgets its selection.
const CLOSE_BATCH: &str = "update deletion_batches set state = 'done', selection = null, finished_at = $1 where id = $2";

/// Moves a batch's cursor past a chunk: `(upper, deleted, batch)`.
const ADVANCE_BATCH: &str = "update deletion_batches set cursor_id = $1, deleted_count = deleted_count + $2 where id = $3";

impl RunningBatch {
    /// The selection the batch deletes, as recorded when it started.
    fn selection(&self, batch: BatchId) -> RepoResult<Selection> {
        let json = self.selection.as_deref().ok_or_else(|| RepoError::Internal(format!("running deletion {batch} has no selection")))?;
        serde_json::from_str(json).map_err(|e| RepoError::Internal(format!("deletion {batch}: {e}")))
    }
}

/// The last id of the next chunk: the `limit`-th live contact of `sel` after `cursor`
/// in id order, or null when none is left.
fn chunk_end<DB: Dialect>(account: AccountId, sel: &Selection, cursor: i64, limit: i64) -> QueryBuilder<'static, DB> {
    let mut qb = QueryBuilder::new("select max(id) from (select c.id from contacts c where ");
    push_live_selection(&mut qb, account, sel);
    qb.push(" and c.id > ").bind_int(cursor).push(" order by c.id limit ").bind_int(limit).push(") t");
    qb
}

/// One chunk of a batch: its contacts with ids in `(after, upto]`.
struct Chunk {
    account: AccountId,
    batch: BatchId,
    after: i64,
    upto: i64,
}

impl Chunk {
    /// Marks the chunk's contacts deleted and returns their ids. `deleted_at is null` makes a second deletion
    /// of the same contact a no-op (R4). It must also stand on the updated table itself,
    /// not only in the subquery: on PostgreSQL, when a concurrent deletion marked a row
    /// first, only the target row's own conditions are re-checked after that commit, so
    /// without it the row would be deleted (and counted) a second time.
    fn mark_deleted<DB: Dialect>(&self, sel: &Selection, b: &RunningBatch, now: i64) -> QueryBuilder<'static, DB> {
        let mut qb = QueryBuilder::new("update contacts set deleted_at = ");
        qb.bind_int(now)
            .push(", updated_at = ")
            .bind_int(now)
            .push(", deleted_by_user_id = ")
            .bind_opt_int(b.actor_user_id)
            .push(", deleted_by_workflow_id = ")
            .bind_opt_int(b.workflow_id)
            .push(", deletion_batch_id = ")
            .bind_int(self.batch.0)
            .push(" where deleted_at is null and id in (select c.id from contacts c where ");
        push_live_selection(&mut qb, self.account, sel);
        qb.push(" and c.id > ").bind_int(self.after).push(" and c.id <= ").bind_int(self.upto).push(") returning id");
        qb
    }

    /// R2 for exactly the contacts this chunk marked: their associated rows removed,
    /// the groups they owned kept without an owner, their active enrollments stopped.
    /// Each statement comes with the table it writes and the `account_counts` kind that
    /// goes down by one per row it changes.
    fn remove_associated<DB: Dialect>(&self, now: i64) -> Vec<(&'static str, &'static str, QueryBuilder<'static, DB>)> {
        let removals = REMOVED_WITH_CONTACT
            .iter()
            .map(|&table| (table, counted_as(table), format!("delete from {table} where account_id = $1 and contact_id in ({{ids}})")));
        removals
            .chain([
                ("community_groups", "group_ownerships", RELEASE_OWNED_GROUPS.to_string()),
                ("enrollments", "active_enrollments", STOP_ACTIVE_ENROLLMENTS.to_string()),
            ])
            .map(|(table, kind, template)| (table, kind, self.fill(&template, now)))
            .collect()
    }

    /// One of the R2 statements above for this chunk: `$1` its account, `{ids}` its
    /// contacts that its batch marked, `{now}` the time.
    fn fill<DB: Dialect>(&self, template: &str, now: i64) -> QueryBuilder<'static, DB> {
        let mut qb = QueryBuilder::new("");
        let mut rest = template;
        while let Some((at, token)) = ["$1", "{ids}", "{now}"].into_iter().filter_map(|t| rest.find(t).map(|at| (at, t))).min() {
            qb.push(&rest[..at]);
            match token {
                "$1" => qb.bind_int(self.account.0),
                "{ids}" => qb
                    .push("select id from contacts where deletion_batch_id = ")
                    .bind_int(self.batch.0)
                    .push(" and id > ")
                    .bind_int(self.after)
                    .push(" and id <= ")
                    .bind_int(self.upto),
                _ => qb.bind_int(now),
            };
            rest = &rest[at + token.len()..];
        }
        qb.push(rest);
        qb
    }
}

impl Repo {
    /// Counts, per associated kind, what deleting `sel` would remove, and the
    /// pre-delete warnings (U4). `actor` is who is about to delete, so "worked on by
    /// others" leaves out their own activity.
    ///
    /// One statement, so one snapshot. A selection is counted through its contacts,
    /// one index probe per contact and kind. "Select all" without a filter is every
    /// live contact of the account less the few created after `as_of` or excluded: it is
    /// counted as the account's counters minus those few, which stays fast at a million.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deletion_impact(
        &self,
        account: AccountId,
        sel: &Selection,
        actor: Option<UserId>,
    ) -> RepoResult<DeletionImpact> {
        let now = self.now();
        let week_ago = millis(now - Duration::days(7));
        let now = millis(now);
        let actor = actor.map(|u| u.0).unwrap_or(0);
        let (set, totals) = match sel {
            Selection::AllMatching { filter, as_of, exclude } if filter.is_empty() => {
                (ContactSet::AllBut { as_of: millis(*as_of), exclude }, true)
            }
            _ => (ContactSet::Selection(sel), false),
        };
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("with sel as materialized (select c.id from contacts c where ");
            set.push(&mut qb, account);
            qb.push(") select ");
            // With `totals`, each column is the account's total less what `sel` holds.
            let total = |qb: &mut QueryBuilder<'_, DB>, kind: &str| {
                if totals {
                    qb.push("coalesce((select n from account_counts where account_id = ")
                        .push_bind(account.0)
                        .push(format!(" and kind = '{kind}'), 0) - "));
                }
            };
            total(&mut qb, "contacts");
            qb.push("(select count(*) from sel) as contacts");
            for (col, table, key, cond) in IMPACT_COUNTS {
                qb.push(", ");
                total(&mut qb, col);
                qb.push(format!("(select count(*) from sel cross join {table} x where x.{key} = sel.id{cond}) as {col}"));
            }
            qb.push(", ");
            if totals {
                qb.push("(select count(*) from appointments x where x.account_id = ")
                    .push_bind(account.0)
                    .push(" and x.status = 'scheduled' and x.starts_at >= ")
                    .push_bind(now)
                    .push(") - ");
            }
            qb.push("(select count(*) from sel cross join appointments x where x.contact_id = sel.id and x.status = 'scheduled' and x.starts_at >= ")
                .push_bind(now)
                .push(") as upcoming_appointments, ");
            if totals {
                qb.push("(select count(*) from (select x.contact_id from activities x where x.account_id = ")
                    .push_bind(account.0)
                    .push(" and x.created_at >= ")
                    .push_bind(week_ago)
                    .push(" and x.user_id is not null and x.user_id <> ")
                    .push_bind(actor)
                    .push(" group by x.contact_id) w) - ");
            }
            qb.push("(select count(*) from sel where exists (select 1 from activities x where x.contact_id = sel.id and x.created_at >= ")
                .push_bind(week_ago)
                .push(" and x.user_id is not null and x.user_id <> ")
                .push_bind(actor)
                .push(")) as worked_on_by_others");
            qb.build_query_as().fetch_one(pool).await?
        }))
    }

    /// Deletes `sel` of `count` contacts: now, inside the caller's request, or, above
    /// `threshold`, as a background job that the caller can follow (L1).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_or_queue(
        &self,
        account: AccountId,
        actor: Actor,
        sel: &Selection,
        reason: Option<&str>,
        confirmed: DeleteConfirmation,
        (count, threshold): (i64, i64),
    ) -> RepoResult<DeletionOutcome> {
        if count > threshold {
            let user = actor.user.ok_or_else(|| RepoError::Forbidden("Only an admin may delete contacts.".into()))?;
            let batch = self.start_deletion(account, actor, sel, reason, confirmed).await?;
            let job = self.queue_deletion_job(account, batch, user, count).await?;
            return Ok(DeletionOutcome::Queued { job, count });
        }
        Ok(DeletionOutcome::Deleted(self.delete_contacts(account, actor, sel, reason, confirmed).await?))
    }

    /// Deletes `sel` now, inside the caller's request: a batch run to the end.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_contacts(
        &self,
        account: AccountId,
        actor: Actor,
        sel: &Selection,
        reason: Option<&str>,
        confirmed: DeleteConfirmation,
    ) -> RepoResult<DeletionReport> {
        let batch = self.start_deletion(account, actor, sel, reason, confirmed).await?;
        let mut deleted = 0;
        loop {
            let step = self.delete_next_chunk(account, batch, DEFAULT_CHUNK).await?;
            deleted += step.deleted;
            if step.done {
                return Ok(DeletionReport { batch, deleted });
            }
        }
    }

    /// Records a deletion of `sel` as a running batch and returns its id; nothing is
    /// deleted yet. Refused unless the actor is an admin of the account (R1).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn start_deletion(
        &self,
        account: AccountId,
        actor: Actor,
        sel: &Selection,
        reason: Option<&str>,
        _confirmed: DeleteConfirmation,
    ) -> RepoResult<BatchId> {
        let user = actor.user.ok_or_else(|| RepoError::Forbidden("Only an admin may delete contacts.".into()))?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(|r| r.chars().take(500).collect::<String>());
        let selection = serde_json::to_string(sel).map_err(|e| RepoError::Internal(format!("selection: {e}")))?;
        let total = self.count_selection(account, sel).await?;
        let now = millis(self.now());
        let id: Option<i64> = on_db!(self, |pool, DB| {
            // In a transaction of its own: on SQLite, an `insert … returning` outside one
            // hands back the new id before its commit, whose failure (a full disk, a
            // read-only file) would go unreported.
            let mut tx = DB::begin_write(pool).await?;
            // The role check is folded into the insert: no admin, no batch.
            let id = sqlx::query_scalar(
                "insert into deletion_batches
                   (account_id, actor_user_id, workflow_id, channel, selection, description, reason, total, created_at, triggered_by_user_id)
                 select $1, u.id, $3, $4, $5, $6, $7, $8, $9, $10 from users u
                 where u.id = $2 and u.account_id = $1 and u.role = 'admin'
                 returning id",
            )
            .bind(account.0)
            .bind(user.0)
            .bind(actor.channel.workflow_id().map(|w| w.0))
            .bind(actor.channel.as_str())
            .bind(&selection)
            .bind(sel.describe())
            .bind(reason)
            .bind(total)
            .bind(now)
            .bind(actor.triggered_by.map(|u| u.0))
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        id.map(BatchId).ok_or_else(|| RepoError::Forbidden("Only an admin of this account may delete contacts.".into()))
    }

    /// Applies the next chunk of a running batch in one transaction (R2). When nothing
    /// is left, closes the batch and writes its audit event (R7).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_next_chunk(&self, account: AccountId, batch: BatchId, limit: i64) -> RepoResult<ChunkOutcome> {
        retry_transient(|| self.delete_next_chunk_once(account, batch, limit)).await
    }

    async fn delete_next_chunk_once(&self, account: AccountId, batch: BatchId, limit: i64) -> RepoResult<ChunkOutcome> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            let mut conn = pool.acquire().await?;
            let usual_cache = match DB::BULK_CACHE {
                Some(bulk) => {
                    let usual: i64 = sqlx::query_scalar("pragma cache_size").fetch_one(&mut *conn).await?;
                    sqlx::query(&format!("pragma cache_size = {bulk}")).execute(&mut *conn).await?;
                    Some(usual)
                }
                None => None,
            };
            let outcome: RepoResult<ChunkOutcome> = async {
                let mut tx = DB::begin_write_on(&mut conn).await?;
                let b: Option<RunningBatch> = sqlx::query_as(&format!("{RUNNING_BATCH}{}", DB::FOR_UPDATE))
                    .bind(batch.0)
                    .bind(account.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(b) = b else {
                    return Err(RepoError::NotFound(format!("There is no deletion {batch} in this account.")));
                };
                if b.state != "running" {
                    return Ok(ChunkOutcome { deleted: 0, done: true });
                }
                let sel = b.selection(batch)?;
                let upper: Option<i64> = chunk_end::<DB>(account, &sel, b.cursor_id, limit).build_query_scalar().fetch_one(&mut *tx).await?;
                let Some(upper) = upper else {
                    // Nothing left: close the batch, forget the selection (it may hold a
                    // search text that names someone, R10) and audit it.
                    sqlx::query(CLOSE_BATCH).bind(now).bind(batch.0).execute(&mut *tx).await?;
                    sqlx::query(AUDIT_BATCH).bind(now).bind(batch.0).execute(&mut *tx).await?;
                    for mut statement in Event::deletion_finished(account, batch, "done", b.deleted_count).statements::<DB>(now) {
                        statement.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    return Ok(ChunkOutcome { deleted: 0, done: true });
                };
                let chunk = Chunk { account, batch, after: b.cursor_id, upto: upper };
                // Where counters are kept per row (SQLite), the chunk pauses the triggers
                // its statements fire and settles each counter once, by what the
                // statements changed: one update per kind rather than one per row.
                let settle = DB::CHUNK_SETTLES_COUNTS;
                if settle {
                    sqlx::query(PAUSE_COUNTS).execute(&mut *tx).await?;
                }
                let mut ids: Vec<i64> = chunk.mark_deleted::<DB>(&sel, &b, now).build_query_scalar().fetch_all(&mut *tx).await?;
                let deleted = ids.len() as u64;
                ids.sort_unstable();
                let mut removed: Vec<(&str, i64)> = Vec::new();
                if settle {
                    removed.push(("contacts", deleted as i64));
                    // the tags of the contacts just marked: their counters down, then
                    // flagged as a deleted contact's (R3), each with one statement
                    for template in [SUBTRACT_LIVE_TAGS, UNFLAG_TAGS] {
                        chunk.fill::<DB>(template, now).build().execute(&mut *tx).await?;
                    }
                    let open: i64 = chunk.fill::<DB>(OPEN_OPPORTUNITIES, now).build_query_scalar().fetch_one(&mut *tx).await?;
                    removed.push(("open_opportunities", open));
                }
                // R2
                for (table, kind, mut statement) in chunk.remove_associated::<DB>(now) {
                    if settle && table == "conversations" {
                        let cascaded: i64 =
                            chunk.fill::<DB>(MESSAGES_OF_REMOVED_CONVERSATIONS, now).build_query_scalar().fetch_one(&mut *tx).await?;
                        removed.push(("messages", cascaded));
                    }
                    let n = statement.build().execute(&mut *tx).await?.rows_affected();
                    removed.push((kind, n as i64));
                }
                if settle {
                    let mut by_kind: Vec<(&str, i64)> = Vec::new();
                    for (kind, n) in removed {
                        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
                            Some((_, total)) => *total += n,
                            None => by_kind.push((kind, n)),
                        }
                    }
                    for (kind, n) in by_kind.into_iter().filter(|(_, n)| *n != 0) {
                        sqlx::query(SUBTRACT_COUNT).bind(n).bind(account.0).bind(kind).execute(&mut *tx).await?;
                    }
                    sqlx::query(RESUME_COUNTS).execute(&mut *tx).await?;
                }
                if !ids.is_empty() {
                    // the chunk's webhook event: exactly the contacts it marked (one per chunk, not per contact)
                    for mut statement in Event::contacts(WebhookEvent::ContactDeleted, account, Some(batch), &ids).statements::<DB>(now) {
                        statement.build().execute(&mut *tx).await?;
                    }
                }
                sqlx::query(ADVANCE_BATCH).bind(upper).bind(deleted as i64).bind(batch.0).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(ChunkOutcome { deleted, done: false })
            }
            .await;
            if let Some(usual) = usual_cache {
                if sqlx::query(&format!("pragma cache_size = {usual}")).execute(&mut *conn).await.is_err() {
                    // never back in the pool with the larger cache
                    conn.close_on_drop();
                }
            }
            outcome
        })
    }

    /// Stops a running batch: what is deleted stays deleted (and restorable), and is
    /// audited like a finished deletion (R7), so that it can be found and restored
    /// from the audit log too (R12).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_deletion(&self, account: AccountId, batch: BatchId) -> RepoResult<bool> {
        let now = millis(self.now());
        let cancelled = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let deleted: Option<i64> = sqlx::query_scalar(
                "update deletion_batches set state = 'cancelled', selection = null, finished_at = $1
                 where id = $2 and account_id = $3 and state = 'running' returning deleted_count",
            )
            .bind(now)
            .bind(batch.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(deleted) = deleted {
                sqlx::query(AUDIT_BATCH).bind(now).bind(batch.0).execute(&mut *tx).await?;
                for mut statement in Event::deletion_finished(account, batch, "cancelled", deleted).statements::<DB>(now) {
                    statement.build().execute(&mut *tx).await?;
                }
            }
            let cancelled = deleted.is_some();
            tx.commit().await?;
            cancelled
        });
        Ok(cancelled)
    }

    /// Batches left running (by a crash or a restart), oldest first, across accounts.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn running_deletions(&self) -> RepoResult<Vec<(AccountId, BatchId)>> {
        let rows: Vec<(i64, i64)> = on_db!(self, |pool, DB| {
            sqlx::query_as("select account_id, id from deletion_batches where state = 'running' order by id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(a, b)| (AccountId(a), BatchId(b))).collect())
    }

    /// One deletion batch of the account, with how much of it can still be restored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn batch_info(&self, account: AccountId, batch: BatchId) -> RepoResult<Option<BatchInfo>> {
        let cutoff = millis(crate::domain::restore_window::cutoff(self.now()));
        let row: Option<BatchRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select b.id, b.account_id, b.actor_user_id, u.name as actor_name, b.workflow_id, w.name as workflow_name,
                        b.channel, b.description, b.reason, b.state, b.total, b.deleted_count, b.created_at, b.finished_at,
                        (select count(*) from contacts c where c.deletion_batch_id = b.id and c.deleted_at > $3) as restorable
                 from deletion_batches b
                 left join users u on u.id = b.actor_user_id
                 left join workflows w on w.id = b.workflow_id
                 where b.id = $1 and b.account_id = $2",
            )
            .bind(batch.0)
            .bind(account.0)
            .bind(cutoff)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| BatchInfo {
            id: BatchId(r.id),
            account_id: AccountId(r.account_id),
            actor_user_id: r.actor_user_id.map(UserId),
            actor_name: r.actor_name,
            workflow_id: r.workflow_id.map(WorkflowId),
            workflow_name: r.workflow_name,
            channel: r.channel,
            description: r.description,
            reason: r.reason,
            state: r.state,
            total: r.total,
            deleted: r.deleted_count,
            created_at: from_millis(r.created_at),
            finished_at: r.finished_at.map(from_millis),
            restorable: r.restorable,
        }))
    }
}
