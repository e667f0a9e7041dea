//! Changes of existing keys — roll, update, disable, enable, revoke, delete — each one
//! atomic store write with its audit event, and the history they leave.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::{ApiKeys, CREATE_ATTEMPTS, CreatedKey, Revocation, RolledKey};
use crate::audit::{AuditAction, AuditEvent};
use crate::error::Error;
use crate::lifecycle::{Change, Edit, Modified, Retirement, Roll, Rolled};
use crate::record::ApiKey;
use crate::store::StoreError;
use crate::validation::{ValidationError, to_stored_precision, validate_expiry};

impl ApiKeys {
    /// The same manager, attributing the changes it makes to `actor` in the audit trail
    /// (an admin key's prefix, `cli:alice`, …). Cheap: everything else is shared.
    #[must_use]
    pub fn with_actor(&self, actor: impl Into<String>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            actor: Some(actor.into().into()),
        }
    }

    /// Who this handle's changes are attributed to.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// Replaces a key by a successor with a new prefix and secret and the same name,
    /// scopes, metadata, owner and expiry. The old key keeps working until `now + grace`
    /// (or its own expiry, if earlier), then is refused as expired; a `grace` of zero (or
    /// less) revokes it at once. Rolling a revoked, expired or already rolled key is
    /// [`Error::Refused`]. The successor's plaintext key is in the result and nowhere else.
    pub async fn roll(&self, prefix: &str, grace: Duration) -> Result<RolledKey, Error> {
        let at = to_stored_precision(OffsetDateTime::now_utc());
        let retire = if grace.is_positive() {
            let until = at
                .checked_add(grace)
                .ok_or(ValidationError::ExpiryOutOfRange)?;
            Retirement::ExpireAt(validate_expiry(until)?)
        } else {
            Retirement::RevokeNow
        };
        let mut last_prefix = String::new();
        for _ in 0..CREATE_ATTEMPTS {
            let key = self.inner.format.generate()?;
            let roll = Roll {
                prefix: prefix.to_owned(),
                successor_prefix: key.prefix().to_owned(),
                successor_hash: self.hash_new(&key).await?,
                at,
                retire,
            };
            let action = AuditAction::Rolled {
                successor: roll.successor_prefix.clone(),
                retire,
            };
            let event = AuditEvent {
                at,
                ..self.event(prefix, action)
            };
            match self.inner.store().roll(&roll, &event).await {
                Ok(Rolled { old, successor }) => {
                    self.announce(&event).await;
                    return Ok(RolledKey {
                        old,
                        successor: CreatedKey {
                            record: successor,
                            key,
                        },
                    });
                }
                Err(StoreError::AlreadyExists { prefix: taken })
                    if taken == roll.successor_prefix =>
                {
                    tracing::debug!(
                        prefix = taken,
                        "generated prefix already taken; drawing another"
                    );
                    last_prefix = taken;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(StoreError::AlreadyExists {
            prefix: last_prefix,
        }))
    }

    /// Edits a key's name, scopes, metadata, expiry or owner, validated as at creation,
    /// and returns the record as stored. Revocation, the hash and the prefix cannot be
    /// edited; editing a revoked key leaves it revoked.
    pub async fn update(&self, prefix: &str, changes: Edit) -> Result<ApiKey, Error> {
        let changes = changes.validated()?;
        let event = self.event(
            prefix,
            AuditAction::Updated {
                changes: changes.clone(),
            },
        );
        let resets_credits = changes.credits.is_some();
        let updated = self
            .apply(prefix, &Change::Edit(changes), event)
            .await
            .and_then(|m| decoded(prefix, m))?;
        if resets_credits {
            self.credits_edited(prefix).await;
        }
        Ok(updated)
    }

    /// Suspends a key: refused as [`Denial::Disabled`](crate::Denial::Disabled) until
    /// [`enable`](Self::enable)d. [`Error::Refused`] on a revoked key.
    pub async fn disable(&self, prefix: &str) -> Result<ApiKey, Error> {
        let event = self.event(prefix, AuditAction::Disabled);
        self.apply(prefix, &Change::Disable, event)
            .await
            .and_then(|m| decoded(prefix, m))
    }

    /// Lifts a suspension. [`Error::Refused`] on a revoked key: nothing un-revokes.
    pub async fn enable(&self, prefix: &str) -> Result<ApiKey, Error> {
        let event = self.event(prefix, AuditAction::Enabled);
        self.apply(prefix, &Change::Enable, event)
            .await
            .and_then(|m| decoded(prefix, m))
    }

    /// Revokes a key, for good (even one whose record the store cannot decode). Revoking a
    /// revoked key changes nothing and succeeds.
    pub async fn revoke(&self, prefix: &str) -> Result<Revocation, Error> {
        let event = self.event(prefix, AuditAction::Revoked);
        Ok(match self.apply(prefix, &Change::Revoke, event).await? {
            Modified::Changed(key) => Revocation::Revoked(key),
            Modified::Unchanged(key) => Revocation::AlreadyRevoked(key),
            Modified::RevokedUndecodable => Revocation::RevokedUndecodable,
        })
    }

    /// Deletes a key's record (even one the store cannot decode); [`Error::NotFound`] when
    /// there was none. Prefer revoking: the history stays, but the record goes.
    pub async fn delete(&self, prefix: &str) -> Result<(), Error> {
        let event = self.event(prefix, AuditAction::Deleted);
        if self.inner.store().delete(prefix, &event).await? {
            self.forget_match(prefix);
            self.announce(&event).await;
            Ok(())
        } else {
            Err(Error::NotFound {
                prefix: prefix.to_owned(),
            })
        }
    }

    /// The key's audit events, oldest first, from the store's durable history (also after
    /// the key was deleted). [`Error::Store`] with [`StoreError::Unsupported`] when the
    /// store keeps none.
    pub async fn history(&self, prefix: &str) -> Result<Vec<AuditEvent>, Error> {
        Ok(self.inner.store().history(prefix).await?)
    }

    /// An event by this handle's actor, now.
    pub(super) fn event(&self, prefix: &str, action: AuditAction) -> AuditEvent {
        AuditEvent::new(prefix, action).by(self.actor.as_deref())
    }

    /// Applies one change through the store's atomic write; announces the event if written.
    pub(super) async fn apply(
        &self,
        prefix: &str,
        change: &Change,
        event: AuditEvent,
    ) -> Result<Modified, Error> {
        let modified = self.inner.store().modify(prefix, change, &event).await?;
        if !matches!(modified, Modified::Unchanged(_)) {
            self.forget_match(prefix);
            self.announce(&event).await;
        }
        Ok(modified)
    }

    /// A changed or deleted key is checked in full next time. (A change made elsewhere
    /// shows in the stored hash, which the match cache compares too; this keeps no tag of
    /// a key that is gone.)
    fn forget_match(&self, prefix: &str) {
        if let Some(matched) = &self.inner.matched {
            matched.forget(prefix);
        }
    }

    /// One tracing line per written event, and the application's sink.
    pub(super) async fn announce(&self, event: &AuditEvent) {
        tracing::info!(
            prefix = event.prefix,
            action = event.action.name(),
            actor = event.actor,
            "API key change"
        );
        if let Some(sink) = &self.inner.sink
            && let Err(error) = sink.record(event).await
        {
            tracing::warn!(prefix = event.prefix, %error, "audit sink failed");
        }
    }
}

/// The record of a change other than revocation (which alone works on undecodable records).
fn decoded(prefix: &str, modified: Modified) -> Result<ApiKey, Error> {
    match modified {
        Modified::Changed(key) | Modified::Unchanged(key) => Ok(key),
        Modified::RevokedUndecodable => Err(Error::Store(StoreError::Corrupt {
            prefix: prefix.to_owned(),
            reason: "the store could not decode the record".into(),
        })),
    }
}
