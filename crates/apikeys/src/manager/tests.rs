use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use time::Duration;

use super::*;
use crate::memory::MemoryStore;
use crate::policy::policy_fn;
use crate::query::StatusFilter;
use crate::validation::Field;

fn denial(result: Result<VerifiedKey, VerifyError>) -> Denial {
    match result {
        Err(VerifyError::Denied(d)) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn tamper(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    wrong
}

#[tokio::test]
async fn create_stores_only_a_hash() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone()).build();
    let created = keys
        .create(NewKey::named("svc").scope("a").scope("b").meta("org", 9))
        .await
        .unwrap();
    let secret = created.key.expose_secret();
    let stored = store.get(created.key.prefix()).await.unwrap().unwrap();
    assert_eq!(*stored, created.record);
    assert!(stored.hashed_key.starts_with("sha512$$"));
    assert!(!stored.hashed_key.contains(&secret[9..]));
    assert!(!format!("{stored:?}{created:?}").contains(&secret[9..]));
    assert_eq!(stored.scopes.len(), 2);
    assert_eq!(stored.metadata["org"], 9);
    assert_eq!(
        stored.created.nanosecond() % 1000,
        0,
        "microsecond precision"
    );
}

#[tokio::test]
async fn every_denial_reason() {
    let keys = ApiKeys::builder(MemoryStore::new())
        .policy(policy_fn(|key| key.metadata.get("suspended").is_none()))
        .build();
    let good = keys
        .create(NewKey::named("good").scope("read"))
        .await
        .unwrap();
    let secret = good.key.expose_secret();
    assert_eq!(keys.verify(secret).await.unwrap().name(), "good");

    assert_eq!(denial(keys.verify("").await), Denial::Malformed);
    assert_eq!(denial(keys.verify("abcd").await), Denial::Malformed);
    assert_eq!(
        denial(keys.verify(&format!("ZZZZZZZZ{}", &secret[8..])).await),
        Denial::NotFound
    );
    assert_eq!(
        denial(keys.verify(&tamper(secret)).await),
        Denial::InvalidSecret
    );
    assert_eq!(
        denial(keys.verify_with_scopes(secret, &["read", "write"]).await),
        Denial::InsufficientScope
    );
    assert!(keys.verify_with_scopes(secret, &["read"]).await.is_ok());

    let suspended = keys
        .create(NewKey::named("suspended").meta("suspended", true))
        .await
        .unwrap();
    assert_eq!(
        denial(keys.verify(suspended.key.expose_secret()).await),
        Denial::Rejected
    );

    let expired = keys
        .create(NewKey::named("old").expires(OffsetDateTime::now_utc() - Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        denial(keys.verify(expired.key.expose_secret()).await),
        Denial::Expired
    );

    keys.revoke(good.key.prefix()).await.unwrap();
    assert_eq!(denial(keys.verify(secret).await), Denial::Revoked);
    assert!(!keys.is_valid(secret).await.unwrap());
}

#[tokio::test]
async fn the_secret_is_checked_before_status_is_revealed() {
    let keys = ApiKeys::new(MemoryStore::new());
    let revoked = keys.create(NewKey::named("r")).await.unwrap();
    keys.revoke(revoked.key.prefix()).await.unwrap();
    let expired = keys
        .create(NewKey::named("e").expires(OffsetDateTime::now_utc() - Duration::days(1)))
        .await
        .unwrap();
    for key in [&revoked.key, &expired.key] {
        assert_eq!(
            denial(keys.verify(&tamper(key.expose_secret())).await),
            Denial::InvalidSecret
        );
    }
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn store_failures_are_errors_not_denials() {
    let keys = ApiKeys::new(crate::testing::FailingStore);
    let key = KeyFormat::default().generate().unwrap();
    assert!(matches!(
        keys.verify(key.expose_secret()).await,
        Err(VerifyError::Store(_))
    ));
    assert!(keys.is_valid(key.expose_secret()).await.is_err());
    // A malformed key is refused before the store is asked.
    assert_eq!(denial(keys.verify("nope").await), Denial::Malformed);
    assert!(matches!(
        keys.create(NewKey::named("x")).await,
        Err(Error::Store(_))
    ));
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn checksums_refuse_typos_without_a_store_lookup() {
    let format = KeyFormat::builder().checksum(true).build().unwrap();
    let keys = ApiKeys::builder(crate::testing::FailingStore)
        .format(format.clone())
        .build();
    let key = format.generate().unwrap();
    let typo = tamper(key.expose_secret());
    assert_eq!(denial(keys.verify(&typo).await), Denial::Malformed);
    assert!(matches!(
        keys.verify(key.expose_secret()).await,
        Err(VerifyError::Store(_))
    ));
}

#[tokio::test]
async fn a_failing_policy_is_an_error() {
    struct Broken;
    #[async_trait]
    impl KeyPolicy for Broken {
        async fn allows(
            &self,
            _: &ApiKey,
        ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
            Err("organisation service down".into())
        }
    }
    let keys = ApiKeys::builder(MemoryStore::new()).policy(Broken).build();
    let created = keys.create(NewKey::named("p")).await.unwrap();
    let result = keys.verify(created.key.expose_secret()).await;
    assert!(matches!(result, Err(VerifyError::Policy(_))), "{result:?}");
    assert_eq!(result.unwrap_err().response().status, 503);
}

#[tokio::test]
async fn invalid_input_is_refused_at_creation() {
    let keys = ApiKeys::new(MemoryStore::new());
    let field = |result: Result<CreatedKey, Error>| match result {
        Err(Error::Invalid(e)) => e.field(),
        other => panic!("not a validation error: {other:?}"),
    };
    assert_eq!(field(keys.create(NewKey::named("")).await), Field::Name);
    assert_eq!(
        field(keys.create(NewKey::named("x".repeat(51))).await),
        Field::Name
    );
    assert_eq!(
        field(keys.create(NewKey::named("ok").scope("has space")).await),
        Field::Scope
    );
    assert_eq!(
        field(keys.create(NewKey::named("ok").scope("a,b")).await),
        Field::Scope
    );
    assert_eq!(
        field(keys.create(NewKey::named("ok").metadata([1, 2])).await),
        Field::Metadata
    );
    let mut deep = serde_json::json!(1);
    for _ in 0..127 {
        deep = serde_json::json!({ "n": deep });
    }
    assert_eq!(
        field(keys.create(NewKey::named("ok").meta("deep", deep)).await),
        Field::Metadata
    );
    let late = time::macros::datetime!(9999-12-31 23:00:00 -02:00);
    assert_eq!(
        field(keys.create(NewKey::named("ok").expires(late)).await),
        Field::Expires
    );
    let far = time::Duration::days(3_000_000);
    assert_eq!(
        field(keys.create(NewKey::named("ok").expires_in(far)).await),
        Field::Expires
    );
    assert!(keys.list(&ListQuery::new()).await.unwrap().keys.is_empty());
}

/// A store whose first `collisions` inserts report a taken prefix.
#[derive(Debug)]
struct Colliding {
    inner: MemoryStore,
    collisions: usize,
    attempts: AtomicUsize,
}

#[async_trait]
impl KeyStore for Colliding {
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.collisions {
            return Err(StoreError::AlreadyExists {
                prefix: key.prefix.clone(),
            });
        }
        self.inner.insert(key, event).await
    }
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        self.inner.get(prefix).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list(query).await
    }
    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<crate::Modified, StoreError> {
        self.inner.modify(prefix, change, event).await
    }
    async fn roll(
        &self,
        roll: &crate::Roll,
        event: &AuditEvent,
    ) -> Result<crate::Rolled, StoreError> {
        self.inner.roll(roll, event).await
    }
    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        self.inner.touch(uses).await
    }
    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        self.inner.delete(prefix, event).await
    }
    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.history(prefix).await
    }
}

#[tokio::test]
async fn prefix_collisions_are_retried_with_a_fresh_key() {
    let store = Arc::new(Colliding {
        inner: MemoryStore::new(),
        collisions: 3,
        attempts: AtomicUsize::new(0),
    });
    let keys = ApiKeys::builder_shared(store.clone()).build();
    let created = keys.create(NewKey::named("lucky")).await.unwrap();
    assert_eq!(store.attempts.load(Ordering::SeqCst), 4);
    assert_eq!(store.inner.len(), 1);
    assert!(keys.verify(created.key.expose_secret()).await.is_ok());

    let hopeless = Arc::new(Colliding {
        inner: MemoryStore::new(),
        collisions: usize::MAX,
        attempts: AtomicUsize::new(0),
    });
    let keys = ApiKeys::builder_shared(hopeless.clone()).build();
    assert!(matches!(
        keys.create(NewKey::named("x")).await,
        Err(Error::Store(StoreError::AlreadyExists { .. }))
    ));
    assert_eq!(hopeless.attempts.load(Ordering::SeqCst), CREATE_ATTEMPTS);
    assert!(hopeless.inner.is_empty());
}

#[tokio::test]
async fn revoke_unknown_prefix_and_listing() {
    let keys = ApiKeys::new(MemoryStore::new());
    assert!(matches!(
        keys.revoke("missing1").await,
        Err(Error::NotFound { .. })
    ));
    let a = keys.create(NewKey::named("a")).await.unwrap();
    keys.create(NewKey::named("b")).await.unwrap();
    keys.revoke(a.key.prefix()).await.unwrap();
    let active = keys
        .list(&ListQuery::new().status(StatusFilter::Active))
        .await
        .unwrap();
    assert_eq!(active.keys.len(), 1);
    assert_eq!(active.keys[0].name, "b");
    keys.delete(a.key.prefix()).await.unwrap();
    assert!(matches!(
        keys.get(a.key.prefix()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        keys.delete(a.key.prefix()).await,
        Err(Error::NotFound { .. })
    ));
}

#[cfg(all(feature = "django", feature = "sha512"))]
fn legacy_record(prefix: &str, name: &str) -> ApiKey {
    ApiKey::new(
        prefix,
        String::new(),
        name,
        crate::validation::to_stored_precision(OffsetDateTime::now_utc()),
    )
}

#[cfg(all(feature = "django", feature = "sha512"))]
#[tokio::test]
async fn legacy_hashes_are_upgraded_on_first_success() {
    #[derive(serde::Deserialize)]
    struct Vector {
        algorithm: String,
        key: String,
        encoded: String,
        cost: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("../../tests/data/django_hashes.json")).unwrap();
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone()).build();
    let legacy: Vec<_> = vectors
        .iter()
        .filter(|v| v.cost == "low" && v.key.is_ascii() && v.algorithm != "sha512")
        .collect();
    assert!(legacy.len() >= 6);
    for (i, v) in legacy.iter().enumerate() {
        let prefix = v.key.split('.').next().unwrap();
        let mut record = legacy_record(prefix, &format!("legacy {i}"));
        record.hashed_key.clone_from(&v.encoded);
        let created = AuditEvent::new(prefix, AuditAction::Created);
        store.insert(&record, &created).await.unwrap();
        assert!(keys.verify(&tamper(&v.key)).await.is_err());
        assert_eq!(
            store.get(prefix).await.unwrap().unwrap().hashed_key,
            v.encoded,
            "a failed check must not upgrade"
        );
        keys.verify(&v.key).await.unwrap();
        let upgraded = store.get(prefix).await.unwrap().unwrap();
        assert!(
            upgraded.hashed_key.starts_with("sha512$$"),
            "{}",
            v.algorithm
        );
        keys.verify(&v.key).await.unwrap();
    }
}

#[cfg(feature = "argon2")]
#[tokio::test(flavor = "current_thread")]
async fn slow_hashes_run_off_the_async_thread() {
    use crate::hash::{Argon2Hasher, Hashers, Sha512Hasher};
    let store = Arc::new(MemoryStore::new());
    let argon = ApiKeys::builder_shared(store.clone())
        .hashers(Hashers::new(
            Argon2Hasher::with_params(64 * 1024, 4, 1).unwrap(),
        ))
        .build();
    let slow = argon.create(NewKey::named("slow")).await.unwrap();
    let fast_keys = ApiKeys::builder_shared(store)
        .hashers(
            Hashers::new(Sha512Hasher)
                .with_legacy(Argon2Hasher::default())
                .migrate_all(),
        )
        .build();
    let fast = fast_keys.create(NewKey::named("fast")).await.unwrap();
    let (slow_done, fast_done) = tokio::join!(
        async {
            fast_keys.verify(slow.key.expose_secret()).await.unwrap();
            std::time::Instant::now()
        },
        async {
            fast_keys.verify(fast.key.expose_secret()).await.unwrap();
            std::time::Instant::now()
        }
    );
    assert!(fast_done < slow_done);
    // Asked to migrate, the argon2 key was upgraded to the preferred sha512 on success.
    let record = fast_keys.get(slow.key.prefix()).await.unwrap();
    assert!(record.hashed_key.starts_with("sha512$$"));
}

#[cfg(feature = "argon2")]
#[tokio::test]
async fn argon2_as_preferred_hasher() {
    use crate::hash::{Argon2Hasher, Hashers};
    let keys = ApiKeys::builder(MemoryStore::new())
        .hashers(Hashers::new(Argon2Hasher::with_params(1024, 1, 1).unwrap()))
        .build();
    let created = keys.create(NewKey::named("argon")).await.unwrap();
    assert!(created.record.hashed_key.starts_with("$argon2id$"));
    assert!(keys.is_valid(created.key.expose_secret()).await.unwrap());
    assert!(
        !keys
            .is_valid(&tamper(created.key.expose_secret()))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_verified_key_rechecks_stricter_scopes() {
    let keys = ApiKeys::new(MemoryStore::new());
    let created = keys.create(NewKey::named("s").scope("read")).await.unwrap();
    let verified = keys.verify(created.key.expose_secret()).await.unwrap();
    assert!(verified.require_scopes(&["read"]).is_ok());
    assert!(matches!(
        verified.require_scopes(&["read", "write"]),
        Err(VerifyError::Denied(Denial::InsufficientScope))
    ));
}
