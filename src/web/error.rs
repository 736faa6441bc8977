//! One error type for the web layer (STYLE §4): domain and repository errors become
//! 400/403/404/409 with a message for the user; anything else is logged and shown as
//! a plain 500 page without internals. htmx requests get the message as a fragment
//! placed in the page's alert area.

use crate::domain::InvalidInput;
use crate::repo::RepoError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// Not signed in.
    #[error("Please sign in.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The request is too large.")]
    PayloadTooLarge,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<InvalidInput> for AppError {
    fn from(e: InvalidInput) -> Self {
        AppError::BadRequest(e.0)
    }
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Invalid(i) => AppError::BadRequest(i.0),
            RepoError::NotFound(m) => AppError::NotFound(m),
            RepoError::Conflict(m) => AppError::Conflict(m),
            RepoError::Forbidden(m) => AppError::Forbidden(m),
            // the handlers that can ask for the typed DELETE do so before this
            RepoError::ConfirmationRequired(m) => AppError::Conflict(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(format!("{e:#}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(source = r#"<div class="alert alert-error" role="alert">{{ message }}</div>"#, ext = "html")]
struct ErrorFragment<'a> {
    message: &'a str,
}

impl AppError {
    fn title(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "That did not work",
            AppError::Unauthorized => "Please sign in",
            AppError::Forbidden(_) => "Not allowed",
            AppError::NotFound(_) => "Not found",
            AppError::Conflict(_) => "Conflict",
            AppError::PayloadTooLarge => "Too large",
            AppError::Internal(_) => "Something went wrong",
        }
    }

    /// What the user reads: never internals.
    fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "The server could not complete this request. Nothing was changed; please try again.".into(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(detail) = self {
            tracing::error!(error = %detail, "request failed");
        }
        let message = self.public_message();
        let body = ErrorPage { status: self.status_code().as_u16(), title: self.title(), message: &message }
            .render()
            .unwrap_or_else(|_| message.clone());
        HttpResponse::build(self.status_code())
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(body)
    }
}

/// For htmx requests: the error as an alert swapped into `#alerts`.
pub fn htmx_error_response(err: &AppError) -> HttpResponse {
    if let AppError::Internal(detail) = err {
        tracing::error!(error = %detail, "request failed");
    }
    let message = err.public_message();
    let body = ErrorFragment { message: &message }.render().unwrap_or_default();
    HttpResponse::build(err.status_code())
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("HX-Retarget", "#alerts"))
        .insert_header(("HX-Reswap", "innerHTML"))
        .body(body)
}

pub type WebResult<T> = Result<T, AppError>;
