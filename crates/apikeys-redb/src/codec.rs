//! The on-disk encoding of records and index entries.
//!
//! Record, format version 1 (the prefix is the table key, so it is not repeated):
//!
//! ```text
//! u8      version (1)
//! u8      flags: 1 revoked, 2 has expiry, 4 hash is compact SHA-512
//! i64 LE  created, microseconds since the Unix epoch (UTC)
//! i64 LE  expires, same unit                    (only with flag 2)
//! hash    64 raw digest bytes                   (flag 4: the stored form is `sha512$$<hex>`)
//!         or varint length + UTF-8 text         (any other hasher's string)
//! name    varint length + UTF-8
//! scopes  varint count, then each: varint length + UTF-8
//! meta    varint length + JSON object text      (length 0: empty object)
//! ```
//!
//! Metadata is JSON text because `serde_json::Value` needs a self-describing format.
//! Later versions get a new version byte and keep a decoder for this one.
//!
//! Index entry value, version 1: `u8 version, u8 flags (1 revoked, 2 has expiry),
//! [i64 LE expires], name as UTF-8 to the end` — what listing filters on, without decoding
//! the record.

use std::collections::BTreeSet;

use apikeys::{ApiKey, Metadata};
use time::OffsetDateTime;

const RECORD_V1: u8 = 1;
const INDEX_V1: u8 = 1;

const REVOKED: u8 = 1;
const HAS_EXPIRY: u8 = 2;
const COMPACT_SHA512: u8 = 4;
const RECORD_FLAGS: u8 = REVOKED | HAS_EXPIRY | COMPACT_SHA512;
const INDEX_FLAGS: u8 = REVOKED | HAS_EXPIRY;

const SHA512_TAG: &str = "sha512$$";
const SHA512_LEN: usize = 64;

/// Microseconds since the Unix epoch: the precision every apikeys store keeps. Every
/// `OffsetDateTime` (years ±9999) fits.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1000)).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| format!("timestamp out of range: {e}"))
}

/// The record as it reads back: timestamps in UTC at microsecond precision. The cache holds
/// this form, so a cached record equals one decoded from the file.
pub(crate) fn normalized(key: &ApiKey) -> ApiKey {
    let mut key = key.clone();
    key.created = from_micros(to_micros(key.created)).unwrap_or(key.created);
    key.expires = key.expires.map(|e| from_micros(to_micros(e)).unwrap_or(e));
    key
}

pub(crate) fn encode_record(key: &ApiKey) -> Vec<u8> {
    let metadata = if key.metadata.is_empty() {
        String::new()
    } else {
        serde_json::Value::Object(key.metadata.clone()).to_string()
    };
    let compact = compact_sha512(&key.hashed_key);
    let mut flags = 0;
    if key.revoked {
        flags |= REVOKED;
    }
    if key.expires.is_some() {
        flags |= HAS_EXPIRY;
    }
    if compact.is_some() {
        flags |= COMPACT_SHA512;
    }
    let mut out = Vec::with_capacity(96 + key.name.len() + metadata.len());
    out.push(RECORD_V1);
    out.push(flags);
    out.extend_from_slice(&to_micros(key.created).to_le_bytes());
    if let Some(expires) = key.expires {
        out.extend_from_slice(&to_micros(expires).to_le_bytes());
    }
    match compact {
        Some(digest) => out.extend_from_slice(&digest),
        None => put_bytes(&mut out, key.hashed_key.as_bytes()),
    }
    put_bytes(&mut out, key.name.as_bytes());
    put_varint(&mut out, key.scopes.len() as u64);
    for scope in &key.scopes {
        put_bytes(&mut out, scope.as_bytes());
    }
    put_bytes(&mut out, metadata.as_bytes());
    out
}

pub(crate) fn decode_record(prefix: &str, bytes: &[u8]) -> Result<ApiKey, String> {
    let mut r = Reader(bytes);
    match r.byte()? {
        RECORD_V1 => {}
        v => return Err(format!("unknown record format version {v}")),
    }
    let flags = r.byte()?;
    if flags & !RECORD_FLAGS != 0 {
        return Err(format!("unknown record flags {flags:#04x}"));
    }
    let created = from_micros(r.i64()?)?;
    let expires = if flags & HAS_EXPIRY == 0 {
        None
    } else {
        Some(from_micros(r.i64()?)?)
    };
    let hashed_key = if flags & COMPACT_SHA512 == 0 {
        r.string("hash")?
    } else {
        let digest = r.take(SHA512_LEN, "hash")?;
        let mut hashed = String::with_capacity(SHA512_TAG.len() + 2 * SHA512_LEN);
        hashed.push_str(SHA512_TAG);
        for b in digest {
            hashed.push(hex_digit(b >> 4));
            hashed.push(hex_digit(b & 0xf));
        }
        hashed
    };
    let name = r.string("name")?;
    let count = r.varint()?;
    let mut scopes = BTreeSet::new();
    for _ in 0..count {
        scopes.insert(r.string("scope")?);
    }
    let metadata = r.string("metadata")?;
    let metadata: Metadata = if metadata.is_empty() {
        Metadata::new()
    } else {
        serde_json::from_str(&metadata)
            .map_err(|e| format!("metadata is not a JSON object: {e}"))?
    };
    if !r.0.is_empty() {
        return Err(format!("{} unexpected bytes after the record", r.0.len()));
    }
    Ok(ApiKey {
        prefix: prefix.to_owned(),
        hashed_key,
        name,
        created,
        expires,
        revoked: flags & REVOKED != 0,
        scopes,
        metadata,
    })
}

/// What listing needs of a key, kept in the index so a search scan never decodes records.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry<'a> {
    pub(crate) revoked: bool,
    pub(crate) expires: Option<i64>,
    pub(crate) name: &'a str,
}

pub(crate) fn encode_index(key: &ApiKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + key.name.len());
    out.push(INDEX_V1);
    let mut flags = 0;
    if key.revoked {
        flags |= REVOKED;
    }
    if key.expires.is_some() {
        flags |= HAS_EXPIRY;
    }
    out.push(flags);
    if let Some(expires) = key.expires {
        out.extend_from_slice(&to_micros(expires).to_le_bytes());
    }
    out.extend_from_slice(key.name.as_bytes());
    out
}

pub(crate) fn decode_index(bytes: &[u8]) -> Result<IndexEntry<'_>, String> {
    let mut r = Reader(bytes);
    match r.byte()? {
        INDEX_V1 => {}
        v => return Err(format!("unknown index entry version {v}")),
    }
    let flags = r.byte()?;
    if flags & !INDEX_FLAGS != 0 {
        return Err(format!("unknown index entry flags {flags:#04x}"));
    }
    let expires = if flags & HAS_EXPIRY == 0 {
        None
    } else {
        Some(r.i64()?)
    };
    let name = std::str::from_utf8(r.0).map_err(|_| "index name is not UTF-8".to_owned())?;
    Ok(IndexEntry {
        revoked: flags & REVOKED != 0,
        expires,
        name,
    })
}

/// The 64 digest bytes of `sha512$$<128 lowercase hex>`, when decoding gives back exactly
/// this string (any other spelling is kept as text).
fn compact_sha512(hashed: &str) -> Option<[u8; SHA512_LEN]> {
    let hex = hashed.strip_prefix(SHA512_TAG)?.as_bytes();
    if hex.len() != 2 * SHA512_LEN {
        return None;
    }
    let mut digest = [0u8; SHA512_LEN];
    for (out, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        *out = (lower_hex_value(pair[0])? << 4) | lower_hex_value(pair[1])?;
    }
    Some(digest)
}

fn lower_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_digit(v: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(v & 0xf)])
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(low_bits(v) | 0x80);
        v >>= 7;
    }
    out.push(low_bits(v));
}

/// The low seven bits of `v`.
fn low_bits(v: u64) -> u8 {
    u8::try_from(v & 0x7f).unwrap_or_default()
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("record ends inside the {what}"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1, "header")?[0])
    }

    fn i64(&mut self) -> Result<i64, String> {
        let bytes = self.take(8, "timestamps")?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(i64::from_le_bytes(array))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("length field too long".to_owned())
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| format!("{what} too long"))?;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests;
