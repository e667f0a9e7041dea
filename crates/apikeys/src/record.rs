//! The stored API key record and the input for creating one.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Error;

/// Longest key name, in characters (djangorestframework-api-key's limit).
pub const MAX_NAME_CHARS: usize = 50;
/// Longest scope, in characters.
pub const MAX_SCOPE_CHARS: usize = 100;

/// Free-form fields an application attaches to a key (an organisation id, a plan, …).
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// An API key as stored: everything but the key itself, of which only a hash is kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Unique public identifier: the part of the key before the dot.
    pub prefix: String,
    /// Hash of the whole key, e.g. `sha512$$<hex>`.
    pub hashed_key: String,
    /// A name for people: 1 to 50 characters.
    pub name: String,
    /// When the key was made (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// After this instant the key is refused as expired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// Revoked keys are refused forever: stores never turn this back to `false`.
    pub revoked: bool,
    /// What the key may do; routes require scopes.
    pub scopes: BTreeSet<String>,
    /// The application's own fields (a JSON object).
    pub metadata: Metadata,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the key, but nothing gains from printing it; its algorithm is enough.
        let algorithm = self
            .hashed_key
            .split('$')
            .find(|s| !s.is_empty())
            .unwrap_or("");
        f.debug_struct("ApiKey")
            .field("prefix", &self.prefix)
            .field("hashed_key", &format_args!("{algorithm}$…"))
            .field("name", &self.name)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("revoked", &self.revoked)
            .field("scopes", &self.scopes)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl ApiKey {
    /// Whether the key's expiry is before `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|e| e < now)
    }

    /// Neither revoked nor expired at `now` (the application's policy may still refuse it).
    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        !self.revoked && !self.is_expired_at(now)
    }

    /// Whether the key holds every one of `required`.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        required.iter().all(|s| self.scopes.contains(s.as_ref()))
    }

    /// The metadata read into the application's own type.
    pub fn metadata_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_value(serde_json::Value::Object(self.metadata.clone()))
            .map_err(|e| Error::InvalidMetadata(e.to_string()))
    }
}

/// What to create: a name, and optionally an expiry, scopes and metadata.
///
/// ```
/// # use apikeys::NewKey;
/// let new = NewKey::named("billing-service")
///     .scope("invoices:read")
///     .meta("organisation", 42);
/// ```
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub(crate) name: String,
    pub(crate) expires: Option<OffsetDateTime>,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) metadata: Metadata,
    pub(crate) metadata_error: Option<String>,
}

impl NewKey {
    /// A key named `name` (1 to 50 characters, checked at creation).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Refuse the key after `at`.
    #[must_use]
    pub fn expires(mut self, at: OffsetDateTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// Refuse the key `after` from now.
    #[must_use]
    pub fn expires_in(self, after: time::Duration) -> Self {
        self.expires(OffsetDateTime::now_utc() + after)
    }

    /// Grant one scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.insert(scope.into());
        self
    }

    /// Grant several scopes.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Set one metadata field.
    #[must_use]
    pub fn meta(mut self, field: impl Into<String>, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.metadata.insert(field.into(), value);
            }
            Err(e) => self.metadata_error = Some(e.to_string()),
        }
        self
    }

    /// Set all metadata from a value that serializes to a JSON object (a struct or map).
    #[must_use]
    pub fn metadata(mut self, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(map)) => self.metadata = map,
            Ok(_) => self.metadata_error = Some("metadata must be a JSON object".into()),
            Err(e) => self.metadata_error = Some(e.to_string()),
        }
        self
    }
}

/// Checks a key name: 1 to 50 characters, not blank, no control characters.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let count = name.chars().count();
    let reason = if name.trim().is_empty() {
        "must not be empty".to_owned()
    } else if count > MAX_NAME_CHARS {
        format!("must be at most {MAX_NAME_CHARS} characters, got {count}")
    } else if name.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(Error::InvalidName(reason))
}

/// Checks a scope: 1 to 100 characters, no whitespace or control characters.
pub fn validate_scope(scope: &str) -> Result<(), Error> {
    let count = scope.chars().count();
    if count == 0
        || count > MAX_SCOPE_CHARS
        || scope.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::InvalidScope(format!(
            "{scope:?}: a scope is 1 to {MAX_SCOPE_CHARS} characters without spaces"
        )));
    }
    Ok(())
}

/// Truncates to microseconds, the precision every store keeps (PostgreSQL's `timestamptz`).
pub(crate) fn to_stored_precision(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_microsecond(t.microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("billing").is_ok());
        assert!(validate_name(&"é".repeat(50)).is_ok());
        assert!(validate_name("日本語のキー 🔑").is_ok());
        for bad in ["", "   ", "line\nbreak", "tab\there"] {
            assert!(
                matches!(validate_name(bad), Err(Error::InvalidName(_))),
                "{bad:?}"
            );
        }
        let long = "x".repeat(51);
        let err = validate_name(&long).unwrap_err().to_string();
        assert!(err.contains("at most 50"), "{err}");
    }

    #[test]
    fn scopes() {
        assert!(validate_scope("heroes:read").is_ok());
        for bad in ["", "a b", &"s".repeat(101)] {
            assert!(validate_scope(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn typed_metadata() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Org {
            organisation: u64,
        }
        let new = NewKey::named("x").metadata(Org { organisation: 7 });
        assert!(new.metadata_error.is_none());
        let record = ApiKey {
            prefix: "p".into(),
            hashed_key: "sha512$$00".into(),
            name: "x".into(),
            created: OffsetDateTime::UNIX_EPOCH,
            expires: None,
            revoked: false,
            scopes: BTreeSet::new(),
            metadata: new.metadata,
        };
        assert_eq!(
            record.metadata_as::<Org>().unwrap(),
            Org { organisation: 7 }
        );
        assert!(NewKey::named("x").metadata(5).metadata_error.is_some());
        assert!(!format!("{record:?}").contains("$$00"));
    }

    #[test]
    fn precision_is_microseconds() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.123456789 UTC);
        assert_eq!(to_stored_precision(t).nanosecond(), 123_456_000);
    }
}
