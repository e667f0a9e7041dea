//! Runnable example servers and customisation examples for apikeys (not published).
//!
//! The binaries `axum-server`, `actix-server` and `warp-server` serve the same three routes
//! with the same command line ([`ServerArgs`]); `quickstart` creates a key and serves the
//! axum routes; `grpc-server` serves the gRPC health service behind keys with the same
//! command line. This library holds what they share. The HTTP servers also answer
//! `GET /metrics` (Prometheus text, no key needed): [`install_metrics`].

mod args;
mod body;
mod prometheus;

pub mod actix_app;
pub mod axum_app;
pub mod warp_app;

pub use crate::args::{
    LogFormat, ServerArgs, StartError, create_startup_key, init_logging, log_start, prepare,
    prepare_and_bind, print_created_key,
};
pub use crate::body::{HEROES_SCOPE, heroes_body, ping_body, public_body};
pub use crate::prometheus::{METRICS_CONTENT_TYPE, install_metrics, render_metrics};

/// Prints where the server listens, the line the tests (and people) wait for.
pub fn announce(addr: std::net::SocketAddr) {
    println!("listening on http://{addr}");
}

/// The project README's examples, compiled and run as doctests. They live here because this
/// crate depends on every adapter and store.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ProjectReadme;
