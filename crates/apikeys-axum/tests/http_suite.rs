//! The core's HTTP conformance suite, through the extractors and through the layer.

mod common;

use apikeys::testing::http::{
    ANONYMOUS, DenialLog, HttpHarness, SCOPE, TestRequest, TestResponse, run_all,
};
use apikeys::{ApiKeys, VerifiedKey};
use apikeys_axum::{ApiKeyLayer, OnDenial, Verified, denied_response};
use axum::extract::FromRef;
use axum::routing::get;
use axum::{Extension, Router};

apikeys_axum::scopes!(HeroesRead = [SCOPE]);

/// An application state of which the manager is one field.
#[derive(Clone, FromRef)]
struct AppState {
    keys: ApiKeys,
    motd: &'static str,
}

async fn public(axum::extract::State(motd): axum::extract::State<&'static str>) -> &'static str {
    motd
}

/// Every route protected by extractors.
struct Extractors;

/// The hook of `send_hooked`: notes the refusal, answers with the standard response.
fn hook(log: DenialLog) -> OnDenial {
    OnDenial::with_request(move |denied| {
        log.record(denied);
        denied_response(denied)
    })
}

#[apikeys::async_trait]
impl HttpHarness for Extractors {
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse {
        common::send(extractors(keys), request).await
    }

    async fn send_hooked(
        &self,
        keys: &ApiKeys,
        request: TestRequest,
        log: DenialLog,
    ) -> TestResponse {
        common::send(extractors(keys).layer(Extension(hook(log))), request).await
    }
}

fn extractors(keys: &ApiKeys) -> Router {
    Router::new()
        .route("/public", get(public))
        .route(
            "/ping",
            get(|key: Verified| async move { key.prefix().to_owned() }),
        )
        .route(
            "/scoped",
            get(|key: Verified<HeroesRead>| async move { key.prefix().to_owned() }),
        )
        .route(
            "/optional",
            get(|key: Option<Verified>| async move {
                key.map_or(ANONYMOUS.to_owned(), |k| k.prefix().to_owned())
            }),
        )
        .with_state(AppState {
            keys: keys.clone(),
            motd: "public",
        })
}

async fn prefix(Extension(key): Extension<VerifiedKey>) -> String {
    key.prefix().to_owned()
}

/// `/ping` and `/scoped` protected by layers; the handlers read the key from extensions.
struct Layers;

#[apikeys::async_trait]
impl HttpHarness for Layers {
    async fn send(&self, keys: &ApiKeys, request: TestRequest) -> TestResponse {
        common::send(layers(keys, ApiKeyLayer::new(keys.clone())), request).await
    }

    async fn send_hooked(
        &self,
        keys: &ApiKeys,
        request: TestRequest,
        log: DenialLog,
    ) -> TestResponse {
        let recording = log.clone();
        let layer = ApiKeyLayer::new(keys.clone()).on_denied(move |denied| {
            recording.record(denied);
            denied_response(denied)
        });
        // `/optional` has no layer: its extractor finds the hook in the extensions.
        let app = layers(keys, layer).layer(Extension(hook(log)));
        common::send(app, request).await
    }
}

fn layers(keys: &ApiKeys, layer: ApiKeyLayer) -> Router {
    Router::new()
        .route("/public", get(|| async { "public" }))
        .route("/ping", get(prefix).route_layer(layer.clone()))
        .route("/scoped", get(prefix).route_layer(layer.scopes([SCOPE])))
        .route(
            "/optional",
            get(|key: Option<Verified>| async move {
                key.map_or(ANONYMOUS.to_owned(), |k| k.prefix().to_owned())
            }),
        )
        .with_state(keys.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractors_pass_the_suite() {
    run_all(&Extractors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_pass_the_suite() {
    run_all(&Layers).await;
}
