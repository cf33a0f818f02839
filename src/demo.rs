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
