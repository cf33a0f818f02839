//! How statements are planned (`db::opaque`, `db::Const`): the navigation's statements keep
//! one generic plan on PostgreSQL, also for a viewer who reviews nothing; so do a search's
//! counts, not its pages; a constant is written into the SQL and anything but a plain word is
//! refused.

mod support;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use releasedesk::bench_seed::{self, BenchSpec};
use releasedesk::db::models::{region_release, releases, users, workspaces};
use releasedesk::db::schema::release_packages;
use releasedesk::db::{Const, DbConn};
use releasedesk::search::NameSearch;
use support::{Backend, TestApp};

#[derive(QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

/// The one prepared statement reading `table` that binds an id through `db::opaque`.
fn prepared(conn: &mut DbConn, table: &str) -> Prepared {
    let mut found: Vec<Prepared> = diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE 'SELECT %' AND strpos(statement, $1) > 0 \
         AND strpos(statement, '(SELECT $') > 0",
    )
    .bind::<Text, _>(table)
    .load(conn)
    .unwrap();
    assert_eq!(found.len(), 1, "{table}: {found:?}");
    found.remove(0)
}

/// 3,000 bench tasks, with the statistics PostgreSQL plans by.
fn seed_and_analyze(conn: &mut DbConn) {
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
    .expect("seed");
    diesel::sql_query("ANALYZE").execute(conn).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_keeps_one_generic_plan_per_statement() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| s.run_worker = false).await else {
        return;
    };
    app.db(|conn| {
        seed_and_analyze(conn);
        // A workspace admin who reviews nothing: the viewer for whom a custom plan looked
        // cheaper, so PostgreSQL planned the statements again on every page.
        let admin = users::find_by_username(conn, "bench-admin")
            .unwrap()
            .expect("bench-admin");
        assert!(
            !admin.is_tenant_admin,
            "the switcher's statement binds the viewer"
        );
        for _ in 0..10 {
            assert_eq!(workspaces::nav_for_user(conn, &admin).unwrap().len(), 1);
            assert_eq!(releases::awaiting_review_count(conn, admin.id).unwrap(), 0);
            assert!(region_release::awaiting(conn, admin.id).unwrap().is_empty());
        }
        for table in [
            "\"memberships\"",
            "\"package_reviewers\"",
            "\"step_people\"",
        ] {
            let p = prepared(conn, table);
            assert!(
                p.generic_plans >= 4 && p.custom_plans <= 6,
                "{table}: {} generic, {} custom plans for {}",
                p.generic_plans,
                p.custom_plans,
                p.statement
            );
        }
    })
    .await;
}

/// The prepared statements of this connection that test a task's stored lowercase name.
fn name_statements(conn: &mut DbConn) -> Vec<Prepared> {
    diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE strpos(statement, 'release_tasks.lower_name') > 0",
    )
    .load(conn)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_keeps_generic_plans_for_its_counts_and_plans_its_pages_each_time() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| s.run_worker = false).await else {
        return;
    };
    app.db(|conn| {
        seed_and_analyze(conn);
        let list = |conn: &mut DbConn, q: &str| {
            let filter = releases::TaskFilter {
                search: NameSearch::parse(q),
                submitter: None,
                status: None,
                sort: releases::TaskSort::SubmittedAt,
                descending: true,
                before: None,
            };
            releases::list_tasks(conn, releasedesk::domain::WorkspaceId(1), &filter, 20, 0)
                .unwrap()
                .1
        };
        for _ in 0..10 {
            assert_eq!(list(conn, "daily orders"), 300);
        }
        let kept = name_statements(conn);
        // The capped count (through the cheapest trigrams) and the head's count (the names
        // holding the whole phrase).
        let counts: Vec<&Prepared> = kept
            .iter()
            .filter(|p| p.statement.starts_with("SELECT COUNT(*)"))
            .collect();
        assert_eq!(counts.len(), 2, "{kept:?}");
        for p in counts {
            assert!(
                p.generic_plans >= 4,
                "{} generic, {} custom plans for {}",
                p.generic_plans,
                p.custom_plans,
                p.statement
            );
        }
        // A page is planned with its patterns each time, so it is never kept.
        assert!(
            kept.iter().all(|p| !p.statement.contains("ORDER BY")),
            "{kept:?}"
        );
        // Nor is a count of many patterns: each number of them would be one more statement
        // kept on every connection.
        let before = kept.len();
        for _ in 0..3 {
            list(conn, "daily orders sql etl weekly sales");
        }
        assert_eq!(name_statements(conn).len(), before);
    })
    .await;
}

async fn a_constant_is_written_into_the_sql(app: TestApp) {
    app.db(|conn| {
        let by_const: i64 = release_packages::table
            .filter(release_packages::status.eq(Const::text("pending_approval")))
            .count()
            .get_result(conn)
            .unwrap();
        let by_bind: i64 = release_packages::table
            .filter(release_packages::status.eq("pending_approval"))
            .count()
            .get_result(conn)
            .unwrap();
        assert_eq!(by_const, by_bind);

        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
            &release_packages::table
                .filter(release_packages::status.eq(Const::text("released")))
                .select(release_packages::id),
        )
        .to_string();
        assert!(sql.contains("= 'released'"), "{sql}");

        // Not a plain word: refused before anything reaches the database.
        let quoted = release_packages::table
            .filter(release_packages::status.eq(Const::text("x' OR '1' = '1")))
            .count()
            .get_result::<i64>(conn);
        assert!(
            matches!(quoted, Err(diesel::result::Error::QueryBuilderError(_))),
            "{quoted:?}"
        );
    })
    .await;
}

on_both_backends!(a_constant_is_written_into_the_sql);
