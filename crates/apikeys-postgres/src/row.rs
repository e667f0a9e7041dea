//! Rows to records. A row that does not decode is reported as corrupt, naming its prefix.

use std::collections::BTreeSet;

use apikeys::{ApiKey, Metadata, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::layout::Mode;

pub(crate) fn decode(row: &PgRow, mode: Mode) -> Result<ApiKey, StoreError> {
    let prefix: String = row.try_get(0).map_err(|e| StoreError::Corrupt {
        prefix: String::new(),
        reason: format!("unreadable prefix: {e}"),
    })?;
    let corrupt = |reason: String| StoreError::Corrupt {
        prefix: prefix.clone(),
        reason,
    };
    let field = |e: sqlx::Error| corrupt(e.to_string());
    let hashed_key: String = row.try_get(1).map_err(field)?;
    let name: String = row.try_get(2).map_err(field)?;
    let created: OffsetDateTime = row.try_get(3).map_err(field)?;
    let expires: Option<OffsetDateTime> = row.try_get(4).map_err(field)?;
    let revoked: bool = row.try_get(5).map_err(field)?;
    let (scopes, metadata) = match mode {
        // Django's table has no column for either.
        Mode::Django => (BTreeSet::new(), Metadata::new()),
        Mode::Own => {
            let scopes: Vec<String> = row.try_get(6).map_err(field)?;
            let metadata = match row.try_get::<serde_json::Value, _>(7).map_err(field)? {
                serde_json::Value::Object(map) => map,
                other => {
                    return Err(corrupt(format!(
                        "metadata is a JSON {}, not an object",
                        json_kind(&other)
                    )));
                }
            };
            (scopes.into_iter().collect(), metadata)
        }
    };
    Ok(ApiKey {
        prefix,
        hashed_key,
        name,
        created,
        expires,
        revoked,
        scopes,
        metadata,
    })
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}
