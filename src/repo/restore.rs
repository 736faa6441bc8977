//! After deletion: the Restore page's list (U6), restore by ids or by batch within the
//! 60-day window (R8, R12) with email conflicts reported per contact (R13), erase now
//! (R14) and purge (R9, R10).

use super::contacts::{display_name, push_id_list};
use super::{from_millis, like_pattern, millis, on_db, BeginWrite, Dialect, Repo, RepoError, RepoResult};
use crate::domain::restore_window::{cutoff as restore_cutoff, DaysLeft};
use crate::domain::{AccountId, Actor, BatchId, ContactId, DeleteConfirmation, UserId};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use std::collections::BTreeMap;

/// Contacts restored or purged per transaction.
const CHUNK: i64 = 1000;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedContact {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub deleted_at: i64,
    pub deletion_batch_id: Option<i64>,
    pub deleted_by_name: Option<String>,
    pub workflow_name: Option<String>,
}

impl DeletedContact {
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name, self.email.as_deref())
    }
    pub fn deleted(&self) -> DateTime<Utc> {
        from_millis(self.deleted_at)
    }
    pub fn days_left(&self, now: DateTime<Utc>) -> DaysLeft {
        DaysLeft::at(self.deleted(), now)
    }
    /// "Jane Admin", or "Workflow “Clean-up” on behalf of Jane Admin".
    pub fn deleted_by(&self) -> String {
        let person = self.deleted_by_name.clone().unwrap_or_else(|| "a removed user".into());
        match &self.workflow_name {
            Some(w) => format!("Workflow “{w}” on behalf of {person}"),
            None => person,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeletedPage {
    pub contacts: Vec<DeletedContact>,
    /// Cursor of the next (older) page: `deleted_at` and id of the last row.
    pub next: Option<(i64, i64)>,
}

/// A deleted contact that cannot come back because a live contact has its email (R13).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RestoreConflict {
    pub contact_id: i64,
    pub email: String,
    pub live_contact_id: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub restored: u64,
    pub conflicts: Vec<RestoreConflict>,
    /// Deleted contacts whose 60 days are over (R8).
    pub expired: Vec<ContactId>,
    /// Ids that are not deleted contacts of this account (live, unknown, another
    /// account's, or already purged).
    pub not_found: Vec<ContactId>,
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

/// What a restore applies to: listed contacts, or what one deletion removed.
enum RestoreTarget<'a> {
    Ids(&'a [ContactId]),
    Batch(BatchId),
}

impl<'a> RestoreTarget<'a> {
    /// Appends ` and <alias>.… ` restricting to the target's contacts.
    fn push<'q, DB>(&self, qb: &mut QueryBuilder<'q, DB>, alias: &str)
    where
        DB: sqlx::Database,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        match self {
            RestoreTarget::Ids(ids) => {
                qb.push(format!(" and {alias}.id in ("));
                push_id_list(qb, ids);
                qb.push(")");
            }
            RestoreTarget::Batch(b) => {
                qb.push(format!(" and {alias}.deletion_batch_id = ")).push_bind(b.0);
            }
        }
    }
}

fn require_admin_msg() -> RepoError {
    RepoError::Forbidden("Only an admin of this account may restore or erase contacts.".into())
}

impl Repo {
    /// Deleted contacts still inside the window, most recently deleted first (U6).
    pub async fn deleted_contacts(
        &self,
        account: AccountId,
        q: Option<&str>,
        after: Option<(i64, i64)>,
        size: u32,
    ) -> RepoResult<DeletedPage> {
        let cutoff = millis(restore_cutoff(self.now()));
        let size = size.clamp(1, 500) as i64;
        let mut rows: Vec<DeletedContact> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(
                "select c.id, c.first_name, c.last_name, c.email, c.company, c.deleted_at, c.deletion_batch_id,
                        u.name as deleted_by_name, w.name as workflow_name
                 from contacts c
                 left join users u on u.id = c.deleted_by_user_id
                 left join workflows w on w.id = c.deleted_by_workflow_id
                 where c.account_id = ",
            );
            qb.push_bind(account.0).push(" and c.deleted_at is not null and c.deleted_at > ").push_bind(cutoff);
            if let Some(q) = q.map(str::trim).filter(|s| !s.is_empty()) {
                qb.push(" and c.search_text like ").push_bind(like_pattern(&q.to_lowercase())).push(" escape '\\'");
            }
            if let Some((at, id)) = after {
                qb.push(" and (c.deleted_at < ")
                    .push_bind(at)
                    .push(" or (c.deleted_at = ")
                    .push_bind(at)
                    .push(" and c.id < ")
                    .push_bind(id)
                    .push("))");
            }
            qb.push(" order by c.deleted_at desc, c.id desc limit ").push_bind(size + 1);
            qb.build_query_as().fetch_all(pool).await?
        });
        let next = if rows.len() as i64 > size {
            rows.truncate(size as usize);
            rows.last().map(|r| (r.deleted_at, r.id))
        } else {
            None
        };
        Ok(DeletedPage { contacts: rows, next })
    }

    /// How many deleted contacts are inside the window.
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

    /// Restores the listed deleted contacts (R8, R13).
    pub async fn restore_contacts(&self, account: AccountId, actor: Actor, ids: &[ContactId]) -> RepoResult<RestoreReport> {
        if ids.is_empty() {
            return Err(RepoError::Invalid(crate::domain::InvalidInput::new("Select at least one contact to restore.")));
        }
        let mut report = RestoreReport::default();
        for chunk in ids.chunks(CHUNK as usize) {
            let part = self.restore_where(account, actor, &RestoreTarget::Ids(chunk)).await?;
            report.restored += part.restored;
            report.conflicts.extend(part.conflicts);
            report.expired.extend(part.expired);
            report.not_found.extend(part.not_found);
        }
        self.audit_restore(account, actor, report.restored, &format!("{} selected contacts", ids.len()), None).await?;
        Ok(report)
    }

    /// Restores everything one deletion removed that is still inside the window (R12).
    pub async fn restore_batch(&self, account: AccountId, actor: Actor, batch: BatchId) -> RepoResult<RestoreReport> {
        if self.batch_info(account, batch).await?.is_none() {
            return Err(RepoError::NotFound(format!("There is no deletion {batch} in this account.")));
        }
        let report = self.restore_where(account, actor, &RestoreTarget::Batch(batch)).await?;
        self.audit_restore(account, actor, report.restored, &format!("deletion #{batch}"), Some(batch)).await?;
        Ok(report)
    }

    async fn audit_restore(
        &self,
        account: AccountId,
        actor: Actor,
        count: u64,
        description: &str,
        batch: Option<BatchId>,
    ) -> RepoResult<()> {
        if count > 0 {
            self.record_audit(account, actor, super::AuditAction::Restore, count as i64, description, None, batch).await?;
        }
        Ok(())
    }

    async fn restore_where(&self, account: AccountId, actor: Actor, target: &RestoreTarget<'_>) -> RepoResult<RestoreReport> {
        if !self.is_admin(account, actor.user).await? {
            return Err(require_admin_msg());
        }
        let now = self.now();
        let cutoff = millis(restore_cutoff(now));
        let now = millis(now);
        let mut report = RestoreReport::default();
        on_db!(self, |pool, DB| {
            // Restore in id ranges so a batch of a million never holds the writer long.
            let mut cursor = 0i64;
            loop {
                let mut tx = pool.begin_write().await?;
                let mut qb = QueryBuilder::<DB>::new("select max(id) from (select c.id from contacts c where c.account_id = ");
                qb.push_bind(account.0).push(" and c.deleted_at is not null");
                target.push(&mut qb, "c");
                qb.push(" and c.id > ").push_bind(cursor).push(" order by c.id limit ").push_bind(CHUNK).push(") t");
                let upper: Option<i64> = qb.build_query_scalar().fetch_one(&mut *tx).await?;
                let Some(upper) = upper else { break };

                // Everyone in range, within the window, whose email no live contact has
                // and no other deleted contact of this restore shares (R13). Those that
                // share an email among themselves are restored one by one below.
                let range = |qb: &mut QueryBuilder<'_, DB>| {
                    qb.push(" c.account_id = ").push_bind(account.0).push(" and c.deleted_at is not null and c.deleted_at > ").push_bind(cutoff);
                    target.push(qb, "c");
                    qb.push(" and c.id > ").push_bind(cursor).push(" and c.id <= ").push_bind(upper);
                };
                // First the ids (a chunk of at most CHUNK), then an update by primary key:
                // one plan that stays cheap whatever the table statistics say.
                let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where ");
                range(&mut qb);
                qb.push(
                    " and (c.email is null or (not exists (select 1 from contacts l where l.account_id = c.account_id
                       and l.email = c.email and l.deleted_at is null)
                     and not exists (select 1 from contacts d where d.account_id = c.account_id and d.email = c.email
                       and d.id <> c.id and d.deleted_at is not null and d.deleted_at > ",
                )
                .push_bind(cutoff);
                target.push(&mut qb, "d");
                qb.push(" and d.id > ").push_bind(cursor).push(" and d.id <= ").push_bind(upper).push(")))");
                let clear: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                if !clear.is_empty() {
                    let mut qb = QueryBuilder::<DB>::new(
                        "update contacts set deleted_at = null, deleted_by_user_id = null, deleted_by_workflow_id = null,
                         deletion_batch_id = null, updated_at = ",
                    );
                    // `deleted_at > cutoff` on the updated row itself: PostgreSQL re-checks
                    // only these conditions after a concurrent restore or purge of the row
                    qb.push_bind(now).push(" where deleted_at is not null and deleted_at > ").push_bind(cutoff).push(" and id in (");
                    let mut sep = qb.separated(", ");
                    for id in &clear {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    report.restored += qb.build().execute(&mut *tx).await?.rows_affected();
                }

                // Whatever in range is still deleted and inside the window collides on
                // email: report it against the live contact that holds the email, or
                // restore the first of several deleted twins one by one.
                let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where ");
                range(&mut qb);
                qb.push(" order by c.deleted_at desc, c.id");
                let leftovers: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                for id in leftovers {
                    let live: Option<(String, i64)> = sqlx::query_as(
                        "select l.email, l.id from contacts c join contacts l on l.account_id = c.account_id and l.email = c.email
                         where c.id = $1 and l.deleted_at is null",
                    )
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match live {
                        Some((email, live_id)) => report.conflicts.push(RestoreConflict { contact_id: id, email, live_contact_id: live_id }),
                        None => {
                            report.restored += sqlx::query(
                                "update contacts set deleted_at = null, deleted_by_user_id = null, deleted_by_workflow_id = null,
                                 deletion_batch_id = null, updated_at = $2 where id = $1 and deleted_at is not null and deleted_at > $3",
                            )
                            .bind(id)
                            .bind(now)
                            .bind(cutoff)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        }
                    }
                }

                // Past the window: refused even if purge has not run yet (R8).
                let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where c.account_id = ");
                qb.push_bind(account.0).push(" and c.deleted_at is not null and c.deleted_at <= ").push_bind(cutoff);
                target.push(&mut qb, "c");
                qb.push(" and c.id > ").push_bind(cursor).push(" and c.id <= ").push_bind(upper);
                let expired: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                report.expired.extend(expired.into_iter().map(ContactId));

                tx.commit().await?;
                cursor = upper;
            }
        });
        if let RestoreTarget::Ids(ids) = target {
            let seen: std::collections::HashSet<i64> = report
                .conflicts
                .iter()
                .map(|c| c.contact_id)
                .chain(report.expired.iter().map(|c| c.0))
                .collect();
            let restored_now = self.live_among(account, ids).await?;
            report.not_found = ids
                .iter()
                .filter(|id| !seen.contains(&id.0) && !restored_now.contains(&id.0))
                .copied()
                .collect();
        }
        Ok(report)
    }

    /// Which of `ids` are live contacts of the account.
    async fn live_among(&self, account: AccountId, ids: &[ContactId]) -> RepoResult<std::collections::HashSet<i64>> {
        let rows: Vec<i64> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where c.account_id = ");
            qb.push_bind(account.0).push(" and c.deleted_at is null and c.id in (");
            push_id_list(&mut qb, ids);
            qb.push(")");
            qb.build_query_scalar().fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Permanently erases deleted contacts before their window ends (R14).
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
            let part: Vec<i64> = on_db!(self, |pool, DB| {
                let mut tx = pool.begin_write().await?;
                let mut qb = QueryBuilder::<DB>::new("delete from contacts where account_id = ");
                qb.push_bind(account.0).push(" and deleted_at is not null and id in (");
                push_id_list(&mut qb, chunk);
                qb.push(") returning id");
                let part: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                part
            });
            erased_ids.extend(part);
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

    /// Permanently removes every contact whose restore window has closed, with all
    /// that is still attached to it (R9). Claims rows in chunks: on PostgreSQL with
    /// `skip locked`, so several processes purging at once share the work; on SQLite
    /// each chunk holds the single writer lock. Audited per account.
    pub async fn purge_expired(&self) -> RepoResult<PurgeReport> {
        let cutoff = millis(restore_cutoff(self.now()));
        let mut report = PurgeReport::default();
        // where the previous chunk stopped, in (deleted_at, id) order
        let mut after = (i64::MIN, 0i64);
        loop {
            let rows: Vec<(i64, i64, i64)> = on_db!(self, |pool, DB| {
                let mut tx = pool.begin_write().await?;
                let rows = sqlx::query_as(&format!(
                    "delete from contacts where id in (
                       select id from contacts where deleted_at is not null and deleted_at <= $1
                         and (deleted_at > $3 or (deleted_at = $3 and id > $4))
                       order by deleted_at, id limit $2{}
                     ) returning account_id, deleted_at, id",
                    _Dialect::SKIP_LOCKED
                ))
                .bind(cutoff)
                .bind(CHUNK)
                .bind(after.0)
                .bind(after.1)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows
            });
            let Some(last) = rows.iter().map(|&(_, at, id)| (at, id)).max() else {
                break;
            };
            after = last;
            for (a, _, _) in rows {
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

/// One deleted contact, with who deleted it and why, for its own page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedContactDetail {
    #[sqlx(flatten)]
    pub contact: DeletedContact,
    /// For a workflow's deletion: the user whose tag started it.
    pub triggered_by_name: Option<String>,
    pub reason: Option<String>,
}

impl Repo {
    /// A deleted contact of the account (inside the window or not, until purged).
    pub async fn deleted_contact(&self, account: AccountId, id: ContactId) -> RepoResult<Option<DeletedContactDetail>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select c.id, c.first_name, c.last_name, c.email, c.company, c.deleted_at, c.deletion_batch_id,
                        u.name as deleted_by_name, w.name as workflow_name, t.name as triggered_by_name, b.reason
                 from contacts c
                 left join users u on u.id = c.deleted_by_user_id
                 left join workflows w on w.id = c.deleted_by_workflow_id
                 left join deletion_batches b on b.id = c.deletion_batch_id and b.account_id = c.account_id
                 left join users t on t.id = b.triggered_by_user_id
                 where c.account_id = $1 and c.id = $2 and c.deleted_at is not null",
            )
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        }))
    }
}
