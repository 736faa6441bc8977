//! The floor of R2 on SQLite: the same R2 statements as a deletion chunk runs, set-based
//! in one transaction with `secure_delete` on, on a copy of the data without the
//! product's triggers (counters, search index, tags) and without its extra indexes: the
//! same tables with their child indexes (by contact, by conversation) only. What the
//! product's job costs beyond it is what its triggers, indexes and chunking cost.

use crate::config::Config;
use crate::report::{rate, Report};
use crate::store::{account_ids, Store};
use crate::support::Raw;
use contacts_admin::repo::deletion::{RELEASE_OWNED_GROUPS, REMOVED_WITH_CONTACT, STOP_ACTIVE_ENROLLMENTS};
use contacts_admin::repo::Backend;
use contacts_admin::web::page::thousands;
use std::time::Instant;

/// The tables R2 writes.
fn r2_tables() -> impl Iterator<Item = &'static str> {
    REMOVED_WITH_CONTACT.into_iter().chain(["community_groups", "enrollments"])
}

/// Copy F, SQLite only: the floor's seconds for R2 over every contact of the account,
/// and the associated rows it changed.
pub async fn floor_phase(cfg: &Config, store: &Store, rep: &mut Report) -> Option<(f64, u64)> {
    if store.backend() != Backend::Sqlite || !cfg.floor {
        return None;
    }
    let db = store.copy("f").await;
    let raw = db.open(1).await;
    let (acc, admin) = account_ids(&raw).await.expect("bench account");
    let Raw::Sqlite(pool) = &raw else { unreachable!() };
    let mut conn = pool.acquire().await.expect("connection");
    log!("R2 floor: the product's triggers and extra indexes dropped …");
    let t = Instant::now();
    let triggers: Vec<String> = sqlx::query_scalar("select name from sqlite_master where type = 'trigger'").fetch_all(&mut *conn).await.expect("triggers");
    for name in &triggers {
        sqlx::query(&format!("drop trigger \"{name}\"")).execute(&mut *conn).await.expect("drop trigger");
    }
    // every index made by hand, but those of R2's tables that lead with the column
    // R2 (or a cascade) looks rows up by
    let tables = r2_tables().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let extra: Vec<String> = sqlx::query_scalar(&format!(
        "select i.name from sqlite_master i where i.type = 'index' and i.sql is not null
           and not (i.tbl_name in ({tables})
                    and (select c.name from pragma_index_info(i.name) c where c.seqno = 0)
                        in ('contact_id', 'owner_contact_id', 'conversation_id'))"
    ))
    .fetch_all(&mut *conn)
    .await
    .expect("indexes");
    for name in &extra {
        sqlx::query(&format!("drop index \"{name}\"")).execute(&mut *conn).await.expect("drop index");
    }
    // the contacts R2 runs for: marked as one batch, found by it
    sqlx::query("create index floor_batch on contacts(deletion_batch_id)").execute(&mut *conn).await.expect("batch index");
    let now = chrono::Utc::now().timestamp_millis();
    let batch: i64 = sqlx::query_scalar(
        "insert into deletion_batches (account_id, actor_user_id, channel, description, created_at)
         values ($1, $2, 'cli', 'all contacts (R2 floor)', $3) returning id",
    )
    .bind(acc)
    .bind(admin)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .expect("batch");
    let marked = sqlx::query("update contacts set deleted_at = $1, deletion_batch_id = $2 where account_id = $3 and deleted_at is null")
        .bind(now)
        .bind(batch)
        .bind(acc)
        .execute(&mut *conn)
        .await
        .expect("mark")
        .rows_affected();
    sqlx::query("pragma secure_delete = on").execute(&mut *conn).await.expect("secure_delete");
    sqlx::query("pragma wal_checkpoint(truncate)").execute(&mut *conn).await.expect("checkpoint");
    log!(
        "  dropped {} triggers and {} indexes, marked {} contacts in {:.1}s; R2 in one transaction …",
        triggers.len(),
        extra.len(),
        thousands(marked as i64),
        t.elapsed().as_secs_f64()
    );

    let of_batch = "select id from contacts where deletion_batch_id = $2";
    let statements = REMOVED_WITH_CONTACT
        .map(|t| (t, format!("delete from {t} where account_id = $1 and contact_id in ({of_batch})")))
        .into_iter()
        .chain([
            ("community_groups", RELEASE_OWNED_GROUPS.replace("{ids}", of_batch)),
            ("enrollments", STOP_ACTIVE_ENROLLMENTS.replace("{ids}", of_batch).replace("{now}", &now.to_string())),
        ]);
    let mut steps: Vec<(&str, f64, u64)> = Vec::new();
    let t0 = Instant::now();
    sqlx::query("begin immediate").execute(&mut *conn).await.expect("begin");
    let mut rows = 0;
    for (table, sql) in statements {
        let t = Instant::now();
        let n = sqlx::query(&sql).bind(acc).bind(batch).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{table}: {e}")).rows_affected();
        rows += n;
        steps.push((table, t.elapsed().as_secs_f64(), n));
    }
    let t = Instant::now();
    sqlx::query("commit").execute(&mut *conn).await.expect("commit");
    steps.push(("commit", t.elapsed().as_secs_f64(), 0));
    let secs = t0.elapsed().as_secs_f64();
    drop(conn);
    raw.close().await;
    log!("  {} rows in {:.2}s", thousands(rows as i64), secs);
    rep.row(
        "R2 floor: set-based, no triggers or extra indexes",
        format!("{} contacts' {} rows in {:.2}s = {} contacts/s (secure_delete on)", thousands(marked as i64), thousands(rows as i64), secs, rate(marked as i64, secs)),
    );
    let detail: Vec<String> = steps.iter().map(|(t, s, n)| if *n > 0 { format!("{t} {s:.2}s ({})", thousands(*n as i64)) } else { format!("{t} {s:.2}s") }).collect();
    rep.row("  statements", detail.join(", "));
    store.drop_copy(&db).await;
    Some((secs, rows))
}
