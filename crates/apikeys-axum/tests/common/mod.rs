//! Sending one request to a router in-process.

use apikeys::testing::http::{TestRequest, TestResponse};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Sends `request` to `service` (no sockets) and collects the answer.
pub(crate) async fn send<S>(service: S, request: TestRequest) -> TestResponse
where
    S: tower::Service<Request<Body>, Response = axum::response::Response> + Send,
    S::Error: std::fmt::Debug,
    S::Future: Send,
{
    let mut builder = Request::get(request.path.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(Body::empty()).expect("request");
    let response = service.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
