//! `/workspaces/{ws}/insights`: delivery insights (deployment frequency, lead time, change
//! failure rate, time to restore) over a chosen period, as server-drawn charts with the numbers
//! beside them, and the same figures per bucket as CSV. Every member may look.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::WorkspaceCtx;
use crate::charts::{BarChart, Point};
use crate::db::models::insights::{self, Bucket, Granularity, Insights, PERIODS, Period};
use crate::db::models::workspaces::Workspace;
use crate::error::AppError;
use crate::routes::layout::{Layout, Viewer};
use crate::routes::render;
use crate::state::{AppState, with_conn};

#[derive(Deserialize)]
pub struct InsightsQuery {
    period: Option<String>,
}

/// A duration in minutes in the page's words: `12 min`, `3.5 h`, `2.0 d`.
pub fn duration_label(minutes: i64) -> String {
    if minutes < 1 {
        "under 1 min".to_owned()
    } else if minutes < 120 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{:.1} h", minutes as f64 / 60.0)
    } else {
        format!("{:.1} d", minutes as f64 / 1440.0)
    }
}

/// The unit a duration chart's axis counts in, chosen by its largest value (in minutes), so the
/// axis' round numbers are round in that unit: (minutes per unit, unit).
fn axis_unit(max_minutes: i64) -> (f64, &'static str) {
    if max_minutes < 120 {
        (1.0, "min")
    } else if max_minutes < 48 * 60 {
        (60.0, "h")
    } else {
        (1440.0, "d")
    }
}

fn axis_label(value: f64, unit: &str) -> String {
    if value <= 0.0 {
        "0".to_owned()
    } else {
        format!("{} {unit}", trim(value))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// One measure's chart with its headline figures.
pub struct Measure {
    pub id: &'static str,
    pub title: &'static str,
    /// The headline number, e.g. `4.5 per week`.
    pub value: String,
    /// Secondary figures beside it.
    pub detail: String,
    /// How the measure is counted, in one line.
    pub definition: &'static str,
    pub chart: BarChart,
}

/// One row of the table under the charts: a bucket's figures in words.
pub struct BucketRow {
    pub label: String,
    pub deployments: i64,
    pub failures: String,
    pub rate: String,
    pub lead: String,
    pub restore: String,
}

fn rows(data: &Insights) -> Vec<BucketRow> {
    let dash = || "—".to_owned();
    data.buckets
        .iter()
        .enumerate()
        .map(|(i, b)| BucketRow {
            label: bucket_range(&data.period, i),
            deployments: b.deployments,
            failures: format!("{} of {}", b.failures, b.finished),
            rate: b.failure_rate().map_or_else(dash, |r| format!("{r}%")),
            lead: b.lead.median().map_or_else(dash, duration_label),
            restore: match (b.restore.median(), b.unrestored) {
                (Some(m), 0) => duration_label(m),
                (Some(m), n) => format!("{} ({n} not yet)", duration_label(m)),
                (None, 0) => dash(),
                (None, n) => format!("{n} not yet"),
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "workspaces/insights.html")]
struct InsightsPage {
    layout: Layout,
    workspace: Workspace,
    /// The period shown (the default one when the asked one is bad).
    days: u32,
    error: Option<String>,
    granularity: &'static str,
    range: String,
    /// "13:20:05 UTC": when the figures were read (they may be a few seconds old).
    read_at: String,
    empty: bool,
    measures: Vec<Measure>,
    rows: Vec<BucketRow>,
}

impl InsightsPage {
    fn periods(&self) -> &'static [u32] {
        &PERIODS
    }
}

fn bucket_label(period: &Period, i: usize) -> String {
    let start = period.bucket_start(i);
    start.format("%-d %b").to_string()
}

fn bucket_range(period: &Period, i: usize) -> String {
    let start = period.bucket_start(i).date();
    match period.granularity {
        Granularity::Day => start.format("%a %-d %b %Y").to_string(),
        Granularity::Week => {
            let end = start + chrono::Duration::days(6);
            format!(
                "week of {} – {}",
                start.format("%-d %b"),
                end.format("%-d %b %Y")
            )
        }
    }
}

fn per(n: i64, what: &str, other: &str) -> String {
    crate::domain::count(n, what, other)
}

/// The four measures of `data`, each with its chart.
fn measures(data: &Insights) -> Vec<Measure> {
    let p = &data.period;
    let unit = p.granularity.label();
    let points = |f: &dyn Fn(&Bucket) -> (Option<f64>, String)| -> Vec<Point> {
        data.buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (value, words) = f(b);
                Point {
                    label: bucket_label(p, i),
                    value,
                    title: format!("{}: {}", bucket_range(p, i), words),
                }
            })
            .collect()
    };
    let t = &data.total;
    let weeks = (p.buckets as f64 * p.granularity.days() as f64 / 7.0).max(1.0);
    let deploy_points = points(&|b| {
        (
            Some(b.deployments as f64),
            per(b.deployments, "deployment", "deployments"),
        )
    });
    let max_of =
        |f: &dyn Fn(&Bucket) -> Option<i64>| data.buckets.iter().filter_map(f).max().unwrap_or(0);
    let (lead_div, lead_unit) = axis_unit(max_of(&|b| b.lead.median()));
    let (restore_div, restore_unit) = axis_unit(max_of(&|b| b.restore.median()));
    let lead_points = points(&|b| match b.lead.median() {
        Some(m) => (
            Some(m as f64 / lead_div),
            format!(
                "median {} over {}",
                duration_label(m),
                per(b.lead.len(), "task", "tasks")
            ),
        ),
        None => (None, "nothing went live".to_owned()),
    });
    let cfr_points = points(&|b| match b.failure_rate() {
        Some(r) => (
            Some(r as f64),
            format!("{r}% ({} of {} failed)", b.failures, b.finished),
        ),
        None => (None, "no finished deployments".to_owned()),
    });
    let restore_points = points(&|b| match b.restore.median() {
        Some(m) => (
            Some(m as f64 / restore_div),
            format!(
                "median {} over {}",
                duration_label(m),
                per(b.restore.len(), "restored failure", "restored failures")
            ),
        ),
        None if b.unrestored > 0 => (
            None,
            format!(
                "{} not restored yet",
                per(b.unrestored, "failure", "failures")
            ),
        ),
        None => (None, "no failures".to_owned()),
    });
    vec![
        Measure {
            id: "deployment-frequency",
            title: "Deployment frequency",
            value: format!("{} per week", trim(t.deployments as f64 / weeks)),
            detail: format!(
                "{} in the period",
                per(
                    t.deployments,
                    "successful deployment",
                    "successful deployments"
                )
            ),
            definition: "Packages that finished released or partially failed, and region \
                release runs that succeeded, by the time they finished.",
            chart: BarChart::new(
                format!("Successful deployments per {unit}"),
                "chart-bar-info",
                &deploy_points,
                trim,
            ),
        },
        Measure {
            id: "lead-time",
            title: "Lead time for changes",
            value: t
                .lead
                .median()
                .map(|m| format!("{} median", duration_label(m)))
                .unwrap_or_else(|| "—".to_owned()),
            detail: match t.lead.percentile(90) {
                Some(p90) => format!(
                    "90th percentile {} · {}",
                    duration_label(p90),
                    per(t.lead.len(), "task released", "tasks released")
                ),
                None => "No task went live in the period.".to_owned(),
            },
            definition: "From a version's submission (its release task) until its package \
                put it live in production; per task, on the day it went live.",
            chart: BarChart::new(
                format!("Median lead time per {unit}"),
                "chart-bar-info",
                &lead_points,
                |v| axis_label(v, lead_unit),
            ),
        },
        Measure {
            id: "change-failure-rate",
            title: "Change failure rate",
            value: t
                .failure_rate()
                .map(|r| format!("{r}%"))
                .unwrap_or_else(|| "—".to_owned()),
            detail: format!(
                "{} of {}",
                per(t.failures, "failed change", "failed changes"),
                per(t.finished, "finished deployment", "finished deployments")
            ),
            definition: "Packages that partially failed or failed, and region release runs \
                that failed or were rolled back, out of all finished deployments.",
            chart: BarChart::new(
                format!("Change failure rate per {unit}, percent"),
                "chart-bar-bad",
                &cfr_points,
                |v| format!("{}%", trim(v)),
            ),
        },
        Measure {
            id: "time-to-restore",
            title: "Time to restore",
            value: t
                .restore
                .median()
                .map(|m| format!("{} median", duration_label(m)))
                .unwrap_or_else(|| "—".to_owned()),
            detail: format!(
                "{} restored · {} not yet",
                per(t.restore.len(), "failure", "failures"),
                t.unrestored
            ),
            definition: "From a failed change until its failed scripts were released again \
                (packages), or the region task's next successful run, a rollback included.",
            chart: BarChart::new(
                format!("Median time to restore per {unit}"),
                "chart-bar-warn",
                &restore_points,
                |v| axis_label(v, restore_unit),
            ),
        },
    ]
}

fn today() -> chrono::NaiveDate {
    crate::db::now().date()
}

/// `GET /workspaces/{ws}/insights`: the four measures over `?period=` days (7, 30, 90 or
/// 365; 30 by default). A period not offered shows the page with what is wrong (400). The
/// aggregates grow with the period's deployments, so they run on the blocking pool
/// (`with_conn`), never on the HTTP worker (docs/BENCHMARKS.md, "Insights").
pub async fn page(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<InsightsQuery>,
) -> Result<HttpResponse, AppError> {
    let today = today();
    let parsed = Period::parse(query.period.as_deref(), today);
    let viewer = Viewer::of(&ctx.current);
    let (workspace, access) = (ctx.workspace, ctx.access);
    let memo = state.clone();
    let (page, status) = with_conn(&state, move |conn| {
        let memo = &memo.insights;
        let layout = Layout::build(
            conn,
            &viewer,
            format!("Insights · {}", workspace.name),
            "insights",
            Some((&workspace, &access)),
        )?;
        let (period, error) = match parsed {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let data = match period {
            Some(p) => Some(memo.get_or_try(&(workspace.id, p), || {
                insights::for_workspace(conn, workspace.id, p)
            })?),
            None => None,
        };
        let status = if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let page = InsightsPage {
            days: period.map_or(insights::DEFAULT_PERIOD, |p| p.days),
            granularity: period.map_or("day", |p| p.granularity.label()),
            range: period
                .map(|p| {
                    format!(
                        "{} – {}",
                        p.start().format("%-d %b %Y"),
                        // The last week runs past today; nothing after today exists yet.
                        (p.end() - chrono::Duration::days(1))
                            .date()
                            .min(today)
                            .format("%-d %b %Y")
                    )
                })
                .unwrap_or_default(),
            read_at: data
                .as_ref()
                .map(|d| d.read_at.format("%H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            empty: data.as_ref().is_none_or(|d| d.is_empty()),
            measures: data.as_deref().map(measures).unwrap_or_default(),
            rows: data.as_deref().map(rows).unwrap_or_default(),
            layout,
            workspace,
            error,
        };
        Ok((page, status))
    })
    .await?;
    render(&page, status)
}

/// The CSV's first line: one row per bucket follows.
const CSV_HEADER: [&str; 12] = [
    "bucket_start_utc",
    "bucket",
    "deployments",
    "finished_deployments",
    "failed_changes",
    "change_failure_rate_percent",
    "lead_time_median_minutes",
    "lead_time_p90_minutes",
    "tasks_released",
    "time_to_restore_median_minutes",
    "failures_restored",
    "failures_not_restored",
];

fn csv_body(data: &Insights) -> Result<Vec<u8>, AppError> {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    out.write_record(CSV_HEADER).map_err(AppError::internal)?;
    for (i, b) in data.buckets.iter().enumerate() {
        // Every field is a date, a fixed word or a number: nothing for a spreadsheet to run.
        out.write_record([
            data.period.bucket_start(i).format("%Y-%m-%d").to_string(),
            data.period.granularity.label().to_owned(),
            b.deployments.to_string(),
            b.finished.to_string(),
            b.failures.to_string(),
            opt(b.failure_rate()),
            opt(b.lead.median()),
            opt(b.lead.percentile(90)),
            b.lead.len().to_string(),
            opt(b.restore.median()),
            b.restore.len().to_string(),
            b.unrestored.to_string(),
        ])
        .map_err(AppError::internal)?;
    }
    out.into_inner().map_err(AppError::internal)
}

/// `GET /workspaces/{ws}/insights.csv?period=`: the page's figures, one row per bucket (at most
/// 53, so it is built whole).
pub async fn csv(
    state: web::Data<AppState>,
    ctx: WorkspaceCtx,
    query: web::Query<InsightsQuery>,
) -> Result<HttpResponse, AppError> {
    let period = Period::parse(query.period.as_deref(), today()).map_err(AppError::bad_request)?;
    let (ws_id, slug) = (ctx.workspace.id, ctx.workspace.slug.clone());
    let memo = state.clone();
    let body = with_conn(&state, move |conn| {
        let data = memo.insights.get_or_try(&(ws_id, period), || {
            insights::for_workspace(conn, ws_id, period)
        })?;
        csv_body(&data)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{slug}-insights-{}d.csv\"",
                period.days
            ),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::duration_label;

    #[test]
    fn durations_read_in_the_largest_sensible_unit() {
        assert_eq!(duration_label(0), "under 1 min");
        assert_eq!(duration_label(45), "45 min");
        assert_eq!(duration_label(150), "2.5 h");
        assert_eq!(duration_label(3 * 1440), "3.0 d");
    }
}
