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

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;
use support::app::Client;
use support::child::{cli, mib, Serve};

const EMAIL: &str = "flood-user@bench.test";
const PASSWORD: &str = "flood-bench-password";

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means another bench was asked for
    if std::env::args().skip(1).any(|a| !a.starts_with('-') && !"login_memory".contains(a.as_str())) {
        return;
    }
    let flood: usize = std::env::var("LOGIN_FLOOD").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let dir = tempfile::Builder::new().prefix("contacts-admin-login-bench-").tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    cli(&url, &["create-user", "--account", "Flood", "--email", EMAIL, "--password", PASSWORD, "--role", "admin"]);
    let server = Serve::new(&url).start();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let (statuses, idle, elapsed) = rt.block_on(async {
        let mut c = Client::with(&server.base, reqwest::Client::builder().timeout(std::time::Duration::from_secs(300)));
        c.get("/login").await.assert_status(200);
        let idle = server.status_kb("VmRSS:");
        let started = Instant::now();
        let mut statuses = BTreeMap::<String, usize>::new();
        for answer in c.failed_sign_ins(flood, EMAIL).await {
            let status = answer.map(|(status, _, _)| status.to_string()).unwrap_or_else(|e| format!("no answer ({e})"));
            *statuses.entry(status).or_default() += 1;
        }
        (statuses, idle, started.elapsed())
    });
    let peak = server.status_kb("VmHWM:");
    let after = server.status_kb("VmRSS:");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("login_memory: {flood} simultaneous failed sign-ins against the release server ({cores} cores, so {cores} password checks at a time)");
    println!("  answers:        {statuses:?} in {:.1} s", elapsed.as_secs_f64());
    println!("  server RSS:     {} idle, {} peak (VmHWM), {} after", mib(idle), mib(peak), mib(after));
    drop(server);
}
