//! `/api/v1/contacts/deleted`, `…/restore`, `…/erase` and `/api/v1/jobs/{id}`: the
//! Restore page and Bulk actions for admin keys (R8, R12, R13, R10).

use super::{json, path_id, ApiAdmin, ApiError, ApiResult, JsonBody, Problem};
use crate::config::BulkSettings;
use crate::domain::{Actor, BatchId, ContactId, DeleteConfirmation, DeletedFilter, DeletedSort, JobId, RestoreSelection, Selection};
use crate::repo::deletion::DEFAULT_CHUNK;
use crate::repo::{DeletedCursor, QueuedRestore, Repo, RestoreReport};
use crate::web::contacts::rfc3339;
use crate::web::restore::conflict_sentence;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const PROBLEM: &str = "application/problem+json";

/// A deleted contact that can still be restored.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedContact {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub company: Option<String>,
    /// RFC 3339, UTC.
    pub deleted_at: String,
    /// The deletion that removed it: `{"batch": …}` restores all of it.
    pub batch: Option<i64>,
    /// "Jane Admin", "API key “Zapier”", or "Workflow “Clean-up” on behalf of Jane Admin".
    pub deleted_by: String,
    /// RFC 3339: the end of its 60 days; it is purged after.
    pub restorable_until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedList {
    pub data: Vec<DeletedContact>,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeletedQuery {
    /// Text the name, email, phone or company contains.
    pub q: Option<String>,
    /// Only the contacts of this deletion.
    pub batch: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Contacts per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// `GET /api/v1/contacts/deleted`: the deleted contacts still inside their 60 days,
/// most recently deleted first.
#[utoipa::path(get, path = "/api/v1/contacts/deleted", tag = "restore", params(DeletedQuery),
    responses(
        (status = 200, description = "A page of deleted contacts", body = DeletedList),
        (status = 401, description = "No valid key", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The key has the user role", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A bad filter, cursor or limit", body = Problem, content_type = PROBLEM),
    ),
    security(("api_key" = [])))]
pub async fn deleted(ApiAdmin(caller): ApiAdmin, repo: web::Data<Repo>, query: web::Query<DeletedQuery>) -> ApiResult<HttpResponse> {
    let limit = super::page_limit(query.limit)?;
    let batch = query.batch.map(|b| b.to_string());
    let filter = DeletedFilter::parse(query.q.as_deref(), None, None, None, batch.as_deref())?;
    let sort = DeletedSort::default();
    let after = match query.after.as_deref() {
        None => None,
        Some(raw) => {
            let (key, id) = raw.split_once('_').ok_or_else(|| ApiError::unprocessable("after must be the next cursor of a page."))?;
            Some(DeletedCursor::parse(sort, key, id).ok_or_else(|| ApiError::unprocessable("after must be the next cursor of a page."))?)
        }
    };
    let page = repo.deleted_contacts(caller.user.account_id, &filter, sort, after.as_ref(), limit).await?;
    let next = page.next.as_ref().map(|c| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        query.q.iter().for_each(|q| {
            s.append_pair("q", q);
        });
        batch.iter().for_each(|b| {
            s.append_pair("batch", b);
        });
        s.append_pair("after", &format!("{}_{}", c.key(), c.id())).append_pair("limit", &limit.to_string());
        format!("/api/v1/contacts/deleted?{}", s.finish())
    });
    let data = page
        .contacts
        .iter()
        .map(|c| DeletedContact {
            id: c.id,
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email: c.email.clone(),
            company: c.company.clone(),
            deleted_at: rfc3339(c.deleted()),
            batch: c.deletion_batch_id,
            deleted_by: c.deleted_by(),
            restorable_until: rfc3339(c.deleted() + chrono::Duration::days(crate::domain::RESTORE_WINDOW_DAYS)),
        })
        .collect();
    Ok(json(StatusCode::OK, &DeletedList { data, next }))
}

/// What to restore: `ids`, or everything one deletion (`batch`) removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    pub ids: Option<Vec<i64>>,
    pub batch: Option<i64>,
}

/// A contact that stayed deleted because a live contact now has its email (R13).
#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreConflict {
    pub contact_id: i64,
    pub email: String,
    pub live_contact_id: i64,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreResult {
    pub restored: u64,
    pub conflicts: Vec<RestoreConflict>,
    /// Deleted more than 60 days ago: no longer restorable.
    pub expired: Vec<i64>,
    /// Not deleted contacts of this account.
    pub not_found: Vec<i64>,
}

impl From<RestoreReport> for RestoreResult {
    fn from(r: RestoreReport) -> Self {
        RestoreResult {
            restored: r.restored,
            conflicts: r
                .conflicts
                .iter()
                .map(|c| RestoreConflict { contact_id: c.contact_id, email: c.email.clone(), live_contact_id: c.live_contact_id, detail: conflict_sentence(c) })
                .collect(),
            expired: r.expired.iter().map(|c| c.0).collect(),
            not_found: r.not_found.iter().map(|c| c.0).collect(),
        }
    }
}

fn ids(raw: &[i64]) -> ApiResult<Vec<ContactId>> {
    Ok(Selection::parse_ids(raw.iter().map(|n| n.to_string()).collect::<Vec<_>>().iter().map(String::as_str))?)
}

/// `POST /api/v1/contacts/restore` (R12, R13): listed contacts, or a whole deletion.
#[utoipa::path(post, path = "/api/v1/contacts/restore", tag = "restore", request_body = RestoreBody,
    responses(
        (status = 200, description = "What came back, and each contact that could not", body = RestoreResult),
        (status = 202, description = "A deletion too large for one request: a background job; `Location` follows it", body = super::contacts::JobAccepted),
        (status = 400, description = "The body is not JSON of this shape", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No valid key", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The key has the user role", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such deletion, or none of the ids is a deleted contact of this account", body = Problem, content_type = PROBLEM),
        (status = 409, description = "That deletion is already being restored", body = Problem, content_type = PROBLEM),
        (status = 422, description = "Neither or both of ids and batch", body = Problem, content_type = PROBLEM),
    ),
    security(("api_key" = [])))]
pub async fn restore(ApiAdmin(caller): ApiAdmin, repo: web::Data<Repo>, bulk: web::Data<BulkSettings>, body: JsonBody) -> ApiResult<HttpResponse> {
    let body: RestoreBody = body.parse().await?;
    let user = &caller.user;
    let actor = Actor::api(user.id);
    let chunk = bulk.chunk.unwrap_or(DEFAULT_CHUNK);
    let report = match (&body.ids, body.batch) {
        (Some(raw), None) => {
            let sel = RestoreSelection::ids(ids(raw)?)?;
            repo.restore_selection_in_chunks(user.account_id, actor, &sel, chunk).await?
        }
        (None, Some(b)) => {
            let batch = BatchId(b);
            let none = || ApiError::not_found("There is no such deletion in this account.");
            let info = repo.batch_info(user.account_id, batch).await?.ok_or_else(none)?;
            if info.restorable > bulk.threshold {
                return match repo.queue_restore_job(user.account_id, batch, user.id, info.restorable).await? {
                    QueuedRestore::Queued(job) => {
                        let url = format!("/api/v1/jobs/{job}");
                        Ok(HttpResponse::Accepted()
                            .insert_header((header::LOCATION, url.clone()))
                            .json(super::contacts::JobAccepted { job: job.0, count: info.restorable, status_url: url }))
                    }
                    QueuedRestore::AlreadyRunning(job) => {
                        Err(ApiError::new(StatusCode::CONFLICT, format!("This deletion is already being restored: follow /api/v1/jobs/{job}.")))
                    }
                };
            }
            repo.restore_batch_in_chunks(user.account_id, actor, batch, chunk).await?
        }
        _ => return Err(ApiError::unprocessable("Send either ids or batch.")),
    };
    if report.restored == 0 && report.conflicts.is_empty() && report.expired.is_empty() {
        return Err(ApiError::not_found("None of the selected contacts is a deleted contact of this account."));
    }
    Ok(json(StatusCode::OK, &RestoreResult::from(report)))
}

/// Deleted contacts to remove for good now, before their 60 days end (R10).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    pub ids: Vec<i64>,
    /// Must read `DELETE`.
    pub confirm: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EraseResult {
    pub erased: u64,
    pub not_found: Vec<i64>,
}

/// `POST /api/v1/contacts/erase` (R10): deleted contacts removed for good, at once.
#[utoipa::path(post, path = "/api/v1/contacts/erase", tag = "restore", request_body = EraseBody,
    responses(
        (status = 200, description = "Erased", body = EraseResult),
        (status = 400, description = "The body is not JSON of this shape", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No valid key", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The key has the user role", body = Problem, content_type = PROBLEM),
        (status = 404, description = "None of the ids is a deleted contact of this account", body = Problem, content_type = PROBLEM),
        (status = 422, description = "No DELETE, or no ids", body = Problem, content_type = PROBLEM),
    ),
    security(("api_key" = [])))]
pub async fn erase(ApiAdmin(caller): ApiAdmin, repo: web::Data<Repo>, body: JsonBody) -> ApiResult<HttpResponse> {
    let body: EraseBody = body.parse().await?;
    let confirmed = DeleteConfirmation::parse(body.confirm.as_deref().unwrap_or(""))?;
    let sel = RestoreSelection::ids(ids(&body.ids)?)?;
    let report = repo.erase_selection(caller.user.account_id, Actor::api(caller.user.id), &sel, confirmed).await?;
    if report.erased == 0 {
        return Err(ApiError::not_found("None of the selected contacts is a deleted contact of this account."));
    }
    Ok(json(StatusCode::OK, &EraseResult { erased: report.erased, not_found: report.not_found.iter().map(|c| c.0).collect() }))
}

/// A background deletion or restore.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: i64,
    /// `delete` or `restore`.
    pub kind: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    pub total: i64,
    pub done: i64,
    pub percent: i64,
    pub batch: Option<i64>,
    /// Restores: contacts that stayed deleted because a live contact has their email.
    pub conflicts: i64,
    pub error: Option<String>,
}

/// `GET /api/v1/jobs/{id}`
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "deletion", params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's progress", body = Job),
        (status = 401, description = "No valid key", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The key has the user role", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such job in the key's account", body = Problem, content_type = PROBLEM),
    ),
    security(("api_key" = [])))]
pub async fn job(ApiAdmin(caller): ApiAdmin, repo: web::Data<Repo>, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "job")?;
    let j = repo.bulk_job(caller.user.account_id, JobId(id)).await?.ok_or_else(|| ApiError::not_found("There is no such job in this account."))?;
    Ok(json(
        StatusCode::OK,
        &Job {
            id: j.id.0,
            percent: j.percent(),
            kind: j.kind.clone(),
            state: j.state.clone(),
            total: j.total,
            done: j.done,
            batch: j.batch.map(|b| b.0),
            conflicts: j.conflict_count,
            error: j.error.clone(),
        },
    ))
}
