//! Turning refusals into responses.

use std::future::{Ready, ready};
use std::sync::Arc;

use apikeys::{DenialResponse, DeniedRequest, VerifyError};
use warp::Rejection;
use warp::http::{HeaderName, HeaderValue, StatusCode};
use warp::reply::Response;

/// Why a filter refused a request. Use [`recover`] (or [`recover_with`],
/// [`recover_denied`]) to answer it; warp on its own would answer a custom rejection with
/// 500.
#[derive(Debug)]
pub struct ApiKeyRejection {
    denied: DeniedRequest,
}

impl ApiKeyRejection {
    /// The verification outcome.
    pub fn error(&self) -> &VerifyError {
        self.denied.error()
    }

    /// The refused request: method, path, presented prefix and outcome.
    pub fn request(&self) -> &DeniedRequest {
        &self.denied
    }

    pub(crate) fn reject(denied: DeniedRequest) -> Rejection {
        warp::reject::custom(Self { denied })
    }
}

impl warp::reject::Reject for ApiKeyRejection {}

/// The standard response for a refused request (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with the configured sources' `WWW-Authenticate` challenge (`Bearer` for a Bearer
/// source, `Api-Key` by default), 403, 429 or 503, with a small generic JSON body. What
/// [`recover`] sends; custom hooks may start from it.
pub fn denied_response(denied: &DeniedRequest) -> Response {
    build(denied.error(), denied.challenge())
}

/// [`denied_response`] for an error alone: its 401 challenges with the default sources'
/// `Api-Key`, since the error does not know the configured ones.
pub fn denial_response(error: &VerifyError) -> Response {
    build(
        error,
        DenialResponse::UNAUTHORIZED
            .www_authenticate
            .unwrap_or("Api-Key"),
    )
}

fn build(error: &VerifyError, challenge: &str) -> Response {
    let denial = error.response();
    let mut response = Response::new(denial.body.into());
    *response.status_mut() =
        StatusCode::from_u16(denial.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let headers = response.headers_mut();
    // Content-Type, the challenge with 401, Retry-After and the RateLimit headers with 429.
    for (name, value) in error.standard_headers(challenge) {
        // Names such as `RateLimit-Policy` are not lower case: `from_static` would panic.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// Answers an [`ApiKeyRejection`] with [`denied_response`]; passes any other rejection on.
/// Use with `Filter::recover`.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<ApiKeyRejection>() {
        Some(refused) => Ok(denied_response(&refused.denied)),
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
    recover_denied(move |denied: &DeniedRequest| respond(denied.error()))
}

/// Like [`recover_with`], with a hook that also sees the request's method, path and
/// presented key prefix ([`DeniedRequest`]), never the secret: e.g. to log or count
/// refusals.
///
/// ```
/// use warp::Filter;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let ping = warp::path!("ping")
///     .and(apikeys_warp::verified(keys))
///     .map(|key: apikeys::VerifiedKey| key.name().to_owned())
///     .recover(apikeys_warp::recover_denied(|denied| {
///         eprintln!("{} {} refused ({:?})", denied.method(), denied.path(), denied.prefix());
///         apikeys_warp::denied_response(denied)
///     }));
/// ```
pub fn recover_denied<F>(
    respond: F,
) -> impl Fn(Rejection) -> Ready<Result<Response, Rejection>> + Clone + Send + Sync + 'static
where
    F: Fn(&DeniedRequest) -> Response + Send + Sync + 'static,
{
    let respond = Arc::new(respond);
    move |rejection: Rejection| {
        ready(match rejection.find::<ApiKeyRejection>() {
            Some(refused) => Ok(respond(&refused.denied)),
            None => Err(rejection),
        })
    }
}
