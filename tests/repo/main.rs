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
mod api_keys;
mod architecture;
mod deletion;
mod demo_seed;
mod handover;
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

use contacts_admin::domain::{AccountId, ContactId, DeleteConfirmation, Selection};
use contacts_admin::repo::{AuditAction, AuditEvent, AuditFilter, Repo};
pub use support::{batch_of, delete_ids, deleted_at, exists, is_deleted, live_count};

/// The typed confirmation every deletion needs (R5).
pub fn confirm() -> DeleteConfirmation {
    DeleteConfirmation::parse("DELETE").expect("DELETE confirms")
}

/// A selection of explicit ids.
pub fn sel(ids: &[ContactId]) -> Selection {
    Selection::ids(ids.to_vec()).expect("a valid selection")
}

/// The account's audit events of one kind, newest first.
pub async fn audit(repo: &Repo, account: AccountId, action: AuditAction) -> Vec<AuditEvent> {
    repo.audit_events(account, &AuditFilter { action: Some(action), before: None, limit: 500 })
        .await
        .expect("read the audit log")
}
