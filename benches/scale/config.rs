//! The benchmark's settings, read from the environment (see the top of `main.rs`).

use contacts_admin::repo::Backend;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub struct Config {
    pub contacts: i64,
    pub backends: Vec<Backend>,
    pub pg_admin_url: String,
    pub clients: usize,
    pub requests: usize,
    /// Requests per page sent before the measured ones, not counted.
    pub warmup: usize,
    pub page_secs: f64,
    pub load_secs: f64,
    pub restore: i64,
    pub phase_timeout: Duration,
    pub request_timeout: Duration,
    /// Only the contacts pages (a quick look after a change to the list).
    pub pages_only: bool,
    /// Only the delete-all phases: set-based SQL, the job alone, the floor.
    pub delete_only: bool,
    /// The delete-all floor (see `floor.rs`).
    pub floor: bool,
    pub dir: PathBuf,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not valid")),
        _ => default,
    }
}

impl Config {
    pub fn from_env() -> Config {
        let contacts: i64 = env_or("BENCH_CONTACTS", 1_000_000);
        assert!(contacts >= 100, "BENCH_CONTACTS must be at least 100");
        let backends = env_or("BENCH_BACKENDS", "sqlite,postgres".to_string())
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "sqlite" => Backend::Sqlite,
                "postgres" | "postgresql" | "pg" => Backend::Postgres,
                other => panic!("unknown backend {other:?} in BENCH_BACKENDS (sqlite, postgres)"),
            })
            .collect();
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        Config {
            contacts,
            backends,
            pg_admin_url: env_or("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres".to_string()),
            clients: env_or("BENCH_CLIENTS", 8usize).max(1),
            requests: env_or("BENCH_REQUESTS", 1000usize).max(1),
            warmup: env_or("BENCH_WARMUP", 200usize),
            page_secs: env_or("BENCH_PAGE_SECS", 20.0f64),
            load_secs: env_or("BENCH_LOAD_SECS", 60.0f64),
            restore: env_or("BENCH_RESTORE", 10_000i64).min(contacts / 2).max(1),
            phase_timeout: Duration::from_secs(env_or("BENCH_PHASE_TIMEOUT_SECS", 1200u64)),
            request_timeout: Duration::from_secs(env_or("BENCH_REQUEST_TIMEOUT_SECS", 300u64)),
            pages_only: env_or("BENCH_PAGES_ONLY", 0u8) == 1,
            delete_only: env_or("BENCH_DELETE_ONLY", 0u8) == 1,
            floor: env_or("BENCH_FLOOR", 1u8) == 1,
            dir: target.join("bench"),
        }
    }

    /// `1m` for a million, else the number: names the master databases.
    pub fn size_tag(&self) -> String {
        if self.contacts % 1_000_000 == 0 {
            format!("{}m", self.contacts / 1_000_000)
        } else {
            self.contacts.to_string()
        }
    }

    /// What a phase that ran out of time reports.
    pub fn stopped(&self) -> String {
        format!("STOPPED after {:.0} min: partial", self.phase_timeout.as_secs_f64() / 60.0)
    }
}
