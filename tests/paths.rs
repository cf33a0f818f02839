//! `releasedesk::paths` against the route table the app serves: every address it builds is
//! answered by a route with its method, and every route (but the unaddressed probes and
//! assets) has a function there, so a new route comes with its address.

use actix_web::dev::ResourceDef;
use releasedesk::domain::{PackageId, RegionTaskId, StepId, TaskId, TokenId, UserId};
use releasedesk::paths::*;
use releasedesk::routes::ROUTES;

/// Every address `paths` builds, with the method its route answers.
fn built() -> Vec<(&'static str, String)> {
    let ws = "demo";
    let handle = "a".repeat(32);
    let get = |p: &str| ("GET", p.to_owned());
    let post = |p: &str| ("POST", p.to_owned());
    vec![
        get(home()),
        get(login()),
        post(login()),
        post(logout()),
        get(reviews()),
        post(reviews()),
        get(account()),
        post(account_password()),
        post(&account_session_end(&handle)),
        post(account_tokens()),
        post(&account_token_revoke(TokenId(1))),
        post(account_email()),
        post(account_notifications()),
        post(account_test_email()),
        get(admin_users()),
        post(admin_users()),
        post(&admin_user_active(UserId(1))),
        post(&admin_user_tenant_admin(UserId(1))),
        post(&admin_user_password(UserId(1))),
        get(admin_tokens()),
        post(&admin_token_revoke(TokenId(1))),
        get(workspaces()),
        post(workspaces()),
        get(workspace_switch()),
        get(&workspace(ws)),
        get(&audit(ws)),
        get(&audit_csv(ws)),
        get(&insights(ws)),
        get(&insights_csv(ws)),
        get(&scripts(ws)),
        post(&scripts(ws)),
        get(&scripts_import(ws)),
        post(&scripts_import(ws)),
        get(&scripts_export(ws)),
        get(&script(ws, 1)),
        post(&script(ws, 1)),
        post(&script_submit(ws, 1)),
        get(&script_diff(ws, 1)),
        get(&tasks(ws)),
        get(&task(ws, TaskId(1))),
        get(&task_diff(ws, TaskId(1))),
        post(&release(ws)),
        post(&revoke(ws)),
        get(&packages(ws)),
        get(&package(ws, PackageId(1))),
        get(&package_progress(ws, PackageId(1))),
        post(&package_decision(ws, PackageId(1))),
        post(&package_reviewers(ws, PackageId(1))),
        post(&package_withdraw(ws, PackageId(1))),
        post(&package_override_freeze(ws, PackageId(1))),
        get(&package_compare(ws, PackageId(1))),
        get(&package_compare_diff(ws, PackageId(1))),
        get(&production(ws)),
        get(&region_tasks(ws)),
        post(&region_tasks(ws)),
        get(&region_task_new(ws)),
        get(&region_task(ws, RegionTaskId(1))),
        get(&region_task_edit(ws, RegionTaskId(1))),
        post(&region_task_edit(ws, RegionTaskId(1))),
        get(&region_task_process(ws, RegionTaskId(1))),
        post(&region_task_execute(ws, RegionTaskId(1))),
        post(&region_task_suspend(ws, RegionTaskId(1))),
        post(&region_task_rollback(ws, RegionTaskId(1))),
        post(&region_step_decision(ws, RegionTaskId(1), StepId(2))),
        get(&regions(ws)),
        post(&regions(ws)),
        get(&region(ws, 1)),
        post(&region(ws, 1)),
        get(&components(ws)),
        post(&components(ws)),
        get(&settings(ws)),
        post(&settings_general(ws)),
        post(&settings_members(ws)),
        post(&settings_member_role(ws, UserId(1))),
        post(&settings_member_remove(ws, UserId(1))),
        post(&settings_reviewers(ws)),
        post(&settings_reviewer_remove(ws, UserId(1))),
        get(&notification_hooks(ws)),
        post(&notification_hooks(ws)),
        get(&notification_hook(ws, 1)),
        post(&notification_hook(ws, 1)),
        post(&notification_hook_active(ws, 1)),
        post(&notification_hook_delete(ws, 1)),
        post(&notification_hook_test(ws, 1)),
        get(&freezes(ws)),
        post(&freezes(ws)),
        post(&freeze_delete(ws, 1)),
        post(&region_task_override_freeze(ws, RegionTaskId(1))),
        get(&deliveries(ws)),
        post(&delivery_retry(ws, 1)),
    ]
}

/// The route that answers `method path`: the first that matches, as actix tries them in
/// the order they were registered (a route's method guard is part of its match).
fn resolve(method: &str, path: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|(m, pattern)| *m == method && ResourceDef::new(*pattern).is_match(path))
        .map(|(_, pattern)| *pattern)
}

#[test]
fn every_address_is_a_route_of_the_app() {
    for (method, path) in built() {
        assert!(
            resolve(method, &path).is_some(),
            "{method} {path} matches no route"
        );
    }
}

/// The other way round: adding a route means adding its function here.
#[test]
fn every_route_has_an_address_here() {
    let resolved: Vec<_> = built()
        .iter()
        .filter_map(|(m, p)| resolve(m, p).map(|pattern| (*m, pattern)))
        .collect();
    let unaddressed = ["/healthz", "/metrics", "/static/{path:.*}"];
    for (method, pattern) in ROUTES {
        assert!(
            unaddressed.contains(pattern) || resolved.contains(&(method, pattern)),
            "{method} {pattern} has no function in paths.rs"
        );
    }
}
