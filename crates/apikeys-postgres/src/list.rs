//! Listing: keyset paging on (created, prefix) descending, with the status, owner and
//! search filters in SQL, giving the same answers as `ListQuery::matches`. A row that does
//! not decode is left out of the page and reported in `Page::undecodable`.

use apikeys::{ApiKey, Cursor, KeyFields, ListQuery, Page, StatusFilter, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::error::store_error;
use crate::layout::{Layout, Mode};
use crate::row;

/// Rows read per round when the search runs in Rust (Django's table has no folded name).
const SCAN_BATCH: usize = 500;

pub(crate) async fn list(
    pool: &PgPool,
    layout: &Layout,
    query: &ListQuery,
) -> Result<Page, StoreError> {
    let limit = query.effective_limit();
    let filter = query.filter();
    if let Some(owner) = filter.owner() {
        // Django's table has no owners, so no key has this one; text cannot hold NUL.
        if layout.mode == Mode::Django || owner.contains('\0') {
            return Ok(Page::default());
        }
    }
    let Some(search) = filter.search() else {
        let rows = fetch(pool, layout, query, query.cursor(), None, limit + 1).await?;
        return page(&rows, layout.mode, query, limit);
    };
    // PostgreSQL text cannot hold NUL, so no stored key matches such a search (and the
    // database would refuse the parameter).
    if search.raw().contains('\0') {
        return Ok(Page::default());
    }
    match layout.mode {
        Mode::Own => {
            let patterns = Patterns {
                prefix: format!("{}%", escape_like(search.raw())),
                name: format!("%{}%", escape_like(search.folded())),
            };
            let rows = fetch(
                pool,
                layout,
                query,
                query.cursor(),
                Some(&patterns),
                limit + 1,
            )
            .await?;
            page(&rows, layout.mode, query, limit)
        }
        Mode::Django => scan(pool, layout, query, limit).await,
    }
}

/// Up to `limit + 1` rows in order, as a page of at most `limit`: undecodable rows count
/// toward the page (so that paging past them works) and are reported, not returned.
/// The core's filter runs again on each decoded key: SQL narrowed the rows, the core has
/// the last word (and answers any status filter added later that SQL does not know).
fn page(rows: &[PgRow], mode: Mode, query: &ListQuery, limit: usize) -> Result<Page, StoreError> {
    let mut keys = Vec::with_capacity(rows.len().min(limit));
    let mut undecodable = Vec::new();
    for row in rows.iter().take(limit) {
        match row::decode(row, mode) {
            Ok(key) if query.filter().matches(&KeyFields::from(&key)) => keys.push(key),
            Ok(_) => {}
            Err(StoreError::Corrupt { prefix, reason }) => {
                tracing::warn!(
                    prefix,
                    reason,
                    "undecodable API key row left out of a listing"
                );
                undecodable.push(prefix);
            }
            Err(other) => return Err(other),
        }
    }
    let next = if rows.len() > limit {
        let (prefix, created) = row::position(&rows[limit - 1])?;
        Some(Cursor { created, prefix })
    } else {
        None
    };
    let mut page = Page::from_overfetch(keys, usize::MAX).with_undecodable(undecodable);
    page.next = next;
    Ok(page)
}

/// Django's table: read pages in order and keep what `ListQuery` matches. Lower-casing in
/// SQL would depend on the database's locale; this gives exactly the core's answers.
async fn scan(
    pool: &PgPool,
    layout: &Layout,
    query: &ListQuery,
    limit: usize,
) -> Result<Page, StoreError> {
    let mut matching: Vec<ApiKey> = Vec::new();
    let mut undecodable = Vec::new();
    let mut position = query.cursor().cloned();
    loop {
        let rows = fetch(pool, layout, query, position.as_ref(), None, SCAN_BATCH).await?;
        let full = rows.len() == SCAN_BATCH;
        for row in &rows {
            let (prefix, created) = row::position(row)?;
            position = Some(Cursor { created, prefix });
            match row::decode(row, layout.mode) {
                Ok(key) if query.filter().matches(&KeyFields::from(&key)) => {
                    matching.push(key);
                    if matching.len() > limit {
                        return Ok(
                            Page::from_overfetch(matching, limit).with_undecodable(undecodable)
                        );
                    }
                }
                Ok(_) => {}
                // Whether it matches the search cannot be told: report it.
                Err(StoreError::Corrupt { prefix, .. }) => undecodable.push(prefix),
                Err(other) => return Err(other),
            }
        }
        if !full {
            return Ok(Page::from_overfetch(matching, limit).with_undecodable(undecodable));
        }
    }
}

struct Patterns {
    prefix: String,
    name: String,
}

async fn fetch(
    pool: &PgPool,
    layout: &Layout,
    query: &ListQuery,
    after: Option<&Cursor>,
    search: Option<&Patterns>,
    limit: usize,
) -> Result<Vec<PgRow>, StoreError> {
    let filter = query.filter();
    let now = filter.now();
    // `COLLATE "C"` orders prefixes by bytes, as Rust's `str` does; Django's column has the
    // database's collation, which may not.
    let mut sql = QueryBuilder::<Postgres>::new(&layout.select);
    sql.push(" WHERE TRUE");
    if let Some(cursor) = after {
        sql.push(" AND (created, prefix COLLATE \"C\") < (")
            .push_bind(cursor.created)
            .push(", ")
            .push_bind(cursor.prefix.clone())
            .push(")");
    }
    if let Some(owner) = filter.owner() {
        // Own table only (Django's has no owners: answered before).
        sql.push(" AND owner = ").push_bind(owner.to_owned());
    }
    let expires = layout.expires;
    // Django's table has no `disabled`: no key there is.
    let not_disabled = match layout.mode {
        Mode::Own => " AND NOT disabled",
        Mode::Django => "",
    };
    match filter.status() {
        StatusFilter::Active => {
            sql.push(format_args!(
                " AND NOT revoked{not_disabled} AND ({expires} IS NULL OR {expires} >= "
            ))
            .push_bind(now)
            .push(")");
        }
        StatusFilter::Revoked => {
            sql.push(" AND revoked");
        }
        StatusFilter::Expired => {
            sql.push(format_args!(" AND {expires} < ")).push_bind(now);
        }
        StatusFilter::Disabled => match layout.mode {
            Mode::Own => {
                sql.push(" AND disabled");
            }
            Mode::Django => {
                sql.push(" AND FALSE");
            }
        },
        StatusFilter::ExpiringWithin(_) => {
            let before = filter.expiring_before().unwrap_or(now);
            sql.push(format_args!(" AND NOT revoked AND {expires} >= "))
                .push_bind(now)
                .push(format_args!(" AND {expires} <= "))
                .push_bind(before);
        }
        // `All`, and any filter added later: answered by the core in `page`.
        _ => {}
    }
    if let Some(search) = search {
        sql.push(" AND (prefix COLLATE \"C\" LIKE ")
            .push_bind(search.prefix.clone())
            .push(" ESCAPE '\\' OR name_folded LIKE ")
            .push_bind(search.name.clone())
            .push(" ESCAPE '\\')");
    }
    sql.push(" ORDER BY created DESC, prefix COLLATE \"C\" DESC LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.build().fetch_all(pool).await.map_err(store_error)
}

/// `text` matched literally by `LIKE … ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("plain ключ"), "plain ключ");
    }
}
