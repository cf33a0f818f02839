//! The script editor's Submit sends what the editor holds (issue 25, item 11): the posted
//! draft is saved and submitted in one transaction, under the rules of Save draft then Submit;
//! a refused submission saves nothing and shows the user's text again. On SQLite and
//! PostgreSQL.

mod support;

use releasedesk::db::models::{scripts, workspaces};
use releasedesk::paths;
use support::{Client, TestApp};

/// (script id, saved draft, latest version number, saved description) of a demo script.
async fn script(app: &TestApp, path: &'static str) -> (i64, String, i32, String) {
    app.db(move |c| {
        let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
        let s = scripts::find_by_path(c, ws, path).unwrap().unwrap();
        (s.id, s.draft_content, s.latest_version, s.description)
    })
    .await
}

async fn version_content(app: &TestApp, script: i64, number: i32) -> Option<String> {
    app.db(move |c| {
        scripts::version(c, script, number)
            .unwrap()
            .map(|v| v.content)
    })
    .await
}

/// Posts the editor's Submit: the draft form's fields with the message.
async fn submit(client: &Client, script: i64, content: &str, schedule: &str) -> support::Resp {
    client
        .post(
            &paths::script_submit("demo", script),
            &[
                ("script_type", "sql"),
                ("schedule", schedule),
                ("description", "Daily order totals"),
                ("content", content),
                ("message", "Typed and submitted"),
            ],
        )
        .await
}

async fn submit_sends_the_editors_unsaved_content(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (id, saved, latest, description) = script(&app, "etl/daily_orders.sql").await;
    assert_ne!(description, "Daily order totals", "submit() changes it");

    // The page's Submit button posts the draft form, to /submit.
    let page = alice.get(&paths::script("demo", id)).await;
    let submit_path = paths::script_submit("demo", id);
    assert!(page.has(&format!(
        "button#submit-version[form=draft-form][formaction='{submit_path}']"
    )));
    assert!(page.has("form#draft-form[data-warn-unsaved] textarea[name=content]"));
    assert!(page.has("#s-message[form=draft-form]"));
    assert!(
        page.has("[data-unsaved-hint][hidden]"),
        "nothing unsaved yet"
    );

    let typed = format!("{saved}-- typed, never saved\n");
    let resp = submit(&alice, id, &typed, "0 2 * * *").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let next = alice.get(resp.location().unwrap()).await;
    assert!(
        next.texts(".toast-ok")
            .join(" ")
            .contains(&format!("v{} submitted", latest + 1)),
        "{:?}",
        next.texts(".toast-ok")
    );
    assert_eq!(
        version_content(&app, id, latest + 1).await,
        Some(typed.clone())
    );
    let (_, draft, now, description) = script(&app, "etl/daily_orders.sql").await;
    assert_eq!(
        (draft, now, description.as_str()),
        (typed.clone(), latest + 1, "Daily order totals"),
        "saved as well"
    );

    // The old form (message only) still submits the saved draft.
    let again = alice.post(&submit_path, &[("message", "same again")]).await;
    assert_eq!(again.status, 422);
    assert!(again.texts("#message-error")[0].starts_with("Nothing changed since"));
}

async fn a_refused_submission_saves_nothing_and_keeps_the_text(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (id, saved, latest, description) = script(&app, "etl/daily_orders.sql").await;
    assert_ne!(description, "Daily order totals", "submit() changes it");

    let unchanged = (id, saved.clone(), latest, description);
    // Bad input: the draft's rules apply, the text comes back, nothing is written.
    let typed = format!("{saved}-- with a bad schedule\n");
    let bad = submit(&alice, id, &typed, "every day").await;
    assert_eq!(bad.status, 422);
    assert!(bad.has("#schedule-error"));
    assert!(bad.texts("#e-content")[0].contains("with a bad schedule"));
    assert!(bad.has("form#draft-form[data-dirty=true]"));
    assert!(
        bad.has("[data-unsaved-hint]:not([hidden])"),
        "the hint shows without script"
    );
    assert!(!bad.has("#submit-version[disabled]"));
    let too_big = "x".repeat(1024 * 1024 + 1);
    assert_eq!(submit(&alice, id, &too_big, "").await.status, 422);
    assert_eq!(
        script(&app, "etl/daily_orders.sql").await,
        unchanged.clone()
    );

    // The same as the latest version: refused by the data layer, and the draft is not saved
    // either (one transaction).
    let latest_content = version_content(&app, id, latest).await.unwrap();
    let same = submit(&alice, id, &latest_content, "0 2 * * *").await;
    assert_eq!(same.status, 422);
    assert!(same.texts("#message-error")[0].starts_with("Nothing changed since"));
    assert_eq!(
        script(&app, "etl/daily_orders.sql").await,
        unchanged.clone()
    );

    // A viewer may not submit, with or without content.
    let victor = app.signed_in("victor").await;
    let refused = submit(&victor, id, "DROP TABLE mart.daily_orders;\n", "").await;
    assert_eq!(refused.status, 403);
    assert_eq!(script(&app, "etl/daily_orders.sql").await, unchanged);
}

on_both_backends!(
    submit_sends_the_editors_unsaved_content,
    a_refused_submission_saves_nothing_and_keeps_the_text,
);
