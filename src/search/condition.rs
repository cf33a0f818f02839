//! The SQL a name search adds to a list's query: `NameMatch`, the condition "the name
//! contains every word" (through the trigram index of each backend), and `NameTier`, the rank
//! of a matching name. Building them reads no table; `plan` decides which to run.

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::typo::words;
use super::{NameSearch, Names};
use crate::db::{DbConn, MultiBackend};

impl NameSearch {
    /// The condition "the name contains every word", for `names`' table.
    pub(super) fn matches(&self, conn: &DbConn, names: Names) -> NameMatch {
        let Names { id, name, fts, .. } = names;
        let long: Vec<&String> = self.words.iter().filter(|w| is_long(w)).collect();
        let short: Vec<String> = self
            .words
            .iter()
            .filter(|w| !is_long(w))
            .map(|w| like_contains(w))
            .collect();
        let mut checked = Vec::new();
        let index = match conn {
            DbConn::Sqlite(_) if !long.is_empty() => IndexPart::Fts(
                long.iter()
                    .map(|w| fts_phrase(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            DbConn::Sqlite(_) => IndexPart::None,
            DbConn::Postgres(_) => {
                let (indexed, punctuated) = pg_trgm_patterns(&long);
                checked = punctuated;
                IndexPart::AllLike(indexed)
            }
        };
        // pg_trgm drops spaces and punctuation from its trigrams, so for `daily orders` the
        // full index finds every name holding both words (`etl/daily_orders_1.sql`) and
        // rechecks each one; only names with a space can hold the phrase.
        let spaced =
            matches!(conn, DbConn::Postgres(_)) && self.words.iter().any(|w| w.contains(' '));
        NameMatch {
            id,
            name,
            lower: names.lowered(conn),
            fts,
            index,
            short,
            checked,
            spaced,
            window: None,
            newer_than: None,
            lacks: None,
            generic: false,
        }
    }

    /// The candidates of the typo-tolerant step: names sharing at least one three-letter run
    /// with a query word. `None` when the query has no word of 3 or more letters.
    pub fn typo_candidates(&self, conn: &DbConn, names: Names) -> Option<NameMatch> {
        let Names { id, name, fts, .. } = names;
        let mut runs: Vec<String> = Vec::new();
        for w in words(&self.query) {
            let chars: Vec<char> = w.chars().collect();
            for run in chars.windows(3) {
                let run: String = run.iter().collect();
                if !runs.contains(&run) {
                    runs.push(run);
                }
            }
        }
        if runs.is_empty() {
            return None;
        }
        let index = match conn {
            DbConn::Sqlite(_) => IndexPart::Fts(
                runs.iter()
                    .map(|r| fts_phrase(r))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            ),
            DbConn::Postgres(_) => {
                IndexPart::AnyLike(runs.iter().map(|r| like_contains(r)).collect())
            }
        };
        Some(NameMatch {
            id,
            name,
            lower: names.lowered(conn),
            fts,
            index,
            short: Vec::new(),
            checked: Vec::new(),
            spaced: false,
            window: None,
            newer_than: None,
            lacks: None,
            generic: false,
        })
    }

    /// The condition "the name contains the whole query" (tiers 0 to 2). For a one-word query
    /// that is every match.
    pub(super) fn whole_query_matches(&self, conn: &DbConn, names: Names) -> NameMatch {
        NameSearch {
            query: self.query.clone(),
            words: vec![self.query.clone()],
        }
        .matches(conn, names)
    }

    /// The condition "the name starts with the whole query" (tiers 0 and 1), through the
    /// `*_ws_lower_name` index (migration `name_prefix`). For a one-word query every such
    /// name is a match.
    pub(super) fn prefix_matches(&self, conn: &DbConn, names: Names) -> NameMatch {
        let Names { id, name, fts, .. } = names;
        // Every string starting with the query sorts before the query with its last character
        // incremented (UTF-8 keeps code point order); the LIKE test makes it exact.
        let range = matches!(conn, DbConn::Sqlite(_)).then(|| {
            let mut below: Vec<char> = self.query.chars().collect();
            let below = below.pop().and_then(|last| {
                let next = char::from_u32(u32::from(last) + 1)?;
                Some(below.into_iter().chain([next]).collect())
            });
            (self.query.clone(), below)
        });
        NameMatch {
            id,
            name,
            lower: names.lowered(conn),
            fts,
            index: IndexPart::Prefix {
                range,
                like: self.prefix_pattern(),
            },
            short: Vec::new(),
            checked: Vec::new(),
            spaced: false,
            window: None,
            newer_than: None,
            lacks: None,
            generic: false,
        }
    }

    /// `LIKE` pattern: starts with the whole query.
    pub(super) fn prefix_pattern(&self) -> String {
        format!("{}%", escape_like(&self.query))
    }

    /// The rank tier of a matching name (0 best), to `ORDER BY` before the id.
    pub fn tier(&self, conn: &DbConn, names: Names) -> NameTier {
        NameTier {
            lower: names.lowered(conn),
            exact: self.query.clone(),
            prefix: self.prefix_pattern(),
            contains: like_contains(&self.query),
        }
    }
}

pub(super) fn is_long(word: &str) -> bool {
    word.chars().count() >= 3
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// PostgreSQL's patterns for the long words of a query: (looked up through the pg_trgm index,
/// tested on the rows it finds).
///
/// pg_trgm splits text into words at anything not a letter or digit and pads each word, so a
/// fragment with punctuation such as `orders_0012` also looks up the trigrams of a word
/// starting with `0` (`"  0"`, `" 00"`), which every bench name has, so the index read every
/// name for a few candidates. Its letter-and-digit runs of 3 or more (`orders`, `0012`) are
/// looked up instead, with no padding, and the whole fragment is tested on what they find.
/// The same rows match either way (figures: docs/BENCHMARKS.md, "The search machinery").
fn pg_trgm_patterns(long: &[&String]) -> (Vec<String>, Vec<String>) {
    let (mut indexed, mut checked) = (Vec::new(), Vec::new());
    for word in long {
        let runs: Vec<&str> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|run| is_long(run))
            .collect();
        if runs.is_empty() || runs == [word.as_str()] {
            indexed.push(like_contains(word));
            continue;
        }
        for run in runs {
            let pattern = like_contains(run);
            if !indexed.contains(&pattern) {
                indexed.push(pattern);
            }
        }
        checked.push(like_contains(word));
    }
    (indexed, checked)
}

pub(super) fn like_contains(word: &str) -> String {
    format!("%{}%", escape_like(word))
}

/// An FTS5 string: the trigram tokenizer matches it as a substring.
pub(super) fn fts_phrase(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

#[derive(Clone, Debug)]
pub(super) enum IndexPart {
    None,
    /// SQLite: `id IN (SELECT rowid FROM <fts> WHERE <fts> MATCH ?)`.
    Fts(String),
    /// SQLite: the ids an `Fts` match found, read once (`NameSearch::condition`), as a JSON
    /// array: `id IN (SELECT value FROM json_each(?))`, one bind whatever their number.
    Ids(String),
    /// PostgreSQL: the ids an `AllLike` match found, read once (`NameSearch::condition`), as
    /// an array literal: `id = ANY(CAST(? AS BIGINT[]))`.
    IdArray(String),
    /// `lower(name) LIKE 'query%'` (`NameSearch::prefix_matches`); on SQLite also the range
    /// `from <= lower(name) < below`, which its expression index serves (SQLite's own LIKE
    /// optimization needs a plain column). PostgreSQL's `text_pattern_ops` index serves the
    /// LIKE itself.
    Prefix {
        range: Option<(String, Option<String>)>,
        like: String,
    },
    /// PostgreSQL: `lower(name) LIKE ?` for each pattern, all of them.
    AllLike(Vec<String>),
    /// PostgreSQL: any of them.
    AnyLike(Vec<String>),
}

/// A boolean SQL condition on a name column (see `NameSearch::matches`).
#[derive(Clone, Debug)]
pub struct NameMatch {
    pub(super) id: &'static str,
    name: &'static str,
    /// The lowercase name (`Names::lowered`), which the patterns are tested on.
    lower: &'static str,
    pub(super) fts: &'static str,
    pub(super) index: IndexPart,
    short: Vec<String>,
    /// PostgreSQL: `lower(name) LIKE` patterns tested on the rows the index found, not
    /// through it (`pg_trgm_patterns`).
    pub(super) checked: Vec<String>,
    /// PostgreSQL: the query holds a space, so only names with one can match; saying so lets
    /// the partial `*_spaced_trgm` index serve it (migration `000009_spaced_names`).
    spaced: bool,
    /// SQLite: only the `n` newest index matches (`newest_matches`).
    window: Option<i64>,
    /// PostgreSQL: only ids above this (`rare::newest_window`).
    newer_than: Option<i64>,
    /// `lower(name) NOT LIKE` this pattern (`NameMatch::lacking`).
    lacks: Option<String>,
    /// PostgreSQL may keep a generic plan of a statement with this condition
    /// (`NameMatch::generically_planned`).
    generic: bool,
}

impl Expression for NameMatch {
    type SqlType = Bool;
}
impl<QS> AppearsOnTable<QS> for NameMatch {}
impl<QS> SelectableExpression<QS> for NameMatch {}
impl ValidGrouping<()> for NameMatch {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
impl QueryId for NameMatch {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for NameMatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // Table and column names are the `Names` constants of the models; every value is a bind.
        out.push_sql("(1 = 1");
        if self.spaced {
            // A literal, as the partial indexes' predicate is.
            out.push_sql(" AND ");
            out.push_sql(self.name);
            out.push_sql(" LIKE '% %'");
        }
        match &self.index {
            IndexPart::None => {}
            IndexPart::Fts(query) => {
                out.push_sql(" AND ");
                out.push_sql(self.id);
                out.push_sql(" IN (SELECT rowid FROM ");
                out.push_sql(self.fts);
                out.push_sql(" WHERE ");
                out.push_sql(self.fts);
                out.push_sql(" MATCH ");
                out.push_bind_param::<Text, _>(query)?;
                if let Some(n) = &self.window {
                    // FTS5 walks its index in rowid order and stops after n rows.
                    out.push_sql(" ORDER BY rowid DESC LIMIT ");
                    out.push_bind_param::<BigInt, _>(n)?;
                }
                out.push_sql(")");
            }
            IndexPart::Ids(ids) => {
                out.push_sql(" AND ");
                out.push_sql(self.id);
                out.push_sql(" IN (SELECT value FROM json_each(");
                out.push_bind_param::<Text, _>(ids)?;
                out.push_sql("))");
            }
            IndexPart::IdArray(ids) => {
                out.push_sql(" AND ");
                out.push_sql(self.id);
                out.push_sql(" = ANY(CAST(");
                out.push_bind_param::<Text, _>(ids)?;
                out.push_sql(" AS BIGINT[]))");
            }
            IndexPart::Prefix { range, like } => {
                if let Some((from, below)) = range {
                    out.push_sql(" AND ");
                    out.push_sql(self.lower);
                    out.push_sql(" >= ");
                    out.push_bind_param::<Text, _>(from)?;
                    if let Some(below) = below {
                        out.push_sql(" AND ");
                        out.push_sql(self.lower);
                        out.push_sql(" < ");
                        out.push_bind_param::<Text, _>(below)?;
                    }
                } else {
                    // A custom plan, so the planner sees the pattern's fixed prefix.
                    out.unsafe_to_cache_prepared();
                }
                push_like(&mut out, " AND ", self.lower, "", like)?;
            }
            IndexPart::AllLike(patterns) => {
                // Planned with this query's patterns every time: after five runs PostgreSQL
                // may keep a generic plan, which cannot see how common a pattern is; for
                // `daily orders` it read every match through the trigram index and sorted
                // them instead of walking the newest rows (figures: BENCHMARKS). Unless
                // the statement has no such choice (`generically_planned`), and few patterns:
                // a prepared statement is kept for each shape of SQL, on every connection.
                let patterns_in_sql = patterns.len() + self.checked.len() + self.short.len();
                if !self.generic || patterns_in_sql > GENERIC_PATTERNS {
                    out.unsafe_to_cache_prepared();
                }
                for p in patterns {
                    push_like(&mut out, " AND ", self.lower, "", p)?;
                }
            }
            IndexPart::AnyLike(patterns) => {
                out.unsafe_to_cache_prepared();
                out.push_sql(" AND (1 = 0");
                for p in patterns {
                    push_like(&mut out, " OR ", self.lower, "", p)?;
                }
                out.push_sql(")");
            }
        }
        if let Some(floor) = &self.newer_than {
            // Planned for this floor: a generic plan cannot see how few ids lie above it.
            out.unsafe_to_cache_prepared();
            out.push_sql(" AND ");
            out.push_sql(self.id);
            out.push_sql(" > ");
            out.push_bind_param::<BigInt, _>(floor)?;
        }
        if !self.checked.is_empty() {
            // `|| ''` keeps the planner from adding these patterns' trigrams to the index
            // scan. One `LIKE ALL` for all of them. Its escape character is the default `\`,
            // the one `escape_like` writes.
            out.push_sql(" AND (");
            out.push_sql(self.lower);
            out.push_sql(" || '') LIKE ALL (ARRAY[");
            for (i, p) in self.checked.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                out.push_bind_param::<Text, _>(p)?;
            }
            out.push_sql("])");
        }
        for p in &self.short {
            push_like(&mut out, " AND ", self.lower, "", p)?;
        }
        if let Some(p) = &self.lacks {
            push_like(&mut out, " AND ", self.lower, " NOT", p)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `SELECT <id> FROM <table> WHERE <m> LIMIT <limit>`: the ids of `m`'s rows, in any
/// workspace (`NameMatch::read_ids`).
pub(super) struct IdsOf<'a> {
    pub(super) names: Names,
    pub(super) m: &'a NameMatch,
    pub(super) limit: i64,
}

impl QueryId for IdsOf<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
impl Query for IdsOf<'_> {
    type SqlType = BigInt;
}
impl<C> diesel::RunQueryDsl<C> for IdsOf<'_> {}

impl QueryFragment<MultiBackend> for IdsOf<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        out.push_sql(self.names.id);
        out.push_sql(" FROM ");
        out.push_sql(self.names.table);
        out.push_sql(" WHERE ");
        self.m.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        Ok(())
    }
}

/// `{open}{name}{close} LIKE pattern ESCAPE '\'`, the pattern a bind (`like_contains`).
fn push_like<'b>(
    out: &mut AstPass<'_, 'b, MultiBackend>,
    open: &'static str,
    name: &'static str,
    close: &'static str,
    pattern: &'b String,
) -> QueryResult<()> {
    out.push_sql(open);
    out.push_sql(name);
    out.push_sql(close);
    out.push_sql(" LIKE ");
    out.push_bind_param::<Text, _>(pattern)?;
    out.push_sql(" ESCAPE '\\'");
    Ok(())
}

/// `ids` separated by commas, for a JSON array or a PostgreSQL array literal.
fn joined_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    ids.join(",")
}

/// `ids` as a JSON array, for `json_each`.
pub(super) fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    format!("[{}]", joined_ids(ids))
}

/// The most `LIKE` patterns of a statement PostgreSQL may plan generically
/// (`NameMatch::generically_planned`): a query of up to about three words. Each further number
/// of patterns is one more prepared statement on every pooled connection.
const GENERIC_PATTERNS: usize = 6;

impl NameMatch {
    /// The same condition, for a statement that reads its rows through the trigram index's
    /// bitmap whatever the patterns: a count or an id read, with no order to walk rows in.
    /// PostgreSQL may then keep a generic plan, as it does after five runs of a prepared
    /// statement whose custom plans cost no less. Planning `daily orders`'s head count
    /// weighed its patterns against both trigram indexes on every request, many times its
    /// execution (figures: docs/BENCHMARKS.md, "The search machinery").
    pub(super) fn generically_planned(self) -> NameMatch {
        NameMatch {
            generic: true,
            ..self
        }
    }

    /// This match with its index part replaced by the ids it finds.
    pub(super) fn with_ids(self, ids: impl IntoIterator<Item = i64>) -> NameMatch {
        let ids = joined_ids(ids);
        let index = match self.index {
            IndexPart::AllLike(_) => IndexPart::IdArray(format!("{{{ids}}}")),
            _ => IndexPart::Ids(format!("[{ids}]")),
        };
        NameMatch { index, ..self }
    }

    /// Whether the rows are found by their ids (`with_ids`), read once already.
    pub(super) fn reads_ids(&self) -> bool {
        matches!(self.index, IndexPart::Ids(_) | IndexPart::IdArray(_))
    }

    /// Only the `n` newest rows the index finds (SQLite's FTS part); unchanged elsewhere.
    pub(super) fn newest_matches(&self, n: i64) -> NameMatch {
        let mut m = self.clone();
        if let IndexPart::Fts(_) = m.index {
            m.window = Some(n);
        }
        m
    }

    /// PostgreSQL: the same condition for a one-word `search` as its one whole-word pattern,
    /// without the letter-and-digit runs `pg_trgm_patterns` adds for the index (the word
    /// implies them). The planner estimates one pattern from the statistics of `lower(name)`;
    /// several it multiplies, expecting one row where a tenth of the names match. Unchanged
    /// on SQLite.
    pub(super) fn as_whole_word(&self, search: &NameSearch) -> NameMatch {
        let mut m = self.clone();
        if let IndexPart::AllLike(_) = &self.index {
            m.index = IndexPart::AllLike(vec![like_contains(&search.query)]);
            m.checked = Vec::new();
        }
        m
    }

    /// This match among the rows whose id is above `floor`.
    pub(super) fn newer_than(&self, floor: i64) -> NameMatch {
        // The window is read through the primary key alone: its patterns are tested on the
        // window's rows (`checked`), not looked up. Left indexable, PostgreSQL ANDed the
        // trigram index's bitmap of every match to the window's (most of the count's time
        // for `daily_orders` at 1M tasks: BENCHMARKS), the very cost the window is for.
        let mut m = NameMatch {
            newer_than: Some(floor),
            ..self.clone()
        };
        if let IndexPart::AllLike(patterns) = &m.index {
            m.checked.splice(0..0, patterns.iter().cloned());
            m.index = IndexPart::None;
        }
        m
    }

    /// This match among the names not `LIKE` `pattern`: those lacking the whole query
    /// (tier 3), or not starting with it (tier 2 of a one-word query).
    pub(super) fn lacking(&self, pattern: String) -> NameMatch {
        NameMatch {
            lacks: Some(pattern),
            ..self.clone()
        }
    }
}

#[derive(Clone, Debug)]
pub struct NameTier {
    lower: &'static str,
    exact: String,
    prefix: String,
    contains: String,
}

impl Expression for NameTier {
    type SqlType = Integer;
}
impl<QS> AppearsOnTable<QS> for NameTier {}
impl<QS> SelectableExpression<QS> for NameTier {}
impl ValidGrouping<()> for NameTier {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
impl QueryId for NameTier {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for NameTier {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("CASE WHEN ");
        out.push_sql(self.lower);
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(&self.exact)?;
        out.push_sql(" THEN 0 WHEN ");
        out.push_sql(self.lower);
        out.push_sql(" LIKE ");
        out.push_bind_param::<Text, _>(&self.prefix)?;
        out.push_sql(" ESCAPE '\\' THEN 1 WHEN ");
        out.push_sql(self.lower);
        out.push_sql(" LIKE ");
        out.push_bind_param::<Text, _>(&self.contains)?;
        out.push_sql(" ESCAPE '\\' THEN 2 ELSE 3 END");
        Ok(())
    }
}
