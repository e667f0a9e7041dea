//! `GET /metrics`: the process's metrics in Prometheus' text format, recorded by
//! metrics-exporter-prometheus. Its recorder only: each server serves the route on its own
//! address, next to the others, with no key needed (as a health check would be).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The content type of [`render_metrics`]'s text.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets, in seconds: a verification costs about 1 µs on redb, 0.1 ms on a
/// PostgreSQL miss, 20 ms with Argon2id. Buckets, not quantiles, so a fleet's servers add up.
const LATENCY_BUCKETS: [f64; 14] = [
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 2.5e-2, 0.1, 1.0,
];

/// How often the recorder folds recorded samples into its histograms when nobody scrapes:
/// without it they would pile up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's recorder, once; later calls return the
/// same handle. Call it before opening the store and building `ApiKeys`: metrics are
/// described to the recorder installed then.
pub fn install_metrics() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("apikeys_verification_seconds".to_owned()),
                    &LATENCY_BUCKETS,
                )
                .expect("the buckets are not empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                Err(error) => {
                    // Another recorder was installed first: /metrics stays empty.
                    tracing::warn!(%error, "metrics recorder not installed; /metrics is empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "no metrics upkeep thread; samples fold in at each scrape");
            }
            handle
        })
        .clone()
}

/// The body of `GET /metrics`.
pub fn render_metrics() -> String {
    install_metrics().render()
}
