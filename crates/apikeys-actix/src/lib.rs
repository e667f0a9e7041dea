#![doc = include_str!("../README.md")]

mod config;
mod extract;
mod headers;
mod middleware;

pub use crate::config::{ApiKeyConfig, ApiKeyError, denial_response};
pub use crate::extract::{MaybeVerified, Verified};
pub use crate::middleware::{RequireApiKey, RequireApiKeyService};
pub use apikeys::{NoScopes, Scopes, scopes};

/// Re-exported so applications need not name the core crate for the common types.
pub use apikeys::{ApiKeys, VerifiedKey, VerifyError};
