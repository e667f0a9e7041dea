//! The record cache on the real server: invalidated by any writer within the bound, bypassed
//! while its listener is down, back after reconnection, off where it cannot be kept.

use std::time::{Duration, Instant};

use apikeys::{ApiKeys, Denial, KeyStore, NewKey, VerifyError};
use apikeys_postgres::testing::{DJANGO_DDL, TestSchema, cache_in_use};
use apikeys_postgres::{CacheOptions, DJANGO_TABLE, PostgresStore};

const BOUND: Duration = CacheOptions::DEFAULT_MAX_STALENESS;

/// Verifies `secret` through `keys` until `done` says the outcome is the expected one;
/// panics if that takes longer than the bound. Returns how long it took.
async fn within_bound(
    keys: &ApiKeys,
    secret: &str,
    done: impl Fn(&Result<apikeys::VerifiedKey, VerifyError>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let outcome = keys.verify(secret).await;
        if done(&outcome) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < BOUND,
            "still {outcome:?} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn revoked(outcome: &Result<apikeys::VerifiedKey, VerifyError>) -> bool {
    matches!(outcome, Err(VerifyError::Denied(Denial::Revoked)))
}

/// Verifies until the store answers from its cache. A fill can be dropped, rightly, when an
/// invalidation (say, of the key's own creation) arrives while the row is being read.
async fn cached(store: &PostgresStore, keys: &ApiKeys, secret: &str) {
    for _ in 0..50 {
        let hits = store.cache_status().hits;
        keys.verify(secret).await.expect("verify");
        if store.cache_status().hits > hits {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never answered from the cache: {:?}", store.cache_status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_another_pool_is_refused_within_the_bound() {
    let schema = TestSchema::new().await;
    let a = PostgresStore::new(schema.pool().await).await.expect("a");
    let b = PostgresStore::new(schema.pool().await).await.expect("b");
    cache_in_use(&b).await;
    let (writer, reader) = (ApiKeys::new(a), ApiKeys::new(b.clone()));
    for n in 0..5 {
        let created = writer
            .create(NewKey::named(format!("key {n}")))
            .await
            .expect("create");
        let secret = created.key.expose_secret();
        cached(&b, &reader, secret).await;
        writer.revoke(created.key.prefix()).await.expect("revoke");
        let took = within_bound(&reader, secret, revoked).await;
        eprintln!("revocation seen by the other store after {took:?}");
    }
}

/// Changes made with plain SQL, as psql would, reach the cache through the trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_sql_changes_invalidate() {
    let schema = TestSchema::new().await;
    let store = PostgresStore::new(schema.pool().await)
        .await
        .expect("store");
    cache_in_use(&store).await;
    let keys = ApiKeys::new(store.clone());
    let psql = schema.pool().await;

    let created = keys.create(NewKey::named("before")).await.expect("create");
    let (secret, prefix) = (created.key.expose_secret(), created.key.prefix());
    cached(&store, &keys, secret).await;
    sqlx::query("UPDATE apikeys SET name = 'after', name_folded = 'after' WHERE prefix = $1")
        .bind(prefix)
        .execute(&psql)
        .await
        .expect("update");
    within_bound(&keys, secret, |o| {
        o.as_ref().is_ok_and(|k| k.name() == "after")
    })
    .await;
    cached(&store, &keys, secret).await;
    sqlx::query("UPDATE apikeys SET revoked = true WHERE prefix = $1")
        .bind(prefix)
        .execute(&psql)
        .await
        .expect("revoke");
    within_bound(&keys, secret, revoked).await;

    let created = keys.create(NewKey::named("deleted")).await.expect("create");
    let secret = created.key.expose_secret();
    cached(&store, &keys, secret).await;
    sqlx::query("DELETE FROM apikeys WHERE prefix = $1")
        .bind(created.key.prefix())
        .execute(&psql)
        .await
        .expect("delete");
    within_bound(&keys, secret, |o| {
        matches!(o, Err(VerifyError::Denied(Denial::NotFound)))
    })
    .await;

    let created = keys
        .create(NewKey::named("truncated"))
        .await
        .expect("create");
    let secret = created.key.expose_secret();
    cached(&store, &keys, secret).await;
    sqlx::raw_sql("TRUNCATE apikeys")
        .execute(&psql)
        .await
        .expect("truncate");
    within_bound(&keys, secret, |o| {
        matches!(o, Err(VerifyError::Denied(Denial::NotFound)))
    })
    .await;
}

/// While the listener is down every lookup reads the table: a revocation made meanwhile is
/// refused by the very next verification. After reconnecting, the cache is cleared and used
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_bypasses_the_cache_until_it_is_back() {
    let schema = TestSchema::new().await;
    let store = PostgresStore::new(schema.pool().await)
        .await
        .expect("store");
    cache_in_use(&store).await;
    let keys = ApiKeys::new(store.clone());
    let admin = ApiKeys::new(
        PostgresStore::with_cache(schema.pool().await, CacheOptions::off())
            .await
            .expect("admin"),
    );
    let created = keys.create(NewKey::named("victim")).await.expect("create");
    let secret = created.key.expose_secret();
    let survivor = keys
        .create(NewKey::named("survivor"))
        .await
        .expect("create");
    cached(&store, &keys, secret).await;
    cached(&store, &keys, survivor.key.expose_secret()).await;

    let before = store.cache_status();
    let pid = before.listener_pid.expect("a listener");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&schema.pool().await)
        .await
        .expect("terminate");
    assert!(killed);
    // The store notices the lost connection (it stops using the cache before a new listener
    // is up, which waits at least 100 ms).
    let start = Instant::now();
    while store.cache_status().usable {
        assert!(start.elapsed() < BOUND, "{:?}", store.cache_status());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(store.cache_status().entries, 0, "cleared when lost");
    admin.revoke(created.key.prefix()).await.expect("revoke");
    assert!(
        revoked(&keys.verify(secret).await),
        "the very next verification"
    );
    let bypasses = store.cache_status().bypasses;
    keys.verify(survivor.key.expose_secret())
        .await
        .expect("verify");
    assert!(store.cache_status().bypasses > bypasses);

    cache_in_use(&store).await;
    let after = store.cache_status();
    assert_eq!(after.reconnects, before.reconnects + 1);
    assert_ne!(after.listener_pid, Some(pid));
    assert!(revoked(&keys.verify(secret).await));
    cached(&store, &keys, survivor.key.expose_secret()).await;
    // And it is coherent again.
    admin
        .revoke(survivor.key.prefix())
        .await
        .expect("revoke survivor");
    within_bound(&keys, survivor.key.expose_secret(), revoked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bounded_and_can_be_off() {
    let schema = TestSchema::new().await;
    let store = PostgresStore::with_cache(schema.pool().await, CacheOptions::new().capacity(3))
        .await
        .expect("store");
    cache_in_use(&store).await;
    let keys = ApiKeys::new(store.clone());
    for n in 0..6 {
        let created = keys
            .create(NewKey::named(format!("k{n}")))
            .await
            .expect("create");
        cached(&store, &keys, created.key.expose_secret()).await;
    }
    // (A creation's own notification may still come in and drop that key again.)
    let held = store.cache_status().entries;
    assert!((2..=3).contains(&held), "{held}");
    // Unknown prefixes are not kept.
    assert!(store.get("Unknown1").await.expect("get").is_none());
    assert!(store.cache_status().entries <= held);

    let off = PostgresStore::with_cache(schema.pool().await, CacheOptions::off())
        .await
        .expect("off");
    let status = off.cache_status();
    assert!(!status.enabled && !status.usable && status.listener_pid.is_none());
    let keys = ApiKeys::new(off.clone());
    let created = keys
        .create(NewKey::named("uncached"))
        .await
        .expect("create");
    keys.verify(created.key.expose_secret())
        .await
        .expect("verify");
    assert_eq!(off.cache_status().hits, 0);
}

/// In Django mode the trigger is installed when the role owns the table; Django's own
/// writes (plain SQL here) then invalidate. A role that may only read and write the rows
/// gets no cache, and still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_mode_installs_the_trigger_when_it_may() {
    let schema = TestSchema::new().await;
    schema.create_django_table().await;
    let owner = PostgresStore::django(schema.pool().await, DJANGO_TABLE)
        .await
        .expect("owner");
    cache_in_use(&owner).await;
    // A second store finds the trigger there.
    let again = PostgresStore::django(schema.pool().await, DJANGO_TABLE)
        .await
        .expect("again");
    assert!(again.cache_status().enabled);
    let triggers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal",
    )
    .bind(DJANGO_TABLE)
    .fetch_one(owner.pool())
    .await
    .expect("count");
    assert_eq!(triggers, 2);

    let keys = ApiKeys::new(owner.clone());
    let created = keys.create(NewKey::named("django")).await.expect("create");
    let secret = created.key.expose_secret();
    cached(&owner, &keys, secret).await;
    sqlx::query("UPDATE rest_framework_api_key_apikey SET revoked = true WHERE prefix = $1")
        .bind(created.key.prefix())
        .execute(&schema.pool().await)
        .await
        .expect("revoke as Django would");
    within_bound(&keys, secret, revoked).await;

    // A role that does not own the table, on a fresh table without the trigger.
    let role = format!("{}_app", schema.name);
    let setup = schema.pool().await;
    sqlx::raw_sql(&format!(
        "DROP TABLE rest_framework_api_key_apikey; {DJANGO_DDL}
         CREATE ROLE {role} LOGIN;
         GRANT USAGE ON SCHEMA {schema} TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON rest_framework_api_key_apikey TO {role};",
        schema = schema.name
    ))
    .execute(&setup)
    .await
    .expect("role");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(schema.options().username(&role))
        .await
        .expect("connect as the role");
    let limited = PostgresStore::django(pool.clone(), DJANGO_TABLE)
        .await
        .expect("a role without rights on the table's definition still gets a store");
    assert!(!limited.cache_status().enabled);
    let keys = ApiKeys::new(limited.clone());
    let created = keys
        .create(NewKey::named("uncached"))
        .await
        .expect("create");
    keys.verify(created.key.expose_secret())
        .await
        .expect("verify");
    assert_eq!(limited.cache_status().hits, 0);
    drop((keys, limited));
    pool.close().await;
    // Roles are server-wide: this one must not outlive the test on an existing server.
    sqlx::raw_sql(&format!(
        "REVOKE ALL ON rest_framework_api_key_apikey FROM {role}; \
         REVOKE ALL ON SCHEMA {} FROM {role}; DROP ROLE {role}",
        schema.name
    ))
    .execute(&setup)
    .await
    .expect("drop the role");
}

/// Lag: a listener that is connected but cannot prove it is current (here its pings cannot
/// get a connection of the pool) stops the cache within the bound, without a reconnection,
/// and the cache comes back once the proofs do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_cannot_prove_itself_current_stops_the_cache_within_the_bound() {
    let schema = TestSchema::new().await;
    // One connection for the listener, one for everything else.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(schema.options())
        .await
        .expect("pool");
    let store = PostgresStore::new(pool.clone()).await.expect("store");
    cache_in_use(&store).await;
    let held = pool
        .acquire()
        .await
        .expect("the connection the listener leaves");
    let start = Instant::now();
    while store.cache_status().usable {
        assert!(
            start.elapsed() < BOUND + Duration::from_millis(50),
            "{:?}",
            store.cache_status()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    eprintln!(
        "cache stopped {:?} after the pings stalled",
        start.elapsed()
    );
    assert!(
        store.cache_status().listener_pid.is_some(),
        "still connected"
    );
    drop(held);
    cache_in_use(&store).await;
    assert_eq!(store.cache_status().reconnects, 0);
}
