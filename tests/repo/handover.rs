//! U7's advice before deleting: an open opportunity is closed, an upcoming appointment
//! cancelled, only on a live contact of the account and only while open or upcoming.

use crate::support::{create_account, delete_ids, Fixture};
use crate::{args, both_backends};
use chrono::Duration;
use contacts_admin::repo::RepoError;

both_backends!(async fn an_open_opportunity_closes_and_an_upcoming_appointment_cancels_once(db: TestDb) {
    let f = Fixture::new(db).await;
    let ann = f.full_contact("Ann", None, &[]).await;
    let status = |table: &'static str, id: i64| {
        let raw = &f.raw;
        async move { raw.one::<(String,)>(&format!("select status from {table} where id = $1"), args![id]).await.0 }
    };
    // another account's ids change nothing here, and are "not found"
    let other = create_account(&f.repo, "Globex").await;
    assert!(matches!(f.repo.close_opportunity(other.id, ann.contact, ann.opportunity, true).await, Err(RepoError::NotFound(_))));
    assert!(matches!(f.repo.cancel_appointment(other.id, ann.contact, ann.appointment).await, Err(RepoError::NotFound(_))));
    assert_eq!(status("opportunities", ann.opportunity).await, "open");
    assert_eq!(status("appointments", ann.appointment).await, "scheduled");

    f.repo.close_opportunity(f.acc.id, ann.contact, ann.opportunity, true).await.expect("an open opportunity closes");
    assert_eq!(status("opportunities", ann.opportunity).await, "won");
    let again = f.repo.close_opportunity(f.acc.id, ann.contact, ann.opportunity, false).await;
    assert!(matches!(again, Err(RepoError::NotFound(ref m)) if m.contains("open opportunity")), "a closed one stays won: {again:?}");
    assert_eq!(status("opportunities", ann.opportunity).await, "won");

    f.repo.cancel_appointment(f.acc.id, ann.contact, ann.appointment).await.expect("an upcoming appointment cancels");
    assert_eq!(status("appointments", ann.appointment).await, "cancelled");
    assert!(matches!(f.repo.cancel_appointment(f.acc.id, ann.contact, ann.appointment).await, Err(RepoError::NotFound(_))));

    // an appointment that has started is no longer upcoming; a deleted contact's rows stay
    let bob = f.full_contact("Bob", None, &[]).await;
    f.advance(Duration::days(4));
    let past = f.repo.cancel_appointment(f.acc.id, bob.contact, bob.appointment).await;
    assert!(matches!(past, Err(RepoError::NotFound(ref m)) if m.contains("upcoming appointment")), "{past:?}");
    assert_eq!(status("appointments", bob.appointment).await, "scheduled");
    let cy = f.full_contact("Cy", None, &[]).await;
    delete_ids(&f, &[cy.contact]).await;
    assert!(matches!(f.repo.close_opportunity(f.acc.id, cy.contact, cy.opportunity, false).await, Err(RepoError::NotFound(_))));
});
