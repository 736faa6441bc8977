//! What every page's layout needs: the user, the CSRF token for forms and htmx, the
//! navigation and a flash message.

use super::error::{AppError, WebResult};
use super::session::{Flash, TypedSession};
use crate::repo::UserInfo;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
    /// A heading shown above the item ("Automations").
    pub group: Option<&'static str>,
}

pub struct PageCtx {
    pub title: String,
    pub csrf: String,
    pub user: UserInfo,
    pub is_admin: bool,
    pub flash: Option<Flash>,
    pub nav: Vec<NavItem>,
}

impl PageCtx {
    pub fn new(session: &TypedSession, user: &UserInfo, section: &str, title: impl Into<String>) -> WebResult<Self> {
        let is_admin = user.role.is_admin();
        let item = |href, label, key: &str, group| NavItem { href, label, active: section == key, group };
        let mut nav = vec![item("/contacts", "Contacts", "contacts", None)];
        if is_admin {
            nav.push(item("/contacts/restore", "Restore", "restore", None));
        }
        nav.push(item("/workflows", "Workflows", "workflows", Some("Automations")));
        if is_admin {
            nav.push(item("/bulk-actions", "Bulk actions", "bulk", Some("Administration")));
            nav.push(item("/audit", "Audit log", "audit", None));
            nav.push(item("/webhooks", "Webhooks", "webhooks", None));
            nav.push(item("/api-keys", "API keys", "api-keys", None));
        }
        Ok(PageCtx {
            title: title.into(),
            csrf: session.csrf_token()?,
            user: user.clone(),
            is_admin,
            flash: session.take_flash(),
            nav,
        })
    }

    pub fn initial(&self) -> String {
        self.user.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()
    }

    pub fn role_label(&self) -> String {
        self.user.role.to_string()
    }
}

pub fn render<T: Template>(tpl: &T) -> WebResult<HttpResponse> {
    render_status(StatusCode::OK, tpl)
}

/// `tpl` as a `status` response: a form shown again with its error (400), a question
/// it must answer first (409).
pub fn render_status<T: Template>(status: StatusCode, tpl: &T) -> WebResult<HttpResponse> {
    Ok(html(status, tpl.render().map_err(AppError::from)?))
}

pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}

/// 303 See Other to `location` (STYLE §8: form posts end with a redirect).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.to_string())).finish()
}

pub use crate::domain::text::{plural, thousands};
pub use crate::domain::{UserZone, When};
