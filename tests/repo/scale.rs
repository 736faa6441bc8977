//! What keeps the contacts page and the delete modal fast at a million contacts (SPEC §5)
//! must not change an answer: the per-account counters behind "Select all N" (U2) and
//! the select-all impact (U4) stay exact through every write, and the search index finds
//! exactly the live contacts whose text contains the query (R3).

use crate::support::{add_associated, create_account, create_contact, Fixture, Raw, TestAccount};
use crate::{args, both_backends, confirm, delete_ids, sel};
use chrono::Duration;
use contacts_admin::domain::{AccountId, Actor, ContactFilter, ContactId, NewContact, Selection, TagName};
use contacts_admin::config::BulkSettings;
use contacts_admin::jobs::bulk::run_queued;
use contacts_admin::repo::{Backend, Cursor, DeletionOutcome, PageRequest, Repo};

/// Every counter of `account`, recomputed from the rows themselves.
async fn expected_counts(raw: &Raw, account: AccountId) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (kind, sql) in [
        ("contacts", "select count(*) from contacts where account_id = $1 and deleted_at is null"),
        ("conversations", "select count(*) from conversations where account_id = $1"),
        ("messages", "select count(*) from messages where account_id = $1"),
        ("notes", "select count(*) from notes where account_id = $1"),
        ("tasks", "select count(*) from tasks where account_id = $1"),
        ("appointments", "select count(*) from appointments where account_id = $1"),
        ("opportunities", "select count(*) from opportunities where account_id = $1"),
        ("open_opportunities", "select count(*) from opportunities where account_id = $1 and status = 'open'"),
        ("manual_actions", "select count(*) from manual_actions where account_id = $1"),
        ("activities", "select count(*) from activities where account_id = $1"),
        ("files", "select count(*) from files where account_id = $1"),
        ("list_memberships", "select count(*) from list_members where account_id = $1"),
        ("group_ownerships", "select count(*) from community_groups where account_id = $1 and owner_contact_id is not null"),
        ("active_enrollments", "select count(*) from enrollments where account_id = $1 and status = 'active'"),
    ] {
        out.push((kind.to_string(), raw.i64(sql, args![account]).await));
    }
    let tags: Vec<(String, i64)> = raw
        .all(
            "select t.tag, count(*) from contact_tags t join contacts c on c.id = t.contact_id
             where t.account_id = $1 and c.deleted_at is null group by t.tag",
            args![account],
        )
        .await;
    out.extend(tags.into_iter().map(|(t, n)| (format!("tag:{t}"), n)));
    out.sort();
    out
}

/// Checks the counters, the tags' live flags, the counts the list shows and the
/// select-all impact of `acc` against the rows.
async fn assert_exact(repo: &Repo, raw: &Raw, acc: &TestAccount, when: &str) {
    let expected = expected_counts(raw, acc.id).await;
    let mut stored: Vec<(String, i64)> = raw
        .all("select kind, n from account_counts where account_id = $1 and n <> 0", args![acc.id])
        .await;
    stored.sort();
    let nonzero: Vec<(String, i64)> = expected.iter().filter(|(_, n)| *n != 0).cloned().collect();
    assert_eq!(stored, nonzero, "counters of {} after {when}", acc.name);

    let stale = raw
        .count(
            "contact_tags t join contacts c on c.id = t.contact_id",
            "t.live <> (c.deleted_at is null)",
            args![],
        )
        .await;
    assert_eq!(stale, 0, "tags marked live/deleted against their contact after {when}");

    let all = ContactFilter::default();
    let live = raw.i64("select count(*) from contacts where account_id = $1 and deleted_at is null", args![acc.id]).await;
    assert_eq!(repo.count_contacts(acc.id, &all).await.unwrap(), live, "count after {when}");
    for (kind, n) in &expected {
        if let Some(tag) = kind.strip_prefix("tag:") {
            let filter = ContactFilter::parse(None, Some(tag)).unwrap();
            assert_eq!(repo.count_contacts(acc.id, &filter).await.unwrap(), *n, "count of tag {tag} after {when}");
            let listed = repo.list_contacts(acc.id, &filter, PageRequest::first(200)).await.unwrap();
            assert_eq!(listed.contacts.len() as i64, *n, "list of tag {tag} after {when}");
        }
    }

    // "select all" (counted from the counters) equals the same contacts listed one by one
    let ids: Vec<ContactId> = raw
        .ids("select id from contacts where account_id = $1 and deleted_at is null", args![acc.id])
        .await
        .into_iter()
        .map(ContactId)
        .collect();
    let everything = Selection::all_matching(all, chrono::Utc::now() + Duration::days(3650), vec![]).unwrap();
    let by_counters = repo.deletion_impact(acc.id, &everything, Some(acc.admin)).await.unwrap();
    if ids.is_empty() {
        assert_eq!(by_counters, Default::default(), "impact of nothing after {when}");
    } else {
        let one_by_one = repo.deletion_impact(acc.id, &sel(&ids), Some(acc.admin)).await.unwrap();
        assert_eq!(by_counters, one_by_one, "select-all impact after {when}");
    }
}

both_backends!(async fn counters_stay_exact_through_create_tag_delete_restore_erase_and_purge(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let check = |when: &'static str| {
        let (repo, raw, acc, other) = (f.repo.clone(), f.raw.clone(), f.acc.clone(), other.clone());
        async move {
            assert_exact(&repo, &raw, &acc, when).await;
            assert_exact(&repo, &raw, &other, when).await;
        }
    };
    check("nothing").await;

    let mut full = Vec::new();
    for i in 0..6 {
        let tags: &[&str] = if i % 2 == 0 { &["VIP", "Lead"] } else { &["Lead"] };
        full.push(f.full_contact(&format!("Full{i}"), Some(&format!("full{i}@example.test")), tags).await.contact);
    }
    let bare: Vec<ContactId> = vec![f.contact("Bare0", None, &[]).await, f.contact("Bare1", None, &["VIP"]).await];
    let foreign = create_contact(&f.repo, other.id, "Far", None, &["VIP"]).await;
    add_associated(&f.raw, &other, foreign, f.now()).await;
    check("creating contacts").await;

    let newsletter = TagName::parse("Newsletter").unwrap();
    f.repo.add_tag(f.acc.id, &sel(&[full[0], full[1], bare[0]]), &newsletter, f.acc.admin_confirmed()).await.unwrap();
    assert!(f.repo.remove_tag(f.acc.id, full[2], &TagName::parse("Lead").unwrap()).await.unwrap());
    check("tagging").await;

    let first = delete_ids(&f, &[full[0], full[1], bare[1]]).await;
    check("deleting by ids").await;
    // the deleted keep their tags (for a restore) but no longer count
    assert_eq!(f.raw.count("contact_tags", "contact_id = $1", args![full[0]]).await, 3);

    let lead = Selection::all_matching(ContactFilter::parse(Some("full"), Some("Lead")).unwrap(), f.now(), vec![full[3]]).unwrap();
    let second = f
        .repo
        .delete_contacts(f.acc.id, Actor::ui(f.acc.admin), &lead, None, confirm())
        .await
        .unwrap();
    assert_eq!(second.deleted, 2, "full4 and full5 (full2 lost its Lead tag, full3 is excluded)");
    check("deleting a search").await;

    let restored = f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[full[0]]).await.unwrap();
    assert_eq!(restored.restored, 1);
    check("restoring by id").await;
    assert_eq!(
        f.repo.count_contacts(f.acc.id, &ContactFilter::parse(None, Some("Newsletter")).unwrap()).await.unwrap(),
        2,
        "a restored contact is counted with its tags again"
    );
    f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), second.batch).await.unwrap();
    check("restoring a batch").await;

    let erased = f.repo.erase_contacts(f.acc.id, Actor::ui(f.acc.admin), &[bare[1]], confirm()).await.unwrap();
    assert_eq!(erased.erased, 1);
    check("erasing").await;

    f.repo.delete_contacts(other.id, Actor::ui(other.admin), &sel(&[foreign]), None, confirm()).await.unwrap();
    f.advance(Duration::days(61));
    let purged = f.repo.purge_expired().await.unwrap();
    assert_eq!(purged.purged, 2, "full1 of {first:?} and the foreign contact");
    check("purging").await;

    // writes from outside the repository (another CRM component) are counted too
    let extra = f.raw.insert(
        "insert into notes (account_id, contact_id, user_id, body, created_at) values ($1, $2, null, 'From the inbox', 0) returning id",
        args![f.acc.id, full[3]],
    ).await;
    f.raw.exec("update opportunities set status = 'won' where account_id = $1", args![f.acc.id]).await;
    f.raw.exec("update community_groups set owner_contact_id = null where owner_contact_id = $1", args![full[3]]).await;
    check("writes of other components").await;
    f.raw.exec("delete from notes where id = $1", args![extra]).await;
    check("their deletes").await;
});

/// The stored counters of `account`, every kind.
async fn stored_counts(raw: &Raw, account: AccountId) -> Vec<(String, i64)> {
    let mut stored: Vec<(String, i64)> = raw.all("select kind, n from account_counts where account_id = $1", args![account]).await;
    stored.sort();
    stored
}

/// Makes every delete from `files` fail, as a full disk would mid-chunk.
async fn fail_file_deletes(raw: &Raw) {
    match raw.backend() {
        Backend::Sqlite => {
            raw.exec("create trigger files_fail before delete on files begin select raise(abort, 'the disk is full'); end", args![]).await;
        }
        Backend::Postgres => {
            raw.exec(
                "create function files_fail() returns trigger language plpgsql as $f$ begin raise exception 'the disk is full'; end $f$",
                args![],
            )
            .await;
            raw.exec("create trigger files_fail before delete on files for each row execute function files_fail()", args![]).await;
        }
    }
}

async fn heal_file_deletes(raw: &Raw) {
    match raw.backend() {
        Backend::Sqlite => raw.exec("drop trigger files_fail", args![]).await,
        Backend::Postgres => raw.exec("drop trigger files_fail on files", args![]).await,
    };
}

both_backends!(async fn counters_stay_exact_through_a_chunked_deletion_a_failed_chunk_and_a_cancel(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let check = |when: &'static str| {
        let (repo, raw, acc, other) = (f.repo.clone(), f.raw.clone(), f.acc.clone(), other.clone());
        async move {
            assert_exact(&repo, &raw, &acc, when).await;
            assert_exact(&repo, &raw, &other, when).await;
            if raw.backend() == Backend::Sqlite {
                assert_eq!(raw.count("count_pause", "true", args![]).await, 0, "counters paused after {when}");
            }
        }
    };

    // every kind of associated row, twice for some contacts; a closed opportunity and a
    // message another contact wrote in a conversation of a deleted one
    let mut full = Vec::new();
    for i in 0..7 {
        let tags: &[&str] = if i % 2 == 0 { &["VIP", "Lead"] } else { &["Lead"] };
        let a = f.full_contact(&format!("Full{i}"), Some(&format!("full{i}@example.test")), tags).await;
        if i % 3 == 0 {
            add_associated(&f.raw, &f.acc, a.contact, f.now()).await;
        }
        full.push(a);
    }
    f.raw.exec("update opportunities set status = 'won' where id = $1", args![full[1].opportunity]).await;
    f.raw
        .exec(
            "insert into messages (account_id, conversation_id, contact_id, direction, body, created_at)
             values ($1, $2, $3, 'outbound', 'Forwarded', 0)",
            args![f.acc.id, full[0].conversation, full[6].contact],
        )
        .await;
    let foreign = create_contact(&f.repo, other.id, "Far", None, &["VIP"]).await;
    add_associated(&f.raw, &other, foreign, f.now()).await;
    check("creating contacts").await;

    let everything = |f: &Fixture| Selection::all_matching(ContactFilter::default(), f.now(), vec![full[6].contact]).unwrap();
    let batch = f.repo.start_deletion(f.acc.id, Actor::ui(f.acc.admin), &everything(&f), None, confirm()).await.unwrap();
    let step = f.repo.delete_next_chunk(f.acc.id, batch, 2).await.unwrap();
    assert_eq!(step.deleted, 2);
    check("one chunk").await;

    // a chunk that fails half-way leaves nothing of itself: not its removals, not its
    // counts, not the pause
    let before = stored_counts(&f.raw, f.acc.id).await;
    fail_file_deletes(&f.raw).await;
    assert!(f.repo.delete_next_chunk(f.acc.id, batch, 2).await.is_err(), "the chunk fails on its files");
    heal_file_deletes(&f.raw).await;
    assert_eq!(stored_counts(&f.raw, f.acc.id).await, before, "counters after a failed chunk");
    check("a failed chunk").await;

    while !f.repo.delete_next_chunk(f.acc.id, batch, 2).await.unwrap().done {}
    assert_eq!(f.raw.count("contacts", "account_id = $1 and deleted_at is null", args![f.acc.id]).await, 1, "the excluded contact");
    check("a chunked deletion of every contact but one").await;

    // a cancelled deletion keeps what its chunks did, counted
    f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), batch).await.unwrap();
    check("restoring the batch").await;
    let second = f.repo.start_deletion(f.acc.id, Actor::ui(f.acc.admin), &everything(&f), None, confirm()).await.unwrap();
    f.repo.delete_next_chunk(f.acc.id, second, 3).await.unwrap();
    assert!(f.repo.cancel_deletion(f.acc.id, second).await.unwrap());
    check("a cancelled deletion").await;

    // right after, writes of other components move the counters again
    let live = full[6].contact;
    f.raw
        .exec(
            "insert into notes (account_id, contact_id, user_id, body, created_at) values ($1, $2, null, 'From the inbox', 0)",
            args![f.acc.id, live],
        )
        .await;
    for table in ["messages", "conversations", "tasks", "opportunities", "files", "list_members"] {
        f.raw.exec(&format!("delete from {table} where contact_id = $1"), args![live]).await;
    }
    f.raw.exec("update community_groups set owner_contact_id = null where owner_contact_id = $1", args![live]).await;
    f.raw.exec("update enrollments set status = 'stopped' where contact_id = $1", args![live]).await;
    check("writes of other components after the deletions").await;
});

/// A contact of `acc` with the given fields and tags.
async fn person(repo: &Repo, acc: &TestAccount, first: &str, last: &str, email: &str, phone: &str, company: &str, tags: &[&str]) -> ContactId {
    let mut c = NewContact::parse(first, last, email, phone, company).unwrap();
    c.tags = tags.iter().map(|t| TagName::parse(t).unwrap()).collect();
    repo.create_contact(acc.id, &c, acc.admin_confirmed()).await.unwrap()
}

/// The ids a search lists (first page of 200) and the count it shows.
async fn search(repo: &Repo, acc: &TestAccount, q: &str, tag: Option<&str>) -> (Vec<ContactId>, i64) {
    let filter = ContactFilter::parse(Some(q), tag).unwrap();
    let page = repo.list_contacts(acc.id, &filter, PageRequest::first(200)).await.unwrap();
    let n = repo.count_contacts(acc.id, &filter).await.unwrap();
    (page.contacts.iter().map(|c| c.contact_id()).collect(), n)
}

both_backends!(async fn search_finds_substrings_of_live_contacts_and_nothing_else(db: TestDb) {
    let f = Fixture::new(db).await;
    let acc = f.acc.clone();
    let other = create_account(&f.repo, "Globex").await;
    let olivia = person(&f.repo, &acc, "Olivia", "Martínez", "olivia.martinez.17@brightpath.io", "+1 555 201 3344", "Brightpath Realty", &["VIP"]).await;
    let liam = person(&f.repo, &acc, "Liam", "Okafor", "liam.okafor.999@northwind.example", "+44 20 7946 0958", "Northwind Traders", &[]).await;
    let sale = person(&f.repo, &acc, "Sale", "Desk", "", "", "50% Off_Outlet \"Best\"", &["VIP"]).await;
    let twin = person(&f.repo, &other, "Olivia", "Martínez", "olivia.martinez.17@brightpath.io", "", "Brightpath Realty", &["VIP"]).await;

    // substrings of each field, across field boundaries, in any case, on both backends
    for (q, expected) in [
        ("martínez", vec![olivia]),
        ("MARTÍNEZ", vec![olivia]),
        ("tinez.17@bright", vec![olivia]),
        ("path.io", vec![olivia]),
        ("555 201", vec![olivia]),
        ("realty", vec![olivia]),
        ("ez olivia", vec![olivia]),
        ("okafor.999", vec![liam]),
        (".17@", vec![olivia]),
        ("+44", vec![liam]),
        ("ínez", vec![olivia]),
        ("í", vec![olivia]),
        ("z o", vec![olivia]),
        ("7946 0958 north", vec![liam]),
        ("o", vec![sale, liam, olivia]),
        ("ok", vec![liam]),
        ("50%", vec![sale]),
        ("0%", vec![sale]),
        ("5%", vec![]),
        ("f_o", vec![sale]),
        ("\"best\"", vec![sale]),
        ("t\"", vec![sale]),
        ("xyz", vec![]),
        ("okafor.9999", vec![]),
    ] {
        let (listed, n) = search(&f.repo, &acc, q, None).await;
        assert_eq!(listed, expected, "list for {q:?}");
        assert_eq!(n, expected.len() as i64, "count for {q:?}");
    }
    assert_eq!(search(&f.repo, &acc, "brightpath", Some("VIP")).await, (vec![olivia], 1));
    assert_eq!(search(&f.repo, &acc, "o", Some("VIP")).await, (vec![sale, olivia], 2));
    assert_eq!(search(&f.repo, &other, "brightpath", None).await, (vec![twin], 1));

    // deleted contacts are never found; restored ones are found again
    delete_ids(&f, &[olivia]).await;
    assert_eq!(search(&f.repo, &acc, "martínez", None).await, (vec![], 0));
    assert_eq!(search(&f.repo, &acc, "brightpath", Some("VIP")).await, (vec![], 0));
    assert_eq!(search(&f.repo, &acc, "o", None).await, (vec![sale, liam], 2));
    assert_eq!(search(&f.repo, &other, "martínez", None).await, (vec![twin], 1));
    let by_search = Selection::all_matching(ContactFilter::parse(Some("okafor"), None).unwrap(), f.now(), vec![]).unwrap();
    assert_eq!(f.repo.count_selection(acc.id, &by_search).await.unwrap(), 1);
    f.repo.restore_contacts(acc.id, Actor::ui(acc.admin), &[olivia]).await.unwrap();
    assert_eq!(search(&f.repo, &acc, "martínez", None).await, (vec![olivia], 1));
    assert_eq!(search(&f.repo, &acc, "brightpath", Some("VIP")).await, (vec![olivia], 1));
});

both_backends!(async fn search_and_tag_pages_follow_the_cursor_both_ways(db: TestDb) {
    let f = Fixture::new(db).await;
    let mut matching = Vec::new();
    for i in 0..7 {
        matching.push(f.contact(&format!("Pager{i}"), Some(&format!("pager{i}@example.test")), &["Paged"]).await);
        f.contact(&format!("Other{i}"), None, &[]).await;
    }
    delete_ids(&f, &[matching[3]]).await;
    matching.remove(3);
    let newest_first: Vec<ContactId> = matching.iter().rev().copied().collect();
    for filter in [
        ContactFilter::parse(Some("pager"), None).unwrap(),
        ContactFilter::parse(None, Some("Paged")).unwrap(),
        ContactFilter::parse(Some("ag"), Some("Paged")).unwrap(),
    ] {
        let page = |cursor| {
            let (repo, filter) = (f.repo.clone(), filter.clone());
            async move { repo.list_contacts(f.acc.id, &filter, PageRequest { cursor, size: 4 }).await.unwrap() }
        };
        let ids = |p: &contacts_admin::repo::ContactPage| p.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();
        let first = page(Cursor::First).await;
        assert_eq!(ids(&first), newest_first[..4], "{filter:?}");
        assert!(!first.has_prev && first.has_next);
        let second = page(Cursor::After(first.last_id().unwrap())).await;
        assert_eq!(ids(&second), newest_first[4..], "{filter:?}");
        assert!(second.has_prev && !second.has_next);
        let back = page(Cursor::Before(second.first_id().unwrap())).await;
        assert_eq!(ids(&back), newest_first[..4], "{filter:?}");
        let last = page(Cursor::Last).await;
        assert_eq!(ids(&last), newest_first[2..], "{filter:?}");
        assert!(last.has_prev && !last.has_next);
        assert_eq!(f.repo.count_contacts(f.acc.id, &filter).await.unwrap(), 6, "{filter:?}");
    }
});

/// SQLite: the search index holds the entries of every live contact and of no other,
/// except deleted contacts whose keys are still masked; FTS5 finds its entries sound.
async fn assert_index_follows_contacts(f: &Fixture, when: &str) {
    if f.raw.backend() != Backend::Sqlite {
        return;
    }
    let key = "c.account_id * 1099511627776 + c.id";
    let missing = f.raw.i64(&format!(
        "select count(*) from contacts c where c.deleted_at is null and not exists (select 1 from contacts_search s where s.rowid = {key})"
    ), args![]).await;
    assert_eq!(missing, 0, "{when}: live contacts without entries");
    let stray = f.raw.i64(&format!(
        "select count(*) from contacts_search s where not exists (select 1 from contacts c where {key} = s.rowid \
         and (c.deleted_at is null or exists (select 1 from contacts_search_masked m where m.key = s.rowid)))"
    ), args![]).await;
    assert_eq!(stray, 0, "{when}: entries of contacts neither live nor masked");
    let masked_wrongly = f.raw.i64(&format!(
        "select count(*) from contacts_search_masked m where not exists (select 1 from contacts_search s where s.rowid = m.key) \
         or not exists (select 1 from contacts c where {key} = m.key and c.deleted_at is not null)"
    ), args![]).await;
    assert_eq!(masked_wrongly, 0, "{when}: masked keys of live contacts or without entries");
    f.raw.exec("insert into contacts_search (contacts_search) values ('integrity-check')", args![]).await;
}

// A deletion masks a contact's entries in SQLite's index at once and leaves removing
// them to the index's tidying; PostgreSQL's indexes hold live contacts only. Either
// way searches and counts never show a deleted contact (R3), and a restore, a purge or
// an erasure works before the entries are gone as after.
both_backends!(async fn deleted_contacts_stay_out_of_searches_before_and_after_the_index_lets_go_of_them(db: TestDb) {
    let f = Fixture::new(db).await;
    let acc = f.acc.clone();
    let ada = person(&f.repo, &acc, "Ada", "Lovelace", "ada@engines.example", "", "Analytical Engines", &["VIP"]).await;
    let alan = person(&f.repo, &acc, "Alan", "Turing", "alan@engines.example", "", "Bletchley Park", &["VIP"]).await;
    let grace = person(&f.repo, &acc, "Grace", "Hopper", "grace@navy.example", "", "Navy", &[]).await;
    assert_index_follows_contacts(&f, "created").await;
    assert_eq!(search(&f.repo, &acc, "engines.example", None).await, (vec![alan, ada], 2));
    let by_search = |q: &str| Selection::all_matching(ContactFilter::parse(Some(q), None).unwrap(), f.now(), vec![]).unwrap();

    delete_ids(&f, &[ada]).await;
    assert_index_follows_contacts(&f, "deleted").await;
    for when in ["masked", "let go of"] {
        assert_eq!(search(&f.repo, &acc, "engines.example", None).await, (vec![alan], 1), "{when}");
        assert_eq!(search(&f.repo, &acc, "engines", Some("VIP")).await, (vec![alan], 1), "{when}");
        assert_eq!(search(&f.repo, &acc, "lovelace", None).await, (vec![], 0), "{when}");
        assert_eq!(f.repo.count_selection(acc.id, &by_search("lovelace")).await.unwrap(), 0, "{when}");
        assert_eq!(f.repo.count_selection(acc.id, &by_search("engines")).await.unwrap(), 1, "{when}");
        f.repo.tidy_search_index(1, 1_000).await.unwrap();
        assert_index_follows_contacts(&f, when).await;
    }
    if f.raw.backend() == Backend::Sqlite {
        assert_eq!(f.raw.count("contacts_search_masked", "1 = 1", args![]).await, 0, "tidying let go of the deleted");
    }

    // restored once the index let go: its entries are written again
    f.repo.restore_contacts(acc.id, Actor::ui(acc.admin), &[ada]).await.unwrap();
    assert_index_follows_contacts(&f, "restored after tidying").await;
    assert_eq!(search(&f.repo, &acc, "engines.example", None).await, (vec![alan, ada], 2));

    // restored while masked: unmasked
    delete_ids(&f, &[ada, alan]).await;
    assert_eq!(search(&f.repo, &acc, "engines", Some("VIP")).await, (vec![], 0));
    f.repo.restore_contacts(acc.id, Actor::ui(acc.admin), &[alan]).await.unwrap();
    assert_index_follows_contacts(&f, "restored while masked").await;
    assert_eq!(search(&f.repo, &acc, "engines.example", None).await, (vec![alan], 1));
    assert_eq!(search(&f.repo, &acc, "engines", Some("VIP")).await, (vec![alan], 1));

    // purged and erased while masked: their entries go with them
    f.advance(Duration::days(61));
    assert_eq!(f.repo.purge_expired().await.unwrap().purged, 1, "ada");
    assert_index_follows_contacts(&f, "purged while masked").await;
    assert_eq!(search(&f.repo, &acc, "engines.example", None).await, (vec![alan], 1));
    delete_ids(&f, &[grace]).await;
    let erased = f.repo.erase_contacts(acc.id, Actor::ui(acc.admin), &[grace], confirm()).await.unwrap();
    assert_eq!(erased.erased, 1);
    assert_index_follows_contacts(&f, "erased while masked").await;
    assert_eq!(search(&f.repo, &acc, "hopper", None).await, (vec![], 0));
    if f.raw.backend() == Backend::Sqlite {
        assert_eq!(f.raw.count("contacts_search", "1 = 1", args![]).await, 1, "alan's entries alone");
    }
});

// A deletion run as a background job leaves its contacts' entries masked; the runner
// removes them once the job is done (SQLite), and searches answer the same throughout.
both_backends!(async fn a_deletion_job_is_followed_by_removing_its_masked_search_entries(db: TestDb) {
    let f = Fixture::new(db).await;
    let acc = f.acc.clone();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(person(&f.repo, &acc, &format!("Job{i:02}"), "Queued", &format!("job{i:02}@queue.example"), "", "Queue Ltd", &[]).await);
    }
    let keep = ids[11];
    let sel = Selection::ids(ids[..11].to_vec()).unwrap();
    let outcome = f.repo.delete_or_queue(acc.id, Actor::ui(acc.admin), &sel, None, confirm(), (11, 5)).await.unwrap();
    assert!(matches!(outcome, DeletionOutcome::Queued { count: 11, .. }), "{outcome:?}");
    let settings = BulkSettings { threshold: 5, chunk: Some(4) };
    assert_eq!(run_queued(&f.repo, settings).await.unwrap(), 1);
    assert_eq!(search(&f.repo, &acc, "queue.example", None).await, (vec![keep], 1));
    assert_index_follows_contacts(&f, "after the job").await;
    if f.raw.backend() == Backend::Sqlite {
        assert_eq!(f.raw.count("contacts_search_masked", "1 = 1", args![]).await, 0, "removed after the job");
        assert_eq!(f.raw.count("contacts_search", "1 = 1", args![]).await, 1);
    }
});

// SQLite merges the index's segments; PostgreSQL moves the keys queued in the GIN
// indexes' pending lists into their trees. Either way a search reads less afterwards.
crate::both_backends!(async fn tidying_the_search_index_after_new_contacts_keeps_the_same_answers(db: TestDb) {
    let f = Fixture::new(db).await;
    // each contact is its own transaction; a dozen contacts' keys fit in one pending list
    for i in 0..12 {
        f.contact(&format!("Pending{i:02}"), Some(&format!("pending{i:02}@example.test")), &[]).await;
    }
    let ids_of = |p: &contacts_admin::repo::ContactPage| p.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();
    let mut answers = Vec::new();
    for q in ["pending", "ing07@", "g1"] {
        let search = ContactFilter::parse(Some(q), None).unwrap();
        answers.push(ids_of(&f.repo.list_contacts(f.acc.id, &search, PageRequest::first(100)).await.unwrap()));
    }
    assert_eq!(answers.iter().map(Vec::len).collect::<Vec<_>>(), [12, 1, 2]);

    assert!(f.repo.tidy_search_index(1, 1_000).await.unwrap() >= 1, "the new contacts left work to do");
    for (q, before) in ["pending", "ing07@", "g1"].into_iter().zip(&answers) {
        let search = ContactFilter::parse(Some(q), None).unwrap();
        let after = f.repo.list_contacts(f.acc.id, &search, PageRequest::first(100)).await.unwrap();
        assert_eq!(&ids_of(&after), before, "{q}: the same answers");
    }
    assert_eq!(f.repo.tidy_search_index(1, 1_000).await.unwrap(), 0, "nothing left");
});

crate::sqlite_only!(async fn merging_the_search_index_leaves_one_segment_and_the_same_answers(db: TestDb) {
    let f = Fixture::new(db).await;
    // each contact is its own transaction: one more index segment each (some merged automatically)
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(f.contact(&format!("Segment{i:02}"), Some(&format!("segment{i:02}@example.test")), &[]).await);
    }
    delete_ids(&f, &ids[..5]).await;
    let segments = || f.raw.i64("select count(distinct segid) from contacts_search_idx", args![]);
    // the deleted contacts' entries go first, in one step (more segments, no merge yet)
    let masked = segments().await;
    assert_eq!(f.repo.tidy_search_index(i64::MAX, 1_000).await.unwrap(), 1);
    let before = segments().await;
    assert!(before > masked, "removing entries writes a segment too");
    assert!(before > 1, "writes left {before} segment(s)");
    let search = ContactFilter::parse(Some("segment"), None).unwrap();
    let found = f.repo.list_contacts(f.acc.id, &search, PageRequest::first(100)).await.unwrap();
    assert_eq!(found.contacts.len(), 35);

    // not fragmented enough for the threshold: left alone
    assert_eq!(f.repo.tidy_search_index(before, 1_000).await.unwrap(), 0);
    assert_eq!(segments().await, before);

    let steps = f.repo.tidy_search_index(1, 1_000).await.unwrap();
    assert!(steps >= 1);
    assert_eq!(segments().await, 1, "merged into one segment");
    let again = f.repo.list_contacts(f.acc.id, &search, PageRequest::first(100)).await.unwrap();
    let ids_of = |p: &contacts_admin::repo::ContactPage| p.contacts.iter().map(|c| c.contact_id()).collect::<Vec<_>>();
    assert_eq!(ids_of(&again), ids_of(&found), "the same answers");
    assert_eq!(f.repo.count_contacts(f.acc.id, &search).await.unwrap(), 35);
    // nothing left to merge
    assert_eq!(f.repo.tidy_search_index(1, 1_000).await.unwrap(), 0);
});

// Tidying runs after every finished job and at each purge interval; with nothing masked
// and the index not fragmented it reads only, so it never waits for (or holds up) a writer.
crate::sqlite_only!(async fn tidying_an_index_with_nothing_to_do_takes_no_write_lock(db: TestDb) {
    let f = Fixture::new(db).await;
    let ids = [f.contact("Kept Tidy", Some("kept@example.test"), &[]).await, f.contact("Gone Tidy", None, &[]).await];
    delete_ids(&f, &ids[1..]).await;
    assert_eq!(f.repo.tidy_search_index(i64::MAX, 1_000).await.unwrap(), 1, "one step removes the masked entries");

    let Raw::Sqlite(pool) = &f.raw else { unreachable!("a SQLite test") };
    let mut writer = pool.acquire().await.expect("a connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await.expect("the write lock");
    sqlx::query("update accounts set name = name where id = $1").bind(f.acc.id.0).execute(&mut *writer).await.expect("a write");
    // while another writer holds the lock: done at once, without a step (it would wait out
    // the busy timeout, then fail, if it took the lock)
    assert_eq!(f.repo.tidy_search_index(i64::MAX, 1_000).await.unwrap(), 0);
    sqlx::query("COMMIT").execute(&mut *writer).await.expect("the other writer still held its transaction");
    let search = ContactFilter::parse(Some("tidy"), None).unwrap();
    assert_eq!(f.repo.count_contacts(f.acc.id, &search).await.unwrap(), 1);
});
