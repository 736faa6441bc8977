//! Background bulk jobs (L1, L2): a large deletion runs as a job that drives its
//! deletion batch chunk by chunk. The batch's cursor makes the work resumable; the
//! job's lease makes one server at a time work on it, and a crashed server's lease
//! simply runs out so that another (or the restarted one) takes over.

use super::sql::{from_millis, millis, on_db, Dialect};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{deleted_by_words, AccountId, BatchId, DeletionName, JobId, RestoreSelection, UserId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct BulkJob {
    pub id: JobId,
    pub kind: String,
    pub batch: Option<BatchId>,
    pub state: String,
    pub created_by: Option<String>,
    pub description: String,
    pub total: i64,
    pub done: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Contacts of the batch still deleted and inside the restore window.
    pub restorable: i64,
    /// A restore job: contacts it restored, refused for their email (R13), found past
    /// the window (R8), and the first refusals as (contact, live contact holding the email).
    pub restored: i64,
    pub conflict_count: i64,
    pub expired_count: i64,
    pub conflicts: Vec<(i64, i64)>,
    /// The deletion the job runs or restores, by its name (R7, R12).
    pub deletion: Option<DeletionName>,
    /// A restore job of a filter selection on the Restore page.
    pub selection: Option<RestoreSelection>,
}

impl BulkJob {
    pub fn is_restore(&self) -> bool {
        self.kind == "restore"
    }

    pub fn is_active(&self) -> bool {
        self.state == "queued" || self.state == "running"
    }

    pub fn percent(&self) -> i64 {
        if self.total <= 0 {
            if self.is_active() { 0 } else { 100 }
        } else {
            (self.done * 100 / self.total).clamp(0, 100)
        }
    }

    /// Contacts per second since the job started.
    pub fn rate(&self) -> Option<f64> {
        let started = self.started_at?;
        let secs = (self.updated_at - started).num_milliseconds() as f64 / 1000.0;
        (secs > 0.5 && self.done > 0).then(|| self.done as f64 / secs)
    }
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    batch_id: Option<i64>,
    state: String,
    created_by: Option<String>,
    description: Option<String>,
    total: i64,
    done: i64,
    error: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    updated_at: i64,
    restorable: i64,
    restored: i64,
    conflict_count: i64,
    expired_count: i64,
    conflicts: Option<String>,
    batch_total: Option<i64>,
    batch_at: Option<i64>,
    batch_by: Option<String>,
    batch_workflow: Option<String>,
    selection: Option<String>,
}

/// A deletion job's progress is its batch's; a restore job keeps its own.
const JOB_SELECT: &str = "select j.id, j.kind, j.batch_id, j.state, u.name as created_by, b.description,
        coalesce(case when j.kind = 'delete' then b.total end, j.total) as total,
        coalesce(case when j.kind = 'delete' then b.deleted_count end, j.done) as done, j.error,
        j.created_at, j.started_at, j.updated_at,
        (select count(*) from contacts c where c.deletion_batch_id = j.batch_id and c.deleted_at > $2) as restorable,
        j.restored, j.conflict_count, j.expired_count, j.conflicts,
        b.total as batch_total, b.created_at as batch_at, bu.name as batch_by, bw.name as batch_workflow, j.selection
     from bulk_jobs j
     left join deletion_batches b on b.id = j.batch_id
     left join users bu on bu.id = b.actor_user_id
     left join workflows bw on bw.id = b.workflow_id
     left join users u on u.id = j.created_by_user_id
     where j.account_id = $1";

/// A job a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub account_id: i64,
    pub batch_id: i64,
    /// `delete` or `restore`.
    pub kind: String,
}

/// What asking for a restore job gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedRestore {
    Queued(JobId),
    /// A restore of that deletion was already queued or running: this one.
    AlreadyRunning(JobId),
}

impl Repo {
    /// Queues a background job for a deletion batch already started.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_deletion_job(&self, account: AccountId, batch: BatchId, user: UserId, total: i64) -> RepoResult<JobId> {
        let now = millis(self.now());
        let id: i64 = on_db!(self, |pool, DB| {
            // in a transaction, so that a failed commit is reported (see start_deletion)
            let mut tx = DB::begin_write(pool).await?;
            let id = sqlx::query_scalar(
                "insert into bulk_jobs (account_id, kind, batch_id, state, created_by_user_id, total, created_at, updated_at)
                 values ($1, 'delete', $2, 'queued', $3, $4, $5, $5) returning id",
            )
            .bind(account.0)
            .bind(batch.0)
            .bind(user.0)
            .bind(total)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        self.signal_work();
        Ok(JobId(id))
    }

    /// Queues a background restore of what deletion `batch` removed (R12), unless one is
    /// queued or running already (one at a time per deletion: the partial unique index
    /// `bulk_jobs_one_restore` decides between two requests at once). Refused unless
    /// `user` is an admin of the account (R11). `total` is how many contacts it should
    /// bring back, for its progress bar.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_restore_job(&self, account: AccountId, batch: BatchId, user: UserId, total: i64) -> RepoResult<QueuedRestore> {
        // A job found running may finish before it is read back: then ask again, a few times.
        for _ in 0..3 {
            let now = millis(self.now());
            let id: Option<i64> = on_db!(self, |pool, DB| {
                let mut tx = DB::begin_write(pool).await?;
                let admin: i64 = sqlx::query_scalar("select count(*) from users where id = $1 and account_id = $2 and role = 'admin'")
                    .bind(user.0)
                    .bind(account.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if admin == 0 {
                    return Err(RepoError::Forbidden("Only an admin of this account may restore contacts.".into()));
                }
                let id = sqlx::query_scalar(
                    "insert into bulk_jobs (account_id, kind, batch_id, state, created_by_user_id, total, created_at, updated_at)
                     values ($1, 'restore', $2, 'queued', $3, $4, $5, $5) on conflict do nothing returning id",
                )
                .bind(account.0)
                .bind(batch.0)
                .bind(user.0)
                .bind(total)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                id
            });
            if let Some(id) = id {
                self.signal_work();
                return Ok(QueuedRestore::Queued(JobId(id)));
            }
            let running: Option<i64> = on_db!(self, |pool, DB| {
                sqlx::query_scalar(
                    "select id from bulk_jobs where account_id = $1 and batch_id = $2 and kind = 'restore' and state in ('queued', 'running')",
                )
                .bind(account.0)
                .bind(batch.0)
                .fetch_optional(pool)
                .await?
            });
            if let Some(id) = running {
                return Ok(QueuedRestore::AlreadyRunning(JobId(id)));
            }
        }
        Err(RepoError::Conflict("This deletion's restore was changing state; please try again.".into()))
    }

    /// Queues a background restore of a filter selection of the Restore page (every
    /// deleted contact matching, as of when the admin looked, minus the unticked ones):
    /// `total` contacts, for its progress bar. Refused unless `user` is an admin (R11).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_restore_selection_job(&self, account: AccountId, sel: &RestoreSelection, user: UserId, total: i64) -> RepoResult<JobId> {
        let selection = serde_json::to_string(sel).map_err(|e| RepoError::Internal(format!("selection: {e}")))?;
        let now = millis(self.now());
        let id: Option<i64> = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            // the role check folded into the insert: no admin, no job
            let id = sqlx::query_scalar(
                "insert into bulk_jobs (account_id, kind, batch_id, state, created_by_user_id, total, created_at, updated_at, selection)
                 select $1, 'restore', null, 'queued', u.id, $3, $4, $4, $5 from users u
                 where u.id = $2 and u.account_id = $1 and u.role = 'admin'
                 returning id",
            )
            .bind(account.0)
            .bind(user.0)
            .bind(total)
            .bind(now)
            .bind(selection)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        let id = id.ok_or_else(|| RepoError::Forbidden("Only an admin of this account may restore contacts.".into()))?;
        self.signal_work();
        Ok(JobId(id))
    }

    /// Gives every running deletion that no job drives (one a server was running in a
    /// request when it stopped) a job, so that it completes (L2).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn adopt_orphan_deletions(&self) -> RepoResult<u64> {
        let now = millis(self.now());
        let n = on_db!(self, |pool, DB| {
            sqlx::query(
                "insert into bulk_jobs (account_id, kind, batch_id, state, created_by_user_id, total, created_at, updated_at)
                 select b.account_id, 'delete', b.id, 'queued', b.actor_user_id, b.total, $1, $1 from deletion_batches b
                 where b.state = 'running' and not exists (select 1 from bulk_jobs j where j.batch_id = b.id and j.kind = 'delete')",
            )
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// Claims the oldest job that is queued or whose worker's lease ran out.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_bulk_job(&self, worker: &str, lease_ms: i64) -> RepoResult<Option<ClaimedJob>> {
        let now = millis(self.now());
        Ok(on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let job: Option<ClaimedJob> = sqlx::query_as(&format!(
                "update bulk_jobs set state = 'running', lease_owner = $1, lease_until = $2, updated_at = $3,
                        started_at = coalesce(started_at, $3)
                 where id in (select id from bulk_jobs where state in ('queued', 'running')
                              and (lease_until is null or lease_until < $3) order by id limit 1{})
                 returning id, account_id, coalesce(batch_id, 0) as batch_id, kind",
                DB::SKIP_LOCKED
            ))
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            job
        }))
    }

    /// Extends the lease while the worker still owns a running job; false once the
    /// job was cancelled or taken over.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn renew_bulk_job(&self, job: JobId, worker: &str, lease_ms: i64) -> RepoResult<bool> {
        let now = millis(self.now());
        let n = on_db!(self, |pool, DB| {
            sqlx::query("update bulk_jobs set lease_until = $1, updated_at = $2 where id = $3 and lease_owner = $4 and state = 'running'")
                .bind(now + lease_ms)
                .bind(now)
                .bind(job.0)
                .bind(worker)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_bulk_job(&self, job: JobId, state: &str, error: Option<&str>) -> RepoResult<()> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            sqlx::query("update bulk_jobs set state = $1, error = $2, lease_owner = null, lease_until = null, updated_at = $3 where id = $4 and state in ('queued', 'running')")
                .bind(state)
                .bind(error)
                .bind(now)
                .bind(job.0)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Cancels a job of the account: what is deleted stays deleted and restorable.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_bulk_job(&self, account: AccountId, job: JobId) -> RepoResult<bool> {
        let now = millis(self.now());
        // only a deletion's batch stops with its job; a restore job's batch is the
        // deletion it brings back, finished long ago
        let batch: Option<Option<i64>> = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let batch: Option<Option<i64>> = sqlx::query_scalar(
                "update bulk_jobs set state = 'cancelled', lease_owner = null, lease_until = null, updated_at = $1
                 where id = $2 and account_id = $3 and state in ('queued', 'running')
                 returning case when kind = 'delete' then batch_id end",
            )
            .bind(now)
            .bind(job.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            batch
        });
        match batch {
            Some(Some(b)) => {
                self.cancel_deletion(account, BatchId(b)).await?;
                Ok(true)
            }
            Some(None) => Ok(true),
            None => Ok(false),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn bulk_jobs(&self, account: AccountId, limit: i64) -> RepoResult<Vec<BulkJob>> {
        let cutoff = millis(crate::domain::restore_window::cutoff(self.now()));
        let rows: Vec<JobRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!("{JOB_SELECT} order by j.id desc limit $3"))
                .bind(account.0)
                .bind(cutoff)
                .bind(limit.clamp(1, 500))
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(job_of).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn bulk_job(&self, account: AccountId, job: JobId) -> RepoResult<Option<BulkJob>> {
        let cutoff = millis(crate::domain::restore_window::cutoff(self.now()));
        let row: Option<JobRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!("{JOB_SELECT} and j.id = $3"))
                .bind(account.0)
                .bind(cutoff)
                .bind(job.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(job_of))
    }
}

fn job_of(r: JobRow) -> BulkJob {
    BulkJob {
        id: JobId(r.id),
        kind: r.kind,
        batch: r.batch_id.map(BatchId),
        state: r.state,
        created_by: r.created_by,
        description: r.description.unwrap_or_default(),
        total: r.total,
        done: r.done,
        error: r.error,
        created_at: from_millis(r.created_at),
        started_at: r.started_at.map(from_millis),
        updated_at: from_millis(r.updated_at),
        restorable: r.restorable,
        restored: r.restored,
        conflict_count: r.conflict_count,
        expired_count: r.expired_count,
        conflicts: r.conflicts.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
        deletion: match (r.batch_total, r.batch_at) {
            (Some(total), Some(at)) => {
                Some(DeletionName::new(total, from_millis(at), deleted_by_words(r.batch_by.as_deref(), r.batch_workflow.as_deref())))
            }
            _ => None,
        },
        selection: r.selection.as_deref().and_then(|s| serde_json::from_str(s).ok()),
    }
}
