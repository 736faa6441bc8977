//! The JSON API, black-box, on both backends: a key is the only credential (a session
//! cookie alone gets 401), a user key reads and adds but never deletes, an admin key
//! deletes only with the typed DELETE, another account's ids are 404, bad input is a
//! problem document that changes nothing, large deletions become jobs, each key has its
//! rate, and every operation the OpenAPI document lists answers as it says.

use crate::app::{api_key, spawn_app, spawn_app_with, ApiClient, TestApp};
use crate::support::{create_contact, Raw};
use crate::{args, both_backends};
use contacts_admin::config::BulkSettings;
use contacts_admin::domain::{ContactId, Role};
use serde_json::json;

const AS_OF: &str = "2100-01-01T00:00:00Z";

/// Live contacts of account A ("Acme", the first account).
async fn live(raw: &Raw) -> i64 {
    raw.count("contacts", "deleted_at is null and account_id = (select min(id) from accounts)", &[]).await
}

/// Deleted contacts of every account.
async fn deleted(raw: &Raw) -> i64 {
    raw.count("contacts", "deleted_at is not null", &[]).await
}

/// Three contacts of A (one tagged VIP) and one of B.
async fn contacts(app: &TestApp) -> (Vec<ContactId>, ContactId) {
    let mut a = Vec::new();
    for (i, tags) in [&["VIP"][..], &[], &[]].iter().enumerate() {
        a.push(app.f.contact(&format!("Api{i}"), Some(&format!("api{i}@acme.test")), tags).await);
    }
    let b = create_contact(&app.f.repo, app.b.id, "Bravoperson", Some("b@bravo.test"), &[]).await;
    (a, b)
}

both_backends!(async fn only_a_live_key_authenticates_and_a_session_cookie_alone_does_not(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, _, _) = app.api_keys().await;
    contacts(&app).await;
    let none = ApiClient::new(&app.base, None);
    let r = none.get("/api/v1/contacts").await;
    r.assert_status(401).assert_detail("Authorization: Bearer");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    for bad in ["ca_0000000000000000000000000000000000000000000000000000000000000000", "not-a-key", &admin_key.to_uppercase()] {
        app.api(bad).get("/api/v1/contacts").await.assert_status(401);
    }
    // signed in to the pages as the admin, with no key: the API does not read the cookie
    let mut browser = app.admin().await;
    let r = browser.get("/api/v1/contacts").await;
    assert_eq!(r.status, 401, "{}", r.body);
    let before = live(&app.f.raw).await;
    let r = browser.post("/api/v1/contacts/delete", &[("ids", "1"), ("confirm", "DELETE")]).await;
    assert!(r.status == 401 || r.status == 415, "{}: {}", r.status, r.body);
    assert_eq!(live(&app.f.raw).await, before);

    let ok = app.api(&admin_key).get("/api/v1/contacts").await;
    ok.assert_status(200);
    assert!(ok.header("set-cookie").is_none(), "the API sets no cookie");
    // revoked: refused at once
    let key_id = app.f.raw.i64("select id from api_keys where name = 'Zapier'", &[]).await;
    assert!(app.f.repo.revoke_api_key(app.f.acc.id, app.f.acc.admin, key_id).await.unwrap());
    app.api(&admin_key).get("/api/v1/contacts").await.assert_status(401);
    // its user lost the admin role with it
    let role: (String,) = app.f.raw.one("select u.role from users u join api_keys k on k.user_id = u.id where k.id = $1", args![key_id]).await;
    assert_eq!(role.0, "user");
});

both_backends!(async fn a_user_key_reads_and_adds_contacts_but_cannot_delete_restore_or_erase(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, user_key, _) = app.api_keys().await;
    let (a, _) = contacts(&app).await;
    let batch = crate::support::delete_ids(&app.f, &a[2..]).await.batch;
    let user = app.api(&user_key);
    let page = user.get("/api/v1/contacts?limit=1").await;
    page.assert_status(200);
    let body = page.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["has_more"], true);
    let next = body["next"].as_str().expect("a next page").to_string();
    let second = user.get(&next).await.json();
    assert_ne!(second["data"][0]["id"], body["data"][0]["id"]);
    let vip = user.get("/api/v1/contacts?tag=VIP").await.json();
    assert_eq!(vip["data"].as_array().unwrap().len(), 1);
    assert_eq!(vip["data"][0]["id"], a[0].0);
    user.get(&format!("/api/v1/contacts/{}", a[1])).await.assert_status(200);

    let made = user.post("/api/v1/contacts", json!({"first_name": "Nova", "email": "nova@acme.test", "tags": ["Lead"]})).await;
    made.assert_status(201);
    let id = made.json()["id"].as_i64().unwrap();
    assert_eq!(made.header("location"), Some(format!("/api/v1/contacts/{id}").as_str()));
    assert_eq!(user.get(&format!("/api/v1/contacts/{id}")).await.json()["tags"], json!(["Lead"]));

    let (l, d) = (live(&app.f.raw).await, deleted(&app.f.raw).await);
    let c = a[0].0;
    for r in [
        user.delete(&format!("/api/v1/contacts/{c}?confirm=DELETE")).await,
        user.post("/api/v1/contacts/delete", json!({"ids": [c], "confirm": "DELETE"})).await,
        user.post("/api/v1/contacts/restore", json!({"batch": batch.0})).await,
        user.post("/api/v1/contacts/erase", json!({"ids": [a[2].0], "confirm": "DELETE"})).await,
        user.get("/api/v1/contacts/deleted").await,
        user.get("/api/v1/jobs/1").await,
    ] {
        r.assert_status(403).assert_detail("only an admin key");
    }
    assert_eq!((live(&app.f.raw).await, deleted(&app.f.raw).await), (l, d), "nothing changed");
    // the admin key may
    app.api(&admin_key).get("/api/v1/contacts/deleted").await.assert_status(200);
});

both_backends!(async fn a_tag_that_starts_a_deleting_workflow_needs_an_admin_key_and_delete(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, user_key, _) = app.api_keys().await;
    let mut admin = app.admin().await;
    let wf = crate::workflows::create_workflow(&mut admin, "Remove unsubscribed", "Unsubscribed").await;
    crate::workflows::activate(&mut admin, wf).await;
    let before = app.f.raw.count("contacts", "1 = 1", &[]).await;
    let body = |confirm: Option<&str>| json!({"first_name": "Gone", "email": "gone@acme.test", "tags": ["Unsubscribed"], "confirm": confirm});
    // a user key may not start a deletion, confirmed or not
    app.api(&user_key).post("/api/v1/contacts", body(None)).await.assert_status(403).assert_detail("Only an admin may delete contacts");
    app.api(&user_key).post("/api/v1/contacts", body(Some("DELETE"))).await.assert_status(403);
    // an admin key is asked for the typed DELETE
    app.api(&admin_key).post("/api/v1/contacts", body(None)).await.assert_status(409).assert_detail("DELETE");
    app.api(&admin_key).post("/api/v1/contacts", body(Some("delete"))).await.assert_status(422);
    assert_eq!(app.f.raw.count("contacts", "1 = 1", &[]).await, before, "nothing was added");
    app.api(&admin_key).post("/api/v1/contacts", body(Some("DELETE"))).await.assert_status(201);
});

both_backends!(async fn an_admin_key_deletes_restores_and_erases_with_the_typed_delete_and_is_audited(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, _, _) = app.api_keys().await;
    let (a, _) = contacts(&app).await;
    let api = app.api(&admin_key);
    let one = a[0].0;
    api.delete(&format!("/api/v1/contacts/{one}")).await.assert_status(422).assert_detail("Type DELETE");
    api.delete(&format!("/api/v1/contacts/{one}?confirm=delete")).await.assert_status(422);
    api.post("/api/v1/contacts/delete", json!({"ids": [one]})).await.assert_status(422);
    assert_eq!(deleted(&app.f.raw).await, 0);

    let r = api.delete(&format!("/api/v1/contacts/{one}?confirm=DELETE&reason=Asked%20to%20be%20removed")).await;
    r.assert_status(200);
    assert_eq!(r.json()["deleted"], 1);
    let batch = r.json()["batch"].as_i64().unwrap();
    api.get(&format!("/api/v1/contacts/{one}")).await.assert_status(404);
    api.delete(&format!("/api/v1/contacts/{one}?confirm=DELETE")).await.assert_status(404);

    // audited as the key, through the API, with the reason
    let (channel, actor, reason): (String, String, Option<String>) = app
        .f
        .raw
        .one("select e.channel, u.name, e.reason from audit_events e join users u on u.id = e.actor_user_id where e.action = 'delete'", &[])
        .await;
    assert_eq!((channel.as_str(), actor.as_str(), reason.as_deref()), ("api", "API key “Zapier”", Some("Asked to be removed")));
    let mut admin = app.admin().await;
    admin.get("/audit").await.assert_status(200).assert_contains("API key “Zapier”").assert_contains("<td>API</td>");

    let list = api.get("/api/v1/contacts/deleted").await.json();
    assert_eq!(list["data"][0]["id"], one);
    assert_eq!(list["data"][0]["deleted_by"], "API key “Zapier”");
    assert_eq!(list["data"][0]["batch"], batch);

    // a filter as of a moment, less one excluded
    let r = api.post("/api/v1/contacts/delete", json!({"filter": {"q": "api"}, "as_of": AS_OF, "exclude": [a[2].0], "confirm": "DELETE"})).await;
    r.assert_status(200);
    assert_eq!(r.json()["deleted"], 1);
    assert_eq!(live(&app.f.raw).await, 1);

    let r = api.post("/api/v1/contacts/restore", json!({"batch": batch})).await;
    r.assert_status(200);
    assert_eq!(r.json()["restored"], 1);
    api.get(&format!("/api/v1/contacts/{one}")).await.assert_status(200);

    let r = api.post("/api/v1/contacts/restore", json!({"ids": [a[1].0, 999_999]})).await;
    r.assert_status(200);
    assert_eq!((r.json()["restored"].clone(), r.json()["not_found"].clone()), (json!(1), json!([999_999])));

    // erase: only deleted contacts, only with DELETE
    api.post("/api/v1/contacts/delete", json!({"ids": [one], "confirm": "DELETE"})).await.assert_status(200);
    api.post("/api/v1/contacts/erase", json!({"ids": [one]})).await.assert_status(422);
    api.post("/api/v1/contacts/erase", json!({"ids": [a[2].0], "confirm": "DELETE"})).await.assert_status(404);
    let r = api.post("/api/v1/contacts/erase", json!({"ids": [one], "confirm": "DELETE"})).await;
    r.assert_status(200);
    assert_eq!(r.json()["erased"], 1);
    assert_eq!(app.f.raw.count("contacts", "id = $1", args![one]).await, 0);
});

both_backends!(async fn a_restore_that_meets_a_live_email_reports_the_conflict_per_contact(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, _, _) = app.api_keys().await;
    let (a, _) = contacts(&app).await;
    let api = app.api(&admin_key);
    api.post("/api/v1/contacts/delete", json!({"ids": [a[1].0], "confirm": "DELETE"})).await.assert_status(200);
    let live_one = app.f.contact("Again", Some("api1@acme.test"), &[]).await;
    let r = api.post("/api/v1/contacts/restore", json!({"ids": [a[1].0]})).await;
    r.assert_status(200);
    let body = r.json();
    assert_eq!(body["restored"], 0);
    assert_eq!(body["conflicts"][0]["contact_id"], a[1].0);
    assert_eq!(body["conflicts"][0]["live_contact_id"], live_one.0);
    assert!(body["conflicts"][0]["detail"].as_str().unwrap().contains("already uses api1@acme.test"));
});

both_backends!(async fn another_accounts_ids_are_not_found_and_change_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, _, b_key) = app.api_keys().await;
    let (a, b_contact) = contacts(&app).await;
    let batch = crate::support::delete_ids(&app.f, &a[2..]).await.batch;
    let job: i64 = app
        .f
        .raw
        .insert(
            "insert into bulk_jobs (account_id, kind, batch_id, state, total, done, created_at, updated_at) values ($1, 'restore', $2, 'done', 1, 1, 0, 0) returning id",
            args![app.f.acc.id.0, batch.0],
        )
        .await;
    let (l, d) = (live(&app.f.raw).await, deleted(&app.f.raw).await);
    let b = app.api(&b_key);
    let c = a[0].0;
    for r in [
        b.get(&format!("/api/v1/contacts/{c}")).await,
        b.delete(&format!("/api/v1/contacts/{c}?confirm=DELETE")).await,
        b.post("/api/v1/contacts/delete", json!({"ids": [c], "confirm": "DELETE"})).await,
        b.post("/api/v1/contacts/restore", json!({"batch": batch.0})).await,
        b.post("/api/v1/contacts/restore", json!({"ids": [a[2].0]})).await,
        b.post("/api/v1/contacts/erase", json!({"ids": [a[2].0], "confirm": "DELETE"})).await,
        b.get(&format!("/api/v1/jobs/{job}")).await,
    ] {
        r.assert_status(404);
        assert!(!r.body.contains("api0@acme.test") && !r.body.contains("Api0"), "{}", r.body);
    }
    let listed = b.get("/api/v1/contacts").await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], b_contact.0);
    assert!(b.get("/api/v1/contacts/deleted").await.json()["data"].as_array().unwrap().is_empty());
    // a filter deletion by B reaches only B's contacts
    let r = b.post("/api/v1/contacts/delete", json!({"filter": {"q": "api"}, "as_of": AS_OF, "confirm": "DELETE"})).await;
    r.assert_status(404);
    assert_eq!((live(&app.f.raw).await, deleted(&app.f.raw).await), (l, d));
});

both_backends!(async fn bad_input_gets_a_problem_document_and_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, _, _) = app.api_keys().await;
    let (a, _) = contacts(&app).await;
    let api = app.api(&admin_key);
    let l = live(&app.f.raw).await;
    let post = reqwest::Method::POST;
    let raw = |ct: &'static str, body: &str| Some((ct, body.to_string()));
    api.send_raw(post.clone(), "/api/v1/contacts/delete", raw("application/json", "{\"ids\": [1,")).await.assert_status(400);
    api.send_raw(post.clone(), "/api/v1/contacts/delete", raw("application/json", "{\"ids\": \"1\", \"confirm\": \"DELETE\"}")).await.assert_status(400);
    api.send_raw(post.clone(), "/api/v1/contacts/delete", raw("text/plain", "{}")).await.assert_status(415);
    let huge = format!("{{\"ids\": [{}1], \"confirm\": \"DELETE\"}}", "1,".repeat(1_500_000));
    api.send_raw(post.clone(), "/api/v1/contacts/delete", raw("application/json", &huge)).await.assert_status(413);
    api.post("/api/v1/contacts/delete", json!({"ids": [a[0].0], "confirm": "DELETE", "confrim": "DELETE"})).await.assert_status(400).assert_detail("unknown field");
    for (body, says) in [
        (json!({"confirm": "DELETE"}), "Send the ids"),
        (json!({"ids": [], "confirm": "DELETE"}), "at least one"),
        (json!({"ids": [a[0].0], "filter": {}, "as_of": AS_OF, "confirm": "DELETE"}), "not both"),
        (json!({"filter": {"q": "api"}, "confirm": "DELETE"}), "as_of"),
        (json!({"filter": {"q": "api"}, "as_of": "yesterday", "confirm": "DELETE"}), ""),
        (json!({"ids": [-4], "confirm": "DELETE"}), ""),
        (json!({"ids": [a[0].0], "confirm": "DELETE", "reason": "x".repeat(600)}), "too long"),
        (json!({"filter": {"q": "a\u{0}b"}, "as_of": AS_OF, "confirm": "DELETE"}), "control characters"),
    ] {
        api.post("/api/v1/contacts/delete", body).await.assert_status(422).assert_detail(says);
    }
    api.get("/api/v1/contacts?limit=0").await.assert_status(422);
    api.get("/api/v1/contacts?limit=201").await.assert_status(422);
    api.get("/api/v1/contacts?limit=ten").await.assert_status(400);
    api.get("/api/v1/contacts?after=-3").await.assert_status(422);
    api.get("/api/v1/contacts/deleted?after=garbage").await.assert_status(422);
    api.get("/api/v1/contacts/abc").await.assert_status(404);
    api.get("/api/v1/contacts/99999999999999999999999").await.assert_status(404);
    api.get("/api/v1/jobs/0").await.assert_status(404);
    api.get("/api/v1/nothing-here").await.assert_status(404);
    api.post("/api/v1/contacts", json!({"first_name": "", "email": ""})).await.assert_status(422);
    api.post("/api/v1/contacts", json!({"first_name": "Tag", "tags": ["a,b"]})).await.assert_status(422);
    api.post("/api/v1/contacts/restore", json!({})).await.assert_status(422);
    api.post("/api/v1/contacts/restore", json!({"ids": [1], "batch": 1})).await.assert_status(422);
    api.post("/api/v1/contacts/restore", json!({"batch": 987654})).await.assert_status(404);
    assert_eq!(live(&app.f.raw).await, l, "nothing changed");
});

both_backends!(async fn deleting_every_contact_needs_the_expected_count_and_large_deletions_run_as_jobs(db: TestDb) {
    let app = spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 2, chunk: Some(2) }).await;
    let (admin_key, _, _) = app.api_keys().await;
    contacts(&app).await;
    for i in 0..3 {
        app.f.contact(&format!("More{i}"), None, &[]).await;
    }
    let api = app.api(&admin_key);
    let all = |n: Option<i64>| json!({"filter": {}, "as_of": AS_OF, "confirm": "DELETE", "expected_count": n});
    api.post("/api/v1/contacts/delete", all(None)).await.assert_status(422).assert_detail("type the number of contacts, 6");
    api.post("/api/v1/contacts/delete", all(Some(5))).await.assert_status(422);
    assert_eq!(deleted(&app.f.raw).await, 0);
    let r = api.post("/api/v1/contacts/delete", all(Some(6))).await;
    r.assert_status(202);
    let url = r.header("location").expect("where to follow the job").to_string();
    assert_eq!(r.json()["status_url"], url.as_str());
    assert_eq!(r.json()["count"], 6);
    let mut state = String::new();
    for _ in 0..200 {
        let j = api.get(&url).await.json();
        state = j["state"].as_str().unwrap_or_default().to_string();
        if state == "done" {
            assert_eq!((j["done"].clone(), j["kind"].clone()), (json!(6), json!("delete")));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done");
    assert_eq!(live(&app.f.raw).await, 0);
    // one contact.deleted per chunk would go to an endpoint; none is registered, so none is written
    assert_eq!(app.f.raw.count("webhook_events", "1 = 1", &[]).await, 0);
});

both_backends!(async fn deletions_made_with_a_key_send_webhook_events(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, _, _) = app.api_keys().await;
    let (a, _) = contacts(&app).await;
    let url = contacts_admin::domain::WebhookUrl::parse("https://93.184.216.34/hook").unwrap();
    let events = contacts_admin::domain::WebhookEvents::parse(["contact.deleted", "deletion.finished"]).unwrap();
    app.f.repo.create_webhook_endpoint(app.f.acc.id, app.f.acc.admin, &url, &events, "whsec_test").await.unwrap();
    app.api(&admin_key).post("/api/v1/contacts/delete", json!({"ids": [a[0].0, a[1].0], "confirm": "DELETE"})).await.assert_status(200);
    let payload: (String,) = app.f.raw.one("select payload from webhook_events where type = 'contact.deleted'", &[]).await;
    let v: serde_json::Value = serde_json::from_str(&payload.0).unwrap();
    let mut ids: Vec<i64> = v["data"]["contact_ids"].as_array().expect("ids in the payload").iter().map(|i| i.as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![a[0].0, a[1].0]);
    assert_eq!(app.f.raw.count("webhook_events", "type = 'deletion.finished'", &[]).await, 1);
});

both_backends!(async fn each_key_has_its_own_rate_per_minute(db: TestDb) {
    let app = spawn_app_with(db, |s| s.api_rate_per_minute = 3).await;
    let (admin_key, user_key, _) = app.api_keys().await;
    let api = app.api(&admin_key);
    for _ in 0..3 {
        api.get("/api/v1/contacts").await.assert_status(200);
    }
    let r = api.get("/api/v1/contacts").await;
    r.assert_status(429).assert_detail("3 requests");
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    app.api(&user_key).get("/api/v1/contacts").await.assert_status(200);
    // a request with no valid key is refused before it counts against any key
    ApiClient::new(&app.base, Some("ca_nope")).get("/api/v1/contacts").await.assert_status(401);
});

/// An example request for each operation the document lists, made by A's admin key, so
/// that the walk below can send it; an operation missing here fails the walk.
async fn example(app: &TestApp, key: &str, method: &str, path: &str) -> Option<(reqwest::Method, String, Option<serde_json::Value>)> {
    let c = app.f.contact("Example", Some(&format!("ex{}@acme.test", rand_suffix())), &[]).await.0;
    let d = app.f.contact("Gone", None, &[]).await;
    let batch = crate::support::delete_ids(&app.f, &[d]).await.batch.0;
    let _ = key;
    use reqwest::Method as M;
    Some(match (method, path) {
        ("get", "/api/v1/contacts") => (M::GET, "/api/v1/contacts?limit=5".into(), None),
        ("post", "/api/v1/contacts") => (M::POST, path.into(), Some(json!({"first_name": "Made", "tags": ["New"]}))),
        ("get", "/api/v1/contacts/{id}") => (M::GET, format!("/api/v1/contacts/{c}"), None),
        ("delete", "/api/v1/contacts/{id}") => (M::DELETE, format!("/api/v1/contacts/{c}?confirm=DELETE"), None),
        ("post", "/api/v1/contacts/delete") => (M::POST, path.into(), Some(json!({"ids": [c], "confirm": "DELETE"}))),
        ("get", "/api/v1/contacts/deleted") => (M::GET, path.into(), None),
        ("post", "/api/v1/contacts/restore") => (M::POST, path.into(), Some(json!({"batch": batch}))),
        ("post", "/api/v1/contacts/erase") => (M::POST, path.into(), Some(json!({"ids": [d.0], "confirm": "DELETE"}))),
        ("get", "/api/v1/jobs/{id}") => {
            let job = app
                .f
                .raw
                .insert(
                    "insert into bulk_jobs (account_id, kind, batch_id, state, total, done, created_at, updated_at) values ($1, 'delete', $2, 'done', 1, 1, 0, 0) returning id",
                    args![app.f.acc.id.0, batch],
                )
                .await;
            (M::GET, format!("/api/v1/jobs/{job}"), None)
        }
        _ => return None,
    })
}

fn rand_suffix() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

both_backends!(async fn every_operation_of_the_openapi_document_answers_as_documented(db: TestDb) {
    let app = spawn_app(db).await;
    let (admin_key, user_key, _) = app.api_keys().await;
    let doc = ApiClient::new(&app.base, None).get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let mut seen = 0;
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            seen += 1;
            let documented: Vec<u16> = op["responses"].as_object().unwrap().keys().map(|s| s.parse().unwrap()).collect();
            let name = format!("{} {path}", method.to_uppercase());
            // the route exists in the server's table with this method
            assert!(
                contacts_admin::web::api::API_ROUTES.iter().any(|r| r.path == path && r.method == method),
                "{name} is documented but not routed"
            );
            let (m, url, body) = example(&app, &admin_key, method, path).await.unwrap_or_else(|| panic!("{name}: no example request in this test"));
            assert!(op["security"].is_array(), "{name} documents no security");
            let anon = ApiClient::new(&app.base, None).send(m.clone(), &url, body.as_ref()).await;
            assert!(documented.contains(&anon.status) && anon.status == 401, "{name} without a key: {} not in {documented:?}", anon.status);
            let admin_only = contacts_admin::web::api::API_ROUTES.iter().any(|r| r.path == path && r.method == method && r.access == contacts_admin::web::Access::Admin);
            if admin_only {
                let r = app.api(&user_key).send(m.clone(), &url, body.as_ref()).await;
                assert!(r.status == 403 && documented.contains(&403), "{name} with a user key: {}", r.status);
            }
            let r = app.api(&admin_key).send(m, &url, body.as_ref()).await;
            assert!(r.status < 300 && documented.contains(&r.status), "{name}: {} not in {documented:?}: {}", r.status, r.body);
            if r.status != 204 {
                r.json();
            }
        }
    }
    // every authenticated route of the table is documented
    for r in contacts_admin::web::api::API_ROUTES.iter().filter(|r| r.access != contacts_admin::web::Access::Public) {
        assert!(paths.get(r.path).and_then(|p| p.get(r.method)).is_some(), "{} {} is routed but not documented", r.method, r.path);
    }
    assert_eq!(seen, contacts_admin::web::api::API_ROUTES.len() - 1);
});

both_backends!(async fn an_admin_of_another_account_cannot_make_keys_here(db: TestDb) {
    let app = spawn_app(db).await;
    use contacts_admin::domain::{ApiKeyName, ApiKeySecret};
    let s = ApiKeySecret::generate(contacts_admin::token::random_token());
    let name = ApiKeyName::parse("Sneaky").unwrap();
    assert!(app.f.repo.create_api_key(app.f.acc.id, app.b.admin, &name, Role::Admin, &s).await.is_err());
    assert!(app.f.repo.create_api_key(app.f.acc.id, app.f.acc.user, &name, Role::Admin, &s).await.is_err());
    let _ = api_key(&app.f.repo, app.f.acc.id, app.f.acc.admin, "Sneaky", Role::User).await;
    assert_eq!(app.f.raw.count("api_keys", "1 = 1", &[]).await, 1);
});
