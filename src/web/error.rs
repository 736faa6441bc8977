//! One error type for the web layer (STYLE §4): domain and repository errors become
//! 400/403/404/409 with a message for the user; a database too busy to answer in time
//! becomes 503 with `Retry-After`; anything else is logged and shown as a plain 500
//! page without internals. htmx requests get the message as a fragment
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
    /// The database is busy with other changes (its write lock, or every connection, is
    /// taken for longer than a request waits): 503, try again shortly.
    #[error("The database is busy with other changes right now. Please try again in a few seconds.")]
    Busy,
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
            busy if busy.is_busy() => {
                tracing::warn!(error = %busy, "database busy; answered 503");
                AppError::Busy
            }
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
            AppError::Busy => "Busy, try again",
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
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
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
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
        retry_after(self, &mut res);
        res.body(body)
    }
}

/// Seconds a client should wait before trying a busy request again.
pub const RETRY_AFTER_SECS: u32 = 5;

fn retry_after(err: &AppError, res: &mut actix_web::HttpResponseBuilder) {
    if matches!(err, AppError::Busy) {
        res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
    }
}

/// For htmx requests: the error as an alert swapped into `#alerts`.
pub fn htmx_error_response(err: &AppError) -> HttpResponse {
    if let AppError::Internal(detail) = err {
        tracing::error!(error = %detail, "request failed");
    }
    let message = err.public_message();
    let body = ErrorFragment { message: &message }.render().unwrap_or_default();
    let mut res = HttpResponse::build(err.status_code());
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("HX-Retarget", "#alerts"))
        .insert_header(("HX-Reswap", "innerHTML"));
    retry_after(err, &mut res);
    res.body(body)
}

pub type WebResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    /// A real "database is locked": a second writer on a file whose write lock another
    /// connection holds, with no busy timeout to wait it out.
    async fn locked_error() -> sqlx::Error {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::ZERO);
        let mut holder = opts.connect().await.expect("first connection");
        sqlx::query("create table t (x integer)").execute(&mut holder).await.expect("a table");
        let mut tx = holder.begin_with("BEGIN IMMEDIATE").await.expect("the write lock");
        sqlx::query("insert into t values (1)").execute(&mut *tx).await.expect("a write");
        let mut other = opts.connect().await.expect("second connection");
        let err = sqlx::query("insert into t values (2)").execute(&mut other).await.expect_err("the file is locked");
        tx.rollback().await.expect("release the lock");
        err
    }

    #[tokio::test]
    async fn a_locked_sqlite_database_is_a_503_with_retry_after_not_a_500() {
        let err = locked_error().await;
        assert!(err.to_string().contains("database is locked"), "{err}");
        let repo_err = RepoError::Database(err);
        assert!(repo_err.is_busy());
        let app: AppError = repo_err.into();
        assert_eq!(app.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let res = app.error_response();
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        let res = htmx_error_response(&app);
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn no_free_connection_is_a_503_and_other_database_errors_stay_500() {
        let app: AppError = RepoError::Database(sqlx::Error::PoolTimedOut).into();
        assert_eq!(app.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let app: AppError = RepoError::Database(sqlx::Error::RowNotFound).into();
        assert_eq!(app.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(app.error_response().headers().get(header::RETRY_AFTER).is_none());
    }
}
