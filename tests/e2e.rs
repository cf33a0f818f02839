//! Browser tests: a user's clicks through the real server with demo data, on both backends
//! (`support::browser`). Screenshots land in `target/screenshots/` to be looked at.

mod support;

use std::time::Duration;

use fantoccini::Locator;
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(
    admin_changes_settings_and_viewer_cannot,
    developer_releases_and_reviewer_approves,
    region_release_with_a_checkpoint_and_rollback,
    a_selection_survives_paging_and_releases_as_one_package,
    a_stranded_package_gets_a_reviewer_and_another_is_withdrawn,
    tasks_are_selected_with_a_thumb_on_a_phone,
);

/// Carol (workspace admin) changes the approval policy, demotes a reviewer with the role select,
/// removes a member through the confirmation dialog; Victor (viewer) then sees no settings.
async fn admin_changes_settings_and_viewer_cannot(app: TestApp) {
    let (_driver, client) = start_browser().await;

    sign_in(&client, &app, "carol").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/workspaces");
    screenshot(&client, "workspaces").await;

    // The workspace switcher submits on change (app.js).
    wait_css(&client, "#ws-switch")
        .await
        .select_by_value("demo")
        .await
        .unwrap();
    wait_css(&client, "#policy-h").await;
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/workspaces/demo"
    );
    screenshot(&client, "overview").await;

    client
        .goto(&app.url(&paths::settings("demo")))
        .await
        .unwrap();
    wait_css(&client, "input[name=approval_policy][value=everyone]")
        .await
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#general button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "Settings saved.").await;
    let checked = wait_css(&client, "input[name=approval_policy][value=everyone]").await;
    assert!(
        checked.is_selected().await.unwrap(),
        "the saved policy is shown"
    );

    // Demote bob with the role select: a package waits for his review, so the page first says
    // which one he would leave (issue 25, item 6); confirmed, he leaves the reviewer list.
    let bob_row = "#member-table tr[data-user=bob] select";
    wait_css(&client, bob_row)
        .await
        .select_by_value("developer")
        .await
        .unwrap();
    wait_text(&client, "#role-confirm", "customer-dimension").await;
    screenshot(&client, "settings-role-confirm").await;
    client
        .find(Locator::Css("#role-confirm-ok"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "removed from the reviewer list").await;
    let reviewers = text(&client, "#reviewer-table tbody").await;
    assert!(!reviewers.contains("bob"), "{reviewers}");
    screenshot(&client, "settings").await;

    // Removing a member asks first, in our own dialog.
    client
        .find(Locator::Css(
            "#member-table tr[data-user=victor] form[data-confirm] button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(
        &client,
        "#confirm-dialog [data-confirm-message]",
        "Remove victor",
    )
    .await;
    screenshot(&client, "confirm").await;
    client
        .find(Locator::Css("#confirm-dialog [data-confirm-ok]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "victor was removed").await;

    // The audit log filter swaps the rows with htmx and puts the filter in the address.
    client.goto(&app.url(&paths::audit("demo"))).await.unwrap();
    wait_css(&client, "#f-action")
        .await
        .send_keys("reviewer.")
        .await
        .unwrap();
    let want = url_with(&app, "/workspaces/demo/audit?action=reviewer.&actor=");
    for _ in 0..100 {
        if client.current_url().await.unwrap() == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = client.current_url().await.unwrap();
    assert_eq!(now, want, "the filter is pushed into the address");
    let actions = client
        .find_all(Locator::Css("#audit-rows tbody td.mono"))
        .await
        .unwrap();
    assert!(!actions.is_empty());
    for a in actions {
        assert!(a.text().await.unwrap().starts_with("reviewer."));
    }
    screenshot(&client, "audit").await;
    sign_out(&client).await;

    // Victor is no longer a member: the workspace answers 404 in the product's look.
    sign_in(&client, &app, "victor").await;
    client
        .goto(&app.url(&paths::settings("demo")))
        .await
        .unwrap();
    assert_eq!(text(&client, ".error-code").await, "404");
    screenshot(&client, "not-found").await;

    // On a phone the same pages stay usable.
    client.set_window_size(390, 844).await.unwrap();
    client
        .find(Locator::Css("a.brand"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, ".user-menu").await;
    sign_out(&client).await;
    sign_in(&client, &app, "alice").await;
    client
        .goto(&app.url(&paths::workspace("demo")))
        .await
        .unwrap();
    wait_css(&client, "#members").await;
    let nav = text(&client, "nav.subnav").await;
    assert!(
        !nav.contains("Settings"),
        "a developer has no settings link: {nav}"
    );
    screenshot(&client, "overview-phone").await;

    client.close().await.unwrap();
}

/// Alice releases a pending task for approval, choosing Carol in the dialog; Carol approves it
/// from her Reviews page and watches the package go live without reloading.
async fn developer_releases_and_reviewer_approves(app: TestApp) {
    let (_driver, client) = start_browser().await;

    sign_in(&client, &app, "alice").await;
    client
        .goto(&app.url("/workspaces/demo/task-release/tasks?status=pending"))
        .await
        .unwrap();
    wait_css(&client, "#tasks").await;
    screenshot(&client, "tasks").await;
    // Fuzzy search swaps the rows in place and keeps the filter in the address.
    let search = wait_css(&client, "#q").await;
    search.send_keys("daily ordrs").await.unwrap();
    wait_text(&client, "#task-total", "matching").await;
    let first = text(&client, "#tasks tbody td.mono").await;
    assert_eq!(first, "etl/daily_orders.sql");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("q=daily+ordrs")
    );

    // Select it and release: the dialog asks for reviewers.
    client
        .find(Locator::Css("#tasks tbody input[name=task_ids]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, "[data-selected-count=task_ids]", "1").await;
    client
        .find(Locator::Css("button[data-dialog-open=release-dialog]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#release-dialog[open]").await;
    let carol = client
        .find(Locator::XPath(
            "//dialog[@id='release-dialog']//label[contains(., 'carol')]/input",
        ))
        .await
        .unwrap();
    carol.click().await.unwrap();
    client
        .find(Locator::Css("#r-comment"))
        .await
        .unwrap()
        .send_keys("Adds the average order value")
        .await
        .unwrap();
    screenshot(&client, "release-dialog").await;
    client
        .find(Locator::Css("#release-dialog button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "sent for approval").await;
    assert_eq!(text(&client, "#package-status").await, "Pending approval");
    assert!(
        client.find(Locator::Css("#decision-form")).await.is_err(),
        "no Approve for the applicant"
    );
    let package_url = client.current_url().await.unwrap();
    sign_out(&client).await;

    // Carol approves from the package page reached through Reviews.
    sign_in(&client, &app, "carol").await;
    // Two packages (hers and the demo's) and the demo's Manual Approval wait for her.
    assert_eq!(text(&client, "nav.nav .count").await, "3");
    client.goto(&app.url("/reviews")).await.unwrap();
    screenshot(&client, "reviews").await;
    // Nothing selected: the page says so at once instead of asking to confirm, then failing.
    client
        .find(Locator::Css("#review-form button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(
        &client,
        "#review-form [data-selection-error]",
        "Select at least one package first.",
    )
    .await;
    assert!(
        client
            .find(Locator::Css("#confirm-dialog[open]"))
            .await
            .is_err()
    );
    client.goto(package_url.as_str()).await.unwrap();
    wait_css(&client, "#decision-form").await;
    screenshot(&client, "package-pending").await;
    click(&client, "#decision-form button[value=approve]").await;
    wait_text(&client, ".toast-ok", "approved").await;
    // The progress block polls until the worker is done.
    wait_text(&client, "#package-status", "Released").await;
    wait_text(&client, "#progress-text", "1 of 1 released").await;
    screenshot(&client, "package-released").await;

    // Seed 000's Compare Version, from the Packages list's Operation column (issue 25, item 2):
    // the demo's "daily-orders-first" released the same script.
    client
        .goto(&app.url(&paths::packages("demo")))
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//table[@id='packages']//tbody/tr[1]//td[contains(@class, 'ops')]/a[.='Compare Version']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#cmp-with")
        .await
        .select_by_label("daily-orders-first")
        .await
        .unwrap();
    click(&client, "#compare button[type=submit]").await;
    wait_css(&client, "#full-diff").await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/compare"),
        "on the comparison"
    );
    assert!(text(&client, "main").await.contains("etl/daily_orders.sql"));
    screenshot(&client, "package-compare").await;

    client
        .goto(&app.url(&paths::production("demo")))
        .await
        .unwrap();
    let row = text(&client, "#production tbody").await;
    assert!(
        row.contains("etl/daily_orders.sql") && row.contains("v2"),
        "{row}"
    );
    screenshot(&client, "production").await;

    client
        .goto(&app.url(&paths::scripts("demo")))
        .await
        .unwrap();
    client
        .find(Locator::LinkText("etl/daily_orders.sql"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#versions").await;
    client
        .find(Locator::LinkText("changes"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#compare .diff").await;
    screenshot(&client, "script-compare").await;
    client.close().await.unwrap();
}

/// Bob creates a region release task with a Manual Approval for Carol, executes it; Carol agrees
/// from her Reviews page; the pipeline finishes live; Bob rolls it back.
async fn region_release_with_a_checkpoint_and_rollback(app: TestApp) {
    let (_driver, client) = start_browser().await;

    sign_in(&client, &app, "bob").await;
    client
        .goto(&app.url(&paths::region_tasks("demo")))
        .await
        .unwrap();
    wait_css(&client, "#region-tasks").await;
    screenshot(&client, "region-tasks").await;
    client
        .find(Locator::LinkText("New task"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#t-name")
        .await
        .send_keys("Roll out notification-gw to us-east-1")
        .await
        .unwrap();
    client
        .find(Locator::Css("#t-op"))
        .await
        .unwrap()
        .select_by_value("deploy")
        .await
        .unwrap();
    client
        .find(Locator::Css("#s0-kind"))
        .await
        .unwrap()
        .select_by_value("approval")
        .await
        .unwrap();
    // Step builder cards (templates/region_release/form.html): people and components are
    // checkbox pickers; "+ Deploy" adds the second card.
    client
        .find(Locator::XPath(
            "//li[@id='s0-card']//label[@data-picker-option][contains(., 'carol')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("[data-step-add=deploy]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#s1-region"))
        .await
        .unwrap()
        .select_by_label("us-east-1")
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//li[@id='s1-card']//label[@data-picker-option][contains(., 'notification-gw')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    screenshot(&client, "region-task-form").await;
    client
        .find(Locator::Css("form.form > .form-actions button.btn-primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "saved").await;

    // Seed 001 starts a release from the list's Operation column (issue 25, item 2).
    client
        .goto(&app.url(&paths::region_tasks("demo")))
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//table[@id='region-tasks']//tr[contains(., 'Roll out notification-gw to us-east-1')]//td[contains(@class, 'ops')]/a[.='Execute']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#execute-dialog[open]").await;
    // Only the Manual Approval is offered as a start: the deploy after it waits for carol.
    assert_eq!(
        client
            .find_all(Locator::Css("#ex-start option"))
            .await
            .unwrap()
            .len(),
        1
    );
    // Polled: while the dialog fades in, WebDriver reads its text as empty.
    wait_text(&client, "#ex-start-limit", "Steps after 1 are not offered").await;
    screenshot(&client, "region-execute-dialog").await;
    client
        .find(Locator::Css("#execute-dialog button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, "#step-1", "Waiting for a decision").await;
    screenshot(&client, "region-waiting").await;
    let task_url = client.current_url().await.unwrap();
    sign_out(&client).await;

    sign_in(&client, &app, "carol").await;
    client.goto(&app.url("/reviews")).await.unwrap();
    client
        .find(Locator::XPath(
            "//ul[@id='checkpoints']//a[contains(., 'Roll out notification-gw')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let approve = wait_css(&client, "#step-1 button[data-dialog-open]").await;
    approve.click().await.unwrap();
    let dialog = wait_css(&client, "dialog[open]").await;
    dialog
        .find(Locator::Css("textarea"))
        .await
        .unwrap()
        .send_keys("Go ahead")
        .await
        .unwrap();
    screenshot(&client, "region-approve").await;
    dialog
        .find(Locator::Css("button[value=agree]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, "#task-status", "Released").await;
    screenshot(&client, "region-released").await;
    sign_out(&client).await;

    sign_in(&client, &app, "bob").await;
    client.goto(task_url.as_str()).await.unwrap();
    client
        .find(Locator::Css("button[data-dialog-open=rollback-dialog]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#rollback-dialog[open]").await;
    client
        .find(Locator::Css("#rb-reason"))
        .await
        .unwrap()
        .send_keys("Alert storm after the rollout")
        .await
        .unwrap();
    client
        .find(Locator::Css("#rollback-dialog button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, "#task-status", "Rolled back").await;
    client
        .find(Locator::LinkText("Release History"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, "#release-history", "Alert storm after the rollout").await;
    screenshot(&client, "region-history").await;
    client.close().await.unwrap();
}

/// Issue 25, item 1: a developer selects tasks on two pages (the selection survives paging),
/// then "select all" of the matches, and releases them all as one package.
async fn a_selection_survives_paging_and_releases_as_one_package(app: TestApp) {
    app.db(|c| support::submitted_tasks(c, "alice", "paged/s_", 25))
        .await;
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app, "alice").await;
    client
        .goto(&app.url("/workspaces/demo/task-release/tasks?q=paged"))
        .await
        .unwrap();
    wait_css(&client, "#tasks").await;
    let boxes = client
        .find_all(Locator::Css("#tasks tbody input[name=task_ids]"))
        .await
        .unwrap();
    assert_eq!(boxes.len(), 20);
    boxes[0].click().await.unwrap();
    boxes[1].click().await.unwrap();
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "2").await;
    client
        .find(Locator::LinkText("Next →"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".pagination .current", "2").await;
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "2").await;
    client
        .find(Locator::Css("#tasks tbody input[name=task_ids]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "3").await;
    client
        .find(Locator::Css("#select-matching"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "25").await;
    screenshot(&client, "tasks-selection").await;
    client
        .find(Locator::Css("button[data-dialog-open=release-dialog]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#release-dialog[open]").await;
    client
        .find(Locator::XPath(
            "//dialog[@id='release-dialog']//label[contains(., 'carol')]/input",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#release-dialog button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "sent for approval").await;
    assert!(text(&client, "main").await.contains("0 of 25 released"));
}

/// Issue 25, item 6: bob, the only reviewer of alice's package, loses the role; alice sees that
/// no reviewer is left, adds carol from the package page, and carol approves. Alice withdraws a
/// second package in one click (through the confirmation dialog); its tasks are pending again.
async fn a_stranded_package_gets_a_reviewer_and_another_is_withdrawn(app: TestApp) {
    let (stranded, withdrawn) = app
        .db(|c| {
            use releasedesk::db::models::{releases, users, workspaces};
            let tasks = support::submitted_tasks(c, "alice", "stranded/s_", 3);
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            let mut id = |n: &str| users::find_by_username(c, n).unwrap().unwrap().id;
            let (alice, bob, carol) = (id("alice"), id("bob"), id("carol"));
            let mut release = |tasks: Vec<releasedesk::domain::TaskId>, name: &str| {
                releases::release(
                    c,
                    alice,
                    ws,
                    &releases::ReleaseRequest {
                        task_ids: tasks,
                        name: name.parse().unwrap(),
                        comment: Default::default(),
                        reviewers: vec![bob],
                    },
                )
                .unwrap()
                .package_id
            };
            let stranded = release(tasks[..2].to_vec(), "stranded-package");
            let withdrawn = release(tasks[2..].to_vec(), "second-thoughts");
            workspaces::change_role(
                c,
                carol,
                ws,
                bob,
                None,
                releasedesk::domain::Role::Developer,
                true,
            )
            .unwrap();
            (stranded, withdrawn)
        })
        .await;
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app, "alice").await;
    client
        .goto(&app.url(&paths::package("demo", stranded)))
        .await
        .unwrap();
    wait_text(&client, "#no-reviewer", "No reviewer left").await;
    // Item 14: times read relative, with the exact time in the viewer's zone on hover.
    let applied = wait_css(&client, ".subtitle time").await;
    let shown = applied.text().await.unwrap();
    assert!(
        shown == "just now" || shown.contains("ago"),
        "relative time, not {shown:?}"
    );
    let exact = applied.attr("title").await.unwrap().unwrap_or_default();
    assert!(
        exact.contains("GMT+1") || exact.contains("CET"),
        "exact time in {VIEWER_TZ}: {exact:?}"
    );
    client
        .find(Locator::XPath(
            "//details[@id='add-reviewers']//label[contains(., 'carol')]/input",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    screenshot(&client, "package-add-reviewer").await;
    client
        .find(Locator::Css("#add-reviewers button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "carol added as reviewer").await;
    assert!(text(&client, "#reviewers").await.contains("carol"));

    client
        .goto(&app.url(&paths::package("demo", withdrawn)))
        .await
        .unwrap();
    wait_css(&client, "#withdraw-form button")
        .await
        .click()
        .await
        .unwrap();
    wait_text(
        &client,
        "#confirm-dialog [data-confirm-message]",
        "back to pending",
    )
    .await;
    client
        .find(Locator::Css("#confirm-dialog [data-confirm-ok]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "withdrawn").await;
    wait_text(&client, "#package-status", "Revoked").await;
    sign_out(&client).await;

    sign_in(&client, &app, "carol").await;
    client
        .goto(&app.url(&paths::package("demo", stranded)))
        .await
        .unwrap();
    wait_css(&client, "#decision-form button[value=approve]")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "approved").await;
    client.close().await.unwrap();
}

/// On a phone the Tasks tab's rows are cards; their select boxes take a tap (a card's name cell
/// once lay over the box and swallowed it). Screenshots of the tab at 1280×800 and 390×844.
async fn tasks_are_selected_with_a_thumb_on_a_phone(app: TestApp) {
    let (_driver, client) = start_browser().await;
    client.set_window_size(1280, 800).await.unwrap();
    sign_in(&client, &app, "alice").await;
    client.goto(&app.url(&paths::tasks("demo"))).await.unwrap();
    click(&client, "#tasks tbody tr:nth-child(1) input[name=task_ids]").await;
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "1").await;
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    screenshot(&client, "tasks-1280").await;
    client.set_window_size(390, 844).await.unwrap();
    client.refresh().await.unwrap();
    click(&client, "#tasks tbody tr:nth-child(2) input[name=task_ids]").await;
    wait_text(&client, ".toolbar [data-selected-count=task_ids]", "2").await;
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    screenshot(&client, "tasks-390").await;
    client.close().await.unwrap();
}
