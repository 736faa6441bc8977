//! The route table walk: every entry of `contacts_admin::web::ROUTES`, with real ids of
//! account A substituted into its path and a valid form for it, is attacked
//!
//! - anonymously: page loads are sent to the login page, POSTs get 401, never data;
//! - by a regular user of A, for admin routes (R1, R11): 403, nothing changed;
//! - by the admin of account B with A's ids, in the path or in the form (tenant
//!   isolation): a 4xx (404 mostly), nothing changed, none of A's data in the answer;
//! - without a CSRF token, with a wrong one and with another session's: 403, nothing
//!   changed;
//!
//! and then sent once by A's admin with a valid token, which must succeed: so each
//! refusal above is the access check at work, not a form the handler would refuse
//! anyway. A route whose path has a `{…}` parameter this file has no id for fails the
//! test, so a new route cannot slip through untested.
//!
//! Public routes (`/healthz`, `/static/…`, `/`, `/favicon.ico`, `GET /login`,
//! `POST /login`, `POST /logout`) are exempt from the anonymous and role checks: they
//! are meant for anyone (logout of an anonymous session is a no-op). The POSTs among
//! them still need the CSRF token (login CSRF).

use crate::app::{spawn_app, Client, Resp};
use crate::support::{TestAccount, TEST_PASSWORD};
use crate::{both_backends, digest, finished_job, leaked, make_targets, summary, Targets};
use contacts_admin::web::{Access, RouteInfo, ROUTES};
use reqwest::header::CONTENT_TYPE;
use std::collections::BTreeMap;

/// A request for one route: method, concrete path, and its form (GET: query string).
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub path: String,
    pub fields: Vec<(String, String)>,
    /// `POST /contacts/import`: a multipart upload of this CSV; the token travels as
    /// the first part of the body, as the import form sends it.
    pub upload: Option<Vec<u8>>,
}

/// How a request carries the CSRF token.
#[derive(Debug, Clone)]
pub enum Tok {
    /// The client's own session token (form field, or first part of an upload).
    Session,
    /// The session token in the `X-CSRF-Token` header.
    Header,
    Missing,
    /// A token of the right shape that no session has.
    Wrong,
    /// A real token of another session.
    Foreign(String),
}

/// The value for each `{…}` parameter of `pattern`, from the segment before it.
/// `Err` names a parameter this suite has no test data for.
pub fn concrete(pattern: &str, t: &Targets, job: i64) -> Result<String, String> {
    let segs: Vec<&str> = pattern.split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if !(seg.starts_with('{') && seg.ends_with('}')) {
            out.push(seg.to_string());
            continue;
        }
        let name = seg.trim_matches(|c| c == '{' || c == '}').split(':').next().unwrap_or("");
        let prev = if i > 0 { segs[i - 1] } else { "" };
        let v = match (prev, name) {
            ("contacts", "id") => t.contact.0.to_string(),
            ("batches", "id") => t.batch.to_string(),
            ("bulk-actions", "id") => job.to_string(),
            ("workflows", "id") => t.workflow.to_string(),
            ("webhooks", "id") => t.webhook.to_string(),
            ("api-keys", "id") => t.api_key.to_string(),
            ("deliveries", "delivery") => t.delivery.to_string(),
            ("files", "file") => t.file.to_string(),
            ("opportunities", "item") => t.opportunity.to_string(),
            ("appointments", "item") => t.appointment.to_string(),
            ("static", "path") => "app.css".to_string(),
            _ => return Err(format!("{pattern}: no test data for the parameter {seg} after /{prev}/")),
        };
        out.push(v);
    }
    Ok(out.join("/"))
}

/// Whether the path carries ids (static files aside).
pub fn has_path_ids(pattern: &str) -> bool {
    pattern.contains('{') && !pattern.starts_with("/static/")
}

fn fp(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// A valid form for the route, for the owner of `t`; and whether it names ids of `t`.
pub fn fields_for(route: &RouteInfo, t: &Targets, acc: &TestAccount) -> (Vec<(String, String)>, bool) {
    let n = crate::SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let c = t.contact.0.to_string();
    let del = t.deleted.0.to_string();
    match (route.method, route.path) {
        ("post", "/login") => (fp(&[("email", acc.admin_email.clone()), ("password", TEST_PASSWORD.into())]), false),
        ("post", "/me/time-zone") => (fp(&[("time_zone", "Europe/Paris".into())]), false),
        ("post", "/contacts") => (
            fp(&[("first_name", format!("Made{n}")), ("last_name", "Here".into()), ("email", format!("made{n}@made.test")), ("tags", "New".into())]),
            false,
        ),
        ("get", "/contacts/delete-preview") | ("get", "/contacts/export.csv") | ("get", "/contacts/export.zip") => (fp(&[("ids", c)]), true),
        ("post", "/contacts/delete") => (fp(&[("ids", c), ("confirm", "DELETE".into()), ("reason", "test".into())]), true),
        ("post", "/contacts/tags") => (fp(&[("ids", c), ("tag_name", "Hacked".into())]), true),
        ("post", "/contacts/restore") => (fp(&[("ids", del)]), true),
        ("post", "/contacts/erase") => (fp(&[("ids", del), ("confirm", "DELETE".into())]), true),
        ("post", "/workflows") => (
            fp(&[("name", format!("Made flow {n}")), ("trigger_tag", format!("Trig{n}")), ("action", "add_tag".into()), ("action_tag", "Made".into())]),
            false,
        ),
        ("post", "/workflows/{id}") => (
            fp(&[("name", format!("Renamed {n}")), ("trigger_tag", format!("Trig{n}")), ("action", "delete_contact".into())]),
            false,
        ),
        ("post", "/workflows/{id}/status") => (fp(&[("status", "active".into())]), false),
        ("post", "/workflows/{id}/delete") => (fp(&[("confirm", "remove".into())]), false),
        ("get", "/workflows/{id}/contacts") => (fp(&[("q", "zq".into())]), false),
        ("get", "/workflows/{id}/test") => (fp(&[("contact_id", c)]), true),
        ("post", "/workflows/{id}/test") => (fp(&[("contact_id", c), ("confirm", "DELETE".into())]), true),
        ("post", "/webhooks") => (fp(&[("url", format!("https://93.184.216.34/in{n}")), ("events", "contact.deleted".into())]), false),
        ("post", "/webhooks/{id}/status") => (fp(&[("enabled", "false".into())]), false),
        ("post", "/api-keys") => (fp(&[("name", format!("Made key {n}")), ("role", "admin".into())]), false),
        ("post", "/contacts/{id}/tags") => (fp(&[("tag_name", "Hacked".into())]), false),
        ("post", "/contacts/{id}/tags/remove") => (fp(&[("tag_name", "VIP".into())]), false),
        ("post", "/contacts/{id}/opportunities/{item}/close") => (fp(&[("outcome", "won".into())]), false),
        ("post", "/contacts/{id}/opportunities/{item}/move") | ("post", "/contacts/{id}/appointments/{item}/move") => {
            (fp(&[("to_email", t.other_email.clone())]), true)
        }
        _ => (Vec::new(), false),
    }
}

/// A CSV that imports one new contact.
pub fn import_csv() -> Vec<u8> {
    let n = crate::SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("first_name,last_name,email\nImported,Person,imported{n}@import.test\n").into_bytes()
}

/// The request for `route` on `path_t`'s ids with `body_t`'s form.
pub fn request(route: &RouteInfo, path_t: &Targets, body_t: &Targets, acc: &TestAccount, job: i64) -> Result<Req, String> {
    let path = concrete(route.path, path_t, job)?;
    let (fields, _) = fields_for(route, body_t, acc);
    let upload = (route.method == "post" && route.path == "/contacts/import").then(import_csv);
    Ok(Req { method: route.method, path, fields, upload })
}

fn encode(fields: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A multipart upload of `csv`, with the `csrf_token` part first when `token` is given
/// (the order of the import form).
pub fn multipart_with_token(token: Option<&str>, csv: &[u8], boundary: &str) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(t) = token {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{t}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

pub async fn read(res: reqwest::Response) -> Resp {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap_or_default();
    Resp { status, headers, body }
}

/// Sends `req` with `c`'s cookies and the token as `tok` says.
pub async fn send(c: &mut Client, req: &Req, tok: Tok) -> Resp {
    let token = match &tok {
        Tok::Session | Tok::Header => Some(c.csrf.clone().expect("the client knows its session's CSRF token")),
        Tok::Missing => None,
        Tok::Wrong => Some("0".repeat(64)),
        Tok::Foreign(t) => Some(t.clone()),
    };
    let in_header = matches!(tok, Tok::Header);
    let res = if req.method == "get" {
        let q = encode(&req.fields);
        let url = if q.is_empty() { c.url(&req.path) } else { c.url(&format!("{}?{q}", req.path)) };
        c.http.get(url).send().await
    } else if let Some(csv) = &req.upload {
        let boundary = "----securityTestBoundary7MA4YWxk";
        let in_body = if in_header { None } else { token.as_deref() };
        let mut r = c
            .http
            .post(c.url(&req.path))
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(multipart_with_token(in_body, csv, boundary));
        if let (Some(t), true) = (&token, in_header) {
            r = r.header("X-CSRF-Token", t);
        }
        r.send().await
    } else {
        let mut fields = req.fields.clone();
        if let (Some(t), false) = (&token, in_header) {
            fields.push(("csrf_token".into(), t.clone()));
        }
        let mut r = c.http.post(c.url(&req.path)).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(encode(&fields));
        if let (Some(t), true) = (&token, in_header) {
            r = r.header("X-CSRF-Token", t);
        }
        r.send().await
    };
    read(res.unwrap_or_else(|e| panic!("{} {}: {e}", req.method, req.path))).await
}

/// Tallies of what the walk saw, for the summary line.
#[derive(Default)]
struct Tally {
    attacks: usize,
    per_route: BTreeMap<String, usize>,
    statuses: BTreeMap<String, BTreeMap<u16, usize>>,
    revealing_controls: usize,
}

impl Tally {
    fn note(&mut self, route: &str, kind: &str, status: u16) {
        self.attacks += 1;
        *self.per_route.entry(route.to_string()).or_default() += 1;
        *self.statuses.entry(kind.to_string()).or_default().entry(status).or_default() += 1;
    }
}

/// Routes a regular user may use in general but not on a workflow that deletes
/// contacts (R1, W2, W3): activating or pausing it, changing it, removing it, testing it.
const USER_DENIED_ON_DELETING_WORKFLOW: &[(&str, &str)] = &[
    ("post", "/workflows/{id}/status"),
    ("post", "/workflows/{id}"),
    ("post", "/workflows/{id}/delete"),
    ("post", "/workflows/{id}/test"),
    ("get", "/workflows/{id}/test"),
];

both_backends!(async fn every_route_refuses_anonymous_users_other_roles_other_accounts_and_forged_posts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let (a, b) = (f.acc.clone(), app.b.clone());
    let backend = crate::backend_name(&f.raw);
    let job_a = finished_job(f, &a).await;
    let job_b = finished_job(f, &b).await;

    let mut anon = app.client();
    anon.get("/login").await.assert_status(200);
    assert!(anon.csrf.is_some(), "the login page gives an anonymous session a token");
    let mut user = app.user().await;
    let mut admin = app.admin().await;
    let mut admin_b = app.admin_b().await;
    let token_b = admin_b.token().await;

    let mut missing = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut tally = Tally::default();

    for route in ROUTES {
        let label = format!("{} {}", route.method.to_uppercase(), route.path);
        let ta = make_targets(f, &a).await;
        let tb = make_targets(f, &b).await;
        let req = match request(route, &ta, &ta, &a, job_a) {
            Ok(r) => r,
            Err(e) => {
                missing.push(e);
                continue;
            }
        };
        let is_get = route.method == "get";
        let (_, body_ids) = fields_for(route, &ta, &a);

        // 1. anonymous
        if route.access != Access::Public {
            let before = digest(&f.raw).await;
            let r = send(&mut anon, &req, Tok::Session).await;
            tally.note(&label, "anonymous", r.status);
            if is_get {
                if r.status != 303 || !r.location().is_some_and(|l| l.starts_with("/login")) {
                    failures.push(format!("{label}: anonymous GET got {} (location {:?}), not a redirect to /login", r.status, r.location()));
                }
            } else if r.status != 401 && r.status != 403 {
                failures.push(format!("{label}: anonymous POST got {}, not 401/403", r.status));
            }
            if !leaked(&r, &ta).is_empty() {
                failures.push(format!("{label}: anonymous response shows {:?}", leaked(&r, &ta)));
            }
            if digest(&f.raw).await != before {
                failures.push(format!("{label}: an anonymous request changed the database"));
            }
        }

        // 2. a regular user of A on admin routes (and on deleting workflows)
        let user_denied = route.access == Access::Admin || USER_DENIED_ON_DELETING_WORKFLOW.contains(&(route.method, route.path));
        if user_denied {
            let before = digest(&f.raw).await;
            let r = send(&mut user, &req, Tok::Session).await;
            tally.note(&label, "regular user", r.status);
            if r.status != 403 {
                failures.push(format!("{label}: a regular user got {}, not 403", r.status));
            }
            if !leaked(&r, &ta).is_empty() {
                failures.push(format!("{label}: the regular user's 403 shows {:?}", leaked(&r, &ta)));
            }
            if digest(&f.raw).await != before {
                failures.push(format!("{label}: a regular user's refused request changed the database"));
            }
        }

        // 3. the admin of account B with A's ids; B's own pages must not show A's data
        if route.access != Access::Public {
            let path_ids = has_path_ids(route.path);
            let mut attempts = Vec::new();
            if path_ids || body_ids {
                attempts.push(("A's ids", req.clone()));
            }
            if path_ids && body_ids {
                // B's own objects in the path, A's ids in the form
                let mixed = request(route, &tb, &ta, &b, job_b).expect("B's targets fit the same route");
                attempts.push(("B's path, A's form", mixed));
            }
            let b_acts_on_own_account = !path_ids && !body_ids;
            if b_acts_on_own_account && is_get {
                // e.g. B's contacts list, audit log, restore page, workflows: A's data never shows
                attempts.push(("own page", req.clone()));
            }
            // (POSTs without ids, such as creating a contact or a workflow or an import,
            // act on B's own account: nothing of A's is involved.)
            for (what, breq) in attempts {
                let before = digest(&f.raw).await;
                let r = send(&mut admin_b, &breq, Tok::Session).await;
                tally.note(&label, "other account's admin", r.status);
                // what B typed itself may be echoed back ("no contact has the email …")
                let shown: Vec<&str> = leaked(&r, &ta).into_iter().filter(|s| !breq.fields.iter().any(|(_, v)| v == s)).collect();
                if !shown.is_empty() {
                    failures.push(format!("{label} ({what}): account B's admin sees A's data {shown:?} (status {})", r.status));
                }
                if what != "own page" && digest(&f.raw).await != before {
                    failures.push(format!("{label} ({what}): account B's admin changed the database (status {})", r.status));
                }
                if path_ids && !(400..500).contains(&r.status) {
                    failures.push(format!("{label} ({what}): account B's admin got {}, not a 4xx", r.status));
                }
                if r.status >= 500 {
                    failures.push(format!("{label} ({what}): account B's admin got {}", r.status));
                }
            }
        }

        // 4. forged POSTs: no token, a wrong one, another session's
        if !is_get {
            for (what, tok) in [("missing", Tok::Missing), ("wrong", Tok::Wrong), ("another session's", Tok::Foreign(token_b.clone()))] {
                let before = digest(&f.raw).await;
                let r = send(&mut admin, &req, tok).await;
                tally.note(&label, &format!("CSRF {what}"), r.status);
                if r.status != 403 {
                    failures.push(format!("{label}: a POST with a {what} CSRF token got {}, not 403", r.status));
                }
                if digest(&f.raw).await != before {
                    failures.push(format!("{label}: a POST with a {what} CSRF token changed the database"));
                }
            }
        }

        // 5. the control: A's admin with a valid token succeeds
        let r = match (route.method, route.path) {
            ("post", "/logout") => {
                let mut other = app.admin().await;
                send(&mut other, &req, Tok::Session).await
            }
            ("post", "/login") => {
                let mut fresh = app.client();
                fresh.get("/login").await;
                send(&mut fresh, &req, Tok::Session).await
            }
            _ => send(&mut admin, &req, if is_get { Tok::Session } else { Tok::Header }).await,
        };
        // cancelling a job that has already finished is a 409: the handler was reached
        let ok = (200..400).contains(&r.status) || (route.path == "/bulk-actions/{id}/cancel" && r.status == 409);
        if !ok {
            failures.push(format!(
                "{label}: the control request by A's admin got {} — fix its test data in fields_for(); body: {}",
                r.status,
                r.text().chars().take(300).collect::<String>()
            ));
        }
        if !leaked(&r, &ta).is_empty() {
            tally.revealing_controls += 1;
        }
        if is_get
            && matches!(
                route.path,
                "/contacts/{id}" | "/contacts/{id}/files/{file}" | "/workflows/{id}" | "/contacts/export.csv" | "/contacts/restore" | "/webhooks/{id}"
            )
            && leaked(&r, &ta).is_empty()
        {
            failures.push(format!("{label}: the control shows none of A's data, so the leak checks above prove nothing"));
        }
    }

    assert!(missing.is_empty(), "routes without test data for their parameters:\n{}", missing.join("\n"));
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    let per_route: Vec<String> = tally.per_route.iter().map(|(r, n)| format!("{r}={n}")).collect();
    let statuses: Vec<String> = tally.statuses.iter().map(|(k, m)| format!("{k} {m:?}")).collect();
    summary(format!(
        "routes [{backend}]: {} routes covered ({} public, {} user, {} admin), {} attacks; statuses by attacker: {}; {} controls showed A's data",
        ROUTES.len(),
        ROUTES.iter().filter(|r| r.access == Access::Public).count(),
        ROUTES.iter().filter(|r| r.access == Access::User).count(),
        ROUTES.iter().filter(|r| r.access == Access::Admin).count(),
        tally.attacks,
        statuses.join("; "),
        tally.revealing_controls,
    ));
    summary(format!("routes [{backend}]: attacks per route: {}", per_route.join(", ")));
});
