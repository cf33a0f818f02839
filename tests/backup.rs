//! `releasedesk backup PATH`: a copy of the live SQLite database, taken while the server keeps
//! serving and writing, that a server started on it finds complete: every table has the rows
//! the source had at that moment. PostgreSQL is pointed at pg_dump.

mod support;

use std::process::Command;

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use releasedesk::paths;
use support::{Backend, TestApp};

fn releasedesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_releasedesk"));
    cmd.env_remove("DATABASE_URL")
        .env("RELEASEDESK_LOG", "warn");
    cmd
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every table's row count (migrations' bookkeeping included).
fn row_counts(conn: &mut releasedesk::db::DbConn) -> Vec<(String, i64)> {
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .load(conn)
    .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n = diesel::sql_query(format!("SELECT count(*) AS n FROM \"{}\"", t.name))
                .get_result::<Count>(conn)
                .unwrap()
                .n;
            (t.name, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_every_row() {
    let mut url = String::new();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| url = s.database_url.clone())
        .await
        .unwrap()
        .with_demo()
        .await;
    // Some writes through the server first, and a reader busy while the backup runs.
    let carol = app.signed_in("carol").await;
    let created = carol
        .post(
            &paths::scripts("demo"),
            &[
                ("path", "backup/kept.sql"),
                ("script_type", "sql"),
                ("content", "SELECT 'kept';\n"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let victor = app.signed_in("victor").await;
    // Quiet: the worker has finished the demo's jobs, so the counts can be compared.
    app.db(|c| releasedesk::worker::drain(c).unwrap()).await;
    let before = app.db(row_counts).await;
    assert!(before.len() > 20, "{before:?}");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy.db");
    let reader = tokio::spawn(async move {
        for _ in 0..20 {
            assert_eq!(victor.get(&paths::audit("demo")).await.status, 200);
        }
    });
    let out = tokio::task::spawn_blocking({
        let (url, target) = (url.clone(), target.clone());
        move || {
            releasedesk()
                .args(["backup", target.to_str().unwrap()])
                .env("DATABASE_URL", &url)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    reader.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written to"));

    // Never over an existing file.
    let again = releasedesk()
        .args(["backup", target.to_str().unwrap()])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Restore: a server on the copy has every row, and it serves them.
    let copy_url = format!("sqlite://{}", target.display());
    let restored = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.database_url = copy_url;
        s.run_worker = false;
    })
    .await
    .unwrap();
    let after = restored.db(row_counts).await;
    assert_eq!(after, before, "every table, every row");
    let carol = restored.signed_in("carol").await;
    let scripts = carol.get(&paths::scripts("demo")).await;
    assert!(scripts.body.contains("backup/kept.sql"));
    eprintln!(
        "backup: {} tables, {} rows restored",
        after.len(),
        after.iter().map(|(_, n)| n).sum::<i64>()
    );
}

#[test]
fn postgres_backups_are_pointed_at_pg_dump() {
    let out = releasedesk()
        .args(["backup", "/tmp/never-written.db"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pg_dump --format=custom") && err.contains("pg_restore"),
        "{err}"
    );
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
}

/// Under steady load SQLite's own checkpoints never reset the WAL (some reader always holds an
/// older snapshot); `db::checkpoint_wal`, run every 10 s by the server, empties it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_is_checkpointed_and_truncated() {
    let mut url = String::new();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| url = s.database_url.clone())
        .await
        .unwrap()
        .with_demo()
        .await;
    let wal = format!("{}-wal", url.trim_start_matches("sqlite://"));
    let carol = app.signed_in("carol").await;
    for i in 0..5 {
        let resp = carol
            .post(
                &paths::scripts("demo"),
                &[
                    ("path", &format!("wal/s{i}.sql")),
                    ("script_type", "sql"),
                    ("content", "SELECT 1;\n"),
                ],
            )
            .await;
        assert_eq!(resp.status, 303);
    }
    let frames = app
        .db(|c| releasedesk::db::checkpoint_wal(c).unwrap())
        .await;
    assert!(frames.is_some(), "not busy once the requests are answered");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    // Nothing was lost on the way into the database file.
    let scripts = carol.get("/workspaces/demo/scripts?q=wal").await;
    assert_eq!(
        scripts.texts("#scripts tbody tr").len(),
        5,
        "{}",
        scripts.body
    );
}
