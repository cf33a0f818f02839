//! Issue 20, findings 4, 5 and 8, as an attacker would try them, on both backends: a `next`
//! that leaves the site or breaks the `Location` header, unbounded sessions per user and their
//! list on the Account page, and concurrent wrong passwords against the sign-in throttle.

mod support;

use chrono::{Duration, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use releasedesk::db::models::login_failures::MAX_PER_USERNAME;
use releasedesk::db::models::sessions::MAX_PER_USER;
use releasedesk::db::schema::{audit_log, login_failures, user_sessions, users};
use releasedesk::paths;
use support::{Client, PASSWORD, Resp, TestApp};

const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

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

/// A cookie-keeping client that says it is `user_agent`.
fn browser(app: &TestApp, user_agent: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    Client {
        http,
        base: app.base.clone(),
    }
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

async fn user_id(app: &TestApp, username: &'static str) -> i64 {
    app.db(move |c| {
        users::table
            .filter(users::username.eq(username))
            .select(users::id)
            .first::<i64>(c)
            .unwrap()
    })
    .await
}

async fn session_count(app: &TestApp, user: i64) -> i64 {
    app.db(move |c| {
        user_sessions::table
            .filter(user_sessions::user_id.eq(user))
            .count()
            .get_result::<i64>(c)
            .unwrap()
    })
    .await
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
        signed_out.get(&paths::workspace("demo")).await.location(),
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

/// Finding 8a: signing in more than `MAX_PER_USER` times ends the oldest sessions first.
async fn sessions_per_user_are_capped_oldest_first(app: TestApp) {
    let app = app.with_demo().await;
    let alice = user_id(&app, "alice").await;
    let mut clients = Vec::new();
    for _ in 0..MAX_PER_USER + 5 {
        clients.push(app.signed_in("alice").await);
    }
    assert_eq!(session_count(&app, alice).await, MAX_PER_USER as i64);
    for (i, client) in clients.iter().enumerate() {
        let resp = client.get("/account").await;
        if i < 5 {
            assert_eq!(
                resp.location(),
                Some(support::sign_in_for("/account").as_str()),
                "session {i} (among the 5 oldest) was ended"
            );
        } else {
            assert_eq!(resp.status, 200, "session {i} is live");
        }
    }
    // Other users are not touched.
    let bob = app.signed_in("bob").await;
    assert_eq!(bob.get("/account").await.status, 200);
    assert_eq!(session_count(&app, alice).await, MAX_PER_USER as i64);
}

/// Finding 8a: the Account page lists a user's live sessions and ends any of them, only their
/// own; ending this one signs out; each end is audited without the session's id.
async fn account_lists_own_sessions_and_ends_them(app: TestApp) {
    let app = app.with_demo().await;
    let laptop = browser(&app, FIREFOX_ON_LINUX);
    assert_eq!(laptop.login("alice", PASSWORD).await.status, 303);
    let phone = browser(&app, SAFARI_ON_IPHONE);
    assert_eq!(phone.login("alice", PASSWORD).await.status, 303);
    let bob = app.signed_in("bob").await;

    let page = laptop.get("/account").await;
    assert_eq!(page.status, 200);
    let rows = page.texts("#sessions tbody tr");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let current = page.texts("#sessions tbody tr.current td:first-child");
    assert_eq!(current, vec!["Firefox 128 on Linux this session"]);
    let other = page.texts("#sessions tbody tr:not(.current) td");
    assert_eq!(other[0], "Safari 17 on iOS");
    assert_eq!(other[1], "127.0.0.1");
    // The page names sessions by handle, never by the id the cookie carries.
    let alice = user_id(&app, "alice").await;
    let ids: Vec<String> = app
        .db(move |c| {
            user_sessions::table
                .filter(user_sessions::user_id.eq(alice))
                .select(user_sessions::id)
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(ids.len(), 2);
    for id in &ids {
        assert!(!page.body.contains(id.as_str()), "a session id on the page");
    }
    let action = |resp: &Resp, selector: &str| -> String {
        let sel = scraper::Selector::parse(selector).unwrap();
        resp.html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr("action"))
            .unwrap()
            .to_owned()
    };
    let end_phone = action(&page, "#sessions tbody tr:not(.current) form");
    let end_laptop = action(&page, "#sessions tbody tr.current form");
    assert!(end_phone.starts_with("/account/sessions/") && end_phone.ends_with("/end"));

    // bob cannot end alice's session, even knowing its address.
    let refused = bob.post(&end_phone, &[]).await;
    assert_eq!(refused.status, 404);
    assert_eq!(phone.get("/account").await.status, 200);
    // Nor without the token.
    let forged = laptop.post_raw(&end_phone, &[], &[]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(phone.get("/account").await.status, 200);

    let ended = laptop.post(&end_phone, &[]).await;
    assert_eq!(ended.status, 303, "{}", ended.body);
    assert_eq!(ended.location(), Some("/account"));
    assert_eq!(
        phone.get("/account").await.location(),
        Some(support::sign_in_for("/account").as_str()),
        "the phone is signed out"
    );
    let page = laptop.get("/account").await;
    assert_eq!(
        page.texts(".toast"),
        vec!["Session ended. That browser is signed out. ×"]
    );
    assert_eq!(page.texts("#sessions tbody tr").len(), 1);
    // Ending it again: it is gone.
    assert_eq!(laptop.post(&end_phone, &[]).await.status, 404);

    // Ending this session signs out.
    let out = laptop.post(&end_laptop, &[]).await;
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(
        laptop.get("/account").await.location(),
        Some(support::sign_in_for("/account").as_str())
    );
    assert_eq!(session_count(&app, alice).await, 0);

    let audited: Vec<(Option<i64>, String, String)> = app
        .db(|c| {
            audit_log::table
                .filter(audit_log::action.eq("session.ended"))
                .order(audit_log::id)
                .select((
                    audit_log::actor_id,
                    audit_log::target_label,
                    audit_log::comment,
                ))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert_eq!(audited[0].0, Some(alice));
    assert_eq!(audited[0].1, "alice");
    assert!(
        audited[0].2.starts_with("another session, signed in "),
        "{audited:?}"
    );
    assert!(
        audited[1].2.starts_with("this session, signed in "),
        "{audited:?}"
    );
    for (_, _, comment) in &audited {
        for id in &ids {
            assert!(
                !comment.contains(id.as_str()),
                "a session id in the audit log"
            );
        }
    }
}

/// Finding 8a: "last seen" moves with use, but is written at most once a minute.
async fn last_seen_is_written_at_most_once_a_minute(app: TestApp) {
    let app = app.with_demo().await;
    let alice = app.signed_in("alice").await;
    let id = user_id(&app, "alice").await;
    let set = |ago: i64| {
        // Microseconds: what both backends store.
        let at = (Utc::now().naive_utc() - Duration::seconds(ago)).trunc_subsecs(6);
        app.db(move |c| {
            diesel::update(user_sessions::table.filter(user_sessions::user_id.eq(id)))
                .set(user_sessions::last_seen_at.eq(at))
                .execute(c)
                .unwrap();
            at
        })
    };
    let seen = || {
        app.db(move |c| {
            user_sessions::table
                .filter(user_sessions::user_id.eq(id))
                .select(user_sessions::last_seen_at)
                .first::<NaiveDateTime>(c)
                .unwrap()
        })
    };

    let recent = set(30).await;
    assert_eq!(alice.get("/account").await.status, 200);
    assert_eq!(seen().await, recent, "seen 30 s ago: not written again");

    set(120).await;
    assert_eq!(alice.get(&paths::workspace("demo")).await.status, 200);
    let written = seen().await;
    assert!(
        Utc::now().naive_utc() - written < Duration::seconds(10),
        "seen 2 minutes ago: written now ({written})"
    );
    assert_eq!(alice.get("/account").await.status, 200);
    assert_eq!(seen().await, written, "not written twice within a minute");
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
    sessions_per_user_are_capped_oldest_first,
    account_lists_own_sessions_and_ends_them,
    last_seen_is_written_at_most_once_a_minute,
    concurrent_wrong_passwords_are_checked_at_most_the_limit,
);
