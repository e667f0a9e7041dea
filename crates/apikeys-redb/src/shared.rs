//! State shared by every `RedbStore` on one `redb::Database` in this process.
//!
//! Two stores built from the same `Arc<Database>` must see each other's writes at once, so
//! the cache belongs to the database, not to a handle: a process-wide registry maps each
//! database to its state. Entries are weak, so dropping the last store drops its cache.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use redb::Database;

use crate::cache::Cache;
use crate::spending::{Spending, flush};

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: Arc<Database>,
    pub(crate) cache: Cache,
    /// Held from a write's transaction to its cache update, so the cache sees writes in
    /// commit order (redb admits one writer at a time anyway).
    pub(crate) write_lock: Mutex<()>,
    pub(crate) spending: Spending,
    /// Dropped with the state, which stops the flush thread at once.
    _stop_flushing: mpsc::Sender<()>,
}

impl Drop for Shared {
    /// The last store on the database writes what was spent since the last flush. An error
    /// cannot be reported here; what it loses is what a crash would.
    fn drop(&mut self) {
        let _ = flush(self);
    }
}

/// Keyed by the database's address, which cannot be reused while its `Shared` (holding an
/// `Arc` to it) is alive — and a dead entry no longer upgrades.
static REGISTRY: Mutex<Vec<(usize, Weak<Shared>)>> = Mutex::new(Vec::new());

/// The state for `db`: the existing one if another store uses this database, else new.
/// The second value says whether it was created now.
pub(crate) fn shared_for(
    db: Arc<Database>,
    cache_capacity: usize,
    flush_interval: Duration,
) -> (Arc<Shared>, bool) {
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
    let (stop, stopped) = mpsc::channel();
    let shared = Arc::new(Shared {
        db,
        cache: Cache::new(cache_capacity),
        write_lock: Mutex::new(()),
        spending: Spending::default(),
        _stop_flushing: stop,
    });
    registry.push((address, Arc::downgrade(&shared)));
    let weak = Arc::downgrade(&shared);
    // Holds the state only while it flushes, so dropping the last store drops it.
    let spawned = std::thread::Builder::new()
        .name("apikeys-redb-flush".to_owned())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(flush_interval) {
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                // A failed flush keeps its slots pending: the next one retries them.
                let _ = flush(&shared);
            }
        });
    // Without the thread (the system refused one), spending is still written on drop.
    drop(spawned);
    (shared, true)
}
