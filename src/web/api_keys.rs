//! The API keys page (Administration): create a key with a name and a role (the key is
//! shown once), list the account's keys with when each was last used, and revoke one.
//! Admins only.

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::{render, see_other, PageCtx};
use super::session::{AdminUser, Flash, TypedSession};
use crate::domain::{ApiKeyName, ApiKeySecret, Role, When};
use crate::repo::{ApiKey, Repo, UserInfo};
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct KeyView {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created: When,
    pub created_by: String,
    pub last_used: String,
    pub revoked: Option<When>,
}

impl KeyView {
    fn new(k: &ApiKey, user: &UserInfo) -> Self {
        KeyView {
            id: k.id,
            name: k.name.clone(),
            role: k.role.to_string(),
            prefix: k.prefix.clone(),
            created: user.zone.minute(k.created_at),
            created_by: k.created_by.clone().unwrap_or_else(|| "a removed user".into()),
            last_used: k.last_used_at.map(|t| user.zone.minute(t).to_string()).unwrap_or_else(|| "Never".into()),
            revoked: k.revoked_at.map(|t| user.zone.minute(t)),
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    page: PageCtx,
    keys: Vec<KeyView>,
    /// A just-created key's name and the key itself, shown this once.
    created: Option<(String, String)>,
    /// What was typed, re-shown with an error.
    name: String,
    error: Option<String>,
}

async fn list_page(session: &TypedSession, user: &UserInfo, repo: &Repo, created: Option<(String, String)>, error: Option<(String, String)>) -> WebResult<HttpResponse> {
    let keys = repo.api_keys(user.account_id).await?.iter().map(|k| KeyView::new(k, user)).collect();
    let page = PageCtx::new(session, user, "api-keys", "API keys")?;
    let (name, error) = match error {
        Some((name, e)) => (name, Some(e)),
        None => (String::new(), None),
    };
    let tpl = ApiKeysPage { page, keys, created, name, error };
    if tpl.error.is_some() {
        super::page::render_status(actix_web::http::StatusCode::BAD_REQUEST, &tpl)
    } else {
        render(&tpl)
    }
}

/// `GET /api-keys`
pub async fn page(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    list_page(&session, &user, &repo, None, None).await
}

/// `POST /api-keys`: `name` and `role`; the new key is shown once.
pub async fn create(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let typed = f.get("name").unwrap_or("").to_string();
    let checked = ApiKeyName::parse(&typed).map_err(AppError::from).and_then(|n| Ok((n, Role::parse(f.get("role").unwrap_or(""))?)));
    let (name, role) = match checked {
        Ok(v) => v,
        Err(e) => return list_page(&session, &user, &repo, None, Some((typed, e.to_string()))).await,
    };
    let secret = ApiKeySecret::generate(crate::token::random_token());
    match repo.create_api_key(user.account_id, user.id, &name, role, &secret).await {
        Ok(_) => list_page(&session, &user, &repo, Some((name.as_str().to_string(), secret.as_str().to_string())), None).await,
        Err(crate::repo::RepoError::Conflict(m)) => list_page(&session, &user, &repo, None, Some((typed, m))).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /api-keys/{id}/revoke`: the key stops working at once.
pub async fn revoke(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let not_found = || AppError::NotFound("There is no such API key in this account.".into());
    let id = path.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(not_found)?;
    if !repo.revoke_api_key(user.account_id, user.id, id).await? {
        return Err(not_found());
    }
    session.flash(Flash::success("The API key is revoked: requests that send it are refused from now on."));
    Ok(see_other("/api-keys"))
}
