//! Responses, each with the admin's security headers.

use apikeys::{DenialResponse, Error, VerifyError};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Value, json};

/// What the admin answers: an `http` response with the whole body.
pub type AdminResponse = Response<Full<Bytes>>;

/// No script at all, styles only from the admin's own stylesheet, forms only to itself,
/// never framed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> AdminResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Every admin answer is about keys: none belongs in a cache, the one-time page least.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn html(status: StatusCode, markup: maud::Markup) -> AdminResponse {
    response(
        status,
        "text/html; charset=utf-8",
        Bytes::from(markup.into_string()),
    )
}

pub(crate) fn json(status: StatusCode, value: &Value) -> AdminResponse {
    response(status, "application/json", Bytes::from(value.to_string()))
}

pub(crate) fn stylesheet() -> AdminResponse {
    let mut r = response(
        StatusCode::OK,
        "text/css; charset=utf-8",
        Bytes::from_static(crate::text::STYLE.as_bytes()),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

/// 303 See Other to `location` (a path under the mount).
pub(crate) fn redirect(location: &str) -> AdminResponse {
    let mut r = response(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        Bytes::new(),
    );
    if let Ok(value) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, value);
    }
    r
}

pub(crate) fn with_cookie(mut response: AdminResponse, cookie: &str) -> AdminResponse {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `{"error": code, "detail": text}`.
pub(crate) fn api_error(
    status: StatusCode,
    code: &str,
    detail: impl std::fmt::Display,
) -> AdminResponse {
    json(
        status,
        &json!({"error": code, "detail": detail.to_string()}),
    )
}

pub(crate) fn too_large() -> AdminResponse {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is too large",
    )
}

pub(crate) fn not_found_api() -> AdminResponse {
    api_error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub(crate) fn method_not_allowed() -> AdminResponse {
    api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

/// A refused admin key, as the adapters refuse keys: 401 with `WWW-Authenticate`, 403, or
/// 503 for a store failure (logged).
pub(crate) fn denial(error: &VerifyError) -> AdminResponse {
    if error.denial().is_none() {
        tracing::error!(%error, "admin: cannot verify an admin key");
    }
    let DenialResponse {
        status,
        www_authenticate,
        body,
    } = error.response();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut r = response(
        status,
        DenialResponse::CONTENT_TYPE,
        Bytes::from_static(body.as_bytes()),
    );
    if let Some(scheme) = www_authenticate {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    }
    r
}

/// A management error as the JSON API reports it: 400 invalid, 404 not found, 409 refused
/// or already existing, 501 unsupported by the store, 503 store failure (logged).
pub(crate) fn api_failure(error: &Error) -> AdminResponse {
    match error {
        Error::Invalid(invalid) => json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid", "detail": invalid.to_string(), "field": invalid.field().as_str()}),
        ),
        Error::NotFound { .. } => api_error(StatusCode::NOT_FOUND, "not_found", error),
        Error::Refused { .. } => api_error(StatusCode::CONFLICT, "refused", error),
        Error::Store(apikeys::StoreError::AlreadyExists { .. }) => {
            api_error(StatusCode::CONFLICT, "already_exists", error)
        }
        Error::Store(apikeys::StoreError::Unsupported(_)) => {
            api_error(StatusCode::NOT_IMPLEMENTED, "unsupported", error)
        }
        other => {
            tracing::error!(error = %other, "admin: key management failed");
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the key store failed",
            )
        }
    }
}
