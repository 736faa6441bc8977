//! Signing in, the row and page checkboxes, and "select all in account" with an
//! exclusion (U1, U2, U3, R6).

use crate::harness::{setup, SEEDED};
use crate::support::create_contact;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_lands_on_the_contacts_list() {
    let Some((app, ui)) = setup("signing_in_lands_on_the_contacts_list", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;

    assert_eq!(ui.eval::<String>("location.pathname").await, "/contacts");
    let rows = ui.row_ids().await;
    assert_eq!(rows.len(), 50, "the first page shows 50 of the {SEEDED} contacts");
    assert_eq!(ui.text("#contact-total").await, "120 contacts in this account");
    assert!(ui.text(".pager").await.contains("50 shown of 120 contacts"), "pager: {}", ui.text(".pager").await);
    // every row has a checkbox, the header has the page checkbox, nothing is selected yet
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('tbody tr[data-id] .row-check').length").await, 50);
    assert!(ui.exists("#select-page").await);
    assert!(ui.eval::<bool>("document.getElementById('bulk-bar').hidden").await, "no bulk bar before a selection");
    assert!(ui.eval::<bool>("document.getElementById('selection-banner').hidden").await);
    // the rows are this account's contacts, newest first
    let live = app.live_ids().await;
    assert!(rows.iter().all(|id| live.contains(id)));
    ui.screenshot("contacts-list").await;
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_checkbox_selects_the_page_and_turns_indeterminate() {
    let Some((app, ui)) = setup("the_header_checkbox_selects_the_page_and_turns_indeterminate", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;

    ui.click("#select-page").await;
    ui.wait_selected("50").await;
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('.row-check:checked').length").await, 50);
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('tr.selected').length").await, 50);
    assert!(ui.eval::<bool>("document.getElementById('select-page').checked").await);
    assert!(!ui.eval::<bool>("document.getElementById('select-page').indeterminate").await);

    let second = ui.row_ids().await[1];
    ui.tick(second).await;
    ui.wait_selected("49").await;
    assert!(ui.eval::<bool>("document.getElementById('select-page').indeterminate").await, "some rows ticked: indeterminate");
    assert!(!ui.eval::<bool>("document.getElementById('select-page').checked").await);
    assert!(!ui.eval::<bool>(&format!("document.querySelector(\"tr[data-id='{second}'] .row-check\").checked")).await);
    // the whole page is no longer selected: no offer to select the whole account
    assert!(ui.eval::<bool>("document.getElementById('selection-banner').hidden").await);

    // unticking the header clears the page
    ui.click("#select-page").await; // indeterminate → checked (all)
    ui.wait_selected("50").await;
    ui.click("#select-page").await;
    ui.wait_until("document.getElementById('bulk-bar').hidden", "the bulk bar to hide").await;
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('.row-check:checked').length").await, 0);
    assert!(!ui.eval::<bool>("document.getElementById('select-page').indeterminate").await);
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_all_in_account_minus_one_deletes_only_what_matched_when_confirmed() {
    let Some((app, ui)) = setup("select_all_in_account_minus_one_deletes_only_what_matched_when_confirmed", SEEDED).await else {
        return;
    };
    ui.login(&app.acc.admin_email).await;

    ui.click("#select-page").await;
    ui.wait_selected("50").await;
    ui.wait_until("!document.getElementById('selection-banner').hidden", "the selection banner").await;
    assert_eq!(ui.text("#banner-text").await, "All 50 contacts on this page are selected.");
    assert_eq!(ui.text("#banner-select-all").await, "Select all 120 contacts in this account");

    ui.click("#banner-select-all").await;
    ui.wait_text("#banner-text", "All 120 contacts in this account are selected").await;
    ui.wait_selected("120").await;
    assert!(ui.eval::<bool>("document.getElementById('banner-select-all').hidden").await);
    assert!(ui.eval::<bool>("!document.getElementById('banner-clear').hidden").await, "Clear selection is offered");
    ui.screenshot("select-all-banner").await;

    let kept = ui.row_ids().await[2];
    ui.tick(kept).await;
    ui.wait_selected("119").await;
    ui.wait_text("#banner-text", "119 of 120 contacts in this account are selected").await;

    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    assert_eq!(ui.text("#delete-title").await, "Delete 119 contacts?");
    assert_eq!(ui.text("#delete-submit .when-idle").await, "Delete 119 contacts");
    assert!(ui.text("#delete-everything").await.is_empty(), "one contact is left: not everything");
    // the selection travels as filter + as_of + exclusions, never as a list of ids
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('#delete-form input[name=ids]').length").await, 0);
    assert_eq!(
        ui.eval::<Vec<String>>("Array.from(document.querySelectorAll('#delete-form input[name=exclude]')).map(function(i){ return i.value; })")
            .await,
        vec![kept.to_string()]
    );

    // someone adds a contact while the modal is open (R6: it must survive)
    let late = create_contact(&app.repo, app.acc.id, "Latecomer", Some("late@example.test"), &[]).await.0;

    ui.type_into("#delete-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the delete button to unlock").await;
    ui.click("#delete-submit").await;
    ui.wait_text("#alerts", "Deleted 119 contacts").await;
    ui.wait_until("!document.getElementById('delete-dialog').open", "the modal to close").await;

    let mut expected = vec![kept, late];
    expected.sort();
    assert_eq!(app.live_ids().await, expected, "only the unticked contact and the one created after confirming remain");
    assert_eq!(app.deleted_count().await, 119);
    // the list refreshed itself: the two survivors
    ui.wait_until("document.querySelectorAll('.row-check').length === 2", "the list to show the 2 remaining contacts").await;
    ui.wait_text("#contact-total", "2 contacts in this account").await;
    assert!(ui.eval::<bool>("document.getElementById('bulk-bar').hidden").await, "the selection was cleared");
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_common_search_shows_its_rows_first_then_its_exact_count_for_select_all() {
    // every seeded contact's phone number holds "555": more matches than the page counts
    let Some((_app, ui)) = setup("a_common_search_shows_its_rows_first_then_its_exact_count_for_select_all", 1_050).await else {
        return;
    };
    ui.login(&_app.acc.admin_email).await;
    ui.goto("/contacts?q=555").await;

    // the exact count arrives after the rows and replaces "Counting the contacts…"
    ui.wait_text("#contact-total", "1,050 contacts match this search").await;
    assert!(ui.text(".pager").await.contains("50 shown of 1,050 contacts"), "pager: {}", ui.text(".pager").await);
    assert_eq!(ui.row_ids().await.len(), 50);

    ui.click("#select-page").await;
    ui.wait_selected("50").await;
    ui.wait_until("!document.getElementById('selection-banner').hidden", "the selection banner").await;
    assert_eq!(ui.text("#banner-select-all").await, "Select all 1,050 contacts matching this search");
    ui.click("#banner-select-all").await;
    ui.wait_text("#banner-text", "All 1,050 contacts matching this search are selected").await;
    ui.wait_selected("1,050").await;
    ui.screenshot("search-select-all").await;

    // a new search is a new selection, with its own count
    ui.type_into("#q", "zzz-no-such-contact").await;
    ui.wait_text("#results", "No contacts match this search.").await;
    assert_eq!(ui.text("#contact-total").await, "0 contacts match this search");
    assert!(ui.eval::<bool>("document.getElementById('bulk-bar').hidden").await, "the selection was cleared");
    ui.close().await;
}
