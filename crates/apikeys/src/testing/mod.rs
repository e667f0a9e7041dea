//! Conformance suites, run by every store and every HTTP adapter from its own tests.
//!
//! - [`store`]: the [`KeyStore`] contract, including concurrent writers.
//! - [`http`]: the HTTP behaviour of
//!   [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md),
//!   through a small harness each adapter writes.

pub mod http;
pub mod store;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditAction, AuditEvent};
use crate::lifecycle::{Change, Modified, Roll, Rolled};
use crate::query::ListQuery;
use crate::record::ApiKey;
use crate::store::{KeyStore, Page, StoreError};

/// A record with the given prefix and name, created now (microsecond precision), active,
/// without scopes or metadata. Its hash is of nothing: fine for storage tests.
pub fn record(prefix: &str, name: &str) -> ApiKey {
    ApiKey::new(
        prefix,
        format!("sha512$${}", "0".repeat(128)),
        name,
        crate::validation::to_stored_precision(OffsetDateTime::now_utc()),
    )
}

/// An event for `prefix`, now, by the test suite.
pub fn event(prefix: &str, action: AuditAction) -> AuditEvent {
    AuditEvent::new(prefix, action).by(Some("conformance"))
}

/// The audit event of `key`'s creation, for [`KeyStore::insert`] in tests.
pub fn created(key: &ApiKey) -> AuditEvent {
    AuditEvent::new(&key.prefix, AuditAction::Created)
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
    async fn insert(&self, _: &ApiKey, _: &AuditEvent) -> Result<(), StoreError> {
        Err(outage())
    }
    async fn get(&self, _: &str) -> Result<Option<std::sync::Arc<ApiKey>>, StoreError> {
        Err(outage())
    }
    async fn list(&self, _: &ListQuery) -> Result<Page, StoreError> {
        Err(outage())
    }
    async fn modify(&self, _: &str, _: &Change, _: &AuditEvent) -> Result<Modified, StoreError> {
        Err(outage())
    }
    async fn roll(&self, _: &Roll, _: &AuditEvent) -> Result<Rolled, StoreError> {
        Err(outage())
    }
    async fn touch(&self, _: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        Err(outage())
    }
    async fn delete(&self, _: &str, _: &AuditEvent) -> Result<bool, StoreError> {
        Err(outage())
    }
    async fn history(&self, _: &str) -> Result<Vec<AuditEvent>, StoreError> {
        Err(outage())
    }
}
