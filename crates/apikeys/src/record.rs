//! The stored API key record and the input for creating one.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::limits::{Credits, MAX_CREDITS, RateLimit, Refill};
use crate::validation::{
    ValidationError, validate_expiry, validate_metadata, validate_name, validate_owner,
    validate_scope,
};

/// Free-form fields an application attaches to a key (an organisation id, a plan, …).
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// An API key as stored: everything but the key itself, of which only a hash is kept.
///
/// The lifecycle fields (`owner` to `successor`) default when absent, so records serialized
/// before they existed still read.
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
    /// Who the key belongs to (an organisation or customer id, 1 to 100 characters);
    /// listings filter by it exactly.
    #[serde(default)]
    pub owner: Option<String>,
    /// Suspended: refused as [`Denial::Disabled`](crate::Denial::Disabled) until enabled
    /// again. Unlike revocation, reversible.
    #[serde(default)]
    pub disabled: bool,
    /// When the key was last granted, as far as recorded (written behind, at most once per
    /// key per interval, so it may lag by that interval). Only ever moves forward.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// The key this one replaced by a roll.
    #[serde(default)]
    pub predecessor: Option<String>,
    /// The key that replaced this one by a roll. A key is rolled at most once.
    #[serde(default)]
    pub successor: Option<String>,
    /// At most this many requests per period, enforced during verification (the manager's
    /// default limit applies to keys without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Requests the key may still make, optionally refilled; spent atomically by the store
    /// (or a [`CreditLedger`](crate::CreditLedger)) during verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
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
            .field("owner", &self.owner)
            .field("disabled", &self.disabled)
            .field("last_used", &self.last_used)
            .field("predecessor", &self.predecessor)
            .field("successor", &self.successor)
            .field("rate_limit", &self.rate_limit)
            .field("credits", &self.credits)
            .finish()
    }
}

impl ApiKey {
    /// An active record without expiry, scopes, metadata or lifecycle fields: the start of
    /// a record a store decodes or a test builds.
    pub fn new(
        prefix: impl Into<String>,
        hashed_key: impl Into<String>,
        name: impl Into<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            prefix: prefix.into(),
            hashed_key: hashed_key.into(),
            name: name.into(),
            created,
            expires: None,
            revoked: false,
            scopes: BTreeSet::new(),
            metadata: Metadata::new(),
            owner: None,
            disabled: false,
            last_used: None,
            predecessor: None,
            successor: None,
            rate_limit: None,
            credits: None,
        }
    }

    /// Whether the key's expiry is before `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|e| e < now)
    }

    /// Neither revoked, disabled nor expired at `now` (the application's policy may still
    /// refuse it).
    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        !self.revoked && !self.disabled && !self.is_expired_at(now)
    }

    /// Whether the key holds every one of `required`.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        required.iter().all(|s| self.scopes.contains(s.as_ref()))
    }

    /// The metadata read into the application's own type.
    pub fn metadata_as<T: DeserializeOwned>(&self) -> Result<T, MetadataError> {
        T::deserialize(&serde_json::Value::Object(self.metadata.clone())).map_err(MetadataError)
    }
}

/// A key's metadata does not fit the type a handler asked for.
#[derive(Debug, thiserror::Error)]
#[error("the API key's metadata does not fit the requested type")]
pub struct MetadataError(#[source] serde_json::Error);

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
    pub(crate) owner: Option<String>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) credits: Option<u64>,
    pub(crate) refill: Option<Refill>,
    /// The first builder call that could not be honoured, reported by `create`.
    pub(crate) invalid: Option<ValidationError>,
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
    pub fn expires_in(mut self, after: time::Duration) -> Self {
        if let Some(at) = OffsetDateTime::now_utc().checked_add(after) {
            self.expires(at)
        } else {
            self.fail(ValidationError::ExpiryOutOfRange);
            self
        }
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
            Err(e) => self.fail(ValidationError::MetadataNotSerializable(Arc::new(e))),
        }
        self
    }

    /// Set all metadata from a value that serializes to a JSON object (a struct or map).
    #[must_use]
    pub fn metadata(mut self, value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(map)) => self.metadata = map,
            Ok(_) => self.fail(ValidationError::MetadataNotAnObject),
            Err(e) => self.fail(ValidationError::MetadataNotSerializable(Arc::new(e))),
        }
        self
    }

    /// The key belongs to `owner` (an organisation or customer id, 1 to 100 characters).
    #[must_use]
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// At most `limit` requests, e.g. `"100/s".parse()?`.
    #[must_use]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// The key may make `remaining` requests (of cost 1), at most [`MAX_CREDITS`].
    #[must_use]
    pub fn credits(mut self, remaining: u64) -> Self {
        self.credits = Some(remaining);
        self
    }

    /// Its credits are set back to `refill.amount` on every boundary of `refill.interval`
    /// (with no [`credits`](Self::credits), the key starts with `refill.amount`).
    #[must_use]
    pub fn refill(mut self, refill: Refill) -> Self {
        self.refill = Some(refill);
        self
    }

    /// The credits a key created at `now` starts with.
    pub(crate) fn initial_credits(&self, now: OffsetDateTime) -> Option<Credits> {
        let remaining = self.credits.or(self.refill.map(|r| r.amount))?;
        let credits = Credits {
            remaining,
            refill: self.refill,
            period_start: now,
        };
        Some(credits)
    }

    fn fail(&mut self, error: ValidationError) {
        self.invalid.get_or_insert(error);
    }

    /// Checks every field as [`ApiKeys::create`](crate::ApiKeys::create) does, and brings
    /// the expiry to stored precision.
    pub(crate) fn validated(mut self) -> Result<Self, ValidationError> {
        if let Some(error) = self.invalid.take() {
            return Err(error);
        }
        validate_name(&self.name)?;
        for scope in &self.scopes {
            validate_scope(scope)?;
        }
        validate_metadata(&self.metadata)?;
        if let Some(owner) = &self.owner {
            validate_owner(owner)?;
        }
        self.expires = self.expires.map(validate_expiry).transpose()?;
        if self.credits.is_some_and(|c| c > MAX_CREDITS) {
            return Err(ValidationError::CreditsOutOfRange);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_metadata() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Org {
            organisation: u64,
        }
        let new = NewKey::named("x").metadata(Org { organisation: 7 });
        assert!(new.invalid.is_none());
        let record = ApiKey {
            metadata: new.metadata,
            ..ApiKey::new("p", "sha512$$00", "x", OffsetDateTime::UNIX_EPOCH)
        };
        assert_eq!(
            record.metadata_as::<Org>().unwrap(),
            Org { organisation: 7 }
        );
        assert!(record.metadata_as::<Vec<u8>>().is_err());
        assert!(matches!(
            NewKey::named("x").metadata(5).invalid,
            Some(ValidationError::MetadataNotAnObject)
        ));
        assert!(!format!("{record:?}").contains("$$00"));
    }

    #[test]
    fn builder_errors_surface_at_validation() {
        let far = NewKey::named("x").expires_in(time::Duration::days(3_000_000));
        assert!(matches!(
            far.validated(),
            Err(ValidationError::ExpiryOutOfRange)
        ));
        let bad_scope = NewKey::named("x").scope("a,b");
        assert!(bad_scope.validated().is_err());
        let bad_owner = NewKey::named("x").owner("o".repeat(101));
        assert_eq!(
            bad_owner.validated().unwrap_err().field(),
            crate::Field::Owner
        );
        let ok = NewKey::named("x")
            .expires(time::macros::datetime!(2030-01-01 00:00:00.1234567 +01:00))
            .validated()
            .unwrap();
        assert_eq!(ok.expires.unwrap().offset(), time::UtcOffset::UTC);
    }
}
