//! The admin service and its configuration.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apikeys::ApiKeys;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

use crate::reply::{self, AdminResponse};
use crate::request::AdminRequest;
use crate::session::{LoginLimiter, Sessions};

/// Where the admin is mounted unless configured otherwise.
pub const DEFAULT_MOUNT: &str = "/admin";
/// The scope an admin key must hold unless configured otherwise.
pub const DEFAULT_SCOPE: &str = "apikeys:admin";

/// Largest request body the admin reads (a create form with 16 KiB of metadata fits).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The admin surface: web pages and a JSON API over an application's [`ApiKeys`].
///
/// It is a tower [`Service`](tower_service::Service) over `http` requests, so axum nests it
/// as is (`Router::nest_service("/admin", admin)`); `apikeys_admin::actix::scope` and
/// `apikeys_admin::warp::filter` mount it in actix-web and warp. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) keys: ApiKeys,
    pub(crate) mount: String,
    pub(crate) scope: String,
    pub(crate) secure_cookies: bool,
    pub(crate) sessions: Sessions,
    pub(crate) limiter: LoginLimiter,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sessions hold admin keys: only their number is shown.
        f.debug_struct("Admin")
            .field("mount", &self.inner.mount)
            .field("scope", &self.inner.scope)
            .field("secure_cookies", &self.inner.secure_cookies)
            .field("sessions", &self.inner.sessions.len())
            .finish_non_exhaustive()
    }
}

/// Configures an [`Admin`]; start with [`Admin::builder`].
#[derive(Debug)]
pub struct AdminBuilder {
    keys: ApiKeys,
    mount: String,
    scope: String,
    secure_cookies: bool,
    idle: Duration,
    absolute: Duration,
    max_sessions: usize,
    login_failures: u32,
    login_window: Duration,
}

impl AdminBuilder {
    /// The path the admin is mounted under (default [`DEFAULT_MOUNT`]); links, redirects
    /// and the session cookie's `Path` use it. `"/"` or `""` mounts it at the root.
    #[must_use]
    pub fn mount(mut self, path: &str) -> Self {
        self.mount = normalise_mount(path);
        self
    }

    /// The scope an admin key must hold (default [`DEFAULT_SCOPE`]).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Always mark the session cookie `Secure` (it is also marked when the request came
    /// over https, or says so in `X-Forwarded-Proto`).
    #[must_use]
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// A session ends after this long without a request (default 30 minutes).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// A session ends this long after login, however busy (default 12 hours).
    #[must_use]
    pub fn absolute_timeout(mut self, absolute: Duration) -> Self {
        self.absolute = absolute;
        self
    }

    /// At most this many sessions at once (default 1000); a new login beyond it ends the
    /// oldest.
    #[must_use]
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// After `failures` failed logins within `window` (default 10 per minute), further
    /// logins are refused with 429 until the window has room again. The limit is one for
    /// the whole admin: a mounted service does not reliably know a client's address.
    #[must_use]
    pub fn login_rate_limit(mut self, failures: u32, window: Duration) -> Self {
        self.login_failures = failures.max(1);
        self.login_window = window;
        self
    }

    /// The configured admin.
    pub fn build(self) -> Admin {
        Admin {
            inner: Arc::new(Inner {
                keys: self.keys,
                mount: self.mount,
                scope: self.scope,
                secure_cookies: self.secure_cookies,
                sessions: Sessions::new(self.idle, self.absolute, self.max_sessions),
                limiter: LoginLimiter::new(self.login_failures, self.login_window),
            }),
        }
    }
}

/// `/admin/` → `/admin`, `admin` → `/admin`, `/` → `` (the root).
fn normalise_mount(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

impl Admin {
    /// An admin over `keys` with the default mount, scope and timeouts.
    pub fn new(keys: ApiKeys) -> Self {
        Self::builder(keys).build()
    }

    /// Starts configuring an admin over `keys`. Admin keys are found and verified through
    /// `keys` (its key sources, hashers and policy), like the application's own requests.
    pub fn builder(keys: ApiKeys) -> AdminBuilder {
        AdminBuilder {
            keys,
            mount: DEFAULT_MOUNT.to_owned(),
            scope: DEFAULT_SCOPE.to_owned(),
            secure_cookies: false,
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            max_sessions: 1000,
            login_failures: 10,
            login_window: Duration::from_secs(60),
        }
    }

    /// The mount path (`/admin`), or `""` at the root.
    pub fn mount(&self) -> &str {
        &self.inner.mount
    }

    /// The scope admin keys hold.
    pub fn scope(&self) -> &str {
        &self.inner.scope
    }

    /// Answers one request. Framework mounts call this; the request's path may include
    /// the mount path or already have it stripped (as axum's `nest_service` does).
    pub async fn handle(&self, request: AdminRequest) -> AdminResponse {
        crate::routes::dispatch(self, request).await
    }
}

impl<B> tower_service::Service<http::Request<B>> for Admin
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = AdminResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<AdminResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let admin = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
                return Ok(reply::too_large());
            };
            let secure = parts.uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let request = AdminRequest::new(
                parts.method,
                parts
                    .uri
                    .path_and_query()
                    .map_or("/", http::uri::PathAndQuery::as_str),
                parts.headers,
                body.to_bytes(),
            )
            .secure(secure);
            Ok(admin.handle(request).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_mount;

    #[test]
    fn mounts_are_normalised() {
        assert_eq!(normalise_mount("/admin/"), "/admin");
        assert_eq!(normalise_mount("admin"), "/admin");
        assert_eq!(normalise_mount("/"), "");
        assert_eq!(normalise_mount("/a/b"), "/a/b");
    }
}
