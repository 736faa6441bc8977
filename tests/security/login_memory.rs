//! Sign-in under a flood (issue 14, item 2): 400 simultaneous failed sign-ins against
//! the real `contacts-admin serve` binary. Each argon2 check takes ~19 MiB; unbounded,
//! this burst took a server to 9.6 GB. The server must answer every request with 401,
//! 429 or 503 (never another 5xx, never no answer) and its peak resident memory
//! (`VmHWM` of the server process) must stay under 256 MB. Nothing is timed.
//!
//! The same figure for a release build: `cargo bench --bench login_memory`.

use crate::support::{Fixture, TEST_PASSWORD};
use crate::{both_backends, digest, summary};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_contacts-admin");
const CONCURRENT: usize = 400;
const PEAK_LIMIT_KB: u64 = 256 * 1024;

/// `contacts-admin serve` on port 0 as a child process; killed when dropped.
pub struct ChildServer {
    child: Child,
    pub pid: u32,
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl ChildServer {
    pub fn start(database_url: &str) -> ChildServer {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("SESSION_KEY", crate::app::SESSION_KEY)
            .env("PURGE_INTERVAL_SECS", "0")
            .env("RUST_LOG", "warn")
            .env_remove("BIND")
            .env_remove("TRUSTED_PROXY")
            .env_remove("CONTACTS_ADMIN_CLOCK_OFFSET_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.reopen().expect("the log file")))
            .spawn()
            .expect("start contacts-admin serve");
        let pid = child.id();
        let stdout = child.stdout.take().expect("the server's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // drains stdout to the end, so the server never blocks on a full pipe
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("contacts-admin listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut server = ChildServer { child, pid, base: String::new(), log };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => server.base = base,
            Err(_) => panic!("the server did not start:\n{}", server.log()),
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// A line of `/proc/<pid>/status`, in kB.
    pub fn status_kb(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("the server's /proc status");
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{}/status", self.pid))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

both_backends!(async fn four_hundred_simultaneous_failed_sign_ins_keep_the_server_small(db: TestDb) {
    let f = Fixture::new(db).await;
    let backend = crate::backend_name(&f.raw);
    let server = ChildServer::start(&f.db.url);
    let before = digest(&f.raw).await;

    // One session (cookie and CSRF token) sends every attempt, as a script would.
    let mut c = crate::app::Client::new(&server.base);
    c.get("/login").await.assert_status(200);
    let token = c.csrf.clone().expect("the login page's token");
    let rss_idle = server.status_kb("VmRSS:");

    let mut tasks = Vec::new();
    for i in 0..CONCURRENT {
        // mostly unknown emails (each checked against the decoy hash), some with a
        // wrong password for a real account (throttled after a few)
        let email = if i % 40 == 0 { f.acc.user_email.clone() } else { format!("nobody{i}@flood.test") };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &email)
            .append_pair("password", "not the password")
            .append_pair("csrf_token", &token)
            .finish();
        let http = c.http.clone();
        let url = c.url("/login");
        tasks.push(tokio::spawn(async move {
            let res = http.post(url).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await;
            match res {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry_after = r.headers().get("retry-after").is_some();
                    let text = r.text().await.unwrap_or_default();
                    Ok((status, retry_after, text))
                }
                Err(e) => Err(e.to_string()),
            }
        }));
    }
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut problems = Vec::new();
    for t in tasks {
        match t.await.expect("a sign-in task") {
            Ok((status, retry_after, text)) => {
                *statuses.entry(status).or_default() += 1;
                match status {
                    401 => {}
                    429 if retry_after => {}
                    503 if retry_after && text.contains("The server is busy signing other people in. Try again in a moment.") => {}
                    _ => problems.push(format!("{status} (Retry-After: {retry_after}): {}", text.chars().take(200).collect::<String>())),
                }
            }
            Err(e) => problems.push(format!("no answer: {e}")),
        }
    }
    let peak = server.status_kb("VmHWM:");
    assert!(problems.is_empty(), "answers other than 401, 429 or 503 (statuses {statuses:?}):\n{}", problems.join("\n"));
    assert!(
        peak < PEAK_LIMIT_KB,
        "the server's peak resident memory reached {} under {CONCURRENT} simultaneous sign-ins (limit {}); statuses {statuses:?}",
        mib(peak),
        mib(PEAK_LIMIT_KB)
    );
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "some passwords were checked: {statuses:?}");

    assert_eq!(digest(&f.raw).await, before, "failed sign-ins changed the database");
    // and the server still signs people in
    let mut ok = crate::app::Client::new(&server.base);
    ok.try_login(&f.acc.admin_email, TEST_PASSWORD).await.assert_see_other("/contacts");
    summary(format!(
        "login flood [{backend}]: {CONCURRENT} simultaneous failed sign-ins, statuses {statuses:?}; server RSS {} idle, peak {} (limit {})",
        mib(rss_idle),
        mib(peak),
        mib(PEAK_LIMIT_KB)
    ));
});
