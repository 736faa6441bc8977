//! Live contacts: the list with search, tag filter and keyset pagination (R3), counts,
//! one contact with its associated data (U7), creation and tags.

use super::sql::{from_millis, millis, on_db, push_id_list, push_live_filter, push_live_selection, triggers, Binds, Dialect};
use super::search::PageAsk;
use super::{Repo, RepoError, RepoResult};
use crate::domain::contact::MAX_TAGS_PER_CONTACT;
use crate::domain::{
    display_name, AccountId, ContactFilter, ContactId, Cursor, InvalidInput, ListOrder, NewContact, PageRequest, Selection, SortColumn,
    TagAuthority, TagName, TagTriggers,
};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub created_at: i64,
    #[sqlx(skip)]
    pub tags: Vec<String>,
}

impl ContactRow {
    pub fn contact_id(&self) -> ContactId {
        ContactId(self.id)
    }

    pub fn display_name(&self) -> String {
        display_name(&self.first_name, &self.last_name, self.email.as_deref())
    }

    pub fn created(&self) -> DateTime<Utc> {
        from_millis(self.created_at)
    }
}


#[derive(Debug, Clone)]
pub struct ContactPage {
    pub contacts: Vec<ContactRow>,
    pub has_prev: bool,
    pub has_next: bool,
    /// The order the page is in: the one asked for, except that a search lists its
    /// matches by when they were added (see [`Repo::list_contacts_in_order`]).
    pub order: ListOrder,
}

impl ContactPage {
    pub fn first_id(&self) -> Option<ContactId> {
        self.contacts.first().map(ContactRow::contact_id)
    }
    pub fn last_id(&self) -> Option<ContactId> {
        self.contacts.last().map(ContactRow::contact_id)
    }
}

/// The account's deleted contacts, as the empty list tells of them (see
/// [`Repo::deleted_summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletedSummary {
    /// Deleted contacts not purged yet.
    pub deleted: i64,
    /// Those still inside their 60-day window (R8).
    pub restorable: i64,
    pub first_deleted_at: Option<DateTime<Utc>>,
    pub last_deleted_at: Option<DateTime<Utc>>,
    /// The earliest deletion still restorable: the first window to close.
    pub first_restorable_at: Option<DateTime<Utc>>,
}

/// Everything a deletion would remove or change, shown on the contact page (U7).
#[derive(Debug, Clone, Default)]
pub struct ContactDetail {
    pub contact: Option<ContactRow>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub conversations: Vec<ConversationRow>,
    pub notes: Vec<NoteRow>,
    pub tasks: Vec<TaskRow>,
    pub appointments: Vec<AppointmentRow>,
    pub opportunities: Vec<OpportunityRow>,
    pub manual_actions: Vec<ManualActionRow>,
    pub activities: Vec<ActivityRow>,
    pub files: Vec<FileRow>,
    pub groups_owned: Vec<NamedRow>,
    pub enrollments: Vec<EnrollmentRow>,
    pub lists: Vec<NamedRow>,
}

/// The rows of a contact's page (U7), one struct per kind of associated data. Times are
/// epoch milliseconds, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub channel: String,
    pub subject: String,
    pub messages: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRow {
    pub id: i64,
    pub body: String,
    pub author: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub due_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub starts_at: i64,
}

impl AppointmentRow {
    /// Scheduled and still ahead at `now_ms`: it can be cancelled or moved before deleting.
    pub fn is_upcoming(&self, now_ms: i64) -> bool {
        crate::domain::contact::appointment_is_upcoming(&self.status, self.starts_at, now_ms)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpportunityRow {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub value_cents: i64,
}

impl OpportunityRow {
    /// Still open: it can be closed or moved before deleting.
    pub fn is_open(&self) -> bool {
        crate::domain::contact::opportunity_is_open(&self.status)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ManualActionRow {
    pub id: i64,
    pub kind: String,
    pub description: String,
    pub status: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub kind: String,
    pub summary: String,
    pub author: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// A list or a community group: its id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedRow {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrollmentRow {
    pub id: i64,
    /// The campaign's or workflow's name.
    pub name: String,
    pub status: String,
}

impl EnrollmentRow {
    pub fn is_active(&self) -> bool {
        crate::domain::contact::enrollment_is_active(&self.status)
    }
}

/// The lower-cased text the search box matches.
pub(crate) fn search_text(c: &NewContact) -> String {
    [
        c.first_name.as_str(),
        c.last_name.as_str(),
        c.email.as_ref().map(|e| e.as_str()).unwrap_or(""),
        c.phone.as_deref().unwrap_or(""),
        c.company.as_deref().unwrap_or(""),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .map(|s| s.to_lowercase())
    .collect::<Vec<_>>()
    .join(" ")
}

const CONTACT_COLUMNS: &str = "c.id, c.first_name, c.last_name, c.email, c.phone, c.company, c.created_at";

/// The sort key of a text column: the expression of its index (migration 0019, word for
/// word, or the index does not serve the query). The value is lower-cased behind a '0';
/// a missing or empty value is '1' alone, after every other from A to Z. The name is
/// what the list shows: first and last name, else the email.
fn sort_key(column: SortColumn) -> Option<&'static str> {
    match column {
        SortColumn::Name => Some(
            "coalesce('0' || nullif(lower(trim(c.first_name || ' ' || c.last_name)), ''), '0' || nullif(lower(c.email), ''), '1')",
        ),
        SortColumn::Email => Some("coalesce('0' || nullif(lower(c.email), ''), '1')"),
        SortColumn::Company => Some("coalesce('0' || nullif(lower(c.company), ''), '1')"),
        SortColumn::Created => None,
    }
}

/// How a page sorted by a text column reads the contacts of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagPlan {
    /// Walk the sort key's index and keep the contacts that have the tag: a page reads
    /// about `page × live / tagged` index entries, cheap when the tag is common.
    WalkIndex,
    /// Read every contact with the tag and sort them: cheap when the tag is rare.
    SortTagged,
}

impl TagPlan {
    /// The cheaper of the two. Walking reads about `page × live / tagged` index entries,
    /// each with a look-up of the tag; sorting reads all `tagged` contacts, each a look-up
    /// of its row, about 2.5 times the cost of an index entry (measured on SQLite at
    /// 200,000 contacts: a tag on 1.5% of them sorted by name, 32 ms sorted against 13
    /// walked). They cost the same where `tagged² = 0.4 × page × live`: about 4,500
    /// contacts of a million for a page of 50, the slowest tag to sort by (tens of ms).
    fn choose(tagged: i64, live: i64, page: i64) -> TagPlan {
        if tagged.saturating_mul(tagged).saturating_mul(5) >= page.saturating_mul(live).saturating_mul(2) {
            TagPlan::WalkIndex
        } else {
            TagPlan::SortTagged
        }
    }
}

#[cfg(test)]
mod tag_plan_tests {
    use super::TagPlan;

    #[test]
    fn a_common_tag_walks_the_index_and_a_rare_one_is_sorted() {
        assert_eq!(TagPlan::choose(125_000, 1_000_000, 50), TagPlan::WalkIndex);
        assert_eq!(TagPlan::choose(15_000, 1_000_000, 50), TagPlan::WalkIndex);
        assert_eq!(TagPlan::choose(3_000, 1_000_000, 50), TagPlan::SortTagged);
        assert_eq!(TagPlan::choose(10, 1_000_000, 50), TagPlan::SortTagged);
        assert_eq!(TagPlan::choose(0, 0, 50), TagPlan::WalkIndex, "an empty account reads nothing either way");
    }
}

/// The query of one page sorted by a text column's `key`, reading the key's index
/// upwards (`up`) or downwards from the cursor's (key, id), ties broken by id.
#[allow(clippy::too_many_arguments)]
fn push_key_page_query<DB: Dialect>(
    qb: &mut QueryBuilder<'_, DB>,
    account: AccountId,
    tag: Option<(&TagName, TagPlan)>,
    key: &str,
    from: Option<(String, i64)>,
    up: bool,
    limit: i64,
) {
    let (cmp, bound, dir) = if up { (">", ">=", "asc") } else { ("<", "<=", "desc") };
    match tag {
        Some((tag, TagPlan::SortTagged)) => {
            qb.push(format!("select {CONTACT_COLUMNS} from {} where t.account_id = ", DB::EACH_TAGGED_CONTACT))
                .bind_int(account.0)
                .push(" and t.tag = ")
                .bind_text(tag.as_str())
                .push(" and t.live and c.id = t.contact_id and c.account_id = ")
                .bind_int(account.0)
                .push(" and c.deleted_at is null");
        }
        Some((tag, TagPlan::WalkIndex)) => {
            qb.push(format!("select {CONTACT_COLUMNS} from contacts c where c.account_id = "))
                .bind_int(account.0)
                .push(" and c.deleted_at is null and exists (select 1 from contact_tags t where t.contact_id = c.id and t.tag = ")
                .bind_text(tag.as_str())
                .push(" and t.live)");
        }
        None => {
            qb.push(format!("select {CONTACT_COLUMNS} from contacts c where c.account_id = "))
                .bind_int(account.0)
                .push(" and c.deleted_at is null");
        }
    }
    if let Some((k, id)) = from {
        // The row comparison is the cursor; the bound on the key alone repeats its first
        // half, because SQLite starts an index range only from a single column's bound.
        qb.push(format!(" and {key} {bound} "))
            .bind_text(k.clone())
            .push(format!(" and ({key}, c.id) {cmp} ("))
            .bind_text(k)
            .push(", ")
            .bind_int(id)
            .push(")");
    }
    qb.push(format!(" order by {key} {dir}, c.id {dir} limit ")).bind_int(limit);
}

/// The query of one page of the live contacts matching `filter` that the search engine
/// does not read from its own index (`Dialect::push_search_page`): `limit` rows from the
/// cursor, newest first (or oldest first for [`Cursor::Before`] and [`Cursor::Last`]).
/// Each shape walks an index in id order and stops after `limit` rows: the tag's live
/// entries for a tag, else the live contacts.
fn push_page_query<DB: Dialect>(qb: &mut QueryBuilder<'_, DB>, account: AccountId, filter: &ContactFilter, cursor: Cursor, limit: i64) {
    let dir = if matches!(cursor, Cursor::Before(_) | Cursor::Last) { "asc" } else { "desc" };
    // `cross join` fixes the join order on SQLite (the first table drives); PostgreSQL
    // plans it as an inner join.
    // `key` is what the cursor compares, `order` what the rows are read by
    let (key, order) = if let Some(tag) = &filter.tag {
        qb.push(format!("select {CONTACT_COLUMNS} from contact_tags t cross join contacts c where t.account_id = "))
            .bind_int(account.0)
            .push(" and t.tag = ")
            .bind_text(tag.as_str())
            .push(" and t.live and c.id = t.contact_id and ");
        push_live_filter(qb, account, &ContactFilter { q: filter.q.clone(), tag: None });
        ("t.contact_id", format!("t.contact_id {dir}"))
    } else {
        qb.push(format!("select {CONTACT_COLUMNS} from contacts c where "));
        push_live_filter(qb, account, filter);
        // `created_at` after the unique id changes no order, but names the columns of
        // the live contacts' index (`contacts_live`): PostgreSQL then reads the list from
        // it instead of walking the primary key through every deleted contact, which it
        // would do with statistics taken before a large deletion (300 ms instead of
        // 7 at a million contacts, 300,000 of them just deleted).
        ("c.id", format!("c.id {dir}, c.created_at {dir}"))
    };
    match cursor {
        Cursor::After(id) => {
            qb.push(format!(" and {key} < ")).bind_int(id.0);
        }
        Cursor::Before(id) => {
            qb.push(format!(" and {key} > ")).bind_int(id.0);
        }
        Cursor::First | Cursor::Last => {}
    }
    qb.push(format!(" order by {order} limit ")).bind_int(limit);
}

/// Whether a page has pages before and after it, from its cursor and whether the query
/// found more rows than the page holds (in the direction it read).
fn neighbours(cursor: Cursor, more: bool) -> (bool, bool) {
    match cursor {
        Cursor::First => (false, more),
        Cursor::After(_) => (true, more),
        Cursor::Before(_) => (more, true),
        Cursor::Last => (more, false),
    }
}

impl Repo {
    /// One page of the live contacts matching `filter`, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_contacts(&self, account: AccountId, filter: &ContactFilter, page: PageRequest) -> RepoResult<ContactPage> {
        self.list_contacts_in_order(account, filter, page, ListOrder::NEWEST_FIRST).await
    }

    /// One page of the live contacts matching `filter` in `order`, each page read from an
    /// index from its cursor on, as fast deep in the list as at its start.
    ///
    /// A search's matches come from its own index in the order contacts were added, so
    /// a search lists them by created (newest or oldest first); sorted by another column
    /// it falls back to newest first, and the page's `order` says so. A tag combines
    /// with every order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_contacts_in_order(
        &self,
        account: AccountId,
        filter: &ContactFilter,
        page: PageRequest,
        order: ListOrder,
    ) -> RepoResult<ContactPage> {
        let order = if filter.q.is_some() && order.column != SortColumn::Created { ListOrder::NEWEST_FIRST } else { order };
        let mut out = match sort_key(order.column) {
            Some(key) => self.list_by_key(account, filter.tag.as_ref(), page, key, order.descending).await?,
            None if order.descending => self.list_newest_first(account, filter, page).await?,
            None => {
                // oldest first is the newest-first list read from its other end
                let cursor = match page.cursor {
                    Cursor::First => Cursor::Last,
                    Cursor::Last => Cursor::First,
                    Cursor::After(id) => Cursor::Before(id),
                    Cursor::Before(id) => Cursor::After(id),
                };
                let mut p = self.list_newest_first(account, filter, PageRequest { cursor, size: page.size }).await?;
                p.contacts.reverse();
                std::mem::swap(&mut p.has_prev, &mut p.has_next);
                p
            }
        };
        out.order = order;
        Ok(out)
    }

    /// A page sorted by a text column's key (migration 0019's indexes).
    async fn list_by_key(
        &self,
        account: AccountId,
        tag: Option<&TagName>,
        page: PageRequest,
        key: &'static str,
        descending: bool,
    ) -> RepoResult<ContactPage> {
        let size = page.size.clamp(1, 500) as i64;
        // the cursor's contact gives the key to continue from, deleted or not
        let from = match page.cursor {
            Cursor::After(id) | Cursor::Before(id) => {
                let k: Option<String> = on_db!(self, |pool, DB| {
                    sqlx::query_scalar(&format!("select {key} from contacts c where c.account_id = $1 and c.id = $2"))
                        .bind(account.0)
                        .bind(id.0)
                        .fetch_optional(pool)
                        .await?
                });
                let k = k.ok_or_else(|| InvalidInput::new("That page of the list no longer exists; start again from the first page."))?;
                Some((k, id.0))
            }
            Cursor::First | Cursor::Last => None,
        };
        let tag = match tag {
            Some(t) => {
                let tagged = self.account_count(account, &format!("tag:{}", t.as_str())).await?;
                let live = self.account_count(account, "contacts").await?;
                Some((t, TagPlan::choose(tagged, live, size)))
            }
            None => None,
        };
        // pages before the cursor are read the other way and turned around
        let backwards = matches!(page.cursor, Cursor::Before(_) | Cursor::Last);
        let up = descending == backwards;
        let mut rows: Vec<ContactRow> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("");
            push_key_page_query(&mut qb, account, tag, key, from, up, size + 1);
            qb.build_query_as().fetch_all(pool).await?
        });
        let more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        if backwards {
            rows.reverse();
        }
        let (has_prev, has_next) = neighbours(page.cursor, more);
        self.attach_tags(&mut rows).await?;
        Ok(ContactPage { contacts: rows, has_prev, has_next, order: ListOrder::NEWEST_FIRST })
    }

    /// One page of the live contacts matching `filter`, newest first.
    async fn list_newest_first(
        &self,
        account: AccountId,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> RepoResult<ContactPage> {
        let size = page.size.clamp(1, 500) as i64;
        // Pages before the cursor are read in ascending order and turned around.
        let ascending = matches!(page.cursor, Cursor::Before(_) | Cursor::Last);
        let mut rows: Vec<ContactRow> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("");
            let ask = PageAsk { account, filter, cursor: page.cursor, limit: size + 1, columns: CONTACT_COLUMNS };
            if DB::push_search_page(&mut qb, &ask) {
                qb.build_query_as().fetch_all(pool).await?
            } else {
                push_page_query(&mut qb, account, filter, page.cursor, size + 1);
                let keep = filter.q.is_none() || !DB::PLAN_EACH_PATTERN;
                qb.build_query_as().persistent(keep).fetch_all(pool).await?
            }
        });
        let more = rows.len() as i64 > size;
        rows.truncate(size as usize);
        if ascending {
            rows.reverse();
        }
        let (has_prev, has_next) = neighbours(page.cursor, more);
        self.attach_tags(&mut rows).await?;
        Ok(ContactPage { contacts: rows, has_prev, has_next, order: ListOrder::NEWEST_FIRST })
    }

    async fn attach_tags(&self, rows: &mut [ContactRow]) -> RepoResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<ContactId> = rows.iter().map(ContactRow::contact_id).collect();
        let tags: Vec<(i64, String)> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select contact_id, tag from contact_tags where contact_id in (");
            push_id_list(&mut qb, &ids);
            qb.push(") order by tag");
            qb.build_query_as().fetch_all(pool).await?
        });
        for (cid, tag) in tags {
            if let Some(r) = rows.iter_mut().find(|r| r.id == cid) {
                r.tags.push(tag);
            }
        }
        Ok(())
    }

    /// How many live contacts match `filter` (the "Select all N" banner, U2): exact, from
    /// the account's counters when there is no search, else from the search index.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_contacts(&self, account: AccountId, filter: &ContactFilter) -> RepoResult<i64> {
        if filter.q.is_none() {
            let kind = match &filter.tag {
                Some(tag) => format!("tag:{}", tag.as_str()),
                None => "contacts".to_string(),
            };
            return self.account_count(account, &kind).await;
        }
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select count(*) from ");
            if !DB::push_search_count(&mut qb, account, filter) {
                qb.push("contacts c where ");
                push_live_filter(&mut qb, account, filter);
            }
            qb.build_query_scalar().fetch_one(pool).await?
        }))
    }

    /// What became of the account's deleted contacts, for a list with no live contact
    /// left: how many the database still holds, how many of them can be restored, and
    /// when they were deleted. Reads the deleted contacts' index (`contacts_deleted`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn deleted_summary(&self, account: AccountId) -> RepoResult<DeletedSummary> {
        let cutoff = millis(crate::domain::restore_window::cutoff(self.now()));
        let (deleted, restorable, first, last, first_restorable): (i64, i64, Option<i64>, Option<i64>, Option<i64>) = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select count(*), count(case when deleted_at > $2 then 1 end), min(deleted_at), max(deleted_at),
                        min(case when deleted_at > $2 then deleted_at end)
                 from contacts where account_id = $1 and deleted_at is not null",
            )
            .bind(account.0)
            .bind(cutoff)
            .fetch_one(pool)
            .await?
        });
        Ok(DeletedSummary {
            deleted,
            restorable,
            first_deleted_at: first.map(from_millis),
            last_deleted_at: last.map(from_millis),
            first_restorable_at: first_restorable.map(from_millis),
        })
    }

    /// One of the account's counters (`account_counts`, kept by triggers; migration 0003).
    pub(crate) async fn account_count(&self, account: AccountId, kind: &str) -> RepoResult<i64> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_scalar("select coalesce((select n from account_counts where account_id = $1 and kind = $2), 0)")
                .bind(account.0)
                .bind(kind)
                .fetch_one(pool)
                .await?
        }))
    }

    /// How many live contacts a selection holds right now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_selection(&self, account: AccountId, sel: &Selection) -> RepoResult<i64> {
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select count(*) from contacts c where ");
            push_live_selection(&mut qb, account, sel);
            qb.build_query_scalar().fetch_one(pool).await?
        }))
    }

    /// How many of the account's contacts were deleted after `since`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_deleted_since(&self, account: AccountId, since: DateTime<Utc>) -> RepoResult<i64> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from contacts where account_id = $1 and deleted_at is not null and deleted_at > $2")
                .bind(account.0)
                .bind(millis(since))
                .fetch_one(pool)
                .await?
        }))
    }

    /// The selection's live contacts in id order, `limit` at a time after `after` (export).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn selection_page(
        &self,
        account: AccountId,
        sel: &Selection,
        after: i64,
        limit: i64,
    ) -> RepoResult<Vec<ContactRow>> {
        let mut rows: Vec<ContactRow> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(format!("select {CONTACT_COLUMNS} from contacts c where "));
            push_live_selection(&mut qb, account, sel);
            qb.push(" and c.id > ").push_bind(after).push(" order by c.id limit ").push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        });
        self.attach_tags(&mut rows).await?;
        Ok(rows)
    }

    /// A live contact of the account, or `None` (deleted, unknown or another account's).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_contact(&self, account: AccountId, id: ContactId) -> RepoResult<Option<ContactRow>> {
        let mut row: Option<ContactRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(&format!(
                "select {CONTACT_COLUMNS} from contacts c where c.account_id = $1 and c.id = $2 and c.deleted_at is null"
            ))
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        });
        if let Some(r) = row.as_mut() {
            self.attach_tags(std::slice::from_mut(r)).await?;
        }
        Ok(row)
    }

    /// A live contact with everything a deletion would remove (U7).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn contact_detail(&self, account: AccountId, id: ContactId) -> RepoResult<Option<ContactDetail>> {
        let Some(contact) = self.get_contact(account, id).await? else {
            return Ok(None);
        };
        let (a, c) = (account.0, id.0);
        let mut d = ContactDetail { contact: Some(contact), ..Default::default() };
        on_db!(self, |pool, DB| {
            d.conversations = sqlx::query_as(
                "select v.id, v.channel, v.subject, (select count(*) from messages m where m.conversation_id = v.id) as messages
                 from conversations v where v.account_id = $1 and v.contact_id = $2 order by v.id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.notes = sqlx::query_as(
                "select n.id, n.body, u.name as author, n.created_at from notes n left join users u on u.id = n.user_id
                 where n.account_id = $1 and n.contact_id = $2 order by n.id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.tasks = sqlx::query_as(
                "select id, title, status, due_at from tasks where account_id = $1 and contact_id = $2 order by id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.appointments = sqlx::query_as(
                "select id, title, status, starts_at from appointments where account_id = $1 and contact_id = $2 order by starts_at desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.opportunities = sqlx::query_as(
                "select id, name, status, value_cents from opportunities where account_id = $1 and contact_id = $2 order by id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.manual_actions = sqlx::query_as(
                "select id, kind, description, status from manual_actions where account_id = $1 and contact_id = $2 order by id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.activities = sqlx::query_as(
                "select x.id, x.kind, x.summary, u.name as author, x.created_at from activities x left join users u on u.id = x.user_id
                 where x.account_id = $1 and x.contact_id = $2 order by x.created_at desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.files = sqlx::query_as(
                "select id, name, content_type, size_bytes from files where account_id = $1 and contact_id = $2 order by id desc limit 100",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.groups_owned = sqlx::query_as(
                "select id, name from community_groups where account_id = $1 and owner_contact_id = $2 order by name",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.enrollments = sqlx::query_as(
                "select e.id, coalesce(k.name, w.name, '?') as name, e.status from enrollments e
                 left join campaigns k on k.id = e.campaign_id left join workflows w on w.id = e.workflow_id
                 where e.account_id = $1 and e.contact_id = $2 order by e.id",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
            d.lists = sqlx::query_as(
                "select l.id, l.name from list_members m join lists l on l.id = m.list_id
                 where m.account_id = $1 and m.contact_id = $2 order by l.name",
            )
            .bind(a).bind(c).fetch_all(pool).await?;
        });
        Ok(Some(d))
    }

    /// An attached file of a live contact: (name, content type, bytes).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn contact_file(
        &self,
        account: AccountId,
        contact: ContactId,
        file_id: i64,
    ) -> RepoResult<Option<(String, String, Vec<u8>)>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select f.name, f.content_type, f.content from files f join contacts c on c.id = f.contact_id
                 where f.account_id = $1 and f.contact_id = $2 and f.id = $3 and c.deleted_at is null",
            )
            .bind(account.0)
            .bind(contact.0)
            .bind(file_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Creates a contact; a live contact with the same email is a conflict. Its tags
    /// start the workflows they trigger, which `by` must be allowed to start.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_contact(&self, account: AccountId, c: &NewContact, by: TagAuthority) -> RepoResult<ContactId> {
        super::sql::retry_transient(|| self.create_contact_once(account, c, by)).await
    }

    async fn create_contact_once(&self, account: AccountId, c: &NewContact, by: TagAuthority) -> RepoResult<ContactId> {
        if c.tags.len() > MAX_TAGS_PER_CONTACT {
            return Err(crate::domain::InvalidInput(format!("A contact has at most {MAX_TAGS_PER_CONTACT} tags.")).into());
        }
        let now = millis(self.now());
        let search = search_text(c);
        let result: Result<i64, RepoError> = on_db!(self, |pool, DB| {
            async {
                let mut tx = DB::begin_write(pool).await?;
                let active = if c.tags.is_empty() {
                    Vec::new()
                } else {
                    let rows = sqlx::query_as(triggers::ACTIVE_WORKFLOWS).bind(account.0).fetch_all(&mut *tx).await?;
                    triggers::active_workflows(rows)?
                };
                let id: i64 = sqlx::query_scalar(
                    "insert into contacts (account_id, first_name, last_name, email, phone, company, search_text, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning id",
                )
                .bind(account.0)
                .bind(&c.first_name)
                .bind(&c.last_name)
                .bind(c.email.as_ref().map(|e| e.as_str()))
                .bind(c.phone.as_deref())
                .bind(c.company.as_deref())
                .bind(&search)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for tag in &c.tags {
                    sqlx::query("insert into tags (account_id, name) values ($1, $2) on conflict do nothing")
                        .bind(account.0).bind(tag.as_str()).execute(&mut *tx).await?;
                    let added = sqlx::query("insert into contact_tags (contact_id, tag, account_id, created_at) values ($1, $2, $3, $4) on conflict do nothing")
                        .bind(id).bind(tag.as_str()).bind(account.0).bind(now).execute(&mut *tx).await?.rows_affected();
                    // a tag given at creation (form, import) fires workflows too (W3)
                    let triggers = TagTriggers::of(tag.as_str(), &active);
                    triggers::check_tag_triggers(&triggers, tag.as_str(), added, by)?;
                    if let Some(mut q) = triggers::enqueue_tag_triggers::<DB>(account, tag.as_str(), now, &[id], &triggers, by) {
                        q.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(id)
            }
            .await
        });
        match result {
            Ok(id) => {
                if !c.tags.is_empty() {
                    self.signal_work();
                }
                Ok(ContactId(id))
            }
            Err(RepoError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => Err(RepoError::Conflict(format!(
                "A contact with the email {} already exists.",
                c.email.as_ref().map(|e| e.as_str()).unwrap_or("")
            ))),
            Err(e) => Err(e),
        }
    }

    /// Tags the selection's live contacts and queues the active workflows the tag
    /// triggers for them; returns the ids that did not have the tag. Refused, with
    /// nothing tagged, when a contact would pass [`MAX_TAGS_PER_CONTACT`] or when the tag
    /// would start deletions that `by` may not start (R1) or did not confirm (R5).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_tag(&self, account: AccountId, sel: &Selection, tag: &TagName, by: TagAuthority) -> RepoResult<Vec<ContactId>> {
        super::sql::retry_transient(|| self.add_tag_once(account, sel, tag, by)).await
    }

    async fn add_tag_once(&self, account: AccountId, sel: &Selection, tag: &TagName, by: TagAuthority) -> RepoResult<Vec<ContactId>> {
        let now = millis(self.now());
        let ids: Vec<i64> = on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            // contacts that would get one tag too many
            let mut qb = QueryBuilder::<DB>::new("select count(*) from contacts c where ");
            push_live_selection(&mut qb, account, sel);
            qb.push(" and not exists (select 1 from contact_tags x where x.contact_id = c.id and x.tag = ")
                .push_bind(tag.as_str().to_string())
                .push(") and (select count(*) from contact_tags x where x.contact_id = c.id) >= ")
                .push_bind(MAX_TAGS_PER_CONTACT as i64);
            let full: i64 = qb.build_query_scalar().fetch_one(&mut *tx).await?;
            if full > 0 {
                return Err(crate::domain::InvalidInput(format!(
                    "{} already {} {MAX_TAGS_PER_CONTACT} tags, the most a contact can have. Remove some tags first; nothing was tagged.",
                    crate::domain::plural(full, "selected contact", "selected contacts"),
                    if full == 1 { "has" } else { "have" },
                ))
                .into());
            }
            let mut qb = QueryBuilder::<DB>::new("insert into contact_tags (contact_id, tag, account_id, created_at) select c.id, ");
            qb.push_bind(tag.as_str().to_string())
                .push(", c.account_id, ")
                .push_bind(now)
                .push(" from contacts c where ");
            push_live_selection(&mut qb, account, sel);
            qb.push(" on conflict do nothing returning contact_id");
            let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
            // what the tag starts, checked in the transaction that adds it: returning
            // early rolls the tags back
            let rows = sqlx::query_as(triggers::ACTIVE_WORKFLOWS).bind(account.0).fetch_all(&mut *tx).await?;
            let triggers = TagTriggers::of(tag.as_str(), &triggers::active_workflows(rows)?);
            triggers::check_tag_triggers(&triggers, tag.as_str(), ids.len() as u64, by)?;
            // the account's tag list gains the name only when a contact got the tag: a
            // selection of nothing (unknown ids, another account's) changes nothing
            if !ids.is_empty() {
                sqlx::query("insert into tags (account_id, name) values ($1, $2) on conflict do nothing")
                    .bind(account.0)
                    .bind(tag.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            // queue the workflows this tag triggers, in the same transaction (W3)
            for chunk in ids.chunks(triggers::ENQUEUE_CHUNK) {
                if let Some(mut q) = triggers::enqueue_tag_triggers::<DB>(account, tag.as_str(), now, chunk, &triggers, by) {
                    q.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            ids
        });
        if !ids.is_empty() {
            self.signal_work();
        }
        Ok(ids.into_iter().map(ContactId).collect())
    }

    /// Removes a tag from the listed live contacts (a workflow's "Remove tag").
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remove_tag_from(&self, account: AccountId, ids: &[ContactId], tag: &TagName) -> RepoResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("delete from contact_tags where account_id = ");
            qb.push_bind(account.0).push(" and tag = ").push_bind(tag.as_str().to_string()).push(" and contact_id in (");
            push_id_list(&mut qb, ids);
            qb.push(")");
            qb.build().execute(pool).await?.rows_affected()
        }))
    }

    /// Removes a tag from a live contact; false if it did not have it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remove_tag(&self, account: AccountId, contact: ContactId, tag: &TagName) -> RepoResult<bool> {
        let n = on_db!(self, |pool, DB| {
            sqlx::query(
                "delete from contact_tags where account_id = $1 and contact_id = $2 and tag = $3
                 and contact_id in (select id from contacts where id = $2 and deleted_at is null)",
            )
            .bind(account.0)
            .bind(contact.0)
            .bind(tag.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The account's tag names, for the filter and pickers.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_tags(&self, account: AccountId) -> RepoResult<Vec<String>> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query_scalar("select name from tags where account_id = $1 order by name limit 500")
                .bind(account.0)
                .fetch_all(pool)
                .await?
        }))
    }
}
