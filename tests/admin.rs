//! Tenant administration of users: create, password rules, deactivate, reset, tenant admin.

mod support;

use releasedesk::db::models::users;
use releasedesk::domain::UserId;
use releasedesk::paths;
use support::{PASSWORD, TestApp};

async fn id_of(app: &TestApp, username: &'static str) -> UserId {
    app.db(move |c| users::find_by_username(c, username).unwrap().unwrap().id)
        .await
}

async fn tenant_admin_creates_users_with_good_passwords(app: TestApp) {
    let app = app.with_demo().await;
    let tara = app.signed_in("tara").await;
    let weak = tara
        .post(
            "/admin/users",
            &[
                ("username", "Dave"),
                ("display_name", "Dave Ops"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert_eq!(
        weak.texts("#password-error"),
        vec!["This password is too common; choose another."]
    );
    assert_eq!(
        weak.value("#nu-username").as_deref(),
        Some("Dave"),
        "input kept"
    );
    assert_eq!(weak.value("#nu-password"), None, "but never the password");
    assert!(
        weak.has("dialog[data-open-on-load]"),
        "the dialog re-opens with its messages"
    );

    let taken = tara
        .post(
            "/admin/users",
            &[
                ("username", "alice"),
                ("display_name", "Alice 2"),
                ("password", "long enough secret"),
            ],
        )
        .await;
    assert_eq!(
        taken.texts("#username-error"),
        vec!["The username “alice” is taken."]
    );

    let ok = tara
        .post(
            "/admin/users",
            &[
                ("username", "Dave"),
                ("display_name", "Dave Ops"),
                ("password", "long enough secret"),
            ],
        )
        .await;
    assert_eq!(ok.location(), Some("/admin/users"));
    let hash = app
        .db(|c| {
            users::find_by_username(c, "dave")
                .unwrap()
                .unwrap()
                .password_hash
        })
        .await;
    assert!(hash.starts_with("$argon2id$"), "argon2id: {hash}");
    assert_eq!(
        app.client()
            .login("dave", "long enough secret")
            .await
            .status,
        303
    );

    let search = tara.get_htmx("/admin/users?q=dav").await;
    assert_eq!(search.texts("#users tbody td.mono"), vec!["dave"]);
}

async fn only_tenant_admins_manage_users(app: TestApp) {
    let app = app.with_demo().await;
    let alice = id_of(&app, "alice").await;
    let carol = app.signed_in("carol").await;
    assert_eq!(carol.get("/admin/users").await.status, 403);
    assert_eq!(
        carol
            .post(
                &format!("/admin/users/{alice}/active"),
                &[("value", "false")]
            )
            .await
            .status,
        403
    );
    assert_eq!(
        carol
            .post(
                &format!("/admin/users/{alice}/password"),
                &[("password", "new long secret")]
            )
            .await
            .status,
        403
    );
    assert_eq!(
        carol
            .post(
                "/admin/users",
                &[
                    ("username", "eve"),
                    ("display_name", "Eve"),
                    ("password", "long enough secret")
                ]
            )
            .await
            .status,
        403
    );
    assert_eq!(
        app.client().login("alice", PASSWORD).await.status,
        303,
        "alice untouched"
    );
}

async fn reset_password_signs_the_user_out(app: TestApp) {
    let app = app.with_demo().await;
    let bob_id = id_of(&app, "bob").await;
    let bob = app.signed_in("bob").await;
    let tara = app.signed_in("tara").await;
    let weak = tara
        .post(
            &format!("/admin/users/{bob_id}/password"),
            &[("password", "bob")],
        )
        .await;
    // Refused like every other refusal: the list again, 422, with the message.
    assert_eq!(weak.status, 422);
    assert!(weak.texts(".toast-error")[0].contains("not changed"));
    assert_eq!(
        bob.get("/workspaces").await.status,
        200,
        "weak reset changed nothing"
    );
    tara.post(
        &format!("/admin/users/{bob_id}/password"),
        &[("password", "fresh long secret")],
    )
    .await;
    assert_eq!(
        bob.get("/workspaces").await.location(),
        Some(support::sign_in_for("/workspaces").as_str())
    );
    assert_eq!(app.client().login("bob", PASSWORD).await.status, 401);
    assert_eq!(
        app.client().login("bob", "fresh long secret").await.status,
        303
    );
}

async fn deactivating_a_reviewer_takes_them_off_every_list(app: TestApp) {
    let app = app.with_demo().await;
    let bob_id = id_of(&app, "bob").await;
    let tara = app.signed_in("tara").await;
    tara.post(
        &format!("/admin/users/{bob_id}/active"),
        &[("value", "false")],
    )
    .await;
    let settings = tara.get(&paths::settings("demo")).await;
    assert_eq!(
        settings.texts("#reviewer-table tbody td:first-child .mono"),
        vec!["carol"]
    );
    assert!(
        settings
            .texts("#reviewer-changes li")
            .iter()
            .any(|l| l.contains("bob removed — user deactivated"))
    );
    // Twice is a clear conflict (409 with the list), not an error page.
    let twice = tara
        .post(
            &format!("/admin/users/{bob_id}/active"),
            &[("value", "false")],
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(
        twice.texts(".toast-error"),
        vec!["bob is already deactivated. ×"]
    );
    // Nobody deactivates or demotes themselves.
    let tara_id = id_of(&app, "tara").await;
    let own = tara
        .post(
            &format!("/admin/users/{tara_id}/active"),
            &[("value", "false")],
        )
        .await;
    assert_eq!(own.status, 409);
    assert_eq!(
        own.texts(".toast-error"),
        vec!["You cannot deactivate your own account. ×"]
    );
    assert_eq!(
        tara.post(
            &format!("/admin/users/{tara_id}/active"),
            &[("value", "maybe")]
        )
        .await
        .status,
        400
    );
}

on_both_backends!(
    tenant_admin_creates_users_with_good_passwords,
    only_tenant_admins_manage_users,
    reset_password_signs_the_user_out,
    deactivating_a_reviewer_takes_them_off_every_list,
);
