//! Sign-in attacks (issue 14, item 3): `next` after sign-in. A tab, a newline, CR/LF,
//! a backslash or a second slash must not lead to another site (browsers strip tabs and
//! newlines, so `/%09/x` is `//x`), and a `next` that cannot be a header must not be a
//! 500.

use crate::app::{attr_values, spawn_app};
use crate::support::TEST_PASSWORD;
use crate::{both_backends, digest, summary};

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
