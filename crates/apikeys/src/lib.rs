#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod cache_metrics;
mod challenge;
mod denied;
mod error;
mod extract;
mod format;
mod gate;
mod hash;
mod json;
mod last_used;
mod lifecycle;
mod limits;
mod manager;
mod matched;
mod memory;
mod plaintext;
mod policy;
mod query;
mod record;
mod request;
mod scopes;
mod store;
mod telemetry;
mod validation;
mod verify;

#[cfg(feature = "testing")]
pub mod testing;

pub use crate::audit::{AuditAction, AuditEvent, AuditSink};
pub use crate::cache_metrics::CacheMetrics;
pub use crate::denied::DeniedRequest;
pub use crate::error::{Error, TaskError};
pub use crate::extract::{Ambiguous, HeaderLookup, KeyExtractor, KeySource, KeySourceKind};
pub use crate::format::{FormatError, KeyFormat, KeyFormatBuilder, ParsedKey, RandomError};
#[cfg(feature = "argon2")]
pub use crate::hash::Argon2Hasher;
#[cfg(feature = "django")]
pub use crate::hash::DjangoHasher;
#[cfg(feature = "scrypt")]
pub use crate::hash::ScryptHasher;
#[cfg(feature = "sha512")]
pub use crate::hash::Sha512Hasher;
pub use crate::hash::{HashCheck, HashError, Hashers, KeyHasher};
pub use crate::json::{record_json, rfc3339};
pub use crate::lifecycle::{Change, Edit, Modified, Refusal, Retirement, Roll, Rolled};
pub use crate::limits::{
    CreditLedger, Credits, CreditsChange, CreditsError, DurationError, LimiterError, LocalLimiter,
    MAX_CREDITS, RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER, RateDecision, RateLimit, RateLimitError,
    RateLimiter, RateState, Refill, RefillInterval, Spend, Usage,
};
pub use crate::manager::{ApiKeys, ApiKeysBuilder, CreatedKey, Revocation, RolledKey, RouteLimits};
pub use crate::memory::MemoryStore;
pub use crate::plaintext::PlaintextKey;
pub use crate::policy::{KeyPolicy, policy_fn};
pub use crate::query::{Cursor, KeyFields, KeyFilter, ListQuery, Search, StatusFilter};
pub use crate::record::{ApiKey, Metadata, MetadataError, NewKey};
pub use crate::request::Presence;
pub use crate::scopes::{NoScopes, Scopes};
pub use crate::store::{Capabilities, KeyStore, Page, StoreError};
pub use crate::validation::{
    Field, MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_NAME_CHARS, MAX_OWNER_CHARS,
    MAX_SCOPE_CHARS, ValidationError, validate_expiry, validate_metadata, validate_name,
    validate_owner, validate_scope,
};
pub use crate::verify::{Denial, DenialResponse, VerifiedKey, VerifyError};

/// Re-exported for stores and applications: `async_trait` for implementing [`KeyStore`]
/// and [`KeyPolicy`], `time` for timestamps.
pub use async_trait::async_trait;
pub use time;
