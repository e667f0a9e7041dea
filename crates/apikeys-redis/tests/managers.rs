//! Two managers (two servers of a fleet) over one key store, counting in one Redis.

use std::sync::Arc;

use apikeys::{ApiKeys, Denial, KeyStore, MemoryStore, NewKey};
use apikeys_redis::RedisLimits;
use apikeys_redis::testing::RedisServer;

async fn server(store: &Arc<dyn KeyStore>, redis: &RedisServer) -> ApiKeys {
    let limits = RedisLimits::builder(redis.url())
        .connect()
        .await
        .expect("connect");
    ApiKeys::builder_shared(Arc::clone(store))
        .rate_limiter(limits.clone())
        .credit_ledger(limits)
        .build()
}

#[tokio::test]
async fn two_managers_share_one_rate_limit_and_one_credit_count() {
    let redis = RedisServer::start();
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let (a, b) = (server(&store, &redis).await, server(&store, &redis).await);

    let rated = a
        .create(NewKey::named("rated").rate_limit("4/h".parse().unwrap()))
        .await
        .unwrap();
    let key = rated.key.expose_secret();
    for manager in [&a, &b, &a, &b] {
        manager.verify(key).await.expect("within 4/h across both");
    }
    for manager in [&a, &b] {
        let error = manager.verify(key).await.unwrap_err();
        assert_eq!(error.denial(), Some(Denial::RateLimited));
        assert_eq!(error.response().status, 429);
    }

    let metered = a.create(NewKey::named("metered").credits(3)).await.unwrap();
    let key = metered.key.expose_secret();
    assert_eq!(a.verify(key).await.unwrap().remaining_credits(), Some(2));
    assert_eq!(b.verify(key).await.unwrap().remaining_credits(), Some(1));
    assert_eq!(a.verify(key).await.unwrap().remaining_credits(), Some(0));
    assert_eq!(
        b.verify(key).await.unwrap_err().denial(),
        Some(Denial::UsageExceeded)
    );
    // With a ledger, the store's record keeps the credits it was given; Redis counts.
    let stored = a.get(metered.key.prefix()).await.unwrap();
    assert_eq!(stored.credits.map(|c| c.remaining), Some(3));

    // Each manager with its own in-process limiter would grant the full rate on each.
    let (x, y) = (
        ApiKeys::builder_shared(Arc::clone(&store)).build(),
        ApiKeys::builder_shared(Arc::clone(&store)).build(),
    );
    let local = x
        .create(NewKey::named("local").rate_limit("2/h".parse().unwrap()))
        .await
        .unwrap();
    for manager in [&x, &x, &y, &y] {
        manager
            .verify(local.key.expose_secret())
            .await
            .expect("each counts alone");
    }
}
