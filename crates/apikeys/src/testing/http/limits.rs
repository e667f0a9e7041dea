//! The HTTP cases of usage limits: 429 with `Retry-After` and the RateLimit headers.

use super::{HttpHarness, TestRequest, TestResponse, assert_denied, assert_granted};
use crate::limits::{RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER};
use crate::manager::ApiKeys;
use crate::memory::MemoryStore;
use crate::record::NewKey;
use crate::verify::DenialResponse;

fn retry_after(response: &TestResponse) -> Option<u64> {
    response.header(RETRY_AFTER).map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("Retry-After {v:?} is not seconds"))
    })
}

/// A key over its rate limit gets 429 with `Retry-After` (seconds), `RateLimit-Policy` and
/// `RateLimit`; a wrong secret never counts against the key's limit.
pub async fn rate_limited_is_429_with_headers(harness: &dyn HttpHarness) {
    let keys = ApiKeys::new(MemoryStore::new());
    let rated = keys
        .create(NewKey::named("rated").rate_limit("2/h".parse().expect("limit")))
        .await
        .expect("create");
    let (key, prefix) = (rated.key.expose_secret(), rated.key.prefix());
    let send = |r| harness.send(&keys, r);
    let wrong = format!("{prefix}.{}", "x".repeat(key.len() - prefix.len() - 1));
    for _ in 0..3 {
        assert_denied(
            &send(TestRequest::get("/ping").api_key(&wrong)).await,
            DenialResponse::UNAUTHORIZED,
            "wrong secret on a rate-limited key",
        );
    }
    for n in 1..=2 {
        assert_granted(
            &send(TestRequest::get("/ping").api_key(key)).await,
            prefix,
            &format!("request {n} of 2 per hour"),
        );
    }
    let refused = send(TestRequest::get("/ping").api_key(key)).await;
    assert_denied(
        &refused,
        DenialResponse::TOO_MANY_REQUESTS,
        "third of 2 per hour",
    );
    assert_eq!(refused.header("www-authenticate"), None);
    let wait = retry_after(&refused).expect("Retry-After on a rate-limited request");
    assert!(
        (1_700..=1_800).contains(&wait),
        "half an hour until the next one: {wait}"
    );
    assert_eq!(
        refused.header(RATELIMIT_POLICY),
        Some(r#""rate";q=2;w=3600"#),
        "{refused:?}"
    );
    let state = refused.header(RATELIMIT).expect("RateLimit header");
    assert!(state.starts_with(r#""rate";r=0;t="#), "{state}");
}

/// The manager's default rate limit applies to keys without their own.
pub async fn default_rate_limit_applies(harness: &dyn HttpHarness) {
    let keys = ApiKeys::builder(MemoryStore::new())
        .default_rate_limit("1/m".parse().expect("limit"))
        .build();
    let created = keys.create(NewKey::named("plain")).await.expect("create");
    let key = created.key.expose_secret();
    let send = |r| harness.send(&keys, r);
    assert_granted(
        &send(TestRequest::get("/ping").api_key(key)).await,
        created.key.prefix(),
        "first under the default limit",
    );
    let refused = send(TestRequest::get("/ping").api_key(key)).await;
    assert_denied(
        &refused,
        DenialResponse::TOO_MANY_REQUESTS,
        "second under 1/m",
    );
    assert!(retry_after(&refused).is_some_and(|s| (1..=60).contains(&s)));
    assert_eq!(refused.header(RATELIMIT_POLICY), Some(r#""rate";q=1;w=60"#));
}

/// Out of credits is 429: without `Retry-After` when no refill is scheduled, with it (the
/// seconds to the refill) when one is.
pub async fn usage_exceeded_is_429(harness: &dyn HttpHarness) {
    let keys = ApiKeys::new(MemoryStore::new());
    let metered = keys
        .create(NewKey::named("metered").credits(2))
        .await
        .expect("create");
    let (key, prefix) = (metered.key.expose_secret(), metered.key.prefix());
    let send = |r| harness.send(&keys, r);
    for n in 1..=2 {
        assert_granted(
            &send(TestRequest::get("/ping").api_key(key)).await,
            prefix,
            &format!("credit {n} of 2"),
        );
    }
    let refused = send(TestRequest::get("/ping").api_key(key)).await;
    assert_denied(
        &refused,
        DenialResponse::TOO_MANY_REQUESTS,
        "no credits left",
    );
    assert_eq!(
        retry_after(&refused),
        None,
        "no refill: waiting will not help"
    );
    assert_eq!(refused.header(RATELIMIT), Some(r#""credits";r=0"#));
    let stored = keys.get(prefix).await.expect("get");
    assert_eq!(
        stored.credits.map(|c| c.remaining),
        Some(0),
        "never below zero"
    );

    let refilled = keys
        .create(
            NewKey::named("refilled")
                .credits(0)
                .refill("5/day".parse().expect("refill")),
        )
        .await
        .expect("create");
    let refused = send(TestRequest::get("/ping").api_key(refilled.key.expose_secret())).await;
    assert_denied(
        &refused,
        DenialResponse::TOO_MANY_REQUESTS,
        "refill tomorrow",
    );
    let wait = retry_after(&refused).expect("Retry-After until the refill");
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert_eq!(
        refused.header(RATELIMIT_POLICY),
        Some(r#""credits";q=5;w=86400"#)
    );
}
