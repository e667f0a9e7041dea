//! State shared by every `RedbStore` on one `redb::Database` in this process.
//!
//! Two stores built from the same `Arc<Database>` must see each other's writes at once, so
//! the cache belongs to the database, not to a handle: a process-wide registry maps each
//! database to its state. Entries are weak, so dropping the last store drops its cache.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use redb::Database;

use crate::cache::Cache;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: Arc<Database>,
    pub(crate) cache: Cache,
    /// Held from a write's transaction to its cache update, so the cache sees writes in
    /// commit order (redb admits one writer at a time anyway).
    pub(crate) write_lock: Mutex<()>,
}

/// Keyed by the database's address, which cannot be reused while its `Shared` (holding an
/// `Arc` to it) is alive — and a dead entry no longer upgrades.
static REGISTRY: Mutex<Vec<(usize, Weak<Shared>)>> = Mutex::new(Vec::new());

/// The state for `db`: the existing one if another store uses this database, else new.
/// The second value says whether it was created now.
pub(crate) fn shared_for(db: Arc<Database>, cache_capacity: usize) -> (Arc<Shared>, bool) {
    let address = Arc::as_ptr(&db) as usize;
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry.retain(|(_, weak)| weak.strong_count() > 0);
    if let Some(existing) = registry
        .iter()
        .filter(|(a, _)| *a == address)
        .find_map(|(_, weak)| weak.upgrade())
    {
        return (existing, false);
    }
    let shared = Arc::new(Shared {
        db,
        cache: Cache::new(cache_capacity),
        write_lock: Mutex::new(()),
    });
    registry.push((address, Arc::downgrade(&shared)));
    (shared, true)
}
