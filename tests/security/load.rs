//! Load (SPEC §5 "no 5xx under load"): eight clients read the contacts list while two
//! admins delete small selections and two restore them, against one server, for a few
//! seconds (`SECURITY_LOAD_SECS`, default 6). No timing is asserted: only that no answer
//! is a 5xx, none mentions "database is locked", and no contact is left half-deleted.

use crate::app::{spawn_app, Client};
use crate::support::{add_associated, create_contact, REMOVED_WITH_CONTACT};
use crate::{both_backends, summary};
use contacts_admin::domain::ContactId;
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Counts {
    pub requests: usize,
    pub by_status: BTreeMap<u16, usize>,
    pub server_errors: Vec<String>,
    pub locked: usize,
    pub transport_errors: Vec<String>,
}

impl Counts {
    pub fn record(&mut self, what: &str, status: u16, body: &str) {
        self.requests += 1;
        *self.by_status.entry(status).or_default() += 1;
        if status >= 500 && self.server_errors.len() < 10 {
            self.server_errors.push(format!("{what}: {status} {}", body.chars().take(200).collect::<String>()));
        }
        if body.contains("database is locked") {
            self.locked += 1;
        }
    }
}

fn secs() -> u64 {
    std::env::var("SECURITY_LOAD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
}

async fn form_post(c: &Client, path: &str, fields: &[(&str, String)]) -> Result<(u16, String), reqwest::Error> {
    let body = {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            s.append_pair(k, v);
        }
        s.append_pair("csrf_token", c.csrf.as_deref().unwrap_or(""));
        s.finish()
    };
    let res = c.http.post(c.url(path)).header("Content-Type", "application/x-www-form-urlencoded").body(body).send().await?;
    let status = res.status().as_u16();
    Ok((status, res.text().await.unwrap_or_default()))
}

both_backends!(async fn concurrent_reads_deletions_and_restores_never_fail(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let backend = crate::backend_name(&f.raw);
    let mut pool: Vec<ContactId> = Vec::new();
    for i in 0..240 {
        let c = create_contact(&f.repo, f.acc.id, &format!("Load{i}"), Some(&format!("load{i}@acme.test")), if i % 4 == 0 { &["VIP"] } else { &[] }).await;
        if i % 6 == 0 {
            add_associated(&f.raw, &f.acc, c, f.now()).await;
        }
        pool.push(c);
    }
    let pool = Arc::new(pool);
    let counts = Arc::new(Mutex::new(Counts::default()));
    let deadline = Instant::now() + Duration::from_secs(secs());
    let mut tasks = Vec::new();

    for r in 0..8 {
        let c = app.user().await;
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < deadline {
                i += 1;
                let path = match (r + i) % 5 {
                    0 => "/contacts".to_string(),
                    1 => "/contacts?q=load1".to_string(),
                    2 => "/contacts?tag=VIP&size=25".to_string(),
                    3 => "/contacts?last=1".to_string(),
                    _ => "/contacts?size=200".to_string(),
                };
                let htmx = i % 2 == 0;
                let mut req = c.http.get(c.url(&path));
                if htmx {
                    req = req.header("HX-Request", "true");
                }
                match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body = res.text().await.unwrap_or_default();
                        counts.lock().unwrap().record(&format!("GET {path}"), status, &body);
                    }
                    Err(e) => counts.lock().unwrap().transport_errors.push(format!("GET {path}: {e}")),
                }
            }
        }));
    }
    for w in 0..4 {
        let c = app.admin().await;
        let counts = counts.clone();
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let picks: Vec<(&str, String)> = {
                    let mut rng = rand::rng();
                    let n = rng.random_range(1..=3);
                    (0..n).map(|_| ("ids", pool[rng.random_range(0..pool.len())].0.to_string())).collect()
                };
                let (path, mut fields) = if w % 2 == 0 { ("/contacts/delete", picks) } else { ("/contacts/restore", picks) };
                if path == "/contacts/delete" {
                    fields.push(("confirm", "DELETE".into()));
                }
                match form_post(&c, path, &fields).await {
                    Ok((status, body)) => counts.lock().unwrap().record(&format!("POST {path}"), status, &body),
                    Err(e) => counts.lock().unwrap().transport_errors.push(format!("POST {path}: {e}")),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a load task");
    }

    let counts = std::mem::take(&mut *counts.lock().unwrap());
    assert!(counts.transport_errors.is_empty(), "requests without an answer: {:?}", counts.transport_errors);
    assert!(counts.server_errors.is_empty(), "5xx under load: {:?}", counts.server_errors);
    assert_eq!(counts.locked, 0, "answers mentioning \"database is locked\"");
    // R2 under concurrency: a deleted contact has none of its associated rows left
    for table in REMOVED_WITH_CONTACT {
        let half = f
            .raw
            .count(table, "contact_id in (select id from contacts where deleted_at is not null)", &[])
            .await;
        assert_eq!(half, 0, "{table} rows of deleted contacts");
    }
    let five = counts.by_status.range(500..).map(|(_, n)| n).sum::<usize>();
    summary(format!(
        "load [{backend}]: {} requests in {} s (8 readers, 2 deleters, 2 restorers), {five} 5xx, 0 \"database is locked\"; statuses {:?}",
        counts.requests,
        secs(),
        counts.by_status
    ));
});
