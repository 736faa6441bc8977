//! Restore and erase: R8 (the 60-day window, what comes back), R12 (by batch), R13
//! (email conflicts), R14 (erase now).

use crate::support::{assert_associated, create_account, ms, Fixture};
use crate::{args, audit, both_backends, confirm, delete_ids, deleted_at, exists, is_deleted};
use chrono::Duration;
use contacts_admin::domain::{Actor, ContactId};
use contacts_admin::repo::{AuditAction, RestoreConflict};

both_backends!(async fn r8_restorable_until_the_last_minute_and_refused_at_sixty_days(db: TestDb) {
    let f = Fixture::new(db).await;
    let ann = f.full_contact("Ann", Some("ann@example.test"), &["VIP", "Customer"]).await;
    let bob = f.contact("Bob", Some("bob@example.test"), &[]).await;
    let deleted = delete_ids(&f, &[ann.contact, bob]).await;
    assert_eq!(deleted.deleted, 2);
    let deleted_ms = deleted_at(&f.raw, ann.contact).await.unwrap();

    // 60 days minus one minute: still restorable
    f.advance(Duration::days(60) - Duration::minutes(1));
    assert_eq!(f.repo.count_deleted(f.acc.id).await.unwrap(), 2);
    let report = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[ann.contact]).await.unwrap();
    assert_eq!(report.restored, 1);
    assert!(report.conflicts.is_empty() && report.expired.is_empty() && report.not_found.is_empty(), "{report:?}");

    // the record and its tags are back ...
    let row = f.repo.get_contact(f.acc.id, ann.contact).await.unwrap().expect("restored contact is live");
    assert_eq!(row.first_name, "Ann");
    assert_eq!(row.last_name, "Tester");
    assert_eq!(row.email.as_deref(), Some("ann@example.test"));
    assert_eq!(row.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(row.company.as_deref(), Some("Testing Ltd"));
    assert_eq!(row.tags, vec!["Customer".to_string(), "VIP".to_string()]);
    let meta: (Option<i64>, Option<i64>, Option<i64>) = f
        .raw
        .one("select deleted_at, deleted_by_user_id, deletion_batch_id from contacts where id = $1", args![ann.contact])
        .await;
    assert_eq!(meta, (None, None, None));
    // ... but none of what the deletion removed
    assert_associated(&f.raw, ann.contact, 0).await;
    let detail = f.repo.contact_detail(f.acc.id, ann.contact).await.unwrap().unwrap();
    assert!(detail.notes.is_empty() && detail.tasks.is_empty() && detail.conversations.is_empty());
    assert!(detail.files.is_empty() && detail.lists.is_empty() && detail.groups_owned.is_empty());
    let enrollment: (String,) = f.raw.one("select status from enrollments where id = $1", args![ann.active_enrollment]).await;
    assert_eq!(enrollment.0, "stopped", "a restore does not re-enrol");

    // exactly 60 days after the deletion: refused although purge has not run
    f.advance(Duration::minutes(1));
    assert_eq!(ms(f.now()), deleted_ms + Duration::days(60).num_milliseconds());
    let late = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[bob]).await.unwrap();
    assert_eq!(late.restored, 0);
    assert_eq!(late.expired, vec![bob]);
    assert!(late.not_found.is_empty() && late.conflicts.is_empty());
    assert!(is_deleted(&f.raw, bob).await, "an expired contact stays deleted");
    assert!(f.repo.get_contact(f.acc.id, bob).await.unwrap().is_none());
    assert_eq!(f.repo.count_deleted(f.acc.id).await.unwrap(), 0);
    // restore by batch refuses it too
    let by_batch = f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), deleted.batch).await.unwrap();
    assert_eq!(by_batch.restored, 0);
    assert_eq!(by_batch.expired, vec![bob]);
    assert!(is_deleted(&f.raw, bob).await);
    let restores = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(restores.iter().map(|e| e.contact_count).collect::<Vec<_>>(), vec![1]);
});

both_backends!(async fn r12_restore_by_batch_restores_exactly_that_batch(db: TestDb) {
    let f = Fixture::new(db).await;
    let a1 = f.contact("Ava", None, &[]).await;
    let a2 = f.contact("Abe", None, &[]).await;
    let b1 = f.contact("Bo", None, &[]).await;
    let live = f.contact("Liv", None, &[]).await;
    let first = delete_ids(&f, &[a1, a2]).await;
    f.advance(Duration::hours(1));
    let second = delete_ids(&f, &[b1]).await;
    f.advance(Duration::days(3));

    let report = f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), first.batch).await.unwrap();

    assert_eq!(report.restored, 2);
    assert!(report.conflicts.is_empty() && report.expired.is_empty());
    assert!(!is_deleted(&f.raw, a1).await && !is_deleted(&f.raw, a2).await);
    assert!(is_deleted(&f.raw, b1).await, "another batch's contact stays deleted");
    assert!(!is_deleted(&f.raw, live).await);
    let restores = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(restores.len(), 1);
    assert_eq!((restores[0].contact_count, restores[0].batch_id), (2, Some(first.batch.0)));
    assert_eq!(restores[0].actor_user_id, Some(f.acc.admin.0));
    assert_eq!(f.repo.batch_info(f.acc.id, first.batch).await.unwrap().unwrap().restorable, 0);
    assert_eq!(f.repo.batch_info(f.acc.id, second.batch).await.unwrap().unwrap().restorable, 1);

    // restoring the same batch again finds nothing left, and audits nothing
    let again = f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), first.batch).await.unwrap();
    assert_eq!(again.restored, 0);
    assert!(is_deleted(&f.raw, b1).await);
    assert_eq!(audit(&f.repo, f.acc.id, AuditAction::Restore).await.len(), 1);
});

both_backends!(async fn r13_an_email_taken_by_a_live_contact_is_a_conflict_and_the_others_proceed(db: TestDb) {
    let f = Fixture::new(db).await;
    let dup = f.contact("Dora", Some("dora@example.test"), &[]).await;
    let other = f.contact("Olga", Some("olga@example.test"), &[]).await;
    let no_email = f.contact("Nemo", None, &[]).await;
    delete_ids(&f, &[dup, other, no_email]).await;
    f.advance(Duration::days(1));
    let taker = f.contact("Dorothy", Some("DORA@example.test"), &[]).await;

    let report = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[dup, other, no_email]).await.unwrap();

    assert_eq!(report.restored, 2);
    assert_eq!(
        report.conflicts,
        vec![RestoreConflict {
            contact_id: dup.0,
            name: "Dora Tester".into(),
            email: "dora@example.test".into(),
            live_contact_id: taker.0,
            live_name: "Dorothy Tester".into()
        }]
    );
    assert!(report.expired.is_empty());
    assert!(report.not_found.is_empty(), "{:?}", report.not_found);
    assert!(is_deleted(&f.raw, dup).await, "the conflicting contact stays deleted");
    assert!(!is_deleted(&f.raw, other).await && !is_deleted(&f.raw, no_email).await);
    assert!(!is_deleted(&f.raw, taker).await);
    assert_eq!(f.raw.count("contacts", "email = $1 and deleted_at is null", args!["dora@example.test"]).await, 1);
    let restores = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(restores[0].contact_count, 2);
});

both_backends!(async fn r13_deleted_twins_sharing_an_email_come_back_one_at_most(db: TestDb) {
    let f = Fixture::new(db).await;
    let older = f.contact("Tim", Some("twin@example.test"), &[]).await;
    delete_ids(&f, &[older]).await;
    f.advance(Duration::minutes(10));
    let newer = f.contact("Tom", Some("twin@example.test"), &[]).await;
    delete_ids(&f, &[newer]).await;
    f.advance(Duration::minutes(10));

    let report = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[older, newer]).await.unwrap();

    assert_eq!(report.restored, 1);
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    let live = f.raw.ids("select id from contacts where email = $1 and deleted_at is null", args!["twin@example.test"]).await;
    assert_eq!(live.len(), 1);
    let conflict = &report.conflicts[0];
    assert_eq!(conflict.live_contact_id, live[0]);
    assert_ne!(conflict.contact_id, live[0]);
    assert!([older.0, newer.0].contains(&conflict.contact_id));
    assert!(is_deleted(&f.raw, ContactId(conflict.contact_id)).await);
});

both_backends!(async fn r14_erase_removes_selected_deleted_contacts_and_refuses_live_and_foreign_ones(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let gone = f.full_contact("Gina", Some("gina@example.test"), &["VIP"]).await;
    let kept_deleted = f.full_contact("Kip", None, &["VIP"]).await;
    let live = f.contact("Liv", None, &[]).await;
    let foreign = crate::support::create_contact(&f.repo, other.id, "Fritz", None, &[]).await;
    f.repo
        .delete_contacts(other.id, Actor::ui(other.admin), &crate::sel(&[foreign]), None, confirm())
        .await
        .unwrap();
    delete_ids(&f, &[gone.contact, kept_deleted.contact]).await;
    f.advance(Duration::days(2));

    let report = f
        .repo
        .erase_contacts(f.acc.id, Actor::ui(f.acc.admin), &[gone.contact, live, foreign], confirm())
        .await
        .unwrap();

    assert_eq!(report.erased, 1);
    assert_eq!(report.not_found, vec![live, foreign]);
    assert!(!exists(&f.raw, gone.contact).await, "the erased contact's row is gone");
    for (table, col) in [("contact_tags", "contact_id"), ("enrollments", "contact_id"), ("list_members", "contact_id")] {
        assert_eq!(f.raw.count(table, &format!("{col} = $1"), args![gone.contact]).await, 0, "{table}");
    }
    let owner: (Option<i64>,) = f.raw.one("select owner_contact_id from community_groups where id = $1", args![gone.group]).await;
    assert_eq!(owner.0, None);
    assert!(!is_deleted(&f.raw, live).await, "a live contact is never erased");
    assert!(is_deleted(&f.raw, foreign).await, "another account's contact is untouched");
    assert!(is_deleted(&f.raw, kept_deleted.contact).await, "an unselected deleted contact stays restorable");
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![kept_deleted.contact]).await, 1);
    let erases = audit(&f.repo, f.acc.id, AuditAction::Erase).await;
    assert_eq!(erases.len(), 1);
    assert_eq!((erases[0].contact_count, erases[0].actor_user_id), (1, Some(f.acc.admin.0)));
    assert!(audit(&f.repo, other.id, AuditAction::Erase).await.is_empty());

    // an erased contact cannot be restored
    let restore = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[gone.contact]).await.unwrap();
    assert_eq!((restore.restored, restore.not_found.clone()), (0, vec![gone.contact]));
});
