//! Builds the application: opens the repository, binds the listener first (so the real
//! port is known, port 0 included), wires the web layer and starts the background jobs.

use crate::config::{sqlite_path, Settings};
use crate::repo::{Backend, Repo};
use actix_web::cookie::Key;
use actix_web::dev::Server;
use anyhow::Context;
use std::net::{SocketAddr, TcpListener};

pub struct Application {
    address: SocketAddr,
    server: Server,
    repo: Repo,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        return_large_allocations_to_the_system();
        let repo = Repo::connect(&settings.database_url, settings.clock.clone())
            .await
            .with_context(|| format!("opening the database {}", crate::config::redact_url(&settings.database_url)))?;
        let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr()?;
        let key = session_key(&settings, repo.backend())?;
        let server = crate::web::server(listener, repo.clone(), key, &settings)?;
        crate::jobs::spawn_background(repo.clone(), &settings);
        Ok(Application { address, server, repo })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await.context("running the server")
    }
}

/// The cookie key: from configuration; else, on SQLite, generated once and kept beside
/// the database so a restart does not log everyone out.
fn session_key(settings: &Settings, backend: Backend) -> anyhow::Result<Key> {
    if let Some(k) = &settings.session_key {
        anyhow::ensure!(k.len() >= 64, "SESSION_KEY must be at least 64 bytes long");
        return Ok(Key::derive_from(k.as_bytes()));
    }
    if backend == Backend::Sqlite {
        if let Some(db) = sqlite_path(&settings.database_url) {
            let path = db.with_extension("session-key");
            if let Ok(bytes) = std::fs::read(&path) {
                if bytes.len() >= 64 {
                    return Ok(Key::from(&bytes));
                }
            }
            let key = Key::generate();
            std::fs::write(&path, key.master()).with_context(|| format!("writing {}", path.display()))?;
            return Ok(key);
        }
    }
    tracing::warn!("no SESSION_KEY configured: sessions end when the server restarts");
    Ok(Key::generate())
}

/// Makes glibc serve every allocation of 1 MiB or more with its own `mmap`, given back
/// to the system when freed.
///
/// A password check allocates ~19 MiB (argon2's memory cost), 64-byte aligned. By
/// default glibc raises its mmap threshold after the first such block is freed and
/// then carves later ones out of its heaps, where freed blocks stayed resident and were
/// not reused: each check on a new blocking thread added ~19 MiB that never went away
/// (1.6 GB after 400 failed sign-ins, even with only two checks at a time). A fixed
/// threshold turns that off; the cost is one `mmap`/`munmap` pair per large block.
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const ONE_MIB: libc::c_int = 1 << 20;
        // SAFETY: mallopt only changes a tuning parameter of the allocator; it is safe
        // to call at any time, from any thread, and fails (returns 0) without effect.
        let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, ONE_MIB) };
        if done == 0 {
            tracing::warn!("could not set the allocator's mmap threshold: password checks may keep memory");
        }
    }
}
