//! The tables the store owns in the redb file.

use redb::TableDefinition;

/// `prefix → record` (see the codec module for the encoding).
pub(crate) const RECORDS: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("apikeys_records");

/// `(created µs, prefix) → index entry`: newest-first paging is a reverse range scan, and
/// a search reads names here without decoding records.
pub(crate) const BY_CREATED: TableDefinition<'static, (i64, &str), &[u8]> =
    TableDefinition::new("apikeys_by_created");

/// `"layout" → version` of the tables as a whole.
pub(crate) const META: TableDefinition<'static, &str, u64> = TableDefinition::new("apikeys_meta");

pub(crate) const LAYOUT_KEY: &str = "layout";
/// The table layout this version writes and reads.
pub(crate) const LAYOUT: u64 = 1;
