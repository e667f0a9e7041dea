//! Who is asking: an admin key in the request (the JSON API) or a browser session holding
//! one (the pages). Both verify the key through the application's [`ApiKeys`] with the
//! admin scope, on every request.

use apikeys::{ApiKeys, Denial, VerifyError};
use http::StatusCode;
use zeroize::{Zeroize, Zeroizing};

use crate::admin::Admin;
use crate::reply::{self, AdminResponse};
use crate::request::AdminRequest;
use crate::session::{Current, Sessions};
use crate::views;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "apikeys_admin";

/// An admin allowed in: the manager acting as them (audit events name their key's prefix).
pub(crate) struct Acting {
    pub(crate) keys: ApiKeys,
}

/// A browser admin: also the session, for its CSRF token and flash.
pub(crate) struct Browser {
    pub(crate) keys: ApiKeys,
    pub(crate) session: Current,
    admin: Admin,
}

impl Browser {
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.admin.inner.sessions
    }
}

impl Admin {
    fn acting(&self, prefix: &str) -> ApiKeys {
        self.inner.keys.with_actor(prefix)
    }

    /// The JSON API: a key in the request, per the application's key sources.
    pub(crate) async fn api_admin(&self, request: &AdminRequest) -> Result<Acting, AdminResponse> {
        let scope = self.inner.scope.as_str();
        match self
            .inner
            .keys
            .authenticate(&request.headers, request.query.as_deref(), &[scope])
            .await
        {
            Ok(verified) => Ok(Acting {
                keys: self.acting(verified.prefix()),
            }),
            Err(error) => {
                // The same request line as a refusal by the adapters (and no key in it),
                // with the path as the client sent it, mount included.
                let path = crate::routes::relative(&self.inner.mount, &request.path);
                let path = format!("{}{path}", self.inner.mount);
                let denied = self.inner.keys.denied_request(
                    error,
                    request.method.as_str(),
                    &path,
                    None,
                    &request.headers,
                    request.query.as_deref(),
                );
                Err(reply::denial(denied.error()))
            }
        }
    }

    /// The pages: a live session whose key still verifies with the admin scope; otherwise
    /// a redirect to the login page (the session is ended if its key no longer passes).
    pub(crate) async fn browser(&self, request: &AdminRequest) -> Result<Browser, AdminResponse> {
        let login = format!("{}/login", self.inner.mount);
        let Some(session) = request
            .cookie(COOKIE)
            .and_then(|id| self.inner.sessions.current(id))
        else {
            return Err(reply::redirect(&login));
        };
        let scope = self.inner.scope.as_str();
        match self
            .inner
            .keys
            .verify_with_scopes(&session.key, &[scope])
            .await
        {
            Ok(verified) => Ok(Browser {
                keys: self.acting(verified.prefix()),
                session,
                admin: self.clone(),
            }),
            Err(VerifyError::Denied(_)) => {
                self.inner.sessions.end(&session.id);
                Err(reply::with_cookie(
                    reply::redirect(&format!("{login}?ended=1")),
                    &self.clear_cookie(request),
                ))
            }
            Err(error) => Err(unavailable(&self.inner.mount, &error)),
        }
    }

    fn cookie_attributes(&self, request: &AdminRequest) -> String {
        let path = if self.inner.mount.is_empty() {
            "/"
        } else {
            &self.inner.mount
        };
        let secure = if self.inner.secure_cookies || request.secure {
            "; Secure"
        } else {
            ""
        };
        format!("Path={path}; HttpOnly; SameSite=Strict{secure}")
    }

    fn clear_cookie(&self, request: &AdminRequest) -> String {
        format!("{COOKIE}=; Max-Age=0; {}", self.cookie_attributes(request))
    }

    /// `POST /login` with `key=…`: a session for a key holding the admin scope.
    pub(crate) async fn login(&self, request: AdminRequest) -> AdminResponse {
        if let Err(retry) = self.inner.limiter.check() {
            let mut r = reply::html(
                StatusCode::TOO_MANY_REQUESTS,
                views::login(
                    &self.inner.mount,
                    Some("Too many failed logins: wait a minute and try again."),
                ),
            );
            if let Ok(v) = http::HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            return r;
        }
        let key = take_key(request.body.clone());
        let mount = &self.inner.mount;
        let scope = self.inner.scope.as_str();
        match self.inner.keys.verify_with_scopes(&key, &[scope]).await {
            Ok(verified) => match self.inner.sessions.start(key) {
                Ok(id) => {
                    // The id goes into the cookie and nowhere else: no log line names it.
                    tracing::info!(actor = verified.prefix(), "admin: browser login");
                    let cookie = format!(
                        "{COOKIE}={id}; Max-Age={}; {}",
                        self.inner.sessions.absolute().as_secs(),
                        self.cookie_attributes(&request)
                    );
                    reply::with_cookie(reply::redirect(&format!("{mount}/")), &cookie)
                }
                Err(error) => {
                    tracing::error!(%error, "admin: no randomness for a session id");
                    reply::html(
                        StatusCode::SERVICE_UNAVAILABLE,
                        views::login(mount, Some("The server cannot start a session now.")),
                    )
                }
            },
            Err(VerifyError::Denied(denial)) => {
                self.inner.limiter.fail();
                let (status, message) = match denial {
                    Denial::InsufficientScope | Denial::Rejected => (
                        StatusCode::FORBIDDEN,
                        format!("This key does not hold the admin scope {scope}."),
                    ),
                    _ => (
                        StatusCode::UNAUTHORIZED,
                        "This key is not valid.".to_owned(),
                    ),
                };
                reply::html(status, views::login(mount, Some(&message)))
            }
            Err(error) => unavailable(mount, &error),
        }
    }

    /// `POST /logout`: the session ends and its cookie is cleared.
    pub(crate) fn logout(&self, request: &AdminRequest, browser: &Browser) -> AdminResponse {
        self.inner.sessions.end(&browser.session.id);
        reply::with_cookie(
            reply::redirect(&format!("{}/login", self.inner.mount)),
            &self.clear_cookie(request),
        )
    }
}

fn unavailable(mount: &str, error: &VerifyError) -> AdminResponse {
    tracing::error!(%error, "admin: cannot verify an admin key");
    reply::html(
        StatusCode::SERVICE_UNAVAILABLE,
        views::message(mount, "Unavailable", "The key store failed; try again."),
    )
}

/// The `key` field of a login form, trimmed (pasting adds blanks), in zeroized memory; the
/// body's own bytes are wiped when nothing else shares them.
fn take_key(body: bytes::Bytes) -> Zeroizing<String> {
    let mut key = Zeroizing::new(String::new());
    for (name, value) in form_urlencoded::parse(&body) {
        if name == "key" {
            let mut value = value.into_owned();
            key.push_str(value.trim());
            value.zeroize();
        }
    }
    if let Ok(mut bytes) = body.try_into_mut() {
        bytes.as_mut().zeroize();
    }
    key
}
