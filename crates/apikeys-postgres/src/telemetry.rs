//! The record cache's metric (feature `metrics`):
//! `apikeys_cache_lookups_total{store="postgres", result}`. Without the feature these calls
//! inline to nothing. Literal names and labels make each counter key a `static`: no
//! allocation per lookup.

/// Describes the metric to the installed recorder.
#[inline]
pub(crate) fn describe() {
    #[cfg(feature = "metrics")]
    metrics::describe_counter!(
        "apikeys_cache_lookups_total",
        metrics::Unit::Count,
        "API key record lookups by store and result: hit (answered from memory), miss (read \
         the store), bypass (read the store because the cache could not be trusted)"
    );
}

/// A lookup answered from memory.
#[inline]
pub(crate) fn hit() {
    #[cfg(feature = "metrics")]
    metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "hit")
        .increment(1);
}

/// A lookup that was not in memory and read the store.
#[inline]
pub(crate) fn miss() {
    #[cfg(feature = "metrics")]
    metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "miss")
        .increment(1);
}

/// A lookup that read the table because the listener is down or lagging.
#[inline]
pub(crate) fn bypass() {
    #[cfg(feature = "metrics")]
    metrics::counter!("apikeys_cache_lookups_total", "store" => "postgres", "result" => "bypass")
        .increment(1);
}
