//! The Restore page (U6, R11): deleted contacts inside the 60-day window, restore by
//! ids or by batch (R8, R12) with conflicts per contact (R13), and erase now (R14).

use super::contacts::rfc3339;
use super::error::{AppError, WebResult};
use super::form::{query_fields, Fields};
use super::page::{plural, render, see_other, PageCtx};
use super::session::{AdminUser, Flash, TypedSession};
use crate::domain::{Actor, BatchId, DeleteConfirmation};
use crate::config::BulkSettings;
use crate::repo::deletion::DEFAULT_CHUNK;
use crate::repo::{QueuedRestore, Repo, RestoreReport};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

pub struct DeletedView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub deleted: String,
    pub deleted_iso: String,
    pub by: String,
    pub days_left: String,
    pub urgent: bool,
    pub batch: Option<i64>,
}

#[derive(Template)]
#[template(path = "restore.html")]
struct RestorePage {
    page: PageCtx,
    rows: Vec<DeletedView>,
    q: String,
    total_text: String,
    next_url: Option<String>,
    first_url: Option<String>,
}

/// `GET /contacts/restore`.
pub async fn page(req: HttpRequest, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let f = query_fields(&req);
    let q = f.get("q").unwrap_or("").trim().to_string();
    if q.chars().count() > 200 {
        return Err(AppError::BadRequest("The search text is too long (200 characters at most).".into()));
    }
    if q.chars().any(char::is_control) {
        return Err(AppError::BadRequest("The search text holds control characters; type plain text.".into()));
    }
    let after = match f.get("after") {
        None | Some("") => None,
        Some(raw) => {
            let (at, id) = raw
                .split_once('_')
                .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
                .ok_or_else(|| AppError::BadRequest("That page link is not valid.".into()))?;
            Some((at, id))
        }
    };
    let now = repo.now();
    let page_rows = repo.deleted_contacts(user.account_id, Some(&q), after, 50).await?;
    let total = repo.count_deleted(user.account_id).await?;
    let qs = |extra: &str| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        if !extra.is_empty() {
            s.append_pair("after", extra);
        }
        let s = s.finish();
        if s.is_empty() { "/contacts/restore".to_string() } else { format!("/contacts/restore?{s}") }
    };
    let rows = page_rows
        .contacts
        .iter()
        .map(|c| {
            let left = c.days_left(now);
            DeletedView {
                id: c.id,
                name: c.display_name(),
                email: c.email.clone().unwrap_or_default(),
                deleted: c.deleted().format("%b %-d, %Y %H:%M UTC").to_string(),
                deleted_iso: rfc3339(c.deleted()),
                by: c.deleted_by(),
                urgent: !matches!(left, crate::domain::DaysLeft::Days(n) if n >= 7),
                days_left: left.to_string(),
                batch: c.deletion_batch_id,
            }
        })
        .collect();
    let page = PageCtx::new(&session, &user, "restore", "Restore contacts")?;
    render(&RestorePage {
        page,
        rows,
        total_text: plural(total, "deleted contact", "deleted contacts"),
        next_url: page_rows.next.map(|(at, id)| qs(&format!("{at}_{id}"))),
        first_url: after.map(|_| qs("")),
        q,
    })
}

/// Bytes of conflict lines a restore's flash may carry (the session cookie is ~4 KB).
const FLASH_DETAIL_BYTES: usize = 1200;

/// Turns a restore report into the message the admin reads, conflicts linked (R13).
fn report_flash(r: &RestoreReport) -> Flash {
    let mut flash = if r.restored > 0 {
        Flash::success(format!(
            "Restored {}. Their conversations, notes, tasks and other associated data were not recovered.",
            plural(r.restored as i64, "contact", "contacts")
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
        let text = format!("Contact #{} was not restored: a live contact already uses {}.", c.contact_id, c.email);
        let link = format!("/contacts/{}", c.live_contact_id);
        let cost = text.len() + link.len() + 40;
        if cost > budget {
            break;
        }
        budget -= cost;
        shown += 1;
        flash = flash.detail(text, Some(("Open that contact".into(), link)));
    }
    if r.conflicts.len() > shown {
        flash = flash.detail(
            format!(
                "…and {} not restored because live contacts already use their email addresses.",
                plural((r.conflicts.len() - shown) as i64, "more contact was", "more contacts were")
            ),
            None,
        );
    }
    if !r.expired.is_empty() {
        flash = flash.detail(
            format!(
                "{} could not be restored: the 60-day restore window has closed.",
                plural(r.expired.len() as i64, "contact", "contacts")
            ),
            None,
        );
    }
    if !r.not_found.is_empty() {
        flash = flash.detail(
            format!(
                "{} are not deleted contacts of this account (already restored, erased, or unknown).",
                plural(r.not_found.len() as i64, "selected id", "selected ids")
            ),
            None,
        );
    }
    flash
}

fn back_to(req: &HttpRequest, f: &Fields) -> String {
    match f.get("return_to") {
        Some(p @ ("/contacts" | "/contacts/restore" | "/audit")) => p.to_string(),
        _ => {
            let _ = req;
            "/contacts/restore".to_string()
        }
    }
}

/// Contacts per restore transaction inside a request: the configured chunk of bulk jobs,
/// else the chunk a deletion inside a request uses.
fn inline_chunk(bulk: &BulkSettings) -> i64 {
    bulk.chunk.unwrap_or(DEFAULT_CHUNK)
}

/// `POST /contacts/restore` (form: repeated `ids`).
pub async fn restore(
    req: HttpRequest,
    session: TypedSession,
    AdminUser(user): AdminUser,
    repo: web::Data<Repo>,
    bulk: web::Data<BulkSettings>,
    f: Fields,
) -> WebResult<HttpResponse> {
    let ids = f.ids()?;
    let report = repo.restore_contacts_in_chunks(user.account_id, Actor::ui(user.id), &ids, inline_chunk(&bulk)).await?;
    let status_conflict = report.restored == 0 && !report.conflicts.is_empty();
    let expired_only = report.restored == 0 && report.conflicts.is_empty() && !report.expired.is_empty();
    let none_found = report.restored == 0 && report.conflicts.is_empty() && report.expired.is_empty();
    session.flash(report_flash(&report));
    // The outcome is in the flash either way; refusals keep a 4xx status for clients
    // that read it, and the page they redirect to shows the message.
    if status_conflict {
        return Err(AppError::Conflict(report_flash(&report).details.first().map(|d| d.0.clone()).unwrap_or_default()));
    }
    if expired_only {
        return Err(AppError::BadRequest(
            "The 60-day restore window of the selected contacts has closed; they can no longer be restored.".into(),
        ));
    }
    if none_found {
        return Err(AppError::NotFound("None of the selected contacts is a deleted contact of this account.".into()));
    }
    Ok(see_other(&back_to(&req, &f)))
}

/// `POST /batches/{id}/restore` (R12): everything one deletion removed. More contacts
/// than a deletion does inside a request are restored by a background job with progress
/// on the Bulk actions page (L1); fewer, here, a chunk per transaction.
pub async fn restore_batch(
    req: HttpRequest,
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
        .ok_or_else(|| AppError::NotFound(format!("There is no deletion {batch} in this account.")))?;
    if info.restorable > bulk.threshold {
        let flash = match repo.queue_restore_job(user.account_id, batch, user.id, info.restorable).await? {
            QueuedRestore::Queued(job) => Flash::success(format!(
                "Restoring {} in the background (job #{job}). Follow it on the Bulk actions page, which also lists any contact that cannot come back because a live contact now uses its email.",
                plural(info.restorable, "contact", "contacts")
            )),
            QueuedRestore::AlreadyRunning(job) => {
                Flash::warning(format!("This deletion is already being restored by job #{job}; nothing else was started."))
            }
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
                        "{} restored before the restore stopped; the others are still deleted. Restore this deletion again to bring them back.",
                        plural(back, "contact was", "contacts were")
                    )));
                }
            }
            return Err(e.into());
        }
    };
    session.flash(report_flash(&report));
    if report.restored == 0 && report.conflicts.is_empty() && !report.expired.is_empty() {
        return Err(AppError::BadRequest("The 60-day restore window of this deletion has closed.".into()));
    }
    let to = if req.headers().contains_key("HX-Request") { "/contacts".to_string() } else { back_to(&req, &f) };
    Ok(see_other(&to))
}

/// `POST /contacts/erase` (R14): erase deleted contacts now, behind typed DELETE.
pub async fn erase(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let confirmed = DeleteConfirmation::parse(f.get("confirm").unwrap_or(""))?;
    let ids = f.ids()?;
    let report = repo.erase_contacts(user.account_id, Actor::ui(user.id), &ids, confirmed).await?;
    if report.erased == 0 {
        return Err(AppError::NotFound("None of the selected contacts is a deleted contact of this account.".into()));
    }
    let mut flash = Flash::success(format!("Permanently erased {}.", plural(report.erased as i64, "contact", "contacts")));
    if !report.not_found.is_empty() {
        flash = flash.detail(format!("{} were not deleted contacts of this account and were left alone.", plural(report.not_found.len() as i64, "id", "ids")), None);
    }
    session.flash(flash);
    Ok(see_other("/contacts/restore"))
}
