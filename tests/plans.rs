//! How statements are planned (`db::with_generic_plans`, `db::Const`): the plan cache mode is
//! put back after the closure, also when it fails, and a pooled connection is handed out in the
//! default mode; a constant is written into the SQL and anything but a plain word is refused.

mod support;

use diesel::prelude::*;
use diesel::sql_types::Text;
use releasedesk::db::schema::release_packages;
use releasedesk::db::{Const, DbConn, with_generic_plans};
use support::{Backend, TestApp};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    plan_cache_mode: String,
}

fn mode(conn: &mut DbConn) -> String {
    diesel::sql_query("SHOW plan_cache_mode")
        .get_result::<Setting>(conn)
        .expect("SHOW")
        .plan_cache_mode
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_plans_are_put_back_after_the_closure_and_at_checkout() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    app.db(|conn| {
        assert_eq!(mode(conn), "auto");
        let inside = with_generic_plans(conn, |conn| Ok(mode(conn))).unwrap();
        assert_eq!(inside, "force_generic_plan");
        assert_eq!(mode(conn), "auto");

        // A failing statement inside: its error comes out and the mode is put back all the same.
        let failed = with_generic_plans(conn, |conn| {
            diesel::sql_query("SELECT no_such_column FROM release_packages").execute(conn)
        });
        assert!(failed.is_err());
        assert_eq!(mode(conn), "auto");

        // Left in the generic mode by hand: the next checkout's ping puts it back.
        diesel::connection::SimpleConnection::batch_execute(
            conn,
            "SET plan_cache_mode = force_generic_plan",
        )
        .unwrap();
    })
    .await;
    // The pool holds more than one connection: check every one it hands out.
    let pool = app.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut held: Vec<_> = (0..pool.max_size()).map(|_| pool.get().unwrap()).collect();
        for conn in &mut held {
            assert_eq!(mode(conn), "auto");
        }
    })
    .await
    .unwrap();
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
