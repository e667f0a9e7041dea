//! Errors of key management (create, revoke, …). Verification has its own:
//! [`VerifyError`](crate::VerifyError).

use crate::format::RandomError;
use crate::hash::HashError;
use crate::store::StoreError;

/// Why a management operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key name is empty, too long or has control characters.
    #[error("invalid key name: {0}")]
    InvalidName(String),
    /// A scope is empty, too long or has spaces.
    #[error("invalid scope {0}")]
    InvalidScope(String),
    /// The metadata is not a JSON object, or does not fit the requested type.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// No key has this prefix.
    #[error("no API key with prefix {0:?}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing the new key failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A background hashing task did not finish.
    #[error("background hashing task failed: {0}")]
    Task(String),
}
