//! The durable background worker: claims release jobs from the `jobs` table and applies each
//! package task to production in its own transaction, so a crash mid-package resumes where it
//! stopped (the next claim, after the lease expires) and applies nothing twice (each task's
//! step is a guarded update from `waiting`, in the same transaction as the production change).

pub mod drivers;
pub mod region;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::prelude::*;

use crate::db::models::audit::{self, AuditEntry};
use crate::db::models::production::{self, Authority};
use crate::db::models::{jobs, scripts};
use crate::db::schema::{package_tasks, release_packages, release_tasks};
use crate::db::{DbConn, Pool, now, write_tx};
use crate::domain::{PackageStatus, PrivateDestinations, ReleaseStatus, TaskStatus};
use crate::error::AppError;

/// How often an idle worker looks for work.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Who holds claimed jobs: a name unique to this worker, and how long a claim lasts without a
/// heartbeat before another worker may resume the job.
#[derive(Clone, Debug)]
pub struct Holder {
    pub name: String,
    pub lease_seconds: i64,
}

impl Holder {
    pub fn new(name: impl Into<String>, lease_seconds: i64) -> Holder {
        Holder {
            name: name.into(),
            lease_seconds: lease_seconds.max(1),
        }
    }
}

/// A running worker thread; `stop` lets it finish the step it is in, hand its job back, and
/// return.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// `private_webhooks`: whether region webhooks may go to internal addresses.
    pub fn spawn(pool: Pool, lease_seconds: i64, private_webhooks: PrivateDestinations) -> Worker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let holder = Holder::new(
            format!(
                "worker-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            lease_seconds,
        );
        let thread = std::thread::Builder::new()
            .name("release-worker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match run_once(&pool, &holder, &flag, private_webhooks) {
                        Ok(true) => {}
                        Ok(false) => std::thread::sleep(POLL_INTERVAL),
                        Err(e) => {
                            tracing::warn!(error = %e, "release worker");
                            std::thread::sleep(POLL_INTERVAL * 5);
                        }
                    }
                }
            })
            .ok();
        Worker { stop, thread }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Claims and runs one job. `Ok(false)` when there was none.
pub fn run_once(
    pool: &Pool,
    holder: &Holder,
    stop: &AtomicBool,
    private_webhooks: PrivateDestinations,
) -> Result<bool, AppError> {
    let mut conn = pool.get()?;
    run_once_on(&mut conn, holder, stop, private_webhooks)
}

/// Runs every due job now on this connection, and waits for due jobs another worker holds,
/// until none is left (demo seeding and tests; another instance's worker may be running). Gives
/// up after a minute. Webhooks to internal addresses are refused, as by a server started without
/// `--allow-private-webhooks`.
pub fn drain(conn: &mut DbConn) -> Result<usize, AppError> {
    let stop = AtomicBool::new(false);
    let holder = Holder::new("drain", jobs::LEASE_SECONDS);
    let mut n = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if run_once_on(conn, &holder, &stop, PrivateDestinations::Refused)? {
            n += 1;
            continue;
        }
        if !jobs::any_due_or_running(conn)? {
            return Ok(n);
        }
        if std::time::Instant::now() > deadline {
            return Err(AppError::internal(anyhow::anyhow!(
                "jobs still running after a minute"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_once_on(
    conn: &mut DbConn,
    holder: &Holder,
    stop: &AtomicBool,
    private_webhooks: PrivateDestinations,
) -> Result<bool, AppError> {
    let conn = &mut *conn;
    let (name, lease) = (holder.name.as_str(), holder.lease_seconds);
    if let Some(job) = jobs::claim(conn, crate::db::models::region_release::QUEUE, name, lease)? {
        run_region_job(conn, job, holder, stop, private_webhooks)?;
        return Ok(true);
    }
    let Some(job) = jobs::claim(conn, jobs::RELEASE_PACKAGE, name, lease)? else {
        return Ok(false);
    };
    let outcome = match job.payload.parse::<i64>() {
        Ok(package_id) => release_package(conn, package_id, job.id, holder, stop),
        Err(_) => Err(AppError::internal(anyhow::anyhow!(
            "bad payload {:?}",
            job.payload
        ))),
    };
    match outcome {
        Ok(true) => jobs::complete(conn, job.id)?,
        // Stopped between tasks: hand the job back at once.
        Ok(false) => jobs::hand_back(conn, job.id)?,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "release job failed; will retry");
            if jobs::fail(conn, job.id, job.attempts, &e.to_string())?
                && let Ok(package_id) = job.payload.parse::<i64>()
            {
                // The last attempt failed: say so on the package instead of leaving it releasing.
                let reason = format!(
                    "the release worker gave up after {} attempts: {e}",
                    job.attempts
                );
                write_tx(conn, |conn| give_up(conn, package_id, &reason))?;
            }
        }
    }
    Ok(true)
}

/// A region execution job: run it; on failure retry, and when the last attempt fails, fail the
/// task instead of leaving it running. Asked to stop, it hands the job back after the component
/// in flight is recorded.
fn run_region_job(
    conn: &mut DbConn,
    job: jobs::Claimed,
    holder: &Holder,
    stop: &AtomicBool,
    private_webhooks: PrivateDestinations,
) -> Result<(), AppError> {
    let outcome = match job.payload.parse::<i64>() {
        Ok(execution_id) => region::run(conn, execution_id, stop, private_webhooks, &mut |conn| {
            let _ = jobs::heartbeat(conn, job.id, &holder.name, holder.lease_seconds);
        }),
        Err(_) => Err(AppError::internal(anyhow::anyhow!(
            "bad payload {:?}",
            job.payload
        ))),
    };
    match outcome {
        Ok(region::Ran::ToTheEnd) => jobs::complete(conn, job.id)?,
        Ok(region::Ran::Stopped) => jobs::hand_back(conn, job.id)?,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "region job failed; will retry");
            if jobs::fail(conn, job.id, job.attempts, &e.to_string())?
                && let Ok(execution_id) = job.payload.parse::<i64>()
            {
                let reason = format!("the worker gave up after {} attempts: {e}", job.attempts);
                region::give_up(conn, execution_id, &reason)?;
            }
        }
    }
    Ok(())
}

/// Applies the package's waiting tasks one at a time, then records the package's outcome.
/// Returns `Ok(false)` if asked to stop before it finished.
fn release_package(
    conn: &mut DbConn,
    package_id: i64,
    job_id: i64,
    holder: &Holder,
    stop: &AtomicBool,
) -> Result<bool, AppError> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let progressed = step(conn, package_id)?;
        if !progressed {
            break;
        }
        jobs::heartbeat(conn, job_id, &holder.name, holder.lease_seconds)?;
    }
    write_tx(conn, |conn| finish_package(conn, package_id))?;
    Ok(true)
}

/// Releases the next waiting task of a releasing package, in its own transaction. `false` when
/// none is left. Public so a test can stop a "crashed" worker after exactly one task.
pub fn step(conn: &mut DbConn, package_id: i64) -> Result<bool, AppError> {
    write_tx(conn, |conn| release_next_task(conn, package_id))
}

/// One task, in one transaction: claim it from `waiting` (guarded), apply it to production,
/// record the outcome on the task, the package task and the package's counters.
fn release_next_task(conn: &mut DbConn, package_id: i64) -> Result<bool, AppError> {
    let (workspace_id, status, name): (i64, String, String) = release_packages::table
        .find(package_id)
        .select((
            release_packages::workspace_id,
            release_packages::status,
            release_packages::name,
        ))
        .first(conn)?;
    if status != PackageStatus::Releasing.as_str() {
        return Ok(false);
    }
    let next: Option<(i64, i64, i64)> = package_tasks::table
        .inner_join(release_tasks::table)
        .filter(package_tasks::package_id.eq(package_id))
        .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting.as_str()))
        .select((
            package_tasks::task_id,
            release_tasks::version_id,
            release_tasks::script_id,
        ))
        .order(package_tasks::position)
        .first(conn)
        .optional()?;
    let Some((task_id, version_id, script_id)) = next else {
        return Ok(false);
    };
    let version = scripts::version_by_id(conn, version_id)?;
    let (release_status, task_status, startup, message, counter) =
        match production::apply(conn, workspace_id, &version, Authority::Package(package_id)) {
            Ok(applied) => (
                ReleaseStatus::Released,
                TaskStatus::Released,
                applied.startup,
                applied.message,
                "done",
            ),
            // A newer live version (Conflict), or a package without the approval it needs
            // (Forbidden: no path should enqueue one, but the rule holds here too).
            Err(AppError::Conflict(reason) | AppError::Forbidden(reason)) => (
                ReleaseStatus::Failed,
                TaskStatus::Failed,
                crate::domain::StartupStatus::NotStarted,
                reason,
                "failed",
            ),
            Err(e) => return Err(e),
        };
    let ts = now();
    let claimed = diesel::update(
        package_tasks::table
            .find((package_id, task_id))
            .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting.as_str())),
    )
    .set((
        package_tasks::release_status.eq(release_status.as_str()),
        package_tasks::startup_status.eq(startup.as_str()),
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
            release_tasks::status.eq(task_status.as_str()),
            release_tasks::status_reason.eq(if task_status == TaskStatus::Failed {
                message.as_str()
            } else {
                ""
            }),
            release_tasks::updated_at.eq(ts),
        ))
        .execute(conn)?;
    let counters = diesel::update(release_packages::table.find(package_id));
    if counter == "done" {
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
            target_id: Some(task_id),
            target_label: &label,
            comment: &message,
        },
    )?;
    Ok(true)
}

fn version_label(conn: &mut DbConn, script_id: i64) -> QueryResult<String> {
    use crate::db::schema::scripts;
    scripts::table
        .find(script_id)
        .select(scripts::path)
        .first(conn)
}

/// The job is dead: every task still waiting fails with the reason, and the package finishes.
fn give_up(conn: &mut DbConn, package_id: i64, reason: &str) -> Result<(), AppError> {
    let waiting: Vec<i64> = package_tasks::table
        .filter(package_tasks::package_id.eq(package_id))
        .filter(package_tasks::release_status.eq(ReleaseStatus::Waiting.as_str()))
        .select(package_tasks::task_id)
        .load(conn)?;
    let ts = now();
    for task_id in &waiting {
        diesel::update(package_tasks::table.find((package_id, task_id)))
            .set((
                package_tasks::release_status.eq(ReleaseStatus::Failed.as_str()),
                package_tasks::message.eq(reason),
                package_tasks::finished_at.eq(Some(ts)),
            ))
            .execute(conn)?;
        diesel::update(release_tasks::table.find(task_id))
            .set((
                release_tasks::status.eq(TaskStatus::Failed.as_str()),
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
    finish_package(conn, package_id)
}

/// Every task finished: the package becomes released, partially failed or failed (guarded).
fn finish_package(conn: &mut DbConn, package_id: i64) -> Result<(), AppError> {
    let (workspace_id, name, done, failed): (i64, String, i32, i32) = release_packages::table
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
            .filter(release_packages::status.eq(PackageStatus::Releasing.as_str())),
    )
    .set((
        release_packages::status.eq(outcome.as_str()),
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
                target_id: Some(package_id),
                target_label: &name,
                comment: &format!("{done} released, {failed} failed"),
            },
        )?;
    }
    Ok(())
}
