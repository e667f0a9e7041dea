//! `RedbStore` passes the core's store conformance suite, on fresh files and with several
//! handles on one database.

use std::sync::Arc;

use apikeys::testing::store;
use apikeys::{ApiKeys, KeyStore, NewKey};
use apikeys_redb::RedbStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_store_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    store::run_all(|| {
        n += 1;
        let path = dir.path().join(format!("case{n}.redb"));
        async move { RedbStore::open(path).expect("open") }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_without_a_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    store::run_all(|| {
        n += 1;
        let path = dir.path().join(format!("case{n}.redb"));
        async move {
            RedbStore::builder()
                .cache_capacity(0)
                .open(path)
                .expect("open")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_visible_across_handles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = RedbStore::open(dir.path().join("keys.redb")).expect("open");
    let db = Arc::clone(first.database());
    let a = RedbStore::from_database(Arc::clone(&db)).expect("handle a");
    let b = RedbStore::from_database(db).expect("handle b");
    store::revocation_visible_across_handles(Arc::new(a.clone()), Arc::new(b.clone())).await;
    // Clones share too, and the opening handle with the others.
    store::revocation_visible_across_handles(Arc::new(b), Arc::new(first.clone())).await;
    store::revocation_visible_across_handles(Arc::new(first.clone()), Arc::new(first)).await;
}

const OWN: redb::TableDefinition<'static, &str, u64> = redb::TableDefinition::new("app_counters");

/// Revocation through a store made from the application's own database is refused
/// through a store made separately from that same database, even when the record was
/// cached by the reader first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_database_shared_by_two_stores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Arc::new(redb::Database::create(dir.path().join("app.redb")).expect("create"));
    let writer = ApiKeys::new(RedbStore::from_database(Arc::clone(&db)).expect("writer"));
    let reader_store = RedbStore::from_database(Arc::clone(&db)).expect("reader");
    let reader = ApiKeys::new(reader_store.clone());
    let created = writer.create(NewKey::named("app")).await.expect("create");
    let secret = created.key.expose_secret();
    reader.verify(secret).await.expect("valid");
    assert!(reader_store.cached() >= 1);
    writer.revoke(created.key.prefix()).await.expect("revoke");
    assert!(reader.verify(secret).await.is_err());

    // The application's own tables live beside the keys.
    let txn = db.begin_write().expect("write");
    txn.open_table(OWN)
        .expect("own table")
        .insert("x", 1)
        .expect("insert");
    txn.commit().expect("commit");
    assert_eq!(reader_store.len().expect("len"), 1);
}

/// Every write is on disk when it returns: a fresh open of the file sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let keys = ApiKeys::new(RedbStore::open(&path).expect("open"));
    let kept = keys
        .create(NewKey::named("kept").scope("s").meta("org", 1))
        .await
        .expect("create");
    let revoked = keys.create(NewKey::named("revoked")).await.expect("create");
    let deleted = keys.create(NewKey::named("deleted")).await.expect("create");
    keys.revoke(revoked.key.prefix()).await.expect("revoke");
    assert!(
        keys.store()
            .delete(deleted.key.prefix())
            .await
            .expect("delete")
    );
    drop(keys);

    let store = RedbStore::open_existing(&path).expect("reopen");
    assert_eq!(store.len().expect("len"), 2);
    let again = ApiKeys::new(store.clone());
    let verified = again
        .verify(kept.key.expose_secret())
        .await
        .expect("kept verifies");
    assert_eq!(verified.metadata()["org"], 1);
    assert!(again.verify(revoked.key.expose_secret()).await.is_err());
    assert!(
        store
            .get(deleted.key.prefix())
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(
        *store
            .get(kept.key.prefix())
            .await
            .expect("get")
            .expect("present"),
        kept.record
    );
}

/// Unknown prefixes are not remembered; the cache stays within its capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::builder()
        .cache_capacity(5)
        .open(dir.path().join("keys.redb"))
        .expect("open");
    for i in 0..1000 {
        assert!(
            store
                .get(&format!("nope{i:04}"))
                .await
                .expect("get")
                .is_none()
        );
    }
    assert_eq!(store.cached(), 0);
    let keys = ApiKeys::new(store.clone());
    let mut made = Vec::new();
    for i in 0..20 {
        made.push(
            keys.create(NewKey::named(format!("k{i}")))
                .await
                .expect("create"),
        );
    }
    assert!(store.cached() <= 5);
    for created in &made {
        keys.verify(created.key.expose_secret())
            .await
            .expect("verifies, cached or not");
        assert!(store.cached() <= 5);
    }
}

/// Compaction gives back free space and keeps every key; it refuses a file in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_shrinks_and_keeps_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let store = RedbStore::open(&path).expect("open");
    let format = apikeys::KeyFormat::new();
    let mut batch = Vec::new();
    for i in 0..20_000 {
        let key = format.generate().expect("random");
        batch.push(apikeys::ApiKey {
            name: format!("bulk {i}"),
            ..apikeys::testing::record(key.prefix(), "x")
        });
    }
    store.insert_all(batch.clone()).await.expect("import");
    assert!(matches!(
        store.insert_all(batch[..2].to_vec()).await,
        Err(apikeys::StoreError::AlreadyExists { .. })
    ));
    for key in &batch[..50] {
        assert!(store.delete(&key.prefix).await.expect("delete"));
    }
    assert!(matches!(
        RedbStore::compact(&path),
        Err(apikeys_redb::OpenError::InUse { .. })
    ));
    drop(store);
    let before = std::fs::metadata(&path).expect("size").len();
    RedbStore::compact(&path).expect("compact");
    let after = std::fs::metadata(&path).expect("size").len();
    assert!(after < before, "{after} !< {before}");
    let store = RedbStore::open_existing(&path).expect("reopen");
    assert_eq!(store.len().expect("len"), 20_000 - 50);
    assert!(store.get(&batch[0].prefix).await.expect("get").is_none());
    for key in &batch[50..] {
        assert_eq!(
            store
                .get(&key.prefix)
                .await
                .expect("get")
                .expect("kept")
                .name,
            key.name
        );
    }
}

/// Readers that keep missing and refilling the cache (capacity 1, two keys read in turn)
/// run beside a writer; after each write returns, the next read sees it. (A stress test:
/// the exact interleaving of a stale fill is checked deterministically in the cache's unit
/// tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_fills_never_resurrect_old_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::builder()
        .cache_capacity(1)
        .open(dir.path().join("keys.redb"))
        .expect("open");
    let mut a = apikeys::testing::record("Aaaaaaaa", "0");
    store.insert(&a).await.expect("insert a");
    store
        .insert(&apikeys::testing::record("Bbbbbbbb", "b"))
        .await
        .expect("insert b");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for prefix in ["Aaaaaaaa", "Bbbbbbbb"] {
                        store.get(prefix).await.expect("get").expect("present");
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for i in 1..=150 {
        a.name = i.to_string();
        a.revoked = i == 150;
        store.update(&a).await.expect("update");
        let seen = store.get("Aaaaaaaa").await.expect("get").expect("present");
        assert_eq!(
            seen.name, a.name,
            "a read after write {i} saw an older record"
        );
        assert_eq!(seen.revoked, a.revoked);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }
}
