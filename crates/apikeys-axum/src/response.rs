//! Turning a refused verification into an HTTP response.

use std::fmt;
use std::sync::Arc;

use apikeys::{DenialResponse, VerifyError};
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The standard response for `error` (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with `WWW-Authenticate: Api-Key`, 403 or 503, with a small generic JSON body. Custom handlers may start from it.
pub fn denial_response(error: &VerifyError) -> Response {
    let denial = error.response();
    let status = standard_status(error);
    let mut response = (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static(DenialResponse::CONTENT_TYPE),
        )],
        denial.body,
    )
        .into_response();
    if let Some(challenge) = denial.www_authenticate {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    // 429: Retry-After and the RateLimit headers.
    for (name, value) in error.response_headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The status of [`denial_response`] for `error`.
pub(crate) fn standard_status(error: &VerifyError) -> StatusCode {
    StatusCode::from_u16(error.response().status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// The application's own answer to refused requests, replacing [`denial_response`].
///
/// Give it to [`ApiKeyLayer::on_denial`](crate::ApiKeyLayer::on_denial), or to the
/// [`Verified`](crate::Verified) extractor as a request extension:
///
/// ```
/// use axum::{Extension, Router, http::StatusCode, response::IntoResponse, routing::get};
/// use apikeys_axum::{OnDenial, Verified};
///
/// let on_denial = OnDenial::new(|error| {
///     let status = StatusCode::from_u16(error.response().status).unwrap();
///     (status, "no entry").into_response()
/// });
/// let app: Router<apikeys::ApiKeys> = Router::new()
///     .route("/ping", get(|key: Verified| async move { key.name().to_owned() }))
///     .layer(Extension(on_denial));
/// ```
#[derive(Clone)]
pub struct OnDenial(Arc<dyn Fn(&VerifyError) -> Response + Send + Sync>);

impl OnDenial {
    /// Answers refusals with `respond`. It sees the reason (for choosing a status), but
    /// should not tell it to the client.
    pub fn new(respond: impl Fn(&VerifyError) -> Response + Send + Sync + 'static) -> Self {
        Self(Arc::new(respond))
    }

    /// The response for `error`.
    pub fn respond(&self, error: &VerifyError) -> Response {
        (self.0)(error)
    }
}

impl fmt::Debug for OnDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnDenial(..)")
    }
}

/// The custom handler when there is one, else the standard response.
pub(crate) fn respond(on_denial: Option<&OnDenial>, error: &VerifyError) -> Response {
    match on_denial {
        Some(custom) => custom.respond(error),
        None => denial_response(error),
    }
}
