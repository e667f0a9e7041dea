//! `RedbStore` and its `KeyStore` implementation.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use apikeys::{ApiKey, KeyStore, ListQuery, Page, StoreError, async_trait};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};

use crate::cache::Lookup;
use crate::codec::{decode_record, encode_index, encode_record, normalized, to_micros};
use crate::error::{OpenError, backend, corrupt};
use crate::open::RedbStoreBuilder;
use crate::shared::Shared;
use crate::tables::{BY_CREATED, RECORDS};

/// API keys in one redb file: ACID, crash-safe, no server. See the [crate docs](crate).
///
/// Cheap to clone; clones share the database and the cache.
#[derive(Clone)]
pub struct RedbStore {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("cached", &self.shared.cache.len())
            .field("cache_capacity", &self.shared.cache.capacity())
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Opens the store at `path`, creating the file if there is none.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::builder().open(path)
    }

    /// Opens the store at `path`; a missing file is [`OpenError::Missing`] and nothing is
    /// created.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::builder().open_existing(path)
    }

    /// A store on a database the application already uses (the keys get their own
    /// tables). Stores made from the same `Arc<Database>` see each other's writes at once.
    pub fn from_database(db: Arc<Database>) -> Result<Self, StoreError> {
        Self::builder().from_database(db)
    }

    /// Rewrites the file at `path` without its free space (see
    /// [`RedbStoreBuilder::compact`]).
    pub fn compact(path: impl AsRef<Path>) -> Result<(), OpenError> {
        Self::builder().compact(path)
    }

    /// Options: cache size, integrity check.
    pub fn builder() -> RedbStoreBuilder {
        RedbStoreBuilder::default()
    }

    /// The database, for the application's own tables. Do not write the `apikeys_*` tables
    /// directly: the store's cache only knows of writes made through a `RedbStore`.
    pub fn database(&self) -> &Arc<Database> {
        &self.shared.db
    }

    /// Number of keys stored.
    pub fn len(&self) -> Result<u64, StoreError> {
        let txn = self.shared.db.begin_read().map_err(backend)?;
        let records = txn.open_table(RECORDS).map_err(backend)?;
        records.len().map_err(backend)
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Records currently held by the cache.
    pub fn cached(&self) -> usize {
        self.shared.cache.len()
    }

    /// Adds many records in one transaction (an import): all or none. Fails with
    /// [`StoreError::AlreadyExists`] if a prefix is taken, or repeated in `keys`.
    pub async fn insert_all(&self, keys: Vec<ApiKey>) -> Result<(), StoreError> {
        self.write(move |shared| {
            let txn = shared.db.begin_write().map_err(backend)?;
            for key in &keys {
                insert_in(&txn, key)?;
            }
            txn.commit().map_err(backend)
            // Nothing to cache: absent prefixes are never cached, so none of these is.
        })
        .await
    }

    /// Runs a write off the async threads. The closure also updates the cache, so a
    /// cancelled caller cannot leave a committed write out of it; the write lock keeps
    /// commits and cache updates in the same order.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let _serial = shared
                .write_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(&shared)
        })
        .await
        .map_err(|e| StoreError::backend(format!("key store write task failed: {e}")))?
    }
}

fn insert_in(txn: &WriteTransaction, key: &ApiKey) -> Result<(), StoreError> {
    let mut records = txn.open_table(RECORDS).map_err(backend)?;
    if records.get(key.prefix.as_str()).map_err(backend)?.is_some() {
        return Err(StoreError::AlreadyExists {
            prefix: key.prefix.clone(),
        });
    }
    records
        .insert(key.prefix.as_str(), encode_record(key).as_slice())
        .map_err(backend)?;
    let mut index = txn.open_table(BY_CREATED).map_err(backend)?;
    index
        .insert(
            (to_micros(key.created), key.prefix.as_str()),
            encode_index(key).as_slice(),
        )
        .map_err(backend)?;
    Ok(())
}

/// Removes `prefix`'s index entry. `old` is its record's bytes; if they do not decode, the
/// entry is found by a scan (slow, but it lets a corrupt record be deleted).
fn unindex(txn: &WriteTransaction, prefix: &str, old: &[u8]) -> Result<(), StoreError> {
    let mut index = txn.open_table(BY_CREATED).map_err(backend)?;
    match decode_record(prefix, old) {
        Ok(old) => {
            index
                .remove((to_micros(old.created), prefix))
                .map_err(backend)?;
        }
        Err(_) => index
            .retain(|(_, indexed), _| indexed != prefix)
            .map_err(backend)?,
    }
    Ok(())
}

#[async_trait]
impl KeyStore for RedbStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = normalized(key);
        self.write(move |shared| {
            let outcome = (|| {
                let txn = shared.db.begin_write().map_err(backend)?;
                insert_in(&txn, &key)?;
                txn.commit().map_err(backend)
            })();
            match outcome {
                Ok(()) => shared.cache.put(Arc::new(key)),
                Err(_) => shared.cache.remove(&key.prefix),
            }
            outcome
        })
        .await
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        // Inline, not on a blocking thread: a hit is a hash-map lookup, a miss one read
        // transaction of a few microseconds.
        let generation = match self.shared.cache.get(prefix) {
            Lookup::Hit(record) => return Ok(Some(record)),
            Lookup::Miss(generation) => generation,
        };
        let txn = self.shared.db.begin_read().map_err(backend)?;
        let records = txn.open_table(RECORDS).map_err(backend)?;
        let Some(bytes) = records.get(prefix).map_err(backend)? else {
            return Ok(None);
        };
        let record =
            Arc::new(decode_record(prefix, bytes.value()).map_err(|r| corrupt(prefix, r))?);
        self.shared.cache.fill(&record, generation);
        Ok(Some(record))
    }

    async fn update(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut key = normalized(key);
        self.write(move |shared| {
            let outcome = (|| {
                let txn = shared.db.begin_write().map_err(backend)?;
                {
                    let mut records = txn.open_table(RECORDS).map_err(backend)?;
                    let old = records
                        .get(key.prefix.as_str())
                        .map_err(backend)?
                        .ok_or_else(|| StoreError::NotFound {
                            prefix: key.prefix.clone(),
                        })?
                        .value()
                        .to_vec();
                    // Revocation is sticky; so a record that cannot be read is not
                    // overwritten (it might be revoked) — delete it instead.
                    let old_record =
                        decode_record(&key.prefix, &old).map_err(|r| corrupt(&key.prefix, r))?;
                    key.revoked |= old_record.revoked;
                    unindex(&txn, &key.prefix, &old)?;
                    records
                        .insert(key.prefix.as_str(), encode_record(&key).as_slice())
                        .map_err(backend)?;
                }
                let mut index = txn.open_table(BY_CREATED).map_err(backend)?;
                index
                    .insert(
                        (to_micros(key.created), key.prefix.as_str()),
                        encode_index(&key).as_slice(),
                    )
                    .map_err(backend)?;
                drop(index);
                txn.commit().map_err(backend)
            })();
            match outcome {
                Ok(()) => shared.cache.put(Arc::new(key)),
                Err(_) => shared.cache.remove(&key.prefix),
            }
            outcome
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        // A search may scan the whole index: keep it off the async threads.
        let query = query.clone();
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || crate::list::list(&shared, &query))
            .await
            .map_err(|e| StoreError::backend(format!("key store list task failed: {e}")))?
    }

    async fn delete(&self, prefix: &str) -> Result<bool, StoreError> {
        let prefix = prefix.to_owned();
        self.write(move |shared| {
            let outcome = (|| {
                let txn = shared.db.begin_write().map_err(backend)?;
                let old = {
                    let mut records = txn.open_table(RECORDS).map_err(backend)?;
                    let old = records.remove(prefix.as_str()).map_err(backend)?;
                    old.map(|old| old.value().to_vec())
                };
                let Some(old) = old else {
                    return Ok(false);
                };
                unindex(&txn, &prefix, &old)?;
                txn.commit().map_err(backend)?;
                Ok(true)
            })();
            shared.cache.remove(&prefix);
            outcome
        })
        .await
    }
}
