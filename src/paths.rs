//! Every address of the app, built in one place: handlers redirect with these, templates link
//! with them (`{{ crate::paths::package(workspace.slug, p.id) }}`) and tests request them. One
//! function per route of `routes::ROUTES`, named after the page or action; `tests/paths.rs`
//! checks that each function's address is a route and each route has a function.
//!
//! Nothing here is percent-encoded, because no segment needs it: a workspace slug is a
//! `domain::names::WorkspaceSlug` (`a-z 0-9 -`), ids are numbers and a session handle is hex.
//! Query strings and fragments stay with the caller, which knows its parameters.

use crate::domain::{PackageId, RegionTaskId, StepId, TaskId, TokenId, UserId};

/// A row id of type `T` as a path segment, however many references deep a template hands it
/// over (askama passes `p.id` as `&PackageId`, a loop's `id` as `&&PackageId`). Only the id
/// type a route names is accepted: a task id where a package belongs does not compile.
pub trait Id<T> {
    fn id(&self) -> T;
}

impl<T, U: Id<T> + ?Sized> Id<T> for &U {
    fn id(&self) -> T {
        (**self).id()
    }
}

macro_rules! id_is_itself {
    ($($t:ty),+) => {$(
        impl Id<$t> for $t {
            fn id(&self) -> $t {
                *self
            }
        }
    )+};
}
id_is_itself!(
    PackageId,
    RegionTaskId,
    StepId,
    TaskId,
    TokenId,
    UserId,
    i64
);

pub fn home() -> &'static str {
    "/"
}
pub const fn login() -> &'static str {
    "/login"
}
pub fn logout() -> &'static str {
    "/logout"
}
/// Everything waiting for the signed-in user's decision, across workspaces.
pub fn reviews() -> &'static str {
    "/reviews"
}

pub fn account() -> &'static str {
    "/account"
}
pub fn account_password() -> &'static str {
    "/account/password"
}
/// Ends the session named by `handle` (`db::models::sessions::SessionHandle`, hex).
pub fn account_session_end(handle: &str) -> String {
    format!("/account/sessions/{handle}/end")
}
/// Creates one of the user's own API access tokens (the Account page's "Access tokens").
pub fn account_tokens() -> &'static str {
    "/account/tokens"
}
pub fn account_token_revoke(token: impl Id<TokenId>) -> String {
    format!("/account/tokens/{}/revoke", token.id())
}
/// Sets or clears the user's own email address (the Account page's "Notifications").
pub fn account_email() -> &'static str {
    "/account/email"
}
/// Saves the user's email choices per event kind and their daily digest's hour.
pub fn account_notifications() -> &'static str {
    "/account/notifications"
}
/// Sends the user a test email now.
pub fn account_test_email() -> &'static str {
    "/account/test-email"
}

pub fn admin_users() -> &'static str {
    "/admin/users"
}
pub fn admin_user_active(user: impl Id<UserId>) -> String {
    format!("/admin/users/{}/active", user.id())
}
pub fn admin_user_tenant_admin(user: impl Id<UserId>) -> String {
    format!("/admin/users/{}/tenant-admin", user.id())
}
pub fn admin_user_password(user: impl Id<UserId>) -> String {
    format!("/admin/users/{}/password", user.id())
}
/// Every user's API access tokens, for tenant administrators.
pub fn admin_tokens() -> &'static str {
    "/admin/tokens"
}
pub fn admin_token_revoke(token: impl Id<TokenId>) -> String {
    format!("/admin/tokens/{}/revoke", token.id())
}

pub const fn workspaces() -> &'static str {
    "/workspaces"
}
/// The header's workspace picker (`?ws=slug`).
pub fn workspace_switch() -> &'static str {
    "/workspaces/switch"
}
/// A workspace's overview.
pub fn workspace(ws: &str) -> String {
    format!("/workspaces/{ws}")
}
pub fn audit(ws: &str) -> String {
    format!("/workspaces/{ws}/audit")
}
pub fn audit_csv(ws: &str) -> String {
    format!("/workspaces/{ws}/audit.csv")
}
pub fn insights(ws: &str) -> String {
    format!("/workspaces/{ws}/insights")
}
pub fn insights_csv(ws: &str) -> String {
    format!("/workspaces/{ws}/insights.csv")
}

pub fn scripts(ws: &str) -> String {
    format!("/workspaces/{ws}/scripts")
}
pub fn scripts_import(ws: &str) -> String {
    format!("/workspaces/{ws}/scripts/import")
}
pub fn scripts_export(ws: &str) -> String {
    format!("/workspaces/{ws}/scripts/export")
}
/// A script's editor; a POST saves its draft.
pub fn script(ws: &str, id: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/scripts/{}", id.id())
}
pub fn script_submit(ws: &str, id: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/scripts/{}/submit", id.id())
}
pub fn script_diff(ws: &str, id: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/scripts/{}/diff", id.id())
}

/// Task Release's Tasks tab.
pub fn tasks(ws: &str) -> String {
    format!("/workspaces/{ws}/task-release/tasks")
}
pub fn task(ws: &str, id: impl Id<TaskId>) -> String {
    format!("/workspaces/{ws}/task-release/tasks/{}", id.id())
}
pub fn task_diff(ws: &str, id: impl Id<TaskId>) -> String {
    format!("/workspaces/{ws}/task-release/tasks/{}/diff", id.id())
}
/// Releases the selected tasks as one package.
pub fn release(ws: &str) -> String {
    format!("/workspaces/{ws}/task-release/release")
}
pub fn revoke(ws: &str) -> String {
    format!("/workspaces/{ws}/task-release/revoke")
}

/// Task Release's Packages tab.
pub fn packages(ws: &str) -> String {
    format!("/workspaces/{ws}/task-release/packages")
}
pub fn package(ws: &str, id: impl Id<PackageId>) -> String {
    format!("/workspaces/{ws}/task-release/packages/{}", id.id())
}
fn package_action(ws: &str, id: impl Id<PackageId>, action: &str) -> String {
    format!("{}/{action}", package(ws, id))
}
/// The package page's live progress fragment, polled while it is released.
pub fn package_progress(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "progress")
}
pub fn package_decision(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "decision")
}
pub fn package_reviewers(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "reviewers")
}
pub fn package_withdraw(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "withdraw")
}
/// An admin's override of the freeze that holds a package.
pub fn package_override_freeze(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "override-freeze")
}
pub fn package_compare(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "compare")
}
pub fn package_compare_diff(ws: &str, id: impl Id<PackageId>) -> String {
    package_action(ws, id, "compare.diff")
}

/// What runs in production now.
pub fn production(ws: &str) -> String {
    format!("/workspaces/{ws}/production")
}

/// Region Release's task list; a POST creates a task.
pub fn region_tasks(ws: &str) -> String {
    format!("/workspaces/{ws}/region-release/tasks")
}
pub fn region_task_new(ws: &str) -> String {
    format!("/workspaces/{ws}/region-release/tasks/new")
}
pub fn region_task(ws: &str, id: impl Id<RegionTaskId>) -> String {
    format!("/workspaces/{ws}/region-release/tasks/{}", id.id())
}
fn region_task_action(ws: &str, id: impl Id<RegionTaskId>, action: &str) -> String {
    format!("{}/{action}", region_task(ws, id))
}
pub fn region_task_edit(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "edit")
}
/// The task page's live process fragment, polled while it runs.
pub fn region_task_process(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "process")
}
pub fn region_task_execute(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "execute")
}
pub fn region_task_suspend(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "suspend")
}
/// An admin's override of the freeze that holds a region task.
pub fn region_task_override_freeze(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "override-freeze")
}
pub fn region_task_rollback(ws: &str, id: impl Id<RegionTaskId>) -> String {
    region_task_action(ws, id, "rollback")
}
/// A decision on a checkpoint step of a region task.
pub fn region_step_decision(
    ws: &str,
    task: impl Id<RegionTaskId>,
    step: impl Id<StepId>,
) -> String {
    format!("{}/steps/{}/decision", region_task(ws, task), step.id())
}

pub fn regions(ws: &str) -> String {
    format!("/workspaces/{ws}/regions")
}
pub fn region(ws: &str, id: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/regions/{}", id.id())
}
pub fn components(ws: &str) -> String {
    format!("/workspaces/{ws}/components")
}

pub fn settings(ws: &str) -> String {
    format!("/workspaces/{ws}/settings")
}
pub fn settings_general(ws: &str) -> String {
    format!("/workspaces/{ws}/settings/general")
}
pub fn settings_members(ws: &str) -> String {
    format!("/workspaces/{ws}/settings/members")
}
pub fn settings_member_role(ws: &str, user: impl Id<UserId>) -> String {
    format!("/workspaces/{ws}/settings/members/{}/role", user.id())
}
pub fn settings_member_remove(ws: &str, user: impl Id<UserId>) -> String {
    format!("/workspaces/{ws}/settings/members/{}/remove", user.id())
}
pub fn settings_reviewers(ws: &str) -> String {
    format!("/workspaces/{ws}/settings/reviewers")
}
pub fn settings_reviewer_remove(ws: &str, user: impl Id<UserId>) -> String {
    format!("/workspaces/{ws}/settings/reviewers/{}/remove", user.id())
}

/// Workspace settings → Notifications: the workspace's chat and webhook hooks.
pub fn notification_hooks(ws: &str) -> String {
    format!("/workspaces/{ws}/settings/notifications")
}
/// One hook's edit form (GET) and its save (POST).
pub fn notification_hook(ws: &str, hook: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/settings/notifications/{}", hook.id())
}
pub fn notification_hook_active(ws: &str, hook: impl Id<i64>) -> String {
    format!(
        "/workspaces/{ws}/settings/notifications/{}/active",
        hook.id()
    )
}
pub fn notification_hook_delete(ws: &str, hook: impl Id<i64>) -> String {
    format!(
        "/workspaces/{ws}/settings/notifications/{}/delete",
        hook.id()
    )
}
/// Sends a test message to one hook now.
pub fn notification_hook_test(ws: &str, hook: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/settings/notifications/{}/test", hook.id())
}
/// The workspace's notification deliveries (admins).
/// The workspace's freeze windows; a POST adds one.
pub fn freezes(ws: &str) -> String {
    format!("/workspaces/{ws}/freezes")
}
pub fn freeze_delete(ws: &str, id: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/freezes/{}/delete", id.id())
}
pub fn deliveries(ws: &str) -> String {
    format!("/workspaces/{ws}/deliveries")
}
/// Sends a failed or skipped delivery again.
pub fn delivery_retry(ws: &str, delivery: impl Id<i64>) -> String {
    format!("/workspaces/{ws}/deliveries/{}/retry", delivery.id())
}
