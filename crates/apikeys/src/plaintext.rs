//! The full key, shown once at creation.

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

/// A full API key in plaintext, as returned once by [`ApiKeys::create`](crate::ApiKeys::create).
///
/// Its memory is zeroized on drop; `Debug` and `Display` print only the prefix. Hand the
/// key to its owner with [`expose_secret`](Self::expose_secret) and then drop it: it is never
/// stored and cannot be recovered.
pub struct PlaintextKey {
    key: Zeroizing<String>,
    prefix: Range<usize>,
}

impl PlaintextKey {
    pub(crate) fn new(key: Zeroizing<String>, prefix: Range<usize>) -> Self {
        Self { key, prefix }
    }

    /// The full key. The name is deliberate: every call site is a place where the secret
    /// leaves the library.
    pub fn expose_secret(&self) -> &str {
        &self.key
    }

    /// The key's prefix, its public identifier.
    pub fn prefix(&self) -> &str {
        &self.key[self.prefix.clone()]
    }
}

impl fmt::Debug for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaintextKey")
            .field("prefix", &self.prefix())
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl fmt::Display for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.[redacted]", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use crate::KeyFormat;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = KeyFormat::default().generate().unwrap();
        let secret = &key.expose_secret()[9..];
        let debug = format!("{key:?}");
        let display = key.to_string();
        assert!(!debug.contains(secret), "{debug}");
        assert!(!display.contains(secret), "{display}");
        assert!(debug.contains(key.prefix()));
        assert!(display.contains(key.prefix()));
    }
}
