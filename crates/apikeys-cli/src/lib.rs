#![doc = include_str!("../README.md")]

mod location;
mod parse;

pub use crate::location::{StoreLocation, StoreOpenError, open_store};
pub use crate::parse::{parse_duration, parse_meta, parse_timestamp};
