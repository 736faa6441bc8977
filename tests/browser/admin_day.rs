//! The admin's day in the browser: deleting every contact asks for the count, a button
//! that starts work turns busy, times follow the browser's time zone, and a mistyped
//! "move to" email is answered beside its form with what was typed kept.

use crate::harness::{setup, setup_with, DESKTOP, PHONE, SEEDED};
use chromiumoxide::cdp::browser_protocol::emulation::SetTimezoneOverrideParams;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_every_contact_asks_for_the_count_and_the_button_turns_busy() {
    let Some((app, ui)) = setup("deleting_every_contact_asks_for_the_count_and_the_button_turns_busy", SEEDED).await else { return };
    ui.set_viewport(PHONE).await;
    ui.login(&app.acc.admin_email).await;
    ui.click("#select-page").await;
    ui.click("#banner-select-all").await;
    ui.wait_selected("120").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    assert_eq!(ui.text("#delete-everything").await, "This deletes every contact in Acme: 120. Nothing will be left in the contacts list.");
    ui.wait_focus("delete-count", "focus in the count field").await;

    // DELETE alone does not unlock the button, nor a wrong count
    ui.type_into("#delete-confirm", "DELETE").await;
    assert!(ui.submit_disabled().await, "the count is missing");
    ui.type_into("#delete-count", "12").await;
    assert!(ui.submit_disabled().await, "12 is not 120");
    ui.type_keys("0").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the button to unlock with 120 and DELETE").await;
    // the buttons stay in view at the bottom of the dialog, however long it is
    let visible: bool = ui
        .eval("(function(){ var r = document.getElementById('delete-submit').getBoundingClientRect(); return r.bottom <= window.innerHeight && r.top >= 0; })()")
        .await;
    assert!(visible, "the Delete button is on screen");

    // while the request runs the button is busy and cannot be pressed again
    ui.eval::<bool>(
        "(function(){ document.addEventListener('htmx:beforeSend', function () { var b = document.getElementById('delete-submit'); \
         window.__busy = b.disabled && b.classList.contains('htmx-request') && getComputedStyle(b.querySelector('.when-busy')).display !== 'none'; }); return true; })()",
    )
    .await;
    ui.click("#delete-submit").await;
    ui.wait_until("document.getElementById('alerts').textContent.indexOf('Deleted 120 contacts') >= 0", "the deletion's message").await;
    assert!(ui.eval::<bool>("window.__busy === true").await, "the button was busy while the deletion ran");
    assert_eq!(app.live_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_follow_the_browsers_time_zone() {
    let Some((app, ui)) = setup("times_follow_the_browsers_time_zone", SEEDED).await else { return };
    ui.page.execute(SetTimezoneOverrideParams::new("Asia/Tokyo")).await.expect("emulate a time zone");
    ui.login(&app.acc.admin_email).await;
    ui.wait_until("document.querySelector('meta[name=\"user-time-zone\"]').content === 'Asia/Tokyo'", "the zone to be stored").await;
    let stored: (Option<String>,) = app.raw.one("select time_zone from users where id = $1", crate::args![app.acc.admin.0]).await;
    assert_eq!(stored.0.as_deref(), Some("Asia/Tokyo"));

    let id = app.live_ids().await[0];
    ui.goto(&format!("/contacts/{id}")).await;
    let title: String = ui.eval("document.querySelector('time[data-format=minute]').title").await;
    assert!(title.ends_with("Asia/Tokyo (UTC+09:00)"), "the absolute time and zone on hover: {title}");
    let iso: String = ui.eval("document.querySelector('time[data-format=minute]').getAttribute('datetime')").await;
    let text = ui.text("time[data-format=minute]").await;
    let utc = chrono::DateTime::parse_from_rfc3339(&iso).expect("an RFC 3339 time");
    let tokyo = utc.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    assert_eq!(text, tokyo.format("%b %-d, %Y, %H:%M").to_string(), "shown in Tokyo time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_move_to_email_is_answered_beside_the_form() {
    let Some((app, ui)) = setup("a_mistyped_move_to_email_is_answered_beside_the_form", SEEDED).await else { return };
    let (contact, opportunity): (i64, i64) = app
        .raw
        .one(
            "select o.contact_id, o.id from opportunities o join contacts c on c.id = o.contact_id \
             where o.status = 'open' and c.deleted_at is null order by o.id limit 1",
            &[],
        )
        .await;
    ui.login(&app.acc.admin_email).await;
    ui.goto(&format!("/contacts/{contact}")).await;
    let input = format!("opp-move-{opportunity}");
    ui.type_into(&format!("#{input}"), "nobody@exmaple.test").await;
    ui.press("Enter").await;
    ui.wait_text(&format!("#opp-move-error-{opportunity}"), "No live contact in this account has the email nobody@exmaple.test.").await;
    assert_eq!(ui.eval::<String>(&format!("document.getElementById('{input}').value")).await, "nobody@exmaple.test", "what was typed is kept");
    assert_eq!(ui.eval::<String>(&format!("document.getElementById('{input}').getAttribute('aria-invalid')")).await, "true");
    assert!(ui.eval::<bool>("location.pathname.indexOf('/contacts/') === 0 && !document.querySelector('.error-page')").await);
    let still: (i64,) = app.raw.one("select contact_id from opportunities where id = $1", crate::args![opportunity]).await;
    assert_eq!(still.0, contact, "nothing moved");
    ui.screenshot("move-inline-error").await;
    ui.assert_accessible("the move form's error").await;
}

/// A deletion above the bulk threshold runs as a job: its progress shows in the list's
/// message, which turns into what it did and an offer to restore it.
async fn a_background_deletion_ends_visibly(test: &'static str, size: (u32, u32)) {
    let bulk = contacts_admin::config::BulkSettings { threshold: 10, chunk: Some(7) };
    let Some((app, ui)) = setup_with(test, SEEDED, bulk).await else { return };
    ui.set_viewport(size).await;
    ui.login(&app.acc.admin_email).await;
    let kept = ui.row_ids().await[0];
    ui.click("#select-page").await;
    ui.click("#banner-select-all").await;
    ui.wait_selected("120").await;
    ui.tick(kept).await;
    ui.wait_selected("119").await;
    ui.click("#bulk-delete").await;
    ui.wait_dialog_open().await;
    ui.type_into("#delete-confirm", "DELETE").await;
    ui.wait_until("!document.getElementById('delete-submit').disabled", "the button to unlock").await;
    ui.click("#delete-submit").await;
    ui.wait_until("document.querySelector('#alerts .job-progress')", "the job's progress in the message").await;
    ui.wait_until("document.querySelector('#alerts .job-finished')", "the job to end in the message").await;
    assert_eq!(ui.text("#alerts .job-finished strong").await, "Deleted 119 contacts");
    assert_eq!(app.live_count().await, 1);
    ui.screenshot(&format!("job-finished-{}", size.0)).await;
    ui.assert_accessible(&format!("a finished deletion at {} px", size.0)).await;

    // its Restore brings the 119 back: a restore as large is a job too, with its own
    // progress on Bulk actions
    ui.click("#alerts .job-finished button[type=submit]").await;
    ui.wait_until("location.pathname === '/bulk-actions' && document.readyState === 'complete'", "Bulk actions").await;
    ui.wait_text("#alerts", "Restoring 119 contacts").await;
    assert!(ui.exists(".job-progress").await, "the restore's progress is shown");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.live_count().await < 120 {
        assert!(std::time::Instant::now() < deadline, "the restore did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_deletion_ends_visibly_at_desktop_width() {
    a_background_deletion_ends_visibly("a_background_deletion_ends_visibly_at_desktop_width", DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_deletion_ends_visibly_at_phone_width() {
    a_background_deletion_ends_visibly("a_background_deletion_ends_visibly_at_phone_width", PHONE).await;
}
