//! The role × action matrix: every route of `src/routes/mod.rs`, requested through HTTP by each
//! kind of caller (viewer, developer, deployer, workspace admin, tenant admin, non-member,
//! signed out, deactivated), against the answer DESIGN.md's roles table says it must get.
//!
//! The route list below is checked against the route table's source text, so a route added
//! without a matrix row fails `every_route_has_a_matrix_row`. State-changing rows send
//! requests that an allowed caller gets refused for a *reason other than their role* (a bad
//! value, a state that forbids it), so the matrix can run every cell on one database; the
//! cells themselves assert that nothing changed where that matters.

mod support;

use std::collections::BTreeSet;

use diesel::prelude::*;
use releasedesk::db::models::{region_release, releases, scripts, tokens, users, workspaces};
use releasedesk::db::schema::{
    api_tokens, region_task_steps, region_tasks, regions, release_packages,
};
use releasedesk::domain::{
    DisplayName, Operation, Role, ScriptPath, ScriptType, StepKind, TokenName, TokenScope, Username,
};
use releasedesk::password::Hasher;
use support::{PASSWORD, TestApp};

/// Every route of the route table: (method, path pattern with the table's `{…}` segments).
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/static/{path:.*}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/reviews"),
    ("POST", "/reviews"),
    ("GET", "/account"),
    ("POST", "/account/password"),
    ("POST", "/account/sessions/{id}/end"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/{id}/revoke"),
    ("POST", "/account/email"),
    ("POST", "/account/notifications"),
    ("POST", "/account/test-email"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/{id}/active"),
    ("POST", "/admin/users/{id}/tenant-admin"),
    ("POST", "/admin/users/{id}/password"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens/{id}/revoke"),
    ("GET", "/workspaces"),
    ("POST", "/workspaces"),
    ("GET", "/workspaces/switch"),
    ("GET", "/workspaces/{ws}"),
    ("GET", "/workspaces/{ws}/audit"),
    ("GET", "/workspaces/{ws}/audit.csv"),
    ("GET", "/workspaces/{ws}/insights"),
    ("GET", "/workspaces/{ws}/insights.csv"),
    ("GET", "/workspaces/{ws}/scripts"),
    ("POST", "/workspaces/{ws}/scripts"),
    ("GET", "/workspaces/{ws}/scripts/import"),
    ("POST", "/workspaces/{ws}/scripts/import"),
    ("GET", "/workspaces/{ws}/scripts/export"),
    ("GET", "/workspaces/{ws}/scripts/{id}"),
    ("POST", "/workspaces/{ws}/scripts/{id}"),
    ("POST", "/workspaces/{ws}/scripts/{id}/submit"),
    ("GET", "/workspaces/{ws}/scripts/{id}/diff"),
    ("GET", "/workspaces/{ws}/task-release/tasks"),
    ("GET", "/workspaces/{ws}/task-release/tasks/{id}"),
    ("GET", "/workspaces/{ws}/task-release/tasks/{id}/diff"),
    ("POST", "/workspaces/{ws}/task-release/release"),
    ("POST", "/workspaces/{ws}/task-release/revoke"),
    ("GET", "/workspaces/{ws}/task-release/packages"),
    ("GET", "/workspaces/{ws}/task-release/packages/{id}"),
    (
        "GET",
        "/workspaces/{ws}/task-release/packages/{id}/progress",
    ),
    (
        "POST",
        "/workspaces/{ws}/task-release/packages/{id}/decision",
    ),
    (
        "POST",
        "/workspaces/{ws}/task-release/packages/{id}/reviewers",
    ),
    (
        "POST",
        "/workspaces/{ws}/task-release/packages/{id}/withdraw",
    ),
    ("GET", "/workspaces/{ws}/task-release/packages/{id}/compare"),
    (
        "GET",
        "/workspaces/{ws}/task-release/packages/{id}/compare.diff",
    ),
    ("GET", "/workspaces/{ws}/production"),
    ("GET", "/workspaces/{ws}/region-release/tasks"),
    ("POST", "/workspaces/{ws}/region-release/tasks"),
    ("GET", "/workspaces/{ws}/region-release/tasks/new"),
    ("GET", "/workspaces/{ws}/region-release/tasks/{id}"),
    ("GET", "/workspaces/{ws}/region-release/tasks/{id}/edit"),
    ("POST", "/workspaces/{ws}/region-release/tasks/{id}/edit"),
    ("GET", "/workspaces/{ws}/region-release/tasks/{id}/process"),
    ("POST", "/workspaces/{ws}/region-release/tasks/{id}/execute"),
    ("POST", "/workspaces/{ws}/region-release/tasks/{id}/suspend"),
    (
        "POST",
        "/workspaces/{ws}/region-release/tasks/{id}/rollback",
    ),
    (
        "POST",
        "/workspaces/{ws}/region-release/tasks/{id}/steps/{step}/decision",
    ),
    ("GET", "/workspaces/{ws}/regions"),
    ("POST", "/workspaces/{ws}/regions"),
    ("GET", "/workspaces/{ws}/regions/{id}"),
    ("POST", "/workspaces/{ws}/regions/{id}"),
    ("GET", "/workspaces/{ws}/components"),
    ("POST", "/workspaces/{ws}/components"),
    ("GET", "/workspaces/{ws}/settings"),
    ("POST", "/workspaces/{ws}/settings/general"),
    ("POST", "/workspaces/{ws}/settings/members"),
    ("POST", "/workspaces/{ws}/settings/members/{user_id}/role"),
    ("POST", "/workspaces/{ws}/settings/members/{user_id}/remove"),
    ("POST", "/workspaces/{ws}/settings/reviewers"),
    (
        "POST",
        "/workspaces/{ws}/settings/reviewers/{user_id}/remove",
    ),
    ("GET", "/workspaces/{ws}/settings/notifications"),
    ("POST", "/workspaces/{ws}/settings/notifications"),
    ("GET", "/workspaces/{ws}/settings/notifications/{id}"),
    ("POST", "/workspaces/{ws}/settings/notifications/{id}"),
    (
        "POST",
        "/workspaces/{ws}/settings/notifications/{id}/active",
    ),
    (
        "POST",
        "/workspaces/{ws}/settings/notifications/{id}/delete",
    ),
    ("POST", "/workspaces/{ws}/settings/notifications/{id}/test"),
    ("GET", "/workspaces/{ws}/deliveries"),
    ("POST", "/workspaces/{ws}/deliveries/{id}/retry"),
    ("GET", "/workspaces/{ws}/freezes"),
    ("POST", "/workspaces/{ws}/freezes"),
    ("POST", "/workspaces/{ws}/freezes/{id}/delete"),
    (
        "POST",
        "/workspaces/{ws}/task-release/packages/{id}/override-freeze",
    ),
    (
        "POST",
        "/workspaces/{ws}/region-release/tasks/{id}/override-freeze",
    ),
];

#[test]
fn every_route_has_a_matrix_row() {
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let source = support::routes::all();
    assert!(source.len() > 50, "the whole table: {source:?}");
    let missing: Vec<_> = source.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&source).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a matrix row: {missing:?}; matrix rows without a route: {stale:?}"
    );
}

/// The callers, in the order of each row's expectations.
const WHO: [&str; 8] = [
    "viewer",
    "developer",
    "deployer",
    "admin",
    "tenant admin",
    "non-member",
    "signed out",
    "deactivated",
];

/// In a form value: replaced by a name unique to the caller (sign-in failures are throttled
/// per username).
const CALLER: &str = "{caller}";
/// A 303 to the sign-in page.
const IN: u16 = 1;
/// `[viewer, developer, deployer, admin, tenant admin, non-member, signed out, deactivated]`.
type Expect = [u16; 8];
/// A workspace page every member may see.
const MEMBERS: Expect = [200, 200, 200, 200, 200, 404, IN, IN];
/// Any signed-in user.
const SIGNED_IN: Expect = [200, 200, 200, 200, 200, 200, IN, IN];
/// Anybody, signed in or not.
const PUBLIC: Expect = [200; 8];

/// One kind of caller: a cookie (sent by hand, so a refused session is replayed on every
/// request instead of being dropped by a cookie jar) and the session's CSRF token.
struct Caller {
    cookie: String,
    csrf: String,
}

fn cookie_of(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("releasedesk_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn token_in(body: &str) -> String {
    let html = scraper::Html::parse_document(body);
    let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_default()
        .to_owned()
}

async fn caller(http: &reqwest::Client, app: &TestApp, username: Option<&str>) -> Caller {
    let page = http.get(app.url("/login")).send().await.unwrap();
    let cookie = cookie_of(&page).expect("a session cookie");
    let csrf = token_in(&page.text().await.unwrap());
    let Some(username) = username else {
        return Caller { cookie, csrf };
    };
    let resp = http
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "sign-in as {username}");
    let cookie = cookie_of(&resp).expect("a new session cookie");
    let account = http
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csrf = token_in(&account.text().await.unwrap());
    Caller { cookie, csrf }
}

/// The ids the rows point at.
struct Fixture {
    victor: i64,
    outsider: i64,
    script: i64,
    task: i64,
    /// alice's package waiting for rita's approval (no matrix caller may decide it).
    package: i64,
    other_package: i64,
    /// A package of the demo that is decided (not waiting any more), applied for by alice.
    decided_package: i64,
    region: i64,
    /// A region task waiting at a Manual Approval that names bob (who executed it) and rita.
    waiting: i64,
    step: i64,
    /// A region task that has not run.
    idle: i64,
    /// rita's access token, revoked: nobody may revoke it, and a tenant administrator, who
    /// may, is told it is revoked already.
    revoked_token: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    app.db(|c| {
        let id = |c: &mut releasedesk::db::DbConn, n: &str| {
            users::find_by_username(c, n).unwrap().unwrap().id
        };
        let hash = Hasher::new(256).hash(PASSWORD).unwrap();
        let new_user = |c: &mut releasedesk::db::DbConn, name: &str| {
            users::create(
                c,
                None,
                users::NewUser {
                    username: &Username::parse(name).unwrap(),
                    display_name: &DisplayName::parse(name).unwrap(),
                    password_hash: &hash,
                    tenant_admin: false,
                },
            )
            .unwrap()
            .id
        };
        let outsider = new_user(c, "olga");
        let rita = new_user(c, "rita");
        new_user(c, "dora");
        let ws = workspaces::find_by_slug(c, "demo").unwrap().unwrap().id;
        let (alice, bob, carol) = (id(c, "alice"), id(c, "bob"), id(c, "carol"));
        workspaces::add_member(c, carol, ws, "rita", Role::Deployer).unwrap();
        workspaces::add_member(c, carol, ws, "dora", Role::Admin).unwrap();
        workspaces::add_reviewer(c, carol, ws, rita).unwrap();

        let draft = scripts::ScriptDraft {
            script_type: ScriptType::Sql,
            schedule: String::new(),
            description: Default::default(),
            content: "SELECT 42;\n".into(),
        };
        let script = scripts::create(
            c,
            alice,
            ws,
            &ScriptPath::parse("matrix/one.sql").unwrap(),
            &draft,
        )
        .unwrap()
        .id;
        let task = scripts::submit_version(c, alice, ws, script, "v1")
            .unwrap()
            .task_id
            .unwrap();
        let package = releases::release(
            c,
            alice,
            ws,
            &releases::ReleaseRequest {
                task_ids: vec![task],
                name: "matrix package".parse().unwrap(),
                comment: Default::default(),
                reviewers: vec![rita],
            },
        )
        .unwrap()
        .package_id;
        let other_package = release_packages::table
            .filter(release_packages::workspace_id.eq(ws))
            .filter(release_packages::id.ne(package))
            .select(release_packages::id)
            .first::<i64>(c)
            .unwrap();
        let decided_package = release_packages::table
            .filter(release_packages::workspace_id.eq(ws))
            .filter(release_packages::status.ne("pending_approval"))
            .filter(release_packages::applicant_id.eq(alice))
            .select(release_packages::id)
            .first::<i64>(c)
            .unwrap();
        let (region, component) = regions::table
            .filter(regions::workspace_id.eq(ws))
            .select(regions::id)
            .first::<i64>(c)
            .map(|r| {
                use releasedesk::db::schema::components;
                let comp = components::table
                    .filter(components::workspace_id.eq(ws))
                    .select(components::id)
                    .first::<i64>(c)
                    .unwrap();
                (r, comp)
            })
            .unwrap();
        let input = |name: &str| region_release::TaskInput {
            name: name.into(),
            description: Default::default(),
            operation: Operation::Deploy,
            source_region_id: None,
            best_effort: false,
            steps: vec![
                region_release::StepInput {
                    kind: StepKind::Approval,
                    region_id: None,
                    component_ids: vec![],
                    people: vec![bob, rita],
                },
                region_release::StepInput {
                    kind: StepKind::Deploy,
                    region_id: Some(region),
                    component_ids: vec![component],
                    people: vec![],
                },
            ],
        };
        let waiting = region_release::create(c, bob, ws, &input("matrix waiting"))
            .unwrap()
            .id;
        region_release::execute(c, bob, ws, waiting, None).unwrap();
        let idle = region_release::create(c, bob, ws, &input("matrix idle"))
            .unwrap()
            .id;
        let step = region_task_steps::table
            .filter(region_task_steps::task_id.eq(waiting))
            .filter(region_task_steps::position.eq(1))
            .select(region_task_steps::id)
            .first::<i64>(c)
            .unwrap();
        let _ = region_tasks::table;
        let token = tokens::create(
            c,
            rita,
            &tokens::NewToken {
                name: TokenName::parse("rita's pipeline").unwrap(),
                scope: TokenScope::Write,
                days: 30,
            },
            tokens::CreatedBy::Owner,
        )
        .unwrap()
        .token
        .id;
        tokens::revoke(c, rita, token).unwrap();
        Fixture {
            victor: (id(c, "victor")).get(),
            outsider: outsider.get(),
            script,
            task: task.get(),
            package: package.get(),
            other_package,
            decided_package,
            region,
            waiting: waiting.get(),
            step,
            idle: idle.get(),
            revoked_token: token.get(),
        }
    })
    .await
}

struct Row {
    method: &'static str,
    route: &'static str,
    path: String,
    form: Vec<(&'static str, String)>,
    expect: Expect,
}

fn get(route: &'static str, path: impl Into<String>, expect: Expect) -> Row {
    Row {
        method: "GET",
        route,
        path: path.into(),
        form: vec![],
        expect,
    }
}

fn post(
    route: &'static str,
    path: impl Into<String>,
    form: &[(&'static str, &str)],
    expect: Expect,
) -> Row {
    Row {
        method: "POST",
        route,
        path: path.into(),
        form: form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        expect,
    }
}

fn rows(f: &Fixture) -> Vec<Row> {
    let ws = |rest: &str| format!("/workspaces/demo{rest}");
    // Another workspace's URL with this workspace's ids: 404 for everyone, whatever their
    // role there (bob is admin of payments, carol deployer, alice developer).
    let foreign = |rest: String| format!("/workspaces/payments{rest}");
    let (s, t, p, r) = (f.script, f.task, f.package, f.region);
    let (rt, idle, step) = (f.waiting, f.idle, f.step);
    const NOT_FOUND: Expect = [404, 404, 404, 404, 404, 404, IN, IN];
    const ADMIN_ONLY: Expect = [403, 403, 403, 403, 200, 403, IN, IN];
    let mut rows = vec![
        get("/", "/", [303, 303, 303, 303, 303, 303, IN, 303]),
        get("/healthz", "/healthz", PUBLIC),
        get("/metrics", "/metrics", PUBLIC),
        get(
            "/static/{path:.*}",
            "/static/vendor/htmx-4.0.1.min.js",
            PUBLIC,
        ),
        // Signed in (deactivated too: the page does not load the user) goes to the workspaces.
        get("/login", "/login", [303, 303, 303, 303, 303, 303, 200, 303]),
        get("/reviews", "/reviews", SIGNED_IN),
        get("/account", "/account", SIGNED_IN),
        get("/admin/users", "/admin/users", ADMIN_ONLY),
        get("/admin/tokens", "/admin/tokens", ADMIN_ONLY),
        get("/workspaces", "/workspaces", SIGNED_IN),
        get(
            "/workspaces/switch",
            "/workspaces/switch?ws=demo",
            [303, 303, 303, 303, 303, 303, IN, IN],
        ),
        get("/workspaces/{ws}", ws(""), MEMBERS),
        get("/workspaces/{ws}/audit", ws("/audit"), MEMBERS),
        get("/workspaces/{ws}/audit.csv", ws("/audit.csv"), MEMBERS),
        get("/workspaces/{ws}/insights", ws("/insights"), MEMBERS),
        get(
            "/workspaces/{ws}/insights.csv",
            ws("/insights.csv"),
            MEMBERS,
        ),
        get("/workspaces/{ws}/scripts", ws("/scripts"), MEMBERS),
        get(
            "/workspaces/{ws}/scripts/import",
            ws("/scripts/import"),
            [403, 403, 403, 200, 200, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/scripts/export",
            ws("/scripts/export"),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/scripts/{id}",
            ws(&format!("/scripts/{s}")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/tasks",
            ws("/task-release/tasks"),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/tasks/{id}",
            ws(&format!("/task-release/tasks/{t}")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/packages",
            ws("/task-release/packages"),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}",
            ws(&format!("/task-release/packages/{p}")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/progress",
            ws(&format!("/task-release/packages/{p}/progress")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/compare",
            ws(&format!(
                "/task-release/packages/{p}/compare?with={}",
                f.other_package
            )),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/compare.diff",
            ws(&format!(
                "/task-release/packages/{p}/compare.diff?with={}",
                f.other_package
            )),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/task-release/tasks/{id}/diff",
            ws(&format!("/task-release/tasks/{t}/diff?against=production")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/scripts/{id}/diff",
            ws(&format!("/scripts/{s}/diff?from=1&to=draft")),
            MEMBERS,
        ),
        get("/workspaces/{ws}/production", ws("/production"), MEMBERS),
        get(
            "/workspaces/{ws}/region-release/tasks",
            ws("/region-release/tasks"),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/new",
            ws("/region-release/tasks/new"),
            [403, 200, 200, 200, 200, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}",
            ws(&format!("/region-release/tasks/{rt}")),
            MEMBERS,
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}/edit",
            ws(&format!("/region-release/tasks/{idle}/edit")),
            [403, 200, 200, 200, 200, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}/process",
            ws(&format!("/region-release/tasks/{rt}/process")),
            MEMBERS,
        ),
        get("/workspaces/{ws}/regions", ws("/regions"), MEMBERS),
        get(
            "/workspaces/{ws}/regions/{id}",
            ws(&format!("/regions/{r}")),
            MEMBERS,
        ),
        get("/workspaces/{ws}/components", ws("/components"), MEMBERS),
        get(
            "/workspaces/{ws}/settings",
            ws("/settings"),
            [403, 403, 403, 200, 200, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/settings/notifications",
            ws("/settings/notifications"),
            [403, 403, 403, 200, 200, 404, IN, IN],
        ),
        // No such hook: the role check answers first, then 404.
        get(
            "/workspaces/{ws}/settings/notifications/{id}",
            ws("/settings/notifications/999999"),
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/deliveries",
            ws("/deliveries"),
            [403, 403, 403, 200, 200, 404, IN, IN],
        ),
        get("/workspaces/{ws}/freezes", ws("/freezes"), MEMBERS),
        // Ids of `demo` under `payments`.
        get(
            "/workspaces/{ws}/scripts/{id}",
            foreign(format!("/scripts/{s}")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/tasks/{id}",
            foreign(format!("/task-release/tasks/{t}")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}",
            foreign(format!("/task-release/packages/{p}")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/progress",
            foreign(format!("/task-release/packages/{p}/progress")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/compare",
            foreign(format!(
                "/task-release/packages/{p}/compare?with={}",
                f.other_package
            )),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/packages/{id}/compare.diff",
            foreign(format!(
                "/task-release/packages/{p}/compare.diff?with={}",
                f.other_package
            )),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/task-release/tasks/{id}/diff",
            foreign(format!("/task-release/tasks/{t}/diff")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/scripts/{id}/diff",
            foreign(format!("/scripts/{s}/diff?from=1&to=draft")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}",
            foreign(format!("/region-release/tasks/{rt}")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}/edit",
            foreign(format!("/region-release/tasks/{idle}/edit")),
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        get(
            "/workspaces/{ws}/region-release/tasks/{id}/process",
            foreign(format!("/region-release/tasks/{rt}/process")),
            NOT_FOUND,
        ),
        get(
            "/workspaces/{ws}/regions/{id}",
            foreign(format!("/regions/{r}")),
            NOT_FOUND,
        ),
    ];

    // State-changing requests. Each is refused to every caller, for their role or for the
    // value sent, so the database the next row sees is the same.
    let victor = f.victor.to_string();
    let outsider = f.outsider.to_string();
    let token = f.revoked_token;
    rows.extend([
        post(
            "/login",
            "/login",
            &[("username", CALLER), ("password", "wrong-password")],
            [401; 8],
        ),
        post(
            "/reviews",
            "/reviews",
            &[("decision", "maybe"), ("package_ids", &p.to_string())],
            [400, 400, 400, 400, 400, 400, IN, IN],
        ),
        post(
            "/account/password",
            "/account/password",
            &[
                ("current", "not-my-password"),
                ("new", "a long new password"),
                ("confirm", "a long new password"),
            ],
            [422, 422, 422, 422, 422, 422, IN, IN],
        ),
        // Not a handle of any session, so nobody's session ends.
        post(
            "/account/sessions/{id}/end",
            "/account/sessions/0123456789abcdef0123456789abcdef/end",
            &[],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        // A token needs a name, so none is created.
        post(
            "/account/tokens",
            "/account/tokens",
            &[("name", ""), ("expires_in_days", "30"), ("scope", "read")],
            [422, 422, 422, 422, 422, 422, IN, IN],
        ),
        // Not an address, so nobody's changes.
        post(
            "/account/email",
            "/account/email",
            &[("email", "not an address")],
            [422, 422, 422, 422, 422, 422, IN, IN],
        ),
        // No such hour, so nobody's settings change.
        post(
            "/account/notifications",
            "/account/notifications",
            &[("kinds", "review_requested"), ("digest_hour", "24")],
            [422, 422, 422, 422, 422, 422, IN, IN],
        ),
        // This app sends no email: nothing is sent, nobody's turn is taken.
        post(
            "/account/test-email",
            "/account/test-email",
            &[],
            [409, 409, 409, 409, 409, 409, IN, IN],
        ),
        // Someone else's token: not found, but for a tenant administrator, who may revoke
        // anyone's and is told it is revoked already.
        post(
            "/account/tokens/{id}/revoke",
            format!("/account/tokens/{token}/revoke"),
            &[],
            [404, 404, 404, 404, 409, 404, IN, IN],
        ),
        post(
            "/admin/tokens/{id}/revoke",
            format!("/admin/tokens/{token}/revoke"),
            &[],
            [403, 403, 403, 403, 409, 403, IN, IN],
        ),
        post(
            "/admin/users",
            "/admin/users",
            &[("username", ""), ("display_name", ""), ("password", "")],
            [403, 403, 403, 403, 422, 403, IN, IN],
        ),
        post(
            "/admin/users/{id}/active",
            format!("/admin/users/{victor}/active"),
            &[("value", "maybe")],
            [403, 403, 403, 403, 400, 403, IN, IN],
        ),
        post(
            "/admin/users/{id}/tenant-admin",
            format!("/admin/users/{victor}/tenant-admin"),
            &[("value", "maybe")],
            [403, 403, 403, 403, 400, 403, IN, IN],
        ),
        post(
            "/admin/users/{id}/password",
            format!("/admin/users/{victor}/password"),
            &[("password", "short")],
            [403, 403, 403, 403, 422, 403, IN, IN],
        ),
        post(
            "/workspaces",
            "/workspaces",
            &[("slug", "Not A Slug"), ("name", "")],
            [403, 403, 403, 403, 422, 403, IN, IN],
        ),
        post(
            "/workspaces/{ws}/scripts",
            ws("/scripts"),
            &[("path", ""), ("script_type", "sql"), ("content", "x")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/scripts/import",
            ws("/scripts/import"),
            &[("bundle", "not json")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/scripts/{id}",
            ws(&format!("/scripts/{s}")),
            &[("script_type", "cobol"), ("content", "x")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/scripts/{id}/submit",
            ws(&format!("/scripts/{s}/submit")),
            &[("message", "nothing changed")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/release",
            ws("/task-release/release"),
            &[("task_ids", &t.to_string())],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/revoke",
            ws("/task-release/revoke"),
            &[],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        // alice is the applicant; only rita (no caller here) is its reviewer.
        post(
            "/workspaces/{ws}/task-release/packages/{id}/decision",
            ws(&format!("/task-release/packages/{p}/decision")),
            &[("decision", "approve")],
            [403, 403, 403, 403, 403, 404, IN, IN],
        ),
        // Victor cannot review: the applicant and admins are told so, others may not add.
        post(
            "/workspaces/{ws}/task-release/packages/{id}/reviewers",
            ws(&format!("/task-release/packages/{p}/reviewers")),
            &[("reviewers", &victor)],
            [403, 422, 403, 422, 422, 404, IN, IN],
        ),
        // Decided already: nobody withdraws it, viewers may not try.
        post(
            "/workspaces/{ws}/task-release/packages/{id}/withdraw",
            ws(&format!(
                "/task-release/packages/{}/withdraw",
                f.decided_package
            )),
            &[],
            [403, 409, 409, 409, 409, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks",
            ws("/region-release/tasks"),
            &[("name", ""), ("operation", "deploy"), ("rows", "1")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/edit",
            ws(&format!("/region-release/tasks/{idle}/edit")),
            &[("name", ""), ("operation", "deploy"), ("rows", "1")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        // Running (waiting at its checkpoint): Execute is refused while it runs.
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/execute",
            ws(&format!("/region-release/tasks/{rt}/execute")),
            &[],
            [403, 403, 409, 409, 409, 404, IN, IN],
        ),
        // Not running: nothing to suspend.
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/suspend",
            ws(&format!("/region-release/tasks/{idle}/suspend")),
            &[],
            [403, 403, 409, 409, 409, 404, IN, IN],
        ),
        // Never released: nothing to roll back.
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/rollback",
            ws(&format!("/region-release/tasks/{idle}/rollback")),
            &[("reason", "matrix")],
            [403, 403, 409, 409, 409, 404, IN, IN],
        ),
        // Names bob (who executed it: refused) and rita; nobody else may decide.
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/steps/{step}/decision",
            ws(&format!("/region-release/tasks/{rt}/steps/{step}/decision")),
            &[("decision", "agree"), ("comment", "")],
            [403, 403, 403, 403, 403, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/regions",
            ws("/regions"),
            &[("name", ""), ("driver", "inventory")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/regions/{id}",
            ws(&format!("/regions/{r}")),
            &[("name", ""), ("driver", "inventory")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/components",
            ws("/components"),
            &[("name", "")],
            [403, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/general",
            ws("/settings/general"),
            &[("name", ""), ("mode", "chaos")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/members",
            ws("/settings/members"),
            &[("username", "nobody-at-all"), ("role", "viewer")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/members/{user_id}/role",
            ws(&format!("/settings/members/{victor}/role")),
            &[("role", "emperor")],
            [403, 403, 403, 400, 400, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/members/{user_id}/remove",
            ws(&format!("/settings/members/{outsider}/remove")),
            &[],
            [403, 403, 403, 409, 409, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/reviewers",
            ws("/settings/reviewers"),
            &[("user_id", &victor)],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/reviewers/{user_id}/remove",
            ws(&format!("/settings/reviewers/{outsider}/remove")),
            &[],
            [403, 403, 403, 409, 409, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/notifications",
            ws("/settings/notifications"),
            &[("name", ""), ("format", "chat")],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/notifications/{id}",
            ws("/settings/notifications/999999"),
            &[("name", ""), ("format", "chat")],
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/notifications/{id}/active",
            ws("/settings/notifications/999999/active"),
            &[("active", "maybe")],
            [403, 403, 403, 400, 400, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/notifications/{id}/delete",
            ws("/settings/notifications/999999/delete"),
            &[],
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/settings/notifications/{id}/test",
            ws("/settings/notifications/999999/test"),
            &[],
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/deliveries/{id}/retry",
            ws("/deliveries/999999/retry"),
            &[],
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        // An empty form: admins get it back with a message per field.
        post(
            "/workspaces/{ws}/freezes",
            ws("/freezes"),
            &[],
            [403, 403, 403, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/freezes/{id}/delete",
            ws("/freezes/999999/delete"),
            &[],
            [403, 403, 403, 404, 404, 404, IN, IN],
        ),
        // Decided already, and no freeze holds the idle task: admins are told why not.
        post(
            "/workspaces/{ws}/task-release/packages/{id}/override-freeze",
            ws(&format!(
                "/task-release/packages/{}/override-freeze",
                f.decided_package
            )),
            &[("reason", "matrix")],
            [403, 403, 403, 409, 409, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/override-freeze",
            ws(&format!("/region-release/tasks/{idle}/override-freeze")),
            &[("reason", "matrix")],
            [403, 403, 403, 409, 409, 404, IN, IN],
        ),
    ]);
    // The same under another workspace's URL: never reaches the row. Roles there: victor
    // none, alice developer, carol deployer, bob admin; the role check may answer first.
    rows.extend([
        post(
            "/workspaces/{ws}/scripts/{id}",
            foreign(format!("/scripts/{s}")),
            &[("script_type", "sql"), ("content", "x")],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/scripts/{id}/submit",
            foreign(format!("/scripts/{s}/submit")),
            &[("message", "m")],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/release",
            foreign("/task-release/release".into()),
            // alice (a developer there) is first told to name a reviewer.
            &[("task_ids", &t.to_string())],
            [404, 422, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/packages/{id}/decision",
            foreign(format!("/task-release/packages/{p}/decision")),
            &[("decision", "approve")],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/packages/{id}/reviewers",
            foreign(format!("/task-release/packages/{p}/reviewers")),
            &[("reviewers", &victor)],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/packages/{id}/withdraw",
            foreign(format!("/task-release/packages/{p}/withdraw")),
            &[],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/edit",
            foreign(format!("/region-release/tasks/{idle}/edit")),
            &[("name", "x"), ("operation", "deploy"), ("rows", "0")],
            [404, 422, 422, 422, 422, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/execute",
            foreign(format!("/region-release/tasks/{idle}/execute")),
            &[],
            [404, 403, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/suspend",
            foreign(format!("/region-release/tasks/{rt}/suspend")),
            &[],
            [404, 403, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/rollback",
            foreign(format!("/region-release/tasks/{rt}/rollback")),
            &[("reason", "x")],
            [404, 403, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/steps/{step}/decision",
            foreign(format!("/region-release/tasks/{rt}/steps/{step}/decision")),
            &[("decision", "agree")],
            [404, 404, 404, 404, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/regions/{id}",
            foreign(format!("/regions/{r}")),
            &[("name", "x"), ("driver", "inventory")],
            [404, 403, 404, 403, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/task-release/packages/{id}/override-freeze",
            foreign(format!("/task-release/packages/{p}/override-freeze")),
            &[("reason", "x")],
            [404, 403, 404, 403, 404, 404, IN, IN],
        ),
        post(
            "/workspaces/{ws}/region-release/tasks/{id}/override-freeze",
            foreign(format!("/region-release/tasks/{rt}/override-freeze")),
            &[("reason", "x")],
            [404, 403, 404, 403, 404, 404, IN, IN],
        ),
        // Last: signs every caller out.
        post("/logout", "/logout", &[], [IN, IN, IN, IN, IN, IN, IN, IN]),
    ]);
    rows
}

async fn role_action_matrix(app: TestApp) {
    let app = app.with_demo().await;
    let f = fixture(&app).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The worker takes the region task to its checkpoint.
    for _ in 0..100 {
        let step = f.step;
        let status = app
            .db(move |c| {
                region_task_steps::table
                    .find(step)
                    .select(region_task_steps::status)
                    .first::<String>(c)
                    .unwrap()
            })
            .await;
        if status == "waiting" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut callers = Vec::new();
    for who in ["victor", "alice", "bob", "carol", "tara", "olga"] {
        callers.push(caller(&http, &app, Some(who)).await);
    }
    callers.push(caller(&http, &app, None).await);
    let dora = caller(&http, &app, Some("dora")).await;
    app.db(|c| {
        let tara = users::find_by_username(c, "tara").unwrap().unwrap().id;
        let dora = users::find_by_username(c, "dora").unwrap().unwrap().id;
        users::set_active(c, tara, dora, false).unwrap();
    })
    .await;
    callers.push(dora);

    let rows = rows(&f);
    let covered: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r.method, r.route)).collect();
    for route in ROUTES {
        assert!(covered.contains(route), "no matrix row for {route:?}");
    }
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in &rows {
        for (i, c) in callers.iter().enumerate() {
            let url = app.url(&row.path);
            let req = if row.method == "GET" {
                http.get(url)
            } else {
                let mut form: Vec<(&str, String)> = row
                    .form
                    .iter()
                    .map(|(k, v)| (*k, v.replace(CALLER, &format!("nobody{i}"))))
                    .collect();
                form.push(("csrf_token", c.csrf.clone()));
                http.post(url).form(&form)
            };
            let resp = req.header("cookie", &c.cookie).send().await.unwrap();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = resp.text().await.unwrap_or_default();
            let got = if status == 303 && location.starts_with("/login") {
                IN
            } else {
                status
            };
            cells += 1;
            let want = row.expect[i];
            if got != want {
                failures.push(format!(
                    "{} {} as {}: want {}, got {} {location}",
                    row.method,
                    row.path,
                    WHO[i],
                    if want == IN {
                        "sign-in".into()
                    } else {
                        want.to_string()
                    },
                    if got == IN {
                        "sign-in".into()
                    } else {
                        got.to_string()
                    },
                ));
            } else if (400..500).contains(&status) && status != 404 && body.trim().is_empty() {
                failures.push(format!(
                    "{} {} as {}: {status} without a message",
                    row.method, row.path, WHO[i]
                ));
            }
        }
    }
    eprintln!(
        "role × action matrix: {} rows × {} callers = {cells} cells checked on {:?}",
        rows.len(),
        WHO.len(),
        app.backend
    );
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing the refused requests touched changed.
    let (package, step) = (f.package, f.step);
    let (pkg, st) = app
        .db(move |c| {
            (
                release_packages::table
                    .find(package)
                    .select(release_packages::status)
                    .first::<String>(c)
                    .unwrap(),
                region_task_steps::table
                    .find(step)
                    .select(region_task_steps::status)
                    .first::<String>(c)
                    .unwrap(),
            )
        })
        .await;
    assert_eq!((pkg.as_str(), st.as_str()), ("pending_approval", "waiting"));
    let live_tokens = app
        .db(|c| {
            api_tokens::table
                .filter(api_tokens::revoked_at.is_null())
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(live_tokens, 0, "no token was created");
}

on_both_backends!(role_action_matrix);
