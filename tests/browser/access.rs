//! What a regular user sees (R1, R11, U3, U6): no delete and no restore controls.

use crate::harness::{setup, SEEDED};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regular_user_sees_no_delete_and_no_restore() {
    let Some((app, ui)) = setup("a_regular_user_sees_no_delete_and_no_restore", SEEDED).await else { return };
    ui.login(&app.acc.user_email).await;
    assert!(ui.text(".topbar").await.contains("Acme User"));

    let id = ui.row_ids().await[0];
    ui.tick(id).await;
    ui.wait_selected("1").await;
    assert!(!ui.exists("#bulk-delete").await, "no Delete button for a regular user");
    assert!(!ui.exists("#delete-dialog").await, "no delete modal in the page");
    assert!(ui.text("#bulk-bar").await.contains("Export CSV"), "the other bulk actions remain");

    ui.click("summary.menu-toggle").await;
    ui.wait_until("document.querySelector('details.menu').open", "the contacts menu to open").await;
    assert!(!ui.exists(".menu-list a[href='/contacts/restore']").await, "no Restore menu item");
    assert!(!ui.exists("a[href='/contacts/restore']").await, "no link to the Restore page anywhere");
    assert!(ui.text(".menu-list").await.contains("Export all contacts"));

    // and the Restore page itself is refused
    ui.goto("/contacts/restore").await;
    assert!(!ui.exists("#restore-form").await, "the Restore page is not shown to a regular user");
    assert!(ui.eval::<String>("document.body.innerText").await.contains("Only admins"));
    assert_eq!(app.live_count().await, SEEDED);
    ui.close().await;
}
