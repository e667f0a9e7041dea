//! The manager and the denial response, registered as app data.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use apikeys::{ApiKeys, DenialResponse, VerifyError};

type Respond = dyn Fn(&VerifyError) -> HttpResponse + Send + Sync;

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
    /// Verifies with `keys`; refusals get [`denial_response`].
    pub fn new(keys: ApiKeys) -> Self {
        Self {
            keys,
            on_denial: None,
        }
    }

    /// Answers refusals with `respond` instead of [`denial_response`]. It sees the reason
    /// (for choosing a status), but should not tell it to the client.
    #[must_use]
    pub fn on_denial(
        mut self,
        respond: impl Fn(&VerifyError) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.on_denial = Some(Arc::new(respond));
        self
    }

    /// The manager.
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    pub(crate) fn error(&self, error: VerifyError) -> ApiKeyRejection {
        ApiKeyRejection {
            error,
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

/// The standard response for `error` (the mapping of
/// [docs/architecture.md](https://github.com/apikeys-rs/apikeys/blob/main/docs/architecture.md#from-a-header-to-a-grant)):
/// 401 with `WWW-Authenticate: Api-Key`, 403 or 503, with a small generic JSON body. Custom handlers may start from it.
pub fn denial_response(error: &VerifyError) -> HttpResponse {
    let denial = error.response();
    let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE, DenialResponse::CONTENT_TYPE));
    if let Some(challenge) = denial.www_authenticate {
        response.insert_header((WWW_AUTHENTICATE, challenge));
    }
    // 429: Retry-After and the RateLimit headers.
    for header in error.response_headers() {
        response.insert_header(header);
    }
    response.body(denial.body)
}

/// A refused request, as an actix-web error whose response is the configured one. The
/// same name as the rejections of apikeys-axum and apikeys-warp.
pub struct ApiKeyRejection {
    error: VerifyError,
    on_denial: Option<Arc<Respond>>,
}

impl ApiKeyRejection {
    /// The verification outcome.
    pub fn error(&self) -> &VerifyError {
        &self.error
    }
}

impl fmt::Debug for ApiKeyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiKeyRejection").field(&self.error).finish()
    }
}

impl fmt::Display for ApiKeyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl ResponseError for ApiKeyRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.response().status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.on_denial {
            Some(respond) => respond(&self.error),
            None => denial_response(&self.error),
        }
    }
}

/// The former name of [`ApiKeyRejection`].
#[deprecated(
    since = "0.1.0",
    note = "renamed ApiKeyRejection, as in apikeys-axum and apikeys-warp"
)]
pub type ApiKeyError = ApiKeyRejection;
