//! The planner behind `search::page`: which of a list's queries to run, with which name
//! condition, so a page costs about the same however many names match. Why each choice pays
//! is in docs/BENCHMARKS.md ("The search machinery"); this module keeps the reasoning.

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text};

use super::condition::{IdsOf, IndexPart, NameMatch, is_long, like_contains};
use super::typo::TYPO_CANDIDATES;
use super::{FEW_MATCHES, Listing, NameSearch, Names, Order, rare};
use crate::db::DbConn;

impl NameSearch {
    /// The condition "the name contains every word" on `names`, for a list that will both
    /// count and page with it (the lists that filter by name without `page`, and `page`
    /// itself). The same rows match whatever it chooses below. On SQLite a one-word query
    /// whose index match finds at most `FEW_MATCHES` rows reads their ids here, once: the
    /// count and the page then look rows up by id instead of each evaluating the FTS5 phrase
    /// again. A trigram phrase such as `orders_0012` merges the postings of its nine trigrams,
    /// most of them common (`_00`, `ord`), so they are first looked for through the word's
    /// rarest trigrams (`rare`). Broader queries keep the `windowed` FTS5 match, which stops
    /// early.
    pub fn condition(&self, conn: &mut DbConn, names: Names) -> QueryResult<NameMatch> {
        let m = self.matches(conn, names);
        if !self.is_one_word() {
            return Ok(m);
        }
        if is_long(&self.query)
            && let Some(ids) = rare::matches(conn, names, &self.query)?
        {
            return Ok(m.with_ids(ids));
        }
        // PostgreSQL: a fragment the sample expects in few names is looked up through the
        // trigram index once, here, instead of once by the count and again by the page.
        if rare::expect_few(conn, names, &self.words, FEW_MATCHES)?
            && let Some(ids) = self
                .looked_up(conn, names, &m, FEW_MATCHES + 1)?
                .read_ids(conn, names)?
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
        names: Names,
        m: &NameMatch,
        limit: i64,
    ) -> QueryResult<NameMatch> {
        let IndexPart::AllLike(patterns) = &m.index else {
            return Ok(m.clone());
        };
        let Some(narrow) = rare::narrowest(conn, names, &self.words, limit)? else {
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
}

impl NameMatch {
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
        // The table name is a `Names` constant of a model.
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

    /// PostgreSQL: the ids of at most `FEW_MATCHES` rows matching, in any workspace, or `None`
    /// when there are more.
    fn read_ids(&self, conn: &mut DbConn, names: Names) -> QueryResult<Option<Vec<i64>>> {
        let ids: Vec<i64> = diesel::RunQueryDsl::load(
            IdsOf {
                names,
                m: self,
                limit: FEW_MATCHES + 1,
            },
            conn,
        )?;
        Ok((ids.len() as i64 <= FEW_MATCHES).then_some(ids))
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
        // The table name is a `Names` constant of a model.
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

/// `search::page`: one page of `list` and its total.
///
/// A head of few rows comes first, ranked in SQL by tier: the rows containing the whole query
/// (tiers 0 to 2) for a query of several words, the rows starting with it (tiers 0 and 1) for
/// one broad word. The rest is read newest first through a `windowed` index match, so a broad
/// query stops after one page. A word with few matches ranks them all.
pub(super) fn page<L: Listing>(
    conn: &mut DbConn,
    list: &L,
    search: Option<&NameSearch>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<L::Row>, i64)> {
    let names = list.names();
    let cap = crate::db::count::count_limit(limit, offset);
    let Some(search) = search else {
        let total = list.count(conn, None, cap)?;
        return Ok((list.rows(conn, None, Order::Listed, limit, offset)?, total));
    };
    let every_word = search.condition(conn, names)?;
    // PostgreSQL: a broad query is counted among the newest ids first (`rare::newest_window`);
    // not one whose few ids are read already.
    let floor = if every_word.reads_ids() {
        None
    } else {
        rare::newest_window(conn, names, &search.words, cap)?
    };
    let in_window = match floor {
        Some(floor) => Some(list.count(conn, Some(every_word.newer_than(floor)), cap)?),
        None => None,
    };
    let total = match in_window {
        // The window alone holds more than the cap: so does the table.
        Some(n) if n >= cap => n,
        _ => {
            let counted = search.looked_up(conn, names, &every_word, cap)?;
            windowed(
                conn,
                &counted,
                cap,
                |c, m| list.count(c, Some(m), cap),
                |n| *n >= cap,
            )?
        }
    };
    if total == 0 {
        // Nothing contains every word: score the newest names sharing a three-letter run.
        let Some(candidates) = search.typo_candidates(conn, names) else {
            return Ok((Vec::new(), 0));
        };
        let rows = list.rows(conn, Some(candidates), Order::Newest, TYPO_CANDIDATES, 0)?;
        return Ok(search.typo_page(rows, L::name_of, limit, offset));
    }
    if !list.by_relevance() {
        let rows = list.rows(conn, Some(every_word), Order::Listed, limit, offset)?;
        return Ok((rows, total));
    }
    let tier = search.tier(conn, names);
    // The head is ranked in SQL by tier; the rest follows newest first.
    let (head, rest) = if !search.is_one_word() {
        // Head: the names containing the whole query, few for a phrase. Rest: tier 3.
        let whole = search.whole_query_matches(conn, names);
        (whole, every_word.lacking(like_contains(&search.query)))
    } else if total <= FEW_MATCHES {
        // Every match contains the whole query; few enough to rank them all.
        let rows = list.rows(
            conn,
            Some(every_word),
            Order::Relevance(tier),
            limit,
            offset,
        )?;
        return Ok((rows, total));
    } else {
        // A broad word: ranking its every match by tier read and sorted all of them, on
        // every page. Head: the names starting with it (tiers 0 and 1), through the prefix
        // index. Rest: tier 2.
        // On PostgreSQL the rest is the word's one pattern: with the runs of `daily_orders`
        // too, the planner multiplied their selectivities, expected one row and rechecked
        // every match from the trigram index; with one it expects about as many as there are
        // and walks the newest rows until the page is full (figures: BENCHMARKS).
        let prefixed = search.prefix_matches(conn, names);
        let rest = every_word
            .as_whole_word(search)
            .lacking(search.prefix_pattern());
        (prefixed, rest)
    };
    // Exact below offset + limit, which is all the paging below needs.
    let head_count = list.count(
        conn,
        Some(head.clone().generically_planned()),
        offset.saturating_add(limit),
    )?;
    let mut rows = if offset < head_count {
        list.rows(conn, Some(head), Order::Relevance(tier), limit, offset)?
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
            |c, m| list.rows(c, Some(m), Order::Newest, need, skip),
            |r: &Vec<L::Row>| r.len() as i64 == need,
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
fn windowed<T>(
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

#[cfg(test)]
mod tests {
    //! The planner against the in-memory model of what it computes (`typo::rank`): whichever
    //! way a page is read (few matches read by id, a broad word's head and windowed rest, a
    //! phrase's tier 3, the typo step), it holds exactly the model's rows in the model's order.
    //! On SQLite, in memory; `tests/search.rs` runs the app's lists on both backends.

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::super::typo::rank;
    use super::*;
    use crate::db::MultiBackend;
    use crate::db::count;

    diesel::table! {
        things (id) {
            id -> BigInt,
            name -> Text,
        }
    }

    /// A table shaped like the app's searchable ones (migration `000005_fuzzy_search`).
    const THINGS: Names = Names {
        table: "things",
        id: "things.id",
        name: "things.name",
        stored_lower: "things.name",
        lower_expr: "lower(things.name)",
        fts: "things_fts",
    };

    /// The rows of `things` below an id, or all of them; its own order is by name. The filter
    /// leaves the newest index matches out, so a window of them must grow to fill a page.
    struct Things(Option<i64>);

    impl Things {
        fn query(&self, names: Option<NameMatch>) -> things::BoxedQuery<'static, MultiBackend> {
            let mut q = things::table.into_boxed();
            if let Some(m) = names {
                q = q.filter(m);
            }
            if let Some(below) = self.0 {
                q = q.filter(things::id.lt(below));
            }
            q
        }
    }

    impl Listing for Things {
        type Row = (i64, String);

        fn names(&self) -> Names {
            THINGS
        }

        fn count(&self, conn: &mut DbConn, names: Option<NameMatch>, cap: i64) -> QueryResult<i64> {
            count::capped(conn, self.query(names).select(things::id).limit(cap))
        }

        fn rows(
            &self,
            conn: &mut DbConn,
            names: Option<NameMatch>,
            order: Order,
            limit: i64,
            offset: i64,
        ) -> QueryResult<Vec<(i64, String)>> {
            let q = self.query(names);
            let q = match order {
                Order::Relevance(tier) => q.order((tier.asc(), things::id.desc())),
                Order::Newest => q.order(things::id.desc()),
                Order::Listed => q.order(things::name.asc()),
            };
            q.limit(limit).offset(offset).load(conn)
        }

        fn name_of(row: &(i64, String)) -> &str {
            &row.1
        }
    }

    fn things(n: i64) -> (DbConn, Vec<(i64, String)>) {
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute(
            "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE INDEX things_lower_name ON things (lower(name));
             CREATE VIRTUAL TABLE things_fts USING fts5(name, content='things',
                 content_rowid='id', tokenize='trigram case_sensitive 0');
             CREATE TRIGGER things_fts_insert AFTER INSERT ON things BEGIN
                 INSERT INTO things_fts(rowid, name) VALUES (new.id, new.name);
             END;",
        )
        .unwrap();
        let all: Vec<(i64, String)> = (1..=n)
            .map(|i| {
                let name = match i % 6 {
                    _ if i % 500 == 2 => "Daily_Orders".to_owned(),
                    0 => format!("etl/daily_orders_{i:04}.sql"),
                    1 => format!("reports/orders_daily_{i:04}.sql"),
                    2 => format!("daily_orders_fix_{i:04}"),
                    3 => format!("billing/invoice_{i:04}.sql"),
                    4 => format!("ops/cleanup_{i:04}.sh"),
                    _ => format!("etl/weekly_orders_{i:04}.sql"),
                };
                (i, name)
            })
            .collect();
        // The names are made above: no quote to escape.
        let values: Vec<String> = all
            .iter()
            .map(|(id, name)| format!("({id}, '{name}')"))
            .collect();
        conn.batch_execute(&format!(
            "INSERT INTO things (id, name) VALUES {}",
            values.join(", ")
        ))
        .unwrap();
        (conn, all)
    }

    #[test]
    fn every_way_of_reading_a_page_gives_the_model_s_rows() {
        let (mut conn, all) = things(6000);
        let queries = [
            "daily_orders", // a broad word: prefix head, windowed rest
            "daily orders", // a phrase: whole-query head, tier 3 rest
            "orders_0012",  // a fragment: rare trigrams, few ids read once
            "DAILY_ORDERS", // exact, any case
            "invoce 0123",  // a typo: scored candidates
            "sh",           // a short word: LIKE only
            "zzzz",         // nothing, not even a typo
        ];
        for (query, below) in queries.iter().flat_map(|q| [(*q, None), (*q, Some(700))]) {
            let search = NameSearch::parse(query).unwrap();
            let kept = all.iter().filter(|(id, _)| below.is_none_or(|b| *id < b));
            let model = rank(query, kept.cloned().collect());
            let list = Things(below);
            for (limit, offset) in [(20, 0), (20, 40), (50, 1480), (100, 2950), (20, 9000)] {
                let (rows, total) = page(&mut conn, &list, Some(&search), limit, offset).unwrap();
                let got: Vec<i64> = rows.iter().map(|r| r.0).collect();
                let want: Vec<i64> = model
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .copied()
                    .collect();
                assert_eq!(got, want, "{query:?} below {below:?} at {offset}+{limit}");
                let cap = count::count_limit(limit, offset);
                let want_total = (model.len() as i64).min(cap);
                assert_eq!(
                    total, want_total,
                    "{query:?} below {below:?}, total at {offset}"
                );
            }
        }
    }

    #[test]
    fn without_a_search_or_by_its_own_sort_a_list_keeps_its_order() {
        struct ByName;
        impl Listing for ByName {
            type Row = (i64, String);
            fn names(&self) -> Names {
                THINGS
            }
            fn by_relevance(&self) -> bool {
                false
            }
            fn count(&self, c: &mut DbConn, m: Option<NameMatch>, cap: i64) -> QueryResult<i64> {
                Things(None).count(c, m, cap)
            }
            fn rows(
                &self,
                c: &mut DbConn,
                m: Option<NameMatch>,
                o: Order,
                l: i64,
                off: i64,
            ) -> QueryResult<Vec<(i64, String)>> {
                Things(None).rows(c, m, o, l, off)
            }
            fn name_of(row: &(i64, String)) -> &str {
                &row.1
            }
        }
        let (mut conn, all) = things(600);
        let mut by_name = all.clone();
        by_name.sort_by(|a, b| a.1.cmp(&b.1));
        let (rows, total) = page(&mut conn, &Things(None), None, 10, 5).unwrap();
        assert_eq!(rows, by_name[5..15]);
        assert_eq!(total, 600);
        let search = NameSearch::parse("invoice").unwrap();
        let (rows, total) = page(&mut conn, &ByName, Some(&search), 10, 0).unwrap();
        let invoices: Vec<_> = by_name.iter().filter(|r| r.1.contains("invoice")).collect();
        assert_eq!(rows.iter().collect::<Vec<_>>(), invoices[..10]);
        assert_eq!(total, invoices.len() as i64);
    }
}
