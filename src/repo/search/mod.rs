//! The two search engines behind the search box, one per backend. They share no SQL:
//! SQLite answers from an FTS5 trigram table ([`sqlite`]), PostgreSQL from GIN indexes
//! of three-character substrings ([`postgres`]). Each appends to a query of its own
//! backend's type; the dialect (`repo::sql::Dialect`) picks the engine. Both look for
//! `q` as a substring of a contact's lower-cased search text.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::domain::{AccountId, ContactFilter, Cursor};

/// One page of a search's matches, as the list asks for it: `limit` rows of `columns`
/// (of `contacts c`) from `cursor`, newest first, or oldest first for
/// [`Cursor::Before`] and [`Cursor::Last`].
pub(crate) struct PageAsk<'a> {
    pub account: AccountId,
    pub filter: &'a ContactFilter,
    pub cursor: Cursor,
    pub limit: i64,
    pub columns: &'a str,
}

impl PageAsk<'_> {
    /// Whether the page is read in ascending id order (and turned around after).
    pub fn ascending(&self) -> bool {
        matches!(self.cursor, Cursor::Before(_) | Cursor::Last)
    }
}

/// The shortest query the substring indexes of either engine can answer; a shorter
/// one tests every row of the account.
pub(crate) const TRIGRAM: usize = 3;

/// Whether `q` is long enough for the substring indexes.
pub(crate) fn has_trigram(q: &str) -> bool {
    q.chars().count() >= TRIGRAM
}

/// A `like` pattern that finds `q` anywhere, with `%`, `_` and `\` escaped so that a
/// search for "50%" finds "50%" (used with `escape '\'`).
pub(crate) fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}
