//! `MemoryStore` passes the store conformance suite.

use std::sync::Arc;

use apikeys::MemoryStore;
use apikeys::testing::store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conformance() {
    store::run_all(|| async { MemoryStore::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_memory_store_sees_revocations() {
    let shared = Arc::new(MemoryStore::new());
    store::revocation_visible_across_handles(shared.clone(), shared).await;
}
