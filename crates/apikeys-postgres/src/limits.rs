//! Usage limits in apikeys' table: the columns of a rate limit and of credits, and spending.
//!
//! Spending reads the credits, applies the core's `Credits::spend` to them in Rust and
//! writes the outcome with one conditional `UPDATE … RETURNING` that holds only if the row
//! is still as read. So the refill rule is the core's own code (calendar days and months in
//! UTC, intervals on their grid), not a second version of it in SQL that could drift, and
//! the count is exact under any concurrency:
//! - no refill due (almost every spend): `remaining = remaining - cost WHERE remaining >=
//!   cost` and the period and refill as read. The row lock queues concurrent spends and
//!   PostgreSQL re-checks the condition on the row as the previous one left it, so 64
//!   spends against 50 credits grant 50 with no retry;
//! - a refill due: the new count and period, `WHERE` count, period and refill are exactly
//!   as read; the first spender after the boundary writes it, the others read again.
//!
//! When the condition fails (the credits changed between the read and the write) the spend
//! reads again; every failure means another writer succeeded, so this ends.

use apikeys::{Credits, RateLimit, Refill, Spend, StoreError, time::OffsetDateTime};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::store_error;
use crate::layout::{GET_CREDITS, REPLACE_CREDITS, SPEND};

/// A spend that keeps losing its race this often is reported, not retried forever (each
/// loss is another writer's success, so this needs thousands of writers at once).
const MAX_ATTEMPTS: usize = 10_000;

/// A key's limits as apikeys' table holds them (see migrations/0004_limits.sql).
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub(crate) rate_limit: Option<String>,
    pub(crate) remaining: Option<i64>,
    pub(crate) refill: Option<String>,
    pub(crate) period_start: Option<OffsetDateTime>,
}

impl Columns {
    /// The columns of `rate_limit` and `credits`; credits beyond what the table holds (more
    /// than the core's `MAX_CREDITS`, a refill of 0) are refused, not written.
    pub(crate) fn of(
        prefix: &str,
        rate_limit: Option<&RateLimit>,
        credits: Option<&Credits>,
    ) -> Result<Self, StoreError> {
        let mut columns = Self {
            rate_limit: rate_limit.map(ToString::to_string),
            ..Self::default()
        };
        if let Some(credits) = credits {
            let invalid = |e: &dyn std::fmt::Display| {
                StoreError::Unsupported(format!("credits of API key {prefix:?}: {e}"))
            };
            credits.validate().map_err(|e| invalid(&e))?;
            columns.remaining = Some(i64::try_from(credits.remaining).map_err(|e| invalid(&e))?);
            columns.refill = credits.refill.map(|r| r.to_string());
            columns.period_start = Some(credits.period_start);
        }
        Ok(columns)
    }
}

/// The rate limit in column `at` of `row`; the error says what is wrong.
pub(crate) fn decode_rate_limit(row: &PgRow, at: usize) -> Result<Option<RateLimit>, String> {
    let text: Option<String> = row.try_get(at).map_err(|e| e.to_string())?;
    text.map(|t| {
        t.parse()
            .map_err(|e| format!("rate limit {t:?} is invalid: {e}"))
    })
    .transpose()
}

/// The credits in the three columns from `at` of `row` (remaining, refill, period start);
/// the error says what is wrong.
pub(crate) fn decode_credits(row: &PgRow, at: usize) -> Result<Option<Credits>, String> {
    let remaining: Option<i64> = row.try_get(at).map_err(|e| e.to_string())?;
    let refill: Option<String> = row.try_get(at + 1).map_err(|e| e.to_string())?;
    let period_start: Option<OffsetDateTime> = row.try_get(at + 2).map_err(|e| e.to_string())?;
    let (remaining, period_start) = match (remaining, period_start) {
        (None, None) if refill.is_none() => return Ok(None),
        (Some(remaining), Some(start)) => (remaining, start),
        _ => return Err("credits are partly set".to_owned()),
    };
    let remaining =
        u64::try_from(remaining).map_err(|_| format!("{remaining} credits remaining"))?;
    let mut credits = Credits::new(remaining, period_start)
        .map_err(|e| format!("{remaining} credits remaining: {e}"))?;
    if let Some(text) = refill {
        let refill: Refill = text
            .parse()
            .map_err(|e| format!("credit refill {text:?} is invalid: {e}"))?;
        credits = credits.with_refill(refill);
    }
    Ok(Some(credits))
}

/// `KeyStore::spend` on apikeys' table (see the module's comment). `Ok(None)`: the key has
/// no credits; `NotFound`: there is no key.
pub(crate) async fn spend(
    pool: &PgPool,
    prefix: &str,
    cost: u64,
    now: OffsetDateTime,
) -> Result<Option<Spend>, StoreError> {
    if prefix.contains('\0') {
        return Err(not_found(prefix));
    }
    for _ in 0..MAX_ATTEMPTS {
        let row = sqlx::query(GET_CREDITS)
            .bind(prefix)
            .fetch_optional(pool)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(prefix))?;
        let Some(read) = decode_credits(&row, 0).map_err(|reason| StoreError::Corrupt {
            prefix: prefix.to_owned(),
            reason,
        })?
        else {
            return Ok(None);
        };
        let mut after = read.clone();
        let spend = after.spend(cost, now);
        if after == read {
            // Refused (or free) with no refill due: nothing to write, and the read is the
            // state this answer is about.
            return Ok(Some(spend));
        }
        if let Some(done) = write(pool, prefix, cost, &read, &after).await? {
            return Ok(Some(Spend {
                remaining: done,
                ..spend
            }));
        }
    }
    Err(StoreError::backend(format!(
        "spending credits of API key {prefix:?} lost {MAX_ATTEMPTS} races in a row"
    )))
}

/// The conditional write of one spend; `None` when the credits are no longer as `read`.
async fn write(
    pool: &PgPool,
    prefix: &str,
    cost: u64,
    read: &Credits,
    after: &Credits,
) -> Result<Option<u64>, StoreError> {
    let to_i64 = |n: u64| {
        // Below MAX_CREDITS (2^53 - 1) whenever the credits decoded.
        i64::try_from(n).map_err(|_| StoreError::backend(format!("{n} credits out of range")))
    };
    let refill = read.refill.map(|r| r.to_string());
    let query = if after.period_start == read.period_start {
        sqlx::query(SPEND)
            .bind(prefix)
            .bind(to_i64(cost)?)
            .bind(read.period_start)
            .bind(refill)
    } else {
        sqlx::query(REPLACE_CREDITS)
            .bind(prefix)
            .bind(to_i64(read.remaining)?)
            .bind(read.period_start)
            .bind(refill)
            .bind(to_i64(after.remaining)?)
            .bind(after.period_start)
    };
    let Some(row) = query.fetch_optional(pool).await.map_err(store_error)? else {
        return Ok(None);
    };
    let remaining: i64 = row.try_get(0).map_err(store_error)?;
    u64::try_from(remaining)
        .map(Some)
        .map_err(|_| StoreError::backend(format!("{remaining} credits remaining after a spend")))
}

fn not_found(prefix: &str) -> StoreError {
    StoreError::NotFound {
        prefix: prefix.to_owned(),
    }
}
