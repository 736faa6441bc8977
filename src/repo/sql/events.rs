//! Webhook events, written as an outbox: a change writes its event in its own
//! transaction, with one delivery for each enabled endpoint of the account that receives
//! the event's type. A crash then loses no event, and a change that rolls back sends
//! none. An account without such an endpoint gets no event row at all. Shared by
//! deletion, restore, erase and purge.

use super::{Binds, Dialect};
use crate::domain::{AccountId, BatchId, WebhookEvent};
use sqlx::QueryBuilder;

/// One event about to be written: its type, account, deletion batch and `data`.
pub(crate) struct Event {
    kind: WebhookEvent,
    account: AccountId,
    batch: Option<BatchId>,
    data: serde_json::Value,
}

impl Event {
    /// Contacts a change touched: `contact.deleted`, `contact.restored` or
    /// `contact.purged`, with their ids and the deletion they belong to. Ids only, never
    /// a name or an email (R10).
    pub(crate) fn contacts(kind: WebhookEvent, account: AccountId, batch: Option<BatchId>, ids: &[i64]) -> Event {
        Event { kind, account, batch, data: serde_json::json!({ "batch_id": batch.map(|b| b.0), "contact_ids": ids }) }
    }

    /// `deletion.finished`: a deletion closed (`state` done or cancelled) with its count.
    pub(crate) fn deletion_finished(account: AccountId, batch: BatchId, state: &str, deleted: i64) -> Event {
        Event {
            kind: WebhookEvent::DeletionFinished,
            account,
            batch: Some(batch),
            data: serde_json::json!({ "batch_id": batch.0, "state": state, "deleted": deleted }),
        }
    }

    /// The event row and its deliveries, to run in this order in the caller's
    /// transaction at `now`. The event gets a new random id (`Webhook-Id`) and its body
    /// as sent; the deliveries find the row by that id.
    pub(crate) fn statements<DB: Dialect>(&self, now: i64) -> [QueryBuilder<'static, DB>; 2] {
        let event_id = format!("evt_{}", uuid::Uuid::new_v4().simple());
        let created = super::from_millis(now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = serde_json::json!({
            "id": event_id,
            "type": self.kind.as_str(),
            "created_at": created,
            "account_id": self.account.0,
            "data": self.data,
        })
        .to_string();
        let subscribed = format!("%\"{}\"%", self.kind.as_str());

        let mut event = QueryBuilder::new("insert into webhook_events (event_id, type, account_id, batch_id, payload, created_at) select ");
        event
            .bind_text(event_id.clone())
            .push(", ")
            .bind_text(self.kind.as_str())
            .push(", ")
            .bind_int(self.account.0)
            .push(", ")
            .bind_opt_int(self.batch.map(|b| b.0))
            .push(", ")
            .bind_text(body)
            .push(", ")
            .bind_int(now)
            .push(" where exists (select 1 from webhook_endpoints e where e.account_id = ")
            .bind_int(self.account.0)
            .push(" and e.disabled_at is null and e.events like ")
            .bind_text(subscribed.clone())
            .push(")");

        let mut deliveries = QueryBuilder::new(
            "insert into webhook_deliveries (event_id, endpoint_id, account_id, next_attempt_at)
             select ev.id, e.id, e.account_id, ",
        );
        deliveries
            .bind_int(now)
            .push(" from webhook_events ev join webhook_endpoints e on e.account_id = ev.account_id where ev.event_id = ")
            .bind_text(event_id)
            .push(" and e.disabled_at is null and e.events like ")
            .bind_text(subscribed);
        [event, deliveries]
    }
}

/// The `contact.purged` events of contacts removed for good: one per account and
/// deletion batch, from `(account, batch, contact)` rows.
pub(crate) fn purged(rows: impl IntoIterator<Item = (i64, Option<i64>, i64)>) -> Vec<Event> {
    let mut groups: std::collections::BTreeMap<(i64, Option<i64>), Vec<i64>> = std::collections::BTreeMap::new();
    for (account, batch, id) in rows {
        groups.entry((account, batch)).or_default().push(id);
    }
    groups
        .into_iter()
        .map(|((account, batch), mut ids)| {
            ids.sort_unstable();
            Event::contacts(WebhookEvent::ContactPurged, AccountId(account), batch.map(BatchId), &ids)
        })
        .collect()
}
