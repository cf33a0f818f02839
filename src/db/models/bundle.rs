//! Script bundles: the JSON format of Import and Export. A bundle is checked whole before
//! anything is written, and imported in one transaction, so a bad entry changes nothing.
//! `submitted` scripts get a version and a release task (as if submitted in the editor).
//! `released` scripts obey the approval policy like a release from the Tasks tab
//! (`ReleasedRoute`): live at once where the importer releases directly (or in simple mode),
//! otherwise one package awaiting the reviewers chosen on the import form.

use serde::{Deserialize, Serialize};

use super::audit::{self, AuditEntry};
use super::releases::{self, ReleaseRequest};
use super::scripts::{self, AfterSubmit, Script, ScriptDraft, ScriptVersion};
use super::{production, workspaces};
use crate::db::schema::{release_tasks, scripts as scripts_t};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    ApprovalPolicy, Permission, ScriptPath, ScriptType, TaskStatus, WorkspaceAccess, WorkspaceMode,
    validate_schedule,
};
use crate::error::AppError;
use diesel::prelude::*;

/// The format tag every bundle carries.
pub const FORMAT: &str = "releasedesk.scripts/v1";
/// The most scripts one bundle may hold.
pub const MAX_SCRIPTS: usize = 1000;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub scripts: Vec<BundleScript>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleScript {
    pub path: String,
    #[serde(rename = "type")]
    pub script_type: String,
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub description: String,
    pub content: String,
    /// `submitted` or `released`.
    pub state: String,
    #[serde(default)]
    pub message: String,
}

/// A checked entry.
struct Entry {
    path: ScriptPath,
    draft: ScriptDraft,
    released: bool,
    message: String,
}

/// Parses and checks a bundle; the error names the first bad entry.
fn check(json: &str) -> Result<Vec<Entry>, AppError> {
    let bad = |msg: String| AppError::field("bundle", msg);
    let bundle: Bundle = serde_json::from_str(json)
        .map_err(|e| bad(format!("This is not a script bundle: {e}.")))?;
    if bundle.format != FORMAT {
        return Err(bad(format!(
            "Unknown format “{}”: expected “{FORMAT}”.",
            bundle.format
        )));
    }
    if bundle.scripts.is_empty() {
        return Err(bad("The bundle has no scripts.".into()));
    }
    if bundle.scripts.len() > MAX_SCRIPTS {
        return Err(bad(format!(
            "A bundle holds at most {MAX_SCRIPTS} scripts; this one has {}.",
            bundle.scripts.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, s) in bundle.scripts.into_iter().enumerate() {
        let at = |msg: String| bad(format!("scripts[{i}] ({}): {msg}", s.path));
        let path = ScriptPath::parse(&s.path).map_err(|e| at(e.0))?;
        if !seen.insert(path.as_str().to_owned()) {
            return Err(at("the path appears twice in the bundle".into()));
        }
        let script_type = ScriptType::parse(&s.script_type).ok_or_else(|| {
            at(format!(
                "unknown type “{}” (sql, shell, python, spark, hive)",
                s.script_type
            ))
        })?;
        let schedule = validate_schedule(&s.schedule).map_err(|e| at(e.0))?;
        let released = match s.state.as_str() {
            "submitted" => false,
            "released" => true,
            other => {
                return Err(at(format!(
                    "state is “submitted” or “released”, not “{other}”"
                )));
            }
        };
        if s.content.len() > crate::routes::scripts::MAX_SCRIPT_BYTES {
            return Err(at("the content is larger than 1 MiB".into()));
        }
        let message = if s.message.trim().is_empty() {
            "Imported".to_owned()
        } else {
            s.message.trim().chars().take(500).collect()
        };
        out.push(Entry {
            path,
            draft: ScriptDraft {
                script_type,
                schedule,
                description: s.description.chars().take(2000).collect(),
                content: s.content,
            },
            released,
            message,
        });
    }
    Ok(out)
}

/// How an importer's `released` entries reach production: the rule of the Tasks tab's Release
/// (`releases::needs_approval`), so import is no way around the approval policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleasedRoute {
    /// Simple mode: every submission is live at once, whoever submits it.
    SimpleMode,
    /// The importer releases directly under the policy (as a deployer's Release does).
    Direct,
    /// The importer's releases need approval: the entries that change production go, together,
    /// into one package for the reviewers chosen on the import form.
    Review,
}

impl ReleasedRoute {
    pub fn of(mode: WorkspaceMode, policy: ApprovalPolicy, access: &WorkspaceAccess) -> Self {
        match mode {
            WorkspaceMode::Simple => ReleasedRoute::SimpleMode,
            WorkspaceMode::Enterprise if releases::needs_approval(policy, access) => {
                ReleasedRoute::Review
            }
            WorkspaceMode::Enterprise => ReleasedRoute::Direct,
        }
    }

    /// How an entry this route puts live at once is submitted.
    fn live(self, actor_id: i64) -> AfterSubmit {
        AfterSubmit::Live(self.authority(actor_id), self.live_comment())
    }

    /// What allows this route's entries to go live, checked again by `production::apply`
    /// (a `Review` entry never goes live on import: the guard would refuse it).
    fn authority(self, actor_id: i64) -> production::Authority {
        match self {
            ReleasedRoute::SimpleMode => production::Authority::SimpleMode { actor_id },
            ReleasedRoute::Direct | ReleasedRoute::Review => {
                production::Authority::Direct { actor_id }
            }
        }
    }

    /// The `production.applied` audit comment of an entry this route puts live at once.
    fn live_comment(self) -> &'static str {
        match self {
            ReleasedRoute::SimpleMode => "imported in simple mode: live at once",
            ReleasedRoute::Direct | ReleasedRoute::Review => "imported: released directly",
        }
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Release tasks created for `submitted` entries (waiting to be released).
    pub tasks: usize,
    /// Entries live at once.
    pub released: usize,
    /// `released` entries waiting for review in `package`.
    pub for_review: usize,
    pub unchanged: usize,
    /// The package the `released` entries wait in, when the importer needs approval.
    pub package: Option<releases::Released>,
}

/// Imports a bundle (workspace admins). All or nothing: a bad entry, a missing reviewer or a
/// refused release rolls back every entry.
///
/// `released` entries follow `ReleasedRoute`. Under `Review`, each one that would change
/// production is submitted as a version with a release task, and the tasks are then released
/// together by `releases::release`, with the importer as applicant and `reviewers` as its
/// reviewers (the same checks as the Tasks tab: eligible, never the applicant, at most
/// `MAX_TASKS_PER_PACKAGE` tasks). `reviewers` is ignored when no package is needed.
pub fn import(
    conn: &mut DbConn,
    actor_id: i64,
    workspace_id: i64,
    json: &str,
    reviewers: &[i64],
) -> Result<Imported, AppError> {
    let entries = check(json)?;
    write_tx(conn, |conn| {
        let access = workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let ws = workspaces::get(conn, workspace_id)?;
        let route = ReleasedRoute::of(ws.mode(), ws.approval_policy(), &access);
        let mut done = Imported::default();
        let mut to_review: Vec<i64> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let script = upsert_script(conn, actor_id, workspace_id, e)?;
            let then = match (e.released, route) {
                (true, ReleasedRoute::Review) => AfterSubmit::Task,
                (true, _) | (false, ReleasedRoute::SimpleMode) => route.live(actor_id),
                (false, _) => AfterSubmit::Task,
            };
            match scripts::submit_in_tx(conn, actor_id, then, &script, &e.draft.content, &e.message)
            {
                Ok(sub) if sub.live => {
                    if e.released {
                        supersede_older(conn, actor_id, workspace_id, &script, sub.version.number)?;
                    }
                    done.released += 1;
                }
                Ok(sub) => match sub.task_id {
                    Some(task) if e.released => to_review.push(task),
                    Some(_) => done.tasks += 1,
                    // Production already runs this content.
                    None => done.unchanged += 1,
                },
                // The same content as the latest version: no new version for this script.
                Err(AppError::Field {
                    field: "message", ..
                }) if e.released => {
                    let latest = scripts::version(conn, script.id, script.latest_version)?
                        .ok_or(AppError::NotFound)?;
                    match latest_for_release(conn, &script, &latest)? {
                        Latest::Live => done.unchanged += 1,
                        Latest::NotLive { task: _ } if route != ReleasedRoute::Review => {
                            production::apply(
                                conn,
                                workspace_id,
                                &latest,
                                route.authority(actor_id),
                            )?;
                            supersede_older(conn, actor_id, workspace_id, &script, latest.number)?;
                            audit::record(
                                conn,
                                AuditEntry {
                                    workspace_id: Some(workspace_id),
                                    actor_id: Some(actor_id),
                                    action: "production.applied",
                                    target_type: "script",
                                    target_id: Some(script.id),
                                    target_label: &format!("{} v{}", script.path, latest.number),
                                    comment: route.live_comment(),
                                },
                            )?;
                            done.released += 1;
                        }
                        Latest::NotLive {
                            task: Some((task, status)),
                        } if status.can_release() => to_review.push(task),
                        // Already in a package on its way to production.
                        Latest::NotLive {
                            task: Some((_, TaskStatus::InReview | TaskStatus::Releasing)),
                        } => done.unchanged += 1,
                        Latest::NotLive { task } => {
                            let why = task.map_or("has no release task".to_owned(), |(_, s)| {
                                format!("its release task is {}", s.label().to_lowercase())
                            });
                            return Err(AppError::field(
                                "bundle",
                                format!(
                                    "scripts[{i}] ({}): this content is v{}, which is not live and \
                                     cannot be sent for review ({why}); change the content to \
                                     submit a new version",
                                    script.path, latest.number
                                ),
                            ));
                        }
                    }
                }
                Err(AppError::Field {
                    field: "message", ..
                }) => done.unchanged += 1,
                Err(other) => return Err(other),
            }
        }
        if !to_review.is_empty() {
            done.for_review = to_review.len();
            done.package = Some(send_for_review(
                conn,
                actor_id,
                workspace_id,
                ws.approval_policy(),
                to_review,
                reviewers,
            )?);
        }
        let package = done
            .package
            .as_ref()
            .map_or(String::new(), |p| format!(" in package “{}”", p.name));
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "scripts.imported",
                target_type: "workspace",
                target_id: Some(workspace_id),
                target_label: &ws.slug,
                comment: &format!(
                    "{}: {}, {} released, {} sent for review{package}, {} unchanged",
                    crate::domain::count(entries.len() as i64, "script", "scripts"),
                    crate::domain::count(done.tasks as i64, "release task", "release tasks"),
                    done.released,
                    done.for_review,
                    done.unchanged
                ),
            },
        )?;
        Ok(done)
    })
}

/// The entry's script, created empty if the path is new, with its draft set to the entry.
fn upsert_script(
    conn: &mut DbConn,
    actor_id: i64,
    workspace_id: i64,
    e: &Entry,
) -> Result<Script, AppError> {
    let script = match scripts::find_by_path(conn, workspace_id, e.path.as_str())? {
        Some(s) => s,
        None => {
            let ts = now();
            diesel::insert_into(scripts_t::table)
                .values((
                    scripts_t::workspace_id.eq(workspace_id),
                    scripts_t::path.eq(e.path.as_str()),
                    scripts_t::script_type.eq(e.draft.script_type.as_str()),
                    scripts_t::draft_content.eq(""),
                    scripts_t::schedule.eq(""),
                    scripts_t::description.eq(""),
                    scripts_t::owner_id.eq(Some(actor_id)),
                    scripts_t::latest_version.eq(0),
                    scripts_t::created_by.eq(Some(actor_id)),
                    scripts_t::created_at.eq(ts),
                    scripts_t::updated_at.eq(ts),
                ))
                .execute(conn)?;
            scripts::find_by_path(conn, workspace_id, e.path.as_str())?.ok_or(AppError::NotFound)?
        }
    };
    diesel::update(scripts_t::table.find(script.id))
        .set((
            scripts_t::script_type.eq(e.draft.script_type.as_str()),
            scripts_t::draft_content.eq(&e.draft.content),
            scripts_t::schedule.eq(&e.draft.schedule),
            scripts_t::description.eq(e.draft.description.trim()),
        ))
        .execute(conn)?;
    scripts::find(conn, workspace_id, script.id)?.ok_or(AppError::NotFound)
}

/// A version that went live at once makes the script's older unreleased tasks stale.
fn supersede_older(
    conn: &mut DbConn,
    actor_id: i64,
    workspace_id: i64,
    script: &Script,
    number: i32,
) -> Result<usize, AppError> {
    let older: Vec<i64> = release_tasks::table
        .filter(release_tasks::script_id.eq(script.id))
        .filter(release_tasks::status.eq_any(TaskStatus::WITHDRAWABLE.map(TaskStatus::as_str)))
        .select(release_tasks::id)
        .load(conn)?;
    releases::withdraw(
        conn,
        actor_id,
        workspace_id,
        &older,
        TaskStatus::Superseded,
        &format!("superseded by imported v{number}"),
    )
}

/// Where a script's latest version stands, for a `released` entry equal to it.
enum Latest {
    /// Production runs its content.
    Live,
    /// Production runs something else (or nothing); the version's release task, if any.
    NotLive { task: Option<(i64, TaskStatus)> },
}

fn latest_for_release(
    conn: &mut DbConn,
    script: &Script,
    latest: &ScriptVersion,
) -> Result<Latest, AppError> {
    let live = production::live_version(conn, script.id)?.is_some_and(|(_, c, t, s)| {
        c == latest.content && t == latest.script_type && s == latest.schedule
    });
    if live {
        return Ok(Latest::Live);
    }
    let task: Option<(i64, String)> = release_tasks::table
        .filter(release_tasks::version_id.eq(latest.id))
        .order(release_tasks::id.desc())
        .select((release_tasks::id, release_tasks::status))
        .first(conn)
        .optional()?;
    Ok(Latest::NotLive {
        task: task.map(|(id, s)| (id, TaskStatus::parse(&s).unwrap_or(TaskStatus::Pending))),
    })
}

/// Releases the import's tasks as one package awaiting review, through the Tasks tab's
/// `releases::release`, so its rules hold here too. The checks that have an import-specific
/// message come first.
fn send_for_review(
    conn: &mut DbConn,
    actor_id: i64,
    workspace_id: i64,
    policy: ApprovalPolicy,
    task_ids: Vec<i64>,
    reviewers: &[i64],
) -> Result<releases::Released, AppError> {
    let policy = policy.as_str();
    if task_ids.len() > releases::MAX_TASKS_PER_PACKAGE {
        return Err(AppError::field(
            "bundle",
            format!(
                "{} released entries change production; under the approval policy “{policy}” \
                 they go into one package for review, which holds at most {} tasks. Split the \
                 bundle.",
                task_ids.len(),
                releases::MAX_TASKS_PER_PACKAGE
            ),
        ));
    }
    if reviewers.is_empty() {
        return Err(AppError::field(
            "reviewers",
            format!(
                "Choose at least one reviewer: under the approval policy “{policy}” released \
                 entries need review."
            ),
        ));
    }
    releases::release(
        conn,
        actor_id,
        workspace_id,
        &ReleaseRequest {
            task_ids,
            name: format!("import-{}", now().format("%Y%m%d-%H%M%S")),
            comment: "Imported from a script bundle (released entries).".into(),
            reviewers: reviewers.to_vec(),
        },
    )
}

/// Every versioned script of a workspace in bundle form: its latest version, `released` when
/// that version is live, else `submitted`.
pub fn export(conn: &mut DbConn, workspace_id: i64) -> Result<Bundle, AppError> {
    let rows = scripts::list(conn, workspace_id)?;
    let mut out = Vec::new();
    for row in rows.into_iter().filter(|r| r.latest_version > 0) {
        let v = scripts::version(conn, row.id, row.latest_version)?.ok_or(AppError::NotFound)?;
        let script = scripts::find(conn, workspace_id, row.id)?.ok_or(AppError::NotFound)?;
        out.push(BundleScript {
            path: row.path,
            script_type: v.script_type,
            schedule: v.schedule,
            description: script.description,
            content: v.content,
            state: if row.live_version == Some(row.latest_version) {
                "released"
            } else {
                "submitted"
            }
            .into(),
            message: v.message,
        });
    }
    Ok(Bundle {
        format: FORMAT.into(),
        scripts: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    /// The rule of the Tasks tab's Release, for every kind of importer. Only workspace admins
    /// and tenant admins may import today (`Permission::Manage`), so a developer under
    /// `developers` cannot reach `import`; should that change, their entries wait for review.
    #[test]
    fn released_entries_follow_the_release_rule() {
        use ApprovalPolicy::{Developers, Everyone};
        use ReleasedRoute::{Direct, Review, SimpleMode};
        use WorkspaceMode::{Enterprise, Simple};
        let role = |r| WorkspaceAccess {
            role: Some(r),
            tenant_admin: false,
        };
        let tenant = WorkspaceAccess {
            role: None,
            tenant_admin: true,
        };
        let route = ReleasedRoute::of;
        assert_eq!(
            route(Enterprise, Developers, &role(Role::Developer)),
            Review
        );
        for direct in [role(Role::Deployer), role(Role::Admin), tenant] {
            assert_eq!(route(Enterprise, Developers, &direct), Direct);
            assert_eq!(route(Enterprise, Everyone, &direct), Review);
            assert_eq!(route(Simple, Everyone, &direct), SimpleMode);
        }
        assert_eq!(
            route(Simple, Developers, &role(Role::Developer)),
            SimpleMode
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let json = r#"{"format":"releasedesk.scripts/v1","scripts":[
            {"path":"a/ok.sql","type":"sql","content":"SELECT 1","state":"submitted"},
            {"path":"a/bad.sql","type":"cobol","content":"x","state":"submitted"}]}"#;
        let Err(AppError::Field { message, .. }) = check(json) else {
            panic!("accepted")
        };
        assert!(
            message.starts_with("scripts[1] (a/bad.sql): unknown type “cobol”"),
            "{message}"
        );
        assert!(check("{").is_err());
        assert!(check(r#"{"format":"other","scripts":[]}"#).is_err());
    }
}
