//! PostgreSQL's search: the GIN index `contacts_search` keys each live contact by every
//! substring of three characters of its search text (migration 0014); a query of
//! [`TRIGRAM`](super::TRIGRAM) characters or more is narrowed by its own substrings,
//! then tested with `strpos`. A GIN index returns its matches unordered, so a page of
//! a common word would sort every match: `contacts_search_by_bucket` (migrations 0013,
//! 0014) keys the substrings of each contact by its id bucket (`id >> 14`), and a
//! search page reads the newest buckets one at a time (the function `search_page`,
//! migration 0016). Counts, selections and pages with a tag read `contacts_search`.

use super::{has_trigram, PageAsk};
use crate::domain::{ContactFilter, Cursor};
use sqlx::{PgPool, Postgres, QueryBuilder};

/// A search bucket holds the ids that share `id >> SEARCH_BUCKET_BITS` (16,384 ids),
/// written as a literal in the SQL of migrations 0013, 0014 and 0016 so that it matches
/// the index expression (a unit test holds the two together).
///
/// Buckets of 4,096 ids recheck fewer matches of a common word per bucket (0.27 ms
/// instead of 0.69 for "martinez" at a million contacts), but four of them cover only
/// 16,384 ids: where a common word's contacts were added in runs with gaps wider than
/// that, the page fell back to sorting every match (80 ms).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const SEARCH_BUCKET_BITS: u32 = 14;

/// How many buckets a search page reads one by one before it asks the index for the
/// remaining matches at once (a rare word has few matches, and many empty buckets).
pub(crate) const SEARCH_BUCKETS_NEAR: i64 = 4;

/// Appends the test that the search text of `c` contains `q`: the query's substrings
/// narrow the rows through the index, `strpos` checks each one. A shorter query has no
/// key, and tests every row.
pub(crate) fn push_contains(qb: &mut QueryBuilder<'_, Postgres>, q: &str) {
    if has_trigram(q) {
        qb.push("(search_substrings(c.search_text) collate \"C\") @> search_substrings(")
            .push_bind(q.to_string())
            .push(") and ");
    }
    qb.push("strpos(c.search_text, ").push_bind(q.to_string()).push(") > 0");
}

/// The search of a search-only page, when the bucket index can answer it: no tag, and
/// a query of three characters or more (a key).
fn bucketed(filter: &ContactFilter) -> Option<&str> {
    let q = filter.q.as_deref()?;
    (filter.tag.is_none() && has_trigram(q)).then_some(q)
}

/// Appends the query of one page of a search by the bucket index, read bucket by bucket
/// from the live contact nearest the cursor, then past those buckets at once, by the
/// PL/pgSQL function `search_page`, which plans its queries once per connection. False,
/// with nothing written, when the bucket index cannot answer the filter.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Postgres>, page: &PageAsk<'_>) -> bool {
    let PageAsk { account, filter, cursor, limit, columns } = *page;
    let Some(q) = bucketed(filter) else { return false };
    let ascending = page.ascending();
    qb.push(format!("select {columns} from search_page(")).push_bind(account.0).push(", ").push_bind(q.to_string()).push(", ");
    match cursor {
        Cursor::After(id) | Cursor::Before(id) => {
            qb.push_bind(id.0);
        }
        Cursor::First | Cursor::Last => {
            qb.push("null");
        }
    }
    qb.push(format!(", {ascending}, ")).push_bind(limit).push(format!(", {SEARCH_BUCKETS_NEAR}) c"));
    true
}

/// Moves the entries queued in the search indexes' pending lists (at most 64 kB each,
/// migration 0015) into their trees, since every search reads those lists through; one
/// step. Returns 1 when there was something to move.
pub(crate) async fn tidy_index(pool: &PgPool) -> Result<u32, sqlx::Error> {
    let pages: i64 = sqlx::query_scalar(
        "select gin_clean_pending_list('contacts_search'::regclass) + gin_clean_pending_list('contacts_search_by_bucket'::regclass)",
    )
    .fetch_one(pool)
    .await?;
    Ok(u32::from(pages > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TagName;

    fn is_bucketed(q: &str) -> bool {
        bucketed(&ContactFilter { q: Some(q.into()), tag: None }).is_some()
    }

    #[test]
    fn the_bucket_index_answers_queries_of_three_characters_or_more() {
        assert!(is_bucketed("martinez"));
        assert!(is_bucketed("cara@example"));
        assert!(is_bucketed("+1 555"));
        assert!(is_bucketed(".5@"), "punctuation is a key");
        assert!(is_bucketed("zoë"), "three characters, not three bytes");
        assert!(!is_bucketed("an"), "no key");
        assert!(!is_bucketed("ë@"), "two characters in three bytes");
        let tagged = ContactFilter { q: Some("martinez".into()), tag: Some(TagName::parse("VIP").unwrap()) };
        assert!(bucketed(&tagged).is_none(), "a tag drives the page");
    }
}
