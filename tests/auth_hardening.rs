//! Issue 20, findings 4, 5 and 8, as an attacker would try them, on both backends: a `next`
//! that leaves the site or breaks the `Location` header, and concurrent wrong passwords against
//! the sign-in throttle.

mod support;

use diesel::prelude::*;
use releasedesk::db::models::login_failures::MAX_PER_USERNAME;
use releasedesk::db::schema::login_failures;
use support::{Client, PASSWORD, Resp, TestApp};

/// `next` values a browser would follow off the site, or that a header cannot carry.
fn hostile_nexts() -> Vec<String> {
    let mut values: Vec<String> = [
        "/\t/evil.example",
        "/\n",
        "/\r\n",
        "/\0",
        "/ /evil.example",
        "//evil.example",
        "//evil.example/workspaces",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F/evil.example",
        "/%09/evil.example",
        "http://evil.example",
        "javascript:alert(1)",
        "/\u{3000}/evil.example",
        "/\u{2028}/evil.example",
        "evil.example",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    values.push(format!("/{}", "a".repeat(5_000)));
    values
}

fn query(next: &str) -> String {
    serde_urlencoded::to_string([("next", next)]).unwrap()
}

/// Signs in through the form of `login_path`, sending back the `next` that form carries.
async fn sign_in_through(client: &Client, login_path: &str, username: &str) -> Resp {
    let page = client.get(login_path).await;
    assert_eq!(page.status, 200, "GET {login_path:?}");
    let token = page.value("input[name=csrf_token]").unwrap();
    let mut form = vec![
        ("username", username.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("csrf_token", token),
    ];
    if let Some(next) = page.value("input[name=next]") {
        form.push(("next", next));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post_raw("/login", &form, &[]).await
}

/// Finding 4 and 5: every hostile `next`, on the sign-in page signed out and signed in and in
/// the sign-in form, lands on `/workspaces`; none gets a 5xx; the page never carries it on.
async fn a_hostile_next_never_leaves_the_site_nor_fails(app: TestApp) {
    let app = app.with_demo().await;

    // The addresses of the report, exactly as sent.
    for raw in [
        "/login?next=/%09/evil.example",
        "/login?next=/%0a",
        "/login?next=/%0d%0a",
        "/login?next=/%00",
    ] {
        let signed_out = app.client();
        let page = signed_out.get(raw).await;
        assert_eq!(page.status, 200, "GET {raw} signed out: {}", page.body);
        let resp = sign_in_through(&signed_out, raw, "alice").await;
        assert_eq!(resp.status, 303, "sign-in from {raw}");
        assert_eq!(resp.location(), Some("/workspaces"), "sign-in from {raw}");
        let again = signed_out.get(raw).await;
        assert_eq!(again.status, 303, "GET {raw} signed in");
        assert_eq!(again.location(), Some("/workspaces"), "GET {raw} signed in");
    }

    let signed_in = app.signed_in("bob").await;
    for next in hostile_nexts() {
        let path = format!("/login?{}", query(&next));
        let page = app.client().get(&path).await;
        assert_eq!(page.status, 200, "GET /login with {next:?} signed out");
        assert_eq!(
            page.value("input[name=next]"),
            None,
            "{next:?} is not carried on"
        );

        let resp = signed_in.get(&path).await;
        assert_eq!(resp.status, 303, "GET /login with {next:?} signed in");
        assert_eq!(resp.location(), Some("/workspaces"), "{next:?} signed in");

        let client = app.client();
        let token = client
            .get("/login")
            .await
            .value("input[name=csrf_token]")
            .unwrap();
        let fields = [
            ("username", "carol"),
            ("password", PASSWORD),
            ("csrf_token", &token),
            ("next", &next),
        ];
        let resp = client.post_raw("/login", &fields, &[]).await;
        assert_eq!(resp.status, 303, "POST /login with {next:?}: {}", resp.body);
        assert_eq!(resp.location(), Some("/workspaces"), "POST with {next:?}");
    }

    // A refused sign-in re-renders the form: without the hostile value, and without a 500.
    for next in ["/\n", "/\0", "/\t/evil.example"] {
        let client = app.client();
        let token = client
            .get("/login")
            .await
            .value("input[name=csrf_token]")
            .unwrap();
        let fields = [
            ("username", "dave"),
            ("password", "not-the-password"),
            ("csrf_token", &token),
            ("next", next),
        ];
        let resp = client.post_raw("/login", &fields, &[]).await;
        assert_eq!(resp.status, 401, "wrong password with {next:?}");
        assert_eq!(resp.value("input[name=next]"), None, "{next:?}");
    }

    // A local `next` still works, through the page and the form.
    let client = app.client();
    let resp = sign_in_through(
        &client,
        "/login?next=%2Fworkspaces%2Fdemo%2Fscripts%3Fq%3Da%2Bb",
        "alice",
    )
    .await;
    assert_eq!(resp.location(), Some("/workspaces/demo/scripts?q=a+b"));

    // The sign-in redirect of a signed-out page request uses the same rule.
    let signed_out = app.client();
    assert_eq!(
        signed_out.get("/workspaces/demo").await.location(),
        Some("/login?next=%2Fworkspaces%2Fdemo")
    );
    assert_eq!(
        signed_out.get("/workspaces/%09evil").await.location(),
        Some("/login"),
        "a page address the sign-in would not follow is not carried to it"
    );
    assert_eq!(
        support::sign_in_for("/workspaces/%09evil"),
        "/login",
        "the tests' helper asks the server's rule"
    );
}

/// Finding 8b: 60 wrong passwords at once for one user: exactly `MAX_PER_USERNAME` of them are
/// checked (and answered "wrong password"), every other one is throttled before its check.
async fn concurrent_wrong_passwords_are_checked_at_most_the_limit(app: TestApp) {
    let app = app.with_demo().await;
    let client = app.client();
    let token = client
        .get("/login")
        .await
        .value("input[name=csrf_token]")
        .unwrap();
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..60 {
        let client = Client {
            http: client.http.clone(),
            base: client.base.clone(),
        };
        let token = token.clone();
        attempts.spawn(async move {
            let password = format!("wrong-password-{i}");
            let fields = [
                ("username", "alice"),
                ("password", password.as_str()),
                ("csrf_token", token.as_str()),
            ];
            client.post_raw("/login", &fields, &[]).await.status
        });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, throttled),
        (MAX_PER_USERNAME as usize, 60 - MAX_PER_USERNAME as usize),
        "{statuses:?}"
    );
    let recorded = app
        .db(|c| {
            login_failures::table
                .filter(login_failures::username.eq("alice"))
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(recorded, MAX_PER_USERNAME);
    // Locked: even the right password is not checked now.
    assert_eq!(app.client().login("alice", PASSWORD).await.status, 429);
}

on_both_backends!(
    a_hostile_next_never_leaves_the_site_nor_fails,
    concurrent_wrong_passwords_are_checked_at_most_the_limit,
);
