//! The `Verified` and `MaybeVerified` extractors.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use apikeys::{ApiKeys, Denial, Presence, VerifiedKey};

use crate::config::ApiKeyConfig;
use crate::headers::{Headers, query};
use crate::middleware::Guarded;
use crate::{NoScopes, Scopes};

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Extracts the request's verified API key; refuses the request (401/403/503) otherwise.
///
/// Needs an [`ApiKeyConfig`] in the app data. `Verified<S>` also requires the [`Scopes`] of
/// `S`. Behind [`ApiKeyMiddleware`](crate::ApiKeyMiddleware), the middleware's verified key is
/// reused rather than verified again. It dereferences to [`VerifiedKey`]. (actix-web's
/// `Option<T>` turns any refusal into `None`; use [`MaybeVerified`] for optional keys.)
///
/// ```
/// use actix_web::{App, web};
/// use apikeys_actix::{ApiKeyConfig, MaybeVerified, Verified};
///
/// apikeys_actix::scopes!(HeroesRead = ["heroes:read"]);
///
/// async fn ping(key: Verified) -> String {
///     format!("hello, {}", key.name())
/// }
/// async fn heroes(_: Verified<HeroesRead>) -> &'static str {
///     "Batman, Robin"
/// }
/// async fn greet(key: MaybeVerified) -> String {
///     key.key().map_or("hello, stranger".into(), |key| format!("hello, {}", key.name()))
/// }
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let app = App::new()
///     .app_data(ApiKeyConfig::new(keys))
///     .route("/ping", web::get().to(ping))
///     .route("/heroes", web::get().to(heroes))
///     .route("/greet", web::get().to(greet));
/// ```
pub struct Verified<S = NoScopes> {
    key: VerifiedKey,
    scopes: PhantomData<fn() -> S>,
}

impl<S> Verified<S> {
    /// The verified key.
    pub fn into_inner(self) -> VerifiedKey {
        self.key
    }
}

impl<S> Deref for Verified<S> {
    type Target = VerifiedKey;

    fn deref(&self) -> &VerifiedKey {
        &self.key
    }
}

impl<S> fmt::Debug for Verified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verified").field(&self.key).finish()
    }
}

/// Like [`Verified`], for routes where a key is optional: no key gives `None` and the
/// handler runs; a key that is present must be valid, or the request is refused.
pub struct MaybeVerified<S = NoScopes> {
    key: Option<VerifiedKey>,
    scopes: PhantomData<fn() -> S>,
}

impl<S> MaybeVerified<S> {
    /// The verified key, if the request had one.
    pub fn key(&self) -> Option<&VerifiedKey> {
        self.key.as_ref()
    }

    /// The verified key, if the request had one.
    pub fn into_inner(self) -> Option<VerifiedKey> {
        self.key
    }
}

impl<S> fmt::Debug for MaybeVerified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MaybeVerified").field(&self.key).finish()
    }
}

impl<S: Scopes> FromRequest for Verified<S> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            if let Some(key) = resolve::<S>(&request, Presence::Required).await? {
                return Ok(Self {
                    key,
                    scopes: PhantomData,
                });
            }
            let earlier = request.extensions().get::<VerifiedKey>().cloned();
            let rejection = config_for(&request)?.error(
                Denial::Missing.into(),
                request.head(),
                earlier.as_ref(),
            );
            Err(rejection.into())
        })
    }
}

impl<S: Scopes> FromRequest for MaybeVerified<S> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            Ok(Self {
                key: resolve::<S>(&request, Presence::Optional).await?,
                scopes: PhantomData,
            })
        })
    }
}

/// The configuration that answers for this request: the guarding middleware's, else the
/// app data's, registered as actix-web users do: `app_data(config)` or
/// `app_data(web::Data::new(config))`, with an [`ApiKeyConfig`] or a bare `ApiKeys`.
fn config_for(request: &HttpRequest) -> Result<ApiKeyConfig, actix_web::Error> {
    if let Some(Guarded(config)) = request.extensions().get::<Guarded>() {
        return Ok(config.clone());
    }
    let found = request
        .app_data::<ApiKeyConfig>()
        .cloned()
        .or_else(|| {
            request
                .app_data::<web::Data<ApiKeyConfig>>()
                .map(|data| data.get_ref().clone())
        })
        .or_else(|| {
            request
                .app_data::<ApiKeys>()
                .cloned()
                .map(ApiKeyConfig::new)
        })
        .or_else(|| {
            request
                .app_data::<web::Data<ApiKeys>>()
                .map(|data| ApiKeyConfig::new(data.get_ref().clone()))
        });
    found.ok_or_else(|| {
        tracing::error!(
            "apikeys-actix: no ApiKeyConfig or ApiKeys in the app data; register one with \
             App::app_data(ApiKeyConfig::new(keys)) or App::app_data(web::Data::new(keys)), \
             or wrap the routes in ApiKeyMiddleware"
        );
        actix_web::error::ErrorInternalServerError("API key verification is not configured")
    })
}

/// The core's one rule for adapters: the key a middleware verified, else the request's key.
async fn resolve<S: Scopes>(
    request: &HttpRequest,
    presence: Presence,
) -> Result<Option<VerifiedKey>, actix_web::Error> {
    let config = config_for(request)?;
    let earlier = request.extensions().get::<VerifiedKey>().cloned();
    config
        .keys
        .authenticate_request(
            earlier.as_ref(),
            &Headers(request.headers()),
            query(request.query_string()),
            S::SCOPES,
            presence,
        )
        .await
        .map_err(|error| config.error(error, request.head(), earlier.as_ref()).into())
}
