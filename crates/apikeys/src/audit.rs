//! The audit trail: one event per change of a key, never holding a secret or a hash.

use std::error::Error as StdError;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::lifecycle::{Edit, Retirement};

/// What happened to a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// The key was created.
    Created,
    /// Editable fields changed: the new values of the fields that were set.
    Updated {
        /// The edit as requested.
        changes: Edit,
    },
    /// The key was rolled to `successor` (this event is in both keys' history).
    Rolled {
        /// The successor's prefix.
        successor: String,
        /// What became of the old key.
        retire: Retirement,
    },
    /// The key was disabled.
    Disabled,
    /// The key was enabled again.
    Enabled,
    /// The key was revoked.
    Revoked,
    /// The key's record was deleted (its history stays).
    Deleted,
    /// The stored hash was replaced by one of `algorithm`.
    HashUpgraded {
        /// The new hash's algorithm (`"sha512"`, …), never the hash.
        algorithm: String,
    },
}

impl AuditAction {
    /// The action's name in snake case, as serialized (`"rolled"`, `"hash_upgraded"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated { .. } => "updated",
            Self::Rolled { .. } => "rolled",
            Self::Disabled => "disabled",
            Self::Enabled => "enabled",
            Self::Revoked => "revoked",
            Self::Deleted => "deleted",
            Self::HashUpgraded { .. } => "hash_upgraded",
        }
    }
}

/// One change of one key: when, which key, who (when the caller named someone), and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When the change was made (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The key changed.
    pub prefix: String,
    /// Who made the change, e.g. an admin key's prefix or `cli:alice`.
    #[serde(default)]
    pub actor: Option<String>,
    /// What changed.
    #[serde(flatten)]
    pub action: AuditAction,
}

impl AuditEvent {
    /// An event for `prefix`, now, without an actor.
    pub fn new(prefix: impl Into<String>, action: AuditAction) -> Self {
        Self {
            at: crate::validation::to_stored_precision(OffsetDateTime::now_utc()),
            prefix: prefix.into(),
            actor: None,
            action,
        }
    }

    /// The same event, made by `actor`.
    #[must_use]
    pub fn by(mut self, actor: Option<impl Into<String>>) -> Self {
        self.actor = actor.map(Into::into);
        self
    }

    /// The keys whose history holds this event: its own prefix, and for a roll the
    /// successor's too. Stores index the event under each.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        let successor = match &self.action {
            AuditAction::Rolled { successor, .. } => Some(successor.as_str()),
            _ => None,
        };
        std::iter::once(self.prefix.as_str()).chain(successor)
    }
}

/// Where the application wants audit events, besides the store's durable history (if it
/// keeps one) and the tracing line every event gets. Called once per written event, after
/// the store committed it; a failure is logged and does not undo the change.
///
/// ```
/// use apikeys::{ApiKeys, AuditEvent, AuditSink, MemoryStore, async_trait};
///
/// #[derive(Debug)]
/// struct Siem;
///
/// #[async_trait]
/// impl AuditSink for Siem {
///     async fn record(
///         &self,
///         event: &AuditEvent,
///     ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         println!("{}", serde_json::to_string(event)?);
///         Ok(())
///     }
/// }
///
/// let keys = ApiKeys::builder(MemoryStore::new()).audit_sink(Siem).build();
/// ```
#[async_trait]
pub trait AuditSink: Send + Sync + std::fmt::Debug + 'static {
    /// Takes one event.
    async fn record(&self, event: &AuditEvent) -> Result<(), Box<dyn StdError + Send + Sync>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_flat_json() {
        let event = AuditEvent::new(
            "old",
            AuditAction::Rolled {
                successor: "new".into(),
                retire: Retirement::RevokeNow,
            },
        )
        .by(Some("cli:alice"));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["action"], "rolled");
        assert_eq!(json["successor"], "new");
        assert_eq!(json["actor"], "cli:alice");
        assert_eq!(serde_json::from_value::<AuditEvent>(json).unwrap(), event);
        assert_eq!(event.prefixes().collect::<Vec<_>>(), ["old", "new"]);
        let edit = AuditEvent::new(
            "k",
            AuditAction::Updated {
                changes: Edit::new().name("x"),
            },
        );
        let back: AuditEvent =
            serde_json::from_str(&serde_json::to_string(&edit).unwrap()).unwrap();
        assert_eq!(back, edit);
        assert_eq!(edit.action.name(), "updated");
    }
}
