//! Filters that verify the request's key.

use std::sync::Arc;

use apikeys::{ApiKeys, VerifiedKey};
use warp::http::HeaderMap;
use warp::{Filter, Rejection};

use crate::rejection::ApiKeyRejection;

/// Requires a valid key and extracts it; refuses with an [`ApiKeyRejection`] otherwise
/// (turn it into the response with [`recover`](crate::recover)). The key sources are the
/// ones configured on `keys`.
///
/// ```
/// use warp::Filter;
/// use apikeys::VerifiedKey;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let ping = warp::path!("ping")
///     .and(apikeys_warp::verified(keys))
///     .map(|key: VerifiedKey| format!("hello, {}", key.name()))
///     .recover(apikeys_warp::recover);
/// ```
pub fn verified(
    keys: ApiKeys,
) -> impl Filter<Extract = (VerifiedKey,), Error = Rejection> + Clone + Send + Sync + 'static {
    verified_with_scopes(keys, std::iter::empty::<String>())
}

/// Like [`verified`], and the key must also hold every one of `scopes` (else 403).
///
/// ```
/// use warp::Filter;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let heroes = warp::path!("heroes")
///     .and(apikeys_warp::verified_with_scopes(keys, ["heroes:read"]))
///     .map(|_| r#"["Batman"]"#)
///     .recover(apikeys_warp::recover);
/// ```
pub fn verified_with_scopes<I, S>(
    keys: ApiKeys,
    scopes: I,
) -> impl Filter<Extract = (VerifiedKey,), Error = Rejection> + Clone + Send + Sync + 'static
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let scopes: Arc<[String]> = scopes.into_iter().map(Into::into).collect();
    request_parts().and_then(move |headers: HeaderMap, query: Option<String>| {
        let keys = keys.clone();
        let scopes = Arc::clone(&scopes);
        async move {
            keys.authenticate(&headers, query.as_deref(), &scopes)
                .await
                .map_err(ApiKeyRejection::reject)
        }
    })
}

/// For routes where a key is optional: extracts `None` when the request has no key; a key
/// that is present must be valid, or the request is refused.
///
/// ```
/// use warp::Filter;
/// use apikeys::VerifiedKey;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let greet = warp::path!("greet")
///     .and(apikeys_warp::optional(keys))
///     .map(|key: Option<VerifiedKey>| match key {
///         Some(key) => format!("hello, {}", key.name()),
///         None => "hello, stranger".to_owned(),
///     })
///     .recover(apikeys_warp::recover);
/// ```
pub fn optional(
    keys: ApiKeys,
) -> impl Filter<Extract = (Option<VerifiedKey>,), Error = Rejection> + Clone + Send + Sync + 'static
{
    request_parts().and_then(move |headers: HeaderMap, query: Option<String>| {
        let keys = keys.clone();
        async move {
            keys.authenticate_optional::<_, &str>(&headers, query.as_deref(), &[])
                .await
                .map_err(ApiKeyRejection::reject)
        }
    })
}

/// The headers and the raw query string (`None` when the URI has none).
fn request_parts()
-> impl Filter<Extract = (HeaderMap, Option<String>), Error = std::convert::Infallible> + Copy {
    let query = warp::query::raw()
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::header::headers_cloned().and(query)
}
