//! The Restore page's list and selection (U6, U2 on the Restore page): filters by when,
//! by whom, by workflow and by deletion; sorts by name, deletion time, who and days
//! left, page by page; and "select all N matching" with exclusions, bounded by the
//! moment the admin looked (`as_of`), restored inline or by a background job.

use crate::support::{Fixture, V};
use crate::{args, audit, both_backends, confirm, deleted_at, is_deleted, sel};
use chrono::Duration;
use contacts_admin::domain::{
    Actor, ContactId, DeletedFilter, DeletedSort, DeletedSortKey, DeletedWithin, Email, RestoreSelection, Role, UserId, WorkflowId,
};
use contacts_admin::config::BulkSettings;
use contacts_admin::jobs::bulk::run_queued;
use contacts_admin::repo::{AuditAction, DeletedCursor};

/// The account of the fixture with: Cleo and Abe deleted 10 days ago by the admin (one
/// deletion), Bea deleted 3 days ago by a second admin "Zed Admin", Dan deleted 2 hours
/// ago by a workflow acting for the admin, and Eve still live.
struct World {
    f: Fixture,
    abe: ContactId,
    bea: ContactId,
    cleo: ContactId,
    dan: ContactId,
    eve: ContactId,
    zed: UserId,
    workflow: WorkflowId,
    first_batch: i64,
}

async fn world(db: crate::support::TestDb) -> World {
    let f = Fixture::new(db).await;
    let zed = f
        .repo
        .upsert_user(f.acc.id, &Email::parse("zed@acme.test").unwrap(), "Zed Admin", Role::Admin, crate::support::password_hash())
        .await
        .unwrap();
    let now = crate::support::ms(f.now());
    let workflow = WorkflowId(
        f.raw
            .insert(
                "insert into workflows (account_id, name, status, actions, created_at, updated_at) values ($1, 'Clean-up', 'active', '[]', $2, $2) returning id",
                args![f.acc.id, now],
            )
            .await,
    );
    let cleo = f.contact("Cleo", Some("cleo@example.test"), &[]).await;
    let abe = f.contact("Abe", Some("abe@example.test"), &[]).await;
    let bea = f.contact("Bea", Some("bea@example.test"), &[]).await;
    let dan = f.contact("Dan", Some("dan@example.test"), &[]).await;
    let eve = f.contact("Eve", Some("eve@example.test"), &[]).await;
    let first = f.repo.delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel(&[cleo, abe]), None, confirm()).await.unwrap();
    f.advance(Duration::days(7));
    f.repo.delete_contacts(f.acc.id, Actor::ui(zed), &sel(&[bea]), None, confirm()).await.unwrap();
    f.advance(Duration::days(3) - Duration::hours(2));
    f.repo
        .delete_contacts(f.acc.id, Actor::workflow(workflow, f.acc.admin, None), &sel(&[dan]), None, confirm())
        .await
        .unwrap();
    f.advance(Duration::hours(2));
    World { f, abe, bea, cleo, dan, eve, zed, workflow, first_batch: first.batch.0 }
}

async fn listed(w: &World, filter: &DeletedFilter, sort: DeletedSort) -> Vec<ContactId> {
    let page = w.f.repo.deleted_contacts(w.f.acc.id, filter, sort, None, 50).await.unwrap();
    page.contacts.iter().map(|c| ContactId(c.id)).collect()
}

fn sort(key: DeletedSortKey, desc: bool) -> DeletedSort {
    DeletedSort { key, desc }
}

both_backends!(async fn the_restore_list_filters_by_when_by_whom_by_workflow_and_by_deletion(db: TestDb) {
    let w = world(db).await;
    let by_time = sort(DeletedSortKey::Deleted, true);
    let all = DeletedFilter::default();
    assert_eq!(listed(&w, &all, by_time).await.len(), 4, "the live contact is never listed");
    assert!(!listed(&w, &all, by_time).await.contains(&w.eve));

    let day = DeletedFilter { within: Some(DeletedWithin::Day), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &day, by_time).await, vec![w.dan]);
    let week = DeletedFilter { within: Some(DeletedWithin::Week), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &week, by_time).await, vec![w.dan, w.bea]);
    let by_zed = DeletedFilter { by: Some(w.zed), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &by_zed, by_time).await, vec![w.bea]);
    // a workflow's deletion counts as the admin's it acts for, and as the workflow's
    let by_admin = DeletedFilter { by: Some(w.f.acc.admin), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &by_admin, by_time).await, vec![w.dan, w.abe, w.cleo]);
    let by_workflow = DeletedFilter { workflow: Some(w.workflow), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &by_workflow, by_time).await, vec![w.dan]);
    let of_batch = DeletedFilter { batch: Some(contacts_admin::domain::BatchId(w.first_batch)), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &of_batch, by_time).await, vec![w.abe, w.cleo]);
    let search = DeletedFilter { q: Some("bea@".into()), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &search, by_time).await, vec![w.bea]);
    // filters combine
    let both = DeletedFilter { within: Some(DeletedWithin::Week), by: Some(w.f.acc.admin), ..DeletedFilter::default() };
    assert_eq!(listed(&w, &both, by_time).await, vec![w.dan]);
    assert_eq!(w.f.repo.count_deleted_matching(w.f.acc.id, &both).await.unwrap(), 1);
    assert_eq!(w.f.repo.count_deleted_matching(w.f.acc.id, &all).await.unwrap(), 4);

    // another account sees none of them, whatever the filter
    let other = crate::support::create_account(&w.f.repo, "Other").await;
    let none = w.f.repo.deleted_contacts(other.id, &of_batch, by_time, None, 50).await.unwrap();
    assert!(none.contacts.is_empty());
    assert_eq!(w.f.repo.count_deleted_matching(other.id, &all).await.unwrap(), 0);
});

both_backends!(async fn the_restore_list_sorts_by_each_column_both_ways_a_page_at_a_time(db: TestDb) {
    let w = world(db).await;
    let all = DeletedFilter::default();
    // names: Abe, Bea, Cleo, Dan (all "… Tester")
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::Name, false)).await, vec![w.abe, w.bea, w.cleo, w.dan]);
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::Name, true)).await, vec![w.dan, w.cleo, w.bea, w.abe]);
    // deletion time: newest first; ties (one deletion) by id
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::Deleted, true)).await, vec![w.dan, w.bea, w.abe, w.cleo]);
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::Deleted, false)).await, vec![w.cleo, w.abe, w.bea, w.dan]);
    // days left: fewest first is the oldest deletion first
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::Left, false)).await, vec![w.cleo, w.abe, w.bea, w.dan]);
    // who: "Acme Admin" before "Zed Admin", each one's newest first
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::By, false)).await, vec![w.dan, w.abe, w.cleo, w.bea]);
    assert_eq!(listed(&w, &all, sort(DeletedSortKey::By, true)).await, vec![w.bea, w.dan, w.abe, w.cleo]);

    // page by page (two a page) gives the same order in every sort, each row once
    for key in DeletedSortKey::ALL {
        for desc in [false, true] {
            let s = sort(key, desc);
            let whole = listed(&w, &all, s).await;
            let mut paged = Vec::new();
            let mut after: Option<DeletedCursor> = None;
            for _ in 0..5 {
                let page = w.f.repo.deleted_contacts(w.f.acc.id, &all, s, after.as_ref(), 2).await.unwrap();
                paged.extend(page.contacts.iter().map(|c| ContactId(c.id)));
                // the cursor survives its trip through a link
                after = page.next.map(|c| DeletedCursor::parse(s, &c.key(), &c.id().to_string()).expect("a cursor reads back"));
                if after.is_none() {
                    break;
                }
            }
            assert_eq!(paged, whole, "{s:?}");
        }
    }
});

both_backends!(async fn a_filtered_name_sort_gives_the_same_pages_whether_it_sorts_the_matches_or_walks_the_names(db: TestDb) {
    let w = world(db).await;
    let filters = [
        DeletedFilter { by: Some(w.f.acc.admin), ..DeletedFilter::default() },
        DeletedFilter { within: Some(DeletedWithin::Week), ..DeletedFilter::default() },
        DeletedFilter { batch: Some(contacts_admin::domain::BatchId(w.first_batch)), ..DeletedFilter::default() },
        DeletedFilter { workflow: Some(w.workflow), q: Some("dan".into()), ..DeletedFilter::default() },
    ];
    for filter in &filters {
        for desc in [false, true] {
            let s = sort(DeletedSortKey::Name, desc);
            let mut by_way = Vec::new();
            // 1000: the few matches are sorted; 0: the names are walked in order
            for up_to in [1000, 0] {
                let mut seen = Vec::new();
                let mut after: Option<DeletedCursor> = None;
                for _ in 0..5 {
                    let page = w.f.repo.deleted_contacts_sorting_up_to(w.f.acc.id, filter, s, after.as_ref(), 1, up_to).await.unwrap();
                    seen.extend(page.contacts.iter().map(|c| ContactId(c.id)));
                    after = page.next;
                    if after.is_none() {
                        break;
                    }
                }
                by_way.push(seen);
            }
            assert_eq!(by_way[0], by_way[1], "{filter:?} {s:?}");
            assert_eq!(by_way[0].len() as i64, w.f.repo.count_deleted_matching(w.f.acc.id, filter).await.unwrap(), "{filter:?}");
        }
    }
    let by_admin = w.f.repo.deleted_contacts_sorting_up_to(w.f.acc.id, &filters[0], sort(DeletedSortKey::Name, false), None, 10, 0).await.unwrap();
    assert_eq!(by_admin.contacts.iter().map(|c| ContactId(c.id)).collect::<Vec<_>>(), vec![w.abe, w.cleo, w.dan]);
});

both_backends!(async fn select_all_matching_restores_what_the_admin_saw_minus_the_exclusions(db: TestDb) {
    let w = world(db).await;
    let f = &w.f;
    // the admin looks at "deleted by Acme Admin" (Dan, Abe, Cleo) and unticks Abe
    let filter = DeletedFilter { by: Some(f.acc.admin), ..DeletedFilter::default() };
    let as_of = f.now();
    let selection = RestoreSelection::all_matching(filter.clone(), as_of, vec![w.abe], f.now()).unwrap();
    assert_eq!(f.repo.count_restore_selection(f.acc.id, &selection).await.unwrap(), 2);
    // meanwhile Eve is deleted by the same admin: after as_of, she is not part of it
    f.advance(Duration::minutes(1));
    f.repo.delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel(&[w.eve]), None, confirm()).await.unwrap();
    assert_eq!(f.repo.count_deleted_matching(f.acc.id, &filter).await.unwrap(), 4);

    let report = f.repo.restore_selection_in_chunks(f.acc.id, Actor::ui(f.acc.admin), &selection, 1).await.unwrap();

    assert_eq!(report.restored, 2);
    assert_eq!(report.names, vec!["Cleo Tester".to_string(), "Dan Tester".to_string()]);
    assert!(!is_deleted(&f.raw, w.cleo).await && !is_deleted(&f.raw, w.dan).await);
    assert!(is_deleted(&f.raw, w.abe).await, "the unticked contact stays deleted");
    assert!(deleted_at(&f.raw, w.eve).await.is_some(), "a contact deleted after the admin looked stays deleted");
    assert!(is_deleted(&f.raw, w.bea).await, "another admin's deletion is not in the filter");
    let restores = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(restores.len(), 1);
    assert_eq!(restores[0].contact_count, 2);
    assert!(restores[0].description.contains("except 1 unticked"), "{}", restores[0].description);
    assert!(!restores[0].description.contains("Tester"), "no names in the audit log: {}", restores[0].description);

    // the same selection for another account restores nothing of this one
    let other = crate::support::create_account(&f.repo, "Other").await;
    let all = RestoreSelection::all_matching(DeletedFilter::default(), f.now(), vec![], f.now()).unwrap();
    let r = f.repo.restore_selection_in_chunks(other.id, Actor::ui(other.admin), &all, 10).await.unwrap();
    assert_eq!(r.restored, 0);
    assert!(is_deleted(&f.raw, w.abe).await && is_deleted(&f.raw, w.bea).await && is_deleted(&f.raw, w.eve).await);
    // and a regular user may not restore
    assert!(f.repo.restore_selection_in_chunks(f.acc.id, Actor::ui(f.acc.user), &all, 10).await.is_err());
    assert!(is_deleted(&f.raw, w.abe).await);
});

both_backends!(async fn a_large_select_all_restore_runs_as_a_job_bounded_by_as_of(db: TestDb) {
    let w = world(db).await;
    let f = &w.f;
    let filter = DeletedFilter::default();
    let selection = RestoreSelection::all_matching(filter, f.now(), vec![w.bea], f.now()).unwrap();
    f.advance(Duration::minutes(1));
    f.repo.delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &sel(&[w.eve]), None, confirm()).await.unwrap();
    let total = f.repo.count_restore_selection(f.acc.id, &selection).await.unwrap();
    assert_eq!(total, 3);
    // a regular user cannot queue one
    assert!(f.repo.queue_restore_selection_job(f.acc.id, &selection, f.acc.user, total).await.is_err());
    assert_eq!(f.raw.count("bulk_jobs", "kind = 'restore'", &[]).await, 0);

    let job = f.repo.queue_restore_selection_job(f.acc.id, &selection, f.acc.admin, total).await.unwrap();
    assert_eq!(run_queued(&f.repo, BulkSettings { threshold: 1, chunk: Some(1) }).await.unwrap(), 1);

    let (state, restored): (String, i64) = f.raw.one("select state, restored from bulk_jobs where id = $1", args![job.0]).await;
    assert_eq!((state.as_str(), restored), ("done", 3));
    for c in [w.abe, w.cleo, w.dan] {
        assert!(!is_deleted(&f.raw, c).await);
    }
    assert!(is_deleted(&f.raw, w.bea).await, "excluded");
    assert!(is_deleted(&f.raw, w.eve).await, "deleted after as_of");
    let restores = audit(&f.repo, f.acc.id, AuditAction::Restore).await;
    assert_eq!(restores.iter().map(|e| e.contact_count).sum::<i64>(), 3);
    let jobs = f.repo.bulk_jobs(f.acc.id, 10).await.unwrap();
    assert!(jobs.iter().any(|j| j.id == job && j.selection.is_some()));
    let _: &[V] = &[];
});

both_backends!(async fn erase_works_with_the_same_selection(db: TestDb) {
    let w = world(db).await;
    let f = &w.f;
    let week = DeletedFilter { within: Some(DeletedWithin::Week), ..DeletedFilter::default() };
    let selection = RestoreSelection::all_matching(week, f.now(), vec![w.dan], f.now()).unwrap();
    let report = f.repo.erase_selection(f.acc.id, Actor::ui(f.acc.admin), &selection, confirm()).await.unwrap();
    assert_eq!(report.erased, 1);
    assert_eq!(f.raw.count("contacts", "id = $1", args![w.bea]).await, 0, "Bea is gone for good");
    assert!(is_deleted(&f.raw, w.dan).await, "the unticked one stays restorable");
    assert!(is_deleted(&f.raw, w.abe).await && is_deleted(&f.raw, w.cleo).await, "outside the period");
    assert_eq!(audit(&f.repo, f.acc.id, AuditAction::Erase).await[0].contact_count, 1);
});
