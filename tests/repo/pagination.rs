//! Keyset pagination of the contacts list: First, After, Before and Last pages, newest
//! first, with the right neighbours, skipping deleted and other accounts' contacts.

use crate::support::{create_account, create_contact, Fixture};
use crate::{both_backends, delete_ids};
use contacts_admin::domain::{ContactFilter, ContactId};
use contacts_admin::repo::{ContactPage, Cursor, PageRequest};

both_backends!(async fn keyset_pages_walk_forward_and_back(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let mut ids = Vec::new();
    for i in 0..121 {
        ids.push(f.contact(&format!("Page{i:03}"), None, &[]).await);
        if i % 10 == 0 {
            create_contact(&f.repo, other.id, &format!("Foreign{i}"), None, &[]).await;
        }
    }
    let removed = ids.remove(60);
    delete_ids(&f, &[removed]).await;
    // newest first: the list's order
    let desc: Vec<ContactId> = ids.iter().rev().copied().collect();
    assert_eq!(desc.len(), 120);
    let all = ContactFilter::default();
    let page = |cursor: Cursor| {
        let repo = f.repo.clone();
        let all = all.clone();
        let account = f.acc.id;
        async move { repo.list_contacts(account, &all, PageRequest { cursor, size: 50 }).await.unwrap() }
    };
    let ids_of = |p: &ContactPage| p.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();

    let first = page(Cursor::First).await;
    assert_eq!(ids_of(&first), desc[0..50].to_vec());
    assert_eq!((first.has_prev, first.has_next), (false, true));

    let second = page(Cursor::After(first.last_id().unwrap())).await;
    assert_eq!(ids_of(&second), desc[50..100].to_vec());
    assert_eq!((second.has_prev, second.has_next), (true, true));

    let third = page(Cursor::After(second.last_id().unwrap())).await;
    assert_eq!(ids_of(&third), desc[100..120].to_vec());
    assert_eq!((third.has_prev, third.has_next), (true, false));

    let back = page(Cursor::Before(third.first_id().unwrap())).await;
    assert_eq!(ids_of(&back), desc[50..100].to_vec());
    assert_eq!((back.has_prev, back.has_next), (true, true));

    let back_to_first = page(Cursor::Before(back.first_id().unwrap())).await;
    assert_eq!(ids_of(&back_to_first), desc[0..50].to_vec());
    assert_eq!((back_to_first.has_prev, back_to_first.has_next), (false, true));

    let last = page(Cursor::Last).await;
    assert_eq!(ids_of(&last), desc[70..120].to_vec());
    assert_eq!((last.has_prev, last.has_next), (true, false));

    let before_last = page(Cursor::Before(last.first_id().unwrap())).await;
    assert_eq!(ids_of(&before_last), desc[20..70].to_vec());
    assert_eq!((before_last.has_prev, before_last.has_next), (true, true));

    // a cursor on the deleted contact still lands between its neighbours
    let around_removed = page(Cursor::After(removed)).await;
    let pos = desc.iter().position(|id| id.0 < removed.0).unwrap();
    assert_eq!(ids_of(&around_removed), desc[pos..pos + 50].to_vec());
});
