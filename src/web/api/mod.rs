//! The JSON API, v1: the same repository calls and rules as the pages (R1–R14, the
//! account's scope), for integrations that hold an API key.
//!
//! - A request is authenticated by `Authorization: Bearer ca_…` alone. The session
//!   cookie is never read here, so a signed-in browser cannot be made to call the API
//!   (no CSRF token is needed or checked under `/api/`).
//! - The key acts as its own user, with the key's role: admin routes answer 403 to a
//!   key with the user role, and every deletion needs `"confirm": "DELETE"`.
//! - Each key may make [`crate::config::Settings::api_rate_per_minute`] requests a
//!   minute; more get 429 with `Retry-After`.
//! - Errors are `application/problem+json` (RFC 9457), with the message the page shows.

pub mod contacts;
pub mod openapi;
pub mod restore;

use super::error::AppError;
use super::RouteInfo;
use crate::domain::ApiKeySecret;
use crate::repo::{ApiCaller, Repo, RepoError};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Declares every API route once, as [`super::ROUTES`] does for the pages: the
/// registration and the table the security tests walk come from the same list.
macro_rules! api_route_table {
    ($( $method:ident $path:literal => $handler:path, $access:ident; )*) => {
        /// Every route of the API, with its full path.
        pub const API_ROUTES: &[RouteInfo] = &[
            $( RouteInfo { method: stringify!($method), path: concat!("/api", $path), access: super::Access::$access }, )*
        ];

        fn routes(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

// `Public` here means "without a key": only the API's own description.
api_route_table! {
    get "/v1/openapi.json" => openapi::document, Public;
    get "/v1/contacts" => contacts::list, User;
    post "/v1/contacts" => contacts::create, User;
    get "/v1/contacts/deleted" => restore::deleted, Admin;
    post "/v1/contacts/delete" => contacts::delete_many, Admin;
    post "/v1/contacts/restore" => restore::restore, Admin;
    post "/v1/contacts/erase" => restore::erase, Admin;
    get "/v1/contacts/{id}" => contacts::show, User;
    delete "/v1/contacts/{id}" => contacts::delete_one, Admin;
    get "/v1/jobs/{id}" => restore::job, Admin;
}

/// Largest JSON body accepted: 10,000 ids fit with room to spare.
pub const MAX_JSON_BYTES: usize = super::form::MAX_BODY_BYTES;

/// The `/api` scope: its routes, and extractor errors as problem documents.
pub fn scope() -> actix_web::Scope {
    web::scope("/api")
        .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::new(StatusCode::BAD_REQUEST, format!("Bad query: {e}")).into()))
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found("Not found.").into()))
        .configure(routes)
        .default_service(web::to(|| async { ApiError::not_found("There is no such API route.").error_response() }))
}

/// An error as `application/problem+json` (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in the words the pages use.
    pub detail: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError { status, detail: detail.into(), retry_after: None }
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
    fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Send a valid API key as “Authorization: Bearer ca_…”. Keys are made on the API keys page.")
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match &e {
            // the request was well formed; what it asks for breaks a rule
            AppError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            other => other.status_code(),
        };
        let detail = match &e {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "API request failed");
                "The server could not complete this request. Nothing was changed; please try again.".to_string()
            }
            other => other.to_string(),
        };
        let retry_after = matches!(e, AppError::Busy).then_some(super::error::RETRY_AFTER_SECS as u64);
        ApiError { status, detail, retry_after }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        AppError::from(e).into()
    }
}

impl From<crate::domain::InvalidInput> for ApiError {
    fn from(e: crate::domain::InvalidInput) -> Self {
        Self::unprocessable(e.0)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
        };
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// Requests per key and minute, counted in fixed one-minute windows. Only keys that
/// exist are counted, so the table holds at most one entry per key.
pub struct ApiRateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<i64, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl ApiRateLimit {
    pub fn new(per_minute: u32) -> Self {
        ApiRateLimit { per_minute: per_minute.max(1), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request of `key`; `Err(seconds)` until its window ends when it has had
    /// its share.
    pub fn take(&self, key: i64, now: Instant) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, used) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *used = 0;
        }
        if *used >= self.per_minute {
            let left = WINDOW.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs().max(1));
        }
        *used += 1;
        Ok(())
    }
}

async fn authenticate(req: &HttpRequest) -> ApiResult<ApiCaller> {
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(ApiKeySecret::from_bearer)
        .ok_or_else(ApiError::unauthorized)?;
    let repo = req.app_data::<web::Data<Repo>>().ok_or_else(|| ApiError::from(AppError::Internal("no repository".into())))?;
    let caller = repo.api_caller(&secret).await?.ok_or_else(ApiError::unauthorized)?;
    if let Some(limit) = req.app_data::<web::Data<ApiRateLimit>>() {
        if let Err(secs) = limit.take(caller.key_id, Instant::now()) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("This API key has made its {} requests for this minute. Try again in {secs} s.", limit.per_minute),
            );
            e.retry_after = Some(secs);
            return Err(e);
        }
    }
    Ok(caller)
}

/// The most items a page of the API holds.
pub const MAX_LIMIT: u32 = 200;

/// The page size a list asked for: 50 unless given, and 1 to [`MAX_LIMIT`].
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::unprocessable(format!("limit must be between 1 and {MAX_LIMIT}.")));
    }
    Ok(limit)
}

/// The caller of an API route open to every key.
pub struct ApiUser(pub ApiCaller);

/// The caller of an admin route: a key with the admin role (R1, R11).
pub struct ApiAdmin(pub ApiCaller);

type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ApiUser) })
    }
}

impl FromRequest for ApiAdmin {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req).await?;
            if !caller.user.role.is_admin() {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("The API key “{}” has the user role; only an admin key may do this.", caller.key_name),
                ));
            }
            Ok(ApiAdmin(caller))
        })
    }
}

/// The JSON body of a request, read only once the caller's key has been checked (the
/// handlers take it after [`ApiUser`] or [`ApiAdmin`]): a request without a valid key
/// never makes the server hold its body. At most [`MAX_JSON_BYTES`].
pub struct JsonBody(Payload);

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_JSON_BYTES);
        std::future::ready(if !is_json {
            Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send the body as JSON, with “Content-Type: application/json”."))
        } else if too_large {
            Err(body_too_large())
        } else {
            Ok(JsonBody(payload.take()))
        })
    }
}

fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("The body is larger than {} MiB.", MAX_JSON_BYTES / (1024 * 1024)))
}

impl JsonBody {
    /// Reads the body and parses it as `T`.
    pub async fn parse<T: serde::de::DeserializeOwned>(self) -> ApiResult<T> {
        use futures_util::StreamExt;
        let mut stream = self.0;
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("The body could not be read: {e}")))?;
            if bytes.len() + chunk.len() > MAX_JSON_BYTES {
                return Err(body_too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("The JSON body could not be read: {e}")))
    }
}

/// Parses an id from a path; anything else is a 404, as on the pages.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| ApiError::not_found(format!("There is no such {what} in this account.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_50_unless_asked_and_1_to_200() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(MAX_LIMIT)).unwrap(), MAX_LIMIT);
        for bad in [0, MAX_LIMIT + 1, u32::MAX] {
            let err = page_limit(Some(bad)).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "limit {bad}");
        }
    }

    #[test]
    fn a_key_gets_its_share_per_window_then_waits() {
        let limit = ApiRateLimit::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limit.take(1, t0).is_ok());
        }
        let wait = limit.take(1, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, 40);
        // another key has its own share
        assert!(limit.take(2, t0).is_ok());
        // a new window
        assert!(limit.take(1, t0 + Duration::from_secs(61)).is_ok());
    }
}
