//! SQL pieces diesel does not offer on `DbConn` (a `MultiConnection`): a text constant
//! written into a statement instead of bound (`Const`), a bound id the planner does not see
//! (`Opaque`), and `column IN (<boxed subquery>)` (`in_page`).

use diesel::QueryResult;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

use super::MultiBackend;

/// A text constant written into the statement's SQL instead of bound, for a skewed value
/// (a state, a kind) in a statement planned generically (one bound through [`Opaque`]): a
/// generic plan cannot see a bound value, so it plans `status = $1` for an average state and
/// the navigation's checkpoint query scanned every step at 1M tasks (docs/BENCHMARKS.md).
/// The statement is cached by its SQL text (no static query id), one per constant.
#[derive(Debug, Clone, Copy)]
pub struct Const(&'static str);

impl Const {
    /// `value` must be a plain word (letters, digits, `_`); anything else is refused when the
    /// statement is built, so nothing here can be quoted wrongly.
    pub const fn text(value: &'static str) -> Self {
        Const(value)
    }
}

impl diesel::expression::Expression for Const {
    type SqlType = diesel::sql_types::Text;
}

impl<QS> diesel::expression::AppearsOnTable<QS> for Const {}
impl<QS> diesel::expression::SelectableExpression<QS> for Const {}

impl<GB> diesel::expression::ValidGrouping<GB> for Const {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for Const {
    type QueryId = ();
    // Two constants are two statements: the cache must key them by their SQL, not their type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: diesel::backend::Backend> QueryFragment<DB> for Const {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.0.is_empty()
            || !self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("Const {:?} is not a plain word", self.0).into(),
            ));
        }
        out.push_sql("'");
        out.push_sql(self.0);
        out.push_sql("'");
        Ok(())
    }
}

/// An id bound as `(SELECT $1)`: PostgreSQL plans the statement without seeing the value, so
/// after its first five runs it keeps one generic plan for the prepared statement instead of
/// planning it again on every run.
///
/// For the statements every page runs for its navigation (the switcher's workspaces, the
/// reviews and checkpoints waiting for the viewer): lookups by the viewer's id whose best plan
/// does not depend on who the viewer is. With a plain bind PostgreSQL planned two of them on
/// every run, because the custom plan for a viewer who reviews nothing looks cheaper than the
/// generic one; the session setting `plan_cache_mode` fixed that at the cost of two round
/// trips a page to set and reset it (docs/BENCHMARKS.md). In a sub-select the value is hidden from the custom plans
/// too, so both cost the same and PostgreSQL settles on the generic one. A value whose
/// selectivity decides the plan must not be bound so: states and kinds are written in with
/// [`Const`]. SQLite runs the sub-select as it is.
#[derive(Debug, Clone, Copy)]
pub struct Opaque(i64);

/// `(SELECT id)`, planned without its value ([`Opaque`]).
pub fn opaque(id: impl Into<i64>) -> Opaque {
    Opaque(id.into())
}

impl diesel::expression::Expression for Opaque {
    type SqlType = diesel::sql_types::BigInt;
}

impl<QS> diesel::expression::AppearsOnTable<QS> for Opaque {}
impl<QS> diesel::expression::SelectableExpression<QS> for Opaque {}

impl<GB> diesel::expression::ValidGrouping<GB> for Opaque {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for Opaque {
    type QueryId = Opaque;
    // Always the same SQL: the statement cache may key it by type.
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<MultiBackend> for Opaque {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
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
