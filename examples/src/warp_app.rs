//! The example routes on warp.

use apikeys::{ApiKeys, VerifiedKey};
use warp::{Filter, Rejection, Reply};

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};
use crate::prometheus::{METRICS_CONTENT_TYPE, render_metrics};

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key),
/// `GET /heroes` (a key with `heroes:read`), the admin at `/admin`, and `GET /metrics` (no
/// key).
pub fn routes(
    keys: ApiKeys,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone + Send + Sync + 'static {
    let public = warp::path!("public").map(|| warp::reply::json(&public_body()));
    let private = warp::path!("private")
        .and(apikeys_warp::verified(keys.clone()))
        .map(|_: VerifiedKey| warp::reply::json(&public_body()));
    let ping = warp::path!("ping")
        .and(apikeys_warp::verified(keys.clone()))
        .map(|key: VerifiedKey| warp::reply::json(&ping_body(&key)));
    let metrics = warp::path!("metrics")
        .map(|| warp::reply::with_header(render_metrics(), "content-type", METRICS_CONTENT_TYPE));
    let admin = apikeys_admin::warp::filter(apikeys_admin::Admin::new(keys.clone()));
    let heroes = warp::path!("heroes")
        .and(apikeys_warp::verified_with_scopes(keys, [HEROES_SCOPE]))
        .map(|_| warp::reply::json(&heroes_body()));
    admin
        .or(warp::get().and(public.or(private).or(metrics).or(ping).or(heroes)))
        .recover(apikeys_warp::recover)
}
