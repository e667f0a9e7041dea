//! Credits spent exactly in memory, written behind to the file.
//!
//! A spend must not cost a durable write (an fsync per request), yet must never grant more
//! than there is. Each key that spends has a slot holding its credits as they are now; a
//! spend locks only its key's slot. A background thread writes the remaining count and
//! period start of changed slots every flush interval (and the last store to go writes
//! them on drop), so a crash loses at most one interval's spending: remaining reads back
//! higher, never lower, than it truly was.
//!
//! Writes that change a record (edit, roll, revoke, delete) hold the key's slot from before
//! their transaction to after their cache update, apply their change to the slot's credits
//! (so an edit that leaves credits alone keeps the spending, and one that sets them wins
//! over it), and leave the slot equal to what they wrote. The flush holds the write lock, so
//! it never writes over a newer change.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use apikeys::{ApiKey, Credits, StoreError};

use crate::codec::decode_record;
use crate::shared::Shared;
use crate::writes::transact;

/// One key's credits as spending sees them.
#[derive(Debug, Default)]
pub(crate) enum Slot {
    /// Not read yet: the file's record (and the cache) are current.
    #[default]
    Unknown,
    /// The key's credits now; the file may lag in `remaining` and `period_start` by
    /// `unflushed` changes.
    Known {
        credits: Option<Credits>,
        unflushed: u64,
    },
}

impl Slot {
    /// The credits to apply a change to: `None` when the stored record is current.
    pub(crate) fn live(&self) -> Option<&Option<Credits>> {
        match self {
            Self::Unknown => None,
            Self::Known { credits, .. } => Some(credits),
        }
    }

    /// After a write of the record holding `credits`: the slot is the file again.
    pub(crate) fn written(&mut self, credits: Option<Credits>) {
        *self = Self::Known {
            credits,
            unflushed: 0,
        };
    }
}

type SlotRef = Arc<Mutex<Slot>>;

#[derive(Default)]
pub(crate) struct Spending {
    slots: Mutex<HashMap<String, SlotRef>>,
}

impl fmt::Debug for Spending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spending")
            .field("slots", &lock(&self.slots).len())
            .finish()
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a flush writes of one slot: its credits, and how many changes that covers.
struct Pending {
    prefix: String,
    slot: SlotRef,
    credits: Credits,
    changes: u64,
}

impl Spending {
    /// `prefix`'s slot, made if there is none (cloned under the map's lock, so a flush that
    /// drops idle slots never drops one in use).
    pub(crate) fn slot(&self, prefix: &str) -> SlotRef {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(prefix) {
            return Arc::clone(slot);
        }
        let slot = SlotRef::default();
        slots.insert(prefix.to_owned(), Arc::clone(&slot));
        slot
    }

    /// `record` with the credits as spent in memory. A record without credits has none to
    /// spend, and costs no lock.
    pub(crate) fn overlay(&self, record: Arc<ApiKey>) -> Arc<ApiKey> {
        if record.credits.is_none() {
            return record;
        }
        let Some(slot) = lock(&self.slots).get(&record.prefix).map(Arc::clone) else {
            return record;
        };
        let slot = lock(&slot);
        match &*slot {
            Slot::Known {
                credits: Some(live),
                unflushed,
            } if *unflushed > 0 && record.credits.as_ref() != Some(live) => {
                let mut record = (*record).clone();
                record.credits = Some(live.clone());
                Arc::new(record)
            }
            _ => record,
        }
    }

    /// The slots with unflushed spending; drops idle slots from the map on the way.
    fn pending(&self) -> Vec<Pending> {
        let mut slots = lock(&self.slots);
        let mut pending = Vec::new();
        slots.retain(|prefix, slot| {
            let guard = lock(slot);
            match &*guard {
                Slot::Known {
                    credits: Some(credits),
                    unflushed,
                } if *unflushed > 0 => {
                    pending.push(Pending {
                        prefix: prefix.clone(),
                        slot: Arc::clone(slot),
                        credits: credits.clone(),
                        changes: *unflushed,
                    });
                    true
                }
                // Nobody else holds it, and the file is current: forget it.
                _ => Arc::strong_count(slot) > 1,
            }
        });
        pending
    }
}

/// Spends `cost` of `prefix`'s credits at `now`, exactly, without a write. `load` reads the
/// stored record the first time the key spends.
pub(crate) fn spend(
    spending: &Spending,
    prefix: &str,
    cost: u64,
    now: time::OffsetDateTime,
    load: impl FnOnce() -> Result<Option<Arc<ApiKey>>, StoreError>,
) -> Result<Option<apikeys::Spend>, StoreError> {
    let slot = spending.slot(prefix);
    let mut slot = lock(&slot);
    if let Slot::Unknown = &*slot {
        let record = load()?.ok_or_else(|| StoreError::NotFound {
            prefix: prefix.to_owned(),
        })?;
        slot.written(record.credits.clone());
    }
    let Slot::Known {
        credits: Some(credits),
        unflushed,
    } = &mut *slot
    else {
        return Ok(None);
    };
    let before = (credits.remaining, credits.period_start);
    let spent = credits.spend(cost, now);
    if (credits.remaining, credits.period_start) != before {
        *unflushed += 1;
    }
    Ok(Some(spent))
}

/// Writes the remaining count and period start of every key spent since the last flush,
/// in one transaction; how many records it wrote. Holds the write lock, so no edit, roll
/// or revocation is between its read of a record and its write.
pub(crate) fn flush(shared: &Shared) -> Result<usize, StoreError> {
    let _serial = lock(&shared.write_lock);
    let pending = shared.spending.pending();
    if pending.is_empty() {
        return Ok(0);
    }
    let written = transact(shared, |t| {
        let mut written = Vec::new();
        for p in &pending {
            // A record deleted, made unreadable or stripped of its credits since keeps
            // what it has.
            let Some(bytes) = t.record_bytes(&p.prefix)? else {
                continue;
            };
            let Ok(mut key) = decode_record(&p.prefix, &bytes) else {
                continue;
            };
            let Some(stored) = &mut key.credits else {
                continue;
            };
            if (stored.remaining, stored.period_start)
                == (p.credits.remaining, p.credits.period_start)
            {
                continue;
            }
            stored.remaining = p.credits.remaining;
            stored.period_start = p.credits.period_start;
            t.put_record(&key)?;
            written.push(key);
        }
        let wrote = !written.is_empty();
        Ok((written, wrote))
    })?;
    let count = written.len();
    // The cache holds what the file holds.
    for key in written {
        shared.cache.put(Arc::new(key));
    }
    for p in pending {
        if let Slot::Known { unflushed, .. } = &mut *lock(&p.slot) {
            *unflushed = unflushed.saturating_sub(p.changes);
        }
    }
    Ok(count)
}
