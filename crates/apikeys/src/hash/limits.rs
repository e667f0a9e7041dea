//! Work-factor ceilings for hashes read from storage. A stored hash is data, and a corrupt or
//! planted record must not make one verification allocate gigabytes or run for minutes.

#[cfg(any(feature = "argon2", feature = "django"))]
/// Argon2 memory, in KiB (256 MiB; Django's default is 100 MiB, the crate's 19 MiB).
pub(super) const ARGON2_MAX_M_KIB: u32 = 256 * 1024;
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_T: u32 = 16;
#[cfg(any(feature = "argon2", feature = "django"))]
pub(super) const ARGON2_MAX_P: u32 = 16;
#[cfg(any(feature = "scrypt", feature = "django"))]
/// scrypt memory, `128 · r · N` bytes (512 MiB; the recommended ln=17, r=8 uses 128 MiB).
pub(super) const SCRYPT_MAX_MEMORY: u64 = 512 * 1024 * 1024;
#[cfg(any(feature = "scrypt", feature = "django"))]
pub(super) const SCRYPT_MAX_P: u32 = 16;
/// PBKDF2 iterations (Django 5.2 uses 1,000,000).
#[cfg(feature = "django")]
pub(super) const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// bcrypt cost (Django uses 12; every step doubles the time).
#[cfg(feature = "django")]
pub(super) const BCRYPT_MAX_COST: u32 = 16;
