//! `ApiKeys::verify` against a `RedbStore` of a million keys (built once under `target/`,
//! see `apikeys_benches::million`), with a cache large enough for all of them and with the
//! default cache (mostly misses, so reads from the file); and against a `PostgresStore` of
//! 10,000 keys on a throwaway server on loopback (`apikeys_postgres::testing`).

use std::hint::black_box;
use std::time::Duration;

use apikeys::{ApiKeys, Hashers, KeyStore};
use apikeys_benches::million::{self, KEYS};
use apikeys_postgres::PostgresStore;
use apikeys_postgres::testing::TestSchema;
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

/// Keys in the PostgreSQL table: inserted one by one, as `create` would.
const PG_KEYS: u64 = 10_000;

fn postgres(c: &mut Criterion) {
    let runtime = runtime();
    let api = runtime.block_on(async {
        let schema = TestSchema::new().await;
        let store = PostgresStore::new(schema.pool().await)
            .await
            .expect("postgres store");
        let hashers = Hashers::default();
        let created = time::OffsetDateTime::now_utc();
        for i in 0..PG_KEYS {
            let record = million::record(&hashers, i, created);
            let event = apikeys::AuditEvent::new(&record.prefix, apikeys::AuditAction::Created);
            store.insert(&record, &event).await.expect("insert");
        }
        ApiKeys::new(store)
    });
    let keys: Vec<String> = (0..PG_KEYS).map(million::key).collect();
    let mut picks = Picks(0);
    c.bench_function("postgres_10k/verify", |b| {
        b.iter(|| {
            let key = &keys[usize::try_from(picks.next() % PG_KEYS).expect("small")];
            runtime
                .block_on(api.verify(black_box(key)))
                .expect("valid key")
        });
    });
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
