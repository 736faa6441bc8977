//! Security headers on every response: each route's answer to an anonymous client, to a
//! signed-in admin (GET) and to a forged POST (403), plus static files, 404s, 413s,
//! htmx error fragments, a throttled sign-in and a failed one.

use crate::app::{spawn_app, Resp};
use crate::routes::{request, send, Tok};
use crate::support::TEST_PASSWORD;
use crate::{both_backends, finished_job, make_targets, summary};
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
