//! Development scripts and their immutable versions. Submitting a version is where Task Release
//! starts: in enterprise mode it creates a release task (unless production already runs the same
//! thing) and supersedes the script's older unreleased tasks; in simple mode it goes live at once.

use crate::domain::{TaskId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditEntry};
use super::{production, releases, workspaces};
use crate::db::count;
use crate::db::schema::{production_scripts, release_tasks, script_versions, scripts, users};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{Description, Permission, ScriptPath, ScriptType, TaskStatus, WorkspaceMode};
use crate::error::AppError;
use crate::search::{NameMatch, NameSearch, Names};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = scripts)]
pub struct Script {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub path: String,
    pub script_type: ScriptType,
    pub draft_content: String,
    pub schedule: String,
    pub description: String,
    pub owner_id: Option<UserId>,
    pub latest_version: i32,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = script_versions)]
pub struct ScriptVersion {
    pub id: i64,
    pub script_id: i64,
    pub number: i32,
    pub content: String,
    pub message: String,
    pub script_type: ScriptType,
    pub schedule: String,
    pub submitted_by: Option<UserId>,
    pub submitted_at: NaiveDateTime,
}

/// A version with its submitter's name, for history lists.
#[derive(Debug, Queryable)]
pub struct VersionRow {
    pub number: i32,
    pub message: String,
    pub submitted_at: NaiveDateTime,
    pub submitted_by: Option<String>,
    pub lines: i64,
}

/// The editable fields of a script, already validated.
pub struct ScriptDraft {
    pub script_type: ScriptType,
    /// A validated cron expression or empty.
    pub schedule: String,
    pub description: Description,
    pub content: String,
}

/// A script in the list: its draft state and what production runs.
#[derive(Debug, Queryable)]
pub struct ScriptRow {
    pub id: i64,
    pub path: String,
    pub script_type: ScriptType,
    pub latest_version: i32,
    pub updated_at: NaiveDateTime,
    pub live_version: Option<i32>,
}

pub fn find(conn: &mut DbConn, workspace_id: WorkspaceId, id: i64) -> QueryResult<Option<Script>> {
    scripts::table
        .filter(scripts::workspace_id.eq(workspace_id))
        .filter(scripts::id.eq(id))
        .select(Script::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_path(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    path: &str,
) -> QueryResult<Option<Script>> {
    scripts::table
        .filter(scripts::workspace_id.eq(workspace_id))
        .filter(scripts::path.eq(path))
        .select(Script::as_select())
        .first(conn)
        .optional()
}

/// The searchable name of scripts, their path (`search`): the Scripts list's and
/// Production's search.
pub const PATHS: Names = crate::search::names!(scripts.path, lower_path);

/// One page of a workspace's scripts and the total: by path, or with a search by relevance
/// (tier, then path; the typo-tolerant score when no path contains every word), served by
/// `scripts_fts` / pg_trgm like the Tasks tab.
pub fn page(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    search: Option<&NameSearch>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ScriptRow>, i64)> {
    let matches = search.map(|s| s.condition(conn, PATHS)).transpose()?;
    let base = |matches: Option<NameMatch>| {
        let mut q = scripts::table
            .left_join(production_scripts::table)
            .filter(scripts::workspace_id.eq(workspace_id))
            .into_boxed();
        if let Some(m) = matches {
            q = q.filter(m);
        }
        q
    };
    let select = (
        scripts::id,
        scripts::path,
        scripts::script_type,
        scripts::latest_version,
        scripts::updated_at,
        production_scripts::version_number.nullable(),
    );
    let total = count::capped(
        conn,
        base(matches.clone())
            .select(scripts::id)
            .limit(count::count_limit(limit, offset)),
    )?;
    if let Some(search) = search
        && total == 0
    {
        // Nothing contains every word: score the newest paths sharing a three-letter run.
        let Some(candidates) = search.typo_candidates(conn, PATHS) else {
            return Ok((Vec::new(), 0));
        };
        let rows: Vec<ScriptRow> = base(Some(candidates))
            .select(select)
            .order(scripts::id.desc())
            .limit(crate::search::TYPO_CANDIDATES)
            .load(conn)?;
        // Equal scores by path, as the list.
        let mut rows = rows;
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        return Ok(search.typo_page(rows, |r| &r.path, limit, offset));
    }
    let q = base(matches).select(select);
    let q = match search {
        Some(search) => q.order((search.tier(conn, PATHS).asc(), scripts::path.asc())),
        None => q.order(scripts::path.asc()),
    };
    let rows = q.limit(limit).offset(offset).load(conn)?;
    Ok((rows, total))
}

pub fn version(
    conn: &mut DbConn,
    script_id: i64,
    number: i32,
) -> QueryResult<Option<ScriptVersion>> {
    script_versions::table
        .filter(script_versions::script_id.eq(script_id))
        .filter(script_versions::number.eq(number))
        .select(ScriptVersion::as_select())
        .first(conn)
        .optional()
}

pub fn version_by_id(conn: &mut DbConn, id: i64) -> QueryResult<ScriptVersion> {
    script_versions::table
        .find(id)
        .select(ScriptVersion::as_select())
        .first(conn)
}

/// Every version of a script, newest first.
pub fn versions(conn: &mut DbConn, script_id: i64) -> QueryResult<Vec<VersionRow>> {
    let rows: Vec<(i32, String, NaiveDateTime, Option<String>, String)> = script_versions::table
        .left_join(users::table.on(users::id.nullable().eq(script_versions::submitted_by)))
        .filter(script_versions::script_id.eq(script_id))
        .select((
            script_versions::number,
            script_versions::message,
            script_versions::submitted_at,
            users::username.nullable(),
            script_versions::content,
        ))
        .order(script_versions::number.desc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(number, message, submitted_at, submitted_by, content)| VersionRow {
                number,
                message,
                submitted_at,
                submitted_by,
                lines: content.lines().count() as i64,
            },
        )
        .collect())
}

/// Creates a script with its first draft (developers and up).
pub fn create(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    path: &ScriptPath,
    draft: &ScriptDraft,
) -> Result<Script, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let ts = now();
        let inserted = diesel::insert_into(scripts::table)
            .values((
                scripts::workspace_id.eq(workspace_id),
                scripts::path.eq(path.as_str()),
                scripts::script_type.eq(draft.script_type),
                scripts::draft_content.eq(&draft.content),
                scripts::schedule.eq(&draft.schedule),
                scripts::description.eq(draft.description.as_str()),
                scripts::owner_id.eq(Some(actor_id)),
                scripts::latest_version.eq(0),
                scripts::created_by.eq(Some(actor_id)),
                scripts::created_at.eq(ts),
                scripts::updated_at.eq(ts),
            ))
            .returning(scripts::id)
            .get_result::<i64>(conn);
        let id = match inserted {
            Ok(id) => id,
            Err(e) if super::is_unique_violation(&e) => {
                return Err(AppError::field(
                    "path",
                    format!("A script “{}” already exists here.", path.as_str()),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(workspace_id),
                actor_id: Some(actor_id),
                action: "script.created",
                target_type: "script",
                target_id: Some(id),
                target_label: path.as_str(),
                comment: "",
            },
        )?;
        find(conn, workspace_id, id)?.ok_or(AppError::NotFound)
    })
}

/// Saves the draft (development environment). Nothing is versioned until it is submitted.
pub fn save_draft(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    script_id: i64,
    draft: &ScriptDraft,
) -> Result<Script, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        write_draft(conn, workspace_id, script_id, draft)
    })
}

/// The body of saving a draft, inside the caller's transaction: the script as saved.
fn write_draft(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    script_id: i64,
    draft: &ScriptDraft,
) -> Result<Script, AppError> {
    let changed = diesel::update(
        scripts::table
            .filter(scripts::workspace_id.eq(workspace_id))
            .filter(scripts::id.eq(script_id)),
    )
    .set((
        scripts::script_type.eq(draft.script_type),
        scripts::draft_content.eq(&draft.content),
        scripts::schedule.eq(&draft.schedule),
        scripts::description.eq(draft.description.as_str()),
        scripts::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(AppError::NotFound);
    }
    find(conn, workspace_id, script_id)?.ok_or(AppError::NotFound)
}

/// What submitting a version did.
#[derive(Debug)]
pub struct Submitted {
    pub version: ScriptVersion,
    /// The release task created for it (enterprise mode, content differs from production).
    pub task_id: Option<TaskId>,
    /// Older unreleased tasks of the script that this version replaced.
    pub superseded: usize,
    /// `AfterSubmit::Live`: the version is live already.
    pub live: bool,
}

/// Submits the current draft as the next immutable version.
pub fn submit_version(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    script_id: i64,
    message: &str,
) -> Result<Submitted, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let script = find(conn, workspace_id, script_id)?.ok_or(AppError::NotFound)?;
        submit_draft(conn, actor_id, &script, message)
    })
}

/// Saves `draft` and submits it as the next version in one transaction: the editor's Submit
/// with unsaved edits. The same rules as [`save_draft`] then [`submit_version`]; when the
/// submission is refused (nothing changed, a concurrent submission) the draft is not saved
/// either.
pub fn submit_edited(
    conn: &mut DbConn,
    actor_id: UserId,
    workspace_id: WorkspaceId,
    script_id: i64,
    draft: &ScriptDraft,
    message: &str,
) -> Result<Submitted, AppError> {
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
        let script = write_draft(conn, workspace_id, script_id, draft)?;
        submit_draft(conn, actor_id, &script, message)
    })
}

/// Submits `script`'s saved draft, inside the caller's transaction: a task or, in simple mode,
/// live at once.
fn submit_draft(
    conn: &mut DbConn,
    actor_id: UserId,
    script: &Script,
    message: &str,
) -> Result<Submitted, AppError> {
    let ws = workspaces::get(conn, script.workspace_id)?;
    let then = match ws.mode() {
        WorkspaceMode::Simple => AfterSubmit::Live(
            production::Authority::SimpleMode { actor_id },
            "simple mode: live at once",
        ),
        WorkspaceMode::Enterprise => AfterSubmit::Task,
    };
    submit_in_tx(conn, actor_id, then, script, &script.draft_content, message)
}

/// What a submission does once its version is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterSubmit {
    /// Enterprise mode: a release task, unless production already runs this content.
    Task,
    /// Live at once, under the authority the caller names (simple mode, or an import by someone
    /// who releases directly), which `production::apply` checks; the text is the audit row's
    /// comment, naming that path.
    Live(production::Authority, &'static str),
}

/// The body of a submission, shared with import: the new version, then the task or the release.
pub(crate) fn submit_in_tx(
    conn: &mut DbConn,
    actor_id: UserId,
    then: AfterSubmit,
    script: &Script,
    content: &str,
    message: &str,
) -> Result<Submitted, AppError> {
    if let Some(latest) = version(conn, script.id, script.latest_version)?
        && latest.content == content
        && latest.script_type == script.script_type
        && latest.schedule == script.schedule
    {
        return Err(AppError::field(
            "message",
            format!(
                "Nothing changed since v{}: edit the script before submitting.",
                latest.number
            ),
        ));
    }
    let number = script.latest_version + 1;
    // Guarded on the version number we read: two submissions at once yield v(n+1) once.
    let bumped = diesel::update(
        scripts::table
            .filter(scripts::id.eq(script.id))
            .filter(scripts::latest_version.eq(script.latest_version)),
    )
    .set((
        scripts::latest_version.eq(number),
        scripts::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if bumped != 1 {
        return Err(AppError::conflict(
            "Someone submitted this script at the same moment; reload to see their version.",
        ));
    }
    let ts = now();
    let version_id = diesel::insert_into(script_versions::table)
        .values((
            script_versions::script_id.eq(script.id),
            script_versions::number.eq(number),
            script_versions::content.eq(content),
            script_versions::message.eq(message.trim()),
            script_versions::script_type.eq(script.script_type),
            script_versions::schedule.eq(&script.schedule),
            script_versions::submitted_by.eq(Some(actor_id)),
            script_versions::submitted_at.eq(ts),
        ))
        .returning(script_versions::id)
        .get_result::<i64>(conn)?;
    let version = version_by_id(conn, version_id)?;
    let label = format!("{} v{number}", script.path);
    audit::record(
        conn,
        AuditEntry {
            workspace_id: Some(script.workspace_id),
            actor_id: Some(actor_id),
            action: "script.version_submitted",
            target_type: "script",
            target_id: Some(script.id),
            target_label: &label,
            comment: message.trim(),
        },
    )?;

    if let AfterSubmit::Live(authority, why) = then {
        production::apply(conn, script.workspace_id, &version, authority)?;
        audit::record(
            conn,
            AuditEntry {
                workspace_id: Some(script.workspace_id),
                actor_id: Some(actor_id),
                action: "production.applied",
                target_type: "script",
                target_id: Some(script.id),
                target_label: &label,
                comment: why,
            },
        )?;
        return Ok(Submitted {
            version,
            task_id: None,
            superseded: 0,
            live: true,
        });
    }

    // A newer version replaces the script's older unreleased tasks: production never moves
    // backwards by releasing a stale one.
    let older: Vec<TaskId> = release_tasks::table
        .filter(release_tasks::script_id.eq(script.id))
        .filter(release_tasks::status.eq_any(TaskStatus::WITHDRAWABLE))
        .select(release_tasks::id)
        .load(conn)?;
    let superseded = releases::withdraw(
        conn,
        actor_id,
        script.workspace_id,
        &older,
        TaskStatus::Superseded,
        &format!("superseded by v{number}"),
    )?;

    let in_production = production::live_version(conn, script.id)?.is_some_and(|(_, c, t, s)| {
        c == content && t == script.script_type && s == script.schedule
    });
    if in_production {
        return Ok(Submitted {
            version,
            task_id: None,
            superseded,
            live: false,
        });
    }
    let task_id = diesel::insert_into(release_tasks::table)
        .values((
            release_tasks::workspace_id.eq(script.workspace_id),
            release_tasks::script_id.eq(script.id),
            release_tasks::version_id.eq(version_id),
            release_tasks::name.eq(&script.path),
            release_tasks::version_number.eq(number),
            release_tasks::status.eq(TaskStatus::Pending),
            release_tasks::submitted_by.eq(Some(actor_id)),
            release_tasks::submitted_at.eq(ts),
            release_tasks::updated_at.eq(ts),
        ))
        .returning(release_tasks::id)
        .get_result::<TaskId>(conn)?;
    Ok(Submitted {
        version,
        task_id: Some(task_id),
        superseded,
        live: false,
    })
}
