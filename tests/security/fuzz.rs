//! Bad input (SPEC §5: "bad input of every form gets a clear 4xx message and changes
//! nothing"), generated with proptest: arbitrary bytes, arbitrary strings and forms
//! built from each endpoint's own field names with hostile values, as POST bodies and
//! as query strings; arbitrary bytes as a CSV upload; the domain parsers on their own;
//! bodies over 2 MB and a million repeated `ids` fields.
//!
//! The number of cases per endpoint is `SECURITY_FUZZ_CASES` (default 256).

use crate::app::{read_status, spawn_app, Client, TestApp};
use crate::routes::{multipart_with_token, read};
use crate::support::{create_contact, Raw, TestAccount};
use crate::{both_backends, digest, summary};
use contacts_admin::domain::{
    Actor, ContactFilter, DeleteConfirmation, Email, NewContact, Selection, TagName, WorkflowAction, WorkflowDraft, MAX_IDS_PER_REQUEST,
};
use contacts_admin::web::form::Fields;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::header::CONTENT_TYPE;
use std::sync::atomic::{AtomicUsize, Ordering};

pub static CASES_RUN: AtomicUsize = AtomicUsize::new(0);

fn cases() -> u32 {
    std::env::var("SECURITY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() }
}

// ---------------------------------------------------------------- domain parsers

proptest! {
    #![proptest_config(Config { cases: 1000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn parse_ids_never_panics(raw in prop::collection::vec(any::<String>(), 0..20), digits in prop::collection::vec("-?[0-9]{0,25}", 0..20)) {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        let all: Vec<&str> = raw.iter().chain(digits.iter()).map(String::as_str).collect();
        if let Ok(ids) = Selection::parse_ids(all.iter().copied()) {
            prop_assert_eq!(ids.len(), all.len());
            prop_assert!(ids.iter().all(|id| id.0 > 0), "ids are positive: {:?}", ids);
        }
    }

    #[test]
    fn parse_as_of_never_panics(raw in proptest::option::of(any::<String>()), stamp in "[+-]?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?") {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        let _ = Selection::parse_as_of(raw.as_deref());
        let _ = Selection::parse_as_of(Some(&stamp));
    }

    #[test]
    fn contact_filter_never_panics(q in proptest::option::of(any::<String>()), tag in proptest::option::of(any::<String>())) {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        if let Ok(f) = ContactFilter::parse(q.as_deref(), tag.as_deref()) {
            if let Some(q) = &f.q {
                prop_assert!(!q.is_empty());
            }
            let _ = f.describe();
        }
    }

    #[test]
    fn email_never_panics(s in any::<String>(), shaped in "[^@]{0,20}@[^@]{0,20}\\.[a-z]{0,5}") {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        for input in [&s, &shaped] {
            if let Ok(e) = Email::parse(input) {
                prop_assert!(e.as_str().contains('@') && e.as_str().len() <= 254);
                prop_assert!(!e.as_str().chars().any(|c| c.is_control() || c.is_whitespace()));
            }
        }
    }

    #[test]
    fn tag_name_never_panics(s in any::<String>()) {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        if let Ok(t) = TagName::parse(&s) {
            let n = t.as_str().chars().count();
            prop_assert!((1..=50).contains(&n));
            prop_assert!(!t.as_str().chars().any(char::is_control));
        }
    }

    #[test]
    fn delete_confirmation_accepts_only_delete(s in any::<String>(), near in "[dDeElLtT ]{0,8}") {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        prop_assert_eq!(DeleteConfirmation::parse(&s).is_ok(), s == "DELETE");
        prop_assert_eq!(DeleteConfirmation::parse(&near).is_ok(), near == "DELETE");
    }

    #[test]
    fn fields_and_what_handlers_read_from_them_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), form in form_of(&["ids", "select_all", "as_of", "exclude", "q", "tag", "confirm"])) {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        for input in [&bytes, &form] {
            let f = Fields::parse(input);
            let _ = f.filter();
            let _ = f.selection(None);
            let _ = f.selection(Some(chrono::Utc::now()));
            let _ = f.ids();
            let _ = f.flag("select_all");
        }
    }

    #[test]
    fn contact_and_workflow_drafts_never_panic(a in any::<String>(), b in any::<String>(), c in any::<String>(), d in any::<String>(), e in any::<String>()) {
        CASES_RUN.fetch_add(1, Ordering::Relaxed);
        let _ = NewContact::parse(&a, &b, &c, &d, &e);
        let actions: Vec<WorkflowAction> = [WorkflowAction::parse(&a, &b), WorkflowAction::parse("add_tag", &c), WorkflowAction::parse("delete_contact", "")]
            .into_iter()
            .filter_map(|r| r.ok().flatten())
            .collect();
        let _ = WorkflowDraft::parse(&d, &e, actions);
        let _ = contacts_admin::domain::ContactId::parse(&a);
    }
}

// ---------------------------------------------------------------- inputs

/// Values that mean something to some handler, and classic troublemakers.
fn hostile_values(extra: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "", " ", "DELETE", "delete", "DELETE ", "true", "1", "on", "yes", "false", "0", "-1", "00", "+5", "1e3", "0x10", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1970-01-01T00:00:00Z", "2026-13-45T99:99:99Z",
        "2026-03-02T09:30:00", "+275760-09-13T00:00:00Z", "25", "50", "200", "7", "delete_contact", "add_tag", "remove_tag", "bogus",
        "active", "paused", "draft", "restore", "purge", "erase", "workflow_activate", "/contacts", "//evil.example", "/audit", "1_2",
        "abc_def", "-5_-7", "%", "_", "\\", "'", "\"", "' or 1=1 --", "\"; drop table contacts; --", "<script>alert(1)</script>",
        "a\u{0}b", "\u{0}", "tab\there", "line\nbreak", "\r\n", "Ω≈ç√", "🙂", "\u{202e}rtl", "\u{feff}bom",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(201));
    v.push("y".repeat(5000));
    v.push("@".repeat(300));
    v.extend(extra.iter().cloned());
    v
}

fn value(extra: &[String]) -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::sample::select(hostile_values(extra)),
        3 => any::<String>(),
        // numbers far from this test's own live ids (see `bump_ids`)
        1 => "[1-9][0-9]{9,22}",
        1 => "-[0-9]{1,20}",
    ]
    .boxed()
}

fn key(keys: &[&str]) -> BoxedStrategy<String> {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).chain(["csrf_token".to_string(), String::new()]).collect();
    prop_oneof![5 => proptest::sample::select(keys), 1 => any::<String>()].boxed()
}

/// A form of the endpoint's own field names with hostile values, url-encoded.
fn form_of(keys: &[&str]) -> BoxedStrategy<Vec<u8>> {
    form_with(keys, &[])
}

fn form_with(keys: &[&str], extra: &[String]) -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec((key(keys), value(extra)), 0..10)
        .prop_map(|pairs| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(&k, &v);
            }
            s.finish().into_bytes()
        })
        .boxed()
}

/// What a fuzzed request sends: arbitrary bytes, an arbitrary string, a well-encoded
/// form of hostile values, or the same pairs joined without encoding.
fn input(keys: &[&str], extra: &[String]) -> BoxedStrategy<Vec<u8>> {
    let raw_pairs = prop::collection::vec((key(keys), value(extra)), 0..10)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes());
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..600),
        1 => any::<String>().prop_map(String::into_bytes),
        3 => form_with(keys, extra),
        2 => raw_pairs,
    ]
    .boxed()
}

/// [`input`], and in a quarter of the cases the endpoint's valid form with fuzzed pairs
/// appended.
fn input_around(keys: &[&str], extra: &[String], valid: &[(&str, &str)]) -> BoxedStrategy<Vec<u8>> {
    let base = form(valid);
    let appended = prop::collection::vec((key(keys), value(extra)), 0..4).prop_map(move |pairs| {
        let mut s = form_urlencoded::Serializer::new(base.clone());
        for (k, v) in pairs {
            s.append_pair(&k, &v);
        }
        s.finish().into_bytes()
    });
    prop_oneof![3 => input(keys, extra), 1 => appended].boxed()
}

/// `pairs` url-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Bytes as they may stand in a URL's query: structure characters kept, the rest
/// percent-encoded (a URL cannot hold raw bytes).
fn query_escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"&=%+-_.~!$'()*,;:@/?".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

// ---------------------------------------------------------------- the HTTP fuzzing

/// Makes every contact id this test creates from now on larger than five million, so
/// no short number a fuzzer makes up names a live contact of account A.
async fn bump_ids(raw: &Raw, b: &TestAccount) {
    match raw {
        Raw::Sqlite(_) => {
            raw.exec(
                "insert into contacts (id, account_id, first_name, created_at, updated_at) values (5000000, $1, 'Spacer', 0, 0)",
                crate::args![b.id],
            )
            .await;
        }
        Raw::Postgres(_) => {
            let _: (i64,) = raw.one("select setval(pg_get_serial_sequence('contacts', 'id'), 5000000)", &[]).await;
        }
    }
}

struct FuzzTarget {
    app: TestApp,
    admin: Client,
    token: String,
    /// Ids of account B (live and deleted): real ids that must do nothing for A.
    b_ids: Vec<String>,
}

async fn fuzz_target(db: crate::support::TestDb) -> FuzzTarget {
    let app = spawn_app(db).await;
    let f = &app.f;
    bump_ids(&f.raw, &app.b).await;
    for i in 0..12 {
        create_contact(&f.repo, f.acc.id, &format!("Fuzz{i}"), Some(&format!("fuzz{i}@acme.test")), &["VIP", "Unsubscribed"][..(i % 3)]).await;
    }
    let full = create_contact(&f.repo, f.acc.id, "Full", Some("full@acme.test"), &["VIP"]).await;
    crate::support::add_associated(&f.raw, &f.acc, full, f.now()).await;
    let gone = create_contact(&f.repo, f.acc.id, "Gone", Some("gone@acme.test"), &[]).await;
    f.repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &Selection::ids(vec![gone]).unwrap(), Some("fuzz"), DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .unwrap();
    let mut b_ids = Vec::new();
    for i in 0..3 {
        let c = create_contact(&f.repo, app.b.id, &format!("Bee{i}"), Some(&format!("bee{i}@bravo.test")), &["VIP"]).await;
        b_ids.push(c.0.to_string());
    }
    let b_gone = create_contact(&f.repo, app.b.id, "BeeGone", None, &[]).await;
    f.repo
        .delete_contacts(app.b.id, Actor::ui(app.b.admin), &Selection::ids(vec![b_gone]).unwrap(), None, DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .unwrap();
    b_ids.push(b_gone.0.to_string());
    let mut admin = app.admin().await;
    let token = admin.token().await;
    FuzzTarget { app, admin, token, b_ids }
}

/// How a fuzzed endpoint may change the database.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Changes {
    /// Never.
    Nothing,
    /// A 303 adds exactly one row to this table; anything else is a 4xx and changes nothing.
    CreatesOneIn(&'static str),
    /// The same, for an endpoint that answers a success with a page (200) instead of a
    /// redirect: `POST /webhooks` shows the new endpoint's secret once.
    CreatesOneShowing(&'static str),
}

impl Changes {
    /// The table a success adds one row to, and the status of that success.
    fn creates(self) -> Option<(&'static str, u16)> {
        match self {
            Changes::Nothing => None,
            Changes::CreatesOneIn(table) => Some((table, 303)),
            Changes::CreatesOneShowing(table) => Some((table, 200)),
        }
    }
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    keys: &'static [&'static str],
    changes: Changes,
    /// Values for this endpoint's fields beside the hostile ones, and a form that
    /// succeeds: the fuzz test sends it once unchanged (the expected success must
    /// happen), and the fuzzer also appends its pairs to it, so that the success path
    /// is fuzzed too, not only the refusals.
    valid: Option<(&'static [&'static str], &'static [(&'static str, &'static str)])>,
}

/// Webhook URLs and event names: public (accepted), loopback, private, link-local,
/// with a password, of another scheme, malformed; only IP addresses, so no name is
/// looked up.
const WEBHOOK_VALUES: &[&str] = &[
    "https://93.184.215.14/hooks/contacts",
    "http://93.184.215.14:8080/in?x=1",
    "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
    "http://127.0.0.1/hook",
    "http://[::1]:9/",
    "http://10.0.0.8/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/",
    "https://user:pass@93.184.215.14/hook",
    "ftp://93.184.215.14/hook",
    "javascript:alert(1)",
    "https://",
    "https://93.184.215.14:99999/",
    "contact.deleted",
    "deletion.finished",
    "contact.restored",
    "contact.purged",
    "contact.created",
];

const SELECTION_KEYS: &[&str] = &["ids", "select_all", "q", "tag", "as_of", "exclude"];

const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: "post", path: "/contacts/delete", keys: &["ids", "select_all", "q", "tag", "as_of", "exclude", "confirm", "reason", "origin"], changes: Changes::Nothing, valid: None },
    Endpoint { method: "post", path: "/contacts/restore", keys: &["ids", "return_to"], changes: Changes::Nothing, valid: None },
    Endpoint { method: "post", path: "/contacts/tags", keys: &["ids", "select_all", "q", "tag", "as_of", "exclude", "tag_name"], changes: Changes::Nothing, valid: None },
    Endpoint { method: "post", path: "/contacts", keys: &["first_name", "last_name", "email", "phone", "company", "tags"], changes: Changes::CreatesOneIn("contacts"), valid: None },
    Endpoint { method: "post", path: "/workflows", keys: &["name", "trigger_tag", "action", "action_tag"], changes: Changes::CreatesOneIn("workflows"), valid: None },
    Endpoint {
        method: "post",
        path: "/webhooks",
        keys: &["url", "events"],
        changes: Changes::CreatesOneShowing("webhook_endpoints"),
        valid: Some((WEBHOOK_VALUES, &[("url", "https://93.184.215.14/hooks/contacts"), ("events", "contact.deleted")])),
    },
    Endpoint { method: "get", path: "/contacts", keys: &["q", "tag", "size", "after", "before", "last", "sort"], changes: Changes::Nothing, valid: None },
    Endpoint { method: "get", path: "/contacts/export.csv", keys: SELECTION_KEYS, changes: Changes::Nothing, valid: None },
    Endpoint { method: "get", path: "/contacts/export.zip", keys: SELECTION_KEYS, changes: Changes::Nothing, valid: None },
    Endpoint { method: "get", path: "/contacts/restore", keys: &["q", "after", "key", "sort", "dir", "within", "by", "workflow", "batch"], changes: Changes::Nothing, valid: None },
    Endpoint { method: "get", path: "/audit", keys: &["action", "before"], changes: Changes::Nothing, valid: None },
];

fn count_of(d: &[(String, i64)], table: &str) -> i64 {
    d.iter().find(|(k, _)| k == table).map(|(_, n)| *n).unwrap_or(-1)
}

both_backends!(async fn fuzzed_forms_and_queries_never_fail_the_server_nor_change_data(db: TestDb) {
    let t = fuzz_target(db).await;
    let backend = crate::backend_name(&t.app.f.raw);
    let n = cases();
    let handle = tokio::runtime::Handle::current();
    let mut lines = Vec::new();
    let mut total = 0usize;
    for ep in ENDPOINTS {
        let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
        let strategy = match ep.valid {
            None => input(ep.keys, &t.b_ids),
            Some((values, valid)) => {
                let extra: Vec<String> = t.b_ids.iter().cloned().chain(values.iter().map(|v| v.to_string())).collect();
                input_around(ep.keys, &extra, valid)
            }
        };
        if let (Some((_, valid)), Some((table, success))) = (ep.valid, ep.changes.creates()) {
            // the expected success happens (else the fuzzing below would only ever see refusals)
            let before = digest(&t.app.f.raw).await;
            let res = t.admin.http.post(t.admin.url(ep.path)).header(CONTENT_TYPE, "application/x-www-form-urlencoded").header("X-CSRF-Token", &t.token).body(form(valid)).send().await.unwrap();
            let r = read(res).await;
            assert_eq!(r.status, success, "{} {} with {valid:?}: {}", ep.method, ep.path, r.text().chars().take(300).collect::<String>());
            assert_eq!(count_of(&digest(&t.app.f.raw).await, table), count_of(&before, table) + 1, "{} created one row in {table}", ep.path);
        }
        let result = tokio::task::block_in_place(|| {
            let mut runner = TestRunner::new(config(n));
            runner.run(&strategy, |bytes| {
                handle.block_on(async {
                    let before = digest(&t.app.f.raw).await;
                    let res = if ep.method == "get" {
                        let url = format!("{}?{}", t.admin.url(ep.path), query_escape(&bytes));
                        t.admin.http.get(url).send().await
                    } else {
                        t.admin
                            .http
                            .post(t.admin.url(ep.path))
                            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .header("X-CSRF-Token", &t.token)
                            .body(bytes.clone())
                            .send()
                            .await
                    };
                    let res = res.map_err(|e| TestCaseError::fail(format!("no answer (a panic or a dropped connection?): {e}")))?;
                    let r = read(res).await;
                    *statuses.lock().unwrap().entry(r.status).or_default() += 1;
                    CASES_RUN.fetch_add(1, Ordering::Relaxed);
                    prop_assert!(r.status < 500, "{} {} answered {}: {}", ep.method, ep.path, r.status, r.text().chars().take(300).collect::<String>());
                    prop_assert!(!r.body.contains("database is locked"));
                    let after = digest(&t.app.f.raw).await;
                    match ep.changes {
                        Changes::Nothing => prop_assert_eq!(&after, &before, "{} {} (status {}) changed the database", ep.method, ep.path, r.status),
                        Changes::CreatesOneIn(_) | Changes::CreatesOneShowing(_) => {
                            let (table, success) = ep.changes.creates().expect("a creating endpoint");
                            if r.status == success {
                                prop_assert_eq!(count_of(&after, table), count_of(&before, table) + 1, "a {} from {} created one row", success, ep.path);
                            } else {
                                prop_assert!((400..500).contains(&r.status), "{} answered {}", ep.path, r.status);
                                prop_assert_eq!(&after, &before, "{} (status {}) changed the database", ep.path, r.status);
                            }
                        }
                    }
                    Ok(())
                })
            })
        });
        if let Err(e) = result {
            panic!("{} {}: {e}", ep.method.to_uppercase(), ep.path);
        }
        let s = statuses.into_inner().unwrap();
        total += s.values().sum::<usize>();
        lines.push(format!("{} {} {:?}", ep.method.to_uppercase(), ep.path, s));
    }
    summary(format!("fuzz [{backend}]: {total} fuzzed requests ({n} cases per endpoint), no 5xx, no unexpected change; statuses: {}", lines.join("; ")));
});

/// CSV cells a fuzzer joins into rows.
fn csv_file() -> BoxedStrategy<Vec<u8>> {
    let header = proptest::sample::subsequence(vec!["first_name", "last_name", "name", "email", "phone", "company", "tags", "bogus", "\u{feff}email"], 0..6);
    let cell = prop_oneof![
        3 => any::<String>(),
        2 => proptest::sample::select(hostile_values(&[])),
        1 => "[a-z]{1,8}@[a-z]{1,8}\\.test",
        1 => "\"[^\"]{0,10}\"\"[^\"]{0,5}\"",
    ];
    let structured = (header, prop::collection::vec(prop::collection::vec(cell, 0..8), 0..12)).prop_map(|(h, rows)| {
        let mut s = h.join(",");
        for r in rows {
            s.push('\n');
            s.push_str(&r.join(","));
        }
        s.into_bytes()
    });
    prop_oneof![1 => prop::collection::vec(any::<u8>(), 1..3000), 2 => structured].boxed()
}

both_backends!(async fn fuzzed_csv_imports_never_fail_the_server(db: TestDb) {
    let t = fuzz_target(db).await;
    let backend = crate::backend_name(&t.app.f.raw);
    let n = (cases() / 2).max(16);
    let handle = tokio::runtime::Handle::current();
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let strategy = csv_file();
    let result = tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(config(n));
        runner.run(&strategy, |csv| {
            handle.block_on(async {
                let boundary = "----fuzzBoundaryQ1w2E3r4";
                let res = t
                    .admin
                    .http
                    .post(t.admin.url("/contacts/import"))
                    .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                    .body(multipart_with_token(Some(&t.token), &csv, boundary))
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
                let r = read(res).await;
                *statuses.lock().unwrap().entry(r.status).or_default() += 1;
                CASES_RUN.fetch_add(1, Ordering::Relaxed);
                prop_assert!(r.status < 500, "import answered {}: {}", r.status, r.text().chars().take(300).collect::<String>());
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("POST /contacts/import: {e}");
    }
    // a broken multipart body is a 400 too
    let res = t
        .admin
        .http
        .post(t.admin.url("/contacts/import"))
        .header(CONTENT_TYPE, "multipart/form-data; boundary=xyz")
        .header("X-CSRF-Token", &t.token)
        .body("--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end")
        .send()
        .await
        .unwrap();
    let r = read(res).await;
    assert!((400..500).contains(&r.status), "a truncated upload: {}", r.status);
    summary(format!("fuzz [{backend}]: {n} fuzzed CSV imports, statuses {:?}", statuses.into_inner().unwrap()));
});

// ---------------------------------------------------------------- sizes

/// GETs `path?query` over a plain socket, reading while it writes; the status of the
/// answer, or `None` when the server closed without one.
async fn huge_query(c: &Client, path: &str, query: String) -> Option<u16> {
    let url: reqwest::Url = c.url(path).parse().unwrap();
    let path = path.to_string();
    let host = format!("127.0.0.1:{}", url.port().unwrap());
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let s = std::net::TcpStream::connect(&host).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30))).ok();
        let mut w = s.try_clone().unwrap();
        let head = format!("GET {path}?{query} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(head.as_bytes());
        });
        let mut r = s;
        let status = read_status(&mut r);
        let _ = r.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        status
    })
    .await
    .unwrap()
}

both_backends!(async fn oversized_bodies_and_a_million_ids_are_refused_cleanly(db: TestDb) {
    let mut t = fuzz_target(db).await;
    let backend = crate::backend_name(&t.app.f.raw);
    let before = digest(&t.app.f.raw).await;
    let token = t.token.clone();
    let mut seen = Vec::new();

    // just over 2 MB, with a length
    let body = format!("csrf_token={token}&confirm=DELETE&reason={}", "r".repeat(2 * 1024 * 1024));
    let r = t.admin.post_raw("/contacts/delete", body.clone().into_bytes()).await.expect("an answer");
    assert_eq!(r.status, 413, "a 2 MB+ body with Content-Length");
    r.assert_contains("The request is too large.");
    seen.push(("2 MB+ form", r.status));
    // the same chunked, the token in the body (read by the CSRF guard) or in the header
    let s = t.admin.post_chunked("/contacts/delete", body.as_bytes()).await;
    assert_eq!(s, 413, "a 2 MB+ chunked body");
    seen.push(("2 MB+ chunked, token in body", s));
    let s = t.admin.post_chunked_with("/contacts/delete", format!("confirm=DELETE&reason={}", "r".repeat(3 * 1024 * 1024)).into_bytes(), &format!("X-CSRF-Token: {token}\r\n")).await;
    assert_eq!(s, Some(413), "a 3 MB chunked body, token in the header");
    seen.push(("3 MB chunked, token in header", 413));

    // a million `ids=1` (6 MB)
    let live = t.app.f.contact("Stays", Some("stays@acme.test"), &[]).await;
    let before = {
        let _ = before;
        digest(&t.app.f.raw).await
    };
    let million = format!("csrf_token={token}&confirm=DELETE&{}", format!("ids={live}&").repeat(1_000_000));
    let r = t.admin.post_raw("/contacts/delete", million.clone().into_bytes()).await.expect("an answer");
    assert!(r.status == 413 || r.status == 400, "a million ids: {}", r.status);
    seen.push(("1,000,000 ids", r.status));
    let s = t.admin.post_chunked("/contacts/delete", million.as_bytes()).await;
    assert!(s == 413 || s == 400, "a million ids, chunked: {s}");
    seen.push(("1,000,000 ids chunked", s));
    // as many as fit under 2 MB: past the 10,000 ids a request may name
    let many = format!("csrf_token={token}&confirm=DELETE&{}", "ids=1&".repeat(340_000));
    assert!(many.len() < contacts_admin::web::form::MAX_BODY_BYTES);
    let r = t.admin.post_raw("/contacts/delete", many.into_bytes()).await.expect("an answer");
    r.assert_status(400).assert_contains(&format!("at most {MAX_IDS_PER_REQUEST} ids"));
    seen.push(("340,000 ids under 2 MB", r.status));
    let r = t.admin.post_raw("/contacts/restore", format!("csrf_token={token}&{}", "ids=1&".repeat(340_000)).into_bytes()).await.expect("an answer");
    assert_eq!(r.status, 400, "restore of 340,000 ids");
    seen.push(("restore 340,000 ids", r.status));
    // a million ids in a query string: refused before any handler runs
    let status = huge_query(&t.admin, "/contacts/export.csv", "ids=1&".repeat(1_000_000)).await;
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "a 6 MB query string: {status:?}");
    seen.push(("1,000,000 ids in a query", status.unwrap_or(0)));

    assert_eq!(digest(&t.app.f.raw).await, before, "nothing changed");
    assert!(crate::is_live(&t.app.f.raw, live).await);
    // the server still answers
    t.admin.get("/contacts").await.assert_status(200);
    summary(format!("sizes [{backend}]: {seen:?} (0 = connection closed without an answer); nothing changed"));
});
