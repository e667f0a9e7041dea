//! Work-factor ceilings for hashes read from storage. A stored hash is data, and a corrupt or
//! planted record must not make one verification allocate gigabytes or run for seconds on
//! every wrong secret sent against its prefix. Each ceiling keeps one check at about a
//! second at most, measured with `examples/hash_costs.rs` on a 2-core machine under load
//! (load average 7): the numbers are in the comments. The defaults of Django and of the
//! RustCrypto crates stay well inside.

/// Argon2 memory, in KiB (128 MiB; Django's default is 100 MiB, the crate's 19 MiB).
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_M_KIB: u32 = 128 * 1024;
/// Argon2 work, memory (KiB) × passes: 1 GiB-passes. The time is proportional to it
/// (the lanes are computed one after the other): 128 MiB × t=4 took 510 ms, 64 MiB × t=8
/// 632 ms, Django's 100 MiB × t=2 (p=8) 268 ms, the crate's 19 MiB × t=2 30 ms; the old
/// ceiling, 256 MiB × t=16, took 7.7 s.
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_WORK_KIB: u64 = 1024 * 1024;
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_T: u32 = 16;
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_P: u32 = 16;
/// scrypt memory, `128 · r · N` bytes: 128 MiB, what the crate's recommended ln=17, r=8
/// uses (1.0 s here; Django's ln=14, r=8 takes 128 ms).
#[cfg(any(feature = "scrypt", feature = "django"))]
pub(super) const SCRYPT_MAX_MEMORY: u64 = 128 * 1024 * 1024;
/// scrypt work, memory × p (the p rounds run one after the other): 128 MiB, so that
/// ln=17, r=8, p=1 is the most expensive hash accepted (p=2 took 1.7 s, ln=18 1.6 s).
#[cfg(any(feature = "scrypt", feature = "django"))]
pub(super) const SCRYPT_MAX_WORK: u64 = 128 * 1024 * 1024;
#[cfg(any(feature = "scrypt", feature = "django"))]
pub(super) const SCRYPT_MAX_P: u32 = 16;
/// PBKDF2 iterations: 3 million. Django 5.2 writes 1,000,000 (213 ms here), 6.0 writes
/// 1,200,000 (317 ms); 2 million took 624 ms, 4 million 1.36 s, the old ceiling of 10
/// million 22 s of CPU.
#[cfg(feature = "django")]
pub(super) const PBKDF2_MAX_ITERATIONS: u32 = 3_000_000;
/// bcrypt cost 13 (Django uses 12, 231 ms here; 13 took 563 ms, 14 1.6 s: each step
/// doubles the time).
#[cfg(feature = "django")]
pub(super) const BCRYPT_MAX_COST: u32 = 13;
