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
    let words = match code.as_str() {
        "package.created" => "created the package",
        "package.submitted_for_approval" => "sent it for approval",
        "package.approved" => "approved",
        "package.rejected" => "rejected",
        "package.released_directly" => "released it directly",
        "package.released" => "released it to production",
        "package.partially_failed" => "released it, some tasks failed",
        "package.failed" => "failed to release it",
        "package.revoked" => "revoked it",
        "package.expired" => "expired it: its wait for review ran out",
        "package.reviewer_removed" => "removed a reviewer",
        "production.applied" => "put it live",
        "task.released" => "released the task",
        "task.release_failed" => "failed to release the task",
        "task.revoked" => "revoked the task",
        "script.created" => "created the script",
        "script.version_submitted" => "submitted a version",
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
        "member.added" => "added a member",
        "member.removed" => "removed a member",
        "member.role_changed" => "changed a role",
        "reviewer.added" => "added a reviewer",
        "reviewer.removed" => "removed a reviewer",
        "workspace.created" => "created the workspace",
        "workspace.settings_changed" => "changed the settings",
        "region.created" => "created a region",
        "region.updated" => "changed a region",
        "component.created" => "created a component",
        "component.updated" => "changed a component",
        "user.created" => "created the user",
        "user.activated" => "activated the user",
        "user.deactivated" => "deactivated the user",
        "user.password_changed" => "changed their password",
        "user.password_reset" => "reset the password",
        "user.tenant_admin_granted" => "made them a tenant administrator",
        "user.tenant_admin_revoked" => "took tenant administration away",
        "session.ended" => "ended a session",
        "token.created" => "created an access token",
        "token.revoked" => "revoked an access token",
        "token.used_from_new_address" => "used an access token from a new address",
        _ => return Ok(code),
    };
    Ok(words.to_owned())
}
