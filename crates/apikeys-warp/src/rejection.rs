//! Turning refusals into responses.

use std::future::{Ready, ready};
use std::sync::Arc;

use apikeys::{DenialResponse, VerifyError};
use warp::Rejection;
use warp::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

/// Why a filter refused a request. Use [`recover`] (or [`recover_with`]) to answer it;
/// warp on its own would answer a custom rejection with 500.
#[derive(Debug)]
pub struct ApiKeyRejection {
    error: VerifyError,
}

impl ApiKeyRejection {
    /// The verification outcome.
    pub fn error(&self) -> &VerifyError {
        &self.error
    }

    pub(crate) fn reject(error: VerifyError) -> Rejection {
        warp::reject::custom(Self { error })
    }
}

impl warp::reject::Reject for ApiKeyRejection {}

/// The standard response for `error` (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with `WWW-Authenticate: Api-Key`, 403 or 503, with a small generic JSON body. Custom handlers may start from it.
pub fn denial_response(error: &VerifyError) -> Response {
    let denial = error.response();
    let mut response = Response::new(denial.body.into());
    *response.status_mut() =
        StatusCode::from_u16(denial.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(DenialResponse::CONTENT_TYPE),
    );
    if let Some(challenge) = denial.www_authenticate {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    // 429: Retry-After and the RateLimit headers.
    for (name, value) in error.response_headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// Answers an [`ApiKeyRejection`] with [`denial_response`]; passes any other rejection on.
/// Use with `Filter::recover`.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<ApiKeyRejection>() {
        Some(refused) => Ok(denial_response(&refused.error)),
        None => Err(rejection),
    }
}

/// Like [`recover`], answering with the application's own `respond` instead. It sees the
/// reason (for choosing a status), but should not tell it to the client.
///
/// ```
/// use warp::Filter;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let ping = warp::path!("ping")
///     .and(apikeys_warp::verified(keys))
///     .map(|key: apikeys::VerifiedKey| key.name().to_owned())
///     .recover(apikeys_warp::recover_with(|error| {
///         let status = apikeys_warp::denial_response(error).status();
///         warp::http::Response::builder().status(status).body("no entry".into()).unwrap()
///     }));
/// ```
pub fn recover_with<F>(
    respond: F,
) -> impl Fn(Rejection) -> Ready<Result<Response, Rejection>> + Clone + Send + Sync + 'static
where
    F: Fn(&VerifyError) -> Response + Send + Sync + 'static,
{
    let respond = Arc::new(respond);
    move |rejection: Rejection| {
        ready(match rejection.find::<ApiKeyRejection>() {
            Some(refused) => Ok(respond(&refused.error)),
            None => Err(rejection),
        })
    }
}
