//! Operations: `/healthz` (200 when the database answers) and `/metrics` (Prometheus text).

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;

use crate::middleware::Metrics;
use crate::state::AppState;

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

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    let pool = state.pool.state();
    let mut out = String::new();
    out.push_str("# HELP releasedesk_http_requests_total HTTP responses by status class.\n");
    out.push_str("# TYPE releasedesk_http_requests_total counter\n");
    for (i, counter) in metrics.requests.iter().enumerate() {
        out.push_str(&format!(
            "releasedesk_http_requests_total{{class=\"{}xx\"}} {}\n",
            i + 1,
            counter.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP releasedesk_db_pool_connections Pooled database connections.\n");
    out.push_str("# TYPE releasedesk_db_pool_connections gauge\n");
    out.push_str(&format!(
        "releasedesk_db_pool_connections{{state=\"idle\"}} {}\n",
        pool.idle_connections
    ));
    out.push_str(&format!(
        "releasedesk_db_pool_connections{{state=\"in_use\"}} {}\n",
        pool.connections - pool.idle_connections
    ));
    out.push_str("# HELP releasedesk_db_queries_total Statements started by pooled connections.\n");
    out.push_str("# TYPE releasedesk_db_queries_total counter\n");
    out.push_str(&format!(
        "releasedesk_db_queries_total {}\n",
        state.queries.get()
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
