//! Replays every committed fuzz corpus input through its target, so that CI checks the
//! corpora on the stable toolchain on every change.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
        .map(|entry| entry.expect("readable corpus directory").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The files among `files` on which `run` panics.
fn failures(run: fn(&[u8]), files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("readable corpus input");
            catch_unwind(AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect()
}

fn replay(target: &str) {
    let (_, run) = apikeys_fuzz_targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("known target");
    let files = corpus_files(target);
    assert!(
        files.len() >= 10,
        "corpus {target} has only {} inputs",
        files.len()
    );
    let failed = failures(*run, &files);
    assert!(failed.is_empty(), "{target} panicked on {failed:#?}");
}

#[test]
fn key_format_corpus() {
    replay("key_format");
}

#[test]
fn extract_corpus() {
    replay("extract");
}

#[test]
fn stored_hash_corpus() {
    replay("stored_hash");
}

#[test]
fn every_target_has_a_corpus_test() {
    let names: Vec<&str> = apikeys_fuzz_targets::TARGETS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        names,
        ["key_format", "extract", "stored_hash", "redb_record"]
    );
}

/// An input on which a target panics is reported, by name, not swallowed.
#[test]
fn a_panicking_input_is_reported() {
    let dir = std::env::temp_dir().join(format!("apikeys-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files = [dir.join("fine"), dir.join("boom")];
    for path in &files {
        let name = path.file_name().expect("named").as_encoded_bytes();
        std::fs::write(path, name).expect("temp file");
    }
    let failed = failures(|data| assert_ne!(data, b"boom"), &files);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(failed, [files[1].display().to_string()]);
}

#[test]
fn redb_record_corpus() {
    replay("redb_record");
}
