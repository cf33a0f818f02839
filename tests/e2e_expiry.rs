//! Approval expiry in headless Chromium (issue 24): carol (admin) sets "Approvals expire after"
//! on the Settings page; alice releases a task for carol's review; the deadline passes (moved
//! into the past in the database); the running worker's sweep expires the package, whose page
//! then says *Expired* and why; alice releases the same task again.

mod support;

use std::time::Duration;

use diesel::prelude::*;
use fantoccini::{Client, Locator};
use releasedesk::db::now;
use releasedesk::db::schema::release_packages;
use releasedesk::domain::{PackageId, TaskId};
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(an_expired_package_goes_back_to_its_applicant);

/// On the Tasks tab, selects `task` and releases it for carol's review.
async fn release_for_carol(client: &Client, app: &TestApp, task: TaskId) {
    client
        .goto(&app.url(&format!(
            "{}?status=pending&q=expiring",
            paths::tasks("demo")
        )))
        .await
        .unwrap();
    click(
        client,
        &format!("#tasks input[name=task_ids][value=\"{task}\"]"),
    )
    .await;
    wait_text(client, "[data-selected-count=task_ids]", "1").await;
    click(client, "button[data-dialog-open=release-dialog]").await;
    wait_css(client, "#release-dialog[open]").await;
    client
        .find(Locator::XPath(
            "//dialog[@id='release-dialog']//label[contains(., 'carol')]/input",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(client, "#release-dialog button[type=submit]").await;
    wait_text(client, ".toast-ok", "sent for approval").await;
    assert_eq!(text(client, "#package-status").await, "Pending approval");
}

async fn an_expired_package_goes_back_to_its_applicant(app: TestApp) {
    let (_driver, client) = start_browser().await;

    // Carol turns approval expiry on.
    sign_in(&client, &app, "carol").await;
    client
        .goto(&app.url(&paths::settings("demo")))
        .await
        .unwrap();
    let field = wait_css(&client, "#g-approval-expiry").await;
    field.clear().await.unwrap();
    field.send_keys("soon").await.unwrap();
    click(&client, "#general button[type=submit]").await;
    // A value it cannot read is refused beside the field, and kept.
    wait_text(
        &client,
        "#approval_expiry-error",
        "Between 1 hour and 30 days",
    )
    .await;
    let field = wait_css(&client, "#g-approval-expiry").await;
    assert_eq!(field.prop("value").await.unwrap().as_deref(), Some("soon"));
    field.clear().await.unwrap();
    field.send_keys("2h").await.unwrap();
    click(&client, "#general button[type=submit]").await;
    wait_text(&client, ".toast-ok", "Settings saved").await;
    let saved = wait_css(&client, "#g-approval-expiry").await;
    assert_eq!(saved.prop("value").await.unwrap().as_deref(), Some("2h"));
    screenshot(&client, "expiry-setting").await;
    sign_out(&client).await;

    // Alice releases a new task for carol's review; the page says when the wait expires.
    let task = app
        .signed_in("alice")
        .await
        .submit_new_script("demo", "etl/expiring.sql")
        .await;
    sign_in(&client, &app, "alice").await;
    release_for_carol(&client, &app, task).await;
    wait_css(&client, "#package-expires time").await;
    let package_url = client.current_url().await.unwrap();
    let package: PackageId = PackageId(
        package_url
            .path()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    );

    // Two hours pass with no review: the deadline is moved into the past.
    app.db(move |c| {
        diesel::update(release_packages::table.find(package))
            .set(release_packages::expires_at.eq(Some(now() - chrono::Duration::minutes(1))))
            .execute(c)
            .unwrap();
    })
    .await;
    // The worker's sweep (every few seconds) expires it.
    let mut status = String::new();
    for _ in 0..40 {
        client.goto(package_url.as_str()).await.unwrap();
        status = text(&client, "#package-status").await;
        if status == "Expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(status, "Expired");
    let why = text(&client, "#package-why").await;
    assert!(
        why.starts_with("Expired at ") && why.ends_with("with no review"),
        "{why}"
    );
    screenshot(&client, "expired-package").await;

    // The Packages tab's filter lists it; alice releases the task again.
    client
        .goto(&app.url(&format!("{}?status=expired", paths::packages("demo"))))
        .await
        .unwrap();
    wait_text(&client, "main", "Expired at").await;
    release_for_carol(&client, &app, task).await;
    client.close().await.unwrap();
}
