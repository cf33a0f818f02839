//! Release tasks and release packages: listing, releasing (with or without approval), revoking,
//! reviewing, and (`applying`) the release job's steps the worker runs. Every transition is a
//! guarded update inside `write_tx`, with the reviewer rules checked in the same transaction:
//! a reviewer is chosen from the workspace's eligible reviewers, is never the applicant (also a
//! CHECK constraint on `package_reviewers`), and must still be eligible when they decide.
//!
//! Every state change of Task Release, and the function that makes it:
//!
//! | what                       | from                          | to                                  | by |
//! |----------------------------|-------------------------------|-------------------------------------|----|
//! | package                    | (new)                         | `pending_approval` or `releasing`   | `release` (`releasing` enqueues the job) |
//! | package                    | `pending_approval`            | `releasing`                         | `decide` (approve; under quorum `all` the last), `drop_pending_reviews` (the reviewers left all approved) |
//! | package                    | `pending_approval`            | `rejected`                          | `decide` (reject) |
//! | package                    | `pending_approval`            | `revoked`                           | `withdraw_package`; `withdraw` when its last task goes |
//! | package                    | `releasing`                   | `released`, `partially_failed`, `failed` | `finish_package`, `give_up` |
//! | task                       | (new)                         | `pending`                           | `scripts::submit_in_tx` |
//! | task                       | `pending`, `rejected`         | `in_review` or `releasing`          | `release` |
//! | task                       | `in_review`                   | `releasing`                         | `decide`, `drop_pending_reviews` |
//! | task                       | `in_review`                   | `rejected`                          | `decide` (reject) |
//! | task                       | `in_review`                   | `pending`                           | `withdraw_package` |
//! | task                       | `pending`, `rejected`, `in_review` | `revoked` / `superseded`       | `revoke` / a newer version (`withdraw`) |
//! | task                       | `releasing`                   | `released` or `failed`              | `release_next_task`; `give_up` (failed) |
//! | package task               | (new)                         | `waiting`                           | `release` |
//! | package task               | `waiting`                     | `released` or `failed`              | `release_next_task`; `give_up` (failed) |
//! | package task               | `waiting`                     | `withdrawn`                         | `withdraw`, `decide` (reject), `withdraw_package` |
//! | reviewer's decision        | none                          | `approved` or `rejected`            | `decide`; the row goes in `drop_pending_reviews` |

use crate::domain::{PackageId, TaskId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::dsl::{IntoBoxed, count_star};
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::notifications::{self, Event, NotificationKind, Subject};
use super::{jobs, workspaces};
use crate::db::batch::BatchInsert;
use crate::db::count;
use crate::db::schema::{package_reviewers, package_tasks, release_packages, release_tasks, users};
use crate::db::{Const, DbConn, MultiBackend, now, sql, write_tx};
use crate::domain::{
    ApprovalPolicy, Comment, PackageName, PackageStatus, Permission, Quorum, ReleaseStatus, Role,
    StartupStatus, TaskStatus, WorkspaceAccess,
};
use crate::error::AppError;
use crate::search::{self, Listing, NameMatch, NameSearch, Names, Order};

mod applying;
pub use applying::{Next, finish_package, give_up, release_next_task};

/// The most tasks one package may hold.
pub const MAX_TASKS_PER_PACKAGE: usize = 100;

/// A release task as the Tasks tab shows it.
#[derive(Clone, Debug, Queryable)]
pub struct TaskRow {
    pub id: TaskId,
    pub script_id: i64,
    pub name: String,
    pub version_number: i32,
    pub status: TaskStatus,
    pub submitted_by_id: Option<UserId>,
    pub submitted_by: Option<String>,
    pub submitted_at: NaiveDateTime,
    pub package_id: Option<PackageId>,
    pub status_reason: String,
}

impl TaskRow {
    pub fn status(&self) -> TaskStatus {
        self.status
    }
}

/// Sort orders of the Tasks tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskSort {
    SubmittedAt,
    Name,
    Status,
    /// Newest first (submitted, then id), even with a search: the order a cursor pages in
    /// (the API), stable while tasks are added. The Tasks tab's default order, so the same
    /// index (`workspace_id, submitted_at`) serves it.
    Newest,
}

impl TaskSort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "submitted_at" => Some(TaskSort::SubmittedAt),
            "name" => Some(TaskSort::Name),
            "status" => Some(TaskSort::Status),
            "newest" => Some(TaskSort::Newest),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSort::SubmittedAt => "submitted_at",
            TaskSort::Name => "name",
            TaskSort::Status => "status",
            TaskSort::Newest => "newest",
        }
    }
}

/// A task's place in `TaskSort::Newest`'s order: a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskKey {
    pub submitted_at: NaiveDateTime,
    pub id: TaskId,
}

/// Filters of the Tasks tab; `search` is the fuzzy name search (`crate::search`).
#[derive(Clone, Debug)]
pub struct TaskFilter {
    pub search: Option<NameSearch>,
    pub submitter: Option<String>,
    pub status: Option<TaskStatus>,
    pub sort: TaskSort,
    pub descending: bool,
    /// Only tasks after this one in `TaskSort::Newest`'s order (submitted earlier, or at the
    /// same time with a smaller id): its cursor.
    pub before: Option<TaskKey>,
}

fn task_select() -> (
    release_tasks::id,
    release_tasks::script_id,
    release_tasks::name,
    release_tasks::version_number,
    release_tasks::status,
    release_tasks::submitted_by,
    diesel::dsl::Nullable<users::username>,
    release_tasks::submitted_at,
    release_tasks::package_id,
    release_tasks::status_reason,
) {
    (
        release_tasks::id,
        release_tasks::script_id,
        release_tasks::name,
        release_tasks::version_number,
        release_tasks::status,
        release_tasks::submitted_by,
        users::username.nullable(),
        release_tasks::submitted_at,
        release_tasks::package_id,
        release_tasks::status_reason,
    )
}

/// One page of tasks and the total matching the filter. With a search and the default sort
/// (newest first), the page is ordered by relevance: the search's tier, then newest first; when
/// no name contains every word, by the typo-tolerant score (see `crate::search`).
pub fn list_tasks(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    filter: &TaskFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<TaskRow>, i64)> {
    // The submitter's id first, so the count needs no join and the index
    // (workspace_id, submitted_by, submitted_at) serves the filter.
    let submitter = match &filter.submitter {
        None => None,
        Some(name) => match users::table
            .filter(users::username.eq(name))
            .select(users::id)
            .first::<i64>(conn)
            .optional()?
        {
            Some(id) => Some(id),
            None => return Ok((Vec::new(), 0)),
        },
    };
    let list = TaskList {
        workspace_id,
        submitter,
        filter,
    };
    search::page(conn, &list, filter.search.as_ref(), limit, offset)
}

/// The searchable name of release tasks (`search`): `release_tasks_fts` on SQLite, the
/// trigram index on `lower_name` on PostgreSQL.
pub const TASK_NAMES: Names = search::names!(release_tasks.name, lower_name);

/// Release tasks with their submitter, the Tasks tab's source.
#[diesel::dsl::auto_type]
fn tasks_with_submitter() -> _ {
    release_tasks::table
        .left_join(users::table.on(users::id.nullable().eq(release_tasks::submitted_by)))
}

/// The Tasks tab as a `search::Listing`: a workspace's tasks under a `TaskFilter`.
struct TaskList<'a> {
    workspace_id: WorkspaceId,
    /// The submitter filter's user id, looked up first.
    submitter: Option<i64>,
    filter: &'a TaskFilter,
}

impl TaskList<'_> {
    fn query(&self, names: Option<NameMatch>) -> IntoBoxed<'_, tasks_with_submitter, MultiBackend> {
        let mut q = tasks_with_submitter()
            .into_boxed()
            .filter(release_tasks::workspace_id.eq(self.workspace_id));
        if let Some(m) = names {
            q = q.filter(m);
        }
        if let Some(id) = self.submitter {
            q = q.filter(release_tasks::submitted_by.eq(id));
        }
        if let Some(status) = self.filter.status {
            q = q.filter(release_tasks::status.eq(status));
        }
        if let Some(k) = self.filter.before {
            // `submitted_at <= t` alone bounds the index range; the rest drops the rows of
            // time `t` already given (as `audit::page_after`).
            q = q.filter(
                release_tasks::submitted_at.le(k.submitted_at).and(
                    release_tasks::submitted_at
                        .lt(k.submitted_at)
                        .or(release_tasks::id.lt(k.id)),
                ),
            );
        }
        q
    }
}

impl Listing for TaskList<'_> {
    type Row = TaskRow;

    fn names(&self) -> Names {
        TASK_NAMES
    }

    fn by_relevance(&self) -> bool {
        self.filter.sort == TaskSort::SubmittedAt && self.filter.descending
    }

    fn count(&self, conn: &mut DbConn, names: Option<NameMatch>, cap: i64) -> QueryResult<i64> {
        count::capped(conn, self.query(names).select(release_tasks::id).limit(cap))
    }

    fn rows(
        &self,
        conn: &mut DbConn,
        names: Option<NameMatch>,
        order: Order,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<TaskRow>> {
        let q = self.query(names).select(task_select());
        let q = match order {
            Order::Relevance(tier) => q.order((tier.asc(), release_tasks::id.desc())),
            Order::Newest => q.order(release_tasks::id.desc()),
            Order::Listed => match (self.filter.sort, self.filter.descending) {
                (TaskSort::SubmittedAt, true) => {
                    q.order((release_tasks::submitted_at.desc(), release_tasks::id.desc()))
                }
                (TaskSort::SubmittedAt, false) => {
                    q.order((release_tasks::submitted_at.asc(), release_tasks::id.asc()))
                }
                (TaskSort::Name, true) => q.order((
                    release_tasks::name.desc(),
                    release_tasks::version_number.desc(),
                )),
                (TaskSort::Name, false) => q.order((
                    release_tasks::name.asc(),
                    release_tasks::version_number.desc(),
                )),
                (TaskSort::Status, true) => {
                    q.order((release_tasks::status.desc(), release_tasks::id.desc()))
                }
                (TaskSort::Status, false) => {
                    q.order((release_tasks::status.asc(), release_tasks::id.desc()))
                }
                (TaskSort::Newest, _) => {
                    q.order((release_tasks::submitted_at.desc(), release_tasks::id.desc()))
                }
            },
        };
        q.limit(limit).offset(offset).load(conn)
    }

    fn name_of(row: &TaskRow) -> &str {
        &row.name
    }
}

pub fn find_task(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: TaskId,
) -> QueryResult<Option<TaskRow>> {
    release_tasks::table
        .left_join(users::table.on(users::id.nullable().eq(release_tasks::submitted_by)))
        .filter(release_tasks::workspace_id.eq(workspace_id))
        .filter(release_tasks::id.eq(id))
        .select(task_select())
        .first(conn)
        .optional()
}

/// Withdraws tasks (status `to`: revoked or superseded) that are still withdrawable, taking
/// them out of a pending package; a package left with no task is revoked. Returns how many
/// tasks changed. Call inside a write transaction.
pub(crate) fn withdraw(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_ids: &[TaskId],
    to: TaskStatus,
    reason: &str,
) -> Result<usize, AppError> {
    if task_ids.is_empty() {
        return Ok(0);
    }
    let in_packages: Vec<(TaskId, PackageId)> = release_tasks::table
        .filter(release_tasks::id.eq_any(task_ids))
        .filter(release_tasks::status.eq(TaskStatus::InReview))
        .filter(release_tasks::package_id.is_not_null())
        .select((
            release_tasks::id,
            release_tasks::package_id.assume_not_null(),
        ))
        .load(conn)?;
    let changed = diesel::update(
        release_tasks::table
            .filter(release_tasks::workspace_id.eq(workspace_id))
            .filter(release_tasks::id.eq_any(task_ids))
            .filter(release_tasks::status.eq_any(TaskStatus::WITHDRAWABLE)),
    )
    .set((
        release_tasks::status.eq(to),
        release_tasks::status_reason.eq(reason),
        release_tasks::updated_at.eq(now()),
    ))
    .execute(conn)?;
    let mut packages: Vec<PackageId> = in_packages.iter().map(|(_, p)| *p).collect();
    packages.sort_unstable();
    packages.dedup();
    for (task_id, package_id) in &in_packages {
        diesel::update(package_tasks::table.find((package_id, task_id)))
            .set((
                package_tasks::release_status.eq(ReleaseStatus::Withdrawn),
                package_tasks::message.eq(reason),
            ))
            .execute(conn)?;
        // `task_count` counts the tasks the package will release.
        diesel::update(release_packages::table.find(package_id))
            .set(release_packages::task_count.eq(release_packages::task_count - 1))
            .execute(conn)?;
    }
    for package_id in packages {
        let left: i32 = release_packages::table
            .find(package_id)
            .select(release_packages::task_count)
            .first(conn)?;
        if left == 0 {
            let revoked = diesel::update(
                release_packages::table
                    .find(package_id)
                    .filter(release_packages::status.eq(PackageStatus::PendingApproval)),
            )
            .set(release_packages::status.eq(PackageStatus::Revoked))
            .execute(conn)?;
            if revoked == 1 {
                let name: String = release_packages::table
                    .find(package_id)
                    .select(release_packages::name)
                    .first(conn)?;
                audit::record(
                    conn,
                    AuditEntry {
                        workspace_id: Some(workspace_id),
                        actor_id: Some(actor_id),
                        action: "package.revoked",
                        target_type: "package",
                        target_id: Some(package_id.get()),
                        target_label: &name,
                        comment: "all of its tasks were withdrawn",
                    },
                )?;
            }
        }
    }
    Ok(changed)
}

/// Revokes tasks not yet released: developers their own, deployers and admins any.
pub fn revoke(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_ids: &[TaskId],
) -> Result<usize, AppError> {
    check_count(task_ids)?;
    write_tx(conn, |conn| {
        let access = workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let tasks: Vec<(TaskId, String, i32, TaskStatus, Option<UserId>)> = release_tasks::table
            .filter(release_tasks::workspace_id.eq(workspace_id))
            .filter(release_tasks::id.eq_any(task_ids))
            .select((
                release_tasks::id,
                release_tasks::name,
                release_tasks::version_number,
                release_tasks::status,
                release_tasks::submitted_by,
            ))
            .load(conn)?;
        if tasks.len() != task_ids.len() {
            return Err(AppError::NotFound);
        }
        for (_, name, v, status, submitter) in &tasks {
            if !status.can_revoke() {
                return Err(AppError::conflict(format!(
                    "{name} v{v} is {} and can no longer be revoked; nothing was revoked.",
                    status.label().to_lowercase()
                )));
            }
            if !access.can(Permission::Deploy) && *submitter != Some(actor_id) {
                return Err(AppError::forbidden(format!(
                    "{name} v{v} was submitted by someone else: developers revoke only their own tasks."
                )));
            }
        }
        let n = withdraw(
            conn,
            actor_id,
            workspace_id,
            task_ids,
            TaskStatus::Revoked,
            "revoked",
        )?;
        if n != task_ids.len() {
            return Err(AppError::conflict(
                "Some tasks changed meanwhile; nothing was revoked.",
            ));
        }
        for (id, name, v, _, _) in &tasks {
            audit::record(
                conn,
                AuditEntry {
                    workspace_id: Some(workspace_id),
                    actor_id: Some(actor_id),
                    action: "task.revoked",
                    target_type: "task",
                    target_id: Some(id.get()),
                    target_label: &format!("{name} v{v}"),
                    comment: "",
                },
            )?;
        }
        Ok(n)
    })
}

fn check_count(task_ids: &[TaskId]) -> Result<(), AppError> {
    if task_ids.is_empty() {
        return Err(AppError::bad_request("Select at least one task."));
    }
    if task_ids.len() > MAX_TASKS_PER_PACKAGE {
        return Err(AppError::bad_request(format!(
            "{} tasks are selected; at most {MAX_TASKS_PER_PACKAGE} can be released or revoked at a time.",
            task_ids.len()
        )));
    }
    Ok(())
}

/// Whether a release by someone with `access` needs approval under the workspace's policy.
pub fn needs_approval(policy: ApprovalPolicy, access: &WorkspaceAccess) -> bool {
    match policy {
        ApprovalPolicy::Everyone => true,
        // Deployers, admins and tenant administrators release directly.
        ApprovalPolicy::Developers => {
            !(access.tenant_admin || access.role.is_some_and(|r| r >= Role::Deployer))
        }
    }
}

/// What the Release dialog sends.
pub struct ReleaseRequest {
    pub task_ids: Vec<TaskId>,
    pub name: PackageName,
    pub comment: Comment,
    pub reviewers: Vec<UserId>,
}

/// What releasing did.
#[derive(Debug)]
pub struct Released {
    pub package_id: PackageId,
    pub name: String,
    pub needs_approval: bool,
}

/// Creates a package of up to 100 pending or rejected tasks. With approval it waits for the
/// chosen reviewers; without, its release job is enqueued in the same transaction.
pub fn release(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    req: &ReleaseRequest,
) -> Result<Released, AppError> {
    check_count(&req.task_ids)?;
    let mut ids = req.task_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    write_tx(conn, |conn| {
        let access = workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let ws = workspaces::get(conn, workspace_id)?;
        let approval = needs_approval(ws.approval_policy(), &access);
        let mut reviewers = req.reviewers.clone();
        reviewers.sort_unstable();
        reviewers.dedup();
        if approval {
            if reviewers.is_empty() {
                return Err(AppError::field(
                    "reviewers",
                    "Choose at least one reviewer: this release needs approval.",
                ));
            }
            if reviewers.contains(&actor_id) {
                return Err(AppError::field(
                    "reviewers",
                    "You cannot review your own release; choose someone else.",
                ));
            }
            for r in &reviewers {
                if !workspaces::is_eligible_reviewer(conn, workspace_id, *r)? {
                    let who = super::users::find(conn, *r)?
                        .map_or_else(|| format!("user {r}"), |u| u.username);
                    return Err(AppError::field(
                        "reviewers",
                        format!(
                            "{who} is not on this workspace's reviewer list (or lost the role to review)."
                        ),
                    ));
                }
            }
        }
        let tasks: Vec<(TaskId, String, i32, TaskStatus, i64)> = release_tasks::table
            .filter(release_tasks::workspace_id.eq(workspace_id))
            .filter(release_tasks::id.eq_any(&ids))
            .select((
                release_tasks::id,
                release_tasks::name,
                release_tasks::version_number,
                release_tasks::status,
                release_tasks::script_id,
            ))
            .order((release_tasks::name, release_tasks::version_number))
            .load(conn)?;
        if tasks.len() != ids.len() {
            return Err(AppError::NotFound);
        }
        if let Some((_, name, v, status, _)) = tasks.iter().find(|t| !t.3.can_release()) {
            return Err(AppError::conflict(format!(
                "{name} v{v} is {} and cannot be released now; nothing was released.",
                status.label().to_lowercase()
            )));
        }
        let ts = now();
        let status = if approval {
            PackageStatus::PendingApproval
        } else {
            PackageStatus::Releasing
        };
        let name = if req.name.is_empty() {
            let who = super::users::find(conn, actor_id)?.map_or_else(String::new, |u| u.username);
            format!("{who}-{}", ts.format("%Y%m%d-%H%M%S"))
        } else {
            req.name.as_str().to_owned()
        };
        let package_id = diesel::insert_into(release_packages::table)
            .values((
                release_packages::workspace_id.eq(workspace_id),
                release_packages::name.eq(&name),
                release_packages::applicant_id.eq(actor_id),
                release_packages::comment.eq(req.comment.as_str()),
                release_packages::status.eq(status),
                release_packages::needs_approval.eq(approval),
                release_packages::quorum.eq(ws.quorum),
                release_packages::applied_at.eq(ts),
                release_packages::task_count.eq(tasks.len() as i32),
                release_packages::released_by.eq((!approval).then_some(actor_id)),
                release_packages::release_started_at.eq((!approval).then_some(ts)),
            ))
            .returning(release_packages::id)
            .get_result::<PackageId>(conn)?;
        let task_status = if approval {
            TaskStatus::InReview
        } else {
            TaskStatus::Releasing
        };
        let moved = diesel::update(
            release_tasks::table
                .filter(release_tasks::id.eq_any(&ids))
                .filter(release_tasks::status.eq_any(TaskStatus::RELEASABLE)),
        )
        .set((
            release_tasks::status.eq(task_status),
            release_tasks::package_id.eq(Some(package_id)),
            release_tasks::status_reason.eq(""),
            release_tasks::updated_at.eq(ts),
        ))
        .execute(conn)?;
        if moved != ids.len() {
            return Err(AppError::conflict(
                "Some tasks changed meanwhile; nothing was released.",
            ));
        }
        // One statement for up to 100 rows, not a round trip each inside the write
        // transaction.
        let mut rows = BatchInsert::new(
            "package_tasks",
            &["package_id", "task_id", "script_id", "position"],
        );
        for (position, (task_id, .., script_id)) in tasks.iter().enumerate() {
            rows.push(
                conn,
                vec![
                    package_id.get().into(),
                    task_id.get().into(),
                    (*script_id).into(),
                    (position as i32).into(),
                ],
            )?;
        }
        rows.flush(conn)?;
        for r in &reviewers {
            if !approval {
                break;
            }
            diesel::insert_into(package_reviewers::table)
                .values((
                    package_reviewers::package_id.eq(package_id),
                    package_reviewers::applicant_id.eq(actor_id),
                    package_reviewers::reviewer_id.eq(r),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: if approval {
                    "package.submitted_for_approval"
                } else {
                    "package.released_directly"
                },
                target_type: "package",
                target_id: Some(package_id.get()),
                target_label: &name,
                comment: &format!(
                    "{}{}",
                    crate::domain::count(tasks.len() as i64, "task", "tasks"),
                    if req.comment.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", req.comment.as_str())
                    }
                ),
            },
        )?;
        if approval {
            notifications::raise(
                conn,
                Event {
                    kind: NotificationKind::ReviewRequested,
                    workspace_id,
                    subject: Subject::Package(package_id),
                    actor: Some(actor_id),
                },
                &reviewers,
            )?;
        } else {
            jobs::enqueue(conn, jobs::RELEASE_PACKAGE, &package_id.to_string())?;
        }
        Ok(Released {
            package_id,
            name,
            needs_approval: approval,
        })
    })
}

crate::domain::text_enum!(
    /// A reviewer's decision, stored in `package_reviewers.decision`.
    Decision {
        Approve = "approved": "Approved",
        Reject = "rejected": "Rejected",
    }
);

/// What a decision did to the package.
#[derive(Debug)]
pub struct Decided {
    pub package_name: String,
    pub status: PackageStatus,
    /// Approvals still missing under quorum `all`.
    pub waiting_for: usize,
}

/// Nothing of a package that will not be released (rejected, withdrawn) goes out: its rows
/// that still wait are marked withdrawn, with `why`. Call inside the transaction that stops it.
fn stop_waiting(conn: &mut DbConn, package_id: PackageId, why: &str) -> QueryResult<usize> {
    diesel::update(
        package_tasks::table
            .filter(package_tasks::package_id.eq(package_id))
            .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting)),
    )
    .set((
        package_tasks::release_status.eq(ReleaseStatus::Withdrawn),
        package_tasks::message.eq(why),
    ))
    .execute(conn)
}

/// Who may decide a package now: a reviewer named on it who has not decided yet, is not its
/// applicant and is still an eligible reviewer of the workspace, while it waits for review.
/// The one statement of the rule: `decide` checks it inside its transaction and the package page
/// asks it whether to offer Approve/Reject. `Err` is the refusal `decide` answers.
pub fn may_decide(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    package: &PackageRow,
    reviewers: &[ReviewerRow],
    actor_id: UserId,
) -> Result<(), AppError> {
    if package.applicant_id == actor_id {
        return Err(AppError::forbidden(
            "You applied for this release: someone else must review it.",
        ));
    }
    let Some(seat) = reviewers.iter().find(|r| r.reviewer_id == actor_id) else {
        return Err(AppError::forbidden(
            "You are not a reviewer of this package.",
        ));
    };
    if package.status() != PackageStatus::PendingApproval {
        return Err(AppError::conflict(format!(
            "This package is already {}{}; your decision was not recorded.",
            package.status().label().to_lowercase(),
            package
                .decided_by_name
                .as_deref()
                .map(|n| format!(" (by {n})"))
                .unwrap_or_default()
        )));
    }
    if !workspaces::is_eligible_reviewer(conn, workspace_id, actor_id)? {
        return Err(AppError::forbidden(
            "You are no longer on this workspace's reviewer list (or lost the role to review).",
        ));
    }
    if seat.decision.is_some() {
        return Err(AppError::conflict("You already decided on this package."));
    }
    Ok(())
}

/// Approves or rejects a pending package as one of its chosen reviewers. Rejecting needs a
/// comment. Under quorum `any` the first approval releases it; under `all` the last one does.
/// Two reviewers deciding at once yield one transition; the second is told what happened.
pub fn decide(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    package_id: PackageId,
    decision: Decision,
    comment: &Comment,
) -> Result<Decided, AppError> {
    let comment = comment.as_str();
    if decision == Decision::Reject && comment.is_empty() {
        return Err(AppError::field(
            "comment",
            "Say why you reject it: the applicant needs to know what to fix.",
        ));
    }
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::View)?;
        let package = find_package(conn, workspace_id, package_id)?.ok_or(AppError::NotFound)?;
        let reviewers = package_reviewers(conn, package_id)?;
        may_decide(conn, workspace_id, &package, &reviewers, actor_id)?;
        let ts = now();
        let recorded = diesel::update(
            package_reviewers::table
                .filter(package_reviewers::package_id.eq(package_id))
                .filter(package_reviewers::reviewer_id.eq(actor_id))
                .filter(package_reviewers::decision.is_null()),
        )
        .set((
            package_reviewers::decision.eq(Some(decision)),
            package_reviewers::comment.eq(comment),
            package_reviewers::decided_at.eq(Some(ts)),
        ))
        .execute(conn)?;
        if recorded != 1 {
            return Err(AppError::conflict("You already decided on this package."));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: match decision {
                    Decision::Approve => "package.approved",
                    Decision::Reject => "package.rejected",
                },
                target_type: "package",
                target_id: Some(package_id.get()),
                target_label: &package.name,
                comment,
            },
        )?;
        let outcome = match decision {
            Decision::Reject => {
                transition(conn, package_id, PackageStatus::Rejected, actor_id, ts)?;
                diesel::update(
                    release_tasks::table
                        .filter(release_tasks::package_id.eq(package_id))
                        .filter(release_tasks::status.eq(TaskStatus::InReview)),
                )
                .set((
                    release_tasks::status.eq(TaskStatus::Rejected),
                    release_tasks::status_reason.eq(format!("rejected: {comment}")),
                    release_tasks::updated_at.eq(ts),
                ))
                .execute(conn)?;
                stop_waiting(conn, package_id, "rejected")?;
                notifications::raise(
                    conn,
                    Event {
                        kind: NotificationKind::PackageRejected,
                        workspace_id,
                        subject: Subject::Package(package_id),
                        actor: Some(actor_id),
                    },
                    &[package.applicant_id],
                )?;
                Decided {
                    package_name: package.name.clone(),
                    status: PackageStatus::Rejected,
                    waiting_for: 0,
                }
            }
            Decision::Approve => {
                let missing: i64 = package_reviewers::table
                    .filter(package_reviewers::package_id.eq(package_id))
                    .filter(package_reviewers::decision.is_null())
                    .count()
                    .get_result(conn)?;
                if package.quorum() == Quorum::All && missing > 0 {
                    Decided {
                        package_name: package.name.clone(),
                        status: PackageStatus::PendingApproval,
                        waiting_for: missing as usize,
                    }
                } else {
                    start_release(conn, package_id, actor_id, ts)?;
                    Decided {
                        package_name: package.name.clone(),
                        status: PackageStatus::Releasing,
                        waiting_for: 0,
                    }
                }
            }
        };
        Ok(outcome)
    })
}

/// Guarded move out of `pending_approval`; recording who decided.
fn transition(
    conn: &mut DbConn,
    package_id: PackageId,
    to: PackageStatus,
    actor_id: UserId,
    ts: NaiveDateTime,
) -> Result<(), AppError> {
    let moved = diesel::update(
        release_packages::table
            .find(package_id)
            .filter(release_packages::status.eq(PackageStatus::PendingApproval)),
    )
    .set((
        release_packages::status.eq(to),
        release_packages::decided_by.eq(Some(actor_id)),
        release_packages::decided_at.eq(Some(ts)),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Err(AppError::conflict(
            "Someone decided on this package at the same moment; reload to see the outcome.",
        ));
    }
    Ok(())
}

/// Approved: the package and its tasks go `releasing` and the release job is enqueued, all in
/// the approving transaction.
fn start_release(
    conn: &mut DbConn,
    package_id: PackageId,
    actor_id: UserId,
    ts: NaiveDateTime,
) -> Result<(), AppError> {
    transition(conn, package_id, PackageStatus::Releasing, actor_id, ts)?;
    diesel::update(release_packages::table.find(package_id))
        .set((
            release_packages::released_by.eq(Some(actor_id)),
            release_packages::release_started_at.eq(Some(ts)),
        ))
        .execute(conn)?;
    diesel::update(
        release_tasks::table
            .filter(release_tasks::package_id.eq(package_id))
            .filter(release_tasks::status.eq(TaskStatus::InReview)),
    )
    .set((
        release_tasks::status.eq(TaskStatus::Releasing),
        release_tasks::updated_at.eq(ts),
    ))
    .execute(conn)?;
    jobs::enqueue(conn, jobs::RELEASE_PACKAGE, &package_id.to_string())?;
    let (workspace_id, applicant): (WorkspaceId, UserId) = release_packages::table
        .find(package_id)
        .select((
            release_packages::workspace_id,
            release_packages::applicant_id,
        ))
        .first(conn)?;
    notifications::raise(
        conn,
        Event {
            kind: NotificationKind::PackageApproved,
            workspace_id,
            subject: Subject::Package(package_id),
            actor: Some(actor_id),
        },
        &[applicant],
    )?;
    Ok(())
}

/// A release package with the names of the people involved.
#[derive(Clone, Debug, Queryable)]
pub struct PackageRow {
    pub id: PackageId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub applicant_id: UserId,
    pub applicant: String,
    pub comment: String,
    pub status: PackageStatus,
    pub needs_approval: bool,
    pub quorum: Quorum,
    pub applied_at: NaiveDateTime,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub released_by_name: Option<String>,
    pub release_started_at: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub task_count: i32,
    pub done_count: i32,
    pub failed_count: i32,
}

impl PackageRow {
    pub fn status(&self) -> PackageStatus {
        self.status
    }
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }
    /// Tasks finished (released or failed) out of all.
    pub fn finished(&self) -> i32 {
        self.done_count + self.failed_count
    }
    pub fn percent(&self) -> i32 {
        if self.task_count == 0 {
            100
        } else {
            self.finished() * 100 / self.task_count
        }
    }
}

diesel::alias!(users as decider: DeciderAlias, users as releaser: ReleaserAlias);

// Every join is a left join on a primary key, though every package has an applicant: a query
// that reads no column of a joined table (the list's capped count) then skips the join on both
// backends. With the applicant's an inner join, PostgreSQL joined every package of the
// workspace to its applicant only to count them (docs/BENCHMARKS.md, "The search machinery").
macro_rules! package_query {
    () => {
        release_packages::table
            .left_join(users::table.on(users::id.eq(release_packages::applicant_id)))
            .left_join(
                decider.on(decider
                    .field(users::id)
                    .nullable()
                    .eq(release_packages::decided_by)),
            )
            .left_join(
                releaser.on(releaser
                    .field(users::id)
                    .nullable()
                    .eq(release_packages::released_by)),
            )
            .select((
                release_packages::id,
                release_packages::workspace_id,
                release_packages::name,
                release_packages::applicant_id,
                // `applicant_id` is a non-null foreign key: the applicant is always there.
                users::username.nullable().assume_not_null(),
                release_packages::comment,
                release_packages::status,
                release_packages::needs_approval,
                release_packages::quorum,
                release_packages::applied_at,
                decider.field(users::username).nullable(),
                release_packages::decided_at,
                releaser.field(users::username).nullable(),
                release_packages::release_started_at,
                release_packages::released_at,
                release_packages::task_count,
                release_packages::done_count,
                release_packages::failed_count,
            ))
    };
}

pub fn find_package(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: PackageId,
) -> QueryResult<Option<PackageRow>> {
    package_query!()
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(release_packages::id.eq(id))
        .first(conn)
        .optional()
}

/// Filters of the Packages tab; `search` is the fuzzy name search (`crate::search`).
#[derive(Clone, Debug, Default)]
pub struct PackageFilter {
    pub search: Option<NameSearch>,
    pub applicant: Option<String>,
    pub released_by: Option<String>,
    pub status: Option<PackageStatus>,
    pub applied_from: Option<NaiveDateTime>,
    pub applied_to: Option<NaiveDateTime>,
    pub released_from: Option<NaiveDateTime>,
    pub released_to: Option<NaiveDateTime>,
    /// By id, newest first, even with a search: the order a cursor pages in (the API), stable
    /// while packages are added; `before` is the cursor.
    pub by_id: bool,
    /// Only packages with a smaller id.
    pub before: Option<PackageId>,
}

/// One page of packages and the total: newest application first, or with a search by
/// relevance (tier, then newest; the typo-tolerant score when no name contains every word).
pub fn list_packages(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    filter: &PackageFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<PackageRow>, i64)> {
    let list = PackageList {
        workspace_id,
        filter,
    };
    search::page(conn, &list, filter.search.as_ref(), limit, offset)
}

/// The searchable name of packages (`search`).
pub const PACKAGE_NAMES: Names = search::names!(release_packages.name, lower_name);

/// The Packages tab as a `search::Listing`: a workspace's packages under a `PackageFilter`.
struct PackageList<'a> {
    workspace_id: WorkspaceId,
    filter: &'a PackageFilter,
}

/// `package_query!` boxed, under `$list`'s workspace and filters and the name condition
/// `$names` (a macro: the query joins two aliases of `users`, whose type is not worth naming).
macro_rules! filtered_packages {
    ($list:expr, $names:expr) => {{
        let mut q = package_query!()
            .filter(release_packages::workspace_id.eq($list.workspace_id))
            .into_boxed();
        if let Some(m) = $names {
            q = q.filter(m);
        }
        if let Some(a) = &$list.filter.applicant {
            q = q.filter(users::username.eq(a.clone()));
        }
        if let Some(r) = &$list.filter.released_by {
            q = q.filter(releaser.field(users::username).eq(r.clone()));
        }
        if let Some(s) = $list.filter.status {
            q = q.filter(release_packages::status.eq(s));
        }
        if let Some(t) = $list.filter.applied_from {
            q = q.filter(release_packages::applied_at.ge(t));
        }
        if let Some(t) = $list.filter.applied_to {
            q = q.filter(release_packages::applied_at.lt(t));
        }
        if let Some(t) = $list.filter.released_from {
            q = q.filter(release_packages::released_at.ge(t));
        }
        if let Some(t) = $list.filter.released_to {
            q = q.filter(release_packages::released_at.lt(t));
        }
        if let Some(id) = $list.filter.before {
            q = q.filter(release_packages::id.lt(id));
        }
        q
    }};
}

impl Listing for PackageList<'_> {
    type Row = PackageRow;

    fn names(&self) -> Names {
        PACKAGE_NAMES
    }

    fn by_relevance(&self) -> bool {
        !self.filter.by_id
    }

    fn count(&self, conn: &mut DbConn, names: Option<NameMatch>, cap: i64) -> QueryResult<i64> {
        count::capped(
            conn,
            filtered_packages!(self, names)
                .select(release_packages::id)
                .limit(cap),
        )
    }

    fn rows(
        &self,
        conn: &mut DbConn,
        names: Option<NameMatch>,
        order: Order,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<PackageRow>> {
        let q = filtered_packages!(self, names);
        match order {
            Order::Relevance(tier) => q
                .order((tier.asc(), release_packages::id.desc()))
                .limit(limit)
                .offset(offset)
                .load(conn),
            Order::Newest => q
                .order(release_packages::id.desc())
                .limit(limit)
                .offset(offset)
                .load(conn),
            // The page's ids first, then their rows with the people's names: joined before
            // the `LIMIT`, PostgreSQL's generic plan for a date range (which it guesses holds
            // 5 rows) joined every package in the range to three users and sorted them all
            // (docs/BENCHMARKS.md, "The search machinery").
            Order::Listed if self.filter.by_id => q
                .order(release_packages::id.desc())
                .limit(limit)
                .offset(offset)
                .load(conn),
            Order::Listed => {
                let newest_applied = (
                    release_packages::applied_at.desc(),
                    release_packages::id.desc(),
                );
                let page = q
                    .select(release_packages::id)
                    .order(newest_applied)
                    .limit(limit)
                    .offset(offset);
                package_query!()
                    .into_boxed()
                    .filter(sql::in_page(release_packages::id, page))
                    .order(newest_applied)
                    .load(conn)
            }
        }
    }

    fn name_of(row: &PackageRow) -> &str {
        &row.name
    }
}

/// A package's reviewer and their decision.
#[derive(Debug, Queryable)]
pub struct ReviewerRow {
    pub reviewer_id: UserId,
    pub username: String,
    pub decision: Option<Decision>,
    pub comment: String,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn package_reviewers(
    conn: &mut DbConn,
    package_id: PackageId,
) -> QueryResult<Vec<ReviewerRow>> {
    package_reviewers::table
        .inner_join(users::table.on(users::id.eq(package_reviewers::reviewer_id)))
        .filter(package_reviewers::package_id.eq(package_id))
        .select((
            package_reviewers::reviewer_id,
            users::username,
            package_reviewers::decision,
            package_reviewers::comment,
            package_reviewers::decided_at,
        ))
        .order(users::username)
        .load(conn)
}

/// One task of a package with its release and startup status.
#[derive(Debug, Queryable)]
pub struct PackageTaskRow {
    pub task_id: TaskId,
    pub script_id: i64,
    pub name: String,
    pub version_number: i32,
    pub version_id: i64,
    pub release_status: ReleaseStatus,
    pub startup_status: StartupStatus,
    pub message: String,
    pub finished_at: Option<NaiveDateTime>,
}

impl PackageTaskRow {
    pub fn release(&self) -> ReleaseStatus {
        self.release_status
    }
    pub fn startup(&self) -> StartupStatus {
        self.startup_status
    }
}

pub fn package_tasks(conn: &mut DbConn, package_id: PackageId) -> QueryResult<Vec<PackageTaskRow>> {
    package_tasks::table
        .inner_join(release_tasks::table)
        .filter(package_tasks::package_id.eq(package_id))
        .select((
            package_tasks::task_id,
            release_tasks::script_id,
            release_tasks::name,
            release_tasks::version_number,
            release_tasks::version_id,
            package_tasks::release_status,
            package_tasks::startup_status,
            package_tasks::message,
            package_tasks::finished_at,
        ))
        .order(package_tasks::position)
        .load(conn)
}

/// A package awaiting the user's decision, in any workspace.
#[derive(Debug, Queryable)]
pub struct ReviewRequest {
    pub package_id: PackageId,
    pub package_name: String,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub applicant: String,
    pub applied_at: NaiveDateTime,
    pub task_count: i32,
    pub comment: String,
}

/// Packages waiting for `user_id`'s decision.
pub fn awaiting_review(conn: &mut DbConn, user_id: UserId) -> QueryResult<Vec<ReviewRequest>> {
    use crate::db::schema::workspaces;
    package_reviewers::table
        .inner_join(release_packages::table)
        .inner_join(workspaces::table.on(workspaces::id.eq(release_packages::workspace_id)))
        .inner_join(users::table.on(users::id.eq(release_packages::applicant_id)))
        .filter(package_reviewers::reviewer_id.eq(user_id))
        .filter(package_reviewers::decision.is_null())
        .filter(release_packages::status.eq(PackageStatus::PendingApproval))
        .select((
            release_packages::id,
            release_packages::name,
            workspaces::slug,
            workspaces::name,
            users::username,
            release_packages::applied_at,
            release_packages::task_count,
            release_packages::comment,
        ))
        .order(release_packages::applied_at.asc())
        .load(conn)
}

/// How many packages wait for `user_id` (the count in the navigation).
pub fn awaiting_review_count(conn: &mut DbConn, user_id: UserId) -> QueryResult<i64> {
    package_reviewers::table
        .inner_join(release_packages::table)
        // Planned once for every viewer (`db::opaque`).
        .filter(package_reviewers::reviewer_id.eq(crate::db::opaque(user_id)))
        .filter(package_reviewers::decision.is_null())
        .filter(release_packages::status.eq(Const::text(PackageStatus::PendingApproval.as_str())))
        .select(count_star())
        .get_result(conn)
}

/// The packages of a workspace that wait for `user_id`'s decision (id, name), by name: what a
/// role change or a removal would take away from them.
pub fn pending_reviews_of(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Vec<(PackageId, String)>> {
    package_reviewers::table
        .inner_join(release_packages::table)
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(release_packages::status.eq(PackageStatus::PendingApproval))
        .filter(package_reviewers::reviewer_id.eq(user_id))
        .filter(package_reviewers::decision.is_null())
        .select((release_packages::id, release_packages::name))
        .order(release_packages::name)
        .load(conn)
}

/// A change to a package that waits for approval: who may make it besides the applicant.
struct WaitingChange {
    /// What the actor needs in the workspace at all.
    needs: Permission,
    /// Who else may, besides the applicant: the permission and how the message names it.
    others: (Permission, &'static str),
    /// "withdraw", "add reviewers to": what the messages say is refused.
    doing: &'static str,
}

/// Reads a package for `change`: 404 outside the workspace, 403 unless the actor is
/// the applicant or has the other permission, 409 once it no longer waits for approval.
fn waiting_package(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    package_id: PackageId,
    change: WaitingChange,
) -> Result<PackageRow, AppError> {
    // `require` locks the workspace: on PostgreSQL a decision, an addition and a withdrawal of
    // one package take turns, each reading what the one before committed.
    let access = workspaces::require(conn, workspace_id, actor_id, change.needs)?;
    let package = find_package(conn, workspace_id, package_id)?.ok_or(AppError::NotFound)?;
    let (others, named) = change.others;
    if package.applicant_id != actor_id && !access.can(others) {
        return Err(AppError::forbidden(format!(
            "Only {} (who applied) or {named} can {} this package.",
            package.applicant, change.doing
        )));
    }
    if package.status() != PackageStatus::PendingApproval {
        return Err(AppError::conflict(format!(
            "This package is {} now: you can {} a package only while it waits for approval.",
            package.status().label().to_lowercase(),
            change.doing
        )));
    }
    Ok(package)
}

/// Adds reviewers to a package waiting for approval, so a package whose reviewers lost their
/// seat is not stranded: its applicant or a workspace admin may. Each must be an eligible
/// reviewer now, not the applicant, and not on the package already. Under quorum `all` each one
/// added is one more approval the package waits for. Returns the usernames added.
pub fn add_reviewers(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    package_id: PackageId,
    reviewers: &[UserId],
) -> Result<Vec<String>, AppError> {
    let mut reviewers = reviewers.to_vec();
    reviewers.sort_unstable();
    reviewers.dedup();
    if reviewers.is_empty() {
        return Err(AppError::field(
            "reviewers",
            "Choose at least one reviewer to add.",
        ));
    }
    if reviewers.len() > MAX_TASKS_PER_PACKAGE {
        return Err(AppError::field(
            "reviewers",
            "Choose at most 100 reviewers at a time.",
        ));
    }
    write_tx(conn, |conn| {
        let change = WaitingChange {
            needs: Permission::View,
            others: (Permission::Manage, "a workspace admin"),
            doing: "add reviewers to",
        };
        let package = waiting_package(conn, actor_id, workspace_id, package_id, change)?;
        let on_it: Vec<UserId> = package_reviewers::table
            .filter(package_reviewers::package_id.eq(package_id))
            .select(package_reviewers::reviewer_id)
            .load(conn)?;
        let mut added = Vec::with_capacity(reviewers.len());
        for r in &reviewers {
            let who =
                super::users::find(conn, *r)?.map_or_else(|| format!("user {r}"), |u| u.username);
            if *r == package.applicant_id {
                return Err(AppError::field(
                    "reviewers",
                    format!(
                        "{who} applied for this release and cannot review it; choose someone else."
                    ),
                ));
            }
            if on_it.contains(r) {
                return Err(AppError::field(
                    "reviewers",
                    format!("{who} already reviews this package."),
                ));
            }
            if !workspaces::is_eligible_reviewer(conn, workspace_id, *r)? {
                return Err(AppError::field(
                    "reviewers",
                    format!(
                        "{who} is not on this workspace's reviewer list (or lost the role to review)."
                    ),
                ));
            }
            diesel::insert_into(package_reviewers::table)
                .values((
                    package_reviewers::package_id.eq(package_id),
                    package_reviewers::applicant_id.eq(package.applicant_id),
                    package_reviewers::reviewer_id.eq(r),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                AuditEntry {
                    workspace_id: Some(workspace_id),
                    actor_id: Some(actor_id),
                    action: "package.reviewer_added",
                    target_type: "package",
                    target_id: Some(package_id.get()),
                    target_label: &package.name,
                    comment: &who,
                },
            )?;
            added.push(who);
        }
        Ok(added)
    })
}

/// Withdraws a package waiting for approval in one step: its tasks go back to pending (to be
/// released again, with other reviewers) and the package ends revoked. Its applicant may, and
/// deployers and admins (who may revoke any task).
pub fn withdraw_package(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    package_id: PackageId,
) -> Result<(String, usize), AppError> {
    write_tx(conn, |conn| {
        let change = WaitingChange {
            needs: Permission::Develop,
            others: (Permission::Deploy, "a deployer or admin"),
            doing: "withdraw",
        };
        let package = waiting_package(conn, actor_id, workspace_id, package_id, change)?;
        let ts = now();
        let back = diesel::update(
            release_tasks::table
                .filter(release_tasks::package_id.eq(package_id))
                .filter(release_tasks::status.eq(TaskStatus::InReview)),
        )
        .set((
            release_tasks::status.eq(TaskStatus::Pending),
            release_tasks::package_id.eq(None::<PackageId>),
            release_tasks::status_reason.eq(format!("package {} withdrawn", package.name)),
            release_tasks::updated_at.eq(ts),
        ))
        .execute(conn)?;
        stop_waiting(conn, package_id, "package withdrawn")?;
        let moved = diesel::update(
            release_packages::table
                .find(package_id)
                .filter(release_packages::status.eq(PackageStatus::PendingApproval)),
        )
        .set((
            release_packages::status.eq(PackageStatus::Revoked),
            release_packages::task_count.eq(0),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::conflict(
                "Someone acted on this package at the same moment; reload to see the outcome.",
            ));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "package.withdrawn",
                target_type: "package",
                target_id: Some(package_id.get()),
                target_label: &package.name,
                comment: &format!(
                    "{} back to pending",
                    crate::domain::count(back as i64, "task", "tasks")
                ),
            },
        )?;
        Ok((package.name, back))
    })
}

/// Takes a person who lost the right to review out of the pending reviews of a workspace.
/// Called by the transaction that took the right away.
pub(crate) fn drop_pending_reviews(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    user_id: UserId,
    reason: &str,
) -> Result<usize, AppError> {
    let pending = pending_reviews_of(conn, workspace_id, user_id)?;
    for (package_id, name) in &pending {
        diesel::delete(package_reviewers::table.find((package_id, user_id))).execute(conn)?;
        // Under quorum `all`, the reviewers left may all have approved already: release it.
        let (waiting, approved): (i64, i64) = (
            package_reviewers::table
                .filter(package_reviewers::package_id.eq(package_id))
                .filter(package_reviewers::decision.is_null())
                .count()
                .get_result(conn)?,
            package_reviewers::table
                .filter(package_reviewers::package_id.eq(package_id))
                .filter(package_reviewers::decision.eq(Decision::Approve))
                .count()
                .get_result(conn)?,
        );
        if waiting == 0 && approved > 0 {
            start_release(conn, *package_id, actor_id, now())?;
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "package.reviewer_removed",
                target_type: "package",
                target_id: Some(package_id.get()),
                target_label: name,
                comment: reason,
            },
        )?;
    }
    Ok(pending.len())
}

/// Other packages of the workspace that contain at least one of this package's scripts (the
/// choices of "Compare Version"), newest first.
pub fn packages_sharing_scripts(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    package_id: PackageId,
) -> QueryResult<Vec<(PackageId, String)>> {
    // One statement: the package's scripts as a subquery rather than loaded first, a round trip
    // fewer on the details page. Both sides read package_tasks' own copy of each task's script
    // (migration 000011), so neither touches the tasks.
    let mine = diesel::alias!(package_tasks as mine);
    let scripts = mine
        .filter(mine.field(package_tasks::package_id).eq(package_id))
        .select(mine.field(package_tasks::script_id));
    let mut rows: Vec<(PackageId, String)> = package_tasks::table
        .inner_join(release_packages::table)
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(package_tasks::script_id.eq_any(scripts))
        // On package_tasks, not the packages: the package's own rows are dropped in the index
        // scan instead of after a lookup of the package each.
        .filter(package_tasks::package_id.ne(package_id))
        .select((release_packages::id, release_packages::name))
        .distinct()
        .load(conn)?;
    // Sorted and cut here, not by ORDER BY ... LIMIT: with a LIMIT, PostgreSQL may walk every
    // package newest first and test each against the scripts (docs/BENCHMARKS.md, "The search machinery"),
    // where the join from the scripts reads only the few packages that share them.
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    rows.truncate(50);
    Ok(rows)
}

/// The workspace a package belongs to (for decisions made from the Reviews page).
pub fn workspace_of(conn: &mut DbConn, package_id: PackageId) -> QueryResult<Option<WorkspaceId>> {
    release_packages::table
        .find(package_id)
        .select(release_packages::workspace_id)
        .first(conn)
        .optional()
}
