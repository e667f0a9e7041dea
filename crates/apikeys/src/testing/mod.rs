//! Conformance suites, run by every store and every HTTP adapter from its own tests.
//!
//! - [`store`]: the [`KeyStore`] contract, including concurrent writers.
//! - [`http`]: the HTTP behaviour of
//!   [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md),
//!   through a small harness each adapter writes.

pub mod http;
pub mod store;

use std::collections::BTreeSet;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::record::ApiKey;
use crate::store::{KeyStore, ListQuery, Page, StoreError};

/// A record with the given prefix and name, created now (microsecond precision), active,
/// without scopes or metadata. Its hash is of nothing: fine for storage tests.
pub fn record(prefix: &str, name: &str) -> ApiKey {
    ApiKey {
        prefix: prefix.to_owned(),
        hashed_key: format!("sha512$${}", "0".repeat(128)),
        name: name.to_owned(),
        created: crate::validation::to_stored_precision(OffsetDateTime::now_utc()),
        expires: None,
        revoked: false,
        scopes: BTreeSet::new(),
        metadata: crate::Metadata::new(),
    }
}

/// A manager over a fresh [`MemoryStore`](crate::MemoryStore) holding one key named
/// `tester` with `scopes`, and that key in plaintext.
pub async fn keys_with(scopes: &[&str]) -> (crate::ApiKeys, String) {
    let keys = crate::ApiKeys::new(crate::MemoryStore::new());
    let created = keys
        .create(crate::NewKey::named("tester").scopes(scopes.iter().copied()))
        .await
        .expect("create");
    (keys, created.key.expose_secret().to_owned())
}

/// A store whose every call fails, for testing the 503 path.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailingStore;

fn outage() -> StoreError {
    StoreError::backend("simulated outage")
}

#[async_trait]
impl KeyStore for FailingStore {
    async fn insert(&self, _: &ApiKey) -> Result<(), StoreError> {
        Err(outage())
    }
    async fn get(&self, _: &str) -> Result<Option<std::sync::Arc<ApiKey>>, StoreError> {
        Err(outage())
    }
    async fn update(&self, _: &ApiKey) -> Result<(), StoreError> {
        Err(outage())
    }
    async fn list(&self, _: &ListQuery) -> Result<Page, StoreError> {
        Err(outage())
    }
    async fn delete(&self, _: &str) -> Result<bool, StoreError> {
        Err(outage())
    }
}
