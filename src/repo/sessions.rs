//! Signed-in sessions kept on the server: the cookie holds only their id, so signing
//! out (or an expired session) ends them for every copy of the cookie.

use super::accounts::{UserInfo, UserInfoRow};
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
    #[tracing::instrument(level = "debug", skip_all)]
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

    /// The user of session `id`, if the session is open and belongs to `user`: one
    /// statement, since every page asks.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn session_user(&self, id: &str, user: UserId) -> RepoResult<Option<UserInfo>> {
        let now = millis(wall_clock());
        let row: Option<UserInfoRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select u.id, u.account_id, a.name as account_name, u.email, u.name, u.role, u.time_zone
                 from sessions s join users u on u.id = s.user_id join accounts a on a.id = u.account_id
                 where s.id = $1 and s.user_id = $2 and s.expires_at > $3",
            )
            .bind(id)
            .bind(user.0)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.map(UserInfoRow::into_info).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_session(&self, id: &str) -> RepoResult<()> {
        on_db!(self, |pool, DB| {
            sqlx::query("delete from sessions where id = $1").bind(id).execute(pool).await?;
        });
        Ok(())
    }
}
