//! Workspaces, roles, members and the reviewer rules, through HTTP and through the data layer.

mod support;

use releasedesk::db::models::{audit, users, workspaces};
use releasedesk::domain::Role;
use releasedesk::domain::UserId;
use releasedesk::domain::WorkspaceId;
use releasedesk::error::AppError;
use releasedesk::paths;
use support::TestApp;

async fn user_id(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn demo_id(app: &TestApp) -> WorkspaceId {
    app.db(|c| workspaces::find_by_slug(c, "demo").unwrap().unwrap().id)
        .await
}

/// Every role sees exactly what DESIGN.md's table allows on this pages.
async fn each_role_gets_exactly_its_pages(app: TestApp) {
    let app = app.with_demo().await;
    // (user, overview, audit, settings, admin users, payments overview)
    let expected = [
        ("tara", 200, 200, 200, 200, 200),
        ("carol", 200, 200, 200, 403, 200),
        ("bob", 200, 200, 403, 403, 200),
        ("alice", 200, 200, 403, 403, 200),
        ("victor", 200, 200, 403, 403, 404),
    ];
    let mut checked = 0;
    for (user, overview, audit, settings, admin, payments) in expected {
        let client = app.signed_in(user).await;
        for (path, want) in [
            ("/workspaces/demo", overview),
            ("/workspaces/demo/audit", audit),
            ("/workspaces/demo/settings", settings),
            ("/admin/users", admin),
            ("/workspaces/payments", payments),
            ("/workspaces/no-such-space", 404),
        ] {
            assert_eq!(client.get(path).await.status, want, "{user} GET {path}");
            checked += 1;
        }
        // The navigation offers Settings only to those who may use it.
        let overview_page = client.get(&paths::workspace("demo")).await;
        let nav = overview_page.texts("header nav a, nav.subnav a");
        assert_eq!(
            nav.contains(&"Settings".to_owned()),
            settings == 200,
            "{user} nav {nav:?}"
        );
        assert_eq!(
            nav.contains(&"Users".to_owned()),
            admin == 200,
            "{user} nav {nav:?}"
        );
    }
    assert_eq!(checked, 30);
}

/// Only workspace admins and tenant admins change settings; the server refuses everyone else.
async fn only_admins_change_workspace_settings(app: TestApp) {
    let app = app.with_demo().await;
    let fields = [
        ("name", "Renamed"),
        ("mode", "enterprise"),
        ("approval_policy", "everyone"),
        ("quorum", "all"),
    ];
    for user in ["bob", "alice", "victor"] {
        let client = app.signed_in(user).await;
        assert_eq!(
            client
                .post(&paths::settings_general("demo"), &fields)
                .await
                .status,
            403,
            "{user}"
        );
        assert_eq!(
            client
                .post(
                    &paths::settings_members("demo"),
                    &[("username", "tara"), ("role", "admin")]
                )
                .await
                .status,
            403
        );
    }
    let victor = app.signed_in("victor").await;
    assert_eq!(
        victor
            .post(&paths::settings_general("payments"), &fields)
            .await
            .status,
        404,
        "non-member"
    );

    let carol = app.signed_in("carol").await;
    let resp = carol.post(&paths::settings_general("demo"), &fields).await;
    assert_eq!(resp.location(), Some("/workspaces/demo/settings#general"));
    let page = carol.get(&paths::settings("demo")).await;
    assert_eq!(page.texts(".toast-ok"), vec!["Settings saved. ×"]);
    assert_eq!(page.value("#g-name").as_deref(), Some("Renamed"));
    assert!(page.has("input[name=approval_policy][value=everyone][checked]"));
    assert!(page.has("input[name=quorum][value=all][checked]"));
    let rows = app
        .db(|c| audit::list(c, None, &Default::default(), 1, 0).map(|r| r.1))
        .await
        .unwrap();
    assert!(rows > 0);
}

async fn bad_settings_input_re_renders_with_messages_and_values(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let resp = carol
        .post(
            &paths::settings_general("demo"),
            &[
                ("name", "  "),
                ("description", "kept <b>text</b>"),
                ("mode", "bogus"),
                ("approval_policy", "developers"),
                ("quorum", "most"),
            ],
        )
        .await;
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.texts("#general .field-error"),
        vec![
            "Enter a workspace name.",
            "Choose enterprise or simple mode.",
            "Choose any or all reviewers."
        ]
    );
    assert_eq!(
        resp.texts("#g-description"),
        vec!["kept <b>text</b>"],
        "input kept, escaped"
    );

    let add = carol
        .post(
            &paths::settings_members("demo"),
            &[("username", "ghost"), ("role", "developer")],
        )
        .await;
    assert_eq!(add.status, 422);
    assert_eq!(
        add.texts("#username-error"),
        vec!["There is no user named “ghost”."]
    );
    assert_eq!(add.value("#add-username").as_deref(), Some("ghost"));
    let dup = carol
        .post(
            &paths::settings_members("demo"),
            &[("username", "alice"), ("role", "admin")],
        )
        .await;
    assert_eq!(
        dup.texts("#username-error"),
        vec!["alice is already a member."]
    );
    let role = carol
        .post(
            &paths::settings_members("demo"),
            &[("username", "tara"), ("role", "owner")],
        )
        .await;
    assert_eq!(role.texts("#role-error"), vec!["Choose a role."]);

    // Bad path and query values answer 4xx, never 500.
    assert_eq!(
        carol
            .post(
                "/workspaces/demo/settings/members/abc/role",
                &[("role", "admin")]
            )
            .await
            .status,
        404
    );
    assert_eq!(
        carol
            .post(
                "/workspaces/demo/settings/members/999999/role",
                &[("role", "admin")]
            )
            .await
            .status,
        404
    );
    assert_eq!(carol.get("/workspaces/demo/audit?page=0").await.status, 400);
    assert_eq!(
        carol
            .get("/workspaces/demo/audit?per_page=abc")
            .await
            .status,
        400
    );
    let long = format!("/workspaces/demo/audit?action={}", "x".repeat(500));
    assert_eq!(carol.get(&long).await.status, 400);
}

/// Only deployers, admins and tenant admins can be reviewers; losing the role removes the
/// reviewer, visibly.
async fn reviewer_list_holds_only_eligible_people(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let alice = user_id(&app, "alice").await;
    let bob = user_id(&app, "bob").await;
    let victor = user_id(&app, "victor").await;

    let refused = carol
        .post(
            &paths::settings_reviewers("demo"),
            &[("user_id", &alice.to_string())],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.texts("#reviewer-error"),
        vec!["alice is a developer; only deployers, admins and tenant administrators can review."]
    );
    let page = carol.get(&paths::settings("demo")).await;
    let options = page.texts("#add-reviewer option");
    assert!(
        !options
            .iter()
            .any(|o| o.starts_with("alice") || o.starts_with("victor")),
        "{options:?}"
    );
    assert_eq!(
        page.texts("#reviewer-table tbody tr td:first-child .mono"),
        vec!["bob", "carol"]
    );

    // Bob is demoted to developer. A demo package waits for his review, so the page first asks
    // (naming it) and changes nothing; confirmed, he leaves the reviewer list in the same
    // transaction.
    let path = paths::settings_member_role("demo", UserId(bob.get()));
    let asked = carol
        .post(&path, &[("role", "developer"), ("expected", "deployer")])
        .await;
    assert_eq!(asked.status, 200);
    assert!(
        asked
            .texts("#role-confirm")
            .join(" ")
            .contains("customer-dimension")
    );
    assert_eq!(
        carol
            .get(&paths::settings("demo"))
            .await
            .texts("#reviewer-table tbody tr td:first-child .mono"),
        vec!["bob", "carol"]
    );
    let resp = carol
        .post(
            &path,
            &[
                ("role", "developer"),
                ("expected", "deployer"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303);
    let page = carol.get(&paths::settings("demo")).await;
    let toast = page.texts(".toast-ok").join(" ");
    assert!(
        toast.contains("bob is now developer") && toast.contains("removed from the reviewer list"),
        "{toast}"
    );
    assert_eq!(
        page.texts("#reviewer-table tbody tr td:first-child .mono"),
        vec!["carol"]
    );
    assert!(
        page.texts("#reviewer-changes li")
            .iter()
            .any(|l| l.contains("bob removed — role changed to developer"))
    );
    let demo = demo_id(&app).await;
    assert!(
        !app.db(move |c| workspaces::is_eligible_reviewer(c, demo, bob))
            .await
            .unwrap()
    );

    // Victor (viewer) cannot be added even through the data layer.
    let carol_id = user_id(&app, "carol").await;
    let err = app
        .db(move |c| workspaces::add_reviewer(c, carol_id, demo, victor))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppError::Field {
                field: "reviewer",
                ..
            }
        ),
        "{err:?}"
    );
}

/// The rules hold in the data layer, whoever calls it.
async fn data_layer_refuses_actors_without_the_role(app: TestApp) {
    let app = app.with_demo().await;
    let demo = demo_id(&app).await;
    let (alice, bob, tara) = (
        user_id(&app, "alice").await,
        user_id(&app, "bob").await,
        user_id(&app, "tara").await,
    );
    let err = app
        .db(move |c| workspaces::add_reviewer(c, alice, demo, bob))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let err = app
        .db(move |c| workspaces::change_role(c, bob, demo, alice, None, Role::Admin, true))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    // The tenant administrator may, without being a member.
    app.db(move |c| workspaces::change_role(c, tara, demo, alice, None, Role::Deployer, true))
        .await
        .unwrap();
    app.db(move |c| workspaces::add_reviewer(c, tara, demo, alice))
        .await
        .unwrap();
    assert!(
        app.db(move |c| workspaces::is_eligible_reviewer(c, demo, alice))
            .await
            .unwrap()
    );
    // Demoting a reviewer below deployer takes them off the list.
    app.db(move |c| workspaces::change_role(c, tara, demo, alice, None, Role::Viewer, true))
        .await
        .unwrap();
    assert!(
        !app.db(move |c| workspaces::is_eligible_reviewer(c, demo, alice))
            .await
            .unwrap()
    );
}

async fn a_workspace_keeps_at_least_one_admin(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let carol_id = user_id(&app, "carol").await;
    let resp = carol
        .post(
            &paths::settings_member_role("demo", UserId(carol_id.get())),
            &[("role", "developer"), ("expected", "admin")],
        )
        .await;
    assert_eq!(resp.status, 409);
    assert_eq!(
        resp.texts(".toast-error"),
        vec!["A workspace keeps at least one admin: make someone else admin first. ×"]
    );
    let remove = carol
        .post(
            &paths::settings_member_remove("demo", UserId(carol_id.get())),
            &[],
        )
        .await;
    assert_eq!(remove.status, 409);
    assert!(remove.texts(".toast-error")[0].contains("at least one admin"));
}

/// Two admins changing the same member at once: one change, one clear message.
async fn concurrent_role_changes_yield_one_transition(app: TestApp) {
    let app = app.with_demo().await;
    let first = app.signed_in("carol").await;
    let second = app.signed_in("tara").await;
    let alice = user_id(&app, "alice").await;
    let path = paths::settings_member_role("demo", UserId(alice.get()));
    let (t1, t2) = (first.csrf().await, second.csrf().await);
    for round in 0..5 {
        let (from, to1, to2) = if round % 2 == 0 {
            ("developer", "deployer", "viewer")
        } else {
            ("deployer", "developer", "admin")
        };
        let fa = [
            ("role", to1),
            ("expected", from),
            ("csrf_token", t1.as_str()),
        ];
        let fb = [
            ("role", to2),
            ("expected", from),
            ("csrf_token", t2.as_str()),
        ];
        let a = first.post_raw(&path, &fa, &[]);
        let b = second.post_raw(&path, &fb, &[]);
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [303, 409],
            "round {round}: one changes it, one is told"
        );
        let toasts = [
            if a.status == 409 {
                a.texts(".toast")
            } else {
                first.get("/account").await.texts(".toast")
            },
            if b.status == 409 {
                b.texts(".toast")
            } else {
                second.get("/account").await.texts(".toast")
            },
        ];
        let wins = toasts
            .iter()
            .filter(|t| t.iter().any(|m| m.contains("is now")))
            .count();
        let losses = toasts
            .iter()
            .filter(|t| t.iter().any(|m| m.contains("by someone else meanwhile")))
            .count();
        assert_eq!((wins, losses), (1, 1), "round {round}: {toasts:?}");
        // Put alice back where the next round expects her.
        let demo = demo_id(&app).await;
        let tara = user_id(&app, "tara").await;
        let want = if round % 2 == 0 {
            Role::Deployer
        } else {
            Role::Developer
        };
        app.db(move |c| {
            let now = workspaces::members(c, demo)
                .unwrap()
                .into_iter()
                .find(|m| m.user_id == alice)
                .unwrap()
                .role();
            if now != want {
                workspaces::change_role(c, tara, demo, alice, None, want, true).unwrap();
            }
        })
        .await;
    }
}

/// Two admins demoting each other at the same moment: one wins, the workspace keeps an admin.
async fn two_admins_demoting_each_other_leave_one_admin(app: TestApp) {
    let app = app.with_demo().await;
    let demo = demo_id(&app).await;
    let (tara, carol, bob) = (
        user_id(&app, "tara").await,
        user_id(&app, "carol").await,
        user_id(&app, "bob").await,
    );
    for round in 0..5 {
        app.db(move |c| {
            for (who, role) in [(carol, Role::Admin), (bob, Role::Admin)] {
                let _ = workspaces::change_role(c, tara, demo, who, None, role, true);
            }
        })
        .await;
        let (carol_c, bob_c) = (app.signed_in("carol").await, app.signed_in("bob").await);
        let (to_bob, to_carol) = (
            paths::settings_member_role("demo", UserId(bob.get())),
            paths::settings_member_role("demo", UserId(carol.get())),
        );
        let fields = [
            ("role", "developer"),
            ("expected", "admin"),
            ("confirm", "1"),
        ];
        let (a, b) = tokio::join!(
            carol_c.post(&to_bob, &fields),
            bob_c.post(&to_carol, &fields)
        );
        // The loser is either told it lost (303 + message) or, if the winner already demoted
        // them, refused as no longer an admin (403).
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert!(
            statuses == [303, 303] || statuses == [303, 403],
            "round {round}: {statuses:?}"
        );
        let admins = app
            .db(move |c| {
                workspaces::members(c, demo)
                    .unwrap()
                    .into_iter()
                    .filter(|m| m.role() == Role::Admin)
                    .count()
            })
            .await;
        assert_eq!(admins, 1, "round {round}");
    }
}

async fn tenant_admin_creates_workspaces_with_valid_slugs(app: TestApp) {
    let app = app.with_demo().await;
    let tara = app.signed_in("tara").await;
    let bad = tara
        .post("/workspaces", &[("slug", "Bad Slug!"), ("name", "Search")])
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.texts("#slug-error"),
        vec!["Use only lowercase letters, digits and dashes."]
    );
    assert_eq!(bad.value("#ws-name").as_deref(), Some("Search"));
    let dup = tara
        .post("/workspaces", &[("slug", "demo"), ("name", "Another")])
        .await;
    assert_eq!(
        dup.texts("#slug-error"),
        vec!["A workspace with the slug “demo” exists."]
    );
    let ok = tara
        .post(
            "/workspaces",
            &[
                ("slug", "search"),
                ("name", "Search"),
                ("description", "Search team"),
            ],
        )
        .await;
    assert_eq!(ok.location(), Some(paths::settings("search").as_str()));
    assert_eq!(tara.get(&paths::settings("search")).await.status, 200);

    let carol = app.signed_in("carol").await;
    assert_eq!(
        carol
            .post("/workspaces", &[("slug", "mine"), ("name", "Mine")])
            .await
            .status,
        403
    );
    assert_eq!(
        carol.get(&paths::workspace("search")).await.status,
        404,
        "not a member"
    );
    assert!(!carol.get("/workspaces").await.has("#create-ws"));
}

/// Pages are gzipped for clients that accept it (on the worker thread, see
/// `middleware::gzip_whole_bodies`) and sent plain to those that do not.
async fn pages_are_gzipped_when_the_client_accepts_it(app: TestApp) {
    use std::io::Read as _;
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let url = format!("{}/workspaces/demo/audit", carol.base);
    let plain = carol.http.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.unwrap();
    assert!(plain.contains("<table"), "{plain}");

    let zipped = carol
        .http
        .get(&url)
        .header("Accept-Encoding", "br;q=0.9, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let bytes = zipped.bytes().await.unwrap();
    assert!(
        bytes.len() * 3 < plain.len(),
        "{} of {}",
        bytes.len(),
        plain.len()
    );
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    // The same page (its CSRF token is the session's, so identical).
    assert_eq!(unzipped, plain);
}

async fn audit_log_filters_and_swaps_rows_for_htmx(app: TestApp) {
    let app = app.with_demo().await;
    let victor = app.signed_in("victor").await;
    let page = victor.get("/workspaces/demo/audit?action=reviewer.").await;
    let actions = page.texts("tbody td.mono");
    assert!(
        !actions.is_empty() && actions.iter().all(|a| a.starts_with("reviewer.")),
        "{actions:?}"
    );
    let fragment = victor
        .get_htmx("/workspaces/demo/audit?action=member.&actor=carol")
        .await;
    assert!(!fragment.body.contains("<html"), "a fragment, not a page");
    let actions = fragment.texts("tbody td.mono");
    assert!(
        !actions.is_empty() && actions.iter().all(|a| a.starts_with("member.")),
        "{actions:?}"
    );
    let none = victor.get("/workspaces/demo/audit?actor=nobody").await;
    assert_eq!(
        none.texts("tr.empty"),
        vec!["No entries match these filters."]
    );
    // The log cannot be rewritten, even by the database user.
    let err = app
        .db(|c| {
            diesel::RunQueryDsl::execute(diesel::sql_query("UPDATE audit_log SET comment = 'x'"), c)
        })
        .await;
    assert!(err.is_err(), "audit_log refuses UPDATE");
    let err = app
        .db(|c| diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM audit_log"), c))
        .await;
    assert!(err.is_err(), "audit_log refuses DELETE");
}

/// Members and the people pickers are listed by username, whatever order they joined in (sorted
/// in Rust, not by the database's collation: `workspaces::members`).
async fn members_and_pickers_are_listed_by_username(app: TestApp) {
    let app = app.with_demo().await;
    app.db(|c| {
        let hash = releasedesk::password::Hasher::new(256)
            .hash("aaron-password-1")
            .unwrap();
        users::create(
            c,
            None,
            users::NewUser {
                username: &releasedesk::domain::Username::parse("aaron").unwrap(),
                display_name: &releasedesk::domain::DisplayName::parse("Aaron").unwrap(),
                password_hash: &hash,
                tenant_admin: false,
            },
        )
        .unwrap();
    })
    .await;
    let carol = app.signed_in("carol").await;
    let add = carol
        .post(
            &paths::settings_members("demo"),
            &[("username", "aaron"), ("role", "developer")],
        )
        .await;
    assert_eq!(add.status, 303);
    let overview = carol
        .get(&paths::workspace("demo"))
        .await
        .texts("#members tbody td.mono");
    let submitters = carol
        .get(&paths::tasks("demo"))
        .await
        .texts("#f-submitter option:not([value=\"\"])");
    assert_eq!(
        overview.first().map(String::as_str),
        Some("aaron"),
        "{overview:?}"
    );
    for list in [&overview, &submitters] {
        let mut sorted = list.to_vec();
        sorted.sort();
        assert!(list.len() >= 5, "{list:?}");
        assert_eq!(list, &sorted);
    }
    assert_eq!(overview, submitters);
}

on_both_backends!(
    each_role_gets_exactly_its_pages,
    only_admins_change_workspace_settings,
    bad_settings_input_re_renders_with_messages_and_values,
    reviewer_list_holds_only_eligible_people,
    data_layer_refuses_actors_without_the_role,
    a_workspace_keeps_at_least_one_admin,
    concurrent_role_changes_yield_one_transition,
    two_admins_demoting_each_other_leave_one_admin,
    tenant_admin_creates_workspaces_with_valid_slugs,
    audit_log_filters_and_swaps_rows_for_htmx,
    pages_are_gzipped_when_the_client_accepts_it,
    members_and_pickers_are_listed_by_username,
);
