//! Listing: a reverse range scan of the `(created, prefix)` index, or of one owner's part
//! of the `(owner, created, prefix)` index when the query names an owner.

use apikeys::{ApiKey, KeyFields, ListQuery, Page, StoreError};
use redb::{ReadOnlyTable, ReadableDatabase};

use crate::codec::{decode_index, decode_record, from_micros, to_micros};
use crate::error::{backend, corrupt};
use crate::shared::Shared;
use crate::tables::{BY_CREATED, BY_OWNER, RECORDS};

/// One page, newest first. Filters run on index entries alone (through the core's own
/// [`ListQuery::matches`], so the semantics are exactly the contract's); only the page's
/// records are decoded. A record (or index entry) that does not decode is reported in
/// [`Page::undecodable`] instead of failing the page.
pub(crate) fn list(shared: &Shared, query: &ListQuery) -> Result<Page, StoreError> {
    let txn = shared.db.begin_read().map_err(backend)?;
    let index = txn.open_table(BY_CREATED).map_err(backend)?;
    let records = txn.open_table(RECORDS).map_err(backend)?;
    let mut page = Collect {
        spending: &shared.spending,
        query,
        records: &records,
        limit: query.effective_limit(),
        keys: Vec::new(),
        undecodable: Vec::new(),
    };
    // Everything before the cursor's next microsecond; `matches` then applies the exact
    // cursor (a cursor may carry nanoseconds that stored times do not).
    let end = query
        .cursor()
        .map_or(i64::MAX, |c| to_micros(c.created).saturating_add(1));

    if let Some(owner) = query.filter().owner() {
        let by_owner = txn.open_table(BY_OWNER).map_err(backend)?;
        let range = by_owner
            .range((owner, i64::MIN, "")..(owner, end, ""))
            .map_err(backend)?;
        for entry in range.rev() {
            let (key, _) = entry.map_err(backend)?;
            let (_, created, prefix) = key.value();
            let value = index
                .get((created, prefix))
                .map_err(backend)?
                .ok_or_else(|| corrupt(prefix, "owner-indexed, but not in the creation index"))?;
            if page.consider(created, prefix, value.value(), Some(owner))? {
                break;
            }
        }
    } else {
        let range = index.range::<(i64, &str)>(..(end, "")).map_err(backend)?;
        for entry in range.rev() {
            let (key, value) = entry.map_err(backend)?;
            let (created, prefix) = key.value();
            // Without an owner filter the owner decides nothing, so the entry need not
            // hold it.
            if page.consider(created, prefix, value.value(), None)? {
                break;
            }
        }
    }
    Ok(Page::from_overfetch(page.keys, page.limit).with_undecodable(page.undecodable))
}

struct Collect<'a> {
    spending: &'a crate::spending::Spending,
    query: &'a ListQuery,
    records: &'a ReadOnlyTable<&'static str, &'static [u8]>,
    limit: usize,
    keys: Vec<ApiKey>,
    undecodable: Vec<String>,
}

impl Collect<'_> {
    /// The key with its credits as spent in memory, not as last flushed.
    fn live(&self, key: ApiKey) -> ApiKey {
        let key = self.spending.overlay(std::sync::Arc::new(key));
        std::sync::Arc::try_unwrap(key).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Takes the key if it matches; `true` once the page (plus one) is full.
    fn consider(
        &mut self,
        created: i64,
        prefix: &str,
        entry: &[u8],
        owner: Option<&str>,
    ) -> Result<bool, StoreError> {
        let Ok(fields) = decode_index(entry) else {
            // Nothing to filter on: report it rather than hide it or fail the page.
            self.undecodable.push(prefix.to_owned());
            return Ok(false);
        };
        let (Ok(created), Ok(expires)) = (
            from_micros(created),
            fields.expires.map(from_micros).transpose(),
        ) else {
            self.undecodable.push(prefix.to_owned());
            return Ok(false);
        };
        let matches = self.query.matches(&KeyFields {
            prefix,
            name: fields.name,
            created,
            expires,
            revoked: fields.revoked,
            disabled: fields.disabled,
            owner,
        });
        if !matches {
            return Ok(false);
        }
        let bytes = self
            .records
            .get(prefix)
            .map_err(backend)?
            .ok_or_else(|| corrupt(prefix, "indexed, but its record is missing"))?;
        match decode_record(prefix, bytes.value()) {
            Ok(key) => self.keys.push(self.live(key)),
            Err(_) => self.undecodable.push(prefix.to_owned()),
        }
        Ok(self.keys.len() > self.limit)
    }
}
