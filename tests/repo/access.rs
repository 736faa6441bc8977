//! Who may do what: R1/R11 at the repository (only an account's admins delete, restore
//! and erase) and tenant isolation (nothing crosses accounts, whatever ids are sent).

use crate::support::{assert_associated, create_account, create_contact, add_associated, Fixture};
use crate::{args, audit, both_backends, confirm, delete_ids, exists, is_deleted, live_count, sel};
use contacts_admin::domain::{Actor, ContactFilter, Selection, TagName};
use contacts_admin::repo::{AuditAction, RepoError};

fn forbidden<T: std::fmt::Debug>(r: Result<T, RepoError>, what: &str) {
    assert!(matches!(r, Err(RepoError::Forbidden(_))), "{what}: expected Forbidden, got {r:?}");
}

both_backends!(async fn r1_a_regular_user_cannot_delete_restore_or_erase(db: TestDb) {
    let f = Fixture::new(db).await;
    let keep = f.full_contact("Kim", None, &[]).await.contact;
    let gone = f.contact("Gus", None, &[]).await;
    let report = delete_ids(&f, &[gone]).await;
    let user = Actor::ui(f.acc.user);
    let everything = Selection::all_matching(ContactFilter::default(), f.now(), vec![]).unwrap();

    forbidden(f.repo.start_deletion(f.acc.id, user, &sel(&[keep]), None, confirm()).await, "start_deletion");
    forbidden(f.repo.delete_contacts(f.acc.id, user, &everything, None, confirm()).await, "delete_contacts");
    forbidden(f.repo.delete_contacts(f.acc.id, Actor::system(), &sel(&[keep]), None, confirm()).await, "delete without a user");
    forbidden(f.repo.restore_contacts(f.acc.id, user, &[gone]).await, "restore_contacts");
    forbidden(f.repo.restore_batch(f.acc.id, user, report.batch).await, "restore_batch");
    forbidden(f.repo.erase_contacts(f.acc.id, user, &[gone], confirm()).await, "erase_contacts");
    forbidden(f.repo.erase_contacts(f.acc.id, Actor::system(), &[gone], confirm()).await, "erase without a user");

    assert!(!is_deleted(&f.raw, keep).await);
    assert_associated(&f.raw, keep, 1).await;
    assert!(is_deleted(&f.raw, gone).await, "still deleted: the restore was refused");
    assert!(exists(&f.raw, gone).await, "still there: the erase was refused");
    assert_eq!(f.raw.count("deletion_batches", "account_id = $1", args![f.acc.id]).await, 1, "no batch recorded");
    assert_eq!(live_count(&f.raw, f.acc.id).await, 1);
    assert!(audit(&f.repo, f.acc.id, AuditAction::Restore).await.is_empty());
    assert!(audit(&f.repo, f.acc.id, AuditAction::Erase).await.is_empty());
    assert_eq!(audit(&f.repo, f.acc.id, AuditAction::Delete).await.len(), 1);
});

both_backends!(async fn r1_an_admin_of_another_account_is_not_an_admin_here(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let keep = f.contact("Kim", None, &[]).await;
    let gone = f.contact("Gus", None, &[]).await;
    delete_ids(&f, &[gone]).await;
    let stranger = Actor::ui(other.admin);

    forbidden(f.repo.delete_contacts(f.acc.id, stranger, &sel(&[keep]), None, confirm()).await, "delete");
    forbidden(f.repo.restore_contacts(f.acc.id, stranger, &[gone]).await, "restore");
    forbidden(f.repo.erase_contacts(f.acc.id, stranger, &[gone], confirm()).await, "erase");

    assert!(!is_deleted(&f.raw, keep).await);
    assert!(is_deleted(&f.raw, gone).await);
});

both_backends!(async fn tenant_ids_of_another_account_change_nothing_there(db: TestDb) {
    let f = Fixture::new(db).await;
    let b = create_account(&f.repo, "Globex").await;
    let b_live = create_contact(&f.repo, b.id, "Bea", Some("bea@globex.test"), &["Partner"]).await;
    add_associated(&f.raw, &b, b_live, f.now()).await;
    let b_other = create_contact(&f.repo, b.id, "Bert", None, &[]).await;
    let b_gone = create_contact(&f.repo, b.id, "Bo", None, &[]).await;
    let b_batch = f.repo.delete_contacts(b.id, Actor::ui(b.admin), &sel(&[b_gone]), None, confirm()).await.unwrap().batch;
    let mine = f.contact("Ann", None, &[]).await;
    let admin = Actor::ui(f.acc.admin);

    // reading
    assert!(f.repo.get_contact(f.acc.id, b_live).await.unwrap().is_none());
    assert!(f.repo.contact_detail(f.acc.id, b_live).await.unwrap().is_none());
    assert!(f.repo.get_contact(b.id, b_live).await.unwrap().is_some(), "sanity: it is live in its own account");
    assert!(f.repo.batch_info(f.acc.id, b_batch).await.unwrap().is_none());
    let impact = f.repo.deletion_impact(f.acc.id, &sel(&[b_live]), Some(f.acc.admin)).await.unwrap();
    assert_eq!(impact, Default::default());

    // deleting B's ids from A
    let report = f.repo.delete_contacts(f.acc.id, admin, &sel(&[b_live, b_other]), None, confirm()).await.unwrap();
    assert_eq!(report.deleted, 0);
    assert!(!is_deleted(&f.raw, b_live).await && !is_deleted(&f.raw, b_other).await);
    assert_associated(&f.raw, b_live, 1).await;
    let enrollments: Vec<(String,)> =
        f.raw.all("select status from enrollments where contact_id = $1 order by id", args![b_live]).await;
    assert_eq!(enrollments, vec![("active".to_string(),), ("finished".to_string(),)]);
    // select-all in A touches A only
    let all = Selection::all_matching(ContactFilter::default(), f.now(), vec![]).unwrap();
    let report = f.repo.delete_contacts(f.acc.id, admin, &all, None, confirm()).await.unwrap();
    assert_eq!(report.deleted, 1);
    assert!(is_deleted(&f.raw, mine).await);
    assert_eq!(live_count(&f.raw, b.id).await, 2);
    // driving B's batch from A
    assert!(matches!(f.repo.delete_next_chunk(f.acc.id, b_batch, 10).await, Err(RepoError::NotFound(_))));
    assert!(!f.repo.cancel_deletion(f.acc.id, b_batch).await.unwrap());

    // tagging
    let tag = TagName::parse("Hijacked").unwrap();
    assert!(f.repo.add_tag(f.acc.id, &sel(&[b_live]), &tag, f.acc.admin_confirmed()).await.unwrap().is_empty());
    assert!(!f.repo.remove_tag(f.acc.id, b_live, &TagName::parse("Partner").unwrap()).await.unwrap());
    let tags = f.raw.count("contact_tags", "contact_id = $1", args![b_live]).await;
    assert_eq!(tags, 1);
    assert_eq!(f.raw.count("contact_tags", "tag = $1", args!["Hijacked"]).await, 0);

    // restoring and erasing
    let restore = f.repo.restore_contacts(f.acc.id, admin, &[b_gone]).await.unwrap();
    assert_eq!((restore.restored, restore.not_found.clone()), (0, vec![b_gone]));
    assert!(matches!(f.repo.restore_batch(f.acc.id, admin, b_batch).await, Err(RepoError::NotFound(_))));
    assert!(is_deleted(&f.raw, b_gone).await);
    let erase = f.repo.erase_contacts(f.acc.id, admin, &[b_gone, b_live], confirm()).await.unwrap();
    assert_eq!((erase.erased, erase.not_found.clone()), (0, vec![b_gone, b_live]));
    assert!(exists(&f.raw, b_gone).await && exists(&f.raw, b_live).await);
    assert!(is_deleted(&f.raw, b_gone).await);

    // B's audit log saw only B's own deletion
    let b_events = f.repo.audit_events(b.id, &contacts_admin::repo::AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(b_events.len(), 1);
    assert_eq!((b_events[0].action.as_str(), b_events[0].batch_id), ("delete", Some(b_batch.0)));
});

both_backends!(async fn r1_a_tag_that_starts_a_deleting_workflow_needs_an_admin_who_confirmed(db: TestDb) {
    use contacts_admin::domain::{NewContact, Role, TagAuthority, WorkflowAction, WorkflowDraft, WorkflowStatus};
    let f = Fixture::new(db).await;
    let ann = f.contact("Ann", None, &[]).await;
    let draft = WorkflowDraft::parse("Remove unsubscribed", "Unsubscribed", vec![WorkflowAction::DeleteContact]).unwrap();
    let wf = f.repo.create_workflow(f.acc.id, &draft, Role::Admin).await.unwrap();
    f.repo.set_workflow_status(f.acc.id, wf, WorkflowStatus::Active, f.acc.admin, Role::Admin).await.unwrap();
    let tag = TagName::parse("Unsubscribed").unwrap();
    let runs = || f.raw.count("workflow_runs", "1 = 1", &[]);
    let tagged = || f.raw.count("contact_tags", "tag = 'Unsubscribed'", &[]);

    // a regular user: refused, whatever they typed
    for by in [f.acc.user_tagging(), TagAuthority::person(f.acc.user, Role::User, Some(confirm()))] {
        forbidden(f.repo.add_tag(f.acc.id, &sel(&[ann]), &tag, by).await, "a user's tag");
    }
    let mut c = NewContact::parse("Una", "", "una@example.test", "", "").unwrap();
    c.tags = vec![tag.clone()];
    forbidden(f.repo.create_contact(f.acc.id, &c, f.acc.user_tagging()).await, "a user's new tagged contact");
    // an admin without the typed DELETE: asked for it
    let asked = f.repo.add_tag(f.acc.id, &sel(&[ann]), &tag, TagAuthority::person(f.acc.admin, Role::Admin, None)).await;
    match asked {
        Err(RepoError::ConfirmationRequired(m)) => assert!(m.contains("runs “Remove unsubscribed”, which deletes 1 contact"), "{m}"),
        other => panic!("expected a request for confirmation, got {other:?}"),
    }
    // a chained run carries no more than its trigger agreed to
    forbidden(f.repo.add_tag(f.acc.id, &sel(&[ann]), &tag, TagAuthority::chained(Some(f.acc.user), false)).await, "a chained tag");
    assert_eq!((tagged().await, runs().await), (0, 0), "nothing tagged, nothing queued");
    assert_eq!(f.raw.count("contacts", "email = 'una@example.test'", &[]).await, 0);
    assert!(!is_deleted(&f.raw, ann).await);

    // the admin who confirmed: tagged, and the run remembers who and that they confirmed
    let done = f.repo.add_tag(f.acc.id, &sel(&[ann]), &tag, f.acc.admin_confirmed()).await.unwrap();
    assert_eq!(done, vec![ann]);
    let run: (i64, Option<i64>, i64) =
        f.raw.one("select workflow_id, triggered_by_user_id, delete_confirmed from workflow_runs", &[]).await;
    assert_eq!(run, (wf.0, Some(f.acc.admin.0), 1));
    // another account's workflow on the same tag is not this account's concern
    let other = create_account(&f.repo, "Globex").await;
    let theirs = create_contact(&f.repo, other.id, "Zed", None, &[]).await;
    assert_eq!(f.repo.add_tag(other.id, &sel(&[theirs]), &tag, other.user_tagging()).await.unwrap(), vec![theirs]);
});
