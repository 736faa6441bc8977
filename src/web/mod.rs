//! The web layer: routes, templates' structs, session, CSRF and errors.

pub mod error;
pub mod health;
pub mod static_files;

use crate::config::Settings;
use crate::repo::Repo;
use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;

pub fn server(listener: TcpListener, repo: Repo, _key: Key, _settings: &Settings) -> anyhow::Result<Server> {
    let data = web::Data::new(repo);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(data.clone())
            .route("/healthz", web::get().to(health::healthz))
            .route("/static/{path:.*}", web::get().to(static_files::serve))
            .route("/", web::get().to(health::home))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
