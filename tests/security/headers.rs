//! Security headers on every response: each route's answer to an anonymous client, to a
//! signed-in admin (GET) and to a forged POST (403), plus static files, 404s, 413s,
//! htmx error fragments, a throttled sign-in and a failed one; HSTS exactly when the
//! server runs with secure cookies; the import form's CSRF token kept out of URLs; and
//! which malformed requests the application itself answers (with the headers) and
//! which the HTTP layer answers before it (without them, and without a body).

use crate::app::{attr_values, spawn_app, Client, Resp};
use crate::routes::{multipart_with_token, read, request, send, Tok};
use crate::support::{TestDb, TEST_PASSWORD};
use crate::{both_backends, digest, finished_job, make_targets, summary};
use reqwest::header::CONTENT_TYPE;
use contacts_admin::web::{Access, ROUTES};

/// What is missing from `r`'s security headers.
pub fn header_problems(r: &Resp) -> Vec<String> {
    let mut out = Vec::new();
    match r.header("content-security-policy") {
        None => out.push("no Content-Security-Policy".to_string()),
        Some(csp) => {
            for part in ["default-src 'self'", "object-src 'none'"] {
                if !csp.contains(part) {
                    out.push(format!("CSP without {part}"));
                }
            }
        }
    }
    if r.header("x-content-type-options") != Some("nosniff") {
        out.push("no X-Content-Type-Options: nosniff".into());
    }
    let frames = r.header("x-frame-options").is_some_and(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin"))
        || r.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors"));
    if !frames {
        out.push("neither X-Frame-Options nor frame-ancestors".into());
    }
    if r.header("referrer-policy").is_none() {
        out.push("no Referrer-Policy".into());
    }
    out
}

both_backends!(async fn every_response_carries_the_security_headers(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let job = finished_job(f, &f.acc).await;
    let t = make_targets(f, &f.acc).await;
    let mut anon = app.client();
    anon.get("/login").await;
    let mut admin = app.admin().await;
    let mut checked: Vec<(String, u16)> = Vec::new();
    let mut problems = Vec::new();
    let mut check = |what: String, r: &Resp| {
        let p = header_problems(r);
        if !p.is_empty() {
            problems.push(format!("{what} ({}): {}", r.status, p.join(", ")));
        }
        checked.push((what, r.status));
    };

    for route in ROUTES {
        let label = format!("{} {}", route.method.to_uppercase(), route.path);
        let req = request(route, &t, &t, &f.acc, job).unwrap_or_else(|e| panic!("{e}"));
        if route.method == "get" {
            let r = send(&mut anon, &req, Tok::Session).await;
            check(format!("{label} anonymous"), &r);
            let r = send(&mut admin, &req, Tok::Session).await;
            check(format!("{label} admin"), &r);
        } else {
            // never sent with a valid token here: only refusals, nothing changes
            if route.access != Access::Public {
                let r = send(&mut anon, &req, Tok::Session).await;
                check(format!("{label} anonymous"), &r);
            }
            let r = send(&mut admin, &req, Tok::Missing).await;
            check(format!("{label} without token"), &r);
            let r = send(&mut admin, &req, Tok::Wrong).await;
            check(format!("{label} wrong token"), &r);
        }
    }

    // static files, present and missing, and pages that do not exist
    for path in ["/static/htmx.min.js", "/static/app.js", "/static/app.css", "/favicon.ico", "/static/nope.js", "/no-such-page", "/contacts/abc", "/contacts/999999999"] {
        let r = admin.get(path).await;
        check(format!("GET {path}"), &r);
    }
    // a method a route does not have
    let r = admin.http.delete(admin.url("/contacts")).send().await.unwrap();
    check("DELETE /contacts".into(), &crate::routes::read(r).await);
    // an htmx error fragment
    let r = admin.get_htmx("/contacts?size=7").await;
    check("htmx GET /contacts?size=7".into(), &r);
    // a body too large, announced and chunked
    let token = admin.token().await;
    let big = format!("csrf_token={token}&reason={}", "x".repeat(3 * 1024 * 1024));
    let r = admin.post_raw("/contacts/delete", big.into_bytes()).await.expect("POST a large body");
    check("POST /contacts/delete over 2 MB".into(), &r);
    // a bad query
    let r = admin.get("/audit?action=%FF%FE").await;
    check("GET /audit?action=garbage".into(), &r);
    // sign-in failures and throttling
    let mut c = app.client();
    for _ in 0..5 {
        let r = c.try_login(&f.acc.user_email, "wrong").await;
        check("POST /login wrong password".into(), &r);
    }
    let r = c.try_login(&f.acc.user_email, TEST_PASSWORD).await;
    assert_eq!(r.status, 429);
    check("POST /login throttled".into(), &r);

    assert!(problems.is_empty(), "responses without security headers:\n{}", problems.join("\n"));
    let mut statuses: Vec<u16> = checked.iter().map(|c| c.1).collect();
    statuses.sort_unstable();
    statuses.dedup();
    summary(format!(
        "headers [{}]: {} responses of {} routes and {} extra cases checked (statuses {:?}), all with CSP, nosniff, frame options and Referrer-Policy",
        crate::backend_name(&f.raw),
        checked.len(),
        ROUTES.len(),
        13,
        statuses
    ));
});

const HSTS: &str = "max-age=31536000; includeSubDomains";

both_backends!(async fn hsts_is_sent_exactly_when_cookies_are_secure(db: TestDb) {
    let app = crate::app::spawn_app_with(db, |s| s.secure_cookies = true).await;
    let mut c = app.client();
    let mut seen = Vec::new();
    for path in ["/login", "/healthz", "/static/app.css", "/no-such-page", "/contacts", "/login?next=%FF"] {
        let r = c.get(path).await;
        seen.push((format!("GET {path}"), r.status, r.header("strict-transport-security").map(str::to_string)));
    }
    // refusals of the CSRF guard, which sits outside the headers middleware
    let r = c.post_with("/contacts/delete", &[("ids", "1"), ("confirm", "DELETE")], crate::app::Csrf::Missing, false).await;
    seen.push(("POST without token".into(), r.status, r.header("strict-transport-security").map(str::to_string)));
    let big = vec![b'x'; 3 * 1024 * 1024];
    let r = c.post_raw("/contacts/delete", big).await.expect("an answer");
    seen.push(("POST over 2 MB".into(), r.status, r.header("strict-transport-security").map(str::to_string)));
    let missing: Vec<_> = seen.iter().filter(|s| s.2.as_deref() != Some(HSTS)).collect();
    assert!(missing.is_empty(), "responses without {HSTS:?}: {missing:?}");

    // over plain http (no --secure-cookies) the header is not sent
    let plain = spawn_app(TestDb::sqlite().await).await;
    let r = plain.client().get("/login").await;
    assert_eq!(r.header("strict-transport-security"), None);
    let r = plain.client().get("/no-such-page").await;
    assert_eq!(r.header("strict-transport-security"), None);
    summary(format!(
        "hsts [{}]: {} responses with {HSTS:?} under --secure-cookies (statuses {:?}), none without",
        crate::backend_name(&app.f.raw),
        seen.len(),
        seen.iter().map(|s| s.1).collect::<Vec<_>>()
    ));
});

/// POSTs `/contacts/import` with `body` as a multipart body (boundary `b0undary`), the
/// token in the query string or the header when given.
async fn upload(c: &Client, body: Vec<u8>, query_token: Option<&str>, header_token: Option<&str>) -> Resp {
    let url = match query_token {
        Some(t) => c.url(&format!("/contacts/import?csrf_token={t}")),
        None => c.url("/contacts/import"),
    };
    let mut req = c.http.post(url).header(CONTENT_TYPE, "multipart/form-data; boundary=b0undary").body(body);
    if let Some(t) = header_token {
        req = req.header("X-CSRF-Token", t);
    }
    read(req.send().await.expect("POST /contacts/import")).await
}

both_backends!(async fn the_import_token_never_travels_in_a_url(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut admin = app.admin().await;
    let token = admin.token().await;

    // No page puts the token in a link or a form's address.
    for path in ["/contacts", "/contacts/import", "/contacts/new", "/contacts/restore", "/workflows", "/audit", "/bulk-actions"] {
        let page = admin.get(path).await;
        page.assert_status(200);
        for attr in ["href", "action", "hx-get", "hx-post", "src"] {
            let urls = attr_values(&page.body, attr);
            assert!(!urls.iter().any(|u| u.contains("csrf") || u.contains(&token)), "{path}: {attr} with the token: {urls:?}");
        }
    }
    // The import form sends it as its first field.
    let page = admin.get("/contacts/import").await;
    let form = page.body.split(r#"enctype="multipart/form-data""#).nth(1).expect("the import form");
    let first_input = form.split("<input").nth(1).expect("an input in the form");
    assert!(first_input.contains(r#"name="csrf_token""#) && first_input.contains(&token), "first field: <input{first_input}");
    assert!(page.body.contains(r#"action="/contacts/import""#));

    let csv = |email: &str| format!("name,email\nImported Person,{email}\n").into_bytes();
    let before = digest(&f.raw).await;
    // the token in the query string, as the form used to send it: refused
    let r = upload(&admin, multipart_with_token(None, &csv("query@import.test"), "b0undary"), Some(&token), None).await;
    r.assert_status(403);
    // the token as a part after the file (the file would be read first): refused
    let mut late = multipart_with_token(None, &csv("late@import.test"), "b0undary");
    late.truncate(late.len() - "--\r\n".len());
    late.extend_from_slice(format!("\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b0undary--\r\n").as_bytes());
    upload(&admin, late, None, None).await.assert_status(403);
    // a wrong token first: refused
    upload(&admin, multipart_with_token(Some(&"0".repeat(64)), &csv("wrong@import.test"), "b0undary"), None, None).await.assert_status(403);
    assert_eq!(digest(&f.raw).await, before, "a refused import changed the database");

    // as the form sends it, and as htmx would: imported
    let r = upload(&admin, multipart_with_token(Some(&token), &csv("form@import.test"), "b0undary"), None, None).await;
    r.assert_status(200);
    let r = upload(&admin, multipart_with_token(None, &csv("header@import.test"), "b0undary"), None, Some(&token)).await;
    r.assert_status(200);
    assert_eq!(f.raw.count("contacts", "email in ('form@import.test', 'header@import.test')", &[]).await, 2);
    assert_eq!(f.raw.count("contacts", "email in ('query@import.test', 'late@import.test', 'wrong@import.test')", &[]).await, 0);
    summary(format!(
        "import csrf [{}]: no URL carries the token; in the query, after the file or wrong: 403; first field or header: imported",
        crate::backend_name(&f.raw)
    ));
});

/// Sends `head` (a request head, maybe malformed) on a plain socket; returns the status
/// line's code, the response's header lines and whether a body followed.
fn raw_request(base: &str, head: &[u8]) -> (u16, Vec<String>, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).expect("a read timeout");
    let _ = s.write_all(head);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, lines.map(str::to_string).collect(), body.to_string())
}

both_backends!(async fn malformed_requests_get_a_4xx_with_the_headers_where_the_application_answers(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let before = digest(&f.raw).await;
    let mut admin = app.admin().await;
    let token = admin.token().await;
    let mut answered = Vec::new();
    let mut check = |what: &str, r: &Resp| {
        assert!((400..500).contains(&r.status), "{what}: {}", r.status);
        let p = header_problems(r);
        assert!(p.is_empty(), "{what} ({}): {}", r.status, p.join(", "));
        answered.push(r.status);
    };
    // errors of the extractors and the body readers, inside the application
    let r = admin.get("/audit?action=%FF%FE").await;
    check("a query that is not UTF-8", &r);
    let r = admin.get("/contacts?size=abc").await;
    check("a query parameter of the wrong type", &r);
    let r = admin.get("/contacts/not-a-number").await;
    check("a path parameter of the wrong type", &r);
    let res = admin.http.post(admin.url("/contacts/import")).header(CONTENT_TYPE, "multipart/form-data").header("X-CSRF-Token", &token).body("x").send().await.unwrap();
    check("multipart without a boundary", &read(res).await);
    let res = admin.http.post(admin.url("/contacts/import")).header(CONTENT_TYPE, "multipart/form-data; boundary=b0undary").header("X-CSRF-Token", &token).body("--b0undary\r\nno headers end").send().await.unwrap();
    check("a truncated multipart body", &read(res).await);
    let res = admin.http.post(admin.url("/contacts/tags")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").header("X-CSRF-Token", &token).body(vec![0xFFu8, 0xFE, b'=', 0x00]).send().await.unwrap();
    check("a form body that is not UTF-8", &read(res).await);
    let res = admin.http.post(admin.url("/login")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(vec![b'x'; 64 * 1024]).send().await.unwrap();
    check("a sign-in form of 64 KiB", &read(res).await);

    // Answered by actix-http's connection handler before any application code runs:
    // no middleware can add headers there. Both answers are empty, nothing to frame
    // or sniff, and the connection is closed.
    let port = app.base.clone();
    let (bad, bad_headers, bad_body) = tokio::task::spawn_blocking(move || raw_request(&port, b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"))
        .await
        .expect("join");
    assert_eq!(bad, 400, "a malformed header line: {bad_headers:?}");
    assert!(bad_body.is_empty(), "the 400 of a malformed head has no body: {bad_body:?}");
    let port = app.base.clone();
    let huge = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n", "a".repeat(200 * 1024));
    let (big, big_headers, big_body) = tokio::task::spawn_blocking(move || raw_request(&port, huge.as_bytes())).await.expect("join");
    assert_eq!(big, 431, "a head over actix's limit: {big_headers:?}");
    assert!(big_body.is_empty(), "the 431 has no body: {big_body:?}");
    let has_csp = |h: &[String]| h.iter().any(|l| l.to_ascii_lowercase().starts_with("content-security-policy"));

    assert_eq!(digest(&f.raw).await, before);
    summary(format!(
        "malformed [{}]: {} application 4xx answers {answered:?} all with the security headers; actix-http's own 400 and 431 (empty, before the application): headers {} and {}",
        crate::backend_name(&f.raw),
        answered.len(),
        if has_csp(&bad_headers) { "present" } else { "absent" },
        if has_csp(&big_headers) { "present" } else { "absent" },
    ));
});
