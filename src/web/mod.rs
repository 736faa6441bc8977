//! The web layer: routes, templates' structs, session, CSRF and errors. Handlers parse
//! their input into domain values and call the repository; they never see SQL.

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod contacts;
pub mod error;
pub mod export;
pub mod form;
pub mod handover;
pub mod health;
pub mod import;
pub mod middleware;
pub mod page;
pub mod restore;
pub mod session;
pub mod static_files;
pub mod throttle;
pub mod workflows;

use crate::config::Settings;
use crate::repo::Repo;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{time::Duration as CookieDuration, Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;

/// Every route of the app, in one table: the security tests walk it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/static/{path:.*}", web::get().to(static_files::serve))
        .route("/", web::get().to(health::home))
        .route("/favicon.ico", web::get().to(static_files::favicon))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/contacts", web::get().to(contacts::list))
        .route("/contacts", web::post().to(contacts::create))
        .route("/contacts/new", web::get().to(contacts::new_form))
        .route("/contacts/export.csv", web::get().to(export::export))
        .route("/contacts/import", web::get().to(import::form))
        .route("/contacts/import", web::post().to(import::import))
        .route("/contacts/delete-preview", web::get().to(contacts::delete_preview))
        .route("/contacts/delete", web::post().to(contacts::delete))
        .route("/contacts/tags", web::post().to(contacts::bulk_tag))
        .route("/contacts/restore", web::get().to(restore::page))
        .route("/contacts/restore", web::post().to(restore::restore))
        .route("/contacts/erase", web::post().to(restore::erase))
        .route("/batches/{id}/restore", web::post().to(restore::restore_batch))
        .route("/audit", web::get().to(audit::page))
        .route("/bulk-actions", web::get().to(bulk::page))
        .route("/bulk-actions/{id}/progress", web::get().to(bulk::progress))
        .route("/bulk-actions/{id}/cancel", web::post().to(bulk::cancel))
        .route("/workflows", web::get().to(workflows::list))
        .route("/workflows", web::post().to(workflows::create))
        .route("/workflows/new", web::get().to(workflows::new_form))
        .route("/workflows/{id}", web::get().to(workflows::show))
        .route("/workflows/{id}", web::post().to(workflows::update))
        .route("/workflows/{id}/status", web::post().to(workflows::set_status))
        .route("/workflows/{id}/delete", web::post().to(workflows::remove))
        .route("/workflows/{id}/contacts", web::get().to(workflows::picker))
        .route("/workflows/{id}/test", web::get().to(workflows::test_preview))
        .route("/workflows/{id}/test", web::post().to(workflows::test_run))
        .route("/contacts/{id}", web::get().to(contacts::show))
        .route("/contacts/{id}/tags", web::post().to(contacts::add_tag))
        .route("/contacts/{id}/tags/remove", web::post().to(contacts::remove_tag))
        .route("/contacts/{id}/files/{file}", web::get().to(contacts::download_file))
        .route("/contacts/{id}/opportunities/{item}/close", web::post().to(handover::close_opportunity))
        .route("/contacts/{id}/opportunities/{item}/move", web::post().to(handover::move_opportunity))
        .route("/contacts/{id}/appointments/{item}/cancel", web::post().to(handover::cancel_appointment))
        .route("/contacts/{id}/appointments/{item}/move", web::post().to(handover::move_appointment));
}

pub fn server(listener: TcpListener, repo: Repo, key: Key, settings: &Settings) -> anyhow::Result<Server> {
    let data = web::Data::new(repo);
    let bulk = web::Data::new(settings.bulk);
    let throttle = web::Data::new(throttle::LoginThrottle::default());
    let secure = settings.secure_cookies;
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name("contacts_admin_session".into())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(secure)
            // the cookie is encrypted: its contents (user id, CSRF token) are not readable
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(CookieDuration::hours(12)))
            .build();
        App::new()
            .wrap(from_fn(middleware::headers))
            .wrap(from_fn(middleware::csrf))
            .wrap(sessions)
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(data.clone())
            .app_data(bulk.clone())
            .app_data(throttle.clone())
            .app_data(web::PathConfig::default().error_handler(|_, _| error::AppError::NotFound("Not found.".into()).into()))
            .app_data(web::QueryConfig::default().error_handler(|e, _| error::AppError::BadRequest(format!("Bad query: {e}")).into()))
            .configure(routes)
            .default_service(web::to(health::not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
