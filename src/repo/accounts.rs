//! Accounts (tenants), their users, and the two ways a user is known: a signed-in
//! session kept on the server (the cookie holds only its id, so signing out or expiry
//! ends it for every copy of the cookie), or an API key. A key acts as a user of its
//! own, with the key's role and name, which never signs in.

use super::sql::{from_millis, millis, on_db, Dialect};
use super::{Repo, RepoError, RepoResult};
use crate::domain::{AccountId, ApiKeyName, ApiKeySecret, Email, Role, UserId, UserZone};
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
            sqlx::query_as(&format!("select id, account_id, password_hash from users where email = $1 and {NOT_A_KEY}"))
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
            sqlx::query_scalar(&format!("select id from users where account_id = $1 and role = 'admin' and {NOT_A_KEY} order by id limit 1"))
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

/// Users that are people, not an API key's own user.
const NOT_A_KEY: &str = "not exists (select 1 from api_keys k where k.user_id = users.id)";

/// An API key as the API keys page lists it (never the key itself).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    name: String,
    role: String,
    prefix: String,
    created_by: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// The caller of an API request: the key's own user, and the key.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: UserInfo,
    pub key_id: i64,
    pub key_name: String,
}

#[derive(sqlx::FromRow)]
struct ApiCallerRow {
    #[sqlx(flatten)]
    user: UserInfoRow,
    key_id: i64,
    key_name: String,
    last_used_at: Option<i64>,
}

/// How often a key's "last used" time is written: not on every request.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The admin check folded into a change of the account's keys: `$2` is an admin of
/// account `$1`, and a person.
const PERSON_ADMIN: &str = "exists (select 1 from users where users.id = $2 and users.account_id = $1 and users.role = 'admin'
     and not exists (select 1 from api_keys k where k.user_id = users.id))";

fn admins_only() -> RepoError {
    RepoError::Forbidden("Only an admin of this account may manage API keys.".into())
}

impl Repo {
    /// Creates a key named `name` with `role`, and its own user; refused unless `admin` is
    /// a person who is an admin of the account (R1). Two live keys of an account cannot
    /// share a name, since the audit log tells them apart by it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_api_key(
        &self,
        account: AccountId,
        admin: UserId,
        name: &ApiKeyName,
        role: Role,
        secret: &ApiKeySecret,
    ) -> RepoResult<i64> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let (is_admin, taken): (bool, bool) = sqlx::query_as(&format!(
                "select {PERSON_ADMIN}, exists (select 1 from api_keys where account_id = $1 and name = $3 and revoked_at is null)"
            ))
            .bind(account.0)
            .bind(admin.0)
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if !is_admin {
                return Err(admins_only());
            }
            if taken {
                return Err(RepoError::Conflict(format!("This account already has an API key named “{}”. Choose another name.", name.as_str())));
            }
            let user: i64 = sqlx::query_scalar(
                "insert into users (account_id, email, name, role, password_hash, created_at) values ($1, $2, $3, $4, '!', $5) returning id",
            )
            .bind(account.0)
            .bind(format!("api-key-{}@api-keys.invalid", uuid::Uuid::new_v4()))
            .bind(name.user_name())
            .bind(role.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "insert into api_keys (account_id, user_id, name, secret_hash, prefix, created_by_user_id, created_at)
                 values ($1, $2, $3, $4, $5, $6, $7) returning id",
            )
            .bind(account.0)
            .bind(user)
            .bind(name.as_str())
            .bind(secret.hash())
            .bind(secret.prefix())
            .bind(admin.0)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The account's keys, live ones first, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn api_keys(&self, account: AccountId) -> RepoResult<Vec<ApiKey>> {
        let rows: Vec<ApiKeyRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select k.id, k.name, u.role, k.prefix, c.name as created_by, k.created_at, k.last_used_at, k.revoked_at
                 from api_keys k join users u on u.id = k.user_id left join users c on c.id = k.created_by_user_id
                 where k.account_id = $1
                 order by case when k.revoked_at is null then 0 else 1 end, k.id desc",
            )
            .bind(account.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(ApiKey {
                    id: r.id,
                    name: r.name,
                    role: Role::parse(&r.role)?,
                    prefix: r.prefix,
                    created_by: r.created_by,
                    created_at: from_millis(r.created_at),
                    last_used_at: r.last_used_at.map(from_millis),
                    revoked_at: r.revoked_at.map(from_millis),
                })
            })
            .collect()
    }

    /// Revokes key `id` of the account at once: the next request with it gets 401. Its
    /// user keeps its name for the history but loses the admin role. Refused unless
    /// `admin` is a person who is an admin of the account; false when there is no such
    /// live key.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_api_key(&self, account: AccountId, admin: UserId, id: i64) -> RepoResult<bool> {
        let now = millis(self.now());
        on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            let is_admin: bool = sqlx::query_scalar(&format!("select {PERSON_ADMIN}")).bind(account.0).bind(admin.0).fetch_one(&mut *tx).await?;
            if !is_admin {
                return Err(admins_only());
            }
            let user: Option<i64> = sqlx::query_scalar(
                "update api_keys set revoked_at = $3, revoked_by_user_id = $2
                 where account_id = $1 and id = $4 and revoked_at is null returning user_id",
            )
            .bind(account.0)
            .bind(admin.0)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(user) = user {
                sqlx::query("update users set role = 'user' where id = $1").bind(user).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(user.is_some())
        })
    }

    /// The caller whose key is `secret`, if the key exists and is not revoked. Notes when
    /// the key was used, at most once a minute.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn api_caller(&self, secret: &ApiKeySecret) -> RepoResult<Option<ApiCaller>> {
        let now = millis(self.now());
        let row: Option<ApiCallerRow> = on_db!(self, |pool, DB| {
            sqlx::query_as(
                "select u.id, u.account_id, a.name as account_name, u.email, u.name, u.role, u.time_zone,
                        k.id as key_id, k.name as key_name, k.last_used_at
                 from api_keys k join users u on u.id = k.user_id join accounts a on a.id = u.account_id
                 where k.secret_hash = $1 and k.revoked_at is null",
            )
            .bind(secret.hash())
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else { return Ok(None) };
        if row.last_used_at.is_none_or(|t| now - t >= LAST_USED_EVERY_MS) {
            // a note, not part of the request: a busy database does not fail the call
            let noted: Result<(), sqlx::Error> = on_db!(self, |pool, DB| {
                sqlx::query("update api_keys set last_used_at = $1 where id = $2").bind(now).bind(row.key_id).execute(pool).await.map(|_| ())
            });
            if let Err(e) = noted {
                tracing::debug!(error = %e, "the key's last use was not noted");
            }
        }
        Ok(Some(ApiCaller { user: row.user.into_info()?, key_id: row.key_id, key_name: row.key_name }))
    }
}
