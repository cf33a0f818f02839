//! SQLite: a one-word search looked up by the rarest trigrams of its word instead of all of them.
//!
//! FTS5 finds a trigram phrase such as `"orders_0012"` by walking the postings of all nine
//! of its trigrams, most of them common (`s_0` is in 60 % of the bench names, `_00` in 30 %):
//! 500 µs for 30 rows at 100k tasks in the sqlite3 shell, about half of the fragment search's
//! CPU. The AND of its three rarest trigrams (`001`, `012`, `der`) walks far fewer postings and
//! finds 33 candidates, whose names are then tested here. Server CPU per request
//! 1,070-1,200 → 740-840 µs (docs/BENCHMARKS.md).
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

use super::{FEW_MATCHES, Target, fts_phrase};
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
    /// In how many sampled names each trigram occurs (lowercased, as FTS5's trigram tokenizer
    /// with `case_sensitive 0` indexes them).
    names_with: HashMap<[char; 3], u32>,
}

impl TrigramSample {
    /// Counts the trigrams of `SAMPLE_ROWS` of `target`'s names (fewer where ids are missing),
    /// scattered over its ids, over every workspace.
    pub fn take(conn: &mut DbConn, target: Target) -> QueryResult<TrigramSample> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            name: String,
        }
        let (id, name, _) = target.sql();
        // Ids scattered over the table's whole history by a multiplicative hash, one point
        // read each. Not its newest rows: bench names are numbered in order, and the newest
        // 2,000 had no `_00`, which 30 % of all names have. Not evenly strided either: a
        // stride of 50 met only names of the same few words. The table and columns are
        // `Target::sql`'s constants.
        let rows: Vec<Row> = diesel::RunQueryDsl::load(
            diesel::sql_query(format!(
                "WITH RECURSIVE step(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM step WHERE i < ?), \
                 top(n) AS (SELECT max({id}) FROM {table}) \
                 SELECT {name} AS name FROM {table} \
                 WHERE {id} IN (SELECT step.i * 2654435761 % top.n + 1 FROM step, top)",
                table = target.table()
            ))
            .bind::<BigInt, _>(SAMPLE_ROWS),
            conn,
        )?;
        Ok(TrigramSample::of(rows.iter().map(|r| r.name.as_str())))
    }

    /// Counts the trigrams of `names`.
    fn of<'a>(names: impl Iterator<Item = &'a str>) -> TrigramSample {
        let mut counted = 0;
        let mut names_with: HashMap<[char; 3], u32> = HashMap::new();
        for name in names {
            counted += 1;
            let mut grams = trigrams_of(&name.to_lowercase());
            grams.sort_unstable();
            grams.dedup();
            for g in grams {
                *names_with.entry(g).or_default() += 1;
            }
        }
        TrigramSample {
            taken: Instant::now(),
            names: counted,
            names_with,
        }
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
        let count = |g: &[char; 3]| self.names_with.get(g).copied().unwrap_or(0);
        grams.sort_by_key(|g| (count(g), *g));
        if f64::from(count(&grams[0])) > RARE_SHARE * f64::from(self.names) {
            return None;
        }
        grams.truncate(CHOSEN);
        Some(grams)
    }
}

/// The sample of `target` for this process, taken again when older than `SAMPLE_TTL`.
///
/// One per table for the process, whatever the database: a server has one. Tests open many
/// databases in one process, where a sample may come from another test's data; that only
/// changes the way rows are found, not which.
fn sample(conn: &mut DbConn, target: Target) -> QueryResult<Arc<TrigramSample>> {
    static SAMPLES: LazyLock<Mutex<HashMap<Target, Arc<TrigramSample>>>> =
        LazyLock::new(Default::default);
    let cached = SAMPLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&target)
        .cloned();
    if let Some(s) = cached.filter(|s| s.taken.elapsed() < SAMPLE_TTL) {
        return Ok(s);
    }
    // Taken outside the lock: a few requests may count at once when a sample expires, rather
    // than every search waiting on one.
    let fresh = Arc::new(TrigramSample::take(conn, target)?);
    SAMPLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(target, fresh.clone());
    Ok(fresh)
}

/// The ids of `target`'s names containing `word` (lowercased, one trigram or more), newest
/// first, found through its rarest trigrams; `None` when the phrase should be used instead
/// (PostgreSQL, a common word, or more than `FEW_MATCHES` candidates).
pub fn matches(conn: &mut DbConn, target: Target, word: &str) -> QueryResult<Option<Vec<i64>>> {
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Ok(None);
    }
    let sample = sample(conn, target)?;
    matches_with(conn, target, word, &sample)
}

/// `matches`, choosing the trigrams with `sample`.
pub fn matches_with(
    conn: &mut DbConn,
    target: Target,
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
    let (id, name, fts) = target.sql();
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
            table = target.table()
        ))
        .bind::<Text, _>(super::json_ids(candidates.iter().map(|c| c.id))),
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
        TrigramSample::of(names.iter().copied())
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
