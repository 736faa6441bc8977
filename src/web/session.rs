//! The signed-in user and what the session cookie holds: user id, a session id renewed
//! at every login, the CSRF token and one flash message.

use super::error::AppError;
use crate::domain::{Role, UserId};
use crate::repo::{Repo, UserInfo};
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

const USER_KEY: &str = "uid";
const SID_KEY: &str = "sid";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";

/// A message shown once on the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub kind: String,
    pub text: String,
    /// An optional follow-up action: (label, url). A POST form when `post` is set.
    pub link: Option<(String, String)>,
    #[serde(default)]
    pub post: bool,
    /// Lines under the message, each with an optional link: (text, link label, url).
    #[serde(default)]
    pub details: Vec<(String, Option<(String, String)>)>,
}

impl Flash {
    pub fn success(text: impl Into<String>) -> Self {
        Flash { kind: "success".into(), text: text.into(), link: None, post: false, details: Vec::new() }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Flash { kind: "error".into(), text: text.into(), link: None, post: false, details: Vec::new() }
    }
    pub fn with_post_action(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.link = Some((label.into(), url.into()));
        self.post = true;
        self
    }
    pub fn warning(text: impl Into<String>) -> Self {
        Flash { kind: "warning".into(), ..Flash::success(text) }
    }
    pub fn detail(mut self, text: impl Into<String>, link: Option<(String, String)>) -> Self {
        self.details.push((text.into(), link));
        self
    }
    /// A line under the message about `n` things, when there are any.
    pub fn counted(self, n: usize, text: impl FnOnce(i64) -> String) -> Self {
        if n == 0 {
            return self;
        }
        self.detail(text(n as i64), None)
    }
    pub fn with_link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.link = Some((label.into(), url.into()));
        self
    }
}

pub struct TypedSession(pub Session);

impl TypedSession {
    /// Starts a fresh session for `user`: a new cookie value and session id, so a
    /// session fixed before login is worthless after it.
    pub async fn log_in(&self, repo: &Repo, user: UserId) -> Result<(), AppError> {
        let sid = crate::token::random_token();
        repo.create_session(&sid, user).await?;
        self.0.renew();
        self.0.clear();
        self.insert(USER_KEY, user.0)?;
        self.insert(SID_KEY, sid)?;
        self.insert(CSRF_KEY, crate::token::random_token())?;
        Ok(())
    }

    /// Ends the session on the server too, so a copy of the cookie is worthless.
    pub async fn log_out(&self, repo: &Repo) {
        if let Ok(Some(sid)) = self.0.get::<String>(SID_KEY) {
            if let Err(e) = repo.end_session(&sid).await {
                tracing::error!(error = %e, "could not end a session on the server");
            }
        }
        self.0.purge();
    }

    pub fn session_id(&self) -> Option<String> {
        self.0.get::<String>(SID_KEY).ok().flatten()
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.0.get::<i64>(USER_KEY).ok().flatten().map(UserId)
    }

    /// The CSRF token of this session, created on first use.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        if let Ok(Some(t)) = self.0.get::<String>(CSRF_KEY) {
            return Ok(t);
        }
        let t = crate::token::random_token();
        self.insert(CSRF_KEY, t.clone())?;
        Ok(t)
    }

    pub fn stored_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF_KEY).ok().flatten()
    }

    pub fn flash(&self, flash: Flash) {
        let _ = self.0.insert(FLASH_KEY, flash);
    }

    pub fn take_flash(&self) -> Option<Flash> {
        let f = self.0.get::<Flash>(FLASH_KEY).ok().flatten();
        if f.is_some() {
            self.0.remove(FLASH_KEY);
        }
        f
    }

    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), AppError> {
        self.0.insert(key, value).map_err(|e| AppError::Internal(format!("session: {e}")))
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(TypedSession(req.get_session())))
    }
}

/// A signed-in user of any role. Anonymous requests are refused with 401, which the
/// web layer turns into a redirect to the login page for page loads.
pub struct CurrentUser(pub UserInfo);

/// A signed-in admin (R1, R11): others get 403.
pub struct AdminUser(pub UserInfo);

async fn load_user(req: HttpRequest) -> Result<UserInfo, AppError> {
    let session = TypedSession(req.get_session());
    let (Some(uid), Some(sid)) = (session.user_id(), session.session_id()) else {
        return Err(AppError::Unauthorized);
    };
    let repo = req
        .app_data::<web::Data<Repo>>()
        .ok_or_else(|| AppError::Internal("repository missing".into()))?;
    match repo.session_user(&sid, uid).await? {
        Some(u) => Ok(u),
        None => {
            // signed out, expired, or the user was removed
            session.log_out(repo).await;
            Err(AppError::Unauthorized)
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load_user(req).await.map(CurrentUser) })
    }
}

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = load_user(req).await?;
            if user.role == Role::Admin {
                Ok(AdminUser(user))
            } else {
                Err(AppError::Forbidden("Only admins may do this. Ask an admin of your account.".into()))
            }
        })
    }
}
