//! `RedisLimits`: the rate limiter and credit ledger over one Redis connection.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apikeys::{
    CreditLedger, Credits, LimiterError, RateDecision, RateLimit, RateLimiter, RateState, Spend,
    async_trait,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use time::OffsetDateTime;

use crate::error::ConnectError;

/// Largest integer a Lua number holds exactly.
const LUA_MAX_EXACT: u64 = (1 << 53) - 1;
/// Warnings about failing open are logged at most this often, not once per request.
const WARN_EVERY: Duration = Duration::from_secs(1);

/// What a check does when Redis does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Allow the request, uncounted, and log a warning (the default: an outage of the limiter
    /// does not become an outage of the service).
    #[default]
    Open,
    /// Refuse it: the verification fails with a limiter error (HTTP 503).
    Closed,
}

/// Rate limits and credits kept in Redis, shared by every server that uses the same Redis
/// and namespace. Cheap to clone.
#[derive(Clone)]
pub struct RedisLimits {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    namespace: String,
    timeout: Duration,
    failure: FailureMode,
    gcra: Script,
    credits: Script,
    origin: Instant,
    last_warning: AtomicU64,
}

impl fmt::Debug for RedisLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: it is not kept, so it cannot be printed.
        f.debug_struct("RedisLimits")
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .field("failure", &self.inner.failure)
            .finish_non_exhaustive()
    }
}

/// Configures [`RedisLimits`]; start with [`RedisLimits::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisLimitsBuilder {
    url: String,
    namespace: String,
    timeout: Duration,
    failure: FailureMode,
}

impl RedisLimitsBuilder {
    /// The prefix of every Redis key this uses (default `apikeys`): servers that share a
    /// namespace share limits.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long a check may wait for Redis before failing open or closed (default 50 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What a check does when Redis does not answer (default [`FailureMode::Open`]).
    pub fn on_failure(mut self, failure: FailureMode) -> Self {
        self.failure = failure;
        self
    }

    /// Connects now: fails when Redis is not reachable within the timeout.
    pub async fn connect(self) -> Result<RedisLimits, ConnectError> {
        let limits = self.connect_lazy()?;
        let mut connection = limits.inner.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        match tokio::time::timeout(limits.inner.timeout, ping).await {
            Ok(Ok(_)) => Ok(limits),
            Ok(Err(e)) => Err(ConnectError::Unreachable(Box::new(e))),
            Err(elapsed) => Err(ConnectError::Unreachable(Box::new(elapsed))),
        }
    }

    /// Connects on first use: a server may start while Redis is down (its checks then fail
    /// open or closed as configured). Needs a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisLimits, ConnectError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| ConnectError::InvalidUrl(Box::new(e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Reconnection runs in the background; a request never waits for more than
            // `timeout`, whatever the retry schedule.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| ConnectError::InvalidUrl(Box::new(e)))?;
        Ok(RedisLimits {
            inner: Arc::new(Inner {
                connection,
                namespace: self.namespace,
                timeout: self.timeout,
                failure: self.failure,
                gcra: Script::new(include_str!("scripts/gcra.lua")),
                credits: Script::new(include_str!("scripts/credits.lua")),
                origin: Instant::now(),
                last_warning: AtomicU64::new(0),
            }),
        })
    }
}

impl RedisLimits {
    /// Starts configuring limits on the Redis at `url` (`redis://127.0.0.1:6379/0`).
    pub fn builder(url: impl Into<String>) -> RedisLimitsBuilder {
        RedisLimitsBuilder {
            url: url.into(),
            namespace: "apikeys".to_owned(),
            timeout: Duration::from_millis(50),
            failure: FailureMode::Open,
        }
    }

    fn rate_key(&self, key: &str, limit: &RateLimit) -> String {
        format!("{}:rate:{key}:{limit}", self.inner.namespace)
    }

    fn credits_key(&self, key: &str) -> String {
        format!("{}:credits:{key}", self.inner.namespace)
    }

    /// One script call, bounded by the timeout.
    async fn call<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, LimiterError> {
        let mut connection = self.inner.connection.clone();
        match tokio::time::timeout(self.inner.timeout, invocation.invoke_async(&mut connection))
            .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(LimiterError::Backend(Box::new(e))),
            Err(_) => Err(LimiterError::Timeout(self.inner.timeout)),
        }
    }

    /// Fail open (with a throttled warning) or closed, as configured.
    fn failed<T>(&self, key: &str, error: LimiterError, open: T) -> Result<T, LimiterError> {
        match self.inner.failure {
            FailureMode::Closed => {
                tracing::error!(prefix = key, %error, "Redis limits unavailable; request refused (fail closed)");
                Err(error)
            }
            FailureMode::Open => {
                let now =
                    u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
                let last = self.inner.last_warning.load(Ordering::Relaxed);
                if (last == 0 || now.saturating_sub(last) >= millis(WARN_EVERY))
                    && self
                        .inner
                        .last_warning
                        .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(prefix = key, %error, "Redis limits unavailable; request allowed unchecked (fail open)");
                }
                Ok(open)
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn from_micros(n: i64) -> Duration {
    Duration::from_micros(u64::try_from(n).unwrap_or(0))
}

fn unix_micros(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1000
}

#[async_trait]
impl RateLimiter for RedisLimits {
    async fn check(&self, key: &str, limit: &RateLimit) -> Result<RateDecision, LimiterError> {
        // Redis counts in microseconds; a faster rate than one a microsecond is rounded down
        // to it, and a burst window beyond Lua's exact integers (285 years) is capped.
        let interval = micros(limit.interval()).max(1);
        let tolerance = interval
            .saturating_mul(u64::from(limit.burst()))
            .min(LUA_MAX_EXACT);
        let script = &self.inner.gcra;
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.rate_key(key, limit))
            .arg(interval)
            .arg(tolerance);
        match self.call::<(i64, i64, i64, i64)>(&invocation).await {
            Ok((allowed, remaining, reset, retry_after)) => {
                let state = RateState::new(
                    *limit,
                    u32::try_from(remaining).unwrap_or(0),
                    from_micros(reset),
                    from_micros(retry_after),
                );
                Ok(if allowed == 1 {
                    RateDecision::Allowed(state)
                } else {
                    RateDecision::Limited(state)
                })
            }
            Err(error) => self.failed(key, error, RateDecision::Unchecked),
        }
    }
}

#[async_trait]
impl CreditLedger for RedisLimits {
    async fn spend(
        &self,
        key: &str,
        credits: &Credits,
        cost: u64,
    ) -> Result<Option<Spend>, LimiterError> {
        let now = OffsetDateTime::now_utc();
        let boundary = credits
            .refill
            .map(|_| unix_micros(credits.period_at(now)).to_string())
            .unwrap_or_default();
        let amount = credits.refill.map_or(0, |r| r.amount);
        let script = &self.inner.credits;
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.credits_key(key))
            .arg(credits.remaining)
            .arg(unix_micros(credits.period_start).to_string())
            .arg(boundary)
            .arg(amount)
            .arg(cost);
        match self.call::<(i64, i64, i64)>(&invocation).await {
            Ok((granted, remaining, period_start)) => {
                let period_start =
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(period_start) * 1000)
                        .unwrap_or(credits.period_start);
                let now_credits = Credits {
                    remaining: u64::try_from(remaining).unwrap_or(0),
                    refill: credits.refill,
                    period_start,
                };
                Ok(Some(Spend {
                    granted: granted == 1,
                    remaining: now_credits.remaining,
                    refill: now_credits.refill,
                    next_refill: now_credits.next_refill(),
                }))
            }
            Err(error) => self.failed(key, error, None),
        }
    }

    async fn reset(&self, key: &str) -> Result<(), LimiterError> {
        let mut connection = self.inner.connection.clone();
        let mut command = redis::cmd("DEL");
        command.arg(self.credits_key(key));
        let del = command.query_async::<i64>(&mut connection);
        match tokio::time::timeout(self.inner.timeout, del).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(LimiterError::Backend(Box::new(e))),
            Err(_) => Err(LimiterError::Timeout(self.inner.timeout)),
        }
    }
}
