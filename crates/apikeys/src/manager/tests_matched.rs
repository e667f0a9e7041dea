//! The match cache: a key that matched skips the hasher next time, and nothing else.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::audit::AuditAction;
use crate::hash::{HashError, KeyHasher, Sha512Hasher};
use crate::memory::MemoryStore;

/// SHA-512, counting its verifications; `expensive` sends them to the blocking pool, as
/// Argon2id's are.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>, bool);

impl KeyHasher for Counting {
    fn algorithm(&self) -> &'static str {
        "sha512"
    }
    fn recognizes(&self, stored: &str) -> bool {
        Sha512Hasher.recognizes(stored)
    }
    fn hash(&self, key: &[u8]) -> Result<String, HashError> {
        Sha512Hasher.hash(key)
    }
    fn verify(&self, key: &[u8], stored: &str) -> Result<bool, HashError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Sha512Hasher.verify(key, stored)
    }
    fn is_expensive(&self) -> bool {
        self.1
    }
}

impl Counting {
    fn checks(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

fn manager(store: &Arc<MemoryStore>, hasher: &Counting, capacity: usize) -> ApiKeys {
    ApiKeys::builder_shared(store.clone())
        .hashers(Hashers::new(hasher.clone()))
        .match_cache(capacity)
        .build()
}

/// The key with its last character changed.
fn tamper(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    wrong
}

fn denial(result: Result<VerifiedKey, VerifyError>) -> Option<Denial> {
    result.err().and_then(|e| e.denial())
}

#[tokio::test]
async fn a_matched_key_skips_the_hasher_and_a_wrong_one_does_not() {
    let store = Arc::new(MemoryStore::new());
    let hasher = Counting::default();
    let keys = manager(&store, &hasher, 100);
    let created = keys.create(NewKey::named("svc")).await.unwrap();
    let secret = created.key.expose_secret();

    for _ in 0..3 {
        assert_eq!(keys.verify(secret).await.unwrap().name(), "svc");
    }
    assert_eq!(hasher.checks(), 1, "hashed once, then remembered");

    assert_eq!(
        denial(keys.verify(&tamper(secret)).await),
        Some(Denial::InvalidSecret)
    );
    assert_eq!(hasher.checks(), 2, "a wrong secret is always hashed");
    assert!(keys.verify(secret).await.is_ok(), "and evicts nothing");
    assert_eq!(hasher.checks(), 2);

    let off = Counting::default();
    let uncached = manager(&store, &off, 0);
    for _ in 0..3 {
        assert!(uncached.verify(secret).await.is_ok());
    }
    assert_eq!(off.checks(), 3, "match_cache(0) hashes every time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expensive_hash_is_computed_once_per_key() {
    let store = Arc::new(MemoryStore::new());
    let hasher = Counting(Arc::default(), true);
    let keys = manager(&store, &hasher, 100);
    let created = keys.create(NewKey::named("slow")).await.unwrap();
    let secret = created.key.expose_secret();
    for _ in 0..3 {
        assert!(keys.verify(secret).await.is_ok());
    }
    assert_eq!(hasher.checks(), 1);
    assert_eq!(
        denial(keys.verify(&tamper(secret)).await),
        Some(Denial::InvalidSecret)
    );
    assert_eq!(hasher.checks(), 2);
}

#[tokio::test]
async fn a_hash_changed_elsewhere_is_checked_again() {
    let store = Arc::new(MemoryStore::new());
    let hasher = Counting::default();
    let keys = manager(&store, &hasher, 100);
    let created = keys.create(NewKey::named("svc")).await.unwrap();
    let (secret, prefix) = (created.key.expose_secret(), created.key.prefix());
    assert!(keys.verify(secret).await.is_ok());

    // Another writer (another server, the CLI) gives the record another key's hash.
    let other = keys.create(NewKey::named("other")).await.unwrap();
    let change = Change::ReplaceHash {
        expected: created.record.hashed_key.clone(),
        new: other.record.hashed_key.clone(),
    };
    let upgraded = AuditAction::HashUpgraded {
        algorithm: "sha512".to_owned(),
    };
    let event = AuditEvent::new(prefix, upgraded);
    store.modify(prefix, &change, &event).await.unwrap();

    assert_eq!(
        denial(keys.verify(secret).await),
        Some(Denial::InvalidSecret),
        "the remembered match was for the old hash"
    );
    assert_eq!(hasher.checks(), 2);
}

#[tokio::test]
async fn a_remembered_key_is_still_revoked_disabled_and_expired() {
    let store = Arc::new(MemoryStore::new());
    let hasher = Counting::default();
    let keys = manager(&store, &hasher, 100);
    let writer = manager(&store, &Counting::default(), 100);
    for (name, change) in [("revoked", Change::Revoke), ("disabled", Change::Disable)] {
        let created = keys.create(NewKey::named(name)).await.unwrap();
        let secret = created.key.expose_secret();
        assert!(keys.verify(secret).await.is_ok());
        // Through the other manager, so this one's cache is not told.
        let event = AuditEvent::new(created.key.prefix(), AuditAction::Revoked);
        store
            .modify(created.key.prefix(), &change, &event)
            .await
            .unwrap();
        let expected = if name == "revoked" {
            Denial::Revoked
        } else {
            Denial::Disabled
        };
        assert_eq!(denial(keys.verify(secret).await), Some(expected));
    }
    let expiring = keys.create(NewKey::named("expiring")).await.unwrap();
    let secret = expiring.key.expose_secret();
    assert!(keys.verify(secret).await.is_ok());
    let soon = OffsetDateTime::now_utc() + time::Duration::milliseconds(50);
    writer
        .update(
            expiring.key.prefix(),
            crate::lifecycle::Edit::default().expires(soon),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert_eq!(denial(keys.verify(secret).await), Some(Denial::Expired));
    assert_eq!(hasher.checks(), 3, "each key hashed once only");
}
