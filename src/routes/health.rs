//! Operations: `/healthz` (200 when the database answers) and `/metrics` (Prometheus text).

use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;

use crate::db::models::{jobs, outcomes};
use crate::error::AppError;
use crate::metrics::{Metrics, Scrape};
use crate::state::{AppState, with_conn};

/// `GET /healthz`: runs `SELECT 1`; 503 when the database does not answer.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        let mut conn = pool.get().ok()?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).ok()
    })
    .await
    .ok()
    .flatten()
    .is_some();
    if ok {
        HttpResponse::Ok().content_type("text/plain").body("ok\n")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable\n")
    }
}

/// `GET /metrics`: this process's series and the figures of the pool and the database
/// (`crate::metrics`). The counts run on the blocking pool with a connection of their own.
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, AppError> {
    let pool = state.pool.state();
    let queries = state.queries.get();
    let scrape = with_conn(&state, move |conn| {
        Ok(Scrape {
            pool_idle: pool.idle_connections,
            pool_in_use: pool.connections - pool.idle_connections,
            queries,
            queues: jobs::load(conn)?,
            packages: outcomes::packages(conn)?,
            region_tasks: outcomes::region_tasks(conn)?,
        })
    })
    .await?;
    let body = metrics.encode(scrape).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(body))
}
