//! Keeps the fuzzy-search index (`name_trigrams`) of task and package names, and finds the
//! candidates of a search through it; `crate::search` ranks them.

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{name_trigrams, release_packages, release_tasks};
use crate::search;

/// Which names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Task,
    Package,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Package => "package",
        }
    }
}

/// Indexes a new name. Call in the transaction that inserts the row.
pub fn add(
    conn: &mut DbConn,
    kind: Kind,
    workspace_id: i64,
    ref_id: i64,
    name: &str,
) -> QueryResult<()> {
    // One row per term: diesel's MultiConnection has no multi-row INSERT (SQLite lacks the
    // DEFAULT keyword it would need), and a name has only a few dozen terms.
    for t in search::index_terms(name) {
        diesel::insert_into(name_trigrams::table)
            .values((
                name_trigrams::kind.eq(kind.as_str()),
                name_trigrams::workspace_id.eq(workspace_id),
                name_trigrams::trigram.eq(t),
                name_trigrams::ref_id.eq(ref_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Names that may match `query`: for every long word, the ids sharing enough of its trigrams
/// (one indexed GROUP BY each), intersected; `None` means the query has no word the index can
/// use, and every name of the workspace is a candidate.
fn candidates(
    conn: &mut DbConn,
    kind: Kind,
    workspace_id: i64,
    query: &str,
) -> QueryResult<Option<Vec<i64>>> {
    let Some(plan) = search::index_query(query) else {
        return Ok(None);
    };
    let mut result: Option<Vec<i64>> = None;
    for (trigrams, need) in plan {
        let mut ids: Vec<i64> = name_trigrams::table
            .filter(name_trigrams::kind.eq(kind.as_str()))
            .filter(name_trigrams::workspace_id.eq(workspace_id))
            .filter(name_trigrams::trigram.eq_any(trigrams))
            .group_by(name_trigrams::ref_id)
            .having(count_star().ge(need as i64))
            .select(name_trigrams::ref_id)
            .load(conn)?;
        ids.sort_unstable();
        result = Some(match result {
            None => ids,
            Some(prev) => prev
                .into_iter()
                .filter(|id| ids.binary_search(id).is_ok())
                .collect(),
        });
        if result.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
    }
    Ok(result)
}

/// The ids of `kind` in the workspace matching `query`, best first.
pub fn search(
    conn: &mut DbConn,
    kind: Kind,
    workspace_id: i64,
    query: &str,
) -> QueryResult<Vec<i64>> {
    let ids = candidates(conn, kind, workspace_id, query)?;
    // Names of the candidates, a bounded number of ids per statement; every name when the
    // query had no word the index can use.
    let chunks: Vec<Option<&[i64]>> = match &ids {
        Some(ids) => ids
            .chunks(super::releases::IDS_PER_QUERY)
            .map(Some)
            .collect(),
        None => vec![None],
    };
    let mut names: Vec<(i64, String)> = Vec::new();
    for chunk in chunks {
        match kind {
            Kind::Task => {
                let mut q = release_tasks::table
                    .filter(release_tasks::workspace_id.eq(workspace_id))
                    .select((release_tasks::id, release_tasks::name))
                    .into_boxed();
                if let Some(chunk) = chunk {
                    q = q.filter(release_tasks::id.eq_any(chunk));
                }
                names.extend(q.load::<(i64, String)>(conn)?);
            }
            Kind::Package => {
                let mut q = release_packages::table
                    .filter(release_packages::workspace_id.eq(workspace_id))
                    .select((release_packages::id, release_packages::name))
                    .into_boxed();
                if let Some(chunk) = chunk {
                    q = q.filter(release_packages::id.eq_any(chunk));
                }
                names.extend(q.load::<(i64, String)>(conn)?);
            }
        }
    }
    Ok(search::rank(query, names))
}
