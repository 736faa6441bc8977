//! E1 and import: a CSV export imported again gives back the same contacts. The export
//! keeps formulas inert with a leading apostrophe; the importer takes off the guard the
//! export wrote, and phone numbers go out as they are.

use crate::app::{spawn_app, Client, Resp};
use crate::both_backends;
use crate::support::Raw;
use contacts_admin::domain::{AccountId, NewContact, TagName};

/// (first name, last name, email, phone, company, tags)
type Fields = (String, String, Option<String>, Option<String>, Option<String>, Vec<String>);

/// (first name, last name, email, phone, company, tags) as the contact is created.
type Spec = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static [&'static str]);

/// A contact row: (id, first name, last name, email, phone, company).
type Row = (i64, String, String, Option<String>, Option<String>, Option<String>);

const CONTACTS: [Spec; 6] = [
    ("-Ana", "Ñúñez", "ana@example.test", "+1 555 0100", "=HYPERLINK(\"x\")", &["VIP", "Überkunde"]),
    ("Zoë", "O'Brien", "zoe@example.test", "+44 (0)20 7946 0958", "@SUM(A1)", &["+plus"]),
    ("'Tis", "'=quoted", "tis@example.test", "-", "Müller & Söhne, \"GmbH\"", &[]),
    ("李", "小龙", "li@example.test", "", "", &["客户"]),
    ("Plain", "Person", "", "555 0100", "+Acme", &[]),
    ("Ext", "Ension", "ext@example.test", "+1 555 0100 x12", "-", &["=cmd"]),
];

/// Every contact of the account with its fields and sorted tags, by email then name.
async fn contacts_of(raw: &Raw, account: AccountId) -> Vec<Fields> {
    let rows: Vec<Row> = raw
        .all(
            "select id, first_name, last_name, email, phone, company from contacts
             where account_id = $1 and deleted_at is null order by email, first_name",
            crate::args![account],
        )
        .await;
    let mut out = Vec::new();
    for (id, first, last, email, phone, company) in rows {
        let tags: Vec<(String,)> = raw.all("select tag from contact_tags where contact_id = $1 order by tag", crate::args![id]).await;
        out.push((first, last, email, phone, company, tags.into_iter().map(|t| t.0).collect()));
    }
    out
}

/// The CSV's header and rows.
fn parse_csv(r: &Resp) -> Vec<Vec<String>> {
    assert!(r.content_type().starts_with("text/csv"), "content type {:?}", r.content_type());
    let mut rd = csv::ReaderBuilder::new().has_headers(true).from_reader(r.body.as_bytes());
    rd.records().map(|rec| rec.expect("a CSV record").iter().map(str::to_string).collect()).collect()
}

/// `POST /contacts/import` with `bytes` as the uploaded file; the CSRF token travels in
/// the `X-CSRF-Token` header, which every POST may use.
async fn import(c: &mut Client, bytes: &[u8]) -> Resp {
    let token = c.token().await;
    let boundary = "----contacts-admin-round-trip-4fJq9";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = c
        .http
        .post(c.url("/contacts/import"))
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .header("X-CSRF-Token", token)
        .body(body)
        .send()
        .await
        .expect("POST /contacts/import");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("the response body");
    Resp { status, headers, body }
}

both_backends!(async fn an_export_imported_again_gives_back_the_same_contacts_and_formulas_stay_guarded(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    for (first, last, email, phone, company, tags) in CONTACTS {
        let mut c = NewContact::parse(first, last, email, phone, company).expect("a valid contact");
        c.tags = tags.iter().map(|t| TagName::parse(t).expect("a valid tag")).collect();
        f.repo.create_contact(f.acc.id, &c, f.acc.admin_confirmed()).await.expect("create the contact");
    }
    let original = contacts_of(&f.raw, f.acc.id).await;
    assert_eq!(original.len(), CONTACTS.len());
    let mut admin = app.admin().await;

    let export = admin.get("/contacts/export.csv?select_all=true").await;

    export.assert_status(200);
    let rows = parse_csv(&export);
    let row = |first: &str| rows.iter().find(|r| r[1] == first).unwrap_or_else(|| panic!("no row {first}: {rows:?}")).clone();
    // real formulas stay inert in the file ...
    let ana = row("'-Ana");
    assert_eq!(ana[5], "'=HYPERLINK(\"x\")");
    assert_eq!(row("Zoë")[5], "'@SUM(A1)");
    assert_eq!(row("Plain")[5], "'+Acme");
    assert_eq!(row("Ext")[4], "'+1 555 0100 x12", "an extension names a cell: guarded");
    assert_eq!(row("Ext")[6], "'=cmd");
    // ... a phone number is written as it is ...
    assert_eq!(ana[4], "+1 555 0100");
    assert_eq!(row("Zoë")[4], "+44 (0)20 7946 0958");
    // ... and a value that starts like a guard is guarded so that it comes back whole
    assert_eq!(row("'Tis")[2], "''=quoted");
    assert_eq!(row("'Tis")[4], "'-");
    assert_eq!(ana[2], "Ñúñez");

    // into another account: everything comes back the same
    let mut other = app.admin_b().await;
    let r = import(&mut other, export.body.as_bytes()).await;
    r.assert_status(200).assert_contains(&format!("<strong>{}</strong> created", CONTACTS.len()));
    assert_eq!(contacts_of(&f.raw, app.b.id).await, original);

    // and into the same account once the originals are deleted
    let mut ids: Vec<String> = f.raw.ids("select id from contacts where account_id = $1", crate::args![f.acc.id]).await.iter().map(|i| i.to_string()).collect();
    ids.sort();
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    fields.push(("confirm", "DELETE"));
    let count = ids.len().to_string();
    fields.push(("confirm_count", &count));
    admin.post("/contacts/delete", &fields).await.assert_see_other("/contacts");
    assert!(contacts_of(&f.raw, f.acc.id).await.is_empty());
    let r = import(&mut admin, export.body.as_bytes()).await;
    r.assert_status(200).assert_contains(&format!("<strong>{}</strong> created", CONTACTS.len()));
    assert_eq!(contacts_of(&f.raw, f.acc.id).await, original);
    // a second export is the first one again, but for ids and times
    let again = admin.get("/contacts/export.csv?select_all=true").await;
    let strip = |rows: Vec<Vec<String>>| {
        let mut v: Vec<Vec<String>> = rows.into_iter().map(|r| r[1..7].to_vec()).collect();
        v.sort();
        v
    };
    assert_eq!(strip(parse_csv(&again)), strip(rows));
});
