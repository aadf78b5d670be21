//! A bounded memo of values by text key, shared by the threads of a sweep: what one snapshot (or
//! the matching view of it) computes once and reads again listing after listing.

use rustc_hash::FxHashMap;
use std::sync::RwLock;

/// Values by key, computed on first use. Keys are words, n-grams and identifier keys: small,
/// and not attacker-chosen hash floods, hence FxHash. When `limit` keys are held it starts
/// over, which bounds memory on very large indexes.
pub struct Memo<V> {
    map: RwLock<FxHashMap<Box<str>, V>>,
    limit: usize,
}

impl<V> Memo<V> {
    pub fn new(limit: usize) -> Memo<V> {
        Memo {
            map: RwLock::new(FxHashMap::default()),
            limit,
        }
    }

    /// `read` of the value of `key`, computed by `compute` when it is not held yet: for values
    /// that are not copied out (the read runs under the memo's read lock, so it must be short).
    pub fn with<R>(&self, key: &str, compute: impl FnOnce() -> V, read: impl FnOnce(&V) -> R) -> R {
        if let Some(v) = self.map.read().expect("memo lock").get(key) {
            return read(v);
        }
        let v = compute();
        let out = read(&v);
        let mut map = self.map.write().expect("memo lock");
        if map.len() >= self.limit {
            map.clear();
        }
        map.insert(key.into(), v);
        out
    }
}

impl<V: Copy> Memo<V> {
    /// The value of `key`, computed by `compute` when it is not held yet.
    pub fn get_or(&self, key: &str, compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.map.read().expect("memo lock").get(key) {
            return *v;
        }
        let v = compute();
        let mut map = self.map.write().expect("memo lock");
        if map.len() >= self.limit {
            map.clear();
        }
        map.insert(key.into(), v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_and_starts_over_when_full() {
        let memo = Memo::new(2);
        let mut calls = 0;
        assert_eq!(
            memo.get_or("a", || {
                calls += 1;
                1
            }),
            1
        );
        assert_eq!(
            memo.get_or("a", || {
                calls += 1;
                9
            }),
            1
        );
        assert_eq!(calls, 1);
        memo.get_or("b", || 2);
        // Full: "c" starts it over, so "a" is computed again.
        memo.get_or("c", || 3);
        assert_eq!(memo.get_or("a", || 7), 7);
    }
}
