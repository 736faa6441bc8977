//! Signed-in sessions kept on the server: the cookie holds only their id, so signing
//! out (or an expired session) ends them for every copy of the cookie.

use super::{millis, on_db, Repo, RepoResult};
use crate::domain::UserId;
use chrono::{DateTime, Duration, Utc};

/// Sessions expire by the wall clock, like the cookie that carries them (its max-age is
/// counted by the browser), not by the application's clock that domain rules use.
fn wall_clock() -> DateTime<Utc> {
    Utc::now()
}

/// How long a session lasts without a new sign-in.
pub const SESSION_HOURS: i64 = 12;

impl Repo {
    pub async fn create_session(&self, id: &str, user: UserId) -> RepoResult<()> {
        let now = wall_clock();
        let (now_ms, expires) = (millis(now), millis(now + Duration::hours(SESSION_HOURS)));
        on_db!(self, |pool, DB| {
            // forget this user's expired sessions while here
            sqlx::query("delete from sessions where expires_at < $1").bind(now_ms).execute(pool).await?;
            sqlx::query("insert into sessions (id, user_id, created_at, expires_at) values ($1, $2, $3, $4)")
                .bind(id)
                .bind(user.0)
                .bind(now_ms)
                .bind(expires)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Whether session `id` is open for `user`.
    pub async fn session_valid(&self, id: &str, user: UserId) -> RepoResult<bool> {
        let now = millis(wall_clock());
        let n: i64 = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select count(*) from sessions where id = $1 and user_id = $2 and expires_at > $3")
                .bind(id)
                .bind(user.0)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    pub async fn end_session(&self, id: &str) -> RepoResult<()> {
        on_db!(self, |pool, DB| {
            sqlx::query("delete from sessions where id = $1").bind(id).execute(pool).await?;
        });
        Ok(())
    }
}
