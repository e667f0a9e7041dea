//! The admin's view of a request, built by each framework mount.

use bytes::Bytes;
use http::{HeaderMap, Method};

/// One request to the admin, in `http` types: what a framework mount hands to
/// [`Admin::handle`](crate::Admin::handle).
///
/// Its `Debug` shows neither the body (a login form holds an admin key) nor the headers
/// (they carry keys and the session cookie).
pub struct AdminRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) secure: bool,
}

impl std::fmt::Debug for AdminRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl AdminRequest {
    /// A request for `path_and_query` (with or without the mount path in front).
    pub fn new(method: Method, path_and_query: &str, headers: HeaderMap, body: Bytes) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (path_and_query, None),
        };
        let secure = headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        Self {
            method,
            path: path.to_owned(),
            query,
            headers,
            body,
            secure,
        }
    }

    /// Whether the request came over https (then the session cookie is `Secure`).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure |= secure;
        self
    }

    /// The query string's parameters.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default()
    }

    /// The value of cookie `name`.
    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}
