//! Credits are spent in memory and written behind: reads see the spending at once, the
//! file after a flush, and no flush writes over a newer edit, roll or delete. Reads the
//! file past the store with the codec, so it needs the `fuzzing` feature.

use apikeys::testing::event;
use apikeys::{ApiKeys, AuditAction, Change, Edit, KeyStore, ListQuery};
use apikeys_redb::RedbStore;

const RECORDS: redb::TableDefinition<'static, &str, &[u8]> =
    redb::TableDefinition::new("apikeys_records");

fn with_credits(prefix: &str, remaining: u64) -> apikeys::ApiKey {
    let record = apikeys::testing::record(prefix, "credits");
    apikeys::ApiKey {
        credits: Some(apikeys::Credits::new(remaining, record.created).expect("credits")),
        ..record
    }
}

async fn remaining(store: &RedbStore, prefix: &str) -> u64 {
    let key = store.get(prefix).await.expect("get").expect("present");
    key.credits.as_ref().expect("credits").remaining
}

/// What the file holds, read past the store's cache and its spending in memory.
fn remaining_in_file(db: &redb::Database, prefix: &str) -> u64 {
    use redb::ReadableDatabase as _;
    let txn = db.begin_read().expect("read");
    let records = txn.open_table(RECORDS).expect("records");
    let bytes = records.get(prefix).expect("get").expect("present");
    let key = apikeys_redb::fuzzing::decode_record(prefix, bytes.value()).expect("decodes");
    key.credits.expect("credits").remaining
}

/// Spending is in memory until a flush: reads (get, list) see it at once, the file after
/// `flush_credits`, the next flush interval, or the drop of the last store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_are_written_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let store = RedbStore::builder()
        .credit_flush_interval(std::time::Duration::from_secs(3600))
        .open(&path)
        .expect("open");
    let key = with_credits("Wbh00001", 10);
    store
        .insert(&key, &event(&key.prefix, AuditAction::Created))
        .await
        .expect("insert");
    for _ in 0..3 {
        store
            .spend(&key.prefix, 1, key.created)
            .await
            .expect("spend");
    }
    assert_eq!(
        remaining(&store, &key.prefix).await,
        7,
        "get sees the spending"
    );
    let page = store.list(&ListQuery::default()).await.expect("list");
    assert_eq!(page.keys[0].credits.as_ref().map(|c| c.remaining), Some(7));
    assert_eq!(
        remaining_in_file(store.database(), &key.prefix),
        10,
        "not yet written"
    );
    assert_eq!(store.flush_credits().await.expect("flush"), 1);
    assert_eq!(remaining_in_file(store.database(), &key.prefix), 7);
    assert_eq!(
        store.flush_credits().await.expect("flush"),
        0,
        "nothing new"
    );

    store
        .spend(&key.prefix, 2, key.created)
        .await
        .expect("spend");
    drop(store);
    let store = RedbStore::open_existing(&path).expect("reopen");
    assert_eq!(remaining(&store, &key.prefix).await, 5, "written on drop");
}

/// The background flush writes within its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_are_flushed_on_the_interval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::builder()
        .credit_flush_interval(std::time::Duration::from_millis(20))
        .open(dir.path().join("keys.redb"))
        .expect("open");
    let key = with_credits("Wbh00002", 10);
    store
        .insert(&key, &event(&key.prefix, AuditAction::Created))
        .await
        .expect("insert");
    store
        .spend(&key.prefix, 4, key.created)
        .await
        .expect("spend");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while remaining_in_file(store.database(), &key.prefix) != 6 {
        assert!(std::time::Instant::now() < deadline, "never flushed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// An edit that leaves credits alone keeps the spending made before it; one that sets them
/// wins over it, and a later flush does not write the old spending over it; a roll hands
/// the spent count to the successor; a delete drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_spending_do_not_overwrite_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::builder()
        .credit_flush_interval(std::time::Duration::from_secs(3600))
        .open(dir.path().join("keys.redb"))
        .expect("open");
    let keys = ApiKeys::new(store.clone());
    let key = with_credits("Wbh00003", 10);
    store
        .insert(&key, &event(&key.prefix, AuditAction::Created))
        .await
        .expect("insert");
    let edit = |edit: Edit| {
        let store = store.clone();
        let prefix = key.prefix.clone();
        async move {
            let event = event(
                &prefix,
                AuditAction::Updated {
                    changes: edit.clone(),
                },
            );
            store
                .modify(&prefix, &Change::Edit(edit), &event)
                .await
                .expect("edit")
        }
    };
    store
        .spend(&key.prefix, 3, key.created)
        .await
        .expect("spend");
    edit(Edit::new().name("renamed")).await;
    assert_eq!(
        remaining(&store, &key.prefix).await,
        7,
        "a rename keeps the spending"
    );
    assert_eq!(
        remaining_in_file(store.database(), &key.prefix),
        7,
        "and writes it"
    );

    store
        .spend(&key.prefix, 2, key.created)
        .await
        .expect("spend");
    let credits = apikeys::Credits::new(100, key.created).expect("credits");
    edit(Edit::new().credits(credits)).await;
    assert_eq!(store.flush_credits().await.expect("flush"), 0);
    assert_eq!(remaining(&store, &key.prefix).await, 100, "the edit wins");
    assert_eq!(remaining_in_file(store.database(), &key.prefix), 100);

    store
        .spend(&key.prefix, 1, key.created)
        .await
        .expect("spend");
    let rolled = keys
        .roll(&key.prefix, time::Duration::ZERO)
        .await
        .expect("roll");
    let successor = rolled.successor.record.prefix.clone();
    assert_eq!(remaining(&store, &successor).await, 99);
    store
        .spend(&successor, 9, key.created)
        .await
        .expect("spend");
    assert_eq!(remaining(&store, &successor).await, 90);
    assert_eq!(store.flush_credits().await.expect("flush"), 1);
    assert_eq!(remaining_in_file(store.database(), &successor), 90);

    store
        .delete(&successor, &event(&successor, AuditAction::Deleted))
        .await
        .expect("delete");
    assert!(matches!(
        store.spend(&successor, 1, key.created).await,
        Err(apikeys::StoreError::NotFound { .. })
    ));
}
