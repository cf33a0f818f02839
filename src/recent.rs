//! `Recent`: answers computed a moment ago, kept by this server for a few seconds, for a page
//! whose aggregates cost far more than a page of a list and change slowly (Insights: a year of
//! deployments, docs/BENCHMARKS.md "Insights"). Held per `AppState`, never in a global, so two
//! servers in one process (the tests) never see each other's answers. Bounded: at most `cap`
//! answers; when full, the expired ones go, and a new answer is not kept while none has
//! expired. A `ttl` of zero keeps nothing.
//!
//! Two askers that miss at once both compute (nothing waits on a lock while the database
//! works); the later answer replaces the earlier.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct Recent<K, V> {
    ttl: Duration,
    cap: usize,
    kept: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Recent {
            ttl,
            cap,
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key` computed less than `ttl` ago, or else `compute`'s, kept for the
    /// next asker.
    pub fn get_or_try<E>(
        &self,
        key: &K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if self.ttl.is_zero() || self.cap == 0 {
            return compute().map(Arc::new);
        }
        if let Some((at, answer)) = self.lock().get(key)
            && at.elapsed() < self.ttl
        {
            return Ok(answer.clone());
        }
        let answer = Arc::new(compute()?);
        let mut kept = self.lock();
        if kept.len() >= self.cap && !kept.contains_key(key) {
            let ttl = self.ttl;
            kept.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        if kept.len() < self.cap || kept.contains_key(key) {
            kept.insert(key.clone(), (Instant::now(), answer.clone()));
        }
        Ok(answer)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (Instant, Arc<V>)>> {
        // A panic while holding the lock leaves only whole entries behind.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn ask(r: &Recent<u32, u32>, key: u32, calls: &Cell<u32>) -> u32 {
        *r.get_or_try::<()>(&key, || {
            calls.set(calls.get() + 1);
            Ok(calls.get())
        })
        .unwrap()
    }

    #[test]
    fn an_answer_is_handed_out_again_until_it_expires() {
        let r = Recent::new(Duration::from_millis(200), 8);
        let calls = Cell::new(0);
        assert_eq!(ask(&r, 1, &calls), 1);
        assert_eq!(ask(&r, 1, &calls), 1, "kept");
        assert_eq!(ask(&r, 2, &calls), 2, "another key computes");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(ask(&r, 1, &calls), 3, "expired: computed again");
    }

    #[test]
    fn a_full_memo_keeps_no_more_and_an_error_is_not_kept() {
        let r = Recent::new(Duration::from_secs(60), 2);
        let calls = Cell::new(0);
        ask(&r, 1, &calls);
        ask(&r, 2, &calls);
        ask(&r, 3, &calls);
        assert_eq!(r.lock().len(), 2);
        assert_eq!(ask(&r, 3, &calls), 4, "not kept: full of live answers");
        assert_eq!(ask(&r, 1, &calls), 1, "the kept ones still are");
        let failed: Result<Arc<u32>, &str> = r.get_or_try(&9, || Err("down"));
        assert!(failed.is_err());
        assert!(!r.lock().contains_key(&9));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let r = Recent::new(Duration::ZERO, 8);
        let calls = Cell::new(0);
        ask(&r, 1, &calls);
        assert_eq!(ask(&r, 1, &calls), 2);
    }
}
