#![doc = include_str!("../README.md")]

mod cache;
mod codec;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod list;
mod open;
mod shared;
mod spending;
mod store;
mod tables;
mod writes;

pub use crate::error::{OpenError, TooNew};
pub use crate::open::{DEFAULT_CACHE_CAPACITY, DEFAULT_CREDIT_FLUSH_INTERVAL, RedbStoreBuilder};
pub use crate::store::RedbStore;
