//! The OpenAPI 3.1 description of the API, generated from the handlers' own
//! annotations and types, served at `/api/v1/openapi.json`.

use super::{contacts, restore, Problem};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "contacts-admin API",
        version = "1",
        description = "Delete, restore and erase an account's contacts with the same rules as the pages. \
            Authenticate with an API key from the API keys page: `Authorization: Bearer ca_…`. \
            Errors are application/problem+json (RFC 9457)."
    ),
    paths(
        contacts::list,
        contacts::show,
        contacts::create,
        contacts::delete_one,
        contacts::delete_many,
        restore::deleted,
        restore::restore,
        restore::erase,
        restore::job,
    ),
    components(schemas(Problem)),
    modifiers(&BearerKey),
    tags(
        (name = "contacts", description = "Live contacts"),
        (name = "deletion", description = "Deleting contacts (admin keys; \"confirm\": \"DELETE\")"),
        (name = "restore", description = "Deleted contacts: restore within 60 days, or erase now (admin keys)"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ca_ followed by 64 hex digits").build()),
            );
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(ApiDoc::openapi().to_json().unwrap_or_default())
}
