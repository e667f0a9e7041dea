//! Which table the store uses and the SQL for it: apikeys' own table, or the one
//! djangorestframework-api-key created.

use crate::error::Error;

/// The table djangorestframework-api-key 3.x creates for its `APIKey` model.
pub const DJANGO_TABLE: &str = "rest_framework_api_key_apikey";

/// Django's column sizes (`AbstractAPIKey`): `id` is `prefix.hashed_key`.
pub(crate) const DJANGO_PREFIX_CHARS: usize = 8;
pub(crate) const DJANGO_HASH_CHARS: usize = 150;
pub(crate) const DJANGO_ID_CHARS: usize = 150;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Own,
    Django,
}

/// A table name checked to be one or two plain identifiers, and its quoted SQL form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    pub(crate) name: String,
    pub(crate) quoted: String,
}

impl TableName {
    /// Only `[A-Za-z_][A-Za-z0-9_$]*` parts (at most 63 bytes, PostgreSQL's limit): the name
    /// is spliced into SQL, so nothing that needs escaping gets in. Quoting keeps the case,
    /// as Django does for `db_table`.
    pub(crate) fn parse(name: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidTableName(name.to_owned());
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 2 {
            return Err(invalid());
        }
        for part in &parts {
            let mut chars = part.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !first_ok
                || part.len() > 63
                || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            {
                return Err(invalid());
            }
        }
        let quoted = parts
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(".");
        Ok(Self {
            name: name.to_owned(),
            quoted,
        })
    }
}

/// The SQL of one store, built once. Every write names the columns it changes: no
/// statement writes back a whole record read earlier.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) mode: Mode,
    pub(crate) table: TableName,
    pub(crate) get: String,
    /// `get`, locking the row until the transaction ends (every read-modify-write).
    pub(crate) lock: String,
    pub(crate) insert: String,
    /// The editable fields this table has (own: name, expiry, scopes, metadata, owner, rate
    /// limit, credits).
    pub(crate) edit: String,
    /// Sticky in SQL: nothing sets `revoked` from a value read earlier.
    pub(crate) revoke: String,
    /// Own table only: `disabled`, never on a revoked key.
    pub(crate) set_disabled: String,
    /// A compare-and-set of the hash alone.
    pub(crate) replace_hash: String,
    pub(crate) delete: String,
    /// `SELECT <columns> FROM <table>`, for listings.
    pub(crate) select: String,
    /// The expiry column's name.
    pub(crate) expires: &'static str,
}

/// apikeys' table: the order `row::decode` reads.
pub(crate) const OWN_COLUMNS: &str = "prefix, hashed_key, name, created, expires, revoked, \
     scopes, metadata, owner, disabled, last_used, predecessor, successor, rate_limit, \
     credits_remaining, credits_refill, credits_period_start";
const DJANGO_COLUMNS: &str = "prefix, hashed_key, name, created, expiry_date, revoked";

/// Own table only: the successor of a roll (the old row is locked by then; a taken prefix
/// inserts nothing, and the roll is refused).
pub(crate) const INSERT_SUCCESSOR: &str = "INSERT INTO apikeys (prefix, hashed_key, name, \
     name_folded, created, expires, revoked, scopes, metadata, owner, disabled, last_used, \
     predecessor, successor, rate_limit, credits_remaining, credits_refill, \
     credits_period_start) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $15, $16, $17, $18) ON CONFLICT DO NOTHING";

/// Own table only: a key's credits, read outside the record cache for spending.
pub(crate) const GET_CREDITS: &str = "SELECT credits_remaining, credits_refill, \
     credits_period_start FROM apikeys WHERE prefix = $1";

/// Own table only: spending when no refill is due. The row lock orders concurrent spends and
/// PostgreSQL re-checks the condition on the row as the previous spender left it, so the
/// count can never go below zero; the period and refill must be the ones the caller read
/// (else a refill or an edit came between, and the caller reads again).
pub(crate) const SPEND: &str = "UPDATE apikeys SET credits_remaining = credits_remaining - $2 \
     WHERE prefix = $1 AND credits_remaining >= $2 AND credits_period_start = $3 \
       AND credits_refill IS NOT DISTINCT FROM $4 \
     RETURNING credits_remaining";

/// Own table only: writing credits computed from the ones read (a refill came due), only
/// if they are still exactly those.
pub(crate) const REPLACE_CREDITS: &str = "UPDATE apikeys SET credits_remaining = $5, \
     credits_period_start = $6 \
     WHERE prefix = $1 AND credits_remaining = $2 AND credits_period_start = $3 \
       AND credits_refill IS NOT DISTINCT FROM $4 \
     RETURNING credits_remaining";

/// Own table only: the old key of a roll gets its successor and is retired, only if it
/// has no successor yet; revocation stays sticky.
pub(crate) const RETIRE: &str = "UPDATE apikeys SET successor = $2, expires = $3, \
     revoked = revoked OR $4 WHERE prefix = $1 AND successor IS NULL";

/// Own table only: one statement for a batch of uses. Only `last_used` changes, only
/// forward, only on rows that exist (a deleted key is not created, a revoked one stays
/// so); a prefix used twice in the batch counts with its latest time. The rows are locked
/// in prefix order first, so that two servers flushing overlapping batches at once wait
/// for each other instead of deadlocking.
pub(crate) const TOUCH: &str = "WITH u AS (SELECT prefix, max(at) AS at \
         FROM unnest($1::text[], $2::timestamptz[]) AS t(prefix, at) GROUP BY prefix), \
     locked AS (SELECT k.prefix FROM apikeys AS k JOIN u ON k.prefix = u.prefix \
         WHERE k.last_used IS NULL OR k.last_used < u.at ORDER BY k.prefix FOR UPDATE OF k) \
     UPDATE apikeys AS k SET last_used = u.at FROM u, locked \
     WHERE k.prefix = locked.prefix AND k.prefix = u.prefix \
       AND (k.last_used IS NULL OR k.last_used < u.at)";

impl Layout {
    pub(crate) fn own() -> Self {
        let t = "apikeys";
        Self {
            mode: Mode::Own,
            table: TableName {
                name: t.to_owned(),
                quoted: t.to_owned(),
            },
            get: format!("SELECT {OWN_COLUMNS} FROM {t} WHERE prefix = $1"),
            lock: format!("SELECT {OWN_COLUMNS} FROM {t} WHERE prefix = $1 FOR UPDATE"),
            insert: format!(
                "INSERT INTO {t} (prefix, hashed_key, name, name_folded, created, expires, \
                 revoked, scopes, metadata, owner, disabled, last_used, predecessor, successor, \
                 rate_limit, credits_remaining, credits_refill, credits_period_start) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18)"
            ),
            edit: format!(
                "UPDATE {t} SET name = $2, name_folded = $3, expires = $4, scopes = $5, \
                 metadata = $6, owner = $7, rate_limit = $8, credits_remaining = $9, \
                 credits_refill = $10, credits_period_start = $11 WHERE prefix = $1"
            ),
            revoke: format!("UPDATE {t} SET revoked = true WHERE prefix = $1"),
            set_disabled: format!("UPDATE {t} SET disabled = $2 WHERE prefix = $1 AND NOT revoked"),
            replace_hash: format!(
                "UPDATE {t} SET hashed_key = $3 WHERE prefix = $1 AND hashed_key = $2"
            ),
            delete: format!("DELETE FROM {t} WHERE prefix = $1"),
            select: format!("SELECT {OWN_COLUMNS} FROM {t}"),
            expires: "expires",
        }
    }

    pub(crate) fn django(table: TableName) -> Self {
        let t = &table.quoted;
        Self {
            mode: Mode::Django,
            get: format!("SELECT {DJANGO_COLUMNS} FROM {t} WHERE prefix = $1"),
            lock: format!("SELECT {DJANGO_COLUMNS} FROM {t} WHERE prefix = $1 FOR UPDATE"),
            // `revoked` and `created` have defaults only in Python: supply them.
            insert: format!(
                "INSERT INTO {t} (id, prefix, hashed_key, name, created, expiry_date, revoked) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            edit: format!("UPDATE {t} SET name = $2, expiry_date = $3 WHERE prefix = $1"),
            revoke: format!("UPDATE {t} SET revoked = true WHERE prefix = $1"),
            // Never run: Django's table has no `disabled` (refused before).
            set_disabled: String::new(),
            // `id` stays `prefix.<first hash>`, as Django leaves it when it upgrades a hash.
            replace_hash: format!(
                "UPDATE {t} SET hashed_key = $3 WHERE prefix = $1 AND hashed_key = $2"
            ),
            delete: format!("DELETE FROM {t} WHERE prefix = $1"),
            select: format!("SELECT {DJANGO_COLUMNS} FROM {t}"),
            expires: "expiry_date",
            table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            TableName::parse(DJANGO_TABLE).unwrap().quoted,
            "\"rest_framework_api_key_apikey\""
        );
        assert_eq!(
            TableName::parse("billing.MyKeys").unwrap().quoted,
            "\"billing\".\"MyKeys\""
        );
        for bad in [
            "",
            ".",
            "a.",
            "a.b.c",
            "1abc",
            "a b",
            "a\"b",
            "a;drop table x",
            "ключи",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(TableName::parse(bad), Err(Error::InvalidTableName(_))),
                "{bad:?}"
            );
        }
    }
}
