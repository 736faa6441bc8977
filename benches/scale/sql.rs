//! The same delete-all as hand-written, set-based SQL in one transaction: R2 in full,
//! over the repository's own lists of what a deletion removes and changes, as the
//! floor the product's job is compared with.

use crate::report::{rate, Report};
use crate::store::{account_ids, live_contacts, Store};
use contacts_admin::repo::deletion::{RELEASE_OWNED_GROUPS, REMOVED_WITH_CONTACT, STOP_ACTIVE_ENROLLMENTS};
use contacts_admin::repo::Backend;
use contacts_admin::web::page::thousands;
use std::time::Instant;

/// Marks every live contact of the account `$4` deleted at `$1` by the admin `$2`, as
/// the batch `$3`.
pub const MARK_ALL: &str = "update contacts set deleted_at = $1, updated_at = $1, deleted_by_user_id = $2, deletion_batch_id = $3
     where account_id = $4 and deleted_at is null and created_at <= $1";

/// R2 for the contacts of the batch `$2` in the account `$1`, statement by statement as
/// the repository runs it for a chunk, each with the table it writes.
pub fn r2_statements(now: i64) -> Vec<(&'static str, String)> {
    let of_batch = "select id from contacts where deletion_batch_id = $2";
    let removed = REMOVED_WITH_CONTACT.map(|t| (t, format!("delete from {t} where account_id = $1 and contact_id in ({of_batch})")));
    let kept = [
        ("community_groups", RELEASE_OWNED_GROUPS.replace("{ids}", of_batch)),
        ("enrollments", STOP_ACTIVE_ENROLLMENTS.replace("{ids}", of_batch).replace("{now}", &now.to_string())),
    ];
    removed.into_iter().chain(kept).collect()
}

/// Copy B: the same delete-all as set-based SQL in one transaction (R2 in full).
pub async fn sql_phase(store: &Store, rep: &mut Report) -> Option<(f64, i64)> {
    let db = store.copy("b").await;
    let pool = db.open(1).await;
    let (acc, admin) = account_ids(&pool).await.expect("bench account");
    let now = chrono::Utc::now().timestamp_millis();
    log!("delete-all by hand-written set-based SQL, one transaction …");
    let mut steps: Vec<(String, f64, u64)> = Vec::new();
    let t0 = Instant::now();
    let (deleted, _) = crate::on_raw!(&pool, |p| {
        let mut conn = p.acquire().await.expect("connection");
        let begin = if store.backend() == Backend::Sqlite { "begin immediate" } else { "begin" };
        sqlx::query(begin).execute(&mut *conn).await.expect("begin");
        let batch: i64 = sqlx::query_scalar(
            "insert into deletion_batches (account_id, actor_user_id, channel, description, reason, created_at)
             values ($1, $2, 'cli', 'all contacts (set-based SQL)', 'scale benchmark', $3) returning id",
        )
        .bind(acc)
        .bind(admin)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .expect("batch");
        let t = Instant::now();
        let deleted = sqlx::query(MARK_ALL)
        .bind(now)
        .bind(admin)
        .bind(batch)
        .bind(acc)
        .execute(&mut *conn)
        .await
        .expect("mark contacts deleted")
        .rows_affected();
        steps.push(("contacts".into(), t.elapsed().as_secs_f64(), deleted));
        // R2 for the batch's contacts, statement by statement, as the repository runs it
        // for a chunk
        for (table, sql) in r2_statements(now) {
            let t = Instant::now();
            let n = sqlx::query(&sql)
                .bind(acc)
                .bind(batch)
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{table}: {e}"))
                .rows_affected();
            steps.push((table.into(), t.elapsed().as_secs_f64(), n));
        }
        sqlx::query("update deletion_batches set state = 'done', total = $1, deleted_count = $1, finished_at = $2 where id = $3")
            .bind(deleted as i64)
            .bind(now)
            .bind(batch)
            .execute(&mut *conn)
            .await
            .expect("close batch");
        sqlx::query(
            "insert into audit_events (account_id, at, actor_user_id, channel, action, contact_count, description, reason, batch_id)
             values ($1, $2, $3, 'cli', 'delete', $4, 'all contacts (set-based SQL)', 'scale benchmark', $5)",
        )
        .bind(acc)
        .bind(now)
        .bind(admin)
        .bind(deleted as i64)
        .bind(batch)
        .execute(&mut *conn)
        .await
        .expect("audit");
        let t = Instant::now();
        sqlx::query("commit").execute(&mut *conn).await.expect("commit");
        steps.push(("commit".into(), t.elapsed().as_secs_f64(), 0));
        (deleted as i64, batch)
    });
    let secs = t0.elapsed().as_secs_f64();
    let left = live_contacts(&pool, acc).await;
    pool.close().await;
    log!("  {} contacts in {:.1}s", thousands(deleted), secs);
    rep.row("delete-all, set-based SQL (one transaction)", format!("{} contacts in {:.1}s = {} contacts/s ({} live left)", thousands(deleted), secs, rate(deleted, secs), left));
    let detail: Vec<String> = steps.iter().map(|(t, s, n)| if *n > 0 { format!("{t} {s:.1}s ({})", thousands(*n as i64)) } else { format!("{t} {s:.1}s") }).collect();
    rep.row("  statements", detail.join(", "));
    store.drop_copy(&db).await;
    Some((secs, deleted))
}
