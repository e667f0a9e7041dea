//! Embedded assets.

/// The stylesheet, served at `{mount}/style.css`.
pub(crate) const STYLE: &str = include_str!("style.css");
