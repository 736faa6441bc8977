//! Deleting contacts: R2 (the cascade), R3 (gone from every live view), R4 (idempotent),
//! R6 (select all as of a moment), R7 (audit and batch id), L2 (chunked, resumable).

use crate::support::{assert_associated, ms, Fixture, REMOVED_WITH_CONTACT};
use crate::{args, audit, batch_of, both_backends, confirm, delete_ids, deleted_at, is_deleted, sel};
use chrono::Duration;
use contacts_admin::domain::{Actor, ContactFilter, ContactId, Selection, WorkflowId};
use contacts_admin::repo::{AuditAction, PageRequest};

both_backends!(async fn r2_deleting_a_contact_removes_its_data_stops_enrollments_and_keeps_groups(db: TestDb) {
    let f = Fixture::new(db).await;
    let ann = f.full_contact("Ann", Some("ann@example.test"), &["Customer"]).await;
    let bob = f.full_contact("Bob", Some("bob@example.test"), &["Customer"]).await;
    assert_associated(&f.raw, ann.contact, 1).await;
    f.advance(Duration::minutes(5));
    let deleted_when = ms(f.now());

    let report = delete_ids(&f, &[ann.contact]).await;

    assert_eq!(report.deleted, 1);
    // the contact is soft-deleted, by the admin, in this batch
    let (del_at, by_user, batch): (Option<i64>, Option<i64>, Option<i64>) = f
        .raw
        .one("select deleted_at, deleted_by_user_id, deletion_batch_id from contacts where id = $1", args![ann.contact])
        .await;
    assert_eq!(del_at, Some(deleted_when));
    assert_eq!(by_user, Some(f.acc.admin.0));
    assert_eq!(batch, Some(report.batch.0));
    // every associated kind is gone for Ann, untouched for Bob
    for table in REMOVED_WITH_CONTACT {
        assert_eq!(f.raw.count(table, "contact_id = $1", args![ann.contact]).await, 0, "{table} of the deleted contact");
        assert_eq!(f.raw.count(table, "contact_id = $1", args![bob.contact]).await, 1, "{table} of the other contact");
    }
    for (table, id) in [
        ("conversations", ann.conversation),
        ("messages", ann.message),
        ("notes", ann.note),
        ("tasks", ann.task),
        ("appointments", ann.appointment),
        ("opportunities", ann.opportunity),
        ("manual_actions", ann.manual_action),
        ("activities", ann.activity),
        ("files", ann.file),
    ] {
        assert_eq!(f.raw.count(table, "id = $1", args![id]).await, 0, "{table} row {id}");
    }
    // the list and the campaign themselves stay, only the membership went
    assert_eq!(f.raw.count("lists", "id = $1", args![ann.list]).await, 1);
    assert_eq!(f.raw.count("campaigns", "id = $1", args![ann.campaign]).await, 1);
    assert_eq!(f.raw.count("list_members", "list_id = $1", args![ann.list]).await, 0);
    // active enrollment stopped with reason and time; the finished one kept as it was
    let active: (String, Option<String>, Option<i64>) = f
        .raw
        .one("select status, stop_reason, stopped_at from enrollments where id = $1", args![ann.active_enrollment])
        .await;
    assert_eq!(active, ("stopped".to_string(), Some("contact_deleted".to_string()), Some(deleted_when)));
    let finished: (String, Option<String>, Option<i64>) = f
        .raw
        .one("select status, stop_reason, stopped_at from enrollments where id = $1", args![ann.finished_enrollment])
        .await;
    assert_eq!(finished, ("finished".to_string(), None, None));
    let bobs: (String, Option<String>) =
        f.raw.one("select status, stop_reason from enrollments where id = $1", args![bob.active_enrollment]).await;
    assert_eq!(bobs, ("active".to_string(), None));
    // the group stays without an owner; Bob's group keeps its owner
    let group: (String, Option<i64>) =
        f.raw.one("select name, owner_contact_id from community_groups where id = $1", args![ann.group]).await;
    assert_eq!(group.1, None);
    let bob_group: (Option<i64>,) =
        f.raw.one("select owner_contact_id from community_groups where id = $1", args![bob.group]).await;
    assert_eq!(bob_group.0, Some(bob.contact.0));
    // the contact record and its tags stay for a restore (R8)
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![ann.contact]).await, 1);
    assert!(!is_deleted(&f.raw, bob.contact).await);
});

both_backends!(async fn r3_deleted_contacts_vanish_from_list_search_tag_filter_and_counts(db: TestDb) {
    let f = Fixture::new(db).await;
    let alice = f.contact("Alice", Some("alice@example.test"), &["VIP"]).await;
    let alina = f.contact("Alina", Some("alina@example.test"), &["VIP"]).await;
    let bob = f.contact("Bob", Some("bob@example.test"), &[]).await;
    let all = ContactFilter::default();
    let search = ContactFilter::parse(Some("ALI"), None).unwrap();
    let vip = ContactFilter::parse(None, Some("VIP")).unwrap();
    assert_eq!(f.repo.count_contacts(f.acc.id, &all).await.unwrap(), 3);
    assert_eq!(f.repo.count_contacts(f.acc.id, &search).await.unwrap(), 2);
    assert_eq!(f.repo.count_contacts(f.acc.id, &vip).await.unwrap(), 2);

    delete_ids(&f, &[alice]).await;

    let ids = |page: contacts_admin::repo::ContactPage| page.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();
    let listed = ids(f.repo.list_contacts(f.acc.id, &all, PageRequest::first(50)).await.unwrap());
    assert_eq!(listed, vec![bob, alina]);
    let found = ids(f.repo.list_contacts(f.acc.id, &search, PageRequest::first(50)).await.unwrap());
    assert_eq!(found, vec![alina]);
    let tagged = ids(f.repo.list_contacts(f.acc.id, &vip, PageRequest::first(50)).await.unwrap());
    assert_eq!(tagged, vec![alina]);
    assert_eq!(f.repo.count_contacts(f.acc.id, &all).await.unwrap(), 2);
    assert_eq!(f.repo.count_contacts(f.acc.id, &search).await.unwrap(), 1);
    assert_eq!(f.repo.count_contacts(f.acc.id, &vip).await.unwrap(), 1);
    assert!(f.repo.get_contact(f.acc.id, alice).await.unwrap().is_none());
    assert!(f.repo.contact_detail(f.acc.id, alice).await.unwrap().is_none());
    // a select-all count and export pages skip it too
    let everything = Selection::all_matching(all, f.now(), vec![]).unwrap();
    assert_eq!(f.repo.count_selection(f.acc.id, &everything).await.unwrap(), 2);
    let exported: Vec<ContactId> =
        f.repo.selection_page(f.acc.id, &everything, 0, 100).await.unwrap().iter().map(|c| c.contact_id()).collect();
    assert_eq!(exported, vec![alina, bob]);
    assert!(is_deleted(&f.raw, alice).await);
});

both_backends!(async fn r4_deleting_twice_is_a_noop(db: TestDb) {
    let f = Fixture::new(db).await;
    let x = f.full_contact("Xavier", Some("x@example.test"), &[]).await.contact;
    let y = f.contact("Yara", Some("y@example.test"), &[]).await;
    let first = delete_ids(&f, &[x]).await;
    let first_at = deleted_at(&f.raw, x).await;
    f.advance(Duration::minutes(1));

    let second = delete_ids(&f, &[x]).await;

    assert_eq!(first.deleted, 1);
    assert_eq!(second.deleted, 0);
    assert_ne!(first.batch, second.batch);
    // the contact keeps its first deletion: time and batch
    assert_eq!(deleted_at(&f.raw, x).await, first_at);
    assert_eq!(batch_of(&f.raw, x).await, Some(first.batch.0));
    let b1 = f.repo.batch_info(f.acc.id, first.batch).await.unwrap().unwrap();
    let b2 = f.repo.batch_info(f.acc.id, second.batch).await.unwrap().unwrap();
    assert_eq!((b1.deleted, b1.state.as_str()), (1, "done"));
    assert_eq!((b2.deleted, b2.state.as_str()), (0, "done"));
    let events = audit(&f.repo, f.acc.id, AuditAction::Delete).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].contact_count, 1);
    assert_eq!(events[0].batch_id, Some(first.batch.0));

    // a selection mixing a deleted and a live contact counts only the live one
    let third = delete_ids(&f, &[x, y]).await;
    assert_eq!(third.deleted, 1);
    assert_eq!(batch_of(&f.raw, x).await, Some(first.batch.0));
    assert_eq!(batch_of(&f.raw, y).await, Some(third.batch.0));
    let events = audit(&f.repo, f.acc.id, AuditAction::Delete).await;
    assert_eq!(events.iter().map(|e| e.contact_count).collect::<Vec<_>>(), vec![1, 1]);
});

both_backends!(async fn r6_select_all_spares_contacts_created_after_as_of_and_excluded_ones(db: TestDb) {
    let f = Fixture::new(db).await;
    let a = f.full_contact("Ada", None, &[]).await.contact;
    let b = f.contact("Ben", None, &[]).await;
    let c = f.contact("Cy", None, &[]).await;
    let unticked = f.full_contact("Dee", None, &[]).await.contact;
    let as_of = f.now();
    let selection = Selection::all_matching(ContactFilter::default(), as_of, vec![unticked]).unwrap();
    assert_eq!(f.repo.count_selection(f.acc.id, &selection).await.unwrap(), 3);
    f.advance(Duration::minutes(2));
    let newcomer = f.full_contact("Eve", None, &[]).await.contact;

    let report = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &selection, None, confirm())
        .await
        .unwrap();

    assert_eq!(report.deleted, 3);
    for id in [a, b, c] {
        assert!(is_deleted(&f.raw, id).await, "{id} matched as of the confirmation");
    }
    for id in [unticked, newcomer] {
        assert!(!is_deleted(&f.raw, id).await, "{id} must survive");
        assert_associated(&f.raw, id, 1).await;
    }
    assert_associated(&f.raw, a, 0).await;
    assert_eq!(f.repo.batch_info(f.acc.id, report.batch).await.unwrap().unwrap().total, 3);
});

both_backends!(async fn r6_select_all_is_limited_by_the_search_and_the_tag(db: TestDb) {
    let f = Fixture::new(db).await;
    let vic = f.contact("Vic", None, &["VIP"]).await;
    let val = f.contact("Val", None, &["VIP"]).await;
    let finn = f.contact("Finn", Some("finn@findme.test"), &[]).await;
    let nora = f.contact("Nora", Some("nora@example.test"), &["Lead"]).await;
    let as_of = f.now();

    let vip = ContactFilter::parse(None, Some("VIP")).unwrap();
    let by_tag = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &Selection::all_matching(vip, as_of, vec![]).unwrap(), None, confirm())
        .await
        .unwrap();
    assert_eq!(by_tag.deleted, 2);
    assert!(is_deleted(&f.raw, vic).await && is_deleted(&f.raw, val).await);
    assert!(!is_deleted(&f.raw, finn).await && !is_deleted(&f.raw, nora).await);

    let search = ContactFilter::parse(Some("FindMe"), None).unwrap();
    let by_search = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &Selection::all_matching(search, as_of, vec![]).unwrap(), None, confirm())
        .await
        .unwrap();
    assert_eq!(by_search.deleted, 1);
    assert!(is_deleted(&f.raw, finn).await);
    assert!(!is_deleted(&f.raw, nora).await);
    assert_eq!(batch_of(&f.raw, finn).await, Some(by_search.batch.0));
    assert_eq!(batch_of(&f.raw, vic).await, Some(by_tag.batch.0));
});

both_backends!(async fn r7_deletion_is_audited_and_every_contact_remembers_its_batch(db: TestDb) {
    let f = Fixture::new(db).await;
    let a = f.contact("Ann", None, &[]).await;
    let b = f.contact("Bea", None, &[]).await;
    let spared = f.contact("Cal", None, &[]).await;
    f.advance(Duration::hours(1));
    let when = ms(f.now());

    let report = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel(&[a, b]), Some("  GDPR request #12  "), confirm())
        .await
        .unwrap();

    let events = audit(&f.repo, f.acc.id, AuditAction::Delete).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.actor_user_id, Some(f.acc.admin.0));
    assert_eq!(e.actor_name.as_deref(), Some("Acme Admin"));
    assert_eq!(e.channel, "ui");
    assert_eq!(e.action, "delete");
    assert_eq!(e.contact_count, 2);
    assert_eq!(e.description, "2 selected contacts");
    assert_eq!(e.reason.as_deref(), Some("GDPR request #12"));
    assert_eq!(e.batch_id, Some(report.batch.0));
    assert_eq!(e.at, when);
    assert_eq!(e.workflow_id, None);
    for id in [a, b] {
        assert_eq!(batch_of(&f.raw, id).await, Some(report.batch.0));
    }
    assert_eq!(batch_of(&f.raw, spared).await, None);
    let batch = f.repo.batch_info(f.acc.id, report.batch).await.unwrap().unwrap();
    assert_eq!((batch.total, batch.deleted, batch.restorable), (2, 2, 2));
    assert_eq!(batch.reason.as_deref(), Some("GDPR request #12"));
    assert_eq!(batch.finished_at.map(|t| t.timestamp_millis()), Some(when));
});

both_backends!(async fn r7_workflow_and_cli_deletions_name_their_channel(db: TestDb) {
    let f = Fixture::new(db).await;
    let n = ms(f.now());
    let wf = f
        .raw
        .insert(
            "insert into workflows (account_id, name, status, trigger_tag, activated_by_user_id, activated_at, created_at, updated_at)
             values ($1, 'Unsubscribe clean-up', 'active', 'Unsubscribed', $2, $3, $3, $3) returning id",
            args![f.acc.id, f.acc.admin, n],
        )
        .await;
    let by_workflow = f.contact("Wanda", None, &[]).await;
    let by_cli = f.contact("Clint", None, &[]).await;

    let w = f
        .repo
        .delete_contacts(f.acc.id, Actor::workflow(WorkflowId(wf), f.acc.admin, None), &sel(&[by_workflow]), None, confirm())
        .await
        .unwrap();
    let c = f
        .repo
        .delete_contacts(f.acc.id, Actor::cli(Some(f.acc.admin)), &sel(&[by_cli]), None, confirm())
        .await
        .unwrap();

    assert_eq!((w.deleted, c.deleted), (1, 1));
    let events = audit(&f.repo, f.acc.id, AuditAction::Delete).await;
    assert_eq!(events.len(), 2);
    let we = events.iter().find(|e| e.batch_id == Some(w.batch.0)).unwrap();
    assert_eq!((we.channel.as_str(), we.workflow_id, we.actor_user_id), ("workflow", Some(wf), Some(f.acc.admin.0)));
    assert_eq!(we.workflow_name.as_deref(), Some("Unsubscribe clean-up"));
    let ce = events.iter().find(|e| e.batch_id == Some(c.batch.0)).unwrap();
    assert_eq!((ce.channel.as_str(), ce.workflow_id), ("cli", None));
    let by: (Option<i64>, Option<i64>) = f
        .raw
        .one("select deleted_by_user_id, deleted_by_workflow_id from contacts where id = $1", args![by_workflow])
        .await;
    assert_eq!(by, (Some(f.acc.admin.0), Some(wf)));
});

both_backends!(async fn l2_a_deletion_runs_in_chunks_and_resumes_after_a_restart(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(f.full_contact(&format!("Chunk{i}"), None, &["Bulk"]).await.contact);
    }
    let outsider = f.full_contact("Outsider", None, &[]).await.contact;
    let selection =
        Selection::all_matching(ContactFilter::parse(None, Some("Bulk")).unwrap(), f.now(), vec![]).unwrap();

    let batch = f.repo.start_deletion(f.acc.id, Actor::ui(f.acc.admin), &selection, None, confirm()).await.unwrap();

    let info = f.repo.batch_info(f.acc.id, batch).await.unwrap().unwrap();
    assert_eq!((info.state.as_str(), info.total, info.deleted), ("running", 10, 0));
    for id in &ids {
        assert!(!is_deleted(&f.raw, *id).await, "starting a deletion deletes nothing yet");
    }
    let cursor = |raw: crate::support::Raw| async move {
        raw.i64("select cursor_id from deletion_batches where id = $1", args![batch.0]).await
    };

    // two chunks of three on the first handle
    for (step, expected_total) in [(0usize, 3usize), (1, 6)] {
        let out = f.repo.delete_next_chunk(f.acc.id, batch, 3).await.unwrap();
        assert_eq!((out.deleted, out.done), (3, false), "chunk {step}");
        assert_eq!(cursor(f.raw.clone()).await, ids[expected_total - 1].0);
        for (k, id) in ids.iter().enumerate() {
            let deleted = k < expected_total;
            assert_eq!(is_deleted(&f.raw, *id).await, deleted, "contact #{k} after chunk {step}");
            assert_associated(&f.raw, *id, if deleted { 0 } else { 1 }).await;
        }
        let info = f.repo.batch_info(f.acc.id, batch).await.unwrap().unwrap();
        assert_eq!((info.state.as_str(), info.deleted), ("running", expected_total as i64));
    }
    assert!(f.repo.audit_events(f.acc.id, &Default::default()).await.unwrap().is_empty(), "audited only when done");

    // "restart": a new handle with its own pool finds the batch and finishes it
    f.repo.close().await;
    let restarted = f.another_repo().await;
    assert_eq!(restarted.running_deletions().await.unwrap(), vec![(f.acc.id, batch)]);
    let mut steps = Vec::new();
    loop {
        let out = restarted.delete_next_chunk(f.acc.id, batch, 3).await.unwrap();
        assert!(out.deleted <= 3);
        steps.push(out.deleted);
        if out.done {
            break;
        }
    }
    assert_eq!(steps, vec![3, 1, 0]);
    for id in &ids {
        assert!(is_deleted(&f.raw, *id).await);
        assert_eq!(batch_of(&f.raw, *id).await, Some(batch.0));
        assert_associated(&f.raw, *id, 0).await;
    }
    assert!(!is_deleted(&f.raw, outsider).await);
    assert_associated(&f.raw, outsider, 1).await;
    let info = restarted.batch_info(f.acc.id, batch).await.unwrap().unwrap();
    assert_eq!((info.state.as_str(), info.total, info.deleted), ("done", 10, 10));
    assert!(info.finished_at.is_some());
    let selection_left: (Option<String>,) =
        f.raw.one("select selection from deletion_batches where id = $1", args![batch.0]).await;
    assert_eq!(selection_left.0, None, "a finished batch forgets its selection");
    assert!(restarted.running_deletions().await.unwrap().is_empty());
    let events = audit(&restarted, f.acc.id, AuditAction::Delete).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].contact_count, events[0].batch_id), (10, Some(batch.0)));

    // one more step on a finished batch changes nothing
    let again = restarted.delete_next_chunk(f.acc.id, batch, 3).await.unwrap();
    assert_eq!((again.deleted, again.done), (0, true));
    assert_eq!(audit(&restarted, f.acc.id, AuditAction::Delete).await.len(), 1);
});
