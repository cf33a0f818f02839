//! "Needs your attention" on a workspace's overview: read-only, capped queries for what waits
//! for the viewer (packages to review, region checkpoints to decide), what the viewer started
//! that does not move (packages pending approval, rejected packages, region tasks suspended or
//! waiting for someone else) and what failed in the workspace lately. Each list loads at most
//! `CAP + 1` rows, so the page knows whether to offer "see all" without counting.

use crate::domain::{PackageId, RegionTaskId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::releases::Decision;
use crate::db::schema::{
    memberships, package_reviewers, region_executions, region_task_steps, region_tasks,
    release_packages, release_tasks, step_people, users, workspace_reviewers,
};
use crate::db::{Const, DbConn};
use crate::domain::{
    ExecutionStatus, PackageStatus, RegionTaskStatus, Role, StepKind, StepStatus, TaskStatus,
};

/// Rows shown per list.
pub const CAP: usize = 5;
/// How far back "Failed recently" looks.
pub const FAILED_DAYS: i64 = 7;

const FETCH: i64 = CAP as i64 + 1;

/// At most `CAP` rows, and whether there were more.
#[derive(Debug)]
pub struct Capped<T> {
    pub rows: Vec<T>,
    pub more: bool,
}

impl<T> Capped<T> {
    fn of(mut rows: Vec<T>) -> Self {
        let more = rows.len() > CAP;
        rows.truncate(CAP);
        Capped { rows, more }
    }
    pub fn empty() -> Self {
        Capped {
            rows: Vec::new(),
            more: false,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Keeps at most `n` rows (saying there are more when some are cut): how many are kept.
    fn keep(&mut self, n: usize) -> usize {
        if self.rows.len() > n {
            self.rows.truncate(n);
            self.more = true;
        }
        self.rows.len()
    }
}

/// A package of the workspace waiting for the viewer's decision.
#[derive(Debug, Queryable)]
pub struct WaitingPackage {
    pub id: PackageId,
    pub name: String,
    pub applicant: String,
    pub applied_at: NaiveDateTime,
}

/// What waits for the viewer in this workspace: packages first, then checkpoints, `CAP` rows
/// together.
pub fn waiting(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
    may_review: bool,
) -> QueryResult<(Capped<WaitingPackage>, Capped<WaitingCheckpoint>)> {
    let mut packages = waiting_packages(conn, workspace_id, user_id, may_review)?;
    let mut checkpoints = waiting_checkpoints(conn, workspace_id, user_id)?;
    let left = CAP - packages.keep(CAP);
    checkpoints.keep(left);
    Ok((packages, checkpoints))
}

/// Packages of this workspace waiting for `user_id`'s decision while they may still review
/// here (a seat on the reviewer list; `may_review` is the role half of eligibility, which the
/// caller knows), oldest first.
fn waiting_packages(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
    may_review: bool,
) -> QueryResult<Capped<WaitingPackage>> {
    if !may_review {
        return Ok(Capped::empty());
    }
    let seated = workspace_reviewers::table
        .filter(workspace_reviewers::workspace_id.eq(workspace_id))
        .select(workspace_reviewers::user_id);
    package_reviewers::table
        .inner_join(release_packages::table)
        .inner_join(users::table.on(users::id.eq(release_packages::applicant_id)))
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(package_reviewers::reviewer_id.eq(user_id))
        .filter(package_reviewers::reviewer_id.eq_any(seated))
        .filter(package_reviewers::decision.is_null())
        .filter(release_packages::status.eq(Const::text(PackageStatus::PendingApproval.as_str())))
        .select((
            release_packages::id,
            release_packages::name,
            users::username,
            release_packages::applied_at,
        ))
        .order((release_packages::applied_at.asc(), release_packages::id))
        .limit(FETCH)
        .load(conn)
        .map(Capped::of)
}

/// A region checkpoint (Manual Approval / Manual Trigger) of the workspace waiting for the viewer.
#[derive(Debug, Queryable)]
pub struct WaitingCheckpoint {
    pub task_id: RegionTaskId,
    pub task_name: String,
    pub kind: StepKind,
    pub position: i32,
    pub since: Option<NaiveDateTime>,
}

// A getter for the template, which calls it.
impl WaitingCheckpoint {
    pub fn kind(&self) -> StepKind {
        self.kind
    }
}

/// The workspace's checkpoints waiting for `user_id`: the Reviews page's rule
/// (`region_release::awaiting`) in one statement — a task releasing, its step waiting, the user
/// named on it, and never the Manual Approval of a release the user executed.
fn waiting_checkpoints(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Capped<WaitingCheckpoint>> {
    let executed_by_user = region_executions::table
        .filter(region_executions::status.eq(Const::text(ExecutionStatus::Running.as_str())))
        .filter(region_executions::started_by.eq(user_id))
        .select(region_executions::task_id);
    step_people::table
        .inner_join(region_task_steps::table.inner_join(region_tasks::table))
        .filter(region_tasks::workspace_id.eq(workspace_id))
        .filter(step_people::user_id.eq(user_id))
        .filter(region_task_steps::status.eq(Const::text(StepStatus::Waiting.as_str())))
        .filter(region_tasks::status.eq(Const::text(RegionTaskStatus::Releasing.as_str())))
        .filter(
            region_task_steps::kind
                .ne(Const::text(StepKind::Approval.as_str()))
                .or(region_tasks::id.ne_all(executed_by_user)),
        )
        .select((
            region_tasks::id,
            region_tasks::name,
            region_task_steps::kind,
            region_task_steps::position,
            region_task_steps::started_at,
        ))
        .order((region_task_steps::started_at.asc(), region_tasks::id))
        .limit(FETCH)
        .load(conn)
        .map(Capped::of)
}

/// What the viewer started that does not move.
#[derive(Debug)]
pub enum Stuck {
    /// Their package waits for approval; `reviewers_left` are the named reviewers who have not
    /// decided and may still review (empty: nobody can release it as it stands).
    Pending {
        id: PackageId,
        name: String,
        applied_at: NaiveDateTime,
        reviewers_left: Vec<String>,
    },
    /// Their package was rejected and some of its tasks are still rejected (not released again
    /// nor withdrawn since).
    Rejected {
        id: PackageId,
        name: String,
        decided_at: Option<NaiveDateTime>,
        reviewer: Option<String>,
        comment: String,
    },
    /// Their region task is suspended (or suspending), or waits at a checkpoint for others.
    Region {
        id: RegionTaskId,
        name: String,
        status: RegionTaskStatus,
        since: NaiveDateTime,
        /// Who the waiting checkpoint waits for (empty when suspended).
        waiting_for: Vec<String>,
    },
}

/// The viewer's stuck items in this workspace, `CAP` rows together: their packages pending
/// approval, then their rejected packages, then their stuck region tasks; a kind cut short says
/// so (`more`) for its "see all" link. At most six statements.
#[derive(Debug)]
pub struct StuckLists {
    pub pending: Capped<Stuck>,
    pub rejected: Capped<Stuck>,
    pub region: Capped<Stuck>,
}

impl StuckLists {
    pub fn empty() -> Self {
        StuckLists {
            pending: Capped::empty(),
            rejected: Capped::empty(),
            region: Capped::empty(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.rejected.is_empty() && self.region.is_empty()
    }
    /// Every row, pending packages first, then rejected ones, then region tasks.
    pub fn rows(&self) -> impl Iterator<Item = &Stuck> {
        self.pending
            .rows
            .iter()
            .chain(&self.rejected.rows)
            .chain(&self.region.rows)
    }
}

pub fn stuck(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<StuckLists> {
    let mut lists = StuckLists {
        pending: stuck_pending(conn, workspace_id, user_id)?,
        rejected: stuck_rejected(conn, workspace_id, user_id)?,
        region: stuck_region(conn, workspace_id, user_id)?,
    };
    let mut left = CAP;
    left -= lists.pending.keep(left);
    left -= lists.rejected.keep(left);
    lists.region.keep(left);
    Ok(lists)
}

fn stuck_pending(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Capped<Stuck>> {
    let packages: Vec<(PackageId, String, NaiveDateTime)> = release_packages::table
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(release_packages::applicant_id.eq(user_id))
        .filter(release_packages::status.eq(Const::text(PackageStatus::PendingApproval.as_str())))
        .select((
            release_packages::id,
            release_packages::name,
            release_packages::applied_at,
        ))
        .order((release_packages::applied_at.asc(), release_packages::id))
        .limit(FETCH)
        .load(conn)?;
    let packages = Capped::of(packages);
    let ids: Vec<PackageId> = packages.rows.iter().map(|p| p.0).collect();
    // The undecided reviewers of those packages who may still review (`workspaces::
    // is_eligible_reviewer`: a seat on the list, a member who may review, active). The role is
    // checked here, by `Role::may_review`, rather than spelled again in SQL.
    let left: Vec<(PackageId, String, Role, bool, bool)> = if ids.is_empty() {
        Vec::new()
    } else {
        package_reviewers::table
            .inner_join(users::table.on(users::id.eq(package_reviewers::reviewer_id)))
            .inner_join(
                memberships::table.on(memberships::user_id
                    .eq(package_reviewers::reviewer_id)
                    .and(memberships::workspace_id.eq(workspace_id))),
            )
            .inner_join(
                workspace_reviewers::table.on(workspace_reviewers::user_id
                    .eq(package_reviewers::reviewer_id)
                    .and(workspace_reviewers::workspace_id.eq(workspace_id))),
            )
            .filter(package_reviewers::package_id.eq_any(&ids))
            .filter(package_reviewers::decision.is_null())
            .filter(users::is_active.eq(true))
            .select((
                package_reviewers::package_id,
                users::username,
                memberships::role,
                users::is_tenant_admin,
                users::is_active,
            ))
            .order(users::username)
            .load(conn)?
    };
    Ok(Capped {
        more: packages.more,
        rows: packages
            .rows
            .into_iter()
            .map(|(id, name, applied_at)| Stuck::Pending {
                id,
                name,
                applied_at,
                reviewers_left: left
                    .iter()
                    .filter(|(p, _, role, tenant, active)| {
                        *p == id && *active && (*tenant || role.may_review())
                    })
                    .map(|(_, username, ..)| username.clone())
                    .collect(),
            })
            .collect(),
    })
}

fn stuck_rejected(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Capped<Stuck>> {
    let still_rejected = release_tasks::table
        .filter(release_tasks::workspace_id.eq(workspace_id))
        .filter(release_tasks::status.eq(Const::text(TaskStatus::Rejected.as_str())))
        .select(release_tasks::package_id);
    let packages: Vec<(PackageId, String, Option<NaiveDateTime>)> = release_packages::table
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(release_packages::applicant_id.eq(user_id))
        .filter(release_packages::status.eq(Const::text(PackageStatus::Rejected.as_str())))
        .filter(release_packages::id.nullable().eq_any(still_rejected))
        .select((
            release_packages::id,
            release_packages::name,
            release_packages::decided_at,
        ))
        .order((
            release_packages::decided_at.desc(),
            release_packages::id.desc(),
        ))
        .limit(FETCH)
        .load(conn)?;
    let packages = Capped::of(packages);
    let ids: Vec<PackageId> = packages.rows.iter().map(|p| p.0).collect();
    let decisions: Vec<(PackageId, String, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        package_reviewers::table
            .inner_join(users::table.on(users::id.eq(package_reviewers::reviewer_id)))
            .filter(package_reviewers::package_id.eq_any(&ids))
            .filter(package_reviewers::decision.eq(Decision::Reject))
            .select((
                package_reviewers::package_id,
                users::username,
                package_reviewers::comment,
            ))
            .load(conn)?
    };
    Ok(Capped {
        more: packages.more,
        rows: packages
            .rows
            .into_iter()
            .map(|(id, name, decided_at)| {
                let decision = decisions.iter().find(|d| d.0 == id);
                Stuck::Rejected {
                    id,
                    name,
                    decided_at,
                    reviewer: decision.map(|d| d.1.clone()),
                    comment: decision.map(|d| d.2.clone()).unwrap_or_default(),
                }
            })
            .collect(),
    })
}

fn stuck_region(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    user_id: UserId,
) -> QueryResult<Capped<Stuck>> {
    let waiting_steps = region_task_steps::table
        .filter(region_task_steps::status.eq(Const::text(StepStatus::Waiting.as_str())))
        .select(region_task_steps::task_id);
    // A checkpoint naming the user waits for them: it is under "Waiting for you" instead.
    let waiting_for_user = step_people::table
        .inner_join(region_task_steps::table)
        .filter(step_people::user_id.eq(user_id))
        .filter(region_task_steps::status.eq(Const::text(StepStatus::Waiting.as_str())))
        .select(region_task_steps::task_id);
    let tasks: Vec<(RegionTaskId, String, RegionTaskStatus, NaiveDateTime)> = region_tasks::table
        .filter(region_tasks::workspace_id.eq(workspace_id))
        .filter(region_tasks::created_by.eq(user_id))
        .filter(
            region_tasks::status
                .eq(Const::text(RegionTaskStatus::Suspended.as_str()))
                .or(region_tasks::status.eq(Const::text(RegionTaskStatus::Suspending.as_str())))
                .or(region_tasks::status
                    .eq(Const::text(RegionTaskStatus::Releasing.as_str()))
                    .and(region_tasks::id.eq_any(waiting_steps))
                    .and(region_tasks::id.ne_all(waiting_for_user))),
        )
        .select((
            region_tasks::id,
            region_tasks::name,
            region_tasks::status,
            region_tasks::updated_at,
        ))
        .order((region_tasks::updated_at.asc(), region_tasks::id))
        .limit(FETCH)
        .load(conn)?;
    let tasks = Capped::of(tasks);
    let ids: Vec<RegionTaskId> = tasks.rows.iter().map(|t| t.0).collect();
    let people: Vec<(RegionTaskId, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        step_people::table
            .inner_join(region_task_steps::table)
            .inner_join(users::table)
            .filter(region_task_steps::task_id.eq_any(&ids))
            .filter(region_task_steps::status.eq(Const::text(StepStatus::Waiting.as_str())))
            .select((region_task_steps::task_id, users::username))
            .order(users::username)
            .load(conn)?
    };
    Ok(Capped {
        more: tasks.more,
        rows: tasks
            .rows
            .into_iter()
            .map(|(id, name, status, since)| Stuck::Region {
                id,
                name,
                status,
                since,
                waiting_for: if status == RegionTaskStatus::Releasing {
                    people
                        .iter()
                        .filter(|(t, _)| *t == id)
                        .map(|(_, u)| u.clone())
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect(),
    })
}

/// Something of the workspace that failed in the last `FAILED_DAYS` days.
#[derive(Debug)]
pub enum Failed {
    Package {
        id: PackageId,
        name: String,
        status: PackageStatus,
        at: NaiveDateTime,
        failed: i32,
        total: i32,
    },
    Region {
        id: RegionTaskId,
        name: String,
        at: NaiveDateTime,
    },
}

impl Failed {
    pub fn at(&self) -> NaiveDateTime {
        match self {
            Failed::Package { at, .. } | Failed::Region { at, .. } => *at,
        }
    }
}

/// Failed and partially failed packages and region tasks whose release failed, in the last
/// `FAILED_DAYS` days before `now`, newest first. `more_packages` / `more_region` say which
/// kind had more than fit, for the "see all" links.
#[derive(Debug)]
pub struct FailedList {
    pub rows: Vec<Failed>,
    pub more_packages: bool,
    pub more_region: bool,
}

pub fn failed_recently(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    now: NaiveDateTime,
) -> QueryResult<FailedList> {
    let since = now - chrono::Duration::days(FAILED_DAYS);
    let packages: Vec<(
        PackageId,
        String,
        PackageStatus,
        Option<NaiveDateTime>,
        i32,
        i32,
    )> = release_packages::table
        .filter(release_packages::workspace_id.eq(workspace_id))
        .filter(
            release_packages::status
                .eq_any([PackageStatus::Failed, PackageStatus::PartiallyFailed]),
        )
        .filter(release_packages::released_at.ge(since))
        .select((
            release_packages::id,
            release_packages::name,
            release_packages::status,
            release_packages::released_at,
            release_packages::failed_count,
            release_packages::task_count,
        ))
        .order((
            release_packages::released_at.desc(),
            release_packages::id.desc(),
        ))
        .limit(FETCH)
        .load(conn)?;
    let tasks: Vec<(RegionTaskId, String, NaiveDateTime)> = region_tasks::table
        .filter(region_tasks::workspace_id.eq(workspace_id))
        .filter(region_tasks::status.eq(Const::text(RegionTaskStatus::ReleaseFailed.as_str())))
        .filter(region_tasks::updated_at.ge(since))
        .select((
            region_tasks::id,
            region_tasks::name,
            region_tasks::updated_at,
        ))
        .order((region_tasks::updated_at.desc(), region_tasks::id.desc()))
        .limit(FETCH)
        .load(conn)?;
    let (package_more, region_more) = (packages.len() > CAP, tasks.len() > CAP);
    let mut rows: Vec<Failed> = packages
        .into_iter()
        .map(|(id, name, status, at, failed, total)| Failed::Package {
            id,
            name,
            status,
            at: at.unwrap_or(since),
            failed,
            total,
        })
        .chain(
            tasks
                .into_iter()
                .map(|(id, name, at)| Failed::Region { id, name, at }),
        )
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.at()));
    // A kind whose rows were cut here has more to see, too.
    let cut = rows.split_off(CAP.min(rows.len()));
    Ok(FailedList {
        more_packages: package_more || cut.iter().any(|r| matches!(r, Failed::Package { .. })),
        more_region: region_more || cut.iter().any(|r| matches!(r, Failed::Region { .. })),
        rows,
    })
}

/// "3 days", "5 hours", "12 minutes": how long since `since`, roughly, for "pending for …".
pub fn age(since: NaiveDateTime, now: NaiveDateTime) -> String {
    let d = now - since;
    let (n, unit) = if d.num_days() >= 1 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_rounds_down_to_the_largest_unit() {
        let t0 = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        let at = |secs| t0 + chrono::Duration::seconds(secs);
        assert_eq!(age(t0, at(5)), "1 minute");
        assert_eq!(age(t0, at(7_200 + 59)), "2 hours");
        assert_eq!(age(t0, at(86_400 * 3 + 10)), "3 days");
    }

    #[test]
    fn capped_keeps_cap_rows_and_says_there_are_more() {
        let c = Capped::of((0..=CAP).collect::<Vec<_>>());
        assert_eq!(c.rows.len(), CAP);
        assert!(c.more);
        assert!(!Capped::of(vec![1]).more);
        let mut c = Capped::of(vec![1, 2, 3]);
        assert_eq!(c.keep(2), 2);
        assert!(c.more);
        assert_eq!(c.keep(0), 0);
    }
}
