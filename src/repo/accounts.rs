//! Accounts (tenants), their users, and the users' signed-in sessions, kept on the
//! server: the cookie holds only a session's id, so signing out (or an expired session)
//! ends it for every copy of the cookie.

use super::sql::{millis, on_db};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{AccountId, Email, Role, UserId, UserZone};
use chrono::{DateTime, Duration, Utc};

/// What login needs: the stored argon2 hash, never shown in `Debug`.
#[derive(Clone)]
pub struct LoginUser {
    pub id: UserId,
    pub account_id: AccountId,
    pub password_hash: String,
}

impl std::fmt::Debug for LoginUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginUser")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("password_hash", &"<hidden>")
            .finish()
    }
}

/// A signed-in user, as every page needs them.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: UserId,
    pub account_id: AccountId,
    pub account_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Where times on their pages are shown.
    pub zone: UserZone,
}

#[derive(sqlx::FromRow)]
struct UserInfoRow {
    id: i64,
    account_id: i64,
    account_name: String,
    email: String,
    name: String,
    role: String,
    time_zone: Option<String>,
}

impl UserInfoRow {
    fn into_info(self) -> RepoResult<UserInfo> {
        Ok(UserInfo {
            id: UserId(self.id),
            account_id: AccountId(self.account_id),
            account_name: self.account_name,
            email: self.email,
            name: self.name,
            role: Role::parse(&self.role)?,
            zone: UserZone::from_stored(self.time_zone.as_deref()),
        })
    }
}

impl Repo {
    /// The account of that name, created if it does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_account(&self, name: &str) -> RepoResult<AccountId> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RepoError::Invalid(crate::domain::InvalidInput::new(
                "An account name has 1 to 100 characters.",
            )));
        }
        let now = millis(self.now());
        let id: i64 = on_db!(self, |pool, DB| {
            sqlx::query("insert into accounts (name, created_at) values ($1, $2) on conflict (name) do nothing")
                .bind(name)
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query_scalar("select id from accounts where name = $1").bind(name).fetch_one(pool).await?
        });
        Ok(AccountId(id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_account(&self, name: &str) -> RepoResult<Option<AccountId>> {
        let id: Option<i64> = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select id from accounts where name = $1")
                .bind(name.trim())
                .fetch_optional(pool)
                .await?
        });
        Ok(id.map(AccountId))
    }

    /// Creates a user, or updates the name, role and password of the user with that
    /// email in the same account. An email used in another account is refused.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upsert_user(
        &self,
        account: AccountId,
        email: &Email,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> RepoResult<UserId> {
        let now = millis(self.now());
        let existing: Option<(i64, i64)> = on_db!(self, |pool, DB| {
            sqlx::query_as("select id, account_id from users where email = $1")
                .bind(email.as_str())
                .fetch_optional(pool)
                .await?
        });
        match existing {
            Some((_, acc)) if acc != account.0 => Err(RepoError::Conflict(format!(
                "{} already belongs to another account.",
                email.as_str()
            ))),
            Some((id, _)) => {
                on_db!(self, |pool, DB| {
                    sqlx::query("update users set name = $1, role = $2, password_hash = $3 where id = $4")
                        .bind(name)
                        .bind(role.as_str())
                        .bind(password_hash)
                        .bind(id)
                        .execute(pool)
                        .await?;
                });
                Ok(UserId(id))
            }
            None => {
                let id: i64 = on_db!(self, |pool, DB| {
                    sqlx::query_scalar(
                        "insert into users (account_id, email, name, role, password_hash, created_at)
                         values ($1, $2, $3, $4, $5, $6) returning id",
                    )
                    .bind(account.0)
                    .bind(email.as_str())
                    .bind(name)
                    .bind(role.as_str())
                    .bind(password_hash)
                    .bind(now)
                    .fetch_one(pool)
                    .await?
                });
                Ok(UserId(id))
            }
        }
    }

    /// Stores the time zone the user's browser reports; their pages show times in it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_time_zone(&self, user: UserId, zone: UserZone) -> RepoResult<()> {
        let name = (!zone.name().is_empty()).then(|| zone.name());
        on_db!(self, |pool, DB| {
            sqlx::query("update users set time_zone = $1 where id = $2").bind(name).bind(user.0).execute(pool).await?;
        });
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn login_user(&self, email: &str) -> RepoResult<Option<LoginUser>> {
        let row: Option<(i64, i64, String)> = on_db!(self, |pool, DB| {
            sqlx::query_as("select id, account_id, password_hash from users where email = $1")
                .bind(email.trim().to_lowercase())
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id, acc, hash)| LoginUser { id: UserId(id), account_id: AccountId(acc), password_hash: hash }))
    }

    /// An admin of the account, for work done in the account's name by the CLI.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn first_admin(&self, account: AccountId) -> RepoResult<Option<UserId>> {
        let id: Option<i64> = on_db!(self, |pool, DB| {
            sqlx::query_scalar("select id from users where account_id = $1 and role = 'admin' order by id limit 1")
                .bind(account.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(id.map(UserId))
    }
}

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
