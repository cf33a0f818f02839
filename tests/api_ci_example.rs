//! `docs/examples/release-from-ci.sh`, the CI job docs/API.md shows, run as written with
//! `curl` and `jq` against a real server: it submits a file as a script's next version, releases
//! it for review, and waits, while a reviewer's token (bob's) approves the package through the
//! API. It must exit 0 with the package released; retried, it creates nothing twice; a new run
//! with the same content exits 1 with the reason.

mod support;

use std::time::Duration;

use releasedesk::domain::TokenScope;
use serde_json::json;
use support::TestApp;
use support::api::{Api, token};

async fn the_documented_ci_job_releases_through_review(app: TestApp) {
    let app = app.with_demo().await;
    let alice = token(&app, "alice", TokenScope::Write).await;
    let bob = Api::new(&app, Some(&token(&app, "bob", TokenScope::Write).await));
    let script_id = app
        .db(|c| {
            let task = support::submitted_tasks(c, "alice", "ci-example/", 1)[0];
            let ws = releasedesk::db::models::workspaces::find_by_slug(c, "demo")
                .unwrap()
                .unwrap()
                .id;
            releasedesk::db::models::releases::find_task(c, ws, task)
                .unwrap()
                .unwrap()
                .script_id
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.sql");
    std::fs::write(&file, "SELECT 'from the pipeline';\n").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/release-from-ci.sh");
    let run = |run_id: &str| {
        tokio::process::Command::new("bash")
            .arg(script)
            .env("RELEASEDESK_URL", &app.base)
            .env("RELEASEDESK_TOKEN", &alice)
            .env("WORKSPACE", "demo")
            .env("SCRIPT_ID", script_id.to_string())
            .env("SCRIPT_FILE", &file)
            .env("REVIEWERS", "bob")
            .env("RUN_ID", run_id)
            .kill_on_drop(true)
            .output()
    };
    let job = tokio::spawn(run("pipeline-1"));

    // The reviewer: approve the package once it waits.
    let mut approved = false;
    for _ in 0..100 {
        let waiting = bob
            .get("/workspaces/demo/packages?status=pending_approval&q=CI run")
            .await;
        if let Some(p) = waiting.json["items"].as_array().and_then(|a| a.first()) {
            let id = p["id"].as_i64().unwrap();
            let a = bob
                .post(
                    &format!("/workspaces/demo/packages/{id}/decision"),
                    &json!({"decision": "approve"}),
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.text);
            approved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(approved, "the job never released a package for review");
    let out = tokio::time::timeout(Duration::from_secs(120), job)
        .await
        .expect("the job finished")
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(": released"), "{stdout}");

    // Production runs the file now.
    let alice_api = Api::new(&app, Some(&alice));
    let live = alice_api.get("/workspaces/demo/production?q=ci-example").await;
    assert_eq!(live.json["items"][0]["version"], 2, "{}", live.text);
    let before = packages(&app).await;

    // The pipeline retried (same run id): the first answers come back, nothing is made twice.
    let retried = run("pipeline-1").await.unwrap();
    let stdout = String::from_utf8_lossy(&retried.stdout);
    assert!(retried.status.success(), "{stdout}");
    assert!(stdout.contains(": released"), "{stdout}");
    assert_eq!(packages(&app).await, before);

    // A new run with the same content is refused with the page's message, and exits 1.
    let again = run("pipeline-2").await.unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("releasedesk: Nothing changed since v2"),
        "{stderr}"
    );
    assert_eq!(packages(&app).await, before);
}

/// How many packages there are.
async fn packages(app: &TestApp) -> usize {
    app.db(|c| {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT COUNT(*) AS n FROM release_packages")
            .get_result::<N>(c)
            .unwrap()
            .n as usize
    })
    .await
}

on_both_backends!(the_documented_ci_job_releases_through_review);
