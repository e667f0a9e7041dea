//! An in-memory store for tests and prototypes.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;

use crate::record::ApiKey;
use crate::store::{KeyStore, ListQuery, Page, StoreError};

/// Keys in a hash map, lost when the process ends. Listing scans every key.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: RwLock<HashMap<String, Arc<ApiKey>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if keys.contains_key(&key.prefix) {
            return Err(StoreError::AlreadyExists {
                prefix: key.prefix.clone(),
            });
        }
        keys.insert(key.prefix.clone(), Arc::new(key.clone()));
        Ok(())
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        Ok(keys.get(prefix).cloned())
    }

    async fn update(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let slot = keys
            .get_mut(&key.prefix)
            .ok_or_else(|| StoreError::NotFound {
                prefix: key.prefix.clone(),
            })?;
        let mut updated = key.clone();
        updated.revoked |= slot.revoked;
        *slot = Arc::new(updated);
        Ok(())
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let folded = query.search_folded();
        let mut matching: Vec<ApiKey> = {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            keys.values()
                .filter(|k| query.matches(folded.as_deref(), k))
                .map(|k| (**k).clone())
                .collect()
        };
        matching.sort_unstable_by(|a, b| (b.created, &b.prefix).cmp(&(a.created, &a.prefix)));
        let limit = query.effective_limit();
        matching.truncate(limit + 1);
        Ok(Page::from_overfetch(matching, limit))
    }

    async fn delete(&self, prefix: &str) -> Result<bool, StoreError> {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        Ok(keys.remove(prefix).is_some())
    }
}
