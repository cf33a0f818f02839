//! Workspaces, their members and roles, the reviewer list and the workspace settings.
//!
//! The reviewer rules of DESIGN.md live here: only deployers, admins and tenant administrators
//! can be put on the list, and every change that takes away that eligibility (a role change,
//! removal, deactivation, revoked tenant administration) takes the person off the list in the
//! same transaction and records it in the audit log.

use crate::domain::{PackageId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::users::{self, User};
use crate::db::schema::{memberships, users as users_t, workspace_reviewers, workspaces};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    ApprovalExpiry, ApprovalPolicy, Description, Permission, Quorum, Role, WorkspaceAccess,
    WorkspaceMode, WorkspaceName, WorkspaceSlug,
};
use crate::error::AppError;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub mode: WorkspaceMode,
    pub approval_policy: ApprovalPolicy,
    pub quorum: Quorum,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// How long a wait for approval may last (`ApprovalExpiry`); `None`: never expires.
    pub approval_expiry_seconds: Option<i32>,
}

// Getters for the templates, which call them.
impl Workspace {
    pub fn approval_expiry(&self) -> Option<ApprovalExpiry> {
        self.approval_expiry_seconds
            .and_then(|s| ApprovalExpiry::from_seconds(s.into()))
    }
    /// The setting for people: "7 days", or "never".
    pub fn approval_expiry_text(&self) -> String {
        self.approval_expiry()
            .map_or_else(|| "never".to_owned(), ApprovalExpiry::describe)
    }
    pub fn mode(&self) -> WorkspaceMode {
        self.mode
    }
    pub fn approval_policy(&self) -> ApprovalPolicy {
        self.approval_policy
    }
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }
}

/// A workspace in the list of "my workspaces".
#[derive(Debug)]
pub struct WorkspaceSummary {
    pub workspace: Workspace,
    pub role: Option<Role>,
    pub members: i64,
}

/// A member as the list pages' pickers need them (submitter and applicant filters, reviewer
/// and step-people choices): without the dates, which cost more to read than the rest of the
/// row (a profile of the Tasks tab with 200 members put a third of its time in loading them).
#[derive(Clone, Debug, Queryable)]
pub struct Person {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_tenant_admin: bool,
    pub is_active: bool,
    pub role: Role,
    /// Set when the person is on the workspace's reviewer list.
    reviewer: Option<UserId>,
}

impl Person {
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn is_reviewer(&self) -> bool {
        self.reviewer.is_some()
    }
    /// Whether the person may be put on the reviewer list now.
    pub fn may_review(&self) -> bool {
        self.is_active && (self.is_tenant_admin || self.role().may_review())
    }
}

/// A member as shown on the settings and overview pages: a `Person` with the dates.
#[derive(Clone, Debug, Queryable)]
pub struct Member {
    pub person: Person,
    pub since: NaiveDateTime,
    pub reviewer_since: Option<NaiveDateTime>,
}

impl std::ops::Deref for Member {
    type Target = Person;
    fn deref(&self) -> &Person {
        &self.person
    }
}

/// The new values of the settings form, already parsed.
pub struct SettingsUpdate {
    pub name: WorkspaceName,
    pub description: Description,
    pub mode: WorkspaceMode,
    pub approval_policy: ApprovalPolicy,
    pub quorum: Quorum,
    /// `None`: waits for approval never expire.
    pub approval_expiry: Option<ApprovalExpiry>,
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Workspace>> {
    workspaces::table
        .filter(workspaces::slug.eq(slug))
        .select(Workspace::as_select())
        .first(conn)
        .optional()
}

fn role_of(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Option<Role>> {
    memberships::table
        .find((workspace_id, user_id))
        .select(memberships::role)
        .first(conn)
        .optional()
}

/// The workspace named by `slug` and what `user` may do there. A workspace the user is not a
/// member of answers `NotFound`, exactly like one that does not exist.
pub fn access(
    conn: &mut DbConn,
    user: &User,
    slug: &str,
) -> Result<(Workspace, WorkspaceAccess), AppError> {
    // One statement (every workspace page asks): the workspace and the user's membership row.
    let (ws, role): (Workspace, Option<Role>) = workspaces::table
        .left_join(
            memberships::table.on(memberships::workspace_id
                .eq(workspaces::id)
                .and(memberships::user_id.eq(user.id))),
        )
        .filter(workspaces::slug.eq(slug))
        .select((Workspace::as_select(), memberships::role.nullable()))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let access = WorkspaceAccess {
        role,
        tenant_admin: user.is_tenant_admin,
    };
    if role.is_none() && !user.is_tenant_admin {
        return Err(AppError::NotFound);
    }
    Ok((ws, access))
}

/// Serialises changes to one workspace's members and reviewers. SQLite's `BEGIN IMMEDIATE`
/// already lets one writer in at a time; on PostgreSQL two transactions could otherwise each
/// see the other's admin or reviewer as still there (e.g. two admins demoting each other).
pub(crate) fn lock_workspace(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<()> {
    if let DbConn::Postgres(_) = conn {
        diesel::sql_query("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(workspace_id)
            .execute(conn)?;
    }
    Ok(())
}

/// What `user` may do in a workspace (nothing if neither a member nor a tenant administrator).
pub fn access_of(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user: &User,
) -> QueryResult<WorkspaceAccess> {
    Ok(WorkspaceAccess {
        role: role_of(conn, workspace_id, user.id)?,
        tenant_admin: user.is_tenant_admin,
    })
}

/// Locks the workspace, re-reads the actor inside the transaction and fails unless they hold
/// `permission` now. Returns the actor's access for rules that depend on it.
pub(crate) fn require(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    actor_id: UserId,
    permission: Permission,
) -> Result<WorkspaceAccess, AppError> {
    lock_workspace(conn, workspace_id)?;
    let actor = users::find(conn, actor_id)?
        .filter(|u| u.is_active)
        .ok_or(AppError::Unauthenticated)?;
    let access = WorkspaceAccess {
        role: role_of(conn, workspace_id, actor_id)?,
        tenant_admin: actor.is_tenant_admin,
    };
    if access.role.is_none() && !access.tenant_admin {
        return Err(AppError::NotFound);
    }
    if !access.can(permission) {
        return Err(AppError::forbidden(match permission {
            Permission::Manage => {
                "Only workspace admins and tenant administrators can change members, reviewers and settings."
            }
            Permission::Deploy => "Only deployers, admins and tenant administrators can do this.",
            Permission::Develop => {
                "Viewers cannot change scripts or releases; ask an admin for the developer role."
            }
            Permission::View => "You cannot see this workspace.",
        }));
    }
    Ok(access)
}

/// The workspace row, read inside a transaction.
pub(crate) fn get(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Workspace> {
    workspaces::table
        .find(workspace_id)
        .select(Workspace::as_select())
        .first(conn)
}

/// The slug and name of each workspace the user may open, by name: the switcher on every page,
/// in one statement (`list_for_user` also counts members, which the switcher does not show).
pub fn nav_for_user(conn: &mut DbConn, user: &User) -> QueryResult<Vec<(String, String)>> {
    if user.is_tenant_admin {
        workspaces::table
            .select((workspaces::slug, workspaces::name))
            .order(workspaces::name)
            .load(conn)
    } else {
        workspaces::table
            .inner_join(memberships::table)
            // Planned once for every viewer (`db::opaque`).
            .filter(memberships::user_id.eq(crate::db::opaque(user.id)))
            .select((workspaces::slug, workspaces::name))
            .order(workspaces::name)
            .load(conn)
    }
}

/// My workspaces with my role in each; a tenant administrator sees all of them.
pub fn list_for_user(conn: &mut DbConn, user: &User) -> QueryResult<Vec<WorkspaceSummary>> {
    let all: Vec<Workspace> = workspaces::table
        .select(Workspace::as_select())
        .order(workspaces::name)
        .load(conn)?;
    let mine: Vec<(WorkspaceId, Role)> = memberships::table
        .filter(memberships::user_id.eq(user.id))
        .select((memberships::workspace_id, memberships::role))
        .load(conn)?;
    let counts: Vec<(WorkspaceId, i64)> = memberships::table
        .group_by(memberships::workspace_id)
        .select((memberships::workspace_id, count_star()))
        .load(conn)?;
    Ok(all
        .into_iter()
        .filter_map(|ws| {
            let role = mine.iter().find(|(id, _)| *id == ws.id).map(|(_, r)| *r);
            if role.is_none() && !user.is_tenant_admin {
                return None;
            }
            let members = counts
                .iter()
                .find(|(id, _)| *id == ws.id)
                .map_or(0, |(_, n)| *n);
            Some(WorkspaceSummary {
                workspace: ws,
                role,
                members,
            })
        })
        .collect())
}

/// Creates a workspace (tenant administrators only), with `first_admin` as its admin if given.
pub fn create(
    conn: &mut DbConn,
    actor_id: Option<UserId>,
    slug: &WorkspaceSlug,
    name: &WorkspaceName,
    description: &Description,
    first_admin: Option<UserId>,
) -> Result<Workspace, AppError> {
    write_tx(conn, |conn| {
        if let Some(actor) = actor_id {
            users::require_tenant_admin(conn, actor)?;
        }
        let ts = now();
        let inserted = diesel::insert_into(workspaces::table)
            .values((
                workspaces::slug.eq(slug.as_str()),
                workspaces::name.eq(name.as_str()),
                workspaces::description.eq(description.as_str()),
                workspaces::mode.eq(WorkspaceMode::Enterprise),
                workspaces::approval_policy.eq(ApprovalPolicy::Developers),
                workspaces::quorum.eq(Quorum::Any),
                workspaces::created_at.eq(ts),
                workspaces::updated_at.eq(ts),
            ))
            .returning(workspaces::id)
            .get_result::<WorkspaceId>(conn);
        let id = match inserted {
            Ok(id) => id,
            Err(e) if super::is_unique_violation(&e) => {
                return Err(AppError::field(
                    "slug",
                    format!("A workspace with the slug “{}” exists.", slug.as_str()),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let ws = workspaces::table
            .find(id)
            .select(Workspace::as_select())
            .first(conn)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(id),
                actor_id,
                action: "workspace.created",
                target_type: "workspace",
                target_id: Some(id.get()),
                target_label: &ws.slug,
                comment: "",
            },
        )?;
        if let Some(admin) = first_admin {
            insert_member(conn, actor_id, &ws, admin, Role::Admin)?;
        }
        Ok(ws)
    })
}

fn insert_member(
    conn: &mut DbConn,
    actor_id: Option<UserId>,
    ws: &Workspace,
    user_id: UserId,
    role: Role,
) -> Result<(), AppError> {
    let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
    let ts = now();
    let inserted = diesel::insert_into(memberships::table)
        .values((
            memberships::workspace_id.eq(ws.id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role),
            memberships::created_at.eq(ts),
            memberships::updated_at.eq(ts),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {
            return Err(AppError::field(
                "username",
                format!("{} is already a member.", user.username),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(ws.id),
            actor_id,
            action: "member.added",
            target_type: "user",
            target_id: Some(user_id.get()),
            target_label: &user.username,
            comment: role.as_str(),
        },
    )?;
    Ok(())
}

/// Adds an existing, active user to the workspace with `role`.
pub fn add_member(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    username: &str,
    role: Role,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let ws = workspaces::table
            .find(workspace_id)
            .select(Workspace::as_select())
            .first(conn)?;
        let user = users::find_by_username(conn, username)?.ok_or_else(|| {
            AppError::field("username", format!("There is no user named “{username}”."))
        })?;
        if !user.is_active {
            return Err(AppError::field(
                "username",
                format!("{} is deactivated.", user.username),
            ));
        }
        insert_member(conn, Some(actor_id), &ws, user.id, role)
    })
}

fn admin_count_without(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(memberships::role.eq(Role::Admin))
        .filter(memberships::user_id.ne(user_id))
        .count()
        .get_result(conn)
}

/// What a role change did, for the message shown to the person who made it.
#[derive(Debug)]
pub struct RoleChange {
    pub username: String,
    pub from: Role,
    pub to: Role,
    /// The member lost their seat on the reviewer list because the new role cannot review.
    pub removed_from_reviewers: bool,
}

/// A role change that would take a member off packages waiting for their review, held back
/// until the admin confirms it.
#[derive(Debug)]
pub struct ReviewsAtStake {
    pub username: String,
    pub from: Role,
    pub to: Role,
    /// The packages (id, name) that would lose this reviewer.
    pub packages: Vec<(PackageId, String)>,
}

/// What `change_role` did.
#[derive(Debug)]
pub enum RoleOutcome {
    Changed(RoleChange),
    /// Nothing changed: say which reviews the change removes, and ask again with `confirmed`.
    Confirm(ReviewsAtStake),
}

/// Changes a member's role. The update is guarded on the role the admin saw (`expected`), so
/// two admins changing the same member at once yield one change and one clear message. A role
/// that cannot review, given to someone packages wait for, changes only when `confirmed`.
pub fn change_role(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    user_id: UserId,
    expected: Option<Role>,
    to: Role,
    confirmed: bool,
) -> Result<RoleOutcome, AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        let from = role_of(conn, workspace_id, user_id)?.ok_or(AppError::NotFound)?;
        if let Some(expected) = expected
            && expected != from
        {
            return Err(AppError::conflict(format!(
                "{}'s role was changed to {} by someone else meanwhile; nothing was changed.",
                user.username, from
            )));
        }
        if from == to {
            return Err(AppError::conflict(format!(
                "{} is already {}.",
                user.username, to
            )));
        }
        if from == Role::Admin && admin_count_without(conn, workspace_id, user_id)? == 0 {
            return Err(AppError::conflict(
                "A workspace keeps at least one admin: make someone else admin first.",
            ));
        }
        if !confirmed && !to.may_review() && !user.is_tenant_admin {
            let packages = super::releases::pending_reviews_of(conn, workspace_id, user_id)?;
            if !packages.is_empty() {
                return Ok(RoleOutcome::Confirm(ReviewsAtStake {
                    username: user.username,
                    from,
                    to,
                    packages,
                }));
            }
        }
        let changed = diesel::update(
            memberships::table
                .filter(memberships::workspace_id.eq(workspace_id))
                .filter(memberships::user_id.eq(user_id))
                .filter(memberships::role.eq(from)),
        )
        .set((memberships::role.eq(to), memberships::updated_at.eq(now())))
        .execute(conn)?;
        if changed != 1 {
            // Another transaction changed the role between our read and this guarded update.
            return Err(AppError::conflict(format!(
                "{}'s role was changed by someone else meanwhile; nothing was changed.",
                user.username
            )));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "member.role_changed",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: &format!("{} → {}", from.as_str(), to.as_str()),
            },
        )?;
        let removed = users::drop_ineligible_reviewer_seats(
            conn,
            actor_id,
            user_id,
            &format!("role changed to {}", to.as_str()),
        )?;
        Ok(RoleOutcome::Changed(RoleChange {
            username: user.username,
            from,
            to,
            removed_from_reviewers: removed > 0,
        }))
    })
}

/// Removes a member (and with them their reviewer seat, by the foreign key).
pub fn remove_member(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        let role = role_of(conn, workspace_id, user_id)?.ok_or_else(|| {
            AppError::conflict(format!("{} is not a member any more.", user.username))
        })?;
        if role == Role::Admin && admin_count_without(conn, workspace_id, user_id)? == 0 {
            return Err(AppError::conflict(
                "A workspace keeps at least one admin: make someone else admin first.",
            ));
        }
        let was_reviewer = diesel::delete(
            workspace_reviewers::table
                .filter(workspace_reviewers::workspace_id.eq(workspace_id))
                .filter(workspace_reviewers::user_id.eq(user_id)),
        )
        .execute(conn)?
            > 0;
        let removed =
            diesel::delete(memberships::table.find((workspace_id, user_id))).execute(conn)?;
        if removed != 1 {
            return Err(AppError::conflict(format!(
                "{} is not a member any more.",
                user.username
            )));
        }
        if was_reviewer {
            super::releases::drop_pending_reviews(
                conn,
                actor_id,
                workspace_id,
                user_id,
                "removed from the workspace",
            )?;
        }
        if was_reviewer {
            audit::record(
                conn,
                AuditEntry {
                    workspace_id: Some(workspace_id),
                    actor_id: Some(actor_id),
                    action: "reviewer.removed",
                    target_type: "user",
                    target_id: Some(user_id.get()),
                    target_label: &user.username,
                    comment: "removed from the workspace",
                },
            )?;
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "member.removed",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: role.as_str(),
            },
        )?;
        Ok(user.username)
    })
}

/// A workspace's memberships joined to their users and reviewer seats, by username; the
/// caller picks the columns.
macro_rules! memberships_of {
    ($workspace_id:expr) => {
        memberships::table
            .inner_join(users_t::table)
            .left_join(
                workspace_reviewers::table.on(workspace_reviewers::workspace_id
                    .eq(memberships::workspace_id)
                    .and(workspace_reviewers::user_id.eq(memberships::user_id))),
            )
            .filter(memberships::workspace_id.eq($workspace_id))
    };
}

/// The columns of a `Person`, for `memberships_of!`.
macro_rules! person_columns {
    () => {
        (
            users_t::id,
            users_t::username,
            users_t::display_name,
            users_t::is_tenant_admin,
            users_t::is_active,
            memberships::role,
            workspace_reviewers::user_id.nullable(),
        )
    };
}

/// Members with their role, reviewer seat and dates, by username.
///
/// Sorted here rather than by ORDER BY (for `people` too): PostgreSQL's sort of the members'
/// names under the database collation was a large share of the statement on every Tasks and
/// Packages page (docs/BENCHMARKS.md, "The search machinery"), and usernames are lower case, so byte order is the
/// order on both backends.
pub fn members(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<Member>> {
    memberships_of!(workspace_id)
        .select((
            person_columns!(),
            memberships::created_at,
            workspace_reviewers::added_at.nullable(),
        ))
        .load(conn)
        .map(|rows: Vec<Member>| by_username(rows, |m| &m.person.username))
}

/// The workspace's members for the pickers, by username (`Person`: no dates).
pub fn people(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<Person>> {
    memberships_of!(workspace_id)
        .select(person_columns!())
        .load(conn)
        .map(|rows: Vec<Person>| by_username(rows, |p| &p.username))
}

/// `rows` in byte order of their usernames (see `members`).
fn by_username<T>(mut rows: Vec<T>, username: impl Fn(&T) -> &str) -> Vec<T> {
    rows.sort_unstable_by(|a, b| username(a).cmp(username(b)));
    rows
}

/// Puts a member on the reviewer list. Only active deployers, admins and tenant administrators
/// are eligible; anyone else is refused with the reason.
pub fn add_reviewer(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        let role = role_of(conn, workspace_id, user_id)?.ok_or_else(|| {
            AppError::field(
                "reviewer",
                format!("{} is not a member of this workspace.", user.username),
            )
        })?;
        if !user.is_active {
            return Err(AppError::field(
                "reviewer",
                format!("{} is deactivated.", user.username),
            ));
        }
        if !(user.is_tenant_admin || role.may_review()) {
            return Err(AppError::field(
                "reviewer",
                format!(
                    "{} is a {}; only deployers, admins and tenant administrators can review.",
                    user.username,
                    role.as_str()
                ),
            ));
        }
        let inserted = diesel::insert_into(workspace_reviewers::table)
            .values((
                workspace_reviewers::workspace_id.eq(workspace_id),
                workspace_reviewers::user_id.eq(user_id),
                workspace_reviewers::added_by.eq(Some(actor_id)),
                workspace_reviewers::added_at.eq(now()),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(e) if super::is_unique_violation(&e) => {
                return Err(AppError::field(
                    "reviewer",
                    format!("{} is already a reviewer.", user.username),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "reviewer.added",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "",
            },
        )?;
        Ok(user.username)
    })
}

pub fn remove_reviewer(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        let removed = diesel::delete(
            workspace_reviewers::table
                .filter(workspace_reviewers::workspace_id.eq(workspace_id))
                .filter(workspace_reviewers::user_id.eq(user_id)),
        )
        .execute(conn)?;
        if removed == 0 {
            return Err(AppError::conflict(format!(
                "{} is not a reviewer any more.",
                user.username
            )));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "reviewer.removed",
                target_type: "user",
                target_id: Some(user_id.get()),
                target_label: &user.username,
                comment: "removed by an admin",
            },
        )?;
        Ok(user.username)
    })
}

/// Whether `user_id` may review in this workspace *now*: active, on the list, and a deployer,
/// admin or tenant administrator. Release and review transactions call this before acting.
pub fn is_eligible_reviewer(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<bool> {
    let row: Option<(bool, bool, Role)> = workspace_reviewers::table
        .inner_join(users_t::table)
        .inner_join(
            memberships::table.on(memberships::workspace_id
                .eq(workspace_reviewers::workspace_id)
                .and(memberships::user_id.eq(workspace_reviewers::user_id))),
        )
        .filter(workspace_reviewers::workspace_id.eq(workspace_id))
        .filter(workspace_reviewers::user_id.eq(user_id))
        .select((
            users_t::is_active,
            users_t::is_tenant_admin,
            memberships::role,
        ))
        .first(conn)
        .optional()?;
    Ok(row.is_some_and(|(active, tenant, role)| active && (tenant || role.may_review())))
}

/// Saves name, description, mode, approval policy, quorum and approval expiry. A new expiry
/// applies to waits that begin from now on: deadlines already set stay as they are.
pub fn update_settings(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    update: &SettingsUpdate,
) -> Result<Workspace, AppError> {
    write_tx(conn, |conn| {
        require(conn, workspace_id, actor_id, Permission::Manage)?;
        let before = workspaces::table
            .find(workspace_id)
            .select(Workspace::as_select())
            .first(conn)?;
        diesel::update(workspaces::table.find(workspace_id))
            .set((
                workspaces::name.eq(update.name.as_str()),
                workspaces::description.eq(update.description.as_str()),
                workspaces::mode.eq(update.mode),
                workspaces::approval_policy.eq(update.approval_policy),
                workspaces::quorum.eq(update.quorum),
                workspaces::approval_expiry_seconds
                    .eq(update.approval_expiry.map(ApprovalExpiry::seconds)),
                workspaces::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let after = workspaces::table
            .find(workspace_id)
            .select(Workspace::as_select())
            .first(conn)?;
        let mut changes = Vec::new();
        for (what, old, new) in [
            ("name", before.name.as_str(), after.name.as_str()),
            ("mode", before.mode.as_str(), after.mode.as_str()),
            (
                "approval policy",
                before.approval_policy.as_str(),
                after.approval_policy.as_str(),
            ),
            ("quorum", before.quorum.as_str(), after.quorum.as_str()),
        ] {
            if old != new {
                changes.push(format!("{what}: {old} → {new}"));
            }
        }
        if before.description != after.description {
            changes.push("description changed".into());
        }
        if before.approval_expiry() != after.approval_expiry() {
            changes.push(format!(
                "approval expiry: {} → {}",
                before.approval_expiry_text(),
                after.approval_expiry_text()
            ));
        }
        if !changes.is_empty() {
            audit::record(
                conn,
                AuditEntry {
                    workspace_id: Some(workspace_id),
                    actor_id: Some(actor_id),
                    action: "workspace.settings_changed",
                    target_type: "workspace",
                    target_id: Some(workspace_id.get()),
                    target_label: &after.slug,
                    comment: &changes.join("; "),
                },
            )?;
        }
        Ok(after)
    })
}
