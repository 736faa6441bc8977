//! Backup before deleting: `GET /contacts/export.zip`, the full record of one contact or
//! a selection as a ZIP (contacts.csv, one CSV per kind of associated data with a
//! contact_id column, and the attached files under files/<contact>/<name>).

use crate::app::{spawn_app, Download};
use crate::support::{add_associated, create_contact, Associated, V};
use crate::{args, both_backends, is_deleted, rfc3339, snapshot};
use chrono::{DateTime, Duration, Utc};
use contacts_admin::domain::ContactId;
use std::collections::BTreeMap;
use std::io::Read;

/// Every file of the archive by name, after checking it is a ZIP download whose names
/// all stay inside the folder it is unpacked into.
fn unzip(d: &Download) -> BTreeMap<String, Vec<u8>> {
    assert_eq!(d.status, 200, "body: {}", d.text());
    assert_eq!(d.header("content-type"), Some("application/zip"));
    assert!(d.header("content-disposition").unwrap_or("").starts_with("attachment"), "a download");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(d.bytes.clone())).expect("a valid ZIP");
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("an entry");
        let name = f.name().expect("an entry name").to_string();
        let enclosed = f.enclosed_name().unwrap_or_else(|| panic!("{name:?} leaves the folder it is unpacked into"));
        assert_eq!(enclosed.to_str(), Some(name.as_str()), "a plain relative path");
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).expect("read the entry");
        assert!(out.insert(name.clone(), bytes).is_none(), "{name} twice");
    }
    out
}

/// A CSV file of the archive: header and rows.
fn csv_file(files: &BTreeMap<String, Vec<u8>>, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = files.get(name).unwrap_or_else(|| panic!("no {name} in {:?}", files.keys().collect::<Vec<_>>()));
    let mut rd = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[..]);
    let header = rd.headers().expect("a header row").iter().map(str::to_string).collect();
    let rows = rd.records().map(|r| r.expect("a CSV record").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// The rows of a CSV file of the archive, checking its header.
fn rows(files: &BTreeMap<String, Vec<u8>>, name: &str, header: &[&str]) -> Vec<Vec<String>> {
    let (h, rows) = csv_file(files, name);
    assert_eq!(h, header, "header of {name}");
    rows
}

/// The contact ids the rows of every per-kind CSV belong to.
fn contact_ids_in(files: &BTreeMap<String, Vec<u8>>, name: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = csv_file(files, name).1.iter().map(|r| r[0].parse().expect("a contact id")).collect();
    ids.dedup();
    ids
}

const PER_KIND: [&str; 10] = [
    "conversations.csv",
    "messages.csv",
    "notes.csv",
    "tasks.csv",
    "appointments.csv",
    "opportunities.csv",
    "manual_actions.csv",
    "activities.csv",
    "list_memberships.csv",
    "files.csv",
];

fn t(d: DateTime<Utc>) -> String {
    rfc3339(d)
}

fn s<T: ToString>(v: T) -> String {
    v.to_string()
}

async fn add_file(raw: &crate::support::Raw, a: &Associated, account: i64, name: &str, content_type: &str, content: &[u8], at: i64) -> i64 {
    raw.insert(
        "insert into files (account_id, contact_id, user_id, name, content_type, size_bytes, content, created_at)
         values ($1, $2, null, $3, $4, $5, $6, $7) returning id",
        &[
            V::I(account),
            V::I(a.contact.0),
            V::S(name.into()),
            V::S(content_type.into()),
            V::I(content.len() as i64),
            V::B(content.to_vec()),
            V::I(at),
        ],
    )
    .await
}

both_backends!(async fn the_full_record_holds_every_row_and_file_of_the_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let now = f.now();
    let n = crate::support::ms(now);
    let day = Duration::days(1);
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &["VIP"]).await;
    let a = ann.contact;
    let bob = f.contact("Bobby", Some("bobby@example.test"), &[]).await;
    // a hostile stored name, the same name twice (ignoring case) and a binary file
    let evil = add_file(&f.raw, &ann, f.acc.id.0, "../../etc/passwd", "text/plain", b"not really", n).await;
    let twin = add_file(&f.raw, &ann, f.acc.id.0, "Agreement.txt", "text/plain", b"second copy", n).await;
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let scan = add_file(&f.raw, &ann, f.acc.id.0, "scan.png", "image/png", &binary, n).await;
    // a note a spreadsheet would run as a formula
    let formula = f
        .raw
        .insert(
            "insert into notes (account_id, contact_id, user_id, body, created_at) values ($1, $2, null, $3, $4) returning id",
            args![f.acc.id, a, "=HYPERLINK(\"http://evil.test\")", n],
        )
        .await;
    let before = snapshot(&f.raw).await;
    let mut c = app.admin().await;

    let d = c.get_bytes(&format!("/contacts/export.zip?ids={a}&ids={bob}")).await;
    assert!(d.header("content-disposition").unwrap().contains("contacts-selected-full-record.zip"));
    let files = unzip(&d);

    let mut expected_names: Vec<String> = ["README.txt", "contacts.csv"].iter().map(|s| s.to_string()).collect();
    expected_names.extend(PER_KIND.iter().map(|s| s.to_string()));
    expected_names.extend(
        ["agreement.txt", "_.._etc_passwd", "Agreement (2).txt", "scan.png"].iter().map(|name| format!("files/{a}/{name}")),
    );
    expected_names.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected_names);

    // contacts.csv is exactly the CSV export of the same contacts
    let csv = c.get(&format!("/contacts/export.csv?ids={a}&ids={bob}")).await;
    assert_eq!(String::from_utf8(files["contacts.csv"].clone()).unwrap(), csv.body);
    let contacts = rows(&files, "contacts.csv", &["id", "first_name", "last_name", "email", "phone", "company", "tags", "created_at"]);
    assert_eq!(contacts.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), vec![s(a), s(bob)]);
    assert_eq!(contacts[0][1..], [s("Annabel"), s("Tester"), s("annabel@example.test"), s("+1 555 0100"), s("Testing Ltd"), s("VIP"), t(now)]);

    let admin = f.acc.admin_email.clone();
    let user = f.acc.user_email.clone();
    assert_eq!(
        rows(&files, "conversations.csv", &["contact_id", "conversation_id", "channel", "subject", "created_at"]),
        vec![vec![s(a), s(ann.conversation), s("email"), s("Viewing request"), t(now)]]
    );
    assert_eq!(
        rows(&files, "messages.csv", &["contact_id", "message_id", "conversation_id", "direction", "body", "created_at"]),
        vec![vec![s(a), s(ann.message), s(ann.conversation), s("inbound"), s("Is the offer still available?"), t(now)]]
    );
    assert_eq!(
        rows(&files, "notes.csv", &["contact_id", "note_id", "author_email", "author_name", "body", "created_at"]),
        vec![
            vec![s(a), s(ann.note), admin.clone(), s("Acme Admin"), s("Prefers email"), t(now)],
            vec![s(a), s(formula), s(""), s(""), s("'=HYPERLINK(\"http://evil.test\")"), t(now)],
        ]
    );
    assert_eq!(
        rows(&files, "tasks.csv", &["contact_id", "task_id", "title", "status", "due_at", "assigned_to", "created_at"]),
        vec![vec![s(a), s(ann.task), s("Call back"), s("open"), t(now + day * 2), admin.clone(), t(now)]]
    );
    assert_eq!(
        rows(&files, "appointments.csv", &["contact_id", "appointment_id", "title", "status", "starts_at", "assigned_to", "created_at"]),
        vec![vec![s(a), s(ann.appointment), s("Property viewing"), s("scheduled"), t(now + day * 3), admin.clone(), t(now)]]
    );
    assert_eq!(
        rows(&files, "opportunities.csv", &["contact_id", "opportunity_id", "name", "status", "value_cents", "created_at"]),
        vec![vec![s(a), s(ann.opportunity), s("Deal"), s("open"), s(150000), t(now)]]
    );
    assert_eq!(
        rows(&files, "manual_actions.csv", &["contact_id", "manual_action_id", "kind", "description", "status", "assigned_to", "created_at"]),
        vec![vec![s(a), s(ann.manual_action), s("call"), s("Reach out"), s("pending"), admin.clone(), t(now)]]
    );
    assert_eq!(
        rows(&files, "activities.csv", &["contact_id", "activity_id", "kind", "summary", "by_user", "created_at"]),
        vec![vec![s(a), s(ann.activity), s("call_logged"), s("Logged a call"), user, t(now - day)]]
    );
    assert_eq!(
        rows(&files, "list_memberships.csv", &["contact_id", "list_id", "list_name", "added_at"]),
        vec![vec![s(a), s(ann.list), format!("List for {a}"), t(now)]]
    );
    assert_eq!(
        rows(&files, "files.csv", &["contact_id", "file_id", "name", "content_type", "size_bytes", "created_at", "path_in_archive"]),
        vec![
            vec![s(a), s(ann.file), s("agreement.txt"), s("text/plain"), s(6), t(now), format!("files/{a}/agreement.txt")],
            vec![s(a), s(evil), s("../../etc/passwd"), s("text/plain"), s(10), t(now), format!("files/{a}/_.._etc_passwd")],
            vec![s(a), s(twin), s("Agreement.txt"), s("text/plain"), s(11), t(now), format!("files/{a}/Agreement (2).txt")],
            vec![s(a), s(scan), s("scan.png"), s("image/png"), s(70_000), t(now), format!("files/{a}/scan.png")],
        ]
    );
    assert_eq!(files[&format!("files/{a}/agreement.txt")], b"signed");
    assert_eq!(files[&format!("files/{a}/_.._etc_passwd")], b"not really");
    assert_eq!(files[&format!("files/{a}/Agreement (2).txt")], b"second copy");
    assert_eq!(files[&format!("files/{a}/scan.png")], binary);
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.contains("Full record of 2 contacts") && readme.contains("files/<contact id>/<name>"), "{readme}");

    // one contact: its own file name; a regular user may export too
    let mut u = app.user().await;
    let d = u.get_bytes(&format!("/contacts/export.zip?ids={bob}")).await;
    assert!(d.header("content-disposition").unwrap().contains(&format!("contact-{bob}-full-record.zip")));
    let files = unzip(&d);
    assert_eq!(rows(&files, "contacts.csv", &["id", "first_name", "last_name", "email", "phone", "company", "tags", "created_at"]).len(), 1);
    for kind in PER_KIND {
        assert!(csv_file(&files, kind).1.is_empty(), "{kind} of a contact with no data");
    }
    assert!(!files.keys().any(|k| k.starts_with("files/")));

    // a download changes nothing
    assert_eq!(snapshot(&f.raw).await, before);
});

both_backends!(async fn another_accounts_and_deleted_contacts_are_never_in_the_full_record(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", Some("annabel@example.test"), &[]).await.contact;
    let gone = f.full_contact("Goneril", Some("goneril@example.test"), &[]).await.contact;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", Some("zed@bravo.test"), &[]).await;
    add_associated(&f.raw, &app.b, theirs, f.now()).await;
    let mut c = app.admin().await;
    let g = gone.to_string();
    c.post("/contacts/delete", &[("ids", &g), ("confirm", "DELETE")]).await.assert_see_other("/contacts");
    assert!(is_deleted(&f.raw, gone).await);

    // another account's contact alone, or a deleted one alone: nothing to export
    for id in [theirs, gone] {
        let d = c.get_bytes(&format!("/contacts/export.zip?ids={id}")).await;
        assert_eq!(d.status, 404, "{id}: {}", d.text());
        assert!(d.text().contains("None of the selected contacts exist in this account"), "{}", d.text());
    }
    // mixed in with one of ours, or through select all: only ours
    for path in [
        format!("/contacts/export.zip?ids={ann}&ids={gone}&ids={theirs}"),
        "/contacts/export.zip?select_all=true".to_string(),
    ] {
        let files = unzip(&c.get_bytes(&path).await);
        assert_eq!(contact_ids_in(&files, "contacts.csv"), vec![ann.0], "{path}");
        for kind in PER_KIND {
            assert_eq!(contact_ids_in(&files, kind), vec![ann.0], "{kind} of {path}");
        }
        assert!(files.keys().filter(|k| k.starts_with("files/")).all(|k| k.starts_with(&format!("files/{ann}/"))), "{path}");
        let all: Vec<u8> = files.values().flatten().copied().collect();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains("Zedekiah") && !text.contains("Goneril"), "{path}");
    }
    // the other account's admin sees their own contact only
    let mut b = app.admin_b().await;
    let d = b.get_bytes(&format!("/contacts/export.zip?ids={ann}")).await;
    assert_eq!(d.status, 404);
    let files = unzip(&b.get_bytes("/contacts/export.zip?select_all=true").await);
    assert_eq!(contact_ids_in(&files, "contacts.csv"), vec![theirs.0]);
    assert_eq!(contact_ids_in(&files, "notes.csv"), vec![theirs.0]);
});

both_backends!(async fn a_select_all_full_record_leaves_out_exclusions_and_later_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann_data = f.full_contact("Annabel", None, &["VIP"]).await;
    let ann = ann_data.contact;
    let anna = f.full_contact("Annamaria", None, &["VIP"]).await.contact;
    let bob = f.full_contact("Bobby", None, &["VIP"]).await.contact;
    let other = f.full_contact("Carla", None, &[]).await.contact;
    // a file of an earlier contact added after the later contacts' files
    add_file(&f.raw, &ann_data, f.acc.id.0, "later.txt", "text/plain", b"added later", crate::support::ms(f.now())).await;
    let as_of = f.now();
    f.advance(Duration::minutes(5));
    // created after the list was shown: not part of "all matching"
    let late = f.full_contact("Annelise", None, &["VIP"]).await.contact;
    let mut c = app.admin().await;

    let path = format!("/contacts/export.zip?select_all=true&tag=VIP&as_of={}&exclude={anna}", rfc3339(as_of));
    let d = c.get_bytes(&path).await;
    assert!(d.header("content-disposition").unwrap().contains("contacts-filtered-full-record.zip"));
    let files = unzip(&d);
    assert_eq!(contact_ids_in(&files, "contacts.csv"), vec![ann.0, bob.0]);
    for kind in PER_KIND {
        assert_eq!(contact_ids_in(&files, kind), vec![ann.0, bob.0], "{kind}");
    }
    let dirs: Vec<&String> = files.keys().filter(|k| k.starts_with("files/")).collect();
    assert_eq!(
        dirs,
        vec![&format!("files/{ann}/agreement.txt"), &format!("files/{ann}/later.txt"), &format!("files/{bob}/agreement.txt")]
    );
    assert_eq!(files[&format!("files/{ann}/later.txt")], b"added later");

    // a search instead of a tag, no as_of: as of now, so the late contact is in
    let files = unzip(&c.get_bytes(&format!("/contacts/export.zip?select_all=true&q=ann&exclude={anna}")).await);
    assert_eq!(contact_ids_in(&files, "contacts.csv"), vec![ann.0, late.0]);
    assert_eq!(contact_ids_in(&files, "messages.csv"), vec![ann.0, late.0]);
    let _ = other;
});

both_backends!(async fn bad_full_record_requests_get_a_clear_4xx(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await.contact;
    let before = snapshot(&f.raw).await;
    let mut c = app.admin().await;

    for (path, status, message) in [
        ("/contacts/export.zip?ids=abc".to_string(), 400, "is not a valid contact id"),
        ("/contacts/export.zip".to_string(), 400, "Select at least one contact."),
        ("/contacts/export.zip?ids=".to_string(), 400, "Select at least one contact."),
        ("/contacts/export.zip?select_all=true&as_of=soon".to_string(), 400, "is not a valid as_of moment"),
        (format!("/contacts/export.zip?select_all=true&ids={ann}"), 400, "Send either ids or select_all, not both."),
        ("/contacts/export.zip?select_all=true&exclude=x".to_string(), 400, "is not a valid contact id"),
        ("/contacts/export.zip?ids=999999999".to_string(), 404, "None of the selected contacts exist in this account"),
        ("/contacts/export.zip?select_all=true&q=nobody".to_string(), 404, "None of the selected contacts exist in this account"),
    ] {
        let d = c.get_bytes(&path).await;
        assert_eq!(d.status, status, "{path}: {}", d.text());
        assert!(d.text().contains(message), "{path}: {}", d.text());
        assert_ne!(d.header("content-type"), Some("application/zip"), "{path}");
    }

    // signed out: to the sign-in page, no archive
    let mut anon = app.client();
    let d = anon.get_bytes(&format!("/contacts/export.zip?ids={ann}")).await;
    assert!(d.status == 303 || d.status == 401, "signed out: {}", d.status);
    assert_ne!(d.header("content-type"), Some("application/zip"));
    assert_eq!(snapshot(&f.raw).await, before);
    let _: ContactId = ann;
});

both_backends!(async fn the_delete_dialog_links_to_the_full_record_of_what_it_deletes(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.full_contact("Annabel", None, &[]).await.contact;
    let anna = f.full_contact("Annamaria", None, &[]).await.contact;
    let annie = f.full_contact("Annie", None, &[]).await.contact;
    f.contact("Bobby", None, &[]).await;
    let as_of = rfc3339(f.now());
    let mut c = app.admin().await;

    for (preview, expected) in [
        (format!("/contacts/delete-preview?ids={anna}&origin=contact"), vec![anna.0]),
        (format!("/contacts/delete-preview?select_all=true&q=ann&as_of={as_of}&exclude={anna}"), vec![ann.0, annie.0]),
    ] {
        let page = c.get(&preview).await;
        page.assert_status(200);
        let links: Vec<String> = crate::app::hrefs(&page.body).into_iter().filter(|h| h.starts_with("/contacts/export.zip?")).collect();
        // the sentence under the warning, and the attached files' line of the checklist
        assert_eq!(links.len(), 2, "{preview}: {links:?}");
        assert_eq!(links[0], links[1]);
        let files = unzip(&c.get_bytes(&links[0]).await);
        assert_eq!(contact_ids_in(&files, "contacts.csv"), expected, "{preview} -> {}", links[0]);
        assert_eq!(contact_ids_in(&files, "notes.csv"), expected);
    }
});
