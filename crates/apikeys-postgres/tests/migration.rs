//! apikeys' table as schema version 2 left it (before the key lifecycle) upgrades in place:
//! rows written the old way verify, list, edit, disable, roll and record uses afterwards,
//! and the history starts with the first change after the upgrade.

use apikeys::{
    ApiKey, ApiKeys, AuditAction, Denial, Edit, KeyStore, ListQuery, MemoryStore, NewKey,
    StatusFilter, VerifyError,
};
use apikeys_postgres::PostgresStore;
use apikeys_postgres::testing::TestSchema;
use time::{Duration, OffsetDateTime};

/// Only the migrations of version 2, applied as version 2 of this crate did.
const VERSION_2: &[(i32, &str, &str)] = &[
    (
        1,
        "create the apikeys table",
        include_str!("../migrations/0001_create_apikeys.sql"),
    ),
    (
        2,
        "notify every change of a key row",
        include_str!("../migrations/0002_notify_changes.sql"),
    ),
];

/// Version 2's insert: nine columns.
const OLD_INSERT: &str = "INSERT INTO apikeys (prefix, hashed_key, name, name_folded, \
     created, expires, revoked, scopes, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one story, step by step")]
async fn a_table_of_schema_version_2_upgrades_in_place() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    sqlx::raw_sql(
        "CREATE TABLE apikeys_migrations (version integer PRIMARY KEY, \
         description text NOT NULL, applied timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await
    .expect("migrations table");
    for (version, description, sql) in VERSION_2 {
        sqlx::raw_sql(sql)
            .execute(&pool)
            .await
            .expect("old migration");
        sqlx::query("INSERT INTO apikeys_migrations (version, description) VALUES ($1, $2)")
            .bind(version)
            .bind(description)
            .execute(&pool)
            .await
            .expect("record it");
    }
    // Keys hashed by the core, written with version 2's statement.
    let maker = ApiKeys::new(MemoryStore::new());
    let mut old = Vec::new();
    let soon = OffsetDateTime::now_utc() + Duration::days(3);
    for (n, new) in [
        NewKey::named("old plain").expires(soon),
        NewKey::named("old scoped").scope("read").meta("org", 7),
        NewKey::named("old revoked"),
    ]
    .into_iter()
    .enumerate()
    {
        let created = maker.create(new).await.expect("create");
        let r = &created.record;
        sqlx::query(OLD_INSERT)
            .bind(&r.prefix)
            .bind(&r.hashed_key)
            .bind(&r.name)
            .bind(r.name.to_lowercase())
            .bind(r.created)
            .bind(r.expires)
            .bind(n == 2)
            .bind(r.scopes.iter().collect::<Vec<_>>())
            .bind(serde_json::Value::Object(r.metadata.clone()))
            .execute(&pool)
            .await
            .expect("insert the old way");
        old.push(created);
    }

    let store = PostgresStore::new(pool.clone())
        .await
        .expect("upgrade from version 2");
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM apikeys_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("versions");
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(apikeys_postgres::SCHEMA_VERSION, 4);

    // The old rows read with the new fields empty, and verify as before.
    for (n, created) in old.iter().enumerate() {
        let got = store
            .get(created.key.prefix())
            .await
            .expect("get")
            .expect("present");
        let expected = ApiKey {
            revoked: n == 2,
            ..created.record.clone()
        };
        assert_eq!(*got, expected);
        assert_eq!((got.owner.as_ref(), got.disabled), (None, false));
    }
    let keys = ApiKeys::builder(store.clone())
        .build()
        .with_actor("migration-test");
    let secret = |n: usize| old[n].key.expose_secret();
    let prefix = |n: usize| old[n].key.prefix();
    keys.verify(secret(0)).await.expect("old key verifies");
    let scoped = keys.verify(secret(1)).await.expect("old key verifies");
    assert!(scoped.has_scopes(&["read"]));
    assert_eq!(scoped.metadata()["org"], 7);
    assert!(matches!(
        keys.verify(secret(2)).await,
        Err(VerifyError::Denied(Denial::Revoked))
    ));

    // Listed and filtered, the new filters included.
    let count = |query: ListQuery| {
        let store = store.clone();
        async move { store.list(&query).await.expect("list").keys.len() }
    };
    assert_eq!(count(ListQuery::new()).await, 3);
    assert_eq!(
        count(ListQuery::new().status(StatusFilter::Active)).await,
        2
    );
    assert_eq!(
        count(ListQuery::new().status(StatusFilter::ExpiringWithin(Duration::days(7)))).await,
        1
    );
    assert_eq!(count(ListQuery::new().owner("org_1")).await, 0);

    // Edited, given an owner, disabled and enabled.
    let edited = keys
        .update(prefix(0), Edit::new().name("edited").owner("org_1"))
        .await
        .expect("edit an old row");
    assert_eq!(
        (edited.name.as_str(), edited.owner.as_deref()),
        ("edited", Some("org_1"))
    );
    assert_eq!(
        edited.expires, old[0].record.expires,
        "the edit kept the rest"
    );
    let owned = store
        .list(&ListQuery::new().owner("org_1"))
        .await
        .expect("list");
    assert_eq!(owned.keys, std::slice::from_ref(&edited));
    keys.disable(prefix(0)).await.expect("disable");
    assert!(matches!(
        keys.verify(secret(0)).await,
        Err(VerifyError::Denied(Denial::Disabled))
    ));
    keys.enable(prefix(0)).await.expect("enable");
    keys.verify(secret(0)).await.expect("enabled again");

    // Rolled: the successor has the old row's scopes and metadata.
    let rolled = keys
        .roll(prefix(1), Duration::hours(1))
        .await
        .expect("roll");
    let next = keys
        .verify(rolled.successor.key.expose_secret())
        .await
        .expect("the successor verifies");
    assert!(next.has_scopes(&["read"]));
    assert_eq!(next.metadata()["org"], 7);
    assert_eq!(rolled.old.successor.as_deref(), Some(next.prefix()));
    keys.verify(secret(1)).await.expect("in its grace period");

    // Uses recorded.
    let used = apikeys::testing::record("x", "x").created;
    store
        .touch(&[(prefix(2).to_owned(), used)])
        .await
        .expect("touch");
    let touched = store.get(prefix(2)).await.expect("get").expect("present");
    assert_eq!(touched.last_used, Some(used));
    assert!(touched.revoked, "a touch never un-revokes");

    // The history holds what happened since the upgrade, by its actor.
    let history = keys.history(prefix(0)).await.expect("history");
    let actions: Vec<&str> = history.iter().map(|e| e.action.name()).collect();
    assert_eq!(actions, ["updated", "disabled", "enabled"]);
    assert!(
        history
            .iter()
            .all(|e| e.actor.as_deref() == Some("migration-test"))
    );
    let rolls = keys.history(prefix(1)).await.expect("history");
    assert!(matches!(
        rolls.as_slice(),
        [e] if matches!(&e.action, AuditAction::Rolled { successor, .. } if successor == next.prefix())
    ));
    assert_eq!(keys.history(next.prefix()).await.expect("history"), rolls);
}

/// The migrations of version 3, before usage limits.
const VERSION_3: &[(i32, &str, &str)] = &[
    VERSION_2[0],
    VERSION_2[1],
    (
        3,
        "owners, disabled, last-used times, rotation links, audit events",
        include_str!("../migrations/0003_lifecycle.sql"),
    ),
];

/// Version 3's insert: fourteen columns, no limits.
const V3_INSERT: &str = "INSERT INTO apikeys (prefix, hashed_key, name, name_folded, \
     created, expires, revoked, scopes, metadata, owner, disabled, last_used, predecessor, \
     successor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// A table of schema version 3 gains the limit columns and keeps its keys: they read with no
/// limits, verify, and take credits by an edit, which then spend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_schema_version_3_upgrades_to_limits() {
    let schema = TestSchema::new().await;
    let pool = schema.pool().await;
    sqlx::raw_sql(
        "CREATE TABLE apikeys_migrations (version integer PRIMARY KEY, \
         description text NOT NULL, applied timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await
    .expect("migrations table");
    for (version, description, sql) in VERSION_3 {
        sqlx::raw_sql(sql)
            .execute(&pool)
            .await
            .expect("old migration");
        sqlx::query("INSERT INTO apikeys_migrations (version, description) VALUES ($1, $2)")
            .bind(version)
            .bind(description)
            .execute(&pool)
            .await
            .expect("record it");
    }
    let maker = ApiKeys::new(MemoryStore::new());
    let created = maker
        .create(NewKey::named("v3 key").scope("read").owner("team-a"))
        .await
        .expect("create");
    let r = &created.record;
    sqlx::query(V3_INSERT)
        .bind(&r.prefix)
        .bind(&r.hashed_key)
        .bind(&r.name)
        .bind(r.name.to_lowercase())
        .bind(r.created)
        .bind(r.expires)
        .bind(false)
        .bind(r.scopes.iter().collect::<Vec<_>>())
        .bind(serde_json::Value::Object(r.metadata.clone()))
        .bind(r.owner.as_deref())
        .bind(false)
        .bind(None::<OffsetDateTime>)
        .bind(None::<String>)
        .bind(None::<String>)
        .execute(&pool)
        .await
        .expect("insert the version 3 way");

    let store = PostgresStore::new(pool.clone())
        .await
        .expect("upgrade from version 3");
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM apikeys_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("versions");
    assert_eq!(versions, [1, 2, 3, 4]);
    let got = store
        .get(created.key.prefix())
        .await
        .expect("get")
        .expect("present");
    assert_eq!(*got, created.record);
    assert_eq!((got.rate_limit, got.credits.as_ref()), (None, None));
    assert_eq!(
        store.spend(&r.prefix, 1, r.created).await.expect("spend"),
        None,
        "an old key has no credits"
    );

    let keys = ApiKeys::builder(store.clone())
        .build()
        .with_actor("migration-test");
    keys.verify(created.key.expose_secret())
        .await
        .expect("the old key verifies");
    let credits = apikeys::Credits::new(2, r.created).expect("credits");
    keys.update(&r.prefix, Edit::new().credits(credits))
        .await
        .expect("edit");
    let spent = store
        .spend(&r.prefix, 1, r.created)
        .await
        .expect("spend")
        .expect("credits now");
    assert_eq!((spent.granted, spent.remaining), (true, 1));
}
