//! Multi-row `INSERT … VALUES (…), (…)` with bound values, for bulk loads (`seed-bench`) and a
//! new package's task rows (`releases::release`).
//!
//! diesel's `insert_into(..).values(&vec)` does not compile against the `MultiConnection` enum
//! (SQLite's batch insert needs a backend-specific impl), and one statement per row costs a
//! round trip each. This query fragment writes the column list once and binds every value, so
//! one statement carries hundreds of rows on both backends. Table and column names are
//! `&'static str` chosen by the caller's code, never user input; every value is a bind.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use super::{DbConn, MultiBackend};

/// One bound value.
#[derive(Clone, Debug)]
pub enum Value {
    Int(i32),
    BigInt(i64),
    OptBigInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Time(NaiveDateTime),
    OptTime(Option<NaiveDateTime>),
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::BigInt(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::OptBigInt(v)
    }
}
/// Id newtypes go in as their numbers (the bulk loader's raw-SQL edge).
macro_rules! id_values {
    ($($t:ty),+) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::BigInt(v.get())
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                Value::OptBigInt(v.map(<$t>::get))
            }
        }
    )+};
}
id_values!(
    crate::domain::WorkspaceId,
    crate::domain::UserId,
    crate::domain::PackageId,
    crate::domain::TaskId,
    crate::domain::RegionTaskId,
    crate::domain::StepId
);

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::OptText(v.map(str::to_owned))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<NaiveDateTime> for Value {
    fn from(v: NaiveDateTime) -> Self {
        Value::Time(v)
    }
}
impl From<Option<NaiveDateTime>> for Value {
    fn from(v: Option<NaiveDateTime>) -> Self {
        Value::OptTime(v)
    }
}

/// Builds the rows of one table and sends them in statements of at most `MAX_BINDS` values.
pub struct BatchInsert {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
    /// Rows sent so far (for progress reports).
    pub written: usize,
}

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;

impl BatchInsert {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        BatchInsert {
            table,
            columns,
            rows: Vec::new(),
            written: 0,
        }
    }

    fn rows_per_statement(&self) -> usize {
        (MAX_BINDS / self.columns.len()).clamp(1, 1000)
    }

    /// Adds one row (values in column order); sends a statement when enough rows are buffered.
    pub fn push(&mut self, conn: &mut DbConn, row: Vec<Value>) -> QueryResult<()> {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.table);
        self.rows.push(row);
        if self.rows.len() >= self.rows_per_statement() {
            self.flush(conn)?;
        }
        Ok(())
    }

    /// Sends the buffered rows.
    pub fn flush(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let stmt = Statement {
            table: self.table,
            columns: self.columns,
            rows: std::mem::take(&mut self.rows),
        };
        let n = stmt.rows.len();
        diesel::RunQueryDsl::execute(stmt, conn)?;
        self.written += n;
        Ok(())
    }
}

struct Statement {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl QueryId for Statement {
    type QueryId = ();
    // The SQL text changes with the row count, so no prepared-statement cache key.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Statement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("INSERT INTO ");
        out.push_identifier(self.table)?;
        out.push_sql(" (");
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(c)?;
        }
        out.push_sql(") VALUES ");
        for (r, row) in self.rows.iter().enumerate() {
            out.push_sql(if r == 0 { "(" } else { ", (" });
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                match v {
                    Value::Int(x) => out.push_bind_param::<Integer, _>(x)?,
                    Value::BigInt(x) => out.push_bind_param::<BigInt, _>(x)?,
                    Value::OptBigInt(x) => out.push_bind_param::<Nullable<BigInt>, _>(x)?,
                    Value::Text(x) => out.push_bind_param::<Text, _>(x)?,
                    Value::OptText(x) => out.push_bind_param::<Nullable<Text>, _>(x)?,
                    Value::Bool(x) => out.push_bind_param::<Bool, _>(x)?,
                    Value::Time(x) => out.push_bind_param::<Timestamp, _>(x)?,
                    Value::OptTime(x) => out.push_bind_param::<Nullable<Timestamp>, _>(x)?,
                }
            }
            out.push_sql(")");
        }
        Ok(())
    }
}

impl diesel::RunQueryDsl<DbConn> for Statement {}
