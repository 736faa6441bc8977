//! Black-box HTTP tests: the real server, started in-process on port 0 against a fresh
//! database (SQLite and PostgreSQL), driven by a cookie-keeping HTTP client through the
//! login and CSRF flow a browser follows. Every destructive request is followed by a
//! look at the database itself.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! unreachable, the PostgreSQL variants print SKIPPED, or fail with
//! `CONTACTS_ADMIN_REQUIRE_POSTGRES=1`.

#[path = "../support/mod.rs"]
mod support;

use support::app;

mod admin_day;
mod api_v1;
mod auth;
mod contacts;
mod csv_round_trip;
mod delete;
mod export;
mod list;
mod record_export;
mod restore;
mod restore_jobs;
mod restore_page;
mod tags;
mod webhooks;
mod workflows;

use chrono::{DateTime, Utc};
use contacts_admin::domain::AccountId;
use support::Raw;
pub use support::{batch_of, exists, is_deleted, is_live, live_count};

/// A moment as the list page writes its `as_of`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    contacts_admin::web::contacts::rfc3339(t)
}

/// Row counts of every table a request could change, to prove that a refused request
/// changed nothing. Empty deletion batches (a deletion that matched no contact) are
/// left out: they record an attempt, not a change to any contact.
pub async fn snapshot(raw: &Raw) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (label, table, cond) in [
        ("contacts", "contacts", "1 = 1"),
        ("live contacts", "contacts", "deleted_at is null"),
        ("deleted contacts", "contacts", "deleted_at is not null"),
        ("contact_tags", "contact_tags", "1 = 1"),
        ("conversations", "conversations", "1 = 1"),
        ("messages", "messages", "1 = 1"),
        ("notes", "notes", "1 = 1"),
        ("tasks", "tasks", "1 = 1"),
        ("appointments", "appointments", "1 = 1"),
        ("opportunities", "opportunities", "1 = 1"),
        ("manual_actions", "manual_actions", "1 = 1"),
        ("activities", "activities", "1 = 1"),
        ("files", "files", "1 = 1"),
        ("list_members", "list_members", "1 = 1"),
        ("owned groups", "community_groups", "owner_contact_id is not null"),
        ("active enrollments", "enrollments", "status = 'active'"),
        ("non-empty deletion batches", "deletion_batches", "deleted_count > 0"),
        ("audit_events", "audit_events", "1 = 1"),
        ("workflow_runs", "workflow_runs", "1 = 1"),
    ] {
        out.push((label, raw.count(table, cond, &[]).await));
    }
    out
}

/// The account's audit events of one action, oldest first:
/// (action, channel, contact_count, reason, batch_id, actor_user_id, description).
pub type AuditRow = (String, String, i64, Option<String>, Option<i64>, Option<i64>, String);

pub async fn audit_rows(raw: &Raw, account: AccountId, action: &str) -> Vec<AuditRow> {
    raw.all(
        "select action, channel, contact_count, reason, batch_id, actor_user_id, description from audit_events
         where account_id = $1 and action = $2 order by id",
        args![account, action],
    )
    .await
}
