//! What production runs, over the API: every live script with its version and how it got
//! there, by path, searchable.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::problem::ApiError;
use super::{cursor_offset, json, limit, one_page, text_filter, utc, workspace};
use crate::db::models::production;
use crate::search::NameSearch;
use crate::state::{AppState, with_read_conn};

/// A script as production runs it.
#[derive(Serialize, ToSchema)]
pub struct LiveScript {
    pub script_id: i64,
    pub path: String,
    pub version: i32,
    pub script_type: String,
    pub schedule: String,
    pub released_at: DateTime<Utc>,
    /// The package that released it (none for an import or simple mode).
    pub package_id: Option<i64>,
    pub package_name: Option<String>,
    pub released_by: Option<String>,
    /// The first run after the release: `not_started`, `succeeded`, `failed`, …
    pub startup_status: String,
    pub startup_message: String,
}

#[derive(Serialize, ToSchema)]
pub struct LivePage {
    pub items: Vec<LiveScript>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
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

/// What is live, by path.
#[utoipa::path(get, operation_id = "listProduction", path = "/api/v1/workspaces/{ws}/production", tag = "production",
    params(("ws" = String, Path, description = "Workspace slug"), LiveQuery),
    responses((status = 200, description = "A page of live scripts", body = LivePage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<LiveQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(query.limit)?;
    let offset = cursor_offset(query.cursor.as_deref())?;
    let search =
        text_filter(query.q.as_deref(), 200, "A search")?.and_then(|q| NameSearch::parse(&q));
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let (rows, _) = production::list(conn, ws.id, search.as_ref(), limit + 1, offset)?;
        let (rows, next_cursor) = one_page(rows, limit, |_| format!("o{}", offset + limit));
        Ok(LivePage {
            next_cursor,
            items: rows
                .into_iter()
                .map(|r| LiveScript {
                    script_id: r.script_id,
                    path: r.path,
                    version: r.version_number,
                    script_type: r.script_type.as_str().to_owned(),
                    schedule: r.schedule,
                    released_at: utc(r.released_at),
                    package_id: r.package_id.map(|p| p.get()),
                    package_name: r.package_name,
                    released_by: r.released_by,
                    startup_status: r.startup_status.as_str().to_owned(),
                    startup_message: r.startup_message,
                })
                .collect(),
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}
