//! Sending one request to an actix-web app in-process.

use actix_web::test;
use apikeys::testing::http::{TestRequest, TestResponse};

/// Calls `app` with `request` and collects the answer.
pub(crate) async fn call<S, B>(app: &S, request: TestRequest) -> TestResponse
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut builder = test::TestRequest::get().uri(&request.path);
    for (name, value) in request.headers {
        builder = builder.append_header((name, value));
    }
    let response = test::call_service(app, builder.to_request()).await;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = test::read_body(response).await;
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
