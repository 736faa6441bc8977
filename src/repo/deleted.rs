//! The Restore page's list (U6): deleted contacts inside the 60-day window, filtered by
//! when, by whom, by workflow and by deletion, sorted by name, deletion time or who
//! deleted them, a page at a time by keyset so that a page costs the same at a million
//! deleted contacts (indexes of migration 0021). Also the names deletions go by.

use super::sql::{from_millis, millis, on_db, push_deleted_filter, push_deleted_filter_walk, push_id_list, Binds, Dialect};
use super::{Repo, RepoResult};
use crate::domain::restore_window::{cutoff as restore_cutoff, DaysLeft};
use crate::domain::{
    deleted_by_words, display_name, AccountId, BatchId, ContactId, DeletedFilter, DeletedSort, DeletedSortKey, DeletionName,
};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use std::collections::HashMap;

/// The columns of a [`DeletedContact`], from `contacts c`.
pub(crate) const DELETED_COLUMNS: &str = "c.id, c.first_name, c.last_name, c.email, c.company, c.deleted_at, c.deletion_batch_id,
        c.deleted_by_user_id, lower(c.first_name || ' ' || c.last_name) as sort_name,
        u.name as deleted_by_name, w.name as workflow_name";

/// The sort key expression of names, as indexed by `contacts_deleted_name`.
const NAME_KEY: &str = "lower(c.first_name || ' ' || c.last_name)";

/// The same key as an expression no index holds, so that the database sorts the rows a
/// filter found through its own index instead of walking every name.
const NAME_KEY_UNINDEXED: &str = "(lower(c.first_name || ' ' || c.last_name) || '')";

/// A filtered list sorted by name: up to this many matches are read through the
/// filter's index and sorted (a few milliseconds); more are found by walking the names
/// in order and testing each row, where at least one row in fifty (at a million deleted
/// contacts) matches, so a page reads a few thousand rows at most.
const SORT_FILTERED_MATCHES_UP_TO: i64 = 20_000;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedContact {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub deleted_at: i64,
    pub deletion_batch_id: Option<i64>,
    pub deleted_by_user_id: Option<i64>,
    /// The name as the list sorts it (lower-cased by the database).
    pub sort_name: String,
    pub deleted_by_name: Option<String>,
    pub workflow_name: Option<String>,
}

impl DeletedContact {
    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name, self.email.as_deref())
    }
    pub fn deleted(&self) -> DateTime<Utc> {
        from_millis(self.deleted_at)
    }
    pub fn days_left(&self, now: DateTime<Utc>) -> DaysLeft {
        DaysLeft::at(self.deleted(), now)
    }
    /// "Jane Admin", or "Workflow “Clean-up” on behalf of Jane Admin".
    pub fn deleted_by(&self) -> String {
        crate::domain::deleted_by_words(self.deleted_by_name.as_deref(), self.workflow_name.as_deref())
    }
}

#[derive(Debug, Clone)]
pub struct DeletedPage {
    pub contacts: Vec<DeletedContact>,
    /// Where the next page starts.
    pub next: Option<DeletedCursor>,
}

/// Where the next page starts: the sort key and id of the last row shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletedCursor {
    Name { key: String, id: i64 },
    At { at: i64, id: i64 },
    /// `user` 0: deleted by no user that still exists.
    By { user: i64, at: i64, id: i64 },
}

impl DeletedCursor {
    /// The cursor after `c` in `sort`.
    pub fn after(c: &DeletedContact, sort: DeletedSort) -> Self {
        match sort.key {
            DeletedSortKey::Name => DeletedCursor::Name { key: c.sort_name.clone(), id: c.id },
            DeletedSortKey::Deleted | DeletedSortKey::Left => DeletedCursor::At { at: c.deleted_at, id: c.id },
            DeletedSortKey::By => DeletedCursor::By { user: c.deleted_by_user_id.unwrap_or(0), at: c.deleted_at, id: c.id },
        }
    }

    /// The `key` of a page link (the id goes in its own field).
    pub fn key(&self) -> String {
        match self {
            DeletedCursor::Name { key, .. } => key.clone(),
            DeletedCursor::At { at, .. } => at.to_string(),
            DeletedCursor::By { user, at, .. } => format!("{user}.{at}"),
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            DeletedCursor::Name { id, .. } | DeletedCursor::At { id, .. } | DeletedCursor::By { id, .. } => *id,
        }
    }

    /// Reads a page link's `key` and `after` back; `None` when they do not fit `sort`.
    pub fn parse(sort: DeletedSort, key: &str, id: &str) -> Option<Self> {
        let id = id.trim().parse::<i64>().ok()?;
        match sort.key {
            DeletedSortKey::Name => (key.chars().count() <= 1000).then(|| DeletedCursor::Name { key: key.to_string(), id }),
            DeletedSortKey::Deleted | DeletedSortKey::Left => Some(DeletedCursor::At { at: key.parse().ok()?, id }),
            DeletedSortKey::By => {
                let (u, at) = key.split_once('.')?;
                Some(DeletedCursor::By { user: u.parse().ok()?, at: at.parse().ok()?, id })
            }
        }
    }
}

/// A deletion as the pages name it (R7, R12).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletionSummary {
    pub id: i64,
    pub total: i64,
    pub created_at: i64,
    pub actor_name: Option<String>,
    pub workflow_name: Option<String>,
}

impl DeletionSummary {
    pub fn name(&self) -> DeletionName {
        DeletionName::new(self.total, from_millis(self.created_at), deleted_by_words(self.actor_name.as_deref(), self.workflow_name.as_deref()))
    }
}

const SUMMARY_SELECT: &str = "select b.id, b.total, b.created_at, u.name as actor_name, w.name as workflow_name
     from deletion_batches b
     left join users u on u.id = b.actor_user_id
     left join workflows w on w.id = b.workflow_id
     where b.account_id = ";

impl Repo {
    /// A page of the deleted contacts `filter` keeps that are still inside the window,
    /// in `sort` order, after `after`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deleted_contacts(
        &self,
        account: AccountId,
        filter: &DeletedFilter,
        sort: DeletedSort,
        after: Option<&DeletedCursor>,
        size: u32,
    ) -> RepoResult<DeletedPage> {
        self.deleted_contacts_sorting_up_to(account, filter, sort, after, size, SORT_FILTERED_MATCHES_UP_TO).await
    }

    /// [`Repo::deleted_contacts`], with a filtered name sort walking the names when more
    /// than `sort_up_to` contacts match (tests reach both ways with a few contacts).
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deleted_contacts_sorting_up_to(
        &self,
        account: AccountId,
        filter: &DeletedFilter,
        sort: DeletedSort,
        after: Option<&DeletedCursor>,
        size: u32,
        sort_up_to: i64,
    ) -> RepoResult<DeletedPage> {
        let size = size.clamp(1, 500) as i64;
        let mut rows = match sort.key {
            DeletedSortKey::By => self.deleted_by_person(account, filter, sort, after, size + 1).await?,
            _ => self.deleted_in_order(account, filter, sort, after, size + 1, sort_up_to).await?,
        };
        let next = if rows.len() as i64 > size {
            rows.truncate(size as usize);
            rows.last().map(|r| DeletedCursor::after(r, sort))
        } else {
            None
        };
        Ok(DeletedPage { contacts: rows, next })
    }

    /// Opens the query of deleted contacts of the account inside the window, filtered;
    /// with `walk`, one that walks the names in order where the backend must be told to.
    fn deleted_query<DB: Dialect>(&self, account: AccountId, filter: &DeletedFilter, walk: bool) -> QueryBuilder<'static, DB> {
        let now = self.now();
        let hint = if walk { DB::WALK_DELETED_BY_NAME } else { "" };
        let mut qb = QueryBuilder::<DB>::new(format!(
            "select {DELETED_COLUMNS}
             from contacts c{hint}
             left join users u on u.id = c.deleted_by_user_id
             left join workflows w on w.id = c.deleted_by_workflow_id
             where c.account_id = "
        ));
        qb.bind_int(account.0);
        // PostgreSQL's planner picks the walk by itself, and does worse when told
        if !hint.is_empty() {
            push_deleted_filter_walk(&mut qb, filter, millis(now));
            qb.push(" and +c.deleted_at > ").bind_int(millis(restore_cutoff(now)));
        } else {
            push_deleted_filter(&mut qb, filter, millis(now));
            qb.push(" and c.deleted_at > ").bind_int(millis(restore_cutoff(now)));
        }
        qb
    }

    /// Sorted by name or by deletion time: one keyset query on the column's index.
    async fn deleted_in_order(
        &self,
        account: AccountId,
        filter: &DeletedFilter,
        sort: DeletedSort,
        after: Option<&DeletedCursor>,
        limit: i64,
        sort_up_to: i64,
    ) -> RepoResult<Vec<DeletedContact>> {
        let (dir, cmp) = match sort.key {
            DeletedSortKey::Name if sort.desc => ("desc", "<"),
            DeletedSortKey::Name => ("asc", ">"),
            _ if sort.deleted_at_desc() => ("desc", "<"),
            _ => ("asc", ">"),
        };
        // by name with a filter: sort the few matches, or walk the names past the many
        let (walk, name_key) = if sort.key == DeletedSortKey::Name && !filter.is_empty() {
            if self.count_deleted_matching(account, filter).await? <= sort_up_to {
                (false, NAME_KEY_UNINDEXED)
            } else {
                (true, NAME_KEY)
            }
        } else {
            (false, NAME_KEY)
        };
        Ok(on_db!(self, |pool, DB| {
            let mut qb: QueryBuilder<DB> = self.deleted_query(account, filter, walk);
            match (sort.key, after) {
                (DeletedSortKey::Name, Some(DeletedCursor::Name { key, id })) => {
                    // Not a row value: SQLite ranges over an expression index only on a
                    // plain comparison (a row value made a deep page scan the index).
                    qb.push(format!(" and {name_key} {cmp}= "))
                        .push_bind(key.clone())
                        .push(format!(" and ({name_key} {cmp} "))
                        .push_bind(key.clone())
                        .push(format!(" or c.id {cmp} "))
                        .push_bind(*id)
                        .push(")");
                }
                (DeletedSortKey::Deleted | DeletedSortKey::Left, Some(DeletedCursor::At { at, id })) => {
                    qb.push(format!(" and (c.deleted_at, c.id) {cmp} (")).push_bind(*at).push(", ").push_bind(*id).push(")");
                }
                _ => {}
            }
            match sort.key {
                DeletedSortKey::Name => qb.push(format!(" order by {name_key} {dir}, c.id {dir} limit ")),
                _ => qb.push(format!(" order by c.deleted_at {dir}, c.id {dir} limit ")),
            };
            qb.push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// Sorted by who deleted: the account's users in name order (or reversed), each
    /// one's deletions newest first, read user by user on `contacts_deleted_by`; those
    /// deleted by nobody who still exists come last.
    async fn deleted_by_person(
        &self,
        account: AccountId,
        filter: &DeletedFilter,
        sort: DeletedSort,
        after: Option<&DeletedCursor>,
        limit: i64,
    ) -> RepoResult<Vec<DeletedContact>> {
        let mut people: Vec<i64> = match filter.by {
            Some(u) => vec![u.0],
            None => {
                let mut ids: Vec<i64> = on_db!(self, |pool, DB| {
                    sqlx::query_scalar("select id from users where account_id = $1 order by lower(name), id")
                        .bind(account.0)
                        .fetch_all(pool)
                        .await?
                });
                if sort.desc {
                    ids.reverse();
                }
                ids.push(0);
                ids
            }
        };
        let mut from_cursor = None;
        if let Some(DeletedCursor::By { user, at, id }) = after {
            match people.iter().position(|p| p == user) {
                Some(i) => {
                    people.drain(..i);
                    from_cursor = Some((*at, *id));
                }
                None => people.clear(),
            }
        }
        let mut rows: Vec<DeletedContact> = Vec::new();
        for person in people {
            let want = limit - rows.len() as i64;
            if want <= 0 {
                break;
            }
            let part: Vec<DeletedContact> = on_db!(self, |pool, DB| {
                let mut qb: QueryBuilder<DB> = self.deleted_query(account, filter, false);
                if person == 0 {
                    qb.push(" and (c.deleted_by_user_id is null or u.id is null)");
                } else {
                    qb.push(" and c.deleted_by_user_id = ").push_bind(person);
                }
                if let Some((at, id)) = from_cursor.take() {
                    qb.push(" and (c.deleted_at, c.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
                }
                qb.push(" order by c.deleted_at desc, c.id desc limit ").push_bind(want);
                qb.build_query_as().fetch_all(pool).await?
            });
            rows.extend(part);
        }
        Ok(rows)
    }

    /// How many deleted contacts `filter` keeps inside the window now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_deleted_matching(&self, account: AccountId, filter: &DeletedFilter) -> RepoResult<i64> {
        let now = self.now();
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select count(*) from contacts c where c.account_id = ");
            qb.push_bind(account.0);
            push_deleted_filter(&mut qb, filter, millis(now));
            qb.push(" and c.deleted_at > ").push_bind(millis(restore_cutoff(now)));
            qb.build_query_scalar().fetch_one(pool).await?
        }))
    }

    /// The account's users, by name: who may have deleted contacts.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_people(&self, account: AccountId) -> RepoResult<Vec<(i64, String)>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as("select id, name from users where account_id = $1 order by lower(name), id limit 500")
                .bind(account.0)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The deletions of the account whose contacts may still be restorable (started
    /// inside the window), newest first, plus `also` if it is one of the account's.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent_deletions(&self, account: AccountId, limit: i64, also: Option<BatchId>) -> RepoResult<Vec<DeletionSummary>> {
        let cutoff = millis(restore_cutoff(self.now()));
        let mut rows: Vec<DeletionSummary> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!("{SUMMARY_SELECT}$1 and b.created_at > $2 and b.deleted_count > 0 order by b.id desc limit $3"))
                .bind(account.0)
                .bind(cutoff)
                .bind(limit.clamp(1, 500))
                .fetch_all(pool)
                .await?
        });
        if let Some(b) = also.filter(|b| !rows.iter().any(|r| r.id == b.0)) {
            rows.extend(self.deletion_names(account, &[b.0]).await?.into_values());
        }
        Ok(rows)
    }

    /// The named deletions of the account among `ids`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deletion_names(&self, account: AccountId, ids: &[i64]) -> RepoResult<HashMap<i64, DeletionSummary>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<DeletionSummary> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(SUMMARY_SELECT);
            qb.push_bind(account.0).push(" and b.id in (");
            let mut sep = qb.separated(", ");
            for id in ids.iter().take(1000) {
                sep.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }

    /// Display names of contacts of the account (live or deleted) among `ids`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn contact_names(&self, account: AccountId, ids: &[ContactId]) -> RepoResult<HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String, String, Option<String>)> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select c.id, c.first_name, c.last_name, c.email from contacts c where c.account_id = ");
            qb.push_bind(account.0).push(" and c.id in (");
            push_id_list(&mut qb, &ids[..ids.len().min(1000)]);
            qb.push(")");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, f, l, e)| (id, display_name(&f, &l, e.as_deref()))).collect())
    }
}

/// One deleted contact, with who deleted it and why, for its own page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletedContactDetail {
    #[sqlx(flatten)]
    pub contact: DeletedContact,
    /// For a workflow's deletion: the user whose tag started it.
    pub triggered_by_name: Option<String>,
    pub reason: Option<String>,
}

impl Repo {
    /// A deleted contact of the account (inside the window or not, until purged).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deleted_contact(&self, account: AccountId, id: ContactId) -> RepoResult<Option<DeletedContactDetail>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as(
&format!("select {DELETED_COLUMNS}, t.name as triggered_by_name, b.reason
                 from contacts c
                 left join users u on u.id = c.deleted_by_user_id
                 left join workflows w on w.id = c.deleted_by_workflow_id
                 left join deletion_batches b on b.id = c.deletion_batch_id and b.account_id = c.account_id
                 left join users t on t.id = b.triggered_by_user_id
                 where c.account_id = $1 and c.id = $2 and c.deleted_at is not null"),
            )
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        }))
    }
}
