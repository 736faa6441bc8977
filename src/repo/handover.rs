//! U7's advice before deleting a contact: close its open opportunities (won/lost) or
//! move them to another contact, and cancel or move its upcoming appointments.

use super::sql::{millis, on_db};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{AccountId, ContactId, Email};
use sqlx::QueryBuilder;

/// The kinds of associated rows that can be handed over to another contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    Opportunity,
    Appointment,
}

impl Handover {
    fn table(self) -> &'static str {
        match self {
            Handover::Opportunity => "opportunities",
            Handover::Appointment => "appointments",
        }
    }
}

fn not_found() -> RepoError {
    RepoError::NotFound("There is no such item on this contact.".into())
}

impl Repo {
    /// Closes an open opportunity of a live contact as `won` or `lost`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close_opportunity(&self, account: AccountId, contact: ContactId, id: i64, won: bool) -> RepoResult<()> {
        let status = if won { "won" } else { "lost" };
        if self.settle(account, contact, Handover::Opportunity, id, status).await? == 0 {
            return Err(RepoError::NotFound("There is no such open opportunity on this contact.".into()));
        }
        Ok(())
    }

    /// Cancels an upcoming appointment of a live contact.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_appointment(&self, account: AccountId, contact: ContactId, id: i64) -> RepoResult<()> {
        if self.settle(account, contact, Handover::Appointment, id, "cancelled").await? == 0 {
            return Err(RepoError::NotFound("There is no such upcoming appointment on this contact.".into()));
        }
        Ok(())
    }

    /// Sets the status of an open opportunity or an upcoming appointment (as the
    /// domain's rules define them) of a live contact; returns the rows changed.
    async fn settle(&self, account: AccountId, contact: ContactId, kind: Handover, id: i64, status: &str) -> RepoResult<u64> {
        let now = millis(self.now());
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(format!("update {} set status = ", kind.table()));
            qb.push_bind(status.to_string())
                .push(" where id = ")
                .push_bind(id)
                .push(" and contact_id = ")
                .push_bind(contact.0)
                .push(" and account_id = ")
                .push_bind(account.0);
            match kind {
                Handover::Opportunity => qb.push(" and status = 'open'"),
                Handover::Appointment => qb.push(" and status = 'scheduled' and starts_at >= ").push_bind(now),
            };
            qb.push(" and contact_id in (select c.id from contacts c where c.id = ")
                .push_bind(contact.0)
                .push(" and c.deleted_at is null)");
            qb.build().execute(pool).await?.rows_affected()
        }))
    }

    /// Moves an opportunity or appointment to the live contact of the account that has
    /// email `to`; returns that contact.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn hand_over(&self, account: AccountId, contact: ContactId, kind: Handover, id: i64, to: &Email) -> RepoResult<ContactId> {
        let target: Option<i64> = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select id from contacts where account_id = $1 and email = $2 and deleted_at is null")
                .bind(account.0)
                .bind(to.as_str())
                .fetch_optional(pool)
                .await?
        });
        let target = target.ok_or_else(|| RepoError::NotFound(format!("No live contact in this account has the email {}.", to.as_str())))?;
        if target == contact.0 {
            return Err(RepoError::Invalid(crate::domain::InvalidInput::new("Choose another contact than this one.")));
        }
        let n = on_db!(self, |pool, DB| {
            sqlx::query(&format!(
                "update {} set contact_id = $1 where id = $2 and contact_id = $3 and account_id = $4
                 and contact_id in (select c.id from contacts c where c.id = $3 and c.deleted_at is null)",
                kind.table()
            ))
            .bind(target)
            .bind(id)
            .bind(contact.0)
            .bind(account.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(not_found());
        }
        Ok(ContactId(target))
    }
}
