//! Embedded migrations of apikeys' own table.
//!
//! They are recorded in `apikeys_migrations`, not in sqlx's `_sqlx_migrations`: an
//! application that runs its own sqlx migrations on the same database would otherwise see
//! ours as unknown versions and refuse to start.

use sqlx::{Executor, PgPool};

use crate::error::Error;

struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "create the apikeys table",
        sql: include_str!("../migrations/0001_create_apikeys.sql"),
    },
    // The record cache's invalidations (see cache.rs).
    Migration {
        version: 2,
        description: "notify every change of a key row",
        sql: include_str!("../migrations/0002_notify_changes.sql"),
    },
    // Issue 11's key lifecycle (see store.rs and events.rs).
    Migration {
        version: 3,
        description: "owners, disabled, last-used times, rotation links, audit events",
        sql: include_str!("../migrations/0003_lifecycle.sql"),
    },
    // Issue 14's usage limits (see spend.rs).
    Migration {
        version: 4,
        description: "rate limits and credits",
        sql: include_str!("../migrations/0004_limits.sql"),
    },
];

/// The schema version this build creates and expects.
pub const SCHEMA_VERSION: i32 = 4;

/// Serialises concurrent migrations: many servers of a fleet start at once.
/// (An arbitrary constant: the ASCII of "apikeys" as an integer.)
const LOCK_ID: i64 = 0x61_7069_6b65_7973;

/// Brings the table (in the first schema of the connection's `search_path`) up to date, in
/// one transaction.
pub(crate) async fn run(pool: &PgPool) -> Result<(), Error> {
    let mut tx = pool.begin().await.map_err(Error::Connect)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_ID)
        .execute(&mut *tx)
        .await
        .map_err(Error::Migrate)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS apikeys_migrations (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied timestamptz NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(Error::Migrate)?;
    let current: i32 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM apikeys_migrations")
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::Migrate)?;
    if current > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        // Several statements: the simple query protocol runs them in one round trip.
        tx.execute(migration.sql).await.map_err(Error::Migrate)?;
        sqlx::query("INSERT INTO apikeys_migrations (version, description) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(migration.description)
            .execute(&mut *tx)
            .await
            .map_err(Error::Migrate)?;
    }
    tx.commit().await.map_err(Error::Migrate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_end_at_the_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(m.version).unwrap(), i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
