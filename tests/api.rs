//! The JSON API end to end, as a CI job uses it: submit → release → a reviewer's token approves
//! → wait for *released*; the same rules as the pages (four eyes, roles, scopes); problem
//! documents for every error; idempotent creation under concurrency; the OpenAPI document
//! covering every route; the per-token rate limit; and no secret in the audit log.

mod support;

use std::time::{Duration, Instant};

use releasedesk::domain::TokenScope;
use serde_json::{Value, json};
use support::TestApp;
use support::api::{Api, token};

/// Creates `path` through the API and submits its first version: the new task's id.
async fn submit_new_script(api: &Api, path: &str, content: &str) -> i64 {
    let created = api
        .post(
            "/workspaces/demo/scripts",
            &json!({"path": path, "script_type": "sql", "content": content}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_i64().unwrap();
    let submitted = api
        .post(
            &format!("/workspaces/demo/scripts/{id}/versions"),
            &json!({"message": "from CI"}),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    assert_eq!(submitted.json["version"], 1);
    assert_eq!(submitted.json["task"]["status"], "pending");
    submitted.json["task"]["id"].as_i64().unwrap()
}

async fn ci_flow_submit_release_approve_wait(app: TestApp) {
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Write).await));
    let bob = Api::new(&app, Some(&token(&app, "bob", TokenScope::Write).await));

    let me = alice.get("/user").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["username"], "alice");
    assert_eq!(me.json["token"]["scope"], "write");

    let task = submit_new_script(&alice, "ci/nightly.sql", "SELECT 1;").await;
    let detail = alice.get(&format!("/workspaces/demo/tasks/{task}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert!(detail.json["diff"].as_str().unwrap().contains("+SELECT 1;"));

    let released = alice
        .post(
            "/workspaces/demo/packages",
            &json!({"task_ids": [task], "name": "nightly", "reviewers": ["bob"]}),
        )
        .await;
    assert_eq!(released.status, 201, "{}", released.text);
    assert_eq!(released.json["status"], "pending_approval");
    let package = released.json["id"].as_i64().unwrap();

    // The applicant cannot approve her own package, through the API as on the page.
    let own = alice
        .post(
            &format!("/workspaces/demo/packages/{package}/decision"),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.text);
    assert_eq!(own.problem(), "forbidden");
    assert_eq!(
        own.json["detail"],
        "You applied for this release: someone else must review it."
    );

    // A waiting request answers when the reviewer decides.
    let waiter = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let a = alice
                .get(&format!("/workspaces/demo/packages/{package}?wait=30s"))
                .await;
            (
                a.status,
                a.json["status"].as_str().unwrap_or("").to_owned(),
                t0.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let approved = bob
        .post(
            &format!("/workspaces/demo/packages/{package}/decision"),
            &json!({"decision": "approve", "comment": "looks right"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json["reviewers"][0]["decision"], "approved");
    let (status, seen, took) = waiter.await.unwrap();
    assert_eq!(status, 200);
    assert_ne!(seen, "pending_approval", "the wait ended on a change");
    assert!(
        took < Duration::from_secs(20),
        "the wait ended early: {took:?}"
    );

    // The CI loop: wait until finished.
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        let a = alice
            .get(&format!("/workspaces/demo/packages/{package}?wait=10s"))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        if a.json["finished"] == true || Instant::now() > deadline {
            break a;
        }
    };
    assert_eq!(last.json["status"], "released", "{}", last.text);
    assert_eq!(last.json["tasks"][0]["release_status"], "released");
    let live = alice.get("/workspaces/demo/production?q=ci/nightly").await;
    assert_eq!(live.status, 200, "{}", live.text);
    assert_eq!(live.json["items"][0]["path"], "ci/nightly.sql");
    assert_eq!(live.json["items"][0]["version"], 1);
}

async fn roles_and_scopes_hold_through_the_api(app: TestApp) {
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Write).await));
    let task = submit_new_script(&alice, "ci/roles.sql", "SELECT 2;").await;

    // A read-only token changes nothing, whatever its user may do.
    let carol_read = Api::new(&app, Some(&token(&app, "carol", TokenScope::Read).await));
    let refused = carol_read
        .post(
            "/workspaces/demo/tasks/revoke",
            &json!({"task_ids": [task]}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    assert_eq!(carol_read.get("/workspaces/demo/tasks").await.status, 200);

    // A viewer's write token cannot release: the data layer's role rule.
    let victor = Api::new(&app, Some(&token(&app, "victor", TokenScope::Write).await));
    let viewer = victor
        .post(
            "/workspaces/demo/packages",
            &json!({"task_ids": [task], "name": "x", "reviewers": ["bob"]}),
        )
        .await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);

    // Releasing needs a reviewer from the list, never oneself.
    let own = alice
        .post(
            "/workspaces/demo/packages",
            &json!({"task_ids": [task], "name": "x", "reviewers": ["alice"]}),
        )
        .await;
    assert_eq!(own.status, 422, "{}", own.text);
    assert_eq!(own.json["errors"][0]["field"], "reviewers");
    let nobody = alice
        .post(
            "/workspaces/demo/packages",
            &json!({"task_ids": [task], "name": "x", "reviewers": []}),
        )
        .await;
    assert_eq!(nobody.status, 422, "{}", nobody.text);

    // A workspace the user is not in does not exist for them.
    let foreign = victor.get("/workspaces/payments/tasks").await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    assert_eq!(foreign.problem(), "not-found");
}

async fn tokens_stop_when_revoked_expired_or_user_deactivated(app: TestApp) {
    use releasedesk::db::models::{tokens, users};
    let app = app.with_demo().await;
    let none = Api::new(&app, None).get("/user").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.problem(), "unauthenticated");
    assert!(
        none.headers
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer"))
    );
    let junk = Api::new(&app, Some("rd_not-a-token")).get("/user").await;
    assert_eq!(junk.status, 401);

    // Revoked.
    let secret = token(&app, "alice", TokenScope::Write).await;
    let api = Api::new(&app, Some(&secret));
    assert_eq!(api.get("/user").await.status, 200);
    app.db(|c| {
        let alice = users::find_by_username(c, "alice").unwrap().unwrap();
        let t = tokens::list_for_user(c, alice.id).unwrap().remove(0);
        tokens::revoke(c, alice.id, t.id).unwrap();
    })
    .await;
    assert_eq!(api.get("/user").await.status, 401);

    // Expired.
    let secret = token(&app, "bob", TokenScope::Read).await;
    let api = Api::new(&app, Some(&secret));
    assert_eq!(api.get("/user").await.status, 200);
    app.db(|c| {
        use diesel::prelude::*;
        diesel::sql_query("UPDATE api_tokens SET expires_at = created_at")
            .execute(c)
            .unwrap();
    })
    .await;
    assert_eq!(api.get("/user").await.status, 401);

    // The user deactivated: at once.
    let secret = token(&app, "victor", TokenScope::Read).await;
    let api = Api::new(&app, Some(&secret));
    assert_eq!(api.get("/user").await.status, 200);
    app.db(|c| {
        let tara = users::find_by_username(c, "tara").unwrap().unwrap();
        let victor = users::find_by_username(c, "victor").unwrap().unwrap();
        users::set_active(c, tara.id, victor.id, false).unwrap();
    })
    .await;
    assert_eq!(api.get("/user").await.status, 401);
}

async fn an_idempotency_key_creates_once_under_concurrency(app: TestApp) {
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Write).await));
    let created = alice
        .post(
            "/workspaces/demo/scripts",
            &json!({"path": "ci/once.sql", "script_type": "sql", "content": "SELECT 3;"}),
        )
        .await;
    let id = created.json["id"].as_i64().unwrap();
    let body = json!({"message": "once", "draft": {"script_type": "sql", "content": "SELECT 4;"}});
    let path = format!("/workspaces/demo/scripts/{id}/versions");
    let answers = futures_join(8, |_| {
        let (alice, path, body) = (alice.clone(), path.clone(), body.clone());
        async move {
            alice
                .send(
                    "POST",
                    &path,
                    Some(&body),
                    &[("Idempotency-Key", "build-42")],
                )
                .await
        }
    })
    .await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.text, answers[0].text, "every retry gets the first answer");
    }
    assert_eq!(answers[0].json["version"], 1);
    let tasks = alice.get("/workspaces/demo/tasks?q=ci/once").await;
    assert_eq!(
        tasks.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        tasks.text
    );

    // The same key for another request is refused; a new key submits again.
    let other = alice
        .send(
            "POST",
            &path,
            Some(&json!({"message": "other", "draft": {"script_type": "sql", "content": "SELECT 5;"}})),
            &[("Idempotency-Key", "build-42")],
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.text);
    assert_eq!(other.json["errors"][0]["field"], "Idempotency-Key");
}

/// Runs `n` copies of a request at once.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<support::api::Answer>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = support::api::Answer> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn errors_are_problem_documents(app: TestApp) {
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Write).await));
    let malformed = alice
        .send(
            "POST",
            "/workspaces/demo/scripts",
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.text);
    assert_eq!(
        malformed.headers["content-type"],
        "application/problem+json"
    );
    let fields = alice
        .post(
            "/workspaces/demo/scripts",
            &json!({"path": "", "script_type": "cobol", "content": ""}),
        )
        .await;
    assert_eq!(fields.status, 422, "{}", fields.text);
    let names: Vec<&str> = fields.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"path") && names.contains(&"script_type"),
        "{names:?}"
    );
    assert_eq!(alice.get("/nowhere").await.problem(), "not-found");
    assert_eq!(alice.get("/workspaces/demo/tasks/abc").await.status, 404);
    let bad = alice
        .get("/workspaces/demo/tasks?status=lost&limit=5")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["detail"], "Unknown status “lost”.");
    assert_eq!(
        alice.get("/workspaces/demo/tasks?limit=0").await.status,
        400
    );
    assert_eq!(
        alice.get("/workspaces/demo/tasks?cursor=zz").await.status,
        400
    );
    assert_eq!(
        alice
            .get("/workspaces/demo/packages/1?wait=5h")
            .await
            .status,
        400
    );
    // A body over the limit is refused with a problem document, never read whole.
    let huge = json!({"path": "big.sql", "script_type": "sql", "content": "x".repeat(5 << 20)});
    let too_large = alice.post("/workspaces/demo/scripts", &huge).await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert_eq!(too_large.problem(), "too-large");
    // A method a route does not take: 405 with the ones it does.
    let wrong = alice
        .send("DELETE", "/workspaces/demo/tasks", None, &[])
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "GET");
}

async fn lists_page_by_cursor_without_repeats(app: TestApp) {
    let app = app.with_demo().await;
    app.db(|c| support::submitted_tasks(c, "alice", "paged/", 7))
        .await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Read).await));
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = alice
            .get(&format!(
                "/workspaces/demo/tasks?q=paged&limit=3&cursor={cursor}"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        for t in page.json["items"].as_array().unwrap() {
            seen.push(t["id"].as_i64().unwrap());
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, no repeats");

    // The audit log pages by its own cursor, newest first, filtered by an action prefix.
    let mut audit = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = alice
            .get(&format!(
                "/workspaces/demo/audit?action=script.&limit=2&cursor={cursor}"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        for e in page.json["items"].as_array().unwrap() {
            assert!(e["action"].as_str().unwrap().starts_with("script."), "{e}");
            audit.push(e["id"].as_i64().unwrap());
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let mut unique = audit.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), audit.len(), "no entry twice: {audit:?}");
    assert!(audit.len() >= 14, "7 created and 7 submitted: {audit:?}");
}

async fn the_openapi_document_covers_every_route(app: TestApp) {
    let doc = Api::new(&app, None).get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3.1"));
    for (method, path) in releasedesk::api::ROUTES {
        if path.ends_with("/openapi.json") {
            continue;
        }
        let op = &doc.json["paths"][*path][method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        for code in ["401", "404", "429"] {
            assert!(
                op["responses"][code].is_object(),
                "{method} {path} lacks {code}"
            );
        }
    }
    assert_eq!(
        doc.json["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
}

async fn secrets_stay_out_of_the_audit_log(app: TestApp) {
    let app = app.with_demo().await;
    let secret = token(&app, "alice", TokenScope::Write).await;
    let api = Api::new(&app, Some(&secret));
    // Eight first uses at once from one new address: recorded once.
    let firsts: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.get("/user").await.status })
        })
        .collect();
    for f in firsts {
        assert_eq!(f.await.unwrap(), 200);
    }
    let rows = app
        .db(|c| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                line: String,
            }
            diesel::sql_query(
                "SELECT action || ' ' || target_label || ' ' || comment AS line FROM audit_log",
            )
            .load::<Row>(c)
            .unwrap()
            .into_iter()
            .map(|r| r.line)
            .collect::<Vec<_>>()
        })
        .await;
    assert!(
        rows.iter().any(|r| r.starts_with("token.created")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("token.used_from_new_address")),
        "{rows:?}"
    );
    let body = &secret["rd_".len()..];
    for r in &rows {
        assert!(!r.contains(body), "the secret is in the audit log: {r}");
    }
}

/// A wait ends on a change this server's process never saw: a decision written to the
/// database by someone else (another instance, here the data layer directly).
async fn a_wait_ends_on_a_change_made_elsewhere(app: TestApp) {
    use releasedesk::db::models::{releases, users, workspaces};
    use releasedesk::domain::{Comment, PackageId};
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Read).await));
    let tasks = app
        .db(|c| support::submitted_tasks(c, "alice", "elsewhere/", 1))
        .await;
    let package = app
        .db(move |c| {
            let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
            let alice = users::find_by_username(c, "alice").unwrap().unwrap().id;
            let bob = users::find_by_username(c, "bob").unwrap().unwrap().id;
            releases::release(
                c,
                alice,
                ws,
                &releases::ReleaseRequest {
                    task_ids: tasks,
                    name: releasedesk::domain::PackageName::parse("elsewhere").unwrap(),
                    comment: Comment::parse("").unwrap(),
                    reviewers: vec![bob],
                },
            )
            .unwrap()
            .package_id
        })
        .await;
    let waiter = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let a = alice
                .get(&format!("/workspaces/demo/packages/{package}?wait=20"))
                .await;
            (
                a.json["status"].as_str().unwrap_or("").to_owned(),
                t0.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    app.db(move |c| {
        let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
        let bob = users::find_by_username(c, "bob").unwrap().unwrap().id;
        releases::decide(
            c,
            bob,
            ws,
            PackageId(package.get()),
            releases::Decision::Reject,
            &Comment::parse("not today").unwrap(),
        )
        .unwrap();
    })
    .await;
    let (status, took) = waiter.await.unwrap();
    assert_eq!(status, "rejected");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A token holds at most five `?wait=` requests open; a sixth is told to retry.
async fn open_waits_are_bounded_per_token(app: TestApp) {
    let app = app.with_demo().await;
    let alice = Api::new(&app, Some(&token(&app, "alice", TokenScope::Write).await));
    let task = submit_new_script(&alice, "ci/waits.sql", "SELECT 6;").await;
    let released = alice
        .post(
            "/workspaces/demo/packages",
            &json!({"task_ids": [task], "name": "waits", "reviewers": ["bob"]}),
        )
        .await;
    let package = released.json["id"].as_i64().unwrap();
    let path = format!("/workspaces/demo/packages/{package}?wait=3");
    let waiting: Vec<_> = (0..5)
        .map(|_| {
            let (alice, path) = (alice.clone(), path.clone());
            tokio::spawn(async move { alice.get(&path).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sixth = alice.get(&path).await;
    assert_eq!(sixth.status, 429, "{}", sixth.text);
    assert_eq!(sixth.headers["retry-after"], "1");
    // Reading without waiting is never refused, and another token has its own slots.
    assert_eq!(
        alice
            .get(&format!("/workspaces/demo/packages/{package}"))
            .await
            .status,
        200
    );
    for w in waiting {
        assert_eq!(w.await.unwrap(), 200);
    }
    assert_eq!(
        alice.get(&path).await.status,
        200,
        "the slots are free again"
    );
}

on_both_backends!(
    open_waits_are_bounded_per_token,
    a_wait_ends_on_a_change_made_elsewhere,
    ci_flow_submit_release_approve_wait,
    roles_and_scopes_hold_through_the_api,
    tokens_stop_when_revoked_expired_or_user_deactivated,
    an_idempotency_key_creates_once_under_concurrency,
    errors_are_problem_documents,
    lists_page_by_cursor_without_repeats,
    the_openapi_document_covers_every_route,
    secrets_stay_out_of_the_audit_log,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_budget_is_told_when_to_retry() {
    let app = TestApp::spawn_with(support::Backend::Sqlite, |s| s.api_rate_limit = 5)
        .await
        .unwrap()
        .with_demo()
        .await;
    let api = Api::new(&app, Some(&token(&app, "alice", TokenScope::Read).await));
    assert_eq!(api.get("/user").await.status, 200);
    let limited = api.get("/user").await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.problem(), "rate-limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    // Another token has its own budget.
    let other = Api::new(&app, Some(&token(&app, "bob", TokenScope::Read).await));
    assert_eq!(other.get("/user").await.status, 200);
    let _ = Value::Null;
}
