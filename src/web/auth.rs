//! Login and logout (argon2 hashes; the session is renewed at login).

use super::error::WebResult;
use super::form::Fields;
use super::page::{render, see_other};
use super::session::TypedSession;
use crate::repo::Repo;
use super::throttle::LoginThrottle;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    next: String,
}

/// Only local paths are followed after login, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/contacts".to_string(),
    }
}

pub async fn login_form(session: TypedSession, query: web::Query<Vec<(String, String)>>) -> WebResult<HttpResponse> {
    if session.user_id().is_some() {
        return Ok(see_other("/contacts"));
    }
    let next = safe_next(query.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str()));
    render(&LoginPage { csrf: session.csrf_token()?, email: String::new(), error: None, next })
}

pub async fn login(
    req: HttpRequest,
    session: TypedSession,
    repo: web::Data<Repo>,
    throttle: web::Data<LoginThrottle>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("").to_string();
    let next = safe_next(form.get("next"));
    let addr = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    if let Some(wait) = throttle.blocked_for(&email, &addr) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let page = LoginPage {
            csrf: session.csrf_token()?,
            email,
            error: Some(format!("Too many failed sign-ins. Try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" })),
            next,
        };
        let body = page.render().map_err(super::error::AppError::from)?;
        return Ok(HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", wait.as_secs().max(1).to_string()))
            .content_type("text/html; charset=utf-8")
            .body(body));
    }
    // No stored email holds control characters (and PostgreSQL refuses a NUL byte).
    let plausible = !email.is_empty() && email.len() <= 254 && !email.chars().any(char::is_control);
    let user = if plausible { repo.login_user(&email).await? } else { None };
    // Verify against a decoy hash for unknown emails: same time, same message. Hashing
    // takes tens of milliseconds of CPU: off the request threads.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = web::block(move || match stored {
        Some(hash) => crate::password::verify(&hash, &password),
        None => {
            crate::password::verify(crate::password::decoy_hash(), &password);
            false
        }
    })
    .await
    .map_err(|e| super::error::AppError::Internal(format!("password check: {e}")))?;
    match (ok, user) {
        (true, Some(u)) => {
            throttle.record_success(&email, &addr);
            session.log_in(&repo, u.id).await?;
            Ok(see_other(&next))
        }
        _ => {
            throttle.record_failure(&email, &addr);
            let page = LoginPage {
                csrf: session.csrf_token()?,
                email,
                error: Some("That email and password do not match an account.".into()),
                next,
            };
            let body = page.render().map_err(super::error::AppError::from)?;
            Ok(HttpResponse::Unauthorized().content_type("text/html; charset=utf-8").body(body))
        }
    }
}

pub async fn logout(session: TypedSession, repo: web::Data<Repo>) -> HttpResponse {
    session.log_out(&repo).await;
    see_other("/login")
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(super::safe_next(Some("/contacts?q=a")), "/contacts?q=a");
        assert_eq!(super::safe_next(Some("//evil.example")), "/contacts");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/contacts");
        assert_eq!(super::safe_next(None), "/contacts");
    }
}
