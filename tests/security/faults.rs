//! Faults, each injected into a running server, which must answer with a plain error
//! page (never internals), leave nothing half-written and recover without a restart:
//!
//! - PostgreSQL going away: restarting the shared server from a test is not safe, so
//!   the app talks to it through a small TCP proxy that this test cuts (dropping every
//!   open connection and refusing new ones) and then restores.
//! - A read-only SQLite database: `chmod 444` on the file and its folder does not stop
//!   root (which these tests may run as), so the file, its write-ahead log and the
//!   folder are also made immutable (`chattr +i`), which refuses writes even through
//!   connections opened before; skipped loudly where `chattr` is not possible.
//! - A full disk: this needs a size-limited filesystem. The test mounts a small tmpfs
//!   (`mount -t tmpfs -o size=…`), which needs root and a sandbox that allows mounting;
//!   elsewhere it is skipped loudly with the reason.

use crate::app::{spawn_app, Client, TestApp};
use crate::routes::read;
use crate::support::{add_associated, TestDb, REQUIRE_POSTGRES_ENV};
use crate::{digest, is_live, summary};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the error page says instead of internals.
const PLAIN: &str = "The server could not complete this request. Nothing was changed; please try again.";

/// Words that only internals would show.
fn internals(body: &str) -> Vec<&'static str> {
    ["sqlx", "SQLITE", "sqlite", "error returned from database", "os error", "/tmp/", "panicked", "io error", "postgres", "connection reset"]
        .into_iter()
        .filter(|w| body.contains(w))
        .collect()
}

fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

// ---------------------------------------------------------------- PostgreSQL proxy

/// A TCP proxy to the PostgreSQL server that can be cut and restored.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
    cuts: Arc<AtomicUsize>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = tokio::sync::broadcast::channel::<()>(4);
        let cuts = Arc::new(AtomicUsize::new(0));
        let (up2, cut2, cuts2) = (up.clone(), cut.clone(), cuts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !up2.load(Ordering::SeqCst) {
                    // the database is "gone": the connection closes at once
                    cuts2.fetch_add(1, Ordering::Relaxed);
                    drop(inbound);
                    continue;
                }
                let mut stop = cut2.subscribe();
                let target = target.clone();
                let cuts = cuts2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stop.recv() => { cuts.fetch_add(1, Ordering::Relaxed); }
                    }
                });
            }
        });
        Proxy { addr, up, cut, cuts }
    }

    fn go_down(&self) {
        self.up.store(false, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    fn come_back(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn get(c: &Client, path: &str) -> Result<crate::app::Resp, reqwest::Error> {
    Ok(read(c.http.get(c.url(path)).send().await?).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_gives_503_and_the_app_recovers_without_a_restart() {
    let Some(db) = TestDb::postgres("faults::postgres_going_away").await else { return };
    let url: reqwest::Url = db.url.parse().expect("the test database URL");
    let target = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
    let proxy = Proxy::start(target).await;
    let mut proxied = url.clone();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let app = crate::app::spawn_app_with(db, |s| s.database_url = proxied.to_string()).await;
    let f = &app.f;
    let full = f.contact("Steady", Some("steady@acme.test"), &["VIP"]).await;
    add_associated(&f.raw, &f.acc, full, f.now()).await;
    let mut admin = app.admin().await;
    let token = admin.token().await;

    // up: everything answers
    let mut up_requests = 0;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        for p in ["/healthz", "/contacts", "/contacts?q=stead"] {
            let r = get(&admin, p).await.expect("an answer");
            assert_eq!(r.status, 200, "{p} while the database is up");
            up_requests += 1;
        }
    }

    // down
    let before = digest(&f.raw).await;
    proxy.go_down();
    let mut down = std::collections::BTreeMap::<u16, usize>::new();
    let until = Instant::now() + Duration::from_secs(3);
    let mut healthz_503 = false;
    while Instant::now() < until {
        for p in ["/healthz", "/contacts", "/workflows"] {
            let r = get(&admin, p).await.expect("an answer, not a hang or a dropped connection");
            *down.entry(r.status).or_default() += 1;
            assert!(r.status >= 500, "{p} with the database gone answered {}", r.status);
            assert!(internals(&r.body).is_empty(), "{p}: internals {:?} in {}", internals(&r.body), r.body);
            if p == "/healthz" {
                assert_eq!(r.status, 503);
                healthz_503 = true;
            } else {
                r.assert_contains(PLAIN);
            }
        }
    }
    let r = admin.post("/contacts/delete", &[("ids", &full.to_string()), ("confirm", "DELETE")]).await;
    assert!(r.status >= 500, "a deletion with the database gone: {}", r.status);
    r.assert_contains(PLAIN);
    *down.entry(r.status).or_default() += 1;
    assert!(healthz_503);

    // back
    proxy.come_back();
    let started = Instant::now();
    loop {
        let r = get(&admin, "/healthz").await.expect("an answer");
        if r.status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "/healthz still {} 30 s after the database came back", r.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = started.elapsed();
    assert_eq!(digest(&f.raw).await, before, "nothing was half-written while the database was gone");
    assert!(is_live(&f.raw, full).await);
    for p in ["/contacts", "/workflows", "/audit", &format!("/contacts/{full}")] {
        get(&admin, p).await.expect("an answer").assert_status(200);
    }
    admin.csrf = Some(token);
    admin.post("/contacts/delete", &[("ids", &full.to_string()), ("confirm", "DELETE")]).await.assert_see_other("/contacts");
    assert!(!is_live(&f.raw, full).await, "writes work again");
    crate::support::assert_associated(&f.raw, full, 0).await;
    summary(format!(
        "faults [postgres]: proxy cut ({} connections dropped or refused); {up_requests} requests up, while down {down:?}; /healthz back to 200 in {:.1} s, pages and writes recovered without a restart",
        proxy.cuts.load(Ordering::Relaxed),
        recovered_in.as_secs_f64()
    ));
    let _ = REQUIRE_POSTGRES_ENV;
}

// ---------------------------------------------------------------- read-only SQLite

/// Undoes `chattr +i` and the chmods, even when the test fails.
struct Immutable(Vec<std::path::PathBuf>, Vec<(std::path::PathBuf, u32)>);

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
        use std::os::unix::fs::PermissionsExt;
        for (p, mode) in &self.1 {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(*mode));
        }
    }
}

fn chattr(flag: &str, p: &std::path::Path) -> Result<(), String> {
    match Command::new("chattr").arg(flag).arg(p).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Err(format!("chattr: {e}")),
    }
}

async fn post_plain(c: &mut Client, path: &str, fields: &[(&str, &str)]) -> crate::app::Resp {
    c.post(path, fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_database_gives_a_plain_error_and_nothing_half_written() {
    let db = TestDb::sqlite().await;
    let file = db.sqlite_file().expect("a SQLite file");
    let dir = file.parent().unwrap().to_path_buf();
    let app: TestApp = spawn_app(db).await;
    let f = &app.f;
    let full = f.contact("Kept", Some("kept@acme.test"), &["VIP"]).await;
    add_associated(&f.raw, &f.acc, full, f.now()).await;
    let mut admin = app.admin().await;
    admin.get("/contacts").await.assert_status(200);
    let before = digest(&f.raw).await;

    use std::os::unix::fs::PermissionsExt;
    let wal = dir.join("test.db-wal");
    let mut modes = Vec::new();
    for p in [&file, &wal, &dir] {
        if let Ok(m) = std::fs::metadata(p) {
            modes.push((p.clone(), m.permissions().mode()));
            let ro = if p == &dir { 0o555 } else { 0o444 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(ro)).unwrap();
        }
    }
    let mut guard = Immutable(Vec::new(), modes);
    // root ignores the permission bits: make the files immutable too
    for p in [&file, &wal, &dir] {
        if !p.exists() {
            continue;
        }
        if let Err(e) = chattr("+i", p) {
            drop(guard);
            skip("faults::a_read_only_sqlite_database", &format!("cannot make {} read-only for root here ({e})", p.display()));
            return;
        }
        guard.0.push(p.clone());
    }

    let mut statuses = Vec::new();
    let attempts: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("/contacts", vec![("first_name", "Never".into()), ("email", "never@acme.test".into())]),
        ("/contacts/delete", vec![("ids", full.to_string()), ("confirm", "DELETE".into())]),
        ("/contacts/tags", vec![("ids", full.to_string()), ("tag_name", "Never".into())]),
        ("/workflows", vec![("name", "Never".into()), ("trigger_tag", "Never".into()), ("action", "delete_contact".into())]),
    ];
    for (path, fields) in &attempts {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_plain(&mut admin, path, &fields).await;
        statuses.push((path.to_string(), r.status));
        assert!(r.status >= 500, "POST {path} on a read-only database: {} {}", r.status, r.text());
        r.assert_contains(PLAIN);
        assert!(internals(&r.body).is_empty(), "POST {path}: internals {:?}", internals(&r.body));
    }
    let read = admin.get("/contacts").await;
    statuses.push(("GET /contacts (reads)".into(), read.status));

    drop(guard);
    assert_eq!(digest(&f.raw).await, before, "nothing half-written");
    assert!(is_live(&f.raw, full).await);
    crate::support::assert_associated(&f.raw, full, 1).await;
    // Writable again. Reads work at once. Writes do not all come back: a connection the
    // pool opened while the file was unwritable was opened read-only by SQLite and stays
    // so until the pool retires it (its idle timeout). Each failed write still answers
    // with the plain 500 and leaves nothing behind. (A connection whose COMMIT failed is
    // no longer reused at all: see `before_acquire` in `Repo::connect`.)
    admin.get("/contacts").await.assert_status(200);
    let contacts_before = f.raw.count("contacts", "1 = 1", &[]).await;
    let (mut after, mut created) = (Vec::new(), 0);
    for i in 0..12 {
        let email = format!("after{i}@acme.test");
        let r = admin.post("/contacts", &[("first_name", "After"), ("email", &email)]).await;
        after.push(r.status);
        if r.status == 303 {
            created += 1;
        } else {
            assert_eq!(r.status, 500, "{}", r.text());
            r.assert_contains(PLAIN);
            assert!(internals(&r.body).is_empty());
        }
    }
    assert_eq!(f.raw.count("contacts", "1 = 1", &[]).await, contacts_before + created, "only the answered writes happened");
    statuses.push((format!("writes once writable again {after:?}"), 0));
    summary(format!("faults [sqlite read-only]: chmod 444 + chattr +i on the file, its WAL and folder; {statuses:?}; nothing half-written"));
}

// ---------------------------------------------------------------- full disk

/// Unmounts the tmpfs (lazily: the server's connections may still hold files).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_a_plain_error_and_nothing_half_written() {
    let mnt = std::env::temp_dir().join(format!("contacts-admin-full-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&mnt).unwrap();
    let out = Command::new("mount").args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"]).arg(&mnt).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let _ = std::fs::remove_dir(&mnt);
            skip("faults::a_full_disk", &format!("a size-limited tmpfs cannot be mounted here: {}", String::from_utf8_lossy(&o.stderr).trim()));
            return;
        }
        Err(e) => {
            let _ = std::fs::remove_dir(&mnt);
            skip("faults::a_full_disk", &format!("mount is not available: {e}"));
            return;
        }
    }
    let _mounted = Mounted(mnt.clone());
    let mut db = TestDb::sqlite().await;
    db.url = format!("sqlite://{}/test.db", mnt.display());
    let app = spawn_app(db).await;
    let f = &app.f;
    let full = f.contact("Kept", Some("kept@acme.test"), &["VIP"]).await;
    add_associated(&f.raw, &f.acc, full, f.now()).await;
    let mut admin = app.admin().await;
    admin.get("/contacts").await.assert_status(200);
    // an empty write-ahead log, so the next write needs new space
    let _: (i64, i64, i64) = f.raw.one("pragma wal_checkpoint(truncate)", &[]).await;
    let before = digest(&f.raw).await;

    // fill the disk
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut out = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while out.write_all(&block).is_ok() {}
        let _ = out.flush();
    }
    let mut statuses = Vec::new();
    let company = "c".repeat(150);
    let full_id = full.to_string();
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/contacts", vec![("first_name", "Never"), ("email", "never@acme.test"), ("company", &company)]),
        ("/contacts/delete", vec![("ids", full_id.as_str()), ("confirm", "DELETE")]),
    ];
    for (path, fields) in &attempts {
        let r = admin.post(path, fields).await;
        statuses.push((path.to_string(), r.status));
        assert!(r.status >= 500, "POST {path} on a full disk: {} {}", r.status, r.text());
        r.assert_contains(PLAIN);
        assert!(internals(&r.body).is_empty(), "POST {path}: internals {:?}", internals(&r.body));
    }
    let read = admin.get("/contacts").await;
    statuses.push(("GET /contacts (reads)".into(), read.status));

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(digest(&f.raw).await, before, "nothing half-written");
    assert!(is_live(&f.raw, full).await);
    crate::support::assert_associated(&f.raw, full, 1).await;
    admin.post("/contacts", &[("first_name", "After"), ("email", "after@acme.test")]).await.assert_status(303);
    summary(format!("faults [sqlite full disk]: 24 MB tmpfs filled; {statuses:?}; nothing half-written; writes work again after freeing space"));
}
