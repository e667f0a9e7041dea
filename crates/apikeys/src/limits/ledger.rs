//! `CreditLedger`: where credits are spent when not in the key store (Redis, for a fleet).

use std::fmt;

use async_trait::async_trait;

use super::credits::{Credits, Spend};
use super::limiter::LimiterError;

/// Spends credits atomically somewhere other than the key store.
///
/// The record's [`Credits`] are the starting point: a ledger that has no count for the key
/// yet starts from them, and applies refills on their schedule from then on. After an
/// administrator sets new credits on a key, the ledger's count must be reset.
#[async_trait]
pub trait CreditLedger: Send + Sync + fmt::Debug {
    /// Spends `cost` of `key`'s credits if that many remain. `Ok(None)` means the ledger
    /// could not tell and is configured to fail open: the request proceeds, unspent.
    async fn spend(
        &self,
        key: &str,
        credits: &Credits,
        cost: u64,
    ) -> Result<Option<Spend>, LimiterError>;

    /// Forgets the count for `key`, so that the next spend starts from the record again.
    async fn reset(&self, key: &str) -> Result<(), LimiterError>;
}
