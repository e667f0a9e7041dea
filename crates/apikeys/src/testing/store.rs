//! The store conformance suite.
//!
//! A store crate runs it from a test, with a fresh store per case:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! apikeys::testing::store::run_all(|| async { apikeys::MemoryStore::new() }).await;
//! # }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::record;
use crate::manager::ApiKeys;
use crate::record::ApiKey;
use crate::store::{KeyStore, ListQuery, StatusFilter, StoreError};
use crate::verify::{Denial, VerifyError};
use crate::{NewKey, Revocation};

/// Runs every case, each on a fresh, empty store from `fresh`.
pub async fn run_all<F, Fut, S>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
    S: KeyStore + 'static,
{
    macro_rules! case {
        ($name:ident) => {{
            let store: Arc<dyn KeyStore> = Arc::new(fresh().await);
            $name(store).await;
        }};
    }
    case!(insert_and_get);
    case!(duplicate_prefix_is_refused);
    case!(update_replaces_and_requires_existing);
    case!(revocation_is_irreversible);
    case!(delete_removes);
    case!(list_newest_first_in_pages);
    case!(list_search);
    case!(list_filters);
    case!(unicode_names);
    case!(manager_round_trip);
    case!(concurrent_writers);
}

/// Every field survives a round trip; unknown prefixes are `None`.
pub async fn insert_and_get(store: Arc<dyn KeyStore>) {
    let mut key = record("Abc12345", "full record ✓");
    key.expires = Some(key.created + Duration::days(30));
    key.scopes = ["heroes:read", "heroes:write"].map(String::from).into();
    key.metadata = json!({"org": 42, "plan": {"tier": "gold", "seats": [1, 2]}, "note": null})
        .as_object()
        .cloned()
        .expect("object");
    store.insert(&key).await.expect("insert");
    let got = store.get("Abc12345").await.expect("get").expect("present");
    assert_eq!(*got, key);
    assert!(store.get("Zzz99999").await.expect("get").is_none());
    assert!(store.get("").await.expect("get empty").is_none());
    assert!(
        store
            .get(&"x".repeat(500))
            .await
            .expect("get long")
            .is_none()
    );
}

/// A taken prefix gives `AlreadyExists` and leaves the first record untouched.
pub async fn duplicate_prefix_is_refused(store: Arc<dyn KeyStore>) {
    let first = record("Dup00001", "first");
    store.insert(&first).await.expect("insert");
    let mut second = record("Dup00001", "second");
    second.hashed_key = format!("sha512$${}", "1".repeat(128));
    match store.insert(&second).await {
        Err(StoreError::AlreadyExists { prefix }) => assert_eq!(prefix, "Dup00001"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        *store.get("Dup00001").await.expect("get").expect("present"),
        first
    );
}

/// `update` replaces every field; a missing prefix is `NotFound`.
pub async fn update_replaces_and_requires_existing(store: Arc<dyn KeyStore>) {
    let mut key = record("Upd00001", "before");
    store.insert(&key).await.expect("insert");
    key.name = "after".into();
    key.hashed_key = format!("sha512$${}", "a".repeat(128));
    key.expires = Some(key.created + Duration::hours(1));
    key.scopes.insert("s".into());
    key.metadata.insert("k".into(), json!("v"));
    store.update(&key).await.expect("update");
    assert_eq!(
        *store.get("Upd00001").await.expect("get").expect("present"),
        key
    );
    match store.update(&record("Nope0001", "x")).await {
        Err(StoreError::NotFound { prefix }) => assert_eq!(prefix, "Nope0001"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(store.get("Nope0001").await.expect("get").is_none());
}

/// No write un-revokes a key.
pub async fn revocation_is_irreversible(store: Arc<dyn KeyStore>) {
    let mut key = record("Rev00001", "revoked");
    key.revoked = true;
    store.insert(&key).await.expect("insert");
    key.revoked = false;
    key.name = "renamed".into();
    store.update(&key).await.expect("update");
    let got = store.get("Rev00001").await.expect("get").expect("present");
    assert!(got.revoked, "an update un-revoked a key");
    assert_eq!(got.name, "renamed");

    let keys = ApiKeys::builder_shared(Arc::clone(&store)).build();
    let created = keys
        .create(NewKey::named("to revoke"))
        .await
        .expect("create");
    let prefix = created.key.prefix();
    assert!(matches!(
        keys.revoke(prefix).await,
        Ok(Revocation::Revoked(_))
    ));
    assert!(matches!(
        keys.revoke(prefix).await,
        Ok(Revocation::AlreadyRevoked(_))
    ));
    let mut record = (*store.get(prefix).await.expect("get").expect("present")).clone();
    record.revoked = false;
    store.update(&record).await.expect("update");
    assert!(matches!(
        keys.verify(created.key.expose_secret()).await,
        Err(VerifyError::Denied(Denial::Revoked))
    ));
}

/// `delete` removes a record and says whether there was one.
pub async fn delete_removes(store: Arc<dyn KeyStore>) {
    store
        .insert(&record("Del00001", "gone"))
        .await
        .expect("insert");
    assert!(store.delete("Del00001").await.expect("delete"));
    assert!(store.get("Del00001").await.expect("get").is_none());
    assert!(!store.delete("Del00001").await.expect("delete again"));
    store
        .insert(&record("Del00001", "back"))
        .await
        .expect("insert after delete");
}

fn at(base: OffsetDateTime, seconds: i64, prefix: &str, name: &str) -> ApiKey {
    ApiKey {
        created: base + Duration::seconds(seconds),
        ..record(prefix, name)
    }
}

/// Newest first, ties by prefix descending; paging visits every key once.
pub async fn list_newest_first_in_pages(store: Arc<dyn KeyStore>) {
    let base = record("x", "x").created - Duration::days(1);
    let mut expected = Vec::new();
    for i in 0..25i64 {
        // Pairs of keys share a creation instant, to exercise the prefix tie-break.
        let key = at(base, i / 2, &format!("Pg{i:06}"), &format!("key {i}"));
        store.insert(&key).await.expect("insert");
        expected.push(key);
    }
    expected.sort_by(|a, b| (b.created, &b.prefix).cmp(&(a.created, &a.prefix)));

    let mut seen = Vec::new();
    let mut query = ListQuery::new().limit(10);
    let mut pages = 0;
    loop {
        let page = store.list(&query).await.expect("list");
        pages += 1;
        assert!(page.keys.len() <= 10);
        seen.extend(page.keys.iter().map(|k| k.prefix.clone()));
        match page.next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    let expected_prefixes: Vec<String> = expected.iter().map(|k| k.prefix.clone()).collect();
    assert_eq!(seen, expected_prefixes);
    assert_eq!(pages, 3);

    let exact = store.list(&ListQuery::new().limit(25)).await.expect("list");
    assert_eq!(exact.keys.len(), 25);
    assert!(
        exact.next.is_none(),
        "a full last page must not promise more"
    );
    assert_eq!(exact.keys[0], expected[0]);
    let one = store.list(&ListQuery::new().limit(0)).await.expect("list");
    assert_eq!(one.keys.len(), 1, "a limit of 0 is clamped to 1");
}

/// Search matches a prefix's start or a name's substring, ignoring case.
pub async fn list_search(store: Arc<dyn KeyStore>) {
    let names = [
        ("Srch0001", "Billing Service"),
        ("Srch0002", "billing-worker"),
        ("Srch0003", "Frontend"),
        ("Srch0004", "日本語のキー"),
        ("Srch0005", "ÉCOLE"),
        ("Abcd0006", "reports"),
    ];
    for (i, (prefix, name)) in names.iter().enumerate() {
        let i = i64::try_from(i).expect("small");
        store
            .insert(&at(record("x", "x").created, i, prefix, name))
            .await
            .expect("insert");
    }
    let search = |text: &str| {
        let store = Arc::clone(&store);
        let text = text.to_owned();
        async move {
            let page = store
                .list(&ListQuery::new().search(text))
                .await
                .expect("list");
            page.keys
                .into_iter()
                .map(|k| k.prefix)
                .collect::<HashSet<_>>()
        }
    };
    let set = |items: &[&str]| {
        items
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<HashSet<_>>()
    };
    assert_eq!(search("billing").await, set(&["Srch0001", "Srch0002"]));
    assert_eq!(search("BILLING").await, set(&["Srch0001", "Srch0002"]));
    assert_eq!(search("école").await, set(&["Srch0005"]));
    assert_eq!(search("キー").await, set(&["Srch0004"]));
    assert_eq!(search("Abcd").await, set(&["Abcd0006"]));
    assert_eq!(search("Srch").await.len(), 5);
    assert!(search("nothing like it").await.is_empty());
    assert_eq!(
        search("").await.len(),
        6,
        "an empty search matches everything"
    );
}

/// Status filters: active, revoked, expired.
pub async fn list_filters(store: Arc<dyn KeyStore>) {
    let now = record("x", "x").created;
    let active = record("Flt00001", "active");
    let revoked = ApiKey {
        revoked: true,
        ..record("Flt00002", "revoked")
    };
    let expired = ApiKey {
        expires: Some(now - Duration::hours(1)),
        ..record("Flt00003", "expired")
    };
    let both = ApiKey {
        revoked: true,
        expires: Some(now - Duration::hours(1)),
        ..record("Flt00004", "revoked and expired")
    };
    let future = ApiKey {
        expires: Some(now + Duration::days(1)),
        ..record("Flt00005", "expires tomorrow")
    };
    for key in [&active, &revoked, &expired, &both, &future] {
        store.insert(key).await.expect("insert");
    }
    let with = |status| {
        let store = Arc::clone(&store);
        async move {
            let query = ListQuery::new().status(status);
            let page = store.list(&query).await.expect("list");
            let mut prefixes: Vec<String> = page.keys.into_iter().map(|k| k.prefix).collect();
            prefixes.sort();
            prefixes
        }
    };
    assert_eq!(with(StatusFilter::All).await.len(), 5);
    assert_eq!(with(StatusFilter::Active).await, ["Flt00001", "Flt00005"]);
    assert_eq!(with(StatusFilter::Revoked).await, ["Flt00002", "Flt00004"]);
    assert_eq!(with(StatusFilter::Expired).await, ["Flt00003", "Flt00004"]);
}

/// Names of 50 multi-byte characters, emoji and mixed scripts round-trip exactly.
pub async fn unicode_names(store: Arc<dyn KeyStore>) {
    let keys = ApiKeys::builder_shared(Arc::clone(&store)).build();
    for name in [
        "é".repeat(50),
        "🔑".repeat(50),
        "Ключ 鍵 مفتاح key".to_owned(),
    ] {
        let created = keys
            .create(NewKey::named(name.clone()))
            .await
            .expect("create");
        let got = store
            .get(created.key.prefix())
            .await
            .expect("get")
            .expect("present");
        assert_eq!(got.name, name);
    }
    assert!(keys.create(NewKey::named("é".repeat(51))).await.is_err());
}

/// Create, verify, expire and revoke through [`ApiKeys`] on this store.
pub async fn manager_round_trip(store: Arc<dyn KeyStore>) {
    let keys = ApiKeys::builder_shared(Arc::clone(&store)).build();
    let created = keys
        .create(NewKey::named("round trip").scope("a").meta("org", 7))
        .await
        .expect("create");
    let secret = created.key.expose_secret();
    let verified = keys.verify(secret).await.expect("verify");
    assert_eq!(verified.prefix(), created.key.prefix());
    assert_eq!(verified.metadata()["org"], 7);
    assert_eq!(
        keys.get(created.key.prefix()).await.expect("get"),
        created.record
    );

    let expired = keys
        .create(NewKey::named("expired").expires(OffsetDateTime::now_utc() - Duration::seconds(1)))
        .await
        .expect("create expired");
    assert!(matches!(
        keys.verify(expired.key.expose_secret()).await,
        Err(VerifyError::Denied(Denial::Expired))
    ));

    let mut wrong = secret.to_owned();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    assert!(matches!(
        keys.verify(&wrong).await,
        Err(VerifyError::Denied(Denial::InvalidSecret))
    ));
    keys.revoke(created.key.prefix()).await.expect("revoke");
    assert!(matches!(
        keys.verify(secret).await,
        Err(VerifyError::Denied(Denial::Revoked))
    ));
}

/// 32 tasks create and revoke keys at once; nothing is lost or mixed up.
pub async fn concurrent_writers(store: Arc<dyn KeyStore>) {
    const TASKS: usize = 32;
    const PER_TASK: usize = 6;
    let keys = ApiKeys::builder_shared(Arc::clone(&store)).build();
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let keys = keys.clone();
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..PER_TASK {
                    let created = keys
                        .create(NewKey::named(format!("task {task} key {i}")))
                        .await
                        .expect("concurrent create");
                    let revoke = i % 2 == 0;
                    if revoke {
                        keys.revoke(created.key.prefix())
                            .await
                            .expect("concurrent revoke");
                    }
                    made.push((created.key.expose_secret().to_owned(), revoke));
                }
                made
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.expect("task"));
    }
    assert_eq!(all.len(), TASKS * PER_TASK);
    for (secret, revoked) in &all {
        let outcome = keys.verify(secret).await;
        if *revoked {
            assert!(
                matches!(outcome, Err(VerifyError::Denied(Denial::Revoked))),
                "{outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "{outcome:?}");
        }
    }
    let listed = store
        .list(&ListQuery::new().limit(ListQuery::MAX_LIMIT))
        .await
        .expect("list");
    assert_eq!(listed.keys.len(), TASKS * PER_TASK);
    let revoked = store
        .list(
            &ListQuery::new()
                .status(StatusFilter::Revoked)
                .limit(ListQuery::MAX_LIMIT),
        )
        .await
        .expect("list revoked");
    assert_eq!(revoked.keys.len(), TASKS * PER_TASK / 2);
}

/// A revocation through one handle is refused by the very next verification through
/// another handle on the same storage. For stores with more than one handle.
pub async fn revocation_visible_across_handles(a: Arc<dyn KeyStore>, b: Arc<dyn KeyStore>) {
    revocation_visible_across_handles_within(a, b, std::time::Duration::ZERO).await;
}

/// The same for a store whose handles cache records with a staleness bound (its flag):
/// after a revocation through one handle, the other refuses the key within `bound`, and
/// from then on. The reader has verified the key just before, so a cache holds it.
pub async fn revocation_visible_across_handles_within(
    a: Arc<dyn KeyStore>,
    b: Arc<dyn KeyStore>,
    bound: std::time::Duration,
) {
    let writer = ApiKeys::builder_shared(a).build();
    let reader = ApiKeys::builder_shared(b).build();
    for _ in 0..3 {
        let created = writer
            .create(NewKey::named("shared"))
            .await
            .expect("create");
        let secret = created.key.expose_secret();
        for _ in 0..3 {
            reader
                .verify(secret)
                .await
                .expect("visible through the other handle");
        }
        writer.revoke(created.key.prefix()).await.expect("revoke");
        let revoked = std::time::Instant::now();
        loop {
            match reader.verify(secret).await {
                Err(VerifyError::Denied(Denial::Revoked)) => break,
                Ok(_) if revoked.elapsed() < bound => {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                other => panic!(
                    "still {other:?} {:?} after the revocation (bound {bound:?})",
                    revoked.elapsed()
                ),
            }
        }
        assert!(matches!(
            reader.verify(secret).await,
            Err(VerifyError::Denied(Denial::Revoked))
        ));
    }
}
