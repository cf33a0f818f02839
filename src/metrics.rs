//! What `/metrics` exports, in the Prometheus text format (`prometheus-client`).
//!
//! Two kinds of series:
//! - **kept by this process** in [`Metrics`]: responses by status class, the request-duration
//!   histogram per route, and `releasedesk_build_info`. [`observe_requests`] (a middleware)
//!   feeds them; they start from zero when the process starts, as Prometheus expects.
//! - **read at scrape time** into a [`Scrape`]: the connection pool, statements run, the job
//!   queues and the packages and region tasks by state. Those describe the shared database,
//!   so any instance reports the same figures and a restart loses nothing.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::db::models::jobs::QueueLoad;
use crate::domain::{PackageStatus, RegionTaskStatus};

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The label of a request that matched no route (a 404, a probe): never the raw path, which
/// anyone can vary without end.
const UNMATCHED: &str = "unmatched";

/// Request durations' bucket bounds, in seconds: from a cached asset to a slow export.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route's pattern (`/workspaces/{ws}/task-release/packages/{id}`) or [`UNMATCHED`].
    route: String,
    class: &'static str,
}

/// The series this process keeps, shared by every worker (`web::Data<Metrics>`).
pub struct Metrics {
    registry: Registry,
    responses: Family<ClassLabel, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let responses = Family::<ClassLabel, Counter>::default();
        registry.register(
            "releasedesk_http_requests",
            "HTTP responses by status class",
            responses.clone(),
        );
        let durations: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register_with_unit(
            "releasedesk_http_request_duration",
            "Time from a request's arrival to its response's head, by method, route pattern and status class",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "releasedesk_build",
            "The running version",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        Metrics {
            registry,
            responses,
            durations,
        }
    }
}

impl Metrics {
    fn observe(
        &self,
        method: &actix_web::http::Method,
        route: Option<String>,
        status: u16,
        started: Instant,
    ) {
        let class = status_class(status);
        self.responses.get_or_create(&ClassLabel { class }).inc();
        let labels = RequestLabels {
            method: method_label(method),
            route: route.unwrap_or_else(|| UNMATCHED.to_owned()),
            class,
        };
        self.durations
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }

    /// The whole `/metrics` body: this process's series, then the scrape-time ones.
    pub fn encode(&self, scrape: Scrape) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        encode(&mut out, &scrape.registry())?;
        Ok(out)
    }
}

/// `1xx` … `5xx`; anything out of range counts with its nearest class.
fn status_class(status: u16) -> &'static str {
    match status {
        ..200 => "1xx",
        200..300 => "2xx",
        300..400 => "3xx",
        400..500 => "4xx",
        _ => "5xx",
    }
}

/// The method as a label; a method the app has no route for is `other`, so a client cannot
/// add series by inventing methods.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every response and times it, by the route the router matched. Outermost but for the
/// logger, so the time includes compression, sessions and error pages; a streamed download is
/// timed to its first byte.
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        // After routing, actix looks the pattern up by the matched resource's index.
        m.observe(
            &method,
            res.request().match_pattern(),
            res.status().as_u16(),
            started,
        );
    }
    Ok(res)
}

/// The figures read when `/metrics` is scraped.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub pool_idle: u32,
    pub pool_in_use: u32,
    /// Statements run by the pool's connections since the process started.
    pub queries: u64,
    pub queues: Vec<QueueLoad>,
    pub packages: Vec<(PackageStatus, i64)>,
    pub region_tasks: Vec<(RegionTaskStatus, i64)>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

impl Scrape {
    /// A registry of this scrape's values, encoded after the process's own.
    fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        let pool = Family::<PoolLabel, Gauge>::default();
        for (state, n) in [("idle", self.pool_idle), ("in_use", self.pool_in_use)] {
            pool.get_or_create(&PoolLabel { state }).set(n.into());
        }
        registry.register(
            "releasedesk_db_pool_connections",
            "Pooled database connections",
            pool,
        );
        registry.register(
            "releasedesk_db_queries",
            "Statements started by pooled connections",
            ConstCounter::new(self.queries),
        );

        let depth = Family::<QueueLabel, Gauge>::default();
        let running = Family::<QueueLabel, Gauge>::default();
        let oldest = Family::<QueueLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        for q in &self.queues {
            let label = QueueLabel { queue: q.queue };
            depth.get_or_create(&label).set(q.queued);
            running.get_or_create(&label).set(q.running);
            oldest.get_or_create(&label).set(q.oldest_due_seconds);
        }
        registry.register(
            "releasedesk_job_queue_depth",
            "Jobs waiting for a worker (including those waiting out a retry), by queue",
            depth,
        );
        registry.register(
            "releasedesk_jobs_running",
            "Jobs claimed by a worker, by queue",
            running,
        );
        registry.register_with_unit(
            "releasedesk_job_queue_oldest_due_age",
            "How long the longest-waiting due job has been due, by queue (0 when none is)",
            Unit::Seconds,
            oldest,
        );

        let packages = Family::<StatusLabel, Gauge>::default();
        for &(status, n) in &self.packages {
            packages
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n);
        }
        registry.register(
            "releasedesk_release_packages",
            "Release packages by state; released, partially_failed and failed are the outcomes",
            packages,
        );
        let tasks = Family::<StatusLabel, Gauge>::default();
        for &(status, n) in &self.region_tasks {
            tasks
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n);
        }
        registry.register(
            "releasedesk_region_tasks",
            "Region release tasks by state; released, release_failed, rolled_back and rollback_failed are the outcomes",
            tasks,
        );
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_methods_are_a_closed_set() {
        assert_eq!(
            [100, 204, 303, 404, 503, 999].map(status_class),
            ["1xx", "2xx", "3xx", "4xx", "5xx", "5xx"]
        );
        let odd = actix_web::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
