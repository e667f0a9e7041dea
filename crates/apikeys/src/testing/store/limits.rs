//! Conformance cases of usage limits: the `rate_limit` and `credits` fields, and atomic
//! credit spending. A store without [`Capabilities::limits`](crate::Capabilities) must
//! refuse to spend with [`StoreError::Unsupported`].

use std::sync::Arc;

use time::Duration;

use super::insert;
use crate::limits::{Credits, Refill};
use crate::record::ApiKey;
use crate::store::{KeyStore, StoreError};
use crate::testing::record;

fn with_credits(prefix: &str, credits: Credits) -> ApiKey {
    ApiKey {
        credits: Some(credits),
        ..record(prefix, "credits")
    }
}

/// A rate limit and credits with a refill survive a round trip.
pub async fn limits_round_trip(store: Arc<dyn KeyStore>) {
    if !store.capabilities().limits {
        return;
    }
    let base = record("Lim00001", "limits");
    let credits = Credits::new(1234, base.created)
        .expect("credits")
        .with_refill("1000/month".parse::<Refill>().expect("refill"));
    let key = ApiKey {
        rate_limit: Some("100/s,burst=20".parse().expect("limit")),
        credits: Some(credits),
        ..base
    };
    insert(&*store, &key).await.expect("insert");
    let got = store.get(&key.prefix).await.expect("get").expect("present");
    assert_eq!(got.rate_limit, key.rate_limit);
    assert_eq!(got.credits, key.credits);
}

/// 64 concurrent spends of 1 against 50 credits grant exactly 50 and leave 0; a key
/// without credits spends nothing (`None`); an unknown key is `NotFound`; a cost above
/// what remains is refused and spends nothing.
pub async fn concurrent_spends_grant_exactly_the_credits(store: Arc<dyn KeyStore>) {
    let key = with_credits(
        "Spd00001",
        Credits::new(50, record("x", "x").created).expect("credits"),
    );
    if !store.capabilities().limits {
        assert!(
            matches!(
                store.spend(&key.prefix, 1, key.created).await,
                Err(StoreError::Unsupported(_))
            ),
            "a store without the limits capability must say so"
        );
        return;
    }
    insert(&*store, &key).await.expect("insert");
    let plain = record("Spd00002", "no credits");
    insert(&*store, &plain).await.expect("insert");

    let mut tasks = Vec::new();
    for _ in 0..64 {
        let store = Arc::clone(&store);
        let prefix = key.prefix.clone();
        tasks.push(tokio::spawn(async move {
            store
                .spend(&prefix, 1, time::OffsetDateTime::now_utc())
                .await
                .expect("spend")
                .expect("the key has credits")
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.expect("task").granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 50, "exactly the credits there were");
    let stored = store.get(&key.prefix).await.expect("get").expect("present");
    assert_eq!(stored.credits.as_ref().map(|c| c.remaining), Some(0));
    let refused = store
        .spend(&key.prefix, 1, key.created)
        .await
        .expect("spend")
        .expect("credits");
    assert!(!refused.granted);
    assert_eq!(refused.remaining, 0);

    assert_eq!(
        store
            .spend(&plain.prefix, 1, plain.created)
            .await
            .expect("spend"),
        None
    );
    assert!(matches!(
        store.spend("Spd99999", 1, plain.created).await,
        Err(StoreError::NotFound { .. })
    ));

    let small = with_credits("Spd00003", Credits::new(3, key.created).expect("credits"));
    insert(&*store, &small).await.expect("insert");
    let too_much = store
        .spend(&small.prefix, 5, small.created)
        .await
        .expect("spend");
    assert_eq!(too_much.map(|s| (s.granted, s.remaining)), Some((false, 3)));
    let free = store
        .spend(&small.prefix, 0, small.created)
        .await
        .expect("spend");
    assert_eq!(free.map(|s| (s.granted, s.remaining)), Some((true, 3)));
}

/// A refill due at the spend's time sets the count back to the amount (not more), once per
/// period; a spend at an earlier time (a clock behind) never refills.
pub async fn spending_refills_on_schedule(store: Arc<dyn KeyStore>) {
    if !store.capabilities().limits {
        return;
    }
    let start = record("x", "x").created;
    let credits = Credits::new(2, start)
        .expect("credits")
        .with_refill("10/1h".parse::<Refill>().expect("refill"));
    let key = with_credits("Rfl00001", credits);
    insert(&*store, &key).await.expect("insert");
    let spend = |at| {
        let store = Arc::clone(&store);
        async move {
            store
                .spend("Rfl00001", 1, at)
                .await
                .expect("spend")
                .expect("credits")
        }
    };
    assert_eq!(spend(start).await.remaining, 1);
    assert_eq!(spend(start).await.remaining, 0);
    assert!(!spend(start + Duration::minutes(59)).await.granted);
    let refilled = spend(start + Duration::minutes(150)).await;
    assert!(refilled.granted);
    assert_eq!(refilled.remaining, 9);
    assert_eq!(refilled.next_refill, Some(start + Duration::hours(3)));
    assert_eq!(spend(start + Duration::minutes(151)).await.remaining, 8);
    assert_eq!(
        spend(start).await.remaining,
        7,
        "a clock behind never refills"
    );
    let stored = store.get("Rfl00001").await.expect("get").expect("present");
    assert_eq!(
        stored
            .credits
            .as_ref()
            .map(|c| (c.remaining, c.period_start)),
        Some((7, start + Duration::hours(2)))
    );
}

/// An edit sets and removes the rate limit and the credits, changing nothing else; a
/// spend after an edit starts from the edited credits.
pub async fn edit_sets_limits(store: Arc<dyn KeyStore>) {
    use crate::lifecycle::{Change, Edit};
    use crate::testing::event;
    if !store.capabilities().limits {
        return;
    }
    let key = with_credits(
        "Edl00001",
        Credits::new(1, record("x", "x").created).expect("credits"),
    );
    insert(&*store, &key).await.expect("insert");
    let edited = |changes: &Edit| {
        event(
            &key.prefix,
            crate::audit::AuditAction::Updated {
                changes: changes.clone(),
            },
        )
    };
    let credits = Credits::new(500, key.created).expect("credits");
    let edit = Edit::new()
        .rate_limit("10/m".parse().expect("limit"))
        .credits(credits.clone());
    store
        .modify(&key.prefix, &Change::Edit(edit.clone()), &edited(&edit))
        .await
        .expect("edit");
    let got = store.get(&key.prefix).await.expect("get").expect("present");
    assert_eq!(got.rate_limit, Some("10/m".parse().expect("limit")));
    assert_eq!(got.credits, Some(credits));
    assert_eq!(got.name, key.name);
    let spent = store
        .spend(&key.prefix, 1, key.created)
        .await
        .expect("spend");
    assert_eq!(spent.map(|s| s.remaining), Some(499));
    let clear = Edit::new().no_rate_limit().no_credits();
    store
        .modify(&key.prefix, &Change::Edit(clear.clone()), &edited(&clear))
        .await
        .expect("edit");
    let got = store.get(&key.prefix).await.expect("get").expect("present");
    assert_eq!((got.rate_limit, got.credits.clone()), (None, None));
    assert_eq!(
        store
            .spend(&key.prefix, 1, key.created)
            .await
            .expect("spend"),
        None
    );
}
