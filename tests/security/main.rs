//! Security and reliability tests (SPEC §5): every route of `contacts_admin::web::ROUTES`
//! attacked anonymously, by a regular user, by the admin of another account and without
//! a CSRF token; the session cookie and sign-in throttling; security headers on every
//! response; fuzzing of forms, queries, uploads and the domain parsers (proptest); load
//! with concurrent deletions; and faults: PostgreSQL going away behind a proxy, a
//! read-only SQLite file and a full disk.
//!
//! Each area prints one summary line to the process's stderr (`SECURITY …`), which
//! the test harness does not capture.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! unreachable, the PostgreSQL variants print SKIPPED, or fail with
//! `CONTACTS_ADMIN_REQUIRE_POSTGRES=1`.

#[path = "../support/mod.rs"]
mod support;

use support::app;

mod export_memory;
mod faults;
mod fuzz;
mod headers;
mod load;
mod login_memory;
mod api_routes;
mod routes;
mod session;
mod signin;

use app::Resp;
use contacts_admin::domain::{Actor, ContactId, DeleteConfirmation, Selection, WorkflowAction, WorkflowDraft};
use support::{add_associated, Fixture, Raw, TestAccount};
pub use support::is_live;

/// One line of the summary, on the real stderr (the harness captures `eprintln!`).
pub fn summary(line: impl AsRef<str>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SECURITY {}", line.as_ref());
}

/// "sqlite" or "postgres", for summary lines.
pub fn backend_name(raw: &Raw) -> &'static str {
    support::backend_name(raw.backend())
}

/// The row counts (and a few states) of every table: what "nothing changed" compares.
/// One round trip, so fuzzing can take it after every request.
pub async fn digest(raw: &Raw) -> Vec<(String, i64)> {
    const PARTS: &[(&str, &str, &str)] = &[
        ("accounts", "accounts", "1 = 1"),
        ("users", "users", "1 = 1"),
        ("contacts", "contacts", "1 = 1"),
        ("live contacts", "contacts", "deleted_at is null"),
        ("deleted contacts", "contacts", "deleted_at is not null"),
        ("contact_tags", "contact_tags", "1 = 1"),
        ("tags", "tags", "1 = 1"),
        ("conversations", "conversations", "1 = 1"),
        ("messages", "messages", "1 = 1"),
        ("notes", "notes", "1 = 1"),
        ("tasks", "tasks", "1 = 1"),
        ("appointments", "appointments", "1 = 1"),
        ("scheduled appointments", "appointments", "status = 'scheduled'"),
        ("opportunities", "opportunities", "1 = 1"),
        ("open opportunities", "opportunities", "status = 'open'"),
        ("manual_actions", "manual_actions", "1 = 1"),
        ("activities", "activities", "1 = 1"),
        ("files", "files", "1 = 1"),
        ("community_groups", "community_groups", "1 = 1"),
        ("owned groups", "community_groups", "owner_contact_id is not null"),
        ("campaigns", "campaigns", "1 = 1"),
        ("enrollments", "enrollments", "1 = 1"),
        ("active enrollments", "enrollments", "status = 'active'"),
        ("lists", "lists", "1 = 1"),
        ("list_members", "list_members", "1 = 1"),
        ("workflows", "workflows", "1 = 1"),
        ("draft workflows", "workflows", "status = 'draft'"),
        ("workflow_runs", "workflow_runs", "1 = 1"),
        ("deletion_batches", "deletion_batches", "1 = 1"),
        ("bulk_jobs", "bulk_jobs", "1 = 1"),
        ("cancelled bulk jobs", "bulk_jobs", "state = 'cancelled'"),
        ("audit_events", "audit_events", "1 = 1"),
        ("webhook_endpoints", "webhook_endpoints", "1 = 1"),
        ("disabled webhook endpoints", "webhook_endpoints", "disabled_at is not null"),
        ("webhook_deliveries", "webhook_deliveries", "1 = 1"),
        ("pending webhook deliveries", "webhook_deliveries", "state = 'pending'"),
        ("api_keys", "api_keys", "1 = 1"),
        ("revoked api_keys", "api_keys", "revoked_at is not null"),
    ];
    let sql = PARTS
        .iter()
        .map(|(label, table, cond)| format!("select '{label}' as k, count(*) as n from {table} where {cond}"))
        .collect::<Vec<_>>()
        .join(" union all ");
    let rows: Vec<(String, i64)> = raw.all(&sql, &[]).await;
    // Also a fingerprint of where opportunities and appointments point (handover moves
    // them between contacts without changing any count) and of workflow names.
    let mut rows = rows;
    for (label, sql) in [
        ("opportunity owners", "select coalesce(sum(contact_id * id), 0) from opportunities"),
        ("appointment owners", "select coalesce(sum(contact_id * id), 0) from appointments"),
        ("workflow name lengths", "select coalesce(sum(length(name) * id), 0) from workflows"),
        ("contact updates", "select coalesce(sum(updated_at % 1000003), 0) from contacts"),
    ] {
        let n: (i64,) = raw.one(&format!("select cast(({sql}) as bigint)"), &[]).await;
        rows.push((label.to_string(), n.0));
    }
    rows
}

/// The objects of one account that the routes take ids of, each carrying text that is
/// unique to it, so a response that leaks them can be recognised.
#[derive(Debug, Clone)]
pub struct Targets {
    /// A live contact with one row of every associated kind.
    pub contact: ContactId,
    pub contact_email: String,
    /// A second live contact: where handover moves opportunities and appointments.
    pub other: ContactId,
    pub other_email: String,
    pub file: i64,
    pub opportunity: i64,
    pub appointment: i64,
    /// A contact deleted by `batch`, inside the restore window.
    pub deleted: ContactId,
    pub batch: i64,
    /// A draft workflow that deletes contacts.
    pub workflow: i64,
    /// A webhook endpoint, and its delivery of `batch`'s `contact.deleted` event.
    pub webhook: i64,
    pub delivery: i64,
    /// A live API key of the account (admin role).
    pub api_key: i64,
    /// Words that appear only in this account's data.
    pub secrets: Vec<String>,
}

static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Fresh targets in `acc` (each call makes new rows with new unique words).
pub async fn make_targets(f: &Fixture, acc: &TestAccount) -> Targets {
    let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = acc.name.to_lowercase();
    let first = format!("Zq{tag}{n}person");
    let contact_email = format!("zq.{tag}.{n}@{tag}-secret.test");
    let contact = support::create_contact(&f.repo, acc.id, &first, Some(&contact_email), &["VIP"]).await;
    let assoc = add_associated(&f.raw, acc, contact, f.now()).await;
    let file_secret = format!("Zqfile{tag}{n}content");
    let file = f
        .raw
        .insert(
            "insert into files (account_id, contact_id, user_id, name, content_type, size_bytes, content, created_at)
             values ($1, $2, $3, 'secret.txt', 'text/plain', $4, $5, $6) returning id",
            &[
                support::V::I(acc.id.0),
                support::V::I(contact.0),
                support::V::I(acc.admin.0),
                support::V::I(file_secret.len() as i64),
                support::V::B(file_secret.clone().into_bytes()),
                support::V::I(support::ms(f.now())),
            ],
        )
        .await;
    let other_first = format!("Zq{tag}{n}other");
    let other_email = format!("zq.{tag}.{n}.other@{tag}-secret.test");
    let other = support::create_contact(&f.repo, acc.id, &other_first, Some(&other_email), &[]).await;
    let hook_url = format!("https://hooks.example.com/zq{tag}{n}hook");
    let events = contacts_admin::domain::WebhookEvents::parse(["contact.deleted"]).unwrap();
    let webhook = f
        .repo
        .create_webhook_endpoint(acc.id, acc.admin, &contacts_admin::domain::WebhookUrl::parse(&hook_url).unwrap(), &events, "s3cret")
        .await
        .expect("register a webhook endpoint");
    let deleted_first = format!("Zq{tag}{n}deleted");
    let deleted = support::create_contact(&f.repo, acc.id, &deleted_first, Some(&format!("zq.{tag}.{n}.deleted@x.test")), &[]).await;
    let report = f
        .repo
        .delete_contacts(acc.id, Actor::ui(acc.admin), &Selection::ids(vec![deleted]).unwrap(), None, DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .expect("delete the contact of the batch");
    let key_name = format!("Zqkey{tag}{n}");
    app::api_key(&f.repo, acc.id, acc.admin, &key_name, contacts_admin::domain::Role::Admin).await;
    let api_key = f.raw.i64("select id from api_keys where name = $1", &[support::V::from(key_name.as_str())]).await;
    let wf_name = format!("Zqflow{tag}{n}");
    let draft = WorkflowDraft::parse(&wf_name, "Unsubscribed", vec![WorkflowAction::DeleteContact]).expect("a workflow draft");
    let workflow = f.repo.create_workflow(acc.id, &draft, contacts_admin::domain::Role::Admin).await.expect("create the workflow");
    Targets {
        contact,
        contact_email: contact_email.clone(),
        other,
        other_email: other_email.clone(),
        file,
        opportunity: assoc.opportunity,
        appointment: assoc.appointment,
        deleted,
        batch: report.batch.0,
        workflow: workflow.0,
        webhook,
        delivery: f.raw.i64("select id from webhook_deliveries where endpoint_id = $1", &[support::V::I(webhook)]).await,
        api_key,
        secrets: vec![first, contact_email, file_secret, other_first, other_email, deleted_first, wf_name, format!("zq{tag}{n}hook"), key_name],
    }
}

/// A background bulk deletion job of `acc`, waited for until it has finished (so it
/// changes nothing while the tests compare row counts).
pub async fn finished_job(f: &Fixture, acc: &TestAccount) -> i64 {
    let c = support::create_contact(&f.repo, acc.id, "Jobbed", None, &[]).await;
    let sel = Selection::ids(vec![c]).unwrap();
    let batch = f
        .repo
        .start_deletion(acc.id, Actor::ui(acc.admin), &sel, None, DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .expect("start a deletion");
    let job = f.repo.queue_deletion_job(acc.id, batch, acc.admin, 1).await.expect("queue the job");
    for _ in 0..600 {
        let j = f.repo.bulk_job(acc.id, job).await.expect("read the job").expect("the job exists");
        if !j.is_active() {
            return job.0;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the bulk job {job:?} did not finish within 30 s");
}

/// The secrets of `t` that appear in `r`'s body.
pub fn leaked<'a>(r: &Resp, t: &'a Targets) -> Vec<&'a str> {
    let text = r.text();
    t.secrets.iter().filter(|s| text.contains(s.as_str()) || r.body.contains(s.as_str())).map(String::as_str).collect()
}
