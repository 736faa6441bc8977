//! Backup before deleting in the browser: "Export full record" on the contact page and
//! in the bulk bar asks for the ZIP of exactly the selected contacts, and the delete
//! dialog's "download first" links name the same selection as the deletion itself.

use crate::harness::{setup, Ui, DESKTOP, PHONE, SEEDED};
use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
use futures::StreamExt;
use std::time::Duration;

/// The query pairs of a URL or path, sorted.
fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    pairs.sort();
    pairs
}

/// The selection the open delete dialog will delete: its hidden fields but the origin.
async fn dialog_selection(ui: &Ui) -> Vec<(String, String)> {
    let fields: Vec<(String, String)> = ui
        .eval(
            "Array.from(document.querySelectorAll('#delete-form input[type=hidden]')).filter(function (i) { return i.name !== 'origin' && i.name !== 'csrf_token'; })\
             .map(function (i) { return [i.name, i.value]; })",
        )
        .await;
    let mut fields = fields;
    fields.sort();
    fields
}

async fn attr(ui: &Ui, selector: &str, name: &str) -> String {
    ui.eval(&format!("document.querySelector({}).getAttribute({})", crate::harness::js_str(selector), crate::harness::js_str(name))).await
}

/// Clicks `selector` and returns the URL of the export the page asks for.
async fn export_requested_by(ui: &Ui, selector: &str) -> String {
    let mut requests = ui.page.event_listener::<EventRequestWillBeSent>().await.expect("listen to requests");
    ui.click(selector).await;
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(ev) = requests.next().await {
            if ev.request.url.contains("/contacts/export.zip") {
                return ev.request.url.clone();
            }
        }
        String::new()
    })
    .await;
    match found {
        Ok(url) if !url.is_empty() => url,
        _ => ui.fail(&format!("clicking {selector} asked for no full record export")).await,
    }
}

/// Status and content type of a GET made by the page itself (with its session).
async fn fetch_head(ui: &Ui, path: &str) -> (u16, String) {
    let js = format!(
        "fetch({}).then(function (r) {{ return r.arrayBuffer().then(function () {{ return [r.status, r.headers.get('content-type') || '']; }}); }})",
        crate::harness::js_str(path)
    );
    let params = chromiumoxide::cdp::js_protocol::runtime::EvaluateParams::builder().expression(js).await_promise(true).build().unwrap();
    let res = ui.page.evaluate_expression(params).await.expect("fetch from the page");
    let v: (u16, String) = serde_json::from_value(res.value().cloned().unwrap_or_default()).expect("status and type");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_page_exports_the_full_record_and_its_delete_dialog_links_to_it() {
    let Some((app, ui)) = setup("the_contact_page_exports_the_full_record_and_its_delete_dialog_links_to_it", SEEDED).await else { return };
    // a contact with an attached file, so the dialog lists it among the warnings
    let (id,): (i64,) = app
        .raw
        .one("select min(c.id) from contacts c join files f on f.contact_id = c.id where c.deleted_at is null", &[])
        .await;
    ui.login(&app.acc.admin_email).await;
    for (size, name) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        ui.set_viewport(size).await;
        ui.goto(&format!("/contacts/{id}")).await;
        ui.wait_loaded().await;
        let expected = format!("/contacts/export.zip?ids={id}");
        assert_eq!(attr(&ui, "#contact-export-record", "href").await, expected);
        assert_eq!(ui.text("#contact-export-record").await, "Export full record");
        // the browser's own session gets the archive
        assert_eq!(fetch_head(&ui, &expected).await, (200, "application/zip".to_string()));
        let overflow: i64 = ui.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow <= 0, "the contact page scrolls sideways by {overflow} px ({name})");
        ui.screenshot(&format!("record-export-contact-page-{name}")).await;

        ui.click("#contact-delete").await;
        ui.wait_dialog_open().await;
        assert_eq!(dialog_selection(&ui).await, vec![("ids".to_string(), id.to_string())]);
        assert_eq!(attr(&ui, "#delete-export-record", "href").await, expected);
        assert_eq!(attr(&ui, ".delete-export-files", "href").await, expected, "the files warning links to the same record");
        assert!(ui.text(".checklist").await.contains("download it first if you need it"), "{}", ui.text(".checklist").await);
        ui.assert_accessible(&format!("contact delete dialog ({name})")).await;
        ui.screenshot(&format!("record-export-contact-dialog-{name}")).await;
        ui.click("#delete-cancel").await;
    }
    assert!(!app.is_deleted(id).await, "looking at the dialog deletes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_bar_exports_the_full_record_of_the_selection_the_dialog_deletes() {
    let Some((app, ui)) = setup("the_bulk_bar_exports_the_full_record_of_the_selection_the_dialog_deletes", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;
    ui.set_viewport(DESKTOP).await;
    let rows = ui.row_ids().await;
    let (a, b) = (rows[0], rows[1]);

    // two ticked rows
    ui.tick(a).await;
    ui.tick(b).await;
    ui.wait_selected("2").await;
    assert_eq!(ui.text("#bulk-export-record").await, "Export full record");
    let url = export_requested_by(&ui, "#bulk-export-record").await;
    let mut ids = vec![("ids".to_string(), a.to_string()), ("ids".to_string(), b.to_string())];
    ids.sort();
    assert_eq!(query_pairs(&url), ids, "{url}");
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    assert_eq!(dialog_selection(&ui).await, ids);
    assert_eq!(query_pairs(&attr(&ui, "#delete-export-record", "href").await), ids);
    ui.click("#delete-cancel").await;

    // every contact matching the list, one unticked
    ui.goto("/contacts").await;
    ui.wait_loaded().await;
    ui.click("#select-page").await;
    ui.click("#banner-select-all").await;
    ui.wait_selected(&SEEDED.to_string()).await;
    ui.tick(b).await;
    ui.wait_selected(&(SEEDED - 1).to_string()).await;
    let url = export_requested_by(&ui, "#bulk-export-record").await;
    let asked = query_pairs(&url);
    assert!(asked.contains(&("select_all".into(), "true".into())) && asked.contains(&("exclude".into(), b.to_string())), "{url}");
    assert!(asked.iter().any(|(k, _)| k == "as_of"), "the moment the list was shown: {url}");
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    let deleting = dialog_selection(&ui).await;
    let link = query_pairs(&attr(&ui, "#delete-export-record", "href").await);
    assert_eq!(link, deleting, "the dialog's link names what the dialog deletes");
    assert_eq!(query_pairs(&attr(&ui, ".delete-export-files", "href").await), deleting);
    // and what the bulk bar exported: the same contacts as of the same moment
    let without_as_of = |p: &[(String, String)]| p.iter().filter(|(k, _)| k != "as_of").cloned().collect::<Vec<_>>();
    assert_eq!(without_as_of(&link), without_as_of(&asked));
    let moment = |p: &[(String, String)]| {
        let v = &p.iter().find(|(k, _)| k == "as_of").expect("as_of").1;
        chrono::DateTime::parse_from_rfc3339(v).unwrap_or_else(|e| panic!("as_of {v}: {e}"))
    };
    assert_eq!(moment(&link), moment(&asked));
    ui.assert_accessible("bulk delete dialog with the full record link").await;
    ui.screenshot("record-export-bulk-dialog-desktop").await;
    ui.click("#delete-cancel").await;

    ui.set_viewport(PHONE).await;
    ui.wait_until("!document.getElementById('bulk-bar').hidden", "the bulk bar on a phone").await;
    ui.assert_accessible("bulk bar with Export full record (phone)").await;
    ui.screenshot("record-export-bulk-bar-phone").await;
    assert_eq!(app.live_count().await, SEEDED, "nothing deleted");
}
