//! Usage limits during verification, through the manager: rate limits (the key's, the
//! builder's default, a route's), credits and their costs, and the 429/503 mapping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apikeys::{
    ApiKeys, Capabilities, Denial, DenialResponse, Error, LimiterError, MemoryStore, NewKey,
    RATELIMIT, RETRY_AFTER, RateDecision, RateLimit, RateLimiter, RouteLimits, StoreError,
    VerifyError, async_trait,
};

fn limit(s: &str) -> RateLimit {
    s.parse().expect("limit")
}

fn denial(result: Result<apikeys::VerifiedKey, VerifyError>) -> Denial {
    result.expect_err("refused").denial().expect("a denial")
}

#[tokio::test]
async fn a_key_over_its_rate_limit_is_429_and_its_remaining_allowance_is_visible() {
    let keys = ApiKeys::new(MemoryStore::new());
    let created = keys
        .create(NewKey::named("rated").rate_limit(limit("3/h")))
        .await
        .unwrap();
    assert_eq!(created.record.rate_limit, Some(limit("3/h")));
    let key = created.key.expose_secret();
    for left in [2, 1, 0] {
        let verified = keys.verify(key).await.unwrap();
        assert_eq!(verified.remaining_requests(), Some(left));
        assert_eq!(verified.remaining_credits(), None);
        let headers = keys.grant_headers(&verified);
        assert!(
            headers
                .iter()
                .any(|(n, v)| *n == RATELIMIT && v.contains(&format!("r={left}")))
        );
    }
    let error = keys.verify(key).await.unwrap_err();
    assert_eq!(error.denial(), Some(Denial::RateLimited));
    assert_eq!(error.response(), DenialResponse::TOO_MANY_REQUESTS);
    let headers = error.response_headers();
    let retry: u64 = headers
        .iter()
        .find(|(n, _)| *n == RETRY_AFTER)
        .map(|(_, v)| v.parse().unwrap())
        .expect("Retry-After");
    assert!((1_100..=1_200).contains(&retry), "{retry}");
    // The holder of a wrong secret learns nothing and spends nothing of the key's limit.
    let other = keys
        .create(NewKey::named("o").rate_limit(limit("1/h")))
        .await
        .unwrap();
    let prefix = other.key.prefix();
    let wrong = format!("{prefix}.{}", "y".repeat(32));
    assert_eq!(denial(keys.verify(&wrong).await), Denial::InvalidSecret);
    assert!(keys.verify(other.key.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn the_default_limit_and_a_route_limit() {
    let keys = ApiKeys::builder(MemoryStore::new())
        .default_rate_limit(limit("3/h"))
        .usage_headers_on_grant(false)
        .build();
    let plain = keys.create(NewKey::named("plain")).await.unwrap();
    let own = keys
        .create(NewKey::named("own").rate_limit(limit("100/h")))
        .await
        .unwrap();
    let strict = RouteLimits::new().rate(limit("1/h"));
    let none: &[&str] = &[];
    // The route's limit counts on its own; the key's (default) limit counts every route.
    assert!(
        keys.verify_with_limits(plain.key.expose_secret(), none, &strict)
            .await
            .is_ok()
    );
    assert_eq!(
        denial(
            keys.verify_with_limits(plain.key.expose_secret(), none, &strict)
                .await
        ),
        Denial::RateLimited
    );
    let verified = keys.verify(plain.key.expose_secret()).await.unwrap();
    assert_eq!(
        verified.remaining_requests(),
        Some(1),
        "default 3/h: the route used one"
    );
    assert!(keys.grant_headers(&verified).is_empty(), "turned off");
    assert!(keys.verify(plain.key.expose_secret()).await.is_ok());
    assert_eq!(
        denial(keys.verify(plain.key.expose_secret()).await),
        Denial::RateLimited
    );
    // A key with its own limit is not held to the default.
    for _ in 0..10 {
        assert!(keys.verify(own.key.expose_secret()).await.is_ok());
    }
}

#[tokio::test]
async fn credits_are_spent_per_route_cost_and_refused_at_zero() {
    let keys = ApiKeys::new(MemoryStore::new());
    let metered = keys.create(NewKey::named("m").credits(10)).await.unwrap();
    let key = metered.key.expose_secret();
    let none: &[&str] = &[];
    assert_eq!(keys.verify(key).await.unwrap().remaining_credits(), Some(9));
    let expensive = RouteLimits::new().cost(5);
    assert_eq!(
        keys.verify_with_limits(key, none, &expensive)
            .await
            .unwrap()
            .remaining_credits(),
        Some(4)
    );
    let error = keys
        .verify_with_limits(key, none, &expensive)
        .await
        .unwrap_err();
    assert_eq!(error.denial(), Some(Denial::UsageExceeded));
    assert_eq!(error.response().status, 429);
    assert!(
        error
            .response_headers()
            .iter()
            .all(|(n, _)| *n != RETRY_AFTER),
        "no refill, no Retry-After"
    );
    let free = RouteLimits::new().cost(0);
    assert!(keys.verify_with_limits(key, none, &free).await.is_ok());
    assert_eq!(
        keys.get(metered.key.prefix())
            .await
            .unwrap()
            .credits
            .unwrap()
            .remaining,
        4
    );

    // A rate-limited request spends no credits.
    let both = keys
        .create(NewKey::named("b").credits(5).rate_limit(limit("1/h")))
        .await
        .unwrap();
    assert!(keys.verify(both.key.expose_secret()).await.is_ok());
    assert_eq!(
        denial(keys.verify(both.key.expose_secret()).await),
        Denial::RateLimited
    );
    assert_eq!(
        keys.get(both.key.prefix())
            .await
            .unwrap()
            .credits
            .unwrap()
            .remaining,
        4
    );

    // A refill alone starts the key at the refill's amount.
    let refilled = keys
        .create(NewKey::named("r").refill("7/day".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        refilled.record.credits.as_ref().map(|c| c.remaining),
        Some(7)
    );
    assert!(matches!(
        keys.create(NewKey::named("x").credits(1 << 60)).await,
        Err(Error::Invalid(_))
    ));
}

/// A limiter that cannot answer and fails closed: 503, not 429 and not a grant.
#[derive(Debug, Default)]
struct Down(AtomicUsize);

#[async_trait]
impl RateLimiter for Down {
    async fn check(&self, _: &str, _: &RateLimit) -> Result<RateDecision, LimiterError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Err(LimiterError::Timeout(std::time::Duration::from_millis(50)))
    }
}

#[tokio::test]
async fn a_failing_limiter_is_503_and_only_keys_with_limits_ask_it() {
    let down = Arc::new(Down::default());
    let keys = ApiKeys::builder(MemoryStore::new())
        .rate_limiter_shared(down.clone())
        .build();
    let rated = keys
        .create(NewKey::named("r").rate_limit(limit("5/s")))
        .await
        .unwrap();
    let plain = keys.create(NewKey::named("p")).await.unwrap();
    let error = keys.verify(rated.key.expose_secret()).await.unwrap_err();
    assert!(matches!(error, VerifyError::Limiter(_)));
    assert_eq!(error.response(), DenialResponse::UNAVAILABLE);
    assert!(keys.verify(plain.key.expose_secret()).await.is_ok());
    assert_eq!(down.0.load(Ordering::Relaxed), 1);
}

/// A store that cannot hold limits refuses keys with them instead of dropping them.
#[derive(Debug, Default)]
struct NoLimits(MemoryStore);

#[async_trait]
impl apikeys::KeyStore for NoLimits {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            limits: false,
            ..Capabilities::ALL
        }
    }
    async fn insert(&self, k: &apikeys::ApiKey, e: &apikeys::AuditEvent) -> Result<(), StoreError> {
        self.0.insert(k, e).await
    }
    async fn get(&self, p: &str) -> Result<Option<Arc<apikeys::ApiKey>>, StoreError> {
        self.0.get(p).await
    }
    async fn list(&self, q: &apikeys::ListQuery) -> Result<apikeys::Page, StoreError> {
        self.0.list(q).await
    }
    async fn modify(
        &self,
        p: &str,
        c: &apikeys::Change,
        e: &apikeys::AuditEvent,
    ) -> Result<apikeys::Modified, StoreError> {
        self.0.modify(p, c, e).await
    }
    async fn roll(
        &self,
        r: &apikeys::Roll,
        e: &apikeys::AuditEvent,
    ) -> Result<apikeys::Rolled, StoreError> {
        self.0.roll(r, e).await
    }
    async fn touch(&self, u: &[(String, apikeys::time::OffsetDateTime)]) -> Result<(), StoreError> {
        self.0.touch(u).await
    }
    async fn delete(&self, p: &str, e: &apikeys::AuditEvent) -> Result<bool, StoreError> {
        self.0.delete(p, e).await
    }
    async fn history(&self, p: &str) -> Result<Vec<apikeys::AuditEvent>, StoreError> {
        self.0.history(p).await
    }
}

#[tokio::test]
async fn a_store_without_limits_refuses_keys_with_them() {
    let keys = ApiKeys::new(NoLimits::default());
    assert!(matches!(
        keys.create(NewKey::named("c").credits(5)).await,
        Err(Error::Store(StoreError::Unsupported(_)))
    ));
    assert!(keys.create(NewKey::named("plain")).await.is_ok());
}
