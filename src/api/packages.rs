//! Release packages over the API: release tasks (with reviewers, the same 100 limit and rules as
//! the Release dialog), read one with its reviewers and per-task release and startup status,
//! wait for it to change (`?wait=30s`), decide as a reviewer, and list with the Packages tab's
//! filters. Waiting re-reads the package every `WAIT_POLL` on this instance, so a change made
//! by any instance on the same database ends the wait.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Waits, Writer};
use super::problem::ApiError;
use super::{
    cursor_before, cursor_offset, enumerated, fingerprint, idempotency_key, json, limit, one_page,
    replay, text_filter, utc, workspace,
};
use crate::db::DbConn;
use crate::db::models::idempotency::{self, Answer};
use crate::db::models::releases::{self, Decision, PackageFilter, PackageRow, ReleaseRequest};
use crate::db::models::{stopped, users};
use crate::domain::{Comment, PackageId, PackageName, PackageStatus, TaskId, UserId, WorkspaceId};
use crate::error::AppError;
use crate::routes::task_release::date;
use crate::search::NameSearch;
use crate::state::{AppState, with_conn, with_read_conn};

/// The longest `wait`.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often a waiting request re-reads the package.
pub const WAIT_POLL: Duration = Duration::from_millis(500);

/// A package in a list.
#[derive(Serialize, ToSchema)]
pub struct Package {
    pub id: i64,
    pub name: String,
    /// `pending_approval`, `releasing`, `released`, `partially_failed`, `failed`, `rejected`
    /// or `revoked`.
    pub status: String,
    pub applicant: String,
    pub comment: String,
    pub needs_approval: bool,
    /// `any` (one approval releases) or `all` (every reviewer must approve).
    pub quorum: String,
    pub applied_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
    pub release_started_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub task_count: i32,
    pub done_count: i32,
    pub failed_count: i32,
    /// Released, partially failed, failed, rejected or revoked: it will not change again.
    pub finished: bool,
    /// Why it stands still, as its page says: "Waiting for bob or carol", "Rejected by bob:
    /// …", "1 task failed; first etl/a.sql: …". None while it moves or once released.
    pub why: Option<String>,
}

impl From<PackageRow> for Package {
    fn from(p: PackageRow) -> Self {
        Package {
            id: p.id.get(),
            finished: is_finished(p.status),
            name: p.name,
            status: p.status.as_str().to_owned(),
            applicant: p.applicant,
            comment: p.comment,
            needs_approval: p.needs_approval,
            quorum: p.quorum.as_str().to_owned(),
            applied_at: utc(p.applied_at),
            decided_by: p.decided_by_name,
            decided_at: p.decided_at.map(utc),
            released_by: p.released_by_name,
            release_started_at: p.release_started_at.map(utc),
            released_at: p.released_at.map(utc),
            task_count: p.task_count,
            done_count: p.done_count,
            failed_count: p.failed_count,
            why: None,
        }
    }
}

/// The packages of `rows` with why each that stands still does.
fn with_why(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    rows: Vec<PackageRow>,
) -> Result<Vec<Package>, AppError> {
    let shown: Vec<_> = rows.iter().map(|p| (p.id, p.status)).collect();
    let mut why = stopped::packages(conn, workspace_id, &shown)?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let reason = why.remove(&p.id).map(|w| w.to_string());
            Package {
                why: reason,
                ..Package::from(p)
            }
        })
        .collect())
}

fn is_finished(status: PackageStatus) -> bool {
    !matches!(
        status,
        PackageStatus::PendingApproval | PackageStatus::Releasing
    )
}

/// A reviewer named on a package and their decision.
#[derive(Serialize, ToSchema)]
pub struct Reviewer {
    pub username: String,
    /// `approved`, `rejected`, or none yet.
    pub decision: Option<String>,
    pub comment: String,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A task of a package and how its release went.
#[derive(Serialize, ToSchema)]
pub struct PackageTask {
    pub task_id: i64,
    pub script_id: i64,
    pub name: String,
    pub version: i32,
    /// `waiting`, `released`, `failed` or `withdrawn`.
    pub release_status: String,
    /// The first run in production: `not_started`, `succeeded`, `failed`, …
    pub startup_status: String,
    /// What went wrong, or what the run said.
    pub message: String,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A package with its reviewers and tasks.
#[derive(Serialize, ToSchema)]
pub struct PackageDetail {
    #[serde(flatten)]
    pub package: Package,
    pub reviewers: Vec<Reviewer>,
    pub tasks: Vec<PackageTask>,
}

/// What a waiting request compares: a change in any of it ends the wait.
type Mark = (PackageStatus, i32, i32, usize);

fn detail(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: PackageId,
) -> Result<(PackageDetail, Mark), AppError> {
    let package = releases::find_package(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
    let reviewers = releases::package_reviewers(conn, id)?;
    let tasks = releases::package_tasks(conn, id)?;
    let mark = (
        package.status,
        package.done_count,
        package.failed_count,
        reviewers.iter().filter(|r| r.decision.is_some()).count(),
    );
    Ok((
        PackageDetail {
            package: with_why(conn, workspace_id, vec![package])?.remove(0),
            reviewers: reviewers
                .into_iter()
                .map(|r| Reviewer {
                    username: r.username,
                    decision: r.decision.map(|d| d.as_str().to_owned()),
                    comment: r.comment,
                    decided_at: r.decided_at.map(utc),
                })
                .collect(),
            tasks: tasks
                .into_iter()
                .map(|t| PackageTask {
                    task_id: t.task_id.get(),
                    script_id: t.script_id,
                    name: t.name,
                    version: t.version_number,
                    release_status: t.release_status.as_str().to_owned(),
                    startup_status: t.startup_status.as_str().to_owned(),
                    message: t.message,
                    finished_at: t.finished_at.map(utc),
                })
                .collect(),
        },
        mark,
    ))
}

/// A page of packages, newest first.
#[derive(Serialize, ToSchema)]
pub struct PackagePage {
    pub items: Vec<Package>,
    pub next_cursor: Option<String>,
}

/// The Packages tab's filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackageListQuery {
    /// Fuzzy search on the package's name.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Username of the applicant.
    #[param(max_length = 40)]
    pub applicant: Option<String>,
    /// Username of who released it.
    #[param(max_length = 40)]
    pub released_by: Option<String>,
    /// One status (see `Package.status`).
    #[param(
        pattern = "^(|pending_approval|releasing|released|partially_failed|failed|rejected|revoked)$"
    )]
    pub status: Option<String>,
    /// Applied on or after this day (`2026-11-23`, years 2000 to 2100).
    #[param(pattern = "^(|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub applied_from: Option<String>,
    /// Applied on or before this day.
    #[param(pattern = "^(|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub applied_to: Option<String>,
    /// Released on or after this day.
    #[param(pattern = "^(|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub released_from: Option<String>,
    /// Released on or before this day.
    #[param(pattern = "^(|[0-9]{4}-[0-9]{2}-[0-9]{2})$")]
    pub released_to: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^(|[bo][0-9]+)$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Packages, newest first; with `q`, ranked by relevance as on the Packages tab.
#[utoipa::path(get, operation_id = "listPackages", path = "/api/v1/workspaces/{ws}/packages", tag = "packages",
    params(("ws" = String, Path, description = "Workspace slug"), PackageListQuery),
    responses((status = 200, description = "A page of packages", body = PackagePage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<PackageListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = limit(q.limit)?;
    let search = text_filter(q.q.as_deref(), 200, "A search")?.and_then(|q| NameSearch::parse(&q));
    // As the task list: a search ranked as on the Packages tab and paged by position, the
    // plain list newest first and paged after an id.
    let ranked = search.is_some();
    let (before, offset) = if ranked {
        (None, cursor_offset(q.cursor.as_deref())?)
    } else {
        (cursor_before(q.cursor.as_deref())?, 0)
    };
    let status = enumerated(q.status.as_deref(), "status", PackageStatus::parse)?;
    let filter = PackageFilter {
        search,
        applicant: text_filter(q.applicant.as_deref(), 40, "applicant")?.map(|s| s.to_lowercase()),
        released_by: text_filter(q.released_by.as_deref(), 40, "released_by")?
            .map(|s| s.to_lowercase()),
        status,
        applied_from: date(&q.applied_from, "applied_from", false)?,
        applied_to: date(&q.applied_to, "applied_to", true)?,
        released_from: date(&q.released_from, "released_from", false)?,
        released_to: date(&q.released_to, "released_to", true)?,
        by_id: !ranked,
        before: before.map(PackageId),
    };
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let (rows, _) = releases::list_packages(conn, ws.id, &filter, limit + 1, offset)?;
        let (rows, next_cursor) = one_page(rows, limit, |p| match ranked {
            true => format!("o{}", offset + limit),
            false => format!("b{}", p.id.get()),
        });
        Ok(PackagePage {
            items: with_why(conn, ws.id, rows)?,
            next_cursor,
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}

/// Tasks to release as one package.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReleaseBody {
    /// 1 to 100 pending or rejected tasks.
    #[schema(min_items = 1, max_items = 100)]
    pub task_ids: Vec<i64>,
    /// The package's name.
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: String,
    /// Usernames of the reviewers, from the workspace's reviewer list; needed when the
    /// workspace's policy asks for approval of this user's releases.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub reviewers: Vec<String>,
}

/// Releases tasks as a package: it waits for a reviewer, or (when the policy lets this user
/// release directly) starts releasing. Idempotent under `Idempotency-Key`.
#[utoipa::path(post, operation_id = "releasePackage", path = "/api/v1/workspaces/{ws}/packages", tag = "packages",
    params(("ws" = String, Path, description = "Workspace slug"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first answer")),
    request_body = ReleaseBody,
    responses((status = 201, description = "The package", body = PackageDetail)))]
pub async fn create(
    state: web::Data<AppState>,
    writer: Writer,
    req: HttpRequest,
    ws: web::Path<String>,
    body: web::Json<ReleaseBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let key = idempotency_key(&req)?;
    let print = fingerprint(&req, &body);
    let mut refused = Vec::new();
    let name = PackageName::parse(&body.name)
        .map_err(|e| refused.push(("name".to_owned(), e.to_string())))
        .ok();
    let comment = Comment::parse(&body.comment)
        .map_err(|e| refused.push(("comment".to_owned(), e.to_string())))
        .ok();
    let (Some(name), Some(comment)) = (name, comment) else {
        return Err(ApiError::Fields(refused));
    };
    let user = writer.0.user;
    let answer = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let reviewers = reviewer_ids(conn, &body.reviewers)?;
        let request = ReleaseRequest {
            task_ids: body.task_ids.iter().copied().map(TaskId).collect(),
            name,
            comment,
            reviewers,
        };
        idempotency::once(conn, user.id, key.as_deref(), &print, |conn| {
            let done = releases::release(conn, user.id, ws.id, &request)?;
            let (detail, _) = detail(conn, ws.id, done.package_id)?;
            Ok(Answer {
                status: 201,
                body: serde_json::to_string(&detail).unwrap_or_default(),
            })
        })
    })
    .await?;
    Ok(replay(answer))
}

/// The ids of reviewers named by username; an unknown name is refused on `reviewers` (whether
/// a known one may review is `releases::release`'s rule).
fn reviewer_ids(conn: &mut DbConn, names: &[String]) -> Result<Vec<UserId>, AppError> {
    if names.len() > 100 {
        return Err(AppError::field("reviewers", "Name at most 100 reviewers."));
    }
    names
        .iter()
        .map(|n| {
            let n = n.trim().to_lowercase();
            users::find_by_username(conn, &n)?
                .map(|u| u.id)
                .ok_or_else(|| {
                    AppError::field("reviewers", format!("There is no user named “{n}”."))
                })
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Wait up to this long (`30s` or `30`, at most `60s`) for the package to change before
    /// answering; answers at once when it is finished.
    #[param(pattern = "^(|([0-9]|[1-5][0-9]|60)s?)$")]
    pub wait: Option<String>,
}

/// `30s` or `30`, up to `MAX_WAIT`.
pub(crate) fn parse_wait(raw: Option<&str>) -> Result<Duration, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Duration::ZERO);
    };
    let digits = raw.strip_suffix('s').unwrap_or(raw);
    let secs = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten();
    match secs {
        Some(s) if s <= MAX_WAIT.as_secs() => Ok(Duration::from_secs(s)),
        _ => Err(AppError::bad_request(
            "wait is a number of seconds up to 60, like 30s.",
        )),
    }
}

/// One package with its reviewers and tasks; with `wait`, answers when it changes (status,
/// progress or a decision) or when the time is up, whichever is first.
#[utoipa::path(get, operation_id = "getPackage", path = "/api/v1/workspaces/{ws}/packages/{id}", tag = "packages",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Package id"), WaitQuery),
    responses((status = 200, description = "The package", body = PackageDetail)))]
pub async fn read(
    state: web::Data<AppState>,
    caller: Caller,
    waits: web::Data<Waits>,
    path: web::Path<(String, PackageId)>,
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
    let ws_id = {
        let user = user.clone();
        with_read_conn(&state, move |conn| Ok(workspace(conn, &user, &slug)?.0.id)).await?
    };
    let read = || with_read_conn(&state, move |conn| detail(conn, ws_id, id));
    let (mut current, first) = read().await?;
    while !current.package.finished && Instant::now() + WAIT_POLL <= deadline {
        actix_web::rt::time::sleep(WAIT_POLL).await;
        let (next, mark) = read().await?;
        current = next;
        if mark != first {
            break;
        }
    }
    Ok(json(StatusCode::OK, &current))
}

/// A reviewer's decision.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecisionBody {
    /// `approve` or `reject`.
    #[schema(pattern = "^(approve|reject)$")]
    pub decision: String,
    /// Needed to reject: what the applicant must fix.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: String,
}

/// Approves or rejects a package as one of its reviewers (never its applicant).
#[utoipa::path(post, operation_id = "decidePackage", path = "/api/v1/workspaces/{ws}/packages/{id}/decision", tag = "packages",
    params(("ws" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Package id")),
    request_body = DecisionBody,
    responses((status = 200, description = "The package after the decision", body = PackageDetail)))]
pub async fn decide(
    state: web::Data<AppState>,
    writer: Writer,
    path: web::Path<(String, PackageId)>,
    body: web::Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let decision = match body.decision.trim() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(AppError::field("decision", "decision is approve or reject.").into()),
    };
    let comment = Comment::parse(&body.comment)
        .map_err(|e| ApiError::Fields(vec![("comment".to_owned(), e.to_string())]))?;
    let user = writer.0.user;
    let detail = with_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &slug)?;
        releases::decide(conn, user.id, ws.id, id, decision, &comment)?;
        Ok(detail(conn, ws.id, id)?.0)
    })
    .await?;
    Ok(json(StatusCode::OK, &detail))
}
