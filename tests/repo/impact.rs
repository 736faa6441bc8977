//! The pre-delete checklist (U4): per-kind counts and warnings from aggregate queries.

use crate::support::{Fixture};
use crate::{args, both_backends, sel};
use chrono::Duration;
use contacts_admin::domain::{ContactFilter, Selection};
use contacts_admin::repo::DeletionImpact;

both_backends!(async fn deletion_impact_counts_every_kind_and_the_warnings(db: TestDb) {
    let f = Fixture::new(db).await;
    let a = f.full_contact("Ann", None, &[]).await;
    let b = f.full_contact("Bob", None, &[]).await;
    let bare = f.contact("Cy", None, &[]).await;
    let untouched = f.full_contact("Dan", None, &[]).await;
    // Ann gets a second note and a second message; Bob's opportunity is won, his
    // appointment is over, and his activity by another user is older than a week
    let now = crate::support::ms(f.now());
    f.raw
        .exec(
            "insert into notes (account_id, contact_id, user_id, body, created_at) values ($1, $2, null, 'Second note', $3)",
            args![f.acc.id, a.contact, now],
        )
        .await;
    f.raw
        .exec(
            "insert into messages (account_id, conversation_id, contact_id, direction, body, created_at)
             values ($1, $2, $3, 'outbound', 'Yes it is', $4)",
            args![f.acc.id, a.conversation, a.contact, now],
        )
        .await;
    f.raw.exec("update opportunities set status = 'won' where id = $1", args![b.opportunity]).await;
    f.raw
        .exec("update appointments set starts_at = $1 where id = $2", args![now - Duration::days(2).num_milliseconds(), b.appointment])
        .await;
    f.raw
        .exec("update activities set created_at = $1 where id = $2", args![now - Duration::days(8).num_milliseconds(), b.activity])
        .await;
    f.raw.exec("update enrollments set status = 'finished' where id = $1", args![b.active_enrollment]).await;
    let selection = sel(&[a.contact, b.contact, bare]);

    let impact = f.repo.deletion_impact(f.acc.id, &selection, Some(f.acc.admin)).await.unwrap();

    assert_eq!(
        impact,
        DeletionImpact {
            contacts: 3,
            conversations: 2,
            messages: 3,
            notes: 3,
            tasks: 2,
            appointments: 2,
            opportunities: 2,
            manual_actions: 2,
            activities: 2,
            files: 2,
            group_ownerships: 2,
            list_memberships: 2,
            active_enrollments: 1,
            open_opportunities: 1,
            upcoming_appointments: 1,
            worked_on_by_others: 1,
        }
    );
    // the regular user's own activity is not "someone else's"
    let as_user = f.repo.deletion_impact(f.acc.id, &selection, Some(f.acc.user)).await.unwrap();
    assert_eq!(as_user.worked_on_by_others, 0);
    assert_eq!(as_user.notes, 3);
    // select-all sees the same, minus the unticked contact
    let all = Selection::all_matching(ContactFilter::default(), f.now(), vec![untouched.contact]).unwrap();
    assert_eq!(f.repo.deletion_impact(f.acc.id, &all, Some(f.acc.admin)).await.unwrap(), impact);
    // nothing was changed by looking
    crate::support::assert_associated(&f.raw, untouched.contact, 1).await;
    assert_eq!(f.raw.count("contacts", "deleted_at is not null", args![]).await, 0);
});
