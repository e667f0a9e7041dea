//! The example routes on axum.

use apikeys::ApiKeys;
use apikeys_axum::Verified;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};

apikeys_axum::scopes!(
    /// What `GET /heroes` requires.
    pub HeroesRead = [HEROES_SCOPE]
);

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key)
/// and `GET /heroes` (a key with `heroes:read`), and the admin at `/admin`.
pub fn router(keys: ApiKeys) -> Router {
    Router::new()
        .nest_service("/admin", apikeys_admin::Admin::new(keys.clone()))
        .route("/public", get(|| async { Json(public_body()) }))
        .route("/private", get(|_: Verified| async { Json(public_body()) }))
        .route("/ping", get(ping))
        .route("/heroes", get(heroes))
        .with_state(keys)
}

async fn ping(key: Verified) -> Json<Value> {
    Json(ping_body(&key))
}

async fn heroes(_: Verified<HeroesRead>) -> Json<Value> {
    Json(heroes_body())
}
