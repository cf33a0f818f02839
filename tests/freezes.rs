//! Freeze windows and overrides (issue 24, `db::models::freezes`), on SQLite and PostgreSQL:
//! a window holds a package's release before its next task and Execute of a region task in its
//! regions; a release already running finishes its task in flight and waits, then goes on by
//! itself once the window is gone; only a workspace admin or tenant administrator may override
//! a freeze, for one item, with a reason that is recorded, shown and audited; two overrides at
//! once make one; the form says what is wrong per field and keeps what was typed. The rules of
//! time (recurring windows, DST) are unit tests in `domain::freeze`.

mod support;

use chrono::{Duration, Utc};
use releasedesk::db::models::freezes::{self, NewWhen, NewWindow};
use releasedesk::db::models::releases::{self, Next};
use releasedesk::db::models::{audit, users, workspaces};
use releasedesk::domain::TokenScope;
use releasedesk::domain::{FreezeScope, PackageId, UserId, WorkspaceId};
use releasedesk::paths;
use support::TestApp;
use support::api::{Api, token};
use support::fixtures::gated_rollout;

async fn id_of(app: &TestApp, name: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, name).unwrap().unwrap().id)
        .await
}

async fn demo(app: &TestApp) -> WorkspaceId {
    app.db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await
}

/// A one-off window on now for two hours, added by carol (admin of `demo`) through the data
/// layer; `regions` limits a Region Release window.
async fn freeze_now(app: &TestApp, name: &str, scope: FreezeScope, regions: Vec<i64>) -> i64 {
    let (ws, carol) = (demo(app).await, id_of(app, "carol").await);
    let name = name.to_owned();
    app.db(move |c| {
        freezes::create(
            c,
            carol,
            ws,
            &NewWindow {
                name,
                reason: "peak season".into(),
                scope,
                when: NewWhen::Once {
                    starts: Utc::now() - Duration::hours(1),
                    ends: Utc::now() + Duration::hours(2),
                    time_zone: "Europe/Berlin".into(),
                },
                regions,
            },
        )
        .unwrap()
    })
    .await
}

fn package_of(resp: &support::Resp) -> PackageId {
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .map(PackageId)
        .unwrap_or_else(|| panic!("no package in {:?}", resp.location()))
}

async fn wait_for_status(app: &TestApp, package: PackageId, want: &str) {
    for _ in 0..200 {
        if support::package_status(app, "demo", package).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "package {package} is {}, not {want}",
        support::package_status(app, "demo", package).await
    );
}

async fn a_freeze_holds_a_package_until_an_admin_overrides_it_with_a_reason(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    // Added through the form, as an admin would.
    let now = Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let resp = carol
        .post(
            &paths::freezes("demo"),
            &[
                ("name", "Launch freeze"),
                ("reason", "launch week"),
                ("scope", "task"),
                ("kind", "once"),
                ("time_zone", "Europe/Berlin"),
                (
                    "starts",
                    &(now - Duration::hours(1))
                        .format("%Y-%m-%dT%H:%M")
                        .to_string(),
                ),
                (
                    "ends",
                    &(now + Duration::hours(3))
                        .format("%Y-%m-%dT%H:%M")
                        .to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);

    // bob (a deployer) releases directly: the package is created and held, nothing applied.
    let bob = app.signed_in("bob").await;
    let task = bob.submit_new_script("demo", "freeze/held.sql").await;
    let resp = bob.release("demo", &[task], &[], "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let package = package_of(&resp);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        support::package_status(&app, "demo", package).await,
        "releasing"
    );
    let href = paths::package("demo", package);
    let page = bob.get(&href).await;
    let why = page.texts("#package-why").join("");
    assert!(
        why.starts_with("Frozen by “Launch freeze” until ") && why.ends_with(": launch week"),
        "{why:?}"
    );
    assert!(
        page.has(".freeze-banner"),
        "the banner is on every workspace page"
    );
    assert!(!page.has("#package-stall"), "held on purpose, not stalled");
    assert!(!page.has("#override"), "only admins may override");
    let live = app
        .db(|c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::production_scripts;
            production_scripts::table
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;

    // A deployer may not override; an admin must give a reason.
    let override_path = paths::package_override_freeze("demo", package);
    let refused = bob.post(&override_path, &[("reason", "now")]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(carol.get(&href).await.has("#override"));
    let empty = carol.post(&override_path, &[("reason", "  ")]).await;
    assert_eq!(empty.status, 303);
    let page = carol.get(&href).await;
    assert!(
        page.body
            .contains("Say why this must go out during the freeze"),
        "the missing reason is said"
    );
    assert_eq!(
        support::package_status(&app, "demo", package).await,
        "releasing"
    );

    // A tenant administrator may override too; the workspace's admin (carol) is told.
    let tara = app.signed_in("tara").await;
    let ok = tara
        .post(&override_path, &[("reason", "hotfix for checkout")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    wait_for_status(&app, package, "released").await;
    let after = app
        .db(|c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::production_scripts;
            production_scripts::table
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(after, live + 1, "the overridden package reached production");
    let page = bob.get(&href).await;
    let event = page.texts("#freeze-override").join("");
    assert!(
        event.contains("tara") && event.contains("hotfix for checkout"),
        "{event:?}"
    );
    let carol_id = id_of(&app, "carol").await;
    let told = app
        .db(move |c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::notifications;
            notifications::table
                .filter(notifications::kind.eq("freeze_overridden"))
                .select(notifications::user_id)
                .load::<Option<UserId>>(c)
                .unwrap()
        })
        .await;
    assert_eq!(
        told,
        vec![Some(carol_id)],
        "the workspace's admin is told, once"
    );
    // In the audit log, with the window and the reason.
    let ws = demo(&app).await;
    let rows = app
        .db(move |c| {
            audit::list(
                c,
                Some(ws),
                &audit::AuditFilter {
                    action: Some("package.freeze_overridden".into()),
                    ..Default::default()
                },
                10,
                0,
            )
            .unwrap()
            .0
        })
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].comment, "Launch freeze: hotfix for checkout");
    // Once is enough: a second override is refused.
    let again = carol.post(&override_path, &[("reason", "again")]).await;
    assert_eq!(again.status, 409, "{}", again.body);
}

async fn step(app: &TestApp, package: PackageId) -> Next {
    app.db(move |c| releases::release_next_task(c, package).unwrap())
        .await
}

async fn a_running_release_finishes_its_task_then_waits_and_goes_on_when_the_window_goes(
    app: TestApp,
) {
    let app = app.with_demo().await;
    let ws = demo(&app).await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    let window = freeze_now(&app, "Mid-run", FreezeScope::Both, vec![]).await;
    // Two tasks released directly by bob while the window is on: the app's worker claims the
    // job, finds it held and hands it back for later, spending no attempt.
    let package = app
        .db(move |c| {
            let tasks = support::submitted_tasks(c, "bob", "freeze/run", 2);
            releases::release(
                c,
                bob,
                ws,
                &releases::ReleaseRequest {
                    task_ids: tasks,
                    reviewers: vec![],
                    name: Default::default(),
                    comment: Default::default(),
                },
            )
            .unwrap()
            .package_id
        })
        .await;
    let payload = package.to_string();
    let deferred = loop {
        let p = payload.clone();
        let job = app
            .db(move |c| {
                use diesel::prelude::*;
                use releasedesk::db::schema::jobs;
                jobs::table
                    .filter(jobs::queue.eq(releasedesk::db::models::jobs::RELEASE_PACKAGE))
                    .filter(jobs::payload.eq(p))
                    .select((jobs::status, jobs::run_at, jobs::attempts))
                    .first::<(String, chrono::NaiveDateTime, i32)>(c)
                    .unwrap()
            })
            .await;
        if job.0 == "queued" && job.1 > Utc::now().naive_utc() {
            break job;
        }

        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(deferred.2, 0, "a held job spends no attempt");
    assert!(
        deferred.1 <= (Utc::now() + Duration::seconds(31)).naive_utc(),
        "it looks again within 30 s: {:?}",
        deferred.1
    );
    // The test now steps the release as the worker does, one task per call.
    let held = step(&app, package).await;
    let Next::Held(hold) = held else {
        panic!("not held: {held:?}");
    };
    assert!(hold.to_string().contains("Mid-run"), "{hold}");
    app.db(move |c| freezes::delete(c, carol, ws, window).unwrap())
        .await;
    assert!(matches!(step(&app, package).await, Next::Applied));
    // A window that begins between two tasks holds the next one.
    freeze_now(&app, "Second window", FreezeScope::Task, vec![]).await;
    let held = step(&app, package).await;
    assert!(matches!(held, Next::Held(_)), "{held:?}");
    let tasks = app
        .db(move |c| releases::package_tasks(c, package).unwrap())
        .await;
    let released: Vec<_> = tasks.iter().map(|t| t.release().as_str()).collect();
    assert_eq!(released, ["released", "waiting"]);
    assert_eq!(
        support::package_status(&app, "demo", package).await,
        "releasing"
    );
}

async fn execute_is_refused_in_a_frozen_region_only_and_an_override_lets_it_through(app: TestApp) {
    let app = app.with_demo().await;
    let ws = demo(&app).await;
    let (bob, carol) = (id_of(&app, "bob").await, id_of(&app, "carol").await);
    // A task that waits at its checkpoint, then fails on rejection: executable again.
    let task = gated_rollout(&app, ws, "Freeze gate", bob, vec![carol]).await;
    let steps = loop {
        let steps = app
            .db(move |c| releasedesk::db::models::region_release::steps(c, task).unwrap())
            .await;
        if steps[0].status() == releasedesk::domain::StepStatus::Waiting {
            break steps;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let region = steps[1].region_id.unwrap();
    let carol_client = app.signed_in("carol").await;
    carol_client
        .decide_step("demo", task, steps[0].id, "reject", "not yet")
        .await;
    // A window on another region holds nothing here.
    let other: i64 = app
        .db(move |c| {
            releasedesk::db::models::regions::list_regions(c, ws)
                .unwrap()
                .into_iter()
                .find(|r| r.id != region)
                .unwrap()
                .id
        })
        .await;
    let elsewhere = freeze_now(&app, "Elsewhere", FreezeScope::Region, vec![other]).await;
    let bob_client = app.signed_in("bob").await;
    let href = paths::region_task("demo", task);
    assert!(!bob_client.get(&href).await.has("#exec-why"));
    app.db(move |c| freezes::delete(c, carol, ws, elsewhere).unwrap())
        .await;
    // A Task Release window does not hold Region Release either.
    freeze_now(&app, "Tasks only", FreezeScope::Task, vec![]).await;
    assert!(!bob_client.get(&href).await.has("#exec-why"));

    freeze_now(&app, "Region freeze", FreezeScope::Region, vec![region]).await;
    let page = bob_client.get(&href).await;
    let why = page.texts("#exec-why").join("");
    assert!(why.contains("Frozen by “Region freeze”"), "{why:?}");
    let resp = bob_client.execute("demo", task, Some(1)).await;
    assert_eq!(resp.status, 409, "{}", resp.body);
    assert!(resp.body.contains("Region freeze"), "the window is named");
    // The API refuses the same way, naming the window, its end and its reason.
    let api = Api::new(&app, Some(&token(&app, "bob", TokenScope::Write).await));
    let resp = api
        .post(
            &format!("/workspaces/demo/region-tasks/{task}/execute"),
            &serde_json::json!({"start": 1}),
        )
        .await;
    assert_eq!(resp.status, 409, "{}", resp.text);
    assert_eq!(resp.problem(), "conflict");
    let detail = resp.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("Frozen by “Region freeze” until") && detail.contains("peak season"),
        "{detail}"
    );

    let override_path = paths::region_task_override_freeze("demo", task);
    // A finished task has nothing to pass: an override lasts for the task's life, so one on a
    // rolled-back task would let every later Execute through. The model refuses it too.
    let set_status = |status: &'static str| {
        app.db(move |c| {
            use diesel::prelude::*;
            use releasedesk::db::schema::region_tasks;
            diesel::update(region_tasks::table.find(task))
                .set(region_tasks::status.eq(status))
                .execute(c)
                .unwrap();
        })
    };
    set_status("rolled_back").await;
    let resp = carol_client
        .post(&override_path, &[("reason", "late")])
        .await;
    assert_eq!(resp.status, 409, "{}", resp.body);
    assert!(
        resp.body.contains("This task is rolled back"),
        "{}",
        resp.body
    );
    assert!(!carol_client.get(&href).await.has("#override"));
    set_status("release_failed").await;

    assert_eq!(
        bob_client
            .post(&override_path, &[("reason", "x")])
            .await
            .status,
        403
    );
    // Two admins at once: one override.
    let tara = app.signed_in("tara").await;
    let (a, b) = tokio::join!(
        carol_client.post(&override_path, &[("reason", "EU outage fix")]),
        tara.post(&override_path, &[("reason", "EU outage fix too")]),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "{} / {}", a.body, b.body);
    let page = bob_client.get(&href).await;
    assert!(
        page.texts("#freeze-override")
            .join("")
            .contains("EU outage fix")
    );
    assert!(!page.has("#exec-why"));
    let resp = bob_client.execute("demo", task, Some(1)).await;
    assert_eq!(resp.status, 303, "{}", resp.body);
}

async fn the_form_says_what_is_wrong_and_keeps_what_was_typed(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let resp = carol
        .post(
            &paths::freezes("demo"),
            &[
                ("name", "Weekends"),
                ("reason", "nobody on call"),
                ("scope", "both"),
                ("kind", "recurring"),
                ("time_zone", "Mars/Olympus"),
                ("schedule", "0 25 * * 5"),
                ("duration", "62"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    for (field, words) in [
        ("time_zone", "is not a time zone"),
        ("schedule", "hour field"),
        ("duration", "how long each time lasts"),
    ] {
        let text = resp.texts(&format!("#{field}-error")).join("");
        assert!(text.contains(words), "{field}: {text:?}");
    }
    assert_eq!(resp.value("#f-name").as_deref(), Some("Weekends"));
    assert_eq!(resp.value("#f-schedule").as_deref(), Some("0 25 * * 5"));
    // A one-off window in the hour the clocks skip, and one that ends before it starts.
    let resp = carol
        .post(
            &paths::freezes("demo"),
            &[
                ("name", "Gap"),
                ("reason", "r"),
                ("scope", "task"),
                ("kind", "once"),
                ("time_zone", "Europe/Berlin"),
                ("starts", "2031-03-30T02:30"),
                ("ends", "2031-03-30T01:00"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422);
    assert!(
        resp.texts("#starts-error")
            .join("")
            .contains("does not exist"),
        "{:?}",
        resp.texts("#starts-error")
    );
    // Good input: the window is listed, with its next stretches.
    let resp = carol
        .post(
            &paths::freezes("demo"),
            &[
                ("name", "Weekends"),
                ("reason", "nobody on call"),
                ("scope", "both"),
                ("kind", "recurring"),
                ("time_zone", "Europe/Berlin"),
                ("schedule", "0 18 * * 5"),
                ("duration", "2d 14h"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let page = app
        .signed_in("alice")
        .await
        .get(&paths::freezes("demo"))
        .await;
    assert!(
        page.texts("#freeze-table tbody tr td:first-child")
            .contains(&"Weekends".to_owned()),
        "{:?}",
        page.texts("#freeze-table tbody tr td:first-child")
    );
    assert!(
        page.texts("#freeze-upcoming li").len() >= 4,
        "four Fridays in 30 days"
    );
    assert!(!page.has("#freeze-form"), "only admins add windows");
    let overview = app
        .signed_in("alice")
        .await
        .get(&paths::workspace("demo"))
        .await;
    assert!(
        overview
            .texts("#upcoming-freezes a")
            .contains(&"Weekends".to_owned()),
        "{:?}",
        overview.texts("#upcoming-freezes")
    );
    // A developer may not add one.
    let alice = app.signed_in("alice").await;
    let resp = alice
        .post(
            &paths::freezes("demo"),
            &[("name", "Mine"), ("reason", "r")],
        )
        .await;
    assert_eq!(resp.status, 403);
}

on_both_backends!(
    a_freeze_holds_a_package_until_an_admin_overrides_it_with_a_reason,
    a_running_release_finishes_its_task_then_waits_and_goes_on_when_the_window_goes,
    execute_is_refused_in_a_frozen_region_only_and_an_override_lets_it_through,
    the_form_says_what_is_wrong_and_keeps_what_was_typed,
);
