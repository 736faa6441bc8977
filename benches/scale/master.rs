//! The master database of a backend: seeded once by the binary's CLI, reused while it
//! holds the right number of contacts, and described in the report's header.

use crate::config::Config;
use crate::report::{bytes_h, rate, Report};
use crate::store::{account_ids, live_contacts, Store};
use crate::support::child::cli;
use crate::support::Raw;
use crate::{args, ACCOUNT, ADMIN_EMAIL, ADMIN_PASSWORD};
use contacts_admin::repo::deletion::REMOVED_WITH_CONTACT;
use contacts_admin::web::page::thousands;
use std::time::Instant;

/// Tables that hold a contact's associated rows (what the seed writes): those a
/// deletion removes, then those it keeps.
fn associated() -> impl Iterator<Item = &'static str> {
    REMOVED_WITH_CONTACT.into_iter().chain(["enrollments", "contact_tags", "community_groups"])
}

/// Builds the master (or reuses it if it holds exactly `contacts` live contacts).
pub async fn ensure_master(cfg: &Config, store: &Store, rep: &mut Report) {
    let master = store.master();
    if store.master_exists().await {
        let pool = master.open(1).await;
        let ok = match account_ids(&pool).await {
            Some((acc, _)) => {
                let live = live_contacts(&pool, acc).await;
                let all = pool.i64("select count(*) from contacts", &[]).await;
                log!("master {} holds {} live contacts ({} rows in all)", master.label(), thousands(live), thousands(all));
                live == cfg.contacts && all == cfg.contacts
            }
            None => false,
        };
        pool.close().await;
        if ok {
            // a master seeded by an earlier version gets the current schema once, not
            // every copy at its server's start
            cli(&master.url(), &["migrate"]);
            rep.row("master database", format!("reused {} ({})", master.label(), bytes_h(store.size(&master).await)));
            return;
        }
        log!("master {} does not hold the right data: rebuilding it", master.label());
        store.drop_master().await;
    }
    store.create_empty_master().await;
    let t = Instant::now();
    cli(&master.url(), &["create-user", "--account", ACCOUNT, "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD, "--role", "admin", "--name", "Scale Admin"]);
    log!("seeding {} contacts into {} …", thousands(cfg.contacts), master.label());
    let out = cli(&master.url(), &["seed", "--account", ACCOUNT, "--contacts", &cfg.contacts.to_string()]);
    let secs = t.elapsed().as_secs_f64();
    log!("{}", out.trim());
    rep.row(
        "master database",
        format!("seeded {} in {:.1}s = {} contacts/s (`contacts-admin seed`) ({})", master.label(), secs, rate(cfg.contacts, secs), bytes_h(store.size(&master).await)),
    );
}

/// Counts the seeded rows, for the header; returns the database's version.
pub async fn describe_master(store: &Store, rep: &mut Report) -> String {
    let pool = store.master().open(1).await;
    let (acc, _) = account_ids(&pool).await.expect("bench account in the master");
    let contacts = live_contacts(&pool, acc).await;
    let mut rows = 0;
    let mut parts = Vec::new();
    for t in associated() {
        let n = pool.i64(&format!("select count(*) from {t} where account_id = $1"), args![acc]).await;
        rows += n;
        parts.push(format!("{t} {}", thousands(n)));
    }
    let version = match &pool {
        Raw::Sqlite(_) => format!("SQLite {}", pool.one::<(String,)>("select sqlite_version()", &[]).await.0),
        Raw::Postgres(_) => pool.one::<(String,)>("select version()", &[]).await.0.split(" on ").next().unwrap_or("").to_string(),
    };
    pool.close().await;
    rep.row(
        "account",
        format!("{} contacts, {} associated rows ({:.1} per contact)", thousands(contacts), thousands(rows), rows as f64 / contacts.max(1) as f64),
    );
    rep.row("", parts.join(", "));
    version
}
