//! Browser test of the region step builder (issue 25, item 12): step cards added, removed and
//! moved in the page (static/app.js), fields by step type, and searchable checkbox pickers;
//! the saved task keeps the order shown, and Edit shows the steps again.

mod support;

use fantoccini::Locator;
use fantoccini::key::Key;
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(a_deployer_builds_reorders_and_edits_the_steps);

async fn click(client: &fantoccini::Client, css: &str) {
    wait_css(client, css).await.click().await.unwrap();
}

/// Ticks the option of card `i`'s picker (components or people) whose label holds `label`.
async fn tick(client: &fantoccini::Client, i: usize, picker: &str, label: &str) {
    client
        .find(Locator::XPath(&format!(
            "//li[@id='s{i}-card']//fieldset[.//input[@id='s{i}-{picker}-filter']]\
             //label[@data-picker-option][contains(., '{label}')]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Whether `css` is shown (not display:none).
async fn shown(client: &fantoccini::Client, css: &str) -> bool {
    wait_css(client, css).await.is_displayed().await.unwrap()
}

/// The step titles of the form, in order.
async fn titles(client: &fantoccini::Client) -> Vec<String> {
    let mut out = Vec::new();
    for el in client
        .find_all(Locator::Css("[data-step-list] > li [data-step-title]"))
        .await
        .unwrap()
    {
        out.push(el.text().await.unwrap());
    }
    out
}

async fn a_deployer_builds_reorders_and_edits_the_steps(app: TestApp) {
    let (_driver, client) = start_browser().await;
    client.set_window_size(1280, 800).await.unwrap();
    sign_in(&client, &app, "bob").await;
    client
        .goto(&app.url(&paths::region_tasks("demo")))
        .await
        .unwrap();
    client
        .find(Locator::LinkText("New task"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_css(&client, "#t-name")
        .await
        .send_keys("Notifications and FX to the new regions")
        .await
        .unwrap();

    // The new form starts with one Deploy step: Region and Components, no People.
    assert_eq!(titles(&client).await, ["Step 1"]);
    assert!(shown(&client, "#s0-region").await);
    assert!(!shown(&client, "#s0-people-filter").await);
    client
        .find(Locator::Css("#s0-region"))
        .await
        .unwrap()
        .select_by_label("us-east-1")
        .await
        .unwrap();
    // The filter narrows the components to one; Enter ticks it.
    let filter = wait_css(&client, "#s0-comp-filter").await;
    filter.send_keys("notif").await.unwrap();
    let visible = client
        .find_all(Locator::Css(
            "#s0-card fieldset:has(#s0-comp-filter) [data-picker-option]:not([hidden])",
        ))
        .await
        .unwrap();
    assert_eq!(visible.len(), 1);
    filter.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_text(
        &client,
        "#s0-card fieldset:has(#s0-comp-filter) [data-picker-count]",
        "1 selected",
    )
    .await;
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/workspaces/demo/region-release/tasks/new",
        "Enter in the filter does not submit"
    );

    // A Manual Approval: People only.
    click(&client, "[data-step-add=approval]").await;
    assert_eq!(titles(&client).await, ["Step 1", "Step 2"]);
    assert!(shown(&client, "#s1-people-filter").await);
    assert!(!shown(&client, "#s1-region").await);
    tick(&client, 1, "people", "carol").await;

    // Another deploy, then a Manual Trigger that is removed again.
    click(&client, "[data-step-add=deploy]").await;
    client
        .find(Locator::Css("#s2-region"))
        .await
        .unwrap()
        .select_by_label("ap-southeast-1")
        .await
        .unwrap();
    tick(&client, 2, "comp", "fx-rates").await;
    click(&client, "[data-step-add=trigger]").await;
    assert_eq!(titles(&client).await.len(), 4);
    // Switching a card's type switches its fields.
    client
        .find(Locator::Css("#s3-kind"))
        .await
        .unwrap()
        .select_by_value("deploy")
        .await
        .unwrap();
    assert!(shown(&client, "#s3-region").await);
    click(&client, "#s3-card [data-step-remove]").await;
    assert_eq!(titles(&client).await, ["Step 1", "Step 2", "Step 3"]);

    // The ap-southeast-1 deploy moves up before the approval.
    click(&client, "#s2-card [data-step-move=up]").await;
    assert_eq!(
        text(&client, "#s1-region option:checked").await,
        "ap-southeast-1"
    );
    assert_eq!(
        wait_css(&client, "#s2-kind")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("approval")
    );
    client
        .execute(
            "document.querySelector('[data-step-builder]').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "step-builder").await;

    client.set_window_size(390, 844).await.unwrap();
    client
        .execute(
            "document.querySelector('[data-step-builder]').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "step-builder-phone").await;
    client.set_window_size(1280, 800).await.unwrap();

    // A Manual Trigger without a person: the form comes back with the error on its card and
    // every step as typed; removing that card and saving again works.
    click(&client, "[data-step-add=trigger]").await;
    click(&client, "form.form > .form-actions button.btn-primary").await;
    let error = wait_text(&client, "#s3-error", "Name at least one person").await;
    assert!(!error.is_empty());
    assert_eq!(titles(&client).await.len(), 4);
    assert!(
        text(&client, "#steps-error")
            .await
            .contains("Step 4: name at least one person")
    );
    assert!(
        !shown(&client, "#s3-region").await,
        "app.js runs on the new page"
    );
    client
        .execute(
            "document.getElementById('s2-card').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "step-builder-error").await;
    click(&client, "#s3-card [data-step-remove]").await;
    click(&client, "form.form > .form-actions button.btn-primary").await;
    wait_text(&client, ".toast-ok", "saved").await;
    let one = text(&client, "#step-1").await;
    let two = text(&client, "#step-2").await;
    let three = text(&client, "#step-3").await;
    assert!(
        one.contains("Deploy") && one.contains("us-east-1") && one.contains("notification-gw"),
        "{one}"
    );
    assert!(
        two.contains("Deploy") && two.contains("ap-southeast-1") && two.contains("fx-rates"),
        "{two}"
    );
    assert!(
        three.contains("Manual Approval") && three.contains("carol"),
        "{three}"
    );
    assert!(client.find(Locator::Css("#step-4")).await.is_err());

    // Edit shows the three steps as saved, each with its own fields.
    let task = client.current_url().await.unwrap();
    client
        .goto(&format!("{}/edit", task.as_str().trim_end_matches('/')))
        .await
        .unwrap();
    wait_css(&client, "[data-step-list]").await;
    assert_eq!(titles(&client).await, ["Step 1", "Step 2", "Step 3"]);
    for (i, kind) in ["deploy", "deploy", "approval"].iter().enumerate() {
        let v = wait_css(&client, &format!("#s{i}-kind"))
            .await
            .prop("value")
            .await
            .unwrap();
        assert_eq!(v.as_deref(), Some(*kind));
    }
    assert!(!shown(&client, "#s2-region").await);
    assert_eq!(
        text(
            &client,
            "#s0-card fieldset:has(#s0-comp-filter) [data-picker-count]"
        )
        .await,
        "1 selected"
    );
    let ticked = client
        .find(Locator::XPath(
            "//li[@id='s2-card']//label[contains(., 'carol')]/input",
        ))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(ticked.as_deref(), Some("true"));
}
