//! Tags: one contact's tags from its page, and bulk "Add tag" for a selection or for
//! everything matching a filter (U3).

use crate::app::{attr_values, spawn_app};
use crate::support::{create_contact, Raw};
use crate::{args, both_backends, rfc3339, snapshot};
use chrono::Duration;
use contacts_admin::domain::ContactId;

async fn tags_of(raw: &Raw, id: ContactId) -> Vec<String> {
    let rows: Vec<(String,)> = raw.all("select tag from contact_tags where contact_id = $1 order by tag", args![id]).await;
    rows.into_iter().map(|r| r.0).collect()
}

both_backends!(async fn a_tag_is_added_and_removed_on_the_contact_page(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &["VIP"]).await;
    let mut c = app.user().await;

    let r = c.post(&format!("/contacts/{ann}/tags"), &[("tag_name", "  Hot lead ")]).await;

    r.assert_see_other(&format!("/contacts/{ann}"));
    assert_eq!(tags_of(&f.raw, ann).await, vec!["Hot lead".to_string(), "VIP".into()]);
    c.get(&format!("/contacts/{ann}")).await.assert_contains("Tag “Hot lead” added.");
    // adding it twice is harmless
    c.post(&format!("/contacts/{ann}/tags"), &[("tag_name", "Hot lead")]).await.assert_see_other(&format!("/contacts/{ann}"));
    assert_eq!(tags_of(&f.raw, ann).await.len(), 2);

    let r = c.post(&format!("/contacts/{ann}/tags/remove"), &[("tag_name", "VIP")]).await;
    r.assert_see_other(&format!("/contacts/{ann}"));
    assert_eq!(tags_of(&f.raw, ann).await, vec!["Hot lead".to_string()]);

    // refusals: no such tag on it, an empty or overlong tag, a bad id, no token
    let before = snapshot(&f.raw).await;
    c.post(&format!("/contacts/{ann}/tags/remove"), &[("tag_name", "VIP")]).await.assert_status(404);
    c.post(&format!("/contacts/{ann}/tags"), &[("tag_name", "   ")]).await.assert_status(400).assert_contains("A tag needs a name.");
    c.post(&format!("/contacts/{ann}/tags"), &[("tag_name", &"t".repeat(51))]).await.assert_status(400).assert_contains("is not a valid tag");
    c.post("/contacts/abc/tags", &[("tag_name", "X")]).await.assert_status(404);
    c.post_with(&format!("/contacts/{ann}/tags"), &[("tag_name", "X")], crate::app::Csrf::Missing, false)
        .await
        .assert_status(403);
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(tags_of(&f.raw, ann).await, vec!["Hot lead".to_string()]);
});

both_backends!(async fn another_accounts_contact_cannot_be_tagged(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let theirs = create_contact(&f.repo, app.b.id, "Zedekiah", None, &["Theirs"]).await;
    let mut c = app.admin().await;
    let t = theirs.to_string();
    let as_of = rfc3339(f.now());

    c.post(&format!("/contacts/{theirs}/tags"), &[("tag_name", "Mine")]).await.assert_status(404);
    c.post(&format!("/contacts/{theirs}/tags/remove"), &[("tag_name", "Theirs")]).await.assert_status(404);
    c.post("/contacts/tags", &[("ids", &t), ("tag_name", "Mine")]).await.assert_see_other("/contacts");
    c.post("/contacts/tags", &[("select_all", "true"), ("as_of", &as_of), ("tag_name", "Mine")]).await.assert_see_other("/contacts");

    assert_eq!(tags_of(&f.raw, theirs).await, vec!["Theirs".to_string()], "B's contact keeps its tags only");
    c.get("/contacts").await.assert_contains("Tagged 0 contacts");
});

both_backends!(async fn bulk_add_tag_tags_the_selected_or_all_matching_contacts(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let ann = f.contact("Annabel", None, &[]).await;
    let anna = f.contact("Annamaria", None, &[]).await;
    let bob = f.contact("Bobby", None, &[]).await;
    let cara = f.contact("Carabel", None, &[]).await;
    let mut c = app.user().await;

    let (a, b) = (ann.to_string(), bob.to_string());
    let r = c.post("/contacts/tags", &[("ids", &a), ("ids", &b), ("tag_name", "Spring")]).await;
    r.assert_see_other("/contacts");
    assert_eq!(tags_of(&f.raw, ann).await, vec!["Spring".to_string()]);
    assert_eq!(tags_of(&f.raw, bob).await, vec!["Spring".to_string()]);
    assert!(tags_of(&f.raw, cara).await.is_empty());
    c.get("/contacts").await.assert_contains("Tagged 2 contacts “Spring”.");

    // select all matching "anna" as of the page, no ids listed; a later match is left out
    let page = c.get("/contacts?q=anna").await;
    let as_of = attr_values(&page.body, "data-as-of").into_iter().next().unwrap();
    f.advance(Duration::minutes(1));
    let later = f.contact("Annabeth", None, &[]).await;
    let r = c.post_htmx("/contacts/tags", &[("select_all", "true"), ("q", "anna"), ("as_of", &as_of), ("tag_name", "Anna")]).await;
    r.assert_status(200).assert_contains("Tagged 2 contacts “Anna”.");
    assert_eq!(r.header("hx-trigger"), Some("contacts-changed"));
    assert_eq!(tags_of(&f.raw, ann).await, vec!["Anna".to_string(), "Spring".into()]);
    assert_eq!(tags_of(&f.raw, anna).await, vec!["Anna".to_string()]);
    assert!(tags_of(&f.raw, later).await.is_empty());
    assert_eq!(tags_of(&f.raw, bob).await, vec!["Spring".to_string()]);
    // the new tag filters the list
    let tagged = c.get("/contacts?tag=Anna").await;
    assert_eq!(crate::app::row_ids(&tagged.body), vec![anna.0, ann.0]);

    // bad input changes nothing
    let before = snapshot(&f.raw).await;
    c.post("/contacts/tags", &[("ids", &a)]).await.assert_status(400).assert_contains("A tag needs a name.");
    c.post("/contacts/tags", &[("tag_name", "X")]).await.assert_status(400).assert_contains("Select at least one contact.");
    c.post("/contacts/tags", &[("ids", "abc"), ("tag_name", "X")]).await.assert_status(400).assert_contains("is not a valid contact id");
    c.post("/contacts/tags", &[("select_all", "true"), ("tag_name", "X")]).await.assert_status(400).assert_contains("as_of");
    assert_eq!(snapshot(&f.raw).await, before);
    assert_eq!(tags_of(&f.raw, cara).await, Vec::<String>::new());
});

both_backends!(async fn a_contact_holds_at_most_a_hundred_tags(db: TestDb) {
    let app = spawn_app(db).await;
    let f = &app.f;
    let full = f.contact("Full", None, &[]).await;
    let other = f.contact("Other", None, &[]).await;
    // 100 tags, as a flood of requests would leave it
    for i in 0..100 {
        f.raw
            .exec("insert into contact_tags (contact_id, tag, account_id, created_at) values ($1, $2, $3, 0)", args![full, format!("T{i:03}"), f.acc.id])
            .await;
    }
    let mut c = app.user().await;
    let before = snapshot(&f.raw).await;

    // the 101st tag on its page, and a bulk tag that includes it: 400, nothing tagged
    let r = c.post(&format!("/contacts/{full}/tags"), &[("tag_name", "One more")]).await;
    r.assert_status(400).assert_contains("1 selected contact already has 100 tags, the most a contact can have");
    let ids = [("ids", full.to_string()), ("ids", other.to_string()), ("tag_name", "One more".to_string())];
    let ids: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post("/contacts/tags", &ids).await.assert_status(400).assert_contains("nothing was tagged");
    assert_eq!(snapshot(&f.raw).await, before, "a refused tag changes nothing");
    assert!(tags_of(&f.raw, other).await.is_empty());
    // a tag it already has is no new tag: fine
    c.post(&format!("/contacts/{full}/tags"), &[("tag_name", "T000")]).await.assert_see_other(&format!("/contacts/{full}"));
    // a new contact with more than 100 tags is refused with the form kept
    let many: Vec<String> = (0..101).map(|i| format!("N{i}")).collect();
    let r = c.post("/contacts", &[("first_name", "Tagged"), ("tags", &many.join(","))]).await;
    r.assert_status(400).assert_contains("A contact has at most 100 tags.").assert_contains("value=\"Tagged\"");
    assert_eq!(snapshot(&f.raw).await, before);
    // and its page shows everything well below a megabyte
    let page = c.get(&format!("/contacts/{full}")).await;
    assert!(page.body.len() < 200_000, "the page of a contact with 100 tags is {} bytes", page.body.len());
});
