//! A sample of a table's names, and the two choices it makes: on SQLite, a one-word search
//! looked up by the rarest trigrams of its word instead of all of them (`matches`); on
//! PostgreSQL, a broad search counted among the newest ids first (`newest_window`).
//!
//! FTS5 finds a trigram phrase such as `"orders_0012"` by walking the postings of all nine
//! of its trigrams, most of them common (`s_0`, `_00`): about half of the fragment search's
//! CPU. The AND of its three rarest trigrams (`001`, `012`, `der`) walks far fewer postings and
//! finds a few dozen candidates, whose names are then tested here. What it buys:
//! docs/BENCHMARKS.md, "The search machinery".
//!
//! Which trigrams are rare comes from a sample: the trigram counts of `SAMPLE_ROWS` names
//! scattered over a table's ids, taken again every `SAMPLE_TTL`, as a planner keeps statistics.
//! A sample only chooses the way; the answer is exact either way. The names are tested
//! lowercased, as the trigram tokenizer (`case_sensitive 0`) folds them and as PostgreSQL's
//! `lower()` does. Candidates are read only up to `FEW_MATCHES`: a word whose rarest trigram is
//! common in the sample (`daily_orders`), or whose chosen trigrams find more candidates than
//! that, keeps the phrase, which stops after `FEW_MATCHES` rows itself.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text};

use super::condition::{fts_phrase, json_ids};
use super::{FEW_MATCHES, Names};
use crate::db::DbConn;

/// How many names a sample counts.
const SAMPLE_ROWS: i64 = 2000;
/// How long a sample is used before it is taken again.
const SAMPLE_TTL: Duration = Duration::from_secs(300);
/// A word is looked up by its rarest trigrams only when the rarest is in at most this share of
/// the sampled names; above it the candidates would rarely be few.
const RARE_SHARE: f64 = 0.05;
/// How many of the rarest trigrams are looked up together.
const CHOSEN: usize = 3;

/// The trigram counts of a sample of a table's names.
#[derive(Debug)]
pub struct TrigramSample {
    taken: Instant,
    names: u32,
    /// Which sampled names (indexes into `lowered`, ascending) hold each trigram (lowercased,
    /// as FTS5's trigram tokenizer with `case_sensitive 0` indexes them).
    names_with: HashMap<[char; 3], Vec<u32>>,
    /// The sampled names, lowercased (for `share`).
    lowered: Vec<String>,
    /// The table's largest id when the sample was taken.
    top: i64,
}

impl TrigramSample {
    /// Counts the trigrams of `SAMPLE_ROWS` of the names of `names` (fewer where ids are missing),
    /// scattered over its ids, over every workspace.
    pub fn take(conn: &mut DbConn, names: Names) -> QueryResult<TrigramSample> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = BigInt)]
            top: i64,
        }
        let Names { id, name, .. } = names;
        // Ids scattered over the table's whole history by a multiplicative hash, one point
        // read each. Not its newest rows: bench names are numbered in order, and the newest
        // 2,000 had no `_00`, which 30 % of all names have. Not evenly strided either: a
        // stride of 50 met only names of the same few words. The table and columns are
        // the `Names` constants of the models.
        // Taken on PostgreSQL too (`newest_window`), whose placeholders are numbered.
        let bind = match conn {
            DbConn::Postgres(_) => "$1",
            DbConn::Sqlite(_) => "?",
        };
        let rows: Vec<Row> = diesel::RunQueryDsl::load(
            diesel::sql_query(format!(
                "WITH RECURSIVE step(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM step WHERE i < {bind}), \
                 top(n) AS (SELECT max({id}) FROM {table}) \
                 SELECT {name} AS name, top.n AS top FROM {table}, top \
                 WHERE {id} IN (SELECT step.i * 2654435761 % top.n + 1 FROM step, top)",
                table = names.table
            ))
            .bind::<BigInt, _>(SAMPLE_ROWS),
            conn,
        )?;
        let top = rows.first().map_or(0, |r| r.top);
        Ok(TrigramSample::of(rows.iter().map(|r| r.name.as_str()), top))
    }

    /// Counts the trigrams of `names`, sampled from a table whose largest id is `top`.
    fn of<'a>(names: impl Iterator<Item = &'a str>, top: i64) -> TrigramSample {
        let mut names_with: HashMap<[char; 3], Vec<u32>> = HashMap::new();
        let mut lowered = Vec::new();
        for (i, name) in names.enumerate() {
            let name = name.to_lowercase();
            let mut grams = trigrams_of(&name);
            grams.sort_unstable();
            grams.dedup();
            for g in grams {
                names_with.entry(g).or_default().push(i as u32);
            }
            lowered.push(name);
        }
        TrigramSample {
            taken: Instant::now(),
            names: lowered.len() as u32,
            names_with,
            lowered,
            top,
        }
    }

    /// The sampled names holding trigram `g`.
    fn holding(&self, g: &[char; 3]) -> &[u32] {
        self.names_with.get(g).map_or(&[], Vec::as_slice)
    }

    /// PostgreSQL: the trigrams of `words` (lowercase) through which the `pg_trgm` index
    /// should find the names holding every word, fewest first by the cost model below, or
    /// `None` when no word has a trigram of three ASCII letters or digits (whose `LIKE '%abc%'`
    /// is exactly that one trigram in `pg_trgm`) or the sample is empty. `limit` is how many
    /// matches the statement reads at most.
    ///
    /// Looking up every trigram of every word is what PostgreSQL does with the words' own
    /// patterns. For `daily orders` that is seven posting lists holding the same names, where
    /// `dai` alone finds them; for `orders_0012`, `012`, `001` and `ord` cost half of the
    /// words' own patterns (docs/BENCHMARKS.md, "The search machinery"). But a trigram that many other names hold
    /// costs a heap visit for each of them, so the choice weighs both, with costs measured by
    /// `EXPLAIN ANALYZE` on PostgreSQL at 100k tasks:
    ///
    /// - walking the rarest posting list, `WALK_US` an entry; each further list is skipped
    ///   through, about `WALK_US` per entry left;
    /// - adding an entry to the bitmap, `BITMAP_US`;
    /// - reading and testing a row the bitmap holds, `ROW_US`, until `limit` matches are found.
    pub fn narrowest(&self, words: &[String], limit: i64) -> Option<Vec<[char; 3]>> {
        const WALK_US: f64 = 0.025;
        const BITMAP_US: f64 = 0.085;
        const ROW_US: f64 = 1.5;
        let mut grams: Vec<[char; 3]> = words
            .iter()
            .flat_map(|w| trigrams_of(w))
            .filter(|g| g.iter().all(char::is_ascii_alphanumeric))
            .collect();
        grams.sort_unstable();
        grams.dedup();
        if grams.is_empty() || self.names == 0 {
            return None;
        }
        grams.sort_by_key(|g| (self.holding(g).len(), *g));
        // Sampled counts scaled to the table; a count of 0 is taken as half a name, as the
        // sample cannot tell fewer than one in `names` from none.
        let scale = self.top as f64 / f64::from(self.names);
        let scaled = |n: usize| (n as f64).max(0.5) * scale;
        let mut candidates: Vec<u32> = self.holding(&grams[0]).to_vec();
        let first = scaled(candidates.len());
        // Every name holding every word holds each of its trigrams: among the rarest's names.
        let matches = scaled(
            candidates
                .iter()
                .filter(|&&i| {
                    let name = &self.lowered[i as usize];
                    words.iter().all(|w| name.contains(w.as_str()))
                })
                .count(),
        );
        let limit = limit as f64;
        let cost = |k: usize, candidates: f64| {
            let read = if matches >= limit {
                limit * candidates / matches
            } else {
                candidates
            };
            WALK_US * first + (WALK_US * (k - 1) as f64 + BITMAP_US) * candidates + ROW_US * read
        };
        let mut best = (cost(1, first), 1);
        for k in 2..=grams.len() {
            let holding = self.holding(&grams[k - 1]);
            candidates.retain(|i| holding.binary_search(i).is_ok());
            let c = cost(k, scaled(candidates.len()));
            if c < best.0 {
                best = (c, k);
            }
        }
        grams.truncate(best.1);
        Some(grams)
    }

    /// An upper bound of `share`: the share of the sampled names holding the rarest trigram of
    /// any of `words` (1 when no word has a trigram; 0 for an empty sample).
    fn share_bound(&self, words: &[String]) -> f64 {
        if self.names == 0 {
            return 0.0;
        }
        let rarest = words
            .iter()
            .flat_map(|w| trigrams_of(w))
            .map(|g| self.holding(&g).len() as u32)
            .min()
            .unwrap_or(self.names);
        f64::from(rarest) / f64::from(self.names)
    }

    /// The share of the sampled names containing every one of `words` (lowercase); `None` for
    /// an empty sample.
    fn share(&self, words: &[String]) -> Option<f64> {
        if self.lowered.is_empty() {
            return None;
        }
        let matching = self
            .lowered
            .iter()
            .filter(|name| words.iter().all(|w| name.contains(w.as_str())))
            .count();
        Some(matching as f64 / self.lowered.len() as f64)
    }

    /// The trigrams of `word` to look up, rarest first, or `None` when the phrase is the better
    /// way: a word of one trigram, an empty sample, or a rarest trigram that is common.
    fn rarest(&self, word: &str) -> Option<Vec<[char; 3]>> {
        let mut grams = trigrams_of(word);
        grams.sort_unstable();
        grams.dedup();
        if grams.len() < 2 || self.names == 0 {
            return None;
        }
        let count = |g: &[char; 3]| self.holding(g).len() as u32;
        grams.sort_by_key(|g| (count(g), *g));
        if f64::from(count(&grams[0])) > RARE_SHARE * f64::from(self.names) {
            return None;
        }
        grams.truncate(CHOSEN);
        Some(grams)
    }
}

/// The sample of `names`' table for this process, taken again when older than `SAMPLE_TTL`.
///
/// One per table for the process, whatever the database: a server has one. Tests open many
/// databases in one process, where a sample may come from another test's data; that only
/// changes the way rows are found, not which.
fn sample(conn: &mut DbConn, names: Names) -> QueryResult<Arc<TrigramSample>> {
    static SAMPLES: LazyLock<Mutex<HashMap<&'static str, Arc<TrigramSample>>>> =
        LazyLock::new(Default::default);
    let cached = SAMPLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(names.table)
        .cloned();
    if let Some(s) = cached.filter(|s| s.taken.elapsed() < SAMPLE_TTL) {
        return Ok(s);
    }
    // Taken outside the lock: a few requests may count at once when a sample expires, rather
    // than every search waiting on one.
    let fresh = Arc::new(TrigramSample::take(conn, names)?);
    SAMPLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(names.table, fresh.clone());
    Ok(fresh)
}

/// The ids of the names of `names` containing `word` (lowercased, one trigram or more), newest
/// first, found through its rarest trigrams; `None` when the phrase should be used instead
/// (PostgreSQL, a common word, or more than `FEW_MATCHES` candidates).
pub fn matches(conn: &mut DbConn, names: Names, word: &str) -> QueryResult<Option<Vec<i64>>> {
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Ok(None);
    }
    let sample = sample(conn, names)?;
    matches_with(conn, names, word, &sample)
}

/// `matches`, choosing the trigrams with `sample`.
pub fn matches_with(
    conn: &mut DbConn,
    names: Names,
    word: &str,
    sample: &TrigramSample,
) -> QueryResult<Option<Vec<i64>>> {
    #[derive(diesel::QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Named {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let Some(chosen) = sample.rarest(word) else {
        return Ok(None);
    };
    let query = chosen
        .iter()
        .map(|g| fts_phrase(&g.iter().collect::<String>()))
        .collect::<Vec<_>>()
        .join(" AND ");
    let Names { id, name, fts, .. } = names;
    // Ids first, so a word whose candidates are many costs only the capped walk of the index.
    let candidates: Vec<Candidate> = diesel::RunQueryDsl::load(
        diesel::sql_query(format!(
            "SELECT rowid AS id FROM {fts} WHERE {fts} MATCH ? LIMIT ?"
        ))
        .bind::<Text, _>(&query)
        .bind::<BigInt, _>(FEW_MATCHES + 1),
        conn,
    )?;
    if candidates.len() as i64 > FEW_MATCHES {
        return Ok(None);
    }
    let named: Vec<Named> = diesel::RunQueryDsl::load(
        diesel::sql_query(format!(
            "SELECT {id} AS id, {name} AS name FROM {table} \
             WHERE {id} IN (SELECT value FROM json_each(?)) ORDER BY {id} DESC",
            table = names.table
        ))
        .bind::<Text, _>(json_ids(candidates.iter().map(|c| c.id))),
        conn,
    )?;
    Ok(Some(
        named
            .into_iter()
            .filter(|n| n.name.to_lowercase().contains(word))
            .map(|n| n.id)
            .collect(),
    ))
}

/// What reading a row of the newest-ids window costs against adding a match to the trigram
/// index's bitmap, measured on PostgreSQL at 1M tasks (`EXPLAIN ANALYZE`, `daily orders`; the
/// figures are in docs/BENCHMARKS.md, "The search machinery").
const WINDOW_ROW_PER_BITMAP_MATCH: f64 = 0.44 / 0.16;

/// PostgreSQL: the id above which a capped count of `cap` names containing every one of
/// `words` should look first, or `None` when the trigram index is the cheaper way.
///
/// The index builds a bitmap of every match before the count's `LIMIT` applies: for a word in
/// a tenth of 1M names that is 100,000 entries on every request (the broad search's p99 under
/// load: docs/BENCHMARKS.md, "The search machinery"). Names are read newest first by the primary key instead when the sample
/// says the matches are dense: a share `s` of a table of `n` rows costs the bitmap `n·s`
/// entries and the window about `cap / s` rows. The window is twice that; when it holds fewer
/// than `cap` matches (the matches are old, or in other workspaces) the caller counts through
/// the index after all, so the answer is the same either way.
pub fn newest_window(
    conn: &mut DbConn,
    names: Names,
    words: &[String],
    cap: i64,
) -> QueryResult<Option<i64>> {
    if !matches!(conn, DbConn::Postgres(_)) {
        return Ok(None);
    }
    let sample = sample(conn, names)?;
    // The share of the names holding a word's rarest trigram bounds the share holding it:
    // when even that bound is too small for a window, the names need not be tested (most
    // queries; testing the sample's names costs a little on each request).
    if window_floor(sample.top, sample.share_bound(words), cap).is_none() {
        return Ok(None);
    }
    Ok(sample
        .share(words)
        .and_then(|share| window_floor(sample.top, share, cap)))
}

/// PostgreSQL: the `LIKE` patterns, one trigram each, through which the trigram index should
/// find the names holding every one of `words`, for a statement reading at most
/// `limit` of them (`TrigramSample::narrowest`); `None` on SQLite or when the sample cannot
/// choose.
pub fn narrowest(
    conn: &mut DbConn,
    names: Names,
    words: &[String],
    limit: i64,
) -> QueryResult<Option<Vec<String>>> {
    if !matches!(conn, DbConn::Postgres(_)) {
        return Ok(None);
    }
    let sample = sample(conn, names)?;
    Ok(sample.narrowest(words, limit).map(|grams| {
        grams
            .iter()
            .map(|g| format!("%{}%", g.iter().collect::<String>()))
            .collect()
    }))
}

/// PostgreSQL: whether the sample expects at most half of `few` names to contain every one of
/// `words`, so reading their ids first pays (`NameSearch::condition`). A sample of 2,000
/// names sees a share down to 1/2,000; a word in none of them is expected in few.
pub fn expect_few(
    conn: &mut DbConn,
    names: Names,
    words: &[String],
    few: i64,
) -> QueryResult<bool> {
    if !matches!(conn, DbConn::Postgres(_)) {
        return Ok(false);
    }
    let sample = sample(conn, names)?;
    let is_few = |share: f64| share * (sample.top as f64) <= few as f64 / 2.0;
    // The bound (`share_bound`) may settle it without testing the names.
    if is_few(sample.share_bound(words)) {
        return Ok(true);
    }
    Ok(sample.share(words).is_some_and(is_few))
}

/// `newest_window`'s rule: `Some(floor)` when `cap / share` window rows cost less than the
/// bitmap's `top · share` matches.
fn window_floor(top: i64, share: f64, cap: i64) -> Option<i64> {
    if share <= 0.0 || top <= 0 {
        return None;
    }
    let bitmap = top as f64 * share;
    let window = cap as f64 / share;
    if window * WINDOW_ROW_PER_BITMAP_MATCH >= bitmap {
        return None;
    }
    Some((top - (2.0 * window).ceil() as i64).max(0))
}

/// The trigrams of `text` in order, as FTS5's trigram tokenizer splits it (every character
/// counts, spaces and punctuation too).
fn trigrams_of(text: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_of(names: &[&str]) -> TrigramSample {
        TrigramSample::of(names.iter().copied(), names.len() as i64)
    }

    #[test]
    fn the_newest_window_is_chosen_only_where_it_reads_less_than_the_bitmap() {
        // An eighth of 1M names: the bitmap would hold 125,000; the window reads about 8,000.
        assert_eq!(
            window_floor(1_000_000, 0.125, 1001),
            Some(1_000_000 - 16_016)
        );
        // An eighth of 100k: a 12,500-entry bitmap is cheaper than reading 8,000 rows.
        assert_eq!(window_floor(100_000, 0.125, 1001), None);
        // A rare fragment never, an empty table or share never.
        assert_eq!(window_floor(1_000_000, 0.0003, 1001), None);
        assert_eq!(window_floor(0, 0.5, 1001), None);
        assert_eq!(window_floor(1_000_000, 0.0, 1001), None);
        // Every name matches: a window of twice the cap, not below id 0.
        assert_eq!(window_floor(5_000, 1.0, 1001), Some(5_000 - 2_002));
        assert_eq!(window_floor(3_000, 1.0, 1001), Some(998));
    }

    #[test]
    fn the_share_is_of_names_holding_every_word() {
        let sample = sample_of(&[
            "etl/Daily_Orders_1.sql",
            "etl/daily_sales_2.sql",
            "etl/orders_3.sql",
            "x",
        ]);
        let words = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        assert_eq!(sample.share(&words(&["daily", "orders"])), Some(0.25));
        assert_eq!(sample.share(&words(&["orders"])), Some(0.5));
        // The bound: `dai` is in half the names, `ord` in half, `sal` in a quarter.
        assert_eq!(sample.share_bound(&words(&["daily", "orders"])), 0.5);
        assert_eq!(sample.share_bound(&words(&["daily", "sales"])), 0.25);
        assert_eq!(sample.share_bound(&words(&["zz"])), 1.0);
        assert_eq!(sample_of(&[]).share_bound(&words(&["orders"])), 0.0);
        assert_eq!(sample_of(&[]).share(&words(&["orders"])), None);
    }

    #[test]
    fn the_index_looks_up_the_fewest_trigrams_that_keep_the_rows_read_few() {
        // Bench-like names: a tenth `daily_orders`, the rest other words, numbered in order.
        let words = [
            "daily_orders",
            "weekly_sales",
            "user_signups",
            "customer_churn",
            "inventory_sync",
            "marketing_spend",
            "shipping_delays",
            "orders_audit",
            "sales_forecast",
            "ops_health",
        ];
        let names: Vec<String> = (0..2000)
            .map(|i| format!("etl/{}_{:06}.sql", words[i % words.len()], i * 50))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let sample = TrigramSample::of(refs.iter().copied(), 100_000);
        let owned = |ws: &[&str]| ws.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        // Every `dai` name holds both words: one trigram finds exactly them, and more lists
        // would only add walking.
        let broad = sample
            .narrowest(&owned(&["daily", "orders"]), 1001)
            .unwrap();
        assert_eq!(broad.len(), 1, "{broad:?}");
        assert!(["dai", "ail", "ily"].contains(&broad[0].iter().collect::<String>().as_str()));
        // A fragment of a number: its rarest trigram alone is in many names, whose rows would
        // all be read; more trigrams narrow them down, and `ord` (also in `orders_audit`)
        // against the digits.
        let fragment = sample.narrowest(&owned(&["orders_0012"]), 1001).unwrap();
        assert!(fragment.len() >= 2, "{fragment:?}");
        let chosen: Vec<String> = fragment.iter().map(|g| g.iter().collect()).collect();
        assert!(chosen.iter().all(|g| "orders_0012".contains(g.as_str())));
        assert!(chosen.contains(&"012".to_owned()), "{chosen:?}");
        // Only letters and digits: `s_0` is no `pg_trgm` trigram.
        assert!(
            chosen
                .iter()
                .all(|g| g.chars().all(|c| c.is_ascii_alphanumeric()))
        );
        // No trigram of letters and digits, or nothing sampled: the words' own patterns.
        assert_eq!(sample.narrowest(&owned(&["a_b", "é-ü"]), 1001), None);
        assert_eq!(sample_of(&[]).narrowest(&owned(&["orders"]), 1001), None);
    }

    #[test]
    fn the_rarest_trigrams_are_chosen_and_a_common_word_keeps_the_phrase() {
        let mut names: Vec<String> = (0..100)
            .map(|i| format!("etl/daily_orders_{:06}.sql", 5000 + i))
            .collect();
        names.push("etl/orders_001234.sql".to_owned());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let sample = sample_of(&refs);
        // `001` and `012` occur in one sampled name; `rde` in all of them.
        let chosen = sample.rarest("orders_0012").expect("rare");
        assert_eq!(chosen.len(), CHOSEN);
        assert!(chosen.contains(&['0', '0', '1']) && chosen.contains(&['0', '1', '2']));
        assert!(!chosen.contains(&['r', 'd', 'e']));
        // Every trigram of `daily_orders` is in every name: the phrase it is.
        assert_eq!(sample.rarest("daily_orders"), None);
        // One trigram is its own phrase; an empty sample knows nothing.
        assert_eq!(sample.rarest("ord"), None);
        assert_eq!(sample_of(&[]).rarest("orders_0012"), None);
    }
}
