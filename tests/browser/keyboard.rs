//! The delete flow with the keyboard alone: Tab, Space, Shift+Tab, Enter, typing.

use crate::harness::{setup, SEEDED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_delete_flow_works_by_keyboard() {
    let Some((app, ui)) = setup("the_whole_delete_flow_works_by_keyboard", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;
    let first = ui.row_ids().await[0];

    // from the search box, Tab forward to the first row's checkbox
    ui.eval::<serde_json::Value>("document.getElementById('q').focus()").await;
    assert_eq!(ui.eval::<String>("document.activeElement.id").await, "q");
    let mut presses = 0;
    while !ui.eval::<bool>("document.activeElement.classList.contains('row-check')").await {
        presses += 1;
        if presses > 8 {
            ui.fail(&format!("Tab never reached a row checkbox; focus is on {}", ui.focused().await)).await;
        }
        ui.press("Tab").await;
    }
    assert_eq!(ui.eval::<String>("document.activeElement.value").await, first.to_string(), "the first row comes first");

    ui.press(" ").await;
    ui.wait_selected("1").await;
    assert!(ui.eval::<bool>("document.activeElement.checked").await);

    // the bulk bar sits above the table: Shift+Tab back to its Delete button
    let mut presses = 0;
    while ui.eval::<String>("document.activeElement.id").await != "bulk-delete" {
        presses += 1;
        if presses > 20 {
            ui.fail(&format!("Shift+Tab never reached Delete; focus is on {}", ui.focused().await)).await;
        }
        ui.shift_tab().await;
    }
    ui.press("Enter").await;
    ui.wait_dialog_open().await;
    ui.wait_focus("delete-confirm", "focus in the confirmation field").await;
    // one contact: the dialog names it
    let name = ui.text(&format!("tr[data-id='{first}'] .contact-link")).await;
    assert_eq!(ui.text("#delete-title").await, format!("Delete {name}?"));

    // Enter before the text reads DELETE does nothing
    ui.type_keys("DELET").await;
    ui.press("Enter").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(ui.eval::<bool>("document.getElementById('delete-dialog').open").await);
    assert!(!app.is_deleted(first).await);

    ui.type_keys("E").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the button to unlock").await;
    ui.press("Enter").await;
    ui.wait_text("#alerts", "Deleted 1 contact").await;
    ui.wait_until("!document.getElementById('delete-dialog').open", "the modal to close").await;
    ui.wait_until(&format!("!document.querySelector(\"tr[data-id='{first}']\")"), "the row to leave the list").await;
    assert!(app.is_deleted(first).await);
    assert_eq!(app.live_count().await, SEEDED - 1);
    // the keyboard user is not dropped at the top of the document: focus is on the message
    ui.wait_focus("alerts", "focus on the result message").await;
    ui.close().await;
}
