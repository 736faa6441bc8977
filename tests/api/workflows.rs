//! Automations → Workflows (W1–W4) through HTTP: a draft does nothing; a test run on
//! one contact (typed DELETE, R2's effects, a recorded run); only admins activate a
//! workflow that deletes (audited); an active workflow deletes contacts tagged on their
//! page, by bulk "Add tag" and by CSV import, attributed to the workflow on behalf of
//! the admin who activated it; a paused one does nothing; a queued run survives a
//! restart; another account's workflow is a 404 everywhere.
//!
//! Runs are asynchronous (a worker inside the server): the tests poll the database
//! until the expected state is reached, with a deadline, and never assert on time.

use crate::app::{spawn_app, Client, Resp, SESSION_KEY};
use crate::support::{assert_associated, create_contact, Fixture, Raw, REMOVED_KINDS, TEST_PASSWORD};
use crate::{args, audit_rows, batch_of, both_backends, is_deleted, is_live, live_count, snapshot};
use chrono::Duration;
use contacts_admin::config::Settings;
use contacts_admin::domain::{ContactId, Selection, TagName};
use contacts_admin::startup::Application;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

const NAME: &str = "Remove unsubscribed";
const TAG: &str = "Unsubscribed";
/// How long a workflow run may take to show its effect before the test fails.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// The same for the 1,000-contact bulk tag (two bursts with R2's cascade).
const WAIT_BULK: std::time::Duration = std::time::Duration::from_secs(90);

/// Polls `probe` every 50 ms until it holds; fails with `what` after `limit`.
async fn eventually<F, Fut>(what: &str, limit: std::time::Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if probe().await {
            return;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The page's text as read: tags dropped, entities decoded, white space collapsed.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    crate::app::unescape(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs of the workflow still queued or running.
async fn pending_runs(raw: &Raw, wf: i64) -> i64 {
    raw.count("workflow_runs", "workflow_id = $1 and state in ('queued', 'running')", args![wf]).await
}

/// Waits until the workflow has at least `runs` runs and none of them is pending.
async fn wait_runs_settled(raw: &Raw, wf: i64, runs: i64, limit: std::time::Duration) {
    eventually(&format!("{runs} runs of workflow {wf} to finish"), limit, || async {
        raw.count("workflow_runs", "workflow_id = $1", args![wf]).await >= runs && pending_runs(raw, wf).await == 0
    })
    .await;
}

/// Every run of the workflow, oldest first: (contact_id, test_run, state, batch_id).
async fn runs_of(raw: &Raw, wf: i64) -> Vec<(i64, i64, String, Option<i64>)> {
    raw.all("select contact_id, test_run, state, batch_id from workflow_runs where workflow_id = $1 order by id", args![wf]).await
}

async fn status_of(raw: &Raw, wf: i64) -> String {
    raw.one::<(String,)>("select status from workflows where id = $1", args![wf]).await.0
}

/// Creates the seed's workflow through `POST /workflows` (trigger `tag`, action Delete
/// contact, blank rows as the editor sends them) and returns its id.
pub(crate) async fn create_workflow(c: &mut Client, name: &str, tag: &str) -> i64 {
    c.get("/workflows/new").await.assert_status(200).assert_contains("Save draft");
    let r = c
        .post(
            "/workflows",
            &[
                ("name", name),
                ("trigger_tag", tag),
                ("action", "delete_contact"),
                ("action_tag", ""),
                ("action", ""),
                ("action_tag", ""),
                ("action", ""),
                ("action_tag", ""),
                ("action", ""),
                ("action_tag", ""),
            ],
        )
        .await;
    r.assert_status(303);
    let loc = r.location().expect("a redirect to the new workflow").to_string();
    loc.strip_prefix("/workflows/").and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("not a workflow page: {loc}"))
}

pub(crate) async fn activate(c: &mut Client, wf: i64) {
    c.post(&format!("/workflows/{wf}/status"), &[("status", "active")]).await.assert_see_other(&format!("/workflows/{wf}"));
}

/// Tags one contact from its page.
async fn tag_on_page(c: &mut Client, contact: ContactId, tag: &str) {
    c.post(&format!("/contacts/{contact}/tags"), &[("tag_name", tag)]).await.assert_see_other(&format!("/contacts/{contact}"));
}

/// An admin tags one contact from its page with a tag that starts a workflow that
/// deletes: asked first, then confirming with the typed DELETE.
async fn tag_on_page_confirmed(admin: &mut Client, raw: &Raw, contact: ContactId, tag: &str) {
    let before = snapshot(raw).await;
    let asked = admin.post(&format!("/contacts/{contact}/tags"), &[("tag_name", tag)]).await;
    asked.assert_status(409).assert_contains("Type <strong>DELETE</strong> to confirm").assert_contains("which deletes 1 contact");
    assert_eq!(snapshot(raw).await, before, "asking changes nothing");
    admin
        .post(&format!("/contacts/{contact}/tags"), &[("tag_name", tag), ("confirm", "DELETE")])
        .await
        .assert_see_other(&format!("/contacts/{contact}"));
}

/// A regular user's tag that would start a workflow that deletes: 403 with the reason,
/// and nothing tagged, queued or deleted (R1).
async fn tag_on_page_refused(user: &mut Client, raw: &Raw, contact: ContactId, tag: &str) {
    let before = snapshot(raw).await;
    for confirm in ["", "DELETE"] {
        let r = user.post(&format!("/contacts/{contact}/tags"), &[("tag_name", tag), ("confirm", confirm)]).await;
        r.assert_status(403).assert_contains("Only an admin may delete contacts");
        assert!(plain(&r.body).contains(&format!("Adding “{tag}” runs “{NAME}”, which deletes 1 contact.")), "{}", r.body);
        assert_eq!(snapshot(raw).await, before, "a refused tag changes nothing");
    }
}

/// The deletion columns of a contact: (deleted_at, deleted_by_user_id, deleted_by_workflow_id).
async fn deleted_by(raw: &Raw, id: ContactId) -> (Option<i64>, Option<i64>, Option<i64>) {
    raw.one("select deleted_at, deleted_by_user_id, deleted_by_workflow_id from contacts where id = $1", args![id]).await
}

/// A deletion batch: (channel, workflow_id, actor_user_id, deleted_count).
async fn batch_row(raw: &Raw, batch: i64) -> (String, Option<i64>, Option<i64>, i64) {
    raw.one("select channel, workflow_id, actor_user_id, deleted_count from deletion_batches where id = $1", args![batch]).await
}

/// Checks R2's effects on a contact made by `add_associated` (`full_contact`).
async fn assert_r2(raw: &Raw, a: &crate::support::Associated) {
    assert_associated(raw, a.contact, 0).await;
    let (status, reason): (String, Option<String>) =
        raw.one("select status, stop_reason from enrollments where id = $1", args![a.active_enrollment]).await;
    assert_eq!((status.as_str(), reason.as_deref()), ("stopped", Some("contact_deleted")));
    let owner: (Option<i64>,) = raw.one("select owner_contact_id from community_groups where id = $1", args![a.group]).await;
    assert_eq!(owner.0, None, "the community group loses its owner");
}

both_backends!(async fn a_draft_workflow_does_nothing_when_its_tag_is_added(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let mut admin = app.admin().await;
    let mut user = app.user().await;

    let wf = create_workflow(&mut admin, NAME, TAG).await;
    let (name, status, trigger, actions, by): (String, String, Option<String>, String, Option<i64>) = f
        .raw
        .one("select name, status, trigger_tag, actions, activated_by_user_id from workflows where id = $1", args![wf])
        .await;
    assert_eq!((name.as_str(), status.as_str(), trigger.as_deref(), by), (NAME, "draft", Some(TAG), None));
    let actions: serde_json::Value = serde_json::from_str(&actions).unwrap();
    assert_eq!(actions, serde_json::json!([{ "kind": "delete_contact" }]), "one action; the blank rows are dropped");
    admin.get("/workflows").await.assert_status(200).assert_contains(NAME).assert_contains("draft");

    // W1: the tag added while the workflow is a draft queues nothing and deletes nothing
    tag_on_page(&mut user, ann, TAG).await;
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1 and tag = $2", args![ann, TAG]).await, 1);
    assert_eq!(f.raw.count("workflow_runs", "1 = 1", &[]).await, 0, "a draft queues no run");
    assert!(is_live(&f.raw, ann).await);

    // activated, the regular user's tag is refused (R1); the admin's confirmed tag
    // runs it for that contact only: the earlier one stays
    activate(&mut admin, wf).await;
    tag_on_page_refused(&mut user, &f.raw, bob, TAG).await;
    tag_on_page_confirmed(&mut admin, &f.raw, bob, TAG).await;
    eventually("Bobby to be deleted by the workflow", WAIT, || is_deleted(&f.raw, bob)).await;
    wait_runs_settled(&f.raw, wf, 1, WAIT).await;
    assert!(is_live(&f.raw, ann).await, "a tag added before activation does not run the workflow");
    assert_eq!(runs_of(&f.raw, wf).await.iter().map(|r| r.0).collect::<Vec<_>>(), vec![bob.0], "one run, for Bobby");
});

both_backends!(async fn a_test_run_deletes_exactly_the_chosen_contact(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.full_contact("Bobby", Some("bobby@example.test"), &[]).await;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", None, &[]).await;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    let a = ann.contact.to_string();

    // the picker finds the account's contacts only
    let picked = admin.get_htmx(&format!("/workflows/{wf}/contacts?q=annabel")).await;
    picked.assert_status(200).assert_contains("Annabel Tester").assert_contains(&format!("/workflows/{wf}/test?contact_id={a}"));
    admin.get_htmx(&format!("/workflows/{wf}/contacts?q=zedekiah")).await.assert_status(200).assert_contains("No contact matches.");

    // the preview says what will happen and asks for DELETE
    let preview = admin.get_htmx(&format!("/workflows/{wf}/test?contact_id={a}")).await;
    preview.assert_status(200).assert_contains("Test on Annabel Tester?");
    assert!(plain(&preview.body).contains("Type DELETE to confirm"), "the preview asks for DELETE: {}", preview.body);
    preview.assert_contains("1 note").assert_contains("1 active enrollment stops");
    admin.get_htmx(&format!("/workflows/{wf}/test?contact_id={theirs}")).await.assert_status(404);

    // refusals change nothing: no or a wrong confirmation, another account's contact,
    // a regular user
    let before = snapshot(&f.raw).await;
    for confirm in [None, Some(""), Some("delete"), Some("Delete"), Some("DELETE "), Some(" DELETE")] {
        let mut fields = vec![("contact_id", a.as_str())];
        if let Some(c) = confirm {
            fields.push(("confirm", c));
        }
        admin.post(&format!("/workflows/{wf}/test"), &fields).await.assert_status(400);
    }
    let t = theirs.to_string();
    admin.post(&format!("/workflows/{wf}/test"), &[("contact_id", &t), ("confirm", "DELETE")]).await.assert_status(404);
    admin.post(&format!("/workflows/{wf}/test"), &[("contact_id", "999999"), ("confirm", "DELETE")]).await.assert_status(404);
    admin.post(&format!("/workflows/{wf}/test"), &[("contact_id", "abc"), ("confirm", "DELETE")]).await.assert_status(400);
    let mut user = app.user().await;
    user.post(&format!("/workflows/{wf}/test"), &[("contact_id", &a), ("confirm", "DELETE")]).await.assert_status(403);
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(f.raw.count("workflow_runs", "1 = 1", &[]).await, 0);
    assert!(is_live(&f.raw, theirs).await);

    // W2: confirmed, it deletes Annabel (and only her) with R2's effects, at once
    let r = admin.post(&format!("/workflows/{wf}/test"), &[("contact_id", &a), ("confirm", "DELETE")]).await;
    r.assert_see_other(&format!("/workflows/{wf}"));
    let when = f.now().timestamp_millis();
    assert_eq!(deleted_by(&f.raw, ann.contact).await, (Some(when), Some(f.acc.admin.0), Some(wf)));
    assert_r2(&f.raw, &ann).await;
    assert!(is_live(&f.raw, bob.contact).await);
    assert_associated(&f.raw, bob.contact, 1).await;
    assert!(is_live(&f.raw, theirs).await);
    let batch = batch_of(&f.raw, ann.contact).await.expect("a deletion batch");
    assert_eq!(batch_row(&f.raw, batch).await, ("workflow".into(), Some(wf), Some(f.acc.admin.0), 1));
    // the run is recorded as a finished test run of this deletion
    assert_eq!(runs_of(&f.raw, wf).await, vec![(ann.contact.0, 1, "done".into(), Some(batch))]);
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].1.as_str(), events[0].2, events[0].4), ("workflow", 1, Some(batch)));
    // the workflow itself stays a draft
    assert_eq!(status_of(&f.raw, wf).await, "draft");

    // the page shows the result and the run (W2, W4)
    let page = admin.get(&format!("/workflows/{wf}")).await;
    page.assert_status(200).assert_contains("Test run: deleted 1").assert_contains("Annabel Tester");
    let history = page.text();
    let history = &history[history.find("Run history").expect("a run history")..];
    assert!(history.contains("Test") && history.contains("done"), "the run history lists the test: {history}");
    assert_eq!(crate::app::batch_in_page(&page.body), Some(batch), "the flash offers to restore this deletion");

    // testing it again on the deleted contact is a 404 and records nothing
    admin.post(&format!("/workflows/{wf}/test"), &[("contact_id", &a), ("confirm", "DELETE")]).await.assert_status(404);
    assert_eq!(runs_of(&f.raw, wf).await.len(), 1);
});

both_backends!(async fn only_an_admin_activates_a_workflow_that_deletes(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut admin = app.admin().await;
    let mut user = app.user().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;

    // a regular user sees no Activate button, and a forged request is refused
    let page = user.get(&format!("/workflows/{wf}")).await;
    page.assert_status(200)
        .assert_contains("only an admin can activate, pause, change or remove it")
        .assert_contains("only an admin can test it")
        .assert_not_contains("Activate</button>")
        .assert_not_contains("Remove</button>")
        .assert_not_contains("Save changes");
    let before = snapshot(&f.raw).await;
    user.post(&format!("/workflows/{wf}/status"), &[("status", "active")]).await.assert_status(403);
    assert_eq!(status_of(&f.raw, wf).await, "draft");
    assert_eq!(snapshot(&f.raw).await, before);
    assert!(audit_rows(&f.raw, f.acc.id, "workflow_activate").await.is_empty());
    let by: (Option<i64>,) = f.raw.one("select activated_by_user_id from workflows where id = $1", args![wf]).await;
    assert_eq!(by.0, None);
    // nor can a status be made up
    admin.post(&format!("/workflows/{wf}/status"), &[("status", "running")]).await.assert_status(400);
    assert_eq!(status_of(&f.raw, wf).await, "draft");

    // the admin activates it: recorded with who and when, and audited
    activate(&mut admin, wf).await;
    let (status, by, at): (String, Option<i64>, Option<i64>) =
        f.raw.one("select status, activated_by_user_id, activated_at from workflows where id = $1", args![wf]).await;
    assert_eq!((status.as_str(), by, at), ("active", Some(f.acc.admin.0), Some(f.now().timestamp_millis())));
    let events = audit_rows(&f.raw, f.acc.id, "workflow_activate").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (_, _, count, _, _, actor, description) = &events[0];
    assert_eq!((*count, *actor), (0, Some(f.acc.admin.0)));
    assert!(description.contains(TAG) && description.contains("Delete contact"), "{description}");
    admin.get(&format!("/workflows/{wf}")).await.assert_contains("Activated by Acme Admin").assert_contains("Pause");
    admin.get("/audit").await.assert_status(200).assert_contains("Workflow activated");

    // a regular user can neither pause, change nor remove the admin's deleting
    // workflow: 403, nothing changed, nothing audited
    let before = snapshot(&f.raw).await;
    let definition = || async { f.raw.one::<(String, String, Option<String>, String)>("select name, status, trigger_tag, actions from workflows where id = $1", args![wf]).await };
    let defined = definition().await;
    user.post(&format!("/workflows/{wf}/status"), &[("status", "paused")]).await.assert_status(403);
    user.post(&format!("/workflows/{wf}/status"), &[("status", "draft")]).await.assert_status(403);
    user.post(&format!("/workflows/{wf}"), &[("name", "Harmless"), ("trigger_tag", TAG), ("action", "add_tag"), ("action_tag", "X")])
        .await
        .assert_status(403);
    user.post(&format!("/workflows/{wf}/delete"), &[("confirm", "remove")]).await.assert_status(403);
    assert_eq!(definition().await, defined);
    assert_eq!(snapshot(&f.raw).await, before);
    for action in ["workflow_pause", "workflow_edit", "workflow_remove"] {
        assert!(audit_rows(&f.raw, f.acc.id, action).await.is_empty(), "{action}");
    }

    // the admin pauses it: audited
    admin.post(&format!("/workflows/{wf}/status"), &[("status", "paused")]).await.assert_see_other(&format!("/workflows/{wf}"));
    assert_eq!(status_of(&f.raw, wf).await, "paused");
    let paused = audit_rows(&f.raw, f.acc.id, "workflow_pause").await;
    assert_eq!((paused.len(), paused[0].5), (1, Some(f.acc.admin.0)));
    assert!(paused[0].6.contains("paused") && paused[0].6.contains(NAME), "{:?}", paused[0]);
    user.post(&format!("/workflows/{wf}/status"), &[("status", "active")]).await.assert_status(403);
    assert_eq!(status_of(&f.raw, wf).await, "paused");

    // removing asks for its dialog's confirmation, then removes it and its runs: audited
    f.raw
        .exec("insert into workflow_runs (account_id, workflow_id, contact_id, state, created_at) values ($1, $2, 0, 'done', 0)", args![f.acc.id, wf])
        .await;
    admin.get(&format!("/workflows/{wf}")).await.assert_contains("id=\"remove-dialog\"").assert_contains("name=\"confirm\" value=\"remove\"");
    admin.post(&format!("/workflows/{wf}/delete"), &[]).await.assert_status(400);
    assert_eq!(f.raw.count("workflows", "id = $1", args![wf]).await, 1);
    admin.post(&format!("/workflows/{wf}/delete"), &[("confirm", "remove")]).await.assert_see_other("/workflows");
    assert_eq!(f.raw.count("workflows", "id = $1", args![wf]).await, 0);
    assert_eq!(f.raw.count("workflow_runs", "workflow_id = $1", args![wf]).await, 0);
    let removed = audit_rows(&f.raw, f.acc.id, "workflow_remove").await;
    assert_eq!((removed.len(), removed[0].5), (1, Some(f.acc.admin.0)));
    assert!(removed[0].6.contains(NAME) && removed[0].6.contains("1 runs"), "{:?}", removed[0]);
    admin.get("/audit").await.assert_contains("Workflow removed").assert_contains("Workflow paused");
});

both_backends!(async fn a_regular_user_cannot_make_a_workflow_delete(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut user = app.user().await;
    let ann = f.contact("Annabel", None, &[]).await;
    // the user's own workflow, adding a tag: theirs to activate and edit
    let r = user
        .post("/workflows", &[("name", "Tagger"), ("trigger_tag", "Later"), ("action", "add_tag"), ("action_tag", "Seen")])
        .await;
    r.assert_status(303);
    let wf: i64 = r.location().and_then(|l| l.strip_prefix("/workflows/")).and_then(|i| i.parse().ok()).expect("the workflow");
    activate(&mut user, wf).await;
    // the race of the outside test: activate, then change the action to Delete
    // contact. Refused whatever the order; a deleting draft cannot be created either
    let before = snapshot(&f.raw).await;
    for status in ["draft", "active"] {
        f.raw.exec("update workflows set status = $1 where id = $2", args![status, wf]).await;
        user.post(&format!("/workflows/{wf}"), &[("name", "Tagger"), ("trigger_tag", "Later"), ("action", "delete_contact")]).await.assert_status(403);
        let actions: (String,) = f.raw.one("select actions from workflows where id = $1", args![wf]).await;
        assert!(!actions.0.contains("delete_contact"), "{}", actions.0);
    }
    user.post("/workflows", &[("name", "Sneaky"), ("trigger_tag", "Later"), ("action", "delete_contact")]).await.assert_status(403);
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(f.raw.count("workflows", "1 = 1", &[]).await, 1);

    // a run queued by a tag nobody confirmed never deletes, even if the workflow was
    // made to delete before it ran (by an admin, here straight in the database)
    f.raw.exec("update workflows set actions = $1 where id = $2", args![r#"[{"kind":"delete_contact"}]"#, wf]).await;
    f.raw
        .exec(
            "insert into workflow_runs (account_id, workflow_id, contact_id, created_at, triggered_by_user_id, delete_confirmed) values ($1, $2, $3, 0, $4, 0)",
            args![f.acc.id, wf, ann, f.acc.user],
        )
        .await;
    wait_runs_settled(&f.raw, wf, 1, WAIT).await;
    let (state, error): (String, Option<String>) = f.raw.one("select state, error from workflow_runs where workflow_id = $1", args![wf]).await;
    assert_eq!(state, "failed");
    assert!(error.unwrap_or_default().contains("without an admin's DELETE confirmation"));
    assert!(is_live(&f.raw, ann).await);
});

both_backends!(async fn a_tag_that_starts_a_deleting_workflow_through_another_one_needs_an_admin(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let mut admin = app.admin().await;
    let mut user = app.user().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    // a harmless-looking workflow of the user's: "Bounced" adds "Unsubscribed"
    let r = user.post("/workflows", &[("name", "Bounce handling"), ("trigger_tag", "Bounced"), ("action", "add_tag"), ("action_tag", TAG)]).await;
    let chain: i64 = r.location().and_then(|l| l.strip_prefix("/workflows/")).and_then(|i| i.parse().ok()).expect("the workflow");
    activate(&mut user, chain).await;

    // tagging "Bounced" would delete through the chain: refused for the user, by the
    // tag, by its test run, by import; nothing changes
    let before = snapshot(&f.raw).await;
    let r = user.post(&format!("/contacts/{ann}/tags"), &[("tag_name", "Bounced")]).await;
    r.assert_status(403);
    assert!(plain(&r.body).contains("Adding “Bounced” runs “Remove unsubscribed”, which deletes 1 contact."), "{}", r.body);
    let a = ann.to_string();
    user.post(&format!("/workflows/{chain}/test"), &[("contact_id", &a)]).await.assert_status(403);
    let csv = format!("name,email,tags\nBo Unce,bo@example.test,Bounced\n");
    import(&mut user, csv.as_bytes()).await.assert_status(403);
    assert_eq!(snapshot(&f.raw).await, before);

    // the admin confirms: both workflows run, the deletion names the admin as trigger
    tag_on_page_confirmed(&mut admin, &f.raw, ann, "Bounced").await;
    eventually("Annabel to be deleted through the chain", WAIT, || is_deleted(&f.raw, ann)).await;
    let batch = batch_of(&f.raw, ann).await.expect("a batch");
    let t: (Option<i64>, Option<i64>) = f.raw.one("select workflow_id, triggered_by_user_id from deletion_batches where id = $1", args![batch]).await;
    assert_eq!(t, (Some(wf), Some(f.acc.admin.0)));
});

both_backends!(async fn an_active_workflow_deletes_a_contact_tagged_on_its_page(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.full_contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    f.advance(Duration::minutes(1));

    // a regular user may not start the deletion; the admin tags Annabel and confirms:
    // the workflow deletes her on behalf of the admin who activated it
    let mut user = app.user().await;
    tag_on_page_refused(&mut user, &f.raw, ann.contact, TAG).await;
    tag_on_page_confirmed(&mut admin, &f.raw, ann.contact, TAG).await;
    eventually("Annabel to be deleted by the workflow", WAIT, || is_deleted(&f.raw, ann.contact)).await;
    wait_runs_settled(&f.raw, wf, 1, WAIT).await;

    let (at, by, by_wf) = deleted_by(&f.raw, ann.contact).await;
    assert_eq!((at, by, by_wf), (Some(f.now().timestamp_millis()), Some(f.acc.admin.0), Some(wf)));
    assert_r2(&f.raw, &ann).await;
    assert!(is_live(&f.raw, bob.contact).await);
    assert_associated(&f.raw, bob.contact, 1).await;
    let batch = batch_of(&f.raw, ann.contact).await.expect("a deletion batch");
    assert_eq!(batch_row(&f.raw, batch).await, ("workflow".into(), Some(wf), Some(f.acc.admin.0), 1));
    assert_eq!(runs_of(&f.raw, wf).await, vec![(ann.contact.0, 0, "done".into(), Some(batch))]);
    // R7: audited in the workflow channel, for the activating admin, with the batch
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (_, channel, count, reason, ev_batch, actor, _) = &events[0];
    assert_eq!((channel.as_str(), *count, *ev_batch, *actor), ("workflow", 1, Some(batch), Some(f.acc.admin.0)));
    assert_eq!(reason.as_deref(), Some("Workflow “Remove unsubscribed”"));
    // the deletion and its audit event name who added the tag
    let triggered: (Option<i64>,) = f.raw.one("select triggered_by_user_id from deletion_batches where id = $1", args![batch]).await;
    assert_eq!(triggered.0, Some(f.acc.admin.0));
    let triggered: (Option<i64>,) = f.raw.one("select triggered_by_user_id from audit_events where batch_id = $1", args![batch]).await;
    assert_eq!(triggered.0, Some(f.acc.admin.0));

    // R3: gone from the list and, for a regular user, from its page
    let list = user.get("/contacts").await;
    list.assert_status(200).assert_not_contains("Annabel Tester").assert_contains("Bobby Tester");
    user.get(&format!("/contacts/{}", ann.contact)).await.assert_status(404);
    // an admin opening it sees who deleted it, when, and Restore
    let gone = admin.get(&format!("/contacts/{}", ann.contact)).await;
    gone.assert_status(200)
        .assert_contains("This contact was deleted")
        .assert_contains("Workflow “Remove unsubscribed” on behalf of Acme Admin")
        .assert_contains("Acme Admin, by adding the workflow's tag")
        .assert_contains(&format!("action=\"/batches/{batch}/restore\""))
        .assert_contains("Restore Annabel Tester");

    // the audit log, the Restore page and the run history say who did it
    let by_whom = "Workflow “Remove unsubscribed” on behalf of Acme Admin";
    admin.get("/audit").await.assert_status(200).assert_contains(&format!("{by_whom}, triggered by Acme Admin"));
    let restore = admin.get("/contacts/restore").await;
    restore.assert_status(200).assert_contains("Annabel Tester").assert_contains(by_whom).assert_not_contains("Bobby Tester");
    let page = admin.get(&format!("/workflows/{wf}")).await;
    page.assert_status(200).assert_contains("Trigger").assert_contains("Annabel Tester").assert_contains("Deleted 1");
    // the one-click restore of that batch brings her back (R12)
    admin.post(&format!("/batches/{batch}/restore"), &[]).await.assert_status(303);
    assert!(is_live(&f.raw, ann.contact).await);
});

both_backends!(async fn bulk_add_tag_on_a_thousand_contacts_deletes_all_of_them(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let seeded = f.repo.seed_contacts(f.acc.id, 1000, &[f.acc.admin, f.acc.user]).await.expect("seed").contacts;
    assert_eq!(seeded, 1000);
    f.repo.seed_contacts(app.b.id, 20, &[app.b.admin]).await.expect("seed B");
    // B has a workflow on the same tag, never triggered by A's tagging
    let b_wf = {
        let mut b = app.admin_b().await;
        let id = create_workflow(&mut b, "B's clean-up", TAG).await;
        activate(&mut b, id).await;
        id
    };
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    let seeded_ids = f.raw.ids("select id from contacts where account_id = $1 order by id", args![f.acc.id]).await;
    assert_eq!(seeded_ids.len(), 1000);

    // "select all" on the list as the user saw it; two contacts are added afterwards
    let mut user = app.user().await;
    let page = user.get("/contacts").await;
    let as_of = crate::app::attr_values(&page.body, "data-as-of").into_iter().next().expect("the page's as_of");
    f.advance(Duration::minutes(1));
    let later = [f.contact("Latecomer", None, &[]).await, f.contact("Newcomer", None, &[]).await];
    let all = [("select_all", "true"), ("as_of", as_of.as_str()), ("q", ""), ("tag", ""), ("tag_name", TAG)];
    // the attack: a regular user's select-all tag would delete the account. Refused,
    // nothing tagged, queued or deleted, whatever confirmation it sends (R1)
    let before = snapshot(&f.raw).await;
    for confirm in ["", "DELETE"] {
        let r = user.post("/contacts/tags", &[&all[..], &[("confirm", confirm)]].concat()).await;
        r.assert_status(403);
        assert!(plain(&r.body).contains("Adding “Unsubscribed” runs “Remove unsubscribed”, which deletes 1,000 contacts."), "{}", r.body);
        assert_eq!(snapshot(&f.raw).await, before);
    }
    // an admin is asked for the typed DELETE first (htmx: the dialog's form); a wrong
    // word is refused; neither changes anything (R5)
    let asked = admin.post_htmx("/contacts/tags", &all).await;
    asked.assert_status(409).assert_contains("id=\"tag-confirm-form\"").assert_contains("which deletes 1,000 contacts");
    assert!(asked.body.contains("/contacts/export.csv?select_all=true"), "the dialog links to the export of the same selection");
    admin.post("/contacts/tags", &[&all[..], &[("confirm", "delete")]].concat()).await.assert_status(400);
    assert_eq!(snapshot(&f.raw).await, before);
    let r = admin.post("/contacts/tags", &[&all[..], &[("confirm", "DELETE")]].concat()).await;
    r.assert_see_other("/contacts");
    assert_eq!(f.raw.count("workflow_runs", "workflow_id = $1", args![wf]).await, 1000, "one run queued per tagged contact");

    wait_runs_settled(&f.raw, wf, 1000, WAIT_BULK).await;
    eventually("the 1,000 contacts to be deleted", WAIT, || async { live_count(&f.raw, f.acc.id).await == 2 }).await;

    // all 1,000 deleted by the workflow for the admin, with their data; nothing else
    assert_eq!(
        f.raw
            .count("contacts", "account_id = $1 and deleted_at is not null and deleted_by_workflow_id = $2 and deleted_by_user_id = $3", args![f.acc.id, wf, f.acc.admin])
            .await,
        1000
    );
    for id in later {
        assert!(is_live(&f.raw, id).await);
    }
    assert_eq!(live_count(&f.raw, app.b.id).await, 20, "B's contacts are untouched");
    assert_eq!(f.raw.count("workflow_runs", "workflow_id = $1", args![b_wf]).await, 0);
    for table in REMOVED_KINDS {
        let left = f
            .raw
            .count(table, "contact_id in (select id from contacts where account_id = $1 and deleted_at is not null)", args![f.acc.id])
            .await;
        assert_eq!(left, 0, "{table} rows of deleted contacts");
    }
    assert_eq!(
        f.raw
            .count("enrollments", "status = 'active' and contact_id in (select id from contacts where account_id = $1 and deleted_at is not null)", args![f.acc.id])
            .await,
        0
    );
    // every run done, each pointing at the batch that deleted its contact
    let runs = runs_of(&f.raw, wf).await;
    assert_eq!(runs.len(), 1000);
    assert!(runs.iter().all(|r| r.1 == 0 && r.2 == "done" && r.3.is_some()), "every run done with a batch");
    let mut run_contacts: Vec<i64> = runs.iter().map(|r| r.0).collect();
    run_contacts.sort_unstable();
    assert_eq!(run_contacts, seeded_ids);
    let mismatched = f
        .raw
        .count("workflow_runs r", "r.workflow_id = $1 and r.batch_id <> (select c.deletion_batch_id from contacts c where c.id = r.contact_id)", args![wf])
        .await;
    assert_eq!(mismatched, 0, "each run records its contact's batch");
    // the batches: workflow channel, summing to 1,000, each audited
    let batches: Vec<(String, Option<i64>, i64)> =
        f.raw.all("select channel, workflow_id, deleted_count from deletion_batches where account_id = $1", args![f.acc.id]).await;
    assert!(batches.iter().all(|b| b.0 == "workflow" && b.1 == Some(wf)), "{batches:?}");
    assert_eq!(batches.iter().map(|b| b.2).sum::<i64>(), 1000);
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), batches.len());
    assert!(events.iter().all(|e| e.1 == "workflow" && e.5 == Some(f.acc.admin.0)));
    assert_eq!(events.iter().map(|e| e.2).sum::<i64>(), 1000);
});

/// `POST /contacts/import` with `bytes` as the `file` field, the CSRF token as the
/// first part of the body, as the import form sends it.
async fn import(c: &mut Client, bytes: &[u8]) -> Resp {
    import_confirmed(c, bytes, None).await
}

/// The same, with the form's typed confirmation.
async fn import_confirmed(c: &mut Client, bytes: &[u8], confirm: Option<&str>) -> Resp {
    let token = c.token().await;
    let boundary = "----contacts-admin-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n").as_bytes());
    if let Some(confirm) = confirm {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"confirm\"\r\n\r\n{confirm}\r\n").as_bytes());
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    multipart(c, "/contacts/import", None, boundary, body).await
}

/// POSTs a multipart `body`, with `token` in the `X-CSRF-Token` header when given.
async fn multipart(c: &mut Client, path: &str, token: Option<&str>, boundary: &str, body: Vec<u8>) -> Resp {
    let mut req = c.http.post(c.url(path)).header("Content-Type", format!("multipart/form-data; boundary={boundary}"));
    if let Some(t) = token {
        req = req.header("X-CSRF-Token", t);
    }
    let res = req
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("the response body");
    Resp { status, headers, body }
}

both_backends!(async fn a_csv_import_with_the_tag_deletes_the_imported_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let keep = f.contact("Existing", Some("existing@example.test"), &[]).await;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    f.advance(Duration::minutes(1));

    let csv = "first_name,last_name,email,tags\n\
               Una,Subscribed,una@example.test,Unsubscribed\n\
               Ulla,Gone,ulla@example.test,Newsletter;Unsubscribed\n\
               Stay,Here,stay@example.test,Newsletter\n\
               Bad,Email,not-an-email,Unsubscribed\n\
               Dup,Licate,existing@example.test,Unsubscribed\n\
               Uri,Later,uri@example.test,Webinar|Unsubscribed\n";
    // a regular user's import would delete: refused whole, nothing imported (R1)
    let before = snapshot(&f.raw).await;
    let mut user = app.user().await;
    let r = import(&mut user, csv.as_bytes()).await;
    r.assert_status(403);
    assert!(plain(&r.body).contains("Adding “Unsubscribed” runs “Remove unsubscribed”, which deletes 4 contacts."), "{}", r.body);
    assert_eq!(snapshot(&f.raw).await, before);
    // an admin is asked for DELETE; a wrong word is refused; nothing imported
    let r = import(&mut admin, csv.as_bytes()).await;
    r.assert_status(409).assert_contains("name=\"confirm\"").assert_contains("nothing was imported");
    import_confirmed(&mut admin, csv.as_bytes(), Some("Delete")).await.assert_status(400);
    assert_eq!(snapshot(&f.raw).await, before);
    let r = import_confirmed(&mut admin, csv.as_bytes(), Some("DELETE")).await;
    r.assert_status(200);
    let report = plain(&r.body);
    assert!(report.contains("4 created") && report.contains("1 skipped") && report.contains("1 rejected"), "the report: {report}");

    let imported = |email: &'static str| async move {
        ContactId(f.raw.i64("select id from contacts where account_id = $1 and email = $2", args![f.acc.id, email]).await)
    };
    let tagged = [imported("una@example.test").await, imported("ulla@example.test").await, imported("uri@example.test").await];
    let stay = imported("stay@example.test").await;
    for id in tagged {
        eventually(&format!("imported contact {id} to be deleted"), WAIT, || is_deleted(&f.raw, id)).await;
    }
    wait_runs_settled(&f.raw, wf, 3, WAIT).await;
    for id in tagged {
        assert_eq!(deleted_by(&f.raw, id).await.1, Some(f.acc.admin.0), "deleted for the activating admin");
        assert_eq!(batch_row(&f.raw, batch_of(&f.raw, id).await.unwrap()).await.0, "workflow");
    }
    assert!(is_live(&f.raw, stay).await, "a contact imported without the tag stays");
    assert!(is_live(&f.raw, keep).await, "the existing contact whose email a row reused stays");
    assert_eq!(f.raw.count("contacts", "email = 'not-an-email'", &[]).await, 0);
    let mut ran: Vec<i64> = runs_of(&f.raw, wf).await.iter().map(|r| r.0).collect();
    ran.sort_unstable();
    let mut expected: Vec<i64> = tagged.iter().map(|c| c.0).collect();
    expected.sort_unstable();
    assert_eq!(ran, expected, "one run per imported contact that carried the tag");
});

both_backends!(async fn a_malformed_csv_never_gives_a_server_error(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    let before = snapshot(&f.raw).await;

    // binary garbage: a PNG-like header, NULs, invalid UTF-8
    let mut garbage: Vec<u8> = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("binary garbage", garbage),
        ("no usable column", b"foo,bar,baz\n1,2,3\n".to_vec()),
        ("only a header of unknown columns", b"phone_number_2;city\n".to_vec()),
        ("invalid UTF-8 in the header", b"first_\xff\xfename,email\nAnn,ann@example.test\n".to_vec()),
        ("a lone byte-order mark", b"\xef\xbb\xbf".to_vec()),
        ("empty file", Vec::new()),
    ];
    for (what, bytes) in refused {
        let r = import(&mut admin, &bytes).await;
        assert!((400..500).contains(&r.status), "{what}: expected a 4xx, got {}:\n{}", r.status, r.body);
        assert_eq!(snapshot(&f.raw).await, before, "{what}: nothing changed");
    }

    // a file with a header but bad rows: a report that rejects them, never a 500
    let mut rows: Vec<u8> = b"name,email,tags\n".to_vec();
    rows.extend_from_slice(b"Good Row,good@example.test,Unsubscribed\n");
    rows.extend_from_slice(b"Bad \xff\xfe Bytes,bytes@example.test,Unsubscribed\n");
    rows.extend_from_slice(b"Too,many,fields,here,and,more\n");
    rows.extend_from_slice(b"No Email Really,@@,Unsubscribed\n");
    rows.extend_from_slice(format!("Long Tag,long@example.test,{}\n", "t".repeat(300)).as_bytes());
    rows.extend_from_slice(b",,\n");
    rows.extend_from_slice(b"\x00\x00\x00,\x00,\x00\n");
    rows.extend_from_slice(b"\"Unclosed quote,broken@example.test,Unsubscribed\n");
    let r = import(&mut admin, &rows).await;
    assert!(r.status == 200 || (400..500).contains(&r.status), "bad rows: got {}:\n{}", r.status, r.body);
    if r.status == 200 {
        assert!(r.text().contains("rejected"), "the report lists rejected rows: {}", r.text());
    }
    assert!(f.raw.count("contacts", "email in ('long@example.test', 'bytes@example.test')", &[]).await == 0);

    // a multipart body that is not one, and no file field at all
    let token = admin.token().await;
    let r = multipart(&mut admin, "/contacts/import", Some(&token), "xyz", b"garbage without boundaries".to_vec()).await;
    assert!((400..500).contains(&r.status), "a broken multipart body: {}:\n{}", r.status, r.body);
    let body = b"--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nvalue\r\n--xyz--\r\n".to_vec();
    let r = multipart(&mut admin, "/contacts/import", Some(&token), "xyz", body).await;
    r.assert_status(400).assert_contains("Choose a CSV file");
    // without the token
    let body = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nname\r\nEve\r\n--xyz--\r\n".to_vec();
    multipart(&mut admin, "/contacts/import", None, "xyz", body.clone()).await.assert_status(403);
    // nor in the query string, where it would end up in logs and history
    multipart(&mut admin, &format!("/contacts/import?csrf_token={token}"), None, "xyz", body).await.assert_status(403);
    assert_eq!(f.raw.count("contacts", "first_name = 'Eve'", &[]).await, 0);
    // whatever the worker does with the good row, no run fails
    wait_runs_settled(&f.raw, wf, 0, WAIT).await;
    assert_eq!(f.raw.count("workflow_runs", "state = 'failed'", &[]).await, 0);
});

both_backends!(async fn a_paused_workflow_does_nothing_when_its_tag_is_added(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    admin.post(&format!("/workflows/{wf}/status"), &[("status", "paused")]).await.assert_see_other(&format!("/workflows/{wf}"));
    assert_eq!(status_of(&f.raw, wf).await, "paused");
    admin.get(&format!("/workflows/{wf}")).await.assert_contains("paused").assert_contains("Activate");

    // paused, it starts nothing: anyone may add the tag
    let mut user = app.user().await;
    tag_on_page(&mut user, ann, TAG).await;
    assert_eq!(f.raw.count("workflow_runs", "1 = 1", &[]).await, 0, "a paused workflow queues no run");
    assert!(is_live(&f.raw, ann).await);

    // a bulk tag while paused queues nothing either
    let b = bob.to_string();
    user.post("/contacts/tags", &[("ids", &b), ("tag_name", TAG)]).await.assert_see_other("/contacts");
    assert_eq!(f.raw.count("workflow_runs", "1 = 1", &[]).await, 0);

    // reactivated, it acts on tags added from then on, not on those added while paused
    activate(&mut admin, wf).await;
    let cara = f.contact("Carabel", None, &[]).await;
    tag_on_page_confirmed(&mut admin, &f.raw, cara, TAG).await;
    eventually("Carabel to be deleted", WAIT, || is_deleted(&f.raw, cara)).await;
    wait_runs_settled(&f.raw, wf, 1, WAIT).await;
    assert!(is_live(&f.raw, ann).await && is_live(&f.raw, bob).await, "tags added while paused never run it");

    // runs queued while active but not yet run when it is paused are skipped
    let dan = f.contact("Dan", None, &[]).await;
    let eve = f.contact("Eve", None, &[]).await;
    f.raw
        .exec(
            "insert into workflow_runs (account_id, workflow_id, contact_id, created_at, triggered_by_user_id, delete_confirmed)
             values ($1, $2, $3, $4, $6, 1), ($1, $2, $5, $4, $6, 1)",
            args![f.acc.id, wf, dan, f.now().timestamp_millis(), eve, f.acc.admin],
        )
        .await;
    // paused in the same breath; if the worker was faster, the runs are done instead
    admin.post(&format!("/workflows/{wf}/status"), &[("status", "paused")]).await.assert_status(303);
    wait_runs_settled(&f.raw, wf, 3, WAIT).await;
    let states: Vec<(i64, String)> = f.raw.all("select contact_id, state from workflow_runs where contact_id in ($1, $2)", args![dan, eve]).await;
    for (contact, state) in states {
        let deleted = is_deleted(&f.raw, ContactId(contact)).await;
        assert!((state == "skipped" && !deleted) || (state == "done" && deleted), "contact {contact}: run {state}, deleted {deleted}");
    }
});

/// A server on its own runtime (its own thread), so stopping it stops its background
/// worker too, as a process exit would.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(f: &Fixture) -> Server {
        let settings = Settings {
            database_url: f.db.url.clone(),
            bind: "127.0.0.1:0".into(),
            session_key: Some(SESSION_KEY.into()),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            purge_interval_secs: 0,
            bulk: Default::default(),
            webhooks: Default::default(),
            clock: Arc::new(f.clock.clone()),
        };
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
            rt.block_on(async move {
                let app = Application::build(settings).await.expect("build the application");
                port_tx.send(app.port()).expect("report the port");
                tokio::select! {
                    r = app.run_until_stopped() => r.expect("the server"),
                    _ = stop_rx => {}
                }
            });
            // dropping the runtime ends the server and its workflow worker
            rt.shutdown_timeout(std::time::Duration::from_secs(10));
        });
        let port = port_rx.recv().expect("the server's port");
        Server { base: format!("http://127.0.0.1:{port}"), stop: Some(stop_tx), thread: Some(thread) }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            tokio::task::spawn_blocking(move || t.join().expect("the server thread")).await.unwrap();
        }
    }
}

both_backends!(async fn a_run_queued_before_a_restart_completes_after_it(db: TestDb) {
    let f = Fixture::new(db).await;
    let ann = f.full_contact("Annabel", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let cara = f.contact("Carabel", None, &[]).await;

    // first server: the admin creates and activates the workflow, then it stops
    let server = Server::start(&f);
    let mut admin = Client::new(&server.base);
    admin.login(&f.acc.admin_email, TEST_PASSWORD).await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    activate(&mut admin, wf).await;
    let base = server.base.clone();
    server.stop().await;
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err(), "the first server is gone");

    // while no server runs: Annabel is tagged (the run is queued in the tag's
    // transaction), and Bobby's run was claimed by a server that died with it
    f.advance(Duration::minutes(1));
    let tag = TagName::parse(TAG).unwrap();
    f.repo.add_tag(f.acc.id, &Selection::ids(vec![ann.contact]).unwrap(), &tag, f.acc.admin_confirmed()).await.expect("tag Annabel");
    f.repo.add_tag(f.acc.id, &Selection::ids(vec![bob]).unwrap(), &tag, f.acc.admin_confirmed()).await.expect("tag Bobby");
    f.raw
        .exec(
            "update workflow_runs set state = 'running', claimed_by = 'crashed-server', claim_until = $1 where contact_id = $2",
            args![f.now().timestamp_millis() + 120_000, bob],
        )
        .await;
    assert_eq!(pending_runs(&f.raw, wf).await, 2);
    assert!(is_live(&f.raw, ann.contact).await && is_live(&f.raw, bob).await);
    // the dead server's lease runs out while it is down
    f.advance(Duration::minutes(5));

    // a fresh server on the same database finishes both
    let server = Server::start(&f);
    eventually("the queued runs to complete after the restart", WAIT, || async { pending_runs(&f.raw, wf).await == 0 }).await;
    assert!(is_deleted(&f.raw, ann.contact).await && is_deleted(&f.raw, bob).await);
    assert_r2(&f.raw, &ann).await;
    assert!(is_live(&f.raw, cara).await);
    let runs = runs_of(&f.raw, wf).await;
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.2 == "done" && r.3.is_some()), "{runs:?}");
    assert_eq!(deleted_by(&f.raw, ann.contact).await.1, Some(f.acc.admin.0));
    let mut admin = Client::new(&server.base);
    admin.login(&f.acc.admin_email, TEST_PASSWORD).await;
    admin.get("/contacts/restore").await.assert_contains("Workflow “Remove unsubscribed” on behalf of Acme Admin");
    server.stop().await;
});

both_backends!(async fn another_accounts_workflow_is_not_found_on_every_route(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, NAME, TAG).await;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", None, &[]).await;
    let mut b = app.admin_b().await;
    let before = snapshot(&f.raw).await;
    let row = || async {
        f.raw
            .one::<(String, String, Option<String>, String)>("select name, status, trigger_tag, actions from workflows where id = $1", args![wf])
            .await
    };
    let original = row().await;

    let (a, t) = (ann.to_string(), theirs.to_string());
    let p = |s: &str| format!("/workflows/{wf}{s}");
    for r in [
        b.get(&p("")).await,
        b.get_htmx(&p("/contacts?q=ann")).await,
        b.get_htmx(&p(&format!("/test?contact_id={a}"))).await,
        b.get_htmx(&p(&format!("/test?contact_id={t}"))).await,
        b.post(&p(""), &[("name", "Hijacked"), ("trigger_tag", "VIP"), ("action", "delete_contact"), ("action_tag", "")]).await,
        b.post(&p("/status"), &[("status", "active")]).await,
        b.post(&p("/status"), &[("status", "paused")]).await,
        b.post(&p("/test"), &[("contact_id", &a), ("confirm", "DELETE")]).await,
        b.post(&p("/test"), &[("contact_id", &t), ("confirm", "DELETE")]).await,
        b.post(&p("/delete"), &[]).await,
    ] {
        r.assert_status(404);
        assert!(!r.text().contains(NAME), "B learns nothing of A's workflow: {}", r.body);
    }
    b.get("/workflows").await.assert_status(200).assert_not_contains(NAME);
    assert_eq!(row().await, original);
    assert_eq!(snapshot(&f.raw).await, before);
    assert!(is_live(&f.raw, ann).await && is_live(&f.raw, theirs).await);
    assert_eq!(f.raw.count("workflow_runs", "1 = 1", &[]).await, 0);
    // unparsable and unknown ids too
    for id in ["abc", "0", "-1", "99999999", "1%20or%201=1"] {
        admin.get(&format!("/workflows/{id}")).await.assert_status(404);
        admin.post(&format!("/workflows/{id}/status"), &[("status", "active")]).await.assert_status(404);
    }
    // and A's admin still has it
    admin.get(&p("")).await.assert_status(200).assert_contains(NAME);
});
