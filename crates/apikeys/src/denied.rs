//! A refused request, as the adapters' denial hooks see it.

use std::sync::Arc;

use crate::extract::HeaderLookup;
use crate::manager::ApiKeys;
use crate::verify::{DenialResponse, VerifiedKey, VerifyError};

/// What a denial hook knows of a refused request: its method and path, the prefix of the
/// key it presented (when that key parses), and why it was refused. Never the secret: the
/// prefix is the key's public id, and the path has no query string, where a key may be.
///
/// Every adapter builds it with [`ApiKeys::denied_request`] and hands it to the
/// application's hook (`on_denied` in apikeys-axum and apikeys-actix, `recover_denied` in
/// apikeys-warp), so that refusals can be logged or counted with the request's context.
#[derive(Debug)]
pub struct DeniedRequest {
    method: String,
    path: String,
    prefix: Option<String>,
    error: VerifyError,
    challenge: Arc<str>,
}

impl DeniedRequest {
    /// The request's method, e.g. `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request's path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The prefix (public id) of the presented key, when one was presented in the
    /// configured format; `None` for a missing, malformed or ambiguous key.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Why the request was refused.
    pub fn error(&self) -> &VerifyError {
        &self.error
    }

    /// The `WWW-Authenticate` value for the configured key sources
    /// ([`KeyExtractor::challenge`](crate::KeyExtractor::challenge)).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The standard response's status and body.
    pub fn response(&self) -> DenialResponse {
        self.error.response()
    }

    /// The standard response's headers, the configured challenge with a 401
    /// ([`VerifyError::standard_headers`]).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.error.standard_headers(&self.challenge)
    }
}

impl ApiKeys {
    /// The [`DeniedRequest`] for a request refused with `error`. Adapters call it on
    /// refusals only: it looks for the presented key again, to give its prefix. `verified`
    /// is the key a layer in front already verified, as for
    /// [`authenticate_request`](Self::authenticate_request).
    pub fn denied_request<H>(
        &self,
        error: VerifyError,
        method: &str,
        path: &str,
        verified: Option<&VerifiedKey>,
        headers: &H,
        query: Option<&str>,
    ) -> DeniedRequest
    where
        H: HeaderLookup + ?Sized,
    {
        let prefix = match verified {
            Some(key) => Some(key.prefix().to_owned()),
            None => self.presented_prefix(headers, query),
        };
        let denied = DeniedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            prefix,
            error,
            challenge: Arc::clone(self.extractor().challenge()),
        };
        denied.log();
        denied
    }

    /// The prefix (public id) of the key a request presents, when it presents one in the
    /// configured format: what a refusal's log line names, since the secret never is.
    pub fn presented_prefix<H>(&self, headers: &H, query: Option<&str>) -> Option<String>
    where
        H: HeaderLookup + ?Sized,
    {
        match self.extractor().extract(headers, query) {
            Ok(Some(key)) => self.format().parse(&key).map(|k| k.prefix().to_owned()),
            Ok(None) | Err(_) => None,
        }
    }
}

impl DeniedRequest {
    /// The one line per refused request, for operators: built here because every adapter
    /// builds a `DeniedRequest` for every refusal, and only here are the method, path and
    /// status known together. A refusal is routine (`info`); a failure to decide (503) is
    /// `warn`, the cause having been logged at `error` where it happened.
    fn log(&self) {
        let status = self.error.response().status;
        let prefix = self.prefix.as_deref();
        let (method, path) = (self.method.as_str(), self.path.as_str());
        let reason = self.error.outcome();
        if self.error.denial().is_some() {
            tracing::info!(reason, prefix, method, path, status, "request refused");
        } else {
            tracing::warn!(
                reason,
                error = %self.error,
                prefix,
                method,
                path,
                status,
                "request refused"
            );
        }
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use crate::{ApiKeys, Denial, KeySource, MemoryStore, NewKey};

    #[tokio::test]
    async fn the_view_has_the_prefix_and_never_the_secret() {
        let keys = ApiKeys::builder(MemoryStore::new())
            .sources([KeySource::authorization("Bearer"), KeySource::query("k")])
            .build();
        let created = keys.create(NewKey::named("hook")).await.unwrap();
        let secret = created.key.expose_secret().to_owned();
        keys.revoke(created.key.prefix()).await.unwrap();
        let headers = http::HeaderMap::new();
        let query = format!("k={secret}");
        let error = keys.verify(&secret).await.unwrap_err();
        let denied = keys.denied_request(error, "POST", "/x", None, &headers, Some(&query));
        assert_eq!(denied.method(), "POST");
        assert_eq!(denied.path(), "/x");
        assert_eq!(denied.prefix(), Some(created.key.prefix()));
        assert_eq!(denied.error().denial(), Some(Denial::Revoked));
        assert_eq!(denied.challenge(), r#"Bearer, Api-Key query="k""#);
        assert!(!format!("{denied:?}").contains(&secret));
        assert!(
            denied
                .headers()
                .contains(&("www-authenticate", denied.challenge().to_owned()))
        );

        let error = keys.verify("nonsense").await.unwrap_err();
        let malformed = keys.denied_request(error, "GET", "/", None, &headers, Some("k=nonsense"));
        assert_eq!(malformed.prefix(), None);
    }
}
