//! Errors of key management (create, revoke, …). Verification has its own:
//! [`VerifyError`](crate::VerifyError).

use std::fmt;

use crate::format::RandomError;
use crate::hash::HashError;
use crate::lifecycle::Refusal;
use crate::store::StoreError;
use crate::validation::ValidationError;

/// Why a management operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the key is invalid (a name too long, a scope with a space, …).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No key has this prefix.
    #[error("no API key with prefix {prefix:?}")]
    NotFound {
        /// The prefix asked for.
        prefix: String,
    },
    /// The key's state refuses the operation (enabling a revoked key, rolling an expired
    /// one, …).
    #[error("API key {prefix:?}: {reason}")]
    Refused {
        /// The key.
        prefix: String,
        /// Why.
        reason: Refusal,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Hashing the new key failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A background hashing task did not finish.
    #[error(transparent)]
    Task(#[from] TaskError),
}

impl From<StoreError> for Error {
    /// A store's "not found" and refusals are the manager's: there is one
    /// [`Error::NotFound`] and one [`Error::Refused`].
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { prefix } => Self::NotFound { prefix },
            StoreError::Refused { prefix, reason } => Self::Refused { prefix, reason },
            other => Self::Store(other),
        }
    }
}

/// A hashing job on the blocking thread pool panicked or was cancelled (the runtime is
/// shutting down).
#[derive(thiserror::Error)]
#[error("background hashing task did not finish")]
pub struct TaskError(#[source] tokio::task::JoinError);

impl TaskError {
    pub(crate) fn new(error: tokio::task::JoinError) -> Self {
        Self(error)
    }

    /// Whether the job panicked (rather than being cancelled).
    pub fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskError").field(&self.0).finish()
    }
}
