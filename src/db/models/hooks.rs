//! A workspace's notification hooks (issue 23): a chat channel (a Slack-compatible incoming
//! webhook) or a generic receiver of signed JSON, each with the event kinds it wants. Workspace
//! admins and tenant administrators configure them; every change is checked here, inside its
//! transaction, and audited without the secret.
//!
//! Secrets: a generic hook's signing secret is generated (or given) when the hook is created,
//! shown to its creator once by the page that answers the POST, and never read back into a page,
//! a log line or the audit log: `HookSummary`, what pages list, does not select it, and `Hook`,
//! which holds it for the sender, has no `Debug`. A chat hook's URL is itself a credential (an
//! incoming webhook URL lets anyone post to the channel), so pages show only its origin
//! (`url_shown`) and the form keeps the stored URL when left blank.
//!
//! The outbox rows for hooks are written by `notifications::raise_to_hooks` (one per active hook
//! subscribed to the event's kind) and sent by `worker::hooks`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::notifications::NotificationKind;
use super::workspaces;
use crate::db::schema::{notification_hook_events, notification_hooks};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{Permission, PrivateDestinations, UrlProblem, UserId, WorkspaceId, check_url};
use crate::error::AppError;

crate::domain::text_enum!(
    /// What a hook's receiver understands.
    HookFormat {
        /// A Slack-compatible incoming webhook: `{"text": …}` with a mrkdwn link to the item.
        Chat = "chat": "Chat (Slack-compatible)",
        /// Signed JSON (docs/notification-webhook.schema.json).
        Generic = "generic": "Generic signed JSON",
    }
);

/// Hooks a workspace may have.
pub const MAX_PER_WORKSPACE: i64 = 20;
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 500;

/// A hook as the sender needs it. No `Debug`: it holds the secret.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = notification_hooks)]
pub struct Hook {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub format: HookFormat,
    pub url: String,
    pub secret: String,
    pub is_active: bool,
}

/// A hook as pages show it: no secret, the URL reduced to its origin.
#[derive(Clone, Debug)]
pub struct HookSummary {
    pub id: i64,
    pub name: String,
    pub format: HookFormat,
    /// `https://hooks.example.com/…`: the scheme, host and port, never the path or query.
    pub url_shown: String,
    pub has_secret: bool,
    pub is_active: bool,
    pub kinds: Vec<NotificationKind>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl HookSummary {
    pub fn wants(&self, kind: &NotificationKind) -> bool {
        self.kinds.contains(kind)
    }
}

/// The scheme, host and port of a URL, then `/…`: what a page may show of a hook's address.
pub fn url_shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let origin = u.origin().ascii_serialization();
            if u.path() == "/" && u.query().is_none() {
                format!("{origin}/")
            } else {
                format!("{origin}/…")
            }
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// The hook form's values, validated by the handler. `url: None` and `secret: None` keep the
/// stored value (on an update); a new generic hook without a secret gets a generated one.
pub struct HookInput {
    pub name: String,
    pub format: HookFormat,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub kinds: Vec<NotificationKind>,
}

/// A generated signing secret: 32 random bytes, hex.
pub fn generate_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What creating a hook gave: its id, and the secret to show once when it was generated or
/// given (generic hooks).
pub struct Created {
    pub id: i64,
    pub name: String,
    pub secret: Option<String>,
}

fn checked_url(url: &str, private: PrivateDestinations) -> Result<(), AppError> {
    match check_url(url, private) {
        Ok(()) => Ok(()),
        Err(UrlProblem::Invalid) => Err(AppError::field(
            "url",
            "Enter the receiver's http:// or https:// URL.",
        )),
        Err(UrlProblem::Refused(refusal)) => {
            Err(AppError::field("url", format!("Refused: {refusal}.")))
        }
    }
}

/// "review_requested, package_approved" for the audit log.
fn kinds_label(kinds: &[NotificationKind]) -> String {
    if kinds.is_empty() {
        return "no events".to_owned();
    }
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_kinds(conn: &mut DbConn, hook_id: i64, kinds: &[NotificationKind]) -> QueryResult<()> {
    diesel::delete(
        notification_hook_events::table.filter(notification_hook_events::hook_id.eq(hook_id)),
    )
    .execute(conn)?;
    let mut kinds = kinds.to_vec();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    for kind in kinds {
        diesel::insert_into(notification_hook_events::table)
            .values((
                notification_hook_events::hook_id.eq(hook_id),
                notification_hook_events::kind.eq(kind),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn name_taken(name: &str) -> AppError {
    AppError::field(
        "name",
        format!("A hook named “{name}” exists in this workspace."),
    )
}

/// Creates a hook (workspace admins and tenant administrators). The URL is refused when its
/// host is an internal address or a `localhost` name, unless `private` allows it; the sender
/// checks the addresses it resolves to again.
pub fn create(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    input: &HookInput,
    private: PrivateDestinations,
) -> Result<Created, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let Some(url) = input.url.as_deref() else {
            return Err(AppError::field("url", "Enter the receiver's URL."));
        };
        checked_url(url, private)?;
        let count: i64 = notification_hooks::table
            .filter(notification_hooks::workspace_id.eq(workspace_id))
            .count()
            .get_result(conn)?;
        if count >= MAX_PER_WORKSPACE {
            return Err(AppError::field(
                "name",
                format!("A workspace has at most {MAX_PER_WORKSPACE} hooks; delete one first."),
            ));
        }
        let secret = match input.format {
            HookFormat::Generic => input.secret.clone().unwrap_or_else(generate_secret),
            HookFormat::Chat => String::new(),
        };
        let ts = now();
        let inserted = diesel::insert_into(notification_hooks::table)
            .values((
                notification_hooks::workspace_id.eq(workspace_id),
                notification_hooks::name.eq(&input.name),
                notification_hooks::format.eq(input.format),
                notification_hooks::url.eq(url),
                notification_hooks::secret.eq(&secret),
                notification_hooks::is_active.eq(true),
                notification_hooks::created_by.eq(Some(actor_id)),
                notification_hooks::created_at.eq(ts),
                notification_hooks::updated_at.eq(ts),
            ))
            .returning(notification_hooks::id)
            .get_result::<i64>(conn);
        let id = match inserted {
            Ok(id) => id,
            Err(e) if super::is_unique_violation(&e) => return Err(name_taken(&input.name)),
            Err(e) => return Err(e.into()),
        };
        set_kinds(conn, id, &input.kinds)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "notification_hook.created",
                target_type: "notification_hook",
                target_id: Some(id),
                target_label: &input.name,
                comment: &format!(
                    "{} to {}; events: {}",
                    input.format.as_str(),
                    url_shown(url),
                    kinds_label(&input.kinds)
                ),
            },
        )?;
        Ok(Created {
            id,
            name: input.name.clone(),
            secret: (!secret.is_empty()).then_some(secret),
        })
    })
}

fn find(conn: &mut DbConn, workspace_id: WorkspaceId, id: i64) -> QueryResult<Option<Hook>> {
    notification_hooks::table
        .filter(notification_hooks::workspace_id.eq(workspace_id))
        .filter(notification_hooks::id.eq(id))
        .select(Hook::as_select())
        .first(conn)
        .optional()
}

/// Changes a hook's name, format, URL (kept when `None`), secret (kept when `None`; a hook
/// turned generic without one gets a generated secret, returned to show once) and events.
pub fn update(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
    input: &HookInput,
    private: PrivateDestinations,
) -> Result<Created, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let hook = find(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
        let url = input.url.clone().unwrap_or_else(|| hook.url.clone());
        checked_url(&url, private)?;
        let (secret, shown) = match (input.format, &input.secret) {
            (HookFormat::Chat, _) => (String::new(), None),
            (HookFormat::Generic, Some(given)) => (given.clone(), Some(given.clone())),
            (HookFormat::Generic, None) if !hook.secret.is_empty() => (hook.secret.clone(), None),
            (HookFormat::Generic, None) => {
                let s = generate_secret();
                (s.clone(), Some(s))
            }
        };
        let updated = diesel::update(notification_hooks::table.find(id))
            .set((
                notification_hooks::name.eq(&input.name),
                notification_hooks::format.eq(input.format),
                notification_hooks::url.eq(&url),
                notification_hooks::secret.eq(&secret),
                notification_hooks::updated_at.eq(now()),
            ))
            .execute(conn);
        match updated {
            Ok(_) => {}
            Err(e) if super::is_unique_violation(&e) => return Err(name_taken(&input.name)),
            Err(e) => return Err(e.into()),
        }
        set_kinds(conn, id, &input.kinds)?;
        let mut changes = vec![format!(
            "{} to {}; events: {}",
            input.format.as_str(),
            url_shown(&url),
            kinds_label(&input.kinds)
        )];
        if hook.name != input.name {
            changes.push(format!("renamed from {}", hook.name));
        }
        if input.url.is_some() && hook.url != url {
            changes.push("URL changed".to_owned());
        }
        if shown.is_some() {
            changes.push("new signing secret".to_owned());
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "notification_hook.updated",
                target_type: "notification_hook",
                target_id: Some(id),
                target_label: &input.name,
                comment: &changes.join("; "),
            },
        )?;
        Ok(Created {
            id,
            name: input.name.clone(),
            secret: shown,
        })
    })
}

/// Turns a hook on or off. An inactive hook gets no new deliveries, and its pending ones are
/// skipped when a sender takes them. Returns the hook's name; `Conflict` when it already was.
pub fn set_active(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
    active: bool,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let hook = find(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
        let n = diesel::update(
            notification_hooks::table
                .find(id)
                .filter(notification_hooks::is_active.eq(!active)),
        )
        .set((
            notification_hooks::is_active.eq(active),
            notification_hooks::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(format!(
                "The hook {} is already {}.",
                hook.name,
                if active { "active" } else { "inactive" }
            )));
        }
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: if active {
                    "notification_hook.activated"
                } else {
                    "notification_hook.deactivated"
                },
                target_type: "notification_hook",
                target_id: Some(id),
                target_label: &hook.name,
                comment: "",
            },
        )?;
        Ok(hook.name)
    })
}

/// Deletes a hook, its event choices and its deliveries (the Deliveries page then no longer
/// lists them; the audit log keeps the deletion). Returns its name.
pub fn delete(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
) -> Result<String, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let hook = find(conn, workspace_id, id)?.ok_or(AppError::NotFound)?;
        diesel::delete(notification_hooks::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "notification_hook.deleted",
                target_type: "notification_hook",
                target_id: Some(id),
                target_label: &hook.name,
                comment: hook.format.as_str(),
            },
        )?;
        Ok(hook.name)
    })
}

type SummaryRow = (
    i64,
    String,
    HookFormat,
    String,
    bool,
    bool,
    NaiveDateTime,
    NaiveDateTime,
);

/// A workspace's hooks by name, without secrets.
pub fn list(conn: &mut DbConn, workspace_id: WorkspaceId) -> QueryResult<Vec<HookSummary>> {
    let rows: Vec<SummaryRow> = notification_hooks::table
        .filter(notification_hooks::workspace_id.eq(workspace_id))
        .order((notification_hooks::name, notification_hooks::id))
        .select((
            notification_hooks::id,
            notification_hooks::name,
            notification_hooks::format,
            notification_hooks::url,
            notification_hooks::secret.ne(""),
            notification_hooks::is_active,
            notification_hooks::created_at,
            notification_hooks::updated_at,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut kinds: BTreeMap<i64, Vec<NotificationKind>> = BTreeMap::new();
    let events: Vec<(i64, NotificationKind)> = notification_hook_events::table
        .filter(notification_hook_events::hook_id.eq_any(&ids))
        .select((
            notification_hook_events::hook_id,
            notification_hook_events::kind,
        ))
        .load(conn)?;
    for (hook, kind) in events {
        kinds.entry(hook).or_default().push(kind);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, name, format, url, has_secret, is_active, created_at, updated_at)| {
                let mut k = kinds.remove(&id).unwrap_or_default();
                // The order of `NotificationKind::ALL`, as the form lists them.
                k.sort_by_key(|k| NotificationKind::ALL.iter().position(|a| a == k));
                HookSummary {
                    id,
                    name,
                    format,
                    url_shown: url_shown(&url),
                    has_secret,
                    is_active,
                    kinds: k,
                    created_at,
                    updated_at,
                }
            },
        )
        .collect())
}

/// One hook of the workspace, without its secret (the edit form).
pub fn summary(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    id: i64,
) -> QueryResult<Option<HookSummary>> {
    Ok(list(conn, workspace_id)?.into_iter().find(|h| h.id == id))
}

/// The active hooks of a workspace that want `kind`, by id (`notifications::raise_to_hooks`).
pub fn subscribed(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    kind: NotificationKind,
) -> QueryResult<Vec<(i64, HookFormat)>> {
    notification_hooks::table
        .inner_join(notification_hook_events::table)
        .filter(notification_hooks::workspace_id.eq(workspace_id))
        .filter(notification_hooks::is_active.eq(true))
        .filter(notification_hook_events::kind.eq(kind))
        .order(notification_hooks::id)
        .select((notification_hooks::id, notification_hooks::format))
        .load(conn)
}

/// A hook with its secret, for the sender (any workspace: the delivery names it).
pub fn for_send(conn: &mut DbConn, id: i64) -> QueryResult<Option<Hook>> {
    notification_hooks::table
        .find(id)
        .select(Hook::as_select())
        .first(conn)
        .optional()
}

/// A hook of the workspace with its secret, for the page's "send a test event" (workspace
/// admins: checked here).
pub fn for_test(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    id: i64,
) -> Result<Hook, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        find(conn, workspace_id, id)?.ok_or(AppError::NotFound)
    })
}

#[cfg(test)]
mod tests {
    use super::url_shown;

    #[test]
    fn pages_show_only_the_origin_of_a_hook_url() {
        assert_eq!(
            url_shown("https://hooks.slack.com/services/T0/B0/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_shown("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            url_shown("http://127.0.0.1:8080/?token=x"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(url_shown("nope"), "(not a URL)");
    }
}
