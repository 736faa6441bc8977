//! Automations → Workflows in the browser (W1–W4): the seed's workflow built through
//! the pages, tested on one contact through the picker and the typed-DELETE dialog,
//! activated, then run by a tag added on another contact's page.

use crate::harness::{js_str, setup, SEEDED};
use std::time::{Duration, Instant};

const NAME: &str = "Remove unsubscribed contacts";

/// The contact's name and email as the pages show them.
async fn name_and_email(app: &crate::harness::TestApp, id: i64) -> (String, String) {
    let (first, last, email): (String, String, String) =
        app.raw.one("select first_name, last_name, email from contacts where id = $1", crate::args![id]).await;
    (format!("{first} {last}"), email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_is_built_tested_activated_and_run_by_a_tag() {
    let test = "a_workflow_is_built_tested_activated_and_run_by_a_tag";
    let Some((app, ui)) = setup(test, SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;
    let rows = ui.row_ids().await;
    let (tested, tagged) = (rows[2], rows[5]);
    let (tested_name, tested_email) = name_and_email(&app, tested).await;
    let (tagged_name, tagged_email) = name_and_email(&app, tagged).await;

    // W1: Automations → Workflows → New workflow, saved as a draft
    ui.click("nav a[href='/workflows']").await;
    ui.wait_until("location.pathname === '/workflows' && document.readyState === 'complete'", "the Workflows page").await;
    assert!(ui.text("main").await.contains("No workflows yet"));
    ui.click(".page-head a[href='/workflows/new']").await;
    ui.wait_until("location.pathname === '/workflows/new' && document.getElementById('wf-name')", "the New workflow form").await;
    ui.type_into("#wf-name", NAME).await;
    ui.type_into("#wf-trigger", "Unsubscribed").await;
    let options: Vec<String> = ui.eval("Array.from(document.querySelectorAll('#action-1 option')).map(function(o){ return o.textContent; })").await;
    assert!(options.iter().any(|o| o == "Delete contact"), "step 1 offers Delete contact: {options:?}");
    ui.eval::<bool>("(function(){ var s = document.getElementById('action-1'); s.value = 'delete_contact'; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
        .await;
    ui.click("form[action='/workflows'] button[type=submit]").await;
    ui.wait_until("/^\\/workflows\\/\\d+$/.test(location.pathname) && document.readyState === 'complete'", "the new workflow's page").await;
    let wf: i64 = ui.eval("parseInt(location.pathname.split('/')[2], 10)").await;
    ui.wait_text("#alerts", "saved as a draft").await;
    assert_eq!(ui.text("h1 .badge").await, "draft");
    assert!(ui.text(".page-head").await.contains("Delete contact"), "the page states the action");
    let (status, trigger): (String, String) = app.raw.one("select status, trigger_tag from workflows where id = $1", crate::args![wf]).await;
    assert_eq!((status.as_str(), trigger.as_str()), ("draft", "Unsubscribed"));
    ui.screenshot("workflow-draft").await;

    // W2: find a contact in the picker, open the test dialog, type DELETE, run it
    ui.type_into("#picker-q", &tested_email).await;
    let test_button = format!("#picker-results button[hx-get='/workflows/{wf}/test?contact_id={tested}']");
    ui.wait_until(&format!("document.querySelector({})", js_str(&test_button)), "the picker to list the contact").await;
    assert!(ui.text("#picker-results").await.contains(&tested_name));
    ui.click(&test_button).await;
    ui.wait_until("document.querySelector('dialog#test-dialog[open] form[data-dialog]')", "the test dialog to open").await;
    assert_eq!(ui.text("#test-title").await, format!("Test on {tested_name}?"));
    let dialog = ui.text("#test-dialog").await;
    for needle in ["This deletes the contact for real", "cannot be recovered", "restored for 60 days", "Type DELETE to confirm"] {
        assert!(dialog.contains(needle), "the dialog says “{needle}”: {dialog}");
    }
    assert_eq!(ui.eval::<String>("document.activeElement.id").await, "test-confirm", "focus lands in the confirmation field");
    assert!(ui.eval::<bool>("document.getElementById('test-submit').disabled").await, "disabled before typing");
    ui.type_keys("Delete").await;
    assert!(ui.eval::<bool>("document.getElementById('test-submit').disabled").await, "“Delete” does not unlock it");
    for _ in 0.."Delete".len() {
        ui.press("Backspace").await;
    }
    ui.type_keys("DELETE").await;
    ui.wait_until("!document.getElementById('test-submit').disabled", "“DELETE” to unlock Run test").await;
    ui.screenshot("workflow-test-dialog").await;
    ui.click("#test-submit").await;
    ui.wait_until(
        "document.readyState === 'complete' && !document.querySelector('dialog#test-dialog[open]') && /Test run: deleted 1/.test(document.getElementById('alerts').textContent)",
        "the test run's result",
    )
    .await;
    assert!(app.is_deleted(tested).await, "the tested contact is deleted in the database");
    let run: (i64, String) = app.raw.one("select test_run, state from workflow_runs where workflow_id = $1", crate::args![wf]).await;
    assert_eq!(run, (1, "done".to_string()));
    assert!(ui.text("#runs-h + table").await.contains(&tested_name), "the run history lists the test");
    assert_eq!(ui.text("h1 .badge").await, "draft", "a test does not activate the workflow");

    // W3: activate
    ui.click(&format!("form[action='/workflows/{wf}/status'] button[type=submit]")).await;
    ui.wait_until("document.readyState === 'complete' && document.querySelector('h1 .badge-status-active')", "the workflow to be active").await;
    assert!(ui.text(".page-head").await.contains("Activated by Acme Admin"));

    // a tag added on another contact's page deletes that contact, once the admin has
    // read what it starts and typed DELETE
    ui.goto(&format!("/contacts/{tagged}")).await;
    ui.type_into("#add-tag", "Unsubscribed").await;
    ui.click(&format!("form[action='/contacts/{tagged}/tags'] button[type=submit]")).await;
    ui.wait_until("document.readyState === 'complete' && !!document.getElementById('tag-confirm')", "the typed-DELETE form of a tag that deletes").await;
    assert!(ui.text("#tag-confirm-form").await.contains("runs “Remove unsubscribed contacts”, which deletes 1 contact"));
    assert!(!app.is_deleted(tagged).await, "nothing happens before the confirmation");
    ui.type_into("#tag-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('tag-confirm-submit').disabled", "“DELETE” to unlock the button").await;
    ui.click("#tag-confirm-submit").await;
    let start = Instant::now();
    while !app.is_deleted(tagged).await {
        if start.elapsed() > Duration::from_secs(20) {
            ui.fail("timed out waiting for the workflow to delete the tagged contact").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // gone from the list and from search
    ui.goto("/contacts").await;
    ui.wait_until("document.querySelectorAll('tr[data-id]').length > 0", "the rows").await;
    assert!(!ui.exists(&format!("tr[data-id='{tagged}']")).await && !ui.exists(&format!("tr[data-id='{tested}']")).await);
    assert_eq!(ui.text("#contact-total").await, format!("{} contacts in this account", SEEDED - 2));
    ui.goto(&format!("/contacts?q={tagged_email}")).await;
    assert!(!ui.exists(&format!("tr[data-id='{tagged}']")).await, "search does not find it");

    // on the Restore page, deleted by the workflow on behalf of the admin
    ui.goto("/contacts/restore").await;
    for (id, name) in [(tagged, &tagged_name), (tested, &tested_name)] {
        let sel = format!(".restore-check[value='{id}']");
        ui.wait_until(&format!("document.querySelector({})", js_str(&sel)), "the deleted contact's row").await;
        let row: String = ui.eval(&format!("document.querySelector({}).closest('tr').innerText", js_str(&sel))).await;
        assert!(row.contains(name.as_str()), "the row names the contact: {row}");
        assert!(row.contains(&format!("Workflow “{NAME}” on behalf of Acme Admin")), "the row says the workflow deleted it: {row}");
    }
    ui.screenshot("workflow-restore").await;

    // the run history shows both runs
    ui.goto(&format!("/workflows/{wf}")).await;
    let history = ui.text("#runs-h + table").await;
    assert!(history.contains("Trigger") && history.contains("Test") && history.contains(&tagged_name), "{history}");
    ui.eval::<bool>("(function(){ document.querySelector('.page-head').scrollIntoView(); return true; })()").await;
    ui.screenshot("workflow-active").await;
    ui.eval::<bool>("(function(){ document.getElementById('runs-h').scrollIntoView(); return true; })()").await;
    ui.screenshot("workflow-run-history").await;
    ui.close().await;
}
