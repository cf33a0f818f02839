//! Fuzzy search: the same names give the same results, in the same order, on SQLite (FTS5
//! trigram) and PostgreSQL (pg_trgm), for every kind of query: words, fragments, typos, short
//! words, LIKE metacharacters, with filters and paging.

mod support;

use releasedesk::bench_seed::{self, BenchSpec};
use releasedesk::db::count::count_limit;
use releasedesk::db::models::releases::{self, PackageFilter, TaskFilter, TaskSort};
use releasedesk::domain::TaskStatus;
use releasedesk::search::NameSearch;
use support::{Backend, TestApp};

const QUERIES: [&str; 15] = [
    "daily orders",
    // In every name: on PostgreSQL counted among the newest ids first (`rare::newest_window`),
    // where the pending ones are too few and the count goes to the index after all.
    "sql",
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
                    before: None,
                };
                let (rows, total) = releases::list_tasks(
                    conn,
                    releasedesk::domain::WorkspaceId(1),
                    &filter,
                    20,
                    offset,
                )
                .unwrap();
                out.push((
                    format!("tasks {q} {status:?} {sort:?} {offset}"),
                    (
                        rows.into_iter().map(|t| (t.id.get(), t.name)).collect(),
                        total,
                    ),
                ));
            }
            let filter = PackageFilter {
                search: NameSearch::parse(q),
                ..Default::default()
            };
            let (rows, total) =
                releases::list_packages(conn, releasedesk::domain::WorkspaceId(1), &filter, 20, 0)
                    .unwrap();
            out.push((
                format!("packages {q}"),
                (
                    rows.into_iter().map(|p| (p.id.get(), p.name)).collect(),
                    total,
                ),
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
    let everywhere = find("tasks sql None SubmittedAt 0");
    assert_eq!(everywhere.1, 1001, "more than the cap");
    let pending = find("tasks sql Some(Pending) SubmittedAt 0");
    assert!((1..1001).contains(&pending.1), "{}", pending.1);
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

/// The relevance order, computed here from every task of the workspace: names containing the
/// whole query first (equal, then starting with it, then containing it), then names containing
/// every word, newest first within a tier.
fn expected_order(all: &[(i64, String, String)], query: &str, status: Option<&str>) -> Vec<i64> {
    let q = query.to_lowercase();
    let words: Vec<&str> = q.split_whitespace().collect();
    let mut hits: Vec<(u8, i64)> = all
        .iter()
        .filter(|(_, _, s)| status.is_none_or(|want| s == want))
        .filter_map(|(id, name, _)| {
            let n = name.to_lowercase();
            if !words.iter().all(|w| n.contains(w)) {
                return None;
            }
            let tier = if n == q {
                0
            } else if n.starts_with(&q) {
                1
            } else if n.contains(&q) {
                2
            } else {
                3
            };
            Some((tier, -id))
        })
        .collect();
    hits.sort();
    hits.into_iter().map(|(_, id)| -id).collect()
}

/// A broad query pages through its matches in the relevance order however the page falls (the
/// Tasks tab, then the Packages tab):
/// across the end of the whole-query tiers, deep into the word tier, and with a filter that
/// none of the newest matches pass (so the newest-first window must grow).
async fn broad_search_pages_in_relevance_order(backend: Backend) {
    let Some(app) = seeded(backend).await else {
        return;
    };
    let checked = app
        .db(|conn| {
            use diesel::prelude::*;
            use releasedesk::db::schema::release_tasks;
            // Old tasks whose names hold the whole query: one equal to it, one starting with it,
            // two containing it (the index triggers keep the search tables in step).
            for (id, name) in [
                (5, "Daily Orders"),
                (40, "daily orders/backfill.sql"),
                (700, "etl/the daily orders.sql"),
                (1200, "etl/late DAILY ORDERS.sql"),
                // For one broad word (`sql`, in every name): equal, then starting with it.
                (9, "SQL"),
                (60, "sql/backfill.sql"),
                (2500, "Sql_nightly.sql"),
            ] {
                diesel::update(release_tasks::table.find(id))
                    .set(release_tasks::name.eq(name))
                    .execute(conn)
                    .unwrap();
            }
            let all: Vec<(i64, String, String)> = release_tasks::table
                .filter(release_tasks::workspace_id.eq(1))
                .select((
                    release_tasks::id,
                    release_tasks::name,
                    release_tasks::status,
                ))
                .load(conn)
                .unwrap();
            let mut checked = 0;
            // Several words: the names containing the whole query first, then the word tier
            // newest first. One word in most names (`sql`, `_0`): the names starting with it
            // (through the prefix index) first, then the rest newest first; a short word is
            // scanned for. The count stops at its cap unless the page lies further on.
            for (status, filter_status) in [
                (None, None),
                (Some("released"), Some(TaskStatus::Released)),
                (Some("pending"), Some(TaskStatus::Pending)),
            ] {
                for query in [
                    "daily orders",
                    "orders daily",
                    "sales weekly",
                    "sql",
                    "SQL",
                    "_0",
                    "0.sql",
                ] {
                    let want = expected_order(&all, query, status);
                    assert!(want.len() > 40, "{query} {status:?}: {}", want.len());
                    let filter = TaskFilter {
                        search: NameSearch::parse(query),
                        submitter: None,
                        status: filter_status,
                        sort: TaskSort::SubmittedAt,
                        descending: true,
                        before: None,
                    };
                    let last = (want.len() as i64 - 1) / 20 * 20;
                    let mut offsets = vec![0, 20, 1000.min(last), last - 20, last];
                    offsets.dedup();
                    for offset in offsets {
                        let (rows, total) = releases::list_tasks(
                            conn,
                            releasedesk::domain::WorkspaceId(1),
                            &filter,
                            20,
                            offset,
                        )
                        .unwrap();
                        let got: Vec<i64> = rows.iter().map(|t| t.id.get()).collect();
                        let end = (offset as usize + 20).min(want.len());
                        assert_eq!(
                            got,
                            want[offset as usize..end],
                            "{query} {status:?} offset {offset}"
                        );
                        let counted = want.len().min(count_limit(20, offset) as usize);
                        assert_eq!(total, counted as i64, "{query} {status:?} offset {offset}");
                        checked += 1;
                    }
                }
            }
            // Packages rank the same way (60 of them: pages of 2 to cross the tiers).
            use releasedesk::db::schema::release_packages;
            let fourth: i64 = release_packages::table
                .filter(release_packages::workspace_id.eq(1))
                .select(release_packages::id)
                .order(release_packages::id)
                .offset(3)
                .first(conn)
                .unwrap();
            diesel::update(release_packages::table.find(fourth))
                .set(release_packages::name.eq("Release Orders"))
                .execute(conn)
                .unwrap();
            let packages: Vec<(i64, String, String)> = release_packages::table
                .filter(release_packages::workspace_id.eq(1))
                .select((
                    release_packages::id,
                    release_packages::name,
                    release_packages::status,
                ))
                .load(conn)
                .unwrap();
            for query in ["release orders", "orders release"] {
                let want = expected_order(&packages, query, None);
                assert!(want.len() > 4, "{query}: {}", want.len());
                let filter = PackageFilter {
                    search: NameSearch::parse(query),
                    ..Default::default()
                };
                for offset in (0..want.len() as i64).step_by(2) {
                    let (rows, total) = releases::list_packages(
                        conn,
                        releasedesk::domain::WorkspaceId(1),
                        &filter,
                        2,
                        offset,
                    )
                    .unwrap();
                    let got: Vec<i64> = rows.iter().map(|p| p.id.get()).collect();
                    let end = (offset as usize + 2).min(want.len());
                    assert_eq!(
                        got,
                        want[offset as usize..end],
                        "packages {query} offset {offset}"
                    );
                    assert_eq!(total, want.len() as i64, "packages {query}");
                    checked += 1;
                }
            }
            checked
        })
        .await;
    assert!(checked > 36, "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broad_search_pages_in_relevance_order_on_sqlite() {
    broad_search_pages_in_relevance_order(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broad_search_pages_in_relevance_order_on_postgres() {
    broad_search_pages_in_relevance_order(Backend::Postgres).await;
}

/// SQLite looks a fragment up through its rarest trigrams (`search::rare`) and tests the names
/// it finds: that gives exactly the names containing it, newest first, and a word whose every
/// trigram is common keeps the FTS5 phrase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rare_trigram_lookup_finds_exactly_the_names_containing_the_fragment() {
    use releasedesk::db::models::releases::TASK_NAMES;
    use releasedesk::search::rare::{self, TrigramSample};
    let app = seeded(Backend::Sqlite).await.expect("sqlite");
    app.db(|conn| {
        use diesel::prelude::*;
        use releasedesk::db::schema::release_tasks;
        let mut all: Vec<(i64, String)> = release_tasks::table
            .select((release_tasks::id, release_tasks::name))
            .load(conn)
            .unwrap();
        all.sort_by_key(|(id, _)| -id);
        let sample = TrigramSample::take(conn, TASK_NAMES).unwrap();
        let mut looked_up = 0;
        // Fragments such as `urn_001282`: a word's end and a name's number.
        let fragments: Vec<String> = (1..=6)
            .map(|i| {
                let name = &all[i * all.len() / 7].1;
                let end = name.len() - ".sql".len();
                name[end - 10..end].to_lowercase()
            })
            .collect();
        for word in fragments.iter().map(String::as_str) {
            let expected: Vec<i64> = all
                .iter()
                .filter(|(_, n)| n.to_lowercase().contains(word))
                .map(|(id, _)| *id)
                .collect();
            assert!(!expected.is_empty(), "{word} is in the seed");
            let got = rare::matches_with(conn, TASK_NAMES, word, &sample).unwrap();
            if let Some(found) = got {
                looked_up += 1;
                assert_eq!(found, expected, "{word}");
            }
        }
        assert!(looked_up >= 3, "the fragments go the rare way: {looked_up}");
        // Every trigram of `daily_orders` is in a tenth of the names or more.
        assert_eq!(
            rare::matches_with(conn, TASK_NAMES, "daily_orders", &sample).unwrap(),
            None
        );
    })
    .await;
}
