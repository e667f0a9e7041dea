//! Builds the benchmark store of a million keys (if missing or incomplete) and prints one
//! valid key of it as `key: …` (and one with a rate limit, one with credits), for
//! `benches/http.sh`.
//!
//! `million-keys [PATH]` (default `target/bench-data/million.redb`, or
//! `$APIKEYS_BENCH_STORE`).

use std::path::PathBuf;

use apikeys_benches::million;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(million::default_path, PathBuf::from);
    million::ensure(&path)?;
    println!("store: {}", path.display());
    println!("key: {}", million::key(million::KEYS / 2 + 12_345));
    println!("rated key: {}", million::key(million::RATED));
    println!("metered key: {}", million::key(million::METERED));
    Ok(())
}
