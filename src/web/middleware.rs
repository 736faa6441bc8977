//! Request guards that apply to every route, so that a new route cannot forget them:
//! CSRF on state-changing requests, security headers, body size limits, and the
//! translation of "not signed in" into a redirect to the login page.

use super::error::{htmx_error_response, AppError};
use super::form::MAX_BODY_BYTES;
use super::fragments::Htmx;
use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

/// Largest CSV import accepted.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Largest sign-in form accepted (an email, a password, the token and `next`).
pub const MAX_LOGIN_BODY_BYTES: usize = 16 * 1024;

/// Whether responses carry `Strict-Transport-Security`: on when the server is told it
/// is reached over https (`--secure-cookies`); over plain http the header would be
/// ignored by browsers, and a development server must not pin `localhost` to https.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hsts(pub bool);

fn hsts_on(req: &ServiceRequest) -> bool {
    req.app_data::<actix_web::web::Data<Hsts>>().is_some_and(|h| h.0)
}

fn reject(req: ServiceRequest, err: AppError) -> ServiceResponse<BoxBody> {
    let mut res = if Htmx::from_headers(req.headers()).request { htmx_error_response(&err) } else { err.error_response() };
    // The CSRF guard sits outside `headers`: its refusals need the headers too.
    security_headers(res.headers_mut(), hsts_on(&req));
    req.into_response(res)
}

/// Compares without stopping at the first difference, so timing reveals nothing.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// How far into a multipart body the `csrf_token` part must be complete.
const MULTIPART_TOKEN_WITHIN: usize = 16 * 1024;

/// What the start of a multipart body says about its token.
enum FirstPart {
    Token(String),
    /// The first part is something else (or the body is not multipart): no token.
    Absent,
    /// The first part is not complete in the bytes read so far.
    NeedMore,
}

/// Reads the first part of a multipart body from the bytes received so far. Browsers
/// send the parts in the order of the form, and the upload forms put `csrf_token`
/// first, so the token is known before any of the file has to be read.
async fn first_part(headers: &header::HeaderMap, head: Bytes) -> FirstPart {
    let stream = futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(head) });
    let mut parts = actix_multipart::Multipart::new(headers, stream);
    let mut field = match parts.next().await {
        Some(Ok(f)) => f,
        Some(Err(actix_multipart::MultipartError::Incomplete)) => return FirstPart::NeedMore,
        Some(Err(_)) | None => return FirstPart::Absent,
    };
    if field.name() != Some("csrf_token") {
        return FirstPart::Absent;
    }
    let mut value = Vec::new();
    while let Some(chunk) = field.next().await {
        match chunk {
            Ok(c) if value.len() + c.len() <= 1024 => value.extend_from_slice(&c),
            Ok(_) => return FirstPart::Absent,
            Err(actix_multipart::MultipartError::Incomplete) => return FirstPart::NeedMore,
            Err(_) => return FirstPart::Absent,
        }
    }
    match String::from_utf8(value) {
        Ok(v) => FirstPart::Token(v.trim().to_string()),
        Err(_) => FirstPart::Absent,
    }
}

type BodyStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>>;

/// CSRF (SPEC §4): every POST carries the session's token, in the `X-CSRF-Token` header
/// (htmx), in a `csrf_token` form field, or for file uploads as the first part of the
/// multipart body. Never in the query string: a URL ends up in logs, history and
/// `Referer` headers.
pub async fn csrf(mut req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    // The API reads no cookie: a key in the Authorization header is its only credential,
    // which a page on another site cannot make a browser send.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || req.path().starts_with("/api/") {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let expected = req.get_session().get::<String>("csrf").ok().flatten();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = if content_type.starts_with("multipart/") {
        MAX_UPLOAD_BYTES
    } else if req.path() == "/login" {
        // two short fields: a burst of large sign-in bodies must not fill the memory
        MAX_LOGIN_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) {
        if len > limit {
            return Ok(reject(req, AppError::PayloadTooLarge));
        }
    }
    let mut provided = req.headers().get("X-CSRF-Token").and_then(|v| v.to_str().ok()).map(str::to_string);
    if provided.is_none() && content_type.starts_with("application/x-www-form-urlencoded") {
        // Read the form to find the token, then hand the same bytes to the handler.
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(_) => return Ok(reject(req, AppError::BadRequest("The request body could not be read.".into()))),
            };
            if body.len() + chunk.len() > limit {
                return Ok(reject(req, AppError::PayloadTooLarge));
            }
            body.extend_from_slice(&chunk);
        }
        let body: Bytes = body.freeze();
        provided = form_field(&body, "csrf_token");
        let stream: BodyStream = Box::pin(futures_util::stream::once(async move { Ok(body) }));
        req.set_payload(actix_web::dev::Payload::from(stream));
    } else if provided.is_none() && content_type.starts_with("multipart/form-data") {
        // Read just enough of the upload for its first part, then hand the handler
        // those bytes followed by the rest of the body, still unread.
        let mut payload = req.take_payload();
        let mut head = BytesMut::new();
        loop {
            match first_part(req.headers(), Bytes::copy_from_slice(&head)).await {
                FirstPart::Token(t) => {
                    provided = Some(t);
                    break;
                }
                FirstPart::Absent => break,
                FirstPart::NeedMore if head.len() >= MULTIPART_TOKEN_WITHIN => break,
                FirstPart::NeedMore => match payload.next().await {
                    Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                    Some(Err(_)) => return Ok(reject(req, AppError::BadRequest("The upload could not be read.".into()))),
                    None => break,
                },
            }
        }
        let head = head.freeze();
        let stream: BodyStream = Box::pin(futures_util::stream::once(async move { Ok(head) }).chain(payload));
        req.set_payload(actix_web::dev::Payload::from(stream));
    }
    match (expected, provided) {
        (Some(e), Some(p)) if same_token(&e, &p) => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        _ => Ok(reject(
            req,
            AppError::Forbidden(
                "This form has expired or did not come from this site (missing or wrong security token). Reload the page and try again.".into(),
            ),
        )),
    }
}

/// Security headers on every response, and error pages fitted to the request: a
/// sign-in redirect for anonymous page loads, an alert fragment for htmx requests.
pub async fn headers(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let htmx = Htmx::from_headers(req.headers()).request;
    let hsts = hsts_on(&req);
    let is_get = req.method() == Method::GET;
    let path = req.path().to_string();
    let mut res = next.call(req).await?.map_into_boxed_body();
    let app_error = res.response().error().and_then(|e| e.as_error::<AppError>()).map(|e| match e {
        AppError::Unauthorized => 1,
        _ => 2,
    });
    if app_error == Some(1) && is_get && !htmx {
        let section = path.starts_with("/contacts") || path.starts_with("/audit") || path.starts_with("/workflows") || path.starts_with("/bulk-actions");
        // the login page checks `next` again; a path it would refuse is not offered
        let target = if section && super::auth::is_safe_next(&path) {
            format!("/login?next={}", urlencode(&path))
        } else {
            "/login".to_string()
        };
        let redirect = HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish();
        res = res.into_response(redirect);
    } else if app_error.is_some() && htmx {
        let err = res.response().error().and_then(|e| e.as_error::<AppError>()).map(htmx_error_response);
        if let Some(r) = err {
            res = res.into_response(r);
        }
    }
    security_headers(res.headers_mut(), hsts);
    Ok(res)
}

fn security_headers(h: &mut header::HeaderMap, hsts: bool) {
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, header::HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
