//! Setup errors (public) and the conversion of query errors into the core's `StoreError`.

use apikeys::StoreError;
use sqlx::error::ErrorKind;

/// Why a [`PostgresStore`](crate::PostgresStore) could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be reached (address, credentials, TLS, …).
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    /// Nothing accepts connections at the address (no server there, or not yet started).
    #[error("cannot connect to PostgreSQL: connection refused to {address}")]
    Refused {
        /// `host:port` (or the socket directory and port).
        address: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Creating or upgrading apikeys' own table failed.
    #[error("cannot create or upgrade the apikeys table: {0}")]
    Migrate(#[source] sqlx::Error),
    /// The database was set up by a newer version of this crate.
    #[error(
        "the apikeys table is at schema version {found}, newer than this build knows ({known}); upgrade apikeys-postgres"
    )]
    SchemaTooNew {
        /// Version recorded in the database.
        found: i32,
        /// Newest version this build has.
        known: i32,
    },
    /// A table name that is not a plain SQL identifier (optionally `schema.table`).
    #[error(
        "invalid table name {0:?}: use letters, digits and underscores, optionally as schema.table"
    )]
    InvalidTableName(String),
    /// The Django table does not exist (migrations not run, wrong database or schema).
    #[error(
        "table {0} not found: run Django's migrations for rest_framework_api_key, or check the database, schema and table name"
    )]
    TableNotFound(String),
    /// The table exists but apikeys cannot use it as djangorestframework-api-key's table.
    #[error("table {table} is not usable as a djangorestframework-api-key table: {reason}")]
    IncompatibleTable {
        /// The table.
        table: String,
        /// What is missing or different.
        reason: String,
    },
    /// Inspecting the database failed.
    #[error("cannot inspect the database: {0}")]
    Inspect(#[source] sqlx::Error),
}

/// A failed query as the core's error. Data exceptions (SQLSTATE class 22: a value too long
/// for its column, a NUL character, …) are values this database cannot hold, not outages.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    if let Some(db) = error.as_database_error()
        && db.code().is_some_and(|code| code.starts_with("22"))
    {
        return StoreError::Unsupported(format!("the database refused a value: {}", db.message()));
    }
    StoreError::backend(error)
}

/// `AlreadyExists` when the insert hit a unique constraint (the prefix, or Django's `id`).
pub(crate) fn insert_error(error: sqlx::Error, prefix: &str) -> StoreError {
    if let Some(db) = error.as_database_error()
        && matches!(db.kind(), ErrorKind::UniqueViolation)
    {
        return StoreError::AlreadyExists {
            prefix: prefix.to_owned(),
        };
    }
    store_error(error)
}
