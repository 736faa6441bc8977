//! The audit log (R7): who did what to how many contacts, when, and through which
//! channel. Rows keep ids and counts, never a contact's name or email (R10).

use super::sql::{from_millis, millis, on_db};
use super::{Repo, RepoResult};
use crate::domain::{AccountId, Actor, BatchId};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Delete,
    Restore,
    Erase,
    Purge,
    WorkflowActivate,
    WorkflowPause,
    WorkflowEdit,
    WorkflowRemove,
}

impl AuditAction {
    pub const ALL: [AuditAction; 8] = [
        AuditAction::Delete,
        AuditAction::Restore,
        AuditAction::Erase,
        AuditAction::Purge,
        AuditAction::WorkflowActivate,
        AuditAction::WorkflowPause,
        AuditAction::WorkflowEdit,
        AuditAction::WorkflowRemove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Delete => "delete",
            AuditAction::Restore => "restore",
            AuditAction::Erase => "erase",
            AuditAction::Purge => "purge",
            AuditAction::WorkflowActivate => "workflow_activate",
            AuditAction::WorkflowPause => "workflow_pause",
            AuditAction::WorkflowEdit => "workflow_edit",
            AuditAction::WorkflowRemove => "workflow_remove",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// Events older than this id (keyset pagination).
    pub before: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_name: Option<String>,
    pub workflow_id: Option<i64>,
    pub workflow_name: Option<String>,
    /// For a workflow's deletion: the user whose tag started it.
    pub triggered_by_name: Option<String>,
    pub channel: String,
    pub action: String,
    pub contact_count: i64,
    pub description: String,
    pub reason: Option<String>,
    pub batch_id: Option<i64>,
    /// The deletion of `batch_id`, to name it (R7, R12).
    pub batch_total: Option<i64>,
    pub batch_at: Option<i64>,
    pub batch_by: Option<String>,
    pub batch_workflow: Option<String>,
}

impl AuditEvent {
    pub fn time(&self) -> DateTime<Utc> {
        from_millis(self.at)
    }

    /// The name of the deletion the event made or undid.
    pub fn deletion_name(&self) -> Option<crate::domain::DeletionName> {
        Some(crate::domain::DeletionName::new(
            self.batch_total?,
            from_millis(self.batch_at?),
            crate::domain::deleted_by_words(self.batch_by.as_deref(), self.batch_workflow.as_deref()),
        ))
    }
}

impl Repo {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_audit(
        &self,
        account: AccountId,
        actor: Actor,
        action: AuditAction,
        count: i64,
        description: &str,
        reason: Option<&str>,
        batch: Option<BatchId>,
    ) -> RepoResult<()> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            sqlx::query(
                "insert into audit_events (account_id, at, actor_user_id, workflow_id, channel, action, contact_count, description, reason, batch_id, triggered_by_user_id)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(account.0)
            .bind(now)
            .bind(actor.user.map(|u| u.0))
            .bind(actor.channel.workflow_id().map(|w| w.0))
            .bind(actor.channel.as_str())
            .bind(action.as_str())
            .bind(count)
            .bind(description)
            .bind(reason)
            .bind(batch.map(|b| b.0))
            .bind(actor.triggered_by.map(|u| u.0))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The account's audit events, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_events(&self, account: AccountId, filter: &AuditFilter) -> RepoResult<Vec<AuditEvent>> {
        let limit = filter.limit.clamp(1, 500) as i64;
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(
                "select e.id, e.at, e.actor_user_id, u.name as actor_name, e.workflow_id, w.name as workflow_name,
                        t.name as triggered_by_name, e.channel, e.action, e.contact_count, e.description, e.reason, e.batch_id,
                        b.total as batch_total, b.created_at as batch_at, bu.name as batch_by, bw.name as batch_workflow
                 from audit_events e
                 left join deletion_batches b on b.id = e.batch_id and b.account_id = e.account_id
                 left join users bu on bu.id = b.actor_user_id
                 left join workflows bw on bw.id = b.workflow_id
                 left join users u on u.id = e.actor_user_id
                 left join workflows w on w.id = e.workflow_id
                 left join users t on t.id = e.triggered_by_user_id
                 where e.account_id = ",
            );
            qb.push_bind(account.0);
            if let Some(a) = filter.action {
                qb.push(" and e.action = ").push_bind(a.as_str().to_string());
            }
            if let Some(b) = filter.before {
                qb.push(" and e.id < ").push_bind(b);
            }
            qb.push(" order by e.id desc limit ").push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        }))
    }
}
