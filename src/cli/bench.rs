//! `contacts-admin bench`: times the repository's hot queries on a seeded account and
//! prints medians. Timings live here, never in tests.

use crate::domain::{Actor, ContactFilter, DeleteConfirmation, ListOrder, Selection, SortColumn};
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

pub async fn repository(repo: &Repo, account: &str, runs: usize, delete_all: bool) -> anyhow::Result<()> {
    let acc = repo.find_account(account).await?.with_context(|| format!("no account named \"{account}\""))?;
    let all = ContactFilter::default();
    let search = ContactFilter::parse(Some("martinez"), None)?;
    let rare = ContactFilter::parse(Some("okafor.999"), None)?;
    let tag = ContactFilter::parse(None, Some("VIP"))?;
    let n = repo.count_contacts(acc, &all).await?;
    println!("account \"{account}\" ({:?}): {n} live contacts; median of {runs} runs", repo.backend());
    println!("{:<40} {:>10}", "query", "median ms");
    let rows: [(&str, &ContactFilter, Cursor); 5] = [
        ("first page (50)", &all, Cursor::First),
        ("last page (50)", &all, Cursor::Last),
        ("search \"martinez\", first page", &search, Cursor::First),
        ("search \"okafor.999\" (rare), first page", &rare, Cursor::First),
        ("tag \"VIP\", first page", &tag, Cursor::First),
    ];
    for (name, filter, cursor) in rows {
        let ms = time(runs, || async { Ok(repo.list_contacts(acc, filter, PageRequest { cursor, size: 50 }).await?) }).await?;
        println!("{name:<40} {ms:>10.2}");
    }
    // every sort, both directions: first, last and a page deep in the middle
    let newest = repo.list_contacts(acc, &all, PageRequest::first(1)).await?.first_id().map_or(0, |id| id.0);
    let mid = crate::domain::ContactId((newest - n / 2).max(1));
    for column in SortColumn::ALL {
        for descending in [false, true] {
            let order = ListOrder::new(column, descending);
            for (what, filter, cursor) in [("first", &all, Cursor::First), ("last", &all, Cursor::Last), ("deep", &all, Cursor::After(mid)), ("tag first", &tag, Cursor::First)] {
                let ms = time(runs, || async { Ok(repo.list_contacts_in_order(acc, filter, PageRequest { cursor, size: 50 }, order).await?) }).await?;
                println!("{:<40} {ms:>10.2}", format!("sort {}: {what}", order.param()));
            }
        }
    }
    for (name, filter) in [
        ("count all", &all),
        ("count search \"martinez\"", &search),
        ("count search \"okafor.999\" (rare)", &rare),
        ("count tag \"VIP\"", &tag),
    ] {
        let ms = time(runs, || async { Ok(repo.count_contacts(acc, filter).await?) }).await?;
        println!("{name:<40} {ms:>10.2}");
    }
    // what the contacts page asks for: one list query and, without a search, the count
    // (U2); a search's page loads its count afterwards (`count search` above)
    let pages: [(&str, &ContactFilter, Cursor); 4] = [
        ("page = list + count: first", &all, Cursor::First),
        ("page = list + count: last", &all, Cursor::Last),
        ("page = list + count: tag \"VIP\"", &tag, Cursor::First),
        ("page = list: \"martinez\"", &search, Cursor::First),
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
    let first_page = repo.list_contacts(acc, &all, PageRequest::first(50)).await?;
    let page_ids = Selection::ids(first_page.contacts.iter().map(|c| c.contact_id()).collect())?;
    let ms = time(runs, || async { Ok(repo.deletion_impact(acc, &page_ids, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of one page (50 ids)");
    let searched = Selection::all_matching(search.clone(), repo.now(), vec![])?;
    let ms = time(runs.min(5), || async { Ok(repo.deletion_impact(acc, &searched, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of select-all \"martinez\"");
    let sel = Selection::all_matching(all.clone(), repo.now(), vec![])?;
    let ms = time(runs.min(5), || async { Ok(repo.deletion_impact(acc, &sel, None).await?) }).await?;
    println!("{:<40} {ms:>10.2}", "impact of select-all");
    if delete_all {
        let admin = repo.first_admin(acc).await?.context("the account has no admin to delete as")?;
        let t = Instant::now();
        let r = repo
            .delete_contacts(acc, Actor::cli(Some(admin)), &sel, Some("benchmark"), DeleteConfirmation::parse("DELETE")?)
            .await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{:<40} {:>10.0} contacts/s ({} contacts in {:.1}s)",
            "delete all",
            r.deleted as f64 / secs,
            r.deleted,
            secs
        );
    }
    Ok(())
}
