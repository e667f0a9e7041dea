#![doc = include_str!("../README.md")]

mod filters;
mod rejection;

pub use crate::filters::{optional, optional_for, verified, verified_for, verified_with_scopes};
pub use crate::rejection::{
    ApiKeyRejection, denial_response, denied_response, recover, recover_denied, recover_with,
};
pub use apikeys::{NoScopes, Scopes, scopes};

/// Re-exported so applications need not name the core crate for the common types.
pub use apikeys::{ApiKeys, DeniedRequest, VerifiedKey, VerifyError};
