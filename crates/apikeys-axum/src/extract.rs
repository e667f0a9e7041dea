//! The `Verified` extractor and its optional form.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use apikeys::{ApiKeys, Denial, DeniedRequest, Presence, VerifiedKey, VerifyError};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::response::{OnDenial, respond, standard_status};
use crate::{NoScopes, Scopes};

/// Extracts the request's verified API key; refuses the request (401/403/503) otherwise.
///
/// The [`ApiKeys`] comes from the router's state through [`FromRef`], so it can be the whole
/// state or one field of it. `Verified<S>` also requires the [`Scopes`] of `S`;
/// `Option<Verified>` accepts requests without a key (a key that is present must still be
/// valid). Behind an [`ApiKeyLayer`](crate::ApiKeyLayer), the layer's verified key is reused
/// rather than verified again. It dereferences to [`VerifiedKey`].
///
/// ```
/// use axum::{Router, routing::get};
/// use apikeys_axum::Verified;
///
/// apikeys_axum::scopes!(HeroesRead = ["heroes:read"]);
///
/// async fn ping(key: Verified) -> String {
///     format!("hello, {}", key.name())
/// }
/// async fn heroes(_: Verified<HeroesRead>) -> &'static str {
///     "Batman, Robin"
/// }
/// async fn greet(key: Option<Verified>) -> String {
///     key.map_or("hello, stranger".into(), |key| format!("hello, {}", key.name()))
/// }
///
/// let keys = apikeys::ApiKeys::new(apikeys::MemoryStore::new());
/// let app: Router = Router::new()
///     .route("/ping", get(ping))
///     .route("/heroes", get(heroes))
///     .route("/greet", get(greet))
///     .with_state(keys);
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

impl<S> Clone for Verified<S> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            scopes: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Verified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verified").field(&self.key).finish()
    }
}

/// Why [`Verified`] refused a request; it answers with the [`OnDenial`] found in the
/// request's extensions, or else [`denied_response`](crate::denied_response).
#[derive(Debug)]
pub struct ApiKeyRejection {
    denied: DeniedRequest,
    on_denial: Option<OnDenial>,
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

    /// The status this rejection answers with, like axum's own rejections: 401, 403 or
    /// 503 for the standard response, or whatever a custom [`OnDenial`] chooses.
    pub fn status(&self) -> StatusCode {
        match &self.on_denial {
            Some(custom) => custom.respond(&self.denied).status(),
            None => standard_status(self.denied.error()),
        }
    }
}

impl IntoResponse for ApiKeyRejection {
    fn into_response(self) -> Response {
        respond(self.on_denial.as_ref(), &self.denied)
    }
}

impl<S, State> FromRequestParts<State> for Verified<S>
where
    S: Scopes,
    ApiKeys: FromRef<State>,
    State: Send + Sync,
{
    type Rejection = ApiKeyRejection;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let keys = ApiKeys::from_ref(state);
        match authenticate::<S>(parts, &keys, Presence::Required).await {
            Ok(Some(key)) => Ok(Self::new(key)),
            Ok(None) => Err(rejection(parts, &keys, Denial::Missing.into())),
            Err(error) => Err(rejection(parts, &keys, error)),
        }
    }
}

impl<S, State> OptionalFromRequestParts<State> for Verified<S>
where
    S: Scopes,
    ApiKeys: FromRef<State>,
    State: Send + Sync,
{
    type Rejection = ApiKeyRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &State,
    ) -> Result<Option<Self>, Self::Rejection> {
        let keys = ApiKeys::from_ref(state);
        match authenticate::<S>(parts, &keys, Presence::Optional).await {
            Ok(key) => Ok(key.map(Self::new)),
            Err(error) => Err(rejection(parts, &keys, error)),
        }
    }
}

impl<S> Verified<S> {
    fn new(key: VerifiedKey) -> Self {
        Self {
            key,
            scopes: PhantomData,
        }
    }
}

fn rejection(parts: &Parts, keys: &ApiKeys, error: VerifyError) -> ApiKeyRejection {
    ApiKeyRejection {
        denied: keys.denied_request(
            error,
            parts.method.as_str(),
            parts.uri.path(),
            parts.extensions.get::<VerifiedKey>(),
            &parts.headers,
            parts.uri.query(),
        ),
        on_denial: parts.extensions.get::<OnDenial>().cloned(),
    }
}

/// The core's one rule for adapters: the key a layer verified, else the request's key.
async fn authenticate<S: Scopes>(
    parts: &Parts,
    keys: &ApiKeys,
    presence: Presence,
) -> Result<Option<VerifiedKey>, VerifyError> {
    keys.authenticate_request(
        parts.extensions.get::<VerifiedKey>(),
        &parts.headers,
        parts.uri.query(),
        S::SCOPES,
        presence,
    )
    .await
}
