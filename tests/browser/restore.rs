//! Restoring a deleted contact from the menu beside Add contact (U6, R8, R11), and the
//! audit log that records both (R7).

use crate::harness::{setup, SEEDED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_contact_comes_back_from_the_restore_page() {
    let Some((app, ui)) = setup("a_deleted_contact_comes_back_from_the_restore_page", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;

    let id = ui.row_ids().await[1];
    let name = ui.text(&format!("tr[data-id='{id}'] .contact-link")).await;
    ui.tick(id).await;
    ui.wait_selected("1").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    ui.type_into("#delete-reason", "Duplicate record").await;
    ui.type_into("#delete-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the button to unlock").await;
    ui.click("#delete-submit").await;
    ui.wait_text("#alerts", "Deleted 1 contact").await;
    assert!(app.is_deleted(id).await);

    ui.click("summary.menu-toggle").await;
    ui.wait_until("document.querySelector('details.menu').open", "the contacts menu to open").await;
    assert_eq!(ui.text(".menu-list a[href='/contacts/restore']").await, "Restore deleted contacts");
    ui.click(".menu-list a[href='/contacts/restore']").await;
    ui.wait_until("location.pathname === '/contacts/restore' && document.readyState === 'complete'", "the Restore page").await;
    ui.wait_until(&format!("document.querySelector(\".restore-check[value='{id}']\")"), "the deleted contact's row").await;
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('.restore-check').length").await, 1);
    let row = ui.eval::<String>(&format!("document.querySelector(\".restore-check[value='{id}']\").closest('tr').innerText")).await;
    assert!(row.contains(&name), "the row names the contact: {row}");
    assert!(row.contains("Acme Admin"), "the row says who deleted it: {row}");
    assert!(row.contains("60 days left"), "the row says how long is left, rounded up: {row}");
    assert!(ui.eval::<bool>("document.getElementById('restore-submit').disabled").await);
    ui.screenshot("restore-page").await;

    ui.click(&format!(".restore-check[value='{id}']")).await;
    ui.wait_until("!document.getElementById('restore-submit').disabled", "Restore selected to unlock").await;
    assert_eq!(ui.text("#restore-count").await, "1 selected");
    ui.click("#restore-submit").await;
    ui.wait_until("document.readyState === 'complete' && /Restored 1 contact/.test(document.body.innerText)", "the restore message")
        .await;
    assert!(!app.is_deleted(id).await, "the contact is live again in the database");

    ui.goto("/contacts").await;
    ui.wait_until(&format!("document.querySelector(\"tr[data-id='{id}']\")"), "the restored contact in the list").await;
    assert_eq!(ui.text("#contact-total").await, "120 contacts in this account");

    ui.goto("/audit").await;
    let audit = ui.text("main").await;
    assert!(audit.contains("Duplicate record"), "the deletion's reason is in the audit log: {audit}");
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('main tbody tr').length").await, 2, "a deletion and a restore: {audit}");
    ui.screenshot("audit-log").await;
    ui.close().await;
}
