//! Region release tasks: their ordered steps (deploy steps and Manual Approval / Manual Trigger
//! checkpoints), the state machine of seed 002 (execute, suspend, resume, checkpoint decisions,
//! rollback), executions and their per-component results. Every transition is a guarded update
//! in `write_tx`; what the worker does to a running execution is in `execution`, which the
//! worker (`crate::worker::region`) calls between its drivers' calls.
//!
//! Every state change of a region task, its steps and executions, and the function making it
//! (`x::` is `execution::`):
//!
//! | what      | from                                   | to                                  | by |
//! |-----------|----------------------------------------|-------------------------------------|----|
//! | task      | (new)                                  | `to_release`                        | `create` |
//! | task      | not running                            | `releasing`                         | `execute` |
//! | task      | `releasing`                            | `suspending` / `suspended`          | `suspend` (a step runs / at a checkpoint) |
//! | task      | `suspending`                           | `suspended`                         | `x::mark_suspended` |
//! | task      | `releasing`                            | `release_failed`                    | `decide_checkpoint` (reject) |
//! | task      | `releasing`, `suspending`              | `release_failed`                    | `x::begin_deploy_step` (checkpoint rule), `x::fail_after_step` |
//! | task      | `releasing`, `suspending`              | `released` / `release_failed`       | `x::finish_release` (a best-effort step failed) |
//! | task      | `released`, `*_failed`                 | `rolling_back`                      | `rollback` |
//! | task      | `rolling_back`                         | `rolled_back` / `rollback_failed`   | `x::finish_rollback` |
//! | task      | `releasing`, `suspending`, `rolling_back` | `release_failed` / `rollback_failed` | `x::give_up` (the job's last attempt failed) |
//! | step      | (new)                                  | `pending`                           | `create`, `update` (replaces the steps) |
//! | step      | any, from the start step on            | `pending`                           | `execute` |
//! | step      | `pending`                              | `waiting`                           | `x::wait_at_checkpoint` |
//! | step      | `waiting`                              | `agreed` / `rejected`               | `decide_checkpoint` |
//! | step      | `waiting`                              | `pending`                           | `suspend` |
//! | step      | `pending`, `running`                   | `running` / `failed` (not run)      | `x::begin_deploy_step` |
//! | step      | `running`                              | `succeeded` / `failed`              | `x::finish_deploy_step` |
//! | execution | (new)                                  | `running`                           | `execute`, `rollback` |
//! | execution | `running`                              | `succeeded` / `failed` / `suspended` | with the task leaving its running state (`finish_running_execution`) |
//! | result    | (new)                                  | `succeeded` / `failed`              | `x::prepare_deploy` (already deployed), `x::record_deployed`, `x::record_rolled_back` |

pub mod execution;

use crate::domain::{RegionTaskId, StepId, UserId, WorkspaceId};
use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::IntoBoxed;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::notifications::{self, Event, NotificationKind, Subject};
use super::regions::{self, Component, Region};
use super::{jobs, users, workspaces};
use crate::db::count;
use crate::db::schema::{
    components, execution_results, region_executions, region_task_steps, region_tasks,
    regions as regions_t, step_comments, step_components, step_people, users as users_t,
};
use crate::db::{Const, DbConn, MultiBackend, now, write_tx};
use crate::domain::{
    Comment, Description, ExecutionKind, ExecutionStatus, Operation, Permission, RegionTaskStatus,
    ResultStatus, StepKind, StepStatus, WorkspaceAccess,
};
use crate::error::AppError;
use crate::search::{self, Listing, NameMatch, NameSearch, Names, Order};

/// Queue of region executions (release and rollback); the payload is the execution id.
pub const QUEUE: &str = "region_execution";

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = region_tasks)]
pub struct RegionTask {
    pub id: RegionTaskId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: String,
    pub operation: Operation,
    pub source_region_id: Option<i64>,
    pub best_effort: bool,
    pub status: RegionTaskStatus,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub released_by: Option<UserId>,
    pub released_at: Option<NaiveDateTime>,
}

// Getters for the templates, which call them.
impl RegionTask {
    pub fn status(&self) -> RegionTaskStatus {
        self.status
    }
    pub fn operation(&self) -> Operation {
        self.operation
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = region_task_steps)]
pub struct Step {
    pub id: StepId,
    pub task_id: RegionTaskId,
    pub position: i32,
    pub kind: StepKind,
    pub region_id: Option<i64>,
    pub status: StepStatus,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub message: String,
}

// Getters for the templates, which call them.
impl Step {
    pub fn kind(&self) -> StepKind {
        self.kind
    }
    pub fn status(&self) -> StepStatus {
        self.status
    }
}

/// One step of the create/edit form, parsed.
#[derive(Clone, Debug)]
pub struct StepInput {
    pub kind: StepKind,
    pub region_id: Option<i64>,
    pub component_ids: Vec<i64>,
    pub people: Vec<UserId>,
}

/// The create/edit form, parsed.
#[derive(Clone, Debug)]
pub struct TaskInput {
    pub name: String,
    pub description: Description,
    pub operation: Operation,
    pub source_region_id: Option<i64>,
    pub best_effort: bool,
    pub steps: Vec<StepInput>,
}

pub fn find(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: RegionTaskId,
) -> QueryResult<Option<RegionTask>> {
    region_tasks::table
        .filter(region_tasks::workspace_id.eq(workspace_id))
        .filter(region_tasks::id.eq(id))
        .select(RegionTask::as_select())
        .first(conn)
        .optional()
}

pub fn steps(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Vec<Step>> {
    region_task_steps::table
        .filter(region_task_steps::task_id.eq(task_id))
        .select(Step::as_select())
        .order(region_task_steps::position)
        .load(conn)
}

/// Components of a deploy step.
pub fn step_component_list(conn: &mut DbConn, step_id: StepId) -> QueryResult<Vec<Component>> {
    step_components::table
        .inner_join(components::table)
        .filter(step_components::step_id.eq(step_id))
        .select(Component::as_select())
        .order(components::name)
        .load(conn)
}

/// The people named on a checkpoint step.
pub fn step_people_list(conn: &mut DbConn, step_id: StepId) -> QueryResult<Vec<(UserId, String)>> {
    step_people::table
        .inner_join(users_t::table)
        .filter(step_people::step_id.eq(step_id))
        .select((users_t::id, users_t::username))
        .order(users_t::username)
        .load(conn)
}

/// The components of every deploy step of a task, by step id (one query for the whole task,
/// so a task page's statements do not grow with its steps).
pub fn task_step_components(
    conn: &mut DbConn,
    task_id: RegionTaskId,
) -> QueryResult<std::collections::HashMap<StepId, Vec<Component>>> {
    let rows: Vec<(StepId, Component)> = step_components::table
        .inner_join(components::table)
        .inner_join(region_task_steps::table)
        .filter(region_task_steps::task_id.eq(task_id))
        .select((step_components::step_id, Component::as_select()))
        .load(conn)?;
    let mut by_step: std::collections::HashMap<StepId, Vec<Component>> = Default::default();
    for (step, c) in rows {
        by_step.entry(step).or_default().push(c);
    }
    // Sorted here, not by ORDER BY: PostgreSQL's sort under the database collation was a third
    // of the region task page's costliest statement (180 bench components), and byte order is
    // SQLite's order too.
    for list in by_step.values_mut() {
        list.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(by_step)
}

/// The people named on every checkpoint of a task, by step id (one query).
pub fn task_step_people(
    conn: &mut DbConn,
    task_id: RegionTaskId,
) -> QueryResult<std::collections::HashMap<StepId, Vec<(UserId, String)>>> {
    let rows: Vec<(StepId, UserId, String)> = step_people::table
        .inner_join(users_t::table)
        .inner_join(region_task_steps::table)
        .filter(region_task_steps::task_id.eq(task_id))
        .select((step_people::step_id, users_t::id, users_t::username))
        .order((step_people::step_id, users_t::username))
        .load(conn)?;
    let mut by_step: std::collections::HashMap<StepId, Vec<(UserId, String)>> = Default::default();
    for (step, id, name) in rows {
        by_step.entry(step).or_default().push((id, name));
    }
    Ok(by_step)
}

/// A comment (and decision) on a checkpoint.
#[derive(Debug, Queryable)]
pub struct CommentRow {
    pub step_id: StepId,
    pub username: String,
    pub decision: Option<CheckpointDecision>,
    pub comment: String,
    pub created_at: NaiveDateTime,
}

pub fn comments(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Vec<CommentRow>> {
    step_comments::table
        .inner_join(region_task_steps::table)
        .inner_join(users_t::table)
        .filter(region_task_steps::task_id.eq(task_id))
        .select((
            step_comments::step_id,
            users_t::username,
            step_comments::decision,
            step_comments::comment,
            step_comments::created_at,
        ))
        .order(step_comments::id)
        .load(conn)
}

/// Checks a task's definition against the workspace: regions and components exist, each step
/// has what it needs, approvers may approve, and the operation fits the inventory.
fn validate(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    input: &TaskInput,
) -> Result<(), AppError> {
    let f = |field: &'static str, msg: String| AppError::field(field, msg);
    if input.steps.is_empty() {
        return Err(f("steps", "Add at least one step.".into()));
    }
    if input.steps.len() > 50 {
        return Err(f("steps", "A task has at most 50 steps.".into()));
    }
    if !input.steps.iter().any(|s| s.kind == StepKind::Deploy) {
        return Err(f(
            "steps",
            "Add at least one deploy step: checkpoints alone deploy nothing.".into(),
        ));
    }
    let source = match (input.operation, input.source_region_id) {
        (Operation::Clone, None) => {
            return Err(f(
                "source_region",
                "Bulk Clone copies from a source region: choose one.".into(),
            ));
        }
        (Operation::Clone, Some(id)) => Some(
            regions::find_region(conn, workspace_id, id)?
                .ok_or_else(|| f("source_region", "Unknown source region.".into()))?,
        ),
        _ => None,
    };
    for (i, step) in input.steps.iter().enumerate() {
        let n = i + 1;
        match step.kind {
            StepKind::Deploy => {
                let region = match step.region_id {
                    Some(id) => regions::find_region(conn, workspace_id, id)?
                        .ok_or_else(|| f("steps", format!("Step {n}: unknown region.")))?,
                    None => {
                        return Err(f(
                            "steps",
                            format!("Step {n}: choose the region to deploy to."),
                        ));
                    }
                };
                if step.component_ids.is_empty() {
                    return Err(f(
                        "steps",
                        format!("Step {n} ({}): choose at least one component.", region.name),
                    ));
                }
                if source.as_ref().is_some_and(|s| s.id == region.id) {
                    return Err(f(
                        "steps",
                        format!(
                            "Step {n}: {} is the source region of the clone.",
                            region.name
                        ),
                    ));
                }
                for cid in &step.component_ids {
                    let c = regions::find_component(conn, workspace_id, *cid)?
                        .ok_or_else(|| f("steps", format!("Step {n}: unknown component.")))?;
                    check_operation(conn, input.operation, source.as_ref(), &region, &c)
                        .map_err(|m| f("steps", format!("Step {n}: {m}")))?;
                }
            }
            StepKind::Approval | StepKind::Trigger => {
                if step.people.is_empty() {
                    return Err(f(
                        "steps",
                        format!(
                            "Step {n} ({}): name at least one person.",
                            step.kind.label()
                        ),
                    ));
                }
                for uid in &step.people {
                    let user = users::find(conn, *uid)?
                        .filter(|u| u.is_active)
                        .ok_or_else(|| f("steps", format!("Step {n}: unknown user.")))?;
                    let access = workspaces::access_of(conn, workspace_id, &user)?;
                    if !access.can(Permission::Deploy) {
                        return Err(f(
                            "steps",
                            format!(
                                "Step {n}: {} cannot act on a {}; only deployers, admins and tenant administrators can.",
                                user.username,
                                step.kind.label()
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether the operation fits what runs now: Deploy needs the component absent from the
/// region, Upgrade needs it present, Clone needs it present in the source region.
pub fn check_operation(
    conn: &mut DbConn,
    op: Operation,
    source: Option<&Region>,
    region: &Region,
    c: &Component,
) -> Result<(), String> {
    let running = |conn: &mut DbConn, region_id: i64| -> Result<bool, String> {
        Ok(regions::latest_entry(conn, region_id, c.id)
            .map_err(|e| e.to_string())?
            .is_some_and(|(_, present, ..)| present))
    };
    match op {
        Operation::Deploy if running(conn, region.id)? => Err(format!(
            "{} already runs in {}; use Bulk Upgrade.",
            c.name, region.name
        )),
        Operation::Upgrade if !running(conn, region.id)? => Err(format!(
            "{} does not run in {} yet; use Bulk Deploy.",
            c.name, region.name
        )),
        Operation::Clone => match source {
            Some(s) if !running(conn, s.id)? => Err(format!(
                "{} does not run in the source region {}.",
                c.name, s.name
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

fn insert_steps(conn: &mut DbConn, task_id: RegionTaskId, steps: &[StepInput]) -> QueryResult<()> {
    for (i, s) in steps.iter().enumerate() {
        let step_id: StepId = diesel::insert_into(region_task_steps::table)
            .values((
                region_task_steps::task_id.eq(task_id),
                region_task_steps::position.eq(i as i32 + 1),
                region_task_steps::kind.eq(s.kind),
                region_task_steps::region_id.eq(if s.kind == StepKind::Deploy {
                    s.region_id
                } else {
                    None
                }),
                region_task_steps::status.eq(StepStatus::Pending),
            ))
            .returning(region_task_steps::id)
            .get_result(conn)?;
        let mut cids = s.component_ids.clone();
        cids.sort_unstable();
        cids.dedup();
        for cid in cids.iter().filter(|_| s.kind == StepKind::Deploy) {
            diesel::insert_into(step_components::table)
                .values((
                    step_components::step_id.eq(step_id),
                    step_components::component_id.eq(cid),
                ))
                .execute(conn)?;
        }
        let mut people = s.people.clone();
        people.sort_unstable();
        people.dedup();
        for uid in people.iter().filter(|_| s.kind.is_checkpoint()) {
            diesel::insert_into(step_people::table)
                .values((
                    step_people::step_id.eq(step_id),
                    step_people::user_id.eq(uid),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn record(
    conn: &mut DbConn,
    ws: WorkspaceId,
    actor: Option<UserId>,
    action: &str,
    task_id: RegionTaskId,
    label: &str,
    comment: &str,
) -> QueryResult<()> {
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(ws),
            actor_id: actor,
            action,
            target_type: "region_task",
            target_id: Some(task_id.get()),
            target_label: label,
            comment,
        },
    )
}

/// Creates a task in `to_release` (developers and up).
pub fn create(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    input: &TaskInput,
) -> Result<RegionTask, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        validate(conn, workspace_id, input)?;
        let ts = now();
        let id: RegionTaskId = diesel::insert_into(region_tasks::table)
            .values((
                region_tasks::workspace_id.eq(workspace_id),
                region_tasks::name.eq(input.name.trim()),
                region_tasks::description.eq(input.description.as_str()),
                region_tasks::operation.eq(input.operation),
                region_tasks::source_region_id.eq(input
                    .source_region_id
                    .filter(|_| input.operation == Operation::Clone)),
                region_tasks::best_effort.eq(input.best_effort),
                region_tasks::status.eq(RegionTaskStatus::ToRelease),
                region_tasks::created_by.eq(Some(actor_id)),
                region_tasks::created_at.eq(ts),
                region_tasks::updated_at.eq(ts),
            ))
            .returning(region_tasks::id)
            .get_result(conn)?;
        insert_steps(conn, id, &input.steps)?;
        record(
            conn,
            workspace_id,
            Some(actor_id),
            "region_task.created",
            id,
            input.name.trim(),
            &format!(
                "{}, {}",
                crate::domain::count(input.steps.len() as i64, "step", "steps"),
                input.operation.label()
            ),
        )?;
        find(conn, workspace_id, id)?.ok_or(AppError::NotFound)
    })
}

/// Replaces a task's definition while it is still `to_release` (guarded).
pub fn update(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    input: &TaskInput,
) -> Result<RegionTask, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        validate(conn, workspace_id, input)?;
        let changed = diesel::update(
            region_tasks::table
                .filter(region_tasks::workspace_id.eq(workspace_id))
                .filter(region_tasks::id.eq(task_id))
                .filter(region_tasks::status.eq(RegionTaskStatus::ToRelease)),
        )
        .set((
            region_tasks::name.eq(input.name.trim()),
            region_tasks::description.eq(input.description.as_str()),
            region_tasks::operation.eq(input.operation),
            region_tasks::source_region_id.eq(input
                .source_region_id
                .filter(|_| input.operation == Operation::Clone)),
            region_tasks::best_effort.eq(input.best_effort),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if changed != 1 {
            find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)?;
            return Err(AppError::conflict(
                "Only a task that has not been executed can be edited.",
            ));
        }
        let old: Vec<StepId> = region_task_steps::table
            .filter(region_task_steps::task_id.eq(task_id))
            .select(region_task_steps::id)
            .load(conn)?;
        diesel::delete(step_components::table.filter(step_components::step_id.eq_any(&old)))
            .execute(conn)?;
        diesel::delete(step_people::table.filter(step_people::step_id.eq_any(&old)))
            .execute(conn)?;
        diesel::delete(step_comments::table.filter(step_comments::step_id.eq_any(&old)))
            .execute(conn)?;
        diesel::delete(region_task_steps::table.filter(region_task_steps::task_id.eq(task_id)))
            .execute(conn)?;
        insert_steps(conn, task_id, &input.steps)?;
        record(
            conn,
            workspace_id,
            Some(actor_id),
            "region_task.edited",
            task_id,
            input.name.trim(),
            "",
        )?;
        find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)
    })
}

/// Who agreed each agreed checkpoint of a task in its current run of steps, by step id: the
/// latest "agree" on the step (executing from at or before a checkpoint resets it to pending,
/// so an older agreement never counts once a newer decision is asked for).
pub fn agreed_by(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<HashMap<StepId, UserId>> {
    let rows: Vec<(StepId, UserId)> = step_comments::table
        .inner_join(region_task_steps::table)
        .filter(region_task_steps::task_id.eq(task_id))
        .filter(step_comments::decision.eq(CheckpointDecision::Agree))
        .select((step_comments::step_id, step_comments::user_id))
        .order(step_comments::id)
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Where a release of a task may start, for one person: steps `1..=last` (allowed starts are
/// always a prefix, since each checkpoint only limits the steps after it), the default start,
/// and why the later steps are not offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Starts {
    pub last: i32,
    pub default: i32,
    pub limit: Option<String>,
}

impl Starts {
    pub fn allows(&self, position: i32) -> bool {
        position >= 1 && position <= self.last
    }
}

/// The checkpoint rule of Execute (and of the worker, before it deploys a step): a release runs
/// past a Manual Approval or Manual Trigger only when that checkpoint is agreed in the task's
/// current run of steps, and past a Manual Approval only when someone other than `actor` (the
/// person executing) agreed it. After a rollback (`rollback_failed`) no earlier agreement
/// counts. A rejected or undecided checkpoint is asked again by starting at or before it.
pub fn starts(
    status: RegionTaskStatus,
    steps: &[Step],
    agreed_by: &HashMap<StepId, UserId>,
    actor: UserId,
) -> Starts {
    let mut last = steps.last().map_or(1, |s| s.position);
    let mut limit = None;
    for s in steps.iter().filter(|s| s.kind().is_checkpoint()) {
        let (p, what) = (s.position, s.kind().label());
        let why = if status == RegionTaskStatus::RollbackFailed {
            Some(format!(
                "a rollback undid this task's releases, so the {what} at step {p} must be decided again"
            ))
        } else if s.status() == StepStatus::Rejected {
            Some(format!("the {what} at step {p} was rejected"))
        } else if s.status() != StepStatus::Agreed {
            Some(format!("the {what} at step {p} is not agreed in this run"))
        } else if s.kind() == StepKind::Approval && agreed_by.get(&s.id) == Some(&actor) {
            Some(format!(
                "you agreed the {what} at step {p}, so someone else must execute past it"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            last = p;
            limit = Some(why);
            break;
        }
    }
    let first_unfinished = steps
        .iter()
        .find(|s| !s.status().is_done())
        .or(steps.first())
        .map_or(1, |s| s.position);
    Starts {
        last,
        default: first_unfinished.min(last),
        limit,
    }
}

/// `starts` for `actor`, read from the database.
pub fn starts_for(
    conn: &mut DbConn,
    task: &RegionTask,
    steps: &[Step],
    actor: UserId,
) -> QueryResult<Starts> {
    Ok(starts(
        task.status(),
        steps,
        &agreed_by(conn, task.id)?,
        actor,
    ))
}

/// Starts (or resumes) a release from step `start` (deployers, admins). Refused while running.
pub fn execute(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    start: Option<i32>,
) -> Result<i64, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Deploy)?;
        let task = find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)?;
        if let Some(why) = task.status().execute_refusal() {
            return Err(AppError::conflict(why));
        }
        let all = steps(conn, task_id)?;
        let allowed = starts_for(conn, &task, &all, actor_id)?;
        let start = start.unwrap_or(allowed.default);
        if !all.iter().any(|s| s.position == start) {
            return Err(AppError::field(
                "start",
                format!("There is no step {start}."),
            ));
        }
        if !allowed.allows(start) {
            let why = allowed.limit.unwrap_or_default();
            return Err(AppError::field(
                "start",
                format!(
                    "Execute cannot start at step {start}: {why}. Start at step {} or earlier to ask for a decision.",
                    allowed.last
                ),
            ));
        }
        let regions = task_regions(conn, task_id)?;
        if let Some(hold) = super::freezes::holding_region_task(
            conn,
            workspace_id,
            task_id,
            &regions,
            chrono::Utc::now(),
        )? {
            return Err(AppError::conflict(format!(
                "Not executed: {hold}. A workspace admin may override the freeze for this task."
            )));
        }
        let ts = now();
        let moved = diesel::update(
            region_tasks::table
                .filter(region_tasks::id.eq(task_id))
                .filter(region_tasks::status.eq(task.status)),
        )
        .set((
            region_tasks::status.eq(RegionTaskStatus::Releasing),
            region_tasks::released_by.eq(Some(actor_id)),
            region_tasks::updated_at.eq(ts),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::conflict(
                "Someone started this task at the same moment; it is already running.",
            ));
        }
        // Steps from the start on run again; earlier ones keep their outcome.
        diesel::update(
            region_task_steps::table
                .filter(region_task_steps::task_id.eq(task_id))
                .filter(region_task_steps::position.ge(start)),
        )
        .set((
            region_task_steps::status.eq(StepStatus::Pending),
            region_task_steps::started_at.eq(None::<NaiveDateTime>),
            region_task_steps::finished_at.eq(None::<NaiveDateTime>),
            region_task_steps::message.eq(""),
        ))
        .execute(conn)?;
        let execution_id =
            new_execution(conn, task_id, ExecutionKind::Release, start, actor_id, "")?;
        jobs::enqueue(conn, QUEUE, &execution_id.to_string())?;
        record(
            conn,
            workspace_id,
            Some(actor_id),
            "region_task.executed",
            task_id,
            &task.name,
            &format!("from step {start}"),
        )?;
        Ok(execution_id)
    })
}

/// The regions a task's deploy steps go to: what a Region Release freeze window may hold.
pub fn task_regions(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Vec<i64>> {
    region_task_steps::table
        .filter(region_task_steps::task_id.eq(task_id))
        .filter(region_task_steps::region_id.is_not_null())
        .select(region_task_steps::region_id.assume_not_null())
        .distinct()
        .load(conn)
}

fn new_execution(
    conn: &mut DbConn,
    task_id: RegionTaskId,
    kind: ExecutionKind,
    start: i32,
    actor_id: UserId,
    reason: &str,
) -> QueryResult<i64> {
    diesel::insert_into(region_executions::table)
        .values((
            region_executions::task_id.eq(task_id),
            region_executions::kind.eq(kind),
            region_executions::start_position.eq(start),
            region_executions::started_by.eq(Some(actor_id)),
            region_executions::reason.eq(reason),
            region_executions::status.eq(ExecutionStatus::Running),
            region_executions::started_at.eq(now()),
        ))
        .returning(region_executions::id)
        .get_result(conn)
}

/// The running execution of a task, if any.
pub fn running_execution(
    conn: &mut DbConn,
    task_id: RegionTaskId,
) -> QueryResult<Option<(i64, Option<UserId>)>> {
    region_executions::table
        .filter(region_executions::task_id.eq(task_id))
        .filter(region_executions::status.eq(ExecutionStatus::Running))
        .order(region_executions::id.desc())
        .select((region_executions::id, region_executions::started_by))
        .first(conn)
        .optional()
}

/// Asks a running release to stop after its current step (deployers, admins). A release waiting
/// at a checkpoint has no step running, so it stops at once.
pub fn suspend(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
) -> Result<RegionTaskStatus, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Deploy)?;
        let task = find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)?;
        if task.status() != RegionTaskStatus::Releasing {
            return Err(AppError::conflict(format!(
                "Only a releasing task can be suspended; this one is {}.",
                task.status().label().to_lowercase()
            )));
        }
        let waiting = region_task_steps::table
            .filter(region_task_steps::task_id.eq(task_id))
            .filter(region_task_steps::status.eq(StepStatus::Waiting))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        let to = if waiting {
            RegionTaskStatus::Suspended
        } else {
            RegionTaskStatus::Suspending
        };
        let moved = diesel::update(
            region_tasks::table
                .find(task_id)
                .filter(region_tasks::status.eq(RegionTaskStatus::Releasing)),
        )
        .set((
            region_tasks::status.eq(to),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::conflict(
                "The task changed meanwhile; reload to see its state.",
            ));
        }
        if waiting {
            // The checkpoint is left undecided; Execute resumes from it.
            diesel::update(
                region_task_steps::table
                    .filter(region_task_steps::task_id.eq(task_id))
                    .filter(region_task_steps::status.eq(StepStatus::Waiting)),
            )
            .set(region_task_steps::status.eq(StepStatus::Pending))
            .execute(conn)?;
            finish_running_execution(conn, task_id, ExecutionStatus::Suspended)?;
        }
        record(
            conn,
            workspace_id,
            Some(actor_id),
            if waiting {
                "region_task.suspended"
            } else {
                "region_task.suspend_requested"
            },
            task_id,
            &task.name,
            "",
        )?;
        Ok(to)
    })
}

/// Who started the task's latest run (release or rollback), if anyone did.
fn last_executor(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Option<UserId>> {
    Ok(region_executions::table
        .filter(region_executions::task_id.eq(task_id))
        .order(region_executions::id.desc())
        .select(region_executions::started_by)
        .first(conn)
        .optional()?
        .flatten())
}

/// Tells whoever started the run how it ended, when `to` is an end (released, release failed,
/// rolled back, rollback failed). `actor` acted (`None`: the worker). Call in the transaction
/// that makes the move.
fn tell_outcome(
    conn: &mut DbConn,
    task: &RegionTask,
    to: RegionTaskStatus,
    actor: Option<UserId>,
) -> QueryResult<()> {
    let kind = match to {
        RegionTaskStatus::Released => NotificationKind::RegionTaskReleased,
        RegionTaskStatus::ReleaseFailed => NotificationKind::RegionTaskFailed,
        RegionTaskStatus::RolledBack => NotificationKind::RegionTaskRolledBack,
        RegionTaskStatus::RollbackFailed => NotificationKind::RegionTaskRollbackFailed,
        _ => return Ok(()),
    };
    let executor: Vec<UserId> = last_executor(conn, task.id)?.into_iter().collect();
    notifications::raise(
        conn,
        Event {
            kind,
            workspace_id: task.workspace_id,
            subject: Subject::RegionTask(task.id),
            actor,
        },
        &executor,
    )?;
    Ok(())
}

fn finish_running_execution(
    conn: &mut DbConn,
    task_id: RegionTaskId,
    status: ExecutionStatus,
) -> QueryResult<()> {
    diesel::update(
        region_executions::table
            .filter(region_executions::task_id.eq(task_id))
            .filter(region_executions::status.eq(ExecutionStatus::Running)),
    )
    .set((
        region_executions::status.eq(status),
        region_executions::finished_at.eq(Some(now())),
    ))
    .execute(conn)?;
    Ok(())
}

crate::domain::text_enum!(
    /// Agree or Reject at a checkpoint, stored in `step_comments.decision`.
    CheckpointDecision {
        Agree = "agree": "Agree",
        Reject = "reject": "Reject",
    }
);

impl CheckpointDecision {
    pub fn css(self) -> &'static str {
        match self {
            CheckpointDecision::Agree => "badge-ok",
            CheckpointDecision::Reject => "badge-bad",
        }
    }
}

/// Who may decide a checkpoint now: a deployer named on it, and for a Manual Approval never
/// the person who executed the release, while it waits in a releasing task. The one statement
/// of the rule: `decide_checkpoint` checks it inside its transaction and the task page asks it
/// whether to offer the decision. `Err` is the refusal `decide_checkpoint` answers.
pub fn may_decide_checkpoint(
    access: &WorkspaceAccess,
    task: &RegionTask,
    step: &Step,
    people: &[(UserId, String)],
    executor: Option<UserId>,
    actor_id: UserId,
) -> Result<(), AppError> {
    if !step.kind().is_checkpoint() {
        return Err(AppError::bad_request(
            "Only checkpoint steps take decisions.",
        ));
    }
    let named = people.iter().any(|(id, _)| *id == actor_id);
    if !named || !access.can(Permission::Deploy) {
        return Err(AppError::forbidden(format!(
            "Only the people named on this {} can decide it.",
            step.kind().label()
        )));
    }
    if step.kind() == StepKind::Approval && executor == Some(actor_id) {
        return Err(AppError::forbidden(
            "You executed this release: someone else must approve it.",
        ));
    }
    if step.status() != StepStatus::Waiting || task.status() != RegionTaskStatus::Releasing {
        return Err(AppError::conflict(format!(
            "This checkpoint is not waiting for a decision (it is {}); yours was not recorded.",
            step.status().label().to_lowercase()
        )));
    }
    Ok(())
}

/// Decides a waiting checkpoint: only the people named on it, and for a Manual Approval never
/// the person who executed the release. Reject needs a comment and fails the release; Agree
/// lets it continue. Two people deciding at once yield one decision.
pub fn decide_checkpoint(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    step_id: StepId,
    decision: CheckpointDecision,
    comment: &Comment,
) -> Result<StepStatus, AppError> {
    let comment = comment.as_str();
    if decision == CheckpointDecision::Reject && comment.is_empty() {
        return Err(AppError::field("comment", "Say why you reject it."));
    }
    write_tx(conn, |conn| {
        let access = workspaces::require(conn, workspace_id, actor_id, Permission::View)?;
        let task = find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)?;
        let step: Step = region_task_steps::table
            .filter(region_task_steps::task_id.eq(task_id))
            .filter(region_task_steps::id.eq(step_id))
            .select(Step::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let people = step_people_list(conn, step_id)?;
        let executor = running_execution(conn, task_id)?.and_then(|(_, by)| by);
        may_decide_checkpoint(&access, &task, &step, &people, executor, actor_id)?;
        let to = match decision {
            CheckpointDecision::Agree => StepStatus::Agreed,
            CheckpointDecision::Reject => StepStatus::Rejected,
        };
        let ts = now();
        let moved = diesel::update(
            region_task_steps::table
                .find(step_id)
                .filter(region_task_steps::status.eq(StepStatus::Waiting)),
        )
        .set((
            region_task_steps::status.eq(to),
            region_task_steps::finished_at.eq(Some(ts)),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::conflict(
                "Someone decided this checkpoint at the same moment; reload to see the outcome.",
            ));
        }
        diesel::insert_into(step_comments::table)
            .values((
                step_comments::step_id.eq(step_id),
                step_comments::user_id.eq(actor_id),
                step_comments::decision.eq(Some(decision)),
                step_comments::comment.eq(comment),
                step_comments::created_at.eq(ts),
            ))
            .execute(conn)?;
        let action = match decision {
            CheckpointDecision::Agree => "region_task.checkpoint_agreed",
            CheckpointDecision::Reject => "region_task.checkpoint_rejected",
        };
        record(
            conn,
            workspace_id,
            Some(actor_id),
            action,
            task_id,
            &task.name,
            &format!("step {}: {comment}", step.position),
        )?;
        match decision {
            CheckpointDecision::Agree => {
                // Continue with the next step in the same execution.
                if let Some((execution_id, _)) = running_execution(conn, task_id)? {
                    jobs::enqueue(conn, QUEUE, &execution_id.to_string())?;
                }
            }
            CheckpointDecision::Reject => {
                let failed = diesel::update(
                    region_tasks::table
                        .find(task_id)
                        .filter(region_tasks::status.eq(RegionTaskStatus::Releasing)),
                )
                .set((
                    region_tasks::status.eq(RegionTaskStatus::ReleaseFailed),
                    region_tasks::updated_at.eq(ts),
                ))
                .execute(conn)?;
                diesel::update(region_task_steps::table.find(step_id))
                    .set(region_task_steps::message.eq(format!("rejected: {comment}")))
                    .execute(conn)?;
                finish_running_execution(conn, task_id, ExecutionStatus::Failed)?;
                if failed == 1 {
                    tell_outcome(conn, &task, RegionTaskStatus::ReleaseFailed, Some(actor_id))?;
                }
            }
        }
        // The others named on the step need not act any more, and an agreement lets the
        // executor's release go on (a rejection told the executor above, as its failure).
        let told: Vec<UserId> = people
            .iter()
            .map(|(id, _)| *id)
            .chain(executor.filter(|_| decision == CheckpointDecision::Agree))
            .filter(|id| decision == CheckpointDecision::Agree || Some(*id) != executor)
            .collect();
        notifications::raise(
            conn,
            Event {
                kind: NotificationKind::CheckpointDecided,
                workspace_id,
                subject: Subject::Checkpoint {
                    task: task_id,
                    step: step_id,
                },
                actor: Some(actor_id),
            },
            &told,
        )?;
        Ok(to)
    })
}

/// Adds a comment to a checkpoint's thread (anyone who may decide it, or deploy).
pub fn comment(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    step_id: StepId,
    text: &Comment,
) -> Result<(), AppError> {
    let text = text.as_str();
    if text.is_empty() {
        return Err(AppError::field("comment", "Write the comment first."));
    }
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let ok: bool = diesel::select(diesel::dsl::exists(
            region_task_steps::table
                .filter(region_task_steps::id.eq(step_id))
                .filter(region_task_steps::task_id.eq(task_id)),
        ))
        .get_result(conn)?;
        if !ok || find(conn, workspace_id, task_id)?.is_none() {
            return Err(AppError::NotFound);
        }
        diesel::insert_into(step_comments::table)
            .values((
                step_comments::step_id.eq(step_id),
                step_comments::user_id.eq(actor_id),
                step_comments::decision.eq(None::<CheckpointDecision>),
                step_comments::comment.eq(text),
                step_comments::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Whether a release of the task changed some region's inventory (else there is nothing to
/// roll back).
pub fn changed_anything(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        execution_results::table
            .inner_join(region_executions::table)
            .filter(region_executions::task_id.eq(task_id))
            .filter(region_executions::kind.eq(ExecutionKind::Release))
            .filter(execution_results::new_entry_id.is_not_null()),
    ))
    .get_result(conn)
}

/// Rolls back a released or failed task (deployers, admins): restores each region's previous
/// inventory entry for the components the task changed.
pub fn rollback(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    task_id: RegionTaskId,
    reason: &Comment,
) -> Result<i64, AppError> {
    let reason = reason.as_str();
    if reason.is_empty() {
        return Err(AppError::field("reason", "Say why you roll back."));
    }
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Deploy)?;
        let task = find(conn, workspace_id, task_id)?.ok_or(AppError::NotFound)?;
        if !task.status().can_roll_back() {
            return Err(AppError::conflict(format!(
                "A task that is {} cannot be rolled back.",
                task.status().label().to_lowercase()
            )));
        }
        if !changed_anything(conn, task_id)? {
            return Err(AppError::conflict(
                "This task changed nothing yet, so there is nothing to roll back.",
            ));
        }
        let moved = diesel::update(
            region_tasks::table
                .find(task_id)
                .filter(region_tasks::status.eq(task.status)),
        )
        .set((
            region_tasks::status.eq(RegionTaskStatus::RollingBack),
            region_tasks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::conflict(
                "The task changed meanwhile; reload to see its state.",
            ));
        }
        let execution_id =
            new_execution(conn, task_id, ExecutionKind::Rollback, 1, actor_id, reason)?;
        jobs::enqueue(conn, QUEUE, &execution_id.to_string())?;
        record(
            conn,
            workspace_id,
            Some(actor_id),
            "region_task.rollback_started",
            task_id,
            &task.name,
            reason,
        )?;
        Ok(execution_id)
    })
}

/// A task in the list.
#[derive(Debug, Queryable)]
pub struct TaskRow {
    pub id: RegionTaskId,
    pub name: String,
    pub operation: Operation,
    pub status: RegionTaskStatus,
    pub best_effort: bool,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub released_at: Option<NaiveDateTime>,
}

// Getters for the templates, which call them.
impl TaskRow {
    pub fn status(&self) -> RegionTaskStatus {
        self.status
    }
    pub fn operation(&self) -> Operation {
        self.operation
    }
}

/// Filters of the task list.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    /// The fuzzy name search (`crate::search`), served by `region_tasks_fts` / pg_trgm.
    pub search: Option<NameSearch>,
    pub status: Option<RegionTaskStatus>,
    pub operation: Option<Operation>,
    pub creator: Option<String>,
}

/// Tasks of a workspace, one page and the total: newest first, or with a search by relevance
/// (tier, then newest; the typo-tolerant score when no name contains every word), as the
/// Tasks and Packages tabs of Task Release.
pub fn list(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    filter: &TaskFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<TaskRow>, i64)> {
    let list = TaskList {
        workspace_id,
        filter,
    };
    search::page(conn, &list, filter.search.as_ref(), limit, offset)
}

/// The searchable name of region release tasks (`search`).
pub const TASK_NAMES: Names = search::names!(region_tasks.name, lower_name);

/// Region tasks with their creator, the task list's source.
#[diesel::dsl::auto_type]
fn tasks_with_creator() -> _ {
    region_tasks::table
        .left_join(users_t::table.on(users_t::id.nullable().eq(region_tasks::created_by)))
}

/// The task list as a `search::Listing`: a workspace's region tasks under a `TaskFilter`.
struct TaskList<'a> {
    workspace_id: WorkspaceId,
    filter: &'a TaskFilter,
}

impl TaskList<'_> {
    fn query(&self, names: Option<NameMatch>) -> IntoBoxed<'_, tasks_with_creator, MultiBackend> {
        let mut q = tasks_with_creator()
            .into_boxed()
            .filter(region_tasks::workspace_id.eq(self.workspace_id));
        if let Some(m) = names {
            q = q.filter(m);
        }
        if let Some(s) = self.filter.status {
            q = q.filter(region_tasks::status.eq(s));
        }
        if let Some(o) = self.filter.operation {
            q = q.filter(region_tasks::operation.eq(o));
        }
        if let Some(c) = &self.filter.creator {
            q = q.filter(users_t::username.eq(c.clone()));
        }
        q
    }
}

impl Listing for TaskList<'_> {
    type Row = TaskRow;

    fn names(&self) -> Names {
        TASK_NAMES
    }

    fn count(&self, conn: &mut DbConn, names: Option<NameMatch>, cap: i64) -> QueryResult<i64> {
        count::capped(conn, self.query(names).select(region_tasks::id).limit(cap))
    }

    fn rows(
        &self,
        conn: &mut DbConn,
        names: Option<NameMatch>,
        order: Order,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<TaskRow>> {
        let q = self.query(names).select((
            region_tasks::id,
            region_tasks::name,
            region_tasks::operation,
            region_tasks::status,
            region_tasks::best_effort,
            region_tasks::created_at,
            users_t::username.nullable(),
            region_tasks::released_at,
        ));
        let q = match order {
            Order::Relevance(tier) => q.order((tier.asc(), region_tasks::id.desc())),
            Order::Newest => q.order(region_tasks::id.desc()),
            Order::Listed => q.order((region_tasks::created_at.desc(), region_tasks::id.desc())),
        };
        q.limit(limit).offset(offset).load(conn)
    }

    fn name_of(row: &TaskRow) -> &str {
        &row.name
    }
}

/// An execution with its results, for Release History.
#[derive(Debug, Queryable)]
pub struct ExecutionRow {
    pub id: i64,
    pub kind: ExecutionKind,
    pub start_position: i32,
    pub started_by: Option<String>,
    pub reason: String,
    pub status: ExecutionStatus,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

pub fn executions(conn: &mut DbConn, task_id: RegionTaskId) -> QueryResult<Vec<ExecutionRow>> {
    region_executions::table
        .left_join(users_t::table.on(users_t::id.nullable().eq(region_executions::started_by)))
        .filter(region_executions::task_id.eq(task_id))
        .select((
            region_executions::id,
            region_executions::kind,
            region_executions::start_position,
            users_t::username.nullable(),
            region_executions::reason,
            region_executions::status,
            region_executions::started_at,
            region_executions::finished_at,
        ))
        .order(region_executions::id.desc())
        .load(conn)
}

/// A per-component, per-region result.
#[derive(Debug, Queryable)]
pub struct ResultRow {
    pub execution_id: i64,
    pub region: String,
    pub component: String,
    pub status: ResultStatus,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
    pub message: String,
    /// The webhook receiver's answer: read for workspace admins only (`results`).
    pub response_body: Option<String>,
}

/// Every per-component result of a task's runs. A webhook receiver's answer can hold what the
/// receiver should not have said, so only those who manage the workspace (who configured the
/// region) get it; for everyone else it is `None`.
pub fn results(
    conn: &mut DbConn,
    task_id: RegionTaskId,
    viewer: &WorkspaceAccess,
) -> QueryResult<Vec<ResultRow>> {
    let mut rows: Vec<ResultRow> = execution_results::table
        .inner_join(region_executions::table)
        .inner_join(components::table)
        .inner_join(regions_t::table.on(regions_t::id.eq(execution_results::region_id)))
        .filter(region_executions::task_id.eq(task_id))
        .select((
            execution_results::execution_id,
            regions_t::name,
            components::name,
            execution_results::status,
            execution_results::started_at,
            execution_results::finished_at,
            execution_results::message,
            execution_results::response_body,
        ))
        .order(execution_results::id)
        .load(conn)?;
    if !viewer.can(Permission::Manage) {
        rows.iter_mut().for_each(|r| r.response_body = None);
    }
    Ok(rows)
}

/// Checkpoints waiting for `user_id`, in any workspace (the Reviews page).
#[derive(Debug, Queryable)]
pub struct CheckpointRequest {
    pub task_id: RegionTaskId,
    pub task_name: String,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub kind: StepKind,
    pub position: i32,
}

// A getter for the template, which calls it.
impl CheckpointRequest {
    pub fn kind(&self) -> StepKind {
        self.kind
    }
}

pub fn awaiting(conn: &mut DbConn, user_id: UserId) -> QueryResult<Vec<CheckpointRequest>> {
    use crate::db::schema::workspaces;
    let all: Vec<CheckpointRequest> = step_people::table
        .inner_join(region_task_steps::table.inner_join(region_tasks::table))
        .inner_join(workspaces::table.on(workspaces::id.eq(region_tasks::workspace_id)))
        // Planned once for every viewer (`db::opaque`).
        .filter(step_people::user_id.eq(crate::db::opaque(user_id)))
        .filter(region_task_steps::status.eq(Const::text(StepStatus::Waiting.as_str())))
        .filter(region_tasks::status.eq(Const::text(RegionTaskStatus::Releasing.as_str())))
        .select((
            region_tasks::id,
            region_tasks::name,
            workspaces::slug,
            workspaces::name,
            region_task_steps::kind,
            region_task_steps::position,
        ))
        .order(region_tasks::id)
        .load(conn)?;
    // The person who executed a release never approves its Manual Approval: not theirs to do.
    // Who started each task's running execution, in one query (this runs on every page, for
    // the navigation's count).
    let task_ids: Vec<RegionTaskId> = all.iter().map(|c| c.task_id).collect();
    let mut executor: std::collections::HashMap<RegionTaskId, Option<UserId>> = Default::default();
    if !task_ids.is_empty() {
        let running: Vec<(RegionTaskId, Option<UserId>)> = region_executions::table
            .filter(region_executions::task_id.eq_any(&task_ids))
            .filter(region_executions::status.eq(Const::text(ExecutionStatus::Running.as_str())))
            .order((region_executions::task_id, region_executions::id.desc()))
            .select((region_executions::task_id, region_executions::started_by))
            .load(conn)?;
        for (task, by) in running {
            // The newest running execution of a task comes first.
            executor.entry(task).or_insert(by);
        }
    }
    Ok(all
        .into_iter()
        .filter(|c| {
            let by = executor.get(&c.task_id).copied().flatten();
            !(c.kind() == StepKind::Approval && by == Some(user_id))
        })
        .collect())
}
