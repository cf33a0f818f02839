//! Delivery insights of one workspace (the four DORA measures) over a chosen period: what the
//! Insights page and its CSV show (`routes::insights`). Read-only.
//!
//! The statements group by time bucket (a day or an ISO week, UTC) in SQL, so what comes back
//! is one row per bucket and outcome, not one per deployment; lead times come from a per-day
//! rollup (`lead_time_days`, written as each task goes live), and only failures (a small share)
//! come back one row each, for the time to restore. The definitions, and how each behaves at the edges, are in
//! docs/ARCHITECTURE.md ("Insights"); in short:
//!
//! - a *deployment* is a release package that finished (`released`, `partially_failed`,
//!   `failed`) or a release run of a region task that finished (`succeeded`, `failed`), at its
//!   finish time; it *succeeded* when the package is `released` or `partially_failed` (something
//!   went live) or the run succeeded;
//! - it is a *failed change* when the package partially failed or failed, or the run failed, or
//!   the run succeeded and the task's next run was a rollback;
//! - *lead time*: from a release task's `submitted_at` to its package task's `finished_at`, for
//!   every task that went live through a package in the period, counted on the day it went live
//!   (in bins: to the minute under an hour, five minutes under a day, an hour under a week);
//! - *time to restore*: from a failed change to the moment its area is healthy again — for a
//!   package, when every script that failed in it has been released by a later package task; for
//!   a region run, the task's next successful run (a release or a rollback).
//!
//! Any other state (including ones added later) counts as nothing.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::DbConn;
use crate::domain::WorkspaceId;

/// The periods the page offers, in days.
pub const PERIODS: [u32; 4] = [7, 30, 90, 365];
/// The period when none is asked for.
pub const DEFAULT_PERIOD: u32 = 30;
/// Periods up to this many days are shown per day, longer ones per week.
const DAILY_UP_TO: u32 = 31;

/// How long a bucket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
}

impl Granularity {
    pub fn days(self) -> i64 {
        match self {
            Granularity::Day => 1,
            Granularity::Week => 7,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
        }
    }
}

/// A period of the last `days` days, cut into buckets: whole UTC days ending with today, or
/// the ISO weeks (Monday to Sunday, UTC) that hold those days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    pub days: u32,
    pub granularity: Granularity,
    /// The first bucket's first day (00:00 UTC).
    pub first_day: NaiveDate,
    pub buckets: usize,
}

impl Period {
    /// `days` must be one of [`PERIODS`]; `today` is the current UTC date.
    pub fn new(days: u32, today: NaiveDate) -> Option<Period> {
        if !PERIODS.contains(&days) {
            return None;
        }
        let earliest = today - Duration::days(i64::from(days) - 1);
        Some(if days <= DAILY_UP_TO {
            Period {
                days,
                granularity: Granularity::Day,
                first_day: earliest,
                buckets: days as usize,
            }
        } else {
            let monday =
                earliest - Duration::days(i64::from(earliest.weekday().num_days_from_monday()));
            let this_monday =
                today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            let buckets = ((this_monday - monday).num_days() / 7 + 1) as usize;
            Period {
                days,
                granularity: Granularity::Week,
                first_day: monday,
                buckets,
            }
        })
    }

    /// `value` from the address: absent or empty means the default; anything else must be one
    /// of [`PERIODS`].
    pub fn parse(value: Option<&str>, today: NaiveDate) -> Result<Period, String> {
        let days = match value.map(str::trim) {
            None | Some("") => DEFAULT_PERIOD,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|d| PERIODS.contains(d))
                .ok_or_else(|| {
                    format!("The period must be 7, 30, 90 or 365 days; “{v}” is not one of them.")
                })?,
        };
        Period::new(days, today).ok_or_else(|| "The period is not offered.".to_owned())
    }

    pub fn start(&self) -> NaiveDateTime {
        self.first_day.and_time(NaiveTime::MIN)
    }
    /// The end (exclusive): the day after the last bucket.
    pub fn end(&self) -> NaiveDateTime {
        self.bucket_start(self.buckets)
    }
    pub fn bucket_start(&self, i: usize) -> NaiveDateTime {
        self.start() + Duration::days(self.granularity.days() * i as i64)
    }
    fn bucket_seconds(&self) -> i64 {
        self.granularity.days() * 86_400
    }
    /// The bucket a moment falls in, if inside the period.
    fn bucket_of(&self, at: NaiveDateTime) -> Option<usize> {
        if at < self.start() || at >= self.end() {
            return None;
        }
        Some(((at - self.start()).num_seconds() / self.bucket_seconds()) as usize)
    }
}

/// A sample of durations in whole minutes, kept as (minutes, how many): medians and
/// percentiles by nearest rank.
#[derive(Clone, Debug, Default)]
pub struct Minutes {
    counts: Vec<(i64, i64)>,
}

impl Minutes {
    fn add(&mut self, minutes: i64, n: i64) {
        self.counts.push((minutes.max(0), n));
    }
    pub fn len(&self) -> i64 {
        self.counts.iter().map(|c| c.1).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The nearest-rank `p`-th percentile (0 < p ≤ 100): the smallest value with at least
    /// p% of the sample at or below it. `None` for an empty sample.
    pub fn percentile(&self, p: i64) -> Option<i64> {
        let total = self.len();
        if total == 0 {
            return None;
        }
        let mut sorted = self.counts.clone();
        sorted.sort_unstable();
        let rank = (p * total + 99) / 100; // ceil(p/100 × total), at least 1
        let mut seen = 0;
        for (value, n) in sorted {
            seen += n;
            if seen >= rank.max(1) {
                return Some(value);
            }
        }
        None
    }
    pub fn median(&self) -> Option<i64> {
        self.percentile(50)
    }
    fn merge(&mut self, other: &Minutes) {
        self.counts.extend_from_slice(&other.counts);
    }
}

/// One bucket's figures.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Successful deployments (packages released or partially failed, region runs succeeded).
    pub deployments: i64,
    /// Every finished deployment, the change failure rate's denominator.
    pub finished: i64,
    /// Failed changes among `finished`.
    pub failures: i64,
    pub lead: Minutes,
    /// Times to restore of the failures of this bucket that were restored.
    pub restore: Minutes,
    /// Failures of this bucket not restored yet.
    pub unrestored: i64,
}

impl Bucket {
    /// Failed changes as a whole percentage of finished deployments; `None` without any.
    pub fn failure_rate(&self) -> Option<i64> {
        percent(self.failures, self.finished)
    }
}

fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 100 + whole / 2) / whole)
}

/// The page's data: one [`Bucket`] per bucket of the period, oldest first, and the totals.
#[derive(Clone, Debug)]
pub struct Insights {
    pub period: Period,
    pub buckets: Vec<Bucket>,
    pub total: Bucket,
    /// When these figures were read (the page may hand them out again for a few seconds:
    /// `AppState::insights`).
    pub read_at: NaiveDateTime,
}

impl Insights {
    pub fn is_empty(&self) -> bool {
        self.total.finished == 0
    }
}

#[derive(QueryableByName)]
struct OutcomeRow {
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    rolled_back: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct LeadRow {
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = BigInt)]
    minutes: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct FailureRow {
    #[diesel(sql_type = Timestamp)]
    failed_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    restored_at: Option<NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    open: i64,
}

/// Whole seconds since 1970 of a timestamp column, per dialect (both floor).
fn epoch(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => format!("unixepoch({column})"),
        DbConn::Postgres(_) => format!("CAST(floor(EXTRACT(EPOCH FROM {column})) AS BIGINT)"),
    }
}

// The SQL below is assembled from these fixed pieces only (column names and the dialect's
// epoch function), never from input; the values are bound. `$1` is the period's start in epoch
// seconds and `$2` the bucket's length in seconds (they come first in the text, as SQLite
// numbers parameters by first appearance), `$3` the workspace, `$4`/`$5` the period's bounds.

/// Finished packages per bucket and outcome.
fn package_outcomes(
    conn: &mut DbConn,
    ws: WorkspaceId,
    period: &Period,
) -> QueryResult<Vec<OutcomeRow>> {
    let sql = format!(
        "SELECT ({at} - $1) / $2 AS bucket, p.status AS status, CAST(0 AS BIGINT) AS rolled_back, \
         COUNT(*) AS n FROM release_packages p \
         WHERE p.workspace_id = $3 AND p.released_at >= $4 AND p.released_at < $5 \
         AND p.status IN ('released', 'partially_failed', 'failed') \
         GROUP BY 1, 2",
        at = epoch(conn, "p.released_at"),
    );
    bind_period(diesel::sql_query(sql), ws, period).load(conn)
}

/// The next run of the same region task after run `e` (by start), as a scalar subquery.
const NEXT_RUN_KIND: &str = "(SELECT r.kind FROM region_executions r WHERE r.task_id = e.task_id \
     AND (r.started_at > e.started_at OR (r.started_at = e.started_at AND r.id > e.id)) \
     ORDER BY r.started_at, r.id LIMIT 1)";

/// Finished release runs of region tasks per bucket, outcome and whether a rollback followed.
fn region_outcomes(
    conn: &mut DbConn,
    ws: WorkspaceId,
    period: &Period,
) -> QueryResult<Vec<OutcomeRow>> {
    let sql = format!(
        "SELECT ({at} - $1) / $2 AS bucket, e.status AS status, \
         CAST(CASE WHEN e.status = 'succeeded' AND {next} = 'rollback' THEN 1 ELSE 0 END AS BIGINT) \
         AS rolled_back, \
         COUNT(*) AS n FROM region_executions e JOIN region_tasks t ON t.id = e.task_id \
         WHERE t.workspace_id = $3 AND e.finished_at >= $4 AND e.finished_at < $5 \
         AND e.kind = 'release' AND e.status IN ('succeeded', 'failed') \
         GROUP BY 1, 2, 3",
        at = epoch(conn, "e.finished_at"),
        next = NEXT_RUN_KIND,
    );
    bind_period(diesel::sql_query(sql), ws, period).load(conn)
}

/// Lead times of the tasks that went live through a package in the period, per bucket (of the
/// day they went live) and lead-time bin, from the `lead_time_days` rollup: a year is at most a
/// few thousand rows whatever the number of tasks (docs/BENCHMARKS.md, "Insights").
fn lead_times(conn: &mut DbConn, ws: WorkspaceId, period: &Period) -> QueryResult<Vec<LeadRow>> {
    let first_day = period.start().and_utc().timestamp().div_euclid(86_400);
    diesel::sql_query(
        "SELECT (day - $1) / $2 AS bucket, minutes, CAST(SUM(tasks) AS BIGINT) AS n \
         FROM lead_time_days WHERE workspace_id = $3 AND day >= $1 AND day < $4 \
         GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(first_day)
    .bind::<BigInt, _>(period.granularity.days())
    .bind::<BigInt, _>(ws.get())
    .bind::<BigInt, _>(first_day + period.granularity.days() * period.buckets as i64)
    .load(conn)
}

/// The lead-time bin of `minutes`: rounded down to a minute under an hour, five minutes under
/// a day, an hour under a week, a day above (a median of hours is not read to the minute).
/// [`BIN_SQL`] is the same rule in SQL.
fn bin(minutes: i64) -> i64 {
    match minutes {
        ..0 => 0,
        0..60 => minutes,
        60..1_440 => minutes / 5 * 5,
        1_440..10_080 => minutes / 60 * 60,
        _ => minutes / 1_440 * 1_440,
    }
}

/// [`bin`] of the column `m`, as the migration that made `lead_time_days` backfilled it.
const BIN_SQL: &str = "CASE WHEN m < 0 THEN 0 WHEN m < 60 THEN m WHEN m < 1440 THEN m / 5 * 5 \
     WHEN m < 10080 THEN m / 60 * 60 ELSE m / 1440 * 1440 END";

/// Counts one task of `ws` that went live at `live`, submitted at `submitted`, into the
/// lead-time rollup. `releases::release_next_task` calls it in the transaction that releases
/// the task, so the rollup holds exactly the released package tasks.
pub(crate) fn count_lead_time(
    conn: &mut DbConn,
    ws: WorkspaceId,
    submitted: NaiveDateTime,
    live: NaiveDateTime,
) -> QueryResult<()> {
    // Whole seconds, floored, as the SQL of `recount_lead_times` reads them.
    let (live_s, submitted_s) = (live.and_utc().timestamp(), submitted.and_utc().timestamp());
    diesel::sql_query(
        "INSERT INTO lead_time_days (workspace_id, day, minutes, tasks) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (workspace_id, day, minutes) DO UPDATE SET tasks = lead_time_days.tasks + 1",
    )
    .bind::<BigInt, _>(ws.get())
    .bind::<BigInt, _>(live_s.div_euclid(86_400))
    .bind::<BigInt, _>(bin((live_s - submitted_s).div_euclid(60)))
    .execute(conn)?;
    Ok(())
}

/// Rebuilds `ws`'s lead-time rollup from the package tasks: for what writes history in bulk
/// or moves it (`bench_seed`, `serve --demo`'s history), never for a live workspace's releases.
pub fn recount_lead_times(conn: &mut DbConn, ws: WorkspaceId) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM lead_time_days WHERE workspace_id = $1")
        .bind::<BigInt, _>(ws.get())
        .execute(conn)?;
    let sql = format!(
        "INSERT INTO lead_time_days (workspace_id, day, minutes, tasks) \
         SELECT $1, day, {BIN_SQL} AS bin, COUNT(*) FROM ( \
           SELECT {live} / 86400 AS day, ({live} - {submitted}) / 60 AS m \
           FROM package_tasks pt JOIN release_packages p ON p.id = pt.package_id \
           JOIN release_tasks rt ON rt.id = pt.task_id \
           WHERE p.workspace_id = $1 AND pt.release_status = 'released' \
           AND pt.finished_at IS NOT NULL \
         ) live GROUP BY day, bin",
        live = epoch(conn, "pt.finished_at"),
        submitted = epoch(conn, "rt.submitted_at"),
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(ws.get())
        .execute(conn)?;
    Ok(())
}

/// Failed packages of the period, each with when its last failed script was released again
/// (`open`: how many of its failed scripts have not been).
fn package_failures(
    conn: &mut DbConn,
    ws: WorkspaceId,
    period: &Period,
) -> QueryResult<Vec<FailureRow>> {
    diesel::sql_query(
        // MATERIALIZED: PostgreSQL would otherwise inline `f` and run its subquery once for
        // the MAX and again for the COUNT.
        "WITH f AS MATERIALIZED ( \
           SELECT pt.package_id AS package_id, \
             (SELECT MIN(n.finished_at) FROM package_tasks n WHERE n.script_id = pt.script_id \
              AND n.release_status = 'released' AND n.finished_at > pt.finished_at) AS next_live \
           FROM package_tasks pt WHERE pt.release_status = 'failed' AND pt.package_id IN ( \
             SELECT q.id FROM release_packages q WHERE q.workspace_id = $1 \
             AND q.released_at >= $2 AND q.released_at < $3 \
             AND q.status IN ('partially_failed', 'failed'))) \
         SELECT p.released_at AS failed_at, MAX(f.next_live) AS restored_at, \
         COUNT(*) - COUNT(f.next_live) AS open \
         FROM release_packages p JOIN f ON f.package_id = p.id \
         GROUP BY p.id, p.released_at",
    )
    .bind::<BigInt, _>(ws.get())
    .bind::<Timestamp, _>(period.start())
    .bind::<Timestamp, _>(period.end())
    .load(conn)
}

/// Failed release runs of region tasks in the period (failed, or succeeded and then rolled
/// back), each with the task's next successful run.
fn region_failures(
    conn: &mut DbConn,
    ws: WorkspaceId,
    period: &Period,
) -> QueryResult<Vec<FailureRow>> {
    let sql = format!(
        "SELECT e.finished_at AS failed_at, \
         (SELECT MIN(s.finished_at) FROM region_executions s WHERE s.task_id = e.task_id \
          AND s.status = 'succeeded' AND s.finished_at > e.finished_at) AS restored_at, \
         CAST(0 AS BIGINT) AS open \
         FROM region_executions e JOIN region_tasks t ON t.id = e.task_id \
         WHERE t.workspace_id = $1 AND e.finished_at >= $2 AND e.finished_at < $3 \
         AND e.kind = 'release' \
         AND (e.status = 'failed' OR (e.status = 'succeeded' AND {next} = 'rollback'))",
        next = NEXT_RUN_KIND,
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(ws.get())
        .bind::<Timestamp, _>(period.start())
        .bind::<Timestamp, _>(period.end())
        .load(conn)
}

fn bind_period(
    query: diesel::query_builder::SqlQuery,
    ws: WorkspaceId,
    period: &Period,
) -> diesel::query_builder::BoxedSqlQuery<
    'static,
    crate::db::MultiBackend,
    diesel::query_builder::SqlQuery,
> {
    query
        .into_boxed()
        .bind::<BigInt, _>(period.start().and_utc().timestamp())
        .bind::<BigInt, _>(period.bucket_seconds())
        .bind::<BigInt, _>(ws.get())
        .bind::<Timestamp, _>(period.start())
        .bind::<Timestamp, _>(period.end())
}

/// The workspace's delivery figures over `period`.
pub fn for_workspace(conn: &mut DbConn, ws: WorkspaceId, period: Period) -> QueryResult<Insights> {
    let mut buckets = vec![Bucket::default(); period.buckets];
    let outcomes = package_outcomes(conn, ws, &period)?
        .into_iter()
        .chain(region_outcomes(conn, ws, &period)?);
    for row in outcomes {
        let Some(b) = usize::try_from(row.bucket)
            .ok()
            .and_then(|i| buckets.get_mut(i))
        else {
            continue;
        };
        let (succeeded, failed) = match row.status.as_str() {
            "released" => (true, false),
            "partially_failed" => (true, true),
            "failed" => (false, true),
            "succeeded" => (true, row.rolled_back == 1),
            _ => continue,
        };
        b.finished += row.n;
        if succeeded {
            b.deployments += row.n;
        }
        if failed {
            b.failures += row.n;
        }
    }
    for row in lead_times(conn, ws, &period)? {
        if let Some(b) = usize::try_from(row.bucket)
            .ok()
            .and_then(|i| buckets.get_mut(i))
        {
            b.lead.add(row.minutes, row.n);
        }
    }
    let failures = package_failures(conn, ws, &period)?
        .into_iter()
        .chain(region_failures(conn, ws, &period)?);
    for f in failures {
        let Some(b) = period
            .bucket_of(f.failed_at)
            .and_then(|i| buckets.get_mut(i))
        else {
            continue;
        };
        match f.restored_at {
            Some(at) if f.open == 0 => b.restore.add((at - f.failed_at).num_minutes(), 1),
            _ => b.unrestored += 1,
        }
    }
    let mut total = Bucket::default();
    for b in &buckets {
        total.deployments += b.deployments;
        total.finished += b.finished;
        total.failures += b.failures;
        total.unrestored += b.unrestored;
        total.lead.merge(&b.lead);
        total.restore.merge(&b.restore);
    }
    Ok(Insights {
        period,
        buckets,
        total,
        read_at: crate::db::now(),
    })
}

/// For `serve --demo`'s history (`demo::seed_history`): moves a package that has just finished
/// back to `finished` — its application, decision, start and finish, its tasks' finish, what it
/// put live in production — and its tasks' submissions (and their versions') to the given
/// times; the caller recounts the lead-time rollup once its packages are moved
/// ([`recount_lead_times`]). Nothing else may call it: history is otherwise never rewritten.
pub fn move_package_back(
    conn: &mut DbConn,
    package: crate::domain::PackageId,
    finished: NaiveDateTime,
    submissions: &[(crate::domain::TaskId, NaiveDateTime)],
) -> Result<(), crate::error::AppError> {
    use crate::db::schema::{
        package_tasks, production_history, production_scripts, release_packages, release_tasks,
        script_versions,
    };
    crate::db::write_tx(conn, |conn| {
        diesel::update(release_packages::table.find(package))
            .set((
                release_packages::applied_at.eq(finished - Duration::minutes(2)),
                release_packages::decided_at.eq(Some(finished - Duration::minutes(2))),
                release_packages::release_started_at.eq(Some(finished - Duration::minutes(1))),
                release_packages::released_at.eq(Some(finished)),
            ))
            .execute(conn)?;
        diesel::update(package_tasks::table.filter(package_tasks::package_id.eq(package)))
            .set(package_tasks::finished_at.eq(Some(finished)))
            .execute(conn)?;
        for (task, submitted) in submissions {
            diesel::update(release_tasks::table.find(*task))
                .set((
                    release_tasks::submitted_at.eq(*submitted),
                    release_tasks::updated_at.eq(finished),
                ))
                .execute(conn)?;
            let version: i64 = release_tasks::table
                .find(*task)
                .select(release_tasks::version_id)
                .first(conn)?;
            diesel::update(script_versions::table.find(version))
                .set(script_versions::submitted_at.eq(*submitted))
                .execute(conn)?;
        }
        diesel::update(
            production_scripts::table.filter(production_scripts::package_id.eq(Some(package))),
        )
        .set(production_scripts::released_at.eq(finished))
        .execute(conn)?;
        diesel::update(
            production_history::table.filter(production_history::package_id.eq(Some(package))),
        )
        .set(production_history::released_at.eq(finished))
        .execute(conn)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn short_periods_are_daily_and_end_today() {
        let p = Period::new(7, day("2026-12-07")).unwrap();
        assert_eq!(p.granularity, Granularity::Day);
        assert_eq!(p.first_day, day("2026-12-01"));
        assert_eq!(p.buckets, 7);
        assert_eq!(p.end(), day("2026-12-08").and_time(NaiveTime::MIN));
    }

    #[test]
    fn long_periods_are_iso_weeks_holding_every_day() {
        // 2026-12-07 is a Monday; 90 days back is 2026-09-09, a Wednesday.
        let p = Period::new(90, day("2026-12-07")).unwrap();
        assert_eq!(p.granularity, Granularity::Week);
        assert_eq!(p.first_day, day("2026-09-07"));
        assert_eq!(p.first_day.weekday(), chrono::Weekday::Mon);
        assert_eq!(p.buckets, 14);
        assert_eq!(p.end(), day("2026-12-14").and_time(NaiveTime::MIN));
    }

    #[test]
    fn only_offered_periods_parse() {
        let today = day("2026-12-07");
        assert_eq!(Period::parse(None, today).unwrap().days, 30);
        assert_eq!(Period::parse(Some(""), today).unwrap().days, 30);
        assert_eq!(Period::parse(Some("365"), today).unwrap().days, 365);
        assert!(Period::parse(Some("14"), today).is_err());
        assert!(Period::parse(Some("-7"), today).is_err());
        assert!(Period::parse(Some("abc"), today).is_err());
    }

    #[test]
    fn lead_time_bins_round_down_coarser_as_they_grow() {
        let cases = [
            (-3, 0),
            (0, 0),
            (59, 59),
            (60, 60),
            (64, 60),
            (1_439, 1_435),
            (1_440, 1_440),
            (1_499, 1_440),
            (1_500, 1_500),
            (10_079, 10_020),
            (10_080, 10_080),
            (11_519, 10_080),
            (11_520, 11_520),
        ];
        for (minutes, want) in cases {
            assert_eq!(bin(minutes), want, "{minutes}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut m = Minutes::default();
        assert_eq!(m.median(), None);
        m.add(10, 1);
        m.add(30, 2);
        m.add(20, 1);
        // 10, 20, 30, 30
        assert_eq!(m.median(), Some(20));
        assert_eq!(m.percentile(90), Some(30));
        assert_eq!(m.percentile(25), Some(10));
    }

    #[test]
    fn states_written_in_the_sql_are_the_enums_words() {
        use crate::domain::{ExecutionKind, ExecutionStatus, PackageStatus, ReleaseStatus};
        assert_eq!(PackageStatus::Released.as_str(), "released");
        assert_eq!(PackageStatus::PartiallyFailed.as_str(), "partially_failed");
        assert_eq!(PackageStatus::Failed.as_str(), "failed");
        assert_eq!(ReleaseStatus::Released.as_str(), "released");
        assert_eq!(ReleaseStatus::Failed.as_str(), "failed");
        assert_eq!(ExecutionStatus::Succeeded.as_str(), "succeeded");
        assert_eq!(ExecutionStatus::Failed.as_str(), "failed");
        assert_eq!(ExecutionKind::Release.as_str(), "release");
        assert_eq!(ExecutionKind::Rollback.as_str(), "rollback");
    }
}
