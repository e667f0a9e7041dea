//! The on-disk encoding of records and index entries.
//!
//! Record, format version 3 (the prefix is the table key, so it is not repeated):
//!
//! ```text
//! u8      version (3)
//! u8      flags: 1 revoked, 2 has expiry, 4 hash is compact SHA-512, 8 disabled,
//!         16 has last_used, 32 has owner, 64 has predecessor, 128 has successor
//! i64 LE  created, microseconds since the Unix epoch (UTC)
//! u8      limit flags: 1 has rate limit, 2 has credits, 4 has refill
//! i64 LE  expires, same unit                    (only with flag 2)
//! i64 LE  last_used, same unit                  (only with flag 16)
//! hash    64 raw digest bytes                   (flag 4: the stored form is `sha512$$<hex>`)
//!         or varint length + UTF-8 text         (any other hasher's string)
//! name    varint length + UTF-8
//! scopes  varint count, then each: varint length + UTF-8
//! meta    varint length + JSON object text      (length 0: empty object)
//! owner, predecessor, successor: each varint length + UTF-8 (only with flags 32, 64, 128)
//! limits  rate limit, credits, refill           (per the limit flags; see `limits`)
//! ```
//!
//! Version 2 is the same without the limit flags byte and the limits. Version 1 (written
//! by apikeys-redb 0.1) is version 2 without flags 8 to 128 and their fields. Both are
//! still read, and a record is written as version 3 when it next changes.
//!
//! **Fixed in every version:** byte 0 is the version, bit 0 of byte 1 is `revoked`, bytes
//! 2 to 9 are `created`. So a record this release cannot decode (damaged, or with metadata
//! nested deeper than the JSON parser takes) can still be revoked, by setting that bit,
//! and its index entry found without a scan.
//!
//! Metadata is JSON text because `serde_json::Value` needs a self-describing format.
//!
//! Index entry value, version 2: `u8 version, u8 flags (1 revoked, 2 has expiry,
//! 8 disabled), [i64 LE expires], name as UTF-8 to the end` — what listing filters on,
//! without decoding the record. Version 1 is the same without flag 8.

mod limits;

use std::collections::BTreeSet;

use apikeys::{ApiKey, AuditEvent, Metadata};
use time::OffsetDateTime;

const RECORD_V1: u8 = 1;
const RECORD_V2: u8 = 2;
const RECORD_V3: u8 = 3;
const INDEX_V1: u8 = 1;
const INDEX_V2: u8 = 2;

const REVOKED: u8 = 1;
const HAS_EXPIRY: u8 = 2;
const COMPACT_SHA512: u8 = 4;
const DISABLED: u8 = 8;
const HAS_LAST_USED: u8 = 16;
const HAS_OWNER: u8 = 32;
const HAS_PREDECESSOR: u8 = 64;
const HAS_SUCCESSOR: u8 = 128;
const RECORD_FLAGS_V1: u8 = REVOKED | HAS_EXPIRY | COMPACT_SHA512;
const INDEX_FLAGS_V1: u8 = REVOKED | HAS_EXPIRY;
const INDEX_FLAGS_V2: u8 = REVOKED | HAS_EXPIRY | DISABLED;

/// Where the revoked bit and the creation time are in every record version.
const FLAGS_AT: usize = 1;
const CREATED_AT: std::ops::Range<usize> = 2..10;

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

/// `t` as it reads back: UTC at microsecond precision.
pub(crate) fn stored_time(t: OffsetDateTime) -> OffsetDateTime {
    from_micros(to_micros(t)).unwrap_or(t)
}

/// The record as it reads back: timestamps in UTC at microsecond precision. The cache holds
/// this form, so a cached record equals one decoded from the file.
pub(crate) fn normalized(key: &ApiKey) -> ApiKey {
    let mut key = key.clone();
    key.created = stored_time(key.created);
    key.expires = key.expires.map(stored_time);
    key.last_used = key.last_used.map(stored_time);
    if let Some(credits) = &mut key.credits {
        credits.period_start = stored_time(credits.period_start);
    }
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
    for (set, flag) in [
        (key.revoked, REVOKED),
        (key.expires.is_some(), HAS_EXPIRY),
        (compact.is_some(), COMPACT_SHA512),
        (key.disabled, DISABLED),
        (key.last_used.is_some(), HAS_LAST_USED),
        (key.owner.is_some(), HAS_OWNER),
        (key.predecessor.is_some(), HAS_PREDECESSOR),
        (key.successor.is_some(), HAS_SUCCESSOR),
    ] {
        if set {
            flags |= flag;
        }
    }
    let (rate, credits) = (key.rate_limit.as_ref(), key.credits.as_ref());
    let mut out = Vec::with_capacity(140 + key.name.len() + metadata.len());
    out.push(RECORD_V3);
    out.push(flags);
    out.extend_from_slice(&to_micros(key.created).to_le_bytes());
    out.push(limits::flags(rate, credits));
    for t in [key.expires, key.last_used].into_iter().flatten() {
        out.extend_from_slice(&to_micros(t).to_le_bytes());
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
    for text in [&key.owner, &key.predecessor, &key.successor]
        .into_iter()
        .flatten()
    {
        put_bytes(&mut out, text.as_bytes());
    }
    limits::put(&mut out, rate, credits);
    out
}

pub(crate) fn decode_record(prefix: &str, bytes: &[u8]) -> Result<ApiKey, String> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    let known = match version {
        RECORD_V1 => RECORD_FLAGS_V1,
        RECORD_V2 | RECORD_V3 => u8::MAX,
        v => return Err(format!("unknown record format version {v}")),
    };
    let flags = r.byte()?;
    if flags & !known != 0 {
        return Err(format!("unknown record flags {flags:#04x}"));
    }
    let has = |flag: u8| flags & flag != 0;
    let created = from_micros(r.i64()?)?;
    let limit_flags = if version == RECORD_V3 {
        let limit_flags = r.byte()?;
        if limit_flags & !limits::LIMIT_FLAGS != 0 {
            return Err(format!("unknown limit flags {limit_flags:#04x}"));
        }
        limit_flags
    } else {
        0
    };
    let mut time = |flag| -> Result<Option<OffsetDateTime>, String> {
        if has(flag) {
            Ok(Some(from_micros(r.i64()?)?))
        } else {
            Ok(None)
        }
    };
    let expires = time(HAS_EXPIRY)?;
    let last_used = time(HAS_LAST_USED)?;
    let hashed_key = if has(COMPACT_SHA512) {
        let digest = r.take(SHA512_LEN, "hash")?;
        let mut hashed = String::with_capacity(SHA512_TAG.len() + 2 * SHA512_LEN);
        hashed.push_str(SHA512_TAG);
        for b in digest {
            hashed.push(hex_digit(b >> 4));
            hashed.push(hex_digit(b & 0xf));
        }
        hashed
    } else {
        r.string("hash")?
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
    let mut text = |flag, what| -> Result<Option<String>, String> {
        if has(flag) {
            r.string(what).map(Some)
        } else {
            Ok(None)
        }
    };
    let owner = text(HAS_OWNER, "owner")?;
    let predecessor = text(HAS_PREDECESSOR, "predecessor")?;
    let successor = text(HAS_SUCCESSOR, "successor")?;
    let (rate_limit, credits) = limits::read(&mut r, limit_flags)?;
    if !r.0.is_empty() {
        return Err(format!("{} unexpected bytes after the record", r.0.len()));
    }
    Ok(ApiKey {
        prefix: prefix.to_owned(),
        hashed_key,
        name,
        created,
        expires,
        revoked: has(REVOKED),
        scopes,
        metadata,
        owner,
        disabled: has(DISABLED),
        last_used,
        predecessor,
        successor,
        rate_limit,
        credits,
    })
}

/// Revokes a record this release cannot decode, in place, by the revoked bit every version
/// keeps at the same offset. `false` if the bit was set already, or the bytes are too short
/// to hold it (then no version can decode them, so they are never granted either).
pub(crate) fn revoke_in_place(bytes: &mut [u8]) -> bool {
    match bytes.get_mut(FLAGS_AT) {
        Some(flags) if *flags & REVOKED == 0 => {
            *flags |= REVOKED;
            true
        }
        _ => false,
    }
}

/// A record's creation time in microseconds, read from its fixed place without decoding the
/// rest (to find the index entry of a record that does not decode).
pub(crate) fn created_in_place(bytes: &[u8]) -> Option<i64> {
    let created: [u8; 8] = bytes.get(CREATED_AT)?.try_into().ok()?;
    Some(i64::from_le_bytes(created))
}

/// What listing needs of a key, kept in the index so a search scan never decodes records.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry<'a> {
    pub(crate) revoked: bool,
    pub(crate) disabled: bool,
    pub(crate) expires: Option<i64>,
    pub(crate) name: &'a str,
}

pub(crate) fn encode_index(key: &ApiKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + key.name.len());
    out.push(INDEX_V2);
    let mut flags = 0;
    if key.revoked {
        flags |= REVOKED;
    }
    if key.expires.is_some() {
        flags |= HAS_EXPIRY;
    }
    if key.disabled {
        flags |= DISABLED;
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
    let known = match r.byte()? {
        INDEX_V1 => INDEX_FLAGS_V1,
        INDEX_V2 => INDEX_FLAGS_V2,
        v => return Err(format!("unknown index entry version {v}")),
    };
    let flags = r.byte()?;
    if flags & !known != 0 {
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
        disabled: flags & DISABLED != 0,
        expires,
        name,
    })
}

/// Sets the revoked flag of an index entry in place (the flags byte is at the same offset
/// in every version).
pub(crate) fn revoke_index_in_place(bytes: &mut [u8]) {
    if let Some(flags) = bytes.get_mut(FLAGS_AT) {
        *flags |= REVOKED;
    }
}

/// A version 2 record, as apikeys-redb wrote it before usage limits: for tests of the
/// old format's reader. Version 3 without limits is version 2 with a zero byte after
/// `created`.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn encode_record_v2(key: &ApiKey) -> Vec<u8> {
    let mut out = encode_record(&ApiKey {
        rate_limit: None,
        credits: None,
        ..key.clone()
    });
    out[0] = RECORD_V2;
    out.remove(CREATED_AT.end);
    out
}

/// A version 1 record, as apikeys-redb 0.1 wrote it: for tests of the old format's reader.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn encode_record_v1(key: &ApiKey) -> Vec<u8> {
    let mut out = encode_record_v2(&ApiKey {
        disabled: false,
        last_used: None,
        owner: None,
        predecessor: None,
        successor: None,
        ..key.clone()
    });
    out[0] = RECORD_V1;
    out
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

/// Audit event value, version 1: `u8 version (1)`, then the event as JSON (the core's
/// serde form, which holds no secret and no hash).
const EVENT_V1: u8 = 1;

pub(crate) fn encode_event(event: &AuditEvent) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = vec![EVENT_V1];
    serde_json::to_writer(&mut out, event)?;
    Ok(out)
}

pub(crate) fn decode_event(bytes: &[u8]) -> Result<AuditEvent, String> {
    match bytes.split_first() {
        Some((&EVENT_V1, json)) => {
            serde_json::from_slice(json).map_err(|e| format!("audit event is not readable: {e}"))
        }
        Some((v, _)) => Err(format!("unknown audit event version {v}")),
        None => Err("empty audit event".to_owned()),
    }
}

#[cfg(test)]
mod tests;
