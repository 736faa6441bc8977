//! Static assets (htmx, CSS, the page script) embedded in the binary with rust-embed.

use actix_web::{http::header, web, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match Assets::get(path.as_str()) {
        Some(file) => HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().content_type("text/plain").body("not found"),
    }
}

/// Browsers ask for `/favicon.ico`; the icon is an SVG.
pub async fn favicon() -> HttpResponse {
    match Assets::get("favicon.svg") {
        Some(file) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(file.data.into_owned()),
        None => HttpResponse::NoContent().finish(),
    }
}
