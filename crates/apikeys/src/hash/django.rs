//! Verification of hashes written by Django's password hashers, which
//! djangorestframework-api-key used before 3.0 (and still reads). Verify-only: a key that
//! matches is upgraded to the preferred hasher.

use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::limits::{BCRYPT_MAX_COST, PBKDF2_MAX_ITERATIONS};
use super::{HashError, KeyHasher};

/// The longest derived key Django writes (scrypt: 64 bytes).
const MAX_DERIVED_LEN: usize = 64;
/// Django's scrypt derives 64 bytes.
const SCRYPT_LEN: usize = 64;
/// `$2b$12$` + 22 characters of salt + 31 of hash.
const BCRYPT_LEN: usize = 60;

/// Reads `pbkdf2_sha256$…`, `pbkdf2_sha1$…`, `argon2$argon2id$…`, `bcrypt_sha256$$2b$…`,
/// `bcrypt$$2b$…` and `scrypt$…` hashes as Django writes them. Their costs are those of
/// password hashes (Django's PBKDF2 default is a million iterations), so verification runs
/// off the async threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct DjangoHasher;

#[derive(Clone, Copy)]
enum Algorithm {
    Pbkdf2Sha256,
    Pbkdf2Sha1,
    Argon2,
    BcryptSha256,
    Bcrypt,
    Scrypt,
}

impl Algorithm {
    fn of(stored: &str) -> Option<(Self, &str)> {
        let (tag, rest) = stored.split_once('$')?;
        let algorithm = match tag {
            "pbkdf2_sha256" => Self::Pbkdf2Sha256,
            "pbkdf2_sha1" => Self::Pbkdf2Sha1,
            "argon2" => Self::Argon2,
            "bcrypt_sha256" => Self::BcryptSha256,
            "bcrypt" => Self::Bcrypt,
            "scrypt" => Self::Scrypt,
            _ => return None,
        };
        Some((algorithm, rest))
    }
}

impl KeyHasher for DjangoHasher {
    fn algorithm(&self) -> &'static str {
        "django"
    }

    fn recognizes(&self, stored: &str) -> bool {
        Algorithm::of(stored).is_some()
    }

    fn hash(&self, _key: &[u8]) -> Result<String, HashError> {
        Err(HashError::VerifyOnly("django"))
    }

    fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
        let (algorithm, rest) = Algorithm::of(stored).ok_or(HashError::UnknownAlgorithm)?;
        match algorithm {
            Algorithm::Pbkdf2Sha256 => pbkdf2::<Sha256>(key, rest, 32),
            Algorithm::Pbkdf2Sha1 => pbkdf2::<sha1::Sha1>(key, rest, 20),
            // Django prepends "argon2" to the PHC string, whose own `$` follows.
            Algorithm::Argon2 => super::argon2::verify_phc(key, &stored["argon2".len()..]),
            Algorithm::BcryptSha256 => {
                let digest = Sha256::digest(key);
                let hex = zeroize::Zeroizing::new(base16ct::lower::encode_string(&digest));
                bcrypt(hex.as_bytes(), rest)
            }
            Algorithm::Bcrypt => bcrypt(key, rest),
            Algorithm::Scrypt => scrypt(key, rest),
        }
    }

    fn is_expensive(&self) -> bool {
        true
    }

    fn is_verify_only(&self) -> bool {
        true
    }
}

/// `<iterations>$<salt>$<base64 of the derived key>`; Django derives `digest_len` bytes,
/// the digest size of the HMAC's hash.
fn pbkdf2<D>(key: &[u8], rest: &str, digest_len: usize) -> Result<bool, HashError>
where
    D: hmac::EagerHash,
{
    let mut fields = rest.split('$');
    let (Some(iterations), Some(salt), Some(expected), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(HashError::Malformed("pbkdf2 needs iterations$salt$hash"));
    };
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| HashError::Malformed("pbkdf2 iterations"))?;
    if iterations == 0 {
        return Err(HashError::Malformed("pbkdf2 iterations"));
    }
    if iterations > PBKDF2_MAX_ITERATIONS {
        return Err(HashError::CostTooHigh("pbkdf2 iterations"));
    }
    let mut expected_buf = [0u8; MAX_DERIVED_LEN];
    let expected = decode_digest(expected, &mut expected_buf, digest_len)?;
    let mut derived = zeroize::Zeroizing::new([0u8; MAX_DERIVED_LEN]);
    let derived = &mut derived[..digest_len];
    ::pbkdf2::pbkdf2_hmac::<D>(key, salt.as_bytes(), iterations, derived);
    Ok(derived.ct_eq(expected).into())
}

/// `$2b$<cost>$<salt and hash>`: the modular-crypt string after Django's tag.
fn bcrypt(password: &[u8], modular: &str) -> Result<bool, HashError> {
    // The modular-crypt string has a fixed size: 22 characters of salt, 31 of hash.
    if modular.len() != BCRYPT_LEN {
        return Err(HashError::Malformed("bcrypt string is not 60 characters"));
    }
    let cost = modular
        .strip_prefix('$')
        .and_then(|s| s.split('$').nth(1))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or(HashError::Malformed("bcrypt string"))?;
    if cost > BCRYPT_MAX_COST {
        return Err(HashError::CostTooHigh("bcrypt cost"));
    }
    ::bcrypt::verify(password, modular).map_err(|_| HashError::Malformed("bcrypt string"))
}

/// `<N>$<salt>$<r>$<p>$<base64 of the 64-byte derived key>`
fn scrypt(key: &[u8], rest: &str) -> Result<bool, HashError> {
    let fields: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, expected] = fields[..] else {
        return Err(HashError::Malformed("scrypt needs N$salt$r$p$hash"));
    };
    let n: u64 = n.parse().map_err(|_| HashError::Malformed("scrypt N"))?;
    if !n.is_power_of_two() || n < 2 {
        return Err(HashError::Malformed("scrypt N must be a power of two"));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| HashError::Malformed("scrypt N"))?;
    let r: u32 = r.parse().map_err(|_| HashError::Malformed("scrypt r"))?;
    let p: u32 = p.parse().map_err(|_| HashError::Malformed("scrypt p"))?;
    super::scrypt::check_cost(log_n, r, p)?;
    let mut expected_buf = [0u8; MAX_DERIVED_LEN];
    let expected = decode_digest(expected, &mut expected_buf, SCRYPT_LEN)?;
    let mut derived = zeroize::Zeroizing::new([0u8; MAX_DERIVED_LEN]);
    let derived = &mut derived[..SCRYPT_LEN];
    super::scrypt::derive(key, salt.as_bytes(), log_n, r, p, derived)?;
    Ok(derived.ct_eq(expected).into())
}

/// The stored digest, which must be exactly as long as the algorithm writes it: compared
/// as stored, a truncated one (`pbkdf2_sha256$1$c2FsdA$AA==`, one byte) would match one
/// secret in 256.
fn decode_digest<'a>(text: &str, buf: &'a mut [u8], len: usize) -> Result<&'a [u8], HashError> {
    match Base64::decode(text, buf) {
        Ok(bytes) if bytes.len() == len => Ok(bytes),
        Ok(_) => Err(HashError::Malformed(
            "digest length differs from the algorithm's",
        )),
        Err(_) => Err(HashError::Malformed("base64 digest")),
    }
}
