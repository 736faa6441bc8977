//! SQLite's search: the FTS5 table `contacts_search` (migration 0003) with the trigram
//! tokenizer holds the search text of every live contact, keyed by rowid
//! `account_id * SEARCH_KEY_SPAN + contact id`, so that a search stays inside its
//! account's range of rowids and reads its matches in id order. A contact marked
//! deleted keeps its entries, masked, until [`tidy_index`] removes them: its key is in
//! `contacts_search_masked` (migration 0029), which a count skips, and a page keeps
//! only the live contacts it reads (R3). A query of
//! [`TRIGRAM`](super::TRIGRAM) characters or more is a phrase of consecutive trigrams;
//! a shorter one tests each contact with `like`.

use super::{has_trigram, like_pattern, PageAsk};
use crate::domain::{AccountId, ContactFilter, Cursor};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

/// The rowids of one account: 2^40 contact ids, 2^23 accounts. Also a literal in the SQL
/// of migration 0003 (a unit test holds the two together).
pub(crate) const SEARCH_KEY_SPAN: i64 = 1 << 40;

/// The account's range of `contacts_search` rowids.
pub(crate) fn search_keys(account: AccountId) -> (i64, i64) {
    let lo = account.0 * SEARCH_KEY_SPAN;
    (lo, lo + SEARCH_KEY_SPAN - 1)
}

/// The FTS5 phrase that matches `q` as a substring (trigram tokens at consecutive
/// positions), when `q` is long enough to have a trigram.
pub(crate) fn phrase(q: &str) -> Option<String> {
    has_trigram(q).then(|| format!("\"{}\"", q.replace('"', "\"\"")))
}

/// Appends the test that the search text of `c` contains `q`.
pub(crate) fn push_contains(qb: &mut QueryBuilder<'_, Sqlite>, account: AccountId, q: &str) {
    match phrase(q) {
        Some(phrase) => {
            let (lo, hi) = search_keys(account);
            qb.push("c.id in (select s.rowid - ")
                .push_bind(lo)
                .push(" from contacts_search s where contacts_search match ")
                .push_bind(phrase)
                .push(" and s.rowid between ")
                .push_bind(lo)
                .push(" and ")
                .push_bind(hi)
                .push(")");
        }
        None => {
            qb.push("c.search_text like ").push_bind(like_pattern(q)).push(" escape '\\'");
        }
    }
}

/// Appends the query of one page of a search (with its tag, if any), read from the
/// index in rowid order. False, with nothing written, for a query too short for the
/// index.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Sqlite>, page: &PageAsk<'_>) -> bool {
    let PageAsk { account, filter, cursor, limit, columns } = *page;
    let Some(phrase) = filter.q.as_deref().and_then(phrase) else { return false };
    let dir = if page.ascending() { "asc" } else { "desc" };
    let (lo, hi) = search_keys(account);
    // a cursor id beyond the key span (a forged link) just pins to the span's end
    let offset = |id: i64| id.clamp(0, SEARCH_KEY_SPAN);
    let (lower, upper) = match cursor {
        Cursor::After(id) => (lo, lo + offset(id.0) - 1),
        Cursor::Before(id) => ((lo + offset(id.0) + 1).min(hi), hi),
        Cursor::First | Cursor::Last => (lo, hi),
    };
    // `cross join` fixes the join order: the search index drives
    qb.push(format!("select {columns} from contacts_search s cross join contacts c where contacts_search match "))
        .push_bind(phrase)
        .push(" and s.rowid between ")
        .push_bind(lower)
        .push(" and ")
        .push_bind(upper)
        .push(" and c.id = s.rowid - ")
        .push_bind(lo)
        .push(" and c.account_id = ")
        .push_bind(account.0)
        .push(" and c.deleted_at is null");
    if let Some(tag) = &filter.tag {
        qb.push(" and exists (select 1 from contact_tags t where t.contact_id = c.id and t.tag = ")
            .push_bind(tag.as_str().to_string())
            .push(" and t.live)");
    }
    qb.push(format!(" order by s.rowid {dir} limit ")).push_bind(limit);
    true
}

/// Appends what follows `select count(*) from ` to count a search's matches from the
/// index and its masked keys, without reading the contacts. False, with nothing
/// written, for a query too short for the index.
pub(crate) fn push_count(qb: &mut QueryBuilder<'_, Sqlite>, account: AccountId, filter: &ContactFilter) -> bool {
    let Some(phrase) = filter.q.as_deref().and_then(phrase) else { return false };
    let (lo, hi) = search_keys(account);
    qb.push("contacts_search s where contacts_search match ")
        .push_bind(phrase)
        .push(" and s.rowid between ")
        .push_bind(lo)
        .push(" and ")
        .push_bind(hi)
        .push(" and not exists (select 1 from contacts_search_masked m where m.key = s.rowid)");
    if let Some(tag) = &filter.tag {
        qb.push(" and exists (select 1 from contact_tags t where t.contact_id = s.rowid - ")
            .push_bind(lo)
            .push(" and t.tag = ")
            .push_bind(tag.as_str().to_string())
            .push(" and t.live)");
    }
    true
}

/// Masked keys whose entries one step of [`tidy_index`] removes from the index: about
/// 20 ms of holding the write lock at 100,000 contacts (55 ms at worst).
const UNMASK_STEP: i64 = 1_000;

/// First removes the entries of contacts marked deleted from the index, [`UNMASK_STEP`]
/// contacts a step, and drops their masked keys. Then, when the index has more than
/// `over_segments` segments, merges them a step at a time until it is one segment
/// again. Each step is its own short write transaction; returns the steps taken, at most
/// `max_steps`. Every write to `contacts_search` adds a segment that automatic merging
/// only partly folds back; a search reads every segment of each of its trigrams, so a
/// fragmented index makes each search slower (about a third at a million contacts with
/// ten segments). A full merge rewrites the whole index (seconds at a million contacts),
/// hence the threshold.
pub(crate) async fn tidy_index(pool: &SqlitePool, over_segments: i64, max_steps: u32) -> Result<u32, sqlx::Error> {
    let mut steps = 0;
    // a read first: with nothing masked (after most jobs and purge intervals) no step
    // takes the write lock, which would make every writer of the moment wait for it
    let masked = "select exists (select 1 from contacts_search_masked)";
    while steps < max_steps && sqlx::query_scalar::<_, bool>(masked).fetch_one(pool).await? {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        // the last of the next keys, in key order: the step takes every key up to it
        let last: Option<i64> = sqlx::query_scalar(
            "select max(key) from (select key from contacts_search_masked order by key limit ?)",
        )
        .bind(UNMASK_STEP)
        .fetch_one(&mut *tx)
        .await?;
        let Some(last) = last else {
            // another tidy took them between the read and the lock
            tx.commit().await?;
            break;
        };
        sqlx::query("delete from contacts_search where rowid in (select key from contacts_search_masked where key <= ?)")
            .bind(last)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from contacts_search_masked where key <= ?").bind(last).execute(&mut *tx).await?;
        tx.commit().await?;
        steps += 1;
        tokio::task::yield_now().await;
    }
    let segments: i64 = sqlx::query_scalar("select count(distinct segid) from contacts_search_idx").fetch_one(pool).await?;
    if segments <= over_segments {
        return Ok(steps);
    }
    while steps < max_steps {
        // a write transaction that takes the lock at once (as `Dialect::begin_write`)
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let before: i64 = sqlx::query_scalar("select total_changes()").fetch_one(&mut *tx).await?;
        // a negative budget merges segments across levels: the `optimize` of FTS5, in
        // slices of about 500 pages
        sqlx::query("insert into contacts_search (contacts_search, rank) values ('merge', -500)").execute(&mut *tx).await?;
        let after: i64 = sqlx::query_scalar("select total_changes()").fetch_one(&mut *tx).await?;
        tx.commit().await?;
        steps += 1;
        if after - before < 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(steps)
}

/// After personal data is erased (R10): the index still holds the trigrams of deleted
/// contacts behind its delete markers until its segments are merged, so merge them now
/// (nothing to do when it is one segment already); then fold the write-ahead log, which
/// keeps old page images until a checkpoint, into the file and truncate it.
/// `secure_delete` zeroes the freed pages.
pub(crate) async fn scrub(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    // merged down to one segment, the index keeps no deleted entries; in short steps, not
    // one `optimize` that would hold the write lock for seconds
    tidy_index(pool, 1, u32::MAX).await?;
    sqlx::query("pragma wal_checkpoint(truncate)").execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_of_three_characters_or_more_is_one_quoted_phrase() {
        assert_eq!(phrase("mar"), Some("\"mar\"".to_string()));
        assert_eq!(phrase("o\"b AND c*"), Some("\"o\"\"b AND c*\"".to_string()));
        // characters, not bytes: "ñé" is two characters and scans with `like`
        assert_eq!(phrase("ñé"), None);
        assert_eq!(phrase("ab"), None);
    }
}
