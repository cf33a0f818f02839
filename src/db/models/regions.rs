//! Regions (with their deploy driver and webhook settings), components, and each region's
//! inventory: an append-only history whose newest entry per component is what runs there.
//! Webhook secrets are stored to sign payloads and never read back into a page.

use crate::domain::{RegionTaskId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::audit::{self, AuditEntry};
use super::workspaces;
use crate::db::schema::{components, inventory_entries, region_tasks, regions};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    Driver, Permission, PrivateDestinations, UrlProblem, check_url, format_cpu, format_memory,
};
use crate::error::AppError;

/// No `Debug`: it holds the webhook secret, which must never reach a log.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub display_order: i32,
    pub driver: Driver,
    pub webhook_url: String,
    pub webhook_secret: String,
    pub timeout_ms: i32,
    pub max_attempts: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Region {
    pub fn driver(&self) -> Driver {
        self.driver
    }
    pub fn has_secret(&self) -> bool {
        !self.webhook_secret.is_empty()
    }
}

/// The region form's values, validated. `secret: None` keeps the stored secret.
pub struct RegionInput {
    pub name: String,
    pub display_order: i32,
    pub driver: Driver,
    pub webhook_url: String,
    pub secret: Option<String>,
    pub timeout_ms: i32,
    pub max_attempts: i32,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = components)]
pub struct Component {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub artifact: String,
    pub version: String,
    pub instances: i32,
    pub cpu_millis: i32,
    pub memory_mib: i32,
    pub env: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A component's configuration as deployed and recorded in the inventory.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Config {
    pub artifact: String,
    pub version: String,
    pub instances: i32,
    pub cpu: String,
    pub memory: String,
    pub env: std::collections::BTreeMap<String, String>,
}

impl Component {
    pub fn cpu(&self) -> String {
        format_cpu(self.cpu_millis)
    }
    pub fn memory(&self) -> String {
        format_memory(self.memory_mib)
    }
    pub fn config(&self) -> Config {
        Config {
            artifact: self.artifact.clone(),
            version: self.version.clone(),
            instances: self.instances,
            cpu: self.cpu(),
            memory: self.memory(),
            env: crate::domain::parse_env(&self.env).unwrap_or_default(),
        }
    }
    pub fn env_lines(&self) -> Vec<String> {
        self.env
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }
}

/// The columns a region form writes (on insert and on update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = regions)]
struct RegionChanges<'a> {
    name: &'a str,
    display_order: i32,
    driver: Driver,
    webhook_url: &'a str,
    webhook_secret: &'a str,
    timeout_ms: i32,
    max_attempts: i32,
    updated_at: NaiveDateTime,
}

/// The columns a component form writes (on insert and on update alike).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = components)]
struct ComponentChanges<'a> {
    name: &'a str,
    artifact: &'a str,
    version: &'a str,
    instances: i32,
    cpu_millis: i32,
    memory_mib: i32,
    env: &'a str,
    updated_at: NaiveDateTime,
}

/// The component form's values, validated.
pub struct ComponentInput {
    pub name: String,
    pub artifact: String,
    pub version: String,
    pub instances: i32,
    pub cpu_millis: i32,
    pub memory_mib: i32,
    pub env: String,
}

pub fn list_regions(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<Region>> {
    regions::table
        .filter(regions::workspace_id.eq(workspace_id))
        .select(Region::as_select())
        .order((regions::display_order, regions::name))
        .load(conn)
}

pub fn find_region(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: i64,
) -> QueryResult<Option<Region>> {
    regions::table
        .filter(regions::workspace_id.eq(workspace_id))
        .filter(regions::id.eq(id))
        .select(Region::as_select())
        .first(conn)
        .optional()
}

/// Creates (`id: None`) or updates a region (workspace admins: it holds a webhook secret). A
/// webhook URL whose host is an internal address or a `localhost` name is refused unless
/// `private` allows it (`domain::check_url`; the worker checks resolved addresses again).
pub fn save_region(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: Option<i64>,
    input: &RegionInput,
    private: PrivateDestinations,
) -> Result<Region, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        if input.driver == Driver::Webhook {
            match check_url(&input.webhook_url, private) {
                Ok(()) => {}
                Err(UrlProblem::Invalid) => {
                    return Err(AppError::field(
                        "webhook_url",
                        "Enter the endpoint's http:// or https:// URL.",
                    ));
                }
                Err(UrlProblem::Refused(refusal)) => {
                    return Err(AppError::field(
                        "webhook_url",
                        format!("Refused: {refusal}."),
                    ));
                }
            }
        }
        let ts = now();
        let existing = match id {
            Some(id) => Some(find_region(conn, workspace_id, id)?.ok_or(AppError::NotFound)?),
            None => None,
        };
        let secret = input
            .secret
            .clone()
            .or_else(|| existing.as_ref().map(|r| r.webhook_secret.clone()))
            .unwrap_or_default();
        if input.driver == Driver::Webhook && secret.is_empty() {
            return Err(AppError::field(
                "secret",
                "A webhook region needs a signing secret.",
            ));
        }
        let changes = RegionChanges {
            name: &input.name,
            display_order: input.display_order,
            driver: input.driver,
            webhook_url: &input.webhook_url,
            webhook_secret: &secret,
            timeout_ms: input.timeout_ms,
            max_attempts: input.max_attempts,
            updated_at: ts,
        };
        let result = match existing {
            Some(r) => diesel::update(regions::table.find(r.id))
                .set(&changes)
                .execute(conn)
                .map(|_| r.id),
            None => diesel::insert_into(regions::table)
                .values((
                    regions::workspace_id.eq(workspace_id),
                    regions::created_at.eq(ts),
                    &changes,
                ))
                .returning(regions::id)
                .get_result::<i64>(conn),
        };
        let region_id = match result {
            Ok(id) => id,
            Err(e) if super::is_unique_violation(&e) => {
                return Err(AppError::field(
                    "name",
                    format!("A region named “{}” exists.", input.name),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: if id.is_some() {
                    "region.updated"
                } else {
                    "region.created"
                },
                target_type: "region",
                target_id: Some(region_id),
                target_label: &input.name,
                comment: input.driver.as_str(),
            },
        )?;
        find_region(conn, workspace_id, region_id)?.ok_or(AppError::NotFound)
    })
}

pub fn list_components(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
) -> QueryResult<Vec<Component>> {
    components::table
        .filter(components::workspace_id.eq(workspace_id))
        .select(Component::as_select())
        .order(components::name)
        .load(conn)
}

pub fn find_component(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: i64,
) -> QueryResult<Option<Component>> {
    components::table
        .filter(components::workspace_id.eq(workspace_id))
        .filter(components::id.eq(id))
        .select(Component::as_select())
        .first(conn)
        .optional()
}

/// Creates or updates a component (developers and up).
pub fn save_component(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: Option<i64>,
    input: &ComponentInput,
) -> Result<Component, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let ts = now();
        let changes = ComponentChanges {
            name: &input.name,
            artifact: &input.artifact,
            version: &input.version,
            instances: input.instances,
            cpu_millis: input.cpu_millis,
            memory_mib: input.memory_mib,
            env: &input.env,
            updated_at: ts,
        };
        let result = match id {
            Some(id) => {
                let n = diesel::update(
                    components::table
                        .filter(components::workspace_id.eq(workspace_id))
                        .filter(components::id.eq(id)),
                )
                .set(&changes)
                .execute(conn);
                match n {
                    Ok(0) => return Err(AppError::NotFound),
                    other => other.map(|_| id),
                }
            }
            None => diesel::insert_into(components::table)
                .values((
                    components::workspace_id.eq(workspace_id),
                    components::created_at.eq(ts),
                    &changes,
                ))
                .returning(components::id)
                .get_result::<i64>(conn),
        };
        let component_id = match result {
            Ok(id) => id,
            Err(e) if super::is_unique_violation(&e) => {
                return Err(AppError::field(
                    "name",
                    format!("A component named “{}” exists.", input.name),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: if id.is_some() {
                    "component.updated"
                } else {
                    "component.created"
                },
                target_type: "component",
                target_id: Some(component_id),
                target_label: &input.name,
                comment: &format!("{}:{}", input.artifact, input.version),
            },
        )?;
        find_component(conn, workspace_id, component_id)?.ok_or(AppError::NotFound)
    })
}

/// An inventory entry with names, for pages.
#[derive(Debug, Queryable)]
pub struct InventoryRow {
    pub id: i64,
    pub region_id: i64,
    pub component_id: i64,
    pub component: String,
    pub present: bool,
    pub version: String,
    pub config: String,
    pub recorded_at: NaiveDateTime,
    pub task_id: Option<RegionTaskId>,
    pub task_name: Option<String>,
    pub note: String,
}

impl InventoryRow {
    pub fn config(&self) -> Option<Config> {
        serde_json::from_str(&self.config).ok()
    }
}

macro_rules! inventory_query {
    () => {
        inventory_entries::table
            .inner_join(components::table)
            .left_join(
                region_tasks::table.on(region_tasks::id.nullable().eq(inventory_entries::task_id)),
            )
            .select((
                inventory_entries::id,
                inventory_entries::region_id,
                inventory_entries::component_id,
                components::name,
                inventory_entries::present,
                inventory_entries::version,
                inventory_entries::config,
                inventory_entries::recorded_at,
                inventory_entries::task_id,
                region_tasks::name.nullable(),
                inventory_entries::note,
            ))
    };
}

/// What runs in a region now: the newest entry per component, if it is present.
pub fn current_inventory(conn: &mut DbConn, region_id: i64) -> QueryResult<Vec<InventoryRow>> {
    let rows: Vec<InventoryRow> = inventory_query!()
        .filter(inventory_entries::region_id.eq(region_id))
        .order((components::name, inventory_entries::id.desc()))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| seen.insert(r.component_id))
        .filter(|r| r.present)
        .collect())
}

/// How many components run in each region of a workspace (one query for the regions list).
pub fn running_counts(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
) -> QueryResult<std::collections::HashMap<i64, usize>> {
    let entries: Vec<(i64, i64, bool)> = inventory_entries::table
        .inner_join(regions::table)
        .filter(regions::workspace_id.eq(workspace_id))
        .select((
            inventory_entries::region_id,
            inventory_entries::component_id,
            inventory_entries::present,
        ))
        .order(inventory_entries::id.desc())
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    let mut counts = std::collections::HashMap::new();
    for (region, component, present) in entries {
        // The newest entry per (region, component) is the current state.
        if seen.insert((region, component)) && present {
            *counts.entry(region).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// A region's inventory history, newest first.
pub fn inventory_history(
    conn: &mut DbConn,
    region_id: i64,
    limit: i64,
) -> QueryResult<Vec<InventoryRow>> {
    inventory_query!()
        .filter(inventory_entries::region_id.eq(region_id))
        .order(inventory_entries::id.desc())
        .limit(limit)
        .load(conn)
}

/// The newest inventory entry of a component in a region, if any.
pub fn latest_entry(
    conn: &mut DbConn,
    region_id: i64,
    component_id: i64,
) -> QueryResult<Option<(i64, bool, String, String)>> {
    inventory_entries::table
        .filter(inventory_entries::region_id.eq(region_id))
        .filter(inventory_entries::component_id.eq(component_id))
        .order(inventory_entries::id.desc())
        .select((
            inventory_entries::id,
            inventory_entries::present,
            inventory_entries::version,
            inventory_entries::config,
        ))
        .first(conn)
        .optional()
}

/// Appends an inventory entry and returns its id.
#[allow(clippy::too_many_arguments)]
pub fn record_entry(
    conn: &mut DbConn,
    region_id: i64,
    component_id: i64,
    present: bool,
    version: &str,
    config: &str,
    task_id: Option<RegionTaskId>,
    execution_id: Option<i64>,
    note: &str,
) -> QueryResult<i64> {
    diesel::insert_into(inventory_entries::table)
        .values((
            inventory_entries::region_id.eq(region_id),
            inventory_entries::component_id.eq(component_id),
            inventory_entries::present.eq(present),
            inventory_entries::version.eq(version),
            inventory_entries::config.eq(config),
            inventory_entries::recorded_at.eq(now()),
            inventory_entries::task_id.eq(task_id),
            inventory_entries::execution_id.eq(execution_id),
            inventory_entries::note.eq(note),
        ))
        .returning(inventory_entries::id)
        .get_result(conn)
}
