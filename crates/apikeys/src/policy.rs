//! The application's own rule for which keys are usable.

use std::error::Error as StdError;

use async_trait::async_trait;

use crate::record::ApiKey;

/// Decides whether an otherwise valid key may be used, e.g. "the key's organisation is
/// active". Runs after the secret, revocation and expiry checks; `Ok(false)` denies with
/// [`Denial::Rejected`](crate::Denial::Rejected) (HTTP 403) and an error gives HTTP 503.
#[async_trait]
pub trait KeyPolicy: Send + Sync + 'static {
    /// Whether `key` is usable now.
    async fn allows(&self, key: &ApiKey) -> Result<bool, Box<dyn StdError + Send + Sync>>;
}

/// A policy from a synchronous function.
///
/// ```
/// let policy = apikeys::policy_fn(|key| key.metadata.get("disabled").is_none());
/// ```
pub fn policy_fn<F>(f: F) -> impl KeyPolicy
where
    F: Fn(&ApiKey) -> bool + Send + Sync + 'static,
{
    struct FnPolicy<F>(F);

    #[async_trait]
    impl<F> KeyPolicy for FnPolicy<F>
    where
        F: Fn(&ApiKey) -> bool + Send + Sync + 'static,
    {
        async fn allows(&self, key: &ApiKey) -> Result<bool, Box<dyn StdError + Send + Sync>> {
            Ok((self.0)(key))
        }
    }

    FnPolicy(f)
}
