//! Personal access tokens of the JSON API: creating one (the secret is returned once and only
//! its hash kept), finding the user a secret belongs to, listing and revoking. A token acts as
//! its user and is refused once revoked, expired, or its user is deactivated; the role rules are
//! the data layer's as for any request. Creation, revocation and the first use from a new
//! address go to the tenant's audit log (never the secret).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::users::{self, User};
use crate::db::schema::{api_tokens, users as users_table};
use crate::db::{DbConn, now, write_tx};
use crate::domain::token::{self, MAX_PER_USER};
use crate::domain::{TokenId, TokenName, TokenScope, UserId};
use crate::error::AppError;

/// "Last used" is written at most this often per token (a new address is written at once).
pub const LAST_USED_EVERY_SECS: i64 = 60;

/// A token as lists show it: never the secret.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    /// `rd_` and the secret's first characters.
    pub token_prefix: String,
    pub scope: TokenScope,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: String,
}

impl ApiToken {
    pub fn is_expired(&self) -> bool {
        self.expires_at <= now()
    }
}

/// A token with its owner's username, as the tenant admin's list shows it.
#[derive(Clone, Debug)]
pub struct OwnedToken {
    pub token: ApiToken,
    pub username: String,
}

/// What creating a token asks for.
pub struct NewToken {
    pub name: TokenName,
    pub scope: TokenScope,
    /// Days until it expires (`token::parse_days`).
    pub days: i64,
}

/// Who creates a token: its owner on the Account page, or an operator on the command line.
#[derive(Clone, Copy, Debug)]
pub enum CreatedBy {
    Owner,
    CommandLine,
}

/// A new token and its secret, which is shown this once and never stored.
pub struct Created {
    pub token: ApiToken,
    pub secret: String,
}

/// Creates a token for `owner` (active). At most `MAX_PER_USER` live tokens per user.
pub fn create(
    conn: &mut DbConn,
    owner: UserId,
    new: &NewToken,
    by: CreatedBy,
) -> Result<Created, AppError> {
    if !(1..=token::MAX_DAYS).contains(&new.days) {
        return Err(AppError::field(
            "expires_in_days",
            format!("A token lives 1 to {} days.", token::MAX_DAYS),
        ));
    }
    let secret = token::new_secret();
    write_tx(conn, |conn| {
        let user = users::find(conn, owner)?.ok_or(AppError::NotFound)?;
        if !user.is_active {
            return Err(AppError::conflict(format!(
                "{} is deactivated and cannot hold tokens.",
                user.username
            )));
        }
        let at = now();
        let live: i64 = live_of(owner, at).count().get_result(conn)?;
        if live >= MAX_PER_USER {
            return Err(AppError::field(
                "name",
                format!("You hold {MAX_PER_USER} live tokens already; revoke one first."),
            ));
        }
        let id: TokenId = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(owner),
                api_tokens::name.eq(new.name.as_str()),
                api_tokens::token_hash.eq(token::secret_hash(&secret)),
                api_tokens::token_prefix.eq(token::shown_prefix(&secret)),
                api_tokens::scope.eq(new.scope),
                api_tokens::created_at.eq(at),
                api_tokens::expires_at.eq(at + Duration::days(new.days)),
                api_tokens::last_used_ip.eq(""),
            ))
            .returning(api_tokens::id)
            .get_result(conn)?;
        let token: ApiToken = api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .first(conn)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: match by {
                    CreatedBy::Owner => Some(owner),
                    CreatedBy::CommandLine => None,
                },
                action: "token.created",
                target_type: "token",
                target_id: Some(token.id.get()),
                target_label: &label(&user.username, &token),
                comment: &format!(
                    "{} scope, expires {}{}",
                    token.scope.as_str(),
                    token.expires_at.format("%Y-%m-%d"),
                    match by {
                        CreatedBy::Owner => "",
                        CreatedBy::CommandLine => ", created on the command line",
                    }
                ),
            },
        )?;
        Ok(Created { token, secret })
    })
}

/// How a token is named in the audit log: its owner, its name and its shown prefix.
fn label(username: &str, token: &ApiToken) -> String {
    format!("{username}: {} ({}…)", token.name, token.token_prefix)
}

/// A user's tokens that still work at `at`.
#[diesel::dsl::auto_type(no_type_alias)]
fn live_of(owner: UserId, at: NaiveDateTime) -> _ {
    api_tokens::table
        .filter(api_tokens::user_id.eq(owner))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(at))
}

/// The user a request's secret stands for, and the token: `None` when the secret is unknown,
/// revoked or expired, or its user is deactivated. A read: whether "last used" needs writing
/// is returned for `record_use`.
pub fn authenticate(
    conn: &mut DbConn,
    secret: &str,
    client_ip: &str,
) -> QueryResult<Option<(User, ApiToken, bool)>> {
    if !token::looks_like_secret(secret) {
        return Ok(None);
    }
    let found: Option<(ApiToken, User)> = api_tokens::table
        .inner_join(users_table::table)
        .filter(api_tokens::token_hash.eq(token::secret_hash(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(now()))
        .filter(users_table::is_active.eq(true))
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    Ok(found.map(|(token, user)| {
        let due = token.last_used_ip != client_ip
            || token
                .last_used_at
                .is_none_or(|t| now() - t >= Duration::seconds(LAST_USED_EVERY_SECS));
        (user, token, due)
    }))
}

/// Writes when and from where a token was last used; the first use from an address it was not
/// last used from is audited (the address, never the secret).
pub fn record_use(
    conn: &mut DbConn,
    token: &ApiToken,
    username: &str,
    client_ip: &str,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        // Guarded on the address: of two requests arriving at once from a new address, one
        // moves it and records it (PostgreSQL's row lock makes the other see it moved).
        let moved = diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(token.id))
                .filter(api_tokens::last_used_ip.ne(client_ip)),
        )
        .set((
            api_tokens::last_used_at.eq(now()),
            api_tokens::last_used_ip.eq(client_ip),
        ))
        .execute(conn)?;
        if moved == 0 {
            diesel::update(api_tokens::table.find(token.id))
                .set(api_tokens::last_used_at.eq(now()))
                .execute(conn)?;
            return Ok(());
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(token.user_id),
                action: "token.used_from_new_address",
                target_type: "token",
                target_id: Some(token.id.get()),
                target_label: &label(username, token),
                comment: client_ip,
            },
        )?;
        Ok(())
    })
}

/// A user's tokens that are not revoked (expired ones too, so their owner sees why a pipeline
/// stopped), newest first.
pub fn list_for_user(conn: &mut DbConn, owner: UserId) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(owner))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

/// Every user's unrevoked tokens, for a tenant administrator, newest first.
pub fn list_all(conn: &mut DbConn, actor: UserId) -> Result<Vec<OwnedToken>, AppError> {
    match users::find(conn, actor)? {
        Some(u) if u.is_active && u.is_tenant_admin => {}
        _ => return Err(AppError::NotFound),
    }
    Ok(api_tokens::table
        .inner_join(users_table::table)
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.desc())
        .limit(1000)
        .select((ApiToken::as_select(), users_table::username))
        .load::<(ApiToken, String)>(conn)?
        .into_iter()
        .map(|(token, username)| OwnedToken { token, username })
        .collect())
}

/// Revokes a token: its owner, or a tenant administrator for anyone's. Anyone else's token is
/// not found. Revoking twice is a conflict, so two clicks record one revocation.
pub fn revoke(conn: &mut DbConn, actor: UserId, id: TokenId) -> Result<ApiToken, AppError> {
    write_tx(conn, |conn| {
        let actor_user = users::find(conn, actor)?.ok_or(AppError::NotFound)?;
        let found: Option<(ApiToken, String, Option<NaiveDateTime>)> = api_tokens::table
            .inner_join(users_table::table)
            .filter(api_tokens::id.eq(id))
            .select((
                ApiToken::as_select(),
                users_table::username,
                api_tokens::revoked_at,
            ))
            .first(conn)
            .optional()?;
        let Some((token, username, revoked_at)) = found else {
            return Err(AppError::NotFound);
        };
        if token.user_id != actor && !(actor_user.is_tenant_admin && actor_user.is_active) {
            return Err(AppError::NotFound);
        }
        if revoked_at.is_some() {
            return Err(AppError::conflict(format!(
                "The token “{}” is already revoked.",
                token.name
            )));
        }
        let changed = diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set((
            api_tokens::revoked_at.eq(now()),
            api_tokens::revoked_by.eq(actor),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::conflict(format!(
                "The token “{}” is already revoked.",
                token.name
            )));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(actor),
                action: "token.revoked",
                target_type: "token",
                target_id: Some(token.id.get()),
                target_label: &label(&username, &token),
                comment: "",
            },
        )?;
        Ok(token)
    })
}
