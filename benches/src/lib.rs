#![doc = include_str!("../README.md")]
//!
//! The benchmarks are under `benches/`; this library holds what they and the HTTP script
//! share: the [`million`]-key redb store.

pub mod million;
