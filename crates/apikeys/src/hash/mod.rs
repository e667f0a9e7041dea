//! Hashing of keys for storage, and verification of stored hashes.

use std::fmt;
use std::sync::Arc;

#[cfg(any(feature = "argon2", feature = "django"))]
mod argon2;
#[cfg(feature = "django")]
mod django;
#[cfg(any(feature = "argon2", feature = "scrypt", feature = "django"))]
mod limits;
#[cfg(any(feature = "scrypt", feature = "django"))]
mod scrypt;
#[cfg(feature = "sha512")]
mod sha512;

#[cfg(feature = "argon2")]
pub use self::argon2::Argon2Hasher;
#[cfg(feature = "django")]
pub use self::django::DjangoHasher;
#[cfg(feature = "scrypt")]
pub use self::scrypt::ScryptHasher;
#[cfg(feature = "sha512")]
pub use self::sha512::Sha512Hasher;

#[cfg(not(any(feature = "sha512", feature = "argon2", feature = "scrypt")))]
compile_error!(
    "apikeys needs a hasher for new keys: enable at least one of the features `sha512` (default), `argon2` or `scrypt`"
);

/// A stored hash could not be checked. Verification treats every one of these as a
/// non-match; none of them costs an expensive hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// No configured hasher knows this hash's algorithm.
    #[error("unknown or unsupported hash algorithm")]
    UnknownAlgorithm,
    /// The hash names a known algorithm but is truncated or corrupt.
    #[error("malformed hash: {0}")]
    Malformed(&'static str),
    /// The hash asks for a work factor beyond the safety limits (a corrupt or hostile record).
    #[error("hash parameters exceed the allowed cost: {0}")]
    CostTooHigh(&'static str),
    /// This hasher only verifies hashes written elsewhere.
    #[error("the {0} hasher is verify-only")]
    VerifyOnly(&'static str),
    /// A hasher was configured with parameters its algorithm does not accept.
    #[error("invalid {hasher} parameters")]
    InvalidParameters {
        /// The hasher's algorithm.
        hasher: &'static str,
    },
    /// The hashing library failed to hash a new key.
    #[error("{hasher} hashing failed")]
    Failed {
        /// The hasher's algorithm.
        hasher: &'static str,
        /// The library's error, kept opaque so that its type is not part of this API.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl HashError {
    #[cfg(any(feature = "argon2", feature = "scrypt"))]
    pub(crate) fn failed(
        hasher: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Failed {
            hasher,
            source: Box::new(source),
        }
    }
}

/// One way of hashing keys. Implementations are cheap to share and never panic on input.
pub trait KeyHasher: Send + Sync + 'static {
    /// The algorithm's name, as in the feature flag (`"sha512"`, `"argon2"`, …).
    fn algorithm(&self) -> &'static str;

    /// Whether `stored` is a hash this hasher reads, judged by its algorithm tag only.
    fn recognizes(&self, stored: &str) -> bool;

    /// Hashes a key for storage.
    fn hash(&self, key: &[u8]) -> Result<String, HashError>;

    /// Whether `key` matches `stored`, comparing digests in constant time.
    fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError>;

    /// Whether hashing takes long enough (milliseconds) that it must run off the async
    /// executor's worker threads.
    fn is_expensive(&self) -> bool;

    /// Whether this hasher only verifies hashes written elsewhere (a legacy format, like
    /// Django's password hashers): keys it verifies are re-hashed with the preferred
    /// hasher by default.
    fn is_verify_only(&self) -> bool {
        false
    }

    /// Whether a hash this hasher recognizes was made with settings other than its current
    /// ones, and should be replaced on the next successful verification.
    fn is_obsolete(&self, stored: &str) -> bool {
        let _ = stored;
        false
    }
}

/// The result of checking a key against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCheck {
    /// The key matches.
    pub matched: bool,
    /// The key matched a hash that should be replaced by the preferred hasher's: a
    /// verify-only (legacy) hash, the preferred hasher's own with obsolete settings, or any
    /// other hash with [`Hashers::migrate_all`].
    pub needs_upgrade: bool,
}

/// The hasher for new keys plus the hashers that verify older ones.
#[derive(Clone)]
pub struct Hashers {
    preferred: Arc<dyn KeyHasher>,
    legacy: Vec<Arc<dyn KeyHasher>>,
    migrate_all: bool,
}

impl fmt::Debug for Hashers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hashers")
            .field("preferred", &self.preferred.algorithm())
            .field(
                "legacy",
                &self
                    .legacy
                    .iter()
                    .map(|h| h.algorithm())
                    .collect::<Vec<_>>(),
            )
            .field("migrate_all", &self.migrate_all)
            .finish()
    }
}

impl Default for Hashers {
    /// Prefers SHA-512 (else Argon2id, else scrypt) and verifies with every enabled hasher.
    fn default() -> Self {
        let mut all: Vec<Arc<dyn KeyHasher>> = Vec::new();
        #[cfg(feature = "sha512")]
        all.push(Arc::new(Sha512Hasher));
        #[cfg(feature = "argon2")]
        all.push(Arc::new(Argon2Hasher::default()));
        #[cfg(feature = "scrypt")]
        all.push(Arc::new(ScryptHasher::default()));
        let preferred = all.remove(0);
        #[cfg(feature = "django")]
        all.push(Arc::new(DjangoHasher));
        Self {
            preferred,
            legacy: all,
            migrate_all: false,
        }
    }
}

impl Hashers {
    /// Only `preferred`: new keys are hashed and verified with it, nothing else verifies.
    pub fn new(preferred: impl KeyHasher) -> Self {
        Self {
            preferred: Arc::new(preferred),
            legacy: Vec::new(),
            migrate_all: false,
        }
    }

    /// Also re-hashes keys that match a hash of a hasher that can make new keys (sha512,
    /// argon2, scrypt) with the preferred one. Off by default, so that a tool built with
    /// other defaults never silently turns an application's Argon2id keys into SHA-512;
    /// verify-only (legacy) hashes are upgraded either way.
    #[must_use]
    pub fn migrate_all(mut self) -> Self {
        self.migrate_all = true;
        self
    }

    /// Also verifies hashes `hasher` recognizes. Keys that match one are upgraded to the
    /// preferred hasher if `hasher` is verify-only, or with [`Hashers::migrate_all`].
    #[must_use]
    pub fn with_legacy(mut self, hasher: impl KeyHasher) -> Self {
        self.legacy.push(Arc::new(hasher));
        self
    }

    /// The hasher for new keys.
    pub fn preferred(&self) -> &dyn KeyHasher {
        &*self.preferred
    }

    /// The hasher that reads `stored`, if any.
    pub fn find(&self, stored: &str) -> Option<&dyn KeyHasher> {
        self.find_ranked(stored).map(|(hasher, _)| hasher)
    }

    /// The hasher that reads `stored`, and whether it is the preferred one.
    fn find_ranked(&self, stored: &str) -> Option<(&dyn KeyHasher, bool)> {
        if self.preferred.recognizes(stored) {
            return Some((&*self.preferred, true));
        }
        self.legacy
            .iter()
            .find(|h| h.recognizes(stored))
            .map(|h| (&**h, false))
    }

    /// Hashes a new key with the preferred hasher.
    pub fn hash(&self, key: &[u8]) -> Result<String, HashError> {
        self.preferred.hash(key)
    }

    /// Checks `key` against `stored` with whichever hasher reads it.
    pub fn check(&self, key: &[u8], stored: &str) -> Result<HashCheck, HashError> {
        let (hasher, preferred) = self
            .find_ranked(stored)
            .ok_or(HashError::UnknownAlgorithm)?;
        let matched = hasher.verify(key, stored)?;
        Ok(HashCheck {
            matched,
            needs_upgrade: matched
                && if preferred {
                    hasher.is_obsolete(stored)
                } else {
                    self.migrate_all || hasher.is_verify_only()
                },
        })
    }

    /// Whether checking `stored` is slow enough to belong off the async threads.
    pub fn is_expensive(&self, stored: &str) -> bool {
        self.find(stored).is_some_and(KeyHasher::is_expensive)
    }
}

/// The most memory one verification may use under the ceilings of the enabled hashers
/// (0 when every enabled hasher is cheap): what sizes the default cap on concurrent checks.
pub(crate) fn max_check_memory() -> u64 {
    #[allow(unused_mut)]
    let mut most = 0u64;
    #[cfg(any(feature = "argon2", feature = "django"))]
    {
        most = most.max(u64::from(limits::ARGON2_MAX_M_KIB) * 1024);
    }
    #[cfg(any(feature = "scrypt", feature = "django"))]
    {
        most = most.max(limits::SCRYPT_MAX_MEMORY);
    }
    most
}

#[cfg(test)]
mod tests;
