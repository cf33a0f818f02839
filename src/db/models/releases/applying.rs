//! The release job's transitions (the worker calls them, `crate::worker`): a releasing package's
//! waiting tasks are applied to production one per transaction, then the package gets its
//! outcome. Each task's step is a guarded update from `waiting` in the same transaction as the
//! production change, so a worker that crashed mid-package resumes where it stopped and applies
//! nothing twice.

use crate::domain::{PackageId, UserId};
use crate::domain::{TaskId, WorkspaceId};
use diesel::prelude::*;

use crate::db::models::audit::{self, AuditEntry};
use crate::db::models::insights;
use crate::db::models::notifications::{self, Event, NotificationKind, Subject};
use crate::db::models::production::{self, Authority, NotApplied};
use crate::db::models::scripts;
use crate::db::schema::{package_reviewers, package_tasks, release_packages, release_tasks};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{PackageStatus, ReleaseStatus, StartupStatus, TaskStatus};
use crate::error::AppError;
use chrono::NaiveDateTime;

/// What `release_next_task` did.
#[derive(Debug)]
pub enum Next {
    /// Released (or failed) one task; there may be more.
    Applied,
    /// No task left, or the package stopped releasing.
    Done,
    /// A freeze window holds the package: nothing was applied.
    Held(crate::db::models::freezes::Hold),
}

/// Releases the next waiting task of a releasing package, in its own transaction: claims it from
/// `waiting` (guarded), applies it to production, records the outcome on the task, the package
/// task, the package's counters and the lead-time rollup (`insights`). A freeze window that holds
/// the package (`freezes`, checked by `production::apply`) leaves every task waiting and says
/// until when.
pub fn release_next_task(conn: &mut DbConn, package_id: PackageId) -> Result<Next, AppError> {
    write_tx(conn, |conn| {
        let (workspace_id, status, name): (WorkspaceId, PackageStatus, String) =
            release_packages::table
                .find(package_id)
                .select((
                    release_packages::workspace_id,
                    release_packages::status,
                    release_packages::name,
                ))
                .first(conn)?;
        if status != PackageStatus::Releasing {
            return Ok(Next::Done);
        }
        let next: Option<(TaskId, i64, i64, NaiveDateTime)> = package_tasks::table
            .inner_join(release_tasks::table)
            .filter(package_tasks::package_id.eq(package_id))
            .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting))
            .select((
                package_tasks::task_id,
                release_tasks::version_id,
                release_tasks::script_id,
                release_tasks::submitted_at,
            ))
            .order(package_tasks::position)
            .first(conn)
            .optional()?;
        let Some((task_id, version_id, script_id, submitted_at)) = next else {
            return Ok(Next::Done);
        };
        let version = scripts::version_by_id(conn, version_id)?;
        let (release_status, task_status, startup, message) =
            match production::apply(conn, workspace_id, &version, Authority::Package(package_id)) {
                Ok(applied) => (
                    ReleaseStatus::Released,
                    TaskStatus::Released,
                    applied.startup,
                    applied.message,
                ),
                // A freeze window: nothing changed, the task stays waiting.
                Err(NotApplied::Held(hold)) => return Ok(Next::Held(hold)),
                // A newer live version (Conflict), or a package without the approval it needs
                // (Forbidden: no path should enqueue one, but the rule holds here too).
                Err(NotApplied::Refused(
                    AppError::Conflict(reason) | AppError::Forbidden(reason),
                )) => (
                    ReleaseStatus::Failed,
                    TaskStatus::Failed,
                    StartupStatus::NotStarted,
                    reason,
                ),
                Err(NotApplied::Refused(e)) => return Err(e),
            };
        let ts = now();
        let claimed = diesel::update(
            package_tasks::table
                .find((package_id, task_id))
                .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting)),
        )
        .set((
            package_tasks::release_status.eq(release_status),
            package_tasks::startup_status.eq(startup),
            package_tasks::message.eq(&message),
            package_tasks::finished_at.eq(Some(ts)),
        ))
        .execute(conn)?;
        if claimed != 1 {
            // Another worker finished this task first; this transaction rolls back its copy.
            return Err(AppError::conflict(
                "task already released by another worker",
            ));
        }
        diesel::update(release_tasks::table.find(task_id))
            .set((
                release_tasks::status.eq(task_status),
                release_tasks::status_reason.eq(if task_status == TaskStatus::Failed {
                    message.as_str()
                } else {
                    ""
                }),
                release_tasks::updated_at.eq(ts),
            ))
            .execute(conn)?;
        let counters = diesel::update(release_packages::table.find(package_id));
        if release_status == ReleaseStatus::Released {
            insights::count_lead_time(conn, workspace_id, submitted_at, ts)?;
            counters
                .set(release_packages::done_count.eq(release_packages::done_count + 1))
                .execute(conn)?;
        } else {
            counters
                .set(release_packages::failed_count.eq(release_packages::failed_count + 1))
                .execute(conn)?;
        }
        let label = format!(
            "{} v{} ({name})",
            version_label(conn, script_id)?,
            version.number
        );
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: None,
                action: if task_status == TaskStatus::Released {
                    "task.released"
                } else {
                    "task.release_failed"
                },
                target_type: "task",
                target_id: Some(task_id.get()),
                target_label: &label,
                comment: &message,
            },
        )?;
        Ok(Next::Applied)
    })
}

fn version_label(conn: &mut DbConn, script_id: i64) -> QueryResult<String> {
    use crate::db::schema::scripts;
    scripts::table
        .find(script_id)
        .select(scripts::path)
        .first(conn)
}

/// The release job is dead (its last attempt failed): every task still waiting fails with the
/// reason, and the package finishes, in one transaction.
pub fn give_up(conn: &mut DbConn, package_id: PackageId, reason: &str) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let waiting: Vec<TaskId> = package_tasks::table
            .filter(package_tasks::package_id.eq(package_id))
            .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting))
            .select(package_tasks::task_id)
            .load(conn)?;
        let ts = now();
        for task_id in &waiting {
            diesel::update(package_tasks::table.find((package_id, task_id)))
                .set((
                    package_tasks::release_status.eq(ReleaseStatus::Failed),
                    package_tasks::message.eq(reason),
                    package_tasks::finished_at.eq(Some(ts)),
                ))
                .execute(conn)?;
            diesel::update(release_tasks::table.find(task_id))
                .set((
                    release_tasks::status.eq(TaskStatus::Failed),
                    release_tasks::status_reason.eq(reason),
                    release_tasks::updated_at.eq(ts),
                ))
                .execute(conn)?;
        }
        diesel::update(release_packages::table.find(package_id))
            .set(
                release_packages::failed_count
                    .eq(release_packages::failed_count + waiting.len() as i32),
            )
            .execute(conn)?;
        finish(conn, package_id)
    })
}

/// Every task finished: the package becomes released, partially failed or failed (guarded), in
/// its own transaction.
pub fn finish_package(conn: &mut DbConn, package_id: PackageId) -> Result<(), AppError> {
    write_tx(conn, |conn| finish(conn, package_id))
}

fn finish(conn: &mut DbConn, package_id: PackageId) -> Result<(), AppError> {
    let (workspace_id, name, done, failed): (WorkspaceId, String, i32, i32) =
        release_packages::table
            .find(package_id)
            .select((
                release_packages::workspace_id,
                release_packages::name,
                release_packages::done_count,
                release_packages::failed_count,
            ))
            .first(conn)?;
    let outcome = PackageStatus::outcome(done, failed);
    let moved = diesel::update(
        release_packages::table
            .find(package_id)
            .filter(release_packages::status.eq(PackageStatus::Releasing)),
    )
    .set((
        release_packages::status.eq(outcome),
        release_packages::released_at.eq(Some(now())),
    ))
    .execute(conn)?;
    if moved == 1 {
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: None,
                action: match outcome {
                    PackageStatus::Released => "package.released",
                    PackageStatus::PartiallyFailed => "package.partially_failed",
                    _ => "package.failed",
                },
                target_type: "package",
                target_id: Some(package_id.get()),
                target_label: &name,
                comment: &format!("{done} released, {failed} failed"),
            },
        )?;
        // The applicant and whoever approved learn the outcome.
        let (applicant, decided_by): (UserId, Option<UserId>) = release_packages::table
            .find(package_id)
            .select((release_packages::applicant_id, release_packages::decided_by))
            .first(conn)?;
        let mut told: Vec<UserId> = package_reviewers::table
            .filter(package_reviewers::package_id.eq(package_id))
            .filter(package_reviewers::decision.eq(super::Decision::Approve))
            .select(package_reviewers::reviewer_id)
            .load(conn)?;
        told.push(applicant);
        told.extend(decided_by);
        notifications::raise(
            conn,
            Event {
                kind: match outcome {
                    PackageStatus::Released => NotificationKind::PackageReleased,
                    PackageStatus::PartiallyFailed => NotificationKind::PackagePartiallyFailed,
                    _ => NotificationKind::PackageFailed,
                },
                workspace_id,
                subject: Subject::Package(package_id),
                actor: None,
            },
            &told,
        )?;
    }
    Ok(())
}
