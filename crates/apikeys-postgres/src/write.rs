//! The writes of `KeyStore`, each one statement or one transaction that changes only what
//! it means to change, on the row as stored: `modify` and `roll` lock the row
//! (`SELECT … FOR UPDATE`), apply the core's pure `Change::apply` / `Roll::apply` to it, and
//! write the fields that change with the audit event, or roll back. So a hash upgrade never
//! undoes an edit, and an edit never undoes a revocation, whoever else writes the table.

use apikeys::{
    ApiKey, AuditEvent, Change, Modified, Roll, Rolled, StoreError, time::OffsetDateTime,
};
use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};

use crate::error::{insert_error, store_error};
use crate::layout::{INSERT_SUCCESSOR, Layout, Mode, RETIRE, TOUCH};
use crate::{django, events, limits, row};

type Query<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// The record's columns in apikeys' table, in the order of `Layout::insert`.
fn bind_own<'q>(query: Query<'q>, key: &'q ApiKey) -> Result<Query<'q>, StoreError> {
    let limits = limits::Columns::of(&key.prefix, key.rate_limit.as_ref(), key.credits.as_ref())?;
    Ok(query
        .bind(&key.prefix)
        .bind(&key.hashed_key)
        .bind(&key.name)
        .bind(key.name.to_lowercase())
        .bind(key.created)
        .bind(key.expires)
        .bind(key.revoked)
        .bind(key.scopes.iter().collect::<Vec<_>>())
        .bind(serde_json::Value::Object(key.metadata.clone()))
        .bind(key.owner.as_deref())
        .bind(key.disabled)
        .bind(key.last_used)
        .bind(key.predecessor.as_deref())
        .bind(key.successor.as_deref())
        .bind(limits.rate_limit)
        .bind(limits.remaining)
        .bind(limits.refill)
        .bind(limits.period_start))
}

fn not_found(prefix: &str) -> StoreError {
    StoreError::NotFound {
        prefix: prefix.to_owned(),
    }
}

/// Commits when the work wrote something, rolls back otherwise (a refusal, an unchanged
/// record, an error), at once: the row lock must not outlive the answer.
async fn finish<T>(
    tx: Transaction<'_, Postgres>,
    outcome: Result<(T, bool), StoreError>,
) -> Result<T, StoreError> {
    match outcome {
        Ok((value, true)) => {
            tx.commit().await.map_err(store_error)?;
            Ok(value)
        }
        Ok((value, false)) => {
            tx.rollback().await.map_err(store_error)?;
            Ok(value)
        }
        Err(error) => {
            // The error is the answer; a failed rollback ends the connection anyway.
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}

/// One row changed, as the lock guarantees; anything else is a broken invariant.
fn one_row(done: &PgQueryResult, what: &str, prefix: &str) -> Result<(), StoreError> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::backend(format!(
            "{what} of locked API key row {prefix:?} changed {} rows",
            done.rows_affected()
        )))
    }
}

pub(crate) async fn insert(
    pool: &PgPool,
    layout: &Layout,
    key: &ApiKey,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    match layout.mode {
        Mode::Own => {
            let mut tx = pool.begin().await.map_err(store_error)?;
            let outcome = async {
                bind_own(sqlx::query(&layout.insert), key)?
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| insert_error(e, &key.prefix))?;
                events::record(&mut tx, event).await?;
                Ok(((), true))
            }
            .await;
            finish(tx, outcome).await
        }
        Mode::Django => {
            django::check_fit(key)?;
            // Django's primary key is `prefix.hashed_key`, set once at creation.
            sqlx::query(&layout.insert)
                .bind(format!("{}.{}", key.prefix, key.hashed_key))
                .bind(&key.prefix)
                .bind(&key.hashed_key)
                .bind(&key.name)
                .bind(key.created)
                .bind(key.expires)
                .bind(key.revoked)
                .execute(pool)
                .await
                .map_err(|e| insert_error(e, &key.prefix))?;
            Ok(())
        }
    }
}

pub(crate) async fn modify(
    pool: &PgPool,
    layout: &Layout,
    prefix: &str,
    change: &Change,
    event: &AuditEvent,
) -> Result<Modified, StoreError> {
    if layout.mode == Mode::Django {
        django::check_change(prefix, change)?;
    }
    // PostgreSQL text cannot hold NUL: no key has such a prefix.
    if prefix.contains('\0') {
        return Err(not_found(prefix));
    }
    let mut tx = pool.begin().await.map_err(store_error)?;
    let outcome = modify_locked(&mut tx, layout, prefix, change, event).await;
    finish(tx, outcome).await
}

async fn modify_locked(
    tx: &mut PgConnection,
    layout: &Layout,
    prefix: &str,
    change: &Change,
    event: &AuditEvent,
) -> Result<(Modified, bool), StoreError> {
    let row = sqlx::query(&layout.lock)
        .bind(prefix)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found(prefix))?;
    let mut key = match row::decode(&row, layout.mode) {
        Ok(key) => key,
        // Revoking needs no decoding: the key must never be granted again.
        Err(corrupt) if matches!(change, Change::Revoke) => {
            tracing::warn!(prefix, error = %corrupt, "revoking an undecodable API key row");
            let revoked: bool = row.try_get(5).unwrap_or(false);
            if !revoked {
                let done = sqlx::query(&layout.revoke)
                    .bind(prefix)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                one_row(&done, "revoking", prefix)?;
                if layout.mode == Mode::Own {
                    events::record(tx, event).await?;
                }
            }
            return Ok((Modified::RevokedUndecodable, !revoked));
        }
        Err(corrupt) => return Err(corrupt),
    };
    let changed = change
        .apply(&mut key)
        .map_err(|reason| StoreError::Refused {
            prefix: prefix.to_owned(),
            reason,
        })?;
    if !changed {
        return Ok((Modified::Unchanged(key), false));
    }
    // Only the fields this change is about; the rest of the row stays as it is.
    let query = match change {
        Change::Edit(_) => match layout.mode {
            // The credits as read under the lock, or as the edit sets them: no spend can
            // come between (it waits for the lock).
            Mode::Own => {
                let limits =
                    limits::Columns::of(prefix, key.rate_limit.as_ref(), key.credits.as_ref())?;
                sqlx::query(&layout.edit)
                    .bind(prefix)
                    .bind(&key.name)
                    .bind(key.name.to_lowercase())
                    .bind(key.expires)
                    .bind(key.scopes.iter().collect::<Vec<_>>())
                    .bind(serde_json::Value::Object(key.metadata.clone()))
                    .bind(key.owner.as_deref())
                    .bind(limits.rate_limit)
                    .bind(limits.remaining)
                    .bind(limits.refill)
                    .bind(limits.period_start)
            }
            Mode::Django => sqlx::query(&layout.edit)
                .bind(prefix)
                .bind(&key.name)
                .bind(key.expires),
        },
        Change::Revoke => sqlx::query(&layout.revoke).bind(prefix),
        Change::Disable | Change::Enable => sqlx::query(&layout.set_disabled)
            .bind(prefix)
            .bind(key.disabled),
        Change::ReplaceHash { expected, new } => sqlx::query(&layout.replace_hash)
            .bind(prefix)
            .bind(expected)
            .bind(new),
        other => {
            return Err(StoreError::Unsupported(format!(
                "this version of apikeys-postgres cannot apply {other:?}"
            )));
        }
    };
    let done = query.execute(&mut *tx).await.map_err(store_error)?;
    one_row(&done, "changing", prefix)?;
    if layout.mode == Mode::Own {
        events::record(tx, event).await?;
    }
    Ok((Modified::Changed(key), true))
}

/// Own table only (Django's has no rotation links: refused before).
pub(crate) async fn roll(
    pool: &PgPool,
    layout: &Layout,
    roll: &Roll,
    event: &AuditEvent,
) -> Result<Rolled, StoreError> {
    if roll.prefix.contains('\0') {
        return Err(not_found(&roll.prefix));
    }
    let mut tx = pool.begin().await.map_err(store_error)?;
    let outcome = roll_locked(&mut tx, layout, roll, event).await;
    finish(tx, outcome.map(|rolled| (rolled, true))).await
}

async fn roll_locked(
    tx: &mut PgConnection,
    layout: &Layout,
    roll: &Roll,
    event: &AuditEvent,
) -> Result<Rolled, StoreError> {
    // Concurrent rolls of one key queue here; each then sees the winner's successor.
    let row = sqlx::query(&layout.lock)
        .bind(&roll.prefix)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found(&roll.prefix))?;
    let mut old = row::decode(&row, layout.mode)?;
    let successor = roll.apply(&mut old).map_err(|reason| StoreError::Refused {
        prefix: roll.prefix.clone(),
        reason,
    })?;
    let inserted = bind_own(sqlx::query(INSERT_SUCCESSOR), &successor)?
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists {
            prefix: successor.prefix,
        });
    }
    let retired = sqlx::query(RETIRE)
        .bind(&old.prefix)
        .bind(old.successor.as_deref())
        .bind(old.expires)
        .bind(old.revoked)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    one_row(&retired, "retiring", &old.prefix)?;
    events::record(tx, event).await?;
    Ok(Rolled { old, successor })
}

/// Own table only (Django's has no `last_used`: a no-op there).
pub(crate) async fn touch(
    pool: &PgPool,
    uses: &[(String, OffsetDateTime)],
) -> Result<(), StoreError> {
    let (prefixes, times): (Vec<&str>, Vec<OffsetDateTime>) = uses
        .iter()
        .filter(|(prefix, _)| !prefix.contains('\0'))
        .map(|(prefix, at)| (prefix.as_str(), *at))
        .unzip();
    if prefixes.is_empty() {
        return Ok(());
    }
    sqlx::query(TOUCH)
        .bind(prefixes)
        .bind(times)
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Needs no decoding, so it removes damaged rows too.
pub(crate) async fn delete(
    pool: &PgPool,
    layout: &Layout,
    prefix: &str,
    event: &AuditEvent,
) -> Result<bool, StoreError> {
    if prefix.contains('\0') {
        return Ok(false);
    }
    match layout.mode {
        Mode::Own => {
            let mut tx = pool.begin().await.map_err(store_error)?;
            let outcome = async {
                let done = sqlx::query(&layout.delete)
                    .bind(prefix)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                let removed = done.rows_affected() > 0;
                if removed {
                    events::record(&mut tx, event).await?;
                }
                Ok((removed, removed))
            }
            .await;
            finish(tx, outcome).await
        }
        Mode::Django => {
            let done = sqlx::query(&layout.delete)
                .bind(prefix)
                .execute(pool)
                .await
                .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        }
    }
}
