//! Region Release over the API: regions and components (read), region tasks (create, list,
//! read with steps, decisions and Release History, wait for a change), Execute from an allowed
//! step, Suspend, Rollback and checkpoint decisions. Each change calls the function the task
//! page calls, so the checkpoint rules (`region_release::starts`, `may_decide_checkpoint`)
//! hold as on the page. Webhook secrets and component environments are never sent.

use std::collections::HashMap;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Waits, Writer};
use super::packages::{WAIT_POLL, WaitQuery, parse_wait};
use super::problem::ApiError;
use super::{
    cursor_offset, enumerated, fingerprint, idempotency_key, json, limit, one_page, replay,
    text_filter, utc, workspace,
};
use crate::db::DbConn;
use crate::db::models::idempotency::{self, Answer};
use crate::db::models::region_release::{
    self, CheckpointDecision, StepInput, TaskFilter, TaskInput,
};
use crate::db::models::{regions, stopped, users};
use crate::domain::{
    Comment, Description, Operation, RegionTaskId, RegionTaskStatus, StepId, StepKind, UserId,
    WorkspaceId,
};
use crate::error::AppError;
use crate::search::NameSearch;
use crate::state::{AppState, with_conn, with_read_conn};

/// A region and what runs there now.
#[derive(Serialize, ToSchema)]
pub struct RegionJson {
    pub id: i64,
    pub name: String,
    pub display_order: i32,
    /// `simulated` or `webhook`.
    pub driver: String,
    /// Components running in the region, with their versions.
    pub running: Vec<Running>,
}

#[derive(Serialize, ToSchema)]
pub struct Running {
    pub component_id: i64,
    pub component: String,
    pub version: String,
    pub recorded_at: DateTime<Utc>,
}

/// A component a region task can deploy.
#[derive(Serialize, ToSchema)]
pub struct ComponentJson {
    pub id: i64,
    pub name: String,
    pub artifact: String,
    pub version: String,
    pub instances: i32,
}

/// The workspace's regions and components.
#[derive(Serialize, ToSchema)]
pub struct RegionsJson {
    pub regions: Vec<RegionJson>,
    pub components: Vec<ComponentJson>,
}

/// Regions (in display order) with what runs there, and the components.
#[utoipa::path(get, operation_id = "listRegions", path = "/api/v1/workspaces/{ws}/regions", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug")),
    responses((status = 200, description = "Regions and components", body = RegionsJson)))]
pub async fn regions(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = caller.user;
    let out = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let mut out = Vec::new();
        for r in regions::list_regions(conn, ws.id)? {
            let running = regions::current_inventory(conn, r.id)?
                .into_iter()
                .filter(|e| e.present)
                .map(|e| Running {
                    component_id: e.component_id,
                    component: e.component,
                    version: e.version,
                    recorded_at: utc(e.recorded_at),
                })
                .collect();
            out.push(RegionJson {
                id: r.id,
                name: r.name,
                display_order: r.display_order,
                driver: r.driver.as_str().to_owned(),
                running,
            });
        }
        let components = regions::list_components(conn, ws.id)?
            .into_iter()
            .map(|c| ComponentJson {
                id: c.id,
                name: c.name,
                artifact: c.artifact,
                version: c.version,
                instances: c.instances,
            })
            .collect();
        Ok(RegionsJson {
            regions: out,
            components,
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// A region task in a list.
#[derive(Serialize, ToSchema)]
pub struct RegionTaskSummary {
    pub id: i64,
    pub name: String,
    /// `deploy`, `upgrade` or `clone`.
    pub operation: String,
    /// `to_release`, `releasing`, `released`, `release_failed`, `rolling_back`,
    /// `rolled_back`, `rollback_failed`, `suspending` or `suspended`.
    pub status: String,
    pub best_effort: bool,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// Why it stands still, as its page says: "Waiting at step 2 (Manual Approval) for
    /// carol", "Suspended by bob", "Failed at step 3: …". None while it moves or once done.
    pub why: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionTaskPage {
    pub items: Vec<RegionTaskSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionTaskListQuery {
    /// Fuzzy search on the task's name.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// One status (see `RegionTaskSummary.status`).
    #[param(
        pattern = "^(|to_release|releasing|released|release_failed|rolling_back|rolled_back|rollback_failed|suspending|suspended)$"
    )]
    pub status: Option<String>,
    /// `deploy`, `upgrade` or `clone`.
    #[param(pattern = "^(|deploy|upgrade|clone)$")]
    pub operation: Option<String>,
    /// Username of the creator.
    #[param(max_length = 40)]
    pub creator: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^(|[bo][0-9]+)$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Region tasks, newest first (by relevance with `q`).
#[utoipa::path(get, operation_id = "listRegionTasks", path = "/api/v1/workspaces/{ws}/region-tasks", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), RegionTaskListQuery),
    responses((status = 200, description = "A page of region tasks", body = RegionTaskPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<RegionTaskListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = limit(q.limit)?;
    let offset = cursor_offset(q.cursor.as_deref())?;
    let status = enumerated(q.status.as_deref(), "status", RegionTaskStatus::parse)?;
    let operation = enumerated(q.operation.as_deref(), "operation", Operation::parse)?;
    let filter = TaskFilter {
        search: text_filter(q.q.as_deref(), 200, "A search")?.and_then(|q| NameSearch::parse(&q)),
        status,
        operation,
        creator: text_filter(q.creator.as_deref(), 40, "creator")?.map(|s| s.to_lowercase()),
    };
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let (rows, _) = region_release::list(conn, ws.id, &filter, limit + 1, offset)?;
        let (rows, next_cursor) = one_page(rows, limit, |_| format!("o{}", offset + limit));
        let shown: Vec<_> = rows.iter().map(|t| (t.id, t.status)).collect();
        let mut why = stopped::region_tasks(conn, ws.id, &shown)?;
        Ok(RegionTaskPage {
            next_cursor,
            items: rows
                .into_iter()
                .map(|t| RegionTaskSummary {
                    id: t.id.get(),
                    name: t.name,
                    operation: t.operation.as_str().to_owned(),
                    status: t.status.as_str().to_owned(),
                    best_effort: t.best_effort,
                    created_by: t.created_by,
                    created_at: utc(t.created_at),
                    released_at: t.released_at.map(utc),
                    why: why.remove(&t.id).map(|w| w.to_string()),
                })
                .collect(),
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}

/// A step of a new region task.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StepBody {
    /// `deploy`, `approval` (Manual Approval) or `trigger` (Manual Trigger).
    #[schema(pattern = "^(deploy|approval|trigger)$")]
    pub kind: String,
    /// Deploy: the region (ids from `GET …/regions`).
    pub region_id: Option<i64>,
    /// Deploy: the components.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub component_ids: Vec<i64>,
    /// Checkpoints: who decides (usernames of deployers, admins or tenant admins).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub people: Vec<String>,
}

/// A new region task.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RegionTaskBody {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// `deploy`, `upgrade` or `clone`.
    #[schema(pattern = "^(deploy|upgrade|clone)$")]
    pub operation: String,
    /// Clone: the region to copy from.
    pub source_region_id: Option<i64>,
    /// Keep going when a component fails in a region.
    #[serde(default)]
    pub best_effort: bool,
    /// 1 to 50 steps, in order.
    #[schema(min_items = 1, max_items = 50)]
    pub steps: Vec<StepBody>,
}

/// The task's input, or every field it refuses. People are looked up by username here;
/// whether they may decide is `region_release::create`'s rule.
fn task_input(
    conn: &mut DbConn,
    body: &RegionTaskBody,
) -> Result<Result<TaskInput, Vec<(String, String)>>, AppError> {
    let mut refused = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        refused.push((
            "name".to_owned(),
            "Enter a name of 1 to 120 characters.".to_owned(),
        ));
    }
    let description = Description::parse(&body.description)
        .map_err(|e| refused.push(("description".to_owned(), e.to_string())))
        .ok();
    let operation = Operation::parse(body.operation.trim());
    if operation.is_none() {
        refused.push((
            "operation".to_owned(),
            "Choose Bulk Deploy, Bulk Upgrade or Bulk Clone.".to_owned(),
        ));
    }
    if body.steps.len() > 50 {
        refused.push((
            "steps".to_owned(),
            "A task has at most 50 steps.".to_owned(),
        ));
    }
    let mut steps = Vec::new();
    for (i, s) in body.steps.iter().enumerate().take(50) {
        let Some(kind) = StepKind::parse(s.kind.trim()) else {
            refused.push((
                "steps".to_owned(),
                format!("Step {}: unknown step type.", i + 1),
            ));
            continue;
        };
        let mut people: Vec<UserId> = Vec::new();
        for name in s.people.iter().take(100) {
            let name = name.trim().to_lowercase();
            match users::find_by_username(conn, &name)? {
                Some(u) => people.push(u.id),
                None => refused.push((
                    "steps".to_owned(),
                    format!("Step {}: there is no user named “{name}”.", i + 1),
                )),
            }
        }
        steps.push(StepInput {
            kind,
            region_id: s.region_id,
            component_ids: s.component_ids.iter().copied().take(500).collect(),
            people,
        });
    }
    Ok(match (description, operation) {
        (Some(description), Some(operation)) if refused.is_empty() => Ok(TaskInput {
            name: name.to_owned(),
            description,
            operation,
            source_region_id: body.source_region_id,
            best_effort: body.best_effort,
            steps,
        }),
        _ => Err(refused),
    })
}

/// Creates a region task (`to_release`); Execute starts it. Idempotent under `Idempotency-Key`.
#[utoipa::path(post, operation_id = "createRegionTask", path = "/api/v1/workspaces/{ws}/region-tasks", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first answer")),
    request_body = RegionTaskBody,
    responses((status = 201, description = "The task", body = RegionTaskDetail)))]
pub async fn create(
    state: web::Data<AppState>,
    writer: Writer,
    req: HttpRequest,
    ws: web::Path<String>,
    body: web::Json<RegionTaskBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let key = idempotency_key(&req)?;
    let print = fingerprint(&req, &body);
    let user = writer.0.user;
    let (ws_id, input) = {
        let user = user.clone();
        with_read_conn(&state, move |conn| {
            let (ws, _) = workspace(conn, &user, &ws)?;
            Ok((ws.id, task_input(conn, &body)?))
        })
        .await?
    };
    let input = input.map_err(ApiError::Fields)?;
    let answer = with_conn(&state, move |conn| {
        idempotency::once(conn, user.id, key.as_deref(), &print, |conn| {
            let task = region_release::create(conn, user.id, ws_id, &input)?;
            let (detail, _) = detail(conn, ws_id, task.id)?;
            Ok(Answer {
                status: 201,
                body: serde_json::to_string(&detail).unwrap_or_default(),
            })
        })
    })
    .await?;
    Ok(replay(answer))
}

/// A step of a region task as it stands.
#[derive(Serialize, ToSchema)]
pub struct StepJson {
    pub id: i64,
    pub position: i32,
    /// `deploy`, `approval` or `trigger`.
    pub kind: String,
    pub region_id: Option<i64>,
    /// `pending`, `running`, `succeeded`, `failed`, `waiting`, `agreed`, `rejected`, …
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub message: String,
    /// Deploy: the components' names.
    pub components: Vec<String>,
    /// Checkpoints: who may decide.
    pub people: Vec<String>,
    /// Checkpoints: decisions and comments, oldest first.
    pub comments: Vec<StepComment>,
}

#[derive(Serialize, ToSchema)]
pub struct StepComment {
    pub username: String,
    /// `agree`, `reject`, or none for a plain comment.
    pub decision: Option<String>,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// One run of a task (release or rollback), newest first: its Release History.
#[derive(Serialize, ToSchema)]
pub struct ExecutionJson {
    pub id: i64,
    /// `release` or `rollback`.
    pub kind: String,
    pub start_position: i32,
    pub started_by: Option<String>,
    pub reason: String,
    /// `running`, `succeeded`, `failed` or `suspended`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A region task with its steps and history.
#[derive(Serialize, ToSchema)]
pub struct RegionTaskDetail {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub operation: String,
    pub source_region_id: Option<i64>,
    pub best_effort: bool,
    pub status: String,
    /// Released, rolled back or failed, and nothing runs: it changes only when someone acts.
    pub settled: bool,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// Why it stands still, as its page says: "Waiting at step 2 (Manual Approval) for
    /// carol", "Suspended by bob", "Failed at step 3: …". None while it moves or once done.
    pub why: Option<String>,
    pub steps: Vec<StepJson>,
    pub executions: Vec<ExecutionJson>,
}

/// What a waiting request compares: the task's status and every step's status.
type Mark = (RegionTaskStatus, Vec<String>, usize);

fn detail(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: RegionTaskId,
) -> Result<(RegionTaskDetail, Mark), AppError> {
    let task = region_release::find(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
    let steps = region_release::steps(conn, id)?;
    let why = stopped::region_tasks(conn, workspace_id, &[(id, task.status)])?
        .remove(&id)
        .map(|w| w.to_string());
    let mut components = region_release::task_step_components(conn, id)?;
    let mut people = region_release::task_step_people(conn, id)?;
    let mut comments: HashMap<StepId, Vec<StepComment>> = HashMap::new();
    let all_comments = region_release::comments(conn, id)?;
    let comment_count = all_comments.len();
    for c in all_comments {
        comments.entry(c.step_id).or_default().push(StepComment {
            username: c.username,
            decision: c.decision.map(|d| d.as_str().to_owned()),
            comment: c.comment,
            created_at: utc(c.created_at),
        });
    }
    let mark = (
        task.status,
        steps.iter().map(|s| s.status.as_str().to_owned()).collect(),
        comment_count,
    );
    let executions = region_release::executions(conn, id)?
        .into_iter()
        .map(|e| ExecutionJson {
            id: e.id,
            kind: e.kind.as_str().to_owned(),
            start_position: e.start_position,
            started_by: e.started_by,
            reason: e.reason,
            status: e.status.as_str().to_owned(),
            started_at: utc(e.started_at),
            finished_at: e.finished_at.map(utc),
        })
        .collect();
    Ok((
        RegionTaskDetail {
            id: task.id.get(),
            settled: !matches!(
                task.status,
                RegionTaskStatus::Releasing
                    | RegionTaskStatus::RollingBack
                    | RegionTaskStatus::Suspending
            ),
            name: task.name,
            description: task.description,
            operation: task.operation.as_str().to_owned(),
            source_region_id: task.source_region_id,
            best_effort: task.best_effort,
            status: task.status.as_str().to_owned(),
            created_at: utc(task.created_at),
            released_at: task.released_at.map(utc),
            why,
            steps: steps
                .into_iter()
                .map(|s| StepJson {
                    id: s.id.get(),
                    position: s.position,
                    kind: s.kind.as_str().to_owned(),
                    region_id: s.region_id,
                    status: s.status.as_str().to_owned(),
                    started_at: s.started_at.map(utc),
                    finished_at: s.finished_at.map(utc),
                    message: s.message,
                    components: components
                        .remove(&s.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| c.name)
                        .collect(),
                    people: people
                        .remove(&s.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(_, name)| name)
                        .collect(),
                    comments: comments.remove(&s.id).unwrap_or_default(),
                })
                .collect(),
            executions,
        },
        mark,
    ))
}

/// One region task; with `wait`, answers when it changes (its status, a step's status, a
/// decision or comment) or when the time is up, and at once when it is settled.
#[utoipa::path(get, operation_id = "getRegionTask", path = "/api/v1/workspaces/{ws}/region-tasks/{id}", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Region task id"), WaitQuery),
    responses((status = 200, description = "The task", body = RegionTaskDetail)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    waits: web::Data<Waits>,
    path: web::Path<(String, RegionTaskId)>,
    query: web::Query<WaitQuery>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let wait = parse_wait(query.wait.as_deref())?;
    let _slot = if wait.is_zero() {
        None
    } else {
        Some(Waits::take(&waits, caller.token.id)?)
    };
    let deadline = Instant::now() + wait;
    let user = caller.user;
    let ws_id = with_read_conn(&state, move |conn| Ok(workspace(conn, &user, &slug)?.0.id)).await?;
    let read = || with_read_conn(&state, move |conn| detail(conn, ws_id, id));
    let (mut current, first) = read().await?;
    while !current.settled && Instant::now() + WAIT_POLL <= deadline {
        actix_web::rt::time::sleep(WAIT_POLL).await;
        let (next, mark) = read().await?;
        current = next;
        if mark != first {
            break;
        }
    }
    Ok(json(StatusCode::OK, &current))
}

/// Where to start.
#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ExecuteBody {
    /// The step number to start from; absent: where the rules allow (the first step, or where
    /// a failed or suspended run stopped).
    #[schema(minimum = 1, maximum = 50)]
    pub start: Option<i32>,
}

/// Executes (or resumes) a task from an allowed step: deployers, admins, tenant admins; never
/// past a checkpoint not agreed in this run. Idempotent under `Idempotency-Key`.
#[utoipa::path(post, operation_id = "executeRegionTask", path = "/api/v1/workspaces/{ws}/region-tasks/{id}/execute", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Region task id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first answer")),
    request_body(content = ExecuteBody, description = "Optional: `{}` starts where the rules allow"),
    responses((status = 200, description = "The task, releasing", body = RegionTaskDetail)))]
pub async fn execute(
    state: web::Data<AppState>,
    writer: Writer,
    req: HttpRequest,
    path: web::Path<(String, RegionTaskId)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    // No body is `{}`; a body that does not parse is refused, never read as "the default".
    let body: ExecuteBody = if body.iter().all(u8::is_ascii_whitespace) {
        ExecuteBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("The JSON body does not fit: {e}.")))?
    };
    let key = idempotency_key(&req)?;
    let print = fingerprint(&req, &body);
    let user = writer.0.user;
    let answer = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        idempotency::once(conn, user.id, key.as_deref(), &print, |conn| {
            region_release::execute(conn, user.id, ws.id, id, body.start)?;
            let (detail, _) = detail(conn, ws.id, id)?;
            Ok(Answer {
                status: 200,
                body: serde_json::to_string(&detail).unwrap_or_default(),
            })
        })
    })
    .await?;
    Ok(replay(answer))
}

/// Suspends a releasing task: the running step finishes first.
#[utoipa::path(post, operation_id = "suspendRegionTask", path = "/api/v1/workspaces/{ws}/region-tasks/{id}/suspend", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Region task id")),
    responses((status = 200, description = "The task", body = RegionTaskDetail)))]
pub async fn suspend(
    state: web::Data<AppState>,
    writer: Writer,
    path: web::Path<(String, RegionTaskId)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let user = writer.0.user;
    let out = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        region_release::suspend(conn, user.id, ws.id, id)?;
        Ok(detail(conn, ws.id, id)?.0)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Why to roll back.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RollbackBody {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Rolls back what the task changed, restoring the inventory from before it.
#[utoipa::path(post, operation_id = "rollbackRegionTask", path = "/api/v1/workspaces/{ws}/region-tasks/{id}/rollback", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Region task id")),
    request_body = RollbackBody,
    responses((status = 200, description = "The task, rolling back", body = RegionTaskDetail)))]
pub async fn rollback(
    state: web::Data<AppState>,
    writer: Writer,
    path: web::Path<(String, RegionTaskId)>,
    body: web::Json<RollbackBody>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let reason = Comment::parse(&body.reason)
        .map_err(|e| ApiError::Fields(vec![("reason".to_owned(), e.to_string())]))?;
    let user = writer.0.user;
    let out = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        region_release::rollback(conn, user.id, ws.id, id, &reason)?;
        Ok(detail(conn, ws.id, id)?.0)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// A decision at a checkpoint, or a comment.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CheckpointBody {
    /// `agree`, `reject` (needs a comment) or `comment`.
    #[schema(pattern = "^(agree|reject|comment)$")]
    pub decision: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// Agrees to or rejects a waiting Manual Approval or Manual Trigger as a person named on it
/// (a Manual Approval never by the task's executor), or comments on it.
#[utoipa::path(post, operation_id = "decideCheckpoint", path = "/api/v1/workspaces/{ws}/region-tasks/{id}/steps/{step}/decision", tag = "region release",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Region task id"),
           ("step" = i64, Path, description = "Step id (`steps[].id`)")),
    request_body = CheckpointBody,
    responses((status = 200, description = "The task after the decision", body = RegionTaskDetail)))]
pub async fn decide(
    state: web::Data<AppState>,
    writer: Writer,
    path: web::Path<(String, RegionTaskId, StepId)>,
    body: web::Json<CheckpointBody>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id, step) = path.into_inner();
    let comment = Comment::parse(&body.comment)
        .map_err(|e| ApiError::Fields(vec![("comment".to_owned(), e.to_string())]))?;
    let decision = match body.decision.trim() {
        "agree" => Some(CheckpointDecision::Agree),
        "reject" => Some(CheckpointDecision::Reject),
        "comment" => None,
        _ => {
            return Err(
                AppError::field("decision", "decision is agree, reject or comment.").into(),
            );
        }
    };
    let user = writer.0.user;
    let out = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        match decision {
            Some(d) => {
                region_release::decide_checkpoint(conn, user.id, ws.id, id, step, d, &comment)?;
            }
            None => region_release::comment(conn, user.id, ws.id, id, step, &comment)?,
        }
        Ok(detail(conn, ws.id, id)?.0)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}
