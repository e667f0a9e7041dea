//! `PostgresStore` passes the core's store conformance suite, in its own table and (for
//! the cases that need neither scopes nor metadata) in djangorestframework-api-key's table,
//! with its record cache on (and in use) and off.

use std::sync::Arc;
use std::time::Duration;

use apikeys::testing::store;
use apikeys::{ApiKeys, Change, Edit, KeyStore, ListQuery, NewKey, StoreError};
use apikeys_postgres::testing::{DJANGO_DDL, TestSchema, cache_in_use};
use apikeys_postgres::{CacheOptions, DJANGO_TABLE, Error, PostgresStore};

/// The staleness bound the cross-pool tests hold the cache to.
const BOUND: Duration = CacheOptions::DEFAULT_MAX_STALENESS;

/// Each case gets its own schema; the schemas live until the test ends. The cache is on and
/// its listener current before the case starts, so that the case runs through it.
async fn own_store(schemas: &std::sync::Mutex<Vec<TestSchema>>) -> PostgresStore {
    let store = own_store_with(schemas, CacheOptions::new()).await;
    cache_in_use(&store).await;
    store
}

async fn own_store_with(
    schemas: &std::sync::Mutex<Vec<TestSchema>>,
    cache: CacheOptions,
) -> PostgresStore {
    let schema = TestSchema::new().await;
    let store = PostgresStore::with_cache(schema.pool().await, cache)
        .await
        .expect("migrate");
    schemas.lock().expect("schemas").push(schema);
    store
}

async fn django_store(schemas: &std::sync::Mutex<Vec<TestSchema>>) -> PostgresStore {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    sqlx::raw_sql(DJANGO_DDL).execute(&pool).await.expect("DDL");
    schemas.lock().expect("schemas").push(schema);
    let store = PostgresStore::django(pool, DJANGO_TABLE)
        .await
        .expect("django store");
    cache_in_use(&store).await;
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_table_conformance() {
    let schemas = std::sync::Mutex::new(Vec::new());
    store::run_all(|| own_store(&schemas)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_table_conformance_without_cache() {
    let schemas = std::sync::Mutex::new(Vec::new());
    store::run_all(|| own_store_with(&schemas, CacheOptions::off())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_table_revocation_visible_across_pools() {
    let schema = TestSchema::new().await;
    let a = PostgresStore::new(schema.pool().await).await.expect("a");
    let b = PostgresStore::new(schema.pool().await).await.expect("b");
    cache_in_use(&b).await;
    store::revocation_visible_across_handles_within(Arc::new(a), Arc::new(b.clone()), BOUND).await;
    assert!(b.cache_status().hits > 0, "{:?}", b.cache_status());
    // Without a cache, at once.
    let off = |pool| PostgresStore::with_cache(pool, CacheOptions::off());
    let a = off(schema.pool().await).await.expect("a");
    let b = off(schema.pool().await).await.expect("b");
    assert!(!b.cache_status().enabled);
    store::revocation_visible_across_handles(Arc::new(a), Arc::new(b)).await;
}

/// The whole suite on Django's table: its capabilities say what it cannot hold (scopes,
/// metadata and every lifecycle field but revocation and expiry), and the suite checks that
/// writes needing them are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_table_conformance() {
    let schemas = std::sync::Mutex::new(Vec::new());
    store::run_all(|| django_store(&schemas)).await;
}

/// Metadata nested deeper than serde_json reads (128 levels): jsonb holds it, the row does
/// not decode.
fn too_deep() -> String {
    format!("{{\"deep\": {}1{}}}", "[".repeat(200), "]".repeat(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_table_undecodable_rows() {
    let schemas = std::sync::Mutex::new(Vec::new());
    for cache in [CacheOptions::new(), CacheOptions::off()] {
        let store = own_store_with(&schemas, cache).await;
        let pool = store.pool().clone();
        store::undecodable_records(Arc::new(store), |prefix| async move {
            sqlx::query("UPDATE apikeys SET metadata = $2::jsonb WHERE prefix = $1")
                .bind(prefix)
                .bind(too_deep())
                .execute(&pool)
                .await
                .expect("damage the row");
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_table_revocation_visible_across_pools() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    sqlx::raw_sql(DJANGO_DDL).execute(&pool).await.expect("DDL");
    let a = PostgresStore::django(pool, DJANGO_TABLE).await.expect("a");
    let b = PostgresStore::django(schema.pool().await, DJANGO_TABLE)
        .await
        .expect("b");
    cache_in_use(&b).await;
    store::revocation_visible_across_handles_within(Arc::new(a), Arc::new(b.clone()), BOUND).await;
    assert!(b.cache_status().hits > 0, "{:?}", b.cache_status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_table_refuses_scopes_and_metadata_without_writing() {
    let schemas = std::sync::Mutex::new(Vec::new());
    let store = django_store(&schemas).await;
    let keys = ApiKeys::new(store.clone());
    for new in [
        NewKey::named("scoped").scope("invoices:read"),
        NewKey::named("with metadata").meta("org", 42),
    ] {
        match keys.create(new).await {
            Err(apikeys::Error::Store(StoreError::Unsupported(message))) => {
                assert!(message.contains("no column"), "{message}");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
    assert!(store.list(&ListQuery::new()).await.unwrap().keys.is_empty());

    // Nor can an edit add them to an existing key, nor a lifecycle field it has no column
    // for; the edit is refused whole, before anything is written.
    let created = keys.create(NewKey::named("plain")).await.expect("create");
    let prefix = created.key.prefix();
    for (field, edit) in [
        ("scopes", Edit::new().name("renamed").scopes(["admin"])),
        ("owner", Edit::new().name("renamed").owner("org_1")),
    ] {
        match keys.update(prefix, edit).await {
            Err(apikeys::Error::Store(StoreError::Unsupported(m))) => {
                assert!(m.contains(field), "{m}");
            }
            other => panic!("an edit of {field}: {other:?}"),
        }
    }
    for refused in [
        keys.disable(prefix).await.map(drop),
        keys.roll(prefix, time::Duration::hours(1)).await.map(drop),
        keys.history(prefix).await.map(drop),
    ] {
        assert!(
            matches!(
                refused,
                Err(apikeys::Error::Store(StoreError::Unsupported(_)))
            ),
            "{refused:?}"
        );
    }
    let mut record = created.record.clone();
    record.prefix = "TooLong99".into();
    assert!(matches!(
        store.insert(&record, &apikeys::testing::created(&record)).await,
        Err(StoreError::Unsupported(m)) if m.contains("at most 8")
    ));
    let stored = store.get(prefix).await.unwrap().unwrap();
    assert_eq!(*stored, created.record);
    // What the table can hold still changes: name and expiry, and an owner removed (there
    // is none).
    let edited = keys
        .update(prefix, Edit::new().name("renamed").no_owner().no_expiry())
        .await
        .expect("edit");
    assert_eq!(edited.name, "renamed");
    // Longer than the column: simply absent.
    assert!(store.get(&"x".repeat(500)).await.unwrap().is_none());
    let deleted = apikeys::testing::event("x", apikeys::AuditAction::Deleted);
    assert!(!store.delete(&"x".repeat(500), &deleted).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_mode_checks_the_table() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    assert!(matches!(
        PostgresStore::django(pool.clone(), DJANGO_TABLE).await,
        Err(Error::TableNotFound(t)) if t == DJANGO_TABLE
    ));
    assert!(matches!(
        PostgresStore::django(pool.clone(), "keys; DROP TABLE x").await,
        Err(Error::InvalidTableName(_))
    ));
    sqlx::raw_sql(
        "CREATE TABLE not_django (id varchar(150) PRIMARY KEY, prefix varchar(8), name text);
         CREATE TABLE \"Custom_Keys\" (
            id varchar(150) PRIMARY KEY, prefix varchar(8) UNIQUE NOT NULL,
            hashed_key varchar(150) NOT NULL, name varchar(50) NOT NULL,
            created timestamptz NOT NULL, revoked boolean NOT NULL, expiry_date timestamptz,
            organisation_id bigint NOT NULL);",
    )
    .execute(&pool)
    .await
    .expect("DDL");
    assert!(matches!(
        PostgresStore::django(pool.clone(), "not_django").await,
        Err(Error::IncompatibleTable { reason, .. }) if reason.contains("hashed_key")
    ));
    // A custom key model with a required column of its own: inserts could not work.
    let custom = format!("{}.Custom_Keys", schema.name);
    assert!(matches!(
        PostgresStore::django(pool.clone(), &custom).await,
        Err(Error::IncompatibleTable { reason, .. }) if reason.contains("organisation_id")
    ));
    // Made optional, the same table is usable, schema-qualified and case preserved.
    sqlx::raw_sql("ALTER TABLE \"Custom_Keys\" ALTER organisation_id DROP NOT NULL")
        .execute(&pool)
        .await
        .expect("DDL");
    let store = PostgresStore::django(pool, &custom).await.expect("custom");
    assert!(store.is_django());
    assert_eq!(store.table(), custom);
    let keys = ApiKeys::new(store);
    let created = keys.create(NewKey::named("custom")).await.expect("create");
    keys.verify(created.key.expose_secret())
        .await
        .expect("verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_text_is_literal_in_both_tables() {
    let schemas = std::sync::Mutex::new(Vec::new());
    for store in [own_store(&schemas).await, django_store(&schemas).await] {
        for (prefix, name) in [
            ("Lit00001", "50% off"),
            ("Lit00002", "500 off"),
            ("Lit00003", "a_b"),
            ("Lit00004", "axb"),
            ("Lit00005", "back\\slash"),
        ] {
            let record = apikeys::testing::record(prefix, name);
            store
                .insert(&record, &apikeys::testing::created(&record))
                .await
                .expect("insert");
        }
        let found = |text: &'static str| {
            let store = store.clone();
            async move {
                let mut prefixes: Vec<String> = store
                    .list(&ListQuery::new().search(text))
                    .await
                    .expect("list")
                    .keys
                    .into_iter()
                    .map(|k| k.prefix)
                    .collect();
                prefixes.sort();
                prefixes
            }
        };
        assert_eq!(found("0%").await, ["Lit00001"], "{store:?}");
        assert_eq!(found("a_b").await, ["Lit00003"]);
        assert_eq!(found("_").await, ["Lit00003"]);
        assert_eq!(found("\\").await, ["Lit00005"]);
        assert_eq!(found("K\\S").await, ["Lit00005"]);
        assert!(found("%").await.len() == 1);
        assert!(found("Lit%").await.is_empty());
        assert!(found("nul\0").await.is_empty());
        assert_eq!(found("Lit0000").await.len(), 5);
        assert!(
            found("lit0000").await.is_empty(),
            "prefixes match case-sensitively"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_reported_not_panicked_on() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    let store = PostgresStore::new(pool.clone()).await.expect("store");
    for prefix in ["Bad00001", "Good0001"] {
        let record = apikeys::testing::record(prefix, "bad");
        store
            .insert(&record, &apikeys::testing::created(&record))
            .await
            .expect("insert");
    }
    sqlx::raw_sql("UPDATE apikeys SET scopes = ARRAY[NULL]::text[] WHERE prefix = 'Bad00001'")
        .execute(&pool)
        .await
        .expect("corrupt it");
    match store.get("Bad00001").await {
        Err(StoreError::Corrupt { prefix, .. }) => assert_eq!(prefix, "Bad00001"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Left out of listings and reported, also when it ends a page.
    let page = store.list(&ListQuery::new()).await.expect("list");
    assert_eq!(page.undecodable, ["Bad00001"]);
    assert_eq!(page.keys.len(), 1);
    let mut seen = Vec::new();
    let mut query = ListQuery::new().limit(1);
    loop {
        let page = store.list(&query).await.expect("list");
        seen.extend(page.keys.into_iter().map(|k| k.prefix));
        seen.extend(page.undecodable);
        match page.next {
            Some(next) => query = query.after(next),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["Bad00001", "Good0001"]);
    // Other writes than revocation and deletion say it is corrupt, and write nothing.
    let edit = Change::Edit(Edit::new().name("renamed"));
    let ev = apikeys::testing::event("Bad00001", apikeys::AuditAction::Revoked);
    assert!(matches!(
        store.modify("Bad00001", &edit, &ev).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(store.history("Bad00001").await.expect("history").len(), 1);
    // Values PostgreSQL cannot hold are refused clearly, not as outages.
    let mut record = apikeys::testing::record("Nul00001", "nul");
    record
        .metadata
        .insert("k".into(), serde_json::json!("a\u{0}b"));
    assert!(matches!(
        store
            .insert(&record, &apikeys::testing::created(&record))
            .await,
        Err(StoreError::Unsupported(_))
    ));
    assert!(store.get("Nul00001").await.unwrap().is_none());
    assert!(
        store.history("Nul00001").await.unwrap().is_empty(),
        "no event without its change"
    );
    assert!(store.get("x\0y").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_recorded() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    // Many servers starting at once on an empty database.
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { PostgresStore::new(pool).await.map(|_| ()) })
        })
        .collect();
    for start in starts {
        start.await.expect("task").expect("migrate");
    }
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM apikeys_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("versions");
    assert_eq!(
        versions,
        (1..=apikeys_postgres::SCHEMA_VERSION).collect::<Vec<_>>()
    );

    sqlx::raw_sql("INSERT INTO apikeys_migrations (version, description) VALUES (999, 'future')")
        .execute(&pool)
        .await
        .expect("insert");
    assert!(matches!(
        PostgresStore::new(pool).await,
        Err(Error::SchemaTooNew { found: 999, .. })
    ));
}

/// Search in Django's table reads in batches; matches far apart still page correctly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_search_pages_across_batches() {
    let schemas = std::sync::Mutex::new(Vec::new());
    let store = django_store(&schemas).await;
    sqlx::raw_sql(
        "INSERT INTO rest_framework_api_key_apikey (id, prefix, hashed_key, name, created, revoked)
         SELECT 'G' || lpad(i::text, 7, '0') || '.sha512$$00', 'G' || lpad(i::text, 7, '0'),
                'sha512$$00',
                'key ' || i || CASE WHEN i % 250 = 0 THEN ' Match' ELSE '' END,
                now() - i * interval '1 second', false
         FROM generate_series(1, 1200) AS i",
    )
    .execute(store.pool())
    .await
    .expect("insert");
    let mut query = ListQuery::new().search("match").limit(3);
    let first = store.list(&query).await.expect("list");
    let names: Vec<&str> = first.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["key 250 Match", "key 500 Match", "key 750 Match"]);
    query = query.after(first.next.expect("a second page"));
    let second = store.list(&query).await.expect("list");
    let names: Vec<&str> = second.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["key 1000 Match"]);
    assert!(second.next.is_none());
    let all = store
        .list(&ListQuery::new().limit(ListQuery::MAX_LIMIT))
        .await
        .expect("list");
    assert_eq!(all.keys.len(), ListQuery::MAX_LIMIT);
}

/// Servers flush overlapping batches of uses at once, in different orders: every batch
/// goes through and each key ends with its latest use. (The statement locks rows in prefix
/// order whatever plan PostgreSQL picks; with this small table the planner scans in
/// physical order anyway, so this guards the outcome rather than provoking a deadlock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_touches_do_not_deadlock() {
    const KEYS: usize = 40;
    const SERVERS: usize = 6;
    let schema = TestSchema::new().await;
    let store = PostgresStore::with_cache(schema.pool().await, CacheOptions::off())
        .await
        .expect("store");
    let base = apikeys::testing::record("x", "x").created;
    let prefixes: Vec<String> = (0..KEYS).map(|i| format!("Tou{i:05}")).collect();
    for prefix in &prefixes {
        let record = apikeys::testing::record(prefix, "touched");
        store
            .insert(&record, &apikeys::testing::created(&record))
            .await
            .expect("insert");
    }
    for round in 0..5i64 {
        let tasks: Vec<_> = (0..SERVERS)
            .map(|server| {
                // Batches of different sizes, rotated differently, half of them backwards:
                // the rows are met in different orders.
                let mut batch: Vec<String> = prefixes.clone();
                batch.rotate_left(server * 7 % KEYS);
                batch.truncate(KEYS - server);
                if server % 2 == 1 {
                    batch.reverse();
                }
                let store = store.clone();
                tokio::spawn(async move {
                    let offset = i64::try_from(server).expect("small");
                    let at = base + time::Duration::seconds(round * 10 + offset);
                    let batch: Vec<(String, time::OffsetDateTime)> =
                        batch.into_iter().map(|p| (p, at)).collect();
                    store.touch(&batch).await
                })
            })
            .collect();
        for task in tasks {
            task.await
                .expect("task")
                .expect("an overlapping touch failed");
        }
    }
    // Each key's latest use: the last round's highest server whose batch held it.
    for prefix in &prefixes {
        let latest = (0..SERVERS)
            .rev()
            .find(|&server| {
                let mut batch = prefixes.clone();
                batch.rotate_left(server * 7 % KEYS);
                batch.truncate(KEYS - server);
                batch.contains(prefix)
            })
            .map(|server| {
                base + time::Duration::seconds(40 + i64::try_from(server).expect("small"))
            });
        let key = store.get(prefix).await.expect("get").expect("present");
        assert_eq!(key.last_used, latest, "{prefix}");
    }
}

/// Limit values that pass the table's CHECKs but not the core's parser (a rate of 0, a
/// refill of 0, an unknown unit) make that row corrupt for reads and spends, never a panic;
/// values outside the CHECKs are refused by the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_limit_values_are_corrupt_rows() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    let store = PostgresStore::with_cache(pool.clone(), CacheOptions::off())
        .await
        .expect("store");
    let bad = [
        ("Lbd00001", "rate_limit = '0/s'"),
        ("Lbd00002", "rate_limit = '5/3w'"),
        (
            "Lbd00003",
            "credits_remaining = 5, credits_period_start = now(), credits_refill = '0/day'",
        ),
        (
            "Lbd00004",
            "credits_remaining = 5, credits_period_start = now(), credits_refill = '5/week'",
        ),
    ];
    for (prefix, set) in bad {
        let record = apikeys::testing::record(prefix, "limits");
        store
            .insert(&record, &apikeys::testing::created(&record))
            .await
            .expect("insert");
        sqlx::raw_sql(&format!(
            "UPDATE apikeys SET {set} WHERE prefix = '{prefix}'"
        ))
        .execute(&pool)
        .await
        .expect("corrupt it");
        match store.get(prefix).await {
            Err(StoreError::Corrupt { prefix: p, .. }) => assert_eq!(p, prefix),
            other => panic!("{prefix}: expected Corrupt, got {other:?}"),
        }
    }
    for prefix in ["Lbd00003", "Lbd00004"] {
        assert!(
            matches!(
                store
                    .spend(prefix, 1, time::OffsetDateTime::now_utc())
                    .await,
                Err(StoreError::Corrupt { .. })
            ),
            "{prefix}"
        );
    }
    for set in [
        "credits_remaining = -1, credits_period_start = now()",
        "credits_remaining = 5",
        "rate_limit = 'lots'",
    ] {
        assert!(
            sqlx::raw_sql(&format!(
                "UPDATE apikeys SET {set} WHERE prefix = 'Lbd00001'"
            ))
            .execute(&pool)
            .await
            .is_err(),
            "{set} must be refused by a CHECK"
        );
    }
}

/// A roll carries the rate limit and the credits (as read then) over to the successor, as
/// the core's `Roll::apply` does; the successor spends its own count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_carries_limits_over() {
    let schema = TestSchema::new().await;
    let store = PostgresStore::with_cache(schema.pool().await, CacheOptions::off())
        .await
        .expect("store");
    let base = apikeys::testing::record("Rol00001", "limits");
    let credits = apikeys::Credits::new(7, base.created)
        .expect("credits")
        .with_refill("7/day".parse().expect("refill"));
    let key = apikeys::ApiKey {
        rate_limit: Some("10/s".parse().expect("limit")),
        credits: Some(credits),
        ..base
    };
    store
        .insert(&key, &apikeys::testing::created(&key))
        .await
        .expect("insert");
    let roll = apikeys::Roll {
        prefix: key.prefix.clone(),
        successor_prefix: "Rol00002".to_owned(),
        successor_hash: key.hashed_key.clone(),
        at: key.created,
        retire: apikeys::Retirement::RevokeNow,
    };
    let ev = apikeys::testing::event("Rol00001", apikeys::AuditAction::Revoked);
    let rolled = store.roll(&roll, &ev).await.expect("roll");
    let successor = store.get("Rol00002").await.expect("get").expect("present");
    assert_eq!(*successor, rolled.successor);
    assert_eq!(successor.rate_limit, key.rate_limit);
    assert_eq!(successor.credits, key.credits);
    let spent = store
        .spend("Rol00002", 2, key.created)
        .await
        .expect("spend")
        .expect("credits");
    assert_eq!(spent.remaining, 5);
}
