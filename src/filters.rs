//! Askama filters shared by the templates (`use crate::filters;` beside a template struct).

use askama::Values;
use chrono::NaiveDateTime;

/// Anything that is a stored time, however many references deep the template hands it over.
pub trait StoredTime {
    fn naive(&self) -> NaiveDateTime;
}

impl StoredTime for NaiveDateTime {
    fn naive(&self) -> NaiveDateTime {
        *self
    }
}

impl<T: StoredTime + ?Sized> StoredTime for &T {
    fn naive(&self) -> NaiveDateTime {
        (**self).naive()
    }
}

/// `2026-11-23 20:49 UTC`: stored times are naive UTC.
#[askama::filter_fn]
pub fn datetime<T: StoredTime>(value: T, _: &dyn Values) -> askama::Result<String> {
    Ok(value.naive().format("%Y-%m-%d %H:%M UTC").to_string())
}

/// `2026-11-23T20:49:00Z` for `<time datetime=…>`.
#[askama::filter_fn]
pub fn iso<T: StoredTime>(value: T, _: &dyn Values) -> askama::Result<String> {
    Ok(value.naive().format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `v12` → `12` and `draft` unchanged: turns a comparison label back into a query value.
#[askama::filter_fn]
pub fn trim_start_matches_v<T: std::fmt::Display>(
    value: T,
    _: &dyn Values,
) -> askama::Result<String> {
    let s = value.to_string();
    Ok(s.strip_prefix('v').map(str::to_owned).unwrap_or(s))
}

/// An audit action in words for timelines (`package.submitted_for_approval` → "sent it for
/// approval"); an action without words here reads as its code. The audit log itself keeps the
/// codes, which are what its filter takes.
#[askama::filter_fn]
pub fn action_label<T: std::fmt::Display>(value: T, _: &dyn Values) -> askama::Result<String> {
    let code = value.to_string();
    Ok(action_words(&code).map_or(code, str::to_owned))
}

/// The words for an audit action, if it has any.
pub fn action_words(code: &str) -> Option<&'static str> {
    Some(match code {
        "package.created" => "created the package",
        "package.submitted_for_approval" => "sent it for approval",
        "package.approved" => "approved",
        "package.rejected" => "rejected",
        "package.released_directly" => "released it directly",
        "package.released" => "released it to production",
        "package.partially_failed" => "released it, some tasks failed",
        "package.failed" => "failed to release it",
        "package.revoked" => "revoked it",
        "package.withdrawn" => "withdrew it",
        "package.freeze_overridden" => "overrode the freeze for it",
        "package.expired" => "expired it: its wait for review ran out",
        "package.reviewer_removed" => "removed a reviewer",
        "package.reviewer_added" => "added a reviewer",
        "production.applied" => "put it live",
        "task.released" => "released the task",
        "task.release_failed" => "failed to release the task",
        "task.revoked" => "revoked the task",
        "script.created" => "created the script",
        "script.version_submitted" => "submitted a version",
        "scripts.imported" => "imported scripts",
        "region_task.created" => "created the task",
        "region_task.edited" => "edited the task",
        "region_task.executed" => "executed it",
        "region_task.checkpoint_waiting" => "waits for a decision",
        "region_task.checkpoint_agreed" => "agreed a checkpoint",
        "region_task.checkpoint_rejected" => "rejected a checkpoint",
        "region_task.checkpoint_expired" => "failed it: a checkpoint's wait ran out",
        "region_task.component_deployed" => "deployed a component",
        "region_task.component_failed" => "failed to deploy a component",
        "region_task.released" => "released it",
        "region_task.release_failed" => "release failed",
        "region_task.suspend_requested" => "asked to suspend it",
        "region_task.suspended" => "suspended it",
        "region_task.rollback_started" => "started a rollback",
        "region_task.component_rolled_back" => "rolled back a component",
        "region_task.component_rollback_failed" => "failed to roll back a component",
        "region_task.rolled_back" => "rolled it back",
        "region_task.rollback_failed" => "rollback failed",
        "region_task.worker_gave_up" => "the worker gave up",
        "region_task.freeze_overridden" => "overrode the freeze for it",
        "member.added" => "added a member",
        "member.removed" => "removed a member",
        "member.role_changed" => "changed a role",
        "reviewer.added" => "added a reviewer",
        "reviewer.removed" => "removed a reviewer",
        "workspace.created" => "created the workspace",
        "workspace.settings_changed" => "changed the settings",
        "freeze.created" => "added a freeze window",
        "freeze.deleted" => "deleted a freeze window",
        "notification.retried" => "sent a notification again",
        "notification_hook.created" => "added a webhook",
        "notification_hook.updated" => "changed a webhook",
        "notification_hook.activated" => "turned a webhook on",
        "notification_hook.deactivated" => "turned a webhook off",
        "notification_hook.deleted" => "deleted a webhook",
        "region.created" => "created a region",
        "region.updated" => "changed a region",
        "component.created" => "created a component",
        "component.updated" => "changed a component",
        "user.created" => "created the user",
        "user.activated" => "activated the user",
        "user.deactivated" => "deactivated the user",
        "user.password_changed" => "changed their password",
        "user.password_reset" => "reset the password",
        "user.email_set" => "set an email address",
        "user.email_cleared" => "cleared the email address",
        "user.tenant_admin_granted" => "made them a tenant administrator",
        "user.tenant_admin_revoked" => "took tenant administration away",
        "session.ended" => "ended a session",
        "token.created" => "created an access token",
        "token.revoked" => "revoked an access token",
        "token.used_from_new_address" => "used an access token from a new address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::action_words;
    use std::path::Path;

    /// The areas audit actions are named under (`package.approved`); a string literal
    /// `"<area>.<word>"` in the source is an audit action.
    const AREAS: &[&str] = &[
        "component",
        "freeze",
        "member",
        "notification",
        "notification_hook",
        "package",
        "production",
        "region",
        "region_task",
        "reviewer",
        "script",
        "scripts",
        "session",
        "task",
        "token",
        "user",
        "workspace",
    ];

    fn actions_in(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                actions_in(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for literal in text.split('"').skip(1).step_by(2) {
                    let Some((area, word)) = literal.split_once('.') else {
                        continue;
                    };
                    let is_word = |w: &str| {
                        !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    };
                    if AREAS.contains(&area) && is_word(word) {
                        found.push(literal.to_owned());
                    }
                }
            }
        }
    }

    /// Timelines and the overview read actions in words; one without words shows its code.
    #[test]
    fn every_audit_action_in_the_source_has_words() {
        let mut found = Vec::new();
        actions_in(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        found.sort();
        found.dedup();
        assert!(found.len() > 60, "{found:?}");
        let missing: Vec<_> = found.iter().filter(|a| action_words(a).is_none()).collect();
        assert!(
            missing.is_empty(),
            "audit actions without words: {missing:?}"
        );
    }
}
