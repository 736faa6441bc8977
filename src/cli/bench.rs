//! `contacts-admin bench`: times the repository's hot queries on a seeded account and
//! prints medians. Timings live here, never in tests.

use crate::domain::{AccountId, Actor, ContactFilter, DeleteConfirmation, ListOrder, Selection, SortColumn};
use crate::repo::{Cursor, PageRequest, Repo};
use anyhow::Context;
use std::time::{Duration, Instant};

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

async fn time<F, Fut, T>(runs: usize, mut f: F) -> anyhow::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    f().await?; // warm-up
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f().await?;
        samples.push(t.elapsed());
    }
    Ok(median_ms(samples))
}

/// The filters every phase reads with.
struct Filters {
    all: ContactFilter,
    search: ContactFilter,
    rare: ContactFilter,
    tag: ContactFilter,
}

pub async fn repository(repo: &Repo, account: &str, runs: usize, delete_all: bool) -> anyhow::Result<()> {
    let acc = repo.find_account(account).await?.with_context(|| format!("no account named \"{account}\""))?;
    let f = Filters {
        all: ContactFilter::default(),
        search: ContactFilter::parse(Some("martinez"), None)?,
        rare: ContactFilter::parse(Some("okafor.999"), None)?,
        tag: ContactFilter::parse(None, Some("VIP"))?,
    };
    let n = repo.count_contacts(acc, &f.all).await?;
    println!("account \"{account}\" ({:?}): {n} live contacts; median of {runs} runs", repo.backend());
    println!("{:<40} {:>10}", "query", "median ms");
    list_pages(repo, acc, runs, &f).await?;
    sorted_pages(repo, acc, runs, &f, n).await?;
    counts_and_page_loads(repo, acc, runs, &f).await?;
    impacts(repo, acc, runs, &f).await?;
    if delete_all {
        delete_everything(repo, acc).await?;
    }
    Ok(())
}

/// Pages of the list newest first: the ends, a search, a rare search, a tag.
async fn list_pages(repo: &Repo, acc: AccountId, runs: usize, f: &Filters) -> anyhow::Result<()> {
    let rows: [(&str, &ContactFilter, Cursor); 5] = [
        ("first page (50)", &f.all, Cursor::First),
        ("last page (50)", &f.all, Cursor::Last),
        ("search \"martinez\", first page", &f.search, Cursor::First),
        ("search \"okafor.999\" (rare), first page", &f.rare, Cursor::First),
        ("tag \"VIP\", first page", &f.tag, Cursor::First),
    ];
    for (name, filter, cursor) in rows {
        let ms = time(runs, || async { Ok(repo.list_contacts(acc, filter, PageRequest { cursor, size: 50 }).await?) }).await?;
        println!("{name:<40} {ms:>10.2}");
    }
    Ok(())
}

/// Every sort, both directions: first, last and a page deep in the middle of `n`.
async fn sorted_pages(repo: &Repo, acc: AccountId, runs: usize, f: &Filters, n: i64) -> anyhow::Result<()> {
    let newest = repo.list_contacts(acc, &f.all, PageRequest::first(1)).await?.first_id().map_or(0, |id| id.0);
    let mid = crate::domain::ContactId((newest - n / 2).max(1));
    for column in SortColumn::ALL {
        for descending in [false, true] {
            let order = ListOrder::new(column, descending);
            for (what, filter, cursor) in
                [("first", &f.all, Cursor::First), ("last", &f.all, Cursor::Last), ("deep", &f.all, Cursor::After(mid)), ("tag first", &f.tag, Cursor::First)]
            {
                let ms = time(runs, || async { Ok(repo.list_contacts_in_order(acc, filter, PageRequest { cursor, size: 50 }, order).await?) }).await?;
                println!("{:<40} {ms:>10.2}", format!("sort {}: {what}", order.param()));
            }
        }
    }
    Ok(())
}

/// The counts, then what the contacts page asks for: one list query and, without a
/// search, the count (U2); a search's page loads its count afterwards.
async fn counts_and_page_loads(repo: &Repo, acc: AccountId, runs: usize, f: &Filters) -> anyhow::Result<()> {
    for (name, filter) in [
        ("count all", &f.all),
        ("count search \"martinez\"", &f.search),
        ("count search \"okafor.999\" (rare)", &f.rare),
        ("count tag \"VIP\"", &f.tag),
    ] {
        let ms = time(runs, || async { Ok(repo.count_contacts(acc, filter).await?) }).await?;
        println!("{name:<40} {ms:>10.2}");
    }
    let pages: [(&str, &ContactFilter, Cursor); 4] = [
        ("page = list + count: first", &f.all, Cursor::First),
        ("page = list + count: last", &f.all, Cursor::Last),
        ("page = list + count: tag \"VIP\"", &f.tag, Cursor::First),
        ("page = list: \"martinez\"", &f.search, Cursor::First),
    ];
    for (name, filter, cursor) in pages {
        let ms = time(runs, || async {
            repo.list_contacts(acc, filter, PageRequest { cursor, size: 50 }).await?;
            if filter.q.is_none() {
                repo.count_contacts(acc, filter).await?;
            }
            Ok(())
        })
        .await?;
        println!("{name:<40} {ms:>10.2}");
    }
    Ok(())
}

/// The pre-delete impact (U4) of a page, of a search's select-all and of everything.
async fn impacts(repo: &Repo, acc: AccountId, runs: usize, f: &Filters) -> anyhow::Result<()> {
    let first_page = repo.list_contacts(acc, &f.all, PageRequest::first(50)).await?;
    let page_ids = Selection::ids(first_page.contacts.iter().map(|c| c.contact_id()).collect())?;
    let ms = time(runs, || async { Ok(repo.deletion_impact(acc, &page_ids, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of one page (50 ids)");
    let searched = Selection::all_matching(f.search.clone(), repo.now(), vec![])?;
    let ms = time(runs.min(5), || async { Ok(repo.deletion_impact(acc, &searched, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of select-all \"martinez\"");
    let sel = Selection::all_matching(f.all.clone(), repo.now(), vec![])?;
    let ms = time(runs.min(5), || async { Ok(repo.deletion_impact(acc, &sel, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of select-all");
    Ok(())
}

/// Deletes every contact of the account as its first admin, and reports the rate.
async fn delete_everything(repo: &Repo, acc: AccountId) -> anyhow::Result<()> {
    let admin = repo.first_admin(acc).await?.context("the account has no admin to delete as")?;
    let sel = Selection::all_matching(ContactFilter::default(), repo.now(), vec![])?;
    let t = Instant::now();
    let r = repo.delete_contacts(acc, Actor::cli(Some(admin)), &sel, Some("benchmark"), DeleteConfirmation::parse("DELETE")?).await?;
    let secs = t.elapsed().as_secs_f64();
    println!("{:<40} {:>10.0} contacts/s ({} contacts in {:.1}s)", "delete all", r.deleted as f64 / secs, r.deleted, secs);
    Ok(())
}
