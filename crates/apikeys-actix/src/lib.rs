#![doc = include_str!("../README.md")]

mod config;
mod extract;
mod headers;
mod middleware;

#[allow(deprecated)]
pub use crate::config::ApiKeyError;
pub use crate::config::{ApiKeyConfig, ApiKeyRejection, denial_response, denied_response};
pub use crate::extract::{MaybeVerified, Verified};
#[allow(deprecated)]
pub use crate::middleware::RequireApiKey;
pub use crate::middleware::{ApiKeyMiddleware, ApiKeyMiddlewareService};
pub use apikeys::{NoScopes, Scopes, scopes};

/// Re-exported so applications need not name the core crate for the common types.
pub use apikeys::{ApiKeys, DeniedRequest, VerifiedKey, VerifyError};
