//! Why a store could not be opened, and the conversion of redb's errors.

use std::io;
use std::path::PathBuf;

use apikeys::StoreError;

/// Why [`RedbStore::open`](crate::RedbStore::open) or
/// [`open_existing`](crate::RedbStore::open_existing) failed. Every message is one line
/// naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `open_existing` on a path where there is no file.
    #[error("API key store {} does not exist", path.display())]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The directory the file should be in does not exist (nothing is created).
    #[error(
        "cannot open API key store {}: its directory {} does not exist",
        path.display(),
        directory.display()
    )]
    MissingDirectory {
        /// The path.
        path: PathBuf,
        /// The file's directory.
        directory: PathBuf,
    },
    /// Another process (or another `open` in this one) has the file open.
    #[error(
        "API key store {} is in use by another process (a redb file is open in one process at a time)",
        path.display()
    )]
    InUse {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a redb database, or is damaged (e.g. truncated).
    #[error("{} is not a valid API key store: {reason}", path.display())]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What redb found wrong.
        reason: String,
    },
    /// The file was written by a newer release whose tables this one cannot read.
    #[error("API key store {}: {source}", path.display())]
    TooNew {
        /// The path.
        path: PathBuf,
        /// The versions found and supported.
        #[source]
        source: TooNew,
    },
    /// The file could not be read or written.
    #[error("cannot open API key store {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// redb refused the file for another reason.
    #[error("cannot open API key store {}: {source}", path.display())]
    Database {
        /// The path.
        path: PathBuf,
        /// redb's error.
        #[source]
        source: redb::Error,
    },
}

/// The key tables were written by a newer apikeys-redb whose layout this release cannot
/// read. [`RedbStore::open`](crate::RedbStore::open) reports it as [`OpenError::TooNew`],
/// [`RedbStore::from_database`](crate::RedbStore::from_database) as
/// a [`StoreError`] whose source is this error: the same type and the same words either way.
///
/// ```no_run
/// # fn check(db: std::sync::Arc<redb::Database>) {
/// use std::error::Error as _;
/// use apikeys_redb::{RedbStore, TooNew};
///
/// if let Err(error) = RedbStore::from_database(db)
///     && let Some(too_new) = error.source().and_then(|e| e.downcast_ref::<TooNew>())
/// {
///     eprintln!("upgrade this server: {too_new}");
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the key tables were written by a newer apikeys-redb (table layout {found}, this release reads {supported})"
)]
#[non_exhaustive]
pub struct TooNew {
    /// The layout version found in the database.
    pub found: u64,
    /// The newest layout this release reads.
    pub supported: u64,
}

impl OpenError {
    pub(crate) fn from_redb(path: PathBuf, error: impl Into<redb::Error>) -> Self {
        match error.into() {
            redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
                Self::InUse { path }
            }
            redb::Error::Corrupted(reason) => Self::Corrupt { path, reason },
            redb::Error::Io(source) => match source.kind() {
                io::ErrorKind::NotFound => Self::Missing { path },
                // A file shorter than redb's header, or with a header that makes no sense.
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData => Self::Corrupt {
                    path,
                    reason: source.to_string(),
                },
                _ => Self::Io { path, source },
            },
            source => Self::Database { path, source },
        }
    }
}

/// Any redb failure on an open store.
pub(crate) fn backend(error: impl Into<redb::Error>) -> StoreError {
    StoreError::backend(error.into())
}

pub(crate) fn corrupt(prefix: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        prefix: prefix.to_owned(),
        reason: reason.into(),
    }
}

/// A store task on the blocking threads panicked or was cancelled; its cause stays its
/// source.
#[derive(Debug, thiserror::Error)]
#[error("the key store's {task} task failed")]
struct TaskFailed {
    task: &'static str,
    #[source]
    source: tokio::task::JoinError,
}

pub(crate) fn task_failed(task: &'static str, source: tokio::task::JoinError) -> StoreError {
    StoreError::backend(TaskFailed { task, source })
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_task_keeps_its_cause() {
        let join = tokio::task::spawn_blocking(|| std::panic::panic_any("boom"))
            .await
            .expect_err("the task panicked");
        let error = task_failed("write", join);
        assert!(matches!(error, StoreError::Backend(_)));
        let failed = error.source().expect("the task failure");
        assert_eq!(failed.to_string(), "the key store's write task failed");
        let cause = failed.source().expect("its cause");
        let join = cause
            .downcast_ref::<tokio::task::JoinError>()
            .expect("the join error, typed");
        assert!(join.is_panic());
    }
}
