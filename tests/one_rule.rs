//! One rule, one place (issue 21): the text limits hold on every path that stores a comment,
//! a refused form answers the same way on every route (422 with its page and the message,
//! never a redirect), and the package page offers Approve/Reject exactly to the people the
//! decision itself accepts.

mod support;

use releasedesk::db::models::{releases, users, workspaces};
use releasedesk::domain::PackageId;
use support::TestApp;

const DEMO_PACKAGE: &str = "customer-dimension";

async fn demo_package(app: &TestApp) -> PackageId {
    app.db(|c| {
        let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
        let filter = releases::PackageFilter::default();
        releases::list_packages(c, ws, &filter, 100, 0)
            .unwrap()
            .0
            .into_iter()
            .find(|p| p.name == DEMO_PACKAGE)
            .expect("the demo's pending package")
            .id
    })
    .await
}

async fn status_of(app: &TestApp, id: i64) -> String {
    app.db(move |c| {
        let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
        let p = releases::find_package(c, ws, PackageId(id))
            .unwrap()
            .unwrap();
        p.status.as_str().to_owned()
    })
    .await
}

async fn an_over_long_comment_is_refused_on_every_path(app: TestApp) {
    let app = app.with_demo().await;
    let id = demo_package(&app).await;
    let long = "x".repeat(2001);
    let carol = app.signed_in("carol").await;

    // The package page's decision form: 422, the message beside the comment, the text kept.
    let page = carol
        .post(
            &format!("/workspaces/demo/task-release/packages/{id}/decision"),
            &[("decision", "approve"), ("comment", &long)],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("A comment has at most 2000 characters."));

    // The Reviews page: the same answer (it used to redirect with a flash).
    let idstr = id.to_string();
    let reviews = carol
        .post(
            "/reviews",
            &[
                ("package_ids", idstr.as_str()),
                ("decision", "approve"),
                ("comment", &long),
            ],
        )
        .await;
    assert_eq!(reviews.status, 422, "{}", reviews.body);
    assert_eq!(
        reviews.texts(".toast-error"),
        vec!["A comment has at most 2000 characters. ×"]
    );
    assert_eq!(status_of(&app, id.get()).await, "pending_approval");

    // Releasing: the comment and the package name have their limits too.
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "limits/s_", 1))
        .await;
    let task = tasks[0].to_string();
    let carol_id = app
        .db(|c| users::find_by_username(c, "carol").unwrap().unwrap().id)
        .await
        .to_string();
    let alice = app.signed_in("alice").await;
    let name = "n".repeat(121);
    let release = alice
        .post(
            "/workspaces/demo/task-release/release",
            &[
                ("task_ids", task.as_str()),
                ("reviewers", carol_id.as_str()),
                ("name", &name),
                ("comment", &long),
            ],
        )
        .await;
    assert_eq!(release.status, 422, "{}", release.body);
    assert!(
        release
            .body
            .contains("A package name has at most 120 characters.")
    );
    assert!(
        release
            .body
            .contains("A comment has at most 2000 characters.")
    );

    // Within the limit (trimmed), the decision goes through.
    let ok = carol
        .post(
            &format!("/workspaces/demo/task-release/packages/{id}/decision"),
            &[
                ("decision", "approve"),
                ("comment", &format!("  {}  ", "y".repeat(2000))),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

async fn the_page_offers_the_decision_to_exactly_those_who_may_make_it(app: TestApp) {
    let app = app.with_demo().await;
    let id = demo_package(&app).await;
    let url = format!("/workspaces/demo/task-release/packages/{id}");
    // Named reviewers see the decision form; the applicant and a stranger to the package don't,
    // and the POST refuses them for the same reason.
    for (who, offered) in [
        ("carol", true),
        ("bob", true),
        ("alice", false),
        ("victor", false),
    ] {
        let client = app.signed_in(who).await;
        let page = client.get(&url).await;
        assert_eq!(
            page.has("button[name=decision][value=approve]"),
            offered,
            "{who}"
        );
        if !offered {
            let refused = client
                .post(
                    &format!("{url}/decision"),
                    &[("decision", "approve"), ("comment", "")],
                )
                .await;
            assert_eq!(refused.status, 403, "{who}: {}", refused.body);
        }
    }
    // Once decided, nobody is offered it any more.
    let carol = app.signed_in("carol").await;
    let done = carol
        .post(
            &format!("{url}/decision"),
            &[("decision", "approve"), ("comment", "")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let bob = app.signed_in("bob").await;
    assert!(
        !bob.get(&url)
            .await
            .has("button[name=decision][value=approve]")
    );
}

on_both_backends!(
    an_over_long_comment_is_refused_on_every_path,
    the_page_offers_the_decision_to_exactly_those_who_may_make_it,
);
