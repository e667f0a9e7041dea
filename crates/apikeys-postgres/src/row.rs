//! Rows to records. A row that does not decode is reported as corrupt, naming its prefix
//! (a listing leaves it out and reports it; revoking and deleting it need no decoding).

use apikeys::{ApiKey, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::layout::Mode;
use crate::limits;

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
    let mut key = ApiKey::new(prefix.clone(), hashed_key, name, created);
    key.expires = expires;
    key.revoked = revoked;
    match mode {
        // Django's table has no column for any other field: they read empty.
        Mode::Django => {}
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
            key.scopes = scopes.into_iter().collect();
            key.metadata = metadata;
            key.owner = row.try_get(8).map_err(field)?;
            key.disabled = row.try_get(9).map_err(field)?;
            key.last_used = row.try_get(10).map_err(field)?;
            key.predecessor = row.try_get(11).map_err(field)?;
            key.successor = row.try_get(12).map_err(field)?;
            key.rate_limit = limits::decode_rate_limit(row, 13).map_err(corrupt)?;
            key.credits = limits::decode_credits(row, 14).map_err(corrupt)?;
        }
    }
    Ok(key)
}

/// The prefix and creation time of a row, which a listing needs to page past it even when
/// the rest does not decode.
pub(crate) fn position(row: &PgRow) -> Result<(String, OffsetDateTime), StoreError> {
    let prefix: String = row.try_get(0).map_err(|e| StoreError::Corrupt {
        prefix: String::new(),
        reason: format!("unreadable prefix: {e}"),
    })?;
    match row.try_get(3) {
        Ok(created) => Ok((prefix, created)),
        Err(e) => Err(StoreError::Corrupt {
            prefix,
            reason: format!("unreadable creation time: {e}"),
        }),
    }
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
