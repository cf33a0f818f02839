//! Delivery of the notification outbox to workspace hooks (`db::models::hooks`): a sender
//! thread, started beside the release worker on every instance that runs one (no SMTP needed),
//! claims due chat and webhook deliveries with the same lease as email
//! (`notifications::claim_on`), re-reads the item, POSTs one request and records the outcome:
//! `sent` on a 2xx answer (only while holding the lease), a retry with backoff on a timeout, a
//! refused connection or a 5xx, `failed` at once when the destination is refused or the receiver
//! answers a 4xx that retrying will not change, `skipped` when the item was decided before the
//! message went out (a review request) or the hook was turned off. It writes no table itself.
//!
//! Two formats. `chat`: a Slack-compatible incoming webhook, `{"text": …}` in mrkdwn with a
//! link to the item. `generic`: the JSON of `docs/notification-webhook.schema.json`, signed like
//! the region webhooks (`X-Releasedesk-Signature: sha256=<hex HMAC-SHA256 of the body>`), with
//! `X-Releasedesk-Delivery: <delivery_id>` so a receiver can drop a repeat: a sender that dies
//! between the receiver's 2xx and the mark leaves the row pending, and after the lease it is
//! sent again with the same delivery id (at least once, never lost, never twice recorded).
//!
//! Where it may go: every address the URL resolves to is checked before connecting
//! (`drivers::checked_agent`), as for region webhooks. Nothing the receiver answers is kept
//! (it may hold what it should not); the last error is the status or a short reason.

use std::time::Duration;

use serde::Serialize;

use crate::db::models::hooks::{self, Hook, HookFormat};
use crate::db::models::notifications::{self, Channel, Item, Outgoing};
use crate::db::{DbConn, Pool, now};
use crate::domain::PrivateDestinations;
use crate::error::AppError;
use crate::worker::drivers;
use crate::worker::poller::Poller;

/// How often an idle sender looks for due deliveries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long one POST may take; well inside the delivery lease.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The channels this sender delivers.
pub const CHANNELS: &[Channel] = &[Channel::Chat, Channel::Webhook];

/// What the sender needs besides the database: the origin links start with and whether hooks
/// may reach internal addresses.
#[derive(Clone, Debug)]
pub struct HookConfig {
    /// `https://releases.example.com`, without a trailing slash.
    pub origin: String,
    pub private: PrivateDestinations,
    /// How long a claimed delivery is reserved for this sender: the release worker's job lease
    /// (`--job-lease-seconds`), as for email (`notify::Mail::with_lease`).
    pub lease_seconds: i64,
}

impl HookConfig {
    pub fn new(origin: &str, private: PrivateDestinations) -> HookConfig {
        HookConfig {
            origin: origin.trim_end_matches('/').to_owned(),
            private,
            lease_seconds: notifications::LEASE_SECONDS,
        }
    }

    pub fn with_lease(self, lease_seconds: i64) -> HookConfig {
        HookConfig {
            lease_seconds: lease_seconds.max(2),
            ..self
        }
    }

    /// One POST's time limit: inside the lease, so a sender gives up before another may take
    /// the delivery over.
    fn timeout(&self) -> Duration {
        TIMEOUT.min(Duration::from_secs((self.lease_seconds - 1).max(1) as u64))
    }
}

/// Starts the hook sender thread; stopping it lets it finish the delivery in flight.
pub fn spawn_sender(pool: Pool, config: HookConfig) -> Poller {
    let name = format!("hooks-{}-{:08x}", std::process::id(), rand::random::<u32>());
    Poller::spawn("hook-sender", "hook sender", POLL_INTERVAL, move || {
        send_one(&mut *pool.get()?, &config, &name)
    })
}

/// Claims one due hook delivery as `sender` and sends (or skips, or reschedules) it.
/// `Ok(false)` when none was due.
pub fn send_one(conn: &mut DbConn, config: &HookConfig, sender: &str) -> Result<bool, AppError> {
    let Some(claimed) = notifications::claim_on(conn, CHANNELS, sender, config.lease_seconds)?
    else {
        return Ok(false);
    };
    if claimed.attempts > notifications::MAX_ATTEMPTS {
        // Its earlier holders died or failed before recording an outcome, each time.
        let why = "gave up: no attempt recorded an outcome";
        notifications::retry_later(conn, claimed.id, sender, claimed.attempts, why)?;
        return Ok(true);
    }
    let out = notifications::outgoing(conn, claimed.id)?;
    let hook = match notifications::hook_of(conn, claimed.id)? {
        Some(id) => hooks::for_send(conn, id)?,
        None => None,
    };
    let Some(hook) = hook else {
        notifications::skip(conn, claimed.id, sender, "not sent: the hook was deleted")?;
        return Ok(true);
    };
    if let Some(why) = reason_not_to_send(&out, &hook) {
        notifications::skip(conn, claimed.id, sender, &why)?;
        return Ok(true);
    }
    let (body, signature) = match hook.format {
        HookFormat::Chat => (chat_body(&out, &config.origin), None),
        HookFormat::Generic => {
            let body =
                serde_json::to_vec(&payload(&out, &config.origin)).map_err(AppError::internal)?;
            let signature = format!("sha256={}", drivers::sign(&hook.secret, &body));
            (body, Some(signature))
        }
    };
    match post(&hook, &body, signature.as_deref(), &out, config) {
        Ok(()) => {
            if !notifications::mark_sent(conn, claimed.id, sender)? {
                tracing::warn!(
                    delivery = %out.delivery_id,
                    "delivered after this sender's lease ended; another sender may repeat it"
                );
            }
        }
        Err(Failure { message, final_ }) => {
            // A refused destination or a 4xx stays so: failed at once, not retried.
            let attempts = if final_ {
                notifications::MAX_ATTEMPTS.max(claimed.attempts)
            } else {
                claimed.attempts
            };
            let failed = notifications::retry_later(conn, claimed.id, sender, attempts, &message)?;
            tracing::warn!(delivery = %out.delivery_id, hook = hook.id, attempt = claimed.attempts, failed, error = %message, "hook delivery not sent");
        }
    }
    Ok(true)
}

/// Why a hook delivery should not go out now, if it should not.
fn reason_not_to_send(out: &Outgoing, hook: &Hook) -> Option<String> {
    if !hook.is_active {
        return Some(format!(
            "not sent: the hook {} was turned off before it went out",
            hook.name
        ));
    }
    out.stale()
}

/// A workspace as the payload names it.
#[derive(Debug, Serialize)]
pub struct WorkspaceRef<'a> {
    pub slug: &'a str,
    pub name: &'a str,
}

/// The item as it is when the message goes out (`docs/notification-webhook.schema.json`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SubjectNow<'a> {
    Package {
        id: i64,
        name: &'a str,
        status: &'static str,
        applicant: &'a str,
        url: String,
    },
    Checkpoint {
        task_id: i64,
        task_name: &'a str,
        step_id: i64,
        position: i32,
        step_kind: &'static str,
        status: &'static str,
        url: String,
    },
    RegionTask {
        id: i64,
        name: &'a str,
        status: &'static str,
        url: String,
    },
}

/// The generic hook's JSON body.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// Fixed when the event was raised: the same on every retry, so a receiver drops repeats.
    pub delivery_id: &'a str,
    /// The event kind (`NotificationKind`), e.g. `review_requested`.
    pub event: &'static str,
    /// When the change happened (UTC, RFC 3339).
    pub occurred_at: String,
    pub workspace: WorkspaceRef<'a>,
    /// Who acted, by username; `null` for the release worker.
    pub actor: Option<&'a str>,
    /// The item now; `null` when it was deleted.
    pub subject: Option<SubjectNow<'a>>,
    /// One line for people, the same words as the chat message (without mrkdwn).
    pub text: String,
}

/// The link to the item: the package, the checkpoint's card, or the region task.
fn link(out: &Outgoing, origin: &str) -> String {
    let ws = &out.workspace_slug;
    match &out.item {
        Item::Package { id, .. } => format!("{origin}{}", crate::paths::package(ws, *id)),
        Item::Checkpoint { task, position, .. } => {
            format!(
                "{origin}{}#step-{position}",
                crate::paths::region_task(ws, *task)
            )
        }
        Item::RegionTask { id, .. } => format!("{origin}{}", crate::paths::region_task(ws, *id)),
        Item::Gone => format!("{origin}{}", crate::paths::workspace(ws)),
    }
}

/// The payload of a delivery, read as the item is now.
pub fn payload<'a>(out: &'a Outgoing, origin: &str) -> Payload<'a> {
    let url = link(out, origin);
    let subject = match &out.item {
        Item::Package {
            id,
            name,
            status,
            applicant,
            ..
        } => Some(SubjectNow::Package {
            id: id.get(),
            name,
            status: status.as_str(),
            applicant,
            url,
        }),
        Item::Checkpoint {
            task,
            task_name,
            step,
            position,
            kind,
            status,
            ..
        } => Some(SubjectNow::Checkpoint {
            task_id: task.get(),
            task_name,
            step_id: step.get(),
            position: *position,
            step_kind: kind.as_str(),
            status: status.as_str(),
            url,
        }),
        Item::RegionTask {
            id, name, status, ..
        } => Some(SubjectNow::RegionTask {
            id: id.get(),
            name,
            status: status.as_str(),
            url,
        }),
        Item::Gone => None,
    };
    Payload {
        delivery_id: &out.delivery_id,
        event: out.kind.as_str(),
        occurred_at: out
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        workspace: WorkspaceRef {
            slug: &out.workspace_slug,
            name: &out.workspace_name,
        },
        actor: out.actor.as_deref(),
        subject,
        text: summary(out, None),
    }
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` only.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The item's name and its state now, as words.
fn item_words(item: &Item) -> (String, String) {
    match item {
        Item::Package { name, status, .. } => {
            (format!("package “{name}”"), status.label().to_lowercase())
        }
        Item::Checkpoint {
            task_name,
            position,
            kind,
            status,
            ..
        } => (
            format!("step {position} ({}) of “{task_name}”", kind.label()),
            status.label().to_lowercase(),
        ),
        Item::RegionTask { name, status, .. } => (
            format!("region release “{name}”"),
            status.label().to_lowercase(),
        ),
        Item::Gone => ("a deleted item".to_owned(), "deleted".to_owned()),
    }
}

/// One line: "Review requested in Demo: package “nightly” (by alice). Now: pending approval."
/// With `link`, the item's name is a mrkdwn link to it and the text is escaped for Slack.
fn summary(out: &Outgoing, link: Option<&str>) -> String {
    let (item, status) = item_words(&out.item);
    let by = out
        .actor
        .as_deref()
        .map(|a| format!(" (by {a})"))
        .unwrap_or_default();
    match link {
        None => format!(
            "{} in {}: {item}{by}. Now: {status}.",
            out.kind.label(),
            out.workspace_name
        ),
        Some(url) => format!(
            "*{}* in {}: <{url}|{}>{}. Now: {}.",
            out.kind.label(),
            escape(&out.workspace_name),
            escape(&item),
            escape(&by),
            escape(&status)
        ),
    }
}

/// The chat message: `{"text": …}` with a mrkdwn link to the item.
pub fn chat_body(out: &Outgoing, origin: &str) -> Vec<u8> {
    let url = link(out, origin);
    serde_json::to_vec(&serde_json::json!({ "text": summary(out, Some(&url)) })).unwrap_or_default()
}

/// Why an attempt failed, and whether retrying could help.
pub struct Failure {
    pub message: String,
    /// The destination was refused or the receiver refused the request: not retried.
    pub final_: bool,
}

fn post(
    hook: &Hook,
    body: &[u8],
    signature: Option<&str>,
    out: &Outgoing,
    config: &HookConfig,
) -> Result<(), Failure> {
    let agent = drivers::checked_agent(config.timeout(), config.private);
    let mut req = agent
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "releasedesk-notifications")
        .header("X-Releasedesk-Delivery", &out.delivery_id)
        .header("X-Releasedesk-Event", out.kind.as_str());
    if let Some(sig) = signature {
        req = req.header("X-Releasedesk-Signature", sig);
    }
    match req.send(body) {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            // A 4xx other than 408/429 will not improve by retrying.
            let final_ = (400..500).contains(&status) && status != 408 && status != 429;
            Err(Failure {
                message: format!("HTTP {status}"),
                final_,
            })
        }
        Err(e) => match drivers::refusal(&e) {
            Some(refused) => Err(Failure {
                message: format!("refused: {refused}"),
                final_: true,
            }),
            None => Err(Failure {
                message: drivers::reason(&e),
                final_: false,
            }),
        },
    }
}

/// Sends a test message to `hook` now, outside the outbox (the settings page's button): the
/// answer's status, or why it failed.
pub fn send_test(
    hook: &Hook,
    workspace_slug: &str,
    workspace_name: &str,
    actor: &str,
    origin: &str,
    private: PrivateDestinations,
) -> Result<String, String> {
    let delivery_id = format!("test.h{}.{:016x}", hook.id, rand::random::<u64>());
    let origin = origin.trim_end_matches('/');
    let url = format!("{origin}{}", crate::paths::workspace(workspace_slug));
    let body = match hook.format {
        HookFormat::Chat => serde_json::json!({
            "text": format!(
                "*Test* from releasedesk in <{url}|{}>, sent by {}. Notifications for this workspace will arrive here.",
                escape(workspace_name),
                escape(actor)
            )
        }),
        HookFormat::Generic => serde_json::json!({
            "delivery_id": delivery_id,
            "event": "test",
            "occurred_at": now().and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "workspace": { "slug": workspace_slug, "name": workspace_name },
            "actor": actor,
            "subject": null,
            "text": format!("Test from releasedesk in {workspace_name}, sent by {actor}."),
        }),
    };
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let signature = (hook.format == HookFormat::Generic)
        .then(|| format!("sha256={}", drivers::sign(&hook.secret, &body)));
    let agent = drivers::checked_agent(TIMEOUT, private);
    let mut req = agent
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "releasedesk-notifications")
        .header("X-Releasedesk-Delivery", &delivery_id)
        .header("X-Releasedesk-Event", "test");
    if let Some(sig) = &signature {
        req = req.header("X-Releasedesk-Signature", sig);
    }
    match req.send(&body[..]) {
        Ok(resp) if resp.status().is_success() => Ok(format!("HTTP {}", resp.status().as_u16())),
        Ok(resp) => Err(format!("HTTP {}", resp.status().as_u16())),
        Err(e) => Err(match drivers::refusal(&e) {
            Some(refused) => format!("refused: {refused}"),
            None => drivers::reason(&e),
        }),
    }
}
