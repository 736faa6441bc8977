//! The databases: a master per backend and size, throw-away copies of it, and what the
//! bench reads of them directly.

use crate::support::{database_url, Raw};
use crate::{args, ACCOUNT, ADMIN_EMAIL};
use contacts_admin::repo::Backend;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub enum DbRef {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl DbRef {
    pub fn url(&self) -> String {
        match self {
            DbRef::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbRef::Postgres { admin_url, name } => database_url(admin_url, name),
        }
    }

    pub fn label(&self) -> String {
        match self {
            DbRef::Sqlite(p) => p.display().to_string(),
            DbRef::Postgres { name, .. } => format!("database {name}"),
        }
    }

    /// A pool of at most `max` connections with the server's own settings, so that SQL
    /// timed here pays what the application pays.
    pub async fn open(&self, max: u32) -> Raw {
        Raw::open(&self.url(), max).await
    }
}

/// Account and admin of the bench account in a database; `None` also when the database
/// has no schema yet.
pub async fn account_ids(pool: &Raw) -> Option<(i64, i64)> {
    let id = |sql: &'static str, key: &'static str| async move { pool.try_optional::<(i64,)>(sql, args![key]).await.ok().flatten() };
    let acc = id("select id from accounts where name = $1", ACCOUNT).await?.0;
    let admin = id("select id from users where email = $1", ADMIN_EMAIL).await?.0;
    Some((acc, admin))
}

/// Live contacts of the bench account.
pub async fn live_contacts(pool: &Raw, acc: i64) -> i64 {
    pool.i64("select count(*) from contacts where account_id = $1 and deleted_at is null", args![acc]).await
}

/// PostgreSQL maintenance through the admin database (never the copies themselves).
pub struct PgAdmin {
    pool: PgPool,
    admin_url: String,
}

impl PgAdmin {
    pub async fn connect(url: &str) -> Result<PgAdmin, String> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?.disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| e.to_string())?;
        Ok(PgAdmin { pool, admin_url: url.to_string() })
    }

    async fn exists(&self, name: &str) -> bool {
        sqlx::query_scalar::<_, i64>("select count(*) from pg_database where datname = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .expect("pg_database")
            > 0
    }

    async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(&self.pool).await.map(|_| ())
    }

    async fn drop_db(&self, name: &str) {
        self.exec(&format!("drop database if exists \"{name}\" with (force)")).await.expect("drop database");
    }

    /// `create database copy template master`: retried while the master's last
    /// connections (a closed pool, a finished process) are still going away.
    async fn copy_db(&self, master: &str, copy: &str) {
        self.drop_db(copy).await;
        let mut tries = 0;
        loop {
            match self.exec(&format!("create database \"{copy}\" template \"{master}\"")).await {
                Ok(()) => return,
                Err(e) if tries < 30 && e.to_string().contains("being accessed by other users") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => panic!("create database {copy} template {master}: {e}"),
            }
        }
    }

    fn db(&self, name: &str) -> DbRef {
        DbRef::Postgres { admin_url: self.admin_url.clone(), name: name.to_string() }
    }

    async fn size(&self, name: &str) -> u64 {
        sqlx::query_scalar::<_, i64>("select pg_database_size($1::text)")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map(|b| b as u64)
            .unwrap_or(0)
    }
}

fn sqlite_files(path: &Path) -> [PathBuf; 4] {
    let s = path.display().to_string();
    [path.to_path_buf(), PathBuf::from(format!("{s}-wal")), PathBuf::from(format!("{s}-shm")), path.with_extension("session-key")]
}

fn remove_sqlite(path: &Path) {
    for f in sqlite_files(path) {
        let _ = std::fs::remove_file(f);
    }
}

/// Where the masters and copies of one backend live, and how to copy them.
pub enum Store {
    Sqlite { dir: PathBuf, tag: String },
    Postgres { admin: PgAdmin, tag: String },
}

impl Store {
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite { .. } => Backend::Sqlite,
            Store::Postgres { .. } => Backend::Postgres,
        }
    }

    pub fn master(&self) -> DbRef {
        match self {
            Store::Sqlite { dir, tag } => DbRef::Sqlite(dir.join(format!("sqlite-master-{tag}.db"))),
            Store::Postgres { admin, tag } => admin.db(&format!("ca_bench_master_{tag}")),
        }
    }

    pub fn copy_ref(&self, which: &str) -> DbRef {
        match self {
            Store::Sqlite { dir, tag } => DbRef::Sqlite(dir.join(format!("sqlite-copy-{tag}-{which}.db"))),
            Store::Postgres { admin, tag } => admin.db(&format!("ca_bench_copy_{tag}_{which}")),
        }
    }

    /// A fresh copy of the master. SQLite: the master's log is checkpointed into the
    /// file first (no other process has it open), then the file is copied.
    pub async fn copy(&self, which: &str) -> DbRef {
        let t = Instant::now();
        let copy = self.copy_ref(which);
        match (self, &copy) {
            (Store::Sqlite { .. }, DbRef::Sqlite(to)) => {
                let DbRef::Sqlite(from) = self.master() else { unreachable!() };
                let pool = self.master().open(1).await;
                pool.exec("pragma wal_checkpoint(truncate)", &[]).await;
                pool.close().await;
                remove_sqlite(to);
                std::fs::copy(&from, to).expect("copy the SQLite master");
                let wal = PathBuf::from(format!("{}-wal", from.display()));
                if std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false) {
                    std::fs::copy(&wal, format!("{}-wal", to.display())).expect("copy the SQLite master's log");
                }
            }
            (Store::Postgres { admin, tag }, DbRef::Postgres { name, .. }) => {
                admin.copy_db(&format!("ca_bench_master_{tag}"), name).await;
            }
            _ => unreachable!(),
        }
        log!("copied the master to {} in {:.1}s", copy.label(), t.elapsed().as_secs_f64());
        copy
    }

    pub async fn drop_copy(&self, db: &DbRef) {
        match (self, db) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => remove_sqlite(p),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.drop_db(name).await,
            _ => unreachable!(),
        }
    }

    pub async fn drop_master(&self) {
        let m = self.master();
        self.drop_copy(&m).await;
    }

    pub async fn create_empty_master(&self) {
        if let (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) = (self, &self.master()) {
            admin.exec(&format!("create database \"{name}\"")).await.expect("create the master database");
        }
    }

    pub async fn master_exists(&self) -> bool {
        match (self, &self.master()) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => p.exists(),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.exists(name).await,
            _ => unreachable!(),
        }
    }

    pub async fn size(&self, db: &DbRef) -> u64 {
        match (self, db) {
            (Store::Sqlite { .. }, DbRef::Sqlite(p)) => sqlite_files(p).iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum(),
            (Store::Postgres { admin, .. }, DbRef::Postgres { name, .. }) => admin.size(name).await,
            _ => unreachable!(),
        }
    }
}
