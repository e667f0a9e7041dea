#![doc = include_str!("../README.md")]

mod extract;
mod key_format;
mod redb_record;
mod stored_hash;

pub use crate::extract::extract;
pub use crate::key_format::key_format;
pub use crate::redb_record::redb_record;
pub use crate::stored_hash::stored_hash;

/// A target's body: takes any bytes, panics on a bug.
pub type Target = fn(&[u8]);

/// Every target by its name in `fuzz/fuzz_targets/` and `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("key_format", key_format),
    ("extract", extract),
    ("stored_hash", stored_hash),
    ("redb_record", redb_record),
];
