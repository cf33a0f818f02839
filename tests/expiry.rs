//! Approval expiry (issue 24), on both backends: the workspace setting and its validation; a
//! package still waiting for review past its deadline becomes `expired`, its tasks pending again
//! (and releasable), told to its applicant once; a deadline is fixed when the wait begins, so a
//! package from before the setting never expires; a checkpoint past its deadline fails its
//! region release with "approval expired" and tells the executor; and the races: an approval
//! against the sweep, and two sweepers at once, each give exactly one transition.
//!
//! Time is moved by the sweep's `at` (the deadline is in the future for the decision and in the
//! past for the sweep) or by setting a deadline in the past in the database; nothing sleeps.

mod support;

use std::sync::{Arc, Barrier};

use chrono::Duration;
use diesel::prelude::*;
use releasedesk::db::models::{region_release, releases, workspaces};
use releasedesk::db::schema::{
    audit_log, notifications, region_task_steps, regions, release_packages, release_tasks,
    users as users_t,
};
use releasedesk::db::{DbConn, Pool, now};
use releasedesk::domain::{
    ApprovalExpiry, ApprovalPolicy, Comment, Description, Operation, PackageId, Quorum,
    RegionTaskId, StepId, StepKind, TaskId, TokenScope, UserId, WorkspaceId, WorkspaceMode,
    WorkspaceName,
};
use releasedesk::error::AppError;
use releasedesk::paths;
use releasedesk::worker::expiry::sweep;
use support::api::{Api, token};
use support::{Backend, TestApp};

/// `on_both_backends!` with this file's app (no worker, a bigger pool, everyone mailable).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::app(super::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::app(super::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    the_setting_is_validated_and_kept,
    a_package_expires_and_its_tasks_can_be_released_again,
    a_package_from_before_the_setting_never_expires,
    an_approval_racing_the_sweep_leaves_one_winner,
    two_sweepers_expire_each_package_once,
    an_expired_checkpoint_fails_its_region_release,
);

async fn app(backend: Backend) -> Option<TestApp> {
    // No worker: nothing but the test's own sweeps moves a package.
    let app = TestApp::spawn_with(backend, |s| {
        s.pool_size = Some(8);
        s.run_worker = false;
    })
    .await?;
    let app = app.with_demo().await;
    // Everyone can be mailed, so the outbox records whom each event tells.
    app.db(|c| {
        diesel::update(users_t::table)
            .set(users_t::email.eq(users_t::username.concat("@example.com")))
            .execute(c)
            .unwrap();
    })
    .await;
    Some(app)
}

fn id(c: &mut DbConn, username: &str) -> UserId {
    releasedesk::db::models::users::find_by_username(c, username)
        .unwrap()
        .unwrap()
        .id
}

fn demo(c: &mut DbConn) -> WorkspaceId {
    workspaces::find_by_slug(c, "demo").unwrap().unwrap().id
}

/// Turns the demo workspace's approval expiry to `seconds` (`None`: off), as carol.
fn set_expiry(c: &mut DbConn, seconds: Option<i64>) {
    let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap();
    let carol = id(c, "carol");
    let update = workspaces::SettingsUpdate {
        name: WorkspaceName::parse(&ws.name).unwrap(),
        description: Description::parse(&ws.description).unwrap(),
        mode: WorkspaceMode::Enterprise,
        approval_policy: ApprovalPolicy::Developers,
        quorum: Quorum::Any,
        approval_expiry: seconds.map(|s| ApprovalExpiry::from_seconds(s).unwrap()),
    };
    workspaces::update_settings(c, carol, ws.id, &update).unwrap();
}

/// A package of alice's, of `n` new tasks, waiting for bob's review.
fn pending_package(c: &mut DbConn, prefix: &str, n: usize) -> (PackageId, Vec<TaskId>) {
    let tasks = support::submitted_tasks(c, "alice", prefix, n);
    let (ws, alice, bob) = (demo(c), id(c, "alice"), id(c, "bob"));
    let released = releases::release(
        c,
        alice,
        ws,
        &releases::ReleaseRequest {
            task_ids: tasks.clone(),
            name: Default::default(),
            comment: Default::default(),
            reviewers: vec![bob],
        },
    )
    .unwrap();
    assert!(released.needs_approval);
    (released.package_id, tasks)
}

fn status(c: &mut DbConn, package: PackageId) -> String {
    release_packages::table
        .find(package)
        .select(release_packages::status)
        .first(c)
        .unwrap()
}

fn audit_count(c: &mut DbConn, action: &str, target: i64) -> i64 {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target_id.eq(target))
        .count()
        .get_result(c)
        .unwrap()
}

/// Outbox rows of `kind` about package `package` (people and hooks).
fn told(c: &mut DbConn, kind: &str, package: PackageId) -> Vec<Option<i64>> {
    notifications::table
        .filter(notifications::kind.eq(kind))
        .filter(notifications::package_id.eq(package))
        .select(notifications::user_id)
        .load(c)
        .unwrap()
}

async fn the_setting_is_validated_and_kept(app: TestApp) {
    let carol = app.signed_in("carol").await;
    let form = |expiry: &'static str| {
        vec![
            ("name", "Demo Data Platform"),
            ("description", ""),
            ("mode", "enterprise"),
            ("approval_policy", "developers"),
            ("quorum", "any"),
            ("approval_expiry", expiry),
        ]
    };
    for bad in ["0", "30 min", "31 days", "whenever", "12"] {
        let resp = carol
            .post(&paths::settings_general("demo"), &form(bad))
            .await;
        assert_eq!(resp.status, 422, "{bad}: {}", resp.body);
        let message = resp.texts("#approval_expiry-error").join(" ");
        assert!(
            message.contains("Between 1 hour and 30 days"),
            "{bad}: {message}"
        );
        assert_eq!(
            resp.value("#g-approval-expiry").as_deref(),
            Some(bad),
            "the input is kept"
        );
        assert!(resp.has("#g-approval-expiry[aria-invalid=true]"));
    }
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap())
        .await;
    assert_eq!(ws.approval_expiry_seconds, None, "nothing saved");

    for (given, seconds, shown) in [("1h", 3_600, "1h"), ("30 days", 2_592_000, "30d")] {
        let resp = carol
            .post(&paths::settings_general("demo"), &form(given))
            .await;
        assert_eq!(resp.status, 303, "{given}: {}", resp.body);
        let ws = app
            .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap())
            .await;
        assert_eq!(ws.approval_expiry_seconds, Some(seconds));
        let page = carol.get(&paths::settings("demo")).await;
        assert_eq!(page.value("#g-approval-expiry").as_deref(), Some(shown));
    }
    let audit: Vec<String> = app
        .db(|c| {
            audit_log::table
                .filter(audit_log::action.eq("workspace.settings_changed"))
                .order(audit_log::id)
                .select(audit_log::comment)
                .load(c)
                .unwrap()
        })
        .await;
    assert!(
        audit
            .iter()
            .any(|a| a.ends_with("approval expiry: never → 1 hour")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a == "approval expiry: 1 hour → 30 days"),
        "{audit:?}"
    );
    // Empty turns it off again.
    let resp = carol
        .post(&paths::settings_general("demo"), &form(""))
        .await;
    assert_eq!(resp.status, 303);
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap())
        .await;
    assert_eq!(ws.approval_expiry_seconds, None);

    // Only admins: bob (a deployer) is refused, and nothing changes.
    let bob = app.signed_in("bob").await;
    let resp = bob
        .post(&paths::settings_general("demo"), &form("2h"))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.body);
    let ws = app
        .db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap())
        .await;
    assert_eq!(ws.approval_expiry_seconds, None);
}

async fn a_package_expires_and_its_tasks_can_be_released_again(app: TestApp) {
    app.db(|c| set_expiry(c, Some(3_600))).await;
    let (package, tasks) = app.db(|c| pending_package(c, "exp/a", 2)).await;
    let (applied, expires) = app
        .db(move |c| {
            release_packages::table
                .find(package)
                .select((release_packages::applied_at, release_packages::expires_at))
                .first::<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)>(c)
                .unwrap()
        })
        .await;
    assert_eq!(expires, Some(applied + Duration::hours(1)), "the deadline");

    // Before the deadline the sweep leaves it alone.
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 0);
    let alice = app.signed_in("alice").await;
    let page = alice.get(&paths::package("demo", package)).await;
    assert!(page.has("#package-expires time"), "the deadline is shown");

    // The deadline passes (moved into the past), and the sweep expires it, once.
    app.db(move |c| {
        diesel::update(release_packages::table.find(package))
            .set(release_packages::expires_at.eq(Some(now() - Duration::minutes(1))))
            .execute(c)
            .unwrap();
    })
    .await;
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 1);
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 0);
    assert_eq!(app.db(move |c| status(c, package)).await, "expired");
    let (back, audit, told_alice, actor) = app
        .db(move |c| {
            let back: Vec<(String, Option<PackageId>)> = release_tasks::table
                .filter(release_tasks::id.eq_any(&tasks))
                .select((release_tasks::status, release_tasks::package_id))
                .load(c)
                .unwrap();
            let audit = audit_count(c, "package.expired", package.get());
            let actor: Option<i64> = audit_log::table
                .filter(audit_log::action.eq("package.expired"))
                .select(audit_log::actor_id)
                .first(c)
                .unwrap();
            let alice = id(c, "alice");
            (
                back,
                audit,
                told(c, "package_expired", package) == vec![Some(alice.get())],
                actor,
            )
        })
        .await;
    assert!(
        back.iter().all(|(s, p)| s == "pending" && p.is_none()),
        "{back:?}"
    );
    assert_eq!(audit, 1);
    assert_eq!(actor, None, "the system expired it");
    assert!(told_alice, "the applicant is told, once");

    // Its page and the Packages tab say so, with why.
    let page = alice.get(&paths::package("demo", package)).await;
    assert_eq!(page.texts("#package-status"), ["Expired"]);
    assert!(page.has("#package-status.badge-expired"));
    let why = page.texts("#package-why").join(" ");
    assert!(
        why.starts_with("Expired at ") && why.ends_with("with no review"),
        "{why}"
    );
    let list = alice
        .get(&format!("{}?status=expired", paths::packages("demo")))
        .await;
    assert_eq!(list.status, 200);
    let href = paths::package("demo", package);
    assert!(
        list.has(&format!("a[href=\"{href}\"]")),
        "the filter lists it"
    );
    let pending = alice
        .get(&format!(
            "{}?status=pending_approval",
            paths::packages("demo")
        ))
        .await;
    assert!(!pending.has(&format!("a[href=\"{href}\"]")));

    // The API says `expired`, finished, and why.
    let secret = token(&app, "alice", TokenScope::Read).await;
    let api = Api::new(&app, Some(&secret));
    let got = api
        .get(&format!("/workspaces/demo/packages/{package}"))
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    let body = if got.json["package"].is_object() {
        &got.json["package"]
    } else {
        &got.json
    };
    assert_eq!(body["status"], "expired", "{}", got.text);
    assert_eq!(body["finished"], true);
    assert!(
        body["why"]
            .as_str()
            .unwrap_or("")
            .contains("with no review"),
        "{}",
        got.text
    );
    let listed = api.get("/workspaces/demo/packages?status=expired").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(
        listed.text.contains(&format!("\"id\":{package}")),
        "{}",
        listed.text
    );

    // bob's approval comes too late: a clear 409, not a 500.
    let bob = app.signed_in("bob").await;
    let late = bob.decide_package("demo", package, "approve", "").await;
    assert_eq!(late.status, 409, "{}", late.body);
    // The applicant releases the same tasks again.
    let bob_id = app.db(|c| id(c, "bob")).await;
    let again = alice
        .release(
            "demo",
            &app.db(move |c| {
                release_tasks::table
                    .filter(release_tasks::status.eq("pending"))
                    .filter(release_tasks::name.like("exp/a%"))
                    .select(release_tasks::id)
                    .load::<TaskId>(c)
                    .unwrap()
            })
            .await,
            &[bob_id],
            "",
            "",
        )
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
}

async fn a_package_from_before_the_setting_never_expires(app: TestApp) {
    let (old, _) = app.db(|c| pending_package(c, "exp/old", 1)).await;
    app.db(|c| set_expiry(c, Some(3_600))).await;
    let (new, _) = app.db(|c| pending_package(c, "exp/new", 1)).await;
    // Forty days later, only the package made under the setting expires.
    let later = now() + Duration::days(40);
    assert_eq!(app.db(move |c| sweep(c, later, 50).unwrap()).await, 1);
    assert_eq!(app.db(move |c| status(c, old)).await, "pending_approval");
    assert_eq!(app.db(move |c| status(c, new)).await, "expired");
    // Turning the setting off does not save a package made under it either: its deadline
    // was fixed when it began to wait.
    let (third, _) = app.db(|c| pending_package(c, "exp/third", 1)).await;
    app.db(|c| set_expiry(c, None)).await;
    assert_eq!(app.db(move |c| sweep(c, later, 50).unwrap()).await, 1);
    assert_eq!(app.db(move |c| status(c, third)).await, "expired");
}

/// Runs `a` and `b` on two pooled connections in two threads that start together.
fn at_once<A, B, RA, RB>(pool: &Pool, a: A, b: B) -> (RA, RB)
where
    A: FnOnce(&mut DbConn) -> RA + Send + 'static,
    B: FnOnce(&mut DbConn) -> RB + Send + 'static,
    RA: Send + 'static,
    RB: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let (pa, pb) = (pool.clone(), pool.clone());
    let (ba, bb) = (barrier.clone(), barrier);
    let ta = std::thread::spawn(move || {
        let mut c = pa.get().unwrap();
        ba.wait();
        a(&mut c)
    });
    let tb = std::thread::spawn(move || {
        let mut c = pb.get().unwrap();
        bb.wait();
        b(&mut c)
    });
    (ta.join().unwrap(), tb.join().unwrap())
}

async fn an_approval_racing_the_sweep_leaves_one_winner(app: TestApp) {
    const ROUNDS: usize = 40;
    app.db(|c| set_expiry(c, Some(3_600))).await;
    let pool = app.pool.clone();
    let (approved, expired) = tokio::task::spawn_blocking(move || {
        let mut c = pool.get().unwrap();
        let (ws, bob) = (demo(&mut c), id(&mut c, "bob"));
        let (mut approved, mut expired) = (0, 0);
        for round in 0..ROUNDS {
            let (package, _) = pending_package(&mut c, &format!("race/r{round}-"), 1);
            // The decision comes before the deadline (an hour away); the sweep runs as if the
            // deadline had passed. Whichever takes the workspace first wins.
            let (decided, swept) = at_once(
                &pool,
                move |c| {
                    releases::decide(
                        c,
                        bob,
                        ws,
                        package,
                        releases::Decision::Approve,
                        &Comment::default(),
                    )
                },
                move |c| sweep(c, now() + Duration::hours(2), 50),
            );
            let swept = swept.unwrap();
            let status = status(&mut c, package);
            let expiries = audit_count(&mut c, "package.expired", package.get());
            match decided {
                Ok(_) => {
                    assert_eq!(swept, 0, "round {round}: approved and expired");
                    assert_eq!(status, "releasing", "round {round}");
                    assert_eq!(expiries, 0, "round {round}");
                    approved += 1;
                }
                Err(AppError::Conflict(message)) => {
                    assert_eq!(swept, 1, "round {round}: refused but not expired");
                    assert_eq!(status, "expired", "round {round}");
                    assert_eq!(expiries, 1, "round {round}");
                    assert!(message.contains("expired"), "round {round}: {message}");
                    expired += 1;
                }
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        (approved, expired)
    })
    .await
    .unwrap();
    assert_eq!(approved + expired, ROUNDS);
    eprintln!("{ROUNDS} rounds: {approved} approvals won, {expired} expiries won");

    // After the deadline the approval is refused even before any sweep ran.
    let (package, _) = app.db(|c| pending_package(c, "race/late", 1)).await;
    app.db(move |c| {
        diesel::update(release_packages::table.find(package))
            .set(release_packages::expires_at.eq(Some(now() - Duration::seconds(1))))
            .execute(c)
            .unwrap();
    })
    .await;
    let bob = app.signed_in("bob").await;
    let resp = bob.decide_package("demo", package, "approve", "").await;
    assert_eq!(resp.status, 409, "{}", resp.body);
    assert_eq!(
        app.db(move |c| status(c, package)).await,
        "pending_approval"
    );
}

async fn two_sweepers_expire_each_package_once(app: TestApp) {
    const PACKAGES: usize = 12;
    app.db(|c| set_expiry(c, Some(3_600))).await;
    let packages: Vec<PackageId> = app
        .db(|c| {
            (0..PACKAGES)
                .map(|i| pending_package(c, &format!("sweep/p{i}-"), 1).0)
                .collect()
        })
        .await;
    let pool = app.pool.clone();
    let later = now() + Duration::hours(2);
    // Small batches, so the two sweepers take turns over the same packages.
    let (a, b) = tokio::task::spawn_blocking(move || {
        let turn = move |c: &mut DbConn| {
            let mut n = 0;
            loop {
                let done = sweep(c, later, 2).unwrap();
                if done == 0 {
                    return n;
                }
                n += done;
            }
        };
        at_once(&pool, turn, turn)
    })
    .await
    .unwrap();
    assert_eq!(a + b, PACKAGES, "{a} + {b}");
    app.db(move |c| {
        let alice = id(c, "alice");
        for p in &packages {
            assert_eq!(status(c, *p), "expired");
            assert_eq!(audit_count(c, "package.expired", p.get()), 1, "package {p}");
            assert_eq!(told(c, "package_expired", *p), vec![Some(alice.get())]);
        }
    })
    .await;
}

/// A region task of bob's with a Manual Approval naming carol, then a deploy step; bob
/// executes it and the worker takes it to the checkpoint.
fn waiting_checkpoint(c: &mut DbConn) -> (RegionTaskId, StepId) {
    use releasedesk::db::schema::components;
    let (ws, bob, carol) = (demo(c), id(c, "bob"), id(c, "carol"));
    let region: i64 = regions::table
        .filter(regions::workspace_id.eq(ws))
        .filter(regions::driver.eq("inventory"))
        .select(regions::id)
        .first(c)
        .unwrap();
    let component: i64 = components::table
        .filter(components::workspace_id.eq(ws))
        .select(components::id)
        .first(c)
        .unwrap();
    let task = region_release::create(
        c,
        bob,
        ws,
        &region_release::TaskInput {
            name: "expiring checkpoint".into(),
            description: Default::default(),
            operation: Operation::Deploy,
            source_region_id: None,
            best_effort: false,
            steps: vec![
                region_release::StepInput {
                    kind: StepKind::Approval,
                    region_id: None,
                    component_ids: vec![],
                    people: vec![carol],
                },
                region_release::StepInput {
                    kind: StepKind::Deploy,
                    region_id: Some(region),
                    component_ids: vec![component],
                    people: vec![],
                },
            ],
        },
    )
    .unwrap()
    .id;
    region_release::execute(c, bob, ws, task, None).unwrap();
    releasedesk::worker::drain(c).unwrap();
    let step = region_release::steps(c, task).unwrap()[0].clone();
    assert_eq!(step.status.as_str(), "waiting");
    (task, step.id)
}

async fn an_expired_checkpoint_fails_its_region_release(app: TestApp) {
    app.db(|c| set_expiry(c, Some(7_200))).await;
    let (task, step) = app.db(waiting_checkpoint).await;
    let (started, expires) = app
        .db(move |c| {
            region_task_steps::table
                .find(step)
                .select((region_task_steps::started_at, region_task_steps::expires_at))
                .first::<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)>(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        expires,
        started.map(|t| t + Duration::hours(2)),
        "the deadline"
    );
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 0);

    // An hour and a half later carol has not decided; the deadline passes.
    app.db(move |c| {
        diesel::update(region_task_steps::table.find(step))
            .set(region_task_steps::expires_at.eq(Some(now() - Duration::seconds(5))))
            .execute(c)
            .unwrap();
    })
    .await;
    // carol's decision after the deadline is refused, before and after the sweep.
    let carol = app.signed_in("carol").await;
    let late = carol.decide_step("demo", task, step, "agree", "").await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 1);
    assert_eq!(app.db(|c| sweep(c, now(), 50).unwrap()).await, 0);

    let (task_status, step_row, audit, told_bob) = app
        .db(move |c| {
            let ws = demo(c);
            let t = region_release::find(c, ws, task).unwrap().unwrap();
            let s = region_release::steps(c, task).unwrap()[0].clone();
            let audit = audit_count(c, "region_task.checkpoint_expired", task.get());
            let bob = id(c, "bob");
            let told: Vec<Option<i64>> = notifications::table
                .filter(notifications::kind.eq("region_task_failed"))
                .filter(notifications::region_task_id.eq(task))
                .select(notifications::user_id)
                .load(c)
                .unwrap();
            (t.status, s, audit, told == vec![Some(bob.get())])
        })
        .await;
    assert_eq!(task_status.as_str(), "release_failed");
    assert_eq!(step_row.status.as_str(), "failed");
    assert_eq!(step_row.message, "approval expired");
    assert_eq!(audit, 1);
    assert!(told_bob, "the executor is told, once");
    let late = carol.decide_step("demo", task, step, "agree", "").await;
    assert_eq!(late.status, 409, "{}", late.body);

    let bob = app.signed_in("bob").await;
    let page = bob.get(&paths::region_task("demo", task)).await;
    let why = page.texts("#task-why").join(" ");
    assert_eq!(why, "Failed at step 1: approval expired");
    // The release can be executed again: the checkpoint asks anew.
    let again = bob.execute("demo", task, None).await;
    assert_eq!(again.status, 303, "{}", again.body);
}
