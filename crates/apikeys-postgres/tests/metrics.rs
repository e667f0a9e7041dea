//! The cache metric on the real server: `apikeys_cache_lookups_total{store="postgres",
//! result}` counts hits, misses and bypasses (listener down) exactly as the store's own
//! `cache_status` does. Recorded into a local recorder: the lookups run in the test's own
//! future, on its thread; the listener's tasks look nothing up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apikeys::{ApiKeys, NewKey};
use apikeys_postgres::testing::{TestSchema, cache_in_use};
use apikeys_postgres::{CacheStatus, PostgresStore};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// Lookups by `result` since the last call (asserting the `store` label).
fn lookups(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if let (true, DebugValue::Counter(n)) = (key.name() == "apikeys_cache_lookups_total", value)
        {
            let label = |name: &str| {
                key.labels()
                    .find(|l| l.key() == name)
                    .map(|l| l.value().to_owned())
            };
            assert_eq!(label("store").as_deref(), Some("postgres"), "{key:?}");
            if n > 0 {
                counts.insert(label("result").expect("result label"), n);
            }
        }
    }
    counts
}

/// What `cache_status` counted between `before` and `after`, in the metric's terms.
fn counted(before: &CacheStatus, after: &CacheStatus) -> BTreeMap<String, u64> {
    [
        ("hit", after.hits - before.hits),
        ("miss", after.misses - before.misses),
        ("bypass", after.bypasses - before.bypasses),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_owned(), n))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_misses_and_bypasses_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let schema = TestSchema::new().await;
    let store = PostgresStore::new(schema.pool().await)
        .await
        .expect("store");
    cache_in_use(&store).await;
    let keys = ApiKeys::builder(store.clone()).without_last_used().build();
    let created = keys.create(NewKey::named("cached")).await.expect("create");
    let secret = created.key.expose_secret();
    lookups(&snapshotter);

    // The first lookup reads the table and fills the cache; later ones are hits (a fill
    // dropped by the invalidation of the key's own creation only adds a miss).
    let before = store.cache_status();
    let mut verified = 0;
    while store.cache_status().hits == before.hits {
        assert!(verified < 50, "never a hit: {:?}", store.cache_status());
        keys.verify(secret).await.expect("granted");
        verified += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    keys.verify(secret).await.expect("granted");
    let seen = lookups(&snapshotter);
    assert_eq!(seen, counted(&before, &store.cache_status()));
    let count = |result: &str| seen.get(result).copied().unwrap_or(0);
    assert!(count("miss") >= 1 && count("hit") >= 2, "{seen:?}");
    assert_eq!(seen.values().sum::<u64>(), verified + 1);

    // Listener down: every lookup bypasses the cache.
    let pid = store.cache_status().listener_pid.expect("a listener");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&schema.pool().await)
        .await
        .expect("terminate");
    assert!(killed);
    let start = Instant::now();
    while store.cache_status().usable {
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let before = store.cache_status();
    keys.verify(secret).await.expect("granted");
    keys.verify(secret).await.expect("granted");
    let after = store.cache_status();
    let seen = lookups(&snapshotter);
    assert_eq!(seen, counted(&before, &after));
    // Unless the new listener came back between the two (it waits at least 100 ms).
    assert!(seen.get("bypass").copied().unwrap_or(0) >= 1, "{seen:?}");
}
