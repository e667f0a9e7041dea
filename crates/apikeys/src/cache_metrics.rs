//! The record-cache metric every caching store shares (feature `metrics`):
//! `apikeys_cache_lookups_total{store, result}`, so that its name, labels and description
//! live in one place. Without the feature the type is empty and its calls are nothing.

/// The counters of one store's record cache: `apikeys_cache_lookups_total` with
/// `store` = the name given to [`new`](Self::new) and `result` = `hit`, `miss` or `bypass`.
///
/// The handles are registered once, with the recorder installed when this is made (so each
/// result shows from the start, at 0; a store whose cache is never bypassed keeps `bypass`
/// at 0): a lookup costs one atomic add. Stores of other crates count their caches with it
/// too.
pub struct CacheMetrics {
    #[cfg(feature = "metrics")]
    hit: metrics::Counter,
    #[cfg(feature = "metrics")]
    miss: metrics::Counter,
    #[cfg(feature = "metrics")]
    bypass: metrics::Counter,
}

impl std::fmt::Debug for CacheMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheMetrics").finish_non_exhaustive()
    }
}

impl CacheMetrics {
    /// Describes the metric to the recorder installed now and registers the counters of
    /// the store named `store` (e.g. `"redb"`).
    #[must_use]
    pub fn new(store: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            const NAME: &str = "apikeys_cache_lookups_total";
            metrics::describe_counter!(
                NAME,
                metrics::Unit::Count,
                "API key record lookups by store and result: hit (answered from memory), miss \
                 (read the store), bypass (read the store because the cache could not be trusted)"
            );
            let counter = |result: &'static str| metrics::counter!(NAME, "store" => store, "result" => result);
            Self {
                hit: counter("hit"),
                miss: counter("miss"),
                bypass: counter("bypass"),
            }
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = store;
            Self {}
        }
    }

    /// A lookup answered from memory.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub fn hit(&self) {
        #[cfg(feature = "metrics")]
        self.hit.increment(1);
    }

    /// A lookup that was not in memory and read the store.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub fn miss(&self) {
        #[cfg(feature = "metrics")]
        self.miss.increment(1);
    }

    /// A lookup that read the store because the cache could not be trusted (e.g. the
    /// PostgreSQL listener is down or lagging).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub fn bypass(&self) {
        #[cfg(feature = "metrics")]
        self.bypass.increment(1);
    }
}
