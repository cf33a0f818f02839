//! The notification outbox (issue 23): `raise` writes one row per person to tell, inside the
//! transaction that makes the change it tells of, so a change and its notifications commit or
//! roll back together. The sender (`worker::notify`) claims due rows with a lease, the same
//! discipline as `jobs`: `claim` (one guarded statement; `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), `mark_sent` after the SMTP server accepted the message (guarded by the lease
//! holder), `retry_later` with backoff until `failed`, `skip` when the item was decided before
//! the message went out. A row's `delivery_id` is fixed when it is raised and goes in the
//! message's `Message-ID`, so a repeat after a crash between "accepted" and "recorded" is
//! detectable by the receiver.
//!
//! Rows are written whether or not this instance sends email: the outbox is the record of who
//! should have been told, and the sender of any instance with SMTP configured delivers them.
//! A row that waited longer than [`MAX_AGE_HOURS`] (SMTP configured later) is skipped, not sent.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::schema::{
    notifications, region_task_steps, region_tasks, release_packages, step_comments, step_people,
    users, workspaces,
};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    PackageId, PackageStatus, RegionTaskId, RegionTaskStatus, StepId, StepKind, StepStatus, UserId,
    WorkspaceId,
};
use crate::error::AppError;

crate::domain::text_enum!(
    /// What happened, and so what the message says.
    NotificationKind {
        ReviewRequested = "review_requested": "Review requested",
        PackageApproved = "package_approved": "Package approved",
        PackageRejected = "package_rejected": "Package rejected",
        PackageReleased = "package_released": "Package released",
        PackagePartiallyFailed = "package_partially_failed": "Package partially failed",
        PackageFailed = "package_failed": "Package failed",
        CheckpointWaiting = "checkpoint_waiting": "Checkpoint waiting",
        CheckpointDecided = "checkpoint_decided": "Checkpoint decided",
        RegionTaskReleased = "region_task_released": "Region task released",
        RegionTaskFailed = "region_task_failed": "Region task failed",
        RegionTaskRolledBack = "region_task_rolled_back": "Region task rolled back",
        RegionTaskRollbackFailed = "region_task_rollback_failed": "Region task rollback failed",
        /// A package waited for review past the workspace's approval expiry; told to its
        /// applicant (`releases::expire_due_package`).
        PackageExpired = "package_expired": "Package expired",
        /// An admin released a package or region task through a freeze window, with a reason.
        FreezeOverridden = "freeze_overridden": "Freeze overridden",
        /// A person's daily digest of what waits for them (`preferences::raise_due_digests`);
        /// never raised by `raise`, and chosen by its own setting, not per kind.
        Digest = "digest": "Daily digest",
    }
);

/// Whether a person gets email for `kind` until they choose otherwise on the Account page
/// (`preferences`): on for what waits for them to act and for what went wrong with their work,
/// off for news that asks nothing of them. The one place the defaults are written down;
/// `docs/ARCHITECTURE.md` (Notifications) and the Account page say the same.
pub fn email_by_default(kind: NotificationKind) -> bool {
    use NotificationKind::*;
    match kind {
        ReviewRequested
        | CheckpointWaiting
        | PackageRejected
        | PackageFailed
        | PackagePartiallyFailed
        | RegionTaskFailed
        | RegionTaskRollbackFailed
        | PackageExpired
        | FreezeOverridden => true,
        PackageApproved | PackageReleased | CheckpointDecided | RegionTaskReleased
        | RegionTaskRolledBack | Digest => false,
    }
}

crate::domain::text_enum!(
    /// A delivery's state: `pending` until sent (or given up), `sent` once the server accepted
    /// it, `failed` after the last attempt, `skipped` when it no longer had anything to say.
    DeliveryStatus {
        Pending = "pending": "Pending",
        Sent = "sent": "Sent",
        Failed = "failed": "Failed",
        Skipped = "skipped": "Skipped",
    }
);

crate::domain::text_enum!(
    /// How a notification reaches its person.
    Channel {
        Email = "email": "Email",
        /// A workspace's chat channel (a Slack-compatible incoming webhook).
        Chat = "chat": "Chat",
        /// A workspace's generic receiver of signed JSON.
        Webhook = "webhook": "Webhook",
    }
);

/// Attempts before a delivery is `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long a claimed delivery is reserved for its sender, unless the operator's job lease
/// says otherwise (`worker::notify::Mail::with_lease`).
pub const LEASE_SECONDS: i64 = 60;
/// A delivery that waited longer than this is skipped: news that old misleads more than helps.
pub const MAX_AGE_HOURS: i64 = 24;

/// The item a notification is about, which its message links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Package(PackageId),
    Checkpoint { task: RegionTaskId, step: StepId },
    RegionTask(RegionTaskId),
}

/// One event to tell some people about.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub kind: NotificationKind,
    pub workspace_id: WorkspaceId,
    pub subject: Subject,
    /// Who acted (`None` for the worker); they are never told of their own action.
    pub actor: Option<UserId>,
}

/// Writes one pending email row per recipient: each person once, never the actor, and only
/// people who are active, have an email address and want email for this kind (their choice on
/// the Account page, else `email_by_default`). Call inside the transaction that makes the
/// change. Returns how many rows it wrote.
pub fn raise(conn: &mut DbConn, event: Event, recipients: &[UserId]) -> QueryResult<usize> {
    // Hooks first, apart from the people below: `raise_to_hooks` (not counted in the result).
    raise_to_hooks(conn, &event)?;
    let mut ids: Vec<UserId> = recipients
        .iter()
        .copied()
        .filter(|id| Some(*id) != event.actor)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(0);
    }
    let reachable: Vec<UserId> = users::table
        .filter(users::id.eq_any(&ids))
        .filter(users::is_active.eq(true))
        .filter(users::email.ne(""))
        .select(users::id)
        .order(users::id)
        .load(conn)?;
    let reachable = super::preferences::who_wants_email(conn, &reachable, event.kind)?;
    let ts = now();
    for user in &reachable {
        insert(conn, &event, To::Person(*user), ts)?;
    }
    Ok(reachable.len())
}

/// The people named on a checkpoint step.
pub fn step_people(conn: &mut DbConn, step: StepId) -> QueryResult<Vec<UserId>> {
    step_people::table
        .filter(step_people::step_id.eq(step))
        .select(step_people::user_id)
        .load(conn)
}

/// A claimed delivery.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims the oldest due pending email for `sender` for `lease_seconds` (`claim_on` the
/// email channel).
pub fn claim(conn: &mut DbConn, sender: &str, lease_seconds: i64) -> QueryResult<Option<Claimed>> {
    claim_on(conn, &[Channel::Email], sender, lease_seconds)
}

/// Claims the oldest due pending delivery on one of `channels` for `sender` for
/// `lease_seconds`: one not leased, or whose lease expired (its sender died mid-send). One
/// statement, so two senders never hold the same row; on PostgreSQL the row is picked with
/// `FOR UPDATE SKIP LOCKED`. The email sender claims `email`, the hook sender `chat` and
/// `webhook` (`worker::hooks`).
pub fn claim_on(
    conn: &mut DbConn,
    channels: &[Channel],
    sender: &str,
    lease_seconds: i64,
) -> QueryResult<Option<Claimed>> {
    let ts = now();
    let until = ts + Duration::seconds(lease_seconds);
    let lock = match conn {
        DbConn::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConn::Sqlite(_) => "",
    };
    // The channels' own words (`Channel::as_str`), never input: safe to write into the SQL.
    let channels = channels
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // A read first, so an idle poll (several times a second, per sender) takes no write lock:
    // SQLite has one writer, which the requests need more.
    let due: Vec<Claimed> = diesel::sql_query(format!(
        "SELECT id, attempts FROM notifications WHERE status = 'pending' \
         AND channel IN ({channels}) AND next_attempt_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) LIMIT 1"
    ))
    .bind::<Timestamp, _>(ts)
    .load(conn)?;
    if due.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "UPDATE notifications SET attempts = attempts + 1, leased_by = $1, lease_until = $2 \
         WHERE id = (SELECT id FROM notifications WHERE status = 'pending' \
                     AND channel IN ({channels}) \
                     AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
                     ORDER BY next_attempt_at, id LIMIT 1{lock}) \
         RETURNING id, attempts"
    );
    let mut rows: Vec<Claimed> = diesel::sql_query(sql)
        .bind::<Text, _>(sender)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(ts)
        .load(conn)?;
    Ok(rows.pop())
}

// ── Workspace hooks (`db::models::hooks`, sent by `worker::hooks`) ─────────────────────────
// Kept apart from the people's rows in `raise`: a hook gets every event of its workspace that
// it subscribed to, whoever acted, whatever a person chose for their own email.

/// Writes one pending row per active hook of the event's workspace that wants its kind
/// (channel `chat` or `webhook`, `hook_id` set, no person), in the caller's transaction.
/// Returns how many.
fn raise_to_hooks(conn: &mut DbConn, event: &Event) -> QueryResult<usize> {
    use super::hooks::{self, HookFormat};
    let subscribed = hooks::subscribed(conn, event.workspace_id, event.kind)?;
    if subscribed.is_empty() {
        return Ok(0);
    }
    let ts = now();
    for (hook, format) in &subscribed {
        let channel = match format {
            HookFormat::Chat => Channel::Chat,
            HookFormat::Generic => Channel::Webhook,
        };
        insert(conn, event, To::Hook(*hook, channel), ts)?;
    }
    Ok(subscribed.len())
}

/// Where one outbox row goes: a person's email, or a workspace hook over its channel.
enum To {
    Person(UserId),
    Hook(i64, Channel),
}

/// Writes one pending row of `event` for `to`, with a fresh delivery id that names the event,
/// the item and the recipient (`review_requested.p7.u3.<random>`).
fn insert(conn: &mut DbConn, event: &Event, to: To, ts: NaiveDateTime) -> QueryResult<()> {
    let (package_id, region_task_id, step_id, about) = match event.subject {
        Subject::Package(p) => (Some(p), None, None, format!("p{p}")),
        Subject::Checkpoint { task, step } => {
            (None, Some(task), Some(step), format!("t{task}-s{step}"))
        }
        Subject::RegionTask(task) => (None, Some(task), None, format!("t{task}")),
    };
    let (user_id, hook_id, channel, who) = match to {
        To::Person(user) => (Some(user), None, Channel::Email, format!("u{user}")),
        To::Hook(hook, channel) => (None, Some(hook), channel, format!("h{hook}")),
    };
    let delivery_id = format!(
        "{}.{about}.{who}.{:016x}",
        event.kind.as_str(),
        rand::random::<u64>()
    );
    diesel::insert_into(notifications::table)
        .values((
            notifications::delivery_id.eq(delivery_id),
            notifications::kind.eq(event.kind),
            notifications::workspace_id.eq(event.workspace_id),
            notifications::package_id.eq(package_id),
            notifications::region_task_id.eq(region_task_id),
            notifications::step_id.eq(step_id),
            notifications::actor_id.eq(event.actor),
            notifications::user_id.eq(user_id),
            notifications::hook_id.eq(hook_id),
            notifications::channel.eq(channel),
            notifications::status.eq(DeliveryStatus::Pending),
            notifications::attempts.eq(0),
            notifications::next_attempt_at.eq(ts),
            notifications::last_error.eq(""),
            notifications::created_at.eq(ts),
        ))
        .execute(conn)?;
    Ok(())
}

/// The hook a delivery goes to (`None` for a person's email).
pub fn hook_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    notifications::table
        .find(id)
        .select(notifications::hook_id)
        .first(conn)
}

/// Everything a message needs, read when it is sent (so it tells the item's state now).
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub id: i64,
    pub delivery_id: String,
    pub kind: NotificationKind,
    pub created_at: NaiveDateTime,
    pub workspace_slug: String,
    pub workspace_name: String,
    /// Who acted, by username (`None`: the release worker, or a deleted user).
    pub actor: Option<String>,
    pub recipient_username: String,
    pub recipient_display_name: String,
    pub email: String,
    pub item: Item,
}

impl Outgoing {
    /// Why the message should not go out any more, if it should not: it waited too long for a
    /// sender, its item was deleted, or what it asks for was done before it went out (a review
    /// request for a decided package, a checkpoint no longer waiting).
    pub fn stale(&self) -> Option<String> {
        if now() - self.created_at > Duration::hours(MAX_AGE_HOURS) {
            return Some(format!(
                "not sent: older than {MAX_AGE_HOURS} hours when a sender took it"
            ));
        }
        match (&self.item, self.kind) {
            (Item::Gone, _) => Some("not sent: the item was deleted".into()),
            (
                Item::Package {
                    status, decided_by, ..
                },
                NotificationKind::ReviewRequested,
            ) if *status != PackageStatus::PendingApproval => Some(format!(
                "not sent: the package was already {}{} when the message went out",
                status.label().to_lowercase(),
                decided_by
                    .as_deref()
                    .map(|d| format!(" by {d}"))
                    .unwrap_or_default()
            )),
            (Item::Checkpoint { status, .. }, NotificationKind::CheckpointWaiting)
                if *status != StepStatus::Waiting =>
            {
                Some(format!(
                    "not sent: the checkpoint was already {} when the message went out",
                    status.label().to_lowercase()
                ))
            }
            _ => None,
        }
    }
}

/// The item as it is now.
#[derive(Clone, Debug)]
pub enum Item {
    Package {
        id: PackageId,
        name: String,
        status: PackageStatus,
        applicant: String,
        decided_by: Option<String>,
        done: i32,
        failed: i32,
        tasks: i32,
    },
    Checkpoint {
        task: RegionTaskId,
        task_name: String,
        step: StepId,
        position: i32,
        kind: StepKind,
        status: StepStatus,
        /// Who decided it and how, once decided.
        decision: Option<(String, StepStatus)>,
    },
    RegionTask {
        id: RegionTaskId,
        name: String,
        status: RegionTaskStatus,
        /// The last failed or rejected step's message, when one is.
        reason: Option<String>,
    },
    /// Deleted since.
    Gone,
}

fn username(conn: &mut DbConn, id: Option<UserId>) -> QueryResult<Option<String>> {
    match id {
        Some(id) => users::table
            .find(id)
            .select(users::username)
            .first(conn)
            .optional(),
        None => Ok(None),
    }
}

/// A package's name, state, applicant, decider and counts (done, failed, all).
type PackageNow = (String, PackageStatus, UserId, Option<UserId>, i32, i32, i32);

/// Reads a claimed delivery with its recipient and the current state of its item.
pub fn outgoing(conn: &mut DbConn, id: i64) -> QueryResult<Outgoing> {
    #[allow(clippy::type_complexity)]
    let (delivery_id, kind, created_at, ws, package, task, step, actor, user): (
        String,
        NotificationKind,
        NaiveDateTime,
        WorkspaceId,
        Option<PackageId>,
        Option<RegionTaskId>,
        Option<StepId>,
        Option<UserId>,
        Option<UserId>,
    ) = notifications::table
        .find(id)
        .select((
            notifications::delivery_id,
            notifications::kind,
            notifications::created_at,
            notifications::workspace_id,
            notifications::package_id,
            notifications::region_task_id,
            notifications::step_id,
            notifications::actor_id,
            notifications::user_id,
        ))
        .first(conn)?;
    let (workspace_slug, workspace_name): (String, String) = workspaces::table
        .find(ws)
        .select((workspaces::slug, workspaces::name))
        .first(conn)?;
    // A hook's delivery has no person: empty recipient fields (`worker::hooks` reads the hook).
    let (recipient_username, recipient_display_name, email): (String, String, String) = match user {
        Some(user) => users::table
            .find(user)
            .select((users::username, users::display_name, users::email))
            .first(conn)?,
        None => Default::default(),
    };
    let actor = username(conn, actor)?;
    let item = match (package, task, step) {
        (Some(p), ..) => {
            let row: Option<PackageNow> = release_packages::table
                .find(p)
                .select((
                    release_packages::name,
                    release_packages::status,
                    release_packages::applicant_id,
                    release_packages::decided_by,
                    release_packages::done_count,
                    release_packages::failed_count,
                    release_packages::task_count,
                ))
                .first(conn)
                .optional()?;
            match row {
                Some((name, status, applicant, decided_by, done, failed, tasks)) => Item::Package {
                    id: p,
                    name,
                    status,
                    applicant: username(conn, Some(applicant))?.unwrap_or_default(),
                    decided_by: username(conn, decided_by)?,
                    done,
                    failed,
                    tasks,
                },
                None => Item::Gone,
            }
        }
        (None, Some(t), Some(s)) => {
            let row: Option<(String, i32, StepKind, StepStatus)> = region_task_steps::table
                .inner_join(region_tasks::table)
                .filter(region_task_steps::id.eq(s))
                .select((
                    region_tasks::name,
                    region_task_steps::position,
                    region_task_steps::kind,
                    region_task_steps::status,
                ))
                .first(conn)
                .optional()?;
            match row {
                Some((task_name, position, kind, status)) => {
                    let decider: Option<UserId> = step_comments::table
                        .filter(step_comments::step_id.eq(s))
                        .filter(step_comments::decision.is_not_null())
                        .order(step_comments::id.desc())
                        .select(step_comments::user_id)
                        .first(conn)
                        .optional()?;
                    let decision = match (status, decider) {
                        (StepStatus::Agreed | StepStatus::Rejected, Some(by)) => {
                            username(conn, Some(by))?.map(|name| (name, status))
                        }
                        _ => None,
                    };
                    Item::Checkpoint {
                        task: t,
                        task_name,
                        step: s,
                        position,
                        kind,
                        status,
                        decision,
                    }
                }
                None => Item::Gone,
            }
        }
        (None, Some(t), None) => {
            let row: Option<(String, RegionTaskStatus)> = region_tasks::table
                .find(t)
                .select((region_tasks::name, region_tasks::status))
                .first(conn)
                .optional()?;
            match row {
                Some((name, status)) => {
                    let reason: Option<String> = region_task_steps::table
                        .filter(region_task_steps::task_id.eq(t))
                        .filter(
                            region_task_steps::status
                                .eq_any([StepStatus::Failed, StepStatus::Rejected]),
                        )
                        .filter(region_task_steps::message.ne(""))
                        .order(region_task_steps::position.desc())
                        .select(region_task_steps::message)
                        .first(conn)
                        .optional()?;
                    Item::RegionTask {
                        id: t,
                        name,
                        status,
                        reason,
                    }
                }
                None => Item::Gone,
            }
        }
        _ => Item::Gone,
    };
    Ok(Outgoing {
        id,
        delivery_id,
        kind,
        created_at,
        workspace_slug,
        workspace_name,
        actor,
        recipient_username,
        recipient_display_name,
        email,
        item,
    })
}

/// The SMTP server accepted the message: `sent`, if `sender` still holds the lease. `false`
/// when it did not (its lease expired and another sender took the row over).
pub fn mark_sent(conn: &mut DbConn, id: i64, sender: &str) -> Result<bool, AppError> {
    write_tx(conn, |conn| {
        let n = diesel::update(
            notifications::table
                .find(id)
                .filter(notifications::status.eq(DeliveryStatus::Pending))
                .filter(notifications::leased_by.eq(sender)),
        )
        .set((
            notifications::status.eq(DeliveryStatus::Sent),
            notifications::sent_at.eq(Some(now())),
            notifications::lease_until.eq(None::<NaiveDateTime>),
            notifications::last_error.eq(""),
        ))
        .execute(conn)?;
        Ok(n == 1)
    })
}

/// The attempt failed: retried after 2^attempts seconds, or `failed` after the last attempt.
/// Returns whether it is failed for good.
pub fn retry_later(
    conn: &mut DbConn,
    id: i64,
    sender: &str,
    attempts: i32,
    error: &str,
) -> QueryResult<bool> {
    let last = attempts >= MAX_ATTEMPTS;
    let backoff = Duration::seconds(2i64.pow(attempts.clamp(0, 10) as u32));
    diesel::update(
        notifications::table
            .find(id)
            .filter(notifications::status.eq(DeliveryStatus::Pending))
            .filter(notifications::leased_by.eq(sender)),
    )
    .set((
        notifications::status.eq(if last {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        }),
        notifications::next_attempt_at.eq(now() + backoff),
        notifications::lease_until.eq(None::<NaiveDateTime>),
        notifications::last_error.eq(error.chars().take(500).collect::<String>()),
    ))
    .execute(conn)?;
    Ok(last)
}

/// Not sent, and never will be, for `why` (the item was decided meanwhile, or it is too old).
pub fn skip(conn: &mut DbConn, id: i64, sender: &str, why: &str) -> QueryResult<()> {
    diesel::update(
        notifications::table
            .find(id)
            .filter(notifications::status.eq(DeliveryStatus::Pending))
            .filter(notifications::leased_by.eq(sender)),
    )
    .set((
        notifications::status.eq(DeliveryStatus::Skipped),
        notifications::lease_until.eq(None::<NaiveDateTime>),
        notifications::last_error.eq(why),
    ))
    .execute(conn)?;
    Ok(())
}

/// One delivery as the tests (and later the Deliveries page) see it.
#[derive(Clone, Debug, Queryable)]
pub struct DeliveryRow {
    pub id: i64,
    pub delivery_id: String,
    pub kind: NotificationKind,
    pub user_id: Option<UserId>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: String,
}

/// A workspace's deliveries, oldest first.
pub fn list(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<DeliveryRow>> {
    notifications::table
        .filter(notifications::workspace_id.eq(workspace_id))
        .order(notifications::id)
        .select((
            notifications::id,
            notifications::delivery_id,
            notifications::kind,
            notifications::user_id,
            notifications::status,
            notifications::attempts,
            notifications::last_error,
        ))
        .load(conn)
}
