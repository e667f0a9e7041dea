#![doc = include_str!("../README.md")]

mod layer;
mod request;
mod rules;
mod status;

pub use crate::layer::{ApiKeyLayer, ApiKeyService};
pub use crate::request::{require_key, verified_key};
pub use crate::status::{
    PERMISSION_DENIED_MESSAGE, RESOURCE_EXHAUSTED_MESSAGE, UNAUTHENTICATED_MESSAGE,
    UNAVAILABLE_MESSAGE, denial_status,
};

/// Re-exported so applications need not name the core crate for the common types.
pub use apikeys::{ApiKeys, KeySource, VerifiedKey, VerifyError};
