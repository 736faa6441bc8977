//! `GET /healthz` (200 when the database answers), the home redirect and the 404 page.

use super::error::AppError;
use super::page::see_other;
use crate::repo::Repo;
use actix_web::{web, HttpResponse};

pub async fn healthz(repo: web::Data<Repo>) -> HttpResponse {
    match repo.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
        }
    }
}

pub async fn home() -> HttpResponse {
    see_other("/contacts")
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("There is no page at this address.".into()))
}
