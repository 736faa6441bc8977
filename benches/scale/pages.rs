//! The contacts list's pages timed one at a time under concurrent clients.

use crate::config::Config;
use crate::http::Http;
use crate::measure::load;
use crate::report::Report;
use crate::support::app::form;
use contacts_admin::web::page::thousands;

/// The list pages timed on their own, then mixed while the delete-all job runs. The
/// rare search (one seeded email holds `.{contacts/2}@`) runs after the common one, on
/// the same server connections.
pub fn page_targets(contacts: i64) -> Vec<(String, String)> {
    let rare = format!(".{}@", contacts / 2);
    vec![
        ("GET /contacts (first page + count)".into(), "/contacts".into()),
        ("GET /contacts?last=1 (last page)".into(), "/contacts?last=1".into()),
        ("GET /contacts?q=martinez (search)".into(), "/contacts?q=martinez".into()),
        (format!("GET /contacts?q={rare} (search, 1 match)"), format!("/contacts?{}", form(&[("q", &rare)]))),
        ("GET /contacts?tag=VIP (tag filter + count)".into(), "/contacts?tag=VIP".into()),
    ]
}

/// The list sorted by each column in both directions (migration 0019's indexes): its
/// first and last page, a deep page in the middle (`after` the contact at half the
/// ids, a cursor that starts the index read halfway), and a common tag sorted by name.
fn sort_targets(contacts: i64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for column in ["name", "email", "company", "created"] {
        for sort in [column.to_string(), format!("-{column}")] {
            out.push((format!("GET /contacts?sort={sort} (first page)"), format!("/contacts?sort={sort}")));
            out.push((format!("GET /contacts?sort={sort}&last=1 (last page)"), format!("/contacts?sort={sort}&last=1")));
        }
        out.push((format!("GET /contacts?sort={column}&after=mid (deep page)"), format!("/contacts?sort={column}&after={}", contacts / 2)));
    }
    out.push(("GET /contacts?tag=VIP&sort=name (tag, sorted)".into(), "/contacts?tag=VIP&sort=name".into()));
    out.push(("GET /contacts?tag=VIP&sort=-company&last=1 (tag, sorted, last)".into(), "/contacts?tag=VIP&sort=-company&last=1".into()));
    out
}

/// Every page target in turn, each after a round that is not counted.
pub async fn contacts_pages(cfg: &Config, http: &mut Http, rep: &mut Report) {
    log!("contacts page: {} clients, up to {} requests or {}s per page after {} not counted", cfg.clients, cfg.requests, cfg.page_secs, cfg.warmup);
    rep.line("");
    rep.stats_header(&format!("contacts page, {} concurrent clients", cfg.clients));
    let (as_of, total) = http.c.list_meta().await;
    let mut targets: Vec<(String, String, usize, usize)> = page_targets(cfg.contacts).into_iter().map(|(l, p)| (l, p, cfg.clients, cfg.requests)).collect();
    // every sort's first, last and a deep page: fewer requests each, there are many
    targets.extend(sort_targets(cfg.contacts).into_iter().map(|(l, p)| (l, p, cfg.clients, cfg.requests.min(200))));
    // the exact count a search's page loads after its rows (the page itself does not count)
    targets.push(("GET /contacts/count?q=martinez (exact count)".into(), "/contacts/count?q=martinez".into(), cfg.clients, cfg.requests));
    // the delete dialog's counts over every contact: heavy, so one admin at a time
    targets.push((
        "GET /contacts/delete-preview select-all, 1 client".into(),
        format!("/contacts/delete-preview?{}", form(&[("select_all", "true"), ("as_of", &as_of)])),
        1,
        3,
    ));
    for (label, path, clients, requests) in &targets {
        if *clients > 1 && cfg.warmup > 0 {
            // a server in use has warm caches and connections that planned their
            // statements already: the measured requests follow a round that is not counted
            load(http, &[(label.clone(), path.clone())], *clients, cfg.warmup, cfg.page_secs, None).await;
        }
        let s = load(http, &[(label.clone(), path.clone())], *clients, *requests, cfg.page_secs, None).await;
        log!("  {label}: p50 {:.1} ms, p99 {:.1} ms, {:.1} req/s (n={})", s[0].p50_ms, s[0].p99_ms, s[0].rps, s[0].n);
        rep.stats_row(label, &s[0]);
    }
    rep.row("select-all count shown by the page", format!("{} contacts", thousands(total.parse().unwrap_or(0))));
}
