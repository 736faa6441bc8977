//! Backup before deleting: the full record export of 20,000 contacts (about 21
//! associated rows and one attached file each) from the real `contacts-admin serve`
//! binary, read to a file by the client as it arrives. The server's peak resident
//! memory (`VmHWM`) after exporting all of them stays within a few MiB of its peak
//! after exporting a few hundred: the archive is written while it is sent. The
//! archive is then opened and every CSV's row count and every file is checked against
//! the database, which covers the keyset paging across page boundaries.

use crate::support::child::{mib, Serve};
use crate::support::{Fixture, Raw, TEST_PASSWORD};
use crate::{args, both_backends, summary};
use std::io::{Read, Write};
use std::time::Instant;

const CONTACTS: i64 = 20_000;
/// How much higher the peak may go for the whole account than for a small selection:
/// the ZIP's central directory (kept until the end, as the format puts it last) takes
/// about 0.3 KiB per attached file; everything else is one page at a time.
const GROWTH_LIMIT_KB: u64 = 24 * 1024;

/// Downloads `path` into a temporary file, a chunk at a time; returns it and its size.
async fn download(c: &crate::app::Client, path: &str) -> (tempfile::NamedTempFile, u64) {
    let mut res = c.http.get(c.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(res.status().as_u16(), 200, "GET {path}");
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/zip"));
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut size = 0u64;
    while let Some(chunk) = res.chunk().await.unwrap_or_else(|e| panic!("read GET {path}: {e}")) {
        size += chunk.len() as u64;
        file.write_all(&chunk).expect("write the download");
    }
    file.flush().expect("flush the download");
    (file, size)
}

/// Data rows of a CSV entry of the archive.
fn csv_rows(z: &mut zip::ZipArchive<std::fs::File>, name: &str) -> i64 {
    let mut entry = z.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut text = Vec::new();
    entry.read_to_end(&mut text).expect("read the entry");
    csv::Reader::from_reader(&text[..]).records().map(|r| r.expect("a CSV record")).count() as i64
}

async fn count(raw: &Raw, table: &str, account: i64) -> i64 {
    raw.count(table, "account_id = $1", args![account]).await
}

both_backends!(async fn exporting_the_full_record_of_twenty_thousand_contacts_keeps_the_server_small(db: TestDb) {
    let f = Fixture::new(db).await;
    let backend = crate::backend_name(&f.raw);
    f.repo.seed_contacts(f.acc.id, CONTACTS, &[f.acc.admin, f.acc.user]).await.expect("seed the contacts");
    let server = Serve::new(&f.db.url).start();
    let c = crate::app::Client::signed_in(&server.base, &f.acc.admin_email, TEST_PASSWORD).await;
    let rss_idle = server.status_kb("VmRSS:");

    // a few hundred contacts first: every code path, every buffer at its working size
    let (_, small_size) = download(&c, "/contacts/export.zip?select_all=true&q=olivia").await;
    let peak_small = server.status_kb("VmHWM:");

    let started = Instant::now();
    let (file, size) = download(&c, "/contacts/export.zip?select_all=true").await;
    let took = started.elapsed();
    let peak_all = server.status_kb("VmHWM:");

    let mut z = zip::ZipArchive::new(file.reopen().expect("reopen the download")).expect("a valid ZIP");
    let a = f.acc.id.0;
    assert_eq!(csv_rows(&mut z, "contacts.csv"), CONTACTS);
    for (csv, table) in [
        ("conversations.csv", "conversations"),
        ("messages.csv", "messages"),
        ("notes.csv", "notes"),
        ("tasks.csv", "tasks"),
        ("appointments.csv", "appointments"),
        ("opportunities.csv", "opportunities"),
        ("manual_actions.csv", "manual_actions"),
        ("activities.csv", "activities"),
        ("list_memberships.csv", "list_members"),
        ("files.csv", "files"),
    ] {
        let expected = count(&f.raw, table, a).await;
        assert!(expected > 0, "the seed made {table}");
        assert_eq!(csv_rows(&mut z, csv), expected, "rows of {csv}");
    }
    let files = z.file_names().filter(|n| n.as_ref().expect("a name").starts_with("files/")).count();
    assert_eq!(files as i64, count(&f.raw, "files", a).await, "attached files in the archive");

    drop(z);
    drop(file);

    // the same export again: the peak stays where it was
    let (_, again_size) = download(&c, "/contacts/export.zip?select_all=true").await;
    assert!(again_size.abs_diff(size) < 4096, "the same archive again ({again_size} bytes, first {size})");
    let peak_again = server.status_kb("VmHWM:");

    // SQLite keeps up to 8 MiB of pages per pooled connection (8 connections): reading
    // the whole account fills those caches once, whatever the number of contacts.
    let cache_kb = if backend == "sqlite" { 8 * 8 * 1024 } else { 0 };
    let growth = peak_all.saturating_sub(peak_small);
    let again = peak_again.saturating_sub(peak_all);
    summary(format!(
        "full record export [{backend}]: {CONTACTS} contacts, {} archive ({files} files) in {:.1} s; server RSS {} idle, \
         peak {} after a {} export, {} after all (+{}, limit +{}), {} after all again (+{})",
        mib(size / 1024),
        took.as_secs_f64(),
        mib(rss_idle),
        mib(peak_small),
        mib(small_size / 1024),
        mib(peak_all),
        mib(growth),
        mib(GROWTH_LIMIT_KB + cache_kb),
        mib(peak_again),
        mib(again),
    ));
    assert!(
        growth < GROWTH_LIMIT_KB + cache_kb,
        "exporting {CONTACTS} contacts raised the server's peak memory by {} over a small export (peak {} -> {})",
        mib(growth),
        mib(peak_small),
        mib(peak_all)
    );
    assert!(
        peak_again.saturating_sub(peak_small) < GROWTH_LIMIT_KB + cache_kb,
        "a second export of everything raised the peak by {} more (peak {} -> {})",
        mib(again),
        mib(peak_all),
        mib(peak_again)
    );
});
