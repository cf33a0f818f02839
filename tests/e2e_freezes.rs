//! Freeze windows in headless Chromium (issue 24): carol (admin) adds a recurring window on the
//! Freezes page (a bad schedule and one that would never end first, refused beside their
//! fields); the banner shows on every page
//! of the workspace; bob's direct release is held and its page says by which window and until
//! when; carol overrides the freeze with a reason, confirms, and the package goes out with the
//! override shown as an event on its page.

mod support;

use fantoccini::{Client, Locator};
use releasedesk::domain::PackageId;
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(a_freeze_holds_a_release_until_an_admin_overrides_it);

async fn fill(client: &Client, css: &str, value: &str) {
    let field = wait_css(client, css).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn a_freeze_holds_a_release_until_an_admin_overrides_it(app: TestApp) {
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app, "carol").await;
    client
        .goto(&app.url(&paths::freezes("demo")))
        .await
        .unwrap();
    fill(&client, "#f-name", "Launch week").await;
    fill(&client, "#f-reason", "Big launch: hotfixes only").await;
    click(&client, "input[name=scope][value=task]").await;
    click(&client, "input[name=kind][value=recurring]").await;
    fill(&client, "#f-tz", "UTC").await;
    fill(&client, "#f-schedule", "* 25 * * *").await;
    fill(&client, "#f-duration", "2h").await;
    click(&client, "#freeze-form button[type=submit]").await;
    wait_text(&client, "#schedule-error", "hour field").await;
    // Every minute for two hours would never end: refused too.
    fill(&client, "#f-schedule", "* * * * *").await;
    click(&client, "#freeze-form button[type=submit]").await;
    wait_text(&client, "#duration-error", "starts again").await;
    // Daily from an hour ago, for three hours: on now.
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let daily = format!("{} {} * * *", start.format("%M"), start.format("%H"));
    fill(&client, "#f-schedule", &daily).await;
    fill(&client, "#f-duration", "3h").await;
    click(&client, "#freeze-form button[type=submit]").await;
    wait_text(&client, ".toast-ok", "Launch week").await;
    wait_text(&client, ".freeze-banner", "Launch week").await;
    screenshot(&client, "freeze-windows").await;

    // bob releases directly; the package is held.
    let bob = app.signed_in("bob").await;
    let task = bob.submit_new_script("demo", "freeze/launch.sql").await;
    let resp = bob.release("demo", &[task], &[], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package: PackageId = resp
        .location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .map(PackageId)
        .unwrap();
    client
        .goto(&app.url(&paths::package("demo", package)))
        .await
        .unwrap();
    let why = wait_text(&client, "#package-why", "Frozen by “Launch week” until").await;
    assert!(why.ends_with("Big launch: hotfixes only"), "{why}");
    assert_eq!(text(&client, "#package-status").await, "Releasing");
    wait_text(&client, ".freeze-banner", "Launch week").await;

    // carol overrides with a reason and confirms.
    fill(&client, "#o-reason", "Checkout is down; this is the fix").await;
    click(&client, "#override button[type=submit]").await;
    wait_css(&client, "#confirm-dialog[open]").await;
    client
        .find(Locator::Css("#confirm-dialog [data-confirm-ok]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", "Freeze overridden").await;
    wait_text(
        &client,
        "#freeze-override",
        "Checkout is down; this is the fix",
    )
    .await;
    wait_text(&client, "#package-status", "Released").await;
    screenshot(&client, "freeze-overridden").await;
    client.close().await.unwrap();
}
