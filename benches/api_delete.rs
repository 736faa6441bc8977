//! Deleting 100,000 contacts by filter through the JSON API, on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo bench --bench api_delete                        # 100,000 contacts, both backends
//! API_BENCH_CONTACTS=20000 API_BENCH_BACKENDS=sqlite cargo bench --bench api_delete
//! ```
//!
//! Seeds an account with the synthetic contacts of `contacts-admin seed` (about 21
//! associated rows each), makes an admin API key with `create-api-key`, starts the
//! release server, and sends one `POST /api/v1/contacts/delete` with an empty filter
//! (every contact as of now), `"confirm": "DELETE"` and the `expected_count`. The answer
//! is 202 with a job, followed on `GET /api/v1/jobs/{id}` every 100 ms until it is done.
//! Printed: the time to the 202, the time to the last contact deleted, contacts per
//! second, and the server's peak memory. Nothing is asserted.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::app::ApiClient;
use support::child::{cli, mib, Serve};
use support::TestDb;

const ACCOUNT: &str = "API bench";

fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with('-') && !"api_delete".contains(a.as_str())) {
        return;
    }
    let contacts: i64 = std::env::var("API_BENCH_CONTACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let backends = std::env::var("API_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    println!("api_delete: {contacts} contacts (~21 associated rows each) deleted by filter through POST /api/v1/contacts/delete");
    for backend in backends.split(',').map(str::trim) {
        let db = match backend {
            "sqlite" => rt.block_on(TestDb::sqlite()),
            "postgres" => match rt.block_on(TestDb::postgres("api_delete")) {
                Some(db) => db,
                None => continue,
            },
            other => panic!("unknown backend {other}: use sqlite or postgres"),
        };
        run(&rt, backend, &db.url, contacts);
        drop(db);
    }
}

fn run(rt: &tokio::runtime::Runtime, backend: &str, url: &str, contacts: i64) {
    cli(url, &["create-user", "--account", ACCOUNT, "--email", "bench-admin@bench.test", "--password", "bench-password", "--role", "admin"]);
    let seeding = Instant::now();
    cli(url, &["seed", "--account", ACCOUNT, "--contacts", &contacts.to_string()]);
    let seeded = seeding.elapsed();
    let out = cli(url, &["create-api-key", "--account", ACCOUNT, "--name", "Bench", "--role", "admin"]);
    let key = out.lines().last().expect("the key").trim().to_string();
    let server = Serve::new(url).start();
    let (accepted, done, job) = rt.block_on(async {
        let api = ApiClient::new(&server.base, Some(&key));
        let as_of = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let started = Instant::now();
        let r = api
            .post("/api/v1/contacts/delete", json!({"filter": {}, "as_of": as_of, "confirm": "DELETE", "expected_count": contacts, "reason": "bench"}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let accepted = started.elapsed();
        let url = r.header("location").expect("the job's URL").to_string();
        loop {
            let j = api.get(&url).await.json();
            match j["state"].as_str() {
                Some("done") => return (accepted, started.elapsed(), j),
                Some("failed" | "cancelled") => panic!("the job stopped: {j}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let peak = server.status_kb("VmHWM:");
    assert_eq!(job["done"], contacts, "{job}");
    println!(
        "  {backend:<8} seeded in {:.1} s; 202 after {:.0} ms; all {contacts} deleted after {:.1} s = {:.0} contacts/s; server peak RSS {}",
        seeded.as_secs_f64(),
        accepted.as_secs_f64() * 1000.0,
        done.as_secs_f64(),
        contacts as f64 / done.as_secs_f64(),
        mib(peak),
    );
}
