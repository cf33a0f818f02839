//! The production environment: what is live per script, which version, since when, by which
//! package, and whether it started. `apply` is the one way a version reaches production (the
//! release worker, simple-mode submission and import all call it), and it never moves a script
//! backwards.

use crate::domain::{PackageId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::freezes::Hold;
use super::scripts::ScriptVersion;
use crate::db::count;
use crate::db::schema::{production_history, production_scripts, release_packages, scripts, users};
use crate::db::{DbConn, now};
use crate::domain::{ScriptType, StartupStatus, validate_schedule};
use crate::error::AppError;
use crate::search::NameSearch;

/// A live script as the Production page shows it.
#[derive(Debug, Queryable)]
pub struct LiveScript {
    pub script_id: i64,
    pub path: String,
    pub version_number: i32,
    pub script_type: ScriptType,
    pub schedule: String,
    pub released_at: NaiveDateTime,
    pub package_id: Option<PackageId>,
    pub package_name: Option<String>,
    pub released_by: Option<String>,
    pub startup_status: StartupStatus,
    pub startup_message: String,
}

impl LiveScript {
    pub fn startup(&self) -> StartupStatus {
        self.startup_status
    }
}

/// What `apply` did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub startup: StartupStatus,
    pub message: String,
}

/// Activating a version: a valid schedule is armed; none leaves it not started; a schedule the
/// scheduler cannot read fails to start (the version is live, but it will not run).
fn startup_of(version: &ScriptVersion) -> Applied {
    if version.schedule.trim().is_empty() {
        return Applied {
            startup: StartupStatus::NotStarted,
            message: "no schedule: runs only when triggered".into(),
        };
    }
    match validate_schedule(&version.schedule) {
        Ok(s) => Applied {
            startup: StartupStatus::Started,
            message: format!("schedule armed: {s}"),
        },
        Err(e) => Applied {
            startup: StartupStatus::StartFailed,
            message: e.0,
        },
    }
}

/// Why a version may go live. Every path to production names one, and `apply` checks it inside
/// the transaction that makes the change, so no path reaches production without the people the
/// workspace's rules ask for (docs/SECURITY.md, "Paths to production and to a region").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The release worker, for a package of this workspace that is `releasing`; one that needed
    /// approval has it from its quorum, never from its applicant.
    Package(PackageId),
    /// A submission in a workspace whose mode is `simple`: live at once, no release tasks.
    SimpleMode { actor_id: UserId },
    /// Someone whose release needs no approval under the workspace's policy (an admin's
    /// import of a `released` entry under `developers`).
    Direct { actor_id: UserId },
}

/// Checks `authority` now, in the caller's transaction. Returns the package and the person the
/// live row names.
fn authorise(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    authority: Authority,
) -> Result<(Option<PackageId>, Option<UserId>), AppError> {
    use super::releases::{self, Decision};
    use super::workspaces;
    use crate::db::schema::package_reviewers;
    use crate::db::schema::release_packages;
    use crate::domain::{PackageStatus, Permission, Quorum, WorkspaceMode};
    let refuse = |why: &str| {
        Err(AppError::forbidden(format!(
            "Not released to production: {why}."
        )))
    };
    match authority {
        Authority::Package(package_id) => {
            let (status, needs_approval, quorum, applicant_id, released_by): (
                PackageStatus,
                bool,
                Quorum,
                UserId,
                Option<UserId>,
            ) = release_packages::table
                .filter(release_packages::id.eq(package_id))
                .filter(release_packages::workspace_id.eq(workspace_id))
                .select((
                    release_packages::status,
                    release_packages::needs_approval,
                    release_packages::quorum,
                    release_packages::applicant_id,
                    release_packages::released_by,
                ))
                .first(conn)
                .optional()?
                .ok_or(AppError::NotFound)?;
            if status != PackageStatus::Releasing {
                return refuse("the package is not releasing");
            }
            if needs_approval {
                let decisions: Vec<(UserId, Option<Decision>)> = package_reviewers::table
                    .filter(package_reviewers::package_id.eq(package_id))
                    .select((package_reviewers::reviewer_id, package_reviewers::decision))
                    .load(conn)?;
                let approved = |d: &Option<Decision>| *d == Some(Decision::Approve);
                let by_others = decisions
                    .iter()
                    .any(|(who, d)| approved(d) && *who != applicant_id);
                let all = decisions.iter().all(|(_, d)| approved(d));
                if !by_others || (quorum == Quorum::All && !all) {
                    return refuse("the package lacks the approval its quorum asks for");
                }
            }
            Ok((Some(package_id), released_by))
        }
        Authority::SimpleMode { actor_id } => {
            workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
            if workspaces::get(conn, workspace_id)?.mode() != WorkspaceMode::Simple {
                return refuse("the workspace is not in simple mode");
            }
            Ok((None, Some(actor_id)))
        }
        Authority::Direct { actor_id } => {
            let access = workspaces::require(conn, workspace_id, actor_id, Permission::Develop)?;
            let ws = workspaces::get(conn, workspace_id)?;
            if releases::needs_approval(ws.approval_policy(), &access) {
                return refuse(
                    "under the workspace's approval policy this release needs a reviewer",
                );
            }
            Ok((None, Some(actor_id)))
        }
    }
}

/// Why `apply` put nothing live.
#[derive(Debug)]
pub enum NotApplied {
    /// A freeze window holds production, and no override lets this package through: the
    /// release worker waits it out (`releases::Next::Held`); anyone else is refused.
    Held(Hold),
    /// A rule refused (the authority does not hold, a newer version is live), or the database
    /// failed.
    Refused(AppError),
}

impl From<AppError> for NotApplied {
    fn from(e: AppError) -> Self {
        NotApplied::Refused(e)
    }
}

impl From<diesel::result::Error> for NotApplied {
    fn from(e: diesel::result::Error) -> Self {
        NotApplied::Refused(e.into())
    }
}

impl From<NotApplied> for AppError {
    fn from(e: NotApplied) -> Self {
        match e {
            NotApplied::Held(hold) => {
                AppError::conflict(format!("Not released to production: {hold}."))
            }
            NotApplied::Refused(e) => e,
        }
    }
}

/// Makes `version` the live version of its script, once `authority` holds (see `Authority`)
/// and no freeze window holds production. Refuses (`Conflict`) to replace a newer live version;
/// applying the version that is already live changes nothing (so a retried job is harmless).
/// Call inside a write transaction.
pub fn apply(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    version: &ScriptVersion,
    authority: Authority,
) -> Result<Applied, NotApplied> {
    let (package_id, actor_id) = authorise(conn, workspace_id, authority)?;
    // A freeze window holds every way into production; a package passes only with an
    // admin's override (`freezes`). The one check, so a window that opens mid-release holds
    // the next task rather than failing it.
    let hold = match package_id {
        Some(p) => super::freezes::holding_package(conn, workspace_id, p, chrono::Utc::now())?,
        None => super::freezes::holding_production(conn, workspace_id, chrono::Utc::now())?,
    };
    if let Some(hold) = hold {
        return Err(NotApplied::Held(hold));
    }
    // Applies of one script take turns (two workers, or a worker and an import, could otherwise
    // both read the old live version and the older one win). SQLite's writer lock already
    // serialises them.
    if let DbConn::Postgres(_) = conn {
        diesel::sql_query("SELECT id FROM scripts WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(version.script_id)
            .execute(conn)?;
    }
    let live: Option<(i64, i32)> = production_scripts::table
        .find(version.script_id)
        .select((
            production_scripts::version_id,
            production_scripts::version_number,
        ))
        .first(conn)
        .optional()?;
    let started = startup_of(version);
    if let Some((live_id, live_number)) = live {
        if live_id == version.id {
            return Ok(started);
        }
        if live_number > version.number {
            return Err(AppError::conflict(format!(
                "production already runs v{live_number}, newer than v{}; releasing it would move production backwards",
                version.number
            ))
            .into());
        }
    }
    let ts = now();
    let values = (
        production_scripts::version_id.eq(version.id),
        production_scripts::version_number.eq(version.number),
        production_scripts::content.eq(&version.content),
        production_scripts::script_type.eq(version.script_type),
        production_scripts::schedule.eq(&version.schedule),
        production_scripts::package_id.eq(package_id),
        production_scripts::released_by.eq(actor_id),
        production_scripts::released_at.eq(ts),
        production_scripts::startup_status.eq(started.startup),
        production_scripts::startup_message.eq(&started.message),
    );
    if live.is_some() {
        diesel::update(production_scripts::table.find(version.script_id))
            .set(values)
            .execute(conn)?;
    } else {
        // The live copy keeps the script's path so the Production page can page by it.
        let path: String = scripts::table
            .find(version.script_id)
            .select(scripts::path)
            .first(conn)?;
        diesel::insert_into(production_scripts::table)
            .values((
                production_scripts::script_id.eq(version.script_id),
                production_scripts::workspace_id.eq(workspace_id),
                production_scripts::path.eq(path),
                values,
            ))
            .execute(conn)?;
    }
    diesel::insert_into(production_history::table)
        .values((
            production_history::script_id.eq(version.script_id),
            production_history::version_id.eq(version.id),
            production_history::version_number.eq(version.number),
            production_history::package_id.eq(package_id),
            production_history::released_by.eq(actor_id),
            production_history::released_at.eq(ts),
        ))
        .execute(conn)?;
    Ok(started)
}

/// The live version's content, type and schedule of a script, if it is in production.
pub fn live_version(
    conn: &mut DbConn,
    script_id: i64,
) -> QueryResult<Option<(i32, String, ScriptType, String)>> {
    production_scripts::table
        .find(script_id)
        .select((
            production_scripts::version_number,
            production_scripts::content,
            production_scripts::script_type,
            production_scripts::schedule,
        ))
        .first(conn)
        .optional()
}

/// One page of what is live, by script path, and how many scripts are live. The rows are
/// taken in path order from the `(workspace_id, path)` index of `production_scripts` itself, so
/// a page costs the same however many scripts exist and however much of them is live.
pub fn list(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    search: Option<&NameSearch>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<LiveScript>, i64)> {
    // A search keeps the live scripts whose path contains every word, through the scripts'
    // own name index (`scripts_fts` / pg_trgm, as the Scripts list): the live row joins its
    // script for that.
    let matches = search
        .map(|s| s.condition(conn, super::scripts::PATHS))
        .transpose()?;
    let mut counted = production_scripts::table
        .inner_join(scripts::table.on(scripts::id.eq(production_scripts::script_id)))
        .filter(production_scripts::workspace_id.eq(workspace_id))
        .into_boxed();
    if let Some(m) = matches.clone() {
        counted = counted.filter(m);
    }
    let total = count::capped(
        conn,
        counted
            .select(production_scripts::script_id)
            .limit(count::count_limit(limit, offset)),
    )?;
    let mut q = production_scripts::table
        .inner_join(scripts::table.on(scripts::id.eq(production_scripts::script_id)))
        .left_join(
            release_packages::table.on(release_packages::id
                .nullable()
                .eq(production_scripts::package_id)),
        )
        .left_join(users::table.on(users::id.nullable().eq(production_scripts::released_by)))
        .filter(production_scripts::workspace_id.eq(workspace_id))
        .into_boxed();
    if let Some(m) = matches {
        q = q.filter(m);
    }
    let rows = q
        .select((
            production_scripts::script_id,
            production_scripts::path,
            production_scripts::version_number,
            production_scripts::script_type,
            production_scripts::schedule,
            production_scripts::released_at,
            production_scripts::package_id,
            release_packages::name.nullable(),
            users::username.nullable(),
            production_scripts::startup_status,
            production_scripts::startup_message,
        ))
        .order(production_scripts::path)
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}
