//! What htmx requests get back: the extractor that tells them apart, and the alert
//! fragment that answers a change made in place.

use super::error::{AppError, WebResult};
use super::session::{Flash, TypedSession};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use std::future::{ready, Ready};

/// Whether the request came from htmx, and whether as a boosted page load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Htmx {
    pub request: bool,
    pub boosted: bool,
}

impl Htmx {
    /// An htmx request for a part of a page (not a boosted whole page).
    pub fn wants_fragment(&self) -> bool {
        self.request && !self.boosted
    }
}

impl FromRequest for Htmx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let has = |name: &str| req.headers().contains_key(name);
        ready(Ok(Htmx { request: has("HX-Request"), boosted: has("HX-Boosted") }))
    }
}

#[derive(Template)]
#[template(path = "_alert.html")]
struct AlertFragment {
    flash: Flash,
    csrf: String,
}

/// `flash` as the alert an htmx request swaps into `#alerts`, as a page shows it.
pub fn alert_html(session: &TypedSession, flash: Flash) -> WebResult<String> {
    Ok(AlertFragment { flash, csrf: session.csrf_token()? }.render()?)
}

/// The answer to a change made in place: `body` for `#alerts`, and the event that tells
/// the list to refresh itself (`contacts-changed`).
pub fn contacts_changed(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").insert_header(("HX-Trigger", "contacts-changed")).body(body)
}
