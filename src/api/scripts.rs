//! Scripts over the API: list and search, read, create, replace the draft, and submit a version
//! (which creates the release task, as the editor's Submit does). Bodies are checked field by
//! field with the editor's own messages (`routes::scripts::ScriptForm`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Writer};
use super::problem::ApiError;
use super::tasks::Task;
use super::{
    cursor_offset, fingerprint, idempotency_key, json, limit, one_page, replay, text_filter, utc,
    workspace,
};
use crate::db::models::idempotency::{self, Answer};
use crate::db::models::releases;
use crate::db::models::scripts::{self, Script, ScriptDraft};
use crate::domain::ScriptPath;
use crate::error::AppError;
use crate::routes::FormErrors;
use crate::routes::scripts::{ScriptForm, check_message};
use crate::search::NameSearch;
use crate::state::{AppState, with_conn, with_read_conn};

/// A script in a list.
#[derive(Serialize, ToSchema)]
pub struct ScriptSummary {
    pub id: i64,
    pub path: String,
    /// `sql`, `shell`, `python`, … (see the script types of the editor).
    pub script_type: String,
    /// The newest submitted version (0: none yet).
    pub latest_version: i32,
    /// The version production runs, if any.
    pub live_version: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

/// A page of scripts, by path.
#[derive(Serialize, ToSchema)]
pub struct ScriptPage {
    pub items: Vec<ScriptSummary>,
    pub next_cursor: Option<String>,
}

/// A script with its draft.
#[derive(Serialize, ToSchema)]
pub struct ScriptJson {
    pub id: i64,
    pub path: String,
    pub script_type: String,
    /// A cron expression, or empty.
    pub schedule: String,
    pub description: String,
    /// The draft: what the next submitted version will hold.
    pub draft_content: String,
    pub latest_version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<Script> for ScriptJson {
    fn from(s: Script) -> Self {
        ScriptJson {
            id: s.id,
            path: s.path,
            script_type: s.script_type.as_str().to_owned(),
            schedule: s.schedule,
            description: s.description,
            draft_content: s.draft_content,
            latest_version: s.latest_version,
            updated_at: utc(s.updated_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScriptListQuery {
    /// Fuzzy search on the path.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^(|[bo][0-9]+)$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Scripts, by path.
#[utoipa::path(get, operation_id = "listScripts", path = "/api/v1/workspaces/{ws}/scripts", tag = "scripts",
    params(("ws" = String, Path, description = "Workspace slug"), ScriptListQuery),
    responses((status = 200, description = "A page of scripts", body = ScriptPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<ScriptListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let offset = cursor_offset(query.cursor.as_deref())?;
    let search =
        text_filter(query.q.as_deref(), 200, "A search")?.and_then(|q| NameSearch::parse(&q));
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let (rows, _) = scripts::page(conn, ws.id, search.as_ref(), limit + 1, offset)?;
        let (rows, next_cursor) = one_page(rows, limit, |_| format!("o{}", offset + limit));
        Ok(ScriptPage {
            next_cursor,
            items: rows
                .into_iter()
                .map(|r| ScriptSummary {
                    id: r.id,
                    path: r.path,
                    script_type: r.script_type.as_str().to_owned(),
                    latest_version: r.latest_version,
                    live_version: r.live_version,
                    updated_at: utc(r.updated_at),
                })
                .collect(),
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}

/// The editable fields of a script.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DraftBody {
    /// One of the editor's script types.
    #[schema(pattern = "^(sql|shell|python|spark|hive)$")]
    pub script_type: String,
    /// A cron expression, or empty (default).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub schedule: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// At most 1 MiB.
    #[schema(max_length = 1048576)]
    pub content: String,
}

impl DraftBody {
    fn form(&self, path: &str) -> ScriptForm {
        ScriptForm {
            path: path.to_owned(),
            script_type: self.script_type.clone(),
            schedule: self.schedule.clone(),
            description: self.description.clone(),
            content: self.content.clone(),
        }
    }
}

/// A new script.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct NewScript {
    /// Its path, e.g. `etl/daily_orders.sql`: letters, digits and `. _ - /`, segments separated
    /// by single slashes.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
    )]
    pub path: String,
    #[serde(flatten)]
    pub draft: DraftBody,
}

/// Every refused field of a body at once.
fn refused(errors: FormErrors) -> ApiError {
    ApiError::Fields(
        errors
            .fields()
            .map(|(f, m)| (f.to_owned(), m.to_owned()))
            .collect(),
    )
}

/// The draft of a body, or every field it refuses.
fn checked_draft(body: &DraftBody, errors: &mut FormErrors) -> Option<ScriptDraft> {
    body.form("").draft(errors)
}

/// Creates a script with a draft (no version yet). Idempotent under `Idempotency-Key`.
#[utoipa::path(post, operation_id = "createScript", path = "/api/v1/workspaces/{ws}/scripts", tag = "scripts",
    params(("ws" = String, Path, description = "Workspace slug"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first answer")),
    request_body = NewScript,
    responses((status = 201, description = "Created", body = ScriptJson)))]
pub async fn create(
    state: web::Data<AppState>,
    writer: Writer,
    req: HttpRequest,
    ws: web::Path<String>,
    body: web::Json<NewScript>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let key = idempotency_key(&req)?;
    let print = fingerprint(&req, &body);
    let mut errors = FormErrors::default();
    let path = errors.check("path", ScriptPath::parse(&body.path));
    let draft = checked_draft(&body.draft, &mut errors);
    let (Some(path), Some(draft)) = (path, draft) else {
        return Err(refused(errors));
    };
    let user = writer.0.user;
    let answer = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        idempotency::once(conn, user.id, key.as_deref(), &print, |conn| {
            let script = scripts::create(conn, user.id, ws.id, &path, &draft)?;
            Ok(Answer {
                status: 201,
                body: serde_json::to_string(&ScriptJson::from(script)).unwrap_or_default(),
            })
        })
    })
    .await?;
    Ok(replay(answer))
}

/// One script with its draft.
#[utoipa::path(get, operation_id = "getScript", path = "/api/v1/workspaces/{ws}/scripts/{id}", tag = "scripts",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Script id")),
    responses((status = 200, description = "The script", body = ScriptJson)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let user = caller.user;
    let script = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        scripts::find(conn, ws.id, id)?.ok_or(AppError::NotFound)
    })
    .await?;
    Ok(json(StatusCode::OK, &ScriptJson::from(script)))
}

/// Replaces the draft (type, schedule, description, content).
#[utoipa::path(put, operation_id = "updateScriptDraft", path = "/api/v1/workspaces/{ws}/scripts/{id}/draft", tag = "scripts",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Script id")),
    request_body = DraftBody,
    responses((status = 200, description = "The script as saved", body = ScriptJson)))]
pub async fn update_draft(
    state: web::Data<AppState>,
    writer: Writer,
    path: web::Path<(String, i64)>,
    body: web::Json<DraftBody>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let mut errors = FormErrors::default();
    let Some(draft) = checked_draft(&body, &mut errors) else {
        return Err(refused(errors));
    };
    let user = writer.0.user;
    let script = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        scripts::save_draft(conn, user.id, ws.id, id, &draft)
    })
    .await?;
    Ok(json(StatusCode::OK, &ScriptJson::from(script)))
}

/// A version to submit: the saved draft, or `draft` saved and submitted in one step.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// What changed, in a few words (at most 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub message: String,
    /// New draft fields to save and submit at once; without, the saved draft is submitted.
    pub draft: Option<DraftBody>,
}

/// What submitting did.
#[derive(Serialize, ToSchema)]
pub struct Submitted {
    /// The new version's number.
    pub version: i32,
    /// The release task created for it; none when the version equals production or the
    /// workspace is in simple mode.
    pub task: Option<Task>,
    /// Older unreleased tasks of the script that this version replaced.
    pub superseded: usize,
    /// Simple mode: the version is live already.
    pub live: bool,
}

/// Submits the next version; its release task is returned. Idempotent under `Idempotency-Key`.
#[utoipa::path(post, operation_id = "submitScriptVersion", path = "/api/v1/workspaces/{ws}/scripts/{id}/versions", tag = "scripts",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Script id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first answer")),
    request_body = SubmitRequest,
    responses((status = 201, description = "Submitted", body = Submitted)))]
pub async fn submit(
    state: web::Data<AppState>,
    writer: Writer,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    body: web::Json<SubmitRequest>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let body = body.into_inner();
    let key = idempotency_key(&req)?;
    let print = fingerprint(&req, &body);
    let mut errors = FormErrors::default();
    check_message(&body.message, &mut errors);
    let draft = body
        .draft
        .as_ref()
        .and_then(|d| checked_draft(d, &mut errors));
    if !errors.is_empty() {
        return Err(refused(errors));
    }
    let user = writer.0.user;
    let message = body.message;
    let answer = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        idempotency::once(conn, user.id, key.as_deref(), &print, |conn| {
            let done = match &draft {
                Some(d) => scripts::submit_edited(conn, user.id, ws.id, id, d, &message)?,
                None => scripts::submit_version(conn, user.id, ws.id, id, &message)?,
            };
            let task = match done.task_id {
                Some(t) => releases::find_task(conn, ws.id, t)?.map(Task::from),
                None => None,
            };
            let out = Submitted {
                version: done.version.number,
                task,
                superseded: done.superseded,
                live: done.live,
            };
            Ok(Answer {
                status: 201,
                body: serde_json::to_string(&out).unwrap_or_default(),
            })
        })
    })
    .await?;
    Ok(replay(answer))
}
