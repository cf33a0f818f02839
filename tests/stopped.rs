//! "Why it stopped" (issue 24, `db::models::stopped`): a package or region task that stands
//! still says why, in its list row and on its page — waiting for whom, rejected by whom, which
//! task or step failed and how, who suspended it — on SQLite and PostgreSQL.

mod support;

use releasedesk::db::models::region_release::{self as rr};
use releasedesk::db::models::{users, workspaces};
use releasedesk::domain::{PackageId, StepStatus, UserId};
use releasedesk::paths;
use support::TestApp;
use support::fixtures::gated_rollout;

async fn id_of(app: &TestApp, name: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, name).unwrap().unwrap().id)
        .await
}

/// The `.why` line of the list row whose first cell links to `href`.
fn row_why(page: &support::Resp, href: &str) -> String {
    let doc = scraper::Html::parse_document(&page.body);
    let rows = scraper::Selector::parse("tbody tr").unwrap();
    let link = scraper::Selector::parse(&format!("a[href=\"{href}\"]")).unwrap();
    let why = scraper::Selector::parse(".why").unwrap();
    doc.select(&rows)
        .find(|r| r.select(&link).next().is_some())
        .and_then(|r| r.select(&why).next())
        .map(|w| w.text().collect::<String>())
        .unwrap_or_default()
}

async fn a_package_says_whom_it_waits_for_and_who_rejected_it(app: TestApp) {
    let app = app.with_demo().await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let task = alice.submit_new_script("demo", "why/waits.sql").await;
    let resp = alice.release("demo", &[task], &[bob, carol], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package: PackageId = resp
        .location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .map(PackageId)
        .unwrap();
    let href = paths::package("demo", package);
    let list = alice.get(&paths::packages("demo")).await;
    let why = row_why(&list, &href);
    assert!(
        why == "Waiting for bob or carol" || why == "Waiting for bob and carol",
        "{why:?}"
    );
    let page = alice.get(&href).await;
    assert_eq!(page.texts("#package-why"), vec![why.clone()]);

    let bob_client = app.signed_in("bob").await;
    let resp = bob_client
        .decide_package("demo", package, "reject", "not like this")
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let list = alice.get(&paths::packages("demo")).await;
    assert_eq!(row_why(&list, &href), "Rejected by bob: not like this");
    let page = alice.get(&href).await;
    assert_eq!(
        page.texts("#package-why"),
        vec!["Rejected by bob: not like this".to_owned()]
    );
    // The API says the same, on the package and in the list.
    let token = support::api::token(&app, "alice", releasedesk::domain::TokenScope::Read).await;
    let api = support::api::Api::new(&app, Some(&token));
    let one = api
        .get(&format!("/workspaces/demo/packages/{}", package.get()))
        .await;
    assert_eq!(
        one.json["why"], "Rejected by bob: not like this",
        "{:?}",
        one.json
    );
    let list = api.get("/workspaces/demo/packages?limit=100").await;
    let row = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == package.get())
        .unwrap()
        .clone();
    assert_eq!(row["why"], "Rejected by bob: not like this");
}

async fn the_demo_lists_say_why_each_stopped_item_stopped(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let doc_rows = |body: &str| -> Vec<(String, String)> {
        let doc = scraper::Html::parse_document(body);
        let rows = scraper::Selector::parse("tbody tr").unwrap();
        let badge = scraper::Selector::parse("td[data-label=Status] .badge").unwrap();
        let why = scraper::Selector::parse("td[data-label=Status] .why").unwrap();
        doc.select(&rows)
            .filter_map(|r| {
                let status = r.select(&badge).next()?.text().collect::<String>();
                let why = r
                    .select(&why)
                    .next()
                    .map(|w| w.text().collect::<String>())
                    .unwrap_or_default();
                Some((status, why))
            })
            .collect()
    };
    let packages = doc_rows(
        &carol
            .get(&format!("{}?per_page=100", paths::packages("demo")))
            .await
            .body,
    );
    let mut seen = std::collections::HashSet::new();
    for (status, why) in &packages {
        let want = match status.as_str() {
            "Pending approval" => "Waiting for ",
            "Rejected" => "Rejected by ",
            "Failed" | "Partially failed" => "failed; first ",
            _ => {
                assert_eq!(why, "", "{status} moves or is done");
                continue;
            }
        };
        assert!(why.contains(want), "{status}: {why:?}");
        seen.insert(status.clone());
    }
    assert!(
        seen.len() >= 3,
        "the demo has stopped packages: {packages:?}"
    );

    let tasks = doc_rows(&carol.get(&paths::region_tasks("demo")).await.body);
    let mut seen = std::collections::HashSet::new();
    for (status, why) in &tasks {
        let want = match status.as_str() {
            "Suspended" => "Suspended",
            "Suspending" => "Stops after the running step",
            "Release failed" if why.starts_with("Rejected") => "Rejected at step ",
            "Release failed" => "Failed at step ",
            "Rollback failed" => " not restored; first ",
            "Releasing" if !why.is_empty() => "Waiting at step ",
            _ => {
                assert_eq!(why, "", "{status} moves or is done");
                continue;
            }
        };
        assert!(why.contains(want), "{status}: {why:?}");
        seen.insert(status.clone());
    }
    assert!(
        seen.contains("Release failed") && seen.contains("Rollback failed"),
        "{tasks:?}"
    );
}

async fn a_region_task_says_whom_its_checkpoint_waits_for_and_why_it_failed(app: TestApp) {
    let app = app.with_demo().await;
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    let task = gated_rollout(&app, ws, "Why gate", bob, vec![carol]).await;
    let step = loop {
        let steps = app.db(move |c| rr::steps(c, task).unwrap()).await;
        if steps[0].status() == StepStatus::Waiting {
            break steps[0].id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let href = paths::region_task("demo", task);
    let bob_client = app.signed_in("bob").await;
    let waiting = "Waiting at step 1 (Manual Approval) for carol";
    let list = bob_client.get(&paths::region_tasks("demo")).await;
    assert_eq!(row_why(&list, &href), waiting);
    let page = bob_client.get(&href).await;
    assert_eq!(page.texts("#task-why"), vec![waiting.to_owned()]);

    let carol_client = app.signed_in("carol").await;
    carol_client
        .decide_step("demo", task, step, "reject", "not today")
        .await;
    let failed = "Rejected at step 1: not today";
    let list = bob_client.get(&paths::region_tasks("demo")).await;
    assert_eq!(row_why(&list, &href), failed);
    let page = bob_client.get(&href).await;
    assert_eq!(page.texts("#task-why"), vec![failed.to_owned()]);
    let token = support::api::token(&app, "bob", releasedesk::domain::TokenScope::Read).await;
    let api = support::api::Api::new(&app, Some(&token));
    let one = api
        .get(&format!("/workspaces/demo/region-tasks/{}", task.get()))
        .await;
    assert_eq!(one.json["why"], failed, "{:?}", one.json);
}

on_both_backends!(
    a_package_says_whom_it_waits_for_and_who_rejected_it,
    the_demo_lists_say_why_each_stopped_item_stopped,
    a_region_task_says_whom_its_checkpoint_waits_for_and_why_it_failed,
);
