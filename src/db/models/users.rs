//! Users: accounts, tenant administrators, activation and the session epoch that signs a user
//! out everywhere when it moves (deactivation, password change or reset).

use crate::domain::UserId;
use crate::domain::WorkspaceId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use crate::db::schema::{memberships, users, workspace_reviewers};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{DisplayName, Role, Username};
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_tenant_admin: bool,
    pub is_active: bool,
    pub session_epoch: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What it takes to create a user; the password is already hashed.
pub struct NewUser<'a> {
    pub username: &'a Username,
    pub display_name: &'a DisplayName,
    pub password_hash: &'a str,
    pub tenant_admin: bool,
}

pub fn find(conn: &mut DbConn, id: UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The usernames of these users (one query; the gone are left out).
pub fn usernames(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = UserId>,
) -> QueryResult<std::collections::HashMap<UserId, String>> {
    let ids: Vec<UserId> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// All users, optionally those whose username or name contains `q`, by username.
pub fn list(conn: &mut DbConn, q: Option<&str>) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .select(User::as_select())
        .order(users::username)
        .into_boxed();
    if let Some(q) = q {
        let pattern = format!("%{}%", audit::escape_like(&q.to_lowercase()));
        query = query.filter(
            users::username
                .like(pattern.clone())
                .escape('\\')
                .or(crate::db::lower(users::display_name)
                    .like(pattern)
                    .escape('\\')),
        );
    }
    query.load(conn)
}

/// Fails with `Forbidden` unless `actor_id` is an active tenant administrator right now. On
/// PostgreSQL it also locks the tenant administrators' rows, so changes to who administers the
/// tenant take turns (two of them cannot revoke each other at once).
pub(crate) fn require_tenant_admin(conn: &mut DbConn, actor_id: UserId) -> Result<User, AppError> {
    if let DbConn::Postgres(_) = conn {
        diesel::sql_query("SELECT id FROM users WHERE is_tenant_admin ORDER BY id FOR UPDATE")
            .execute(conn)?;
    }
    match find(conn, actor_id)? {
        Some(u) if u.is_active && u.is_tenant_admin => Ok(u),
        _ => Err(AppError::forbidden(
            "Only tenant administrators can manage users and workspaces.",
        )),
    }
}

fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> Result<User, AppError> {
    let ts = now();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::username.eq(new.username.as_str()),
            users::display_name.eq(new.display_name.as_str()),
            users::password_hash.eq(new.password_hash),
            users::is_tenant_admin.eq(new.tenant_admin),
            users::is_active.eq(true),
            users::session_epoch.eq(0i64),
            users::created_at.eq(ts),
            users::updated_at.eq(ts),
        ))
        .returning(users::id)
        .get_result::<UserId>(conn);
    let id = match inserted {
        Ok(id) => id,
        Err(e) if super::is_unique_violation(&e) => {
            return Err(AppError::field(
                "username",
                format!("The username “{}” is taken.", new.username.as_str()),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    find(conn, id)?.ok_or(AppError::NotFound)
}

/// Creates a user on behalf of a tenant administrator (`actor_id`), or from the command line
/// and demo seeding (`None`).
pub fn create(
    conn: &mut DbConn,
    actor_id: Option<UserId>,
    new: NewUser<'_>,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        if let Some(actor) = actor_id {
            require_tenant_admin(conn, actor)?;
        }
        let user = insert(conn, &new)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id,
                action: "user.created",
                target_type: "user",
                target_id: Some(user.id.get()),
                target_label: &user.username,
                comment: if new.tenant_admin {
                    "tenant administrator"
                } else {
                    ""
                },
            },
        )?;
        Ok(user)
    })
}

/// Removes `user_id` from every reviewer list where their role no longer allows reviewing,
/// recording each removal. Called inside the transaction that changed the user or the role.
pub(crate) fn drop_ineligible_reviewer_seats(
    conn: &mut DbConn,
    actor_id: UserId,
    user_id: UserId,
    reason: &str,
) -> Result<usize, AppError> {
    let user = find(conn, user_id)?.ok_or(AppError::NotFound)?;
    let seats: Vec<(WorkspaceId, Role)> = workspace_reviewers::table
        .inner_join(
            memberships::table.on(memberships::workspace_id
                .eq(workspace_reviewers::workspace_id)
                .and(memberships::user_id.eq(workspace_reviewers::user_id))),
        )
        .filter(workspace_reviewers::user_id.eq(user_id))
        .select((workspace_reviewers::workspace_id, memberships::role))
        .load(conn)?;
    let mut removed = 0;
    for (workspace_id, role) in seats {
        let eligible = user.is_active && (user.is_tenant_admin || role.may_review());
        if eligible {
            continue;
        }
        removed += diesel::delete(
            workspace_reviewers::table
                .filter(workspace_reviewers::workspace_id.eq(workspace_id))
                .filter(workspace_reviewers::user_id.eq(user_id)),
        )
        .execute(conn)?;
        super::releases::drop_pending_reviews(conn, actor_id, workspace_id, user_id, reason)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "reviewer.removed",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: reason,
            },
        )?;
    }
    Ok(removed)
}

/// Activates or deactivates a user. Deactivation signs them out everywhere and takes them off
/// every reviewer list. Nobody deactivates themselves.
pub fn set_active(
    conn: &mut DbConn,
    actor_id: UserId,
    user_id: UserId,
    active: bool,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        require_tenant_admin(conn, actor_id)?;
        if actor_id == user_id && !active {
            return Err(AppError::conflict(
                "You cannot deactivate your own account.",
            ));
        }
        let changed = if active {
            diesel::update(
                users::table
                    .filter(users::id.eq(user_id))
                    .filter(users::is_active.eq(false)),
            )
            .set((users::is_active.eq(true), users::updated_at.eq(now())))
            .execute(conn)?
        } else {
            diesel::update(
                users::table
                    .filter(users::id.eq(user_id))
                    .filter(users::is_active.eq(true)),
            )
            .set((
                users::is_active.eq(false),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?
        };
        let user = find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if changed == 0 {
            let state = if active { "active" } else { "deactivated" };
            return Err(AppError::conflict(format!(
                "{} is already {state}.",
                user.username
            )));
        }
        if !active {
            drop_ineligible_reviewer_seats(conn, actor_id, user_id, "user deactivated")?;
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(actor_id),
                action: if active {
                    "user.activated"
                } else {
                    "user.deactivated"
                },
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(user)
    })
}

/// Grants or revokes tenant administration. Revoking takes the user off reviewer lists where
/// their workspace role alone does not allow reviewing. Nobody revokes their own.
pub fn set_tenant_admin(
    conn: &mut DbConn,
    actor_id: UserId,
    user_id: UserId,
    grant: bool,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        require_tenant_admin(conn, actor_id)?;
        if actor_id == user_id && !grant {
            return Err(AppError::conflict(
                "You cannot revoke your own tenant administration; ask another tenant administrator.",
            ));
        }
        let changed = diesel::update(
            users::table
                .filter(users::id.eq(user_id))
                .filter(users::is_tenant_admin.eq(!grant)),
        )
        .set((
            users::is_tenant_admin.eq(grant),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
        let user = find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if changed == 0 {
            return Err(AppError::conflict(format!(
                "{} {} a tenant administrator.",
                user.username,
                if grant { "is already" } else { "is not" }
            )));
        }
        if !grant {
            drop_ineligible_reviewer_seats(
                conn,
                actor_id,
                user_id,
                "tenant administration revoked",
            )?;
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(actor_id),
                action: if grant {
                    "user.tenant_admin_granted"
                } else {
                    "user.tenant_admin_revoked"
                },
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(user)
    })
}

/// Sets a new password hash and signs the user out everywhere. A tenant administrator may reset
/// anyone's; a user changes their own through `change_own_password`.
pub fn reset_password(
    conn: &mut DbConn,
    actor_id: UserId,
    user_id: UserId,
    new_hash: &str,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        require_tenant_admin(conn, actor_id)?;
        let changed = diesel::update(users::table.filter(users::id.eq(user_id)))
            .set((
                users::password_hash.eq(new_hash),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if changed == 0 {
            return Err(AppError::NotFound);
        }
        let user = find(conn, user_id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(actor_id),
                action: "user.password_reset",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(user)
    })
}

/// Replaces the caller's own password, guarded on the hash they proved they know, so two
/// concurrent changes cannot both win. Moves the session epoch: every other session ends.
pub fn change_own_password(
    conn: &mut DbConn,
    user_id: UserId,
    verified_old_hash: &str,
    new_hash: &str,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        let changed = diesel::update(
            users::table
                .filter(users::id.eq(user_id))
                .filter(users::is_active.eq(true))
                .filter(users::password_hash.eq(verified_old_hash)),
        )
        .set((
            users::password_hash.eq(new_hash),
            users::session_epoch.eq(users::session_epoch + 1),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::conflict(
                "Your password was changed elsewhere; sign in again.",
            ));
        }
        let user = find(conn, user_id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(user_id),
                action: "user.password_changed",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(user)
    })
}

/// Whether any user exists (the demo seeds only an empty database).
pub fn any(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)
}

/// Sets the address a user's notifications go to; empty means none (demo seeding, tests; the
/// Account page will validate what a person types).
pub fn set_email(conn: &mut DbConn, id: UserId, email: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((users::email.eq(email), users::updated_at.eq(now())))
        .execute(conn)?;
    Ok(())
}
