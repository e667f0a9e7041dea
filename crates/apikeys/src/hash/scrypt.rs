#[cfg(feature = "django")]
use scrypt::Params;

use super::HashError;
use super::limits::{SCRYPT_MAX_MEMORY, SCRYPT_MAX_P, SCRYPT_MAX_WORK};

/// Refuses scrypt costs beyond the limits before any memory is allocated.
pub(super) fn check_cost(log_n: u8, r: u32, p: u32) -> Result<(), HashError> {
    let memory = 128u64
        .checked_mul(u64::from(r))
        .and_then(|m| m.checked_shl(u32::from(log_n)))
        .filter(|_| log_n < 40);
    let work = memory.and_then(|m| m.checked_mul(u64::from(p)));
    match (memory, work) {
        (Some(m), Some(w))
            if m <= SCRYPT_MAX_MEMORY && w <= SCRYPT_MAX_WORK && p <= SCRYPT_MAX_P =>
        {
            Ok(())
        }
        _ => Err(HashError::CostTooHigh("scrypt N, r or p")),
    }
}

#[cfg(feature = "django")]
/// scrypt of `key` with `salt` into `out` (whose length sets the output length).
pub(super) fn derive(
    key: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    out: &mut [u8],
) -> Result<(), HashError> {
    check_cost(log_n, r, p)?;
    let params = Params::new_with_output_len(log_n, r, p, out.len())
        .map_err(|_| HashError::Malformed("scrypt parameters"))?;
    scrypt::scrypt(key, salt, &params, out)
        .map_err(|_| HashError::Malformed("scrypt output length"))
}

#[cfg(feature = "scrypt")]
pub use self::hasher::ScryptHasher;

#[cfg(feature = "scrypt")]
mod hasher {
    use password_hash::phc::PasswordHash;
    use password_hash::{PasswordHasher, PasswordVerifier};
    use scrypt::{Params, Scrypt};

    use super::check_cost;
    use crate::hash::{HashError, KeyHasher};

    /// scrypt in PHC strings (`$scrypt$ln=17,r=8,p=1$…`). About 350 ms per verification at
    /// the recommended parameters; runs off the async threads.
    #[derive(Debug, Clone, Copy)]
    pub struct ScryptHasher {
        params: Params,
    }

    impl Default for ScryptHasher {
        fn default() -> Self {
            Self {
                params: Params::RECOMMENDED,
            }
        }
    }

    impl ScryptHasher {
        /// scrypt with custom costs: `N = 2^log_n`, block size `r`, parallelism `p`.
        pub fn with_params(log_n: u8, r: u32, p: u32) -> Result<Self, HashError> {
            let params = Params::new(log_n, r, p)
                .map_err(|_| HashError::InvalidParameters { hasher: "scrypt" })?;
            Ok(Self { params })
        }
    }

    fn stored_params(stored: &str) -> Result<(PasswordHash, Params), HashError> {
        let hash = PasswordHash::new(stored)
            .map_err(|_| HashError::Malformed("not a scrypt PHC string"))?;
        check_stored_cost(&hash)?;
        let params =
            Params::try_from(&hash).map_err(|_| HashError::Malformed("scrypt parameters"))?;
        Ok((hash, params))
    }

    /// Refuses costs beyond the limits straight from the PHC parameters, before
    /// `scrypt::Params` validates them: its validation multiplies `r · p` unchecked, which
    /// overflows (a panic in debug builds) on hostile values. Malformed parameters are left
    /// for `Params::try_from` to refuse.
    fn check_stored_cost(hash: &PasswordHash) -> Result<(), HashError> {
        let (mut log_n, mut r, mut p) = (
            Params::RECOMMENDED_LOG_N,
            Params::RECOMMENDED_R,
            Params::RECOMMENDED_P,
        );
        for (ident, value) in hash.params.iter() {
            let Ok(value) = value.decimal() else {
                continue;
            };
            match ident.as_str() {
                "ln" => log_n = u8::try_from(value).unwrap_or(u8::MAX),
                "r" => r = value,
                "p" => p = value,
                _ => {}
            }
        }
        check_cost(log_n, r, p)
    }

    impl KeyHasher for ScryptHasher {
        fn algorithm(&self) -> &'static str {
            "scrypt"
        }

        fn recognizes(&self, stored: &str) -> bool {
            stored.starts_with("$scrypt$")
        }

        fn hash(&self, key: &[u8]) -> Result<String, HashError> {
            Scrypt::new_with_params(self.params)
                .hash_password(key)
                .map(|h| h.to_string())
                .map_err(|e| HashError::failed("scrypt", e))
        }

        fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
            let (hash, params) = stored_params(stored)?;
            check_cost(params.log_n(), params.r(), params.p())?;
            if hash.salt.is_none() {
                return Err(HashError::Malformed("scrypt hash without salt"));
            }
            // A shorter output would match more than one secret in 2^256; the scrypt
            // crate writes 32 bytes.
            if hash.hash.as_ref().map(password_hash::phc::Output::len) != Some(32) {
                return Err(HashError::Malformed("scrypt output is not 32 bytes"));
            }
            match Scrypt::new().verify_password(key, &hash) {
                Ok(()) => Ok(true),
                Err(password_hash::Error::PasswordInvalid) => Ok(false),
                Err(_) => Err(HashError::Malformed("scrypt parameters")),
            }
        }

        fn is_expensive(&self) -> bool {
            true
        }

        fn is_obsolete(&self, stored: &str) -> bool {
            stored_params(stored).map_or(true, |(_, p)| {
                (p.log_n(), p.r(), p.p()) != (self.params.log_n(), self.params.r(), self.params.p())
            })
        }
    }
}
