//! The floor of a delete-all, on either backend: every contact marked deleted and the
//! same R2 statements as a deletion chunk runs, set-based in one transaction, on a copy
//! of the data without the product's triggers (counters, search index, tags) and without
//! its extra indexes: the same tables with their keys, foreign keys and child indexes
//! (by contact, by conversation) only. On SQLite `secure_delete` is on, as in the
//! product. What the product's job costs beyond it is what its triggers, indexes and
//! chunking cost.

use crate::config::Config;
use crate::report::{rate, Report};
use crate::sql::{r2_statements, MARK_ALL};
use crate::store::{account_ids, Store};
use contacts_admin::repo::deletion::REMOVED_WITH_CONTACT;
use contacts_admin::repo::Backend;
use contacts_admin::web::page::thousands;
use std::time::Instant;

/// The columns a child index of R2's tables may lead with and stay in the floor.
const CHILD_KEYS: &str = "'contact_id', 'owner_contact_id', 'conversation_id'";

/// The tables R2 writes, as an SQL list.
fn r2_tables() -> String {
    REMOVED_WITH_CONTACT.into_iter().chain(["community_groups", "enrollments"]).map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
}

/// The statements that strip a copy down to the floor's schema: every trigger of the
/// product dropped, then every index made by hand but those of R2's tables that lead
/// with the column R2 (or a cascade) looks rows up by.
fn strip(backend: Backend) -> [String; 2] {
    let tables = r2_tables();
    match backend {
        Backend::Sqlite => [
            "select 'drop trigger \"' || name || '\"' from sqlite_master where type = 'trigger'".into(),
            format!(
                "select 'drop index \"' || i.name || '\"' from sqlite_master i where i.type = 'index' and i.sql is not null
                   and not (i.tbl_name in ({tables})
                            and (select c.name from pragma_index_info(i.name) c where c.seqno = 0) in ({CHILD_KEYS}))"
            ),
        ],
        Backend::Postgres => [
            "select format('drop trigger %I on %s', tgname, tgrelid::regclass) from pg_trigger t
               join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
              where not t.tgisinternal and n.nspname = current_schema()"
                .into(),
            format!(
                "select format('drop index %s', i.indexrelid::regclass) from pg_index i
                   join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
                  where n.nspname = current_schema()
                    and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
                    and not (t.relname in ({tables})
                             and (select a.attname from pg_attribute a where a.attrelid = t.oid and a.attnum = i.indkey[0])
                                 in ({CHILD_KEYS}))"
            ),
        ],
    }
}

/// Copy F: the floor's seconds for marking every contact of the account deleted and
/// R2 over them, and the contacts it marked.
pub async fn floor_phase(cfg: &Config, store: &Store, rep: &mut Report) -> Option<(f64, u64)> {
    if !cfg.floor {
        return None;
    }
    let backend = store.backend();
    let db = store.copy("f").await;
    let raw = db.open(1).await;
    let (acc, admin) = account_ids(&raw).await.expect("bench account");
    log!("delete-all floor: the product's triggers and extra indexes dropped …");
    let now = chrono::Utc::now().timestamp_millis();
    let (marked, rows, secs, steps) = crate::on_raw!(&raw, |pool| {
        let mut conn = pool.acquire().await.expect("connection");
        let t = Instant::now();
        let mut dropped = [0usize; 2];
        for (n, list) in dropped.iter_mut().zip(strip(backend)) {
            let drops: Vec<String> = sqlx::query_scalar(&list).fetch_all(&mut *conn).await.expect("schema");
            for drop in &drops {
                sqlx::query(drop).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{drop}: {e}"));
            }
            *n = drops.len();
        }
        // the contacts R2 runs for: marked as one batch, found by it
        sqlx::query("create index floor_batch on contacts(deletion_batch_id)").execute(&mut *conn).await.expect("batch index");
        let batch: i64 = sqlx::query_scalar(
            "insert into deletion_batches (account_id, actor_user_id, channel, description, created_at)
             values ($1, $2, 'cli', 'all contacts (floor)', $3) returning id",
        )
        .bind(acc)
        .bind(admin)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .expect("batch");
        let settle = match backend {
            Backend::Sqlite => ["pragma secure_delete = on", "pragma wal_checkpoint(truncate)"],
            Backend::Postgres => ["analyze", "checkpoint"],
        };
        for statement in settle {
            sqlx::query(statement).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        log!(
            "  dropped {} triggers and {} indexes in {:.1}s; the contacts marked and R2 in one transaction …",
            dropped[0],
            dropped[1],
            t.elapsed().as_secs_f64()
        );
        let mut steps: Vec<(&str, f64, u64)> = Vec::new();
        let t0 = Instant::now();
        let begin = if backend == Backend::Sqlite { "begin immediate" } else { "begin" };
        sqlx::query(begin).execute(&mut *conn).await.expect("begin");
        let t = Instant::now();
        let marked = sqlx::query(MARK_ALL).bind(now).bind(admin).bind(batch).bind(acc).execute(&mut *conn).await.expect("mark").rows_affected();
        steps.push(("contacts marked", t.elapsed().as_secs_f64(), marked));
        let mut rows = 0;
        for (table, sql) in r2_statements(now) {
            let t = Instant::now();
            let n = sqlx::query(&sql).bind(acc).bind(batch).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{table}: {e}")).rows_affected();
            rows += n;
            steps.push((table, t.elapsed().as_secs_f64(), n));
        }
        let t = Instant::now();
        sqlx::query("commit").execute(&mut *conn).await.expect("commit");
        steps.push(("commit", t.elapsed().as_secs_f64(), 0));
        (marked, rows, t0.elapsed().as_secs_f64(), steps)
    });
    raw.close().await;
    log!("  {} contacts and {} rows in {:.2}s", thousands(marked as i64), thousands(rows as i64), secs);
    rep.row(
        "delete-all floor: set-based, no triggers or extra indexes",
        format!("{} contacts and their {} rows in {:.2}s = {} contacts/s", thousands(marked as i64), thousands(rows as i64), secs, rate(marked as i64, secs)),
    );
    let detail: Vec<String> = steps.iter().map(|(t, s, n)| if *n > 0 { format!("{t} {s:.2}s ({})", thousands(*n as i64)) } else { format!("{t} {s:.2}s") }).collect();
    rep.row("  statements", detail.join(", "));
    store.drop_copy(&db).await;
    Some((secs, marked))
}
