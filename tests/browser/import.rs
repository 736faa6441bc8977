//! The CSV import form in a real browser: its CSRF token travels as the first field of
//! the upload, never in the address, and the import goes through.

use crate::harness::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_form_uploads_a_file_without_a_token_in_the_address() {
    let Some((app, ui)) = setup("the_import_form_uploads_a_file_without_a_token_in_the_address", 0).await else { return };
    ui.login(&app.acc.admin_email).await;
    ui.goto("/contacts/import").await;
    let action: String = ui.eval("document.querySelector('form[enctype=\"multipart/form-data\"]').getAttribute('action')").await;
    assert_eq!(action, "/contacts/import", "the form's address carries no token");
    // a file chosen as a person would, through the file input
    ui.eval::<bool>(
        "(function(){ var dt = new DataTransfer(); \
           dt.items.add(new File(['name,email\\nBrowser Import,browser.import@example.test\\n'], 'contacts.csv', {type: 'text/csv'})); \
           document.querySelector('#file').files = dt.files; return true; })()",
    )
    .await;
    ui.click("form[enctype='multipart/form-data'] button[type=submit]").await;
    ui.wait_until("document.body.innerText.indexOf('created') >= 0 && document.readyState === 'complete'", "the import report").await;
    let href: String = ui.eval("location.href").await;
    assert!(!href.contains("csrf"), "no token in the address after the upload: {href}");
    assert_eq!(app.raw.count("contacts", "email = 'browser.import@example.test'", &[]).await, 1);
    ui.close().await;
}
