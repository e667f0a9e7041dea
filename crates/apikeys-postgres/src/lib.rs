#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod django;
mod error;
mod events;
mod layout;
mod limits;
mod list;
mod listener;
mod migrate;
mod row;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod trigger;
mod write;

pub use crate::cache::{CacheOptions, CacheStatus};
pub use crate::error::Error;
pub use crate::layout::DJANGO_TABLE;
pub use crate::migrate::SCHEMA_VERSION;
pub use crate::store::PostgresStore;

/// Re-exported so that applications can build a pool without naming `sqlx` themselves.
pub use sqlx;
