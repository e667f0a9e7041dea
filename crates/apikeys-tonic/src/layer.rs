//! The tower layer that checks every gRPC call's key before the service sees it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apikeys::{ApiKeys, Denial, Presence, VerifiedKey};
use http::{Request, Response};
use tonic::server::NamedService;
use tower_layer::Layer;
use tower_service::Service;

use crate::rules::ScopeRules;
use crate::status::denial_status;

/// Requires a valid API key on every call to the services it wraps, answering refusals the
/// way gRPC clients expect: HTTP 200 with `grpc-status` `UNAUTHENTICATED`,
/// `PERMISSION_DENIED` or `UNAVAILABLE` and a generic `grpc-message` (see
/// [`denial_status`](crate::denial_status)). Granted calls carry the
/// [`VerifiedKey`](apikeys::VerifiedKey) in their extensions, where
/// [`verified_key`](crate::verified_key) finds it in a handler.
///
/// The key comes from the request metadata through `keys`' key sources:
/// `authorization: Api-Key <key>` by default, or e.g. `x-api-key` with
/// `ApiKeys::builder(store).sources([KeySource::header("x-api-key")])`.
///
/// Use it for a whole server with `Server::builder().layer(…)`, or for one service with
/// [`protect`](Self::protect). Scopes can be required for every call, per service and per
/// method; each rule that matches a call adds its scopes.
///
/// ```
/// use apikeys_tonic::ApiKeyLayer;
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let layer = ApiKeyLayer::new(keys)
///     .scopes(["grpc"])
///     .service_scopes("grpc.health.v1.Health", ["health"])
///     .method_scopes("/grpc.health.v1.Health/Watch", ["health:watch"]);
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyLayer {
    keys: ApiKeys,
    rules: Arc<ScopeRules>,
}

impl ApiKeyLayer {
    /// Requires a valid key, verified by `keys` (with its configured key sources).
    pub fn new(keys: ApiKeys) -> Self {
        Self {
            keys,
            rules: Arc::default(),
        }
    }

    /// Also requires every one of `scopes` on every call.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        Arc::make_mut(&mut self.rules).add_every_call(scopes.into_iter().map(Into::into));
        self
    }

    /// Also requires every one of `scopes` on calls to `service` (its full name,
    /// `package.Service`, as in `NamedService::NAME`).
    #[must_use]
    pub fn service_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        service: &str,
        scopes: I,
    ) -> Self {
        Arc::make_mut(&mut self.rules).add_service(service, scopes.into_iter().map(Into::into));
        self
    }

    /// Also requires every one of `scopes` on calls to `method`, its gRPC path
    /// `/package.Service/Method` (the leading `/` is optional). The name is matched
    /// exactly, with the case of the `.proto` file.
    #[must_use]
    pub fn method_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        method: &str,
        scopes: I,
    ) -> Self {
        Arc::make_mut(&mut self.rules).add_method(method, scopes.into_iter().map(Into::into));
        self
    }

    /// Wraps one service, e.g. for `Server::builder().add_service(layer.protect(svc))`:
    /// the wrapped service keeps its [`NamedService::NAME`].
    pub fn protect<S>(&self, service: S) -> ApiKeyService<S> {
        self.layer(service)
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            config: self.clone(),
        }
    }
}

/// The service [`ApiKeyLayer`] wraps around `S`. Its responses have `S`'s body type (a
/// refusal is the empty body with the status in the headers, "trailers-only").
#[derive(Clone, Debug)]
pub struct ApiKeyService<S> {
    inner: S,
    config: ApiKeyLayer,
}

impl<S: NamedService> NamedService for ApiKeyService<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ApiKeyService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh clone waits for the
        // next poll_ready (tower's documented pattern).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let config = self.config.clone();
        Box::pin(async move {
            let verified = {
                let path = request.uri().path();
                let scopes = config.rules.for_path(path);
                // gRPC has no query string: keys come from metadata (headers) only. A key an
                // outer layer verified is reused, checked for this call's scopes.
                config
                    .keys
                    .authenticate_request(
                        request.extensions().get::<VerifiedKey>(),
                        request.headers(),
                        None,
                        &scopes,
                        Presence::Required,
                    )
                    .await
                    .and_then(|key| key.ok_or_else(|| Denial::Missing.into()))
            };
            match verified {
                Ok(key) => {
                    request.extensions_mut().insert(key);
                    inner.call(request).await
                }
                Err(error) => {
                    let status = denial_status(&error);
                    // The one line per refused call (the core logs denials at debug only):
                    // the gRPC code, not an HTTP status, is what the client saw.
                    let prefix = config.keys.presented_prefix(request.headers(), None);
                    let path = request.uri().path();
                    let reason = error.outcome();
                    if error.denial().is_some() {
                        tracing::info!(
                            reason,
                            prefix,
                            path,
                            code = ?status.code(),
                            "gRPC call refused"
                        );
                    } else {
                        tracing::warn!(
                            reason,
                            %error,
                            prefix,
                            path,
                            code = ?status.code(),
                            "gRPC call refused"
                        );
                    }
                    Ok(status.into_http())
                }
            }
        })
    }
}
