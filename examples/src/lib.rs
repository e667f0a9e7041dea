//! Runnable example servers and customisation examples for apikeys (not published).

/// The project README's examples, compiled and run as doctests. They live here because this
/// crate depends on every adapter.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ProjectReadme;
