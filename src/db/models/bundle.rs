//! Script bundles: the JSON format of Import and Export. A bundle is checked whole before
//! anything is written, and imported in one transaction, so a bad entry changes nothing.
//! `submitted` scripts get a version and a release task (as if submitted in the editor).
//! `released` scripts obey the approval policy like a release from the Tasks tab
//! (`ReleasedRoute`): live at once where the importer releases directly (or in simple mode),
//! otherwise one package awaiting the reviewers chosen on the import form.

use crate::domain::{TaskId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};

use super::audit::{self, AuditEntry};
use super::releases::{self, ReleaseRequest};
use super::scripts::{self, AfterSubmit, Script, ScriptDraft, ScriptVersion};
use super::{production, workspaces};
use crate::db::schema::{production_scripts, release_tasks, script_versions, scripts as scripts_t};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{
    ApprovalPolicy, Comment, Description, PackageName, Permission, ScriptPath, ScriptType,
    TaskStatus, WorkspaceAccess, WorkspaceMode, validate_schedule,
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
        if s.content.len() > crate::domain::limits::MAX_SCRIPT_BYTES {
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
                description: Description::truncated(&s.description),
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
    fn live(self, actor_id: UserId) -> AfterSubmit {
        AfterSubmit::Live(self.authority(actor_id), self.live_comment())
    }

    /// What allows this route's entries to go live, checked again by `production::apply`
    /// (a `Review` entry never goes live on import: the guard would refuse it).
    fn authority(self, actor_id: UserId) -> production::Authority {
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
    actor_id: UserId,
    workspace_id: WorkspaceId,
    json: &str,
    reviewers: &[UserId],
) -> Result<Imported, AppError> {
    let entries = check(json)?;
    write_tx(conn, |conn| {
        let access = workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let ws = workspaces::get(conn, workspace_id)?;
        let route = ReleasedRoute::of(ws.mode(), ws.approval_policy(), &access);
        let mut done = Imported::default();
        let mut to_review: Vec<TaskId> = Vec::new();
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
                target_id: Some(workspace_id.get()),
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
    actor_id: UserId,
    workspace_id: WorkspaceId,
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
                    scripts_t::script_type.eq(e.draft.script_type),
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
            scripts_t::script_type.eq(e.draft.script_type),
            scripts_t::draft_content.eq(&e.draft.content),
            scripts_t::schedule.eq(&e.draft.schedule),
            scripts_t::description.eq(e.draft.description.as_str()),
        ))
        .execute(conn)?;
    scripts::find(conn, workspace_id, script.id)?.ok_or(AppError::NotFound)
}

/// A version that went live at once makes the script's older unreleased tasks stale.
fn supersede_older(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    script: &Script,
    number: i32,
) -> Result<usize, AppError> {
    let older: Vec<TaskId> = release_tasks::table
        .filter(release_tasks::script_id.eq(script.id))
        .filter(release_tasks::status.eq_any(TaskStatus::WITHDRAWABLE))
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
    NotLive { task: Option<(TaskId, TaskStatus)> },
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
    let task = release_tasks::table
        .filter(release_tasks::version_id.eq(latest.id))
        .order(release_tasks::id.desc())
        .select((release_tasks::id, release_tasks::status))
        .first(conn)
        .optional()?;
    Ok(Latest::NotLive { task })
}

/// Releases the import's tasks as one package awaiting review, through the Tasks tab's
/// `releases::release`, so its rules hold here too. The checks that have an import-specific
/// message come first.
fn send_for_review(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    policy: ApprovalPolicy,
    task_ids: Vec<TaskId>,
    reviewers: &[UserId],
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
            name: PackageName::parse(&format!("import-{}", now().format("%Y%m%d-%H%M%S")))
                .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?,
            comment: Comment::parse("Imported from a script bundle (released entries).")
                .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?,
            reviewers: reviewers.to_vec(),
        },
    )
}

/// Scripts one page of a streamed export reads at most.
pub const EXPORT_PAGE_SCRIPTS: i64 = 500;

/// Bytes of script content one page of a streamed export holds at most (but always one
/// script): scripts are up to 1 MiB, so 500 of them could otherwise be 500 MiB.
pub const EXPORT_PAGE_BYTES: i64 = 1024 * 1024;

/// An export in progress: every versioned script of a workspace, by path, in bundle form (its
/// latest version, `released` when that version is live, else `submitted`), written page by
/// page so memory stays one page whatever the workspace's size. The bytes are exactly
/// `serde_json::to_string_pretty(&Bundle)` of the whole export.
///
/// Pages are read in path order after the last path written (keyset), each in its own
/// statement: a script created during an export is in it when its path comes later. Versions
/// never change, so a page's content is the version its listing named.
pub struct Export {
    workspace_id: WorkspaceId,
    /// Listed but not yet written: what the last listing read past the byte budget.
    listed: std::collections::VecDeque<Listed>,
    /// The path of the last script listed, where the next listing starts.
    after: Option<String>,
    /// The listing found no more scripts.
    listed_all: bool,
    /// Scripts written so far (the first needs no comma).
    written: usize,
    state: ExportState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportState {
    Start,
    Scripts,
    Done,
}

/// One script of an export, before its content is read.
#[derive(Debug, Queryable)]
struct Listed {
    path: String,
    description: String,
    version_id: i64,
    latest_version: i32,
    live_version: Option<i32>,
    content_bytes: i32,
}

diesel::define_sql_function! {
    /// SQL `octet_length(text)`: a text's size in bytes, read from the row without its value
    /// (SQLite 3.43 and later, PostgreSQL).
    fn octet_length(x: diesel::sql_types::Text) -> diesel::sql_types::Integer;
}

impl Export {
    pub fn new(workspace_id: WorkspaceId) -> Self {
        Export {
            workspace_id,
            listed: Default::default(),
            after: None,
            listed_all: false,
            written: 0,
            state: ExportState::Start,
        }
    }

    /// The next piece of the bundle's JSON, or `None` once all of it was returned.
    pub fn next_page(&mut self, conn: &mut DbConn) -> Result<Option<Vec<u8>>, AppError> {
        let mut out = Vec::new();
        match self.state {
            ExportState::Done => return Ok(None),
            ExportState::Start => {
                json::open(&mut out)?;
                self.state = ExportState::Scripts;
            }
            ExportState::Scripts => {}
        }
        let page = self.read_page(conn)?;
        if page.is_empty() {
            json::close(&mut out, self.written);
            self.state = ExportState::Done;
            return Ok(Some(out));
        }
        let mut scratch = Vec::new();
        for script in &page {
            json::entry(&mut out, &mut scratch, self.written, script)?;
            self.written += 1;
        }
        Ok(Some(out))
    }

    /// The next scripts in path order with their contents, up to [`EXPORT_PAGE_BYTES`] of
    /// content (at least one script); empty at the end.
    fn read_page(&mut self, conn: &mut DbConn) -> Result<Vec<BundleScript>, AppError> {
        if self.listed.is_empty() && !self.listed_all {
            self.list_more(conn)?;
        }
        let mut take = 0;
        let mut bytes = 0i64;
        for script in &self.listed {
            bytes += i64::from(script.content_bytes);
            if take > 0 && bytes > EXPORT_PAGE_BYTES {
                break;
            }
            take += 1;
        }
        let page: Vec<Listed> = self.listed.drain(..take).collect();
        let ids: Vec<i64> = page.iter().map(|s| s.version_id).collect();
        let mut versions: std::collections::HashMap<i64, (String, String, String, String)> =
            script_versions::table
                .filter(script_versions::id.eq_any(&ids))
                .select((
                    script_versions::id,
                    (
                        script_versions::content,
                        script_versions::message,
                        script_versions::script_type,
                        script_versions::schedule,
                    ),
                ))
                .load::<(i64, (String, String, String, String))>(conn)?
                .into_iter()
                .collect();
        page.into_iter()
            .map(|s| {
                let (content, message, script_type, schedule) =
                    versions.remove(&s.version_id).ok_or(AppError::NotFound)?;
                Ok(BundleScript {
                    path: s.path,
                    script_type,
                    schedule,
                    description: s.description,
                    content,
                    state: if s.live_version == Some(s.latest_version) {
                        "released"
                    } else {
                        "submitted"
                    }
                    .into(),
                    message,
                })
            })
            .collect()
    }

    /// Lists the next [`EXPORT_PAGE_SCRIPTS`] versioned scripts after the last one listed.
    fn list_more(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        let mut q = scripts_t::table
            .inner_join(
                script_versions::table.on(script_versions::script_id
                    .eq(scripts_t::id)
                    .and(script_versions::number.eq(scripts_t::latest_version))),
            )
            .left_join(production_scripts::table)
            .filter(scripts_t::workspace_id.eq(self.workspace_id))
            .filter(scripts_t::latest_version.gt(0))
            .into_boxed();
        if let Some(after) = &self.after {
            q = q.filter(scripts_t::path.gt(after.clone()));
        }
        let rows: Vec<Listed> = q
            .select((
                scripts_t::path,
                scripts_t::description,
                script_versions::id,
                scripts_t::latest_version,
                production_scripts::version_number.nullable(),
                octet_length(script_versions::content),
            ))
            .order(scripts_t::path.asc())
            .limit(EXPORT_PAGE_SCRIPTS)
            .load(conn)?;
        self.listed_all = rows.len() < EXPORT_PAGE_SCRIPTS as usize;
        if let Some(last) = rows.last() {
            self.after = Some(last.path.clone());
        }
        self.listed.extend(rows);
        Ok(())
    }
}

/// The pieces of `serde_json::to_string_pretty(&Bundle)`, written one script at a time.
mod json {
    use super::{BundleScript, FORMAT};
    use crate::error::AppError;

    /// Up to the opening bracket of `scripts`.
    pub fn open(out: &mut Vec<u8>) -> Result<(), AppError> {
        out.extend_from_slice(b"{\n  \"format\": ");
        serde_json::to_writer(&mut *out, FORMAT).map_err(AppError::internal)?;
        out.extend_from_slice(b",\n  \"scripts\": [");
        Ok(())
    }

    /// Script number `index` (0-based), indented two levels as inside the whole bundle.
    /// `scratch` is reused from one script to the next.
    pub fn entry(
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        index: usize,
        script: &BundleScript,
    ) -> Result<(), AppError> {
        out.extend_from_slice(if index == 0 { b"\n" } else { b",\n" });
        scratch.clear();
        serde_json::to_writer_pretty(&mut *scratch, script).map_err(AppError::internal)?;
        // JSON strings escape their line breaks, so every newline is the pretty printer's.
        out.extend_from_slice(b"    ");
        for &byte in scratch.iter() {
            out.push(byte);
            if byte == b'\n' {
                out.extend_from_slice(b"    ");
            }
        }
        Ok(())
    }

    /// From the closing bracket of `scripts`, after `written` scripts.
    pub fn close(out: &mut Vec<u8>, written: usize) {
        out.extend_from_slice(if written == 0 {
            b"]\n}".as_slice()
        } else {
            b"\n  ]\n}".as_slice()
        });
    }
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

    #[test]
    fn a_bundle_written_script_by_script_is_the_pretty_printed_bundle() {
        let script = |i: usize| BundleScript {
            path: format!("etl/s_{i}.sql"),
            script_type: "sql".into(),
            schedule: if i.is_multiple_of(2) {
                "0 4 * * *".into()
            } else {
                String::new()
            },
            description: "a \"quoted\"\nline, \u{2028} and é".into(),
            content: format!("SELECT {i};\n\t-- tab\r\n\u{1}\\ end"),
            state: "submitted".into(),
            message: String::new(),
        };
        for n in 0..4 {
            let scripts: Vec<BundleScript> = (0..n).map(script).collect();
            let mut out = Vec::new();
            json::open(&mut out).unwrap();
            let mut scratch = Vec::new();
            for (i, s) in scripts.iter().enumerate() {
                json::entry(&mut out, &mut scratch, i, s).unwrap();
            }
            json::close(&mut out, n);
            let whole = serde_json::to_string_pretty(&Bundle {
                format: FORMAT.into(),
                scripts,
            })
            .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), whole, "{n} scripts");
        }
    }
}
