//! The signed-in admin the phases drive the server with.

use crate::config::Config;
use crate::support::app::Client;
use crate::{ADMIN_EMAIL, ADMIN_PASSWORD};
use std::time::Duration;

/// A signed-in admin; its clones share the session, as the tabs of one browser do.
#[derive(Clone)]
pub struct Http {
    pub c: Client,
    /// How long a page request may take before it counts as an error.
    pub page_timeout: Duration,
    /// How long a POST (a deletion, a restore) may take before the phase gives up.
    pub post_timeout: Duration,
}

impl Http {
    pub async fn login(base: &str, cfg: &Config) -> Http {
        let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).pool_max_idle_per_host(64);
        let mut c = Client::with(base, builder);
        c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Http { c, page_timeout: cfg.request_timeout, post_timeout: cfg.phase_timeout }
    }

    /// Posts a form (the session's CSRF token added); returns status, Location and body,
    /// or status 0 and the error when there is no answer within `post_timeout`.
    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> (u16, String, String) {
        match self.c.try_post(path, pairs, self.post_timeout).await {
            Ok(r) => (r.status, r.location().unwrap_or("").to_string(), r.body),
            Err(e) => (0, String::new(), format!("no answer: {e}")),
        }
    }
}
