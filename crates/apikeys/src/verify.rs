//! Outcomes of verification and how HTTP answers them.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::TaskError;
use crate::limits::{LimiterError, Usage};
use crate::record::{ApiKey, Metadata, MetadataError};
use crate::store::StoreError;

/// Why access was denied: the reason code for logs and metrics. Never sent to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denial {
    /// No key in any configured source.
    Missing,
    /// Something was presented, but it is not a key of the configured format.
    Malformed,
    /// No key with this prefix.
    NotFound,
    /// The prefix exists but the secret is wrong.
    InvalidSecret,
    /// The key was revoked.
    Revoked,
    /// The key is disabled (reversibly suspended).
    Disabled,
    /// The key's expiry has passed.
    Expired,
    /// The application's policy refused the key.
    Rejected,
    /// The key lacks a scope the route requires.
    InsufficientScope,
    /// The key is over its rate limit (or the route's): HTTP 429 with `Retry-After`.
    RateLimited,
    /// The key has no credits left for this request: HTTP 429, with `Retry-After` only
    /// when a refill is scheduled.
    UsageExceeded,
}

impl Denial {
    /// The reason code in snake case, e.g. `invalid_secret`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::NotFound => "not_found",
            Self::InvalidSecret => "invalid_secret",
            Self::Revoked => "revoked",
            Self::Disabled => "disabled",
            Self::Expired => "expired",
            Self::Rejected => "rejected",
            Self::InsufficientScope => "insufficient_scope",
            Self::RateLimited => "rate_limited",
            Self::UsageExceeded => "usage_exceeded",
        }
    }

    /// Whether the key is valid but over a usage limit (429).
    pub fn is_over_limit(self) -> bool {
        matches!(self, Self::RateLimited | Self::UsageExceeded)
    }

    /// Whether the client is known but not allowed (403) rather than unauthenticated (401).
    pub fn is_forbidden(self) -> bool {
        matches!(self, Self::Rejected | Self::InsufficientScope)
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Verification did not grant access.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Access denied, with the reason.
    #[error("API key denied: {0}")]
    Denied(Denial),
    /// The store failed: a denial would be a lie, so this is a separate outcome (HTTP 503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The application's policy failed to decide (HTTP 503).
    #[error("API key policy failed: {0}")]
    Policy(#[source] Box<dyn StdError + Send + Sync>),
    /// Background hashing did not finish (HTTP 503).
    #[error("API key verification failed")]
    Task(#[from] TaskError),
    /// Over a usage limit ([`Denial::RateLimited`] or [`Denial::UsageExceeded`]), with where
    /// the key stands, for the 429's headers.
    #[error("API key denied: {denial}")]
    Limited {
        /// The reason.
        denial: Denial,
        /// The key's standing against its limits.
        usage: Box<Usage>,
    },
    /// The rate limiter or credit ledger failed and is configured to fail closed (HTTP 503).
    #[error("API key usage limits unavailable")]
    Limiter(#[source] LimiterError),
    /// Too many expensive hash checks were already running, and none finished within the
    /// configured wait (HTTP 503): see
    /// [`ApiKeysBuilder::max_concurrent_hash_checks`](crate::ApiKeysBuilder::max_concurrent_hash_checks).
    #[error("too many API key verifications in progress")]
    Overloaded,
}

impl From<Denial> for VerifyError {
    fn from(denial: Denial) -> Self {
        Self::Denied(denial)
    }
}

impl VerifyError {
    /// The outcome code for logs and metrics (the `outcome` label of
    /// `apikeys_verifications_total` with the feature `metrics`): the denial's
    /// [`Denial::code`] (`rate_limited` and `usage_exceeded` for refusals over a limit),
    /// else `store_error`, `policy_error`, `task_error`, `limiter_error` or `overloaded`.
    /// A granted verification's outcome is `granted`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Denied(denial) | Self::Limited { denial, .. } => denial.code(),
            Self::Store(_) => "store_error",
            Self::Policy(_) => "policy_error",
            Self::Task(_) => "task_error",
            Self::Limiter(_) => "limiter_error",
            Self::Overloaded => "overloaded",
        }
    }

    /// The denial reason, if this is a denial.
    pub fn denial(&self) -> Option<Denial> {
        match self {
            Self::Denied(d) | Self::Limited { denial: d, .. } => Some(*d),
            _ => None,
        }
    }

    /// Where the key stood against its limits, for a refusal over a limit.
    pub fn usage(&self) -> Option<&Usage> {
        match self {
            Self::Limited { usage, .. } => Some(usage),
            _ => None,
        }
    }

    /// The headers every adapter adds to [`response`](Self::response): for a 429,
    /// `Retry-After` (when waiting helps) and the `RateLimit-Policy` / `RateLimit` headers;
    /// none otherwise.
    pub fn response_headers(&self) -> Vec<(&'static str, String)> {
        self.usage().map(Usage::headers).unwrap_or_default()
    }

    /// Every header of the standard response: `Content-Type`, `WWW-Authenticate:
    /// <challenge>` with a 401 (adapters pass the configured sources'
    /// [`challenge`](crate::KeyExtractor::challenge)), and for a 429 those of
    /// [`response_headers`](Self::response_headers).
    pub fn standard_headers(&self, challenge: &str) -> Vec<(&'static str, String)> {
        let response = self.response();
        let mut headers = vec![("content-type", DenialResponse::CONTENT_TYPE.to_owned())];
        if response.www_authenticate.is_some() {
            headers.push(("www-authenticate", challenge.to_owned()));
        }
        headers.extend(self.response_headers());
        headers
    }

    /// The HTTP response every adapter sends for this outcome.
    pub fn response(&self) -> DenialResponse {
        match self {
            Self::Denied(d) | Self::Limited { denial: d, .. } if d.is_over_limit() => {
                DenialResponse::TOO_MANY_REQUESTS
            }
            Self::Denied(d) if d.is_forbidden() => DenialResponse::FORBIDDEN,
            Self::Denied(_) => DenialResponse::UNAUTHORIZED,
            _ => DenialResponse::UNAVAILABLE,
        }
    }
}

/// A framework-neutral HTTP answer to a refused request: status, an optional
/// `WWW-Authenticate` challenge and a small generic JSON body that reveals no reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenialResponse {
    /// HTTP status code.
    pub status: u16,
    /// Value of the `WWW-Authenticate` header, sent with 401: here the default sources'
    /// `Api-Key`; adapters send the configured sources'
    /// [`challenge`](crate::KeyExtractor::challenge) in its place.
    pub www_authenticate: Option<&'static str>,
    /// JSON body.
    pub body: &'static str,
}

impl DenialResponse {
    /// Content type of [`DenialResponse::body`].
    pub const CONTENT_TYPE: &'static str = "application/json";
    /// 401: no usable key.
    pub const UNAUTHORIZED: Self = Self {
        status: 401,
        www_authenticate: Some("Api-Key"),
        body: r#"{"error":"unauthorized","detail":"A valid API key is required."}"#,
    };
    /// 403: a valid key that may not do this.
    pub const FORBIDDEN: Self = Self {
        status: 403,
        www_authenticate: None,
        body: r#"{"error":"forbidden","detail":"This API key is not allowed to do this."}"#,
    };
    /// 429: a valid key over its rate limit or out of credits; see
    /// [`VerifyError::response_headers`] for `Retry-After` and the `RateLimit` headers.
    pub const TOO_MANY_REQUESTS: Self = Self {
        status: 429,
        www_authenticate: None,
        body: r#"{"error":"too_many_requests","detail":"This API key is over its usage limit."}"#,
    };
    /// 503: the key store or policy failed, or verification is overloaded.
    pub const UNAVAILABLE: Self = Self {
        status: 503,
        www_authenticate: None,
        body: r#"{"error":"unavailable","detail":"API key verification is unavailable; try again later."}"#,
    };
}

/// A key that passed verification: what a handler may know about its caller.
#[derive(Clone)]
pub struct VerifiedKey {
    record: Arc<ApiKey>,
    usage: Usage,
}

impl fmt::Debug for VerifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedKey")
            .field("prefix", &self.record.prefix)
            .field("name", &self.record.name)
            .field("scopes", &self.record.scopes)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

impl VerifiedKey {
    pub(crate) fn new(record: Arc<ApiKey>) -> Self {
        Self {
            record,
            usage: Usage::default(),
        }
    }

    pub(crate) fn record(&self) -> &Arc<ApiKey> {
        &self.record
    }

    pub(crate) fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Where the key stands against its rate limit and credits after this request (empty
    /// when it has neither): what the `RateLimit` headers of a granted response report.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Credits left after this request, when the key has credits (and they were counted).
    pub fn remaining_credits(&self) -> Option<u64> {
        self.usage.credits.map(|c| c.remaining)
    }

    /// Requests that may still come at once under the rate limit, when the key has one
    /// (and the limiter could tell).
    pub fn remaining_requests(&self) -> Option<u32> {
        self.usage.rate.map(|r| r.remaining())
    }

    /// The key's prefix (its public id).
    pub fn prefix(&self) -> &str {
        &self.record.prefix
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The key's scopes.
    pub fn scopes(&self) -> &std::collections::BTreeSet<String> {
        &self.record.scopes
    }

    /// Whether the key holds every one of `required`.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        self.record.has_scopes(required)
    }

    /// Refuses with [`Denial::InsufficientScope`] (logged like every denial) unless the key
    /// holds every one of `required`. For a key verified earlier, e.g. by a layer, that a
    /// route with stricter scopes sees again.
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<(), VerifyError> {
        if self.has_scopes(required) {
            return Ok(());
        }
        let error = Denial::InsufficientScope.into();
        log_refusal(&error, Some(self.prefix()));
        Err(error)
    }

    /// The application's fields.
    pub fn metadata(&self) -> &Metadata {
        &self.record.metadata
    }

    /// The application's fields as its own type.
    pub fn metadata_as<T: DeserializeOwned>(&self) -> Result<T, MetadataError> {
        self.record.metadata_as()
    }

    /// When the key was created.
    pub fn created(&self) -> OffsetDateTime {
        self.record.created
    }

    /// When the key expires, if ever.
    pub fn expires(&self) -> Option<OffsetDateTime> {
        self.record.expires
    }
}

/// Logs a refusal once, in one format, wherever it is decided: the reason code (never the
/// key) and, when known, the key's public prefix. A denial is `debug` here: behind an HTTP
/// adapter the request's own line ([`DeniedRequest`](crate::DeniedRequest), `info`) says it
/// with the method, path and status. A failure is `error` here, with its cause.
pub(crate) fn log_refusal(error: &VerifyError, prefix: Option<&str>) {
    match error {
        VerifyError::Denied(denial) | VerifyError::Limited { denial, .. } => {
            tracing::debug!(reason = denial.code(), prefix, "API key denied");
        }
        VerifyError::Overloaded => {
            tracing::warn!(
                prefix,
                "API key verification refused: hash checks overloaded"
            );
        }
        other => tracing::error!(error = %other, prefix, "API key verification failed"),
    }
}
