//! Region release executions: one step at a time, each component's outcome committed before the
//! next begins; checkpoints stop the execution until a person decides (the decision enqueues the
//! continuation); `suspending` stops it after the running step; rollback restores each region's
//! previous inventory entry for the components the task changed. Deploying goes through the
//! region's driver (`drivers`), outside any transaction, since a webhook may take seconds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;

use super::drivers::{self, Payload, Report};
use crate::db::models::audit::{self, AuditEntry};
use crate::db::models::region_release::{self, Step};
use crate::db::models::regions::{self, Region};
use crate::db::schema::{
    execution_results, inventory_entries, region_executions, region_task_steps, region_tasks,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{Operation, PrivateDestinations, RegionTaskStatus, StepKind, StepStatus};
use crate::error::AppError;

struct Execution {
    id: i64,
    task_id: i64,
    kind: String,
    start: i32,
}

fn load_execution(conn: &mut DbConn, id: i64) -> QueryResult<Execution> {
    let (task_id, kind, start): (i64, String, i32) = region_executions::table
        .find(id)
        .select((
            region_executions::task_id,
            region_executions::kind,
            region_executions::start_position,
        ))
        .first(conn)?;
    Ok(Execution {
        id,
        task_id,
        kind,
        start,
    })
}

fn task_of(conn: &mut DbConn, task_id: i64) -> QueryResult<region_release::RegionTask> {
    region_tasks::table
        .find(task_id)
        .select(region_release::RegionTask::as_select())
        .first(conn)
}

fn audit_task(
    conn: &mut DbConn,
    task: &region_release::RegionTask,
    action: &str,
    comment: &str,
) -> QueryResult<()> {
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(task.workspace_id),
            actor_id: None,
            action,
            target_type: "region_task",
            target_id: Some(task.id),
            target_label: &task.name,
            comment,
        },
    )
}

/// The job's last attempt failed: the task ends failed instead of staying busy forever.
pub fn give_up(conn: &mut DbConn, id: i64, reason: &str) -> Result<(), AppError> {
    let exec = load_execution(conn, id)?;
    write_tx(conn, |conn| {
        let task = task_of(conn, exec.task_id)?;
        let to = if exec.kind == "rollback" {
            RegionTaskStatus::RollbackFailed
        } else {
            RegionTaskStatus::ReleaseFailed
        };
        let moved = diesel::update(region_tasks::table.find(task.id).filter(
            region_tasks::status.eq_any([
                RegionTaskStatus::Releasing.as_str(),
                RegionTaskStatus::Suspending.as_str(),
                RegionTaskStatus::RollingBack.as_str(),
            ]),
        ))
        .set((
            region_tasks::status.eq(to.as_str()),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved == 1 {
            region_release::finish_running_execution(conn, task.id, "failed")?;
            audit_task(conn, &task, "region_task.worker_gave_up", reason)?;
        }
        Ok::<_, AppError>(())
    })
}

/// How far a call to `run` got.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// Finished, waiting at a checkpoint, or nothing left to do: the job is complete.
    ToTheEnd,
    /// Asked to stop (shutdown) between two components: the job goes back to the queue and the
    /// next worker continues from the first component without a recorded result.
    Stopped,
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
    let exec = load_execution(conn, id)?;
    if exec.kind == "rollback" {
        return run_rollback(conn, &exec, stop, private, heartbeat);
    }
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Ran::Stopped);
        }
        let task = task_of(conn, exec.task_id)?;
        match task.status() {
            RegionTaskStatus::Releasing => {}
            RegionTaskStatus::Suspending => {
                write_tx(conn, |conn| {
                    let moved =
                        diesel::update(region_tasks::table.find(task.id).filter(
                            region_tasks::status.eq(RegionTaskStatus::Suspending.as_str()),
                        ))
                        .set((
                            region_tasks::status.eq(RegionTaskStatus::Suspended.as_str()),
                            region_tasks::updated_at.eq(now()),
                        ))
                        .execute(conn)?;
                    if moved == 1 {
                        region_release::finish_running_execution(conn, task.id, "suspended")?;
                        audit_task(
                            conn,
                            &task,
                            "region_task.suspended",
                            "stopped after the running step",
                        )?;
                    }
                    Ok::<_, AppError>(())
                })?;
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
            finish_release(conn, &exec, &steps)?;
            return Ok(Ran::ToTheEnd);
        };
        match step.kind() {
            StepKind::Approval | StepKind::Trigger => {
                if step.status() == StepStatus::Pending {
                    write_tx(conn, |conn| {
                        diesel::update(
                            region_task_steps::table
                                .find(step.id)
                                .filter(region_task_steps::status.eq(StepStatus::Pending.as_str())),
                        )
                        .set((
                            region_task_steps::status.eq(StepStatus::Waiting.as_str()),
                            region_task_steps::started_at.eq(Some(now())),
                        ))
                        .execute(conn)?;
                        audit_task(
                            conn,
                            &task,
                            "region_task.checkpoint_waiting",
                            &format!("step {}: {}", step.position, step.kind().label()),
                        )?;
                        Ok::<_, AppError>(())
                    })?;
                }
                // The decision enqueues the continuation.
                return Ok(Ran::ToTheEnd);
            }
            StepKind::Deploy => {
                if !region_release::begin_deploy_step(conn, exec.id, &step)? {
                    return Ok(Ran::ToTheEnd);
                }
                let Some(failed) =
                    run_deploy_step(conn, &exec, &task, &step, stop, private, heartbeat)?
                else {
                    return Ok(Ran::Stopped);
                };
                if failed && !task.best_effort {
                    write_tx(conn, |conn| {
                        let moved = diesel::update(region_tasks::table.find(task.id).filter(
                            region_tasks::status.eq_any([
                                RegionTaskStatus::Releasing.as_str(),
                                RegionTaskStatus::Suspending.as_str(),
                            ]),
                        ))
                        .set((
                            region_tasks::status.eq(RegionTaskStatus::ReleaseFailed.as_str()),
                            region_tasks::updated_at.eq(now()),
                        ))
                        .execute(conn)?;
                        if moved == 1 {
                            region_release::finish_running_execution(conn, task.id, "failed")?;
                            audit_task(
                                conn,
                                &task,
                                "region_task.release_failed",
                                &format!("step {} failed (best effort off)", step.position),
                            )?;
                        }
                        Ok::<_, AppError>(())
                    })?;
                    return Ok(Ran::ToTheEnd);
                }
            }
        }
    }
}

/// Deploys every component of a step that this execution has not deployed yet; records each
/// outcome in its own transaction. Returns whether any component failed, or `None` when `stop`
/// was set before the step finished (its recorded components stay recorded).
fn run_deploy_step(
    conn: &mut DbConn,
    exec: &Execution,
    task: &region_release::RegionTask,
    step: &Step,
    stop: &AtomicBool,
    private: PrivateDestinations,
    heartbeat: &mut dyn FnMut(&mut DbConn),
) -> Result<Option<bool>, AppError> {
    let region_id = step
        .region_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("deploy step without region")))?;
    let region =
        regions::find_region(conn, task.workspace_id, region_id)?.ok_or(AppError::NotFound)?;
    let source = match task.source_region_id {
        Some(id) => regions::find_region(conn, task.workspace_id, id)?,
        None => None,
    };
    let comps = region_release::step_component_list(conn, step.id)?;
    for c in &comps {
        let done: bool = diesel::select(diesel::dsl::exists(
            execution_results::table
                .filter(execution_results::execution_id.eq(exec.id))
                .filter(execution_results::step_id.eq(step.id))
                .filter(execution_results::component_id.eq(c.id)),
        ))
        .get_result(conn)?;
        if done {
            continue; // Finished before a restart: never deployed twice.
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        heartbeat(conn);
        let started = now();
        let previous = regions::latest_entry(conn, region.id, c.id)?;
        // Re-executing after a failure: a component an earlier run of this step deployed, and
        // that nobody changed since, is not deployed again.
        let earlier: Option<(i64, Option<i64>)> = execution_results::table
            .inner_join(region_executions::table)
            .filter(region_executions::task_id.eq(task.id))
            .filter(region_executions::kind.eq("release"))
            .filter(execution_results::step_id.eq(step.id))
            .filter(execution_results::component_id.eq(c.id))
            .filter(execution_results::status.eq("succeeded"))
            .order(execution_results::id.desc())
            .select((
                execution_results::execution_id,
                execution_results::new_entry_id,
            ))
            .first(conn)
            .optional()?;
        if let Some((earlier_exec, Some(entry))) = earlier
            && previous.as_ref().is_some_and(|p| p.0 == entry)
        {
            // Numbered within the task, as Release History numbers its runs.
            let earlier_run: i64 = region_executions::table
                .filter(region_executions::task_id.eq(task.id))
                .filter(region_executions::id.le(earlier_exec))
                .count()
                .get_result(conn)?;
            write_tx(conn, |conn| {
                diesel::insert_into(execution_results::table)
                    .values((
                        execution_results::execution_id.eq(exec.id),
                        execution_results::step_id.eq(step.id),
                        execution_results::region_id.eq(region.id),
                        execution_results::component_id.eq(c.id),
                        execution_results::status.eq("succeeded"),
                        execution_results::started_at.eq(started),
                        execution_results::finished_at.eq(now()),
                        execution_results::message
                            .eq(format!("already deployed by release #{earlier_run}")),
                        execution_results::previous_entry_id.eq(Some(entry)),
                        execution_results::new_entry_id.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                Ok::<_, AppError>(())
            })?;
            continue;
        }
        let config = match (task.operation(), &source) {
            (Operation::Clone, Some(src)) => regions::latest_entry(conn, src.id, c.id)?
                .filter(|(_, present, ..)| *present)
                .and_then(|(_, _, _, config)| {
                    serde_json::from_str::<regions::Config>(&config).ok()
                }),
            _ => Some(c.config()),
        };
        let outcome = match (
            region_release::check_operation(conn, task.operation(), source.as_ref(), &region, c),
            config,
        ) {
            (Err(why), _) => Err(Report::from(why)),
            (Ok(()), None) => Err(Report::from(format!(
                "{} does not run in the source region any more",
                c.name
            ))),
            (Ok(()), Some(config)) => {
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
                drivers::apply(&region, &payload, private).map(|msg| (msg, config))
            }
        };
        write_tx(conn, |conn| {
            let (status, report, new_entry) = match &outcome {
                Ok((msg, config)) => {
                    let json = serde_json::to_string(config).map_err(AppError::internal)?;
                    let entry = regions::record_entry(
                        conn,
                        region.id,
                        c.id,
                        true,
                        &config.version,
                        &json,
                        Some(task.id),
                        Some(exec.id),
                        task.operation().label(),
                    )?;
                    ("succeeded", msg.clone(), Some(entry))
                }
                Err(why) => ("failed", why.clone(), None),
            };
            diesel::insert_into(execution_results::table)
                .values((
                    execution_results::execution_id.eq(exec.id),
                    execution_results::step_id.eq(step.id),
                    execution_results::region_id.eq(region.id),
                    execution_results::component_id.eq(c.id),
                    execution_results::status.eq(status),
                    execution_results::started_at.eq(started),
                    execution_results::finished_at.eq(now()),
                    execution_results::message.eq(&report.message),
                    // Apart from the message: only workspace admins see a receiver's answer.
                    execution_results::response_body.eq(report.response_body.as_deref()),
                    execution_results::previous_entry_id.eq(previous.as_ref().map(|p| p.0)),
                    execution_results::new_entry_id.eq(new_entry),
                ))
                .execute(conn)?;
            audit_task(
                conn,
                task,
                if status == "succeeded" {
                    "region_task.component_deployed"
                } else {
                    "region_task.component_failed"
                },
                &format!("{} in {}: {}", c.name, region.name, report.message),
            )?;
            Ok::<_, AppError>(())
        })?;
        if outcome.is_err() && !task.best_effort {
            break;
        }
    }
    // The step's outcome from what this execution recorded for it.
    let (ok, failed): (i64, i64) = (
        count_results(conn, exec.id, step.id, "succeeded")?,
        count_results(conn, exec.id, step.id, "failed")?,
    );
    let failed_any = failed > 0;
    // The card says why, not only how many: the first failure's component and reason (a short
    // reason: a webhook's answer body is kept apart, for admins).
    let first_failure: Option<(String, String)> = if failed_any {
        execution_results::table
            .inner_join(crate::db::schema::components::table)
            .filter(execution_results::execution_id.eq(exec.id))
            .filter(execution_results::step_id.eq(step.id))
            .filter(execution_results::status.eq("failed"))
            .order(execution_results::id)
            .select((
                crate::db::schema::components::name,
                execution_results::message,
            ))
            .first(conn)
            .optional()?
    } else {
        None
    };
    let total = crate::domain::count(ok + failed, "component", "components");
    let message = match first_failure {
        Some((name, why)) => format!("{failed} of {total} failed; first {name}: {why}"),
        None if failed_any => format!("{failed} of {total} failed"),
        None => format!(
            "{} deployed",
            crate::domain::count(ok, "component", "components")
        ),
    };
    write_tx(conn, |conn| {
        diesel::update(region_task_steps::table.find(step.id))
            .set((
                region_task_steps::status.eq(if failed_any {
                    StepStatus::Failed
                } else {
                    StepStatus::Succeeded
                }
                .as_str()),
                region_task_steps::finished_at.eq(Some(now())),
                region_task_steps::message.eq(&message),
            ))
            .execute(conn)?;
        Ok::<_, AppError>(())
    })?;
    Ok(Some(failed_any))
}

fn count_results(
    conn: &mut DbConn,
    execution_id: i64,
    step_id: i64,
    status: &str,
) -> QueryResult<i64> {
    execution_results::table
        .filter(execution_results::execution_id.eq(execution_id))
        .filter(execution_results::step_id.eq(step_id))
        .filter(execution_results::status.eq(status))
        .count()
        .get_result(conn)
}

/// No step left: released, or release_failed when a best-effort step failed.
fn finish_release(conn: &mut DbConn, exec: &Execution, steps: &[Step]) -> Result<(), AppError> {
    let failed = steps
        .iter()
        .filter(|s| s.position >= exec.start && s.status() == StepStatus::Failed)
        .count();
    write_tx(conn, |conn| {
        let task = task_of(conn, exec.task_id)?;
        let to = if failed > 0 {
            RegionTaskStatus::ReleaseFailed
        } else {
            RegionTaskStatus::Released
        };
        let moved = diesel::update(region_tasks::table.find(task.id).filter(
            region_tasks::status.eq_any([
                RegionTaskStatus::Releasing.as_str(),
                RegionTaskStatus::Suspending.as_str(),
            ]),
        ))
        .set((
            region_tasks::status.eq(to.as_str()),
            // A partly failed release (best effort) is not released: no Released time.
            region_tasks::released_at.eq(if failed > 0 {
                task.released_at
            } else {
                Some(now())
            }),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved == 1 {
            region_release::finish_running_execution(
                conn,
                task.id,
                if failed > 0 { "failed" } else { "succeeded" },
            )?;
            let comment = if failed > 0 {
                format!(
                    "{} failed (best effort)",
                    crate::domain::count(failed as i64, "step", "steps")
                )
            } else {
                "all steps succeeded".into()
            };
            audit_task(
                conn,
                &task,
                if failed > 0 {
                    "region_task.release_failed"
                } else {
                    "region_task.released"
                },
                &comment,
            )?;
        }
        Ok::<_, AppError>(())
    })
}

/// Restores, for every (region, component) the task changed, the entry it replaced.
fn run_rollback(
    conn: &mut DbConn,
    exec: &Execution,
    stop: &AtomicBool,
    private: PrivateDestinations,
    heartbeat: &mut dyn FnMut(&mut DbConn),
) -> Result<Ran, AppError> {
    let task = task_of(conn, exec.task_id)?;
    // The oldest change per (region, component) names the state before the task.
    let changes: Vec<(i64, i64, i64, Option<i64>)> = execution_results::table
        .inner_join(region_executions::table)
        .filter(region_executions::task_id.eq(task.id))
        .filter(region_executions::kind.eq("release"))
        .filter(execution_results::new_entry_id.is_not_null())
        .select((
            execution_results::step_id,
            execution_results::region_id,
            execution_results::component_id,
            execution_results::previous_entry_id,
        ))
        .order(execution_results::id)
        .load(conn)?;
    let mut first: BTreeMap<(i64, i64), (i64, Option<i64>)> = BTreeMap::new();
    for (step_id, region_id, component_id, previous) in changes {
        first
            .entry((region_id, component_id))
            .or_insert((step_id, previous));
    }
    for ((region_id, component_id), (step_id, previous)) in first {
        let done: bool = diesel::select(diesel::dsl::exists(
            execution_results::table
                .filter(execution_results::execution_id.eq(exec.id))
                .filter(execution_results::step_id.eq(step_id))
                .filter(execution_results::component_id.eq(component_id)),
        ))
        .get_result(conn)?;
        if done {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(Ran::Stopped);
        }
        heartbeat(conn);
        let region: Region =
            regions::find_region(conn, task.workspace_id, region_id)?.ok_or(AppError::NotFound)?;
        let component = regions::find_component(conn, task.workspace_id, component_id)?
            .ok_or(AppError::NotFound)?;
        let restore: Option<(bool, String, String)> = match previous {
            Some(id) => Some(
                inventory_entries::table
                    .find(id)
                    .select((
                        inventory_entries::present,
                        inventory_entries::version,
                        inventory_entries::config,
                    ))
                    .first(conn)?,
            ),
            None => None,
        };
        let current = regions::latest_entry(conn, region_id, component_id)?;
        let started = now();
        let (present, version, config_json) = match &restore {
            Some((p, v, c)) => (*p, v.clone(), c.clone()),
            None => (false, String::new(), String::new()),
        };
        let config: Option<regions::Config> = serde_json::from_str(&config_json).ok();
        let payload = Payload {
            delivery: format!("{}-{}-{}", exec.id, step_id, component_id),
            action: "rollback",
            task_id: task.id,
            task: &task.name,
            region: &region.name,
            component: &component.name,
            present,
            config: config.as_ref().filter(|_| present),
        };
        let outcome = drivers::apply(&region, &payload, private);
        write_tx(conn, |conn| {
            let (status, report, new_entry) = match &outcome {
                Ok(msg) => {
                    let note = if present {
                        format!("rollback to {version}")
                    } else {
                        "rollback: removed".to_owned()
                    };
                    let entry = regions::record_entry(
                        conn,
                        region_id,
                        component_id,
                        present,
                        &version,
                        &config_json,
                        Some(task.id),
                        Some(exec.id),
                        &note,
                    )?;
                    ("succeeded", msg.clone(), Some(entry))
                }
                Err(why) => ("failed", why.clone(), None),
            };
            diesel::insert_into(execution_results::table)
                .values((
                    execution_results::execution_id.eq(exec.id),
                    execution_results::step_id.eq(step_id),
                    execution_results::region_id.eq(region_id),
                    execution_results::component_id.eq(component_id),
                    execution_results::status.eq(status),
                    execution_results::started_at.eq(started),
                    execution_results::finished_at.eq(now()),
                    execution_results::message.eq(&report.message),
                    // Apart from the message: only workspace admins see a receiver's answer.
                    execution_results::response_body.eq(report.response_body.as_deref()),
                    execution_results::previous_entry_id.eq(current.as_ref().map(|c| c.0)),
                    execution_results::new_entry_id.eq(new_entry),
                ))
                .execute(conn)?;
            audit_task(
                conn,
                &task,
                if status == "succeeded" {
                    "region_task.component_rolled_back"
                } else {
                    "region_task.component_rollback_failed"
                },
                &format!("{} in {}: {}", component.name, region.name, report.message),
            )?;
            Ok::<_, AppError>(())
        })?;
    }
    let failed = count_exec_failures(conn, exec.id)?;
    write_tx(conn, |conn| {
        let to = if failed > 0 {
            RegionTaskStatus::RollbackFailed
        } else {
            RegionTaskStatus::RolledBack
        };
        let moved = diesel::update(
            region_tasks::table
                .find(task.id)
                .filter(region_tasks::status.eq(RegionTaskStatus::RollingBack.as_str())),
        )
        .set((
            region_tasks::status.eq(to.as_str()),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved == 1 {
            region_release::finish_running_execution(
                conn,
                task.id,
                if failed > 0 { "failed" } else { "succeeded" },
            )?;
            audit_task(
                conn,
                &task,
                if failed > 0 {
                    "region_task.rollback_failed"
                } else {
                    "region_task.rolled_back"
                },
                &format!(
                    "{failed} {} failed",
                    if failed == 1 {
                        "component"
                    } else {
                        "components"
                    }
                ),
            )?;
        }
        Ok::<_, AppError>(())
    })?;
    Ok(Ran::ToTheEnd)
}

fn count_exec_failures(conn: &mut DbConn, execution_id: i64) -> QueryResult<i64> {
    execution_results::table
        .filter(execution_results::execution_id.eq(execution_id))
        .filter(execution_results::status.eq("failed"))
        .count()
        .get_result(conn)
}
