//! Writing last-used times behind the requests that produce them.

use std::sync::{Arc, Weak};

use super::{ApiKeys, Inner};
use crate::error::Error;

impl ApiKeys {
    /// Writes every pending last-used time now, in one batch. Call it before a clean
    /// shutdown to lose nothing: the interval task and the drop of the last manager clone
    /// flush too, but the drop only starts a write (best effort: a runtime that is shutting
    /// down may not finish it). On failure the batch stays pending for the next flush.
    pub async fn flush(&self) -> Result<(), Error> {
        self.inner.flush_uses().await
    }

    /// Remembers a grant; the first one starts the interval task.
    pub(super) fn note_use(&self, prefix: &str) {
        let Some(uses) = &self.inner.uses else {
            return;
        };
        if uses.note(prefix, std::time::SystemTime::now()) {
            spawn_interval_task(&self.inner);
        }
    }
}

impl Inner {
    async fn flush_uses(&self) -> Result<(), Error> {
        let Some(uses) = &self.uses else {
            return Ok(());
        };
        let batch = uses.take();
        if batch.is_empty() {
            return Ok(());
        }
        match self.store().touch(&batch).await {
            Ok(()) => {
                tracing::debug!(keys = batch.len(), "API key last-used times written");
                Ok(())
            }
            Err(error) => {
                uses.restore(batch);
                Err(error.into())
            }
        }
    }
}

/// Flushes every interval while a manager clone lives. Holds the manager weakly, so that
/// dropping the last clone ends it.
fn spawn_interval_task(inner: &Arc<Inner>) {
    let Some(uses) = &inner.uses else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // A grant outside a runtime (a sync warm-up, another executor) must not keep the
        // task from starting on a later grant inside one.
        uses.start_later();
        tracing::debug!("no Tokio runtime: last-used times wait for a grant inside one");
        return;
    };
    let interval = uses.interval;
    let weak: Weak<Inner> = Arc::downgrade(inner);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // The first tick is immediate.
        loop {
            ticks.tick().await;
            let Some(inner) = weak.upgrade() else { break };
            if let Err(error) = inner.flush_uses().await {
                tracing::warn!(%error, "writing API key last-used times failed; retrying later");
            }
        }
    });
}

impl Drop for Inner {
    /// The last manager clone is gone: start writing what is pending (best effort).
    fn drop(&mut self) {
        let Some(uses) = &self.uses else { return };
        let batch = uses.take();
        if batch.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                keys = batch.len(),
                "API key manager dropped outside a runtime; last-used times not written"
            );
            return;
        };
        let store = Arc::clone(&self.store);
        runtime.spawn(async move {
            if let Err(error) = store.touch(&batch).await {
                tracing::warn!(%error, "writing API key last-used times on drop failed");
            }
        });
    }
}
