//! A store written by apikeys-redb 0.1 (record format version 1, table layout 1) opens,
//! is upgraded to layout 2, and every key in it still verifies or is refused for its
//! reason; its keys list, and can be edited, disabled, rolled and revoked. The fixture is
//! described in `tests/fixtures/README.md`.

use std::collections::BTreeMap;
use std::path::Path;

use apikeys::{ApiKeys, Denial, Edit, KeyStore, ListQuery, NewKey, VerifyError};
use apikeys_redb::RedbStore;

const META: redb::TableDefinition<'static, &str, u64> = redb::TableDefinition::new("apikeys_meta");

fn fixture(dir: &Path) -> (std::path::PathBuf, BTreeMap<String, String>) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let path = dir.join("v1.redb");
    // A copy: opening upgrades the layout, and the committed file must stay version 1.
    std::fs::copy(here.join("v1.redb"), &path).expect("copy the fixture");
    let keys = std::fs::read_to_string(here.join("v1.keys.json")).expect("keys");
    (path, serde_json::from_str(&keys).expect("keys JSON"))
}

fn layout(path: &Path) -> u64 {
    use redb::ReadableDatabase as _;
    let db = redb::Database::open(path).expect("db");
    let txn = db.begin_read().expect("read");
    let meta = txn.open_table(META).expect("meta");
    meta.get("layout").expect("get").expect("layout").value()
}

fn denial(result: Result<apikeys::VerifiedKey, VerifyError>) -> Denial {
    match result {
        Err(VerifyError::Denied(denial)) => denial,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_keys_verify_or_are_refused_for_their_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, secrets) = fixture(dir.path());
    assert_eq!(layout(&path), 1, "the fixture is a layout 1 file");
    let store = RedbStore::open_existing(&path).expect("open");
    // No write-behind task (it would hold the file open past `drop`): uses are touched
    // directly below.
    let keys = ApiKeys::builder(store.clone()).without_last_used().build();
    let secret = |name: &str| secrets[name].as_str();
    let prefix = |name: &str| secret(name).split('.').next().expect("prefix").to_owned();

    keys.verify(secret("plain")).await.expect("plain verifies");
    let full = keys.verify(secret("full")).await.expect("full verifies");
    assert!(full.has_scopes(&["heroes:read", "heroes:write"]));
    let full_record = keys.get(&prefix("full")).await.expect("get");
    assert!(full_record.metadata.contains_key("org") && full_record.metadata.contains_key("plan"));
    assert_eq!(
        full_record.expires.map(time::OffsetDateTime::year),
        Some(2099),
        "expiry kept"
    );
    assert_eq!(full_record.owner, None);
    keys.verify(secret("argon2"))
        .await
        .expect("argon2 verifies");
    assert!(
        keys.get(&prefix("argon2"))
            .await
            .expect("get")
            .hashed_key
            .starts_with("$argon2id$"),
        "an Argon2id hash is not rewritten on use"
    );
    assert!(matches!(
        denial(keys.verify(secret("revoked")).await),
        Denial::Revoked
    ));
    assert!(matches!(
        denial(keys.verify(secret("expired")).await),
        Denial::Expired
    ));

    let page = keys.list(&ListQuery::new()).await.expect("list");
    assert_eq!((page.keys.len(), page.undecodable.len()), (5, 0));
    assert!(
        keys.history(&prefix("plain"))
            .await
            .expect("history")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_records_take_every_new_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, secrets) = fixture(dir.path());
    let store = RedbStore::open_existing(&path).expect("open");
    let keys = ApiKeys::builder(store.clone()).without_last_used().build();
    let secret = |name: &str| secrets[name].as_str();
    let prefix = |name: &str| secret(name).split('.').next().expect("prefix").to_owned();
    // Old records take every new write.
    let used = time::OffsetDateTime::now_utc();
    store.touch(&[(prefix("full"), used)]).await.expect("touch");
    keys.update(&prefix("full"), Edit::new().owner("org_1").name("full v2"))
        .await
        .expect("edit");
    keys.disable(&prefix("plain")).await.expect("disable");
    assert!(matches!(
        denial(keys.verify(secret("plain")).await),
        Denial::Disabled
    ));
    keys.enable(&prefix("plain")).await.expect("enable");
    let rolled = keys
        .roll(&prefix("argon2"), time::Duration::ZERO)
        .await
        .expect("roll");
    keys.revoke(&prefix("plain")).await.expect("revoke");
    keys.create(NewKey::named("new"))
        .await
        .expect("create beside old keys");
    drop(keys);
    drop(store);

    assert_eq!(layout(&path), 2, "upgraded on open");
    let store = RedbStore::builder()
        .cache_capacity(0)
        .open_existing(&path)
        .expect("reopen");
    let keys = ApiKeys::new(store.clone());
    assert!(matches!(
        denial(keys.verify(secret("plain")).await),
        Denial::Revoked
    ));
    assert!(matches!(
        denial(keys.verify(secret("argon2")).await),
        Denial::Revoked
    ));
    keys.verify(rolled.successor.key.expose_secret())
        .await
        .expect("the successor verifies");
    let full = keys.get(&prefix("full")).await.expect("get");
    assert_eq!(
        (full.name.as_str(), full.owner.as_deref()),
        ("full v2", Some("org_1"))
    );
    assert_eq!(
        full.last_used.map(time::OffsetDateTime::unix_timestamp),
        Some(used.unix_timestamp()),
        "the touch before the edit is kept"
    );
    assert_eq!(full.scopes.len(), 2);
    let owned = keys
        .list(&ListQuery::new().owner("org_1"))
        .await
        .expect("list");
    assert_eq!(owned.keys.len(), 1);
    assert_eq!(
        keys.list(&ListQuery::new()).await.expect("list").keys.len(),
        7
    );
    let history: Vec<_> = keys
        .history(&prefix("plain"))
        .await
        .expect("history")
        .into_iter()
        .map(|e| e.action.name())
        .collect();
    assert_eq!(history, ["disabled", "enabled", "revoked"]);
    assert_eq!(store.len().expect("len"), 7);
}
