//! `GET /healthz`: 200 when the database answers.

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
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body("<!doctype html><title>contacts-admin</title><h1>contacts-admin</h1>")
}
