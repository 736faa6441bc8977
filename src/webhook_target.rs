//! Where a webhook may be sent (SSRF): the URL's host is resolved and every address it
//! resolves to must be public, or allowed by the allow-list setting. Checked when an
//! endpoint is registered and again before each send; the sender's connections resolve
//! through [`GuardedResolver`], so a name that changes its address between the check and
//! the connection is refused too.

use crate::domain::{WebhookAllowList, WebhookUrl};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Resolves `url`'s host; refuses it, with a message for the admin, when any address
/// is not allowed or it resolves to none.
pub async fn check(url: &WebhookUrl, allow: &WebhookAllowList) -> Result<(), String> {
    let host = url.host();
    let addrs = resolve(&host, url.port()).await.map_err(|e| format!("The host {host} of the webhook URL could not be resolved ({e})."))?;
    allowed(&host, &addrs, allow)
}

async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    Ok(tokio::net::lookup_host((host, port)).await?.collect())
}

fn allowed(host: &str, addrs: &[SocketAddr], allow: &WebhookAllowList) -> Result<(), String> {
    if addrs.is_empty() {
        return Err(format!("The host {host} of the webhook URL has no address."));
    }
    match addrs.iter().find(|a| !allow.allows(host, a.ip())) {
        Some(a) => Err(format!(
            "Webhooks may not be sent to {host} ({}): it is a loopback, private, link-local or otherwise non-public address. \
             An operator can allow it with the webhook allow-list setting (WEBHOOK_ALLOW_HOSTS).",
            a.ip()
        )),
        None => Ok(()),
    }
}

/// The sender's DNS resolver: the system's, refusing a name with an address the
/// allow-list does not allow.
pub struct GuardedResolver(pub Arc<WebhookAllowList>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve(&host, 0).await?;
            allowed(&host, &addrs, &allow)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
