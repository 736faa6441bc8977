//! What every entity module of the repository builds its SQL from: the [`Dialect`] of
//! each backend and [`on_db!`], the conditions that pick contacts ([`filter`]), what a
//! new tag starts ([`triggers`]), the webhook events a change writes ([`events`]), transactions run again after a transient abort
//! ([`tx`]), and times as the schema stores them.

mod dialect;
pub(crate) mod events;
pub(crate) mod filter;
pub(crate) mod triggers;
pub(crate) mod tx;

pub(crate) use dialect::{on_db, Binds, Db, Dialect};
pub(crate) use events::Event;
pub(crate) use filter::{push_deleted_filter, push_deleted_filter_walk, push_id_list, push_ints, push_live_filter, push_live_selection};
pub(crate) use tx::{retry_if, retry_transient};

use chrono::{DateTime, Utc};

/// Contacts per chunk when a deletion or a restore runs inside one request.
pub const DEFAULT_CHUNK: i64 = 500;

/// A time as the schema stores it: epoch milliseconds.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back; an impossible one reads as the epoch.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
