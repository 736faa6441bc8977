//! The Webhooks page (Administration): register an endpoint (its secret shown once),
//! list, disable, enable and remove endpoints, and each endpoint's delivery log with a
//! Resend button. Admins only; a URL must reach a public address unless the allow-list
//! setting names it (SSRF).

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::{render, see_other, PageCtx};
use super::session::{AdminUser, Flash, TypedSession};
use crate::config::WebhookSettings;
use crate::domain::{UserZone, WebhookEvent, WebhookEvents, WebhookUrl, When};
use crate::repo::{Repo, WebhookDelivery, WebhookEndpoint};
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct EndpointView {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub created: When,
    pub enabled: bool,
    pub counts: String,
}

impl EndpointView {
    fn new(e: &WebhookEndpoint, zone: UserZone) -> Self {
        EndpointView {
            id: e.id,
            url: e.url.clone(),
            events: e.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
            created: zone.minute(e.created_at),
            enabled: e.disabled_at.is_none(),
            counts: format!("{} delivered, {} pending, {} failed", e.delivered, e.pending, e.failed),
        }
    }
}

pub struct DeliveryView {
    pub id: i64,
    pub event_type: String,
    pub event_id: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: String,
    pub time: When,
}

impl DeliveryView {
    fn new(d: &WebhookDelivery, zone: UserZone) -> Self {
        let last_status = match (&d.last_status, &d.last_error) {
            (Some(s), _) if d.state == "delivered" => s.to_string(),
            (Some(s), Some(e)) => format!("{s}: {e}"),
            (None, Some(e)) => e.clone(),
            (Some(s), None) => s.to_string(),
            (None, None) => "not sent yet".into(),
        };
        DeliveryView {
            id: d.id,
            event_type: d.event_type.clone(),
            event_id: d.event_id.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_status,
            time: zone.second(d.created()),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    page: PageCtx,
    endpoints: Vec<EndpointView>,
    events: Vec<(&'static str, &'static str)>,
    /// A just-registered endpoint's URL and secret, shown this once.
    created: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage {
    page: PageCtx,
    endpoint: EndpointView,
    deliveries: Vec<DeliveryView>,
}

fn event_choices() -> Vec<(&'static str, &'static str)> {
    WebhookEvent::ALL.iter().map(|e| (e.as_str(), e.describe())).collect()
}

async fn list_page(session: &TypedSession, user: &crate::repo::UserInfo, repo: &Repo, created: Option<(String, String)>) -> WebResult<HttpResponse> {
    let endpoints = repo.webhook_endpoints(user.account_id).await?.iter().map(|e| EndpointView::new(e, user.zone)).collect();
    let page = PageCtx::new(session, user, "webhooks", "Webhooks")?;
    render(&WebhooksPage { page, endpoints, events: event_choices(), created })
}

/// `GET /webhooks`
pub async fn page(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    list_page(&session, &user, &repo, None).await
}

/// `POST /webhooks`: registers an endpoint and shows its secret once.
pub async fn create(
    session: TypedSession,
    AdminUser(user): AdminUser,
    repo: web::Data<Repo>,
    settings: web::Data<WebhookSettings>,
    f: Fields,
) -> WebResult<HttpResponse> {
    let url = WebhookUrl::parse(f.get("url").unwrap_or(""))?;
    let events = WebhookEvents::parse(f.all("events"))?;
    crate::webhook_target::check(&url, &settings.allow).await.map_err(AppError::BadRequest)?;
    let secret = format!("whsec_{}", crate::token::random_token());
    repo.create_webhook_endpoint(user.account_id, user.id, &url, &events, &secret).await?;
    list_page(&session, &user, &repo, Some((url.as_str().to_string(), secret))).await
}

fn endpoint_id(raw: &str) -> WebResult<i64> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| AppError::NotFound("There is no such webhook endpoint in this account.".into()))
}

async fn find(repo: &Repo, user: &crate::repo::UserInfo, id: i64) -> WebResult<WebhookEndpoint> {
    repo.webhook_endpoints(user.account_id)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| AppError::NotFound("There is no such webhook endpoint in this account.".into()))
}

/// `GET /webhooks/{id}`: the endpoint's delivery log.
pub async fn show(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let id = endpoint_id(&path)?;
    let endpoint = EndpointView::new(&find(&repo, &user, id).await?, user.zone);
    let deliveries = repo
        .webhook_deliveries(user.account_id, id, crate::repo::webhooks::DELIVERY_LOG)
        .await?
        .iter()
        .map(|d| DeliveryView::new(d, user.zone))
        .collect();
    let page = PageCtx::new(&session, &user, "webhooks", "Webhook deliveries")?;
    render(&EndpointPage { page, endpoint, deliveries })
}

/// `POST /webhooks/{id}/status`: `enabled=true|false`.
pub async fn set_status(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let id = endpoint_id(&path)?;
    let enabled = match f.get("enabled") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(AppError::BadRequest("Say whether the endpoint should be enabled (true) or disabled (false).".into())),
    };
    repo.set_webhook_endpoint_enabled(user.account_id, user.id, id, enabled).await?;
    session.flash(Flash::success(if enabled { "The endpoint is enabled again." } else { "The endpoint is disabled: no new events are sent to it." }));
    Ok(see_other("/webhooks"))
}

/// `POST /webhooks/{id}/delete`: removes the endpoint and its delivery log.
pub async fn remove(path: web::Path<String>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let id = endpoint_id(&path)?;
    repo.delete_webhook_endpoint(user.account_id, user.id, id).await?;
    session.flash(Flash::success("The endpoint and its delivery log were removed."));
    Ok(see_other("/webhooks"))
}

/// `POST /webhooks/{id}/deliveries/{delivery}/resend`: queues the delivery again.
pub async fn resend(path: web::Path<(String, String)>, session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let id = endpoint_id(&id)?;
    let delivery = delivery.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| AppError::NotFound("There is no such delivery in this account.".into()))?;
    repo.resend_webhook_delivery(user.account_id, user.id, id, delivery).await?;
    session.flash(Flash::success("The delivery is queued and will be sent again shortly."));
    Ok(see_other(&format!("/webhooks/{id}")))
}
