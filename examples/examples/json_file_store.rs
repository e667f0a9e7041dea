//! A `KeyStore` written by an application: every record in one JSON file, served from
//! memory. `cargo run -p apikeys-examples --example json_file_store`.
//!
//! It passes the same conformance suite as the stores apikeys ships (see the tests below):
//! that suite is how you know a store of your own keeps the contract — duplicate prefixes
//! refused, revocation irreversible, listings newest first in pages, concurrent writers.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use apikeys::{ApiKey, ApiKeys, KeyStore, ListQuery, NewKey, Page, StoreError, async_trait};

type Records = HashMap<String, Arc<ApiKey>>;

/// Keys in a JSON file. Reads come from memory; each write rewrites the file (a new file
/// renamed over the old one, so a crash leaves the old or the new version, never half of
/// one) and changes memory only once the file is saved. Fine for a few thousand keys.
#[derive(Debug)]
struct JsonFileStore {
    path: PathBuf,
    records: RwLock<Records>,
    /// One writer at a time, so that files are saved in the order the writes happened.
    writer: tokio::sync::Mutex<()>,
}

impl JsonFileStore {
    /// Opens `path`, or starts empty if there is no file yet.
    fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let records = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Vec<ApiKey>>(&bytes)
                .map_err(|e| StoreError::backend(format!("{}: {e}", path.display())))?
                .into_iter()
                .map(|key| (key.prefix.clone(), Arc::new(key)))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Records::new(),
            Err(e) => return Err(StoreError::backend(e)),
        };
        Ok(Self {
            path,
            records: RwLock::new(records),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Applies `change` to a copy of the records, saves the copy, then makes it current.
    async fn write<T>(
        &self,
        change: impl FnOnce(&mut Records) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _writer = self.writer.lock().await;
        let mut next = self
            .records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let result = change(&mut next)?;
        let all: Vec<&ApiKey> = next.values().map(AsRef::as_ref).collect();
        let json = serde_json::to_vec_pretty(&all).map_err(StoreError::backend)?;
        let path = self.path.clone();
        // File I/O (with fsync) off the async worker threads.
        tokio::task::spawn_blocking(move || save(&path, &json))
            .await
            .map_err(StoreError::backend)?
            .map_err(StoreError::backend)?;
        *self.records.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(result)
    }
}

fn save(path: &Path, json: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(json)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[async_trait]
impl KeyStore for JsonFileStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.write(|records| {
            if records.contains_key(&key.prefix) {
                return Err(StoreError::AlreadyExists {
                    prefix: key.prefix.clone(),
                });
            }
            records.insert(key.prefix.clone(), Arc::new(key.clone()));
            Ok(())
        })
        .await
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        Ok(records.get(prefix).cloned())
    }

    async fn update(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.write(|records| {
            let slot = records
                .get_mut(&key.prefix)
                .ok_or_else(|| StoreError::NotFound {
                    prefix: key.prefix.clone(),
                })?;
            let mut updated = key.clone();
            // Revocation is one-way, whatever the caller sends.
            updated.revoked |= slot.revoked;
            *slot = Arc::new(updated);
            Ok(())
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let folded = query.search_folded();
        let mut matching: Vec<ApiKey> = self
            .records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|key| query.matches(folded.as_deref(), key))
            .map(|key| (**key).clone())
            .collect();
        matching.sort_unstable_by(|a, b| (b.created, &b.prefix).cmp(&(a.created, &a.prefix)));
        let limit = query.effective_limit();
        matching.truncate(limit + 1);
        Ok(Page::from_overfetch(matching, limit))
    }

    async fn delete(&self, prefix: &str) -> Result<bool, StoreError> {
        self.write(|records| Ok(records.remove(prefix).is_some()))
            .await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("apikeys-example-{}.json", std::process::id()));
    let keys = ApiKeys::new(JsonFileStore::open(&path)?);
    let created = keys.create(NewKey::named("json-demo")).await?;
    println!("created {} in {}", created.key.prefix(), path.display());

    // A new store on the same file sees the key.
    let reopened = ApiKeys::new(JsonFileStore::open(&path)?);
    let caller = reopened.verify(created.key.expose_secret()).await?;
    println!("verified after reopening: {}", caller.name());
    std::fs::remove_file(&path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use apikeys::{Denial, VerifyError};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_store_conformance_suite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let count = AtomicUsize::new(0);
        apikeys::testing::store::run_all(|| {
            let n = count.fetch_add(1, Ordering::Relaxed);
            let path = dir.path().join(format!("keys-{n}.json"));
            async move { JsonFileStore::open(path).expect("open") }
        })
        .await;
    }

    #[tokio::test]
    async fn keys_and_revocations_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        let keys = ApiKeys::new(JsonFileStore::open(&path).expect("open"));
        let kept = keys.create(NewKey::named("kept")).await.expect("create");
        let revoked = keys.create(NewKey::named("revoked")).await.expect("create");
        keys.revoke(revoked.key.prefix()).await.expect("revoke");
        drop(keys);

        let reopened = ApiKeys::new(JsonFileStore::open(&path).expect("reopen"));
        let caller = reopened
            .verify(kept.key.expose_secret())
            .await
            .expect("kept key verifies");
        assert_eq!(caller.name(), "kept");
        assert!(matches!(
            reopened.verify(revoked.key.expose_secret()).await,
            Err(VerifyError::Denied(Denial::Revoked))
        ));
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        std::fs::write(&path, b"{ not json").expect("write");
        assert!(JsonFileStore::open(&path).is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"{ not json");
    }
}
