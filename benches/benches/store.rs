//! `ApiKeys::verify` against a `RedbStore` of a million keys (built once under `target/`,
//! see `apikeys_benches::million`), with a cache large enough for all of them and with the
//! default cache (mostly misses, so reads from the file); and against a `PostgresStore` of
//! 100,000 keys on a throwaway server on loopback (`apikeys_postgres::testing`), without
//! and with its record cache, and how soon a revocation through another store is refused.

use std::hint::black_box;
use std::time::{Duration, Instant};

use apikeys::{ApiKeys, Hashers};
use apikeys_benches::million::{self, KEYS};
use apikeys_postgres::testing::{TestSchema, cache_in_use};
use apikeys_postgres::{CacheOptions, PostgresStore, sqlx};
use apikeys_redb::RedbStore;
use criterion::Criterion;
use sha2::Digest;

/// A cheap, reproducible sequence of key numbers spread over the million.
struct Picks(u64);

impl Picks {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        let d = sha2::Sha256::digest(self.0.to_le_bytes());
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) % KEYS
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn verify(c: &mut Criterion, name: &str, store: RedbStore, warm: bool) {
    let runtime = runtime();
    let keys: Vec<String> = (0..KEYS).map(million::key).collect();
    let api = ApiKeys::new(store);
    if warm {
        for key in &keys {
            runtime.block_on(api.verify(key)).expect("valid key");
        }
    }
    let mut picks = Picks(0);
    c.bench_function(name, |b| {
        b.iter(|| {
            let key = &keys[usize::try_from(picks.next()).expect("small")];
            runtime
                .block_on(api.verify(black_box(key)))
                .expect("valid key")
        });
    });
}

fn redb(c: &mut Criterion) {
    let path = million::default_path();
    million::ensure(&path).expect("benchmark store");
    let store = RedbStore::builder()
        .cache_capacity(usize::try_from(KEYS).expect("fits") + 1)
        .open_existing(&path)
        .expect("open");
    verify(c, "redb_1m/verify_cached", store, true);
    let store = RedbStore::open_existing(&path).expect("open");
    verify(c, "redb_1m/verify_default_cache", store, false);
}

/// Keys in the PostgreSQL table, written in bulk with plain SQL (the change trigger fires
/// for each, as for any writer).
const PG_KEYS: u64 = 100_000;

fn pg_runtime() -> tokio::runtime::Runtime {
    // The cache's listener runs on the worker while the benchmark blocks on the main thread,
    // as in a server (a current-thread runtime would starve it between iterations).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn fill(store: &PostgresStore) {
    let hashers = Hashers::default();
    let created = time::OffsetDateTime::now_utc();
    for chunk in (0..PG_KEYS).collect::<Vec<_>>().chunks(10_000) {
        let records: Vec<_> = chunk
            .iter()
            .map(|&i| million::record(&hashers, i, created))
            .collect();
        let column = |f: fn(&apikeys::ApiKey) -> String| records.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO apikeys (prefix, hashed_key, name, name_folded, created) \
             SELECT p, h, n, lower(n), c FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::timestamptz[]) AS r(p, h, n, c)",
        )
        .bind(column(|r| r.prefix.clone()))
        .bind(column(|r| r.hashed_key.clone()))
        .bind(column(|r| r.name.clone()))
        .bind(records.iter().map(|r| r.created).collect::<Vec<_>>())
        .execute(store.pool())
        .await
        .expect("bulk insert");
    }
}

fn postgres(c: &mut Criterion) {
    let runtime = pg_runtime();
    let schema = runtime.block_on(TestSchema::new());
    let options = CacheOptions::new().capacity(usize::try_from(PG_KEYS).expect("fits"));
    let (uncached, cached, writer) = runtime.block_on(async {
        let uncached = PostgresStore::with_cache(schema.pool().await, CacheOptions::off())
            .await
            .expect("postgres store");
        fill(&uncached).await;
        let cached = PostgresStore::with_cache(schema.pool().await, options)
            .await
            .expect("postgres store");
        let writer = PostgresStore::new(schema.pool().await)
            .await
            .expect("postgres store");
        cache_in_use(&cached).await;
        (uncached, cached, writer)
    });
    let keys: Vec<String> = (0..PG_KEYS).map(million::key).collect();
    let pick = |picks: &mut Picks| &keys[usize::try_from(picks.next() % PG_KEYS).expect("small")];

    let api = ApiKeys::new(uncached);
    let mut picks = Picks(0);
    c.bench_function("postgres_100k/verify_uncached", |b| {
        b.iter(|| {
            runtime
                .block_on(api.verify(black_box(pick(&mut picks))))
                .expect("valid key")
        });
    });

    let api = ApiKeys::new(cached.clone());
    runtime.block_on(async {
        for key in &keys {
            api.verify(key).await.expect("valid key");
        }
    });
    let before = cached.cache_status();
    let mut picks = Picks(0);
    // Many verifications per `block_on`: entering a multi-thread runtime from outside costs
    // more than a cache hit, and a server's handlers run inside it.
    c.bench_function("postgres_100k/verify_cache_hit", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(api.verify(black_box(pick(&mut picks))).await).expect("valid key");
                }
                start.elapsed()
            })
        });
    });
    let after = cached.cache_status();
    eprintln!(
        "cache during verify_cache_hit: {} hits, {} misses, {} bypasses; {} entries",
        after.hits - before.hits,
        after.misses - before.misses,
        after.bypasses - before.bypasses,
        after.entries
    );

    // From the moment a revocation through one store has committed to the first refusal by
    // another store (another pool) that had the key cached.
    let writer = ApiKeys::new(writer);
    let mut group = c.benchmark_group("postgres_100k");
    group.sample_size(20);
    group.bench_function("revocation_seen_by_other_store", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let created = writer
                        .create(apikeys::NewKey::named("revoked in the benchmark"))
                        .await
                        .expect("create");
                    let secret = created.key.expose_secret();
                    let hits = cached.cache_status().hits;
                    while cached.cache_status().hits == hits {
                        api.verify(secret).await.expect("valid key");
                    }
                    writer.revoke(created.key.prefix()).await.expect("revoke");
                    let committed = Instant::now();
                    while api.verify(secret).await.is_ok() {
                        tokio::task::yield_now().await;
                    }
                    total += committed.elapsed();
                }
                total
            })
        });
    });
    group.finish();
    drop(schema);
}

fn config() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3))
}

criterion::criterion_group! {
    name = benches;
    config = config();
    targets = redb, postgres
}
criterion::criterion_main!(benches);
