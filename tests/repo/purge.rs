//! Purge: R9 (past the window, everything goes, safe from several processes at once)
//! and R10 (no personal data left in the SQLite files).

use crate::support::{create_account, create_contact, Fixture, V};
use crate::{args, audit, both_backends, confirm, delete_ids, exists, is_deleted, sel};
use chrono::Duration;
use contacts_admin::domain::{Actor, ContactFilter, ContactId, Selection};
use contacts_admin::repo::AuditAction;

both_backends!(async fn r9_two_purges_at_once_remove_each_expired_contact_once(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let mut expiring = Vec::new();
    for i in 0..5 {
        expiring.push(f.full_contact(&format!("Old{i}"), Some(&format!("old{i}@example.test")), &["Stale"]).await.contact);
    }
    let mut foreign = Vec::new();
    for i in 0..2 {
        let id = create_contact(&f.repo, other.id, &format!("Far{i}"), None, &["Stale"]).await;
        crate::support::add_associated(&f.raw, &other, id, f.now()).await;
        foreign.push(id);
    }
    let recent = vec![f.full_contact("New0", None, &["Fresh"]).await.contact, f.contact("New1", None, &[]).await];
    let live = f.full_contact("Live", None, &[]).await.contact;
    delete_ids(&f, &expiring).await;
    f.repo.delete_contacts(other.id, Actor::ui(other.admin), &sel(&foreign), None, confirm()).await.unwrap();
    f.advance(Duration::days(30));
    delete_ids(&f, &recent).await;
    f.advance(Duration::days(30) + Duration::seconds(1));
    let doomed: Vec<ContactId> = expiring.iter().chain(&foreign).copied().collect();
    for id in &doomed {
        assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![*id]).await, 1);
        assert_eq!(f.raw.count("enrollments", "contact_id = $1", args![*id]).await, 2);
    }

    let second = f.another_repo().await;
    let (r1, r2) = tokio::join!(f.repo.purge_expired(), second.purge_expired());

    let (r1, r2) = (r1.expect("first purge"), r2.expect("second purge"));
    assert_eq!(r1.purged + r2.purged, 7, "{r1:?} {r2:?}");
    let per = |acc: i64| r1.per_account.get(&acc).copied().unwrap_or(0) + r2.per_account.get(&acc).copied().unwrap_or(0);
    assert_eq!((per(f.acc.id.0), per(other.id.0)), (5, 2));
    for id in &doomed {
        assert!(!exists(&f.raw, *id).await, "{id} purged");
        for table in ["contact_tags", "enrollments", "list_members", "notes", "messages", "files"] {
            assert_eq!(f.raw.count(table, "contact_id = $1", args![*id]).await, 0, "{table} of {id}");
        }
    }
    for id in &recent {
        assert!(is_deleted(&f.raw, *id).await, "{id} is inside its window");
    }
    assert!(!is_deleted(&f.raw, live).await);
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![recent[0]]).await, 1);
    // groups outlive their owners
    assert_eq!(f.raw.count("community_groups", "account_id = $1", args![f.acc.id]).await, 7);
    // each account's purge is audited with the contacts purged there, in total once each
    let purged_in = |events: Vec<contacts_admin::repo::AuditEvent>| events.iter().map(|e| e.contact_count).sum::<i64>();
    assert_eq!(purged_in(audit(&f.repo, f.acc.id, AuditAction::Purge).await), 5);
    assert_eq!(purged_in(audit(&f.repo, other.id, AuditAction::Purge).await), 2);
    let purge_event = &audit(&f.repo, f.acc.id, AuditAction::Purge).await[0];
    assert_eq!((purge_event.channel.as_str(), purge_event.actor_user_id), ("system", None));

    // nothing left to purge now; the recent ones go once their own window closes
    assert_eq!(f.repo.purge_expired().await.unwrap().purged, 0);
    f.advance(Duration::days(30));
    assert_eq!(second.purge_expired().await.unwrap().purged, 2);
    for id in &recent {
        assert!(!exists(&f.raw, *id).await);
    }
    assert!(!is_deleted(&f.raw, live).await);
});

crate::sqlite_only!(async fn r10_no_personal_data_is_left_in_the_sqlite_files_after_purge(db: TestDb) {
    let f = Fixture::new(db).await;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("Zq{}", &token[..12]);
    let email = format!("r10-{token}@privacy.test");
    let note = format!("Confidential note {token} about the diagnosis");
    let phone = format!("+1 555 {}", &token[..8]);
    let mut c = contacts_admin::domain::NewContact::parse(&name, "Private", &email, &phone, "Secret Corp").unwrap();
    c.tags = vec![contacts_admin::domain::TagName::parse("Patient").unwrap()];
    let id = f.repo.create_contact(f.acc.id, &c, f.acc.admin_confirmed()).await.unwrap();
    let assoc = crate::support::add_associated(&f.raw, &f.acc, id, f.now()).await;
    f.raw.exec("update notes set body = $1 where id = $2", &[V::S(note.clone()), V::I(assoc.note)]).await;
    f.raw
        .exec("update messages set body = $1 where id = $2", &[V::S(format!("Reply to {email}")), V::I(assoc.message)])
        .await;
    let bystander = f.contact("Bystander", Some("bystander@example.test"), &[]).await;
    let file = f.db.sqlite_file().unwrap();
    let wal = file.with_file_name("test.db-wal");
    let on_disk = |s: &str| {
        [&file, &wal].iter().any(|p| std::fs::read(p).map(|b| contains(&b, s.as_bytes())).unwrap_or(false))
    };
    // the check below can see the data: it is on disk now
    assert!(on_disk(&email) && on_disk(&note), "the personal data should be on disk before the deletion");
    // the person is found by a search for their email, then deleted through that search,
    // so the running batch holds the email in its selection for a while
    let filter = ContactFilter::parse(Some(&email), None).unwrap();
    assert_eq!(f.repo.count_contacts(f.acc.id, &filter).await.unwrap(), 1);
    let selection = Selection::all_matching(filter, f.now(), vec![]).unwrap();
    let deleted = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &selection, Some("privacy request"), confirm())
        .await
        .unwrap();
    assert_eq!(deleted.deleted, 1);
    f.advance(Duration::days(60) + Duration::minutes(1));

    let purged = f.repo.purge_expired().await.unwrap();

    assert_eq!(purged.purged, 1);
    assert!(!exists(&f.raw, id).await);
    assert!(exists(&f.raw, bystander).await);
    let secrets = [email.as_str(), note.as_str(), token.as_str(), name.as_str(), phone.as_str()];
    // the audit log keeps ids and counts only
    let texts: Vec<(String, Option<String>)> = f.raw.all("select description, reason from audit_events", args![]).await;
    for (d, r) in &texts {
        for s in secrets {
            assert!(!d.contains(s) && !r.as_deref().unwrap_or("").contains(s), "audit event names the person: {d:?} {r:?}");
        }
    }
    let check = |stage: &str| {
        for path in [&file, &wal] {
            let Ok(bytes) = std::fs::read(path) else { continue };
            for s in secrets {
                assert!(
                    !contains(&bytes, s.as_bytes()),
                    "{stage}: {} still holds {s:?} after purge",
                    path.file_name().unwrap().to_string_lossy()
                );
            }
        }
    };
    // while the application still runs ...
    check("with the database open");
    // ... and once every connection is closed
    f.repo.close().await;
    f.raw.close().await;
    check("after closing");
});

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
