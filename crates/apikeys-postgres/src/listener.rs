//! The listener: one dedicated connection that LISTENs for changed prefixes and keeps the
//! cache's lease (cache.rs) fresh with self-notifications.
//!
//! Two tasks. The listening task applies notifications in the order PostgreSQL delivers them
//! (commit order). The ping task sends `pg_notify('apikeys_ping_<listener pid>', seq)` through
//! the pool four times per staleness bound; when a ping comes back, everything committed
//! before it was sent has been applied, so the lease runs to its send time plus the bound.
//! A lost connection ends the lease and clears the cache at once; the next connection clears
//! it again once it is listening, and the cache is used only after a ping on it came back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use tokio::task::JoinHandle;

use crate::cache::{Cache, CacheOptions};

/// The channel the triggers notify (migrations/0002_notify_changes.sql, trigger.rs).
pub(crate) const CHANGED: &str = "apikeys_changed";

/// The first wait before reconnecting; it doubles up to `MAX_BACKOFF` while connecting fails.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Pings not yet answered that are remembered; older ones can no longer renew anything.
const MAX_PENDING: usize = 64;

/// The running tasks; dropping it (with the last clone of the store) stops them.
pub(crate) struct Listener {
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Listener {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the two tasks share: the current ping channel and the pings in flight.
#[derive(Default)]
struct Pings {
    state: Mutex<PingState>,
}

#[derive(Default)]
struct PingState {
    /// `None` while no listener is connected.
    channel: Option<String>,
    next: u64,
    pending: VecDeque<(u64, Instant)>,
}

impl Pings {
    fn lock(&self) -> std::sync::MutexGuard<'_, PingState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_channel(&self, channel: Option<String>) {
        let mut state = self.lock();
        state.channel = channel;
        state.pending.clear();
    }

    /// The channel and payload of a new ping, recorded as sent now.
    fn start(&self) -> Option<(String, u64)> {
        let mut state = self.lock();
        let channel = state.channel.clone()?;
        state.next += 1;
        let seq = state.next;
        if state.pending.len() == MAX_PENDING {
            state.pending.pop_front();
        }
        state.pending.push_back((seq, Instant::now()));
        Some((channel, seq))
    }

    /// When the ping `seq` was sent, if it is one of ours; forgets it and older ones.
    fn answered(&self, seq: u64) -> Option<Instant> {
        let mut state = self.lock();
        let mut sent = None;
        while let Some(&(s, at)) = state.pending.front() {
            if s > seq {
                break;
            }
            state.pending.pop_front();
            if s == seq {
                sent = Some(at);
            }
        }
        sent
    }
}

/// A store's cache and the listener that keeps it; shared by the store's clones.
pub(crate) struct Cached {
    pub(crate) cache: Arc<Cache>,
    _listener: Listener,
}

/// The cache `options` ask for, with its listener started; `None` when off (or outside a
/// Tokio runtime, which sqlx needs anyway).
pub(crate) fn start(pool: &PgPool, options: &CacheOptions) -> Option<Arc<Cached>> {
    let cache = Arc::new(Cache::new(options)?);
    let Some(listener) = spawn(pool, &cache) else {
        tracing::warn!("apikeys cache: no Tokio runtime to run the listener in; cache off");
        return None;
    };
    Some(Arc::new(Cached {
        cache,
        _listener: listener,
    }))
}

/// Starts the listener for `cache`, or `None` outside a Tokio runtime.
fn spawn(pool: &PgPool, cache: &Arc<Cache>) -> Option<Listener> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let pings = Arc::new(Pings::default());
    let listen = runtime.spawn(listen(pool.clone(), Arc::clone(cache), Arc::clone(&pings)));
    let ping = runtime.spawn(ping(pool.clone(), Arc::clone(cache), pings));
    Some(Listener {
        tasks: [listen, ping],
    })
}

async fn listen(pool: PgPool, cache: Arc<Cache>, pings: Arc<Pings>) {
    // Without a message for this long (pings arrive four times per bound) the connection is
    // presumed dead even if no error says so, e.g. behind a silent network partition.
    let silence = (cache.max_staleness() * 20).max(Duration::from_secs(2));
    let mut backoff = FIRST_BACKOFF;
    let mut connected_before = false;
    while !pool.is_closed() {
        let (mut listener, pid) = match connect(&pool).await {
            Ok(connected) => connected,
            Err(error) => {
                tracing::warn!(%error, "apikeys cache: cannot start the listener; lookups read the table");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if connected_before {
            cache
                .reconnects
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        connected_before = true;
        // Changes made while no one listened are unknown: forget everything, then wait for
        // a ping on this connection before trusting the cache again.
        cache.clear();
        cache
            .listener_pid
            .store(pid, std::sync::atomic::Ordering::Release);
        pings.set_channel(Some(ping_channel(pid)));
        tracing::debug!(pid, "apikeys cache: listening for changes");

        loop {
            let next = tokio::time::timeout(silence, listener.try_recv()).await;
            match next {
                Ok(Ok(Some(notification))) => {
                    if apply(&notification, &cache, &pings) {
                        backoff = FIRST_BACKOFF;
                    }
                }
                Ok(Ok(None)) => {
                    tracing::warn!(
                        "apikeys cache: listener connection lost; lookups read the table until it is back"
                    );
                    break;
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "apikeys cache: listener failed; lookups read the table until it is back");
                    break;
                }
                Err(_) => {
                    tracing::warn!(
                        "apikeys cache: listener silent; reconnecting, lookups read the table meanwhile"
                    );
                    break;
                }
            }
        }
        cache.revoke_lease();
        cache.clear();
        cache
            .listener_pid
            .store(0, std::sync::atomic::Ordering::Release);
        pings.set_channel(None);
        drop(listener);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A listening connection and its backend's pid.
async fn connect(pool: &PgPool) -> Result<(PgListener, i32), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours: it must clear the cache, and a new backend has a new pid.
    listener.eager_reconnect(false);
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    listener
        .listen_all([CHANGED, ping_channel(pid).as_str()])
        .await?;
    Ok((listener, pid))
}

fn ping_channel(pid: i32) -> String {
    format!("apikeys_ping_{pid}")
}

/// Applies one notification; `true` when it was one of our pings (the listener is healthy).
fn apply(notification: &PgNotification, cache: &Cache, pings: &Pings) -> bool {
    if notification.channel() == CHANGED {
        match notification.payload() {
            // TRUNCATE, or a prefix too long for a payload.
            "" => cache.clear(),
            prefix => cache.invalidate(prefix),
        }
        return false;
    }
    let Some(sent) = notification
        .payload()
        .parse()
        .ok()
        .and_then(|seq| pings.answered(seq))
    else {
        return false;
    };
    cache.renew(sent);
    true
}

async fn ping(pool: PgPool, cache: Arc<Cache>, pings: Arc<Pings>) {
    let interval = cache.max_staleness() / 4;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        ticks.tick().await;
        let Some((channel, seq)) = pings.start() else {
            continue;
        };
        // A ping that fails or is late renews nothing: the lease runs out on its own.
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(seq.to_string())
            .execute(&pool);
        if let Ok(Err(error)) = tokio::time::timeout(cache.max_staleness(), sent).await {
            tracing::debug!(%error, "apikeys cache: ping failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_are_matched_to_their_send_time() {
        let pings = Pings::default();
        assert!(pings.start().is_none(), "no channel, no ping");
        pings.set_channel(Some(ping_channel(42)));
        let (channel, first) = pings.start().expect("ping");
        assert_eq!(channel, "apikeys_ping_42");
        let (_, second) = pings.start().expect("ping");
        assert!(pings.answered(second).is_some());
        // Older than an answered one: forgotten.
        assert!(pings.answered(first).is_none());
        assert!(pings.answered(second + 10).is_none());
        // A new connection forgets the pings of the old one.
        let (_, third) = pings.start().expect("ping");
        pings.set_channel(Some(ping_channel(43)));
        assert!(pings.answered(third).is_none());
    }
}
