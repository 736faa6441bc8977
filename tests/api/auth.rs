//! Signing in and out, anonymous access, CSRF, security headers, the session cookie and
//! the health check.

use crate::app::{spawn_app, Csrf};
use crate::support::TEST_PASSWORD;
use crate::{args, both_backends, is_live, snapshot};

const LOGIN_FAILED: &str = "That email and password do not match an account.";

both_backends!(async fn login_with_the_right_password_starts_a_session(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.client();

    let r = c.try_login(&app.f.acc.admin_email, TEST_PASSWORD).await;

    r.assert_see_other("/contacts");
    let page = c.get("/contacts").await;
    page.assert_status(200).assert_contains("Acme Admin").assert_contains("Acme");
    assert!(page.csrf_meta().is_some(), "the signed-in page carries a CSRF token");
    // the admin sees admin pages
    c.get("/audit").await.assert_status(200);
});

both_backends!(async fn login_follows_a_local_next_only(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.client();
    c.get("/login?next=/contacts/restore").await.assert_status(200).assert_contains(r#"name="next" value="/contacts/restore""#);

    let r = c.try_login_next(&app.f.acc.admin_email, TEST_PASSWORD, Some("/contacts/restore")).await;
    r.assert_see_other("/contacts/restore");

    // another site is never a target
    for next in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
        let mut c = app.client();
        let r = c.try_login_next(&app.f.acc.admin_email, TEST_PASSWORD, Some(next)).await;
        r.assert_see_other("/contacts");
    }
});

both_backends!(async fn wrong_password_and_unknown_email_get_the_same_401(db: TestDb) {
    let app = spawn_app(db).await;

    let mut wrong = app.client();
    let r1 = wrong.try_login(&app.f.acc.admin_email, "not the password").await;
    let mut unknown = app.client();
    let r2 = unknown.try_login("nobody@acme.test", TEST_PASSWORD).await;

    for r in [&r1, &r2] {
        r.assert_status(401).assert_contains(LOGIN_FAILED);
        assert!(r.location().is_none());
        assert!(!r.body.contains("Sign out"), "no signed-in page after a failed login");
    }
    // no session: both are still sent to the login page
    for c in [&mut wrong, &mut unknown] {
        let r = c.get("/contacts").await;
        r.assert_see_other("/login?next=%2Fcontacts");
    }
    // a login form without the token of a login page is refused (login CSRF)
    let mut forged = app.client();
    let r = forged
        .http
        .post(forged.url("/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("email={}&password={}", app.f.acc.admin_email, TEST_PASSWORD.replace(' ', "+")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    forged.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
    // an empty form is the same refusal, not a 500
    let mut empty = app.client();
    empty.try_login("", "").await.assert_status(401).assert_contains(LOGIN_FAILED);
});

both_backends!(async fn anonymous_requests_go_to_the_login_page_and_change_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let ann = app.f.contact("Ann", Some("ann@example.test"), &[]).await;
    let mut c = app.client();

    c.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
    c.get(&format!("/contacts/{ann}")).await.assert_see_other(&format!("/login?next=%2Fcontacts%2F{ann}"));
    c.get("/contacts/restore").await.assert_see_other("/login?next=%2Fcontacts%2Frestore");
    c.get("/audit").await.assert_see_other("/login?next=%2Faudit");
    c.get("/").await.assert_see_other("/contacts");
    let r = c.get(&format!("/contacts/export.csv?ids={ann}")).await;
    assert_eq!(r.status, 303, "an anonymous export is sent to sign in");
    assert!(!r.body.contains("ann@example.test"));

    // a POST with the login page's valid token but no signed-in user: 401, nothing deleted
    let before = snapshot(&app.f.raw).await;
    c.get("/login").await;
    let ids = ann.to_string();
    let r = c.post("/contacts/delete", &[("ids", &ids), ("confirm", "DELETE")]).await;
    r.assert_status(401).assert_contains("Please sign in.");
    assert!(is_live(&app.f.raw, ann).await);
    assert_eq!(snapshot(&app.f.raw).await, before);
    // and without any token: 403
    let mut fresh = app.client();
    fresh
        .post_with("/contacts/delete", &[("ids", &ids), ("confirm", "DELETE")], Csrf::Missing, false)
        .await
        .assert_status(403);
    assert!(is_live(&app.f.raw, ann).await);
});

both_backends!(async fn logout_ends_the_session(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.admin().await;
    c.get("/contacts").await.assert_status(200);

    let r = c.post("/logout", &[]).await;

    r.assert_see_other("/login");
    c.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
    c.get("/contacts/restore").await.assert_see_other("/login?next=%2Fcontacts%2Frestore");
    // signing in again works
    c.login(&app.f.acc.admin_email, TEST_PASSWORD).await;
    c.get("/contacts").await.assert_status(200);
});

both_backends!(async fn a_copied_session_cookie_is_worthless_after_logout(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.admin().await;
    c.get("/contacts").await.assert_status(200);
    use reqwest::cookie::CookieStore;
    let cookie = c
        .jar
        .cookies(&c.url("/").parse().unwrap())
        .expect("the session cookie")
        .to_str()
        .unwrap()
        .to_string();

    c.post("/logout", &[]).await.assert_see_other("/login");

    // the same cookie, replayed by someone who copied it before the logout
    let replay = c.http.get(c.url("/contacts")).header("Cookie", cookie).send().await.unwrap();
    assert_eq!(replay.status().as_u16(), 303, "a signed-out session must not open pages");
});

both_backends!(async fn an_expired_or_foreign_session_opens_no_page(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.admin().await;
    c.get("/contacts").await.assert_status(200);
    // the server's record says the session ended a moment ago, whatever the cookie says
    app.f.raw.exec("update sessions set expires_at = 0", args![]).await;
    c.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
    assert_eq!(app.f.raw.count("sessions", "1 = 1", args![]).await, 0, "the refused session is removed");

    // a session that the server holds for another user does not open pages either
    c.login(&app.f.acc.admin_email, TEST_PASSWORD).await;
    c.get("/contacts").await.assert_status(200);
    app.f.raw.exec("update sessions set user_id = $1", args![app.f.acc.user.0]).await;
    c.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
});

both_backends!(async fn logout_needs_the_csrf_token(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.admin().await;
    c.post_with("/logout", &[], Csrf::Missing, false).await.assert_status(403);
    c.post_with("/logout", &[], Csrf::Wrong, false).await.assert_status(403);
    // still signed in
    c.get("/contacts").await.assert_status(200);
});

both_backends!(async fn pages_carry_security_headers_and_the_session_cookie_is_protected(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.client();
    let login_page = c.get("/login").await;
    let r = c.try_login(&app.f.acc.admin_email, TEST_PASSWORD).await;
    let page = c.get("/contacts").await;
    let missing = c.get("/no-such-page").await;

    for res in [&login_page, &page, &missing] {
        let csp = res.header("content-security-policy").expect("Content-Security-Policy");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
        assert!(res.header("referrer-policy").is_some(), "Referrer-Policy");
    }
    missing.assert_status(404);

    let cookies = r.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("contacts_admin_session="))
        .unwrap_or_else(|| panic!("the login sets the session cookie: {cookies:?}"));
    let lower = session.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "{session}");
    assert!(lower.contains("samesite=lax") || lower.contains("samesite=strict"), "{session}");
    assert!(!lower.contains("secure;") && !lower.ends_with("secure"), "not Secure on plain http: {session}");
    // the cookie's contents are encrypted: no user id or token in clear
    let token = page.csrf_meta().unwrap();
    assert!(!session.contains(&token), "the CSRF token is not readable in the cookie");
});

both_backends!(async fn the_session_is_renewed_at_login(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.client();
    let before = c.get("/login").await.csrf_meta().unwrap();
    c.login(&app.f.acc.admin_email, TEST_PASSWORD).await;
    let after = c.csrf.clone().unwrap();
    assert_ne!(before, after, "a new CSRF token after login");
    // the pre-login token no longer works
    let ann = app.f.contact("Ann", None, &[]).await;
    let ids = ann.to_string();
    let r = c
        .http
        .post(c.url("/contacts/delete"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("ids={ids}&confirm=DELETE&csrf_token={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(is_live(&app.f.raw, ann).await);
});

both_backends!(async fn healthz_answers_ok(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.client();
    let r = c.get("/healthz").await;
    r.assert_status(200);
    assert_eq!(r.body, "ok");
});
