//! `RedbStore` passes the core's store conformance suite, on fresh files and with several
//! handles on one database.

use std::sync::Arc;

use apikeys::testing::{created, event, store};
use apikeys::{ApiKeys, AuditAction, Change, Edit, KeyStore, ListQuery, NewKey};
use apikeys_redb::RedbStore;

const RECORDS: redb::TableDefinition<'static, &str, &[u8]> =
    redb::TableDefinition::new("apikeys_records");

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
    keys.delete(deleted.key.prefix()).await.expect("delete");
    keys.update(kept.key.prefix(), Edit::new().owner("org_1"))
        .await
        .expect("edit");
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
    let stored = store
        .get(kept.key.prefix())
        .await
        .expect("get")
        .expect("present");
    assert_eq!(stored.owner.as_deref(), Some("org_1"));
    assert_eq!(stored.name, kept.record.name);
    let page = store
        .list(&ListQuery::new().owner("org_1"))
        .await
        .expect("list");
    assert_eq!(page.keys.len(), 1);
    let actions = |events: Vec<apikeys::AuditEvent>| {
        events.iter().map(|e| e.action.name()).collect::<Vec<_>>()
    };
    let kept_history = store.history(kept.key.prefix()).await.expect("history");
    assert_eq!(actions(kept_history), ["created", "updated"]);
    let deleted_history = store.history(deleted.key.prefix()).await.expect("history");
    assert_eq!(actions(deleted_history), ["created", "deleted"]);
}

/// The core's undecodable-record case, with the record's bytes damaged in the file
/// underneath the store: garbage, and a record of a format version from the future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_conformance() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (n, bytes) in [&b"\x01\x00garbage"[..], &[3u8, 0, 1, 2][..]]
        .into_iter()
        .enumerate()
    {
        let store = RedbStore::open(dir.path().join(format!("u{n}.redb"))).expect("open");
        let db = Arc::clone(store.database());
        store::undecodable_records(Arc::new(store), |prefix| async move {
            let txn = db.begin_write().expect("write");
            txn.open_table(RECORDS)
                .expect("records")
                .insert(prefix.as_str(), bytes)
                .expect("damage");
            txn.commit().expect("commit");
        })
        .await;
    }
}

/// A roll, an edit and a touch each land in the cache exactly as in the file: a store
/// sharing the cache and a fresh open of the file read the same records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_writes_keep_the_cache_coherent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let store = RedbStore::open(&path).expect("open");
    // No write-behind task: it would hold the file open past `drop`.
    let keys = ApiKeys::builder(store.clone()).without_last_used().build();
    let made = keys
        .create(NewKey::named("coherent").owner("org_a"))
        .await
        .expect("create");
    let prefix = made.key.prefix().to_owned();
    keys.verify(made.key.expose_secret()).await.expect("cached");
    keys.update(&prefix, Edit::new().owner("org_b").name("moved"))
        .await
        .expect("edit");
    keys.disable(&prefix).await.expect("disable");
    keys.enable(&prefix).await.expect("enable");
    let later = apikeys::testing::record("x", "x").created + time::Duration::minutes(1);
    store
        .touch(&[(prefix.clone(), later)])
        .await
        .expect("touch");
    let rolled = keys
        .roll(&prefix, time::Duration::hours(1))
        .await
        .expect("roll");
    let successor = rolled.successor.key.prefix().to_owned();
    let cached_old = store.get(&prefix).await.expect("get").expect("old");
    let cached_new = store.get(&successor).await.expect("get").expect("new");
    assert!(store.cached() >= 2);
    assert_eq!(cached_old.last_used, Some(later));
    assert_eq!(cached_old.successor.as_deref(), Some(successor.as_str()));
    let in_org_b = store
        .list(&ListQuery::new().owner("org_b"))
        .await
        .expect("list");
    assert_eq!(in_org_b.keys.len(), 2, "the successor keeps the owner");
    assert!(
        store
            .list(&ListQuery::new().owner("org_a"))
            .await
            .expect("list")
            .keys
            .is_empty(),
        "the old owner's index entry went with the edit"
    );
    drop(keys);
    drop(store);
    let fresh = RedbStore::builder()
        .cache_capacity(0)
        .open_existing(&path)
        .expect("reopen");
    assert_eq!(
        fresh.get(&prefix).await.expect("get").as_ref(),
        Some(&cached_old)
    );
    assert_eq!(
        fresh.get(&successor).await.expect("get").as_ref(),
        Some(&cached_new)
    );
    let history = fresh.history(&successor).await.expect("history");
    assert_eq!(history.len(), 1, "the roll is in the successor's history");
    assert_eq!(fresh.history(&prefix).await.expect("history").len(), 5);
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
        let ev = event(&key.prefix, AuditAction::Deleted);
        assert!(store.delete(&key.prefix, &ev).await.expect("delete"));
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
    let a = apikeys::testing::record("Aaaaaaaa", "0");
    store.insert(&a, &created(&a)).await.expect("insert a");
    let b = apikeys::testing::record("Bbbbbbbb", "b");
    store.insert(&b, &created(&b)).await.expect("insert b");
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
        let name = i.to_string();
        let change = if i == 150 {
            Change::Revoke
        } else {
            Change::Edit(Edit::new().name(&name))
        };
        let ev = event("Aaaaaaaa", AuditAction::Revoked);
        store
            .modify("Aaaaaaaa", &change, &ev)
            .await
            .expect("modify");
        let seen = store.get("Aaaaaaaa").await.expect("get").expect("present");
        if i < 150 {
            assert_eq!(
                seen.name, name,
                "a read after write {i} saw an older record"
            );
        }
        assert_eq!(seen.revoked, i == 150);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }
}
