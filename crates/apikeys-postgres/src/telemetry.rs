//! The record cache's metric (feature `metrics`):
//! `apikeys_cache_lookups_total{store="postgres", result}`. The handles are registered once,
//! with the recorder installed when the cache is made (so each result shows from the start,
//! at 0): a lookup costs one atomic add, nothing without the feature.

/// The cache's counters.
pub(crate) struct CacheMetrics {
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
    /// Describes the metric to the recorder installed now and registers the counters.
    pub(crate) fn new() -> Self {
        #[cfg(feature = "metrics")]
        {
            metrics::describe_counter!(
                "apikeys_cache_lookups_total",
                metrics::Unit::Count,
                "API key record lookups by store and result: hit (answered from memory), miss \
                 (read the store), bypass (read the store because the cache could not be trusted)"
            );
            Self {
                hit: metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "hit"),
                miss: metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "miss"),
                bypass: metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "bypass"),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    /// A lookup answered from memory.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn hit(&self) {
        #[cfg(feature = "metrics")]
        self.hit.increment(1);
    }

    /// A lookup that was not in memory and read the store.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn miss(&self) {
        #[cfg(feature = "metrics")]
        self.miss.increment(1);
    }

    /// A lookup that read the table because the listener is down or lagging.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn bypass(&self) {
        #[cfg(feature = "metrics")]
        self.bypass.increment(1);
    }
}
