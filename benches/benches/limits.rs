//! What usage limits cost per request: the in-process GCRA check (one busy key, and one of
//! 100,000 keys in rotation), the same through the `dyn RateLimiter` the manager holds,
//! the pure credit spend, the RateLimit headers, and the Redis limiter's round trip on
//! loopback (a throwaway `redis-server`, as apikeys-redis's tests start one); and whole
//! `ApiKeys::verify` calls of a plain, a rate-limited and a metered key on MemoryStore and
//! RedbStore, whose differences are what a limit adds to a request.

use std::hint::black_box;
use std::sync::Arc;

use apikeys::time::OffsetDateTime;
use apikeys::{
    ApiKeys, Credits, KeyStore, LocalLimiter, MAX_CREDITS, MemoryStore, NewKey, RateLimit,
    RateLimiter, Refill, Usage,
};
use apikeys_redb::RedbStore;
use apikeys_redis::RedisLimits;
use apikeys_redis::testing::RedisServer;
use criterion::Criterion;

const ROTATING_KEYS: usize = 100_000;

fn local_limiter(c: &mut Criterion) {
    // High enough that no check is refused: the cost measured is the counting.
    let limit: RateLimit = "1000000000/s".parse().expect("limit");
    let limiter = LocalLimiter::new();
    c.bench_function("limits/local_check_one_key", |b| {
        b.iter(|| {
            assert!(
                limiter
                    .check_now(black_box("AbCd1234"), &limit)
                    .is_allowed()
            );
        });
    });

    let keys: Vec<String> = (0..ROTATING_KEYS).map(|i| format!("k{i:07}")).collect();
    let mut i = 0;
    c.bench_function("limits/local_check_100k_keys", |b| {
        b.iter(|| {
            i = (i + 1) % ROTATING_KEYS;
            assert!(limiter.check_now(black_box(&keys[i]), &limit).is_allowed());
        });
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dyn_limiter: Arc<dyn RateLimiter> = Arc::new(LocalLimiter::new());
    c.bench_function("limits/local_check_dyn_async", |b| {
        b.to_async(&runtime).iter(|| {
            let limiter = Arc::clone(&dyn_limiter);
            async move {
                let d = limiter.check(black_box("AbCd1234"), &limit).await;
                assert!(d.expect("in-process").is_allowed());
            }
        });
    });
}

fn credits(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let refill: Refill = "1000000000/month".parse().expect("refill");
    let mut credits = Credits::new(1_000_000_000_000, now)
        .expect("credits")
        .with_refill(refill);
    c.bench_function("limits/credits_spend", |b| {
        b.iter(|| {
            assert!(credits.spend(black_box(1), now).granted);
        });
    });
    let limit: RateLimit = "100/s".parse().expect("limit");
    let limiter = LocalLimiter::new();
    let usage = Usage {
        rate: limiter.check_now("AbCd1234", &limit).state().copied(),
        credits: Some(credits.spend(1, now)),
    };
    c.bench_function("limits/usage_headers", |b| {
        b.iter(|| black_box(&usage).headers_at(now));
    });
}

fn redis(c: &mut Criterion) {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let limits = runtime
        .block_on(RedisLimits::builder(server.url()).connect())
        .expect("connect to the throwaway redis-server");
    let limit: RateLimit = "1000000/s".parse().expect("limit");
    c.bench_function("limits/redis_check_loopback", |b| {
        b.to_async(&runtime).iter(|| async {
            limits
                .check(black_box("AbCd1234"), &limit)
                .await
                .expect("redis")
        });
    });
    let credits = Credits::new(1_000_000_000_000, OffsetDateTime::now_utc()).expect("credits");
    c.bench_function("limits/redis_spend_loopback", |b| {
        b.to_async(&runtime).iter(|| async {
            apikeys::CreditLedger::spend(&limits, black_box("AbCd1234"), &credits, 1)
                .await
                .expect("redis")
        });
    });
    drop(server);
}

/// `ApiKeys::verify` of three keys in one store: one with no limit, one with a rate limit
/// too high to refuse, one with more credits than the run can spend.
fn verify_with_limits(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rate: RateLimit = "1000000000/s".parse().expect("limit");
    let mut group = c.benchmark_group("verify_limits");
    let path =
        std::env::temp_dir().join(format!("apikeys-bench-limits-{}.redb", std::process::id()));
    let stores: [(&str, Arc<dyn KeyStore>); 2] = [
        ("memory", Arc::new(MemoryStore::new())),
        (
            "redb",
            Arc::new(RedbStore::open(&path).expect("temporary redb file")),
        ),
    ];
    for (name, store) in stores {
        let keys = ApiKeys::builder_shared(store).without_last_used().build();
        let cases = runtime.block_on(async {
            let mut cases = Vec::new();
            for (case, new) in [
                ("plain", NewKey::named("plain")),
                ("rate_limited", NewKey::named("rated").rate_limit(rate)),
                ("credits", NewKey::named("metered").credits(MAX_CREDITS)),
            ] {
                cases.push((case, keys.create(new).await.expect("create").key));
            }
            cases
        });
        for (case, key) in &cases {
            group.bench_function(format!("{name}_{case}"), |b| {
                b.to_async(&runtime).iter(|| async {
                    keys.verify(black_box(key.expose_secret()))
                        .await
                        .expect("granted")
                });
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(std::time::Duration::from_secs(3));
    local_limiter(&mut c);
    credits(&mut c);
    verify_with_limits(&mut c);
    redis(&mut c);
    c.final_summary();
}
