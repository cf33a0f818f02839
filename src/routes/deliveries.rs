//! `/workspaces/{ws}/deliveries`: every notification of the workspace (email to a person, a
//! chat or webhook hook) with its channel, status, attempts and last error, newest first, 50 a
//! page (`?before=<id>` for older ones), filtered by status; a failed or skipped delivery can be
//! sent again by hand. Workspace admins and tenant administrators only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::auth::session::{self, FlashKind};
use crate::db::models::deliveries::{self, About, Delivery, Recipient};
use crate::db::models::notifications::DeliveryStatus;
use crate::db::models::workspaces::Workspace;
use crate::domain::Permission;
use crate::error::AppError;
use crate::filters;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::{refusal, render, see_other};
use crate::state::{AppState, with_conn, with_read_conn};

#[derive(Debug, Default, Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    before: Option<String>,
}

/// The filter as read from the address.
#[derive(Clone, Copy, Debug, Default)]
struct Filter {
    status: Option<DeliveryStatus>,
    before: Option<i64>,
}

impl Filter {
    fn parse(q: &DeliveriesQuery) -> Result<Filter, AppError> {
        let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
                AppError::bad_request("status must be pending, sent, failed or skipped.")
            })?),
        };
        let before = match q.before.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| AppError::bad_request("before must be a delivery number."))?,
            ),
        };
        Ok(Filter { status, before })
    }
}

#[derive(Template)]
#[template(path = "workspaces/deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    workspace: Workspace,
    rows: Vec<Delivery>,
    status: String,
    /// Whether this page starts after the newest (a "newest" link is offered).
    older: bool,
    next_before: Option<i64>,
    statuses: &'static [DeliveryStatus],
}

impl DeliveriesPage {
    /// The query string of the next (older) page.
    fn next_query(&self, before: &i64) -> String {
        let mut q = vec![("before", before.to_string())];
        if !self.status.is_empty() {
            q.push(("status", self.status.clone()));
        }
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
    /// The query string of the newest page with this filter.
    fn first_query(&self) -> String {
        if self.status.is_empty() {
            String::new()
        } else {
            serde_urlencoded::to_string([("status", &self.status)]).unwrap_or_default()
        }
    }
}

async fn deliveries_page(
    state: &web::Data<AppState>,
    ctx: WorkspaceCtx,
    filter: Filter,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let page = with_read_conn(state, move |conn| {
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Deliveries · {}", workspace.name),
            "deliveries",
            Some((&workspace, &access)),
        )?;
        let found = deliveries::page(conn, workspace.id, filter.status, filter.before)?;
        Ok(DeliveriesPage {
            layout,
            workspace,
            rows: found.rows,
            status: filter
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            older: filter.before.is_some(),
            next_before: found.next_before,
            statuses: DeliveryStatus::ALL,
        })
    })
    .await?;
    render(&page, status)
}

/// `GET /workspaces/{ws}/deliveries?status=failed&before=1234`.
pub async fn page(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let filter = Filter::parse(&query)?;
    deliveries_page(&state, ctx, filter, StatusCode::OK).await
}

/// `POST /workspaces/{ws}/deliveries/{id}/retry`: a failed or skipped delivery goes out again.
pub async fn retry(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Manage)?;
    let (_, id) = path.into_inner();
    let (actor, ws_id) = (ctx.user().id, ctx.workspace.id);
    let outcome = with_conn(&state, move |conn| {
        deliveries::retry(conn, actor, ws_id, id)
    })
    .await;
    match outcome {
        Ok(kind) => {
            session::flash(
                &ctx.current.session,
                FlashKind::Ok,
                format!(
                    "Delivery #{id} ({}) will be sent again in a moment.",
                    kind.label().to_lowercase()
                ),
            );
            Ok(see_other(&crate::paths::deliveries(&ctx.workspace.slug)))
        }
        Err(AppError::Conflict(message)) => {
            session::flash(&ctx.current.session, FlashKind::Error, message.clone());
            let page =
                deliveries_page(&state, ctx, Filter::default(), StatusCode::CONFLICT).await?;
            Ok(refusal(page, message))
        }
        Err(e) => Err(e),
    }
}
