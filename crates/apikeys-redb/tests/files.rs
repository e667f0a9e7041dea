//! The store file itself: who may read a new one, and what a wrong path says.

use apikeys_redb::{OpenError, RedbStore};

/// A new file holds key hashes: only its owner may read it (or lock it).
#[cfg(unix)]
#[test]
fn new_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.redb");
    drop(RedbStore::open(&path).expect("create"));
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");

    // An existing file keeps the mode its owner gave it.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    drop(RedbStore::open(&path).expect("reopen"));
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "mode {mode:o}");
}

#[test]
fn a_missing_directory_is_named_and_nothing_is_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let path = missing.join("keys.redb");
    for result in [RedbStore::open(&path), RedbStore::open_existing(&path)] {
        let error = result.expect_err("no directory");
        let OpenError::MissingDirectory { directory, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*directory, missing);
        let text = error.to_string();
        assert!(
            text.contains(&format!(
                "its directory {} does not exist",
                missing.display()
            )),
            "{text}"
        );
    }
    assert!(!missing.exists());
    // A missing file in an existing directory is only missing.
    let error = RedbStore::open_existing(dir.path().join("keys.redb")).expect_err("missing");
    assert!(matches!(error, OpenError::Missing { .. }), "{error:?}");
}
