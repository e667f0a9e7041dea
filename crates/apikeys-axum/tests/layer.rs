//! The layer around non-axum services, custom denial responses, scopes, and the extractor
//! reusing a layer's verification.

mod common;

use std::convert::Infallible;

use apikeys::testing::FailingStore;
use apikeys::testing::http::TestRequest;
use apikeys::testing::keys_with;
use apikeys::{ApiKeys, DenialResponse, NewKey, VerifiedKey};
use apikeys_axum::{ApiKeyLayer, OnDenial, Verified, denial_response};
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use tower::ServiceBuilder;

apikeys_axum::scopes!(Admin = ["admin"]);

fn teapot(error: &apikeys::VerifyError) -> axum::response::Response {
    let standard = denial_response(error);
    (
        StatusCode::IM_A_TEAPOT,
        format!("custom {}", standard.status().as_u16()),
    )
        .into_response()
}

#[tokio::test]
async fn layer_protects_a_plain_tower_service() {
    let (keys, key) = keys_with(&[]).await;
    // Not axum: a bare service, as a tonic server would be; its body type is String.
    let plain = tower::service_fn(|request: Request<Body>| async move {
        let name = request
            .extensions()
            .get::<VerifiedKey>()
            .map_or("no key in extensions", |k| k.name())
            .to_owned();
        Ok::<_, Infallible>(Response::new(name))
    });
    let service = ServiceBuilder::new()
        .layer(ApiKeyLayer::new(keys))
        .service(plain);

    let granted = common::send(service.clone(), TestRequest::get("/any").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));

    let refused = common::send(service, TestRequest::get("/any")).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("www-authenticate"), Some("Api-Key"));
    assert_eq!(refused.body, DenialResponse::UNAUTHORIZED.body);
}

#[tokio::test]
async fn layer_requires_scopes() {
    let (keys, plain_key) = keys_with(&["read"]).await;
    let both = keys
        .create(NewKey::named("both").scopes(["read", "write"]))
        .await
        .expect("create");
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(ApiKeyLayer::new(keys).scopes(["read", "write"]));

    let refused = common::send(app.clone(), TestRequest::get("/").api_key(&plain_key)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, DenialResponse::FORBIDDEN.body);
    let granted = common::send(app, TestRequest::get("/").api_key(both.key.expose_secret())).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn layer_custom_denial_response_also_serves_extractors_behind_it() {
    let (keys, key) = keys_with(&[]).await;
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/admin", get(|_: Verified<Admin>| async { "admin" }))
        .layer(ApiKeyLayer::new(keys.clone()).on_denial(teapot))
        .with_state(keys);

    let missing = common::send(app.clone(), TestRequest::get("/")).await;
    assert_eq!((missing.status, missing.body.as_str()), (418, "custom 401"));
    assert_eq!(missing.header("www-authenticate"), None);
    // Past the layer, the extractor's scope refusal uses the same custom response.
    let unscoped = common::send(app.clone(), TestRequest::get("/admin").api_key(&key)).await;
    assert_eq!(
        (unscoped.status, unscoped.body.as_str()),
        (418, "custom 403")
    );
    let granted = common::send(app, TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn extractor_custom_denial_response_from_extension() {
    let (keys, key) = keys_with(&[]).await;
    let app = Router::new()
        .route(
            "/",
            get(|key: Verified| async move { key.name().to_owned() }),
        )
        .route("/admin", get(|_: Verified<Admin>| async { "admin" }))
        .layer(Extension(OnDenial::new(teapot)))
        .with_state(keys);

    let missing = common::send(app.clone(), TestRequest::get("/")).await;
    assert_eq!((missing.status, missing.body.as_str()), (418, "custom 401"));
    let unscoped = common::send(app.clone(), TestRequest::get("/admin").api_key(&key)).await;
    assert_eq!(
        (unscoped.status, unscoped.body.as_str()),
        (418, "custom 403")
    );
    let granted = common::send(app, TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));
}

#[tokio::test]
async fn extractor_reuses_the_layers_verification() {
    let (keys, key) = keys_with(&["admin"]).await;
    // The state's manager cannot verify anything: a 200 proves the extractor took the key
    // the layer verified instead of verifying again.
    let app = Router::new()
        .route(
            "/",
            get(|key: Verified<Admin>| async move { key.name().to_owned() }),
        )
        .layer(ApiKeyLayer::new(keys))
        .with_state(ApiKeys::new(FailingStore));

    let granted = common::send(app.clone(), TestRequest::get("/").api_key(&key)).await;
    assert_eq!((granted.status, granted.body.as_str()), (200, "tester"));
    // Without the layer the same extractor does verify, and the failing store says 503.
    let alone = Router::new()
        .route("/", get(|_: Verified| async { "unreachable" }))
        .with_state(ApiKeys::new(FailingStore));
    let unavailable = common::send(alone, TestRequest::get("/").api_key(&key)).await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.body, DenialResponse::UNAVAILABLE.body);
}

#[tokio::test]
async fn rejection_status_is_what_it_answers_with() {
    let (keys, key) = keys_with(&[]).await;
    let status = |refused: Result<Verified<Admin>, apikeys_axum::ApiKeyRejection>| async move {
        refused.map_or_else(
            |e| e.status().as_u16().to_string(),
            |_| "granted".to_owned(),
        )
    };
    let app = Router::new().route("/s", get(status)).with_state(keys);
    let missing = common::send(app.clone(), TestRequest::get("/s")).await;
    assert_eq!(missing.body, "401");
    let unscoped = common::send(app.clone(), TestRequest::get("/s").api_key(&key)).await;
    assert_eq!(unscoped.body, "403");
    let custom = app.layer(Extension(OnDenial::new(teapot)));
    let missing = common::send(custom, TestRequest::get("/s")).await;
    assert_eq!(missing.body, "418");
}
