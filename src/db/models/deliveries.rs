//! The Deliveries page's reads and its one write (issue 23): a workspace's notification outbox
//! (`notifications`), newest first, a page at a time by id, with who or which hook each went to
//! and the item it is about; and the hand retry of a failed or skipped delivery, guarded so two
//! clicks reset it once, and audited. Workspace admins and tenant administrators only: the
//! reads are for the handler to authorise, the retry checks inside its transaction.
//!
//! Nothing here reads a hook's secret or URL, or a receiver's answer: `last_error` holds only
//! a status or a short reason (`worker::hooks`, `worker::notify`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::notifications::{Channel, DeliveryStatus, NotificationKind};
use super::workspaces;
use crate::db::schema::{
    notification_hooks, notifications, region_task_steps, region_tasks, release_packages, users,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{PackageId, Permission, RegionTaskId, StepId, UserId, WorkspaceId};
use crate::error::AppError;

/// Rows on a page of the Deliveries list.
pub const PER_PAGE: i64 = 50;

/// What a delivery is about, with what its link needs.
#[derive(Clone, Debug)]
pub enum About {
    Package {
        id: PackageId,
        name: String,
    },
    Checkpoint {
        task: RegionTaskId,
        task_name: String,
        position: i32,
    },
    RegionTask {
        id: RegionTaskId,
        name: String,
    },
    Gone,
}

/// Who a delivery went to.
#[derive(Clone, Debug)]
pub enum Recipient {
    Person(String),
    Hook(String),
    Gone,
}

/// One row of the Deliveries page.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub kind: NotificationKind,
    pub about: About,
    pub recipient: Recipient,
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: String,
    pub sent_at: Option<NaiveDateTime>,
}

impl Delivery {
    /// Whether an admin may send it again by hand.
    pub fn retryable(&self) -> bool {
        matches!(
            self.status,
            DeliveryStatus::Failed | DeliveryStatus::Skipped
        )
    }
}

/// A page of deliveries and the id the next (older) page starts before, if there is one.
pub struct DeliveryPage {
    pub rows: Vec<Delivery>,
    pub next_before: Option<i64>,
}

type Raw = (
    i64,
    NaiveDateTime,
    NotificationKind,
    Option<PackageId>,
    Option<RegionTaskId>,
    Option<StepId>,
    Option<UserId>,
    Option<i64>,
    Channel,
    DeliveryStatus,
    i32,
    String,
    Option<NaiveDateTime>,
);

/// A workspace's deliveries with `id < before` (all when `None`), newest first, `PER_PAGE`
/// at a time, optionally of one status. Names are read in one statement per kind of name.
pub fn page(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    status: Option<DeliveryStatus>,
    before: Option<i64>,
) -> QueryResult<DeliveryPage> {
    let mut query = notifications::table
        .filter(notifications::workspace_id.eq(workspace_id))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(notifications::status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    let mut raw: Vec<Raw> = query
        .order(notifications::id.desc())
        .limit(PER_PAGE + 1)
        .select((
            notifications::id,
            notifications::created_at,
            notifications::kind,
            notifications::package_id,
            notifications::region_task_id,
            notifications::step_id,
            notifications::user_id,
            notifications::hook_id,
            notifications::channel,
            notifications::status,
            notifications::attempts,
            notifications::last_error,
            notifications::sent_at,
        ))
        .load(conn)?;
    let more = raw.len() as i64 > PER_PAGE;
    raw.truncate(PER_PAGE as usize);

    let user_ids: Vec<UserId> = raw.iter().filter_map(|r| r.6).collect();
    let people: HashMap<UserId, String> = users::table
        .filter(users::id.eq_any(&user_ids))
        .select((users::id, users::username))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect();
    let hook_ids: Vec<i64> = raw.iter().filter_map(|r| r.7).collect();
    let hooks: HashMap<i64, String> = notification_hooks::table
        .filter(notification_hooks::id.eq_any(&hook_ids))
        .select((notification_hooks::id, notification_hooks::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let package_ids: Vec<PackageId> = raw.iter().filter_map(|r| r.3).collect();
    let packages: HashMap<PackageId, String> = release_packages::table
        .filter(release_packages::id.eq_any(&package_ids))
        .select((release_packages::id, release_packages::name))
        .load::<(PackageId, String)>(conn)?
        .into_iter()
        .collect();
    let task_ids: Vec<RegionTaskId> = raw.iter().filter_map(|r| r.4).collect();
    let tasks: HashMap<RegionTaskId, String> = region_tasks::table
        .filter(region_tasks::id.eq_any(&task_ids))
        .select((region_tasks::id, region_tasks::name))
        .load::<(RegionTaskId, String)>(conn)?
        .into_iter()
        .collect();
    let step_ids: Vec<StepId> = raw.iter().filter_map(|r| r.5).collect();
    let steps: HashMap<StepId, i32> = region_task_steps::table
        .filter(region_task_steps::id.eq_any(&step_ids))
        .select((region_task_steps::id, region_task_steps::position))
        .load::<(StepId, i32)>(conn)?
        .into_iter()
        .collect();

    let next_before = more.then(|| raw.last().map(|r| r.0)).flatten();
    let rows = raw
        .into_iter()
        .map(
            |(
                id,
                created_at,
                kind,
                package,
                task,
                step,
                user,
                hook,
                channel,
                status,
                attempts,
                last_error,
                sent_at,
            )| {
                let about = match (package, task, step) {
                    (Some(p), ..) => packages.get(&p).map_or(About::Gone, |name| About::Package {
                        id: p,
                        name: name.clone(),
                    }),
                    (None, Some(t), Some(s)) => match (tasks.get(&t), steps.get(&s)) {
                        (Some(name), Some(position)) => About::Checkpoint {
                            task: t,
                            task_name: name.clone(),
                            position: *position,
                        },
                        _ => About::Gone,
                    },
                    (None, Some(t), None) => {
                        tasks.get(&t).map_or(About::Gone, |name| About::RegionTask {
                            id: t,
                            name: name.clone(),
                        })
                    }
                    _ => About::Gone,
                };
                let recipient = match (user, hook) {
                    (Some(u), _) => people
                        .get(&u)
                        .map_or(Recipient::Gone, |n| Recipient::Person(n.clone())),
                    (None, Some(h)) => hooks
                        .get(&h)
                        .map_or(Recipient::Gone, |n| Recipient::Hook(n.clone())),
                    _ => Recipient::Gone,
                };
                Delivery {
                    id,
                    created_at,
                    kind,
                    about,
                    recipient,
                    channel,
                    status,
                    attempts,
                    last_error,
                    sent_at,
                }
            },
        )
        .collect();
    Ok(DeliveryPage { rows, next_before })
}

/// Sends a failed or skipped delivery again: back to `pending`, no attempts, due now. One
/// guarded statement, so of two clicks one resets it and the other is told it is no longer
/// failed (`Conflict`). A delivery of another workspace is not found. Audited.
pub fn retry(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
) -> Result<NotificationKind, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let row: Option<(NotificationKind, DeliveryStatus, Channel, String)> = notifications::table
            .filter(notifications::workspace_id.eq(workspace_id))
            .filter(notifications::id.eq(id))
            .select((
                notifications::kind,
                notifications::status,
                notifications::channel,
                notifications::delivery_id,
            ))
            .first(conn)
            .optional()?;
        let (kind, _, channel, delivery_id) = row.ok_or(AppError::NotFound)?;
        let n = diesel::update(
            notifications::table
                .filter(notifications::workspace_id.eq(workspace_id))
                .filter(notifications::id.eq(id))
                .filter(
                    notifications::status.eq_any([DeliveryStatus::Failed, DeliveryStatus::Skipped]),
                ),
        )
        .set((
            notifications::status.eq(DeliveryStatus::Pending),
            notifications::attempts.eq(0),
            notifications::next_attempt_at.eq(now()),
            notifications::lease_until.eq(None::<NaiveDateTime>),
            notifications::leased_by.eq(None::<String>),
            notifications::last_error.eq(""),
        ))
        .execute(conn)?;
        if n == 0 {
            let status: DeliveryStatus = notifications::table
                .find(id)
                .select(notifications::status)
                .first(conn)?;
            return Err(AppError::conflict(format!(
                "This delivery is {} now; only a failed or skipped delivery can be sent again.",
                status.label().to_lowercase()
            )));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "notification.retried",
                target_type: "notification",
                target_id: Some(id),
                target_label: &delivery_id,
                comment: &format!("{} by {}", kind.as_str(), channel.as_str()),
            },
        )?;
        Ok(kind)
    })
}
