//! The record cache: bounded, and kept exactly coherent by the store's own writes.
//!
//! Lookups that find nothing are not remembered, so unknown prefixes cannot grow it.
//! When full, a CLOCK sweep (second chance) evicts a record that was not read since the hand
//! last passed it.
//!
//! The race it must not lose: a reader misses, reads the old record from redb, a writer
//! commits and updates the cache, and the reader then inserts the stale record. Every write
//! bumps a generation; a reader fills only if the generation it saw at its miss is still
//! current, so a fill never crosses a write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use apikeys::ApiKey;

#[derive(Debug)]
pub(crate) struct Cache {
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    index: HashMap<String, usize>,
    slots: Vec<Slot>,
    hand: usize,
    capacity: usize,
    generation: u64,
}

#[derive(Debug)]
struct Slot {
    record: Arc<ApiKey>,
    referenced: AtomicBool,
}

/// What a lookup found: the record, or the generation to hand back to [`Cache::fill`].
pub(crate) enum Lookup {
    Hit(Arc<ApiKey>),
    Miss(u64),
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner {
                index: HashMap::new(),
                slots: Vec::new(),
                hand: 0,
                capacity,
                generation: 0,
            }),
        }
    }

    pub(crate) fn get(&self, prefix: &str) -> Lookup {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        match inner.index.get(prefix) {
            Some(&slot) => {
                let slot = &inner.slots[slot];
                slot.referenced.store(true, Ordering::Relaxed);
                Lookup::Hit(Arc::clone(&slot.record))
            }
            None => Lookup::Miss(inner.generation),
        }
    }

    /// Caches a record read from redb, unless a write happened since the miss at `generation`.
    pub(crate) fn fill(&self, record: &Arc<ApiKey>, generation: u64) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.generation == generation && !inner.index.contains_key(&record.prefix) {
            inner.insert(Arc::clone(record));
        }
    }

    /// After a committed insert or update: the record as stored now.
    pub(crate) fn put(&self, record: Arc<ApiKey>) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.generation += 1;
        match inner.index.get(&record.prefix) {
            Some(&slot) => inner.slots[slot].record = record,
            None => inner.insert(record),
        }
    }

    /// After a delete, or a write whose outcome is unknown: forget the record.
    pub(crate) fn remove(&self, prefix: &str) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.generation += 1;
        if let Some(slot) = inner.index.remove(prefix) {
            inner.slots.swap_remove(slot);
            if let Some(moved) = inner.slots.get(slot) {
                let moved = moved.record.prefix.clone();
                inner.index.insert(moved, slot);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .slots
            .len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .capacity
    }
}

impl Inner {
    fn insert(&mut self, record: Arc<ApiKey>) {
        if self.capacity == 0 {
            return;
        }
        let prefix = record.prefix.clone();
        let slot = Slot {
            record,
            referenced: AtomicBool::new(false),
        };
        if self.slots.len() < self.capacity {
            self.index.insert(prefix, self.slots.len());
            self.slots.push(slot);
            return;
        }
        let victim = self.sweep();
        let old = std::mem::replace(&mut self.slots[victim], slot);
        self.index.remove(&old.record.prefix);
        self.index.insert(prefix, victim);
    }

    /// The next slot not read since the hand last passed; clears marks on the way.
    fn sweep(&mut self) -> usize {
        loop {
            let at = self.hand % self.slots.len();
            self.hand = at + 1;
            if !self.slots[at].referenced.swap(false, Ordering::Relaxed) {
                return at;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prefix: &str, name: &str) -> Arc<ApiKey> {
        Arc::new(apikeys::testing::record(prefix, name))
    }

    fn hit(cache: &Cache, prefix: &str) -> Option<String> {
        match cache.get(prefix) {
            Lookup::Hit(r) => Some(r.name.clone()),
            Lookup::Miss(_) => None,
        }
    }

    fn miss(cache: &Cache, prefix: &str) -> u64 {
        match cache.get(prefix) {
            Lookup::Hit(_) => panic!("{prefix} is cached"),
            Lookup::Miss(generation) => generation,
        }
    }

    #[test]
    fn a_fill_never_crosses_a_write() {
        let cache = Cache::new(10);
        // Reader misses and reads the old record from redb...
        let seen = miss(&cache, "p");
        let stale = record("p", "old");
        // ...a writer commits a revocation and updates the cache...
        cache.put(record("p", "new"));
        cache.remove("p");
        // ...and the reader's late fill is refused.
        cache.fill(&stale, seen);
        assert_eq!(hit(&cache, "p"), None);

        let seen = miss(&cache, "p");
        cache.fill(&record("p", "current"), seen);
        assert_eq!(hit(&cache, "p").as_deref(), Some("current"));
        // A second fill does not replace what a write put there.
        cache.put(record("p", "written"));
        cache.fill(&record("p", "late"), miss(&cache, "other"));
        assert_eq!(hit(&cache, "p").as_deref(), Some("written"));
    }

    #[test]
    fn bounded_with_second_chance() {
        let cache = Cache::new(3);
        for p in ["a", "b", "c"] {
            cache.put(record(p, p));
        }
        assert_eq!(hit(&cache, "a").as_deref(), Some("a"));
        cache.put(record("d", "d"));
        assert_eq!(cache.len(), 3);
        assert_eq!(
            hit(&cache, "a").as_deref(),
            Some("a"),
            "recently read, kept"
        );
        assert_eq!(hit(&cache, "b"), None, "not read, evicted");
        for i in 0..100 {
            cache.put(record(&format!("x{i}"), "x"));
            assert!(cache.len() <= 3);
        }
        for p in ["a", "c", "d", "x99"] {
            let _ = cache.get(p);
        }
        assert_eq!(hit(&cache, "x99").as_deref(), Some("x"));
    }

    #[test]
    fn remove_keeps_the_index_consistent() {
        let cache = Cache::new(10);
        for p in ["a", "b", "c", "d"] {
            cache.put(record(p, p));
        }
        cache.remove("b");
        cache.remove("zzz");
        for p in ["a", "c", "d"] {
            assert_eq!(hit(&cache, p).as_deref(), Some(p));
        }
        assert_eq!(hit(&cache, "b"), None);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn capacity_zero_disables_caching() {
        let cache = Cache::new(0);
        cache.put(record("a", "a"));
        cache.fill(&record("b", "b"), miss(&cache, "b"));
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.capacity(), 0);
    }
}
