//! The Restore page and restoring (R8, R11, R12, R13), erase now (R14), purge after the
//! window (R9, R10), and the audit log, all through HTTP with the database checked.

use crate::app::{batch_in_page, hrefs, spawn_app, Client, TestApp};
use crate::support::{assert_associated, create_contact};
use crate::{args, audit_rows, batch_of, both_backends, exists, is_deleted, is_live, snapshot, sqlite_only};
use chrono::Duration;
use contacts_admin::domain::ContactId;

/// Deletes `ids` through the UI as `c` and returns the deletion's batch id, read from
/// the Undo form of the flash.
async fn delete_via_http(c: &mut Client, ids: &[ContactId]) -> i64 {
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    fields.push(("confirm", "DELETE"));
    // asked for only when the deletion leaves the account empty
    let count = ids.len().to_string();
    fields.push(("confirm_count", &count));
    c.post("/contacts/delete", &fields).await.assert_see_other("/contacts");
    let page = c.get("/contacts").await;
    batch_in_page(&page.body).expect("the flash offers to restore the batch")
}

async fn restore_count(app: &TestApp) -> usize {
    audit_rows(&app.f.raw, app.f.acc.id, "restore").await.len()
}

both_backends!(async fn a_deleted_contact_is_listed_and_restored_without_its_data(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut c = app.admin().await;
    let batch = delete_via_http(&mut c, &[ann.contact, bob]).await;
    assert_eq!(batch_of(&f.raw, ann.contact).await, Some(batch));

    // the Restore page: who, when, how long is left
    let page = c.get("/contacts/restore").await;
    page.assert_status(200)
        .assert_contains("Annabel Tester")
        .assert_contains("annabel@example.test")
        .assert_contains("Acme Admin")
        .assert_contains("60 days left")
        .assert_contains("2 deleted contacts");
    f.advance(Duration::days(10));
    c.get("/contacts/restore").await.assert_contains("50 days left");
    // its search
    let found = c.get("/contacts/restore?q=bobby").await;
    found.assert_contains("Bobby Tester").assert_not_contains("Annabel Tester");

    let a = ann.contact.to_string();
    let r = c.post("/contacts/restore", &[("ids", &a)]).await;

    r.assert_see_other("/contacts/restore");
    // R8: the record and its tags are back, its data is not
    assert!(is_live(&f.raw, ann.contact).await);
    assert_eq!(batch_of(&f.raw, ann.contact).await, None);
    let (by,): (Option<i64>,) = f.raw.one("select deleted_by_user_id from contacts where id = $1", args![ann.contact]).await;
    assert_eq!(by, None);
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1 and tag = 'VIP'", args![ann.contact]).await, 1);
    assert_associated(&f.raw, ann.contact, 0).await;
    let (status,): (String,) = f.raw.one("select status from enrollments where id = $1", args![ann.active_enrollment]).await;
    assert_eq!(status, "stopped", "a restored contact is not re-enrolled");
    assert!(is_deleted(&f.raw, bob).await, "only the selected contact is restored");
    let events = audit_rows(&f.raw, f.acc.id, "restore").await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].1.as_str(), events[0].2, events[0].5), ("ui", 1, Some(f.acc.admin.0)));

    c.get("/contacts/restore")
        .await
        .assert_contains("Annabel Tester was restored.")
        .assert_not_contains("Annabel Tester</a>");
    let list = c.get("/contacts").await;
    list.assert_contains("Annabel Tester").assert_not_contains("Bobby Tester");
    c.get(&format!("/contacts/{}", ann.contact)).await.assert_status(200).assert_contains("Notes (0)");

    // restoring a live or unknown contact restores nothing, clearly
    let before = snapshot(&f.raw).await;
    c.post("/contacts/restore", &[("ids", &a)]).await.assert_status(404).assert_contains("None of the selected contacts");
    c.post("/contacts/restore", &[("ids", "abc")]).await.assert_status(400).assert_contains("is not a valid contact id");
    c.post("/contacts/restore", &[]).await.assert_status(400).assert_contains("Select at least one contact.");
    assert_eq!(snapshot(&f.raw).await, before);
});

/// The ids of the rows of the Restore page, in page order.
fn restore_rows(html: &str) -> Vec<i64> {
    let marker = r#"class="restore-check" name="ids" value=""#;
    html.match_indices(marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

both_backends!(async fn the_restore_page_pages_through_one_large_deletion(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for n in 0..55 {
        ids.push(f.contact(&format!("Person{n:02}"), None, &[]).await);
    }
    let mut c = app.admin().await;
    delete_via_http(&mut c, &ids).await; // one batch: every row has the same deletion time

    let first = c.get("/contacts/restore").await;
    first.assert_status(200).assert_contains("55 deleted contacts");
    let page1 = restore_rows(&first.body);
    assert_eq!(page1.len(), 50);
    let older = hrefs(&first.body)
        .into_iter()
        .find(|h| h.starts_with("/contacts/restore?") && h.contains("after="))
        .expect("a Next page link");
    let second = c.get(&older).await;
    second.assert_status(200);
    let page2 = restore_rows(&second.body);
    assert_eq!(page2.len(), 5);
    let mut all: Vec<i64> = page1.iter().chain(page2.iter()).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all, ids.iter().map(|i| i.0).collect::<Vec<_>>(), "every deleted contact exactly once");
    assert!(hrefs(&second.body).iter().all(|h| !h.contains("after=")), "no page after the last");
});

both_backends!(async fn restore_is_refused_from_exactly_60_days_and_purge_then_removes_the_contact(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &[]).await.contact;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut c = app.admin().await;
    f.advance(Duration::minutes(1));
    let ann_batch = delete_via_http(&mut c, &[ann]).await;
    delete_via_http(&mut c, &[bob]).await;

    // one millisecond before the window closes: still restorable
    f.advance(Duration::days(60) - Duration::milliseconds(1));
    c.get("/contacts/restore").await.assert_contains("less than a day left");
    let b = bob.to_string();
    c.post("/contacts/restore", &[("ids", &b)]).await.assert_see_other("/contacts/restore");
    assert!(is_live(&f.raw, bob).await);

    // exactly 60 days after the deletion: refused, by ids and by batch
    f.advance(Duration::milliseconds(1));
    let before = snapshot(&f.raw).await;
    let page = c.get("/contacts/restore").await;
    page.assert_status(200).assert_not_contains("Annabel Tester");
    let a = ann.to_string();
    let r = c.post("/contacts/restore", &[("ids", &a)]).await;
    r.assert_status(400).assert_contains("60-day restore window");
    let r = c.post(&format!("/batches/{ann_batch}/restore"), &[]).await;
    r.assert_status(400).assert_contains("60-day restore window");
    assert!(is_deleted(&f.raw, ann).await, "still deleted");
    assert_eq!(snapshot(&f.raw).await, before);

    // purge removes it for good, and audits the purge
    let report = f.repo.purge_expired().await.expect("purge");
    assert_eq!(report.purged, 1);
    assert!(!exists(&f.raw, ann).await);
    assert!(is_live(&f.raw, bob).await);
    let purges = audit_rows(&f.raw, f.acc.id, "purge").await;
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0].2, 1);
    // after purge the id is simply unknown
    c.post("/contacts/restore", &[("ids", &a)]).await.assert_status(404);
    // and the audit log shows the purge
    c.get("/audit").await.assert_status(200).assert_contains("Purge");
});

both_backends!(async fn restore_by_batch_restores_exactly_that_deletion(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let cara = f.contact("Carabel", None, &[]).await;
    let mut c = app.admin().await;
    let first = delete_via_http(&mut c, &[ann, bob]).await;
    f.advance(Duration::minutes(1));
    let second = delete_via_http(&mut c, &[cara]).await;
    assert_ne!(first, second);
    // the batch id of the flash is the one the database and the audit log hold
    let (audit_batch,): (Option<i64>,) = f
        .raw
        .one("select batch_id from audit_events where account_id = $1 and action = 'delete' order by id limit 1", args![f.acc.id])
        .await;
    assert_eq!(audit_batch, Some(first));
    let audit = c.get("/audit").await;
    audit.assert_status(200).assert_contains("Deletion").assert_contains("Acme Admin");
    assert!(audit.body.contains(&format!("/batches/{first}/restore")), "one click from the audit log (R12)");

    let r = c.post(&format!("/batches/{first}/restore"), &[("return_to", "/audit")]).await;

    r.assert_see_other("/audit");
    assert!(is_live(&f.raw, ann).await);
    assert!(is_live(&f.raw, bob).await);
    assert!(is_deleted(&f.raw, cara).await, "another deletion is left alone");
    let events = audit_rows(&f.raw, f.acc.id, "restore").await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].2, events[0].4), (2, Some(first)));
    c.get("/audit").await.assert_contains("were restored.").assert_contains("Deletion of 2 contacts on");

    // from the htmx flash: back to the list
    let r = c.post_htmx(&format!("/batches/{second}/restore"), &[]).await;
    r.assert_see_other("/contacts");
    assert!(is_live(&f.raw, cara).await);

    // unknown or malformed batches: 404, nothing changes
    let before = snapshot(&f.raw).await;
    c.post("/batches/999999/restore", &[]).await.assert_status(404).assert_contains("no such deletion");
    c.post("/batches/abc/restore", &[]).await.assert_status(404);
    c.post(&format!("/batches/{first}/restore"), &[]).await.assert_status(303); // nothing left to restore: a no-op
    assert_eq!(snapshot(&f.raw).await, before);
});

both_backends!(async fn a_restore_that_conflicts_on_email_is_reported_and_the_others_proceed(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("shared@example.test"), &[]).await;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut c = app.admin().await;
    delete_via_http(&mut c, &[ann, bob]).await;
    // a new live contact takes the deleted contact's email
    let r = c.post("/contacts", &[("first_name", "Newcomer"), ("email", "shared@example.test")]).await;
    r.assert_status(303);
    let live: i64 = r.location().unwrap().trim_start_matches("/contacts/").parse().unwrap();

    let (a, b) = (ann.to_string(), bob.to_string());
    let r = c.post("/contacts/restore", &[("ids", &a), ("ids", &b)]).await;

    r.assert_see_other("/contacts/restore");
    assert!(is_live(&f.raw, bob).await, "the other contact is restored");
    assert!(is_deleted(&f.raw, ann).await, "the conflicting contact stays deleted");
    assert!(is_live(&f.raw, ContactId(live)).await);
    let page = c.get("/contacts/restore").await;
    page.assert_status(200)
        .assert_contains("Bobby Tester was restored.")
        .assert_contains("Annabel Tester was not restored: Newcomer already uses shared@example.test.")
        .assert_contains("Open Newcomer")
        .assert_not_contains(&format!("#{ann}"));
    assert!(hrefs(&page.body).contains(&format!("/contacts/{live}")), "the conflict links the live contact");

    // restoring only the conflicting one: 409 with the reason, still deleted
    let before = snapshot(&f.raw).await;
    let r = c.post("/contacts/restore", &[("ids", &a)]).await;
    r.assert_status(409).assert_contains("shared@example.test");
    assert!(is_deleted(&f.raw, ann).await);
    assert_eq!(snapshot(&f.raw).await, before);
});

both_backends!(async fn deleted_twins_with_one_email_restore_one_and_report_the_other(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let first = f.contact("First", Some("twin@example.test"), &[]).await;
    let mut c = app.admin().await;
    delete_via_http(&mut c, &[first]).await;
    f.advance(Duration::minutes(1));
    let second = f.contact("Second", Some("twin@example.test"), &[]).await;
    delete_via_http(&mut c, &[second]).await;

    let (a, b) = (first.to_string(), second.to_string());
    let r = c.post("/contacts/restore", &[("ids", &a), ("ids", &b)]).await;

    r.assert_see_other("/contacts/restore");
    let live = [is_live(&f.raw, first).await, is_live(&f.raw, second).await];
    assert_eq!(live.iter().filter(|l| **l).count(), 1, "exactly one of the twins comes back: {live:?}");
    assert_eq!(f.raw.count("contacts", "email = 'twin@example.test' and deleted_at is null", &[]).await, 1);
    let (winner, loser) = if live[0] { (first, second) } else { (second, first) };
    let page = c.get("/contacts/restore").await;
    let name = |id: ContactId| if id == first { "First Tester" } else { "Second Tester" };
    page.assert_contains(&format!("{} was not restored: {} already uses twin@example.test.", name(loser), name(winner)));
    assert!(hrefs(&page.body).contains(&format!("/contacts/{winner}")));
});

both_backends!(async fn bad_restore_requests_get_a_clear_400(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let mut c = app.admin().await;
    delete_via_http(&mut c, &[ann]).await;
    let before = snapshot(&f.raw).await;

    let many: Vec<String> = (1..=10_001).map(|n| n.to_string()).collect();
    let fields: Vec<(&str, &str)> = many.iter().map(|id| ("ids", id.as_str())).collect();
    c.post("/contacts/restore", &fields).await.assert_status(400).assert_contains("Too many contacts");
    let mut erase = fields.clone();
    erase.push(("confirm", "DELETE"));
    c.post("/contacts/erase", &erase).await.assert_status(400).assert_contains("Too many contacts");
    c.get("/contacts/restore?after=garbage").await.assert_status(400).assert_contains("page link is not valid");
    c.get(&format!("/contacts/restore?q={}", "q".repeat(201))).await.assert_status(400).assert_contains("too long");
    let a = ann.to_string();
    c.post_with("/contacts/restore", &[("ids", &a)], crate::app::Csrf::Missing, false).await.assert_status(403);
    c.post_with("/contacts/erase", &[("ids", &a), ("confirm", "DELETE")], crate::app::Csrf::Wrong, false).await.assert_status(403);
    c.post_with("/contacts/restore", &[("ids", &a)], crate::app::Csrf::Wrong, true).await.assert_status(403);

    assert_eq!(snapshot(&f.raw).await, before);
    assert!(is_deleted(&f.raw, ann).await);
});

both_backends!(async fn erase_now_removes_deleted_contacts_for_good_behind_typed_delete(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let cara = f.contact("Carabel", None, &[]).await;
    let mut c = app.admin().await;
    delete_via_http(&mut c, &[ann.contact, bob]).await;
    let (a, b, l) = (ann.contact.to_string(), bob.to_string(), cara.to_string());

    // refusals first: nothing is erased
    let before = snapshot(&f.raw).await;
    for (what, fields, status, message) in [
        ("lower-case confirmation", vec![("ids", a.as_str()), ("confirm", "delete")], 400, "Type DELETE"),
        ("a trailing space", vec![("ids", a.as_str()), ("confirm", "DELETE ")], 400, "Type DELETE"),
        ("no confirmation", vec![("ids", a.as_str())], 400, "Type DELETE"),
        ("no ids", vec![("confirm", "DELETE")], 400, "Select at least one contact."),
        ("a malformed id", vec![("ids", "x1"), ("confirm", "DELETE")], 400, "is not a valid contact id"),
        ("a live contact", vec![("ids", l.as_str()), ("confirm", "DELETE")], 404, "None of the selected contacts"),
    ] {
        let r = c.post("/contacts/erase", &fields).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        r.assert_contains(message);
        assert_eq!(snapshot(&f.raw).await, before, "{what}");
    }
    assert!(is_live(&f.raw, cara).await);

    let r = c.post("/contacts/erase", &[("ids", &a), ("confirm", "DELETE")]).await;

    r.assert_see_other("/contacts/restore");
    assert!(!exists(&f.raw, ann.contact).await, "the row is gone");
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![ann.contact]).await, 0);
    assert_eq!(f.raw.count("enrollments", "contact_id = $1", args![ann.contact]).await, 0);
    assert!(is_deleted(&f.raw, bob).await, "only the selected contact is erased");
    let events = audit_rows(&f.raw, f.acc.id, "erase").await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].1.as_str(), events[0].2), ("ui", 1));
    assert!(!events[0].6.contains("annabel"), "the audit keeps no email: {}", events[0].6);
    c.get("/contacts/restore").await.assert_contains("Permanently erased 1 contact").assert_not_contains("Annabel Tester");
    // it cannot come back
    c.post("/contacts/restore", &[("ids", &a)]).await.assert_status(404);
    let _ = b;
});

both_backends!(async fn a_regular_user_can_neither_see_nor_use_restore_erase_or_audit(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let mut admin = app.admin().await;
    let batch = delete_via_http(&mut admin, &[ann]).await;
    assert!(hrefs(&admin.get("/contacts").await.body).contains(&"/contacts/restore".to_string()), "admins get the Restore item");
    let mut user = app.user().await;
    let a = ann.to_string();
    let before = snapshot(&f.raw).await;

    user.get("/contacts/restore").await.assert_status(403).assert_contains("Only admins");
    user.get("/audit").await.assert_status(403);
    user.post("/contacts/restore", &[("ids", &a)]).await.assert_status(403);
    user.post("/contacts/erase", &[("ids", &a), ("confirm", "DELETE")]).await.assert_status(403);
    user.post(&format!("/batches/{batch}/restore"), &[]).await.assert_status(403);
    user.post_htmx(&format!("/batches/{batch}/restore"), &[]).await.assert_status(403);

    assert!(is_deleted(&f.raw, ann).await);
    assert_eq!(snapshot(&f.raw).await, before);
    let page = user.get("/contacts").await;
    page.assert_status(200);
    assert!(!hrefs(&page.body).contains(&"/contacts/restore".to_string()), "no Restore menu item for a regular user");
    assert!(!hrefs(&page.body).contains(&"/audit".to_string()), "no audit log link either");
});

both_backends!(async fn an_admin_of_another_account_cannot_restore_or_erase_our_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &[]).await;
    let mut admin = app.admin().await;
    let batch = delete_via_http(&mut admin, &[ann]).await;
    let mut b = app.admin_b().await;
    let a = ann.to_string();
    let before = snapshot(&f.raw).await;
    let restores = restore_count(&app).await;

    let page = b.get("/contacts/restore").await;
    page.assert_status(200).assert_not_contains("Annabel").assert_contains("0 deleted contacts");
    b.post("/contacts/restore", &[("ids", &a)]).await.assert_status(404);
    b.post("/contacts/erase", &[("ids", &a), ("confirm", "DELETE")]).await.assert_status(404);
    b.post(&format!("/batches/{batch}/restore"), &[]).await.assert_status(404);
    let audit = b.get("/audit").await;
    audit.assert_status(200);
    assert!(!audit.body.contains(&format!("/batches/{batch}/restore")), "B's audit log shows none of A's deletions");

    assert!(is_deleted(&f.raw, ann).await, "A's contact is still deleted, not erased");
    assert_eq!(batch_of(&f.raw, ann).await, Some(batch));
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(restore_count(&app).await, restores);
    assert!(audit_rows(&f.raw, app.b.id, "restore").await.is_empty());
    assert!(audit_rows(&f.raw, app.b.id, "erase").await.is_empty());
    // and A's admin still can
    admin.post(&format!("/batches/{batch}/restore"), &[]).await.assert_see_other("/contacts/restore");
    assert!(is_live(&f.raw, ann).await);
    // B's own contact with the same id range is not touched by A's requests either
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", None, &[]).await;
    let t = theirs.to_string();
    b.post("/contacts/delete", &[("ids", &t), ("confirm", "DELETE")]).await.assert_see_other("/contacts");
    admin.post("/contacts/restore", &[("ids", &t)]).await.assert_status(404);
    admin.post("/contacts/erase", &[("ids", &t), ("confirm", "DELETE")]).await.assert_status(404);
    assert!(is_deleted(&f.raw, theirs).await);
});

both_backends!(async fn the_audit_log_lists_deletions_with_reason_and_channel(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &[]).await;
    let mut c = app.admin().await;
    let a = ann.to_string();
    c.post("/contacts/delete", &[("ids", &a), ("confirm", "DELETE"), ("reason", "Asked to be forgotten")])
        .await
        .assert_see_other("/contacts");

    let r = c.get("/audit").await;

    r.assert_status(200)
        .assert_contains("Deletion")
        .assert_contains("Asked to be forgotten")
        .assert_contains("UI")
        .assert_contains("Acme Admin")
        .assert_contains(&format!("contact #{ann}"))
        .assert_not_contains("annabel@example.test");
    c.get("/audit?action=restore").await.assert_status(200).assert_not_contains("Asked to be forgotten");
    c.get("/audit?action=nonsense").await.assert_status(400).assert_contains("Unknown kind of event");
    c.get("/audit?before=abc").await.assert_status(400);
});

sqlite_only!(async fn r10_an_erased_contact_leaves_no_trace_in_the_database_files(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let email = "xq7-unique-erasure-probe@example.test";
    let ann = f.full_contact("Quillonia", Some(email), &["ProbeTag"]).await.contact;
    f.contact("Bystander", Some("bystander@example.test"), &[]).await;
    let mut c = app.admin().await;
    c.get(&format!("/contacts/{ann}")).await.assert_contains(email);
    delete_via_http(&mut c, &[ann]).await;
    let a = ann.to_string();

    c.post("/contacts/erase", &[("ids", &a), ("confirm", "DELETE")]).await.assert_see_other("/contacts/restore");

    assert!(!exists(&f.raw, ann).await);
    let file = f.db.sqlite_file().expect("a SQLite file");
    let mut wal = file.clone().into_os_string();
    wal.push("-wal");
    for path in [file.clone(), std::path::PathBuf::from(wal)] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in [email.as_bytes(), b"Quillonia".as_slice(), b"quillonia".as_slice()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} still holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    // the bystander is still there, in the same file
    let bytes = std::fs::read(&file).unwrap();
    let wal_bytes = std::fs::read(format!("{}-wal", file.display())).unwrap_or_default();
    let needle = b"bystander@example.test";
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle) || wal_bytes.windows(needle.len()).any(|w| w == needle),
        "the probe can find a live contact's email, so its absence above means something"
    );
});

both_backends!(async fn a_restore_with_many_conflicts_is_reported_without_a_500(db: TestDb) {
    // The outcome travels in the session cookie as a flash: many conflicts, with long
    // email addresses, must still fit in it.
    let app = spawn_app(db).await;
    let f = &app.f;
    let email = |n: usize| format!("person-{n}-{}@example.test", "x".repeat(180));
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(f.contact(&format!("Person{n}"), Some(&email(n)), &[]).await);
    }
    let extra = f.contact("Extra", None, &[]).await;
    let mut c = app.admin().await;
    let mut all = ids.clone();
    all.push(extra);
    delete_via_http(&mut c, &all).await;
    for n in 0..60 {
        f.contact(&format!("Live{n}"), Some(&email(n)), &[]).await;
    }
    let s: Vec<String> = all.iter().map(|i| i.to_string()).collect();
    let fields: Vec<(&str, &str)> = s.iter().map(|i| ("ids", i.as_str())).collect();

    let r = c.post("/contacts/restore", &fields).await;

    r.assert_see_other("/contacts/restore");
    assert!(is_live(&f.raw, extra).await);
    for id in &ids {
        assert!(is_deleted(&f.raw, *id).await);
    }
    let page = c.get("/contacts/restore").await;
    page.assert_status(200)
        .assert_contains("Extra Tester was restored.")
        .assert_contains(&format!("Tester already uses {}", email(0)))
        .assert_contains("more contacts were not restored because live contacts already use their email addresses");

    // only conflicts: a 409 that names the first, and the same bounded flash
    let before = snapshot(&f.raw).await;
    let fields = &fields[..60];
    let r = c.post("/contacts/restore", fields).await;
    r.assert_status(409).assert_contains("Tester already uses");
    c.get("/contacts/restore").await.assert_status(200).assert_contains("No contact was restored.");
    assert_eq!(snapshot(&f.raw).await, before);
});
