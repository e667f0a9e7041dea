#![doc = include_str!("../README.md")]
//!
//! This library is empty: the benchmarks are under `benches/`.
