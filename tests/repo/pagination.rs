//! Keyset pagination of the contacts list: First, After, Before and Last pages, newest
//! first, with the right neighbours, skipping deleted and other accounts' contacts.

use crate::support::{create_account, create_contact, Fixture, Raw};
use crate::args;
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

/// Makes the next contact id `next` (both backends number contacts from a sequence).
async fn next_contact_id(raw: &Raw, next: i64) {
    match raw {
        Raw::Sqlite(_) => raw.exec("update sqlite_sequence set seq = $1 where name = 'contacts'", args![next - 1]).await,
        Raw::Postgres(_) => raw.exec("select setval(pg_get_serial_sequence('contacts', 'id'), $1)", args![next - 1]).await,
    };
}

both_backends!(async fn search_pages_walk_across_sparse_ids(db: TestDb) {
    // Matches spread over ids far apart. PostgreSQL reads a search page one bucket of
    // 16,384 ids at a time, then the rest at once after four buckets; groups straddle
    // the edges 65,536 (= 4 buckets from the oldest) and 245,760 (4 from the newest).
    // Every page, forward and back, holds exactly the next matches in order.
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let mut needles = Vec::new();
    for (g, start) in [20i64, 40_000, 65_535, 100_000, 200_000, 245_759, 300_000, 300_200].into_iter().enumerate() {
        next_contact_id(&f.raw, start).await;
        for i in 0..3 {
            needles.push(f.contact(&format!("Needle{g}x{i}"), None, &[]).await);
            f.contact(&format!("Hay{g}x{i}"), None, &[]).await;
            create_contact(&f.repo, other.id, &format!("Needle{g}y{i}"), None, &[]).await;
        }
    }
    assert!(needles.last().unwrap().0 > 300_200, "the ids jumped");
    let removed = needles.remove(7);
    delete_ids(&f, &[removed]).await;
    let desc: Vec<ContactId> = needles.iter().rev().copied().collect();
    assert_eq!(desc.len(), 23);

    let filter = ContactFilter { q: Some("needle".into()), tag: None };
    let page = |cursor: Cursor, size: u32| {
        let (repo, filter, account) = (f.repo.clone(), filter.clone(), f.acc.id);
        async move { repo.list_contacts(account, &filter, PageRequest { cursor, size }).await.unwrap() }
    };
    let ids_of = |p: &ContactPage| p.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();

    for size in [1u32, 2, 5, 50] {
        let size_us = size as usize;
        // forward from the first page
        let mut seen = Vec::new();
        let mut p = page(Cursor::First, size).await;
        assert!(!p.has_prev, "size {size}: nothing before the first page");
        loop {
            let start = seen.len();
            seen.extend(ids_of(&p));
            assert_eq!(seen[start..], desc[start..(start + size_us).min(desc.len())], "size {size}: page from {start}");
            if !p.has_next {
                break;
            }
            p = page(Cursor::After(p.last_id().unwrap()), size).await;
            assert!(p.has_prev);
        }
        assert_eq!(seen, desc, "size {size}: forward");
        // back from the last page
        let mut back: Vec<Vec<ContactId>> = Vec::new();
        let mut p = page(Cursor::Last, size).await;
        assert!(!p.has_next, "size {size}: nothing after the last page");
        loop {
            back.push(ids_of(&p));
            if !p.has_prev {
                break;
            }
            p = page(Cursor::Before(p.first_id().unwrap()), size).await;
            assert!(p.has_next);
        }
        let joined: Vec<ContactId> = back.iter().rev().flatten().copied().collect();
        assert_eq!(joined, desc, "size {size}: backward");
        // every page read backwards is full but the newest one
        for pg in &back[..back.len() - 1] {
            assert_eq!(pg.len(), size_us, "size {size}: a full page before the newest");
        }
    }
    // a cursor on the deleted match lands between its neighbours
    let around = page(Cursor::After(removed), 3).await;
    let pos = desc.iter().position(|id| id.0 < removed.0).unwrap();
    assert_eq!(ids_of(&around), desc[pos..pos + 3].to_vec());
    // the other account's matches never show, and the count agrees
    assert_eq!(f.repo.count_contacts(f.acc.id, &filter).await.unwrap(), 23);
    // a substring inside the words finds the same contacts; one across words too
    for q in ["eedl", "needle5x1 test", "le7x"] {
        let expect: Vec<ContactId> = match q {
            "needle5x1 test" => vec![needles[15]],
            "le7x" => desc[..3].to_vec(),
            _ => desc[..10].to_vec(),
        };
        let filter = ContactFilter { q: Some(q.into()), tag: None };
        let got = f.repo.list_contacts(f.acc.id, &filter, PageRequest { cursor: Cursor::First, size: 10 }).await.unwrap();
        assert_eq!(ids_of(&got), expect, "search {q:?}");
    }
});
