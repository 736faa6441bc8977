//! Domain types and rules, free of I/O: identifiers, roles, selections, the typed
//! confirmation (R5) and the 60-day restore window (R8). Values are parsed here once,
//! so the repository and the handlers only ever see checked values.

pub mod api_key;
pub mod confirmation;
pub mod contact;
pub mod ids;
pub mod list_order;
pub mod page;
pub mod restore_selection;
pub mod restore_window;
pub mod role;
pub mod selection;
pub mod text;
pub mod time;
pub mod webhook;
pub mod workflow;

pub use api_key::{ApiKeyName, ApiKeySecret};
pub use confirmation::{CountConfirmation, DeleteConfirmation, DeleteReason};
pub use contact::{display_name, Email, NewContact, TagName};
pub use ids::{AccountId, BatchId, ContactId, JobId, UserId, WorkflowId};
pub use list_order::{ListOrder, SortColumn};
pub use page::{Cursor, PageRequest};
pub use restore_selection::{deleted_by_words, DeletedFilter, DeletedSort, DeletedSortKey, DeletedWithin, DeletionName, RestoreSelection};
pub use restore_window::{DaysLeft, RESTORE_WINDOW_DAYS};
pub use role::Role;
pub use selection::{Actor, Channel, ContactFilter, Selection, MAX_IDS_PER_REQUEST};
pub use text::{name_list, plural, thousands};
pub use time::{UserZone, When};
pub use webhook::{public_address, WebhookAllowList, WebhookEvent, WebhookEvents, WebhookUrl};
pub use workflow::{ActiveWorkflow, TagAuthority, TagTriggers, WorkflowAction, WorkflowDraft, WorkflowStatus};

/// A value a user typed that the domain refuses, with a message fit to show them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    pub fn new(msg: impl Into<String>) -> Self {
        InvalidInput(msg.into())
    }
}
