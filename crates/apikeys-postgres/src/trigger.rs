//! The change trigger on djangorestframework-api-key's table, which Django owns and never
//! migrates for us: installed at start when the role may (it must own the table), else the
//! store runs without a cache. apikeys' own table gets its trigger from migration 2.

use sqlx::{Executor, PgPool};

use crate::layout::TableName;

/// The trigger's name on Django's table.
pub(crate) const DJANGO_TRIGGER: &str = "apikeys_notify_change";

/// Whether `table` has the trigger, installing it if it is missing and the role may.
/// `Err` carries the reason the cache is off, for the log.
pub(crate) async fn ensure_django(pool: &PgPool, table: &TableName) -> Result<(), sqlx::Error> {
    if installed(pool, table).await? {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    // Two servers starting at once must not both create it.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("apikeys trigger {}", table.quoted))
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
    )
    .bind(&table.quoted)
    .bind(DJANGO_TRIGGER)
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        // The function goes in the table's schema, so that it lives and dies with it; its
        // name differs from migration 2's, which may be in the same schema.
        let schema: String = sqlx::query_scalar(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1)",
        )
        .bind(&table.quoted)
        .fetch_one(&mut *tx)
        .await?;
        let function = format!(
            "\"{}\".apikeys_django_notify_change",
            schema.replace('"', "\"\"")
        );
        let install = install_sql(&function, &table.quoted);
        // Several statements: the simple query protocol runs them in one round trip.
        tx.execute(install.as_str()).await?;
    }
    tx.commit().await
}

async fn installed(pool: &PgPool, table: &TableName) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)",
    )
    .bind(&table.quoted)
    .bind(DJANGO_TRIGGER)
    .fetch_one(pool)
    .await
}

/// Migration 2, which installs the change trigger on apikeys' own table.
const MIGRATION: &str = include_str!("../migrations/0002_notify_changes.sql");

/// The body of migration 2's trigger function (between its `$$` quotes): Django's table gets
/// the very same one, so that both notify alike.
fn function_body() -> &'static str {
    MIGRATION
        .split("$$")
        .nth(1)
        .expect("migration 2 quotes its function body with $$")
}

/// Migration 2's function and triggers, for `table`.
fn install_sql(function: &str, table: &str) -> String {
    let body = function_body();
    format!(
        "
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$;
CREATE TRIGGER {DJANGO_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER apikeys_notify_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::CHANGED;

    /// The function body is migration 2's, so both tables notify alike.
    #[test]
    fn same_body_as_the_migration() {
        let body = |sql: &str| sql.split("$$").nth(1).map(str::to_owned);
        let migration = MIGRATION;
        assert!(migration.contains(&format!("'{CHANGED}'")));
        assert_eq!(body(&install_sql("f", "t")), body(migration));
        assert!(body(migration).is_some());
    }
}
