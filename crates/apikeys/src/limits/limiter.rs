//! The `RateLimiter` trait, what a check decides, and the in-process limiter.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::gcra;
use super::rate::RateLimit;

/// Where a limit stands after a check: what the `RateLimit` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    limit: RateLimit,
    remaining: u32,
    reset: Duration,
    retry_after: Duration,
}

impl RateState {
    /// A state as a limiter computed it (a limiter in another crate builds its answer here).
    pub fn new(limit: RateLimit, remaining: u32, reset: Duration, retry_after: Duration) -> Self {
        Self {
            limit,
            remaining,
            reset,
            retry_after,
        }
    }

    /// The limit that was checked.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }

    /// Requests that may still come at once.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Until the full burst is available again.
    pub fn reset(&self) -> Duration {
        self.reset
    }

    /// Until a refused request would be allowed; zero for an allowed one.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

/// What a [`RateLimiter`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateDecision {
    /// Within the limit; the request was counted.
    Allowed(RateState),
    /// Over the limit; nothing was counted.
    Limited(RateState),
    /// The limiter could not decide and is configured to fail open: allowed, uncounted,
    /// and without a state to report.
    Unchecked,
}

impl RateDecision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Self::Limited(_))
    }

    /// The state to report, when known.
    pub fn state(&self) -> Option<&RateState> {
        match self {
            Self::Allowed(s) | Self::Limited(s) => Some(s),
            Self::Unchecked => None,
        }
    }
}

/// A limiter could not decide and is configured to fail closed (HTTP 503).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimiterError {
    /// The limiter's backend did not answer in time.
    #[error("the rate limiter did not answer within {0:?}")]
    Timeout(Duration),
    /// The limiter's backend failed.
    #[error("the rate limiter failed")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

/// Counts requests against rate limits, keyed by a string (the key's prefix).
///
/// Each distinct limit has its own count for a key, so a route's own limit and the key's
/// limit are counted separately. Dyn-compatible: the manager holds an `Arc<dyn RateLimiter>`.
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Counts one request for `key` against `limit`, unless that would exceed it.
    async fn check(&self, key: &str, limit: &RateLimit) -> Result<RateDecision, LimiterError>;
}

/// How many shards the in-process limiter spreads keys over, so that two requests rarely
/// wait for the same lock.
const SHARDS: usize = 16;
/// A shard is swept of idle keys when it has grown to this many, or twice what the last
/// sweep left: amortised O(1) per check, and memory at most twice the busy keys.
const MIN_SWEEP: usize = 256;

/// The in-process limiter: GCRA state in memory, one number per busy key and limit.
///
/// Memory stays bounded: a key whose full burst is back has no state worth keeping (it
/// equals no state), so idle keys are dropped by sweeps whose cost is amortised over the
/// checks. Only verified keys reach a limiter, so the busy ones are at most the store's keys.
///
/// Each process counts alone: N servers each grant the full rate. For one limit across a
/// fleet, use a shared limiter (`apikeys-redis`).
pub struct LocalLimiter {
    origin: Instant,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    /// Per key: (limit, TAT in nanoseconds since `origin`); almost always one entry.
    states: HashMap<Box<str>, Vec<(RateLimit, u64)>>,
    sweep_at: usize,
}

impl fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("tracked_keys", &self.tracked_keys())
            .finish_non_exhaustive()
    }
}

impl Default for LocalLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        states: HashMap::new(),
                        sweep_at: MIN_SWEEP,
                    })
                })
                .collect(),
        }
    }

    /// The check without the async wrapper: what [`RateLimiter::check`] does.
    pub fn check_now(&self, key: &str, limit: &RateLimit) -> RateDecision {
        let now = self.now_ns();
        let shard = &self.shards[self.shard_of(key)];
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(states) = shard.states.get_mut(key) {
            let index = states
                .iter()
                .position(|(l, _)| l == limit)
                .unwrap_or_else(|| {
                    states.push((*limit, 0));
                    states.len() - 1
                });
            let slot = &mut states[index].1;
            let step = gcra::step(*slot, now, limit);
            *slot = step.tat;
            return decision(limit, &step);
        }
        let step = gcra::step(0, now, limit);
        if step.allowed {
            if shard.states.len() >= shard.sweep_at {
                shard.sweep(now);
            }
            shard.states.insert(key.into(), vec![(*limit, step.tat)]);
        }
        decision(limit, &step)
    }

    /// How many keys have state now (busy, or idle and not yet swept).
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .states
                    .len()
            })
            .sum()
    }

    fn now_ns(&self) -> u64 {
        // 584 years of uptime before this saturates.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn shard_of(&self, key: &str) -> usize {
        // The hash's top bits: the map inside the shard uses its own hasher's low ones.
        usize::try_from(self.hasher.hash_one(key) >> 60).unwrap_or(0) % SHARDS
    }
}

impl Shard {
    fn sweep(&mut self, now: u64) {
        self.states.retain(|_, states| {
            states.retain(|(_, tat)| *tat > now);
            !states.is_empty()
        });
        // A burst of keys must not keep its table's memory after it has gone.
        if self.states.capacity() > 4 * self.states.len().max(MIN_SWEEP) {
            self.states.shrink_to_fit();
        }
        self.sweep_at = (self.states.len() * 2).max(MIN_SWEEP);
    }
}

fn decision(limit: &RateLimit, step: &gcra::Step) -> RateDecision {
    let state = RateState::new(
        *limit,
        step.remaining,
        Duration::from_nanos(step.reset_ns),
        Duration::from_nanos(step.retry_after_ns),
    );
    if step.allowed {
        RateDecision::Allowed(state)
    } else {
        RateDecision::Limited(state)
    }
}

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(&self, key: &str, limit: &RateLimit) -> Result<RateDecision, LimiterError> {
        Ok(self.check_now(key, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(s: &str) -> RateLimit {
        s.parse().unwrap()
    }

    #[test]
    fn counts_per_key_and_per_limit() {
        let limiter = LocalLimiter::new();
        let l = limit("3/h");
        for left in [2, 1, 0] {
            let d = limiter.check_now("aaaa", &l);
            assert!(d.is_allowed());
            assert_eq!(d.state().unwrap().remaining(), left);
        }
        let refused = limiter.check_now("aaaa", &l);
        assert!(!refused.is_allowed());
        let state = refused.state().unwrap();
        // One of three per hour comes back after 20 minutes (less the test's own time).
        assert!(state.retry_after() > Duration::from_secs(1199));
        assert!(state.retry_after() <= Duration::from_secs(1200));
        assert!(
            limiter.check_now("bbbb", &l).is_allowed(),
            "another key has its own count"
        );
        assert!(
            limiter.check_now("aaaa", &limit("1/h")).is_allowed(),
            "another limit has its own count"
        );
        assert!(!limiter.check_now("aaaa", &limit("1/h")).is_allowed());
    }

    #[test]
    fn idle_keys_are_dropped() {
        let limiter = LocalLimiter::new();
        // A limit whose burst comes back within a millisecond: every key is idle right away.
        let quick = limit("1000000/s");
        for i in 0..20_000 {
            assert!(limiter.check_now(&format!("idle{i}"), &quick).is_allowed());
        }
        // Sweeps keep each shard below twice what was busy at the last one.
        assert!(
            limiter.tracked_keys() < SHARDS * MIN_SWEEP * 2,
            "{limiter:?}"
        );
        // A busy key's state survives the sweeps its neighbours cause.
        let slow = limit("1/h");
        assert!(limiter.check_now("busy", &slow).is_allowed());
        for i in 0..20_000 {
            limiter.check_now(&format!("more{i}"), &quick);
        }
        assert!(!limiter.check_now("busy", &slow).is_allowed());
    }

    #[tokio::test]
    async fn is_a_dyn_rate_limiter() {
        let limiter: std::sync::Arc<dyn RateLimiter> = std::sync::Arc::new(LocalLimiter::new());
        let l = limit("1/h");
        assert!(limiter.check("k", &l).await.unwrap().is_allowed());
        assert!(matches!(
            limiter.check("k", &l).await.unwrap(),
            RateDecision::Limited(_)
        ));
    }
}
