//! The Restore page as the article describes it (U6, R8, R11, R13): a Restore button on
//! each row, filters, sortable columns, "select all N matching" with exclusions bounded
//! by `as_of`, and messages that name who was restored; bad parameters get a 4xx and
//! another account's ids do nothing. Also the one name a deletion goes by (Bulk actions,
//! Restore filters, audit log, the deleted contact's page, flashes) and plurals.

use crate::app::{spawn_app, spawn_app_with, Client, TestApp};
use crate::{audit_rows, both_backends, is_deleted, is_live, rfc3339, snapshot};
use chrono::Duration;
use contacts_admin::domain::{Actor, ContactId, DeleteConfirmation, Selection};
use contacts_admin::config::BulkSettings;

/// Deletes `ids` of account A as its admin, through the repository; returns the batch.
async fn delete(app: &TestApp, ids: &[ContactId]) -> i64 {
    let sel = Selection::ids(ids.to_vec()).unwrap();
    let confirm = DeleteConfirmation::parse("DELETE").unwrap();
    app.f.repo.delete_contacts(app.f.acc.id, Actor::ui(app.f.acc.admin), &sel, None, confirm).await.unwrap().batch.0
}

/// The `as_of` the Restore page was rendered with.
fn as_of_in(html: &str) -> String {
    let at = html.find("data-as-of=\"").expect("the page carries as_of") + "data-as-of=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

async fn settle_restore_jobs(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while app.f.raw.count("bulk_jobs", "kind = 'restore' and state in ('queued', 'running')", &[]).await > 0 {
        assert!(std::time::Instant::now() < deadline, "restore jobs still running after two minutes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

both_backends!(async fn a_rows_restore_button_restores_that_contact_and_names_it(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ana = f.contact("Ana", Some("ana@example.test"), &[]).await;
    let bo = f.contact("Bo", Some("bo@example.test"), &[]).await;
    delete(&app, &[ana, bo]).await;
    let mut c = app.admin().await;

    let page = c.get("/contacts/restore").await;
    page.assert_status(200);
    // each row has its own Restore button, posting that row's id only
    assert!(page.body.contains(&format!("form=\"row-restore\" name=\"ids\" value=\"{ana}\"")), "a Restore button for Ana");
    assert!(page.body.contains(&format!("form=\"row-restore\" name=\"ids\" value=\"{bo}\"")), "a Restore button for Bo");
    assert!(page.body.contains("Restore<span class=\"visually-hidden\"> Ana Tester</span>"), "the button names its contact for screen readers");

    let a = ana.to_string();
    c.post("/contacts/restore", &[("ids", &a)]).await.assert_see_other("/contacts/restore");

    assert!(is_live(&f.raw, ana).await);
    assert!(is_deleted(&f.raw, bo).await, "only that row's contact");
    let page = c.get("/contacts/restore").await;
    page.assert_contains("Ana Tester was restored.").assert_not_contains("Restored 1 contact");
    page.assert_contains("1 deleted contact can still be restored.");

    // two at once: both named
    let bea = f.contact("Bea", Some("bea@example.test"), &[]).await;
    delete(&app, &[bea]).await;
    let (b1, b2) = (bo.to_string(), bea.to_string());
    c.post("/contacts/restore", &[("ids", &b1), ("ids", &b2)]).await.assert_see_other("/contacts/restore");
    c.get("/contacts/restore").await.assert_contains("Bo Tester and Bea Tester were restored.");
});

both_backends!(async fn the_restore_page_filters_and_sorts_with_visible_state(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let old = f.contact("Oldie", Some("oldie@example.test"), &[]).await;
    let batch = delete(&app, &[old]).await;
    f.advance(Duration::days(3));
    let fresh = f.contact("Freshy", Some("freshy@example.test"), &[]).await;
    delete(&app, &[fresh]).await;
    let mut c = app.admin().await;

    let day = c.get("/contacts/restore?within=24h").await;
    day.assert_status(200).assert_contains("Freshy Tester").assert_not_contains("Oldie Tester");
    day.assert_contains("1 deleted contact matches these filters.");
    let week = c.get("/contacts/restore?within=7d").await;
    week.assert_contains("Freshy Tester").assert_contains("Oldie Tester");
    let by_batch = c.get(&format!("/contacts/restore?batch={batch}")).await;
    by_batch.assert_contains("Oldie Tester").assert_not_contains("Freshy Tester");
    let by_me = c.get(&format!("/contacts/restore?by={}", f.acc.admin)).await;
    by_me.assert_contains("Oldie Tester").assert_contains("Freshy Tester");
    let by_user = c.get(&format!("/contacts/restore?by={}", f.acc.user)).await;
    by_user.assert_contains("No deleted contacts match these filters.");

    // sorts: the order, the arrow and aria-sort follow the column
    let by_name = c.get("/contacts/restore?sort=name&dir=asc").await;
    let (f_at, o_at) = (by_name.body.find("Freshy Tester").unwrap(), by_name.body.find("Oldie Tester").unwrap());
    assert!(f_at < o_at, "names ascending");
    assert!(by_name.body.contains("aria-sort=\"ascending\""), "the sorted column says so");
    assert!(by_name.body.contains("▲"));
    let by_name_desc = c.get("/contacts/restore?sort=name&dir=desc").await;
    assert!(by_name_desc.body.find("Oldie Tester").unwrap() < by_name_desc.body.find("Freshy Tester").unwrap());
    assert!(by_name_desc.body.contains("aria-sort=\"descending\"") && by_name_desc.body.contains("▼"));
    let left = c.get("/contacts/restore?sort=left&dir=asc").await;
    assert!(left.body.find("Oldie Tester").unwrap() < left.body.find("Freshy Tester").unwrap(), "fewest days left first");
    let default = c.get("/contacts/restore").await;
    assert!(default.body.find("Freshy Tester").unwrap() < default.body.find("Oldie Tester").unwrap(), "newest deletion first");
    default.assert_contains("Most recently deleted first");

    // the deletion filter lists deletions by their names
    default.assert_contains("Deletion of 1 contact on");
    default.assert_not_contains(&format!("deletion #{batch}"));
});

both_backends!(async fn bad_restore_page_parameters_get_a_4xx_never_a_500(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Ann", Some("ann@example.test"), &[]).await;
    delete(&app, &[ann]).await;
    let mut c = app.admin().await;
    for q in [
        "within=yesterday",
        "sort=email%3Bdrop",
        "sort=name&dir=sideways",
        "by=abc",
        "by=-3",
        "workflow=0",
        "batch=99999999999999999999999",
        "after=xyz",
        "sort=deleted&after=5&key=notanumber",
        "sort=by&after=5&key=1",
        "q=%00",
    ] {
        let r = c.get(&format!("/contacts/restore?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.status);
    }
    let before = snapshot(&f.raw).await;
    let a = ann.to_string();
    for fields in [
        vec![("select_all", "true")],
        vec![("select_all", "true"), ("as_of", "yesterday")],
        vec![("select_all", "true"), ("as_of", "2026-01-01T00:00:00Z"), ("exclude", "x")],
        vec![("select_all", "true"), ("as_of", "2026-01-01T00:00:00Z"), ("within", "forever")],
        vec![("select_all", "true"), ("as_of", "2026-01-01T00:00:00Z"), ("ids", a.as_str())],
    ] {
        let r = c.post("/contacts/restore", &fields).await;
        assert_eq!(r.status, 400, "{fields:?}: {}", r.body);
    }
    let r = c.post("/contacts/erase", &[("confirm", "DELETE"), ("select_all", "true"), ("as_of", "bad")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(snapshot(&f.raw).await, before);
    assert!(is_deleted(&f.raw, ann).await);
});

both_backends!(async fn select_all_matching_with_an_exclusion_restores_what_the_admin_saw(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for n in ["Ana", "Bo", "Cy", "Di"] {
        ids.push(f.contact(n, Some(&format!("{}@example.test", n.to_lowercase())), &[]).await);
    }
    delete(&app, &ids).await;
    let mut c = app.admin().await;
    let page = c.get(&format!("/contacts/restore?by={}", f.acc.admin)).await;
    page.assert_contains("4 deleted contacts match these filters.");
    assert!(page.body.contains("data-total=\"4\""));
    let as_of = as_of_in(&page.body);
    // after the page was shown, another contact is deleted by the same admin
    f.advance(Duration::minutes(1));
    let late = f.contact("Late", Some("late@example.test"), &[]).await;
    delete(&app, &[late]).await;

    let by = f.acc.admin.to_string();
    let bo = ids[1].to_string();
    let r = c
        .post("/contacts/restore", &[("select_all", "true"), ("as_of", &as_of), ("by", &by), ("exclude", &bo)])
        .await;

    r.assert_see_other("/contacts/restore");
    assert!(is_live(&f.raw, ids[0]).await && is_live(&f.raw, ids[2]).await && is_live(&f.raw, ids[3]).await);
    assert!(is_deleted(&f.raw, ids[1]).await, "the unticked one stays deleted");
    assert!(is_deleted(&f.raw, late).await, "deleted after the admin looked: not restored");
    c.get("/contacts/restore").await.assert_contains("Ana Tester and 2 others were restored.");
    let restores = audit_rows(&f.raw, f.acc.id, "restore").await;
    assert_eq!(restores.len(), 1);
    assert_eq!(restores[0].2, 3);

    // erase with the same kind of selection, behind the typed DELETE
    let page = c.get("/contacts/restore").await;
    let as_of = as_of_in(&page.body);
    let l = late.to_string();
    let before = snapshot(&f.raw).await;
    c.post("/contacts/erase", &[("confirm", "delete"), ("select_all", "true"), ("as_of", &as_of), ("exclude", &l)])
        .await
        .assert_status(400);
    assert_eq!(snapshot(&f.raw).await, before);
    c.post("/contacts/erase", &[("confirm", "DELETE"), ("select_all", "true"), ("as_of", &as_of), ("exclude", &l)])
        .await
        .assert_see_other("/contacts/restore");
    assert_eq!(f.raw.count("contacts", "id = $1", crate::args![ids[1]]).await, 0, "Bo erased");
    assert!(is_deleted(&f.raw, late).await, "the unticked one stays");
    c.get("/contacts/restore").await.assert_contains("Permanently erased 1 contact.");
});

both_backends!(async fn a_large_select_all_restore_goes_to_a_background_job(db: TestDb) {
    let app = spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 2, chunk: Some(2) }).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(f.contact(&format!("Many{n}"), Some(&format!("many{n}@example.test")), &[]).await);
    }
    delete(&app, &ids).await;
    let mut c = app.admin().await;
    let page = c.get("/contacts/restore").await;
    let as_of = as_of_in(&page.body);
    let skip = ids[4].to_string();

    let r = c.post("/contacts/restore", &[("select_all", "true"), ("as_of", &as_of), ("exclude", &skip)]).await;

    r.assert_see_other("/bulk-actions");
    settle_restore_jobs(&app).await;
    for id in &ids[..4] {
        assert!(is_live(&f.raw, *id).await);
    }
    assert!(is_deleted(&f.raw, ids[4]).await);
    let bulk = c.get("/bulk-actions").await;
    bulk.assert_contains("Restoring 4 contacts in the background.")
        .assert_contains("Restore of 4 deleted contacts chosen on the Restore page")
        .assert_not_contains("job #");
});

both_backends!(async fn another_accounts_ids_and_filters_do_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Ann", Some("ann@example.test"), &[]).await;
    let batch = delete(&app, &[ann]).await;
    let mut b = app.admin_b().await;
    let before = snapshot(&f.raw).await;

    let a = ann.to_string();
    b.post("/contacts/restore", &[("ids", &a)]).await.assert_status(404);
    let page = b.get(&format!("/contacts/restore?batch={batch}")).await;
    page.assert_status(200).assert_not_contains("Ann Tester").assert_not_contains("Deletion of 1 contact");
    let as_of = rfc3339(f.now());
    let bt = batch.to_string();
    b.post("/contacts/restore", &[("select_all", "true"), ("as_of", &as_of), ("batch", &bt)]).await.assert_status(404);
    b.post("/contacts/restore", &[("select_all", "true"), ("as_of", &as_of)]).await.assert_status(404);
    b.post("/contacts/erase", &[("confirm", "DELETE"), ("select_all", "true"), ("as_of", &as_of)]).await.assert_status(404);
    b.post("/contacts/erase", &[("confirm", "DELETE"), ("ids", &a)]).await.assert_status(404);

    assert_eq!(snapshot(&f.raw).await, before);
    assert!(is_deleted(&f.raw, ann).await);
    // a regular user of the account is refused as today
    let mut u = app.user().await;
    let r = u.get("/contacts/restore").await;
    assert!(r.status == 403 || r.status == 404, "{}", r.status);
    let r = u.post("/contacts/restore", &[("select_all", "true"), ("as_of", &as_of)]).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.status);
    assert!(is_deleted(&f.raw, ann).await);
});

both_backends!(async fn a_deletion_goes_by_one_name_on_every_page(db: TestDb) {
    let app = spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 2, chunk: Some(2) }).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(f.contact(&format!("Named{n}"), Some(&format!("named{n}@example.test")), &[]).await);
    }
    // one contact stays, so that this is not a deletion of every contact (which asks for the count)
    f.contact("Stays", Some("stays@example.test"), &[]).await;
    let mut c = app.admin().await;
    // a deletion above the threshold runs as a job
    let s: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = s.iter().map(|i| ("ids", i.as_str())).collect();
    fields.push(("confirm", "DELETE"));
    c.post("/contacts/delete", &fields).await.assert_see_other("/bulk-actions");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !is_deleted(&f.raw, ids[2]).await || f.raw.count("bulk_jobs", "state in ('queued', 'running')", &[]).await > 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (batch,): (i64,) = f.raw.one("select deletion_batch_id from contacts where id = $1", crate::args![ids[0]]).await;
    let name = "Deletion of 3 contacts on";

    let bulk = c.get("/bulk-actions").await;
    bulk.assert_contains(name).assert_contains("by Acme Admin").assert_contains("Restore this deletion (3)");
    for page in [&bulk] {
        let text = page.text();
        assert!(!text.contains("job #") && !text.contains(&format!("#{batch}")), "no numbers for names: {text}");
    }
    c.get("/contacts/restore").await.assert_contains(name);
    c.get("/audit").await.assert_contains(name).assert_not_contains("Restore deletion #");
    c.get(&format!("/contacts/{}", ids[0])).await.assert_status(200).assert_contains(name);

    // a restore by batch names the deletion in its flash, and the conflict names the person
    f.advance(Duration::minutes(1));
    let taker = f.contact("Holder", Some("named1@example.test"), &[]).await;
    let app2 = &app;
    let _ = app2;
    let r = c.post(&format!("/batches/{batch}/restore"), &[("return_to", "/contacts/restore")]).await;
    assert!(r.status == 303, "{}", r.body);
    // 3 restorable > threshold 2: a job
    settle_restore_jobs(&app).await;
    let bulk = c.get("/bulk-actions").await;
    bulk.assert_contains("of the deletion of 3 contacts on")
        .assert_contains("Named1 Tester was not restored:")
        .assert_contains("Holder Tester uses the same email.");
    assert!(bulk.body.contains(&format!("/contacts/{taker}")));
    c.get("/audit").await.assert_contains("Undoes the deletion of 3 contacts on");
});

both_backends!(async fn counts_are_plural_right_for_one_and_many(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let one = f.contact("Uno", Some("uno@example.test"), &[]).await;
    delete(&app, &[one]).await;
    let mut c = app.admin().await;
    let page = c.get("/contacts/restore").await;
    page.assert_contains("1 deleted contact can still be restored.").assert_contains("Deletion of 1 contact on");
    let o = one.to_string();
    c.post("/contacts/erase", &[("confirm", "DELETE"), ("ids", &o)]).await.assert_see_other("/contacts/restore");
    c.get("/contacts/restore").await.assert_contains("Permanently erased 1 contact.");
    let mut two = Vec::new();
    for n in ["Dos", "Tres"] {
        two.push(f.contact(n, Some(&format!("{}@example.test", n.to_lowercase())), &[]).await);
    }
    delete(&app, &two).await;
    let page = c.get("/contacts/restore").await;
    page.assert_contains("2 deleted contacts can still be restored.").assert_contains("Deletion of 2 contacts on");
    let (a, b) = (two[0].to_string(), two[1].to_string());
    c.post("/contacts/erase", &[("confirm", "DELETE"), ("ids", &a), ("ids", &b)]).await.assert_see_other("/contacts/restore");
    c.get("/contacts/restore").await.assert_contains("Permanently erased 2 contacts.");
    let _: &mut Client = &mut c;
});
