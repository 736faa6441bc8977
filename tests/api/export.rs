//! E1: `GET /contacts/export.csv` of a selection or of everything matching a filter;
//! R3 (deleted contacts are never exported) and tenant isolation.

use crate::app::{spawn_app, Resp};
use crate::support::create_contact;
use crate::{both_backends, is_deleted, snapshot};

const HEADER: [&str; 8] = ["id", "first_name", "last_name", "email", "phone", "company", "tags", "created_at"];

/// The CSV's header and rows.
fn parse_csv(r: &Resp) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(r.content_type().starts_with("text/csv"), "content type {:?}", r.content_type());
    let mut rd = csv::ReaderBuilder::new().has_headers(true).from_reader(r.body.as_bytes());
    let header = rd.headers().expect("a header row").iter().map(str::to_string).collect();
    let rows = rd.records().map(|rec| rec.expect("a CSV record").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn ids_of(rows: &[Vec<String>]) -> Vec<i64> {
    rows.iter().map(|r| r[0].parse().expect("a numeric id")).collect()
}

both_backends!(async fn export_of_selected_ids_holds_exactly_those_rows(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &["VIP", "Lead"]).await;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    f.contact("Carabel", Some("cara@example.test"), &[]).await;
    let mut c = app.admin().await;

    let r = c.get(&format!("/contacts/export.csv?ids={ann}&ids={bob}")).await;

    r.assert_status(200);
    assert!(r.header("content-disposition").unwrap().starts_with("attachment"), "a download");
    let (header, rows) = parse_csv(&r);
    assert_eq!(header, HEADER);
    assert_eq!(ids_of(&rows), vec![ann.0, bob.0]);
    assert_eq!(rows[0][1..4], ["Annabel".to_string(), "Tester".into(), "annabel@example.test".into()]);
    assert_eq!(rows[0][6], "Lead;VIP");
    // a phone number starting with "+" goes out as it is: it names no function or cell
    assert_eq!(rows[0][4], "+1 555 0100");

    // one contact
    let r = c.get(&format!("/contacts/export.csv?ids={bob}")).await;
    assert!(r.header("content-disposition").unwrap().contains(&format!("contact-{bob}.csv")));
    assert_eq!(ids_of(&parse_csv(&r).1), vec![bob.0]);
});

both_backends!(async fn export_of_select_all_holds_what_matches_the_filter(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &["VIP"]).await;
    let anna = f.contact("Annamaria", None, &[]).await;
    let bob = f.contact("Bobby", None, &["VIP"]).await;
    let mut c = app.admin().await;

    let r = c.get("/contacts/export.csv?select_all=true&q=anna").await;
    r.assert_status(200);
    assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0, anna.0]);

    let r = c.get("/contacts/export.csv?select_all=true&tag=VIP").await;
    assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0, bob.0]);

    let r = c.get(&format!("/contacts/export.csv?select_all=true&exclude={anna}")).await;
    assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0, bob.0]);

    let r = c.get("/contacts/export.csv?select_all=true").await;
    assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0, anna.0, bob.0]);

    // nothing matches: just the header
    let r = c.get("/contacts/export.csv?select_all=true&q=nobody").await;
    let (header, rows) = parse_csv(&r);
    assert_eq!(header, HEADER);
    assert!(rows.is_empty());
});

both_backends!(async fn a_regular_user_may_export(db: TestDb) {
    let app = spawn_app(db).await;
    let ann = app.f.contact("Annabel", None, &[]).await;
    let mut user = app.user().await;

    let r = user.get(&format!("/contacts/export.csv?ids={ann}")).await;

    r.assert_status(200);
    assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0]);
    let page = user.get("/contacts").await;
    assert!(page.body.contains("/contacts/export.csv?select_all=true"), "the Export menu item");
});

both_backends!(async fn deleted_and_other_accounts_contacts_are_never_exported(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", Some("annabel@example.test"), &[]).await;
    let gone = f.contact("Goneril", Some("goneril@example.test"), &[]).await;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", Some("zed@bravo.test"), &[]).await;
    let mut c = app.admin().await;
    let g = gone.to_string();
    c.post("/contacts/delete", &[("ids", &g), ("confirm", "DELETE")]).await.assert_see_other("/contacts");
    assert!(is_deleted(&f.raw, gone).await);

    for path in [
        format!("/contacts/export.csv?ids={ann}&ids={gone}&ids={theirs}"),
        "/contacts/export.csv?select_all=true".to_string(),
        "/contacts/export.csv?select_all=true&q=e".to_string(),
    ] {
        let r = c.get(&path).await;
        r.assert_status(200);
        assert_eq!(ids_of(&parse_csv(&r).1), vec![ann.0], "{path}");
        assert!(!r.body.contains("goneril") && !r.body.contains("Zedekiah"), "{path}");
    }
    let r = c.get(&format!("/contacts/export.csv?ids={theirs}")).await;
    let (header, rows) = parse_csv(&r);
    assert_eq!(header, HEADER);
    assert!(rows.is_empty(), "another account's contact is not exported");
});

both_backends!(async fn bad_export_requests_get_a_clear_400(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let formula = f.contact("=HYPERLINK(\"http://x\")", None, &[]).await;
    let mut c = app.admin().await;
    let before = snapshot(&f.raw).await;

    c.get("/contacts/export.csv?ids=abc").await.assert_status(400).assert_contains("is not a valid contact id");
    c.get("/contacts/export.csv").await.assert_status(400).assert_contains("Select at least one contact.");
    c.get("/contacts/export.csv?select_all=true&as_of=soon").await.assert_status(400).assert_contains("is not a valid as_of moment");

    // a hostile name is neutralized, not run by a spreadsheet
    let r = c.get(&format!("/contacts/export.csv?ids={formula}")).await;
    assert_eq!(parse_csv(&r).1[0][1], "'=HYPERLINK(\"http://x\")");
    assert_eq!(snapshot(&f.raw).await, before);
});
