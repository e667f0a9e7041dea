//! djangorestframework-api-key's table: checking it at start, and what it can hold.

use apikeys::{ApiKey, Capabilities, Change, StoreError};
use sqlx::PgPool;

use crate::error::Error;
use crate::layout::{DJANGO_HASH_CHARS, DJANGO_ID_CHARS, DJANGO_PREFIX_CHARS, TableName};

/// The capabilities of Django's table: none of the lifecycle fields has a column there,
/// nor do scopes or metadata.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    scopes: false,
    metadata: false,
    owner: false,
    disabled: false,
    rotation: false,
    last_used: false,
    audit: false,
    limits: false,
};

/// The refusal of a write needing `what`, which Django's table has no column for.
pub(crate) fn no_column(what: &str, prefix: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "djangorestframework-api-key's table has no column for {what} (key {prefix:?})"
    ))
}

/// Whether Django's table can hold `key` as it is.
pub(crate) fn check_fit(key: &ApiKey) -> Result<(), StoreError> {
    let absent = [
        ("scopes", !key.scopes.is_empty()),
        ("metadata", !key.metadata.is_empty()),
        ("owner", key.owner.is_some()),
        ("disabled", key.disabled),
        ("last_used", key.last_used.is_some()),
        ("predecessor (rotation)", key.predecessor.is_some()),
        ("successor (rotation)", key.successor.is_some()),
        ("rate_limit", key.rate_limit.is_some()),
        ("credits", key.credits.is_some()),
    ];
    if let Some((what, _)) = absent.iter().find(|(_, set)| *set) {
        return Err(no_column(what, &key.prefix));
    }
    let prefix = key.prefix.chars().count();
    if prefix > DJANGO_PREFIX_CHARS {
        return Err(too_long(
            &format!("prefixes of at most {DJANGO_PREFIX_CHARS} characters"),
            &key.prefix,
        ));
    }
    check_hash(&key.prefix, &key.hashed_key)
}

/// Whether Django's table can take `change` of `prefix`. Setting a field to the empty
/// value the table reads anyway (no scopes, no owner) is fine.
pub(crate) fn check_change(prefix: &str, change: &Change) -> Result<(), StoreError> {
    match change {
        Change::Edit(edit) => {
            if edit.scopes.as_ref().is_some_and(|s| !s.is_empty()) {
                return Err(no_column("scopes", prefix));
            }
            if edit.metadata.as_ref().is_some_and(|m| !m.is_empty()) {
                return Err(no_column("metadata", prefix));
            }
            if matches!(edit.owner, Some(Some(_))) {
                return Err(no_column("owner", prefix));
            }
            if matches!(edit.rate_limit, Some(Some(_))) {
                return Err(no_column("rate_limit", prefix));
            }
            if matches!(edit.credits, Some(Some(_))) {
                return Err(no_column("credits", prefix));
            }
            Ok(())
        }
        Change::Disable => Err(no_column("disabled", prefix)),
        Change::ReplaceHash { new, .. } => check_hash(prefix, new),
        // Revoke; Enable (never disabled here: nothing to do, or refused if revoked).
        _ => Ok(()),
    }
}

/// The hash fits `hashed_key` and `id` (`prefix.<hash>`, set at creation).
fn check_hash(prefix: &str, hash: &str) -> Result<(), StoreError> {
    let prefix_chars = prefix.chars().count();
    let hash_chars = hash.chars().count();
    if hash_chars > DJANGO_HASH_CHARS || prefix_chars + 1 + hash_chars > DJANGO_ID_CHARS {
        return Err(too_long(
            &format!(
                "hashes of at most {} characters",
                DJANGO_ID_CHARS.saturating_sub(1 + prefix_chars)
            ),
            prefix,
        ));
    }
    Ok(())
}

fn too_long(what: &str, prefix: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "djangorestframework-api-key's table holds {what} (key {prefix:?})"
    ))
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
