//! Fuzzy name search for tables (tasks, packages, scripts, region release tasks), served by an
//! index on both backends and ranked the same way on both.
//!
//! A query is split on whitespace into words; a name matches when it contains every word
//! (case-insensitive, in any order). Matches are ranked in SQL by a tier, then newest first:
//! 0 the name equals the query, 1 it starts with it, 2 it contains the whole query, 3 it contains
//! every word. Words of 3 or more characters are found through the index: on SQLite an FTS5
//! table with the trigram tokenizer (`<table>_fts`, kept in step by triggers), on PostgreSQL a
//! `pg_trgm` GIN index on the stored lowercase name (`lower_name`, migrations
//! `000005_fuzzy_search` and `000012_lower_names`). Shorter words add a
//! plain `LIKE` (a scan, so a query made only of short words is not indexed).
//!
//! A list's count stops at a cap (`db::count`). On PostgreSQL the trigram index builds a
//! bitmap of every match before that cap applies, so a query in a tenth of 1M names is first
//! counted among the newest ids, when a sample of the names says the window is the cheaper
//! way (`rare::newest_window`); otherwise it is looked up through the trigrams the sample says
//! are cheapest, not all of them (`rare::narrowest`).
//!
//! When no name contains every word, the search tolerates typos: the names sharing at least
//! one three-letter run with a query word (again through the index) are candidates, the newest
//! `TYPO_CANDIDATES` of them are scored here in Rust (each word a substring, or a name word
//! with trigram similarity ≥ 0.5), and ranked by score, then newest first. Both steps see the
//! same rows in the same order on both backends, so the results are identical.

use std::collections::HashSet;

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use crate::db::{DbConn, MultiBackend};

pub mod rare;

/// How many of the newest candidate names the typo-tolerant step scores at most.
pub const TYPO_CANDIDATES: i64 = 2000;

/// The searchable name columns and their indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Tasks,
    Packages,
    Scripts,
    RegionTasks,
}

impl Target {
    /// (qualified id column, qualified name column, FTS5 table).
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Target::Tasks => (
                "release_tasks.id",
                "release_tasks.name",
                "release_tasks_fts",
            ),
            Target::Packages => (
                "release_packages.id",
                "release_packages.name",
                "release_packages_fts",
            ),
            Target::Scripts => ("scripts.id", "scripts.path", "scripts_fts"),
            Target::RegionTasks => ("region_tasks.id", "region_tasks.name", "region_tasks_fts"),
        }
    }

    /// The lowercase name, as an SQL expression: on PostgreSQL the stored `lower_name` column
    /// (`lower_path` for scripts; migration `000012_lower_names`), which every name condition
    /// and its indexes use; on SQLite `lower(name)`, which its prefix index is on.
    fn lowered(self, conn: &DbConn) -> &'static str {
        match (conn, self) {
            (DbConn::Postgres(_), Target::Tasks) => "release_tasks.lower_name",
            (DbConn::Postgres(_), Target::Packages) => "release_packages.lower_name",
            (DbConn::Postgres(_), Target::Scripts) => "scripts.lower_path",
            (DbConn::Postgres(_), Target::RegionTasks) => "region_tasks.lower_name",
            (DbConn::Sqlite(_), Target::Tasks) => "lower(release_tasks.name)",
            (DbConn::Sqlite(_), Target::Packages) => "lower(release_packages.name)",
            (DbConn::Sqlite(_), Target::Scripts) => "lower(scripts.path)",
            (DbConn::Sqlite(_), Target::RegionTasks) => "lower(region_tasks.name)",
        }
    }

    /// The table the columns of `sql` belong to.
    fn table(self) -> &'static str {
        let (id, _, _) = self.sql();
        id.split_once('.').map_or(id, |(table, _)| table)
    }
}

/// A parsed search query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameSearch {
    /// The whole query, trimmed and lowercased (for the exact, prefix and contains tiers).
    query: String,
    /// Its whitespace-separated words, lowercased, without duplicates.
    words: Vec<String>,
}

impl NameSearch {
    /// `None` for a blank query.
    pub fn parse(raw: &str) -> Option<NameSearch> {
        // Control characters separate words like spaces: no name holds one (names refuse
        // them), and FTS5 cannot quote a NUL ("unterminated string", found by the bad-input
        // property test).
        let query = raw
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let query = query.to_lowercase();
        let mut words: Vec<String> = Vec::new();
        for w in query.split(' ').filter(|w| !w.is_empty()) {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_owned());
            }
        }
        (!words.is_empty()).then_some(NameSearch { query, words })
    }

    /// The condition "the name contains every word", for `target`'s table.
    pub fn matches(&self, conn: &DbConn, target: Target) -> NameMatch {
        let (id, name, fts) = target.sql();
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
        // full index finds every name holding both words (`etl/daily_orders_1.sql`: 10% of
        // the bench rows) and rechecks each one; only names with a space can hold the phrase.
        let spaced =
            matches!(conn, DbConn::Postgres(_)) && self.words.iter().any(|w| w.contains(' '));
        NameMatch {
            id,
            name,
            lower: target.lowered(conn),
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
    pub fn typo_candidates(&self, conn: &DbConn, target: Target) -> Option<NameMatch> {
        let (id, name, fts) = target.sql();
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
            lower: target.lowered(conn),
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
    pub fn whole_query_matches(&self, conn: &DbConn, target: Target) -> NameMatch {
        NameSearch {
            query: self.query.clone(),
            words: vec![self.query.clone()],
        }
        .matches(conn, target)
    }

    /// The condition "the name starts with the whole query" (tiers 0 and 1), through the
    /// `*_ws_lower_name` index (migration `name_prefix`). For a one-word query every such
    /// name is a match.
    pub fn prefix_matches(&self, conn: &DbConn, target: Target) -> NameMatch {
        let (id, name, fts) = target.sql();
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
            lower: target.lowered(conn),
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
    fn prefix_pattern(&self) -> String {
        format!("{}%", escape_like(&self.query))
    }

    /// `matches`, for a list that will both count and page them. On SQLite a one-word query
    /// whose index match finds at most `FEW_MATCHES` rows reads their ids here, once: the
    /// count and the page then look rows up by id instead of each evaluating the FTS5 phrase
    /// again. A trigram phrase such as `orders_0012` merges the postings of its nine trigrams,
    /// most of them common (`_00`, `ord`), so they are first looked for through the word's
    /// rarest trigrams (`rare`). Broader queries keep the `windowed` FTS5 match, which stops
    /// early.
    pub fn read_matches(&self, conn: &mut DbConn, target: Target) -> QueryResult<NameMatch> {
        let m = self.matches(conn, target);
        if !self.is_one_word() {
            return Ok(m);
        }
        if is_long(&self.query)
            && let Some(ids) = rare::matches(conn, target, &self.query)?
        {
            return Ok(m.with_ids(ids));
        }
        // PostgreSQL: a fragment the sample expects in few names is looked up through the
        // trigram index once, here, instead of once by the count and again by the page.
        if rare::expect_few(conn, target, &self.words, FEW_MATCHES)?
            && let Some(ids) = self
                .looked_up(conn, target, &m, FEW_MATCHES + 1)?
                .read_ids(conn, target)?
        {
            return Ok(m.with_ids(ids));
        }
        m.read_if_few(conn)
    }

    /// PostgreSQL: `m`, for a statement reading at most `limit` of its rows, looked up through
    /// the trigrams the sample says are cheapest (`rare::narrowest`) and every pattern of `m`
    /// tested on the rows they find. The same rows match; only the index scan differs. For
    /// counts and id reads: a page's plan depends on the planner's estimate of the patterns it
    /// can see, which the tested ones hide.
    fn looked_up(
        &self,
        conn: &mut DbConn,
        target: Target,
        m: &NameMatch,
        limit: i64,
    ) -> QueryResult<NameMatch> {
        let IndexPart::AllLike(patterns) = &m.index else {
            return Ok(m.clone());
        };
        let Some(narrow) = rare::narrowest(conn, target, &self.words, limit)? else {
            return Ok(m.clone());
        };
        // A letter-and-digit run of a punctuated word (`pg_trgm_patterns`) needs no test of
        // its own: the whole word is tested, and holds it. Its escaped form is the same run,
        // as `\` `%` `_` are no letters or digits. One LIKE fewer a row: `daily_orders`
        // tests one pattern, not three.
        let implied = |p: &String| {
            let run = p.trim_matches('%');
            !run.is_empty()
                && run.chars().all(char::is_alphanumeric)
                && m.checked.iter().any(|c| c.contains(run))
        };
        let mut looked_up = m.clone();
        looked_up
            .checked
            .splice(0..0, patterns.iter().filter(|p| !implied(p)).cloned());
        looked_up.index = IndexPart::AllLike(narrow);
        Ok(looked_up.generically_planned())
    }

    /// Whether every match contains the whole query (a one-word query), so there is no tier 3.
    pub fn is_one_word(&self) -> bool {
        self.words.len() == 1
    }

    /// The rank tier of a matching name (0 best), to `ORDER BY` before the id.
    pub fn tier(&self, conn: &DbConn, target: Target) -> NameTier {
        NameTier {
            lower: target.lowered(conn),
            exact: self.query.clone(),
            prefix: self.prefix_pattern(),
            contains: like_contains(&self.query),
        }
    }

    /// One page of the typo-tolerant step: the candidate `rows` that score, best first (equal
    /// scores keep the rows' order), and how many scored.
    pub fn typo_page<T>(
        &self,
        rows: Vec<T>,
        name: impl Fn(&T) -> &str,
        limit: i64,
        offset: i64,
    ) -> (Vec<T>, i64) {
        let mut scored: Vec<(f64, T)> = rows
            .into_iter()
            .filter_map(|r| self.typo_score(name(&r)).map(|s| (s, r)))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total = scored.len() as i64;
        let page = scored
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .map(|(_, r)| r)
            .collect();
        (page, total)
    }

    /// The typo-tolerant score of `name` (higher is better), or `None` if some word of the
    /// query neither is a substring of the name nor is close to one of its words.
    pub fn typo_score(&self, name: &str) -> Option<f64> {
        score(&self.query, name)
    }
}

fn is_long(word: &str) -> bool {
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
/// starting with `0` (`"  0"`, `" 00"`), which every bench name has: the index read all
/// 100,000 of them for 33 candidates (1.0 ms). Its letter-and-digit runs of 3 or more (`orders`,
/// `0012`) are looked up instead, with no padding (0.4 ms), and the whole fragment is tested
/// on what they find. The same rows match either way.
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

fn like_contains(word: &str) -> String {
    format!("%{}%", escape_like(word))
}

/// An FTS5 string: the trigram tokenizer matches it as a substring.
fn fts_phrase(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

#[derive(Clone, Debug)]
enum IndexPart {
    None,
    /// SQLite: `id IN (SELECT rowid FROM <fts> WHERE <fts> MATCH ?)`.
    Fts(String),
    /// SQLite: the ids an `Fts` match found, read once (`NameSearch::read_matches`), as a JSON
    /// array: `id IN (SELECT value FROM json_each(?))`, one bind whatever their number.
    Ids(String),
    /// PostgreSQL: the ids an `AllLike` match found, read once (`NameSearch::read_matches`), as
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
    id: &'static str,
    name: &'static str,
    /// The lowercase name (`Target::lowered`), which the patterns are tested on.
    lower: &'static str,
    fts: &'static str,
    index: IndexPart,
    short: Vec<String>,
    /// PostgreSQL: `lower(name) LIKE` patterns tested on the rows the index found, not
    /// through it (`pg_trgm_patterns`).
    checked: Vec<String>,
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
        // Table and column names are the constants of `Target::sql`; every value is a bind.
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
                // `daily orders` it read all 10,000 matches through the trigram index and
                // sorted them (18 ms) instead of walking the newest rows (0.1 ms). Unless
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
fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    format!("[{}]", joined_ids(ids))
}

/// At most this many ids are read out of an FTS5 match (`NameSearch::read_matches`): the
/// capped count's own limit, so a list reading them counts exactly what it would have.
const FEW_MATCHES: i64 = crate::db::count::COUNT_CAP;

/// The most `LIKE` patterns of a statement PostgreSQL may plan generically
/// (`NameMatch::generically_planned`): a query of up to about three words. Each further number
/// of patterns is one more prepared statement on every pooled connection.
const GENERIC_PATTERNS: usize = 6;

impl NameMatch {
    /// The same condition, for a statement that reads its rows through the trigram index's
    /// bitmap whatever the patterns: a count or an id read, with no order to walk rows in.
    /// PostgreSQL may then keep a generic plan, as it does after five runs of a prepared
    /// statement whose custom plans cost no less. Planning `daily orders`'s head count
    /// weighed its patterns against both trigram indexes on every request: 0.3 ms, 25 times
    /// its execution (pg_stat_statements at 100k tasks).
    fn generically_planned(self) -> NameMatch {
        NameMatch {
            generic: true,
            ..self
        }
    }

    /// This match with its FTS5 part replaced by the ids it finds, when they are at most
    /// `FEW_MATCHES`; unchanged otherwise (and on PostgreSQL).
    fn read_if_few(self, conn: &mut DbConn) -> QueryResult<NameMatch> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let IndexPart::Fts(query) = &self.index else {
            return Ok(self);
        };
        // FTS5 stops after FEW_MATCHES + 1 rows of a broad match. In rowid order: walking
        // the postings backwards (`ORDER BY rowid DESC`) cost a fifth of the fragment search.
        // The table name is one of `Target::sql`'s constants.
        let rows: Vec<Row> = diesel::RunQueryDsl::load(
            diesel::sql_query(format!(
                "SELECT rowid AS id FROM {fts} WHERE {fts} MATCH ? LIMIT ?",
                fts = self.fts
            ))
            .bind::<Text, _>(query)
            .bind::<BigInt, _>(FEW_MATCHES + 1),
            conn,
        )?;
        if rows.len() as i64 > FEW_MATCHES {
            return Ok(self);
        }
        Ok(self.with_ids(rows.iter().map(|r| r.id)))
    }

    /// This match with its index part replaced by the ids it finds.
    fn with_ids(self, ids: impl IntoIterator<Item = i64>) -> NameMatch {
        let ids = joined_ids(ids);
        let index = match self.index {
            IndexPart::AllLike(_) => IndexPart::IdArray(format!("{{{ids}}}")),
            _ => IndexPart::Ids(format!("[{ids}]")),
        };
        NameMatch { index, ..self }
    }

    /// Whether the rows are found by their ids (`with_ids`), read once already.
    fn reads_ids(&self) -> bool {
        matches!(self.index, IndexPart::Ids(_) | IndexPart::IdArray(_))
    }

    /// PostgreSQL: the ids of at most `FEW_MATCHES` rows matching, in any workspace, or `None`
    /// when there are more.
    fn read_ids(&self, conn: &mut DbConn, target: Target) -> QueryResult<Option<Vec<i64>>> {
        use crate::db::schema::{region_tasks, release_packages, release_tasks, scripts};
        use diesel::prelude::*;
        macro_rules! ids_of {
            ($table:ident) => {
                $table::table
                    .filter(self.clone())
                    .select($table::id)
                    .limit(FEW_MATCHES + 1)
                    .load(conn)?
            };
        }
        let ids: Vec<i64> = match target {
            Target::Tasks => ids_of!(release_tasks),
            Target::Packages => ids_of!(release_packages),
            Target::Scripts => ids_of!(scripts),
            Target::RegionTasks => ids_of!(region_tasks),
        };
        Ok((ids.len() as i64 <= FEW_MATCHES).then_some(ids))
    }

    /// Only the `n` newest rows the index finds (SQLite's FTS part); unchanged elsewhere.
    fn newest_matches(&self, n: i64) -> NameMatch {
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
    fn as_whole_word(&self, search: &NameSearch) -> NameMatch {
        let mut m = self.clone();
        if let IndexPart::AllLike(_) = &self.index {
            m.index = IndexPart::AllLike(vec![like_contains(&search.query)]);
            m.checked = Vec::new();
        }
        m
    }

    /// This match among the rows whose id is above `floor`.
    fn newer_than(&self, floor: i64) -> NameMatch {
        // The window is read through the primary key alone: its patterns are tested on the
        // window's rows (`checked`), not looked up. Left indexable, PostgreSQL ANDed the
        // trigram index's bitmap of every match to the window's (100,002 entries for
        // `daily_orders` at 1M tasks, 27 of the count's 31 ms), the very cost the window is for.
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
    fn lacking(&self, pattern: String) -> NameMatch {
        NameMatch {
            lacks: Some(pattern),
            ..self.clone()
        }
    }

    /// Whether the index finds fewer than `n` rows, so a window of `n` saw every match.
    fn index_has_fewer_than(&self, conn: &mut DbConn, n: i64) -> QueryResult<bool> {
        #[derive(diesel::QueryableByName)]
        struct Counted {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let IndexPart::Fts(query) = &self.index else {
            return Ok(true);
        };
        // The table name is one of `Target::sql`'s constants.
        let counted: Counted = diesel::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
                fts = self.fts
            ))
            .bind::<Text, _>(query)
            .bind::<BigInt, _>(n),
            conn,
        )?;
        Ok(counted.n < n)
    }
}

/// How a list searched by name reads its rows. Each query applies the list's own filters and
/// the name condition it is given; `list_page` decides which to run.
pub struct ListQueries<Count, ByTier, Newest, Listed> {
    /// `(m, n)`: the rows matching `m` (every row for `None`), counted up to `n`.
    pub count: Count,
    /// `(m, tier, limit, offset)`: a page of the rows matching `m` ordered by `tier`, then
    /// id descending.
    pub by_tier: ByTier,
    /// `(m, limit, offset)`: a page of the rows matching `m`, id descending.
    pub newest: Newest,
    /// `(m, limit, offset)`: a page in the list's own order, for no search or a sort the user
    /// chose instead of relevance.
    pub listed: Listed,
}

/// One page (`(limit, offset)`) of a list and its total, counted up to the page's cap
/// (`count::count_limit`). Without a search, or when `ranked` is false, the page is in the
/// list's own order. With a search it is ranked by relevance: tier, then newest first; when
/// no name contains every word, by the typo-tolerant score of the newest names sharing a
/// three-letter run (`name` reads a row's name).
///
/// A head of few rows comes first, ranked in SQL by tier: the rows containing the whole query
/// (tiers 0 to 2) for a query of several words, the rows starting with it (tiers 0 and 1) for
/// one broad word. The rest is read newest first through a `windowed` index match, so a broad
/// query stops after one page. A word with few matches ranks them all.
pub fn list_page<R, Count, ByTier, Newest, Listed>(
    conn: &mut DbConn,
    search: Option<&NameSearch>,
    target: Target,
    ranked: bool,
    (limit, offset): (i64, i64),
    q: ListQueries<Count, ByTier, Newest, Listed>,
    name: impl Fn(&R) -> &str,
) -> QueryResult<(Vec<R>, i64)>
where
    Count: Fn(&mut DbConn, Option<NameMatch>, i64) -> QueryResult<i64>,
    ByTier: Fn(&mut DbConn, NameMatch, NameTier, i64, i64) -> QueryResult<Vec<R>>,
    Newest: Fn(&mut DbConn, NameMatch, i64, i64) -> QueryResult<Vec<R>>,
    Listed: Fn(&mut DbConn, Option<NameMatch>, i64, i64) -> QueryResult<Vec<R>>,
{
    let cap = crate::db::count::count_limit(limit, offset);
    let Some(search) = search else {
        let total = (q.count)(conn, None, cap)?;
        return Ok(((q.listed)(conn, None, limit, offset)?, total));
    };
    let every_word = search.read_matches(conn, target)?;
    // PostgreSQL: a broad query is counted among the newest ids first (`rare::newest_window`);
    // not one whose few ids are read already.
    let floor = if every_word.reads_ids() {
        None
    } else {
        rare::newest_window(conn, target, &search.words, cap)?
    };
    let in_window = match floor {
        Some(floor) => Some((q.count)(conn, Some(every_word.newer_than(floor)), cap)?),
        None => None,
    };
    let total = match in_window {
        // The window alone holds more than the cap: so does the table.
        Some(n) if n >= cap => n,
        _ => {
            let counted = search.looked_up(conn, target, &every_word, cap)?;
            windowed(
                conn,
                &counted,
                cap,
                |c, m| (q.count)(c, Some(m), cap),
                |n| *n >= cap,
            )?
        }
    };
    if total == 0 {
        // Nothing contains every word: score the newest names sharing a three-letter run.
        let Some(candidates) = search.typo_candidates(conn, target) else {
            return Ok((Vec::new(), 0));
        };
        let rows = (q.newest)(conn, candidates, TYPO_CANDIDATES, 0)?;
        return Ok(search.typo_page(rows, name, limit, offset));
    }
    if !ranked {
        return Ok(((q.listed)(conn, Some(every_word), limit, offset)?, total));
    }
    let tier = search.tier(conn, target);
    // The head is ranked in SQL by tier; the rest follows newest first.
    let (head, rest) = if !search.is_one_word() {
        // Head: the names containing the whole query, few for a phrase. Rest: tier 3.
        let whole = search.whole_query_matches(conn, target);
        (whole, every_word.lacking(like_contains(&search.query)))
    } else if total <= FEW_MATCHES {
        // Every match contains the whole query; few enough to rank them all.
        let rows = (q.by_tier)(conn, every_word, tier, limit, offset)?;
        return Ok((rows, total));
    } else {
        // A broad word: ranking its every match by tier read and sorted all of them (10,000
        // for `daily_orders` at 100k tasks, 29 ms a page on SQLite, 84 ms on PostgreSQL).
        // Head: the names starting with it (tiers 0 and 1), through the prefix index. Rest:
        // tier 2.
        // On PostgreSQL the rest is the word's one pattern: with the runs of `daily_orders`
        // too, the planner multiplied their selectivities, expected one row and rechecked
        // all 10,000 from the trigram index (21 ms); with one it expects 9,000 and walks the
        // newest rows until the page is full (0.2 ms).
        let prefixed = search.prefix_matches(conn, target);
        let rest = every_word
            .as_whole_word(search)
            .lacking(search.prefix_pattern());
        (prefixed, rest)
    };
    // Exact below offset + limit, which is all the paging below needs.
    let head_count = (q.count)(
        conn,
        Some(head.clone().generically_planned()),
        offset.saturating_add(limit),
    )?;
    let mut rows = if offset < head_count {
        (q.by_tier)(conn, head, tier, limit, offset)?
    } else {
        Vec::new()
    };
    let need = limit - rows.len() as i64;
    if need > 0 {
        let skip = (offset - head_count).max(0);
        let rest = windowed(
            conn,
            &rest,
            (skip + need).saturating_mul(4),
            |c, m| (q.newest)(c, m, need, skip),
            |r: &Vec<R>| r.len() as i64 == need,
        )?;
        rows.extend(rest);
    }
    Ok((rows, total))
}

/// Runs `run` with `m` narrowed to the newest `first` index matches, then 8× as many, until
/// `enough` says the answer is complete or the window holds every match.
///
/// Why: an FTS5 match inside `id IN (…)` is evaluated in full before the first row comes out;
/// the broad search at 100k tasks (10,000 matches) spent its time there (docs/BENCHMARKS.md).
/// In a window of the newest matches FTS5 stops early. Correct for questions about the newest
/// rows (a page ordered by id descending, a capped count): every match outside the window is
/// older than every match inside it. PostgreSQL has no window; `run` runs once.
pub fn windowed<T>(
    conn: &mut DbConn,
    m: &NameMatch,
    first: i64,
    mut run: impl FnMut(&mut DbConn, NameMatch) -> QueryResult<T>,
    enough: impl Fn(&T) -> bool,
) -> QueryResult<T> {
    const LARGEST_WINDOW: i64 = 1 << 20;
    if !matches!(m.index, IndexPart::Fts(_)) {
        return run(conn, m.clone());
    }
    let mut n = first.max(64);
    loop {
        let answer = run(conn, m.newest_matches(n))?;
        if enough(&answer) || m.index_has_fewer_than(conn, n)? {
            return Ok(answer);
        }
        if n >= LARGEST_WINDOW {
            return run(conn, m.clone());
        }
        n = n.saturating_mul(8);
    }
}

/// The rank tier of a name: 0 equal to the query, 1 starts with it, 2 contains it, 3 other.
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

/// Words of a query or a name for typo matching: lowercase, split on anything that is not a
/// letter or digit.
fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// pg_trgm-style trigrams of one word, padded with two spaces in front and one behind.
fn trigrams(word: &str) -> HashSet<[char; 3]> {
    let padded: Vec<char> = "  "
        .chars()
        .chain(word.chars())
        .chain(" ".chars())
        .collect();
    padded.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

/// How well one query word matches a name: 1.0 for a substring, else the best share of the
/// word's trigrams found in one word of the name (≥ 0.5 counts as a match).
fn word_score(query_word: &str, name_lower: &str, name_words: &[String]) -> Option<f64> {
    if name_lower.contains(query_word) {
        return Some(1.0);
    }
    if query_word.chars().count() < 3 {
        return None;
    }
    let q = trigrams(query_word);
    let best = name_words
        .iter()
        .map(|w| {
            let t = trigrams(w);
            q.intersection(&t).count() as f64 / q.len().max(t.len()) as f64
        })
        .fold(0.0, f64::max);
    (best >= 0.5).then_some(best * 0.9)
}

/// The typo-tolerant score of `name` for `query` (higher is better), or `None` if some word
/// does not match.
pub fn score(query: &str, name: &str) -> Option<f64> {
    let query_words = words(query);
    if query_words.is_empty() {
        return None;
    }
    let name_lower = name.to_lowercase();
    let name_words = words(name);
    let mut total = 0.0;
    for w in &query_words {
        total += word_score(w, &name_lower, &name_words)?;
    }
    Some(total / query_words.len() as f64)
}

/// Ranks in memory the same way as the indexed search (tier, then newest first; the typo
/// score when nothing contains every word): the unit tests' model of what SQL computes.
#[cfg(test)]
pub fn rank(query: &str, candidates: Vec<(i64, String)>) -> Vec<i64> {
    let Some(search) = NameSearch::parse(query) else {
        return Vec::new();
    };
    let mut hits: Vec<(u8, i64)> = candidates
        .iter()
        .filter_map(|(id, name)| search.tier_of(name).map(|t| (t, *id)))
        .collect();
    if !hits.is_empty() {
        hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        return hits.into_iter().map(|(_, id)| id).collect();
    }
    let mut scored: Vec<(f64, i64)> = candidates
        .into_iter()
        .filter_map(|(id, name)| search.typo_score(&name).map(|s| (s, id)))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    scored.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
impl NameSearch {
    /// The tier `NameTier` computes in SQL, computed here; `None` if a word is missing.
    fn tier_of(&self, name: &str) -> Option<u8> {
        let lower = name.to_lowercase();
        if !self.words.iter().all(|w| lower.contains(w.as_str())) {
            return None;
        }
        Some(if lower == self.query {
            0
        } else if lower.starts_with(&self.query) {
            1
        } else if lower.contains(&self.query) {
            2
        } else {
            3
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_separate_words_and_never_reach_the_index() {
        let s = NameSearch::parse("\u{202e}\0\u{feff}").unwrap();
        assert_eq!(s.words, vec!["\u{202e}", "\u{feff}"]);
        let s = NameSearch::parse("daily\0orders\tweekly").unwrap();
        assert_eq!(s.words, vec!["daily", "orders", "weekly"]);
        assert_eq!(s.query, "daily orders weekly");
        assert!(NameSearch::parse("\0\u{1}").is_none());
    }

    #[test]
    fn words_in_any_order_and_a_typo_find_the_script() {
        let name = "etl/daily_orders.sql";
        assert!(score("orders daily", name).is_some());
        assert!(score("daily ordrs", name).is_some());
        assert!(score("ORDERS", name).is_some());
        assert!(score("weekly", name).is_none());
        assert!(score("daily invoices", name).is_none());
    }

    #[test]
    fn exact_beats_prefix_beats_substring_beats_words() {
        let names = vec![
            (1, "etl/daily_orders_fix.sql".to_owned()),
            (2, "reports/etl/daily_orders.sql".to_owned()),
            (3, "etl/daily_orders.sql.bak".to_owned()),
            (4, "etl/daily_orders.sql".to_owned()),
            (5, "orders/etl_daily.sql".to_owned()),
        ];
        assert_eq!(rank("etl/daily_orders.sql", names.clone()), vec![4, 3, 2]);
        assert_eq!(rank("daily orders", names.clone()), vec![5, 4, 3, 2, 1]);
        assert_eq!(rank("daily_orders", names.clone())[..2], [4, 3]);
        // No name contains "ordrs": the typo step finds them all, closest first.
        assert_eq!(rank("daily ordrs", names).len(), 5);
    }

    #[test]
    fn queries_are_normalised_and_like_patterns_escaped() {
        let s = NameSearch::parse("  Daily   ORDERS daily ").unwrap();
        assert_eq!(s.words, ["daily", "orders"]);
        assert_eq!(s.query, "daily orders daily");
        assert!(NameSearch::parse("   ").is_none());
        assert_eq!(like_contains("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn punctuated_fragments_look_up_their_runs_and_test_the_whole() {
        let words = ["orders_0012", "daily", "a_b", "etl/x_sql"].map(String::from);
        let long: Vec<&String> = words.iter().collect();
        let (indexed, checked) = pg_trgm_patterns(&long);
        assert_eq!(
            indexed,
            ["%orders%", "%0012%", "%daily%", "%a\\_b%", "%etl%", "%sql%"]
        );
        assert_eq!(checked, ["%orders\\_0012%", "%etl/x\\_sql%"]);
    }
}
