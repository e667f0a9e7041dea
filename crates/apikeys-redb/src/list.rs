//! Listing: a reverse range scan of the `(created, prefix)` index.

use std::collections::BTreeSet;

use apikeys::{ApiKey, ListQuery, Metadata, Page, StoreError};
use redb::ReadableDatabase;
use time::OffsetDateTime;

use crate::codec::{decode_index, decode_record, from_micros, to_micros};
use crate::error::{backend, corrupt};
use crate::shared::Shared;
use crate::tables::{BY_CREATED, RECORDS};

/// One page, newest first. Filters run on index entries alone (through the core's own
/// [`ListQuery::matches`], so the semantics are exactly the contract's); only the page's
/// records are decoded.
pub(crate) fn list(shared: &Shared, query: &ListQuery) -> Result<Page, StoreError> {
    let txn = shared.db.begin_read().map_err(backend)?;
    let index = txn.open_table(BY_CREATED).map_err(backend)?;
    let records = txn.open_table(RECORDS).map_err(backend)?;
    let limit = query.effective_limit();
    let folded = query.search_folded();

    // Everything at or before the cursor's microsecond; `matches` then applies the exact
    // cursor (a cursor may carry nanoseconds that stored times do not).
    let entries = match &query.after {
        Some(cursor) => {
            let end = to_micros(cursor.created).saturating_add(1);
            index.range::<(i64, &str)>(..(end, "")).map_err(backend)?
        }
        None => index.range::<(i64, &str)>(..).map_err(backend)?,
    };

    // One reusable record holding the indexed fields, to ask the core's filter.
    let mut probe = ApiKey {
        prefix: String::new(),
        hashed_key: String::new(),
        name: String::new(),
        created: OffsetDateTime::UNIX_EPOCH,
        expires: None,
        revoked: false,
        scopes: BTreeSet::new(),
        metadata: Metadata::new(),
    };
    let search = query.search.as_deref().zip(folded.as_deref());
    let mut lowered = String::new();
    let mut page = Vec::new();
    for entry in entries.rev() {
        let (key, value) = entry.map_err(backend)?;
        let (created, prefix) = key.value();
        let fields = decode_index(value.value()).map_err(|r| corrupt(prefix, r))?;
        if let Some((raw, folded)) = search
            && !search_may_match(raw, folded, prefix, fields.name, &mut lowered)
        {
            continue;
        }
        probe.prefix.clear();
        probe.prefix.push_str(prefix);
        probe.name.clear();
        probe.name.push_str(fields.name);
        probe.created = from_micros(created).map_err(|r| corrupt(prefix, r))?;
        probe.expires = fields
            .expires
            .map(from_micros)
            .transpose()
            .map_err(|r| corrupt(prefix, r))?;
        probe.revoked = fields.revoked;
        if !query.matches(folded.as_deref(), &probe) {
            continue;
        }
        let bytes = records
            .get(prefix)
            .map_err(backend)?
            .ok_or_else(|| corrupt(prefix, "indexed, but its record is missing"))?;
        page.push(decode_record(prefix, bytes.value()).map_err(|r| corrupt(prefix, r))?);
        if page.len() > limit {
            break;
        }
    }
    Ok(Page::from_overfetch(page, limit))
}

/// A quick first pass of [`ListQuery::matches_search`] for a scan: the same answer, without
/// allocating for ASCII names (most of them). Candidates still go through `matches`.
fn search_may_match(
    raw: &str,
    folded: &str,
    prefix: &str,
    name: &str,
    buffer: &mut String,
) -> bool {
    if prefix.starts_with(raw) {
        return true;
    }
    if name.is_ascii() {
        buffer.clear();
        buffer.push_str(name);
        buffer.make_ascii_lowercase();
        buffer.contains(folded)
    } else {
        name.to_lowercase().contains(folded)
    }
}
