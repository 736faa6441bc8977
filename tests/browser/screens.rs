//! Every screen and dialog state at a desktop width (1366 px) and a phone width (375 px):
//! axe-core (WCAG 2.1 A and AA) reports no violation, nothing is wider than the window,
//! and a screenshot of each goes to `target/test-artifacts/screens-<width>-<name>.png`.

use crate::harness::{setup, TestApp, Ui, DESKTOP, PHONE, SEEDED};
use contacts_admin::domain::{
    Actor, ApiKeyName, ApiKeySecret, ContactId, DeleteConfirmation, Role, Selection, TagName, WebhookEvents, WebhookUrl, WorkflowAction, WorkflowDraft, WorkflowStatus,
};

/// A webhook endpoint, a deletion of three contacts (Restore, the deleted contact's page,
/// the audit log, the endpoint's delivery log) and a workflow that deletes, so that every
/// page has something to show.
async fn history(app: &TestApp) -> (ContactId, i64, i64) {
    let url = WebhookUrl::parse("https://hooks.example.com/contacts").unwrap();
    let events = WebhookEvents::parse(["contact.deleted", "deletion.finished"]).unwrap();
    let hook = app.repo.create_webhook_endpoint(app.acc.id, app.acc.admin, &url, &events, "s3cret").await.expect("a webhook endpoint");
    let key = ApiKeySecret::generate("ab".repeat(32));
    app.repo.create_api_key(app.acc.id, app.acc.admin, &ApiKeyName::parse("Nightly sync").unwrap(), Role::User, &key).await.expect("an API key");
    let ids = app.live_ids().await;
    let gone: Vec<ContactId> = ids[..3].iter().map(|i| ContactId(*i)).collect();
    let confirmed = DeleteConfirmation::parse("DELETE").unwrap();
    app.repo
        .delete_contacts(app.acc.id, Actor::ui(app.acc.admin), &Selection::Ids(gone.clone()), Some("Duplicates"), confirmed)
        .await
        .expect("delete three contacts");
    let draft = WorkflowDraft {
        name: "Remove unsubscribed".into(),
        trigger_tag: TagName::parse("Unsubscribed").unwrap(),
        actions: vec![WorkflowAction::DeleteContact],
    };
    let wf = app.repo.create_workflow(app.acc.id, &draft, Role::Admin).await.expect("a workflow");
    app.repo.set_workflow_status(app.acc.id, wf, WorkflowStatus::Active, app.acc.admin, Role::Admin).await.expect("activate it");
    (gone[0], wf.0, hook)
}

/// Checks the page as it is now: no axe-core violation, no sideways scrolling, and a
/// screenshot.
async fn check(ui: &Ui, width: u32, name: &str) {
    ui.wait_loaded().await;
    let overflow: i64 = ui.eval("document.documentElement.scrollWidth - window.innerWidth").await;
    if overflow > 0 {
        let wide: String = ui
            .eval(
                "Array.from(document.querySelectorAll('body *')).filter(function (e) { var r = e.getBoundingClientRect(); if (r.right <= window.innerWidth + 1) return false; \
                 for (var p = e.parentElement; p; p = p.parentElement) { var o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return false; } return true; })\
                 .slice(0, 5).map(function (e) { return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className; }).join(', ')",
            )
            .await;
        ui.fail(&format!("{name} at {width} px is {overflow} px wider than the window: {wide}")).await;
    }
    // nor does any button or link stick out on either side (a row of buttons pushed off
    // to the left makes no scroll bar)
    let cut: String = ui
        .eval(
            "Array.from(document.querySelectorAll('button, a.btn, input, select')).filter(function (e) { var r = e.getBoundingClientRect(); \
             if (r.width === 0 || e.closest('.visually-hidden') || e.closest('dialog:not([open])')) return false; \
             for (var p = e.parentElement; p; p = p.parentElement) { var o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return false; } \
             return r.left < -1 || r.right > window.innerWidth + 1; }).map(function (e) { return e.tagName.toLowerCase() + '#' + e.id + ' ' + e.textContent.trim().slice(0, 40); }).join(', ')",
        )
        .await;
    if !cut.is_empty() {
        ui.fail(&format!("{name} at {width} px has controls cut off at the edge: {cut}")).await;
    }
    ui.screenshot(&format!("screens-{width}-{name}")).await;
    ui.assert_accessible(&format!("{name} at {width} px")).await;
}

async fn every_screen(test: &'static str, size: (u32, u32)) {
    let Some((app, ui)) = setup(test, SEEDED).await else { return };
    let (deleted, workflow, hook) = history(&app).await;
    let w = size.0;
    ui.set_viewport(size).await;

    ui.goto("/login").await;
    check(&ui, w, "login").await;
    ui.login(&app.acc.admin_email).await;
    check(&ui, w, "contacts").await;

    if w < 900 {
        // the sidebar is behind the Menu button; it opens, reaches every page, closes
        assert!(!ui.eval::<bool>("getComputedStyle(document.getElementById('sidebar')).display !== 'none'").await, "the sidebar is hidden at {w} px");
        ui.click("#menu-button").await;
        ui.wait_until("getComputedStyle(document.getElementById('sidebar')).display !== 'none'", "the menu to open").await;
        assert_eq!(ui.eval::<String>("document.getElementById('menu-button').getAttribute('aria-expanded')").await, "true");
        check(&ui, w, "menu-open").await;
        ui.press("Escape").await;
        ui.wait_until("getComputedStyle(document.getElementById('sidebar')).display === 'none'", "the menu to close").await;
        ui.wait_focus("menu-button", "the focus back on the Menu button").await;
    } else {
        assert!(!ui.eval::<bool>("getComputedStyle(document.getElementById('menu-button')).display !== 'none'").await, "no Menu button at {w} px");
    }

    // the selection bar and the select-all banner, then the dialog that deletes everything
    ui.click("#select-page").await;
    ui.wait_until("!document.getElementById('bulk-bar').hidden", "the bulk bar").await;
    check(&ui, w, "contacts-selected").await;
    ui.click("#banner-select-all").await;
    ui.wait_until("document.getElementById('bulk-count').textContent.indexOf('117') >= 0", "all 117 selected").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    check(&ui, w, "delete-everything-dialog").await;
    ui.press("Escape").await;
    ui.wait_until("!document.querySelector('dialog#delete-dialog[open]')", "the dialog to close").await;

    let first = app.live_ids().await[0];
    for (name, path) in [
        ("contact", format!("/contacts/{first}")),
        ("contact-new", "/contacts/new".into()),
        ("import", "/contacts/import".into()),
        ("restore", "/contacts/restore".into()),
        ("contact-deleted", format!("/contacts/{}", deleted.0)),
        ("audit", "/audit".into()),
        ("bulk-actions", "/bulk-actions".into()),
        ("workflows", "/workflows".into()),
        ("workflow", format!("/workflows/{workflow}")),
        ("workflow-new", "/workflows/new".into()),
        ("webhooks", "/webhooks".into()),
        ("webhook-deliveries", format!("/webhooks/{hook}")),
        ("api-keys", "/api-keys".into()),
        ("not-found", "/contacts/999999999".into()),
    ] {
        ui.goto(&path).await;
        check(&ui, w, name).await;
    }

    // a new API key is shown once, in full
    ui.goto("/api-keys").await;
    ui.type_into("#api-key-name", "Zapier").await;
    ui.click("#api-key-role-admin").await;
    ui.click("form[action='/api-keys'] button[type=submit]").await;
    ui.wait_text("#api-key-secret", "ca_").await;
    check(&ui, w, "api-key-created").await;

    // the contact page's own delete dialog names the contact
    ui.goto(&format!("/contacts/{first}")).await;
    let name = ui.text("h1").await;
    ui.click("#contact-delete").await;
    ui.wait_dialog_open().await;
    assert_eq!(ui.text("#delete-title").await, format!("Delete {name}?"));
    check(&ui, w, "contact-delete-dialog").await;
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_accessible_at_desktop_width() {
    every_screen("every_screen_is_accessible_at_desktop_width", DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_accessible_at_phone_width() {
    every_screen("every_screen_is_accessible_at_phone_width", PHONE).await;
}
