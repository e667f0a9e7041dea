//! Keys that matched their stored hash: remembered, so that their next request skips the
//! hasher.
//!
//! A client presents the same key on every request, and checking it costs a SHA-512
//! (~0.3–0.4 µs, the largest part of a verification) or, for Argon2id, scrypt and Django's
//! hashes, milliseconds. Once a key has matched, this remembers a tag of it — SHA-256 of a
//! random block drawn when the manager is built and never stored, followed by the key —
//! next to the record it matched. The next presentation with the same prefix is granted
//! the hash check when its tag equals the remembered one and the record's stored hash is
//! still the one that matched: a changed hash (a rotation, an upgrade, a `ReplaceHash`) is
//! checked afresh. Everything else (revocation, expiry, policy, scopes, limits) is decided
//! from the current record on every request, as before.
//!
//! What it keeps is not the key: a tag is a one-way function of it, and passing for a
//! remembered key needs a second SHA-256 preimage of a tag the sender never sees. No tag
//! ever leaves the process, so the length extension of a secret-prefix hash, which matters
//! only where tags are published, does not arise; one compression (for a key of up to 55
//! bytes) does what HMAC's two and its generic padding did, ~0.05 µs against ~0.19 µs in a
//! server profile (issue 13), on CPUs with SHA instructions. The random block makes one
//! process's tags useless to any other. Only a full check that matched writes here, so
//! wrong or unknown keys cannot fill it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use sha2::block_api::compress256;
use subtle::ConstantTimeEq;

use crate::record::ApiKey;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Default number of keys remembered: a few hundred kilobytes.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

/// An HMAC tag of a presented key. Not secret-bearing, but compared in constant time all
/// the same: a tag that half-matches must not answer faster than one that does not.
pub(crate) struct Tag([u32; 8]);

impl Tag {
    fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The keys that matched recently, by prefix.
pub(crate) struct MatchedKeys {
    /// SHA-256's state after one block of 64 random bytes: each tag goes on from here.
    keyed: [u32; 8],
    capacity: usize,
    entries: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    tag: Tag,
    /// The record the key matched; its `hashed_key` is what the key matched against.
    record: Arc<ApiKey>,
}

impl std::fmt::Debug for MatchedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchedKeys")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MatchedKeys {
    /// Remembers up to `capacity` keys, under a fresh random HMAC key.
    pub(crate) fn new(capacity: usize) -> Result<Self, getrandom::Error> {
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        getrandom::fill(&mut *block)?;
        let mut keyed = SHA256_IV;
        compress256(&mut keyed, std::slice::from_ref(&*block));
        Ok(Self {
            keyed,
            capacity,
            entries: RwLock::new(HashMap::new()),
        })
    }

    /// The tag of a presented key: SHA-256 of the random block and then `key`, padded as
    /// FIPS 180-4 pads (a 0x80 byte, zeros, the bit length in the last 8 bytes).
    pub(crate) fn tag(&self, key: &[u8]) -> Tag {
        let mut state = self.keyed;
        let mut blocks = key.chunks_exact(64);
        for block in blocks.by_ref() {
            let block: &[u8; 64] = block.try_into().expect("chunks of 64");
            compress256(&mut state, std::slice::from_ref(block));
        }
        let rest = blocks.remainder();
        let bits = (64 + key.len() as u64) * 8;
        // The last one or two blocks, zeroed after: they hold the key's tail.
        let mut tail = zeroize::Zeroizing::new([[0u8; 64]; 2]);
        let flat = tail.as_flattened_mut();
        flat[..rest.len()].copy_from_slice(rest);
        flat[rest.len()] = 0x80;
        let used = if rest.len() < 56 { 1 } else { 2 };
        flat[64 * used - 8..64 * used].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut state, &tail[..used]);
        Tag(state)
    }

    /// Whether the key of `tag` matched `record`'s stored hash before.
    pub(crate) fn recalls(&self, tag: &Tag, record: &Arc<ApiKey>) -> bool {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.get(&record.prefix).is_some_and(|entry| {
            let same_hash =
                Arc::ptr_eq(&entry.record, record) || entry.record.hashed_key == record.hashed_key;
            // Both compared, whatever the first says: no early exit on the tag.
            entry.tag.matches(tag) & same_hash
        })
    }

    /// Remembers that the key of `tag` matched `record`'s stored hash.
    pub(crate) fn remember(&self, tag: Tag, record: &Arc<ApiKey>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&record.prefix) {
            // Full: any one entry goes. `HashMap`'s order is random per process, so
            // this is random eviction, and a key evicted is only checked in full again.
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        let entry = Entry {
            tag,
            record: Arc::clone(record),
        };
        entries.insert(record.prefix.clone(), entry);
    }

    /// Forgets the key of `prefix` (after its record changed or went away through this
    /// manager; changes made elsewhere are caught by the stored-hash comparison).
    pub(crate) fn forget(&self, prefix: &str) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(prefix);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prefix: &str, hashed_key: &str) -> Arc<ApiKey> {
        let created = time::OffsetDateTime::UNIX_EPOCH;
        Arc::new(ApiKey::new(prefix, hashed_key.to_owned(), "k", created))
    }

    #[test]
    fn recalls_only_the_same_key_against_the_same_hash() {
        let matched = MatchedKeys::new(10).unwrap();
        let stored = record("p", "sha512$$aa");
        matched.remember(matched.tag(b"p.secret"), &stored);
        assert!(matched.recalls(&matched.tag(b"p.secret"), &stored));
        // A copy of the record (a store without a cache) is recognised by its hash.
        assert!(matched.recalls(&matched.tag(b"p.secret"), &record("p", "sha512$$aa")));
        assert!(!matched.recalls(&matched.tag(b"p.secreT"), &stored));
        assert!(!matched.recalls(&matched.tag(b""), &stored));
        // The hash changed (a rotation, an upgrade): checked afresh.
        assert!(!matched.recalls(&matched.tag(b"p.secret"), &record("p", "sha512$$bb")));
        assert!(!matched.recalls(&matched.tag(b"p.secret"), &record("q", "sha512$$aa")));
        matched.forget("p");
        assert!(!matched.recalls(&matched.tag(b"p.secret"), &stored));
    }

    /// The tag is SHA-256 of the random block and the key, for keys of every length
    /// around the block boundaries.
    #[test]
    fn tag_is_sha256_of_block_then_key() {
        use sha2::Digest;
        let mut block = [0u8; 64];
        getrandom::fill(&mut block).unwrap();
        let mut keyed = SHA256_IV;
        compress256(&mut keyed, std::slice::from_ref(&block));
        let matched = MatchedKeys {
            keyed,
            capacity: 1,
            entries: RwLock::new(HashMap::new()),
        };
        for len in 0..200usize {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + len).to_le_bytes()[0]).collect();
            let digest = sha2::Sha256::new()
                .chain_update(block)
                .chain_update(&key)
                .finalize();
            let words: [u32; 8] = std::array::from_fn(|i| {
                u32::from_be_bytes(digest[4 * i..4 * i + 4].try_into().unwrap())
            });
            assert_eq!(matched.tag(&key).0, words, "key of {len} bytes");
        }
    }

    #[test]
    fn tags_differ_between_managers() {
        let (a, b) = (MatchedKeys::new(1).unwrap(), MatchedKeys::new(1).unwrap());
        assert!(!a.tag(b"key").matches(&b.tag(b"key")));
        assert!(a.tag(b"key").matches(&a.tag(b"key")));
    }

    #[test]
    fn bounded() {
        let matched = MatchedKeys::new(3).unwrap();
        for i in 0..50 {
            let prefix = format!("p{i}");
            let stored = record(&prefix, "h");
            matched.remember(matched.tag(prefix.as_bytes()), &stored);
            assert!(matched.len() <= 3);
            assert!(matched.recalls(&matched.tag(prefix.as_bytes()), &stored));
        }
        let none = MatchedKeys::new(0).unwrap();
        none.remember(none.tag(b"k"), &record("p", "h"));
        assert_eq!(none.len(), 0);
    }
}
