//! Errors of setting up the Redis connection.

use std::error::Error as StdError;

/// Why [`RedisLimits`](crate::RedisLimits) could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL (`redis://host:port/db`).
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] Box<dyn StdError + Send + Sync>),
    /// Redis did not answer (only [`connect`](crate::RedisLimitsBuilder::connect) asks).
    #[error("could not reach Redis")]
    Unreachable(#[source] Box<dyn StdError + Send + Sync>),
}
