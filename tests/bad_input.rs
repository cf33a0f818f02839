//! Bad input through HTTP: property tests send every parameter name the handlers read, with
//! hostile values (oversized, empty, unicode, control characters, wrong types, dates and
//! numbers out of range), to every route of the route table, plus hostile path ids; the answer
//! is never a 5xx, and a 4xx always carries a message. Then: body size limits, 101 task ids,
//! stored HTML/JS in every user-supplied field rendered inert, and malformed import bundles
//! that change nothing.
//!
//! The property tests share one spawned app per backend and drive it from a runtime they own;
//! case counts are kept small (see `CASES`) to bound CI time.

mod support;

use diesel::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use releasedesk::db::models::users;
use releasedesk::db::schema::{
    audit_log, production_scripts, release_tasks, script_versions, scripts,
};
use releasedesk::domain::TaskId;
use releasedesk::paths;
use support::{Backend, Resp, TestApp};

/// Cases per route.
const CASES: u32 = 20;

/// Every parameter name a handler reads from a form or a query string (from the `Deserialize`
/// structs and the `Vec<(String, String)>` forms of `src/routes`).
const PARAMS: &[&str] = &[
    "action",
    "actor",
    "add",
    "against",
    "applicant",
    "applied_from",
    "applied_to",
    "approval_expiry",
    "approval_policy",
    "artifact",
    "back",
    "best_effort",
    "bundle",
    "comment",
    "confirm",
    "content",
    "cpu",
    "creator",
    "current",
    "decision",
    "description",
    "dir",
    "display_name",
    "display_order",
    "driver",
    "edit",
    "env",
    "expected",
    "expires_in_days",
    "from",
    "id",
    "instances",
    "max_attempts",
    "memory",
    "message",
    "mode",
    "more",
    "move_down",
    "move_up",
    "name",
    "new",
    "next",
    "operation",
    "package_ids",
    "page",
    "password",
    "path",
    "per_page",
    "q",
    "quorum",
    "reason",
    "released_by",
    "released_from",
    "released_to",
    "remove",
    "reviewers",
    "role",
    "rows",
    "schedule",
    "scope",
    "script_type",
    "secret",
    "slug",
    "sort",
    "source_region",
    "start",
    "status",
    "step0_components",
    "step0_kind",
    "step0_people",
    "step0_region",
    "submitter",
    "tab",
    "task_ids",
    "tenant_admin",
    "timeout_ms",
    "to",
    "user_id",
    "username",
    "value",
    "version",
    "view",
    "webhook_url",
    "with",
    "ws",
];

/// Hostile values. `max` bounds the oversized ones (query strings live in the request head).
fn hostile(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("   ".to_owned()),
        "\\PC{0,40}",
        "[\\x00-\\x1f\\x7f]{1,12}",
        "-?[0-9]{1,25}",
        "[0-9]{1,3}\\.[0-9]{1,3}",
        prop::sample::select(vec![
            "9999-99-99",
            "0000-00-00",
            "2026-02-30",
            "+275760-09-13",
            "1969-12-31T25:61:61",
            "NaN",
            "1e309",
            "0x1F",
            "-0",
            "null",
            "[]",
            "{}",
            "<script>alert(1)</script>",
            "'; DROP TABLE users; --",
            "\u{202e}\u{0}\u{feff}",
            "../../etc/passwd",
            "%00%ff",
        ])
        .prop_map(str::to_owned),
        (1..=max).prop_map(|n| "x".repeat(n)),
        (1..=max / 8).prop_map(|n| "é😀\u{0301}\t".repeat(n)),
    ]
}

fn params(max: usize) -> impl Strategy<Value = Vec<(&'static str, String)>> {
    prop::collection::vec((prop::sample::select(PARAMS), hostile(max)), 0..8)
}

/// Never a 5xx; a 4xx says what is wrong.
fn check(what: &str, resp: &Resp) -> Result<(), TestCaseError> {
    prop_assert!(resp.status < 500, "{what}: {} {}", resp.status, resp.body);
    if (400..500).contains(&resp.status) {
        let text = resp.html().root_element().text().collect::<String>();
        prop_assert!(
            text.split_whitespace().count() >= 2,
            "{what}: {} without a message: {:?}",
            resp.status,
            resp.body
        );
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn every_route_takes_hostile_parameters(backend: Backend) {
    let rt = runtime();
    let Some(app) = rt.block_on(TestApp::spawn_with(backend, |s| s.run_worker = false)) else {
        return;
    };
    let app = rt.block_on(app.with_demo());
    let tara = rt.block_on(app.signed_in_on_fresh_connections("tara"));
    let token = rt.block_on(tara.csrf());
    let victor = rt.block_on(app.db(|c| users::find_by_username(c, "victor").unwrap().unwrap().id));
    let mut requests = 0;
    for (method, pattern) in support::routes::all() {
        if pattern == "/logout" {
            continue; // Would end the session the other requests use.
        }
        let mut path = support::routes::example_path(&pattern);
        if pattern.starts_with("/admin/users/{id}") {
            // Never tara herself: a random "0" could be a valid flag.
            path = path.replacen("/1/", &format!("/{victor}/"), 1);
        }
        // Every parameter at once with a NUL inside (PostgreSQL refuses NUL in text): always,
        // not only when the random cases happen to pick it.
        let nul: Vec<(&str, &str)> = PARAMS.iter().map(|p| (*p, "a\u{0}b")).collect();
        let resp = rt.block_on(async {
            if method == "GET" {
                let query = serde_urlencoded::to_string(&nul).unwrap();
                tara.get(&format!("{path}?{query}")).await
            } else {
                let mut form = nul.clone();
                form.push(("csrf_token", &token));
                tara.post_raw(&path, &form, &[]).await
            }
        });
        check(&format!("{method} {pattern} with NUL"), &resp).unwrap_or_else(|e| panic!("{e}"));
        requests += 1;
        // A search with a NUL inside a word, alone, so no other parameter is refused first
        // (FTS5 cannot quote a NUL).
        if method == "GET" {
            let resp = rt.block_on(tara.get(&format!("{path}?q=%E2%80%AEa%00b%EF%BB%BF")));
            check(&format!("{method} {pattern} with a NUL in q"), &resp)
                .unwrap_or_else(|e| panic!("{e}"));
            requests += 1;
        }
        let max = if method == "GET" { 2_000 } else { 200_000 };
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&params(max), |fields| {
                let resp = rt.block_on(async {
                    if method == "GET" {
                        let query = serde_urlencoded::to_string(&fields).unwrap();
                        tara.get(&format!("{path}?{query}")).await
                    } else {
                        let mut form: Vec<(&str, &str)> =
                            fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        form.push(("csrf_token", &token));
                        tara.post_raw(&path, &form, &[]).await
                    }
                });
                check(&format!("{method} {path}"), &resp)
            })
            .unwrap_or_else(|e| panic!("{method} {pattern}: {e}"));
        requests += CASES;
        // Still signed in, so the cases above reached the handlers.
        assert_eq!(
            rt.block_on(tara.get("/account")).status,
            200,
            "after {method} {pattern}"
        );
    }

    // Ids in paths: wrong types, out of range, not there (never a small id: it may exist).
    let ids = prop_oneof![
        "-[0-9]{1,25}",
        "[1-9][0-9]{9,24}",
        "[a-z%.]{1,12}",
        Just("0".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("9223372036854775808".to_owned()),
    ];
    let id_routes: Vec<(String, String)> = support::routes::all()
        .into_iter()
        .filter(|(_, p)| p.contains("{id}") || p.contains("{step}") || p.contains("{user_id}"))
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(prop::sample::select(id_routes), ids),
            |((method, pattern), id)| {
                let path = pattern
                    .replace("{ws}", "demo")
                    .replace("{id}", &id)
                    .replace("{step}", &id)
                    .replace("{user_id}", &id);
                let resp = rt.block_on(async {
                    if method == "GET" {
                        tara.get(&path).await
                    } else {
                        tara.post_raw(&path, &[("csrf_token", &token)], &[]).await
                    }
                });
                check(&format!("{method} {path}"), &resp)?;
                prop_assert!(
                    matches!(resp.status, 400 | 404 | 422),
                    "{method} {path}: {}",
                    resp.status
                );
                Ok(())
            },
        )
        .unwrap();
    requests += 64;
    eprintln!("bad input on {backend:?}: {requests} hostile requests, no 5xx");
}

#[test]
fn every_route_takes_hostile_parameters_on_sqlite() {
    every_route_takes_hostile_parameters(Backend::Sqlite);
}

#[test]
fn every_route_takes_hostile_parameters_on_postgres() {
    every_route_takes_hostile_parameters(Backend::Postgres);
}

/// Row counts the import could touch.
async fn script_rows(app: &TestApp) -> [i64; 5] {
    app.db(|c| {
        [
            scripts::table.count().get_result(c).unwrap(),
            script_versions::table.count().get_result(c).unwrap(),
            release_tasks::table.count().get_result(c).unwrap(),
            production_scripts::table.count().get_result(c).unwrap(),
            audit_log::table.count().get_result(c).unwrap(),
        ]
    })
    .await
}

const BUNDLE: &str = r#"{"format":"releasedesk.scripts/v1","scripts":[
{"path":"imp/a.sql","type":"sql","schedule":"0 5 * * *","content":"SELECT 1;\n","state":"submitted","message":"m"},
{"path":"imp/b.sh","type":"shell","content":"echo b\n","state":"released"}]}"#;

fn broken_bundles() -> impl Strategy<Value = String> {
    let entry = |path: &str, kind: &str, schedule: &str, state: &str| {
        format!(
            r#"{{"path":"{path}","type":"{kind}","schedule":"{schedule}","content":"x","state":"{state}"}}"#
        )
    };
    let good = entry("imp/ok.sql", "sql", "", "submitted");
    prop_oneof![
        // Cut anywhere.
        (0..BUNDLE.len() - 1).prop_map(|n| BUNDLE[..n].to_owned()),
        // One byte of the JSON structure replaced by another (a replaced letter inside a
        // string could still be a valid bundle).
        (
            prop::sample::select(
                BUNDLE
                    .char_indices()
                    .filter(|(_, c)| "{}[]:,\"".contains(*c))
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            ),
            any::<u8>()
        )
            .prop_filter("a different byte", |(i, b)| BUNDLE.as_bytes()[*i] != *b)
            .prop_map(|(i, b)| {
                let mut bytes = BUNDLE.as_bytes().to_vec();
                bytes[i] = b;
                String::from_utf8_lossy(&bytes).into_owned()
            }),
        // A bad entry after a good one: the good one must not be imported either.
        prop::sample::select(vec![
            entry("Bad Path!", "sql", "", "submitted"),
            entry("imp/x.sql", "cobol", "", "submitted"),
            entry("imp/x.sql", "sql", "61 * * * *", "submitted"),
            entry("imp/x.sql", "sql", "", "deployed"),
            entry("imp/ok.sql", "sql", "", "submitted"),
            r#"{"path":"imp/x.sql","type":"sql","content":5,"state":"submitted"}"#.to_owned(),
            r#"{"path":"imp/x.sql","type":"sql","content":"x","state":"submitted","extra":1}"#
                .to_owned(),
        ])
        .prop_map(move |bad| format!(
            r#"{{"format":"releasedesk.scripts/v1","scripts":[{good},{bad}]}}"#
        )),
        // Wrong shapes and tags.
        prop::sample::select(vec![
            String::new(),
            "null".to_owned(),
            "[]".to_owned(),
            r#"{"format":"releasedesk.scripts/v2","scripts":[]}"#.to_owned(),
            r#"{"format":"releasedesk.scripts/v1","scripts":[]}"#.to_owned(),
            r#"{"format":"releasedesk.scripts/v1","scripts":5}"#.to_owned(),
            "\u{0}\u{1}".to_owned(),
        ]),
        // Too many scripts, or one too large.
        Just(format!(
            r#"{{"format":"releasedesk.scripts/v1","scripts":[{}]}}"#,
            (0..1001)
                .map(|i| format!(
                    r#"{{"path":"imp/n{i}.sql","type":"sql","content":"x","state":"submitted"}}"#
                ))
                .collect::<Vec<_>>()
                .join(",")
        )),
        Just(format!(
            r#"{{"format":"releasedesk.scripts/v1","scripts":[{{"path":"imp/big.sql","type":"sql","content":"{}","state":"submitted"}}]}}"#,
            "x".repeat(1024 * 1024 + 1)
        )),
    ]
}

fn malformed_bundles_change_nothing(backend: Backend) {
    let rt = runtime();
    let Some(app) = rt.block_on(TestApp::spawn_with(backend, |s| s.run_worker = false)) else {
        return;
    };
    let app = rt.block_on(app.with_demo());
    let carol = rt.block_on(app.signed_in("carol"));
    let before = rt.block_on(script_rows(&app));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&broken_bundles(), |bundle| {
            let resp =
                rt.block_on(carol.post(&paths::scripts_import("demo"), &[("bundle", &bundle)]));
            check("import", &resp)?;
            prop_assert!(
                matches!(resp.status, 400 | 413 | 422),
                "refused: {}",
                resp.status
            );
            prop_assert_eq!(rt.block_on(script_rows(&app)), before, "nothing imported");
            Ok(())
        })
        .unwrap();
    // The unbroken bundle does import: the refusals above were about the damage.
    let ok = rt.block_on(carol.post(&paths::scripts_import("demo"), &[("bundle", BUNDLE)]));
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[test]
fn malformed_bundles_change_nothing_on_sqlite() {
    malformed_bundles_change_nothing(Backend::Sqlite);
}

#[test]
fn malformed_bundles_change_nothing_on_postgres() {
    malformed_bundles_change_nothing(Backend::Postgres);
}

/// Signs in by hand and returns the session cookie and its CSRF token (for raw requests).
async fn cookie_and_token(app: &TestApp, username: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("releasedesk_session="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .unwrap()
    };
    let page = http.get(app.url("/login")).send().await.unwrap();
    let cookie = cookie_of(&page);
    let body = page.text().await.unwrap();
    let token = body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let resp = http
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .form(&[
            ("username", username),
            ("password", support::PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let cookie = cookie_of(&resp);
    let account = http
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = account
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, token)
}

/// Sends a request head that declares a `declared`-byte form body, then only `prefix` of it,
/// and reads the answer: an oversized body is refused from its declared length, before it is
/// read (so the answer reaches the client instead of a reset connection).
fn declared_post(
    base: &str,
    path: &str,
    headers: &str,
    declared: usize,
    prefix: &str,
) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    exchange(
        base,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {declared}\r\n\r\n{prefix}"
        ),
    )
}

/// Writes `request` as it is and reads the answer's status and text.
fn exchange(base: &str, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            });
            if len.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    (status, text)
}

async fn bodies_over_the_limit_are_refused_with_a_message(app: TestApp) {
    let app = app.with_demo().await;
    let (cookie, token) = cookie_and_token(&app, "carol").await;
    let base = app.base.clone();
    let (c2, t2) = (cookie.clone(), token.clone());
    let (b2, t3) = (base.clone(), token.clone());
    let c3 = cookie.clone();
    let (in_form, in_header) = tokio::task::spawn_blocking(move || {
        let mib5 = 5 * 1024 * 1024;
        (
            // The token in the form: the CSRF guard refuses from the declared length.
            declared_post(
                &base,
                "/workspaces/demo/scripts",
                &format!("Cookie: {c2}\r\n"),
                mib5,
                &format!("csrf_token={t2}&content=xxxx"),
            ),
            // The token in the header (htmx): the form extractor's limit.
            declared_post(
                &b2,
                "/workspaces/demo/scripts",
                &format!("Cookie: {c3}\r\nX-CSRF-Token: {t3}\r\n"),
                mib5,
                "content=xxxx",
            ),
        )
    })
    .await
    .unwrap();
    for (what, (status, text)) in [("form token", in_form), ("header token", in_header)] {
        assert_eq!(status, 413, "{what}: {text}");
        assert!(
            text.contains("The form is too large: at most 4 MiB"),
            "{what}: {text}"
        );
    }

    let carol = app.signed_in("carol").await;
    let token = carol.csrf().await;
    // Not a form at all.
    let resp = carol
        .http
        .post(format!("{}/workspaces/demo/scripts", carol.base))
        .header("X-CSRF-Token", &token)
        .header("content-type", "application/json")
        .body("{\"path\":\"a.sql\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("could not be read"));
    // A 40 KB address is refused by the HTTP layer (its head limit), never a 5xx.
    let (status, _) = exchange(
        &app.base,
        &format!(
            "GET /workspaces/demo/scripts?q={} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n",
            "q".repeat(40_000)
        ),
    );
    assert!((400..500).contains(&status), "{status}");

    // 101 task ids: refused before anything is looked up.
    let ids: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|i| ("task_ids", i.as_str())).collect();
    form.push(("csrf_token", &token));
    let resp = carol.post_raw(&paths::release("demo"), &form, &[]).await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    assert!(resp.texts("#release-alert").concat().contains("100"));
}

/// Stored markup in every field a person types renders as text, on every page that shows it.
async fn stored_markup_renders_inert(app: TestApp) {
    let app = app.with_demo().await;
    let carol = app.signed_in("carol").await;
    let tara = app.signed_in("tara").await;
    const X: &str =
        "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>";
    let resp = tara
        .post(
            "/admin/users",
            &[
                ("username", "mallory"),
                ("display_name", X),
                ("password", "a perfectly fine password"),
            ],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let resp = carol
        .post(
            &paths::settings_members("demo"),
            &[("username", "mallory"), ("role", "developer")],
        )
        .await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    let resp = carol
        .post(
            &paths::settings_general("demo"),
            &[
                ("name", "Demo <b>bold</b>"),
                ("description", X),
                ("mode", "enterprise"),
                ("approval_policy", "developers"),
                ("quorum", "any"),
            ],
        )
        .await;
    assert!(resp.status == 303 || resp.status == 422, "{}", resp.status);
    let created = carol
        .post(
            &paths::scripts("demo"),
            &[
                ("path", "xss/payload.sql"),
                ("script_type", "sql"),
                ("description", X),
                ("content", &format!("SELECT '{X}';\n")),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let script = created.location().unwrap().to_owned();
    let submitted = carol
        .post(&format!("{script}/submit"), &[("message", X)])
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let saved = carol
        .post(
            &script,
            &[
                ("script_type", "sql"),
                ("description", X),
                ("content", &format!("SELECT '{X}', 2;\n")),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    carol
        .post(&format!("{script}/submit"), &[("message", X)])
        .await;
    let task: i64 = app
        .db(|c| {
            release_tasks::table
                .filter(release_tasks::name.eq("xss/payload.sql"))
                .order(release_tasks::id.desc())
                .select(release_tasks::id)
                .first(c)
                .unwrap()
        })
        .await;
    let released = carol
        .post(
            &paths::release("demo"),
            &[("task_ids", &task.to_string()), ("name", X), ("comment", X)],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    let package = released.location().unwrap().to_owned();
    let component = carol
        .post(
            &paths::components("demo"),
            &[
                ("name", "xss-api"),
                ("artifact", "registry.example.com/xss"),
                ("version", "1.0.0"),
                ("instances", "1"),
                ("cpu", "0.5"),
                ("memory", "1Gi"),
                ("env", &format!("PAYLOAD={X}")),
            ],
        )
        .await;
    assert_eq!(component.status, 303, "{}", component.body);
    let task_form = carol
        .post(
            &paths::region_tasks("demo"),
            &[
                ("name", X),
                ("description", X),
                ("operation", "deploy"),
                ("rows", "1"),
            ],
        )
        .await;
    assert!(task_form.status < 500);
    // A token name has at most 60 characters.
    const SHORT: &str = "<script>alert(4)</script>\"'><svg onload=alert(5)>";
    let token = carol.create_token(SHORT, "", "read").await;
    assert_eq!(token.status, 200, "{}", token.body);
    assert_inert("the new token's page", &token);

    let users = tara.get("/admin/users").await;
    assert_eq!(users.status, 200);
    let text = |r: &Resp| r.html().root_element().text().collect::<String>();
    assert!(text(&users).contains(X), "the display name, as text");
    assert!(!users.body.contains("<script>alert"));
    let mut checked = 1;
    for path in [
        "/workspaces".to_owned(),
        paths::workspace("demo"),
        paths::settings("demo"),
        paths::audit("demo"),
        paths::scripts("demo"),
        script.clone(),
        paths::task("demo", TaskId(task)),
        format!("/workspaces/demo/task-release/tasks/{task}?view=side"),
        paths::tasks("demo"),
        paths::packages("demo"),
        package.clone(),
        paths::production("demo"),
        paths::components("demo"),
        "/reviews".to_owned(),
    ] {
        let page = carol.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_inert(&path, &page);
        checked += 1;
    }
    for (who, path) in [
        (&carol, paths::account()),
        (&tara, paths::admin_tokens()),
        (&tara, paths::admin_users()),
    ] {
        let page = who.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_inert(path, &page);
        assert!(
            text(&page).contains(SHORT),
            "{path}: the token name, as text"
        );
        checked += 1;
    }
    let shows_it = text(&carol.get(&script).await).contains(X);
    assert!(shows_it, "the payload is shown as text");
    eprintln!(
        "stored markup: {checked} pages checked on {:?}",
        app.backend
    );
}

/// No inline script, no `on…` attribute, no injected `svg`, no `<script>alert` in the page.
fn assert_inert(path: &str, page: &Resp) {
    let html = page.html();
    let inline = scraper::Selector::parse("script:not([src])").unwrap();
    assert_eq!(html.select(&inline).count(), 0, "{path}: an inline script");
    let any = scraper::Selector::parse("*").unwrap();
    for el in html.select(&any) {
        for (name, _) in el.value().attrs() {
            assert!(!name.starts_with("on"), "{path}: an {name} attribute");
        }
        assert_ne!(el.value().name(), "svg", "{path}: injected svg");
    }
    assert!(!page.body.contains("<script>alert"), "{path}");
}

on_both_backends!(
    bodies_over_the_limit_are_refused_with_a_message,
    stored_markup_renders_inert,
);
