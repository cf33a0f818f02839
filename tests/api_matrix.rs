//! The role × action matrix of the API: every route of `api::ROUTES`, called by every kind of
//! caller — no token, an expired one, a revoked one, a read-only one, a write token of each
//! workspace role, a tenant administrator's, and someone outside the workspace — answers the
//! status the rules say. Each caller acts on fixtures of its own, so one caller's success never
//! changes what the next one meets.

mod support;

use std::collections::HashMap;

use releasedesk::db::models::releases::{self, ReleaseRequest};
use releasedesk::db::models::users::{self, NewUser};
use releasedesk::db::models::{tokens, workspaces};
use releasedesk::domain::{
    Comment, DisplayName, PackageName, TokenScope, Username,
};
use serde_json::{Value, json};
use support::TestApp;
use support::api::{Api, token};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Caller {
    Nobody,
    Expired,
    Revoked,
    ReadOnly,
    Viewer,
    Developer,
    Deployer,
    Admin,
    TenantAdmin,
    Outsider,
}

use Caller::*;

const CALLERS: [Caller; 10] = [
    Nobody,
    Expired,
    Revoked,
    ReadOnly,
    Viewer,
    Developer,
    Deployer,
    Admin,
    TenantAdmin,
    Outsider,
];

impl Caller {
    /// The demo user behind the caller's token.
    fn username(self) -> &'static str {
        match self {
            Nobody | Expired | Revoked | Developer => "alice",
            ReadOnly | Admin => "carol",
            Viewer => "victor",
            Deployer => "bob",
            TenantAdmin => "tara",
            Outsider => "olga",
        }
    }
}

/// What each route is sent, and the status each caller gets, as the rules say.
struct Row {
    method: &'static str,
    path: &'static str,
    /// The request body, for a caller whose fixtures are `f`.
    body: fn(&Fixtures) -> Option<Value>,
    /// The status a write token of an allowed role gets.
    ok: u16,
    /// Which write callers (other than the read-only, the outsider and the token-less) are
    /// refused with 403.
    refused: &'static [Caller],
}

/// Ids of one caller's own fixtures in `demo`.
#[derive(Clone, Debug)]
struct Fixtures {
    /// A script with one version (its task pending, touched by no other row), by alice.
    script: i64,
    /// A pending task by alice, to revoke.
    task: i64,
    /// A second pending task by alice, to release.
    task_to_release: i64,
    /// A package by alice waiting for bob and carol.
    package: i64,
    /// A unique word for names.
    tag: String,
}

fn rows() -> Vec<Row> {
    vec![
        Row { method: "GET", path: "/api/v1/openapi.json", body: |_| None, ok: 200, refused: &[] },
        Row { method: "GET", path: "/api/v1/user", body: |_| None, ok: 200, refused: &[] },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/scripts", body: |_| None, ok: 200, refused: &[] },
        Row {
            method: "POST",
            path: "/api/v1/workspaces/{ws}/scripts",
            body: |f| Some(json!({"path": format!("matrix/new-{}.sql", f.tag), "script_type": "sql", "content": "SELECT 1;"})),
            ok: 201,
            refused: &[Viewer],
        },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/scripts/{id}", body: |_| None, ok: 200, refused: &[] },
        Row {
            method: "PUT",
            path: "/api/v1/workspaces/{ws}/scripts/{id}/draft",
            body: |f| Some(json!({"script_type": "sql", "content": format!("SELECT '{}';", f.tag)})),
            ok: 200,
            refused: &[Viewer],
        },
        Row {
            method: "POST",
            path: "/api/v1/workspaces/{ws}/scripts/{id}/versions",
            body: |f| Some(json!({"message": "matrix", "draft": {"script_type": "sql", "content": format!("SELECT '{} v2';", f.tag)}})),
            ok: 201,
            refused: &[Viewer],
        },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/tasks", body: |_| None, ok: 200, refused: &[] },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/tasks/{id}", body: |_| None, ok: 200, refused: &[] },
        Row {
            method: "POST",
            path: "/api/v1/workspaces/{ws}/tasks/revoke",
            body: |f| Some(json!({"task_ids": [f.task]})),
            ok: 200,
            refused: &[Viewer],
        },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/packages", body: |_| None, ok: 200, refused: &[] },
        Row {
            method: "POST",
            path: "/api/v1/workspaces/{ws}/packages",
            // Reviewers are needed for alice (a developer) and allowed for the others.
            body: |f| Some(json!({"task_ids": [f.task_to_release], "name": format!("matrix {}", f.tag), "reviewers": ["carol"]})),
            ok: 201,
            refused: &[Viewer],
        },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/packages/{id}", body: |_| None, ok: 200, refused: &[] },
        Row {
            method: "POST",
            path: "/api/v1/workspaces/{ws}/packages/{id}/decision",
            body: |_| Some(json!({"decision": "approve"})),
            ok: 200,
            // The applicant (alice), someone not named on it, and the tenant admin who is not
            // a named reviewer either.
            refused: &[Viewer, Developer, TenantAdmin],
        },
        Row { method: "GET", path: "/api/v1/workspaces/{ws}/production", body: |_| None, ok: 200, refused: &[] },
    ]
}

/// The status `caller` must get on `row`.
fn expected(row: &Row, caller: Caller) -> u16 {
    let public = row.path.ends_with("/openapi.json");
    let changes = row.method != "GET";
    match caller {
        _ if public => 200,
        Nobody | Expired | Revoked => 401,
        ReadOnly if changes => 403,
        Outsider if row.path.contains("{ws}") => 404,
        c if row.refused.contains(&c) => 403,
        _ => row.ok,
    }
}

/// The address of `row` for fixtures `f`: `{id}` is the row's own kind of item.
fn address(row: &Row, f: &Fixtures) -> String {
    let id = if row.path.contains("/scripts/{id}") {
        f.script
    } else if row.path.contains("/tasks/{id}") {
        f.task
    } else {
        f.package
    };
    row.path
        .replace("{ws}", "demo")
        .replace("{id}", &id.to_string())
        .trim_start_matches("/api/v1")
        .to_owned()
}

async fn every_route_answers_every_caller_as_the_rules_say(app: TestApp) {
    let app = app.with_demo().await;
    // Someone outside `demo`.
    app.db(|c| {
        users::create(
            c,
            None,
            NewUser {
                username: &Username::parse("olga").unwrap(),
                display_name: &DisplayName::parse("Olga").unwrap(),
                password_hash: "x",
                tenant_admin: false,
            },
        )
        .unwrap();
    })
    .await;
    // One set of fixtures per caller.
    let mut fixtures = HashMap::new();
    for (i, caller) in CALLERS.iter().enumerate() {
        let tag = format!("c{i}");
        let prefix = format!("matrix/{tag}-");
        let f = app
            .db(move |c| {
                let tasks = support::submitted_tasks(c, "alice", &prefix, 4);
                let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
                let alice = users::find_by_username(c, "alice").unwrap().unwrap().id;
                let bob = users::find_by_username(c, "bob").unwrap().unwrap().id;
                let carol = users::find_by_username(c, "carol").unwrap().unwrap().id;
                let scripted = releases::find_task(c, ws, tasks[3]).unwrap().unwrap();
                let package = releases::release(
                    c,
                    alice,
                    ws,
                    &ReleaseRequest {
                        task_ids: vec![tasks[2]],
                        name: PackageName::parse(&format!("fixture {tag}")).unwrap(),
                        comment: Comment::parse("").unwrap(),
                        reviewers: vec![bob, carol],
                    },
                )
                .unwrap()
                .package_id;
                Fixtures {
                    script: scripted.script_id,
                    task: tasks[0].get(),
                    task_to_release: tasks[1].get(),
                    package: package.get(),
                    tag,
                }
            })
            .await;
        fixtures.insert(*caller, f);
    }
    // One token per caller.
    let mut apis = HashMap::new();
    for caller in CALLERS {
        let api = match caller {
            Nobody => Api::new(&app, None),
            ReadOnly => Api::new(&app, Some(&token(&app, caller.username(), TokenScope::Read).await)),
            _ => Api::new(&app, Some(&token(&app, caller.username(), TokenScope::Write).await)),
        };
        apis.insert(caller, api);
    }
    // Expire and revoke those two callers' tokens (the newest two of alice's: made last
    // for Expired and Revoked, in CALLERS order, before Developer's).
    app.db(|c| {
        use diesel::prelude::*;
        let alice = users::find_by_username(c, "alice").unwrap().unwrap();
        let mut mine = tokens::list_for_user(c, alice.id).unwrap();
        mine.reverse(); // oldest first: Expired, Revoked, Developer
        diesel::sql_query("UPDATE api_tokens SET expires_at = created_at WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(mine[0].id.get())
            .execute(c)
            .unwrap();
        tokens::revoke(c, alice.id, mine[1].id).unwrap();
    })
    .await;

    let mut wrong = Vec::new();
    for row in rows() {
        for caller in CALLERS {
            let f = &fixtures[&caller];
            let answer = apis[&caller]
                .send(row.method, &address(&row, f), (row.body)(f).as_ref(), &[])
                .await;
            let want = expected(&row, caller);
            if answer.status != want {
                wrong.push(format!(
                    "{} {} as {caller:?}: {} (wanted {want}) {}",
                    row.method, row.path, answer.status, answer.text
                ));
            }
            if answer.status >= 400 {
                assert_eq!(
                    answer.headers["content-type"], "application/problem+json",
                    "{} {} as {caller:?}",
                    row.method, row.path
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

on_both_backends!(every_route_answers_every_caller_as_the_rules_say);

#[test]
fn every_api_route_has_a_matrix_row() {
    let rows = rows();
    for (method, path) in releasedesk::api::ROUTES {
        assert!(
            rows.iter().any(|r| r.method == *method && r.path == *path),
            "{method} {path} has no row in the API matrix"
        );
    }
    assert_eq!(rows.len(), releasedesk::api::ROUTES.len());
}
