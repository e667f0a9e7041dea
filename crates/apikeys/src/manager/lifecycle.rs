//! Changes of existing keys: revoke, delete, and the audit events they write.

use std::sync::Arc;

use super::{ApiKeys, Revocation};
use crate::audit::{AuditAction, AuditEvent};
use crate::error::Error;
use crate::lifecycle::{Change, Modified};

impl ApiKeys {
    /// The same manager, attributing the changes it makes to `actor` in the audit trail
    /// (an admin key's prefix, `cli:alice`, …). Cheap: the rest is shared.
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

    /// Revokes a key, for good. Revoking a revoked key changes nothing and succeeds.
    pub async fn revoke(&self, prefix: &str) -> Result<Revocation, Error> {
        let event = self.event(prefix, AuditAction::Revoked);
        Ok(match self.apply(prefix, &Change::Revoke, event).await? {
            Modified::Changed(key) => Revocation::Revoked(key),
            Modified::Unchanged(key) => Revocation::AlreadyRevoked(key),
            Modified::RevokedUndecodable => Revocation::RevokedUndecodable,
        })
    }

    /// Deletes a key's record (even one the store cannot decode); [`Error::NotFound`] when
    /// there was none. Prefer revoking: a deleted key's history stays, but its record goes.
    pub async fn delete(&self, prefix: &str) -> Result<(), Error> {
        let event = self.event(prefix, AuditAction::Deleted);
        if self.inner.store.delete(prefix, &event).await? {
            Self::announce(&event);
            Ok(())
        } else {
            Err(Error::NotFound {
                prefix: prefix.to_owned(),
            })
        }
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
        let modified = self.inner.store.modify(prefix, change, &event).await?;
        if !matches!(modified, Modified::Unchanged(_)) {
            Self::announce(&event);
        }
        Ok(modified)
    }

    /// One tracing line per written event.
    pub(super) fn announce(event: &AuditEvent) {
        tracing::info!(
            prefix = event.prefix,
            action = event.action.name(),
            actor = event.actor,
            "API key {}",
            event.action.name().replace('_', " ")
        );
    }
}
