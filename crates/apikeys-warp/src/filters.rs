//! Filters that verify the request's key.

use std::sync::Arc;

use apikeys::{
    ApiKeys, Denial, KeySourceKind, NoScopes, Presence, Scopes, VerifiedKey, VerifyError,
};
use warp::http::{HeaderMap, Method};
use warp::path::FullPath;
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
    verified_for::<NoScopes>(keys)
}

/// Like [`verified`], and the key must also hold the [`Scopes`] of `S` (else 403): the
/// typed form, as `Verified<S>` in apikeys-axum and apikeys-actix.
///
/// ```
/// use warp::Filter;
///
/// apikeys_warp::scopes!(HeroesRead = ["heroes:read"]);
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let heroes = warp::path!("heroes")
///     .and(apikeys_warp::verified_for::<HeroesRead>(keys))
///     .map(|_| r#"["Batman"]"#)
///     .recover(apikeys_warp::recover);
/// ```
pub fn verified_for<S: Scopes>(
    keys: ApiKeys,
) -> impl Filter<Extract = (VerifiedKey,), Error = Rejection> + Clone + Send + Sync + 'static {
    verified_with_scopes(keys, S::SCOPES.iter().copied())
}

/// Like [`verified`], and the key must also hold every one of `scopes` (else 403): for
/// scopes known only at run time.
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
    authenticate(
        keys,
        scopes.into_iter().map(Into::into).collect(),
        Presence::Required,
        |key| key.ok_or(Denial::Missing),
    )
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
    optional_for::<NoScopes>(keys)
}

/// Like [`optional`], and a key that is present must hold the [`Scopes`] of `S`.
pub fn optional_for<S: Scopes>(
    keys: ApiKeys,
) -> impl Filter<Extract = (Option<VerifiedKey>,), Error = Rejection> + Clone + Send + Sync + 'static
{
    authenticate(
        keys,
        S::SCOPES.iter().map(|&s| s.to_owned()).collect(),
        Presence::Optional,
        Ok,
    )
}

/// The core's one rule for adapters: the key a layer in front verified (a tower
/// `ApiKeyLayer` puts it in the request's extensions), else the request's key. `finish`
/// turns the outcome into what the filter extracts, or refuses it.
fn authenticate<T: Send + 'static>(
    keys: ApiKeys,
    scopes: Arc<[String]>,
    presence: Presence,
    finish: fn(Option<VerifiedKey>) -> Result<T, Denial>,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone + Send + Sync + 'static {
    request_parts(&keys).and_then(
        move |earlier: Option<VerifiedKey>,
              method: Method,
              path: FullPath,
              headers: HeaderMap,
              query: Option<String>| {
            let keys = keys.clone();
            let scopes = Arc::clone(&scopes);
            async move {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let outcome = keys
                    .authenticate_request(
                        earlier.as_ref(),
                        &headers,
                        query.as_deref(),
                        &scopes,
                        presence,
                    )
                    .await
                    .and_then(|key| finish(key).map_err(VerifyError::from));
                outcome.map_err(|error| {
                    ApiKeyRejection::reject(keys.denied_request(
                        error,
                        method.as_str(),
                        path.as_str(),
                        earlier.as_ref(),
                        &headers,
                        query.as_deref(),
                    ))
                })
            }
        },
    )
}

/// A key verified earlier, the method and path (for the denial hook), the headers and the
/// raw query string (`None` when the URI has none, or when no key source reads the query).
///
/// The headers are a copy: warp's filters offer no borrowed access to the request, and its
/// per-name header filters yield only the first value, which would lose the refusal of a
/// key header sent twice.
fn request_parts(
    keys: &ApiKeys,
) -> impl Filter<
    Extract = (
        Option<VerifiedKey>,
        Method,
        FullPath,
        HeaderMap,
        Option<String>,
    ),
    Error = std::convert::Infallible,
> + Clone
+ use<> {
    let reads_query = keys
        .extractor()
        .sources()
        .iter()
        .any(|source| matches!(source.kind(), KeySourceKind::Query { .. }));
    // `warp::query::raw()` refuses a URI without a query with a boxed rejection, and copies
    // the query when there is one: per request, for nothing, unless a source reads it. The
    // plain `reject()` that hands over to it is not boxed.
    let no_query = warp::any().and_then(move || {
        std::future::ready(if reads_query {
            Err(warp::reject())
        } else {
            Ok(None)
        })
    });
    let query = no_query
        .or(warp::query::raw().map(Some))
        .unify()
        .or(warp::any().map(|| None))
        .unify();
    warp::ext::optional::<VerifiedKey>()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(query)
}
