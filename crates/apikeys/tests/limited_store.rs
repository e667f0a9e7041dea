//! A store that declares the fewest capabilities (like PostgreSQL on Django's table) passes
//! the conformance suite through its flags alone, and a store holding undecodable records
//! passes the undecodable-record case: the suite's own checks, checked.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use apikeys::testing::store;
use apikeys::time::OffsetDateTime;
use apikeys::{
    ApiKey, AuditEvent, Capabilities, Change, KeyStore, ListQuery, MemoryStore, Modified, Page,
    Roll, Rolled, StoreError, async_trait,
};

/// MemoryStore without scopes, metadata, owners, disabling, rotation, last-used times or a
/// durable history, refusing writes that need them as a store without those columns must.
#[derive(Debug, Default)]
struct Limited(MemoryStore);

fn unsupported(field: &str) -> StoreError {
    StoreError::Unsupported(format!("this store has no column for {field}"))
}

fn check(key: &ApiKey) -> Result<(), StoreError> {
    let needs = [
        ("scopes", !key.scopes.is_empty()),
        ("metadata", !key.metadata.is_empty()),
        ("owner", key.owner.is_some()),
        ("disabled", key.disabled),
        ("last_used", key.last_used.is_some()),
        ("predecessor", key.predecessor.is_some()),
        ("successor", key.successor.is_some()),
        ("rate_limit", key.rate_limit.is_some()),
        ("credits", key.credits.is_some()),
    ];
    match needs.iter().find(|(_, needed)| *needed) {
        Some((field, _)) => Err(unsupported(field)),
        None => Ok(()),
    }
}

#[async_trait]
impl KeyStore for Limited {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scopes: false,
            metadata: false,
            owner: false,
            disabled: false,
            rotation: false,
            last_used: false,
            audit: false,
            limits: false,
        }
    }
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        check(key)?;
        self.0.insert(key, event).await
    }
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        self.0.get(prefix).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        if query.filter().owner().is_some() {
            return Err(unsupported("owner"));
        }
        self.0.list(query).await
    }
    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        // Check the change's result before writing: one lock would make this atomic in a
        // real store; the suite's races do not involve refused fields.
        if let Some(current) = self.0.get(prefix).await? {
            let mut after = (*current).clone();
            if change.apply(&mut after).is_ok() {
                check(&after)?;
            }
        }
        self.0.modify(prefix, change, event).await
    }
    async fn roll(&self, _: &Roll, _: &AuditEvent) -> Result<Rolled, StoreError> {
        Err(unsupported("rotation links"))
    }
    async fn touch(&self, _: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        Ok(())
    }
    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        self.0.delete(prefix, event).await
    }
    async fn history(&self, _: &str) -> Result<Vec<AuditEvent>, StoreError> {
        Err(unsupported("an audit trail"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_few_capabilities_passes_by_its_flags() {
    store::run_all(|| async { Limited::default() }).await;
}

/// MemoryStore where some records "cannot be decoded": reads fail for them, listings skip
/// and report them, revocation and deletion still work.
#[derive(Debug, Default)]
struct Damaged {
    inner: MemoryStore,
    bad: Mutex<HashSet<String>>,
}

impl Damaged {
    fn is_bad(&self, prefix: &str) -> bool {
        self.bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(prefix)
    }
    fn corrupt(prefix: &str) -> StoreError {
        StoreError::Corrupt {
            prefix: prefix.to_owned(),
            reason: "damaged for the test".into(),
        }
    }
}

#[async_trait]
impl KeyStore for Damaged {
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        self.inner.insert(key, event).await
    }
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        if self.is_bad(prefix) {
            return Err(Self::corrupt(prefix));
        }
        self.inner.get(prefix).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let page = self.inner.list(query).await?;
        let (bad, good): (Vec<ApiKey>, Vec<ApiKey>) =
            page.keys.into_iter().partition(|k| self.is_bad(&k.prefix));
        let limit = query.effective_limit();
        Ok(Page::from_overfetch(good, limit)
            .with_undecodable(bad.into_iter().map(|k| k.prefix).collect()))
    }
    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        if !self.is_bad(prefix) {
            return self.inner.modify(prefix, change, event).await;
        }
        if *change != Change::Revoke {
            return Err(Self::corrupt(prefix));
        }
        self.inner.modify(prefix, change, event).await?;
        Ok(Modified::RevokedUndecodable)
    }
    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        self.inner.roll(roll, event).await
    }
    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        self.inner.touch(uses).await
    }
    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        self.bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(prefix);
        self.inner.delete(prefix, event).await
    }
    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.history(prefix).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_are_skipped_revoked_and_deleted() {
    let damaged = Arc::new(Damaged::default());
    let handle = Arc::clone(&damaged);
    store::undecodable_records(damaged, |prefix| async move {
        handle
            .bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(prefix);
    })
    .await;
}
