//! Listing: keyset paging on (created, prefix) descending, status filters and search, with
//! the same answers as `ListQuery::matches`.

use apikeys::{ApiKey, Cursor, ListQuery, Page, StatusFilter, StoreError};
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
    let folded = query.search_folded();
    let Some(folded) = folded else {
        let keys = fetch(pool, layout, query, query.after.as_ref(), None, limit + 1).await?;
        return Ok(Page::from_overfetch(keys, limit));
    };
    let raw = query.search.as_deref().unwrap_or_default();
    // PostgreSQL text cannot hold NUL, so no stored key matches such a search (and the
    // database would refuse the parameter).
    if raw.contains('\0') {
        return Ok(Page::default());
    }
    match layout.mode {
        Mode::Own => {
            let search = Search {
                prefix_pattern: format!("{}%", escape_like(raw)),
                name_pattern: format!("%{}%", escape_like(&folded)),
            };
            let keys = fetch(
                pool,
                layout,
                query,
                query.after.as_ref(),
                Some(&search),
                limit + 1,
            )
            .await?;
            Ok(Page::from_overfetch(keys, limit))
        }
        Mode::Django => scan(pool, layout, query, &folded, limit).await,
    }
}

/// Django's table: read pages in order and keep what `ListQuery` matches. Lower-casing in
/// SQL would depend on the database's locale; this gives exactly the core's answers.
async fn scan(
    pool: &PgPool,
    layout: &Layout,
    query: &ListQuery,
    folded: &str,
    limit: usize,
) -> Result<Page, StoreError> {
    let mut matching = Vec::new();
    let mut position = query.after.clone();
    loop {
        let batch = fetch(pool, layout, query, position.as_ref(), None, SCAN_BATCH).await?;
        let full = batch.len() == SCAN_BATCH;
        position = batch.last().map(Cursor::after);
        for key in batch {
            if query.matches_search(Some(folded), &key) {
                matching.push(key);
                if matching.len() > limit {
                    return Ok(Page::from_overfetch(matching, limit));
                }
            }
        }
        if !full {
            return Ok(Page::from_overfetch(matching, limit));
        }
    }
}

struct Search {
    prefix_pattern: String,
    name_pattern: String,
}

async fn fetch(
    pool: &PgPool,
    layout: &Layout,
    query: &ListQuery,
    after: Option<&Cursor>,
    search: Option<&Search>,
    limit: usize,
) -> Result<Vec<ApiKey>, StoreError> {
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
    let expires = layout.expires;
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Active => {
            sql.push(format_args!(
                " AND NOT revoked AND ({expires} IS NULL OR {expires} >= "
            ))
            .push_bind(query.now)
            .push(")");
        }
        StatusFilter::Revoked => {
            sql.push(" AND revoked");
        }
        StatusFilter::Expired => {
            sql.push(format_args!(" AND {expires} < "))
                .push_bind(query.now);
        }
        other => {
            return Err(StoreError::Unsupported(format!("status filter {other:?}")));
        }
    }
    if let Some(search) = search {
        sql.push(" AND (prefix COLLATE \"C\" LIKE ")
            .push_bind(search.prefix_pattern.clone())
            .push(" ESCAPE '\\' OR name_folded LIKE ")
            .push_bind(search.name_pattern.clone())
            .push(" ESCAPE '\\')");
    }
    sql.push(" ORDER BY created DESC, prefix COLLATE \"C\" DESC LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = sql.build().fetch_all(pool).await.map_err(store_error)?;
    rows.iter().map(|r| row::decode(r, layout.mode)).collect()
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
