//! Middleware protecting every route of an app, scope or resource.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};

use apikeys::{Denial, Presence, VerifiedKey};

use crate::config::ApiKeyConfig;
use crate::headers::{Headers, query};

/// Marks a request that a [`ApiKeyMiddleware`] let through, with the configuration that
/// answers for it (extractors behind the middleware use its denial response).
#[derive(Clone)]
pub(crate) struct Guarded(pub(crate) ApiKeyConfig);

/// Middleware that refuses requests without a valid key (holding the required scopes)
/// before they reach any handler. Granted requests carry the
/// [`VerifiedKey`](apikeys::VerifiedKey) in their extensions: read it with
/// `web::ReqData<VerifiedKey>` or [`Verified`](crate::Verified).
///
/// ```
/// use actix_web::{App, web};
/// use apikeys::VerifiedKey;
/// use apikeys_actix::{ApiKeyConfig, ApiKeyMiddleware};
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let app = App::new().service(
///     web::scope("/admin")
///         .wrap(ApiKeyMiddleware::new(keys).scopes(["admin"]))
///         .route("/stats", web::get().to(|key: web::ReqData<VerifiedKey>| async move {
///             format!("stats for {}", key.name())
///         })),
/// );
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyMiddleware {
    config: ApiKeyConfig,
    scopes: Arc<[String]>,
}

impl ApiKeyMiddleware {
    /// Requires a valid key, verified with `config` (an [`ApiKeyConfig`] or an
    /// [`ApiKeys`](apikeys::ApiKeys)).
    pub fn new(config: impl Into<ApiKeyConfig>) -> Self {
        Self {
            config: config.into(),
            scopes: Arc::new([]),
        }
    }

    /// Also requires every one of `scopes`.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl<Inner, B> Transform<Inner, ServiceRequest> for ApiKeyMiddleware
where
    Inner: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ApiKeyMiddlewareService<Inner>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Inner) -> Self::Future {
        ready(Ok(ApiKeyMiddlewareService {
            service: Rc::new(service),
            guard: self.clone(),
        }))
    }
}

/// The service [`ApiKeyMiddleware`] wraps around `Inner`.
#[derive(Debug)]
pub struct ApiKeyMiddlewareService<Inner> {
    service: Rc<Inner>,
    guard: ApiKeyMiddleware,
}

impl<Inner, B> Service<ServiceRequest> for ApiKeyMiddlewareService<Inner>
where
    Inner: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let guard = self.guard.clone();
        Box::pin(async move {
            let scopes: Vec<&str> = guard.scopes.iter().map(String::as_str).collect();
            // A key an outer middleware verified is reused (checked for these scopes).
            let earlier = request.extensions().get::<VerifiedKey>().cloned();
            let verified = guard
                .config
                .keys
                .authenticate_request(
                    earlier.as_ref(),
                    &Headers(request.headers()),
                    query(request.query_string()),
                    &scopes,
                    Presence::Required,
                )
                .await
                .and_then(|key| key.ok_or_else(|| Denial::Missing.into()));
            match verified {
                Ok(key) => {
                    // The key's remaining allowance (RateLimit headers), unless turned off.
                    let grant = guard.config.keys.grant_headers(&key);
                    request.extensions_mut().insert(key);
                    request.extensions_mut().insert(Guarded(guard.config));
                    let mut response = service.call(request).await?;
                    let headers = response.headers_mut();
                    for (name, value) in grant {
                        use actix_web::http::header::{HeaderName, HeaderValue};
                        if let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(name.as_bytes()),
                            HeaderValue::from_str(&value),
                        ) && !headers.contains_key(&name)
                        {
                            headers.insert(name, value);
                        }
                    }
                    Ok(response.map_into_left_body())
                }
                Err(error) => {
                    let rejection = guard.config.error(error, request.head(), earlier.as_ref());
                    let response = actix_web::ResponseError::error_response(&rejection);
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

/// The former name of [`ApiKeyMiddleware`].
#[deprecated(
    since = "0.1.0",
    note = "renamed ApiKeyMiddleware, like apikeys-axum's ApiKeyLayer"
)]
pub type RequireApiKey = ApiKeyMiddleware;
