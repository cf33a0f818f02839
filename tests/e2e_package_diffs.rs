//! Browser test of a package's changes shown inline (issue 25, item 5): a reviewer reads every
//! task's diff on the package page, right above Approve, and approves there. Screenshots
//! `package` (1280×800) and `package-phone` (390×844) land in `target/screenshots/`.

mod support;

use diesel::prelude::*;
use fantoccini::Locator;
use releasedesk::db::models::releases::{self, ReleaseRequest};
use releasedesk::db::models::{scripts, users, workspaces};
use releasedesk::db::schema::release_tasks;
use releasedesk::domain::ScriptType;
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(reviewer_reads_the_changes_inline_and_approves);

/// Scrolls the Changes card to the top of the window, with a little room above it.
const SCROLL_TO_CHANGES: &str = "window.scrollTo(0, document.getElementById('changes').getBoundingClientRect().top + window.scrollY - 12)";

/// Alice's pending tasks of the demo (daily orders v2 against production v1, the inventory
/// snapshot v2 that production has not seen) and a new version of the live regional
/// aggregate, as one package for Carol: its address.
async fn package_for_carol(app: &TestApp) -> String {
    let id = app
        .db(|c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            let alice = users::find_by_username(c, "alice").unwrap().unwrap().id;
            let carol = users::find_by_username(c, "carol").unwrap().unwrap().id;
            let agg = scripts::find_by_path(c, ws, "etl/orders_agg.sql")
                .unwrap()
                .unwrap();
            let draft = scripts::ScriptDraft {
                script_type: ScriptType::Sql,
                schedule: agg.schedule.clone(),
                description: Default::default(),
                content: "SELECT region, sum(revenue), avg(avg_order)\nFROM mart.daily_orders\nGROUP BY region;\n".into(),
            };
            scripts::save_draft(c, alice, ws, agg.id, &draft).unwrap();
            scripts::submit_version(c, alice, ws, agg.id, "Average order per region").unwrap();
            let tasks: Vec<releasedesk::domain::TaskId> = release_tasks::table
                .filter(release_tasks::workspace_id.eq(ws))
                .filter(release_tasks::status.eq("pending"))
                .filter(release_tasks::submitted_by.eq(alice))
                .select(release_tasks::id)
                .load(c)
                .unwrap();
            assert_eq!(tasks.len(), 3, "the demo's two pending tasks and the new one");
            releases::release(
                c,
                alice,
                ws,
                &ReleaseRequest {
                    task_ids: tasks,
                    name: "orders-average".parse().unwrap(),
                    comment: "Average order value, end to end".parse().unwrap(),
                    reviewers: vec![carol],
                },
            )
            .unwrap()
            .package_id
        })
        .await;
    paths::package("demo", id)
}

/// Carol opens the pending package: the three diffs are on the page, the first ones open, with
/// the changed words highlighted, right above Approve; she approves and the package goes live.
async fn reviewer_reads_the_changes_inline_and_approves(app: TestApp) {
    let package = package_for_carol(&app).await;
    let (_driver, client) = start_browser().await;
    client.set_window_size(1280, 800).await.unwrap();
    sign_in(&client, &app, "carol").await;
    client.goto(&app.url(&package)).await.unwrap();
    wait_css(&client, "#changes").await;
    assert_eq!(text(&client, "#package-status").await, "Pending approval");

    let names = client
        .find_all(Locator::Css("#changes details summary .change-name"))
        .await
        .unwrap();
    let mut shown = Vec::new();
    for n in names {
        shown.push(n.text().await.unwrap());
    }
    assert_eq!(
        shown,
        [
            "etl/daily_orders.sql",
            "etl/inventory_snapshot.py",
            "etl/orders_agg.sql"
        ]
    );
    // The first few (three) are open.
    let open = client
        .find_all(Locator::Css("#changes details[open]"))
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    // The edited lines of daily orders, with what changed in them marked.
    let marks = client
        .find_all(Locator::Css("#changes details[open] tr.add mark"))
        .await
        .unwrap();
    let mut marked = Vec::new();
    for m in marks {
        marked.push(m.text().await.unwrap());
    }
    assert!(
        marked.iter().any(|m| m.contains("avg(amount)")),
        "{marked:?}"
    );
    // Above the decision: the form follows the changes in the page.
    let order: bool = client
        .execute(
            "const c = document.getElementById('changes'), f = document.getElementById('decision-form');\
             return !!(c && f && (c.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING));",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(order, "the changes come right before Approve/Reject");

    client.execute(SCROLL_TO_CHANGES, vec![]).await.unwrap();
    screenshot(&client, "package").await;
    client.set_window_size(390, 844).await.unwrap();
    client.execute(SCROLL_TO_CHANGES, vec![]).await.unwrap();
    screenshot(&client, "package-phone").await;
    client.set_window_size(1280, 800).await.unwrap();

    // A collapsed diff opens with a click on its summary.
    let last = client
        .find(Locator::Css("#changes details:last-of-type"))
        .await
        .unwrap();
    let was_open = last.attr("open").await.unwrap().is_some();
    last.find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(last.attr("open").await.unwrap().is_some(), !was_open);

    client
        .find(Locator::Css("#decision-form button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "approved").await;
    wait_text(&client, "#package-status", "Released").await;
    wait_text(&client, "#progress-text", "3 of 3 released").await;
    // Released: production runs every version now, as the task pages say too.
    client.goto(&app.url(&package)).await.unwrap();
    wait_css(&client, "#changes").await;
    let live = client
        .find_all(Locator::Css("#changes summary .badge-ok"))
        .await
        .unwrap();
    assert_eq!(live.len(), 3);
    client.close().await.unwrap();
}
