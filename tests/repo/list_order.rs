//! The contacts list sorted by name, email, company or created, in both directions:
//! every page forwards and backwards in exactly the expected order, ties broken by id,
//! missing values after the others from A to Z, with and without a tag (both of the tag's
//! plans), and a search keeping its own order.

use crate::support::{create_account, create_contact, Fixture};
use crate::{args, delete_ids};
use crate::both_backends;
use contacts_admin::domain::{ContactFilter, ContactId, ListOrder, NewContact, SortColumn, TagAuthority, TagName};
use contacts_admin::repo::{ContactPage, Cursor, PageRequest, Repo, RepoError};

/// first, last, email, company, tags
const PEOPLE: [(&str, &str, &str, &str, &[&str]); 16] = [
    ("ana", "Li", "ana@b.test", "Zeta", &["Many"]),
    ("Ana", "li", "ana2@b.test", "zeta", &["Many", "Few"]),
    ("Bob", "Stone", "", "Acme", &["Many"]),
    ("", "", "zed@a.test", "", &["Many"]),
    ("Carl", "Ng", "CARL@c.test", "", &[]),
    ("Ana", "Li", "", "acme", &["Many", "Few"]),
    ("Émile", "Roux", "emile@d.test", "Beta", &[]),
    ("Blank", "", "", "", &["Many"]),
    ("dora", "Ek", "dora@a.test", "Acme", &["Many"]),
    ("Eve", "", "eve@e.test", "beta", &[]),
    ("", "Young", "young@y.test", "Gamma", &["Few"]),
    ("Finn", "Ode", "finn@a.test", "", &["Many"]),
    ("ana", "li", "ana3@b.test", "Zeta", &[]),
    ("Gus", "Vale", "", "", &["Many"]),
    ("Hal", "Ito", "hal@h.test", "Delta", &[]),
    ("Zoe", "Ash", "a@z.test", "acme", &["Many"]),
];

struct Person {
    id: ContactId,
    first: String,
    last: String,
    email: Option<String>,
    company: Option<String>,
    tags: Vec<&'static str>,
}

/// The sort key as migration 0019 defines it, computed in Rust from what was stored:
/// lower-cased behind a '0', or '1' for a missing or empty value.
fn key(p: &Person, column: SortColumn) -> String {
    let val = |s: Option<&str>| s.map(str::to_ascii_lowercase).filter(|s| !s.is_empty());
    let v = match column {
        SortColumn::Name => val(Some(format!("{} {}", p.first, p.last).trim())).or_else(|| val(p.email.as_deref())),
        SortColumn::Email => val(p.email.as_deref()),
        SortColumn::Company => val(p.company.as_deref()),
        SortColumn::Created => return format!("{:020}", p.id.0),
    };
    v.map(|v| format!("0{v}")).unwrap_or_else(|| "1".into())
}

fn expected(people: &[Person], order: ListOrder, tag: Option<&str>) -> Vec<ContactId> {
    let mut v: Vec<&Person> = people.iter().filter(|p| tag.is_none_or(|t| p.tags.contains(&t))).collect();
    v.sort_by(|a, b| (key(a, order.column), a.id.0).cmp(&(key(b, order.column), b.id.0)));
    if order.descending {
        v.reverse();
    }
    v.into_iter().map(|p| p.id).collect()
}

fn ids(p: &ContactPage) -> Vec<ContactId> {
    p.contacts.iter().map(|c| c.contact_id()).collect()
}

async fn page(repo: &Repo, f: &Fixture, filter: &ContactFilter, order: ListOrder, cursor: Cursor, size: u32) -> ContactPage {
    repo.list_contacts_in_order(f.acc.id, filter, PageRequest { cursor, size }, order).await.unwrap()
}

/// Walks the whole list forwards with Next and backwards with Previous, checking every
/// page's rows and its First/Previous/Next/Last neighbours against `want`.
async fn walk(f: &Fixture, filter: &ContactFilter, order: ListOrder, want: &[ContactId], size: u32) {
    let label = format!("{order:?} {filter:?}");
    let first = page(&f.repo, f, filter, order, Cursor::First, size).await;
    assert_eq!(first.order, order, "{label}");
    let mut got = ids(&first);
    assert!(!first.has_prev, "{label}: the first page has nothing before it");
    let mut p = first;
    while p.has_next {
        p = page(&f.repo, f, filter, order, Cursor::After(p.last_id().unwrap()), size).await;
        assert!(p.has_prev, "{label}");
        assert!(!p.contacts.is_empty(), "{label}: a page with a next page holds rows");
        got.extend(ids(&p));
    }
    assert_eq!(got, want, "{label}: forwards");

    let last = page(&f.repo, f, filter, order, Cursor::Last, size).await;
    assert!(!last.has_next, "{label}: the last page has nothing after it");
    let mut back = ids(&last);
    assert_eq!(back, want[want.len().saturating_sub(size as usize)..].to_vec(), "{label}: the last page");
    let mut p = last;
    while p.has_prev {
        p = page(&f.repo, f, filter, order, Cursor::Before(p.first_id().unwrap()), size).await;
        assert!(p.has_next, "{label}");
        let mut earlier = ids(&p);
        earlier.extend(back);
        back = earlier;
    }
    assert_eq!(back, want, "{label}: backwards");
}

async fn people(f: &Fixture) -> Vec<Person> {
    let mut out = Vec::new();
    for (first, last, email, company, tags) in PEOPLE {
        let mut c = NewContact::parse(first, last, email, "", company).expect("a valid contact");
        c.tags = tags.iter().map(|t| TagName::parse(t).unwrap()).collect();
        let id = f.repo.create_contact(f.acc.id, &c, TagAuthority::chained(None, true)).await.expect("create");
        out.push(Person { id, first: String::new(), last: String::new(), email: None, company: None, tags: tags.to_vec() });
    }
    // an empty company stored as '' rather than NULL sorts as missing too
    f.raw.exec("update contacts set company = '' where id = $1", args![out[3].id]).await;
    // neither name nor email (the form refuses it; older data may hold it)
    f.raw.exec("update contacts set first_name = '' where id = $1", args![out[7].id]).await;
    // read back what was stored (trimmed, lower-cased emails)
    for p in &mut out {
        let (first, last, email, company): (String, String, Option<String>, Option<String>) = f
            .raw
            .one("select first_name, last_name, email, company from contacts where id = $1", args![p.id])
            .await;
        (p.first, p.last, p.email, p.company) = (first, last, email, company);
    }
    out
}

both_backends!(async fn every_sort_pages_forwards_and_backwards_in_order(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    create_contact(&f.repo, other.id, "Aaron", Some("aaron@globex.test"), &["Many"]).await;
    let mut all = people(&f).await;
    // a deleted contact is in no order
    let gone = all.remove(9);
    delete_ids(&f, &[gone.id]).await;

    for column in SortColumn::ALL {
        for descending in [false, true] {
            let order = ListOrder::new(column, descending);
            let want = expected(&all, order, None);
            assert_eq!(want.len(), 15);
            for size in [1, 4, 50] {
                walk(&f, &ContactFilter::default(), order, &want, size).await;
            }
            // "Many" is on most contacts: its pages walk the sort index; "Few" is on
            // three: its pages sort the tagged contacts. Both give the same order.
            for tag in ["Many", "Few"] {
                let filter = ContactFilter::parse(None, Some(tag)).unwrap();
                let want = expected(&all, order, Some(tag));
                walk(&f, &filter, order, &want, 2).await;
            }
        }
    }

    // the spelled-out expectations, beyond the key helper above
    let by_name = expected(&all, ListOrder::new(SortColumn::Name, false), None);
    let name = |id: ContactId| all.iter().find(|p| p.id == id).map(|p| format!("{} {}", p.first, p.last).trim().to_string()).unwrap();
    // case-insensitive, ties by id: the four "Ana Li"s in the order they were added
    let anas: Vec<ContactId> = all.iter().filter(|p| p.first.eq_ignore_ascii_case("ana")).map(|p| p.id).collect();
    assert_eq!(by_name[..4].to_vec(), anas);
    // no name: listed by the email it shows; neither name nor email: last from A to Z
    assert_eq!(name(by_name[14]), "");
    let by_company = expected(&all, ListOrder::new(SortColumn::Company, false), None);
    let company = |id: ContactId| all.iter().find(|p| p.id == id).unwrap().company.clone().unwrap_or_default();
    assert_eq!(company(by_company[0]).to_lowercase(), "acme");
    assert!(by_company[10..].iter().all(|id| company(*id).is_empty()), "no company after every company");
    let desc = expected(&all, ListOrder::new(SortColumn::Company, true), None);
    assert!(desc[..5].iter().all(|id| company(*id).is_empty()), "and first from Z to A");
});

both_backends!(async fn a_cursor_on_a_deleted_contact_continues_and_an_unknown_one_is_refused(db: TestDb) {
    let f = Fixture::new(db).await;
    let all = people(&f).await;
    let order = ListOrder::new(SortColumn::Email, false);
    let want = expected(&all, order, None);
    // the contact a page ended on is deleted before Next is clicked
    let first = page(&f.repo, &f, &ContactFilter::default(), order, Cursor::First, 5).await;
    let cursor = first.last_id().unwrap();
    delete_ids(&f, &[cursor]).await;
    let next = page(&f.repo, &f, &ContactFilter::default(), order, Cursor::After(cursor), 5).await;
    assert_eq!(ids(&next), want[5..10].to_vec());
    // a made-up or another account's id: a clear refusal, not an empty or wrong page
    let other = create_account(&f.repo, "Globex").await;
    let foreign = create_contact(&f.repo, other.id, "Zed", None, &[]).await;
    for bad in [ContactId(987_654_321), foreign] {
        let err = f
            .repo
            .list_contacts_in_order(f.acc.id, &ContactFilter::default(), PageRequest { cursor: Cursor::After(bad), size: 5 }, order)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::Invalid(_)), "{err:?}");
    }
});

both_backends!(async fn a_search_lists_its_matches_by_created(db: TestDb) {
    let f = Fixture::new(db).await;
    let all = people(&f).await;
    let search = ContactFilter::parse(Some("ana"), None).unwrap();
    let anas: Vec<ContactId> = all.iter().filter(|p| p.first.eq_ignore_ascii_case("ana") || p.email.as_deref().is_some_and(|e| e.contains("ana"))).map(|p| p.id).collect();
    let newest: Vec<ContactId> = anas.iter().rev().copied().collect();
    // sorted by name, a search answers newest first and says so
    let p = page(&f.repo, &f, &search, ListOrder::new(SortColumn::Name, false), Cursor::First, 50).await;
    assert_eq!(p.order, ListOrder::NEWEST_FIRST);
    assert_eq!(ids(&p), newest);
    // oldest first works, forwards and backwards
    walk(&f, &search, ListOrder::new(SortColumn::Created, false), &anas, 2).await;
    walk(&f, &search, ListOrder::NEWEST_FIRST, &newest, 3).await;
});
