//! The pieces every write is made of, inside one redb write transaction: a record and its
//! index entries change together, and an audit event is appended with the change it names.

use apikeys::{ApiKey, AuditEvent, StoreError};
use redb::{ReadableTable, Table, WriteTransaction};

use crate::codec::{
    created_in_place, encode_event, encode_index, encode_record, revoke_index_in_place, to_micros,
};
use crate::error::backend;
use crate::shared::Shared;
use crate::tables::{BY_CREATED, BY_OWNER, EVENTS, EVENTS_BY_KEY, RECORDS};

/// The store's tables, opened in one write transaction.
pub(crate) struct Tables<'t> {
    records: Table<'t, &'static str, &'static [u8]>,
    by_created: Table<'t, (i64, &'static str), &'static [u8]>,
    by_owner: Table<'t, (&'static str, i64, &'static str), ()>,
    events: Table<'t, u64, &'static [u8]>,
    events_by_key: Table<'t, (&'static str, u64), ()>,
}

/// What a write's body returns: its result, and whether it wrote anything (if not, the
/// transaction is aborted rather than committed, which costs no sync).
pub(crate) type Written<T> = (T, bool);

/// Runs `body` in one write transaction and commits it if it wrote something. An error
/// aborts it: nothing of it is written.
pub(crate) fn transact<T>(
    shared: &Shared,
    body: impl FnOnce(&mut Tables<'_>) -> Result<Written<T>, StoreError>,
) -> Result<T, StoreError> {
    let txn = shared.db.begin_write().map_err(backend)?;
    let (value, wrote) = {
        let mut tables = Tables::open(&txn)?;
        body(&mut tables)?
    };
    if wrote {
        txn.commit().map_err(backend)?;
    } else {
        txn.abort().map_err(backend)?;
    }
    Ok(value)
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            records: txn.open_table(RECORDS).map_err(backend)?,
            by_created: txn.open_table(BY_CREATED).map_err(backend)?,
            by_owner: txn.open_table(BY_OWNER).map_err(backend)?,
            events: txn.open_table(EVENTS).map_err(backend)?,
            events_by_key: txn.open_table(EVENTS_BY_KEY).map_err(backend)?,
        })
    }

    /// The stored bytes of `prefix`'s record.
    pub(crate) fn record_bytes(&self, prefix: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .records
            .get(prefix)
            .map_err(backend)?
            .map(|v| v.value().to_vec()))
    }

    /// Adds a record that must be new, with its index entries.
    pub(crate) fn insert_new(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        if self
            .records
            .get(key.prefix.as_str())
            .map_err(backend)?
            .is_some()
        {
            return Err(StoreError::AlreadyExists {
                prefix: key.prefix.clone(),
            });
        }
        self.put_record(key)?;
        self.index(key)
    }

    /// Replaces the decoded record `old` by `new` (same prefix), moving its index entries.
    pub(crate) fn replace(&mut self, old: &ApiKey, new: &ApiKey) -> Result<(), StoreError> {
        self.unindex(old)?;
        self.put_record(new)?;
        self.index(new)
    }

    /// Writes the record only: for changes of fields no index holds (`last_used`).
    pub(crate) fn put_record(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        self.records
            .insert(key.prefix.as_str(), encode_record(key).as_slice())
            .map_err(backend)?;
        Ok(())
    }

    /// Writes undecodable bytes back (after setting their revoked bit).
    pub(crate) fn put_bytes(&mut self, prefix: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.records.insert(prefix, bytes).map_err(backend)?;
        Ok(())
    }

    /// Removes a record; its bytes if there was one.
    pub(crate) fn remove_record(&mut self, prefix: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .records
            .remove(prefix)
            .map_err(backend)?
            .map(|v| v.value().to_vec()))
    }

    fn index(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let created = to_micros(key.created);
        self.by_created
            .insert((created, key.prefix.as_str()), encode_index(key).as_slice())
            .map_err(backend)?;
        if let Some(owner) = &key.owner {
            self.by_owner
                .insert((owner.as_str(), created, key.prefix.as_str()), ())
                .map_err(backend)?;
        }
        Ok(())
    }

    pub(crate) fn unindex(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let created = to_micros(key.created);
        self.by_created
            .remove((created, key.prefix.as_str()))
            .map_err(backend)?;
        if let Some(owner) = &key.owner {
            self.by_owner
                .remove((owner.as_str(), created, key.prefix.as_str()))
                .map_err(backend)?;
        }
        Ok(())
    }

    /// The `by_created` key of a record that does not decode: at the creation time its
    /// fixed place holds if the entry is there, else found by a scan (slow, but such a
    /// record is rare and must stay revocable and deletable).
    fn created_of_undecodable(
        &self,
        prefix: &str,
        bytes: &[u8],
    ) -> Result<Option<i64>, StoreError> {
        if let Some(created) = created_in_place(bytes)
            && self
                .by_created
                .get((created, prefix))
                .map_err(backend)?
                .is_some()
        {
            return Ok(Some(created));
        }
        for entry in self.by_created.iter().map_err(backend)? {
            let (key, _) = entry.map_err(backend)?;
            let (created, indexed) = key.value();
            if indexed == prefix {
                return Ok(Some(created));
            }
        }
        Ok(None)
    }

    /// Marks the index entry of an undecodable record revoked, so status filters agree
    /// with the revoked bit just set in its bytes.
    pub(crate) fn revoke_undecodable_index(
        &mut self,
        prefix: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let Some(created) = self.created_of_undecodable(prefix, bytes)? else {
            return Ok(());
        };
        let entry = self
            .by_created
            .get((created, prefix))
            .map_err(backend)?
            .map(|v| v.value().to_vec());
        if let Some(mut entry) = entry {
            revoke_index_in_place(&mut entry);
            self.by_created
                .insert((created, prefix), entry.as_slice())
                .map_err(backend)?;
        }
        Ok(())
    }

    /// Removes the index entries of a deleted record that did not decode (its owner is
    /// unknown, so the owner index is scanned).
    pub(crate) fn unindex_undecodable(
        &mut self,
        prefix: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        if let Some(created) = self.created_of_undecodable(prefix, bytes)? {
            self.by_created.remove((created, prefix)).map_err(backend)?;
        }
        self.by_owner
            .retain(|(_, _, indexed), ()| indexed != prefix)
            .map_err(backend)?;
        Ok(())
    }

    /// Appends `event` to the audit trail, indexed under each key it names.
    pub(crate) fn append(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        let sequence = match self.events.last().map_err(backend)? {
            Some((last, _)) => last.value().saturating_add(1),
            None => 0,
        };
        let bytes = encode_event(event).map_err(StoreError::backend)?;
        self.events
            .insert(sequence, bytes.as_slice())
            .map_err(backend)?;
        for prefix in event.prefixes() {
            self.events_by_key
                .insert((prefix, sequence), ())
                .map_err(backend)?;
        }
        Ok(())
    }
}
