//! Fuzzy search: the same names give the same results, in the same order, on SQLite (FTS5
//! trigram) and PostgreSQL (pg_trgm), for every kind of query: words, fragments, typos, short
//! words, LIKE metacharacters, with filters and paging.

mod support;

use releasedesk::bench_seed::{self, BenchSpec};
use releasedesk::db::models::releases::{self, PackageFilter, TaskFilter, TaskSort};
use releasedesk::domain::TaskStatus;
use releasedesk::search::NameSearch;
use support::{Backend, TestApp};

const QUERIES: [&str; 14] = [
    "daily orders",
    "orders_0001",
    "DAILY_ORDERS_00012",
    "sales weekly",
    "daily ordrs",
    "finance/",
    "etl/daily_orders_000000.sql",
    "nothing-like-this",
    "ab",
    "_0",
    "100%",
    "release-0000",
    "churn 9",
    "rlease",
];

type Page = (Vec<(i64, String)>, i64);

async fn seeded(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |s| s.run_worker = false).await?;
    app.db(|conn| {
        bench_seed::seed(
            conn,
            &BenchSpec {
                workspace: "bench".into(),
                tasks: 3000,
                packages: 60,
                audit: 10,
                password_hash: "x".into(),
            },
        )
        .expect("seed")
    })
    .await;
    Some(app)
}

async fn results(app: &TestApp) -> Vec<(String, Page)> {
    app.db(|conn| {
        let mut out = Vec::new();
        for q in QUERIES {
            for (status, sort, offset) in [
                (None, TaskSort::SubmittedAt, 0),
                (None, TaskSort::SubmittedAt, 20),
                (Some(TaskStatus::Pending), TaskSort::SubmittedAt, 0),
                (None, TaskSort::Name, 0),
            ] {
                let filter = TaskFilter {
                    search: NameSearch::parse(q),
                    submitter: None,
                    status,
                    sort,
                    descending: true,
                };
                let (rows, total) = releases::list_tasks(conn, 1, &filter, 20, offset).unwrap();
                out.push((
                    format!("tasks {q} {status:?} {sort:?} {offset}"),
                    (rows.into_iter().map(|t| (t.id, t.name)).collect(), total),
                ));
            }
            let filter = PackageFilter {
                search: NameSearch::parse(q),
                ..Default::default()
            };
            let (rows, total) = releases::list_packages(conn, 1, &filter, 20, 0).unwrap();
            out.push((
                format!("packages {q}"),
                (rows.into_iter().map(|p| (p.id, p.name)).collect(), total),
            ));
        }
        out
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_names_give_the_same_results_on_both_backends() {
    let sqlite = seeded(Backend::Sqlite).await.expect("sqlite");
    let sqlite_results = results(&sqlite).await;

    // The ranking holds on its own: exact > prefix > substring > words, typos found.
    let find = |key: &str| {
        &sqlite_results
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("{key}"))
            .1
    };
    let exact = find("tasks etl/daily_orders_000000.sql None SubmittedAt 0");
    assert!(!exact.0.is_empty());
    assert!(
        exact
            .0
            .iter()
            .all(|(_, n)| n == "etl/daily_orders_000000.sql")
    );
    let broad = find("tasks daily orders None SubmittedAt 0");
    assert_eq!(broad.1, 300, "a tenth of the tasks");
    let fragment = find("tasks orders_0001 None SubmittedAt 0");
    assert!(fragment.0.iter().all(|(_, n)| n.contains("orders_0001")));
    assert!(fragment.1 > 0);
    let typo = find("tasks daily ordrs None SubmittedAt 0");
    assert!(typo.1 > 0, "the typo step finds daily_orders");
    assert!(typo.0[0].1.contains("daily_orders"), "{typo:?}");
    assert_eq!(find("tasks nothing-like-this None SubmittedAt 0").1, 0);
    // `%` is no wildcard: no name contains "100%", and the typo step needs the word "100".
    let percent = find("tasks 100% None SubmittedAt 0");
    assert!(
        percent.0.iter().all(|(_, n)| n.contains("100")),
        "{percent:?}"
    );
    let underscore = find("tasks _0 None SubmittedAt 0");
    assert!(underscore.0.iter().all(|(_, n)| n.contains("_0")));
    assert!(find("packages release-0000").1 > 0);
    assert!(find("packages rlease").1 > 0, "typo in a package name");

    let Some(pg) = seeded(Backend::Postgres).await else {
        return;
    };
    let pg_results = results(&pg).await;
    assert_eq!(sqlite_results.len(), pg_results.len());
    for ((key, a), (_, b)) in sqlite_results.iter().zip(&pg_results) {
        assert_eq!(a, b, "{key}");
    }
}
