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

/// The SQL of one store, built once.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) mode: Mode,
    pub(crate) table: TableName,
    pub(crate) get: String,
    pub(crate) insert: String,
    pub(crate) update: String,
    pub(crate) delete: String,
    /// `SELECT <columns> FROM <table>`, for listings.
    pub(crate) select: String,
    /// The expiry column's name.
    pub(crate) expires: &'static str,
}

const OWN_COLUMNS: &str = "prefix, hashed_key, name, created, expires, revoked, scopes, metadata";
const DJANGO_COLUMNS: &str = "prefix, hashed_key, name, created, expiry_date, revoked";

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
            insert: format!(
                "INSERT INTO {t} (prefix, hashed_key, name, name_folded, created, expires, \
                 revoked, scopes, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            // Revocation is sticky in SQL, so that a write racing with a revocation on
            // another server (e.g. a hash upgrade) cannot undo it.
            update: format!(
                "UPDATE {t} SET hashed_key = $2, name = $3, name_folded = $4, created = $5, \
                 expires = $6, revoked = {t}.revoked OR $7, scopes = $8, metadata = $9 \
                 WHERE prefix = $1"
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
            // `revoked` and `created` have defaults only in Python: supply them.
            insert: format!(
                "INSERT INTO {t} (id, prefix, hashed_key, name, created, expiry_date, revoked) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            // `id` stays `prefix.<first hash>`, as Django leaves it when it upgrades a hash.
            update: format!(
                "UPDATE {t} SET hashed_key = $2, name = $3, created = $4, expiry_date = $5, \
                 revoked = {t}.revoked OR $6 WHERE prefix = $1"
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
