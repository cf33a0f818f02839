//! The workspace overview's "Needs your attention" card (`db::models::attention`): what waits
//! for the viewer, what of theirs is stuck, what failed lately — for this workspace only, with
//! the demo data, on SQLite and PostgreSQL.

mod support;

use diesel::prelude::*;
use releasedesk::db::DbConn;
use releasedesk::db::models::releases::{self, Decision, ReleaseRequest};
use releasedesk::db::models::{scripts, users, workspaces};
use releasedesk::db::schema::release_packages;
use releasedesk::domain::{PackageId, UserId, WorkspaceId};
use releasedesk::domain::{Role, ScriptPath, ScriptType};
use releasedesk::paths;
use support::{Backend, Resp, TestApp};

const WAITING: &str = "#attention-waiting li";
const STUCK: &str = "#attention-stuck li";
const FAILED: &str = "#attention-failed li";

/// (workspace, user) ids of a demo workspace and user.
fn ids(c: &mut DbConn, ws: &str, user: &str) -> (WorkspaceId, UserId) {
    (
        workspaces::find_by_slug(c, ws).unwrap().unwrap().id,
        users::find_by_username(c, user).unwrap().unwrap().id,
    )
}

/// A new script in `ws` submitted by `applicant`, put in a package named `name` for
/// `reviewers`: the package id.
fn package(c: &mut DbConn, ws: &str, applicant: &str, name: &str, reviewers: &[&str]) -> PackageId {
    let (ws, user) = ids(c, ws, applicant);
    let path = ScriptPath::parse(&format!("attention/{name}.sql")).unwrap();
    let draft = scripts::ScriptDraft {
        script_type: ScriptType::Sql,
        schedule: String::new(),
        description: Default::default(),
        content: "SELECT 1;".into(),
    };
    let s = scripts::create(c, user, ws, &path, &draft).unwrap();
    let task = scripts::submit_version(c, user, ws, s.id, "first")
        .unwrap()
        .task_id
        .unwrap();
    let reviewers = reviewers
        .iter()
        .map(|r| users::find_by_username(c, r).unwrap().unwrap().id)
        .collect();
    releases::release(
        c,
        user,
        ws,
        &ReleaseRequest {
            task_ids: vec![task],
            name: name.parse().unwrap(),
            comment: Default::default(),
            reviewers,
        },
    )
    .unwrap()
    .package_id
}

/// Marks a package failed `days_ago` days ago, as the worker would have (the test needs no
/// release to really fail).
fn fail(c: &mut DbConn, package_id: i64, days_ago: i64) {
    let at = releasedesk::db::now() - chrono::Duration::days(days_ago);
    diesel::update(release_packages::table.find(package_id))
        .set((
            release_packages::status.eq("failed"),
            release_packages::released_at.eq(Some(at)),
            release_packages::failed_count.eq(1),
        ))
        .execute(c)
        .unwrap();
}

fn any_contains(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

async fn overview(app: &TestApp, user: &str) -> Resp {
    let resp = app
        .signed_in(user)
        .await
        .get(&paths::workspace("demo"))
        .await;
    assert_eq!(resp.status, 200, "{user}: {}", resp.body);
    resp
}

async fn the_card_lists_what_waits_what_is_stuck_and_what_failed(app: TestApp) {
    let app = app.with_demo().await;
    // Another workspace's items: a package of alice's in payments waiting for carol, and a
    // failed one there.
    let (other_waiting, other_failed) = app
        .db(|c| {
            let waiting = package(c, "payments", "alice", "elsewhere-waiting", &["carol"]);
            let failed = package(c, "payments", "alice", "elsewhere-failed", &["carol"]);
            fail(c, failed.get(), 1);
            (waiting, failed)
        })
        .await;
    assert!(other_waiting.get() > 0 && other_failed.get() > 0);

    // Carol: the package and the region checkpoint that wait for her, at the top of the page.
    let carol = overview(&app, "carol").await;
    assert!(
        carol.has(".stack > #attention:first-child"),
        "{}",
        carol.body
    );
    assert_eq!(
        carol.texts("#attention h2"),
        vec!["Needs your attention".to_owned()]
    );
    let waiting = carol.texts(WAITING);
    assert!(any_contains(&waiting, "customer-dimension"), "{waiting:?}");
    assert!(any_contains(&waiting, "applied 20"), "{waiting:?}");
    assert!(
        any_contains(&waiting, "Upgrade payments-api to 2.4.0"),
        "{waiting:?}"
    );
    assert!(!any_contains(&waiting, "elsewhere"), "{waiting:?}");
    assert!(carol.has("#attention-waiting a[href^='/workspaces/demo/task-release/packages/']"));
    assert!(carol.has("#attention-waiting a[href^='/workspaces/demo/region-release/tasks/']"));

    // Alice: her package waiting for two reviewers and her rejected one, with bob's comment.
    let alice = overview(&app, "alice").await;
    let stuck = alice.texts(STUCK);
    assert!(
        any_contains(&stuck, "customer-dimension pending approval for"),
        "{stuck:?}"
    );
    assert!(any_contains(&stuck, "waiting for bob, carol"), "{stuck:?}");
    assert!(
        any_contains(&stuck, "weekly-report rejected by bob"),
        "{stuck:?}"
    );
    assert!(
        any_contains(&stuck, "week is not a column of mart.daily_orders"),
        "{stuck:?}"
    );
    assert!(!any_contains(&stuck, "elsewhere"), "{stuck:?}");
    assert_eq!(
        alice.texts("#attention-waiting .attention-none"),
        vec!["Nothing waits for you.".to_owned()]
    );

    // Bob: his region tasks suspended, or waiting at carol's checkpoint.
    let bob = overview(&app, "bob").await;
    let stuck = bob.texts(STUCK);
    assert!(
        any_contains(
            &stuck,
            "Upgrade payments-api to 2.4.0 waiting at a checkpoint for carol"
        ),
        "{stuck:?}"
    );
    assert!(
        any_contains(&stuck, "Deploy notification-gw suspended"),
        "{stuck:?}"
    );

    // Failed recently: a package failed yesterday, not one failed 8 days ago, not payments'.
    app.db(|c| {
        let recent = package(c, "demo", "alice", "failed-yesterday", &["carol"]);
        fail(c, recent.get(), 1);
        let old = package(c, "demo", "alice", "failed-long-ago", &["carol"]);
        fail(c, old.get(), 8);
    })
    .await;
    let carol = overview(&app, "carol").await;
    let failed = carol.texts(FAILED);
    assert!(
        any_contains(&failed, "failed-yesterday package failed"),
        "{failed:?}"
    );
    assert!(!any_contains(&failed, "failed-long-ago"), "{failed:?}");
    assert!(!any_contains(&failed, "elsewhere"), "{failed:?}");
    // The demo's region task whose Manual Trigger carol rejected failed today.
    assert!(
        any_contains(
            &failed,
            "Deploy fx-rates to eu-west-1 region release failed"
        ),
        "{failed:?}"
    );

    // Once carol approved it, customer-dimension no longer waits for her.
    app.db(|c| {
        let (ws, carol) = ids(c, "demo", "carol");
        let id: i64 = release_packages::table
            .filter(release_packages::name.eq("customer-dimension"))
            .select(release_packages::id)
            .first(c)
            .unwrap();
        releases::decide(
            c,
            carol,
            ws,
            PackageId(id),
            Decision::Approve,
            &"ok".parse().unwrap(),
        )
        .unwrap();
    })
    .await;
    let carol = overview(&app, "carol").await;
    let waiting = carol.texts(WAITING);
    assert!(!any_contains(&waiting, "customer-dimension"), "{waiting:?}");
    assert!(
        any_contains(&waiting, "Upgrade payments-api to 2.4.0"),
        "{waiting:?}"
    );
}

async fn a_package_whose_reviewers_lost_the_role_says_no_reviewer_left(app: TestApp) {
    let app = app.with_demo().await;
    app.db(|c| {
        package(c, "demo", "alice", "only-bob", &["bob"]);
        let (ws, carol) = ids(c, "demo", "carol");
        let bob = ids(c, "demo", "bob").1;
        workspaces::change_role(c, carol, ws, bob, None, Role::Developer, true).unwrap();
    })
    .await;
    let alice = overview(&app, "alice").await;
    let stuck = alice.texts(STUCK);
    let only_bob: Vec<&String> = stuck.iter().filter(|t| t.contains("only-bob")).collect();
    assert_eq!(only_bob.len(), 1, "{stuck:?}");
    assert!(only_bob[0].contains("no reviewer left"), "{stuck:?}");
    // customer-dimension still has carol.
    assert!(any_contains(&stuck, "waiting for carol"), "{stuck:?}");
    // Bob, a developer now, has nothing to review here any more.
    let bob = overview(&app, "bob").await;
    assert!(!any_contains(&bob.texts(WAITING), "customer-dimension"));
}

async fn viewers_see_only_what_failed_and_admins_who_are_not_members_see_the_page(app: TestApp) {
    let app = app.with_demo().await;
    let victor = overview(&app, "victor").await;
    assert_eq!(
        victor.texts("#attention-waiting .attention-none"),
        vec!["Nothing waits for you.".to_owned()]
    );
    assert_eq!(
        victor.texts("#attention-stuck .attention-none"),
        vec!["Nothing of yours is stuck.".to_owned()]
    );
    assert!(victor.texts(WAITING).is_empty() && victor.texts(STUCK).is_empty());
    assert!(any_contains(
        &victor.texts(FAILED),
        "Deploy fx-rates to eu-west-1"
    ));

    // Tara is a tenant administrator and no member of demo.
    let tara = overview(&app, "tara").await;
    assert!(tara.has("#attention"), "{}", tara.body);
    assert!(tara.texts(WAITING).is_empty());
}

/// The card's statements do not grow with its rows: alice's overview runs as many with one
/// package of each kind as with more than fit, and the lists stop at their cap with a "see all".
/// Without the release worker, whose polls would land in the count.
async fn the_card_runs_a_fixed_number_of_statements_and_stops_at_the_cap(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.run_worker = false).await else {
        return;
    };
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let count = |resp: &Resp| resp.texts(STUCK).len() + resp.texts(FAILED).len();
    let measure = || async {
        let warm = alice.get(&paths::workspace("demo")).await;
        assert_eq!(warm.status, 200);
        let before = app.queries.get();
        let resp = alice.get(&paths::workspace("demo")).await;
        (app.queries.get() - before, resp)
    };
    let (few, small) = measure().await;
    app.db(|c| {
        for i in 0..7 {
            package(c, "demo", "alice", &format!("pending-{i}"), &["carol"]);
            let failed = package(c, "demo", "alice", &format!("failed-{i}"), &["carol"]);
            fail(c, failed.get(), 1);
        }
    })
    .await;
    let (many, large) = measure().await;
    assert!(count(&large) > count(&small));
    assert_eq!(few, many, "statements with few rows vs many");
    assert_eq!(large.texts(FAILED).len(), 5);
    // Seven pending packages and weekly-report: five rows in all, pending ones first.
    assert_eq!(large.texts(STUCK).len(), 5);
    assert!(large.has("#attention-failed a[href$='/task-release/packages?status=failed']"));
    assert!(large.has("#attention-stuck a[href$='/task-release/packages?applicant=alice']"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_runs_a_fixed_number_of_statements_on_sqlite() {
    the_card_runs_a_fixed_number_of_statements_and_stops_at_the_cap(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_runs_a_fixed_number_of_statements_on_postgres() {
    the_card_runs_a_fixed_number_of_statements_and_stops_at_the_cap(Backend::Postgres).await;
}

on_both_backends!(
    the_card_lists_what_waits_what_is_stuck_and_what_failed,
    a_package_whose_reviewers_lost_the_role_says_no_reviewer_left,
    viewers_see_only_what_failed_and_admins_who_are_not_members_see_the_page,
);
