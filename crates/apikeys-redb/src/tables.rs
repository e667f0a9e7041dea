//! The tables the store owns in the redb file.

use redb::TableDefinition;

/// `prefix → record` (see the codec module for the encoding).
pub(crate) const RECORDS: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("apikeys_records");

/// `(created µs, prefix) → index entry`: newest-first paging is a reverse range scan, and
/// a search reads names here without decoding records.
pub(crate) const BY_CREATED: TableDefinition<'static, (i64, &str), &[u8]> =
    TableDefinition::new("apikeys_by_created");

/// `(owner, created µs, prefix) → ()`: the owner filter is a reverse range scan of one
/// owner's keys, newest first, not a scan of every key.
pub(crate) const BY_OWNER: TableDefinition<'static, (&str, i64, &str), ()> =
    TableDefinition::new("apikeys_by_owner");

/// `sequence → event` (version byte 1, then the event as JSON): the append-only audit
/// trail, in the order the changes committed.
pub(crate) const EVENTS: TableDefinition<'static, u64, &[u8]> =
    TableDefinition::new("apikeys_events");

/// `(prefix, sequence) → ()` for each key an event names (a roll names two): a key's
/// history is one range scan, oldest first.
pub(crate) const EVENTS_BY_KEY: TableDefinition<'static, (&str, u64), ()> =
    TableDefinition::new("apikeys_events_by_key");

/// `"layout" → version` of the tables as a whole.
pub(crate) const META: TableDefinition<'static, &str, u64> = TableDefinition::new("apikeys_meta");

pub(crate) const LAYOUT_KEY: &str = "layout";
/// The table layout this version writes and reads. Layout 2 added the owner index and the
/// audit trail (layout 1 files are upgraded on open: they have no owners and no events);
/// a release that only knows layout 1 refuses a layout 2 file rather than write records
/// without maintaining them.
pub(crate) const LAYOUT: u64 = 2;
