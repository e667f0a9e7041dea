//! Keys that belong to an organisation, and a policy that refuses the keys of inactive
//! organisations: `cargo run -p apikeys-examples --example organisations`.
//!
//! The organisation id lives in the key's metadata (where a custom key model would add a
//! foreign key); the policy runs on every verification, after the secret, revocation and
//! expiry checks, so suspending an organisation locks out all its keys at once.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, PoisonError, RwLock};

use apikeys::{ApiKey, ApiKeys, KeyPolicy, MemoryStore, NewKey, async_trait};
use apikeys_axum::Verified;
use axum::Router;
use axum::routing::get;
use serde::Deserialize;

/// What this application keeps in a key's metadata.
#[derive(Debug, Deserialize)]
struct OrgClaims {
    org: u64,
}

/// The application's organisations; in a real service, a table in its own database.
#[derive(Debug, Clone, Default)]
struct Organisations {
    active: Arc<RwLock<HashMap<u64, bool>>>,
}

impl Organisations {
    fn set_active(&self, org: u64, active: bool) {
        self.active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org, active);
    }

    fn is_active(&self, org: u64) -> bool {
        let active = self.active.read().unwrap_or_else(PoisonError::into_inner);
        active.get(&org).copied().unwrap_or(false)
    }
}

/// Refuses (HTTP 403) keys whose organisation is unknown or inactive, and keys that belong
/// to no organisation.
struct ActiveOrganisation(Organisations);

#[async_trait]
impl KeyPolicy for ActiveOrganisation {
    async fn allows(&self, key: &ApiKey) -> Result<bool, Box<dyn Error + Send + Sync>> {
        match key.metadata_as::<OrgClaims>() {
            Ok(claims) => Ok(self.0.is_active(claims.org)),
            Err(_) => Ok(false),
        }
    }
}

fn manager(organisations: &Organisations) -> ApiKeys {
    ApiKeys::builder(MemoryStore::new())
        .policy(ActiveOrganisation(organisations.clone()))
        .build()
}

/// A route that tells the caller's organisation, read from the verified key.
fn router(keys: ApiKeys) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|key: Verified| async move {
                let org = key.metadata_as::<OrgClaims>().map_or(0, |c| c.org);
                format!("{} of organisation {org}", key.name())
            }),
        )
        .with_state(keys)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let organisations = Organisations::default();
    organisations.set_active(1, true);
    organisations.set_active(2, false);
    let keys = manager(&organisations);

    let acme = keys.create(NewKey::named("acme-ci").meta("org", 1)).await?;
    let globex = keys
        .create(NewKey::named("globex-ci").meta("org", 2))
        .await?;
    for (who, key) in [("acme-ci", &acme.key), ("globex-ci", &globex.key)] {
        let outcome = keys.verify(key.expose_secret()).await;
        println!("{who}: {:?}", outcome.map(|k| k.name().to_owned()));
    }
    println!("suspending organisation 1");
    organisations.set_active(1, false);
    let outcome = keys.verify(acme.key.expose_secret()).await;
    println!("acme-ci: {:?}", outcome.map(|k| k.name().to_owned()));
    let _ = router(keys);
    Ok(())
}

#[cfg(test)]
mod tests {
    use apikeys::{Denial, VerifyError};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get_whoami(keys: &ApiKeys, key: &str) -> (StatusCode, String) {
        let request = Request::get("/whoami")
            .header("authorization", format!("Api-Key {key}"))
            .body(Body::empty())
            .expect("request");
        let response = router(keys.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn keys_of_inactive_organisations_are_refused() {
        let organisations = Organisations::default();
        organisations.set_active(1, true);
        organisations.set_active(2, false);
        let keys = manager(&organisations);
        let acme = keys
            .create(NewKey::named("acme").meta("org", 1))
            .await
            .expect("create");
        let globex = keys
            .create(NewKey::named("globex").meta("org", 2))
            .await
            .expect("create");
        let orphan = keys.create(NewKey::named("orphan")).await.expect("create");

        let verified = keys.verify(acme.key.expose_secret()).await.expect("active");
        assert_eq!(verified.metadata_as::<OrgClaims>().expect("claims").org, 1);
        for refused in [&globex.key, &orphan.key] {
            assert!(matches!(
                keys.verify(refused.expose_secret()).await,
                Err(VerifyError::Denied(Denial::Rejected))
            ));
        }

        let (status, body) = get_whoami(&keys, acme.key.expose_secret()).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "acme of organisation 1")
        );
        let (status, _) = get_whoami(&keys, globex.key.expose_secret()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Suspending the organisation locks its keys out on the next request.
        organisations.set_active(1, false);
        let (status, _) = get_whoami(&keys, acme.key.expose_secret()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        organisations.set_active(2, true);
        let (status, body) = get_whoami(&keys, globex.key.expose_secret()).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "globex of organisation 2")
        );
    }
}
