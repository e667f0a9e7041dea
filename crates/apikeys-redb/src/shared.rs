//! State shared by every `RedbStore` on one `redb::Database` in this process.
//!
//! Two stores built from the same `Arc<Database>` must see each other's writes at once, so
//! the cache belongs to the database, not to a handle: a process-wide registry maps each
//! database to its state. Entries are weak, so dropping the last store drops its cache.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use apikeys::CacheMetrics;
use redb::Database;

use crate::cache::Cache;
use crate::spending::{Spending, flush};

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) db: Arc<Database>,
    pub(crate) cache: Cache,
    /// The cache's hits and misses (feature `metrics`).
    pub(crate) metrics: CacheMetrics,
    /// Held from a write's transaction to its cache update, so the cache sees writes in
    /// commit order (redb admits one writer at a time anyway).
    pub(crate) write_lock: Mutex<()>,
    pub(crate) spending: Spending,
}

/// What every store on one database holds: the state, and the flush thread it stops.
///
/// When the last store goes, the file must be closed by the time its drop returns (a
/// program may reopen or compact it next): so the drop stops and joins the flush thread,
/// which may hold the state mid-flush, and writes what was spent since the last flush.
#[derive(Debug)]
pub(crate) struct Owner {
    pub(crate) shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    flusher: Option<JoinHandle<()>>,
}

impl Drop for Owner {
    /// An error cannot be reported here; what a failed last flush loses is what a crash
    /// would.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(flusher) = self.flusher.take() {
            // A panicked flush thread has nothing left to give back.
            let _ = flusher.join();
        }
        let _ = flush(&self.shared);
    }
}

/// Keyed by the database's address, which cannot be reused while its `Owner` (holding an
/// `Arc` to it) is alive — and a dead entry no longer upgrades.
static REGISTRY: Mutex<Vec<(usize, Weak<Owner>)>> = Mutex::new(Vec::new());

/// The state for `db`: the existing one if another store uses this database, else new.
/// The second value says whether it was created now.
pub(crate) fn shared_for(
    db: Arc<Database>,
    cache_capacity: usize,
    flush_interval: Duration,
) -> (Arc<Owner>, bool) {
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
        metrics: CacheMetrics::new("redb"),
        write_lock: Mutex::new(()),
        spending: Spending::default(),
    });
    let (stop, stopped) = mpsc::channel::<()>();
    let for_thread = Arc::clone(&shared);
    let flusher = std::thread::Builder::new()
        .name("apikeys-redb-flush".to_owned())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(flush_interval) {
                // A failed flush keeps its slots pending: the next one retries them.
                let _ = flush(&for_thread);
            }
        })
        // Without the thread (the system refused one), spending is still written on drop.
        .ok();
    let owner = Arc::new(Owner {
        shared,
        stop: Some(stop),
        flusher,
    });
    registry.push((address, Arc::downgrade(&owner)));
    (owner, true)
}
