use std::sync::Mutex;

use async_trait::async_trait;
use time::Duration;

use super::*;
use crate::audit::AuditSink;
use crate::lifecycle::{Edit, Refusal};
use crate::memory::MemoryStore;
use crate::validation::Field;

fn denial(result: Result<VerifiedKey, VerifyError>) -> Denial {
    match result {
        Err(VerifyError::Denied(d)) => d,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> Refusal {
    match result {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn roll_hands_over_to_a_successor_within_the_grace_period() {
    let keys = ApiKeys::new(MemoryStore::new());
    let old = keys
        .create(
            NewKey::named("rolling")
                .scope("read")
                .meta("org", 3)
                .owner("org_3"),
        )
        .await
        .unwrap();
    let rolled = keys
        .roll(old.key.prefix(), Duration::hours(1))
        .await
        .unwrap();
    let new = &rolled.successor;
    assert_ne!(new.key.prefix(), old.key.prefix());
    assert_eq!(new.record.name, "rolling");
    assert_eq!(new.record.scopes, old.record.scopes);
    assert_eq!(new.record.metadata, old.record.metadata);
    assert_eq!(new.record.owner.as_deref(), Some("org_3"));
    assert_eq!(new.record.predecessor.as_deref(), Some(old.key.prefix()));
    assert_eq!(rolled.old.successor.as_deref(), Some(new.key.prefix()));
    let grace_end = rolled.old.expires.unwrap();
    assert!(grace_end > OffsetDateTime::now_utc() + Duration::minutes(59));
    // Both work during the grace period.
    keys.verify(old.key.expose_secret()).await.unwrap();
    keys.verify(new.key.expose_secret()).await.unwrap();
    assert!(!format!("{rolled:?}").contains(&new.key.expose_secret()[9..]));

    assert!(matches!(
        refusal(keys.roll(old.key.prefix(), Duration::hours(1)).await),
        Refusal::AlreadyRolled { .. }
    ));
    // A grace of zero revokes at once.
    let now = keys.roll(new.key.prefix(), Duration::ZERO).await.unwrap();
    assert!(now.old.revoked);
    assert_eq!(
        denial(keys.verify(new.key.expose_secret()).await),
        Denial::Revoked
    );
    assert_eq!(
        refusal(keys.roll(new.key.prefix(), Duration::hours(1)).await),
        Refusal::Revoked
    );

    let expired = keys
        .create(NewKey::named("gone").expires(OffsetDateTime::now_utc() - Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        refusal(keys.roll(expired.key.prefix(), Duration::hours(1)).await),
        Refusal::Expired
    );
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    let short = keys
        .create(NewKey::named("short").expires(soon))
        .await
        .unwrap();
    let rolled = keys
        .roll(short.key.prefix(), Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        rolled.old.expires, short.record.expires,
        "a roll never extends a key"
    );
    assert!(matches!(
        keys.roll("Missing1", Duration::hours(1)).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        keys.roll(short.key.prefix(), Duration::MAX).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn update_validates_like_create_and_changes_only_what_it_names() {
    let keys = ApiKeys::new(MemoryStore::new());
    let created = keys
        .create(NewKey::named("before").scope("a").meta("k", 1))
        .await
        .unwrap();
    let prefix = created.key.prefix();
    let field = |result: Result<ApiKey, Error>| match result {
        Err(Error::Invalid(e)) => e.field(),
        other => panic!("not a validation error: {other:?}"),
    };
    assert_eq!(
        field(keys.update(prefix, Edit::new().name("")).await),
        Field::Name
    );
    assert_eq!(
        field(keys.update(prefix, Edit::new().scopes(["a b"])).await),
        Field::Scope
    );
    assert_eq!(
        field(
            keys.update(prefix, Edit::new().owner("o".repeat(101)))
                .await
        ),
        Field::Owner
    );
    let late = time::macros::datetime!(9999-12-31 23:00:00 -02:00);
    assert_eq!(
        field(keys.update(prefix, Edit::new().expires(late)).await),
        Field::Expires
    );
    let mut deep = serde_json::json!(1);
    for _ in 0..40 {
        deep = serde_json::json!({ "n": deep });
    }
    let metadata = serde_json::json!({ "deep": deep })
        .as_object()
        .cloned()
        .unwrap();
    assert_eq!(
        field(keys.update(prefix, Edit::new().metadata(metadata)).await),
        Field::Metadata
    );
    assert_eq!(keys.get(prefix).await.unwrap(), created.record, "unchanged");

    let at = time::macros::datetime!(2040-01-01 00:00:00.1234567 +01:00);
    let after = keys
        .update(prefix, Edit::new().name("after").owner("org").expires(at))
        .await
        .unwrap();
    assert_eq!(after.name, "after");
    assert_eq!(after.owner.as_deref(), Some("org"));
    assert_eq!(after.expires.unwrap().nanosecond() % 1000, 0);
    assert_eq!((after.scopes.len(), after.metadata.len()), (1, 1));
    let cleared = keys
        .update(prefix, Edit::new().no_owner().no_expiry())
        .await
        .unwrap();
    assert_eq!((cleared.owner, cleared.expires), (None, None));
    keys.revoke(prefix).await.unwrap();
    let renamed = keys
        .update(prefix, Edit::new().name("renamed"))
        .await
        .unwrap();
    assert!(renamed.revoked, "an edit never un-revokes");
    assert!(matches!(
        keys.update("Missing1", Edit::new().name("x")).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn disabled_keys_are_refused_until_enabled() {
    let keys = ApiKeys::new(MemoryStore::new());
    let created = keys.create(NewKey::named("pause")).await.unwrap();
    let (prefix, secret) = (created.key.prefix(), created.key.expose_secret());
    assert!(keys.disable(prefix).await.unwrap().disabled);
    let refused = keys.verify(secret).await;
    assert_eq!(
        refused.as_ref().err().and_then(VerifyError::denial),
        Some(Denial::Disabled)
    );
    assert_eq!(
        refused.unwrap_err().response(),
        crate::DenialResponse::UNAUTHORIZED
    );
    let mut wrong = secret.to_owned();
    wrong.pop();
    wrong.push(if secret.ends_with('a') { 'b' } else { 'a' });
    assert_eq!(denial(keys.verify(&wrong).await), Denial::InvalidSecret);
    assert!(!keys.enable(prefix).await.unwrap().disabled);
    keys.verify(secret).await.unwrap();
    keys.revoke(prefix).await.unwrap();
    assert_eq!(refusal(keys.enable(prefix).await), Refusal::Revoked);
    assert_eq!(refusal(keys.disable(prefix).await), Refusal::Revoked);
}

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<AuditEvent>>);

#[async_trait]
impl AuditSink for Arc<Collect> {
    async fn record(
        &self,
        event: &AuditEvent,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

#[tokio::test]
async fn every_change_is_an_event_with_its_actor_in_sink_and_history() {
    let sink = Arc::new(Collect::default());
    let keys = ApiKeys::builder(MemoryStore::new())
        .audit_sink(Arc::clone(&sink))
        .build();
    let admin = keys.with_actor("cli:alice");
    let created = admin.create(NewKey::named("audited")).await.unwrap();
    let prefix = created.key.prefix();
    admin
        .update(prefix, Edit::new().name("renamed"))
        .await
        .unwrap();
    admin
        .update(prefix, Edit::new().name("renamed"))
        .await
        .unwrap();
    admin.disable(prefix).await.unwrap();
    admin.enable(prefix).await.unwrap();
    let rolled = keys.roll(prefix, Duration::hours(1)).await.unwrap();
    admin.revoke(prefix).await.unwrap();
    admin.revoke(prefix).await.unwrap();
    admin.delete(prefix).await.unwrap();

    let history = keys.history(prefix).await.unwrap();
    let names: Vec<_> = history.iter().map(|e| e.action.name()).collect();
    assert_eq!(
        names,
        [
            "created", "updated", "disabled", "enabled", "rolled", "revoked", "deleted"
        ]
    );
    assert_eq!(*sink.0.lock().unwrap(), history);
    let actors: Vec<_> = history.iter().map(|e| e.actor.as_deref()).collect();
    assert_eq!(actors[0], Some("cli:alice"));
    assert_eq!(actors[4], None, "the roll was made without an actor");
    let successor = keys.history(rolled.successor.key.prefix()).await.unwrap();
    assert_eq!(successor, [history[4].clone()]);
    let json = serde_json::to_string(&history).unwrap();
    assert!(!json.contains(&created.record.hashed_key[8..]));
    assert!(!json.contains(&created.key.expose_secret()[9..]));
}

#[tokio::test]
async fn last_used_is_written_behind_in_one_batch() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone())
        .last_used_interval(std::time::Duration::from_secs(3600))
        .build();
    let a = keys.create(NewKey::named("a")).await.unwrap();
    let b = keys.create(NewKey::named("b")).await.unwrap();
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    for _ in 0..3 {
        keys.verify(a.key.expose_secret()).await.unwrap();
    }
    keys.verify(b.key.expose_secret()).await.unwrap();
    let stored = |p: &str| {
        let store = Arc::clone(&store);
        let p = p.to_owned();
        async move { store.get(&p).await.unwrap().unwrap().last_used }
    };
    assert_eq!(
        stored(a.key.prefix()).await,
        None,
        "no write during requests"
    );
    keys.flush().await.unwrap();
    let used = stored(a.key.prefix()).await.unwrap();
    assert!(used > before);
    assert!(stored(b.key.prefix()).await.is_some());
    assert_eq!(
        keys.get(a.key.prefix()).await.unwrap().last_used,
        Some(used)
    );
    // A refused request is not a use.
    keys.revoke(b.key.prefix()).await.unwrap();
    let b_used = stored(b.key.prefix()).await;
    assert!(keys.verify(b.key.expose_secret()).await.is_err());
    keys.flush().await.unwrap();
    assert_eq!(stored(b.key.prefix()).await, b_used);

    // Dropping the last clone writes what is pending.
    keys.verify(a.key.expose_secret()).await.unwrap();
    drop(keys);
    for _ in 0..100 {
        if stored(a.key.prefix()).await > Some(used) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the drop of the last manager did not write the pending use");
}

#[tokio::test]
async fn last_used_is_flushed_on_the_interval() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone())
        .last_used_interval(std::time::Duration::from_millis(50))
        .build();
    let a = keys.create(NewKey::named("a")).await.unwrap();
    keys.verify(a.key.expose_secret()).await.unwrap();
    for _ in 0..100 {
        if store
            .get(a.key.prefix())
            .await
            .unwrap()
            .unwrap()
            .last_used
            .is_some()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the interval task did not flush");
}

/// Polls a future that never waits (a `MemoryStore` and SHA-512 never do) with no runtime.
fn without_runtime<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

#[test]
fn a_grant_outside_a_runtime_leaves_the_interval_task_to_a_later_one() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone())
        .last_used_interval(std::time::Duration::from_millis(50))
        .build();
    let a = without_runtime(keys.create(NewKey::named("a"))).unwrap();
    without_runtime(keys.verify(a.key.expose_secret())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        keys.verify(a.key.expose_secret()).await.unwrap();
        for _ in 0..100 {
            let stored = store.get(a.key.prefix()).await.unwrap().unwrap();
            if stored.last_used.is_some() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no interval task after a first grant outside a runtime");
    });
}

#[tokio::test]
async fn read_only_and_untracked_managers_write_nothing_on_verify() {
    let store = Arc::new(MemoryStore::new());
    let writer = ApiKeys::builder_shared(store.clone()).build();
    let a = writer.create(NewKey::named("a")).await.unwrap();
    for keys in [
        ApiKeys::builder_shared(store.clone()).read_only().build(),
        ApiKeys::builder_shared(store.clone())
            .without_last_used()
            .build(),
    ] {
        keys.verify(a.key.expose_secret()).await.unwrap();
        keys.flush().await.unwrap();
        drop(keys);
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        store.get(a.key.prefix()).await.unwrap().unwrap().last_used,
        None
    );
    assert_eq!(store.history(a.key.prefix()).await.unwrap().len(), 1);
}

#[cfg(all(feature = "django", feature = "sha512"))]
#[tokio::test]
async fn read_only_managers_do_not_upgrade_legacy_hashes() {
    #[derive(serde::Deserialize)]
    struct Vector {
        algorithm: String,
        key: String,
        encoded: String,
        cost: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("../../tests/data/django_hashes.json")).unwrap();
    let v = vectors
        .iter()
        .find(|v| v.cost == "low" && v.algorithm == "pbkdf2_sha256" && v.key.is_ascii())
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let prefix = v.key.split('.').next().unwrap();
    let record = ApiKey::new(
        prefix,
        v.encoded.clone(),
        "legacy",
        OffsetDateTime::now_utc(),
    );
    store
        .insert(&record, &AuditEvent::new(prefix, AuditAction::Created))
        .await
        .unwrap();
    let keys = ApiKeys::builder_shared(store.clone()).read_only().build();
    keys.verify(&v.key).await.unwrap();
    assert_eq!(
        store.get(prefix).await.unwrap().unwrap().hashed_key,
        v.encoded
    );
    let keys = ApiKeys::builder_shared(store.clone()).build();
    keys.verify(&v.key).await.unwrap();
    let history = store.history(prefix).await.unwrap();
    assert_eq!(history.last().unwrap().action.name(), "hash_upgraded");
}

#[tokio::test]
async fn a_request_refused_by_its_limits_is_not_a_use() {
    let store = Arc::new(MemoryStore::new());
    let keys = ApiKeys::builder_shared(store.clone())
        .last_used_interval(std::time::Duration::from_secs(3600))
        .build();
    let spent = keys
        .create(NewKey::named("no credits left").credits(0))
        .await
        .unwrap();
    assert!(matches!(
        keys.verify(spent.key.expose_secret()).await,
        Err(VerifyError::Limited {
            denial: Denial::UsageExceeded,
            ..
        })
    ));
    keys.flush().await.unwrap();
    let stored = store.get(spent.key.prefix()).await.unwrap().unwrap();
    assert_eq!(stored.last_used, None);
}
