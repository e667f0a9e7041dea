//! Last-used times: remembered in memory on each grant, written behind in batches.
//!
//! A grant costs one uncontended lock and, the first time a key is seen since the last
//! flush, one small allocation; no store write ever joins a request. A flush sends every
//! key's latest time in one [`KeyStore::touch`](crate::KeyStore::touch) batch, so each key
//! is written at most once per flush interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use crate::validation::to_stored_precision;

/// Default time between flushes.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The uses not yet written.
#[derive(Debug)]
pub(crate) struct Uses {
    pub(crate) interval: Duration,
    /// Kept as the clock gives it: the conversion to `OffsetDateTime` (~25 ns) is made
    /// once per key and flush, not on every grant.
    pending: Mutex<HashMap<String, SystemTime>>,
    /// Whether the interval task was started (on the first use, inside a runtime).
    started: AtomicBool,
}

impl Uses {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            pending: Mutex::new(HashMap::new()),
            started: AtomicBool::new(false),
        }
    }

    /// Remembers a use of `prefix` at `at`; whether the interval task must be started.
    pub(crate) fn note(&self, prefix: &str, at: SystemTime) -> bool {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(last) = pending.get_mut(prefix) {
                *last = (*last).max(at);
            } else {
                pending.insert(prefix.to_owned(), at);
            }
        }
        !self.started.load(Ordering::Relaxed) && !self.started.swap(true, Ordering::AcqRel)
    }

    /// The interval task could not be started (no runtime): the next use tries again.
    pub(crate) fn start_later(&self) {
        self.started.store(false, Ordering::Release);
    }

    /// Takes every pending use, as a batch for `touch` (stored precision).
    pub(crate) fn take(&self) -> Vec<(String, OffsetDateTime)> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        pending
            .into_iter()
            .map(|(prefix, at)| (prefix, to_stored_precision(at.into())))
            .collect()
    }

    /// Puts back a batch whose write failed, so that the next flush retries it.
    pub(crate) fn restore(&self, batch: Vec<(String, OffsetDateTime)>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (prefix, at) in batch {
            let at = SystemTime::from(at);
            let slot = pending.entry(prefix).or_insert(at);
            *slot = (*slot).max(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_use_per_key() {
        let uses = Uses::new(DEFAULT_INTERVAL);
        let t = OffsetDateTime::UNIX_EPOCH;
        let at = |t: OffsetDateTime| SystemTime::from(t);
        assert!(uses.note("a", at(t + time::Duration::seconds(2))));
        assert!(!uses.note("a", at(t)), "the task starts once");
        uses.note("b", at(t));
        let mut batch = uses.take();
        batch.sort();
        assert_eq!(
            batch,
            [
                ("a".to_owned(), t + time::Duration::seconds(2)),
                ("b".to_owned(), t)
            ]
        );
        assert!(uses.take().is_empty());
        uses.note("a", at(t + time::Duration::seconds(1)));
        uses.restore(batch);
        let mut again = uses.take();
        again.sort();
        assert_eq!(again[0].1, t + time::Duration::seconds(2));
        assert_eq!(again.len(), 2);
    }
}
