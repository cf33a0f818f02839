//! One typed helper per state-changing route a test drives most (zero-to-production's `TestApp`
//! methods): each takes the ids as their types, builds the address through `releasedesk::paths`
//! and sends the form fields the page's own form sends, with the CSRF token. A test says what it
//! does (`bob.execute("rr", task, Some(2))`) instead of assembling a URL and field names.

use releasedesk::domain::{PackageId, RegionTaskId, StepId, TaskId, TokenId, UserId};
use releasedesk::paths;

use super::{Client, Resp};

impl Client {
    /// Creates an SQL script at `path` and submits its first version; returns its release task.
    pub async fn submit_new_script(&self, ws: &str, path: &str) -> TaskId {
        let resp = self
            .post(
                &paths::scripts(ws),
                &[
                    ("path", path),
                    ("script_type", "sql"),
                    ("schedule", ""),
                    ("description", ""),
                    ("content", "SELECT 1;\n"),
                ],
            )
            .await;
        assert_eq!(resp.status, 303, "{}", resp.body);
        let location = resp.location().unwrap().to_owned();
        let script_id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
        let submitted = self
            .post(
                &paths::script_submit(ws, script_id),
                &[("message", "first")],
            )
            .await;
        assert_eq!(submitted.status, 303, "{}", submitted.body);
        let toast = self.get(&location).await.texts(".toast-ok").join(" ");
        let task: i64 = toast
            .split("release task #")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no task in {toast:?}"));
        TaskId(task)
    }

    /// Release `tasks` as a package named `name` (empty: the default name), for `reviewers`'
    /// approval (none: a direct release, where the workspace's rules allow it).
    pub async fn release(
        &self,
        ws: &str,
        tasks: &[TaskId],
        reviewers: &[UserId],
        name: &str,
        comment: &str,
    ) -> Resp {
        let tasks: Vec<String> = tasks.iter().map(ToString::to_string).collect();
        let reviewers: Vec<String> = reviewers.iter().map(ToString::to_string).collect();
        // Left out when empty, as a browser sends the form's empty fields: the defaults apply.
        let mut form: Vec<(&str, &str)> = [("name", name), ("comment", comment)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        form.extend(tasks.iter().map(|t| ("task_ids", t.as_str())));
        form.extend(reviewers.iter().map(|r| ("reviewers", r.as_str())));
        self.post(&paths::release(ws), &form).await
    }

    /// A reviewer's decision on a package: `"approve"` or `"reject"`.
    pub async fn decide_package(
        &self,
        ws: &str,
        package: PackageId,
        decision: &str,
        comment: &str,
    ) -> Resp {
        self.post(
            &paths::package_decision(ws, package),
            &[("decision", decision), ("comment", comment)],
        )
        .await
    }

    /// Withdraw a waiting package (its tasks go back to pending).
    pub async fn withdraw(&self, ws: &str, package: PackageId) -> Resp {
        self.post(&paths::package_withdraw(ws, package), &[]).await
    }

    /// Execute a region task from step `start` (1-based), or from where it stopped (`None`).
    pub async fn execute(&self, ws: &str, task: RegionTaskId, start: Option<u32>) -> Resp {
        let start = start.map(|s| s.to_string());
        let form: Vec<(&str, &str)> = start.iter().map(|s| ("start", s.as_str())).collect();
        self.post(&paths::region_task_execute(ws, task), &form)
            .await
    }

    /// Suspend a running region task.
    pub async fn suspend(&self, ws: &str, task: RegionTaskId) -> Resp {
        self.post(&paths::region_task_suspend(ws, task), &[]).await
    }

    /// Roll a region task back, saying why.
    pub async fn rollback(&self, ws: &str, task: RegionTaskId, reason: &str) -> Resp {
        self.post(
            &paths::region_task_rollback(ws, task),
            &[("reason", reason)],
        )
        .await
    }

    /// A named person's decision on a checkpoint step: `"approve"` or `"reject"`.
    pub async fn decide_step(
        &self,
        ws: &str,
        task: RegionTaskId,
        step: StepId,
        decision: &str,
        comment: &str,
    ) -> Resp {
        self.post(
            &paths::region_step_decision(ws, task, step),
            &[("decision", decision), ("comment", comment)],
        )
        .await
    }

    /// Create an access token on the Account page: `days` and `scope` as the form sends them
    /// (empty: the form's field left empty).
    pub async fn create_token(&self, name: &str, days: &str, scope: &str) -> Resp {
        self.post(
            paths::account_tokens(),
            &[("name", name), ("expires_in_days", days), ("scope", scope)],
        )
        .await
    }

    /// Revoke a token from the Account page.
    pub async fn revoke_token(&self, token: TokenId) -> Resp {
        self.post(&paths::account_token_revoke(token), &[]).await
    }

    /// Revoke anyone's token from the tenant administrators' Access tokens page.
    pub async fn admin_revoke_token(&self, token: TokenId) -> Resp {
        self.post(&paths::admin_token_revoke(token), &[]).await
    }
}
