//! Damaged files and records give clear errors, never panics, and never silently vanish.

use std::fs;
use std::sync::Arc;

use apikeys::testing::event;
use apikeys::{
    ApiKeys, AuditAction, Change, Edit, KeyStore, ListQuery, Modified, NewKey, StatusFilter,
    StoreError,
};
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
    let expected = |too_new: &TooNew| too_new.found == 99 && too_new.supported == 2;
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

/// A version 1 record (as apikeys-redb 0.1 wrote it) whose metadata is nested deeper than
/// the JSON parser accepts: the old encoder wrote such records, no reader takes them.
fn too_deep_v1(created: i64) -> Vec<u8> {
    let json = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let mut bytes = vec![1, 0];
    bytes.extend_from_slice(&created.to_le_bytes());
    for text in [&b"sha512$!x"[..], b"deep"] {
        bytes.push(u8::try_from(text.len()).expect("short"));
        bytes.extend_from_slice(text);
    }
    bytes.push(0); // no scopes
    let len = json.len();
    bytes.extend_from_slice(&[u8::try_from(len & 0x7f).expect("7 bits") | 0x80]);
    bytes.push(u8::try_from(len >> 7).expect("short"));
    bytes.extend_from_slice(json.as_bytes());
    bytes
}

fn raw_record(db: &Database, prefix: &str) -> Option<Vec<u8>> {
    use redb::ReadableDatabase as _;
    let txn = db.begin_read().expect("read");
    let records = txn.open_table(RECORDS).expect("records");
    records
        .get(prefix)
        .expect("get")
        .map(|v| v.value().to_vec())
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
    let created = i64::try_from(bad.record.created.unix_timestamp_nanos() / 1000).expect("µs");
    // A record from a future release, plain garbage, then metadata nested too deep; each
    // on a fresh open, so nothing is cached from before the damage.
    let mut store = None;
    for bytes in [&[3u8, 0, 0][..], b"\x01\x00garbage", &too_deep_v1(created)] {
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
        // The listing goes on without it, and says so.
        let page = fresh.list(&ListQuery::new()).await.expect("list");
        assert_eq!(page.keys.len(), 1);
        assert_eq!(page.keys[0].prefix, good.key.prefix());
        assert_eq!(page.undecodable, std::slice::from_ref(&bad_prefix));
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
    // A corrupt record might be revoked: an edit must not overwrite it...
    let edit = Change::Edit(Edit::new().name("overwritten"));
    let ev = event(&bad_prefix, AuditAction::Revoked);
    assert!(matches!(
        store.modify(&bad_prefix, &edit, &ev).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.modify(&bad_prefix, &Change::Disable, &ev).await,
        Err(StoreError::Corrupt { .. })
    ));
    // ...but it can be revoked: the revoked bit of its bytes is set (a later release that
    // reads such metadata sees it revoked), and so is its index entry.
    let before = raw_record(store.database(), &bad_prefix).expect("stored");
    assert_eq!(before[1] & 1, 0);
    assert!(matches!(
        store.modify(&bad_prefix, &Change::Revoke, &ev).await,
        Ok(Modified::RevokedUndecodable)
    ));
    let after = raw_record(store.database(), &bad_prefix).expect("stored");
    assert_eq!(after[1] & 1, 1, "revoked bit set");
    assert_eq!(
        (&after[..1], &after[2..]),
        (&before[..1], &before[2..]),
        "nothing else"
    );
    // Revoking again changes nothing and writes no second event.
    assert!(matches!(
        store.modify(&bad_prefix, &Change::Revoke, &ev).await,
        Ok(Modified::RevokedUndecodable)
    ));
    let revoked = store
        .list(&ListQuery::new().status(StatusFilter::Revoked))
        .await
        .expect("list");
    assert_eq!(
        (revoked.keys.len(), revoked.undecodable),
        (0, vec![bad_prefix.clone()])
    );
    let active = store
        .list(&ListQuery::new().status(StatusFilter::Active))
        .await
        .expect("list");
    assert_eq!((active.keys.len(), active.undecodable.len()), (1, 0));
    // ...and deleted, index entry and all.
    let ev = event(&bad_prefix, AuditAction::Deleted);
    assert!(store.delete(&bad_prefix, &ev).await.expect("delete"));
    let page = store
        .list(&ListQuery::new())
        .await
        .expect("list after delete");
    assert_eq!((page.keys.len(), page.undecodable.len()), (1, 0));
    assert_eq!(page.keys[0].prefix, good.key.prefix());
    let history: Vec<_> = store
        .history(&bad_prefix)
        .await
        .expect("history")
        .into_iter()
        .map(|e| e.action.name())
        .collect();
    assert_eq!(history, ["created", "revoked", "deleted"]);
}

/// A damaged owner-indexed record: the owner listing reports it too, and deleting it
/// removes its owner index entry though its owner cannot be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_leave_the_owner_index_when_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    let store = RedbStore::builder()
        .cache_capacity(0)
        .open(&path)
        .expect("open");
    let keys = ApiKeys::new(store.clone());
    let kept = keys
        .create(NewKey::named("kept").owner("org"))
        .await
        .expect("create");
    let bad = keys
        .create(NewKey::named("bad").owner("org"))
        .await
        .expect("create");
    damage(store.database(), bad.key.prefix(), b"\xff");
    let page = store
        .list(&ListQuery::new().owner("org"))
        .await
        .expect("list");
    assert_eq!((page.keys.len(), page.undecodable.len()), (1, 1));
    // Too short to hold a revoked bit: no version decodes it, so it is never granted.
    let ev = event(bad.key.prefix(), AuditAction::Revoked);
    assert!(matches!(
        store.modify(bad.key.prefix(), &Change::Revoke, &ev).await,
        Ok(Modified::RevokedUndecodable)
    ));
    keys.delete(bad.key.prefix()).await.expect("delete");
    let page = store
        .list(&ListQuery::new().owner("org"))
        .await
        .expect("list");
    assert_eq!((page.keys.len(), page.undecodable.len()), (1, 0));
    assert_eq!(page.keys[0].prefix, kept.key.prefix());
}
