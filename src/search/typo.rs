//! The typo-tolerant step: when no name contains every word, the newest names sharing a
//! three-letter run with a query word are scored here in Rust, the same on both backends.

use std::collections::HashSet;

use super::NameSearch;

/// How many of the newest candidate names the typo-tolerant step scores at most.
pub const TYPO_CANDIDATES: i64 = 2000;

impl NameSearch {
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

/// Words of a query or a name for typo matching: lowercase, split on anything that is not a
/// letter or digit.
pub(super) fn words(s: &str) -> Vec<String> {
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
pub(super) fn rank(query: &str, candidates: Vec<(i64, String)>) -> Vec<i64> {
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
}
