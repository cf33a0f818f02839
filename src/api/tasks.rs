//! Release tasks over the API: the Tasks tab's list (its filters and search, newest first and
//! paged by cursor), one task with its content and its diff against the previous version, and
//! revoking tasks not yet released.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Writer};
use super::problem::ApiError;
use super::{
    cursor_offset, enumerated, json, limit, one_page, text_filter, time_cursor, utc, workspace,
};
use crate::db::models::releases::{self, TaskFilter, TaskKey, TaskRow, TaskSort};
use crate::db::models::scripts;
use crate::domain::{TaskId, TaskStatus};
use crate::error::AppError;
use crate::search::NameSearch;
use crate::state::{AppState, with_conn, with_read_conn};

/// A release task.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub script_id: i64,
    /// The script's path.
    pub name: String,
    pub version: i32,
    /// `pending`, `in_review`, `releasing`, `released`, `failed`, `rejected`, `revoked` or
    /// `superseded`.
    pub status: String,
    /// Why it is in that status, when a person or a rule gave a reason.
    pub status_reason: String,
    pub submitted_by: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// The package it was last released in.
    pub package_id: Option<i64>,
}

impl From<TaskRow> for Task {
    fn from(t: TaskRow) -> Self {
        Task {
            id: t.id.get(),
            script_id: t.script_id,
            name: t.name,
            version: t.version_number,
            status: t.status.as_str().to_owned(),
            status_reason: t.status_reason,
            submitted_by: t.submitted_by,
            submitted_at: utc(t.submitted_at),
            package_id: t.package_id.map(|p| p.get()),
        }
    }
}

/// A page of tasks.
#[derive(Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The Tasks tab's filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// Fuzzy search on the script's path (every word, any order; typos tolerated).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Username of the submitter.
    #[param(max_length = 40)]
    pub submitter: Option<String>,
    /// One status (see `Task.status`).
    #[param(
        pattern = "^(|pending|in_review|releasing|released|failed|rejected|revoked|superseded)$"
    )]
    pub status: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^(|k[0-9]+\\.[0-9]+|o[0-9]+)$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Tasks, newest first; with `q`, ranked by relevance as on the Tasks tab.
#[utoipa::path(get, operation_id = "listTasks", path = "/api/v1/workspaces/{ws}/tasks", tag = "tasks",
    params(("ws" = String, Path, description = "Workspace slug"), TaskListQuery),
    responses((status = 200, description = "A page of tasks", body = TaskPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<TaskListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = limit(query.limit)?;
    let search =
        text_filter(query.q.as_deref(), 200, "A search")?.and_then(|q| NameSearch::parse(&q));
    // A search is ranked as on the Tasks tab (tier, then newest) and paged by position in
    // that ranking; the plain list is newest first and paged after a row, so rows added
    // meanwhile never repeat one.
    let ranked = search.is_some();
    let (before, offset) = if ranked {
        (None, cursor_offset(query.cursor.as_deref())?)
    } else {
        let key = time_cursor::parse(query.cursor.as_deref())?.map(|(submitted_at, id)| TaskKey {
            submitted_at,
            id: TaskId(id),
        });
        (key, 0)
    };
    let status = enumerated(query.status.as_deref(), "status", TaskStatus::parse)?;
    let filter = TaskFilter {
        search,
        submitter: text_filter(query.submitter.as_deref(), 40, "submitter")?
            .map(|s| s.to_lowercase()),
        status,
        sort: if ranked {
            TaskSort::SubmittedAt
        } else {
            TaskSort::Newest
        },
        descending: true,
        before,
    };
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let (rows, _) = releases::list_tasks(conn, ws.id, &filter, limit + 1, offset)?;
        let (rows, next_cursor) = one_page(rows, limit, |t| match ranked {
            true => format!("o{}", offset + limit),
            false => time_cursor::of(t.submitted_at, t.id.get()),
        });
        Ok(TaskPage {
            items: rows.into_iter().map(Task::from).collect(),
            next_cursor,
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}

/// A task with its content and what changed.
#[derive(Serialize, ToSchema)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub task: Task,
    /// This version's content.
    pub content: String,
    /// Unified diff against the previous version (against nothing for version 1).
    pub diff: String,
}

/// One task.
#[utoipa::path(get, operation_id = "getTask", path = "/api/v1/workspaces/{ws}/tasks/{id}", tag = "tasks",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Task id")),
    responses((status = 200, description = "The task", body = TaskDetail)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, TaskId)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let user = caller.user;
    let detail = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        let task = releases::find_task(conn, ws.id, id)?.ok_or(AppError::NotFound)?;
        let this = scripts::version(conn, task.script_id, task.version_number)?
            .ok_or(AppError::NotFound)?;
        let (old, old_label) =
            match scripts::version(conn, task.script_id, task.version_number - 1)? {
                Some(p) => (p.content, format!("{} v{}", task.name, p.number)),
                None => (String::new(), "/dev/null".to_owned()),
            };
        let diff = crate::diff::unified(
            &old,
            &this.content,
            &old_label,
            &format!("{} v{}", task.name, this.number),
        );
        Ok(TaskDetail {
            task: task.into(),
            content: this.content,
            diff,
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &detail))
}

/// Tasks to revoke.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// Up to 100 task ids.
    #[schema(min_items = 1, max_items = 100)]
    pub task_ids: Vec<i64>,
}

/// How many tasks were revoked.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: usize,
}

/// Revokes tasks not yet released: developers their own, deployers and admins any.
#[utoipa::path(post, operation_id = "revokeTasks", path = "/api/v1/workspaces/{ws}/tasks/revoke", tag = "tasks",
    params(("ws" = String, Path, description = "Workspace slug")),
    request_body = RevokeRequest,
    responses((status = 200, description = "Revoked", body = Revoked)))]
pub async fn revoke(
    state: web::Data<AppState>,
    writer: Writer,
    ws: web::Path<String>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    let ids: Vec<TaskId> = body.into_inner().task_ids.into_iter().map(TaskId).collect();
    let user = writer.0.user;
    let revoked = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        releases::revoke(conn, user.id, ws.id, &ids)
    })
    .await?;
    Ok(json(StatusCode::OK, &Revoked { revoked }))
}
