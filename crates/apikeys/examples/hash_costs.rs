//! How long one wrong-secret verification takes at the work-factor ceilings of
//! `src/hash/limits.rs` (and at the defaults that must keep verifying). The ceilings are
//! chosen from these numbers: one hostile stored hash should cost about a second at most.
//!
//! `cargo run -p apikeys --release --example hash_costs --features argon2,scrypt,django`

use std::time::Instant;

use apikeys::{Argon2Hasher, DjangoHasher, KeyHasher, ScryptHasher};
use base64ct::{Base64, Encoding};

fn time(label: &str, hasher: &dyn KeyHasher, stored: &str) {
    let start = Instant::now();
    let result = hasher.verify(b"wrong secret", stored);
    let elapsed = start.elapsed();
    println!(
        "{label:<48} {:>8.1} ms  {result:?}",
        elapsed.as_secs_f64() * 1e3
    );
}

fn pbkdf2_sha256(iterations: u32) -> String {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"k", b"salt", iterations, &mut out);
    format!(
        "pbkdf2_sha256${iterations}$salt${}",
        Base64::encode_string(&out)
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if only("pbkdf2") {
        for iterations in [1_000_000, 1_200_000, 2_000_000, 4_000_000, 5_000_000] {
            time(
                &format!("pbkdf2_sha256 {iterations}"),
                &DjangoHasher,
                &pbkdf2_sha256(iterations),
            );
        }
    }
    if only("bcrypt") {
        for cost in [12, 13, 14] {
            let hash = bcrypt::hash(b"k", cost).expect("bcrypt");
            time(
                &format!("bcrypt cost {cost}"),
                &DjangoHasher,
                &format!("bcrypt${hash}"),
            );
        }
    }
    if only("argon2") {
        for (m, t, p) in [
            (19 * 1024, 2, 1),
            (102_400, 2, 8),
            (64 * 1024, 8, 1),
            (128 * 1024, 4, 1),
            (256 * 1024, 16, 16),
        ] {
            let hasher = Argon2Hasher::with_params(m, t, p).expect("params");
            let stored = hasher.hash(b"k").expect("hash");
            time(&format!("argon2id m={m} KiB t={t} p={p}"), &hasher, &stored);
        }
    }
    if only("scrypt") {
        for (ln, r, p) in [(14, 8, 1), (17, 8, 1), (17, 8, 2), (17, 8, 3), (18, 8, 1)] {
            let hasher = ScryptHasher::with_params(ln, r, p).expect("params");
            let start = Instant::now();
            let stored = hasher.hash(b"k");
            let made = start.elapsed();
            match stored {
                Ok(stored) => time(
                    &format!(
                        "scrypt ln={ln} r={r} p={p} (hash {:.0} ms)",
                        made.as_secs_f64() * 1e3
                    ),
                    &hasher,
                    &stored,
                ),
                Err(e) => println!("scrypt ln={ln} r={r} p={p}: {e}"),
            }
        }
    }
}
