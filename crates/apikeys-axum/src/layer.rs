//! A tower layer that protects every request to the service it wraps.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikeys::{ApiKeys, Denial, DeniedRequest, Presence, VerifiedKey, VerifyError};
use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::response::{OnDenial, respond};

/// Protects a whole router — or any tower service, e.g. a tonic gRPC server: requests
/// without a valid key (holding the required scopes) are refused before reaching it.
/// Granted requests carry the [`VerifiedKey`](apikeys::VerifiedKey) in their extensions, for
/// handlers (`Extension<VerifiedKey>` or [`Verified`](crate::Verified)) and later middleware.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use apikeys::VerifiedKey;
/// use apikeys_axum::ApiKeyLayer;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let admin: Router = Router::new()
///     .route("/stats", get(|Extension(key): Extension<VerifiedKey>| async move {
///         format!("stats for {}", key.name())
///     }))
///     .layer(ApiKeyLayer::new(keys).scopes(["admin"]));
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyLayer {
    keys: ApiKeys,
    scopes: Arc<[String]>,
    on_denial: Option<OnDenial>,
}

impl ApiKeyLayer {
    /// Requires a valid key, verified by `keys` (with its configured key sources).
    pub fn new(keys: ApiKeys) -> Self {
        Self {
            keys,
            scopes: Arc::new([]),
            on_denial: None,
        }
    }

    /// Also requires every one of `scopes`.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Answers refusals with `respond` instead of [`denied_response`](crate::denied_response).
    /// [`Verified`](crate::Verified) extractors behind the layer use it too.
    #[must_use]
    pub fn on_denial(
        mut self,
        respond: impl Fn(&VerifyError) -> axum::response::Response + Send + Sync + 'static,
    ) -> Self {
        self.on_denial = Some(OnDenial::new(respond));
        self
    }

    /// Like [`on_denial`](Self::on_denial), with a hook that also sees the request's
    /// method, path and presented key prefix ([`DeniedRequest`]), e.g. to log or count
    /// refusals; [`denied_response`](crate::denied_response) is the standard answer.
    #[must_use]
    pub fn on_denied(
        mut self,
        respond: impl Fn(&DeniedRequest) -> axum::response::Response + Send + Sync + 'static,
    ) -> Self {
        self.on_denial = Some(OnDenial::with_request(respond));
        self
    }
}

impl<Inner> Layer<Inner> for ApiKeyLayer {
    type Service = ApiKeyService<Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        ApiKeyService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service [`ApiKeyLayer`] wraps around `Inner`. Its responses have axum's [`Body`], so
/// it fits any server that accepts `http_body::Body` responses.
#[derive(Clone, Debug)]
pub struct ApiKeyService<Inner> {
    inner: Inner,
    config: ApiKeyLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<Inner, ReqBody, ResBody> Service<Request<ReqBody>> for ApiKeyService<Inner>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send,
    ReqBody: Send + 'static,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Inner::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone waits for
        // the next poll_ready (tower's documented pattern).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let config = self.config.clone();
        Box::pin(async move {
            let scopes: Vec<&str> = config.scopes.iter().map(String::as_str).collect();
            // A key an outer layer verified is reused (checked for this layer's scopes).
            let verified = config
                .keys
                .authenticate_request(
                    request.extensions().get::<VerifiedKey>(),
                    request.headers(),
                    request.uri().query(),
                    &scopes,
                    Presence::Required,
                )
                .await
                .and_then(|key| key.ok_or_else(|| Denial::Missing.into()));
            match verified {
                Ok(key) => {
                    // The key's remaining allowance (RateLimit headers), unless turned off.
                    let grant = config.keys.grant_headers(&key);
                    request.extensions_mut().insert(key);
                    if let Some(on_denial) = &config.on_denial {
                        request.extensions_mut().insert(on_denial.clone());
                    }
                    let mut response = inner.call(request).await?;
                    for (name, value) in grant {
                        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                            response.headers_mut().entry(name).or_insert(value);
                        }
                    }
                    Ok(response.map(Body::new))
                }
                Err(error) => {
                    let denied = config.keys.denied_request(
                        error,
                        request.method().as_str(),
                        request.uri().path(),
                        request.extensions().get::<VerifiedKey>(),
                        request.headers(),
                        request.uri().query(),
                    );
                    Ok(respond(config.on_denial.as_ref(), &denied))
                }
            }
        })
    }
}
