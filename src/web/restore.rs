//! The Restore page (U6, R11): deleted contacts inside the 60-day window, restore by
//! ids or by batch (R8, R12) with conflicts per contact (R13), and erase now (R14).

use super::contacts::rfc3339;
use super::error::{AppError, WebResult};
use super::form::Fields;
use super::fragments::Htmx;
use crate::domain::{DeletedFilter, DeletedSort, DeletedSortKey, DeletedWithin, RestoreSelection, Selection};
use crate::repo::DeletedCursor;
use super::page::{plural, render, see_other, PageCtx};
use crate::domain::name_list;
use super::session::{AdminUser, Flash, TypedSession};
use crate::domain::{Actor, BatchId, DeleteConfirmation, UserZone, When};
use crate::config::BulkSettings;
use crate::repo::deletion::DEFAULT_CHUNK;
use crate::repo::{DeletedContact, DeletionSummary, QueuedRestore, Repo, RestoreConflict, RestoreReport};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct DeletedView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub deleted: When,
    pub by: String,
    pub days_left: String,
    pub urgent: bool,
    pub batch: Option<i64>,
    /// The short name of the deletion that removed it.
    pub deletion: String,
}

/// A sortable column's header: its link, and its state for the eye and for aria-sort.
pub struct SortHeader {
    pub label: &'static str,
    pub key: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none` (aria-sort).
    pub aria: &'static str,
    pub arrow: &'static str,
    /// What a click does, for screen readers.
    pub action: String,
}

pub struct FilterOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "restore.html")]
struct RestorePage {
    page: PageCtx,
    rows: Vec<DeletedView>,
    q: String,
    within: String,
    by: String,
    workflow: String,
    batch: String,
    sort: String,
    dir: String,
    withins: Vec<FilterOption>,
    people: Vec<FilterOption>,
    workflows: Vec<FilterOption>,
    deletions: Vec<FilterOption>,
    headers: Vec<SortHeader>,
    filtered: bool,
    /// Deleted contacts the filters keep, and the sentence saying so.
    total: i64,
    total_text: String,
    as_of: String,
    /// This page's address, where a restore from it comes back to.
    return_to: String,
    next_url: Option<String>,
    first_url: Option<String>,
}

/// The Restore page's filters from the query or form fields.
fn deleted_filter(f: &Fields) -> Result<DeletedFilter, AppError> {
    Ok(DeletedFilter::parse(f.get("q"), f.get("within"), f.get("by"), f.get("workflow"), f.get("batch"))?)
}

/// The page's own address with `params` (empty values left out).
fn restore_url(params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    let s = s.finish();
    if s.is_empty() { "/contacts/restore".to_string() } else { format!("/contacts/restore?{s}") }
}

fn options(values: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<FilterOption> {
    values.into_iter().map(|(value, label)| FilterOption { selected: value == current, value, label }).collect()
}

/// `GET /contacts/restore`: the deleted contacts the filters keep, in the chosen order,
/// a page at a time (U6).
pub async fn page(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let filter = deleted_filter(&f)?;
    let sort = DeletedSort::parse(f.get("sort"), f.get("dir"))?;
    let after = page_cursor(&f, sort)?;
    let now = repo.now();
    let account = user.account_id;
    let page_rows = repo.deleted_contacts(account, &filter, sort, after.as_ref(), 50).await?;
    let total = repo.count_deleted_matching(account, &filter).await?;
    let batch_ids: Vec<i64> = page_rows.contacts.iter().filter_map(|c| c.deletion_batch_id).collect();
    let names = repo.deletion_names(account, &batch_ids).await?;

    let q = f.get("q").unwrap_or("").trim().to_string();
    let within = filter.within.map(|w| w.as_str()).unwrap_or("").to_string();
    let by = filter.by.map(|u| u.to_string()).unwrap_or_default();
    let workflow = filter.workflow.map(|w| w.to_string()).unwrap_or_default();
    let batch = filter.batch.map(|b| b.to_string()).unwrap_or_default();
    let sort_key = sort.key.as_str();
    let dir = if sort.desc { "desc" } else { "asc" };
    let default_sort = sort == DeletedSort::default();
    let filters = [("q", q.as_str()), ("within", within.as_str()), ("by", by.as_str()), ("workflow", workflow.as_str()), ("batch", batch.as_str())];
    let with_sort = |extra: &[(&str, &str)]| {
        let mut p: Vec<(&str, &str)> = filters.to_vec();
        if !default_sort {
            p.push(("sort", sort_key));
            p.push(("dir", dir));
        }
        p.extend_from_slice(extra);
        restore_url(&p)
    };

    let people = repo.account_people(account).await?.into_iter().map(|(id, name)| (id.to_string(), name));
    let workflows = repo.list_workflows(account).await?.into_iter().map(|w| (w.id.to_string(), w.name.clone()));
    let deletions = repo.recent_deletions(account, 50, filter.batch).await?.into_iter().map(|d| (d.id.to_string(), d.name().in_zone(user.zone).long()));
    let filtered = !filter.is_empty();
    let cursor_url = page_rows.next.as_ref().map(|c| with_sort(&[("key", c.key().as_str()), ("after", c.id().to_string().as_str())]));
    let page = PageCtx::new(&session, &user, "restore", "Restore contacts")?;
    render(&RestorePage {
        page,
        rows: page_rows.contacts.iter().map(|c| DeletedView::new(c, &names, now, user.zone)).collect(),
        withins: options(DeletedWithin::ALL.iter().map(|w| (w.as_str().to_string(), w.label().to_string())), &within),
        people: options(people, &by),
        workflows: options(workflows, &workflow),
        deletions: options(deletions, &batch),
        headers: sort_headers(sort, &filters),
        filtered,
        total,
        total_text: total_text(total, filtered),
        as_of: rfc3339(now),
        return_to: with_sort(&[]),
        next_url: cursor_url,
        first_url: after.map(|_| with_sort(&[])),
        sort: if default_sort { String::new() } else { sort_key.to_string() },
        dir: if default_sort { String::new() } else { dir.to_string() },
        q,
        within,
        by,
        workflow,
        batch,
    })
}

/// Where a page after the first starts: the last contact shown (`after`) and its value
/// in the sorted column (`key`).
fn page_cursor(f: &Fields, sort: DeletedSort) -> WebResult<Option<DeletedCursor>> {
    let Some(id) = f.get("after").filter(|a| !a.is_empty()) else { return Ok(None) };
    let cursor = DeletedCursor::parse(sort, f.get("key").unwrap_or(""), id).ok_or_else(|| AppError::BadRequest("That page link is not valid.".into()))?;
    Ok(Some(cursor))
}

impl DeletedView {
    /// A row of the page; `names` are the deletions of the page's rows by batch.
    fn new(c: &DeletedContact, names: &HashMap<i64, DeletionSummary>, now: DateTime<Utc>, zone: UserZone) -> Self {
        let left = c.days_left(now);
        DeletedView {
            id: c.id,
            name: c.display_name(),
            email: c.email.clone().unwrap_or_default(),
            deleted: zone.minute(c.deleted()),
            by: c.deleted_by(),
            urgent: !matches!(left, crate::domain::DaysLeft::Days(n) if n >= 7),
            days_left: left.to_string(),
            batch: c.deletion_batch_id,
            deletion: c.deletion_batch_id.and_then(|b| names.get(&b)).map(|d| d.name().in_zone(zone).short()).unwrap_or_default(),
        }
    }
}

/// The sortable columns' headers in `sort`: each link keeps `filters` and sorts by its
/// column, or turns the order around on the sorted one.
fn sort_headers(sort: DeletedSort, filters: &[(&str, &str)]) -> Vec<SortHeader> {
    [(DeletedSortKey::Name, "Name"), (DeletedSortKey::Deleted, "Deleted"), (DeletedSortKey::By, "Deleted by"), (DeletedSortKey::Left, "Time left")]
        .into_iter()
        .map(|(key, label)| {
            let current = sort.key == key;
            let next_desc = if current { !sort.desc } else { DeletedSort::natural_desc(key) };
            let mut p: Vec<(&str, &str)> = filters.to_vec();
            p.push(("sort", key.as_str()));
            p.push(("dir", if next_desc { "desc" } else { "asc" }));
            SortHeader {
                label,
                key: key.as_str(),
                href: restore_url(&p),
                aria: match (current, sort.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                arrow: match (current, sort.desc) {
                    (false, _) => "",
                    (true, true) => "▼",
                    (true, false) => "▲",
                },
                action: format!("Sort by {} {}", label.to_lowercase(), if next_desc { "descending" } else { "ascending" }),
            }
        })
        .collect()
}

/// "120 deleted contacts can still be restored.", "1 deleted contact matches these filters."
fn total_text(total: i64, filtered: bool) -> String {
    let contacts = plural(total, "deleted contact", "deleted contacts");
    match (filtered, total) {
        (false, _) => format!("{contacts} can still be restored."),
        (true, 1) => format!("{contacts} matches these filters."),
        (true, _) => format!("{contacts} match these filters."),
    }
}

/// The contacts a restore or an erase form selects: repeated `ids`, or `select_all=true`
/// with the page's filters, the `as_of` it was shown at and repeated `exclude`.
pub(crate) fn restore_selection(f: &Fields, now: chrono::DateTime<chrono::Utc>) -> Result<RestoreSelection, AppError> {
    if f.flag("select_all") {
        if f.all("ids").any(|v| !v.is_empty()) {
            return Err(AppError::BadRequest("Send either ids or select_all, not both.".into()));
        }
        let as_of = Selection::parse_as_of(f.get("as_of"))?;
        let exclude = Selection::parse_ids(f.all("exclude").filter(|v| !v.is_empty()))?;
        Ok(RestoreSelection::all_matching(deleted_filter(f)?, as_of, exclude, now)?)
    } else {
        Ok(RestoreSelection::ids(f.ids()?)?)
    }
}

/// Bytes of conflict lines a restore's flash may carry (the session cookie is ~4 KB).
const FLASH_DETAIL_BYTES: usize = 1200;

/// "Ana Li was restored.", "Ana Li and Bo Chen were restored.", "Ana Li and 41 others
/// were restored." (U5 on the Restore page: the admin reads who came back).
pub fn restored_sentence(r: &RestoreReport) -> String {
    let names = name_list(&r.names, r.restored as i64);
    if names.is_empty() {
        format!("{} restored.", plural(r.restored as i64, "contact was", "contacts were"))
    } else if r.restored == 1 {
        format!("{names} was restored.")
    } else {
        format!("{names} were restored.")
    }
}

/// A conflict in words: "Ana Lee was not restored: Ana Li already uses ana@x.com." (R13).
pub fn conflict_sentence(c: &RestoreConflict) -> String {
    format!("{} was not restored: {} already uses {}.", c.name, c.live_name, c.email)
}

/// Turns a restore report into the message the admin reads, conflicts linked (R13).
fn report_flash(r: &RestoreReport) -> Flash {
    let mut flash = if r.restored > 0 {
        Flash::success(format!(
            "{} Their conversations, notes, tasks and other associated data were not recovered.",
            restored_sentence(r)
        ))
    } else {
        Flash::warning("No contact was restored.")
    };
    if (r.restored > 0) && (!r.conflicts.is_empty() || !r.expired.is_empty() || !r.not_found.is_empty()) {
        flash.kind = "warning".into();
    }
    // The flash travels in the session cookie, which holds about 4 KB in all: list the
    // conflicts while they fit in a share of it, then count the rest.
    let mut budget = FLASH_DETAIL_BYTES;
    let mut shown = 0;
    for c in &r.conflicts {
        let text = conflict_sentence(c);
        let link = format!("/contacts/{}", c.live_contact_id);
        let label = format!("Open {}", c.live_name);
        let cost = text.len() + link.len() + label.len() + 40;
        if cost > budget {
            break;
        }
        budget -= cost;
        shown += 1;
        flash = flash.detail(text, Some((label, link)));
    }
    flash
        .counted(r.conflicts.len() - shown, |n| {
            format!(
                "…and {} not restored because live contacts already use their email addresses.",
                plural(n, "more contact was", "more contacts were")
            )
        })
        .counted(r.expired.len(), |n| format!("{} could not be restored: the 60-day restore window has closed.", plural(n, "contact", "contacts")))
        .counted(r.not_found.len(), |n| {
            format!(
                "{} not a deleted contact of this account (already restored, erased, or unknown).",
                plural(n, "selected contact is", "selected contacts are")
            )
        })
}

fn back_to(f: &Fields) -> String {
    match f.get("return_to") {
        Some(p @ ("/contacts" | "/contacts/restore" | "/audit")) => p.to_string(),
        // the Restore page with its filters and sort, as the form was posted from
        Some(p) if p.starts_with("/contacts/restore?") && p.len() <= 2000 && !p.chars().any(|c| c.is_control() || c == '\\') => {
            p.to_string()
        }
        _ => "/contacts/restore".to_string(),
    }
}

/// Contacts per restore transaction inside a request: the configured chunk of bulk jobs,
/// else the chunk a deletion inside a request uses.
fn inline_chunk(bulk: &BulkSettings) -> i64 {
    bulk.chunk.unwrap_or(DEFAULT_CHUNK)
}

/// `POST /contacts/restore`: repeated `ids` (a row's Restore button, or the ticked
/// rows), or `select_all=true` with the page's filters, `as_of` and `exclude`. A filter
/// selection larger than a deletion does inside a request is restored by a background
/// job (L1), like a large deletion's restore.
pub async fn restore(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, bulk: web::Data<BulkSettings>, f: Fields) -> WebResult<HttpResponse> {
    let sel = restore_selection(&f, repo.now())?;
    let all_matching = matches!(sel, RestoreSelection::AllMatching { .. });
    if all_matching {
        let count = repo.count_restore_selection(user.account_id, &sel).await?;
        if count == 0 {
            return Err(AppError::NotFound("No deleted contact of this account matches this selection any more.".into()));
        }
        if count > bulk.threshold {
            repo.queue_restore_selection_job(user.account_id, &sel, user.id, count).await?;
            session.flash(
                Flash::success(format!(
                    "Restoring {} in the background. Follow it on the Bulk actions page, which also lists any contact that cannot come back because a live contact now uses its email.",
                    plural(count, "contact", "contacts")
                ))
                .with_link("Open Bulk actions", "/bulk-actions"),
            );
            return Ok(see_other("/bulk-actions"));
        }
    }
    let report = repo.restore_selection_in_chunks(user.account_id, Actor::ui(user.id), &sel, inline_chunk(&bulk)).await?;
    let status_conflict = report.restored == 0 && !report.conflicts.is_empty();
    let expired_only = report.restored == 0 && report.conflicts.is_empty() && !report.expired.is_empty();
    let none_found = report.restored == 0 && report.conflicts.is_empty() && report.expired.is_empty();
    session.flash(report_flash(&report));
    // The outcome is in the flash either way; refusals keep a 4xx status for clients
    // that read it, and the page they redirect to shows the message.
    if status_conflict {
        return Err(AppError::Conflict(report.conflicts.first().map(conflict_sentence).unwrap_or_default()));
    }
    if expired_only {
        return Err(AppError::BadRequest(
            "The 60-day restore window of the selected contacts has closed; they can no longer be restored.".into(),
        ));
    }
    if none_found {
        return Err(AppError::NotFound("None of the selected contacts is a deleted contact of this account.".into()));
    }
    Ok(see_other(&back_to(&f)))
}

/// `POST /batches/{id}/restore` (R12): everything one deletion removed. More contacts
/// than a deletion does inside a request are restored by a background job with progress
/// on the Bulk actions page (L1); fewer, here, a chunk per transaction.
pub async fn restore_batch(
    htmx: Htmx,
    path: web::Path<String>,
    session: TypedSession,
    AdminUser(user): AdminUser,
    repo: web::Data<Repo>,
    bulk: web::Data<BulkSettings>,
    f: Fields,
) -> WebResult<HttpResponse> {
    let batch = BatchId::parse(&path).map_err(|_| AppError::NotFound("There is no such deletion in this account.".into()))?;
    let info = repo
        .batch_info(user.account_id, batch)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such deletion in this account.".into()))?;
    let name = info.name().in_zone(user.zone);
    if info.restorable > bulk.threshold {
        let flash = match repo.queue_restore_job(user.account_id, batch, user.id, info.restorable).await? {
            QueuedRestore::Queued(_) => Flash::success(format!(
                "Restoring {} of the {} in the background. Follow it on the Bulk actions page, which also lists any contact that cannot come back because a live contact now uses its email.",
                plural(info.restorable, "contact", "contacts"),
                name.in_sentence()
            )),
            QueuedRestore::AlreadyRunning(_) => Flash::warning(format!(
                "The {} is already being restored; nothing else was started.",
                name.in_sentence()
            )),
        };
        session.flash(flash.with_link("Open Bulk actions", "/bulk-actions"));
        return Ok(see_other("/bulk-actions"));
    }
    let report = match repo.restore_batch_in_chunks(user.account_id, Actor::ui(user.id), batch, inline_chunk(&bulk)).await {
        Ok(report) => report,
        Err(e) => {
            // The chunks before the failure stay restored, and the audit log counts them:
            // tell the admin rather than leave them to think nothing happened.
            if let Ok(Some(after)) = repo.batch_info(user.account_id, batch).await {
                let back = info.restorable - after.restorable;
                if back > 0 {
                    session.flash(Flash::warning(format!(
                        "{} restored before the restore stopped; the others are still deleted. Restore the {} again to bring them back.",
                        plural(back, "contact was", "contacts were"),
                        name.in_sentence()
                    )));
                }
            }
            return Err(e.into());
        }
    };
    let mut flash = report_flash(&report);
    flash.text = format!("{}: {}", name.short(), flash.text);
    session.flash(flash);
    if report.restored == 0 && report.conflicts.is_empty() && !report.expired.is_empty() {
        return Err(AppError::BadRequest(format!("The 60-day restore window of the {} has closed.", name.in_sentence())));
    }
    let to = if htmx.request { "/contacts".to_string() } else { back_to(&f) };
    Ok(see_other(&to))
}

/// `POST /contacts/erase` (R14): erase deleted contacts now, behind typed DELETE; the
/// same selection as a restore (ticked ids, or all matching with exclusions).
pub async fn erase(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let confirmed = DeleteConfirmation::parse(f.get("confirm").unwrap_or(""))?;
    let sel = restore_selection(&f, repo.now())?;
    let report = repo.erase_selection(user.account_id, Actor::ui(user.id), &sel, confirmed).await?;
    if report.erased == 0 {
        return Err(AppError::NotFound("None of the selected contacts is a deleted contact of this account.".into()));
    }
    let left_alone = |n: i64| {
        format!(
            "{} not a deleted contact of this account and {} left alone.",
            plural(n, "selected contact was", "selected contacts were"),
            if n == 1 { "was" } else { "were" }
        )
    };
    let flash = Flash::success(format!("Permanently erased {}.", plural(report.erased as i64, "contact", "contacts")));
    session.flash(flash.counted(report.not_found.len(), left_alone));
    Ok(see_other("/contacts/restore"))
}
