//! The Production tab's search (`q`, by script path) on both backends: it narrows the live
//! scripts, pages within the matches, says when nothing matches, refuses an overlong query with a
//! 400 that keeps the navigation, and error pages keep the signed-in viewer's navigation.

mod support;

use releasedesk::paths;
use support::TestApp;

on_both_backends!(
    production_is_searched_by_script_path,
    error_pages_keep_the_navigation,
);

const PRODUCTION: &str = "/workspaces/demo/production";

fn paths(resp: &support::Resp) -> Vec<String> {
    resp.texts("#production tbody tr:not(.empty) td:first-child")
}

async fn production_is_searched_by_script_path(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;

    let all = victor.get(PRODUCTION).await;
    assert_eq!(all.status, 200);
    assert_eq!(
        paths(&all),
        vec![
            "batch/nightly_a.sql",
            "batch/nightly_b.sql",
            "etl/daily_orders.sql",
            "etl/orders_agg.sql"
        ]
    );
    assert_eq!(all.value("#q").as_deref(), Some(""));

    let orders = victor.get(&format!("{PRODUCTION}?q=orders")).await;
    assert_eq!(orders.status, 200);
    assert_eq!(
        paths(&orders),
        vec!["etl/daily_orders.sql", "etl/orders_agg.sql"]
    );
    assert_eq!(orders.value("#q").as_deref(), Some("orders"));

    // Every word must be in the path, in any order and case.
    let two = victor.get(&format!("{PRODUCTION}?q=ORDERS+daily")).await;
    assert_eq!(paths(&two), vec!["etl/daily_orders.sql"]);

    // Paged within the matches; the page links keep the search.
    let first = victor
        .get(&format!("{PRODUCTION}?q=nightly&per_page=1"))
        .await;
    assert_eq!(paths(&first), vec!["batch/nightly_a.sql"]);
    let next = first.texts(".pagination a");
    assert!(!next.is_empty(), "a link to the next page");
    assert!(
        first.body.contains("?q=nightly&#38;page=2&#38;per_page=1"),
        "the next page keeps the search"
    );
    let second = victor
        .get(&format!("{PRODUCTION}?q=nightly&page=2&per_page=1"))
        .await;
    assert_eq!(paths(&second), vec!["batch/nightly_b.sql"]);

    let none = victor.get(&format!("{PRODUCTION}?q=no-such-script")).await;
    assert_eq!(none.status, 200);
    assert!(paths(&none).is_empty());
    assert_eq!(
        none.texts("#production tr.empty td"),
        vec!["No live script matches “no-such-script”."]
    );

    // LIKE metacharacters are text, not patterns.
    let percent = victor.get(&format!("{PRODUCTION}?q=%25")).await;
    assert_eq!(percent.status, 200);
    assert!(paths(&percent).is_empty());

    let long = "x".repeat(201);
    let too_long = victor.get(&format!("{PRODUCTION}?q={long}")).await;
    assert_eq!(too_long.status, 400);
    assert_eq!(
        too_long.texts(".error-page p:not(.error-code)")[0],
        "A search has at most 200 characters."
    );
}

/// A 400 or 404 is drawn inside the viewer's navigation (and the workspace's, where the viewer
/// may open it); signed out, the page stays bare.
async fn error_pages_keep_the_navigation(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;

    let bad = alice
        .get("/workspaces/demo/task-release/tasks?status=bogus")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.texts(".error-code"), vec!["400"]);
    assert!(bad.has("nav.nav a[href='/reviews']"), "the main navigation");
    assert!(
        bad.has("nav.subnav a[href='/workspaces/demo/production']"),
        "the workspace's navigation"
    );
    assert!(bad.has(".user-menu"), "who is signed in");

    let missing = alice.get("/workspaces/demo/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.has("nav.subnav"),
        "a 404 inside a workspace keeps it"
    );

    // An id that is not a number names nothing: the same page, not a parse error in plain text.
    let malformed = alice.get("/workspaces/demo/region-release/tasks/abc").await;
    assert_eq!(malformed.status, 404);
    assert_eq!(malformed.texts(".error-code"), vec!["404"]);
    assert!(malformed.has("nav.subnav"), "{}", malformed.body);

    // A workspace alice may not open: the main navigation only, nothing of that workspace.
    let elsewhere = alice.get(&paths::production("nowhere")).await;
    assert_eq!(elsewhere.status, 404);
    assert!(elsewhere.has("nav.nav"));
    assert!(!elsewhere.has("nav.subnav"));

    let anonymous = app.client().get("/no-such-page").await;
    assert_eq!(anonymous.status, 404);
    assert_eq!(anonymous.texts(".error-code"), vec!["404"]);
    assert!(!anonymous.has("nav.nav"));
}
