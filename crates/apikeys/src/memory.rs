//! An in-memory store for tests and prototypes.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::lifecycle::{Change, Modified, Roll, Rolled};
use crate::limits::Spend;
use crate::query::{KeyFields, ListQuery};
use crate::record::ApiKey;
use crate::store::{KeyStore, Page, StoreError};

/// Keys in a hash map, lost when the process ends. Listing (owner filter included) scans
/// every key. Every write holds one lock, so each is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, Arc<ApiKey>>,
    /// Each key's audit events, oldest first; kept when the key is deleted.
    history: HashMap<String, Vec<Arc<AuditEvent>>>,
}

impl State {
    fn record(&mut self, event: &AuditEvent) {
        let event = Arc::new(event.clone());
        for prefix in event.prefixes() {
            self.history
                .entry(prefix.to_owned())
                .or_default()
                .push(Arc::clone(&event));
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys
            .len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn not_found(prefix: &str) -> StoreError {
    StoreError::NotFound {
        prefix: prefix.to_owned(),
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let mut state = self.write();
        if state.keys.contains_key(&key.prefix) {
            return Err(StoreError::AlreadyExists {
                prefix: key.prefix.clone(),
            });
        }
        state.keys.insert(key.prefix.clone(), Arc::new(key.clone()));
        state.record(event);
        Ok(())
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        Ok(state.keys.get(prefix).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let mut matching: Vec<ApiKey> = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            state
                .keys
                .values()
                .filter(|k| query.matches(&KeyFields::from(&***k)))
                .map(|k| (**k).clone())
                .collect()
        };
        matching.sort_unstable_by(|a, b| (b.created, &b.prefix).cmp(&(a.created, &a.prefix)));
        let limit = query.effective_limit();
        matching.truncate(limit + 1);
        Ok(Page::from_overfetch(matching, limit))
    }

    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        let mut state = self.write();
        let slot = state
            .keys
            .get_mut(prefix)
            .ok_or_else(|| not_found(prefix))?;
        let mut key = (**slot).clone();
        let changed = change
            .apply(&mut key)
            .map_err(|reason| StoreError::Refused {
                prefix: prefix.to_owned(),
                reason,
            })?;
        if !changed {
            return Ok(Modified::Unchanged(key));
        }
        *slot = Arc::new(key.clone());
        state.record(event);
        Ok(Modified::Changed(key))
    }

    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        let mut state = self.write();
        let mut old = state
            .keys
            .get(&roll.prefix)
            .map(|k| (**k).clone())
            .ok_or_else(|| not_found(&roll.prefix))?;
        let successor = roll.apply(&mut old).map_err(|reason| StoreError::Refused {
            prefix: roll.prefix.clone(),
            reason,
        })?;
        if state.keys.contains_key(&successor.prefix) {
            return Err(StoreError::AlreadyExists {
                prefix: successor.prefix,
            });
        }
        state.keys.insert(old.prefix.clone(), Arc::new(old.clone()));
        state
            .keys
            .insert(successor.prefix.clone(), Arc::new(successor.clone()));
        state.record(event);
        Ok(Rolled { old, successor })
    }

    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        let mut state = self.write();
        for (prefix, at) in uses {
            if let Some(slot) = state.keys.get_mut(prefix)
                && slot.last_used.is_none_or(|last| last < *at)
            {
                Arc::make_mut(slot).last_used = Some(*at);
            }
        }
        Ok(())
    }

    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let mut state = self.write();
        let removed = state.keys.remove(prefix).is_some();
        if removed {
            state.record(event);
        }
        Ok(removed)
    }

    async fn spend(
        &self,
        prefix: &str,
        cost: u64,
        now: OffsetDateTime,
    ) -> Result<Option<Spend>, StoreError> {
        // Under the write lock: exact however many requests spend at once.
        let mut state = self.write();
        let slot = state
            .keys
            .get_mut(prefix)
            .ok_or_else(|| not_found(prefix))?;
        if slot.credits.is_none() {
            return Ok(None);
        }
        let credits = Arc::make_mut(slot).credits.as_mut().expect("checked above");
        Ok(Some(credits.spend(cost, now)))
    }

    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        Ok(state
            .history
            .get(prefix)
            .map(|events| events.iter().map(|e| (**e).clone()).collect())
            .unwrap_or_default())
    }
}
