//! The contacts list's sortable headers (mouse and keyboard, arrow and `aria-sort`, the
//! pager keeping the order), select-all with an exclusion on a sorted list, tag chips
//! folded into "+N", and the empty list of an account whose contacts were all deleted, at
//! desktop and phone widths.

use crate::harness::{setup, Ui, DESKTOP, PHONE, SEEDED};
use contacts_admin::domain::{Actor, ContactId, DeleteConfirmation, Selection, TagAuthority, TagName};

/// The names of the rows, lower-cased, in page order.
async fn names(ui: &Ui) -> Vec<String> {
    ui.eval("Array.from(document.querySelectorAll('tbody .contact-link')).map(function(a){ return a.textContent.trim().toLowerCase(); })")
        .await
}

async fn aria_sort(ui: &Ui, label: &str) -> String {
    ui.eval(&format!(
        "(function(){{ var th = Array.from(document.querySelectorAll('thead th')).find(function(t){{ return t.textContent.trim().startsWith({}); }}); return th ? (th.getAttribute('aria-sort') || '') : 'missing'; }})()",
        crate::harness::js_str(label)
    ))
    .await
}

/// No horizontal scrolling of the page, and the Created column whole on one line.
async fn created_column_fits(ui: &Ui, width: u32) {
    let overflow: i64 = ui.eval("document.documentElement.scrollWidth - window.innerWidth").await;
    assert!(overflow <= 0, "the page is {overflow} px wider than the window at {width} px");
    let wrapped: i64 = ui
        .eval("Array.from(document.querySelectorAll('td.col-created')).filter(function(td){ var t = td.querySelector('time'); \
               return !t || td.scrollWidth > td.clientWidth || t.getClientRects().length !== 1; }).length")
        .await;
    assert_eq!(wrapped, 0, "a Created cell is clipped or wrapped at {width} px");
    if width >= 1000 {
        // on a desktop the whole column is in view, not behind the card's scrollbar
        let hidden: i64 = ui
            .eval("(function(){ var card = document.getElementById('results').getBoundingClientRect(); \
                   return Array.from(document.querySelectorAll('td.col-created')).filter(function(td){ return td.getBoundingClientRect().right > card.right + 0.5; }).length; })()")
            .await;
        assert_eq!(hidden, 0, "Created cells run past the list's card at {width} px");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_a_header_sorts_marks_it_and_pages_in_that_order() {
    let Some((app, ui)) = setup("clicking_a_header_sorts_marks_it_and_pages_in_that_order", SEEDED).await else { return };
    // one contact with six tags: three chips and "+3"
    let tagged = ContactId(app.live_ids().await[0]);
    for t in ["Alpha", "Bravo", "Charlie", "Delta", "Echo"] {
        app.repo
            .add_tag(app.acc.id, &Selection::ids(vec![tagged]).unwrap(), &TagName::parse(t).unwrap(), TagAuthority::chained(None, true))
            .await
            .expect("tag");
    }
    ui.set_viewport(DESKTOP).await;
    ui.login(&app.acc.admin_email).await;
    ui.wait_text("#list-order", "Sorted by created, newest first.").await;
    created_column_fits(&ui, DESKTOP.0).await;
    assert_eq!(aria_sort(&ui, "Created").await, "descending");
    assert_eq!(aria_sort(&ui, "Name").await, "");

    // a click on Name: A to Z, the arrow and aria-sort move, the URL follows
    ui.click("thead a.sort-link[href='/contacts?sort=name']").await;
    ui.wait_until("location.search === '?sort=name'", "the address to carry the order").await;
    ui.wait_text("#list-order", "Sorted by name, A to Z.").await;
    assert_eq!(aria_sort(&ui, "Name").await, "ascending");
    assert_eq!(aria_sort(&ui, "Created").await, "");
    assert_eq!(ui.text("th[aria-sort] .sort-arrow").await, "▲");
    let first = names(&ui).await;
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted, "the page is in name order");
    ui.screenshot("list-sorted-by-name").await;
    created_column_fits(&ui, DESKTOP.0).await;
    ui.assert_accessible("list sorted by name").await;

    // Next keeps the order
    ui.click("a.btn[href*='after=']").await;
    ui.wait_until("location.search.includes('after=') && location.search.includes('sort=name')", "the second page").await;
    let second = names(&ui).await;
    assert_eq!(second.len(), 50);
    assert!(first.last() <= second.first(), "{:?} then {:?}", first.last(), second.first());
    let mut s2 = second.clone();
    s2.sort();
    assert_eq!(second, s2);

    // the keyboard: Tab to the Name header and Enter turns the order around
    ui.eval::<bool>("(function(){ document.querySelector('thead th[aria-sort] a.sort-link').focus(); return true; })()").await;
    ui.press("Enter").await;
    ui.wait_until("location.search === '?sort=-name'", "Z to A").await;
    ui.wait_text("#list-order", "Sorted by name, Z to A.").await;
    assert_eq!(aria_sort(&ui, "Name").await, "descending");
    assert_eq!(ui.text("th[aria-sort] .sort-arrow").await, "▼");
    let desc = names(&ui).await;
    let mut d = desc.clone();
    d.sort();
    d.reverse();
    assert_eq!(desc, d);

    // a search keeps the order the page states; the search form carries the order
    ui.type_into("#q", "smith").await;
    ui.wait_until("location.search.includes('q=smith')", "the search").await;
    ui.wait_text("#list-order", "Search results are sorted by created, newest first").await;
    assert!(ui.eval::<String>("location.search").await.contains("sort=-name"), "the chosen order stays in the address");
    assert!(!ui.exists("thead a.sort-link[href*='sort=name']").await, "Name is not a link while searching");
    // clearing the search brings the chosen order back
    ui.eval::<bool>("(function(){ var q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input', {bubbles: true})); return true; })()").await;
    ui.wait_text("#list-order", "Sorted by name, Z to A.").await;

    // the tag chips: three, then +3 naming the rest
    ui.goto("/contacts?sort=created").await;
    let chip = format!("tr[data-id='{}'] .tag-more", tagged.0);
    ui.wait_until(&format!("document.querySelector(\"{chip}\")"), "the +N chip").await;
    assert_eq!(ui.eval::<i64>(&format!("document.querySelectorAll(\"tr[data-id='{}'] .tag:not(.tag-more)\").length", tagged.0)).await, 3);
    assert!(ui.text(&chip).await.starts_with("+3"));
    let title: String = ui.eval(&format!("document.querySelector(\"{chip}\").title")).await;
    assert_eq!(title.matches(", ").count(), 2, "the title names the three other tags: {title}");

    // the phone width: the list scrolls inside its card, the Created column stays whole
    ui.set_viewport(PHONE).await;
    ui.goto("/contacts?sort=company").await;
    ui.wait_text("#list-order", "Sorted by company, A to Z.").await;
    created_column_fits(&ui, PHONE.0).await;
    ui.screenshot("list-sorted-phone").await;
    ui.assert_accessible("list sorted by company at phone width").await;
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_all_minus_one_on_a_sorted_list_deletes_what_matched() {
    let Some((app, ui)) = setup("select_all_minus_one_on_a_sorted_list_deletes_what_matched", SEEDED).await else { return };
    ui.login(&app.acc.admin_email).await;
    ui.goto("/contacts?sort=-email").await;
    ui.wait_text("#list-order", "Sorted by email, Z to A.").await;
    ui.click("#select-page").await;
    ui.wait_selected("50").await;
    ui.click("#banner-select-all").await;
    ui.wait_selected("120").await;
    let kept = ui.row_ids().await[7];
    ui.tick(kept).await;
    ui.wait_selected("119").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    ui.type_into("#delete-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the delete button to unlock").await;
    ui.click("#delete-submit").await;
    ui.wait_text("#alerts", "Deleted 119 contacts").await;
    assert_eq!(app.live_ids().await, vec![kept], "only the unticked contact remains");
    ui.wait_until("document.querySelectorAll('.row-check').length === 1", "the list to refresh").await;
    // the refresh kept the order
    assert!(ui.eval::<String>("location.search").await.contains("sort=-email"));
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_whose_contacts_were_all_deleted_says_so_at_both_widths() {
    let Some((app, ui)) = setup("an_account_whose_contacts_were_all_deleted_says_so_at_both_widths", 6).await else { return };
    let ids: Vec<ContactId> = app.live_ids().await.into_iter().map(ContactId).collect();
    app.repo
        .delete_contacts(app.acc.id, Actor::ui(app.acc.admin), &Selection::ids(ids).unwrap(), Some("Test data"), DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .expect("delete everything");
    ui.login(&app.acc.admin_email).await;
    for (size, name) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        ui.set_viewport(size).await;
        ui.goto("/contacts").await;
        ui.wait_text("#list-empty", "All 6 contacts were deleted on").await;
        let text = ui.text("#list-empty").await;
        assert!(!text.contains("no contacts yet"), "{text}");
        assert!(ui.exists("#list-empty a[href='/contacts/restore']").await && ui.exists("#list-empty a[href='/bulk-actions']").await);
        let overflow: i64 = ui.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow <= 0, "{name}: {overflow} px too wide");
        ui.screenshot(&format!("list-all-deleted-{name}")).await;
        ui.assert_accessible(&format!("all-deleted list at {name} width")).await;
    }
    // Restore leads to the deleted contacts
    ui.click("#list-empty a[href='/contacts/restore']").await;
    ui.wait_until("location.pathname === '/contacts/restore'", "the Restore page").await;

    // a regular user reads the same truth without the admin's links
    ui.eval::<bool>("(function(){ document.querySelector(\"form[action='/logout']\").submit(); return true; })()").await;
    ui.wait_until("location.pathname === '/login'", "signed out").await;
    ui.login(&app.acc.user_email).await;
    ui.wait_text("#list-empty", "All 6 contacts were deleted on").await;
    ui.wait_text("#list-empty", "An admin of this account can restore them").await;
    assert!(!ui.exists("#list-empty a[href='/contacts/restore']").await);
    ui.screenshot("list-all-deleted-user").await;
    ui.assert_accessible("all-deleted list for a regular user").await;
    ui.close().await;
}
