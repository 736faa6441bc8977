//! Sign-in attacks (issue 14, items 3 and 4):
//!
//! - `next` after sign-in: a tab, a newline, CR/LF, a backslash or a second slash must
//!   not lead to another site (browsers strip tabs and newlines, so `/%09/x` is `//x`),
//!   and a `next` that cannot be a header must not be a 500;
//! - a burst of simultaneous sign-ins for one email checks at most
//!   `MAX_FAILURES` passwords, and the right password after the lock-out is refused;
//! - `X-Forwarded-For` only counts from a trusted proxy: a client that makes up a new
//!   address on every try is still throttled, while two clients behind a trusted proxy
//!   are throttled apart.

use crate::app::{attr_values, spawn_app, Client, Resp};
use crate::support::TEST_PASSWORD;
use crate::{both_backends, digest, summary};
use contacts_admin::web::throttle::MAX_FAILURES;
use reqwest::header::CONTENT_TYPE;
use std::collections::BTreeMap;

/// GETs the login page (for its token) and POSTs the form, with `X-Forwarded-For`
/// when given.
async fn sign_in(c: &mut Client, email: &str, password: &str, forwarded_for: Option<&str>) -> Resp {
    let page = c.get("/login").await;
    page.assert_status(200);
    let token = page.csrf_meta().expect("the login page has a token");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("password", password)
        .append_pair("csrf_token", &token)
        .finish();
    let mut req = c.http.post(c.url("/login")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    let res = req.send().await.expect("POST /login");
    crate::routes::read(res).await
}

/// Values of `next` that must not be followed: each one, after browsers clean it, is
/// another site, or is not a path at all.
const HOSTILE_NEXT: &[&str] = &[
    "/\t/attacker.example",
    "/\n/attacker.example",
    "/\r/attacker.example",
    "\t//attacker.example",
    "/\r\n/attacker.example",
    "/contacts\r\nSet-Cookie: planted=1",
    "/contacts\0",
    "//attacker.example",
    "/\\attacker.example",
    "\\\\attacker.example",
    "https://attacker.example/",
    "/ /attacker.example",
    "/\u{a0}/attacker.example",
];

both_backends!(async fn sign_in_never_sends_the_browser_to_another_site(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let before = digest(&f.raw).await;
    let mut problems = Vec::new();

    // The reported attack, as a link: GET /login?next=/%09/attacker.example
    let mut c = app.client();
    let page = c.get("/login?next=/%09/attacker.example").await;
    page.assert_status(200);
    let next_field = page.body.split(r#"name="next" value=""#).nth(1).and_then(|r| r.split('"').next()).map(crate::app::unescape);
    assert_eq!(next_field.as_deref(), Some("/contacts"), "the login page carries a safe next");
    for encoded in ["/%0D%0A/attacker.example", "/%0d%0aSet-Cookie:%20x=1", "%2F%2Fattacker.example", "/%5Cattacker.example"] {
        let page = app.client().get(&format!("/login?next={encoded}")).await;
        page.assert_status(200);
        if !attr_values(&page.body, "value").iter().any(|v| v == "/contacts") {
            problems.push(format!("GET /login?next={encoded}: the form does not fall back to /contacts"));
        }
    }

    // The full sign-in with each hostile next in the form: a 303 to the contacts.
    for next in HOSTILE_NEXT {
        let mut c = app.client();
        let r = c.try_login_next(&f.acc.admin_email, TEST_PASSWORD, Some(next)).await;
        if r.status != 303 || r.location() != Some("/contacts") {
            problems.push(format!("next {next:?}: {} to {:?}", r.status, r.location()));
        }
        if r.set_cookies().iter().any(|c| c.contains("planted")) {
            problems.push(format!("next {next:?} planted a cookie"));
        }
    }

    // A safe next is still followed, and the one the sign-in redirect offers too.
    let mut c = app.client();
    c.try_login_next(&f.acc.admin_email, TEST_PASSWORD, Some("/contacts/restore")).await.assert_see_other("/contacts/restore");
    let mut c = app.client();
    let to_login = c.get("/audit").await;
    to_login.assert_see_other("/login?next=%2Faudit");
    let page = c.get("/login?next=%2Faudit").await;
    assert!(page.body.contains(r#"name="next" value="/audit""#), "the offered next reaches the form");
    c.try_login_next(&f.acc.admin_email, TEST_PASSWORD, Some("/audit")).await.assert_see_other("/audit");

    assert!(problems.is_empty(), "unsafe redirects after sign-in:\n{}", problems.join("\n"));
    assert_eq!(digest(&f.raw).await, before);
    summary(format!(
        "next [{}]: {} hostile next values (tab, newline, CR/LF, backslash, //, scheme) all land on /contacts; safe ones followed",
        crate::backend_name(&f.raw),
        HOSTILE_NEXT.len() + 5
    ));
});

/// Sends one sign-in per entry of `passwords` for `email` at the same moment, each
/// from its own session; returns the statuses in the order of `passwords`.
async fn burst(app: &crate::app::TestApp, email: &str, passwords: &[&str]) -> Vec<u16> {
    // every client has its page and token first, so the POSTs leave together
    let mut prepared = Vec::new();
    for p in passwords {
        let mut c = app.client();
        let page = c.get("/login").await;
        let token = page.csrf_meta().expect("a token");
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("email", email)
            .append_pair("password", p)
            .append_pair("csrf_token", &token)
            .finish();
        prepared.push((c, body));
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(prepared.len()));
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(c, body)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let res = c.http.post(c.url("/login")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body).send().await;
                res.map(|r| r.status().as_u16()).unwrap_or_else(|e| panic!("POST /login: {e}"))
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("a sign-in task"));
    }
    out
}

fn tally(statuses: &[u16]) -> BTreeMap<u16, usize> {
    let mut m = BTreeMap::new();
    for s in statuses {
        *m.entry(*s).or_default() += 1;
    }
    m
}

both_backends!(async fn a_burst_of_sign_ins_checks_no_more_passwords_than_the_limit(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let before = digest(&f.raw).await;
    let max = MAX_FAILURES as usize;

    // 100 wrong passwords at once: exactly the limit are checked, the rest refused
    let wrong = vec!["wrong password"; 100];
    let first = tally(&burst(&app, &f.acc.user_email, &wrong).await);
    assert_eq!(first.get(&401).copied().unwrap_or(0), max, "checked passwords in the burst: {first:?}");
    assert_eq!(first.get(&429).copied().unwrap_or(0), 100 - max, "refused without a check: {first:?}");
    // and the right password after that is refused too
    let r = app.client().try_login(&f.acc.user_email, TEST_PASSWORD).await;
    r.assert_status(429).assert_contains("Too many failed sign-ins");

    // 100 wrong and the right one in the same burst: at most the limit are checked,
    // whichever come first; the right one signs in only if it was among them.
    let mut mixed = vec!["wrong password"; 100];
    mixed.insert(50, TEST_PASSWORD);
    let statuses = burst(&app, &f.acc.admin_email, &mixed).await;
    let second = tally(&statuses);
    let checked = second.get(&401).copied().unwrap_or(0) + second.get(&303).copied().unwrap_or(0);
    assert!(checked <= max, "{checked} passwords checked in one burst (limit {max}): {second:?}");
    assert!(second.keys().all(|s| [303, 401, 429].contains(s)), "{second:?}");
    if statuses[50] == 429 {
        let r = app.client().try_login(&f.acc.admin_email, TEST_PASSWORD).await;
        r.assert_status(429);
    }
    assert_eq!(digest(&f.raw).await, before);
    summary(format!(
        "throttle race [{}]: 100 simultaneous wrong passwords → {first:?}, then the right one 429; 100 wrong + 1 right → {second:?} ({checked} checked)",
        crate::backend_name(&f.raw)
    ));
});

both_backends!(async fn x_forwarded_for_counts_only_from_a_trusted_proxy(db: TestDb) {
    // No trusted proxy: a client that names a new address on every try is still one client.
    let app = spawn_app(db).await;
    let f = &app.f;
    let before = digest(&f.raw).await;
    let mut c = app.client();
    for i in 0..MAX_FAILURES {
        sign_in(&mut c, &f.acc.user_email, "wrong", Some(&format!("198.51.100.{i}"))).await.assert_status(401);
    }
    let r = sign_in(&mut c, &f.acc.user_email, TEST_PASSWORD, Some("198.51.100.200")).await;
    r.assert_status(429);
    let r = sign_in(&mut app.client(), &f.acc.user_email, TEST_PASSWORD, None).await;
    r.assert_status(429);
    assert_eq!(digest(&f.raw).await, before);
    summary(format!("proxy [{}]: a made-up X-Forwarded-For from an untrusted peer does not escape the throttle", crate::backend_name(&f.raw)));
});

both_backends!(async fn clients_behind_a_trusted_proxy_are_throttled_apart(db: TestDb) {
    let app = crate::app::spawn_app_with(db, |s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let f = &app.f;
    let before = digest(&f.raw).await;
    let mut c = app.client();
    for _ in 0..MAX_FAILURES {
        sign_in(&mut c, &f.acc.user_email, "wrong", Some("203.0.113.7")).await.assert_status(401);
    }
    // the client behind the proxy is locked out, however it decorates the header
    sign_in(&mut c, &f.acc.user_email, TEST_PASSWORD, Some("203.0.113.7")).await.assert_status(429);
    sign_in(&mut c, &f.acc.user_email, TEST_PASSWORD, Some("198.51.100.9, 203.0.113.7")).await.assert_status(429);
    assert_eq!(digest(&f.raw).await, before);
    // another client behind the same proxy is not
    let r = sign_in(&mut app.client(), &f.acc.user_email, TEST_PASSWORD, Some("203.0.113.8")).await;
    r.assert_see_other("/contacts");
    summary(format!(
        "proxy [{}]: behind a trusted proxy, 203.0.113.7 locked out (also with a forged left entry), 203.0.113.8 signs in",
        crate::backend_name(&f.raw)
    ));
});
