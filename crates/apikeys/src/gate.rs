//! A cap on concurrent expensive hash checks. A wrong secret against a known prefix costs
//! the attacker one request and the server one full password hash (milliseconds of CPU,
//! megabytes of memory); unbounded, 256 concurrent requests against one Argon2id record
//! held gigabytes and hundreds of blocking threads. Beyond the cap a check waits a short,
//! bounded time for a slot, then is refused with [`VerifyError::Overloaded`] (HTTP 503).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::verify::VerifyError;

/// Memory all concurrent expensive checks together may use at the hashers' ceilings.
const MEMORY_BUDGET: u64 = 512 * 1024 * 1024;
/// How long a check waits for a slot by default.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// The cap and the semaphore that enforces it.
#[derive(Debug, Clone)]
pub(crate) struct HashGate {
    permits: Arc<Semaphore>,
    capacity: usize,
    wait: Duration,
}

impl HashGate {
    pub(crate) fn new(capacity: usize, wait: Duration) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
            wait,
        }
    }

    /// One check per core (more only adds latency: each occupies a core), and no more
    /// than fit in [`MEMORY_BUDGET`] when every one of them uses `memory_per_check` bytes,
    /// the most a stored hash may ask for.
    pub(crate) fn default_capacity(memory_per_check: u64) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let by_memory = MEMORY_BUDGET
            .checked_div(memory_per_check)
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        cores.min(by_memory).max(1)
    }

    /// How many checks may run at once.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// A slot for one check, to be held until the hashing job ends (also when the request
    /// that started it is dropped: the job runs on regardless). Without a Tokio runtime
    /// there is no timer to bound a wait, so only a free slot is taken.
    pub(crate) async fn enter(&self) -> Result<OwnedSemaphorePermit, VerifyError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(VerifyError::Overloaded);
        }
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out; the semaphore is never closed.
            _ => Err(VerifyError::Overloaded),
        }
    }
}
