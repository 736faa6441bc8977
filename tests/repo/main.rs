//! Repository-level integration tests: every rule of the deletion, restore and purge
//! flows (SPEC R1–R14, L2), each run on SQLite and on PostgreSQL, checking the database
//! itself after every destructive call.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! when it is unreachable the PostgreSQL variants are reported as SKIPPED on stderr, or
//! fail with `CONTACTS_ADMIN_REQUIRE_POSTGRES=1` (as in CI).

#[path = "../support/mod.rs"]
mod support;

mod access;
mod deletion;
mod demo_seed;
mod impact;
mod list_order;
mod migrations;
mod pagination;
mod purge;
mod restore;
mod restore_chunks;
mod restore_filters;
mod scale;
mod webhooks;

use contacts_admin::domain::{AccountId, Actor, ContactId, DeleteConfirmation, Selection};
use contacts_admin::repo::{AuditAction, AuditEvent, AuditFilter, DeletionReport, Repo};
use support::{Fixture, Raw};

/// The typed confirmation every deletion needs (R5).
pub fn confirm() -> DeleteConfirmation {
    DeleteConfirmation::parse("DELETE").expect("DELETE confirms")
}

/// A selection of explicit ids.
pub fn sel(ids: &[ContactId]) -> Selection {
    Selection::ids(ids.to_vec()).expect("a valid selection")
}

/// Deletes `ids` as the fixture's admin through the UI channel.
pub async fn delete_ids(f: &Fixture, ids: &[ContactId]) -> DeletionReport {
    f.repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel(ids), None, confirm())
        .await
        .expect("delete contacts")
}

/// The account's audit events of one kind, newest first.
pub async fn audit(repo: &Repo, account: AccountId, action: AuditAction) -> Vec<AuditEvent> {
    repo.audit_events(account, &AuditFilter { action: Some(action), before: None, limit: 500 })
        .await
        .expect("read the audit log")
}

/// Whether the contact row exists at all (deleted or not).
pub async fn exists(raw: &Raw, id: ContactId) -> bool {
    raw.count("contacts", "id = $1", args![id]).await == 1
}

/// `deleted_at` of the contact row, `None` when live. Panics when the row is gone.
pub async fn deleted_at(raw: &Raw, id: ContactId) -> Option<i64> {
    let row: Option<(Option<i64>,)> = raw.optional("select deleted_at from contacts where id = $1", args![id]).await;
    row.unwrap_or_else(|| panic!("contact {id} has no row")).0
}

/// Whether the contact exists and is soft-deleted.
pub async fn is_deleted(raw: &Raw, id: ContactId) -> bool {
    deleted_at(raw, id).await.is_some()
}

/// `deletion_batch_id` of the contact row.
pub async fn batch_of(raw: &Raw, id: ContactId) -> Option<i64> {
    let row: (Option<i64>,) = raw.one("select deletion_batch_id from contacts where id = $1", args![id]).await;
    row.0
}

/// Live contacts of the account, counted directly in the database.
pub async fn live_count(raw: &Raw, account: AccountId) -> i64 {
    raw.count("contacts", "account_id = $1 and deleted_at is null", args![account]).await
}
