#![doc = include_str!("../README.md")]

mod error;
mod limits;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::error::ConnectError;
pub use crate::limits::{FailureMode, RedisLimits, RedisLimitsBuilder};
