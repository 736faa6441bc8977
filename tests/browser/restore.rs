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
    assert_eq!(ui.text("#restore-submit").await, "Restore 1 contact", "the button counts in the singular");
    ui.click("#restore-submit").await;
    let message = format!("{name} was restored.");
    ui.wait_until(
        &format!("document.readyState === 'complete' && document.body.innerText.indexOf({}) >= 0", crate::harness::js_str(&message)),
        "the restore message naming the contact",
    )
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

/// The Restore page as the article describes it (U6, U2 on the Restore page): filter by
/// deletion, "Locate the deleted contact and click Restore" on its row, then select all
/// N matching, untick one, and restore the rest; the database says what came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restore_page_filters_restores_a_row_and_restores_all_matching_but_one() {
    use contacts_admin::domain::{Actor, ContactId, DeleteConfirmation, NewContact, Selection, TagAuthority};
    let Some((app, ui)) = setup("the_restore_page_filters_restores_a_row_and_restores_all_matching_but_one", 0).await else { return };
    let mut first = Vec::new();
    for n in 0..55 {
        let c = NewContact::parse(&format!("Pat{n:02}"), "Lopez", &format!("pat{n}@example.test"), "", "").unwrap();
        first.push(app.repo.create_contact(app.acc.id, &c, TagAuthority::chained(None, true)).await.unwrap());
    }
    let mut second = Vec::new();
    for n in 0..3 {
        let c = NewContact::parse(&format!("Other{n}"), "Chen", &format!("other{n}@example.test"), "", "").unwrap();
        second.push(app.repo.create_contact(app.acc.id, &c, TagAuthority::chained(None, true)).await.unwrap());
    }
    let confirm = || DeleteConfirmation::parse("DELETE").unwrap();
    let batch = app
        .repo
        .delete_contacts(app.acc.id, Actor::ui(app.acc.admin), &Selection::ids(first.clone()).unwrap(), None, confirm())
        .await
        .unwrap()
        .batch;
    app.repo.delete_contacts(app.acc.id, Actor::ui(app.acc.admin), &Selection::ids(second.clone()).unwrap(), None, confirm()).await.unwrap();
    ui.login(&app.acc.admin_email).await;

    // filter by the first deletion, chosen by its name
    ui.goto("/contacts/restore").await;
    ui.wait_text("#restore-total", "58 deleted contacts can still be restored.").await;
    let option = ui.eval::<String>(&format!("document.querySelector(\"#r-batch option[value='{batch}']\").textContent")).await;
    assert!(option.starts_with("Deletion of 55 contacts on "), "{option}");
    ui.eval::<bool>(&format!("(document.getElementById('r-batch').value = '{batch}', true)")).await;
    ui.click(".restore-filters button[type=submit]").await;
    ui.wait_text("#restore-total", "55 deleted contacts match these filters.").await;
    assert_eq!(ui.eval::<i64>("document.querySelectorAll('.restore-check').length").await, 50);
    assert!(!ui.text("main tbody").await.contains("Other0 Chen"));
    // sort by name: the header says so
    ui.click("th a[data-sort='name']").await;
    ui.wait_until("document.querySelector('th[aria-sort=ascending] a[data-sort=name]') && document.readyState === 'complete'", "sorted by name")
        .await;
    assert!(ui.text("th[aria-sort=ascending]").await.contains('▲'));
    ui.screenshot("restore-filtered-desktop").await;

    // the first row's Restore button brings that contact back, by name
    let id: i64 = ui.eval("parseInt(document.querySelector('.restore-check').value, 10)").await;
    assert_eq!(id, first[0].0, "Pat00 Lopez sorts first");
    ui.click(&format!("tr[data-id='{id}'] .row-restore")).await;
    ui.wait_until("document.readyState === 'complete' && /Pat00 Lopez was restored\\./.test(document.body.innerText)", "the named message")
        .await;
    assert!(!app.is_deleted(id).await, "restored in the database");
    // back on the same filtered, sorted page
    ui.wait_text("#restore-total", "54 deleted contacts match these filters.").await;
    assert!(ui.exists("th[aria-sort=ascending] a[data-sort='name']").await);

    // select the page, then all 54 matching, untick one, restore
    ui.click("#restore-select-page").await;
    ui.wait_text("#restore-banner-all", "Select all 54 contacts matching").await;
    ui.click("#restore-banner-all").await;
    ui.wait_text("#restore-banner-text", "All 54 contacts matching are selected.").await;
    let keep: i64 = ui.eval("parseInt(document.querySelectorAll('.restore-check')[2].value, 10)").await;
    ui.click(&format!(".restore-check[value='{keep}']")).await;
    ui.wait_text("#restore-banner-text", "53 of 54 contacts matching are selected (1 unticked).").await;
    assert_eq!(ui.text("#restore-submit").await, "Restore 53 contacts");
    ui.screenshot("restore-select-all-desktop").await;
    ui.assert_accessible("the Restore page with all matching selected but one").await;
    ui.click("#erase-open").await;
    ui.wait_until("document.getElementById('erase-dialog').open", "the erase dialog").await;
    assert_eq!(ui.text("#erase-count").await, "53 contacts");
    ui.assert_accessible("the erase dialog").await;
    ui.click("#erase-cancel").await;
    ui.click("#restore-submit").await;
    ui.wait_until("document.readyState === 'complete' && /and 52 others were restored\\./.test(document.body.innerText)", "the message naming them")
        .await;
    assert!(app.is_deleted(keep).await, "the unticked contact stays deleted");
    for c in &first {
        if c.0 != keep {
            assert!(!app.is_deleted(c.0).await, "{c} restored");
        }
    }
    for c in &second {
        assert!(app.is_deleted(c.0).await, "another deletion's contacts stay deleted");
    }
    let _ = ContactId(keep);

    // a phone: the filters, the rows and their Restore buttons fit the window
    ui.set_viewport(crate::harness::PHONE).await;
    ui.goto(&format!("/contacts/restore?batch={batch}&sort=name&dir=asc")).await;
    ui.wait_text("#restore-total", "1 deleted contact matches these filters.").await;
    let overflow: i64 = ui.eval("document.documentElement.scrollWidth - window.innerWidth").await;
    assert!(overflow <= 0, "the Restore page is {overflow} px wider than a phone");
    ui.screenshot("restore-filtered-phone").await;
    ui.assert_accessible("the Restore page at 375 px").await;
    ui.set_viewport(crate::harness::DESKTOP).await;
    ui.goto("/contacts/restore").await;
    ui.assert_accessible("the Restore page at 1366 px").await;
    ui.close().await;
}
