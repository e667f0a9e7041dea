//! Usage limits during verification (after the scope check): the route's and the key's
//! rate limits, then the key's credits.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{ApiKeys, ApiKeysBuilder};
use crate::extract::HeaderLookup;
use crate::limits::{
    CreditLedger, LimiterError, LocalLimiter, RateDecision, RateLimit, RateLimiter, RateState,
    Usage,
};
use crate::verify::{Denial, VerifiedKey, VerifyError};

/// The manager's usage-limit configuration.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    limiter: Arc<dyn RateLimiter>,
    ledger: Option<Arc<dyn CreditLedger>>,
    default_rate: Option<RateLimit>,
    headers_on_grant: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            limiter: Arc::new(LocalLimiter::new()),
            ledger: None,
            default_rate: None,
            headers_on_grant: true,
        }
    }
}

/// What a route asks of a key beyond its own limits: a stricter rate limit, counted for
/// each key on this route separately from the key's own, and the credits a request costs.
///
/// ```
/// use apikeys::RouteLimits;
///
/// let expensive = RouteLimits::new().rate("1/s".parse()?).cost(10);
/// # Ok::<(), apikeys::RateLimitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLimits {
    rate: Option<RateLimit>,
    cost: u64,
}

impl Default for RouteLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteLimits {
    /// Only the key's own limits; a request costs 1 credit.
    pub const fn new() -> Self {
        Self {
            rate: None,
            cost: 1,
        }
    }

    /// Also at most `limit` requests per key on this route.
    #[must_use]
    pub const fn rate(mut self, limit: RateLimit) -> Self {
        self.rate = Some(limit);
        self
    }

    /// A request here costs `cost` credits (0: free, never refused for credits).
    #[must_use]
    pub const fn cost(mut self, cost: u64) -> Self {
        self.cost = cost;
        self
    }

    /// The route's rate limit, if any.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate.as_ref()
    }

    /// The credits a request costs.
    pub fn credit_cost(&self) -> u64 {
        self.cost
    }
}

impl ApiKeysBuilder {
    /// Where rate limits are counted (default: a [`LocalLimiter`] in this process; for one
    /// limit across a fleet, a shared one such as `apikeys_redis::RedisLimits`).
    pub fn rate_limiter(self, limiter: impl RateLimiter + 'static) -> Self {
        self.rate_limiter_shared(Arc::new(limiter))
    }

    /// [`rate_limiter`](Self::rate_limiter), shared with other code.
    pub fn rate_limiter_shared(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limits.limiter = limiter;
        self
    }

    /// Where credits are spent instead of the key store (e.g. `apikeys_redis::RedisLimits`
    /// for a fleet whose store cannot spend them atomically across servers).
    pub fn credit_ledger(mut self, ledger: impl CreditLedger + 'static) -> Self {
        self.limits.ledger = Some(Arc::new(ledger));
        self
    }

    /// The rate limit of keys that have none of their own.
    pub fn default_rate_limit(mut self, limit: RateLimit) -> Self {
        self.limits.default_rate = Some(limit);
        self
    }

    /// Whether adapters add the `RateLimit-Policy` / `RateLimit` headers to granted
    /// responses too (default: yes; refusals over a limit always carry them).
    pub fn usage_headers_on_grant(mut self, send: bool) -> Self {
        self.limits.headers_on_grant = send;
        self
    }
}

impl ApiKeys {
    /// Whether granted responses carry the `RateLimit` headers
    /// ([`ApiKeysBuilder::usage_headers_on_grant`]).
    pub fn usage_headers_on_grant(&self) -> bool {
        self.inner.limits.headers_on_grant
    }

    /// The headers an adapter adds to a granted response: the `RateLimit-Policy` and
    /// `RateLimit` headers of `key`'s usage, unless turned off.
    pub fn grant_headers(&self, key: &VerifiedKey) -> Vec<(&'static str, String)> {
        if self.usage_headers_on_grant() {
            key.usage().headers()
        } else {
            Vec::new()
        }
    }

    /// [`authenticate`](Self::authenticate) on a route with its own rate limit or credit
    /// cost.
    pub async fn authenticate_with_limits<H>(
        &self,
        headers: &H,
        query: Option<&str>,
        scopes: &[&str],
        route: &RouteLimits,
    ) -> Result<VerifiedKey, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        let key = self.presented_key(headers, query)?;
        self.verify_with_limits(&key, scopes, route).await
    }

    /// After an edit set or removed a key's credits: a credit ledger starts from the record
    /// again. A failure is logged (the ledger keeps counting the old credits until reset).
    pub(crate) async fn credits_edited(&self, prefix: &str) {
        if let Some(ledger) = &self.inner.limits.ledger
            && let Err(error) = ledger.reset(prefix).await
        {
            tracing::error!(prefix, %error, "credit ledger not reset after an edit; it still counts the old credits");
        }
    }

    /// Whether any limit applies to this key on this route: most keys have none, and then
    /// [`enforce_limits`](Self::enforce_limits) is not entered at all.
    pub(crate) fn has_limits(&self, verified: &VerifiedKey, route: &RouteLimits) -> bool {
        let record = verified.record();
        route.rate.is_some()
            || record.rate_limit.is_some()
            || self.inner.limits.default_rate.is_some()
            || record.credits.is_some()
    }

    /// Applies the route's and the key's limits to a key that passed every other check.
    pub(crate) async fn enforce_limits(
        &self,
        verified: VerifiedKey,
        route: &RouteLimits,
    ) -> Result<VerifiedKey, VerifyError> {
        let limits = &self.inner.limits;
        let record = Arc::clone(verified.record());
        let prefix = record.prefix.as_str();
        let mut usage = Usage::default();
        // The route's limit first: it is the stricter, so a refusal there counts nothing
        // against the key's own limit.
        if let Some(limit) = &route.rate {
            usage.rate = self.count(prefix, limit, usage).await?;
        }
        if let Some(limit) = record.rate_limit.as_ref().or(limits.default_rate.as_ref()) {
            let state = self.count(prefix, limit, usage).await?;
            usage.rate = tighter(usage.rate, state);
        }
        if let Some(credits) = &record.credits {
            let spend = match &limits.ledger {
                Some(ledger) => ledger
                    .spend(prefix, credits, route.cost)
                    .await
                    .map_err(VerifyError::Limiter)?,
                None => {
                    self.inner
                        .store()
                        .spend(prefix, route.cost, OffsetDateTime::now_utc())
                        .await?
                }
            };
            if let Some(spend) = spend {
                usage.credits = Some(spend);
                if !spend.granted {
                    return Err(limited(Denial::UsageExceeded, usage));
                }
            }
        }
        Ok(verified.with_usage(usage))
    }

    /// Counts one request against `limit`; a refusal carries `usage` so far.
    async fn count(
        &self,
        prefix: &str,
        limit: &RateLimit,
        mut usage: Usage,
    ) -> Result<Option<RateState>, VerifyError> {
        let decision = self
            .inner
            .limits
            .limiter
            .check(prefix, limit)
            .await
            .map_err(|e: LimiterError| VerifyError::Limiter(e))?;
        match decision {
            RateDecision::Limited(state) => {
                usage.rate = Some(state);
                Err(limited(Denial::RateLimited, usage))
            }
            other => Ok(other.state().copied()),
        }
    }
}

fn limited(denial: Denial, usage: Usage) -> VerifyError {
    VerifyError::Limited {
        denial,
        usage: Box::new(usage),
    }
}

/// Of two limits' states, the one closer to refusing: what the headers should report.
fn tighter(a: Option<RateState>, b: Option<RateState>) -> Option<RateState> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.remaining() < a.remaining() { b } else { a }),
        (a, b) => a.or(b),
    }
}
