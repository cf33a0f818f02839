//! Fuzzy name search for the app's lists (tasks, packages, scripts, region release tasks),
//! served by an index on both backends and ranked the same way on both.
//!
//! **The seam.** A list searched by name describes itself as a `Listing`: its searchable
//! column (`Names`), how it counts its rows and how it reads a page of them, each under its own
//! filters plus a name condition it is handed, in an `Order` it is told. It then asks
//! `page(conn, &list, search, limit, offset)` for one page and the total. Which conditions and
//! orders are run, and how many statements that takes, is the planner's business (`plan`); a
//! list never sees it. A list that only filters by name (Production, the Scripts list) asks
//! `NameSearch::condition` for the condition and applies it itself.
//!
//! **What matches.** A query is split on whitespace into words; a name matches when it contains
//! every word (case-insensitive, in any order). Matches are ranked by a tier, then newest
//! first: 0 the name equals the query, 1 it starts with it, 2 it contains the whole query, 3 it
//! contains every word. Words of 3 or more characters are found through the index: on SQLite an
//! FTS5 table with the trigram tokenizer (`<table>_fts`, kept in step by triggers), on
//! PostgreSQL a `pg_trgm` GIN index on the stored lowercase name (`lower_name`, migrations
//! `000005_fuzzy_search` and `000012_lower_names`). Shorter words add a plain `LIKE` (a scan, so
//! a query made only of short words is not indexed). When no name contains every word, the
//! search tolerates typos (`typo`): the newest names sharing a three-letter run with a query
//! word are scored in Rust. Both steps see the same rows in the same order on both backends, so
//! the results are identical.
//!
//! The modules behind the seam: `condition` builds the SQL (`NameMatch`, `NameTier`) and reads
//! nothing; `plan` chooses what to run; `rare` keeps a sample of each table's names, which
//! chooses how an index is used (never what matches); `typo` scores near misses. What each
//! choice buys, measured, is in docs/BENCHMARKS.md ("The search machinery").

use diesel::QueryResult;

use crate::db::DbConn;

mod condition;
mod plan;
pub mod rare;
mod typo;

pub use condition::{NameMatch, NameTier};
pub use typo::TYPO_CANDIDATES;

/// At most this many ids of a name match are read out and looked up by id
/// (`NameSearch::condition`): the capped count's own limit, so a list reading them counts
/// exactly what it would have.
const FEW_MATCHES: i64 = crate::db::count::COUNT_CAP;

/// A list's searchable name column and what indexes it; each table's model defines its own
/// (`releases::TASK_NAMES`, …), whose migrations create the indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Names {
    /// The table (`release_tasks`).
    pub table: &'static str,
    /// Its id column, qualified (`release_tasks.id`): ids grow with time, so "newest" is "id
    /// descending".
    pub id: &'static str,
    /// The name column, qualified (`release_tasks.name`).
    pub name: &'static str,
    /// PostgreSQL: the stored lowercase name, qualified (`release_tasks.lower_name`), which
    /// every name condition and its trigram and prefix indexes use.
    pub stored_lower: &'static str,
    /// SQLite: the lowercase name as an expression (`lower(release_tasks.name)`), which its
    /// prefix index is on.
    pub lower_expr: &'static str,
    /// SQLite: the FTS5 trigram table kept in step with the name (`release_tasks_fts`).
    pub fts: &'static str,
}

/// The `Names` of `$table.$name`, as the search migrations index every searchable column: an
/// `id` primary key, the stored lowercase copy `$lower` (PostgreSQL) and the FTS5 table
/// `<table>_fts` (SQLite). `names!(release_tasks.name, lower_name)`.
macro_rules! names {
    ($table:ident . $name:ident, $lower:ident) => {
        $crate::search::Names {
            table: stringify!($table),
            id: concat!(stringify!($table), ".id"),
            name: concat!(stringify!($table), ".", stringify!($name)),
            stored_lower: concat!(stringify!($table), ".", stringify!($lower)),
            lower_expr: concat!("lower(", stringify!($table), ".", stringify!($name), ")"),
            fts: concat!(stringify!($table), "_fts"),
        }
    };
}
pub(crate) use names;

impl Names {
    /// The lowercase name, as an SQL expression on this backend.
    fn lowered(&self, conn: &DbConn) -> &'static str {
        match conn {
            DbConn::Postgres(_) => self.stored_lower,
            DbConn::Sqlite(_) => self.lower_expr,
        }
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

    /// Whether every match contains the whole query (a one-word query), so there is no tier 3.
    pub fn is_one_word(&self) -> bool {
        self.words.len() == 1
    }
}

/// The order a `Listing` reads a page in.
#[derive(Clone, Debug)]
pub enum Order {
    /// The list's own order: no search, or a sort the user chose instead of relevance.
    Listed,
    /// Newest first: id descending.
    Newest,
    /// By the tier of the name (`NameTier`, 0 best, ascending), then newest first.
    Relevance(NameTier),
}

/// A list that can be searched by name: its own filters, applied by both of its reads, and the
/// name condition `page` hands it on top of them.
pub trait Listing {
    type Row;

    /// The searchable name column of the list's table.
    fn names(&self) -> Names;

    /// Whether a search orders the page by relevance (the default), or the list keeps its own
    /// order (`Order::Listed`) because the user chose a sort.
    fn by_relevance(&self) -> bool {
        true
    }

    /// The rows passing the list's filters and `names` (every row for `None`), counted up to
    /// `cap` (`db::count::capped`).
    fn count(&self, conn: &mut DbConn, names: Option<NameMatch>, cap: i64) -> QueryResult<i64>;

    /// One page of the rows passing the list's filters and `names`, in `order`.
    fn rows(
        &self,
        conn: &mut DbConn,
        names: Option<NameMatch>,
        order: Order,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<Self::Row>>;

    /// A row's name, for the typo-tolerant score.
    fn name_of(row: &Self::Row) -> &str;
}

/// One page of `list` and its total, counted up to the page's cap (`count::count_limit`).
/// Without a search, or when the list keeps its own order, the page is in that order. With a
/// search it is ranked by relevance: tier, then newest first; when no name contains every
/// word, by the typo-tolerant score of the newest names sharing a three-letter run.
pub fn page<L: Listing>(
    conn: &mut DbConn,
    list: &L,
    search: Option<&NameSearch>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<L::Row>, i64)> {
    plan::page(conn, list, search, limit, offset)
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
    fn names_follow_the_search_migrations() {
        assert_eq!(
            names!(release_tasks.name, lower_name),
            Names {
                table: "release_tasks",
                id: "release_tasks.id",
                name: "release_tasks.name",
                stored_lower: "release_tasks.lower_name",
                lower_expr: "lower(release_tasks.name)",
                fts: "release_tasks_fts",
            }
        );
    }

    #[test]
    fn queries_are_normalised() {
        let s = NameSearch::parse("  Daily   ORDERS daily ").unwrap();
        assert_eq!(s.words, ["daily", "orders"]);
        assert_eq!(s.query, "daily orders daily");
        assert!(NameSearch::parse("   ").is_none());
    }
}
