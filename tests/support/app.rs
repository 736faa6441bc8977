//! Black-box HTTP support: the real server started in-process on port 0 against a fresh
//! database, a cookie-keeping client that follows the login and CSRF flow of a browser,
//! and small helpers to read the HTML it returns.

#![allow(dead_code)]

use crate::support::{create_account, Fixture, TestAccount, TestDb, TEST_PASSWORD};
use contacts_admin::clock::Clock;
use contacts_admin::config::Settings;
use contacts_admin::repo::Repo;
use contacts_admin::startup::Application;
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, SET_COOKIE};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The session key every test server uses (64 bytes or more).
pub const SESSION_KEY: &str = "test-session-key-0123456789abcdef-0123456789abcdef-0123456789abcdef-0123456789";

/// The settings of a test server on `database_url` reading the time from `clock`: port
/// 0 of 127.0.0.1, the test session key, plain-HTTP cookies, no trusted proxy, no purge
/// timer and the default bulk settings.
pub fn settings(database_url: &str, clock: Arc<dyn Clock>) -> Settings {
    Settings {
        database_url: database_url.to_string(),
        bind: "127.0.0.1:0".into(),
        session_key: Some(SESSION_KEY.into()),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        purge_interval_secs: 0,
        bulk: Default::default(),
        webhooks: Default::default(),
        api_rate_per_minute: 600,
        clock,
    }
}

/// The application built on `settings` and served by a task of the test's runtime;
/// stopped when dropped.
pub struct AppServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// The application's own repository.
    pub repo: Repo,
    task: JoinHandle<anyhow::Result<()>>,
}

impl AppServer {
    pub async fn start(settings: Settings) -> AppServer {
        let app = Application::build(settings).await.expect("build the application");
        let base = format!("http://127.0.0.1:{}", app.port());
        let repo = app.repo().clone();
        let task = tokio::spawn(app.run_until_stopped());
        AppServer { base, repo, task }
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running server on a fresh database, with the repository fixture of the same
/// database and clock: account "Acme" (admin + regular user) and account "Bravo".
pub struct TestApp {
    /// Database, manual clock, repository, raw pool and account A ("Acme").
    pub f: Fixture,
    /// Account B ("Bravo"), with its own admin and regular user.
    pub b: TestAccount,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    server: AppServer,
}

/// Starts the application on port 0 against `db`; the server reads the time from the
/// fixture's manual clock, so a test can move past the 60-day window.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// [`spawn_app`] with a chance to change the settings before the application is built:
/// the bulk settings (above their threshold deletions and restores become background
/// jobs, whose worker runs inside the server), secure cookies, a proxied database URL.
pub async fn spawn_app_with(db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let f = Fixture::new(db).await;
    let b = create_account(&f.repo, "Bravo").await;
    let mut settings = settings(&f.db.url, Arc::new(f.clock.clone()));
    tweak(&mut settings);
    let server = AppServer::start(settings).await;
    TestApp { f, b, base: server.base.clone(), server }
}

impl TestApp {
    /// A client with no session yet.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client signed in as `email` (the shared test password).
    pub async fn login(&self, email: &str) -> Client {
        Client::signed_in(&self.base, email, TEST_PASSWORD).await
    }

    /// Signed in as the admin of account A.
    pub async fn admin(&self) -> Client {
        self.login(&self.f.acc.admin_email.clone()).await
    }

    /// Signed in as the regular user of account A.
    pub async fn user(&self) -> Client {
        self.login(&self.f.acc.user_email.clone()).await
    }

    /// Signed in as the admin of account B.
    pub async fn admin_b(&self) -> Client {
        self.login(&self.b.admin_email.clone()).await
    }
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// A binary response, read to the end.
#[derive(Debug)]
pub struct Download {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for an error page.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Resp {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect()
    }

    /// The body with the HTML escapes askama writes turned back into text, to look for
    /// a message as the user reads it.
    pub fn text(&self) -> String {
        unescape(&self.body)
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(self.status, expected, "unexpected status; body:\n{}", shorten(&self.body));
        self
    }

    /// Asserts a 303 to `to`.
    #[track_caller]
    pub fn assert_see_other(&self, to: &str) -> &Self {
        self.assert_status(303);
        assert_eq!(self.location(), Some(to), "redirect target");
        self
    }

    /// Asserts the text of the body (unescaped) contains `needle`.
    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        let t = self.text();
        assert!(t.contains(needle), "expected {needle:?} in the body:\n{}", shorten(&t));
        self
    }

    #[track_caller]
    pub fn assert_not_contains(&self, needle: &str) -> &Self {
        let t = self.text();
        assert!(!t.contains(needle), "did not expect {needle:?} in the body:\n{}", shorten(&t));
        self
    }

    /// The page's `<meta name="csrf-token">`.
    pub fn csrf_meta(&self) -> Option<String> {
        csrf_meta(&self.body)
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 4000 {
        let mut end = 4000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…[{} bytes]", &s[..end], s.len())
    } else {
        s.to_string()
    }
}

pub use crate::support::unescape;

/// The content of `<meta name="csrf-token" content="…">`.
pub fn csrf_meta(html: &str) -> Option<String> {
    attr_after(html, r#"<meta name="csrf-token" content=""#).filter(|t| !t.is_empty())
}

/// The value (unescaped) of the first attribute whose opening (`name="`) is `prefix`.
pub fn attr_after(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

/// `pairs` as a form body or query string.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The link of the pager button labelled `label` ("Next ›", "‹ Previous", …).
pub fn pager_link(r: &Resp, label: &str) -> Option<String> {
    let end = r.body.find(&format!(">{label}</a>"))?;
    let start = r.body[..end].rfind("<a ")?;
    attr_after(&r.body[start..end], "href=\"")
}

/// Every `href="…"` of the page (unescaped).
pub fn hrefs(html: &str) -> Vec<String> {
    attr_values(html, "href")
}

/// `s` as one query-string value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every value of `attr="…"` in the page (unescaped).
pub fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let marker = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&marker) {
        let after = &rest[i + marker.len()..];
        let Some(end) = after.find('"') else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end..];
    }
    out
}

/// The contact ids of the rows of a contacts list page or fragment, in page order.
pub fn row_ids(html: &str) -> Vec<i64> {
    let marker = "<tr data-id=\"";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(marker) {
        let after = &rest[i + marker.len()..];
        let end = after.find('"').unwrap_or(0);
        out.push(after[..end].parse().expect("a numeric row id"));
        rest = &after[end..];
    }
    out
}

/// The id in the first `/batches/{id}/restore` the page holds (the flash's Undo form).
pub fn batch_in_page(html: &str) -> Option<i64> {
    let marker = "/batches/";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('/')? + start;
    html[start..end].parse().ok()
}

/// The status of the HTTP answer on `stream`, read until its status line is in (the
/// server may reset the rest); `None` when it closed without one.
pub fn read_status(stream: &mut impl std::io::Read) -> Option<u16> {
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).lines().next()?.split_whitespace().nth(1)?.parse().ok()
}

/// A browser-like client: keeps cookies, does not follow redirects, and remembers
/// the CSRF token of the last page it read so its POSTs carry it. A clone shares the
/// cookies, as the tabs of one browser do.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
    pub csrf: Option<String>,
}

/// How a POST carries the CSRF token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    /// The `csrf_token` form field.
    Field,
    /// The `X-CSRF-Token` header (htmx).
    Header,
    /// No token at all.
    Missing,
    /// A token of the right shape that is not the session's.
    Wrong,
}

/// An answer to one request of a burst: status, whether it says when to try again, and
/// body; or why there was none.
pub type Answer = Result<(u16, bool, String), String>;

impl Client {
    /// A client whose requests give up after two minutes.
    pub fn new(base: &str) -> Client {
        Client::with(base, reqwest::Client::builder().timeout(Duration::from_secs(120)))
    }

    /// A client built from `builder` (its timeouts and connection pool).
    pub fn with(base: &str, builder: reqwest::ClientBuilder) -> Client {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = builder
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build the HTTP client");
        Client { http, jar, base: base.to_string(), csrf: None }
    }

    /// A client signed in as `email` on the server at `base`.
    pub async fn signed_in(base: &str, email: &str, password: &str) -> Client {
        let mut c = Client::new(base);
        c.login(email, password).await;
        c
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn read(res: reqwest::Response) -> Resp {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.expect("read the response body");
        Resp { status, headers, body }
    }

    /// GET `path`; remembers the page's CSRF token when it has one.
    pub async fn get(&mut self, path: &str) -> Resp {
        let res = self.http.get(self.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let r = Self::read(res).await;
        if let Some(t) = r.csrf_meta() {
            self.csrf = Some(t);
        }
        r
    }

    /// GET `path` and read the body as bytes (a download such as a ZIP).
    pub async fn get_bytes(&mut self, path: &str) -> Download {
        let res = self.http.get(self.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_else(|e| panic!("read the body of GET {path}: {e}")).to_vec();
        Download { status, headers, bytes }
    }

    /// GET `path` as htmx does (`HX-Request: true`).
    pub async fn get_htmx(&mut self, path: &str) -> Resp {
        let res = self
            .http
            .get(self.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Self::read(res).await
    }

    /// The CSRF token of the session, read from `/contacts` if none is known yet.
    pub async fn token(&mut self) -> String {
        if self.csrf.is_none() {
            self.get("/contacts").await;
        }
        self.csrf.clone().expect("a CSRF token from the page")
    }

    /// POST a form with the session's token in the `csrf_token` field.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_with(path, fields, Csrf::Field, false).await
    }

    /// POST a form as htmx does: `HX-Request` and the token in `X-CSRF-Token`.
    pub async fn post_htmx(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_with(path, fields, Csrf::Header, true).await
    }

    pub async fn post_with(&mut self, path: &str, fields: &[(&str, &str)], csrf: Csrf, htmx: bool) -> Resp {
        let res = self.post_request(path, fields, csrf, htmx).await.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Self::read(res).await
    }

    /// POST a form with the session's token in the `csrf_token` field, giving up after
    /// `timeout`: the error when there is no answer by then.
    pub async fn try_post(&mut self, path: &str, fields: &[(&str, &str)], timeout: Duration) -> Result<Resp, reqwest::Error> {
        let res = self.post_request(path, fields, Csrf::Field, false).await.timeout(timeout).send().await?;
        Ok(Self::read(res).await)
    }

    async fn post_request(&mut self, path: &str, fields: &[(&str, &str)], csrf: Csrf, htmx: bool) -> reqwest::RequestBuilder {
        let token = match csrf {
            Csrf::Missing => None,
            Csrf::Wrong => Some("0".repeat(64)),
            Csrf::Field | Csrf::Header => Some(self.token().await),
        };
        let mut fields = fields.to_vec();
        if let (Csrf::Field | Csrf::Wrong, Some(t)) = (csrf, &token) {
            fields.push(("csrf_token", t));
        }
        let mut req = self.http.post(self.url(path)).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form(&fields));
        if let (Csrf::Header, Some(t)) = (csrf, &token) {
            req = req.header("X-CSRF-Token", t);
        }
        if htmx {
            req = req.header("HX-Request", "true");
        }
        req
    }

    /// The `as_of` and the count of `#list-meta` on the contacts page: what "Select all
    /// N contacts in this account" sends with the typed DELETE.
    pub async fn list_meta(&mut self) -> (String, String) {
        let page = self.get("/contacts").await;
        page.assert_status(200);
        let meta = &page.body[page.body.find(r#"id="list-meta""#).expect("#list-meta on the contacts page")..];
        let as_of = attr_after(meta, r#"data-as-of=""#).expect("data-as-of on #list-meta");
        let total = attr_after(meta, r#"data-total=""#).expect("data-total on #list-meta");
        (as_of, total)
    }

    /// Deletes every contact of the account as "Select all N contacts in this account"
    /// with the typed DELETE and count does.
    pub async fn delete_all(&mut self, htmx: bool) -> Resp {
        let (as_of, total) = self.list_meta().await;
        let fields = [("select_all", "true"), ("as_of", as_of.as_str()), ("confirm", "DELETE"), ("confirm_count", total.as_str())];
        self.post_with("/contacts/delete", &fields, Csrf::Field, htmx).await
    }

    /// `n` failed sign-ins sent at the same moment with this client's cookie and the
    /// token of the login page it read, as a script would: most for unknown emails
    /// (each checked against the decoy hash, the costliest case), every 40th with a
    /// wrong password for `known` (throttled after a few).
    pub async fn failed_sign_ins(&self, n: usize, known: &str) -> Vec<Answer> {
        let token = self.csrf.clone().expect("the login page's token");
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let email = if i % 40 == 0 { known.to_string() } else { format!("nobody{i}@flood.test") };
                let body = form(&[("email", &email), ("password", "not the password"), ("csrf_token", &token)]);
                let req = self.http.post(self.url("/login")).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
                tokio::spawn(async move {
                    let r = req.send().await.map_err(|e| e.to_string())?;
                    let status = r.status().as_u16();
                    let retry_after = r.headers().get("retry-after").is_some();
                    Ok((status, retry_after, r.text().await.unwrap_or_default()))
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(n);
        for t in tasks {
            answers.push(t.await.expect("a sign-in task"));
        }
        answers
    }

    /// POST a raw, already encoded body (token included by the caller).
    pub async fn post_raw(&mut self, path: &str, body: Vec<u8>) -> Result<Resp, reqwest::Error> {
        let res = self
            .http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        Ok(Self::read(res).await)
    }

    /// POSTs `body` with `Transfer-Encoding: chunked` (no announced length), with this
    /// client's cookies, over a plain socket; returns the response's status.
    pub async fn post_chunked(&mut self, path: &str, body: &[u8]) -> u16 {
        self.post_chunked_with(path, body.to_vec(), "").await.expect("an HTTP status line in the answer")
    }

    /// [`Client::post_chunked`] with `extra_headers` (whole lines); `None` when the
    /// server closed without an answer.
    pub async fn post_chunked_with(&self, path: &str, body: Vec<u8>, extra_headers: &str) -> Option<u16> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.url(path).parse().expect("a URL");
        let cookie = self.jar.cookies(&url).and_then(|v| v.to_str().ok().map(str::to_string)).unwrap_or_default();
        let host = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(80));
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra_headers}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut stream = std::net::TcpStream::connect(&host).expect("connect to the server");
            stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
            let mut write = || -> std::io::Result<()> {
                stream.write_all(head.as_bytes())?;
                for chunk in body.chunks(64 * 1024) {
                    stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                    stream.write_all(chunk)?;
                    stream.write_all(b"\r\n")?;
                }
                stream.write_all(b"0\r\n\r\n")?;
                stream.flush()
            };
            // The server may answer and close before the whole body is sent.
            let _ = write();
            read_status(&mut stream)
        })
        .await
        .expect("the chunked request")
    }

    /// Signs in through the login form; on success the session is renewed, so the
    /// token is read again from `/contacts`. Returns the response of `POST /login`.
    pub async fn try_login(&mut self, email: &str, password: &str) -> Resp {
        self.try_login_next(email, password, None).await
    }

    /// Like [`Client::try_login`], with the form's `next` field.
    pub async fn try_login_next(&mut self, email: &str, password: &str, next: Option<&str>) -> Resp {
        let page = self.get("/login").await;
        page.assert_status(200);
        let token = page.csrf_meta().expect("the login page has a CSRF token");
        let mut fields = vec![("email", email), ("password", password), ("csrf_token", &token)];
        fields.extend(next.map(|n| ("next", n)));
        let res = self
            .http
            .post(self.url("/login"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&fields))
            .send()
            .await
            .expect("POST /login");
        let r = Self::read(res).await;
        self.csrf = None;
        r
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Resp {
        let r = self.try_login(email, password).await;
        r.assert_see_other("/contacts");
        let page = self.get("/contacts").await;
        page.assert_status(200);
        assert!(self.csrf.is_some(), "the contacts page has a CSRF token");
        r
    }
}
