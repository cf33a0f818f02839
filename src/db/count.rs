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

/// `column IN (<page>)`, where `page` is a boxed select of one page of ids (ordered, with its
/// `LIMIT`): a list reads its page's ids through its index first and joins only those rows to
/// other tables. (diesel's own `eq_any` cannot take a boxed subquery on `DbConn`.)
pub struct InPage<C, Q> {
    column: C,
    page: Q,
}

/// `column IN (page)`.
pub fn in_page<C, Q>(column: C, page: Q) -> InPage<C, Q> {
    InPage { column, page }
}

impl<C, Q> diesel::expression::Expression for InPage<C, Q> {
    type SqlType = diesel::sql_types::Bool;
}

impl<C: diesel::expression::AppearsOnTable<QS>, Q, QS> diesel::expression::AppearsOnTable<QS>
    for InPage<C, Q>
{
}

impl<C: diesel::expression::SelectableExpression<QS>, Q, QS>
    diesel::expression::SelectableExpression<QS> for InPage<C, Q>
{
}

impl<C, Q, GB> diesel::expression::ValidGrouping<GB> for InPage<C, Q> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<C, Q> QueryId for InPage<C, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, Q> QueryFragment<MultiBackend> for InPage<C, Q>
where
    C: QueryFragment<MultiBackend>,
    Q: QueryFragment<MultiBackend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        self.page.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}
