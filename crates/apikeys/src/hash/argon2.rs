use argon2::{Argon2, Params};
use password_hash::PasswordVerifier;
use password_hash::phc::PasswordHash;

use super::HashError;
use super::limits::{ARGON2_MAX_M_KIB, ARGON2_MAX_P, ARGON2_MAX_T, ARGON2_MAX_WORK_KIB};

/// The output length every writer of the hashes read here uses.
const OUTPUT_LEN: usize = 32;

/// Checks `key` against an Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
/// after refusing parameters beyond the limits.
pub(super) fn verify_phc(key: &[u8], phc: &str) -> Result<bool, HashError> {
    let hash =
        PasswordHash::new(phc).map_err(|_| HashError::Malformed("not an argon2 PHC string"))?;
    let params = Params::try_from(&hash).map_err(|_| HashError::Malformed("argon2 parameters"))?;
    if params.m_cost() > ARGON2_MAX_M_KIB
        || params.t_cost() > ARGON2_MAX_T
        || params.p_cost() > ARGON2_MAX_P
        || u64::from(params.m_cost()) * u64::from(params.t_cost()) > ARGON2_MAX_WORK_KIB
    {
        return Err(HashError::CostTooHigh("argon2 m, t or p"));
    }
    if hash.salt.is_none() {
        return Err(HashError::Malformed("argon2 hash without salt"));
    }
    // A shorter output would match more than one secret in 2^256; Django and the argon2
    // crate both write 32 bytes.
    if hash.hash.as_ref().map(password_hash::phc::Output::len) != Some(OUTPUT_LEN) {
        return Err(HashError::Malformed("argon2 output is not 32 bytes"));
    }
    match Argon2::default().verify_password(key, &hash) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(HashError::Malformed(
            "argon2 algorithm, version or parameters",
        )),
    }
}

#[cfg(feature = "argon2")]
pub use self::hasher::Argon2Hasher;

#[cfg(feature = "argon2")]
mod hasher {
    use password_hash::PasswordHasher;

    use super::{Argon2, HashError, Params, PasswordHash, verify_phc};
    use crate::hash::KeyHasher;

    /// Argon2id in PHC strings, for regimes that demand a password hash. About 18 ms per
    /// verification at the default parameters (19 MiB, t=2, p=1); runs off the async threads.
    #[derive(Debug, Clone, Default)]
    pub struct Argon2Hasher {
        params: Params,
    }

    impl Argon2Hasher {
        /// Argon2id with custom costs: memory in KiB, iterations, lanes.
        pub fn with_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
            let params = Params::new(m_cost_kib, t_cost, p_cost, None)
                .map_err(|_| HashError::InvalidParameters { hasher: "argon2" })?;
            Ok(Self { params })
        }
    }

    impl KeyHasher for Argon2Hasher {
        fn algorithm(&self) -> &'static str {
            "argon2"
        }

        fn recognizes(&self, stored: &str) -> bool {
            stored.starts_with("$argon2")
        }

        fn hash(&self, key: &[u8]) -> Result<String, HashError> {
            Argon2::from(&self.params)
                .hash_password(key)
                .map(|h| h.to_string())
                .map_err(|e| HashError::failed("argon2", e))
        }

        fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
            verify_phc(key, stored)
        }

        fn is_expensive(&self) -> bool {
            true
        }

        fn is_obsolete(&self, stored: &str) -> bool {
            PasswordHash::new(stored)
                .ok()
                .and_then(|h| Params::try_from(&h).ok())
                .is_none_or(|p| {
                    p.m_cost() != self.params.m_cost()
                        || p.t_cost() != self.params.t_cost()
                        || p.p_cost() != self.params.p_cost()
                })
                || !stored.starts_with("$argon2id$")
        }
    }
}
