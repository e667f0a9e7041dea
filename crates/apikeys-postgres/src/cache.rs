//! The record cache: a bounded LRU map of prefix → record that is used only while the
//! listener (listener.rs) holds a fresh *lease*.
//!
//! The lease is the time the last acknowledged self-notification was sent plus the staleness
//! bound. Notifications reach a listening connection in commit order, so when that ping comes
//! back every change committed before it was sent has been applied here: a lookup within the
//! lease cannot return a record older than the bound. A lost or lagging listener stops renewing
//! the lease and every lookup reads the table.
//!
//! Fills are guarded by a generation counter that every invalidation bumps: a row read before
//! an invalidation is not inserted after it.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use apikeys::{ApiKey, CacheMetrics};
use lru::LruCache;

/// How a [`PostgresStore`](crate::PostgresStore) caches records (see the crate's README,
/// "The record cache").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// Most records kept; `0` turns the cache off (every lookup is a query).
    pub capacity: usize,
    /// Longest time a change made anywhere may go unseen by this store: past it without
    /// proof that the listener is current, lookups bypass the cache.
    pub max_staleness: Duration,
}

impl CacheOptions {
    /// Records kept by default.
    pub const DEFAULT_CAPACITY: usize = 10_000;
    /// The default staleness bound.
    pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_millis(100);
    /// The smallest bound accepted: the listener proves itself four times per bound, and
    /// more often than every 5 ms would be noise on the database.
    pub const MIN_MAX_STALENESS: Duration = Duration::from_millis(20);

    /// The cache on, with the default capacity and bound.
    pub fn new() -> Self {
        Self {
            capacity: Self::DEFAULT_CAPACITY,
            max_staleness: Self::DEFAULT_MAX_STALENESS,
        }
    }

    /// No cache: every lookup reads the table, and no listener connection is held.
    pub fn off() -> Self {
        Self {
            capacity: 0,
            ..Self::new()
        }
    }

    /// Keep at most `capacity` records (`0`: off).
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Set the staleness bound (at least [`CacheOptions::MIN_MAX_STALENESS`]).
    #[must_use]
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound.max(Self::MIN_MAX_STALENESS);
        self
    }

    /// Whether these options ask for a cache.
    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What a store's cache is doing, for tests, health checks and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// The store has a cache (it was asked for and, in Django mode, the trigger is there).
    pub enabled: bool,
    /// The listener is connected and current: lookups may be answered from memory now.
    pub usable: bool,
    /// Records held.
    pub entries: usize,
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that read the table while the cache was usable.
    pub misses: u64,
    /// Lookups that read the table because the cache was not usable.
    pub bypasses: u64,
    /// Listener connections made after the first (each one clears the cache).
    pub reconnects: u64,
    /// The PostgreSQL backend process of the listener's connection, while connected.
    pub listener_pid: Option<i32>,
}

/// The outcome of a lookup.
pub(crate) enum Lookup {
    Hit(Arc<ApiKey>),
    /// Read the table, then [`Cache::fill`] with this ticket.
    Miss(Ticket),
    /// The cache cannot be trusted now: read the table, do not fill.
    Bypass,
}

/// The generation a miss saw; the fill is dropped if an invalidation came in between.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

struct Entries {
    records: LruCache<String, Arc<ApiKey>>,
    generation: u64,
}

pub(crate) struct Cache {
    entries: Mutex<Entries>,
    max_staleness: Duration,
    /// The origin of the nanosecond times below.
    epoch: Instant,
    /// Until when (ns after `epoch`) lookups may use the cache; 0 = not now.
    lease_until: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    /// 0 while no listener is connected.
    pub(crate) listener_pid: AtomicI32,
    /// The same counts for a metrics recorder (feature `metrics`).
    metrics: CacheMetrics,
}

impl Cache {
    pub(crate) fn new(options: &CacheOptions) -> Option<Self> {
        let capacity = NonZeroUsize::new(options.capacity)?;
        Some(Self {
            entries: Mutex::new(Entries {
                records: LruCache::new(capacity),
                generation: 0,
            }),
            max_staleness: options.max_staleness.max(CacheOptions::MIN_MAX_STALENESS),
            epoch: Instant::now(),
            lease_until: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypasses: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            listener_pid: AtomicI32::new(0),
            metrics: CacheMetrics::new("postgres"),
        })
    }

    pub(crate) fn max_staleness(&self) -> Duration {
        self.max_staleness
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The map is consistent after any panic in our short critical sections.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_usable(&self) -> bool {
        self.nanos(Instant::now()) < self.lease_until.load(Ordering::Acquire)
    }

    pub(crate) fn lookup(&self, prefix: &str) -> Lookup {
        if !self.is_usable() {
            self.bypasses.fetch_add(1, Ordering::Relaxed);
            self.metrics.bypass();
            return Lookup::Bypass;
        }
        let mut entries = self.lock();
        if let Some(record) = entries.records.get(prefix) {
            let record = Arc::clone(record);
            drop(entries);
            self.hits.fetch_add(1, Ordering::Relaxed);
            self.metrics.hit();
            return Lookup::Hit(record);
        }
        let ticket = Ticket(entries.generation);
        drop(entries);
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.metrics.miss();
        Lookup::Miss(ticket)
    }

    /// Keeps `record`, read after `ticket` was issued, unless something was invalidated since.
    /// Absent keys are not kept: random prefixes must not evict real records.
    pub(crate) fn fill(&self, ticket: Ticket, record: &Arc<ApiKey>) {
        let mut entries = self.lock();
        if entries.generation == ticket.0 {
            entries
                .records
                .put(record.prefix.clone(), Arc::clone(record));
        }
    }

    pub(crate) fn invalidate(&self, prefix: &str) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.records.pop(prefix);
    }

    pub(crate) fn clear(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.records.clear();
    }

    /// A ping sent at `sent` came back: everything committed before it has been applied.
    pub(crate) fn renew(&self, sent: Instant) {
        let until = self.nanos(sent + self.max_staleness);
        self.lease_until.fetch_max(until, Ordering::AcqRel);
    }

    /// The listener is gone or was replaced: stop using the cache at once.
    pub(crate) fn revoke_lease(&self) {
        self.lease_until.store(0, Ordering::Release);
    }

    pub(crate) fn status(&self) -> CacheStatus {
        let entries = self.lock().records.len();
        let pid = self.listener_pid.load(Ordering::Acquire);
        CacheStatus {
            enabled: true,
            usable: self.is_usable(),
            entries,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypasses: self.bypasses.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            listener_pid: (pid != 0).then_some(pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> Cache {
        Cache::new(&CacheOptions::new().capacity(2)).expect("on")
    }

    fn record(prefix: &str) -> Arc<ApiKey> {
        Arc::new(apikeys::testing::record(prefix, "cached"))
    }

    fn hit(cache: &Cache, prefix: &str) -> bool {
        matches!(cache.lookup(prefix), Lookup::Hit(_))
    }

    fn miss(cache: &Cache, prefix: &str) -> Ticket {
        match cache.lookup(prefix) {
            Lookup::Miss(ticket) => ticket,
            _ => panic!("expected a miss for {prefix}"),
        }
    }

    #[test]
    fn off_means_no_cache() {
        assert!(Cache::new(&CacheOptions::off()).is_none());
        assert!(!CacheOptions::off().is_on());
        assert_eq!(
            CacheOptions::new()
                .max_staleness(Duration::ZERO)
                .max_staleness,
            CacheOptions::MIN_MAX_STALENESS
        );
    }

    #[test]
    fn bypassed_without_a_lease_and_after_it_ends() {
        let cache = cache();
        assert!(matches!(cache.lookup("a"), Lookup::Bypass));
        cache.renew(Instant::now());
        let ticket = miss(&cache, "a");
        cache.fill(ticket, &record("a"));
        assert!(hit(&cache, "a"));
        cache.revoke_lease();
        assert!(matches!(cache.lookup("a"), Lookup::Bypass));
        // A lease from a ping sent longer ago than the bound is no lease.
        cache.renew(Instant::now().checked_sub(Duration::from_secs(1)).unwrap());
        assert!(matches!(cache.lookup("a"), Lookup::Bypass));
        assert_eq!(cache.status().bypasses, 3);
    }

    #[test]
    fn a_fill_older_than_an_invalidation_is_dropped() {
        let cache = cache();
        cache.renew(Instant::now());
        let stale = miss(&cache, "a");
        cache.invalidate("a");
        cache.fill(stale, &record("a"));
        assert!(!hit(&cache, "a"));
        // An invalidation of another key also voids it: the counter is global.
        let stale = miss(&cache, "a");
        cache.clear();
        cache.fill(stale, &record("a"));
        assert!(!hit(&cache, "a"));
        let fresh = miss(&cache, "a");
        cache.fill(fresh, &record("a"));
        assert!(hit(&cache, "a"));
        cache.invalidate("a");
        assert!(!hit(&cache, "a"));
    }

    #[test]
    fn bounded_least_recently_used_goes() {
        let cache = cache();
        cache.renew(Instant::now());
        for prefix in ["a", "b"] {
            let ticket = miss(&cache, prefix);
            cache.fill(ticket, &record(prefix));
        }
        assert!(hit(&cache, "a"));
        let ticket = miss(&cache, "c");
        cache.fill(ticket, &record("c"));
        assert!(hit(&cache, "a") && hit(&cache, "c"));
        assert!(!hit(&cache, "b"));
        let status = cache.status();
        assert_eq!((status.entries, status.hits), (2, 3));
    }
}
