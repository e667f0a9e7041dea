//! Stored-hash parsing and verification for every hash format.

use apikeys::{
    Argon2Hasher, DjangoHasher, HashError, Hashers, KeyHasher, ScryptHasher, Sha512Hasher,
};
use std::fmt::Write as _;

use arbitrary::Unstructured;
use base64ct::{Base64, Base64Unpadded, Encoding};

/// Runs a stored string past `Hashers` holding SHA-512, Argon2, scrypt and Django's hashers.
///
/// The first byte picks the preferred hasher and the mode:
/// - raw: the rest of the input is the stored string;
/// - near-valid: a string of one format (`sha512$$`, `$argon2id$v=19$m=…`, `$scrypt$ln=…`,
///   `pbkdf2_sha256$`, `pbkdf2_sha1$`, `argon2$argon2id$`, `bcrypt$$2b$`,
///   `bcrypt_sha256$$2b$`, `scrypt$`) whose work factors are small, exactly at the core's
///   ceiling, or beyond it, and whose other fields come from the input, maybe truncated;
/// - real: a low-cost hash of the key, which must match it and only it, then edited.
///
/// A stored string whose work factors lie between this target's budget and the core's
/// ceilings is legitimate and costs up to seconds, so it is not computed: only strings
/// whose every number is at most 8 (19 after `v=`) or beyond 32 bits are, in the raw mode.
/// Strings beyond the ceilings are computed, and must be refused.
pub fn stored_hash(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(choice) = u.arbitrary::<u8>() else {
        return;
    };
    let hashers = hashers(choice % 3);
    let Ok(key_len) = u.int_in_range(0..=48) else {
        return;
    };
    let Ok(key) = u.bytes(key_len).map(<[u8]>::to_vec) else {
        return;
    };
    match (choice / 3) % 3 {
        0 => {
            let stored = String::from_utf8_lossy(u.take_rest());
            check_if_affordable(&hashers, &key, &stored);
        }
        1 => {
            let Ok((stored, cost)) = near_valid(&mut u) else {
                return;
            };
            match cost {
                Cost::Cheap => check(&hashers, &key, &stored),
                Cost::AtCeiling => {
                    recognize(&hashers, &stored);
                }
                Cost::Over => {
                    let recognized = recognize(&hashers, &stored);
                    let result = hashers.check(&key, &stored);
                    assert!(
                        match result {
                            Err(HashError::CostTooHigh(_) | HashError::Malformed(_)) => true,
                            Err(HashError::UnknownAlgorithm) => !recognized,
                            _ => false,
                        },
                        "{stored:?} is beyond the ceilings but gave {result:?}"
                    );
                }
            }
        }
        _ => real(&hashers, &key, &mut u),
    }
}

/// The three hashers that can be preferred, at low costs, and all four as legacy.
fn hashers(preferred: u8) -> Hashers {
    let sha512 = Sha512Hasher;
    let argon2 = Argon2Hasher::with_params(8, 1, 1).expect("valid argon2 parameters");
    let scrypt = ScryptHasher::with_params(1, 1, 1).expect("valid scrypt parameters");
    match preferred {
        0 => Hashers::new(sha512).with_legacy(argon2).with_legacy(scrypt),
        1 => Hashers::new(argon2).with_legacy(sha512).with_legacy(scrypt),
        _ => Hashers::new(scrypt).with_legacy(sha512).with_legacy(argon2),
    }
    .with_legacy(DjangoHasher)
}

/// Finding the hasher never fails, whatever the string.
fn recognize(hashers: &Hashers, stored: &str) -> bool {
    let found = hashers.find(stored);
    assert_eq!(
        hashers.is_expensive(stored),
        found.is_some_and(KeyHasher::is_expensive)
    );
    found.is_some()
}

/// Checks `key` against `stored`: an error or a result, consistent with recognition.
fn check(hashers: &Hashers, key: &[u8], stored: &str) {
    let recognized = recognize(hashers, stored);
    match hashers.check(key, stored) {
        Ok(check) => {
            assert!(recognized, "{stored:?} verified without a hasher");
            assert!(
                check.matched || !check.needs_upgrade,
                "upgrade without a match"
            );
        }
        Err(HashError::UnknownAlgorithm) => {
            assert!(!recognized, "{stored:?} recognized, then unknown");
        }
        Err(_) => assert!(recognized, "{stored:?} failed without a hasher"),
    }
}

fn check_if_affordable(hashers: &Hashers, key: &[u8], stored: &str) {
    if affordable(stored) {
        check(hashers, key, stored);
    } else {
        recognize(hashers, stored);
    }
}

/// Whether verifying `stored` stays within this target's budget: every number in it is at
/// most 8 (19 right after `v=`, Argon2's version), or does not fit in 32 bits (so no hasher
/// takes it as a work factor). SHA-512 strings carry no work factor.
fn affordable(stored: &str) -> bool {
    if stored.starts_with("sha512$$") {
        return true;
    }
    let bytes = stored.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits = stored[start..i].trim_start_matches('0');
        let value = if digits.len() > 19 {
            u64::MAX
        } else {
            digits.parse::<u64>().unwrap_or(0)
        };
        let limit = if stored[..start].ends_with("v=") {
            19
        } else {
            8
        };
        if value > limit && u32::try_from(value).is_ok() {
            return false;
        }
    }
    true
}

/// How a near-valid string's work factors compare with the core's ceilings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cost {
    Cheap,
    AtCeiling,
    Over,
}

/// A work factor as text: small, at the ceiling, beyond it, or not quite a number.
fn work(
    u: &mut Unstructured<'_>,
    small: (u64, u64),
    ceiling: u64,
) -> arbitrary::Result<(String, Cost)> {
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => (u.int_in_range(small.0..=small.1)?.to_string(), Cost::Cheap),
        5 => (ceiling.to_string(), Cost::AtCeiling),
        6 => {
            let over = ceiling + 1 + u64::from(u.arbitrary::<u16>()?);
            (over.to_string(), Cost::Over)
        }
        7 => (
            (*u.choose(&[
                "4294967295",
                "4294967296",
                "18446744073709551616",
                "999999999999",
            ])?)
            .to_owned(),
            Cost::Over,
        ),
        _ => (
            (*u.choose(&[
                "", "0", "-1", "+2", " 1", "1 ", "0x10", "1e3", "\u{663}", "01",
            ])?)
            .to_owned(),
            Cost::Cheap,
        ),
    })
}

/// Text for a salt or similar field: short, from the input, maybe with `$` or `,` in it.
fn field(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let len = u.int_in_range(0..=24)?;
    Ok(String::from_utf8_lossy(u.bytes(len)?).into_owned())
}

/// Base64 of input bytes: the right length for the format, a wrong one, or not base64.
fn digest(u: &mut Unstructured<'_>, len: usize, padded: bool) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0..=2 => encode(u.bytes(len)?, padded),
        3 => {
            let other = u.int_in_range(0..=80)?;
            encode(u.bytes(other)?, padded)
        }
        _ => field(u)?,
    })
}

fn encode(bytes: &[u8], padded: bool) -> String {
    if padded {
        Base64::encode_string(bytes)
    } else {
        Base64Unpadded::encode_string(bytes)
    }
}

/// A string of one stored format, and how costly its work factors are.
fn near_valid(u: &mut Unstructured<'_>) -> arbitrary::Result<(String, Cost)> {
    let (stored, cost) = match u.int_in_range(0..=5)? {
        0 => {
            let len = u.int_in_range(0..=66)?;
            let hex: String = u.bytes(len)?.iter().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            (format!("sha512$${hex}"), Cost::Cheap)
        }
        1 => argon2(u)?,
        2 => {
            // The ceilings for each factor while the others are small: 128 · r · 2^ln is
            // at most 128 MiB.
            let (ln, ln_cost) = work(u, (1, 4), 20)?;
            let (r, r_cost) = work(u, (1, 4), 524_288)?;
            let (p, p_cost) = work(u, (1, 2), 16)?;
            let salt_len = u.int_in_range(0..=24)?;
            let salt = encode(u.bytes(salt_len)?, false);
            let hash = digest(u, 32, false)?;
            let stored = format!("$scrypt$ln={ln},r={r},p={p}${salt}${hash}");
            (stored, ln_cost.max(r_cost).max(p_cost))
        }
        3 => {
            let tag = *u.choose(&["pbkdf2_sha256", "pbkdf2_sha1"])?;
            let (iterations, cost) = work(u, (1, 16), 3_000_000)?;
            let salt = field(u)?;
            let hash = digest(u, if tag == "pbkdf2_sha1" { 20 } else { 32 }, true)?;
            (format!("{tag}${iterations}${salt}${hash}"), cost)
        }
        4 => bcrypt(u)?,
        _ => {
            let (log_n, n_cost) = work(u, (1, 4), 20)?;
            // Django writes N itself; a log that is no number stays as it is.
            let n = log_n
                .parse::<u32>()
                .ok()
                .and_then(|ln| 1u64.checked_shl(ln))
                .map_or(log_n, |n| n.to_string());
            let (r, r_cost) = work(u, (1, 4), 524_288)?;
            let (p, p_cost) = work(u, (1, 2), 16)?;
            let salt = field(u)?;
            let hash = digest(u, 64, true)?;
            let cost = n_cost.max(r_cost).max(p_cost);
            (format!("scrypt${n}${salt}${r}${p}${hash}"), cost)
        }
    };
    if u.ratio(1, 8)? {
        // Truncated: judged like any other string.
        let mut cut = usize::from(u.arbitrary::<u8>()?) % (stored.len() + 1);
        while !stored.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = stored[..cut].to_owned();
        let cost = if affordable(&cut) {
            Cost::Cheap
        } else {
            Cost::AtCeiling
        };
        return Ok((cut, cost));
    }
    Ok((stored, cost))
}

fn argon2(u: &mut Unstructured<'_>) -> arbitrary::Result<(String, Cost)> {
    let django = if u.arbitrary()? { "argon2" } else { "" };
    let variant = *u.choose(&["argon2id", "argon2i", "argon2d", "argon2x", ""])?;
    let version = *u.choose(&["v=19", "v=16", "v=20", "v=", "x=19"])?;
    let (m, m_cost) = work(u, (8, 64), 131_072)?;
    let (t, t_cost) = work(u, (1, 2), 16)?;
    let (p, p_cost) = work(u, (1, 2), 16)?;
    let salt_len = u.int_in_range(0..=24)?;
    let salt = encode(u.bytes(salt_len)?, false);
    let hash = digest(u, 32, false)?;
    let stored = format!("{django}${variant}${version}$m={m},t={t},p={p}${salt}${hash}");
    Ok((stored, m_cost.max(t_cost).max(p_cost)))
}

fn bcrypt(u: &mut Unstructured<'_>) -> arbitrary::Result<(String, Cost)> {
    const ALPHABET: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tag = *u.choose(&["bcrypt", "bcrypt_sha256"])?;
    let version = *u.choose(&["2b", "2a", "2y", "2x", "2c"])?;
    let (cost_text, cost) = work(u, (4, 4), 13)?;
    let cost_text = match cost_text.parse::<u8>() {
        Ok(small) => format!("{small:02}"),
        Err(_) => cost_text,
    };
    let len = if u.ratio(7, 8)? {
        53
    } else {
        u.int_in_range(0..=60)?
    };
    let mut body = String::with_capacity(len);
    for _ in 0..len {
        let b = u.arbitrary::<u8>()?;
        // Mostly bcrypt's alphabet, now and then anything.
        body.push(if b < 250 {
            char::from(ALPHABET[usize::from(b % 64)])
        } else {
            char::from(b)
        });
    }
    Ok((format!("{tag}$${version}${cost_text}${body}"), cost))
}

/// A real low-cost hash of `key` matches it and no other key; then one edit of it.
fn real(hashers: &Hashers, key: &[u8], u: &mut Unstructured<'_>) {
    let stored = hashers.hash(key).expect("the preferred hasher hashes");
    let check = hashers
        .check(key, &stored)
        .expect("a fresh hash is readable");
    assert!(
        check.matched,
        "a fresh hash does not match its key: {stored:?}"
    );
    assert!(
        !check.needs_upgrade,
        "a fresh hash asks for an upgrade: {stored:?}"
    );
    let mut other = key.to_vec();
    other.push(b'x');
    let check = hashers
        .check(&other, &stored)
        .expect("a fresh hash is readable");
    assert!(
        !check.matched,
        "a fresh hash matches another key: {stored:?}"
    );

    // Django's form of an Argon2 hash: the same hash, verified by the legacy hasher.
    if stored.starts_with("$argon2") {
        let django = format!("argon2{stored}");
        let check = hashers
            .check(key, &django)
            .expect("Django's argon2 form is readable");
        assert!(check.matched && check.needs_upgrade, "{django:?}");
    }

    let Ok(at) = u.arbitrary::<u16>() else {
        return;
    };
    let Ok(to) = u.arbitrary::<u8>() else {
        return;
    };
    let mut edited = stored.into_bytes();
    let at = usize::from(at) % edited.len();
    edited[at] = to;
    check_if_affordable(hashers, key, &String::from_utf8_lossy(&edited));
}
