#![doc = include_str!("../README.md")]

mod extract;
mod layer;
mod response;

pub use crate::extract::{ApiKeyRejection, Verified};
pub use crate::layer::{ApiKeyLayer, ApiKeyService};
pub use crate::response::{OnDenial, denial_response, denied_response};
pub use apikeys::{NoScopes, Scopes, scopes};

/// Re-exported so applications need not name the core crate for the common types.
pub use apikeys::{ApiKeys, DeniedRequest, VerifiedKey, VerifyError};
