//! Every path that changes production holds the workspace's rules in the data layer, whoever
//! calls it: `production::apply` checks the authority it is given inside the transaction
//! (docs/SECURITY.md, "Paths to production and to a region"). The region paths are walked in
//! tests/region_release.rs, the import in tests/import_policy.rs — on SQLite and PostgreSQL.

mod support;

use releasedesk::domain::{PackageId, TaskId};
use releasedesk::domain::{UserId, WorkspaceId};
use std::time::Duration;

use diesel::prelude::*;
use releasedesk::db::models::production::{self, Authority};
use releasedesk::db::models::{jobs, releases, scripts, users, workspaces};
use releasedesk::db::schema::{release_packages, workspaces as workspaces_t};
use releasedesk::db::write_tx;
use releasedesk::error::AppError;
use releasedesk::paths;
use support::{Client, TestApp};

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn demo(app: &TestApp) -> WorkspaceId {
    app.db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await
}

/// A new script in `demo` with one submitted version; returns (script id, task id).
async fn submitted(client: &Client, path: &str) -> (i64, i64) {
    let created = client
        .post(
            &paths::scripts("demo"),
            &[
                ("path", path),
                ("script_type", "sql"),
                ("schedule", ""),
                ("description", ""),
                ("content", "select 1;"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let script: i64 = created
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let sent = client
        .post(
            &paths::script_submit("demo", script),
            &[("message", "first")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let task = client
        .get(&paths::script("demo", script))
        .await
        .texts(".toast-ok")
        .join(" ")
        .split("release task #")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a release task");
    (script, task)
}

/// Applies the script's latest version with `authority`, in a transaction as every caller does.
async fn apply(app: &TestApp, ws: i64, script: i64, authority: Authority) -> Result<(), AppError> {
    app.db(move |c| {
        write_tx(c, |c| {
            let version = scripts::version(c, script, 1)?.ok_or(AppError::NotFound)?;
            production::apply(c, WorkspaceId(ws), &version, authority)
                .map(|_| ())
                .map_err(AppError::from)
        })
    })
    .await
}

async fn live(app: &TestApp, script: i64) -> bool {
    app.db(move |c| production::live_version(c, script).unwrap().is_some())
        .await
}

fn refused(outcome: Result<(), AppError>, why: &str) {
    match outcome {
        Err(AppError::Forbidden(message)) => assert!(message.contains(why), "{message}"),
        other => panic!("expected a refusal ({why}), got {other:?}"),
    }
}

/// The authorities that do not hold are refused, and nothing goes live: simple mode in an
/// enterprise workspace, a direct release by someone who needs approval (a developer, or anyone
/// under `everyone`), and a package that is not releasing or lacks its approval.
async fn production_refuses_a_version_without_its_authority(app: TestApp) {
    let app = app.with_demo().await;
    let ws = demo(&app).await;
    let (alice_id, carol_id) = (id_of(&app, "alice").await, id_of(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let (script, task) = submitted(&alice, "paths/guarded.sql").await;

    refused(
        apply(
            &app,
            ws.get(),
            script,
            Authority::SimpleMode { actor_id: carol_id },
        )
        .await,
        "not in simple mode",
    );
    refused(
        apply(
            &app,
            ws.get(),
            script,
            Authority::Direct { actor_id: alice_id },
        )
        .await,
        "needs a reviewer",
    );
    app.db(move |c| {
        diesel::update(workspaces_t::table.find(ws))
            .set(workspaces_t::approval_policy.eq("everyone"))
            .execute(c)
            .unwrap()
    })
    .await;
    refused(
        apply(
            &app,
            ws.get(),
            script,
            Authority::Direct { actor_id: carol_id },
        )
        .await,
        "needs a reviewer",
    );

    // A package waiting for review is not released, nor one forged into `releasing`.
    let released = alice
        .post(
            &paths::release("demo"),
            &[
                ("task_ids", &task.to_string()),
                ("reviewers", &carol_id.to_string()),
            ],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    let package: i64 = released
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    refused(
        apply(
            &app,
            ws.get(),
            script,
            Authority::Package(PackageId(package)),
        )
        .await,
        "not releasing",
    );
    app.db(move |c| {
        diesel::update(release_packages::table.find(package))
            .set(release_packages::status.eq("releasing"))
            .execute(c)
            .unwrap()
    })
    .await;
    refused(
        apply(
            &app,
            ws.get(),
            script,
            Authority::Package(PackageId(package)),
        )
        .await,
        "lacks the approval",
    );
    assert!(!live(&app, script).await, "nothing went live");
}

/// The worker applies a package only with its approval: a package forged into `releasing`
/// without one (a path that forgot the rule) fails its tasks instead of releasing them.
async fn the_worker_never_releases_a_package_without_its_approval(app: TestApp) {
    let app = app.with_demo().await;
    let ws = demo(&app).await;
    let (alice_id, carol_id) = (id_of(&app, "alice").await, id_of(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let (script, task) = submitted(&alice, "paths/forged.sql").await;
    let outcome = app
        .db(move |c| {
            releases::release(
                c,
                alice_id,
                ws,
                &releases::ReleaseRequest {
                    task_ids: vec![TaskId(task)],
                    name: Default::default(),
                    comment: Default::default(),
                    reviewers: vec![carol_id],
                },
            )
        })
        .await
        .unwrap();
    assert!(outcome.needs_approval);
    let package = outcome.package_id;
    app.db(move |c| {
        diesel::update(release_packages::table.find(package))
            .set(release_packages::status.eq("releasing"))
            .execute(c)
            .unwrap();
        jobs::enqueue(c, jobs::RELEASE_PACKAGE, &package.to_string()).unwrap();
    })
    .await;
    let mut status = String::new();
    for _ in 0..100 {
        status = app
            .db(move |c| {
                releases::find_package(c, ws, package)
                    .unwrap()
                    .unwrap()
                    .status
                    .as_str()
                    .to_owned()
            })
            .await;
        if status != "releasing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "failed");
    assert!(!live(&app, script).await, "nothing went live");
    let page = alice.get(&paths::package("demo", package)).await;
    assert!(page.body.contains("lacks the approval"), "the reason shows");
}

on_both_backends!(
    production_refuses_a_version_without_its_authority,
    the_worker_never_releases_a_package_without_its_approval,
);
