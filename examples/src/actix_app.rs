//! The example routes on actix-web.

use actix_web::{HttpResponse, web};
use apikeys::ApiKeys;
use apikeys_actix::{ApiKeyConfig, Verified};

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};

apikeys_actix::scopes!(
    /// What `GET /heroes` requires.
    pub HeroesRead = [HEROES_SCOPE]
);

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key)
/// and `GET /heroes` (a key with `heroes:read`), and the admin at `/admin`, for
/// `App::configure`.
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

async fn heroes(_: Verified<HeroesRead>) -> HttpResponse {
    HttpResponse::Ok().json(heroes_body())
}
