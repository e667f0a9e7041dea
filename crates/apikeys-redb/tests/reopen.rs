//! Dropping the last store closes its file before the drop returns — even while the
//! credit flush thread is busy — so a program may reopen or compact the file next.

use std::time::Duration;

use apikeys::testing::{event, record};
use apikeys::{ApiKey, AuditAction, Credits, KeyStore};
use apikeys_redb::RedbStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_closed_when_the_last_store_is_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    for round in 0..20 {
        // A flush due every millisecond, with spending to write: the thread is mid-flush
        // or waiting for the write lock most of the time.
        let store = RedbStore::builder()
            .credit_flush_interval(Duration::from_millis(1))
            .open(&path)
            .expect("open");
        let base = record(&format!("Rop{round:05}"), "credits");
        let key = ApiKey {
            credits: Some(Credits::new(1_000, base.created).expect("credits")),
            ..base
        };
        store
            .insert(&key, &event(&key.prefix, AuditAction::Created))
            .await
            .expect("insert");
        let batch = (0..500)
            .map(|i| record(&format!("R{round:03}{i:04}"), "filler"))
            .collect();
        for _ in 0..20 {
            store
                .spend(&key.prefix, 1, key.created)
                .await
                .expect("spend");
        }
        store
            .insert_all(batch)
            .await
            .expect("a write that holds the lock");
        store
            .spend(&key.prefix, 1, key.created)
            .await
            .expect("spend");
        drop(store);
        RedbStore::compact(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    let store = RedbStore::open_existing(&path).expect("reopen");
    let last = store.get("Rop00019").await.expect("get").expect("present");
    assert_eq!(
        last.credits.as_ref().expect("credits").remaining,
        979,
        "the drop wrote the last spending"
    );
}
