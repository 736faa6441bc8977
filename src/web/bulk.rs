//! The Bulk actions page (L1): background jobs with who, when, state, live progress,
//! counts, Cancel and Restore-this-batch (R12).

use super::error::{AppError, WebResult};
use super::page::{plural, render, see_other, thousands, PageCtx};
use super::session::{AdminUser, Flash, TypedSession};
use crate::domain::{ContactId, UserZone, When};
use crate::repo::{BulkJob, JobId, Repo};
use super::form::Fields;
use super::fragments::contacts_changed;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct JobView {
    pub id: i64,
    /// The deletion's name, or what a restore job brings back.
    pub name: String,
    pub what: String,
    pub by: String,
    pub when: When,
    pub state: String,
    pub active: bool,
    pub percent: i64,
    pub done: String,
    pub total: String,
    /// "1 contact", "20,000 contacts".
    pub of_total: String,
    pub rate: String,
    pub batch: Option<i64>,
    pub restorable: String,
    /// "1 contact", "3,000 contacts" still restorable.
    pub restorable_text: String,
    pub can_restore: bool,
    pub error: String,
    /// A restore job's outcome: what came back and what could not (R13, R8).
    pub notes: Vec<String>,
    /// A restore job's first email conflicts, in words (R13), each with the live
    /// contact's page.
    pub conflicts: Vec<(String, i64, String)>,
    pub more_conflicts: String,
    /// What a finished job did, as its message ends: "Deleted 20,000 contacts".
    pub outcome: String,
}

/// "Deleted 20,000 contacts", "Restored 19,990 contacts", "Cancelled after deleting
/// 5,000 of 20,000 contacts": the message a finished job leaves.
fn outcome(j: &BulkJob) -> String {
    let contacts = |n| plural(n, "contact", "contacts");
    match (j.is_restore(), j.state.as_str()) {
        (true, "done") => format!("Restored {}", contacts(j.restored)),
        (true, "cancelled") => format!("Cancelled after restoring {}", contacts(j.restored)),
        (true, _) => format!("Stopped after restoring {}", contacts(j.restored)),
        (false, "done") => format!("Deleted {}", contacts(j.done)),
        (false, "cancelled") => format!("Cancelled after deleting {} of {}", thousands(j.done), contacts(j.total)),
        (false, _) => format!("Stopped after deleting {} of {}", thousands(j.done), contacts(j.total)),
    }
}

/// The name a job goes by: its deletion's, or for a restore, what it brings back.
pub fn job_name(j: &BulkJob, zone: UserZone) -> String {
    match (j.is_restore(), j.deletion.clone().map(|d| d.in_zone(zone)), &j.selection) {
        (false, Some(d), _) => d.long(),
        (true, Some(d), _) => format!("Restore of the {}", d.in_sentence()),
        (true, None, Some(_)) => format!("Restore of {} chosen on the Restore page", plural(j.total, "deleted contact", "deleted contacts")),
        (true, None, None) => "Restore".to_string(),
        (false, None, _) => "Deletion".to_string(),
    }
}

impl JobView {
    /// The view of `j`, its conflicts named with `names` (contact id → name).
    pub fn named(j: &BulkJob, names: &std::collections::HashMap<i64, String>, zone: UserZone) -> Self {
        let mut v = JobView::new(j, zone);
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| "A contact that no longer exists".into());
        v.conflicts = j
            .conflicts
            .iter()
            .map(|&(c, live)| (format!("{} was not restored:", name(c)), live, format!("{} uses the same email.", name(live))))
            .collect();
        v
    }
}

impl JobView {
    pub fn new(j: &BulkJob, zone: UserZone) -> Self {
        JobView {
            id: j.id.0,
            name: job_name(j, zone),
            what: match (j.is_restore(), &j.selection) {
                (true, Some(sel)) => sel.describe(),
                (true, None) => String::new(),
                (false, _) => j.description.clone(),
            },
            by: j.created_by.clone().unwrap_or_else(|| "—".into()),
            when: zone.minute(j.created_at),
            state: j.state.clone(),
            active: j.is_active(),
            percent: j.percent(),
            done: thousands(j.done),
            total: thousands(j.total),
            of_total: plural(j.total, "contact", "contacts"),
            rate: j.rate().map(|r| format!("{} contacts/s", thousands(r.round() as i64))).unwrap_or_default(),
            batch: j.batch.map(|b| b.0),
            restorable: thousands(j.restorable),
            restorable_text: plural(j.restorable, "contact", "contacts"),
            can_restore: j.restorable > 0 && !j.is_active(),
            error: j.error.clone().unwrap_or_default(),
            notes: restore_notes(j),
            conflicts: Vec::new(),
            outcome: outcome(j),
            more_conflicts: if j.conflict_count > j.conflicts.len() as i64 {
                format!("…and {} more.", thousands(j.conflict_count - j.conflicts.len() as i64))
            } else {
                String::new()
            },
        }
    }
}

fn restore_notes(j: &BulkJob) -> Vec<String> {
    if !j.is_restore() || (j.restored == 0 && j.conflict_count == 0 && j.expired_count == 0 && j.is_active()) {
        return Vec::new();
    }
    let mut notes = vec![format!("{} restored so far.", plural(j.restored, "contact", "contacts"))];
    if !j.is_active() {
        notes[0] = format!("{} restored.", plural(j.restored, "contact", "contacts"));
    }
    if j.conflict_count > 0 {
        notes.push(format!(
            "{} not restored: a live contact now uses the same email.",
            plural(j.conflict_count, "contact was", "contacts were")
        ));
    }
    if j.expired_count > 0 {
        notes.push(format!("{} past the 60-day window.", plural(j.expired_count, "contact was", "contacts were")));
    }
    notes
}

#[derive(Template)]
#[template(path = "bulk_actions.html")]
struct BulkPage {
    page: PageCtx,
    jobs: Vec<JobView>,
}

/// The live progress bar. `alert`: shown in the message of the page that started the
/// job (the contacts list), where a finished job turns into its outcome and an offer to
/// restore what it deleted; on the Bulk actions page the row has its own buttons.
#[derive(Template)]
#[template(path = "_job_progress.html")]
pub struct ProgressFragment {
    pub job: JobView,
    pub alert: bool,
    pub csrf: String,
}

/// `GET /bulk-actions` (admins).
pub async fn page(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let jobs = repo.bulk_jobs(user.account_id, 100).await?;
    let ids: Vec<ContactId> = jobs.iter().flat_map(|j| j.conflicts.iter().flat_map(|&(a, b)| [ContactId(a), ContactId(b)])).collect();
    let names = repo.contact_names(user.account_id, &ids).await?;
    let jobs = jobs.iter().map(|j| JobView::named(j, &names, user.zone)).collect();
    let page = PageCtx::new(&session, &user, "bulk", "Bulk actions")?;
    render(&BulkPage { page, jobs })
}

fn job_id(raw: &str) -> WebResult<JobId> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).map(JobId).ok_or_else(|| AppError::NotFound("There is no such job in this account.".into()))
}

/// `GET /bulk-actions/{id}/progress`: the live progress bar (htmx polls it).
pub async fn progress(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let id = job_id(&path)?;
    let job = repo.bulk_job(user.account_id, id).await?.ok_or_else(|| AppError::NotFound("There is no such job in this account.".into()))?;
    let alert = f.get("in") == Some("alert");
    let fragment = ProgressFragment { job: JobView::new(&job, user.zone), alert, csrf: session.csrf_token()? };
    if job.is_active() {
        return render(&fragment);
    }
    // the list refreshes once the job has finished
    Ok(contacts_changed(StatusCode::OK, fragment.render()?))
}

/// `POST /bulk-actions/{id}/cancel`: stop; what is deleted stays deleted and restorable.
pub async fn cancel(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let id = job_id(&path)?;
    let Some(job) = repo.bulk_job(user.account_id, id).await? else {
        return Err(AppError::NotFound("There is no such job in this account.".into()));
    };
    let name = job_name(&job, user.zone);
    if !repo.cancel_bulk_job(user.account_id, id).await? {
        return Err(AppError::Conflict(format!("{name} has already finished.")));
    }
    let rest = if job.is_restore() {
        "The contacts it already restored stay restored."
    } else {
        "The contacts it already deleted stay deleted and can be restored."
    };
    session.flash(Flash::success(format!("{name} cancelled. {rest}")));
    Ok(see_other("/bulk-actions"))
}
