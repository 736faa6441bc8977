//! Configuration of the server, from flags and environment variables.

use crate::clock::Clock;
use std::sync::Arc;

/// The default database: a SQLite file in `./data`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/contacts-admin.db";

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    /// 64 bytes or more; when `None`, a key is generated once and kept next to the
    /// SQLite file (or generated per start on PostgreSQL, logging everyone out).
    pub session_key: Option<String>,
    /// Mark the session cookie `Secure` (serve behind https).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in throttling
    /// keys on the client's address); empty, the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds between purges inside the server (R9); 0 turns the in-server purge off.
    pub purge_interval_secs: u64,
    /// When deletions become background jobs, and their chunk size (L1).
    pub bulk: BulkSettings,
    /// Where webhooks may go, and how they are retried.
    pub webhooks: WebhookSettings,
    /// Requests each API key may make per minute.
    pub api_rate_per_minute: u32,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("session_key", &self.session_key.as_ref().map(|_| "<hidden>"))
            .field("secure_cookies", &self.secure_cookies)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("purge_interval_secs", &self.purge_interval_secs)
            .field("bulk", &self.bulk)
            .field("webhooks", &self.webhooks)
            .field("api_rate_per_minute", &self.api_rate_per_minute)
            .finish()
    }
}

/// Hides a password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{}:***{}", &url[..s], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Makes sure the directory of a SQLite file exists.
pub fn prepare_sqlite_dir(url: &str) -> std::io::Result<()> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    Ok(())
}

/// The file of a `sqlite://` URL, if it names one.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn finds_sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/x.db?mode=rwc"), Some("data/x.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }
}

/// When deletions and restores run as background jobs, and in what chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSettings {
    /// Deletions (and restores by batch) of more contacts than this run as background jobs.
    pub threshold: i64,
    /// Contacts per chunk (one transaction each); `None` sizes chunks to take about
    /// [`crate::jobs::bulk::CHUNK_TARGET`].
    pub chunk: Option<i64>,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings { threshold: 2_000, chunk: None }
    }
}

/// How webhooks are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Non-public hosts and networks webhooks may reach all the same (SSRF guard).
    pub allow: crate::domain::WebhookAllowList,
    /// The first retry's delay; each next one doubles, up to an hour.
    pub retry_base_ms: u64,
    /// How long one attempt may take.
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings { allow: Default::default(), retry_base_ms: 30_000, timeout_ms: 10_000 }
    }
}
