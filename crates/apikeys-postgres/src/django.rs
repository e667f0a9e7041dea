//! djangorestframework-api-key's table: checking it at start, and what it can hold.

use apikeys::{ApiKey, StoreError};
use sqlx::PgPool;

use crate::error::Error;
use crate::layout::{DJANGO_HASH_CHARS, DJANGO_ID_CHARS, DJANGO_PREFIX_CHARS, TableName};

/// Whether Django's table can hold `key` as it is.
pub(crate) fn check_fit(key: &ApiKey) -> Result<(), StoreError> {
    let unsupported = |what: String| {
        Err(StoreError::Unsupported(format!(
            "djangorestframework-api-key's table {what} (key {:?})",
            key.prefix
        )))
    };
    if !key.scopes.is_empty() {
        return unsupported("has no column for scopes".into());
    }
    if !key.metadata.is_empty() {
        return unsupported("has no column for metadata".into());
    }
    let prefix = key.prefix.chars().count();
    let hash = key.hashed_key.chars().count();
    if prefix > DJANGO_PREFIX_CHARS {
        return unsupported(format!(
            "holds prefixes of at most {DJANGO_PREFIX_CHARS} characters"
        ));
    }
    if hash > DJANGO_HASH_CHARS || prefix + 1 + hash > DJANGO_ID_CHARS {
        return unsupported(format!(
            "holds hashes of at most {} characters",
            DJANGO_ID_CHARS - 1 - prefix
        ));
    }
    Ok(())
}

/// Django's `AbstractAPIKey` columns and the type each must have.
const DJANGO_COLUMNS: [(&str, &str); 7] = [
    ("id", "character varying"),
    ("prefix", "character varying"),
    ("hashed_key", "character varying"),
    ("name", "character varying"),
    ("created", "timestamp with time zone"),
    ("revoked", "boolean"),
    ("expiry_date", "timestamp with time zone"),
];

/// Checks that `table` exists and has the columns of Django's `AbstractAPIKey`.
pub(crate) async fn check_table(pool: &PgPool, table: &TableName) -> Result<(), Error> {
    let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(&table.quoted)
        .fetch_one(pool)
        .await
        .map_err(Error::Inspect)?;
    if found.is_none() {
        return Err(Error::TableNotFound(table.name.clone()));
    }
    let columns: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull, atthasdef \
         FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
    )
    .bind(&table.quoted)
    .fetch_all(pool)
    .await
    .map_err(Error::Inspect)?;
    let incompatible = |reason: String| Error::IncompatibleTable {
        table: table.name.clone(),
        reason,
    };
    for (name, kind) in DJANGO_COLUMNS {
        match columns.iter().find(|c| c.0 == name) {
            None => return Err(incompatible(format!("no column {name}"))),
            Some(c) if !c.1.starts_with(kind) => {
                return Err(incompatible(format!(
                    "column {name} is {}, expected {kind}",
                    c.1
                )));
            }
            Some(_) => {}
        }
    }
    // A custom key model may add columns; apikeys can insert rows only if they are optional.
    if let Some(required) = columns
        .iter()
        .find(|c| c.2 && !c.3 && !DJANGO_COLUMNS.iter().any(|(n, _)| *n == c.0))
    {
        return Err(incompatible(format!(
            "column {} is required and apikeys cannot fill it",
            required.0
        )));
    }
    Ok(())
}
