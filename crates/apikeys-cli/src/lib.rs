#![doc = include_str!("../README.md")]

mod args;
mod decode;
mod location;
mod remote;

pub use crate::args::StoreArgs;
pub use crate::decode::{DecodeError, decode_record};
pub use crate::location::{StoreLocation, StoreOpenError};
pub use crate::remote::{AdminClient, RemoteError};
