//! What every HTTP adapter does with a request: reuse the key a layer in front already
//! verified, else find and verify the request's key. Written once here so that axum,
//! actix-web, warp and tonic cannot drift apart.

use crate::extract::HeaderLookup;
use crate::manager::ApiKeys;
use crate::verify::{Denial, VerifiedKey, VerifyError};

/// Whether a route needs a key, for [`ApiKeys::authenticate_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A request without a key is refused ([`Denial::Missing`]).
    Required,
    /// A request without a key goes through as anonymous; a key that is present must
    /// still be valid.
    Optional,
}

impl ApiKeys {
    /// The adapters' one entry point. `verified` is the key a layer or middleware in front
    /// of this handler already verified (adapters keep it in the request's extensions):
    /// it is reused, checked only for `scopes`, and never verified twice. Otherwise the
    /// request's key is found and verified ([`authenticate`](Self::authenticate)).
    ///
    /// `Ok(None)` only with [`Presence::Optional`] and no key in the request.
    ///
    /// ```
    /// # #[cfg(not(feature = "http"))] fn main() {}
    /// # #[cfg(feature = "http")]
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use apikeys::{ApiKeys, MemoryStore, NewKey, Presence};
    ///
    /// let keys = ApiKeys::new(MemoryStore::new());
    /// let created = keys.create(NewKey::named("ci").scope("read")).await?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", format!("Api-Key {}", created.key.expose_secret()).parse()?);
    ///
    /// let key = keys
    ///     .authenticate_request(None, &headers, None, &["read"], Presence::Required)
    ///     .await?
    ///     .expect("required keys are present when granted");
    /// // Behind a layer that verified it, the key is reused: no store lookup, no hash.
    /// let again = keys
    ///     .authenticate_request(Some(&key), &http::HeaderMap::new(), None, &[], Presence::Required)
    ///     .await?;
    /// assert_eq!(again.map(|k| k.name().to_owned()).as_deref(), Some("ci"));
    /// let anonymous = keys
    ///     .authenticate_request(None, &http::HeaderMap::new(), None, &[], Presence::Optional)
    ///     .await?;
    /// assert!(anonymous.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn authenticate_request<H>(
        &self,
        verified: Option<&VerifiedKey>,
        headers: &H,
        query: Option<&str>,
        scopes: &[&str],
        presence: Presence,
    ) -> Result<Option<VerifiedKey>, VerifyError>
    where
        H: HeaderLookup + ?Sized,
    {
        if let Some(key) = verified {
            key.require_scopes(scopes)?;
            return Ok(Some(key.clone()));
        }
        match self.authenticate(headers, query, scopes).await {
            Ok(key) => Ok(Some(key)),
            Err(VerifyError::Denied(Denial::Missing)) if presence == Presence::Optional => Ok(None),
            Err(error) => Err(error),
        }
    }
}
