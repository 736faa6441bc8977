//! The contacts list (search, tag filter, page size, keyset pagination, the htmx
//! fragment, R3), creating a contact, and the contact page (U7) with tenant isolation.

use crate::app::{pager_link, row_ids, spawn_app};
use crate::support::{add_associated, create_contact};
use crate::{args, both_backends, live_count, snapshot};
use chrono::Duration;
use contacts_admin::domain::ContactId;

both_backends!(async fn the_list_shows_live_contacts_of_this_account_with_search_and_tag_filter(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let cara = f.contact("Carabel", Some("cara@example.test"), &["VIP", "Lead"]).await;
    let gone = f.contact("Goneril", Some("goneril@example.test"), &["VIP"]).await;
    crate::support::delete_ids(f, &[gone]).await;
    create_contact(&f.repo, app.b.id, "Zedekiah", Some("zed@bravo.test"), &["VIP"]).await;
    let mut c = app.admin().await;

    let all = c.get("/contacts").await;
    all.assert_status(200)
        .assert_contains("Annabel Tester")
        .assert_contains("Bobby Tester")
        .assert_contains("Carabel Tester")
        .assert_contains("3 contacts in this account")
        // R3: the deleted contact is gone from the list, tenant B's never shown
        .assert_not_contains("Goneril")
        .assert_not_contains("Zedekiah");
    assert_eq!(row_ids(&all.body), vec![cara.0, bob.0, ann.0], "newest first");

    let search = c.get("/contacts?q=ANNA").await;
    search.assert_status(200).assert_contains("1 contact matches this search");
    assert_eq!(row_ids(&search.body), vec![ann.0]);
    // search matches emails too, and never the deleted contact's
    assert_eq!(row_ids(&c.get("/contacts?q=cara%40example").await.body), vec![cara.0]);
    assert_eq!(row_ids(&c.get("/contacts?q=goneril").await.body), Vec::<i64>::new());
    c.get("/contacts?q=nobody-matches").await.assert_status(200).assert_contains("No contacts match this search.");

    let tagged = c.get("/contacts?tag=VIP").await;
    assert_eq!(row_ids(&tagged.body), vec![cara.0, ann.0]);
    assert_eq!(row_ids(&c.get("/contacts?tag=VIP&q=cara").await.body), vec![cara.0]);
    assert_eq!(row_ids(&c.get("/contacts?tag=Lead").await.body), vec![cara.0]);
    assert_eq!(row_ids(&c.get("/contacts?tag=NoSuchTag").await.body), Vec::<i64>::new());

    // LIKE wildcards are searched for literally
    assert_eq!(row_ids(&c.get("/contacts?q=%25").await.body), Vec::<i64>::new());
    assert_eq!(row_ids(&c.get("/contacts?q=_").await.body), Vec::<i64>::new());

    // a search that is too long is a clear 400, not a 500
    let long = "x".repeat(201);
    c.get(&format!("/contacts?q={long}")).await.assert_status(400).assert_contains("too long");
});

both_backends!(async fn a_search_of_many_pages_shows_its_rows_at_once_and_its_exact_count_from_the_count_route(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    // every seeded contact's text holds "555" (its phone number)
    f.repo.seed_contacts(f.acc.id, 1_200, &[f.acc.admin]).await.expect("seed account A");
    f.repo.seed_contacts(app.b.id, 7, &[app.b.admin]).await.expect("seed account B");
    let mut c = app.admin().await;

    // the page shows its rows without counting every match; it loads the count after
    let page = c.get("/contacts?q=555").await;
    page.assert_status(200)
        .assert_contains("Counting the contacts that match this search")
        .assert_contains(">50 shown<")
        .assert_contains("data-total=\"\"")
        .assert_contains("hx-get=\"/contacts/count?q=555\"");
    assert_eq!(row_ids(&page.body).len(), 50);
    // so does every further page of the search
    let next = c.get(&format!("/contacts?q=555&after={}", row_ids(&page.body)[49])).await;
    next.assert_status(200).assert_contains("hx-get=\"/contacts/count?q=555\"");

    let count = c.get("/contacts/count?q=555").await;
    count.assert_status(200).assert_contains("data-total=\"1200\"").assert_contains("1,200 contacts match this search");
    assert!(!count.body.contains("<html"), "a fragment, not a page");

    // R3: deleted contacts leave the exact count at once; tenant B's are never counted
    let some: Vec<ContactId> = row_ids(&page.body).into_iter().take(3).map(ContactId).collect();
    crate::support::delete_ids(f, &some).await;
    c.get("/contacts/count?q=555").await.assert_status(200).assert_contains("data-total=\"1197\"");
    let mut b = app.admin_b().await;
    b.get("/contacts/count?q=555").await.assert_status(200).assert_contains("data-total=\"7\"").assert_contains("7 contacts match this search");
    let small = b.get("/contacts?q=555").await;
    small.assert_status(200).assert_contains("7 contacts match this search").assert_contains("data-total=\"7\"");
    assert!(!small.body.contains("/contacts/count"), "an exact count needs no second request");

    // without a search the count is the account's counter, exact on the page itself
    let all = c.get("/contacts").await;
    all.assert_status(200).assert_contains("1,197 contacts in this account").assert_contains("data-total=\"1197\"");
    assert!(!all.body.contains("/contacts/count"));
    c.get("/contacts/count").await.assert_status(200).assert_contains("1,197 contacts in this account");
    c.get("/contacts/count?tag=VIP&q=555").await.assert_status(200);

    // bad input is a clear 400; no session, no count
    c.get(&format!("/contacts/count?q={}", "x".repeat(201))).await.assert_status(400).assert_contains("too long");
    let anonymous = app.client().get("/contacts/count?q=555").await;
    anonymous.assert_status(303);
    assert!(anonymous.location().is_some_and(|l| l.starts_with("/login")), "{:?}", anonymous.location());
});

both_backends!(async fn page_size_and_keyset_pagination_walk_every_contact_once(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(f.contact(&format!("Person{n:02}"), None, &[]).await.0);
    }
    ids.reverse(); // the list is newest first
    let mut c = app.admin().await;

    let first = c.get("/contacts?size=25").await;
    first.assert_status(200).assert_contains("60 contacts");
    assert_eq!(row_ids(&first.body), ids[..25].to_vec());
    assert!(pager_link(&first, "‹ Previous").is_none(), "no previous page on the first page");
    assert!(pager_link(&first, "« First").is_none());

    let next = pager_link(&first, "Next ›").expect("a next link");
    assert!(next.contains("size=25") && next.contains("after="), "{next}");
    let second = c.get(&next).await;
    assert_eq!(row_ids(&second.body), ids[25..50].to_vec());

    let third = c.get(&pager_link(&second, "Next ›").expect("a next link")).await;
    assert_eq!(row_ids(&third.body), ids[50..].to_vec());
    assert!(pager_link(&third, "Next ›").is_none(), "no next page on the last page");

    // back from the third page is the second page again
    let prev = pager_link(&third, "‹ Previous").expect("a previous link");
    assert!(prev.contains("before="), "{prev}");
    assert_eq!(row_ids(&c.get(&prev).await.body), ids[25..50].to_vec());

    // "Last" shows the oldest page, "First" the newest
    let last = c.get(&pager_link(&first, "Last »").expect("a last link")).await;
    assert_eq!(row_ids(&last.body), ids[35..].to_vec());
    let back = c.get(&pager_link(&last, "« First").expect("a first link")).await;
    assert_eq!(row_ids(&back.body), ids[..25].to_vec());

    // the default size is 50; every allowed size works; others are refused clearly
    assert_eq!(row_ids(&c.get("/contacts").await.body).len(), 50);
    assert_eq!(row_ids(&c.get("/contacts?size=100").await.body).len(), 60);
    for bad in ["7", "abc", "1000000", "-1"] {
        c.get(&format!("/contacts?size={bad}")).await.assert_status(400).assert_contains("page size");
    }
    for bad in ["after=abc", "before=-3", "after=0"] {
        c.get(&format!("/contacts?{bad}")).await.assert_status(400).assert_contains("is not a valid contact id");
    }
    // the filter is kept in the page links
    let filtered = c.get("/contacts?q=person&size=25").await;
    let next = pager_link(&filtered, "Next ›").unwrap();
    assert!(next.contains("q=person"), "{next}");
});

both_backends!(async fn an_htmx_request_gets_only_the_results_fragment(db: TestDb) {
    let app = spawn_app(db).await;
    let ann = app.f.contact("Annabel", None, &[]).await;
    app.f.contact("Bobby", None, &[]).await;
    let mut c = app.admin().await;

    let r = c.get_htmx("/contacts?q=annabel").await;

    r.assert_status(200).assert_contains("Annabel Tester").assert_not_contains("Bobby");
    assert!(!r.body.contains("<html"), "a fragment, not a page");
    assert!(!r.body.contains("<meta name=\"csrf-token\""));
    assert!(r.body.contains("id=\"list-meta\""), "the fragment carries the list's metadata");
    assert!(r.body.contains("data-as-of=\""), "and the moment it was read (R6)");
    assert_eq!(row_ids(&r.body), vec![ann.0]);
});

both_backends!(async fn creating_a_contact_redirects_to_it(db: TestDb) {
    let app = spawn_app(db).await;
    let mut c = app.user().await; // any signed-in user may add contacts

    let r = c
        .post(
            "/contacts",
            &[
                ("first_name", "Nora"),
                ("last_name", "Newman"),
                ("email", "nora@example.test"),
                ("phone", "+1 555 0199"),
                ("company", "Newco"),
                ("tags", "Lead, Spring fair"),
            ],
        )
        .await;

    r.assert_status(303);
    let location = r.location().unwrap().to_string();
    let id: i64 = location.strip_prefix("/contacts/").expect("303 to the contact").parse().expect("a numeric id");
    let row: (i64, String, String, Option<String>, Option<String>, Option<i64>) = app
        .f
        .raw
        .one("select account_id, first_name, last_name, email, company, deleted_at from contacts where id = $1", args![id])
        .await;
    assert_eq!(row, (app.f.acc.id.0, "Nora".into(), "Newman".into(), Some("nora@example.test".into()), Some("Newco".into()), None));
    let tags: Vec<(String,)> = app.f.raw.all("select tag from contact_tags where contact_id = $1 order by tag", args![id]).await;
    assert_eq!(tags, vec![("Lead".to_string(),), ("Spring fair".to_string(),)]);

    let page = c.get(&location).await;
    page.assert_status(200).assert_contains("Nora Newman").assert_contains("Contact added.").assert_contains("Spring fair");
});

both_backends!(async fn creating_an_invalid_or_duplicate_contact_is_refused_and_creates_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    app.f.contact("Ann", Some("ann@example.test"), &[]).await;
    let mut c = app.admin().await;
    let before = snapshot(&app.f.raw).await;

    let bad_email = c.post("/contacts", &[("first_name", "Ann"), ("email", "not-an-email")]).await;
    bad_email.assert_status(400).assert_contains("is not a valid email address");
    // the form is shown again with what was typed
    bad_email.assert_contains("not-an-email");

    let nameless = c.post("/contacts", &[("first_name", "  "), ("email", "")]).await;
    nameless.assert_status(400).assert_contains("needs a name or an email address");

    let bad_tag = c.post("/contacts", &[("first_name", "Tag"), ("tags", &"t".repeat(80))]).await;
    bad_tag.assert_status(400);

    let duplicate = c.post("/contacts", &[("first_name", "Other Ann"), ("email", "ann@example.test")]).await;
    duplicate.assert_status(409).assert_contains("ann@example.test").assert_contains("already exists");

    assert_eq!(snapshot(&app.f.raw).await, before, "nothing was created");
    assert_eq!(live_count(&app.f.raw, app.f.acc.id).await, 1);

    // the same email in another account is not a conflict
    let mut b = app.admin_b().await;
    b.post("/contacts", &[("first_name", "Ann B"), ("email", "ann@example.test")]).await.assert_status(303);
    assert_eq!(live_count(&app.f.raw, app.b.id).await, 1);
});

both_backends!(async fn the_contact_page_shows_its_associated_data(db: TestDb) {
    let app = spawn_app(db).await;
    let ann = app.f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let mut admin = app.admin().await;

    let r = admin.get(&format!("/contacts/{}", ann.contact)).await;

    r.assert_status(200)
        .assert_contains("Annabel Tester")
        .assert_contains("annabel@example.test")
        .assert_contains("Viewing request") // conversation
        .assert_contains("Prefers email") // note
        .assert_contains("Call back") // task
        .assert_contains("Property viewing") // appointment
        .assert_contains("Deal") // opportunity
        .assert_contains("Reach out") // manual action
        .assert_contains("Logged a call") // activity
        .assert_contains("agreement.txt") // file
        .assert_contains(&format!("Group of {}", ann.contact))
        .assert_contains("Acme User"); // worked on it recently
    assert!(r.body.contains("id=\"contact-delete\""), "admins get the delete button");
    assert!(r.body.contains(&format!("/contacts/export.csv?ids={}", ann.contact)));

    // the attached file downloads
    let file = admin.get(&format!("/contacts/{}/files/{}", ann.contact, ann.file)).await;
    file.assert_status(200);
    assert_eq!(file.body, "signed");
    assert!(file.header("content-disposition").unwrap().contains("attachment"));

    // a regular user sees the contact without the delete button
    let mut user = app.user().await;
    let r = user.get(&format!("/contacts/{}", ann.contact)).await;
    r.assert_status(200).assert_contains("Annabel Tester");
    assert!(!r.body.contains("id=\"contact-delete\""), "no delete control for a regular user");
});

both_backends!(async fn the_contact_page_is_404_for_other_accounts_deleted_and_malformed_ids(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", Some("zed@bravo.test"), &[]).await;
    let their_assoc = add_associated(&f.raw, &app.b, theirs, f.now()).await;
    let gone = f.contact("Goneril", Some("goneril@example.test"), &[]).await;
    f.advance(Duration::minutes(1));
    crate::support::delete_ids(f, &[gone]).await;
    let mut c = app.admin().await;

    for path in [
        format!("/contacts/{theirs}"),
        "/contacts/abc".to_string(),
        "/contacts/0".to_string(),
        "/contacts/-5".to_string(),
        "/contacts/99999999".to_string(),
        "/contacts/99999999999999999999999".to_string(),
        format!("/contacts/{theirs}/files/{}", their_assoc.file),
    ] {
        let r = c.get(&path).await;
        r.assert_status(404);
        assert!(!r.body.contains("Zedekiah") && !r.body.contains("zed@bravo.test"), "{path} leaks nothing");
        assert!(!r.body.contains("Goneril"), "{path} shows no deleted contact");
        assert!(!r.body.contains("signed"), "{path} serves no file");
    }
    // a deleted contact: a regular user gets the 404 of a contact that is gone; an
    // admin sees that it was deleted, by whom, and Restore (R11)
    let mut u = app.user().await;
    let r = u.get(&format!("/contacts/{gone}")).await;
    r.assert_status(404);
    assert!(!r.body.contains("Goneril"));
    c.get(&format!("/contacts/{gone}"))
        .await
        .assert_status(200)
        .assert_contains("This contact was deleted")
        .assert_contains("Restore Goneril Tester")
        .assert_not_contains("Delete contact");
    // B's admin can see their own contact, and not A's deleted one
    let mut b = app.admin_b().await;
    b.get(&format!("/contacts/{theirs}")).await.assert_status(200).assert_contains("Zedekiah");
    b.get(&format!("/contacts/{gone}")).await.assert_status(404).assert_not_contains("Goneril");
});

both_backends!(async fn names_are_escaped_on_every_page(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let evil = "<script>alert(1)</script>";
    let id = f.contact(evil, None, &["<b>tag</b>"]).await;
    let mut c = app.admin().await;

    let list = c.get("/contacts").await;
    let page = c.get(&format!("/contacts/{id}")).await;
    let fragment = c.get_htmx("/contacts").await;
    let i = id.to_string();
    c.post("/contacts/delete", &[("ids", &i), ("confirm", "DELETE")]).await.assert_see_other("/contacts");
    let restore = c.get("/contacts/restore").await;

    for (what, r) in [("list", &list), ("contact page", &page), ("fragment", &fragment), ("restore page", &restore)] {
        r.assert_status(200);
        assert!(!r.body.contains(evil), "{what} writes the name unescaped");
        assert!(!r.body.contains("<b>tag</b>"), "{what} writes the tag unescaped");
        assert!(r.text().contains(evil), "{what} shows the name as text");
    }
});
