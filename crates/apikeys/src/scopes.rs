//! Scopes a route requires, named by a type so that an extractor can carry them. Shared
//! by the adapters, which re-export it.

/// Scopes a route requires, as a type: adapters' extractors carry them (e.g.
/// `apikeys_axum::Verified<HeroesRead>`). Declare one with
/// [`scopes!`](crate::scopes!).
pub trait Scopes: Send + Sync + 'static {
    /// Every scope the key must hold.
    const SCOPES: &'static [&'static str];
}

/// No scopes required: any valid key.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScopes;

impl Scopes for NoScopes {
    const SCOPES: &'static [&'static str] = &[];
}

/// Declares a marker type implementing [`Scopes`].
///
/// ```
/// apikeys::scopes!(pub HeroesWrite = ["heroes:read", "heroes:write"]);
/// use apikeys::Scopes;
/// assert_eq!(HeroesWrite::SCOPES, ["heroes:read", "heroes:write"]);
/// ```
#[macro_export]
macro_rules! scopes {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($scope:expr),* $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::Scopes for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),*];
        }
    };
}
