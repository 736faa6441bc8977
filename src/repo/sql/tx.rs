//! Transactions the database aborted for reasons that pass: run them again.

use crate::repo::{RepoError, RepoResult};
use std::time::Duration;

/// PostgreSQL aborts one of two transactions that wait on each other (deadlock) or that
/// cannot both commit (serialization): the aborted one is safe to run again.
pub(crate) fn is_transient(e: &RepoError) -> bool {
    match e {
        RepoError::Database(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

/// Runs a whole transaction again when the database aborted it as a deadlock victim.
pub(crate) async fn retry_transient<T, F, Fut>(attempt: F) -> RepoResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = RepoResult<T>>,
{
    retry_if(is_transient, attempt).await
}

/// Runs a whole transaction again, a few times, while it fails with an error `again`
/// says is worth another try.
pub(crate) async fn retry_if<T, F, Fut>(again: impl Fn(&RepoError) -> bool, mut attempt: F) -> RepoResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = RepoResult<T>>,
{
    let mut tries = 0u64;
    loop {
        match attempt().await {
            Err(e) if again(&e) && tries < 5 => {
                tries += 1;
                tracing::warn!(error = %e, tries, "transaction aborted by the database; running it again");
                tokio::time::sleep(Duration::from_millis(10 * tries)).await;
            }
            other => return other,
        }
    }
}
