//! The delete modal: counts, warnings, the typed DELETE (U3, U4, U5, R5), and Esc.

use crate::harness::{setup, SEEDED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_two_ticked_rows_through_the_modal() {
    let Some((app, ui)) = setup("deleting_two_ticked_rows_through_the_modal", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;
    ui.eval::<i64>("window.__marker = 1").await;

    let rows = ui.row_ids().await;
    let (a, b) = (rows[0], rows[3]);
    ui.tick(a).await;
    ui.wait_selected("1").await;
    ui.tick(b).await;
    ui.wait_selected("2").await;
    assert!(ui.exists("#bulk-delete").await, "admins see Delete");
    assert!(ui.text("#bulk-bar").await.contains("Export CSV"));
    assert!(ui.exists("#bulk-tag-form").await, "Add tag is offered");

    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    assert_eq!(ui.text("#delete-title").await, "Delete 2 contacts?");
    let body = ui.text("#delete-form").await;
    for needle in [
        "conversations",
        "notes",
        "tasks",
        "appointments",
        "opportunities",
        "cannot be recovered, even if you restore",
        "restored for 60 days",
        "Before you delete",
        "open opportunit",
        "upcoming appointment",
        "attached file",
        "active campaign or workflow enrollment",
        "worked on in the last 7 days",
        "Type DELETE to confirm",
    ] {
        assert!(body.contains(needle), "the modal mentions “{needle}”: {body}");
    }
    assert!(ui.eval::<i64>("document.querySelectorAll('.checklist li').length").await >= 4, "the pre-delete warnings are listed");
    assert_eq!(ui.eval::<String>("document.activeElement.id").await, "delete-confirm", "focus lands in the confirmation field");
    assert!(ui.submit_disabled().await, "disabled before typing");
    ui.screenshot("delete-modal").await;

    ui.type_into("#delete-confirm", "delete").await;
    assert_eq!(ui.eval::<String>("document.getElementById('delete-confirm').value").await, "delete");
    assert!(ui.submit_disabled().await, "“delete” does not unlock the button");
    for _ in 0.."delete".len() {
        ui.press("Backspace").await;
    }
    ui.type_keys("DELETE ").await;
    assert!(ui.submit_disabled().await, "“DELETE ” does not unlock the button");
    ui.press("Backspace").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "“DELETE” to unlock the button").await;
    ui.screenshot("delete-modal-armed").await;

    ui.click("#delete-submit").await;
    ui.wait_text("#alerts", "Deleted 2 contacts").await;
    assert!(ui.text("#alerts").await.contains("restore them for 60 days"), "the alert says how to undo: {}", ui.text("#alerts").await);
    assert!(ui.exists("#alerts form[action$='/restore'] button").await, "the alert offers to restore this deletion");
    ui.wait_until("!document.getElementById('delete-dialog').open", "the modal to close").await;
    ui.wait_until(
        &format!("!document.querySelector(\"tr[data-id='{a}']\") && !document.querySelector(\"tr[data-id='{b}']\")"),
        "the deleted rows to leave the list",
    )
    .await;
    assert_eq!(ui.eval::<i64>("window.__marker").await, 1, "no full page reload");
    ui.wait_text("#contact-total", "118 contacts in this account").await;
    assert!(ui.eval::<bool>("document.getElementById('bulk-bar').hidden").await, "the selection was cleared");

    assert!(app.is_deleted(a).await && app.is_deleted(b).await, "both contacts are deleted in the database");
    assert_eq!(app.live_count().await, SEEDED - 2);
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_closes_the_modal_and_deletes_nothing() {
    let Some((app, ui)) = setup("escape_closes_the_modal_and_deletes_nothing", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;

    let id = ui.row_ids().await[0];
    ui.tick(id).await;
    ui.wait_selected("1").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    let name = ui.text(&format!("tr[data-id='{id}'] .contact-link")).await;
    assert_eq!(ui.text("#delete-title").await, format!("Delete {name}?"));
    ui.type_into("#delete-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the button to unlock").await;

    ui.press("Escape").await;
    ui.wait_until("!document.getElementById('delete-dialog').open", "Esc to close the modal").await;
    ui.wait_until("document.getElementById('delete-dialog-body').innerHTML === ''", "the modal body to be discarded").await;
    assert_eq!(ui.eval::<String>("document.activeElement.id").await, "bulk-delete", "focus returns to the Delete button");
    // nothing was sent: the contact is live, the selection is kept
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.live_count().await, SEEDED);
    assert!(!app.is_deleted(id).await);
    assert_eq!(ui.text("#bulk-count").await, "1 selected");
    assert!(ui.exists(&format!("tr[data-id='{id}']")).await);
    ui.close().await;
}
