//! The example routes on axum.

use apikeys::ApiKeys;
use apikeys_axum::Verified;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};
use crate::prometheus::{METRICS_CONTENT_TYPE, render_metrics};

apikeys_axum::scopes!(
    /// What `GET /heroes` requires.
    pub HeroesRead = [HEROES_SCOPE]
);

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key),
/// `GET /heroes` (a key with `heroes:read`), the admin at `/admin`, and `GET /metrics` (no
/// key).
pub fn router(keys: ApiKeys) -> Router {
    Router::new()
        .nest_service("/admin", apikeys_admin::Admin::new(keys.clone()))
        .route("/public", get(|| async { Json(public_body()) }))
        .route("/metrics", get(metrics))
        .route("/private", get(|_: Verified| async { Json(public_body()) }))
        .route("/ping", get(ping))
        .route("/heroes", get(heroes))
        .with_state(keys)
}

async fn ping(key: Verified) -> Json<Value> {
    Json(ping_body(&key))
}

async fn metrics() -> impl IntoResponse {
    ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], render_metrics())
}

async fn heroes(_: Verified<HeroesRead>) -> Json<Value> {
    Json(heroes_body())
}
