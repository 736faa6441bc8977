//! Webhook endpoints of an account, their delivery log, and the sender's side of the
//! outbox: deliveries claimed under a lease (with `skip locked` on PostgreSQL, so
//! several servers send each delivery once), then marked delivered, retried later or
//! failed. The events themselves are written by the changes ([`super::sql::events`]).

use super::sql::{from_millis, millis, on_db, Dialect};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{AccountId, UserId, WebhookEvent, WebhookEvents, WebhookUrl};
use chrono::{DateTime, Utc};

/// An endpoint as the Webhooks page lists it.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    url: String,
    events: String,
    created_at: i64,
    disabled_at: Option<i64>,
    pending: i64,
    delivered: i64,
    failed: i64,
}

/// One line of an endpoint's delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub event_type: String,
    pub event_id: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub next_attempt_at: i64,
}

impl WebhookDelivery {
    pub fn created(&self) -> DateTime<Utc> {
        from_millis(self.created_at)
    }
}

/// A delivery a sender has claimed: where it goes, with what secret, and the event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub payload: String,
    pub event_created_at: i64,
    pub attempts: i64,
}

/// What an attempt to send a delivery came to.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Delivered { status: i64 },
    /// Try again at `retry_at`, or give up when `None`.
    Refused { status: Option<i64>, error: String, retry_at: Option<DateTime<Utc>> },
}

/// Deliveries shown per endpoint on the Webhooks page.
pub const DELIVERY_LOG: i64 = 50;

/// How long events and their finished deliveries are kept, counted from the event.
pub const WEBHOOK_RETENTION_DAYS: i64 = 30;

/// What [`Repo::delete_old_webhooks`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookCleanup {
    pub deliveries: u64,
    pub events: u64,
}

fn not_found(id: i64) -> RepoError {
    RepoError::NotFound(format!("There is no webhook endpoint {id} in this account."))
}

/// The admin check folded into a change of an endpoint: the user is an admin of the
/// endpoint's account.
const ADMIN_OF_ACCOUNT: &str = "exists (select 1 from users u where u.id = $2 and u.account_id = $3 and u.role = 'admin')";

/// The deliveries `d` a sender may claim at time `now` (a placeholder): pending, due,
/// not leased to a live sender, to an enabled endpoint.
fn due(now: &str) -> String {
    format!(
        "d.state = 'pending' and d.next_attempt_at <= {now} and (d.lease_until is null or d.lease_until < {now})
         and exists (select 1 from webhook_endpoints e where e.id = d.endpoint_id and e.disabled_at is null)"
    )
}

impl Repo {
    /// Registers an endpoint; refused unless `user` is an admin of the account (R1).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_webhook_endpoint(
        &self,
        account: AccountId,
        user: UserId,
        url: &WebhookUrl,
        events: &WebhookEvents,
        secret: &str,
    ) -> RepoResult<i64> {
        let now = millis(self.now());
        let id: Option<i64> = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let id = sqlx::query_scalar(
                "insert into webhook_endpoints (account_id, url, events, secret, created_by_user_id, created_at)
                 select $1, $4, $5, $6, u.id, $7 from users u where u.id = $2 and u.account_id = $3 and u.role = 'admin'
                 returning id",
            )
            .bind(account.0)
            .bind(user.0)
            .bind(account.0)
            .bind(url.as_str())
            .bind(events.to_json())
            .bind(secret)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        id.ok_or_else(|| RepoError::Forbidden("Only an admin of this account may manage webhooks.".into()))
    }

    /// The account's endpoints, newest first, with their deliveries counted by state.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn webhook_endpoints(&self, account: AccountId) -> RepoResult<Vec<WebhookEndpoint>> {
        let rows: Vec<EndpointRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select e.id, e.url, e.events, e.created_at, e.disabled_at,
                        (select count(*) from webhook_deliveries d where d.endpoint_id = e.id and d.state = 'pending') as pending,
                        (select count(*) from webhook_deliveries d where d.endpoint_id = e.id and d.state = 'delivered') as delivered,
                        (select count(*) from webhook_deliveries d where d.endpoint_id = e.id and d.state = 'failed') as failed
                 from webhook_endpoints e where e.account_id = $1 order by e.id desc",
            )
            .bind(account.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| WebhookEndpoint {
                id: r.id,
                url: r.url,
                events: WebhookEvents::from_json(&r.events),
                created_at: from_millis(r.created_at),
                disabled_at: r.disabled_at.map(from_millis),
                pending: r.pending,
                delivered: r.delivered,
                failed: r.failed,
            })
            .collect())
    }

    /// Turns an endpoint off (no new deliveries; pending ones wait) or on again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_webhook_endpoint_enabled(&self, account: AccountId, user: UserId, id: i64, enabled: bool) -> RepoResult<()> {
        let now = millis(self.now());
        let disabled_at = (!enabled).then_some(now);
        let changed = on_db!(self, |pool, DB| {
            sqlx::query(&format!("update webhook_endpoints set disabled_at = $4 where id = $1 and account_id = $3 and {ADMIN_OF_ACCOUNT}"))
                .bind(id)
                .bind(user.0)
                .bind(account.0)
                .bind(disabled_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Removes an endpoint and its delivery log.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_webhook_endpoint(&self, account: AccountId, user: UserId, id: i64) -> RepoResult<()> {
        let removed = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let removed: Option<i64> =
                sqlx::query_scalar(&format!("delete from webhook_endpoints where id = $1 and account_id = $3 and {ADMIN_OF_ACCOUNT} returning id"))
                    .bind(id)
                    .bind(user.0)
                    .bind(account.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            if removed.is_some() {
                sqlx::query("delete from webhook_deliveries where endpoint_id = $1").bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            removed
        });
        removed.map(|_| ()).ok_or_else(|| not_found(id))
    }

    /// An endpoint's latest deliveries, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn webhook_deliveries(&self, account: AccountId, endpoint: i64, limit: i64) -> RepoResult<Vec<WebhookDelivery>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select d.id, ev.type as event_type, ev.event_id, d.state, d.attempts, d.last_status, d.last_error,
                        ev.created_at, d.delivered_at, d.next_attempt_at
                 from webhook_deliveries d join webhook_events ev on ev.id = d.event_id
                 where d.endpoint_id = $1 and d.account_id = $2 order by d.id desc limit $3",
            )
            .bind(endpoint)
            .bind(account.0)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Queues a delivery of the account's `endpoint` again, to be sent at once; its attempts
    /// start from zero.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn resend_webhook_delivery(&self, account: AccountId, user: UserId, endpoint: i64, delivery: i64) -> RepoResult<()> {
        let now = millis(self.now());
        let changed = on_db!(self, |pool, DB| {
            sqlx::query(&format!(
                "update webhook_deliveries set state = 'pending', attempts = 0, next_attempt_at = $4, lease_owner = null, lease_until = null,
                        delivered_at = null
                 where id = $1 and account_id = $3 and endpoint_id = $5 and {ADMIN_OF_ACCOUNT}"
            ))
            .bind(delivery)
            .bind(user.0)
            .bind(account.0)
            .bind(now)
            .bind(endpoint)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(RepoError::NotFound(format!("There is no webhook delivery {delivery} in this account.")));
        }
        Ok(())
    }

    /// Claims up to `limit` due deliveries of enabled endpoints for `worker`, leased for
    /// `lease_ms`: a delivery whose sender died is taken over once its lease ends.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_webhook_deliveries(&self, worker: &str, limit: i64, lease_ms: i64) -> RepoResult<Vec<ClaimedDelivery>> {
        let now = millis(self.now());
        Ok(on_db!(self, |pool, DB| {
            // A read first: an idle sender polling every second takes no write lock
            // (SQLite has one writer for the whole database).
            let any_due: Option<i64> = sqlx::query_scalar(&format!("select d.id from webhook_deliveries d where {} limit 1", due("$1")))
            .bind(now)
            .fetch_optional(pool)
            .await?;
            if any_due.is_none() {
                return Ok(Vec::new());
            }
            let mut tx = DB::begin_write(pool).await?;
            let ids: Vec<i64> = sqlx::query_scalar(&format!(
                "update webhook_deliveries set lease_owner = $1, lease_until = $2
                 where id in (select d.id from webhook_deliveries d where {}
                              order by d.next_attempt_at, d.id limit $4{})
                 returning id",
                due("$3"),
                DB::SKIP_LOCKED
            ))
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            if ids.is_empty() {
                Vec::new()
            } else {
                let mut qb = sqlx::QueryBuilder::<DB>::new(
                    "select d.id, e.url, e.secret, ev.event_id, ev.payload, ev.created_at as event_created_at, d.attempts
                     from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id join webhook_events ev on ev.id = d.event_id
                     where d.id in (",
                );
                super::sql::push_ints(&mut qb, ids.iter().copied());
                qb.push(") order by d.id");
                qb.build_query_as().fetch_all(pool).await?
            }
        }))
    }

    /// Records what an attempt of a delivery claimed by `worker` came to. Nothing
    /// changes when the lease has passed to another worker meanwhile.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_webhook_delivery(&self, delivery: i64, worker: &str, outcome: &DeliveryOutcome) -> RepoResult<bool> {
        let now = millis(self.now());
        let (state, status, error, next, delivered_at) = match outcome {
            DeliveryOutcome::Delivered { status } => ("delivered", Some(*status), None, now, Some(now)),
            DeliveryOutcome::Refused { status, error, retry_at: Some(at) } => ("pending", *status, Some(error.as_str()), millis(*at), None),
            DeliveryOutcome::Refused { status, error, retry_at: None } => ("failed", *status, Some(error.as_str()), now, None),
        };
        let changed = on_db!(self, |pool, DB| {
            sqlx::query(
                "update webhook_deliveries set state = $3, attempts = attempts + 1, last_status = $4, last_error = $5,
                        next_attempt_at = $6, delivered_at = $7, lease_owner = null, lease_until = null
                 where id = $1 and lease_owner = $2 and state = 'pending'",
            )
            .bind(delivery)
            .bind(worker)
            .bind(state)
            .bind(status)
            .bind(error.map(|e| e.chars().take(500).collect::<String>()))
            .bind(next)
            .bind(delivered_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// Deletes what the webhook log no longer needs: deliveries `delivered` or `failed`
    /// whose event is older than [`WEBHOOK_RETENTION_DAYS`], then those events once no
    /// delivery of theirs is left (pending ones, held by a disabled endpoint, keep their
    /// event). Walks the events oldest first, `batch` at a time: each step reads its ids
    /// without a lock, then deletes at most `batch` rows per statement, each statement its
    /// own short transaction, so a writer never waits long behind it. The walk ends at the
    /// first step that reaches an event young enough to keep (ids follow time).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_old_webhooks(&self, batch: i64) -> RepoResult<WebhookCleanup> {
        let batch = batch.max(1);
        let cutoff = millis(self.now()) - WEBHOOK_RETENTION_DAYS * 86_400_000;
        let mut done = WebhookCleanup::default();
        let mut after = 0i64;
        loop {
            let step: Vec<(i64, i64)> = on_db!(self, |pool, DB| {
                sqlx::query_as("select id, created_at from webhook_events where id > $1 order by id limit $2")
                    .bind(after)
                    .bind(batch)
                    .fetch_all(pool)
                    .await?
            });
            let Some(&(last, _)) = step.last() else { break };
            after = last;
            let old: Vec<i64> = step.iter().filter(|(_, at)| *at < cutoff).map(|(id, _)| *id).collect();
            if !old.is_empty() {
                let finished: Vec<i64> = on_db!(self, |pool, DB| {
                    let mut qb = sqlx::QueryBuilder::<DB>::new(
                        "select id from webhook_deliveries where state in ('delivered', 'failed') and event_id in (",
                    );
                    super::sql::push_ints(&mut qb, old.iter().copied());
                    qb.push(") order by id");
                    qb.build_query_scalar().fetch_all(pool).await?
                });
                for ids in finished.chunks(batch as usize) {
                    done.deliveries += on_db!(self, |pool, DB| {
                        // the state again: a delivery resent meanwhile is pending and stays
                        let mut qb = sqlx::QueryBuilder::<DB>::new(
                            "delete from webhook_deliveries where state in ('delivered', 'failed') and id in (",
                        );
                        super::sql::push_ints(&mut qb, ids.iter().copied());
                        qb.push(")");
                        qb.build().execute(pool).await?.rows_affected()
                    });
                }
                done.events += on_db!(self, |pool, DB| {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("delete from webhook_events where id in (");
                    super::sql::push_ints(&mut qb, old.iter().copied());
                    qb.push(") and not exists (select 1 from webhook_deliveries d where d.event_id = webhook_events.id)");
                    qb.build().execute(pool).await?.rows_affected()
                });
            }
            if step.len() < batch as usize || step.iter().any(|(_, at)| *at >= cutoff) {
                break;
            }
        }
        Ok(done)
    }
}
