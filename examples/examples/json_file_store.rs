//! A `KeyStore` written by an application: every record in one JSON file, served from
//! memory. `cargo run -p apikeys-examples --example json_file_store`.
//!
//! It passes the same conformance suite as the stores apikeys ships (see the tests below):
//! that suite is how you know a store of your own keeps the contract — duplicate prefixes
//! refused, revocation irreversible, every write changing only its own fields atomically,
//! rolls with one winner, an audit trail, listings newest first in pages, concurrent writers.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use apikeys::time::OffsetDateTime;
use apikeys::{
    ApiKey, ApiKeys, AuditEvent, Change, KeyFields, KeyStore, ListQuery, Modified, NewKey, Page,
    Roll, Rolled, StoreError, async_trait,
};
use serde::{Deserialize, Serialize};

type Records = HashMap<String, Arc<ApiKey>>;

/// The keys and the append-only audit trail.
#[derive(Debug, Clone, Default)]
struct Contents {
    keys: Records,
    events: Vec<AuditEvent>,
}

/// The file's layout, written…
#[derive(Serialize)]
struct FileOut<'a> {
    keys: Vec<&'a ApiKey>,
    events: &'a [AuditEvent],
}

/// …and read.
#[derive(Deserialize)]
struct FileIn {
    keys: Vec<ApiKey>,
    #[serde(default)]
    events: Vec<AuditEvent>,
}

/// Keys in a JSON file. Reads come from memory; each write rewrites the file (a new file
/// renamed over the old one, so a crash leaves the old or the new version, never half of
/// one) and changes memory only once the file is saved. Fine for a few thousand keys.
#[derive(Debug)]
struct JsonFileStore {
    path: PathBuf,
    contents: RwLock<Contents>,
    /// One writer at a time, so that files are saved in the order the writes happened.
    writer: tokio::sync::Mutex<()>,
}

impl JsonFileStore {
    /// Opens `path`, or starts empty if there is no file yet.
    fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let contents = match std::fs::read(&path) {
            Ok(bytes) => {
                let file = serde_json::from_slice::<FileIn>(&bytes)
                    .map_err(|e| StoreError::backend(format!("{}: {e}", path.display())))?;
                Contents {
                    keys: file
                        .keys
                        .into_iter()
                        .map(|key| (key.prefix.clone(), Arc::new(key)))
                        .collect(),
                    events: file.events,
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => return Err(StoreError::backend(e)),
        };
        Ok(Self {
            path,
            contents: RwLock::new(contents),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Applies `change` to a copy of the contents, saves the copy, then makes it current.
    /// `change` returns `None` when it changed nothing: then nothing is saved. The writer
    /// lock makes read-change-save one atomic step, so every write applies to the records
    /// as they are, never to a stale copy.
    async fn write<T>(
        &self,
        change: impl FnOnce(&mut Contents) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let _writer = self.writer.lock().await;
        let mut next = self
            .contents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (result, changed) = change(&mut next)?;
        if !changed {
            return Ok(result);
        }
        let file = FileOut {
            keys: next.keys.values().map(AsRef::as_ref).collect(),
            events: &next.events,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(StoreError::backend)?;
        let path = self.path.clone();
        // File I/O (with fsync) off the async worker threads.
        tokio::task::spawn_blocking(move || save(&path, &json))
            .await
            .map_err(StoreError::backend)?
            .map_err(StoreError::backend)?;
        *self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(result)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Contents> {
        self.contents.read().unwrap_or_else(PoisonError::into_inner)
    }
}

fn save(path: &Path, json: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(json)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

fn not_found(prefix: &str) -> StoreError {
    StoreError::NotFound {
        prefix: prefix.to_owned(),
    }
}

#[async_trait]
impl KeyStore for JsonFileStore {
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        self.write(|contents| {
            if contents.keys.contains_key(&key.prefix) {
                return Err(StoreError::AlreadyExists {
                    prefix: key.prefix.clone(),
                });
            }
            contents
                .keys
                .insert(key.prefix.clone(), Arc::new(key.clone()));
            contents.events.push(event.clone());
            Ok(((), true))
        })
        .await
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        Ok(self.read().keys.get(prefix).cloned())
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let mut matching: Vec<ApiKey> = self
            .read()
            .keys
            .values()
            .filter(|key| query.matches(&KeyFields::from(&***key)))
            .map(|key| (**key).clone())
            .collect();
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
        self.write(|contents| {
            let slot = contents
                .keys
                .get_mut(prefix)
                .ok_or_else(|| not_found(prefix))?;
            // The core decides what the change does to the record as stored right now.
            let mut key = (**slot).clone();
            let changed = change
                .apply(&mut key)
                .map_err(|reason| StoreError::Refused {
                    prefix: prefix.to_owned(),
                    reason,
                })?;
            if !changed {
                return Ok((Modified::Unchanged(key), false));
            }
            *slot = Arc::new(key.clone());
            contents.events.push(event.clone());
            Ok((Modified::Changed(key), true))
        })
        .await
    }

    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        self.write(|contents| {
            let mut old = contents
                .keys
                .get(&roll.prefix)
                .map(|key| (**key).clone())
                .ok_or_else(|| not_found(&roll.prefix))?;
            let successor = roll.apply(&mut old).map_err(|reason| StoreError::Refused {
                prefix: roll.prefix.clone(),
                reason,
            })?;
            if contents.keys.contains_key(&successor.prefix) {
                return Err(StoreError::AlreadyExists {
                    prefix: successor.prefix,
                });
            }
            for key in [&old, &successor] {
                contents
                    .keys
                    .insert(key.prefix.clone(), Arc::new(key.clone()));
            }
            contents.events.push(event.clone());
            Ok((Rolled { old, successor }, true))
        })
        .await
    }

    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        self.write(|contents| {
            let mut changed = false;
            for (prefix, at) in uses {
                if let Some(slot) = contents.keys.get_mut(prefix)
                    && slot.last_used.is_none_or(|last| last < *at)
                {
                    Arc::make_mut(slot).last_used = Some(*at);
                    changed = true;
                }
            }
            Ok(((), changed))
        })
        .await
    }

    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        self.write(|contents| {
            let removed = contents.keys.remove(prefix).is_some();
            if removed {
                contents.events.push(event.clone());
            }
            Ok((removed, removed))
        })
        .await
    }

    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .read()
            .events
            .iter()
            .filter(|event| event.prefixes().any(|p| p == prefix))
            .cloned()
            .collect())
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
