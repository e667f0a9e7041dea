//! The example routes on warp.

use apikeys::{ApiKeys, VerifiedKey};
use warp::{Filter, Rejection, Reply};

use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};

/// `GET /public`, `GET /private` (a key; the same body as `/public`), `GET /ping` (a key)
/// and `GET /heroes` (a key with `heroes:read`), and the admin at `/admin`.
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
    let admin = apikeys_admin::warp::filter(apikeys_admin::Admin::new(keys.clone()));
    let heroes = warp::path!("heroes")
        .and(apikeys_warp::verified_with_scopes(keys, [HEROES_SCOPE]))
        .map(|_| warp::reply::json(&heroes_body()));
    admin
        .or(warp::get().and(public.or(private).or(ping).or(heroes)))
        .recover(apikeys_warp::recover)
}
