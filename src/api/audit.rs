//! The workspace's audit log over the API: its filters (action prefix, actor), newest first,
//! paged by a keyset cursor on (time, id) so a long read costs the same at any depth and rows
//! recorded meanwhile never shift it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::problem::ApiError;
use super::{json, limit, one_page, time_cursor, utc, workspace};
use crate::db::models::audit::{self, AuditKey};
use crate::routes::workspaces::audit_filter_of;
use crate::state::{AppState, with_read_conn};

/// One audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryJson {
    pub id: i64,
    /// A dotted verb: `package.approved`, `member.role_changed`, …
    pub action: String,
    pub target_type: String,
    pub target_label: String,
    pub comment: String,
    /// Who did it (none for the system or a removed user).
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryJson>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// An action or its prefix (`package.`).
    #[param(max_length = 100)]
    pub action: Option<String>,
    /// Username of who acted.
    #[param(max_length = 100)]
    pub actor: Option<String>,
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^(|k[0-9]+\\.[0-9]+)$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The workspace's audit log, newest first.
#[utoipa::path(get, operation_id = "listAudit", path = "/api/v1/workspaces/{ws}/audit", tag = "audit",
    params(("ws" = String, Path, description = "Workspace slug"), AuditListQuery),
    responses((status = 200, description = "A page of audit entries", body = AuditPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    ws: web::Path<String>,
    query: web::Query<AuditListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = limit(q.limit)?;
    let after = time_cursor::parse(q.cursor.as_deref())?
        .map(|(created_at, id)| AuditKey { created_at, id });
    let filter = audit_filter_of(q.action, q.actor)?;
    let user = caller.user;
    let page = with_read_conn(&state, move |conn| {
        let (ws, _) = workspace(conn, &user, &ws)?;
        let rows = audit::page_after(conn, Some(ws.id), &filter, after, limit + 1)?;
        let (rows, next_cursor) = one_page(rows, limit, |r| time_cursor::of(r.created_at, r.id));
        Ok(AuditPage {
            items: rows
                .into_iter()
                .map(|r| AuditEntryJson {
                    id: r.id,
                    action: r.action,
                    target_type: r.target_type,
                    target_label: r.target_label,
                    comment: r.comment,
                    actor: r.actor,
                    created_at: utc(r.created_at),
                })
                .collect(),
            next_cursor,
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &page))
}
