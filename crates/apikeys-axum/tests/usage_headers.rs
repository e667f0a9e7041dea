//! A granted response through the layer carries the key's RateLimit headers.

use apikeys::{ApiKeys, MemoryStore, NewKey};
use apikeys_axum::ApiKeyLayer;
use axum::body::Body;
use axum::http::Request;
use axum::{Router, routing::get};
use tower::ServiceExt;

async fn get_ping(app: Router, key: &str) -> axum::response::Response {
    let request = Request::get("/ping")
        .header("authorization", format!("Api-Key {key}"))
        .body(Body::empty())
        .expect("request");
    app.oneshot(request).await.expect("infallible")
}

#[tokio::test]
async fn granted_responses_carry_the_ratelimit_headers_unless_turned_off() {
    for on in [true, false] {
        let keys = ApiKeys::builder(MemoryStore::new())
            .usage_headers_on_grant(on)
            .build();
        let created = keys
            .create(
                NewKey::named("rated")
                    .rate_limit("10/m".parse().unwrap())
                    .credits(5),
            )
            .await
            .unwrap();
        let app = Router::new()
            .route("/ping", get(|| async { "pong" }))
            .layer(ApiKeyLayer::new(keys.clone()));
        let response = get_ping(app, created.key.expose_secret()).await;
        assert_eq!(response.status(), 200);
        let header = |n: &str| {
            response
                .headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        if on {
            assert_eq!(
                header("ratelimit-policy").as_deref(),
                Some(r#""rate";q=10;w=60"#)
            );
            assert_eq!(
                header("ratelimit").as_deref(),
                Some(r#""rate";r=9;t=6, "credits";r=4"#)
            );
        } else {
            assert_eq!(header("ratelimit"), None);
        }
        assert_eq!(header("retry-after"), None);
    }
}
