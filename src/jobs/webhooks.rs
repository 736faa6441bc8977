//! The webhook sender: claims due deliveries from the outbox under a lease (several
//! servers send each one once), POSTs each event's body signed with its endpoint's
//! secret, and records the outcome: delivered on a 2xx answer, else retried with
//! exponential backoff until 24 hours after the event, then failed. A sender that dies
//! mid-attempt leaves its lease to run out; the delivery is then sent again, with the
//! same `Webhook-Id`, so receivers drop duplicates by that id. Every few minutes it also
//! deletes the events and finished deliveries past their 30 days.

use crate::config::WebhookSettings;
use crate::domain::WebhookUrl;
use crate::repo::{from_millis, ClaimedDelivery, DeliveryOutcome, Repo, RepoResult};
use chrono::{Duration as Span, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// Deliveries claimed per burst.
const BURST: i64 = 50;
/// Deliveries sent at once: at most half of the smallest connection pool (8), so that
/// recording their outcomes never starves the other workers of connections.
const PARALLEL: usize = 4;
/// The longest wait between two attempts.
const MAX_DELAY_MS: i64 = 3_600_000;
/// How long after its event a delivery is still tried.
const GIVE_UP_AFTER_HOURS: i64 = 24;
/// How often the sender deletes events and finished deliveries past their retention.
const CLEANUP_EVERY: Duration = Duration::from_secs(300);
/// Rows per statement of that clean-up.
const CLEANUP_BATCH: i64 = 1_000;

/// `v1=` and the hex HMAC-SHA256, keyed with the endpoint's secret, of
/// `"{event id}.{timestamp}.{body}"`: what `Webhook-Signature` carries.
pub fn signature(secret: &str, event_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{event_id}.{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempts + 1` after `attempts` failed ones: the base,
/// doubled each time, at most an hour.
fn backoff_ms(base_ms: u64, attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 30) - 1;
    (base_ms as i64).saturating_mul(1i64 << shift).min(MAX_DELAY_MS.max(base_ms as i64))
}

/// The sender's HTTP client: no redirects followed (a redirect could point anywhere),
/// names resolved through the SSRF guard.
fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(settings.timeout_ms))
        .connect_timeout(Duration::from_millis(settings.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(crate::webhook_target::GuardedResolver(Arc::new(settings.allow.clone()))))
        .user_agent(concat!("contacts-admin-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends one delivery once: `Ok(status)` on a 2xx answer, else the status (if any)
/// and why it failed.
async fn attempt(client: &reqwest::Client, settings: &WebhookSettings, d: &ClaimedDelivery) -> Result<i64, (Option<i64>, String)> {
    let url = WebhookUrl::parse(&d.url).map_err(|e| (None, e.to_string()))?;
    crate::webhook_target::check(&url, &settings.allow).await.map_err(|e| (None, e))?;
    let timestamp = Utc::now().timestamp();
    let res = client
        .post(url.as_str())
        .header("Content-Type", "application/json")
        .header("Webhook-Id", &d.event_id)
        .header("Webhook-Timestamp", timestamp.to_string())
        .header("Webhook-Signature", signature(&d.secret, &d.event_id, timestamp, &d.payload))
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = i64::from(res.status().as_u16());
    if res.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("The receiver answered {}.", res.status())))
    }
}

/// A failed request in a line for the delivery log, with its cause.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() { "The receiver did not answer in time".to_string() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Sends one claimed delivery and records the outcome.
async fn send(repo: &Repo, client: &reqwest::Client, settings: &WebhookSettings, worker: &str, d: ClaimedDelivery) -> RepoResult<()> {
    let outcome = match attempt(client, settings, &d).await {
        Ok(status) => DeliveryOutcome::Delivered { status },
        Err((status, error)) => {
            let retry_at = repo.now() + Span::milliseconds(backoff_ms(settings.retry_base_ms, d.attempts + 1));
            let give_up = from_millis(d.event_created_at) + Span::hours(GIVE_UP_AFTER_HOURS);
            tracing::info!(delivery = d.id, event = %d.event_id, %error, "webhook not delivered");
            DeliveryOutcome::Refused { status, error, retry_at: (retry_at <= give_up).then_some(retry_at) }
        }
    };
    repo.finish_webhook_delivery(d.id, worker, &outcome).await?;
    Ok(())
}

/// Claims and sends one burst of due deliveries; returns how many it claimed.
pub async fn send_burst(repo: &Repo, client: &reqwest::Client, settings: &WebhookSettings, worker: &str) -> RepoResult<usize> {
    let lease_ms = (settings.timeout_ms as i64) * 2 + 5_000;
    let claimed = repo.claim_webhook_deliveries(worker, BURST, lease_ms).await?;
    let n = claimed.len();
    let results: Vec<RepoResult<()>> =
        futures_util::stream::iter(claimed).map(|d| send(repo, client, settings, worker, d)).buffer_unordered(PARALLEL).collect().await;
    results.into_iter().collect::<RepoResult<()>>()?;
    Ok(n)
}

/// Deletes events and finished deliveries past their retention, logging what went.
async fn clean_up(repo: &Repo) {
    match repo.delete_old_webhooks(CLEANUP_BATCH).await {
        Ok(c) if c.deliveries + c.events > 0 => {
            tracing::info!(deliveries = c.deliveries, events = c.events, "deleted old webhook deliveries and events")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "deleting old webhook deliveries failed; will try again"),
    }
}

/// Sends webhooks until the process ends; at start and every few minutes, deletes the
/// events and finished deliveries past their retention.
pub async fn run_forever(repo: Repo, settings: WebhookSettings) {
    let worker = crate::token::worker_id();
    let client = match client(&settings) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the webhook sender could not start");
            return;
        }
    };
    let poll = Duration::from_millis(settings.retry_base_ms.clamp(50, 1_000));
    let mut next_cleanup = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_cleanup {
            clean_up(&repo).await;
            next_cleanup = tokio::time::Instant::now() + CLEANUP_EVERY;
        }
        match send_burst(&repo, &client, &settings, &worker).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook sender: will try again"),
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_id_timestamp_and_body() {
        // HMAC-SHA256 with key "whsec" of "evt_1.1700000000.{}", computed independently
        let sig = signature("whsec", "evt_1", 1_700_000_000, "{}");
        assert_eq!(sig, "v1=7d3ea3816131e981d6bb9d100de6db1588f0b2f117d47e14f0338c09b14bd5cd");
        assert_ne!(sig, signature("whsec", "evt_1", 1_700_000_001, "{}"));
        assert_ne!(sig, signature("other", "evt_1", 1_700_000_000, "{}"));
    }

    #[test]
    fn retries_double_up_to_an_hour() {
        assert_eq!(backoff_ms(30_000, 1), 30_000);
        assert_eq!(backoff_ms(30_000, 2), 60_000);
        assert_eq!(backoff_ms(30_000, 5), 480_000);
        assert_eq!(backoff_ms(30_000, 40), 3_600_000);
    }
}
