//! Rough numbers for a store of many keys: file size, open time, `get` latency (cache hit
//! and miss), verification, listing and search. Not a benchmark suite (see `benches/`), a
//! quick check:
//!
//! ```sh
//! cargo run --release -p apikeys-redb --example measure -- /tmp/keys.redb 1000000
//! ```
//!
//! The file is filled on the first run and reused after.

// A measurement script: float arithmetic for printing, one long sequence of steps.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use apikeys::{ApiKey, ApiKeys, KeyFormat, KeyHasher, KeyStore, ListQuery, Metadata, Sha512Hasher};
use apikeys_redb::RedbStore;
use time::OffsetDateTime;

const SAMPLES: usize = 20_000;
const BATCH: usize = 2_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/apikeys-measure.redb".into());
    let count: usize = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let format = KeyFormat::new();
    let secrets_path = format!("{path}.secrets");

    if !std::path::Path::new(&path).exists() {
        let store = RedbStore::open(&path)?;
        let started = Instant::now();
        let base = OffsetDateTime::now_utc() - time::Duration::days(400);
        let mut secrets = Vec::new();
        let mut made = 0;
        while made < count {
            let mut batch = Vec::with_capacity(BATCH);
            for _ in 0..BATCH.min(count - made) {
                let key = format.generate()?;
                let i = i64::try_from(made)?;
                let mut record = ApiKey::new(
                    key.prefix(),
                    Sha512Hasher.hash(key.expose_secret().as_bytes())?,
                    format!("service {i} of team {}", i % 997),
                    base + time::Duration::seconds(i * 30),
                );
                record.expires = (i % 10 == 0).then(|| base + time::Duration::days(200));
                record.revoked = i % 20 == 0;
                record.scopes = BTreeSet::from(["invoices:read".to_owned()]);
                record.metadata = Metadata::from_iter([("org".to_owned(), (i % 5000).into())]);
                record.owner = Some(format!("org_{}", i % 5000));
                batch.push(record);
                if secrets.len() < SAMPLES {
                    secrets.push(key.expose_secret().to_owned());
                }
                made += 1;
            }
            store.insert_all(batch).await?;
        }
        std::fs::write(&secrets_path, secrets.join("\n"))?;
        println!("filled {count} keys in {:.1?}", started.elapsed());
        drop(store);
        let size = std::fs::metadata(&path)?.len();
        println!("file size after filling: {:.1} MB", size as f64 / 1e6);
        let started = Instant::now();
        RedbStore::compact(&path)?;
        println!("compacted in {:.1?}", started.elapsed());
    }
    let size = std::fs::metadata(&path)?.len();
    println!("file size: {:.1} MB", size as f64 / 1e6);

    for check in [true, false] {
        let started = Instant::now();
        drop(
            RedbStore::builder()
                .check_integrity(check)
                .open_existing(&path)?,
        );
        println!(
            "open (check_integrity = {check}): {:.1?}",
            started.elapsed()
        );
    }

    let secrets: Vec<String> = std::fs::read_to_string(&secrets_path)?
        .lines()
        .map(str::to_owned)
        .collect();
    let prefixes: Vec<String> = secrets
        .iter()
        .map(|s| s.split('.').next().unwrap_or_default().to_owned())
        .collect();
    let store = RedbStore::builder()
        .check_integrity(false)
        .open_existing(&path)?;

    let mut misses = Vec::with_capacity(prefixes.len());
    for prefix in &prefixes {
        let started = Instant::now();
        let got = store.get(prefix).await?;
        misses.push(started.elapsed());
        assert!(got.is_some());
    }
    report("get, cache miss (first read of each key)", &mut misses);

    let mut hits = Vec::with_capacity(prefixes.len());
    for prefix in &prefixes {
        let started = Instant::now();
        let got = store.get(prefix).await?;
        hits.push(started.elapsed());
        assert!(got.is_some());
    }
    report("get, cache hit", &mut hits);

    let mut absent = Vec::with_capacity(prefixes.len());
    for i in 0..SAMPLES {
        let started = Instant::now();
        let got = store.get(&format!("zz{i:06}")).await?;
        absent.push(started.elapsed());
        assert!(got.is_none());
    }
    report("get, unknown prefix", &mut absent);

    let keys = ApiKeys::new(store.clone());
    let mut verifies = Vec::with_capacity(secrets.len());
    for secret in &secrets {
        let started = Instant::now();
        let outcome = keys.verify(secret).await;
        verifies.push(started.elapsed());
        let _ = outcome;
    }
    report("ApiKeys::verify, cached", &mut verifies);

    let timed = |label: &'static str, query: ListQuery| {
        let store = store.clone();
        async move {
            let started = Instant::now();
            let page = store.list(&query).await?;
            println!(
                "{label}: {} keys in {:.1?}",
                page.keys.len(),
                started.elapsed()
            );
            Ok::<_, apikeys::StoreError>(page)
        }
    };
    let first = timed("list first page (100)", ListQuery::new()).await?;
    if let Some(next) = first.next {
        timed("list next page (100)", ListQuery::new().after(next)).await?;
    }
    timed(
        "search by name, 'team 996' (rare)",
        ListQuery::new().search("team 996"),
    )
    .await?;
    timed(
        "search by prefix of a key",
        ListQuery::new().search(&prefixes[0][..6]),
    )
    .await?;
    timed(
        "search with no match (full scan)",
        ListQuery::new().search("no such name"),
    )
    .await?;
    timed(
        "list revoked (1 in 20)",
        ListQuery::new().status(apikeys::StatusFilter::Revoked),
    )
    .await?;
    timed(
        "list one owner's keys (owner index)",
        ListQuery::new().owner("org_4999"),
    )
    .await?;

    let started = Instant::now();
    let history = store.history(&prefixes[0]).await?;
    println!(
        "history of one key: {} events in {:.1?}",
        history.len(),
        started.elapsed()
    );
    let now = OffsetDateTime::now_utc();
    let uses: Vec<_> = prefixes
        .iter()
        .take(1000)
        .map(|p| (p.clone(), now))
        .collect();
    let started = Instant::now();
    store.touch(&uses).await?;
    println!(
        "touch, one batch of {} last-used times: {:.1?}",
        uses.len(),
        started.elapsed()
    );
    Ok(())
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{label}: median {:.2?}, p90 {:.2?}, p99 {:.2?} ({} samples)",
        at(0.5),
        at(0.9),
        at(0.99),
        samples.len()
    );
}
