//! `/api/v1`: the JSON API for CI pipelines and scripts. Bearer tokens only (`caller`), JSON in
//! and out, errors as problem documents (`problem`), lists paged by an opaque cursor, creating
//! POSTs idempotent under `Idempotency-Key` (`db::models::idempotency`), and the OpenAPI 3.1
//! document generated from the handlers (`ApiDoc`, served at `/api/v1/openapi.json`). Each
//! handler authenticates, makes the same `db::models` call the page makes and answers JSON;
//! the rules stay in the data layer. `docs/API.md` is the guide.

mod audit;
pub mod caller;
mod packages;
pub mod problem;
mod production;
mod region_release;
mod scripts;
mod tasks;
mod user;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

pub use caller::{RateLimiter, Waits};
use problem::{ApiError, Problem};

use crate::db::DbConn;
use crate::db::models::users::User;
use crate::db::models::workspaces::{self, Workspace};
use crate::domain::WorkspaceAccess;
use crate::error::AppError;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";
/// `PREFIX` as a path prefix (`/api/v1x` is not the API).
pub const PREFIX_SLASH: &str = "/api/v1/";

/// Largest request body: a script of `MAX_SCRIPT_BYTES` escaped as JSON, with room to spare.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Default and largest page of a list.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// Declares the API's route table once: `configure` registers it under `PREFIX` and `ROUTES`
/// lists it (full paths), so the role × action matrix and the OpenAPI completeness test read
/// the table the app serves.
macro_rules! api_routes {
    ( $( $method:ident $path:literal => $handler:path, )* ) => {
        /// Every API route as (method, full path pattern).
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), concat!("/api/v1", $path)), )* ];

        /// Registers the API under `PREFIX`, with JSON errors for bodies, queries and paths that
        /// do not parse and for addresses it does not know.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            cfg.service(
                web::scope(PREFIX)
                    .app_data(json_config())
                    .app_data(query_config())
                    .app_data(path_config())
                    $( .route($path, web::method(actix_web::http::Method::$method).to($handler)) )*
                    .default_service(web::to(not_found)),
            );
        }
    };
}

api_routes! {
    GET  "/openapi.json" => openapi,
    GET  "/user" => user::me,
    GET  "/workspaces/{ws}/scripts" => scripts::list,
    POST "/workspaces/{ws}/scripts" => scripts::create,
    GET  "/workspaces/{ws}/scripts/{id}" => scripts::read,
    PUT  "/workspaces/{ws}/scripts/{id}/draft" => scripts::update_draft,
    POST "/workspaces/{ws}/scripts/{id}/versions" => scripts::submit,
    GET  "/workspaces/{ws}/tasks" => tasks::list,
    GET  "/workspaces/{ws}/tasks/{id}" => tasks::read,
    POST "/workspaces/{ws}/tasks/revoke" => tasks::revoke,
    GET  "/workspaces/{ws}/packages" => packages::list,
    POST "/workspaces/{ws}/packages" => packages::create,
    GET  "/workspaces/{ws}/packages/{id}" => packages::read,
    POST "/workspaces/{ws}/packages/{id}/decision" => packages::decide,
    GET  "/workspaces/{ws}/production" => production::list,
    GET  "/workspaces/{ws}/regions" => region_release::regions,
    GET  "/workspaces/{ws}/region-tasks" => region_release::list,
    POST "/workspaces/{ws}/region-tasks" => region_release::create,
    GET  "/workspaces/{ws}/region-tasks/{id}" => region_release::read,
    POST "/workspaces/{ws}/region-tasks/{id}/execute" => region_release::execute,
    POST "/workspaces/{ws}/region-tasks/{id}/suspend" => region_release::suspend,
    POST "/workspaces/{ws}/region-tasks/{id}/rollback" => region_release::rollback,
    POST "/workspaces/{ws}/region-tasks/{id}/steps/{step}/decision" => region_release::decide,
    GET  "/workspaces/{ws}/audit" => audit::list,
}

/// The OpenAPI document: every route above, its schemas, and every error as a `Problem`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "releasedesk API",
        description = "Submit script versions, release them through review, and follow region \
                       rollouts from CI. Authenticate with `Authorization: Bearer rd_…` (a \
                       personal access token from your Account page). Guide: docs/API.md."
    ),
    paths(
        user::me,
        scripts::list,
        scripts::create,
        scripts::read,
        scripts::update_draft,
        scripts::submit,
        tasks::list,
        tasks::read,
        tasks::revoke,
        packages::list,
        packages::create,
        packages::read,
        packages::decide,
        production::list,
        region_release::regions,
        region_release::list,
        region_release::create,
        region_release::read,
        region_release::execute,
        region_release::suspend,
        region_release::rollback,
        region_release::decide,
        audit::list,
    ),
    components(schemas(Problem, problem::FieldProblem)),
    modifiers(&Errors),
    security(("token" = [])),
    tags(
        (name = "user", description = "Who the token acts as"),
        (name = "scripts", description = "Scripts, their drafts and versions"),
        (name = "tasks", description = "Release tasks of Task Release"),
        (name = "packages", description = "Release packages: release, review, follow"),
        (name = "production", description = "What production runs"),
        (name = "audit", description = "The workspace's audit log"),
        (name = "region release", description = "Regions, components and region tasks: execute, suspend, roll back, decide checkpoints"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the error answers every operation can give, as problem
/// documents, so the document is complete without repeating them on each handler.
struct Errors;

impl Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        let common = [
            (
                "400",
                "The request is malformed (a parameter, the JSON body).",
            ),
            (
                "401",
                "No valid token: missing, unknown, expired or revoked.",
            ),
            ("403", "The token's user (or its scope) may not do this."),
            ("404", "No such item in a workspace the user can see."),
            ("413", "The body is over its limit."),
            ("429", "This token sent too many requests; see Retry-After."),
            ("500", "Something went wrong on the server; it is logged."),
        ];
        let changes = [
            ("409", "The state changed first, or a rule refuses it now."),
            ("422", "A field was refused; `errors` names each."),
        ];
        for item in openapi.paths.paths.values_mut() {
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("put", item.put.as_mut()),
            ] {
                let Some(op) = op else { continue };
                for (code, text) in common {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| problem(text));
                }
                if method != "get" {
                    for (code, text) in changes {
                        op.responses
                            .responses
                            .entry(code.to_owned())
                            .or_insert_with(|| problem(text));
                    }
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: the document (no token needed).
pub async fn openapi() -> HttpResponse {
    // Built once: it depends on nothing but the code.
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.as_str())
}

/// Any address the table does not serve: 405 with `Allow` when the path is a route's with
/// another method, else 404.
async fn not_found(req: HttpRequest) -> HttpResponse {
    unrouted(&req)
}

/// The answer to a request no handler takes: 405 with `Allow` when the most specific route
/// patterns matching its path (`/tasks/revoke` before `/tasks/{id}`) take other methods, else
/// 404. Also what a path that does not parse gets (`path_config`): `GET /tasks/revoke`
/// reaches `GET /tasks/{id}` first.
fn unrouted(req: &HttpRequest) -> HttpResponse {
    let matching: Vec<&(&str, &str)> = ROUTES
        .iter()
        .filter(|(_, pattern)| path_matches(pattern, req.path()))
        .collect();
    let literals = |pattern: &str| pattern.split('/').filter(|s| !s.starts_with('{')).count();
    let most = matching.iter().map(|(_, p)| literals(p)).max().unwrap_or(0);
    let allowed: Vec<&str> = matching
        .iter()
        .filter(|(_, p)| literals(p) == most)
        .map(|(method, _)| *method)
        .collect();
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return ApiError::from(AppError::NotFound).error_response();
    }
    let detail = format!(
        "{} is not allowed here; use {}.",
        req.method(),
        allowed.join(" or ")
    );
    let mut res = ApiError::from(AppError::MethodNotAllowed(detail)).error_response();
    res.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_str(&allowed.join(", ")).expect("method names are ASCII"),
    );
    res
}

/// Whether `path` is an address of the route `pattern` (`{name}` matches one segment).
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut a) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), a.next()) {
            (None, None) => return true,
            (Some(seg), Some(given)) if seg.starts_with('{') && !given.is_empty() => {}
            (Some(seg), Some(given)) if seg == given => {}
            _ => return false,
        }
    }
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(false)
        .error_handler(|err, _| {
            use actix_web::error::JsonPayloadError;
            let e = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::TooLarge(format!(
                    "The body is too large: at most {} MiB.",
                    MAX_BODY_BYTES / (1024 * 1024)
                )),
                JsonPayloadError::Deserialize(e) => {
                    AppError::bad_request(format!("The JSON body does not fit: {e}."))
                }
                _ => AppError::bad_request(format!("The body is not JSON: {err}.")),
            };
            ApiError::from(e).into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError::from(AppError::bad_request(format!(
            "The query string does not fit: {err}."
        )))
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        actix_web::error::InternalError::from_response(err, unrouted(req)).into()
    })
}

/// A JSON answer.
pub(crate) fn json<T: Serialize>(status: actix_web::http::StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(serde_json::to_string(body).unwrap_or_default())
}

/// A stored time as the API writes it: RFC 3339 in UTC.
pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The workspace `slug` and the caller's access there; 404 when they are not a member.
pub(crate) fn workspace(
    conn: &mut DbConn,
    user: &User,
    slug: &str,
) -> Result<(Workspace, WorkspaceAccess), AppError> {
    workspaces::access(conn, user, slug)
}

/// `limit`: 1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when absent.
pub(crate) fn limit(raw: Option<i64>) -> Result<i64, AppError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::bad_request(format!("limit is 1 to {MAX_LIMIT}."))),
    }
}

/// Cursors are opaque to clients: `b<id>` (rows with a smaller id, newest first), `k<time>.<id>`
/// (`time_cursor`: rows after that one, newest first by time then id) or `o<n>` (the next
/// offset of a list in a fixed order).
pub(crate) fn cursor_before(raw: Option<&str>) -> Result<Option<i64>, AppError> {
    parse_cursor(raw, 'b')
}

/// Cursors of lists newest first by a time and then an id (tasks, the audit log):
/// `k<microseconds since 1970>.<id>`.
pub(crate) mod time_cursor {
    use chrono::{DateTime, NaiveDateTime};

    use crate::error::AppError;

    pub fn of(at: NaiveDateTime, id: i64) -> String {
        format!("k{}.{id}", at.and_utc().timestamp_micros())
    }

    pub fn parse(raw: Option<&str>) -> Result<Option<(NaiveDateTime, i64)>, AppError> {
        let Some(raw) = raw.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let bad =
            || AppError::bad_request("cursor is not one this list gave; start again without it.");
        let (micros, id) = raw
            .strip_prefix('k')
            .and_then(|r| r.split_once('.'))
            .ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp_micros(micros)
            .ok_or_else(bad)?
            .naive_utc();
        Ok(Some((at, id)))
    }
}

pub(crate) fn cursor_offset(raw: Option<&str>) -> Result<i64, AppError> {
    Ok(parse_cursor(raw, 'o')?.unwrap_or(0))
}

fn parse_cursor(raw: Option<&str>, kind: char) -> Result<Option<i64>, AppError> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    raw.strip_prefix(kind)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request("cursor is not one this list gave; start again without it.")
        })
}

/// One page of a list read with `limit + 1` rows: the first `limit`, and the cursor of the
/// next page (made from the page's last row) when there was one more.
pub(crate) fn one_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    next: impl FnOnce(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let cursor = if more { rows.last().map(next) } else { None };
    (rows, cursor)
}

/// A filter naming one value of an enumeration (a status, an operation), as the pages refuse
/// an unknown one: "Unknown status “lost”.".
pub(crate) fn enumerated<T>(
    raw: Option<&str>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, AppError> {
    match text_filter(raw, 20, what)? {
        None => Ok(None),
        Some(s) => parse(&s)
            .map(Some)
            .ok_or_else(|| AppError::bad_request(format!("Unknown {what} “{s}”."))),
    }
}

/// A search or filter value: trimmed, blank is absent, at most `max` characters (the pages'
/// limits and messages).
pub(crate) fn text_filter(
    raw: Option<&str>,
    max: usize,
    what: &str,
) -> Result<Option<String>, AppError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(AppError::bad_request(format!(
            "{what} has at most {max} characters."
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

/// What makes two creating requests "the same" for `Idempotency-Key`: the route and the body.
pub(crate) fn fingerprint(req: &HttpRequest, body: &impl Serialize) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(req.path().as_bytes());
    h.update(b"\n");
    h.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(h.finalize())
}

/// The request's `Idempotency-Key`, if any (refused by `idempotency::once` when malformed).
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    match req.headers().get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.trim().to_owned())).map_err(|_| {
            AppError::field(
                "Idempotency-Key",
                "An Idempotency-Key has 1 to 255 printable characters.",
            )
        }),
    }
}

/// An answer stored by `idempotency::once`, sent as it was first sent.
pub(crate) fn replay(answer: crate::db::models::idempotency::Answer) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(answer.status)
            .unwrap_or(actix_web::http::StatusCode::OK),
    )
    .insert_header((header::CONTENT_TYPE, "application/json"))
    .body(answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PackageStatus, ScriptType, TaskStatus};

    /// The alternatives of a `^(a|b|…)$` pattern, blank ones left out.
    fn alternatives(pattern: &str) -> Vec<String> {
        let inner = pattern
            .trim_start_matches("^(")
            .trim_end_matches(")$")
            .to_owned();
        let mut out: Vec<String> = inner
            .split('|')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        out.sort();
        out
    }

    fn sorted(values: impl Iterator<Item = &'static str>) -> Vec<String> {
        let mut v: Vec<String> = values.map(str::to_owned).collect();
        v.sort();
        v
    }

    /// The document's patterns list exactly the values the domain accepts, so they cannot drift.
    #[test]
    fn enumerated_patterns_follow_the_domain() {
        let doc: serde_json::Value =
            serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
        let param = |path: &str, name: &str| -> String {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap()["schema"]["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            alternatives(&param("/api/v1/workspaces/{ws}/tasks", "status")),
            sorted(TaskStatus::ALL.iter().map(|s| s.as_str()))
        );
        assert_eq!(
            alternatives(&param("/api/v1/workspaces/{ws}/packages", "status")),
            sorted(PackageStatus::ALL.iter().map(|s| s.as_str()))
        );
        let script_type =
            doc["components"]["schemas"]["DraftBody"]["properties"]["script_type"]["pattern"]
                .as_str()
                .unwrap();
        assert_eq!(
            alternatives(script_type),
            sorted(ScriptType::ALL.iter().map(|s| s.as_str()))
        );
    }

    #[test]
    fn paths_match_their_patterns_segment_by_segment() {
        let p = "/api/v1/workspaces/{ws}/tasks/{id}";
        assert!(path_matches(p, "/api/v1/workspaces/demo/tasks/12"));
        assert!(!path_matches(p, "/api/v1/workspaces/demo/tasks"));
        assert!(!path_matches(p, "/api/v1/workspaces//tasks/12"));
        assert!(!path_matches(p, "/api/v1/workspaces/demo/tasks/12/x"));
    }
}
