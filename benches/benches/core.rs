//! The core's per-request costs: key generation, header extraction, SHA-512
//! hash-and-compare, `ApiKeys::verify` on a `MemoryStore` (with last-used recording off and
//! on, also on a `RedbStore`), and Argon2/scrypt verification
//! at their default parameters; and the floors under them (OS randomness, one SHA-512,
//! one `HeaderMap` lookup), to tell the core's own cost from what it cannot avoid.

use std::hint::black_box;
use std::time::Duration;

use apikeys::{
    ApiKeys, Argon2Hasher, Hashers, KeyExtractor, KeyFormat, KeyHasher, MemoryStore, NewKey,
    ScryptHasher,
};
use apikeys_redb::RedbStore;
use criterion::Criterion;
use http::{HeaderMap, HeaderValue};
use sha2::Digest;

/// Keys in the store besides the one verified, so the lookup is not in a one-entry map.
const STORE_KEYS: usize = 10_000;

fn key_generation(c: &mut Criterion) {
    let format = KeyFormat::default();
    c.bench_function("key_generation", |b| {
        b.iter(|| format.generate().expect("OS randomness"));
    });
}

fn header_extraction(c: &mut Criterion) {
    let key = KeyFormat::default().generate().expect("OS randomness");
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert("user-agent", HeaderValue::from_static("bench/1.0"));
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Api-Key {}", key.expose_secret())).expect("ASCII"),
    );
    let extractor = KeyExtractor::default();
    c.bench_function("header_extraction", |b| {
        b.iter(|| {
            extractor
                .extract(black_box(&headers), None)
                .expect("one Authorization header")
                .expect("key present")
        });
    });
}

fn sha512_hash_and_compare(c: &mut Criterion) {
    let key = KeyFormat::default().generate().expect("OS randomness");
    let hashers = Hashers::default();
    let stored = hashers.hash(key.expose_secret().as_bytes()).expect("hash");
    c.bench_function("sha512_hash_and_compare", |b| {
        b.iter(|| {
            let check = hashers
                .check(
                    black_box(key.expose_secret().as_bytes()),
                    black_box(&stored),
                )
                .expect("readable");
            assert!(check.matched);
        });
    });
}

/// A manager over a `MemoryStore` of `STORE_KEYS + 1` keys, and the key to verify.
fn memory_keys(
    runtime: &tokio::runtime::Runtime,
    keys: ApiKeys,
) -> (ApiKeys, apikeys::PlaintextKey) {
    let key = runtime.block_on(async {
        for i in 0..STORE_KEYS {
            keys.create(NewKey::named(format!("client-{i}")))
                .await
                .expect("create");
        }
        keys.create(NewKey::named("bench").scope("read"))
            .await
            .expect("create")
            .key
    });
    (keys, key)
}

/// `ApiKeys::verify` with the default configuration (last-used recording on).
fn verify_memory_store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let (keys, key) = memory_keys(&runtime, ApiKeys::new(MemoryStore::new()));
    c.bench_function("verify_memory_store", |b| {
        b.to_async(&runtime).iter(|| async {
            keys.verify(black_box(key.expose_secret()))
                .await
                .expect("valid key")
        });
    });
}

/// What recording last-used times adds to a grant: the same verification without and
/// with it (default 60 s write-behind interval, so the measured loop only remembers uses;
/// the batch write happens on the interval task, off the request path).
fn verify_last_used(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("verify_last_used");
    for (name, builder) in [
        (
            "off",
            ApiKeys::builder(MemoryStore::new()).without_last_used(),
        ),
        ("on", ApiKeys::builder(MemoryStore::new())),
    ] {
        let (keys, key) = memory_keys(&runtime, builder.build());
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                keys.verify(black_box(key.expose_secret()))
                    .await
                    .expect("valid key")
            });
        });
    }
    // The same on a RedbStore (its record cache holds every key, as in a server): a grant
    // still only remembers the use; the batched `touch` runs on the interval task.
    for on in [false, true] {
        let path = std::env::temp_dir().join(format!(
            "apikeys-bench-last-used-{}-{on}.redb",
            std::process::id()
        ));
        let store = RedbStore::open(&path).expect("temporary redb file");
        let builder = ApiKeys::builder(store);
        let builder = if on {
            builder
        } else {
            builder.without_last_used()
        };
        let (keys, key) = redb_keys(&runtime, builder.build());
        group.bench_function(if on { "redb_on" } else { "redb_off" }, |b| {
            b.to_async(&runtime).iter(|| async {
                keys.verify(black_box(key.expose_secret()))
                    .await
                    .expect("valid key")
            });
        });
        drop(keys);
        let _ = std::fs::remove_file(&path);
    }
    group.finish();
}

/// What the match cache saves: the same verification (last-used recording off) with the
/// cache off, so that every request hashes its key, and on (the default), so that repeated
/// requests skip the hasher; and with Argon2id keys, whose hash the cache spares entirely.
fn verify_match_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("verify_match_cache");
    let builder = || ApiKeys::builder(MemoryStore::new()).without_last_used();
    let argon2 = || builder().hashers(Hashers::new(Argon2Hasher::default()));
    for (name, keys) in [
        ("sha512_off", builder().match_cache(0).build()),
        ("sha512_on", builder().build()),
        ("argon2_on", argon2().build()),
    ] {
        let key = runtime.block_on(async {
            keys.create(NewKey::named("bench"))
                .await
                .expect("create")
                .key
        });
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                keys.verify(black_box(key.expose_secret()))
                    .await
                    .expect("valid key")
            });
        });
    }
    group.finish();
}

/// Keys in the redb file besides the one verified: fewer than in the `MemoryStore`,
/// because each creation is a durable write transaction (an fsync).
const REDB_KEYS: usize = 500;

/// A manager over a `RedbStore` of `REDB_KEYS + 1` keys, and the key to verify.
fn redb_keys(runtime: &tokio::runtime::Runtime, keys: ApiKeys) -> (ApiKeys, apikeys::PlaintextKey) {
    let key = runtime.block_on(async {
        for i in 0..REDB_KEYS {
            keys.create(NewKey::named(format!("client-{i}")))
                .await
                .expect("create");
        }
        keys.create(NewKey::named("bench").scope("read"))
            .await
            .expect("create")
            .key
    });
    (keys, key)
}

fn slow_hashers(c: &mut Criterion) {
    let key = KeyFormat::default().generate().expect("OS randomness");
    let key = key.expose_secret().as_bytes();
    let mut group = c.benchmark_group("slow_hashers");
    group.sample_size(10);
    let argon2 = Argon2Hasher::default();
    let stored = argon2.hash(key).expect("hash");
    group.bench_function("argon2_verify_default", |b| {
        b.iter(|| assert!(argon2.verify(black_box(key), &stored).expect("readable")));
    });
    let scrypt = ScryptHasher::default();
    let stored = scrypt.hash(key).expect("hash");
    group.bench_function("scrypt_verify_default", |b| {
        b.iter(|| assert!(scrypt.verify(black_box(key), &stored).expect("readable")));
    });
    group.finish();
}

/// What the core cannot go below: a key needs one OS random fill, a check one SHA-512 of
/// the key, an extraction one header lookup by name.
fn floors(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    group.bench_function("os_random_96_bytes", |b| {
        b.iter(|| {
            let mut pool = [0u8; 96];
            getrandom::fill(&mut pool).expect("OS randomness");
            pool
        });
    });
    group.bench_function("sha512_digest_41_bytes", |b| {
        b.iter(|| sha2::Sha512::digest(black_box(b"abcdEFGH.0123456789abcdefghijABCDEFGHIJ01")));
    });
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert(
        "authorization",
        HeaderValue::from_static("Api-Key abcdEFGH.0123"),
    );
    group.bench_function("headermap_get_by_str", |b| {
        b.iter(|| {
            black_box(&headers)
                .get(black_box("authorization"))
                .map(HeaderValue::len)
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    floors(&mut c);
    key_generation(&mut c);
    header_extraction(&mut c);
    sha512_hash_and_compare(&mut c);
    verify_memory_store(&mut c);
    verify_last_used(&mut c);
    verify_match_cache(&mut c);
    slow_hashers(&mut c);
    c.final_summary();
}
