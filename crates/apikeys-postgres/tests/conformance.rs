//! `PostgresStore` passes the core's store conformance suite, in its own table and (for
//! the cases that need neither scopes nor metadata) in djangorestframework-api-key's table,
//! with its record cache on (and in use) and off.

use std::sync::Arc;
use std::time::Duration;

use apikeys::testing::store;
use apikeys::{ApiKeys, KeyStore, ListQuery, NewKey, StoreError};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_table_conformance() {
    let schemas = std::sync::Mutex::new(Vec::new());
    macro_rules! case {
        ($name:ident) => {{
            let store: Arc<dyn KeyStore> = Arc::new(django_store(&schemas).await);
            store::$name(store).await;
        }};
    }
    // The other cases store scopes or metadata, which this table cannot hold (tested below).
    case!(duplicate_prefix_is_refused);
    case!(revocation_is_irreversible);
    case!(delete_removes);
    case!(list_newest_first_in_pages);
    case!(list_search);
    case!(list_filters);
    case!(unicode_names);
    case!(concurrent_writers);
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

    // Nor can an update add them to an existing key.
    let created = keys.create(NewKey::named("plain")).await.expect("create");
    let mut record = created.record.clone();
    record.scopes.insert("admin".into());
    assert!(matches!(
        store.update(&record).await,
        Err(StoreError::Unsupported(_))
    ));
    let mut record = created.record.clone();
    record.prefix = "TooLong99".into();
    assert!(matches!(
        store.insert(&record).await,
        Err(StoreError::Unsupported(m)) if m.contains("at most 8")
    ));
    let stored = store.get(created.key.prefix()).await.unwrap().unwrap();
    assert_eq!(*stored, created.record);
    // Longer than the column: simply absent.
    assert!(store.get(&"x".repeat(500)).await.unwrap().is_none());
    assert!(!store.delete(&"x".repeat(500)).await.unwrap());
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
            store
                .insert(&apikeys::testing::record(prefix, name))
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
    store
        .insert(&apikeys::testing::record("Bad00001", "bad"))
        .await
        .expect("insert");
    sqlx::raw_sql("UPDATE apikeys SET scopes = ARRAY[NULL]::text[]")
        .execute(&pool)
        .await
        .expect("corrupt it");
    match store.get("Bad00001").await {
        Err(StoreError::Corrupt { prefix, .. }) => assert_eq!(prefix, "Bad00001"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        store.list(&ListQuery::new()).await,
        Err(StoreError::Corrupt { .. })
    ));
    // Values PostgreSQL cannot hold are refused clearly, not as outages.
    let mut record = apikeys::testing::record("Nul00001", "nul");
    record
        .metadata
        .insert("k".into(), serde_json::json!("a\u{0}b"));
    assert!(matches!(
        store.insert(&record).await,
        Err(StoreError::Unsupported(_))
    ));
    assert!(store.get("Nul00001").await.unwrap().is_none());
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
