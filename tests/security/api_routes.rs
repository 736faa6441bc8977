//! The API's route table walk: every entry of `contacts_admin::web::api::API_ROUTES`,
//! with real ids of account A in its path or body, is sent
//!
//! - with no key, and with a session cookie of A's admin but no key: 401, nothing changed;
//! - with A's user-role key, for admin routes (R1, R11): 403, nothing changed;
//! - with the admin key of account B and A's ids: a 4xx, nothing changed, none of A's
//!   data in the answer;
//!
//! and then once with A's admin key, which must succeed: so each refusal above is the
//! access check at work. A route this file has no request for fails the test.

use crate::app::{api_key, spawn_app, ApiClient, ApiResp};
use crate::{both_backends, digest, finished_job, make_targets, summary, Targets};
use contacts_admin::domain::Role;
use contacts_admin::web::api::API_ROUTES;
use contacts_admin::web::{Access, RouteInfo};
use serde_json::{json, Value};

/// The request for `route` on the targets `t` (and job `job`), and whether it names ids.
fn request(route: &RouteInfo, t: &Targets, job: i64) -> Option<(reqwest::Method, String, Option<Value>, bool)> {
    use reqwest::Method as M;
    let c = t.contact.0;
    let d = t.deleted.0;
    Some(match (route.method, route.path) {
        ("get", "/api/v1/openapi.json") => (M::GET, route.path.into(), None, false),
        ("get", "/api/v1/contacts") => (M::GET, "/api/v1/contacts?q=zq".into(), None, false),
        ("post", "/api/v1/contacts") => (M::POST, route.path.into(), Some(json!({"first_name": "Made", "email": format!("made{c}@x.test"), "tags": ["New"]})), false),
        ("get", "/api/v1/contacts/deleted") => (M::GET, route.path.into(), None, false),
        ("post", "/api/v1/contacts/delete") => (M::POST, route.path.into(), Some(json!({"ids": [c], "confirm": "DELETE", "reason": "test"})), true),
        ("post", "/api/v1/contacts/restore") => (M::POST, route.path.into(), Some(json!({"batch": t.batch})), true),
        ("post", "/api/v1/contacts/erase") => (M::POST, route.path.into(), Some(json!({"ids": [d], "confirm": "DELETE"})), true),
        ("get", "/api/v1/contacts/{id}") => (M::GET, format!("/api/v1/contacts/{c}"), None, true),
        ("delete", "/api/v1/contacts/{id}") => (M::DELETE, format!("/api/v1/contacts/{c}?confirm=DELETE"), None, true),
        ("get", "/api/v1/jobs/{id}") => (M::GET, format!("/api/v1/jobs/{job}"), None, true),
        _ => return None,
    })
}

fn shows(r: &ApiResp, t: &Targets) -> Vec<String> {
    t.secrets.iter().filter(|s| r.body.contains(s.as_str())).cloned().collect()
}

both_backends!(async fn every_api_route_refuses_no_key_the_user_role_and_other_accounts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let (a, b) = (f.acc.clone(), app.b.clone());
    let backend = crate::backend_name(&f.raw);
    let job = finished_job(f, &a).await;
    let admin_key = api_key(&f.repo, a.id, a.admin, "Walk admin", Role::Admin).await;
    let user_key = api_key(&f.repo, a.id, a.admin, "Walk user", Role::User).await;
    let b_key = api_key(&f.repo, b.id, b.admin, "Walk B", Role::Admin).await;
    let anon = ApiClient::new(&app.base, None);
    let mut browser = app.admin().await;
    let mut failures = Vec::new();
    let mut missing = Vec::new();
    let mut attacks = 0;

    for route in API_ROUTES {
        let label = format!("{} {}", route.method.to_uppercase(), route.path);
        let t = make_targets(f, &a).await;
        let Some((method, path, body, names_ids)) = request(route, &t, job) else {
            missing.push(label);
            continue;
        };
        if route.access != Access::Public {
            // no key
            let before = digest(&f.raw).await;
            let r = anon.send(method.clone(), &path, body.as_ref()).await;
            attacks += 1;
            if r.status != 401 || r.header("content-type") != Some("application/problem+json") {
                failures.push(format!("{label}: without a key got {} {:?}", r.status, r.header("content-type")));
            }
            if !shows(&r, &t).is_empty() {
                failures.push(format!("{label}: without a key shows {:?}", shows(&r, &t)));
            }
            // A's admin signed in to the pages, with the session cookie and its CSRF token, no key
            let token = browser.token().await;
            let url = format!("{}{path}", app.base);
            let mut req = browser.http.request(method.clone(), &url).header("X-CSRF-Token", token);
            if let Some(b) = &body {
                req = req.header("content-type", "application/json").body(b.to_string());
            }
            let status = req.send().await.expect("send").status().as_u16();
            attacks += 1;
            if status != 401 {
                failures.push(format!("{label}: a session cookie without a key got {status}, not 401"));
            }
            if digest(&f.raw).await != before {
                failures.push(format!("{label}: a request without a key changed the database"));
            }
        }
        if route.access == Access::Admin {
            let before = digest(&f.raw).await;
            let r = ApiClient::new(&app.base, Some(&user_key)).send(method.clone(), &path, body.as_ref()).await;
            attacks += 1;
            if r.status != 403 {
                failures.push(format!("{label}: a user key got {}, not 403", r.status));
            }
            if !shows(&r, &t).is_empty() || digest(&f.raw).await != before {
                failures.push(format!("{label}: a user key's refused request showed data or changed the database"));
            }
        }
        if route.access != Access::Public && names_ids {
            let before = digest(&f.raw).await;
            let r = ApiClient::new(&app.base, Some(&b_key)).send(method.clone(), &path, body.as_ref()).await;
            attacks += 1;
            if !(400..500).contains(&r.status) {
                failures.push(format!("{label}: account B's admin key with A's ids got {}, not a 4xx", r.status));
            }
            if !shows(&r, &t).is_empty() {
                failures.push(format!("{label}: account B's admin key sees {:?}", shows(&r, &t)));
            }
            if digest(&f.raw).await != before {
                failures.push(format!("{label}: account B's admin key changed the database"));
            }
        }
        // the control
        let r = ApiClient::new(&app.base, Some(&admin_key)).send(method, &path, body.as_ref()).await;
        if !(200..300).contains(&r.status) {
            failures.push(format!("{label}: the control by A's admin key got {}: {}", r.status, r.body.chars().take(300).collect::<String>()));
        }
        if route.path == "/api/v1/contacts/{id}" && route.method == "get" && shows(&r, &t).is_empty() {
            failures.push(format!("{label}: the control shows none of A's data, so the leak checks prove nothing"));
        }
    }
    assert!(missing.is_empty(), "API routes without a request in this test: {missing:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    summary(format!("api routes [{backend}]: {} routes covered, {attacks} attacks refused", API_ROUTES.len()));
});

/// A value of a random shape: what a confused or hostile client might put in any field.
fn junk(rng: &mut impl rand::Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 9 } else { 11 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random_range(-3i64..5)),
        4 => json!(rng.random::<f64>() * 1e300),
        5 => json!(""),
        6 => json!("x".repeat(rng.random_range(0..5000))),
        7 => json!(["DELETE", "delete", "\u{0}", "☃", "1; drop table contacts", "'\"<script>"][rng.random_range(0..6)]),
        8 => json!("2026-13-45T99:99:99Z"),
        9 => Value::Array((0..rng.random_range(0..20)).map(|_| junk(rng, depth + 1)).collect()),
        _ => {
            let keys = ["ids", "filter", "q", "tag", "as_of", "exclude", "confirm", "reason", "expected_count", "batch", "first_name", "email", "tags", "x"];
            Value::Object((0..rng.random_range(0..6)).map(|_| (keys[rng.random_range(0..keys.len())].to_string(), junk(rng, depth + 1))).collect())
        }
    }
}

both_backends!(async fn random_json_to_every_api_route_never_fails_the_server_nor_deletes_without_delete(db: TestDb) {
    use rand::{Rng, SeedableRng};
    let app = spawn_app(db).await;
    let f = &app.f;
    let a = f.acc.clone();
    let t = make_targets(f, &a).await;
    let admin_key = api_key(&f.repo, a.id, a.admin, "Fuzz", Role::Admin).await;
    let api = ApiClient::new(&app.base, Some(&admin_key));
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let live_before = f.raw.count("contacts", "deleted_at is null", &[]).await;
    let all_before = f.raw.count("contacts", "1 = 1", &[]).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut failures = Vec::new();
    for i in 0..400 {
        let route = API_ROUTES[i % API_ROUTES.len()];
        let path = route.path.replace("{id}", &match rng.random_range(0..4) {
            0 => t.contact.0.to_string(),
            1 => "-1".into(),
            2 => "%00".into(),
            _ => rng.random::<u64>().to_string(),
        });
        let mut body = junk(&mut rng, 0);
        // never the typed DELETE, so nothing may be deleted or erased
        strip_delete(&mut body);
        let method = match route.method {
            "get" => reqwest::Method::GET,
            "post" => reqwest::Method::POST,
            _ => reqwest::Method::DELETE,
        };
        let r = if route.method == "get" {
            let q = format!("?q={}&limit={}&after={}", rng.random::<u32>(), rng.random_range(-5i64..300), junk(&mut rng, 3));
            api.send(method, &format!("{path}{q}"), None).await
        } else {
            api.send(method, &path, Some(&body)).await
        };
        *statuses.entry(r.status).or_default() += 1;
        if r.status >= 500 {
            failures.push(format!("{} {path} {body}: {} {}", route.method, r.status, r.body));
        } else if r.status >= 400 && r.header("content-type") != Some("application/problem+json") {
            failures.push(format!("{} {path}: {} without a problem document", route.method, r.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // (a random body may restore a deleted contact or add one: neither needs DELETE)
    assert!(f.raw.count("contacts", "deleted_at is null", &[]).await >= live_before, "no contact was deleted");
    assert!(f.raw.count("contacts", "1 = 1", &[]).await >= all_before, "no contact was erased");
    summary(format!("api fuzz [{}]: 400 random requests, statuses {statuses:?}", crate::backend_name(&f.raw)));
});

fn strip_delete(v: &mut Value) {
    match v {
        Value::String(s) if s == "DELETE" => *s = "DELETE?".into(),
        Value::Array(items) => items.iter_mut().for_each(strip_delete),
        Value::Object(map) => map.values_mut().for_each(strip_delete),
        _ => {}
    }
}
