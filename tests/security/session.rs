//! The session cookie (HttpOnly, SameSite, Secure behind https), its renewal at login,
//! its end at logout, sign-in throttling and the same answer for an unknown email and a
//! wrong password.

use crate::app::{spawn_app, Client, Resp};
use crate::support::TEST_PASSWORD;
use crate::{both_backends, summary};
use reqwest::header::{CONTENT_TYPE, COOKIE};

const COOKIE_NAME: &str = "contacts_admin_session";
const LOGIN_FAILED: &str = "That email and password do not match an account.";

/// The session cookie a response sets, as its whole `Set-Cookie` line.
fn session_cookie(r: &Resp) -> Option<String> {
    r.set_cookies().into_iter().find(|c| c.starts_with(&format!("{COOKIE_NAME}=")))
}

/// `name=value` of a `Set-Cookie` line.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").trim().to_string()
}

fn attrs(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
}

/// A GET with exactly this `Cookie` header and no cookie jar: a replayed cookie.
async fn get_with_cookie(base: &str, path: &str, cookie: &str) -> Resp {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http.get(format!("{base}{path}")).header(COOKIE, cookie).send().await.expect("GET with a cookie");
    crate::routes::read(res).await
}

/// POST /login with the token of a fresh login page; returns the login page's cookie
/// (`name=value`) and the response.
async fn login_raw(base: &str, email: &str, password: &str) -> (String, Resp) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = crate::routes::read(http.get(format!("{base}/login")).send().await.unwrap()).await;
    let cookie = pair(&session_cookie(&page).expect("the login page starts a session for its CSRF token"));
    let token = page.csrf_meta().expect("a token on the login page");
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("email", email).append_pair("password", password).append_pair("csrf_token", &token);
    let res = http
        .post(format!("{base}/login"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    (cookie, crate::routes::read(res).await)
}

both_backends!(async fn the_session_cookie_is_httponly_samesite_and_renewed_at_login(db: TestDb) {
    let app = spawn_app(db).await;
    let (before, r) = login_raw(&app.base, &app.f.acc.admin_email, TEST_PASSWORD).await;
    r.assert_see_other("/contacts");
    let set = session_cookie(&r).expect("login sets the session cookie");
    let a = attrs(&set);
    assert!(a.iter().any(|x| x == "httponly"), "HttpOnly: {set}");
    assert!(a.iter().any(|x| x.starts_with("samesite=lax") || x.starts_with("samesite=strict")), "SameSite: {set}");
    assert!(!a.iter().any(|x| x == "secure"), "no Secure over plain http unless configured: {set}");
    let after = pair(&set);
    assert_ne!(before, after, "the session cookie changes at login");
    // the cookie from before the login (a fixed session) does not sign anyone in
    get_with_cookie(&app.base, "/contacts", &before).await.assert_status(303);
    get_with_cookie(&app.base, "/contacts", &after).await.assert_status(200);
    summary(format!("session [{}]: cookie flags {:?}; renewed at login", crate::backend_name(&app.f.raw), a));
});

both_backends!(async fn with_secure_cookies_the_session_cookie_is_secure(db: TestDb) {
    let app = crate::app::spawn_app_with(db, |s| s.secure_cookies = true).await;
    let c = Client::new(&app.base);
    let page = crate::routes::read(c.http.get(c.url("/login")).send().await.unwrap()).await;
    let set = session_cookie(&page).expect("the login page sets the session cookie");
    assert!(attrs(&set).iter().any(|x| x == "secure"), "Secure: {set}");
    let (_, r) = login_raw(&app.base, &app.f.acc.admin_email, TEST_PASSWORD).await;
    r.assert_see_other("/contacts");
    let set = session_cookie(&r).expect("login sets the session cookie");
    let a = attrs(&set);
    assert!(a.iter().any(|x| x == "secure") && a.iter().any(|x| x == "httponly"), "Secure and HttpOnly: {set}");
});

both_backends!(async fn after_logout_the_old_cookie_no_longer_gives_access(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, r) = login_raw(&app.base, &app.f.acc.admin_email, TEST_PASSWORD).await;
    let cookie = pair(&session_cookie(&r).expect("login sets the session cookie"));
    let page = get_with_cookie(&app.base, "/contacts", &cookie).await;
    page.assert_status(200);
    let token = page.csrf_meta().expect("a token");

    // log out with that cookie
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http
        .post(format!("{}/logout", app.base))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}"))
        .send()
        .await
        .unwrap();
    crate::routes::read(res).await.assert_see_other("/login");

    // someone who kept a copy of the cookie replays it
    for path in ["/contacts", "/audit", "/contacts/restore"] {
        let r = get_with_cookie(&app.base, path, &cookie).await;
        assert_eq!(r.status, 303, "{path} with the cookie of a closed session: {}", r.status);
        assert!(r.location().is_some_and(|l| l.starts_with("/login")), "{path}: {:?}", r.location());
    }
    let before = crate::digest(&app.f.raw).await;
    let c = app.f.contact("Kept", Some("kept@acme.test"), &[]).await;
    let before_delete = crate::digest(&app.f.raw).await;
    let res = http
        .post(format!("{}/contacts/delete", app.base))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("ids={c}&confirm=DELETE&csrf_token={token}"))
        .send()
        .await
        .unwrap();
    let r = crate::routes::read(res).await;
    assert!(r.status == 401 || r.status == 403, "a deletion with the cookie of a closed session: {}", r.status);
    assert_eq!(crate::digest(&app.f.raw).await, before_delete);
    assert_ne!(before, before_delete);
    // and signing in again works
    let (_, r) = login_raw(&app.base, &app.f.acc.admin_email, TEST_PASSWORD).await;
    r.assert_see_other("/contacts");
    summary(format!("session [{}]: a replayed cookie after logout is refused", crate::backend_name(&app.f.raw)));
});

both_backends!(async fn five_failed_sign_ins_lock_out_that_email_from_that_address(db: TestDb) {
    let app = spawn_app(db).await;
    let email = app.f.acc.admin_email.clone();
    for i in 1..=5 {
        let mut c = app.client();
        let r = c.try_login(&email, &format!("wrong password {i}")).await;
        r.assert_status(401).assert_contains(LOGIN_FAILED);
    }
    // the sixth, even with the right password
    let mut c = app.client();
    let r = c.try_login(&email, TEST_PASSWORD).await;
    r.assert_status(429).assert_contains("Too many failed sign-ins. Try again in");
    assert!(r.header("retry-after").is_some(), "Retry-After on the 429");
    assert!(r.location().is_none());
    c.get("/contacts").await.assert_see_other("/login?next=%2Fcontacts");
    // the same email in other case and with spaces is the same account
    let mut c = app.client();
    c.try_login(&format!("  {}  ", email.to_uppercase()), TEST_PASSWORD).await.assert_status(429);
    // another email from the same address still signs in
    let mut other = app.client();
    other.try_login(&app.f.acc.user_email, TEST_PASSWORD).await.assert_see_other("/contacts");
    other.get("/contacts").await.assert_status(200);
    summary(format!("throttle [{}]: 5 failures then 429 for that email; another email signs in", crate::backend_name(&app.f.raw)));
});

/// The text of the login page's error alert.
fn login_error(r: &Resp) -> String {
    let t = r.text();
    let start = t.find("role=\"alert\">").map(|i| i + "role=\"alert\">".len()).unwrap_or(0);
    let end = t[start..].find("</div>").map(|e| start + e).unwrap_or(t.len());
    t[start..end].to_string()
}

both_backends!(async fn unknown_email_and_wrong_password_read_the_same(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c1 = app.client();
    let wrong = c1.try_login(&app.f.acc.admin_email, "not it").await;
    let mut c2 = app.client();
    let unknown = c2.try_login("nobody-at-all@acme.test", TEST_PASSWORD).await;
    let mut c3 = app.client();
    let other_account = c3.try_login(&app.b.admin_email, "not it either").await;
    for r in [&wrong, &unknown, &other_account] {
        r.assert_status(401).assert_contains(LOGIN_FAILED);
    }
    assert_eq!(login_error(&wrong), login_error(&unknown));
    assert_eq!(login_error(&wrong), login_error(&other_account));
    // the pages differ only in the email typed back into the form and the token
    let strip = |r: &Resp, email: &str| {
        let mut s = r.body.replace(email, "EMAIL");
        if let Some(t) = r.csrf_meta() {
            s = s.replace(&t, "TOKEN");
        }
        s
    };
    assert_eq!(strip(&wrong, &app.f.acc.admin_email), strip(&unknown, "nobody-at-all@acme.test"));
});
