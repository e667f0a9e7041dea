//! Mounting the admin in actix-web: `App::new().service(apikeys_admin::actix::scope(admin))`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Scope, web};

use crate::admin::Admin;
use crate::request::AdminRequest;

/// A scope at the admin's mount path that hands every request under it to the admin.
pub fn scope(admin: Admin) -> Scope {
    let mount = if admin.mount().is_empty() {
        ""
    } else {
        admin.mount()
    }
    .to_owned();
    web::scope(&mount)
        .app_data(web::Data::new(admin))
        // The admin reads at most its own limit; actix's default (256 KiB) is larger.
        .app_data(web::PayloadConfig::new(crate::admin::MAX_BODY))
        .default_service(web::to(handle))
}

async fn handle(request: HttpRequest, body: web::Bytes, admin: web::Data<Admin>) -> HttpResponse {
    // actix-web is on `http` 0.2: the request is copied into `http` 1 types by bytes.
    let mut headers = http::HeaderMap::new();
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    let method =
        http::Method::from_bytes(request.method().as_str().as_bytes()).unwrap_or(http::Method::GET);
    let secure = request.connection_info().scheme() == "https";
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.path().to_owned(), |pq| pq.as_str().to_owned());
    let answer = admin
        .handle(AdminRequest::new(method, &path_and_query, headers, body).secure(secure))
        .await;
    let (parts, body) = answer.into_parts();
    let mut response =
        HttpResponse::build(StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::OK));
    for (name, value) in &parts.headers {
        response.append_header((name.as_str(), value.as_bytes()));
    }
    // The body is one buffer already (`Full`), so this cannot wait or fail.
    let body = http_body_util::BodyExt::collect(body)
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    response.body(body)
}
