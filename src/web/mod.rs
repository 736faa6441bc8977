//! The web layer: routes, templates' structs, session, CSRF and errors. Handlers parse
//! their input into domain values and call the repository; they never see SQL.

pub mod api;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod contacts;
pub mod error;
pub mod export;
pub mod form;
pub mod fragments;
pub mod handover;
pub mod health;
pub mod import;
pub mod me;
pub mod middleware;
pub mod page;
pub mod proxy;
pub mod record_export;
pub mod restore;
pub mod session;
pub mod static_files;
pub mod throttle;
pub mod webhooks;
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

/// Who may use a route: anyone, any signed-in user, or admins only (R1, R11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    User,
    Admin,
}

/// One entry of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Declares every route once: the registration and the table [`ROUTES`] that the
/// security tests walk come from the same list, so a new route cannot be missed.
macro_rules! route_table {
    ($( $method:ident $path:literal => $handler:path, $access:ident; )*) => {
        pub const ROUTES: &[RouteInfo] = &[
            $( RouteInfo { method: stringify!($method), path: $path, access: Access::$access }, )*
        ];

        pub fn routes(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

// Specific paths come before the `{id}` patterns they would otherwise match.
route_table! {
    get "/healthz" => health::healthz, Public;
    get "/static/{path:.*}" => static_files::serve, Public;
    get "/" => health::home, Public;
    get "/favicon.ico" => static_files::favicon, Public;
    get "/login" => auth::login_form, Public;
    post "/login" => auth::login, Public;
    post "/logout" => auth::logout, Public;
    post "/me/time-zone" => me::set_time_zone, User;
    get "/contacts" => contacts::list, User;
    post "/contacts" => contacts::create, User;
    get "/contacts/new" => contacts::new_form, User;
    get "/contacts/export.csv" => export::export, User;
    get "/contacts/export.zip" => record_export::export, User;
    get "/contacts/import" => import::form, User;
    post "/contacts/import" => import::import, User;
    get "/contacts/count" => contacts::count, User;
    get "/contacts/delete-preview" => contacts::delete_preview, Admin;
    post "/contacts/delete" => contacts::delete, Admin;
    post "/contacts/tags" => contacts::bulk_tag, User;
    get "/contacts/restore" => restore::page, Admin;
    post "/contacts/restore" => restore::restore, Admin;
    post "/contacts/erase" => restore::erase, Admin;
    post "/batches/{id}/restore" => restore::restore_batch, Admin;
    get "/audit" => audit::page, Admin;
    get "/bulk-actions" => bulk::page, Admin;
    get "/bulk-actions/{id}/progress" => bulk::progress, Admin;
    post "/bulk-actions/{id}/cancel" => bulk::cancel, Admin;
    get "/api-keys" => api_keys::page, Admin;
    post "/api-keys" => api_keys::create, Admin;
    post "/api-keys/{id}/revoke" => api_keys::revoke, Admin;
    get "/webhooks" => webhooks::page, Admin;
    post "/webhooks" => webhooks::create, Admin;
    get "/webhooks/{id}" => webhooks::show, Admin;
    post "/webhooks/{id}/status" => webhooks::set_status, Admin;
    post "/webhooks/{id}/delete" => webhooks::remove, Admin;
    post "/webhooks/{id}/deliveries/{delivery}/resend" => webhooks::resend, Admin;
    get "/workflows" => workflows::list, User;
    post "/workflows" => workflows::create, User;
    get "/workflows/new" => workflows::new_form, User;
    get "/workflows/{id}" => workflows::show, User;
    post "/workflows/{id}" => workflows::update, User;
    post "/workflows/{id}/status" => workflows::set_status, User;
    post "/workflows/{id}/delete" => workflows::remove, User;
    get "/workflows/{id}/contacts" => workflows::picker, User;
    get "/workflows/{id}/test" => workflows::test_preview, User;
    post "/workflows/{id}/test" => workflows::test_run, User;
    get "/contacts/{id}" => contacts::show, User;
    post "/contacts/{id}/tags" => contacts::add_tag, User;
    post "/contacts/{id}/tags/remove" => contacts::remove_tag, User;
    get "/contacts/{id}/files/{file}" => contacts::download_file, User;
    post "/contacts/{id}/opportunities/{item}/close" => handover::close_opportunity, User;
    post "/contacts/{id}/opportunities/{item}/move" => handover::move_opportunity, User;
    post "/contacts/{id}/appointments/{item}/cancel" => handover::cancel_appointment, User;
    post "/contacts/{id}/appointments/{item}/move" => handover::move_appointment, User;
}

pub fn server(listener: TcpListener, repo: Repo, key: Key, settings: &Settings) -> anyhow::Result<Server> {
    let data = web::Data::new(repo);
    let bulk = web::Data::new(settings.bulk);
    let webhooks = web::Data::new(settings.webhooks.clone());
    let api_rate = web::Data::new(api::ApiRateLimit::new(settings.api_rate_per_minute));
    let throttle = web::Data::new(throttle::LoginThrottle::default());
    // one set of permits for the whole server, shared by its worker threads
    let password_checks = web::Data::new(crate::password::PasswordChecks::per_core());
    let proxies = web::Data::new(proxy::TrustedProxies::new(settings.trusted_proxies.iter().copied()));
    let secure = settings.secure_cookies;
    let hsts = web::Data::new(middleware::Hsts(secure));
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
            .app_data(webhooks.clone())
            .app_data(api_rate.clone())
            .app_data(throttle.clone())
            .app_data(password_checks.clone())
            .app_data(proxies.clone())
            .app_data(hsts.clone())
            .app_data(web::PathConfig::default().error_handler(|_, _| error::AppError::NotFound("Not found.".into()).into()))
            .app_data(web::QueryConfig::default().error_handler(|e, _| error::AppError::BadRequest(format!("Bad query: {e}")).into()))
            .service(api::scope())
            .configure(routes)
            .default_service(web::to(health::not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
