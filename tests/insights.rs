//! The Insights page (issue 24, `db::models::insights`, `routes::insights`): deployment
//! frequency, lead time, change failure rate and time to restore over a period, on the page
//! (charts and numbers) and in the CSV, on SQLite and PostgreSQL. The history is made through
//! the data layer's own transitions (release, the worker's steps, an import that wins a race),
//! with the release worker off so nothing moves by itself, then moved back in time with SQL.

mod support;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use releasedesk::db::DbConn;
use releasedesk::db::models::releases::{self, ReleaseRequest};
use releasedesk::db::models::scripts::{self, ScriptDraft};
use releasedesk::db::models::{insights, users, workspaces};
use releasedesk::db::schema::{
    package_tasks, region_executions, region_tasks, release_packages, release_tasks,
};
use releasedesk::domain::{PackageId, ScriptPath, ScriptType, TaskId, UserId, WorkspaceId};
use releasedesk::paths;
use support::{Backend, TestApp};

const WS: &str = "delivery";

async fn app(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |s| s.run_worker = false).await?;
    Some(app.with_demo().await)
}

fn today() -> NaiveDate {
    releasedesk::db::now().date()
}

/// `days` ago at `hour`:00 UTC.
fn at(days: i64, hour: u32) -> NaiveDateTime {
    (today() - Duration::days(days)).and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap())
}

fn user(c: &mut DbConn, name: &str) -> UserId {
    users::find_by_username(c, name).unwrap().unwrap().id
}

/// A new, empty workspace `slug` whose first admin is carol.
fn workspace(c: &mut DbConn, slug: &str) -> WorkspaceId {
    let tara = user(c, "tara");
    let carol = user(c, "carol");
    workspaces::create(
        c,
        Some(tara),
        &releasedesk::domain::WorkspaceSlug::parse(slug).unwrap(),
        &releasedesk::domain::WorkspaceName::parse("Delivery").unwrap(),
        &Default::default(),
        Some(carol),
    )
    .unwrap()
    .id
}

fn draft(content: &str) -> ScriptDraft {
    ScriptDraft {
        script_type: ScriptType::Sql,
        schedule: String::new(),
        description: Default::default(),
        content: content.into(),
    }
}

/// A new script with its first version submitted, by carol: (script, its release task).
fn script(c: &mut DbConn, ws: WorkspaceId, path: &str) -> (i64, TaskId) {
    let carol = user(c, "carol");
    let s = scripts::create(
        c,
        carol,
        ws,
        &ScriptPath::parse(path).unwrap(),
        &draft("SELECT 1;\n"),
    )
    .unwrap();
    let task = scripts::submit_version(c, carol, ws, s.id, "v1")
        .unwrap()
        .task_id
        .unwrap();
    (s.id, task)
}

/// Carol releases `tasks` directly (she is an admin): the package is releasing, its job queued.
fn release(c: &mut DbConn, ws: WorkspaceId, tasks: &[TaskId], name: &str) -> PackageId {
    let carol = user(c, "carol");
    releases::release(
        c,
        carol,
        ws,
        &ReleaseRequest {
            task_ids: tasks.to_vec(),
            name: name.parse().unwrap(),
            comment: Default::default(),
            reviewers: vec![],
        },
    )
    .unwrap()
    .package_id
}

/// What the worker does for a package: every task in turn, then the outcome.
fn run_worker_steps(c: &mut DbConn, package: PackageId) {
    while matches!(
        releases::release_next_task(c, package).unwrap(),
        releases::Next::Applied
    ) {}
    releases::finish_package(c, package).unwrap();
}

/// Moves a finished package (and its tasks) to `finished`, its tasks' submissions to
/// `submitted`.
fn backdate(
    c: &mut DbConn,
    package: PackageId,
    finished: NaiveDateTime,
    submitted: &[(TaskId, NaiveDateTime)],
) {
    diesel::update(release_packages::table.find(package))
        .set((
            release_packages::applied_at.eq(finished - Duration::minutes(5)),
            release_packages::released_at.eq(Some(finished)),
        ))
        .execute(c)
        .unwrap();
    diesel::update(package_tasks::table.filter(package_tasks::package_id.eq(package)))
        .set(package_tasks::finished_at.eq(Some(finished)))
        .execute(c)
        .unwrap();
    for (task, when) in submitted {
        diesel::update(release_tasks::table.find(*task))
            .set(release_tasks::submitted_at.eq(*when))
            .execute(c)
            .unwrap();
    }
    // History moved by hand: the lead-time rollup follows, as it does for the demo's history.
    let ws = release_packages::table
        .find(package)
        .select(release_packages::workspace_id)
        .first(c)
        .unwrap();
    insights::recount_lead_times(c, ws).unwrap();
}

#[derive(QueryableByName, Debug, PartialEq)]
struct RollupRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    day: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    minutes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    tasks: i64,
}

fn rollup(c: &mut DbConn, ws: WorkspaceId) -> Vec<RollupRow> {
    diesel::sql_query(
        "SELECT day, minutes, tasks FROM lead_time_days WHERE workspace_id = $1 \
         ORDER BY day, minutes",
    )
    .bind::<diesel::sql_types::BigInt, _>(ws)
    .load(c)
    .unwrap()
}

/// A region task with a release run that succeeded at `released`, then a rollback that
/// finished at `rolled_back` (inserted as the worker leaves them).
fn rolled_back_region_task(
    c: &mut DbConn,
    ws: WorkspaceId,
    released: NaiveDateTime,
    rolled_back: NaiveDateTime,
) {
    let carol = user(c, "carol");
    let task: i64 = diesel::insert_into(region_tasks::table)
        .values((
            region_tasks::workspace_id.eq(ws),
            region_tasks::name.eq("checkout-upgrade"),
            region_tasks::description.eq(""),
            region_tasks::operation.eq("upgrade"),
            region_tasks::best_effort.eq(false),
            region_tasks::status.eq("rolled_back"),
            region_tasks::created_by.eq(Some(carol)),
            region_tasks::created_at.eq(released - Duration::hours(1)),
            region_tasks::updated_at.eq(rolled_back),
            region_tasks::released_by.eq(Some(carol)),
            region_tasks::released_at.eq(Some(released)),
        ))
        .returning(region_tasks::id)
        .get_result(c)
        .unwrap();
    for (kind, started, finished) in [
        ("release", released - Duration::minutes(30), released),
        ("rollback", rolled_back - Duration::minutes(30), rolled_back),
    ] {
        diesel::insert_into(region_executions::table)
            .values((
                region_executions::task_id.eq(task),
                region_executions::kind.eq(kind),
                region_executions::start_position.eq(1),
                region_executions::started_by.eq(Some(carol)),
                region_executions::reason.eq(""),
                region_executions::status.eq("succeeded"),
                region_executions::started_at.eq(started),
                region_executions::finished_at.eq(Some(finished)),
            ))
            .execute(c)
            .unwrap();
    }
}

/// The history every test below reads, in workspace `delivery` (all times UTC):
/// - 3 days ago: package P1 releases a1 (submitted 2 h before) — released;
/// - 2 days ago: package P2 releases b1 (submitted 1 h before) and fails c1, because an import
///   put a newer version of c live first — partially failed; the same day a region task's
///   release run succeeds at 08:00 and is rolled back by 10:00 (a failed change restored in
///   2 h);
/// - 1 day ago: package P3 releases c's next version (submitted 3 h before) — released, which
///   restores P2's failure 24 h after it.
///
/// So: 4 successful deployments, 2 failed changes of 4 (50%), lead times 60, 120 and 180
/// minutes (median 2 h, 90th percentile 3 h), restore times 2 h and 24 h (median 2 h).
fn history(c: &mut DbConn) -> WorkspaceId {
    let ws = workspace(c, WS);
    let carol = user(c, "carol");
    let (_, a1) = script(c, ws, "etl/a.sql");
    let p1 = release(c, ws, &[a1], "p1");
    run_worker_steps(c, p1);
    backdate(c, p1, at(3, 12), &[(a1, at(3, 10))]);

    let (_, b1) = script(c, ws, "etl/b.sql");
    let (c_id, c1) = script(c, ws, "etl/c.sql");
    let p2 = release(c, ws, &[b1, c1], "p2");
    let hotfix = r#"{"format":"releasedesk.scripts/v1","scripts":[{"path":"etl/c.sql","type":"sql","schedule":"","content":"SELECT 2;\n","state":"released","message":"hotfix"}]}"#;
    releasedesk::db::models::bundle::import(c, carol, ws, hotfix, &[]).unwrap();
    run_worker_steps(c, p2);
    backdate(c, p2, at(2, 12), &[(b1, at(2, 11)), (c1, at(2, 11))]);

    scripts::save_draft(c, carol, ws, c_id, &draft("SELECT 3;\n")).unwrap();
    let c3 = scripts::submit_version(c, carol, ws, c_id, "v3")
        .unwrap()
        .task_id
        .unwrap();
    let p3 = release(c, ws, &[c3], "p3");
    run_worker_steps(c, p3);
    backdate(c, p3, at(1, 12), &[(c3, at(1, 9))]);

    rolled_back_region_task(c, ws, at(2, 8), at(2, 10));
    ws
}

fn text(page: &support::Resp, css: &str) -> String {
    page.texts(css).join(" ").trim().to_owned()
}

async fn the_page_shows_the_four_measures_of_the_history(app: TestApp) {
    let statuses = app
        .db(|c| {
            history(c);
            release_packages::table
                .filter(release_packages::name.eq_any(["p1", "p2", "p3"]))
                .order(release_packages::name)
                .select(release_packages::status)
                .load::<String>(c)
                .unwrap()
        })
        .await;
    assert_eq!(statuses, ["released", "partially_failed", "released"]);
    let carol = app.signed_in("carol").await;
    let page = carol
        .get(&format!("{}?period=7", paths::insights(WS)))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        text(&page, "#deployment-frequency .measure-value"),
        "4 per week"
    );
    assert_eq!(text(&page, "#change-failure-rate .measure-value"), "50%");
    assert_eq!(
        text(&page, "#change-failure-rate .measure-detail"),
        "2 failed changes of 4 finished deployments"
    );
    assert_eq!(text(&page, "#lead-time .measure-value"), "2.0 h median");
    assert_eq!(
        text(&page, "#lead-time .measure-detail"),
        "90th percentile 3.0 h · 3 tasks released"
    );
    assert_eq!(
        text(&page, "#time-to-restore .measure-value"),
        "2.0 h median"
    );
    assert_eq!(
        text(&page, "#time-to-restore .measure-detail"),
        "2 failures restored · 0 not yet"
    );
    assert!(!page.has("#insights-empty"));
    // One bar per day in the deployments chart (a zero is a hairline), each with its tooltip;
    // the lead-time chart has bars only on the days something went live.
    assert_eq!(
        page.texts("#deployment-frequency svg rect.chart-bar").len(),
        7
    );
    assert_eq!(page.texts("#lead-time svg rect.chart-bar").len(), 3);
    assert!(page.has("#deployment-frequency svg[role=img][aria-label]"));
    assert!(page.body.contains(r#"viewBox="0 0 560 200""#));
    let day2 = (today() - Duration::days(2))
        .format("%a %-d %b %Y")
        .to_string();
    let tooltips = page.texts("#deployment-frequency svg rect title");
    assert!(
        tooltips.contains(&format!("{day2}: 2 deployments")),
        "{tooltips:?}"
    );
    // The table under the charts: one row per day, oldest first.
    let rows = page.texts("#insights-table tbody tr th");
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[4], day2);
    let cells = page.texts("#insights-table tbody tr:nth-child(5) td");
    assert_eq!(cells, ["2", "2 of 2", "100%", "60 min", "2.0 h"]);

    // Weekly buckets over 90 days: the same totals.
    let weekly = carol
        .get(&format!("{}?period=90", paths::insights(WS)))
        .await;
    assert_eq!(weekly.status, 200);
    assert_eq!(text(&weekly, "#change-failure-rate .measure-value"), "50%");
    assert!(weekly.texts("#insights-table tbody tr").len() >= 13);
    // The last week runs past today, but the period said ends today.
    let subtitle = text(&weekly, ".subtitle");
    let today_label = format!("– {}, per week", today().format("%-d %b %Y"));
    assert!(subtitle.contains(&today_label), "{subtitle}");
    assert_eq!(
        weekly.value("#period option[selected]").as_deref(),
        Some("90")
    );
}

async fn the_csv_has_one_row_per_bucket_with_the_measures(app: TestApp) {
    app.db(|c| {
        history(c);
    })
    .await;
    let bob = app.signed_in("carol").await;
    let resp = bob
        .get(&format!("{}?period=7", paths::insights_csv(WS)))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.header("content-type").unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(resp.body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "bucket_start_utc");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 7);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let day = |d: i64| (today() - Duration::days(d)).format("%Y-%m-%d").to_string();
    let row = |d: i64| {
        rows.iter()
            .find(|r| r[0] == day(d))
            .unwrap_or_else(|| panic!("no row for {}", day(d)))
    };
    assert_eq!(&row(3)[col("deployments")], "1");
    assert_eq!(&row(3)[col("lead_time_median_minutes")], "120");
    assert_eq!(&row(2)[col("deployments")], "2");
    assert_eq!(&row(2)[col("failed_changes")], "2");
    assert_eq!(&row(2)[col("change_failure_rate_percent")], "100");
    assert_eq!(&row(2)[col("time_to_restore_median_minutes")], "120");
    assert_eq!(&row(2)[col("failures_restored")], "2");
    assert_eq!(&row(2)[col("failures_not_restored")], "0");
    assert_eq!(&row(1)[col("lead_time_median_minutes")], "180");
    assert_eq!(&row(0)[col("deployments")], "0");
    assert_eq!(&row(0)[col("change_failure_rate_percent")], "");

    let bad = bob
        .get(&format!("{}?period=14", paths::insights_csv(WS)))
        .await;
    assert_eq!(bad.status, 400);
}

async fn each_task_that_goes_live_is_counted_in_the_lead_time_rollup(app: TestApp) {
    let (written, recounted, other) = app
        .db(|c| {
            let ws = workspace(c, WS);
            let (_, a) = script(c, ws, "etl/a.sql");
            let (_, b) = script(c, ws, "etl/b.sql");
            let (_, c1) = script(c, ws, "etl/c.sql");
            // Submitted three hours ago (lead time 180 min) and 77 minutes ago (bin 75).
            for (task, minutes) in [(a, 180), (b, 77)] {
                diesel::update(release_tasks::table.find(task))
                    .set(release_tasks::submitted_at.eq(releasedesk::db::now()
                        - Duration::minutes(minutes)))
                    .execute(c)
                    .unwrap();
            }
            // C fails: an import put a newer version live first. It never went live through
            // the package, so it has no lead time.
            let p = release(c, ws, &[a, b, c1], "p");
            let carol = user(c, "carol");
            let hotfix = r#"{"format":"releasedesk.scripts/v1","scripts":[{"path":"etl/c.sql","type":"sql","schedule":"","content":"SELECT 2;\n","state":"released","message":"hotfix"}]}"#;
            releasedesk::db::models::bundle::import(c, carol, ws, hotfix, &[]).unwrap();
            run_worker_steps(c, p);
            // Another workspace's release is counted apart.
            let other = workspace(c, "other");
            let (_, o) = script(c, other, "etl/o.sql");
            let po = release(c, other, &[o], "po");
            run_worker_steps(c, po);
            let written = rollup(c, ws);
            // The migration that made the table backfilled it with the same counts: run its
            // INSERT again on an empty table.
            let backend = match c {
                DbConn::Sqlite(_) => "sqlite",
                DbConn::Postgres(_) => "postgres",
            };
            let up = std::fs::read_to_string(format!(
                "migrations/{backend}/2026-12-07-000022_lead_time_days/up.sql"
            ))
            .unwrap();
            let backfill = &up[up.find("INSERT INTO lead_time_days").unwrap()..];
            let backfill = &backfill[..backfill.find(';').unwrap()];
            diesel::sql_query("DELETE FROM lead_time_days").execute(c).unwrap();
            diesel::sql_query(backfill).execute(c).unwrap();
            assert_eq!(rollup(c, ws), written, "the migration's backfill");
            insights::recount_lead_times(c, ws).unwrap();
            (written, rollup(c, ws), rollup(c, other))
        })
        .await;
    let today = releasedesk::db::now()
        .and_utc()
        .timestamp()
        .div_euclid(86_400);
    // Bins: to the minute under an hour, five minutes under a day (77 → 75).
    let mut minutes: Vec<i64> = written.iter().map(|r| r.minutes).collect();
    minutes.sort();
    assert_eq!(minutes, [75, 180], "{written:?}");
    assert!(written.iter().all(|r| r.day == today || r.day == today - 1));
    assert_eq!(written.iter().map(|r| r.tasks).sum::<i64>(), 2);
    assert_eq!(written, recounted, "release by release = the recount");
    assert_eq!(other.iter().map(|r| r.tasks).sum::<i64>(), 1);

    let carol = app.signed_in("carol").await;
    let page = carol
        .get(&format!("{}?period=7", paths::insights(WS)))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        text(&page, "#lead-time .measure-detail").ends_with("· 2 tasks released"),
        "{}",
        text(&page, "#lead-time .measure-detail")
    );
}

async fn a_failure_not_yet_restored_is_counted_apart(app: TestApp) {
    // P2's failed script is never released again: its failure stays open.
    app.db(|c| {
        let ws = workspace(c, WS);
        let carol = user(c, "carol");
        let (_, c1) = script(c, ws, "etl/c.sql");
        let p = release(c, ws, &[c1], "p");
        let hotfix = r#"{"format":"releasedesk.scripts/v1","scripts":[{"path":"etl/c.sql","type":"sql","schedule":"","content":"SELECT 2;\n","state":"released","message":"hotfix"}]}"#;
        releasedesk::db::models::bundle::import(c, carol, ws, hotfix, &[]).unwrap();
        run_worker_steps(c, p);
        backdate(c, p, at(1, 12), &[(c1, at(1, 11))]);
    })
    .await;
    let carol = app.signed_in("carol").await;
    let page = carol.get(&paths::insights(WS)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        text(&page, "#deployment-frequency .measure-detail"),
        "0 successful deployments in the period"
    );
    assert_eq!(text(&page, "#change-failure-rate .measure-value"), "100%");
    assert_eq!(text(&page, "#time-to-restore .measure-value"), "—");
    assert_eq!(
        text(&page, "#time-to-restore .measure-detail"),
        "0 failures restored · 1 not yet"
    );
}

async fn an_empty_workspace_says_so_and_a_bad_period_is_explained(app: TestApp) {
    app.db(|c| {
        workspace(c, WS);
    })
    .await;
    let carol = app.signed_in("carol").await;
    let page = carol.get(&paths::insights(WS)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("#insights-empty"));
    assert_eq!(text(&page, "#lead-time .measure-value"), "—");
    assert_eq!(text(&page, "#change-failure-rate .measure-value"), "—");
    assert_eq!(
        page.value("#period option[selected]").as_deref(),
        Some("30")
    );
    assert_eq!(page.texts("#insights-table tbody tr").len(), 30);
    // The navigation offers the page, marked as the current one.
    assert_eq!(
        page.texts(".subnav a[aria-current=page]"),
        vec!["Insights".to_owned()]
    );

    for bad in ["14", "abc", "-7", "99999999999999999999"] {
        let resp = carol
            .get(&format!("{}?period={bad}", paths::insights(WS)))
            .await;
        assert_eq!(resp.status, 400, "{bad}");
        assert!(
            text(&resp, "#period-error").contains("7, 30, 90 or 365 days"),
            "{bad}: {}",
            resp.body
        );
        assert!(!resp.has(".measure"));
    }
}

async fn only_members_see_the_insights(app: TestApp) {
    app.db(|c| {
        history(c);
    })
    .await;
    // Alice is not a member of `delivery` (only of the demo workspaces).
    let alice = app.signed_in("alice").await;
    assert_eq!(alice.get(&paths::insights(WS)).await.status, 404);
    assert_eq!(alice.get(&paths::insights_csv(WS)).await.status, 404);
    // In her own workspace she sees the page and the link to it.
    let own = alice.get(&paths::insights("demo")).await;
    assert_eq!(own.status, 200);
    assert!(own.has(".subnav a[href=\"/workspaces/demo/insights\"]"));
    // A tenant admin sees every workspace's.
    let tara = app.signed_in("tara").await;
    assert_eq!(tara.get(&paths::insights(WS)).await.status, 200);
}

/// The page hands out what it read for `--insights-cache-seconds`, saying as of when, then
/// reads again.
async fn figures_are_kept_a_few_seconds_then_read_again(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.run_worker = false;
        s.insights_cache_seconds = 4;
    })
    .await
    else {
        assert!(matches!(backend, Backend::Postgres), "SQLite always runs");
        return;
    };
    let app = app.with_demo().await;
    let ws = app.db(|c| workspace(c, WS)).await;
    let carol = app.signed_in("carol").await;
    let url = format!("{}?period=7", paths::insights(WS));
    let first = carol.get(&url).await;
    assert!(first.has("#insights-empty"));
    let read_at = text(&first, "#insights-read-at");
    assert!(read_at.ends_with(" UTC"), "{read_at}");
    app.db(move |c| {
        let (_, a) = script(c, ws, "etl/a.sql");
        let p = release(c, ws, &[a], "p");
        run_worker_steps(c, p);
    })
    .await;
    let kept = carol.get(&url).await;
    assert!(kept.has("#insights-empty"), "the figures read a moment ago");
    assert_eq!(text(&kept, "#insights-read-at"), read_at);
    tokio::time::sleep(std::time::Duration::from_millis(4_200)).await;
    let fresh = carol.get(&url).await;
    assert!(!fresh.has("#insights-empty"), "read again");
    assert_eq!(
        text(&fresh, "#deployment-frequency .measure-detail"),
        "1 successful deployment in the period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_figures_are_kept_a_few_seconds_then_read_again() {
    figures_are_kept_a_few_seconds_then_read_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_figures_are_kept_a_few_seconds_then_read_again() {
    figures_are_kept_a_few_seconds_then_read_again(Backend::Postgres).await;
}

/// `serve --demo`'s twelve weeks of history, moved back day by day, count their lead times on
/// the days they went live: the last 30 days' tasks, not all of them.
async fn the_demo_history_counts_lead_times_on_the_days_it_went_live(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        assert!(matches!(backend, Backend::Postgres), "SQLite always runs");
        return;
    };
    let (in_period, all) = app
        .db(|c| {
            let hasher = releasedesk::password::Hasher::new(256);
            releasedesk::demo::seed_and_print(c, &hasher, Some("demo-password-1".into())).unwrap();
            use releasedesk::db::schema::workspaces;
            let ws: i64 = workspaces::table
                .filter(workspaces::slug.eq("demo"))
                .select(workspaces::id)
                .first(c)
                .unwrap();
            let live = package_tasks::table
                .inner_join(release_packages::table)
                .filter(release_packages::workspace_id.eq(ws))
                .filter(package_tasks::release_status.eq("released"));
            let in_period: i64 = live
                .filter(package_tasks::finished_at.ge(at(29, 0)))
                .count()
                .get_result(c)
                .unwrap();
            (in_period, live.count().get_result::<i64>(c).unwrap())
        })
        .await;
    assert!(in_period < all, "{in_period} of {all}");
    let carol = app.signed_in("carol").await;
    let page = carol.get(&paths::insights("demo")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let detail = text(&page, "#lead-time .measure-detail");
    assert!(
        detail.ends_with(&format!("· {in_period} tasks released")),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_demo_history_counts_lead_times_on_the_days_it_went_live() {
    the_demo_history_counts_lead_times_on_the_days_it_went_live(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_demo_history_counts_lead_times_on_the_days_it_went_live() {
    the_demo_history_counts_lead_times_on_the_days_it_went_live(Backend::Postgres).await;
}

macro_rules! on_both_backends_without_worker {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::app(super::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::app(super::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

on_both_backends_without_worker!(
    the_page_shows_the_four_measures_of_the_history,
    each_task_that_goes_live_is_counted_in_the_lead_time_rollup,
    the_csv_has_one_row_per_bucket_with_the_measures,
    a_failure_not_yet_restored_is_counted_apart,
    an_empty_workspace_says_so_and_a_bad_period_is_explained,
    only_members_see_the_insights,
);
