//! Against a real `redis-server` on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apikeys::{CreditLedger, Credits, LocalLimiter, RateDecision, RateLimit, RateLimiter};
use apikeys_redis::testing::RedisServer;
use apikeys_redis::{FailureMode, RedisLimits};

async fn limits(server: &RedisServer) -> RedisLimits {
    RedisLimits::builder(server.url())
        .connect()
        .await
        .expect("connect")
}

async fn granted(limiter: &dyn RateLimiter, key: &str, limit: &RateLimit, n: usize) -> usize {
    let mut granted = 0;
    for _ in 0..n {
        if limiter.check(key, limit).await.expect("check").is_allowed() {
            granted += 1;
        }
    }
    granted
}

#[tokio::test]
async fn two_servers_share_one_limit_where_in_process_limiters_do_not() {
    let redis = RedisServer::start();
    let limit: RateLimit = "10/h".parse().unwrap();
    let (a, b) = (limits(&redis).await, limits(&redis).await);
    assert_eq!(granted(&a, "AbCd1234", &limit, 6).await, 6);
    assert_eq!(
        granted(&b, "AbCd1234", &limit, 6).await,
        4,
        "b sees a's six"
    );
    let refused = a.check("AbCd1234", &limit).await.unwrap();
    let RateDecision::Limited(state) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(state.remaining(), 0);
    // One of ten per hour comes back in six minutes.
    assert!(state.retry_after() > Duration::from_secs(350), "{state:?}");
    assert!(state.retry_after() <= Duration::from_secs(360), "{state:?}");
    assert!(b.check("other", &limit).await.unwrap().is_allowed());

    let (x, y) = (LocalLimiter::new(), LocalLimiter::new());
    assert_eq!(granted(&x, "AbCd1234", &limit, 6).await, 6);
    assert_eq!(
        granted(&y, "AbCd1234", &limit, 6).await,
        6,
        "each process counts alone"
    );
}

#[tokio::test]
async fn the_steady_rate_and_the_remaining_count() {
    let redis = RedisServer::start();
    let limits = limits(&redis).await;
    let limit: RateLimit = "20/s,burst=2".parse().unwrap();
    let first = limits.check("k", &limit).await.unwrap();
    assert_eq!(first.state().unwrap().remaining(), 1);
    assert!(limits.check("k", &limit).await.unwrap().is_allowed());
    assert!(!limits.check("k", &limit).await.unwrap().is_allowed());
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert!(
        limits.check("k", &limit).await.unwrap().is_allowed(),
        "one every 50 ms"
    );
}

#[tokio::test]
async fn concurrent_credit_spends_never_spend_more_than_there_is() {
    let redis = RedisServer::start();
    let (a, b) = (limits(&redis).await, limits(&redis).await);
    let credits = Credits::new(50, apikeys::time::OffsetDateTime::now_utc()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let ledger = if i % 2 == 0 { a.clone() } else { b.clone() };
        let credits = credits.clone();
        tasks.push(tokio::spawn(async move {
            ledger.spend("AbCd1234", &credits, 1).await.expect("spend")
        }));
    }
    let mut spent = 0;
    for task in tasks {
        if task.await.unwrap().expect("checked").granted {
            spent += 1;
        }
    }
    assert_eq!(spent, 50);
    let last = a.spend("AbCd1234", &credits, 1).await.unwrap().unwrap();
    assert!(!last.granted);
    assert_eq!(last.remaining, 0);
    assert_eq!(last.next_refill, None);
    // New credits from an administrator: the ledger starts from the record again.
    a.reset("AbCd1234").await.unwrap();
    assert_eq!(
        a.spend("AbCd1234", &credits, 3)
            .await
            .unwrap()
            .unwrap()
            .remaining,
        47
    );
}

#[tokio::test]
async fn credits_refill_on_their_schedule() {
    let redis = RedisServer::start();
    let limits = limits(&redis).await;
    let now = apikeys::time::OffsetDateTime::now_utc();
    let credits = Credits::new(1, now)
        .unwrap()
        .with_refill("2/1s".parse().unwrap());
    assert!(
        limits
            .spend("k", &credits, 1)
            .await
            .unwrap()
            .unwrap()
            .granted
    );
    let refused = limits.spend("k", &credits, 1).await.unwrap().unwrap();
    assert!(!refused.granted);
    let next = refused.next_refill.expect("scheduled");
    let wait = next - apikeys::time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(20))
        .await;
    let refilled = limits.spend("k", &credits, 1).await.unwrap().unwrap();
    assert!(refilled.granted);
    assert_eq!(refilled.remaining, 1, "refilled to 2, not 2 more");
}

#[tokio::test]
async fn fails_open_by_default_and_closed_when_configured_without_hanging() {
    let mut redis = RedisServer::start();
    let open = limits(&redis).await;
    let closed = RedisLimits::builder(redis.url())
        .on_failure(FailureMode::Closed)
        .timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let limit: RateLimit = "1/h".parse().unwrap();
    assert!(open.check("k", &limit).await.unwrap().is_allowed());
    assert!(!closed.check("k", &limit).await.unwrap().is_allowed());
    redis.stop();

    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(
            open.check("k", &limit).await.unwrap(),
            RateDecision::Unchecked
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(closed.check("k", &limit).await.is_err());
        assert!(
            closed
                .spend(
                    "k",
                    &Credits::new(5, apikeys::time::OffsetDateTime::now_utc()).unwrap(),
                    1
                )
                .await
                .is_err()
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    let credits = Credits::new(5, apikeys::time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(open.spend("k", &credits, 1).await.unwrap(), None);

    // Back up (empty): counting resumes.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let RateDecision::Allowed(_) = closed
            .check("k", &limit)
            .await
            .unwrap_or(RateDecision::Unchecked)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the limiter did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        closed.check("k", &limit).await,
        Ok(RateDecision::Limited(_))
    ));
}

#[tokio::test]
async fn a_server_may_start_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.stop();
    assert!(RedisLimits::builder(url.clone()).connect().await.is_err());
    let lazy = RedisLimits::builder(url).connect_lazy().unwrap();
    let limiter: Arc<dyn RateLimiter> = Arc::new(lazy);
    let started = Instant::now();
    assert_eq!(
        limiter.check("k", &"1/s".parse().unwrap()).await.unwrap(),
        RateDecision::Unchecked
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(RedisLimits::builder("http://nope").connect_lazy().is_err());
}
