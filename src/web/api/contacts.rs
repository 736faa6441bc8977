//! `/api/v1/contacts`: list, read and add contacts (any key); delete them (admin keys,
//! with `"confirm": "DELETE"`), through the same checks as the delete dialog.

use super::{json, path_id, ApiAdmin, ApiError, ApiResult, ApiUser, JsonBody, Problem};
use crate::config::BulkSettings;
use crate::domain::{Actor, ContactId, Cursor, DeleteConfirmation, DeleteReason, PageRequest, TagAuthority};
use crate::repo::{ContactRow, DeletionOutcome, Repo, RepoError};
use crate::web::contacts::{nothing_to_delete, parse_new_contact, rfc3339, CheckedDelete};
use crate::web::form::Fields;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A live contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        Contact {
            id: r.id,
            created_at: rfc3339(r.created()),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            company: r.company,
            tags: r.tags,
        }
    }
}

/// A page of contacts, newest first; `next` is the next page's URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub data: Vec<Contact>,
    pub has_more: bool,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Text the name, email, phone or company contains.
    pub q: Option<String>,
    /// Only contacts with this tag.
    pub tag: Option<String>,
    /// The last id of the previous page.
    pub after: Option<i64>,
    /// Contacts per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// `GET /api/v1/contacts`: keyset pages of the account's live contacts.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ListQuery),
    responses(
        (status = 200, description = "A page of contacts", body = ContactList),
        (status = 401, description = "No valid key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter or limit", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn list(ApiUser(caller): ApiUser, repo: web::Data<Repo>, query: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let limit = super::page_limit(query.limit)?;
    let mut f = Fields::default();
    for (k, v) in [("q", &query.q), ("tag", &query.tag)] {
        if let Some(v) = v {
            f.0.push((k.into(), v.clone()));
        }
    }
    let filter = f.filter()?;
    let cursor = match query.after {
        Some(id) if id > 0 => Cursor::After(ContactId(id)),
        Some(_) => return Err(ApiError::unprocessable("after must be a contact id.")),
        None => Cursor::First,
    };
    let page = repo.list_contacts(caller.user.account_id, &filter, PageRequest { cursor, size: limit }).await?;
    let next = page.last_id().filter(|_| page.has_next).map(|id| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &f.0 {
            s.append_pair(k, v);
        }
        s.append_pair("after", &id.0.to_string()).append_pair("limit", &limit.to_string());
        format!("/api/v1/contacts?{}", s.finish())
    });
    let body = ContactList { has_more: page.has_next, next, data: page.contacts.into_iter().map(Contact::from).collect() };
    Ok(json(StatusCode::OK, &body))
}

/// `GET /api/v1/contacts/{id}`
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 200, description = "The contact", body = Contact),
        (status = 401, description = "No valid key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live contact with this id in the key's account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn show(ApiUser(caller): ApiUser, repo: web::Data<Repo>, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contact")?;
    let row = repo
        .get_contact(caller.user.account_id, ContactId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("There is no such contact in this account."))?;
    Ok(json(StatusCode::OK, &Contact::from(row)))
}

/// A contact to add. A tag that starts workflows which delete contacts needs an admin
/// key and `"confirm": "DELETE"`, as on the page.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContactBody {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `DELETE`, when a tag starts workflows that delete contacts.
    pub confirm: Option<String>,
}

/// `POST /api/v1/contacts`
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = NewContactBody,
    responses(
        (status = 201, description = "Added; `Location` names it", body = Contact),
        (status = 400, description = "The body is not JSON of this shape", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A tag starts workflows that delete contacts, and the key has the user role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A tag starts workflows that delete contacts: an admin key must send \"confirm\": \"DELETE\"", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field the page would refuse", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn create(ApiUser(caller): ApiUser, repo: web::Data<Repo>, body: JsonBody) -> ApiResult<HttpResponse> {
    let b: NewContactBody = body.parse().await?;
    if b.tags.iter().any(|t| t.contains(',')) {
        return Err(ApiError::unprocessable("A tag cannot contain a comma."));
    }
    let f = Fields(vec![
        ("first_name".into(), b.first_name),
        ("last_name".into(), b.last_name),
        ("email".into(), b.email),
        ("phone".into(), b.phone),
        ("company".into(), b.company),
        ("tags".into(), b.tags.join(",")),
    ]);
    let c = parse_new_contact(&f)?;
    let confirm = b.confirm.as_deref().filter(|c| !c.is_empty()).map(DeleteConfirmation::parse).transpose()?;
    let user = &caller.user;
    let id = repo.create_contact(user.account_id, &c, TagAuthority::person(user.id, user.role, confirm)).await.map_err(|e| match e {
        RepoError::ConfirmationRequired(m) => ApiError::new(StatusCode::CONFLICT, m),
        other => other.into(),
    })?;
    let row = repo
        .get_contact(user.account_id, id)
        .await?
        // a workflow started by its tag may have deleted it already
        .map(Contact::from);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, format!("/api/v1/contacts/{id}")));
    Ok(match row {
        Some(c) => res.json(c),
        None => res.json(serde_json::json!({ "id": id.0, "deleted_by_workflow": true })),
    })
}

/// Which contacts to delete: `ids`, or `filter` (all live contacts matching it as of
/// `as_of`, less `exclude`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    pub ids: Option<Vec<i64>>,
    pub filter: Option<ContactFilterBody>,
    /// RFC 3339: contacts added after this moment are left alone. Required with `filter`.
    pub as_of: Option<String>,
    #[serde(default)]
    pub exclude: Vec<i64>,
    /// Must read `DELETE`.
    pub confirm: Option<String>,
    pub reason: Option<String>,
    /// The number of contacts the caller expects to delete; required when the deletion
    /// would leave the account with no contacts (the page asks for this number too).
    pub expected_count: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFilterBody {
    pub q: Option<String>,
    pub tag: Option<String>,
}

impl DeleteBody {
    /// The same fields the delete dialog sends.
    fn fields(&self) -> ApiResult<Fields> {
        let mut f = Vec::new();
        let mut push = |k: &str, v: String| f.push((k.to_string(), v));
        match (&self.ids, &self.filter) {
            (Some(_), Some(_)) => return Err(ApiError::unprocessable("Send either ids or a filter, not both.")),
            (None, None) => return Err(ApiError::unprocessable("Send the ids to delete, or a filter with as_of.")),
            (Some(ids), None) => {
                if !self.exclude.is_empty() || self.as_of.is_some() {
                    return Err(ApiError::unprocessable("as_of and exclude go with a filter, not with ids."));
                }
                if ids.is_empty() {
                    return Err(ApiError::unprocessable("Select at least one contact."));
                }
                ids.iter().for_each(|id| push("ids", id.to_string()));
            }
            (None, Some(filter)) => {
                push("select_all", "true".into());
                filter.q.iter().for_each(|q| push("q", q.clone()));
                filter.tag.iter().for_each(|t| push("tag", t.clone()));
                self.as_of.iter().for_each(|a| push("as_of", a.clone()));
                self.exclude.iter().for_each(|id| push("exclude", id.to_string()));
            }
        }
        push("confirm", self.confirm.clone().unwrap_or_default());
        self.reason.iter().for_each(|r| push("reason", r.clone()));
        self.expected_count.iter().for_each(|n| push("confirm_count", n.to_string()));
        Ok(Fields(f))
    }
}

/// What a deletion did: its batch (restore it within 60 days) and how many it deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionResult {
    pub batch: i64,
    pub deleted: u64,
}

/// A deletion too large for one request, running as a background job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job: i64,
    pub count: i64,
    /// Where to follow it: `GET /api/v1/jobs/{job}`.
    pub status_url: String,
}

async fn delete(caller: &crate::repo::ApiCaller, repo: &Repo, bulk: &BulkSettings, f: &Fields) -> ApiResult<HttpResponse> {
    let user = &caller.user;
    let d = CheckedDelete::from_form(repo, user, f).await?;
    let reason = d.reason.as_ref().map(DeleteReason::as_str);
    match repo.delete_or_queue(user.account_id, Actor::api(user.id), &d.sel, reason, d.confirmed, (d.count, bulk.threshold)).await? {
        DeletionOutcome::Deleted(r) if r.deleted == 0 => Err(ApiError::from(nothing_to_delete())),
        DeletionOutcome::Deleted(r) => Ok(json(StatusCode::OK, &DeletionResult { batch: r.batch.0, deleted: r.deleted })),
        DeletionOutcome::Queued { job, count } => {
            let url = format!("/api/v1/jobs/{job}");
            Ok(HttpResponse::Accepted().insert_header((header::LOCATION, url.clone())).json(JobAccepted { job: job.0, count, status_url: url }))
        }
    }
}

/// `POST /api/v1/contacts/delete`: deletes a selection (R2–R7); restorable for 60 days.
#[utoipa::path(post, path = "/api/v1/contacts/delete", tag = "deletion", request_body = DeleteBody,
    responses(
        (status = 200, description = "Deleted", body = DeletionResult),
        (status = 202, description = "More contacts than a request deletes: a background job; `Location` follows it", body = JobAccepted),
        (status = 400, description = "The body is not JSON of this shape", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key has the user role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of the selected contacts is a live contact of this account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No DELETE, a wrong expected_count, or a selection the page would refuse", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn delete_many(
    ApiAdmin(caller): ApiAdmin,
    repo: web::Data<Repo>,
    bulk: web::Data<BulkSettings>,
    body: JsonBody,
) -> ApiResult<HttpResponse> {
    let body: DeleteBody = body.parse().await?;
    delete(&caller, &repo, &bulk, &body.fields()?).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteOneQuery {
    /// Must read `DELETE`.
    pub confirm: Option<String>,
    pub reason: Option<String>,
}

/// `DELETE /api/v1/contacts/{id}?confirm=DELETE`
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "deletion",
    params(("id" = i64, Path, description = "Contact id"), DeleteOneQuery),
    responses(
        (status = 200, description = "Deleted", body = DeletionResult),
        (status = 401, description = "No valid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key has the user role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live contact with this id in the key's account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No DELETE, or a reason the page would refuse", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])))]
pub async fn delete_one(
    ApiAdmin(caller): ApiAdmin,
    repo: web::Data<Repo>,
    bulk: web::Data<BulkSettings>,
    path: web::Path<String>,
    query: web::Query<DeleteOneQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contact")?;
    let body = DeleteBody { ids: Some(vec![id]), confirm: query.confirm.clone(), reason: query.reason.clone(), ..Default::default() };
    delete(&caller, &repo, &bulk, &body.fields()?).await
}
