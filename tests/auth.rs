//! Sign-in, sessions, CSRF, throttling and the security headers, through HTTP.

mod support;

use releasedesk::paths;
use support::{PASSWORD, TestApp};

async fn sign_in_and_sign_out(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    assert_eq!(
        client.get("/workspaces").await.location(),
        Some("/login?next=%2Fworkspaces"),
        "signed out → sign-in page"
    );

    let resp = client.login("alice", PASSWORD).await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.location(), Some("/workspaces"));
    let page = client.get("/workspaces").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts(".user-menu a"), vec!["alice"]);
    assert_eq!(
        page.texts("#workspaces tbody td:first-child a"),
        vec!["Demo Data Platform", "Payments"]
    );

    let out = client.post("/logout", &[]).await;
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(
        client.get("/workspaces").await.location(),
        Some(support::sign_in_for("/workspaces").as_str())
    );
}

async fn sign_in_follows_only_local_next(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    let page = client.get("/login?next=/workspaces/demo").await;
    let token = page.value("input[name=csrf_token]").unwrap();
    let next = page.value("input[name=next]").unwrap();
    assert_eq!(next, "/workspaces/demo");
    let resp = client
        .post_raw(
            "/login",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", &next),
            ],
            &[],
        )
        .await;
    assert_eq!(resp.location(), Some(paths::workspace("demo").as_str()));

    let other = app.client();
    let page = other.get("/login").await;
    let token = page.value("input[name=csrf_token]").unwrap();
    let resp = other
        .post_raw(
            "/login",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "//evil.example/"),
            ],
            &[],
        )
        .await;
    assert_eq!(resp.location(), Some("/workspaces"), "no open redirect");
}

async fn wrong_password_is_refused_and_keeps_the_username(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    let resp = client.login("Alice", "not-the-password").await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.texts(".alert-error"),
        vec!["Wrong username or password."]
    );
    assert_eq!(resp.value("#username").as_deref(), Some("Alice"));
    let unknown = client.login("nobody", "whatever-password").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.texts(".alert-error"),
        vec!["Wrong username or password."]
    );
}

async fn session_cookie_is_renewed_at_sign_in_and_worthless_after_sign_out(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    let page = client.get("/login").await;
    let before = page
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(page.header("set-cookie").unwrap().contains("HttpOnly"));
    assert!(page.header("set-cookie").unwrap().contains("SameSite=Lax"));
    let token = page.value("input[name=csrf_token]").unwrap();
    let resp = client
        .post_raw(
            "/login",
            &[
                ("username", "carol"),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
            &[],
        )
        .await;
    let after = resp
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(before, after, "a new session cookie at sign-in");

    // The pre-sign-in cookie (fixation) does not carry the identity.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let stale = raw
        .get(app.url("/workspaces"))
        .header("cookie", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 303);

    // A copy of the signed-in cookie stops working once its session signs out.
    let copied = raw
        .get(app.url("/workspaces"))
        .header("cookie", &after)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status(), 200);
    client.post("/logout", &[]).await;
    let replay = raw
        .get(app.url("/workspaces"))
        .header("cookie", &after)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        303,
        "a signed-out session cannot be replayed"
    );
}

/// A page view that changes nothing in the session sends no new cookie (re-encrypting and
/// re-sending it on every response cost each page a cookie's worth of AES and bytes); a flash
/// message is stored once and removed once.
async fn the_session_cookie_is_sent_only_when_it_changes(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    for path in [
        "/workspaces/demo/task-release/tasks",
        "/workspaces/demo/task-release/tasks",
        "/workspaces/demo/production",
    ] {
        let page = alice.get(path).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.header("set-cookie"), None, "{path}");
    }
    let created = alice
        .post(
            &paths::scripts("demo"),
            &[
                ("path", "etl/cookie_check.sql"),
                ("script_type", "sql"),
                ("schedule", "0 4 * * *"),
                ("description", ""),
                ("content", "SELECT 1;\n"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert!(
        created.header("set-cookie").is_some(),
        "the flash is stored"
    );
    let location = created.location().unwrap().to_owned();
    let shown = alice.get(&location).await;
    assert!(
        shown
            .texts(".toast-ok")
            .join(" ")
            .contains("etl/cookie_check.sql created"),
        "{}",
        shown.body
    );
    assert!(shown.header("set-cookie").is_some(), "the flash is removed");
    let again = alice.get(&location).await;
    assert!(again.texts(".toast-ok").is_empty(), "a flash shows once");
    assert_eq!(again.header("set-cookie"), None);
}

async fn state_changes_without_a_csrf_token_are_refused(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let fields = [
        ("name", "Hacked"),
        ("mode", "simple"),
        ("approval_policy", "everyone"),
        ("quorum", "all"),
    ];
    let resp = carol
        .post_raw(&paths::settings_general("demo"), &fields, &[])
        .await;
    assert_eq!(resp.status, 403);
    assert!(
        resp.body.contains("did not come from releasedesk"),
        "{}",
        resp.body
    );

    let mut wrong = fields.to_vec();
    wrong.push(("csrf_token", "forged"));
    assert_eq!(
        carol
            .post_raw(&paths::settings_general("demo"), &wrong, &[])
            .await
            .status,
        403
    );

    // htmx requests carry it as a header; a wrong header is refused with a toast.
    let htmx = carol
        .post_raw(
            &paths::settings_general("demo"),
            &fields,
            &[("X-CSRF-Token", "forged"), ("HX-Request", "true")],
        )
        .await;
    assert_eq!(htmx.status, 403);
    assert_eq!(htmx.header("hx-retarget"), Some("#toasts"));
    assert!(htmx.has(".toast.toast-error"));

    let name = app
        .db(|conn| {
            releasedesk::db::models::workspaces::find_by_slug(conn, "demo")
                .unwrap()
                .unwrap()
                .name
        })
        .await;
    assert_eq!(name, "Demo Data Platform", "nothing changed");

    // The right token in the header works.
    let token = carol.csrf().await;
    let ok = carol
        .post_raw(
            &paths::settings_general("demo"),
            &fields,
            &[("X-CSRF-Token", token.as_str())],
        )
        .await;
    assert_eq!(ok.status, 303);
}

async fn cross_site_requests_are_refused_even_with_a_token(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let token = carol.csrf().await;
    let fields = [("role", "viewer"), ("csrf_token", token.as_str())];
    let path = "/workspaces/demo/settings/members/4/role";
    let resp = carol
        .post_raw(path, &fields, &[("Origin", "http://evil.example")])
        .await;
    assert_eq!(resp.status, 403);
    let resp = carol
        .post_raw(path, &fields, &[("Sec-Fetch-Site", "cross-site")])
        .await;
    assert_eq!(resp.status, 403);
    let same = carol
        .post_raw(
            path,
            &fields,
            &[("Origin", &app.base), ("Sec-Fetch-Site", "same-origin")],
        )
        .await;
    assert_eq!(same.status, 303, "{}", same.body);
}

async fn sign_in_itself_needs_the_token(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    client.get("/login").await;
    let resp = client
        .post_raw(
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(resp.status, 403);
}

async fn repeated_failures_are_throttled_per_username(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(client.login("bob", "wrong-password").await.status, 401);
    }
    let locked = client.login("bob", PASSWORD).await;
    assert_eq!(locked.status, 429, "even the right password waits");
    assert!(
        locked
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(locked.texts(".alert-error")[0].starts_with("Too many failed sign-in attempts"));
    // Another user is not affected.
    assert_eq!(client.login("carol", PASSWORD).await.status, 303);
}

async fn deactivation_signs_the_user_out_at_once(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    assert_eq!(alice.get("/workspaces").await.status, 200);
    let tara = app.signed_in("tara").await;
    let alice_id = app
        .db(|c| {
            releasedesk::db::models::users::find_by_username(c, "alice")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let resp = tara
        .post(
            &format!("/admin/users/{alice_id}/active"),
            &[("value", "false")],
        )
        .await;
    assert_eq!(resp.status, 303);
    assert_eq!(
        alice.get("/workspaces").await.location(),
        Some(support::sign_in_for("/workspaces").as_str())
    );
    let again = app.client().login("alice", PASSWORD).await;
    assert_eq!(again.status, 403);
    assert!(again.body.contains("deactivated"));
}

async fn password_change_signs_out_other_sessions(app: TestApp) {
    let app = app.with_demo().await;
    let laptop = app.signed_in("bob").await;
    let phone = app.signed_in("bob").await;
    let weak = laptop
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert_eq!(
        weak.texts("#new-error"),
        vec!["Use at least 10 characters."]
    );
    let resp = laptop
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a much better secret"),
                ("confirm", "a much better secret"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(
        laptop.get("/account").await.status,
        200,
        "this session continues"
    );
    assert_eq!(
        phone.get("/account").await.location(),
        Some(support::sign_in_for("/account").as_str()),
        "the other one is over"
    );
    assert_eq!(
        app.client()
            .login("bob", "a much better secret")
            .await
            .status,
        303
    );
}

async fn every_response_carries_the_security_headers(app: TestApp) {
    let client = app.client();
    let page = client.get("/login").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(!page.body.contains("<script>"), "no inline script");

    let htmx = client.get("/static/vendor/htmx-4.0.1.min.js").await;
    assert_eq!(htmx.status, 200);
    assert!(htmx.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(client.get("/static/nope.js").await.status, 404);

    // The page names its icon, so browsers do not ask for a /favicon.ico that is not there.
    let icon = page
        .body
        .split("<link rel=\"icon\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an icon link");
    let icon = client.get(icon).await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
}

async fn health_and_metrics_answer(app: TestApp) {
    let client = app.client();
    let health = client.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let metrics = client.get("/metrics").await;
    assert!(
        metrics
            .body
            .contains("releasedesk_http_requests_total{class=\"2xx\"}")
    );
    let missing = client.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.texts(".error-code"), vec!["404"]);
}

on_both_backends!(
    sign_in_and_sign_out,
    sign_in_follows_only_local_next,
    wrong_password_is_refused_and_keeps_the_username,
    session_cookie_is_renewed_at_sign_in_and_worthless_after_sign_out,
    the_session_cookie_is_sent_only_when_it_changes,
    state_changes_without_a_csrf_token_are_refused,
    cross_site_requests_are_refused_even_with_a_token,
    sign_in_itself_needs_the_token,
    repeated_failures_are_throttled_per_username,
    deactivation_signs_the_user_out_at_once,
    password_change_signs_out_other_sessions,
    every_response_carries_the_security_headers,
    health_and_metrics_answer,
);
