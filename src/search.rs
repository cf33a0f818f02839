//! Fuzzy name search for tables (tasks, packages): several words in any order, each found as a
//! substring or, failing that, as a close match (trigram similarity, so one typo is tolerated),
//! ranked exact > prefix > substring > typo-tolerant. The ranking is computed here, in Rust, so
//! it is identical on SQLite and PostgreSQL.

use std::collections::HashSet;

/// Words of a query or a name: lowercase, split on anything that is not a letter or digit.
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

/// The index terms of a name: the distinct padded trigrams of all its words.
pub fn index_terms(name: &str) -> Vec<String> {
    let mut all: HashSet<[char; 3]> = HashSet::new();
    for w in words(name) {
        all.extend(trigrams(&w));
    }
    let mut terms: Vec<String> = all.into_iter().map(|t| t.iter().collect()).collect();
    terms.sort();
    terms
}

/// For each query word of 3 or more characters: its trigrams and how many of them a name must
/// share to possibly match it. A substring shares at least its `len - 2` inner trigrams; a typo
/// match shares at least half of the word's trigrams; the smaller bound is safe for both, so the
/// candidates found this way always include every name `score` accepts. `None` when no word is
/// long enough to use the index (the caller then ranks every name).
pub fn index_query(query: &str) -> Option<Vec<(Vec<String>, usize)>> {
    let plan: Vec<(Vec<String>, usize)> = words(query)
        .into_iter()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| {
            let t = trigrams(&w);
            // Distinct inner trigrams: a word like `0000` repeats the same one.
            let chars: Vec<char> = w.chars().collect();
            let inner: HashSet<[char; 3]> = chars.windows(3).map(|c| [c[0], c[1], c[2]]).collect();
            let need = inner.len().min(t.len().div_ceil(2)).max(1);
            (t.into_iter().map(|t| t.iter().collect()).collect(), need)
        })
        .collect();
    (!plan.is_empty()).then_some(plan)
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

/// The score of `name` for `query` (higher is better), or `None` if some word does not match.
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
    let q = query.trim().to_lowercase();
    let bonus = if name_lower == q {
        3.0
    } else if name_lower.starts_with(&q) {
        2.0
    } else if name_lower.contains(&q) {
        1.0
    } else {
        0.0
    };
    Some(bonus + total / query_words.len() as f64)
}

/// The ids of `candidates` matching `query`, best first (ties: newest id first).
pub fn rank(query: &str, candidates: Vec<(i64, String)>) -> Vec<i64> {
    let mut scored: Vec<(f64, i64)> = candidates
        .into_iter()
        .filter_map(|(id, name)| score(query, &name).map(|s| (s, id)))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    scored.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name `score` accepts shares enough trigrams with each long query word.
    #[test]
    fn the_index_query_never_loses_a_match() {
        let mut matched = 0;
        let names = [
            "etl/daily_orders.sql",
            "reports/orders_weekly.sql",
            "x/abc.sql",
            "ops/cleanup_tmp.sh",
        ];
        for q in [
            "daily ordrs",
            "rder",
            "abx",
            "orders daily",
            "clean tmp",
            "weekly",
        ] {
            let plan = index_query(q).unwrap();
            for name in names {
                if score(q, name).is_none() {
                    continue;
                }
                matched += 1;
                let terms: HashSet<String> = index_terms(name).into_iter().collect();
                for (trigrams, need) in &plan {
                    let shared = trigrams.iter().filter(|t| terms.contains(*t)).count();
                    assert!(shared >= *need, "{q} / {name}: {shared} < {need}");
                }
            }
        }
        assert!(matched >= 7, "the cases above exercise matches ({matched})");
        assert!(index_query("ab").is_none());
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
    fn exact_beats_prefix_beats_substring_beats_typo() {
        let names = vec![
            (1, "etl/daily_ordrs_fix.sql".to_owned()),
            (2, "reports/etl/daily_orders.sql".to_owned()),
            (3, "etl/daily_orders.sql.bak".to_owned()),
            (4, "etl/daily_orders.sql".to_owned()),
        ];
        assert_eq!(
            rank("etl/daily_orders.sql", names.clone()),
            vec![4, 3, 2, 1]
        );
        assert_eq!(
            rank("daily orders", names)[3],
            1,
            "the typo match ranks last"
        );
    }
}
