//! `releasedesk seed-bench`: fills one new workspace with realistic, deterministic bulk data for
//! benchmarks (`bench/run.sh`, docs/BENCHMARKS.md).
//!
//! What it makes, for `--tasks N --packages M --audit K`:
//! - 200 developers `dev001`…`dev200` (the submitters), three reviewers `rev1`…`rev3`
//!   (deployers on the reviewer list) and `bench-admin` (workspace admin), all with one password;
//! - N/3 scripts named `<area>/<word>_<6-digit n>.sql` (ten words, so each word matches about
//!   10% of the names, e.g. `etl/daily_orders_001230.sql`), each with about three versions whose
//!   contents really differ, and one release task per version: task `t` is version
//!   `t / scripts + 1` of script `t % scripts`, so consecutive tasks are different scripts;
//! - up to M packages of 1–100 tasks over the oldest 60% of the tasks (the first holds exactly
//!   100), in every
//!   package state, with reviewers, decisions, per-task release and startup status, and the
//!   production copy and history of what they released; tasks outside packages are `pending`
//!   (the latest version), `superseded` or `revoked`;
//! - regions, components and region release tasks with steps, executions, results and
//!   inventory history; K audit rows.
//!
//! Rows are written with multi-row inserts (`db::batch`) in one transaction, with explicit ids
//! taken above the tables' current maxima (PostgreSQL's sequences are moved past them after).
//! It bypasses the rule-holding functions on purpose: it writes a consistent end state directly,
//! which those functions would take hours to reach one transition at a time.

use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::batch::BatchInsert;
use crate::db::schema::workspaces;
use crate::db::{DbConn, now, write_tx};
use crate::error::AppError;

/// What to make.
#[derive(Clone, Debug)]
pub struct BenchSpec {
    pub workspace: String,
    pub tasks: usize,
    pub packages: usize,
    pub audit: usize,
    /// Argon2 hash of the password every bench user signs in with.
    pub password_hash: String,
}

/// How much was written and how long it took.
#[derive(Debug)]
pub struct BenchReport {
    pub workspace_id: i64,
    pub rows: usize,
    pub seconds: f64,
}

const WORDS: [&str; 10] = [
    "daily_orders",
    "weekly_sales",
    "customer_churn",
    "inventory_sync",
    "payment_audit",
    "user_signups",
    "fraud_scores",
    "shipping_delays",
    "marketing_spend",
    "support_tickets",
];
const AREAS: [&str; 7] = ["etl", "reports", "ops", "ml", "finance", "growth", "dwh"];
const SUBMITTERS: usize = 200;
const REGIONS: [&str; 6] = [
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-northeast-1",
];
const COMPONENTS: usize = 30;

/// A small deterministic generator (splitmix64): the same spec gives the same data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn pick(seed: u64, n: usize) -> usize {
    (mix(seed) % n as u64) as usize
}

/// The path of script `i`.
pub fn script_path(i: usize) -> String {
    format!(
        "{}/{}_{:06}.sql",
        AREAS[(i / 10) % AREAS.len()],
        WORDS[i % WORDS.len()],
        i
    )
}

fn script_content(path: &str, i: usize, version: usize) -> String {
    let word = WORDS[i % WORDS.len()];
    let mut s = format!("-- {path}\n-- version {version}\nSELECT\n    id,\n    created_at,\n");
    for c in 0..(3 + version % 4) {
        s.push_str(&format!("    metric_{c} * {} AS m{c},\n", version + c));
    }
    s.push_str(&format!(
        "    amount\nFROM {word}\nWHERE created_at >= CURRENT_DATE - {}\n  AND region = '{}'\nORDER BY created_at DESC\nLIMIT {};\n",
        version * 7,
        REGIONS[(i + version) % REGIONS.len()],
        1000 * version
    ));
    s
}

/// The states a package gets, by share (out of 100), newest packages last.
fn package_status(p: usize, packages: usize) -> &'static str {
    // The newest packages are the ones still in flight.
    if packages > 10 && p + 3 >= packages {
        return if p + 1 == packages {
            "releasing"
        } else {
            "pending_approval"
        };
    }
    match pick(p as u64 ^ 0xabc, 100) {
        0..=69 => "released",
        70..=77 => "rejected",
        78..=84 => "partially_failed",
        85..=89 => "failed",
        90..=94 => "revoked",
        95..=97 => "pending_approval",
        _ => "releasing",
    }
}

fn max_id(conn: &mut DbConn, table: &str) -> QueryResult<i64> {
    use crate::db::schema::*;
    let v: Option<i64> = match table {
        "users" => users::table.select(max(users::id)).first(conn)?,
        "workspaces" => workspaces::table.select(max(workspaces::id)).first(conn)?,
        "scripts" => scripts::table.select(max(scripts::id)).first(conn)?,
        "script_versions" => script_versions::table
            .select(max(script_versions::id))
            .first(conn)?,
        "release_tasks" => release_tasks::table
            .select(max(release_tasks::id))
            .first(conn)?,
        "release_packages" => release_packages::table
            .select(max(release_packages::id))
            .first(conn)?,
        "production_history" => production_history::table
            .select(max(production_history::id))
            .first(conn)?,
        "audit_log" => audit_log::table.select(max(audit_log::id)).first(conn)?,
        "regions" => regions::table.select(max(regions::id)).first(conn)?,
        "components" => components::table.select(max(components::id)).first(conn)?,
        "region_tasks" => region_tasks::table
            .select(max(region_tasks::id))
            .first(conn)?,
        "region_task_steps" => region_task_steps::table
            .select(max(region_task_steps::id))
            .first(conn)?,
        "region_executions" => region_executions::table
            .select(max(region_executions::id))
            .first(conn)?,
        "inventory_entries" => inventory_entries::table
            .select(max(inventory_entries::id))
            .first(conn)?,
        "execution_results" => execution_results::table
            .select(max(execution_results::id))
            .first(conn)?,
        "step_comments" => step_comments::table
            .select(max(step_comments::id))
            .first(conn)?,
        other => unreachable!("no id column for {other}"),
    };
    Ok(v.unwrap_or(0))
}

/// Tables whose ids are given explicitly (PostgreSQL's sequences are moved past them after).
const ID_TABLES: [&str; 16] = [
    "users",
    "workspaces",
    "scripts",
    "script_versions",
    "release_tasks",
    "release_packages",
    "production_history",
    "audit_log",
    "regions",
    "components",
    "region_tasks",
    "region_task_steps",
    "region_executions",
    "inventory_entries",
    "execution_results",
    "step_comments",
];

/// Next free ids per table.
struct Ids {
    next: std::collections::HashMap<&'static str, i64>,
}

impl Ids {
    fn load(conn: &mut DbConn) -> QueryResult<Ids> {
        let mut next = std::collections::HashMap::new();
        for t in ID_TABLES {
            next.insert(t, max_id(conn, t)? + 1);
        }
        Ok(Ids { next })
    }
    fn take(&mut self, table: &'static str) -> i64 {
        let slot = self.next.get_mut(table).expect("known table");
        let id = *slot;
        *slot += 1;
        id
    }
}

/// Fills a new workspace `spec.workspace`; refuses one that already exists.
pub fn seed(conn: &mut DbConn, spec: &BenchSpec) -> Result<BenchReport, AppError> {
    let started = Instant::now();
    let (workspace_id, rows) = write_tx(conn, |conn| {
        let exists: i64 = workspaces::table
            .filter(workspaces::slug.eq(&spec.workspace))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            return Err(AppError::Conflict(format!(
                "The workspace “{}” already exists; seed into a new workspace or a fresh database.",
                spec.workspace
            )));
        }
        let mut ids = Ids::load(conn)?;
        let rows = write_all(conn, spec, &mut ids)?;
        crate::db::models::insights::recount_lead_times(conn, crate::domain::WorkspaceId(rows.0))?;
        Ok((rows.0, rows.1))
    })?;
    if let DbConn::Postgres(_) = conn {
        for t in ID_TABLES {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))"
            ))
            .execute(conn)?;
        }
        // VACUUM, not only ANALYZE: a bulk load leaves the pg_trgm GIN indexes' pending lists
        // full and the visibility map empty, which autovacuum would fix minutes later, and the
        // fragment search ran several times slower until then (docs/BENCHMARKS.md, "The search machinery").
        diesel::sql_query("VACUUM ANALYZE").execute(conn)?;
    } else {
        // A bulk load through the triggers leaves each FTS5 index in many small segments, and a
        // profile of the fragment search showed most of its time iterating them; merge them
        // into one, as FTS5's own automerge would over time.
        for fts in [
            "release_tasks_fts",
            "release_packages_fts",
            "scripts_fts",
            "region_tasks_fts",
        ] {
            diesel::sql_query(format!("INSERT INTO {fts}({fts}) VALUES ('optimize')"))
                .execute(conn)?;
        }
        diesel::sql_query("ANALYZE").execute(conn)?;
    }
    Ok(BenchReport {
        workspace_id,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Everything, in foreign-key order. Returns the workspace id and the number of rows.
fn write_all(conn: &mut DbConn, spec: &BenchSpec, ids: &mut Ids) -> Result<(i64, usize), AppError> {
    let t_now = now();
    let n = spec.tasks.max(1);
    let script_count = n.div_ceil(3).max(1);
    // Task t is submitted a minute after task t - 1; the newest is a minute ago.
    let base = t_now - Duration::minutes(n as i64 + 1);
    let at = |minute: usize| base + Duration::minutes(minute as i64);
    let mut total = 0usize;

    // Users, workspace, memberships, reviewers.
    let mut users = BatchInsert::new(
        "users",
        &[
            "id",
            "username",
            "display_name",
            "password_hash",
            "is_tenant_admin",
            "is_active",
            "session_epoch",
            "created_at",
            "updated_at",
        ],
    );
    let mut user = |conn: &mut DbConn, name: String, display: String| -> QueryResult<i64> {
        let id = ids.take("users");
        users.push(
            conn,
            vec![
                id.into(),
                name.into(),
                display.into(),
                spec.password_hash.as_str().into(),
                false.into(),
                true.into(),
                0i64.into(),
                base.into(),
                base.into(),
            ],
        )?;
        Ok(id)
    };
    let admin = user(conn, "bench-admin".into(), "Bench Admin".into())?;
    let reviewers: Vec<i64> = (1..=3)
        .map(|r| user(conn, format!("rev{r}"), format!("Reviewer {r}")))
        .collect::<QueryResult<_>>()?;
    let devs: Vec<i64> = (1..=SUBMITTERS)
        .map(|d| user(conn, format!("dev{d:03}"), format!("Developer {d:03}")))
        .collect::<QueryResult<_>>()?;
    users.flush(conn)?;
    total += users.written;

    let workspace_id = ids.take("workspaces");
    let mut ws = BatchInsert::new(
        "workspaces",
        &[
            "id",
            "slug",
            "name",
            "description",
            "mode",
            "approval_policy",
            "quorum",
            "created_at",
            "updated_at",
        ],
    );
    ws.push(
        conn,
        vec![
            workspace_id.into(),
            spec.workspace.as_str().into(),
            format!("Bench {}", spec.workspace).into(),
            "Bulk data from `releasedesk seed-bench`.".into(),
            "enterprise".into(),
            "developers".into(),
            "any".into(),
            base.into(),
            base.into(),
        ],
    )?;
    ws.flush(conn)?;
    let mut members = BatchInsert::new(
        "memberships",
        &[
            "workspace_id",
            "user_id",
            "role",
            "created_at",
            "updated_at",
        ],
    );
    members.push(
        conn,
        vec![
            workspace_id.into(),
            admin.into(),
            "admin".into(),
            base.into(),
            base.into(),
        ],
    )?;
    for r in &reviewers {
        members.push(
            conn,
            vec![
                workspace_id.into(),
                (*r).into(),
                "deployer".into(),
                base.into(),
                base.into(),
            ],
        )?;
    }
    for d in &devs {
        members.push(
            conn,
            vec![
                workspace_id.into(),
                (*d).into(),
                "developer".into(),
                base.into(),
                base.into(),
            ],
        )?;
    }
    members.flush(conn)?;
    let mut ws_reviewers = BatchInsert::new(
        "workspace_reviewers",
        &["workspace_id", "user_id", "added_by", "added_at"],
    );
    for r in &reviewers {
        ws_reviewers.push(
            conn,
            vec![
                workspace_id.into(),
                (*r).into(),
                Some(admin).into(),
                base.into(),
            ],
        )?;
    }
    ws_reviewers.flush(conn)?;
    total += 1 + members.written + ws_reviewers.written;

    // Which package each task belongs to: packages take the oldest tasks in order.
    let mut package_of: Vec<Option<usize>> = vec![None; n];
    let mut package_tasks_of: Vec<Vec<usize>> = Vec::with_capacity(spec.packages);
    {
        let mut next = 0usize;
        for p in 0..spec.packages {
            let size = if p == 0 {
                100
            } else {
                1 + pick(p as u64 ^ 0x5eed, 100)
            };
            // Packages hold at most 60% of the tasks (the first one always 100), so the newest
            // tasks stay pending or superseded as in a real workspace.
            let end = (next + size).min(n);
            if next >= end || (p > 0 && end > n * 6 / 10) {
                break;
            }
            for slot in &mut package_of[next..end] {
                *slot = Some(p);
            }
            package_tasks_of.push((next..end).collect());
            next = end;
        }
    }
    let packages = package_tasks_of.len();
    let pkg_status: Vec<&str> = (0..packages).map(|p| package_status(p, packages)).collect();
    // A task's state follows its package; outside packages it depends on whether it is the
    // script's latest version.
    let versions_of = |script: usize| (n - script).div_ceil(script_count);
    let task_status = |t: usize| -> &'static str {
        let script = t % script_count;
        let version = t / script_count + 1;
        if let Some(p) = package_of[t] {
            return match pkg_status[p] {
                "released" => "released",
                "pending_approval" => "in_review",
                "releasing" => "releasing",
                "rejected" => "rejected",
                "revoked" => "revoked",
                "failed" => "failed",
                _ => {
                    if pick(t as u64 ^ 0xf00, 4) == 0 {
                        "failed"
                    } else {
                        "released"
                    }
                }
            };
        }
        if version < versions_of(script) {
            "superseded"
        } else if pick(t as u64 ^ 0x7e, 10) == 0 {
            "revoked"
        } else {
            "pending"
        }
    };

    // Scripts and versions.
    let first_script = ids.next["scripts"];
    let first_version = ids.next["script_versions"];
    let first_task = ids.next["release_tasks"];
    let first_package = ids.next["release_packages"];
    let script_id = |s: usize| first_script + s as i64;
    let version_id = |t: usize| first_version + t as i64;
    let task_id = |t: usize| first_task + t as i64;
    let package_id = |p: usize| first_package + p as i64;
    let submitter = |t: usize| devs[pick(t as u64 ^ 0x5b, SUBMITTERS)];
    let schedule = |s: usize| if s.is_multiple_of(3) { "0 2 * * *" } else { "" };

    let mut scripts = BatchInsert::new(
        "scripts",
        &[
            "id",
            "workspace_id",
            "path",
            "script_type",
            "draft_content",
            "schedule",
            "description",
            "owner_id",
            "latest_version",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    for s in 0..script_count {
        let path = script_path(s);
        let latest = versions_of(s);
        let owner = submitter(s);
        scripts.push(
            conn,
            vec![
                ids.take("scripts").into(),
                workspace_id.into(),
                path.as_str().into(),
                "sql".into(),
                script_content(&path, s, latest).into(),
                schedule(s).into(),
                format!("Loads {}.", WORDS[s % WORDS.len()]).into(),
                Some(owner).into(),
                (latest as i32).into(),
                Some(owner).into(),
                at(s).into(),
                at(s).into(),
            ],
        )?;
    }
    scripts.flush(conn)?;
    total += scripts.written;

    let mut versions = BatchInsert::new(
        "script_versions",
        &[
            "id",
            "script_id",
            "number",
            "content",
            "message",
            "script_type",
            "schedule",
            "submitted_by",
            "submitted_at",
        ],
    );
    let mut tasks = BatchInsert::new(
        "release_tasks",
        &[
            "id",
            "workspace_id",
            "script_id",
            "version_id",
            "name",
            "version_number",
            "status",
            "submitted_by",
            "submitted_at",
            "package_id",
            "status_reason",
            "updated_at",
        ],
    );
    for t in 0..n {
        let s = t % script_count;
        let v = t / script_count + 1;
        let path = script_path(s);
        let vid = ids.take("script_versions");
        debug_assert_eq!(vid, version_id(t));
        versions.push(
            conn,
            vec![
                vid.into(),
                script_id(s).into(),
                (v as i32).into(),
                script_content(&path, s, v).into(),
                format!("Tune {} (v{v})", WORDS[s % WORDS.len()]).into(),
                "sql".into(),
                schedule(s).into(),
                Some(submitter(t)).into(),
                at(t).into(),
            ],
        )?;
    }
    versions.flush(conn)?;
    total += versions.written;

    // Packages, their reviewers and tasks, and what they put into production.
    let mut pkgs = BatchInsert::new(
        "release_packages",
        &[
            "id",
            "workspace_id",
            "name",
            "applicant_id",
            "comment",
            "status",
            "needs_approval",
            "quorum",
            "applied_at",
            "decided_by",
            "decided_at",
            "released_by",
            "release_started_at",
            "released_at",
            "task_count",
            "done_count",
            "failed_count",
        ],
    );
    let mut reviews = BatchInsert::new(
        "package_reviewers",
        &[
            "package_id",
            "applicant_id",
            "reviewer_id",
            "decision",
            "comment",
            "decided_at",
        ],
    );
    let mut ptasks = BatchInsert::new(
        "package_tasks",
        &[
            "package_id",
            "task_id",
            "position",
            "release_status",
            "startup_status",
            "message",
            "finished_at",
            "script_id",
        ],
    );
    let mut history = BatchInsert::new(
        "production_history",
        &[
            "id",
            "script_id",
            "version_id",
            "version_number",
            "package_id",
            "released_by",
            "released_at",
        ],
    );
    // script → (task, package) of its newest released version.
    let mut live: Vec<Option<(usize, usize)>> = vec![None; script_count];
    for (p, members) in package_tasks_of.iter().enumerate() {
        let pid = ids.take("release_packages");
        debug_assert_eq!(pid, package_id(p));
        let status = pkg_status[p];
        let last = *members.last().expect("a package has tasks");
        let applicant = submitter(members[0]);
        let applied = at(last) + Duration::seconds(30);
        let decided = applied + Duration::seconds(20);
        let reviewer = reviewers[p % reviewers.len()];
        let (decided_by, decided_at) = match status {
            "pending_approval" | "revoked" => (None, None),
            _ => (Some(reviewer), Some(decided)),
        };
        let started = matches!(
            status,
            "releasing" | "released" | "partially_failed" | "failed"
        );
        let finished = matches!(status, "released" | "partially_failed" | "failed");
        let done = members
            .iter()
            .filter(|t| task_status(**t) == "released")
            .count() as i32;
        let failed = members
            .iter()
            .filter(|t| task_status(**t) == "failed")
            .count() as i32;
        let decision = match status {
            "pending_approval" | "revoked" => None,
            "rejected" => Some("rejected"),
            _ => Some("approved"),
        };
        pkgs.push(
            conn,
            vec![
                pid.into(),
                workspace_id.into(),
                format!("release-{:05}-{}", p + 1, WORDS[p % WORDS.len()]).into(),
                applicant.into(),
                format!("Batch {} of the week's changes.", p + 1).into(),
                status.into(),
                true.into(),
                "any".into(),
                applied.into(),
                decided_by.into(),
                decided_at.into(),
                started.then_some(reviewer).into(),
                started.then_some(decided).into(),
                finished
                    .then(|| decided + Duration::milliseconds(10 * members.len() as i64))
                    .into(),
                (members.len() as i32).into(),
                done.into(),
                failed.into(),
            ],
        )?;
        // After its package: both buffers send at 1,000 rows, the package first.
        reviews.push(
            conn,
            vec![
                pid.into(),
                applicant.into(),
                reviewer.into(),
                decision.into(),
                if decision == Some("rejected") {
                    "Needs a test run first."
                } else {
                    ""
                }
                .into(),
                decision.map(|_| decided).into(),
            ],
        )?;
    }
    pkgs.flush(conn)?;
    reviews.flush(conn)?;
    // Tasks reference their package, package tasks and history reference the tasks.
    for (t, package) in package_of.iter().enumerate() {
        let s = t % script_count;
        let v = t / script_count + 1;
        let vid = version_id(t);
        let status = task_status(t);
        let reason = match status {
            "superseded" => "A newer version was submitted.",
            "revoked" => "Revoked by its submitter.",
            _ => "",
        };
        let tid = ids.take("release_tasks");
        debug_assert_eq!(tid, task_id(t));
        tasks.push(
            conn,
            vec![
                tid.into(),
                workspace_id.into(),
                script_id(s).into(),
                vid.into(),
                script_path(s).into(),
                (v as i32).into(),
                status.into(),
                Some(submitter(t)).into(),
                at(t).into(),
                package.map(package_id).into(),
                reason.into(),
                at(t).into(),
            ],
        )?;
    }
    tasks.flush(conn)?;
    for (p, members) in package_tasks_of.iter().enumerate() {
        let pid = package_id(p);
        let last = *members.last().expect("a package has tasks");
        let decided = at(last) + Duration::seconds(50);
        let reviewer = reviewers[p % reviewers.len()];
        for (pos, &t) in members.iter().enumerate() {
            let ts = task_status(t);
            let finished_at = decided + Duration::milliseconds(10 * pos as i64);
            let (release_status, startup, message, fin) = match ts {
                "released" => {
                    let s = t % script_count;
                    if live[s].is_none_or(|(old, _)| old < t) {
                        live[s] = Some((t, p));
                    }
                    history.push(
                        conn,
                        vec![
                            ids.take("production_history").into(),
                            script_id(s).into(),
                            version_id(t).into(),
                            ((t / script_count + 1) as i32).into(),
                            Some(pid).into(),
                            Some(reviewer).into(),
                            finished_at.into(),
                        ],
                    )?;
                    let startup = if schedule(s).is_empty() {
                        "not_started"
                    } else {
                        "started"
                    };
                    ("released", startup, "", Some(finished_at))
                }
                "failed" => (
                    "failed",
                    "not_started",
                    "production runs a newer version",
                    Some(finished_at),
                ),
                "revoked" => ("withdrawn", "not_started", "revoked", None),
                "rejected" => ("withdrawn", "not_started", "rejected", None),
                _ => ("waiting", "not_started", "", None),
            };
            ptasks.push(
                conn,
                vec![
                    pid.into(),
                    task_id(t).into(),
                    (pos as i32).into(),
                    release_status.into(),
                    startup.into(),
                    message.into(),
                    fin.into(),
                    script_id(t % script_count).into(),
                ],
            )?;
        }
    }
    ptasks.flush(conn)?;
    history.flush(conn)?;
    total += pkgs.written + reviews.written + tasks.written + ptasks.written + history.written;

    let mut prod = BatchInsert::new(
        "production_scripts",
        &[
            "script_id",
            "workspace_id",
            "version_id",
            "version_number",
            "content",
            "script_type",
            "schedule",
            "package_id",
            "released_by",
            "released_at",
            "startup_status",
            "startup_message",
            "path",
        ],
    );
    for (s, entry) in live.iter().enumerate() {
        let Some((t, p)) = *entry else { continue };
        let v = t / script_count + 1;
        prod.push(
            conn,
            vec![
                script_id(s).into(),
                workspace_id.into(),
                version_id(t).into(),
                (v as i32).into(),
                script_content(&script_path(s), s, v).into(),
                "sql".into(),
                schedule(s).into(),
                Some(package_id(p)).into(),
                Some(reviewers[p % reviewers.len()]).into(),
                (at(t) + Duration::minutes(1)).into(),
                if schedule(s).is_empty() {
                    "not_started"
                } else {
                    "started"
                }
                .into(),
                "".into(),
                script_path(s).into(),
            ],
        )?;
    }
    prod.flush(conn)?;
    total += prod.written;

    total += seed_regions(conn, ids, workspace_id, &reviewers, &devs, n, base)?;
    total += seed_audit(conn, ids, workspace_id, admin, &devs, spec.audit, base, n)?;
    Ok((workspace_id, total))
}

/// Regions, components, region release tasks with steps, executions, results and inventory.
fn seed_regions(
    conn: &mut DbConn,
    ids: &mut Ids,
    workspace_id: i64,
    deployers: &[i64],
    devs: &[i64],
    tasks: usize,
    base: NaiveDateTime,
) -> QueryResult<usize> {
    let mut total = 0;
    let mut regions = BatchInsert::new(
        "regions",
        &[
            "id",
            "workspace_id",
            "name",
            "display_order",
            "driver",
            "webhook_url",
            "webhook_secret",
            "timeout_ms",
            "max_attempts",
            "created_at",
            "updated_at",
        ],
    );
    let region_ids: Vec<i64> = REGIONS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let id = ids.take("regions");
            regions
                .push(
                    conn,
                    vec![
                        id.into(),
                        workspace_id.into(),
                        (*name).into(),
                        (i as i32).into(),
                        "inventory".into(),
                        "".into(),
                        "".into(),
                        5000.into(),
                        3.into(),
                        base.into(),
                        base.into(),
                    ],
                )
                .map(|_| id)
        })
        .collect::<QueryResult<_>>()?;
    regions.flush(conn)?;
    let mut components = BatchInsert::new(
        "components",
        &[
            "id",
            "workspace_id",
            "name",
            "artifact",
            "version",
            "instances",
            "cpu_millis",
            "memory_mib",
            "env",
            "created_at",
            "updated_at",
        ],
    );
    let component_ids: Vec<i64> = (0..COMPONENTS)
        .map(|c| {
            let id = ids.take("components");
            components
                .push(
                    conn,
                    vec![
                        id.into(),
                        workspace_id.into(),
                        format!("svc-{}-{c:02}", WORDS[c % WORDS.len()].replace('_', "-")).into(),
                        format!("registry.local/svc-{c:02}").into(),
                        format!("1.{c}.0").into(),
                        ((c % 5 + 1) as i32).into(),
                        500.into(),
                        512.into(),
                        "LOG_LEVEL=info".into(),
                        base.into(),
                        base.into(),
                    ],
                )
                .map(|_| id)
        })
        .collect::<QueryResult<_>>()?;
    components.flush(conn)?;
    total += regions.written + components.written;

    let mut rtasks = BatchInsert::new(
        "region_tasks",
        &[
            "id",
            "workspace_id",
            "name",
            "description",
            "operation",
            "source_region_id",
            "best_effort",
            "status",
            "created_by",
            "created_at",
            "updated_at",
            "released_by",
            "released_at",
        ],
    );
    let mut steps = BatchInsert::new(
        "region_task_steps",
        &[
            "id",
            "task_id",
            "position",
            "kind",
            "region_id",
            "status",
            "started_at",
            "finished_at",
            "message",
        ],
    );
    let mut step_components = BatchInsert::new("step_components", &["step_id", "component_id"]);
    let mut step_people = BatchInsert::new("step_people", &["step_id", "user_id"]);
    let mut comments = BatchInsert::new(
        "step_comments",
        &[
            "id",
            "step_id",
            "user_id",
            "decision",
            "comment",
            "created_at",
        ],
    );
    let mut executions = BatchInsert::new(
        "region_executions",
        &[
            "id",
            "task_id",
            "kind",
            "start_position",
            "started_by",
            "reason",
            "status",
            "started_at",
            "finished_at",
        ],
    );
    let mut inventory = BatchInsert::new(
        "inventory_entries",
        &[
            "id",
            "region_id",
            "component_id",
            "present",
            "version",
            "config",
            "recorded_at",
            "task_id",
            "execution_id",
            "note",
        ],
    );
    let mut results = BatchInsert::new(
        "execution_results",
        &[
            "id",
            "execution_id",
            "step_id",
            "region_id",
            "component_id",
            "status",
            "started_at",
            "finished_at",
            "message",
            "previous_entry_id",
            "new_entry_id",
        ],
    );
    // One region task per 100 release tasks (at least 20): the first deploys every component
    // everywhere, the others upgrade three components through two regions and a checkpoint.
    let count = (tasks / 100).max(20);
    // (region, component) → current inventory entry.
    let mut current: std::collections::HashMap<(i64, i64), i64> = Default::default();
    for k in 0..count {
        let id = ids.take("region_tasks");
        let created = base + Duration::minutes(k as i64 * 3);
        let deploy_all = k == 0;
        let status = if deploy_all {
            "released"
        } else {
            match pick(k as u64 ^ 0x12, 10) {
                0..=5 => "released",
                6 => "release_failed",
                7 => "rolled_back",
                8 => "to_release",
                _ => "suspended",
            }
        };
        let by = devs[k % devs.len()];
        let deployer = deployers[k % deployers.len()];
        let ran = status != "to_release";
        rtasks.push(
            conn,
            vec![
                id.into(),
                workspace_id.into(),
                if deploy_all {
                    "initial-rollout-all-regions".to_string()
                } else {
                    format!(
                        "upgrade-{}-{k:05}",
                        WORDS[k % WORDS.len()].replace('_', "-")
                    )
                }
                .into(),
                "Rolls the components out region by region.".into(),
                if deploy_all { "deploy" } else { "upgrade" }.into(),
                None::<i64>.into(),
                (k % 2 == 0).into(),
                status.into(),
                Some(by).into(),
                created.into(),
                created.into(),
                ran.then_some(deployer).into(),
                (status == "released")
                    .then(|| created + Duration::minutes(2))
                    .into(),
            ],
        )?;
        let exec_id = ran.then(|| ids.take("region_executions"));
        if let Some(e) = exec_id {
            executions.push(
                conn,
                vec![
                    e.into(),
                    id.into(),
                    "release".into(),
                    0.into(),
                    Some(deployer).into(),
                    "".into(),
                    match status {
                        "released" | "rolled_back" => "succeeded",
                        "suspended" => "suspended",
                        _ => "failed",
                    }
                    .into(),
                    created.into(),
                    Some(created + Duration::minutes(2)).into(),
                ],
            )?;
        }
        let plan: Vec<(&str, Option<i64>, Vec<i64>)> = if deploy_all {
            region_ids
                .iter()
                .map(|r| ("deploy", Some(*r), component_ids.clone()))
                .collect()
        } else {
            let comps: Vec<i64> = (0..3)
                .map(|j| component_ids[(k * 3 + j) % component_ids.len()])
                .collect();
            vec![
                (
                    "deploy",
                    Some(region_ids[k % region_ids.len()]),
                    comps.clone(),
                ),
                ("approval", None, vec![]),
                (
                    "deploy",
                    Some(region_ids[(k + 1) % region_ids.len()]),
                    comps,
                ),
            ]
        };
        for (pos, (kind, region, comps)) in plan.into_iter().enumerate() {
            let step_id = ids.take("region_task_steps");
            let done = match status {
                "to_release" => false,
                "released" | "rolled_back" => true,
                _ => pos == 0,
            };
            let step_status = match (kind, done) {
                ("approval", true) => "agreed",
                (_, true) => "succeeded",
                _ => "pending",
            };
            steps.push(
                conn,
                vec![
                    step_id.into(),
                    id.into(),
                    (pos as i32).into(),
                    kind.into(),
                    region.into(),
                    step_status.into(),
                    done.then_some(created).into(),
                    done.then(|| created + Duration::minutes(1)).into(),
                    "".into(),
                ],
            )?;
            if kind == "approval" {
                step_people.push(conn, vec![step_id.into(), deployer.into()])?;
                if done {
                    comments.push(
                        conn,
                        vec![
                            ids.take("step_comments").into(),
                            step_id.into(),
                            deployer.into(),
                            Some("agree").into(),
                            "Metrics look good.".into(),
                            (created + Duration::minutes(1)).into(),
                        ],
                    )?;
                }
                continue;
            }
            let region = region.expect("deploy steps have a region");
            for (ci, c) in comps.iter().enumerate() {
                step_components.push(conn, vec![step_id.into(), (*c).into()])?;
                let (Some(e), true) = (exec_id, done) else {
                    continue;
                };
                let entry = ids.take("inventory_entries");
                let previous = current.insert((region, *c), entry);
                inventory.push(
                    conn,
                    vec![
                        entry.into(),
                        region.into(),
                        (*c).into(),
                        true.into(),
                        format!("1.{k}.{ci}").into(),
                        format!("{{\"instances\":{}}}", ci + 1).into(),
                        created.into(),
                        Some(id).into(),
                        Some(e).into(),
                        "".into(),
                    ],
                )?;
                results.push(
                    conn,
                    vec![
                        ids.take("execution_results").into(),
                        e.into(),
                        step_id.into(),
                        region.into(),
                        (*c).into(),
                        "succeeded".into(),
                        created.into(),
                        (created + Duration::seconds(5)).into(),
                        format!("recorded 1.{k}.{ci}").into(),
                        previous.into(),
                        Some(entry).into(),
                    ],
                )?;
            }
        }
        // Send every 50 tasks in foreign-key order. No buffer reaches its own statement size
        // (1,000 rows) within 50 tasks, so a child row is never sent before its parent.
        if (k + 1) % 50 == 0 {
            for batch in [
                &mut rtasks,
                &mut executions,
                &mut steps,
                &mut step_components,
                &mut step_people,
                &mut comments,
                &mut inventory,
                &mut results,
            ] {
                batch.flush(conn)?;
            }
        }
    }
    for batch in [
        &mut rtasks,
        &mut executions,
        &mut steps,
        &mut step_components,
        &mut step_people,
        &mut comments,
        &mut inventory,
        &mut results,
    ] {
        batch.flush(conn)?;
    }
    total += rtasks.written
        + executions.written
        + steps.written
        + step_components.written
        + step_people.written
        + comments.written
        + inventory.written
        + results.written;
    Ok(total)
}

#[allow(clippy::too_many_arguments)]
fn seed_audit(
    conn: &mut DbConn,
    ids: &mut Ids,
    workspace_id: i64,
    admin: i64,
    devs: &[i64],
    count: usize,
    base: NaiveDateTime,
    tasks: usize,
) -> QueryResult<usize> {
    const ACTIONS: [(&str, &str); 6] = [
        ("version.submitted", "script"),
        ("package.created", "package"),
        ("package.approved", "package"),
        ("task.revoked", "task"),
        ("member.role_changed", "user"),
        ("region_task.executed", "region_task"),
    ];
    let mut audit = BatchInsert::new(
        "audit_log",
        &[
            "id",
            "workspace_id",
            "actor_id",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "comment",
            "created_at",
        ],
    );
    let span = tasks.max(1);
    for a in 0..count {
        let (action, target) = ACTIONS[pick(a as u64 ^ 0xa0, ACTIONS.len())];
        audit.push(
            conn,
            vec![
                ids.take("audit_log").into(),
                Some(workspace_id).into(),
                Some(if a % 50 == 0 {
                    admin
                } else {
                    devs[a % devs.len()]
                })
                .into(),
                action.into(),
                target.into(),
                Some((a % span) as i64 + 1).into(),
                script_path(a % span.div_ceil(3)).into(),
                "".into(),
                (base + Duration::seconds((a * 60 * span / count.max(1)) as i64)).into(),
            ],
        )?;
    }
    audit.flush(conn)?;
    Ok(audit.written)
}
