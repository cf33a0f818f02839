//! Import under the approval policy (issue 20, finding 3): a `released` bundle entry that would
//! change production obeys the same rule as a release from the Tasks tab. Under `everyone` it
//! becomes one package awaiting review with the importer as applicant; without a reviewer the
//! whole import is refused. Where the importer releases directly, it goes live at once and its
//! audit row names the import, never "simple mode" outside simple mode. On SQLite and PostgreSQL.

mod support;

use releasedesk::domain::PackageId;
use releasedesk::domain::{UserId, WorkspaceId};
use std::time::Duration;

use diesel::prelude::*;
use releasedesk::db::models::{production, scripts, users, workspaces};
use releasedesk::db::schema::{audit_log, package_reviewers, release_packages, release_tasks};
use releasedesk::paths;
use support::{Client, Resp, TestApp};

const IMPORT: &str = "/workspaces/demo/scripts/import";

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn demo(app: &TestApp) -> WorkspaceId {
    app.db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await
}

/// A bundle of `(path, content, state)` entries, all SQL without a schedule.
fn bundle(entries: &[(&str, &str, &str)]) -> String {
    let scripts: Vec<serde_json::Value> = entries
        .iter()
        .map(|(path, content, state)| {
            serde_json::json!({
                "path": path, "type": "sql", "content": content, "state": state,
                "message": "from a bundle",
            })
        })
        .collect();
    serde_json::json!({"format": "releasedesk.scripts/v1", "scripts": scripts}).to_string()
}

/// Sets the demo workspace's mode and approval policy (as its admin, carol).
async fn set_policy(carol: &Client, mode: &str, policy: &str) {
    let resp = carol
        .post(
            &paths::settings_general("demo"),
            &[
                ("name", "Demo"),
                ("mode", mode),
                ("approval_policy", policy),
                ("quorum", "any"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
}

/// What production runs for `path` (version number and content), if anything.
async fn live(app: &TestApp, path: &'static str) -> Option<(i32, String)> {
    let ws = demo(app).await;
    app.db(move |c| {
        let script = scripts::find_by_path(c, ws, path).unwrap()?;
        production::live_version(c, script.id)
            .unwrap()
            .map(|(n, content, ..)| (n, content))
    })
    .await
}

/// The latest version number of `path` (0 when the script does not exist).
async fn latest_version(app: &TestApp, path: &'static str) -> i32 {
    let ws = demo(app).await;
    app.db(move |c| {
        scripts::find_by_path(c, ws, path)
            .unwrap()
            .map_or(0, |s| s.latest_version)
    })
    .await
}

async fn package_count(app: &TestApp) -> i64 {
    app.db(|c| {
        release_packages::table
            .count()
            .get_result::<i64>(c)
            .unwrap()
    })
    .await
}

/// The comments of the `production.applied` audit rows about `path`.
async fn applied_comments(app: &TestApp, path: &'static str) -> Vec<String> {
    app.db(move |c| {
        audit_log::table
            .filter(audit_log::action.eq("production.applied"))
            .filter(audit_log::target_label.like(format!("{path} v%")))
            .order(audit_log::id)
            .select(audit_log::comment)
            .load(c)
            .unwrap()
    })
    .await
}

/// Puts `path` live with `content` under the default policy (`developers`: carol, an admin,
/// releases directly), so later imports change an existing live script.
async fn make_live(app: &TestApp, carol: &Client, path: &'static str, content: &str) {
    let resp = carol
        .post(
            IMPORT,
            &[("bundle", &bundle(&[(path, content, "released")]))],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(
        live(app, path).await.map(|(_, c)| c).as_deref(),
        Some(content)
    );
}

fn package_id_from(resp: &Resp) -> PackageId {
    resp.location()
        .and_then(|l| l.strip_prefix("/workspaces/demo/task-release/packages/"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "not sent to a package: {:?}: {}",
                resp.location(),
                resp.body
            )
        })
}

async fn package_status(app: &TestApp, package_id: i64) -> String {
    support::package_status(app, "demo", PackageId(package_id)).await
}

/// Waits (bounded) for the background worker to finish a package.
async fn wait_until_released(app: &TestApp, package_id: i64) -> String {
    for _ in 0..100 {
        let s = package_status(app, package_id).await;
        if s != "releasing" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("package {package_id} still releasing after 10 s");
}

/// The exact attack: policy `everyone`, an admin imports new content for a live script marked
/// `released`. Production does not move; a package waits for the chosen reviewer, with the
/// importer as applicant; the reviewer's approval puts it live.
async fn admin_import_under_everyone_waits_for_review(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    set_policy(&carol, "enterprise", "everyone").await;

    let page = carol.get(IMPORT).await;
    let bob_id = id_of(&app, "bob").await;
    let carol_id = id_of(&app, "carol").await;
    assert!(
        page.has(&format!("input[name=reviewers][value='{bob_id}']")),
        "the picker offers the workspace's reviewers"
    );
    assert!(
        !page.has(&format!("input[name=reviewers][value='{carol_id}']")),
        "but not the importer"
    );

    let changed = bundle(&[("imp/orders.sql", "SELECT 2; -- changed\n", "released")]);
    let resp = carol
        .post(
            IMPORT,
            &[("bundle", &changed), ("reviewers", &bob_id.to_string())],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package = package_id_from(&resp);
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((1, "SELECT 1;\n".into())),
        "production did not move"
    );
    let shown = carol
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    let toast = shown.texts(".toast-ok").join(" ");
    assert!(toast.contains("waiting for review in package"), "{toast}");

    let (status, applicant, reviewers, tasks) = app
        .db(move |c| {
            let (status, applicant): (String, UserId) = release_packages::table
                .find(package)
                .select((release_packages::status, release_packages::applicant_id))
                .first(c)
                .unwrap();
            let reviewers: Vec<UserId> = package_reviewers::table
                .filter(package_reviewers::package_id.eq(package))
                .select(package_reviewers::reviewer_id)
                .load(c)
                .unwrap();
            let tasks: Vec<(String, i32, String, Option<UserId>)> = release_tasks::table
                .filter(release_tasks::package_id.eq(package))
                .select((
                    release_tasks::name,
                    release_tasks::version_number,
                    release_tasks::status,
                    release_tasks::submitted_by,
                ))
                .load(c)
                .unwrap();
            (status, applicant, reviewers, tasks)
        })
        .await;
    assert_eq!(status, "pending_approval");
    assert_eq!(applicant, carol_id, "the importer applies");
    assert_eq!(reviewers, vec![bob_id]);
    assert_eq!(
        tasks,
        vec![(
            "imp/orders.sql".to_owned(),
            2,
            "in_review".to_owned(),
            Some(carol_id)
        )]
    );
    assert!(
        !applied_comments(&app, "imp/orders.sql")
            .await
            .iter()
            .any(|c| c.contains("v2") || c.contains("simple mode")),
        "nothing was applied"
    );

    let bob = app.signed_in("bob").await;
    let approved = bob
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(wait_until_released(&app, package.get()).await, "released");
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((2, "SELECT 2; -- changed\n".into()))
    );
}

/// Without a reviewer the whole import is refused (the `submitted` entry too), with the message
/// on the picker and the bundle text kept.
async fn import_under_everyone_without_reviewer_is_refused_whole(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    set_policy(&carol, "enterprise", "everyone").await;
    let packages = package_count(&app).await;

    let text = bundle(&[
        ("imp/new_task.sql", "SELECT 'task';\n", "submitted"),
        ("imp/orders.sql", "SELECT 2;\n", "released"),
    ]);
    let refused = carol.post(IMPORT, &[("bundle", &text)]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.texts("#reviewers-error"),
        vec![
            "Nothing was imported. Choose at least one reviewer: under the approval policy “everyone” released entries need review."
        ]
    );
    assert_eq!(
        refused.texts("#bundle"),
        vec![text.clone()],
        "the input is kept"
    );
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((1, "SELECT 1;\n".into()))
    );
    assert_eq!(
        latest_version(&app, "imp/orders.sql").await,
        1,
        "no version"
    );
    assert_eq!(
        latest_version(&app, "imp/new_task.sql").await,
        0,
        "the submitted entry was not imported either"
    );
    assert_eq!(package_count(&app).await, packages);
}

/// The importer cannot be the reviewer of their own import; the choices are kept on the form.
async fn importer_cannot_review_their_own_import(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    set_policy(&carol, "enterprise", "everyone").await;
    let packages = package_count(&app).await;
    let (carol_id, bob_id) = (id_of(&app, "carol").await, id_of(&app, "bob").await);

    let text = bundle(&[("imp/orders.sql", "SELECT 2;\n", "released")]);
    let refused = carol
        .post(
            IMPORT,
            &[
                ("bundle", &text),
                ("reviewers", &carol_id.to_string()),
                ("reviewers", &bob_id.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = refused.texts("#reviewers-error").join(" ");
    assert!(
        message.contains("You cannot review your own release"),
        "{message}"
    );
    assert!(
        refused.has(&format!("input[name=reviewers][value='{bob_id}'][checked]")),
        "the other choice is kept"
    );
    assert_eq!(latest_version(&app, "imp/orders.sql").await, 1);
    assert_eq!(package_count(&app).await, packages);
}

/// Under `developers` an admin still releases an import directly: live at once, no package,
/// and the audit row says it was an import.
async fn developers_policy_admin_import_goes_live_directly(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    let packages = package_count(&app).await;
    let resp = carol
        .post(
            IMPORT,
            &[(
                "bundle",
                &bundle(&[("imp/orders.sql", "SELECT 2;\n", "released")]),
            )],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(
        resp.location(),
        Some(paths::scripts("demo").as_str()),
        "no package to show"
    );
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((2, "SELECT 2;\n".into()))
    );
    assert_eq!(package_count(&app).await, packages);
    assert_eq!(
        applied_comments(&app, "imp/orders.sql").await,
        vec!["imported: released directly", "imported: released directly"]
    );
}

/// The audit row of a `released` import: "simple mode" only in simple mode.
async fn audit_row_names_the_import_in_either_mode(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let text = bundle(&[("imp/enterprise.sql", "SELECT 1;\n", "released")]);
    assert_eq!(carol.post(IMPORT, &[("bundle", &text)]).await.status, 303);
    assert_eq!(
        applied_comments(&app, "imp/enterprise.sql").await,
        vec!["imported: released directly"]
    );

    set_policy(&carol, "simple", "everyone").await;
    let text = bundle(&[
        ("imp/simple.sql", "SELECT 1;\n", "released"),
        ("imp/simple_submitted.sql", "SELECT 1;\n", "submitted"),
    ]);
    let resp = carol.post(IMPORT, &[("bundle", &text)]).await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(
        applied_comments(&app, "imp/simple.sql").await,
        vec!["imported in simple mode: live at once"]
    );
    assert_eq!(
        applied_comments(&app, "imp/simple_submitted.sql").await,
        vec!["imported in simple mode: live at once"]
    );
}

/// A `released` entry that equals production changes nothing, so it needs no reviewer.
async fn released_entry_equal_to_production_needs_no_review(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    set_policy(&carol, "enterprise", "everyone").await;
    let packages = package_count(&app).await;
    let resp = carol
        .post(
            IMPORT,
            &[(
                "bundle",
                &bundle(&[("imp/orders.sql", "SELECT 1;\n", "released")]),
            )],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(resp.location(), Some(paths::scripts("demo").as_str()));
    assert_eq!(package_count(&app).await, packages);
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((1, "SELECT 1;\n".into()))
    );
}

/// A `released` entry equal to the latest version, which is not live, joins the package through
/// that version's pending task, rather than being applied directly.
async fn released_entry_equal_to_an_unreleased_version_joins_the_package(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    let submitted = carol
        .post(
            IMPORT,
            &[(
                "bundle",
                &bundle(&[("imp/orders.sql", "SELECT 2;\n", "submitted")]),
            )],
        )
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    set_policy(&carol, "enterprise", "everyone").await;
    let bob_id = id_of(&app, "bob").await.to_string();

    let text = bundle(&[("imp/orders.sql", "SELECT 2;\n", "released")]);
    let resp = carol
        .post(IMPORT, &[("bundle", &text), ("reviewers", &bob_id)])
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package = package_id_from(&resp);
    assert_eq!(
        package_status(&app, package.get()).await,
        "pending_approval"
    );
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((1, "SELECT 1;\n".into())),
        "not applied directly"
    );
    assert_eq!(latest_version(&app, "imp/orders.sql").await, 2);
}

/// A `released` entry equal to an unreleased version whose task was revoked has nothing to send
/// for review (the same content cannot be a new version): refused, naming the entry.
async fn released_entry_equal_to_a_revoked_version_is_refused(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    make_live(&app, &carol, "imp/orders.sql", "SELECT 1;\n").await;
    let text = bundle(&[("imp/orders.sql", "SELECT 2;\n", "submitted")]);
    assert_eq!(carol.post(IMPORT, &[("bundle", &text)]).await.status, 303);
    let task: i64 = app
        .db(|c| {
            release_tasks::table
                .filter(release_tasks::name.eq("imp/orders.sql"))
                .filter(release_tasks::version_number.eq(2))
                .select(release_tasks::id)
                .first(c)
                .unwrap()
        })
        .await;
    let revoked = carol
        .post(&paths::revoke("demo"), &[("task_ids", &task.to_string())])
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    set_policy(&carol, "enterprise", "everyone").await;
    let bob_id = id_of(&app, "bob").await.to_string();
    let packages = package_count(&app).await;

    let text = bundle(&[("imp/orders.sql", "SELECT 2;\n", "released")]);
    let refused = carol
        .post(IMPORT, &[("bundle", &text), ("reviewers", &bob_id)])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.texts("#bundle-error"),
        vec![
            "Nothing was imported. scripts[0] (imp/orders.sql): this content is v2, which is not live and cannot be sent for review (its release task is revoked); change the content to submit a new version"
        ]
    );
    assert_eq!(package_count(&app).await, packages);
    assert_eq!(
        live(&app, "imp/orders.sql").await,
        Some((1, "SELECT 1;\n".into()))
    );
}

/// More than one package's worth of `released` changes under `everyone` is refused whole.
async fn more_than_100_released_changes_under_everyone_are_refused(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    set_policy(&carol, "enterprise", "everyone").await;
    let paths: Vec<String> = (0..101).map(|i| format!("imp/many_{i:03}.sql")).collect();
    let entries: Vec<(&str, &str, &str)> = paths
        .iter()
        .map(|p| (p.as_str(), "SELECT 1;\n", "released"))
        .collect();
    let bob_id = id_of(&app, "bob").await.to_string();
    let refused = carol
        .post(
            IMPORT,
            &[("bundle", &bundle(&entries)), ("reviewers", &bob_id)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = refused.texts("#bundle-error").join(" ");
    assert!(
        message.contains("101 released entries change production")
            && message.contains("at most 100"),
        "{message}"
    );
    assert_eq!(latest_version(&app, "imp/many_000.sql").await, 0);
}

/// A developer cannot import (so a developer's import under `developers` cannot arise today),
/// and the data layer refuses it too, whatever the handler does; the route rule for that case
/// is `db::models::bundle::tests::released_entries_follow_the_release_rule` (unit).
async fn developer_cannot_import_even_through_the_data_layer(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let text = bundle(&[("imp/dev.sql", "SELECT 1;\n", "released")]);
    assert_eq!(alice.post(IMPORT, &[("bundle", &text)]).await.status, 403);
    let (alice_id, ws) = (id_of(&app, "alice").await, demo(&app).await);
    let refused = app
        .db(move |c| releasedesk::db::models::bundle::import(c, alice_id, ws, &text, &[]))
        .await;
    assert!(
        matches!(refused, Err(releasedesk::error::AppError::Forbidden(_))),
        "{refused:?}"
    );
    assert_eq!(latest_version(&app, "imp/dev.sql").await, 0);
}

on_both_backends!(
    developer_cannot_import_even_through_the_data_layer,
    admin_import_under_everyone_waits_for_review,
    import_under_everyone_without_reviewer_is_refused_whole,
    importer_cannot_review_their_own_import,
    developers_policy_admin_import_goes_live_directly,
    audit_row_names_the_import_in_either_mode,
    released_entry_equal_to_production_needs_no_review,
    released_entry_equal_to_an_unreleased_version_joins_the_package,
    released_entry_equal_to_a_revoked_version_is_refused,
    more_than_100_released_changes_under_everyone_are_refused,
);
