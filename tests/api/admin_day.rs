//! The admin's day over HTTP: the dialog that deletes every contact asks for the count
//! and the one for a single contact names it, times are shown in the user's time zone,
//! a mistyped "move to" email answers in place, and regular users are not offered what
//! they may not do.

use crate::app::{attr_values, spawn_app};
use crate::{both_backends, live_count, snapshot};

both_backends!(async fn the_delete_dialog_names_one_contact_and_asks_the_count_for_every_contact(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &[]).await;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut c = app.admin().await;

    let one = c.get(&format!("/contacts/delete-preview?ids={ann}")).await;
    one.assert_status(200).assert_contains("Delete Annabel Tester?").assert_contains("Delete 1 contact<");
    assert!(!one.body.contains("confirm_count"), "one contact of two is not everything");

    let page = c.get("/contacts").await;
    let as_of = attr_values(&page.body, "data-as-of").into_iter().next().unwrap();
    let all = c.get(&format!("/contacts/delete-preview?select_all=true&as_of={}", crate::app::urlencode(&as_of))).await;
    all.assert_status(200)
        .assert_contains("This deletes every contact in Acme: 2")
        .assert_contains("name=\"confirm_count\"")
        .assert_contains("data-expect-count=\"2\"");
    let both = c.get(&format!("/contacts/delete-preview?ids={ann}&ids={bob}")).await;
    both.assert_contains("This deletes every contact in Acme: 2");
    // a selection with an exclusion is not everything
    let but_one = c
        .get(&format!("/contacts/delete-preview?select_all=true&as_of={}&exclude={bob}", crate::app::urlencode(&as_of)))
        .await;
    but_one.assert_status(200).assert_contains("Delete Annabel Tester?");
    assert!(!but_one.body.contains("every contact"));

    // the server holds the rule, whatever the page sent
    let before = snapshot(&f.raw).await;
    let (a, b) = (ann.to_string(), bob.to_string());
    c.post("/contacts/delete", &[("ids", &a), ("ids", &b), ("confirm", "DELETE"), ("confirm_count", "3")])
        .await
        .assert_status(400)
        .assert_contains("type the number of contacts, 2, to confirm");
    assert_eq!(snapshot(&f.raw).await, before);
    c.post("/contacts/delete", &[("ids", &a), ("ids", &b), ("confirm", "DELETE"), ("confirm_count", "2")])
        .await
        .assert_see_other("/contacts");
    assert_eq!(live_count(&f.raw, f.acc.id).await, 0);
});

both_backends!(async fn times_are_shown_in_the_time_zone_the_browser_reports(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &[]).await;
    let mut c = app.admin().await;
    let path = format!("/contacts/{}", ann.contact);

    // not known yet: UTC, and it says so; the page carries no zone for the script to compare
    let page = c.get(&path).await;
    page.assert_status(200).assert_contains("Mar 1, 2026, 09:30 UTC").assert_contains(r#"<meta name="user-time-zone" content="">"#);

    let before = snapshot(&f.raw).await;
    for bad in ["Mars/Olympus", "", "<b>Europe/Paris</b>"] {
        c.post("/me/time-zone", &[("time_zone", bad)]).await.assert_status(400);
    }
    assert_eq!(snapshot(&f.raw).await, before, "a refused zone changes nothing");
    // (signed-out requests are refused by the route table's access level: tests/security)

    c.post("/me/time-zone", &[("time_zone", "Asia/Tokyo")]).await.assert_status(204);
    let page = c.get(&path).await;
    page.assert_contains("Mar 1, 2026, 18:30")
        .assert_contains(r#"datetime="2026-03-01T09:30:00Z""#)
        .assert_contains("Sunday, March 1, 2026 at 18:30:00 Asia/Tokyo (UTC+09:00)")
        .assert_contains(r#"<meta name="user-time-zone" content="Asia/Tokyo">"#);
    assert!(!page.body.contains("09:30 UTC"));
    // per user: the regular user of the account still reads UTC
    let mut u = app.user().await;
    u.get(&path).await.assert_contains("Mar 1, 2026, 09:30 UTC");
});

both_backends!(async fn a_mistyped_move_to_email_answers_in_place_and_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &[]).await;
    f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    let mut c = app.admin().await;
    let page = c.get(&format!("/contacts/{}", ann.contact)).await;
    page.assert_contains("data-inline-errors").assert_contains(&format!("aria-describedby=\"opp-move-error-{}\"", ann.opportunity));

    let before = snapshot(&f.raw).await;
    let path = format!("/contacts/{}/opportunities/{}/move", ann.contact, ann.opportunity);
    let r = c.post_htmx(&path, &[("to_email", "bobby@exmaple.test")]).await;
    r.assert_status(404).assert_contains("No live contact in this account has the email bobby@exmaple.test.");
    assert!(!r.body.contains("<html"), "a fragment, not a page: {}", r.body);
    c.post_htmx(&path, &[("to_email", "not an email")]).await.assert_status(400);
    assert_eq!(snapshot(&f.raw).await, before);

    let r = c.post_htmx(&path, &[("to_email", "bobby@example.test")]).await;
    r.assert_status(200);
    assert_eq!(r.header("HX-Redirect"), Some(format!("/contacts/{}", ann.contact).as_str()));
    let moved: (i64,) = f.raw.one("select count(*) from opportunities where id = $1 and contact_id <> $2", crate::args![ann.opportunity, ann.contact]).await;
    assert_eq!(moved.0, 1);
});

both_backends!(async fn a_regular_user_is_not_offered_what_only_an_admin_may_do(db: TestDb) {
    let app = spawn_app(db).await;
    let mut admin = app.admin().await;
    let mut user = app.user().await;
    admin.get("/workflows/new").await.assert_contains(r#"<option value="delete_contact">Delete contact</option>"#);
    let form = user.get("/workflows/new").await;
    form.assert_contains(r#"<option value="delete_contact" disabled>Delete contact (admins only)</option>"#);

    let created = admin
        .post("/workflows", &[("name", "Remove unsubscribed"), ("trigger_tag", "Unsubscribed"), ("action", "delete_contact"), ("action_tag", "")])
        .await;
    let wf = created.location().expect("the new workflow's page").to_string();
    let page = user.get(&wf).await;
    page.assert_status(200).assert_contains("only an admin can test it").assert_contains("only an admin can change it");
    assert!(!page.body.contains("Test on this contact") && !page.body.contains("Save changes"));
    assert!(page.body.contains("<fieldset class=\"bare\" disabled>"));
    let page = admin.get(&wf).await;
    assert!(page.body.contains("Save changes") && !page.body.contains("<fieldset class=\"bare\" disabled>"));
});

both_backends!(async fn a_background_deletion_ends_with_what_it_did_and_an_offer_to_restore(db: TestDb) {
    use contacts_admin::config::BulkSettings;
    let app = crate::app::spawn_app_with(db, |s| s.bulk = BulkSettings { threshold: 3, chunk: Some(2) }).await;
    let f = &app.f;
    let mut ids = Vec::new();
    for name in ["Ann", "Bob", "Cat", "Dan", "Eve"] {
        ids.push(f.contact(name, None, &[]).await.to_string());
    }
    f.contact("Fay", None, &[]).await;
    let mut c = app.admin().await;
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    fields.push(("confirm", "DELETE"));

    let r = c.post_htmx("/contacts/delete", &fields).await;

    r.assert_status(202).assert_contains("?in=alert");
    let job: i64 = crate::app::attr_values(&r.body, "id").iter().find_map(|v| v.strip_prefix("job-").and_then(|n| n.parse().ok())).expect("the job's progress");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while f.raw.count("bulk_jobs", "id = $1 and state in ('queued', 'running')", crate::args![job]).await > 0 {
        assert!(std::time::Instant::now() < deadline, "the deletion job did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = c.get(&format!("/bulk-actions/{job}/progress?in=alert")).await;
    done.assert_status(200).assert_contains("Deleted 5 contacts").assert_contains("Restore this deletion").assert_contains("/restore\"");
    assert!(!done.body.contains("hx-trigger=\"every 1s\""), "a finished job stops polling");
    // on the Bulk actions page the bar stays a bar; the row has its own buttons
    let bar = c.get(&format!("/bulk-actions/{job}/progress")).await;
    bar.assert_status(200).assert_contains("role=\"progressbar\"");
    assert!(!bar.body.contains("Restore this deletion"));
    assert_eq!(live_count(&f.raw, f.acc.id).await, 1);
});

both_backends!(async fn a_deleting_tag_on_every_contact_asks_for_the_count_too(db: TestDb) {
    use crate::workflows::{activate, create_workflow};
    let app = spawn_app(db).await;
    let f = &app.f;
    let ids: Vec<String> = [f.contact("Ann", None, &[]).await, f.contact("Bob", None, &[]).await, f.contact("Cat", None, &[]).await]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut admin = app.admin().await;
    let wf = create_workflow(&mut admin, "Remove unsubscribed", "Unsubscribed").await;
    activate(&mut admin, wf).await;
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    fields.push(("tag_name", "Unsubscribed"));
    let before = snapshot(&f.raw).await;

    let asked = admin.post_htmx("/contacts/tags", &fields).await;
    asked.assert_status(409).assert_contains("This deletes every contact in Acme: 3.").assert_contains("name=\"confirm_count\"");
    fields.push(("confirm", "DELETE"));
    for typed in [None, Some("2")] {
        let mut with = fields.clone();
        with.extend(typed.map(|t| ("confirm_count", t)));
        admin
            .post_htmx("/contacts/tags", &with)
            .await
            .assert_status(409)
            .assert_contains("type the number of contacts, 3, to confirm");
    }
    assert_eq!(snapshot(&f.raw).await, before, "nothing tagged, queued or deleted");
    // two of three is not everything: DELETE alone, as before
    let two: Vec<(&str, &str)> = vec![("ids", ids[0].as_str()), ("ids", ids[1].as_str()), ("tag_name", "Unsubscribed")];
    admin.post_htmx("/contacts/tags", &two).await.assert_status(409).assert_contains("id=\"tag-confirm-form\"");
    assert!(!admin.post_htmx("/contacts/tags", &two).await.body.contains("confirm_count"));

    fields.push(("confirm_count", "3"));
    admin.post("/contacts/tags", &fields).await.assert_see_other("/contacts");
    assert_eq!(f.raw.count("workflow_runs", "workflow_id = $1", crate::args![wf]).await, 3, "one run queued per tagged contact");
});
