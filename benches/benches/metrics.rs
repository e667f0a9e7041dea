//! What the `metrics` feature costs a verification (`cargo bench -p apikeys-benches
//! --features metrics --bench metrics`): `ApiKeys::verify` on a `MemoryStore` of 10,001 keys
//! and on a `RedbStore` of 501 (every record cached; its cache counts a hit), last-used
//! recording off, first with the feature compiled in but no recorder installed, then with
//! metrics-exporter-prometheus' recorder installed globally, as the example servers do (its
//! upkeep folding samples into the histogram on another thread every second). The same
//! verification without the feature is `verify_last_used/off` and `/redb_off` of
//! `--bench core` built without it.

use std::hint::black_box;
use std::time::Duration;

use apikeys::{ApiKeys, MemoryStore, NewKey, PlaintextKey};
use apikeys_redb::RedbStore;
use criterion::Criterion;
use metrics_exporter_prometheus::PrometheusBuilder;

/// Keys besides the one verified, as in `--bench core`.
const MEMORY_KEYS: usize = 10_000;
const REDB_KEYS: usize = 500;

fn populated(runtime: &tokio::runtime::Runtime, keys: &ApiKeys, others: usize) -> PlaintextKey {
    runtime.block_on(async {
        for i in 0..others {
            keys.create(NewKey::named(format!("client-{i}")))
                .await
                .expect("create");
        }
        keys.create(NewKey::named("bench"))
            .await
            .expect("create")
            .key
    })
}

fn bench_verify(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    keys: &ApiKeys,
    key: &PlaintextKey,
) {
    c.bench_function(name, |b| {
        b.to_async(runtime).iter(|| async {
            keys.verify(black_box(key.expose_secret()))
                .await
                .expect("valid key")
        });
    });
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let memory = ApiKeys::builder(MemoryStore::new())
        .without_last_used()
        .build();
    let memory_key = populated(&runtime, &memory, MEMORY_KEYS);
    let path =
        std::env::temp_dir().join(format!("apikeys-bench-metrics-{}.redb", std::process::id()));
    let redb = ApiKeys::builder(RedbStore::open(&path).expect("temporary redb file"))
        .without_last_used()
        .build();
    let redb_key = populated(&runtime, &redb, REDB_KEYS);

    bench_verify(
        &mut c,
        &runtime,
        "verify_metrics/memory_no_recorder",
        &memory,
        &memory_key,
    );
    bench_verify(
        &mut c,
        &runtime,
        "verify_metrics/redb_no_recorder",
        &redb,
        &redb_key,
    );

    // A global recorder cannot be removed: the runs with it come last.
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("the first recorder of this process");
    let upkeep = handle.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            upkeep.run_upkeep();
        }
    });
    bench_verify(
        &mut c,
        &runtime,
        "verify_metrics/memory_prometheus",
        &memory,
        &memory_key,
    );
    bench_verify(
        &mut c,
        &runtime,
        "verify_metrics/redb_prometheus",
        &redb,
        &redb_key,
    );
    // The recorder saw every verification.
    assert!(
        handle
            .render()
            .contains("apikeys_verifications_total{outcome=\"granted\"}")
    );

    drop(redb);
    let _ = std::fs::remove_file(&path);
    c.final_summary();
}
