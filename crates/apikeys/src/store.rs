//! The storage contract.

use std::error::Error as StdError;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::record::ApiKey;

/// Which keys a listing returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusFilter {
    /// Every key.
    #[default]
    All,
    /// Neither revoked nor expired.
    Active,
    /// Revoked keys.
    Revoked,
    /// Keys whose expiry has passed (revoked or not).
    Expired,
}

/// Where a page ends: the next page starts after this key in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last key of the page.
    pub created: OffsetDateTime,
    /// Prefix of the last key of the page (orders keys created at the same instant).
    pub prefix: String,
}

impl Cursor {
    /// The cursor pointing just after `key`.
    pub fn after(key: &ApiKey) -> Self {
        Self {
            created: key.created,
            prefix: key.prefix.clone(),
        }
    }

    /// Whether `key` comes after the cursor in newest-first order.
    pub fn admits(&self, key: &ApiKey) -> bool {
        (key.created, key.prefix.as_str()) < (self.created, self.prefix.as_str())
    }
}

/// A listing request: search, filter, page size and position.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Keeps keys whose prefix starts with this text or whose name contains it, ignoring case.
    pub search: Option<String>,
    /// Which keys by status.
    pub status: StatusFilter,
    /// Page size, at most [`ListQuery::MAX_LIMIT`].
    pub limit: usize,
    /// Start after this position (from the previous page's `next`).
    pub after: Option<Cursor>,
    /// The instant that decides what "expired" means for this listing.
    pub now: OffsetDateTime,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            search: None,
            status: StatusFilter::All,
            limit: Self::DEFAULT_LIMIT,
            after: None,
            now: OffsetDateTime::now_utc(),
        }
    }
}

impl ListQuery {
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page a store returns.
    pub const MAX_LIMIT: usize = 1000;

    /// Every key, newest first, in pages of [`ListQuery::DEFAULT_LIMIT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys matching `text` (see [`ListQuery::search`]).
    #[must_use]
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// Only keys of this status.
    #[must_use]
    pub fn status(mut self, status: StatusFilter) -> Self {
        self.status = status;
        self
    }

    /// Pages of `limit` keys (clamped to 1..=[`ListQuery::MAX_LIMIT`]).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after a previous page.
    #[must_use]
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// The page size a store should use.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }

    /// The search text lower-cased once, for [`ListQuery::matches_search`].
    pub fn search_folded(&self) -> Option<String> {
        self.search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    }

    /// Whether `key` passes the search, given [`ListQuery::search_folded`].
    pub fn matches_search(&self, folded: Option<&str>, key: &ApiKey) -> bool {
        match (self.search.as_deref(), folded) {
            (Some(raw), Some(folded)) => {
                key.prefix.starts_with(raw) || key.name.to_lowercase().contains(folded)
            }
            _ => true,
        }
    }

    /// Whether `key` passes the status filter.
    pub fn matches_status(&self, key: &ApiKey) -> bool {
        match self.status {
            StatusFilter::All => true,
            StatusFilter::Active => key.is_active_at(self.now),
            StatusFilter::Revoked => key.revoked,
            StatusFilter::Expired => key.is_expired_at(self.now),
        }
    }

    /// Whether `key` belongs in the listing: after the cursor, matching search and status.
    /// Stores that filter in memory use this; others must give the same answers.
    pub fn matches(&self, folded: Option<&str>, key: &ApiKey) -> bool {
        self.after.as_ref().is_none_or(|c| c.admits(key))
            && self.matches_status(key)
            && self.matches_search(folded, key)
    }
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The keys of this page.
    pub keys: Vec<ApiKey>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
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
        Self { keys, next }
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
    /// The store cannot hold what was asked (e.g. scopes in a table without a column for them).
    #[error("not supported by this store: {0}")]
    Unsupported(String),
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
/// - `insert` fails with [`StoreError::AlreadyExists`] when the prefix is taken, leaving
///   the existing record untouched;
/// - `update` replaces the record with the same prefix ([`StoreError::NotFound`] if none),
///   except that a revoked record stays revoked whatever `revoked` says;
/// - `list` orders by `created` then `prefix`, both descending, and filters exactly as
///   [`ListQuery::matches`] does;
/// - every write is durable when the call returns.
#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Adds a new record.
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// The record with this prefix. Shared, so that caching stores need not copy it.
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError>;

    /// Replaces a record (revocation is sticky).
    async fn update(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// One page of records, newest first.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;

    /// Removes a record; `false` when there was none.
    async fn delete(&self, prefix: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        (**self).insert(key).await
    }
    async fn get(&self, prefix: &str) -> Result<Option<Arc<ApiKey>>, StoreError> {
        (**self).get(prefix).await
    }
    async fn update(&self, key: &ApiKey) -> Result<(), StoreError> {
        (**self).update(key).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        (**self).list(query).await
    }
    async fn delete(&self, prefix: &str) -> Result<bool, StoreError> {
        (**self).delete(prefix).await
    }
}
