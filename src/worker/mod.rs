//! The durable background worker: claims jobs from the `jobs` table, keeps their leases with
//! heartbeats, hands them back when asked to stop, and runs each through the data layer's
//! transitions: a package release one task per transaction (`releases::release_next_task`, so a
//! crash mid-package resumes where it stopped and applies nothing twice), a region execution
//! one component per transaction (`region`). It reads and writes no table itself.

pub mod drivers;
pub mod hooks;
pub mod notify;
pub mod poller;
pub mod region;

use crate::domain::PackageId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::db::models::{freezes, jobs, region_release, releases};
use crate::db::{DbConn, Pool};
use crate::domain::PrivateDestinations;
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
    if let Some(job) = jobs::claim(conn, region_release::QUEUE, name, lease)? {
        run_region_job(conn, job, holder, stop, private_webhooks)?;
        return Ok(true);
    }
    let Some(job) = jobs::claim(conn, jobs::RELEASE_PACKAGE, name, lease)? else {
        return Ok(false);
    };
    let outcome = match job.payload.parse::<PackageId>() {
        Ok(package_id) => release_package(conn, package_id, job.id, holder, stop),
        Err(_) => Err(AppError::internal(anyhow::anyhow!(
            "bad payload {:?}",
            job.payload
        ))),
    };
    match outcome {
        Ok(PackageRun::Finished) => jobs::complete(conn, job.id)?,
        // Stopped between tasks: hand the job back at once.
        Ok(PackageRun::Stopped) => jobs::hand_back(conn, job.id)?,
        Ok(PackageRun::Held(until)) => jobs::defer(conn, job.id, until)?,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "release job failed; will retry");
            if jobs::fail(conn, job.id, job.attempts, &e.to_string())?
                && let Ok(package_id) = job.payload.parse::<PackageId>()
            {
                // The last attempt failed: say so on the package instead of leaving it releasing.
                let reason = format!(
                    "the release worker gave up after {} attempts: {e}",
                    job.attempts
                );
                releases::give_up(conn, package_id, &reason)?;
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
        Ok(region::Ran::Held(until)) => jobs::defer(conn, job.id, until)?,
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "region job failed; will retry");
            if jobs::fail(conn, job.id, job.attempts, &e.to_string())?
                && let Ok(execution_id) = job.payload.parse::<i64>()
            {
                let reason = format!("the worker gave up after {} attempts: {e}", job.attempts);
                region_release::execution::give_up(conn, execution_id, &reason)?;
            }
        }
    }
    Ok(())
}

/// How a package's run ended for now.
enum PackageRun {
    Finished,
    /// Asked to stop between tasks.
    Stopped,
    /// A freeze window holds it: look again then.
    Held(chrono::NaiveDateTime),
}

/// Applies the package's waiting tasks one at a time, then records the package's outcome.
/// A freeze window that begins meanwhile holds it after the task in flight.
fn release_package(
    conn: &mut DbConn,
    package_id: PackageId,
    job_id: i64,
    holder: &Holder,
    stop: &AtomicBool,
) -> Result<PackageRun, AppError> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(PackageRun::Stopped);
        }
        match releases::release_next_task(conn, package_id)? {
            releases::Next::Applied => {}
            releases::Next::Done => break,
            releases::Next::Held(hold) => {
                return Ok(PackageRun::Held(freezes::look_again(&hold)));
            }
        }
        jobs::heartbeat(conn, job_id, &holder.name, holder.lease_seconds)?;
    }
    releases::finish_package(conn, package_id)?;
    Ok(PackageRun::Finished)
}
