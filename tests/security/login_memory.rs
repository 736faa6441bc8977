//! Sign-in under a flood (issue 14, item 2): 400 simultaneous failed sign-ins against
//! the real `contacts-admin serve` binary. Each argon2 check takes ~19 MiB; unbounded,
//! this burst took a server to 9.6 GB. The server must answer every request with 401,
//! 429 or 503 (never another 5xx, never no answer) and its peak resident memory
//! (`VmHWM` of the server process) must stay under 256 MB. Nothing is timed.
//!
//! The same figure for a release build: `cargo bench --bench login_memory`.

use crate::support::child::{mib, Serve};
use crate::support::{Fixture, TEST_PASSWORD};
use crate::{both_backends, digest, summary};
use std::collections::BTreeMap;

const CONCURRENT: usize = 400;
const PEAK_LIMIT_KB: u64 = 256 * 1024;

both_backends!(async fn four_hundred_simultaneous_failed_sign_ins_keep_the_server_small(db: TestDb) {
    let f = Fixture::new(db).await;
    let backend = crate::backend_name(&f.raw);
    let server = Serve::new(&f.db.url).start();
    let before = digest(&f.raw).await;

    // One session (cookie and CSRF token) sends every attempt, as a script would.
    let mut c = crate::app::Client::new(&server.base);
    c.get("/login").await.assert_status(200);
    let rss_idle = server.status_kb("VmRSS:");

    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut problems = Vec::new();
    for answer in c.failed_sign_ins(CONCURRENT, &f.acc.user_email).await {
        match answer {
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
