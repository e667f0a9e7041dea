//! The manager and the denial response, registered as app data.

use std::fmt;
use std::sync::Arc;

use actix_web::dev::RequestHead;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use apikeys::{ApiKeys, DenialResponse, DeniedRequest, VerifiedKey, VerifyError};

use crate::headers::{Headers, query};

type Respond = dyn Fn(&DeniedRequest) -> HttpResponse + Send + Sync;

/// What the extractors need: the [`ApiKeys`] manager (with its key sources) and, optionally,
/// the application's own denial response. Register it with `App::app_data(config)`, or
/// wrapped in `web::Data` as actix-web's guide does with shared state; a bare [`ApiKeys`]
/// (plain or in `web::Data`) works too.
///
/// ```
/// use actix_web::{App, HttpResponse};
/// use apikeys_actix::ApiKeyConfig;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let config = ApiKeyConfig::new(keys)
///     .on_denial(|error| HttpResponse::build(apikeys_actix::denial_response(error).status())
///         .body("no entry"));
/// let app = App::new().app_data(config);
/// ```
#[derive(Clone)]
pub struct ApiKeyConfig {
    pub(crate) keys: ApiKeys,
    on_denial: Option<Arc<Respond>>,
}

impl ApiKeyConfig {
    /// Verifies with `keys`; refusals get [`denied_response`].
    pub fn new(keys: ApiKeys) -> Self {
        Self {
            keys,
            on_denial: None,
        }
    }

    /// Answers refusals with `respond` instead of [`denied_response`]. It sees the reason
    /// (for choosing a status), but should not tell it to the client.
    #[must_use]
    pub fn on_denial(
        mut self,
        respond: impl Fn(&VerifyError) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.on_denial = Some(Arc::new(move |denied: &DeniedRequest| {
            respond(denied.error())
        }));
        self
    }

    /// Like [`on_denial`](Self::on_denial), with a hook that also sees the request's
    /// method, path and presented key prefix ([`DeniedRequest`]), e.g. to log or count
    /// refusals; [`denied_response`] is the standard answer.
    #[must_use]
    pub fn on_denied(
        mut self,
        respond: impl Fn(&DeniedRequest) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.on_denial = Some(Arc::new(respond));
        self
    }

    /// The manager.
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    /// The rejection for `request`, refused with `error`; `earlier` is the key a
    /// middleware in front verified.
    pub(crate) fn error(
        &self,
        error: VerifyError,
        request: &RequestHead,
        earlier: Option<&VerifiedKey>,
    ) -> ApiKeyRejection {
        let denied = self.keys.denied_request(
            error,
            request.method.as_str(),
            request.uri.path(),
            earlier,
            &Headers(&request.headers),
            query(request.uri.query().unwrap_or_default()),
        );
        ApiKeyRejection {
            denied,
            on_denial: self.on_denial.clone(),
        }
    }
}

impl From<ApiKeys> for ApiKeyConfig {
    fn from(keys: ApiKeys) -> Self {
        Self::new(keys)
    }
}

impl fmt::Debug for ApiKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyConfig")
            .field("keys", &self.keys)
            .field("on_denial", &self.on_denial.is_some())
            .finish()
    }
}

/// The standard response for a refused request (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with the configured sources' `WWW-Authenticate` challenge (`Bearer` for a Bearer
/// source, `Api-Key` by default), 403, 429 or 503, with a small generic JSON body. What
/// the extractors and middleware send; custom hooks may start from it.
pub fn denied_response(denied: &DeniedRequest) -> HttpResponse {
    build(denied.error(), denied.challenge())
}

/// [`denied_response`] for an error alone: its 401 challenges with the default sources'
/// `Api-Key`, since the error does not know the configured ones.
pub fn denial_response(error: &VerifyError) -> HttpResponse {
    build(
        error,
        DenialResponse::UNAUTHORIZED
            .www_authenticate
            .unwrap_or("Api-Key"),
    )
}

fn build(error: &VerifyError, challenge: &str) -> HttpResponse {
    let denial = error.response();
    let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    // Content-Type, the challenge with 401, Retry-After and the RateLimit headers with 429.
    for header in error.standard_headers(challenge) {
        response.insert_header(header);
    }
    response.body(denial.body)
}

/// A refused request, as an actix-web error whose response is the configured one. The
/// same name as the rejections of apikeys-axum and apikeys-warp.
pub struct ApiKeyRejection {
    denied: DeniedRequest,
    on_denial: Option<Arc<Respond>>,
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
}

impl fmt::Debug for ApiKeyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiKeyRejection")
            .field(&self.denied)
            .finish()
    }
}

impl fmt::Display for ApiKeyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.denied.error(), f)
    }
}

impl ResponseError for ApiKeyRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.denied.error().response().status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.on_denial {
            Some(respond) => respond(&self.denied),
            None => denied_response(&self.denied),
        }
    }
}

/// The former name of [`ApiKeyRejection`].
#[deprecated(
    since = "0.1.0",
    note = "renamed ApiKeyRejection, as in apikeys-axum and apikeys-warp"
)]
pub type ApiKeyError = ApiKeyRejection;
