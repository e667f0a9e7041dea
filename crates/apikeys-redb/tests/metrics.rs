//! The cache metric: `apikeys_cache_lookups_total{store="redb", result}` counts what the
//! cache answered, recorded into a local recorder on this test's own thread.

use std::collections::BTreeMap;

use apikeys::{ApiKeys, NewKey};
use apikeys_redb::RedbStore;
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
            assert_eq!(label("store").as_deref(), Some("redb"), "{key:?}");
            if n > 0 {
                counts.insert(label("result").expect("result label"), n);
            }
        }
    }
    counts
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[tokio::test]
async fn hits_and_misses_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");

    let keys = ApiKeys::builder(RedbStore::open(&path).expect("open"))
        .without_last_used()
        .build();
    let created = keys.create(NewKey::named("cached")).await.expect("create");
    let secret = created.key.expose_secret().to_owned();
    // The store's own insert filled the cache.
    keys.verify(&secret).await.expect("granted");
    assert_eq!(lookups(&snapshotter), counts(&[("hit", 1)]));
    // An unknown prefix is read from the file, and never cached.
    let unknown = format!("{}.{}", "Zz9Zz9Zz", &secret[9..]);
    for _ in 0..2 {
        keys.verify(&unknown).await.expect_err("not found");
    }
    assert_eq!(lookups(&snapshotter), counts(&[("miss", 2)]));
    drop(keys);

    // A reopened file starts with an empty cache: one miss fills it, then hits.
    let keys = ApiKeys::builder(RedbStore::open_existing(&path).expect("reopen"))
        .without_last_used()
        .build();
    for _ in 0..3 {
        keys.verify(&secret).await.expect("granted");
    }
    assert_eq!(lookups(&snapshotter), counts(&[("hit", 2), ("miss", 1)]));
}
