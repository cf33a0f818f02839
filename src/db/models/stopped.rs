//! Why a package or a region task is not moving (issue 24, "why it stopped"): the one answer
//! its page and its list row give. Waiting for whom (by name), rejected by whom and why, which
//! task or step failed with its error, which component a rollback could not restore, who
//! suspended it. Read for a whole page of rows at once: one query per kind of reason present on
//! the page, never one per row, and none for a kind the page does not show, so a page's
//! statements are bounded by the kinds of reason and never grow with its rows
//! (`tests/query_count.rs`). Asking for absent kinds too cost the Packages tab more than half its
//! throughput on PostgreSQL (BENCHMARKS.md).

use std::collections::HashMap;
use std::fmt;

use diesel::prelude::*;

use super::freezes;
use super::releases::Decision;
use crate::db::DbConn;
use crate::db::schema::{
    audit_log, components, execution_results, package_reviewers, package_tasks, region_executions,
    region_task_steps, regions, release_packages, release_tasks, step_people, users,
};
use crate::domain::{
    ExecutionKind, PackageId, PackageStatus, Quorum, RegionTaskId, RegionTaskStatus, ReleaseStatus,
    ResultStatus, StepKind, StepStatus, WorkspaceId,
};

/// The reason an item stands still.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// A package waits for its chosen reviewers who have not decided yet.
    Review {
        waiting: Vec<String>,
        quorum: Quorum,
    },
    /// A package was rejected.
    Rejected { by: String, comment: String },
    /// A package's wait for review expired (approval expiry) at its deadline; `waiting`: the
    /// reviewers still undecided then, when some others had approved (quorum all).
    Expired {
        at: chrono::NaiveDateTime,
        waiting: Vec<String>,
        approved: bool,
    },
    /// Some of a package's tasks failed: how many, and the first one's name and error.
    TasksFailed {
        failed: i64,
        first: String,
        error: String,
    },
    /// A region release waits at a checkpoint for the people named on it.
    Checkpoint {
        position: i32,
        kind: StepKind,
        people: Vec<String>,
    },
    /// A region task was suspended, or asked to be and stops after its running step
    /// (`stopping`), by whom when a person did.
    Suspended { by: Option<String>, stopping: bool },
    /// A region release failed at a step, with the step's message.
    StepFailed { position: i32, message: String },
    /// A freeze window holds a releasing package or region task (`freezes::Hold`'s words).
    Frozen(String),
    /// A rollback could not restore some components: how many, and the first with its error.
    RollbackFailed {
        failed: i64,
        first: String,
        error: String,
    },
}

/// "bob", "bob and carol", "bob, carol and dan" (or with "or").
fn names(list: &[String], last: &str) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Review { waiting, .. } if waiting.is_empty() => {
                write!(f, "Waiting for a reviewer")
            }
            Why::Review { waiting, quorum } => {
                let join = if *quorum == Quorum::All { "and" } else { "or" };
                write!(f, "Waiting for {}", names(waiting, join))
            }
            Why::Rejected { by, comment } if comment.is_empty() => write!(f, "Rejected by {by}"),
            Why::Rejected { by, comment } => write!(f, "Rejected by {by}: {comment}"),
            Why::Expired {
                at,
                waiting,
                approved,
            } => {
                write!(f, "Expired at {} UTC", at.format("%Y-%m-%d %H:%M"))?;
                match (approved, waiting.is_empty()) {
                    (false, _) => write!(f, " with no review"),
                    (true, false) => write!(f, " still waiting for {}", names(waiting, "and")),
                    // Its last undecided reviewer lost the right to review after the deadline.
                    (true, true) => write!(f, " before its approvals counted"),
                }
            }
            Why::TasksFailed {
                failed,
                first,
                error,
            } => {
                let n = crate::domain::count(*failed, "task", "tasks");
                write!(f, "{n} failed; first {first}")?;
                if !error.is_empty() {
                    write!(f, ": {error}")?;
                }
                Ok(())
            }
            Why::Checkpoint {
                position,
                kind,
                people,
            } => write!(
                f,
                "Waiting at step {position} ({}) for {}",
                kind.label(),
                if people.is_empty() {
                    "a decision".to_owned()
                } else {
                    names(people, "or")
                }
            ),
            Why::Suspended { by, stopping: true } => {
                write!(f, "Stops after the running step")?;
                match by {
                    Some(by) => write!(f, ", as {by} asked"),
                    None => Ok(()),
                }
            }
            Why::Suspended { by: Some(by), .. } => write!(f, "Suspended by {by}"),
            Why::Suspended { by: None, .. } => write!(f, "Suspended"),
            Why::StepFailed { position, message } if message.is_empty() => {
                write!(f, "Failed at step {position}")
            }
            // A checkpoint's rejection is kept as "rejected: <comment>".
            Why::StepFailed { position, message } => match message.strip_prefix("rejected: ") {
                Some(comment) => write!(f, "Rejected at step {position}: {comment}"),
                None => write!(f, "Failed at step {position}: {message}"),
            },
            Why::Frozen(hold) => write!(f, "{hold}"),
            Why::RollbackFailed {
                failed,
                first,
                error,
            } => {
                let n = crate::domain::count(*failed, "component", "components");
                write!(f, "{n} not restored; first {first}: {error}")
            }
        }
    }
}

/// Why each of `packages` (id and status, all of workspace `workspace_id`) that stands still
/// does: pending approval, rejected, failed or partially failed, or releasing but held by a
/// freeze window. Packages that move or are done are left out.
pub fn packages(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    packages: &[(PackageId, PackageStatus)],
) -> QueryResult<HashMap<PackageId, Why>> {
    let with = |wanted: &[PackageStatus]| -> Vec<PackageId> {
        packages
            .iter()
            .filter(|(_, s)| wanted.contains(s))
            .map(|(id, _)| *id)
            .collect()
    };
    let mut why = HashMap::new();

    let pending = with(&[PackageStatus::PendingApproval]);
    if !pending.is_empty() {
        // One row per reviewer still to decide, and one with no name for a package that waits
        // on nobody named (all of its chosen reviewers left).
        let rows: Vec<(PackageId, Quorum, Option<String>)> = release_packages::table
            .left_join(
                package_reviewers::table.on(package_reviewers::package_id
                    .eq(release_packages::id)
                    .and(package_reviewers::decision.is_null())),
            )
            .left_join(
                users::table.on(users::id
                    .nullable()
                    .eq(package_reviewers::reviewer_id.nullable())),
            )
            .filter(release_packages::id.eq_any(&pending))
            .order((release_packages::id, users::username))
            .select((
                release_packages::id,
                release_packages::quorum,
                users::username.nullable(),
            ))
            .load(conn)?;
        for (id, quorum, name) in rows {
            if let Why::Review { waiting, .. } = why.entry(id).or_insert(Why::Review {
                waiting: Vec::new(),
                quorum,
            }) {
                waiting.extend(name);
            }
        }
    }

    let rejected = with(&[PackageStatus::Rejected]);
    if !rejected.is_empty() {
        let rows: Vec<(PackageId, String, String)> = package_reviewers::table
            .inner_join(users::table.on(users::id.eq(package_reviewers::reviewer_id)))
            .filter(package_reviewers::package_id.eq_any(&rejected))
            .filter(package_reviewers::decision.eq(Decision::Reject))
            .order((package_reviewers::package_id, package_reviewers::decided_at))
            .select((
                package_reviewers::package_id,
                users::username,
                package_reviewers::comment,
            ))
            .load(conn)?;
        for (id, by, comment) in rows {
            why.entry(id).or_insert(Why::Rejected { by, comment });
        }
        // Rejected by someone not on the list (an admin): the package's decider.
        let rest: Vec<PackageId> = rejected
            .into_iter()
            .filter(|id| !why.contains_key(id))
            .collect();
        if !rest.is_empty() {
            let rows: Vec<(PackageId, Option<String>)> = release_packages::table
                .left_join(users::table.on(release_packages::decided_by.eq(users::id.nullable())))
                .filter(release_packages::id.eq_any(&rest))
                .select((release_packages::id, users::username.nullable()))
                .load(conn)?;
            for (id, by) in rows {
                why.insert(
                    id,
                    Why::Rejected {
                        by: by.unwrap_or_else(|| "a former member".into()),
                        comment: String::new(),
                    },
                );
            }
        }
    }

    let releasing = with(&[PackageStatus::Releasing]);
    for (id, hold) in freezes::held_packages(conn, workspace_id, &releasing)? {
        why.insert(id, Why::Frozen(hold.to_string()));
    }

    let expired = with(&[PackageStatus::Expired]);
    if !expired.is_empty() {
        let at: Vec<(PackageId, Option<chrono::NaiveDateTime>)> = release_packages::table
            .filter(release_packages::id.eq_any(&expired))
            .select((release_packages::id, release_packages::expires_at))
            .load(conn)?;
        let seats: Vec<(PackageId, String, Option<Decision>)> = package_reviewers::table
            .inner_join(users::table.on(users::id.eq(package_reviewers::reviewer_id)))
            .filter(package_reviewers::package_id.eq_any(&expired))
            .order((package_reviewers::package_id, users::username))
            .select((
                package_reviewers::package_id,
                users::username,
                package_reviewers::decision,
            ))
            .load(conn)?;
        for (id, at) in at {
            let mine = seats.iter().filter(|(p, ..)| *p == id);
            let approved = mine.clone().any(|(.., d)| *d == Some(Decision::Approve));
            let waiting = mine
                .filter(|(.., d)| d.is_none())
                .map(|(_, n, _)| n.clone())
                .collect();
            let at = at.unwrap_or_default();
            why.insert(
                id,
                Why::Expired {
                    at,
                    waiting,
                    approved,
                },
            );
        }
    }

    let failed = with(&[PackageStatus::Failed, PackageStatus::PartiallyFailed]);
    if !failed.is_empty() {
        let rows: Vec<(PackageId, String, String)> = package_tasks::table
            .inner_join(release_tasks::table)
            .filter(package_tasks::package_id.eq_any(&failed))
            .filter(package_tasks::release_status.eq(ReleaseStatus::Failed))
            .order((package_tasks::package_id, package_tasks::position))
            .select((
                package_tasks::package_id,
                release_tasks::name,
                package_tasks::message,
            ))
            .load(conn)?;
        for (id, name, error) in rows {
            match why.entry(id).or_insert(Why::TasksFailed {
                failed: 0,
                first: name,
                error,
            }) {
                Why::TasksFailed { failed, .. } => *failed += 1,
                _ => unreachable!("only failed packages are read here"),
            }
        }
    }
    Ok(why)
}

/// Why each of `tasks` (id and status, all of workspace `workspace_id`) that stands still does:
/// waiting at a checkpoint (its status stays `releasing`), held by a freeze window, suspended,
/// release failed or rollback failed.
pub fn region_tasks(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    tasks: &[(RegionTaskId, RegionTaskStatus)],
) -> QueryResult<HashMap<RegionTaskId, Why>> {
    let with = |wanted: &[RegionTaskStatus]| -> Vec<RegionTaskId> {
        tasks
            .iter()
            .filter(|(_, s)| wanted.contains(s))
            .map(|(id, _)| *id)
            .collect()
    };
    let mut why = HashMap::new();

    let releasing = with(&[RegionTaskStatus::Releasing]);
    if !releasing.is_empty() {
        // Each waiting step once per person named on it (once with no one, if none is).
        let waiting: Vec<(RegionTaskId, i32, StepKind, Option<String>)> = region_task_steps::table
            .left_join(step_people::table.left_join(users::table))
            .filter(region_task_steps::task_id.eq_any(&releasing))
            .filter(region_task_steps::status.eq(StepStatus::Waiting))
            .order((region_task_steps::task_id, users::username))
            .select((
                region_task_steps::task_id,
                region_task_steps::position,
                region_task_steps::kind,
                users::username.nullable(),
            ))
            .load(conn)?;
        for (task, position, kind, person) in waiting {
            if let Why::Checkpoint { people, .. } = why.entry(task).or_insert(Why::Checkpoint {
                position,
                kind,
                people: Vec::new(),
            }) {
                people.extend(person);
            }
        }
    }

    // Releasing and not at a checkpoint: held, if a window covers one of its regions.
    let deploying: Vec<RegionTaskId> = releasing
        .iter()
        .filter(|t| !why.contains_key(*t))
        .copied()
        .collect();
    let on = if deploying.is_empty() {
        Vec::new()
    } else {
        freezes::active(conn, workspace_id, chrono::Utc::now())?
    };
    if !on.is_empty() {
        let rows: Vec<(RegionTaskId, i64)> = region_task_steps::table
            .filter(region_task_steps::task_id.eq_any(&deploying))
            .filter(region_task_steps::region_id.is_not_null())
            .select((
                region_task_steps::task_id,
                region_task_steps::region_id.assume_not_null(),
            ))
            .distinct()
            .load(conn)?;
        let with_regions: Vec<(RegionTaskId, Vec<i64>)> = deploying
            .iter()
            .map(|t| {
                let regions = rows
                    .iter()
                    .filter(|(r, _)| r == t)
                    .map(|(_, g)| *g)
                    .collect();
                (*t, regions)
            })
            .collect();
        for (id, hold) in freezes::held_region_tasks(conn, &on, &with_regions)? {
            why.insert(id, Why::Frozen(hold.to_string()));
        }
    }

    let suspended = with(&[RegionTaskStatus::Suspended, RegionTaskStatus::Suspending]);
    if !suspended.is_empty() {
        let ids: Vec<i64> = suspended.iter().map(|t| t.get()).collect();
        let rows: Vec<(Option<i64>, String)> = audit_log::table
            .inner_join(users::table.on(audit_log::actor_id.eq(users::id.nullable())))
            .filter(audit_log::target_type.eq("region_task"))
            .filter(audit_log::target_id.eq_any(&ids))
            .filter(
                audit_log::action
                    .eq_any(["region_task.suspended", "region_task.suspend_requested"]),
            )
            .order(audit_log::id.desc())
            .select((audit_log::target_id, users::username))
            .load(conn)?;
        // The latest asker of each task.
        let mut by: HashMap<i64, String> = HashMap::new();
        for (task, name) in rows {
            if let Some(task) = task {
                by.entry(task).or_insert(name);
            }
        }
        for (task, status) in tasks {
            if !suspended.contains(task) {
                continue;
            }
            let who = by.get(&task.get()).cloned();
            let stopping = *status == RegionTaskStatus::Suspending;
            why.insert(*task, Why::Suspended { by: who, stopping });
        }
    }

    let failed = with(&[RegionTaskStatus::ReleaseFailed]);
    if !failed.is_empty() {
        let rows: Vec<(RegionTaskId, i32, String)> = region_task_steps::table
            .filter(region_task_steps::task_id.eq_any(&failed))
            .filter(region_task_steps::status.eq_any([StepStatus::Failed, StepStatus::Rejected]))
            .order((region_task_steps::task_id, region_task_steps::position))
            .select((
                region_task_steps::task_id,
                region_task_steps::position,
                region_task_steps::message,
            ))
            .load(conn)?;
        for (task, position, message) in rows {
            why.entry(task)
                .or_insert(Why::StepFailed { position, message });
        }
    }

    let rollback_failed = with(&[RegionTaskStatus::RollbackFailed]);
    if !rollback_failed.is_empty() {
        // The latest rollback of each task, and its failed components.
        let rows: Vec<(RegionTaskId, i64, String, String, String)> = execution_results::table
            .inner_join(region_executions::table)
            .inner_join(components::table)
            .inner_join(regions::table.on(regions::id.eq(execution_results::region_id)))
            .filter(region_executions::task_id.eq_any(&rollback_failed))
            .filter(region_executions::kind.eq(ExecutionKind::Rollback))
            .filter(execution_results::status.eq(ResultStatus::Failed))
            .order((region_executions::task_id, region_executions::id.desc()))
            .then_order_by(execution_results::id)
            .select((
                region_executions::task_id,
                region_executions::id,
                components::name,
                regions::name,
                execution_results::message,
            ))
            .load(conn)?;
        let mut latest: HashMap<RegionTaskId, i64> = HashMap::new();
        for (task, exec, component, region, message) in rows {
            if *latest.entry(task).or_insert(exec) != exec {
                continue;
            }
            match why.entry(task).or_insert(Why::RollbackFailed {
                failed: 0,
                first: format!("{component} in {region}"),
                error: message,
            }) {
                Why::RollbackFailed { failed, .. } => *failed += 1,
                _ => unreachable!("only rollback-failed tasks are read here"),
            }
        }
    }
    Ok(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_a_sentence() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&list(&["bob"]), "or"), "bob");
        assert_eq!(names(&list(&["bob", "carol"]), "and"), "bob and carol");
        assert_eq!(names(&list(&["a", "b", "c"]), "or"), "a, b or c");
        let review = Why::Review {
            waiting: list(&["bob", "carol"]),
            quorum: Quorum::All,
        };
        assert_eq!(review.to_string(), "Waiting for bob and carol");
        let failed = Why::TasksFailed {
            failed: 2,
            first: "etl/a.sql".into(),
            error: "syntax error".into(),
        };
        assert_eq!(
            failed.to_string(),
            "2 tasks failed; first etl/a.sql: syntax error"
        );
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(5, 45, 10)
            .unwrap();
        let expired = |waiting: &[&str], approved| Why::Expired {
            at,
            waiting: list(waiting),
            approved,
        };
        assert_eq!(
            expired(&["bob"], false).to_string(),
            "Expired at 2026-12-07 05:45 UTC with no review"
        );
        assert_eq!(
            expired(&["carol"], true).to_string(),
            "Expired at 2026-12-07 05:45 UTC still waiting for carol"
        );
    }
}
