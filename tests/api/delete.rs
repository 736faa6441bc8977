//! `POST /contacts/delete` (R1, R2, R5, R6, R7), the delete preview (U4), and every
//! kind of bad input refused with a clear 4xx that changes nothing.

use crate::app::{attr_values, batch_in_page, spawn_app, urlencode, Csrf};
use crate::support::{assert_associated, create_contact};
use crate::{args, audit_rows, batch_of, both_backends, is_deleted, is_live, live_count, snapshot};
use chrono::Duration;

both_backends!(async fn deleting_selected_contacts_removes_their_data_and_audits_the_reason(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.full_contact("Bobby", Some("bobby@example.test"), &[]).await;
    let cara = f.full_contact("Carabel", Some("cara@example.test"), &[]).await;
    let mut c = app.admin().await;
    f.advance(Duration::minutes(5));
    let when = f.now().timestamp_millis();

    let (a, b) = (ann.contact.to_string(), bob.contact.to_string());
    let r = c
        .post("/contacts/delete", &[("ids", &a), ("ids", &b), ("confirm", "DELETE"), ("reason", "GDPR request #42")])
        .await;

    r.assert_see_other("/contacts");
    // R2: both contacts soft-deleted by the admin in one batch, with their data gone
    let batch = batch_of(&f.raw, ann.contact).await.expect("a batch id");
    assert_eq!(batch_of(&f.raw, bob.contact).await, Some(batch));
    for contact in [ann.contact, bob.contact] {
        let (at, by): (Option<i64>, Option<i64>) =
            f.raw.one("select deleted_at, deleted_by_user_id from contacts where id = $1", args![contact]).await;
        assert_eq!(at, Some(when));
        assert_eq!(by, Some(f.acc.admin.0));
        assert_associated(&f.raw, contact, 0).await;
    }
    for e in [ann.active_enrollment, bob.active_enrollment] {
        let (status, reason, stopped): (String, Option<String>, Option<i64>) =
            f.raw.one("select status, stop_reason, stopped_at from enrollments where id = $1", args![e]).await;
        assert_eq!((status.as_str(), reason.as_deref(), stopped), ("stopped", Some("contact_deleted"), Some(when)));
    }
    let finished: (String,) = f.raw.one("select status from enrollments where id = $1", args![ann.finished_enrollment]).await;
    assert_eq!(finished.0, "finished");
    // the community group stays, without its owner
    let owner: (Option<i64>,) = f.raw.one("select owner_contact_id from community_groups where id = $1", args![ann.group]).await;
    assert_eq!(owner.0, None);
    // the tags stay with the (restorable) record
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![ann.contact]).await, 1);
    // Carabel is untouched
    assert!(is_live(&f.raw, cara.contact).await);
    assert_associated(&f.raw, cara.contact, 1).await;
    // R7: one audit event with the reason, the count, the channel and the batch
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), 1);
    let (_, channel, count, reason, ev_batch, actor, description) = &events[0];
    assert_eq!((channel.as_str(), *count, reason.as_deref()), ("ui", 2, Some("GDPR request #42")));
    assert_eq!((*ev_batch, *actor), (Some(batch), Some(f.acc.admin.0)));
    assert!(!description.contains("annabel") && !description.contains("Annabel"), "{description}");

    // U5: the next page says what happened and offers to undo this very batch
    let page = c.get("/contacts").await;
    page.assert_status(200).assert_contains("Deleted 2 contacts").assert_contains("Carabel Tester");
    page.assert_not_contains("Annabel Tester").assert_not_contains("Bobby Tester");
    assert_eq!(batch_in_page(&page.body), Some(batch));
    // the flash shows once
    c.get("/contacts").await.assert_not_contains("Deleted 2 contacts");
    // its page now says it was deleted (for an admin), with Restore
    c.get(&format!("/contacts/{}", ann.contact)).await.assert_status(200).assert_contains("This contact was deleted");

    // R4: deleting them again deletes nothing and changes nothing
    let before = snapshot(&f.raw).await;
    let again = c.post("/contacts/delete", &[("ids", &a), ("confirm", "DELETE")]).await;
    again.assert_status(404).assert_contains("already deleted");
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(batch_of(&f.raw, ann.contact).await, Some(batch), "the first deletion's batch is kept");
});

both_backends!(async fn an_htmx_deletion_answers_with_an_alert_fragment(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let mut c = app.admin().await;

    let id = ann.contact.to_string();
    let r = c.post_htmx("/contacts/delete", &[("ids", &id), ("confirm", "DELETE")]).await;

    r.assert_status(200).assert_contains("Deleted 1 contact");
    assert!(!r.body.contains("<html"), "a fragment");
    assert_eq!(r.header("hx-trigger"), Some("contacts-changed"));
    let batch = batch_of(&f.raw, ann.contact).await.expect("deleted in a batch");
    assert_eq!(batch_in_page(&r.body), Some(batch), "the alert offers to restore this batch");
    assert!(is_deleted(&f.raw, ann.contact).await);
    assert_associated(&f.raw, ann.contact, 0).await;

    // from the contact page: the browser is sent back to the list
    let id = bob.to_string();
    let r = c.post_htmx("/contacts/delete", &[("ids", &id), ("confirm", "DELETE"), ("origin", "contact")]).await;
    r.assert_status(200);
    assert_eq!(r.header("hx-redirect"), Some("/contacts"));
    assert!(is_deleted(&f.raw, bob).await);

    // an htmx error is an alert for the page's alert area, with a 4xx status
    let cara = f.contact("Carabel", None, &[]).await;
    let id = cara.to_string();
    let r = c.post_htmx("/contacts/delete", &[("ids", &id), ("confirm", "delete")]).await;
    r.assert_status(400).assert_contains("Type DELETE");
    assert_eq!(r.header("hx-retarget"), Some("#alerts"));
    assert!(is_live(&f.raw, cara).await);
});

both_backends!(async fn select_all_deletes_what_matched_when_the_admin_confirmed(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Ann", None, &["Lead"]).await.contact;
    let anna = f.contact("Anna", None, &["Lead"]).await;
    let andy = f.contact("Andy", None, &["Lead"]).await;
    let bob = f.contact("Bob", None, &["Lead"]).await; // tagged, does not match "an"
    let dan = f.contact("Dan", None, &[]).await; // matches "an", not tagged
    let theirs = create_contact(&f.repo, app.b.id, "Anders", None, &["Lead"]).await;
    let mut c = app.admin().await;

    // the page the admin looked at, and the moment it was read
    let page = c.get("/contacts?q=an&tag=Lead").await;
    page.assert_status(200).assert_contains("3 contacts match this search");
    let as_of = attr_values(&page.body, "data-as-of").into_iter().next().expect("the list's as_of");
    // a contact that matches is added after that moment
    f.advance(Duration::minutes(1));
    let later = f.contact("Anastasia", None, &["Lead"]).await;
    f.advance(Duration::minutes(1));

    let excluded = anna.to_string();
    let r = c
        .post(
            "/contacts/delete",
            &[
                ("select_all", "true"),
                ("q", "an"),
                ("tag", "Lead"),
                ("as_of", &as_of),
                ("exclude", &excluded),
                ("confirm", "DELETE"),
            ],
        )
        .await;

    r.assert_see_other("/contacts");
    assert!(is_deleted(&f.raw, ann).await);
    assert!(is_deleted(&f.raw, andy).await);
    assert_associated(&f.raw, ann, 0).await;
    for survivor in [anna, bob, dan, later, theirs] {
        assert!(is_live(&f.raw, survivor).await, "contact {survivor} must survive (R6)");
    }
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].2, 2);
    assert!(events[0].6.contains("tagged \"Lead\""), "{}", events[0].6);
    assert!(events[0].6.contains("except 1 unticked"), "{}", events[0].6);
    c.get("/contacts").await.assert_contains("Deleted 2 contacts");
});

both_backends!(async fn bad_delete_requests_get_a_clear_4xx_and_change_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &[]).await.contact;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", Some("zed@bravo.test"), &[]).await;
    let mut c = app.admin().await;
    let a = ann.to_string();
    let t = theirs.to_string();
    let long_reason = "r".repeat(501);
    let as_of = crate::rfc3339(f.now());

    // (what, form fields, status, message)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("a malformed id", vec![("ids", "abc"), ("confirm", "DELETE")], 400, "\"abc\" is not a valid contact id"),
        ("a negative id", vec![("ids", "-1"), ("confirm", "DELETE")], 400, "is not a valid contact id"),
        ("a malformed id among good ones", vec![("ids", &a), ("ids", "12x"), ("confirm", "DELETE")], 400, "is not a valid contact id"),
        ("an unknown id", vec![("ids", "987654"), ("confirm", "DELETE")], 404, "None of the selected contacts could be deleted"),
        ("another account's id", vec![("ids", &t), ("confirm", "DELETE")], 404, "do not belong to this account"),
        ("no selection", vec![("confirm", "DELETE")], 400, "Select at least one contact."),
        ("an empty id", vec![("ids", ""), ("confirm", "DELETE")], 400, "Select at least one contact."),
        ("lower-case confirmation", vec![("ids", &a), ("confirm", "delete")], 400, "Type DELETE"),
        ("a trailing space", vec![("ids", &a), ("confirm", "DELETE ")], 400, "Type DELETE"),
        ("a leading space", vec![("ids", &a), ("confirm", " DELETE")], 400, "Type DELETE"),
        ("title case", vec![("ids", &a), ("confirm", "Delete")], 400, "Type DELETE"),
        ("no confirmation", vec![("ids", &a)], 400, "Type DELETE"),
        ("select all without as_of", vec![("select_all", "true"), ("confirm", "DELETE")], 400, "as_of"),
        ("select all with a garbage as_of", vec![("select_all", "true"), ("as_of", "yesterday"), ("confirm", "DELETE")], 400, "\"yesterday\" is not a valid as_of moment"),
        ("ids and select all together", vec![("select_all", "true"), ("as_of", &as_of), ("ids", &a), ("confirm", "DELETE")], 400, "not both"),
        ("a garbage exclusion", vec![("select_all", "true"), ("as_of", &as_of), ("exclude", "x"), ("confirm", "DELETE")], 400, "is not a valid contact id"),
        ("a tag filter that is no tag", vec![("select_all", "true"), ("as_of", &as_of), ("tag", &long_reason), ("confirm", "DELETE")], 400, "is not a valid tag"),
        ("a reason over 500 characters", vec![("ids", &a), ("confirm", "DELETE"), ("reason", &long_reason)], 400, "reason is too long"),
    ];
    for (what, fields, status, message) in cases {
        let before = snapshot(&f.raw).await;
        let r = c.post("/contacts/delete", &fields).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        r.assert_contains(message);
        assert_eq!(snapshot(&f.raw).await, before, "{what} changed nothing");
        assert!(is_live(&f.raw, ann).await, "{what}");
        assert!(is_live(&f.raw, theirs).await, "{what}");
    }

    // CSRF: missing or wrong token → 403, nothing deleted
    for (what, csrf) in [("no token", Csrf::Missing), ("a wrong token", Csrf::Wrong)] {
        let before = snapshot(&f.raw).await;
        let r = c.post_with("/contacts/delete", &[("ids", &a), ("confirm", "DELETE")], csrf, false).await;
        r.assert_status(403).assert_contains("security token");
        assert_eq!(snapshot(&f.raw).await, before, "{what}");
    }
    // the token in the X-CSRF-Token header is accepted like the form field
    assert!(is_live(&f.raw, ann).await);

    // B's contacts are out of reach even mixed with A's: only A's is deleted
    let r = c.post("/contacts/delete", &[("ids", &a), ("ids", &t), ("confirm", "DELETE")]).await;
    r.assert_see_other("/contacts");
    assert!(is_deleted(&f.raw, ann).await);
    assert!(is_live(&f.raw, theirs).await, "another account's contact is untouched");
    assert_eq!(audit_rows(&f.raw, f.acc.id, "delete").await[0].2, 1);
    assert!(audit_rows(&f.raw, app.b.id, "delete").await.is_empty());
});

both_backends!(async fn a_regular_user_cannot_delete_nor_preview_and_sees_no_delete_control(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await.contact;
    let mut user = app.user().await;
    let a = ann.to_string();
    let as_of = crate::rfc3339(f.now());
    let before = snapshot(&f.raw).await;

    user.post("/contacts/delete", &[("ids", &a), ("confirm", "DELETE")]).await.assert_status(403).assert_contains("Only admins");
    user.post_htmx("/contacts/delete", &[("ids", &a), ("confirm", "DELETE")]).await.assert_status(403);
    user.post("/contacts/delete", &[("select_all", "true"), ("as_of", &as_of), ("confirm", "DELETE")])
        .await
        .assert_status(403);
    user.get(&format!("/contacts/delete-preview?ids={a}")).await.assert_status(403);

    assert_eq!(snapshot(&f.raw).await, before, "nothing deleted");
    assert!(is_live(&f.raw, ann).await);
    assert_associated(&f.raw, ann, 1).await;
    // no delete control on the list for a regular user; an admin has one
    let page = user.get("/contacts").await;
    page.assert_status(200).assert_contains("Annabel Tester");
    assert!(!page.body.contains("id=\"bulk-delete\""));
    assert!(!page.body.contains("id=\"delete-dialog\""));
    let mut admin = app.admin().await;
    assert!(admin.get("/contacts").await.body.contains("id=\"bulk-delete\""));

    // an admin demoted while signed in loses the right with the next request (R1)
    let email = contacts_admin::domain::Email::parse(&f.acc.admin_email).unwrap();
    f.repo
        .upsert_user(f.acc.id, &email, "Acme Admin", contacts_admin::domain::Role::User, crate::support::password_hash())
        .await
        .expect("demote the admin");
    admin.post("/contacts/delete", &[("ids", &a), ("confirm", "DELETE")]).await.assert_status(403);
    assert!(!admin.get("/contacts").await.body.contains("id=\"bulk-delete\""));
    assert_eq!(snapshot(&f.raw).await, before, "nothing deleted");
});

both_backends!(async fn the_delete_preview_counts_what_goes_with_the_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await.contact;
    let bob = f.full_contact("Bobby", None, &[]).await.contact;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", None, &[]).await;
    let mut c = app.admin().await;
    let before = snapshot(&f.raw).await;

    let r = c.get(&format!("/contacts/delete-preview?ids={ann}&ids={bob}&ids={theirs}")).await;

    r.assert_status(200).assert_contains("Delete 2 contacts?");
    let text = r.text();
    for (n, what) in [
        (2, "conversations"),
        (2, "messages"),
        (2, "notes"),
        (2, "tasks"),
        (2, "appointments"),
        (2, "opportunities"),
        (2, "manual actions"),
        (2, "attached files and signed documents"),
        (2, "list memberships"),
        (2, "open opportunities"),
        (2, "upcoming appointments"),
        (2, "active campaign or workflow enrollments will stop"),
        (2, "contacts other users worked on in the last 7 days"),
    ] {
        assert!(text.contains(&format!("<strong>{n}</strong> {what}")), "expected {n} {what} in:\n{text}");
    }
    // the selection is carried into the delete form
    let ids = attr_values(&r.body, "value");
    assert!(ids.contains(&ann.to_string()) && ids.contains(&bob.to_string()));
    assert!(!r.text().contains("Zedekiah"), "nothing of B's contact is shown");
    assert_eq!(snapshot(&f.raw).await, before, "a preview changes nothing");
    assert!(is_live(&f.raw, ann).await && is_live(&f.raw, bob).await);

    // select all: N matching, as of the page's moment
    let as_of = crate::rfc3339(f.now());
    let r = c.get(&format!("/contacts/delete-preview?select_all=true&as_of={}", urlencode(&as_of))).await;
    r.assert_status(200).assert_contains("Delete 2 contacts?");
    // nothing of this account selected: a clear 400
    c.get(&format!("/contacts/delete-preview?ids={theirs}")).await.assert_status(400).assert_contains("nothing to delete");
    c.get("/contacts/delete-preview?ids=abc").await.assert_status(400).assert_contains("is not a valid contact id");
    c.get("/contacts/delete-preview").await.assert_status(400).assert_contains("Select at least one contact.");
    assert_eq!(live_count(&f.raw, f.acc.id).await, 2);
});

both_backends!(async fn oversized_requests_are_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let mut c = app.admin().await;
    let token = c.token().await;
    let before = snapshot(&f.raw).await;

    // 10,001 ids: refused with a pointer to "Select all"
    let many: Vec<String> = (1..=10_001).map(|n| n.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = many.iter().map(|id| ("ids", id.as_str())).collect();
    fields.push(("confirm", "DELETE"));
    let r = c.post("/contacts/delete", &fields).await;
    r.assert_status(400).assert_contains("Too many contacts");
    assert_eq!(snapshot(&f.raw).await, before);

    // 10,000 ids is within the limit (only the one that exists is deleted)
    let mut fields: Vec<(&str, &str)> = many[..9_999].iter().map(|id| ("ids", id.as_str())).collect();
    let a = ann.to_string();
    fields.push(("ids", &a));
    fields.push(("confirm", "DELETE"));
    c.post("/contacts/delete", &fields).await.assert_see_other("/contacts");
    assert!(is_deleted(&f.raw, ann).await);

    // a body over 2 MB: 413, whether its length is announced or not
    let bob = f.contact("Bobby", None, &[]).await;
    let before_bob = snapshot(&f.raw).await;
    let mut body = format!("csrf_token={token}&confirm=DELETE&ids={bob}&reason=").into_bytes();
    body.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024 + 1));
    let r = c.post_raw("/contacts/delete", body.clone()).await.expect("a response to an oversized body");
    r.assert_status(413);
    let status = c.post_chunked("/contacts/delete", &body).await;
    assert_eq!(status, 413, "a streamed (chunked) oversized body");
    assert_eq!(snapshot(&f.raw).await, before_bob);
    assert!(is_live(&f.raw, bob).await);
});

both_backends!(async fn text_with_a_nul_byte_is_a_clear_400_never_a_500(db: TestDb) {
    // PostgreSQL refuses a NUL byte in text: such input must be refused before it
    // reaches the database, on every backend alike.
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await.contact;
    let mut c = app.admin().await;
    let a = ann.to_string();
    let as_of = crate::rfc3339(f.now());
    let before = snapshot(&f.raw).await;

    for path in [
        "/contacts?q=ann%00",
        "/contacts/restore?q=ann%00",
        "/contacts/export.csv?select_all=true&q=ann%00",
        "/contacts/delete-preview?select_all=true&as_of=2026-03-02T09%3A30%3A00Z&q=ann%00",
    ] {
        c.get(path).await.assert_status(400).assert_contains("control characters");
    }
    let r = c.post("/contacts/delete", &[("ids", &a), ("confirm", "DELETE"), ("reason", "asked\0twice")]).await;
    r.assert_status(400).assert_contains("control characters");
    let r = c
        .post("/contacts/delete", &[("select_all", "true"), ("as_of", &as_of), ("q", "ann\0"), ("confirm", "DELETE")])
        .await;
    r.assert_status(400).assert_contains("control characters");
    let r = c.post("/contacts/tags", &[("select_all", "true"), ("as_of", &as_of), ("q", "ann\0"), ("tag_name", "X")]).await;
    r.assert_status(400).assert_contains("control characters");
    c.post("/contacts", &[("first_name", "Nul\0Name")]).await.assert_status(400).assert_contains("control characters");
    assert_eq!(snapshot(&f.raw).await, before);
    assert!(is_live(&f.raw, ann).await);

    // at login it is just a failed login
    let mut anon = app.client();
    anon.try_login(&format!("{}\0", app.f.acc.admin_email), "x\0").await.assert_status(401);
    anon.try_login("\0", crate::support::TEST_PASSWORD).await.assert_status(401);
});

both_backends!(async fn a_large_select_all_deletion_runs_in_chunks_and_its_batch_restores(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    // more contacts than one deletion chunk (500) and one restore chunk (1,000)
    f.repo.seed_contacts(f.acc.id, 1_100, &[f.acc.admin, f.acc.user]).await.expect("seed A");
    f.repo.seed_contacts(app.b.id, 5, &[app.b.admin]).await.expect("seed B");
    let rows_of = |account: contacts_admin::domain::AccountId| {
        let raw = f.raw.clone();
        async move {
            let mut n = 0;
            for table in crate::support::REMOVED_WITH_CONTACT {
                n += raw.count(table, "account_id = $1", args![account]).await;
            }
            n
        }
    };
    assert!(rows_of(f.acc.id).await > 1_100 * 10);
    let b_rows = rows_of(app.b.id).await;
    let mut c = app.admin().await;
    let page = c.get("/contacts").await;
    page.assert_contains("1,100 contacts in this account");
    let as_of = attr_values(&page.body, "data-as-of").into_iter().next().unwrap();
    let everything = [("select_all", "true"), ("as_of", as_of.as_str()), ("confirm", "DELETE")];
    // every contact of the account: the count must be typed as well as DELETE
    let before = snapshot(&f.raw).await;
    for typed in [None, Some("1,099"), Some("1100 contacts")] {
        let mut fields = everything.to_vec();
        fields.extend(typed.map(|t| ("confirm_count", t)));
        c.post("/contacts/delete", &fields)
            .await
            .assert_status(400)
            .assert_contains("This deletes every contact in Acme: type the number of contacts, 1,100, to confirm.");
    }
    assert_eq!(snapshot(&f.raw).await, before, "a refused deletion changes nothing");

    let mut fields = everything.to_vec();
    fields.push(("confirm_count", "1,100"));
    let r = c.post("/contacts/delete", &fields).await;

    r.assert_see_other("/contacts");
    assert_eq!(live_count(&f.raw, f.acc.id).await, 0);
    assert_eq!(f.raw.count("contacts", "account_id = $1 and deleted_at is not null", args![f.acc.id]).await, 1_100);
    assert_eq!(rows_of(f.acc.id).await, 0, "R2 for every contact of every chunk");
    assert_eq!(f.raw.count("enrollments", "account_id = $1 and status = 'active'", args![f.acc.id]).await, 0);
    assert_eq!(f.raw.count("community_groups", "account_id = $1 and owner_contact_id is not null", args![f.acc.id]).await, 0);
    // B is untouched
    assert_eq!(live_count(&f.raw, app.b.id).await, 5);
    assert_eq!(rows_of(app.b.id).await, b_rows);
    let events = audit_rows(&f.raw, f.acc.id, "delete").await;
    assert_eq!(events.len(), 1, "one deletion, one audit event");
    assert_eq!(events[0].2, 1_100);
    let batch = events[0].4.expect("the batch");
    assert_eq!(f.raw.count("contacts", "deletion_batch_id = $1", args![batch]).await, 1_100);
    let page = c.get("/contacts").await;
    page.assert_contains("Deleted 1,100 contacts").assert_contains("0 contacts in this account");
    assert_eq!(batch_in_page(&page.body), Some(batch));

    c.post(&format!("/batches/{batch}/restore"), &[]).await.assert_see_other("/contacts/restore");

    assert_eq!(live_count(&f.raw, f.acc.id).await, 1_100);
    assert_eq!(rows_of(f.acc.id).await, 0, "restored without their data");
    let restores = audit_rows(&f.raw, f.acc.id, "restore").await;
    assert_eq!((restores.len(), restores[0].2), (1, 1_100));
    c.get("/contacts").await.assert_contains("1,100 contacts in this account");
});
