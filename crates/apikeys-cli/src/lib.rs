#![doc = include_str!("../README.md")]

mod args;
mod location;

pub use crate::args::StoreArgs;
pub use crate::location::{StoreLocation, StoreOpenError};
