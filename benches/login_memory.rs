//! Peak memory of the server under a flood of failed sign-ins (issue 14, item 2).
//!
//! ```sh
//! cargo bench --bench login_memory
//! LOGIN_FLOOD=1000 cargo bench --bench login_memory
//! ```
//!
//! Starts `contacts-admin serve` (the release build) on a fresh SQLite database with
//! one user, sends `LOGIN_FLOOD` (default 400) sign-ins with wrong passwords at the same
//! moment, most for unknown emails (each checked against the decoy hash, the costliest
//! case) and every 40th for the real user (throttled after a few), and prints how many
//! got each status and the server's resident memory: idle, peak (`VmHWM`) and after.
//! Nothing is asserted; the black-box test
//! `four_hundred_simultaneous_failed_sign_ins_keep_the_server_small` holds the limit.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_contacts-admin");
const EMAIL: &str = "flood-user@bench.test";
const PASSWORD: &str = "flood-bench-password";
const SESSION_KEY: &str = "login-bench-session-key-0123456789abcdef-0123456789abcdef-0123456789abcdef";

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means another bench was asked for
    if std::env::args().skip(1).any(|a| !a.starts_with('-') && !"login_memory".contains(a.as_str())) {
        return;
    }
    let flood: usize = std::env::var("LOGIN_FLOOD").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let dir = tempfile::Builder::new().prefix("contacts-admin-login-bench-").tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let out = Command::new(BIN)
        .args(["create-user", "--account", "Flood", "--email", EMAIL, "--password", PASSWORD, "--role", "admin"])
        .env("DATABASE_URL", &url)
        .output()
        .expect("run contacts-admin create-user");
    assert!(out.status.success(), "create-user failed: {}", String::from_utf8_lossy(&out.stderr));

    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("SESSION_KEY", SESSION_KEY)
        .env("PURGE_INTERVAL_SECS", "0")
        .env("RUST_LOG", "warn")
        .env_remove("BIND")
        .env_remove("TRUSTED_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start contacts-admin serve");
    let pid = child.id();
    let stdout = child.stdout.take().expect("the server's stdout");
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("contacts-admin listening on ") {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(120)).expect("the server's address");

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let (statuses, idle, elapsed) = rt.block_on(async {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(300))
            .build()
            .expect("an HTTP client");
        let page = http.get(format!("{base}/login")).send().await.expect("GET /login").text().await.expect("the login page");
        let marker = r#"<meta name="csrf-token" content=""#;
        let start = page.find(marker).expect("a CSRF token") + marker.len();
        let token = page[start..].split('"').next().expect("a CSRF token").to_string();
        let idle = status_kb(pid, "VmRSS:");
        let started = Instant::now();
        let tasks: Vec<_> = (0..flood)
            .map(|i| {
                let email = if i % 40 == 0 { EMAIL.to_string() } else { format!("nobody{i}@bench.test") };
                let body = format!("email={}&password=wrong+password&csrf_token={token}", email.replace('@', "%40"));
                let req = http.post(format!("{base}/login")).header("Content-Type", "application/x-www-form-urlencoded").body(body);
                tokio::spawn(async move {
                    match req.send().await {
                        Ok(r) => r.status().as_u16().to_string(),
                        Err(e) => format!("no answer ({e})"),
                    }
                })
            })
            .collect();
        let mut statuses = BTreeMap::<String, usize>::new();
        for t in tasks {
            *statuses.entry(t.await.unwrap_or_else(|e| format!("task failed ({e})"))).or_default() += 1;
        }
        (statuses, idle, started.elapsed())
    });
    let peak = status_kb(pid, "VmHWM:");
    let after = status_kb(pid, "VmRSS:");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("login_memory: {flood} simultaneous failed sign-ins against the release server ({cores} cores, so {cores} password checks at a time)");
    println!("  answers:        {statuses:?} in {:.1} s", elapsed.as_secs_f64());
    println!("  server RSS:     {} idle, {} peak (VmHWM), {} after", mib(idle), mib(peak), mib(after));
    drop(server);
}
