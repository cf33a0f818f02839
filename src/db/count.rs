//! Capped list counts. A list says how many rows match only up to `COUNT_CAP`; beyond that it
//! says "more than 1,000" (as GitLab's pipeline and job lists do). An exact `COUNT(*)` reads
//! every matching row on every view: at 100k tasks it was most of the unfiltered Tasks tab's
//! time (docs/BENCHMARKS.md), while a page itself reads only its own rows through an index.

use diesel::QueryResult;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

use super::DbConn;
use super::MultiBackend;

/// Counts stop here (unless the page asked for lies further on).
pub const COUNT_CAP: i64 = 1_000;

/// How many rows a list's count may read for the page at `offset`: the cap, or enough to know
/// whether a page after this one exists, plus one row to tell "exactly the cap" from "more".
pub fn count_limit(per_page: i64, offset: i64) -> i64 {
    COUNT_CAP
        .max(offset.saturating_add(per_page))
        .saturating_add(1)
}

/// `SELECT COUNT(*) FROM (<rows>) AS capped`, where `rows` carries its own `LIMIT` of
/// `count_limit`.
pub struct CappedCount<Q>(Q);

impl<Q> QueryId for CappedCount<Q> {
    type QueryId = ();
    // The SQL follows the inner (dynamic) query; diesel caches it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for CappedCount<Q> {
    type SqlType = BigInt;
}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for CappedCount<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS capped");
        Ok(())
    }
}

impl<Q> RunQueryDsl<DbConn> for CappedCount<Q> {}

/// Counts the rows of `rows` (a select that already has `.limit(count_limit(..))`).
pub fn capped<Q>(conn: &mut DbConn, rows: Q) -> QueryResult<i64>
where
    Q: QueryFragment<MultiBackend>,
{
    CappedCount(rows).get_result(conn)
}
