//! What the worker does to an execution (`crate::worker::region` drives it): reading where an
//! execution stands, each transition it makes on the task and its steps, and each component's
//! result. Every write is its own transaction, so each component's outcome is committed before
//! the next begins, with its audit row in the same transaction; the worker calls the region's
//! driver between these calls, outside any transaction, since a webhook may take seconds.

use crate::domain::{RegionTaskId, StepId, UserId};
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{
    RegionTask, Step, finish_running_execution, last_executor, record, starts_for, steps,
    tell_outcome,
};
use crate::db::models::notifications::{self, Event, NotificationKind, Subject};
use crate::db::models::regions::{self, Component, Config, Region};
use crate::db::schema::{
    components, execution_results, inventory_entries, region_executions, region_task_steps,
    region_tasks,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    ExecutionKind, ExecutionStatus, Operation, RegionTaskStatus, ResultStatus, StepStatus,
};
use crate::error::AppError;

/// An execution: a release from step `start`, or a rollback.
pub struct Execution {
    pub id: i64,
    pub task_id: RegionTaskId,
    pub kind: ExecutionKind,
    pub start: i32,
}

impl Execution {
    pub fn is_rollback(&self) -> bool {
        self.kind == ExecutionKind::Rollback
    }
}

pub fn load_execution(conn: &mut DbConn, id: i64) -> QueryResult<Execution> {
    let (task_id, kind, start): (RegionTaskId, ExecutionKind, i32) = region_executions::table
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

/// A task by id, whatever its workspace (the worker's execution names it).
pub fn task_of(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<RegionTask> {
    region_tasks::table
        .find(task_id)
        .select(RegionTask::as_select())
        .first(conn)
}

fn audit_task(
    conn: &mut DbConn,
    task: &RegionTask,
    action: &str,
    comment: &str,
) -> QueryResult<()> {
    record(
        conn,
        task.workspace_id,
        None,
        action,
        task.id,
        &task.name,
        comment,
    )
}

/// Ends the task's run: a guarded move from one of `from` to `to`; if it moved, the running
/// execution ends `outcome` and the audit log says `(action, comment)`. Call inside a write
/// transaction.
fn end_run(
    conn: &mut DbConn,
    task: &RegionTask,
    from: &[RegionTaskStatus],
    to: RegionTaskStatus,
    outcome: ExecutionStatus,
    (action, comment): (&str, &str),
) -> QueryResult<()> {
    let moved = diesel::update(
        region_tasks::table
            .find(task.id)
            .filter(region_tasks::status.eq_any(from)),
    )
    .set((
        region_tasks::status.eq(to),
        region_tasks::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if moved == 1 {
        finish_running_execution(conn, task.id, outcome)?;
        audit_task(conn, task, action, comment)?;
        tell_outcome(conn, task, to, None)?;
    }
    Ok(())
}

const RUNNING: [RegionTaskStatus; 2] = [RegionTaskStatus::Releasing, RegionTaskStatus::Suspending];

/// The job's last attempt failed: the task ends failed instead of staying busy forever.
pub fn give_up(conn: &mut DbConn, execution_id: i64, reason: &str) -> Result<(), AppError> {
    let exec = load_execution(conn, execution_id)?;
    write_tx(conn, |conn| {
        let task = task_of(conn, exec.task_id)?;
        let to = if exec.is_rollback() {
            RegionTaskStatus::RollbackFailed
        } else {
            RegionTaskStatus::ReleaseFailed
        };
        let from = [
            RegionTaskStatus::Releasing,
            RegionTaskStatus::Suspending,
            RegionTaskStatus::RollingBack,
        ];
        let audit = ("region_task.worker_gave_up", reason);
        end_run(conn, &task, &from, to, ExecutionStatus::Failed, audit)?;
        Ok(())
    })
}

/// A `suspending` task reached the end of its running step: it is `suspended`.
pub fn mark_suspended(conn: &mut DbConn, task: &RegionTask) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let audit = ("region_task.suspended", "stopped after the running step");
        let from = [RegionTaskStatus::Suspending];
        end_run(
            conn,
            task,
            &from,
            RegionTaskStatus::Suspended,
            ExecutionStatus::Suspended,
            audit,
        )?;
        Ok(())
    })
}

/// The release reached a pending checkpoint: it waits for a decision (which enqueues the
/// continuation).
pub fn wait_at_checkpoint(
    conn: &mut DbConn,
    task: &RegionTask,
    step: &Step,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let moved = diesel::update(
            region_task_steps::table
                .find(step.id)
                .filter(region_task_steps::status.eq(StepStatus::Pending)),
        )
        .set((
            region_task_steps::status.eq(StepStatus::Waiting),
            region_task_steps::started_at.eq(Some(now())),
        ))
        .execute(conn)?;
        if moved == 1 {
            // The people named on the step are asked; the one who started the run asked.
            let started_by = last_executor(conn, task.id)?;
            let people = notifications::step_people(conn, step.id)?;
            notifications::raise(
                conn,
                Event {
                    kind: NotificationKind::CheckpointWaiting,
                    workspace_id: task.workspace_id,
                    subject: Subject::Checkpoint {
                        task: task.id,
                        step: step.id,
                    },
                    actor: started_by,
                },
                &people,
            )?;
        }
        audit_task(
            conn,
            task,
            "region_task.checkpoint_waiting",
            &format!("step {}: {}", step.position, step.kind().label()),
        )?;
        Ok(())
    })
}

/// The worker is about to deploy `step` for execution `execution_id`: marks it running, unless
/// the checkpoint rule (`starts`, for the person who started the execution) says the release
/// may not run past an earlier checkpoint; then the release fails with the reason instead.
/// Execute already refuses such a start, so this holds the rule for any path that forgets it.
/// Returns whether the step may run.
pub fn begin_deploy_step(
    conn: &mut DbConn,
    execution_id: i64,
    step: &Step,
) -> Result<bool, AppError> {
    write_tx(conn, |conn| {
        let started_by: Option<UserId> = region_executions::table
            .find(execution_id)
            .select(region_executions::started_by)
            .first(conn)?;
        let task = task_of(conn, step.task_id)?;
        let all = steps(conn, task.id)?;
        // A missing starter (never the case for a release) matches nobody's agreement.
        let allowed = starts_for(conn, &task, &all, started_by.unwrap_or(UserId(-1)))?;
        if allowed.allows(step.position) {
            diesel::update(region_task_steps::table.find(step.id))
                .set((
                    region_task_steps::status.eq(StepStatus::Running),
                    region_task_steps::started_at.eq(Some(now())),
                ))
                .execute(conn)?;
            return Ok(true);
        }
        let why = allowed.limit.unwrap_or_default();
        diesel::update(region_task_steps::table.find(step.id))
            .set((
                region_task_steps::status.eq(StepStatus::Failed),
                region_task_steps::finished_at.eq(Some(now())),
                region_task_steps::message.eq(format!("not run: {why}")),
            ))
            .execute(conn)?;
        let comment = format!("step {} not run: {why}", step.position);
        let audit = ("region_task.release_failed", comment.as_str());
        end_run(
            conn,
            &task,
            &RUNNING,
            RegionTaskStatus::ReleaseFailed,
            ExecutionStatus::Failed,
            audit,
        )?;
        Ok(false)
    })
}

/// A deploy step failed and the task is not best effort: the release fails.
pub fn fail_after_step(conn: &mut DbConn, task: &RegionTask, step: &Step) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let comment = format!("step {} failed (best effort off)", step.position);
        let audit = ("region_task.release_failed", comment.as_str());
        end_run(
            conn,
            task,
            &RUNNING,
            RegionTaskStatus::ReleaseFailed,
            ExecutionStatus::Failed,
            audit,
        )?;
        Ok(())
    })
}

/// No step left: released, or release_failed when a best-effort step failed.
pub fn finish_release(conn: &mut DbConn, exec: &Execution, steps: &[Step]) -> Result<(), AppError> {
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
        let moved = diesel::update(
            region_tasks::table
                .find(task.id)
                .filter(region_tasks::status.eq_any(RUNNING)),
        )
        .set((
            region_tasks::status.eq(to),
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
            finish_running_execution(
                conn,
                task.id,
                if failed > 0 {
                    ExecutionStatus::Failed
                } else {
                    ExecutionStatus::Succeeded
                },
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
            tell_outcome(conn, &task, to, None)?;
        }
        Ok(())
    })
}

/// Whether execution `execution_id` recorded a result for the component in this step already
/// (before a restart): it is never changed twice.
pub fn component_recorded(
    conn: &mut DbConn,
    execution_id: i64,
    step_id: StepId,
    component_id: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        execution_results::table
            .filter(execution_results::execution_id.eq(execution_id))
            .filter(execution_results::step_id.eq(step_id))
            .filter(execution_results::component_id.eq(component_id)),
    ))
    .get_result(conn)
}

/// A deploy step as the worker runs it: where it deploys, the clone's source region, and its
/// components.
pub struct DeployStep<'a> {
    pub exec: &'a Execution,
    pub task: &'a RegionTask,
    pub step: &'a Step,
    pub region: Region,
    pub source: Option<Region>,
    pub components: Vec<Component>,
}

/// Reads where a deploy step deploys (the task's clone source too) and its components.
pub fn deploy_step<'a>(
    conn: &mut DbConn,
    exec: &'a Execution,
    task: &'a RegionTask,
    step: &'a Step,
) -> Result<DeployStep<'a>, AppError> {
    let region_id = step
        .region_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("deploy step without region")))?;
    let region =
        regions::find_region(conn, task.workspace_id, region_id)?.ok_or(AppError::NotFound)?;
    let source = match task.source_region_id {
        Some(id) => regions::find_region(conn, task.workspace_id, id)?,
        None => None,
    };
    let components = super::step_component_list(conn, step.id)?;
    Ok(DeployStep {
        exec,
        task,
        step,
        region,
        source,
        components,
    })
}

/// The row a component's change leaves in `execution_results`.
#[derive(Insertable)]
#[diesel(table_name = execution_results)]
struct NewResult<'a> {
    execution_id: i64,
    step_id: StepId,
    region_id: i64,
    component_id: i64,
    status: ResultStatus,
    started_at: NaiveDateTime,
    finished_at: NaiveDateTime,
    message: &'a str,
    // Apart from the message: only workspace admins see a receiver's answer.
    response_body: Option<&'a str>,
    previous_entry_id: Option<i64>,
    new_entry_id: Option<i64>,
}

/// What to do with one component of a deploy step.
pub enum Prepared {
    /// An earlier run of this step deployed it and nobody changed it since: recorded as
    /// succeeded without deploying it again.
    AlreadyDeployed,
    /// Deploy this config (or fail with the reason, without calling the driver); `previous` is
    /// the inventory entry it replaces.
    Deploy {
        previous: Option<i64>,
        config: Result<Config, String>,
    },
    /// A freeze window holds the step's region (`freezes`): deploy nothing now.
    Held(super::super::freezes::Hold),
}

/// Reads what deploying component `c` needs (the entry it replaces, the config, whether the
/// operation still fits the inventory). `started`: when the worker began the component.
pub fn prepare_deploy(
    conn: &mut DbConn,
    at: &DeployStep,
    c: &Component,
    started: NaiveDateTime,
) -> Result<Prepared, AppError> {
    let (exec, task, step, region) = (at.exec, at.task, at.step, &at.region);
    if let Some(hold) = super::super::freezes::holding_region_task(
        conn,
        task.workspace_id,
        task.id,
        &[region.id],
        chrono::Utc::now(),
    )? {
        return Ok(Prepared::Held(hold));
    }
    let previous = regions::latest_entry(conn, region.id, c.id)?;
    // Re-executing after a failure: a component an earlier run of this step deployed, and
    // that nobody changed since, is not deployed again.
    let earlier: Option<(i64, Option<i64>)> = execution_results::table
        .inner_join(region_executions::table)
        .filter(region_executions::task_id.eq(task.id))
        .filter(region_executions::kind.eq(ExecutionKind::Release))
        .filter(execution_results::step_id.eq(step.id))
        .filter(execution_results::component_id.eq(c.id))
        .filter(execution_results::status.eq(ResultStatus::Succeeded))
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
                .values(NewResult {
                    execution_id: exec.id,
                    step_id: step.id,
                    region_id: region.id,
                    component_id: c.id,
                    status: ResultStatus::Succeeded,
                    started_at: started,
                    finished_at: now(),
                    message: &format!("already deployed by release #{earlier_run}"),
                    response_body: None,
                    previous_entry_id: Some(entry),
                    new_entry_id: None,
                })
                .execute(conn)?;
            Ok(())
        })?;
        return Ok(Prepared::AlreadyDeployed);
    }
    let config = match (task.operation(), &at.source) {
        (Operation::Clone, Some(src)) => regions::latest_entry(conn, src.id, c.id)?
            .filter(|(_, present, ..)| *present)
            .and_then(|(_, _, _, config)| serde_json::from_str::<Config>(&config).ok()),
        _ => Some(c.config()),
    };
    let config = match (
        super::check_operation(conn, task.operation(), at.source.as_ref(), region, c),
        config,
    ) {
        (Err(why), _) => Err(why),
        (Ok(()), None) => Err(format!(
            "{} does not run in the source region any more",
            c.name
        )),
        (Ok(()), Some(config)) => Ok(config),
    };
    Ok(Prepared::Deploy {
        previous: previous.map(|p| p.0),
        config,
    })
}

/// What a region's driver answered for one component.
pub struct Answer<'a> {
    /// Short, for every member.
    pub message: &'a str,
    /// The receiver's answer body, for workspace admins only.
    pub response_body: Option<&'a str>,
}

/// Records one component's deployment, in its own transaction: on success the region's new
/// inventory entry; the result row; the audit row.
pub fn record_deployed(
    conn: &mut DbConn,
    at: &DeployStep,
    c: &Component,
    started: NaiveDateTime,
    previous: Option<i64>,
    outcome: Result<(&Config, Answer), Answer>,
) -> Result<(), AppError> {
    let (exec, task, region) = (at.exec, at.task, &at.region);
    write_tx(conn, |conn| {
        let (status, answer, new_entry) = match outcome {
            Ok((config, answer)) => {
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
                (ResultStatus::Succeeded, answer, Some(entry))
            }
            Err(answer) => (ResultStatus::Failed, answer, None),
        };
        diesel::insert_into(execution_results::table)
            .values(NewResult {
                execution_id: exec.id,
                step_id: at.step.id,
                region_id: region.id,
                component_id: c.id,
                status,
                started_at: started,
                finished_at: now(),
                message: answer.message,
                response_body: answer.response_body,
                previous_entry_id: previous,
                new_entry_id: new_entry,
            })
            .execute(conn)?;
        audit_task(
            conn,
            task,
            if status == ResultStatus::Succeeded {
                "region_task.component_deployed"
            } else {
                "region_task.component_failed"
            },
            &format!("{} in {}: {}", c.name, region.name, answer.message),
        )?;
        Ok(())
    })
}

/// The step's outcome from what this execution recorded for it: `succeeded`, or `failed` with
/// the first failure's component and reason. Returns whether any component failed.
pub fn finish_deploy_step(conn: &mut DbConn, at: &DeployStep) -> Result<bool, AppError> {
    let (exec, step) = (at.exec, at.step);
    let (ok, failed): (i64, i64) = (
        count_results(conn, exec.id, step.id, ResultStatus::Succeeded)?,
        count_results(conn, exec.id, step.id, ResultStatus::Failed)?,
    );
    let failed_any = failed > 0;
    // The card says why, not only how many: the first failure's component and reason (a short
    // reason: a webhook's answer body is kept apart, for admins).
    let first_failure: Option<(String, String)> = if failed_any {
        execution_results::table
            .inner_join(components::table)
            .filter(execution_results::execution_id.eq(exec.id))
            .filter(execution_results::step_id.eq(step.id))
            .filter(execution_results::status.eq(ResultStatus::Failed))
            .order(execution_results::id)
            .select((components::name, execution_results::message))
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
                }),
                region_task_steps::finished_at.eq(Some(now())),
                region_task_steps::message.eq(&message),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(failed_any)
}

fn count_results(
    conn: &mut DbConn,
    execution_id: i64,
    step_id: StepId,
    status: ResultStatus,
) -> QueryResult<i64> {
    execution_results::table
        .filter(execution_results::execution_id.eq(execution_id))
        .filter(execution_results::step_id.eq(step_id))
        .filter(execution_results::status.eq(status))
        .count()
        .get_result(conn)
}

/// A (region, component) a release of the task changed: the step that first changed it and
/// the entry it replaced, which a rollback restores.
pub struct Change {
    pub region_id: i64,
    pub component_id: i64,
    pub step_id: StepId,
    pub previous: Option<i64>,
}

/// Everything the task's releases changed, by (region, component).
pub fn changes_to_undo(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Vec<Change>> {
    // The oldest change per (region, component) names the state before the task.
    let changes: Vec<(StepId, i64, i64, Option<i64>)> = execution_results::table
        .inner_join(region_executions::table)
        .filter(region_executions::task_id.eq(task_id))
        .filter(region_executions::kind.eq(ExecutionKind::Release))
        .filter(execution_results::new_entry_id.is_not_null())
        .select((
            execution_results::step_id,
            execution_results::region_id,
            execution_results::component_id,
            execution_results::previous_entry_id,
        ))
        .order(execution_results::id)
        .load(conn)?;
    let mut first: BTreeMap<(i64, i64), (StepId, Option<i64>)> = BTreeMap::new();
    for (step_id, region_id, component_id, previous) in changes {
        first
            .entry((region_id, component_id))
            .or_insert((step_id, previous));
    }
    Ok(first
        .into_iter()
        .map(|((region_id, component_id), (step_id, previous))| Change {
            region_id,
            component_id,
            step_id,
            previous,
        })
        .collect())
}

/// What undoing one change restores: the entry before the task (`present` false and no
/// config when the component did not run there), and the entry now in place.
pub struct Restore {
    pub step_id: StepId,
    pub region: Region,
    pub component: Component,
    pub present: bool,
    pub version: String,
    pub config_json: String,
    pub current: Option<i64>,
}

/// Reads what undoing `change` restores, and the entry now in place.
pub fn prepare_restore(
    conn: &mut DbConn,
    task: &RegionTask,
    change: &Change,
) -> Result<Restore, AppError> {
    let (region_id, component_id) = (change.region_id, change.component_id);
    let region: Region =
        regions::find_region(conn, task.workspace_id, region_id)?.ok_or(AppError::NotFound)?;
    let component = regions::find_component(conn, task.workspace_id, component_id)?
        .ok_or(AppError::NotFound)?;
    let restore: Option<(bool, String, String)> = match change.previous {
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
    let (present, version, config_json) = restore.unwrap_or((false, String::new(), String::new()));
    Ok(Restore {
        step_id: change.step_id,
        region,
        component,
        present,
        version,
        config_json,
        current: current.map(|c| c.0),
    })
}

/// Records one component's rollback, in its own transaction: on success the restored inventory
/// entry; the result row; the audit row.
pub fn record_rolled_back(
    conn: &mut DbConn,
    exec: &Execution,
    task: &RegionTask,
    r: &Restore,
    started: NaiveDateTime,
    outcome: Result<Answer, Answer>,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let (status, answer, new_entry) = match outcome {
            Ok(answer) => {
                let note = if r.present {
                    format!("rollback to {}", r.version)
                } else {
                    "rollback: removed".to_owned()
                };
                let entry = regions::record_entry(
                    conn,
                    r.region.id,
                    r.component.id,
                    r.present,
                    &r.version,
                    &r.config_json,
                    Some(task.id),
                    Some(exec.id),
                    &note,
                )?;
                (ResultStatus::Succeeded, answer, Some(entry))
            }
            Err(answer) => (ResultStatus::Failed, answer, None),
        };
        diesel::insert_into(execution_results::table)
            .values(NewResult {
                execution_id: exec.id,
                step_id: r.step_id,
                region_id: r.region.id,
                component_id: r.component.id,
                status,
                started_at: started,
                finished_at: now(),
                message: answer.message,
                response_body: answer.response_body,
                previous_entry_id: r.current,
                new_entry_id: new_entry,
            })
            .execute(conn)?;
        audit_task(
            conn,
            task,
            if status == ResultStatus::Succeeded {
                "region_task.component_rolled_back"
            } else {
                "region_task.component_rollback_failed"
            },
            &format!(
                "{} in {}: {}",
                r.component.name, r.region.name, answer.message
            ),
        )?;
        Ok(())
    })
}

/// Every change undone (or tried): the task is rolled back, or rollback_failed when a
/// component failed.
pub fn finish_rollback(
    conn: &mut DbConn,
    exec: &Execution,
    task: &RegionTask,
) -> Result<(), AppError> {
    let failed: i64 = execution_results::table
        .filter(execution_results::execution_id.eq(exec.id))
        .filter(execution_results::status.eq(ResultStatus::Failed))
        .count()
        .get_result(conn)?;
    write_tx(conn, |conn| {
        let (to, outcome, action) = if failed > 0 {
            (
                RegionTaskStatus::RollbackFailed,
                ExecutionStatus::Failed,
                "region_task.rollback_failed",
            )
        } else {
            (
                RegionTaskStatus::RolledBack,
                ExecutionStatus::Succeeded,
                "region_task.rolled_back",
            )
        };
        let comment = format!(
            "{failed} {} failed",
            if failed == 1 {
                "component"
            } else {
                "components"
            }
        );
        let from = [RegionTaskStatus::RollingBack];
        end_run(conn, task, &from, to, outcome, (action, &comment))?;
        Ok(())
    })
}
