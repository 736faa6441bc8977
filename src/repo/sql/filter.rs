//! The conditions that pick contacts, shared by every statement that reads, counts,
//! deletes, tags or restores them: a filter or a selection of live contacts (R3, R6),
//! a filter of deleted ones (U6), a list of ids.

use super::{millis, Binds, Dialect};
use crate::domain::{AccountId, ContactFilter, ContactId, DeletedFilter, Selection};
use crate::repo::search::like_pattern;
use sqlx::QueryBuilder;

/// Appends `c.account_id = … and c.deleted_at is null` and the filter's conditions.
pub(crate) fn push_live_filter<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, account: AccountId, filter: &ContactFilter) {
    qb.push("c.account_id = ").bind_int(account.0).push(" and c.deleted_at is null");
    if let Some(q) = &filter.q {
        qb.push(" and ");
        DB::push_contains(qb, account, q);
    }
    if let Some(tag) = &filter.tag {
        qb.push(" and c.id in (select t.contact_id from contact_tags t where t.account_id = ")
            .bind_int(account.0)
            .push(" and t.tag = ")
            .bind_text(tag.as_str())
            .push(" and t.live)");
    }
}

/// Appends the condition that picks a selection's live contacts (R3, R6).
pub(crate) fn push_live_selection<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, account: AccountId, sel: &Selection) {
    match sel {
        Selection::Ids(ids) => {
            qb.push("c.account_id = ").bind_int(account.0).push(" and c.deleted_at is null and c.id in (");
            push_id_list(qb, ids);
            qb.push(")");
        }
        Selection::AllMatching { filter, as_of, exclude } => {
            push_live_filter(qb, account, filter);
            qb.push(" and c.created_at <= ").bind_int(millis(*as_of));
            if !exclude.is_empty() {
                qb.push(" and c.id not in (");
                push_id_list(qb, exclude);
                qb.push(")");
            }
        }
    }
}

/// Appends contact ids as bound values separated by commas, for `in (…)`.
pub(crate) fn push_id_list<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, ids: &[ContactId]) {
    push_ints(qb, ids.iter().map(|id| id.0))
}

/// Appends integers as bound values separated by commas, for `in (…)`.
pub(crate) fn push_ints<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, values: impl IntoIterator<Item = i64>) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.bind_int(v);
    }
}

/// Appends ` and …` restricting `contacts c` to the deleted contacts `filter` keeps,
/// with "deleted within" counted back from `reference` (now, or the `as_of` of a
/// selection). The caller restricts to the account and the window.
pub(crate) fn push_deleted_filter<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, filter: &DeletedFilter, reference: i64) {
    push_deleted_filter_as(qb, filter, reference, "")
}

/// [`push_deleted_filter`] for a walk in id order (a restore's or an erase's chunks):
/// the filter's columns behind a unary `+`, so that neither database reads them through
/// their indexes and sorts every match at each chunk, but walks `contacts_deleted_id`
/// (or the primary key) in id order and tests each row: all the chunks of a restore
/// together read each deleted contact once.
pub(crate) fn push_deleted_filter_walk<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, filter: &DeletedFilter, reference: i64) {
    push_deleted_filter_as(qb, filter, reference, "+")
}

fn push_deleted_filter_as<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, filter: &DeletedFilter, reference: i64, plus: &str) {
    qb.push(" and c.deleted_at is not null");
    if let Some(w) = filter.within {
        qb.push(format!(" and {plus}c.deleted_at > ")).bind_int(reference - w.duration().num_milliseconds());
    }
    if let Some(u) = filter.by {
        qb.push(format!(" and {plus}c.deleted_by_user_id = ")).bind_int(u.0);
    }
    if let Some(w) = filter.workflow {
        qb.push(format!(" and {plus}c.deleted_by_workflow_id = ")).bind_int(w.0);
    }
    if let Some(b) = filter.batch {
        qb.push(format!(" and {plus}c.deletion_batch_id = ")).bind_int(b.0);
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        qb.push(" and c.search_text like ").bind_text(like_pattern(q)).push(" escape '\\'");
    }
}
