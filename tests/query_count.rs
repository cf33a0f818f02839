//! No N+1: the statements a page runs do not grow with its rows. Each list page and the package
//! details are loaded at about 10 and at 100 rows, counting the statements of the app's pool
//! (diesel's instrumentation, `db::QueryCounter`), on both backends. The same data shows that
//! list counts stop at their cap (`db::count`) and that paging still reaches the last row.

mod support;

use releasedesk::bench_seed::{self, BenchSpec};
use releasedesk::password::Hasher;
use support::{Backend, Client, PASSWORD, TestApp};

async fn seeded(backend: Backend, tasks: usize, packages: usize) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |s| s.run_worker = false).await?;
    app.db(move |conn| {
        bench_seed::seed(
            conn,
            &BenchSpec {
                workspace: "bench".into(),
                tasks,
                packages,
                audit: 200,
                password_hash: Hasher::new(256).hash(PASSWORD).unwrap(),
            },
        )
        .expect("seed")
    })
    .await;
    Some(app)
}

/// (statements, rows) of one GET, after a first GET that warms up whatever is per-session.
async fn measure(app: &TestApp, client: &Client, path: &str, rows: &str) -> (u64, usize) {
    let warm = client.get(path).await;
    assert_eq!(warm.status, 200, "{path}: {}", warm.body);
    let before = app.queries.get();
    let resp = client.get(path).await;
    let statements = app.queries.get() - before;
    let selector = scraper::Selector::parse(rows).unwrap();
    (statements, resp.html().select(&selector).count())
}

async fn query_count_does_not_grow_with_rows(backend: Backend) {
    let Some(small) = seeded(backend, 10, 1).await else {
        return;
    };
    let large = seeded(backend, 3000, 100).await.expect("large");
    let (admin_small, admin_large) = (
        small.signed_in("bench-admin").await,
        large.signed_in("bench-admin").await,
    );
    let ws = "/workspaces/bench";
    // (page, rows selector, small path on the small app, large path on the large app); when the
    // two paths are on the same app, per_page makes the difference.
    let cases: Vec<(&str, &str, bool, String, String)> = vec![
        (
            "Tasks tab",
            "#tasks tbody tr",
            false,
            format!("{ws}/task-release/tasks?per_page=10"),
            format!("{ws}/task-release/tasks?per_page=100"),
        ),
        (
            "Tasks tab, searched and filtered",
            "#tasks tbody tr",
            false,
            format!("{ws}/task-release/tasks?q=sql&status=pending&per_page=10"),
            format!("{ws}/task-release/tasks?q=sql&status=pending&per_page=100"),
        ),
        (
            "Packages tab",
            "#packages tbody tr",
            false,
            format!("{ws}/task-release/packages?per_page=10"),
            format!("{ws}/task-release/packages?per_page=100"),
        ),
        (
            "Package details",
            "#package-tasks tbody tr",
            true,
            format!("{ws}/task-release/packages/1"),
            format!("{ws}/task-release/packages/1"),
        ),
        (
            "Production",
            "#production tbody tr",
            true,
            format!("{ws}/production"),
            format!("{ws}/production"),
        ),
        (
            "Scripts",
            "#scripts tbody tr",
            true,
            format!("{ws}/scripts"),
            format!("{ws}/scripts"),
        ),
        (
            "Region Release",
            "#region-tasks tbody tr",
            false,
            // The oldest ten hold every kind of reason the thirty do (suspended, release
            // failed): `stopped` asks once for each kind a page shows.
            format!("{ws}/region-release/tasks?per_page=10&page=3"),
            format!("{ws}/region-release/tasks?per_page=100"),
        ),
        // Tasks 3 and 1 are both released (the first deploys everything): the same reasons
        // to read, so the same statements.
        (
            "Region release task, Release Info",
            "#release-info tbody tr",
            false,
            format!("{ws}/region-release/tasks/3?tab=info"),
            format!("{ws}/region-release/tasks/1?tab=info"),
        ),
        (
            "Region release task, process",
            ".step-card",
            false,
            format!("{ws}/region-release/tasks/3?tab=process"),
            format!("{ws}/region-release/tasks/1?tab=process"),
        ),
        (
            "Region release task, history",
            "table.data tbody tr",
            false,
            format!("{ws}/region-release/tasks/3?tab=history"),
            format!("{ws}/region-release/tasks/1?tab=history"),
        ),
        (
            "Audit log",
            "table.data tbody tr",
            false,
            format!("{ws}/audit?per_page=10"),
            format!("{ws}/audit?per_page=100"),
        ),
    ];
    let mut report = Vec::new();
    for (page, rows, across_apps, small_path, large_path) in &cases {
        let (s_app, s_client) = if *across_apps {
            (&small, &admin_small)
        } else {
            (&large, &admin_large)
        };
        let (s_queries, s_rows) = measure(s_app, s_client, small_path, rows).await;
        let (l_queries, l_rows) = measure(&large, &admin_large, large_path, rows).await;
        report.push(format!(
            "{page}: {s_queries} statements for {s_rows} rows, {l_queries} for {l_rows}"
        ));
        assert!(
            l_rows > s_rows,
            "{page}: the larger page must have more rows ({s_rows} vs {l_rows})"
        );
        assert_eq!(s_queries, l_queries, "{page}\n{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
}

/// 3,000 tasks: the count stops at 1,000 on the first pages, is exact once the page asked for
/// lies past the cap, and the pager reaches the last task.
async fn counts_stop_at_the_cap_and_paging_reaches_the_end(backend: Backend) {
    let Some(app) = seeded(backend, 3000, 100).await else {
        return;
    };
    let admin = app.signed_in("bench-admin").await;
    let tasks = "/workspaces/bench/task-release/tasks";
    let first = admin.get(tasks).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.texts("#task-total")[0], "more than 1,000 tasks");
    let pager = first.texts(".pagination .current");
    assert_eq!(pager, vec!["Page 1 of 50+".to_owned()]);
    assert!(first.has(".pagination a[href*='page=2']"), "{}", first.body);

    // Page 60 of 20 (rows 1,181 to 1,200): counted as far as the next page, still capped.
    let deep = admin.get(&format!("{tasks}?page=60")).await;
    assert_eq!(deep.texts("#task-total")[0], "more than 1,200 tasks");
    assert!(deep.has(".pagination a[href*='page=61']"), "{}", deep.body);
    assert_eq!(deep.texts("#tasks tbody tr").len(), 20);

    // The last page: every row counted, exact, no next page.
    let last = admin.get(&format!("{tasks}?page=150")).await;
    assert_eq!(last.texts("#task-total")[0], "3,000 tasks");
    assert_eq!(
        last.texts(".pagination .current"),
        vec!["Page 150 of 150".to_owned()]
    );
    assert!(
        !last.has(".pagination a[href*='page=151']"),
        "{}",
        last.body
    );
    assert_eq!(last.texts("#tasks tbody tr").len(), 20);
    assert!(!last.has("#tasks .past-end"));

    // Past the last page (an old link): the list says so and links to the last page, on the
    // Tasks, Packages and Region Release lists alike.
    let (packages, region_tasks): (i64, i64) = app
        .db(|c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::{region_tasks, release_packages};
            (
                release_packages::table.count().get_result(c).unwrap(),
                region_tasks::table.count().get_result(c).unwrap(),
            )
        })
        .await;
    let pages = |rows: i64| ((rows + 19) / 20).max(1);
    let (package_pages, region_pages) = (pages(packages), pages(region_tasks));
    for (path, last_page) in [
        (
            format!(
                "/workspaces/bench/region-release/tasks?page={}",
                region_pages + 3
            ),
            region_pages,
        ),
        (format!("{tasks}?page=151"), 150),
        (format!("{tasks}?q=sql&page=400"), 150),
        (
            format!(
                "/workspaces/bench/task-release/packages?page={}",
                package_pages + 1
            ),
            package_pages,
        ),
    ] {
        let asked = path.rsplit('=').next().unwrap();
        let past = admin.get(&path).await;
        assert_eq!(past.status, 200, "{path}");
        assert_eq!(
            past.texts(".past-end"),
            vec![format!(
                "Page {asked} is past the end of this list. Go to page {last_page}."
            )],
            "{path}"
        );
        assert!(
            past.has(&format!(".past-end a[href*='page={last_page}']")),
            "{}",
            past.body
        );
        assert!(!past.body.contains("matches these filters"), "{path}");
        // The pager does not say "Page 151 of 150", and "Previous" leads to the last page.
        assert_eq!(
            past.texts(".pagination .current"),
            vec![format!("Page {asked} · the last is {last_page}")],
            "{path}"
        );
        assert!(
            past.has(&format!(".pagination a[href$='page={last_page}']")),
            "{}",
            past.body
        );
    }

    // A one-word search that matches every task (each name ends in `.sql`): too many ids to
    // read out of the index, so it is counted through the window, capped, newest first.
    let broad = admin.get(&format!("{tasks}?q=sql")).await;
    assert_eq!(
        broad.texts("#task-total")[0],
        "more than 1,000 tasks matching “sql”"
    );
    let newest: Vec<String> = admin.get(tasks).await.texts("#tasks tbody tr");
    assert_eq!(
        broad.texts("#tasks tbody tr"),
        newest,
        "every name contains the word"
    );
    let broad_last = admin.get(&format!("{tasks}?q=sql&page=150")).await;
    assert_eq!(
        broad_last.texts("#task-total")[0],
        "3,000 tasks matching “sql”"
    );

    // A specific fragment: its ids are read out of the index once; the count is exact and
    // the page holds exactly the names containing it.
    let names: Vec<String> = app
        .db(|c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::release_tasks;
            release_tasks::table
                .select(release_tasks::name)
                .load::<String>(c)
                .unwrap()
        })
        .await;
    let fragment = "_0001";
    let expected = names.iter().filter(|n| n.contains(fragment)).count();
    assert!(
        (2..=1000).contains(&expected),
        "{expected} names contain {fragment}"
    );
    let found = admin.get(&format!("{tasks}?q={fragment}")).await;
    assert_eq!(
        found.texts("#task-total")[0],
        format!("{expected} tasks matching “{fragment}”")
    );
    let shown = found.texts("#tasks tbody tr");
    assert_eq!(shown.len(), expected.min(20));
    assert!(shown.iter().all(|row| row.contains(fragment)), "{shown:?}");

    // A filter under the cap is counted exactly.
    let filtered = admin
        .get(&format!("{tasks}?submitter=dev007&status=pending"))
        .await;
    let label = &filtered.texts("#task-total")[0];
    assert!(
        !label.starts_with("more than") && label.ends_with("tasks") || label == "1 task",
        "{label}"
    );
}

async fn reviews_query_count_does_not_grow_with_rows(backend: Backend) {
    let Some(app) = seeded(backend, 3000, 100).await else {
        return;
    };
    let mut seen = Vec::new();
    for user in ["bench-admin", "rev1", "rev2", "rev3"] {
        let client = app.signed_in(user).await;
        seen.push(measure(&app, &client, "/reviews", "#review-requests tbody tr").await);
        // The page's own lists are the navigation's count (read once, not twice).
        let page = client.get("/reviews").await;
        let listed =
            page.texts("#review-requests tbody tr").len() + page.texts("#checkpoints li").len();
        let badge = page.texts("nav a[href='/reviews'] .count");
        let expected: Vec<String> = match listed {
            0 => vec![],
            n => vec![n.to_string()],
        };
        assert_eq!(badge, expected, "{user}");
    }
    eprintln!("Reviews (statements, rows) per user: {seen:?}");
    assert!(seen.iter().any(|(_, rows)| *rows > 1), "{seen:?}");
    assert!(seen.iter().all(|(q, _)| *q == seen[0].0), "{seen:?}");
}

/// A filter change fetches the rows with htmx: the Tasks and Packages tabs then read neither
/// the navigation (3 statements, and on PostgreSQL the plan-mode switch around them) nor the
/// pickers (1), and answer the same rows as the full page without its header.
async fn an_htmx_list_request_reads_only_its_rows(backend: Backend) {
    let Some(app) = seeded(backend, 30, 2).await else {
        return;
    };
    let admin = app.signed_in("bench-admin").await;
    let ws = "/workspaces/bench";
    for (path, rows) in [
        (
            format!("{ws}/task-release/tasks?per_page=20"),
            "#tasks tbody tr",
        ),
        (format!("{ws}/task-release/packages"), "#packages tbody tr"),
    ] {
        let (full, full_rows) = measure(&app, &admin, &path, rows).await;
        let before = app.queries.get();
        let part = admin.get_htmx(&path).await;
        let statements = app.queries.get() - before;
        assert_eq!(part.status, 200, "{path}: {}", part.body);
        let selector = scraper::Selector::parse(rows).unwrap();
        assert_eq!(part.html().select(&selector).count(), full_rows, "{path}");
        assert!(full_rows > 0, "{path}: the seeded rows are listed");
        assert!(
            !part.has("header"),
            "{path}: the fragment has no page header"
        );
        assert!(
            statements + 4 <= full,
            "{path}: the htmx request ran {statements} statements, the full page {full}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_run_a_constant_number_of_statements_on_sqlite() {
    query_count_does_not_grow_with_rows(Backend::Sqlite).await;
    reviews_query_count_does_not_grow_with_rows(Backend::Sqlite).await;
    counts_stop_at_the_cap_and_paging_reaches_the_end(Backend::Sqlite).await;
    an_htmx_list_request_reads_only_its_rows(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_run_a_constant_number_of_statements_on_postgres() {
    query_count_does_not_grow_with_rows(Backend::Postgres).await;
    reviews_query_count_does_not_grow_with_rows(Backend::Postgres).await;
    counts_stop_at_the_cap_and_paging_reaches_the_end(Backend::Postgres).await;
    an_htmx_list_request_reads_only_its_rows(Backend::Postgres).await;
}

/// The pool's checkout test on PostgreSQL (`db::ConnWatch`): a connection that has just
/// answered is handed out without a ping; a new one and one whose last statement failed are
/// pinged; and one whose backend died
/// inside the window fails that one statement and is then dropped, not handed out again.
/// SQLite connections are never pinged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_just_answered_is_handed_out_without_a_ping() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use releasedesk::db::{self, DbConn, QueryCounter};
    use std::time::Duration;

    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    fn pid(conn: &mut DbConn) -> QueryResult<i32> {
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(conn)
            .map(|p| p.pid)
    }

    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let url = app.database_url.clone();
    tokio::task::spawn_blocking(move || {
        let queries = QueryCounter::default();
        // An hour's window: whether a ping happens must not depend on how fast this runs.
        let pool =
            db::connect_watched(&url, 1, queries.clone(), Duration::from_secs(3600)).unwrap();
        let pings = |checkout: &dyn Fn() -> db::PooledConn| {
            let before = queries.pings();
            let conn = checkout();
            (queries.pings() - before, conn)
        };
        let get = || pool.get().expect("checkout");

        // A connection that never answered is pinged.
        let (n, mut conn) = pings(&get);
        assert_eq!(n, 1, "a new connection is pinged");
        let first = pid(&mut conn).unwrap();
        drop(conn);

        // It just answered: no ping.
        let (n, mut conn) = pings(&get);
        assert_eq!(n, 0, "a connection that just answered is not pinged");
        assert!(conn.batch_execute("SELECT no_such_column").is_err());
        drop(conn);

        // Its last statement failed: pinged.
        let (n, mut conn) = pings(&get);
        assert_eq!(n, 1, "a connection whose last statement failed is pinged");
        assert_eq!(pid(&mut conn).unwrap(), first, "still the same connection");
        drop(conn);

        // Its backend dies inside the window: the one statement that finds out fails, and the
        // connection is dropped at checkin; the next checkout opens a new one.
        let mut admin = PgConnection::establish(&url).unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({first})"))
            .execute(&mut admin)
            .unwrap();
        // The backend exits asynchronously; wait until it has.
        for _ in 0..100 {
            let alive: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = {first}"
            ))
            .get_result(&mut admin)
            .unwrap();
            if alive == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let (n, mut conn) = pings(&get);
        assert_eq!(n, 0, "it answered inside the window");
        assert!(
            pid(&mut conn).is_err(),
            "the dead backend's statement fails"
        );
        drop(conn);
        let mut conn = get();
        let second = pid(&mut conn).expect("a new connection answers");
        assert_ne!(second, first);
    })
    .await
    .unwrap();
    drop(app);
}
