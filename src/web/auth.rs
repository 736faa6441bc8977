//! Login and logout (argon2 hashes; the session is renewed at login).

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::{render, see_other};
use super::proxy::TrustedProxies;
use super::session::TypedSession;
use super::throttle::{LoginThrottle, Refusal};
use crate::password::PasswordChecks;
use crate::repo::Repo;
use actix_web::http::{header, StatusCode};
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

/// Seconds a client is asked to wait when every password check is taken.
const BUSY_RETRY_SECS: u64 = 5;

/// Longest `next` followed after sign-in; a longer one is not a page of this site.
const MAX_NEXT_LEN: usize = 2048;

/// Only a plain path of this site is followed after sign-in, never another site.
///
/// Browsers strip tabs and newlines from a `Location` and read `\` as `/`, so a
/// `next` of `/%09/evil.example` (a tab between the slashes) or `/\evil.example`
/// becomes `//evil.example`, a link to another host. Rather than guess how each
/// browser cleans a URL, only printable ASCII without spaces or backslashes is
/// accepted, starting with exactly one `/`. That also keeps CR/LF out of the header
/// (which would otherwise fail to build, a 500).
pub fn is_safe_next(n: &str) -> bool {
    n.len() <= MAX_NEXT_LEN
        && n.starts_with('/')
        && !n.starts_with("//")
        && n.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

/// Where to go after sign-in: `next` when it is a safe local path, else the contacts.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_safe_next(n) => n.to_string(),
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

/// The login page again with a message, as a `status` response; a refusal that
/// passes with time says when to come back (`Retry-After`, seconds).
fn login_page_with(
    session: &TypedSession,
    status: StatusCode,
    email: String,
    next: String,
    error: String,
    retry_after: Option<u64>,
) -> WebResult<HttpResponse> {
    let page = LoginPage { csrf: session.csrf_token()?, email, error: Some(error), next };
    let body = page.render().map_err(AppError::from)?;
    let mut res = HttpResponse::build(status);
    if let Some(secs) = retry_after {
        res.insert_header((header::RETRY_AFTER, secs.max(1).to_string()));
    }
    Ok(res.content_type("text/html; charset=utf-8").body(body))
}

pub async fn login(
    req: HttpRequest,
    session: TypedSession,
    repo: web::Data<Repo>,
    throttle: web::Data<LoginThrottle>,
    checks: web::Data<PasswordChecks>,
    proxies: web::Data<TrustedProxies>,
    form: Fields,
) -> WebResult<HttpResponse> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("").to_string();
    let next = safe_next(form.get("next"));
    let addr = proxies.client_addr(&req);
    // The slot is taken before anything is checked: simultaneous attempts for one
    // email and address cannot all slip past the limit.
    let attempt = match throttle.begin(&email, &addr) {
        Ok(a) => a,
        Err(refusal) => {
            let wait = refusal.retry_after();
            let message = match refusal {
                Refusal::LockedOut(_) => {
                    let minutes = wait.as_secs().div_ceil(60).max(1);
                    format!("Too many failed sign-ins. Try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" })
                }
                Refusal::InFlight => "Too many sign-ins for this email at once. Try again in a moment.".to_string(),
            };
            return login_page_with(&session, StatusCode::TOO_MANY_REQUESTS, email, next, message, Some(wait.as_secs()));
        }
    };
    // No stored email holds control characters (and PostgreSQL refuses a NUL byte).
    let plausible = !email.is_empty() && email.len() <= 254 && !email.chars().any(char::is_control);
    let user = if plausible {
        match repo.login_user(&email).await {
            Ok(u) => u,
            Err(e) => {
                // the database failed, not the password: no try is used up
                attempt.not_checked();
                return Err(e.into());
            }
        }
    } else {
        None
    };
    // Unknown emails are checked against a decoy hash: same time, same message.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = match checks.verify(stored, password).await {
        Ok(ok) => ok,
        Err(busy) => {
            attempt.not_checked();
            return login_page_with(&session, StatusCode::SERVICE_UNAVAILABLE, email, next, busy.to_string(), Some(BUSY_RETRY_SECS));
        }
    };
    match (ok, user) {
        (true, Some(u)) => {
            attempt.succeeded();
            session.log_in(&repo, u.id).await?;
            Ok(see_other(&next))
        }
        _ => {
            attempt.failed();
            let message = "That email and password do not match an account.".to_string();
            login_page_with(&session, StatusCode::UNAUTHORIZED, email, next, message, None)
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
        assert_eq!(super::safe_next(Some("/contacts/42")), "/contacts/42");
        assert_eq!(super::safe_next(Some("/audit?action=delete&page=2")), "/audit?action=delete&page=2");
        assert_eq!(super::safe_next(Some("/contacts/%2F%2Fevil.example")), "/contacts/%2F%2Fevil.example");
        assert_eq!(super::safe_next(None), "/contacts");
    }

    #[test]
    fn next_never_leaves_the_site() {
        let refused = [
            "",
            "contacts",
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/\\evil.example",
            "\\/evil.example",
            "/contacts\\..\\x",
            // browsers drop tabs and newlines: these read as //evil.example
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "/\r\n/evil.example",
            // CR/LF would split the header; other controls and spaces are no path
            "/contacts\r\nSet-Cookie: x=1",
            "/contacts\0",
            "/contacts\u{7f}",
            "/contacts\u{85}",
            "/ /evil.example",
            "/contacts page",
            "/\u{a0}/evil.example",
            "/\u{3000}/evil.example",
            "/contacts/é",
        ];
        for n in refused {
            assert_eq!(super::safe_next(Some(n)), "/contacts", "{n:?} must fall back to the contacts");
        }
        let long = format!("/contacts?q={}", "a".repeat(super::MAX_NEXT_LEN));
        assert_eq!(super::safe_next(Some(&long)), "/contacts");
    }
}
