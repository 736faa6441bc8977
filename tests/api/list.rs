//! The contacts list's sortable headers (real links, arrow and `aria-sort`, the pager
//! keeping the order), bad sort fields, and what an empty list says: a filter that
//! matches nothing, an account whose contacts were all deleted (admin and regular user),
//! and one that never had any.

use crate::app::{attr_after, pager_link, row_ids, spawn_app, Resp};
use crate::support::{create_contact, Fixture};
use crate::both_backends;
use chrono::Duration;
use contacts_admin::domain::{ContactId, NewContact, TagAuthority};

async fn person(f: &Fixture, first: &str, last: &str, email: &str, company: &str) -> ContactId {
    let c = NewContact::parse(first, last, email, "", company).unwrap();
    f.repo.create_contact(f.acc.id, &c, TagAuthority::chained(None, true)).await.unwrap()
}

/// The opening tag of the column header labelled `label`, and the href of its link.
fn header(r: &Resp, label: &str) -> (String, Option<String>) {
    let head = &r.body[r.body.find("<thead>").expect("a table head")..r.body.find("</thead>").unwrap()];
    let at = head.find(&format!(">{label}<")).unwrap_or_else(|| panic!("a {label} header"));
    let th = head[..at].rfind("<th").unwrap();
    let th_end = th + head[th..].find('>').unwrap() + 1;
    let cell = &head[th..head[th..].find("</th>").unwrap() + th];
    (head[th..th_end].to_string(), attr_after(cell, "href=\""))
}

/// The empty state's block of a list page.
fn empty_block(r: &Resp) -> &str {
    let start = r.body.find("id=\"list-empty\"").unwrap_or_else(|| panic!("an empty state in {}", r.body));
    let end = start + r.body[start..].find("</div>").unwrap();
    &r.body[start..end]
}

both_backends!(async fn headers_sort_the_list_both_ways_and_the_pager_keeps_the_order(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let carl = person(f, "Carl", "Ng", "carl@x.test", "Beta").await;
    let ana = person(f, "ana", "Li", "", "acme").await;
    let bea = person(f, "Bea", "Ode", "bea@x.test", "").await;
    let ana2 = person(f, "Ana", "Li", "ana@x.test", "Zeta").await;
    let mut c = app.admin().await;

    // the default: newest first, said on the page, the Created header marked
    let list = c.get("/contacts").await;
    list.assert_status(200).assert_contains("Sorted by created, newest first.");
    assert_eq!(row_ids(&list.body), vec![ana2.0, bea.0, ana.0, carl.0]);
    let (th, href) = header(&list, "Created");
    assert!(th.contains("aria-sort=\"descending\""), "{th}");
    assert_eq!(href.as_deref(), Some("/contacts?sort=created"), "a click turns the order around");
    let (th, href) = header(&list, "Name");
    assert!(!th.contains("aria-sort"), "only the sorted column has aria-sort: {th}");
    assert_eq!(href.as_deref(), Some("/contacts?sort=name"));
    assert!(list.body.contains("hx-get=\"/contacts?sort=name\""), "htmx swaps the results from the same link");
    assert_eq!(header(&list, "Email").1.as_deref(), Some("/contacts?sort=email"));
    assert_eq!(header(&list, "Company").1.as_deref(), Some("/contacts?sort=company"));

    // by name, A to Z: case-insensitive, ties by id
    let by_name = c.get("/contacts?sort=name").await;
    by_name.assert_status(200).assert_contains("Sorted by name, A to Z.").assert_contains("▲");
    assert_eq!(row_ids(&by_name.body), vec![ana.0, ana2.0, bea.0, carl.0]);
    let (th, href) = header(&by_name, "Name");
    assert!(th.contains("aria-sort=\"ascending\""), "{th}");
    assert_eq!(href.as_deref(), Some("/contacts?sort=-name"));
    let by_name_desc = c.get("/contacts?sort=-name").await;
    by_name_desc.assert_contains("Sorted by name, Z to A.").assert_contains("▼");
    assert_eq!(row_ids(&by_name_desc.body), vec![carl.0, bea.0, ana2.0, ana.0]);
    assert!(header(&by_name_desc, "Name").0.contains("aria-sort=\"descending\""));

    // missing emails and companies after the others from A to Z
    assert_eq!(row_ids(&c.get("/contacts?sort=email").await.body), vec![ana2.0, bea.0, carl.0, ana.0]);
    assert_eq!(row_ids(&c.get("/contacts?sort=company").await.body), vec![ana.0, carl.0, ana2.0, bea.0]);
    assert_eq!(row_ids(&c.get("/contacts?sort=-company").await.body), vec![bea.0, ana2.0, carl.0, ana.0]);
    assert_eq!(row_ids(&c.get("/contacts?sort=created").await.body), vec![carl.0, ana.0, bea.0, ana2.0]);

    // the pager walks the sorted list, and its links keep the order
    let p1 = c.get("/contacts?sort=-email&size=25").await;
    assert_eq!(pager_link(&p1, "Next ›"), None);
    for i in 0..30 {
        person(f, &format!("P{i:02}"), "Pager", &format!("p{i:02}@pager.test"), "").await;
    }
    let p1 = c.get("/contacts?sort=email&size=25").await;
    let next = pager_link(&p1, "Next ›").expect("a next page");
    assert!(next.contains("sort=email"), "{next}");
    let p2 = c.get(&next).await;
    p2.assert_status(200);
    let mut both = row_ids(&p1.body);
    both.extend(row_ids(&p2.body));
    assert_eq!(both.len(), 34);
    assert_eq!(&both[..1], &[ana2.0]);
    assert_eq!(both[33], ana.0, "the contact without email is last");
    let prev = pager_link(&p2, "‹ Previous").expect("a previous page");
    assert!(prev.contains("sort=email"), "{prev}");
    assert_eq!(row_ids(&c.get(&prev).await.body), row_ids(&p1.body));
    let last = pager_link(&p1, "Last »").expect("a last page");
    assert_eq!(row_ids(&c.get(&last).await.body), both[9..].to_vec(), "the last page is the last 25");

    // the htmx fragment carries the order for the search form
    let frag = c.get_htmx("/contacts?sort=-company").await;
    frag.assert_status(200).assert_not_contains("<html");
    assert!(frag.body.contains("name=\"sort\"") && frag.body.contains("value=\"-company\""), "the order kept for the search form");
});

both_backends!(async fn bad_sort_fields_are_refused_with_a_message(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let id = f.contact("Ana", Some("ana@x.test"), &[]).await;
    let mut c = app.admin().await;
    for bad in ["phone", "NAME", "--name", "-", "name%3Bdrop", "id", "created,name"] {
        c.get(&format!("/contacts?sort={bad}")).await.assert_status(400).assert_contains("Sort the list by name, email, company or created");
        c.get_htmx(&format!("/contacts?sort={bad}")).await.assert_status(400);
    }
    // an empty sort is the default order
    c.get("/contacts?sort=").await.assert_status(200).assert_contains("Sorted by created, newest first.");
    // a cursor that names no contact of this account, in a sorted list
    let other = create_contact(&f.repo, app.b.id, "Zed", None, &[]).await;
    for cursor in [format!("after={}", other.0), "before=99999999".to_string()] {
        c.get(&format!("/contacts?sort=name&{cursor}")).await.assert_status(400).assert_contains("first page");
    }
    c.get("/contacts?sort=name&after=abc").await.assert_status(400);
    // a search keeps its own order: the other headers are not links, and the page says so
    let search = c.get("/contacts?q=ana&sort=name").await;
    search.assert_status(200).assert_contains("Search results are sorted by created, newest first");
    assert_eq!(row_ids(&search.body), vec![id.0]);
    assert_eq!(header(&search, "Name").1, None);
    assert!(header(&search, "Created").0.contains("aria-sort=\"descending\""));
    assert!(header(&search, "Created").1.is_some_and(|h| h.contains("q=ana") && h.contains("sort=created")));
});

both_backends!(async fn empty_lists_say_why_and_offer_the_way_out(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut admin = app.admin().await;
    let mut user = app.user().await;

    // a truly empty account
    for c in [&mut admin, &mut user] {
        let r = c.get("/contacts").await;
        r.assert_status(200);
        let e = empty_block(&r);
        assert!(e.contains("This account has no contacts yet.") && e.contains("href=\"/contacts/new\""), "{e}");
        assert!(!e.contains("deleted"), "{e}");
    }

    let ids = [
        f.contact("Ana", Some("ana@x.test"), &["VIP"]).await,
        f.contact("Bea", Some("bea@x.test"), &[]).await,
        f.contact("Cid", Some("cid@x.test"), &[]).await,
    ];
    // a filter that matches nothing says so and offers to clear it, keeping the order
    let r = admin.get("/contacts?q=nobody&sort=name").await;
    let e = empty_block(&r);
    assert!(e.contains("No contacts match this search.") && e.contains("Nothing matches “nobody”."), "{e}");
    assert!(e.contains("Clear the search") && e.contains("href=\"/contacts?sort=name\""), "{e}");
    assert!(!e.contains("no contacts yet"), "{e}");
    let r = admin.get("/contacts?tag=Nope").await;
    let e = empty_block(&r);
    assert!(e.contains("No contacts match this filter.") && e.contains("No contact has the tag “Nope”.") && e.contains("href=\"/contacts\""), "{e}");
    let e = empty_block(&admin.get("/contacts?tag=VIP&q=bea").await).to_string();
    assert!(e.contains("Clear the search and tag filter"), "{e}");

    // every contact deleted, on one day
    crate::support::delete_ids(f, &ids).await;
    let day = f.now().format("%b %-d, %Y").to_string();
    let closes = (f.now() + Duration::days(60)).format("%b %-d, %Y").to_string();
    let r = admin.get("/contacts").await;
    r.assert_status(200).assert_not_contains("no contacts yet");
    let e = empty_block(&r);
    assert!(e.contains(&format!("All 3 contacts were deleted on {day}.")), "{e}");
    assert!(e.contains(&format!("until {closes}")), "{e}");
    assert!(e.contains("href=\"/contacts/restore\"") && e.contains("href=\"/bulk-actions\""), "admins get the way back: {e}");
    // the same page sorted, or as the htmx fragment, says the same
    assert!(empty_block(&admin.get_htmx("/contacts?sort=-company").await).contains("All 3 contacts were deleted"));
    // a regular user reads the truth without the admin's links
    let r = user.get("/contacts").await;
    r.assert_status(200).assert_not_contains("no contacts yet");
    let e = empty_block(&r);
    assert!(e.contains(&format!("All 3 contacts were deleted on {day}.")), "{e}");
    assert!(e.contains("An admin of this account can restore them"), "{e}");
    assert!(!e.contains("/contacts/restore") && !e.contains("/bulk-actions"), "no admin links for a user: {e}");

    // deletions on two days, then past the window: the text follows
    let again = f.contact("Dee", Some("dee@x.test"), &[]).await;
    f.advance(Duration::days(3));
    crate::support::delete_ids(f, &[again]).await;
    let later = f.now().format("%b %-d, %Y").to_string();
    let e = empty_block(&admin.get("/contacts").await).to_string();
    assert!(e.contains(&format!("All 4 contacts were deleted between {day} and {later}.")), "{e}");
    f.advance(Duration::days(58));
    let e = empty_block(&admin.get("/contacts").await).to_string();
    assert!(e.contains("1 of them can still be restored"), "{e}");
    f.advance(Duration::days(5));
    let e = empty_block(&admin.get("/contacts").await).to_string();
    assert!(e.contains("can no longer be restored") && !e.contains("/contacts/restore"), "{e}");
    assert_eq!(f.raw.count("contacts", "account_id = $1 and deleted_at is not null", crate::args![f.acc.id]).await, 4, "nothing changed by reading");
});
