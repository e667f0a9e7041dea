//! The example routes on actix-web.

use actix_web::{HttpResponse, web};
use apikeys::ApiKeys;
use apikeys_actix::{ApiKeyConfig, Verified};

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};
use crate::prometheus::{METRICS_CONTENT_TYPE, render_metrics};

apikeys_actix::scopes!(
    /// What `GET /heroes` requires.
    pub HeroesRead = [HEROES_SCOPE]
);

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key),
/// `GET /heroes` (a key with `heroes:read`), the admin at `/admin`, and `GET /metrics` (no
/// key), for `App::configure`.
pub fn configure(keys: ApiKeys) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config
            .service(apikeys_admin::actix::scope(apikeys_admin::Admin::new(
                keys.clone(),
            )))
            .app_data(ApiKeyConfig::new(keys))
            .route(
                "/public",
                web::get().to(|| async { HttpResponse::Ok().json(public_body()) }),
            )
            .route("/metrics", web::get().to(metrics))
            .route(
                "/private",
                web::get().to(|_: Verified| async { HttpResponse::Ok().json(public_body()) }),
            )
            .route("/ping", web::get().to(ping))
            .route("/heroes", web::get().to(heroes));
    }
}

async fn ping(key: Verified) -> HttpResponse {
    HttpResponse::Ok().json(ping_body(&key))
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(METRICS_CONTENT_TYPE)
        .body(render_metrics())
}

async fn heroes(_: Verified<HeroesRead>) -> HttpResponse {
    HttpResponse::Ok().json(heroes_body())
}
