//! Key layout, generation and parsing.

use std::fmt;

use rand_core::TryRng;
use zeroize::Zeroizing;

use crate::plaintext::PlaintextKey;

/// Characters of prefixes, secrets and checksums: `[A-Za-z0-9]`, the alphabet
/// djangorestframework-api-key draws from.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random bytes below this bound map uniformly onto the alphabet (4 × 62 = 248).
const UNBIASED_BOUND: u8 = 248;
/// Width of the base62 CRC32 checksum: 62⁶ > 2³².
const CHECKSUM_LEN: usize = 6;
const SEPARATOR: u8 = b'.';

const PREFIX_LEN_RANGE: std::ops::RangeInclusive<usize> = 4..=32;
/// At least 22 characters keeps more than 128 bits in the secret.
const SECRET_LEN_RANGE: std::ops::RangeInclusive<usize> = 22..=128;
const BRAND_MAX_LEN: usize = 32;

/// The shape of API keys: `{brand}{prefix}.{secret}{checksum}`.
///
/// The default, `KeyFormat::default()`, is djangorestframework-api-key's: an 8-character
/// prefix, a dot and a 32-character secret, no brand and no checksum.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix_len: usize,
    secret_len: usize,
    brand: String,
    checksum: bool,
}

impl fmt::Debug for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFormat")
            .field("brand", &self.brand)
            .field("prefix_len", &self.prefix_len)
            .field("secret_len", &self.secret_len)
            .field("checksum", &self.checksum)
            .finish()
    }
}

impl Default for KeyFormat {
    fn default() -> Self {
        Self {
            prefix_len: 8,
            secret_len: 32,
            brand: String::new(),
            checksum: false,
        }
    }
}

/// A `KeyFormat` setting that is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The prefix length is outside 4..=32.
    #[error("prefix length must be between 4 and 32 characters, got {0}")]
    PrefixLength(usize),
    /// The secret length is outside 22..=128.
    #[error("secret length must be between 22 and 128 characters, got {0}")]
    SecretLength(usize),
    /// The brand is too long, uses characters other than `[A-Za-z0-9_-]`, or does not start
    /// with a letter or digit.
    #[error(
        "brand must be at most 32 characters of [A-Za-z0-9_-] starting with a letter or digit, got {0:?}"
    )]
    Brand(String),
}

/// Configures a [`KeyFormat`]; start with [`KeyFormat::builder`]. The settings are checked
/// once, by [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct KeyFormatBuilder {
    format: KeyFormat,
}

impl KeyFormatBuilder {
    /// The prefix length (4–32 characters; default 8).
    pub fn prefix_len(mut self, len: usize) -> Self {
        self.format.prefix_len = len;
        self
    }

    /// The secret length (22–128 characters; default 32).
    pub fn secret_len(mut self, len: usize) -> Self {
        self.format.secret_len = len;
        self
    }

    /// A fixed brand in front of every key, e.g. `acme_live_`, so that people and secret
    /// scanners can tell the key's issuer: at most 32 characters of `[A-Za-z0-9_-]`,
    /// starting with a letter or digit (default: none).
    pub fn brand(mut self, brand: impl Into<String>) -> Self {
        self.format.brand = brand.into();
        self
    }

    /// Appends a base62 CRC32 of the rest of the key (6 characters), so that a mistyped or
    /// truncated key is refused without a store lookup (default: off).
    pub fn checksum(mut self, checksum: bool) -> Self {
        self.format.checksum = checksum;
        self
    }

    /// The format, or the first setting out of range (checked in the order prefix length,
    /// secret length, brand).
    pub fn build(self) -> Result<KeyFormat, FormatError> {
        let format = self.format;
        if !PREFIX_LEN_RANGE.contains(&format.prefix_len) {
            return Err(FormatError::PrefixLength(format.prefix_len));
        }
        if !SECRET_LEN_RANGE.contains(&format.secret_len) {
            return Err(FormatError::SecretLength(format.secret_len));
        }
        let brand = format.brand.as_bytes();
        let valid_brand = brand.len() <= BRAND_MAX_LEN
            && brand.first().is_none_or(u8::is_ascii_alphanumeric)
            && brand
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_brand {
            return Err(FormatError::Brand(format.brand));
        }
        Ok(format)
    }
}

/// The OS random number generator failed; no key was made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

/// A key that has the right shape, borrowed from the presented text.
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    key: &'a str,
    prefix: &'a str,
}

impl<'a> ParsedKey<'a> {
    /// The whole key as presented (what gets hashed).
    pub fn expose_secret(&self) -> &'a str {
        self.key
    }

    /// The lookup prefix (not secret).
    pub fn prefix(&self) -> &'a str {
        self.prefix
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("prefix", &self.prefix)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl KeyFormat {
    /// The default format: `PPPPPPPP.SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a custom format from the default one; [`KeyFormatBuilder::build`] checks it.
    ///
    /// ```
    /// let format = apikeys::KeyFormat::builder()
    ///     .brand("acme_live_")
    ///     .secret_len(40)
    ///     .checksum(true)
    ///     .build()?;
    /// assert_eq!(format.key_len(), 10 + 8 + 1 + 40 + 6);
    /// # Ok::<(), apikeys::FormatError>(())
    /// ```
    pub fn builder() -> KeyFormatBuilder {
        KeyFormatBuilder {
            format: Self::default(),
        }
    }

    /// Length of the lookup prefix.
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// Length of the random secret (without the checksum).
    pub fn secret_len(&self) -> usize {
        self.secret_len
    }

    /// The fixed brand, empty when none.
    pub fn brand(&self) -> &str {
        &self.brand
    }

    /// Whether keys end in a CRC32 checksum.
    pub fn has_checksum(&self) -> bool {
        self.checksum
    }

    /// Length in bytes of every key of this format.
    pub fn key_len(&self) -> usize {
        self.brand.len() + self.prefix_len + 1 + self.secret_len + self.checksum_len()
    }

    fn checksum_len(&self) -> usize {
        if self.checksum { CHECKSUM_LEN } else { 0 }
    }

    /// A regular expression matching keys of this format, for secret scanners.
    ///
    /// ```
    /// let format = apikeys::KeyFormat::builder().brand("acme_").checksum(true).build().unwrap();
    /// assert_eq!(format.regex(), r"\bacme_[A-Za-z0-9]{8}\.[A-Za-z0-9]{38}\b");
    /// ```
    pub fn regex(&self) -> String {
        // The brand alphabet [A-Za-z0-9_-] has no regex metacharacters, and a brand starts
        // with an alphanumeric, so `\b` holds in front of every key.
        format!(
            r"\b{}[A-Za-z0-9]{{{}}}\.[A-Za-z0-9]{{{}}}\b",
            self.brand,
            self.prefix_len,
            self.secret_len + self.checksum_len()
        )
    }

    /// Makes a new random key, drawing from the OS CSPRNG.
    pub fn generate(&self) -> Result<PlaintextKey, RandomError> {
        let random_len = self.prefix_len + self.secret_len;
        let mut chars = Zeroizing::new(vec![0u8; random_len]);
        fill_uniform(&mut chars)?;

        let mut key = Zeroizing::new(String::with_capacity(self.key_len()));
        key.push_str(&self.brand);
        let (prefix, secret) = chars.split_at(self.prefix_len);
        // The alphabet is ASCII, so these bytes are valid UTF-8.
        key.extend(prefix.iter().map(|&b| char::from(b)));
        key.push(char::from(SEPARATOR));
        key.extend(secret.iter().map(|&b| char::from(b)));
        if self.checksum {
            let sum = base62_checksum(key.as_bytes());
            key.extend(sum.iter().map(|&b| char::from(b)));
        }
        let prefix_start = self.brand.len();
        Ok(PlaintextKey::new(
            key,
            prefix_start..prefix_start + self.prefix_len,
        ))
    }

    /// Checks that `key` has this format's shape (and checksum) and finds its prefix.
    /// `None` means malformed: nothing about it needs a store lookup.
    pub fn parse<'a>(&self, key: &'a str) -> Option<ParsedKey<'a>> {
        let bytes = key.as_bytes();
        // Without a brand (the default) there is nothing to compare: `starts_with("")`
        // still calls `memcmp`, which showed in a server's profile of every request.
        let branded = self.brand.is_empty() || key.starts_with(self.brand.as_str());
        if bytes.len() != self.key_len() || !branded {
            return None;
        }
        let body = &bytes[self.brand.len()..];
        let (prefix, rest) = body.split_at(self.prefix_len);
        let (&separator, secret) = rest.split_first()?;
        if separator != SEPARATOR
            || !prefix.iter().all(u8::is_ascii_alphanumeric)
            || !secret.iter().all(u8::is_ascii_alphanumeric)
        {
            return None;
        }
        if self.checksum {
            let (signed, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
            if base62_checksum(signed) != sum {
                return None;
            }
        }
        let start = self.brand.len();
        Some(ParsedKey {
            key,
            prefix: &key[start..start + self.prefix_len],
        })
    }
}

/// Fills `out` with alphabet characters by rejection sampling one OS buffer at a time:
/// one syscall for a whole key instead of one per character.
fn fill_uniform(out: &mut [u8]) -> Result<(), RandomError> {
    let mut pool = Zeroizing::new([0u8; 96]);
    let mut filled = 0;
    while filled < out.len() {
        getrandom::SysRng
            .try_fill_bytes(pool.as_mut_slice())
            .map_err(|_| RandomError)?;
        for &byte in pool.iter().filter(|&&b| b < UNBIASED_BOUND) {
            out[filled] = ALPHABET[usize::from(byte % 62)];
            filled += 1;
            if filled == out.len() {
                break;
            }
        }
    }
    Ok(())
}

fn base62_checksum(data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(data);
    let mut out = [ALPHABET[0]; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_have_the_django_shape() {
        let format = KeyFormat::default();
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        assert_eq!(text.len(), 41);
        assert_eq!(&text[8..9], ".");
        assert!(text[..8].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(text[9..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(key.prefix(), &text[..8]);
        assert_eq!(format.parse(text).unwrap().prefix(), key.prefix());
    }

    #[test]
    fn keys_are_distinct() {
        let format = KeyFormat::default();
        let a = format.generate().unwrap();
        let b = format.generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn characters_are_roughly_uniform() {
        // 62 symbols × ~1,600 draws each: a modulo bias towards the first 8 symbols
        // (256 mod 62 = 8) would give them ~25% more hits than the rest.
        let mut counts = [0u32; 62];
        let mut buf = vec![0u8; 100_000];
        fill_uniform(&mut buf).unwrap();
        for b in buf {
            let index = ALPHABET.iter().position(|&a| a == b).unwrap();
            counts[index] += 1;
        }
        let low: u32 = counts[..8].iter().sum::<u32>() / 8;
        let high: u32 = counts[8..].iter().sum::<u32>() / 54;
        let ratio = f64::from(low) / f64::from(high);
        assert!(
            (0.93..1.07).contains(&ratio),
            "ratio {ratio}, counts {counts:?}"
        );
    }

    #[test]
    fn parse_refuses_wrong_shapes() {
        let format = KeyFormat::default();
        let good = "abcdEFGH.0123456789abcdefghijABCDEFGHIJ01";
        assert!(format.parse(good).is_some());
        for bad in [
            "",
            "abcd",
            "foo.bar",
            "abcdEFG.0123456789abcdefghijABCDEFGHIJ012",
            "bcdEFGH.0123456789abcdefghijABCDEFGHIJ01",
            "abcdEFGH-0123456789abcdefghijABCDEFGHIJ01",
            "abcdEFGH.0123456789abcdefghijABCDEFGHIJ0",
            "abcdEFGH.0123456789abcdefghijABCDEFGHIJ012",
            " abcdEFGH.0123456789abcdefghijABCDEFGHIJ0",
            "abcdEFGH.0123456789abcdefghijABCDEFGHI\u{e9}",
            "abcdéFG.0123456789abcdefghijABCDEFGHIJ01",
        ] {
            assert!(format.parse(bad).is_none(), "{bad:?} should be malformed");
        }
    }

    #[test]
    fn brand_and_checksum_round_trip() {
        let format = KeyFormat::builder()
            .brand("acme_live_")
            .checksum(true)
            .build()
            .unwrap();
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        assert!(text.starts_with("acme_live_"));
        assert_eq!(text.len(), 10 + 8 + 1 + 32 + 6);
        let parsed = format.parse(text).unwrap();
        assert_eq!(parsed.prefix(), key.prefix());
        assert_eq!(parsed.prefix(), &text[10..18]);
        // A key of another brand, or without one, is not ours.
        assert!(
            format
                .parse(&text.replacen("acme_live_", "acme_test_", 1))
                .is_none()
        );
        assert!(KeyFormat::default().parse(&text[10..]).is_none());
    }

    #[test]
    fn checksum_catches_typos_and_truncation() {
        let format = KeyFormat::builder().checksum(true).build().unwrap();
        let key = format.generate().unwrap();
        let text = key.expose_secret();
        assert!(format.parse(text).is_some());
        for i in (0..text.len()).filter(|&i| i != 8) {
            let mut typo = text.as_bytes().to_vec();
            typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(typo).unwrap();
            assert!(format.parse(&typo).is_none(), "typo at {i} accepted");
        }
        assert!(format.parse(&text[..text.len() - 1]).is_none());
        // Two transposed characters.
        let mut swapped = text.as_bytes().to_vec();
        swapped.swap(10, 11);
        if swapped != text.as_bytes() {
            assert!(
                format
                    .parse(std::str::from_utf8(&swapped).unwrap())
                    .is_none()
            );
        }
    }

    #[test]
    fn configuration_limits() {
        let build = |b: KeyFormatBuilder| b.build();
        assert_eq!(
            build(KeyFormat::builder().prefix_len(3)),
            Err(FormatError::PrefixLength(3))
        );
        assert_eq!(
            build(KeyFormat::builder().secret_len(10)),
            Err(FormatError::SecretLength(10))
        );
        for brand in ["has.dot", "has space", &"x".repeat(33), "_x", "é"] {
            assert_eq!(
                build(KeyFormat::builder().brand(brand)),
                Err(FormatError::Brand(brand.to_owned())),
                "{brand:?}"
            );
        }
        // Checked once, in a stated order, whatever order the setters ran in.
        assert_eq!(
            build(KeyFormat::builder().brand("_").secret_len(1).prefix_len(99)),
            Err(FormatError::PrefixLength(99))
        );
        let custom = KeyFormat::builder()
            .prefix_len(12)
            .secret_len(48)
            .build()
            .unwrap();
        let key = custom.generate().unwrap();
        assert_eq!(key.expose_secret().len(), 12 + 1 + 48);
        assert!(custom.parse(key.expose_secret()).is_some());
        assert_eq!(KeyFormat::builder().build().unwrap(), KeyFormat::default());
    }

    #[test]
    fn regex_describes_the_format() {
        assert_eq!(
            KeyFormat::default().regex(),
            r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}\b"
        );
    }
}
