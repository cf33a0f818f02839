//! Demo data for `serve --demo`: the five demo users of the README and two workspaces, seeded
//! only into an empty database, through the same data-layer functions the pages use (so the
//! audit log tells the story of how the workspace was set up).

use base64::Engine;
use diesel::prelude::*;

use crate::auth::password::Hasher;
use crate::db::DbConn;
use crate::db::models::users::{self, NewUser};
use crate::db::models::workspaces;
use crate::db::schema::users as users_t;
use crate::domain::{DisplayName, Role, Username, WorkspaceName, WorkspaceSlug};

/// (username, display name, tenant admin, role in `demo`, role in `payments`).
type DemoUser = (&'static str, &'static str, bool, Option<Role>, Option<Role>);

pub const DEMO_USERS: &[DemoUser] = &[
    ("tara", "Tara Tenant", true, None, None),
    (
        "carol",
        "Carol Admin",
        false,
        Some(Role::Admin),
        Some(Role::Deployer),
    ),
    (
        "bob",
        "Bob Deployer",
        false,
        Some(Role::Deployer),
        Some(Role::Admin),
    ),
    (
        "alice",
        "Alice Developer",
        false,
        Some(Role::Developer),
        Some(Role::Developer),
    ),
    ("victor", "Victor Viewer", false, Some(Role::Viewer), None),
];

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("demo data: {e}")
}

/// Seeds the demo into an empty database. Returns `false` (and changes nothing) when users exist.
pub fn seed(conn: &mut DbConn, hasher: &Hasher, password: &str) -> anyhow::Result<bool> {
    let existing: i64 = users_t::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(false);
    }
    let hash = hasher.hash(password)?;
    let mut ids = Vec::new();
    for (username, name, tenant, _, _) in DEMO_USERS {
        let username = Username::parse(username).map_err(err)?;
        let display = DisplayName::parse(name).map_err(err)?;
        let user = users::create(
            conn,
            None,
            NewUser {
                username: &username,
                display_name: &display,
                password_hash: &hash,
                tenant_admin: *tenant,
            },
        )
        .map_err(err)?;
        ids.push(user.id);
    }
    let tara = ids[0];
    let find = |name: &str| {
        DEMO_USERS
            .iter()
            .position(|u| u.0 == name)
            .map(|i| ids[i])
            .unwrap_or(tara)
    };

    let demo = workspaces::create(
        conn,
        Some(tara),
        &WorkspaceSlug::parse("demo").map_err(err)?,
        &WorkspaceName::parse("Demo Data Platform").map_err(err)?,
        "ETL scripts and services of the demo team, released through review.",
        Some(find("carol")),
    )
    .map_err(err)?;
    let payments = workspaces::create(
        conn,
        Some(tara),
        &WorkspaceSlug::parse("payments").map_err(err)?,
        &WorkspaceName::parse("Payments").map_err(err)?,
        "Payment services rolled out region by region.",
        Some(find("bob")),
    )
    .map_err(err)?;

    for (username, _, _, demo_role, payments_role) in DEMO_USERS {
        if let Some(role) = demo_role.filter(|_| *username != "carol") {
            workspaces::add_member(conn, find("carol"), demo.id, username, role).map_err(err)?;
        }
        if let Some(role) = payments_role.filter(|_| *username != "bob") {
            // Alice starts as a deployer and reviewer in payments and is then moved to
            // developer: the reviewer list shows her automatic removal.
            let role = if *username == "alice" {
                Role::Deployer
            } else {
                role
            };
            workspaces::add_member(conn, find("bob"), payments.id, username, role).map_err(err)?;
        }
    }
    workspaces::add_reviewer(conn, find("carol"), demo.id, find("carol")).map_err(err)?;
    workspaces::add_reviewer(conn, find("carol"), demo.id, find("bob")).map_err(err)?;
    workspaces::add_reviewer(conn, find("bob"), payments.id, find("bob")).map_err(err)?;
    workspaces::add_reviewer(conn, find("bob"), payments.id, find("carol")).map_err(err)?;
    workspaces::add_reviewer(conn, find("bob"), payments.id, find("alice")).map_err(err)?;
    workspaces::change_role(
        conn,
        find("bob"),
        payments.id,
        find("alice"),
        Some(Role::Deployer),
        Role::Developer,
    )
    .map_err(err)?;
    seed_task_release(conn, demo.id, &find).map_err(err)?;
    Ok(true)
}

/// `serve --demo`: seeds if the database is empty and prints the sign-ins.
pub fn seed_and_print(
    conn: &mut DbConn,
    hasher: &Hasher,
    password: Option<String>,
) -> anyhow::Result<()> {
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => {
            let bytes: [u8; 12] = rand::random();
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                true,
            )
        }
    };
    if seed(conn, hasher, &password)? {
        println!("Demo data created: workspaces `demo` and `payments`. Sign in as:");
        for (username, name, tenant, role, _) in DEMO_USERS {
            let what = if *tenant {
                "tenant admin".to_owned()
            } else {
                role.map(|r| r.as_str().to_owned()).unwrap_or_default()
            };
            println!("  {username:<7} {name:<16} {what}");
        }
        if generated {
            println!(
                "with the password: {password}   (set RELEASEDESK_DEMO_PASSWORD to choose it)"
            );
        } else {
            println!("with the password from RELEASEDESK_DEMO_PASSWORD.");
        }
    } else {
        println!(
            "Demo data not seeded: the database already has users (sign in with the password chosen when it was seeded)."
        );
    }
    Ok(())
}

const DAILY_ORDERS_V1: &str = "-- Daily order totals per region\nINSERT INTO mart.daily_orders (day, region, orders, revenue)\nSELECT order_date, region, count(*), sum(amount)\nFROM raw.orders\nWHERE order_date = current_date - 1\nGROUP BY order_date, region;\n";

/// Scripts, versions, tasks and packages in every state a reviewer meets on the Task Release
/// pages, created through the same functions the pages call.
fn seed_task_release(
    conn: &mut DbConn,
    ws: i64,
    find: &dyn Fn(&str) -> i64,
) -> Result<(), crate::error::AppError> {
    use crate::db::models::releases::{self, Decision, ReleaseRequest};
    use crate::db::models::scripts::{self, ScriptDraft};
    use crate::domain::{ScriptPath, ScriptType};

    let (alice, bob, carol) = (find("alice"), find("bob"), find("carol"));
    let script = |conn: &mut DbConn,
                  who: i64,
                  path: &str,
                  kind: ScriptType,
                  schedule: &str,
                  content: &str,
                  message: &str| {
        let path = ScriptPath::parse(path).map_err(|e| crate::error::AppError::bad_request(e.0))?;
        let draft = ScriptDraft {
            script_type: kind,
            schedule: schedule.into(),
            description: String::new(),
            content: content.into(),
        };
        let s = scripts::create(conn, who, ws, &path, &draft)?;
        let done = scripts::submit_version(conn, who, ws, s.id, message)?;
        Ok::<_, crate::error::AppError>((s.id, done.task_id))
    };
    let (orders, orders_v1) = script(
        conn,
        alice,
        "etl/daily_orders.sql",
        ScriptType::Sql,
        "0 2 * * *",
        DAILY_ORDERS_V1,
        "First version",
    )?;
    let (agg, agg_v1) = script(
        conn,
        alice,
        "etl/orders_agg.sql",
        ScriptType::Sql,
        "30 2 * * *",
        "SELECT region, sum(revenue) FROM mart.daily_orders GROUP BY region;\n",
        "Aggregate by region",
    )?;
    let (_, customer_v1) = script(
        conn,
        alice,
        "etl/customer_dim.sql",
        ScriptType::Sql,
        "0 3 * * *",
        "SELECT id, name, country FROM raw.customers;\n",
        "Customer dimension",
    )?;
    let (_, weekly_v1) = script(
        conn,
        alice,
        "reports/weekly_revenue.sql",
        ScriptType::Sql,
        "0 6 * * 1",
        "SELECT week, sum(revenue) FROM mart.daily_orders GROUP BY week;\n",
        "Weekly revenue report",
    )?;
    let (_, cleanup_v1) = script(
        conn,
        bob,
        "ops/cleanup_tmp.sh",
        ScriptType::Shell,
        "",
        "#!/bin/sh\nfind /tmp/etl -mtime +7 -delete\n",
        "Clean temp files",
    )?;
    let (snapshot, _) = script(
        conn,
        alice,
        "etl/inventory_snapshot.py",
        ScriptType::Python,
        "",
        "import db\n\ndb.snapshot('inventory')\n",
        "Snapshot inventory",
    )?;
    let ids = |t: Option<i64>| t.into_iter().collect::<Vec<_>>();
    let _ = agg;

    // Bob (deployer) releases directly; the worker puts it live.
    releases::release(
        conn,
        bob,
        ws,
        &ReleaseRequest {
            task_ids: ids(orders_v1),
            name: "daily-orders-first".into(),
            comment: "First run of the daily orders job".into(),
            reviewers: vec![],
        },
    )?;
    // Alice needs approval: Carol approves one package, Bob rejects another, one waits.
    let approved = releases::release(
        conn,
        alice,
        ws,
        &ReleaseRequest {
            task_ids: ids(agg_v1),
            name: "orders-aggregate".into(),
            comment: "Adds the regional aggregate".into(),
            reviewers: vec![carol],
        },
    )?;
    releases::decide(
        conn,
        carol,
        ws,
        approved.package_id,
        Decision::Approve,
        "Looks good",
    )?;
    let rejected = releases::release(
        conn,
        alice,
        ws,
        &ReleaseRequest {
            task_ids: ids(weekly_v1),
            name: "weekly-report".into(),
            comment: String::new(),
            reviewers: vec![bob],
        },
    )?;
    releases::decide(
        conn,
        bob,
        ws,
        rejected.package_id,
        Decision::Reject,
        "week is not a column of mart.daily_orders; use date_trunc",
    )?;
    releases::release(
        conn,
        alice,
        ws,
        &ReleaseRequest {
            task_ids: ids(customer_v1),
            name: "customer-dimension".into(),
            comment: "Please review before Friday".into(),
            reviewers: vec![carol, bob],
        },
    )?;
    // Bob withdraws his own task.
    releases::revoke(conn, bob, ws, &ids(cleanup_v1))?;
    // A release that loses the race with production: while "nightly-batch" waits for the
    // worker, Carol imports a newer version of one of its scripts straight into production, so
    // that task fails (production never moves backwards) and the package partially fails.
    let (_, nightly_a) = script(
        conn,
        bob,
        "batch/nightly_a.sql",
        ScriptType::Sql,
        "0 1 * * *",
        "CALL refresh_a();\n",
        "Nightly refresh A",
    )?;
    let (_, nightly_b) = script(
        conn,
        bob,
        "batch/nightly_b.sql",
        ScriptType::Sql,
        "0 1 * * *",
        "CALL refresh_b();\n",
        "Nightly refresh B",
    )?;
    let mut both = ids(nightly_a);
    both.extend(ids(nightly_b));
    releases::release(
        conn,
        bob,
        ws,
        &ReleaseRequest {
            task_ids: both,
            name: "nightly-batch".into(),
            comment: String::new(),
            reviewers: vec![],
        },
    )?;
    let hotfix = r#"{"format":"releasedesk.scripts/v1","scripts":[{"path":"batch/nightly_b.sql","type":"sql","schedule":"0 1 * * *","content":"CALL refresh_b(full => true);\n","state":"released","message":"Hotfix applied during the incident"}]}"#;
    crate::db::models::bundle::import(conn, carol, ws, hotfix)?;
    crate::worker::drain(conn)?;

    // New versions: daily orders v2 waits to be released; the snapshot's v1 is superseded by v2.
    let edit = |conn: &mut DbConn,
                who: i64,
                id: i64,
                kind: ScriptType,
                schedule: &str,
                content: String,
                message: &str| {
        let draft = ScriptDraft {
            script_type: kind,
            schedule: schedule.into(),
            description: String::new(),
            content,
        };
        scripts::save_draft(conn, who, ws, id, &draft)?;
        scripts::submit_version(conn, who, ws, id, message)
    };
    edit(
        conn,
        alice,
        orders,
        ScriptType::Sql,
        "0 2 * * *",
        DAILY_ORDERS_V1
            .replace(
                "count(*), sum(amount)",
                "count(*), sum(amount), avg(amount)",
            )
            .replace(
                "(day, region, orders, revenue)",
                "(day, region, orders, revenue, avg_order)",
            ),
        "Add the average order value",
    )?;
    edit(
        conn,
        alice,
        snapshot,
        ScriptType::Python,
        "15 * * * *",
        "import db\n\ndb.snapshot('inventory', hourly=True)\n".into(),
        "Hourly snapshots",
    )?;
    Ok(())
}
