//! `RedbStore` and its `KeyStore` implementation.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use apikeys::{
    ApiKey, AuditAction, AuditEvent, Capabilities, Change, Credits, KeyStore, ListQuery, Modified,
    Page, Roll, Rolled, Spend, StoreError, async_trait,
};
use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use time::OffsetDateTime;

use crate::cache::Lookup;
use crate::codec::{decode_event, decode_record, normalized, revoke_in_place, stored_time};
use crate::error::{OpenError, backend, corrupt, task_failed};
use crate::open::RedbStoreBuilder;
use crate::shared::{Owner, Shared};
use crate::spending::{flush, lock, spend};
use crate::tables::{EVENTS, EVENTS_BY_KEY, RECORDS};
use crate::writes::transact;

/// API keys in one redb file: ACID, crash-safe, no server. See the [crate docs](crate).
///
/// Cheap to clone; clones share the database and the cache.
#[derive(Clone)]
pub struct RedbStore {
    pub(crate) shared: Arc<Shared>,
    /// Dropped with the last store on the database: closes the file before it returns.
    _owner: Arc<Owner>,
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
    pub(crate) fn new(owner: Arc<Owner>) -> Self {
        Self {
            shared: Arc::clone(&owner.shared),
            _owner: owner,
        }
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

    /// Adds many records in one transaction (an import): all or none, each with its
    /// `created` audit event. Fails with [`StoreError::AlreadyExists`] if a prefix is taken,
    /// or repeated in `keys`.
    pub async fn insert_all(&self, keys: Vec<ApiKey>) -> Result<(), StoreError> {
        self.write(move |shared| {
            transact(shared, |t| {
                for key in &keys {
                    t.insert_new(&normalized(key))?;
                    t.append(&AuditEvent::new(&key.prefix, AuditAction::Created))?;
                }
                Ok(((), true))
            })?;
            // Nothing to cache: absent prefixes are never cached, so none of these is. A
            // slot left by a key of the same prefix deleted before is read afresh.
            for key in &keys {
                *lock(&shared.spending.slot(&key.prefix)) = crate::spending::Slot::Unknown;
            }
            Ok(())
        })
        .await
    }

    /// Writes the credits spent since the last flush now, rather than at the next
    /// [flush interval](RedbStoreBuilder::credit_flush_interval) or when the last store on
    /// the database is dropped; how many records it wrote.
    pub async fn flush_credits(&self) -> Result<usize, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || flush(&shared))
            .await
            .map_err(|e| task_failed("flush", e))?
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
        .map_err(|e| task_failed("write", e))?
    }

    /// Runs a read that may take long (a scan) off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        task: &'static str,
        f: impl FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| task_failed(task, e))?
    }
}

fn not_found(prefix: &str) -> StoreError {
    StoreError::NotFound {
        prefix: prefix.to_owned(),
    }
}

fn refused(prefix: &str) -> impl FnOnce(apikeys::Refusal) -> StoreError + '_ {
    move |reason| StoreError::Refused {
        prefix: prefix.to_owned(),
        reason,
    }
}

/// [`KeyStore::modify`] inside the write lock: the change applies to the record as this
/// transaction reads it.
fn modify_in(
    shared: &Shared,
    prefix: &str,
    change: &Change,
    event: &AuditEvent,
    live: Option<&Option<Credits>>,
) -> Result<Modified, StoreError> {
    transact(shared, |t| {
        let bytes = t.record_bytes(prefix)?.ok_or_else(|| not_found(prefix))?;
        let old = match decode_record(prefix, &bytes) {
            Ok(old) => old,
            Err(_) if *change == Change::Revoke => {
                // Revocation must reach a record it cannot read: set the revoked bit every
                // record version keeps at the same place, and in its index entry.
                let mut bytes = bytes;
                if !revoke_in_place(&mut bytes) {
                    return Ok((Modified::RevokedUndecodable, false));
                }
                t.put_bytes(prefix, &bytes)?;
                t.revoke_undecodable_index(prefix, &bytes)?;
                t.append(event)?;
                return Ok((Modified::RevokedUndecodable, true));
            }
            Err(reason) => return Err(corrupt(prefix, reason)),
        };
        let old = with_live(old, live);
        let mut key = old.clone();
        if !change.apply(&mut key).map_err(refused(prefix))? {
            return Ok((Modified::Unchanged(old), false));
        }
        let key = normalized(&key);
        t.replace(&old, &key)?;
        t.append(event)?;
        Ok((Modified::Changed(key), true))
    })
}

/// The record as stored, with the credits as spent in memory (`live`, when the key has
/// spent): what a change applies to, so it keeps the spending unless it sets the credits.
fn with_live(mut old: ApiKey, live: Option<&Option<Credits>>) -> ApiKey {
    if let Some(live) = live {
        old.credits.clone_from(live);
    }
    old
}

fn roll_in(
    shared: &Shared,
    roll: &Roll,
    event: &AuditEvent,
    live: Option<&Option<Credits>>,
) -> Result<Rolled, StoreError> {
    transact(shared, |t| {
        let prefix = roll.prefix.as_str();
        let bytes = t.record_bytes(prefix)?.ok_or_else(|| not_found(prefix))?;
        let old = decode_record(prefix, &bytes).map_err(|r| corrupt(prefix, r))?;
        let old = with_live(old, live);
        let mut retired = old.clone();
        let successor = roll.apply(&mut retired).map_err(refused(prefix))?;
        let (retired, successor) = (normalized(&retired), normalized(&successor));
        t.replace(&old, &retired)?;
        t.insert_new(&successor)?;
        t.append(event)?;
        Ok((
            Rolled {
                old: retired,
                successor,
            },
            true,
        ))
    })
}

/// [`KeyStore::touch`] inside the write lock; the records it moved forward.
fn touch_in(shared: &Shared, uses: &[(String, OffsetDateTime)]) -> Result<Vec<ApiKey>, StoreError> {
    transact(shared, |t| {
        let mut moved = Vec::new();
        for (prefix, at) in uses {
            let at = stored_time(*at);
            // Unknown prefixes stay unknown; a record that does not decode cannot have a
            // field moved (and its revocation must not be disturbed).
            let Some(bytes) = t.record_bytes(prefix)? else {
                continue;
            };
            let Ok(mut key) = decode_record(prefix, &bytes) else {
                continue;
            };
            if key.last_used.is_some_and(|last| last >= at) {
                continue;
            }
            key.last_used = Some(at);
            t.put_record(&key)?;
            moved.push(key);
        }
        let wrote = !moved.is_empty();
        Ok((moved, wrote))
    })
}

fn delete_in(shared: &Shared, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
    transact(shared, |t| {
        let Some(bytes) = t.remove_record(prefix)? else {
            return Ok((false, false));
        };
        match decode_record(prefix, &bytes) {
            Ok(old) => t.unindex(&old)?,
            Err(_) => t.unindex_undecodable(prefix, &bytes)?,
        }
        t.append(event)?;
        Ok((true, true))
    })
}

/// The record as stored (cached, or read and cached), without the credits spent since the
/// last flush.
fn stored(shared: &Shared, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
    let generation = match shared.cache.get(prefix) {
        Lookup::Hit(record) => {
            shared.metrics.hit();
            return Ok(Some(record));
        }
        Lookup::Miss(generation) => {
            shared.metrics.miss();
            generation
        }
    };
    let txn = shared.db.begin_read().map_err(backend)?;
    let records = txn.open_table(RECORDS).map_err(backend)?;
    let Some(bytes) = records.get(prefix).map_err(backend)? else {
        return Ok(None);
    };
    let record = Arc::new(decode_record(prefix, bytes.value()).map_err(|r| corrupt(prefix, r))?);
    shared.cache.fill(&record, generation);
    Ok(Some(record))
}

fn history_in(shared: &Shared, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
    let txn = shared.db.begin_read().map_err(backend)?;
    let by_key = txn.open_table(EVENTS_BY_KEY).map_err(backend)?;
    let events = txn.open_table(EVENTS).map_err(backend)?;
    let mut history = Vec::new();
    for entry in by_key
        .range((prefix, 0)..=(prefix, u64::MAX))
        .map_err(backend)?
    {
        let (key, _) = entry.map_err(backend)?;
        let (_, sequence) = key.value();
        let bytes = events
            .get(sequence)
            .map_err(backend)?
            .ok_or_else(|| corrupt(prefix, format!("audit event {sequence} is missing")))?;
        history.push(decode_event(bytes.value()).map_err(|r| corrupt(prefix, r))?);
    }
    Ok(history)
}

#[async_trait]
impl KeyStore for RedbStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        let key = normalized(key);
        let event = event.clone();
        self.write(move |shared| {
            let slot = shared.spending.slot(&key.prefix);
            let mut slot = lock(&slot);
            let outcome = transact(shared, |t| {
                t.insert_new(&key)?;
                t.append(&event)?;
                Ok(((), true))
            });
            match outcome {
                Ok(()) => {
                    slot.written(key.credits.clone());
                    shared.cache.put(Arc::new(key));
                }
                Err(_) => shared.cache.remove(&key.prefix),
            }
            outcome
        })
        .await
    }

    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        // Inline, not on a blocking thread: a hit is a hash-map lookup, a miss one read
        // transaction of a few microseconds.
        let stored = stored(&self.shared, prefix)?;
        Ok(stored.map(|record| self.shared.spending.overlay(record)))
    }

    async fn spend(
        &self,
        prefix: &str,
        cost: u64,
        now: OffsetDateTime,
    ) -> Result<Option<Spend>, StoreError> {
        // Inline too: in memory, under the key's own lock; the first spend of a key reads
        // its record (from the cache, usually).
        spend(&self.shared.spending, prefix, cost, now, || {
            stored(&self.shared, prefix)
        })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        // A search may scan the whole index: keep it off the async threads.
        let query = query.clone();
        self.read("list", move |shared| crate::list::list(shared, &query))
            .await
    }

    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        let (prefix, change, event) = (prefix.to_owned(), change.clone(), event.clone());
        self.write(move |shared| {
            let slot = shared.spending.slot(&prefix);
            let mut slot = lock(&slot);
            let outcome = modify_in(shared, &prefix, &change, &event, slot.live());
            match &outcome {
                Ok(Modified::Changed(key)) => {
                    slot.written(key.credits.clone());
                    shared.cache.put(Arc::new(key.clone()));
                }
                // Nothing was written: what the cache holds is still what is stored.
                Ok(Modified::Unchanged(_)) => {}
                _ => shared.cache.remove(&prefix),
            }
            outcome
        })
        .await
    }

    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        let (roll, event) = (roll.clone(), event.clone());
        self.write(move |shared| {
            // Two slots: safe, as only writes (one at a time) hold more than one.
            let (old, new) = (
                shared.spending.slot(&roll.prefix),
                shared.spending.slot(&roll.successor_prefix),
            );
            let (mut old, mut new) = (lock(&old), lock(&new));
            let outcome = roll_in(shared, &roll, &event, old.live());
            if let Ok(rolled) = &outcome {
                old.written(rolled.old.credits.clone());
                new.written(rolled.successor.credits.clone());
                shared.cache.put(Arc::new(rolled.old.clone()));
                shared.cache.put(Arc::new(rolled.successor.clone()));
            } else {
                shared.cache.remove(&roll.prefix);
                shared.cache.remove(&roll.successor_prefix);
            }
            outcome
        })
        .await
    }

    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let uses = uses.to_vec();
        self.write(move |shared| match touch_in(shared, &uses) {
            Ok(moved) => {
                for key in moved {
                    shared.cache.put(Arc::new(key));
                }
                Ok(())
            }
            Err(error) => {
                for (prefix, _) in &uses {
                    shared.cache.remove(prefix);
                }
                Err(error)
            }
        })
        .await
    }

    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let (prefix, event) = (prefix.to_owned(), event.clone());
        self.write(move |shared| {
            let slot = shared.spending.slot(&prefix);
            let mut slot = lock(&slot);
            let outcome = delete_in(shared, &prefix, &event);
            // Its spending goes with it; a key made later with this prefix starts afresh.
            *slot = crate::spending::Slot::Unknown;
            shared.cache.remove(&prefix);
            outcome
        })
        .await
    }

    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let prefix = prefix.to_owned();
        self.read("history", move |shared| history_in(shared, &prefix))
            .await
    }
}
