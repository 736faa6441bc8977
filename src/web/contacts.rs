//! The contacts list (U1–U3), the delete modal and deletion (U4, U5, R1, R5, R6), the
//! contact page (U7), creating contacts and tagging.

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::fragments::{alert_html, alert_in_place, contacts_changed, Htmx};
use super::page::{plural, render, render_status, see_other, thousands, PageCtx};
use super::session::{AdminUser, CurrentUser, Flash, TypedSession};
use crate::domain::{
    Actor, ContactFilter, ContactId, CountConfirmation, DeleteConfirmation, ListOrder, NewContact, Selection, SortColumn, TagAuthority,
    DeleteReason, TagName, UserZone, When,
};
use crate::repo::{ContactDetail, ContactRow, Cursor, DeletedSummary, DeletionImpact, DeletionOutcome, DeletionReport, JobId, PageRequest, Repo, RepoError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, SecondsFormat, Utc};

pub struct RowView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub tags: Vec<String>,
    pub created: When,
}

/// The tag chips a row of the list shows before it folds the rest into "+N".
pub const TAG_CHIPS: usize = 3;

impl RowView {
    /// The tags the list shows as chips: all of them when they fit, else the first few.
    pub fn tags_shown(&self) -> &[String] {
        if self.tags.len() <= TAG_CHIPS + 1 {
            &self.tags
        } else {
            &self.tags[..TAG_CHIPS]
        }
    }

    /// The tags folded into the "+N" chip (never just one: a chip of its own fits).
    pub fn tags_more(&self) -> &[String] {
        &self.tags[self.tags_shown().len()..]
    }

    pub fn tags_more_text(&self) -> String {
        self.tags_more().join(", ")
    }
}

impl RowView {
    /// A row of the list, its date read in `zone`.
    pub fn new(r: ContactRow, zone: UserZone) -> Self {
        RowView {
            id: r.id,
            name: r.display_name(),
            email: r.email.clone().unwrap_or_default(),
            phone: r.phone.clone().unwrap_or_default(),
            company: r.company.clone().unwrap_or_default(),
            created: zone.date(r.created()),
            tags: r.tags,
        }
    }
}

/// The swappable part of the list: rows, counts, pagination and the moment it was read.
pub struct ListView {
    pub rows: Vec<RowView>,
    /// The number of matches, when the page knows it (see [`load_list`]).
    pub total: Option<i64>,
    /// "25,000 contacts match this search", "120 contacts in this account", or that a
    /// search's matches are being counted.
    pub total_text: String,
    /// "50 shown of 25,000 contacts", or "50 shown".
    pub shown_text: String,
    /// Where a search's exact count is loaded from once the rows are shown.
    pub count_url: Option<String>,
    pub q: String,
    pub tag: String,
    pub size: u32,
    pub as_of: String,
    pub filtered: bool,
    pub first_url: Option<String>,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    pub last_url: Option<String>,
    /// The `sort` field as asked for ("" for the default), kept by the search form.
    pub sort: String,
    /// "Sorted by created, newest first".
    pub order_text: String,
    pub headers: Vec<SortHeader>,
    /// What an empty page says, and the way out it offers.
    pub empty: Option<EmptyState>,
}

/// A column header of the list: a link that sorts by the column (or turns its order
/// around), with an arrow and `aria-sort` on the column the list is sorted by.
pub struct SortHeader {
    pub label: &'static str,
    /// None where the column cannot be sorted now (a search keeps its own order).
    pub url: Option<String>,
    /// `ascending` or `descending` on the sorted column.
    pub aria_sort: Option<&'static str>,
    pub arrow: &'static str,
    /// What a click does, for the link's accessible name: "sort by name, Z to A".
    pub action: String,
}

/// The message of a list with no rows: a filter that matches nothing, an account whose
/// contacts were all deleted, or one that never had any.
pub struct EmptyState {
    pub kind: &'static str,
    pub title: String,
    pub lines: Vec<String>,
    /// (label, href, primary)
    pub links: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    page: PageCtx,
    list: ListView,
    tags: Vec<String>,
    sizes: Vec<u32>,
}

#[derive(Template)]
#[template(path = "_contacts_results.html")]
struct ContactsResults {
    list: ListView,
}

/// The query string of a search and tag filter, the empty ones left out.
fn filter_query(q: &str, tag: &str) -> form_urlencoded::Serializer<'static, String> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        s.append_pair("q", q);
    }
    if !tag.is_empty() {
        s.append_pair("tag", tag);
    }
    s
}

fn list_url(q: &str, tag: &str, order: ListOrder, size: u32, cursor: &str) -> String {
    let mut s = filter_query(q, tag);
    if !order.is_default() {
        s.append_pair("sort", &order.param());
    }
    if size != 50 {
        s.append_pair("size", &size.to_string());
    }
    let mut qs = s.finish();
    if !cursor.is_empty() {
        if !qs.is_empty() {
            qs.push('&');
        }
        qs.push_str(cursor);
    }
    if qs.is_empty() {
        "/contacts".into()
    } else {
        format!("/contacts?{qs}")
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn load_list(repo: &Repo, user: &crate::repo::UserInfo, f: &Fields) -> WebResult<ListView> {
    let account = user.account_id;
    let filter = f.filter()?;
    let asked = ListOrder::parse(f.get("sort"))?;
    let size = match f.get("size").map(str::parse::<u32>) {
        None => 50,
        Some(Ok(n)) if PageRequest::SIZES.contains(&n) => n,
        Some(_) => return Err(AppError::BadRequest("Choose a page size of 25, 50, 100 or 200.".into())),
    };
    let cursor = if let Some(a) = f.get("after") {
        Cursor::After(ContactId::parse(a)?)
    } else if let Some(b) = f.get("before") {
        Cursor::Before(ContactId::parse(b)?)
    } else if f.flag("last") {
        Cursor::Last
    } else {
        Cursor::First
    };
    let as_of = repo.now();
    let page = repo.list_contacts_in_order(account, &filter, PageRequest { cursor, size }, asked).await?;
    let order = page.order;
    // Without a search the account's counters give the exact count at once. A search's
    // count reads every match (milliseconds for a common word at a million contacts):
    // unless this page holds them all, the page shows its rows first and loads the count
    // from `GET /contacts/count`.
    let total = if filter.q.is_none() {
        Some(repo.count_contacts(account, &filter).await?)
    } else if cursor == Cursor::First && !page.has_next {
        Some(page.contacts.len() as i64)
    } else {
        None
    };
    let q = f.get("q").unwrap_or("").trim().to_string();
    let tag = filter.tag.as_ref().map(|t| t.as_str().to_string()).unwrap_or_default();
    // the pager keeps the order the page is in
    let url = |c: &str| list_url(&q, &tag, order, size, c);
    let shown = thousands(page.contacts.len() as i64);
    let filtered = !filter.is_empty();
    let searching = filter.q.is_some();
    let empty = if page.contacts.is_empty() {
        Some(empty_state(repo, user, &filter, &q, total, list_url("", "", asked, size, ""), url("")).await?)
    } else {
        None
    };
    let view = ListView {
        first_url: page.has_prev.then(|| url("")),
        prev_url: page.first_id().filter(|_| page.has_prev).map(|id| url(&format!("before={id}"))),
        next_url: page.last_id().filter(|_| page.has_next).map(|id| url(&format!("after={id}"))),
        last_url: page.has_next.then(|| url("last=1")),
        rows: page.contacts.into_iter().map(|r| RowView::new(r, user.zone)).collect(),
        total,
        total_text: match total {
            Some(n) => total_text(n, filtered),
            None => "Counting the contacts that match this search…".into(),
        },
        shown_text: match total {
            Some(n) => format!("{shown} shown of {}", plural(n, "contact", "contacts")),
            None => format!("{shown} shown"),
        },
        count_url: total.is_none().then(|| count_url(&q, &tag)),
        filtered,
        sort: if asked.is_default() { String::new() } else { asked.param() },
        order_text: if searching {
            format!("Search results are sorted by {} (the order of the search index).", order.describe())
        } else {
            format!("Sorted by {}.", order.describe())
        },
        headers: sort_headers(order, searching, |o| list_url(&q, &tag, o, size, "")),
        empty,
        q,
        tag,
        size,
        as_of: rfc3339(as_of),
    };
    Ok(view)
}

/// The sortable headers of the list in `order`. A search lists its matches by created
/// only: the other columns are plain headers then.
fn sort_headers(order: ListOrder, searching: bool, url: impl Fn(ListOrder) -> String) -> Vec<SortHeader> {
    [("Name", SortColumn::Name), ("Email", SortColumn::Email), ("Company", SortColumn::Company), ("Created", SortColumn::Created)]
        .into_iter()
        .map(|(label, column)| {
            let sorted = order.column == column;
            let next = order.toggled_to(column);
            let sortable = !searching || column == SortColumn::Created;
            SortHeader {
                label,
                url: sortable.then(|| url(next)),
                aria_sort: sorted.then_some(if order.descending { "descending" } else { "ascending" }),
                arrow: match (sorted, order.descending) {
                    (true, false) => "▲",
                    (true, true) => "▼",
                    (false, _) => "",
                },
                action: format!("sort by {}", next.describe()),
            }
        })
        .collect()
}


/// What an empty page of the list says. `clear_url` is the list without its filter,
/// `first_url` the first page of the same list.
async fn empty_state(
    repo: &Repo,
    user: &crate::repo::UserInfo,
    filter: &ContactFilter,
    q: &str,
    total: Option<i64>,
    clear_url: String,
    first_url: String,
) -> WebResult<EmptyState> {
    if !filter.is_empty() {
        let tag = filter.tag.as_ref().map(|t| t.as_str());
        let (title, line, clear) = match (q.is_empty(), tag) {
            (false, None) => ("No contacts match this search.", format!("Nothing matches “{q}”."), "Clear the search"),
            (false, Some(t)) => (
                "No contacts match this search.",
                format!("No contact tagged “{t}” matches “{q}”."),
                "Clear the search and tag filter",
            ),
            (true, Some(t)) => ("No contacts match this filter.", format!("No contact has the tag “{t}”."), "Clear the tag filter"),
            (true, None) => ("No contacts match this filter.", String::new(), "Clear the filter"),
        };
        return Ok(EmptyState {
            kind: "filtered",
            title: title.into(),
            lines: vec![line],
            links: vec![(clear.into(), clear_url, true)],
        });
    }
    if total.unwrap_or(0) > 0 {
        // a stale or hand-made cursor past the end of the list
        return Ok(EmptyState {
            kind: "past-end",
            title: "No contacts on this page.".into(),
            lines: vec![],
            links: vec![("Go to the first page".into(), first_url, true)],
        });
    }
    let s = repo.deleted_summary(user.account_id).await?;
    if s.deleted == 0 {
        return Ok(EmptyState {
            kind: "no-contacts",
            title: "This account has no contacts yet.".into(),
            lines: vec!["Add contacts one by one, or import them from a CSV file.".into()],
            links: vec![("Add contact".into(), "/contacts/new".into(), true), ("Import contacts".into(), "/contacts/import".into(), false)],
        });
    }
    Ok(all_deleted_state(&s, user.role.is_admin(), |t| user.zone.date(t).text().to_string()))
}

/// "All 20,000 contacts were deleted on Dec 3, 2026", with what can still be restored
/// and, for an admin, the way to Restore and to the Bulk actions page.
fn all_deleted_state(s: &DeletedSummary, admin: bool, day: impl Fn(DateTime<Utc>) -> String) -> EmptyState {
    let when = match (s.first_deleted_at, s.last_deleted_at) {
        (Some(a), Some(b)) if day(a) != day(b) => format!("between {} and {}", day(a), day(b)),
        (_, Some(b)) => format!("on {}", day(b)),
        _ => String::new(),
    };
    let one = s.deleted == 1;
    let title = if one {
        format!("This account's only contact was deleted {when}.")
    } else {
        format!("All {} contacts were deleted {when}.", thousands(s.deleted))
    };
    let closes = s.first_restorable_at.map(|t| day(crate::domain::restore_window::closes_at(t)));
    let mut lines = Vec::new();
    if s.restorable == 0 {
        lines.push(format!(
            "{} past the 60-day restore window and can no longer be restored.",
            if one { "It is" } else { "They are" }
        ));
    } else if s.restorable == s.deleted {
        let first = if one || s.first_deleted_at.map(&day) == s.last_deleted_at.map(&day) { "" } else { " the first of them" };
        lines.push(match &closes {
            Some(c) => format!("{} can be restored for 60 days after deletion: until {c}{first}.", if one { "It" } else { "They" }),
            None => "They can be restored for 60 days after deletion.".into(),
        });
    } else {
        lines.push(format!(
            "{} of them can still be restored{}; the others are past the 60-day window.",
            thousands(s.restorable),
            closes.as_ref().map(|c| format!(" (the first until {c})")).unwrap_or_default()
        ));
    }
    let mut links = Vec::new();
    if admin {
        if s.restorable > 0 {
            links.push(("Restore deleted contacts".to_string(), "/contacts/restore".to_string(), true));
        }
        links.push(("Bulk actions".into(), "/bulk-actions".into(), false));
    } else if s.restorable > 0 {
        lines.push(format!("An admin of this account can restore {} from the Restore page.", if one { "it" } else { "them" }));
    }
    links.push(("Add contact".into(), "/contacts/new".into(), false));
    EmptyState { kind: "all-deleted", title, lines, links }
}

/// "3 contacts match this search", "120 contacts in this account".
fn total_text(n: i64, filtered: bool) -> String {
    format!("{} {}", plural(n, "contact", "contacts"), if filtered { if n == 1 { "matches this search" } else { "match this search" } } else { "in this account" })
}

fn count_url(q: &str, tag: &str) -> String {
    format!("/contacts/count?{}", filter_query(q, tag).finish())
}

#[derive(Template)]
#[template(path = "_contacts_count.html")]
struct ContactsCount {
    total: i64,
    /// "25,000 contacts match this search"
    total_text: String,
    /// "25,000 contacts"
    count_text: String,
}

/// `GET /contacts/count` (`q`, `tag`): the exact number of live contacts matching a
/// search, as data the list page's script reads into its header, pager and select-all
/// banner (U2). A search's page loads it after showing its rows.
pub async fn count(CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let filter = f.filter()?;
    let total = repo.count_contacts(user.account_id, &filter).await?;
    render(&ContactsCount { total, total_text: total_text(total, !filter.is_empty()), count_text: plural(total, "contact", "contacts") })
}

/// `GET /contacts`: the page, or only its results for htmx (search as you type,
/// pagination, refresh after a bulk action).
pub async fn list(htmx: Htmx, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let list = load_list(&repo, &user, &f).await?;
    if htmx.wants_fragment() {
        return render(&ContactsResults { list });
    }
    let page = PageCtx::new(&session, &user, "contacts", "Contacts")?;
    let tags = repo.account_tags(user.account_id).await?;
    render(&ContactsPage { page, list, tags, sizes: PageRequest::SIZES.to_vec() })
}

pub struct ImpactLine {
    pub label: String,
    pub count: String,
    /// The line asks to download the contacts' data first (a link to their full record).
    pub download_first: bool,
}

#[derive(Template)]
#[template(path = "_delete_dialog.html")]
struct DeleteDialog {
    count: i64,
    count_text: String,
    /// "Delete Ana Li?" for one contact, "Delete 20,000 contacts?" for more.
    subject: String,
    /// "This deletes every contact in Big: 20,000", when it does: the count must be
    /// typed as well as DELETE.
    everything: Option<String>,
    removed: Vec<ImpactLine>,
    anything_removed: bool,
    warnings: Vec<ImpactLine>,
    hidden: Vec<(String, String)>,
    origin: String,
    /// The same selection as a query string, for the full record's download link.
    export_query: String,
}

pub(crate) fn impact_lines(i: &DeletionImpact) -> (Vec<ImpactLine>, Vec<ImpactLine>) {
    let line = |n: i64, one: &str, many: &str| ImpactLine { label: if n == 1 { one.into() } else { many.into() }, count: thousands(n), download_first: false };
    let removed = vec![
        line(i.conversations, "conversation", "conversations"),
        line(i.messages, "message", "messages"),
        line(i.notes, "note", "notes"),
        line(i.tasks, "task", "tasks"),
        line(i.appointments, "appointment", "appointments"),
        line(i.opportunities, "opportunity", "opportunities"),
        line(i.manual_actions, "manual action", "manual actions"),
        line(i.activities, "activity history entry", "activity history entries"),
        line(i.files, "attached file or signed document", "attached files and signed documents"),
        line(i.list_memberships, "list membership", "list memberships"),
        line(i.group_ownerships, "community group ownership (the group stays)", "community group ownerships (the groups stay)"),
    ];
    let mut warnings = Vec::new();
    let mut warn = |n: i64, one: &str, many: &str| {
        if n > 0 {
            warnings.push(line(n, one, many));
        }
    };
    warn(i.open_opportunities, "open opportunity", "open opportunities");
    warn(i.upcoming_appointments, "upcoming appointment", "upcoming appointments");
    warn(i.files, "attached file", "attached files");
    warn(i.active_enrollments, "active campaign or workflow enrollment will stop", "active campaign or workflow enrollments will stop");
    warn(i.worked_on_by_others, "contact another user worked on in the last 7 days", "contacts other users worked on in the last 7 days");
    // the files line links to the full record, which holds the files themselves
    for w in warnings.iter_mut().filter(|w| w.label.starts_with("attached file")) {
        w.download_first = true;
    }
    (removed, warnings)
}

/// The selection as hidden form fields, to carry it from the preview into the delete.
fn selection_fields(sel: &Selection) -> Vec<(String, String)> {
    match sel {
        Selection::Ids(ids) => ids.iter().map(|id| ("ids".to_string(), id.to_string())).collect(),
        Selection::AllMatching { filter, as_of, exclude } => {
            let mut v = vec![("select_all".to_string(), "true".to_string()), ("as_of".to_string(), rfc3339(*as_of))];
            if let Some(q) = &filter.q {
                v.push(("q".into(), q.clone()));
            }
            if let Some(t) = &filter.tag {
                v.push(("tag".into(), t.as_str().into()));
            }
            v.extend(exclude.iter().map(|id| ("exclude".to_string(), id.to_string())));
            v
        }
    }
}

/// The selection as a query string ("?ids=1&ids=2", "?select_all=true&as_of=…").
fn selection_query(sel: &Selection) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in selection_fields(sel) {
        q.append_pair(&k, &v);
    }
    format!("?{}", q.finish())
}

/// `GET /contacts/delete-preview`: the body of the delete modal, with the counts of
/// what will be removed and the pre-delete warnings (U4). Admins only.
pub async fn delete_preview(AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let sel = f.selection(None)?;
    let impact = repo.deletion_impact(user.account_id, &sel, Some(user.id)).await?;
    if impact.contacts == 0 {
        return Err(AppError::BadRequest("None of the selected contacts exist any more in this account; nothing to delete.".into()));
    }
    let (removed, warnings) = impact_lines(&impact);
    let count_text = plural(impact.contacts, "contact", "contacts");
    let subject = match impact.contacts {
        1 => repo.selection_page(user.account_id, &sel, 0, 1).await?.first().map_or_else(|| count_text.clone(), ContactRow::display_name),
        _ => count_text.clone(),
    };
    let everything = deletes_everything(&repo, user.account_id, impact.contacts)
        .await?
        .then(|| format!("This deletes every contact in {}: {}", user.account_name, thousands(impact.contacts)));
    render(&DeleteDialog {
        count: impact.contacts,
        count_text,
        subject,
        everything,
        anything_removed: removed.iter().any(|l| l.count != "0"),
        removed,
        warnings,
        export_query: selection_query(&sel),
        hidden: selection_fields(&sel),
        origin: f.get("origin").filter(|o| *o == "contact").unwrap_or("list").to_string(),
    })
}

/// True when deleting `count` contacts leaves the account with none (and that is more
/// than one contact): the dialog and the server then ask for the count to be typed.
async fn deletes_everything(repo: &Repo, account: crate::domain::AccountId, count: i64) -> WebResult<bool> {
    Ok(count > 1 && count >= repo.count_contacts(account, &ContactFilter::default()).await?)
}

/// The count typed (`confirm_count`) for a deletion of every contact in the account,
/// checked against the `count` contacts left and those deleted since the admin looked.
async fn count_confirmation(
    repo: &Repo,
    user: &crate::repo::UserInfo,
    sel: &Selection,
    count: i64,
    f: &Fields,
) -> WebResult<Result<CountConfirmation, crate::domain::InvalidInput>> {
    let deleted_since = match sel {
        Selection::AllMatching { as_of, .. } => repo.count_deleted_since(user.account_id, *as_of).await?,
        Selection::Ids(_) => 0,
    };
    Ok(CountConfirmation::parse(f.get("confirm_count"), count, deleted_since, &user.account_name))
}

/// A delete form that passed its checks (R1, R5, R6): the typed DELETE, a readable
/// reason, a selection of this account's contacts as of now that holds some, and for
/// every contact of the account the typed count.
pub(crate) struct CheckedDelete {
    pub(crate) confirmed: DeleteConfirmation,
    pub(crate) sel: Selection,
    pub(crate) reason: Option<DeleteReason>,
    pub(crate) count: i64,
    /// Sent from a contact's page, which reloads: the list's alert is not there.
    from_contact_page: bool,
}

impl CheckedDelete {
    pub(crate) async fn from_form(repo: &Repo, user: &crate::repo::UserInfo, f: &Fields) -> WebResult<Self> {
        let confirmed = DeleteConfirmation::parse(f.get("confirm").unwrap_or(""))?;
        let sel = f.selection(None)?.not_after(repo.now());
        let reason = DeleteReason::parse(f.get("reason"))?;
        let count = repo.count_selection(user.account_id, &sel).await?;
        if count == 0 {
            return Err(nothing_to_delete());
        }
        if deletes_everything(repo, user.account_id, count).await? {
            count_confirmation(repo, user, &sel, count, f).await??;
        }
        Ok(CheckedDelete { confirmed, sel, reason, count, from_contact_page: f.get("origin") == Some("contact") })
    }
}

/// `POST /contacts/delete` (R1, R5, R6): admins only; the confirmation must read
/// `DELETE` (and, for every contact of the account, the count); ids must be this
/// account's; then the repository deletes and audits, or queues a background job.
pub async fn delete(
    htmx: Htmx,
    session: TypedSession,
    AdminUser(user): AdminUser,
    repo: web::Data<Repo>,
    bulk: web::Data<crate::config::BulkSettings>,
    f: Fields,
) -> WebResult<HttpResponse> {
    let d = CheckedDelete::from_form(&repo, &user, &f).await?;
    let reason = d.reason.as_ref().map(DeleteReason::as_str);
    let in_place = htmx.request && !d.from_contact_page;
    match repo.delete_or_queue(user.account_id, Actor::ui(user.id), &d.sel, reason, d.confirmed, (d.count, bulk.threshold)).await? {
        DeletionOutcome::Deleted(report) if report.deleted == 0 => Err(nothing_to_delete()),
        DeletionOutcome::Deleted(report) if in_place => alert_in_place(&session, deleted_flash(&report)),
        DeletionOutcome::Deleted(report) => {
            session.flash(deleted_flash(&report));
            Ok(htmx.redirect("/contacts"))
        }
        DeletionOutcome::Queued { job, count } if in_place => {
            Ok(contacts_changed(StatusCode::ACCEPTED, queued_alert(&repo, &session, &user, job, count).await?))
        }
        DeletionOutcome::Queued { count, .. } => {
            session.flash(queued_flash(count));
            Ok(see_other("/bulk-actions"))
        }
    }
}

fn deleted_flash(report: &DeletionReport) -> Flash {
    Flash::success(format!(
        "Deleted {}. You can restore them for 60 days; their conversations, notes, tasks and other data are gone for good.",
        plural(report.deleted as i64, "contact", "contacts")
    ))
    .with_post_action("Undo: restore this deletion", format!("/batches/{}/restore", report.batch))
}

fn queued_flash(count: i64) -> Flash {
    Flash::success(format!(
        "Deleting {} in the background. You can follow it here or on the Bulk actions page; contacts it deletes can be restored for 60 days.",
        plural(count, "contact", "contacts")
    ))
    .with_link("Open Bulk actions", "/bulk-actions")
}

/// The alert of a queued deletion: one message that follows the job, then says what it
/// did (_job_progress.html).
async fn queued_alert(repo: &Repo, session: &TypedSession, user: &crate::repo::UserInfo, job: JobId, count: i64) -> WebResult<String> {
    match repo.bulk_job(user.account_id, job).await? {
        Some(j) => Ok(super::bulk::ProgressFragment { job: super::bulk::JobView::new(&j, user.zone), alert: true, csrf: session.csrf_token()? }.render()?),
        None => alert_html(session, queued_flash(count)),
    }
}

pub(crate) fn nothing_to_delete() -> AppError {
    AppError::NotFound("None of the selected contacts could be deleted: they are already deleted or do not belong to this account.".into())
}

/// The typed DELETE a tagging form may carry: absent or empty when the person has not
/// been asked for it; anything else must read exactly DELETE (R5).
fn tag_confirmation(f: &Fields) -> WebResult<Option<DeleteConfirmation>> {
    Ok(f.get("confirm").filter(|c| !c.is_empty()).map(DeleteConfirmation::parse).transpose()?)
}

/// What an admin reads before a tag that starts workflows that delete: the message,
/// and the typed DELETE that sends the same request again.
struct TagConfirm {
    message: String,
    csrf: String,
    hidden: Vec<(String, String)>,
    /// Where the form posts; none when the page's script sends it (bulk Add tag).
    action: Option<String>,
    /// Where Cancel leads; none inside a dialog.
    cancel: Option<String>,
    export_query: String,
    /// The tag deletes every contact of the account: their count (and as written), typed
    /// as well.
    everything: Option<(i64, String)>,
    account: String,
}

/// The form alone, for the dialog of bulk Add tag.
#[derive(Template)]
#[template(path = "_tag_confirm.html")]
struct TagConfirmFragment {
    form: TagConfirm,
}

/// The form on a page of its own, for a tag added on a contact's page.
#[derive(Template)]
#[template(path = "tag_confirm.html")]
struct TagConfirmPage {
    page: PageCtx,
    form: TagConfirm,
}

/// Tells, after a tag that started deletions, where they can be undone.
async fn deleting_note(repo: &Repo, user: &crate::repo::UserInfo, tag: &TagName, confirmed: bool) -> WebResult<Option<String>> {
    if !confirmed {
        return Ok(None);
    }
    let t = repo.tag_triggers(user.account_id, tag.as_str()).await?;
    Ok((!t.deleting.is_empty()).then(|| {
        let verb = if t.deleting.len() == 1 { "is" } else { "are" };
        format!(" {} {verb} deleting them: they can be restored for 60 days.", t.deleting_names())
    }))
}

/// `POST /contacts/tags`: bulk Add tag for the selection (select-all included). A tag
/// that starts workflows that delete needs an admin and the typed DELETE (R1, R5).
pub async fn bulk_tag(htmx: Htmx, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let tag = TagName::parse(f.get("tag_name").unwrap_or(""))?;
    let sel = f.selection(None)?.not_after(repo.now());
    let confirm = tag_confirmation(&f)?;
    // A tag that deletes, added to every contact, deletes every contact: an admin types
    // the count as for the delete dialog.
    let everything = match user.role.is_admin() && !repo.tag_triggers(user.account_id, tag.as_str()).await?.deleting.is_empty() {
        true => {
            let count = repo.count_selection(user.account_id, &sel).await?;
            deletes_everything(&repo, user.account_id, count).await?.then_some(count)
        }
        false => None,
    };
    let ask = |message: String| -> WebResult<HttpResponse> {
        let form = TagConfirm {
            message,
            csrf: session.csrf_token()?,
            hidden: Vec::new(),
            action: None,
            cancel: None,
            export_query: f.selection_query(),
            everything: everything.map(|n| (n, thousands(n))),
            account: user.account_name.clone(),
        };
        render_status(StatusCode::CONFLICT, &TagConfirmFragment { form })
    };
    if let (Some(count), Some(_)) = (everything, confirm) {
        if let Err(refused) = count_confirmation(&repo, &user, &sel, count, &f).await? {
            return ask(refused.0);
        }
    }
    let by = TagAuthority::person(user.id, user.role, confirm);
    let tagged = match repo.add_tag(user.account_id, &sel, &tag, by).await {
        Err(RepoError::ConfirmationRequired(message)) => return ask(message),
        other => other?,
    };
    let note = deleting_note(&repo, &user, &tag, by.may_start_deletions() && !tagged.is_empty()).await?;
    let mut flash = Flash::success(format!(
        "Tagged {} “{}”.{}",
        plural(tagged.len() as i64, "contact", "contacts"),
        tag.as_str(),
        note.as_deref().unwrap_or("")
    ));
    if note.is_some() {
        flash = flash.with_link("Open Restore", "/contacts/restore");
    }
    if htmx.request {
        return alert_in_place(&session, flash);
    }
    session.flash(flash);
    Ok(see_other("/contacts"))
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPageTpl {
    page: PageCtx,
    c: RowView,
    d: ContactDetail,
    recent_others: Vec<(String, String)>,
    tags: Vec<String>,
    now_ms: i64,
}

impl ContactPageTpl {
    fn date(&self, ms: &i64) -> When {
        self.page.user.zone.minute(crate::repo::from_millis(*ms))
    }
    fn money(&self, cents: &i64) -> String {
        format!("${}", thousands(cents / 100))
    }
    fn opt_date(&self, ms: &Option<i64>) -> Option<When> {
        ms.map(|m| self.date(&m))
    }
    fn contact_initial(&self) -> String {
        self.c.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()
    }
    fn open_opportunities(&self) -> usize {
        self.d.opportunities.iter().filter(|o| o.is_open()).count()
    }
    fn upcoming_appointments(&self) -> usize {
        self.d.appointments.iter().filter(|a| a.is_upcoming(self.now_ms)).count()
    }
    fn active_enrollments(&self) -> usize {
        self.d.enrollments.iter().filter(|e| e.is_active()).count()
    }
}

fn parse_contact_id(raw: &str) -> WebResult<ContactId> {
    ContactId::parse(raw).map_err(|_| AppError::NotFound("There is no such contact in this account.".into()))
}

/// `GET /contacts/{id}` (U7).
pub async fn show(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let id = parse_contact_id(&path)?;
    let Some(d) = repo.contact_detail(user.account_id, id).await? else {
        return deleted_contact_page(&session, &user, &repo, id).await;
    };
    let c = d.contact.clone().map(|r| RowView::new(r, user.zone)).ok_or_else(|| AppError::NotFound("No such contact.".into()))?;
    let week_ago = repo.now() - chrono::Duration::days(7);
    let mut recent_others: Vec<(String, String)> = Vec::new();
    for x in &d.activities {
        if let Some(who) = &x.author {
            if *who != user.name && crate::repo::from_millis(x.created_at) >= week_ago && !recent_others.iter().any(|(w, _)| w == who) {
                recent_others.push((who.clone(), x.summary.clone()));
            }
        }
    }
    let page = PageCtx::new(&session, &user, "contacts", c.name.clone())?;
    let tags = repo.account_tags(user.account_id).await?;
    let now_ms = repo.now().timestamp_millis();
    render(&ContactPageTpl { page, c, d, recent_others, tags, now_ms })
}

#[derive(Template)]
#[template(path = "contact_deleted.html")]
struct DeletedContactPage {
    page: PageCtx,
    id: i64,
    name: String,
    email: String,
    deleted: When,
    by: String,
    triggered_by: Option<String>,
    reason: Option<String>,
    days_left: String,
    restorable: bool,
    batch: Option<i64>,
    /// The deletion that removed it, by its name.
    deletion: Option<String>,
}

/// A deleted contact's page, for an admin (R11): who deleted it, when and why, and
/// Restore while its window is open. Others get the 404 of a contact that is gone.
async fn deleted_contact_page(session: &TypedSession, user: &crate::repo::UserInfo, repo: &Repo, id: ContactId) -> WebResult<HttpResponse> {
    let gone = || AppError::NotFound("There is no such contact in this account. It may have been deleted.".into());
    if !user.role.is_admin() {
        return Err(gone());
    }
    let d = repo.deleted_contact(user.account_id, id).await?.ok_or_else(gone)?;
    let deletion = match d.contact.deletion_batch_id {
        Some(b) => repo.deletion_names(user.account_id, &[b]).await?.remove(&b).map(|s| s.name().in_zone(user.zone).long()),
        None => None,
    };
    let now = repo.now();
    let c = &d.contact;
    let page = PageCtx::new(session, user, "contacts", format!("{} (deleted)", c.display_name()))?;
    render(&DeletedContactPage {
        page,
        id: c.id,
        name: c.display_name(),
        email: c.email.clone().unwrap_or_default(),
        deleted: user.zone.minute(c.deleted()),
        by: c.deleted_by(),
        triggered_by: d.triggered_by_name.clone().map(|n| format!("{n}, by adding the workflow's tag")),
        reason: d.reason.clone(),
        days_left: c.days_left(now).to_string(),
        restorable: crate::domain::restore_window::is_restorable(c.deleted(), now),
        batch: c.deletion_batch_id,
        deletion,
    })
}

/// `POST /contacts/{id}/tags`: add a tag to one contact; a tag that starts a workflow
/// that deletes asks an admin for the typed DELETE first (R1, R5).
pub async fn add_tag(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let id = parse_contact_id(&path)?;
    let tag = TagName::parse(f.get("tag_name").unwrap_or(""))?;
    if repo.get_contact(user.account_id, id).await?.is_none() {
        return Err(AppError::NotFound("There is no such contact in this account.".into()));
    }
    let confirm = tag_confirmation(&f)?;
    let by = TagAuthority::person(user.id, user.role, confirm);
    let tagged = match repo.add_tag(user.account_id, &Selection::ids(vec![id])?, &tag, by).await {
        Err(RepoError::ConfirmationRequired(message)) => {
            let page = PageCtx::new(&session, &user, "contacts", "Confirm: this tag deletes the contact")?;
            let form = TagConfirm {
                message,
                csrf: page.csrf.clone(),
                hidden: vec![("tag_name".into(), tag.as_str().to_string())],
                action: Some(format!("/contacts/{id}/tags")),
                cancel: Some(format!("/contacts/{id}")),
                export_query: format!("?ids={id}"),
                everything: None,
                account: page.user.account_name.clone(),
            };
            return render_status(StatusCode::CONFLICT, &TagConfirmPage { page, form });
        }
        other => other?,
    };
    let note = deleting_note(&repo, &user, &tag, by.may_start_deletions() && !tagged.is_empty()).await?;
    session.flash(if tagged.is_empty() {
        Flash::success(format!("The contact already had the tag “{}”.", tag.as_str()))
    } else {
        Flash::success(format!("Tag “{}” added.{}", tag.as_str(), note.as_deref().unwrap_or("")))
    });
    // the contact's page shows its deletion, and a Restore button, once the workflow ran
    Ok(see_other(&format!("/contacts/{id}")))
}

/// `POST /contacts/{id}/tags/remove`.
pub async fn remove_tag(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let id = parse_contact_id(&path)?;
    let tag = TagName::parse(f.get("tag_name").unwrap_or(""))?;
    if !repo.remove_tag(user.account_id, id, &tag).await? {
        return Err(AppError::NotFound("That contact does not have this tag, or is not in this account.".into()));
    }
    session.flash(Flash::success(format!("Tag “{}” removed.", tag.as_str())));
    Ok(see_other(&format!("/contacts/{id}")))
}

/// `GET /contacts/{id}/files/{file}`: download an attached file (U7's advice).
pub async fn download_file(path: web::Path<(String, String)>, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let (cid, fid) = path.into_inner();
    let id = parse_contact_id(&cid)?;
    let fid: i64 = fid.parse().map_err(|_| AppError::NotFound("No such file.".into()))?;
    let (name, content_type, bytes) = repo
        .contact_file(user.account_id, id, fid)
        .await?
        .ok_or_else(|| AppError::NotFound("No such file for this contact.".into()))?;
    let safe_name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{safe_name}\"")))
        .body(bytes))
}

#[derive(Template)]
#[template(path = "contact_new.html")]
struct NewContactPage {
    page: PageCtx,
    error: Option<String>,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    company: String,
    tags: String,
    /// The tags start a workflow that deletes: ask the admin for the typed DELETE.
    confirm_needed: bool,
}

/// `GET /contacts/new`.
pub async fn new_form(session: TypedSession, CurrentUser(user): CurrentUser) -> WebResult<HttpResponse> {
    let page = PageCtx::new(&session, &user, "contacts", "Add contact")?;
    render(&NewContactPage {
        page,
        error: None,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        phone: String::new(),
        company: String::new(),
        tags: String::new(),
        confirm_needed: false,
    })
}

pub(crate) fn parse_new_contact(f: &Fields) -> Result<NewContact, AppError> {
    let mut c = NewContact::parse(
        f.get("first_name").unwrap_or(""),
        f.get("last_name").unwrap_or(""),
        f.get("email").unwrap_or(""),
        f.get("phone").unwrap_or(""),
        f.get("company").unwrap_or(""),
    )?;
    for t in f.get("tags").unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        c.tags.push(TagName::parse(t)?);
    }
    Ok(c)
}

/// `POST /contacts`: create a contact; errors re-show the form with what was typed.
pub async fn create(session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let mut confirm_needed = false;
    let result = match parse_new_contact(&f) {
        Ok(c) => {
            let by = TagAuthority::person(user.id, user.role, tag_confirmation(&f)?);
            match repo.create_contact(user.account_id, &c, by).await {
                Err(RepoError::ConfirmationRequired(m)) => {
                    confirm_needed = true;
                    Err(AppError::Conflict(m))
                }
                other => other.map_err(AppError::from),
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => {
            session.flash(Flash::success("Contact added."));
            Ok(see_other(&format!("/contacts/{id}")))
        }
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = if matches!(e, AppError::Conflict(_)) { StatusCode::CONFLICT } else { StatusCode::BAD_REQUEST };
            let page = PageCtx::new(&session, &user, "contacts", "Add contact")?;
            let tpl = NewContactPage {
                page,
                error: Some(e.to_string()),
                first_name: f.get("first_name").unwrap_or("").into(),
                last_name: f.get("last_name").unwrap_or("").into(),
                email: f.get("email").unwrap_or("").into(),
                phone: f.get("phone").unwrap_or("").into(),
                company: f.get("company").unwrap_or("").into(),
                tags: f.get("tags").unwrap_or("").into(),
                confirm_needed,
            };
            render_status(status, &tpl)
        }
        Err(e) => Err(e),
    }
}

/// Used by the export to describe a filter in its file name.
pub fn filter_slug(f: &ContactFilter) -> &'static str {
    if f.is_empty() {
        "all"
    } else {
        "filtered"
    }
}
