//! Freeze windows and their overrides (issue 24). A workspace's admins set windows in which
//! nothing of a scope goes out; this module says, inside the transaction that would move
//! something, whether a window holds it:
//!
//! - a package's next task (`holding_package`, called by `releases::release_next_task` before
//!   each task, so a running release finishes the task in flight and then waits), and any other
//!   way into production (`holding_production`: simple-mode submissions, imports, checked by
//!   `production::apply`);
//! - a region task's Execute and its next component (`holding_region_task`, called by
//!   `region_release::execute` and `execution::prepare_deploy`).
//!
//! A held package or region release is not failed: its job waits until the window ends and then
//! goes on by itself (`jobs::defer`). Rollbacks are never held: restoring is what a freeze must
//! not stop. A workspace admin or tenant administrator may override the freezes for one package
//! or one region task with a reason (`override_package`, `override_region_task`): one row per
//! item, audited, told to the workspace's admins, shown on the item; it lets that item through
//! every window for the rest of its run. Nothing else passes a window.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::workspaces;
use crate::db::schema::{
    freeze_overrides, freeze_window_regions, freeze_windows, memberships, region_tasks, regions,
    release_packages, users,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    Comment, FreezeScope, PackageId, Permission, RegionTaskId, Role, Span, UserId, When,
    WorkspaceId, show_instant,
};
use crate::error::AppError;

/// How long a held job waits before the worker looks again, at most: a window deleted or
/// shortened lets its items go within this time, without a wake-up for each.
pub const RECHECK_SECONDS: i64 = 30;

/// When the worker should look again at an item `hold` holds.
pub fn look_again(hold: &Hold) -> NaiveDateTime {
    let soon = Utc::now() + chrono::Duration::seconds(RECHECK_SECONDS);
    hold.until().min(soon).naive_utc()
}

/// Windows a workspace may have.
pub const MAX_PER_WORKSPACE: i64 = 50;

/// A window as stored, with the regions it is limited to (none: every region).
#[derive(Clone, Debug)]
pub struct FreezeWindow {
    pub id: i64,
    pub name: String,
    pub reason: String,
    pub scope: FreezeScope,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub schedule: String,
    pub duration_minutes: Option<i32>,
    pub time_zone: String,
    pub regions: Vec<(i64, String)>,
}

type WindowRow = (
    i64,
    String,
    String,
    FreezeScope,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    String,
    Option<i32>,
    String,
);

impl FreezeWindow {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
    pub fn when(&self) -> Option<When> {
        match (self.starts_at, self.ends_at, self.duration_minutes) {
            (Some(s), Some(e), _) if self.schedule.is_empty() => Some(When::Once {
                starts: s.and_utc(),
                ends: e.and_utc(),
            }),
            (_, _, Some(m)) => When::recurring(&self.schedule, &self.time_zone, m.into()),
            _ => None,
        }
    }
    pub fn is_recurring(&self) -> bool {
        !self.schedule.is_empty()
    }
    /// "Every `0 18 * * 5` (Europe/Berlin) for 2 d 14 h", or "From … to …".
    pub fn describe(&self) -> String {
        match (self.starts_at, self.ends_at) {
            (Some(s), Some(e)) if !self.is_recurring() => format!(
                "From {} to {}",
                show_instant(s.and_utc(), self.tz()),
                show_instant(e.and_utc(), self.tz())
            ),
            _ => format!(
                "Every `{}` ({}) for {}",
                self.schedule,
                self.time_zone,
                minutes_text(self.duration_minutes.unwrap_or(0).into())
            ),
        }
    }
    /// "all regions", or their names.
    pub fn regions_text(&self) -> String {
        if self.regions.is_empty() {
            "all regions".into()
        } else {
            self.regions
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
    fn holds_region(&self, region_id: i64) -> bool {
        self.scope.holds_regions()
            && (self.regions.is_empty() || self.regions.iter().any(|(id, _)| *id == region_id))
    }
}

/// "45 min", "3 h", "2 d 14 h".
pub fn minutes_text(m: i64) -> String {
    let (d, h, min) = (m / 1440, m % 1440 / 60, m % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if min > 0 || parts.is_empty() {
        parts.push(format!("{min} min"));
    }
    parts.join(" ")
}

/// A window that is on now, and the stretch it is on for.
#[derive(Clone, Debug)]
pub struct ActiveFreeze {
    pub window: FreezeWindow,
    pub span: Span,
}

impl ActiveFreeze {
    /// When it starts, in the window's time zone.
    pub fn starts(&self) -> String {
        show_instant(self.span.start, self.window.tz())
    }
    /// When it ends, in the window's time zone.
    pub fn until(&self) -> String {
        show_instant(self.span.end, self.window.tz())
    }
}

/// The windows that hold an item now: it goes on when the last of them ends.
#[derive(Clone, Debug)]
pub struct Hold {
    pub freezes: Vec<ActiveFreeze>,
}

impl Hold {
    fn of(freezes: Vec<ActiveFreeze>) -> Option<Hold> {
        (!freezes.is_empty()).then_some(Hold { freezes })
    }
    pub fn until(&self) -> DateTime<Utc> {
        self.freezes
            .iter()
            .map(|f| f.span.end)
            .max()
            .unwrap_or_else(Utc::now)
    }
    /// The windows' names, for the override's record.
    pub fn names(&self) -> String {
        self.freezes
            .iter()
            .map(|f| f.window.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// "Frozen by “Year-end” until Thu 31 Dec 2026 18:00 CET: peak season".
impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(last) = self.freezes.iter().max_by_key(|a| a.span.end) else {
            return write!(f, "Frozen");
        };
        write!(f, "Frozen by “{}” until {}", last.window.name, last.until())?;
        if !last.window.reason.is_empty() {
            write!(f, ": {}", last.window.reason)?;
        }
        if self.freezes.len() > 1 {
            write!(f, " (and {} more)", self.freezes.len() - 1)?;
        }
        Ok(())
    }
}

/// A workspace's windows, one-off first by start, then recurring by name.
pub fn list(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<FreezeWindow>> {
    let rows: Vec<WindowRow> = freeze_windows::table
        .filter(freeze_windows::workspace_id.eq(workspace_id))
        .order((freeze_windows::starts_at.desc(), freeze_windows::name))
        .select((
            freeze_windows::id,
            freeze_windows::name,
            freeze_windows::reason,
            freeze_windows::scope,
            freeze_windows::starts_at,
            freeze_windows::ends_at,
            freeze_windows::schedule,
            freeze_windows::duration_minutes,
            freeze_windows::time_zone,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let limited: Vec<(i64, i64, String)> = freeze_window_regions::table
        .inner_join(regions::table)
        .filter(freeze_window_regions::window_id.eq_any(&ids))
        .order((freeze_window_regions::window_id, regions::display_order))
        .select((freeze_window_regions::window_id, regions::id, regions::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| FreezeWindow {
            regions: limited
                .iter()
                .filter(|(w, _, _)| *w == r.0)
                .map(|(_, id, name)| (*id, name.clone()))
                .collect(),
            id: r.0,
            name: r.1,
            reason: r.2,
            scope: r.3,
            starts_at: r.4,
            ends_at: r.5,
            schedule: r.6,
            duration_minutes: r.7,
            time_zone: r.8,
        })
        .collect())
}

/// The windows that are on at `at`.
pub fn active(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    at: DateTime<Utc>,
) -> QueryResult<Vec<ActiveFreeze>> {
    Ok(on_at(list(conn, workspace_id)?, at))
}

fn on_at(windows: Vec<FreezeWindow>, at: DateTime<Utc>) -> Vec<ActiveFreeze> {
    windows
        .into_iter()
        .filter_map(|w| {
            let span = w.when()?.active_at(at)?;
            Some(ActiveFreeze { window: w, span })
        })
        .collect()
}

/// The stretches that open after `at` within `days` days, soonest first, at most `n`.
pub fn upcoming(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    at: DateTime<Utc>,
    days: i64,
    n: usize,
) -> QueryResult<Vec<ActiveFreeze>> {
    Ok(upcoming_among(&list(conn, workspace_id)?, at, days, n))
}

/// [`upcoming`] of windows already read.
pub fn upcoming_among(
    windows: &[FreezeWindow],
    at: DateTime<Utc>,
    days: i64,
    n: usize,
) -> Vec<ActiveFreeze> {
    let until = at + chrono::Duration::days(days);
    let mut out: Vec<ActiveFreeze> = windows
        .iter()
        .flat_map(|w| {
            let spans = w
                .when()
                .map(|x| x.upcoming(at, until, n))
                .unwrap_or_default();
            spans.into_iter().map(move |span| ActiveFreeze {
                window: w.clone(),
                span,
            })
        })
        .collect();
    out.sort_by_key(|a| a.span.start);
    out.truncate(n);
    out
}

/// An override, as the item's page shows it.
#[derive(Clone, Debug)]
pub struct Override {
    pub windows: String,
    pub reason: String,
    pub by: Option<String>,
    pub at: NaiveDateTime,
}

fn override_of(
    conn: &mut DbConn,
    package: Option<PackageId>,
    task: Option<RegionTaskId>,
) -> QueryResult<Option<Override>> {
    let mut q = freeze_overrides::table
        .left_join(users::table.on(users::id.nullable().eq(freeze_overrides::by_id)))
        .select((
            freeze_overrides::windows,
            freeze_overrides::reason,
            users::username.nullable(),
            freeze_overrides::created_at,
        ))
        .into_boxed();
    q = match (package, task) {
        (Some(p), _) => q.filter(freeze_overrides::package_id.eq(p.get())),
        (_, Some(t)) => q.filter(freeze_overrides::region_task_id.eq(t.get())),
        _ => return Ok(None),
    };
    Ok(
        q.first::<(String, String, Option<String>, NaiveDateTime)>(conn)
            .optional()?
            .map(|(windows, reason, by, at)| Override {
                windows,
                reason,
                by,
                at,
            }),
    )
}

pub fn package_override(conn: &mut DbConn, id: PackageId) -> QueryResult<Option<Override>> {
    override_of(conn, Some(id), None)
}

pub fn region_task_override(conn: &mut DbConn, id: RegionTaskId) -> QueryResult<Option<Override>> {
    override_of(conn, None, Some(id))
}

/// What holds a package's release now: the Task Release windows that are on, unless an admin
/// overrode them for this package.
pub fn holding_package(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    package_id: PackageId,
    at: DateTime<Utc>,
) -> QueryResult<Option<Hold>> {
    let on: Vec<ActiveFreeze> = active(conn, workspace_id, at)?
        .into_iter()
        .filter(|a| a.window.scope.holds_tasks())
        .collect();
    if on.is_empty() || package_override(conn, package_id)?.is_some() {
        return Ok(None);
    }
    Ok(Hold::of(on))
}

/// What holds every other way into production (a simple-mode submission, an import): the Task
/// Release windows that are on; these have no package to override for.
pub fn holding_production(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    at: DateTime<Utc>,
) -> QueryResult<Option<Hold>> {
    Ok(Hold::of(
        active(conn, workspace_id, at)?
            .into_iter()
            .filter(|a| a.window.scope.holds_tasks())
            .collect(),
    ))
}

/// What holds a region task that would deploy to `region_ids` now: the Region Release windows
/// that are on for any of them, unless an admin overrode them for this task.
pub fn holding_region_task(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    region_ids: &[i64],
    at: DateTime<Utc>,
) -> QueryResult<Option<Hold>> {
    let on: Vec<ActiveFreeze> = active(conn, workspace_id, at)?
        .into_iter()
        .filter(|a| region_ids.iter().any(|r| a.window.holds_region(*r)))
        .collect();
    if on.is_empty() || region_task_override(conn, task_id)?.is_some() {
        return Ok(None);
    }
    Ok(Hold::of(on))
}

/// Of `packages` (releasing ones on a page), those a window holds now, with the hold: one
/// read of the windows and, only if one is on, one of the overrides.
pub fn held_packages(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    packages: &[PackageId],
) -> QueryResult<Vec<(PackageId, Hold)>> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let Some(hold) = holding_production(conn, workspace_id, Utc::now())? else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = packages.iter().map(|p| p.get()).collect();
    let overridden: Vec<Option<i64>> = freeze_overrides::table
        .filter(freeze_overrides::package_id.eq_any(&ids))
        .select(freeze_overrides::package_id)
        .load(conn)?;
    Ok(packages
        .iter()
        .filter(|p| !overridden.contains(&Some(p.get())))
        .map(|p| (*p, hold.clone()))
        .collect())
}

/// Of `tasks` (releasing region tasks on a page, each with the regions it deploys to), those
/// held by the windows in `active` (the ones on now, which the caller has read with
/// [`active`]).
pub fn held_region_tasks(
    conn: &mut DbConn,
    active: &[ActiveFreeze],
    tasks: &[(RegionTaskId, Vec<i64>)],
) -> QueryResult<Vec<(RegionTaskId, Hold)>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let on: Vec<&ActiveFreeze> = active
        .iter()
        .filter(|a| a.window.scope.holds_regions())
        .collect();
    if on.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = tasks.iter().map(|(t, _)| t.get()).collect();
    let overridden: Vec<Option<i64>> = freeze_overrides::table
        .filter(freeze_overrides::region_task_id.eq_any(&ids))
        .select(freeze_overrides::region_task_id)
        .load(conn)?;
    Ok(tasks
        .iter()
        .filter(|(t, _)| !overridden.contains(&Some(t.get())))
        .filter_map(|(t, regions)| {
            let holding: Vec<ActiveFreeze> = on
                .iter()
                .filter(|a| regions.iter().any(|r| a.window.holds_region(*r)))
                .map(|a| (*a).clone())
                .collect();
            Hold::of(holding).map(|h| (*t, h))
        })
        .collect())
}

/// A new window, already checked field by field (`routes::freezes`).
pub struct NewWindow {
    pub name: String,
    pub reason: String,
    pub scope: FreezeScope,
    pub when: NewWhen,
    pub regions: Vec<i64>,
}

pub enum NewWhen {
    Once {
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
        time_zone: String,
    },
    Recurring {
        schedule: String,
        minutes: i32,
        time_zone: String,
    },
}

/// Adds a window (workspace admins, tenant administrators). Returns its id.
pub fn create(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    new: &NewWindow,
) -> Result<i64, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let count: i64 = freeze_windows::table
            .filter(freeze_windows::workspace_id.eq(workspace_id))
            .count()
            .get_result(conn)?;
        if count >= MAX_PER_WORKSPACE {
            return Err(AppError::field(
                "name",
                format!(
                    "A workspace has at most {MAX_PER_WORKSPACE} freeze windows; delete one first."
                ),
            ));
        }
        let known: i64 = regions::table
            .filter(regions::workspace_id.eq(workspace_id))
            .filter(regions::id.eq_any(&new.regions))
            .count()
            .get_result(conn)?;
        if known != new.regions.len() as i64 {
            return Err(AppError::field(
                "regions",
                "Choose regions of this workspace.",
            ));
        }
        let (starts, ends, schedule, minutes, tz) = match &new.when {
            NewWhen::Once {
                starts,
                ends,
                time_zone,
            } => (
                Some(starts.naive_utc()),
                Some(ends.naive_utc()),
                "",
                None,
                time_zone.as_str(),
            ),
            NewWhen::Recurring {
                schedule,
                minutes,
                time_zone,
            } => (
                None,
                None,
                schedule.as_str(),
                Some(*minutes),
                time_zone.as_str(),
            ),
        };
        let id: i64 = diesel::insert_into(freeze_windows::table)
            .values((
                freeze_windows::workspace_id.eq(workspace_id),
                freeze_windows::name.eq(&new.name),
                freeze_windows::reason.eq(&new.reason),
                freeze_windows::scope.eq(new.scope),
                freeze_windows::starts_at.eq(starts),
                freeze_windows::ends_at.eq(ends),
                freeze_windows::schedule.eq(schedule),
                freeze_windows::duration_minutes.eq(minutes),
                freeze_windows::time_zone.eq(tz),
                freeze_windows::created_by.eq(Some(actor_id)),
                freeze_windows::created_at.eq(now()),
            ))
            .returning(freeze_windows::id)
            .get_result(conn)?;
        for region in &new.regions {
            diesel::insert_into(freeze_window_regions::table)
                .values((
                    freeze_window_regions::window_id.eq(id),
                    freeze_window_regions::region_id.eq(region),
                ))
                .execute(conn)?;
        }
        let window = list(conn, workspace_id)?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or(AppError::NotFound)?;
        let comment = format!(
            "{}; {}{}; {}",
            window.describe(),
            new.scope.label(),
            if new.scope.holds_regions() {
                format!(" in {}", window.regions_text())
            } else {
                String::new()
            },
            new.reason
        );
        record(
            conn,
            workspace_id,
            actor_id,
            "freeze.created",
            id,
            &new.name,
            &comment,
        )?;
        Ok(id)
    })
}

/// Deletes a window, which ends it at once if it is on: held releases go on at their next look
/// (the worker looks again every `RECHECK_SECONDS` while a window holds an item).
pub fn delete(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let window = list(conn, workspace_id)?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or(AppError::NotFound)?;
        diesel::delete(freeze_windows::table.find(id)).execute(conn)?;
        record(
            conn,
            workspace_id,
            actor_id,
            "freeze.deleted",
            id,
            &window.name,
            &window.describe(),
        )?;
        Ok(window.name)
    })
}

fn record(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    actor_id: UserId,
    action: &str,
    id: i64,
    label: &str,
    comment: &str,
) -> QueryResult<()> {
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(workspace_id),
            actor_id: Some(actor_id),
            action,
            target_type: "freeze_window",
            target_id: Some(id),
            target_label: label,
            comment,
        },
    )
}

/// The workspace's admins, who are told of an override.
fn admins(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<UserId>> {
    memberships::table
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(memberships::role.eq(Role::Admin))
        .select(memberships::user_id)
        .load(conn)
}

fn required_reason(reason: &Comment) -> Result<(), AppError> {
    if reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "Say why this must go out during the freeze; the reason is recorded and sent to the workspace's admins.",
        ));
    }
    Ok(())
}

/// Lets one package through the freezes that hold it now, for the rest of its run (workspace
/// admins, tenant administrators; a reason is required). Refused when nothing holds it, when
/// it is already overridden (two clicks: one override), or when it is finished.
pub fn override_package(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    package_id: PackageId,
    reason: &Comment,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let (status, name): (crate::domain::PackageStatus, String) = release_packages::table
            .filter(release_packages::id.eq(package_id))
            .filter(release_packages::workspace_id.eq(workspace_id))
            .select((release_packages::status, release_packages::name))
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        required_reason(reason)?;
        use crate::domain::PackageStatus as S;
        if !matches!(status, S::PendingApproval | S::Releasing) {
            return Err(AppError::conflict(format!(
                "This package is {}; only a package waiting for review or releasing can pass a freeze.",
                status.label().to_lowercase()
            )));
        }
        let hold = holding_package(conn, workspace_id, package_id, Utc::now())?
            .ok_or_else(|| AppError::conflict("No freeze window holds this package now."))?;
        record_override(
            conn,
            (workspace_id, actor_id),
            Overridden::Package(package_id),
            &name,
            &hold,
            reason,
        )
    })
}

/// Lets one region task through the freezes that hold it now, as `override_package`; refused
/// for a finished task (released or rolled back).
pub fn override_region_task(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    reason: &Comment,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let (name, status): (String, crate::domain::RegionTaskStatus) = region_tasks::table
            .filter(region_tasks::id.eq(task_id))
            .filter(region_tasks::workspace_id.eq(workspace_id))
            .select((region_tasks::name, region_tasks::status))
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        required_reason(reason)?;
        if !status.can_pass_freeze() {
            return Err(AppError::conflict(format!(
                "This task is {}; only a task that has not finished can pass a freeze.",
                status.label().to_lowercase()
            )));
        }
        let regions = super::region_release::task_regions(conn, task_id)?;
        let hold = holding_region_task(conn, workspace_id, task_id, &regions, Utc::now())?
            .ok_or_else(|| AppError::conflict("No freeze window holds this task now."))?;
        record_override(
            conn,
            (workspace_id, actor_id),
            Overridden::RegionTask(task_id),
            &name,
            &hold,
            reason,
        )
    })
}

#[derive(Clone, Copy)]
enum Overridden {
    Package(PackageId),
    RegionTask(RegionTaskId),
}

/// Records an override in the caller's transaction: its row (unique per item, so of two at
/// once one is refused), the audit entry with the windows and the reason, the held job woken,
/// and the workspace's admins (but the one who overrode) told by email (on by default) and to
/// hooks that chose the event.
fn record_override(
    conn: &mut DbConn,
    (workspace_id, actor_id): (WorkspaceId, UserId),
    what: Overridden,
    label: &str,
    hold: &Hold,
    reason: &Comment,
) -> Result<(), AppError> {
    use super::notifications::{self, Event, NotificationKind, Subject};
    let (package, task, action, target_type, target_id, subject) = match what {
        Overridden::Package(p) => (
            Some(p.get()),
            None,
            "package.freeze_overridden",
            "package",
            p.get(),
            Subject::Package(p),
        ),
        Overridden::RegionTask(t) => (
            None,
            Some(t.get()),
            "region_task.freeze_overridden",
            "region_task",
            t.get(),
            Subject::RegionTask(t),
        ),
    };
    let inserted = diesel::insert_into(freeze_overrides::table)
        .values((
            freeze_overrides::workspace_id.eq(workspace_id),
            freeze_overrides::package_id.eq(package),
            freeze_overrides::region_task_id.eq(task),
            freeze_overrides::windows.eq(hold.names()),
            freeze_overrides::reason.eq(reason.as_str()),
            freeze_overrides::by_id.eq(Some(actor_id)),
            freeze_overrides::created_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {
            return Err(AppError::conflict(
                "Someone overrode the freeze for this at the same moment.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(workspace_id),
            actor_id: Some(actor_id),
            action,
            target_type,
            target_id: Some(target_id),
            target_label: label,
            comment: &format!("{}: {}", hold.names(), reason.as_str()),
        },
    )?;
    match what {
        Overridden::Package(p) => {
            super::jobs::wake(conn, super::jobs::RELEASE_PACKAGE, &p.to_string())?;
        }
        Overridden::RegionTask(t) => {
            if let Some((execution, _)) = super::region_release::running_execution(conn, t)? {
                super::jobs::wake(conn, super::region_release::QUEUE, &execution.to_string())?;
            }
        }
    }
    let recipients = admins(conn, workspace_id)?;
    notifications::raise(
        conn,
        Event {
            kind: NotificationKind::FreezeOverridden,
            workspace_id,
            subject,
            actor: Some(actor_id),
        },
        &recipients,
    )?;
    Ok(())
}
