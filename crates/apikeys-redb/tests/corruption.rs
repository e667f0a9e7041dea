//! Damaged files and records give clear errors, never panics, and never silently vanish.

use std::fs;
use std::sync::Arc;

use apikeys::{ApiKeys, KeyStore, ListQuery, NewKey, StoreError};
use apikeys_redb::{OpenError, RedbStore, TooNew};
use redb::{Database, TableDefinition};

const RECORDS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("apikeys_records");
const META: TableDefinition<'static, &str, u64> = TableDefinition::new("apikeys_meta");

fn one_line(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    text
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    let text = "these are not the keys you are looking for\n".repeat(200);
    fs::write(&path, &text).expect("write");
    for result in [RedbStore::open(&path), RedbStore::open_existing(&path)] {
        let error = result.expect_err("not a database");
        assert!(matches!(error, OpenError::Corrupt { .. }), "{error:?}");
        assert!(one_line(&error).contains("notes.txt"), "{error}");
    }
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        text,
        "the file was changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    {
        let keys = ApiKeys::new(RedbStore::open(&path).expect("open"));
        for i in 0..50 {
            keys.create(NewKey::named(format!("key {i}")))
                .await
                .expect("create");
        }
    }
    let full = fs::read(&path).expect("read");
    for len in [
        0,
        100,
        511,
        full.len() / 3,
        full.len() / 2,
        full.len() - 1000,
    ] {
        let cut = dir.path().join(format!("cut{len}.redb"));
        fs::write(&cut, &full[..len]).expect("write");
        let error = RedbStore::open_existing(&cut).expect_err("truncated");
        one_line(&error);
        assert!(
            matches!(error, OpenError::Corrupt { .. } | OpenError::Io { .. }),
            "{len}: {error:?}"
        );
    }
}

#[test]
fn a_missing_file_is_not_created_by_open_existing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.redb");
    let error = RedbStore::open_existing(&path).expect_err("missing");
    assert!(matches!(error, OpenError::Missing { .. }), "{error:?}");
    assert!(one_line(&error).contains("does not exist"));
    assert!(!path.exists());
    RedbStore::open(&path).expect("open creates");
    assert!(path.exists());
}

#[test]
fn a_second_open_in_this_process_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let _first = RedbStore::open(&path).expect("open");
    let error = RedbStore::open(&path).expect_err("already open");
    assert!(matches!(error, OpenError::InUse { .. }), "{error:?}");
    assert!(one_line(&error).contains("in use"));
}

#[test]
fn a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    drop(RedbStore::open(&path).expect("open"));
    {
        let db = Database::open(&path).expect("db");
        let txn = db.begin_write().expect("write");
        txn.open_table(META)
            .expect("meta")
            .insert("layout", 99)
            .expect("insert");
        txn.commit().expect("commit");
    }
    let expected = |too_new: &TooNew| too_new.found == 99 && too_new.supported == 1;
    let error = RedbStore::open(&path).expect_err("too new");
    let OpenError::TooNew { source, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(expected(source), "{source:?}");
    // A database the application opened itself reports it with the same type and words.
    let db = Arc::new(Database::open(&path).expect("db"));
    let from_db = RedbStore::from_database(db).expect_err("too new");
    let too_new = std::error::Error::source(&from_db)
        .and_then(|e| e.downcast_ref::<TooNew>())
        .unwrap_or_else(|| panic!("{from_db:?}"));
    assert!(expected(too_new), "{too_new:?}");
    assert!(error.to_string().ends_with(&too_new.to_string()), "{error}");
    assert!(
        from_db.to_string().contains(&too_new.to_string()),
        "{from_db}"
    );
}

fn damage(db: &Database, prefix: &str, bytes: &[u8]) {
    let txn = db.begin_write().expect("write");
    txn.open_table(RECORDS)
        .expect("records")
        .insert(prefix, bytes)
        .expect("insert");
    txn.commit().expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_are_errors_naming_the_prefix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let (good, bad) = {
        let keys = ApiKeys::new(RedbStore::open(&path).expect("open"));
        let good = keys.create(NewKey::named("good")).await.expect("create");
        let bad = keys.create(NewKey::named("bad")).await.expect("create");
        (good, bad)
    };
    let bad_prefix = bad.key.prefix().to_owned();
    // A record from a future release, then plain garbage; each on a fresh open, so
    // nothing is cached from before the damage.
    let mut store = None;
    for bytes in [&[2u8, 0, 0][..], b"\x01\x00garbage"] {
        drop(store.take());
        let db = Database::open(&path).expect("db");
        damage(&db, &bad_prefix, bytes);
        let fresh = RedbStore::from_database(Arc::new(db)).expect("store");
        match fresh.get(&bad_prefix).await {
            Err(StoreError::Corrupt { prefix, reason }) => {
                assert_eq!(prefix, bad_prefix);
                assert!(!reason.is_empty());
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        match fresh.list(&ListQuery::new()).await {
            Err(StoreError::Corrupt { prefix, .. }) => assert_eq!(prefix, bad_prefix),
            other => panic!("expected Corrupt from list, got {other:?}"),
        }
        store = Some(fresh);
    }
    let store = store.expect("store");
    let keys = ApiKeys::new(store.clone());
    // Verification of the damaged key is a store failure (a 503), not a denial or a panic.
    assert!(matches!(
        keys.verify(bad.key.expose_secret()).await,
        Err(apikeys::VerifyError::Store(_))
    ));
    keys.verify(good.key.expose_secret())
        .await
        .expect("the good key still verifies");
    // A corrupt record might be revoked: an update must not overwrite it...
    let mut replacement = good.record.clone();
    replacement.prefix.clone_from(&bad_prefix);
    assert!(matches!(
        store.update(&replacement).await,
        Err(StoreError::Corrupt { .. })
    ));
    // ...but it can be deleted, index entry and all.
    assert!(store.delete(&bad_prefix).await.expect("delete"));
    let page = store
        .list(&ListQuery::new())
        .await
        .expect("list after delete");
    assert_eq!(page.keys.len(), 1);
    assert_eq!(page.keys[0].prefix, good.key.prefix());
}
