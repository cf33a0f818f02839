//! Browser test of unsaved script edits (issue 25, item 11): typing in the editor shows
//! "Unsaved changes" and enables Submit; leaving asks first (until the form is submitted);
//! Submit sends the typed text as the new version without a Save draft first. Screenshot
//! `script-unsaved`.

mod support;

use fantoccini::Locator;
use releasedesk::db::models::{scripts, workspaces};
use releasedesk::paths;
use support::TestApp;
use support::browser::*;

in_the_browser!(typed_edits_are_submitted_and_not_lost);

async fn hint_shown(client: &fantoccini::Client) -> bool {
    client
        .find(Locator::Css("#draft-form [data-unsaved-hint]"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap()
}

/// Whether the page cancels a beforeunload (the browser then asks "Leave site?").
async fn leaving_asks(client: &fantoccini::Client) -> bool {
    client
        .execute(
            "const e = new Event('beforeunload', {cancelable: true});\
             window.dispatchEvent(e);\
             return e.defaultPrevented;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

async fn submit_disabled(client: &fantoccini::Client) -> bool {
    client
        .find(Locator::Css("#submit-version"))
        .await
        .unwrap()
        .attr("disabled")
        .await
        .unwrap()
        .is_some()
}

/// Alice types into daily orders' editor (its saved draft is its latest version, so Submit
/// starts disabled), is asked before leaving, and submits without saving first.
async fn typed_edits_are_submitted_and_not_lost(app: TestApp) {
    let (id, latest) = app
        .db(|c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            let s = scripts::find_by_path(c, ws, "etl/daily_orders.sql")
                .unwrap()
                .unwrap();
            (s.id, s.latest_version)
        })
        .await;
    let (_driver, client) = start_browser().await;
    client.set_window_size(1280, 800).await.unwrap();
    sign_in(&client, &app, "alice").await;
    let editor = paths::script("demo", id);
    client.goto(&app.url(&editor)).await.unwrap();
    wait_css(&client, "#e-content").await;
    assert!(!hint_shown(&client).await);
    assert!(submit_disabled(&client).await, "nothing to submit yet");
    assert!(!leaving_asks(&client).await, "nothing to lose yet");

    let content = client.find(Locator::Css("#e-content")).await.unwrap();
    content.send_keys("-- checked by alice\n").await.unwrap();
    assert!(hint_shown(&client).await, "the hint shows while typing");
    assert!(
        !submit_disabled(&client).await,
        "Submit works with unsaved edits"
    );
    client
        .execute(
            "document.getElementById('submit').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "script-unsaved").await;

    // Leaving asks first. WebDriver accepts a real "Leave site?" prompt by itself (its
    // default for beforeunload), so the page's own answer is read: a cancelled beforeunload.
    assert!(
        leaving_asks(&client).await,
        "leaving with unsaved edits asks first"
    );
    // Submitting the form ends the warning (this submission is held back in the page, so the
    // real one below still happens).
    let after_submit = client
        .execute(
            "const f = document.getElementById('draft-form');\
             f.addEventListener('submit', (e) => e.preventDefault(), {once: true});\
             f.requestSubmit(document.getElementById('submit-version'));\
             const e = new Event('beforeunload', {cancelable: true});\
             window.dispatchEvent(e);\
             return e.defaultPrevented;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        after_submit,
        serde_json::json!(false),
        "no warning once submitted"
    );

    // Submit sends the typed text, with no warning on the way.
    client
        .find(Locator::Css("#s-message"))
        .await
        .unwrap()
        .send_keys("Note who checked it")
        .await
        .unwrap();
    client
        .find(Locator::Css("#submit-version"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&client, ".toast-ok", &format!("v{} submitted", latest + 1)).await;
    assert!(!hint_shown(&client).await);
    let version = app
        .db(move |c| {
            scripts::version(c, id, latest + 1)
                .unwrap()
                .map(|v| v.content)
        })
        .await
        .expect("the new version");
    assert!(
        version.contains("-- checked by alice"),
        "the typed text is the version: {version}"
    );
    assert!(
        client
            .find(Locator::Css("#versions"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Note who checked it")
    );
    client.close().await.unwrap();
}
