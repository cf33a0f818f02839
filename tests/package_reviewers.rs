//! A package is never stranded without a reviewer (issue 25, item 6): a role change that takes
//! a reviewer off waiting packages asks first and names them; the applicant (or an admin) adds
//! reviewers to a waiting package; the applicant (or a deployer or admin) withdraws it in one
//! step, its tasks back to pending. Through HTTP, with the rules checked by the data layer.

mod support;

use releasedesk::db::models::{releases, users, workspaces};
use releasedesk::domain::Quorum;
use releasedesk::domain::TaskId;
use releasedesk::domain::{PackageId, UserId};
use releasedesk::paths;
use support::{Client, Resp, TestApp};

async fn user_id(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

/// Alice releases `tasks` for `reviewers` (user ids); the new package's id.
async fn release(alice: &Client, tasks: &[TaskId], reviewers: &[UserId]) -> i64 {
    let resp = alice.release("demo", tasks, reviewers, "", "").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    resp.location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no package in {:?}", resp.location()))
}

fn package(id: i64) -> String {
    paths::package("demo", PackageId(id))
}

async fn status_of(app: &TestApp, id: i64) -> String {
    support::package_status(app, "demo", PackageId(id)).await
}

async fn reviewers_of(app: &TestApp, id: i64) -> Vec<String> {
    app.db(move |c| {
        releases::package_reviewers(c, PackageId(id))
            .unwrap()
            .into_iter()
            .map(|r| r.username)
            .collect()
    })
    .await
}

async fn role_change(carol: &Client, bob: i64, to: &str, confirm: bool) -> Resp {
    let mut form = vec![("role", to), ("expected", "deployer")];
    if confirm {
        form.push(("confirm", "1"));
    }
    carol
        .post(&paths::settings_member_role("demo", UserId(bob)), &form)
        .await
}

/// The scenario of the issue: bob, the only reviewer, is made a developer. The admin is asked
/// first and told which package loses him; after the change alice adds carol, who approves.
async fn a_stranded_package_gets_a_new_reviewer(app: TestApp) {
    let app = app.with_demo().await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "strand/s_", 2))
        .await;
    let (bob, carol_id) = (user_id(&app, "bob").await, user_id(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let id = release(&alice, &tasks, &[bob]).await;

    let carol = app.signed_in("carol").await;
    let asked = role_change(&carol, bob.get(), "developer", false).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let question = asked.texts("#role-confirm").join(" ");
    assert!(question.contains("Make bob a developer?"), "{question}");
    let name = app
        .db(move |c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            releases::find_package(c, ws, PackageId(id))
                .unwrap()
                .unwrap()
                .name
        })
        .await;
    assert!(question.contains(&name), "{question}");
    // Asking changed nothing.
    assert_eq!(reviewers_of(&app, id).await, vec!["bob"]);
    assert!(
        app.db(move |c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            workspaces::is_eligible_reviewer(c, ws, bob).unwrap()
        })
        .await
    );

    let done = role_change(&carol, bob.get(), "developer", true).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(reviewers_of(&app, id).await.is_empty());
    assert_eq!(status_of(&app, id).await, "pending_approval");

    // Alice sees why it waits and whom she can add.
    let page = alice.get(&package(id)).await;
    assert!(page.has("#no-reviewer"), "{}", page.body);
    assert!(page.has("#add-reviewers[open]"));
    assert!(page.has("#withdraw-form"));
    let offered = page.texts("#add-reviewers label.check");
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert!(offered[0].starts_with("carol"), "{offered:?}");

    let added = alice
        .post(
            &format!("{}/reviewers", package(id)),
            &[("reviewers", &carol_id.to_string())],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(reviewers_of(&app, id).await, vec!["carol"]);
    let approved = carol
        .decide_package("demo", PackageId(id), "approve", "")
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_ne!(status_of(&app, id).await, "pending_approval");
    let timeline = carol
        .get(&package(id))
        .await
        .texts("#timeline li")
        .join("\n");
    assert!(timeline.contains("carol"), "{timeline}");

    // A role change with no review at stake asks nothing.
    let plain = role_change(&carol, bob.get(), "viewer", false).await;
    assert_eq!(plain.status, 409, "bob is a developer now, not a deployer");
}

/// Who may add whom, and when: the rules hold in the data layer.
async fn adding_reviewers_keeps_the_rules(app: TestApp) {
    let app = app.with_demo().await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "add/s_", 2))
        .await;
    let (alice_id, bob, carol_id, victor) = (
        user_id(&app, "alice").await,
        user_id(&app, "bob").await,
        user_id(&app, "carol").await,
        user_id(&app, "victor").await,
    );
    let alice = app.signed_in("alice").await;
    let id = release(&alice, &tasks[..1], &[UserId(bob.get())]).await;
    let add = |who: i64| {
        let path = format!("{}/reviewers", package(id));
        (path, who.to_string())
    };

    // Bob, a reviewer but neither applicant nor admin, may not add anyone.
    let bob_c = app.signed_in("bob").await;
    let (path, who) = add(carol_id.get());
    assert_eq!(bob_c.post(&path, &[("reviewers", &who)]).await.status, 403);
    // The applicant herself, someone already on it, or a non-reviewer: refused beside the field.
    for (who, says) in [
        (alice_id, "cannot review it"),
        (bob, "already reviews"),
        (victor, "not on this workspace's reviewer list"),
    ] {
        let resp = alice.post(&path, &[("reviewers", &who.to_string())]).await;
        assert_eq!(resp.status, 422, "{}", resp.body);
        let msg = resp.texts("#reviewers-error").join(" ");
        assert!(msg.contains(says), "{msg}");
    }
    let none = alice.post(&path, &[]).await;
    assert_eq!(none.status, 422);
    assert_eq!(reviewers_of(&app, id).await, vec!["bob"]);
    // Another workspace's package is not there.
    let payments = app
        .db(|c| workspaces::find_by_slug(c, "payments").unwrap().unwrap().id)
        .await;
    let err = app
        .db(move |c| releases::add_reviewers(c, alice_id, payments, PackageId(id), &[carol_id]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, releasedesk::error::AppError::NotFound),
        "{err:?}"
    );
    // An admin may add one (carol, admin and reviewer, adds herself).
    let carol = app.signed_in("carol").await;
    assert_eq!(carol.post(&path, &[("reviewers", &who)]).await.status, 303);
    assert_eq!(reviewers_of(&app, id).await, vec!["bob", "carol"]);
    // Once decided, nobody is added any more.
    let decided = bob_c
        .decide_package("demo", PackageId(id), "approve", "")
        .await;
    assert_eq!(decided.status, 303);
    let late = app
        .db(move |c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            releases::add_reviewers(c, alice_id, ws, PackageId(id), &[carol_id])
        })
        .await
        .unwrap_err();
    assert!(
        matches!(late, releasedesk::error::AppError::Conflict(_)),
        "{late:?}"
    );
}

/// Under quorum `all`, a reviewer added counts: the package waits for them too.
async fn an_added_reviewer_counts_towards_quorum_all(app: TestApp) {
    let app = app.with_demo().await;
    app.db(|c| {
        use diesel::prelude::*;
        use releasedesk::db::schema::workspaces as w;
        diesel::update(w::table.filter(w::slug.eq("demo")))
            .set(w::quorum.eq(Quorum::All.as_str()))
            .execute(c)
            .unwrap();
    })
    .await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "quorum/s_", 1))
        .await;
    let (bob, carol_id) = (user_id(&app, "bob").await, user_id(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let id = release(&alice, &tasks, &[bob]).await;
    let added = alice
        .post(
            &format!("{}/reviewers", package(id)),
            &[("reviewers", &carol_id.to_string())],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let bob_c = app.signed_in("bob").await;
    let first = bob_c
        .decide_package("demo", PackageId(id), "approve", "")
        .await;
    assert_eq!(first.status, 303);
    assert_eq!(status_of(&app, id).await, "pending_approval");
    let carol = app.signed_in("carol").await;
    let second = carol
        .decide_package("demo", PackageId(id), "approve", "")
        .await;
    assert_eq!(second.status, 303);
    assert_ne!(status_of(&app, id).await, "pending_approval");
}

/// The applicant takes a waiting package back in one step; its tasks can be released again.
async fn the_applicant_withdraws_a_package_in_one_step(app: TestApp) {
    let app = app.with_demo().await;
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "withdraw/s_", 3))
        .await;
    let (bob, carol_id) = (user_id(&app, "bob").await, user_id(&app, "carol").await);
    let alice = app.signed_in("alice").await;
    let id = release(&alice, &tasks, &[bob]).await;

    // A viewer may not; the reviewer sees no withdraw button but is a deployer, who may.
    let victor = app.signed_in("victor").await;
    assert_eq!(
        victor
            .post(&format!("{}/withdraw", package(id)), &[])
            .await
            .status,
        403
    );
    let done = alice.post(&format!("{}/withdraw", package(id)), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(status_of(&app, id).await, "revoked");
    let page = alice.get(&package(id)).await;
    assert!(!page.has("#withdraw-form"));
    assert!(!page.has("#add-reviewers"));
    assert!(page.texts("#progress-text").join("").contains("Withdrawn"));
    assert!(
        page.texts("#timeline li")
            .iter()
            .any(|l| l.contains("3 tasks back to pending")),
        "{:?}",
        page.texts("#timeline li")
    );
    let again = alice.post(&format!("{}/withdraw", package(id)), &[]).await;
    assert_eq!(again.status, 409);
    // The tasks are pending again, in no package, and go out in a new one.
    for t in &tasks {
        let t = *t;
        let (status, pkg) = app
            .db(move |c| {
                let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
                let row = releases::find_task(c, ws, t).unwrap().unwrap();
                (row.status, row.package_id)
            })
            .await;
        assert_eq!((status.as_str(), pkg), ("pending", None));
    }
    let next = release(&alice, &tasks, &[UserId(carol_id.get())]).await;
    assert_ne!(next, id);
    // A deployer may withdraw someone else's package.
    let bob_c = app.signed_in("bob").await;
    let by_bob = bob_c
        .post(&format!("{}/withdraw", package(next)), &[])
        .await;
    assert_eq!(by_bob.status, 303, "{}", by_bob.body);
    assert_eq!(status_of(&app, next).await, "revoked");
}

on_both_backends!(
    a_stranded_package_gets_a_new_reviewer,
    adding_reviewers_keeps_the_rules,
    an_added_reviewer_counts_towards_quorum_all,
    the_applicant_withdraws_a_package_in_one_step,
);
