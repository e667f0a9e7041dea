//! The storage contract.

use std::error::Error as StdError;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::lifecycle::{Change, Modified, Refusal, Roll, Rolled};
use crate::limits::Spend;
use crate::query::{Cursor, ListQuery};
use crate::record::ApiKey;

/// One page of a listing, newest first.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Page {
    /// The keys of this page.
    pub keys: Vec<ApiKey>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
    /// Prefixes of matching records the store could not decode, left out of `keys` (so
    /// that one damaged record does not take the listing down). They can still be revoked
    /// and deleted; how many there are is `undecodable.len()`.
    pub undecodable: Vec<String>,
}

impl Page {
    /// Builds a page from up to `limit + 1` matching keys in order: the extra one only tells
    /// that a next page exists.
    pub fn from_overfetch(mut keys: Vec<ApiKey>, limit: usize) -> Self {
        let next = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().map(Cursor::after)
        } else {
            None
        };
        Self {
            keys,
            next,
            undecodable: Vec::new(),
        }
    }

    /// The same page, reporting these undecodable records.
    #[must_use]
    pub fn with_undecodable(mut self, prefixes: Vec<String>) -> Self {
        self.undecodable = prefixes;
        self
    }
}

/// What a store can hold. The conformance suite reads it to skip what a store cannot do,
/// and writes that need a missing capability fail with [`StoreError::Unsupported`] naming
/// the field. Build one with struct update syntax from [`Capabilities::ALL`], so that a
/// capability added later defaults to "supported".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent yes/no flags are the point"
)]
pub struct Capabilities {
    /// Scopes.
    pub scopes: bool,
    /// Metadata.
    pub metadata: bool,
    /// Owners (and the owner filter of listings).
    pub owner: bool,
    /// `disabled`.
    pub disabled: bool,
    /// Rotation links (and so [`KeyStore::roll`]).
    pub rotation: bool,
    /// `last_used` ([`KeyStore::touch`] is a no-op without it).
    pub last_used: bool,
    /// A durable audit trail ([`KeyStore::history`]).
    pub audit: bool,
    /// Usage limits: the `rate_limit` and `credits` fields, and atomic
    /// [`KeyStore::spend`].
    pub limits: bool,
}

impl Capabilities {
    /// Everything.
    pub const ALL: Self = Self {
        scopes: true,
        metadata: true,
        owner: true,
        disabled: true,
        rotation: true,
        last_used: true,
        audit: true,
        limits: true,
    };
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::ALL
    }
}

/// A store failure. Every store converts its own errors into these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A key with this prefix exists already.
    #[error("an API key with prefix {prefix:?} already exists")]
    AlreadyExists {
        /// The prefix.
        prefix: String,
    },
    /// No key with this prefix.
    #[error("no API key with prefix {prefix:?}")]
    NotFound {
        /// The prefix.
        prefix: String,
    },
    /// A stored record could not be read.
    #[error("the stored record of API key {prefix:?} is corrupt: {reason}")]
    Corrupt {
        /// The prefix of the record.
        prefix: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store cannot hold what was asked (e.g. scopes in a table without a column for
    /// them); the message names the field.
    #[error("not supported by this store: {0}")]
    Unsupported(String),
    /// The write is refused by the key's state (revoked, expired, already rolled, its hash
    /// changed meanwhile); nothing was written.
    #[error("API key {prefix:?} refused the change: {reason}")]
    Refused {
        /// The key.
        prefix: String,
        /// Why.
        reason: Refusal,
    },
    /// The backend failed (I/O, connection, lock, …).
    #[error("key store failure: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// Where key records live. Dyn-compatible: `ApiKeys` holds an `Arc<dyn KeyStore>`.
///
/// Contract (checked by the conformance suite `apikeys::testing::store`, `testing` feature):
/// - **Every write says what it changes.** No method writes a whole record read earlier:
///   [`insert`](Self::insert) adds a new one, [`modify`](Self::modify) applies one
///   [`Change`] and [`roll`](Self::roll) one [`Roll`] to the record *as stored at that
///   moment* (one transaction, one statement, or one lock: the core's [`Change::apply`] and
///   [`Roll::apply`] give the answer), and [`touch`](Self::touch) moves `last_used` only.
///   So an edit racing a revocation stays revoked, and a hash upgrade racing an edit keeps
///   the edit.
/// - `revoked` never goes back to `false`, by any method.
/// - **Audit events are written with their change**, in the same transaction, and only when
///   something changed ([`Modified::Unchanged`], a refusal or an error write nothing). The
///   history is append-only; [`history`](Self::history) returns it oldest first, holding
///   every event whose [`AuditEvent::prefixes`] names the key (a roll is in both keys'
///   history). Deleting a key keeps its history.
/// - `insert` fails with [`StoreError::AlreadyExists`] when the prefix is taken, leaving
///   the existing record untouched.
/// - `list` orders by `created` then `prefix`, both descending, and filters exactly as
///   [`ListQuery::matches`] does.
/// - **A record the store cannot decode** does not fail a listing: it is left out and
///   reported in [`Page::undecodable`]. [`Change::Revoke`] and [`delete`](Self::delete)
///   still work on it (revoking makes sure it is never granted); other writes report
///   [`StoreError::Corrupt`].
/// - What the store cannot hold it declares in [`capabilities`](Self::capabilities), and
///   refuses writes needing it with [`StoreError::Unsupported`] naming the field; reads
///   still work and show such fields empty.
/// - Every write is durable when the call returns.
#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// What this store can hold. Default: everything.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    /// Adds a new record, and `event` (its creation) to the history.
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError>;

    /// The record with this prefix. Shared, so that caching stores need not copy it.
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError>;

    /// One page of records, newest first.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;

    /// Applies `change` atomically to the record as stored, and writes `event` with it when
    /// it changed something. [`StoreError::NotFound`] when there is no such key,
    /// [`StoreError::Refused`] when [`Change::apply`] refuses.
    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError>;

    /// Rolls `roll.prefix` to a successor atomically: the successor is inserted and both
    /// records are linked in one step, with `event`, or nothing happens.
    /// [`StoreError::Refused`] when [`Roll::apply`] refuses (revoked, expired, already
    /// rolled: so of concurrent rolls of one key exactly one wins),
    /// [`StoreError::AlreadyExists`] when the successor's prefix is taken.
    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError>;

    /// Records uses: for each `(prefix, at)`, `last_used` becomes `at` if that is later
    /// than the stored value. Nothing else changes; unknown prefixes are ignored (never
    /// created), revoked keys stay revoked. Not audited. A no-op without
    /// [`Capabilities::last_used`].
    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError>;

    /// Removes a record, even one it cannot decode, writing `event` when there was one;
    /// `false` when there was none.
    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError>;

    /// The key's audit events, oldest first (also after the key was deleted).
    /// [`StoreError::Unsupported`] without [`Capabilities::audit`].
    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError>;

    /// Spends `cost` of the key's credits at `now`, atomically: [`Credits::spend`](crate::Credits::spend) (refill
    /// included) applied to the record as stored, so concurrent spends never spend more
    /// than there is. `Ok(None)` when the key has no credits, [`StoreError::NotFound`] when
    /// there is no key. Not audited (it happens on every request). The default refuses
    /// with [`StoreError::Unsupported`], for stores without [`Capabilities::limits`].
    async fn spend(
        &self,
        prefix: &str,
        cost: u64,
        now: OffsetDateTime,
    ) -> Result<Option<Spend>, StoreError> {
        let _ = (prefix, cost, now);
        Err(StoreError::Unsupported("credits".to_owned()))
    }
}

#[async_trait]
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn insert(&self, key: &ApiKey, event: &AuditEvent) -> Result<(), StoreError> {
        (**self).insert(key, event).await
    }
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        (**self).get(prefix).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        (**self).list(query).await
    }
    async fn modify(
        &self,
        prefix: &str,
        change: &Change,
        event: &AuditEvent,
    ) -> Result<Modified, StoreError> {
        (**self).modify(prefix, change, event).await
    }
    async fn roll(&self, roll: &Roll, event: &AuditEvent) -> Result<Rolled, StoreError> {
        (**self).roll(roll, event).await
    }
    async fn touch(&self, uses: &[(String, OffsetDateTime)]) -> Result<(), StoreError> {
        (**self).touch(uses).await
    }
    async fn delete(&self, prefix: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        (**self).delete(prefix, event).await
    }
    async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
        (**self).history(prefix).await
    }
    async fn spend(
        &self,
        prefix: &str,
        cost: u64,
        now: OffsetDateTime,
    ) -> Result<Option<Spend>, StoreError> {
        (**self).spend(prefix, cost, now).await
    }
}
