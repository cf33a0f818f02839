//! The append-only audit log: who did what to which target, when, and why. Rows are written in
//! the same transaction as the change they record (the tables refuse UPDATE and DELETE).

use crate::domain::{PackageId, UserId, WorkspaceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::count;
use crate::db::schema::{audit_log, users};
use crate::db::{DbConn, now};

/// One change to record.
pub struct AuditEntry<'a> {
    pub workspace_id: Option<WorkspaceId>,
    pub actor_id: Option<UserId>,
    /// Dotted verb, e.g. `member.role_changed`, `reviewer.removed`.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub target_label: &'a str,
    pub comment: &'a str,
}

pub fn record(conn: &mut DbConn, entry: AuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::workspace_id.eq(entry.workspace_id),
            audit_log::actor_id.eq(entry.actor_id),
            audit_log::action.eq(entry.action),
            audit_log::target_type.eq(entry.target_type),
            audit_log::target_id.eq(entry.target_id),
            audit_log::target_label.eq(entry.target_label),
            audit_log::comment.eq(entry.comment),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// An audit row as shown on the audit page.
#[derive(Debug, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub action: String,
    pub target_type: String,
    pub target_label: String,
    pub comment: String,
    pub created_at: NaiveDateTime,
    pub actor: Option<String>,
}

/// Filters of the audit page.
#[derive(Debug, Default)]
pub struct AuditFilter {
    /// Action prefix, e.g. `member.` or `reviewer.removed`.
    pub action: Option<String>,
    pub actor: Option<String>,
}

/// The audit rows of a workspace (or, with `None`, the tenant's own) that pass `filter`.
type Filtered<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::LeftJoin<audit_log::table, users::table>,
    crate::db::MultiBackend,
>;

fn filtered<'a>(workspace_id: Option<WorkspaceId>, filter: &AuditFilter) -> Filtered<'a> {
    let mut q = audit_log::table.left_join(users::table).into_boxed();
    q = match workspace_id {
        Some(ws) => q.filter(audit_log::workspace_id.eq(ws)),
        None => q.filter(audit_log::workspace_id.is_null()),
    };
    if let Some(action) = &filter.action {
        q = q.filter(
            audit_log::action
                .like(format!("{}%", escape_like(action)))
                .escape('\\'),
        );
    }
    if let Some(actor) = &filter.actor {
        q = q.filter(users::username.eq(actor.clone()));
    }
    q
}

/// Newest first, one page plus the total count.
pub fn list(
    conn: &mut DbConn,
    workspace_id: Option<WorkspaceId>,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let total = count::capped(
        conn,
        filtered(workspace_id, filter)
            .select(audit_log::id)
            .limit(count::count_limit(limit, offset)),
    )?;
    let rows = filtered(workspace_id, filter)
        .select(audit_row())
        .order((audit_log::created_at.desc(), audit_log::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// The columns of an [`AuditRow`].
type AuditRowColumns = (
    audit_log::id,
    audit_log::action,
    audit_log::target_type,
    audit_log::target_label,
    audit_log::comment,
    audit_log::created_at,
    diesel::dsl::Nullable<users::username>,
);

fn audit_row() -> AuditRowColumns {
    (
        audit_log::id,
        audit_log::action,
        audit_log::target_type,
        audit_log::target_label,
        audit_log::comment,
        audit_log::created_at,
        users::username.nullable(),
    )
}

/// Rows one page of an audit download (the CSV) reads.
pub const DOWNLOAD_PAGE_ROWS: i64 = 500;

/// Where a page of an audit download starts: after the row with this time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditKey {
    pub created_at: NaiveDateTime,
    pub id: i64,
}

impl AuditRow {
    pub fn key(&self) -> AuditKey {
        AuditKey {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// Newest first like [`list`], the `limit` rows after `after` (keyset on time and id, so a
/// page costs the same however deep the download is, and rows recorded meanwhile, newer than
/// the first page, do not shift it).
pub fn page_after(
    conn: &mut DbConn,
    workspace_id: Option<WorkspaceId>,
    filter: &AuditFilter,
    after: Option<AuditKey>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = filtered(workspace_id, filter);
    if let Some(k) = after {
        // `created_at <= t` alone bounds the index range; the rest drops the rows of time `t`
        // already written.
        q = q.filter(
            audit_log::created_at.le(k.created_at).and(
                audit_log::created_at
                    .lt(k.created_at)
                    .or(audit_log::id.lt(k.id)),
            ),
        );
    }
    q.select(audit_row())
        .order((audit_log::created_at.desc(), audit_log::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Escapes `%`, `_` and `\` so user text is matched literally by `LIKE … ESCAPE '\'`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Everything recorded about one package, oldest first (its timeline).
pub fn package_timeline(
    conn: &mut DbConn,
    workspace_id: WorkspaceId,
    package_id: PackageId,
) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .left_join(users::table)
        .filter(audit_log::workspace_id.eq(workspace_id))
        .filter(audit_log::target_type.eq("package"))
        .filter(audit_log::target_id.eq(package_id))
        .select((
            audit_log::id,
            audit_log::action,
            audit_log::target_type,
            audit_log::target_label,
            audit_log::comment,
            audit_log::created_at,
            users::username.nullable(),
        ))
        .order((audit_log::created_at.asc(), audit_log::id.asc()))
        .load(conn)
}
