//! The demo account ships with a few deleted contacts, deleted by its admin through the
//! product's own deletion path a few days back: the Restore page, the audit log and the
//! empty-state counts agree from the first run.

use crate::support::Fixture;
use crate::{args, audit};
use chrono::Duration;
use contacts_admin::cli::{seed_demo, DEMO_ACCOUNT, DEMO_DELETIONS};
use contacts_admin::domain::Actor;
use contacts_admin::repo::AuditAction;

crate::both_backends!(async fn the_demo_seed_leaves_restorable_deleted_contacts(db: TestDb) {
    let f = Fixture::new(db).await;
    assert!(seed_demo(&f.repo).await.expect("seed the demo"), "created");
    let acc = f.repo.find_account(DEMO_ACCOUNT).await.unwrap().expect("the demo account");
    let admin = f.repo.first_admin(acc).await.unwrap().expect("the demo admin");
    let wanted: i64 = DEMO_DELETIONS.iter().map(|d| d.0 as i64).sum();
    assert!((5..=8).contains(&wanted));

    // deleted, by the admin, in two batches, inside the 60-day window
    let rows: Vec<(i64, Option<i64>, Option<i64>, Option<i64>)> = f
        .raw
        .all("select id, deleted_at, deleted_by_user_id, deletion_batch_id from contacts where account_id = $1 and deleted_at is not null order by id", args![acc])
        .await;
    assert_eq!(rows.len() as i64, wanted);
    let now = crate::support::ms(f.now());
    for (id, at, by, batch) in &rows {
        let at = at.unwrap();
        assert!(at < now && at >= now - Duration::days(5).num_milliseconds(), "contact {id}: deleted a few days ago");
        assert_eq!(*by, Some(admin.0), "by the demo admin");
        assert!(batch.is_some());
    }
    let batches: std::collections::BTreeSet<i64> = rows.iter().filter_map(|r| r.3).collect();
    assert_eq!(batches.len(), DEMO_DELETIONS.len());
    // the cascade ran (R2): no notes left on them, their tags kept for a restore
    let first = rows[0].0;
    assert_eq!(f.raw.count("notes", "contact_id = $1", args![first]).await, 0);
    // counts and the Restore page agree
    assert_eq!(f.repo.count_deleted(acc).await.unwrap(), wanted);
    assert_eq!(f.repo.deleted_contacts(acc, &Default::default(), Default::default(), None, 50).await.unwrap().contacts.len() as i64, wanted);
    let live = f.raw.count("contacts", "account_id = $1 and deleted_at is null", args![acc]).await;
    assert_eq!(f.repo.count_contacts(acc, &Default::default()).await.unwrap(), live);
    // audited with their reasons, by the admin
    let events = audit(&f.repo, acc, AuditAction::Delete).await;
    assert_eq!(events.len(), DEMO_DELETIONS.len());
    for e in &events {
        assert_eq!(e.actor_user_id, Some(admin.0));
        assert!(e.reason.as_deref().is_some_and(|r| DEMO_DELETIONS.iter().any(|d| d.2 == r)), "{e:?}");
    }
    assert_eq!(events.iter().map(|e| e.contact_count).sum::<i64>(), wanted);
    // and they can be restored
    let ids: Vec<_> = rows.iter().map(|r| contacts_admin::domain::ContactId(r.0)).collect();
    let report = f.repo.restore_contacts(acc, Actor::ui(admin), &ids[..1]).await.unwrap();
    assert_eq!(report.restored, 1);
    // a second run changes nothing
    assert!(!seed_demo(&f.repo).await.unwrap());
    assert_eq!(f.repo.count_deleted(acc).await.unwrap(), wanted - 1);
});
