//! Latency of `ApiKeys::verify` over `PostgresStore`: one indexed query plus a SHA-512 per
//! call, no cache.
//!
//! ```sh
//! cargo run --release -p apikeys-postgres --example verify_latency -- postgres://user@127.0.0.1/db [CALLS]
//! ```
//!
//! Uses (and creates if needed) the `apikeys` table of that database; the key it creates
//! for the measurement is deleted at the end.

use std::time::{Duration, Instant};

use apikeys::{ApiKeys, NewKey};
use apikeys_postgres::PostgresStore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: verify_latency postgres://… [CALLS]")?;
    let calls: usize = args.next().map_or(Ok(5000), |n| n.parse())?;

    let keys = ApiKeys::new(PostgresStore::connect(&url).await?);
    let created = keys.create(NewKey::named("latency probe")).await?;
    let key = created.key.expose_secret();
    for _ in 0..100 {
        keys.verify(key).await?; // warm the pool and the prepared statement
    }
    let mut times: Vec<Duration> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        keys.verify(key).await?;
        times.push(start.elapsed());
    }
    keys.delete(created.key.prefix()).await?;

    times.sort_unstable();
    let at = |q: f64| {
        // Truncation is the intent: the index of quantile q.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((times.len() - 1) as f64 * q) as usize;
        times[i]
    };
    println!(
        "{calls} verifications: median {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
