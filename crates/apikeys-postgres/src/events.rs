//! The durable audit trail of apikeys' own table: `apikeys_events` (migration 3), appended
//! in the transaction of each change, one row per key the event concerns.

use apikeys::{AuditEvent, StoreError};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use crate::error::store_error;

/// Appends `event` under each of its keys (a roll: the old key and its successor).
pub(crate) async fn record(tx: &mut PgConnection, event: &AuditEvent) -> Result<(), StoreError> {
    let prefixes: Vec<&str> = event.prefixes().collect();
    sqlx::query(
        "INSERT INTO apikeys_events (prefix, at, action, actor, event) \
         SELECT p, $2, $3, $4, $5 FROM unnest($1::text[]) AS p",
    )
    .bind(prefixes)
    .bind(event.at)
    .bind(event.action.name())
    .bind(event.actor.as_deref())
    .bind(Json(event))
    .execute(tx)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// `prefix`'s events in the order they were written.
pub(crate) async fn history(pool: &PgPool, prefix: &str) -> Result<Vec<AuditEvent>, StoreError> {
    if prefix.contains('\0') {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, serde_json::Value)> =
        sqlx::query_as("SELECT id, event FROM apikeys_events WHERE prefix = $1 ORDER BY id")
            .bind(prefix)
            .fetch_all(pool)
            .await
            .map_err(store_error)?;
    rows.into_iter()
        .map(|(id, event)| {
            serde_json::from_value(event).map_err(|e| StoreError::Corrupt {
                prefix: prefix.to_owned(),
                reason: format!("audit event {id} does not decode: {e}"),
            })
        })
        .collect()
}
