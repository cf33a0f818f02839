//! Runs region release executions: one step at a time, each component's outcome committed before
//! the next begins; checkpoints stop the execution until a person decides (the decision enqueues
//! the continuation); `suspending` stops it after the running step; rollback restores each
//! region's previous inventory entry for the components the task changed. Every read and state
//! change is a call into `db::models::region_release::execution`; deploying goes through the
//! region's driver (`drivers`) between those calls, outside any transaction, since a webhook may
//! take seconds.

use std::sync::atomic::{AtomicBool, Ordering};

use super::drivers::{self, Payload, Report};
use crate::db::models::freezes;
use crate::db::models::region_release::execution::{self, Answer, Execution, Prepared};
use crate::db::models::region_release::{self, RegionTask};
use crate::db::{DbConn, now};
use crate::domain::{PrivateDestinations, RegionTaskStatus, StepKind, StepStatus};
use crate::error::AppError;

/// How far a call to `run` got.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// Finished, waiting at a checkpoint, or nothing left to do: the job is complete.
    ToTheEnd,
    /// Asked to stop (shutdown) between two components: the job goes back to the queue and the
    /// next worker continues from the first component without a recorded result.
    Stopped,
    /// A freeze window holds the next component: the job waits until this time and the next
    /// worker continues from there.
    Held(chrono::NaiveDateTime),
}

/// How far a deploy step got.
enum StepRun {
    /// Every component has its outcome; whether any failed.
    Finished {
        failed: bool,
    },
    Stopped,
    Held(chrono::NaiveDateTime),
}

fn answer(r: &Report) -> Answer<'_> {
    Answer {
        message: &r.message,
        response_body: r.response_body.as_deref(),
    }
}

/// Runs (or continues) execution `id` until it finishes, waits at a checkpoint, or `stop` is
/// set. `heartbeat` is called before each component so a long execution keeps its job's lease.
/// `private` says whether webhooks may go to internal addresses.
pub fn run(
    conn: &mut DbConn,
    id: i64,
    stop: &AtomicBool,
    private: PrivateDestinations,
    heartbeat: &mut dyn FnMut(&mut DbConn),
) -> Result<Ran, AppError> {
    let exec = execution::load_execution(conn, id)?;
    if exec.is_rollback() {
        return run_rollback(conn, &exec, stop, private, heartbeat);
    }
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Ran::Stopped);
        }
        let task = execution::task_of(conn, exec.task_id)?;
        match task.status() {
            RegionTaskStatus::Releasing => {}
            RegionTaskStatus::Suspending => {
                execution::mark_suspended(conn, &task)?;
                return Ok(Ran::ToTheEnd);
            }
            // Rejected at a checkpoint, or otherwise finished: nothing left to do.
            _ => return Ok(Ran::ToTheEnd),
        }
        let steps = region_release::steps(conn, task.id)?;
        let next = steps.iter().find(|s| {
            s.position >= exec.start
                && matches!(
                    s.status(),
                    StepStatus::Pending | StepStatus::Running | StepStatus::Waiting
                )
        });
        let Some(step) = next.cloned() else {
            execution::finish_release(conn, &exec, &steps)?;
            return Ok(Ran::ToTheEnd);
        };
        match step.kind() {
            StepKind::Approval | StepKind::Trigger => {
                if step.status() == StepStatus::Pending {
                    execution::wait_at_checkpoint(conn, &task, &step)?;
                }
                // The decision enqueues the continuation.
                return Ok(Ran::ToTheEnd);
            }
            StepKind::Deploy => {
                if !execution::begin_deploy_step(conn, exec.id, &step)? {
                    return Ok(Ran::ToTheEnd);
                }
                let at = execution::deploy_step(conn, &exec, &task, &step)?;
                let failed = match run_deploy_step(conn, &at, stop, private, heartbeat)? {
                    StepRun::Finished { failed } => failed,
                    StepRun::Stopped => return Ok(Ran::Stopped),
                    StepRun::Held(until) => return Ok(Ran::Held(until)),
                };
                if failed && !task.best_effort {
                    execution::fail_after_step(conn, &task, &step)?;
                    return Ok(Ran::ToTheEnd);
                }
            }
        }
    }
}

/// Deploys every component of a step that this execution has not deployed yet; each outcome is
/// recorded in its own transaction. Says whether any component failed, or that `stop` was set
/// or a freeze window began before the step finished (its recorded components stay recorded).
fn run_deploy_step(
    conn: &mut DbConn,
    at: &execution::DeployStep,
    stop: &AtomicBool,
    private: PrivateDestinations,
    heartbeat: &mut dyn FnMut(&mut DbConn),
) -> Result<StepRun, AppError> {
    let (exec, task, step, region) = (at.exec, at.task, at.step, &at.region);
    for c in &at.components {
        if execution::component_recorded(conn, exec.id, step.id, c.id)? {
            continue; // Finished before a restart: never deployed twice.
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(StepRun::Stopped);
        }
        heartbeat(conn);
        let started = now();
        let (previous, config) = match execution::prepare_deploy(conn, at, c, started)? {
            Prepared::AlreadyDeployed => continue,
            Prepared::Deploy { previous, config } => (previous, config),
            Prepared::Held(hold) => return Ok(StepRun::Held(freezes::look_again(&hold))),
        };
        let outcome = match config {
            Err(why) => Err(Report::from(why)),
            Ok(config) => {
                let payload = Payload {
                    delivery: format!("{}-{}-{}", exec.id, step.id, c.id),
                    action: "deploy",
                    task_id: task.id,
                    task: &task.name,
                    region: &region.name,
                    component: &c.name,
                    present: true,
                    config: Some(&config),
                };
                drivers::apply(region, &payload, private).map(|msg| (msg, config))
            }
        };
        let failed = outcome.is_err();
        let recorded = match &outcome {
            Ok((report, config)) => Ok((config, answer(report))),
            Err(report) => Err(answer(report)),
        };
        execution::record_deployed(conn, at, c, started, previous, recorded)?;
        if failed && !task.best_effort {
            break;
        }
    }
    execution::finish_deploy_step(conn, at).map(|failed| StepRun::Finished { failed })
}

/// Restores, for every (region, component) the task changed, the entry it replaced.
fn run_rollback(
    conn: &mut DbConn,
    exec: &Execution,
    stop: &AtomicBool,
    private: PrivateDestinations,
    heartbeat: &mut dyn FnMut(&mut DbConn),
) -> Result<Ran, AppError> {
    let task: RegionTask = execution::task_of(conn, exec.task_id)?;
    for change in execution::changes_to_undo(conn, task.id)? {
        if execution::component_recorded(conn, exec.id, change.step_id, change.component_id)? {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(Ran::Stopped);
        }
        heartbeat(conn);
        let restore = execution::prepare_restore(conn, &task, &change)?;
        let started = now();
        let config: Option<crate::db::models::regions::Config> =
            serde_json::from_str(&restore.config_json).ok();
        let payload = Payload {
            delivery: format!("{}-{}-{}", exec.id, change.step_id, change.component_id),
            action: "rollback",
            task_id: task.id,
            task: &task.name,
            region: &restore.region.name,
            component: &restore.component.name,
            present: restore.present,
            config: config.as_ref().filter(|_| restore.present),
        };
        let outcome = drivers::apply(&restore.region, &payload, private);
        let recorded = match &outcome {
            Ok(report) => Ok(answer(report)),
            Err(report) => Err(answer(report)),
        };
        execution::record_rolled_back(conn, exec, &task, &restore, started, recorded)?;
    }
    execution::finish_rollback(conn, exec, &task)?;
    Ok(Ran::ToTheEnd)
}
