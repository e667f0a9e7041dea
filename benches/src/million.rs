//! A redb store of a million keys, built fast and reused between runs.
//!
//! The keys are derived from their index (a SHA-512 of it picks the characters), so a
//! benchmark can verify any of them without keeping a million secrets around. They are
//! public by construction: this is for benchmarks only, never for a real store.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use apikeys::{ApiKey, Credits, Hashers, KeyStore, MAX_CREDITS, RateLimit};
use apikeys_redb::RedbStore;
use sha2::{Digest, Sha512};
use time::OffsetDateTime;

/// Keys in the benchmark store.
pub const KEYS: u64 = 1_000_000;
/// Records per `insert_all` transaction while building.
const BATCH: usize = 100_000;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Where the benchmarks keep the store: `target/bench-data/million.redb`, or
/// `$APIKEYS_BENCH_STORE`.
pub fn default_path() -> PathBuf {
    std::env::var_os("APIKEYS_BENCH_STORE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/million.redb"),
        PathBuf::from,
    )
}

/// The key with a rate limit too high to refuse: what counting a request costs.
pub const RATED: u64 = KEYS / 2 + 1;
/// The key with more credits than any run spends: what spending one costs.
pub const METERED: u64 = KEYS / 2 + 2;

/// Key number `i` (below [`KEYS`]) in the default format, its characters picked by a
/// SHA-512 of `i`: prefixes are spread like random ones (no two of the million collide),
/// so the file has the shape a real store has.
pub fn key(i: u64) -> String {
    let digest = Sha512::digest(format!("apikeys-bench-{i}").as_bytes());
    let char_of = |b: &u8| char::from(ALPHABET[usize::from(b % 62)]);
    let mut key = String::with_capacity(41);
    key.extend(digest[32..40].iter().map(char_of));
    key.push('.');
    key.extend(digest[..32].iter().map(char_of));
    key
}

/// The stored record of key number `i`, created at `created`.
pub fn record(hashers: &Hashers, i: u64, created: OffsetDateTime) -> ApiKey {
    let key = key(i);
    let mut record = ApiKey::new(
        &key[..8],
        hashers.hash(key.as_bytes()).expect("SHA-512 hashes"),
        format!("bench key {i}"),
        created,
    );
    if i == RATED {
        record.rate_limit = Some("1000000000/s".parse::<RateLimit>().expect("a rate limit"));
    }
    if i == METERED {
        record.credits = Some(Credits::new(MAX_CREDITS, created).expect("credits in range"));
    }
    record
}

/// How a build went.
#[derive(Debug)]
pub struct Built {
    /// Generating, hashing and writing the records.
    pub write: Duration,
    /// File size as written.
    pub written_bytes: u64,
    /// Compacting the file afterwards.
    pub compact: Duration,
    /// File size after compaction.
    pub compacted_bytes: u64,
}

/// Writes a new store of [`KEYS`] keys at `path` (replacing any file there), then compacts it.
pub fn build(path: &Path) -> Result<Built, Box<dyn std::error::Error>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let start = Instant::now();
    {
        let store = RedbStore::open(path)?;
        let hashers = Hashers::default();
        let created = OffsetDateTime::now_utc();
        let mut next = 0;
        while next < KEYS {
            let end = (next + BATCH as u64).min(KEYS);
            let batch = (next..end).map(|i| record(&hashers, i, created)).collect();
            runtime.block_on(store.insert_all(batch))?;
            next = end;
        }
    }
    let write = start.elapsed();
    let written_bytes = std::fs::metadata(path)?.len();
    let start = Instant::now();
    RedbStore::compact(path)?;
    Ok(Built {
        write,
        written_bytes,
        compact: start.elapsed(),
        compacted_bytes: std::fs::metadata(path)?.len(),
    })
}

/// The store at `path` if it holds [`KEYS`] keys, else a new one built there (reported on
/// stderr).
pub fn ensure(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // The store is dropped at the end of the statement: a file is open once per process.
    // A store built before the limited keys existed is rebuilt.
    let complete = path.exists()
        && RedbStore::open_existing(path).ok().is_some_and(|store| {
            let metered = &key(METERED)[..8];
            store.len().ok() == Some(KEYS)
                && tokio::runtime::Builder::new_current_thread()
                    .build()
                    .ok()
                    .and_then(|rt| rt.block_on(store.get(metered)).ok().flatten())
                    .is_some_and(|record| record.credits.is_some())
        });
    if complete {
        return Ok(());
    }
    eprintln!("building {} ({KEYS} keys)…", path.display());
    let built = build(path)?;
    eprintln!(
        "built in {:.1} s: {} bytes as written, {} bytes after compaction ({:.1} s)",
        built.write.as_secs_f64(),
        built.written_bytes,
        built.compacted_bytes,
        built.compact.as_secs_f64()
    );
    Ok(())
}
