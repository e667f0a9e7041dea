//! Which handler answers a path under the mount.

use http::Method;

use crate::admin::Admin;
use crate::reply::{self, AdminResponse};
use crate::request::AdminRequest;
use crate::{api, openapi, pages, views};

/// The path below the mount: `/admin/keys/P` → `/keys/P`. A path not under the mount was
/// already stripped by a nesting router (axum's `nest_service` does) and is taken as is.
pub(crate) fn relative<'a>(mount: &str, path: &'a str) -> &'a str {
    if mount.is_empty() {
        return path;
    }
    match path.strip_prefix(mount) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

pub(crate) async fn dispatch(admin: &Admin, request: AdminRequest) -> AdminResponse {
    let path = relative(&admin.inner.mount, &request.path).to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = request.method == Method::GET;
    let post = request.method == Method::POST;
    match segments.as_slice() {
        ["api", "keys", rest @ ..] => api::keys(admin, request, rest).await,
        ["api", "openapi.json"] if get => {
            reply::json(http::StatusCode::OK, &openapi::document(&admin.inner.mount))
        }
        ["api", ..] => reply::not_found_api(),
        ["style.css"] if get => reply::stylesheet(),
        ["login"] if get => {
            let ended = request.params().iter().any(|(n, _)| n == "ended");
            let note = ended.then_some("Your session ended: log in again.");
            reply::html(http::StatusCode::OK, views::login(&admin.inner.mount, note))
        }
        ["login"] if post => admin.login(request).await,
        _ => pages::dispatch(admin, request, &segments).await,
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn paths_are_taken_relative_to_the_mount() {
        assert_eq!(relative("/admin", "/admin"), "/");
        assert_eq!(relative("/admin", "/admin/keys/P"), "/keys/P");
        assert_eq!(relative("/admin", "/keys/P"), "/keys/P");
        assert_eq!(relative("/admin", "/administrator"), "/administrator");
        assert_eq!(relative("", "/keys"), "/keys");
    }
}
