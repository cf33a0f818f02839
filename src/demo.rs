//! Demo data for `serve --demo`: the five demo users of the README and two workspaces, seeded
//! only into an empty database, through the same data-layer functions the pages use (so the
//! audit log tells the story of how the workspace was set up).

use crate::domain::{StepId, TaskId};
use crate::domain::{UserId, WorkspaceId};
use base64::Engine;

use crate::db::DbConn;
use crate::db::models::users::{self, NewUser};
use crate::db::models::workspaces;
use crate::domain::{DisplayName, Role, Username, WorkspaceName, WorkspaceSlug};
use crate::password::Hasher;

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
    if users::any(conn)? {
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
        &text("ETL scripts and services of the demo team, released through review."),
        Some(find("carol")),
    )
    .map_err(err)?;
    let payments = workspaces::create(
        conn,
        Some(tara),
        &WorkspaceSlug::parse("payments").map_err(err)?,
        &WorkspaceName::parse("Payments").map_err(err)?,
        &text("Payment services rolled out region by region."),
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
        true,
    )
    .map_err(err)?;
    seed_task_release(conn, demo.id, &find).map_err(err)?;
    seed_region_release(conn, demo.id, &find).map_err(err)?;
    seed_freeze(conn, demo.id, find("carol")).map_err(err)?;
    // Addresses last: the seeded history mails nobody; what people do afterwards does (run a
    // local mailbox, see the README).
    for ((username, ..), id) in DEMO_USERS.iter().zip(&ids) {
        users::set_email(conn, *id, &format!("{username}@example.com"))?;
    }
    Ok(true)
}

/// A freeze window that opens in nine days (on the overview and the Freezes page); never on
/// while the demo is fresh, so the demo's releases are not held.
fn seed_freeze(
    conn: &mut DbConn,
    ws: crate::domain::WorkspaceId,
    carol: crate::domain::UserId,
) -> Result<i64, crate::error::AppError> {
    use crate::db::models::freezes::{self, NewWhen, NewWindow};
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(9);
    let starts = day.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc();
    freezes::create(
        conn,
        carol,
        ws,
        &NewWindow {
            name: "Quarter-end freeze".into(),
            reason: "Finance close: only hotfixes, with an admin's override".into(),
            scope: crate::domain::FreezeScope::Both,
            when: NewWhen::Once {
                starts,
                ends: starts + chrono::Duration::hours(60),
                time_zone: "Europe/Berlin".into(),
            },
            regions: Vec::new(),
        },
    )
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
        // Twelve weeks of delivery for the Insights page; `serve --demo` only, so the tests'
        // demo (`seed`) keeps its exact rows.
        if let Some(demo) = workspaces::find_by_slug(conn, "demo")? {
            seed_history(conn, demo.id).map_err(err)?;
        }
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

/// Twelve weeks of Task Release history in `demo` for the Insights page: on most weekdays one
/// to three packages of one to three script versions, released by bob, about one in eight
/// losing a script to a newer version imported into production first (partially failed), that
/// script released again on a later day (restored). Everything goes through the data layer's
/// own transitions in order (the worker's steps run here, one after another), then the rows'
/// times are moved back to the day they stand for: submitted, applied, finished, live (the
/// audit log is append-only: it keeps the moment the demo was seeded).
fn seed_history(conn: &mut DbConn, ws: WorkspaceId) -> Result<usize, crate::error::AppError> {
    use crate::db::models::bundle;
    use crate::db::models::releases::{self, ReleaseRequest};
    use crate::db::models::scripts::{self, ScriptDraft};
    use crate::domain::{ScriptPath, ScriptType};
    use chrono::{Datelike, Duration, NaiveTime, Weekday};

    const DAYS: i64 = 84;
    const JOBS: [&str; 8] = [
        "history/orders_rollup.sql",
        "history/refunds_daily.sql",
        "history/churn_features.sql",
        "history/stock_levels.sql",
        "history/ad_spend.sql",
        "history/ticket_sla.sql",
        "history/fx_rates.sql",
        "history/signup_funnel.sql",
    ];
    let who = |conn: &mut DbConn, name: &str| -> Result<UserId, crate::error::AppError> {
        Ok(users::find_by_username(conn, name)?
            .ok_or(crate::error::AppError::NotFound)?
            .id)
    };
    let (alice, bob, carol) = (who(conn, "alice")?, who(conn, "bob")?, who(conn, "carol")?);
    let draft = |content: String| ScriptDraft {
        script_type: ScriptType::Sql,
        schedule: "0 4 * * *".into(),
        description: Default::default(),
        content,
    };
    let mut script_ids = Vec::new();
    for path in JOBS {
        let path = ScriptPath::parse(path).map_err(|e| crate::error::AppError::bad_request(e.0))?;
        let s = scripts::create(
            conn,
            alice,
            ws,
            &path,
            &draft(format!("-- {}\n", path.as_str())),
        )?;
        script_ids.push(s.id);
    }
    // splitmix-style: the same history on every seed.
    let mut state: u64 = 0x5eed_1234;
    let mut next = |n: u64| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    };
    let today = crate::db::now().date();
    let mut broken: Vec<usize> = Vec::new();
    let mut made = 0usize;
    let mut revision = 0usize;
    for back in (1..=DAYS).rev() {
        let day = today - Duration::days(back);
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        let packages = next(4);
        for k in 0..packages {
            // A script that failed earlier goes out first: its failure is restored.
            let mut chosen: Vec<usize> = std::mem::take(&mut broken);
            for _ in 0..=next(3) {
                let j = next(JOBS.len() as u64) as usize;
                if !chosen.contains(&j) {
                    chosen.push(j);
                }
            }
            let finished = day.and_time(NaiveTime::MIN)
                + Duration::hours(9 + 3 * k as i64)
                + Duration::minutes(next(90) as i64);
            let mut tasks = Vec::new();
            for &j in &chosen {
                revision += 1;
                let content = format!(
                    "-- {}\n-- revision {revision}\nSELECT {revision};\n",
                    JOBS[j]
                );
                scripts::save_draft(conn, alice, ws, script_ids[j], &draft(content))?;
                let submitted = scripts::submit_version(conn, alice, ws, script_ids[j], "History")?;
                if let Some(task) = submitted.task_id {
                    // Lead time: 20 minutes to three days.
                    let lead = Duration::minutes(20 + next(72 * 60) as i64);
                    tasks.push((task, j, finished - lead));
                }
            }
            if tasks.is_empty() {
                continue;
            }
            let fails = next(8) == 0;
            let package = crate::db::write_tx(conn, |conn| {
                let released = releases::release(
                    conn,
                    bob,
                    ws,
                    &ReleaseRequest {
                        task_ids: tasks.iter().map(|t| t.0).collect(),
                        name: text(&format!("history-{}-{}", day.format("%m%d"), k + 1)),
                        comment: text("Routine release"),
                        reviewers: vec![],
                    },
                )?;
                if fails {
                    // A hotfix imported straight into production wins the race (as in
                    // `seed_task_release`): that task of the package fails.
                    let j = tasks[0].1;
                    revision += 1;
                    let hotfix = serde_json::json!({
                        "format": "releasedesk.scripts/v1",
                        "scripts": [{
                            "path": JOBS[j], "type": "sql", "schedule": "0 4 * * *",
                            "content": format!("-- hotfix {revision}\nSELECT {revision};\n"),
                            "state": "released", "message": "Hotfix"
                        }]
                    });
                    bundle::import(conn, carol, ws, &hotfix.to_string(), &[])?;
                    broken.push(j);
                }
                Ok(released.package_id)
            })?;
            while matches!(
                releases::release_next_task(conn, package)?,
                releases::Next::Applied
            ) {}
            releases::finish_package(conn, package)?;
            // Back to the day it stands for.
            let submissions: Vec<(TaskId, chrono::NaiveDateTime)> =
                tasks.iter().map(|(task, _, at)| (*task, *at)).collect();
            crate::db::models::insights::move_package_back(conn, package, finished, &submissions)?;
            made += 1;
        }
    }
    // The packages were counted into the lead-time rollup on the day they ran, today.
    crate::db::models::insights::recount_lead_times(conn, ws)?;
    Ok(made)
}

const DAILY_ORDERS_V1: &str = "-- Daily order totals per region\nINSERT INTO mart.daily_orders (day, region, orders, revenue)\nSELECT order_date, region, count(*), sum(amount)\nFROM raw.orders\nWHERE order_date = current_date - 1\nGROUP BY order_date, region;\n";

/// Scripts, versions, tasks and packages in every state a reviewer meets on the Task Release
/// pages, created through the same functions the pages call.
fn seed_task_release(
    conn: &mut DbConn,
    ws: WorkspaceId,
    find: &dyn Fn(&str) -> UserId,
) -> Result<(), crate::error::AppError> {
    use crate::db::models::releases::{self, Decision, ReleaseRequest};
    use crate::db::models::scripts::{self, ScriptDraft};
    use crate::domain::{ScriptPath, ScriptType};

    let (alice, bob, carol) = (find("alice"), find("bob"), find("carol"));
    let script = |conn: &mut DbConn,
                  who: UserId,
                  path: &str,
                  kind: ScriptType,
                  schedule: &str,
                  content: &str,
                  message: &str| {
        let path = ScriptPath::parse(path).map_err(|e| crate::error::AppError::bad_request(e.0))?;
        let draft = ScriptDraft {
            script_type: kind,
            schedule: schedule.into(),
            description: Default::default(),
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
    let ids = |t: Option<TaskId>| t.into_iter().collect::<Vec<_>>();
    let _ = agg;

    // Bob (deployer) releases directly; the worker puts it live.
    releases::release(
        conn,
        bob,
        ws,
        &ReleaseRequest {
            task_ids: ids(orders_v1),
            name: text("daily-orders-first"),
            comment: text("First run of the daily orders job"),
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
            name: text("orders-aggregate"),
            comment: text("Adds the regional aggregate"),
            reviewers: vec![carol],
        },
    )?;
    releases::decide(
        conn,
        carol,
        ws,
        approved.package_id,
        Decision::Approve,
        &text("Looks good"),
    )?;
    let rejected = releases::release(
        conn,
        alice,
        ws,
        &ReleaseRequest {
            task_ids: ids(weekly_v1),
            name: text("weekly-report"),
            comment: Default::default(),
            reviewers: vec![bob],
        },
    )?;
    releases::decide(
        conn,
        bob,
        ws,
        rejected.package_id,
        Decision::Reject,
        &text("week is not a column of mart.daily_orders; use date_trunc"),
    )?;
    releases::release(
        conn,
        alice,
        ws,
        &ReleaseRequest {
            task_ids: ids(customer_v1),
            name: text("customer-dimension"),
            comment: text("Please review before Friday"),
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
    let hotfix = r#"{"format":"releasedesk.scripts/v1","scripts":[{"path":"batch/nightly_b.sql","type":"sql","schedule":"0 1 * * *","content":"CALL refresh_b(full => true);\n","state":"released","message":"Hotfix applied during the incident"}]}"#;
    // One transaction, so that a release worker already running (the tests seed a running
    // app) cannot sync the package before the hotfix lands.
    crate::db::write_tx(conn, |conn| {
        releases::release(
            conn,
            bob,
            ws,
            &ReleaseRequest {
                task_ids: both,
                name: text("nightly-batch"),
                comment: Default::default(),
                reviewers: vec![],
            },
        )?;
        crate::db::models::bundle::import(conn, carol, ws, hotfix, &[])
    })?;
    crate::worker::drain(conn)?;

    // New versions: daily orders v2 waits to be released; the snapshot's v1 is superseded by v2.
    let edit = |conn: &mut DbConn,
                who: UserId,
                id: i64,
                kind: ScriptType,
                schedule: &str,
                content: String,
                message: &str| {
        let draft = ScriptDraft {
            script_type: kind,
            schedule: schedule.into(),
            description: Default::default(),
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

/// Three regions, four components, and region release tasks in each of the nine statuses of
/// seed 002 — one waiting at a Manual Approval for carol — made through the same functions the
/// pages call, with the worker run in between.
fn seed_region_release(
    conn: &mut DbConn,
    ws: WorkspaceId,
    find: &dyn Fn(&str) -> UserId,
) -> Result<(), crate::error::AppError> {
    use crate::db::models::region_release::{self as rr, CheckpointDecision, StepInput, TaskInput};
    use crate::db::models::regions::{self, ComponentInput, RegionInput};
    use crate::domain::{Driver, Operation, PrivateDestinations, StepKind};

    let (bob, carol) = (find("bob"), find("carol"));
    let region = |conn: &mut DbConn, name: &str, order: i32| {
        let input = RegionInput {
            name: name.into(),
            display_order: order,
            driver: Driver::Inventory,
            webhook_url: String::new(),
            secret: None,
            timeout_ms: 500,
            max_attempts: 1,
        };
        regions::save_region(conn, carol, ws, None, &input, PrivateDestinations::Refused)
            .map(|r| r.id)
    };
    let eu = region(conn, "eu-west-1", 1)?;
    let us = region(conn, "us-east-1", 2)?;
    let ap = region(conn, "ap-southeast-1", 3)?;
    let component = |conn: &mut DbConn, name: &str, version: &str, instances: i32, env: &str| {
        let input = ComponentInput {
            name: name.into(),
            artifact: format!("registry.example.com/payments/{name}"),
            version: version.into(),
            instances,
            cpu_millis: 500,
            memory_mib: 512,
            env: env.into(),
        };
        regions::save_component(conn, bob, ws, None, &input).map(|c| c.id)
    };
    let api = component(
        conn,
        "payments-api",
        "2.3.0",
        3,
        "LOG_LEVEL=info\nDB_POOL=20",
    )?;
    let ledger = component(conn, "ledger-worker", "1.8.1", 2, "QUEUE=ledger")?;
    let fx = component(conn, "fx-rates", "0.9.4", 1, "")?;
    let notify = component(
        conn,
        "notification-gw",
        "3.1.0",
        2,
        "SMTP_HOST=smtp.internal",
    )?;

    let deploy = |region: i64, components: Vec<i64>| StepInput {
        kind: StepKind::Deploy,
        region_id: Some(region),
        component_ids: components,
        people: vec![],
    };
    let gate = |kind: StepKind, people: Vec<UserId>| StepInput {
        kind,
        region_id: None,
        component_ids: vec![],
        people,
    };
    let task =
        |conn: &mut DbConn, name: &str, op: Operation, best_effort: bool, steps: Vec<StepInput>| {
            let input = TaskInput {
                name: name.into(),
                description: Default::default(),
                operation: op,
                source_region_id: None,
                best_effort,
                steps,
            };
            rr::create(conn, bob, ws, &input).map(|t| t.id)
        };

    // released: the first rollout.
    let first = task(
        conn,
        "Initial rollout of payments",
        Operation::Deploy,
        false,
        vec![deploy(eu, vec![api, ledger]), deploy(us, vec![api, ledger])],
    )?;
    rr::execute(conn, bob, ws, first, None)?;
    crate::worker::drain(conn)?;

    // rolled_back: a ledger upgrade that was undone.
    regions::save_component(
        conn,
        bob,
        ws,
        Some(ledger),
        &ComponentInput {
            name: "ledger-worker".into(),
            artifact: "registry.example.com/payments/ledger-worker".into(),
            version: "1.9.0".into(),
            instances: 2,
            cpu_millis: 500,
            memory_mib: 512,
            env: "QUEUE=ledger".into(),
        },
    )?;
    let undone = task(
        conn,
        "Upgrade ledger-worker to 1.9.0",
        Operation::Upgrade,
        false,
        vec![deploy(eu, vec![ledger])],
    )?;
    rr::execute(conn, bob, ws, undone, None)?;
    crate::worker::drain(conn)?;
    rr::rollback(
        conn,
        bob,
        ws,
        undone,
        &text("Duplicate postings seen in eu-west-1"),
    )?;
    crate::worker::drain(conn)?;

    // releasing, waiting for carol's Manual Approval between the two regions.
    regions::save_component(
        conn,
        bob,
        ws,
        Some(api),
        &ComponentInput {
            name: "payments-api".into(),
            artifact: "registry.example.com/payments/payments-api".into(),
            version: "2.4.0".into(),
            instances: 3,
            cpu_millis: 500,
            memory_mib: 512,
            env: "LOG_LEVEL=info\nDB_POOL=20".into(),
        },
    )?;
    let waiting = task(
        conn,
        "Upgrade payments-api to 2.4.0",
        Operation::Upgrade,
        false,
        vec![
            deploy(eu, vec![api]),
            gate(StepKind::Approval, vec![carol]),
            deploy(us, vec![api]),
        ],
    )?;
    rr::execute(conn, bob, ws, waiting, None)?;
    crate::worker::drain(conn)?;

    // release_failed: carol rejected the Manual Trigger.
    let rejected = task(
        conn,
        "Deploy fx-rates to eu-west-1",
        Operation::Deploy,
        false,
        vec![gate(StepKind::Trigger, vec![carol]), deploy(eu, vec![fx])],
    )?;
    rr::execute(conn, bob, ws, rejected, None)?;
    crate::worker::drain(conn)?;
    let step = rr::steps(conn, rejected)?
        .first()
        .map(|s| s.id)
        .unwrap_or(StepId(0));
    rr::decide_checkpoint(
        conn,
        carol,
        ws,
        rejected,
        step,
        CheckpointDecision::Reject,
        &text("Freeze: quarter-end close runs this week"),
    )?;

    // suspended at a checkpoint.
    let paused = task(
        conn,
        "Deploy notification-gw",
        Operation::Deploy,
        true,
        vec![
            deploy(eu, vec![notify]),
            gate(StepKind::Approval, vec![carol]),
            deploy(us, vec![notify]),
            deploy(ap, vec![notify]),
        ],
    )?;
    rr::execute(conn, bob, ws, paused, None)?;
    crate::worker::drain(conn)?;
    rr::suspend(conn, bob, ws, paused)?;

    // rollback_failed: ap-southeast-1 moved to a webhook whose endpoint is down. 192.0.2.1 is a
    // documentation address (RFC 5737, never routed), so the call fails like an unreachable
    // endpoint, and the demo needs no `--allow-private-webhooks`.
    let ap_rollout = task(
        conn,
        "Deploy payments to ap-southeast-1",
        Operation::Deploy,
        false,
        vec![deploy(ap, vec![api, ledger])],
    )?;
    rr::execute(conn, bob, ws, ap_rollout, None)?;
    crate::worker::drain(conn)?;
    let down = RegionInput {
        name: "ap-southeast-1".into(),
        display_order: 3,
        driver: Driver::Webhook,
        webhook_url: "http://192.0.2.1:9/releasedesk".into(),
        secret: Some("demo-signing-secret-0001".into()),
        timeout_ms: 500,
        max_attempts: 1,
    };
    regions::save_region(
        conn,
        carol,
        ws,
        Some(ap),
        &down,
        PrivateDestinations::Refused,
    )?;
    rr::rollback(
        conn,
        bob,
        ws,
        ap_rollout,
        &text("Latency regression in ap-southeast-1"),
    )?;
    crate::worker::drain(conn)?;

    // to_release: defined, not executed.
    task(
        conn,
        "Deploy fx-rates to us-east-1 (next week)",
        Operation::Deploy,
        false,
        vec![deploy(us, vec![fx])],
    )?;

    // rolling_back and suspending: their work is queued for the worker (the demo delays those
    // jobs by an hour so the states can be seen).
    let back = task(
        conn,
        "Upgrade ledger in us-east-1",
        Operation::Upgrade,
        false,
        vec![deploy(us, vec![ledger])],
    )?;
    rr::execute(conn, bob, ws, back, None)?;
    crate::worker::drain(conn)?;
    let going = task(
        conn,
        "Deploy fx-rates to eu-west-1 (retry)",
        Operation::Deploy,
        false,
        vec![deploy(eu, vec![fx]), gate(StepKind::Approval, vec![carol])],
    )?;
    // One transaction, so that a region worker already running (the tests seed a running app)
    // cannot take the queued jobs before they are delayed.
    crate::db::write_tx(conn, |conn| {
        let rollback_exec =
            rr::rollback(conn, bob, ws, back, &text("Queue lag after the upgrade"))?;
        let going_exec = rr::execute(conn, bob, ws, going, None)?;
        rr::suspend(conn, bob, ws, going)?;
        delay_jobs(conn, &[rollback_exec, going_exec])
    })
}

/// Pushes the region jobs of these executions an hour into the future (demo only).
fn delay_jobs(conn: &mut DbConn, executions: &[i64]) -> Result<(), crate::error::AppError> {
    let payloads: Vec<String> = executions.iter().map(i64::to_string).collect();
    let later = crate::db::now() + chrono::Duration::hours(1);
    crate::db::models::jobs::delay(
        conn,
        crate::db::models::region_release::QUEUE,
        &payloads,
        later,
    )?;
    Ok(())
}

/// A demo comment, reason or name: the seed's own text, always within its limit.
fn text<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| panic!("demo text {s:?} is within its limit"))
}
