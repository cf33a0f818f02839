//! Script bundles: the JSON format of Import and Export. A bundle is checked whole before
//! anything is written, and imported in one transaction, so a bad entry changes nothing.
//! `submitted` scripts get a version and a release task (as if submitted in the editor);
//! `released` scripts get a version that goes straight to production, with no task.

use serde::{Deserialize, Serialize};

use super::audit::{self, AuditEntry};
use super::scripts::{self, ScriptDraft};
use super::{production, releases, workspaces};
use crate::db::schema::{release_tasks, scripts as scripts_t};
use crate::db::{DbConn, now, write_tx};
use crate::domain::{Permission, ScriptPath, ScriptType, TaskStatus, validate_schedule};
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

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub tasks: usize,
    pub released: usize,
    pub unchanged: usize,
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

/// Imports a bundle (workspace admins). All or nothing.
pub fn import(
    conn: &mut DbConn,
    actor_id: i64,
    workspace_id: i64,
    json: &str,
) -> Result<Imported, AppError> {
    let entries = check(json)?;
    write_tx(conn, |conn| {
        workspaces::require(conn, workspace_id, actor_id, Permission::Manage)?;
        let ws = workspaces::get(conn, workspace_id)?;
        let mut done = Imported::default();
        for e in &entries {
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
                    scripts::find_by_path(conn, workspace_id, e.path.as_str())?
                        .ok_or(AppError::NotFound)?
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
            let script = scripts::find(conn, workspace_id, script.id)?.ok_or(AppError::NotFound)?;
            let mode = if e.released {
                crate::domain::WorkspaceMode::Simple
            } else {
                ws.mode()
            };
            match scripts::submit_in_tx(conn, actor_id, mode, &script, &e.draft.content, &e.message)
            {
                Ok(sub) if e.released => {
                    // Now live: older unreleased tasks of the script are stale.
                    let older: Vec<i64> = release_tasks::table
                        .filter(release_tasks::script_id.eq(script.id))
                        .filter(
                            release_tasks::status
                                .eq_any(TaskStatus::WITHDRAWABLE.map(TaskStatus::as_str)),
                        )
                        .select(release_tasks::id)
                        .load(conn)?;
                    releases::withdraw(
                        conn,
                        actor_id,
                        workspace_id,
                        &older,
                        TaskStatus::Superseded,
                        &format!("superseded by imported v{}", sub.version.number),
                    )?;
                    done.released += 1;
                }
                Ok(sub) => {
                    if sub.live {
                        done.released += 1;
                    } else if sub.task_id.is_some() {
                        done.tasks += 1;
                    } else {
                        done.unchanged += 1;
                    }
                }
                // The same content as the latest version: nothing to import for this script.
                Err(AppError::Field {
                    field: "message", ..
                }) => {
                    if e.released {
                        let latest = scripts::version(conn, script.id, script.latest_version)?
                            .ok_or(AppError::NotFound)?;
                        production::apply(
                            conn,
                            workspace_id,
                            &latest,
                            production::Authority::Direct { actor_id },
                        )?;
                    }
                    done.unchanged += 1;
                }
                Err(other) => return Err(other),
            }
        }
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
                    "{} script(s): {} release task(s), {} released, {} unchanged",
                    entries.len(),
                    done.tasks,
                    done.released,
                    done.unchanged
                ),
            },
        )?;
        Ok(done)
    })
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
