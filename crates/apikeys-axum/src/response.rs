//! Turning a refused verification into an HTTP response.

use std::fmt;
use std::sync::Arc;

use apikeys::{DenialResponse, DeniedRequest, VerifyError};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// The standard response for a refused request (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with the configured sources' `WWW-Authenticate` challenge (`Bearer` for a Bearer
/// source, `Api-Key` by default), 403, 429 or 503, with a small generic JSON body. What
/// the layer and extractors send; custom hooks may start from it.
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
    let mut response = Response::new(Body::from(denial.body));
    *response.status_mut() = standard_status(error);
    // Content-Type, the challenge with 401, Retry-After and the RateLimit headers with 429.
    for (name, value) in error.standard_headers(challenge) {
        // Names such as `RateLimit-Policy` are not lower case: `from_static` would panic.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The status of [`denial_response`] for `error`.
pub(crate) fn standard_status(error: &VerifyError) -> StatusCode {
    StatusCode::from_u16(error.response().status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// The application's own answer to refused requests, replacing [`denied_response`].
///
/// Give it to [`ApiKeyLayer::on_denial`](crate::ApiKeyLayer::on_denial) /
/// [`on_denied`](crate::ApiKeyLayer::on_denied), or to the [`Verified`](crate::Verified)
/// extractor as a request extension:
///
/// ```
/// use axum::{Extension, Router, http::StatusCode, response::IntoResponse, routing::get};
/// use apikeys_axum::{OnDenial, Verified};
///
/// let on_denial = OnDenial::new(|error| {
///     let status = StatusCode::from_u16(error.response().status).unwrap();
///     (status, "no entry").into_response()
/// });
/// // Or with the request's method, path and key prefix, e.g. to log refusals:
/// let logged = OnDenial::with_request(|denied| {
///     eprintln!("{} {} refused ({:?})", denied.method(), denied.path(), denied.prefix());
///     apikeys_axum::denied_response(denied)
/// });
/// let app: Router<apikeys::ApiKeys> = Router::new()
///     .route("/ping", get(|key: Verified| async move { key.name().to_owned() }))
///     .layer(Extension(on_denial));
/// ```
#[derive(Clone)]
pub struct OnDenial(Arc<dyn Fn(&DeniedRequest) -> Response + Send + Sync>);

impl OnDenial {
    /// Answers refusals with `respond`. It sees the reason (for choosing a status), but
    /// should not tell it to the client.
    pub fn new(respond: impl Fn(&VerifyError) -> Response + Send + Sync + 'static) -> Self {
        Self(Arc::new(move |denied: &DeniedRequest| {
            respond(denied.error())
        }))
    }

    /// Answers refusals with `respond`, which also sees the request's method, path and
    /// presented key prefix ([`DeniedRequest`]), never the secret.
    pub fn with_request(
        respond: impl Fn(&DeniedRequest) -> Response + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(respond))
    }

    /// The response for `denied`.
    pub fn respond(&self, denied: &DeniedRequest) -> Response {
        (self.0)(denied)
    }
}

impl fmt::Debug for OnDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnDenial(..)")
    }
}

/// The custom handler when there is one, else the standard response.
pub(crate) fn respond(on_denial: Option<&OnDenial>, denied: &DeniedRequest) -> Response {
    match on_denial {
        Some(custom) => custom.respond(denied),
        None => denied_response(denied),
    }
}
