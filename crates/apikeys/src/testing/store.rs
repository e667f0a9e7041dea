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

use super::{created, record};
use crate::lifecycle::{Change, Edit, Modified, Refusal};
use crate::manager::ApiKeys;
use crate::query::{ListQuery, StatusFilter};
use crate::record::ApiKey;
use crate::store::{KeyStore, StoreError};
use crate::verify::{Denial, VerifyError};
use crate::{NewKey, Revocation};

mod lifecycle;
mod limits;

pub use self::lifecycle::{
    concurrent_rolls_have_one_winner, disable_and_enable, edit_racing_revocation_stays_revoked,
    events_for_each_change_and_only_then, manager_lifecycle, roll_links_both_keys,
    touch_moves_forward_only, touch_racing_edit_keeps_both, undecodable_records,
    unsupported_fields_are_refused, upgrade_racing_edit_keeps_the_edit,
};
pub use self::limits::{
    concurrent_spends_grant_exactly_the_credits, edit_sets_limits, limits_round_trip,
    spending_refills_on_schedule,
};

/// Inserts `key` with its creation event.
async fn insert(store: &dyn KeyStore, key: &ApiKey) -> Result<(), StoreError> {
    store.insert(key, &created(key)).await
}

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
    case!(edit_changes_only_what_it_names);
    case!(revocation_is_irreversible);
    case!(delete_removes);
    case!(list_newest_first_in_pages);
    case!(list_search);
    case!(list_filters);
    case!(unicode_names);
    case!(manager_round_trip);
    case!(concurrent_writers);
    case!(unsupported_fields_are_refused);
    case!(touch_moves_forward_only);
    case!(disable_and_enable);
    case!(roll_links_both_keys);
    case!(concurrent_rolls_have_one_winner);
    case!(edit_racing_revocation_stays_revoked);
    case!(upgrade_racing_edit_keeps_the_edit);
    case!(touch_racing_edit_keeps_both);
    case!(events_for_each_change_and_only_then);
    case!(manager_lifecycle);
    case!(limits_round_trip);
    case!(concurrent_spends_grant_exactly_the_credits);
    case!(spending_refills_on_schedule);
    case!(edit_sets_limits);
}

/// Every field the store supports survives a round trip; unknown prefixes are `None`.
pub async fn insert_and_get(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    let mut key = record("Abc12345", "full record ✓");
    key.expires = Some(key.created + Duration::days(30));
    if caps.scopes {
        key.scopes = ["heroes:read", "heroes:write"].map(String::from).into();
    }
    if caps.metadata {
        key.metadata = json!({"org": 42, "plan": {"tier": "gold", "seats": [1, 2]}, "note": null})
            .as_object()
            .cloned()
            .expect("object");
    }
    if caps.owner {
        key.owner = Some("org_42 ✓".into());
    }
    if caps.disabled {
        key.disabled = true;
    }
    if caps.last_used {
        key.last_used = Some(key.created + Duration::seconds(5));
    }
    if caps.rotation {
        key.predecessor = Some("Abc00000".into());
        key.successor = Some("Abc99999".into());
    }
    insert(&*store, &key).await.expect("insert");
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
    insert(&*store, &first).await.expect("insert");
    let mut second = record("Dup00001", "second");
    second.hashed_key = format!("sha512$${}", "1".repeat(128));
    match insert(&*store, &second).await {
        Err(StoreError::AlreadyExists { prefix }) => assert_eq!(prefix, "Dup00001"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(
        *store.get("Dup00001").await.expect("get").expect("present"),
        first
    );
}

/// An edit changes exactly the fields it sets and returns the record as stored; an edit
/// setting what is already stored is `Unchanged`; a missing prefix is `NotFound`.
pub async fn edit_changes_only_what_it_names(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    let key = record("Upd00001", "before");
    insert(&*store, &key).await.expect("insert");
    let expires = key.created + Duration::hours(1);
    let mut edit = Edit::new().name("after").expires(expires);
    if caps.scopes {
        edit = edit.scopes(["s"]);
    }
    if caps.metadata {
        edit = edit.metadata(json!({"k": "v"}).as_object().cloned().expect("object"));
    }
    if caps.owner {
        edit = edit.owner("org");
    }
    let change = Change::Edit(edit.clone());
    let event = super::event("Upd00001", crate::AuditAction::Updated { changes: edit });
    let Modified::Changed(after) = store
        .modify("Upd00001", &change, &event)
        .await
        .expect("edit")
    else {
        panic!("an edit of every field changed nothing")
    };
    let mut expected = key.clone();
    assert_eq!(change.apply(&mut expected), Ok(true));
    assert_eq!(after, expected);
    assert_eq!(
        *store.get("Upd00001").await.expect("get").expect("present"),
        expected
    );
    assert!(matches!(
        store.modify("Upd00001", &change, &event).await,
        Ok(Modified::Unchanged(k)) if k == expected
    ));
    let clear = Change::Edit(Edit::new().no_expiry());
    store
        .modify("Upd00001", &clear, &event)
        .await
        .expect("clear expiry");
    let got = store.get("Upd00001").await.expect("get").expect("present");
    assert_eq!((got.expires, got.name.as_str()), (None, "after"));
    match store.modify("Nope0001", &change, &event).await {
        Err(StoreError::NotFound { prefix }) => assert_eq!(prefix, "Nope0001"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(store.get("Nope0001").await.expect("get").is_none());
}

/// No write un-revokes a key; enabling a revoked key is refused.
pub async fn revocation_is_irreversible(store: Arc<dyn KeyStore>) {
    let mut key = record("Rev00001", "revoked");
    key.revoked = true;
    insert(&*store, &key).await.expect("insert");
    let edit = Change::Edit(Edit::new().name("renamed"));
    let event = super::event("Rev00001", crate::AuditAction::Revoked);
    store
        .modify("Rev00001", &edit, &event)
        .await
        .expect("edit a revoked key");
    let got = store.get("Rev00001").await.expect("get").expect("present");
    assert!(got.revoked, "an edit un-revoked a key");
    assert_eq!(got.name, "renamed");
    let disabling = store.capabilities().disabled;
    for change in [Change::Enable, Change::Disable] {
        match store.modify("Rev00001", &change, &event).await {
            Err(StoreError::Refused { reason, .. }) => assert_eq!(reason, Refusal::Revoked),
            Err(StoreError::Unsupported(_)) if !disabling => {}
            other => panic!("{change:?} of a revoked key: {other:?}"),
        }
    }
    assert!(matches!(
        store.modify("Rev00001", &Change::Revoke, &event).await,
        Ok(Modified::Unchanged(_))
    ));

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
    store
        .touch(&[(prefix.to_owned(), time::OffsetDateTime::now_utc())])
        .await
        .expect("touch");
    assert!(matches!(
        keys.verify(created.key.expose_secret()).await,
        Err(VerifyError::Denied(Denial::Revoked))
    ));
}

/// `delete` removes a record and says whether there was one.
pub async fn delete_removes(store: Arc<dyn KeyStore>) {
    insert(&*store, &record("Del00001", "gone"))
        .await
        .expect("insert");
    let event = super::event("Del00001", crate::AuditAction::Deleted);
    assert!(store.delete("Del00001", &event).await.expect("delete"));
    assert!(store.get("Del00001").await.expect("get").is_none());
    assert!(
        !store
            .delete("Del00001", &event)
            .await
            .expect("delete again")
    );
    insert(&*store, &record("Del00001", "back"))
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
        insert(&*store, &key).await.expect("insert");
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
        insert(&*store, &at(record("x", "x").created, i, prefix, name))
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

/// Status filters (active, revoked, expired, disabled, expiring within) and the owner
/// filter, alone and combined.
#[allow(clippy::too_many_lines, reason = "one table of cases")]
pub async fn list_filters(store: Arc<dyn KeyStore>) {
    let caps = store.capabilities();
    let now = record("x", "x").created;
    let hour = Duration::hours(1);
    let mut keys = vec![
        record("Flt00001", "active"),
        ApiKey {
            revoked: true,
            ..record("Flt00002", "revoked")
        },
        ApiKey {
            expires: Some(now - hour),
            ..record("Flt00003", "expired")
        },
        ApiKey {
            revoked: true,
            expires: Some(now - hour),
            ..record("Flt00004", "revoked and expired")
        },
        ApiKey {
            expires: Some(now + Duration::days(1)),
            ..record("Flt00005", "expires tomorrow")
        },
        ApiKey {
            expires: Some(now + Duration::days(30)),
            ..record("Flt00006", "expires next month")
        },
        ApiKey {
            revoked: true,
            expires: Some(now + hour),
            ..record("Flt00007", "revoked, expires soon")
        },
    ];
    if caps.disabled {
        keys.push(ApiKey {
            disabled: true,
            ..record("Flt00008", "disabled")
        });
    }
    if caps.owner {
        keys[0].owner = Some("org_a".into());
        keys[4].owner = Some("org_a".into());
        keys[1].owner = Some("org_b".into());
        keys[5].owner = Some("org_A".into());
    }
    for key in &keys {
        insert(&*store, key).await.expect("insert");
    }
    let with = |query: ListQuery| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list(&query.at(now)).await.expect("list");
            let mut prefixes: Vec<String> = page.keys.into_iter().map(|k| k.prefix).collect();
            prefixes.sort();
            prefixes
        }
    };
    let status = |s| with(ListQuery::new().status(s));
    assert_eq!(status(StatusFilter::All).await.len(), keys.len());
    assert_eq!(
        status(StatusFilter::Active).await,
        ["Flt00001", "Flt00005", "Flt00006"]
    );
    assert_eq!(
        status(StatusFilter::Revoked).await,
        ["Flt00002", "Flt00004", "Flt00007"]
    );
    assert_eq!(
        status(StatusFilter::Expired).await,
        ["Flt00003", "Flt00004"]
    );
    assert_eq!(
        status(StatusFilter::ExpiringWithin(Duration::days(7))).await,
        ["Flt00005"]
    );
    assert_eq!(
        status(StatusFilter::ExpiringWithin(Duration::days(31))).await,
        ["Flt00005", "Flt00006"]
    );
    if caps.disabled {
        assert_eq!(status(StatusFilter::Disabled).await, ["Flt00008"]);
    }
    if caps.owner {
        let owned = |o: &str| with(ListQuery::new().owner(o));
        assert_eq!(owned("org_a").await, ["Flt00001", "Flt00005"]);
        assert_eq!(owned("org_A").await, ["Flt00006"], "owners match exactly");
        assert!(owned("org").await.is_empty());
        assert_eq!(
            with(ListQuery::new().owner("org_a").search("tomorrow")).await,
            ["Flt00005"]
        );
        assert_eq!(
            with(
                ListQuery::new()
                    .owner("org_a")
                    .status(StatusFilter::ExpiringWithin(Duration::days(2)))
            )
            .await,
            ["Flt00005"]
        );
        let page = store
            .list(&ListQuery::new().owner("org_a").limit(1).at(now))
            .await
            .expect("list");
        let next = page.next.expect("a second page");
        let rest = store
            .list(&ListQuery::new().owner("org_a").limit(1).after(next).at(now))
            .await
            .expect("list");
        assert_eq!(page.keys.len() + rest.keys.len(), 2);
        assert!(rest.next.is_none());
    }
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
    let caps = store.capabilities();
    let keys = ApiKeys::builder_shared(Arc::clone(&store)).build();
    let mut new = NewKey::named("round trip");
    if caps.scopes {
        new = new.scope("a");
    }
    if caps.metadata {
        new = new.meta("org", 7);
    }
    let created = keys.create(new).await.expect("create");
    let secret = created.key.expose_secret();
    let verified = keys.verify(secret).await.expect("verify");
    assert_eq!(verified.prefix(), created.key.prefix());
    if caps.metadata {
        assert_eq!(verified.metadata()["org"], 7);
    }
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
