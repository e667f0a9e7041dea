//! The writes a store applies atomically after creation: one [`Change`] of a key, or a
//! [`Roll`] to a successor. Each is a pure function of the stored record, so a store
//! applies it to the record as it is *inside* its transaction, never to a copy read before.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::limits::{Credits, RateLimit};
use crate::record::{ApiKey, Metadata};

/// An edit of a key's editable fields; each field left `None` is not changed. Built with
/// one method per field:
///
/// ```
/// # use apikeys::Edit;
/// let edit = Edit::new().name("billing v2").scopes(["invoices:read"]).no_expiry();
/// assert!(!edit.is_empty());
/// ```
///
/// The revocation, the hash and the prefix are not editable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Edit {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new set of scopes, replacing the old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<BTreeSet<String>>,
    /// New metadata, replacing the old object whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// A new expiry; `Some(None)` removes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option_time"
    )]
    pub expires: Option<Option<OffsetDateTime>>,
    /// A new owner; `Some(None)` removes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub owner: Option<Option<String>>,
    /// A new rate limit; `Some(None)` removes it (the manager's default then applies).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub rate_limit: Option<Option<RateLimit>>,
    /// New credits (count, refill and period, replacing the old whole); `Some(None)`
    /// removes them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "double_option"
    )]
    pub credits: Option<Option<Credits>>,
}

impl Edit {
    /// An edit that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rename the key.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replace the key's scopes.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Replace the key's metadata.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Refuse the key after `at`.
    #[must_use]
    pub fn expires(mut self, at: OffsetDateTime) -> Self {
        self.expires = Some(Some(at));
        self
    }

    /// Remove the key's expiry.
    #[must_use]
    pub fn no_expiry(mut self) -> Self {
        self.expires = Some(None);
        self
    }

    /// Give the key to `owner`.
    #[must_use]
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(Some(owner.into()));
        self
    }

    /// Remove the key's owner.
    #[must_use]
    pub fn no_owner(mut self) -> Self {
        self.owner = Some(None);
        self
    }

    /// Limit the key to `limit`.
    #[must_use]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(Some(limit));
        self
    }

    /// Remove the key's own rate limit.
    #[must_use]
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = Some(None);
        self
    }

    /// Set the key's credits (e.g. `Credits::new(1000, now)?.with_refill(refill)`).
    #[must_use]
    pub fn credits(mut self, credits: Credits) -> Self {
        self.credits = Some(Some(credits));
        self
    }

    /// Remove the key's credits: its requests are no longer counted.
    #[must_use]
    pub fn no_credits(mut self) -> Self {
        self.credits = Some(None);
        self
    }

    /// Whether the edit sets no field.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every field it sets as creation does, and brings the expiry to stored
    /// precision.
    pub(crate) fn validated(mut self) -> Result<Self, crate::ValidationError> {
        use crate::validation::{
            validate_expiry, validate_metadata, validate_name, validate_owner, validate_scope,
        };
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        for scope in self.scopes.iter().flatten() {
            validate_scope(scope)?;
        }
        if let Some(metadata) = &self.metadata {
            validate_metadata(metadata)?;
        }
        if let Some(Some(owner)) = &self.owner {
            validate_owner(owner)?;
        }
        if let Some(Some(at)) = self.expires {
            self.expires = Some(Some(validate_expiry(at)?));
        }
        if let Some(Some(credits)) = &self.credits {
            credits
                .validate()
                .map_err(|_| crate::ValidationError::CreditsOutOfRange)?;
        }
        Ok(self)
    }

    /// Applies the edit; whether anything differs.
    fn apply(&self, key: &mut ApiKey) -> bool {
        fn set<T: PartialEq + Clone>(slot: &mut T, value: Option<&T>) -> bool {
            match value {
                Some(v) if slot != v => {
                    slot.clone_from(v);
                    true
                }
                _ => false,
            }
        }
        // Not short-circuiting: every field is applied.
        set(&mut key.name, self.name.as_ref())
            | set(&mut key.scopes, self.scopes.as_ref())
            | set(&mut key.metadata, self.metadata.as_ref())
            | set(&mut key.expires, self.expires.as_ref())
            | set(&mut key.owner, self.owner.as_ref())
            | set(&mut key.rate_limit, self.rate_limit.as_ref())
            | set(&mut key.credits, self.credits.as_ref())
    }
}

#[allow(
    clippy::option_option,
    reason = "unset, cleared and set are the three cases"
)]
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

mod double_option_time {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    #[allow(
        clippy::ref_option,
        clippy::option_option,
        reason = "serde's `with` hands over `&Option<_>`; unset, cleared and set are the three cases"
    )]
    pub(super) fn serialize<S: Serializer>(
        value: &Option<Option<OffsetDateTime>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::option::serialize(&value.flatten(), serializer)
    }

    #[allow(
        clippy::option_option,
        reason = "unset, cleared and set are the three cases"
    )]
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
        time::serde::rfc3339::option::deserialize(deserializer).map(Some)
    }
}

/// One change of a stored key, applied atomically by [`KeyStore::modify`](crate::KeyStore::modify)
/// to the record as stored at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Edit the editable fields.
    Edit(Edit),
    /// Revoke, for good. Must work even on a record the store cannot decode.
    Revoke,
    /// Suspend (reversible). Refused on a revoked key.
    Disable,
    /// Lift a suspension. Refused on a revoked key.
    Enable,
    /// Replace the hash, only if the stored hash is still `expected` (a compare-and-set:
    /// the transparent upgrade after a slow legacy check must not undo what changed since).
    ReplaceHash {
        /// The hash that was checked.
        expected: String,
        /// The new hash.
        new: String,
    },
}

impl Change {
    /// Applies the change to `key` as stored: `Ok(true)` if it changed something,
    /// `Ok(false)` if the record already was so (nothing to write), or the reason it is
    /// refused. Stores call this inside their write transaction.
    pub fn apply(&self, key: &mut ApiKey) -> Result<bool, Refusal> {
        match self {
            Self::Edit(edit) => Ok(edit.apply(key)),
            Self::Revoke => Ok(!std::mem::replace(&mut key.revoked, true)),
            Self::Disable | Self::Enable if key.revoked => Err(Refusal::Revoked),
            Self::Disable => Ok(!std::mem::replace(&mut key.disabled, true)),
            Self::Enable => Ok(std::mem::replace(&mut key.disabled, false)),
            Self::ReplaceHash { expected, new } => {
                if key.hashed_key != *expected {
                    return Err(Refusal::HashChanged);
                }
                Ok(std::mem::replace(&mut key.hashed_key, new.clone()) != *new)
            }
        }
    }
}

/// Why a store refused a lifecycle write. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The key is revoked (it cannot be enabled, disabled or rolled).
    #[error("the key is revoked")]
    Revoked,
    /// The key has expired (it cannot be rolled).
    #[error("the key has expired")]
    Expired,
    /// The key was rolled already (a key has at most one successor).
    #[error("the key was already rolled to {successor:?}")]
    AlreadyRolled {
        /// Its successor's prefix.
        successor: String,
    },
    /// The stored hash is no longer the one that was checked.
    #[error("the stored hash changed meanwhile")]
    HashChanged,
}

/// What becomes of the old key when it is rolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retirement {
    /// Revoked at once (a grace period of zero).
    RevokeNow,
    /// Keeps working until this instant, or until its own expiry if that is earlier.
    #[serde(with = "time::serde::rfc3339")]
    ExpireAt(OffsetDateTime),
}

/// A rotation: a successor key replaces `prefix`, atomically.
///
/// The successor takes the old key's name, scopes, metadata, owner, expiry and disabled
/// state *as stored when the roll applies*, the new `successor_prefix` and
/// `successor_hash`, `created = at`, and `predecessor = prefix`. The old key gets
/// `successor = successor_prefix` and is retired as [`Retirement`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roll {
    /// The key being rolled.
    pub prefix: String,
    /// The successor's prefix.
    pub successor_prefix: String,
    /// The successor's hash.
    pub successor_hash: String,
    /// The successor's creation time, and the instant that decides whether the old key has
    /// expired.
    pub at: OffsetDateTime,
    /// What becomes of the old key.
    pub retire: Retirement,
}

impl Roll {
    /// Applies the roll to the old key as stored, returning the successor to insert beside
    /// it; refused if the old key is revoked, expired at `at`, or already rolled.
    pub fn apply(&self, old: &mut ApiKey) -> Result<ApiKey, Refusal> {
        if old.revoked {
            return Err(Refusal::Revoked);
        }
        if old.is_expired_at(self.at) {
            return Err(Refusal::Expired);
        }
        if let Some(successor) = &old.successor {
            return Err(Refusal::AlreadyRolled {
                successor: successor.clone(),
            });
        }
        let successor = ApiKey {
            prefix: self.successor_prefix.clone(),
            hashed_key: self.successor_hash.clone(),
            created: self.at,
            last_used: None,
            predecessor: Some(old.prefix.clone()),
            successor: None,
            ..old.clone()
        };
        old.successor = Some(self.successor_prefix.clone());
        match self.retire {
            Retirement::RevokeNow => old.revoked = true,
            Retirement::ExpireAt(at) => {
                old.expires = Some(old.expires.map_or(at, |e| e.min(at)));
            }
        }
        Ok(successor)
    }
}

/// A roll that happened: both records as stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rolled {
    /// The old key, retired and linked to its successor.
    pub old: ApiKey,
    /// The successor, linked to the old key.
    pub successor: ApiKey,
}

/// What [`KeyStore::modify`](crate::KeyStore::modify) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Modified {
    /// The change was written (with its audit event); the record as stored now.
    Changed(ApiKey),
    /// The record already was so: nothing was written, not even the event.
    Unchanged(ApiKey),
    /// [`Change::Revoke`] of a record the store cannot decode: it is revoked (never granted
    /// again) though its fields cannot be shown.
    RevokedUndecodable,
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn key() -> ApiKey {
        ApiKey::new(
            "old",
            "h1",
            "n",
            OffsetDateTime::UNIX_EPOCH + Duration::days(1),
        )
    }

    #[test]
    fn changes_apply_only_what_they_name() {
        let mut k = key();
        assert_eq!(Change::Edit(Edit::new()).apply(&mut k), Ok(false));
        assert_eq!(Change::Edit(Edit::new().name("n")).apply(&mut k), Ok(false));
        assert_eq!(Change::Edit(Edit::new().owner("o")).apply(&mut k), Ok(true));
        assert_eq!(k.owner.as_deref(), Some("o"));
        assert_eq!(Change::Disable.apply(&mut k), Ok(true));
        assert_eq!(Change::Disable.apply(&mut k), Ok(false));
        assert_eq!(Change::Enable.apply(&mut k), Ok(true));
        let cas = |expected: &str| Change::ReplaceHash {
            expected: expected.into(),
            new: "h2".into(),
        };
        assert_eq!(cas("other").apply(&mut k), Err(Refusal::HashChanged));
        assert_eq!(cas("h1").apply(&mut k), Ok(true));
        assert_eq!(k.hashed_key, "h2");
        assert_eq!(Change::Revoke.apply(&mut k), Ok(true));
        assert_eq!(Change::Revoke.apply(&mut k), Ok(false));
        assert_eq!(Change::Enable.apply(&mut k), Err(Refusal::Revoked));
        let edit = Change::Edit(Edit::new().name("renamed"));
        assert_eq!(edit.apply(&mut k), Ok(true));
        assert!(k.revoked, "an edit never un-revokes");
    }

    #[test]
    fn rolls_copy_the_stored_fields_and_retire_the_old_key() {
        let mut old = key();
        old.scopes.insert("s".into());
        old.owner = Some("o".into());
        old.last_used = Some(old.created);
        let at = old.created + Duration::hours(1);
        let roll = Roll {
            prefix: "old".into(),
            successor_prefix: "new".into(),
            successor_hash: "h9".into(),
            at,
            retire: Retirement::ExpireAt(at + Duration::days(1)),
        };
        let new = roll.apply(&mut old).unwrap();
        assert_eq!(new.predecessor.as_deref(), Some("old"));
        assert_eq!((new.scopes.len(), new.owner.as_deref()), (1, Some("o")));
        assert_eq!((new.created, new.last_used), (at, None));
        assert_eq!(old.successor.as_deref(), Some("new"));
        assert_eq!(old.expires, Some(at + Duration::days(1)));
        assert!(matches!(
            roll.apply(&mut old),
            Err(Refusal::AlreadyRolled { .. })
        ));

        let mut soon = key();
        soon.expires = Some(at + Duration::minutes(5));
        roll.apply(&mut soon).unwrap();
        assert_eq!(soon.expires, Some(at + Duration::minutes(5)), "never later");
        let mut expired = key();
        expired.expires = Some(at - Duration::minutes(5));
        assert_eq!(roll.apply(&mut expired), Err(Refusal::Expired));
        let mut now = key();
        let revoke = Roll {
            retire: Retirement::RevokeNow,
            ..roll.clone()
        };
        revoke.apply(&mut now).unwrap();
        assert!(now.revoked);
        assert_eq!(revoke.apply(&mut key_revoked()), Err(Refusal::Revoked));
    }

    fn key_revoked() -> ApiKey {
        ApiKey {
            revoked: true,
            ..key()
        }
    }

    #[test]
    fn edits_serialize_only_what_they_set() {
        let edit = Edit::new().no_expiry().owner("o");
        let json = serde_json::to_value(&edit).unwrap();
        assert_eq!(json, serde_json::json!({"expires": null, "owner": "o"}));
        assert_eq!(serde_json::from_value::<Edit>(json).unwrap(), edit);
        let at = Edit::new().expires(OffsetDateTime::UNIX_EPOCH);
        let back: Edit = serde_json::from_str(&serde_json::to_string(&at).unwrap()).unwrap();
        assert_eq!(back, at);
    }
}
