//! What htmx requests get back: the extractor that tells them apart, and the alert
//! fragment that answers a change made in place.

use super::error::{AppError, WebResult};
use super::page::{html, see_other};
use super::session::{Flash, TypedSession};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
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
    /// What a request's headers say; the guards outside the handlers read them too.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Htmx { request: headers.contains_key("HX-Request"), boosted: headers.contains_key("HX-Boosted") }
    }

    /// An htmx request for a part of a page (not a boosted whole page).
    pub fn wants_fragment(&self) -> bool {
        self.request && !self.boosted
    }

    /// Sends the browser to `to`: htmx loads it as a whole page (`HX-Redirect`), where
    /// a 303 would have it swap the page into the element that asked.
    pub fn redirect(&self, to: &str) -> HttpResponse {
        if self.request {
            HttpResponse::Ok().insert_header(("HX-Redirect", to.to_string())).finish()
        } else {
            see_other(to)
        }
    }
}

impl FromRequest for Htmx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Htmx::from_headers(req.headers())))
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
    let mut res = html(status, body);
    res.headers_mut().insert(HeaderName::from_static("hx-trigger"), HeaderValue::from_static("contacts-changed"));
    res
}

/// A change made in place answered with its `flash` as the alert, the list refreshed.
pub fn alert_in_place(session: &TypedSession, flash: Flash) -> WebResult<HttpResponse> {
    Ok(contacts_changed(StatusCode::OK, alert_html(session, flash)?))
}
