//! A small durable job queue (TECH-NOTES §7). Jobs are enqueued in the same transaction as the
//! business change that needs them (so an approval and its release job commit together), claimed
//! with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one atomic UPDATE on SQLite), and a
//! holder that dies lets its lease expire so another worker resumes the job.

use chrono::Duration;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::schema::jobs;
use crate::db::{DbConn, now};

crate::domain::text_enum!(
    /// A job's state: `queued` until a worker claims it, `running` while its lease holds, then
    /// `done`, or `queued` again to retry, or `dead` after its last attempt. (`claim` writes the
    /// same words in its SQL.)
    JobStatus {
        Queued = "queued": "Queued",
        Running = "running": "Running",
        Done = "done": "Done",
        Dead = "dead": "Dead",
    }
);

/// Queue of package releases; the payload is the package id.
pub const RELEASE_PACKAGE: &str = "release_package";
/// How long a claimed job is reserved for its worker before others may take it over, unless the
/// worker heartbeats (`RELEASEDESK_JOB_LEASE_SECONDS` overrides it per instance).
pub const LEASE_SECONDS: i64 = 60;

pub fn enqueue(conn: &mut DbConn, queue: &str, payload: &str) -> QueryResult<i64> {
    let ts = now();
    diesel::insert_into(jobs::table)
        .values((
            jobs::queue.eq(queue),
            jobs::payload.eq(payload),
            jobs::status.eq(JobStatus::Queued),
            jobs::run_at.eq(ts),
            jobs::attempts.eq(0),
            jobs::max_attempts.eq(5),
            jobs::created_at.eq(ts),
            jobs::updated_at.eq(ts),
        ))
        .returning(jobs::id)
        .get_result(conn)
}

/// A claimed job.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims the oldest due job of `queue` for `worker`: queued ones, and running ones whose
/// holder's lease expired (it crashed or was killed). The claim holds for `lease_seconds`.
pub fn claim(
    conn: &mut DbConn,
    queue: &str,
    worker: &str,
    lease_seconds: i64,
) -> QueryResult<Option<Claimed>> {
    let ts = now();
    let until = ts + Duration::seconds(lease_seconds);
    let sql = match conn {
        DbConn::Postgres(_) => {
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE queue = $4 AND run_at <= $3 \
                         AND (status = 'queued' OR (status = 'running' AND locked_until < $3)) \
                         ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, payload, attempts"
        }
        DbConn::Sqlite(_) => {
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE queue = $4 AND run_at <= $3 \
                         AND (status = 'queued' OR (status = 'running' AND locked_until < $3)) \
                         ORDER BY run_at, id LIMIT 1) \
             RETURNING id, payload, attempts"
        }
    };
    let mut rows: Vec<Claimed> = diesel::sql_query(sql)
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(ts)
        .bind::<Text, _>(queue)
        .load(conn)?;
    Ok(rows.pop())
}

/// Extends the lease while a long job makes progress.
pub fn heartbeat(
    conn: &mut DbConn,
    id: i64,
    worker: &str,
    lease_seconds: i64,
) -> QueryResult<bool> {
    let until = now() + Duration::seconds(lease_seconds);
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::locked_by.eq(worker))
            .filter(jobs::status.eq(JobStatus::Running)),
    )
    .set((jobs::locked_until.eq(until), jobs::updated_at.eq(now())))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn complete(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(JobStatus::Done),
            jobs::locked_by.eq(None::<String>),
            jobs::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried later with exponential backoff, or `dead` after the last.
/// Returns `true` when the job is dead (the caller then records the business outcome).
pub fn fail(conn: &mut DbConn, id: i64, attempts: i32, error: &str) -> QueryResult<bool> {
    let max: i32 = jobs::table
        .find(id)
        .select(jobs::max_attempts)
        .first(conn)?;
    let dead = attempts >= max;
    let backoff = Duration::seconds(2i64.pow(attempts.clamp(0, 10) as u32));
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(if dead {
                JobStatus::Dead
            } else {
                JobStatus::Queued
            }),
            jobs::run_at.eq(now() + backoff),
            jobs::locked_by.eq(None::<String>),
            jobs::last_error.eq(error.chars().take(2000).collect::<String>()),
            jobs::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(dead)
}

/// Hands a job back untouched (the worker is stopping): queued again at once, and the attempt
/// it was claimed with does not count.
pub fn hand_back(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::run_at.eq(now()),
            jobs::locked_by.eq(None::<String>),
            jobs::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Hands a claimed job back to run again at `run_at`, without counting the attempt: a freeze
/// window holds its item (`freezes`). The worker looks again then.
pub fn defer(conn: &mut DbConn, id: i64, run_at: chrono::NaiveDateTime) -> QueryResult<()> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::run_at.eq(run_at),
            jobs::locked_by.eq(None::<String>),
            jobs::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Makes the queued job of `queue` with `payload` due now (an override lets a held item go).
pub fn wake(conn: &mut DbConn, queue: &str, payload: &str) -> QueryResult<usize> {
    let ts = now();
    diesel::update(
        jobs::table
            .filter(jobs::queue.eq(queue))
            .filter(jobs::payload.eq(payload))
            .filter(jobs::status.eq(JobStatus::Queued))
            .filter(jobs::run_at.gt(ts)),
    )
    .set(jobs::run_at.eq(ts))
    .execute(conn)
}

/// Whether any job is due to run or held by a worker now.
pub fn any_due_or_running(conn: &mut DbConn) -> QueryResult<bool> {
    let ts = now();
    diesel::select(diesel::dsl::exists(
        jobs::table.filter(
            jobs::status
                .eq(JobStatus::Running)
                .or(jobs::status.eq(JobStatus::Queued).and(jobs::run_at.le(ts))),
        ),
    ))
    .get_result(conn)
}

/// Why a job that should be making progress is not, as a page tells its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stall {
    /// Retrying after a failed attempt (`attempt` of `max`), in `in_seconds`.
    Retrying {
        attempt: i32,
        max: i32,
        in_seconds: i64,
    },
    /// Due, but no worker has taken it for a while (none running, or all busy).
    Unclaimed { since_seconds: i64 },
    /// Its worker has not reported for `seconds`; if it stopped, another takes over within
    /// `in_seconds` (when its lease ends).
    Silent { seconds: i64, in_seconds: i64 },
}

/// How long a job may go without a sign of life before a page says so.
const QUIET_SECONDS: i64 = 10;

/// The stall of the unfinished job of `queue` with `payload`, if it has one now.
pub fn stall(conn: &mut DbConn, queue: &str, payload: &str) -> QueryResult<Option<Stall>> {
    let job: Option<(
        JobStatus,
        chrono::NaiveDateTime,
        i32,
        i32,
        Option<chrono::NaiveDateTime>,
        chrono::NaiveDateTime,
    )> = jobs::table
        .filter(jobs::queue.eq(queue))
        .filter(jobs::payload.eq(payload))
        .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running]))
        .order(jobs::id.desc())
        .select((
            jobs::status,
            jobs::run_at,
            jobs::attempts,
            jobs::max_attempts,
            jobs::locked_until,
            jobs::updated_at,
        ))
        .first(conn)
        .optional()?;
    let ts = now();
    Ok(match job {
        Some((JobStatus::Queued, run_at, attempts, max, _, _)) if run_at > ts => {
            Some(Stall::Retrying {
                attempt: attempts + 1,
                max,
                in_seconds: (run_at - ts).num_seconds().max(1),
            })
        }
        Some((JobStatus::Queued, run_at, ..)) => {
            let since = (ts - run_at).num_seconds();
            (since >= QUIET_SECONDS).then_some(Stall::Unclaimed {
                since_seconds: since,
            })
        }
        Some((_, _, _, _, Some(until), seen)) => {
            let quiet = (ts - seen).num_seconds();
            (quiet >= QUIET_SECONDS).then_some(Stall::Silent {
                seconds: quiet,
                in_seconds: (until - ts).num_seconds().max(0),
            })
        }
        _ => None,
    })
}

/// Moves the queued jobs of `queue` with these payloads to `run_at` (the demo parks its region
/// jobs an hour ahead so the pages show them mid-flight).
pub fn delay(
    conn: &mut DbConn,
    queue: &str,
    payloads: &[String],
    run_at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::queue.eq(queue))
            .filter(jobs::payload.eq_any(payloads)),
    )
    .set(jobs::run_at.eq(run_at))
    .execute(conn)
}

/// Every queue the worker serves, for the figures of [`load`].
pub const QUEUES: [&str; 2] = [RELEASE_PACKAGE, super::region_release::QUEUE];

/// How much work one queue holds now (`/metrics`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueLoad {
    pub queue: &'static str,
    /// Jobs waiting for a worker, including those waiting out a retry's backoff.
    pub queued: i64,
    /// Jobs a worker has claimed (a holder that died still counts until another takes over).
    pub running: i64,
    /// How long the longest-waiting due job has been due; zero when none is.
    pub oldest_due_seconds: f64,
}

/// The load of every queue in [`QUEUES`], in that order. One grouped read of the unfinished
/// jobs, which the claim index (`queue, status, run_at`) finds without reading the done ones.
pub fn load(conn: &mut DbConn) -> QueryResult<Vec<QueueLoad>> {
    use diesel::dsl::{count_star, min};
    let rows: Vec<(String, String, i64, Option<chrono::NaiveDateTime>)> = jobs::table
        .filter(jobs::queue.eq_any(QUEUES))
        .filter(jobs::status.eq_any(["queued", "running"]))
        .group_by((jobs::queue, jobs::status))
        .select((jobs::queue, jobs::status, count_star(), min(jobs::run_at)))
        .load(conn)?;
    let ts = now();
    Ok(QUEUES
        .map(|queue| {
            let mut load = QueueLoad {
                queue,
                queued: 0,
                running: 0,
                oldest_due_seconds: 0.0,
            };
            for (q, status, n, first_run_at) in &rows {
                match status.as_str() {
                    _ if q != queue => {}
                    "queued" => {
                        load.queued = *n;
                        load.oldest_due_seconds = first_run_at
                            .map_or(0.0, |at| (ts - at).num_milliseconds().max(0) as f64 / 1e3);
                    }
                    _ => load.running = *n,
                }
            }
            load
        })
        .to_vec())
}
