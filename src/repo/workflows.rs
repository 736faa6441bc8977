//! Workflows (W1–W4): their definitions, the durable queue of runs, and the run
//! history. A tag added to a live contact queues a run of every active workflow that
//! it triggers in the same transaction as the tag, so no trigger is lost to a crash.

use super::sql::triggers::{active_workflows, ACTIVE_WORKFLOWS};
use super::sql::{from_millis, millis, on_db, push_id_list, Binds, Dialect};
use super::{Repo, RepoError, RepoResult};
use crate::domain::workflow::deletes;
use crate::domain::{
    AccountId, Actor, ActiveWorkflow, BatchId, ContactId, Role, TagTriggers, UserId, WorkflowAction, WorkflowDraft, WorkflowId,
    WorkflowStatus,
};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: WorkflowId,
    pub name: String,
    pub status: WorkflowStatus,
    pub trigger_tag: String,
    pub actions: Vec<WorkflowAction>,
    pub activated_by: Option<UserId>,
    pub activated_by_name: Option<String>,
    pub activated_at: Option<DateTime<Utc>>,
    pub runs: i64,
    pub last_run_at: Option<DateTime<Utc>>,
}

impl Workflow {
    pub fn deletes(&self) -> bool {
        deletes(&self.actions)
    }
}

#[derive(sqlx::FromRow)]
struct WorkflowRow {
    id: i64,
    name: String,
    status: String,
    trigger_tag: Option<String>,
    actions: String,
    activated_by_user_id: Option<i64>,
    activated_by_name: Option<String>,
    activated_at: Option<i64>,
    runs: i64,
    last_run_at: Option<i64>,
}

impl WorkflowRow {
    fn into_workflow(self) -> RepoResult<Workflow> {
        Ok(Workflow {
            id: WorkflowId(self.id),
            name: self.name,
            status: WorkflowStatus::parse(&self.status)?,
            trigger_tag: self.trigger_tag.unwrap_or_default(),
            actions: serde_json::from_str(&self.actions)
                .map_err(|e| RepoError::Internal(format!("workflow {}: actions: {e}", self.id)))?,
            activated_by: self.activated_by_user_id.map(UserId),
            activated_by_name: self.activated_by_name,
            activated_at: self.activated_at.map(from_millis),
            runs: self.runs,
            last_run_at: self.last_run_at.map(from_millis),
        })
    }
}

const WORKFLOW_SELECT: &str = "select w.id, w.name, w.status, w.trigger_tag, w.actions, w.activated_by_user_id,
        u.name as activated_by_name, w.activated_at,
        (select count(*) from workflow_runs r where r.workflow_id = w.id) as runs,
        (select max(r.created_at) from workflow_runs r where r.workflow_id = w.id) as last_run_at
     from workflows w left join users u on u.id = w.activated_by_user_id";

/// One run in a workflow's history (W4).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkflowRun {
    pub id: i64,
    pub contact_id: i64,
    pub contact_name: Option<String>,
    pub test_run: i64,
    pub state: String,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub batch_id: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A queued run a worker has claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedRun {
    pub id: i64,
    pub account_id: i64,
    pub workflow_id: i64,
    pub contact_id: i64,
    /// Who added the tag that queued the run.
    pub triggered_by_user_id: Option<i64>,
    /// 1 when they were an admin who confirmed the deletions the tag starts.
    pub delete_confirmed: i64,
}

/// "Delete contact", "Add tag “X”, then Delete contact".
fn describe(actions: &[WorkflowAction]) -> String {
    actions.iter().map(WorkflowAction::describe).collect::<Vec<_>>().join(", then ")
}

/// The `where` of a change to workflow `id`: the account's, and, unless `role` is an
/// admin's, not one that deletes contacts as stored at the moment of the write.
fn push_allowed<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, account: AccountId, id: WorkflowId, role: Role) {
    qb.push(" where id = ").bind_int(id.0).push(" and account_id = ").bind_int(account.0);
    if !role.is_admin() {
        qb.push(" and actions not like '%\"delete_contact\"%'");
    }
}

fn forbid(msg: &str) -> RepoError {
    RepoError::Forbidden(msg.to_string())
}

impl Repo {
    /// What adding `tag` now starts among the account's active workflows: to warn
    /// before a tag that deletes (the tagging itself checks again in its transaction).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tag_triggers(&self, account: AccountId, tag: &str) -> RepoResult<TagTriggers> {
        Ok(TagTriggers::of(tag, &self.active_workflows(account).await?))
    }

    /// The account's active workflows, for [`TagTriggers`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn active_workflows(&self, account: AccountId) -> RepoResult<Vec<ActiveWorkflow>> {
        let rows = on_db!(self, |pool, DB| sqlx::query_as(ACTIVE_WORKFLOWS).bind(account.0).fetch_all(pool).await?);
        active_workflows(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_workflows(&self, account: AccountId) -> RepoResult<Vec<Workflow>> {
        let rows: Vec<WorkflowRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!("{WORKFLOW_SELECT} where w.account_id = $1 order by w.id desc"))
                .bind(account.0)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(WorkflowRow::into_workflow).collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_workflow(&self, account: AccountId, id: WorkflowId) -> RepoResult<Option<Workflow>> {
        let row: Option<WorkflowRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!("{WORKFLOW_SELECT} where w.account_id = $1 and w.id = $2"))
                .bind(account.0)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(WorkflowRow::into_workflow).transpose()
    }

    /// Saves a new workflow as a draft (W1). One that deletes contacts only by an admin.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_workflow(&self, account: AccountId, draft: &WorkflowDraft, role: Role) -> RepoResult<WorkflowId> {
        if draft.deletes() && !role.is_admin() {
            return Err(forbid("Only an admin may create a workflow that deletes contacts."));
        }
        let now = millis(self.now());
        let actions = serde_json::to_string(&draft.actions).map_err(|e| RepoError::Internal(e.to_string()))?;
        let id: i64 = on_db!(self, |pool, DB| {
            // in a transaction, so that a failed commit is reported (see start_deletion)
            let mut tx = DB::begin_write(pool).await?;
            let id = sqlx::query_scalar(
                "insert into workflows (account_id, name, status, trigger_tag, actions, created_at, updated_at)
                 values ($1, $2, 'draft', $3, $4, $5, $5) returning id",
            )
            .bind(account.0)
            .bind(&draft.name)
            .bind(draft.trigger_tag.as_str())
            .bind(actions)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(WorkflowId(id))
    }

    /// Why a change to workflow `id` changed nothing: it is not the account's, or it
    /// deletes contacts and `user` is not an admin.
    async fn unchanged(&self, account: AccountId, id: WorkflowId, what: &str) -> RepoError {
        match self.get_workflow(account, id).await {
            Ok(Some(_)) => forbid(&format!("Only an admin may {what} a workflow that deletes contacts.")),
            Ok(None) => RepoError::NotFound("There is no such workflow in this account.".into()),
            Err(e) => e,
        }
    }

    /// Changes a workflow's name, trigger and actions. A workflow that deletes contacts,
    /// before or after the change, may only be changed by an admin (R1, W3): the check
    /// on the stored actions is part of the update, so that no change of them between a
    /// check and the write can slip through. Audited.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_workflow(&self, account: AccountId, id: WorkflowId, draft: &WorkflowDraft, user: UserId, role: Role) -> RepoResult<()> {
        if draft.deletes() && !role.is_admin() {
            return Err(forbid("Only an admin may make a workflow delete contacts."));
        }
        let now = millis(self.now());
        let actions = serde_json::to_string(&draft.actions).map_err(|e| RepoError::Internal(e.to_string()))?;
        let changed = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("update workflows set name = ");
            qb.push_bind(draft.name.clone())
                .push(", trigger_tag = ")
                .push_bind(draft.trigger_tag.as_str().to_string())
                .push(", actions = ")
                .push_bind(actions)
                .push(", updated_at = ")
                .push_bind(now);
            push_allowed(&mut qb, account, id, role);
            qb.build().execute(pool).await?.rows_affected()
        });
        if changed == 0 {
            return Err(self.unchanged(account, id, "change").await);
        }
        let desc = format!("workflow #{id} “{}” changed: when tag “{}” is added — {}", draft.name, draft.trigger_tag.as_str(), describe(&draft.actions));
        self.record_audit(account, Actor::ui(user), super::AuditAction::WorkflowEdit, 0, &desc, None, None).await
    }

    /// Activates, pauses or returns a workflow to draft. Any change of status of a
    /// workflow that deletes contacts needs an admin (W3), checked in the update itself;
    /// activation and pausing are audited, and the activating user is the one
    /// deletions are attributed to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_workflow_status(
        &self,
        account: AccountId,
        id: WorkflowId,
        status: WorkflowStatus,
        user: UserId,
        role: Role,
    ) -> RepoResult<()> {
        let now = millis(self.now());
        let changed = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("update workflows set status = ");
            qb.push_bind(status.as_str().to_string()).push(", updated_at = ").push_bind(now);
            if status == WorkflowStatus::Active {
                qb.push(", activated_by_user_id = ").push_bind(user.0).push(", activated_at = ").push_bind(now);
            }
            push_allowed(&mut qb, account, id, role);
            qb.build().execute(pool).await?.rows_affected()
        });
        let verb = if status == WorkflowStatus::Active { "activate" } else { "pause" };
        if changed == 0 {
            return Err(self.unchanged(account, id, verb).await);
        }
        let Some(wf) = self.get_workflow(account, id).await? else { return Ok(()) };
        let (action, word) = match status {
            WorkflowStatus::Active => (super::AuditAction::WorkflowActivate, "activated"),
            WorkflowStatus::Paused => (super::AuditAction::WorkflowPause, "paused"),
            WorkflowStatus::Draft => (super::AuditAction::WorkflowPause, "returned to draft"),
        };
        let desc = format!("workflow #{id} “{}” {word}: when tag “{}” is added — {}", wf.name, wf.trigger_tag, describe(&wf.actions));
        self.record_audit(account, Actor::ui(user), action, 0, &desc, None, None).await
    }

    /// Removes a workflow and its run history; a workflow that deletes contacts only by
    /// an admin, checked in the same transaction. Audited.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_workflow(&self, account: AccountId, id: WorkflowId, user: UserId, role: Role) -> RepoResult<()> {
        let wf = self.get_workflow(account, id).await?;
        let removed = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let mut qb = QueryBuilder::<DB>::new("delete from workflows");
            push_allowed(&mut qb, account, id, role);
            let removed = qb.build().execute(&mut *tx).await?.rows_affected();
            if removed > 0 {
                sqlx::query("delete from workflow_runs where workflow_id = $1 and account_id = $2")
                    .bind(id.0)
                    .bind(account.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            removed
        });
        match (removed, wf) {
            (0, _) | (_, None) => Err(self.unchanged(account, id, "remove").await),
            (_, Some(wf)) => {
                let desc = format!(
                    "workflow #{id} “{}” removed with its {} runs: when tag “{}” is added — {}",
                    wf.name,
                    wf.runs,
                    wf.trigger_tag,
                    describe(&wf.actions)
                );
                self.record_audit(account, Actor::ui(user), super::AuditAction::WorkflowRemove, 0, &desc, None, None).await
            }
        }
    }

    /// A workflow's run history, newest first (W4).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn workflow_runs(&self, account: AccountId, id: WorkflowId, limit: i64) -> RepoResult<Vec<WorkflowRun>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select r.id, r.contact_id,
                        case when c.id is null then null else coalesce(nullif(trim(c.first_name || ' ' || c.last_name), ''), c.email) end as contact_name,
                        r.test_run, r.state, r.outcome, r.error, r.batch_id, r.created_at, r.finished_at
                 from workflow_runs r left join contacts c on c.id = r.contact_id and c.account_id = r.account_id
                 where r.account_id = $1 and r.workflow_id = $2 order by r.id desc limit $3",
            )
            .bind(account.0)
            .bind(id.0)
            .bind(limit.clamp(1, 500))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records a finished test run (W2).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_test_run(
        &self,
        account: AccountId,
        workflow: WorkflowId,
        contact: ContactId,
        outcome: &str,
        batch: Option<BatchId>,
    ) -> RepoResult<()> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            sqlx::query(
                "insert into workflow_runs (account_id, workflow_id, contact_id, test_run, state, outcome, batch_id, created_at, finished_at)
                 values ($1, $2, $3, 1, 'done', $4, $5, $6, $6)",
            )
            .bind(account.0)
            .bind(workflow.0)
            .bind(contact.0)
            .bind(outcome)
            .bind(batch.map(|b| b.0))
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` queued runs (or runs whose worker's lease ran out) for
    /// `worker`, holding them for `lease_ms`. With several servers on one PostgreSQL,
    /// `skip locked` gives each run to exactly one of them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_runs(&self, worker: &str, limit: i64, lease_ms: i64) -> RepoResult<Vec<ClaimedRun>> {
        let now = millis(self.now());
        Ok(on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let rows: Vec<ClaimedRun> = sqlx::query_as(&format!(
                "update workflow_runs set state = 'running', claimed_by = $1, claim_until = $2
                 where id in (select id from workflow_runs
                              where state in ('queued', 'running') and (state = 'queued' or claim_until < $3)
                              order by id limit $4{})
                 returning id, account_id, workflow_id, contact_id, triggered_by_user_id, delete_confirmed",
                DB::SKIP_LOCKED
            ))
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows
        }))
    }

    /// Marks claimed runs finished with one outcome.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_runs(&self, runs: &[i64], state: &str, outcome: &str, error: Option<&str>, batch: Option<BatchId>) -> RepoResult<()> {
        if runs.is_empty() {
            return Ok(());
        }
        let now = millis(self.now());
        for chunk in runs.chunks(1000) {
            on_db!(self, |pool, DB| {
                let mut qb = QueryBuilder::<DB>::new("update workflow_runs set state = ");
                qb.push_bind(state.to_string())
                    .push(", outcome = ")
                    .push_bind(outcome.to_string())
                    .push(", error = ")
                    .push_bind(error.map(str::to_string))
                    .push(", batch_id = ")
                    .push_bind(batch.map(|b| b.0))
                    .push(", finished_at = ")
                    .push_bind(now)
                    .push(", claimed_by = null, claim_until = null where id in (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// How many runs wait in the queue (all accounts).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queued_runs(&self) -> RepoResult<i64> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from workflow_runs where state in ('queued', 'running')")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Which of `ids` are live contacts of the account now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live_contact_ids(&self, account: AccountId, ids: &[ContactId]) -> RepoResult<Vec<ContactId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<i64> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where c.account_id = ");
            qb.push_bind(account.0).push(" and c.deleted_at is null and c.id in (");
            push_id_list(&mut qb, ids);
            qb.push(")");
            qb.build_query_scalar().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(ContactId).collect())
    }
}
