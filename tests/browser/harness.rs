//! The server and the browser of one test: a fresh SQLite database seeded through the
//! repository, the application on `127.0.0.1:0`, and a headless Chromium with a fresh
//! profile driven over the DevTools protocol (no WebDriver).

use crate::support::{create_account, Raw, TestAccount, TestDb, TEST_PASSWORD};
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use contacts_admin::clock::SystemClock;
use contacts_admin::config::Settings;
use contacts_admin::repo::Repo;
use contacts_admin::startup::Application;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Debian's Chromium binary (`/usr/bin/chromium` is a wrapper script).
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// `CONTACTS_ADMIN_REQUIRE_BROWSER=1` turns a missing Chromium into a failure.
pub const REQUIRE_BROWSER_ENV: &str = "CONTACTS_ADMIN_REQUIRE_BROWSER";

/// How long a wait for a condition in the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);

/// The desktop window every test starts with.
pub const DESKTOP: (u32, u32) = (1366, 850);
/// A phone held upright.
pub const PHONE: (u32, u32) = (375, 812);
const WIDTH: u32 = DESKTOP.0;
const HEIGHT: u32 = DESKTOP.1;

/// axe-core, injected into pages by [`Ui::assert_accessible`].
const AXE: &str = include_str!("../assets/axe-core/axe.min.js");

/// Contacts seeded for most tests: three pages of 50.
pub const SEEDED: i64 = 120;

/// The application under test, on its own database.
pub struct TestApp {
    pub base: String,
    pub repo: Repo,
    pub raw: Raw,
    pub acc: TestAccount,
    server: JoinHandle<anyhow::Result<()>>,
    _db: TestDb,
}

impl TestApp {
    /// Account "Acme" (admin@acme.test, user@acme.test) with `contacts` seeded
    /// contacts, each with associated data (so the delete modal has warnings).
    /// The bulk settings say when deletions become background jobs.
    pub async fn start_with(contacts: i64, bulk: contacts_admin::config::BulkSettings) -> TestApp {
        let db = TestDb::sqlite().await;
        let settings = Settings {
            database_url: db.url.clone(),
            bind: "127.0.0.1:0".into(),
            session_key: Some("browser-tests-session-key-".repeat(4)),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            purge_interval_secs: 0,
            bulk,
            webhooks: Default::default(),
            clock: Arc::new(SystemClock),
        };
        let app = Application::build(settings).await.expect("build the application");
        let base = format!("http://127.0.0.1:{}", app.port());
        let repo = app.repo().clone();
        let acc = create_account(&repo, "Acme").await;
        if contacts > 0 {
            repo.seed_contacts(acc.id, contacts, &[acc.admin, acc.user]).await.expect("seed contacts");
        }
        let raw = db.raw().await;
        let server = tokio::spawn(app.run_until_stopped());
        TestApp { base, repo, raw, acc, server, _db: db }
    }

    /// Ids of the account's live (not deleted) contacts, ascending.
    pub async fn live_ids(&self) -> Vec<i64> {
        self.raw
            .ids(
                "select id from contacts where account_id = $1 and deleted_at is null order by id",
                crate::args![self.acc.id],
            )
            .await
    }

    pub async fn live_count(&self) -> i64 {
        self.raw.count("contacts", "account_id = $1 and deleted_at is null", crate::args![self.acc.id]).await
    }

    pub async fn deleted_count(&self) -> i64 {
        self.raw.count("contacts", "account_id = $1 and deleted_at is not null", crate::args![self.acc.id]).await
    }

    pub async fn is_deleted(&self, id: i64) -> bool {
        self.raw.count("contacts", "id = $1 and deleted_at is not null", crate::args![id]).await == 1
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/test-artifacts`, else `target/test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => {
            let t = PathBuf::from(t);
            if t.is_absolute() { t } else { manifest.join(t) }
        }
        _ => manifest.join("target"),
    };
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// True when Chromium is installed; otherwise skips loudly (or fails, see
/// [`REQUIRE_BROWSER_ENV`]).
fn chromium_available(test: &str) -> bool {
    if std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var(REQUIRE_BROWSER_ENV).is_ok_and(|v| v == "1") {
        panic!("{test}: Chromium not found at {CHROMIUM} and {REQUIRE_BROWSER_ENV}=1");
    }
    // the real stderr: the harness captures eprintln! of a passing test and hides it
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: Chromium not found at {CHROMIUM}; install Debian's chromium package, or set {REQUIRE_BROWSER_ENV}=1 to make this a failure"
    );
    false
}

/// The application and a browser on it, or `None` when the test is skipped.
pub async fn setup(test: &'static str, contacts: i64) -> Option<(TestApp, Ui)> {
    setup_with(test, contacts, Default::default()).await
}

/// [`setup`] with the given bulk settings.
pub async fn setup_with(test: &'static str, contacts: i64, bulk: contacts_admin::config::BulkSettings) -> Option<(TestApp, Ui)> {
    if !chromium_available(test) {
        return None;
    }
    let app = TestApp::start_with(contacts, bulk).await;
    let ui = Ui::launch(test, &app.base).await;
    Some((app, ui))
}

/// One headless Chromium with one tab.
pub struct Ui {
    pub test: &'static str,
    pub base: String,
    pub page: Page,
    browser: Browser,
    handler: JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Ui {
    async fn launch(test: &'static str, base: &str) -> Ui {
        let profile = tempfile::Builder::new().prefix("contacts-admin-chromium-").tempdir().expect("a fresh profile folder");
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .user_data_dir(profile.path())
            .no_sandbox()
            .args(["disable-gpu", "disable-quic", "no-first-run", "disable-background-networking", "disable-component-update", "disable-sync"])
            .window_size(WIDTH, HEIGHT)
            .viewport(Viewport { width: WIDTH, height: HEIGHT, ..Viewport::default() })
            .build()
            .expect("a browser configuration");
        let (browser, mut handler) = Browser::launch(config).await.unwrap_or_else(|e| panic!("{test}: launch Chromium: {e}"));
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if let Err(e) = event {
                    eprintln!("chromium handler: {e}");
                }
            }
        });
        let page = browser.new_page("about:blank").await.unwrap_or_else(|e| panic!("{test}: open a tab: {e}"));
        Ui { test, base: base.to_string(), page, browser, handler, _profile: profile }
    }

    /// Closes the browser and waits for it to exit.
    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.browser.wait()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.handler).await;
        self.handler.abort();
    }

    /// Opens `path` of the application and waits until its scripts have run.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{}", self.base, path);
        self.page.goto(url.as_str()).await.unwrap_or_else(|e| panic!("{}: open {url}: {e}", self.test));
        self.wait_loaded().await;
    }

    /// Waits until the document is complete (after a navigation).
    pub async fn wait_loaded(&self) {
        self.wait_until("document.readyState === 'complete'", "the page to load").await;
    }

    /// Evaluates a JavaScript expression and returns its value.
    pub async fn eval<T: DeserializeOwned>(&self, js: &str) -> T {
        match self.try_eval::<T>(js).await {
            Ok(v) => v,
            Err(e) => panic!("{}: evaluating `{js}`: {e}", self.test),
        }
    }

    async fn try_eval<T: DeserializeOwned>(&self, js: &str) -> Result<T, String> {
        let params = EvaluateParams::builder().expression(js).build().map_err(|e| e.to_string())?;
        let res = self.page.evaluate_expression(params).await.map_err(|e| e.to_string())?;
        let value = res.value().cloned().unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// Polls `js` until it is truthy; on timeout saves `failed-<test>.png` and fails
    /// with `what` and the page's visible text.
    pub async fn wait_until(&self, js: &str, what: &str) {
        let start = Instant::now();
        let probe = format!("!!({js})");
        loop {
            if let Ok(true) = self.try_eval::<bool>(&probe).await {
                return;
            }
            if start.elapsed() > WAIT {
                self.fail(&format!("timed out after {WAIT:?} waiting for {what} (`{js}`)")).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails the test with a screenshot and the page's URL and text.
    pub async fn fail(&self, msg: &str) -> ! {
        let shot = artifacts_dir().join(format!("failed-{}.png", self.test));
        let _ = self.page.save_screenshot(png(), &shot).await;
        let url: String = self.try_eval("location.href").await.unwrap_or_default();
        let text: String = self.try_eval("document.body ? document.body.innerText : ''").await.unwrap_or_default();
        let text: String = text.chars().take(1500).collect();
        panic!("{}: {msg}\nat {url} (screenshot {})\npage text:\n{text}", self.test, shot.display());
    }

    /// The trimmed text of the element matching `selector` (empty if absent).
    pub async fn text(&self, selector: &str) -> String {
        self.eval(&format!("(function(){{ var e = document.querySelector({}); return e ? e.textContent.replace(/\\s+/g, ' ').trim() : ''; }})()", js_str(selector)))
            .await
    }

    /// Waits until the element's text contains `needle`.
    pub async fn wait_text(&self, selector: &str, needle: &str) {
        self.wait_until(
            &format!(
                "(function(){{ var e = document.querySelector({}); return !!e && e.textContent.replace(/\\s+/g, ' ').includes({}); }})()",
                js_str(selector),
                js_str(needle)
            ),
            &format!("{selector} to read “{needle}”"),
        )
        .await;
    }

    pub async fn exists(&self, selector: &str) -> bool {
        self.eval(&format!("document.querySelector({}) !== null", js_str(selector))).await
    }

    /// Clicks the element with the mouse (scrolled into view first).
    pub async fn click(&self, selector: &str) {
        self.wait_until(&format!("document.querySelector({})", js_str(selector)), &format!("{selector} to exist")).await;
        let el = self.page.find_element(selector).await.unwrap_or_else(|e| panic!("{}: find {selector}: {e}", self.test));
        el.click().await.unwrap_or_else(|e| panic!("{}: click {selector}: {e}", self.test));
    }

    /// Presses one key (`"Tab"`, `"Enter"`, `" "`, `"Escape"`, a letter) on whatever has
    /// the focus, through `Input.dispatchKeyEvent`.
    pub async fn press(&self, key: &str) {
        self.press_with(key, 0).await;
    }

    /// Shift+Tab.
    pub async fn shift_tab(&self) {
        self.press_with("Tab", 8).await;
    }

    async fn press_with(&self, key: &str, modifiers: i64) {
        let def = chromiumoxide::keys::get_key_definition(key).unwrap_or_else(|| panic!("no key definition for {key:?}"));
        let text = def.text.map(str::to_string).or_else(|| (def.key.len() == 1).then(|| def.key.to_string()));
        let down_type = if text.is_some() { DispatchKeyEventType::KeyDown } else { DispatchKeyEventType::RawKeyDown };
        let mut down = DispatchKeyEventParams::builder()
            .r#type(down_type)
            .key(def.key)
            .code(def.code)
            .windows_virtual_key_code(def.key_code)
            .native_virtual_key_code(def.key_code)
            .modifiers(modifiers);
        if let Some(t) = &text {
            down = down.text(t.clone());
        }
        let up = DispatchKeyEventParams::builder()
            .r#type(DispatchKeyEventType::KeyUp)
            .key(def.key)
            .code(def.code)
            .windows_virtual_key_code(def.key_code)
            .native_virtual_key_code(def.key_code)
            .modifiers(modifiers);
        self.page.execute(down.build().expect("key down")).await.unwrap_or_else(|e| panic!("{}: key {key}: {e}", self.test));
        self.page.execute(up.build().expect("key up")).await.unwrap_or_else(|e| panic!("{}: key {key}: {e}", self.test));
    }

    /// Types `s` key by key into whatever has the focus.
    pub async fn type_keys(&self, s: &str) {
        for c in s.chars() {
            self.press(&c.to_string()).await;
        }
    }

    /// Clicks into `selector` and types `s` there.
    pub async fn type_into(&self, selector: &str, s: &str) {
        self.click(selector).await;
        self.type_keys(s).await;
    }

    /// Waits until the element with id `id` has the focus.
    pub async fn wait_focus(&self, id: &str, what: &str) {
        let start = Instant::now();
        let probe = format!("!!document.activeElement && document.activeElement.id === {}", js_str(id));
        loop {
            if let Ok(true) = self.try_eval::<bool>(&probe).await {
                return;
            }
            if start.elapsed() > WAIT {
                let focused = self.focused().await;
                self.fail(&format!("timed out waiting for {what}: focus is on {focused}, not #{id}")).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `id`/`class` of the focused element, for keyboard tests.
    pub async fn focused(&self) -> String {
        self.eval("(function(){ var e = document.activeElement; return e ? (e.tagName.toLowerCase() + '#' + e.id + '.' + e.className) : ''; })()").await
    }

    /// Signs in through the login form and waits for the contacts list.
    pub async fn login(&self, email: &str) {
        self.goto("/login").await;
        self.type_into("#email", email).await;
        self.type_into("#password", TEST_PASSWORD).await;
        self.click("form[action='/login'] button[type=submit]").await;
        self.wait_until("location.pathname === '/contacts' && document.readyState === 'complete'", "the contacts list after signing in")
            .await;
        self.wait_until("document.querySelectorAll('tr[data-id] .row-check').length > 0 || document.querySelector('.empty')", "the rows")
            .await;
    }

    /// Ids of the rows on the page, in order.
    pub async fn row_ids(&self) -> Vec<i64> {
        self.eval("Array.from(document.querySelectorAll('.row-check')).map(function(c){ return parseInt(c.value, 10); })").await
    }

    /// Clicks the checkbox of row `id`.
    pub async fn tick(&self, id: i64) {
        self.click(&format!("tr[data-id='{id}'] .row-check")).await;
    }

    /// Waits for the bulk bar to read `"<n> selected"`.
    pub async fn wait_selected(&self, n: &str) {
        self.wait_until(
            &format!(
                "!document.getElementById('bulk-bar').hidden && document.getElementById('bulk-count').textContent.trim() === {}",
                js_str(&format!("{n} selected"))
            ),
            &format!("the bulk bar to read “{n} selected”"),
        )
        .await;
    }

    /// Waits for the delete modal to be open with its form.
    pub async fn wait_dialog_open(&self) {
        self.wait_until("document.querySelector('dialog#delete-dialog[open] #delete-form')", "the delete modal to open").await;
    }

    /// True when `#delete-submit` is disabled.
    pub async fn submit_disabled(&self) -> bool {
        self.eval("document.getElementById('delete-submit').disabled").await
    }

    /// Resizes the viewport, as a phone (`PHONE`) or a desktop window (`DESKTOP`).
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        let params = SetDeviceMetricsOverrideParams::builder()
            .width(width as i64)
            .height(height as i64)
            .device_scale_factor(1.0)
            .mobile(false)
            .build()
            .expect("device metrics");
        self.page.execute(params).await.unwrap_or_else(|e| panic!("{}: set the viewport to {width}x{height}: {e}", self.test));
        self.wait_until(&format!("window.innerWidth === {width}"), &format!("the viewport to be {width} px wide")).await;
    }

    /// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now and fails the
    /// test on any violation, naming each rule and the elements that break it.
    pub async fn assert_accessible(&self, state: &str) {
        let loaded: bool = self.eval("typeof window.axe === 'object'").await;
        if !loaded {
            let params = EvaluateParams::builder().expression(AXE).build().expect("axe source");
            self.page.evaluate_expression(params).await.unwrap_or_else(|e| panic!("{}: inject axe-core: {e}", self.test));
        }
        let run = "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })\
            .then(function (r) { return r.violations.map(function (v) { return v.id + ' (' + v.impact + '): ' + v.help + '\\n    ' + \
            v.nodes.slice(0, 5).map(function (n) { return n.target.join(' ') + ' — ' + n.failureSummary.replace(/\\s+/g, ' '); }).join('\\n    '); }); })";
        let params = EvaluateParams::builder().expression(run).await_promise(true).build().expect("axe run");
        let res = self.page.evaluate_expression(params).await.unwrap_or_else(|e| panic!("{}: run axe-core on {state}: {e}", self.test));
        let violations: Vec<String> = serde_json::from_value(res.value().cloned().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{}: axe-core result on {state}: {e}", self.test));
        if !violations.is_empty() {
            let shot = artifacts_dir().join(format!("axe-{}-{}.png", self.test, state.replace(|c: char| !c.is_ascii_alphanumeric(), "-")));
            let _ = self.page.save_screenshot(png(), &shot).await;
            panic!("{}: axe-core found {} violation(s) on {state} (screenshot {}):\n{}", self.test, violations.len(), shot.display(), violations.join("\n"));
        }
    }

    /// Saves a PNG of the viewport as `target/test-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = artifacts_dir().join(format!("{name}.png"));
        self.page.save_screenshot(png(), &path).await.unwrap_or_else(|e| panic!("{}: screenshot {name}: {e}", self.test));
        path
    }
}

fn png() -> ScreenshotParams {
    ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).build()
}

/// A JavaScript string literal.
pub fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}
