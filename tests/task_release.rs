//! Task Release end to end through HTTP: scripts and versions, release tasks, packages,
//! reviews, the release worker and production — on SQLite and PostgreSQL.

mod support;

use releasedesk::domain::TaskId;
use releasedesk::domain::WorkspaceId;
use releasedesk::domain::{PackageId, UserId};
use std::time::Duration;

use diesel::prelude::*;
use releasedesk::db::models::{releases, scripts, users, workspaces};
use releasedesk::db::schema::{jobs, production_history, release_tasks};
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

/// Creates a script through the page and submits its first version; returns (script id, task id).
async fn new_script(client: &Client, path: &str, content: &str) -> (i64, i64) {
    let resp = client
        .post(
            &paths::scripts("demo"),
            &[
                ("path", path),
                ("script_type", "sql"),
                ("schedule", "0 4 * * *"),
                ("description", ""),
                ("content", content),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let location = resp.location().unwrap().to_owned();
    let script_id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let submitted = client
        .post(
            &paths::script_submit("demo", script_id),
            &[("message", "first")],
        )
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let page = client.get(&location).await;
    let toast = page.texts(".toast-ok").join(" ");
    let task_id: i64 = toast
        .split("release task #")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no task in {toast:?}"));
    (script_id, task_id)
}

async fn task_status(app: &TestApp, task_id: i64) -> String {
    app.db(move |c| {
        release_tasks::table
            .find(task_id)
            .select(release_tasks::status)
            .first::<String>(c)
            .unwrap()
    })
    .await
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

/// Releases one task for one reviewer's approval (`reviewer` a user id) in `demo`.
async fn release_for(client: &Client, task: i64, reviewer: &str) -> support::Resp {
    client
        .post(
            &paths::release("demo"),
            &[("task_ids", &task.to_string()), ("reviewers", reviewer)],
        )
        .await
}

fn package_id_from(resp: &support::Resp) -> PackageId {
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no package in {:?}: {}", resp.location(), resp.body))
}

async fn developer_submits_versions_and_gets_release_tasks(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (script, v1) = new_script(&alice, "etl/payments_raw.sql", "SELECT 1;\n").await;
    assert_eq!(task_status(&app, v1).await, "pending");

    let again = alice
        .post(
            &paths::script_submit("demo", script),
            &[("message", "again")],
        )
        .await;
    assert_eq!(again.status, 422);
    assert_eq!(
        again.texts("#message-error"),
        vec!["Nothing changed since v1: edit the script before submitting."]
    );

    let bad = alice
        .post(
            &paths::script("demo", script),
            &[
                ("script_type", "sql"),
                ("schedule", "99 * * * *"),
                ("content", "SELECT 2;\n"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.texts("#schedule-error")[0].starts_with("The minute field"));
    assert_eq!(
        bad.texts("#e-content"),
        vec!["SELECT 2;"],
        "the text is kept"
    );

    alice
        .post(
            &paths::script("demo", script),
            &[
                ("script_type", "sql"),
                ("schedule", "0 4 * * *"),
                ("content", "SELECT 2;\n"),
            ],
        )
        .await;
    alice
        .post(
            &paths::script_submit("demo", script),
            &[("message", "second")],
        )
        .await;
    assert_eq!(
        task_status(&app, v1).await,
        "superseded",
        "v2 supersedes the unreleased v1"
    );
    let page = alice
        .get(&format!("/workspaces/demo/scripts/{script}?from=1&to=2"))
        .await;
    assert_eq!(
        page.texts("#compare .diff mark"),
        vec!["1;", "2;"],
        "word-level highlights"
    );

    let viewer = app.signed_in("victor").await;
    let refused = viewer
        .post(
            &paths::scripts("demo"),
            &[("path", "x/y.sql"), ("script_type", "sql"), ("content", "")],
        )
        .await;
    assert_eq!(refused.status, 403, "viewers do not edit scripts");
}

async fn developer_release_needs_an_eligible_reviewer_other_than_themselves(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (_, task) = new_script(&alice, "etl/ledger.sql", "SELECT * FROM ledger;\n").await;
    let t = task.to_string();
    let none = alice
        .post(&paths::release("demo"), &[("task_ids", &t)])
        .await;
    assert_eq!(none.status, 422);
    assert_eq!(
        none.texts("#reviewers-error"),
        vec!["Choose at least one reviewer: this release needs approval."]
    );
    assert!(
        none.has("input[name=task_ids][checked]"),
        "the selection is kept"
    );

    let me = id_of(&app, "alice").await.to_string();
    let own = alice
        .post(
            &paths::release("demo"),
            &[("task_ids", &t), ("reviewers", &me)],
        )
        .await;
    assert_eq!(
        own.texts("#reviewers-error"),
        vec!["You cannot review your own release; choose someone else."]
    );
    let victor = id_of(&app, "victor").await.to_string();
    let viewer = alice
        .post(
            &paths::release("demo"),
            &[("task_ids", &t), ("reviewers", &victor)],
        )
        .await;
    assert!(viewer.texts("#reviewers-error")[0].contains("not on this workspace's reviewer list"));
    assert_eq!(task_status(&app, task).await, "pending", "nothing happened");

    let carol = id_of(&app, "carol").await.to_string();
    let ok = alice
        .post(
            &paths::release("demo"),
            &[
                ("task_ids", &t),
                ("reviewers", &carol),
                ("name", "ledger-v1"),
                ("comment", "please"),
            ],
        )
        .await;
    let package = package_id_from(&ok);
    assert_eq!(
        package_status(&app, package.get()).await,
        "pending_approval"
    );
    assert_eq!(task_status(&app, task).await, "in_review");

    // The applicant never sees Approve and the server refuses it anyway.
    let page = alice
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert!(!page.has("#decision-form"));
    let forced = alice
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(forced.status, 403);
    // Nor can the database be made to hold it.
    let ws = demo(&app).await;
    let alice_id = id_of(&app, "alice").await;
    let err = app
        .db(move |c| {
            diesel::sql_query(format!(
                "INSERT INTO package_reviewers (package_id, applicant_id, reviewer_id) VALUES ({package}, {alice_id}, {alice_id})"
            ))
            .execute(c)
        })
        .await;
    assert!(err.is_err(), "CHECK (reviewer_id <> applicant_id)");
    let _ = ws;
}

async fn approval_releases_the_package_to_production(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (_, task) = new_script(&alice, "etl/fx_rates.sql", "SELECT * FROM fx;\n").await;
    let carol_id = id_of(&app, "carol").await.to_string();
    let carol = app.signed_in("carol").await;
    // The navigation's count of what waits for Carol: nothing shown when nothing waits.
    let waiting = |page: support::Resp| {
        page.texts("nav.nav .count")
            .first()
            .map_or(0, |n| n.parse::<i32>().unwrap())
    };
    let before = waiting(carol.get(&paths::workspace("demo")).await);
    let resp = alice
        .post(
            &paths::release("demo"),
            &[("task_ids", &task.to_string()), ("reviewers", &carol_id)],
        )
        .await;
    let package = package_id_from(&resp);

    let reviews = carol.get("/reviews").await;
    assert!(
        reviews
            .texts("#review-requests td a")
            .iter()
            .any(|n| n.starts_with("alice-")),
        "in Carol's reviews"
    );
    assert_eq!(
        waiting(carol.get(&paths::workspace("demo")).await),
        before + 1
    );

    let no_comment = carol
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "reject")],
        )
        .await;
    assert_eq!(no_comment.status, 422);
    assert!(no_comment.texts("#comment-error")[0].starts_with("Say why you reject it"));

    let approved = carol
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "approve"), ("comment", "ok")],
        )
        .await;
    assert_eq!(approved.status, 303);
    assert_eq!(wait_until_released(&app, package.get()).await, "released");
    assert_eq!(task_status(&app, task).await, "released");
    assert_eq!(waiting(carol.get(&paths::workspace("demo")).await), before);

    let production = carol.get(&paths::production("demo")).await;
    let row = production
        .texts("#production tbody tr")
        .into_iter()
        .find(|r| r.contains("etl/fx_rates.sql"))
        .unwrap();
    assert!(row.contains("v1") && row.contains("Started"), "{row}");
    let details = carol
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert_eq!(details.texts("#progress-text"), vec!["1 of 1 released"]);
    assert!(
        !details.has("#progress[hx-trigger]"),
        "polling stops when finished"
    );
    let timeline = details.texts("#timeline li").join("\n");
    assert!(
        timeline.contains("approved") && timeline.contains("released it to production"),
        "{timeline}"
    );
}

async fn deployers_release_directly_and_the_worker_applies_each_task_once(app: TestApp) {
    let app = app.with_demo().await;
    let bob = app.signed_in("bob").await;
    let mut tasks = Vec::new();
    for i in 0..5 {
        tasks.push(
            new_script(
                &bob,
                &format!("batch/job_{i}.sql"),
                &format!("SELECT {i};\n"),
            )
            .await
            .1,
        );
    }
    let ids: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|t| ("task_ids", t.as_str())).collect();
    form.push(("name", "batch"));
    let resp = bob.post(&paths::release("demo"), &form).await;
    let package = package_id_from(&resp);
    assert_eq!(wait_until_released(&app, package.get()).await, "released");
    let applied: i64 = app
        .db(move |c| {
            production_history::table
                .filter(production_history::package_id.eq(package))
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(applied, 5, "each task applied exactly once");
}

async fn rejection_needs_a_comment_and_the_tasks_can_be_released_again(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (_, task) = new_script(&alice, "etl/churn.sql", "SELECT churn;\n").await;
    let bob_id = id_of(&app, "bob").await.to_string();
    let package = package_id_from(&release_for(&alice, task, &bob_id).await);
    let bob = app.signed_in("bob").await;
    bob.post(
        &paths::package_decision("demo", PackageId(package.get())),
        &[("decision", "reject"), ("comment", "wrong table")],
    )
    .await;
    assert_eq!(package_status(&app, package.get()).await, "rejected");
    assert_eq!(task_status(&app, task).await, "rejected");
    // Nothing of a rejected package will be released: its rows say so instead of "Waiting".
    let details = alice
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert_eq!(
        details.texts("#package-tasks tbody td:nth-child(3)"),
        vec!["Withdrawn"]
    );
    assert_eq!(
        details.texts("#package-tasks tbody td:nth-child(5)"),
        vec!["rejected"]
    );
    let carol_id = id_of(&app, "carol").await.to_string();
    let again = release_for(&alice, task, &carol_id).await;
    assert_eq!(again.status, 303, "a rejected task can be released again");
    let second = package_id_from(&again);
    // "Compare Version with" offers the other packages holding one of this one's scripts:
    // not this package, not a package of another script.
    let (_, unrelated) = new_script(&alice, "etl/other.sql", "SELECT 1;\n").await;
    let third = package_id_from(&release_for(&alice, unrelated, &bob_id).await);
    let choices = |id: i64| {
        let alice = &alice;
        async move {
            alice
                .get(&paths::package("demo", PackageId(id)))
                .await
                .html()
                .select(&scraper::Selector::parse("#cmp-with option").unwrap())
                .map(|o| o.value().attr("value").unwrap().parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(choices(second.get()).await, vec![package.get()]);
    assert_eq!(choices(package.get()).await, vec![second.get()]);
    assert_eq!(choices(third.get()).await, Vec::<i64>::new());
    // Those choices read package_tasks' copy of each task's script, which the schema keeps equal
    // to the task's: a row naming another script is refused.
    let wrong = app
        .db(move |c| {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!(
                    "UPDATE package_tasks SET script_id = (SELECT script_id FROM release_tasks \
                     WHERE id = {unrelated}) WHERE package_id = {second}"
                )),
                c,
            )
        })
        .await;
    assert!(wrong.is_err(), "a package row's script must be its task's");
}

async fn at_most_100_tasks_per_release(app: TestApp) {
    let app = app.with_demo().await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "bob", "bulk/s_", 101))
        .await;
    let bob = app.signed_in("bob").await;
    let ids: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    let form: Vec<(&str, &str)> = ids.iter().map(|t| ("task_ids", t.as_str())).collect();
    let refused = bob.post(&paths::release("demo"), &form).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.texts("#release-alert"),
        vec!["101 tasks are selected; at most 100 can be released or revoked at a time."]
    );
    let ok = bob.post(&paths::release("demo"), &form[..100]).await;
    assert_eq!(ok.status, 303);
}

async fn two_reviewers_approving_at_once_release_once(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (carol, bob) = (app.signed_in("carol").await, app.signed_in("bob").await);
    let reviewers = [
        id_of(&app, "carol").await.to_string(),
        id_of(&app, "bob").await.to_string(),
    ];
    for round in 0..3 {
        let (_, task) = new_script(&alice, &format!("race/r_{round}.sql"), "SELECT 1;\n").await;
        let t = task.to_string();
        let package = package_id_from(
            &alice
                .post(
                    &paths::release("demo"),
                    &[
                        ("task_ids", &t),
                        ("reviewers", &reviewers[0]),
                        ("reviewers", &reviewers[1]),
                    ],
                )
                .await,
        );
        let path = paths::package_decision("demo", PackageId(package.get()));
        let (a, b) = tokio::join!(
            carol.post(&path, &[("decision", "approve")]),
            bob.post(&path, &[("decision", "approve")])
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [303, 409],
            "round {round}: one decides, one is told"
        );
        let page = path.replace("/decision", "");
        let messages = [
            if a.status == 409 {
                a.texts(".toast")
            } else {
                carol.get(&page).await.texts(".toast")
            },
            if b.status == 409 {
                b.texts(".toast")
            } else {
                bob.get(&page).await.texts(".toast")
            },
        ];
        let losers = messages
            .iter()
            .filter(|m| {
                m.iter()
                    .any(|t| t.contains("already") || t.contains("same moment"))
            })
            .count();
        assert_eq!(losers, 1, "round {round}: {messages:?}");
        let jobs: i64 = app
            .db(move |c| {
                jobs::table
                    .filter(jobs::queue.eq(releasedesk::db::models::jobs::RELEASE_PACKAGE))
                    .filter(jobs::payload.eq(package.to_string()))
                    .count()
                    .get_result(c)
                    .unwrap()
            })
            .await;
        assert_eq!(jobs, 1, "one release job");
        assert_eq!(wait_until_released(&app, package.get()).await, "released");
    }
}

async fn developers_revoke_only_their_own_tasks(app: TestApp) {
    let app = app.with_demo().await;
    let (alice, bob) = (app.signed_in("alice").await, app.signed_in("bob").await);
    let (_, bobs) = new_script(&bob, "ops/bob_task.sql", "SELECT 1;\n").await;
    let (_, alices) = new_script(&alice, "ops/alice_task.sql", "SELECT 2;\n").await;
    let refused = alice
        .post(&paths::revoke("demo"), &[("task_ids", &bobs.to_string())])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.texts("#release-alert")[0].contains("developers revoke only their own tasks"));
    assert_eq!(task_status(&app, bobs).await, "pending");
    assert_eq!(
        alice
            .post(&paths::revoke("demo"), &[("task_ids", &alices.to_string())])
            .await
            .status,
        303
    );
    assert_eq!(
        bob.post(&paths::revoke("demo"), &[("task_ids", &bobs.to_string())])
            .await
            .status,
        303
    );
    assert_eq!(task_status(&app, alices).await, "revoked");
    let again = bob
        .post(&paths::revoke("demo"), &[("task_ids", &bobs.to_string())])
        .await;
    assert!(again.texts("#release-alert")[0].contains("can no longer be revoked"));
}

async fn quorum_all_waits_for_every_reviewer(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    carol
        .post(
            &paths::settings_general("demo"),
            &[
                ("name", "Demo"),
                ("mode", "enterprise"),
                ("approval_policy", "everyone"),
                ("quorum", "all"),
            ],
        )
        .await;
    let bob = app.signed_in("bob").await;
    let (_, task) = new_script(&bob, "etl/q_all.sql", "SELECT 1;\n").await;
    // Under "everyone", even a deployer needs approval.
    let direct = bob
        .post(&paths::release("demo"), &[("task_ids", &task.to_string())])
        .await;
    assert_eq!(direct.status, 422);
    let carol_id = id_of(&app, "carol").await.to_string();
    let tara_id = id_of(&app, "tara").await;
    let demo_id = demo(&app).await;
    app.db(move |c| {
        workspaces::add_member(
            c,
            tara_id,
            demo_id,
            "tara",
            releasedesk::domain::Role::Admin,
        )
        .unwrap();
        workspaces::add_reviewer(c, tara_id, demo_id, tara_id).unwrap();
    })
    .await;
    let tara_s = tara_id.to_string();
    let package = package_id_from(
        &bob.post(
            &paths::release("demo"),
            &[
                ("task_ids", &task.to_string()),
                ("reviewers", &carol_id),
                ("reviewers", &tara_s),
            ],
        )
        .await,
    );
    carol
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(
        package_status(&app, package.get()).await,
        "pending_approval",
        "one of two approvals"
    );
    let tara = app.signed_in("tara").await;
    tara.post(
        &paths::package_decision("demo", PackageId(package.get())),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(wait_until_released(&app, package.get()).await, "released");
}

async fn losing_the_role_removes_pending_reviews_visibly(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (_, task) = new_script(&alice, "etl/role_loss.sql", "SELECT 1;\n").await;
    let bob_id = id_of(&app, "bob").await;
    let package = package_id_from(
        &alice
            .post(
                &paths::release("demo"),
                &[
                    ("task_ids", &task.to_string()),
                    ("reviewers", &bob_id.to_string()),
                ],
            )
            .await,
    );
    let carol = app.signed_in("carol").await;
    carol
        .post(
            &paths::settings_member_role("demo", UserId(bob_id.get())),
            &[
                ("role", "developer"),
                ("expected", "deployer"),
                ("confirm", "1"),
            ],
        )
        .await;
    let bob = app.signed_in("bob").await;
    assert!(
        bob.get("/reviews").await.has(".empty-state"),
        "no longer waiting for bob"
    );
    let refused = bob
        .post(
            &paths::package_decision("demo", PackageId(package.get())),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let page = alice
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert!(
        page.texts("#timeline li")
            .iter()
            .any(|l| l.contains("removed a reviewer") && l.contains("role changed to developer"))
    );
}

async fn simple_mode_puts_a_submitted_version_live_at_once(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    carol
        .post(
            &paths::settings_general("demo"),
            &[
                ("name", "Demo"),
                ("mode", "simple"),
                ("approval_policy", "developers"),
                ("quorum", "any"),
            ],
        )
        .await;
    let alice = app.signed_in("alice").await;
    let resp = alice
        .post(
            &paths::scripts("demo"),
            &[
                ("path", "simple/now.sql"),
                ("script_type", "sql"),
                ("content", "SELECT now();"),
            ],
        )
        .await;
    let location = resp.location().unwrap().to_owned();
    alice
        .post(&format!("{location}/submit"), &[("message", "go")])
        .await;
    assert!(alice.get(&location).await.texts(".toast-ok")[0].contains("live in production"));
    let production = alice.get(&paths::production("demo")).await;
    assert!(
        production
            .texts("#production td a")
            .contains(&"simple/now.sql".to_owned())
    );
}

async fn tasks_tab_searches_filters_and_sorts(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    for q in ["orders daily", "daily ordrs", "DAILY_ORDERS"] {
        let page = victor
            .get(&format!(
                "/workspaces/demo/task-release/tasks?q={}",
                q.replace(' ', "+")
            ))
            .await;
        let names = page.texts("#tasks tbody td.mono");
        assert!(
            names.first().is_some_and(|n| n == "etl/daily_orders.sql"),
            "{q}: {names:?}"
        );
    }
    let pending = victor
        .get("/workspaces/demo/task-release/tasks?status=pending&sort=name&dir=asc")
        .await;
    let names = pending.texts("#tasks tbody td.mono");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(
        pending
            .texts("#tasks tbody .badge")
            .iter()
            .all(|b| b == "Pending")
    );
    let fragment = victor
        .get_htmx("/workspaces/demo/task-release/tasks?submitter=bob")
        .await;
    assert!(!fragment.body.contains("<html"));
    assert!(
        fragment
            .texts("#tasks tbody tr td:nth-child(4)")
            .iter()
            .all(|s| s == "bob")
    );
    assert!(
        !victor
            .get(&paths::tasks("demo"))
            .await
            .has("input[name=task_ids]"),
        "viewers select nothing"
    );
    for bad in [
        "status=bogus",
        "sort=size",
        "page=0",
        "dir=up",
        "per_page=1000",
    ] {
        assert_eq!(
            victor
                .get(&format!("/workspaces/demo/task-release/tasks?{bad}"))
                .await
                .status,
            400,
            "{bad}"
        );
    }
    let packages = victor
        .get("/workspaces/demo/task-release/packages?status=rejected")
        .await;
    assert_eq!(
        packages.texts("#packages tbody td:first-child a"),
        vec!["weekly-report"]
    );
    assert_eq!(
        victor
            .get("/workspaces/demo/task-release/packages?applied_from=2026-13-01")
            .await
            .status,
        400
    );
    // A window around now (robust at midnight), and one in the past.
    let now = chrono::Utc::now().date_naive();
    let (from, to) = (now.pred_opt().unwrap(), now.succ_opt().unwrap());
    let ranged = victor
        .get(&format!(
            "/workspaces/demo/task-release/packages?applied_from={from}&applied_to={to}"
        ))
        .await;
    assert_eq!(
        ranged.texts("#packages tbody tr td:first-child a").len(),
        5,
        "every demo package"
    );
    let past = victor
        .get("/workspaces/demo/task-release/packages?applied_from=2020-01-01&applied_to=2020-12-31")
        .await;
    assert_eq!(
        past.texts("tr.empty"),
        vec!["No package matches these filters."]
    );
    // A page number that is not one names the parameter, on every paged list; blank is absent.
    for (path, message) in [
        (
            "task-release/tasks?page=zz",
            "page must be a positive number.",
        ),
        (
            "task-release/packages?per_page=1e3",
            "per_page must be between 1 and 200.",
        ),
        (
            "region-release/tasks?page=-1",
            "page must be a positive number.",
        ),
        ("scripts?per_page=", ""),
        ("production?page=2.5", "page must be a positive number."),
        ("audit?page=", ""),
    ] {
        let resp = victor.get(&format!("/workspaces/demo/{path}")).await;
        if message.is_empty() {
            assert_eq!(resp.status, 200, "{path}");
        } else {
            assert_eq!(resp.status, 400, "{path}");
            assert!(resp.body.contains(message), "{path}: {}", resp.body);
            assert!(!resp.body.contains("deserialize"), "{path}");
        }
    }
}

/// A worker that died mid-package: it released one task, then vanished holding the job. Its
/// lease expires, the next worker resumes with the second task, and the first is not applied
/// again.
async fn the_scripts_list_searches_through_the_index_and_pages(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    let paths = |query: &'static str| {
        let victor = &victor;
        async move {
            let page = victor
                .get(&format!("/workspaces/demo/scripts?{query}"))
                .await;
            assert_eq!(page.status, 200, "{}", page.body);
            page.texts("#scripts tbody td:first-child a")
        }
    };
    // Every word in any order; the path starting with the query first, then by path.
    assert_eq!(
        paths("q=orders+etl").await,
        vec!["etl/daily_orders.sql", "etl/orders_agg.sql"]
    );
    assert_eq!(paths("q=etl%2Forders").await, vec!["etl/orders_agg.sql"]);
    // A typo: no path contains "nightyl", two are close.
    assert_eq!(
        paths("q=nightyl").await,
        vec!["batch/nightly_a.sql", "batch/nightly_b.sql"]
    );
    assert!(paths("q=zzzz").await.is_empty());
    // Pages of the whole list, by path.
    let all = paths("per_page=200").await;
    assert_eq!(all.len(), 8, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    let second = victor
        .get("/workspaces/demo/scripts?per_page=3&page=2")
        .await;
    assert_eq!(
        second.texts("#scripts tbody td:first-child a"),
        all[3..6].to_vec()
    );
    assert!(second.body.contains("Page 2 of 3"), "{}", second.body);
}

async fn a_crashed_release_resumes_without_applying_twice(app: TestApp) {
    // The same backend, without this instance's own worker (the test plays both workers).
    let backend = app.backend;
    drop(app);
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        return;
    };
    let app = app.with_demo().await;
    let ws = demo(&app).await;
    let bob_id = id_of(&app, "bob").await;
    let (package, tasks) = app
        .db(move |c| {
            let mut tasks = Vec::new();
            for i in 0..3 {
                let path =
                    releasedesk::domain::ScriptPath::parse(&format!("crash/c_{i}.sql")).unwrap();
                let draft = scripts::ScriptDraft {
                    script_type: releasedesk::domain::ScriptType::Sql,
                    schedule: String::new(),
                    description: Default::default(),
                    content: format!("SELECT {i};"),
                };
                let s = scripts::create(c, bob_id, ws, &path, &draft).unwrap();
                tasks.push(
                    scripts::submit_version(c, bob_id, ws, s.id, "crash test")
                        .unwrap()
                        .task_id
                        .unwrap(),
                );
            }
            let req = releases::ReleaseRequest {
                task_ids: tasks.clone(),
                name: "crash".parse().unwrap(),
                comment: Default::default(),
                reviewers: vec![],
            };
            (
                releases::release(c, bob_id, ws, &req).unwrap().package_id,
                tasks,
            )
        })
        .await;
    let job = app
        .db(move |c| {
            // The doomed worker claims the job and releases exactly one task, then "dies".
            let job = releasedesk::db::models::jobs::claim(
                c,
                releasedesk::db::models::jobs::RELEASE_PACKAGE,
                "doomed",
                60,
            )
            .unwrap()
            .unwrap();
            assert!(matches!(
                releasedesk::db::models::releases::release_next_task(c, package).unwrap(),
                releasedesk::db::models::releases::Next::Applied
            ));
            // Nothing else can take the job while its lease runs.
            assert!(
                releasedesk::db::models::jobs::claim(
                    c,
                    releasedesk::db::models::jobs::RELEASE_PACKAGE,
                    "other",
                    60,
                )
                .unwrap()
                .is_none()
            );
            job.id
        })
        .await;
    // Issue 25, item 8: while it is stuck, the package page says the release resumes, and when.
    let bob = app.signed_in("bob").await;
    let path = paths::package("demo", package);
    assert!(!bob.get(&path).await.has("#package-stall"), "not yet quiet");
    app.db(move |c| {
        diesel::update(jobs::table.find(job))
            .set(
                jobs::updated_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(20)),
            )
            .execute(c)
            .unwrap()
    })
    .await;
    let stalled = bob.get(&path).await.texts("#package-stall").join(" ");
    assert!(
        stalled.contains("No progress for 2")
            && stalled.contains("resumes where it stopped within"),
        "{stalled}"
    );
    app.db(move |c| {
        diesel::update(jobs::table.find(job))
            .set(
                jobs::locked_until
                    .eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)),
            )
            .execute(c)
            .unwrap();
        // A new worker resumes after the lease expired.
        assert_eq!(releasedesk::worker::drain(c).unwrap(), 1);
    })
    .await;
    assert_eq!(package_status(&app, package.get()).await, "released");
    for t in tasks {
        assert_eq!(task_status(&app, t.get()).await, "released");
    }
    let (applied, audited): (i64, i64) = app
        .db(move |c| {
            use releasedesk::db::schema::audit_log;
            let applied = production_history::table
                .filter(production_history::package_id.eq(package))
                .count()
                .get_result(c)
                .unwrap();
            let audited = audit_log::table
                .filter(audit_log::action.eq("task.released"))
                .filter(audit_log::target_label.like("crash/%"))
                .count()
                .get_result(c)
                .unwrap();
            (applied, audited)
        })
        .await;
    assert_eq!(
        (applied, audited),
        (3, 3),
        "each task applied and recorded exactly once"
    );
}

/// Issue 25, item 1: 100 tasks from the page. A page size of 20, 50 or 100 kept in the links;
/// "select all N" offers every selectable match when they span pages and number at most 100;
/// a release refused with a message keeps the selection of other pages as hidden inputs.
async fn the_tasks_tab_pages_by_choice_and_keeps_a_selection_across_pages(app: TestApp) {
    let app = app.with_demo().await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "paged/s_", 30))
        .await;
    let alice = app.signed_in("alice").await;
    let page = alice
        .get("/workspaces/demo/task-release/tasks?q=paged&per_page=20")
        .await;
    assert_eq!(page.texts("#tasks tbody tr").len(), 20);
    assert_eq!(
        page.value("#f-per-page option[selected]"),
        Some("20".into())
    );
    let matching: Vec<TaskId> = page
        .html()
        .select(&scraper::Selector::parse("#select-matching").unwrap())
        .next()
        .expect("select all matching is offered")
        .value()
        .attr("data-select-ids")
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let mut sorted = matching.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, tasks, "every match, across both pages");
    let fifty = alice
        .get("/workspaces/demo/task-release/tasks?q=paged&per_page=50")
        .await;
    assert_eq!(fifty.texts("#tasks tbody tr").len(), 30);
    assert!(!fifty.has("#select-matching"), "all on one page");
    assert!(
        alice
            .get("/workspaces/demo/task-release/tasks?q=paged&per_page=10")
            .await
            .html()
            .select(&scraper::Selector::parse(".pagination a").unwrap())
            .all(|a| a.value().attr("href").unwrap().contains("per_page=10")),
        "the pager keeps the page size"
    );

    // Released without a reviewer: refused, and the selection comes back, page 1 checked and
    // the rest carried.
    let ids: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|t| ("task_ids", t.as_str())).collect();
    form.push(("back", "q=paged&per_page=20&page=1"));
    let refused = alice.post(&paths::release("demo"), &form).await;
    assert_eq!(refused.status, 422);
    let checked = refused
        .html()
        .select(&scraper::Selector::parse("#tasks input[name=task_ids][checked]").unwrap())
        .count();
    let carried = refused
        .html()
        .select(&scraper::Selector::parse("[data-selection-carry] input[name=task_ids]").unwrap())
        .count();
    assert_eq!(
        checked + carried,
        30,
        "{checked} checked, {carried} carried"
    );
    assert!(carried > 0);
}

/// Issue 25, item 2: the Packages list's Operation column opens View Details and Compare
/// Version (seed 000), and Compare Version says why when there is nothing to compare with.
async fn the_packages_list_offers_details_and_compare_version(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let list = alice.get(&paths::packages("demo")).await;
    let hrefs: Vec<String> = list
        .html()
        .select(&scraper::Selector::parse("#packages tbody tr:first-child td.actions a").unwrap())
        .map(|a| a.value().attr("href").unwrap().to_owned())
        .collect();
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    assert!(hrefs[1].ends_with("#compare") && hrefs[1].starts_with(&hrefs[0]));
    assert_eq!(
        list.texts("#packages tbody tr:first-child td.actions a"),
        vec!["View Details", "Compare Version"]
    );
    let bob = app.signed_in("bob").await;
    let (_, task) = new_script(&bob, "etl/alone.sql", "SELECT 1;").await;
    let released = bob
        .post(&paths::release("demo"), &[("task_ids", &task.to_string())])
        .await;
    let package = package_id_from(&released);
    let page = bob
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert!(page.has("#compare"));
    assert!(page.texts("#compare-none")[0].contains("no other package releases"));
}

/// Issue 25, item 3: the release dialog links the reviewer information for a release that
/// needs approval, and a direct release gets a dialog with the package name and a comment.
async fn the_release_dialog_explains_reviewers_and_direct_releases(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app
        .signed_in("alice")
        .await
        .get(&paths::tasks("demo"))
        .await;
    assert_eq!(alice.texts("#release-h"), vec!["Release for approval"]);
    let info = alice.texts("#reviewer-info li").join(" ");
    assert!(info.contains("carol") && info.contains("bob"), "{info}");
    assert!(!info.contains("alice"), "never the applicant");
    let bob = app.signed_in("bob").await.get(&paths::tasks("demo")).await;
    assert_eq!(bob.texts("#release-h"), vec!["Release to production"]);
    assert!(bob.has("#release-dialog #r-name") && bob.has("#release-dialog #r-comment"));
    assert!(!bob.has("#release-dialog input[name=reviewers]"));
    assert_eq!(
        bob.texts("#release-dialog button[type=submit]"),
        vec!["Release now"]
    );
}

/// Issue 25, item 7: a finished package shows no stale review state: a reviewer who did not
/// need to decide is not "waiting", and a revoked package shows no progress.
async fn finished_packages_show_no_waiting_reviewers_nor_progress(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let (carol_id, bob_id) = (id_of(&app, "carol").await, id_of(&app, "bob").await);
    let release = |task: i64| {
        let alice = &alice;
        async move {
            package_id_from(
                &alice
                    .post(
                        &paths::release("demo"),
                        &[
                            ("task_ids", &task.to_string()),
                            ("reviewers", &carol_id.to_string()),
                            ("reviewers", &bob_id.to_string()),
                        ],
                    )
                    .await,
            )
        }
    };
    let (_, task) = new_script(&alice, "etl/one_of_two.sql", "SELECT 1;").await;
    let package = release(task).await;
    let path = paths::package("demo", PackageId(package.get()));
    let pending = alice.get(&path).await;
    assert_eq!(pending.texts("#reviewers .badge-warn").len(), 2);
    app.signed_in("carol")
        .await
        .decide_package("demo", PackageId(package.get()), "approve", "")
        .await;
    assert_eq!(wait_until_released(&app, package.get()).await, "released");
    let done = alice.get(&path).await;
    assert!(
        done.texts("#reviewers .badge-warn").is_empty(),
        "nobody waits"
    );
    assert_eq!(
        done.texts("#reviewers .badge-muted"),
        vec!["no decision needed"]
    );

    let (_, task) = new_script(&alice, "etl/withdrawn.sql", "SELECT 2;").await;
    let package = release(task).await;
    alice
        .post(&paths::revoke("demo"), &[("task_ids", &task.to_string())])
        .await;
    let revoked = alice
        .get(&paths::package("demo", PackageId(package.get())))
        .await;
    assert!(!revoked.has("#progress progress"), "no progress bar");
    assert!(revoked.texts("#progress-text")[0].starts_with("Withdrawn"));
    assert!(revoked.texts("#reviewers .badge-warn").is_empty());
}

on_both_backends!(
    finished_packages_show_no_waiting_reviewers_nor_progress,
    the_release_dialog_explains_reviewers_and_direct_releases,
    the_packages_list_offers_details_and_compare_version,
    the_tasks_tab_pages_by_choice_and_keeps_a_selection_across_pages,
    developer_submits_versions_and_gets_release_tasks,
    developer_release_needs_an_eligible_reviewer_other_than_themselves,
    approval_releases_the_package_to_production,
    deployers_release_directly_and_the_worker_applies_each_task_once,
    rejection_needs_a_comment_and_the_tasks_can_be_released_again,
    at_most_100_tasks_per_release,
    two_reviewers_approving_at_once_release_once,
    developers_revoke_only_their_own_tasks,
    quorum_all_waits_for_every_reviewer,
    losing_the_role_removes_pending_reviews_visibly,
    simple_mode_puts_a_submitted_version_live_at_once,
    tasks_tab_searches_filters_and_sorts,
    a_crashed_release_resumes_without_applying_twice,
    the_scripts_list_searches_through_the_index_and_pages,
);

mod import_export {
    use super::*;

    const BUNDLE: &str = r#"{"format":"releasedesk.scripts/v1","scripts":[
        {"path":"imp/new_task.sql","type":"sql","schedule":"0 5 * * *","content":"SELECT 'task';\n","state":"submitted","message":"from bundle"},
        {"path":"imp/live_now.sh","type":"shell","content":"echo live\n","state":"released"}]}"#;

    async fn admins_import_bundles_all_or_nothing(app: TestApp) {
        let app = app.with_demo().await;
        let bob = app.signed_in("bob").await;
        assert_eq!(
            bob.get(&paths::scripts_import("demo")).await.status,
            403,
            "deployers do not import"
        );
        assert_eq!(
            bob.post(&paths::scripts_import("demo"), &[("bundle", BUNDLE)])
                .await
                .status,
            403
        );

        let carol = app.signed_in("carol").await;
        let broken = BUNDLE.replace("\"released\"}", "\"deployed\"}");
        let refused = carol
            .post(&paths::scripts_import("demo"), &[("bundle", &broken)])
            .await;
        assert_eq!(refused.status, 422);
        assert_eq!(
            refused.texts("#bundle-error"),
            vec![
                "Nothing was imported. scripts[1] (imp/live_now.sh): state is “submitted” or “released”, not “deployed”"
            ]
        );
        assert_eq!(
            refused.texts("#bundle"),
            vec![broken.split_whitespace().collect::<Vec<_>>().join(" ")],
            "the input is kept"
        );
        let ws = demo(&app).await;
        let none = app
            .db(move |c| scripts::find_by_path(c, ws, "imp/new_task.sql").unwrap())
            .await;
        assert!(none.is_none(), "the good entry was not half-imported");

        let ok = carol
            .post(&paths::scripts_import("demo"), &[("bundle", BUNDLE)])
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let toast = carol
            .get(&paths::scripts("demo"))
            .await
            .texts(".toast-ok")
            .join(" ");
        assert!(
            toast.contains("1 release task created, 1 script released to production"),
            "{toast}"
        );
        let tasks = carol
            .get("/workspaces/demo/task-release/tasks?q=imp%2Fnew_task")
            .await;
        assert_eq!(
            tasks.texts("#tasks tbody td.mono"),
            vec!["imp/new_task.sql"]
        );
        let production = carol.get(&paths::production("demo")).await;
        assert!(
            production
                .texts("#production td a")
                .contains(&"imp/live_now.sh".to_owned())
        );
        assert!(
            carol
                .get("/workspaces/demo/task-release/tasks?q=live_now")
                .await
                .texts("#tasks tbody td.mono")
                .is_empty(),
            "released: no task"
        );

        let export = carol.get(&paths::scripts_export("demo")).await;
        let bundle: serde_json::Value = serde_json::from_str(&export.body).unwrap();
        let entries = bundle["scripts"].as_array().unwrap();
        let live = entries
            .iter()
            .find(|e| e["path"] == "imp/live_now.sh")
            .unwrap();
        assert_eq!(live["state"], "released");
        let pending = entries
            .iter()
            .find(|e| e["path"] == "imp/new_task.sql")
            .unwrap();
        assert_eq!(pending["state"], "submitted");
        // The export imports cleanly again (nothing changed).
        let again = carol
            .post(&paths::scripts_import("demo"), &[("bundle", &export.body)])
            .await;
        assert_eq!(again.status, 303);
    }

    async fn demo_shows_a_partially_failed_release(app: TestApp) {
        let app = app.with_demo().await;
        let victor = app.signed_in("victor").await;
        let page = victor
            .get("/workspaces/demo/task-release/packages?status=partially_failed")
            .await;
        assert_eq!(
            page.texts("#packages tbody td:first-child a"),
            vec!["nightly-batch"]
        );
        let failed = victor
            .get("/workspaces/demo/task-release/tasks?status=failed")
            .await;
        let row = failed.texts("#tasks tbody tr").join(" ");
        assert!(
            row.contains("batch/nightly_b.sql") && row.contains("newer than v1"),
            "{row}"
        );
    }

    on_both_backends!(
        admins_import_bundles_all_or_nothing,
        demo_shows_a_partially_failed_release
    );
}

mod refusals_and_races {
    use super::*;

    async fn approving_after_a_revoke_is_refused(app: TestApp) {
        let app = app.with_demo().await;
        let alice = app.signed_in("alice").await;
        let (_, task) = new_script(&alice, "etl/revoked_then.sql", "SELECT 1;\n").await;
        let carol_id = id_of(&app, "carol").await.to_string();
        let package = package_id_from(
            &alice
                .post(
                    &paths::release("demo"),
                    &[("task_ids", &task.to_string()), ("reviewers", &carol_id)],
                )
                .await,
        );
        assert_eq!(
            alice
                .post(&paths::revoke("demo"), &[("task_ids", &task.to_string())])
                .await
                .status,
            303
        );
        assert_eq!(
            package_status(&app, package.get()).await,
            "revoked",
            "its only task left"
        );
        let carol = app.signed_in("carol").await;
        let late = carol
            .post(
                &paths::package_decision("demo", PackageId(package.get())),
                &[("decision", "approve")],
            )
            .await;
        assert_eq!(late.status, 409);
        assert_eq!(
            late.texts(".toast-error"),
            vec!["This package is already revoked; your decision was not recorded. ×"]
        );
        assert_eq!(task_status(&app, task).await, "revoked");
    }

    /// Release and revoke of the same task at the same moment: exactly one wins.
    async fn release_and_revoke_at_once_yield_one_transition(app: TestApp) {
        let app = app.with_demo().await;
        let bob = app.signed_in("bob").await;
        let carol = app.signed_in("carol").await;
        for round in 0..5 {
            let (_, task) = new_script(&bob, &format!("race/rr_{round}.sql"), "SELECT 1;\n").await;
            let t = task.to_string();
            let fields = [("task_ids", t.as_str())];
            let (release, revoke) = (paths::release("demo"), paths::revoke("demo"));
            let (a, b) = tokio::join!(bob.post(&release, &fields), carol.post(&revoke, &fields));
            let status = task_status(&app, task).await;
            let released = a.status == 303;
            let revoked = b.status == 303;
            assert!(
                released ^ revoked,
                "round {round}: exactly one wins ({}, {})",
                a.status,
                b.status
            );
            if released {
                assert!(status == "releasing" || status == "released", "{status}");
                assert!(b.texts("#release-alert")[0].contains("can no longer be revoked"));
            } else {
                assert_eq!(status, "revoked");
                assert!(a.texts("#release-alert")[0].contains("cannot be released now"));
            }
        }
    }

    async fn audit_log_exports_csv_with_its_filters(app: TestApp) {
        let app = app.with_demo().await;
        let victor = app.signed_in("victor").await;
        let csv = victor
            .get("/workspaces/demo/audit.csv?action=package.")
            .await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        let mut lines = csv.body.lines();
        assert_eq!(
            lines.next(),
            Some("time_utc,actor,action,target_type,target,comment")
        );
        let rows: Vec<&str> = lines.collect();
        assert!(
            !rows.is_empty() && rows.iter().all(|l| l.contains(",\"package.")),
            "{rows:?}"
        );
        assert!(
            rows.iter()
                .any(|l| l.contains("\"package.rejected\"") && l.contains("use date_trunc"))
        );
        let page = victor.get("/workspaces/demo/audit?action=package.").await;
        assert!(page.value("#csv-link").is_none());
        assert!(
            page.body
                .contains("/workspaces/demo/audit.csv?action=package.")
        );
    }

    on_both_backends!(
        approving_after_a_revoke_is_refused,
        release_and_revoke_at_once_yield_one_transition,
        audit_log_exports_csv_with_its_filters,
    );
}
